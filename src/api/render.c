/*
 * render — JSON in and out of the API: the bounded parse of request bodies,
 * and the rendering of schema records, errors and blocks.
 *
 * Rendering is driven by schemas, never by hand per entity: a record's JSON
 * object has exactly its schema's fields in schema order, so the API, the
 * CLI and the portal agree on names because they read the same tables.
 *
 * Request bodies come from anyone. jansson bounds its own recursion, and on
 * top of that api_json_depth walks the parsed tree with an explicit stack of
 * at most LIM_JSON_DEPTH_MAX frames, so no input drives recursion here.
 * Every builder returns NULL on allocation failure and leaks nothing
 * (json_pack steals its "o" arguments even when it fails).
 */
#include "api/api_internal.h"
#include "contracts/contracts.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ---------------------------------------------------------------- */

struct depth_frame {
  json_t *v;
  void *iter; /* objects: the current member */
  size_t idx; /* arrays: the next index; objects: 0 until started */
};

static bool is_container(const json_t *v) {
  return json_is_object(v) || json_is_array(v);
}

/* Next child of the frame's container, or NULL when it has no more. */
static json_t *next_child(struct depth_frame *f) {
  if (json_is_array(f->v)) {
    if (f->idx >= json_array_size(f->v)) {
      return NULL;
    }
    return json_array_get(f->v, f->idx++);
  }
  if (f->idx == 0) {
    f->iter = json_object_iter(f->v);
    f->idx = 1;
  } else {
    f->iter = json_object_iter_next(f->v, f->iter);
  }
  return f->iter == NULL ? NULL : json_object_iter_value(f->iter);
}

size_t api_json_depth(const json_t *v, size_t max) {
  assert(max >= 1 && max <= LIM_JSON_DEPTH_MAX);
  if (!is_container(v)) {
    return 0;
  }
  struct depth_frame stack[LIM_JSON_DEPTH_MAX];
  size_t n = 0;
  size_t deepest = 1;
  /* jansson's iteration API takes non-const values; nothing is modified. */
  stack[n++] = (struct depth_frame){(json_t *)v, NULL, 0};
  while (n > 0) {
    json_t *child = next_child(&stack[n - 1]);
    if (child == NULL) {
      n--;
      continue;
    }
    if (!is_container(child)) {
      continue;
    }
    if (n == max) {
      return max + 1; /* the child would sit at depth max + 1 */
    }
    stack[n++] = (struct depth_frame){child, NULL, 0};
    deepest = n > deepest ? n : deepest;
  }
  return deepest;
}

int api_json_parse_body(json_t **out, const uint8_t *body, size_t len) {
  *out = NULL;
  if (body == NULL || len == 0) {
    return ERR_INVALID_JSON;
  }
  json_error_t jerr;
  json_t *v = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (v == NULL) {
    return ERR_INVALID_JSON;
  }
  if (api_json_depth(v, LIM_JSON_DEPTH_MAX) > LIM_JSON_DEPTH_MAX) {
    json_decref(v);
    return ERR_INVALID_JSON;
  }
  *out = v;
  return OK;
}

/* ---- values ----------------------------------------------------------------- */

json_t *api_json_hex(const uint8_t *p, size_t len) {
  assert(p != NULL || len == 0);
  if (len > (SIZE_MAX - 1) / 2) {
    return NULL;
  }
  char *buf = malloc(2 * len + 1);
  if (buf == NULL) {
    return NULL;
  }
  base_hex_encode(buf, p, len);
  json_t *s = json_stringn_nocheck(buf, 2 * len);
  free(buf);
  return s;
}

json_t *api_json_u64(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) {
    return json_integer((json_int_t)v);
  }
  char buf[24];
  int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
  assert(n > 0 && (size_t)n < sizeof(buf));
  return json_stringn_nocheck(buf, (size_t)n);
}

static json_t *str_json(struct bytes s) {
  /* The codec admitted only printable ASCII, which is valid UTF-8. */
  return s.len == 0 ? json_string("") : json_stringn_nocheck((const char *)s.ptr, s.len);
}

static json_t *hash_json(const struct hash32 *h) {
  return api_json_hex(h->b, sizeof(h->b));
}

const char *api_result_name(int code) {
  return code == OK ? "OK" : err_name(code);
}

json_t *api_error_json(int err) {
  return json_pack("{s:{s:s, s:s}}", "error", "code", err_name(err), "message", err_str(err));
}

/* ---- records ---------------------------------------------------------------- */

