/*
 * ecg_fhir — an ECG record as a FHIR R4 Observation with SampledData, and
 * back (docs/ecg.md, "FHIR mapping").
 *
 * One Observation per recording: status final, category "procedure", code
 * LOINC 11524-6 "EKG study", the record name as an identifier, and one
 * component per lead whose valueSampledData carries the digital samples
 * untouched: physical = origin + factor * sample, with factor = (mV per
 * unit) / gain and origin = -baseline * factor in mV, and the period in
 * milliseconds. The reverse reads the same shape, checks every field and
 * bound before it allocates, and rounds the recovered gain and frequency
 * to the 12 digits a WFDB header keeps, so 1 / (1 / gain) comes back as
 * gain.
 */
#include "api/api.h"
#include "api/api_internal.h"
#include "ecg/ecg.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FHIR_LOINC "http://loinc.org"
#define FHIR_EKG_STUDY "11524-6"
#define FHIR_MDC "urn:oid:2.16.840.1.113883.6.24"
#define FHIR_UCUM "http://unitsofmeasure.org"
#define FHIR_CATEGORY "http://terminology.hl7.org/CodeSystem/observation-category"
#define FHIR_RECORD_SYSTEM "urn:medchain:ecg-record"

/* FHIR ids: 1..64 of [A-Za-z0-9.-]. */
static bool fhir_id_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64) {
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.')) {
      return false;
    }
  }
  return true;
}

static bool fhir_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  return true;
}

/* FHIR dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss[.f+]
 * followed by Z or +hh:mm / -hh:mm. A shape check, not a calendar. */
static bool fhir_datetime_valid(const char *s) {
  size_t n = strlen(s);
  static const char date[] = "0000-00-00";
  for (size_t i = 0; i < n && i < 10; i++) {
    if ((date[i] == '-') != (s[i] == '-') || (date[i] == '0' && !fhir_digits(s + i, 1))) {
      return false;
    }
  }
  if (n == 4 || n == 7 || n == 10) {
    return true;
  }
  if (n < 20 || n > 35 || s[10] != 'T' || !fhir_digits(s + 11, 2) || s[13] != ':' ||
      !fhir_digits(s + 14, 2) || s[16] != ':' || !fhir_digits(s + 17, 2)) {
    return false;
  }
  size_t k = 19;
  if (s[k] == '.') {
    size_t start = ++k;
    while (k < n && fhir_digits(s + k, 1)) {
      k++;
    }
    if (k == start) {
      return false;
    }
  }
  if (k + 1 == n) {
    return s[k] == 'Z';
  }
  return k + 6 == n && (s[k] == '+' || s[k] == '-') && fhir_digits(s + k + 1, 2) &&
         s[k + 3] == ':' && fhir_digits(s + k + 4, 2);
}

static json_t *fhir_coding(const char *system, const char *code, const char *display) {
  return json_pack("{s:s, s:s, s:s}", "system", system, "code", code, "display", display);
}

/* "s0 s1 ..." of a lead's samples (malloc'd). */
static char *fhir_data_text(const int16_t *s, uint32_t n) {
  size_t cap = (size_t)n * 7 + 1;
  char *out = malloc(cap);
  if (out == NULL) {
    return NULL;
  }
  size_t len = 0;
  for (uint32_t i = 0; i < n; i++) {
    int k = snprintf(out + len, cap - len, i == 0 ? "%d" : " %d", (int)s[i]);
    assert(k > 0 && (size_t)k < cap - len);
    len += (size_t)k;
  }
  out[len] = '\0';
  return out;
}

static json_t *fhir_lead_code(const struct ecg_lead *l) {
  uint32_t code = 0;
  const char *refid = NULL;
  if (!ecg_lead_mdc(l->name, &code, &refid)) {
    return json_pack("{s:s}", "text", l->name);
  }
  char code_text[16];
  snprintf(code_text, sizeof(code_text), "%u", (unsigned)code);
  return json_pack("{s:[o], s:s}", "coding", fhir_coding(FHIR_MDC, code_text, refid), "text",
                   l->name);
}

