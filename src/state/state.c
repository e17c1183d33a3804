/*
 * state — the key/value side: a per-transaction write buffer over a store
 * transaction, and the set of keys the tree must rehash (smt.c does the
 * tree).
 *
 * The buffer has LIM_TX_WRITES_MAX fixed slots, each big enough for the
 * largest key and value, allocated once when a writable state is created:
 * a put never allocates, and a buffered value returned by state_get lives
 * in its slot until the next write. A later write to a buffered key reuses
 * its slot; a delete is a tombstone slot. Lookups scan the slots: there are
 * at most 64.
 *
 * The dirty set is an append-only byte log of [u8 length | key] records,
 * one per committed write, capped at what one block can produce
 * (LIM_BLOCK_TXS_MAX * LIM_TX_WRITES_MAX records). state_root_update hashes,
 * sorts and dedupes it, reads each key's current value from STORE_STATE
 * (present: upsert, absent: delete) and hands the batch to the tree, so
 * the result depends only on the final entries, not on how often or in
 * which order keys were written.
 */
#include "state/state_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define STATE_DIRTY_MAX ((size_t)LIM_BLOCK_TXS_MAX * LIM_TX_WRITES_MAX)

_Static_assert(LIM_STATE_KEY_MAX <= UINT8_MAX, "dirty records store key lengths in one byte");
_Static_assert(LIM_STATE_VALUE_MAX <= UINT16_MAX, "buffer slots store value lengths in 16 bits");

struct state_slot {
  uint8_t key_len;
  bool del;
  uint16_t val_len;
  uint8_t key[LIM_STATE_KEY_MAX];
  uint8_t val[LIM_STATE_VALUE_MAX];
};

struct state {
  struct store_txn *t;
  bool write;
  bool scratch;             /* writes buffer over a read snapshot and are never committed */
  struct state_slot *slots; /* LIM_TX_WRITES_MAX; NULL for read-only */
  size_t slot_count;
  uint8_t *dirty; /* [u8 len | key] records */
  size_t dirty_bytes;
  size_t dirty_cap_bytes;
  size_t dirty_count;
};

struct state_iter {
  struct store_iter *it;
};

int state_create(struct state **out, struct store_txn *t) {
  assert(out != NULL && t != NULL);
  *out = NULL;
  struct state *st = calloc(1, sizeof(*st));
  if (st == NULL) {
    return ERR_NOMEM;
  }
  st->t = t;
  st->write = store_txn_is_write(t);
  if (st->write) {
    st->slots = malloc(LIM_TX_WRITES_MAX * sizeof(*st->slots));
    if (st->slots == NULL) {
      free(st);
      return ERR_NOMEM;
    }
  }
  *out = st;
  return OK;
}

int state_create_scratch(struct state **out, struct store_txn *t) {
  assert(out != NULL && t != NULL);
  assert(!store_txn_is_write(t));
  *out = NULL;
  struct state *st = calloc(1, sizeof(*st));
  if (st == NULL) {
    return ERR_NOMEM;
  }
  st->t = t;
  st->scratch = true;
  st->slots = malloc(LIM_TX_WRITES_MAX * sizeof(*st->slots));
  if (st->slots == NULL) {
    free(st);
    return ERR_NOMEM;
  }
  *out = st;
  return OK;
}

void state_destroy(struct state *st) {
  if (st == NULL) {
    return;
  }
  free(st->slots);
  free(st->dirty);
  free(st);
}

struct store_txn *state_txn(struct state *st) {
  assert(st != NULL && st->t != NULL);
  return st->t;
}

static bool state_key_ok(struct bytes key) {
  return key.len > 0 && key.len <= LIM_STATE_KEY_MAX && key.ptr != NULL;
}

static struct state_slot *state_slot_find(struct state *st, struct bytes key) {
  for (size_t i = 0; i < st->slot_count; i++) {
    struct state_slot *s = &st->slots[i];
    if (s->key_len == key.len && memcmp(s->key, key.ptr, key.len) == 0) {
      return s;
    }
  }
  return NULL;
}

