/*
 * routes_records — record content over HTTP (docs/records.md):
 *
 *   PUT /v1/blobs/{hash}             a practitioner or admin uploads
 *                                    ciphertext before anchoring it
 *   GET /v1/blobs/{hash}             another node's operator fetches the
 *                                    ciphertext of a live record it lacks
 *                                    (or an auditor checks it)
 *   GET /v1/records/{id}/content     a reader gets a record's ciphertext:
 *                                    ?purpose=..., emergency reads with
 *                                    purpose=emergency and X-Medchain-Reason
 *
 * The content route never lets bytes out before the chain holds the audit
 * entry of this access with outcome "granted" (node_access_log waits for
 * its commit). A refused attempt by an authenticated identity is logged
 * too, without waiting. An emergency reason is never logged or echoed.
 */
#include "api/api_internal.h"

#include "blobstore/blobstore.h"
#include "contracts/contracts.h"
#include "crypto/crypto.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a read waits for its audit entry to commit. */
#define AUDIT_WAIT_MS 15000u

/* A field of an identity (NOT_FOUND becomes UNKNOWN_IDENTITY). */
static int identity_field(struct state *st, const struct hash32 *id, const char *name,
                          struct codec_value *out) {
  int rc = ctr_get_field(st, CTR_IDENTITY, id, name, out);
  return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_IDENTITY : rc;
}

static bool value_is(const struct codec_value *v, const char *z) {
  return v->bytes.len == strlen(z) && memcmp(v->bytes.ptr, z, v->bytes.len) == 0;
}

/* Answers raw bytes (moved into c). */
static void reply_bytes(struct api_ctx *c, uint8_t *data, size_t len) {
  c->text = (char *)data;
  c->text_len = len;
  c->content_type = "application/octet-stream";
}

/* ---- PUT /v1/blobs/{hash} ------------------------------------------------------ */

