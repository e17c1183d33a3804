/*
 * sim — the deterministic simulator of medchain's consensus.
 *
 * Every validator runs the real state machine (src/consensus) in this one
 * process; the clock, the network and the disk are simulated and every
 * random choice comes from the run's seed, so a run replays exactly from
 * its seed. A run has two phases:
 *
 *   chaos  (CHAOS_MS)  messages are dropped, delayed, duplicated and
 *                      reordered; the network is partitioned and healed;
 *                      validators crash (sometimes between making their
 *                      signing record durable and sending the message) and
 *                      restart from that record; clocks run at different
 *                      rates; in "twins" runs one validator's key runs in
 *                      two nodes at once (a Byzantine equivocator).
 *   calm   (CALM_MS)   the network heals, every crashed node restarts, no
 *                      more faults: the chain must keep deciding.
 *
 * Checkers, after every decision and signature:
 *   agreement   no two honest nodes decide different values at a height;
 *   validity    a decided value was proposed for that height by the
 *               application (GET_VALUE), and carries a commit of more than
 *               two thirds of the power;
 *   no double-sign  no honest validator signs two different messages for
 *               one height, round and kind, across crashes;
 *   liveness    in the calm phase every honest node decides at least
 *               LIVE_MIN_HEIGHTS more heights.
 *
 * Usage: medchain_sim [--seeds A-B | --seeds N] [--verbose]. Prints one
 * line per failing seed (with the command that replays it) and a summary
 * with seeds/s; exit status 1 when any seed failed.
 */
#include "consensus/consensus.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODES_MAX 9
#define HEIGHTS_MAX 2048
#define CHAOS_MS 12000u
#define CALM_MS 15000u
#define LIVE_MIN_HEIGHTS 5
#define BLOCK_INTERVAL_MS 60u
#define GOSSIP_MS 150u
#define EVENTS_MAX 2000000u

/* ---- deterministic randomness -------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t rng_below(uint32_t n) {
  return n == 0 ? 0 : (uint32_t)(rng_next() % n);
}
static bool rng_chance(uint32_t permille) {
  return rng_below(1000) < permille;
}

/* ---- messages and events --------------------------------------------------------- */

enum msg_kind { M_PROPOSAL = 1, M_VOTE, M_STATUS, M_SYNC_REQ, M_SYNC_RESP };

struct msg {
  enum msg_kind kind;
  int from;
  uint64_t height; /* STATUS, SYNC_* */
  struct cons_proposal p;
  struct cons_vote v;
  struct hash32 id;      /* SYNC_RESP */
  struct commit *commit; /* SYNC_RESP, owned */
  int refs;
};

enum ev_kind { E_DELIVER = 1, E_TIMER, E_GOSSIP, E_NEXT_HEIGHT, E_CRASH, E_RESTART, E_PARTITION };

struct event {
  uint64_t t;
  uint64_t seq;
  enum ev_kind kind;
  int node;
  uint64_t epoch; /* node epoch for timers/ticks: stale after a crash */
  struct msg *m;
  enum cons_timer timer;
  uint64_t height;
  uint32_t round;
};

struct heap {
  struct event *e;
  size_t n, cap;
};

static bool ev_less(const struct event *a, const struct event *b) {
  return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct heap *h, const struct event *e) {
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 4096;
    h->e = realloc(h->e, h->cap * sizeof *h->e);
    if (h->e == NULL) {
      abort();
    }
  }
  size_t i = h->n++;
  h->e[i] = *e;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ev_less(&h->e[i], &h->e[p])) {
      break;
    }
    struct event t = h->e[i];
    h->e[i] = h->e[p];
    h->e[p] = t;
    i = p;
  }
}

static struct event heap_pop(struct heap *h) {
  assert(h->n > 0);
  struct event top = h->e[0];
  h->e[0] = h->e[--h->n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && ev_less(&h->e[l], &h->e[m])) {
      m = l;
    }
    if (r < h->n && ev_less(&h->e[r], &h->e[m])) {
      m = r;
    }
    if (m == i) {
      break;
    }
    struct event t = h->e[i];
    h->e[i] = h->e[m];
    h->e[m] = t;
    i = m;
  }
  return top;
}

