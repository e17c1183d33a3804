/*
 * cli_util — small pure helpers (JSON string output, slugs, the --orgs
 * grammar, paths, percentiles) and the few file-system operations the
 * commands share (empty-directory checks, recursive removal, temp dirs).
 *
 * The pure helpers are what tests/unit/test_cli.c covers; the file-system
 * ones fail with stable codes rather than errno text so the CLI's error
 * lines stay the same on every machine.
 */
/* nftw() is an XSI interface: the build's POSIX level alone hides it. */
#define _XOPEN_SOURCE 700

#include "cli/cli_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\') {
      fputc('\\', f);
      fputc(*p, f);
    } else if (*p == '\n') {
      fputs("\\n", f);
    } else if (*p == '\t') {
      fputs("\\t", f);
    } else if (*p < 0x20) {
      fprintf(f, "\\u%04x", (unsigned)*p);
    } else {
      fputc(*p, f);
    }
  }
  fputc('"', f);
}

static bool cli_is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char cli_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int cli_slug(char *out, size_t cap, const char *name) {
  size_t n = 0;
  bool dash = false;
  for (const char *p = name; *p != '\0'; p++) {
    if (!cli_is_alnum(*p)) {
      dash = n > 0;
      continue;
    }
    if (n + (dash ? 2 : 1) >= cap) {
      return ERR_OVERSIZE;
    }
    if (dash) {
      out[n++] = '-';
      dash = false;
    }
    out[n++] = cli_lower(*p);
  }
  if (cap > 0) {
    out[n < cap ? n : cap - 1] = '\0';
  }
  return n == 0 ? ERR_BAD_ARGS : OK;
}

bool cli_org_kind_valid(const char *kind) {
  static const char *const kinds[] = {"hospital",    "clinic",  "pharmacy",  "manufacturer",
                                      "distributor", "insurer", "regulator", "lab"};
  for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
    if (strcmp(kinds[i], kind) == 0) {
      return true;
    }
  }
  return false;
}

/* Copies s[0..len) with surrounding spaces trimmed into out[cap]. False
 * when the result is empty, too long or not printable ASCII. */
static bool cli_copy_trimmed(char *out, size_t cap, const char *s, size_t len) {
  while (len > 0 && *s == ' ') {
    s++;
    len--;
  }
  while (len > 0 && s[len - 1] == ' ') {
    len--;
  }
  if (len == 0 || len >= cap) {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    if (s[i] < 0x20 || s[i] > 0x7e) {
      return false;
    }
  }
  memcpy(out, s, len);
  out[len] = '\0';
  return true;
}

static int cli_org_parse_one(struct cli_org *org, const char *item, size_t len, char *err,
                             size_t errlen) {
  const char *colon = NULL;
  for (size_t i = 0; i < len; i++) {
    if (item[i] == ':') {
      colon = item + i;
    }
  }
  if (colon == NULL) {
    snprintf(err, errlen, "--orgs item '%.*s' is not Name:kind", (int)len, item);
    return ERR_USAGE;
  }
  size_t name_len = (size_t)(colon - item);
  if (!cli_copy_trimmed(org->name, sizeof(org->name), item, name_len)) {
    snprintf(err, errlen, "--orgs: bad organization name '%.*s'", (int)name_len, item);
    return ERR_USAGE;
  }
  size_t kind_len = len - name_len - 1;
  if (!cli_copy_trimmed(org->kind, sizeof(org->kind), colon + 1, kind_len) ||
      !cli_org_kind_valid(org->kind)) {
    snprintf(err, errlen,
             "--orgs: bad kind '%.*s' (hospital, clinic, pharmacy, manufacturer, distributor, "
             "insurer, regulator, lab)",
             (int)kind_len, colon + 1);
    return ERR_USAGE;
  }
  char slug[LIM_STR_MAX + 1];
  if (cli_slug(slug, sizeof(slug), org->name) != OK) {
    snprintf(err, errlen, "--orgs: organization name '%s' has no letters or digits", org->name);
    return ERR_USAGE;
  }
  return OK;
}

