/*
 * fhir — the FHIR R4 facade under /fhir: the table of resource types, the
 * router over it, the CapabilityStatement built from it, searchset
 * Bundles with paging, and OperationOutcome errors.
 *
 *   GET  /fhir/metadata          CapabilityStatement (from fhir_types[])
 *   GET  /fhir/{Type}/{id}       read
 *   GET  /fhir/{Type}?params     search: a searchset Bundle, one page
 *   POST /fhir/{Type}            create
 *
 * routes.c sends the three patterns here; the type and id are read from
 * the raw path, strictly ([A-Za-z]{1,64} and 64 hex digits: every id on
 * chain is a 32-byte hash). Search parameters are strict too: one a type
 * does not list is a 400 rather than silently ignored, so a client never
 * mistakes an unfiltered answer for a filtered one. A type takes one
 * filter at a time, or, when its parameters combine (Slot, Appointment:
 * fhir_query.c), a reference, a token and a date range together; only a
 * date parameter may repeat (its two bounds). Pages are ctr_list's:
 * _count (1..LIM_PAGE_MAX, default 50) and an opaque _cursor that the
 * Bundle's "next" link carries; "total" is given only when it costs
 * nothing (a first page that is also the last).
 *
 * Answers are application/fhir+json (application/json when the client
 * asks for it by Accept or _format). Every error under /fhir, including
 * the router's own 404 and 405, is an OperationOutcome with our stable
 * code (routes.c calls api_fhir_error_reply).
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifndef MEDCHAIN_VERSION
#define MEDCHAIN_VERSION "dev"
#endif

/* The types, in the order the CapabilityStatement lists them. */
static const struct fhir_type *const fhir_types[] = {
    &fhir_patient,
    &fhir_practitioner,
    &fhir_organization,
    &fhir_consent,
    &fhir_audit_event,
    &fhir_provenance,
    &fhir_document_reference,
    &fhir_observation,
    &fhir_schedule,
    &fhir_slot,
    &fhir_appointment,
    &fhir_medication_request,
    &fhir_medication_dispense,
};

size_t fhir_type_count(void) {
  return ARRAY_LEN(fhir_types);
}

const struct fhir_type *fhir_type_at(size_t i) {
  return i < ARRAY_LEN(fhir_types) ? fhir_types[i] : NULL;
}

const struct fhir_type *fhir_type_find(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(fhir_types); i++) {
    if (strcmp(fhir_types[i]->name, name) == 0) {
      return fhir_types[i];
    }
  }
  return NULL;
}

bool api_fhir_path(const char *path) {
  return strcmp(path, "/fhir") == 0 || strncmp(path, "/fhir/", 6) == 0;
}

/* ---- answers ------------------------------------------------------------------------- */

/* The content type to answer with: FHIR's, unless the client asked for
 * plain JSON (_format=json is FHIR's own name for either). */
static const char *answer_type(const struct api_ctx *c) {
  const char *f = api_query_get(c, "_format");
  if (f != NULL) {
    return strcmp(f, "application/json") == 0 ? "application/json" : FHIR_CONTENT_TYPE;
  }
  const char *a = c->req->accept;
  if (a != NULL && strstr(a, "application/json") != NULL && strstr(a, "fhir+json") == NULL) {
    return "application/json";
  }
  return FHIR_CONTENT_TYPE;
}

static int format_check(const struct api_ctx *c) {
  static const char *const ok[] = {"json", "application/json", "application/fhir+json"};
  const char *f = api_query_get(c, "_format");
  if (f == NULL) {
    return OK;
  }
  for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
    if (strcmp(f, ok[i]) == 0) {
      return OK;
    }
  }
  return ERR_BAD_REQUEST;
}

/* The resource as the answer's text, with a newline like every JSON answer. */
static int answer(struct api_ctx *c, int status, json_t *resource) {
  char *text = resource == NULL ? NULL : json_dumps(resource, JSON_COMPACT);
  json_decref(resource);
  if (text == NULL) {
    return ERR_NOMEM;
  }
  size_t n = strlen(text);
  char *grown = realloc(text, n + 2);
  if (grown == NULL) {
    free(text);
    return ERR_NOMEM;
  }
  grown[n] = '\n';
  grown[n + 1] = '\0';
  c->text = grown;
  c->text_len = n + 1;
  c->status = status;
  c->content_type = answer_type(c);
  return OK;
}

