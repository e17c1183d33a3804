/*
 * producer — the thread that cuts blocks while the node is the chain's only
 * validator (the BFT consensus replaces it by its n = 1 case).
 *
 * Loop: sleep on work_cv until the pool has a ready transaction (some
 * sender's lowest pending nonce is its next one) and block_interval_ms has
 * passed since the last block started, or until heartbeat_ms has passed with
 * nothing ready (an empty block shows the chain is alive). Then:
 *  1. under the lock, select up to LIM_BLOCK_TXS_MAX ready entries;
 *  2. without the lock: one write transaction — build on the tip, sign the
 *     commit, store the block — and a durable commit;
 *  3. under the lock, remove what the block settled: included entries
 *     (advancing their senders' next nonce), entries the executor did not
 *     admit (dropped, with the code remembered for waiters), and entries of
 *     the same senders left behind by the new nonces (REPLAY); count, and
 *     wake the waiters of the transactions that left the pool (each
 *     waiter has its own condition variable, so the rest sleep on);
 *  4. without the lock, the on-commit hooks.
 * The selected entries stay valid through step 2 without the lock because
 * only this thread removes entries. The block is durable before any entry
 * leaves the pool, which is what lets readers settle a transaction's
 * status as "in the pool, else in the store" (see node.c).
 *
 * A store failure aborts the write transaction and leaves the pool as it
 * was; the same transactions are tried again one interval later.
 * Heights go up by exactly one per committed block (asserted against the
 * tip read inside the write transaction).
 */
#include "node/node_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int node_producer_init(struct node *n) {
  n->blk = calloc(1, sizeof *n->blk);
  n->bout = calloc(1, sizeof *n->bout);
  n->txs = calloc(LIM_BLOCK_TXS_MAX, sizeof *n->txs);
  n->picked = calloc(LIM_BLOCK_TXS_MAX, sizeof *n->picked);
  n->skipped = calloc(LIM_BLOCK_TXS_MAX, sizeof *n->skipped);
  n->touched = calloc(LIM_BLOCK_TXS_MAX, sizeof *n->touched);
  if (n->blk == NULL || n->bout == NULL || n->txs == NULL || n->picked == NULL ||
      n->skipped == NULL || n->touched == NULL) {
    node_producer_deinit(n);
    return ERR_NOMEM;
  }
  return OK;
}

void node_producer_deinit(struct node *n) {
  free(n->touched);
  free(n->skipped);
  free(n->picked);
  free(n->txs);
  free(n->bout);
  free(n->blk);
  n->touched = NULL;
  n->skipped = NULL;
  n->picked = NULL;
  n->txs = NULL;
  n->bout = NULL;
  n->blk = NULL;
}

/* Powers of ten split in 1, 2.5, 5 from 1 ms to 1 s: an idle single
 * validator commits in about a millisecond, a full block in hundreds. */
const uint32_t node_block_bucket_us[NODE_BLOCK_BUCKETS - 1] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};

/* The sum is added after the count, so a reader never sees time without
 * its block (node.h). */
void node_block_record(struct node *n, uint64_t us) {
  size_t i = 0;
  while (i < NODE_BLOCK_BUCKETS - 1 && us > node_block_bucket_us[i]) {
    i++;
  }
  assert(i < NODE_BLOCK_BUCKETS);
  atomic_fetch_add_explicit(&n->block_counts[i], 1, memory_order_release);
  atomic_fetch_add_explicit(&n->block_sum_us, us, memory_order_release);
}

void node_block_histogram(struct node *n, uint64_t counts[NODE_BLOCK_BUCKETS], uint64_t *sum_us) {
  assert(n != NULL && counts != NULL && sum_us != NULL);
  *sum_us = atomic_load_explicit(&n->block_sum_us, memory_order_acquire);
  for (size_t i = 0; i < NODE_BLOCK_BUCKETS; i++) {
    counts[i] = atomic_load_explicit(&n->block_counts[i], memory_order_acquire);
  }
}