static json_t *fhir_component(const struct ecg_record *r, uint32_t i) {
  const struct ecg_lead *l = &r->leads[i];
  double mv = 0;
  bool known = ecg_lead_mv_per_unit(l, &mv);
  assert(known);
  double factor = mv / l->gain;
  double origin = -(double)l->baseline * factor;
  char *data = fhir_data_text(ecg_lead_samples(r, i), r->nsamples);
  if (data == NULL) {
    return NULL;
  }
  json_t *origin_q = json_pack("{s:f, s:s, s:s, s:s}", "value", origin == 0 ? 0.0 : origin, "unit",
                               "mV", "system", FHIR_UCUM, "code", "mV");
  json_t *sd = json_pack("{s:o, s:f, s:f, s:i, s:s}", "origin", origin_q, "period",
                         1000.0 / r->freq_hz, "factor", factor, "dimensions", 1, "data", data);
  free(data);
  return json_pack("{s:o, s:o}", "code", fhir_lead_code(l), "valueSampledData", sd);
}

static json_t *fhir_observation(const struct ecg_record *r, const char *patient,
                                const char *effective) {
  json_t *comps = json_array();
  for (uint32_t i = 0; comps != NULL && i < r->nleads; i++) {
    if (json_array_append_new(comps, fhir_component(r, i)) != 0) {
      json_decref(comps);
      comps = NULL;
    }
  }
  json_t *obs = json_pack(
      "{s:s, s:[{s:s, s:s}], s:s, s:[{s:[o]}], s:{s:[o], s:s}, s:o}", "resourceType", "Observation",
      "identifier", "system", FHIR_RECORD_SYSTEM, "value", r->name, "status", "final", "category",
      "coding", fhir_coding(FHIR_CATEGORY, "procedure", "Procedure"), "code", "coding",
      fhir_coding(FHIR_LOINC, FHIR_EKG_STUDY, "EKG study"), "text", "ECG", "component", comps);
  if (obs == NULL) {
    return NULL;
  }
  char ref[80];
  snprintf(ref, sizeof(ref), "Patient/%s", patient != NULL ? patient : "");
  if ((patient != NULL &&
       json_object_set_new(obs, "subject", json_pack("{s:s}", "reference", ref)) != 0) ||
      (effective != NULL &&
       json_object_set_new(obs, "effectiveDateTime", json_string(effective)) != 0)) {
    json_decref(obs);
    return NULL;
  }
  return obs;
}

int api_ecg_observation_json(char **out, const struct ecg_record *r, const char *patient_id,
                             const char *effective) {
  *out = NULL;
  int rc = ecg_record_check(r);
  if (rc != OK) {
    return rc;
  }
  if ((patient_id != NULL && !fhir_id_valid(patient_id)) ||
      (effective != NULL && !fhir_datetime_valid(effective))) {
    return ERR_BAD_ARGS;
  }
  /* Scalings JSON cannot carry (an infinite factor from a gain near 0)
   * are refused rather than rendered wrong. */
  if (!isfinite(1000.0 / r->freq_hz)) {
    return ERR_ECG_UNSUPPORTED;
  }
  for (uint32_t i = 0; i < r->nleads; i++) {
    const struct ecg_lead *l = &r->leads[i];
    double mv = 0;
    if (!ecg_lead_mv_per_unit(l, &mv) || !isfinite(mv / l->gain) ||
        !isfinite((double)l->baseline * (mv / l->gain)) || mv / l->gain == 0) {
      return ERR_ECG_UNSUPPORTED;
    }
  }
  json_t *obs = fhir_observation(r, patient_id, effective);
  if (obs == NULL) {
    return ERR_NOMEM;
  }
  *out = json_dumps(obs, JSON_INDENT(1) | JSON_REAL_PRECISION(15));
  json_decref(obs);
  return *out != NULL ? OK : ERR_NOMEM;
}

/* ---- Observation -> record ------------------------------------------------------ */

/* Whether any coding of a CodeableConcept is (system, code). */
static bool fhir_has_coding(const json_t *cc, const char *system, const char *code) {
  const json_t *codings = json_object_get(cc, "coding");
  size_t i = 0;
  const json_t *c = NULL;
  json_array_foreach(codings, i, c) {
    const char *sys = json_string_value(json_object_get(c, "system"));
    const char *val = json_string_value(json_object_get(c, "code"));
    if (sys != NULL && val != NULL && strcmp(sys, system) == 0 && strcmp(val, code) == 0) {
      return true;
    }
  }
  return false;
}

