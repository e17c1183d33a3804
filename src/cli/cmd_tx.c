/*
 * tx — signs one contract call and submits it to a node.
 *
 *   medchain tx --node URL --key FILE [--sender ID] [--nonce N] [--chain-id ID]
 *               [--no-wait] [--print-only] [--json] CONTRACT.METHOD [name=value ...]
 *
 * The arguments are built from the method's schema (the contracts' table)
 * by api_args_from_strings, so the CLI knows no method by name. The chain
 * id comes from the node's /v1/status and the nonce from the sender's
 * /v1/identities/{id} unless given; with both given and --print-only the
 * command needs no node at all and prints the signed transaction's hex
 * (fixtures, offline signing). The sender is the identity the node says
 * the keystore's key belongs to (GET /v1/keys/{pk}: an identity that
 * rotated its key keeps the id of its first key), or --sender when given,
 * or, with no node, the id the key has as a first key.
 *
 * Exit status: 0 when the transaction committed with result OK (or was
 * accepted, with --no-wait); 1 when the node rejected it or its result is
 * an error; 2 for a malformed command line, unknown method or bad
 * arguments. The key never leaves crypto's memory; only ids and hashes are
 * printed.
 */
#include "cli/cli_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define CLI_TX_ARGS_MAX 64

/* As cli_tx_make, with the sender given (NULL: the id of k's key). */
static int cli_tx_make_as(const struct cry_keys *k, const struct hash32 *sender,
                          const char *chain_id, uint64_t nonce, const struct ctr_method *m,
                          const uint8_t *args, size_t args_len, uint8_t *out, size_t cap,
                          size_t *out_len) {
  assert(k != NULL && m != NULL);
  struct tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.chain_id = (struct bytes){(const uint8_t *)chain_id, strlen(chain_id)};
  cry_keys_sign_pk(k, &tx.pubkey);
  if (sender != NULL) {
    tx.sender = *sender;
  } else {
    cry_id_from_pk(&tx.sender, &tx.pubkey);
  }
  tx.nonce = nonce;
  tx.contract = (struct bytes){(const uint8_t *)m->contract, strlen(m->contract)};
  tx.method = (struct bytes){(const uint8_t *)m->method, strlen(m->method)};
  tx.args = (struct bytes){args, args_len};
  return ledger_tx_sign(&tx, k, out, cap, out_len);
}

int cli_tx_make(const struct cry_keys *k, const char *chain_id, uint64_t nonce,
                const struct ctr_method *m, const uint8_t *args, size_t args_len, uint8_t *out,
                size_t cap, size_t *out_len) {
  return cli_tx_make_as(k, NULL, chain_id, nonce, m, args, args_len, out, cap, out_len);
}

char *cli_tx_body(const uint8_t *tx, size_t len) {
  size_t cap = 2 * len + 16;
  char *body = malloc(cap);
  if (body == NULL) {
    return NULL;
  }
  memcpy(body, "{\"tx\":\"", 7);
  base_hex_encode(body + 7, tx, len);
  memcpy(body + 7 + 2 * len, "\"}", 3);
  return body;
}

void cli_tx_result_parse(const struct api_response *r, struct cli_tx_result *out) {
  memset(out, 0, sizeof(*out));
  /* An error status carries the rejection, or the error a committed
   * transaction ended with (then "height" and "index" say where). */
  out->err = cli_http_error(r, out->code, sizeof(out->code), out->msg, sizeof(out->msg));
  if (r->status == 0 || r->body == NULL) {
    return;
  }
  char num[32];
  if (api_json_lookup(r->body, "height", num, sizeof(num)) == OK &&
      base_parse_u64(&out->height, num) == OK && out->height > 0) {
    out->committed = true;
  }
  if (api_json_lookup(r->body, "index", num, sizeof(num)) != OK ||
      base_parse_u64(&out->index, num) != OK) {
    out->index = 0;
  }
  if (out->err == OK) {
    snprintf(out->code, sizeof(out->code), "%s", err_name(OK));
  }
}

struct cli_tx_opts {
  const char *node;
  const char *key;
  const char *sender;
  const char *chain_id;
  uint64_t nonce;
  bool nonce_set;
  bool no_wait;
  bool print_only;
  bool json;
  char *pos[CLI_TX_ARGS_MAX + 1];
  size_t npos;
};

