/*
 * query — reads through a node's HTTP API and prints the JSON.
 *
 *   medchain query --node URL [--json] PATH            any GET route, e.g. /v1/status
 *   medchain query --node URL status | block H | tx HASH | identity ID | org ID
 *   medchain query --node URL consents --patient ID | records --patient ID
 *   medchain query --node URL audit --patient ID | audit --record ID
 *   medchain query --node URL orgs | validators | methods | consents --grantee ID
 *   medchain query methods                             without a node: this binary's table
 *   ... --key FILE [--chain-id ID]                     sign the request (docs/api.md)
 *
 * Consents, records and audit entries are answered only to a signed
 * request: --key names the reader's keystore (a protected one takes
 * MEDCHAIN_PASSPHRASE, as `medchain tx` does); the chain id comes from
 * --chain-id or, when absent, from the node's /v1/status. Two options are
 * for tests only and left out of the usage text: --timestamp-ms N signs
 * with that time instead of now (an expired request), --nonce HEX with that
 * 16-byte nonce instead of a random one (a replayed request).
 *
 * --print-headers signs the GET and prints its four header lines instead of
 * sending it, for clients that hold the connection themselves; with
 * --count N it prints N such sets, each with a fresh nonce and the current
 * time and each followed by a blank line, for load generators that must
 * send every request once (bench/http-reads).
 *
 * The short forms only build a path (after checking that ids are 64 hex
 * digits and heights numbers, so a typo never becomes a strange URL); the
 * answer is printed re-indented for people, or exactly as received with
 * --json. An error answer prints "medchain: CODE: message" and exits 1.
 *
 * `methods` without a node is answered from the contract table compiled
 * into this binary: exactly what `medchain tx` can build arguments for.
 */
#include "cli/cli_internal.h"

#include <stdlib.h>
#include <string.h>

struct cli_query_opts {
  const char *node;
  const char *patient;
  const char *record;
  const char *grantee;
  const char *key;
  const char *chain_id;
  const char *nonce;
  uint64_t ts_ms;
  uint64_t count; /* --print-headers sets; 0: one, without the blank line */
  bool json;
  bool print_headers;
  char *pos[3];
  size_t npos;
};

static bool cli_is_id(const char *s) {
  uint8_t b[32];
  return s != NULL && strlen(s) == 64 && base_hex_decode(b, sizeof(b), s) == OK;
}

/* Builds the route for a short form, or reports a usage error. */
static int cli_query_path(const struct cli_query_opts *o, char *path, size_t cap) {
  const char *form = o->pos[0];
  const char *arg = o->npos > 1 ? o->pos[1] : NULL;
  uint64_t h = 0;
  if (form[0] == '/' && strlen(form) < cap) {
    snprintf(path, cap, "%s", form);
  } else if (strcmp(form, "status") == 0 || strcmp(form, "methods") == 0 ||
             strcmp(form, "validators") == 0) {
    snprintf(path, cap, "/v1/%s", form);
  } else if (strcmp(form, "orgs") == 0) {
    snprintf(path, cap, "/v1/organizations");
  } else if (strcmp(form, "block") == 0 && arg != NULL && base_parse_u64(&h, arg) == OK) {
    snprintf(path, cap, "/v1/blocks/%llu", (unsigned long long)h);
  } else if (strcmp(form, "tx") == 0 && cli_is_id(arg)) {
    snprintf(path, cap, "/v1/txs/%s", arg);
  } else if (strcmp(form, "identity") == 0 && cli_is_id(arg)) {
    snprintf(path, cap, "/v1/identities/%s", arg);
  } else if (strcmp(form, "org") == 0 && cli_is_id(arg)) {
    snprintf(path, cap, "/v1/organizations/%s", arg);
  } else if ((strcmp(form, "consents") == 0 || strcmp(form, "records") == 0) &&
             cli_is_id(o->patient) && o->grantee == NULL) {
    snprintf(path, cap, "/v1/%s?patient=%s", form, o->patient);
  } else if (strcmp(form, "consents") == 0 && cli_is_id(o->grantee) && o->patient == NULL) {
    snprintf(path, cap, "/v1/consents?grantee=%s", o->grantee);
  } else if (strcmp(form, "audit") == 0 && cli_is_id(o->patient) && o->record == NULL) {
    snprintf(path, cap, "/v1/audit?patient=%s", o->patient);
  } else if (strcmp(form, "audit") == 0 && cli_is_id(o->record) && o->patient == NULL) {
    snprintf(path, cap, "/v1/audit?record=%s", o->record);
  } else {
    return cli_usage("query", "cannot read '%s'%s%s: check the form and its id or height", form,
                     arg != NULL ? " " : "", arg != NULL ? arg : "");
  }
  bool takes_arg = strcmp(form, "block") == 0 || strcmp(form, "tx") == 0 ||
                   strcmp(form, "identity") == 0 || strcmp(form, "org") == 0;
  size_t want = takes_arg ? 2 : 1;
  if (o->npos != want) {
    return cli_usage("query", "unexpected argument '%s'", o->pos[want < o->npos ? want : 0]);
  }
  return CLI_EXIT_OK;
}

