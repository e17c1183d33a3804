/*
 * Unit tests of the api module.
 *
 * Most of them drive the router directly (api_route with no node and no
 * socket): unknown routes, wrong methods, bad parameters, oversize and
 * invalid bodies must all come back as JSON errors with their stable code
 * and status. Then the CLI helpers (arguments from strings, record JSON,
 * lookups). Last, one end-to-end run: a real node in a temporary home, the
 * HTTP server on an ephemeral loopback port, and the client submitting and
 * reading back a transaction over HTTP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api_internal.h"
#include "contracts/contracts.h"
#include "ledger/ledger.h"
#include "node/node.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */

struct req_spec {
  const char *method;
  const char *path;
  const char *query;
  const char *ctype;
  const char *body;
};

static struct api_reply route_m(struct api_metrics *m, struct req_spec s) {
  struct api_request req = {
      .method = s.method,
      .path = s.path,
      .query = s.query,
      .content_type = s.ctype,
      .body = (const uint8_t *)s.body,
      .body_len = s.body == NULL ? 0 : strlen(s.body),
  };
  struct api_reply rep;
  api_route(NULL, m, &req, &rep);
  assert_non_null(rep.body);
  assert_int_equal(strlen(rep.body), rep.len);
  return rep;
}

static struct api_reply route(struct req_spec s) {
  return route_m(NULL, s);
}

/* The reply is a JSON error with this status and stable code. */
static void expect_error(struct api_reply rep, int status, const char *code) {
  char got[64];
  assert_int_equal(rep.status, status);
  assert_string_equal(rep.content_type, "application/json");
  assert_int_equal(api_json_lookup(rep.body, "error.code", got, sizeof(got)), OK);
  assert_string_equal(got, code);
  assert_int_equal(api_json_lookup(rep.body, "error.message", got, sizeof(got)), OK);
  assert_true(strlen(got) > 0);
  api_reply_free(&rep);
}

static void expect_json(const char *json, const char *path, const char *want) {
  char got[256];
  assert_int_equal(api_json_lookup(json, path, got, sizeof(got)), OK);
  assert_string_equal(got, want);
}

/* ---- the router ----------------------------------------------------------------- */

static void test_route_unknown(void **state) {
  (void)state;
  static const char *const paths[] = {
      "/",
      "/v1",
      "/v1/",
      "/nope",
      "/v1/status/",
      "/v1//status",
      "/v1/../../etc/passwd",
      "/v1/blocks/1/2",
      "/v1/%73tatus",
      "//v1/status",
      "/v1/status\\..",
      "*",
      "",
  };
  for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
    expect_error(route((struct req_spec){"GET", paths[i], NULL, NULL, NULL}), 404,
                 "ROUTE_NOT_FOUND");
  }
  expect_error(route((struct req_spec){"GET", "/v1/../v1/status", NULL, NULL, NULL}), 404,
               "ROUTE_NOT_FOUND");
}

static void test_route_method(void **state) {
  (void)state;
  expect_error(route((struct req_spec){"POST", "/v1/status", NULL, NULL, "{}"}), 405,
               "METHOD_NOT_ALLOWED");
  expect_error(route((struct req_spec){"DELETE", "/v1/txs", NULL, NULL, NULL}), 405,
               "METHOD_NOT_ALLOWED");
  expect_error(route((struct req_spec){"GET", "/v1/txs", NULL, NULL, NULL}), 405,
               "METHOD_NOT_ALLOWED");
  expect_error(route((struct req_spec){"get", "/health", NULL, NULL, NULL}), 405,
               "METHOD_NOT_ALLOWED");
  struct api_reply rep = route((struct req_spec){"HEAD", "/health", NULL, NULL, NULL});
  assert_int_equal(rep.status, 200);
  api_reply_free(&rep);
}

static void test_route_health_methods(void **state) {
  (void)state;
  struct api_reply rep = route((struct req_spec){"GET", "/health", NULL, NULL, NULL});
  assert_int_equal(rep.status, 200);
  assert_string_equal(rep.body, "{\"ok\":true}\n");
  api_reply_free(&rep);

  rep = route((struct req_spec){"GET", "/v1/methods", NULL, NULL, NULL});
  assert_int_equal(rep.status, 200);
  expect_json(rep.body, "0.contract", ctr_method_at(0)->contract);
  expect_json(rep.body, "0.method", ctr_method_at(0)->method);
  expect_json(rep.body, "0.args.0.name", ctr_method_at(0)->args->fields[0].name);
  char buf[32];
  assert_int_equal(api_json_lookup(rep.body, "0.args.0.type", buf, sizeof(buf)), OK);
  assert_int_equal(api_json_lookup(rep.body, "0.args.0.max", buf, sizeof(buf)), OK);
  api_reply_free(&rep);
}

static void test_route_bad_params(void **state) {
  (void)state;
  static const struct req_spec bad[] = {
      {"GET", "/v1/blocks/abc", NULL, NULL, NULL},
      {"GET", "/v1/blocks/-1", NULL, NULL, NULL},
      {"GET", "/v1/blocks/01", NULL, NULL, NULL},
      {"GET", "/v1/blocks/99999999999999999999", NULL, NULL, NULL},
      {"GET", "/v1/blocks/1", "raw=yes", NULL, NULL},
      {"GET", "/v1/blocks", "limit=0", NULL, NULL},
      {"GET", "/v1/blocks", "limit=101", NULL, NULL},
      {"GET", "/v1/blocks", "from=x", NULL, NULL},
      {"GET", "/v1/blocks", "limit=1&limit=2", NULL, NULL},
      {"GET", "/v1/blocks", "limit=%zz", NULL, NULL},
      {"GET", "/v1/blocks", "limit=1%00", NULL, NULL},
      {"GET", "/v1/txs/zz", NULL, NULL, NULL},
      {"GET", "/v1/txs/00", NULL, NULL, NULL},
      {"GET", "/v1/identities/123", NULL, NULL, NULL},
      {"GET", "/v1/identities", "org=abc", NULL, NULL},
      {"GET", "/v1/records", "cursor=xyz", NULL, NULL},
      {"GET", "/v1/consents", "patient=" /* set below */, NULL, NULL},
      {"GET", "/v1/state/proof", NULL, NULL, NULL},
      {"GET", "/v1/state/proof", "key=", NULL, NULL},
      {"GET", "/v1/state/proof", "key=abc", NULL, NULL},
      {"POST", "/v1/txs", "wait=soon", NULL, "{\"tx\":\"00\"}"},
      {"POST", "/v1/txs", "wait=commit&timeout_ms=60001", NULL, "{\"tx\":\"00\"}"},
      {"POST", "/v1/txs", NULL, NULL, "{\"tx\":\"zz\"}"},
      {"POST", "/v1/txs", NULL, NULL, "{\"tx\":12}"},
      {"POST", "/v1/txs", NULL, NULL, "{\"tx\":\"\"}"},
      {"POST", "/v1/txs", NULL, NULL, "[1,2]"},
      {"POST", "/v1/txs", NULL, "application/octet-stream", NULL},
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    expect_error(route(bad[i]), 400, "BAD_REQUEST");
  }
  char q[200];
  snprintf(q, sizeof(q), "patient=%064d&grantee=%064d", 0, 0);
  expect_error(route((struct req_spec){"GET", "/v1/consents", q, NULL, NULL}), 400, "BAD_REQUEST");
  char path[300];
  snprintf(path, sizeof(path), "/v1/txs/%0200d", 0);
  expect_error(route((struct req_spec){"GET", path, NULL, NULL, NULL}), 400, "BAD_REQUEST");
  /* More query parameters than the router keeps. */
  expect_error(route((struct req_spec){"GET", "/v1/blocks",
                                       "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&"
                                       "n=14&o=15&p=16&q=17",
                                       NULL, NULL}),
               400, "BAD_REQUEST");
}