static int cli_tx_parse(struct cli_tx_opts *o, int argc, char **argv) {
  memset(o, 0, sizeof(*o));
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &o->node, false},
      {"key", CLI_OPT_STR, &o->key, false},
      {"sender", CLI_OPT_STR, &o->sender, false},
      {"nonce", CLI_OPT_U64, &o->nonce, false},
      {"chain-id", CLI_OPT_STR, &o->chain_id, false},
      {"no-wait", CLI_OPT_FLAG, &o->no_wait, false},
      {"print-only", CLI_OPT_FLAG, &o->print_only, false},
      {"json", CLI_OPT_FLAG, &o->json, false},
  };
  char err[256];
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, o->pos, ARRAY_LEN(o->pos), &o->npos,
                     err, sizeof(err)) != OK) {
    return cli_usage("tx", "%s", err);
  }
  o->nonce_set = opts[3].seen;
  o->node = cli_node_url(o->node);
  if (o->key == NULL || o->npos < 1) {
    return cli_usage("tx", "tx needs --key FILE and CONTRACT.METHOD");
  }
  bool offline = o->print_only && o->nonce_set && o->chain_id != NULL;
  if (o->node == NULL && !offline) {
    return cli_usage("tx", "tx needs --node URL (or MEDCHAIN_NODE)");
  }
  if (o->nonce_set && o->nonce == 0) {
    return cli_usage("tx", "nonces start at 1");
  }
  uint8_t sender[32];
  if (o->sender != NULL &&
      (strlen(o->sender) != 64 || base_hex_decode(sender, sizeof(sender), o->sender) != OK)) {
    return cli_usage("tx", "--sender must be an id of 64 hex digits");
  }
  return CLI_EXIT_OK;
}

/* Finds the method and encodes its arguments into args[LIM_ARGS_MAX]. */
static int cli_tx_args(const struct cli_tx_opts *o, const struct ctr_method **m, uint8_t *args,
                       size_t *args_len) {
  char contract[LIM_NAME_MAX + 1];
  char method[LIM_NAME_MAX + 1];
  if (cli_split_method(o->pos[0], contract, sizeof(contract), method, sizeof(method)) != OK) {
    return cli_usage("tx", "'%s' is not CONTRACT.METHOD", o->pos[0]);
  }
  *m = ctr_method_find((struct bytes){(const uint8_t *)contract, strlen(contract)},
                       (struct bytes){(const uint8_t *)method, strlen(method)});
  if (*m == NULL) {
    (void)cli_report(ERR_UNKNOWN_METHOD, "no method %s (see 'medchain query methods')", o->pos[0]);
    return CLI_EXIT_USAGE;
  }
  char err[256] = "";
  if (api_args_from_strings((*m)->args, (int)o->npos - 1, o->pos + 1, args, LIM_ARGS_MAX, args_len,
                            err, sizeof(err)) != OK) {
    (void)cli_report(ERR_BAD_ARGS, "%s: %s", o->pos[0], err[0] != '\0' ? err : "bad arguments");
    return CLI_EXIT_USAGE;
  }
  return CLI_EXIT_OK;
}

/* Without --sender, asks the node which identity the keystore's key
 * belongs to (GET /v1/keys/{pk}): an identity that rotated its key keeps
 * the id of its first key. When the node does not know the key, *id stays
 * the id the key would have as a first key (then the node answers
 * UNKNOWN_SENDER, or NOT_FOUND for the nonce). */
static void cli_tx_resolve_sender(struct api_client *c, const struct pubkey *pk,
                                  struct hash32 *id) {
  char hex[65];
  char path[96];
  base_hex_encode(hex, pk->b, sizeof(pk->b));
  snprintf(path, sizeof(path), "/v1/keys/%s", hex);
  struct api_response r;
  memset(&r, 0, sizeof(r));
  if (api_client_get(c, path, &r) == OK && r.status == 200) {
    char idhex[72];
    struct hash32 found = {{0}};
    if (api_json_lookup(r.body, "id", idhex, sizeof(idhex)) == OK &&
        base_hex_decode(found.b, sizeof(found.b), idhex) == OK) {
      *id = found;
    }
  }
  api_response_free(&r);
}

/* Fills the chain id and nonce the transaction needs from the node, unless
 * the command line gave them. */
static int cli_tx_context(struct cli_tx_opts *o, struct api_client *c, const struct hash32 *id,
                          char *chain_id, size_t ccap) {
  struct api_response r;
  if (o->chain_id != NULL) {
    snprintf(chain_id, ccap, "%s", o->chain_id);
  } else {
    int rc = cli_http_get_ok(c, "/v1/status", &r);
    if (rc != OK) {
      return rc;
    }
    rc = api_json_lookup(r.body, "chain_id", chain_id, ccap);
    api_response_free(&r);
    if (rc != OK) {
      return cli_report(ERR_MALFORMED, "the node's status has no chain_id");
    }
  }
  if (o->nonce_set) {
    return OK;
  }
  char path[96];
  char hex[65];
  base_hash_hex(hex, id);
  snprintf(path, sizeof(path), "/v1/identities/%s", hex);
  int rc = cli_http_get_ok(c, path, &r);
  if (rc != OK) {
    return rc;
  }
  rc = cli_json_u64(r.body, "next_nonce", &o->nonce);
  api_response_free(&r);
  return rc == OK ? OK : cli_report(ERR_MALFORMED, "the node did not say the next nonce");
}

static void cli_tx_print_result(const struct cli_tx_opts *o, const struct cli_tx_result *res,
                                const char *hash) {
  if (!o->no_wait && res->committed) {
    printf("committed at height %llu (index %llu): %s\n", (unsigned long long)res->height,
           (unsigned long long)res->index, res->code);
  } else {
    printf("submitted, not yet committed\n");
  }
  printf("tx %s\n", hash);
}

