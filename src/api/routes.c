/*
 * routes — the router: a table of (method, pattern, handler), matched
 * against the raw request path segment by segment.
 *
 * The router never touches a socket: it takes a struct api_request and
 * fills a struct api_reply, so the server, the unit tests and the fuzzer
 * drive the same code. Paths are matched as sent, without decoding or
 * normalising: "/v1/../x" or "/v1/%73tatus" simply match no pattern and
 * answer 404, so no path ever reaches a handler other than by an exact
 * pattern. A pattern's "{name}" matches one non-empty segment, which the
 * handler parses strictly. The query string is percent-decoded here into at
 * most API_QUERY_MAX parameters; a repeated parameter is a bad request
 * rather than a guess at which one was meant.
 *
 * A path no route matches may still be one of the portal's files ("/" and
 * "/assets/..."), when the server has a web directory: static.c checks it
 * and answers it, counted under the route "static". A path that matches a
 * route is never looked up as a file.
 *
 * Order of checks: route, method, body size, query, then the handler (which
 * checks its parameters before it asks the node for anything). Every answer
 * is counted by route pattern and status, and logged at debug level with
 * the pattern only (ids in paths can name patients), never a body.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct route {
  const char *method;
  const char *pattern;
  api_handler_fn fn;
  const void *arg;
};

#define ENTITY(k) ((const void *)&api_entities[k])

static const struct route routes[] = {
    {"GET", "/health", api_h_health, NULL},
    {"GET", "/metrics", api_h_metrics, NULL},
    {"GET", "/v1/status", api_h_status, NULL},
    {"GET", "/v1/methods", api_h_methods, NULL},
    {"GET", "/v1/openapi.json", api_h_openapi, NULL},
    {"GET", "/v1/blocks", api_h_blocks, NULL},
    {"GET", "/v1/blocks/latest", api_h_block_latest, NULL},
    {"GET", "/v1/blocks/{height}", api_h_block, NULL},
    {"POST", "/v1/txs", api_h_tx_submit, NULL},
    {"GET", "/v1/txs/{hash}", api_h_tx_get, NULL},
    {"GET", "/v1/state/proof", api_h_state_proof, NULL},
    {"GET", "/v1/events", api_h_events, NULL},
    {"GET", "/v1/organizations", api_h_entity_list, ENTITY(CTR_ORG)},
    {"GET", "/v1/organizations/{id}", api_h_entity_get, ENTITY(CTR_ORG)},
    {"GET", "/v1/identities", api_h_entity_list, ENTITY(CTR_IDENTITY)},
    {"GET", "/v1/identities/{id}", api_h_entity_get, ENTITY(CTR_IDENTITY)},
    {"GET", "/v1/keys/{pk}", api_h_key_get, ENTITY(CTR_IDENTITY)},
    {"GET", "/v1/proposals", api_h_entity_list, ENTITY(CTR_PROPOSAL)},
    {"GET", "/v1/proposals/{id}", api_h_entity_get, ENTITY(CTR_PROPOSAL)},
    {"GET", "/v1/validators", api_h_entity_list, ENTITY(CTR_VALIDATOR)},
    {"GET", "/v1/validators/{id}", api_h_entity_get, ENTITY(CTR_VALIDATOR)},
    {"GET", "/v1/consents", api_h_entity_list, ENTITY(CTR_CONSENT)},
    {"GET", "/v1/consents/{id}", api_h_entity_get, ENTITY(CTR_CONSENT)},
    {"GET", "/v1/records", api_h_entity_list, ENTITY(CTR_RECORD)},
    {"GET", "/v1/records/{id}", api_h_entity_get, ENTITY(CTR_RECORD)},
    {"GET", "/v1/records/{id}/content", api_h_record_content, NULL},
    {"PUT", "/v1/blobs/{hash}", api_h_blob_put, NULL},
    {"GET", "/v1/blobs/{hash}", api_h_blob_get, NULL},
    {"GET", "/v1/audit", api_h_entity_list, ENTITY(CTR_AUDIT)},
    {"GET", "/v1/audit/{id}", api_h_entity_get, ENTITY(CTR_AUDIT)},
    /* The FHIR R4 facade: fhir.c reads the type (and id) from the path. */
    {"GET", "/fhir/{type}", api_h_fhir, NULL},
    {"POST", "/fhir/{type}", api_h_fhir, NULL},
    {"GET", "/fhir/{type}/{id}", api_h_fhir, NULL},
    {"GET", "/v1/schedules", api_h_entity_list, ENTITY(CTR_SCHEDULE)},
    {"GET", "/v1/schedules/{id}", api_h_entity_get, ENTITY(CTR_SCHEDULE)},
    {"GET", "/v1/slots", api_h_appt_search, ENTITY(CTR_SLOT)},
    {"GET", "/v1/slots/{id}", api_h_entity_get, ENTITY(CTR_SLOT)},
    {"GET", "/v1/appointments", api_h_appt_search, ENTITY(CTR_APPT)},
    {"POST", "/v1/appointments", api_h_appt_relay, NULL},
    {"GET", "/v1/appointments/{id}", api_h_entity_get, ENTITY(CTR_APPT)},
    {"GET", "/v1/appointment-policies/{id}", api_h_entity_get, ENTITY(CTR_APPT_POLICY)},
    {"GET", "/v1/patients/{id}/appointments", api_h_patient_appts, NULL},
    {"GET", "/v1/drugs/verify", api_h_drug_verify, NULL},
    {"GET", "/v1/drugs/{gtin}/{serial}/history", api_h_drug_history, NULL},
    {"GET", "/v1/drugs/lots/{gtin}/{lot}/holders", api_h_lot_holders, NULL},
    {"GET", "/v1/epcis/events/{id}", api_h_entity_get, ENTITY(CTR_EVENT)},
    {"POST", "/v1/epcis/capture", api_h_epcis_capture, NULL},
};

