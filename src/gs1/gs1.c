/*
 * gs1 — check digits, dates, element strings, EPC URIs and Digital Link
 * URIs (see gs1.h for the standards each follows).
 *
 * Every parser works on a (pointer, length) view and never reads past it;
 * every writer takes its capacity and returns ERR_OVERSIZE rather than
 * truncate. Nothing recurses, nothing allocates. A value that does not
 * survive a check is refused whole: no field of a half-parsed scan is
 * ever used (the output struct is cleared on every failure).
 */
#include "gs1/gs1.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define GS 0x1d

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static bool all_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) {
      return false;
    }
  }
  return true;
}

int gs1_check_digit(const char *body, size_t n) {
  if (n == 0 || !all_digits(body, n)) {
    return -1;
  }
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    /* The digit next to the check digit weighs 3, then 1, 3, ... */
    unsigned w = ((n - i) % 2 == 1) ? 3 : 1;
    sum += w * (unsigned)(body[i] - '0');
  }
  return (int)((10 - sum % 10) % 10);
}

bool gs1_key_valid(const char *key, size_t n) {
  if (n < 2 || !all_digits(key, n)) {
    return false;
  }
  return gs1_check_digit(key, n - 1) == key[n - 1] - '0';
}

static int key_check(const char *s, size_t n, size_t want) {
  if (n != want || !all_digits(s, n)) {
    return ERR_GS1_MALFORMED;
  }
  return gs1_key_valid(s, n) ? OK : ERR_GS1_CHECK_DIGIT;
}

int gs1_gtin_normalize(char out[GS1_GTIN_LEN + 1], const char *s, size_t n) {
  memset(out, 0, GS1_GTIN_LEN + 1);
  if ((n != 8 && n != 12 && n != 13 && n != 14) || !all_digits(s, n)) {
    return ERR_GS1_MALFORMED;
  }
  if (!gs1_key_valid(s, n)) {
    return ERR_GS1_CHECK_DIGIT;
  }
  memset(out, '0', GS1_GTIN_LEN - n);
  memcpy(out + (GS1_GTIN_LEN - n), s, n);
  assert(gs1_key_valid(out, GS1_GTIN_LEN));
  return OK;
}

int gs1_gln_check(const char *s, size_t n) {
  return key_check(s, n, GS1_GLN_LEN);
}

/* The GS1 AI encodable character set 82 (General Specifications 7.11). */
static bool set82(char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c)) {
    return true;
  }
  return c != '\0' && strchr("!\"%&'()*+,-./:;<=>?_", c) != NULL;
}

bool gs1_text_ok(const char *s, size_t n) {
  if (n == 0 || n > GS1_SERIAL_MAX) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (!set82(s[i])) {
      return false;
    }
  }
  return true;
}

/* ---- dates ------------------------------------------------------------------ */

static unsigned month_days(unsigned year, unsigned month) {
  static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  assert(month >= 1 && month <= 12);
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return days[month - 1] + (month == 2 && leap ? 1 : 0);
}

bool gs1_date_valid(uint32_t d) {
  unsigned y = d / 10000;
  unsigned m = (d / 100) % 100;
  unsigned day = d % 100;
  if (y < 2000 || y > 2099 || m < 1 || m > 12) {
    return false;
  }
  return day >= 1 && day <= month_days(y, m);
}

int gs1_date_parse(uint32_t *yyyymmdd, const char *s, size_t n) {
  *yyyymmdd = 0;
  if (n != 6 || !all_digits(s, n)) {
    return ERR_GS1_MALFORMED;
  }
  unsigned y = 2000 + (unsigned)((s[0] - '0') * 10 + (s[1] - '0'));
  unsigned m = (unsigned)((s[2] - '0') * 10 + (s[3] - '0'));
  unsigned d = (unsigned)((s[4] - '0') * 10 + (s[5] - '0'));
  if (m < 1 || m > 12) {
    return ERR_GS1_MALFORMED;
  }
  if (d == 0) {
    d = month_days(y, m); /* day 00: the end of the month */
  }
  uint32_t v = y * 10000 + m * 100 + d;
  if (!gs1_date_valid(v)) {
    return ERR_GS1_MALFORMED;
  }
  *yyyymmdd = v;
  return OK;
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days, in
 * unsigned arithmetic since Unix times here are never negative). */
