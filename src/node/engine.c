/*
 * engine — the thread that runs consensus and writes the chain.
 *
 * It owns the consensus machine (src/consensus), the signing record, the
 * store's only write transactions, and everything a height needs: the
 * bodies of the proposals seen, the timers, messages queued for sending.
 * Other threads reach it through the inbox (peers' messages, under n->mu)
 * and the mempool (admitted transactions signal n->work_cv).
 *
 * One height:
 *   start   cons_start (resuming the signing record after a restart);
 *   propose GET_VALUE: take ready transactions, build the block in a write
 *           transaction that stays open ("pending"), answer with its id;
 *   check   a peer's proposal: decode, link, execute it in a fresh pending
 *           transaction (after adopting the commit of our tip the proposer
 *           names); valid when every check passes;
 *   sign    SIGN_*: sign, hand the message back to the machine, queue it
 *           for sending; after the machine settles, one fdatasync of the
 *           signing record, then the queued messages leave — so nothing
 *           signed leaves before it is durable (docs/consensus.md);
 *   decide  the decided block gets the commit from the precommits and is
 *           stored: in the pending transaction when it holds that block
 *           (no second execution), else by applying it again with every
 *           check; one durable LMDB commit; then the mempool is settled,
 *           waiters woken, hooks run.
 *   between the next height starts when the mempool holds ready work and
 *           block_interval_ms has passed, after heartbeat_ms idle, or at
 *           once when a peer is already in it.
 *
 * Catch-up: peers announce their height (STATUS) every second; a node
 * behind asks the highest one for blocks (SYNC_REQ, SYNC_BATCH at a time)
 * and applies each with every check, commit included. A node that missed
 * a proposal or votes gets them again: every node re-sends its own
 * messages of the height while it makes no progress.
 */
#include "node/node_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BODIES_MAX 16
#define TIMERS_MAX 64
#define OUTBOX_MAX 512
#define FIFO_MAX 1024
#define INBOX_BYTES_MAX (256ull << 20)
#define INBOX_COUNT_MAX 65536u
#define TXQ_BYTES_MAX (128ull << 20)
#define TXQ_COUNT_MAX 65536u
#define GOSSIP_BYTES_MAX (512u << 10)
#define GOSSIP_DELAY_NS (2u * 1000000u)
/* How often the blob store is swept against the chain (node/records.c). */
#define SWEEP_PERIOD_NS (600ull * 1000000000ull)
#define RESEND_NS (400ull * 1000000u)
#define STATUS_NS (1000ull * 1000000u)
#define SYNC_BATCH 32u
#define SYNC_BYTES_MAX (64ull << 20)
#define SYNC_TIMEOUT_NS (3000ull * 1000000u)
#define STALL_NS (2000ull * 1000000u)
#define CLOCK_AHEAD_MS 10000u
#define WAIT_MAX_MS 100u
#define NODE_BACKOFF_MIN_NS (100u * 1000000ull)
#define NODE_BACKOFF_MAX_NS (10000u * 1000000ull)

struct body {
  bool used;
  bool valid;
  struct hash32 id;
  uint32_t round;
  uint64_t seq;
  uint8_t *raw; /* block encoding; b borrows from it */
  size_t raw_len;
  struct block *b;
  uint16_t *results;
  bool has_last_commit;
  struct commit last_commit; /* the proposer's commit of height - 1 */
};

struct timer {
  uint64_t at_ns;
  enum cons_timer kind;
  uint64_t h;
  uint32_t r;
};

struct out_msg {
  uint8_t type;
  int to; /* peer index, or -1 for everyone */
  uint8_t *buf;
  size_t len;
};

struct node_engine {
  uint64_t last_sweep_ns; /* monotonic; the first sweep runs at start */
  struct cons *cons;
  struct node_wal *wal;
  struct cons_wal durable; /* what the file holds */
  bool has_durable;
  bool signed_since_persist;
  bool between;
  bool start_now; /* between: a peer is in the next height already */
  uint64_t height_started_ns;
  /* the pending write transaction and the block it holds */
  struct store_txn *pend_txn;
  struct state *pend_st;
  struct hash32 pend_id;
  struct body bodies[BODIES_MAX];
  uint64_t body_seq;
  struct timer timers[TIMERS_MAX];
  uint32_t ntimers;
  struct out_msg outbox[OUTBOX_MAX];
  uint32_t nout;
  struct cons_out fifo[FIFO_MAX];
  uint64_t peer_height[LIM_VALIDATORS_MAX];
  bool sync_pending;
  uint16_t sync_peer;
  uint64_t sync_until;
  uint64_t sync_ns;
  uint64_t last_progress_ns, last_resend_ns, last_status_ns;
  bool decided_unstored; /* decided, but the store failed: retry */
  struct hash32 decided_id;
  /* proposing */
  struct block *blk;
  struct ledger_build_out *bout;
  struct bytes *txs;
  struct node_mempool_entry **picked;
  struct hash32 *senders;
};

const char *node_drop_name(int reason) {
  static const char *const names[] = {
#define NODE_DROP_NAME_(sym, label) label,
      NODE_DROP_TABLE(NODE_DROP_NAME_)
#undef NODE_DROP_NAME_
  };
  if (reason < 0 || reason >= NODE_DROP_COUNT_) {
    return "unknown";
  }
  return names[reason];
}

static void drop(struct node *n, enum node_drop why) {
  atomic_fetch_add_explicit(&n->drops[why], 1, memory_order_relaxed);
}

/* ---- block times ---------------------------------------------------------------- */

/* Powers of ten split in 1, 2.5, 5 from 1 ms to 1 s. */
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

/* ---- setup ------------------------------------------------------------------------ */

int node_engine_init(struct node *n) {
  struct node_engine *e = calloc(1, sizeof *e);
  if (e == NULL) {
    return ERR_NOMEM;
  }
  n->eng = e;
  e->cons = malloc(sizeof *e->cons);
  e->blk = calloc(1, sizeof *e->blk);
  e->bout = calloc(1, sizeof *e->bout);
  e->txs = calloc(LIM_BLOCK_TXS_MAX, sizeof *e->txs);
  e->picked = calloc(LIM_BLOCK_TXS_MAX, sizeof *e->picked);
  e->senders = calloc(LIM_BLOCK_TXS_MAX, sizeof *e->senders);
  if (e->cons == NULL || e->blk == NULL || e->bout == NULL || e->txs == NULL || e->picked == NULL ||
      e->senders == NULL) {
    return ERR_NOMEM;
  }
  struct cons_timeouts to = {
      .propose_ms = n->cfg.timeout_propose_ms,
      .propose_delta_ms = n->cfg.timeout_propose_ms / 2,
      .prevote_ms = n->cfg.timeout_vote_ms,
      .prevote_delta_ms = n->cfg.timeout_vote_ms / 2,
      .precommit_ms = n->cfg.timeout_vote_ms,
      .precommit_delta_ms = n->cfg.timeout_vote_ms / 2,
  };
  cons_init(e->cons, n->is_validator ? n->validator_index : CONS_NO_SELF, &to);
  return node_wal_open(&e->wal, n->cfg.home, &e->durable, &e->has_durable);
}

