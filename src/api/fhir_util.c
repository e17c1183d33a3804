/*
 * fhir_util — the small pieces every FHIR resource is made of: instants,
 * references, codings, the purpose vocabulary, base64, decoded entities,
 * and OperationOutcome.
 *
 * Purposes on chain are our labels ("treatment"); FHIR speaks
 * v3-ActReason ("TREAT"). A resource carries both codings where a v3 code
 * fits, and a create accepts either. Emergency access is v3's ETREAT for
 * the purpose, and BTG ("break the glass") marks the access itself.
 *
 * Errors keep our stable code: OperationOutcome.issue.details.coding holds
 * it under FHIR_CS_ERROR and issue.diagnostics reads "CODE: message", so a
 * FHIR client and a /v1 client see the same verdict; issue.code is FHIR's
 * nearest IssueType and the HTTP status is ERR_TABLE's.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- entities ----------------------------------------------------------------------- */

int fhir_ent_decode(struct fhir_ent *e, enum ctr_kind kind, struct bytes val) {
  e->kind = kind;
  e->schema = ctr_kind_schema(kind);
  assert(e->schema != NULL && e->schema->nfields <= LIM_FIELDS_MAX);
  /* The contracts wrote it under this schema: anything else is a damaged store. */
  return codec_record_decode(e->schema, e->vals, val.ptr, val.len) == OK ? OK : ERR_CORRUPT;
}

static const struct codec_value *ent_field(const struct fhir_ent *e, const char *name,
                                           enum codec_type type) {
  int i = codec_schema_find(e->schema, name);
  assert(i >= 0 && e->vals[i].type == type);
  return &e->vals[i];
}

const struct hash32 *fhir_ent_id(const struct fhir_ent *e, const char *name) {
  int i = codec_schema_find(e->schema, name);
  assert(i >= 0 && (e->vals[i].type == CODEC_ID || e->vals[i].type == CODEC_PUBKEY));
  return &e->vals[i].id;
}

uint64_t fhir_ent_u64(const struct fhir_ent *e, const char *name) {
  return ent_field(e, name, CODEC_U64)->u64;
}

bool fhir_ent_bool(const struct fhir_ent *e, const char *name) {
  return ent_field(e, name, CODEC_BOOL)->u64 != 0;
}

json_t *fhir_ent_str_json(const struct fhir_ent *e, const char *name) {
  struct bytes s = ent_field(e, name, CODEC_STR)->bytes;
  /* The codec admitted only printable ASCII. */
  return s.len == 0 ? json_string("") : json_stringn_nocheck((const char *)s.ptr, s.len);
}

bool fhir_ent_str_is(const struct fhir_ent *e, const char *name, const char *z) {
  struct bytes s = ent_field(e, name, CODEC_STR)->bytes;
  return s.len == strlen(z) && (s.len == 0 || memcmp(s.ptr, z, s.len) == 0);
}

void fhir_ent_str(const struct fhir_ent *e, const char *name, char *out, size_t cap) {
  assert(cap > 0);
  struct bytes s = ent_field(e, name, CODEC_STR)->bytes;
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  if (n > 0) {
    memcpy(out, s.ptr, n);
  }
  out[n] = '\0';
}

/* ---- instants ------------------------------------------------------------------------ */

void fhir_instant(char out[32], uint64_t ms) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  if (gmtime_r(&secs, &tm) == NULL) {
    memset(&tm, 0, sizeof(tm));
  }
  int n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
                   tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
  assert(n > 0 && n < 32);
}

