/*
 * ecg — records, lead codes and the text helpers the parsers share.
 *
 * A record's samples are one heap block whose size is checked against the
 * limits before it is allocated, so no input can make a parser allocate
 * more than LIM_ECG_TOTAL_SAMPLES_MAX samples. Numbers are parsed from
 * bounded spans with explicit grammars: strtod only ever sees a NUL-
 * terminated copy that has already passed a character check.
 */
#include "ecg/ecg_internal.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ecg_record_init(struct ecg_record *r) {
  memset(r, 0, sizeof(*r));
  r->format = ECG_FORMAT_16;
}

void ecg_record_deinit(struct ecg_record *r) {
  free(r->samples);
  ecg_record_init(r);
}

int ecg_record_alloc(struct ecg_record *r, uint32_t nsamples) {
  if (r->nleads == 0 || nsamples == 0) {
    return ERR_ECG_MALFORMED;
  }
  assert(r->nleads <= LIM_ECG_LEADS_MAX);
  if (nsamples > LIM_ECG_SAMPLES_MAX ||
      (uint64_t)nsamples * r->nleads > LIM_ECG_TOTAL_SAMPLES_MAX) {
    return ERR_OVERSIZE;
  }
  int16_t *s = calloc((size_t)nsamples * r->nleads, sizeof(int16_t));
  if (s == NULL) {
    return ERR_NOMEM;
  }
  free(r->samples);
  r->samples = s;
  r->nsamples = nsamples;
  return OK;
}

int16_t *ecg_lead_samples(const struct ecg_record *r, uint32_t i) {
  assert(r->samples != NULL);
  assert(i < r->nleads);
  return r->samples + (size_t)i * r->nsamples;
}

int32_t ecg_checksum(const int16_t *s, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; i++) {
    sum += (uint32_t)(int32_t)s[i];
  }
  sum &= 0xffffu;
  return sum >= 0x8000u ? (int32_t)sum - 0x10000 : (int32_t)sum;
}

void ecg_record_sums(struct ecg_record *r) {
  for (uint32_t i = 0; i < r->nleads; i++) {
    const int16_t *s = ecg_lead_samples(r, i);
    r->leads[i].initial = s[0];
    r->leads[i].checksum = ecg_checksum(s, r->nsamples);
  }
}

