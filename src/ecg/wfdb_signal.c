/*
 * wfdb_signal — WFDB signal files (signal(5)) in formats 212 and 16.
 *
 * A signal file holds frames: one sample of each signal in header order.
 * The file is one stream of samples s[0], s[1], ... (frame f, signal i at
 * f * nsig + i), encoded as
 *
 *   format 16:  each sample as 16-bit little-endian two's complement;
 *   format 212: each pair of samples (s[2k], s[2k+1]) as three bytes,
 *               b0 = low 8 bits of s[2k], b1 = high 4 bits of s[2k] in its
 *               low nibble and high 4 bits of s[2k+1] in its high nibble,
 *               b2 = low 8 bits of s[2k+1]; samples are 12-bit two's
 *               complement. An odd final sample takes two bytes (the WFDB
 *               library's writer) or three (other writers pad), the unused
 *               bits zero.
 *
 * -2048 (212) and -32768 (16) are the values WFDB readers report as "no
 * sample"; they are kept here as the integers they are.
 */
#include "ecg/ecg_internal.h"

#include <assert.h>
#include <stdlib.h>

static int32_t wfdb_s12(uint32_t v) {
  assert(v <= 0xfffu);
  return (v & 0x800u) != 0 ? (int32_t)v - 4096 : (int32_t)v;
}

/* Where sample j of the file stream lives in r->samples. */
static int16_t *wfdb_slot(const struct ecg_record *r, size_t j) {
  size_t frame = j / r->nleads;
  size_t lead = j % r->nleads;
  return &r->samples[lead * r->nsamples + frame];
}

/* Bytes the 212 stream of total samples takes: even totals exactly, odd
 * ones 2 (written by WFDB) or 3 (padded). */
static size_t wfdb_212_bytes(size_t total) {
  return total / 2 * 3 + (total % 2 != 0 ? 2 : 0);
}

/* The per-lead sample count the file length implies when the header left
 * it out. 0 when no whole number of frames fits. */
static size_t wfdb_derive_nsamples(const struct ecg_record *r, size_t len) {
  size_t total = 0;
  if (r->format == ECG_FORMAT_16) {
    total = len % 2 == 0 ? len / 2 : 0;
  } else if (len % 3 == 0) {
    total = len / 3 * 2;
    if (total % r->nleads != 0) {
      total--; /* an odd total padded to three bytes */
    }
  } else if (len % 3 == 2) {
    total = len / 3 * 2 + 1;
  }
  return total % r->nleads == 0 ? total / r->nleads : 0;
}

static int wfdb_decode_16(const struct ecg_record *r, const uint8_t *dat, size_t len) {
  size_t total = (size_t)r->nleads * r->nsamples;
  if (len != total * 2) {
    return ERR_ECG_MALFORMED;
  }
  for (size_t j = 0; j < total; j++) {
    uint16_t u = (uint16_t)(dat[2 * j] | (uint16_t)dat[2 * j + 1] << 8);
    *wfdb_slot(r, j) = (int16_t)(u >= 0x8000u ? (int32_t)u - 0x10000 : (int32_t)u);
  }
  return OK;
}

static int wfdb_decode_212(const struct ecg_record *r, const uint8_t *dat, size_t len) {
  size_t total = (size_t)r->nleads * r->nsamples;
  size_t want = wfdb_212_bytes(total);
  bool padded = total % 2 != 0 && len == want + 1;
  if (len != want && !padded) {
    return ERR_ECG_MALFORMED;
  }
  size_t j = 0;
  const uint8_t *p = dat;
  for (; j + 1 < total; j += 2, p += 3) {
    *wfdb_slot(r, j) = (int16_t)wfdb_s12(p[0] | (uint32_t)(p[1] & 0x0fu) << 8);
    *wfdb_slot(r, j + 1) = (int16_t)wfdb_s12(p[2] | (uint32_t)(p[1] & 0xf0u) << 4);
  }
  if (j < total) {
    if ((p[1] & 0xf0u) != 0 || (padded && p[2] != 0)) {
      return ERR_ECG_MALFORMED;
    }
    *wfdb_slot(r, j) = (int16_t)wfdb_s12(p[0] | (uint32_t)(p[1] & 0x0fu) << 8);
  }
  return OK;
}

