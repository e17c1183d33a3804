/*
 * routes_drugs — the drug traceability reads (docs/api.md "Drugs"):
 *
 *   GET /v1/drugs/verify?gtin=&serial=&lot=&expiry=   a DSCSA-style answer
 *   GET /v1/drugs/{gtin}/{serial}/history             events, through cases
 *   GET /v1/drugs/lots/{gtin}/{lot}/holders           who holds a lot now
 *
 * Parameters are checked before the node is asked anything: a GTIN is
 * 8, 12, 13 or 14 digits with its check digit (GS1_CHECK_DIGIT otherwise),
 * a serial or lot 1..20 characters of GS1 set 82 (percent-encoded in a
 * path), an expiry YYMMDD (day 00 = end of month) or YYYY-MM-DD. Supply
 * chain state is consortium business data, not patient data: these reads
 * are public like the explorer's. Verification answers only what a
 * pharmacist needs: the verdict, and for a known package its custodian.
 */
#include "api/api_internal.h"
#include "gs1/gs1.h"

#include <assert.h>
#include <string.h>

static int hexv(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Percent-decodes one path segment s[0..n) into out (cap with NUL). */
static int seg_decode(char *out, size_t cap, const char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%') {
      if (n - i < 3 || hexv(s[i + 1]) < 0 || hexv(s[i + 2]) < 0) {
        return ERR_BAD_REQUEST;
      }
      ch = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
      i += 2;
    }
    if (o + 1 >= cap) {
      return ERR_BAD_REQUEST;
    }
    out[o++] = ch;
  }
  out[o] = '\0';
  return OK;
}

/* "GTIN/TEXT" from the two-parameter path span. */
static int split_params(const struct api_ctx *c, char gtin[GS1_GTIN_LEN + 1],
                        char text[GS1_SERIAL_MAX + 1]) {
  const char *slash = strchr(c->param, '/');
  if (slash == NULL) {
    return ERR_BAD_REQUEST;
  }
  int rc = gs1_gtin_normalize(gtin, c->param, (size_t)(slash - c->param));
  if (rc != OK) {
    return rc;
  }
  rc = seg_decode(text, GS1_SERIAL_MAX + 1, slash + 1, strlen(slash + 1));
  if (rc != OK || !gs1_text_ok(text, strlen(text))) {
    return ERR_GS1_MALFORMED;
  }
  return OK;
}

/* ?expiry= as YYMMDD (AI 17, day 00 allowed) or YYYY-MM-DD. */
static int expiry_param(const char *s, uint32_t *out) {
  *out = 0;
  if (s == NULL) {
    return OK;
  }
  if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
    char yymmdd[7] = {s[2], s[3], s[5], s[6], s[8], s[9], '\0'};
    if (s[0] != '2' || s[1] != '0' || (s[8] == '0' && s[9] == '0')) {
      return ERR_GS1_MALFORMED;
    }
    return gs1_date_parse(out, yymmdd, 6);
  }
  return gs1_date_parse(out, s, strlen(s));
}

static json_t *date_json(uint64_t yyyymmdd) {
  char buf[16];
  snprintf(buf, sizeof(buf), "%04u-%02u-%02u", (unsigned)(yyyymmdd / 10000),
           (unsigned)((yyyymmdd / 100) % 100), (unsigned)(yyyymmdd % 100));
  return json_string(buf);
}

/* The JSON of entity id of kind, or NULL when absent (or on no memory). */
static json_t *entity_json(struct state *st, enum ctr_kind kind, const struct hash32 *id) {
  struct bytes val;
  if (ctr_get(st, kind, id, &val) != OK) {
    return NULL;
  }
  return api_record_to_json(ctr_kind_schema(kind), val);
}

/* An organization as {id, name}. */
static json_t *org_json(struct state *st, const struct hash32 *id) {
  json_t *o = json_object();
  json_t *full = entity_json(st, CTR_ORG, id);
  if (o != NULL) {
    json_object_set_new(o, "id", api_json_hex(id->b, 32));
    json_t *name = full != NULL ? json_object_get(full, "name") : NULL;
    json_object_set(o, "name", name != NULL ? name : json_null());
  }
  json_decref(full);
  return o;
}

/* ---- verify ------------------------------------------------------------------ */

static int verify_params(const struct api_ctx *c, char gtin[GS1_GTIN_LEN + 1], const char **serial,
                         const char **lot, uint32_t *expiry) {
  const char *g = api_query_get(c, "gtin");
  *serial = api_query_get(c, "serial");
  *lot = api_query_get(c, "lot");
  if (g == NULL || *serial == NULL) {
    return ERR_BAD_REQUEST;
  }
  int rc = gs1_gtin_normalize(gtin, g, strlen(g));
  if (rc != OK) {
    return rc;
  }
  if (!gs1_text_ok(*serial, strlen(*serial)) ||
      (*lot != NULL && !gs1_text_ok(*lot, strlen(*lot)))) {
    return ERR_GS1_MALFORMED;
  }
  return expiry_param(api_query_get(c, "expiry"), expiry);
}

