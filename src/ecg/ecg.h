/*
 * ecg — electrocardiograms in and out of their file formats. Prefix: ecg_.
 *
 * A pure module over base: it reads and writes bytes the caller passes in
 * and out, never a file, a clock or the network. It knows three forms of
 * one recording (docs/ecg.md):
 *
 *  - PhysioNet WFDB: a header (.hea, header(5)) and one signal file (.dat,
 *    signal(5)) in format 212 or 16 holding every lead, interleaved;
 *  - CSV: a row of lead names, optionally a first "time" column in seconds,
 *    then one row per sample instant of values in millivolts;
 *  - struct ecg_record below, which the FHIR Observation mapping (src/api,
 *    api_ecg_*) starts from and returns to.
 *
 * Samples are kept as the digital (ADC) integers the recorder produced;
 * a physical value is (sample - baseline) / gain in the lead's units. Every
 * size is bounded by LIM_ECG_* (src/limits/limits.h); every rejection is one
 * of ERR_ECG_MALFORMED, ERR_ECG_UNSUPPORTED, ERR_ECG_CHECKSUM, ERR_ECG_RANGE,
 * ERR_OVERSIZE, ERR_BAD_ARGS, ERR_NOMEM, with no sample value in any message.
 */
#ifndef MEDCHAIN_ECG_H
#define MEDCHAIN_ECG_H

#include "base/base.h"
#include "limits/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The WFDB signal formats this module reads and writes. */
enum ecg_format {
  ECG_FORMAT_16 = 16,   /* 16-bit little-endian two's complement */
  ECG_FORMAT_212 = 212, /* two 12-bit two's complement samples in 3 bytes */
};

/* One lead (a WFDB signal). Text fields are NUL-terminated printable ASCII. */
struct ecg_lead {
  char name[LIM_ECG_NAME_MAX + 1];   /* WFDB description / CSV column, "II" */
  char units[LIM_ECG_UNITS_MAX + 1]; /* "mV", "uV", "V"; "" = not given (mV) */
  double gain;                       /* ADC units per physical unit, > 0 */
  int32_t baseline;                  /* ADC value of 0 physical units */
  int32_t adc_zero;                  /* ADC value of the middle of its range */
  uint32_t adc_res;                  /* ADC resolution in bits, 0 = not given */
  uint32_t block_size;               /* WFDB block size, 0 for ordinary files */
  int32_t initial;                   /* first sample (WFDB initial value) */
  int32_t checksum;                  /* 16-bit sum of the samples, signed */
  /* What a parsed header claimed, checked against the samples on decode. */
  bool has_initial;
  bool has_checksum;
};

/* One recording: a transparent value the caller owns. ecg_record_init
 * before use, ecg_record_deinit after; the samples are one heap block of
 * nleads * nsamples values, lead i's at ecg_lead_samples(r, i). */
struct ecg_record {
  char name[LIM_ECG_NAME_MAX + 1];      /* WFDB record name [A-Za-z0-9_] */
  char file_name[LIM_ECG_NAME_MAX + 1]; /* signal file named by the header */
  enum ecg_format format;               /* signal file format */
  double freq_hz;                       /* samples per second per lead, > 0 */
  uint32_t nsamples;                    /* per lead */
  uint32_t nleads;
  struct ecg_lead leads[LIM_ECG_LEADS_MAX];
  int16_t *samples; /* NULL until samples are allocated */
};

/* ---- records ------------------------------------------------------------ */

/* An empty record (no leads, no samples, format 16). */
void ecg_record_init(struct ecg_record *r);
/* Frees the samples; r is empty (as after init) afterwards. */
void ecg_record_deinit(struct ecg_record *r);
/* Allocates zeroed samples for r->nleads leads of nsamples each (replacing
 * any). ERR_OVERSIZE beyond LIM_ECG_SAMPLES_MAX per lead or
 * LIM_ECG_TOTAL_SAMPLES_MAX in all, ERR_ECG_MALFORMED for no leads or no
 * samples, ERR_NOMEM. */
int ecg_record_alloc(struct ecg_record *r, uint32_t nsamples) MUST_CHECK;
/* Lead i's samples (nsamples of them), valid until deinit or alloc. */
int16_t *ecg_lead_samples(const struct ecg_record *r, uint32_t i);
/* Sets every lead's initial value and checksum from its samples. */
void ecg_record_sums(struct ecg_record *r);
/* The 16-bit WFDB checksum of n samples, as a signed value. */
int32_t ecg_checksum(const int16_t *s, size_t n);
/* Checks what every form needs: a valid record name and file name, 1 to
 * LIM_ECG_LEADS_MAX leads with printable names and units, gain and
 * frequency finite and > 0, samples allocated. ERR_ECG_MALFORMED else. */
int ecg_record_check(const struct ecg_record *r) MUST_CHECK;
/* Sets the format to write in, checking every sample fits it: -2048..2047
 * for 212 (ERR_ECG_RANGE otherwise). An empty file name becomes NAME.dat. */
