/*
 * libFuzzer target: the HTTP router, without a socket or a node.
 *
 * Input framing (seeds in corpus/fuzz_api_route are plain text):
 *   METHOD '\n' TARGET '\n' CONTENT-TYPE '\n' BODY...
 * where TARGET is the raw request target, path and optional "?query".
 * Missing lines are empty; the body is everything after the third newline,
 * NUL bytes included.
 *
 * Whatever the input, the reply must be well formed: a status between 200
 * and 599, a NUL-terminated body of the stated length, JSON when it says
 * so, and for every error an {"error": {"code", "message"}} whose code is a
 * stable name that maps back to the reply's status.
 */
#include "api/api_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_metrics *metrics;

/* Copies the next '\n'-terminated line (or the rest) as a C string. */
static char *take_line(const uint8_t **p, const uint8_t *end) {
  const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
  const uint8_t *stop = nl == NULL ? end : nl;
  size_t n = (size_t)(stop - *p);
  char *s = malloc(n + 1);
  if (s == NULL) {
    abort();
  }
  memcpy(s, *p, n);
  s[n] = '\0';
  *p = nl == NULL ? end : nl + 1;
  return s;
}

static void check_reply(const struct api_reply *rep) {
  if (rep->body == NULL || rep->status < 200 || rep->status > 599 || rep->route == NULL ||
      strlen(rep->body) != rep->len) {
    abort();
  }
  if (strcmp(rep->content_type, "application/json") != 0) {
    return;
  }
  json_error_t e;
  json_t *v = json_loads(rep->body, JSON_DECODE_ANY, &e);
  if (v == NULL) {
    abort();
  }
  json_decref(v);
  if (rep->status < 400) {
    return;
  }
  char code[64];
  if (api_json_lookup(rep->body, "error.code", code, sizeof(code)) != OK) {
    abort();
  }
  int err = err_from_name(code);
  if (err < 0 || err_http_status(err) != rep->status) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (metrics == NULL) {
    metrics = malloc(sizeof(*metrics));
    if (metrics == NULL) {
      abort();
    }
    api_metrics_init(metrics);
  }
  const uint8_t *p = data;
  const uint8_t *end = data + size;
  char *method = take_line(&p, end);
  char *target = take_line(&p, end);
  char *ctype = take_line(&p, end);
  char *query = strchr(target, '?');
  if (query != NULL) {
    *query++ = '\0';
  }
  struct api_request req = {
      .method = method,
      .path = target,
      .query = query,
      .content_type = ctype[0] == '\0' ? NULL : ctype,
      .body = p,
      .body_len = (size_t)(end - p),
  };
  struct api_reply rep;
  api_route(NULL, metrics, &req, &rep);
  check_reply(&rep);
  api_reply_free(&rep);
  free(method);
  free(target);
  free(ctype);
  return 0;
}
