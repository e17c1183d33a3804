/*
 * node_internal.h — what the node's files share and nobody else sees: the
 * mempool (a plain data structure; the node's mutex guards it), the node
 * handle itself, and the producer's entry points.
 */
#ifndef MEDCHAIN_NODE_INTERNAL_H
#define MEDCHAIN_NODE_INTERNAL_H

#include "consensus/consensus.h"
#include "node/node.h"
#include "p2p/p2p.h"

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
/* The nonce after sender's highest pending one, or committed when that is
 * higher (entries a block just committed may still be in the pool until
 * the recheck: counting them on top of the committed nonce would skip). */
uint64_t node_mempool_next_nonce(const struct node_mempool *mp, const struct hash32 *sender,
                                 uint64_t committed);
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
/* A block committed by another proposer used the sender's nonces below
 * next: remember it (entries below it are then stale; see prune). */
void node_mempool_advance(struct node_mempool *mp, const struct hash32 *sender, uint64_t next);
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

/* A message from a peer, queued for the engine or the ingress thread. */
struct node_msg {
  struct node_msg *next;
  uint16_t peer;
  uint8_t type;
  uint32_t len;
  uint8_t buf[];
};

/* A FIFO of messages bounded by its owner (the caller holds its lock). */
struct node_queue {
  struct node_msg *head, *tail;
  uint32_t count;
  uint64_t bytes;
};

struct node_op {
  struct cry_keys *keys;
  struct pubkey pk;
  struct boxkey box;
};
struct node_auditq;
struct node_janitor;

struct node {
  struct node_config cfg;
  /* Operators (operator.c): loaded at create; op_mu serializes nonces. */
  pthread_mutex_t op_mu;
  bool ops_ready; /* op_mu initialized */
  uint16_t nops;
  struct node_op ops[LIM_OPERATORS_MAX];
  struct blob_store *blobs;
  struct node_auditq *auditq;
  struct node_janitor *janitor;
  struct hash32 node_id;
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

  /* Written by node_create, then by the engine thread only. */
  uint64_t height; /* committed tip, mirrored for the asserts */
  struct node_engine *eng;
  pthread_t engine;
  pthread_t ingress;
  bool ingress_started;
  uint64_t last_block_ns; /* monotonic time the last block was committed */
  uint64_t backoff_ns;    /* after a failed store commit, doubling */
  uint32_t fail_streak;

  /* Consensus and network. vals and validator_index are set at create. */
  struct cons_valset vals;
  bool is_validator;
  struct p2p *p2p; /* NULL without peers */
  /* Messages from peers for the engine, and transactions from peers for
   * the ingress thread: queues under in_mu, bounded in count and bytes. */
  pthread_mutex_t in_mu;
  pthread_cond_t in_cv;    /* ingress: transactions queued, or stop */
  struct node_queue inbox; /* under mu, for the engine */
  struct node_queue txq;   /* under in_mu, for the ingress thread */
  /* Transactions admitted through the API, batched for gossip (in_mu). */
  uint8_t *gossip_buf;
  size_t gossip_len;
  uint32_t gossip_n;
  uint64_t gossip_first_ns;
  /* Counters for /metrics and /v1/status, lock-free. */
  _Atomic uint64_t drops[NODE_DROP_COUNT_];
  _Atomic uint64_t equivocations[LIM_VALIDATORS_MAX];
  _Atomic uint64_t rounds_sum, rounds_n; /* rounds per decided height */
  _Atomic uint32_t cur_round;
  _Atomic uint64_t best_peer_height;
  _Atomic uint64_t blocks_synced;
  _Atomic bool ingress_stop;
};

/* Messages between nodes (the p2p type byte). */
enum node_msg_type {
  NODE_MSG_TXS = 1,        /* u32 n | n * (u32 len | tx) */
  NODE_MSG_PROPOSAL = 2,   /* proposal | u32 len | block | u32 len | last commit */
  NODE_MSG_VOTE = 3,       /* vote */
  NODE_MSG_STATUS = 4,     /* u64 height | u32 round | u8 deciding */
  NODE_MSG_SYNC_REQ = 5,   /* u64 from | u16 count */
  NODE_MSG_SYNC_BLOCK = 6, /* a stored block with its commit */
  NODE_MSG_PEER_UP = 200,  /* local only: a session came up */
};

/* Messages between validators (wire.c): parsers check every length
 * against the buffer and return ERR_MALFORMED; results borrow from buf. */
