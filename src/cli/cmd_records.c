/*
 * records — a client's end of the record flow (docs/records.md):
 *
 *   medchain records put --node URL --key FILE --patient ID --category C
 *                        --fhir-type T --in FILE [--json]
 *   medchain records get --node URL --key FILE --record ID [--purpose P]
 *                        [--reason TEXT] --out FILE [--json]
 *   medchain records share --node URL --key FILE --record ID --grantee ID
 *                        --expires-ms T [--purpose P] [--json]
 *   medchain records export --node URL --key FILE --record ID --out-dir DIR
 *                        [--format fhir|wfdb|212|16] [--json]
 *
 * put: encrypts the file under a fresh key (cry_record_encrypt) on this
 * machine, seals the key to the patient, to the author (the key's
 * identity) and to the node's operator when the node is the gateway of the
 * author's organization (the record's custodian), uploads the ciphertext (PUT /v1/blobs/{hash},
 * signed) and anchors it (records.anchor, waits for the commit). The node never sees the plaintext
 * or the key.
 *
 * get: reads the anchor, fetches the ciphertext (GET
 * /v1/records/{id}/content, signed: the node logs the access on chain
 * before it answers), checks it against the anchored hash (a node that
 * served other bytes is caught here: HASH_MISMATCH), opens the key sealed
 * to this identity and decrypts.
 */
#include "cli/cli_internal.h"

#include "api/api.h"
#include "contracts/contracts.h"
#include "crypto/crypto.h"
#include "limits/limits.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct rec_session {
  struct cry_keys *keys;
  struct api_client *c;
  struct hash32 id; /* the identity of keys */
  char chain_id[LIM_CHAIN_ID_MAX + 1];
};

static void session_end(struct rec_session *s) {
  api_client_destroy(s->c);
  cry_keys_destroy(s->keys);
  memset(s, 0, sizeof *s);
}

static int session_begin(struct rec_session *s, const char *node, const char *key) {
  memset(s, 0, sizeof *s);
  int rc = cli_keys_load(&s->keys, key);
  if (rc != OK) {
    return cli_report(rc, "could not open the keystore %s", key);
  }
  if (api_client_create(&s->c, node) != OK) {
    return cli_report(ERR_USAGE, "bad node URL '%s'", node);
  }
  uint64_t height = 0;
  rc = cli_node_status(s->c, &height, s->chain_id, sizeof s->chain_id);
  if (rc != OK) {
    return cli_report(rc, "the node cannot be reached");
  }
  struct pubkey pk;
  cry_keys_sign_pk(s->keys, &pk);
  cry_id_from_pk(&s->id, &pk);
  char hex[65], path[96], idhex[72];
  base_hex_encode(hex, pk.b, sizeof pk.b);
  snprintf(path, sizeof path, "/v1/keys/%s", hex);
  struct api_response r;
  struct hash32 found = {{0}};
  /* A rotated key keeps its identity's first id. */
  if (api_client_get(s->c, path, &r) == OK && r.status == 200 &&
      api_json_lookup(r.body, "id", idhex, sizeof idhex) == OK &&
      base_hex_decode(found.b, sizeof found.b, idhex) == OK) {
    s->id = found;
  }
  api_response_free(&r);
  return OK;
}

/* A JSON field of an answer as 32 bytes of hex. */
static int json_hex32(const char *body, const char *path, uint8_t out[32]) {
  char hex[72];
  if (api_json_lookup(body, path, hex, sizeof hex) != OK || base_hex_decode(out, 32, hex) != OK) {
    return ERR_MALFORMED;
  }
  return OK;
}

static int identity_box(struct rec_session *s, const struct hash32 *id, struct boxkey *box) {
  char hex[65], path[96];
  base_hash_hex(hex, id);
  snprintf(path, sizeof path, "/v1/identities/%s", hex);
  struct api_response r;
  int rc = cli_http_get_ok(s->c, path, &r);
  if (rc != OK) {
    return rc;
  }
  rc = json_hex32(r.body, "box_pk", box->b);
  api_response_free(&r);
  return rc == OK ? OK : cli_report(ERR_MALFORMED, "the node's identity has no box_pk");
}

