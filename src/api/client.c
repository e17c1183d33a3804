/*
 * client — a small blocking HTTP client over one libcurl easy handle.
 *
 * The handle lives as long as the client so that its connection is kept
 * alive between requests (the CLI's tx + wait + query, the benchmarks'
 * loops). Each request resets the handle's options (curl_easy_reset keeps
 * the connection cache) and sets them afresh, so no option of one request
 * leaks into the next. Signals are off (CURLOPT_NOSIGNAL) because the
 * callers may be threaded; the body grows in a buffer capped at 64 MiB,
 * which bounds what a misbehaving server can make us hold.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS 70000L /* above the API's longest wait (60 s) */
#define BODY_MAX ((size_t)64 * 1024 * 1024)
#define URL_MAX 4096

struct api_client {
  CURL *curl;
  char *base_url; /* without a trailing '/' */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void) {
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int api_client_create(struct api_client **out, const char *base_url) {
  assert(out != NULL && base_url != NULL);
  *out = NULL;
  if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_rc != CURLE_OK) {
    return ERR_INTERNAL;
  }
  size_t n = strlen(base_url);
  while (n > 0 && base_url[n - 1] == '/') {
    n--;
  }
  if (n == 0 || n >= URL_MAX) {
    return ERR_BAD_ARGS;
  }
  struct api_client *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    return ERR_NOMEM;
  }
  c->base_url = strndup(base_url, n);
  c->curl = curl_easy_init();
  if (c->base_url == NULL || c->curl == NULL) {
    api_client_destroy(c);
    return ERR_NOMEM;
  }
  *out = c;
  return OK;
}

void api_client_destroy(struct api_client *c) {
  if (c == NULL) {
    return;
  }
  if (c->curl != NULL) {
    curl_easy_cleanup(c->curl);
  }
  free(c->base_url);
  free(c);
}

void api_response_free(struct api_response *r) {
  if (r == NULL) {
    return;
  }
  free(r->body);
  memset(r, 0, sizeof(*r));
}

/* ---- one request ------------------------------------------------------------- */

struct sink {
  char *buf;
  size_t len;
  size_t cap;
  bool oversize;
  char sealed_key[API_SEALED_KEY_HEX + 1];
  char content_hash[65];
};

/* Copies the value of header line `line` named `name` into out[cap]. */
static void header_take(const char *line, size_t n, const char *name, char *out, size_t cap) {
  size_t k = strlen(name);
  if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') {
    return;
  }
  const char *v = line + k + 1;
  size_t vn = n - k - 1;
  while (vn > 0 && (*v == ' ' || *v == '\t')) {
    v++;
    vn--;
  }
  while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' ')) {
    vn--;
  }
  if (vn < cap) {
    memcpy(out, v, vn);
    out[vn] = '\0';
  }
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx) {
  struct sink *s = ctx;
  size_t n = size * nmemb;
  header_take(data, n, "X-Medchain-Sealed-Key", s->sealed_key, sizeof s->sealed_key);
  header_take(data, n, "X-Medchain-Content-Hash", s->content_hash, sizeof s->content_hash);
  return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx) {
  struct sink *s = ctx;
  size_t n = size * nmemb; /* curl guarantees size == 1 */
  if (n > BODY_MAX - s->len) {
    s->oversize = true;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap == 0 ? 4096 : s->cap;
    while (cap < s->len + n + 1) {
      cap *= 2;
    }
    char *grown = realloc(s->buf, cap);
    if (grown == NULL) {
      return 0;
    }
    s->buf = grown;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, n);
  s->len += n;
  s->buf[s->len] = '\0';
  return n;
}

static int curl_error(CURLcode rc, const struct sink *s) {
  switch (rc) {
  case CURLE_OPERATION_TIMEDOUT:
    return ERR_TIMEOUT;
  case CURLE_WRITE_ERROR:
    return s->oversize ? ERR_OVERSIZE : ERR_NOMEM;
  case CURLE_OUT_OF_MEMORY:
    return ERR_NOMEM;
  case CURLE_URL_MALFORMAT:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return ERR_BAD_ARGS;
  default:
    return ERR_UNAVAILABLE;
  }
}