struct node_proposal_msg {
  struct cons_proposal p;
  const uint8_t *block; /* encoding, block_len bytes */
  uint32_t block_len;
  const uint8_t *commit; /* NULL when commit_len is 0 */
  uint32_t commit_len;
};
int node_msg_proposal_parse(const uint8_t *buf, size_t len,
                            struct node_proposal_msg *out) MUST_CHECK;
size_t node_msg_proposal_size(size_t block_len, size_t commit_len);
void node_msg_proposal_encode(const struct cons_proposal *p, const uint8_t *block, size_t block_len,
                              const uint8_t *commit, size_t commit_len, uint8_t *out);
#define NODE_MSG_STATUS_BYTES 13
int node_msg_status_parse(const uint8_t *buf, size_t len, uint64_t *height, uint32_t *round,
                          bool *deciding) MUST_CHECK;
void node_msg_status_encode(uint64_t height, uint32_t round, bool deciding,
                            uint8_t out[NODE_MSG_STATUS_BYTES]);
#define NODE_MSG_SYNC_REQ_BYTES 10
int node_msg_sync_req_parse(const uint8_t *buf, size_t len, uint64_t *from,
                            uint16_t *count) MUST_CHECK;
void node_msg_sync_req_encode(uint64_t from, uint16_t count, uint8_t out[NODE_MSG_SYNC_REQ_BYTES]);
/* TXS: call with a zeroed iterator until it returns ERR_NOT_FOUND (all
 * read, nothing left over); ERR_MALFORMED at the first bad length. */
struct node_txs_iter {
  size_t off;
  uint32_t left;
};
int node_msg_txs_next(const uint8_t *buf, size_t len, struct node_txs_iter *it,
                      struct bytes *tx) MUST_CHECK;

/* The signing record on disk (wal.c). open reads it (*have false when
 * there is none yet); write makes w durable (fdatasync) before returning. */
struct node_wal;
int node_wal_open(struct node_wal **out, const char *home, struct cons_wal *w,
                  bool *have) MUST_CHECK;
int node_wal_write(struct node_wal *wal, const struct cons_wal *w) MUST_CHECK;
void node_wal_close(struct node_wal *wal);

/* The engine thread's body (engine.c) and its state. */
/* operator.c and records.c */
int node_operators_load(struct node *n) MUST_CHECK;
void node_operators_free(struct node *n);
int node_records_init(struct node *n) MUST_CHECK;
void node_records_deinit(struct node *n);
/* Starts and stops the janitor thread (erasures, sweeps). */
int node_records_start(struct node *n) MUST_CHECK;
void node_records_stop(struct node *n);
/* After a block commits: queues the ciphertext of records it erased for
 * deletion by the janitor. */
void node_records_on_block(struct node *n, const struct block *b, const uint16_t *results);
/* Deletes blobs of erased records and orphans older than an hour; returns
 * how many. Run by the janitor at start and periodically. */
uint64_t node_records_sweep(struct node *n);

void *node_engine_main(void *arg);
int node_engine_init(struct node *n) MUST_CHECK;
void node_engine_deinit(struct node *n);
/* The ingress thread: admits transactions gossiped by peers (engine.c). */
void *node_ingress_main(void *arg);
/* Queues an admitted transaction for gossip to the peers (engine.c). */
void node_gossip_tx(struct node *n, const uint8_t *buf, size_t len);
/* node_tx_submit without the gossip (node.c), for transactions from peers. */
int node_tx_admit(struct node *n, const uint8_t *buf, size_t len, struct hash32 *tx_hash,
                  bool gossip) MUST_CHECK;
/* p2p callbacks (engine.c). */
void node_on_p2p_msg(void *ctx, uint16_t peer, uint8_t type, const uint8_t *buf, size_t len);
void node_on_p2p_peer(void *ctx, uint16_t peer, bool up);

/* Counts one committed block that took us microseconds (engine.c). */
void node_block_record(struct node *n, uint64_t us);

/* Under n->mu: signals every waiter whose transaction is no longer in
 * the pool (all of them once the node is stopping). */
void node_waiters_wake_locked(struct node *n);

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now. */
void node_deadline(struct timespec *ts, uint64_t timeout_ms);

/* The mempool as the ledger's verified-signature cache: every entry's
 * signature was checked at submission. Locks n->mu per lookup. */
void node_sigcache(struct node *n, struct ledger_sigcache *out);

#endif