static void body_free(struct body *b) {
  free(b->raw);
  free(b->b);
  free(b->results);
  memset(b, 0, sizeof *b);
}

static void pending_abort(struct node_engine *e) {
  if (e->pend_txn == NULL) {
    return;
  }
  state_destroy(e->pend_st);
  store_txn_abort(e->pend_txn);
  e->pend_st = NULL;
  e->pend_txn = NULL;
  memset(&e->pend_id, 0, sizeof e->pend_id);
}

static void outbox_clear(struct node_engine *e) {
  for (uint32_t i = 0; i < e->nout; i++) {
    free(e->outbox[i].buf);
  }
  e->nout = 0;
}

void node_engine_deinit(struct node *n) {
  struct node_engine *e = n->eng;
  if (e == NULL) {
    return;
  }
  pending_abort(e);
  outbox_clear(e);
  for (size_t i = 0; i < BODIES_MAX; i++) {
    body_free(&e->bodies[i]);
  }
  node_wal_close(e->wal);
  free(e->senders);
  free(e->picked);
  free(e->txs);
  free(e->bout);
  free(e->blk);
  free(e->cons);
  free(e);
  n->eng = NULL;
}

/* ---- messages out ------------------------------------------------------------------- */

static void out_queue(struct node *n, uint8_t type, int to, const uint8_t *a, size_t alen) {
  struct node_engine *e = n->eng;
  if (n->p2p == NULL) {
    return;
  }
  if (e->nout == OUTBOX_MAX) {
    base_log(BASE_LOG_WARN, "node", "outbox full: a message was not sent");
    return;
  }
  uint8_t *buf = malloc(alen > 0 ? alen : 1);
  if (buf == NULL) {
    return;
  }
  memcpy(buf, a, alen);
  struct out_msg *m = &e->outbox[e->nout++];
  m->type = type;
  m->to = to;
  m->buf = buf;
  m->len = alen;
}

static void out_flush(struct node *n) {
  struct node_engine *e = n->eng;
  for (uint32_t i = 0; i < e->nout; i++) {
    struct out_msg *m = &e->outbox[i];
    if (m->to < 0) {
      (void)p2p_broadcast(n->p2p, m->type, m->buf, m->len);
    } else {
      int rc = p2p_send(n->p2p, (uint16_t)m->to, m->type, m->buf, m->len);
      (void)rc; /* lost messages are sent again while no progress is made */
    }
  }
  outbox_clear(e);
}

static void send_vote(struct node *n, const struct cons_vote *v, int to) {
  uint8_t buf[CONS_VOTE_BYTES];
  cons_vote_encode(v, buf);
  out_queue(n, NODE_MSG_VOTE, to, buf, sizeof buf);
}

/* STATUS: u64 committed height | u32 round | u8 1 when deciding height +
 * 1, 0 while waiting to start it. */
static void send_status(struct node *n, int to) {
  uint8_t buf[NODE_MSG_STATUS_BYTES];
  node_msg_status_encode(n->height, cons_round(n->eng->cons), !n->eng->between, buf);
  out_queue(n, NODE_MSG_STATUS, to, buf, sizeof buf);
}

static struct body *body_find(struct node_engine *e, const struct hash32 *id) {
  for (size_t i = 0; i < BODIES_MAX; i++) {
    if (e->bodies[i].used && base_hash_eq(&e->bodies[i].id, id)) {
      return &e->bodies[i];
    }
  }
  return NULL;
}

/* A proposal message: the signed proposal, the block, the last commit. */
static void send_proposal(struct node *n, const struct cons_proposal *p, const struct body *b,
                          int to) {
  uint8_t commit_buf[LIM_VALIDATORS_MAX * 66 + 64];
  size_t clen = 0;
  if (b->has_last_commit &&
      codec_commit_encode(&b->last_commit, commit_buf, sizeof commit_buf, &clen) != OK) {
    clen = 0;
  }
  size_t len = node_msg_proposal_size(b->raw_len, clen);
  uint8_t *buf = malloc(len);
  if (buf == NULL) {
    return;
  }
  node_msg_proposal_encode(p, b->raw, b->raw_len, commit_buf, clen, buf);
  /* The proof of lock travels first, so the proposal finds it. */
  if (p->pol_round >= 0) {
    struct cons_vote v[LIM_VALIDATORS_MAX];
    uint32_t k =
        cons_pol_votes(n->eng->cons, (uint32_t)p->pol_round, &p->id, v, LIM_VALIDATORS_MAX);
    for (uint32_t i = 0; i < k; i++) {
      send_vote(n, &v[i], to);
    }
  }
  struct node_engine *e = n->eng;
  if (n->p2p == NULL || e->nout == OUTBOX_MAX) {
    free(buf);
    return;
  }
  struct out_msg *m = &e->outbox[e->nout++];
  m->type = NODE_MSG_PROPOSAL;
  m->to = to;
  m->buf = buf;
  m->len = len;
}

/* This node's messages of the height again, to one peer or all. */
static void resend_own(struct node *n, int to) {
  struct node_engine *e = n->eng;
  if (e->between || !n->is_validator) {
    return;
  }
  struct cons_proposal p;
  if (cons_own_proposal(e->cons, &p)) {
    const struct body *b = body_find(e, &p.id);
    if (b != NULL) {
      send_proposal(n, &p, b, to);
    }
  }
  struct cons_vote v[2 * CONS_ROUND_SLOTS];
  uint32_t k = cons_own_votes(e->cons, v, 2 * CONS_ROUND_SLOTS);
  for (uint32_t i = 0; i < k; i++) {
    send_vote(n, &v[i], to);
  }
}

/* ---- bodies --------------------------------------------------------------------------- */

/* A slot for a new body: a free one, else the oldest not pending. */
static struct body *body_slot(struct node_engine *e) {
  struct body *victim = NULL;
  for (size_t i = 0; i < BODIES_MAX; i++) {
    struct body *b = &e->bodies[i];
    if (!b->used) {
      return b;
    }
    if (base_hash_eq(&b->id, &e->pend_id)) {
      continue;
    }
    if (victim == NULL || b->seq < victim->seq) {
      victim = b;
    }
  }
  assert(victim != NULL);
  body_free(victim);
  return victim;
}