/* The header's claims against the samples. */
static int wfdb_verify(const struct ecg_record *r) {
  for (uint32_t i = 0; i < r->nleads; i++) {
    const struct ecg_lead *l = &r->leads[i];
    const int16_t *s = ecg_lead_samples(r, i);
    if (l->has_initial && l->initial != s[0]) {
      return ERR_ECG_CHECKSUM;
    }
    uint32_t sum = (uint32_t)ecg_checksum(s, r->nsamples) & 0xffffu;
    if (l->has_checksum && ((uint32_t)l->checksum & 0xffffu) != sum) {
      return ERR_ECG_CHECKSUM;
    }
  }
  return OK;
}

int ecg_wfdb_signal_decode(struct ecg_record *r, const uint8_t *dat, size_t len) {
  if (r->nleads == 0 || r->nleads > LIM_ECG_LEADS_MAX ||
      (r->format != ECG_FORMAT_16 && r->format != ECG_FORMAT_212)) {
    return ERR_BAD_ARGS; /* no parsed header */
  }
  if (len > LIM_ECG_FILE_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  size_t n = r->nsamples != 0 ? r->nsamples : wfdb_derive_nsamples(r, len);
  if (n == 0) {
    return ERR_ECG_MALFORMED;
  }
  int rc = n > LIM_ECG_SAMPLES_MAX ? ERR_OVERSIZE : ecg_record_alloc(r, (uint32_t)n);
  if (rc != OK) {
    return rc;
  }
  rc = r->format == ECG_FORMAT_16 ? wfdb_decode_16(r, dat, len) : wfdb_decode_212(r, dat, len);
  if (rc == OK) {
    rc = wfdb_verify(r);
  }
  if (rc != OK) {
    free(r->samples);
    r->samples = NULL;
    return rc;
  }
  ecg_record_sums(r);
  return OK;
}

size_t ecg_wfdb_signal_size(const struct ecg_record *r) {
  size_t total = (size_t)r->nleads * r->nsamples;
  return r->format == ECG_FORMAT_16 ? total * 2 : wfdb_212_bytes(total);
}

static int16_t wfdb_at(const struct ecg_record *r, size_t j) {
  return *wfdb_slot(r, j);
}

static int wfdb_encode_212(const struct ecg_record *r, uint8_t *out) {
  size_t total = (size_t)r->nleads * r->nsamples;
  uint8_t *p = out;
  for (size_t j = 0; j < total; j += 2) {
    int16_t a = wfdb_at(r, j);
    int16_t b = j + 1 < total ? wfdb_at(r, j + 1) : 0;
    if (a < -2048 || a > 2047 || b < -2048 || b > 2047) {
      return ERR_ECG_RANGE;
    }
    uint32_t ua = (uint32_t)(int32_t)a & 0xfffu;
    uint32_t ub = (uint32_t)(int32_t)b & 0xfffu;
    *p++ = (uint8_t)(ua & 0xffu);
    *p++ = (uint8_t)((ua >> 8) | ((ub >> 4) & 0xf0u));
    if (j + 1 < total) {
      *p++ = (uint8_t)(ub & 0xffu);
    }
  }
  assert((size_t)(p - out) == wfdb_212_bytes(total));
  return OK;
}

int ecg_wfdb_signal_encode(const struct ecg_record *r, uint8_t *out, size_t cap, size_t *out_len) {
  int rc = ecg_record_check(r);
  if (rc != OK) {
    return rc;
  }
  size_t need = ecg_wfdb_signal_size(r);
  if (cap < need) {
    return ERR_OVERSIZE;
  }
  if (r->format == ECG_FORMAT_212) {
    rc = wfdb_encode_212(r, out);
  } else {
    size_t total = (size_t)r->nleads * r->nsamples;
    for (size_t j = 0; j < total; j++) {
      uint16_t u = (uint16_t)wfdb_at(r, j);
      out[2 * j] = (uint8_t)(u & 0xffu);
      out[2 * j + 1] = (uint8_t)(u >> 8);
    }
  }
  if (rc == OK) {
    *out_len = need;
  }
  return rc;
}
