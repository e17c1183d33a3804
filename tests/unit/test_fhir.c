/*
 * Unit tests of the FHIR R4 facade (src/api/fhir*.c), without a node:
 * the CapabilityStatement against the table it is built from, the router's
 * OperationOutcome errors (unknown type, wrong method, bad search
 * parameters, bad bodies), the rendering helpers (instants, base64,
 * references, the purpose vocabulary, issue codes) and the rendering of
 * entities into resources. tests/integration/test_fhir.py drives the same
 * code against a real node with a stock FHIR client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/fhir_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

static struct api_reply get(const char *method, const char *path, const char *query,
                            const char *body) {
  struct api_request req = {
      .method = method,
      .path = path,
      .query = query,
      .content_type = "application/fhir+json",
      .body = (const uint8_t *)body,
      .body_len = body == NULL ? 0 : strlen(body),
      .host = "127.0.0.1:26657",
  };
  struct api_reply rep;
  api_route(NULL, NULL, &req, &rep);
  assert_non_null(rep.body);
  assert_int_equal(strlen(rep.body), rep.len);
  return rep;
}

static json_t *parse(const struct api_reply *rep) {
  json_error_t e;
  json_t *v = json_loads(rep->body, 0, &e);
  assert_non_null(v);
  return v;
}

/* The reply is an OperationOutcome with this status, issue code and our code. */
static void expect_outcome(struct api_reply rep, int status, const char *issue, const char *code) {
  assert_int_equal(rep.status, status);
  assert_string_equal(rep.content_type, FHIR_CONTENT_TYPE);
  assert_true(rep.len > 0 && rep.body[rep.len - 1] == '\n');
  json_t *o = parse(&rep);
  assert_string_equal(json_string_value(json_object_get(o, "resourceType")), "OperationOutcome");
  json_t *i = json_array_get(json_object_get(o, "issue"), 0);
  assert_string_equal(json_string_value(json_object_get(i, "severity")), "error");
  assert_string_equal(json_string_value(json_object_get(i, "code")), issue);
  json_t *coding = json_array_get(json_object_get(json_object_get(i, "details"), "coding"), 0);
  assert_string_equal(json_string_value(json_object_get(coding, "code")), code);
  const char *diag = json_string_value(json_object_get(i, "diagnostics"));
  assert_non_null(diag);
  assert_int_equal(strncmp(diag, code, strlen(code)), 0);
  assert_int_equal(diag[strlen(code)], ':');
  json_decref(o);
  api_reply_free(&rep);
}

/* ---- CapabilityStatement ---------------------------------------------------------------- */

static bool has_code(const json_t *interactions, const char *code) {
  for (size_t i = 0; i < json_array_size(interactions); i++) {
    const char *c = json_string_value(json_object_get(json_array_get(interactions, i), "code"));
    if (c != NULL && strcmp(c, code) == 0) {
      return true;
    }
  }
  return false;
}

/* One resource entry says exactly what the table has for its type. */
static void check_resource(const json_t *r, const struct fhir_type *t) {
  json_t *ia = json_object_get(r, "interaction");
  assert_int_equal(has_code(ia, "read"), t->read != NULL);
  assert_int_equal(has_code(ia, "search-type"), t->search != NULL);
  assert_int_equal(has_code(ia, "create"), t->create != NULL);
  assert_false(has_code(ia, "update") || has_code(ia, "delete"));
  json_t *sp = json_object_get(r, "searchParam");
  size_t with_id = t->search != NULL && t->read != NULL ? 1 : 0;
  assert_int_equal(json_array_size(sp), (t->search != NULL ? t->nparams : 0) + with_id);
  for (size_t i = 0; i < t->nparams && t->search != NULL; i++) {
    json_t *p = json_array_get(sp, i + with_id);
    assert_string_equal(json_string_value(json_object_get(p, "name")), t->params[i].name);
    assert_string_equal(json_string_value(json_object_get(p, "type")), t->params[i].type);
  }
}

