/*
 * drugs and epcis — the supply chain from the command line.
 *
 *   medchain drugs verify --node URL (--scan STRING | --gtin G --serial S
 *                         [--lot L] [--expiry YYMMDD]) [--json]
 *   medchain drugs history --node URL --gtin G --serial S [--json]
 *   medchain drugs holders --node URL --gtin G --lot L [--json]
 *   medchain epcis capture --node URL --key FILE --file DOC [--json]
 *
 * verify answers the pharmacist's question for a package in hand (a
 * scanned DataMatrix string is read by gs1 first: its GTIN, serial, lot
 * and expiry); history lists a serial's events through its cases; holders
 * lists who holds a lot now. capture posts an EPCIS 2.0 JSON document,
 * signed as FILE's identity, to the node of that identity's organization,
 * which submits its events with the organization's operator key. Answers
 * print as the node's JSON (the API's documents are the format).
 */
#include "cli/cli_internal.h"
#include "gs1/gs1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Percent-encodes s into out for a query value or path segment. */
static void pct(char *out, size_t cap, const char *s) {
  size_t o = 0;
  for (; *s != '\0' && o + 4 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '.' || ch == '_';
    if (plain) {
      out[o++] = (char)ch;
    } else {
      o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
  }
  out[o] = '\0';
}

static int get_print(const char *url, const char *path) {
  struct api_client *c = NULL;
  if (api_client_create(&c, url) != OK) {
    return cli_fail(ERR_NOMEM, NULL);
  }
  struct api_response r;
  int rc = cli_http_get_ok(c, path, &r);
  if (rc == OK) {
    cli_print_body(r.body);
    api_response_free(&r);
  }
  api_client_destroy(c);
  return cli_exit_code(rc);
}

struct drugs_opts {
  const char *node;
  const char *scan;
  const char *gtin;
  const char *serial;
  const char *lot;
  const char *expiry;
  bool json;
};

static int drugs_verify(const char *url, const struct drugs_opts *o) {
  struct gs1_element e;
  memset(&e, 0, sizeof(e));
  if (o->scan != NULL) {
    int rc = gs1_element_parse(&e, o->scan, strlen(o->scan));
    if (rc != OK) {
      return cli_fail(rc, rc == ERR_GS1_CHECK_DIGIT ? "wrong check digit in the scanned GTIN"
                                                    : "not a GS1 element string or Digital Link");
    }
  } else {
    if (o->gtin == NULL || o->serial == NULL) {
      return cli_usage("drugs", "verify needs --scan, or --gtin and --serial");
    }
    snprintf(e.gtin, sizeof(e.gtin), "%s", o->gtin);
    snprintf(e.serial, sizeof(e.serial), "%s", o->serial);
    snprintf(e.lot, sizeof(e.lot), "%s", o->lot != NULL ? o->lot : "");
    snprintf(e.expiry_raw, sizeof(e.expiry_raw), "%s", o->expiry != NULL ? o->expiry : "");
  }
  char g[64], s[96], l[96], path[512];
  pct(g, sizeof(g), e.gtin);
  pct(s, sizeof(s), e.serial);
  pct(l, sizeof(l), e.lot);
  int n = snprintf(path, sizeof(path), "/v1/drugs/verify?gtin=%s&serial=%s", g, s);
  if (e.lot[0] != '\0') {
    n += snprintf(path + n, sizeof(path) - (size_t)n, "&lot=%s", l);
  }
  if (e.expiry_raw[0] != '\0') {
    snprintf(path + n, sizeof(path) - (size_t)n, "&expiry=%s", e.expiry_raw);
  }
  return get_print(url, path);
}

int cli_cmd_drugs(int argc, char **argv) {
  struct drugs_opts o = {0};
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o.node, false},  {"scan", CLI_OPT_STR, &o.scan, false},
      {"gtin", CLI_OPT_STR, &o.gtin, false},  {"serial", CLI_OPT_STR, &o.serial, false},
      {"lot", CLI_OPT_STR, &o.lot, false},    {"expiry", CLI_OPT_STR, &o.expiry, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 1, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("drugs", "%s", err);
  }
  const char *url = cli_node_url(o.node);
  if (npos != 1 || url == NULL) {
    return cli_usage("drugs", "expected verify, history or holders, and --node URL");
  }
  if (strcmp(pos[0], "verify") == 0) {
    return drugs_verify(url, &o);
  }
  const char *second = strcmp(pos[0], "history") == 0 ? o.serial : o.lot;
  if ((strcmp(pos[0], "history") != 0 && strcmp(pos[0], "holders") != 0) || o.gtin == NULL ||
      second == NULL) {
    return cli_usage("drugs", "history needs --gtin and --serial, holders --gtin and --lot");
  }
  char g[64], t[96], path[256];
  pct(g, sizeof(g), o.gtin);
  pct(t, sizeof(t), second);
  if (strcmp(pos[0], "history") == 0) {
    snprintf(path, sizeof(path), "/v1/drugs/%s/%s/history", g, t);
  } else {
    snprintf(path, sizeof(path), "/v1/drugs/lots/%s/%s/holders", g, t);
  }
  return get_print(url, path);
}

