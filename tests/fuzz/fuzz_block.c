/*
 * libFuzzer target: the block decoder. Every input it accepts must encode
 * back to exactly the same bytes, with as many transactions as its header
 * says. struct block is ~70 KiB, so one is allocated for the whole run.
 */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct block *fuzz_block;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_block == NULL) {
    fuzz_block = calloc(1, sizeof(*fuzz_block));
    if (fuzz_block == NULL) {
      abort();
    }
  }
  struct block *b = fuzz_block;
  if (codec_block_decode(b, data, size) != OK) {
    return 0;
  }
  if (b->tx_count != b->header.tx_count || b->tx_count > LIM_BLOCK_TXS_MAX) {
    abort();
  }
  uint8_t *out = malloc(size + 1);
  if (out == NULL) {
    abort();
  }
  size_t len = 0;
  if (codec_block_encode(b, out, size, &len) != OK || len != size || memcmp(out, data, size) != 0) {
    abort();
  }
  free(out);
  return 0;
}