static void test_capability_from_table(void **state) {
  (void)state;
  struct api_reply rep = get("GET", "/fhir/metadata", NULL, NULL);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rep.content_type, FHIR_CONTENT_TYPE);
  json_t *cs = parse(&rep);
  assert_string_equal(json_string_value(json_object_get(cs, "resourceType")),
                      "CapabilityStatement");
  assert_string_equal(json_string_value(json_object_get(cs, "fhirVersion")), "4.0.1");
  assert_string_equal(json_string_value(json_object_get(cs, "status")), "active");
  assert_string_equal(json_string_value(json_object_get(cs, "kind")), "instance");
  assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "format"), 0)), "json");
  json_t *rest = json_array_get(json_object_get(cs, "rest"), 0);
  assert_string_equal(json_string_value(json_object_get(rest, "mode")), "server");
  const char *sec =
      json_string_value(json_object_get(json_object_get(rest, "security"), "description"));
  assert_non_null(strstr(sec, "X-Medchain-Signature"));
  assert_string_equal(
      json_string_value(json_object_get(json_object_get(cs, "implementation"), "url")),
      "http://127.0.0.1:26657/fhir");
  json_t *res = json_object_get(rest, "resource");
  assert_int_equal(json_array_size(res), fhir_type_count());
  for (size_t i = 0; i < fhir_type_count(); i++) {
    const struct fhir_type *t = fhir_type_at(i);
    json_t *r = json_array_get(res, i);
    assert_string_equal(json_string_value(json_object_get(r, "type")), t->name);
    assert_ptr_equal(fhir_type_find(t->name), t);
    check_resource(r, t);
  }
  assert_null(fhir_type_at(fhir_type_count()));
  assert_null(fhir_type_find("Encounter"));
  json_decref(cs);
  api_reply_free(&rep);
  /* The seven types the issue asks for are there, and only Consent is created. */
  const char *want[] = {"Patient",    "Practitioner", "Organization",     "Consent",
                        "AuditEvent", "Provenance",   "DocumentReference"};
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    const struct fhir_type *t = fhir_type_find(want[i]);
    assert_non_null(t);
    assert_non_null(t->read);
    assert_non_null(t->search);
  }
  assert_non_null(fhir_type_find("Consent")->create);
  assert_null(fhir_type_find("Patient")->create);
  /* Observation is served with its content: created, opened on read. */
  const struct fhir_type *obs = fhir_type_find("Observation");
  assert_non_null(obs);
  assert_non_null(obs->create);
  assert_true(obs->opens_content);
  assert_null(obs->source);
  assert_false(fhir_type_find("Consent")->opens_content);
}

/* ?purpose= is the access's purpose where content is opened, and an
 * unsupported search parameter anywhere else. */
static void test_purpose_param(void **state) {
  (void)state;
  expect_outcome(get("GET", "/fhir/Observation", "purpose=research", NULL), 503, "transient",
                 "UNAVAILABLE");
  expect_outcome(get("GET", "/fhir/DocumentReference", "purpose=research", NULL), 400, "invalid",
                 "BAD_REQUEST");
  expect_outcome(get("POST", "/fhir/Observation", NULL, "{\"resourceType\":\"Observation\"}"), 400,
                 "invalid", "BAD_REQUEST");
}

static void test_accept_json(void **state) {
  (void)state;
  struct api_request req = {
      .method = "GET", .path = "/fhir/metadata", .accept = "application/json"};
  struct api_reply rep;
  api_route(NULL, NULL, &req, &rep);
  assert_int_equal(rep.status, 200);
  assert_string_equal(rep.content_type, "application/json");
  api_reply_free(&rep);
  req.accept = "application/fhir+json, application/json;q=0.9";
  api_route(NULL, NULL, &req, &rep);
  assert_string_equal(rep.content_type, FHIR_CONTENT_TYPE);
  api_reply_free(&rep);
  req.accept = NULL;
  req.query = "_format=json";
  api_route(NULL, NULL, &req, &rep);
  assert_string_equal(rep.content_type, FHIR_CONTENT_TYPE);
  api_reply_free(&rep);
  req.query = "_format=xml";
  api_route(NULL, NULL, &req, &rep);
  expect_outcome(rep, 400, "invalid", "BAD_REQUEST");
}

/* ---- the router's errors ----------------------------------------------------------------- */

static void test_router_errors(void **state) {
  (void)state;
  expect_outcome(get("GET", "/fhir/Foo", NULL, NULL), 404, "not-supported", "ROUTE_NOT_FOUND");
  expect_outcome(get("GET",
                     "/fhir/Encounter/"
                     "ab",
                     NULL, NULL),
                 404, "not-supported", "ROUTE_NOT_FOUND");
  expect_outcome(get("GET", "/fhir/Pa7ient", NULL, NULL), 404, "not-supported", "ROUTE_NOT_FOUND");
  expect_outcome(get("GET", "/fhir", NULL, NULL), 404, "not-supported", "ROUTE_NOT_FOUND");
  expect_outcome(get("GET", "/fhir/Patient/ab/cd", NULL, NULL), 404, "not-supported",
                 "ROUTE_NOT_FOUND");
  expect_outcome(get("DELETE", "/fhir/Patient/ab", NULL, NULL), 405, "not-supported",
                 "METHOD_NOT_ALLOWED");
  expect_outcome(get("POST", "/fhir/Patient", NULL, "{\"resourceType\":\"Patient\"}"), 405,
                 "not-supported", "METHOD_NOT_ALLOWED");
  expect_outcome(get("POST", "/fhir/metadata", NULL, "{}"), 405, "not-supported",
                 "METHOD_NOT_ALLOWED");
  /* An id that cannot be on chain: not found, before any look-up. */
  expect_outcome(get("GET", "/fhir/Patient/zz", NULL, NULL), 404, "not-found", "NOT_FOUND");
  /* Without a node, a well-formed read is UNAVAILABLE (transient). */
  char path[128];
  (void)snprintf(path, sizeof(path), "/fhir/Organization/%064d", 0);
  expect_outcome(get("GET", path, NULL, NULL), 503, "transient", "UNAVAILABLE");
  /* /v1 errors stay plain JSON. */
  struct api_reply rep = get("GET", "/v1/nothing", NULL, NULL);
  assert_int_equal(rep.status, 404);
  assert_string_equal(rep.content_type, "application/json");
  api_reply_free(&rep);
}

