/*
 * auth — signed requests: who is asking, and may they read this.
 *
 * A request that reads what concerns a patient carries four headers
 * (docs/api.md, "Signed requests"): the signer's current Ed25519 key, a
 * timestamp in ms, a 16-byte random nonce, and a signature over
 * api_auth_digest(method, raw target, body hash, timestamp, nonce, chain
 * id). The chain id keeps a request signed for one chain from being used
 * on another; the raw target (path and query exactly as sent) keeps it
 * from being used for another read.
 *
 * Checks, in order, each with its own code: headers present (else
 * AUTH_REQUIRED) and well formed (else BAD_SIGNATURE); timestamp within
 * API_AUTH_WINDOW_MS of the node's clock either way (REQUEST_EXPIRED);
 * signature (BAD_SIGNATURE); the key is an identity's current key and the
 * identity may act (UNKNOWN_SENDER, KEY_MISMATCH, IDENTITY_SUSPENDED);
 * last, the (key, nonce) pair is new (REQUEST_REPLAYED). The replay check
 * comes last so only authenticated requests take room in its cache.
 *
 * The replay cache is one process-wide, fixed-size, set-associative table:
 * API_AUTH_REPLAY_MAX entries (limits.h) in sets of REPLAY_WAYS, each entry
 * a 16-byte tag of (key, nonce) under a random secret (so nobody can aim
 * many requests at one set) and the time after which the request is
 * expired anyway: 24 bytes, 24 MiB in all, allocated once (at server
 * start) and never grown. Expired entries are reused; a set with no free
 * entry refuses the request with UNAVAILABLE rather than forget a live
 * one, which would let that request be replayed. Wide sets keep that rare:
 * at LIM_AUTH_READS_PER_S with clocks in agreement a set holds 29 live
 * entries on average of its 64, and a full one is a many-sigma event.
 *
 * Then the rules (contracts/reads.c): who may read a consent, a record, an
 * audit entry, or a listing of them. Every other route is public.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_WAYS 64u
#define REPLAY_SETS (API_AUTH_REPLAY_MAX / REPLAY_WAYS)
_Static_assert(REPLAY_SETS *REPLAY_WAYS == API_AUTH_REPLAY_MAX, "whole sets");
_Static_assert((REPLAY_SETS & (REPLAY_SETS - 1)) == 0, "a power of two of sets");
_Static_assert(REPLAY_SETS - 1 <= UINT32_MAX, "a set index from 32 bits of the tag");

struct replay_entry {
  uint8_t tag[16];
  uint64_t expires_ms; /* 0: never used */
};
_Static_assert(sizeof(struct replay_entry) == 24, "a compact entry");

static struct replay_entry *replay; /* API_AUTH_REPLAY_MAX, zeroed */
static uint8_t replay_secret[32];
static pthread_mutex_t replay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t replay_once = PTHREAD_ONCE_INIT;

/* Never freed: the cache lives as long as the process that serves. */
static void replay_init(void) {
  cry_random(replay_secret, sizeof(replay_secret));
  replay = calloc(API_AUTH_REPLAY_MAX, sizeof(*replay));
}

int api_auth_replay_init(void) {
  (void)pthread_once(&replay_once, replay_init);
  return replay == NULL ? ERR_NOMEM : OK;
}

/* ---- the signed message ------------------------------------------------------ */

static void put_var(struct cry_hasher *h, const void *p, size_t len) {
  uint8_t n[4];
  assert(len <= UINT32_MAX);
  base_put_u32be(n, (uint32_t)len);
  cry_hasher_update(h, n, sizeof(n));
  cry_hasher_update(h, p, len);
}

