/*
 * ecg — converts electrocardiograms between PhysioNet WFDB, CSV and the
 * FHIR R4 Observation medchain stores (docs/ecg.md).
 *
 *   medchain ecg convert --in FILE.hea|FILE.csv [--freq HZ] [--gain G]
 *                        [--name NAME] [--patient ID] [--effective DATETIME]
 *                        --out OBS.json [--json]
 *   medchain ecg export --in OBS.json --out-dir DIR [--format 212|16] [--json]
 *
 * The conversions are the library's (ecg_*, api_ecg_*); this file only
 * reads and writes files. A header's signal file is opened beside the
 * header, by the plain name the header gives (the parser refuses names
 * with a '/'). Nothing of the recording is printed: the summary names the
 * record, its leads, counts and the files written.
 */
#include "cli/cli_internal.h"
#include "ecg/ecg.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads a whole regular file of at most max bytes into a malloc'd buffer
 * with a NUL after it. ERR_NOT_FOUND, ERR_IO, ERR_OVERSIZE, ERR_NOMEM. */
static int cli_ecg_read(const char *path, size_t max, char **out, size_t *len) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? ERR_NOT_FOUND : ERR_IO;
  }
  struct stat st;
  int rc = fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ? ERR_IO : OK;
  rc = rc == OK && (uint64_t)st.st_size > max ? ERR_OVERSIZE : rc;
  char *buf = rc == OK ? malloc((size_t)st.st_size + 1) : NULL;
  rc = rc == OK && buf == NULL ? ERR_NOMEM : rc;
  size_t off = 0;
  while (rc == OK && off < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    rc = n <= 0 ? ERR_IO : OK;
    off += n > 0 ? (size_t)n : 0;
  }
  close(fd);
  if (rc != OK) {
    free(buf);
    return rc;
  }
  buf[off] = '\0';
  *out = buf;
  *len = off;
  return OK;
}

static bool cli_ecg_ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s);
  size_t k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The directory part of path ("." when none) joined with name. */
static int cli_ecg_beside(char *out, size_t cap, const char *path, const char *name) {
  const char *slash = strrchr(path, '/');
  int n = slash == NULL ? snprintf(out, cap, "%s", name)
                        : snprintf(out, cap, "%.*s/%s", (int)(slash - path), path, name);
  return n < 0 || (size_t)n >= cap ? ERR_OVERSIZE : OK;
}

/* A record name from a file name: its base without the extension, with
 * anything outside [A-Za-z0-9_] made '_'. */
static void cli_ecg_name_from(char *out, size_t cap, const char *path) {
  const char *base = strrchr(path, '/');
  base = base != NULL ? base + 1 : path;
  size_t n = strcspn(base, ".");
  size_t k = 0;
  for (; k < n && k + 1 < cap && k < LIM_ECG_NAME_MAX; k++) {
    char c = base[k];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out[k] = ok ? c : '_';
  }
  if (k == 0) {
    memcpy(out, "ecg", 4);
    return;
  }
  out[k] = '\0';
}

static int cli_ecg_load_wfdb(struct ecg_record *r, const char *in) {
  char *text = NULL;
  size_t len = 0;
  int rc = cli_ecg_read(in, LIM_ECG_HEADER_BYTES_MAX, &text, &len);
  if (rc != OK) {
    return cli_report(rc, "could not read %s", in);
  }
  rc = ecg_wfdb_header_parse(r, text, len);
  free(text);
  if (rc != OK) {
    return cli_report(rc, "%s: %s", in, err_str(rc));
  }
  char dat[4096];
  if (cli_ecg_beside(dat, sizeof(dat), in, r->file_name) != OK) {
    return cli_report(ERR_OVERSIZE, "the signal file's path is too long");
  }
  uint8_t *bytes = NULL;
  rc = cli_ecg_read(dat, LIM_ECG_FILE_BYTES_MAX, (char **)&bytes, &len);
  if (rc != OK) {
    return cli_report(rc, "could not read the signal file %s", dat);
  }
  rc = ecg_wfdb_signal_decode(r, bytes, len);
  free(bytes);
  return rc == OK ? OK : cli_report(rc, "%s: %s", dat, err_str(rc));
}

/* A positive decimal option ("500", "360.5"); 0 when absent. */
static int cli_ecg_number(const char *opt, const char *s, double *out) {
  *out = 0;
  if (s == NULL) {
    return OK;
  }
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !isfinite(v) || v <= 0) {
    return cli_report(ERR_USAGE, "--%s wants a positive number, not '%s'", opt, s);
  }
  *out = v;
  return OK;
}

