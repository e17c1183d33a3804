/*
 * epcis — EPCIS 2.0 JSON events: their canonical event hash (GS1's
 * event-hash algorithm, "ni:///sha-256;HEX?ver=CBV2.0"), their
 * translation into supply/rx contract calls, and POST /v1/epcis/capture.
 *
 * The event hash follows the reference algorithm (github.com/RalphTro/
 * epcis-event-hash-generator): a pre-hash string of "key=value" pieces in
 * the standard's property order (eventType, eventTime in UTC with
 * milliseconds and "Z", eventTimeZoneOffset, epcList, parentID, childEPCs,
 * action, bizStep, disposition, readPoint, bizLocation, bizTransactionList,
 * sourceList, destinationList), list items sorted, EPC and location URIs
 * rewritten as canonical GS1 Digital Link URIs on id.gs1.org, CBV values as
 * https://ref.gs1.org/cbv/ URIs, list items' type before their value; then the ILMD (lot and
 * expiry) as the reference treats extensions: the element name then its sorted children. recordTime
 * and eventID do not take part. A field outside that list makes the event unsupported (BAD_REQUEST)
 * rather than silently unhashed.
 *
 * Capture: the request is signed (auth.c) by an admin or practitioner of
 * the submitting organization; every event is validated and hashed first,
 * then each becomes one transaction signed by the node's operator key of
 * that organization (node_operator_submit), in document order, and the
 * handler waits for their commits. The answer lists each event's hash,
 * transaction and result code.
 */
#include "api/api_internal.h"
#include "gs1/gs1.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VOC "https://ref.gs1.org/cbv/"

/* ---- a bounded string builder ---------------------------------------------- */

struct sb {
  char *p;
  size_t cap;
  size_t len;
  bool over;
};

static void sb_put(struct sb *b, const char *s) {
  size_t n = strlen(s);
  if (b->len + n + 1 > b->cap) {
    b->over = true;
    return;
  }
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- values ------------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)" to Unix milliseconds
 * (fractions past milliseconds rounded half up, as the reference does). */
static int iso_time_ms(const char *s, uint64_t *out) {
  unsigned y, mo, d, h, mi, se;
  size_t n = strlen(s);
  if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      !digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
      !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) || y < 1970 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    return ERR_BAD_REQUEST;
  }
  size_t i = 19;
  uint64_t ms = 0;
  if (s[i] == '.') {
    unsigned scale = 100;
    i++;
    size_t start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (i - start < 3) {
        ms += (uint64_t)(s[i] - '0') * scale;
        scale /= 10;
      } else if (i - start == 3 && s[i] >= '5') {
        ms += 1;
      }
      i++;
    }
    if (i == start) {
      return ERR_BAD_REQUEST;
    }
  }
  int64_t off_min = 0;
  unsigned oh, om;
  if (i + 1 == n && s[i] == 'Z') {
    off_min = 0;
  } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
             digits(s + i + 1, 2, &oh) && digits(s + i + 4, 2, &om) && oh < 24 && om < 60) {
    off_min = (int64_t)(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
  } else {
    return ERR_BAD_REQUEST;
  }
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off_min * 60;
  if (secs < 0) {
    return ERR_BAD_REQUEST;
  }
  *out = (uint64_t)secs * 1000 + ms;
  return OK;
}

/* The reference's canonical time: UTC, milliseconds, "Z". */
static void time_canon(char out[32], uint64_t ms) {
  uint32_t date = gs1_date_of_ms(ms);
  uint64_t in_day = ms % 86400000u;
  snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", date / 10000, (date / 100) % 100,
           date % 100, (unsigned)(in_day / 3600000u), (unsigned)(in_day / 60000u % 60u),
           (unsigned)(in_day / 1000u % 60u), (unsigned)(in_day % 1000u));
}

/* A CBV value given bare ("shipping"), as a URN or as a web URI: the bare
 * name into out. *prefix is the URN's vocabulary ("bizstep", "disp",
 * "btt", "sdt"). */
static int cbv_bare(char *out, size_t cap, const char *v, const char *urn_kind,
                    const char *web_kind) {
  char urn[64];
  char web[96];
  snprintf(urn, sizeof(urn), "urn:epcglobal:cbv:%s:", urn_kind);
  snprintf(web, sizeof(web), VOC "%s-", web_kind);
  const char *bare = v;
  if (strncmp(v, urn, strlen(urn)) == 0) {
    bare = v + strlen(urn);
  } else if (strncmp(v, web, strlen(web)) == 0) {
    bare = v + strlen(web);
  }
  size_t n = strlen(bare);
  if (n == 0 || n >= cap || strspn(bare, "abcdefghijklmnopqrstuvwxyz_") != n) {
    return ERR_BAD_REQUEST;
  }
  memcpy(out, bare, n + 1);
  return OK;
}