static void test_search_params(void **state) {
  (void)state;
  const char *bad[] = {
      "status=active",      /* not a Consent parameter of ours */
      "patient=12",         /* not an id */
      "patient=Patient/zz", /* not an id */
      "_count=0",
      "_count=101",
      "_count=x", /* out of range */
      "_cursor=",
      "_cursor=zz", /* not a cursor */
      "patient="
      "0000000000000000000000000000000000000000000000000000000000000000"
      "&actor="
      "0000000000000000000000000000000000000000000000000000000000000000",
      "_id="
      "0000000000000000000000000000000000000000000000000000000000000000"
      "&patient="
      "0000000000000000000000000000000000000000000000000000000000000000",
      "patient=%zz", /* a bad escape (the router's) */
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    expect_outcome(get("GET", "/fhir/Consent", bad[i], NULL), 400, "invalid", "BAD_REQUEST");
  }
  const char *good[] = {
      NULL,
      "_count=100&_format=json",
      "patient=Patient/"
      "0000000000000000000000000000000000000000000000000000000000000000",
      "actor="
      "0000000000000000000000000000000000000000000000000000000000000000&_count=1",
      "data=http://x/fhir/DocumentReference/"
      "0000000000000000000000000000000000000000000000000000000000000000",
      "_id="
      "0000000000000000000000000000000000000000000000000000000000000000",
      "_cursor=00ff",
  };
  for (size_t i = 0; i < ARRAY_LEN(good); i++) {
    /* The parameters pass; then the missing node answers. */
    expect_outcome(get("GET", "/fhir/Consent", good[i], NULL), 503, "transient", "UNAVAILABLE");
  }
  /* Organization has no search parameter of its own. */
  expect_outcome(get("GET", "/fhir/Organization", "patient=00", NULL), 400, "invalid",
                 "BAD_REQUEST");
}

static void test_create_bodies(void **state) {
  (void)state;
  expect_outcome(get("POST", "/fhir/Consent", NULL, "{not json"), 400, "structure", "INVALID_JSON");
  expect_outcome(get("POST", "/fhir/Consent", NULL, "{\"resourceType\":\"Patient\"}"), 400,
                 "invalid", "BAD_REQUEST");
  expect_outcome(get("POST", "/fhir/Consent", NULL, "[]"), 400, "invalid", "BAD_REQUEST");
  expect_outcome(get("POST", "/fhir/Consent", NULL, "{\"resourceType\":\"Consent\"}"), 400,
                 "invalid", "BAD_REQUEST");
  expect_outcome(get("POST", "/fhir/Consent", NULL,
                     "{\"resourceType\":\"Consent\",\"extension\":[{\"url\":\"" FHIR_EXT_SIGNED_TX
                     "\",\"valueBase64Binary\":\"not base64!\"}]}"),
                 400, "invalid", "BAD_REQUEST");
  /* Base64 of bytes that are no transaction. */
  expect_outcome(get("POST", "/fhir/Consent", NULL,
                     "{\"resourceType\":\"Consent\",\"extension\":[{\"url\":\"" FHIR_EXT_SIGNED_TX
                     "\",\"valueBase64Binary\":\"AAAA\"}]}"),
                 400, "invalid", "MALFORMED");
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void test_instants(void **state) {
  (void)state;
  char buf[32];
  fhir_instant(buf, 4102444800000ull);
  assert_string_equal(buf, "2100-01-01T00:00:00.000Z");
  fhir_instant(buf, 1795000000123ull);
  uint64_t ms = 0;
  assert_int_equal(fhir_parse_instant(&ms, buf), OK);
  assert_int_equal(ms, 1795000000123ull);
  assert_int_equal(fhir_parse_instant(&ms, "2100-01-01T00:00:00Z"), OK);
  assert_int_equal(ms, 4102444800000ull);
  assert_int_equal(fhir_parse_instant(&ms, "2100-01-01T02:00:00.5+02:00"), OK);
  assert_int_equal(ms, 4102444800500ull);
  assert_int_equal(fhir_parse_instant(&ms, "2099-12-31T19:00:00-05:00"), OK);
  assert_int_equal(ms, 4102444800000ull);
  assert_int_equal(fhir_parse_instant(&ms, "2024-02-29T12:00:00Z"), OK);
  assert_int_equal(ms, 1709208000000ull);
  const char *bad[] = {"2100-01-01",
                       "2100-01-01T00:00:00",
                       "2100-13-01T00:00:00Z",
                       "2100-01-01T24:00:00Z",
                       "2100-01-01T00:00:00.1234Z",
                       "2100-01-01T00:00:00+2",
                       "1969-12-31T23:59:59Z",
                       "2100-01-01T00:00:00Zx",
                       "21OO-01-01T00:00:00Z",
                       ""};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(fhir_parse_instant(&ms, bad[i]), ERR_BAD_REQUEST);
  }
}