/* Signs call m(args) with the next nonce and submits it, waiting for the commit. */
static int submit_wait(struct rec_session *s, const struct ctr_method *m, const uint8_t *args,
                       size_t args_len) {
  char hex[65], path[96];
  base_hash_hex(hex, &s->id);
  snprintf(path, sizeof path, "/v1/identities/%s", hex);
  struct api_response r;
  uint64_t nonce = 0;
  int rc = cli_http_get_ok(s->c, path, &r);
  if (rc != OK) {
    return rc;
  }
  rc = cli_json_u64(r.body, "next_nonce", &nonce);
  api_response_free(&r);
  if (rc != OK) {
    return cli_report(ERR_MALFORMED, "the node did not say the next nonce");
  }
  uint8_t *tx = malloc(LIM_TX_BYTES_MAX);
  if (tx == NULL) {
    return cli_report(ERR_NOMEM, NULL);
  }
  size_t len = 0;
  rc = cli_tx_make(s->keys, s->chain_id, nonce, m, args, args_len, tx, LIM_TX_BYTES_MAX, &len);
  char *body = rc == OK ? cli_tx_body(tx, len) : NULL;
  free(tx);
  if (body == NULL) {
    return cli_report(rc != OK ? rc : ERR_NOMEM, "could not sign the transaction");
  }
  rc = api_client_post(s->c, "/v1/txs?wait=commit", "application/json", (const uint8_t *)body,
                       strlen(body), &r);
  free(body);
  if (rc != OK) {
    return cli_report(rc, "the node cannot be reached");
  }
  struct cli_tx_result res;
  cli_tx_result_parse(&r, &res);
  api_response_free(&r);
  if (res.err != OK) {
    (void)cli_fail_named(res.code, res.msg);
    return res.err;
  }
  return OK;
}

/* ---- put ------------------------------------------------------------------- */

struct put_opts {
  const char *node, *key, *patient, *category, *fhir_type, *in;
  bool json;
};

static int read_all(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return ERR_IO;
  }
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  int rc = buf == NULL ? ERR_NOMEM : OK;
  while (rc == OK) {
    if (n == cap) {
      if (cap >= LIM_BLOB_BYTES_MAX) {
        rc = ERR_OVERSIZE;
        break;
      }
      uint8_t *more = realloc(buf, cap * 2);
      if (more == NULL) {
        rc = ERR_NOMEM;
        break;
      }
      buf = more;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      rc = ferror(f) ? ERR_IO : OK;
      break;
    }
  }
  fclose(f);
  if (rc == OK && (n == 0 || n + CRY_RECORD_OVERHEAD > LIM_BLOB_BYTES_MAX)) {
    rc = ERR_OVERSIZE;
  }
  if (rc != OK) {
    free(buf);
    return rc;
  }
  *data = buf;
  *len = n;
  return OK;
}

/* The node's operator when it speaks for the author's organization: the
 * record's custodian, which can re-seal the key for readers without one
 * (category consents, emergency reads) and serve the FHIR facade. */
static bool custodian(struct rec_session *s, struct hash32 *id, struct boxkey *box) {
  struct api_response r;
  char hex[65], path[96], org[72], op_org[72];
  base_hash_hex(hex, &s->id);
  snprintf(path, sizeof path, "/v1/identities/%s", hex);
  bool ok = api_client_get(s->c, path, &r) == OK && r.status == 200 &&
            api_json_lookup(r.body, "org", org, sizeof org) == OK;
  api_response_free(&r);
  ok = ok && api_client_get(s->c, "/v1/status", &r) == OK && r.status == 200 &&
       api_json_lookup(r.body, "node.operator.org", op_org, sizeof op_org) == OK &&
       strcmp(org, op_org) == 0 && json_hex32(r.body, "node.operator.id", id->b) == OK &&
       json_hex32(r.body, "node.operator.box_pk", box->b) == OK;
  api_response_free(&r);
  return ok;
}

/* Seals key to the patient, the author and the custodian (when the node
 * is one), in reader-id order (the codec's), without repeats. */