static json_t *ids_json(const struct codec_value *v) {
  json_t *a = json_array();
  for (uint32_t i = 0; a != NULL && i < v->count; i++) {
    if (json_array_append_new(a, api_json_hex(v->bytes.ptr + (size_t)i * 32, 32)) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *keys_json(const struct codec_value *v) {
  json_t *a = json_array();
  for (uint32_t i = 0; a != NULL && i < v->count; i++) {
    const uint8_t *item = v->bytes.ptr + (size_t)i * CODEC_KEY_ITEM_BYTES;
    json_t *k = json_pack("{s:o, s:o}", "reader", api_json_hex(item, 32), "sealed_key",
                          api_json_hex(item + 32, LIM_SEALED_KEY_BYTES));
    if (json_array_append_new(a, k) != 0) {
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

static json_t *field_json(const struct codec_value *v) {
  switch (v->type) {
  case CODEC_U64:
    return api_json_u64(v->u64);
  case CODEC_BOOL:
    return json_boolean(v->u64 != 0);
  case CODEC_ID:
  case CODEC_PUBKEY:
    return hash_json(&v->id);
  case CODEC_STR:
    return str_json(v->bytes);
  case CODEC_BYTES:
    return api_json_hex(v->bytes.ptr, v->bytes.len);
  case CODEC_IDS:
    return ids_json(v);
  case CODEC_KEYS:
    return keys_json(v);
  }
  assert(!"value type outside enum codec_type");
  return NULL;
}

json_t *api_record_to_json(const struct codec_schema *schema, struct bytes val) {
  assert(schema != NULL && schema->nfields <= LIM_FIELDS_MAX);
  struct codec_value vals[LIM_FIELDS_MAX];
  if (codec_record_decode(schema, vals, val.ptr, val.len) != OK) {
    return NULL;
  }
  json_t *o = json_object();
  for (size_t i = 0; o != NULL && i < schema->nfields; i++) {
    if (json_object_set_new(o, schema->fields[i].name, field_json(&vals[i])) != 0) {
      json_decref(o);
      o = NULL;
    }
  }
  return o;
}

/* ---- blocks ----------------------------------------------------------------- */

json_t *api_block_summary_json(const struct block *b) {
  struct hash32 hash;
  if (codec_block_hash(&b->header, &hash) != OK) {
    return NULL;
  }
  return json_pack("{s:o, s:o, s:o, s:o, s:I}", "height", api_json_u64(b->header.height), "hash",
                   hash_json(&hash), "time_ms", api_json_u64(b->header.time_ms), "proposer",
                   hash_json(&b->header.proposer), "tx_count", (json_int_t)b->header.tx_count);
}

static json_t *header_json(const struct block_header *h) {
  struct hash32 hash;
  if (codec_block_hash(h, &hash) != OK) {
    return NULL;
  }
  return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I}", "height",
                   api_json_u64(h->height), "hash", hash_json(&hash), "time_ms",
                   api_json_u64(h->time_ms), "chain_id", str_json(h->chain_id), "prev_hash",
                   hash_json(&h->prev_hash), "last_commit_hash", hash_json(&h->last_commit_hash),
                   "tx_root", hash_json(&h->tx_root), "results_hash", hash_json(&h->results_hash),
                   "state_root", hash_json(&h->state_root), "validators_hash",
                   hash_json(&h->validators_hash), "proposer", hash_json(&h->proposer), "tx_count",
                   (json_int_t)h->tx_count);
}

/* Arguments decoded with the method's schema; null when the method is
 * unknown or they do not decode (then "args_hex" carries them). */
static json_t *tx_args_json(const struct tx *tx) {
  const struct ctr_method *m = ctr_method_find(tx->contract, tx->method);
  if (m == NULL || m->args == NULL) {
    return json_null();
  }
  json_t *args = api_record_to_json(m->args, tx->args);
  return args == NULL ? json_null() : args;
}

static json_t *tx_json(struct bytes raw, int result) {
  struct hash32 hash;
  codec_tx_hash(&hash, raw.ptr, raw.len);
  json_t *res = result < 0 ? json_null() : json_string(api_result_name(result));
  struct tx tx;
  if (codec_tx_decode(&tx, raw.ptr, raw.len) != OK) {
    /* A stored block holds only decodable transactions; show the bytes
     * rather than fail the whole answer if one ever does not. */
    return json_pack("{s:o, s:o, s:o}", "hash", hash_json(&hash), "raw",
                     api_json_hex(raw.ptr, raw.len), "result", res);
  }
  json_t *args = tx_args_json(&tx);
  json_t *o =
      json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "hash", hash_json(&hash), "sender",
                hash_json(&tx.sender), "nonce", api_json_u64(tx.nonce), "contract",
                str_json(tx.contract), "method", str_json(tx.method), "args", args, "result", res);
  if (o != NULL && json_is_null(json_object_get(o, "args")) &&
      json_object_set_new(o, "args_hex", api_json_hex(tx.args.ptr, tx.args.len)) != 0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

static json_t *commit_json(const struct commit *c) {
  json_t *sigs = json_array();
  for (uint16_t i = 0; sigs != NULL && i < c->count; i++) {
    json_t *s = json_pack("{s:I, s:o}", "validator_index", (json_int_t)c->sigs[i].validator_index,
                          "signature", api_json_hex(c->sigs[i].sig.b, sizeof(c->sigs[i].sig.b)));
    if (json_array_append_new(sigs, s) != 0) {
      json_decref(sigs);
      sigs = NULL;
    }
  }
  return json_pack("{s:I, s:o}", "round", (json_int_t)c->round, "signatures", sigs);
}

json_t *api_block_json(const struct block *b, const int *results, struct bytes raw) {
  assert(b->tx_count <= LIM_BLOCK_TXS_MAX);
  json_t *o = header_json(&b->header);
  json_t *txs = json_array();
  for (uint32_t i = 0; txs != NULL && i < b->tx_count; i++) {
    if (json_array_append_new(txs, tx_json(b->txs[i], results[i])) != 0) {
      json_decref(txs);
      txs = NULL;
    }
  }
  if (o == NULL) {
    json_decref(txs);
    return NULL;
  }
  bool ok = json_object_set_new(o, "txs", txs) == 0 &&
            json_object_set_new(o, "commit", commit_json(&b->commit)) == 0;
  if (ok && raw.ptr != NULL) {
    ok = json_object_set_new(o, "raw", api_json_hex(raw.ptr, raw.len)) == 0;
  }
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}