/* The portal's files: not in the table above, which is the API (and what
 * docs/openapi.json must describe). */
static const struct route static_route = {"GET", "static", api_h_static, NULL};

#define ROUTE_UNMATCHED ARRAY_LEN(routes)
#define ROUTE_STATIC (ARRAY_LEN(routes) + 1)
_Static_assert(ARRAY_LEN(routes) + 2 <= API_ROUTE_SLOTS,
               "one counter slot per route, unmatched and static");

const char *api_route_pattern(size_t slot) {
  if (slot < ARRAY_LEN(routes)) {
    return routes[slot].pattern;
  }
  if (slot == ROUTE_UNMATCHED) {
    return "unmatched";
  }
  return slot == ROUTE_STATIC ? static_route.pattern : NULL;
}

/* ---- matching --------------------------------------------------------------- */

/* True when path matches pattern; the "{...}" segment's span goes to
 * *param / *param_len (untouched when the pattern has none). */
static bool pattern_match(const char *pattern, const char *path, const char **param,
                          size_t *param_len) {
  const char *p = pattern;
  const char *s = path;
  while (*p != '\0') {
    if (*p == '{') {
      const char *close = strchr(p, '}');
      assert(close != NULL);
      size_t n = strcspn(s, "/");
      if (n == 0) {
        return false;
      }
      /* A pattern with two parameters ("/v1/drugs/{gtin}/{serial}/...")
       * hands its handler the span from the first to the last, slash
       * included, to split. */
      if (*param == NULL) {
        *param = s;
        *param_len = n;
      } else {
        *param_len = (size_t)(s + n - *param);
      }
      s += n;
      p = close + 1;
      continue;
    }
    if (*p != *s) {
      return false;
    }
    p++;
    s++;
  }
  return *s == '\0';
}

