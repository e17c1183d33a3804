/*
 * libFuzzer target: the portal's path check and file serving
 * (src/api/static.c) through the router, without a socket or a node.
 *
 * Input: the raw request path (up to the first NUL), asked with GET of a
 * web directory built on the first run: index.html, assets/app.js, and
 * next to them the ways out a bad check would take: a link to a file
 * outside, a linked directory, a secret file beside the web directory.
 *
 * Whatever the input: an accepted path maps to "index.html" or
 * "assets/..." with no "." or ".." segment, no '%', '\\' or empty segment;
 * a reply with a file holds a regular file inside the web directory (its
 * real path, read back from /proc, starts with the directory's) that is
 * never the secret; every other reply is a JSON error whose stable code
 * maps to its status (under /fhir, an OperationOutcome carrying it).
 */
#include "api/api_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[] = "/tmp/medchain-fuzz-static-XXXXXX";
static char web[PATH_MAX]; /* realpath of the web directory, then "/" */
static size_t web_len;

/* Removes the fixture when the fuzzer exits. */
static void fixture_remove(void) {
  static const char *const names[] = {"web/assets/up",
                                      "web/assets/out.txt",
                                      "web/assets/app.js",
                                      "web/index.html",
                                      "secret.txt",
                                      "web/assets",
                                      "web"};
  char p[PATH_MAX];
  for (size_t i = 0; i < ARRAY_LEN(names); i++) {
    snprintf(p, sizeof(p), "%s/%s", root, names[i]);
    if (unlink(p) != 0) {
      rmdir(p);
    }
  }
  rmdir(root);
}

static void put(const char *dir, const char *name, const char *text) {
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
    abort();
  }
}

static void fixture(void) {
  if (mkdtemp(root) == NULL || atexit(fixture_remove) != 0) {
    abort();
  }
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/web", root);
  if (mkdir(p, 0700) != 0 || realpath(p, web) == NULL) {
    abort();
  }
  put(web, "index.html", "<!doctype html>\n");
  snprintf(p, sizeof(p), "%s/assets", web);
  if (mkdir(p, 0700) != 0) {
    abort();
  }
  put(p, "app.js", "1;\n");
  put(root, "secret.txt", "secret\n");
  snprintf(p, sizeof(p), "%s/assets/out.txt", web);
  if (symlink("../../secret.txt", p) != 0) {
    abort();
  }
  snprintf(p, sizeof(p), "%s/assets/up", web);
  if (symlink("../..", p) != 0) {
    abort();
  }
  web_len = strlen(web);
  web[web_len++] = '/';
  web[web_len] = '\0';
}

static void check_rel(const char *rel) {
  if (strcmp(rel, "index.html") != 0 && strncmp(rel, "assets/", 7) != 0) {
    abort();
  }
  if (strstr(rel, "//") != NULL || strchr(rel, '%') != NULL || strchr(rel, '\\') != NULL ||
      strstr(rel, "/.") != NULL || rel[strlen(rel) - 1] == '/') {
    abort();
  }
}

static void check_file(const struct api_reply *rep) {
  char link[64];
  char real[PATH_MAX];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", rep->file.fd);
  ssize_t n = readlink(link, real, sizeof(real) - 1);
  struct stat st;
  if (n <= 0 || fstat(rep->file.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    abort();
  }
  real[n] = '\0';
  if (strncmp(real, web, web_len) != 0 || strstr(real, "secret") != NULL) {
    abort();
  }
}

/* A JSON error whose stable code maps to its status; under /fhir the
 * FHIR facade's OperationOutcome, which carries the same code. */
static void check_error(const struct api_reply *rep, const char *path) {
  char code[64];
  bool fhir = strcmp(path, "/fhir") == 0 || strncmp(path, "/fhir/", 6) == 0;
  const char *ctype = fhir ? "application/fhir+json" : "application/json";
  const char *where = fhir ? "issue.0.details.coding.0.code" : "error.code";
  if (strcmp(rep->content_type, ctype) != 0 ||
      api_json_lookup(rep->body, where, code, sizeof(code)) != OK) {
    abort();
  }
  int err = err_from_name(code);
  if (err < 0 || err_http_status(err) != rep->status) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (web_len == 0) {
    fixture();
  }
  char *path = malloc(size + 1);
  if (path == NULL) {
    abort();
  }
  memcpy(path, data, size);
  path[size] = '\0';
  char rel[API_STATIC_PATH_MAX + 1];
  int rc = api_static_path(rel, sizeof(rel), path);
  if (rc == OK) {
    check_rel(rel);
  } else if (rc != ERR_ROUTE && rc != ERR_BAD_REQUEST) {
    abort();
  }
  web[web_len - 1] = '\0'; /* the directory itself, without its slash */
  struct api_request req = {.method = "GET", .path = path, .web_dir = web};
  struct api_reply rep;
  api_route(NULL, NULL, &req, &rep);
  web[web_len - 1] = '/';
  if (rep.body == NULL || strlen(rep.body) != rep.len) {
    abort();
  }
  if (rep.file.open) {
    if (rc != OK || rep.status != 200) {
      abort();
    }
    check_file(&rep);
  } else if (rep.status >= 400) {
    check_error(&rep, path);
  }
  api_reply_free(&rep);
  free(path);
  return 0;
}
