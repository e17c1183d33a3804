/*
 * Unit tests of ecg: WFDB headers and signal files built by hand with
 * known sample values (formats 212 and 16, interleaved leads, odd sample
 * totals), every rejection with its code, CSV, the byte-exact WFDB round
 * trip of the committed synthetic vectors (tests/vectors/ecg), and the
 * lead codes.
 */
#include "ecg/ecg.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int parse(struct ecg_record *r, const char *hea) {
  return ecg_wfdb_header_parse(r, hea, strlen(hea));
}

/* Parses hea and decodes dat; the result of whichever fails first. */
static int load(struct ecg_record *r, const char *hea, const uint8_t *dat, size_t len) {
  int rc = parse(r, hea);
  return rc != OK ? rc : ecg_wfdb_signal_decode(r, dat, len);
}

static void expect_lead(const struct ecg_record *r, uint32_t i, const int16_t *want, size_t n) {
  assert_int_equal(r->nsamples, n);
  const int16_t *s = ecg_lead_samples(r, i);
  for (size_t k = 0; k < n; k++) {
    assert_int_equal(s[k], want[k]);
  }
}

/* Two leads interleaved in format 212: frames (-2048, 2047), (0, -1),
 * (100, -100), packed by hand. */
static const uint8_t dat212[] = {0x00, 0x78, 0xff, 0x00, 0xf0, 0xff, 0x64, 0xf0, 0x9c};
static const char hea212[] = "t212 2 500 3\n"
                             "t212.dat 212 200 12 0 -2048 -1948 0 I\n"
                             "t212.dat 212 200 12 0 2047 1946 0 II\n";

static void test_212_known_values(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(load(&r, hea212, dat212, sizeof(dat212)), OK);
  assert_string_equal(r.name, "t212");
  assert_int_equal(r.format, ECG_FORMAT_212);
  assert_int_equal(r.nleads, 2);
  assert_true(r.freq_hz == 500.0);
  static const int16_t lead0[] = {-2048, 0, 100};
  static const int16_t lead1[] = {2047, -1, -100};
  expect_lead(&r, 0, lead0, 3);
  expect_lead(&r, 1, lead1, 3);
  assert_string_equal(r.leads[1].name, "II");
  assert_true(r.leads[0].gain == 200.0);
  assert_int_equal(r.leads[0].adc_res, 12);
  assert_int_equal(r.leads[0].checksum, -1948);
  /* Encoding gives back the same bytes. */
  uint8_t out[16];
  size_t len = 0;
  assert_int_equal(ecg_wfdb_signal_encode(&r, out, sizeof(out), &len), OK);
  assert_int_equal(len, sizeof(dat212));
  assert_memory_equal(out, dat212, len);
  ecg_record_deinit(&r);
}

/* Format 16, three leads interleaved, little-endian. */
static void test_16_known_values(void **state) {
  (void)state;
  static const uint8_t dat[] = {0x00, 0x80, 0xff, 0x7f, 0x00, 0x00,  /* -32768 32767 0 */
                                0xff, 0xff, 0x64, 0x00, 0x30, 0x75}; /* -1 100 30000 */
  static const char hea[] = "t16 3 360 2\n"
                            "t16.dat 16 1000(0)/uV 16 0 -32768 32767 0 V1\n"
                            "t16.dat 16 1000(0)/uV 16 0 32767 -32669 0 V2\n"
                            "t16.dat 16 1000(0)/uV 16 0 0 30000 0 lead three\n";
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(load(&r, hea, dat, sizeof(dat)), OK);
  static const int16_t l0[] = {-32768, -1};
  static const int16_t l1[] = {32767, 100};
  static const int16_t l2[] = {0, 30000};
  expect_lead(&r, 0, l0, 2);
  expect_lead(&r, 1, l1, 2);
  expect_lead(&r, 2, l2, 2);
  assert_string_equal(r.leads[0].units, "uV");
  assert_string_equal(r.leads[2].name, "lead three");
  /* The checksum is a 16-bit sum: it wraps, and is read as signed. */
  assert_int_equal(r.leads[1].checksum, -32669);
  const int16_t wrap[] = {30000, 30000};
  assert_int_equal(ecg_checksum(wrap, 2), -5536);
  ecg_record_deinit(&r);
}

