/*
 * libFuzzer target: the FHIR Observation -> ECG record parser. A record it
 * accepts must be within the limits and render back to an Observation that
 * parses to the same samples.
 */
#include "api/api.h"
#include "ecg/ecg.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct ecg_record r;
  ecg_record_init(&r);
  if (api_ecg_observation_parse(&r, (const char *)data, size) != OK) {
    ecg_record_deinit(&r);
    return 0;
  }
  if (r.nleads == 0 || r.nleads > LIM_ECG_LEADS_MAX || r.nsamples == 0 ||
      (size_t)r.nleads * r.nsamples > LIM_ECG_TOTAL_SAMPLES_MAX) {
    abort();
  }
  char *json = NULL;
  if (api_ecg_observation_json(&json, &r, "p", NULL) != OK) {
    abort();
  }
  struct ecg_record again;
  ecg_record_init(&again);
  if (api_ecg_observation_parse(&again, json, strlen(json)) != OK || again.nsamples != r.nsamples ||
      again.nleads != r.nleads ||
      memcmp(again.samples, r.samples, (size_t)r.nleads * r.nsamples * sizeof(int16_t)) != 0) {
    abort();
  }
  free(json);
  ecg_record_deinit(&again);
  ecg_record_deinit(&r);
  return 0;
}