static int seal_readers(struct rec_session *s, const struct hash32 *patient, const uint8_t key[32],
                        uint8_t out[3 * CODEC_KEY_ITEM_BYTES], uint32_t *count) {
  struct hash32 ids[3] = {*patient, s->id};
  struct boxkey boxes[3];
  uint32_t n = 2;
  int rc = identity_box(s, patient, &boxes[0]);
  if (rc == OK) {
    rc = identity_box(s, &s->id, &boxes[1]);
  }
  if (rc != OK) {
    return rc;
  }
  if (custodian(s, &ids[2], &boxes[2])) {
    n = 3;
  }
  uint32_t order[3] = {0, 1, 2};
  for (uint32_t i = 1; i < n; i++) {
    for (uint32_t j = i; j > 0 && memcmp(ids[order[j]].b, ids[order[j - 1]].b, 32) < 0; j--) {
      uint32_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  }
  *count = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct hash32 *id = &ids[order[i]];
    uint8_t *item = out + (size_t)*count * CODEC_KEY_ITEM_BYTES;
    if (*count > 0 && memcmp(item - CODEC_KEY_ITEM_BYTES, id->b, 32) == 0) {
      continue;
    }
    memcpy(item, id->b, 32);
    if (cry_seal(item + 32, key, 32, &boxes[order[i]]) != OK) {
      return cli_report(ERR_BAD_ARGS, "an identity's encryption key is invalid");
    }
    (*count)++;
  }
  return OK;
}

static int put_upload(struct rec_session *s, const struct hash32 *hash, const uint8_t *ct,
                      size_t len) {
  char hex[65], path[96], code[64], msg[256];
  base_hash_hex(hex, hash);
  snprintf(path, sizeof path, "/v1/blobs/%s", hex);
  struct api_response r;
  int rc = api_client_send_signed(s->c, "PUT", path, "application/octet-stream", ct, len, NULL,
                                  s->keys, s->chain_id, &r);
  if (rc != OK) {
    return cli_report(rc, "the node cannot be reached");
  }
  rc = cli_http_error(&r, code, sizeof code, msg, sizeof msg);
  api_response_free(&r);
  if (rc != OK) {
    (void)cli_fail_named(code, msg);
  }
  return rc;
}

static int put_anchor(struct rec_session *s, const struct put_opts *o, const struct hash32 *record,
                      const struct hash32 *patient, const struct hash32 *hash, uint64_t size,
                      const uint8_t *keys, uint32_t nkeys) {
  const struct ctr_method *m = ctr_method_find((struct bytes){(const uint8_t *)"records", 7},
                                               (struct bytes){(const uint8_t *)"anchor", 6});
  assert(m != NULL);
  struct codec_value v[7];
  memset(v, 0, sizeof v);
  v[0] = (struct codec_value){.type = CODEC_ID, .id = *record};
  v[1] = (struct codec_value){.type = CODEC_ID, .id = *patient};
  v[2] = (struct codec_value){.type = CODEC_STR,
                              .bytes = {(const uint8_t *)o->category, strlen(o->category)}};
  v[3] = (struct codec_value){.type = CODEC_STR,
                              .bytes = {(const uint8_t *)o->fhir_type, strlen(o->fhir_type)}};
  v[4] = (struct codec_value){.type = CODEC_ID, .id = *hash};
  v[5] = (struct codec_value){.type = CODEC_U64, .u64 = size};
  v[6] = (struct codec_value){
      .type = CODEC_KEYS, .bytes = {keys, (size_t)nkeys * CODEC_KEY_ITEM_BYTES}, .count = nkeys};
  uint8_t args[LIM_ARGS_MAX];
  size_t len = 0;
  int rc = codec_record_encode(m->args, v, args, sizeof args, &len);
  if (rc != OK) {
    return cli_report(ERR_BAD_ARGS, "category and FHIR type: printable, at most 64 characters");
  }
  return submit_wait(s, m, args, len);
}