/* Step 2: one write transaction from the tip to a durable block. */
static int producer_write(struct node *n, uint32_t count) {
  struct store_txn *wt = NULL;
  struct state *st = NULL;
  int rc = store_write_begin(n->store, &wt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip tip;
  rc = ledger_tip_read(wt, &tip);
  if (rc != OK) {
    goto fail;
  }
  assert(tip.height == n->height); /* nobody else writes blocks */
  rc = state_create(&st, wt);
  if (rc != OK) {
    goto fail;
  }
  uint64_t now = base_now_ms();
  uint64_t time_ms = now > tip.last_time_ms ? now : tip.last_time_ms + 1;
  rc = ledger_block_build(st, &n->exec, &n->validator_id, time_ms, n->txs, count, n->blk, n->bout);
  if (rc != OK) {
    goto fail;
  }
  assert(n->blk->header.height == tip.height + 1);
  assert(n->blk->header.time_ms > tip.last_time_ms);
  assert(n->blk->tx_count + n->bout->nskipped <= count);
  rc = ledger_commit_sign(n->blk, n->keys, n->validator_index, 0);
  if (rc == OK) {
    rc = ledger_block_store(wt, n->blk, n->bout->results);
  }
  if (rc != OK) {
    goto fail;
  }
  state_destroy(st);
  rc = store_txn_commit(wt); /* frees wt, committed or not */
  if (rc == OK) {
    n->height = n->blk->header.height;
  }
  return rc;
fail:
  state_destroy(st);
  store_txn_abort(wt);
  return rc;
}

/* Step 3, under the lock. Returns how many entries the block included;
 * they are detached and moved to the front of n->picked, in block order,
 * for the caller to free once the hooks are done. */
static uint32_t producer_settle_locked(struct node *n, uint32_t count) {
  memset(n->skipped, 0, count * sizeof *n->skipped);
  for (uint32_t i = 0; i < count; i++) {
    n->touched[i] = n->picked[i]->sender;
  }
  for (uint32_t k = 0; k < n->bout->nskipped; k++) {
    uint32_t i = n->bout->skipped[k];
    assert(i < count && !n->skipped[i]);
    n->skipped[i] = true;
    node_mempool_remove(n->mp, n->picked[i], n->bout->skipped_codes[k]);
  }
  /* The block holds the admitted entries in selection order, borrowing
   * their buffers; anything else not skipped stays for a later block. */
  uint32_t j = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (n->skipped[i]) {
      continue;
    }
    if (j < n->blk->tx_count && n->blk->txs[j].ptr == n->picked[i]->buf) {
      assert(n->blk->txs[j].len == n->picked[i]->len);
      /* Detached, not freed: the block borrows the bytes until the hooks
       * have run. */
      node_mempool_detach(n->mp, n->picked[i], OK);
      n->picked[j++] = n->picked[i];
    }
  }
  assert(j == n->blk->tx_count);
  uint32_t pruned = 0;
  for (uint32_t i = 0; i < count; i++) {
    pruned += node_mempool_prune(n->mp, &n->touched[i]);
  }
  if (pruned > 0) {
    base_log(BASE_LOG_INFO, "node", "dropped %u stale transactions after block %llu",
             (unsigned)pruned, (unsigned long long)n->blk->header.height);
  }
  n->txs_committed += j;
  n->blocks_committed++;
  node_waiters_wake_locked(n);
  return j;
}

/* A failing store (full, I/O errors) is retried with a growing pause, and
 * logged at each doubling only, so it cannot flood the log. */
#define NODE_BACKOFF_MIN_NS (100u * 1000000ull)
#define NODE_BACKOFF_MAX_NS (10000u * 1000000ull)

static void producer_failed(struct node *n, int rc) {
  pthread_mutex_lock(&n->mu);
  n->fail_streak++;
  uint64_t next = n->backoff_ns == 0 ? NODE_BACKOFF_MIN_NS : 2 * n->backoff_ns;
  n->backoff_ns = next > NODE_BACKOFF_MAX_NS ? NODE_BACKOFF_MAX_NS : next;
  uint32_t streak = n->fail_streak;
  uint64_t pause_ms = n->backoff_ns / 1000000u;
  pthread_mutex_unlock(&n->mu);
  if ((streak & (streak - 1)) == 0) {
    base_log(BASE_LOG_ERROR, "node", "block %llu failed: %s (%u in a row); retrying in %llu ms",
             (unsigned long long)n->height + 1, err_name(rc), (unsigned)streak,
             (unsigned long long)pause_ms);
  }
}

