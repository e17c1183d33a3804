/*
 * verify — offline verification of a whole store by replay.
 *
 * Trusting nothing in the source store but its genesis, it starts a fresh
 * store in an empty scratch directory from that genesis and applies every
 * stored block with full checks (no signature cache), exactly as a new
 * node syncing the chain would. Each block must also be found under its
 * own hash in HASHES and each transaction in TXINDEX at its place with the
 * replayed result, and at the end the replayed tip must equal the stored
 * tip field by field. The source is read through one read transaction, so
 * a node writing meanwhile does not change what is verified.
 *
 * A changed byte anywhere in a stored block breaks something the replay
 * checks: header bytes its hash or links, a transaction its signature or
 * the tx root, a commit its signatures (and the next block's
 * last_commit_hash). The first height that fails is reported. The stored
 * genesis must hash to the tip's genesis hash (else height 0).
 *
 * Finally the node's live state is checked against the replay: the STATE
 * and SMT tables of the source must equal the replayed ones entry by entry
 * (the tree's storage depends only on the set of entries), and the stored
 * tree root must be the tip's state root. A tampered entry of the live
 * state, which a node would serve and execute against, fails at the tip's
 * height.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The scratch store maps at least this much address space (the file stays
 * sparse), and more for a large source: the replay holds what the source
 * holds. */
#define VERIFY_MAP_BYTES_MIN ((size_t)4 << 30)

struct verify {
  struct store_txn *src;
  struct store *dst;
  size_t map_bytes;
  const struct ledger_exec *exec;
  struct block *b;
  uint16_t results[LIM_BLOCK_TXS_MAX];
  struct ledger_tip tip; /* the source's stored tip */
};

/* Height of the highest stored block, 0 when there is none. */
static uint64_t verify_last_height(struct store_txn *t) {
  struct bytes key;
  struct bytes val;
  if (store_last(t, STORE_BLOCKS, &key, &val) != OK || key.len != 8) {
    return 0;
  }
  return base_get_u64be(key.ptr);
}

/* Reads the source tip and checks it covers exactly the stored blocks. */
static int verify_src_tip(struct verify *v, uint64_t *bad_height) {
  uint64_t last = verify_last_height(v->src);
  int rc = ledger_tip_read(v->src, &v->tip);
  if (rc != OK) {
    *bad_height = last;
    return rc == ERR_NOT_FOUND ? ERR_NOT_FOUND : ERR_CORRUPT;
  }
  if (last != v->tip.height) {
    *bad_height = last > v->tip.height ? last : v->tip.height;
    return ERR_CORRUPT;
  }
  return OK;
}

/* Opens the scratch store and initializes it from the source's genesis. */
static int verify_genesis(struct verify *v, const char *scratch_dir) {
  struct ledger_genesis *g = malloc(sizeof(*g));
  if (g == NULL) {
    return ERR_NOMEM;
  }
  struct store_txn *wt = NULL;
  int rc = ledger_genesis_read(v->src, g);
  if (rc != OK) {
    rc = ERR_CORRUPT;
    goto fail;
  }
  struct hash32 gh;
  rc = ledger_genesis_hash(g, &gh);
  if (rc != OK || !base_hash_eq(&gh, &v->tip.genesis_hash)) {
    rc = ERR_CORRUPT;
    goto fail;
  }
  rc = store_open(&v->dst, scratch_dir, v->map_bytes);
  if (rc != OK) {
    goto fail;
  }
  rc = store_write_begin(v->dst, &wt);
  if (rc != OK) {
    goto fail;
  }
  rc = ledger_genesis_init(wt, g, v->exec);
  if (rc != OK) {
    goto fail;
  }
  rc = store_txn_commit(wt);
  wt = NULL;
fail:
  store_txn_abort(wt);
  free(g);
  return rc;
}

/* The source's indexes must name this block and its transactions. */
static int verify_indexes(const struct verify *v) {
  const struct block *b = v->b;
  struct hash32 hash;
  struct bytes val;
  int rc = codec_block_hash(&b->header, &hash);
  if (rc != OK) {
    return ERR_CORRUPT;
  }
  struct bytes key = {hash.b, sizeof(hash.b)};
  rc = store_get(v->src, STORE_HASHES, key, &val);
  if (rc != OK || val.len != 8 || base_get_u64be(val.ptr) != b->header.height) {
    return ERR_CORRUPT;
  }
  for (uint32_t i = 0; i < b->tx_count; i++) {
    struct hash32 id;
    struct ledger_txloc loc;
    codec_tx_hash(&id, b->txs[i].ptr, b->txs[i].len);
    rc = ledger_txloc_read(v->src, &id, &loc);
    if (rc != OK || loc.height != b->header.height || loc.index != i || loc.code != v->results[i]) {
      return ERR_CORRUPT;
    }
  }
  return OK;
}

/* Replays block h of the source onto the scratch store. */
static int verify_block(struct verify *v, uint64_t h) {
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  struct store_txn *wt = NULL;
  struct state *st = NULL;
  int rc = ledger_block_load(v->src, h, v->b, &raw, &raw_len);
  if (rc != OK) {
    rc = ERR_CORRUPT;
    goto fail;
  }
  rc = store_write_begin(v->dst, &wt);
  if (rc != OK) {
    goto fail;
  }
  rc = state_create(&st, wt);
  if (rc != OK) {
    goto fail;
  }
  rc = ledger_block_apply(st, v->exec, NULL, v->b, v->results);
  state_destroy(st);
  if (rc != OK) {
    goto fail;
  }
  rc = verify_indexes(v);
  if (rc != OK) {
    goto fail;
  }
  rc = ledger_block_store(wt, v->b, v->results);
  if (rc != OK) {
    goto fail;
  }
  rc = store_txn_commit(wt);
  wt = NULL;
fail:
  store_txn_abort(wt);
  free(raw);
  return rc;
}