/* Whether bare is a value of the CBV 2.0 vocabulary kind ("BTT", "SDT"):
 * the reference implementations write only those as web URIs. */
static bool cbv_known(const char *kind, const char *bare) {
  static const char *const btt[] = {"bol",     "cert",    "desadv",    "inv",    "pedigree",
                                    "po",      "poc",     "prodorder", "recadv", "rma",
                                    "testprd", "testres", "upevt"};
  static const char *const sdt[] = {"owning_party", "possessing_party", "location"};
  bool is_btt = strcmp(kind, "BTT") == 0;
  const char *const *list = is_btt ? btt : sdt;
  size_t n = is_btt ? ARRAY_LEN(btt) : ARRAY_LEN(sdt);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(list[i], bare) == 0) {
      return true;
    }
  }
  return false;
}

/* A location or party URI (sgln / pgln EPC URI, or a Digital Link /414/ or
 * /417/) as its 13-digit GLN and its Digital Link. */
static int gln_of(const char *v, char gln[GS1_GLN_LEN + 1], char *dl, size_t dl_cap) {
  const char *ai = NULL;
  char ext[32] = "0";
  if (strncmp(v, "urn:epc:id:sgln:", 16) == 0 || strncmp(v, "urn:epc:id:pgln:", 16) == 0) {
    ai = v[11] == 's' ? "414" : "417";
    const char *p = v + 16;
    const char *dot = strchr(p, '.');
    size_t cp = dot != NULL ? (size_t)(dot - p) : 0;
    const char *dot2 = dot != NULL ? strchr(dot + 1, '.') : NULL;
    size_t ref = dot == NULL ? 0 : (dot2 != NULL ? (size_t)(dot2 - dot - 1) : strlen(dot + 1));
    if (dot == NULL || cp + ref != 12 || (ai[2] == '4') != (dot2 != NULL)) {
      return ERR_BAD_REQUEST;
    }
    memcpy(gln, p, cp);
    memcpy(gln + cp, dot + 1, ref);
    int check = gs1_check_digit(gln, 12);
    if (check < 0) {
      return ERR_BAD_REQUEST;
    }
    gln[12] = (char)('0' + check);
    gln[13] = '\0';
    if (dot2 != NULL && (strlen(dot2 + 1) == 0 || strlen(dot2 + 1) >= sizeof(ext) ||
                         !gs1_text_ok(dot2 + 1, strlen(dot2 + 1)))) {
      return ERR_BAD_REQUEST;
    }
    if (dot2 != NULL) {
      snprintf(ext, sizeof(ext), "%s", dot2 + 1);
    }
  } else if (strncmp(v, "https://id.gs1.org/414/", 23) == 0 ||
             strncmp(v, "https://id.gs1.org/417/", 23) == 0) {
    ai = v[20] == '4' && v[21] == '1' && v[22] == '4' ? "414" : "417";
    if (strlen(v + 23) != GS1_GLN_LEN) {
      return ERR_BAD_REQUEST;
    }
    memcpy(gln, v + 23, GS1_GLN_LEN + 1);
  } else {
    return ERR_BAD_REQUEST;
  }
  if (gs1_gln_check(gln, GS1_GLN_LEN) != OK) {
    return ERR_GS1_CHECK_DIGIT;
  }
  if (strcmp(ext, "0") == 0) {
    snprintf(dl, dl_cap, "https://id.gs1.org/%s/%s", ai, gln);
  } else {
    snprintf(dl, dl_cap, "https://id.gs1.org/%s/%s/254/%s", ai, gln, ext);
  }
  return OK;
}

/* ---- parsing an event ----------------------------------------------------------- */

/* An event as medchain reads it. */
struct ev {
  const char *type;
  char step[40];
  const char *action;
  uint64_t time_ms;
  const char *tz;
  size_t nepcs;
  struct gs1_epc epcs[LIM_EPCIS_EPCS_MAX];
  bool has_parent;
  struct gs1_epc parent;
  char disp[40];
  char read_point[128];
  char biz_location[128];
  char biz_location_gln[GS1_GLN_LEN + 1];
  char source_gln[GS1_GLN_LEN + 1];
  char dest_gln[GS1_GLN_LEN + 1];
  const char *lot;
  const char *expiry; /* YYYY-MM-DD */
  struct hash32 rx;   /* bizTransaction of type "prescription": urn:medchain:rx:HEX */
  bool has_rx;
};