static void test_base64(void **state) {
  (void)state;
  uint8_t out[16];
  size_t n = 0;
  assert_int_equal(fhir_base64_decode(out, sizeof(out), &n, "Zm9vYmFy"), OK);
  assert_int_equal(n, 6);
  assert_memory_equal(out, "foobar", 6);
  assert_int_equal(fhir_base64_decode(out, sizeof(out), &n, "Zm9vYg=="), OK);
  assert_int_equal(n, 4);
  assert_int_equal(fhir_base64_decode(out, sizeof(out), &n, "Zm9vYmE="), OK);
  assert_int_equal(n, 5);
  const char *bad[] = {
      "", "Zm9", "Zm9vYh==", "Zm9vYmF=", "Zm=vYmFy", "Zm9v YmF", "Zm9vY===", "Zg==Zg=="};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(fhir_base64_decode(out, sizeof(out), &n, bad[i]), ERR_BAD_REQUEST);
  }
  assert_int_equal(fhir_base64_decode(out, 3, &n, "Zm9vYmFy"), ERR_OVERSIZE);
  uint8_t sig[64];
  for (size_t i = 0; i < sizeof(sig); i++) {
    sig[i] = (uint8_t)(i * 37 + 11);
  }
  for (size_t len = 0; len <= sizeof(sig); len += 7) {
    json_t *s = fhir_base64_json(sig, len);
    uint8_t back[64];
    if (len == 0) {
      assert_string_equal(json_string_value(s), "");
    } else {
      assert_int_equal(fhir_base64_decode(back, sizeof(back), &n, json_string_value(s)), OK);
      assert_int_equal(n, len);
      assert_memory_equal(back, sig, len);
    }
    json_decref(s);
  }
}

static void test_refs_and_codes(void **state) {
  (void)state;
  struct hash32 id;
  char type[FHIR_TYPE_MAX + 1];
  const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  char buf[256];
  (void)snprintf(buf, sizeof(buf), "Patient/%s", hex);
  assert_int_equal(fhir_ref_parse(buf, &id, type), OK);
  assert_string_equal(type, "Patient");
  assert_int_equal(id.b[1], 0x11);
  (void)snprintf(buf, sizeof(buf), "http://h:1/fhir/Practitioner/%s", hex);
  assert_int_equal(fhir_ref_parse(buf, &id, type), OK);
  assert_string_equal(type, "Practitioner");
  assert_int_equal(fhir_ref_parse(hex, &id, type), OK);
  assert_string_equal(type, "");
  assert_int_equal(fhir_ref_parse("Patient/12", &id, NULL), ERR_BAD_REQUEST);
  (void)snprintf(buf, sizeof(buf), "/%s", hex);
  assert_int_equal(fhir_ref_parse(buf, &id, NULL), ERR_BAD_REQUEST);
  assert_int_equal(fhir_ref_parse(hex, &id, NULL), OK);
  json_t *r = fhir_ref("Consent", &id);
  (void)snprintf(buf, sizeof(buf), "Consent/%s", hex);
  assert_string_equal(json_string_value(json_object_get(r, "reference")), buf);
  json_decref(r);

  assert_string_equal(fhir_purpose_v3("treatment"), "TREAT");
  assert_string_equal(fhir_purpose_v3("emergency"), "ETREAT");
  assert_null(fhir_purpose_v3("gossip"));
  assert_string_equal(fhir_purpose_from_v3("HRESCH"), "research");
  assert_null(fhir_purpose_from_v3("BTG"));

  assert_string_equal(fhir_issue_code(ERR_CONSENT_REQUIRED), "forbidden");
  assert_string_equal(fhir_issue_code(ERR_RECORD_ERASED), "deleted");
  assert_string_equal(fhir_issue_code(ERR_BAD_SIGNATURE), "security");
  assert_string_equal(fhir_issue_code(ERR_AUTH_REQUIRED), "login");
  assert_string_equal(fhir_issue_code(ERR_OVERSIZE), "too-costly");
  assert_string_equal(fhir_issue_code(ERR_UNKNOWN_RECORD), "not-found");
  assert_string_equal(fhir_issue_code(ERR_STORE_FULL), "processing");

  json_t *extra =
      json_pack("{s:s, s:s, s:i}", "hash", "c0ffee", "status", "committed", "height", 8);
  json_t *o = fhir_outcome(ERR_CONSENT_REVOKED, NULL, extra);
  json_t *issues = json_object_get(o, "issue");
  assert_int_equal(json_array_size(issues), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(issues, 0), "diagnostics")),
                      "CONSENT_REVOKED: the consent was revoked");
  assert_string_equal(json_string_value(json_object_get(json_array_get(issues, 1), "diagnostics")),
                      "transaction c0ffee committed at height 8");
  assert_int_equal(err_http_status(ERR_CONSENT_REVOKED), 403);
  json_decref(o);
  json_decref(extra);
  assert_true(api_fhir_path("/fhir") && api_fhir_path("/fhir/x"));
  assert_false(api_fhir_path("/fhirx") || api_fhir_path("/v1/fhir"));
}

/* ---- rendering entities ----------------------------------------------------------------- */