int state_get(struct state *st, struct bytes key, struct bytes *val) {
  assert(st != NULL && val != NULL);
  if (!state_key_ok(key)) {
    return ERR_NOT_FOUND; /* no such key can be stored */
  }
  const struct state_slot *s = state_slot_find(st, key);
  if (s == NULL) {
    return store_get(st->t, STORE_STATE, key, val);
  }
  if (s->del) {
    return ERR_NOT_FOUND;
  }
  val->ptr = s->val;
  val->len = s->val_len;
  return OK;
}

/* The slot for key: the one already buffered, or a fresh one. */
static int state_slot_take(struct state *st, struct bytes key, struct state_slot **out) {
  assert((st->write || st->scratch) && st->slots != NULL);
  if (!state_key_ok(key)) {
    return ERR_OVERSIZE;
  }
  struct state_slot *s = state_slot_find(st, key);
  if (s == NULL) {
    if (st->slot_count == LIM_TX_WRITES_MAX) {
      return ERR_LIMIT;
    }
    s = &st->slots[st->slot_count++];
    s->key_len = (uint8_t)key.len;
    memcpy(s->key, key.ptr, key.len);
  }
  *out = s;
  return OK;
}

int state_put(struct state *st, struct bytes key, struct bytes val) {
  assert(st != NULL);
  /* Writing through a read-only state is a bug; a scratch state buffers. */
  assert(st->write || st->scratch);
  assert(val.ptr != NULL || val.len == 0);
  if (val.len > LIM_STATE_VALUE_MAX) {
    return ERR_OVERSIZE;
  }
  struct state_slot *s = NULL;
  int err = state_slot_take(st, key, &s);
  if (err != OK) {
    return err;
  }
  s->del = false;
  s->val_len = (uint16_t)val.len;
  if (val.len > 0) {
    memmove(s->val, val.ptr, val.len); /* val may be this slot's own value */
  }
  return OK;
}

int state_del(struct state *st, struct bytes key) {
  assert(st != NULL);
  assert(st->write || st->scratch);
  struct state_slot *s = NULL;
  int err = state_slot_take(st, key, &s);
  if (err != OK) {
    return err;
  }
  s->del = true;
  s->val_len = 0;
  return OK;
}

static int state_dirty_reserve(struct state *st, size_t more) {
  if (st->dirty_cap_bytes - st->dirty_bytes >= more) {
    return OK;
  }
  size_t cap = st->dirty_cap_bytes == 0 ? 16384 : st->dirty_cap_bytes;
  while (cap - st->dirty_bytes < more) {
    cap *= 2;
  }
  uint8_t *p = realloc(st->dirty, cap);
  if (p == NULL) {
    return ERR_NOMEM;
  }
  st->dirty = p;
  st->dirty_cap_bytes = cap;
  return OK;
}

static void state_dirty_append(struct state *st, const struct state_slot *s) {
  assert(st->dirty_count < STATE_DIRTY_MAX);
  assert(st->dirty_cap_bytes - st->dirty_bytes >= 1u + s->key_len);
  st->dirty[st->dirty_bytes] = s->key_len;
  memcpy(st->dirty + st->dirty_bytes + 1, s->key, s->key_len);
  st->dirty_bytes += 1u + s->key_len;
  st->dirty_count++;
}

/* On error the store transaction may hold part of the writes: the caller
 * aborts the block, as the header says. */
int state_tx_commit(struct state *st) {
  assert(st != NULL && st->write);
  if (st->slot_count > STATE_DIRTY_MAX - st->dirty_count) {
    return ERR_LIMIT;
  }
  int err = state_dirty_reserve(st, st->slot_count * (1u + LIM_STATE_KEY_MAX));
  if (err != OK) {
    return err;
  }
  for (size_t i = 0; i < st->slot_count; i++) {
    const struct state_slot *s = &st->slots[i];
    struct bytes key = {s->key, s->key_len};
    if (s->del) {
      err = store_del(st->t, STORE_STATE, key);
      err = err == ERR_NOT_FOUND ? OK : err;
    } else {
      err = store_put(st->t, STORE_STATE, key, (struct bytes){s->val, s->val_len});
    }
    if (err != OK) {
      return err;
    }
    state_dirty_append(st, s);
  }
  st->slot_count = 0;
  return OK;
}

void state_tx_abort(struct state *st) {
  assert(st != NULL);
  st->slot_count = 0;
}