static const char *const known_keys[] = {
    "type",
    "isA",
    "eventTime",
    "eventTimeZoneOffset",
    "epcList",
    "parentID",
    "childEPCs",
    "action",
    "bizStep",
    "disposition",
    "readPoint",
    "bizLocation",
    "sourceList",
    "destinationList",
    "bizTransactionList",
    "ilmd",
    "recordTime",
    "eventID",
    "@context",
};

static const char *str_of(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int epc_list(const json_t *arr, struct ev *e) {
  if (arr == NULL) {
    return OK;
  }
  if (!json_is_array(arr)) {
    return ERR_BAD_REQUEST;
  }
  if (json_array_size(arr) + e->nepcs > LIM_EPCIS_EPCS_MAX) {
    return ERR_OVERSIZE;
  }
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const json_t *v = json_array_get(arr, i);
    if (!json_is_string(v)) {
      return ERR_BAD_REQUEST;
    }
    const char *s = json_string_value(v);
    if (gs1_epc_parse(&e->epcs[e->nepcs], s, strlen(s)) != OK) {
      return ERR_GS1_MALFORMED;
    }
    e->nepcs++;
  }
  return OK;
}

/* sourceList / destinationList: the first GLN-typed party or location. */
static int party_list(const json_t *arr, const char *field, char gln[GS1_GLN_LEN + 1]) {
  if (arr == NULL) {
    return OK;
  }
  if (!json_is_array(arr) || json_array_size(arr) > 4) {
    return ERR_BAD_REQUEST;
  }
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const json_t *it = json_array_get(arr, i);
    const char *v = str_of(it, field);
    const char *t = str_of(it, "type");
    char dl[GS1_URI_MAX];
    char g[GS1_GLN_LEN + 1];
    char bare[40];
    if (v == NULL || t == NULL || cbv_bare(bare, sizeof(bare), t, "sdt", "SDT") != OK) {
      return ERR_BAD_REQUEST;
    }
    int rc = gln_of(v, g, dl, sizeof(dl));
    if (rc != OK) {
      return rc;
    }
    if (gln[0] == '\0') {
      memcpy(gln, g, sizeof(g));
    }
  }
  return OK;
}

static int location(const json_t *o, char *dl, size_t cap, char *gln) {
  if (o == NULL) {
    return OK;
  }
  const char *id = json_is_string(o) ? json_string_value(o) : str_of(o, "id");
  if (id == NULL) {
    return ERR_BAD_REQUEST;
  }
  char g[GS1_GLN_LEN + 1];
  int rc = gln_of(id, g, dl, cap);
  if (rc == OK && gln != NULL) {
    memcpy(gln, g, sizeof(g));
  }
  return rc;
}

static int ilmd_read(const json_t *ilmd, struct ev *e) {
  if (ilmd == NULL) {
    return OK;
  }
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)ilmd, key, v) {
    if (!json_is_string(v)) {
      return ERR_BAD_REQUEST;
    }
    if (strcmp(key, "cbvmda:lotNumber") == 0 || strcmp(key, "lotNumber") == 0) {
      e->lot = json_string_value(v);
    } else if (strcmp(key, "cbvmda:itemExpirationDate") == 0 ||
               strcmp(key, "itemExpirationDate") == 0) {
      e->expiry = json_string_value(v);
    } else {
      return ERR_BAD_REQUEST;
    }
  }
  return OK;
}

static int biz_transactions(const json_t *arr, struct ev *e) {
  if (arr == NULL) {
    return OK;
  }
  if (!json_is_array(arr) || json_array_size(arr) > 4) {
    return ERR_BAD_REQUEST;
  }
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const json_t *it = json_array_get(arr, i);
    const char *v = str_of(it, "bizTransaction");
    const char *t = str_of(it, "type");
    if (v == NULL) {
      return ERR_BAD_REQUEST;
    }
    if (t != NULL && strcmp(t, "prescription") == 0 && strncmp(v, "urn:medchain:rx:", 16) == 0) {
      if (base_hex_decode(e->rx.b, 32, v + 16) != OK) {
        return ERR_BAD_REQUEST;
      }
      e->has_rx = true;
    }
  }
  return OK;
}

