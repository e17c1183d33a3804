/*
 * Unit tests of base: the error table's stability, hex, integer parsing and
 * big-endian helpers.
 */
#include "base/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* Names are a public contract: these must never change. */
static void test_error_names_stable(void **state) {
  (void)state;
  assert_string_equal(err_name(OK), "OK");
  assert_string_equal(err_name(ERR_BAD_SIGNATURE), "BAD_SIGNATURE");
  assert_string_equal(err_name(ERR_REPLAY), "REPLAY");
  assert_string_equal(err_name(ERR_WRONG_CHAIN), "WRONG_CHAIN");
  assert_string_equal(err_name(ERR_UNKNOWN_SENDER), "UNKNOWN_SENDER");
  assert_string_equal(err_name(ERR_OVERSIZE), "OVERSIZE");
  assert_string_equal(err_name(ERR_CONSENT_REQUIRED), "CONSENT_REQUIRED");
  assert_string_equal(err_name(ERR_MEMPOOL_FULL), "MEMPOOL_FULL");
  assert_string_equal(err_name(ERR_ROUTE), "ROUTE_NOT_FOUND");
  assert_int_equal(err_http_status(ERR_OVERSIZE), 413);
  assert_int_equal(err_http_status(ERR_UNAUTHORIZED), 403);
  assert_int_equal(err_http_status(ERR_RECORD_ERASED), 410);
  /* Out of range is a bug, answered as INTERNAL rather than a crash. */
  assert_string_equal(err_name(-1), "INTERNAL");
  assert_string_equal(err_name(ERR_COUNT_), "INTERNAL");
}

static void test_error_table_unique(void **state) {
  (void)state;
  for (int i = 0; i < ERR_COUNT_; i++) {
    assert_int_equal(err_from_name(err_name(i)), i);
    assert_true(strlen(err_str(i)) > 0);
    int http = err_http_status(i);
    assert_true(http >= 200 && http < 600);
    /* Upper case, underscores, digits after the first letter ("GS1_..."). */
    const char *name = err_name(i);
    assert_true(name[0] >= 'A' && name[0] <= 'Z');
    for (const char *p = name; *p != '\0'; p++) {
      assert_true((*p >= 'A' && *p <= 'Z') || *p == '_' || (*p >= '0' && *p <= '9'));
    }
  }
  assert_int_equal(err_from_name("NO_SUCH_CODE"), -1);
}

/* The numbers are protocol: results_hash and the tx index store them. */
static void test_error_numbers_pinned(void **state) {
  (void)state;
  static const char *const pinned[] = {
      "OK",
      "OUT_OF_MEMORY",
      "IO_ERROR",
      "STORE_CORRUPT",
      "STORE_FULL",
      "NOT_FOUND",
      "MALFORMED",
      "NONCANONICAL",
      "TRAILING_BYTES",
      "OVERSIZE",
      "BAD_SIGNATURE",
      "REPLAY",
      "NONCE_GAP",
      "WRONG_CHAIN",
      "UNKNOWN_SENDER",
      "KEY_MISMATCH",
      "IDENTITY_SUSPENDED",
      "UNKNOWN_CONTRACT",
      "UNKNOWN_METHOD",
      "BAD_ARGS",
      "UNAUTHORIZED",
      "ALREADY_EXISTS",
      "UNKNOWN_IDENTITY",
      "UNKNOWN_ORGANIZATION",
      "UNKNOWN_PATIENT",
      "UNKNOWN_RECORD",
      "UNKNOWN_CONSENT",
      "UNKNOWN_PROPOSAL",
      "NOT_MEMBER",
      "ALREADY_VOTED",
      "PROPOSAL_CLOSED",
      "CONSENT_REQUIRED",
      "CONSENT_EXPIRED",
      "CONSENT_REVOKED",
      "EXPIRY_IN_PAST",
      "RECORD_ERASED",
      "LIMIT_REACHED",
      "MEMPOOL_FULL",
      "DUPLICATE_TX",
      "TIMEOUT",
      "BAD_PASSPHRASE",
      "USAGE",
      "BAD_CONFIG",
      "BLOCK_INVALID",
      "TX_ROOT_MISMATCH",
      "STATE_ROOT_MISMATCH",
      "PREV_HASH_MISMATCH",
      "COMMIT_INVALID",
      "PROOF_INVALID",
      "INVALID_JSON",
      "ROUTE_NOT_FOUND",
      "METHOD_NOT_ALLOWED",
      "UNAVAILABLE",
      "BAD_REQUEST",
      "INTERNAL",
      "REQUEST_EXPIRED",
      "REQUEST_REPLAYED",
      "AUTH_REQUIRED",
      "NO_OPERATOR_KEY",
      "HASH_MISMATCH",
      "BLOB_QUOTA_EXCEEDED",
      "CONTENT_UNAVAILABLE",
      "REASON_REQUIRED",
      "ECG_MALFORMED",
      "ECG_UNSUPPORTED",
      "ECG_CHECKSUM",
      "ECG_RANGE",
      "SLOT_TAKEN",
      "SLOT_IN_PAST",
      "UNKNOWN_SLOT",
      "UNKNOWN_SCHEDULE",
      "UNKNOWN_APPOINTMENT",
      "CANCEL_CUTOFF",
      "NOT_YOUR_BOOKING",
      "APPOINTMENT_CLOSED",
      "GS1_MALFORMED",
      "GS1_CHECK_DIGIT",
      "SERIAL_EXISTS",
      "UNKNOWN_SERIAL",
      "NOT_HOLDER",
      "IN_TRANSIT",
      "NO_MATCHING_SHIPMENT",
      "PACKAGE_DISPENSED",
      "PACKAGE_DECOMMISSIONED",
      "LOT_RECALLED",
      "PACKAGE_EXPIRED",
      "UNKNOWN_GLN",
      "UNKNOWN_LOT",
      "IN_CASE",
      "EVENT_EXISTS",
      "UNKNOWN_PRESCRIPTION",
      "PRESCRIPTION_EXPIRED",
      "OVER_DISPENSE",
      "MEDICATION_MISMATCH",
      "SLOT_OVERLAP",
  };
  assert_int_equal(ERR_COUNT_, ARRAY_LEN(pinned));
  for (size_t i = 0; i < ARRAY_LEN(pinned); i++) {
    assert_string_equal(err_name((int)i), pinned[i]);
  }
}