json_t *fhir_instant_json(uint64_t ms) {
  char buf[32];
  fhir_instant(buf, ms);
  return json_string(buf);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so parsing needs neither timegm nor the TZ. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* n decimal digits at s into *v. */
static bool digits(const char *s, size_t n, int64_t *v) {
  *v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

/* "Z", or "+hh:mm" / "-hh:mm" as minutes east of UTC. */
static bool zone(const char *s, int64_t *minutes) {
  int64_t h = 0;
  int64_t m = 0;
  if (strcmp(s, "Z") == 0) {
    *minutes = 0;
    return true;
  }
  if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' || !digits(s + 1, 2, &h) ||
      !digits(s + 4, 2, &m) || h > 14 || m > 59) {
    return false;
  }
  *minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
  return true;
}

int fhir_parse_instant(uint64_t *ms, const char *s) {
  int64_t y, mo, d, h, mi, se;
  if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
      !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se)) {
    return ERR_BAD_REQUEST;
  }
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) {
    return ERR_BAD_REQUEST;
  }
  const char *p = s + 19;
  int64_t frac = 0;
  if (*p == '.') {
    size_t n = strspn(p + 1, "0123456789");
    if (n < 1 || n > 3 || !digits(p + 1, n, &frac)) {
      return ERR_BAD_REQUEST; /* finer than our milliseconds would be rounded: refuse */
    }
    for (size_t i = n; i < 3; i++) {
      frac *= 10;
    }
    p += 1 + n;
  }
  int64_t off = 0;
  if (!zone(p, &off)) {
    return ERR_BAD_REQUEST;
  }
  int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off * 60;
  if (secs < 0) {
    return ERR_BAD_REQUEST;
  }
  *ms = (uint64_t)secs * 1000 + (uint64_t)frac;
  return OK;
}

/* ---- references and codes ------------------------------------------------------------- */

json_t *fhir_ref(const char *type, const struct hash32 *id) {
  char hex[65];
  char buf[FHIR_TYPE_MAX + 66];
  base_hash_hex(hex, id);
  int n = snprintf(buf, sizeof(buf), "%s/%s", type, hex);
  assert(n > 0 && (size_t)n < sizeof(buf));
  return json_pack("{s:s}", "reference", buf);
}

json_t *fhir_ref_party(struct state *st, const struct hash32 *id) {
  struct bytes val = {NULL, 0};
  struct fhir_ent e;
  if (ctr_get(st, CTR_IDENTITY, id, &val) == OK && fhir_ent_decode(&e, CTR_IDENTITY, val) == OK) {
    if (fhir_ent_str_is(&e, "kind", CTR_ROLE_PATIENT)) {
      return fhir_ref("Patient", id);
    }
    if (fhir_ent_str_is(&e, "kind", CTR_ROLE_PRACTITIONER)) {
      return fhir_ref("Practitioner", id);
    }
    /* An admin or an auditor: no resource of its own here. */
    return json_pack("{s:{s:s, s:o}, s:o}", "identifier", "system", FHIR_SID_IDENTITY, "value",
                     api_json_hex(id->b, 32), "display", fhir_ent_str_json(&e, "kind"));
  }
  if (ctr_get(st, CTR_ORG, id, &val) == OK) {
    return fhir_ref("Organization", id);
  }
  return json_pack("{s:{s:s, s:o}}", "identifier", "system", FHIR_SID_IDENTITY, "value",
                   api_json_hex(id->b, 32));
}

json_t *fhir_coding(const char *system, const char *code, const char *display) {
  json_t *c = json_pack("{s:s, s:s}", "system", system, "code", code);
  if (c != NULL && display != NULL &&
      json_object_set_new(c, "display", json_string(display)) != 0) {
    json_decref(c);
    c = NULL;
  }
  return c;
}

json_t *fhir_concept(const char *system, const char *code, const char *display) {
  return json_pack("{s:[o]}", "coding", fhir_coding(system, code, display));
}

static const struct {
  const char *ours;
  const char *v3;
} purposes[] = {
    {"treatment", "TREAT"},           {"emergency", "ETREAT"},
    {"research", "HRESCH"},           {"payment", "HPAYMT"},
    {"operations", "HOPERAT"},        {"public-health", "PUBHLTH"},
    {"care-coordination", "CAREMGT"},
};

const char *fhir_purpose_v3(const char *purpose) {
  for (size_t i = 0; i < ARRAY_LEN(purposes); i++) {
    if (strcmp(purposes[i].ours, purpose) == 0) {
      return purposes[i].v3;
    }
  }
  return NULL;
}