void api_fhir_error_reply(struct api_reply *out, int err, const char *message,
                          const json_t *extra) {
  assert(err != OK);
  json_t *o = fhir_outcome(err, message, extra);
  char *text = o == NULL ? NULL : json_dumps(o, JSON_COMPACT);
  json_decref(o);
  size_t n = text == NULL ? 0 : strlen(text);
  char *grown = text == NULL ? NULL : realloc(text, n + 2);
  if (grown == NULL) {
    free(text);
    return; /* keep the plain JSON error already in out */
  }
  grown[n] = '\n';
  grown[n + 1] = '\0';
  api_reply_free(out);
  out->status = err_http_status(err);
  out->body = grown;
  out->len = n + 1;
  out->content_type = FHIR_CONTENT_TYPE;
}

/* ---- the base URL ---------------------------------------------------------------------- */

/* A Host header we are willing to echo into links: a host name or address
 * and a port, nothing that could break out of a URL. */
static bool host_ok(const char *h) {
  size_t n = strlen(h);
  return n > 0 && n < 256 &&
         strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == n;
}

static void base_url(struct fhir_ctx *f) {
  const char *host = f->c->req->host;
  int n = 0;
  if (host != NULL && host_ok(host)) {
    n = snprintf(f->base, sizeof(f->base), "http://%s/fhir", host);
  } else if (f->c->node != NULL) {
    const struct node_config *cfg = node_config(f->c->node);
    n = snprintf(f->base, sizeof(f->base), "http://%s:%u/fhir", cfg->api_host,
                 (unsigned)cfg->api_port);
  } else {
    n = snprintf(f->base, sizeof(f->base), "/fhir");
  }
  assert(n > 0 && (size_t)n < sizeof(f->base));
}

/* ---- CapabilityStatement ------------------------------------------------------------------ */

static const char security_text[] =
    "Reads of what concerns a patient (Patient, Consent, AuditEvent, Provenance, "
    "DocumentReference, Observation) need a signed request: the headers X-Medchain-Key "
    "(the signer's current Ed25519 key, hex), X-Medchain-Timestamp (Unix ms, within 60 s), "
    "X-Medchain-Nonce (16 random bytes, hex, never reused) and X-Medchain-Signature "
    "(Ed25519 over cry_hash_tagged(\"medchain.request.v1\", method, target as sent, "
    "BLAKE2b-256(body), timestamp, nonce, chain id); see docs/api.md, \"Signed requests\"). "
    "The signer must be allowed to read the data exactly as on the /v1 routes. "
    "Consent create carries the patient's own signed consent.grant transaction.";

