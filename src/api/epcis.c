/*
 * epcis — EPCIS 2.0 capture (filled in below).
 */
#include "api/api_internal.h"

int api_h_epcis_capture(struct api_ctx *c) {
  (void)c;
  return ERR_UNAVAILABLE;
}
