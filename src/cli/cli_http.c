/*
 * cli_http — the CLI's side of the HTTP API: which node to talk to, and
 * turning the API's error documents ({"error":{"code","message"}}) back
 * into the same stable codes the CLI prints for its own errors, so a
 * script sees one vocabulary whether a failure happened here or on the
 * node.
 */
#include "cli/cli_internal.h"

#include <stdlib.h>
#include <string.h>

const char *cli_node_url(const char *opt) {
  if (opt != NULL) {
    return opt;
  }
  const char *env = getenv("MEDCHAIN_NODE");
  if (env != NULL && env[0] != '\0') {
    return env;
  }
  return NULL;
}

int cli_http_error(const struct api_response *r, char *code, size_t ccap, char *msg, size_t mcap) {
  if (r->status >= 200 && r->status < 400) {
    return OK;
  }
  if (r->status == 0) {
    snprintf(code, ccap, "%s", err_name(ERR_UNAVAILABLE));
    snprintf(msg, mcap, "%s", "the node cannot be reached");
    return ERR_UNAVAILABLE;
  }
  const char *body = r->body != NULL ? r->body : "";
  if (api_json_lookup(body, "error.code", code, ccap) != OK) {
    snprintf(code, ccap, "HTTP_%ld", r->status);
  }
  if (api_json_lookup(body, "error.message", msg, mcap) != OK) {
    snprintf(msg, mcap, "the node answered HTTP %ld", r->status);
  }
  int err = err_from_name(code);
  return err > OK ? err : ERR_INTERNAL;
}

int cli_http_get_ok(struct api_client *c, const char *path, struct api_response *r) {
  memset(r, 0, sizeof(*r));
  int rc = api_client_get(c, path, r);
  if (rc != OK) {
    api_response_free(r);
    (void)cli_fail(rc, "the node cannot be reached");
    return rc;
  }
  char code[64];
  char msg[256];
  rc = cli_http_error(r, code, sizeof(code), msg, sizeof(msg));
  if (rc != OK) {
    (void)cli_fail_named(code, msg);
    api_response_free(r);
  }
  return rc;
}

void cli_print_body(const char *body) {
  if (body == NULL) {
    return;
  }
  size_t len = strlen(body);
  while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r')) {
    len--;
  }
  fwrite(body, 1, len, stdout);
  fputc('\n', stdout);
}

int cli_json_u64(const char *body, const char *path, uint64_t *out) {
  char buf[32];
  if (body == NULL || api_json_lookup(body, path, buf, sizeof(buf)) != OK) {
    return ERR_NOT_FOUND;
  }
  return base_parse_u64(out, buf) == OK ? OK : ERR_MALFORMED;
}

int cli_node_status(struct api_client *c, uint64_t *height, char *chain_id, size_t ccap) {
  struct api_response r;
  memset(&r, 0, sizeof(r));
  int rc = api_client_get(c, "/v1/status", &r);
  if (rc == OK && (r.status < 200 || r.status >= 300)) {
    rc = r.status == 0 ? ERR_UNAVAILABLE : ERR_INTERNAL;
  }
  if (rc == OK) {
    rc = cli_json_u64(r.body, "height", height);
  }
  if (rc == OK && chain_id != NULL && api_json_lookup(r.body, "chain_id", chain_id, ccap) != OK) {
    rc = ERR_MALFORMED;
  }
  api_response_free(&r);
  return rc;
}