/* ---- the world -------------------------------------------------------------------- */

struct signed_rec {
  uint64_t h;
  uint32_t r;
  int kind;
  struct hash32 id;
};

struct node {
  int vidx; /* validator index (twins share one) */
  bool byz; /* a twin */
  bool up;
  uint64_t epoch;
  int skew_permille;
  struct cons *c;
  bool between;    /* decided, waiting for the next height to start */
  uint64_t height; /* last decided height */
  struct hash32 decided[HEIGHTS_MAX + 1];
  struct commit *commits[HEIGHTS_MAX + 1];
  uint8_t *disk; /* CONS_WAL_BYTES */
  bool disk_has;
  int group; /* partition group */
  uint64_t height_at_calm;
};

struct params {
  int nvals;
  int nnodes; /* nvals, +1 with twins */
  bool twins;
  bool weighted;
  uint32_t drop_permille, dup_permille, delay_max_ms;
  uint32_t precommit_drop_permille; /* also status and sync messages */
  bool partitions, crashes, skew;
};

struct world {
  uint64_t seed;
  struct params p;
  uint64_t now;
  uint64_t seq;
  bool calm;
  struct heap q;
  struct node nodes[NODES_MAX];
  struct cry_keys *keys[NODES_MAX];
  struct cons_valset vs;
  struct bytes chain_id;
  struct cons_timeouts to;
  /* checkers */
  bool have[HEIGHTS_MAX + 1];
  struct hash32 agreed[HEIGHTS_MAX + 1];
  struct hash32 *proposed[HEIGHTS_MAX + 1];
  uint32_t nproposed[HEIGHTS_MAX + 1];
  struct signed_rec *signs[NODES_MAX];
  size_t nsigns[NODES_MAX], capsigns[NODES_MAX];
  char failure[256];
  uint64_t events, decisions, messages, equivocations;
};