int api_h_blob_put(struct api_ctx *c) {
  struct hash32 hash;
  if (api_param_id(c, &hash) != OK) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 who;
  struct codec_value kind, org;
  rc = api_auth_reader(c, st, &who);
  if (rc == OK) {
    rc = identity_field(st, &who, "kind", &kind);
  }
  if (rc == OK) {
    rc = identity_field(st, &who, "org", &org);
  }
  node_view_end(v);
  if (rc != OK) {
    return rc;
  }
  /* Authors upload: practitioners, and admins for their organization. */
  if (!value_is(&kind, CTR_ROLE_PRACTITIONER) && !value_is(&kind, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  rc = blob_put(node_blobs(c->node), &org.id, &hash, c->req->body, c->req->body_len);
  if (rc != OK) {
    return rc;
  }
  char hex[65];
  base_hash_hex(hex, &hash);
  c->status = 201;
  c->json = json_pack("{s:s, s:I}", "hash", hex, "size", (json_int_t)c->req->body_len);
  return c->json == NULL ? ERR_NOMEM : OK;
}

/* ---- GET /v1/blobs/{hash} ------------------------------------------------------ */

struct live_ctx {
  struct state *st;
  bool live;
};

static int live_visit(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct live_ctx *l = ctx;
  const struct codec_schema *s = ctr_kind_schema(kind);
  struct codec_value v[LIM_FIELDS_MAX];
  if (codec_record_decode(s, v, val.ptr, val.len) != OK) {
    return ERR_CORRUPT;
  }
  if (v[codec_schema_find(s, "erased")].u64 == 0) {
    l->live = true;
  }
  return OK;
}

/* Whether a live (anchored, not erased) record has this ciphertext. */
static int blob_live(struct state *st, const struct hash32 *hash, bool *live) {
  struct live_ctx l = {st, false};
  struct ctr_cursor next = {0};
  int rc =
      ctr_list(st, CTR_RECORD, CTR_BY_CONTENT, hash, NULL, LIM_PAGE_MAX, live_visit, &l, &next);
  *live = l.live;
  return rc;
}

int api_h_blob_get(struct api_ctx *c) {
  struct hash32 hash;
  if (api_param_id(c, &hash) != OK) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 who;
  struct codec_value kind;
  bool live = false;
  rc = api_auth_reader(c, st, &who);
  if (rc == OK) {
    rc = identity_field(st, &who, "kind", &kind);
  }
  /* Nodes fetch for their users with their operator key (an admin);
   * auditors may check stored ciphertext against its anchor. */
  if (rc == OK && !value_is(&kind, CTR_ROLE_ADMIN) && !value_is(&kind, CTR_ROLE_AUDITOR)) {
    rc = ERR_UNAUTHORIZED;
  }
  if (rc == OK) {
    rc = blob_live(st, &hash, &live);
  }
  node_view_end(v);
  if (rc != OK) {
    return rc;
  }
  if (!live) {
    return ERR_NOT_FOUND;
  }
  uint8_t *data = NULL;
  size_t len = 0;
  rc = blob_get(node_blobs(c->node), &hash, &data, &len);
  if (rc != OK) {
    return rc == ERR_CORRUPT ? ERR_NOT_FOUND : rc;
  }
  reply_bytes(c, data, len);
  return OK;
}

/* ---- fetching from other nodes ------------------------------------------------- */

/* Gets a live record's ciphertext from the configured blob sources into the
 * local store, charged to the record's organization. */
static int blob_fetch(struct api_ctx *c, const struct ctr_record_meta *m) {
  const struct node_config *cfg = node_config(c->node);
  const struct cry_keys *keys = node_operator_keys(c->node);
  if (keys == NULL) {
    return ERR_NO_OPERATOR;
  }
  struct node_status ns;
  int rc = node_status(c->node, &ns);
  if (rc != OK) {
    return rc;
  }
  char path[96], hex[65];
  base_hash_hex(hex, &m->content_hash);
  snprintf(path, sizeof path, "/v1/blobs/%s", hex);
  for (uint16_t i = 0; i < cfg->nsources; i++) {
    struct api_client *cl = NULL;
    if (api_client_create(&cl, cfg->blob_sources[i]) != OK) {
      continue;
    }
    struct api_response r;
    rc = api_client_get_signed(cl, path, keys, ns.chain_id, &r);
    if (rc == OK && r.status == 200) {
      /* blob_put checks the hash: a source cannot pass off other bytes. */
      rc = blob_put(node_blobs(c->node), &m->org, &m->content_hash, (const uint8_t *)r.body, r.len);
    } else {
      rc = ERR_NOT_FOUND;
    }
    api_response_free(&r);
    api_client_destroy(cl);
    if (rc == OK) {
      base_log(BASE_LOG_INFO, "api", "fetched a record's ciphertext from blob source %u",
               (unsigned)i + 1);
      return OK;
    }
  }
  return ERR_CONTENT_UNAVAILABLE;
}

/* The local ciphertext, fetched when missing; a local copy that no longer
 * matches its hash is deleted and fetched again. */
static int blob_ensure(struct api_ctx *c, const struct ctr_record_meta *m, uint8_t **data,
                       size_t *len) {
  struct blob_store *bs = node_blobs(c->node);
  int rc = blob_get(bs, &m->content_hash, data, len);
  if (rc == ERR_CORRUPT) {
    base_log(BASE_LOG_ERROR, "api", "a stored ciphertext does not match its hash: replacing it");
    if (blob_delete(bs, &m->content_hash) != OK) {
      return ERR_CONTENT_UNAVAILABLE;
    }
    rc = ERR_NOT_FOUND;
  }
  if (rc != ERR_NOT_FOUND) {
    return rc;
  }
  rc = blob_fetch(c, m);
  if (rc != OK) {
    return rc;
  }
  return blob_get(bs, &m->content_hash, data, len);
}

/* ---- GET /v1/records/{id}/content ---------------------------------------------- */

struct content_req {
  struct hash32 record;
  struct hash32 reader;
  struct ctr_record_meta meta;
  struct node_access access;
};

/* The purpose and, for an emergency, its reason. */
static int content_params(struct api_ctx *c, struct content_req *q) {
  const char *purpose = api_query_get(c, "purpose");
  if (purpose == NULL) {
    purpose = "treatment";
  }
  size_t plen = strlen(purpose);
  if (plen == 0 || plen > CTR_AUDIT_PURPOSE_BYTES) {
    return ERR_BAD_REQUEST;
  }
  for (size_t i = 0; i < plen; i++) {
    if (purpose[i] <= 0x20 || purpose[i] >= 0x7f) {
      return ERR_BAD_REQUEST;
    }
  }
  memcpy(q->access.purpose, purpose, plen + 1);
  q->access.emergency = strcmp(purpose, CTR_PURPOSE_EMERGENCY) == 0;
  if (q->access.emergency) {
    const char *reason = c->req->reason;
    size_t rlen = reason == NULL ? 0 : strlen(reason);
    if (rlen == 0) {
      return ERR_REASON_REQUIRED;
    }
    if (rlen > LIM_REASON_MAX) {
      return ERR_OVERSIZE;
    }
    q->access.reason = reason;
    q->access.reason_len = rlen;
  }
  return OK;
}

/* Authenticates the reader and checks the access at the committed height
 * (the chain checks it again at the audit's height). */
static int content_precheck(struct api_ctx *c, struct content_req *q, int *verdict) {
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  rc = api_auth_reader(c, st, &q->reader);
  if (rc == OK) {
    rc = ctr_record_meta(st, &q->record, &q->meta);
  }
  if (rc == OK) {
    if (q->meta.erased) {
      *verdict = ERR_RECORD_ERASED;
    } else if (q->access.emergency) {
      struct codec_value kind;
      rc = identity_field(st, &q->reader, "kind", &kind);
      *verdict = value_is(&kind, CTR_ROLE_PRACTITIONER) ? OK : ERR_UNAUTHORIZED;
    } else {
      struct bytes purpose = {(const uint8_t *)q->access.purpose, strlen(q->access.purpose)};
      *verdict = ctr_consent_check(st, &q->reader, &q->record, purpose, base_now_ms());
    }
  }
  node_view_end(v);
  return rc;
}

static void audit_header(struct api_ctx *c, const struct hash32 *audit_id) {
  char hex[65];
  base_hash_hex(hex, audit_id);
  api_header_add(c, "X-Medchain-Audit-Id", hex);
}

/* A reader without a key of their own (a category consent, an emergency)
 * gets the data key sealed to their encryption key when this node is the
 * record's custodian: X-Medchain-Sealed-Key. */
static void reseal_header(struct api_ctx *c, const struct content_req *q) {
  struct node_view *v = NULL;
  if (api_view_open(c, &v) != OK) {
    return;
  }
  struct codec_value box;
  int rc = identity_field(node_view_state(v), &q->reader, "box_pk", &box);
  node_view_end(v);
  struct boxkey bk;
  uint8_t sealed[LIM_SEALED_KEY_BYTES];
  bool done = false;
  if (rc != OK) {
    return;
  }
  memcpy(bk.b, box.id.b, sizeof bk.b);
  if (node_record_reseal(c->node, &q->record, &q->reader, &bk, sealed, &done) == OK && done) {
    char hex[2 * LIM_SEALED_KEY_BYTES + 1];
    base_hex_encode(hex, sealed, sizeof sealed);
    api_header_add(c, "X-Medchain-Sealed-Key", hex);
  }
}

int api_h_record_content(struct api_ctx *c) {
  struct content_req q;
  memset(&q, 0, sizeof q);
  if (api_param_id(c, &q.record) != OK) {
    return ERR_BAD_REQUEST;
  }
  int rc = content_params(c, &q);
  int verdict = OK;
  if (rc == OK) {
    rc = content_precheck(c, &q, &verdict);
  }
  if (rc != OK) {
    return rc == ERR_UNKNOWN_RECORD ? ERR_UNKNOWN_RECORD : rc;
  }
  q.access.record = q.record;
  q.access.accessor = q.reader;
  struct hash32 audit_id;
  int outcome = OK;
  if (verdict != OK) {
    /* A refused attempt is on the record too; the answer does not wait. */
    if (node_access_log(c->node, &q.access, false, 0, &outcome, &audit_id) == OK) {
      audit_header(c, &audit_id);
    }
    return verdict;
  }
  uint8_t *data = NULL;
  size_t len = 0;
  rc = blob_ensure(c, &q.meta, &data, &len);
  if (rc == OK) {
    rc = node_access_log(c->node, &q.access, true, AUDIT_WAIT_MS, &outcome, &audit_id);
  }
  if (rc == OK) {
    audit_header(c, &audit_id);
    rc = outcome;
  }
  if (rc != OK) {
    free(data);
    return rc;
  }
  char hex[65];
  base_hash_hex(hex, &q.meta.content_hash);
  api_header_add(c, "X-Medchain-Content-Hash", hex);
  reseal_header(c, &q);
  reply_bytes(c, data, len);
  return OK;
}