uint32_t gs1_date_of_ms(uint64_t unix_ms) {
  uint64_t z = unix_ms / 86400000u + 719468u;
  uint64_t era = z / 146097u;
  uint64_t doe = z - era * 146097u;
  uint64_t yoe = (doe - doe / 1460u + doe / 36524u - doe / 146096u) / 365u;
  uint64_t y = yoe + era * 400u;
  uint64_t doy = doe - (365u * yoe + yoe / 4u - yoe / 100u);
  uint64_t mp = (5u * doy + 2u) / 153u;
  uint64_t d = doy - (153u * mp + 2u) / 5u + 1u;
  uint64_t m = mp < 10u ? mp + 3u : mp - 9u;
  y += m <= 2u ? 1u : 0u;
  if (y > 400000u) {
    return 0; /* far beyond any date a rule compares with */
  }
  return (uint32_t)(y * 10000u + m * 100u + d);
}

/* ---- element strings ------------------------------------------------------- */

/* Stores one AI's value into e. Returns OK, ERR_GS1_MALFORMED (unknown AI,
 * bad value, repeated AI) or ERR_GS1_CHECK_DIGIT. */
static int element_set(struct gs1_element *e, const char *ai, const char *v, size_t n) {
  int rc = OK;
  if (strcmp(ai, "01") == 0) {
    if (e->gtin[0] != '\0') {
      return ERR_GS1_MALFORMED;
    }
    return n == GS1_GTIN_LEN ? gs1_gtin_normalize(e->gtin, v, n) : ERR_GS1_MALFORMED;
  }
  if (strcmp(ai, "00") == 0) {
    if (e->sscc[0] != '\0') {
      return ERR_GS1_MALFORMED;
    }
    rc = key_check(v, n, GS1_SSCC_LEN);
    if (rc == OK) {
      memcpy(e->sscc, v, n);
    }
    return rc;
  }
  if (strcmp(ai, "17") == 0) {
    if (e->expiry != 0) {
      return ERR_GS1_MALFORMED;
    }
    rc = gs1_date_parse(&e->expiry, v, n);
    if (rc == OK) {
      memcpy(e->expiry_raw, v, n);
    }
    return rc;
  }
  char *dst = NULL;
  if (strcmp(ai, "10") == 0) {
    dst = e->lot;
  } else if (strcmp(ai, "21") == 0) {
    dst = e->serial;
  } else {
    return ERR_GS1_MALFORMED;
  }
  if (dst[0] != '\0' || !gs1_text_ok(v, n)) {
    return ERR_GS1_MALFORMED;
  }
  memcpy(dst, v, n);
  return OK;
}

/* Length of a fixed-length AI's value, or 0 for a variable-length one. */
static size_t ai_fixed_len(const char *ai) {
  if (strcmp(ai, "00") == 0) {
    return GS1_SSCC_LEN;
  }
  if (strcmp(ai, "01") == 0) {
    return GS1_GTIN_LEN;
  }
  return strcmp(ai, "17") == 0 ? 6 : 0;
}

/* Raw element string: AI, value, GS after variable-length values. */
static int parse_raw(struct gs1_element *e, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (s[i] == GS) {
      i++; /* FNC1 in first position, or after a fixed-length field */
      continue;
    }
    if (n - i < 2 || !all_digits(s + i, 2)) {
      return ERR_GS1_MALFORMED;
    }
    char ai[3] = {s[i], s[i + 1], '\0'};
    i += 2;
    size_t len = ai_fixed_len(ai);
    if (len == 0) {
      while (i + len < n && s[i + len] != GS) {
        len++;
      }
    } else if (n - i < len) {
      return ERR_GS1_MALFORMED;
    }
    int rc = element_set(e, ai, s + i, len);
    if (rc != OK) {
      return rc;
    }
    i += len;
  }
  return OK;
}