bool ecg_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > LIM_ECG_NAME_MAX) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool ecg_file_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > LIM_ECG_NAME_MAX || s[0] == '.') {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

static bool ecg_text_printable(const char *s, bool empty_ok) {
  struct ecg_span sp = {s, strlen(s)};
  return (empty_ok || sp.n > 0) && ecg_span_printable(sp);
}

static bool ecg_lead_valid(const struct ecg_lead *l) {
  return ecg_text_printable(l->name, false) && ecg_text_printable(l->units, true) &&
         strchr(l->units, ' ') == NULL && isfinite(l->gain) && l->gain > 0;
}

int ecg_record_check(const struct ecg_record *r) {
  if (!ecg_name_valid(r->name) || (r->file_name[0] != '\0' && !ecg_file_name_valid(r->file_name))) {
    return ERR_ECG_MALFORMED;
  }
  if (r->nleads == 0 || r->nleads > LIM_ECG_LEADS_MAX || r->nsamples == 0 || r->samples == NULL) {
    return ERR_ECG_MALFORMED;
  }
  if (!isfinite(r->freq_hz) || r->freq_hz <= 0) {
    return ERR_ECG_MALFORMED;
  }
  if (r->format != ECG_FORMAT_16 && r->format != ECG_FORMAT_212) {
    return ERR_ECG_UNSUPPORTED;
  }
  for (uint32_t i = 0; i < r->nleads; i++) {
    if (!ecg_lead_valid(&r->leads[i])) {
      return ERR_ECG_MALFORMED;
    }
  }
  return OK;
}

int ecg_record_set_format(struct ecg_record *r, enum ecg_format f) {
  if (f != ECG_FORMAT_16 && f != ECG_FORMAT_212) {
    return ERR_ECG_UNSUPPORTED;
  }
  assert(r->samples != NULL);
  if (f == ECG_FORMAT_212) {
    size_t total = (size_t)r->nleads * r->nsamples;
    for (size_t i = 0; i < total; i++) {
      if (r->samples[i] < -2048 || r->samples[i] > 2047) {
        return ERR_ECG_RANGE;
      }
    }
  }
  if (r->file_name[0] == '\0') {
    int n = snprintf(r->file_name, sizeof(r->file_name), "%s.dat", r->name);
    if (n < 0 || (size_t)n >= sizeof(r->file_name)) {
      r->file_name[0] = '\0';
      return ERR_OVERSIZE;
    }
  }
  uint32_t bits = f == ECG_FORMAT_212 ? 12 : 16;
  for (uint32_t i = 0; i < r->nleads; i++) {
    if (r->leads[i].adc_res == 0 || r->leads[i].adc_res > bits) {
      r->leads[i].adc_res = bits;
    }
  }
  r->format = f;
  return OK;
}

bool ecg_lead_mv_per_unit(const struct ecg_lead *l, double *mv_per_unit) {
  static const struct {
    const char *units;
    double mv;
  } table[] = {{"", 1.0}, {"mV", 1.0}, {"uV", 0.001}, {"V", 1000.0}};
  for (size_t i = 0; i < ARRAY_LEN(table); i++) {
    if (strcmp(l->units, table[i].units) == 0) {
      *mv_per_unit = table[i].mv;
      return true;
    }
  }
  return false;
}

/* ---- lead codes ------------------------------------------------------------ */

/* ISO/IEEE 11073-10101 partition 2 (SCADA): the electric potential of a
 * lead is 0x20100 (131328) plus the lead's term code (I 1, II 2, V1..V6
 * 3..8, III 61, aVR 62, aVL 63, aVF 64), as FHIR's own ECG example codes
 * them under urn:oid:2.16.840.1.113883.6.24. */
static const struct {
  const char *name;
  uint32_t code;
  const char *refid;
} ecg_mdc_leads[] = {
    {"I", 131329, "MDC_ECG_ELEC_POTL_I"},     {"II", 131330, "MDC_ECG_ELEC_POTL_II"},
    {"III", 131389, "MDC_ECG_ELEC_POTL_III"}, {"aVR", 131390, "MDC_ECG_ELEC_POTL_AVR"},
    {"aVL", 131391, "MDC_ECG_ELEC_POTL_AVL"}, {"aVF", 131392, "MDC_ECG_ELEC_POTL_AVF"},
    {"V1", 131331, "MDC_ECG_ELEC_POTL_V1"},   {"V2", 131332, "MDC_ECG_ELEC_POTL_V2"},
    {"V3", 131333, "MDC_ECG_ELEC_POTL_V3"},   {"V4", 131334, "MDC_ECG_ELEC_POTL_V4"},
    {"V5", 131335, "MDC_ECG_ELEC_POTL_V5"},   {"V6", 131336, "MDC_ECG_ELEC_POTL_V6"},
};

static bool ecg_eq_nocase(const char *a, const char *b) {
  for (; *a != '\0' && *b != '\0'; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
    if (x != y) {
      return false;
    }
  }
  return *a == *b;
}

bool ecg_lead_mdc(const char *name, uint32_t *code, const char **refid) {
  for (size_t i = 0; i < ARRAY_LEN(ecg_mdc_leads); i++) {
    if (ecg_eq_nocase(name, ecg_mdc_leads[i].name)) {
      *code = ecg_mdc_leads[i].code;
      *refid = ecg_mdc_leads[i].refid;
      return true;
    }
  }
  return false;
}

const char *ecg_lead_from_mdc(uint32_t code) {
  for (size_t i = 0; i < ARRAY_LEN(ecg_mdc_leads); i++) {
    if (ecg_mdc_leads[i].code == code) {
      return ecg_mdc_leads[i].name;
    }
  }
  return NULL;
}

/* ---- text ------------------------------------------------------------------- */

bool ecg_span_u32(struct ecg_span s, uint32_t *out) {
  if (s.n == 0 || s.n > 10) {
    return false;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < '0' || s.p[i] > '9') {
      return false;
    }
    v = v * 10 + (uint64_t)(s.p[i] - '0');
  }
  if (v > UINT32_MAX) {
    return false;
  }
  *out = (uint32_t)v;
  return true;
}