/* Two organizations whose names give the same slug would share a key file. */
static int cli_orgs_distinct(const struct cli_org *orgs, size_t n, char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    for (size_t j = i + 1; j < n; j++) {
      char a[LIM_STR_MAX + 1];
      char b[LIM_STR_MAX + 1];
      if (cli_slug(a, sizeof(a), orgs[i].name) == OK &&
          cli_slug(b, sizeof(b), orgs[j].name) == OK && strcmp(a, b) == 0) {
        snprintf(err, errlen, "--orgs: '%s' and '%s' are the same organization", orgs[i].name,
                 orgs[j].name);
        return ERR_USAGE;
      }
    }
  }
  return OK;
}

int cli_orgs_parse(struct cli_org *orgs, size_t cap, size_t *n, const char *spec, char *err,
                   size_t errlen) {
  *n = 0;
  const char *p = spec;
  for (;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
    if (*n >= cap) {
      snprintf(err, errlen, "--orgs: at most %zu organizations", cap);
      return ERR_USAGE;
    }
    int rc = cli_org_parse_one(&orgs[*n], p, len, err, errlen);
    if (rc != OK) {
      return rc;
    }
    *n += 1;
    if (comma == NULL) {
      break;
    }
    p = comma + 1;
  }
  return cli_orgs_distinct(orgs, *n, err, errlen);
}

int cli_split_method(const char *s, char *contract, size_t ccap, char *method, size_t mcap) {
  const char *dot = strchr(s, '.');
  if (dot == NULL || dot == s || dot[1] == '\0' || strchr(dot + 1, '.') != NULL) {
    return ERR_USAGE;
  }
  size_t clen = (size_t)(dot - s);
  size_t mlen = strlen(dot + 1);
  if (clen >= ccap || mlen >= mcap) {
    return ERR_USAGE;
  }
  memcpy(contract, s, clen);
  contract[clen] = '\0';
  memcpy(method, dot + 1, mlen + 1);
  return OK;
}

void cli_api_url(char *out, size_t cap, const char *host, uint16_t port) {
  snprintf(out, cap, "http://%s:%u", host, (unsigned)port);
}

int cli_path(char *out, size_t cap, const char *dir, const char *name) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap) {
    return ERR_OVERSIZE;
  }
  return OK;
}

uint64_t cli_percentile(const uint64_t *sorted, size_t n, unsigned pct) {
  if (n == 0) {
    return 0;
  }
  /* Nearest rank: the smallest value with at least pct% of values <= it. */
  size_t rank = (size_t)(((uint64_t)n * pct + 99) / 100);
  if (rank == 0) {
    rank = 1;
  }
  if (rank > n) {
    rank = n;
  }
  return sorted[rank - 1];
}

static int cli_mkdir_p(const char *dir) {
  char buf[NODE_PATH_MAX];
  size_t len = strlen(dir);
  if (len == 0 || len >= sizeof(buf)) {
    return ERR_OVERSIZE;
  }
  memcpy(buf, dir, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') {
      continue;
    }
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
      return ERR_IO;
    }
    buf[i] = saved;
  }
  return OK;
}

int cli_dir_prepare_empty(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    return errno == ENOENT ? cli_mkdir_p(dir) : ERR_IO;
  }
  if (!S_ISDIR(st.st_mode)) {
    return ERR_EXISTS;
  }
  return base_dir_check_empty(dir);
}

static int cli_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)ftw;
  int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
  return r != 0 && errno != ENOENT ? -1 : 0;
}

int cli_rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    return errno == ENOENT ? OK : ERR_IO;
  }
  if (nftw(path, cli_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
    return ERR_IO;
  }
  return OK;
}

int cli_file_write(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ERR_IO;
  }
  const uint8_t *p = data;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, p + off, len - off);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      close(fd);
      return ERR_IO;
    }
    off += (size_t)w;
  }
  return close(fd) == 0 ? OK : ERR_IO;
}

uint64_t cli_file_allocated_bytes(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    return 0;
  }
  return (uint64_t)st.st_blocks * 512u;
}

int cli_mkdtemp(char *out, size_t cap, const char *prefix) {
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0') {
    tmp = "/tmp";
  }
  int n = snprintf(out, cap, "%s/%s-XXXXXX", tmp, prefix);
  if (n < 0 || (size_t)n >= cap) {
    return ERR_OVERSIZE;
  }
  return mkdtemp(out) != NULL ? OK : ERR_IO;
}
