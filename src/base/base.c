/*
 * base — error table, hex, integer parsing, clocks and the logger.
 *
 * The error table is an X-macro so that names, HTTP statuses and messages
 * can never drift apart; err_name() of an out-of-range code is a bug.
 */
#include "base/base.h"

#include <assert.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct err_row {
  const char *name;
  int http;
  const char *msg;
};

static const struct err_row err_rows[ERR_COUNT_] = {
#define ERR_ROW_(sym, name, http, msg) [sym] = {name, http, msg},
    ERR_TABLE(ERR_ROW_)
#undef ERR_ROW_
};

static const struct err_row *err_row(int err) {
  if (err < 0 || err >= ERR_COUNT_) {
    return &err_rows[ERR_INTERNAL];
  }
  return &err_rows[err];
}

const char *err_name(int err) {
  return err_row(err)->name;
}
const char *err_str(int err) {
  return err_row(err)->msg;
}
int err_http_status(int err) {
  return err_row(err)->http;
}

int err_from_name(const char *name) {
  for (int i = 0; i < ERR_COUNT_; i++) {
    if (strcmp(err_rows[i].name, name) == 0) {
      return i;
    }
  }
  return -1;
}

void base_hex_encode(char *out, const uint8_t *in, size_t len) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

static int hex_nibble(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

int base_hex_decode(uint8_t *out, size_t len, const char *hex) {
  if (hex == NULL) {
    return ERR_MALFORMED;
  }
  for (size_t i = 0; i < len; i++) {
    int hi = hex_nibble(hex[2 * i]);
    if (hi < 0) {
      return ERR_MALFORMED;
    }
    int lo = hex_nibble(hex[2 * i + 1]);
    if (lo < 0) {
      return ERR_MALFORMED;
    }
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return hex[2 * len] == '\0' ? OK : ERR_MALFORMED;
}

int base_hex_decode_var(uint8_t *out, size_t cap, size_t *out_len, const char *hex) {
  if (hex == NULL) {
    return ERR_MALFORMED;
  }
  size_t n = strlen(hex);
  if (n % 2 != 0) {
    return ERR_MALFORMED;
  }
  if (n / 2 > cap) {
    return ERR_OVERSIZE;
  }
  int rc = base_hex_decode(out, n / 2, hex);
  if (rc != OK) {
    return rc;
  }
  *out_len = n / 2;
  return OK;
}

void base_hash_hex(char out[65], const struct hash32 *h) {
  base_hex_encode(out, h->b, 32);
}

bool base_hash_eq(const struct hash32 *a, const struct hash32 *b) {
  return memcmp(a->b, b->b, 32) == 0;
}

bool base_hash_is_zero(const struct hash32 *h) {
  uint8_t acc = 0;
  for (size_t i = 0; i < 32; i++) {
    acc |= h->b[i];
  }
  return acc == 0;
}

int base_parse_u64(uint64_t *out, const char *s) {
  if (s == NULL || s[0] == '\0') {
    return ERR_MALFORMED;
  }
  if (s[0] == '0' && s[1] != '\0') {
    return ERR_MALFORMED;
  }
  uint64_t v = 0;
  for (const char *p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') {
      return ERR_MALFORMED;
    }
    uint64_t d = (uint64_t)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) {
      return ERR_MALFORMED;
    }
    v = v * 10 + d;
  }
  *out = v;
  return OK;
}

void base_put_u64be(uint8_t out[8], uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    out[i] = (uint8_t)(v & 0xff);
    v >>= 8;
  }
}

uint64_t base_get_u64be(const uint8_t in[8]) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | in[i];
  }
  return v;
}

void base_put_u32be(uint8_t out[4], uint32_t v) {
  out[0] = (uint8_t)(v >> 24);
  out[1] = (uint8_t)(v >> 16);
  out[2] = (uint8_t)(v >> 8);
  out[3] = (uint8_t)v;
}

uint32_t base_get_u32be(const uint8_t in[4]) {
  return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

int base_dir_check_empty(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return ERR_IO;
  }
  int rc = OK;
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      rc = ERR_EXISTS;
      break;
    }
  }
  closedir(d);
  return rc;
}

uint64_t base_now_ms(void) {
  struct timespec ts;
  int rc = clock_gettime(CLOCK_REALTIME, &ts);
  assert(rc == 0);
  (void)rc;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t base_mono_ns(void) {
  struct timespec ts;
  int rc = clock_gettime(CLOCK_MONOTONIC, &ts);
  assert(rc == 0);
  (void)rc;
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Escapes a message for a JSON string: quotes, backslashes and control
 * characters. Library messages (libmicrohttpd's) and paths may hold them. */
static void base_json_escape(char *out, size_t cap, const char *in) {
  assert(cap >= 7);
  size_t o = 0;
  for (const char *p = in; *p != '\0' && o + 7 < cap; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch == '"' || ch == '\\') {
      out[o++] = '\\';
      out[o++] = (char)ch;
    } else if (ch < 0x20) {
      o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
    } else {
      out[o++] = (char)ch;
    }
  }
  out[o] = '\0';
}

static enum base_log_level log_min = BASE_LOG_INFO;
static bool log_json = false;

void base_log_setup(enum base_log_level min, bool json) {
  log_min = min;
  log_json = json;
}

void base_log(enum base_log_level lvl, const char *module, const char *fmt, ...) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  if (lvl < log_min) {
    return;
  }
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  uint64_t now = base_now_ms();
  time_t secs = (time_t)(now / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  if (log_json) {
    char esc[2 * sizeof msg];
    base_json_escape(esc, sizeof esc, msg);
    fprintf(stderr, "{\"ts\":\"%s.%03uZ\",\"level\":\"%s\",\"module\":\"%s\",\"msg\":\"%s\"}\n", ts,
            (unsigned)(now % 1000), names[lvl], module, esc);
  } else {
    fprintf(stderr, "%s.%03uZ %-5s %-8s %s\n", ts, (unsigned)(now % 1000), names[lvl], module, msg);
  }
}
