/*
 * routes_chain — handlers for the chain itself: health, status, the method
 * table, blocks and state proofs.
 *
 * Reads go through one node_view per request (a consistent snapshot of
 * the committed chain), opened only after the request's parameters have
 * checked out and always closed before the handler returns. A struct block
 * is ~100 KiB, so it lives on the heap, one per request.
 */
#include "api/api_internal.h"

#include "blobstore/blobstore.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#ifndef MEDCHAIN_VERSION
#define MEDCHAIN_VERSION "dev"
#endif

int api_h_health(struct api_ctx *c) {
  c->json = json_pack("{s:b}", "ok", 1);
  return c->json == NULL ? ERR_NOMEM : OK;
}

/* ---- GET /v1/methods ---------------------------------------------------------- */

static json_t *schema_args_json(const struct codec_schema *s) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && s != NULL && i < s->nfields; i++) {
    const struct codec_field *f = &s->fields[i];
    json_t *arg = json_pack("{s:s, s:s, s:I}", "name", f->name, "type", codec_type_name(f->type),
                            "max", (json_int_t)f->max);
    if (json_array_append_new(a, arg) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

int api_h_methods(struct api_ctx *c) {
  json_t *list = json_array();
  size_t n = ctr_method_count();
  for (size_t i = 0; list != NULL && i < n; i++) {
    const struct ctr_method *m = ctr_method_at(i);
    assert(m != NULL);
    json_t *o =
        json_pack("{s:s, s:s, s:s?, s:s?, s:o}", "contract", m->contract, "method", m->method,
                  "who", m->who, "summary", m->summary, "args", schema_args_json(m->args));
    if (json_array_append_new(list, o) != 0) {
      json_decref(list);
      list = NULL;
    }
  }
  c->json = list;
  return list == NULL ? ERR_NOMEM : OK;
}

/* ---- GET /v1/status ----------------------------------------------------------- */

static json_t *validators_json(const struct ledger_validator *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++) {
    json_t *o = json_pack("{s:o, s:o, s:o}", "id", api_json_hex(v[i].id.b, 32), "pub_key",
                          api_json_hex(v[i].pk.b, 32), "power", api_json_u64(v[i].power));
    if (json_array_append_new(a, o) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

/* The consensus part of /v1/status: round, role, peers, and validators
 * seen equivocating (conflicting signed messages for one height and
 * round) with how often. */
static int status_consensus(struct node *n, const struct node_status *st, json_t *o) {
  struct node_net_stats *ns = malloc(sizeof *ns);
  if (ns == NULL) {
    return ERR_NOMEM;
  }
  node_net_stats(n, ns);
  json_t *offenders = json_array();
  for (uint32_t i = 0; offenders != NULL && i < st->nvalidators; i++) {
    if (ns->equivocations[i] > 0) {
      json_array_append_new(offenders,
                            json_pack("{s:o, s:o, s:o}", "index", json_integer(i), "id",
                                      api_json_hex(st->validators[i].id.b, 32),
                                      "conflicting_messages", api_json_u64(ns->equivocations[i])));
    }
  }
  json_t *cons =
      json_pack("{s:o, s:b, s:o, s:o, s:o, s:o}", "round", json_integer(st->round), "validator",
                st->is_validator, "validator_index",
                st->is_validator ? json_integer(st->validator_index) : json_null(), "peers",
                json_integer(st->peers), "best_peer_height", api_json_u64(st->best_peer_height),
                "equivocators", offenders != NULL ? offenders : json_array());
  free(ns);
  if (cons == NULL || json_object_set_new(o, "consensus", cons) != 0) {
    return ERR_NOMEM;
  }
  return OK;
}

/* The records part of status.node: this node's id (audit entries name it),
 * the organization it is gateway for (its operator; null when none) and its
 * blob store's size. */
static int status_records(struct node *n, json_t *node) {
  struct hash32 id;
  node_id(n, &id);
  struct node_operator_info op;
  json_t *opj = json_null();
  if (node_operator_find(n, NULL, &op) == OK) {
    opj = json_pack("{s:o, s:o, s:o}", "id", api_json_hex(op.id.b, 32), "org",
                    api_json_hex(op.org.b, 32), "box_pk", api_json_hex(op.box.b, 32));
  }
  struct blob_stats bs;
  blob_stats(node_blobs(n), &bs);
  json_t *blobs =
      json_pack("{s:o, s:o}", "count", api_json_u64(bs.count), "bytes", api_json_u64(bs.bytes));
  if (opj == NULL || blobs == NULL ||
      json_object_set_new(node, "id", api_json_hex(id.b, 32)) != 0 ||
      json_object_set_new(node, "operator", opj) != 0 ||
      json_object_set_new(node, "blobs", blobs) != 0) {
    return ERR_NOMEM;
  }
  return OK;
}

int api_h_status(struct api_ctx *c) {
  if (c->node == NULL) {
    return ERR_UNAVAILABLE;
  }
  struct node_status *st = malloc(sizeof(*st));
  if (st == NULL) {
    return ERR_NOMEM;
  }
  int rc = node_status(c->node, st);
  if (rc == OK) {
    assert(st->nvalidators <= LIM_VALIDATORS_MAX);
    const struct node_config *cfg = node_config(c->node);
    c->json = json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:{s:o, s:o}, s:{s:s, s:s}}", "chain_id",
        st->chain_id, "height", api_json_u64(st->height), "last_block_hash",
        api_json_hex(st->last_hash.b, 32), "last_block_time_ms", api_json_u64(st->last_time_ms),
        "state_root", api_json_hex(st->state_root.b, 32), "genesis_hash",
        api_json_hex(st->genesis_hash.b, 32), "validators",
        validators_json(st->validators, st->nvalidators), "catching_up", st->catching_up, "mempool",
        "txs", api_json_u64(st->mempool_txs), "bytes", api_json_u64(st->mempool_bytes), "node",
        "name", cfg->name, "version", MEDCHAIN_VERSION);
    rc = c->json == NULL ? ERR_NOMEM : OK;
    if (rc == OK) {
      rc = status_consensus(c->node, st, c->json);
    }
    if (rc == OK) {
      rc = status_records(c->node, json_object_get(c->json, "node"));
    }
  }
  free(st);
  return rc;
}

/* ---- blocks ------------------------------------------------------------------- */

/* The heights a page covers: ascending from `from` when given, otherwise
 * descending from the tip. */
struct block_page {
  uint64_t first;
  uint64_t count;
  bool ascending;
};

static void block_page_plan(struct block_page *p, uint64_t tip, bool has_from, uint64_t from,
                            uint32_t limit) {
  if (has_from) {
    p->ascending = true;
    p->first = from == 0 ? 1 : from;
    p->count = p->first > tip ? 0 : tip - p->first + 1;
  } else {
    p->ascending = false;
    p->first = tip;
    p->count = tip;
  }
  p->count = p->count < limit ? p->count : limit;
}

static int blocks_page_json(struct store_txn *t, const struct block_page *p, struct block *b,
                            json_t *items) {
  for (uint64_t i = 0; i < p->count; i++) {
    uint64_t h = p->ascending ? p->first + i : p->first - i;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc = ledger_block_load(t, h, b, &raw, &raw_len);
    if (rc != OK) {
      return rc;
    }
    int ap = json_array_append_new(items, api_block_summary_json(b));
    free(raw);
    if (ap != 0) {
      return ERR_NOMEM;
    }
  }
  return OK;
}

int api_h_blocks(struct api_ctx *c) {
  uint64_t from = 0;
  bool has_from = false;
  uint32_t limit = 0;
  if (api_query_u64(c, "from", &from, &has_from) != OK || api_query_limit(c, &limit) != OK) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct block *b = malloc(sizeof(*b));
  json_t *items = json_array();
  struct ledger_tip tip;
  if (b == NULL || items == NULL) {
    rc = ERR_NOMEM;
    goto fail;
  }
  rc = ledger_tip_read(node_view_txn(v), &tip);
  if (rc != OK) {
    goto fail;
  }
  struct block_page page;
  block_page_plan(&page, tip.height, has_from, from, limit);
  rc = blocks_page_json(node_view_txn(v), &page, b, items);
  if (rc != OK) {
    goto fail;
  }
  c->json = json_pack("{s:o}", "items", items);
  items = NULL;
  rc = c->json == NULL ? ERR_NOMEM : OK;
fail:
  json_decref(items);
  free(b);
  node_view_end(v);
  return rc;
}

/* Result codes of b's transactions from the tx index (-1 when absent). */
static int block_results(struct store_txn *t, const struct block *b, int **out) {
  *out = calloc(b->tx_count == 0 ? 1 : b->tx_count, sizeof(int));
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  for (uint32_t i = 0; i < b->tx_count; i++) {
    struct hash32 h;
    struct ledger_txloc loc;
    codec_tx_hash(&h, b->txs[i].ptr, b->txs[i].len);
    (*out)[i] = ledger_txloc_read(t, &h, &loc) == OK ? (int)loc.code : -1;
  }
  return OK;
}

/* Renders block `height` (0: the tip) into c->json. */
static int block_answer(struct api_ctx *c, uint64_t height, bool with_raw) {
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct block *b = malloc(sizeof(*b));
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  int *results = NULL;
  if (b == NULL) {
    rc = ERR_NOMEM;
    goto fail;
  }
  if (height == 0) {
    struct ledger_tip tip;
    rc = ledger_tip_read(node_view_txn(v), &tip);
    height = tip.height;
    if (rc == OK && height == 0) {
      rc = ERR_NOT_FOUND; /* genesis only: no block yet */
    }
    if (rc != OK) {
      goto fail;
    }
  }
  rc = ledger_block_load(node_view_txn(v), height, b, &raw, &raw_len);
  if (rc != OK) {
    goto fail;
  }
  rc = block_results(node_view_txn(v), b, &results);
  if (rc != OK) {
    goto fail;
  }
  struct bytes raw_view = {with_raw ? raw : NULL, with_raw ? raw_len : 0};
  c->json = api_block_json(b, results, raw_view);
  rc = c->json == NULL ? ERR_NOMEM : OK;
fail:
  free(results);
  free(raw);
  free(b);
  node_view_end(v);
  return rc;
}

static int query_raw(const struct api_ctx *c, bool *raw) {
  const char *v = api_query_get(c, "raw");
  if (v == NULL || strcmp(v, "0") == 0) {
    *raw = false;
    return OK;
  }
  *raw = strcmp(v, "1") == 0;
  return *raw ? OK : ERR_BAD_REQUEST;
}

int api_h_block(struct api_ctx *c) {
  uint64_t height = 0;
  bool raw = false;
  if (base_parse_u64(&height, c->param) != OK || query_raw(c, &raw) != OK) {
    return ERR_BAD_REQUEST;
  }
  if (height == 0) {
    return ERR_NOT_FOUND; /* height 0 is the genesis, not a block */
  }
  return block_answer(c, height, raw);
}

int api_h_block_latest(struct api_ctx *c) {
  bool raw = false;
  if (query_raw(c, &raw) != OK) {
    return ERR_BAD_REQUEST;
  }
  return block_answer(c, 0, raw);
}

/* ---- GET /v1/state/proof ------------------------------------------------------ */

static json_t *proof_json(const struct state_proof *p) {
  assert(p->depth <= STATE_PROOF_DEPTH_MAX);
  json_t *sib = json_array();
  for (uint16_t i = 0; sib != NULL && i < p->depth; i++) {
    if (json_array_append_new(sib, api_json_hex(p->siblings[i].b, 32)) != 0) {
      json_decref(sib);
      sib = NULL;
    }
  }
  json_t *other = json_null();
  if (p->other_leaf) {
    json_decref(other);
    other = json_pack("{s:o, s:o}", "key_hash", api_json_hex(p->other_key_hash.b, 32), "value_hash",
                      api_json_hex(p->other_value_hash.b, 32));
  }
  return json_pack("{s:I, s:o, s:o}", "depth", (json_int_t)p->depth, "siblings", sib, "other_leaf",
                   other);
}

static int proof_answer(struct api_ctx *c, struct state *st, struct store_txn *t, struct bytes key,
                        const char *key_hex) {
  struct ledger_tip tip;
  struct hash32 root;
  struct bytes val = {NULL, 0};
  int rc = ledger_tip_read(t, &tip);
  if (rc == OK) {
    rc = state_root(st, &root);
  }
  if (rc != OK) {
    return rc;
  }
  int got = state_get(st, key, &val);
  if (got != OK && got != ERR_NOT_FOUND) {
    return got;
  }
  struct state_proof *p = malloc(sizeof(*p));
  if (p == NULL) {
    return ERR_NOMEM;
  }
  rc = state_prove(st, key, p);
  if (rc == OK) {
    json_t *value = got == OK ? api_json_hex(val.ptr, val.len) : json_null();
    c->json = json_pack("{s:s, s:o, s:o, s:o, s:o}", "key", key_hex, "value", value, "root",
                        api_json_hex(root.b, 32), "height", api_json_u64(tip.height), "proof",
                        proof_json(p));
    rc = c->json == NULL ? ERR_NOMEM : OK;
  }
  free(p);
  return rc;
}

int api_h_state_proof(struct api_ctx *c) {
  const char *hex = api_query_get(c, "key");
  uint8_t key[LIM_STATE_KEY_MAX];
  size_t key_len = 0;
  if (hex == NULL || base_hex_decode_var(key, sizeof(key), &key_len, hex) != OK || key_len == 0) {
    return ERR_BAD_REQUEST;
  }
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  /* Echo the key in lower case, as every other hex the API writes. */
  char key_hex[2 * LIM_STATE_KEY_MAX + 1];
  base_hex_encode(key_hex, key, key_len);
  rc = proof_answer(c, node_view_state(v), node_view_txn(v), (struct bytes){key, key_len}, key_hex);
  node_view_end(v);
  return rc;
}