/* An odd total of 212 samples: two trailing bytes (WFDB's writer) or three
 * (padded); non-zero padding is malformed. */
static void test_212_odd_total(void **state) {
  (void)state;
  static const char hea[] = "odd 1 100 3\nodd.dat 212 200 12 0 1 6 0 ECG\n";
  static const uint8_t two[] = {0x01, 0x00, 0x02, 0x03, 0x00};
  static const uint8_t three[] = {0x01, 0x00, 0x02, 0x03, 0x00, 0x00};
  static const uint8_t dirty[] = {0x01, 0x00, 0x02, 0x03, 0x10};
  static const int16_t want[] = {1, 2, 3};
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(load(&r, hea, two, sizeof(two)), OK);
  expect_lead(&r, 0, want, 3);
  uint8_t out[8];
  size_t len = 0;
  assert_int_equal(ecg_wfdb_signal_size(&r), 5);
  assert_int_equal(ecg_wfdb_signal_encode(&r, out, sizeof(out), &len), OK);
  assert_memory_equal(out, two, 5);
  assert_int_equal(load(&r, hea, three, sizeof(three)), OK);
  expect_lead(&r, 0, want, 3);
  assert_int_equal(load(&r, hea, dirty, sizeof(dirty)), ERR_ECG_MALFORMED);
  ecg_record_deinit(&r);
}

static void test_checksum_and_initial_refused(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  static const char bad_sum[] = "t212 2 500 3\n"
                                "t212.dat 212 200 12 0 -2048 -1947 0 I\n"
                                "t212.dat 212 200 12 0 2047 1946 0 II\n";
  static const char bad_init[] = "t212 2 500 3\n"
                                 "t212.dat 212 200 12 0 -2048 -1948 0 I\n"
                                 "t212.dat 212 200 12 0 2046 1946 0 II\n";
  assert_int_equal(load(&r, bad_sum, dat212, sizeof(dat212)), ERR_ECG_CHECKSUM);
  assert_null(r.samples);
  assert_int_equal(load(&r, bad_init, dat212, sizeof(dat212)), ERR_ECG_CHECKSUM);
  /* A flipped bit in the signal file is caught by the checksum. */
  uint8_t flipped[sizeof(dat212)];
  memcpy(flipped, dat212, sizeof(dat212));
  flipped[6] ^= 0x01;
  assert_int_equal(load(&r, hea212, flipped, sizeof(flipped)), ERR_ECG_CHECKSUM);
  /* The same checksum written unsigned (65536 - 1948) is accepted. */
  static const char unsigned_sum[] = "t212 2 500 3\n"
                                     "t212.dat 212 200 12 0 -2048 63588 0 I\n"
                                     "t212.dat 212 200 12 0 2047 1946 0 II\n";
  assert_int_equal(load(&r, unsigned_sum, dat212, sizeof(dat212)), OK);
  ecg_record_deinit(&r);
}

static void test_truncated_and_long_files(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(load(&r, hea212, dat212, sizeof(dat212) - 1), ERR_ECG_MALFORMED);
  assert_int_equal(load(&r, hea212, dat212, 0), ERR_ECG_MALFORMED);
  uint8_t longer[sizeof(dat212) + 3] = {0};
  memcpy(longer, dat212, sizeof(dat212));
  assert_int_equal(load(&r, hea212, longer, sizeof(longer)), ERR_ECG_MALFORMED);
  static const uint8_t d16[] = {1, 0, 2};
  assert_int_equal(load(&r, "a 1 100 2\na.dat 16\n", d16, sizeof(d16)), ERR_ECG_MALFORMED);
  ecg_record_deinit(&r);
}

