/*
 * appt — the patient's side of booking, which the chain cannot do for
 * them: the commitment, the sealed salts and the capability signatures.
 *
 *   medchain appt --node URL --key FILE book SLOT
 *   medchain appt --node URL --key FILE cancel APPOINTMENT
 *   medchain appt --node URL --key FILE reschedule APPOINTMENT SLOT
 *   medchain appt --node URL --key FILE view-key
 *   medchain appt --node URL --key FILE open APPOINTMENT
 *
 * Each prints the arguments of the matching appt.* call, one name=value a
 * line, for `medchain tx ... appt.book $(medchain appt ... book SLOT)`
 * (or whoever carries the call: any identity may, docs/security.md), and
 * With --via-clinic, book, cancel and reschedule are not printed but sent
 * to the node (POST /v1/appointments, signed as the patient) for its
 * operator to carry, so no block names the patient.
 * view-key prints view_key=HEX for GET /v1/patients/{id}/appointments;
 * open prints patient=ID when the keystore is a party of the booking (the
 * practitioner, an admin the salt was sealed to, the booker).
 *
 * Everything is derived from the keystore, so nothing needs remembering:
 *   view_key = H("medchain.appt.view.v1", sig(sk, "medchain.appt.view.v1"))
 *   cap seed = H("medchain.appt.cap.v1", sig(sk, "medchain.appt.cap.v1" || slot))
 * (Ed25519 signatures are deterministic, and only the key's holder can
 * make them.) The salt, commitment and encrypted id are the contracts'
 * ctr_appt_*; the salt is sealed to the practitioner, each admin of the
 * slot's organization and, under the zero reader, to the patient.
 */
#include "cli/cli_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define VIEW_TAG "medchain.appt.view.v1"
#define CAP_TAG "medchain.appt.cap.v1"

struct appt_cli {
  struct api_client *c;
  struct cry_keys *k;
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  bool via_clinic;    /* POST /v1/appointments instead of printing */
  struct hash32 salt; /* the last booking's, for via_clinic */
};

static void derive(struct hash32 *out, const struct cry_keys *k, const char *tag,
                   const struct hash32 *extra) {
  uint8_t msg[64 + 32];
  size_t n = strlen(tag);
  assert(n <= 64);
  memcpy(msg, tag, n);
  if (extra != NULL) {
    memcpy(msg + n, extra->b, 32);
    n += 32;
  }
  struct signature sig;
  cry_sign(k, &sig, msg, n);
  cry_hash_tagged(out, tag, sig.b, sizeof(sig.b));
  cry_wipe(&sig, sizeof(sig));
}

/* GET path and read the hex field `name` (32 bytes) of the answer. */
static int get_id(struct appt_cli *a, const char *path, const char *name, struct hash32 *out) {
  struct api_response r;
  int rc = cli_http_get_ok(a->c, path, &r);
  if (rc != OK) {
    return rc;
  }
  char hex[72];
  rc = api_json_lookup(r.body, name, hex, sizeof(hex));
  if (rc == OK) {
    rc = base_hex_decode(out->b, sizeof(out->b), hex);
  }
  api_response_free(&r);
  return rc == OK ? OK : cli_report(ERR_MALFORMED, "the node's answer has no %s", name);
}

static int get_entity_id(struct appt_cli *a, const char *kind, const struct hash32 *id,
                         const char *name, struct hash32 *out) {
  char hex[65];
  char path[128];
  base_hash_hex(hex, id);
  snprintf(path, sizeof(path), "/v1/%s/%s", kind, hex);
  return get_id(a, path, name, out);
}

struct readers {
  uint32_t n;
  struct hash32 id[LIM_KEYS_MAX];
  struct boxkey box[LIM_KEYS_MAX];
};

static int readers_add(struct appt_cli *a, struct readers *rd, const struct hash32 *id) {
  for (uint32_t i = 0; i < rd->n; i++) {
    if (base_hash_eq(&rd->id[i], id)) {
      return OK;
    }
  }
  if (rd->n == LIM_KEYS_MAX) {
    return OK; /* the practitioner and the booker come first */
  }
  struct hash32 box;
  int rc = get_entity_id(a, "identities", id, "box_pk", &box);
  if (rc != OK) {
    return rc;
  }
  rd->id[rd->n] = *id;
  memcpy(rd->box[rd->n].b, box.b, 32);
  rd->n++;
  return OK;
}