bool ecg_span_i32(struct ecg_span s, int32_t *out) {
  bool neg = s.n > 0 && s.p[0] == '-';
  struct ecg_span digits = {s.p + (neg ? 1 : 0), s.n - (neg ? 1 : 0)};
  uint32_t v = 0;
  if (!ecg_span_u32(digits, &v) || v > (neg ? 2147483648u : 2147483647u)) {
    return false;
  }
  *out = neg ? (int32_t)(-(int64_t)v) : (int32_t)v;
  return true;
}

bool ecg_span_double(struct ecg_span s, double *out) {
  char buf[48];
  if (s.n == 0 || s.n > 40) {
    return false;
  }
  bool digit = false;
  for (size_t i = 0; i < s.n; i++) {
    char c = s.p[i];
    digit = digit || (c >= '0' && c <= '9');
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return false;
    }
  }
  if (!digit) {
    return false;
  }
  memcpy(buf, s.p, s.n);
  buf[s.n] = '\0';
  char *end = NULL;
  double v = strtod(buf, &end);
  if (end != buf + s.n || !isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

void ecg_double_text(char *out, size_t cap, double v) {
  assert(cap >= 32);
  assert(isfinite(v));
  if (v == floor(v) && fabs(v) < 1e15) {
    snprintf(out, cap, "%.0f", v); /* whole numbers as WFDB writes them: "500", never "5e+02" */
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec, v);
    if (strtod(out, NULL) == v) {
      return;
    }
  }
}

double ecg_round12(double v) {
  char buf[40];
  if (!isfinite(v)) {
    return v;
  }
  snprintf(buf, sizeof(buf), "%.12g", v);
  return strtod(buf, NULL);
}

bool ecg_span_printable(struct ecg_span s) {
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] < 0x20 || s.p[i] > 0x7e) {
      return false;
    }
  }
  return true;
}

bool ecg_span_copy(char *out, size_t cap, struct ecg_span s) {
  if (s.n >= cap) {
    return false;
  }
  memcpy(out, s.p, s.n);
  out[s.n] = '\0';
  return true;
}

bool ecg_next_line(struct ecg_span *text, struct ecg_span *line) {
  if (text->n == 0) {
    return false;
  }
  const char *nl = memchr(text->p, '\n', text->n);
  size_t len = nl != NULL ? (size_t)(nl - text->p) : text->n;
  line->p = text->p;
  line->n = len;
  if (len > 0 && line->p[len - 1] == '\r') {
    line->n--;
  }
  size_t used = nl != NULL ? len + 1 : len;
  text->p += used;
  text->n -= used;
  return true;
}

static bool ecg_blank(char c) {
  return c == ' ' || c == '\t';
}

bool ecg_next_token(struct ecg_span *s, struct ecg_span *tok) {
  while (s->n > 0 && ecg_blank(s->p[0])) {
    s->p++;
    s->n--;
  }
  if (s->n == 0) {
    return false;
  }
  size_t k = 0;
  while (k < s->n && !ecg_blank(s->p[k])) {
    k++;
  }
  tok->p = s->p;
  tok->n = k;
  s->p += k;
  s->n -= k;
  return true;
}

struct ecg_span ecg_span_trim(struct ecg_span s) {
  while (s.n > 0 && ecg_blank(s.p[0])) {
    s.p++;
    s.n--;
  }
  while (s.n > 0 && ecg_blank(s.p[s.n - 1])) {
    s.n--;
  }
  return s;
}
