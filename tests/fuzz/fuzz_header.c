/*
 * libFuzzer target: the block header decoder. Every input it accepts must
 * encode back to exactly the same bytes, and must hash.
 */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct block_header h;
  if (codec_header_decode(&h, data, size) != OK) {
    return 0;
  }
  uint8_t *out = malloc(size + 1);
  if (out == NULL) {
    abort();
  }
  size_t len = 0;
  if (codec_header_encode(&h, out, size, &len) != OK || len != size ||
      memcmp(out, data, size) != 0) {
    abort();
  }
  struct hash32 bh;
  if (codec_block_hash(&h, &bh) != OK) {
    abort();
  }
  free(out);
  return 0;
}
