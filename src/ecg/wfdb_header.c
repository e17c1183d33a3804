/*
 * wfdb_header — PhysioNet WFDB header files (header(5)) in and out.
 *
 * A header is a record line, then one signal specification line per
 * signal; '#' lines are comments and are dropped (they often carry a
 * patient's age and sex, which a medchain record keeps nowhere else).
 *
 *   record line:  NAME[/SEGMENTS] NSIG [FREQ[/CFREQ[(BASE)]] [NSAMP [TIME [DATE]]]]
 *   signal line:  FILE FORMAT[xSPF][:SKEW][+OFFSET] [GAIN[(BASELINE)][/UNITS]
 *                 [ADCRES [ADCZERO [INITVAL [CHECKSUM [BLOCKSIZE [DESCRIPTION]]]]]]]
 *
 * What is read: one segment, one signal file for every signal, formats 212
 * and 16, one sample per frame, no skew, no byte offset. The counter
 * frequency, base time and base date are read past and not kept. Missing
 * fields take the header(5) defaults: frequency 250 Hz, gain 200 (also for
 * a gain of 0, "uncalibrated"), baseline = ADC zero, ADC resolution 12 bits
 * for 212 and 16 for 16, ADC zero 0; an absent initial value or checksum
 * is simply not checked.
 */
#include "ecg/ecg_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WFDB_DEFAULT_FREQ 250.0
#define WFDB_DEFAULT_GAIN 200.0

/* The next line that is neither blank nor a comment. Lines over
 * LIM_ECG_LINE_MAX or holding control characters are malformed. */
static int wfdb_line(struct ecg_span *text, struct ecg_span *line, bool *found) {
  *found = false;
  while (ecg_next_line(text, line)) {
    if (line->n > LIM_ECG_LINE_MAX) {
      return ERR_ECG_MALFORMED;
    }
    struct ecg_span t = ecg_span_trim(*line);
    if (t.n == 0 || t.p[0] == '#') {
      continue; /* comments may hold any text; they are dropped */
    }
    for (size_t i = 0; i < line->n; i++) {
      if (line->p[i] != '\t' && (line->p[i] < 0x20 || line->p[i] > 0x7e)) {
        return ERR_ECG_MALFORMED;
      }
    }
    *found = true;
    return OK;
  }
  return OK;
}

/* "FREQ[/CFREQ[(BASE)]]": only the frequency is kept. */
static int wfdb_freq(struct ecg_span tok, double *freq) {
  const char *slash = memchr(tok.p, '/', tok.n);
  struct ecg_span f = {tok.p, slash != NULL ? (size_t)(slash - tok.p) : tok.n};
  if (!ecg_span_double(f, freq) || *freq < 0) {
    return ERR_ECG_MALFORMED;
  }
  if (*freq == 0) {
    *freq = WFDB_DEFAULT_FREQ;
  }
  return OK;
}

static int wfdb_record_line(struct ecg_record *r, struct ecg_span line) {
  struct ecg_span tok;
  if (!ecg_next_token(&line, &tok)) {
    return ERR_ECG_MALFORMED;
  }
  if (memchr(tok.p, '/', tok.n) != NULL) {
    return ERR_ECG_UNSUPPORTED; /* a multi-segment record */
  }
  if (!ecg_span_copy(r->name, sizeof(r->name), tok) || !ecg_name_valid(r->name)) {
    return ERR_ECG_MALFORMED;
  }
  uint32_t nsig = 0;
  if (!ecg_next_token(&line, &tok) || !ecg_span_u32(tok, &nsig)) {
    return ERR_ECG_MALFORMED;
  }
  if (nsig == 0) {
    return ERR_ECG_UNSUPPORTED; /* a record of annotations only */
  }
  if (nsig > LIM_ECG_LEADS_MAX) {
    return ERR_OVERSIZE;
  }
  r->nleads = nsig;
  r->freq_hz = WFDB_DEFAULT_FREQ;
  if (ecg_next_token(&line, &tok)) {
    int rc = wfdb_freq(tok, &r->freq_hz);
    if (rc != OK) {
      return rc;
    }
  }
  r->nsamples = 0;
  if (ecg_next_token(&line, &tok) && !ecg_span_u32(tok, &r->nsamples)) {
    return ERR_ECG_MALFORMED;
  }
  if (r->nsamples > LIM_ECG_SAMPLES_MAX ||
      (uint64_t)r->nsamples * r->nleads > LIM_ECG_TOTAL_SAMPLES_MAX) {
    return ERR_OVERSIZE;
  }
  /* Base time and date, when present, are two more tokens and no more. */
  for (int i = 0; i < 2; i++) {
    (void)ecg_next_token(&line, &tok);
  }
  return ecg_next_token(&line, &tok) ? ERR_ECG_MALFORMED : OK;
}

