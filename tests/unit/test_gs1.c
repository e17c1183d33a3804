/*
 * Unit tests of gs1: check digits against published keys (GS1 and EPC Tag
 * Data Standard examples), dates with day 00, DataMatrix element strings
 * with GS separators and symbology identifiers, the human-readable form,
 * EPC URIs both ways and GS1 Digital Link URIs.
 */
#include "gs1/gs1.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static bool valid(const char *s) {
  return gs1_key_valid(s, strlen(s));
}

/* Published keys: EAN-13 4006381333931, UPC-A 036000291452, EAN-8
 * 96385074 (the GS1 and Wikipedia check-digit examples), GTIN-14
 * 80614141123458 and SSCC 106141412345678908 (EPC Tag Data Standard),
 * GTIN 04012345111118 (GS1 EPC/Digital Link translator example). */
static void test_check_digits(void **state) {
  (void)state;
  assert_true(valid("4006381333931"));
  assert_true(valid("036000291452"));
  assert_true(valid("96385074"));
  assert_true(valid("80614141123458"));
  assert_true(valid("106141412345678908"));
  assert_true(valid("04012345111118"));
  assert_false(valid("4006381333932"));
  assert_false(valid("96385075"));
  assert_false(valid("80614141123459"));
  assert_int_equal(gs1_check_digit("400638133393", 12), 1);
  assert_int_equal(gs1_check_digit("03600029145", 11), 2);
  assert_int_equal(gs1_check_digit("8061414112345", 13), 8);
  assert_int_equal(gs1_check_digit("12a", 3), -1);
  assert_int_equal(gs1_check_digit("", 0), -1);
}

static void test_gtin_normalize(void **state) {
  (void)state;
  char g[GS1_GTIN_LEN + 1];
  assert_int_equal(gs1_gtin_normalize(g, "96385074", 8), OK);
  assert_string_equal(g, "00000096385074");
  assert_int_equal(gs1_gtin_normalize(g, "036000291452", 12), OK);
  assert_string_equal(g, "00036000291452");
  assert_int_equal(gs1_gtin_normalize(g, "4006381333931", 13), OK);
  assert_string_equal(g, "04006381333931");
  assert_int_equal(gs1_gtin_normalize(g, "80614141123458", 14), OK);
  assert_string_equal(g, "80614141123458");
  assert_int_equal(gs1_gtin_normalize(g, "4006381333932", 13), ERR_GS1_CHECK_DIGIT);
  assert_string_equal(g, "");
  assert_int_equal(gs1_gtin_normalize(g, "400638133393", 11), ERR_GS1_MALFORMED);
  assert_int_equal(gs1_gtin_normalize(g, "40063813339x1", 13), ERR_GS1_MALFORMED);
  assert_int_equal(gs1_gln_check("4012345000009", 13), OK);
  assert_int_equal(gs1_gln_check("4012345000008", 13), ERR_GS1_CHECK_DIGIT);
  assert_int_equal(gs1_gln_check("401234500000", 12), ERR_GS1_MALFORMED);
}

static void test_dates(void **state) {
  (void)state;
  uint32_t d = 0;
  assert_int_equal(gs1_date_parse(&d, "250531", 6), OK);
  assert_int_equal(d, 20250531);
  assert_int_equal(gs1_date_parse(&d, "250500", 6), OK); /* day 00: end of month */
  assert_int_equal(d, 20250531);
  assert_int_equal(gs1_date_parse(&d, "240200", 6), OK); /* leap year */
  assert_int_equal(d, 20240229);
  assert_int_equal(gs1_date_parse(&d, "230200", 6), OK);
  assert_int_equal(d, 20230228);
  assert_int_equal(gs1_date_parse(&d, "230229", 6), ERR_GS1_MALFORMED);
  assert_int_equal(gs1_date_parse(&d, "231301", 6), ERR_GS1_MALFORMED);
  assert_int_equal(gs1_date_parse(&d, "2312", 4), ERR_GS1_MALFORMED);
  assert_int_equal(gs1_date_of_ms(0), 19700101);
  assert_int_equal(gs1_date_of_ms(1700000000000ull), 20231114);
  assert_int_equal(gs1_date_of_ms(951782400000ull), 20000229);
  assert_int_equal(gs1_date_of_ms(4102444799999ull), 20991231);
  assert_true(gs1_date_valid(20240229));
  assert_false(gs1_date_valid(20230229));
}