/* Encrypts, uploads and anchors plain for patient; *record gets the id. */
int cli_record_put(const char *node, const char *key, const char *patient_hex, const char *category,
                   const char *fhir_type, const uint8_t *plain, size_t len, struct hash32 *record) {
  struct put_opts o = {node, key, patient_hex, category, fhir_type, NULL, false};
  struct hash32 patient = {{0}};
  if (base_hex_decode(patient.b, sizeof patient.b, patient_hex) != OK) {
    return cli_report(ERR_USAGE, "--patient must be an identity id (64 hex digits)");
  }
  struct rec_session s;
  int rc = session_begin(&s, node, key);
  uint8_t *k = cry_secret_alloc(32);
  uint8_t *ct = malloc(len + CRY_RECORD_OVERHEAD);
  uint8_t keys[3 * CODEC_KEY_ITEM_BYTES];
  uint32_t nkeys = 0;
  if (rc == OK && (k == NULL || ct == NULL)) {
    rc = cli_report(ERR_NOMEM, NULL);
  }
  struct hash32 hash;
  if (rc == OK) {
    cry_random(record->b, sizeof record->b);
    cry_random(k, 32);
    cry_record_encrypt(ct, plain, len, record, k);
    cry_hash(&hash, ct, len + CRY_RECORD_OVERHEAD);
    rc = seal_readers(&s, &patient, k, keys, &nkeys);
  }
  if (rc == OK) {
    rc = put_upload(&s, &hash, ct, len + CRY_RECORD_OVERHEAD);
  }
  if (rc == OK) {
    rc = put_anchor(&s, &o, record, &patient, &hash, len + CRY_RECORD_OVERHEAD, keys, nkeys);
  }
  cry_secret_free(k);
  free(ct);
  session_end(&s);
  return rc;
}

/* Parses a subcommand's options (no positional words). */
static int records_opts(struct cli_opt *opts, size_t n, int argc, char **argv) {
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, n, argc, argv, pos, 0, &npos, err, sizeof err) != OK) {
    return cli_usage("records", "%s", err);
  }
  return CLI_EXIT_OK;
}

static int records_put(int argc, char **argv) {
  struct put_opts o = {NULL, NULL, NULL, "general", "DocumentReference", NULL, false};
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o.node, false},
      {"key", CLI_OPT_STR, &o.key, false},
      {"patient", CLI_OPT_STR, &o.patient, false},
      {"category", CLI_OPT_STR, &o.category, false},
      {"fhir-type", CLI_OPT_STR, &o.fhir_type, false},
      {"in", CLI_OPT_STR, &o.in, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  if (records_opts(opts, ARRAY_LEN(opts), argc, argv) != CLI_EXIT_OK) {
    return CLI_EXIT_USAGE;
  }
  o.node = cli_node_url(o.node);
  if (o.node == NULL || o.key == NULL || o.patient == NULL || o.in == NULL) {
    return cli_usage("records", "records put needs --node, --key, --patient and --in");
  }
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = read_all(o.in, &data, &len);
  if (rc != OK) {
    return cli_fail(
        rc, rc == ERR_OVERSIZE ? "%s is empty or larger than a record may be" : "cannot read %s",
        o.in);
  }
  struct hash32 record;
  rc = cli_record_put(o.node, o.key, o.patient, o.category, o.fhir_type, data, len, &record);
  cry_wipe(data, len);
  free(data);
  if (rc != OK) {
    return cli_exit_code(rc);
  }
  char hex[65];
  base_hash_hex(hex, &record);
  if (o.json) {
    printf("{\"record\":\"%s\",\"bytes\":%zu}\n", hex, len);
  } else {
    printf("record %s anchored (%zu bytes, encrypted)\n", hex, len);
  }
  return CLI_EXIT_OK;
}

/* ---- get ------------------------------------------------------------------- */

/* The anchor's content hash and, when need_key, the data key sealed to
 * this identity. Quiet: errors are returned, not printed (callers decide). */