/* Parses the dirty log into ops sorted by key hash, one per key. */
static int state_dirty_ops(struct state *st, struct state_smt_op **out, size_t *n_out) {
  struct state_smt_op *ops = calloc(st->dirty_count, sizeof(*ops));
  if (ops == NULL) {
    return ERR_NOMEM;
  }
  size_t off = 0;
  for (size_t i = 0; i < st->dirty_count; i++) {
    assert(off < st->dirty_bytes);
    ops[i].key_len = st->dirty[off];
    ops[i].key = st->dirty + off + 1;
    off += 1u + ops[i].key_len;
    assert(off <= st->dirty_bytes);
    state_smt_key_hash(&ops[i].k, ops[i].key, ops[i].key_len);
  }
  assert(off == st->dirty_bytes);
  qsort(ops, st->dirty_count, sizeof(*ops), state_smt_op_cmp);
  size_t n = 0;
  for (size_t i = 0; i < st->dirty_count; i++) {
    if (n > 0 && base_hash_eq(&ops[n - 1].k, &ops[i].k)) {
      assert(ops[n - 1].key_len == ops[i].key_len);
      continue;
    }
    ops[n++] = ops[i];
  }
  *out = ops;
  *n_out = n;
  return OK;
}

/* Each op takes the key's current committed value, whatever the history. */
static int state_ops_resolve(struct state *st, struct state_smt_op *ops, size_t n) {
  for (size_t i = 0; i < n; i++) {
    struct bytes val;
    int err = store_get(st->t, STORE_STATE, (struct bytes){ops[i].key, ops[i].key_len}, &val);
    if (err == ERR_NOT_FOUND) {
      ops[i].del = true;
      continue;
    }
    if (err != OK) {
      return err;
    }
    if (val.len > LIM_STATE_VALUE_MAX) {
      return ERR_CORRUPT; /* checked before writing, so checked after reading */
    }
    ops[i].del = false;
    state_smt_value_hash(&ops[i].vh, val.ptr, val.len);
  }
  return OK;
}

int state_root_update(struct state *st, struct hash32 *root) {
  assert(st != NULL && root != NULL);
  assert(st->write);
  if (st->dirty_count == 0) {
    return state_smt_root_read(st->t, root);
  }
  struct state_smt_op *ops = NULL;
  size_t n = 0;
  int err = state_dirty_ops(st, &ops, &n);
  if (err != OK) {
    return err;
  }
  err = state_ops_resolve(st, ops, n);
  if (err != OK) {
    goto fail;
  }
  err = state_smt_update(st->t, ops, n, root);
  if (err != OK) {
    goto fail;
  }
  st->dirty_bytes = 0;
  st->dirty_count = 0;
fail:
  free(ops);
  return err;
}

int state_root(struct state *st, struct hash32 *root) {
  assert(st != NULL && root != NULL);
  return state_smt_root_read(st->t, root);
}

int state_iter_begin(struct state *st, struct bytes prefix, struct bytes start,
                     struct state_iter **out) {
  assert(st != NULL && out != NULL);
  *out = NULL;
  struct state_iter *it = calloc(1, sizeof(*it));
  if (it == NULL) {
    return ERR_NOMEM;
  }
  int err = store_iter_begin(st->t, STORE_STATE, prefix, start, &it->it);
  if (err != OK) {
    free(it);
    return err;
  }
  *out = it;
  return OK;
}

int state_iter_next(struct state_iter *it, struct bytes *key, struct bytes *val) {
  assert(it != NULL);
  return store_iter_next(it->it, key, val);
}

void state_iter_end(struct state_iter *it) {
  if (it == NULL) {
    return;
  }
  store_iter_end(it->it);
  free(it);
}

int state_prove(struct state *st, struct bytes key, struct state_proof *proof) {
  assert(st != NULL && proof != NULL);
  assert(key.ptr != NULL || key.len == 0);
  struct hash32 k;
  state_smt_key_hash(&k, key.ptr, key.len);
  return state_smt_prove(st->t, &k, proof);
}

int state_root_recompute(struct state *st, struct hash32 *root) {
  assert(st != NULL && root != NULL);
  return state_smt_recompute(st->t, root);
}
