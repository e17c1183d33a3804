/*
 * Unit tests of the portal's static files (src/api/static.c) through the
 * router, without a socket or a node: the path grammar, traversal in every
 * spelling, symbolic links out of (and within) the web directory, FIFOs,
 * directories, oversize files, content types, validators and the errors'
 * stable codes. A temporary web directory is built for each run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char INDEX[] = "<!doctype html><title>portal</title>\n";
static const char APP[] = "export const x = 1;\n";

struct fixture {
  char root[64]; /* the temporary directory: web/ and outside/ in it */
  char web[96];
};

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static void path_join(char *out, size_t cap, const char *a, const char *b) {
  int n = snprintf(out, cap, "%s/%s", a, b);
  assert_true(n > 0 && (size_t)n < cap);
}

/* web/index.html, web/assets/{app.js,notes.txt,run.exe,big.js,fifo.js,
 * dir.js/,js/deep.js}, links out (escape.txt, out/) and in (inner.js), and
 * outside/secret.txt beside web/. */
static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  snprintf(f->root, sizeof(f->root), "/tmp/medchain-static-XXXXXX");
  assert_non_null(mkdtemp(f->root));
  path_join(f->web, sizeof(f->web), f->root, "web");
  char p[256];
  assert_int_equal(mkdir(f->web, 0700), 0);
  path_join(p, sizeof(p), f->web, "index.html");
  write_file(p, INDEX);
  path_join(p, sizeof(p), f->web, "assets");
  assert_int_equal(mkdir(p, 0700), 0);
  path_join(p, sizeof(p), f->web, "assets/js");
  assert_int_equal(mkdir(p, 0700), 0);
  path_join(p, sizeof(p), f->web, "assets/js/deep.js");
  write_file(p, APP);
  path_join(p, sizeof(p), f->web, "assets/app.js");
  write_file(p, APP);
  path_join(p, sizeof(p), f->web, "assets/notes.txt");
  write_file(p, "notes\n");
  path_join(p, sizeof(p), f->web, "assets/run.exe");
  write_file(p, "MZ\n");
  path_join(p, sizeof(p), f->web, "assets/big.js");
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)LIM_HTTP_FILE_MAX + 1), 0);
  close(fd);
  path_join(p, sizeof(p), f->web, "assets/fifo.js");
  assert_int_equal(mkfifo(p, 0600), 0);
  path_join(p, sizeof(p), f->web, "assets/dir.js");
  assert_int_equal(mkdir(p, 0700), 0);
  path_join(p, sizeof(p), f->root, "outside");
  assert_int_equal(mkdir(p, 0700), 0);
  path_join(p, sizeof(p), f->root, "outside/secret.txt");
  write_file(p, "secret\n");
  path_join(p, sizeof(p), f->web, "assets/escape.txt");
  assert_int_equal(symlink("../../outside/secret.txt", p), 0);
  path_join(p, sizeof(p), f->web, "assets/passwd.txt");
  assert_int_equal(symlink("/etc/passwd", p), 0);
  path_join(p, sizeof(p), f->web, "assets/out");
  assert_int_equal(symlink("../../outside", p), 0);
  path_join(p, sizeof(p), f->web, "assets/inner.js");
  assert_int_equal(symlink("app.js", p), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static struct api_reply get_m(struct api_metrics *m, const char *web, const char *method,
                              const char *path, const char *inm) {
  struct api_request req = {.method = method, .path = path, .web_dir = web, .if_none_match = inm};
  struct api_reply rep;
  api_route(NULL, m, &req, &rep);
  assert_non_null(rep.body);
  assert_int_equal(strlen(rep.body), rep.len);
  return rep;
}

static struct api_reply get(const char *web, const char *path) {
  return get_m(NULL, web, "GET", path, NULL);
}

static void expect_error(struct api_reply rep, int status, const char *code) {
  char got[256];
  assert_int_equal(rep.status, status);
  assert_string_equal(rep.content_type, "application/json");
  assert_false(rep.file.open);
  assert_int_equal(api_json_lookup(rep.body, "error.code", got, sizeof(got)), OK);
  assert_string_equal(got, code);
  assert_int_equal(api_json_lookup(rep.body, "error.message", got, sizeof(got)), OK);
  assert_true(strlen(got) > 0);
  api_reply_free(&rep);
}

/* The reply is the file with this content and type. */
static void expect_file(struct api_reply rep, const char *type, const char *content) {
  assert_int_equal(rep.status, 200);
  assert_string_equal(rep.content_type, type);
  assert_true(rep.file.portal && rep.file.open);
  assert_int_equal(rep.file.len, strlen(content));
  assert_true(rep.file.etag[0] == '"');
  char buf[128] = {0};
  assert_int_equal(pread(rep.file.fd, buf, sizeof(buf) - 1, 0), (ssize_t)strlen(content));
  assert_string_equal(buf, content);
  api_reply_free(&rep);
  assert_false(rep.file.open);
}

/* ---- the path grammar ------------------------------------------------------------ */

static void test_static_path_grammar(void **state) {
  (void)state;
  char rel[API_STATIC_PATH_MAX + 1];
  assert_int_equal(api_static_path(rel, sizeof(rel), "/"), OK);
  assert_string_equal(rel, "index.html");
  assert_int_equal(api_static_path(rel, sizeof(rel), "/assets/js/main.js"), OK);
  assert_string_equal(rel, "assets/js/main.js");
  assert_int_equal(api_static_path(rel, sizeof(rel), "/assets/vendor/sodium-sumo.mjs"), OK);
  assert_int_equal(api_static_path(rel, sizeof(rel), "/assets/a_b-c.d.css"), OK);

  static const char *const bad[] = {
      "/assets/",
      "/assets/../index.html",
      "/assets/../../etc/passwd",
      "/assets/js/../../../etc/passwd",
      "/assets/./app.js",
      "/assets/..",
      "/assets/.hidden.js",
      "/assets/js/.git",
      "/assets//app.js",
      "/assets/app.js/",
      "/assets/%2e%2e/%2e%2e/etc/passwd",
      "/assets/..%2f..%2fetc%2fpasswd",
      "/assets/%2fetc%2fpasswd",
      "/assets/app%00.js",
      "/assets/..\\..\\etc\\passwd",
      "/assets/a\\b.js",
      "/assets/a b.js",
      "/assets/app.js?x",
      "/assets/caf\xc3\xa9.js",
      "/assets/a/b/c/d/e/f/g/h/i.js",
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(api_static_path(rel, sizeof(rel), bad[i]), ERR_BAD_REQUEST);
    assert_string_equal(rel, "");
  }
  char longer[API_STATIC_PATH_MAX + 16];
  memset(longer, 'a', sizeof(longer) - 1);
  longer[sizeof(longer) - 1] = '\0';
  memcpy(longer, "/assets/", 8);
  assert_int_equal(api_static_path(rel, sizeof(rel), longer), ERR_BAD_REQUEST);

  static const char *const other[] = {
      "",           "/index.html",       "/etc/passwd",   "//assets/app.js", "/assets",
      "/v1/status", "/../assets/app.js", "assets/app.js", "/ASSETS/app.js",  "/favicon.ico",
  };
  for (size_t i = 0; i < ARRAY_LEN(other); i++) {
    assert_int_equal(api_static_path(rel, sizeof(rel), other[i]), ERR_ROUTE);
  }
}

static void test_static_types(void **state) {
  (void)state;
  assert_string_equal(api_static_type("index.html"), "text/html; charset=utf-8");
  assert_string_equal(api_static_type("assets/js/main.js"), "text/javascript; charset=utf-8");
  assert_string_equal(api_static_type("assets/v/sodium.mjs"), "text/javascript; charset=utf-8");
  assert_string_equal(api_static_type("assets/css/portal.css"), "text/css; charset=utf-8");
  assert_string_equal(api_static_type("assets/icon.svg"), "image/svg+xml");
  assert_null(api_static_type("assets/run.exe"));
  assert_null(api_static_type("assets/noext"));
  assert_null(api_static_type("assets/x.HTML"));
  assert_null(api_static_type("assets/js.d/file"));
  assert_null(api_static_type("assets/app.js.bak"));
}

static void test_static_etag_match(void **state) {
  (void)state;
  const char *tag = "\"1a-5f.0-99\"";
  assert_true(api_static_etag_match("\"1a-5f.0-99\"", tag));
  assert_true(api_static_etag_match("W/\"1a-5f.0-99\"", tag));
  assert_true(api_static_etag_match("\"x\", \"1a-5f.0-99\" ", tag));
  assert_true(api_static_etag_match("*", tag));
  assert_false(api_static_etag_match(NULL, tag));
  assert_false(api_static_etag_match("", tag));
  assert_false(api_static_etag_match("\"1a-5f.0-9\"", tag));
  assert_false(api_static_etag_match("\"1a-5f.0-99\"x", tag));
  assert_false(api_static_etag_match(",,, ,", tag));
}

/* ---- through the router ------------------------------------------------------------ */

static void test_static_serves(void **state) {
  struct fixture *f = *state;
  expect_file(get(f->web, "/"), "text/html; charset=utf-8", INDEX);
  expect_file(get(f->web, "/assets/app.js"), "text/javascript; charset=utf-8", APP);
  expect_file(get(f->web, "/assets/js/deep.js"), "text/javascript; charset=utf-8", APP);
  expect_file(get(f->web, "/assets/notes.txt"), "text/plain; charset=utf-8", "notes\n");
  expect_file(get_m(NULL, f->web, "HEAD", "/", NULL), "text/html; charset=utf-8", INDEX);
  /* The API's routes are never files, and keep answering as they did. */
  expect_error(get(f->web, "/v1/status"), 503, "UNAVAILABLE");
  expect_error(get(f->web, "/nope"), 404, "ROUTE_NOT_FOUND");
  expect_error(get(f->web, "/index.html"), 404, "ROUTE_NOT_FOUND");
  /* Without a web directory there is no portal. */
  expect_error(get(NULL, "/"), 404, "ROUTE_NOT_FOUND");
  expect_error(get(NULL, "/assets/app.js"), 404, "ROUTE_NOT_FOUND");
}

static void test_static_refuses(void **state) {
  struct fixture *f = *state;
  static const char *const malformed[] = {
      "/assets/../index.html",
      "/assets/../../outside/secret.txt",
      "/assets/%2e%2e/%2e%2e/outside/secret.txt",
      "/assets/..%2F..%2Foutside%2Fsecret.txt",
      "/assets/.%2e/index.html",
      "/assets/..\\..\\outside\\secret.txt",
      "/assets//app.js",
      "/assets/.hidden.js",
      "/assets/",
  };
  for (size_t i = 0; i < ARRAY_LEN(malformed); i++) {
    expect_error(get(f->web, malformed[i]), 400, "BAD_REQUEST");
  }
  static const char *const absent[] = {
      "/assets/missing.js",     /* no such file */
      "/assets/run.exe",        /* not a portal type */
      "/assets/big.js",         /* over LIM_HTTP_FILE_MAX */
      "/assets/fifo.js",        /* a FIFO: refused without blocking */
      "/assets/dir.js",         /* a directory */
      "/assets/escape.txt",     /* a link out of the web directory */
      "/assets/passwd.txt",     /* an absolute link */
      "/assets/out/secret.txt", /* through a linked directory */
      "/assets/inner.js",       /* a link, even one that stays inside */
      "/assets/app.js/x.js",    /* a file used as a directory */
  };
  for (size_t i = 0; i < ARRAY_LEN(absent); i++) {
    expect_error(get(f->web, absent[i]), 404, "NOT_FOUND");
  }
  expect_error(get_m(NULL, f->web, "POST", "/", NULL), 405, "METHOD_NOT_ALLOWED");
  expect_error(get_m(NULL, f->web, "DELETE", "/assets/app.js", NULL), 405, "METHOD_NOT_ALLOWED");
  /* A web directory that does not exist: the portal is simply absent. */
  expect_error(get("/nonexistent/medchain-web", "/"), 404, "NOT_FOUND");
  char file[160];
  path_join(file, sizeof(file), f->web, "index.html");
  expect_error(get(file, "/"), 404, "NOT_FOUND"); /* a file, not a directory */
}

static void test_static_revalidation(void **state) {
  struct fixture *f = *state;
  struct api_reply first = get(f->web, "/assets/app.js");
  assert_int_equal(first.status, 200);
  char etag[API_ETAG_MAX];
  memcpy(etag, first.file.etag, sizeof(etag));
  api_reply_free(&first);

  struct api_reply again = get_m(NULL, f->web, "GET", "/assets/app.js", etag);
  assert_int_equal(again.status, 304);
  assert_false(again.file.open);
  assert_true(again.file.portal);
  assert_string_equal(again.file.etag, etag);
  assert_int_equal(again.len, 0);
  api_reply_free(&again);

  struct api_reply other = get_m(NULL, f->web, "GET", "/assets/app.js", "\"stale\"");
  expect_file(other, "text/javascript; charset=utf-8", APP);
}

static void count_static(void *ctx, const char *route, int status, uint64_t count) {
  uint64_t *seen = ctx;
  if (strcmp(route, "static") == 0) {
    seen[status == 200 ? 0 : status == 400 ? 1 : status == 404 ? 2 : 3] += count;
  }
}

static void test_static_metrics(void **state) {
  struct fixture *f = *state;
  struct api_metrics *m = calloc(1, sizeof(*m));
  assert_non_null(m);
  api_metrics_init(m);
  struct api_reply rep = get_m(m, f->web, "GET", "/", NULL);
  api_reply_free(&rep);
  rep = get_m(m, f->web, "GET", "/assets/../x.js", NULL);
  api_reply_free(&rep);
  rep = get_m(m, f->web, "GET", "/assets/missing.js", NULL);
  api_reply_free(&rep);
  uint64_t seen[4] = {0};
  api_metrics_each(m, count_static, seen);
  assert_int_equal(seen[0], 1);
  assert_int_equal(seen[1], 1);
  assert_int_equal(seen[2], 1);
  assert_int_equal(seen[3], 0);
  free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_static_path_grammar),
      cmocka_unit_test(test_static_types),
      cmocka_unit_test(test_static_etag_match),
      cmocka_unit_test_setup_teardown(test_static_serves, setup, teardown),
      cmocka_unit_test_setup_teardown(test_static_refuses, setup, teardown),
      cmocka_unit_test_setup_teardown(test_static_revalidation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_static_metrics, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
