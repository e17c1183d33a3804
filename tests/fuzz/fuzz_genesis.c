/*
 * libFuzzer target: the genesis decoder. Every input it accepts (which
 * includes passing every genesis rule) must encode back to exactly the same
 * bytes, and hash. struct ledger_genesis is ~12 KiB, so one is allocated for
 * the whole run.
 */
#include "ledger/ledger.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ledger_genesis *fuzz_genesis;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_genesis == NULL) {
    fuzz_genesis = calloc(1, sizeof(*fuzz_genesis));
    if (fuzz_genesis == NULL || cry_init() != OK) {
      abort();
    }
  }
  struct ledger_genesis *g = fuzz_genesis;
  if (ledger_genesis_decode(g, data, size) != OK) {
    return 0;
  }
  if (g->nvalidators == 0 || g->nvalidators > LIM_VALIDATORS_MAX || g->nmembers == 0 ||
      g->nmembers > LEDGER_GENESIS_MEMBERS_MAX || size > LEDGER_GENESIS_BYTES_MAX) {
    abort();
  }
  uint8_t *out = malloc(size + 1);
  if (out == NULL) {
    abort();
  }
  size_t len = 0;
  if (ledger_genesis_encode(g, out, size, &len) != OK || len != size ||
      memcmp(out, data, size) != 0) {
    abort();
  }
  struct hash32 h;
  if (ledger_genesis_hash(g, &h) != OK) {
    abort();
  }
  free(out);
  return 0;
}