int ecg_record_set_format(struct ecg_record *r, enum ecg_format f) MUST_CHECK;
/* A physical value of lead i at sample k in millivolts: the lead's units
 * must be mV, uV or V (or not given, meaning mV); false otherwise. */
bool ecg_lead_mv_per_unit(const struct ecg_lead *l, double *mv_per_unit);

/* Record names: 1..LIM_ECG_NAME_MAX of [A-Za-z0-9_]. */
bool ecg_name_valid(const char *s);
/* v rounded to 12 significant digits, the precision WFDB headers keep:
 * undoes the last-bit noise of 1 / (1 / x). */
double ecg_round12(double v);

/* ---- WFDB ------------------------------------------------------------------ */

/* Parses a header of len bytes (LIM_ECG_HEADER_BYTES_MAX at most, "\n" or
 * "\r\n" lines, '#' comments ignored) into r's record and lead fields; the
 * samples stay unallocated. Single-segment records only, every signal in
 * one file of format 212 or 16 with one sample per frame, no skew and no
 * byte offset (ERR_ECG_UNSUPPORTED otherwise). The file name must be a
 * plain name of [A-Za-z0-9_.-] not starting with '.', so a caller can open
 * it beside the header without leaving that directory. A record line
 * without a sample count leaves nsamples 0 (decode derives it). */
int ecg_wfdb_header_parse(struct ecg_record *r, const char *text, size_t len) MUST_CHECK;
/* Decodes the signal file's len bytes for a parsed header: the samples of
 * every lead, interleaved frame by frame. The length must be exactly what
 * nsamples frames take (a 212 file with an odd sample total may end in 2
 * or 3 bytes, the unused bits zero). Checks each lead's initial value and
 * checksum when the header gave them (ERR_ECG_CHECKSUM), then sets both.
 * ERR_ECG_MALFORMED for a wrong length, ERR_OVERSIZE past the limits. */
int ecg_wfdb_signal_decode(struct ecg_record *r, const uint8_t *dat, size_t len) MUST_CHECK;
/* The canonical header of r (format and file name as set by
 * ecg_record_set_format) into out[cap], NUL-terminated; *out_len excludes
 * the NUL. Lines end in "\n"; the record line is "NAME NSIG FREQ NSAMP";
 * each signal line "FILE FMT GAIN(BASELINE)[/UNITS] ADCRES ADCZERO INIT
 * CHECKSUM BLOCKSIZE NAME". A header in this form parses and encodes back
 * byte for byte. ERR_OVERSIZE when cap is too small. */
int ecg_wfdb_header_encode(const struct ecg_record *r, char *out, size_t cap,
                           size_t *out_len) MUST_CHECK;
/* Bytes of r's signal file in r->format. */
size_t ecg_wfdb_signal_size(const struct ecg_record *r);
/* Encodes r's samples in r->format into out[cap] (ecg_wfdb_signal_size
 * bytes); a 212 file with an odd total ends in 2 bytes, as the WFDB library
 * writes it. ERR_ECG_RANGE for a sample outside the format, ERR_OVERSIZE. */
int ecg_wfdb_signal_encode(const struct ecg_record *r, uint8_t *out, size_t cap,
                           size_t *out_len) MUST_CHECK;

/* ---- CSV --------------------------------------------------------------------- */

struct ecg_csv_opts {
  const char *name; /* record name to give (ecg_name_valid) */
  double freq_hz;   /* 0: derive from the "time" column, which must exist */
  double gain;      /* ADC units per mV; 0 means 1000 (1 unit = 1 uV) */
};

/* Parses CSV text: a header row of lead names (an optional first column
 * named "time" holds seconds), then rows of as many values in mV, ',' as
 * separator, no quoting. Values become digital samples round(v * gain)
 * (ERR_ECG_RANGE outside -32768..32767); the format is 16, units mV,
 * baseline 0. With a time column the frequency is (rows - 1) / (last -
 * first time), every step within 1% of the mean (ERR_ECG_MALFORMED else),
 * and a given freq_hz must agree within 1% (ERR_BAD_ARGS). */
int ecg_csv_parse(struct ecg_record *r, const char *text, size_t len,
                  const struct ecg_csv_opts *opts) MUST_CHECK;

/* ---- codes ------------------------------------------------------------------- */

/* The ISO/IEEE 11073-10101 (MDC) code of a standard lead's electric
 * potential (I, II, III, aVR, aVL, aVF, V1..V6; names compared without
 * regard to case), e.g. 131329 for lead I, with its reference id
 * ("MDC_ECG_ELEC_POTL_I"). False when name is not a standard lead. */
bool ecg_lead_mdc(const char *name, uint32_t *code, const char **refid);
/* The reverse: the lead name of an MDC code, or NULL. */
const char *ecg_lead_from_mdc(uint32_t code);

#endif