static void cli_method_json(const struct ctr_method *m, bool first) {
  printf("%s\n    {\"method\": \"%s.%s\", \"who\": ", first ? "" : ",", m->contract, m->method);
  cli_json_str(stdout, m->who != NULL ? m->who : "");
  printf(", \"summary\": ");
  cli_json_str(stdout, m->summary != NULL ? m->summary : "");
  printf(", \"args\": [");
  for (uint8_t i = 0; m->args != NULL && i < m->args->nfields; i++) {
    const struct codec_field *f = &m->args->fields[i];
    printf("%s{\"name\": \"%s\", \"type\": \"%s\"", i > 0 ? ", " : "", f->name,
           codec_type_name(f->type));
    if (f->max > 0) {
      printf(", \"max\": %u", (unsigned)f->max);
    }
    printf("}");
  }
  printf("]}");
}

static void cli_method_text(const struct ctr_method *m) {
  printf("%s.%s", m->contract, m->method);
  for (uint8_t i = 0; m->args != NULL && i < m->args->nfields; i++) {
    const struct codec_field *f = &m->args->fields[i];
    printf(" %s=<%s>", f->name, codec_type_name(f->type));
  }
  printf("\n    %s (%s)\n", m->summary != NULL ? m->summary : "", m->who != NULL ? m->who : "");
}

static int cli_query_methods(bool json) {
  size_t n = ctr_method_count();
  if (json) {
    printf("{\"methods\": [");
  }
  for (size_t i = 0; i < n; i++) {
    const struct ctr_method *m = ctr_method_at(i);
    if (json) {
      cli_method_json(m, i == 0);
    } else {
      cli_method_text(m);
    }
  }
  if (json) {
    printf("\n]}\n");
  }
  return CLI_EXIT_OK;
}

/* GET path signed with o->key's keys: the chain id from --chain-id or the
 * node. Returns as api_client_get with *reported false; or, with *reported
 * true, the exit code of a failure it already reported. */
static int cli_query_signed(struct api_client *c, const struct cli_query_opts *o, const char *path,
                            struct api_response *r, bool *reported) {
  uint8_t nonce[16];
  *reported = true;
  if (o->nonce != NULL && base_hex_decode(nonce, sizeof(nonce), o->nonce) != OK) {
    return cli_usage("query", "--nonce takes 32 hex digits");
  }
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  uint64_t height = 0;
  if (o->chain_id != NULL) {
    snprintf(chain_id, sizeof(chain_id), "%s", o->chain_id);
  } else if (cli_node_status(c, &height, chain_id, sizeof(chain_id)) != OK) {
    *reported = false;
    return ERR_UNAVAILABLE;
  }
  struct cry_keys *keys = NULL;
  int rc = cli_keys_load(&keys, o->key);
  if (rc != OK) {
    return cli_fail(
        rc, "could not open the keystore %s (a protected one takes MEDCHAIN_PASSPHRASE)", o->key);
  }
  *reported = false;
  rc = api_client_get_signed_at(c, path, keys, chain_id, o->ts_ms, o->nonce != NULL ? nonce : NULL,
                                r);
  cry_keys_destroy(keys);
  return rc;
}

/* Bounds --count: a few minutes of signing, a few GB of output at most. */
#define CLI_QUERY_COUNT_MAX 10000000u

/* The chain id for --print-headers: --chain-id, else the node's. */
static int cli_query_chain_id(char *chain_id, size_t cap, const char *url,
                              const struct cli_query_opts *o) {
  if (o->chain_id != NULL) {
    snprintf(chain_id, cap, "%s", o->chain_id);
    return OK;
  }
  struct api_client *c = NULL;
  uint64_t height = 0;
  int rc = api_client_create(&c, url);
  if (rc == OK) {
    rc = cli_node_status(c, &height, chain_id, cap);
  }
  api_client_destroy(c);
  return rc;
}

/* One set of header lines for GET path, a fresh nonce and the time now. */
static int cli_query_print_set(const char *path, const struct cry_keys *keys, const char *chain_id,
                               bool blank) {
  uint8_t nonce[16];
  cry_random(nonce, sizeof(nonce));
  char lines[API_SIGNED_HEADERS][API_SIGNED_HEADER_MAX];
  int rc = api_signed_header_lines(lines, path, keys, chain_id, base_now_ms(), nonce);
  if (rc != OK) {
    return rc;
  }
  for (size_t i = 0; i < API_SIGNED_HEADERS; i++) {
    printf("%s\n", lines[i]);
  }
  if (blank) {
    printf("\n");
  }
  return OK;
}