/* Takes ownership of raw; decodes it into the body. */
static struct body *body_add(struct node_engine *e, const struct hash32 *id, uint32_t round,
                             uint8_t *raw, size_t raw_len) {
  struct body *b = body_slot(e);
  b->b = malloc(sizeof *b->b);
  b->results = calloc(LIM_BLOCK_TXS_MAX, sizeof *b->results);
  if (b->b == NULL || b->results == NULL || codec_block_decode(b->b, raw, raw_len) != OK) {
    free(raw);
    body_free(b);
    return NULL;
  }
  b->used = true;
  b->id = *id;
  b->round = round;
  b->seq = ++e->body_seq;
  b->raw = raw;
  b->raw_len = raw_len;
  return b;
}

static void bodies_clear(struct node_engine *e) {
  for (size_t i = 0; i < BODIES_MAX; i++) {
    body_free(&e->bodies[i]);
  }
}

/* ---- committing ------------------------------------------------------------------------ */

/* Under n->mu: the block is durable; the mempool forgets what it holds. */
static void settle_locked(struct node *n, const struct block *b) {
  struct node_engine *e = n->eng;
  uint32_t ns = 0;
  for (uint32_t i = 0; i < b->tx_count; i++) {
    struct hash32 h;
    codec_tx_hash(&h, b->txs[i].ptr, b->txs[i].len);
    struct tx tx;
    if (codec_tx_decode(&tx, b->txs[i].ptr, b->txs[i].len) != OK) {
      continue; /* a stored block decodes; asserted by apply */
    }
    struct node_mempool_entry *en = node_mempool_find(n->mp, &h);
    if (en != NULL) {
      node_mempool_remove(n->mp, en, OK);
    }
    node_mempool_advance(n->mp, &tx.sender, tx.nonce + 1);
    e->senders[ns++] = tx.sender;
  }
  uint32_t pruned = 0;
  for (uint32_t i = 0; i < ns; i++) {
    pruned += node_mempool_prune(n->mp, &e->senders[i]);
  }
  if (pruned > 0) {
    base_log(BASE_LOG_INFO, "node", "dropped %u stale transactions after block %llu",
             (unsigned)pruned, (unsigned long long)b->header.height);
  }
  n->txs_committed += b->tx_count;
  n->blocks_committed++;
  node_waiters_wake_locked(n);
}

/* After a durable commit of b: bookkeeping, the mempool, hooks, and the
 * wait before the next height. */
static void after_commit(struct node *n, const struct block *b, const uint16_t *results,
                         uint32_t round) {
  struct node_engine *e = n->eng;
  uint64_t now = base_mono_ns();
  assert(b->header.height == n->height + 1);
  n->height = b->header.height;
  node_block_record(n, (now - e->height_started_ns) / 1000u);
  atomic_fetch_add_explicit(&n->rounds_sum, (uint64_t)round + 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&n->rounds_n, 1, memory_order_relaxed);
  struct node_hook hooks[NODE_HOOKS_MAX];
  pthread_mutex_lock(&n->mu);
  n->backoff_ns = 0;
  n->fail_streak = 0;
  settle_locked(n, b);
  uint32_t nhooks = n->nhooks;
  memcpy(hooks, n->hooks, nhooks * sizeof hooks[0]);
  uint32_t pool = node_mempool_count(n->mp);
  n->last_block_ns = now;
  pthread_mutex_unlock(&n->mu);
  base_log(b->tx_count > 0 ? BASE_LOG_INFO : BASE_LOG_DEBUG, "node",
           "block %llu: %u txs, round %u, %llu us, %u pending",
           (unsigned long long)b->header.height, (unsigned)b->tx_count, (unsigned)round,
           (unsigned long long)(now - e->height_started_ns) / 1000u, (unsigned)pool);
  for (uint32_t k = 0; k < nhooks; k++) {
    hooks[k].fn(hooks[k].ctx, b, results);
  }
  node_records_on_block(n, b, results);
  if (now - e->last_sweep_ns > SWEEP_PERIOD_NS) {
    e->last_sweep_ns = now;
    (void)node_records_sweep(n);
  }
  e->between = true;
  e->start_now = false;
  e->ntimers = 0;
  e->last_progress_ns = now;
  e->decided_unstored = false;
  bodies_clear(e);
}

static void store_failed(struct node *n, int rc) {
  pthread_mutex_lock(&n->mu);
  n->fail_streak++;
  uint64_t next = n->backoff_ns == 0 ? NODE_BACKOFF_MIN_NS : 2 * n->backoff_ns;
  n->backoff_ns = next > NODE_BACKOFF_MAX_NS ? NODE_BACKOFF_MAX_NS : next;
  uint32_t streak = n->fail_streak;
  pthread_mutex_unlock(&n->mu);
  if ((streak & (streak - 1)) == 0) {
    base_log(BASE_LOG_ERROR, "node", "block %llu failed: %s (%u in a row); retrying",
             (unsigned long long)n->height + 1, err_name(rc), (unsigned)streak);
  }
}

/* Opens a write transaction on the tip and adopts the proposer's commit of
 * the tip when the block names another one than ours. */