static json_t *interactions_json(const struct fhir_type *t) {
  json_t *a = json_array();
  const char *codes[3] = {t->read != NULL ? "read" : NULL, t->search != NULL ? "search-type" : NULL,
                          t->create != NULL ? "create" : NULL};
  for (size_t i = 0; a != NULL && i < ARRAY_LEN(codes); i++) {
    if (codes[i] != NULL && json_array_append_new(a, json_pack("{s:s}", "code", codes[i])) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *params_json(const struct fhir_type *t) {
  json_t *a = json_array();
  if (a != NULL && t->search != NULL && t->read != NULL &&
      json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", "_id", "type", "token",
                                         "documentation", "the resource's id (64 hex digits)")) !=
          0) {
    json_decref(a);
    return NULL;
  }
  for (size_t i = 0; a != NULL && t->search != NULL && i < t->nparams; i++) {
    const struct fhir_param *p = &t->params[i];
    if (json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", p->name, "type", p->type,
                                           "documentation", p->doc)) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *resource_caps(const struct fhir_type *t) {
  return json_pack("{s:s, s:s, s:o, s:b, s:b, s:b, s:s, s:o}", "type", t->name, "documentation",
                   t->doc, "interaction", interactions_json(t), "readHistory", 0, "updateCreate", 0,
                   "conditionalCreate", 0, "versioning", "no-version", "searchParam",
                   params_json(t));
}

json_t *fhir_capability(const char *base, uint64_t now_ms) {
  json_t *resources = json_array();
  for (size_t i = 0; resources != NULL && i < ARRAY_LEN(fhir_types); i++) {
    if (json_array_append_new(resources, resource_caps(fhir_types[i])) != 0) {
      json_decref(resources);
      resources = NULL;
    }
  }
  json_t *security = json_pack("{s:b, s:[{s:[o], s:s}], s:s}", "cors", 0, "service", "coding",
                               fhir_coding("https://medchain.dev/fhir/CodeSystem/security-service",
                                           "signed-request", "medchain signed request (Ed25519)"),
                               "text", "medchain signed requests", "description", security_text);
  return json_pack("{s:s, s:s, s:b, s:o, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:[s, s], "
                   "s:[{s:s, s:o, s:o}]}",
                   "resourceType", "CapabilityStatement", "status", "active", "experimental", 0,
                   "date", fhir_instant_json(now_ms), "publisher", "medchain", "kind", "instance",
                   "software", "name", "medchain", "version", MEDCHAIN_VERSION, "implementation",
                   "description", "medchain node: FHIR R4 facade over the ledger", "url", base,
                   "fhirVersion", FHIR_VERSION, "format", "json", FHIR_CONTENT_TYPE, "rest", "mode",
                   "server", "security", security, "resource", resources);
}

static int metadata(struct api_ctx *c, struct fhir_ctx *f) {
  json_t *cs = fhir_capability(f->base, base_now_ms());
  return cs == NULL ? ERR_NOMEM : answer(c, 200, cs);
}

/* ---- the path and the query -------------------------------------------------------------- */

struct fhir_path {
  char type[FHIR_TYPE_MAX + 1];
  bool has_id;
  char id[FHIR_ID_MAX + 1];
};

/* "/fhir/Type" or "/fhir/Type/id" (the router matched one of them). A
 * type that is not [A-Za-z]{1,64} is no type of ours: ERR_ROUTE. An id
 * that is not 1..64 characters cannot exist: ERR_NOT_FOUND. */
static int path_parse(const char *path, struct fhir_path *p) {
  static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  assert(strncmp(path, "/fhir/", 6) == 0);
  const char *s = path + 6;
  size_t n = strcspn(s, "/");
  if (n == 0 || n > FHIR_TYPE_MAX || strspn(s, letters) < n) {
    return ERR_ROUTE;
  }
  memcpy(p->type, s, n);
  p->type[n] = '\0';
  s += n;
  p->has_id = *s == '/';
  p->id[0] = '\0';
  if (!p->has_id) {
    return OK;
  }
  s++;
  size_t m = strlen(s);
  if (m == 0 || m > FHIR_ID_MAX || strchr(s, '/') != NULL) {
    return ERR_NOT_FOUND;
  }
  memcpy(p->id, s, m + 1);
  return OK;
}

/* The raw query is echoed into links: printable ASCII only. */
static bool query_printable(const char *q) {
  for (const char *r = q; r != NULL && *r != '\0'; r++) {
    if (*r < 0x21 || *r > 0x7e) {
      return false;
    }
  }
  return true;
}

/* The router lets a parameter repeat under /fhir; only a date parameter
 * of a type whose parameters combine may (its lower and upper bound).
 * Anything else repeated is refused, never half read. t: NULL outside a
 * type (metadata). */
static bool repeats_ok(const struct api_ctx *c, const struct fhir_type *t) {
  for (size_t i = 0; i < c->query.n; i++) {
    bool date = false;
    for (size_t j = 0; t != NULL && t->combined != NULL && j < t->nparams; j++) {
      date = date || (strcmp(t->params[j].type, "date") == 0 &&
                      strcmp(t->params[j].name, c->query.key[i]) == 0);
    }
    for (size_t k = 0; k < i && !date; k++) {
      if (strcmp(c->query.key[k], c->query.key[i]) == 0) {
        return false;
      }
    }
  }
  return true;
}

/* A search parameter's value: "hex", "Type/hex" or "[base]/Type/hex". */
static int param_id(struct api_ctx *c, const char *v, struct hash32 *out) {
  if (fhir_ref_parse(v, out, NULL) != OK) {
    c->message = "a search parameter's value is not a 64-hex-digit id or a reference to one";
    return ERR_BAD_REQUEST;
  }
  return OK;
}

static int count_param(struct api_ctx *c, const char *v, uint32_t *count) {
  uint64_t n = 0;
  if (base_parse_u64(&n, v) != OK || n < 1 || n > LIM_PAGE_MAX) {
    c->message = "_count must be 1 to 100";
    return ERR_BAD_REQUEST;
  }
  *count = (uint32_t)n;
  return OK;
}

static int cursor_param(struct api_ctx *c, const char *v, struct ctr_cursor *cur) {
  size_t len = 0;
  if (base_hex_decode_var(cur->b, sizeof(cur->b), &len, v) != OK || len == 0) {
    c->message = "_cursor must be a cursor from a Bundle's next link";
    return ERR_BAD_REQUEST;
  }
  cur->len = (uint8_t)len;
  return OK;
}

static bool any_filter(const struct fhir_search *s) {
  return s->by_id || s->param != NULL || s->code != NULL || s->dates.has_from || s->dates.has_to;
}

/* A parameter of a type whose parameters combine (fhir_query.c). */
static int combined_param(struct api_ctx *c, const struct fhir_type *t, const char *k,
                          const char *v, struct fhir_search *s) {
  for (size_t i = 0; i < t->nparams; i++) {
    if (strcmp(t->params[i].name, k) == 0) {
      if (s->by_id) {
        c->message = "_id is not combined with other search parameters";
        return ERR_BAD_REQUEST;
      }
      return fhir_query_term(c, t, &t->params[i], v, s);
    }
  }
  c->message = "unsupported search parameter (GET /fhir/metadata lists each type's)";
  return ERR_BAD_REQUEST;
}

/* One filter: _id or one of the type's parameters. */
static int filter_param(struct api_ctx *c, const struct fhir_type *t, const char *k, const char *v,
                        struct fhir_search *s) {
  if (t->combined && strcmp(k, "_id") != 0) {
    return combined_param(c, t, k, v, s);
  }
  if (any_filter(s)) {
    c->message = t->combined ? "_id is not combined with other search parameters"
                             : "at most one search parameter besides _count, _cursor and _format";
    return ERR_BAD_REQUEST;
  }
  if (strcmp(k, "_id") == 0 && t->read != NULL) {
    s->by_id = true;
    return param_id(c, v, &s->id);
  }
  for (size_t i = 0; i < t->nparams; i++) {
    if (strcmp(t->params[i].name, k) == 0) {
      s->param = &t->params[i];
      if (s->param->filter == CTR_ALL) {
        s->by_id = true; /* the parameter names the resource itself */
        return param_id(c, v, &s->id);
      }
      return param_id(c, v, &s->key);
    }
  }
  c->message = "unsupported search parameter (GET /fhir/metadata lists each type's)";
  return ERR_BAD_REQUEST;
}

static int search_parse(struct api_ctx *c, const struct fhir_type *t, struct fhir_search *s) {
  memset(s, 0, sizeof(*s));
  s->count = 50;
  for (size_t i = 0; i < c->query.n; i++) {
    const char *k = c->query.key[i];
    const char *v = c->query.val[i];
    int rc = OK;
    if (strcmp(k, "_format") == 0 || (t->opens_content && strcmp(k, "purpose") == 0)) {
      continue;
    } else if (strcmp(k, "_count") == 0) {
      rc = count_param(c, v, &s->count);
    } else if (strcmp(k, "_cursor") == 0) {
      rc = cursor_param(c, v, &s->cursor);
    } else {
      rc = filter_param(c, t, k, v, s);
    }
    if (rc != OK) {
      return rc;
    }
  }
  /* Vetted before anything is read: a bad combination is 400 whatever
   * the state holds. */
  bool check = t->combined != NULL && t->combined->check != NULL && !s->by_id;
  return check ? t->combined->check(c, s) : OK;
}

/* ---- Bundles --------------------------------------------------------------------------------- */

/* base + the path below /fhir + "?" + the raw query without _cursor, and
 * "&_cursor=HEX" when next is set. malloc'd; NULL on allocation failure. */
static char *page_url(const struct fhir_ctx *f, const struct ctr_cursor *next) {
  const struct api_request *req = f->c->req;
  const char *q = req->query == NULL ? "" : req->query;
  size_t cap = strlen(f->base) + strlen(req->path) + strlen(q) + 2 * CTR_CURSOR_MAX + 16;
  char *out = malloc(cap);
  if (out == NULL) {
    return NULL;
  }
  size_t w = (size_t)snprintf(out, cap, "%s%s", f->base, req->path + 5);
  char sep = '?';
  const char *part = q;
  while (*part != '\0') {
    size_t n = strcspn(part, "&");
    bool cursor = strncmp(part, "_cursor", 7) == 0 && (part[7] == '=' || n == 7);
    bool skip = n == 0 || (next != NULL && cursor);
    if (!skip) {
      w += (size_t)snprintf(out + w, cap - w, "%c%.*s", sep, (int)n, part);
      sep = '&';
    }
    part += n + (part[n] == '&');
  }
  if (next != NULL) {
    char hex[2 * CTR_CURSOR_MAX + 1];
    base_hex_encode(hex, next->b, next->len);
    w += (size_t)snprintf(out + w, cap - w, "%c_cursor=%s", sep, hex);
  }
  assert(w < cap);
  return out;
}

static bool is_outcome(const json_t *resource) {
  const char *type = json_string_value(json_object_get(resource, "resourceType"));
  return type != NULL && strcmp(type, "OperationOutcome") == 0;
}

/* A match, or an OperationOutcome about one (search mode "outcome"). */
static json_t *entry_json(const struct fhir_ctx *f, json_t *resource) {
  if (is_outcome(resource)) {
    return json_pack("{s:O, s:{s:s}}", "resource", resource, "search", "mode", "outcome");
  }
  const char *type = json_string_value(json_object_get(resource, "resourceType"));
  const char *id = json_string_value(json_object_get(resource, "id"));
  assert(type != NULL && id != NULL);
  char url[FHIR_BASE_MAX + FHIR_TYPE_MAX + FHIR_ID_MAX + 4];
  int n = snprintf(url, sizeof(url), "%s/%s/%s", f->base, type, id);
  assert(n > 0 && (size_t)n < sizeof(url));
  return json_pack("{s:s, s:O, s:{s:s}}", "fullUrl", url, "resource", resource, "search", "mode",
                   "match");
}

static json_t *links_json(const struct fhir_ctx *f, const struct ctr_cursor *next) {
  char *self = page_url(f, NULL);
  char *nxt = next->len == 0 ? NULL : page_url(f, next);
  json_t *links = NULL;
  if (self != NULL && (next->len == 0 || nxt != NULL)) {
    links = json_pack("[{s:s, s:s}]", "relation", "self", "url", self);
  }
  if (links != NULL && nxt != NULL &&
      json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "next", "url", nxt)) != 0) {
    json_decref(links);
    links = NULL;
  }
  free(self);
  free(nxt);
  return links;
}