static void test_element_raw(void **state) {
  (void)state;
  struct gs1_element e;
  /* GTIN, expiry (day 00), lot then GS, serial last: the usual DataMatrix. */
  const char scan[] = "]d20180614141123458172505001"
                      "0AB-12\x1d"
                      "21SN/0001";
  assert_int_equal(gs1_element_parse(&e, scan, strlen(scan)), OK);
  assert_string_equal(e.gtin, "80614141123458");
  assert_string_equal(e.lot, "AB-12");
  assert_string_equal(e.serial, "SN/0001");
  assert_int_equal(e.expiry, 20250531);
  assert_string_equal(e.expiry_raw, "250500");
  /* Serial first, GS after it, FNC1 as a leading GS, no symbology id. */
  const char scan2[] = "\x1d"
                       "21123\x1d"
                       "0104006381333931"
                       "10L1";
  assert_int_equal(gs1_element_parse(&e, scan2, strlen(scan2)), OK);
  assert_string_equal(e.gtin, "04006381333931");
  assert_string_equal(e.serial, "123");
  assert_string_equal(e.lot, "L1");
  assert_int_equal(e.expiry, 0);
  /* Wrong check digit, unknown AI, repeated AI, no key, overlong lot. */
  const char bad_cd[] = "010806141411234592112";
  assert_int_equal(gs1_element_parse(&e, bad_cd, strlen(bad_cd)), ERR_GS1_CHECK_DIGIT);
  assert_string_equal(e.gtin, "");
  const char unknown[] = "0180614141123458"
                         "99X";
  assert_int_equal(gs1_element_parse(&e, unknown, strlen(unknown)), ERR_GS1_MALFORMED);
  const char twice[] = "2112\x1d"
                       "2113\x1d"
                       "0180614141123458";
  assert_int_equal(gs1_element_parse(&e, twice, strlen(twice)), ERR_GS1_MALFORMED);
  const char nokey[] = "21ABC";
  assert_int_equal(gs1_element_parse(&e, nokey, strlen(nokey)), ERR_GS1_MALFORMED);
  const char longlot[] = "0180614141123458"
                         "10ABCDEFGHIJKLMNOPQRSTU";
  assert_int_equal(gs1_element_parse(&e, longlot, strlen(longlot)), ERR_GS1_MALFORMED);
  const char space[] = "0180614141123458"
                       "21A B";
  assert_int_equal(gs1_element_parse(&e, space, strlen(space)), ERR_GS1_MALFORMED);
  const char shortg[] = "01806141411234";
  assert_int_equal(gs1_element_parse(&e, shortg, strlen(shortg)), ERR_GS1_MALFORMED);
  const char sscc[] = "00106141412345678908";
  assert_int_equal(gs1_element_parse(&e, sscc, strlen(sscc)), OK);
  assert_string_equal(e.sscc, "106141412345678908");
}

static void test_element_hri_and_dl(void **state) {
  (void)state;
  struct gs1_element e;
  const char hri[] = "(01)80614141123458(17)240200(10)LOT7(21)0042";
  assert_int_equal(gs1_element_parse(&e, hri, strlen(hri)), OK);
  assert_string_equal(e.gtin, "80614141123458");
  assert_int_equal(e.expiry, 20240229);
  assert_string_equal(e.lot, "LOT7");
  assert_string_equal(e.serial, "0042");
  const char hri_bad[] = "(01)80614141123457(21)1";
  assert_int_equal(gs1_element_parse(&e, hri_bad, strlen(hri_bad)), ERR_GS1_CHECK_DIGIT);
  const char dl[] = "https://id.gs1.org/01/04012345111118/21/987";
  assert_int_equal(gs1_element_parse(&e, dl, strlen(dl)), OK);
  assert_string_equal(e.gtin, "04012345111118");
  assert_string_equal(e.serial, "987");
  const char dl2[] = "https://example.com/shop/01/80614141123458/10/L%2F1/21/A%26B?17=250500&x=1";
  assert_int_equal(gs1_element_parse(&e, dl2, strlen(dl2)), OK);
  assert_string_equal(e.lot, "L/1");
  assert_string_equal(e.serial, "A&B");
  assert_int_equal(e.expiry, 20250531);
  char uri[GS1_URI_MAX];
  assert_int_equal(gs1_element_dl(uri, sizeof(uri), &e), OK);
  assert_string_equal(uri, "https://id.gs1.org/01/80614141123458/10/L%2F1/21/A%26B?17=250500");
  const char dl_nokey[] = "https://example.com/21/5";
  assert_int_equal(gs1_element_parse(&e, dl_nokey, strlen(dl_nokey)), ERR_GS1_MALFORMED);
}

