/*
 * routes_appt — appointment booking reads: slots and a practitioner's
 * appointments by date range and status, and a patient's own appointments.
 *
 * Slots and appointments are public state (every node holds them): they
 * name the practitioner, the times and a commitment, never the patient, so
 * GET /v1/slots and GET /v1/appointments answer anyone. The one read that
 * joins appointments to a patient, GET /v1/patients/{id}/appointments,
 * answers only a signed request of the patient (or a guardian, or an
 * auditor: ctr_read_patient) that also carries the patient's view key:
 * the node scans the booked slots of the range and keeps those whose
 * commitment opens to the patient under the salt the view key gives
 * (ctr_appt_salt). The view key is used for that request and forgotten.
 *
 * Ranges: ?from and ?to in ms since the epoch, [from, to); from defaults to
 * the node's clock, to to seven days after from; at most
 * LIM_APPT_RANGE_MS_MAX wide. Pages: ?limit and ?cursor as elsewhere.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define WEEK_MS (7ull * 24u * 3600u * 1000u)

struct range {
  bool has_practitioner;
  struct hash32 practitioner;
  uint64_t from_ms;
  uint64_t to_ms;
  struct bytes status;
  struct ctr_cursor after;
  uint32_t limit;
};

static int range_cursor(const struct api_ctx *c, struct ctr_cursor *cur) {
  memset(cur, 0, sizeof(*cur));
  const char *hex = api_query_get(c, "cursor");
  if (hex == NULL) {
    return OK;
  }
  size_t len = 0;
  if (base_hex_decode_var(cur->b, sizeof(cur->b), &len, hex) != OK || len == 0) {
    return ERR_BAD_REQUEST;
  }
  cur->len = (uint8_t)len;
  return OK;
}

/* ?practitioner, ?from, ?to, ?status, ?limit, ?cursor. */
static int range_parse(const struct api_ctx *c, struct range *r) {
  memset(r, 0, sizeof(*r));
  bool has_from = false;
  bool has_to = false;
  if (api_query_id(c, "practitioner", &r->practitioner, &r->has_practitioner) != OK ||
      api_query_u64(c, "from", &r->from_ms, &has_from) != OK ||
      api_query_u64(c, "to", &r->to_ms, &has_to) != OK || api_query_limit(c, &r->limit) != OK ||
      range_cursor(c, &r->after) != OK) {
    return ERR_BAD_REQUEST;
  }
  if (!has_from) {
    r->from_ms = base_now_ms();
  }
  if (!has_to) {
    r->to_ms = r->from_ms + WEEK_MS;
  }
  if (r->from_ms >= r->to_ms || r->to_ms - r->from_ms > LIM_APPT_RANGE_MS_MAX) {
    return ERR_BAD_REQUEST;
  }
  const char *status = api_query_get(c, "status");
  if (status != NULL) {
    r->status = (struct bytes){(const uint8_t *)status, strlen(status)};
    if (r->status.len == 0 || r->status.len > 16) {
      return ERR_BAD_REQUEST;
    }
  }
  return OK;
}

struct page {
  struct state *st;
  json_t *items;
  /* The patient route: only appointments committed to patient under the
   * salt view_key gives. */
  const struct hash32 *patient;
  const struct hash32 *view_key;
};

static int append_entity(struct page *p, enum ctr_kind kind, struct bytes val) {
  json_t *o = api_record_to_json(ctr_kind_schema(kind), val);
  if (o == NULL) {
    return ERR_NOMEM;
  }
  if (p->patient != NULL &&
      json_object_set_new(o, "patient", api_json_hex(p->patient->b, 32)) != 0) {
    json_decref(o);
    return ERR_NOMEM;
  }
  return json_array_append_new(p->items, o) == 0 ? OK : ERR_NOMEM;
}

static int visit_plain(void *ctx, enum ctr_kind kind, struct bytes val) {
  return append_entity(ctx, kind, val);
}

/* A booked slot: does its appointment open to the patient? */
static int visit_mine(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct page *p = ctx;
  assert(kind == CTR_SLOT);
  const struct codec_schema *ss = ctr_kind_schema(CTR_SLOT);
  struct codec_value sv[LIM_FIELDS_MAX];
  if (codec_record_decode(ss, sv, val.ptr, val.len) != OK) {
    return ERR_CORRUPT;
  }
  int ai = codec_schema_find(ss, "appointment");
  int ii = codec_schema_find(ss, "id");
  assert(ai >= 0 && ii >= 0);
  struct bytes appt;
  int rc = ctr_get(p->st, CTR_APPT, &sv[ai].id, &appt);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  const struct codec_schema *as = ctr_kind_schema(CTR_APPT);
  struct codec_value av[LIM_FIELDS_MAX];
  if (codec_record_decode(as, av, appt.ptr, appt.len) != OK) {
    return ERR_CORRUPT;
  }
  int ci = codec_schema_find(as, "commitment");
  assert(ci >= 0);
  struct hash32 salt;
  struct hash32 want;
  ctr_appt_salt(&salt, p->view_key, &sv[ii].id);
  ctr_appt_commitment(&want, p->patient, &salt);
  if (!base_hash_eq(&want, &av[ci].id)) {
    return OK;
  }
  return append_entity(p, CTR_APPT, appt);
}