/* Human-readable "(AI)value(AI)value": a value runs to the next '('. */
static int parse_hri(struct gs1_element *e, const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (n - i < 4 || s[i] != '(' || !all_digits(s + i + 1, 2) || s[i + 3] != ')') {
      return ERR_GS1_MALFORMED;
    }
    char ai[3] = {s[i + 1], s[i + 2], '\0'};
    i += 4;
    size_t len = 0;
    while (i + len < n && s[i + len] != '(') {
      len++;
    }
    int rc = element_set(e, ai, s + i, len);
    if (rc != OK) {
      return rc;
    }
    i += len;
  }
  return OK;
}

static int hexval(char c) {
  if (is_digit(c)) {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into out (cap bytes). Returns the length, or -1
 * on a bad escape or overflow. */
static long pct_decode(char *out, size_t cap, const char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (n - i < 3 || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
        return -1;
      }
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    }
    if (o >= cap) {
      return -1;
    }
    out[o++] = c;
  }
  return (long)o;
}

/* One Digital Link "AI=value" or "/AI/value" pair, value percent-encoded. */
static int dl_pair(struct gs1_element *e, const char *ai, size_t ai_len, const char *v, size_t n) {
  if (ai_len != 2 || !all_digits(ai, 2)) {
    return ERR_GS1_MALFORMED;
  }
  char aiz[3] = {ai[0], ai[1], '\0'};
  char buf[GS1_SSCC_LEN + 8];
  long len = pct_decode(buf, sizeof(buf), v, n);
  if (len < 0) {
    return ERR_GS1_MALFORMED;
  }
  return element_set(e, aiz, buf, (size_t)len);
}

/* https://host[/prefix...]/01/{gtin}[/10/{lot}][/21/{serial}][?17=...&...] */
static int parse_dl(struct gs1_element *e, const char *s, size_t n) {
  const char *p = memchr(s, ':', n);
  assert(p != NULL);
  size_t i = (size_t)(p - s) + 3;               /* past "://" */
  while (i < n && s[i] != '/' && s[i] != '?') { /* the host */
    i++;
  }
  size_t end = i;
  while (end < n && s[end] != '?') {
    end++;
  }
  /* Path segments: the key starts at the first "/01/" or "/00/". */
  bool in_key = false;
  while (i < end) {
    size_t a = i + 1;
    size_t b = a;
    while (b < end && s[b] != '/') {
      b++;
    }
    if (!in_key &&
        !((b - a == 2) && (memcmp(s + a, "01", 2) == 0 || memcmp(s + a, "00", 2) == 0))) {
      i = b; /* a path prefix before the key */
      continue;
    }
    in_key = true;
    size_t c = b + 1;
    size_t d = c;
    while (d < end && s[d] != '/') {
      d++;
    }
    if (b >= end || d == c) {
      return ERR_GS1_MALFORMED;
    }
    int rc = dl_pair(e, s + a, b - a, s + c, d - c);
    if (rc != OK) {
      return rc;
    }
    i = d;
  }
  /* Query: AI=value pairs; other parameters (linkType, ...) ignored. */
  size_t q = end + 1;
  while (q < n) {
    size_t amp = q;
    while (amp < n && s[amp] != '&') {
      amp++;
    }
    const char *eq = memchr(s + q, '=', amp - q);
    if (eq != NULL && (size_t)(eq - (s + q)) == 2 && all_digits(s + q, 2)) {
      int rc = dl_pair(e, s + q, 2, eq + 1, (size_t)(s + amp - (eq + 1)));
      if (rc != OK) {
        return rc;
      }
    }
    q = amp + 1;
  }
  return in_key ? OK : ERR_GS1_MALFORMED;
}

static bool starts(const char *s, size_t n, const char *z) {
  size_t k = strlen(z);
  return n >= k && memcmp(s, z, k) == 0;
}

int gs1_element_parse(struct gs1_element *out, const char *s, size_t n) {
  memset(out, 0, sizeof(*out));
  if (n == 0 || n > GS1_INPUT_MAX || memchr(s, '\0', n) != NULL) {
    return ERR_GS1_MALFORMED;
  }
  int rc;
  if (starts(s, n, "https://") || starts(s, n, "http://")) {
    rc = parse_dl(out, s, n);
  } else {
    if (s[0] == ']' && n >= 3) {
      s += 3; /* symbology identifier, e.g. "]d2" for GS1 DataMatrix */
      n -= 3;
    }
    rc = (n > 0 && s[0] == '(') ? parse_hri(out, s, n) : parse_raw(out, s, n);
  }
  if (rc == OK && out->gtin[0] == '\0' && out->sscc[0] == '\0') {
    rc = ERR_GS1_MALFORMED;
  }
  if (rc != OK) {
    memset(out, 0, sizeof(*out));
  }
  return rc;
}