/* --print-headers: signs GET path and prints the four header lines instead
 * of sending it, for clients that hold the connection themselves (an event
 * stream: curl -N -H ... URL/v1/events?patient=ID); --count N sets. */
static int cli_query_print_headers(const char *url, const char *path,
                                   const struct cli_query_opts *o) {
  if (o->key == NULL) {
    return cli_usage("query", "--print-headers needs --key FILE");
  }
  if (o->count > CLI_QUERY_COUNT_MAX) {
    return cli_usage("query", "--count is at most %u", (unsigned)CLI_QUERY_COUNT_MAX);
  }
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  if (cli_query_chain_id(chain_id, sizeof(chain_id), url, o) != OK) {
    return cli_fail(ERR_UNAVAILABLE, "the node cannot be reached at %s", url);
  }
  struct cry_keys *keys = NULL;
  int rc = cli_keys_load(&keys, o->key);
  if (rc != OK) {
    return cli_fail(rc, "could not open the keystore %s", o->key);
  }
  uint64_t n = o->count == 0 ? 1 : o->count;
  for (uint64_t i = 0; i < n && rc == OK; i++) {
    rc = cli_query_print_set(path, keys, chain_id, o->count > 0);
  }
  cry_keys_destroy(keys);
  if (rc != OK) {
    return cli_fail(rc, "could not sign the request");
  }
  if (fflush(stdout) != 0) {
    return cli_fail(ERR_IO, "could not write the headers");
  }
  return CLI_EXIT_OK;
}

static int cli_query_get(const char *url, const char *path, const struct cli_query_opts *o) {
  bool json = o->json;
  struct api_client *c = NULL;
  if (api_client_create(&c, url) != OK) {
    return cli_fail(ERR_USAGE, "bad node URL '%s'", url);
  }
  struct api_response r;
  memset(&r, 0, sizeof(r));
  int exit_code = CLI_EXIT_OK;
  int rc = OK;
  bool reported = false;
  if (o->key != NULL) {
    rc = cli_query_signed(c, o, path, &r, &reported);
  } else {
    rc = api_client_get(c, path, &r);
  }
  char code[64];
  char msg[256];
  if (reported) {
    exit_code = rc;
  } else if (rc != OK) {
    exit_code = cli_fail(rc, "the node cannot be reached at %s", url);
  } else if (cli_http_error(&r, code, sizeof(code), msg, sizeof(msg)) != OK) {
    if (json) {
      cli_print_body(r.body);
    }
    exit_code = cli_fail_named(code, msg);
  } else if (json) {
    cli_print_body(r.body);
  } else {
    char *pretty = api_json_pretty(r.body != NULL ? r.body : "");
    cli_print_body(pretty != NULL ? pretty : r.body);
    free(pretty);
  }
  api_response_free(&r);
  api_client_destroy(c);
  return exit_code;
}

int cli_cmd_query(int argc, char **argv) {
  struct cli_query_opts o;
  memset(&o, 0, sizeof(o));
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o.node, false},
      {"patient", CLI_OPT_STR, &o.patient, false},
      {"record", CLI_OPT_STR, &o.record, false},
      {"grantee", CLI_OPT_STR, &o.grantee, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
      {"key", CLI_OPT_STR, &o.key, false},
      {"chain-id", CLI_OPT_STR, &o.chain_id, false},
      {"print-headers", CLI_OPT_FLAG, &o.print_headers, false},
      {"count", CLI_OPT_U64, &o.count, false},
      {"timestamp-ms", CLI_OPT_U64, &o.ts_ms, false}, /* tests only */
      {"nonce", CLI_OPT_STR, &o.nonce, false},        /* tests only */
  };
  char err[256];
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, o.pos, ARRAY_LEN(o.pos), &o.npos,
                     err, sizeof(err)) != OK) {
    return cli_usage("query", "%s", err);
  }
  if (o.npos < 1) {
    return cli_usage("query", "query needs a PATH or a form such as 'status'");
  }
  const char *url = cli_node_url(o.node);
  if (url == NULL && strcmp(o.pos[0], "methods") == 0 && o.npos == 1) {
    return cli_query_methods(o.json);
  }
  if (url == NULL) {
    return cli_usage("query", "query needs --node URL (or MEDCHAIN_NODE)");
  }
  char path[512];
  int exit_code = cli_query_path(&o, path, sizeof(path));
  if (exit_code != CLI_EXIT_OK) {
    return exit_code;
  }
  if (o.count > 0 && !o.print_headers) {
    return cli_usage("query", "--count goes with --print-headers");
  }
  if (o.print_headers) {
    return cli_query_print_headers(url, path, &o);
  }
  return cli_query_get(url, path, &o);
}