static json_t *bundle_json(const struct fhir_ctx *f, const struct fhir_search *s,
                           const struct fhir_page *page) {
  json_t *entries = json_array();
  json_int_t matches = 0;
  for (size_t i = 0; entries != NULL && i < json_array_size(page->resources); i++) {
    json_t *r = json_array_get(page->resources, i);
    matches += is_outcome(r) ? 0 : 1;
    if (json_array_append_new(entries, entry_json(f, r)) != 0) {
      json_decref(entries);
      entries = NULL;
    }
  }
  json_t *b = json_pack("{s:s, s:s, s:o, s:o}", "resourceType", "Bundle", "type", "searchset",
                        "link", links_json(f, &page->next), "entry", entries);
  /* The total costs nothing when this page is the whole answer. */
  if (b != NULL && s->cursor.len == 0 && page->next.len == 0 &&
      json_object_set_new(b, "total", json_integer(matches)) != 0) {
    json_decref(b);
    b = NULL;
  }
  return b;
}

/* ---- interactions ------------------------------------------------------------------------------
 */

static int view_open(struct fhir_ctx *f) {
  int rc = api_view_open(f->c, &f->view);
  if (rc == OK) {
    f->st = node_view_state(f->view);
  }
  return rc;
}

static void view_close(struct fhir_ctx *f) {
  if (f->view != NULL) {
    node_view_end(f->view);
  }
  f->view = NULL;
  f->st = NULL;
}