static int event_read(const json_t *o, struct ev *e) {
  memset(e, 0, sizeof(*e));
  if (!json_is_object(o)) {
    return ERR_BAD_REQUEST;
  }
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)o, key, v) {
    bool known = false;
    for (size_t i = 0; i < ARRAY_LEN(known_keys); i++) {
      known = known || strcmp(key, known_keys[i]) == 0;
    }
    if (!known) {
      return ERR_BAD_REQUEST;
    }
  }
  e->type = str_of(o, "type") != NULL ? str_of(o, "type") : str_of(o, "isA");
  e->action = str_of(o, "action");
  e->tz = str_of(o, "eventTimeZoneOffset");
  const char *t = str_of(o, "eventTime");
  const char *step = str_of(o, "bizStep");
  if (e->type == NULL || e->action == NULL || t == NULL || e->tz == NULL || step == NULL ||
      iso_time_ms(t, &e->time_ms) != OK ||
      cbv_bare(e->step, sizeof(e->step), step, "bizstep", "BizStep") != OK) {
    return ERR_BAD_REQUEST;
  }
  const char *disp = str_of(o, "disposition");
  if (disp != NULL && cbv_bare(e->disp, sizeof(e->disp), disp, "disp", "Disp") != OK) {
    return ERR_BAD_REQUEST;
  }
  const char *parent = str_of(o, "parentID");
  if (parent != NULL) {
    e->has_parent = true;
    if (gs1_epc_parse(&e->parent, parent, strlen(parent)) != OK) {
      return ERR_GS1_MALFORMED;
    }
  }
  int rc = epc_list(json_object_get(o, "epcList"), e);
  if (rc == OK) {
    rc = epc_list(json_object_get(o, "childEPCs"), e);
  }
  if (rc == OK) {
    rc = location(json_object_get(o, "readPoint"), e->read_point, sizeof(e->read_point), NULL);
  }
  if (rc == OK) {
    rc = location(json_object_get(o, "bizLocation"), e->biz_location, sizeof(e->biz_location),
                  e->biz_location_gln);
  }
  if (rc == OK) {
    rc = party_list(json_object_get(o, "sourceList"), "source", e->source_gln);
  }
  if (rc == OK) {
    rc = party_list(json_object_get(o, "destinationList"), "destination", e->dest_gln);
  }
  if (rc == OK) {
    rc = biz_transactions(json_object_get(o, "bizTransactionList"), e);
  }
  return rc == OK ? ilmd_read(json_object_get(o, "ilmd"), e) : rc;
}

/* ---- the pre-hash -------------------------------------------------------------- */

/* The Digital Link an EPC takes in the pre-hash. For an SSCC the
 * reference implementations (GS1's Python one and epcis2.js) keep the
 * extension digit twice: the URI's second part whole after the extension
 * and the company prefix, then a check digit over those 18 digits, 19 in
 * all. That is not the SSCC's Digital Link (gs1_epc_dl has the 18-digit
 * one), but a hash must come out the same wherever it is computed, so the
 * pre-hash follows them. Returns true on failure. */
static bool hash_dl(char *out, size_t cap, const struct gs1_epc *e, const char *uri) {
  if (e->kind != GS1_EPC_SSCC) {
    return gs1_epc_dl(out, cap, e) != OK;
  }
  const char *p = uri + 16;
  const char *dot = strchr(p, '.');
  char raw[GS1_SSCC_LEN + 2];
  if (dot == NULL || strlen(p) != GS1_SSCC_LEN) {
    return true;
  }
  size_t cp = (size_t)(dot - p);
  raw[0] = dot[1];
  memcpy(raw + 1, p, cp);
  memcpy(raw + 1 + cp, dot + 1, GS1_SSCC_LEN - 1 - cp);
  int check = gs1_check_digit(raw, GS1_SSCC_LEN);
  raw[GS1_SSCC_LEN] = (char)('0' + check);
  raw[GS1_SSCC_LEN + 1] = '\0';
  return check < 0 || snprintf(out, cap, "https://id.gs1.org/00/%s", raw) >= (int)cap;
}

/* "NAME" then the sorted "ITEM=VALUE" strings of an EPC array, as DLs. */
static int put_epcs(struct sb *b, const json_t *arr, const char *name) {
  if (arr == NULL || json_array_size(arr) == 0) {
    return OK;
  }
  size_t n = json_array_size(arr);
  if (n > LIM_EPCIS_EPCS_MAX) {
    return ERR_OVERSIZE;
  }
  char items[LIM_EPCIS_EPCS_MAX][GS1_URI_MAX + 8];
  const char *ptr[LIM_EPCIS_EPCS_MAX] = {NULL};
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    struct gs1_epc epc;
    char dl[GS1_URI_MAX];
    if (s == NULL || gs1_epc_parse(&epc, s, strlen(s)) != OK || hash_dl(dl, sizeof(dl), &epc, s)) {
      return ERR_BAD_REQUEST;
    }
    snprintf(items[i], sizeof(items[i]), "epc=%s", dl);
    ptr[i] = items[i];
  }
  qsort(ptr, n, sizeof(ptr[0]), cmp_str);
  sb_put(b, name);
  for (size_t i = 0; i < n; i++) {
    sb_put(b, ptr[i]);
  }
  return OK;
}

