/*
 * csv — an ECG as comma-separated text, as exported by many devices and
 * by PhysioNet's own tools (rdsamp -c -p).
 *
 *   time,I,II,...      header row: lead names; "time" (seconds) optional
 *   0.000,0.125,...    one row per sample instant, values in mV
 *
 * Two passes over the text: the first checks every row's shape and counts
 * the rows, so the samples are allocated once at their exact size; the
 * second converts. No quoting: a '"' anywhere is malformed. A UTF-8 byte
 * order mark before the header row is skipped.
 */
#include "ecg/ecg_internal.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#define CSV_DEFAULT_GAIN 1000.0

struct csv_shape {
  bool has_time;
  uint32_t ncols;
  uint32_t rows;
};

/* The next field of a row (up to ',' or the end), trimmed. */
static bool csv_field(struct ecg_span *row, struct ecg_span *f) {
  if (row->p == NULL) {
    return false;
  }
  const char *comma = memchr(row->p, ',', row->n);
  size_t k = comma != NULL ? (size_t)(comma - row->p) : row->n;
  *f = ecg_span_trim((struct ecg_span){row->p, k});
  if (comma != NULL) {
    row->p += k + 1;
    row->n -= k + 1;
  } else {
    row->p = NULL;
    row->n = 0;
  }
  return true;
}

static bool csv_is_time(struct ecg_span f) {
  static const char *const names[] = {"time", "time_s", "t"};
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    size_t n = strlen(names[i]);
    bool eq = f.n == n;
    for (size_t k = 0; eq && k < n; k++) {
      char c = f.p[k] >= 'A' && f.p[k] <= 'Z' ? (char)(f.p[k] - 'A' + 'a') : f.p[k];
      eq = c == names[i][k];
    }
    if (eq) {
      return true;
    }
  }
  return false;
}

static int csv_header(struct ecg_record *r, struct csv_shape *sh, struct ecg_span row) {
  struct ecg_span f;
  uint32_t col = 0;
  r->nleads = 0;
  while (csv_field(&row, &f)) {
    if (col == 0 && csv_is_time(f)) {
      sh->has_time = true;
    } else if (r->nleads == LIM_ECG_LEADS_MAX) {
      return ERR_OVERSIZE;
    } else {
      struct ecg_lead *l = &r->leads[r->nleads++];
      if (f.n == 0 || !ecg_span_printable(f) || memchr(f.p, '"', f.n) != NULL) {
        return ERR_ECG_MALFORMED;
      }
      if (!ecg_span_copy(l->name, sizeof(l->name), f)) {
        return ERR_OVERSIZE;
      }
    }
    col++;
  }
  sh->ncols = col;
  return r->nleads == 0 ? ERR_ECG_MALFORMED : OK;
}

/* Fields in a row, or 0 when it holds a control character or a quote. */
static uint32_t csv_count(struct ecg_span row) {
  if (!ecg_span_printable(row) || memchr(row.p, '"', row.n) != NULL) {
    return 0;
  }
  uint32_t n = 1;
  for (size_t i = 0; i < row.n; i++) {
    n += row.p[i] == ',' ? 1 : 0;
  }
  return n;
}

/* First pass: every data row has ncols fields; blank lines only at the end. */
static int csv_rows(struct csv_shape *sh, struct ecg_span text) {
  struct ecg_span row;
  bool ended = false;
  sh->rows = 0;
  while (ecg_next_line(&text, &row)) {
    if (row.n > LIM_ECG_LINE_MAX) {
      return ERR_ECG_MALFORMED;
    }
    if (ecg_span_trim(row).n == 0) {
      ended = true;
      continue;
    }
    if (ended || csv_count(row) != sh->ncols) {
      return ERR_ECG_MALFORMED;
    }
    if (sh->rows == LIM_ECG_SAMPLES_MAX) {
      return ERR_OVERSIZE;
    }
    sh->rows++;
  }
  return sh->rows == 0 ? ERR_ECG_MALFORMED : OK;
}

static int csv_sample(double mv, double gain, int16_t *out) {
  double d = round(mv * gain);
  if (!(d >= -32768.0 && d <= 32767.0)) {
    return ERR_ECG_RANGE;
  }
  *out = (int16_t)d;
  return OK;
}

/* Second pass: values into samples, times into t_first/t_last, checking
 * the time steps are even. */