static int get_anchor(struct rec_session *s, const char *record_hex, struct hash32 *hash,
                      uint8_t key[32], bool need_key, char *code, size_t ccap, char *msg,
                      size_t mcap) {
  char path[128];
  snprintf(path, sizeof path, "/v1/records/%s", record_hex);
  struct api_response r;
  int rc = api_client_get_signed(s->c, path, s->keys, s->chain_id, &r);
  if (rc != OK) {
    snprintf(code, ccap, "%s", err_name(rc));
    snprintf(msg, mcap, "the node cannot be reached");
    return rc;
  }
  rc = cli_http_error(&r, code, ccap, msg, mcap);
  if (rc != OK) {
    api_response_free(&r);
    return rc;
  }
  rc = json_hex32(r.body, "content_hash", hash->b);
  bool opened = !need_key;
  for (uint32_t i = 0; rc == OK && !opened && i < LIM_KEYS_MAX; i++) {
    char p[48], hex[2 * LIM_SEALED_KEY_BYTES + 8];
    uint8_t reader[32], sealed[LIM_SEALED_KEY_BYTES];
    snprintf(p, sizeof p, "keys.%u.reader", (unsigned)i);
    if (json_hex32(r.body, p, reader) != OK) {
      break;
    }
    snprintf(p, sizeof p, "keys.%u.sealed_key", (unsigned)i);
    if (memcmp(reader, s->id.b, 32) != 0 || api_json_lookup(r.body, p, hex, sizeof hex) != OK ||
        base_hex_decode(sealed, sizeof sealed, hex) != OK) {
      continue;
    }
    opened = cry_seal_open(s->keys, key, sealed, sizeof sealed) == OK;
  }
  api_response_free(&r);
  if (rc != OK) {
    snprintf(code, ccap, "MALFORMED");
    snprintf(msg, mcap, "the node's record has no content hash");
    return ERR_MALFORMED;
  }
  if (!opened) {
    snprintf(code, ccap, "CONSENT_REQUIRED");
    snprintf(msg, mcap, "no data key of this record is sealed to this identity");
    return ERR_CONSENT_REQUIRED;
  }
  return OK;
}

struct get_opts {
  const char *node, *key, *record, *purpose, *reason, *out;
  bool json;
};

static int get_content(struct rec_session *s, const struct get_opts *o, struct api_response *r) {
  char path[160], code[64], msg[256], reason[LIM_REASON_MAX + 32];
  snprintf(path, sizeof path, "/v1/records/%s/content?purpose=%s", o->record, o->purpose);
  const char *extra = NULL;
  if (o->reason != NULL) {
    if (strlen(o->reason) > LIM_REASON_MAX || strpbrk(o->reason, "\r\n") != NULL) {
      return cli_report(ERR_USAGE, "--reason: one line, at most 256 characters");
    }
    snprintf(reason, sizeof reason, "X-Medchain-Reason: %s", o->reason);
    extra = reason;
  }
  int rc = api_client_send_signed(s->c, "GET", path, NULL, NULL, 0, extra, s->keys, s->chain_id, r);
  if (rc != OK) {
    return cli_report(rc, "the node cannot be reached");
  }
  rc = cli_http_error(r, code, sizeof code, msg, sizeof msg);
  if (rc != OK) {
    api_response_free(r);
    (void)cli_fail_named(code, msg);
  }
  return rc;
}

/* The data key the node re-sealed to this identity (a custodian node does
 * for readers whose key is not in the anchor), if it sent one. */
static bool header_key(const struct rec_session *s, const struct api_response *r, uint8_t key[32]) {
  uint8_t sealed[LIM_SEALED_KEY_BYTES];
  return r->sealed_key[0] != '\0' && base_hex_decode(sealed, sizeof sealed, r->sealed_key) == OK &&
         cry_seal_open(s->keys, key, sealed, sizeof sealed) == OK;
}

/* The hash to check the bytes against: the anchor's; for a reader the
 * anchor is not shown to (an emergency read) the one the node stated. */
static int content_check(struct rec_session *s, const char *record_hex,
                         const struct api_response *r, uint8_t *k, bool have_key) {
  char code[64], msg[256];
  struct hash32 want, got;
  int rc = get_anchor(s, record_hex, &want, k, !have_key, code, sizeof code, msg, sizeof msg);
  if (rc == ERR_UNAUTHORIZED && have_key &&
      base_hex_decode(want.b, sizeof want.b, r->content_hash) == OK) {
    rc = OK;
  }
  if (rc != OK) {
    (void)cli_fail_named(code, msg);
    return rc;
  }
  cry_hash(&got, (const uint8_t *)r->body, r->len);
  if (!base_hash_eq(&got, &want)) {
    return cli_report(ERR_HASH_MISMATCH, "the node served bytes that are not the anchored record");
  }
  return OK;
}