static void set_common(CURL *h, const char *url, struct sink *s) {
  /* Setting options on a valid handle fails only for unknown options. */
  (void)curl_easy_setopt(h, CURLOPT_URL, url);
  (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
  (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
  (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
  (void)curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  (void)curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
  (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
}

/* Runs the request the handle is set up for and fills out. */
static int perform(struct api_client *c, struct sink *s, struct api_response *out) {
  CURLcode rc = curl_easy_perform(c->curl);
  if (rc != CURLE_OK) {
    int err = curl_error(rc, s);
    free(s->buf);
    return err;
  }
  long status = 0;
  (void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
  if (s->buf == NULL) {
    s->buf = calloc(1, 1); /* an empty body is still a string */
    if (s->buf == NULL) {
      return ERR_NOMEM;
    }
  }
  out->status = status;
  out->body = s->buf;
  out->len = s->len;
  memcpy(out->sealed_key, s->sealed_key, sizeof out->sealed_key);
  memcpy(out->content_hash, s->content_hash, sizeof out->content_hash);
  return OK;
}

static int make_url(const struct api_client *c, const char *path, char *url, size_t cap) {
  const char *sep = path[0] == '/' ? "" : "/";
  int n = snprintf(url, cap, "%s%s%s", c->base_url, sep, path);
  return n > 0 && (size_t)n < cap ? OK : ERR_BAD_ARGS;
}

int api_client_get(struct api_client *c, const char *path, struct api_response *out) {
  assert(c != NULL && path != NULL && out != NULL);
  memset(out, 0, sizeof(*out));
  char url[URL_MAX];
  int rc = make_url(c, path, url, sizeof(url));
  if (rc != OK) {
    return rc;
  }
  struct sink s = {0};
  curl_easy_reset(c->curl);
  set_common(c->curl, url, &s);
  (void)curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
  return perform(c, &s, out);
}

int api_signed_header_lines(char lines[API_SIGNED_HEADERS][API_SIGNED_HEADER_MAX], const char *path,
                            const struct cry_keys *keys, const char *chain_id, uint64_t ts_ms,
                            const uint8_t nonce[16]) {
  char target[URL_MAX];
  int n = snprintf(target, sizeof(target), "%s", path);
  if (n < 0 || (size_t)n >= sizeof(target) || path[0] != '/') {
    return ERR_BAD_ARGS;
  }
  char *q = strchr(target, '?');
  if (q != NULL) {
    *q++ = '\0';
  }
  struct hash32 d;
  api_auth_digest(&d, "GET", target, q, NULL, 0, ts_ms, nonce, chain_id);
  struct signature sig;
  cry_sign(keys, &sig, d.b, sizeof(d.b));
  struct pubkey pk;
  cry_keys_sign_pk(keys, &pk);
  char pk_hex[2 * sizeof(pk.b) + 1], nonce_hex[2 * API_AUTH_NONCE_BYTES + 1];
  char sig_hex[2 * sizeof(sig.b) + 1];
  base_hex_encode(pk_hex, pk.b, sizeof(pk.b));
  base_hex_encode(nonce_hex, nonce, API_AUTH_NONCE_BYTES);
  base_hex_encode(sig_hex, sig.b, sizeof(sig.b));
  snprintf(lines[0], API_SIGNED_HEADER_MAX, "X-Medchain-Key: %s", pk_hex);
  snprintf(lines[1], API_SIGNED_HEADER_MAX, "X-Medchain-Timestamp: %llu",
           (unsigned long long)ts_ms);
  snprintf(lines[2], API_SIGNED_HEADER_MAX, "X-Medchain-Nonce: %s", nonce_hex);
  snprintf(lines[3], API_SIGNED_HEADER_MAX, "X-Medchain-Signature: %s", sig_hex);
  return OK;
}

/* The four signed-request headers for GET path (auth.c). */
static struct curl_slist *signed_headers(const char *path, const struct cry_keys *keys,
                                         const char *chain_id, uint64_t ts_ms,
                                         const uint8_t nonce[API_AUTH_NONCE_BYTES]) {
  char line[API_SIGNED_HEADERS][API_SIGNED_HEADER_MAX];
  if (api_signed_header_lines(line, path, keys, chain_id, ts_ms, nonce) != OK) {
    return NULL;
  }
  struct curl_slist *headers = NULL;
  for (size_t i = 0; i < ARRAY_LEN(line); i++) {
    struct curl_slist *more = curl_slist_append(headers, line[i]);
    if (more == NULL) {
      curl_slist_free_all(headers);
      return NULL;
    }
    headers = more;
  }
  return headers;
}

int api_client_get_signed_at(struct api_client *c, const char *path, const struct cry_keys *keys,
                             const char *chain_id, uint64_t ts_ms, const uint8_t nonce[16],
                             struct api_response *out) {
  assert(c != NULL && path != NULL && keys != NULL && chain_id != NULL && out != NULL);
  memset(out, 0, sizeof(*out));
  char url[URL_MAX];
  if (path[0] != '/') {
    return ERR_BAD_ARGS;
  }
  int rc = make_url(c, path, url, sizeof(url));
  if (rc != OK) {
    return rc;
  }
  uint8_t fresh[API_AUTH_NONCE_BYTES];
  if (nonce == NULL) {
    cry_random(fresh, sizeof(fresh));
    nonce = fresh;
  }
  struct curl_slist *headers =
      signed_headers(path, keys, chain_id, ts_ms == 0 ? base_now_ms() : ts_ms, nonce);
  if (headers == NULL) {
    return ERR_NOMEM;
  }
  struct sink s = {0};
  curl_easy_reset(c->curl);
  set_common(c->curl, url, &s);
  (void)curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
  /* The signature covers the path as given: curl must not tidy it. */
  (void)curl_easy_setopt(c->curl, CURLOPT_PATH_AS_IS, 1L);
  (void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
  rc = perform(c, &s, out);
  curl_slist_free_all(headers);
  return rc;
}

int api_client_get_signed(struct api_client *c, const char *path, const struct cry_keys *keys,
                          const char *chain_id, struct api_response *out) {
  return api_client_get_signed_at(c, path, keys, chain_id, 0, NULL, out);
}

int api_client_post(struct api_client *c, const char *path, const char *content_type,
                    const uint8_t *body, size_t len, struct api_response *out) {
  assert(c != NULL && path != NULL && out != NULL && (body != NULL || len == 0));
  memset(out, 0, sizeof(*out));
  char url[URL_MAX];
  char ct[256];
  int rc = make_url(c, path, url, sizeof(url));
  if (rc != OK) {
    return rc;
  }
  int n = snprintf(ct, sizeof(ct), "Content-Type: %s",
                   content_type == NULL ? "application/json" : content_type);
  if (n < 0 || (size_t)n >= sizeof(ct)) {
    return ERR_BAD_ARGS;
  }
  /* "Expect:" off: no 100-continue round trip for our small bodies. */
  struct curl_slist *headers = curl_slist_append(NULL, ct);
  struct curl_slist *more = headers == NULL ? NULL : curl_slist_append(headers, "Expect:");
  if (more == NULL) {
    curl_slist_free_all(headers);
    return ERR_NOMEM;
  }
  headers = more;
  struct sink s = {0};
  curl_easy_reset(c->curl);
  set_common(c->curl, url, &s);
  (void)curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
  (void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body == NULL ? (const void *)"" : body);
  (void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  (void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
  rc = perform(c, &s, out);
  curl_slist_free_all(headers);
  return rc;
}

int api_client_send_signed(struct api_client *c, const char *method, const char *path,
                           const char *content_type, const uint8_t *body, size_t len,
                           const char *extra_header, const struct cry_keys *keys,
                           const char *chain_id, struct api_response *out) {
  assert(c != NULL && method != NULL && path != NULL && keys != NULL && chain_id != NULL);
  assert(out != NULL && (body != NULL || len == 0));
  memset(out, 0, sizeof(*out));
  char url[URL_MAX], target[URL_MAX];
  int rc = make_url(c, path, url, sizeof(url));
  int n = snprintf(target, sizeof(target), "%s", path);
  if (rc != OK || n < 0 || (size_t)n >= sizeof(target) || path[0] != '/') {
    return ERR_BAD_ARGS;
  }
  char *q = strchr(target, '?');
  if (q != NULL) {
    *q++ = '\0';
  }
  uint8_t nonce[API_AUTH_NONCE_BYTES];
  cry_random(nonce, sizeof(nonce));
  uint64_t ts = base_now_ms();
  struct hash32 d;
  api_auth_digest(&d, method, target, q, body, len, ts, nonce, chain_id);
  struct signature sig;
  cry_sign(keys, &sig, d.b, sizeof(d.b));
  struct pubkey pk;
  cry_keys_sign_pk(keys, &pk);
  char hex[2 * sizeof(sig.b) + 1];
  char line[6][API_SIGNED_HEADER_MAX];
  base_hex_encode(hex, pk.b, sizeof(pk.b));
  snprintf(line[0], API_SIGNED_HEADER_MAX, "X-Medchain-Key: %s", hex);
  snprintf(line[1], API_SIGNED_HEADER_MAX, "X-Medchain-Timestamp: %llu", (unsigned long long)ts);
  base_hex_encode(hex, nonce, sizeof(nonce));
  snprintf(line[2], API_SIGNED_HEADER_MAX, "X-Medchain-Nonce: %s", hex);
  base_hex_encode(hex, sig.b, sizeof(sig.b));
  snprintf(line[3], API_SIGNED_HEADER_MAX, "X-Medchain-Signature: %s", hex);
  snprintf(line[4], API_SIGNED_HEADER_MAX, "Content-Type: %s",
           content_type == NULL ? "application/octet-stream" : content_type);
  snprintf(line[5], API_SIGNED_HEADER_MAX, "Expect:");
  struct curl_slist *headers = NULL;
  for (size_t i = 0; i < 6; i++) {
    struct curl_slist *more = curl_slist_append(headers, line[i]);
    if (more == NULL) {
      curl_slist_free_all(headers);
      return ERR_NOMEM;
    }
    headers = more;
  }
  if (extra_header != NULL) {
    struct curl_slist *more = curl_slist_append(headers, extra_header);
    if (more == NULL) {
      curl_slist_free_all(headers);
      return ERR_NOMEM;
    }
    headers = more;
  }
  struct sink s = {0};
  curl_easy_reset(c->curl);
  set_common(c->curl, url, &s);
  (void)curl_easy_setopt(c->curl, CURLOPT_PATH_AS_IS, 1L);
  (void)curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "GET") != 0) {
    (void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body == NULL ? (const void *)"" : body);
    (void)curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  (void)curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
  rc = perform(c, &s, out);
  curl_slist_free_all(headers);
  return rc;
}