const char *fhir_purpose_from_v3(const char *code) {
  for (size_t i = 0; i < ARRAY_LEN(purposes); i++) {
    if (strcmp(purposes[i].v3, code) == 0) {
      return purposes[i].ours;
    }
  }
  return NULL;
}

int fhir_ref_parse(const char *ref, struct hash32 *id, char type_out[FHIR_TYPE_MAX + 1]) {
  const char *slash = strrchr(ref, '/');
  const char *hex = slash == NULL ? ref : slash + 1;
  if (type_out != NULL) {
    type_out[0] = '\0';
  }
  if (slash != NULL) {
    const char *start = slash;
    while (start > ref && start[-1] != '/') {
      start--;
    }
    size_t n = (size_t)(slash - start);
    if (n == 0 || n > FHIR_TYPE_MAX) {
      return ERR_BAD_REQUEST;
    }
    if (type_out != NULL) {
      memcpy(type_out, start, n);
      type_out[n] = '\0';
    }
  }
  return base_hex_decode(id->b, sizeof(id->b), hex) == OK ? OK : ERR_BAD_REQUEST;
}

/* ---- base64 ----------------------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char ch) {
  const char *p = ch == '\0' ? NULL : strchr(b64, ch);
  return p == NULL ? -1 : (int)(p - b64);
}

/* One quantum of four characters (the last may end in '=' padding). */
static int b64_quantum(const char *q, bool last, uint8_t out[3], size_t *n) {
  int v[4];
  size_t pad = 0;
  for (size_t i = 0; i < 4; i++) {
    v[i] = b64_value(q[i]);
    if (v[i] < 0 && last && q[i] == '=' && i >= 2 && (i == 3 || q[3] == '=')) {
      v[i] = 0;
      pad++;
    } else if (v[i] < 0) {
      return ERR_BAD_REQUEST;
    }
  }
  uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
  /* Canonical: the bits under the padding are zero. */
  if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0)) {
    return ERR_BAD_REQUEST;
  }
  out[0] = (uint8_t)(w >> 16);
  out[1] = (uint8_t)(w >> 8);
  out[2] = (uint8_t)w;
  *n = 3 - pad;
  return OK;
}

int fhir_base64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s) {
  size_t len = strlen(s);
  *out_len = 0;
  if (len == 0 || len % 4 != 0) {
    return ERR_BAD_REQUEST;
  }
  for (size_t i = 0; i < len; i += 4) {
    uint8_t q[3];
    size_t n = 0;
    if (b64_quantum(s + i, i + 4 == len, q, &n) != OK) {
      return ERR_BAD_REQUEST;
    }
    if (*out_len + n > cap) {
      return ERR_OVERSIZE;
    }
    memcpy(out + *out_len, q, n);
    *out_len += n;
  }
  return OK;
}

json_t *fhir_base64_json(const uint8_t *p, size_t len) {
  char buf[4 * ((64 + 2) / 3) + 1];
  assert(len <= 64);
  size_t w = 0;
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    v |= i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0;
    v |= i + 2 < len ? p[i + 2] : 0;
    buf[w++] = b64[v >> 18 & 63];
    buf[w++] = b64[v >> 12 & 63];
    buf[w++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
    buf[w++] = i + 2 < len ? b64[v & 63] : '=';
  }
  buf[w] = '\0';
  return json_string(buf);
}

/* ---- OperationOutcome ------------------------------------------------------------------- */