/* sourceList / destinationList / bizTransactionList: "NAMEfield=Vtype=T". */
static int put_pairs(struct sb *b, const json_t *arr, const char *name, const char *field,
                     const char *urn_kind, const char *web_kind) {
  if (arr == NULL || json_array_size(arr) == 0) {
    return OK;
  }
  size_t n = json_array_size(arr);
  if (n > 4) {
    return ERR_BAD_REQUEST;
  }
  char items[4][2 * GS1_URI_MAX];
  const char *ptr[4] = {NULL};
  for (size_t i = 0; i < n; i++) {
    const json_t *it = json_array_get(arr, i);
    const char *v = str_of(it, field);
    const char *t = str_of(it, "type");
    char val[GS1_URI_MAX];
    char g[GS1_GLN_LEN + 1];
    if (v == NULL) {
      return ERR_BAD_REQUEST;
    }
    if (strcmp(field, "bizTransaction") == 0 || gln_of(v, g, val, sizeof(val)) != OK) {
      snprintf(val, sizeof(val), "%s", v);
    }
    char type[96] = "";
    char bare[40];
    if (t != NULL && cbv_bare(bare, sizeof(bare), t, urn_kind, web_kind) == OK &&
        cbv_known(web_kind, bare)) {
      snprintf(type, sizeof(type), "type=" VOC "%s-%s", web_kind, bare);
    } else if (t != NULL) {
      snprintf(type, sizeof(type), "type=%s", t);
    }
    snprintf(items[i], sizeof(items[i]), "%s%s=%s", type, field, val);
    ptr[i] = items[i];
  }
  qsort(ptr, n, sizeof(ptr[0]), cmp_str);
  sb_put(b, name);
  for (size_t i = 0; i < n; i++) {
    sb_put(b, ptr[i]);
  }
  return OK;
}

static void put_kv(struct sb *b, const char *k, const char *v) {
  if (v != NULL && v[0] != '\0') {
    sb_put(b, k);
    sb_put(b, "=");
    sb_put(b, v);
  }
}

int api_epcis_prehash(const json_t *o, char *out, size_t cap, size_t *len) {
  struct ev e;
  int rc = event_read(o, &e);
  if (rc != OK) {
    return rc;
  }
  struct sb b = {out, cap, 0, false};
  out[0] = '\0';
  char t[32];
  time_canon(t, e.time_ms);
  put_kv(&b, "eventType", e.type);
  put_kv(&b, "eventTime", t);
  put_kv(&b, "eventTimeZoneOffset", e.tz);
  rc = put_epcs(&b, json_object_get(o, "epcList"), "epcList");
  if (rc == OK && e.has_parent) {
    char dl[GS1_URI_MAX];
    rc = hash_dl(dl, sizeof(dl), &e.parent, str_of(o, "parentID")) ? ERR_BAD_REQUEST : OK;
    put_kv(&b, "parentID", dl);
  }
  if (rc == OK) {
    rc = put_epcs(&b, json_object_get(o, "childEPCs"), "childEPCs");
  }
  put_kv(&b, "action", e.action);
  char voc[96];
  snprintf(voc, sizeof(voc), VOC "BizStep-%s", e.step);
  put_kv(&b, "bizStep", voc);
  if (e.disp[0] != '\0') {
    snprintf(voc, sizeof(voc), VOC "Disp-%s", e.disp);
    put_kv(&b, "disposition", voc);
  }
  if (e.read_point[0] != '\0') {
    sb_put(&b, "readPoint");
    put_kv(&b, "id", e.read_point);
  }
  if (e.biz_location[0] != '\0') {
    sb_put(&b, "bizLocation");
    put_kv(&b, "id", e.biz_location);
  }
  if (rc == OK) {
    rc = put_pairs(&b, json_object_get(o, "bizTransactionList"), "bizTransactionList",
                   "bizTransaction", "btt", "BTT");
  }
  if (rc == OK) {
    rc = put_pairs(&b, json_object_get(o, "sourceList"), "sourceList", "source", "sdt", "SDT");
  }
  if (rc == OK) {
    rc = put_pairs(&b, json_object_get(o, "destinationList"), "destinationList", "destination",
                   "sdt", "SDT");
  }
  if (e.lot != NULL || e.expiry != NULL) {
    /* User fields as the reference writes them: "{namespace}name", the
     * EPCIS 2.0 context mapping "cbvmda:" to urn:epcglobal:cbv:mda:. */
    sb_put(&b, "ilmd");
    put_kv(&b, "{urn:epcglobal:cbv:mda:}itemExpirationDate", e.expiry);
    put_kv(&b, "{urn:epcglobal:cbv:mda:}lotNumber", e.lot);
  }
  if (rc == OK && b.over) {
    rc = ERR_OVERSIZE;
  }
  *len = b.len;
  return rc;
}