static void encode_org(uint8_t *buf, size_t cap, size_t *len, const char *kind) {
  const struct codec_schema *s = ctr_kind_schema(CTR_ORG);
  struct codec_value v[7];
  memset(v, 0, sizeof(v));
  for (size_t i = 0; i < s->nfields; i++) {
    v[i].type = s->fields[i].type;
  }
  memset(v[0].id.b, 0x42, 32);
  v[1].bytes = (struct bytes){(const uint8_t *)"Riverside General Hospital", 26};
  v[2].bytes = (struct bytes){(const uint8_t *)kind, strlen(kind)};
  v[3].bytes = (struct bytes){(const uint8_t *)"suspended", 9};
  v[4].u64 = 1;
  assert_int_equal(codec_record_encode(s, v, buf, cap, len), OK);
}

static void test_render_organization(void **state) {
  (void)state;
  uint8_t buf[512];
  size_t len = 0;
  encode_org(buf, sizeof(buf), &len, "insurer");
  struct fhir_ent e;
  assert_int_equal(fhir_ent_decode(&e, CTR_ORG, (struct bytes){buf, len}), OK);
  const struct fhir_type *t = fhir_type_find("Organization");
  json_t *o = NULL;
  assert_int_equal(t->source->render(NULL, &e, &o), OK);
  assert_string_equal(json_string_value(json_object_get(o, "resourceType")), "Organization");
  assert_string_equal(json_string_value(json_object_get(o, "name")), "Riverside General Hospital");
  assert_true(json_is_false(json_object_get(o, "active")));
  json_t *coding = json_object_get(json_array_get(json_object_get(o, "type"), 0), "coding");
  assert_string_equal(json_string_value(json_object_get(json_array_get(coding, 0), "code")), "ins");
  assert_string_equal(json_string_value(json_object_get(json_array_get(coding, 1), "code")),
                      "insurer");
  char want[65];
  for (size_t i = 0; i < 64; i++) {
    want[i] = i % 2 == 0 ? '4' : '2';
  }
  want[64] = '\0';
  assert_string_equal(json_string_value(json_object_get(o, "id")), want);
  json_decref(o);
  /* Bytes that are no organization: the store is damaged. */
  assert_int_equal(fhir_ent_decode(&e, CTR_ORG, (struct bytes){buf, len - 1}), ERR_CORRUPT);
}

/* ---- appointments: Schedule, Slot, Appointment -------------------------------------------- */

#define HEX0 "0000000000000000000000000000000000000000000000000000000000000000"
#define HEX1 "1111111111111111111111111111111111111111111111111111111111111111"

/* The three types, with exactly these search parameters (besides _id). */
static void test_appt_capability(void **state) {
  (void)state;
  static const struct {
    const char *type;
    const char *params[5];
  } want[] = {
      {"Schedule", {"actor"}},
      {"Slot", {"schedule", "practitioner", "status", "start"}},
      {"Appointment", {"practitioner", "actor", "status", "date"}},
  };
  for (size_t i = 0; i < ARRAY_LEN(want); i++) {
    const struct fhir_type *t = fhir_type_find(want[i].type);
    assert_non_null(t);
    assert_non_null(t->read);
    assert_non_null(t->search);
    assert_null(t->create);
    size_t n = 0;
    while (n < ARRAY_LEN(want[i].params) && want[i].params[n] != NULL) {
      assert_string_equal(t->params[n].name, want[i].params[n]);
      n++;
    }
    assert_int_equal(t->nparams, n);
  }
  assert_null(fhir_type_find("Schedule")->combined);
  assert_non_null(fhir_type_find("Slot")->combined);
  assert_non_null(fhir_type_find("Appointment")->combined);
}

/* Bad parameters are 400 before anything is read; good ones pass (and the
 * missing node answers 503). */