/* Header defaults (MIT-BIH style lines) and a sample count left out. */
static void test_header_defaults(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  static const char hea[] = "# a comment\r\n"
                            "100 2 360\r\n"
                            "100.dat 212 200 11 1024 1 3 0 MLII\r\n"
                            "\r\n"
                            "# between\r\n"
                            "100.dat 212\r\n"
                            "#Age: 69 Sex: M\r\n";
  static const uint8_t dat[] = {0x01, 0x00, 0x05, 0x02, 0x00, 0x06};
  assert_int_equal(load(&r, hea, dat, sizeof(dat)), OK);
  assert_int_equal(r.nsamples, 2);
  assert_int_equal(r.leads[0].baseline, 1024);
  assert_int_equal(r.leads[0].adc_zero, 1024);
  assert_int_equal(r.leads[0].adc_res, 11);
  assert_string_equal(r.leads[0].units, "");
  assert_string_equal(r.leads[1].name, "signal 1");
  assert_true(r.leads[1].gain == 200.0);
  assert_int_equal(r.leads[1].adc_res, 12);
  assert_false(r.leads[1].has_checksum);
  static const int16_t l1[] = {5, 6};
  expect_lead(&r, 1, l1, 2);
  assert_int_equal(parse(&r, "x 1\nx.dat 16 0(5)/mV\n"), OK);
  assert_true(r.freq_hz == 250.0);
  assert_true(r.leads[0].gain == 200.0);
  assert_int_equal(r.leads[0].baseline, 5);
  assert_int_equal(parse(&r, "x 1 128/1000(0) 10 10:00:00 01/02/2003\nx.dat 16\n"), OK);
  assert_true(r.freq_hz == 128.0);
  ecg_record_deinit(&r);
}

static void test_bad_headers(void **state) {
  (void)state;
  static const struct {
    const char *hea;
    int want;
  } cases[] = {
      {"", ERR_ECG_MALFORMED},
      {"# only a comment\n", ERR_ECG_MALFORMED},
      {"rec\n", ERR_ECG_MALFORMED},
      {"rec x\n", ERR_ECG_MALFORMED},
      {"rec 0\n", ERR_ECG_UNSUPPORTED},
      {"rec/2 2 250\n", ERR_ECG_UNSUPPORTED},
      {"re-c 1\nr.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 17\n", ERR_OVERSIZE},
      {"rec 1 500 120001\nr.dat 16\n", ERR_OVERSIZE},
      {"rec 16 500 70000\nr.dat 16\n", ERR_OVERSIZE},
      {"rec 1 abc\nr.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 1 -5\nr.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 1 500 10 t d extra\nr.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 2 500\nr.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16\nr.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 8\n", ERR_ECG_UNSUPPORTED},
      {"rec 1 500\nr.dat 310\n", ERR_ECG_UNSUPPORTED},
      {"rec 1 500\nr.dat 212x2\n", ERR_ECG_UNSUPPORTED},
      {"rec 1 500\nr.dat 16:1\n", ERR_ECG_UNSUPPORTED},
      {"rec 1 500\nr.dat 16+512\n", ERR_ECG_UNSUPPORTED},
      {"rec 2 500\nr.dat 16\ns.dat 16\n", ERR_ECG_UNSUPPORTED},
      {"rec 2 500\nr.dat 16\nr.dat 212\n", ERR_ECG_UNSUPPORTED},
      {"rec 1 500\n../r.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 1 500\n.r.dat 16\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat sixteen\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 abc\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 -200\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200(x)\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200(1\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200/\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200 x\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200 12 0 1 70000\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200 12 0 1.5\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 nan\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 inf\n", ERR_ECG_MALFORMED},
      {"rec 1 500\nr.dat 16 200 12 0 0 0 0 a\x01z\n", ERR_ECG_MALFORMED},
  };
  struct ecg_record r;
  ecg_record_init(&r);
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    int rc = parse(&r, cases[i].hea);
    if (rc != cases[i].want) {
      fail_msg("case %zu (%s): got %s, want %s", i, cases[i].hea, err_name(rc),
               err_name(cases[i].want));
    }
  }
  /* A line over LIM_ECG_LINE_MAX, a header over LIM_ECG_HEADER_BYTES_MAX,
   * a description over LIM_ECG_NAME_MAX. */
  char *big = malloc(LIM_ECG_HEADER_BYTES_MAX + 2);
  assert_non_null(big);
  memset(big, '#', LIM_ECG_HEADER_BYTES_MAX + 1);
  big[LIM_ECG_HEADER_BYTES_MAX + 1] = '\0';
  assert_int_equal(ecg_wfdb_header_parse(&r, big, LIM_ECG_HEADER_BYTES_MAX + 1), ERR_OVERSIZE);
  memcpy(big, "rec 1 500\n", 10);
  memset(big + 10, 'x', LIM_ECG_LINE_MAX + 1);
  assert_int_equal(ecg_wfdb_header_parse(&r, big, 10 + LIM_ECG_LINE_MAX + 1), ERR_ECG_MALFORMED);
  char hea[256];
  snprintf(hea, sizeof(hea), "rec 1 500\nr.dat 16 200 12 0 0 0 0 %0*d\n", LIM_ECG_NAME_MAX + 1, 0);
  assert_int_equal(parse(&r, hea), ERR_OVERSIZE);
  free(big);
  ecg_record_deinit(&r);
}