void api_auth_digest(struct hash32 *out, const char *method, const char *path, const char *query,
                     const uint8_t *body, size_t body_len, uint64_t ts_ms,
                     const uint8_t nonce[API_AUTH_NONCE_BYTES], const char *chain_id) {
  assert(out != NULL && method != NULL && path != NULL && nonce != NULL && chain_id != NULL);
  assert(body != NULL || body_len == 0);
  size_t mlen = strlen(method);
  size_t plen = strlen(path);
  size_t qlen = query == NULL ? 0 : strlen(query) + 1;
  assert(mlen <= UINT8_MAX && plen + qlen <= UINT32_MAX);
  struct cry_hasher h;
  cry_hasher_init(&h, API_AUTH_TAG);
  uint8_t m = (uint8_t)mlen;
  cry_hasher_update(&h, &m, 1);
  cry_hasher_update(&h, (const uint8_t *)method, mlen);
  uint8_t n[8];
  base_put_u32be(n, (uint32_t)(plen + qlen));
  cry_hasher_update(&h, n, 4);
  cry_hasher_update(&h, (const uint8_t *)path, plen);
  if (query != NULL) {
    cry_hasher_update(&h, (const uint8_t *)"?", 1);
    cry_hasher_update(&h, (const uint8_t *)query, qlen - 1);
  }
  struct hash32 bh;
  cry_hash(&bh, body_len == 0 ? (const uint8_t *)"" : body, body_len);
  cry_hasher_update(&h, bh.b, sizeof(bh.b));
  base_put_u64be(n, ts_ms);
  cry_hasher_update(&h, n, 8);
  cry_hasher_update(&h, nonce, API_AUTH_NONCE_BYTES);
  put_var(&h, chain_id, strlen(chain_id));
  cry_hasher_final(&h, out);
}

/* ---- replay cache ------------------------------------------------------------ */

/* Records (pk, nonce) until expires_ms. OK, ERR_REQUEST_REPLAYED, or
 * ERR_UNAVAILABLE when its set holds only live entries. */
static int replay_remember(const struct pubkey *pk, const uint8_t *nonce, uint64_t expires_ms,
                           uint64_t now_ms) {
  if (api_auth_replay_init() != OK) {
    return ERR_UNAVAILABLE;
  }
  struct cry_hasher h;
  cry_hasher_init(&h, "medchain.replay.v1");
  cry_hasher_update(&h, replay_secret, sizeof(replay_secret));
  cry_hasher_update(&h, pk->b, sizeof(pk->b));
  cry_hasher_update(&h, nonce, API_AUTH_NONCE_BYTES);
  struct hash32 t;
  cry_hasher_final(&h, &t);
  size_t set = (size_t)(base_get_u32be(t.b + 16) & (REPLAY_SETS - 1));
  struct replay_entry *e = &replay[set * REPLAY_WAYS];
  int rc = ERR_UNAVAILABLE;
  struct replay_entry *free_e = NULL;
  (void)pthread_mutex_lock(&replay_lock);
  for (size_t i = 0; i < REPLAY_WAYS; i++) {
    bool live = e[i].expires_ms > now_ms;
    if (live && memcmp(e[i].tag, t.b, sizeof(e[i].tag)) == 0) {
      free_e = NULL;
      rc = ERR_REQUEST_REPLAYED;
      break;
    }
    if (!live && free_e == NULL) {
      free_e = &e[i];
    }
  }
  if (free_e != NULL) {
    memcpy(free_e->tag, t.b, sizeof(free_e->tag));
    free_e->expires_ms = expires_ms;
    rc = OK;
  }
  (void)pthread_mutex_unlock(&replay_lock);
  return rc;
}

/* ---- verification ------------------------------------------------------------ */

struct auth_headers {
  struct pubkey pk;
  uint64_t ts_ms;
  uint8_t nonce[API_AUTH_NONCE_BYTES];
  struct signature sig;
};

static int headers_parse(const struct api_request *req, struct auth_headers *a) {
  if (req->auth_key == NULL && req->auth_timestamp == NULL && req->auth_nonce == NULL &&
      req->auth_signature == NULL) {
    return ERR_AUTH_REQUIRED;
  }
  if (req->auth_key == NULL || req->auth_timestamp == NULL || req->auth_nonce == NULL ||
      req->auth_signature == NULL) {
    return ERR_BAD_SIGNATURE;
  }
  if (base_hex_decode(a->pk.b, sizeof(a->pk.b), req->auth_key) != OK ||
      base_parse_u64(&a->ts_ms, req->auth_timestamp) != OK ||
      base_hex_decode(a->nonce, sizeof(a->nonce), req->auth_nonce) != OK ||
      base_hex_decode(a->sig.b, sizeof(a->sig.b), req->auth_signature) != OK) {
    return ERR_BAD_SIGNATURE;
  }
  return OK;
}