static void test_appt_search_params(void **state) {
  (void)state;
  static const struct {
    const char *type;
    const char *query;
    int status;
  } cases[] = {
      {"Slot", NULL, 503},
      {"Slot", "status=free", 503},
      {"Slot", "status=busy-tentative", 503}, /* a SlotStatus we never write: empty */
      {"Slot", "status=http://hl7.org/fhir/slotstatus|busy", 503},
      {"Slot", "status=|free&_count=5", 503},
      {"Slot",
       "practitioner=Practitioner/" HEX0 "&status=free&start=ge2099-01-05&start=lt2099-01-12", 503},
      {"Slot", "schedule=" HEX0 "&start=2099-01-05", 503},
      {"Slot", "start=gt2099-01-05T09:00:00%2B01:00&start=le2099-01-05T17:00:00Z", 503},
      {"Slot", "start=eq2099-01-05&_cursor=00ff", 503},
      {"Slot", "_id=" HEX0, 503},
      {"Slot", "status=tentative", 400},                      /* not a SlotStatus */
      {"Slot", "status=free,busy", 400},                      /* one code */
      {"Slot", "status=free&status=busy", 400},               /* once */
      {"Slot", "status=http://example.org/x|free", 400},      /* another system */
      {"Slot", "start=2099-01-05T09:00", 400},                /* no seconds, no zone */
      {"Slot", "start=ne2099-01-05", 400},                    /* a prefix we do not take */
      {"Slot", "start=GE2099-01-05", 400},                    /* prefixes are lower case */
      {"Slot", "start=ge2099-13-01", 400},                    /* no such month */
      {"Slot", "start=ge2099-02-29", 400},                    /* not a leap year */
      {"Slot", "start=ge2099-01", 400},                       /* a month: not taken */
      {"Slot", "start=ge2099-01-05&start=gt2099-01-06", 400}, /* two lower bounds */
      {"Slot", "start=2099-01-05&start=lt2099-01-08", 400},   /* eq and an upper bound */
      {"Slot", "start=ge2099-01-05&start=lt2099-01-05", 400}, /* empty */
      {"Slot", "start=ge2099-01-01&start=lt2099-04-05", 400}, /* 94 days */
      {"Slot", "start=lt2099-01-01", 400},                    /* from now: far wider */
      {"Slot", "start=lt1970-01-02", 400},                    /* from now: empty */
      {"Slot", "schedule=" HEX0 "&practitioner=" HEX1, 400},  /* one reference */
      {"Slot", "practitioner=12", 400},                       /* not an id */
      {"Slot", "_id=" HEX0 "&status=free", 400},              /* _id alone */
      {"Slot", "status=free&_id=" HEX0, 400},
      {"Slot", "_count=5&_count=6", 400}, /* only a date repeats */
      {"Slot", "_format=json&_format=xml", 400},
      {"Slot", "start=ge2099-01-05&start=lt2099-01-07&start=lt2099-01-08", 400},
      {"Slot", "actor=" HEX0, 400},          /* not a Slot parameter */
      {"Slot", "schedule.actor=" HEX0, 400}, /* chained: not supported */
      {"Appointment", "practitioner=" HEX0, 503},
      {"Appointment",
       "actor=Practitioner/" HEX0 "&status=checked-in&date=ge2099-01-01&date=lt2099-02-01", 503},
      {"Appointment", "practitioner=" HEX0 "&status=cancelled", 503},
      {"Appointment", "practitioner=" HEX0 "&status=waitlist", 503},
      {"Appointment", "_id=" HEX0, 503},
      {"Appointment", NULL, 400}, /* names no practitioner */
      {"Appointment", "status=booked&date=2099-01-05", 400},
      {"Appointment", "practitioner=" HEX0 "&actor=" HEX1, 400},
      {"Appointment", "practitioner=" HEX0 "&status=checked_in", 400}, /* ours, not FHIR's */
      {"Appointment", "practitioner=" HEX0 "&status=rescheduled", 400},
      {"Appointment", "practitioner=" HEX0 "&date=2099-01-05&date=2099-01-06", 400},
      {"Appointment", "practitioner=" HEX0 "&start=ge2099-01-05", 400}, /* Slot's, not ours */
      {"Schedule", "actor=Practitioner/" HEX0, 503},
      {"Schedule", "actor=" HEX0 "&_id=" HEX0, 400},
      {"Schedule", "status=free", 400},
  };
  char path[64];
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    (void)snprintf(path, sizeof(path), "/fhir/%s", cases[i].type);
    struct api_reply rep = get("GET", path, cases[i].query, NULL);
    if (rep.status != cases[i].status) {
      print_error("%s?%s: %d\n", cases[i].type, cases[i].query, rep.status);
    }
    if (cases[i].status == 400) {
      expect_outcome(rep, 400, "invalid", "BAD_REQUEST");
    } else {
      expect_outcome(rep, 503, "transient", "UNAVAILABLE");
    }
  }
  /* Elsewhere nothing repeats. */
  expect_outcome(get("GET", "/fhir/Consent", "patient=" HEX0 "&patient=" HEX0, NULL), 400,
                 "invalid", "BAD_REQUEST");
  expect_outcome(get("GET", "/fhir/metadata", "_format=json&_format=json", NULL), 400, "invalid",
                 "BAD_REQUEST");
  /* Reads of the three types reach the (missing) node too. */
  expect_outcome(get("GET", "/fhir/Slot/" HEX0, NULL, NULL), 503, "transient", "UNAVAILABLE");
  expect_outcome(get("GET", "/fhir/Appointment/zz", NULL, NULL), 404, "not-found", "NOT_FOUND");
  expect_outcome(get("POST", "/fhir/Appointment", NULL, "{\"resourceType\":\"Appointment\"}"), 405,
                 "not-supported", "METHOD_NOT_ALLOWED");
}

