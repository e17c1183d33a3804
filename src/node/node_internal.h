/*
 * node_internal.h — what the node's files share and nobody else sees: the
 * mempool (a plain data structure; the node's mutex guards it), the node
 * handle itself, and the producer's entry points.
 */
#ifndef MEDCHAIN_NODE_INTERNAL_H
#define MEDCHAIN_NODE_INTERNAL_H

#include "node/node.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

/* ---- mempool -------------------------------------------------------------- */

struct node_mempool;
struct node_mempool_sender;

/* One pending transaction. The pool owns buf. Fields above the links are
 * immutable while the entry is in the pool, so the producer may read an
 * entry it selected without the lock: only the producer removes entries
 * (see node_mempool_remove), so a selected entry stays alive until the
 * producer itself removes it. */
struct node_mempool_entry {
  struct hash32 hash;
  struct hash32 sender;
  uint64_t nonce;
  uint64_t seq; /* arrival order, strictly increasing over the pool's life */
  uint32_t len;
  uint8_t *buf;
  /* private to mempool.c */
  struct node_mempool_entry *prev, *next;   /* arrival order */
  struct node_mempool_entry *sprev, *snext; /* the sender's entries by nonce */
  struct node_mempool_sender *owner;
};

/* A pool bounded by txs_max entries and bytes_max encoded bytes (the node
 * passes LIM_MEMPOOL_TXS_MAX and LIM_MEMPOOL_BYTES_MAX; tests pass small
 * ones). Returns OK or ERR_NOMEM. */
int node_mempool_create(struct node_mempool **out, uint32_t txs_max, uint64_t bytes_max) MUST_CHECK;
/* Frees every entry. NULL is a no-op. */
void node_mempool_destroy(struct node_mempool *mp);

uint32_t node_mempool_count(const struct node_mempool *mp);
uint64_t node_mempool_bytes(const struct node_mempool *mp);
bool node_mempool_contains(const struct node_mempool *mp, const struct hash32 *hash);
/* The pending entry with hash, or NULL. */
struct node_mempool_entry *node_mempool_find(const struct node_mempool *mp,
                                             const struct hash32 *hash);
/* Entries pending from sender. */
uint32_t node_mempool_pending(const struct node_mempool *mp, const struct hash32 *sender);
/* Senders whose lowest pending nonce is their next one: when non-zero,
 * node_mempool_select returns at least one entry. */
uint32_t node_mempool_ready_senders(const struct node_mempool *mp);

/* The admission rules of the pool for a transaction of sender with nonce,
 * given the sender's next nonce in the committed state: REPLAY below it,
 * NONCE_GAP beyond it plus the sender's pending count, DUPLICATE_TX for a
 * known hash or a pending (sender, nonce) — the first one wins —, and
 * MEMPOOL_FULL at either bound. On OK *runnable_now says whether the
 * transaction would be the sender's next to run (nonce is the next one and
 * nothing of the sender is pending): only then can its call be tried on
 * the committed state. */
int node_mempool_check(const struct node_mempool *mp, const struct hash32 *hash,
                       const struct hash32 *sender, uint64_t nonce, size_t len,
                       uint64_t next_committed, bool *runnable_now) MUST_CHECK;
/* node_mempool_check, then copies buf into a new entry. Returns the check's
 * code or ERR_NOMEM. */
int node_mempool_add(struct node_mempool *mp, const uint8_t *buf, size_t len,
                     const struct hash32 *hash, const struct hash32 *sender, uint64_t nonce,
                     uint64_t next_committed) MUST_CHECK;

/* Up to max entries ready for a block, in arrival order except that a
 * sender's entries go in nonce order starting at its next nonce; an entry
 * whose predecessor nonce is missing waits. Returns the count. The order
 * never depends on hash-table layout. */
uint32_t node_mempool_select(struct node_mempool *mp, struct node_mempool_entry **out,
                             uint32_t max);

/* Removes e. code OK means e was committed: the sender's next nonce moves
 * past e's. Any other code means e was dropped for that reason, which is
 * remembered for node_mempool_dropped. */