/* A signal file over the byte limit, and samples past the total limit
 * derived from a header without a sample count. */
static void test_signal_limits(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  size_t len = LIM_ECG_FILE_BYTES_MAX + 2;
  uint8_t *dat = calloc(len, 1);
  assert_non_null(dat);
  assert_int_equal(load(&r, "big 1 500\nbig.dat 16\n", dat, len), ERR_OVERSIZE);
  /* 8 leads x 2 bytes x 70,000 frames: each lead under the per-lead
   * limit, the total (560,000) under the sample limit, then 16 leads over. */
  assert_int_equal(load(&r,
                        "big 8 500\nbig.dat 16\nbig.dat 16\nbig.dat 16\nbig.dat 16\n"
                        "big.dat 16\nbig.dat 16\nbig.dat 16\nbig.dat 16\n",
                        dat, 8u * 2u * 70000u),
                   OK);
  assert_int_equal(r.nsamples, 70000);
  /* One lead of 130,000 samples: over LIM_ECG_SAMPLES_MAX. */
  assert_int_equal(load(&r, "big 1 500\nbig.dat 16\n", dat, 2u * 130000u), ERR_OVERSIZE);
  free(dat);
  ecg_record_deinit(&r);
}

static void test_set_format_range(void **state) {
  (void)state;
  static const uint8_t dat[] = {0xb8, 0x0b}; /* 3000 */
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(load(&r, "w 1 500 1\nw.dat 16 200 16 0 3000 3000 0 II\n", dat, sizeof(dat)), OK);
  assert_int_equal(ecg_record_set_format(&r, ECG_FORMAT_212), ERR_ECG_RANGE);
  assert_int_equal(r.format, ECG_FORMAT_16);
  assert_int_equal(ecg_record_set_format(&r, (enum ecg_format)8), ERR_ECG_UNSUPPORTED);
  ecg_lead_samples(&r, 0)[0] = 2047;
  ecg_record_sums(&r);
  assert_int_equal(ecg_record_set_format(&r, ECG_FORMAT_212), OK);
  assert_int_equal(r.leads[0].adc_res, 12);
  ecg_record_deinit(&r);
}

