/*
 * Unit tests of the FHIR R4 renderers of appointments (src/api/fhir_appt.c):
 * entities encoded under the contracts' schemas, rendered, and read back
 * field by field as a FHIR client would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api_internal.h"

#include <string.h>

static struct hash32 h(uint8_t b) {
  struct hash32 x;
  memset(x.b, b, sizeof(x.b));
  return x;
}

static struct codec_value vid(uint8_t b) {
  return (struct codec_value){.type = CODEC_ID, .id = h(b)};
}
static struct codec_value vstr(const char *s) {
  return (struct codec_value){.type = CODEC_STR, .bytes = {(const uint8_t *)s, strlen(s)}};
}
static struct codec_value vu(uint64_t x) {
  return (struct codec_value){.type = CODEC_U64, .u64 = x};
}

static size_t encode(enum ctr_kind kind, const struct codec_value *vals, uint8_t *out) {
  size_t len = 0;
  assert_int_equal(codec_record_encode(ctr_kind_schema(kind), vals, out, 4096, &len), OK);
  return len;
}

static const char *sget(json_t *o, const char *path) {
  json_t *v = o;
  char buf[128];
  snprintf(buf, sizeof(buf), "%s", path);
  for (char *save = NULL, *t = strtok_r(buf, ".", &save); t != NULL && v != NULL;
       t = strtok_r(NULL, ".", &save)) {
    v = json_is_array(v) ? json_array_get(v, (size_t)(t[0] - '0')) : json_object_get(v, t);
  }
  assert_non_null(v);
  return json_string_value(v);
}

static void test_slot(void **state) {
  (void)state;
  uint8_t buf[4096];
  const struct codec_value vals[] = {vid(1),
                                     vid(2),
                                     vid(3),
                                     vid(4),
                                     vstr("consult"),
                                     vu(1795000000123ull),
                                     vu(1795001800123ull),
                                     vstr("free"),
                                     vid(0),
                                     vu(7)};
  size_t len = encode(CTR_SLOT, vals, buf);
  json_t *o = api_fhir_slot((struct bytes){buf, len});
  assert_non_null(o);
  assert_string_equal(sget(o, "resourceType"), "Slot");
  assert_string_equal(sget(o, "status"), "free");
  assert_string_equal(sget(o, "start"), "2026-11-18T11:06:40.123Z");
  assert_string_equal(sget(o, "end"), "2026-11-18T11:36:40.123Z");
  assert_string_equal(sget(o, "schedule.reference"),
                      "Schedule/0202020202020202020202020202020202020202020202020202020202020202");
  assert_string_equal(sget(o, "serviceType.0.text"), "consult");
  json_decref(o);
  assert_null(api_fhir_slot((struct bytes){buf, len - 1}));
}

static void test_schedule(void **state) {
  (void)state;
  uint8_t buf[4096];
  const struct codec_value vals[] = {vid(1), vid(2), vid(3), vstr("x-ray"), vu(1)};
  size_t len = encode(CTR_SCHEDULE, vals, buf);
  json_t *o = api_fhir_schedule((struct bytes){buf, len});
  assert_non_null(o);
  assert_string_equal(sget(o, "resourceType"), "Schedule");
  assert_string_equal(
      sget(o, "actor.0.reference"),
      "Practitioner/0303030303030303030303030303030303030303030303030303030303030303");
  assert_string_equal(
      sget(o, "actor.1.reference"),
      "Organization/0202020202020202020202020202020202020202020202020202020202020202");
  json_decref(o);
}

static size_t appt(uint8_t *buf, const char *status) {
  struct codec_value keys = {.type = CODEC_KEYS, .bytes = {NULL, 0}, .count = 0};
  struct codec_value pk = {.type = CODEC_PUBKEY, .id = h(9)};
  const struct codec_value vals[] = {
      vid(1), vid(2), vid(3), vid(4), vu(1795000000000ull), vu(1795001800000ull),
      vid(5), vid(6), pk,     keys,   vstr(status),         vu(3),
      vu(4),  vid(0)};
  return encode(CTR_APPT, vals, buf);
}

static void test_appointment(void **state) {
  (void)state;
  uint8_t buf[4096];
  size_t len = appt(buf, "checked_in");
  json_t *o = api_fhir_appointment((struct bytes){buf, len}, NULL);
  assert_non_null(o);
  assert_string_equal(sget(o, "resourceType"), "Appointment");
  assert_string_equal(sget(o, "status"), "checked-in");
  assert_string_equal(sget(o, "slot.0.reference"),
                      "Slot/0202020202020202020202020202020202020202020202020202020202020202");
  assert_int_equal(json_array_size(json_object_get(o, "participant")), 1);
  json_decref(o);
  struct hash32 patient = h(0x77);
  len = appt(buf, "rescheduled");
  o = api_fhir_appointment((struct bytes){buf, len}, &patient);
  assert_string_equal(sget(o, "status"), "cancelled");
  assert_string_equal(sget(o, "cancelationReason.text"), "rescheduled");
  assert_string_equal(sget(o, "participant.1.actor.reference"),
                      "Patient/7777777777777777777777777777777777777777777777777777777777777777");
  json_t *arr = json_array();
  json_array_append(arr, o);
  json_decref(o);
  json_t *b = api_fhir_searchset(arr);
  assert_string_equal(sget(b, "type"), "searchset");
  assert_int_equal(json_integer_value(json_object_get(b, "total")), 1);
  assert_string_equal(sget(b, "entry.0.resource.resourceType"), "Appointment");
  json_decref(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slot),
      cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_appointment),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
