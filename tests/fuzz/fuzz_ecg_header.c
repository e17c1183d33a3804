/*
 * libFuzzer target: the WFDB header parser. Every header it accepts must
 * describe a record within the limits, with a valid name and file name,
 * and whatever it accepts must not crash the encoder once samples exist:
 * a header that parses, given zeroed samples, encodes to a canonical
 * header that parses again to the same fields.
 */
#include "ecg/ecg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct ecg_record *a, const struct ecg_record *b) {
  if (a->nleads != b->nleads || a->format != b->format || a->freq_hz != b->freq_hz ||
      strcmp(a->name, b->name) != 0) {
    abort();
  }
  for (uint32_t i = 0; i < a->nleads; i++) {
    const struct ecg_lead *x = &a->leads[i];
    const struct ecg_lead *y = &b->leads[i];
    if (x->gain != y->gain || x->baseline != y->baseline || strcmp(x->units, y->units) != 0 ||
        strcmp(x->name, y->name) != 0) {
      abort();
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ecg_record r;
  ecg_record_init(&r);
  if (ecg_wfdb_header_parse(&r, (const char *)data, size) != OK) {
    ecg_record_deinit(&r);
    return 0;
  }
  if (r.nleads == 0 || r.nleads > LIM_ECG_LEADS_MAX || !ecg_name_valid(r.name) ||
      r.nsamples > LIM_ECG_SAMPLES_MAX) {
    abort();
  }
  if (ecg_record_alloc(&r, 1) != OK) {
    abort();
  }
  ecg_record_sums(&r);
  static char out[(LIM_ECG_LEADS_MAX + 1) * LIM_ECG_LINE_MAX];
  size_t len = 0;
  int rc = ecg_wfdb_header_encode(&r, out, sizeof(out), &len);
  if (rc == OK) {
    struct ecg_record again;
    ecg_record_init(&again);
    if (ecg_wfdb_header_parse(&again, out, len) != OK) {
      abort();
    }
    check_same(&r, &again);
    ecg_record_deinit(&again);
  }
  ecg_record_deinit(&r);
  return 0;
}