/* Fetches, checks and decrypts record into *plain (malloc'd). */
int cli_record_get(const char *node, const char *key, const char *record_hex, const char *purpose,
                   const char *reason, uint8_t **plain, size_t *len) {
  struct get_opts o = {node, key, record_hex, purpose, reason, NULL, false};
  struct hash32 record;
  if (base_hex_decode(record.b, sizeof record.b, record_hex) != OK) {
    return cli_report(ERR_USAGE, "--record must be a record id (64 hex digits)");
  }
  struct rec_session s;
  uint8_t *k = cry_secret_alloc(32);
  int rc = k == NULL ? cli_report(ERR_NOMEM, NULL) : session_begin(&s, node, key);
  struct api_response r = {0};
  /* Content first: the node answers an access it refuses with its reason
   * (and logs the attempt); the anchor is readable only to those it allows. */
  if (rc == OK) {
    rc = get_content(&s, &o, &r);
  }
  if (rc == OK) {
    rc = content_check(&s, record_hex, &r, k, header_key(&s, &r, k));
  }
  if (rc == OK && r.len < CRY_RECORD_OVERHEAD) {
    rc = cli_report(ERR_MALFORMED, "the ciphertext is too short");
  }
  if (rc == OK) {
    *plain = malloc(r.len - CRY_RECORD_OVERHEAD + 1);
    *len = r.len - CRY_RECORD_OVERHEAD;
    if (*plain == NULL) {
      rc = cli_report(ERR_NOMEM, NULL);
    } else if (cry_record_decrypt(*plain, (const uint8_t *)r.body, r.len, &record, k) != OK) {
      free(*plain);
      *plain = NULL;
      rc = cli_report(ERR_BAD_SIGNATURE, "the record does not decrypt with its key");
    }
  }
  api_response_free(&r);
  cry_secret_free(k);
  if (k != NULL) {
    session_end(&s);
  }
  return rc;
}

static int records_get(int argc, char **argv) {
  struct get_opts o = {NULL, NULL, NULL, "treatment", NULL, NULL, false};
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o.node, false},     {"key", CLI_OPT_STR, &o.key, false},
      {"record", CLI_OPT_STR, &o.record, false}, {"purpose", CLI_OPT_STR, &o.purpose, false},
      {"reason", CLI_OPT_STR, &o.reason, false}, {"out", CLI_OPT_STR, &o.out, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  if (records_opts(opts, ARRAY_LEN(opts), argc, argv) != CLI_EXIT_OK) {
    return CLI_EXIT_USAGE;
  }
  o.node = cli_node_url(o.node);
  if (o.node == NULL || o.key == NULL || o.record == NULL || o.out == NULL) {
    return cli_usage("records", "records get needs --node, --key, --record and --out");
  }
  uint8_t *plain = NULL;
  size_t len = 0;
  int rc = cli_record_get(o.node, o.key, o.record, o.purpose, o.reason, &plain, &len);
  if (rc != OK) {
    return cli_exit_code(rc);
  }
  rc = cli_file_write(o.out, plain, len);
  cry_wipe(plain, len);
  free(plain);
  if (rc != OK) {
    return cli_fail(rc, "cannot write %s", o.out);
  }
  if (o.json) {
    printf("{\"record\":\"%s\",\"bytes\":%zu,\"out\":", o.record, len);
    cli_json_str(stdout, o.out);
    printf("}\n");
  } else {
    printf("record %s: %zu bytes written to %s\n", o.record, len, o.out);
  }
  return CLI_EXIT_OK;
}

/* ---- share ----------------------------------------------------------------- */

struct share_opts {
  const char *node, *key, *record, *grantee, *purpose;
  uint64_t expires_ms;
  bool json;
};