static int txn_for_block(struct node *n, const struct body *bd, struct store_txn **wt,
                         struct state **st) {
  *wt = NULL;
  *st = NULL;
  int rc = store_write_begin(n->store, wt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip tip;
  rc = ledger_tip_read(*wt, &tip);
  if (rc == OK && !base_hash_eq(&tip.last_commit_hash, &bd->b->header.last_commit_hash)) {
    struct hash32 ch;
    if (!bd->has_last_commit || codec_commit_hash(&bd->last_commit, &ch) != OK ||
        !base_hash_eq(&ch, &bd->b->header.last_commit_hash)) {
      rc = ERR_PREV_HASH;
    } else {
      rc = ledger_tip_commit_replace(*wt, &bd->last_commit);
    }
  }
  if (rc == OK) {
    rc = state_create(st, *wt);
  }
  if (rc != OK) {
    store_txn_abort(*wt);
    *wt = NULL;
  }
  return rc;
}

/* DECIDE: store the block with its commit. */
static void decide(struct node *n, uint32_t round, const struct hash32 *id) {
  struct node_engine *e = n->eng;
  struct body *bd = body_find(e, id);
  if (bd == NULL) {
    /* Decided without the body (evicted): block sync will bring it. */
    base_log(BASE_LOG_WARN, "node", "decided block %llu without its body; waiting for sync",
             (unsigned long long)n->height + 1);
    e->decided_unstored = true;
    e->decided_id = *id;
    return;
  }
  struct commit commit;
  int rc = cons_commit(e->cons, &commit);
  assert(rc == OK);
  bd->b->commit = commit;
  if (e->pend_txn != NULL && base_hash_eq(&e->pend_id, id)) {
    rc = ledger_block_store(e->pend_txn, bd->b, bd->results);
    state_destroy(e->pend_st);
    e->pend_st = NULL;
    struct store_txn *t = e->pend_txn;
    e->pend_txn = NULL;
    if (rc == OK) {
      rc = store_txn_commit(t);
    } else {
      store_txn_abort(t);
    }
  } else {
    pending_abort(e);
    struct store_txn *wt = NULL;
    struct state *st = NULL;
    struct ledger_sigcache cache;
    node_sigcache(n, &cache);
    rc = txn_for_block(n, bd, &wt, &st);
    if (rc == OK) {
      rc = ledger_block_apply(st, &n->exec, &cache, bd->b, bd->results);
    }
    if (rc == OK) {
      rc = ledger_block_store(wt, bd->b, bd->results);
    }
    state_destroy(st);
    if (wt != NULL) {
      rc = rc == OK ? store_txn_commit(wt) : (store_txn_abort(wt), rc);
    }
  }
  if (rc != OK) {
    store_failed(n, rc);
    e->decided_unstored = true;
    e->decided_id = *id;
    return;
  }
  after_commit(n, bd->b, bd->results, round);
}

/* ---- proposing and checking ------------------------------------------------------------- */

static int load_tip_commit(struct store_txn *t, uint64_t height, struct commit *out) {
  struct block *b = malloc(sizeof *b);
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  if (b == NULL) {
    return ERR_NOMEM;
  }
  int rc = ledger_block_load(t, height, b, &raw, &raw_len);
  if (rc == OK) {
    *out = b->commit;
  }
  free(raw);
  free(b);
  return rc;
}

/* GET_VALUE: build the next block from ready transactions. */
static int propose_value(struct node *n, struct hash32 *id) {
  struct node_engine *e = n->eng;
  pending_abort(e);
  pthread_mutex_lock(&n->mu);
  uint32_t count = node_mempool_select(n->mp, e->picked, LIM_BLOCK_TXS_MAX);
  pthread_mutex_unlock(&n->mu);
  for (uint32_t i = 0; i < count; i++) {
    e->txs[i] = (struct bytes){e->picked[i]->buf, e->picked[i]->len};
  }
  struct store_txn *wt = NULL;
  struct state *st = NULL;
  int rc = store_write_begin(n->store, &wt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip tip;
  struct commit last;
  bool has_last = false;
  rc = ledger_tip_read(wt, &tip);
  if (rc == OK && tip.height > 0) {
    rc = load_tip_commit(wt, tip.height, &last);
    has_last = rc == OK;
  }
  if (rc == OK) {
    rc = state_create(&st, wt);
  }
  uint64_t now = base_now_ms();
  uint64_t time_ms = now > tip.last_time_ms ? now : tip.last_time_ms + 1;
  if (rc == OK) {
    rc =
        ledger_block_build(st, &n->exec, &n->validator_id, time_ms, e->txs, count, e->blk, e->bout);
  }
  size_t cap = 0;
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  if (rc == OK) {
    cap = 1024 + LIM_VALIDATORS_MAX * 70u;
    for (uint32_t i = 0; i < e->blk->tx_count; i++) {
      cap += 4 + e->blk->txs[i].len;
    }
    raw = malloc(cap);
    rc = raw == NULL ? ERR_NOMEM : codec_block_encode(e->blk, raw, cap, &raw_len);
  }
  struct hash32 bid;
  if (rc == OK) {
    rc = codec_block_hash(&e->blk->header, &bid);
  }
  struct body *bd = NULL;
  if (rc == OK) {
    bd = body_add(e, &bid, cons_round(e->cons), raw, raw_len);
    raw = NULL;
    rc = bd == NULL ? ERR_NOMEM : OK;
  }
  free(raw);
  if (rc != OK) {
    state_destroy(st);
    store_txn_abort(wt);
    return rc;
  }
  memcpy(bd->results, e->bout->results, e->blk->tx_count * sizeof bd->results[0]);
  bd->valid = true;
  bd->has_last_commit = has_last;
  if (has_last) {
    bd->last_commit = last;
  }
  /* What the executor refused is unfit now; drop it with its reason. */
  pthread_mutex_lock(&n->mu);
  for (uint32_t k = 0; k < e->bout->nskipped; k++) {
    uint32_t i = e->bout->skipped[k];
    assert(i < count);
    node_mempool_remove(n->mp, e->picked[i], e->bout->skipped_codes[k]);
  }
  if (e->bout->nskipped > 0) {
    node_waiters_wake_locked(n);
  }
  pthread_mutex_unlock(&n->mu);
  e->pend_txn = wt;
  e->pend_st = st;
  e->pend_id = bid;
  *id = bid;
  return OK;
}

/* Checks a peer's block for the current height: links, execution, roots.
 * Leaves it in the pending transaction when valid. */
static bool check_body(struct node *n, struct body *bd, uint16_t proposer) {
  struct node_engine *e = n->eng;
  const struct block_header *h = &bd->b->header;
  if (h->height != n->height + 1 || h->tx_count != bd->b->tx_count ||
      !base_hash_eq(&h->proposer, &n->genesis.validators[proposer].id) ||
      h->time_ms > base_now_ms() + CLOCK_AHEAD_MS) {
    return false;
  }
  pending_abort(e);
  struct store_txn *wt = NULL;
  struct state *st = NULL;
  struct ledger_sigcache cache;
  node_sigcache(n, &cache);
  int rc = txn_for_block(n, bd, &wt, &st);
  if (rc == OK) {
    rc = ledger_proposal_apply(st, &n->exec, &cache, bd->b, bd->results);
  }
  if (rc != OK) {
    base_log(BASE_LOG_WARN, "node", "proposal for block %llu is invalid: %s",
             (unsigned long long)h->height, err_name(rc));
    state_destroy(st);
    if (wt != NULL) {
      store_txn_abort(wt);
    }
    return false;
  }
  e->pend_txn = wt;
  e->pend_st = st;
  e->pend_id = bd->id;
  return true;
}

/* ---- driving the machine ----------------------------------------------------------------- */

static void persist_and_flush(struct node *n) {
  struct node_engine *e = n->eng;
  if (e->signed_since_persist) {
    const struct cons_wal *w = cons_wal_get(e->cons);
    if (node_wal_write(e->wal, w) != OK) {
      /* Nothing signed since the last durable record may leave. */
      outbox_clear(e);
      e->signed_since_persist = false;
      return;
    }
    e->durable = *w;
    e->has_durable = true;
    e->signed_since_persist = false;
  }
  out_flush(n);
}

static bool may_sign(struct node *n, int kind, uint64_t h, uint32_t r, int32_t pol,
                     const struct hash32 *id) {
  struct node_engine *e = n->eng;
  if (e->has_durable && !cons_wal_may_sign(&e->durable, kind, h, r, pol, id)) {
    base_log(BASE_LOG_ERROR, "node",
             "refusing to sign a message that conflicts with the signing record (%llu/%u)",
             (unsigned long long)h, (unsigned)r);
    return false;
  }
  return true;
}

static void drive(struct node *n, const struct cons_outbuf *first) {
  struct node_engine *e = n->eng;
  size_t head = 0, tail = 0;
  for (uint32_t i = 0; i < first->n; i++) {
    e->fifo[tail++] = first->o[i];
  }
  while (head < tail) {
    struct cons_out o = e->fifo[head++];
    struct cons_outbuf out = {0};
    switch (o.kind) {
    case CONS_OUT_GET_VALUE: {
      struct hash32 id;
      int rc = propose_value(n, &id);
      if (rc == OK) {
        cons_on_value(e->cons, o.height, o.round, &id, &out);
      } else {
        base_log(BASE_LOG_ERROR, "node", "cannot build block %llu: %s",
                 (unsigned long long)o.height, err_name(rc));
      }
      break;
    }
    case CONS_OUT_SIGN_PROPOSAL: {
      struct body *bd = body_find(e, &o.id);
      if (bd == NULL || !may_sign(n, 0, o.height, o.round, o.pol_round, &o.id)) {
        break;
      }
      struct cons_proposal p = {.proposer = n->validator_index,
                                .height = o.height,
                                .round = o.round,
                                .pol_round = o.pol_round,
                                .id = o.id};
      if (cons_proposal_sign(&p, n->keys, &n->chain_id) != OK) {
        break;
      }
      e->signed_since_persist = true;
      send_proposal(n, &p, bd, -1);
      (void)cons_on_proposal(e->cons, &p, bd->valid, &out);
      break;
    }
    case CONS_OUT_SIGN_VOTE: {
      if (!may_sign(n, o.vote_type, o.height, o.round, -1, &o.id)) {
        break;
      }
      struct cons_vote v = {.type = o.vote_type,
                            .validator = n->validator_index,
                            .height = o.height,
                            .round = o.round,
                            .id = o.id};
      if (cons_vote_sign(&v, n->keys, &n->chain_id) != OK) {
        break;
      }
      e->signed_since_persist = true;
      send_vote(n, &v, -1);
      (void)cons_on_vote(e->cons, &v, &out);
      break;
    }
    case CONS_OUT_TIMER:
      if (e->ntimers < TIMERS_MAX) {
        e->timers[e->ntimers++] =
            (struct timer){base_mono_ns() + (uint64_t)o.ms * 1000000u, o.timer, o.height, o.round};
      }
      break;
    case CONS_OUT_DECIDE:
      decide(n, o.round, &o.id);
      break;
    case CONS_OUT_EVIDENCE:
    case CONS_OUT_PROPOSAL_EVIDENCE: {
      uint16_t who = o.kind == CONS_OUT_EVIDENCE ? o.ev[0].validator : o.pev[0].proposer;
      if (who < LIM_VALIDATORS_MAX) {
        atomic_fetch_add_explicit(&n->equivocations[who], 1, memory_order_relaxed);
      }
      base_log(BASE_LOG_WARN, "node", "validator %u equivocated at height %llu round %u",
               (unsigned)who, (unsigned long long)o.height, (unsigned)o.round);
      break;
    }
    }
    for (uint32_t i = 0; i < out.n && tail < FIFO_MAX; i++) {
      e->fifo[tail++] = out.o[i];
    }
    if (out.n > 0 && tail == FIFO_MAX) {
      base_log(BASE_LOG_ERROR, "node", "consensus output queue full");
    }
  }
  atomic_store_explicit(&n->cur_round, cons_round(e->cons), memory_order_relaxed);
  persist_and_flush(n);
}

static void start_height(struct node *n) {
  struct node_engine *e = n->eng;
  struct cons_outbuf out = {0};
  e->between = false;
  e->start_now = false;
  e->ntimers = 0;
  e->height_started_ns = base_mono_ns();
  uint64_t h = n->height + 1;
  const struct cons_wal *wal = e->has_durable ? &e->durable : NULL;
  cons_start(e->cons, h, &n->vals, wal, &out);
  send_status(n, -1); /* peers waiting for work start with us */
  drive(n, &out);
}

/* ---- messages in ------------------------------------------------------------------------- */

/* A proposal or vote for height h: only the height being decided counts
 * (an older one is stale; a later one is left to block sync, which the
 * peers' STATUS triggers). A peer already in the next height starts it
 * here too. */
static bool height_open(struct node *n, uint64_t h) {
  if (h <= n->height) {
    drop(n, NODE_DROP_STALE);
    return false;
  }
  if (h > n->height + 1) {
    drop(n, NODE_DROP_FAR_FUTURE);
    return false;
  }
  if (n->eng->between) {
    start_height(n);
  }
  return true;
}

static void on_proposal(struct node *n, uint16_t peer, const uint8_t *buf, size_t len) {
  struct node_engine *e = n->eng;
  struct node_proposal_msg msg;
  if (node_msg_proposal_parse(buf, len, &msg) != OK) {
    drop(n, NODE_DROP_MALFORMED);
    p2p_punish(n->p2p, peer, "malformed");
    return;
  }
  const struct cons_proposal p = msg.p;
  const uint8_t *bbuf = msg.block;
  uint32_t blen = msg.block_len;
  int rc = cons_proposal_verify(&p, &n->vals, &n->chain_id);
  if (rc != OK) {
    drop(n, rc == ERR_UNAUTHORIZED ? NODE_DROP_NOT_VALIDATOR : NODE_DROP_BAD_SIGNATURE);
    p2p_punish(n->p2p, peer, "bad_proposal");
    return;
  }
  if (!height_open(n, p.height)) {
    return;
  }
  struct body *bd = body_find(e, &p.id);
  bool valid = false;
  if (bd != NULL) {
    valid = bd->valid;
  } else {
    uint8_t *raw = malloc(blen > 0 ? blen : 1);
    if (raw == NULL) {
      return;
    }
    memcpy(raw, bbuf, blen);
    struct hash32 bid;
    bd = body_add(e, &p.id, p.round, raw, blen);
    if (bd == NULL || codec_block_hash(&bd->b->header, &bid) != OK || !base_hash_eq(&bid, &p.id)) {
      if (bd != NULL) {
        body_free(bd);
      }
      drop(n, NODE_DROP_MALFORMED);
      p2p_punish(n->p2p, peer, "malformed");
      return;
    }
    if (msg.commit_len > 0) {
      bd->has_last_commit = codec_commit_decode(&bd->last_commit, msg.commit, msg.commit_len) == OK;
    }
    bd->valid = check_body(n, bd, p.proposer);
    valid = bd->valid;
  }
  struct cons_outbuf out = {0};
  rc = cons_on_proposal(e->cons, &p, valid, &out);
  if (rc == ERR_UNAUTHORIZED) {
    drop(n, NODE_DROP_NOT_VALIDATOR);
  } else if (rc == ERR_NOT_FOUND) {
    drop(n, NODE_DROP_FAR_FUTURE);
  }
  drive(n, &out);
}

static void on_vote(struct node *n, uint16_t peer, const uint8_t *buf, size_t len) {
  struct node_engine *e = n->eng;
  struct cons_vote v;
  if (cons_vote_decode(&v, buf, len) != OK) {
    drop(n, NODE_DROP_MALFORMED);
    p2p_punish(n->p2p, peer, "malformed");
    return;
  }
  int rc = cons_vote_verify(&v, &n->vals, &n->chain_id);
  if (rc != OK) {
    drop(n, rc == ERR_UNAUTHORIZED ? NODE_DROP_NOT_VALIDATOR : NODE_DROP_BAD_SIGNATURE);
    p2p_punish(n->p2p, peer, "bad_vote");
    return;
  }
  if (!height_open(n, v.height)) {
    return;
  }
  struct cons_outbuf out = {0};
  rc = cons_on_vote(e->cons, &v, &out);
  if (rc == ERR_NOT_FOUND) {
    drop(n, NODE_DROP_FAR_FUTURE);
  }
  drive(n, &out);
}

static void sync_request(struct node *n, uint16_t peer, uint64_t from, uint16_t count) {
  struct node_engine *e = n->eng;
  uint8_t buf[NODE_MSG_SYNC_REQ_BYTES];
  node_msg_sync_req_encode(from, count, buf);
  out_queue(n, NODE_MSG_SYNC_REQ, peer, buf, sizeof buf);
  e->sync_pending = true;
  e->sync_peer = peer;
  e->sync_until = from + count - 1;
  e->sync_ns = base_mono_ns();
}

static void on_status(struct node *n, uint16_t peer, const uint8_t *buf, size_t len) {
  struct node_engine *e = n->eng;
  uint64_t h = 0;
  uint32_t round = 0;
  bool deciding = false;
  if (peer >= LIM_VALIDATORS_MAX || node_msg_status_parse(buf, len, &h, &round, &deciding) != OK) {
    drop(n, NODE_DROP_MALFORMED);
    return;
  }
  e->peer_height[peer] = h;
  /* A peer started the height we wait to start (it has work): start it
   * too, so its proposer proposes in round 0 instead of after a timeout. */
  if (e->between && h == n->height && deciding) {
    e->start_now = true;
  }
}

static void on_sync_req(struct node *n, uint16_t peer, const uint8_t *buf, size_t len) {
  uint64_t from = 0;
  uint16_t count = 0;
  if (node_msg_sync_req_parse(buf, len, &from, &count) != OK) {
    drop(n, NODE_DROP_MALFORMED);
    return;
  }
  if (count > SYNC_BATCH + 1) {
    count = SYNC_BATCH + 1;
  }
  struct store_txn *rt = NULL;
  if (store_read_begin(n->store, &rt) != OK) {
    return;
  }
  uint64_t bytes = 0;
  for (uint64_t h = from; h > 0 && h < from + count && bytes < SYNC_BYTES_MAX; h++) {
    uint8_t key[8];
    struct bytes val;
    base_put_u64be(key, h);
    if (store_get(rt, STORE_BLOCKS, (struct bytes){key, 8}, &val) != OK) {
      break;
    }
    if (p2p_send(n->p2p, peer, NODE_MSG_SYNC_BLOCK, val.ptr, val.len) != OK) {
      break;
    }
    bytes += val.len;
  }
  store_txn_abort(rt);
}

static void on_sync_block(struct node *n, uint16_t peer, const uint8_t *buf, size_t len) {
  struct node_engine *e = n->eng;
  if (len == 0 || len > LIM_BLOCK_BYTES_MAX) {
    drop(n, NODE_DROP_MALFORMED);
    return;
  }
  uint8_t *raw = malloc(len);
  struct block *b = malloc(sizeof *b);
  uint16_t *results = calloc(LIM_BLOCK_TXS_MAX, sizeof *results);
  if (raw == NULL || b == NULL || results == NULL) {
    goto out;
  }
  memcpy(raw, buf, len);
  if (codec_block_decode(b, raw, len) != OK) {
    drop(n, NODE_DROP_MALFORMED);
    p2p_punish(n->p2p, peer, "malformed");
    goto out;
  }
  uint64_t h = b->header.height;
  struct store_txn *wt = NULL;
  struct state *st = NULL;
  if (h == n->height && h > 0) {
    /* Our tip again, with the commit its successor names. */
    if (store_write_begin(n->store, &wt) == OK) {
      int rc = ledger_tip_commit_replace(wt, &b->commit);
      if (rc == OK) {
        rc = store_txn_commit(wt);
      } else {
        store_txn_abort(wt);
        drop(n, NODE_DROP_BAD_BLOCK);
      }
    }
    goto out;
  }
  if (h != n->height + 1) {
    drop(n, NODE_DROP_STALE);
    goto out;
  }
  pending_abort(e);
  struct ledger_sigcache cache;
  node_sigcache(n, &cache);
  int rc = store_write_begin(n->store, &wt);
  if (rc == OK) {
    rc = state_create(&st, wt);
  }
  if (rc == OK) {
    rc = ledger_block_apply(st, &n->exec, &cache, b, results);
  }
  if (rc == OK) {
    rc = ledger_block_store(wt, b, results);
  }
  state_destroy(st);
  if (wt != NULL) {
    rc = rc == OK ? store_txn_commit(wt) : (store_txn_abort(wt), rc);
  }
  if (rc == ERR_PREV_HASH) {
    /* Our tip holds another commit than the one this block names: fetch
     * the tip again, then this. */
    sync_request(n, peer, n->height, 2);
    goto out;
  }
  if (rc != OK) {
    if (rc == ERR_BLOCK_INVALID || rc == ERR_COMMIT_INVALID || rc == ERR_TX_ROOT ||
        rc == ERR_STATE_ROOT || rc == ERR_BAD_SIGNATURE) {
      drop(n, NODE_DROP_BAD_BLOCK);
      p2p_punish(n->p2p, peer, "bad_block");
    } else {
      store_failed(n, rc);
    }
    goto out;
  }
  atomic_fetch_add_explicit(&n->blocks_synced, 1, memory_order_relaxed);
  e->height_started_ns = base_mono_ns();
  after_commit(n, b, results, b->commit.round);
  /* Rejoin consensus at the next height at once. */
  e->start_now = true;
  if (e->sync_pending && h >= e->sync_until) {
    e->sync_pending = false;
  }
out:
  free(results);
  free(b);
  free(raw);
}

static void on_message(struct node *n, const struct node_msg *m) {
  switch (m->type) {
  case NODE_MSG_PROPOSAL:
    on_proposal(n, m->peer, m->buf, m->len);
    break;
  case NODE_MSG_VOTE:
    on_vote(n, m->peer, m->buf, m->len);
    break;
  case NODE_MSG_STATUS:
    on_status(n, m->peer, m->buf, m->len);
    break;
  case NODE_MSG_SYNC_REQ:
    on_sync_req(n, m->peer, m->buf, m->len);
    break;
  case NODE_MSG_SYNC_BLOCK:
    on_sync_block(n, m->peer, m->buf, m->len);
    break;
  case NODE_MSG_PEER_UP:
    send_status(n, m->peer);
    resend_own(n, m->peer);
    break;
  default:
    drop(n, NODE_DROP_MALFORMED);
    p2p_punish(n->p2p, m->peer, "unknown_type");
    break;
  }
  out_flush(n);
}

/* ---- p2p callbacks (p2p thread) ------------------------------------------------------------ */

static struct node_msg *msg_copy(uint16_t peer, uint8_t type, const uint8_t *buf, size_t len) {
  struct node_msg *m = malloc(sizeof *m + len);
  if (m == NULL) {
    return NULL;
  }
  m->next = NULL;
  m->peer = peer;
  m->type = type;
  m->len = (uint32_t)len;
  if (len > 0) {
    memcpy(m->buf, buf, len);
  }
  return m;
}

/* Under the queue's lock: appends a copy of the message when the bounds
 * allow (count_max messages, bytes_max bytes). */
static bool queue_push(struct node_queue *q, uint32_t count_max, uint64_t bytes_max, uint16_t peer,
                       uint8_t type, const uint8_t *buf, size_t len) {
  if (q->count >= count_max || q->bytes + len > bytes_max) {
    return false;
  }
  struct node_msg *m = msg_copy(peer, type, buf, len);
  if (m == NULL) {
    return false;
  }
  if (q->tail != NULL) {
    q->tail->next = m;
  } else {
    q->head = m;
  }
  q->tail = m;
  q->count++;
  q->bytes += len;
  return true;
}

/* Under the queue's lock: empties it, returning its list. */
static struct node_msg *queue_take(struct node_queue *q) {
  struct node_msg *m = q->head;
  *q = (struct node_queue){0};
  return m;
}

void node_on_p2p_msg(void *ctx, uint16_t peer, uint8_t type, const uint8_t *buf, size_t len) {
  struct node *n = ctx;
  bool queued = false;
  if (type == NODE_MSG_TXS) {
    pthread_mutex_lock(&n->in_mu);
    queued = queue_push(&n->txq, TXQ_COUNT_MAX, TXQ_BYTES_MAX, peer, type, buf, len);
    if (queued) {
      pthread_cond_signal(&n->in_cv);
    }
    pthread_mutex_unlock(&n->in_mu);
  } else if (type != NODE_MSG_PEER_UP) {
    pthread_mutex_lock(&n->mu);
    queued = queue_push(&n->inbox, INBOX_COUNT_MAX, INBOX_BYTES_MAX, peer, type, buf, len);
    if (queued) {
      pthread_cond_signal(&n->work_cv);
    }
    pthread_mutex_unlock(&n->mu);
  }
  if (!queued) {
    drop(n, type == NODE_MSG_PEER_UP ? NODE_DROP_MALFORMED : NODE_DROP_QUEUE_FULL);
  }
}

void node_on_p2p_peer(void *ctx, uint16_t peer, bool up) {
  if (!up) {
    return;
  }
  struct node *n = ctx;
  pthread_mutex_lock(&n->mu);
  /* Counted against the bounds like any message, so a flapping peer
   * cannot grow the inbox. */
  if (queue_push(&n->inbox, INBOX_COUNT_MAX, INBOX_BYTES_MAX, peer, NODE_MSG_PEER_UP, NULL, 0)) {
    pthread_cond_signal(&n->work_cv);
  }
  pthread_mutex_unlock(&n->mu);
}

/* ---- the loop ----------------------------------------------------------------------------- */

/* Under n->mu: should the next height start now? Else *wake_ns. */
static bool height_due_locked(struct node *n, uint64_t now, uint64_t *wake_ns) {
  struct node_engine *e = n->eng;
  if (e->start_now) {
    return true;
  }
  uint64_t interval = (uint64_t)n->cfg.block_interval_ms * 1000000u;
  uint64_t heartbeat = (uint64_t)n->cfg.heartbeat_ms * 1000000u;
  uint64_t wait = node_mempool_ready_senders(n->mp) > 0 ? interval : heartbeat;
  if (n->backoff_ns > wait) {
    wait = n->backoff_ns;
  }
  if (now - n->last_block_ns >= wait) {
    return true;
  }
  uint64_t at = n->last_block_ns + wait;
  *wake_ns = at < *wake_ns ? at : *wake_ns;
  return false;
}

static void fire_timers(struct node *n, uint64_t now) {
  struct node_engine *e = n->eng;
  for (uint32_t i = 0; i < e->ntimers;) {
    if (e->timers[i].at_ns > now) {
      i++;
      continue;
    }
    struct timer t = e->timers[i];
    e->timers[i] = e->timers[--e->ntimers];
    if (e->between) {
      continue;
    }
    struct cons_outbuf out = {0};
    cons_on_timeout(e->cons, t.kind, t.h, t.r, &out);
    drive(n, &out);
  }
}

/* Nanoseconds from then to now; 0 when then is later (now was read before
 * this pass's commits moved the progress clock). */
static uint64_t elapsed(uint64_t now, uint64_t then) {
  return now > then ? now - then : 0;
}

static void maybe_sync(struct node *n, uint64_t now) {
  struct node_engine *e = n->eng;
  uint64_t best = 0;
  uint16_t who = 0;
  for (uint16_t i = 0; i < n->cfg.npeers && i < LIM_VALIDATORS_MAX; i++) {
    if (e->peer_height[i] > best && p2p_peer_connected(n->p2p, i)) {
      best = e->peer_height[i];
      who = i;
    }
  }
  atomic_store_explicit(&n->best_peer_height, best, memory_order_relaxed);
  if (e->sync_pending && elapsed(now, e->sync_ns) < SYNC_TIMEOUT_NS) {
    return;
  }
  e->sync_pending = false;
  /* One block behind is what consensus itself catches; more is sync's. A
   * decided block whose body was lost also comes this way, and so does the
   * block of a height that stalls while a peer has decided it: the peers
   * that decided it no longer send its votes, so a node that missed them
   * (it restarted just then) would otherwise wait forever, and with only a
   * quorum up the others wait for it. */
  bool stalled = elapsed(now, e->last_progress_ns) >= STALL_NS;
  if (best > n->height + 1 ||
      (best > n->height && (e->decided_unstored || e->between || stalled))) {
    sync_request(n, who, n->height + 1, SYNC_BATCH);
  }
}

static void periodic(struct node *n, uint64_t now) {
  struct node_engine *e = n->eng;
  if (n->p2p == NULL) {
    return;
  }
  if (elapsed(now, e->last_status_ns) >= STATUS_NS) {
    e->last_status_ns = now;
    send_status(n, -1);
  }
  if (!e->between && elapsed(now, e->last_progress_ns) >= RESEND_NS &&
      elapsed(now, e->last_resend_ns) >= RESEND_NS) {
    e->last_resend_ns = now;
    resend_own(n, -1);
  }
  maybe_sync(n, now);
  out_flush(n);
}

static uint64_t next_wake(struct node *n, uint64_t now) {
  struct node_engine *e = n->eng;
  uint64_t wake = now + (uint64_t)WAIT_MAX_MS * 1000000u;
  for (uint32_t i = 0; i < e->ntimers; i++) {
    wake = e->timers[i].at_ns < wake ? e->timers[i].at_ns : wake;
  }
  return wake;
}

void *node_engine_main(void *arg) {
  struct node *n = arg;
  struct node_engine *e = n->eng;
  e->last_progress_ns = base_mono_ns();
  /* The first height starts by the same rules as any other (work, or a
   * heartbeat, or a peer in it), except after a restart in the middle of
   * it: then at once, to send again what this node had signed. */
  e->between = true;
  e->start_now = e->has_durable && e->durable.height == n->height + 1;
  pthread_mutex_lock(&n->mu);
  while (!n->stopping) {
    uint64_t now = base_mono_ns();
    uint64_t wake = next_wake(n, now);
    bool due = e->between && height_due_locked(n, now, &wake);
    bool timers_due = wake <= now;
    if (n->inbox.head == NULL && !due && !timers_due) {
      struct timespec ts;
      node_deadline(&ts, (wake - now + 999999u) / 1000000u);
      int rc = pthread_cond_timedwait(&n->work_cv, &n->mu, &ts);
      assert(rc == 0 || rc == ETIMEDOUT);
      (void)rc;
    }
    struct node_msg *msgs = queue_take(&n->inbox);
    pthread_mutex_unlock(&n->mu);
    while (msgs != NULL) {
      struct node_msg *m = msgs;
      msgs = m->next;
      on_message(n, m);
      free(m);
    }
    now = base_mono_ns();
    fire_timers(n, now);
    pthread_mutex_lock(&n->mu);
    uint64_t ignored = UINT64_MAX;
    bool start = e->between && !n->stopping && height_due_locked(n, now, &ignored);
    pthread_mutex_unlock(&n->mu);
    if (start) {
      start_height(n);
    }
    periodic(n, now);
    pthread_mutex_lock(&n->mu);
  }
  pthread_mutex_unlock(&n->mu);
  pending_abort(e);
  return NULL;
}

/* ---- transactions between nodes ------------------------------------------------------------- */

void node_gossip_tx(struct node *n, const uint8_t *buf, size_t len) {
  if (n->p2p == NULL) {
    return;
  }
  pthread_mutex_lock(&n->in_mu);
  if (n->gossip_len + 4 + len <= GOSSIP_BYTES_MAX) {
    if (n->gossip_len == 0) {
      n->gossip_len = 4;
      n->gossip_n = 0;
      n->gossip_first_ns = base_mono_ns();
    }
    base_put_u32be(n->gossip_buf + n->gossip_len, (uint32_t)len);
    memcpy(n->gossip_buf + n->gossip_len + 4, buf, len);
    n->gossip_len += 4 + len;
    n->gossip_n++;
    pthread_cond_signal(&n->in_cv);
  }
  /* else: the batch is full; the transaction still reaches a block through
   * this node, and peers learn it from that block. */
  pthread_mutex_unlock(&n->in_mu);
}

/* Under in_mu: sends the batch when it is old or big enough. */
static void gossip_flush_locked(struct node *n, bool force) {
  if (n->gossip_len == 0) {
    return;
  }
  uint64_t now = base_mono_ns();
  if (!force && now - n->gossip_first_ns < GOSSIP_DELAY_NS &&
      n->gossip_len < GOSSIP_BYTES_MAX / 2) {
    return;
  }
  base_put_u32be(n->gossip_buf, n->gossip_n);
  (void)p2p_broadcast(n->p2p, NODE_MSG_TXS, n->gossip_buf, n->gossip_len);
  n->gossip_len = 0;
  n->gossip_n = 0;
}

static void ingress_txs(struct node *n, const struct node_msg *m) {
  struct node_txs_iter it = {0};
  struct bytes tx;
  int rc;
  while ((rc = node_msg_txs_next(m->buf, m->len, &it, &tx)) == OK) {
    struct hash32 h;
    /* Rejections are counted by node_tx_admit like any submission. */
    int arc = node_tx_admit(n, tx.ptr, tx.len, &h, false);
    (void)arc;
  }
  if (rc != ERR_NOT_FOUND) {
    drop(n, NODE_DROP_MALFORMED);
  }
}

void *node_ingress_main(void *arg) {
  struct node *n = arg;
  pthread_mutex_lock(&n->in_mu);
  for (;;) {
    bool stopping = atomic_load_explicit(&n->ingress_stop, memory_order_acquire);
    if (stopping) {
      break;
    }
    if (n->txq.head == NULL) {
      struct timespec ts;
      node_deadline(&ts, n->gossip_len > 0 ? 2 : WAIT_MAX_MS);
      (void)pthread_cond_timedwait(&n->in_cv, &n->in_mu, &ts);
    }
    gossip_flush_locked(n, false);
    struct node_msg *msgs = queue_take(&n->txq);
    pthread_mutex_unlock(&n->in_mu);
    while (msgs != NULL) {
      struct node_msg *m = msgs;
      msgs = m->next;
      ingress_txs(n, m);
      free(m);
    }
    pthread_mutex_lock(&n->in_mu);
  }
  gossip_flush_locked(n, true);
  pthread_mutex_unlock(&n->in_mu);
  return NULL;
}

void node_net_stats(struct node *n, struct node_net_stats *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < NODE_DROP_COUNT_; i++) {
    out->drops[i] = atomic_load_explicit(&n->drops[i], memory_order_relaxed);
  }
  for (int i = 0; i < LIM_VALIDATORS_MAX; i++) {
    out->equivocations[i] = atomic_load_explicit(&n->equivocations[i], memory_order_relaxed);
  }
  out->rounds_sum = atomic_load_explicit(&n->rounds_sum, memory_order_relaxed);
  out->heights_decided = atomic_load_explicit(&n->rounds_n, memory_order_relaxed);
  out->blocks_synced = atomic_load_explicit(&n->blocks_synced, memory_order_relaxed);
  out->have_p2p = n->p2p != NULL;
  if (n->p2p != NULL) {
    p2p_stats(n->p2p, &out->p2p);
  }
}
