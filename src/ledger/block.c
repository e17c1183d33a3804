/*
 * block — building the next block on the tip (the proposer's side).
 *
 * Candidates are taken strictly in the order given, so the same candidates
 * on the same state always give the same block. Each candidate is either
 * included (admitted; its call's result recorded, success or not), skipped
 * with a code (does not decode, wrong chain, a duplicate, or not admitted)
 * or, once the block is full, left for a later block. The byte budget is
 * the one apply enforces (LEDGER_BLOCK_TX_BUDGET), so a block built here
 * is never refused for its size.
 *
 * Signatures are not checked again: the caller passes transactions that
 * went through ledger_tx_check. The header's chain id borrows the caller's
 * ledger_build_out, the transactions the caller's candidate buffers.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Working memory of one build, too large for the stack. */
struct build_work {
  struct hash32 ids[LIM_BLOCK_TXS_MAX];
  struct ledger_txset set;
  struct tx tx;
};

static void build_header_init(struct block *b, const struct ledger_tip *tip,
                              struct ledger_build_out *out, const struct hash32 *proposer,
                              uint64_t time_ms) {
  memset(&b->header, 0, sizeof(b->header));
  memset(&b->commit, 0, sizeof(b->commit));
  b->tx_count = 0;
  memcpy(out->chain_id, tip->chain_id, sizeof(out->chain_id));
  struct block_header *h = &b->header;
  h->chain_id = ledger_chain_id_bytes(out->chain_id);
  h->height = tip->height + 1;
  h->time_ms = time_ms;
  h->prev_hash = tip->last_hash;
  h->last_commit_hash = tip->last_commit_hash;
  h->validators_hash = tip->validators_hash;
  h->proposer = *proposer;
}

/* Tries one candidate as the block's next transaction. Returns OK when it
 * was included, a code to skip it with, or (with *fatal) a store error. */
static int build_one(struct state *st, const struct ledger_exec *exec, const struct bytes *cand,
                     struct block *b, struct ledger_build_out *out, struct build_work *w,
                     bool *fatal) {
  *fatal = false;
  uint32_t pos = b->tx_count;
  assert(pos < LIM_BLOCK_TXS_MAX);
  int rc = codec_tx_decode(&w->tx, cand->ptr, cand->len);
  if (rc != OK) {
    return rc;
  }
  if (!ledger_bytes_eq(w->tx.chain_id, b->header.chain_id)) {
    return ERR_WRONG_CHAIN;
  }
  codec_tx_hash(&w->ids[pos], cand->ptr, cand->len);
  /* The nonce rule already excludes repeats; the check is cheap insurance
   * that an executor bug cannot put one transaction in the chain twice. */
  struct bytes key = {w->ids[pos].b, sizeof(w->ids[pos].b)};
  struct bytes val;
  if (ledger_txset_contains(&w->set, &w->ids[pos]) ||
      store_get(state_txn(st), STORE_TXINDEX, key, &val) == OK) {
    return ERR_DUPLICATE_TX;
  }
  struct ledger_env env = {
      .chain_id = b->header.chain_id,
      .height = b->header.height,
      .time_ms = b->header.time_ms,
      .tx_hash = w->ids[pos],
      .index = pos,
  };
  uint16_t result = 0;
  rc = ledger_tx_execute(st, exec, &w->tx, &env, &result, fatal);
  if (rc != OK) {
    return rc;
  }
  b->txs[pos] = *cand;
  out->results[pos] = result;
  ledger_txset_add(&w->set, pos);
  b->tx_count = pos + 1;
  return OK;
}

static int build_fill(struct state *st, const struct ledger_exec *exec, const struct bytes *txs,
                      uint32_t ntxs, struct block *b, struct ledger_build_out *out,
                      struct build_work *w) {
  size_t used = 0;
  for (uint32_t i = 0; i < ntxs; i++) {
    if (b->tx_count == LIM_BLOCK_TXS_MAX) {
      break;
    }
    bool fits = txs[i].len <= LIM_TX_BYTES_MAX;
    if (fits && used + 4 + txs[i].len > LEDGER_BLOCK_TX_BUDGET) {
      break;
    }
    out->nconsidered = i + 1;
    bool fatal = false;
    int rc = fits ? build_one(st, exec, &txs[i], b, out, w, &fatal) : ERR_OVERSIZE;
    if (fatal) {
      return rc;
    }
    if (rc != OK) {
      out->skipped[out->nskipped] = i;
      out->skipped_codes[out->nskipped] = (uint16_t)rc;
      out->nskipped++;
      continue;
    }
    used += 4 + txs[i].len;
  }
  assert(used <= LEDGER_BLOCK_TX_BUDGET);
  return OK;
}

/* Seals the header over what was included and opens an empty commit. */
static int build_finish(struct state *st, struct block *b, const struct ledger_build_out *out,
                        const struct build_work *w) {
  struct block_header *h = &b->header;
  h->tx_count = b->tx_count;
  codec_merkle_root(&h->tx_root, w->ids, b->tx_count);
  ledger_results_hash(&h->results_hash, out->results, b->tx_count);
  int rc = state_root_update(st, &h->state_root);
  if (rc != OK) {
    return rc;
  }
  b->commit.height = h->height;
  b->commit.round = 0;
  b->commit.count = 0;
  return codec_block_hash(h, &b->commit.block_hash);
}

int ledger_block_build(struct state *st, const struct ledger_exec *exec,
                       const struct hash32 *proposer, uint64_t time_ms, const struct bytes *txs,
                       uint32_t ntxs, struct block *b, struct ledger_build_out *out) {
  struct store_txn *t = state_txn(st);
  assert(store_txn_is_write(t));
  out->nconsidered = 0;
  out->nskipped = 0;
  struct ledger_tip tip;
  int rc = ledger_tip_read(t, &tip);
  if (rc != OK) {
    return rc;
  }
  assert(time_ms > tip.last_time_ms);
  build_header_init(b, &tip, out, proposer, time_ms);
  struct build_work *w = malloc(sizeof(*w));
  if (w == NULL) {
    return ERR_NOMEM;
  }
  ledger_txset_init(&w->set, w->ids);
  rc = build_fill(st, exec, txs, ntxs, b, out, w);
  if (rc != OK) {
    goto fail;
  }
  rc = build_finish(st, b, out, w);
fail:
  free(w);
  return rc;
}