/* ---- EPC URIs -------------------------------------------------------------- */

/* Appends s[0..n) with the EPC URI escapes of TDS (", %, &, /, <, >, ?). */
static void put_escaped(char *out, size_t cap, size_t *o, const char *s, size_t n,
                        const char *escape) {
  for (size_t i = 0; i < n; i++) {
    if (strchr(escape, s[i]) != NULL) {
      if (*o + 3 < cap) {
        snprintf(out + *o, cap - *o, "%%%02X", (unsigned)(unsigned char)s[i]);
      }
      *o += 3;
    } else {
      if (*o + 1 < cap) {
        out[*o] = s[i];
      }
      *o += 1;
    }
  }
}

#define EPC_ESCAPE "\"%&/<>?"
/* Digital Link: everything in set 82 but unreserved RFC 3986 characters. */
#define DL_ESCAPE "!\"%&'()*+,/:;<=>?"

static int finish(char *out, size_t cap, size_t o) {
  if (o >= cap) {
    if (cap > 0) {
      out[0] = '\0';
    }
    return ERR_OVERSIZE;
  }
  out[o] = '\0';
  return OK;
}

static void put(char *out, size_t cap, size_t *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (*o + 1 < cap) {
      out[*o] = s[i];
    }
    *o += 1;
  }
}

int gs1_sgtin_uri(char *out, size_t cap, const char *gtin14, const char *serial,
                  unsigned prefix_len) {
  size_t slen = strlen(serial);
  int rc = key_check(gtin14, strlen(gtin14), GS1_GTIN_LEN);
  if (rc != OK) {
    return rc;
  }
  if (prefix_len < GS1_PREFIX_MIN || prefix_len > GS1_PREFIX_MAX || !gs1_text_ok(serial, slen)) {
    return ERR_GS1_MALFORMED;
  }
  size_t o = 0;
  put(out, cap, &o, "urn:epc:id:sgtin:", 17);
  put(out, cap, &o, gtin14 + 1, prefix_len);
  put(out, cap, &o, ".", 1);
  put(out, cap, &o, gtin14, 1);
  put(out, cap, &o, gtin14 + 1 + prefix_len, 12 - prefix_len);
  put(out, cap, &o, ".", 1);
  put_escaped(out, cap, &o, serial, slen, EPC_ESCAPE);
  return finish(out, cap, o);
}

int gs1_sscc_uri(char *out, size_t cap, const char *sscc18, unsigned prefix_len) {
  int rc = key_check(sscc18, strlen(sscc18), GS1_SSCC_LEN);
  if (rc != OK) {
    return rc;
  }
  if (prefix_len < GS1_PREFIX_MIN || prefix_len > GS1_PREFIX_MAX) {
    return ERR_GS1_MALFORMED;
  }
  size_t o = 0;
  put(out, cap, &o, "urn:epc:id:sscc:", 16);
  put(out, cap, &o, sscc18 + 1, prefix_len);
  put(out, cap, &o, ".", 1);
  put(out, cap, &o, sscc18, 1);
  put(out, cap, &o, sscc18 + 1 + prefix_len, 16 - prefix_len);
  return finish(out, cap, o);
}

/* "CP.REST" with CP 6..12 digits and REST rest_total - CP digits: the key
 * is REST[0] CP REST[1..] and a check digit. */
static int epc_digits(char *key, size_t key_len, uint8_t *prefix_len, const char *s, size_t n) {
  const char *dot = memchr(s, '.', n);
  if (dot == NULL) {
    return ERR_GS1_MALFORMED;
  }
  size_t cp = (size_t)(dot - s);
  size_t rest = n - cp - 1;
  if (cp < GS1_PREFIX_MIN || cp > GS1_PREFIX_MAX || cp + rest != key_len - 1 ||
      !all_digits(s, cp) || !all_digits(dot + 1, rest)) {
    return ERR_GS1_MALFORMED;
  }
  key[0] = dot[1];
  memcpy(key + 1, s, cp);
  memcpy(key + 1 + cp, dot + 2, rest - 1);
  int check = gs1_check_digit(key, key_len - 1);
  assert(check >= 0);
  key[key_len - 1] = (char)('0' + check);
  key[key_len] = '\0';
  *prefix_len = (uint8_t)cp;
  return OK;
}