static bool method_allows(const char *route_method, const char *method) {
  if (strcmp(route_method, method) == 0) {
    return true;
  }
  /* HEAD is GET without the body (libmicrohttpd drops it). */
  return strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

/* A path no route has: a portal file when the server has a web directory
 * and the path is "/" or under "/assets/" (malformed or not: static.c
 * answers). OK, ERR_ROUTE or ERR_METHOD. */
static int route_find_static(const struct api_request *req, size_t *slot) {
  char rel[API_STATIC_PATH_MAX + 1];
  if (req->web_dir == NULL || api_static_path(rel, sizeof(rel), req->path) == ERR_ROUTE) {
    return ERR_ROUTE;
  }
  *slot = ROUTE_STATIC;
  return method_allows(static_route.method, req->method) ? OK : ERR_METHOD;
}

/* Finds the route: *slot gets its index, ROUTE_STATIC or ROUTE_UNMATCHED.
 * Returns OK, ERR_ROUTE or ERR_METHOD (the path exists under another
 * method). */
static int route_find(const struct api_request *req, size_t *slot, const char **param,
                      size_t *param_len) {
  bool path_known = false;
  *slot = ROUTE_UNMATCHED;
  for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
    const char *pp = NULL;
    size_t pn = 0;
    if (!pattern_match(routes[i].pattern, req->path, &pp, &pn)) {
      continue;
    }
    if (method_allows(routes[i].method, req->method)) {
      *slot = i;
      *param = pp;
      *param_len = pn;
      return OK;
    }
    if (!path_known) {
      path_known = true;
      *slot = i; /* count a 405 under the pattern the path named */
    }
  }
  return path_known ? ERR_METHOD : route_find_static(req, slot);
}

/* ---- query strings ---------------------------------------------------------- */

