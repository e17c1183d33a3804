/*
 * apply — checking and executing a block someone else built (a peer's
 * proposal, a synced block, or a stored block during verification).
 *
 * The checks run cheapest first and the first failure is the answer:
 * header links and counts, then the commit (which binds the header, which
 * binds everything else by its roots), then each transaction (decoding,
 * chain, signature, duplicates, admission) while executing it, and last
 * the roots the execution must reproduce. Every write goes through st into
 * the caller's store transaction, which the caller aborts on any error.
 * Execution is the same ledger_tx_execute the builder used, so an honest
 * block reproduces its results hash and state root exactly.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct apply_work {
  struct hash32 ids[LIM_BLOCK_TXS_MAX];
  uint16_t results[LIM_BLOCK_TXS_MAX];
  struct ledger_txset set;
  struct tx tx;
  struct ledger_genesis genesis;
};

/* Links and counts of the header against the tip. */
static int apply_check_header(const struct ledger_tip *tip, const struct block *b) {
  const struct block_header *h = &b->header;
  if (!ledger_bytes_eq(h->chain_id, ledger_chain_id_bytes(tip->chain_id))) {
    return ERR_BLOCK_INVALID;
  }
  if (h->height != tip->height + 1) {
    return ERR_BLOCK_INVALID;
  }
  if (!base_hash_eq(&h->prev_hash, &tip->last_hash) ||
      !base_hash_eq(&h->last_commit_hash, &tip->last_commit_hash)) {
    return ERR_PREV_HASH;
  }
  if (h->time_ms <= tip->last_time_ms) {
    return ERR_BLOCK_INVALID;
  }
  if (!base_hash_eq(&h->validators_hash, &tip->validators_hash)) {
    return ERR_BLOCK_INVALID;
  }
  if (h->tx_count != b->tx_count || b->tx_count > LIM_BLOCK_TXS_MAX) {
    return ERR_BLOCK_INVALID;
  }
  return OK;
}

/* Decodes transaction i and checks it; signatures the cache vouches for
 * are not verified again. */
static int apply_tx_check(const struct ledger_sigcache *cache, const struct block *b, uint32_t i,
                          struct apply_work *w) {
  const struct bytes *raw = &b->txs[i];
  codec_tx_hash(&w->ids[i], raw->ptr, raw->len);
  if (cache == NULL || !cache->contains(cache->ctx, &w->ids[i])) {
    struct hash32 id;
    int rc = ledger_tx_check(raw->ptr, raw->len, b->header.chain_id, &w->tx, &id);
    assert(rc != OK || base_hash_eq(&id, &w->ids[i]));
    return rc;
  }
  if (raw->len > LIM_TX_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  int rc = codec_tx_decode(&w->tx, raw->ptr, raw->len);
  if (rc != OK) {
    return rc;
  }
  if (!ledger_bytes_eq(w->tx.chain_id, b->header.chain_id)) {
    return ERR_WRONG_CHAIN;
  }
  return OK;
}

static int apply_txs(struct state *st, const struct ledger_exec *exec,
                     const struct ledger_sigcache *cache, const struct block *b,
                     struct apply_work *w) {
  ledger_txset_init(&w->set, w->ids);
  for (uint32_t i = 0; i < b->tx_count; i++) {
    int rc = apply_tx_check(cache, b, i, w);
    if (rc != OK) {
      return rc;
    }
    struct bytes key = {w->ids[i].b, sizeof(w->ids[i].b)};
    struct bytes val;
    if (ledger_txset_contains(&w->set, &w->ids[i]) ||
        store_get(state_txn(st), STORE_TXINDEX, key, &val) == OK) {
      return ERR_BLOCK_INVALID;
    }
    struct ledger_env env = {
        .chain_id = b->header.chain_id,
        .height = b->header.height,
        .time_ms = b->header.time_ms,
        .tx_hash = w->ids[i],
        .index = i,
    };
    bool fatal = false;
    rc = ledger_tx_execute(st, exec, &w->tx, &env, &w->results[i], &fatal);
    if (rc != OK) {
      /* Not admitted: the proposer should have left it out. */
      return fatal ? rc : ERR_BLOCK_INVALID;
    }
    ledger_txset_add(&w->set, i);
  }
  return OK;
}

/* The roots the execution must reproduce. */
static int apply_check_roots(struct state *st, const struct block *b, struct apply_work *w) {
  const struct block_header *h = &b->header;
  struct hash32 root;
  codec_merkle_root(&root, w->ids, b->tx_count);
  if (!base_hash_eq(&root, &h->tx_root)) {
    return ERR_TX_ROOT;
  }
  ledger_results_hash(&root, w->results, b->tx_count);
  if (!base_hash_eq(&root, &h->results_hash)) {
    return ERR_BLOCK_INVALID;
  }
  int rc = state_root_update(st, &root);
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&root, &h->state_root)) {
    return ERR_STATE_ROOT;
  }
  return OK;
}

static int block_apply(struct state *st, const struct ledger_exec *exec,
                       const struct ledger_sigcache *cache, const struct block *b,
                       uint16_t *results, bool check_commit) {
  struct store_txn *t = state_txn(st);
  assert(store_txn_is_write(t));
  struct ledger_tip tip;
  int rc = ledger_tip_read(t, &tip);
  if (rc != OK) {
    return rc;
  }
  rc = apply_check_header(&tip, b);
  if (rc != OK) {
    return rc;
  }
  struct apply_work *w = malloc(sizeof(*w));
  if (w == NULL) {
    return ERR_NOMEM;
  }
  rc = ledger_genesis_validators_read(t, &tip.validators_hash, &w->genesis);
  if (rc != OK) {
    goto fail;
  }
  if (check_commit) {
    rc = ledger_commit_verify(b, w->genesis.validators, w->genesis.nvalidators);
    if (rc != OK) {
      goto fail;
    }
  }
  if (ledger_block_tx_bytes(b) > LEDGER_BLOCK_TX_BUDGET) {
    rc = ERR_OVERSIZE;
    goto fail;
  }
  rc = apply_txs(st, exec, cache, b, w);
  if (rc != OK) {
    goto fail;
  }
  rc = apply_check_roots(st, b, w);
  if (rc == OK && results != NULL) {
    memcpy(results, w->results, b->tx_count * sizeof(results[0]));
  }
fail:
  free(w);
  return rc;
}

int ledger_block_apply(struct state *st, const struct ledger_exec *exec,
                       const struct ledger_sigcache *cache, const struct block *b,
                       uint16_t *results) {
  return block_apply(st, exec, cache, b, results, true);
}

int ledger_proposal_apply(struct state *st, const struct ledger_exec *exec,
                          const struct ledger_sigcache *cache, const struct block *b,
                          uint16_t *results) {
  return block_apply(st, exec, cache, b, results, false);
}