static int share_grant(struct rec_session *s, const struct share_opts *o,
                       const struct hash32 *record, const struct hash32 *patient,
                       const struct hash32 *grantee, const uint8_t item[CODEC_KEY_ITEM_BYTES]) {
  const struct ctr_method *m = ctr_method_find((struct bytes){(const uint8_t *)"consent", 7},
                                               (struct bytes){(const uint8_t *)"grant", 5});
  assert(m != NULL);
  struct codec_value v[8];
  memset(v, 0, sizeof v);
  v[0] = (struct codec_value){.type = CODEC_ID, .id = *patient};
  v[1] = (struct codec_value){.type = CODEC_ID, .id = *grantee};
  v[2] = (struct codec_value){.type = CODEC_STR, .bytes = {(const uint8_t *)"record", 6}};
  v[3] = (struct codec_value){.type = CODEC_STR, .bytes = {(const uint8_t *)"", 0}};
  v[4] = (struct codec_value){.type = CODEC_ID, .id = *record};
  v[5] = (struct codec_value){.type = CODEC_STR,
                              .bytes = {(const uint8_t *)o->purpose, strlen(o->purpose)}};
  v[6] = (struct codec_value){.type = CODEC_U64, .u64 = o->expires_ms};
  v[7] =
      (struct codec_value){.type = CODEC_KEYS, .bytes = {item, CODEC_KEY_ITEM_BYTES}, .count = 1};
  uint8_t args[LIM_ARGS_MAX];
  size_t len = 0;
  if (codec_record_encode(m->args, v, args, sizeof args, &len) != OK) {
    return cli_report(ERR_BAD_ARGS, "--purpose: printable, at most 32 characters");
  }
  return submit_wait(s, m, args, len);
}

/* The patient (or a guardian holding a key) re-seals the record's data key
 * to the grantee and grants a record-scoped consent in one transaction. */
static int records_share_run(const struct share_opts *o) {
  struct hash32 record, grantee;
  if (base_hex_decode(record.b, 32, o->record) != OK ||
      base_hex_decode(grantee.b, 32, o->grantee) != OK) {
    return cli_report(ERR_USAGE, "--record and --grantee are ids (64 hex digits)");
  }
  struct rec_session s;
  uint8_t *k = cry_secret_alloc(32);
  int rc = k == NULL ? cli_report(ERR_NOMEM, NULL) : session_begin(&s, o->node, o->key);
  struct hash32 hash = {{0}}, patient = {{0}};
  struct boxkey box;
  uint8_t item[CODEC_KEY_ITEM_BYTES];
  char code[64], msg[256];
  if (rc == OK) {
    rc = get_anchor(&s, o->record, &hash, k, true, code, sizeof code, msg, sizeof msg);
    if (rc != OK) {
      (void)cli_fail_named(code, msg);
    }
  }
  if (rc == OK) {
    rc = identity_box(&s, &grantee, &box);
  }
  if (rc == OK) {
    memcpy(item, grantee.b, 32);
    rc = cry_seal(item + 32, k, 32, &box);
  }
  if (rc == OK) {
    char path[128];
    struct api_response r;
    snprintf(path, sizeof path, "/v1/records/%s", o->record);
    rc = api_client_get_signed(s.c, path, s.keys, s.chain_id, &r);
    if (rc == OK) {
      rc = json_hex32(r.body, "patient", patient.b);
    }
    api_response_free(&r);
  }
  if (rc == OK) {
    rc = share_grant(&s, o, &record, &patient, &grantee, item);
  }
  cry_secret_free(k);
  if (k != NULL) {
    session_end(&s);
  }
  return rc;
}