static void test_hex(void **state) {
  (void)state;
  const uint8_t in[4] = {0x00, 0xab, 0x10, 0xff};
  char out[9];
  base_hex_encode(out, in, sizeof in);
  assert_string_equal(out, "00ab10ff");
  uint8_t back[4];
  assert_int_equal(base_hex_decode(back, 4, "00AB10ff"), OK);
  assert_memory_equal(back, in, 4);
  assert_int_equal(base_hex_decode(back, 4, "00ab10f"), ERR_MALFORMED);
  assert_int_equal(base_hex_decode(back, 4, "00ab10ffaa"), ERR_MALFORMED);
  assert_int_equal(base_hex_decode(back, 4, "00ab10fg"), ERR_MALFORMED);
  assert_int_equal(base_hex_decode(back, 4, NULL), ERR_MALFORMED);
  uint8_t var[3];
  size_t n = 0;
  assert_int_equal(base_hex_decode_var(var, sizeof var, &n, "0102"), OK);
  assert_int_equal(n, 2);
  assert_int_equal(base_hex_decode_var(var, sizeof var, &n, "010"), ERR_MALFORMED);
  assert_int_equal(base_hex_decode_var(var, sizeof var, &n, "01020304"), ERR_OVERSIZE);
  assert_int_equal(base_hex_decode_var(var, sizeof var, &n, ""), OK);
  assert_int_equal(n, 0);
}

static void test_parse_u64(void **state) {
  (void)state;
  uint64_t v = 1;
  assert_int_equal(base_parse_u64(&v, "0"), OK);
  assert_int_equal(v, 0);
  assert_int_equal(base_parse_u64(&v, "18446744073709551615"), OK);
  assert_true(v == UINT64_MAX);
  assert_int_equal(base_parse_u64(&v, "18446744073709551616"), ERR_MALFORMED);
  assert_int_equal(base_parse_u64(&v, "007"), ERR_MALFORMED);
  assert_int_equal(base_parse_u64(&v, "-1"), ERR_MALFORMED);
  assert_int_equal(base_parse_u64(&v, " 1"), ERR_MALFORMED);
  assert_int_equal(base_parse_u64(&v, "1x"), ERR_MALFORMED);
  assert_int_equal(base_parse_u64(&v, ""), ERR_MALFORMED);
  assert_int_equal(base_parse_u64(&v, NULL), ERR_MALFORMED);
}

static void test_big_endian(void **state) {
  (void)state;
  uint8_t b[8];
  base_put_u64be(b, 0x0102030405060708u);
  const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_memory_equal(b, want, 8);
  assert_true(base_get_u64be(b) == 0x0102030405060708u);
  base_put_u32be(b, 0xdeadbeefu);
  assert_int_equal(b[0], 0xde);
  assert_int_equal(b[3], 0xef);
  assert_true(base_get_u32be(b) == 0xdeadbeefu);
}

static void test_hash_helpers(void **state) {
  (void)state;
  struct hash32 a;
  struct hash32 z;
  memset(&a, 0x5a, sizeof a);
  memset(&z, 0, sizeof z);
  assert_true(base_hash_is_zero(&z));
  assert_false(base_hash_is_zero(&a));
  assert_true(base_hash_eq(&a, &a));
  assert_false(base_hash_eq(&a, &z));
  char hex[65];
  base_hash_hex(hex, &a);
  assert_int_equal(strlen(hex), 64);
  assert_int_equal(strncmp(hex, "5a5a", 4), 0);
}

static void test_clocks_move(void **state) {
  (void)state;
  uint64_t t0 = base_mono_ns();
  uint64_t t1 = base_mono_ns();
  assert_true(t1 >= t0);
  /* The wall clock is after 2020-01-01 on any machine this runs on. */
  assert_true(base_now_ms() > 1577836800000u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_names_stable), cmocka_unit_test(test_error_numbers_pinned),
      cmocka_unit_test(test_error_table_unique), cmocka_unit_test(test_hex),
      cmocka_unit_test(test_parse_u64),          cmocka_unit_test(test_big_endian),
      cmocka_unit_test(test_hash_helpers),       cmocka_unit_test(test_clocks_move),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