void api_epcis_hash_uri(char out[API_EPCIS_HASH_URI_MAX], const struct hash32 *h) {
  char hex[65];
  base_hash_hex(hex, h);
  snprintf(out, API_EPCIS_HASH_URI_MAX, "ni:///sha-256;%s?ver=CBV2.0", hex);
}

int api_epcis_event_hash(const json_t *o, struct hash32 *out) {
  static _Thread_local char pre[API_EPCIS_PREHASH_MAX];
  size_t len = 0;
  int rc = api_epcis_prehash(o, pre, sizeof(pre), &len);
  if (rc == OK) {
    cry_sha256(out, (const uint8_t *)pre, len);
  }
  return rc;
}

/* ---- events as contract calls ---------------------------------------------------- */

static int epcs_join(char *out, size_t cap, const struct ev *e) {
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < e->nepcs; i++) {
    char uri[GS1_URI_MAX];
    if (gs1_epc_uri(uri, sizeof(uri), &e->epcs[i]) != OK) {
      return ERR_BAD_REQUEST;
    }
    int n = snprintf(out + o, cap - o, "%s%s", i == 0 ? "" : " ", uri);
    if (n < 0 || (size_t)n >= cap - o) {
      return ERR_OVERSIZE;
    }
    o += (size_t)n;
  }
  return e->nepcs == 0 ? ERR_BAD_REQUEST : OK;
}

static struct codec_value cv_id(const struct hash32 *h) {
  return (struct codec_value){.type = CODEC_ID, .id = *h};
}
static struct codec_value cv_str(const char *s, enum codec_type t) {
  return (struct codec_value){.type = t, .bytes = {(const uint8_t *)s, strlen(s)}};
}
static struct codec_value cv_u64(uint64_t v) {
  return (struct codec_value){.type = CODEC_U64, .u64 = v};
}

static bool is(const char *a, const char *b) {
  return a != NULL && strcmp(a, b) == 0;
}

/* "YYYY-MM-DD" to yyyymmdd. */
static int expiry_of(const char *s, uint64_t *out) {
  unsigned y, m, d;
  if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) ||
      !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d) ||
      !gs1_date_valid(y * 10000u + m * 100u + d)) {
    return ERR_BAD_REQUEST;
  }
  *out = y * 10000u + m * 100u + d;
  return OK;
}

/* Fills vals for the method the event stands for; *method is its name. */
static int event_vals(const struct ev *e, const struct hash32 *h, char *epcs, char *parent,
                      const char **contract, const char **method, struct codec_value *v,
                      size_t *n) {
  bool object = is(e->type, "ObjectEvent");
  bool aggregation = is(e->type, "AggregationEvent");
  *contract = "supply";
  *n = 0;
  if (object && is(e->action, "ADD") && is(e->step, "commissioning")) {
    uint64_t expiry = 0;
    if (e->lot == NULL || expiry_of(e->expiry, &expiry) != OK) {
      return ERR_BAD_REQUEST;
    }
    *method = "commission";
    v[(*n)++] = cv_id(h);
    v[(*n)++] = cv_str(epcs, CODEC_STR);
    v[(*n)++] = cv_str(e->lot, CODEC_STR);
    v[(*n)++] = cv_u64(expiry);
  } else if (aggregation && e->has_parent &&
             ((is(e->action, "ADD") && is(e->step, "packing")) ||
              (is(e->action, "DELETE") && is(e->step, "unpacking")))) {
    if (gs1_epc_uri(parent, GS1_URI_MAX, &e->parent) != OK) {
      return ERR_BAD_REQUEST;
    }
    *method = is(e->action, "ADD") ? "pack" : "unpack";
    v[(*n)++] = cv_id(h);
    v[(*n)++] = cv_str(parent, CODEC_STR);
    v[(*n)++] = cv_str(epcs, CODEC_STR);
  } else if (object && is(e->action, "OBSERVE") && is(e->step, "shipping")) {
    if (e->source_gln[0] == '\0' || e->dest_gln[0] == '\0') {
      return ERR_BAD_REQUEST;
    }
    *method = "ship";
    v[(*n)++] = cv_id(h);
    v[(*n)++] = cv_str(epcs, CODEC_STR);
    v[(*n)++] = cv_str(e->source_gln, CODEC_STR);
    v[(*n)++] = cv_str(e->dest_gln, CODEC_STR);
  } else if (object && is(e->action, "OBSERVE") && is(e->step, "receiving")) {
    const char *at = e->dest_gln[0] != '\0' ? e->dest_gln : e->biz_location_gln;
    if (at[0] == '\0') {
      return ERR_BAD_REQUEST;
    }
    *method = "receive";
    v[(*n)++] = cv_id(h);
    v[(*n)++] = cv_str(epcs, CODEC_STR);
    v[(*n)++] = cv_str(at, CODEC_STR);
  } else if (object && is(e->action, "DELETE") && is(e->step, "decommissioning")) {
    *method = "decommission";
    v[(*n)++] = cv_id(h);
    v[(*n)++] = cv_str(epcs, CODEC_STR);
  } else if (object && is(e->action, "OBSERVE") && is(e->step, "dispensing")) {
    *method = "dispense";
    if (e->has_rx) {
      *contract = "rx";
      v[(*n)++] = cv_id(&e->rx);
    }
    v[(*n)++] = cv_id(h);
    v[(*n)++] = cv_str(epcs, CODEC_STR);
  } else {
    return ERR_BAD_REQUEST;
  }
  v[(*n)++] = cv_u64(e->time_ms);
  return OK;
}