static char *read_vector(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof(path), "%s/ecg/%s", MEDCHAIN_VECTORS_DIR, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* tests/vectors/ecg/<name>.hea/.dat -> record -> the same bytes. */
static void roundtrip_vector(const char *name, struct ecg_record *r) {
  char file[64];
  size_t hlen = 0;
  size_t dlen = 0;
  snprintf(file, sizeof(file), "%s.hea", name);
  char *hea = read_vector(file, &hlen);
  snprintf(file, sizeof(file), "%s.dat", name);
  char *dat = read_vector(file, &dlen);
  assert_int_equal(ecg_wfdb_header_parse(r, hea, hlen), OK);
  assert_int_equal(ecg_wfdb_signal_decode(r, (const uint8_t *)dat, dlen), OK);
  assert_int_equal(r->nleads, 12);
  assert_int_equal(r->nsamples, 5000);
  char out[4096];
  size_t olen = 0;
  assert_int_equal(ecg_wfdb_header_encode(r, out, sizeof(out), &olen), OK);
  assert_int_equal(olen, hlen);
  assert_memory_equal(out, hea, hlen);
  uint8_t *sig = malloc(dlen);
  assert_non_null(sig);
  assert_int_equal(ecg_wfdb_signal_encode(r, sig, dlen, &olen), OK);
  assert_int_equal(olen, dlen);
  assert_memory_equal(sig, dat, dlen);
  assert_int_equal(ecg_wfdb_header_encode(r, out, 100, &olen), ERR_OVERSIZE);
  free(sig);
  free(hea);
  free(dat);
}

static void test_vectors_roundtrip(void **state) {
  (void)state;
  struct ecg_record a;
  struct ecg_record b;
  ecg_record_init(&a);
  ecg_record_init(&b);
  roundtrip_vector("synth212", &a);
  roundtrip_vector("synth16", &b);
  /* The two files hold the same samples in two formats. */
  assert_memory_equal(a.samples, b.samples, (size_t)12 * 5000 * sizeof(int16_t));
  /* Re-encoding the 212 record in format 16 gives the 16 file's signal. */
  a.file_name[0] = '\0';
  assert_int_equal(ecg_record_set_format(&a, ECG_FORMAT_16), OK);
  assert_string_equal(a.file_name, "synth212.dat");
  assert_int_equal(ecg_wfdb_signal_size(&a), 120000);
  ecg_record_deinit(&a);
  ecg_record_deinit(&b);
}

static void test_csv_vector(void **state) {
  (void)state;
  size_t len = 0;
  char *csv = read_vector("synth.csv", &len);
  struct ecg_record c;
  struct ecg_record w;
  ecg_record_init(&c);
  ecg_record_init(&w);
  struct ecg_csv_opts opts = {"synth", 0, 200};
  assert_int_equal(ecg_csv_parse(&c, csv, len, &opts), OK);
  assert_int_equal(c.nleads, 12);
  assert_int_equal(c.nsamples, 1000);
  assert_true(c.freq_hz == 500.0);
  assert_string_equal(c.leads[3].name, "aVR");
  roundtrip_vector("synth212", &w);
  for (uint32_t i = 0; i < 12; i++) {
    assert_memory_equal(ecg_lead_samples(&c, i), ecg_lead_samples(&w, i), 1000 * sizeof(int16_t));
  }
  /* The caller's frequency must agree with the time column. */
  opts.freq_hz = 250;
  assert_int_equal(ecg_csv_parse(&c, csv, len, &opts), ERR_BAD_ARGS);
  opts.freq_hz = 500;
  assert_int_equal(ecg_csv_parse(&c, csv, len, &opts), OK);
  free(csv);
  ecg_record_deinit(&c);
  ecg_record_deinit(&w);
}

static int csv(struct ecg_record *r, const char *text, double freq) {
  struct ecg_csv_opts opts = {"c", freq, 0};
  return ecg_csv_parse(r, text, strlen(text), &opts);
}

static void test_csv_cases(void **state) {
  (void)state;
  struct ecg_record r;
  ecg_record_init(&r);
  assert_int_equal(csv(&r, "\xef\xbb\xbfI, II\r\n0.5,-1.25\r\n0.001,32.767\r\n\r\n", 250), OK);
  assert_true(r.freq_hz == 250.0);
  assert_true(r.leads[0].gain == 1000.0);
  assert_string_equal(r.leads[1].name, "II");
  assert_string_equal(r.leads[1].units, "mV");
  static const int16_t l0[] = {500, 1};
  static const int16_t l1[] = {-1250, 32767};
  expect_lead(&r, 0, l0, 2);
  expect_lead(&r, 1, l1, 2);
  assert_int_equal(csv(&r, "Time,V1\n0.000,1\n0.004,2\n0.008,3\n", 0), OK);
  assert_true(r.freq_hz == 250.0);
  assert_int_equal(r.nleads, 1);
  static const struct {
    const char *text;
    double freq;
    int want;
  } cases[] = {
      {"I,II\n1,2\n", 0, ERR_BAD_ARGS},
      {"", 500, ERR_ECG_MALFORMED},
      {"I,II\n", 500, ERR_ECG_MALFORMED},
      {"time\n0\n", 500, ERR_ECG_MALFORMED},
      {"I,II\n1\n", 500, ERR_ECG_MALFORMED},
      {"I,II\n1,2,3\n", 500, ERR_ECG_MALFORMED},
      {"I,II\n1,x\n", 500, ERR_ECG_MALFORMED},
      {"I,II\n1,\n", 500, ERR_ECG_MALFORMED},
      {"I,\"II\"\n1,2\n", 500, ERR_ECG_MALFORMED},
      {"I,,II\n1,2,3\n", 500, ERR_ECG_MALFORMED},
      {"I\n1\n\n2\n", 500, ERR_ECG_MALFORMED},
      {"I\n33\n", 500, ERR_ECG_RANGE},
      {"I\n-32.769\n", 500, ERR_ECG_RANGE},
      {"I\n1e308\n", 500, ERR_ECG_RANGE},
      {"time,I\n0,1\n0.002,1\n0.005,1\n", 0, ERR_ECG_MALFORMED},
      {"time,I\n0,1\n0,1\n", 0, ERR_ECG_MALFORMED},
      {"time,I\n0,1\n", 0, ERR_ECG_MALFORMED},
      {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\n1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", 500, ERR_OVERSIZE},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    int rc = csv(&r, cases[i].text, cases[i].freq);
    if (rc != cases[i].want) {
      fail_msg("case %zu: got %s, want %s", i, err_name(rc), err_name(cases[i].want));
    }
    assert_null(r.samples);
  }
  struct ecg_csv_opts bad = {"bad name", 500, 0};
  assert_int_equal(ecg_csv_parse(&r, "I\n1\n", 4, &bad), ERR_BAD_ARGS);
  ecg_record_deinit(&r);
}

static void test_lead_codes(void **state) {
  (void)state;
  static const struct {
    const char *name;
    uint32_t code;
  } want[] = {{"I", 131329},   {"II", 131330},  {"III", 131389}, {"aVR", 131390},
              {"aVL", 131391}, {"aVF", 131392}, {"V1", 131331},  {"V2", 131332},
              {"V3", 131333},  {"V4", 131334},  {"V5", 131335},  {"V6", 131336}};
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    uint32_t code = 0;
    const char *refid = NULL;
    assert_true(ecg_lead_mdc(want[i].name, &code, &refid));
    assert_int_equal(code, want[i].code);
    assert_non_null(strstr(refid, "MDC_ECG_ELEC_POTL_"));
    assert_string_equal(ecg_lead_from_mdc(code), want[i].name);
  }
  uint32_t code = 0;
  const char *refid = NULL;
  assert_true(ecg_lead_mdc("AVF", &code, &refid));
  assert_int_equal(code, 131392);
  assert_false(ecg_lead_mdc("MLII", &code, &refid));
  assert_null(ecg_lead_from_mdc(131328));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_212_known_values),
      cmocka_unit_test(test_16_known_values),
      cmocka_unit_test(test_212_odd_total),
      cmocka_unit_test(test_checksum_and_initial_refused),
      cmocka_unit_test(test_truncated_and_long_files),
      cmocka_unit_test(test_header_defaults),
      cmocka_unit_test(test_bad_headers),
      cmocka_unit_test(test_signal_limits),
      cmocka_unit_test(test_set_format_range),
      cmocka_unit_test(test_vectors_roundtrip),
      cmocka_unit_test(test_csv_vector),
      cmocka_unit_test(test_csv_cases),
      cmocka_unit_test(test_lead_codes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