/* One block: select, write, settle, hooks. */
static void producer_step(struct node *n) {
  pthread_mutex_lock(&n->mu);
  uint32_t count = node_mempool_select(n->mp, n->picked, LIM_BLOCK_TXS_MAX);
  pthread_mutex_unlock(&n->mu);
  for (uint32_t i = 0; i < count; i++) {
    n->txs[i] = (struct bytes){n->picked[i]->buf, n->picked[i]->len};
  }
  uint64_t t0 = base_mono_ns();
  int rc = producer_write(n, count);
  uint64_t write_us = (base_mono_ns() - t0) / 1000u;
  if (rc != OK) {
    producer_failed(n, rc);
    return;
  }
  node_block_record(n, write_us);
  struct node_hook hooks[NODE_HOOKS_MAX];
  pthread_mutex_lock(&n->mu);
  n->backoff_ns = 0;
  n->fail_streak = 0;
  uint32_t included = producer_settle_locked(n, count);
  uint32_t nhooks = n->nhooks;
  memcpy(hooks, n->hooks, nhooks * sizeof hooks[0]);
  uint32_t pool = node_mempool_count(n->mp);
  pthread_mutex_unlock(&n->mu);
  base_log(count > 0 ? BASE_LOG_INFO : BASE_LOG_DEBUG, "node",
           "block %llu: %u txs, %u skipped, %llu us, %u pending",
           (unsigned long long)n->blk->header.height, (unsigned)included,
           (unsigned)n->bout->nskipped, (unsigned long long)write_us, (unsigned)pool);
  for (uint32_t k = 0; k < nhooks; k++) {
    hooks[k].fn(hooks[k].ctx, n->blk, n->bout->results);
  }
  for (uint32_t i = 0; i < included; i++) {
    node_mempool_entry_free(n->picked[i]);
  }
}

/* Under the lock: true when a block is due now; otherwise *wake_ns gets
 * the monotonic time to look again. */
static bool producer_due(const struct node *n, uint64_t now_ns, uint64_t *wake_ns) {
  uint64_t interval_ns = (uint64_t)n->cfg.block_interval_ms * 1000000u;
  uint64_t heartbeat_ns = (uint64_t)n->cfg.heartbeat_ms * 1000000u;
  uint64_t wait_ns = node_mempool_ready_senders(n->mp) > 0 ? interval_ns : heartbeat_ns;
  if (n->backoff_ns > wait_ns) {
    wait_ns = n->backoff_ns;
  }
  if (now_ns - n->last_block_ns >= wait_ns) {
    return true;
  }
  *wake_ns = n->last_block_ns + wait_ns;
  return false;
}

void *node_producer_main(void *arg) {
  struct node *n = arg;
  pthread_mutex_lock(&n->mu);
  while (!n->stopping) {
    uint64_t now = base_mono_ns();
    uint64_t wake = 0;
    if (!producer_due(n, now, &wake)) {
      struct timespec ts;
      node_deadline(&ts, (wake - now + 999999u) / 1000000u);
      int rc = pthread_cond_timedwait(&n->work_cv, &n->mu, &ts);
      assert(rc == 0 || rc == ETIMEDOUT);
      (void)rc;
      continue;
    }
    pthread_mutex_unlock(&n->mu);
    /* The interval runs from the start of a block: a block that takes
     * longer than the interval is followed at once by the next one, which
     * then holds everything that arrived meanwhile. */
    uint64_t started = base_mono_ns();
    producer_step(n);
    pthread_mutex_lock(&n->mu);
    n->last_block_ns = started;
  }
  pthread_mutex_unlock(&n->mu);
  return NULL;
}
