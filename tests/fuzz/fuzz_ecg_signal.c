/*
 * libFuzzer target: the WFDB signal decoder. The first byte picks the
 * format (even: 16, odd: 212), the number of leads (1..4) and whether the
 * header states the sample count; the rest is the signal file. A file the
 * decoder accepts must encode back to the same bytes (a padded 212 tail
 * comes back one byte shorter, otherwise identical).
 */
#include "ecg/ecg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  unsigned fmt = (data[0] & 1) != 0 ? 212 : 16;
  unsigned nleads = 1 + ((data[0] >> 1) & 3);
  bool stated = (data[0] & 8) != 0;
  const uint8_t *dat = data + 1;
  size_t len = size - 1;
  size_t frames = fmt == 16 ? len / (2 * nleads) : (len * 2 / 3) / nleads;
  char hea[512];
  int n = snprintf(hea, sizeof(hea), "f %u 500", nleads);
  if (stated) {
    n += snprintf(hea + n, sizeof(hea) - (size_t)n, " %zu", frames);
  }
  n += snprintf(hea + n, sizeof(hea) - (size_t)n, "\n");
  for (unsigned i = 0; i < nleads; i++) {
    n += snprintf(hea + n, sizeof(hea) - (size_t)n, "f.dat %u 200 12 0\n", fmt);
  }
  struct ecg_record r;
  ecg_record_init(&r);
  if (ecg_wfdb_header_parse(&r, hea, (size_t)n) != OK) {
    abort();
  }
  if (ecg_wfdb_signal_decode(&r, dat, len) == OK) {
    size_t need = ecg_wfdb_signal_size(&r);
    uint8_t *out = malloc(need + 1);
    size_t out_len = 0;
    if (out == NULL || ecg_wfdb_signal_encode(&r, out, need, &out_len) != OK ||
        (out_len != len && out_len + 1 != len) || memcmp(out, dat, out_len) != 0) {
      abort();
    }
    free(out);
  }
  ecg_record_deinit(&r);
  return 0;
}