static int records_share(int argc, char **argv) {
  struct share_opts o = {NULL, NULL, NULL, NULL, "treatment", 0, false};
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o.node, false},
      {"key", CLI_OPT_STR, &o.key, false},
      {"record", CLI_OPT_STR, &o.record, false},
      {"grantee", CLI_OPT_STR, &o.grantee, false},
      {"purpose", CLI_OPT_STR, &o.purpose, false},
      {"expires-ms", CLI_OPT_U64, &o.expires_ms, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  if (records_opts(opts, ARRAY_LEN(opts), argc, argv) != CLI_EXIT_OK) {
    return CLI_EXIT_USAGE;
  }
  o.node = cli_node_url(o.node);
  if (o.node == NULL || o.key == NULL || o.record == NULL || o.grantee == NULL ||
      o.expires_ms == 0) {
    return cli_usage("records", "records share needs --node, --key, --record, --grantee and "
                                "--expires-ms");
  }
  int rc = records_share_run(&o);
  if (rc != OK) {
    return cli_exit_code(rc);
  }
  if (o.json) {
    printf("{\"record\":\"%s\",\"grantee\":\"%s\"}\n", o.record, o.grantee);
  } else {
    printf("record %s shared with %s\n", o.record, o.grantee);
  }
  return CLI_EXIT_OK;
}

/* ---- export ---------------------------------------------------------------- */

struct export_opts {
  const char *node, *key, *record, *format, *out_dir, *purpose;
  bool json;
};

/* The decrypted record as FHIR JSON (RECORD.json), or, for an ECG
 * Observation, as a WFDB record in format 212 or 16. */
static int records_export_run(const struct export_opts *o) {
  uint8_t *plain = NULL;
  size_t len = 0;
  int rc = cli_record_get(o->node, o->key, o->record, o->purpose, NULL, &plain, &len);
  if (rc != OK) {
    return rc;
  }
  if (strcmp(o->format, "fhir") == 0) {
    char name[80], path[4096];
    snprintf(name, sizeof name, "%s.json", o->record);
    if (mkdir(o->out_dir, 0700) != 0 && errno != EEXIST) {
      rc = cli_report(ERR_IO, "could not create %s", o->out_dir);
    } else if (cli_path(path, sizeof path, o->out_dir, name) != OK ||
               cli_file_write(path, plain, len) != OK) {
      rc = cli_report(ERR_IO, "could not write into %s", o->out_dir);
    } else if (o->json) {
      printf("{\"record\":\"%s\",\"format\":\"fhir\",\"files\":[", o->record);
      cli_json_str(stdout, path);
      printf("]}\n");
    } else {
      printf("exported record %s as FHIR JSON: %s\n", o->record, path);
    }
  } else {
    uint64_t format = strcmp(o->format, "212") == 0 ? 212 : 16;
    rc = cli_ecg_export_text((const char *)plain, len, "the record", o->out_dir, format, o->json);
  }
  cry_wipe(plain, len);
  free(plain);
  return rc;
}

static int records_export(int argc, char **argv) {
  struct export_opts o = {NULL, NULL, NULL, "fhir", NULL, "export", false};
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o.node, false},       {"key", CLI_OPT_STR, &o.key, false},
      {"record", CLI_OPT_STR, &o.record, false},   {"format", CLI_OPT_STR, &o.format, false},
      {"out-dir", CLI_OPT_STR, &o.out_dir, false}, {"purpose", CLI_OPT_STR, &o.purpose, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  if (records_opts(opts, ARRAY_LEN(opts), argc, argv) != CLI_EXIT_OK) {
    return CLI_EXIT_USAGE;
  }
  o.node = cli_node_url(o.node);
  if (o.node == NULL || o.key == NULL || o.record == NULL || o.out_dir == NULL) {
    return cli_usage("records", "records export needs --node, --key, --record and --out-dir");
  }
  if (strcmp(o.format, "fhir") != 0 && strcmp(o.format, "wfdb") != 0 &&
      strcmp(o.format, "212") != 0 && strcmp(o.format, "16") != 0) {
    return cli_usage("records", "--format is fhir, wfdb (format 16), 212 or 16");
  }
  return cli_exit_code(records_export_run(&o));
}

int cli_cmd_records(int argc, char **argv) {
  if (argc < 2) {
    return cli_usage("records", "records needs put or get");
  }
  if (strcmp(argv[1], "put") == 0) {
    return records_put(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "get") == 0) {
    return records_get(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "share") == 0) {
    return records_share(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "export") == 0) {
    return records_export(argc - 2, argv + 2);
  }
  return cli_usage("records", "unknown records command '%s'", argv[1]);
}
