/*
 * libFuzzer target: the GS1 readers that see scanned or partner-supplied
 * text (element strings, human-readable form, Digital Link, EPC URIs).
 * Whatever they accept must be self-consistent: keys carry valid check
 * digits, texts are in set 82, and an EPC URI re-encodes to a URI that
 * parses back to the same key.
 */
#include "gs1/gs1.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_element(const char *s, size_t n) {
  struct gs1_element e;
  if (gs1_element_parse(&e, s, n) != OK) {
    return;
  }
  assert(e.gtin[0] != '\0' || e.sscc[0] != '\0');
  assert(e.gtin[0] == '\0' || gs1_key_valid(e.gtin, GS1_GTIN_LEN));
  assert(e.sscc[0] == '\0' || gs1_key_valid(e.sscc, GS1_SSCC_LEN));
  assert(e.serial[0] == '\0' || gs1_text_ok(e.serial, strlen(e.serial)));
  assert(e.lot[0] == '\0' || gs1_text_ok(e.lot, strlen(e.lot)));
  assert(e.expiry == 0 || gs1_date_valid(e.expiry));
  char dl[GS1_URI_MAX];
  if (e.gtin[0] != '\0' && gs1_element_dl(dl, sizeof(dl), &e) == OK) {
    struct gs1_element back;
    int rc = gs1_element_parse(&back, dl, strlen(dl));
    assert(rc == OK);
    assert(strcmp(back.gtin, e.gtin) == 0 && strcmp(back.serial, e.serial) == 0);
    assert(strcmp(back.lot, e.lot) == 0 && back.expiry == e.expiry);
  }
}

static void check_epc(const char *s, size_t n) {
  struct gs1_epc e;
  if (gs1_epc_parse(&e, s, n) != OK) {
    return;
  }
  char uri[GS1_URI_MAX];
  int rc = gs1_epc_uri(uri, sizeof(uri), &e);
  assert(rc == OK);
  struct gs1_epc back;
  rc = gs1_epc_parse(&back, uri, strlen(uri));
  assert(rc == OK);
  assert(memcmp(&back, &e, sizeof(e)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > GS1_INPUT_MAX + 16) {
    return 0;
  }
  char *s = malloc(size + 1);
  if (s == NULL) {
    return 0;
  }
  memcpy(s, data, size);
  s[size] = '\0';
  check_element(s, size);
  check_epc(s, size);
  uint32_t d = 0;
  if (gs1_date_parse(&d, s, size) == OK) {
    assert(gs1_date_valid(d));
  }
  free(s);
  return 0;
}