static int cli_tx_submit(const struct cli_tx_opts *o, struct api_client *c, const uint8_t *tx,
                         size_t len, const char *hash) {
  char *body = cli_tx_body(tx, len);
  if (body == NULL) {
    return cli_fail(ERR_NOMEM, "out of memory");
  }
  struct api_response r;
  memset(&r, 0, sizeof(r));
  const char *path = o->no_wait ? "/v1/txs" : "/v1/txs?wait=commit";
  int rc = api_client_post(c, path, "application/json", (const uint8_t *)body, strlen(body), &r);
  free(body);
  if (rc != OK) {
    api_response_free(&r);
    return cli_fail(rc, "the node cannot be reached");
  }
  struct cli_tx_result res;
  cli_tx_result_parse(&r, &res);
  if (o->json && r.body != NULL) {
    cli_print_body(r.body);
  } else if (res.committed || res.err == OK) {
    cli_tx_print_result(o, &res, hash);
  }
  api_response_free(&r);
  if (res.err != OK) {
    return cli_fail_named(res.code, res.msg);
  }
  return CLI_EXIT_OK;
}

static void cli_tx_print_only(const struct cli_tx_opts *o, const uint8_t *tx, size_t len,
                              const char *hash) {
  char *hex = malloc(2 * len + 1);
  if (hex == NULL) {
    return;
  }
  base_hex_encode(hex, tx, len);
  if (o->json) {
    printf("{\"tx\":\"%s\",\"hash\":\"%s\",\"nonce\":%llu}\n", hex, hash,
           (unsigned long long)o->nonce);
  } else {
    printf("%s\n", hex);
  }
  free(hex);
}

/* Everything after parsing: keys, context, signing, then print or submit. */
static int cli_tx_run(struct cli_tx_opts *o, const struct ctr_method *m, const uint8_t *args,
                      size_t args_len, uint8_t *txbuf) {
  struct cry_keys *keys = NULL;
  struct api_client *c = NULL;
  int exit_code = CLI_EXIT_FAIL;
  int rc = cli_keys_load(&keys, o->key);
  if (rc == ERR_BAD_PASSPHRASE) {
    exit_code = cli_fail(rc,
                         "wrong or missing passphrase for %s (set MEDCHAIN_PASSPHRASE or run "
                         "on a terminal)",
                         o->key);
    goto fail;
  }
  if (rc != OK) {
    exit_code = cli_fail(rc, "could not open the keystore %s", o->key);
    goto fail;
  }
  if (o->node != NULL && api_client_create(&c, o->node) != OK) {
    exit_code = cli_fail(ERR_USAGE, "bad node URL '%s'", o->node);
    goto fail;
  }
  struct pubkey pk;
  struct hash32 id;
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  cry_keys_sign_pk(keys, &pk);
  cry_id_from_pk(&id, &pk);
  if (o->sender != NULL && base_hex_decode(id.b, sizeof(id.b), o->sender) != OK) {
    exit_code = cli_fail(ERR_USAGE, "bad --sender");
    goto fail;
  }
  if (o->sender == NULL && c != NULL) {
    cli_tx_resolve_sender(c, &pk, &id);
  }
  if (cli_tx_context(o, c, &id, chain_id, sizeof(chain_id)) != OK) {
    goto fail;
  }
  size_t len = 0;
  rc = cli_tx_make_as(keys, &id, chain_id, o->nonce, m, args, args_len, txbuf, LIM_TX_BYTES_MAX,
                      &len);
  if (rc != OK) {
    exit_code = cli_fail(rc, "could not sign the transaction");
    goto fail;
  }
  struct hash32 h;
  char hash[65];
  codec_tx_hash(&h, txbuf, len);
  base_hash_hex(hash, &h);
  if (o->print_only) {
    cli_tx_print_only(o, txbuf, len, hash);
    exit_code = CLI_EXIT_OK;
  } else {
    exit_code = cli_tx_submit(o, c, txbuf, len, hash);
  }
fail:
  api_client_destroy(c);
  cry_keys_destroy(keys);
  return exit_code;
}

int cli_cmd_tx(int argc, char **argv) {
  struct cli_tx_opts *o = malloc(sizeof(*o));
  uint8_t *args = malloc(LIM_ARGS_MAX);
  uint8_t *txbuf = malloc(LIM_TX_BYTES_MAX);
  int exit_code = CLI_EXIT_FAIL;
  if (o == NULL || args == NULL || txbuf == NULL) {
    exit_code = cli_fail(ERR_NOMEM, "out of memory");
    goto fail;
  }
  exit_code = cli_tx_parse(o, argc, argv);
  if (exit_code != CLI_EXIT_OK) {
    goto fail;
  }
  const struct ctr_method *m = NULL;
  size_t args_len = 0;
  exit_code = cli_tx_args(o, &m, args, &args_len);
  if (exit_code != CLI_EXIT_OK) {
    goto fail;
  }
  exit_code = cli_tx_run(o, m, args, args_len, txbuf);
fail:
  free(txbuf);
  free(args);
  free(o);
  return exit_code;
}
