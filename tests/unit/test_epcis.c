/*
 * Unit tests of the EPCIS 2.0 event hash and translation (src/api/epcis.c):
 * SHA-256 and the "ni:" form against a published pre-hash and hash of the
 * reference implementation (epcis-event-hash-generator, test file
 * epcisDocWithShippingAndTransportingEvent); the pre-hash of the
 * reference's single-event document byte for byte as published in
 * epcis2.js's test vectors (epcisDocWithSingleEventPreHash); our pre-hash of
 * a shipping event, independence from JSON key order, list order and
 * time zone, sensitivity to any change, and each event kind's contract
 * call.
 */
#include "api/api_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static json_t *parse(const char *s) {
  json_error_t err;
  json_t *j = json_loads(s, 0, &err);
  assert_non_null(j);
  return j;
}

/* The reference implementation's pre-hash of its first test event and the
 * hash it publishes for it. */
static void test_reference_vector(void **state) {
  (void)state;
  const char pre[] =
      "eventType=ObjectEventeventTime=2020-02-20T11:50:00.000ZeventTimeZoneOffset=+01:00epcListep"
      "c=https://id.gs1.org/00/1401234511122233348action=OBSERVEbizStep=https://ns.gs1.org/voc/Bi"
      "zstep-departingreadPointid=https://id.gs1.org/414/4012345000221bizTransactionListbizTransa"
      "ction=urn:epcglobal:cbv:bt:4012345000009:ASN1099type=https://ns.gs1.org/voc/BTT-desadvsour"
      "ceListsource=https://id.gs1.org/414/4012345000009type=https://ns.gs1.org/voc/SDT-possessin"
      "g_partydestinationListdestination=https://id.gs1.org/414/4023333000000type=https://ns.gs1."
      "org/voc/SDT-possessing_party";
  struct hash32 h;
  cry_sha256(&h, (const uint8_t *)pre, strlen(pre));
  char uri[API_EPCIS_HASH_URI_MAX];
  api_epcis_hash_uri(uri, &h);
  assert_string_equal(
      uri, "ni:///sha-256;37dcc1b6d12dbd40275f324d4fb5fe0623075e47d080b9fcea26019fa7bd85b5"
           "?ver=CBV2.0");
}

static const char ship_event[] =
    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-03-01T10:00:00.5+01:00\","
    "\"eventTimeZoneOffset\":\"+01:00\",\"recordTime\":\"2024-03-01T10:00:01Z\","
    "\"epcList\":[\"urn:epc:id:sgtin:0614141.812345.S2\",\"urn:epc:id:sgtin:0614141.812345.S1\"],"
    "\"action\":\"OBSERVE\",\"bizStep\":\"shipping\",\"disposition\":\"in_transit\","
    "\"readPoint\":{\"id\":\"urn:epc:id:sgln:0614141.00001.0\"},"
    "\"sourceList\":[{\"type\":\"owning_party\",\"source\":\"urn:epc:id:pgln:0614141.00001\"}],"
    "\"destinationList\":[{\"type\":\"owning_party\","
    "\"destination\":\"urn:epc:id:pgln:0614141.00002\"}]}";

/* The reference's single-event document (2005 version) and its pre-hash
 * as epcis2.js 2.7.3 publishes it; the hash is the one epcis2.js computes. */
static void test_published_prehash(void **state) {
  (void)state;
  json_t *ev = parse(
      "{\"type\":\"ObjectEvent\",\"action\":\"OBSERVE\",\"bizStep\":\"shipping\","
      "\"disposition\":\"in_transit\",\"epcList\":[\"urn:epc:id:sgtin:0614141.107346.2017\","
      "\"urn:epc:id:sgtin:0614141.107346.2018\"],\"eventTime\":\"2005-04-03T20:33:31.116-06:00\","
      "\"eventTimeZoneOffset\":\"-06:00\",\"readPoint\":{\"id\":"
      "\"urn:epc:id:sgln:0614141.07346.1234\"},\"bizTransactionList\":[{\"type\":\"po\","
      "\"bizTransaction\":\"http://transaction.acme.com/po/12345678\"}]}");
  char pre[API_EPCIS_PREHASH_MAX];
  size_t len = 0;
  assert_int_equal(api_epcis_prehash(ev, pre, sizeof(pre), &len), OK);
  assert_string_equal(
      pre, "eventType=ObjectEventeventTime=2005-04-04T02:33:31.116ZeventTimeZoneOffset=-06:00"
           "epcListepc=https://id.gs1.org/01/10614141073464/21/2017epc=https://id.gs1.org/01/"
           "10614141073464/21/2018action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shipping"
           "disposition=https://ref.gs1.org/cbv/Disp-in_transitreadPointid=https://id.gs1.org/414/"
           "0614141073467/254/1234bizTransactionListtype=https://ref.gs1.org/cbv/BTT-po"
           "bizTransaction=http://transaction.acme.com/po/12345678");
  struct hash32 h;
  assert_int_equal(api_epcis_event_hash(ev, &h), OK);
  char uri[API_EPCIS_HASH_URI_MAX];
  api_epcis_hash_uri(uri, &h);
  assert_string_equal(
      uri, "ni:///sha-256;df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6"
           "?ver=CBV2.0");
  json_decref(ev);
}