int api_epcis_event_call(const json_t *o, struct api_epcis_call *out) {
  memset(out, 0, sizeof(*out));
  static _Thread_local struct ev e;
  int rc = event_read(o, &e);
  if (rc == OK) {
    rc = api_epcis_event_hash(o, &out->hash);
  }
  char epcs[LIM_EPCIS_EPCS_BYTES + 1];
  char parent[GS1_URI_MAX];
  if (rc == OK) {
    rc = epcs_join(epcs, sizeof(epcs), &e);
  }
  struct codec_value v[LIM_FIELDS_MAX];
  size_t n = 0;
  const char *contract = NULL;
  const char *method = NULL;
  if (rc == OK) {
    rc = event_vals(&e, &out->hash, epcs, parent, &contract, &method, v, &n);
  }
  if (rc != OK) {
    return rc;
  }
  const struct ctr_method *m =
      ctr_method_find((struct bytes){(const uint8_t *)contract, strlen(contract)},
                      (struct bytes){(const uint8_t *)method, strlen(method)});
  assert(m != NULL && m->args->nfields == n);
  snprintf(out->contract, sizeof(out->contract), "%s", contract);
  snprintf(out->method, sizeof(out->method), "%s", method);
  rc = codec_record_encode(m->args, v, out->args, sizeof(out->args), &out->args_len);
  return rc == OK ? OK : ERR_BAD_REQUEST;
}

/* ---- POST /v1/epcis/capture ------------------------------------------------------ */

/* The signer's organization, when the signer may act for it. */
static int capture_org(struct api_ctx *c, struct hash32 *org) {
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct hash32 reader;
  rc = api_auth_reader(c, st, &reader);
  struct bytes val;
  if (rc == OK) {
    rc = ctr_get(st, CTR_IDENTITY, &reader, &val);
  }
  if (rc == OK) {
    const struct codec_schema *s = ctr_kind_schema(CTR_IDENTITY);
    struct codec_value vals[LIM_FIELDS_MAX];
    rc = codec_record_decode(s, vals, val.ptr, val.len) == OK ? OK : ERR_CORRUPT;
    int ik = codec_schema_find(s, "kind");
    int io = codec_schema_find(s, "org");
    assert(ik >= 0 && io >= 0);
    struct bytes kind = vals[ik].bytes;
    bool actor = (kind.len == 5 && memcmp(kind.ptr, "admin", 5) == 0) ||
                 (kind.len == 12 && memcmp(kind.ptr, "practitioner", 12) == 0);
    if (rc == OK && !actor) {
      rc = ERR_UNAUTHORIZED;
    }
    *org = vals[io].id;
  }
  node_view_end(v);
  return rc;
}

static int capture_events(const json_t *doc, const json_t **list) {
  const char *type = str_of(doc, "type") != NULL ? str_of(doc, "type") : str_of(doc, "isA");
  const json_t *body = json_object_get(doc, "epcisBody");
  *list = body != NULL ? json_object_get(body, "eventList") : NULL;
  if (!is(type, "EPCISDocument") || !json_is_array(*list) || json_array_size(*list) == 0) {
    return ERR_BAD_REQUEST;
  }
  return json_array_size(*list) > LIM_EPCIS_EVENTS_MAX ? ERR_OVERSIZE : OK;
}