void node_mempool_remove(struct node_mempool *mp, struct node_mempool_entry *e, int code);
/* node_mempool_remove without the free: e leaves the pool but stays
 * readable (its buf, hash, sender, nonce) until node_mempool_entry_free,
 * so a committed block can still borrow its bytes. */
void node_mempool_detach(struct node_mempool *mp, struct node_mempool_entry *e, int code);
void node_mempool_entry_free(struct node_mempool_entry *e);
/* Drops sender's entries whose nonce is below its next nonce (REPLAY).
 * Returns how many. */
uint32_t node_mempool_prune(struct node_mempool *mp, const struct hash32 *sender);
/* True when hash was dropped recently (the last NODE_MEMPOOL_DROPPED_MAX
 * drops); *code gets why. */
bool node_mempool_dropped(const struct node_mempool *mp, const struct hash32 *hash, int *code);
#define NODE_MEMPOOL_DROPPED_MAX (2 * LIM_BLOCK_TXS_MAX)

/* ---- the node ------------------------------------------------------------- */

#define NODE_HOOKS_MAX 8

struct node_hook {
  node_commit_fn fn;
  void *ctx;
};

/* A thread in node_tx_wait, linked on n->waiters for as long as it waits
 * (it lives on that thread's stack). The producer signals cv when hash
 * leaves the pool, node_stop when the node stops: a block wakes the
 * waiters of its own transactions only, not every waiter. */
struct node_waiter {
  struct hash32 hash;
  pthread_cond_t cv;
  struct node_waiter *prev, *next;
};

struct node {
  struct node_config cfg;
  struct store *store;
  struct cry_keys *keys;
  struct ledger_genesis genesis;
  struct hash32 genesis_hash;
  struct bytes chain_id; /* points into genesis.chain_id */
  struct ledger_exec exec;
  uint16_t validator_index;
  struct hash32 validator_id;
  uint64_t started_ms;
  /* Block times (node_block_histogram): written by the producer, read by
   * any thread, without the lock. */
  _Atomic uint64_t block_counts[NODE_BLOCK_BUCKETS];
  _Atomic uint64_t block_sum_us;

  /* mu guards everything below it. */
  pthread_mutex_t mu;
  pthread_condattr_t cv_attr; /* CLOCK_MONOTONIC, for every condition variable */
  pthread_cond_t work_cv;     /* producer: ready work, or stop */
  struct node_waiter *waiters;
  struct node_mempool *mp;
  bool started;
  bool stopping;
  pthread_t producer;
  uint64_t txs_committed;
  uint64_t txs_rejected;
  uint64_t blocks_committed;
  uint64_t rejections[ERR_COUNT_];
  uint32_t nhooks;
  struct node_hook hooks[NODE_HOOKS_MAX];

  /* Written by node_create, then by the producer thread only. */
  uint64_t height; /* committed tip, mirrored for the asserts */
  struct block *blk;
  struct ledger_build_out *bout;
  struct bytes *txs;
  struct node_mempool_entry **picked;
  bool *skipped;
  struct hash32 *touched;
  uint64_t last_block_ns; /* monotonic time of the last block or attempt */
  /* After a failed block: how long to wait before the next attempt (doubles
   * up to NODE_BACKOFF_MAX_NS), and how many failed in a row. 0 when the
   * last block succeeded. */
  uint64_t backoff_ns;
  uint32_t fail_streak;
};

/* Counts one committed block that took us microseconds (producer.c). */
void node_block_record(struct node *n, uint64_t us);

/* The producer thread's body (producer.c). */
void *node_producer_main(void *arg);
/* Allocates and frees the producer's buffers. */
int node_producer_init(struct node *n) MUST_CHECK;
void node_producer_deinit(struct node *n);

/* Under n->mu: signals every waiter whose transaction is no longer in
 * the pool (all of them once the node is stopping). */
void node_waiters_wake_locked(struct node *n);

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
void node_deadline(struct timespec *ts, uint64_t timeout_ms);

/* The mempool as the ledger's verified-signature cache: every entry's
 * signature was checked at submission. Locks n->mu per lookup. */
void node_sigcache(struct node *n, struct ledger_sigcache *out);

#endif