static int csv_values(struct ecg_record *r, const struct csv_shape *sh, struct ecg_span text,
                      double gain, double *t_span) {
  struct ecg_span row;
  struct ecg_span f;
  double t0 = 0;
  double tprev = 0;
  for (uint32_t k = 0; k < sh->rows; k++) {
    bool got = ecg_next_line(&text, &row);
    assert(got);
    double v = 0;
    if (sh->has_time) {
      if (!csv_field(&row, &f) || !ecg_span_double(f, &v) || (k > 0 && v <= tprev)) {
        return ERR_ECG_MALFORMED;
      }
      t0 = k == 0 ? v : t0;
      tprev = v;
    }
    for (uint32_t i = 0; i < r->nleads; i++) {
      if (!csv_field(&row, &f) || !ecg_span_double(f, &v)) {
        return ERR_ECG_MALFORMED;
      }
      int rc = csv_sample(v, gain, &ecg_lead_samples(r, i)[k]);
      if (rc != OK) {
        return rc;
      }
    }
  }
  *t_span = tprev - t0;
  return OK;
}

/* Third look, only with a time column: each step within 1% of the mean. */
static int csv_even_steps(const struct csv_shape *sh, struct ecg_span text, double step) {
  struct ecg_span row;
  struct ecg_span f;
  double prev = 0;
  for (uint32_t k = 0; k < sh->rows; k++) {
    bool got = ecg_next_line(&text, &row) && csv_field(&row, &f);
    double t = 0;
    assert(got);
    (void)got;
    if (!ecg_span_double(f, &t)) {
      return ERR_ECG_MALFORMED;
    }
    if (k > 0 && fabs((t - prev) - step) > 0.01 * step) {
      return ERR_ECG_MALFORMED;
    }
    prev = t;
  }
  return OK;
}

static int csv_frequency(struct ecg_record *r, const struct csv_shape *sh, struct ecg_span data,
                         double t_span, double given) {
  if (!sh->has_time) {
    r->freq_hz = given;
    return given > 0 ? OK : ERR_BAD_ARGS;
  }
  if (sh->rows < 2 || !(t_span > 0)) {
    return ERR_ECG_MALFORMED;
  }
  double step = t_span / (sh->rows - 1);
  int rc = csv_even_steps(sh, data, step);
  if (rc != OK) {
    return rc;
  }
  double f = round(1000.0 / step) / 1000.0; /* to the mHz: undoes decimal seconds */
  if (!(f > 0) || (given > 0 && fabs(f - given) > 0.01 * given)) {
    return f > 0 ? ERR_BAD_ARGS : ERR_ECG_MALFORMED;
  }
  r->freq_hz = given > 0 ? given : f;
  return OK;
}

static void csv_leads_defaults(struct ecg_record *r, double gain) {
  for (uint32_t i = 0; i < r->nleads; i++) {
    struct ecg_lead *l = &r->leads[i];
    memcpy(l->units, "mV", 3);
    l->gain = gain;
    l->adc_res = 16;
  }
}

int ecg_csv_parse(struct ecg_record *r, const char *text, size_t len,
                  const struct ecg_csv_opts *opts) {
  ecg_record_deinit(r);
  double gain = opts->gain == 0 ? CSV_DEFAULT_GAIN : opts->gain;
  if (opts->name == NULL || !ecg_name_valid(opts->name) || !isfinite(gain) || gain <= 0 ||
      !isfinite(opts->freq_hz) || opts->freq_hz < 0) {
    return ERR_BAD_ARGS;
  }
  if (len > LIM_ECG_FILE_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  struct ecg_span t = {text, len};
  if (t.n >= 3 && memcmp(t.p, "\xef\xbb\xbf", 3) == 0) {
    t.p += 3;
    t.n -= 3;
  }
  struct csv_shape sh = {false, 0, 0};
  struct ecg_span row;
  int rc = ecg_next_line(&t, &row) ? csv_header(r, &sh, row) : ERR_ECG_MALFORMED;
  if (rc == OK && row.n > LIM_ECG_LINE_MAX) {
    rc = ERR_ECG_MALFORMED;
  }
  rc = rc == OK ? csv_rows(&sh, t) : rc;
  rc = rc == OK ? ecg_record_alloc(r, sh.rows) : rc;
  double t_span = 0;
  rc = rc == OK ? csv_values(r, &sh, t, gain, &t_span) : rc;
  rc = rc == OK ? csv_frequency(r, &sh, t, t_span, opts->freq_hz) : rc;
  if (rc != OK) {
    ecg_record_deinit(r);
    return rc;
  }
  memcpy(r->name, opts->name, strlen(opts->name) + 1);
  csv_leads_defaults(r, gain);
  ecg_record_sums(r);
  return ecg_record_check(r);
}