static void test_date_terms(void **state) {
  (void)state;
  const uint64_t day = 86400000ull;
  const uint64_t d0 = 4102444800000ull; /* 2100-01-01 */
  uint64_t ms = 0;
  assert_int_equal(fhir_parse_date(&ms, "2100-01-01"), OK);
  assert_int_equal(ms, d0);
  assert_int_equal(fhir_parse_date(&ms, "2024-02-29"), OK);
  assert_int_equal(ms, 1709164800000ull);
  assert_int_equal(fhir_parse_date(&ms, "2000-02-29"), OK);
  const char *bad_dates[] = {"2100-02-29", "2026-04-31", "2026-00-10", "1969-12-31",
                             "2026-1-01",  "2026-01-1",  "2026/01/01", "2026-01-01T"};
  for (size_t i = 0; i < ARRAY_LEN(bad_dates); i++) {
    assert_int_equal(fhir_parse_date(&ms, bad_dates[i]), ERR_BAD_REQUEST);
  }
  static const struct {
    const char *v;
    bool has_from, has_to;
    uint64_t from_ms, to_ms;
  } one[] = {
      {"2100-01-01", true, true, 4102444800000ull, 4102444800000ull + 86400000ull},
      {"eq2100-01-01", true, true, 4102444800000ull, 4102444800000ull + 86400000ull},
      {"ge2100-01-01", true, false, 4102444800000ull, 0},
      {"gt2100-01-01", true, false, 4102444800000ull + 86400000ull, 0},
      {"le2100-01-01", false, true, 0, 4102444800000ull + 86400000ull},
      {"lt2100-01-01", false, true, 0, 4102444800000ull},
      {"ge2100-01-01T00:00:00Z", true, false, 4102444800000ull, 0},
      {"gt2100-01-01T00:00:00Z", true, false, 4102444800001ull, 0},
      {"le2100-01-01T01:00:00+01:00", false, true, 0, 4102444800001ull},
      {"lt2100-01-01T00:00:00.250Z", false, true, 0, 4102444800250ull},
  };
  for (size_t i = 0; i < ARRAY_LEN(one); i++) {
    struct fhir_dates d = {0};
    assert_int_equal(fhir_date_term(&d, one[i].v), OK);
    assert_int_equal(d.has_from, one[i].has_from);
    assert_int_equal(d.has_to, one[i].has_to);
    assert_int_equal(d.from_ms, one[i].from_ms);
    assert_int_equal(d.to_ms, one[i].to_ms);
  }
  struct fhir_dates d = {0};
  assert_int_equal(fhir_date_term(&d, "ge2100-01-01"), OK);
  assert_int_equal(fhir_date_term(&d, "lt2100-01-08"), OK);
  assert_int_equal(d.to_ms - d.from_ms, 7 * day);
  assert_int_equal(fhir_date_term(&d, "gt2100-01-01"), ERR_BAD_REQUEST);
  assert_int_equal(fhir_date_term(&d, "le2100-01-01"), ERR_BAD_REQUEST);
  const char *bad[] = {"",
                       "ge",
                       "ap2100-01-01",
                       "sa2100-01-01",
                       "ne2100-01-01",
                       "x2100-01-01",
                       "ge2100-01-01T00:00",
                       "ge 2100-01-01",
                       "ge2100-01-01Z"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    struct fhir_dates e = {0};
    assert_int_equal(fhir_date_term(&e, bad[i]), ERR_BAD_REQUEST);
  }
}

static struct codec_value cv_id(uint8_t b) {
  struct codec_value v = {.type = CODEC_ID};
  memset(v.id.b, b, sizeof(v.id.b));
  return v;
}
static struct codec_value cv_str(const char *s) {
  return (struct codec_value){.type = CODEC_STR, .bytes = {(const uint8_t *)s, strlen(s)}};
}
static struct codec_value cv_u64(uint64_t x) {
  return (struct codec_value){.type = CODEC_U64, .u64 = x};
}

static json_t *render(enum ctr_kind kind, const char *type, const struct codec_value *vals) {
  uint8_t buf[1024];
  size_t len = 0;
  assert_int_equal(codec_record_encode(ctr_kind_schema(kind), vals, buf, sizeof(buf), &len), OK);
  struct fhir_ent e;
  assert_int_equal(fhir_ent_decode(&e, kind, (struct bytes){buf, len}), OK);
  const struct fhir_type *t = fhir_type_find(type);
  assert_int_equal(t->source->kind, kind);
  json_t *o = NULL;
  assert_int_equal(t->source->render(NULL, &e, &o), OK);
  assert_string_equal(json_string_value(json_object_get(o, "resourceType")), type);
  return o;
}

static const char *str_at(json_t *o, const char *a, size_t i, const char *b, const char *c) {
  json_t *v = json_object_get(o, a);
  v = json_is_array(v) ? json_array_get(v, i) : v;
  v = b == NULL ? v : json_object_get(v, b);
  v = c == NULL ? v : json_object_get(v, c);
  assert_non_null(v);
  return json_string_value(v);
}

/* "Type/" and 32 bytes of b in hex. */
static const char *ref_of(char *buf, size_t cap, const char *type, uint8_t b) {
  int n = snprintf(buf, cap, "%s/", type);
  for (size_t i = 0; i < 32; i++) {
    n += snprintf(buf + n, cap - (size_t)n, "%02x", b);
  }
  return buf;
}