/* The booker's own copy (zero id), the practitioner, the org's admins. */
static int readers_of(struct appt_cli *a, const struct hash32 *slot, struct readers *rd) {
  memset(rd, 0, sizeof(*rd));
  cry_keys_box_pk(a->k, &rd->box[0]);
  rd->n = 1;
  struct hash32 prac;
  struct hash32 org;
  int rc = get_entity_id(a, "slots", slot, "practitioner", &prac);
  if (rc == OK) {
    rc = get_entity_id(a, "slots", slot, "org", &org);
  }
  if (rc == OK) {
    rc = readers_add(a, rd, &prac);
  }
  for (unsigned i = 0; rc == OK && i < LIM_IDS_MAX; i++) {
    char field[32];
    snprintf(field, sizeof(field), "admins.%u", i);
    struct hash32 admin;
    char hex[65];
    char path[128];
    base_hash_hex(hex, &org);
    snprintf(path, sizeof(path), "/v1/organizations/%s", hex);
    struct api_response r;
    rc = cli_http_get_ok(a->c, path, &r);
    if (rc != OK) {
      break;
    }
    char ahex[72];
    int found = api_json_lookup(r.body, field, ahex, sizeof(ahex));
    api_response_free(&r);
    if (found != OK || base_hex_decode(admin.b, sizeof(admin.b), ahex) != OK) {
      break;
    }
    rc = readers_add(a, rd, &admin);
  }
  return rc;
}

static int cmp_item(const void *x, const void *y) {
  return memcmp(x, y, 32);
}

/* Prints the book-shaped arguments for slot: commitment, patient_enc,
 * booker_pk, keys; fills vals[0..4] (slot first) for signing. */