/* EPC Tag Data Standard examples and the GS1 translator's example. */
static void test_epc_uris(void **state) {
  (void)state;
  char uri[GS1_URI_MAX];
  assert_int_equal(gs1_sgtin_uri(uri, sizeof(uri), "80614141123458", "6789", 7), OK);
  assert_string_equal(uri, "urn:epc:id:sgtin:0614141.812345.6789");
  assert_int_equal(gs1_sgtin_uri(uri, sizeof(uri), "04012345111118", "987", 7), OK);
  assert_string_equal(uri, "urn:epc:id:sgtin:4012345.011111.987");
  assert_int_equal(gs1_sgtin_uri(uri, sizeof(uri), "80614141123458", "a/b&c", 12), OK);
  assert_string_equal(uri, "urn:epc:id:sgtin:061414112345.8.a%2Fb%26c");
  assert_int_equal(gs1_sscc_uri(uri, sizeof(uri), "106141412345678908", 7), OK);
  assert_string_equal(uri, "urn:epc:id:sscc:0614141.1234567890");
  assert_int_equal(gs1_sgtin_uri(uri, sizeof(uri), "80614141123459", "1", 7), ERR_GS1_CHECK_DIGIT);
  assert_int_equal(gs1_sgtin_uri(uri, sizeof(uri), "80614141123458", "1", 5), ERR_GS1_MALFORMED);
  assert_int_equal(gs1_sgtin_uri(uri, 20, "80614141123458", "1", 7), ERR_OVERSIZE);

  struct gs1_epc e;
  const char s1[] = "urn:epc:id:sgtin:0614141.812345.6789";
  assert_int_equal(gs1_epc_parse(&e, s1, strlen(s1)), OK);
  assert_int_equal(e.kind, GS1_EPC_SGTIN);
  assert_string_equal(e.gtin, "80614141123458");
  assert_string_equal(e.serial, "6789");
  assert_int_equal(e.prefix_len, 7);
  assert_int_equal(gs1_epc_dl(uri, sizeof(uri), &e), OK);
  assert_string_equal(uri, "https://id.gs1.org/01/80614141123458/21/6789");
  const char s2[] = "urn:epc:id:sscc:0614141.1234567890";
  assert_int_equal(gs1_epc_parse(&e, s2, strlen(s2)), OK);
  assert_string_equal(e.sscc, "106141412345678908");
  assert_int_equal(gs1_epc_dl(uri, sizeof(uri), &e), OK);
  assert_string_equal(uri, "https://id.gs1.org/00/106141412345678908");
  assert_int_equal(gs1_epc_uri(uri, sizeof(uri), &e), OK);
  assert_string_equal(uri, s2);
  const char s3[] = "urn:epc:id:sgtin:061414112345.8.a%2Fb%26c";
  assert_int_equal(gs1_epc_parse(&e, s3, strlen(s3)), OK);
  assert_string_equal(e.serial, "a/b&c");
  assert_int_equal(gs1_epc_uri(uri, sizeof(uri), &e), OK);
  assert_string_equal(uri, s3);
  static const char *const bad[] = {
      "urn:epc:id:sgtin:0614141.81234.6789", /* item ref one digit short */
      "urn:epc:id:sgtin:06141.8123456.6789", /* prefix too short */
      "urn:epc:id:sgtin:0614141.812345.",    /* no serial */
      "urn:epc:id:sgtin:0614141.812345.a b", /* space */
      "urn:epc:id:sgtin:0614141.812345.%zz", /* bad escape */
      "urn:epc:id:sscc:0614141.123456789",   /* short */
      "urn:epc:id:sgln:0614141.12345.0",     /* not a package */
      "urn:epc:id:sgtin:0614141.812345.123456789012345678901",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(gs1_epc_parse(&e, bad[i], strlen(bad[i])), ERR_GS1_MALFORMED);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_digits),
      cmocka_unit_test(test_gtin_normalize),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_element_raw),
      cmocka_unit_test(test_element_hri_and_dl),
      cmocka_unit_test(test_epc_uris),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