static const struct {
  int err;
  const char *code;
} issue_codes[] = {
    {ERR_NOT_FOUND, "not-found"},
    {ERR_UNKNOWN_IDENTITY, "not-found"},
    {ERR_UNKNOWN_ORG, "not-found"},
    {ERR_UNKNOWN_PATIENT, "not-found"},
    {ERR_UNKNOWN_RECORD, "not-found"},
    {ERR_UNKNOWN_CONSENT, "not-found"},
    {ERR_UNKNOWN_PROPOSAL, "not-found"},
    {ERR_ROUTE, "not-supported"},
    {ERR_METHOD, "not-supported"},
    {ERR_RECORD_ERASED, "deleted"},
    {ERR_AUTH_REQUIRED, "login"},
    {ERR_BAD_SIGNATURE, "security"},
    {ERR_REQUEST_EXPIRED, "security"},
    {ERR_REQUEST_REPLAYED, "security"},
    {ERR_UNKNOWN_SENDER, "security"},
    {ERR_KEY_MISMATCH, "security"},
    {ERR_UNAUTHORIZED, "forbidden"},
    {ERR_SUSPENDED, "forbidden"},
    {ERR_NOT_MEMBER, "forbidden"},
    {ERR_CONSENT_REQUIRED, "forbidden"},
    {ERR_CONSENT_EXPIRED, "forbidden"},
    {ERR_CONSENT_REVOKED, "forbidden"},
    {ERR_BAD_REQUEST, "invalid"},
    {ERR_INVALID_JSON, "structure"},
    {ERR_MALFORMED, "invalid"},
    {ERR_NONCANONICAL, "invalid"},
    {ERR_TRAILING, "invalid"},
    {ERR_WRONG_CHAIN, "invalid"},
    {ERR_BAD_ARGS, "invalid"},
    {ERR_EXPIRY_PAST, "invalid"},
    {ERR_UNKNOWN_CONTRACT, "invalid"},
    {ERR_UNKNOWN_METHOD, "invalid"},
    {ERR_OVERSIZE, "too-costly"},
    {ERR_EXISTS, "duplicate"},
    {ERR_DUPLICATE_TX, "duplicate"},
    {ERR_REPLAY, "conflict"},
    {ERR_NONCE_GAP, "conflict"},
    {ERR_LIMIT, "business-rule"},
    {ERR_ALREADY_VOTED, "business-rule"},
    {ERR_PROPOSAL_CLOSED, "business-rule"},
    {ERR_MEMPOOL_FULL, "transient"},
    {ERR_UNAVAILABLE, "transient"},
    {ERR_TIMEOUT, "timeout"},
    {ERR_NOMEM, "exception"},
    {ERR_IO, "exception"},
    {ERR_CORRUPT, "exception"},
    {ERR_INTERNAL, "exception"},
};

const char *fhir_issue_code(int err) {
  for (size_t i = 0; i < ARRAY_LEN(issue_codes); i++) {
    if (issue_codes[i].err == err) {
      return issue_codes[i].code;
    }
  }
  return "processing";
}

/* "transaction HASH: STATUS[ at height H]" when extra names a transaction. */
static json_t *tx_issue(const json_t *extra) {
  const char *hash = json_string_value(json_object_get(extra, "hash"));
  const char *status = json_string_value(json_object_get(extra, "status"));
  if (hash == NULL || status == NULL) {
    return NULL;
  }
  char buf[160];
  json_t *h = json_object_get(extra, "height");
  if (json_is_integer(h)) {
    (void)snprintf(buf, sizeof(buf), "transaction %.64s %.16s at height %lld", hash, status,
                   (long long)json_integer_value(h));
  } else {
    (void)snprintf(buf, sizeof(buf), "transaction %.64s %.16s", hash, status);
  }
  return json_pack("{s:s, s:s, s:s}", "severity", "information", "code", "informational",
                   "diagnostics", buf);
}

json_t *fhir_outcome(int err, const char *message, const json_t *extra) {
  const char *msg = message != NULL ? message : err_str(err);
  char diag[320];
  (void)snprintf(diag, sizeof(diag), "%s: %s", err_name(err), msg);
  json_t *issue = json_pack("{s:s, s:s, s:s, s:{s:[{s:s, s:s}], s:s}}", "severity", "error", "code",
                            fhir_issue_code(err), "diagnostics", diag, "details", "coding",
                            "system", FHIR_CS_ERROR, "code", err_name(err), "text", msg);
  json_t *o = json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome", "issue", issue);
  json_t *more = extra == NULL || o == NULL ? NULL : tx_issue(extra);
  if (more != NULL && json_array_append_new(json_object_get(o, "issue"), more) != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}
