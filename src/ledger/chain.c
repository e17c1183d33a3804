/*
 * chain — the ledger's own tables: the tip in STORE_META, blocks by height,
 * block hashes, and the transaction index.
 *
 * Layout (all integers big-endian):
 *   META "tip"       u64 height | id last_hash | id last_commit_hash |
 *                    u64 last_time_ms | id state_root | id validators_hash |
 *                    id genesis_hash | var chain_id
 *   META "genesis"   the genesis encoding (genesis.c)
 *   BLOCKS  u64 height -> codec_block_encode of the block
 *   HASHES  block hash -> u64 height
 *   TXINDEX tx id      -> u64 height | u32 index | u16 result code
 *
 * The tip is decoded strictly (every field, nothing left over, a valid
 * chain id): a tip that does not decode is ERR_CORRUPT, never a guess.
 * ledger_block_store is the only writer of blocks and indexes, and it
 * moves the tip by exactly one height; everything it writes lands in the
 * caller's one write transaction, so a block and its indexes become
 * durable together or not at all.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct bytes ledger_meta_key(const char *name) {
  struct bytes k = {(const uint8_t *)name, strlen(name)};
  return k;
}

struct bytes ledger_height_key(uint8_t buf[8], uint64_t height) {
  base_put_u64be(buf, height);
  struct bytes k = {buf, 8};
  return k;
}

bool ledger_bytes_eq(struct bytes a, struct bytes b) {
  if (a.len != b.len) {
    return false;
  }
  return a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0;
}

struct bytes ledger_chain_id_bytes(const char *chain_id) {
  const char *end = memchr(chain_id, '\0', LIM_CHAIN_ID_MAX + 1);
  assert(end != NULL);
  struct bytes b = {(const uint8_t *)chain_id, (size_t)(end - chain_id)};
  return b;
}

bool ledger_chain_id_valid(struct bytes id) {
  if (id.len == 0 || id.len > LIM_CHAIN_ID_MAX) {
    return false;
  }
  for (size_t i = 0; i < id.len; i++) {
    uint8_t c = id.ptr[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

/* ---- the tip ---------------------------------------------------------------- */

static void tip_encode(const struct ledger_tip *tip, struct codec_writer *w) {
  codec_put_u64(w, tip->height);
  codec_put_raw(w, tip->last_hash.b, 32);
  codec_put_raw(w, tip->last_commit_hash.b, 32);
  codec_put_u64(w, tip->last_time_ms);
  codec_put_raw(w, tip->state_root.b, 32);
  codec_put_raw(w, tip->validators_hash.b, 32);
  codec_put_raw(w, tip->genesis_hash.b, 32);
  struct bytes id = ledger_chain_id_bytes(tip->chain_id);
  codec_put_var(w, id.ptr, id.len);
}

static int tip_decode(struct ledger_tip *tip, struct bytes val) {
  memset(tip, 0, sizeof(*tip));
  struct codec_reader r;
  codec_reader_init(&r, val.ptr, val.len);
  tip->height = codec_get_u64(&r);
  codec_get_raw(&r, tip->last_hash.b, 32);
  codec_get_raw(&r, tip->last_commit_hash.b, 32);
  tip->last_time_ms = codec_get_u64(&r);
  codec_get_raw(&r, tip->state_root.b, 32);
  codec_get_raw(&r, tip->validators_hash.b, 32);
  codec_get_raw(&r, tip->genesis_hash.b, 32);
  struct bytes id = codec_get_str(&r, LIM_CHAIN_ID_MAX);
  if (codec_reader_finish(&r) != OK || !ledger_chain_id_valid(id)) {
    memset(tip, 0, sizeof(*tip));
    return ERR_CORRUPT;
  }
  memcpy(tip->chain_id, id.ptr, id.len);
  tip->chain_id[id.len] = '\0';
  return OK;
}

int ledger_tip_read(struct store_txn *t, struct ledger_tip *tip) {
  struct bytes val;
  int rc = store_get(t, STORE_META, ledger_meta_key(LEDGER_META_TIP), &val);
  if (rc != OK) {
    memset(tip, 0, sizeof(*tip));
    return rc;
  }
  return tip_decode(tip, val);
}

int ledger_tip_write(struct store_txn *t, const struct ledger_tip *tip) {
  assert(ledger_chain_id_valid(ledger_chain_id_bytes(tip->chain_id)));
  uint8_t buf[LEDGER_TIP_BYTES_MAX];
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  tip_encode(tip, &w);
  assert(w.err == OK);
  struct bytes val = {buf, w.len};
#ifdef MEDCHAIN_DEBUG_CHECKS
  struct ledger_tip back;
  int back_rc = tip_decode(&back, val);
  assert(back_rc == OK && ledger_tip_eq(&back, tip));
  (void)back_rc;
#endif
  return store_put(t, STORE_META, ledger_meta_key(LEDGER_META_TIP), val);
}