static int cli_ecg_load_csv(struct ecg_record *r, const struct cli_ecg_convert *o) {
  struct ecg_csv_opts opts = {NULL, 0, 0};
  char name[LIM_ECG_NAME_MAX + 1];
  cli_ecg_name_from(name, sizeof(name), o->in);
  opts.name = o->name != NULL ? o->name : name;
  if (cli_ecg_number("freq", o->freq, &opts.freq_hz) != OK ||
      cli_ecg_number("gain", o->gain, &opts.gain) != OK) {
    return ERR_USAGE;
  }
  char *text = NULL;
  size_t len = 0;
  int rc = cli_ecg_read(o->in, LIM_ECG_FILE_BYTES_MAX, &text, &len);
  if (rc != OK) {
    return cli_report(rc, "could not read %s", o->in);
  }
  rc = ecg_csv_parse(r, text, len, &opts);
  free(text);
  if (rc == ERR_BAD_ARGS) {
    return cli_report(rc,
                      "%s: give --freq HZ (no time column), a frequency that agrees with "
                      "the time column, and a --name of [A-Za-z0-9_]",
                      o->in);
  }
  return rc == OK ? OK : cli_report(rc, "%s: %s", o->in, err_str(rc));
}

static void cli_ecg_summary(const struct ecg_record *r, bool json, const char *verb,
                            const char *const *files, size_t nfiles) {
  if (!json) {
    printf("%s %s: %u leads, %u samples at %g Hz ->", verb, r->name, (unsigned)r->nleads,
           (unsigned)r->nsamples, r->freq_hz);
    for (size_t i = 0; i < nfiles; i++) {
      printf(" %s", files[i]);
    }
    printf("\n");
    return;
  }
  printf("{\"record\":");
  cli_json_str(stdout, r->name);
  printf(",\"leads\":[");
  for (uint32_t i = 0; i < r->nleads; i++) {
    printf(i == 0 ? "" : ",");
    cli_json_str(stdout, r->leads[i].name);
  }
  printf("],\"samples\":%u,\"freq_hz\":%.12g,\"format\":%d,\"files\":[", (unsigned)r->nsamples,
         r->freq_hz, (int)r->format);
  for (size_t i = 0; i < nfiles; i++) {
    printf(i == 0 ? "" : ",");
    cli_json_str(stdout, files[i]);
  }
  printf("]}\n");
}

int cli_ecg_observation(const struct cli_ecg_convert *o, struct ecg_record *r, char **json) {
  bool hea = cli_ecg_ends_with(o->in, ".hea");
  if (hea && (o->freq != NULL || o->gain != NULL || o->name != NULL)) {
    return cli_report(ERR_USAGE, "--freq, --gain and --name apply to CSV input only");
  }
  int rc = hea ? cli_ecg_load_wfdb(r, o->in) : cli_ecg_load_csv(r, o);
  if (rc == OK) {
    rc = api_ecg_observation_json(json, r, o->patient, o->effective);
    if (rc != OK) {
      cli_report(rc, "%s",
                 rc == ERR_BAD_ARGS ? "--patient wants a FHIR id and --effective a "
                                      "FHIR dateTime (2024-05-01T10:00:00Z)"
                                    : err_str(rc));
    }
  }
  return rc;
}

static int cli_ecg_convert_run(const struct cli_ecg_convert *o) {
  struct ecg_record r;
  ecg_record_init(&r);
  char *json = NULL;
  int rc = cli_ecg_observation(o, &r, &json);
  if (rc == ERR_USAGE) {
    ecg_record_deinit(&r);
    return CLI_EXIT_USAGE;
  }
  if (rc == OK) {
    rc = cli_file_write(o->out, json, strlen(json));
    if (rc != OK) {
      cli_report(rc, "could not write %s", o->out);
    }
  }
  if (rc == OK) {
    cli_ecg_summary(&r, o->json, "converted", &o->out, 1);
  }
  free(json);
  ecg_record_deinit(&r);
  return cli_exit_code(rc);
}

static int cli_ecg_convert(int argc, char **argv) {
  struct cli_ecg_convert o = {0};
  struct cli_opt opts[] = {
      {"in", CLI_OPT_STR, &o.in, false},
      {"out", CLI_OPT_STR, &o.out, false},
      {"freq", CLI_OPT_STR, &o.freq, false},
      {"gain", CLI_OPT_STR, &o.gain, false},
      {"name", CLI_OPT_STR, &o.name, false},
      {"patient", CLI_OPT_STR, &o.patient, false},
      {"effective", CLI_OPT_STR, &o.effective, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc, argv, pos, 0, &npos, err, sizeof(err)) != OK) {
    return cli_usage("ecg", "%s", err);
  }
  if (o.in == NULL || o.out == NULL) {
    return cli_usage("ecg", "convert needs --in FILE.hea|FILE.csv and --out OBS.json");
  }
  return cli_ecg_convert_run(&o);
}