static int fhir_check_head(const json_t *obs, struct ecg_record *r) {
  const char *type = json_string_value(json_object_get(obs, "resourceType"));
  if (type == NULL || strcmp(type, "Observation") != 0) {
    return ERR_ECG_MALFORMED;
  }
  if (!fhir_has_coding(json_object_get(obs, "code"), FHIR_LOINC, FHIR_EKG_STUDY)) {
    return ERR_ECG_UNSUPPORTED; /* an Observation, but not an ECG study */
  }
  memcpy(r->name, "ecg", 4);
  size_t i = 0;
  const json_t *id = NULL;
  json_array_foreach(json_object_get(obs, "identifier"), i, id) {
    const char *sys = json_string_value(json_object_get(id, "system"));
    const char *val = json_string_value(json_object_get(id, "value"));
    if (sys != NULL && strcmp(sys, FHIR_RECORD_SYSTEM) == 0) {
      if (val == NULL || !ecg_name_valid(val)) {
        return ERR_ECG_MALFORMED;
      }
      memcpy(r->name, val, strlen(val) + 1);
    }
  }
  return OK;
}

/* The lead's name: the code's text, else the lead of its MDC coding, else
 * "lead N". */
static int fhir_lead_name(struct ecg_lead *l, const json_t *code, uint32_t index) {
  const char *text = json_string_value(json_object_get(code, "text"));
  const char *name = text;
  size_t i = 0;
  const json_t *c = NULL;
  json_array_foreach(json_object_get(code, "coding"), i, c) {
    const char *sys = json_string_value(json_object_get(c, "system"));
    const char *val = json_string_value(json_object_get(c, "code"));
    uint64_t v = 0;
    if (name == NULL && sys != NULL && val != NULL && strcmp(sys, FHIR_MDC) == 0 &&
        base_parse_u64(&v, val) == OK && v <= UINT32_MAX) {
      name = ecg_lead_from_mdc((uint32_t)v);
    }
  }
  if (name == NULL) {
    snprintf(l->name, sizeof(l->name), "lead %u", (unsigned)index);
    return OK;
  }
  size_t n = strlen(name);
  if (n == 0 || n > LIM_ECG_NAME_MAX) {
    return ERR_ECG_MALFORMED;
  }
  memcpy(l->name, name, n + 1);
  return OK;
}

static bool fhir_positive(const json_t *v, double *out) {
  if (!json_is_number(v)) {
    return false;
  }
  *out = json_number_value(v);
  return isfinite(*out) && *out > 0;
}

/* origin, period, factor and dimensions of one SampledData. */
static int fhir_scaling(struct ecg_lead *l, const json_t *sd, double *period) {
  const json_t *origin = json_object_get(sd, "origin");
  const json_t *ov = json_object_get(origin, "value");
  const char *code = json_string_value(json_object_get(origin, "code"));
  const char *system = json_string_value(json_object_get(origin, "system"));
  if (!json_is_object(origin) || !json_is_number(ov)) {
    return ERR_ECG_MALFORMED;
  }
  if ((code != NULL && strcmp(code, "mV") != 0) ||
      (system != NULL && strcmp(system, FHIR_UCUM) != 0)) {
    return ERR_ECG_UNSUPPORTED; /* values not in millivolts */
  }
  const json_t *dims = json_object_get(sd, "dimensions");
  if (!json_is_integer(dims)) {
    return ERR_ECG_MALFORMED;
  }
  if (json_integer_value(dims) != 1) {
    return ERR_ECG_UNSUPPORTED;
  }
  double factor = 1.0;
  const json_t *fv = json_object_get(sd, "factor");
  if (!fhir_positive(json_object_get(sd, "period"), period) ||
      (fv != NULL && !fhir_positive(fv, &factor))) {
    return ERR_ECG_MALFORMED;
  }
  double o = json_number_value(ov);
  double baseline = round(-o / factor);
  if (!isfinite(o) || fabs(baseline) > 32768.0 ||
      fabs(-o / factor - baseline) > 1e-6 * fmax(1.0, fabs(baseline))) {
    return ERR_ECG_UNSUPPORTED; /* an origin that is no whole number of steps */
  }
  l->gain = ecg_round12(1.0 / factor);
  l->baseline = (int32_t)baseline;
  memcpy(l->units, "mV", 3);
  return l->gain > 0 && isfinite(l->gain) ? OK : ERR_ECG_MALFORMED;
}

/* Samples in a data string: runs of non-spaces. */
static size_t fhir_count(const char *s) {
  size_t n = 0;
  for (size_t i = 0; s[i] != '\0'; i++) {
    n += s[i] != ' ' && (i == 0 || s[i - 1] == ' ') ? 1 : 0;
  }
  return n;
}