bool ledger_tip_eq(const struct ledger_tip *a, const struct ledger_tip *b) {
  return strcmp(a->chain_id, b->chain_id) == 0 &&
         base_hash_eq(&a->genesis_hash, &b->genesis_hash) && a->height == b->height &&
         base_hash_eq(&a->last_hash, &b->last_hash) &&
         base_hash_eq(&a->last_commit_hash, &b->last_commit_hash) &&
         a->last_time_ms == b->last_time_ms && base_hash_eq(&a->state_root, &b->state_root) &&
         base_hash_eq(&a->validators_hash, &b->validators_hash);
}

/* ---- blocks and indexes ------------------------------------------------------ */

size_t ledger_block_tx_bytes(const struct block *b) {
  assert(b->tx_count <= LIM_BLOCK_TXS_MAX);
  size_t total = 0;
  for (uint32_t i = 0; i < b->tx_count; i++) {
    total += 4 + b->txs[i].len;
  }
  return total;
}

static int chain_put_block(struct store_txn *t, const struct block *b) {
  size_t cap = LEDGER_HEADER_BYTES_MAX + LEDGER_BLOCK_FRAMING_BYTES + LEDGER_COMMIT_BYTES_MAX +
               ledger_block_tx_bytes(b);
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    return ERR_NOMEM;
  }
  size_t len = 0;
  int rc = codec_block_encode(b, buf, cap, &len);
  if (rc != OK) {
    goto fail;
  }
  assert(len <= LIM_BLOCK_BYTES_MAX);
  uint8_t key[8];
  struct bytes val = {buf, len};
  rc = store_put(t, STORE_BLOCKS, ledger_height_key(key, b->header.height), val);
fail:
  free(buf);
  return rc;
}

static int chain_put_txindex(struct store_txn *t, const struct block *b, const uint16_t *results) {
  for (uint32_t i = 0; i < b->tx_count; i++) {
    struct hash32 id;
    codec_tx_hash(&id, b->txs[i].ptr, b->txs[i].len);
    uint8_t loc[LEDGER_TXLOC_BYTES];
    base_put_u64be(loc, b->header.height);
    base_put_u32be(loc + 8, i);
    loc[12] = (uint8_t)(results[i] >> 8);
    loc[13] = (uint8_t)(results[i] & 0xff);
    struct bytes key = {id.b, sizeof(id.b)};
    struct bytes val = {loc, sizeof(loc)};
    int rc = store_put(t, STORE_TXINDEX, key, val);
    if (rc != OK) {
      return rc;
    }
  }
  return OK;
}

int ledger_block_store(struct store_txn *t, const struct block *b, const uint16_t *results) {
  assert(store_txn_is_write(t));
  assert(b->tx_count == 0 || results != NULL);
  struct ledger_tip tip;
  int rc = ledger_tip_read(t, &tip);
  if (rc != OK) {
    return rc;
  }
  const struct block_header *h = &b->header;
  /* Only a built or applied block reaches here: it extends the tip. */
  assert(h->height == tip.height + 1);
  assert(h->tx_count == b->tx_count);
  assert(h->time_ms > tip.last_time_ms);
  assert(base_hash_eq(&h->prev_hash, &tip.last_hash));
  assert(ledger_bytes_eq(h->chain_id, ledger_chain_id_bytes(tip.chain_id)));
  struct hash32 hash;
  struct hash32 commit_hash;
  rc = codec_block_hash(h, &hash);
  if (rc == OK) {
    rc = codec_commit_hash(&b->commit, &commit_hash);
  }
  if (rc == OK) {
    rc = chain_put_block(t, b);
  }
  if (rc == OK) {
    uint8_t hk[8];
    struct bytes key = {hash.b, sizeof(hash.b)};
    rc = store_put(t, STORE_HASHES, key, ledger_height_key(hk, h->height));
  }
  if (rc == OK) {
    rc = chain_put_txindex(t, b, results);
  }
  if (rc != OK) {
    return rc;
  }
  tip.height = h->height;
  tip.last_hash = hash;
  tip.last_commit_hash = commit_hash;
  tip.last_time_ms = h->time_ms;
  tip.state_root = h->state_root;
  return ledger_tip_write(t, &tip);
}

int ledger_block_load(struct store_txn *t, uint64_t height, struct block *b, uint8_t **raw,
                      size_t *raw_len) {
  *raw = NULL;
  *raw_len = 0;
  uint8_t key[8];
  struct bytes val;
  int rc = store_get(t, STORE_BLOCKS, ledger_height_key(key, height), &val);
  if (rc != OK) {
    return rc;
  }
  if (val.len == 0 || val.len > LIM_BLOCK_BYTES_MAX) {
    return ERR_CORRUPT;
  }
  uint8_t *copy = malloc(val.len);
  if (copy == NULL) {
    return ERR_NOMEM;
  }
  memcpy(copy, val.ptr, val.len);
  rc = codec_block_decode(b, copy, val.len);
  if (rc != OK || b->header.height != height) {
    free(copy);
    return ERR_CORRUPT;
  }
  *raw = copy;
  *raw_len = val.len;
  return OK;
}