static void test_route_without_node(void **state) {
  (void)state;
  char id[80];
  snprintf(id, sizeof(id), "/v1/identities/%064d", 7);
  const struct req_spec good[] = {
      {"GET", "/v1/status", NULL, NULL, NULL},
      {"GET", "/metrics", NULL, NULL, NULL},
      {"GET", "/v1/blocks", "limit=5&unknown=ignored", NULL, NULL},
      {"GET", "/v1/blocks/1", "raw=1", NULL, NULL},
      {"GET", "/v1/blocks/latest", NULL, NULL, NULL},
      {"GET", id, NULL, NULL, NULL},
      {"GET", "/v1/identities",
       "org="
       "00000000000000000000000000000000"
       "00000000000000000000000000000000",
       NULL, NULL},
      {"GET", "/v1/state/proof", "key=0a", NULL, NULL},
      {"POST", "/v1/txs", "wait=commit&timeout_ms=100", "application/json", "{\"tx\":\"00\"}"},
      {"POST", "/v1/txs", NULL, "application/octet-stream", "\x01\x02"},
  };
  for (size_t i = 0; i < ARRAY_LEN(good); i++) {
    expect_error(route(good[i]), 503, "UNAVAILABLE");
  }
}

static void test_route_oversize(void **state) {
  (void)state;
  struct api_request req = {.method = "POST", .path = "/v1/txs", .body_oversize = true};
  struct api_reply rep;
  api_route(NULL, NULL, &req, &rep);
  expect_error(rep, 413, "OVERSIZE");

  size_t n = LIM_HTTP_BODY_MAX + 1;
  uint8_t *big = calloc(1, n);
  assert_non_null(big);
  req = (struct api_request){.method = "POST", .path = "/v1/txs", .body = big, .body_len = n};
  api_route(NULL, NULL, &req, &rep);
  expect_error(rep, 413, "OVERSIZE");
  free(big);

  /* A hex transaction longer than a transaction can be. */
  size_t hex = 2 * LIM_TX_BYTES_MAX + 2;
  char *body = malloc(hex + 16);
  assert_non_null(body);
  memcpy(body, "{\"tx\":\"", 7);
  memset(body + 7, 'a', hex);
  memcpy(body + 7 + hex, "\"}", 3);
  expect_error(route((struct req_spec){"POST", "/v1/txs", NULL, NULL, body}), 413, "OVERSIZE");
  free(body);
}

/* Nested arrays, depth deep, with a "tx" member at the top if wrap. */
static char *nested(size_t depth) {
  char *s = malloc(2 * depth + 1);
  assert_non_null(s);
  for (size_t i = 0; i < depth; i++) {
    s[i] = '[';
    s[2 * depth - 1 - i] = ']';
  }
  s[2 * depth] = '\0';
  return s;
}

static void test_route_invalid_json(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "{",
      "",
      "{\"tx\":\"00\",\"tx\":\"01\"}",
      "{\"tx\":\"00\"} trailing",
      "nul\x01",
      "\"\\u0000\"",
      "{\"tx\":\"\xff\"}",
  };
  for (size_t i = 0; i < ARRAY_LEN(bodies); i++) {
    expect_error(route((struct req_spec){"POST", "/v1/txs", NULL, "application/json", bodies[i]}),
                 400, "INVALID_JSON");
  }
  char *deep = nested(LIM_JSON_DEPTH_MAX + 1);
  expect_error(route((struct req_spec){"POST", "/v1/txs", NULL, NULL, deep}), 400, "INVALID_JSON");
  free(deep);
  deep = nested(5000); /* past jansson's own limit too */
  expect_error(route((struct req_spec){"POST", "/v1/txs", NULL, NULL, deep}), 400, "INVALID_JSON");
  free(deep);
  /* At the limit the body parses; an array is just not a request. */
  deep = nested(LIM_JSON_DEPTH_MAX);
  expect_error(route((struct req_spec){"POST", "/v1/txs", NULL, NULL, deep}), 400, "BAD_REQUEST");
  free(deep);
}

static void test_json_depth(void **state) {
  (void)state;
  json_error_t e;
  json_t *v = json_loads("{\"a\":[1,{\"b\":[[]]}],\"c\":{}}", 0, &e);
  assert_non_null(v);
  assert_int_equal(api_json_depth(v, 16), 5);
  assert_int_equal(api_json_depth(v, 4), 5);
  assert_int_equal(api_json_depth(v, 5), 5);
  json_decref(v);
  v = json_integer(3);
  assert_int_equal(api_json_depth(v, 1), 0);
  json_decref(v);
}

struct seen {
  int n;
  uint64_t health_200;
  uint64_t unmatched_404;
};

static void count_seen(void *ctx, const char *route_pattern, int status, uint64_t count) {
  struct seen *s = ctx;
  s->n++;
  if (strcmp(route_pattern, "/health") == 0 && status == 200) {
    s->health_200 = count;
  }
  if (strcmp(route_pattern, "unmatched") == 0 && status == 404) {
    s->unmatched_404 = count;
  }
}

