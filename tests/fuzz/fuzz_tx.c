/*
 * libFuzzer target: the transaction decoder. Every input it accepts must
 * encode back to exactly the same bytes (the codec's canonical-encoding
 * property), and hashing an accepted transaction must succeed.
 */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tx tx;
  if (codec_tx_decode(&tx, data, size) != OK) {
    return 0;
  }
  /* Exactly size bytes of room: an encoder needing more is a failure too. */
  uint8_t *out = malloc(size + 1);
  if (out == NULL) {
    abort();
  }
  size_t len = 0;
  if (codec_tx_encode(&tx, out, size, &len) != OK || len != size || memcmp(out, data, size) != 0) {
    abort();
  }
  struct hash32 h;
  codec_tx_hash(&h, out, len);
  if (codec_tx_sighash(&tx, &h) != OK) {
    abort();
  }
  free(out);
  return 0;
}