/* "FORMAT" with none of the x, ':' and '+' modifiers. */
static int wfdb_format(struct ecg_span tok, enum ecg_format *f) {
  size_t digits = 0;
  while (digits < tok.n && tok.p[digits] >= '0' && tok.p[digits] <= '9') {
    digits++;
  }
  uint32_t v = 0;
  if (!ecg_span_u32((struct ecg_span){tok.p, digits}, &v)) {
    return ERR_ECG_MALFORMED;
  }
  if (digits < tok.n) {
    char c = tok.p[digits];
    return c == 'x' || c == ':' || c == '+' ? ERR_ECG_UNSUPPORTED : ERR_ECG_MALFORMED;
  }
  if (v != ECG_FORMAT_212 && v != ECG_FORMAT_16) {
    return ERR_ECG_UNSUPPORTED;
  }
  *f = (enum ecg_format)v;
  return OK;
}

/* "GAIN[(BASELINE)][/UNITS]"; *has_baseline tells whether one was given. */
static int wfdb_gain(struct ecg_lead *l, struct ecg_span tok, bool *has_baseline) {
  const char *slash = memchr(tok.p, '/', tok.n);
  struct ecg_span head = {tok.p, slash != NULL ? (size_t)(slash - tok.p) : tok.n};
  if (slash != NULL) {
    struct ecg_span units = {slash + 1, tok.n - head.n - 1};
    if (units.n == 0 || !ecg_span_copy(l->units, sizeof(l->units), units)) {
      return ERR_ECG_MALFORMED;
    }
  }
  const char *open = memchr(head.p, '(', head.n);
  struct ecg_span gain = {head.p, open != NULL ? (size_t)(open - head.p) : head.n};
  *has_baseline = open != NULL;
  if (open != NULL) {
    struct ecg_span b = {open + 1, head.n - gain.n - 1};
    if (b.n < 2 || b.p[b.n - 1] != ')') {
      return ERR_ECG_MALFORMED;
    }
    b.n--;
    if (!ecg_span_i32(b, &l->baseline)) {
      return ERR_ECG_MALFORMED;
    }
  }
  if (!ecg_span_double(gain, &l->gain) || l->gain < 0) {
    return ERR_ECG_MALFORMED;
  }
  if (l->gain == 0) {
    l->gain = WFDB_DEFAULT_GAIN;
  }
  return OK;
}

/* ADCRES ADCZERO INITVAL CHECKSUM BLOCKSIZE, each optional in turn; then
 * the rest of the line is the description. */
static int wfdb_numbers(struct ecg_lead *l, struct ecg_span *line, bool *has_zero) {
  struct ecg_span tok;
  int32_t v[3];
  uint32_t bsize = 0;
  for (int i = 0; i < 5; i++) {
    if (!ecg_next_token(line, &tok)) {
      return OK;
    }
    bool ok = i == 0   ? ecg_span_u32(tok, &l->adc_res)
              : i == 4 ? ecg_span_u32(tok, &bsize)
                       : ecg_span_i32(tok, &v[i - 1]);
    if (!ok) {
      return ERR_ECG_MALFORMED;
    }
    if (i == 1) {
      l->adc_zero = v[0];
      *has_zero = true;
    } else if (i == 2) {
      l->initial = v[1];
      l->has_initial = true;
    } else if (i == 3) {
      l->checksum = v[2];
      l->has_checksum = v[2] >= -32768 && v[2] <= 65535;
      if (!l->has_checksum) {
        return ERR_ECG_MALFORMED;
      }
    }
  }
  l->block_size = bsize;
  return OK;
}

static int wfdb_description(struct ecg_lead *l, struct ecg_span rest, uint32_t index) {
  struct ecg_span d = ecg_span_trim(rest);
  if (d.n == 0) {
    snprintf(l->name, sizeof(l->name), "signal %u", (unsigned)index);
    return OK;
  }
  if (memchr(d.p, '\t', d.n) != NULL) {
    return ERR_ECG_MALFORMED;
  }
  if (!ecg_span_copy(l->name, sizeof(l->name), d)) {
    return ERR_OVERSIZE;
  }
  return OK;
}