static void test_metrics_counts(void **state) {
  (void)state;
  struct api_metrics *m = malloc(sizeof(*m));
  assert_non_null(m);
  api_metrics_init(m);
  for (int i = 0; i < 3; i++) {
    struct api_reply rep = route_m(m, (struct req_spec){"GET", "/health", NULL, NULL, NULL});
    api_reply_free(&rep);
  }
  struct api_reply rep = route_m(m, (struct req_spec){"GET", "/x/../y", NULL, NULL, NULL});
  assert_string_equal(rep.route, "unmatched");
  api_reply_free(&rep);
  rep = route_m(m, (struct req_spec){"GET", "/v1/blocks/7", "raw=2", NULL, NULL});
  assert_string_equal(rep.route, "/v1/blocks/{height}");
  api_reply_free(&rep);
  struct seen s = {0};
  api_metrics_each(m, count_seen, &s);
  assert_int_equal(s.n, 3);
  assert_int_equal(s.health_200, 3);
  assert_int_equal(s.unmatched_404, 1);
  free(m);
}

/* ---- arguments from strings ------------------------------------------------------- */

static const struct codec_field all_fields[] = {
    {"count", CODEC_U64, 0}, {"flag", CODEC_BOOL, 0},      {"who", CODEC_ID, 0},
    {"label", CODEC_STR, 8}, {"blob", CODEC_BYTES, 4},     {"list", CODEC_IDS, 3},
    {"keys", CODEC_KEYS, 2}, {"sign_pk", CODEC_PUBKEY, 0}, {"admin_box", CODEC_PUBKEY, 0},
};
static const struct codec_schema all_schema = {"test.all", ARRAY_LEN(all_fields), all_fields};

static char hex_of(int digit) {
  return "0123456789abcdef"[digit & 15];
}

/* 2*n hex digits all equal to d. */
static void fill_hex(char *out, size_t n, int d) {
  memset(out, hex_of(d), 2 * n);
  out[2 * n] = '\0';
}

static void test_args_each_type(void **state) {
  (void)state;
  char who[80], list[300], keys[600], pk[80], id1[65], id2[65],
      sealed[2 * LIM_SEALED_KEY_BYTES + 1];
  fill_hex(id1, 32, 2);
  fill_hex(id2, 32, 1);
  fill_hex(sealed, LIM_SEALED_KEY_BYTES, 9);
  snprintf(who, sizeof(who), "who=%s", id1);
  snprintf(list, sizeof(list), "list=%s,%s", id1, id2); /* out of order: sorted */
  snprintf(keys, sizeof(keys), "keys=%s:%s", id2, sealed);
  snprintf(pk, sizeof(pk), "sign_pk=%s", id2);
  char *argv[] = {"count=42", "flag=true", who, "label=ab c", "blob=00ff", list, keys, pk};
  uint8_t out[1024];
  size_t len = 0;
  char err[128];
  assert_int_equal(api_args_from_strings(&all_schema, ARRAY_LEN(argv), argv, out, sizeof(out), &len,
                                         err, sizeof(err)),
                   OK);
  char *json = api_record_json(&all_schema, (struct bytes){out, len});
  assert_non_null(json);
  expect_json(json, "count", "42");
  expect_json(json, "flag", "true");
  expect_json(json, "who", id1);
  expect_json(json, "label", "ab c");
  expect_json(json, "blob", "00ff");
  expect_json(json, "list.0", id2);
  expect_json(json, "list.1", id1);
  expect_json(json, "keys.0.reader", id2);
  expect_json(json, "keys.0.sealed_key", sealed);
  expect_json(json, "sign_pk", id2);
  char zero[65];
  fill_hex(zero, 32, 0);
  expect_json(json, "admin_box", zero); /* missing: zero */
  free(json);

  /* No arguments at all: every field at its zero value. */
  assert_int_equal(
      api_args_from_strings(&all_schema, 0, NULL, out, sizeof(out), &len, err, sizeof(err)), OK);
  json = api_record_json(&all_schema, (struct bytes){out, len});
  assert_non_null(json);
  expect_json(json, "count", "0");
  expect_json(json, "flag", "false");
  expect_json(json, "label", "");
  free(json);
}

static void expect_args_error(char *arg) {
  char *argv[] = {arg};
  uint8_t out[1024];
  size_t len = 0;
  char err[128] = "";
  assert_int_equal(
      api_args_from_strings(&all_schema, 1, argv, out, sizeof(out), &len, err, sizeof(err)),
      ERR_BAD_ARGS);
  assert_true(strlen(err) > 0);
}

static void test_args_errors(void **state) {
  (void)state;
  expect_args_error("nope=1");
  expect_args_error("count");
  expect_args_error("=1");
  expect_args_error("count=-1");
  expect_args_error("count=1x");
  expect_args_error("count=18446744073709551616");
  expect_args_error("flag=yes");
  expect_args_error("who=abc");
  expect_args_error("who=@/nonexistent/keystore");
  expect_args_error("label=123456789");
  expect_args_error("label=tab\there");
  expect_args_error("blob=0");
  expect_args_error("blob=0011223344");
  expect_args_error("blob=zz");
  expect_args_error("keys=00");
  char buf[400], id[65];
  fill_hex(id, 32, 3);
  snprintf(buf, sizeof(buf), "list=%s,%s", id, id);
  expect_args_error(buf);
  snprintf(buf, sizeof(buf), "list=%s,a", id);
  expect_args_error(buf);
  snprintf(buf, sizeof(buf), "list=%s:00", id);
  expect_args_error(buf);
  /* Four ids where three fit; short items never overrun the arena. */
  expect_args_error("list=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p");
  /* The same field twice. */
  char *argv[] = {"count=1", "count=2"};
  uint8_t out[64];
  size_t len = 0;
  char err[128];
  assert_int_equal(
      api_args_from_strings(&all_schema, 2, argv, out, sizeof(out), &len, err, sizeof(err)),
      ERR_BAD_ARGS);
  /* An output buffer too small. */
  char *one[] = {"count=1"};
  assert_int_equal(api_args_from_strings(&all_schema, 1, one, out, 8, &len, err, sizeof(err)),
                   ERR_BAD_ARGS);
}

/* Removes a temporary directory the test made (a few levels at most). */
static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    if (S_ISDIR(st.st_mode)) {
      rm_tree(path);
    } else {
      assert_int_equal(unlink(path), 0);
    }
  }
  closedir(d);
  assert_int_equal(rmdir(dir), 0);
}