static int booking_args(struct appt_cli *a, const struct hash32 *slot, struct codec_value *vals,
                        uint8_t *items) {
  struct pubkey pk;
  struct hash32 me;
  char pkhex[65];
  cry_keys_sign_pk(a->k, &pk);
  base_hex_encode(pkhex, pk.b, sizeof(pk.b));
  char path[128];
  snprintf(path, sizeof(path), "/v1/keys/%s", pkhex);
  struct readers rd;
  int rc = get_id(a, path, "id", &me);
  if (rc == OK) {
    rc = readers_of(a, slot, &rd);
  }
  if (rc != OK) {
    return rc;
  }
  struct hash32 view;
  struct hash32 seed;
  struct hash32 salt;
  derive(&view, a->k, VIEW_TAG, NULL);
  derive(&seed, a->k, CAP_TAG, slot);
  ctr_appt_salt(&salt, &view, slot);
  vals[0] = (struct codec_value){.type = CODEC_ID, .id = *slot};
  vals[1] = (struct codec_value){.type = CODEC_ID};
  vals[2] = (struct codec_value){.type = CODEC_ID};
  ctr_appt_commitment(&vals[1].id, &me, &salt);
  ctr_appt_patient_enc(&vals[2].id, &me, &salt);
  struct cry_keys *cap = cry_keys_from_seed(seed.b);
  if (cap == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  vals[3] = (struct codec_value){.type = CODEC_PUBKEY};
  cry_keys_sign_pk(cap, (struct pubkey *)(void *)vals[3].id.b);
  cry_keys_destroy(cap);
  for (uint32_t i = 0; i < rd.n && rc == OK; i++) {
    uint8_t *item = items + (size_t)i * CODEC_KEY_ITEM_BYTES;
    memcpy(item, rd.id[i].b, 32);
    rc = cry_seal(item + 32, salt.b, sizeof(salt.b), &rd.box[i]);
  }
  a->salt = salt;
  cry_wipe(&view, sizeof(view));
  cry_wipe(&seed, sizeof(seed));
  cry_wipe(&salt, sizeof(salt));
  if (rc != OK) {
    return cli_report(rc, "could not seal the booking");
  }
  qsort(items, rd.n, CODEC_KEY_ITEM_BYTES, cmp_item);
  vals[4] = (struct codec_value){
      .type = CODEC_KEYS, .bytes = {items, (size_t)rd.n * CODEC_KEY_ITEM_BYTES}, .count = rd.n};
  return OK;
}

/* Prints vals under the method's field names, name=value a line. */
static void print_args(const struct ctr_method *m, const struct codec_value *vals) {
  for (size_t i = 0; i < m->args->nfields; i++) {
    const struct codec_field *f = &m->args->fields[i];
    const struct codec_value *v = &vals[i];
    printf("%s=", f->name);
    if (f->type == CODEC_KEYS) {
      for (uint32_t j = 0; j < v->count; j++) {
        const uint8_t *item = v->bytes.ptr + (size_t)j * CODEC_KEY_ITEM_BYTES;
        char r[65];
        char s[2 * LIM_SEALED_KEY_BYTES + 1];
        base_hex_encode(r, item, 32);
        base_hex_encode(s, item + 32, LIM_SEALED_KEY_BYTES);
        printf("%s%s:%s", j == 0 ? "" : ",", r, s);
      }
    } else if (f->type == CODEC_BYTES) {
      for (size_t j = 0; j < v->bytes.len; j++) {
        printf("%02x", v->bytes.ptr[j]);
      }
    } else {
      char hex[65];
      base_hash_hex(hex, &v->id);
      printf("%s", hex);
    }
    printf("\n");
  }
}

/* Signs the call's arguments before auth (the last) with the capability
 * key of the booking's slot, and fills auth. */
static int sign_auth(struct appt_cli *a, const struct ctr_method *m, struct codec_value *vals,
                     const struct hash32 *slot, struct signature *sig) {
  size_t n = m->args->nfields;
  vals[n - 1] = (struct codec_value){.type = CODEC_BYTES};
  uint8_t *buf = malloc(LIM_ARGS_MAX);
  size_t len = 0;
  if (buf == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  int rc = codec_record_encode(m->args, vals, buf, LIM_ARGS_MAX, &len);
  struct hash32 seed;
  derive(&seed, a->k, CAP_TAG, slot);
  struct cry_keys *cap = rc == OK ? cry_keys_from_seed(seed.b) : NULL;
  cry_wipe(&seed, sizeof(seed));
  if (cap != NULL) {
    struct hash32 msg;
    struct bytes chain = {(const uint8_t *)a->chain_id, strlen(a->chain_id)};
    struct bytes method = {(const uint8_t *)m->method, strlen(m->method)};
    ctr_appt_auth_msg(&msg, chain, method, (struct bytes){buf, len - 4});
    cry_sign(cap, sig, msg.b, sizeof(msg.b));
    vals[n - 1].bytes = (struct bytes){sig->b, sizeof(sig->b)};
    cry_keys_destroy(cap);
  }
  free(buf);
  return cap != NULL ? OK : cli_report(rc == OK ? ERR_NOMEM : rc, "could not sign");
}

/* Sends the call to the node for its operator to carry (the patient's
 * identity signs the request, not a transaction): prints the answer. */
static int relay(struct appt_cli *a, const struct ctr_method *m, const struct codec_value *vals) {
  uint8_t *args = malloc(LIM_ARGS_MAX);
  char *body = malloc(2 * LIM_ARGS_MAX + 256);
  size_t len = 0;
  int rc = args == NULL || body == NULL
               ? ERR_NOMEM
               : codec_record_encode(m->args, vals, args, LIM_ARGS_MAX, &len);
  if (rc == OK) {
    char salt[65];
    base_hash_hex(salt, &a->salt);
    int n = snprintf(body, 64, "{\"method\":\"%s\",\"args\":\"", m->method);
    base_hex_encode(body + n, args, len);
    n += (int)(2 * len);
    if (strcmp(m->method, "cancel") == 0) {
      snprintf(body + n, 8, "\"}");
    } else {
      snprintf(body + n, 96, "\",\"salt\":\"%s\"}", salt);
    }
    struct api_response r;
    rc = api_client_send_signed(a->c, "POST", "/v1/appointments", "application/json",
                                (const uint8_t *)body, strlen(body), NULL, a->k, a->chain_id, &r);
    if (rc == OK) {
      char code[64];
      char msg[256];
      if (r.body != NULL) {
        cli_print_body(r.body);
      }
      rc = cli_http_error(&r, code, sizeof(code), msg, sizeof(msg));
      if (rc != OK) {
        (void)cli_fail_named(code, msg);
      }
      api_response_free(&r);
    }
  }
  free(body);
  free(args);
  return rc;
}

/* Prints the arguments, or with --via-clinic relays the call. */
static int emit(struct appt_cli *a, const struct ctr_method *m, const struct codec_value *vals) {
  if (a->via_clinic) {
    return relay(a, m, vals);
  }
  print_args(m, vals);
  return OK;
}

static const struct ctr_method *method(const char *name) {
  const struct ctr_method *m = ctr_method_find((struct bytes){(const uint8_t *)"appt", 4},
                                               (struct bytes){(const uint8_t *)name, strlen(name)});
  assert(m != NULL);
  return m;
}

static int parse_id(const char *hex, struct hash32 *out) {
  if (hex == NULL || strlen(hex) != 64 || base_hex_decode(out->b, sizeof(out->b), hex) != OK) {
    return cli_report(ERR_USAGE, "ids are 64 hex digits");
  }
  return OK;
}

/* The salt sealed to reader (or to the booker, under the zero id) in
 * the appointment's answer body, opened with the keystore's box key. */
static int open_salt(struct appt_cli *a, const char *body, const struct hash32 *reader,
                     struct hash32 *salt) {
  for (unsigned i = 0; i < LIM_KEYS_MAX; i++) {
    char field[40];
    char hex[2 * LIM_SEALED_KEY_BYTES + 8];
    struct hash32 r = {{0}};
    snprintf(field, sizeof(field), "keys.%u.reader", i);
    if (api_json_lookup(body, field, hex, sizeof(hex)) != OK ||
        base_hex_decode(r.b, sizeof(r.b), hex) != OK) {
      break;
    }
    bool mine = base_hash_eq(&r, reader) || base_hash_is_zero(&r);
    snprintf(field, sizeof(field), "keys.%u.sealed_key", i);
    uint8_t sealed[LIM_SEALED_KEY_BYTES];
    if (!mine || api_json_lookup(body, field, hex, sizeof(hex)) != OK ||
        base_hex_decode(sealed, sizeof(sealed), hex) != OK) {
      continue;
    }
    if (cry_seal_open(a->k, salt->b, sealed, sizeof(sealed)) == OK) {
      return OK;
    }
  }
  return ERR_UNAUTHORIZED;
}

/* Opens an appointment's commitment: prints patient=ID when the keystore
 * is one of its readers and the opening checks against the commitment. */
static int open_appt(struct appt_cli *a, const struct hash32 *id) {
  struct pubkey pk;
  struct hash32 me;
  char pkhex[65];
  char path[128];
  cry_keys_sign_pk(a->k, &pk);
  base_hex_encode(pkhex, pk.b, sizeof(pk.b));
  snprintf(path, sizeof(path), "/v1/keys/%s", pkhex);
  int rc = get_id(a, path, "id", &me);
  struct hash32 enc;
  struct hash32 commitment;
  if (rc == OK) {
    rc = get_entity_id(a, "appointments", id, "patient_enc", &enc);
  }
  if (rc == OK) {
    rc = get_entity_id(a, "appointments", id, "commitment", &commitment);
  }
  char hex[65];
  base_hash_hex(hex, id);
  snprintf(path, sizeof(path), "/v1/appointments/%s", hex);
  struct api_response r;
  if (rc == OK) {
    rc = cli_http_get_ok(a->c, path, &r);
  }
  if (rc != OK) {
    return rc;
  }
  struct hash32 salt;
  struct hash32 patient;
  struct hash32 check;
  rc = open_salt(a, r.body, &me, &salt);
  api_response_free(&r);
  if (rc == OK) {
    ctr_appt_patient_enc(&patient, &enc, &salt);
    ctr_appt_commitment(&check, &patient, &salt);
    rc = base_hash_eq(&check, &commitment) ? OK : ERR_UNAUTHORIZED;
  }
  cry_wipe(&salt, sizeof(salt));
  if (rc != OK) {
    return cli_report(rc, "this key cannot open the appointment's booking");
  }
  base_hash_hex(hex, &patient);
  printf("patient=%s\n", hex);
  return OK;
}

static int run_sub(struct appt_cli *a, char **pos, size_t npos) {
  struct codec_value vals[LIM_FIELDS_MAX];
  uint8_t items[LIM_KEYS_MAX * CODEC_KEY_ITEM_BYTES];
  struct hash32 id;
  struct hash32 slot;
  struct signature sig;
  const char *sub = pos[0];
  if (strcmp(sub, "view-key") == 0 && npos == 1) {
    derive(&id, a->k, VIEW_TAG, NULL);
    char hex[65];
    base_hash_hex(hex, &id);
    printf("view_key=%s\n", hex);
    return OK;
  }
  if (strcmp(sub, "book") == 0 && npos == 2) {
    int rc = parse_id(pos[1], &slot);
    if (rc == OK) {
      rc = booking_args(a, &slot, vals, items);
    }
    return rc == OK ? emit(a, method("book"), vals) : rc;
  }
  if (strcmp(sub, "open") == 0 && npos == 2) {
    int rc = parse_id(pos[1], &id);
    return rc == OK ? open_appt(a, &id) : rc;
  }
  bool cancel = strcmp(sub, "cancel") == 0 && npos == 2;
  bool move = strcmp(sub, "reschedule") == 0 && npos == 3;
  if (!cancel && !move) {
    return cli_report(ERR_USAGE, "appt book SLOT | cancel APPOINTMENT | reschedule "
                                 "APPOINTMENT SLOT | open APPOINTMENT | view-key");
  }
  int rc = parse_id(pos[1], &id);
  struct hash32 old_slot;
  if (rc == OK) {
    rc = get_entity_id(a, "appointments", &id, "slot", &old_slot);
  }
  if (rc == OK && move) {
    rc = parse_id(pos[2], &slot);
    if (rc == OK) {
      rc = booking_args(a, &slot, vals + 1, items);
    }
  }
  if (rc != OK) {
    return rc;
  }
  vals[0] = (struct codec_value){.type = CODEC_ID, .id = id};
  const struct ctr_method *m = method(cancel ? "cancel" : "reschedule");
  rc = sign_auth(a, m, vals, &old_slot, &sig);
  return rc == OK ? emit(a, m, vals) : rc;
}

int cli_cmd_appt(int argc, char **argv) {
  const char *node = NULL;
  const char *key = NULL;
  bool json = false;
  bool via_clinic = false;
  char *pos[4];
  size_t npos = 0;
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &node, false},
      {"key", CLI_OPT_STR, &key, false},
      {"json", CLI_OPT_FLAG, &json, false},
      {"via-clinic", CLI_OPT_FLAG, &via_clinic, false},
  };
  char err[256];
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, ARRAY_LEN(pos), &npos, err,
                     sizeof(err)) != OK) {
    return cli_usage("appt", "%s", err);
  }
  node = cli_node_url(node);
  if (node == NULL || key == NULL || npos == 0) {
    return cli_usage("appt", "appt needs --node URL, --key FILE and a subcommand");
  }
  struct appt_cli a;
  memset(&a, 0, sizeof(a));
  a.via_clinic = via_clinic;
  int rc = cli_keys_load(&a.k, key);
  if (rc != OK) {
    return cli_fail(rc, "could not open the keystore %s", key);
  }
  if (api_client_create(&a.c, node) != OK) {
    cry_keys_destroy(a.k);
    return cli_fail(ERR_USAGE, "bad node URL '%s'", node);
  }
  uint64_t height = 0;
  rc = cli_node_status(a.c, &height, a.chain_id, sizeof(a.chain_id));
  if (rc != OK) {
    rc = cli_report(rc, "the node cannot be reached");
  } else {
    rc = run_sub(&a, pos, npos);
  }
  api_client_destroy(a.c);
  cry_keys_destroy(a.k);
  cry_wipe(&a.salt, sizeof(a.salt));
  return cli_exit_code(rc);
}