static int hex_digit(char c) {
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

/* Percent-decodes s in place ('+' is a space). A bad escape or a decoded
 * NUL is a bad request. */
static int url_decode(char *s) {
  char *w = s;
  for (const char *r = s; *r != '\0'; r++) {
    if (*r == '+') {
      *w++ = ' ';
    } else if (*r != '%') {
      *w++ = *r;
    } else {
      int hi = hex_digit(r[1]);
      int lo = hi < 0 ? -1 : hex_digit(r[2]);
      if (lo < 0 || (hi == 0 && lo == 0)) {
        return ERR_BAD_REQUEST;
      }
      *w++ = (char)(hi << 4 | lo);
      r += 2;
    }
  }
  *w = '\0';
  return OK;
}

/* repeats: the FHIR facade's queries, where a parameter may come twice
 * (a date's two bounds: fhir.c decides which may). */
static int query_add(struct api_query *q, char *part, bool repeats) {
  char *eq = strchr(part, '=');
  char *val = part + strlen(part); /* "" inside our buffer: decoding writes */
  if (eq != NULL) {
    *eq = '\0';
    val = eq + 1;
  }
  if (url_decode(part) != OK || url_decode(val) != OK) {
    return ERR_BAD_REQUEST;
  }
  for (size_t i = 0; i < q->n && !repeats; i++) {
    if (strcmp(q->key[i], part) == 0) {
      return ERR_BAD_REQUEST;
    }
  }
  if (q->n == API_QUERY_MAX) {
    return ERR_BAD_REQUEST;
  }
  q->key[q->n] = part;
  q->val[q->n] = val;
  q->n++;
  return OK;
}

static int query_parse(struct api_query *q, const char *raw, bool repeats) {
  memset(q, 0, sizeof(*q));
  if (raw == NULL || raw[0] == '\0') {
    return OK;
  }
  q->buf = strdup(raw);
  if (q->buf == NULL) {
    return ERR_NOMEM;
  }
  char *part = q->buf;
  while (part != NULL) {
    char *amp = strchr(part, '&');
    if (amp != NULL) {
      *amp = '\0';
    }
    if (part[0] != '\0') {
      int rc = query_add(q, part, repeats);
      if (rc != OK) {
        return rc;
      }
    }
    part = amp == NULL ? NULL : amp + 1;
  }
  return OK;
}

const char *api_query_get(const struct api_ctx *c, const char *key) {
  for (size_t i = 0; i < c->query.n; i++) {
    if (strcmp(c->query.key[i], key) == 0) {
      return c->query.val[i];
    }
  }
  return NULL;
}

int api_query_u64(const struct api_ctx *c, const char *key, uint64_t *out, bool *present) {
  const char *v = api_query_get(c, key);
  *present = v != NULL;
  if (v == NULL) {
    return OK;
  }
  return base_parse_u64(out, v) == OK ? OK : ERR_BAD_REQUEST;
}

int api_query_id(const struct api_ctx *c, const char *key, struct hash32 *out, bool *present) {
  const char *v = api_query_get(c, key);
  *present = v != NULL;
  if (v == NULL) {
    return OK;
  }
  return base_hex_decode(out->b, sizeof(out->b), v) == OK ? OK : ERR_BAD_REQUEST;
}

int api_query_limit(const struct api_ctx *c, uint32_t *limit) {
  uint64_t v = 50;
  bool present = false;
  if (api_query_u64(c, "limit", &v, &present) != OK || v < 1 || v > LIM_PAGE_MAX) {
    return ERR_BAD_REQUEST;
  }
  *limit = (uint32_t)v;
  return OK;
}

int api_param_id(const struct api_ctx *c, struct hash32 *out) {
  return base_hex_decode(out->b, sizeof(out->b), c->param) == OK ? OK : ERR_BAD_REQUEST;
}

int api_view_open(const struct api_ctx *c, struct node_view **out) {
  if (c->node == NULL) {
    return ERR_UNAVAILABLE;
  }
  return node_view_begin(c->node, out);
}

/* ---- replies ---------------------------------------------------------------- */

/* Compact JSON text plus a newline, for people reading with curl. */
static void reply_json(struct api_reply *out, int status, json_t *body) {
  char *text = body == NULL ? NULL : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
  size_t n = text == NULL ? 0 : strlen(text);
  char *grown = text == NULL ? NULL : realloc(text, n + 2);
  if (grown == NULL) {
    free(text);
    out->status = err_http_status(ERR_NOMEM);
    out->body = NULL; /* the server answers with a static body */
    out->len = 0;
    out->content_type = "application/json";
    return;
  }
  grown[n] = '\n';
  grown[n + 1] = '\0';
  out->status = status;
  out->body = grown;
  out->len = n + 1;
  out->content_type = "application/json";
}

/* An error body, with the handler's extra fields (hash, height, ...) and
 * its own message when it has one. */
static void reply_error(struct api_reply *out, int err, json_t *extra, const char *message) {
  json_t *body = api_error_json(err);
  if (body != NULL && message != NULL &&
      json_object_set_new(json_object_get(body, "error"), "message", json_string(message)) != 0) {
    json_decref(body);
    body = NULL;
  }
  if (body != NULL && json_is_object(extra) && json_object_update_missing(body, extra) != 0) {
    json_decref(body);
    body = NULL;
  }
  reply_json(out, err_http_status(err), body);
  json_decref(body);
}

/* A portal answer: an empty body, and the file (moved into out) when the
 * handler opened one. */
static void reply_file(struct api_reply *out, struct api_ctx *c) {
  out->body = strdup("");
  if (out->body == NULL) {
    reply_error(out, ERR_NOMEM, NULL, NULL);
    return;
  }
  out->status = c->status;
  out->len = 0;
  out->content_type = c->content_type;
  out->file = c->file;
  c->file.open = false;
}

static void reply_from_ctx(struct api_reply *out, int rc, struct api_ctx *c) {
  if (rc != OK) {
    reply_error(out, rc, c->json, c->message);
  } else if (c->file.portal) {
    reply_file(out, c);
  } else if (c->text != NULL) {
    out->status = c->status;
    out->body = c->text;
    out->len = c->text_len;
    out->content_type = c->content_type;
    c->text = NULL;
  } else if (c->json != NULL) {
    reply_json(out, c->status, c->json);
  } else {
    reply_error(out, ERR_INTERNAL, NULL, NULL);
  }
}

void api_reply_free(struct api_reply *r) {
  if (r == NULL) {
    return;
  }
  free(r->body);
  r->body = NULL;
  r->len = 0;
  if (r->file.open) {
    close(r->file.fd);
    r->file.open = false;
  }
}

/* ---- dispatch --------------------------------------------------------------- */

/* The method for the log: a client's arbitrary token never reaches it. */
static const char *log_method(const char *method) {
  static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  for (size_t i = 0; i < ARRAY_LEN(known); i++) {
    if (strcmp(known[i], method) == 0) {
      return known[i];
    }
  }
  return "OTHER";
}

size_t api_body_limit(const char *method, const char *uri) {
  if (strcmp(method, "PUT") == 0 && strncmp(uri, "/v1/blobs/", 10) == 0) {
    return LIM_BLOB_BYTES_MAX;
  }
  if (strcmp(method, "POST") == 0 && strncmp(uri, "/fhir/", 6) == 0) {
    return LIM_BLOB_BYTES_MAX;
  }
  return LIM_HTTP_BODY_MAX;
}

void api_header_add(struct api_ctx *c, const char *name, const char *value) {
  assert(c->nheaders < API_HEADERS_MAX);
  struct api_header *h = &c->headers[c->nheaders++];
  h->name = name;
  snprintf(h->value, sizeof h->value, "%s", value);
}

static int dispatch(struct api_ctx *c, const struct route *r, const char *param, size_t param_len) {
  const struct api_request *req = c->req;
  if (req->body_oversize || req->body_len > api_body_limit(req->method, req->path)) {
    return ERR_OVERSIZE;
  }
  if (param_len > API_PARAM_MAX) {
    return ERR_BAD_REQUEST;
  }
  assert(param != NULL || param_len == 0);
  if (param_len > 0) {
    memcpy(c->param, param, param_len);
  }
  c->param[param_len] = '\0';
  int rc = query_parse(&c->query, req->query, api_fhir_path(req->path));
  if (rc != OK) {
    return rc;
  }
  c->arg = r->arg;
  return r->fn(c);
}

void api_route(struct node *n, struct api_metrics *m, const struct api_request *req,
               struct api_reply *out) {
  assert(req != NULL && req->method != NULL && req->path != NULL && out != NULL);
  uint64_t t0 = base_mono_ns();
  memset(out, 0, sizeof(*out));
  struct api_ctx *c = calloc(1, sizeof(*c));
  size_t slot = ROUTE_UNMATCHED;
  const char *param = NULL;
  size_t param_len = 0;
  int rc = route_find(req, &slot, &param, &param_len);
  if (c == NULL) {
    rc = ERR_NOMEM;
  } else if (rc == OK) {
    c->node = n;
    c->metrics = m;
    c->req = req;
    c->status = 200;
    rc = dispatch(c, slot == ROUTE_STATIC ? &static_route : &routes[slot], param, param_len);
  }
  if (c != NULL) {
    reply_from_ctx(out, rc, c);
    out->nheaders = c->nheaders;
    memcpy(out->headers, c->headers, sizeof out->headers);
    if (rc != OK && api_fhir_path(req->path)) {
      api_fhir_error_reply(out, rc, c->message, c->json);
    }
    if (c->file.open) {
      close(c->file.fd); /* not handed over: the answer is an error */
    }
    json_decref(c->json);
    free(c->text);
    free(c->query.buf);
    free(c);
  } else {
    reply_error(out, rc, NULL, NULL);
  }
  out->route = api_route_pattern(slot);
  if (m != NULL) {
    api_metrics_count(m, slot, out->status);
  }
  base_log(BASE_LOG_DEBUG, "api", "%s %s %d %.3fms", log_method(req->method), out->route,
           out->status, (double)(base_mono_ns() - t0) / 1e6);
}