/* Runs the search and answers {"items": [...], "next": cursor|null}. */
static int search_answer(struct api_ctx *c, struct page *p, enum ctr_kind kind,
                         const struct range *r, ctr_visit_fn fn) {
  p->items = json_array();
  if (p->items == NULL) {
    return ERR_NOMEM;
  }
  struct ctr_cursor next = {0};
  const struct hash32 *prac = r->has_practitioner ? &r->practitioner : NULL;
  int rc = ctr_appt_search(p->st, kind, prac, r->from_ms, r->to_ms, r->status, &r->after, r->limit,
                           fn, p, &next);
  if (rc == ERR_BAD_ARGS) {
    rc = ERR_BAD_REQUEST;
  }
  if (rc != OK) {
    json_decref(p->items);
    return rc;
  }
  json_t *next_json = next.len == 0 ? json_null() : api_json_hex(next.b, next.len);
  c->json = json_pack("{s:o, s:o}", "items", p->items, "next", next_json);
  return c->json == NULL ? ERR_NOMEM : OK;
}

/* GET /v1/slots and GET /v1/appointments (c->arg names the kind). */
int api_h_appt_search(struct api_ctx *c) {
  const struct api_entity *e = c->arg;
  assert(e != NULL && (e->kind == CTR_SLOT || e->kind == CTR_APPT));
  struct range r;
  if (range_parse(c, &r) != OK || (e->kind == CTR_APPT && !r.has_practitioner)) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct page p = {node_view_state(v), NULL, NULL, NULL};
  rc = search_answer(c, &p, e->kind, &r, visit_plain);
  node_view_end(v);
  return rc;
}

/* GET /v1/patients/{id}/appointments?view_key=HEX: signed. */
int api_h_patient_appts(struct api_ctx *c) {
  struct hash32 patient;
  struct hash32 view_key = {{0}};
  bool has_view = false;
  struct range r;
  memset(&r, 0, sizeof(r));
  if (api_param_id(c, &patient) != OK) {
    return ERR_BAD_REQUEST;
  }
  /* Who asks comes before what is asked: a request without the view key
   * is refused as unsigned or unauthorized first, never probed. */
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 reader;
  rc = api_auth_reader(c, st, &reader);
  if (rc == OK) {
    rc = ctr_read_patient(st, &reader, &patient);
  }
  if (rc == OK && (api_query_id(c, "view_key", &view_key, &has_view) != OK || !has_view ||
                   range_parse(c, &r) != OK || r.has_practitioner || r.status.len != 0)) {
    rc = ERR_BAD_REQUEST;
  }
  r.status = (struct bytes){(const uint8_t *)CTR_SLOT_BUSY, strlen(CTR_SLOT_BUSY)};
  struct page p = {st, NULL, &patient, &view_key};
  if (rc == OK) {
    rc = search_answer(c, &p, CTR_SLOT, &r, visit_mine);
  }
  node_view_end(v);
  cry_wipe(view_key.b, sizeof(view_key.b));
  return rc;
}

/* ---- POST /v1/appointments: booking through the clinic's node ---------------------
 *
 * The privacy path (docs/security.md): the patient signs an HTTP request,
 * not a transaction, so no block names them. Body:
 *   {"method": "book" | "cancel" | "reschedule", "args": HEX, "salt": HEX}
 * args are the appt call's encoded arguments, made by the patient's client
 * exactly as for a direct call (`medchain appt`); salt (book and reschedule)
 * lets this node check that the commitment names the signer, who must be a
 * patient. The node then submits the call as its operator for the
 * organization of the slot (or appointment) and answers as
 * POST /v1/txs?wait=commit does. Cancel and reschedule carry the booking
 * key's signature, which the chain checks whoever submits. */

#define RELAY_WAIT_MS 10000

struct relay {
  const struct ctr_method *m;
  uint8_t args[LIM_ARGS_MAX];
  size_t args_len;
  struct hash32 salt;
  bool has_salt;
};