static void test_args_keystore(void **state) {
  (void)state;
  char dir[] = "/tmp/medchain-api-ks-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[128];
  snprintf(path, sizeof(path), "%s/k.key", dir);
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, 0x42, sizeof(seed));
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  assert_int_equal(cry_keystore_write(path, k, NULL, false), OK);
  struct pubkey spk;
  struct boxkey bpk;
  struct hash32 id;
  cry_keys_sign_pk(k, &spk);
  cry_keys_box_pk(k, &bpk);
  cry_id_from_pk(&id, &spk);
  cry_keys_destroy(k);

  char a[160], b[160], c[160];
  snprintf(a, sizeof(a), "who=@%s", path);
  snprintf(b, sizeof(b), "sign_pk=@%s", path);
  snprintf(c, sizeof(c), "admin_box=@%s", path);
  char *argv[] = {a, b, c};
  uint8_t out[1024];
  size_t len = 0;
  char err[128];
  assert_int_equal(
      api_args_from_strings(&all_schema, 3, argv, out, sizeof(out), &len, err, sizeof(err)), OK);
  char *json = api_record_json(&all_schema, (struct bytes){out, len});
  assert_non_null(json);
  char hex[65];
  base_hex_encode(hex, id.b, 32);
  expect_json(json, "who", hex);
  base_hex_encode(hex, spk.b, 32);
  expect_json(json, "sign_pk", hex);
  base_hex_encode(hex, bpk.b, 32);
  expect_json(json, "admin_box", hex);
  free(json);
  rm_tree(dir);
}

/* ---- rendering and JSON helpers --------------------------------------------------- */

static void test_record_json(void **state) {
  (void)state;
  static const struct codec_field f[] = {
      {"n", CODEC_U64, 0}, {"big", CODEC_U64, 0}, {"s", CODEC_STR, 16}, {"b", CODEC_BOOL, 0}};
  static const struct codec_schema sch = {"t", ARRAY_LEN(f), f};
  struct codec_value v[4] = {
      {.type = CODEC_U64, .u64 = 7},
      {.type = CODEC_U64, .u64 = UINT64_MAX},
      {.type = CODEC_STR, .bytes = {(const uint8_t *)"a\"b", 3}},
      {.type = CODEC_BOOL, .u64 = 1},
  };
  uint8_t buf[128];
  size_t len = 0;
  assert_int_equal(codec_record_encode(&sch, v, buf, sizeof(buf), &len), OK);
  char *json = api_record_json(&sch, (struct bytes){buf, len});
  assert_non_null(json);
  assert_string_equal(json,
                      "{\"n\":7,\"big\":\"18446744073709551615\",\"s\":\"a\\\"b\",\"b\":true}");
  free(json);
  /* Anything that does not decode renders as NULL. */
  assert_null(api_record_json(&sch, (struct bytes){buf, len - 1}));
  uint8_t more[129];
  memcpy(more, buf, len);
  more[len] = 0;
  assert_null(api_record_json(&sch, (struct bytes){more, len + 1}));
}

static void test_json_lookup_pretty(void **state) {
  (void)state;
  const char *j = "{\"a\":{\"b\":[10,{\"c\":\"x\"}],\"t\":true,\"n\":null,\"r\":1.5}}";
  char out[32];
  expect_json(j, "a.b.0", "10");
  expect_json(j, "a.b.1.c", "x");
  expect_json(j, "a.t", "true");
  expect_json(j, "a.n", "null");
  expect_json(j, "a.r", "1.5");
  assert_int_equal(api_json_lookup(j, "a.b", out, sizeof(out)), ERR_NOT_FOUND);
  assert_int_equal(api_json_lookup(j, "a.z", out, sizeof(out)), ERR_NOT_FOUND);
  assert_int_equal(api_json_lookup(j, "a.b.9", out, sizeof(out)), ERR_NOT_FOUND);
  assert_int_equal(api_json_lookup(j, "a.b.1.c.d", out, sizeof(out)), ERR_NOT_FOUND);
  assert_int_equal(api_json_lookup(j, "", out, sizeof(out)), ERR_NOT_FOUND);
  assert_int_equal(api_json_lookup("{", "a", out, sizeof(out)), ERR_INVALID_JSON);
  assert_int_equal(api_json_lookup("{\"s\":\"abcdef\"}", "s", out, 4), ERR_OVERSIZE);
  assert_string_equal(out, "");
  char *p = api_json_pretty("{\"a\":[1]}");
  assert_non_null(p);
  assert_string_equal(p, "{\n  \"a\": [\n    1\n  ]\n}");
  free(p);
  assert_null(api_json_pretty("{nope"));
}

/* ---- end to end ------------------------------------------------------------------- */

struct e2e {
  char home[64];
  struct cry_keys *validator;
  struct cry_keys *admin;
  struct cry_keys *patient;
  struct node *node;
  struct api_server *srv;
  struct api_client *client;
  uint64_t nonce; /* the admin's next */
};

static struct cry_keys *seeded(uint8_t b) {
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, b, sizeof(seed));
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  return k;
}