int gs1_epc_parse(struct gs1_epc *out, const char *s, size_t n) {
  memset(out, 0, sizeof(*out));
  if (n > GS1_URI_MAX || memchr(s, '\0', n) != NULL) {
    return ERR_GS1_MALFORMED;
  }
  int rc = ERR_GS1_MALFORMED;
  if (starts(s, n, "urn:epc:id:sscc:")) {
    out->kind = GS1_EPC_SSCC;
    rc = epc_digits(out->sscc, GS1_SSCC_LEN, &out->prefix_len, s + 16, n - 16);
  } else if (starts(s, n, "urn:epc:id:sgtin:")) {
    out->kind = GS1_EPC_SGTIN;
    const char *p = s + 17;
    size_t m = n - 17;
    const char *dot = memchr(p, '.', m);
    const char *dot2 = dot == NULL ? NULL : memchr(dot + 1, '.', m - (size_t)(dot + 1 - p));
    if (dot2 != NULL) {
      rc = epc_digits(out->gtin, GS1_GTIN_LEN, &out->prefix_len, p, (size_t)(dot2 - p));
      size_t raw = m - (size_t)(dot2 + 1 - p);
      long len = pct_decode(out->serial, GS1_SERIAL_MAX, dot2 + 1, raw);
      if (rc == OK && (len <= 0 || !gs1_text_ok(out->serial, (size_t)len))) {
        rc = ERR_GS1_MALFORMED;
      }
    }
  }
  if (rc != OK) {
    memset(out, 0, sizeof(*out));
  }
  return rc;
}

int gs1_epc_uri(char *out, size_t cap, const struct gs1_epc *e) {
  if (e->kind == GS1_EPC_SSCC) {
    return gs1_sscc_uri(out, cap, e->sscc, e->prefix_len);
  }
  assert(e->kind == GS1_EPC_SGTIN);
  return gs1_sgtin_uri(out, cap, e->gtin, e->serial, e->prefix_len);
}

int gs1_epc_dl(char *out, size_t cap, const struct gs1_epc *e) {
  size_t o = 0;
  put(out, cap, &o, "https://id.gs1.org/", 19);
  if (e->kind == GS1_EPC_SSCC) {
    put(out, cap, &o, "00/", 3);
    put(out, cap, &o, e->sscc, GS1_SSCC_LEN);
    return finish(out, cap, o);
  }
  assert(e->kind == GS1_EPC_SGTIN);
  put(out, cap, &o, "01/", 3);
  put(out, cap, &o, e->gtin, GS1_GTIN_LEN);
  put(out, cap, &o, "/21/", 4);
  put_escaped(out, cap, &o, e->serial, strlen(e->serial), DL_ESCAPE);
  return finish(out, cap, o);
}

int gs1_element_dl(char *out, size_t cap, const struct gs1_element *e) {
  size_t o = 0;
  put(out, cap, &o, "https://id.gs1.org/", 19);
  if (e->gtin[0] == '\0') {
    put(out, cap, &o, "00/", 3);
    put(out, cap, &o, e->sscc, strlen(e->sscc));
    return finish(out, cap, o);
  }
  put(out, cap, &o, "01/", 3);
  put(out, cap, &o, e->gtin, GS1_GTIN_LEN);
  if (e->lot[0] != '\0') {
    put(out, cap, &o, "/10/", 4);
    put_escaped(out, cap, &o, e->lot, strlen(e->lot), DL_ESCAPE);
  }
  if (e->serial[0] != '\0') {
    put(out, cap, &o, "/21/", 4);
    put_escaped(out, cap, &o, e->serial, strlen(e->serial), DL_ESCAPE);
  }
  if (e->expiry_raw[0] != '\0') {
    put(out, cap, &o, "?17=", 4);
    put(out, cap, &o, e->expiry_raw, 6);
  }
  return finish(out, cap, o);
}