static int relay_body(const struct api_ctx *c, struct relay *r) {
  json_t *body = NULL;
  int rc = api_json_parse_body(&body, c->req->body, c->req->body_len);
  if (rc != OK) {
    return rc;
  }
  const char *method = json_string_value(json_object_get(body, "method"));
  const char *args = json_string_value(json_object_get(body, "args"));
  const char *salt = json_string_value(json_object_get(body, "salt"));
  rc = ERR_BAD_REQUEST;
  if (method != NULL && args != NULL &&
      (strcmp(method, "book") == 0 || strcmp(method, "cancel") == 0 ||
       strcmp(method, "reschedule") == 0)) {
    r->m = ctr_method_find((struct bytes){(const uint8_t *)"appt", 4},
                           (struct bytes){(const uint8_t *)method, strlen(method)});
    rc = base_hex_decode_var(r->args, sizeof(r->args), &r->args_len, args) == OK ? OK
                                                                                 : ERR_BAD_REQUEST;
  }
  r->has_salt = salt != NULL;
  if (rc == OK && r->has_salt && base_hex_decode(r->salt.b, sizeof(r->salt.b), salt) != OK) {
    rc = ERR_BAD_REQUEST;
  }
  bool booking = r->m != NULL && strcmp(r->m->method, "cancel") != 0;
  if (rc == OK && booking != r->has_salt) {
    rc = ERR_BAD_REQUEST;
  }
  json_decref(body);
  return rc;
}

/* The signer is a patient and, for a booking, the commitment is to them;
 * *org gets the organization whose operator carries the call. */
static int relay_check(struct state *st, const struct relay *r, const struct codec_value *a,
                       const struct hash32 *reader, struct hash32 *org) {
  struct bytes val;
  const struct codec_schema *is = ctr_kind_schema(CTR_IDENTITY);
  struct codec_value iv[LIM_FIELDS_MAX];
  int rc = ctr_get(st, CTR_IDENTITY, reader, &val);
  if (rc != OK || codec_record_decode(is, iv, val.ptr, val.len) != OK) {
    return rc == OK ? ERR_CORRUPT : rc;
  }
  struct bytes kind = iv[codec_schema_find(is, "kind")].bytes;
  if (kind.len != strlen(CTR_ROLE_PATIENT) || memcmp(kind.ptr, CTR_ROLE_PATIENT, kind.len) != 0) {
    return ERR_UNAUTHORIZED;
  }
  bool cancel = strcmp(r->m->method, "cancel") == 0;
  if (!cancel) {
    int ci = codec_schema_find(r->m->args, "commitment");
    struct hash32 want;
    ctr_appt_commitment(&want, reader, &r->salt);
    if (ci < 0 || !base_hash_eq(&want, &a[ci].id)) {
      return ERR_BAD_ARGS;
    }
  }
  /* book names a slot first; cancel and reschedule an appointment. */
  enum ctr_kind k = strcmp(r->m->method, "book") == 0 ? CTR_SLOT : CTR_APPT;
  rc = ctr_get(st, k, &a[0].id, &val);
  if (rc == ERR_NOT_FOUND) {
    return k == CTR_SLOT ? ERR_UNKNOWN_SLOT : ERR_UNKNOWN_APPOINTMENT;
  }
  const struct codec_schema *ks = ctr_kind_schema(k);
  struct codec_value kv[LIM_FIELDS_MAX];
  if (rc != OK || codec_record_decode(ks, kv, val.ptr, val.len) != OK) {
    return rc == OK ? ERR_CORRUPT : rc;
  }
  *org = kv[codec_schema_find(ks, "org")].id;
  return OK;
}

int api_h_appt_relay(struct api_ctx *c) {
  struct relay *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    return ERR_NOMEM;
  }
  struct codec_value a[LIM_FIELDS_MAX];
  int rc = relay_body(c, r);
  if (rc == OK && codec_record_decode(r->m->args, a, r->args, r->args_len) != OK) {
    rc = ERR_BAD_ARGS;
  }
  struct node_view *v = NULL;
  if (rc == OK) {
    rc = api_view_open(c, &v);
  }
  struct hash32 org;
  if (rc == OK) {
    struct state *st = node_view_state(v);
    struct hash32 reader;
    rc = api_auth_reader(c, st, &reader);
    if (rc == OK) {
      rc = relay_check(st, r, a, &reader, &org);
    }
    node_view_end(v);
  }
  struct hash32 h;
  if (rc == OK) {
    struct bytes contract = {(const uint8_t *)"appt", 4};
    struct bytes method = {(const uint8_t *)r->m->method, strlen(r->m->method)};
    rc = node_operator_submit(c->node, &org, contract, method, (struct bytes){r->args, r->args_len},
                              &h);
  }
  if (rc == OK) {
    struct node_tx_status st = {0};
    rc = node_tx_wait(c->node, &h, RELAY_WAIT_MS, &st);
    rc = api_tx_wait_answer(c, &h, rc, &st);
  }
  cry_wipe(r, sizeof(*r));
  free(r);
  return rc;
}
