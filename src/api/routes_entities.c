/*
 * routes_entities — the contracts' entities: organizations, identities,
 * proposals, validators, consents, records and audit entries, one by id or
 * listed a page at a time.
 *
 * One pair of handlers serves every kind; the table below says, per kind,
 * which query parameter selects which listing filter. An unknown id is
 * NOT_FOUND for every kind (the contracts' UNKNOWN_* codes name a missing
 * party of a transaction, not a missing page). Entities render through
 * their kind's schema (api_record_to_json), so a new field in a contract
 * appears here with no code change. Consents, records and audit entries
 * answer only a signed request whose signer may read them (auth.c): the
 * signature is checked before the entity is looked up, the rule after.
 * Pages are ctr_list's: ?limit (<= LIM_PAGE_MAX) and an
 * opaque ?cursor that is the previous page's "next".
 */
#include "api/api_internal.h"

#include <assert.h>
#include <string.h>

const struct api_entity api_entities[CTR_KIND_COUNT_] = {
    [CTR_ORG] = {CTR_ORG, false, {NULL}, {CTR_ALL}},
    [CTR_IDENTITY] = {CTR_IDENTITY, true, {"org"}, {CTR_BY_ORG}},
    [CTR_PROPOSAL] = {CTR_PROPOSAL, false, {NULL}, {CTR_ALL}},
    [CTR_CONSENT] = {CTR_CONSENT,
                     false,
                     {"patient", "grantee", "record"},
                     {CTR_BY_PATIENT, CTR_BY_GRANTEE, CTR_BY_RECORD}},
    [CTR_RECORD] = {CTR_RECORD, false, {"patient"}, {CTR_BY_PATIENT}},
    [CTR_AUDIT] = {CTR_AUDIT, false, {"patient", "record"}, {CTR_BY_PATIENT, CTR_BY_RECORD}},
    [CTR_VALIDATOR] = {CTR_VALIDATOR, false, {NULL}, {CTR_ALL}},
    [CTR_SCHEDULE] = {CTR_SCHEDULE, false, {"practitioner"}, {CTR_BY_PRACTITIONER}},
    [CTR_SLOT] = {CTR_SLOT, false, {NULL}, {CTR_ALL}},
    [CTR_APPT] = {CTR_APPT, false, {NULL}, {CTR_ALL}},
    [CTR_APPT_POLICY] = {CTR_APPT_POLICY, false, {NULL}, {CTR_ALL}},
    [CTR_PACKAGE] = {CTR_PACKAGE, false, {NULL}, {CTR_ALL}},
    [CTR_LOT] = {CTR_LOT, false, {NULL}, {CTR_ALL}},
    [CTR_EVENT] = {CTR_EVENT, false, {NULL}, {CTR_ALL}},
    [CTR_RX] = {CTR_RX, false, {NULL}, {CTR_ALL}},
};