/* One data point: a digital integer of at most 6 digits. */
static int fhir_point(const char *p, size_t n, int16_t *out) {
  bool neg = n > 0 && p[0] == '-';
  size_t digits = n - (neg ? 1 : 0);
  if (digits == 0 || digits > 6 || !fhir_digits(p + (neg ? 1 : 0), digits)) {
    bool code = n == 1 && (p[0] == 'E' || p[0] == 'L' || p[0] == 'U');
    bool decimal = n > 0 && memchr(p, '.', n) != NULL;
    return code || decimal ? ERR_ECG_UNSUPPORTED : ERR_ECG_MALFORMED;
  }
  int32_t v = 0;
  for (size_t i = neg ? 1 : 0; i < n; i++) {
    v = v * 10 + (p[i] - '0');
  }
  v = neg ? -v : v;
  if (v < -32768 || v > 32767) {
    return ERR_ECG_RANGE;
  }
  *out = (int16_t)v;
  return OK;
}

static int fhir_data(const char *s, int16_t *out, uint32_t n) {
  if (fhir_count(s) != n) {
    return ERR_ECG_MALFORMED; /* leads of different lengths */
  }
  uint32_t k = 0;
  while (*s != '\0') {
    size_t len = strcspn(s, " ");
    if (len > 0) {
      assert(k < n);
      int rc = fhir_point(s, len, &out[k++]);
      if (rc != OK) {
        return rc;
      }
    }
    s += len + (s[len] == ' ' ? 1 : 0);
  }
  return OK;
}

/* Each component's lead fields and data string; all periods agree. */
static int fhir_leads(struct ecg_record *r, const json_t *comps, const char **data) {
  double period0 = 0;
  for (uint32_t i = 0; i < r->nleads; i++) {
    const json_t *c = json_array_get(comps, i);
    const json_t *sd = json_object_get(c, "valueSampledData");
    data[i] = json_string_value(json_object_get(sd, "data"));
    if (!json_is_object(sd) || data[i] == NULL) {
      return ERR_ECG_MALFORMED;
    }
    double period = 0;
    int rc = fhir_lead_name(&r->leads[i], json_object_get(c, "code"), i);
    rc = rc == OK ? fhir_scaling(&r->leads[i], sd, &period) : rc;
    if (rc != OK) {
      return rc;
    }
    period0 = i == 0 ? period : period0;
    if (fabs(period - period0) > 1e-9 * period0) {
      return ERR_ECG_UNSUPPORTED; /* leads sampled at different rates */
    }
  }
  r->freq_hz = ecg_round12(1000.0 / period0);
  return OK;
}

static int fhir_record(struct ecg_record *r, const json_t *obs) {
  int rc = fhir_check_head(obs, r);
  if (rc != OK) {
    return rc;
  }
  const json_t *comps = json_object_get(obs, "component");
  if (!json_is_array(comps) || json_array_size(comps) == 0) {
    return ERR_ECG_MALFORMED;
  }
  if (json_array_size(comps) > LIM_ECG_LEADS_MAX) {
    return ERR_OVERSIZE;
  }
  r->nleads = (uint32_t)json_array_size(comps);
  const char *data[LIM_ECG_LEADS_MAX];
  rc = fhir_leads(r, comps, data);
  if (rc != OK) {
    return rc;
  }
  size_t n = fhir_count(data[0]);
  rc = n > LIM_ECG_SAMPLES_MAX ? ERR_OVERSIZE : ecg_record_alloc(r, (uint32_t)n);
  for (uint32_t i = 0; rc == OK && i < r->nleads; i++) {
    rc = fhir_data(data[i], ecg_lead_samples(r, i), r->nsamples);
  }
  if (rc == OK) {
    ecg_record_sums(r);
    rc = ecg_record_check(r);
  }
  return rc;
}

int api_ecg_observation_parse(struct ecg_record *r, const char *json, size_t len) {
  ecg_record_deinit(r);
  if (len > LIM_ECG_FILE_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  json_t *obs = NULL;
  int rc = api_json_parse_body(&obs, (const uint8_t *)json, len);
  if (rc != OK) {
    return rc;
  }
  rc = json_is_object(obs) ? fhir_record(r, obs) : ERR_ECG_MALFORMED;
  json_decref(obs);
  if (rc != OK) {
    ecg_record_deinit(r);
  }
  return rc;
}