/* Writes NAME.hea and NAME.dat of r into dir (created when missing). */
static int cli_ecg_write_wfdb(struct ecg_record *r, const char *dir, char *hea, char *dat,
                              size_t cap) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    return cli_report(ERR_IO, "could not create %s", dir);
  }
  char hname[LIM_ECG_NAME_MAX + 8];
  snprintf(hname, sizeof(hname), "%s.hea", r->name);
  if (cli_path(hea, cap, dir, hname) != OK || cli_path(dat, cap, dir, r->file_name) != OK) {
    return cli_report(ERR_OVERSIZE, "the output path is too long");
  }
  size_t hcap = (size_t)(LIM_ECG_LEADS_MAX + 1) * LIM_ECG_LINE_MAX;
  size_t dcap = ecg_wfdb_signal_size(r);
  char *htext = malloc(hcap);
  uint8_t *bytes = malloc(dcap);
  size_t hlen = 0;
  size_t dlen = 0;
  int rc = htext == NULL || bytes == NULL ? ERR_NOMEM : OK;
  rc = rc == OK ? ecg_wfdb_header_encode(r, htext, hcap, &hlen) : rc;
  rc = rc == OK ? ecg_wfdb_signal_encode(r, bytes, dcap, &dlen) : rc;
  if (rc != OK) {
    cli_report(rc, "%s", err_str(rc));
  } else if (cli_file_write(dat, bytes, dlen) != OK || cli_file_write(hea, htext, hlen) != OK) {
    rc = cli_report(ERR_IO, "could not write into %s", dir);
  }
  free(htext);
  free(bytes);
  return rc;
}

int cli_ecg_export_text(const char *text, size_t len, const char *what, const char *dir,
                        uint64_t format, bool json) {
  struct ecg_record r;
  ecg_record_init(&r);
  int rc = api_ecg_observation_parse(&r, text, len);
  if (rc != OK) {
    cli_report(rc, "%s: %s", what, err_str(rc));
  }
  if (rc == OK) {
    r.file_name[0] = '\0'; /* ecg_record_set_format names it NAME.dat */
    rc = ecg_record_set_format(&r, (enum ecg_format)format);
    if (rc != OK) {
      cli_report(rc, "%s",
                 rc == ERR_ECG_RANGE ? "a sample does not fit format 212 (12 bits): "
                                       "export with --format 16"
                                     : err_str(rc));
    }
  }
  char hea[4096];
  char dat[4096];
  rc = rc == OK ? cli_ecg_write_wfdb(&r, dir, hea, dat, sizeof(hea)) : rc;
  if (rc == OK) {
    const char *files[2] = {hea, dat};
    cli_ecg_summary(&r, json, "exported", files, 2);
  }
  ecg_record_deinit(&r);
  return rc;
}

static int cli_ecg_export_run(const char *in, const char *dir, uint64_t format, bool json) {
  char *text = NULL;
  size_t len = 0;
  int rc = cli_ecg_read(in, LIM_ECG_FILE_BYTES_MAX, &text, &len);
  if (rc != OK) {
    return cli_exit_code(cli_report(rc, "could not read %s", in));
  }
  rc = cli_ecg_export_text(text, len, in, dir, format, json);
  free(text);
  return cli_exit_code(rc);
}

static int cli_ecg_export(int argc, char **argv) {
  const char *in = NULL;
  const char *dir = NULL;
  uint64_t format = ECG_FORMAT_16;
  bool json = false;
  struct cli_opt opts[] = {
      {"in", CLI_OPT_STR, &in, false},
      {"out-dir", CLI_OPT_STR, &dir, false},
      {"format", CLI_OPT_U64, &format, false},
      {"json", CLI_OPT_FLAG, &json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc, argv, pos, 0, &npos, err, sizeof(err)) != OK) {
    return cli_usage("ecg", "%s", err);
  }
  if (in == NULL || dir == NULL) {
    return cli_usage("ecg", "export needs --in OBS.json and --out-dir DIR");
  }
  if (format != ECG_FORMAT_16 && format != ECG_FORMAT_212) {
    return cli_usage("ecg", "--format is 212 or 16");
  }
  return cli_ecg_export_run(in, dir, format, json);
}

int cli_cmd_ecg(int argc, char **argv) {
  if (argc < 2) {
    return cli_usage("ecg", "name a subcommand: convert or export");
  }
  if (strcmp(argv[1], "convert") == 0) {
    return cli_ecg_convert(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "export") == 0) {
    return cli_ecg_export(argc - 2, argv + 2);
  }
  return cli_usage("ecg", "unknown subcommand '%s' (convert, export)", argv[1]);
}
