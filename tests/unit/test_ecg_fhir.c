/*
 * Unit tests of the ECG <-> FHIR R4 Observation mapping (src/api/
 * ecg_fhir.c): the synthetic 12-lead vector goes WFDB -> Observation ->
 * record with identical samples and back to the same WFDB bytes; the
 * Observation carries the codes docs/ecg.md promises; every malformed
 * Observation is refused with its code.
 */
#include "api/api.h"
#include "ecg/ecg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *read_vector(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof(path), "%s/ecg/%s", MEDCHAIN_VECTORS_DIR, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void load_vector(struct ecg_record *r, const char *name, char **hea, size_t *hlen,
                        char **dat, size_t *dlen) {
  char file[64];
  snprintf(file, sizeof(file), "%s.hea", name);
  *hea = read_vector(file, hlen);
  snprintf(file, sizeof(file), "%s.dat", name);
  *dat = read_vector(file, dlen);
  assert_int_equal(ecg_wfdb_header_parse(r, *hea, *hlen), OK);
  assert_int_equal(ecg_wfdb_signal_decode(r, (const uint8_t *)*dat, *dlen), OK);
}

static void expect_path(const char *json, const char *path, const char *want) {
  char got[256];
  assert_int_equal(api_json_lookup(json, path, got, sizeof(got)), OK);
  assert_string_equal(got, want);
}

static void test_vector_through_fhir(void **state) {
  (void)state;
  struct ecg_record w;
  struct ecg_record f;
  ecg_record_init(&w);
  ecg_record_init(&f);
  char *hea = NULL;
  char *dat = NULL;
  size_t hlen = 0;
  size_t dlen = 0;
  load_vector(&w, "synth212", &hea, &hlen, &dat, &dlen);
  char *json = NULL;
  assert_int_equal(api_ecg_observation_json(&json, &w, "p-1", "2024-05-01T10:00:00Z"), OK);
  expect_path(json, "resourceType", "Observation");
  expect_path(json, "status", "final");
  expect_path(json, "category.0.coding.0.code", "procedure");
  expect_path(json, "code.coding.0.system", "http://loinc.org");
  expect_path(json, "code.coding.0.code", "11524-6");
  expect_path(json, "code.coding.0.display", "EKG study");
  expect_path(json, "subject.reference", "Patient/p-1");
  expect_path(json, "effectiveDateTime", "2024-05-01T10:00:00Z");
  expect_path(json, "component.0.code.coding.0.system", "urn:oid:2.16.840.1.113883.6.24");
  expect_path(json, "component.0.code.coding.0.code", "131329");
  expect_path(json, "component.2.code.coding.0.code", "131389");
  expect_path(json, "component.5.code.coding.0.code", "131392");
  expect_path(json, "component.11.code.coding.0.code", "131336");
  expect_path(json, "component.11.code.text", "V6");
  expect_path(json, "component.0.valueSampledData.origin.code", "mV");
  expect_path(json, "component.0.valueSampledData.origin.system", "http://unitsofmeasure.org");
  expect_path(json, "component.0.valueSampledData.dimensions", "1");
  assert_int_equal(api_ecg_observation_parse(&f, json, strlen(json)), OK);
  assert_string_equal(f.name, "synth212");
  assert_int_equal(f.nleads, 12);
  assert_int_equal(f.nsamples, 5000);
  assert_true(f.freq_hz == 500.0);
  for (uint32_t i = 0; i < 12; i++) {
    assert_string_equal(f.leads[i].name, w.leads[i].name);
    assert_true(f.leads[i].gain == 200.0);
    assert_int_equal(f.leads[i].baseline, 0);
  }
  assert_memory_equal(f.samples, w.samples, (size_t)12 * 5000 * sizeof(int16_t));
  /* Exported again in format 212: the very bytes of the vector. */
  assert_int_equal(ecg_record_set_format(&f, ECG_FORMAT_212), OK);
  char out[4096];
  size_t olen = 0;
  assert_int_equal(ecg_wfdb_header_encode(&f, out, sizeof(out), &olen), OK);
  assert_int_equal(olen, hlen);
  assert_memory_equal(out, hea, hlen);
  uint8_t *sig = malloc(dlen);
  assert_non_null(sig);
  assert_int_equal(ecg_wfdb_signal_encode(&f, sig, dlen, &olen), OK);
  assert_memory_equal(sig, dat, dlen);
  free(sig);
  free(json);
  free(hea);
  free(dat);
  ecg_record_deinit(&w);
  ecg_record_deinit(&f);
}