static int read_one(struct api_ctx *c, struct fhir_ctx *f, const char *id_text) {
  struct hash32 id;
  if (base_hex_decode(id.b, sizeof(id.b), id_text) != OK) {
    return ERR_NOT_FOUND; /* no id on chain looks like this */
  }
  int rc = view_open(f);
  json_t *r = NULL;
  if (rc == OK) {
    rc = f->type->read(f, &id, &r);
  }
  view_close(f);
  return rc == OK ? answer(c, 200, r) : rc;
}

static int search(struct api_ctx *c, struct fhir_ctx *f) {
  struct fhir_search s;
  int rc = search_parse(c, f->type, &s);
  if (rc != OK) {
    return rc;
  }
  rc = view_open(f);
  struct fhir_page page = {json_array(), {0, {0}}};
  if (rc == OK && page.resources == NULL) {
    rc = ERR_NOMEM;
  }
  if (rc == OK && s.by_id) {
    json_t *r = NULL;
    rc = f->type->read(f, &s.id, &r);
    /* No such resource (or an erased record) is an empty searchset. */
    if (rc == ERR_NOT_FOUND || rc == ERR_RECORD_ERASED) {
      rc = OK;
    } else if (rc == OK && json_array_append_new(page.resources, r) != 0) {
      rc = ERR_NOMEM;
    }
  } else if (rc == OK) {
    rc = f->type->search(f, &s, &page);
  }
  json_t *b = rc == OK ? bundle_json(f, &s, &page) : NULL;
  view_close(f);
  json_decref(page.resources);
  if (rc != OK) {
    return rc;
  }
  return b == NULL ? ERR_NOMEM : answer(c, 200, b);
}