static bool within_window(uint64_t ts_ms, uint64_t now_ms) {
  uint64_t d = ts_ms > now_ms ? ts_ms - now_ms : now_ms - ts_ms;
  return d <= API_AUTH_WINDOW_MS;
}

static int signature_check(const struct api_ctx *c, const struct auth_headers *a) {
  const struct api_request *req = c->req;
  if (strlen(req->method) > UINT8_MAX) {
    return ERR_BAD_SIGNATURE;
  }
  struct node_status *st = calloc(1, sizeof(*st));
  if (st == NULL) {
    return ERR_NOMEM;
  }
  int rc = node_status(c->node, st);
  if (rc == OK) {
    struct hash32 d;
    api_auth_digest(&d, req->method, req->path, req->query, req->body, req->body_len, a->ts_ms,
                    a->nonce, st->chain_id);
    rc = cry_verify(&a->sig, d.b, sizeof(d.b), &a->pk);
  }
  free(st);
  return rc;
}

int api_auth_reader(struct api_ctx *c, struct state *st, struct hash32 *reader) {
  assert(c != NULL && c->req != NULL && st != NULL && reader != NULL);
  struct auth_headers a;
  int rc = headers_parse(c->req, &a);
  if (rc != OK) {
    return rc;
  }
  uint64_t now_ms = base_now_ms();
  if (!within_window(a.ts_ms, now_ms)) {
    return ERR_REQUEST_EXPIRED;
  }
  rc = signature_check(c, &a);
  if (rc != OK) {
    return rc;
  }
  rc = ctr_reader_identify(st, &a.pk, reader);
  if (rc != OK) {
    return rc;
  }
  return replay_remember(&a.pk, a.nonce, a.ts_ms + API_AUTH_WINDOW_MS + 1, now_ms);
}

/* ---- the rules --------------------------------------------------------------- */

bool api_auth_protected(enum ctr_kind kind) {
  return kind == CTR_CONSENT || kind == CTR_RECORD || kind == CTR_AUDIT || kind == CTR_RX;
}

int api_auth_list(struct state *st, enum ctr_filter filter, const struct hash32 *key,
                  const struct hash32 *reader) {
  switch (filter) {
  case CTR_BY_PATIENT:
    return ctr_read_patient(st, reader, key);
  case CTR_BY_GRANTEE:
    return ctr_read_grantee(st, reader, key);
  case CTR_BY_RECORD:
    return ctr_read_record(st, reader, key, base_now_ms());
  case CTR_BY_PRESCRIPTION:
    return ctr_read_rx(st, reader, key);
  case CTR_ALL:
  case CTR_BY_ORG:
  default:
    return ctr_read_all(st, reader);
  }
}

/* The ID field called name of a decoded entity. */
static const struct hash32 *field_id(const struct codec_schema *schema,
                                     const struct codec_value *vals, const char *name) {
  int i = codec_schema_find(schema, name);
  assert(i >= 0 && vals[i].type == CODEC_ID);
  return &vals[i].id;
}

int api_auth_entity(struct state *st, enum ctr_kind kind, struct bytes val,
                    const struct hash32 *reader) {
  assert(api_auth_protected(kind));
  const struct codec_schema *schema = ctr_kind_schema(kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  assert(schema != NULL && schema->nfields <= LIM_FIELDS_MAX);
  if (codec_record_decode(schema, vals, val.ptr, val.len) != OK) {
    return ERR_CORRUPT;
  }
  if (kind == CTR_RECORD) {
    return ctr_read_record(st, reader, field_id(schema, vals, "id"), base_now_ms());
  }
  if (kind == CTR_RX) {
    return ctr_read_rx(st, reader, field_id(schema, vals, "id"));
  }
  int rc = ctr_read_patient(st, reader, field_id(schema, vals, "patient"));
  if (rc != ERR_UNAUTHORIZED) {
    return rc;
  }
  if (kind == CTR_CONSENT) {
    return ctr_read_grantee(st, reader, field_id(schema, vals, "grantee"));
  }
  return base_hash_eq(reader, field_id(schema, vals, "accessor")) ? OK : ERR_UNAUTHORIZED;
}
