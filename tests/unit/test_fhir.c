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
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