/* Reads a whole file of at most cap bytes into a malloc'd buffer. */
static int file_read(const char *path, size_t cap, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return ERR_IO;
  }
  char *buf = malloc(cap + 1);
  size_t n = buf != NULL ? fread(buf, 1, cap + 1, f) : 0;
  bool err = ferror(f) != 0;
  fclose(f);
  if (buf == NULL || err || n > cap) {
    free(buf);
    return buf == NULL ? ERR_NOMEM : (err ? ERR_IO : ERR_OVERSIZE);
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return OK;
}

static int capture_post(const char *url, const char *keyfile, const char *body, size_t len) {
  struct api_client *c = NULL;
  if (api_client_create(&c, url) != OK) {
    return cli_fail(ERR_NOMEM, NULL);
  }
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  uint64_t height = 0;
  struct cry_keys *keys = NULL;
  int rc = cli_node_status(c, &height, chain_id, sizeof(chain_id));
  if (rc != OK) {
    api_client_destroy(c);
    return cli_fail(rc, "the node cannot be reached");
  }
  rc = cli_keys_load(&keys, keyfile);
  if (rc != OK) {
    api_client_destroy(c);
    return cli_fail(rc, "could not open the keystore %s", keyfile);
  }
  struct api_response r;
  rc = api_client_send_signed(c, "POST", "/v1/epcis/capture", "application/json",
                              (const uint8_t *)body, len, NULL, keys, chain_id, &r);
  cry_keys_destroy(keys);
  api_client_destroy(c);
  if (rc != OK) {
    return cli_fail(rc, "the node cannot be reached");
  }
  cli_print_body(r.body); /* the per-event results, also on a refusal */
  char code[64];
  char msg[256];
  rc = cli_http_error(&r, code, sizeof(code), msg, sizeof(msg));
  if (rc != OK) {
    (void)cli_fail_named(code, msg);
  }
  api_response_free(&r);
  return cli_exit_code(rc);
}

int cli_cmd_epcis(int argc, char **argv) {
  const char *node = NULL;
  const char *key = NULL;
  const char *file = NULL;
  bool json = false;
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &node, false},
      {"key", CLI_OPT_STR, &key, false},
      {"file", CLI_OPT_STR, &file, false},
      {"json", CLI_OPT_FLAG, &json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 1, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("epcis", "%s", err);
  }
  const char *url = cli_node_url(node);
  if (npos != 1 || strcmp(pos[0], "capture") != 0 || url == NULL || key == NULL || file == NULL) {
    return cli_usage("epcis", "expected: capture --node URL --key FILE --file DOC");
  }
  char *body = NULL;
  size_t len = 0;
  int rc = file_read(file, LIM_HTTP_BODY_MAX, &body, &len);
  if (rc != OK) {
    return cli_fail(rc, "could not read %s (at most %u bytes)", file, LIM_HTTP_BODY_MAX);
  }
  rc = capture_post(url, key, body, len);
  free(body);
  return rc;
}