static int wfdb_signal_line(struct ecg_record *r, uint32_t index, struct ecg_span line) {
  struct ecg_lead *l = &r->leads[index];
  memset(l, 0, sizeof(*l));
  struct ecg_span tok;
  char file[LIM_ECG_NAME_MAX + 1];
  if (!ecg_next_token(&line, &tok) || !ecg_span_copy(file, sizeof(file), tok) ||
      !ecg_file_name_valid(file)) {
    return ERR_ECG_MALFORMED;
  }
  if (index == 0) {
    memcpy(r->file_name, file, sizeof(file));
  } else if (strcmp(file, r->file_name) != 0) {
    return ERR_ECG_UNSUPPORTED; /* signals spread over several files */
  }
  enum ecg_format f = ECG_FORMAT_16;
  if (!ecg_next_token(&line, &tok)) {
    return ERR_ECG_MALFORMED;
  }
  int rc = wfdb_format(tok, &f);
  if (rc != OK) {
    return rc;
  }
  if (index > 0 && f != r->format) {
    return ERR_ECG_UNSUPPORTED;
  }
  r->format = f;
  l->gain = WFDB_DEFAULT_GAIN;
  bool has_baseline = false;
  bool has_zero = false;
  if (ecg_next_token(&line, &tok)) {
    rc = wfdb_gain(l, tok, &has_baseline);
  }
  if (rc == OK) {
    rc = wfdb_numbers(l, &line, &has_zero);
  }
  if (rc != OK) {
    return rc;
  }
  if (l->adc_res == 0) {
    l->adc_res = f == ECG_FORMAT_212 ? 12 : 16;
  }
  if (!has_baseline) {
    l->baseline = l->adc_zero;
  }
  return wfdb_description(l, line, index);
}

int ecg_wfdb_header_parse(struct ecg_record *r, const char *text, size_t len) {
  free(r->samples);
  ecg_record_init(r);
  if (len > LIM_ECG_HEADER_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  struct ecg_span t = {text, len};
  struct ecg_span line;
  bool found = false;
  int rc = wfdb_line(&t, &line, &found);
  if (rc == OK && !found) {
    rc = ERR_ECG_MALFORMED;
  }
  if (rc == OK) {
    rc = wfdb_record_line(r, line);
  }
  for (uint32_t i = 0; rc == OK && i < r->nleads; i++) {
    rc = wfdb_line(&t, &line, &found);
    if (rc == OK) {
      rc = found ? wfdb_signal_line(r, i, line) : ERR_ECG_MALFORMED;
    }
  }
  if (rc == OK) {
    rc = wfdb_line(&t, &line, &found);
    rc = rc == OK && found ? ERR_ECG_MALFORMED : rc;
  }
  if (rc != OK) {
    ecg_record_init(r);
  }
  return rc;
}

/* ---- encoding ----------------------------------------------------------------- */

/* Appends printf output to out[cap] at *n; false when it does not fit. */
__attribute__((format(printf, 4, 5))) static bool wfdb_put(char *out, size_t cap, size_t *n,
                                                           const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(out + *n, cap - *n, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= cap - *n) {
    return false;
  }
  *n += (size_t)k;
  return true;
}

/* The initial value and checksum come from the samples, whatever the lead
 * fields say, so a header never disagrees with its signal file. */
static bool wfdb_put_lead(const struct ecg_record *r, uint32_t i, char *out, size_t cap,
                          size_t *n) {
  const struct ecg_lead *l = &r->leads[i];
  const int16_t *s = ecg_lead_samples(r, i);
  char gain[40];
  ecg_double_text(gain, sizeof(gain), l->gain);
  return wfdb_put(out, cap, n, "%s %d %s(%d)%s%s %u %d %d %d %u %s\n", r->file_name, (int)r->format,
                  gain, (int)l->baseline, l->units[0] != '\0' ? "/" : "", l->units,
                  (unsigned)l->adc_res, (int)l->adc_zero, (int)s[0],
                  (int)ecg_checksum(s, r->nsamples), (unsigned)l->block_size, l->name);
}

int ecg_wfdb_header_encode(const struct ecg_record *r, char *out, size_t cap, size_t *out_len) {
  assert(cap > 0);
  int rc = ecg_record_check(r);
  if (rc != OK) {
    return rc;
  }
  if (r->file_name[0] == '\0') {
    return ERR_BAD_ARGS; /* ecg_record_set_format names the file */
  }
  char freq[40];
  ecg_double_text(freq, sizeof(freq), r->freq_hz);
  size_t n = 0;
  bool ok = wfdb_put(out, cap, &n, "%s %u %s %u\n", r->name, (unsigned)r->nleads, freq,
                     (unsigned)r->nsamples);
  for (uint32_t i = 0; ok && i < r->nleads; i++) {
    ok = wfdb_put_lead(r, i, out, cap, &n);
  }
  if (!ok) {
    out[0] = '\0';
    return ERR_OVERSIZE;
  }
  *out_len = n;
  return OK;
}