static void write_file(const char *path, const uint8_t *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static void e2e_home(struct e2e *t) {
  snprintf(t->home, sizeof(t->home), "/tmp/medchain-api-XXXXXX");
  assert_non_null(mkdtemp(t->home));
  struct ledger_genesis *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  snprintf(g->chain_id, sizeof(g->chain_id), "api-test");
  g->time_ms = base_now_ms() - 1000;
  g->nvalidators = 1;
  cry_keys_sign_pk(t->validator, &g->validators[0].pk);
  cry_id_from_pk(&g->validators[0].id, &g->validators[0].pk);
  g->validators[0].power = 10;
  g->nmembers = 1;
  snprintf(g->members[0].name, sizeof(g->members[0].name), "General Hospital");
  snprintf(g->members[0].kind, sizeof(g->members[0].kind), "hospital");
  cry_keys_sign_pk(t->admin, &g->members[0].admin_pk);
  cry_keys_box_pk(t->admin, &g->members[0].admin_box);
  uint8_t buf[16384];
  size_t len = 0;
  assert_int_equal(ledger_genesis_encode(g, buf, sizeof(buf), &len), OK);
  free(g);
  char path[128];
  snprintf(path, sizeof(path), "%s/genesis.bin", t->home);
  write_file(path, buf, len);
  snprintf(path, sizeof(path), "%s/node.key", t->home);
  assert_int_equal(cry_keystore_write(path, t->validator, NULL, false), OK);
}

static int e2e_setup(void **state) {
  struct e2e *t = calloc(1, sizeof(*t));
  assert_non_null(t);
  t->validator = seeded(0x11);
  t->admin = seeded(0x22);
  t->patient = seeded(0x33);
  t->nonce = 1;
  e2e_home(t);
  struct node_config cfg;
  node_config_defaults(&cfg, t->home);
  cfg.block_interval_ms = 10;
  cfg.map_bytes = (uint64_t)64 << 20;
  assert_int_equal(node_create(&t->node, &cfg), OK);
  assert_int_equal(node_start(t->node), OK);
  assert_int_equal(api_server_start(&t->srv, t->node, "127.0.0.1", 0), OK);
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/", (unsigned)api_server_port(t->srv));
  assert_true(api_server_port(t->srv) != 0);
  assert_int_equal(api_client_create(&t->client, url), OK);
  *state = t;
  return 0;
}

static int e2e_teardown(void **state) {
  struct e2e *t = *state;
  api_client_destroy(t->client);
  node_stop(t->node);
  api_server_stop(t->srv);
  node_destroy(t->node);
  rm_tree(t->home);
  cry_keys_destroy(t->validator);
  cry_keys_destroy(t->admin);
  cry_keys_destroy(t->patient);
  free(t);
  return 0;
}

/* The admin's signed call of contract.method with args, as hex. */
static void signed_tx_hex(struct e2e *t, const char *contract, const char *method,
                          char *const *argv, int argc, char *hex, size_t hex_cap) {
  const struct ctr_method *m =
      ctr_method_find((struct bytes){(const uint8_t *)contract, strlen(contract)},
                      (struct bytes){(const uint8_t *)method, strlen(method)});
  assert_non_null(m);
  uint8_t args[LIM_ARGS_MAX];
  size_t args_len = 0;
  char err[128];
  assert_int_equal(
      api_args_from_strings(m->args, argc, argv, args, sizeof(args), &args_len, err, sizeof(err)),
      OK);
  struct tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.chain_id = (struct bytes){(const uint8_t *)"api-test", 8};
  cry_keys_sign_pk(t->admin, &tx.pubkey);
  cry_id_from_pk(&tx.sender, &tx.pubkey);
  tx.nonce = t->nonce;
  tx.contract = (struct bytes){(const uint8_t *)contract, strlen(contract)};
  tx.method = (struct bytes){(const uint8_t *)method, strlen(method)};
  tx.args = (struct bytes){args, args_len};
  uint8_t enc[LIM_TX_BYTES_MAX];
  size_t len = 0;
  assert_int_equal(ledger_tx_sign(&tx, t->admin, enc, sizeof(enc), &len), OK);
  assert_true(2 * len < hex_cap);
  base_hex_encode(hex, enc, len);
}

static void enrol_args(struct cry_keys *k, char *sign, char *box, size_t cap) {
  struct pubkey spk;
  struct boxkey bpk;
  cry_keys_sign_pk(k, &spk);
  cry_keys_box_pk(k, &bpk);
  char hex[65];
  base_hex_encode(hex, spk.b, 32);
  snprintf(sign, cap, "sign_pk=%s", hex);
  base_hex_encode(hex, bpk.b, 32);
  snprintf(box, cap, "box_pk=%s", hex);
}

static void http_get(struct e2e *t, const char *path, long status, struct api_response *r) {
  assert_int_equal(api_client_get(t->client, path, r), OK);
  assert_int_equal(r->status, status);
}

static void e2e_submit_and_read(struct e2e *t) {
  char sign[100], box[100];
  enrol_args(t->patient, sign, box, sizeof(sign));
  char *argv[] = {sign, box};
  char hex[2 * LIM_TX_BYTES_MAX + 1];
  signed_tx_hex(t, "identity", "enrol_patient", argv, 2, hex, sizeof(hex));
  char body[sizeof(hex) + 16];
  int n = snprintf(body, sizeof(body), "{\"tx\":\"%s\"}", hex);
  struct api_response r;
  assert_int_equal(api_client_post(t->client, "/v1/txs?wait=commit&timeout_ms=20000",
                                   "application/json", (const uint8_t *)body, (size_t)n, &r),
                   OK);
  assert_int_equal(r.status, 200);
  expect_json(r.body, "status", "committed");
  expect_json(r.body, "result", "OK");
  char hash[65], height[24], path[128];
  assert_int_equal(api_json_lookup(r.body, "hash", hash, sizeof(hash)), OK);
  assert_int_equal(api_json_lookup(r.body, "height", height, sizeof(height)), OK);
  api_response_free(&r);
  t->nonce++;

  snprintf(path, sizeof(path), "/v1/txs/%s", hash);
  http_get(t, path, 200, &r);
  expect_json(r.body, "status", "committed");
  expect_json(r.body, "height", height);
  api_response_free(&r);

  snprintf(path, sizeof(path), "/v1/blocks/%s?raw=1", height);
  http_get(t, path, 200, &r);
  expect_json(r.body, "txs.0.hash", hash);
  expect_json(r.body, "txs.0.method", "enrol_patient");
  expect_json(r.body, "txs.0.args.sign_pk", sign + strlen("sign_pk="));
  expect_json(r.body, "txs.0.result", "OK");
  char raw[8];
  assert_int_equal(api_json_lookup(r.body, "raw", raw, sizeof(raw)), ERR_OVERSIZE);
  api_response_free(&r);

  /* The same enrolment again: the node's dry run refuses it. */
  signed_tx_hex(t, "identity", "enrol_patient", argv, 2, hex, sizeof(hex));
  n = snprintf(body, sizeof(body), "{\"tx\":\"%s\"}", hex);
  assert_int_equal(
      api_client_post(t->client, "/v1/txs", NULL, (const uint8_t *)body, (size_t)n, &r), OK);
  assert_int_equal(r.status, 409);
  expect_json(r.body, "error.code", "ALREADY_EXISTS");
  api_response_free(&r);
}

static void e2e_reads(struct e2e *t) {
  struct api_response r;
  http_get(t, "/v1/identities?limit=10", 200, &r);
  char id[65], kind[32];
  assert_int_equal(api_json_lookup(r.body, "items.1.id", id, sizeof(id)), OK);
  assert_int_equal(api_json_lookup(r.body, "next", kind, sizeof(kind)), OK);
  assert_string_equal(kind, "null");
  api_response_free(&r);

  http_get(t, "/v1/identities?limit=1", 200, &r);
  char cursor[2 * CTR_CURSOR_MAX + 1], path[300];
  assert_int_equal(api_json_lookup(r.body, "next", cursor, sizeof(cursor)), OK);
  api_response_free(&r);
  char first[65], second[65];
  http_get(t, "/v1/identities?limit=1", 200, &r);
  assert_int_equal(api_json_lookup(r.body, "items.0.id", first, sizeof(first)), OK);
  api_response_free(&r);
  snprintf(path, sizeof(path), "/v1/identities?limit=1&cursor=%s", cursor);
  http_get(t, path, 200, &r);
  assert_int_equal(api_json_lookup(r.body, "items.0.id", second, sizeof(second)), OK);
  assert_string_not_equal(first, second);
  api_response_free(&r);

  struct pubkey spk;
  struct hash32 pid;
  cry_keys_sign_pk(t->patient, &spk);
  cry_id_from_pk(&pid, &spk);
  char hex[65];
  base_hex_encode(hex, pid.b, 32);
  snprintf(path, sizeof(path), "/v1/identities/%s", hex);
  http_get(t, path, 200, &r);
  expect_json(r.body, "kind", "patient");
  expect_json(r.body, "next_nonce", "1");
  api_response_free(&r);
  path[strlen(path) - 1] = path[strlen(path) - 1] == '0' ? '1' : '0';
  http_get(t, path, 404, &r);
  expect_json(r.body, "error.code", "NOT_FOUND");
  api_response_free(&r);

  http_get(t, "/v1/organizations", 200, &r);
  expect_json(r.body, "items.0.name", "General Hospital");
  api_response_free(&r);
  http_get(t, "/v1/validators", 200, &r);
  expect_json(r.body, "items.0.power", "10");
  api_response_free(&r);
  http_get(t, "/v1/state/proof?key=00", 200, &r);
  expect_json(r.body, "value", "null");
  api_response_free(&r);
}

static void e2e_chain(struct e2e *t) {
  struct api_response r;
  http_get(t, "/v1/status", 200, &r);
  expect_json(r.body, "chain_id", "api-test");
  expect_json(r.body, "catching_up", "false");
  expect_json(r.body, "node.name", "node0");
  expect_json(r.body, "validators.0.power", "10");
  api_response_free(&r);
  http_get(t, "/v1/blocks?limit=2", 200, &r);
  char h[24];
  assert_int_equal(api_json_lookup(r.body, "items.0.height", h, sizeof(h)), OK);
  api_response_free(&r);
  http_get(t, "/v1/blocks?from=1&limit=1", 200, &r);
  expect_json(r.body, "items.0.height", "1");
  api_response_free(&r);
  http_get(t, "/v1/blocks/latest", 200, &r);
  api_response_free(&r);
  http_get(t, "/v1/blocks/999999", 404, &r);
  api_response_free(&r);
  http_get(t, "/metrics", 200, &r);
  assert_non_null(strstr(r.body, "medchain_height "));
  assert_non_null(strstr(r.body, "medchain_txs_rejected_total{code=\"ALREADY_EXISTS\"} 1"));
  assert_non_null(
      strstr(r.body, "medchain_http_requests_total{route=\"/v1/status\",status=\"200\"}"));
  static const char *const types[] = {"# TYPE medchain_blocks_committed_total counter\n",
                                      "# TYPE medchain_block_seconds histogram\n",
                                      "# TYPE medchain_peers gauge\nmedchain_peers 0\n",
                                      "# TYPE medchain_uptime_seconds gauge\n",
                                      "medchain_block_seconds_bucket{le=\"0.001\"} ",
                                      "medchain_block_seconds_bucket{le=\"0.0025\"} ",
                                      "medchain_block_seconds_bucket{le=\"1\"} ",
                                      "medchain_block_seconds_bucket{le=\"+Inf\"} ",
                                      "medchain_block_seconds_sum ",
                                      "medchain_block_seconds_count "};
  for (size_t i = 0; i < ARRAY_LEN(types); i++) {
    assert_non_null(strstr(r.body, types[i]));
  }
  /* Blocks were committed before this scrape: both counts are past zero. */
  assert_null(strstr(r.body, "medchain_blocks_committed_total 0\n"));
  assert_null(strstr(r.body, "medchain_block_seconds_count 0\n"));
  api_response_free(&r);
}

/* What only a socket shows: the server's own limits and odd paths. */
static void e2e_http_edges(struct e2e *t) {
  struct api_response r;
  http_get(t, "/v1/../../etc/passwd", 404, &r);
  expect_json(r.body, "error.code", "ROUTE_NOT_FOUND");
  api_response_free(&r);
  http_get(t, "/nothing/here?x=1", 404, &r);
  expect_json(r.body, "error.code", "ROUTE_NOT_FOUND");
  api_response_free(&r);
  size_t n = LIM_HTTP_BODY_MAX + 100;
  uint8_t *big = calloc(1, n);
  assert_non_null(big);
  assert_int_equal(api_client_post(t->client, "/v1/txs", "application/octet-stream", big, n, &r),
                   OK);
  assert_int_equal(r.status, 413);
  expect_json(r.body, "error.code", "OVERSIZE");
  api_response_free(&r);
  free(big);
  /* The server still answers after all of that. */
  http_get(t, "/health", 200, &r);
  api_response_free(&r);
}

/* A GET signed as k; checks the status and, for an error, its code. */
static void signed_get(struct e2e *t, const struct cry_keys *k, const char *path, const char *chain,
                       uint64_t ts_ms, const uint8_t *nonce, long status, const char *code) {
  struct api_response r;
  assert_int_equal(api_client_get_signed_at(t->client, path, k, chain, ts_ms, nonce, &r), OK);
  assert_int_equal(r.status, status);
  if (code != NULL) {
    expect_json(r.body, "error.code", code);
  }
  api_response_free(&r);
}

/* Patient data answers signed requests only, from those who may read it. */
static void e2e_signed_reads(struct e2e *t) {
  struct pubkey spk;
  struct hash32 pid;
  cry_keys_sign_pk(t->patient, &spk);
  cry_id_from_pk(&pid, &spk);
  char hex[65], path[160];
  base_hex_encode(hex, pid.b, 32);
  snprintf(path, sizeof(path), "/v1/consents?patient=%s", hex);
  struct api_response r;
  http_get(t, path, 401, &r);
  expect_json(r.body, "error.code", "AUTH_REQUIRED");
  api_response_free(&r);
  signed_get(t, t->patient, path, "api-test", 0, NULL, 200, NULL);
  signed_get(t, t->admin, path, "api-test", 0, NULL, 403, "UNAUTHORIZED");
  signed_get(t, t->admin, "/v1/audit", "api-test", 0, NULL, 403, "UNAUTHORIZED");
  signed_get(t, t->patient, path, "other-chain", 0, NULL, 401, "BAD_SIGNATURE");
  signed_get(t, t->validator, path, "api-test", 0, NULL, 401, "UNKNOWN_SENDER");
  uint8_t nonce[16];
  cry_random(nonce, sizeof(nonce));
  signed_get(t, t->patient, path, "api-test", 0, nonce, 200, NULL);
  signed_get(t, t->patient, path, "api-test", 0, nonce, 401, "REQUEST_REPLAYED");
  uint64_t old = base_now_ms() - API_AUTH_WINDOW_MS - 60000;
  signed_get(t, t->patient, path, "api-test", old, NULL, 401, "REQUEST_EXPIRED");
}

static void test_end_to_end(void **state) {
  struct e2e *t = *state;
  e2e_submit_and_read(t);
  e2e_reads(t);
  e2e_signed_reads(t);
  e2e_chain(t);
  e2e_http_edges(t);
}

/* ---- signed requests ----------------------------------------------------------- */

/* One "request" line of tests/vectors/api/request_sig.txt. */
static void request_vector(char *line) {
  char *f[9];
  size_t n = 0;
  for (char *p = line; n < ARRAY_LEN(f); n++) {
    f[n] = p;
    p = strchr(p, ' ');
    if (p == NULL) {
      n++;
      break;
    }
    *p++ = '\0';
  }
  assert_int_equal(n, 9);
  f[8][strcspn(f[8], "\r\n")] = '\0';
  char *query = strchr(f[2], '?');
  if (query != NULL) {
    *query++ = '\0';
  }
  uint8_t body[64];
  size_t body_len = 0;
  if (strcmp(f[3], "-") != 0) {
    assert_int_equal(base_hex_decode_var(body, sizeof(body), &body_len, f[3]), OK);
  }
  uint64_t ts = 0;
  uint8_t nonce[16];
  assert_int_equal(base_parse_u64(&ts, f[4]), OK);
  assert_int_equal(base_hex_decode(nonce, sizeof(nonce), f[5]), OK);
  struct hash32 want, got, again;
  assert_int_equal(base_hex_decode(want.b, sizeof(want.b), f[8]), OK);
  api_auth_digest(&got, f[1], f[2], query, body_len ? body : NULL, body_len, ts, nonce, f[6]);
  assert_memory_equal(got.b, want.b, 32);
  /* The message bytes as written hash to the same digest. */
  static uint8_t msg[1024];
  size_t msg_len = 0;
  assert_int_equal(base_hex_decode_var(msg, sizeof(msg), &msg_len, f[7]), OK);
  cry_hash_tagged(&again, API_AUTH_TAG, msg, msg_len);
  assert_memory_equal(again.b, want.b, 32);
}

static void test_request_digest_vectors(void **state) {
  (void)state;
  FILE *fp = fopen(MEDCHAIN_VECTORS_DIR "/api/request_sig.txt", "r");
  assert_non_null(fp);
  char line[4096];
  int count = 0;
  while (fgets(line, sizeof(line), fp) != NULL) {
    if (strncmp(line, "request ", 8) == 0) {
      request_vector(line);
      count++;
    }
  }
  assert_int_equal(fclose(fp), 0);
  assert_true(count >= 4);
}

/* Without a node, protected routes check parameters, then answer
 * UNAVAILABLE like every other route: the signature is checked against
 * the node's state and chain id. */
static void test_protected_routes_without_node(void **state) {
  (void)state;
  expect_error(route((struct req_spec){"GET", "/v1/audit", NULL, NULL, NULL}), 503, "UNAVAILABLE");
  expect_error(route((struct req_spec){"GET", "/v1/records", "patient=zz", NULL, NULL}), 400,
               "BAD_REQUEST");
}

static void test_client_unreachable(void **state) {
  (void)state;
  struct api_client *c = NULL;
  /* Port 1 on loopback: nobody listens there in a test environment. */
  assert_int_equal(api_client_create(&c, "http://127.0.0.1:1"), OK);
  struct api_response r;
  assert_int_equal(api_client_get(c, "/health", &r), ERR_UNAVAILABLE);
  assert_int_equal(r.status, 0);
  assert_null(r.body);
  api_client_destroy(c);
}

/* ---- GET /v1/events ---------------------------------------------------------- */

static void test_events_format(void **state) {
  (void)state;
  char out[API_EVENT_TEXT_MAX];
  size_t len = 0;
  struct hash32 h;
  memset(h.b, 0xab, sizeof(h.b));
  char hex[65];
  base_hash_hex(hex, &h);
  assert_int_equal(api_event_tx(out, sizeof(out), &len, 7, 2, &h, "consent", "grant", OK), OK);
  char want[API_EVENT_TEXT_MAX];
  snprintf(want, sizeof(want),
           "id: 7:2\nevent: tx\ndata: {\"hash\":\"%s\",\"height\":7,\"index\":2,"
           "\"contract\":\"consent\",\"method\":\"grant\",\"result\":\"OK\"}\n\n",
           hex);
  assert_string_equal(out, want);
  assert_int_equal(len, strlen(want));
  struct api_consent_change cc = {.consent = h, .patient = h, .grantee = h, .revoked = true};
  assert_int_equal(api_event_consent(out, sizeof(out), &len, 9, 0, &cc), OK);
  assert_non_null(strstr(out, "id: 9:0\nevent: consent\ndata: {\"consent\":\""));
  assert_non_null(strstr(out, "\"status\":\"revoked\",\"height\":9}\n\n"));
  assert_int_equal(api_event_format(out, 16, &len, "block", 1, 0, "{}"), ERR_OVERSIZE);
  assert_int_equal(len, 0);
}

static void test_events_route(void **state) {
  (void)state;
  expect_error(route((struct req_spec){"GET", "/v1/events", NULL, NULL, NULL}), 503, "UNAVAILABLE");
  expect_error(route((struct req_spec){"GET", "/v1/events", "patient=xyz", NULL, NULL}), 400,
               "BAD_REQUEST");
  expect_error(route((struct req_spec){"POST", "/v1/events", NULL, NULL, NULL}), 405,
               "METHOD_NOT_ALLOWED");
}

/* Everything a subscriber has ready now, as one string. Returns how the
 * stream paused: 0 (nothing more yet) or -1 (ended). */
static ssize_t events_drain(struct api_sub *s, char *out, size_t cap) {
  size_t n = 0;
  ssize_t k = api_events_read(s, out, cap - 1, 0);
  while (k > 0) {
    n += (size_t)k;
    k = api_events_read(s, out + n, cap - 1 - n, 0);
  }
  out[n] = '\0';
  return k;
}

static void test_events_hub(void **state) {
  (void)state;
  struct api_events *h = NULL;
  assert_int_equal(api_events_create(&h, NULL), OK);
  struct hash32 patient;
  memset(patient.b, 0x11, sizeof(patient.b));
  struct api_sub *all = NULL;
  struct api_sub *one = NULL;
  assert_int_equal(api_events_subscribe(h, NULL, &all), OK);
  assert_int_equal(api_events_subscribe(h, &patient, &one), OK);
  struct block *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  b->header.chain_id = (struct bytes){(const uint8_t *)"api-test", 8};
  b->header.height = 5;
  b->header.time_ms = 1234;
  api_events_on_commit(h, b, NULL);
  char got[4096];
  assert_int_equal(events_drain(all, got, sizeof(got)), 0);
  assert_true(strncmp(got, "retry: 2000\n\nid: 5:0\nevent: block\ndata: {\"height\":5,", 50) == 0);
  assert_non_null(strstr(got, "\"time_ms\":1234,\"tx_count\":0}\n\n"));
  events_drain(one, got, sizeof(got));
  assert_non_null(strstr(got, "event: block"));
  /* Small reads split an event without losing bytes. */
  api_events_on_commit(h, b, NULL);
  char part[8];
  assert_int_equal(api_events_read(all, part, sizeof(part), 0), (ssize_t)sizeof(part));
  assert_memory_equal(part, "id: 5:0\n", sizeof(part));
  events_drain(all, got, sizeof(got));
  assert_true(strncmp(got, "event: block\n", 13) == 0);
  /* A reader that falls a whole ring behind gets the notice, then the end. */
  for (uint32_t i = 0; i <= API_EVENTS_BACKLOG; i++) {
    api_events_on_commit(h, b, NULL);
  }
  assert_int_equal(events_drain(one, got, sizeof(got)), -1);
  assert_string_equal(got, "event: overflow\ndata: {}\n\n");
  api_events_unsubscribe(one);
  api_events_stop(h);
  assert_int_equal(api_events_read(all, got, sizeof(got), 0), -1);
  api_events_unsubscribe(all);
  assert_int_equal(api_events_subscribe(h, NULL, &all), ERR_UNAVAILABLE);
  assert_int_equal(api_events_subscribers(h), 0);
  api_events_destroy(h);
  free(b);
}

static void test_events_limit(void **state) {
  (void)state;
  struct api_events *h = NULL;
  assert_int_equal(api_events_create(&h, NULL), OK);
  struct api_sub *subs[API_EVENTS_SUBSCRIBERS_MAX];
  for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
    assert_int_equal(api_events_subscribe(h, NULL, &subs[i]), OK);
  }
  struct api_sub *extra = NULL;
  assert_int_equal(api_events_subscribe(h, NULL, &extra), ERR_UNAVAILABLE);
  assert_null(extra);
  api_events_unsubscribe(subs[3]);
  assert_int_equal(api_events_subscribe(h, NULL, &subs[3]), OK);
  for (size_t i = 0; i < ARRAY_LEN(subs); i++) {
    api_events_unsubscribe(subs[i]);
  }
  api_events_destroy(h);
}