/* A lead in uV with a baseline, at 360 Hz, and a lead with no MDC code. */
static void test_scaling_roundtrip(void **state) {
  (void)state;
  static const char hea[] = "s 2 360 3\n"
                            "s.dat 16 400(-12)/uV 16 0 -12 -36 0 MLII\n"
                            "s.dat 16 2.5(1024) 12 1024 1000 3100 0 V5\n";
  static const uint8_t dat[] = {0xf4, 0xff, 0xe8, 0x03, 0xf4, 0xff,
                                0x1a, 0x04, 0xf4, 0xff, 0x1a, 0x04};
  struct ecg_record w;
  struct ecg_record f;
  ecg_record_init(&w);
  ecg_record_init(&f);
  assert_int_equal(ecg_wfdb_header_parse(&w, hea, strlen(hea)), OK);
  assert_int_equal(ecg_wfdb_signal_decode(&w, dat, sizeof(dat)), OK);
  char *json = NULL;
  assert_int_equal(api_ecg_observation_json(&json, &w, NULL, NULL), OK);
  char got[64];
  assert_int_equal(api_json_lookup(json, "subject", got, sizeof(got)), ERR_NOT_FOUND);
  expect_path(json, "component.0.code.text", "MLII");
  assert_int_equal(api_json_lookup(json, "component.0.code.coding", got, sizeof(got)),
                   ERR_NOT_FOUND);
  expect_path(json, "component.1.code.coding.0.code", "131335");
  assert_int_equal(api_ecg_observation_parse(&f, json, strlen(json)), OK);
  assert_true(f.freq_hz == 360.0);
  assert_memory_equal(f.samples, w.samples, 6 * sizeof(int16_t));
  /* uV became mV: 400 units per uV are 400,000 per mV. */
  assert_true(f.leads[0].gain == 400000.0);
  assert_int_equal(f.leads[0].baseline, -12);
  assert_true(f.leads[1].gain == 2.5);
  assert_int_equal(f.leads[1].baseline, 1024);
  assert_string_equal(f.leads[1].units, "mV");
  free(json);
  /* Units with no millivolt equivalent, bad ids and dates. */
  memcpy(w.leads[0].units, "mmHg", 5);
  assert_int_equal(api_ecg_observation_json(&json, &w, NULL, NULL), ERR_ECG_UNSUPPORTED);
  memcpy(w.leads[0].units, "mV", 3);
  assert_int_equal(api_ecg_observation_json(&json, &w, "a/b", NULL), ERR_BAD_ARGS);
  assert_int_equal(api_ecg_observation_json(&json, &w, "", NULL), ERR_BAD_ARGS);
  assert_int_equal(api_ecg_observation_json(&json, &w, NULL, "yesterday"), ERR_BAD_ARGS);
  assert_int_equal(api_ecg_observation_json(&json, &w, NULL, "2024-05-01T10:00:00"), ERR_BAD_ARGS);
  assert_int_equal(api_ecg_observation_json(&json, &w, NULL, "2024-05-01T10:00:00.5+02:00"), OK);
  free(json);
  assert_int_equal(api_ecg_observation_json(&json, &w, NULL, "2024"), OK);
  free(json);
  ecg_record_deinit(&w);
  ecg_record_deinit(&f);
}

/* An Observation with the given components (JSON array body). */
static int parse_with(struct ecg_record *r, const char *code, const char *components) {
  char json[8192];
  int n = snprintf(json, sizeof(json),
                   "{\"resourceType\":\"Observation\",\"status\":\"final\","
                   "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"%s\"}]},"
                   "\"component\":[%s]}",
                   code, components);
  assert_true(n > 0 && (size_t)n < sizeof(json));
  return api_ecg_observation_parse(r, json, (size_t)n);
}