int api_h_drug_verify(struct api_ctx *c) {
  char gtin[GS1_GTIN_LEN + 1];
  const char *serial = NULL;
  const char *lot = NULL;
  uint32_t expiry = 0;
  int rc = verify_params(c, gtin, &serial, &lot, &expiry);
  if (rc != OK) {
    return rc;
  }
  struct node_view *v = NULL;
  rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct ctr_verify_out out;
  struct bytes lotb = {(const uint8_t *)lot, lot != NULL ? strlen(lot) : 0};
  rc = ctr_drug_verify(st, gtin, serial, lotb, expiry, base_now_ms(), &out);
  json_t *j = rc == OK ? json_object() : NULL;
  if (j != NULL) {
    json_object_set_new(j, "verdict", json_string(ctr_verdict_name(out.verdict)));
    json_object_set_new(j, "gtin", json_string(gtin));
    json_object_set_new(j, "serial", json_string(serial));
    if (out.verdict != CTR_NOT_FOUND) {
      json_object_set_new(j, "package", api_json_hex(out.package.b, 32));
      json_object_set_new(j, "holder", org_json(st, &out.holder));
      json_object_set_new(j, "in_transit", json_boolean(out.in_transit));
    }
  }
  node_view_end(v);
  if (rc == OK && j == NULL) {
    rc = ERR_NOMEM;
  }
  c->json = j;
  return rc;
}

/* ---- history ----------------------------------------------------------------- */

struct hist_ctx {
  struct state *st;
  json_t *events;
};

static int hist_add(void *ctx, const struct hash32 *event, const struct hash32 *via) {
  struct hist_ctx *h = ctx;
  json_t *e = entity_json(h->st, CTR_EVENT, event);
  if (e == NULL) {
    return ERR_NOMEM;
  }
  json_object_set_new(e, "via", via != NULL ? api_json_hex(via->b, 32) : json_null());
  json_t *org = json_object_get(e, "org");
  struct hash32 oid;
  if (json_is_string(org) && base_hex_decode(oid.b, 32, json_string_value(org)) == OK) {
    json_t *o = org_json(h->st, &oid);
    json_t *name = o != NULL ? json_object_get(o, "name") : NULL;
    json_object_set(e, "org_name", name != NULL ? name : json_null());
    json_decref(o);
  }
  return json_array_append_new(h->events, e) == 0 ? OK : ERR_NOMEM;
}

int api_h_drug_history(struct api_ctx *c) {
  char gtin[GS1_GTIN_LEN + 1];
  char serial[GS1_SERIAL_MAX + 1];
  int rc = split_params(c, gtin, serial);
  if (rc != OK) {
    return rc;
  }
  struct node_view *v = NULL;
  rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct hist_ctx h = {node_view_state(v), json_array()};
  struct hash32 id;
  ctr_package_id_sgtin(&id, gtin, serial);
  rc = h.events != NULL ? ctr_drug_history(h.st, &id, hist_add, &h) : ERR_NOMEM;
  json_t *pkg = rc == OK ? entity_json(h.st, CTR_PACKAGE, &id) : NULL;
  node_view_end(v);
  if (rc == OK && pkg == NULL) {
    rc = ERR_NOMEM;
  }
  if (rc != OK) {
    json_decref(h.events);
    return rc;
  }
  c->json = json_object();
  if (c->json == NULL) {
    json_decref(pkg);
    json_decref(h.events);
    return ERR_NOMEM;
  }
  json_object_set_new(c->json, "package", pkg);
  json_object_set_new(c->json, "events", h.events);
  return OK;
}

/* ---- lot holders ------------------------------------------------------------- */

static json_t *holders_json(struct state *st, const struct hash32 *lot, const struct ctr_holding *h,
                            size_t n) {
  json_t *j = json_object();
  json_t *arr = json_array();
  json_t *l = entity_json(st, CTR_LOT, lot);
  if (j == NULL || arr == NULL || l == NULL) {
    json_decref(j);
    json_decref(arr);
    json_decref(l);
    return NULL;
  }
  json_t *expiry = json_object_get(l, "expiry");
  if (json_is_integer(expiry)) {
    json_object_set_new(l, "expiry_date", date_json((uint64_t)json_integer_value(expiry)));
  }
  for (size_t i = 0; i < n; i++) {
    json_t *o = org_json(st, &h[i].org);
    if (o != NULL) {
      json_object_set_new(o, "packages", api_json_u64(h[i].packages));
      json_object_set_new(o, "in_transit", api_json_u64(h[i].in_transit));
      json_array_append_new(arr, o);
    }
  }
  json_object_set_new(j, "lot", l);
  json_object_set_new(j, "holders", arr);
  return j;
}

int api_h_lot_holders(struct api_ctx *c) {
  char gtin[GS1_GTIN_LEN + 1];
  char lotname[GS1_LOT_MAX + 1];
  int rc = split_params(c, gtin, lotname);
  if (rc != OK) {
    return rc;
  }
  struct node_view *v = NULL;
  rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 lot;
  ctr_lot_id(&lot, gtin, (struct bytes){(const uint8_t *)lotname, strlen(lotname)});
  static _Thread_local struct ctr_holding h[LIM_MEMBERS_MAX];
  size_t n = 0;
  rc = ctr_lot_holders(st, &lot, h, ARRAY_LEN(h), &n);
  if (rc == OK) {
    c->json = holders_json(st, &lot, h, n);
    rc = c->json != NULL ? OK : ERR_NOMEM;
  }
  node_view_end(v);
  return rc;
}