static int create(struct api_ctx *c, struct fhir_ctx *f) {
  json_t *body = NULL;
  int rc = api_json_parse_body(&body, c->req->body, c->req->body_len);
  if (rc != OK) {
    return rc;
  }
  const char *rt = json_string_value(json_object_get(body, "resourceType"));
  if (!json_is_object(body) || rt == NULL || strcmp(rt, f->type->name) != 0) {
    json_decref(body);
    c->message = "the body must be a resource of the type the URL names";
    return ERR_BAD_REQUEST;
  }
  json_t *out = NULL;
  struct hash32 id;
  rc = f->type->create(f, body, &out, &id);
  json_decref(body);
  if (rc != OK) {
    return rc;
  }
  char hex[65];
  base_hash_hex(hex, &id);
  char location[API_HEADER_VALUE_MAX];
  int n = snprintf(location, sizeof(location), "%s/%s/%s", f->base, f->type->name, hex);
  assert(n > 0 && (size_t)n < sizeof(location));
  api_header_add(c, "Location", location);
  return answer(c, 201, out);
}

/* The interaction the method and path ask for, on f->type. */
static int dispatch(struct api_ctx *c, struct fhir_ctx *f, const struct fhir_path *p) {
  const struct fhir_type *t = f->type;
  if (strcmp(c->req->method, "POST") == 0) {
    if (t->create == NULL) {
      c->message = "this resource type is not created through the facade";
      return ERR_METHOD;
    }
    return create(c, f);
  }
  if (p->has_id) {
    if (t->read == NULL) {
      c->message = "this resource type is not read through the facade";
      return ERR_METHOD;
    }
    return read_one(c, f, p->id);
  }
  if (t->search == NULL) {
    c->message = "this resource type is not searched through the facade";
    return ERR_METHOD;
  }
  return search(c, f);
}

int api_h_fhir(struct api_ctx *c) {
  struct fhir_path p;
  int rc = path_parse(c->req->path, &p);
  if (rc == ERR_ROUTE) {
    c->message = "unknown or unsupported resource type";
  }
  if (rc != OK) {
    return rc;
  }
  if (format_check(c) != OK || !query_printable(c->req->query)) {
    c->message = "only JSON is served (_format=json), and queries are printable ASCII";
    return ERR_BAD_REQUEST;
  }
  struct fhir_ctx *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return ERR_NOMEM;
  }
  f->c = c;
  base_url(f);
  if (strcmp(p.type, "metadata") == 0) {
    rc = p.has_id || strcmp(c->req->method, "POST") == 0 ? ERR_METHOD : OK;
  } else {
    f->type = fhir_type_find(p.type);
    if (f->type == NULL) {
      c->message = "unknown or unsupported resource type";
      rc = ERR_ROUTE;
    }
  }
  if (rc == OK && !repeats_ok(c, f->type)) {
    c->message = "a parameter is given once (a date parameter twice: its two bounds)";
    rc = ERR_BAD_REQUEST;
  }
  if (rc == OK) {
    rc = f->type == NULL ? metadata(c, f) : dispatch(c, f, &p);
  }
  free(f);
  return rc;
}