static size_t encode_appt(uint8_t *buf, size_t cap, const char *status) {
  struct codec_value keys = {.type = CODEC_KEYS, .bytes = {NULL, 0}, .count = 0};
  struct codec_value pk = {.type = CODEC_PUBKEY};
  memset(pk.id.b, 9, sizeof(pk.id.b));
  const struct codec_value vals[] = {
      cv_id(1),  cv_id(2), cv_id(3), cv_id(4), cv_u64(1795000000000ull), cv_u64(1795001800000ull),
      cv_id(5),  cv_id(6), pk,       keys,     cv_str(status),           cv_u64(3),
      cv_u64(4), cv_id(0)};
  size_t len = 0;
  assert_int_equal(codec_record_encode(ctr_kind_schema(CTR_APPT), vals, buf, cap, &len), OK);
  return len;
}

static json_t *render_appt(const char *status) {
  uint8_t buf[1024];
  size_t len = encode_appt(buf, sizeof(buf), status);
  struct fhir_ent e;
  assert_int_equal(fhir_ent_decode(&e, CTR_APPT, (struct bytes){buf, len}), OK);
  json_t *o = NULL;
  assert_int_equal(fhir_type_find("Appointment")->source->render(NULL, &e, &o), OK);
  return o;
}

static void test_render_appt(void **state) {
  (void)state;
  char want[128];
  const struct codec_value sched[] = {cv_id(1), cv_id(2), cv_id(3), cv_str("x-ray"), cv_u64(1)};
  json_t *o = render(CTR_SCHEDULE, "Schedule", sched);
  assert_true(json_is_true(json_object_get(o, "active")));
  assert_string_equal(str_at(o, "actor", 0, "reference", NULL),
                      ref_of(want, sizeof(want), "Practitioner", 3));
  assert_string_equal(str_at(o, "actor", 1, "reference", NULL),
                      ref_of(want, sizeof(want), "Organization", 2));
  assert_string_equal(str_at(o, "serviceType", 0, "text", NULL), "x-ray");
  json_decref(o);

  const struct codec_value slot[] = {cv_id(1),
                                     cv_id(2),
                                     cv_id(3),
                                     cv_id(4),
                                     cv_str("consult"),
                                     cv_u64(1795000000123ull),
                                     cv_u64(1795001800123ull),
                                     cv_str("busy"),
                                     cv_id(7),
                                     cv_u64(7)};
  o = render(CTR_SLOT, "Slot", slot);
  assert_string_equal(str_at(o, "status", 0, NULL, NULL), "busy");
  assert_string_equal(str_at(o, "start", 0, NULL, NULL), "2026-11-18T11:06:40.123Z");
  assert_string_equal(str_at(o, "end", 0, NULL, NULL), "2026-11-18T11:36:40.123Z");
  assert_string_equal(str_at(o, "schedule", 0, "reference", NULL),
                      ref_of(want, sizeof(want), "Schedule", 2));
  assert_string_equal(str_at(o, "serviceType", 0, "text", NULL), "consult");
  assert_null(json_object_get(o, "appointment"));
  json_decref(o);

  static const char *const statuses[][2] = {
      {"booked", "booked"}, {"checked_in", "checked-in"}, {"fulfilled", "fulfilled"},
      {"noshow", "noshow"}, {"cancelled", "cancelled"},   {"rescheduled", "cancelled"},
  };
  for (size_t i = 0; i < ARRAY_LEN(statuses); i++) {
    o = render_appt(statuses[i][0]);
    assert_string_equal(str_at(o, "status", 0, NULL, NULL), statuses[i][1]);
    json_t *reason = json_object_get(o, "cancelationReason");
    assert_int_equal(reason != NULL, strcmp(statuses[i][0], "rescheduled") == 0);
    json_decref(o);
  }
  o = render_appt("booked");
  assert_string_equal(str_at(o, "slot", 0, "reference", NULL),
                      ref_of(want, sizeof(want), "Slot", 2));
  assert_string_equal(str_at(o, "start", 0, NULL, NULL), "2026-11-18T11:06:40.000Z");
  /* One participant, the practitioner: nothing of the booking's secrets. */
  json_t *parts = json_object_get(o, "participant");
  assert_int_equal(json_array_size(parts), 1);
  assert_string_equal(str_at(o, "participant", 0, "actor", "reference"),
                      ref_of(want, sizeof(want), "Practitioner", 4));
  char *text = json_dumps(o, JSON_COMPACT);
  assert_non_null(text);
  const char *secrets[] = {"0505050505", "0606060606", "0909090909", "Patient"};
  for (size_t i = 0; i < ARRAY_LEN(secrets); i++) {
    assert_null(strstr(text, secrets[i])); /* commitment, patient_enc, booker key */
  }
  free(text);
  json_decref(o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_capability_from_table),
      cmocka_unit_test(test_accept_json),
      cmocka_unit_test(test_purpose_param),
      cmocka_unit_test(test_router_errors),
      cmocka_unit_test(test_search_params),
      cmocka_unit_test(test_create_bodies),
      cmocka_unit_test(test_instants),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_refs_and_codes),
      cmocka_unit_test(test_render_organization),
      cmocka_unit_test(test_appt_capability),
      cmocka_unit_test(test_appt_search_params),
      cmocka_unit_test(test_date_terms),
      cmocka_unit_test(test_render_appt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