#define SD(body) "{\"code\":{\"text\":\"II\"},\"valueSampledData\":{" body "}}"
#define ORIGIN "\"origin\":{\"value\":0,\"code\":\"mV\"}"
#define GOOD SD(ORIGIN ",\"period\":2,\"factor\":0.005,\"dimensions\":1,\"data\":\"1 -2 3\"")

static void test_observation_rejections(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(parse_with(&r, "11524-6", GOOD), OK);
  assert_string_equal(r.name, "ecg");
  assert_int_equal(r.nsamples, 3);
  assert_int_equal(ecg_lead_samples(&r, 0)[1], -2);
  static const struct {
    const char *code;
    const char *comps;
    int want;
  } cases[] = {
      {"8867-4", GOOD, ERR_ECG_UNSUPPORTED},
      {"11524-6", "", ERR_ECG_MALFORMED},
      {"11524-6", "{\"code\":{\"text\":\"I\"}}", ERR_ECG_MALFORMED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":\"1 1.5\""),
       ERR_ECG_UNSUPPORTED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":\"1 E\""),
       ERR_ECG_UNSUPPORTED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":\"40000\""), ERR_ECG_RANGE},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":\"1 x\""), ERR_ECG_MALFORMED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":\"\""), ERR_ECG_MALFORMED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":7"), ERR_ECG_MALFORMED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"dimensions\":2,\"data\":\"1 2\""),
       ERR_ECG_UNSUPPORTED},
      {"11524-6", SD(ORIGIN ",\"period\":0,\"dimensions\":1,\"data\":\"1\""), ERR_ECG_MALFORMED},
      {"11524-6", SD(ORIGIN ",\"period\":\"2\",\"dimensions\":1,\"data\":\"1\""),
       ERR_ECG_MALFORMED},
      {"11524-6", SD(ORIGIN ",\"period\":2,\"factor\":-1,\"dimensions\":1,\"data\":\"1\""),
       ERR_ECG_MALFORMED},
      {"11524-6",
       SD("\"origin\":{\"value\":0,\"code\":\"uV\"},\"period\":2,\"dimensions\":1,"
          "\"data\":\"1\""),
       ERR_ECG_UNSUPPORTED},
      {"11524-6",
       SD("\"origin\":{\"value\":0.0025,\"code\":\"mV\"},\"period\":2,"
          "\"factor\":0.005,\"dimensions\":1,\"data\":\"1\""),
       ERR_ECG_UNSUPPORTED},
      {"11524-6", SD("\"period\":2,\"dimensions\":1,\"data\":\"1\""), ERR_ECG_MALFORMED},
      {"11524-6", GOOD "," SD(ORIGIN ",\"period\":2,\"dimensions\":1,\"data\":\"1 2\""),
       ERR_ECG_MALFORMED},
      {"11524-6", GOOD "," SD(ORIGIN ",\"period\":4,\"dimensions\":1,\"data\":\"1 2 3\""),
       ERR_ECG_UNSUPPORTED},
      {"11524-6",
       GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD
            "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD "," GOOD,
       ERR_OVERSIZE},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    int rc = parse_with(&r, cases[i].code, cases[i].comps);
    if (rc != cases[i].want) {
      fail_msg("case %zu: got %s, want %s", i, err_name(rc), err_name(cases[i].want));
    }
    assert_null(r.samples);
    assert_int_equal(r.nleads, 0);
  }
  assert_int_equal(api_ecg_observation_parse(&r, "{", 1), ERR_INVALID_JSON);
  assert_int_equal(api_ecg_observation_parse(&r, "[]", 2), ERR_ECG_MALFORMED);
  assert_int_equal(api_ecg_observation_parse(&r, "{\"resourceType\":\"Patient\"}", 26),
                   ERR_ECG_MALFORMED);
  assert_int_equal(api_ecg_observation_parse(&r, "{}", LIM_ECG_FILE_BYTES_MAX + 1), ERR_OVERSIZE);
  ecg_record_deinit(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_through_fhir),
      cmocka_unit_test(test_scaling_roundtrip),
      cmocka_unit_test(test_observation_rejections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