static struct world W;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...) {
  if (W.failure[0] != '\0') {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(W.failure, sizeof W.failure, fmt, ap);
  va_end(ap);
}

static void schedule(struct event e, uint64_t delay) {
  e.t = W.now + delay;
  e.seq = W.seq++;
  heap_push(&W.q, &e);
}

static struct msg *msg_new(enum msg_kind k, int from) {
  struct msg *m = calloc(1, sizeof *m);
  if (m == NULL) {
    abort();
  }
  m->kind = k;
  m->from = from;
  return m;
}

static void msg_unref(struct msg *m) {
  if (--m->refs == 0) {
    free(m->commit);
    free(m);
  }
}

/* Sends m from its sender to node `to` through the faulty network. */
static void net_send(struct msg *m, int to) {
  int from = m->from;
  assert(to != from);
  if (!W.calm) {
    if (W.p.partitions && W.nodes[from].group != W.nodes[to].group) {
      return;
    }
    if (rng_chance(W.p.drop_permille)) {
      return;
    }
    /* Lost precommits are what make rounds end without a decision at
     * some nodes and with one at others: the case locks exist for. */
    bool precommit = m->kind == M_VOTE && m->v.type == CONS_PRECOMMIT;
    bool sync = m->kind == M_STATUS || m->kind == M_SYNC_REQ || m->kind == M_SYNC_RESP;
    if ((precommit || sync) && rng_chance(W.p.precommit_drop_permille)) {
      return;
    }
  }
  uint32_t copies = !W.calm && rng_chance(W.p.dup_permille) ? 2 : 1;
  for (uint32_t k = 0; k < copies; k++) {
    uint64_t delay = 1 + rng_below(W.calm ? 10 : W.p.delay_max_ms);
    m->refs++;
    W.messages++;
    schedule((struct event){.kind = E_DELIVER, .node = to, .m = m}, delay);
  }
}

static void broadcast(struct msg *m) {
  m->refs++; /* held during the loop */
  for (int i = 0; i < W.p.nnodes; i++) {
    if (i != m->from) {
      net_send(m, i);
    }
  }
  msg_unref(m);
}

static void send_one(struct msg *m, int to) {
  m->refs++;
  net_send(m, to);
  msg_unref(m);
}

/* ---- checkers ------------------------------------------------------------------------ */

static void check_decision(int ni, uint64_t h, const struct hash32 *id) {
  if (h > HEIGHTS_MAX) {
    fail("height %" PRIu64 " beyond the simulator's table", h);
    return;
  }
  W.decisions++;
  if (W.nodes[ni].byz) {
    return;
  }
  bool proposed = false;
  for (uint32_t i = 0; i < W.nproposed[h]; i++) {
    proposed = proposed || base_hash_eq(&W.proposed[h][i], id);
  }
  if (!proposed) {
    fail("validity: node %d decided a value nobody proposed at height %" PRIu64, ni, h);
  }
  if (!W.have[h]) {
    W.have[h] = true;
    W.agreed[h] = *id;
  } else if (!base_hash_eq(&W.agreed[h], id)) {
    fail("agreement: node %d decided another value at height %" PRIu64, ni, h);
  }
}

static void check_sign(int ni, int kind, uint64_t h, uint32_t r, const struct hash32 *id) {
  if (W.nodes[ni].byz) {
    return;
  }
  int v = W.nodes[ni].vidx;
  for (size_t i = W.nsigns[v]; i-- > 0;) {
    const struct signed_rec *s = &W.signs[v][i];
    if (s->h + 2 < h) {
      break;
    }
    if (s->h == h && s->r == r && s->kind == kind && !base_hash_eq(&s->id, id)) {
      fail("double-sign: validator %d signed two kind-%d messages at %" PRIu64 "/%u", v, kind, h,
           r);
    }
  }
  if (W.nsigns[v] == W.capsigns[v]) {
    W.capsigns[v] = W.capsigns[v] ? 2 * W.capsigns[v] : 1024;
    W.signs[v] = realloc(W.signs[v], W.capsigns[v] * sizeof *W.signs[v]);
    if (W.signs[v] == NULL) {
      abort();
    }
  }
  W.signs[v][W.nsigns[v]++] = (struct signed_rec){h, r, kind, *id};
}

/* ---- one node ------------------------------------------------------------------------ */

static bool value_known(uint64_t h, const struct hash32 *id) {
  for (uint32_t i = 0; h <= HEIGHTS_MAX && i < W.nproposed[h]; i++) {
    if (base_hash_eq(&W.proposed[h][i], id)) {
      return true;
    }
  }
  return false;
}

static void make_value(int ni, uint64_t h, uint32_t r, struct hash32 *id) {
  uint8_t buf[32];
  base_put_u64be(buf, W.seed);
  base_put_u64be(buf + 8, h);
  base_put_u32be(buf + 16, r);
  base_put_u32be(buf + 20, (uint32_t)ni);
  base_put_u64be(buf + 24, rng_next());
  cry_hash_tagged(id, "medchain.sim.value", buf, sizeof buf);
  if (h <= HEIGHTS_MAX) {
    W.proposed[h] = realloc(W.proposed[h], (W.nproposed[h] + 1) * sizeof *W.proposed[h]);
    if (W.proposed[h] == NULL) {
      abort();
    }
    W.proposed[h][W.nproposed[h]++] = *id;
  }
}

static void node_decided(int ni, uint64_t h, const struct hash32 *id, struct commit *cm);

/* Persist, then (unless the node crashes right here) sign, send, count. */
static bool persist(int ni, int kind, uint64_t h, uint32_t r, int32_t pol,
                    const struct hash32 *id) {
  struct node *n = &W.nodes[ni];
  if (n->disk_has) {
    static struct cons_wal prev;
    if (cons_wal_decode(&prev, n->disk) != OK) {
      fail("node %d: its signing record does not decode", ni);
      return false;
    }
    if (!cons_wal_may_sign(&prev, kind, h, r, pol, id)) {
      fail("double-sign: node %d asked to sign against its record at %" PRIu64 "/%u", ni, h, r);
      return false;
    }
  }
  cons_wal_encode(cons_wal_get(n->c), n->disk);
  n->disk_has = true;
  if (!W.calm && W.p.crashes && rng_chance(4)) {
    /* Crash after the fsync, before the send. */
    n->up = false;
    n->epoch++;
    schedule((struct event){.kind = E_RESTART, .node = ni}, 50 + rng_below(1500));
    return false;
  }
  check_sign(ni, kind, h, r, id);
  return true;
}

/* A re-proposal travels with the prevotes that justify it. */
static void send_pol(int ni, const struct cons_proposal *p) {
  if (p->pol_round < 0) {
    return;
  }
  struct cons_vote v[LIM_VALIDATORS_MAX];
  uint32_t k = cons_pol_votes(W.nodes[ni].c, (uint32_t)p->pol_round, &p->id, v, LIM_VALIDATORS_MAX);
  for (uint32_t i = 0; i < k; i++) {
    struct msg *m = msg_new(M_VOTE, ni);
    m->v = v[i];
    broadcast(m);
  }
}

static void drive(int ni, struct cons_outbuf *first) {
  struct node *n = &W.nodes[ni];
  /* A FIFO of outputs: handing back own messages adds more. */
  static struct cons_out fifo[4096];
  size_t head = 0, tail = 0;
  for (uint32_t i = 0; i < first->n; i++) {
    fifo[tail++] = first->o[i];
  }
  while (head < tail && n->up) {
    struct cons_out o = fifo[head++];
    struct cons_outbuf out = {0};
    switch (o.kind) {
    case CONS_OUT_GET_VALUE: {
      struct hash32 id;
      make_value(ni, o.height, o.round, &id);
      cons_on_value(n->c, o.height, o.round, &id, &out);
      break;
    }
    case CONS_OUT_SIGN_PROPOSAL: {
      if (!persist(ni, 0, o.height, o.round, o.pol_round, &o.id)) {
        return;
      }
      struct msg *m = msg_new(M_PROPOSAL, ni);
      m->p = (struct cons_proposal){.proposer = (uint16_t)n->vidx,
                                    .height = o.height,
                                    .round = o.round,
                                    .pol_round = o.pol_round,
                                    .id = o.id};
      if (cons_proposal_sign(&m->p, W.keys[n->vidx], &W.chain_id) != OK) {
        fail("node %d: proposal signing failed", ni);
      }
      send_pol(ni, &m->p);
      (void)cons_on_proposal(n->c, &m->p, value_known(o.height, &o.id), &out);
      broadcast(m);
      break;
    }
    case CONS_OUT_SIGN_VOTE: {
      if (!persist(ni, o.vote_type, o.height, o.round, -1, &o.id)) {
        return;
      }
      struct msg *m = msg_new(M_VOTE, ni);
      m->v = (struct cons_vote){.type = o.vote_type,
                                .validator = (uint16_t)n->vidx,
                                .height = o.height,
                                .round = o.round,
                                .id = o.id};
      if (cons_vote_sign(&m->v, W.keys[n->vidx], &W.chain_id) != OK) {
        fail("node %d: vote signing failed", ni);
      }
      (void)cons_on_vote(n->c, &m->v, &out);
      broadcast(m);
      break;
    }
    case CONS_OUT_TIMER: {
      uint64_t ms = (uint64_t)o.ms * (uint64_t)(1000 + n->skew_permille) / 1000u;
      schedule((struct event){.kind = E_TIMER,
                              .node = ni,
                              .epoch = n->epoch,
                              .timer = o.timer,
                              .height = o.height,
                              .round = o.round},
               ms);
      break;
    }
    case CONS_OUT_DECIDE: {
      struct commit *cm = malloc(sizeof *cm);
      if (cm == NULL) {
        abort();
      }
      if (cons_commit(n->c, cm) != OK) {
        fail("node %d: no commit after deciding", ni);
      }
      node_decided(ni, o.height, &o.id, cm);
      break;
    }
    case CONS_OUT_EVIDENCE:
    case CONS_OUT_PROPOSAL_EVIDENCE:
      W.equivocations++;
      if (!W.p.twins) {
        fail("evidence of equivocation without a Byzantine node");
      }
      break;
    }
    for (uint32_t i = 0; i < out.n; i++) {
      if (tail == sizeof fifo / sizeof fifo[0]) {
        fail("node %d: output queue overflow", ni);
        return;
      }
      fifo[tail++] = out.o[i];
    }
  }
}

static void start_height(int ni) {
  struct node *n = &W.nodes[ni];
  struct cons_outbuf out = {0};
  n->between = false;
  cons_start(n->c, n->height + 1, &W.vs, NULL, &out);
  drive(ni, &out);
}

static void node_decided(int ni, uint64_t h, const struct hash32 *id, struct commit *cm) {
  struct node *n = &W.nodes[ni];
  assert(h == n->height + 1);
  if (h > HEIGHTS_MAX) {
    free(cm);
    fail("height beyond the table");
    return;
  }
  check_decision(ni, h, id);
  n->height = h;
  n->decided[h] = *id;
  n->commits[h] = cm;
  n->between = true;
  schedule((struct event){.kind = E_NEXT_HEIGHT, .node = ni, .epoch = n->epoch, .height = h + 1},
           BLOCK_INTERVAL_MS);
}

/* A commit from a peer: every signature a precommit of a validator for
 * (h, id), distinct validators, more than two thirds of the power. */
static bool commit_ok(uint64_t h, const struct hash32 *id, const struct commit *cm) {
  if (cm->height != h || !base_hash_eq(&cm->block_hash, id)) {
    return false;
  }
  uint64_t p = 0;
  int last = -1;
  for (uint16_t i = 0; i < cm->count; i++) {
    const struct commit_sig *s = &cm->sigs[i];
    if ((int)s->validator_index <= last || s->validator_index >= W.vs.n) {
      return false;
    }
    last = s->validator_index;
    struct cons_vote v = {.type = CONS_PRECOMMIT,
                          .validator = s->validator_index,
                          .height = h,
                          .round = cm->round,
                          .id = *id,
                          .sig = s->sig};
    if (cons_vote_verify(&v, &W.vs, &W.chain_id) != OK) {
      return false;
    }
    p += W.vs.power[s->validator_index];
  }
  return 3 * p > 2 * cons_total_power(&W.vs);
}

static void restart(int ni) {
  struct node *n = &W.nodes[ni];
  n->up = true;
  n->epoch++;
  cons_init(n->c, (uint16_t)n->vidx, &W.to);
  static struct cons_wal wal;
  bool have = n->disk_has && cons_wal_decode(&wal, n->disk) == OK;
  if (n->disk_has && !have) {
    fail("node %d: signing record unreadable after restart", ni);
  }
  struct cons_outbuf out = {0};
  n->between = false;
  cons_start(n->c, n->height + 1, &W.vs, have ? &wal : NULL, &out);
  drive(ni, &out);
  schedule((struct event){.kind = E_GOSSIP, .node = ni, .epoch = n->epoch}, rng_below(GOSSIP_MS));
}

static void deliver(int ni, struct msg *m) {
  struct node *n = &W.nodes[ni];
  if (!n->up) {
    return;
  }
  struct cons_outbuf out = {0};
  uint64_t cur = n->height + 1; /* the height being decided */
  switch (m->kind) {
  case M_PROPOSAL:
  case M_VOTE: {
    uint64_t h = m->kind == M_PROPOSAL ? m->p.height : m->v.height;
    int rc = m->kind == M_PROPOSAL ? cons_proposal_verify(&m->p, &W.vs, &W.chain_id)
                                   : cons_vote_verify(&m->v, &W.vs, &W.chain_id);
    if (rc != OK) {
      fail("node %d: a correctly signed message failed to verify", ni);
      return;
    }
    if (h > cur) {
      struct msg *r = msg_new(M_SYNC_REQ, ni);
      r->height = cur;
      send_one(r, m->from);
      return;
    }
    if (h < cur) {
      return;
    }
    if (n->between) {
      start_height(ni); /* a peer already started it */
      if (!n->up) {
        return;
      }
    }
    if (m->kind == M_PROPOSAL) {
      (void)cons_on_proposal(n->c, &m->p, value_known(h, &m->p.id), &out);
    } else {
      (void)cons_on_vote(n->c, &m->v, &out);
    }
    drive(ni, &out);
    return;
  }
  case M_STATUS:
    if (m->height > n->height) {
      struct msg *r = msg_new(M_SYNC_REQ, ni);
      r->height = cur;
      send_one(r, m->from);
    }
    return;
  case M_SYNC_REQ:
    if (m->height >= 1 && m->height <= n->height && m->height <= HEIGHTS_MAX) {
      struct msg *r = msg_new(M_SYNC_RESP, ni);
      r->height = m->height;
      r->id = n->decided[m->height];
      r->commit = malloc(sizeof *r->commit);
      if (r->commit == NULL) {
        abort();
      }
      *r->commit = *n->commits[m->height];
      send_one(r, m->from);
    }
    return;
  case M_SYNC_RESP: {
    if (m->height != cur) {
      return;
    }
    if (!commit_ok(m->height, &m->id, m->commit)) {
      fail("node %d: a synced commit does not verify", ni);
      return;
    }
    struct commit *cm = malloc(sizeof *cm);
    if (cm == NULL) {
      abort();
    }
    *cm = *m->commit;
    node_decided(ni, m->height, &m->id, cm);
    /* Ask for the next one at once; the peer answers if it has it. */
    struct msg *r = msg_new(M_SYNC_REQ, ni);
    r->height = m->height + 1;
    send_one(r, m->from);
    return;
  }
  }
}

static void gossip(int ni) {
  struct node *n = &W.nodes[ni];
  struct msg *s = msg_new(M_STATUS, ni);
  s->height = n->height;
  broadcast(s);
  if (!n->between) {
    struct cons_proposal p;
    if (cons_own_proposal(n->c, &p)) {
      send_pol(ni, &p);
      struct msg *m = msg_new(M_PROPOSAL, ni);
      m->p = p;
      broadcast(m);
    }
    struct cons_vote v[2 * CONS_ROUND_SLOTS];
    uint32_t k = cons_own_votes(n->c, v, 2 * CONS_ROUND_SLOTS);
    for (uint32_t i = 0; i < k; i++) {
      struct msg *m = msg_new(M_VOTE, ni);
      m->v = v[i];
      broadcast(m);
    }
  }
  schedule((struct event){.kind = E_GOSSIP, .node = ni, .epoch = n->epoch}, GOSSIP_MS);
}

/* ---- a run ------------------------------------------------------------------------------ */

static void params_from_seed(struct params *p) {
  static const int sizes[] = {4, 4, 5, 7};
  p->nvals = sizes[rng_below(4)];
  p->twins = rng_chance(300);
  p->nnodes = p->nvals + (p->twins ? 1 : 0);
  p->weighted = rng_chance(400);
  p->drop_permille = rng_below(300);
  p->dup_permille = rng_below(100);
  p->delay_max_ms = 5 + rng_below(300);
  p->partitions = rng_chance(500);
  p->crashes = rng_chance(600);
  p->skew = rng_chance(500);
  p->precommit_drop_permille = rng_chance(400) ? 300 + rng_below(500) : 0;
}

static void world_free(void) {
  for (int i = 0; i < NODES_MAX; i++) {
    free(W.nodes[i].c);
    free(W.nodes[i].disk);
    for (int h = 0; h <= HEIGHTS_MAX; h++) {
      free(W.nodes[i].commits[h]);
    }
    cry_keys_destroy(W.keys[i]);
    free(W.signs[i]);
  }
  for (int h = 0; h <= HEIGHTS_MAX; h++) {
    free(W.proposed[h]);
  }
  while (W.q.n > 0) {
    struct event e = heap_pop(&W.q);
    if (e.m != NULL) {
      msg_unref(e.m);
    }
  }
  free(W.q.e);
}

static void world_init(uint64_t seed) {
  memset(&W, 0, sizeof W);
  W.seed = seed;
  rng_state = seed * 0x2545f4914f6cdd1dull + 1;
  params_from_seed(&W.p);
  W.chain_id = (struct bytes){(const uint8_t *)"sim-chain", 9};
  W.to = (struct cons_timeouts){300, 100, 150, 50, 150, 50};
  W.vs.n = (uint16_t)W.p.nvals;
  for (int v = 0; v < W.p.nvals; v++) {
    uint8_t s[CRY_SEED_BYTES];
    memset(s, 0x5a, sizeof s);
    s[0] = (uint8_t)v;
    W.keys[v] = cry_keys_from_seed(s);
    if (W.keys[v] == NULL) {
      abort();
    }
    cry_keys_sign_pk(W.keys[v], &W.vs.pk[v]);
    W.vs.power[v] = W.p.weighted ? 1 + rng_below(3) : 1;
  }
  if (W.p.twins) {
    /* The twin's validator must hold less than a third of the power. */
    uint64_t total = cons_total_power(&W.vs);
    while (3 * W.vs.power[0] >= total) {
      W.vs.power[0] = 1;
      total = cons_total_power(&W.vs);
    }
  }
  for (int i = 0; i < W.p.nnodes; i++) {
    struct node *n = &W.nodes[i];
    n->vidx = i < W.p.nvals ? i : 0;
    n->byz = W.p.twins && n->vidx == 0;
    n->skew_permille = W.p.skew ? (int)rng_below(700) - 200 : 0;
    n->c = malloc(sizeof *n->c);
    n->disk = calloc(1, CONS_WAL_BYTES);
    if (n->c == NULL || n->disk == NULL) {
      abort();
    }
  }
}

static void chaos_event(void) {
  uint32_t what = rng_below(3);
  if (what == 0 && W.p.crashes) {
    int ni = (int)rng_below((uint32_t)W.p.nnodes);
    if (W.nodes[ni].up) {
      W.nodes[ni].up = false;
      W.nodes[ni].epoch++;
      schedule((struct event){.kind = E_RESTART, .node = ni}, 100 + rng_below(3000));
    }
  } else if (what == 1 && W.p.partitions) {
    for (int i = 0; i < W.p.nnodes; i++) {
      W.nodes[i].group = (int)rng_below(2);
    }
  } else if (what == 2 && W.p.partitions) {
    for (int i = 0; i < W.p.nnodes; i++) {
      W.nodes[i].group = 0;
    }
  }
  schedule((struct event){.kind = E_PARTITION}, 200 + rng_below(2000));
}

static void calm_down(void) {
  W.calm = true;
  for (int i = 0; i < W.p.nnodes; i++) {
    W.nodes[i].group = 0;
  }
  for (int i = 0; i < W.p.nnodes; i++) {
    if (!W.nodes[i].up) {
      restart(i);
    }
  }
  for (int i = 0; i < W.p.nnodes; i++) {
    W.nodes[i].height_at_calm = W.nodes[i].height;
  }
}

static bool run(uint64_t seed, bool verbose) {
  world_init(seed);
  for (int i = 0; i < W.p.nnodes; i++) {
    restart(i);
  }
  schedule((struct event){.kind = E_PARTITION}, 100);
  bool calmed = false;
  while (W.q.n > 0 && W.failure[0] == '\0') {
    struct event e = heap_pop(&W.q);
    W.now = e.t;
    if (++W.events > EVENTS_MAX) {
      fail("more than %u events", EVENTS_MAX);
      break;
    }
    if (!calmed && W.now >= CHAOS_MS) {
      calmed = true;
      calm_down();
    }
    if (W.now >= CHAOS_MS + CALM_MS) {
      if (e.m != NULL) {
        msg_unref(e.m);
      }
      break;
    }
    struct node *n = e.kind == E_PARTITION ? NULL : &W.nodes[e.node];
    switch (e.kind) {
    case E_DELIVER:
      deliver(e.node, e.m);
      msg_unref(e.m);
      break;
    case E_TIMER:
      if (n->up && n->epoch == e.epoch && !n->between) {
        struct cons_outbuf out = {0};
        cons_on_timeout(n->c, e.timer, e.height, e.round, &out);
        drive(e.node, &out);
      }
      break;
    case E_GOSSIP:
      if (n->up && n->epoch == e.epoch) {
        gossip(e.node);
      }
      break;
    case E_NEXT_HEIGHT:
      if (n->up && n->epoch == e.epoch && n->between && n->height + 1 == e.height) {
        start_height(e.node);
      }
      break;
    case E_RESTART:
      if (!n->up) {
        restart(e.node);
      }
      break;
    case E_CRASH:
      break;
    case E_PARTITION:
      if (!W.calm) {
        chaos_event();
      }
      break;
    }
  }
  if (W.failure[0] == '\0') {
    for (int i = 0; i < W.p.nnodes; i++) {
      const struct node *n = &W.nodes[i];
      if (!n->byz && n->height < n->height_at_calm + LIVE_MIN_HEIGHTS) {
        fail("liveness: node %d decided %" PRIu64 " heights in the calm phase (< %d)", i,
             n->height - n->height_at_calm, LIVE_MIN_HEIGHTS);
      }
    }
  }
  bool ok = W.failure[0] == '\0';
  if (verbose || !ok) {
    uint64_t hmin = UINT64_MAX, hmax = 0;
    for (int i = 0; i < W.p.nnodes; i++) {
      hmin = W.nodes[i].height < hmin ? W.nodes[i].height : hmin;
      hmax = W.nodes[i].height > hmax ? W.nodes[i].height : hmax;
    }
    printf("seed %" PRIu64 ": %s  n=%d%s%s drop=%u%% dup=%u%% delay<=%ums%s%s%s  heights %" PRIu64
           "..%" PRIu64 ", %" PRIu64 " events, %" PRIu64 " messages, %" PRIu64
           " equivocations%s%s\n",
           seed, ok ? "ok" : "FAIL", W.p.nvals, W.p.twins ? "+twin" : "",
           W.p.weighted ? " weighted" : "", W.p.drop_permille / 10, W.p.dup_permille / 10,
           W.p.delay_max_ms, W.p.partitions ? " partitions" : "", W.p.crashes ? " crashes" : "",
           W.p.skew ? " skew" : "", hmin, hmax, W.events, W.messages, W.equivocations,
           ok ? "" : "\n  ", W.failure);
    for (int i = 0; verbose && !ok && i < W.p.nnodes; i++) {
      const struct node *n = &W.nodes[i];
      const struct cons_wal *w = cons_wal_get(n->c);
      printf("  node %d: up=%d height=%" PRIu64 " round=%u step=%d locked=%d valid=%d between=%d\n",
             i, n->up, n->height, w->round, (int)cons_step(n->c), w->locked_round, w->valid_round,
             n->between);
      for (int k = 0; k < CONS_ROUND_SLOTS; k++) {
        const struct cons_round *r = &n->c->rounds[k];
        if (r->used) {
          printf("    round %u: proposal=%d valid=%d prevotes=%" PRIu64 " precommits=%" PRIu64
                 " of %" PRIu64 " timers=%d%d\n",
                 r->round, r->has_proposal, r->proposal_valid, r->prevote_power, r->precommit_power,
                 n->c->total_power, r->prevote_timer_set, r->precommit_timer_set);
        }
      }
    }
    if (!ok) {
      printf("  replay: medchain_sim --seeds %" PRIu64 "-%" PRIu64 " --verbose\n", seed, seed);
    }
  }
  world_free();
  return ok;
}

int main(int argc, char **argv) {
  uint64_t first = 1, last = 20;
  bool verbose = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--seeds") == 0 && i + 1 < argc) {
      const char *s = argv[++i];
      const char *dash = strchr(s, '-');
      char *end = NULL;
      if (dash != NULL) {
        first = strtoull(s, &end, 10);
        last = strtoull(dash + 1, &end, 10);
      } else {
        first = 1;
        last = strtoull(s, &end, 10);
      }
      if (end == NULL || *end != '\0' || first == 0 || last < first) {
        fprintf(stderr, "medchain_sim: --seeds A-B or --seeds N\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--verbose") == 0) {
      verbose = true;
    } else {
      fprintf(stderr, "usage: medchain_sim [--seeds A-B | --seeds N] [--verbose]\n");
      return 2;
    }
  }
  if (cry_init() != OK) {
    return 2;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  uint64_t failed = 0;
  for (uint64_t s = first; s <= last; s++) {
    if (!run(s, verbose)) {
      failed++;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  uint64_t n = last - first + 1;
  printf("medchain_sim: %" PRIu64 " seeds (%" PRIu64 "-%" PRIu64 "), %" PRIu64
         " failed, %.1f s, %.2f seeds/s\n",
         n, first, last, failed, secs, secs > 0 ? (double)n / secs : 0.0);
  return failed == 0 ? 0 : 1;
}