/* An SSCC takes the reference implementations' 19-digit Digital Link in
 * the pre-hash (see hash_dl in epcis.c); the hash is epcis2.js's. */
static void test_sscc_compat(void **state) {
  (void)state;
  json_t *ev = parse("{\"type\":\"AggregationEvent\",\"eventTime\":\"2024-03-01T08:00:00Z\","
                     "\"eventTimeZoneOffset\":\"+00:00\","
                     "\"parentID\":\"urn:epc:id:sscc:0614141.1234567890\","
                     "\"childEPCs\":[\"urn:epc:id:sgtin:0614141.812345.S1\"],"
                     "\"action\":\"ADD\",\"bizStep\":\"packing\"}");
  char pre[API_EPCIS_PREHASH_MAX];
  size_t len = 0;
  assert_int_equal(api_epcis_prehash(ev, pre, sizeof(pre), &len), OK);
  assert_non_null(strstr(pre, "parentID=https://id.gs1.org/00/1061414112345678901child"));
  struct hash32 h;
  assert_int_equal(api_epcis_event_hash(ev, &h), OK);
  char uri[API_EPCIS_HASH_URI_MAX];
  api_epcis_hash_uri(uri, &h);
  assert_string_equal(
      uri, "ni:///sha-256;75d3b921439a6ad0505ed18c17804e3d13e7989330efeb35899853f0d21e0d3b"
           "?ver=CBV2.0");
  json_decref(ev);
}

static void test_prehash(void **state) {
  (void)state;
  json_t *ev = parse(ship_event);
  char pre[API_EPCIS_PREHASH_MAX];
  size_t len = 0;
  assert_int_equal(api_epcis_prehash(ev, pre, sizeof(pre), &len), OK);
  assert_string_equal(pre, "eventType=ObjectEvent"
                           "eventTime=2024-03-01T09:00:00.500Z"
                           "eventTimeZoneOffset=+01:00"
                           "epcList"
                           "epc=https://id.gs1.org/01/80614141123458/21/S1"
                           "epc=https://id.gs1.org/01/80614141123458/21/S2"
                           "action=OBSERVE"
                           "bizStep=https://ref.gs1.org/cbv/BizStep-shipping"
                           "disposition=https://ref.gs1.org/cbv/Disp-in_transit"
                           "readPointid=https://id.gs1.org/414/0614141000012"
                           "sourceListtype=https://ref.gs1.org/cbv/SDT-owning_party"
                           "source=https://id.gs1.org/417/0614141000012"
                           "destinationListtype=https://ref.gs1.org/cbv/SDT-owning_party"
                           "destination=https://id.gs1.org/417/0614141000029");
  assert_int_equal(len, strlen(pre));
  json_decref(ev);
}

static void test_hash_invariance(void **state) {
  (void)state;
  json_t *a = parse(ship_event);
  /* Same event: other key order, other EPC order, URN vocabulary, the
   * same instant written in UTC, no recordTime. */
  json_t *b = parse(
      "{\"destinationList\":[{\"destination\":\"urn:epc:id:pgln:0614141.00002\","
      "\"type\":\"urn:epcglobal:cbv:sdt:owning_party\"}],"
      "\"bizStep\":\"urn:epcglobal:cbv:bizstep:shipping\",\"action\":\"OBSERVE\","
      "\"eventTimeZoneOffset\":\"+01:00\",\"eventTime\":\"2024-03-01T09:00:00.500Z\","
      "\"epcList\":[\"urn:epc:id:sgtin:0614141.812345.S1\",\"urn:epc:id:sgtin:0614141.812345.S2\"],"
      "\"disposition\":\"https://ref.gs1.org/cbv/Disp-in_transit\","
      "\"readPoint\":{\"id\":\"urn:epc:id:sgln:0614141.00001.0\"},\"type\":\"ObjectEvent\","
      "\"sourceList\":[{\"type\":\"owning_party\",\"source\":\"urn:epc:id:pgln:0614141.00001\"}]}");
  struct hash32 ha;
  struct hash32 hb;
  assert_int_equal(api_epcis_event_hash(a, &ha), OK);
  assert_int_equal(api_epcis_event_hash(b, &hb), OK);
  assert_memory_equal(ha.b, hb.b, 32);
  /* Any change moves the hash. */
  json_object_set_new(b, "eventTime", json_string("2024-03-01T09:00:00.501Z"));
  assert_int_equal(api_epcis_event_hash(b, &hb), OK);
  assert_memory_not_equal(ha.b, hb.b, 32);
  json_decref(b);
  /* Unsupported fields, bad EPCs and bad times are refused, not ignored. */
  json_object_set_new(a, "sensorElementList", json_array());
  assert_int_equal(api_epcis_event_hash(a, &hb), ERR_BAD_REQUEST);
  json_object_del(a, "sensorElementList");
  json_object_set_new(a, "eventTime", json_string("yesterday"));
  assert_int_equal(api_epcis_event_hash(a, &hb), ERR_BAD_REQUEST);
  json_decref(a);
}

