/*
 * libFuzzer target: the commit decoder. Every input it accepts must encode
 * back to exactly the same bytes, must hash, and its signatures' indices
 * must be strictly increasing and below LIM_VALIDATORS_MAX.
 */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_indices(const struct commit *c) {
  if (c->count > LIM_VALIDATORS_MAX) {
    abort();
  }
  for (uint16_t i = 0; i < c->count; i++) {
    uint16_t index = c->sigs[i].validator_index;
    if (index >= LIM_VALIDATORS_MAX || (i > 0 && index <= c->sigs[i - 1].validator_index)) {
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct commit c;
  if (codec_commit_decode(&c, data, size) != OK) {
    return 0;
  }
  check_indices(&c);
  uint8_t *out = malloc(size + 1);
  if (out == NULL) {
    abort();
  }
  size_t len = 0;
  if (codec_commit_encode(&c, out, size, &len) != OK || len != size ||
      memcmp(out, data, size) != 0) {
    abort();
  }
  struct hash32 ch;
  if (codec_commit_hash(&c, &ch) != OK) {
    abort();
  }
  free(out);
  return 0;
}