/* The entity's JSON; identities also carry "next_nonce". */
static int entity_json(struct state *st, const struct api_entity *e, struct bytes val,
                       json_t **out) {
  const struct codec_schema *schema = ctr_kind_schema(e->kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  assert(schema != NULL && schema->nfields <= LIM_FIELDS_MAX);
  *out = NULL;
  if (codec_record_decode(schema, vals, val.ptr, val.len) != OK) {
    /* The contracts wrote it under this schema: the store is damaged. */
    return ERR_CORRUPT;
  }
  *out = api_record_to_json(schema, val);
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  if (!e->with_nonce) {
    return OK;
  }
  /* The first field of every kind is its 32-byte id. */
  struct hash32 id;
  uint64_t nonce = 0;
  assert(val.len >= sizeof(id.b));
  memcpy(id.b, val.ptr, sizeof(id.b));
  int rc = ctr_next_nonce(st, &id, &nonce);
  if (rc == OK && json_object_set_new(*out, "next_nonce", api_json_u64(nonce)) != 0) {
    rc = ERR_NOMEM;
  }
  if (rc != OK) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- GET /v1/<kind>/{id} ------------------------------------------------------- */

int api_h_entity_get(struct api_ctx *c) {
  const struct api_entity *e = c->arg;
  assert(e != NULL);
  struct hash32 id;
  if (api_param_id(c, &id) != OK) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 reader = {{0}};
  if (api_auth_protected(e->kind)) {
    rc = api_auth_reader(c, st, &reader);
  }
  struct bytes val = {NULL, 0};
  if (rc == OK) {
    rc = ctr_get(st, e->kind, &id, &val);
  }
  /* Whether a consent, record or audit entry exists is itself patient
   * data: only an auditor learns NOT_FOUND, anyone else UNAUTHORIZED. */
  if (rc == ERR_NOT_FOUND && api_auth_protected(e->kind) && ctr_read_all(st, &reader) != OK) {
    rc = ERR_UNAUTHORIZED;
  }
  if (rc == OK && api_auth_protected(e->kind)) {
    rc = api_auth_entity(st, e->kind, val, &reader);
  }
  if (rc == OK) {
    rc = entity_json(st, e, val, &c->json);
  }
  node_view_end(v);
  return rc;
}

/* ---- GET /v1/keys/{pk} ------------------------------------------------------------ */

/* The identity a signing key belongs to: how a client whose identity rotated
 * its key finds its id (ids name the first key). */
int api_h_key_get(struct api_ctx *c) {
  const struct api_entity *e = c->arg;
  assert(e != NULL && e->kind == CTR_IDENTITY);
  struct hash32 raw;
  if (api_param_id(c, &raw) != OK) {
    return ERR_BAD_REQUEST;
  }
  struct pubkey pk;
  memcpy(pk.b, raw.b, sizeof(pk.b));
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 id;
  struct bytes val = {NULL, 0};
  rc = ctr_identity_by_key(st, &pk, &id);
  if (rc == OK) {
    rc = ctr_get(st, CTR_IDENTITY, &id, &val);
    rc = rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  if (rc == OK) {
    rc = entity_json(st, e, val, &c->json);
  }
  node_view_end(v);
  return rc;
}

/* ---- GET /v1/<kind> ------------------------------------------------------------- */

/* At most one filter parameter; none lists every entity of the kind. */
static int list_filter(const struct api_ctx *c, const struct api_entity *e, enum ctr_filter *filter,
                       struct hash32 *key) {
  *filter = CTR_ALL;
  memset(key, 0, sizeof(*key));
  bool chosen = false;
  for (size_t i = 0; i < ARRAY_LEN(e->filter_keys) && e->filter_keys[i] != NULL; i++) {
    bool present = false;
    struct hash32 k;
    if (api_query_id(c, e->filter_keys[i], &k, &present) != OK || (present && chosen)) {
      return ERR_BAD_REQUEST;
    }
    if (present) {
      chosen = true;
      *filter = e->filters[i];
      *key = k;
    }
  }
  return OK;
}

static int list_cursor(const struct api_ctx *c, struct ctr_cursor *cur) {
  memset(cur, 0, sizeof(*cur));
  const char *hex = api_query_get(c, "cursor");
  if (hex == NULL) {
    return OK;
  }
  size_t len = 0;
  if (base_hex_decode_var(cur->b, sizeof(cur->b), &len, hex) != OK) {
    return ERR_BAD_REQUEST;
  }
  cur->len = (uint8_t)len;
  return OK;
}

struct list_ctx {
  struct state *st;
  const struct api_entity *e;
  json_t *items;
};

static int list_visit(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct list_ctx *lc = ctx;
  assert(kind == lc->e->kind);
  json_t *o = NULL;
  int rc = entity_json(lc->st, lc->e, val, &o);
  if (rc != OK) {
    return rc;
  }
  return json_array_append_new(lc->items, o) == 0 ? OK : ERR_NOMEM;
}

static int list_answer(struct api_ctx *c, struct state *st, enum ctr_filter filter,
                       const struct hash32 *key, const struct ctr_cursor *after, uint32_t limit) {
  const struct api_entity *e = c->arg;
  struct list_ctx lc = {st, e, json_array()};
  if (lc.items == NULL) {
    return ERR_NOMEM;
  }
  struct ctr_cursor next = {0};
  int rc = ctr_list(st, e->kind, filter, key, after, limit, list_visit, &lc, &next);
  if (rc == ERR_BAD_ARGS) {
    rc = ERR_BAD_REQUEST; /* a filter this kind does not support */
  }
  if (rc != OK) {
    json_decref(lc.items);
    return rc;
  }
  assert(next.len <= CTR_CURSOR_MAX);
  json_t *next_json = next.len == 0 ? json_null() : api_json_hex(next.b, next.len);
  c->json = json_pack("{s:o, s:o}", "items", lc.items, "next", next_json);
  return c->json == NULL ? ERR_NOMEM : OK;
}

int api_h_entity_list(struct api_ctx *c) {
  const struct api_entity *e = c->arg;
  assert(e != NULL);
  enum ctr_filter filter = CTR_ALL;
  struct hash32 key;
  struct ctr_cursor after;
  uint32_t limit = 0;
  if (list_filter(c, e, &filter, &key) != OK || list_cursor(c, &after) != OK ||
      api_query_limit(c, &limit) != OK) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  if (api_auth_protected(e->kind)) {
    struct hash32 reader;
    rc = api_auth_reader(c, st, &reader);
    if (rc == OK) {
      rc = api_auth_list(st, filter, &key, &reader);
    }
  }
  if (rc == OK) {
    rc = list_answer(c, st, filter, &key, &after, limit);
  }
  node_view_end(v);
  return rc;
}