int ledger_txloc_read(struct store_txn *t, const struct hash32 *tx_hash, struct ledger_txloc *loc) {
  memset(loc, 0, sizeof(*loc));
  struct bytes key = {tx_hash->b, sizeof(tx_hash->b)};
  struct bytes val;
  int rc = store_get(t, STORE_TXINDEX, key, &val);
  if (rc != OK) {
    return rc;
  }
  if (val.len != LEDGER_TXLOC_BYTES) {
    return ERR_CORRUPT;
  }
  loc->height = base_get_u64be(val.ptr);
  loc->index = base_get_u32be(val.ptr + 8);
  loc->code = (uint16_t)((val.ptr[12] << 8) | val.ptr[13]);
  return OK;
}

/* ---- a block's set of tx ids ---------------------------------------------- */

_Static_assert((LEDGER_TXSET_SLOTS & (LEDGER_TXSET_SLOTS - 1)) == 0,
               "the tx set's slot count is a power of two");
_Static_assert(LEDGER_TXSET_SLOTS > LIM_BLOCK_TXS_MAX, "the tx set never fills up");
_Static_assert(LIM_BLOCK_TXS_MAX < UINT16_MAX, "positions + 1 fit the slots");

void ledger_txset_init(struct ledger_txset *s, const struct hash32 *ids) {
  s->ids = ids;
  memset(s->slots, 0, sizeof(s->slots));
}

static uint32_t txset_slot(const struct hash32 *id) {
  return base_get_u32be(id->b) & (LEDGER_TXSET_SLOTS - 1);
}

bool ledger_txset_contains(const struct ledger_txset *s, const struct hash32 *id) {
  for (uint32_t slot = txset_slot(id);; slot = (slot + 1) & (LEDGER_TXSET_SLOTS - 1)) {
    uint16_t at = s->slots[slot];
    if (at == 0) {
      return false;
    }
    if (base_hash_eq(&s->ids[at - 1], id)) {
      return true;
    }
  }
}

void ledger_txset_add(struct ledger_txset *s, uint32_t pos) {
  assert(pos < LIM_BLOCK_TXS_MAX);
  assert(!ledger_txset_contains(s, &s->ids[pos]));
  uint32_t slot = txset_slot(&s->ids[pos]);
  while (s->slots[slot] != 0) {
    slot = (slot + 1) & (LEDGER_TXSET_SLOTS - 1);
  }
  s->slots[slot] = (uint16_t)(pos + 1);
}

void ledger_results_hash(struct hash32 *out, const uint16_t *results, uint32_t count) {
  assert(count <= LIM_BLOCK_TXS_MAX);
  uint8_t buf[4 + 2 * LIM_BLOCK_TXS_MAX];
  base_put_u32be(buf, count);
  for (uint32_t i = 0; i < count; i++) {
    buf[4 + 2 * i] = (uint8_t)(results[i] >> 8);
    buf[4 + 2 * i + 1] = (uint8_t)(results[i] & 0xff);
  }
  cry_hash_tagged(out, "medchain.results.v1", buf, 4 + 2 * (size_t)count);
}

int ledger_tip_commit_replace(struct store_txn *t, const struct commit *c) {
  assert(store_txn_is_write(t));
  struct ledger_tip tip;
  int rc = ledger_tip_read(t, &tip);
  if (rc != OK) {
    return rc;
  }
  if (tip.height == 0 || c->height != tip.height) {
    return ERR_COMMIT_INVALID;
  }
  struct hash32 hash;
  rc = codec_commit_hash(c, &hash);
  if (rc != OK) {
    return ERR_COMMIT_INVALID;
  }
  if (base_hash_eq(&hash, &tip.last_commit_hash)) {
    return OK;
  }
  struct block *b = malloc(sizeof *b);
  struct ledger_genesis *g = malloc(sizeof *g);
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  if (b == NULL || g == NULL) {
    rc = ERR_NOMEM;
    goto out;
  }
  rc = ledger_block_load(t, tip.height, b, &raw, &raw_len);
  if (rc == OK) {
    rc = ledger_genesis_validators_read(t, &tip.validators_hash, g);
  }
  if (rc != OK) {
    goto out;
  }
  b->commit = *c;
  rc = ledger_commit_verify(b, g->validators, g->nvalidators);
  if (rc == OK) {
    rc = chain_put_block(t, b);
  }
  if (rc == OK) {
    tip.last_commit_hash = hash;
    rc = ledger_tip_write(t, &tip);
  }
out:
  free(raw);
  free(g);
  free(b);
  return rc;
}