static void test_calls(void **state) {
  (void)state;
  struct api_epcis_call call;
  json_t *ship = parse(ship_event);
  assert_int_equal(api_epcis_event_call(ship, &call), OK);
  assert_string_equal(call.contract, "supply");
  assert_string_equal(call.method, "ship");
  const struct ctr_method *m = ctr_method_find((struct bytes){(const uint8_t *)"supply", 6},
                                               (struct bytes){(const uint8_t *)"ship", 4});
  struct codec_value v[LIM_FIELDS_MAX];
  assert_int_equal(codec_record_decode(m->args, v, call.args, call.args_len), OK);
  struct hash32 h;
  assert_int_equal(api_epcis_event_hash(ship, &h), OK);
  assert_memory_equal(v[0].id.b, h.b, 32);
  const char epcs[] = "urn:epc:id:sgtin:0614141.812345.S2 urn:epc:id:sgtin:0614141.812345.S1";
  assert_int_equal(v[1].bytes.len, strlen(epcs));
  assert_memory_equal(v[1].bytes.ptr, epcs, strlen(epcs));
  assert_memory_equal(v[2].bytes.ptr, "0614141000012", 13);
  assert_memory_equal(v[3].bytes.ptr, "0614141000029", 13);
  assert_int_equal(v[4].u64, 1709283600500ull);
  json_decref(ship);

  json_t *com = parse("{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-03-01T08:00:00Z\","
                      "\"eventTimeZoneOffset\":\"+00:00\","
                      "\"epcList\":[\"urn:epc:id:sgtin:0614141.812345.S1\"],\"action\":\"ADD\","
                      "\"bizStep\":\"commissioning\",\"ilmd\":{\"cbvmda:lotNumber\":\"L1\","
                      "\"cbvmda:itemExpirationDate\":\"2030-12-31\"}}");
  assert_int_equal(api_epcis_event_call(com, &call), OK);
  assert_string_equal(call.method, "commission");
  json_object_set_new(json_object_get(com, "ilmd"), "cbvmda:itemExpirationDate",
                      json_string("2030-02-30"));
  assert_int_equal(api_epcis_event_call(com, &call), ERR_BAD_REQUEST);
  json_decref(com);

  json_t *pack = parse("{\"type\":\"AggregationEvent\",\"eventTime\":\"2024-03-01T08:00:00Z\","
                       "\"eventTimeZoneOffset\":\"+00:00\","
                       "\"parentID\":\"urn:epc:id:sscc:0614141.1234567890\","
                       "\"childEPCs\":[\"urn:epc:id:sgtin:0614141.812345.S1\"],"
                       "\"action\":\"ADD\",\"bizStep\":\"packing\"}");
  assert_int_equal(api_epcis_event_call(pack, &call), OK);
  assert_string_equal(call.method, "pack");
  json_decref(pack);

  json_t *disp = parse(
      "{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-03-01T08:00:00Z\","
      "\"eventTimeZoneOffset\":\"+00:00\",\"epcList\":[\"urn:epc:id:sgtin:0614141.812345.S1\"],"
      "\"action\":\"OBSERVE\",\"bizStep\":\"dispensing\",\"bizTransactionList\":[{\"type\":"
      "\"prescription\",\"bizTransaction\":\"urn:medchain:rx:"
      "0101010101010101010101010101010101010101010101010101010101010101\"}]}");
  assert_int_equal(api_epcis_event_call(disp, &call), OK);
  assert_string_equal(call.contract, "rx");
  assert_string_equal(call.method, "dispense");
  json_object_set_new(disp, "bizStep", json_string("storing"));
  assert_int_equal(api_epcis_event_call(disp, &call), ERR_BAD_REQUEST);
  json_decref(disp);
}

int main(void) {
  assert_int_equal(cry_init(), OK);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_vector), cmocka_unit_test(test_published_prehash),
      cmocka_unit_test(test_sscc_compat),      cmocka_unit_test(test_prehash),
      cmocka_unit_test(test_hash_invariance),  cmocka_unit_test(test_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