static void test_events_consent_change(void **state) {
  (void)state;
  const char *c = "consent";
  const char *g = "grant";
  const struct ctr_method *m = ctr_method_find((struct bytes){(const uint8_t *)c, strlen(c)},
                                               (struct bytes){(const uint8_t *)g, strlen(g)});
  assert_non_null(m);
  char pat[80];
  char gra[80];
  snprintf(pat, sizeof(pat), "patient=%064d", 1);
  snprintf(gra, sizeof(gra), "grantee=%064d", 2);
  char *argv[] = {pat, gra, "scope=category", "category=cardiology", "expires_ms=99"};
  uint8_t args[LIM_ARGS_MAX];
  size_t args_len = 0;
  char err[128];
  assert_int_equal(api_args_from_strings(m->args, (int)ARRAY_LEN(argv), argv, args, sizeof(args),
                                         &args_len, err, sizeof(err)),
                   OK);
  struct tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.contract = (struct bytes){(const uint8_t *)c, strlen(c)};
  tx.method = (struct bytes){(const uint8_t *)g, strlen(g)};
  tx.args = (struct bytes){args, args_len};
  struct hash32 txh;
  memset(txh.b, 0x42, sizeof(txh.b));
  struct api_consent_change cc;
  assert_int_equal(api_consent_change(NULL, &tx, &txh, &cc), OK);
  struct hash32 want;
  cry_hash_tagged(&want, "medchain.consent.v1", txh.b, sizeof(txh.b));
  assert_memory_equal(cc.consent.b, want.b, 32);
  assert_int_equal(cc.patient.b[31], 1);
  assert_int_equal(cc.grantee.b[31], 2);
  assert_false(cc.revoked);
  tx.method = (struct bytes){(const uint8_t *)"anchor", 6};
  assert_int_equal(api_consent_change(NULL, &tx, &txh, &cc), ERR_NOT_FOUND);
}

int main(void) {
  if (cry_init() != OK) {
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_route_unknown),
      cmocka_unit_test(test_route_method),
      cmocka_unit_test(test_route_health_methods),
      cmocka_unit_test(test_route_bad_params),
      cmocka_unit_test(test_route_without_node),
      cmocka_unit_test(test_route_oversize),
      cmocka_unit_test(test_route_invalid_json),
      cmocka_unit_test(test_json_depth),
      cmocka_unit_test(test_metrics_counts),
      cmocka_unit_test(test_args_each_type),
      cmocka_unit_test(test_args_errors),
      cmocka_unit_test(test_args_keystore),
      cmocka_unit_test(test_record_json),
      cmocka_unit_test(test_json_lookup_pretty),
      cmocka_unit_test(test_client_unreachable),
      cmocka_unit_test_setup_teardown(test_end_to_end, e2e_setup, e2e_teardown),
      cmocka_unit_test(test_request_digest_vectors),
      cmocka_unit_test(test_protected_routes_without_node),
      cmocka_unit_test(test_events_format),
      cmocka_unit_test(test_events_route),
      cmocka_unit_test(test_events_hub),
      cmocka_unit_test(test_events_limit),
      cmocka_unit_test(test_events_consent_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