static json_t *result_json(const struct api_epcis_call *call, const struct hash32 *tx, int code,
                           const struct node_tx_status *st) {
  char uri[API_EPCIS_HASH_URI_MAX];
  api_epcis_hash_uri(uri, &call->hash);
  json_t *j = json_object();
  if (j == NULL) {
    return NULL;
  }
  json_object_set_new(j, "event_hash", json_string(uri));
  json_object_set_new(j, "call", json_sprintf("%s.%s", call->contract, call->method));
  json_object_set_new(j, "tx", tx != NULL ? api_json_hex(tx->b, 32) : json_null());
  json_object_set_new(j, "height", st != NULL ? api_json_u64(st->loc.height) : json_null());
  json_object_set_new(j, "result", json_string(api_result_name(code)));
  return j;
}

/* Submits one call with the organization's operator key. The operator's
 * next nonce is counted from the committed state and the mempool; while a
 * block commits, the count can be momentarily off (DUPLICATE_TX,
 * NONCE_GAP, REPLAY after node_operator_submit's own retry), so this
 * retries for up to a second before it gives up. */
static int operator_submit(struct node *n, const struct hash32 *org, const struct api_epcis_call *k,
                           struct hash32 *tx) {
  int rc = OK;
  for (int attempt = 0; attempt < 50; attempt++) {
    rc = node_operator_submit(n, org,
                              (struct bytes){(const uint8_t *)k->contract, strlen(k->contract)},
                              (struct bytes){(const uint8_t *)k->method, strlen(k->method)},
                              (struct bytes){k->args, k->args_len}, tx);
    if (rc != ERR_DUPLICATE_TX && rc != ERR_NONCE_GAP && rc != ERR_REPLAY) {
      break;
    }
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return rc;
}

/* Submits the calls in order, then waits for each; results into arr. The
 * first refusal (at the door, or in its block) is the answer's code. */
static int capture_submit(struct api_ctx *c, const struct hash32 *org,
                          const struct api_epcis_call *calls, size_t n, json_t *arr) {
  struct hash32 *txs = calloc(n, sizeof(*txs));
  if (txs == NULL) {
    return ERR_NOMEM;
  }
  int first = OK;
  size_t sent = 0;
  for (; sent < n && first == OK; sent++) {
    const struct api_epcis_call *k = &calls[sent];
    first = operator_submit(c->node, org, k, &txs[sent]);
    if (first != OK) {
      json_array_append_new(arr, result_json(k, NULL, first, NULL));
    }
  }
  size_t waited = first == OK ? sent : sent - 1;
  json_t *done = json_array();
  for (size_t i = 0; i < waited && done != NULL; i++) {
    struct node_tx_status st = {0};
    int rc = node_tx_wait(c->node, &txs[i], 30000, &st);
    int code = rc != OK ? rc : (st.state == NODE_TX_COMMITTED ? st.loc.code : ERR_TIMEOUT);
    first = first == OK ? code : first;
    json_array_append_new(done, result_json(&calls[i], &txs[i], code, &st));
  }
  if (done != NULL) {
    json_array_extend(done, arr); /* the refused one, if any, after those that went in */
    json_array_clear(arr);
    json_array_extend(arr, done);
    json_decref(done);
  }
  free(txs);
  return first;
}

int api_h_epcis_capture(struct api_ctx *c) {
  json_t *doc = NULL;
  int rc = api_json_parse_body(&doc, c->req->body, c->req->body_len);
  if (rc != OK) {
    return rc;
  }
  const json_t *list = NULL;
  rc = capture_events(doc, &list);
  size_t n = rc == OK ? json_array_size(list) : 0;
  struct api_epcis_call *calls = n > 0 ? calloc(n, sizeof(*calls)) : NULL;
  if (rc == OK && calls == NULL) {
    rc = ERR_NOMEM;
  }
  for (size_t i = 0; rc == OK && i < n; i++) {
    rc = api_epcis_event_call(json_array_get(list, i), &calls[i]);
    if (rc != OK) {
      c->json = json_pack("{s:I}", "event_index", (json_int_t)i);
      c->message = "an event is not a supported EPCIS 2.0 event (ObjectEvent commissioning, "
                   "shipping, receiving, decommissioning, dispensing; AggregationEvent packing, "
                   "unpacking; EPC URIs, at most 20 EPCs)";
    }
  }
  struct hash32 org;
  if (rc == OK) {
    rc = capture_org(c, &org);
  }
  json_t *arr = rc == OK ? json_array() : NULL;
  if (rc == OK && arr == NULL) {
    rc = ERR_NOMEM;
  }
  if (rc == OK) {
    rc = capture_submit(c, &org, calls, n, arr);
    c->json = json_pack("{s:o}", "events", arr);
  }
  free(calls);
  json_decref(doc);
  return rc;
}