/* The replayed tip must be the stored one, field by field. */
static int verify_final_tip(struct verify *v) {
  struct store_txn *rt = NULL;
  int rc = store_read_begin(v->dst, &rt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip replayed;
  rc = ledger_tip_read(rt, &replayed);
  store_txn_abort(rt);
  if (rc != OK) {
    return rc;
  }
  return ledger_tip_eq(&replayed, &v->tip) ? OK : ERR_CORRUPT;
}

/* Two tables hold the same entries, in the same order. */
static int verify_table_eq(struct store_txn *a, struct store_txn *b, enum store_table tb) {
  struct store_iter *ia = NULL;
  struct store_iter *ib = NULL;
  struct bytes none = {NULL, 0};
  int rc = store_iter_begin(a, tb, none, none, &ia);
  if (rc == OK) {
    rc = store_iter_begin(b, tb, none, none, &ib);
  }
  while (rc == OK) {
    struct bytes ka;
    struct bytes va;
    struct bytes kb;
    struct bytes vb;
    int ra = store_iter_next(ia, &ka, &va);
    int rb = store_iter_next(ib, &kb, &vb);
    if (ra == ERR_NOT_FOUND && rb == ERR_NOT_FOUND) {
      break;
    }
    if (ra != OK && ra != ERR_NOT_FOUND) {
      rc = ra;
      break;
    }
    if (rb != OK && rb != ERR_NOT_FOUND) {
      rc = rb;
      break;
    }
    if (ra != rb) {
      rc = ERR_CORRUPT; /* one table has entries the other lacks */
      break;
    }
    if (ka.len != kb.len || va.len != vb.len || memcmp(ka.ptr, kb.ptr, ka.len) != 0 ||
        memcmp(va.ptr, vb.ptr, va.len) != 0) {
      rc = ERR_CORRUPT;
    }
  }
  store_iter_end(ib);
  store_iter_end(ia);
  return rc;
}

/* The node's live state must be exactly what the replay produced, and its
 * stored tree root the tip's state root. */
static int verify_live_state(struct verify *v) {
  struct store_txn *rt = NULL;
  struct state *st = NULL;
  int rc = store_read_begin(v->dst, &rt);
  if (rc != OK) {
    return rc;
  }
  rc = verify_table_eq(v->src, rt, STORE_STATE);
  if (rc == OK) {
    rc = verify_table_eq(v->src, rt, STORE_SMT);
  }
  if (rc == OK) {
    rc = state_create(&st, v->src);
  }
  struct hash32 root;
  if (rc == OK) {
    rc = state_root(st, &root);
  }
  if (rc == OK && !base_hash_eq(&root, &v->tip.state_root)) {
    rc = ERR_STATE_ROOT;
  }
  state_destroy(st);
  store_txn_abort(rt);
  return rc;
}

static int verify_run(struct verify *v, const char *scratch_dir, uint64_t *bad_height,
                      uint64_t *verified_height) {
  int rc = verify_src_tip(v, bad_height);
  if (rc != OK) {
    return rc;
  }
  rc = verify_genesis(v, scratch_dir);
  if (rc != OK) {
    *bad_height = 0;
    return rc;
  }
  for (uint64_t h = 1; h <= v->tip.height; h++) {
    rc = verify_block(v, h);
    if (rc != OK) {
      *bad_height = h;
      return rc;
    }
    *verified_height = h;
  }
  rc = verify_final_tip(v);
  if (rc == OK) {
    rc = verify_live_state(v);
  }
  if (rc != OK) {
    *bad_height = v->tip.height;
    /* The tip or the live state is wrong, not the blocks below it. */
    *verified_height = v->tip.height > 0 ? v->tip.height - 1 : 0;
  }
  return rc;
}

int ledger_verify_chain(struct store *s, const char *scratch_dir, const struct ledger_exec *exec,
                        uint64_t *bad_height, uint64_t *verified_height) {
  *bad_height = 0;
  *verified_height = 0;
  int rc = base_dir_check_empty(scratch_dir);
  if (rc != OK) {
    return rc;
  }
  struct verify *v = calloc(1, sizeof(*v));
  if (v == NULL) {
    return ERR_NOMEM;
  }
  v->exec = exec;
  uint64_t used = store_file_bytes(s);
  v->map_bytes = VERIFY_MAP_BYTES_MIN;
  if (used < ((uint64_t)1 << 40) && 2 * used + VERIFY_MAP_BYTES_MIN > v->map_bytes) {
    v->map_bytes = (size_t)(2 * used + VERIFY_MAP_BYTES_MIN);
  }
  v->b = malloc(sizeof(*v->b));
  if (v->b == NULL) {
    rc = ERR_NOMEM;
    goto fail;
  }
  rc = store_read_begin(s, &v->src);
  if (rc != OK) {
    goto fail;
  }
  rc = verify_run(v, scratch_dir, bad_height, verified_height);
fail:
  store_txn_abort(v->src);
  store_close(v->dst);
  free(v->b);
  free(v);
  return rc;
}
