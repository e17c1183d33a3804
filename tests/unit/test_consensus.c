/*
 * Unit tests of the consensus state machine (src/consensus), input by
 * input: struct cons instances are driven directly with messages signed by
 * Ed25519 keys from fixed seeds, and every test asserts the exact actions
 * the machine asks for. Covered: one validator deciding alone; four
 * validators deciding height after height with the proposer rotating in
 * proportion to power; the quorum (> 2/3) and round-skip (> 1/3) thresholds
 * at their edges; locks, proofs of lock and re-proposals of the valid
 * value; the three timeouts; equivocating votes and proposals; restarts
 * from the encoded signing record; the documented rejection codes; the
 * wire and record encodings with the signatures over them; and the bound
 * on the actions one input can produce with the largest validator set.
 *
 * "Line n" is a line of Algorithm 1 in arXiv 1807.04938. In the n = 4
 * tests with equal powers this node is validator 0 and the proposer of
 * (h, r) is (h + r) mod 4.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consensus/consensus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAL_TAG "medchain.cons.wal.v1" /* src/consensus/msg.c */

static struct cry_keys *keys[LIM_VALIDATORS_MAX];
static const struct bytes chain = {(const uint8_t *)"test-chain", 10};
static const struct cons_timeouts tos = {300, 100, 150, 50, 150, 50};
static const struct hash32 nil;
static struct hash32 A, B, C;

#define PV CONS_PREVOTE
#define PC CONS_PRECOMMIT

/* ---- fixtures ------------------------------------------------------------- */

/* Test storage: out of memory ends the test run (abort, which analyzers
 * know does not return, unlike a failed cmocka assertion). */
static void *must_alloc(size_t n) {
  void *p = calloc(1, n);
  if (p == NULL) {
    abort();
  }
  return p;
}

static int group_setup(void **state) {
  (void)state;
  if (cry_init() != OK) {
    return -1;
  }
  for (uint16_t i = 0; i < LIM_VALIDATORS_MAX; i++) {
    uint8_t seed[CRY_SEED_BYTES];
    memset(seed, 0x37, sizeof seed);
    seed[0] = (uint8_t)i;
    keys[i] = cry_keys_from_seed(seed);
    if (keys[i] == NULL) {
      return -1;
    }
  }
  memset(A.b, 'A', 32);
  memset(B.b, 'B', 32);
  memset(C.b, 'C', 32);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  for (uint16_t i = 0; i < LIM_VALIDATORS_MAX; i++) {
    cry_keys_destroy(keys[i]);
  }
  return 0;
}

/* n validators with the given powers (all 1 when power is NULL). */
static void valset(struct cons_valset *vs, uint16_t n, const uint64_t *power) {
  memset(vs, 0, sizeof *vs);
  vs->n = n;
  for (uint16_t i = 0; i < n; i++) {
    vs->power[i] = power != NULL ? power[i] : 1;
    cry_keys_sign_pk(keys[i], &vs->pk[i]);
  }
}

static struct cons *cons_new(uint16_t self) {
  struct cons *c = must_alloc(sizeof *c);
  cons_init(c, self, &tos);
  return c;
}

static struct cons_vote vote(uint8_t type, uint16_t v, uint64_t h, uint32_t r,
                             const struct hash32 *id) {
  struct cons_vote x = {.type = type, .validator = v, .height = h, .round = r, .id = *id};
  assert_int_equal(cons_vote_sign(&x, keys[v % LIM_VALIDATORS_MAX], &chain), OK);
  return x;
}

static struct cons_proposal proposal(uint16_t p, uint64_t h, uint32_t r, int32_t pol,
                                     const struct hash32 *id) {
  struct cons_proposal x = {.proposer = p, .height = h, .round = r, .pol_round = pol, .id = *id};
  assert_int_equal(cons_proposal_sign(&x, keys[p % LIM_VALIDATORS_MAX], &chain), OK);
  return x;
}

static void assert_vote_eq(const struct cons_vote *a, const struct cons_vote *b) {
  uint8_t ea[CONS_VOTE_BYTES], eb[CONS_VOTE_BYTES];
  cons_vote_encode(a, ea);
  cons_vote_encode(b, eb);
  assert_memory_equal(ea, eb, CONS_VOTE_BYTES);
}

static void assert_proposal_eq(const struct cons_proposal *a, const struct cons_proposal *b) {
  uint8_t ea[CONS_PROPOSAL_BYTES], eb[CONS_PROPOSAL_BYTES];
  cons_proposal_encode(a, ea);
  cons_proposal_encode(b, eb);
  assert_memory_equal(ea, eb, CONS_PROPOSAL_BYTES);
}

/* ---- inputs and outputs --------------------------------------------------- */

static int on_vote(struct cons *c, struct cons_outbuf *o, uint8_t type, uint16_t v, uint32_t r,
                   const struct hash32 *id) {
  memset(o, 0, sizeof *o);
  struct cons_vote x = vote(type, v, cons_height(c), r, id);
  int rc = cons_on_vote(c, &x, o);
  assert_true(o->n <= CONS_OUT_MAX);
  return rc;
}

static int on_prop(struct cons *c, struct cons_outbuf *o, uint16_t p, uint32_t r, int32_t pol,
                   const struct hash32 *id, bool valid) {
  memset(o, 0, sizeof *o);
  struct cons_proposal x = proposal(p, cons_height(c), r, pol, id);
  int rc = cons_on_proposal(c, &x, valid, o);
  assert_true(o->n <= CONS_OUT_MAX);
  return rc;
}

static void on_timeout(struct cons *c, struct cons_outbuf *o, enum cons_timer t, uint32_t r) {
  memset(o, 0, sizeof *o);
  cons_on_timeout(c, t, cons_height(c), r, o);
}

/* Signs what req asks for as validator self and hands it back, as the
 * node does once the signing record is durable. */
static int hand_back(struct cons *c, uint16_t self, const struct cons_out *req,
                     struct cons_outbuf *o) {
  memset(o, 0, sizeof *o);
  if (req->kind == CONS_OUT_SIGN_VOTE) {
    struct cons_vote v = vote(req->vote_type, self, req->height, req->round, &req->id);
    return cons_on_vote(c, &v, o);
  }
  assert_int_equal(req->kind, CONS_OUT_SIGN_PROPOSAL);
  struct cons_proposal p = proposal(self, req->height, req->round, req->pol_round, &req->id);
  return cons_on_proposal(c, &p, true, o);
}

static void expect_kinds(const struct cons_outbuf *o, const enum cons_out_kind *k, uint32_t n) {
  if (o->n != n) {
    for (uint32_t i = 0; i < o->n; i++) {
      print_message("  output %u: kind %d\n", i, (int)o->o[i].kind);
    }
  }
  assert_int_equal(o->n, n);
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(o->o[i].kind, k[i]);
  }
}
#define EXPECT_KINDS(o, ...)                                                                       \
  expect_kinds((o), (const enum cons_out_kind[]){__VA_ARGS__},                                     \
               sizeof((enum cons_out_kind[]){__VA_ARGS__}) / sizeof(enum cons_out_kind))
#define EXPECT_NONE(o) expect_kinds((o), NULL, 0)

static void check_sign_vote(const struct cons_out *x, uint8_t type, uint64_t h, uint32_t r,
                            const struct hash32 *id) {
  assert_int_equal(x->kind, CONS_OUT_SIGN_VOTE);
  assert_int_equal(x->vote_type, type);
  assert_int_equal(x->height, h);
  assert_int_equal(x->round, r);
  assert_memory_equal(x->id.b, id->b, 32);
}

static void check_timer(const struct cons_out *x, enum cons_timer t, uint64_t h, uint32_t r,
                        uint32_t ms) {
  assert_int_equal(x->kind, CONS_OUT_TIMER);
  assert_int_equal(x->timer, t);
  assert_int_equal(x->height, h);
  assert_int_equal(x->round, r);
  assert_int_equal(x->ms, ms);
}

static uint32_t count_kind(const struct cons_outbuf *o, enum cons_out_kind k) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < o->n; i++) {
    n += o->o[i].kind == k;
  }
  return n;
}

/* What the ledger checks of a commit (src/ledger/commit.c): distinct
 * increasing indices, each signature a precommit for (height, round,
 * block) under the validator's key, more than two thirds of the power. */
static bool commit_ok(const struct commit *cm, const struct cons_valset *vs, uint64_t h,
                      const struct hash32 *id) {
  if (cm->height != h || !base_hash_eq(&cm->block_hash, id) || cm->count > vs->n) {
    return false;
  }
  struct hash32 msg;
  if (codec_vote_sighash(&msg, &chain, h, cm->round, id) != OK) {
    return false;
  }
  uint64_t p = 0;
  for (uint16_t i = 0; i < cm->count; i++) {
    const struct commit_sig *s = &cm->sigs[i];
    if (s->validator_index >= vs->n ||
        (i > 0 && s->validator_index <= cm->sigs[i - 1].validator_index)) {
      return false;
    }
    struct cons_vote v = {.type = PC,
                          .validator = s->validator_index,
                          .height = h,
                          .round = cm->round,
                          .id = *id,
                          .sig = s->sig};
    if (cons_vote_verify(&v, vs, &chain) != OK ||
        cry_verify(&s->sig, msg.b, sizeof msg.b, &vs->pk[s->validator_index]) != OK) {
      return false;
    }
    p += vs->power[s->validator_index];
  }
  uint8_t enc[8 + 4 + 32 + 2 + LIM_VALIDATORS_MAX * 66];
  size_t len = 0;
  struct commit back;
  if (codec_commit_encode(cm, enc, sizeof enc, &len) != OK ||
      codec_commit_decode(&back, enc, len) != OK || back.count != cm->count) {
    return false;
  }
  return 3 * p > 2 * cons_total_power(vs);
}

/* Four validators of power 1, this node validator 0, at height h round 0. */
static struct cons *start4(struct cons_valset *vs, uint64_t h) {
  valset(vs, 4, NULL);
  struct cons *c = cons_new(0);
  struct cons_outbuf o = {0};
  cons_start(c, h, vs, NULL, &o);
  if (cons_proposer(vs, h, 0) == 0) {
    EXPECT_KINDS(&o, CONS_OUT_GET_VALUE, CONS_OUT_TIMER);
    check_timer(&o.o[1], CONS_TIMER_PROPOSE, h, 0, 300);
  } else {
    EXPECT_KINDS(&o, CONS_OUT_TIMER);
    check_timer(&o.o[0], CONS_TIMER_PROPOSE, h, 0, 300);
  }
  return c;
}

/* Round 0 of an n = 4 machine (not the proposer there) ends locked on id:
 * it prevotes id, sees a quorum of prevotes for it, precommits it, sees
 * nil precommits and moves to round 1 on the precommit timeout. o holds
 * the outputs of that timeout. */
static void lock_round0(struct cons *c, const struct hash32 *id, struct cons_outbuf *o) {
  uint64_t h = cons_height(c);
  uint16_t p0 = (uint16_t)(h % 4);
  assert_int_not_equal(p0, 0);
  struct cons_outbuf x;
  assert_int_equal(on_prop(c, &x, p0, 0, -1, id, true), OK);
  EXPECT_KINDS(&x, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&x.o[0], PV, h, 0, id);
  struct cons_out req = x.o[0];
  assert_int_equal(hand_back(c, 0, &req, &x), OK);
  EXPECT_NONE(&x);
  assert_int_equal(on_vote(c, &x, PV, 1, 0, id), OK);
  EXPECT_NONE(&x);
  assert_int_equal(on_vote(c, &x, PV, 2, 0, id), OK); /* line 34, then line 36 */
  EXPECT_KINDS(&x, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_timer(&x.o[0], CONS_TIMER_PREVOTE, h, 0, 150);
  check_sign_vote(&x.o[1], PC, h, 0, id);
  req = x.o[1];
  assert_int_equal(hand_back(c, 0, &req, &x), OK);
  EXPECT_NONE(&x);
  assert_int_equal(on_vote(c, &x, PC, 1, 0, &nil), OK);
  EXPECT_NONE(&x);
  assert_int_equal(on_vote(c, &x, PC, 2, 0, &nil), OK); /* line 47 */
  EXPECT_KINDS(&x, CONS_OUT_TIMER);
  check_timer(&x.o[0], CONS_TIMER_PRECOMMIT, h, 0, 150);
  on_timeout(c, o, CONS_TIMER_PRECOMMIT, 0); /* line 65 */
  const struct cons_wal *w = cons_wal_get(c);
  assert_int_equal(cons_round(c), 1);
  assert_int_equal(cons_step(c), CONS_STEP_PROPOSE);
  assert_int_equal(w->locked_round, 0);
  assert_memory_equal(w->locked_id.b, id->b, 32);
  assert_int_equal(w->valid_round, 0);
  assert_memory_equal(w->valid_id.b, id->b, 32);
  assert_int_equal(w->npol, 3);
}

/* ---- one validator -------------------------------------------------------- */

static void test_single_validator_decides(void **state) {
  (void)state;
  struct cons_valset vs;
  valset(&vs, 1, NULL);
  struct cons *c = cons_new(0);
  struct cons_outbuf o = {0};
  struct commit cm;
  assert_int_equal(cons_commit(c, &cm), ERR_NOT_FOUND);
  cons_start(c, 1, &vs, NULL, &o);
  EXPECT_KINDS(&o, CONS_OUT_GET_VALUE, CONS_OUT_TIMER);
  assert_int_equal(o.o[0].height, 1);
  assert_int_equal(o.o[0].round, 0);
  check_timer(&o.o[1], CONS_TIMER_PROPOSE, 1, 0, 300);
  assert_int_equal(cons_step(c), CONS_STEP_PROPOSE);

  memset(&o, 0, sizeof o);
  cons_on_value(c, 1, 0, &A, &o);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_PROPOSAL);
  assert_int_equal(o.o[0].height, 1);
  assert_int_equal(o.o[0].round, 0);
  assert_int_equal(o.o[0].pol_round, -1);
  assert_memory_equal(o.o[0].id.b, A.b, 32);
  assert_true(cons_wal_get(c)->proposal.set);

  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* line 22 */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 0, &A);
  struct cons_proposal own;
  assert_true(cons_own_proposal(c, &own));
  assert_int_equal(own.pol_round, -1);

  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* lines 34 and 36 */
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_timer(&o.o[0], CONS_TIMER_PREVOTE, 1, 0, 150);
  check_sign_vote(&o.o[1], PC, 1, 0, &A);
  assert_int_equal(cons_wal_get(c)->locked_round, 0);

  req = o.o[1];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* line 49 */
  EXPECT_KINDS(&o, CONS_OUT_DECIDE);
  assert_int_equal(o.o[0].height, 1);
  assert_int_equal(o.o[0].round, 0);
  assert_memory_equal(o.o[0].id.b, A.b, 32);
  assert_int_equal(cons_step(c), CONS_STEP_DECIDED);

  assert_int_equal(cons_commit(c, &cm), OK);
  assert_int_equal(cm.count, 1);
  assert_int_equal(cm.round, 0);
  assert_int_equal(cm.sigs[0].validator_index, 0);
  assert_true(commit_ok(&cm, &vs, 1, &A));
  assert_false(commit_ok(&cm, &vs, 1, &B));

  /* After the decision nothing moves the machine until the next height. */
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 0);
  EXPECT_NONE(&o);
  cons_start(c, 2, &vs, NULL, &o);
  EXPECT_KINDS(&o, CONS_OUT_GET_VALUE, CONS_OUT_TIMER);
  assert_int_equal(cons_wal_get(c)->locked_round, -1);
  assert_int_equal(cons_wal_get(c)->valid_round, -1);
  free(c);
}

/* ---- four validators, many heights ------------------------------------------ */

#define NET_N 4
#define NET_QUEUE 4096

struct net_msg {
  uint16_t from;
  bool is_vote;
  struct cons_vote v;
  struct cons_proposal p;
};

struct net {
  struct cons *c[NET_N];
  struct cons_valset vs;
  struct net_msg q[NET_QUEUE];
  size_t head, tail;
  bool decided[NET_N];
  struct hash32 decided_id[NET_N];
  struct commit commit[NET_N];
  uint32_t timers;
};

static void value_of(struct hash32 *id, uint64_t h, uint32_t r, uint16_t node) {
  uint8_t buf[14];
  base_put_u64be(buf, h);
  base_put_u32be(buf + 8, r);
  buf[12] = (uint8_t)(node >> 8);
  buf[13] = (uint8_t)node;
  cry_hash_tagged(id, "medchain.test.value", buf, sizeof buf);
}

static void net_push(struct net *n, const struct net_msg *m) {
  assert_true(n->tail < NET_QUEUE);
  n->q[n->tail++] = *m;
}

/* Carries out node i's actions: values, signatures (sent and handed
 * back), decisions; timers are counted, never fired. */
static void net_drive(struct net *n, uint16_t i, const struct cons_outbuf *first) {
  struct cons_out fifo[256];
  size_t head = 0, tail = 0;
  for (uint32_t k = 0; k < first->n; k++) {
    fifo[tail++] = first->o[k];
  }
  while (head < tail) {
    struct cons_out x = fifo[head++];
    struct cons_outbuf o = {0};
    if (x.kind == CONS_OUT_GET_VALUE) {
      struct hash32 id;
      value_of(&id, x.height, x.round, i);
      cons_on_value(n->c[i], x.height, x.round, &id, &o);
    } else if (x.kind == CONS_OUT_SIGN_PROPOSAL) {
      struct net_msg m = {.from = i, .is_vote = false};
      m.p = proposal(i, x.height, x.round, x.pol_round, &x.id);
      net_push(n, &m);
      assert_int_equal(cons_on_proposal(n->c[i], &m.p, true, &o), OK);
    } else if (x.kind == CONS_OUT_SIGN_VOTE) {
      struct net_msg m = {.from = i, .is_vote = true};
      m.v = vote(x.vote_type, i, x.height, x.round, &x.id);
      net_push(n, &m);
      assert_int_equal(cons_on_vote(n->c[i], &m.v, &o), OK);
    } else if (x.kind == CONS_OUT_DECIDE) {
      assert_false(n->decided[i]);
      n->decided[i] = true;
      n->decided_id[i] = x.id;
      assert_int_equal(cons_commit(n->c[i], &n->commit[i]), OK);
    } else if (x.kind == CONS_OUT_TIMER) {
      n->timers++;
    } else {
      fail_msg("unexpected output kind %d", (int)x.kind);
    }
    for (uint32_t k = 0; k < o.n; k++) {
      assert_true(tail < sizeof fifo / sizeof fifo[0]);
      fifo[tail++] = o.o[k];
    }
  }
}

static void test_four_validators_happy_path(void **state) {
  (void)state;
  struct net *n = must_alloc(sizeof *n);
  valset(&n->vs, NET_N, NULL);
  for (uint16_t i = 0; i < NET_N; i++) {
    n->c[i] = cons_new(i);
  }
  for (uint64_t h = 1; h <= 9; h++) {
    memset(n->decided, 0, sizeof n->decided);
    n->head = n->tail = 0;
    for (uint16_t i = 0; i < NET_N; i++) {
      struct cons_outbuf o = {0};
      cons_start(n->c[i], h, &n->vs, NULL, &o);
      net_drive(n, i, &o);
    }
    while (n->head < n->tail) {
      struct net_msg m = n->q[n->head++];
      for (uint16_t j = 0; j < NET_N; j++) {
        if (j == m.from) {
          continue;
        }
        struct cons_outbuf o = {0};
        uint16_t signer = m.is_vote ? m.v.validator : m.p.proposer;
        assert_int_equal(m.is_vote ? cons_vote_verify(&m.v, &n->vs, &chain)
                                   : cons_proposal_verify(&m.p, &n->vs, &chain),
                         OK);
        assert_int_equal(signer, m.from);
        /* After deciding, late votes of the height are still taken. */
        int rc =
            m.is_vote ? cons_on_vote(n->c[j], &m.v, &o) : cons_on_proposal(n->c[j], &m.p, true, &o);
        assert_int_equal(rc, OK);
        net_drive(n, j, &o);
      }
    }
    /* Every node decided the round-0 proposer's value, in round 0. */
    uint16_t proposer = cons_proposer(&n->vs, h, 0);
    assert_int_equal(proposer, h % NET_N);
    struct hash32 want;
    value_of(&want, h, 0, proposer);
    for (uint16_t i = 0; i < NET_N; i++) {
      assert_true(n->decided[i]);
      assert_memory_equal(n->decided_id[i].b, want.b, 32);
      assert_int_equal(n->commit[i].round, 0);
      assert_true(n->commit[i].count >= 3);
      assert_true(commit_ok(&n->commit[i], &n->vs, h, &want));
    }
  }
  for (uint16_t i = 0; i < NET_N; i++) {
    free(n->c[i]);
  }
  free(n);
}

/* ---- proposer selection --------------------------------------------------------- */

/* The rule written out: round 0's proposer by slot h mod (total / g)
 * through the cumulative powers divided by g (their gcd); round r's is
 * the r-th validator after it. */
static uint16_t proposer_ref(const struct cons_valset *vs, uint64_t h, uint32_t r) {
  uint64_t g = 0;
  for (uint16_t i = 0; i < vs->n; i++) {
    uint64_t a = vs->power[i], b = g;
    while (b != 0) {
      uint64_t t = a % b;
      a = b;
      b = t;
    }
    g = a;
  }
  uint64_t slot = h % (cons_total_power(vs) / g);
  for (uint16_t i = 0;; i++) {
    if (slot < vs->power[i] / g) {
      return (uint16_t)((i + r % vs->n) % vs->n);
    }
    slot -= vs->power[i] / g;
  }
}

static void test_proposer_proportional_to_power(void **state) {
  (void)state;
  struct cons_valset vs;
  const uint64_t power[] = {1, 2, 3, 4};
  valset(&vs, 4, power);
  assert_int_equal(cons_total_power(&vs), 10);
  const uint64_t k = 7;
  uint64_t by_height[4] = {0}, by_round[4] = {0};
  for (uint64_t s = 0; s < 10 * k; s++) {
    by_height[cons_proposer(&vs, 1 + s, 0)]++;
  }
  for (uint32_t r = 0; r < 4 * k; r++) {
    by_round[cons_proposer(&vs, 5, r)]++;
  }
  for (int i = 0; i < 4; i++) {
    /* Round 0: in proportion to power. Later rounds: every validator in
     * turn, so a crashed proposer costs a height one round. */
    assert_int_equal(by_height[i], power[i] * k);
    assert_int_equal(by_round[i], k);
  }
  /* Slots 0 | 1 2 | 3 4 5 | 6 7 8 9 at round 0, then the next validators. */
  assert_int_equal(cons_proposer(&vs, 10, 0), 0);
  assert_int_equal(cons_proposer(&vs, 1, 0), 1);
  assert_int_equal(cons_proposer(&vs, 1, 1), 2);
  assert_int_equal(cons_proposer(&vs, 1, 2), 3);
  assert_int_equal(cons_proposer(&vs, 1, 3), 0);
  assert_int_equal(cons_proposer(&vs, 5, 0), 2);
  assert_int_equal(cons_proposer(&vs, 6, 0), 3);
  assert_int_equal(cons_proposer(&vs, 9, 0), 3);
  /* Deterministic, the same function of (h, r) everywhere, no overflow. */
  for (uint64_t h = 1; h < 60; h++) {
    for (uint32_t r = 0; r < 30; r++) {
      uint16_t p = cons_proposer(&vs, h, r);
      assert_int_equal(p, cons_proposer(&vs, h, r));
      assert_int_equal(p, proposer_ref(&vs, h, r));
    }
  }
  /* (2^64 - 1) mod 10 = 5: slot 5, validator 2; (2^31 - 1) mod 4 = 3. */
  assert_int_equal(cons_proposer(&vs, UINT64_MAX, INT32_MAX), 1);
  /* Equal powers, however large: round robin by height and by round. */
  const uint64_t tens[] = {10, 10, 10, 10};
  valset(&vs, 4, tens);
  for (uint64_t h = 1; h < 20; h++) {
    for (uint32_t r = 0; r < 8; r++) {
      assert_int_equal(cons_proposer(&vs, h, r), (h + r) % 4);
    }
  }
}

/* ---- quorum arithmetic ------------------------------------------------------- */

/* Powers 1, 1, 1, 3 (total 6): 4 is exactly two thirds, 2 exactly one
 * third. Proposers at height 1: round 0 v1, round 1 v2, round 2 v3. */
static struct cons *start_weighted(struct cons_valset *vs) {
  const uint64_t power[] = {1, 1, 1, 3};
  valset(vs, 4, power);
  struct cons *c = cons_new(0);
  struct cons_outbuf o = {0};
  cons_start(c, 1, vs, NULL, &o);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  assert_int_equal(cons_proposer(vs, 1, 0), 1);
  assert_int_equal(cons_proposer(vs, 1, 1), 2);
  return c;
}

static void test_quorum_needs_more_than_two_thirds(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start_weighted(&vs);
  struct cons_outbuf o;
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &A, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* power 1 */
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PV, 3, 0, &A), OK); /* 4 of 6: not a quorum */
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PREVOTE);
  assert_int_equal(on_vote(c, &o, PV, 1, 0, &A), OK); /* 5 of 6 */
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_timer(&o.o[0], CONS_TIMER_PREVOTE, 1, 0, 150);
  check_sign_vote(&o.o[1], PC, 1, 0, &A);
  req = o.o[1];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* precommits: 1 */
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PC, 3, 0, &A), OK); /* 4 of 6: no decision, no timer */
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PRECOMMIT);
  assert_int_equal(on_vote(c, &o, PC, 2, 0, &A), OK); /* 5 of 6 */
  EXPECT_KINDS(&o, CONS_OUT_DECIDE);
  struct commit cm;
  assert_int_equal(cons_commit(c, &cm), OK);
  assert_int_equal(cm.count, 3);
  assert_true(commit_ok(&cm, &vs, 1, &A));
  free(c);

  /* Nil and mixed prevotes obey the same edge. */
  c = start_weighted(&vs);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PV, 3, 0, &nil), OK); /* nil: 4 of 6 */
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PV, 1, 0, &nil), OK); /* line 44 */
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[1], PC, 1, 0, &nil);
  free(c);
}

static void test_round_skip_needs_more_than_one_third(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start_weighted(&vs);
  struct cons_outbuf o;
  assert_int_equal(on_vote(c, &o, PV, 1, 1, &A), OK);
  EXPECT_NONE(&o);
  assert_int_equal(on_prop(c, &o, 2, 1, -1, &B, true), OK); /* v2 sent something */
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PC, 2, 1, &nil), OK); /* v2 counted once: 2 of 6 */
  EXPECT_NONE(&o);
  assert_int_equal(cons_round(c), 0);
  assert_int_equal(on_vote(c, &o, PV, 3, 2, &nil), OK); /* round 2: 3 of 6 */
  EXPECT_KINDS(&o, CONS_OUT_TIMER);                     /* line 55 */
  check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, 2, 500);
  assert_int_equal(cons_round(c), 2);
  assert_int_equal(cons_step(c), CONS_STEP_PROPOSE);
  free(c);

  /* A proposal alone counts its proposer's power. */
  c = start_weighted(&vs);
  assert_int_equal(cons_proposer(&vs, 1, 2), 3);
  assert_int_equal(on_prop(c, &o, 3, 2, -1, &B, true), OK); /* 3 of 6: skip, prevote it */
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, 2, 500);
  check_sign_vote(&o.o[1], PV, 1, 2, &B);
  free(c);
}

/* ---- locks ----------------------------------------------------------------------- */

static void test_locked_prevotes_nil_on_fresh_proposal(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start4(&vs, 1);
  struct cons_outbuf o;
  lock_round0(c, &A, &o);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, 1, 400);
  assert_int_equal(on_prop(c, &o, 2, 1, -1, &B, true), OK); /* line 22 */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 1, &nil);
  free(c);

  /* A fresh proposal of the locked value gets the prevote. */
  c = start4(&vs, 1);
  lock_round0(c, &A, &o);
  assert_int_equal(on_prop(c, &o, 2, 1, -1, &A, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 1, &A);
  free(c);

  /* A polka for B in round 1, seen with B's proposal, relocks (line 36). */
  c = start4(&vs, 1);
  lock_round0(c, &A, &o);
  for (uint16_t v = 1; v <= 3; v++) {
    assert_int_equal(on_vote(c, &o, PV, v, 1, &B), OK);
    EXPECT_NONE(&o);
  }
  assert_int_equal(on_prop(c, &o, 2, 1, -1, &B, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 1, &nil);
  check_sign_vote(&o.o[2], PC, 1, 1, &B);
  assert_int_equal(cons_wal_get(c)->locked_round, 1);
  assert_memory_equal(cons_wal_get(c)->locked_id.b, B.b, 32);
  free(c);
}

/* Locked on A in round 0; round 1 ends with a polka for B that this node
 * did not act on (no proposal seen); round 2's proposer re-proposes B with
 * pol_round 1. */
static struct cons *polka_b_in_round1(struct cons_valset *vs, uint32_t polka) {
  struct cons *c = start4(vs, 1);
  struct cons_outbuf o;
  lock_round0(c, &A, &o);
  for (uint16_t v = 1; v <= polka; v++) {
    assert_int_equal(on_vote(c, &o, PV, v, 1, &B), OK);
    EXPECT_NONE(&o);
  }
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 1); /* line 57 */
  check_sign_vote(&o.o[0], PV, 1, 1, &nil);
  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  on_timeout(c, &o, CONS_TIMER_PREVOTE, 1); /* line 61 */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PC, 1, 1, &nil);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PC, 1, 1, &nil), OK);
  assert_int_equal(on_vote(c, &o, PC, 2, 1, &nil), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 1);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, 2, 500);
  assert_int_equal(cons_wal_get(c)->locked_round, 0);
  return c;
}

static void test_proof_of_lock_unlocks(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons_outbuf o;
  /* pol_round 1 >= locked_round 0 with a quorum for B there: prevote B. */
  struct cons *c = polka_b_in_round1(&vs, 3);
  assert_int_equal(on_prop(c, &o, 3, 2, 1, &B, true), OK); /* line 28 */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 2, &B);
  free(c);

  /* Without the quorum in pol_round the proposal waits for it. */
  c = polka_b_in_round1(&vs, 2);
  assert_int_equal(on_prop(c, &o, 3, 2, 1, &B, true), OK);
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PROPOSE);
  assert_int_equal(on_vote(c, &o, PV, 3, 1, &B), OK); /* the POL completes */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 2, &B);
  free(c);

  /* A POL for another value than the proposal's does not count. */
  c = polka_b_in_round1(&vs, 3);
  assert_int_equal(on_prop(c, &o, 3, 2, 1, &C, true), OK);
  EXPECT_NONE(&o);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 2);
  check_sign_vote(&o.o[0], PV, 1, 2, &nil);
  free(c);

  /* An invalid value gets nil even with its POL. */
  c = polka_b_in_round1(&vs, 3);
  assert_int_equal(on_prop(c, &o, 3, 2, 1, &B, false), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 2, &nil);
  free(c);
}

static void test_proof_of_lock_below_lock_is_refused(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start4(&vs, 1);
  struct cons_outbuf o;
  struct cons_out req;
  /* Round 0: a polka for B, but the proposal was A: no lock. */
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &A, true), OK);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PV, 1, 0, &B), OK);
  assert_int_equal(on_vote(c, &o, PV, 2, 0, &B), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  assert_int_equal(on_vote(c, &o, PV, 3, 0, &B), OK); /* B's polka, not the proposal's value */
  EXPECT_NONE(&o);
  on_timeout(c, &o, CONS_TIMER_PREVOTE, 0);
  check_sign_vote(&o.o[0], PC, 1, 0, &nil);
  assert_int_equal(cons_wal_get(c)->locked_round, -1);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PC, 1, 0, &nil), OK);
  assert_int_equal(on_vote(c, &o, PC, 2, 0, &nil), OK);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 0);
  /* Round 1: lock on A. */
  assert_int_equal(on_prop(c, &o, 2, 1, -1, &A, true), OK);
  check_sign_vote(&o.o[0], PV, 1, 1, &A);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PV, 1, 1, &A), OK);
  assert_int_equal(on_vote(c, &o, PV, 2, 1, &A), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[1], PC, 1, 1, &A);
  assert_int_equal(cons_wal_get(c)->locked_round, 1);
  req = o.o[1];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PC, 1, 1, &nil), OK);
  assert_int_equal(on_vote(c, &o, PC, 2, 1, &nil), OK);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 1);
  /* Round 2: B with its round-0 POL, older than the lock: nil. */
  assert_int_equal(on_prop(c, &o, 3, 2, 0, &B, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 2, &nil);
  /* ... while A with its round-1 POL would have been fine: see the
   * re-proposal test. */
  free(c);
}

static void test_proposer_reproposes_valid_value(void **state) {
  (void)state;
  struct cons_valset vs;
  /* Height 3: round 0's proposer is v3, round 1's this node. */
  struct cons *c = start4(&vs, 3);
  struct cons_outbuf o;
  lock_round0(c, &A, &o);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_PROPOSAL, CONS_OUT_TIMER); /* no GET_VALUE */
  assert_int_equal(o.o[0].height, 3);
  assert_int_equal(o.o[0].round, 1);
  assert_int_equal(o.o[0].pol_round, 0);
  assert_memory_equal(o.o[0].id.b, A.b, 32);
  check_timer(&o.o[1], CONS_TIMER_PROPOSE, 3, 1, 400);
  /* The proof that travels with it: the three round-0 prevotes. */
  struct cons_vote pol[LIM_VALIDATORS_MAX];
  uint32_t k = cons_pol_votes(c, 0, &A, pol, LIM_VALIDATORS_MAX);
  assert_int_equal(k, 3);
  for (uint32_t i = 0; i < k; i++) {
    assert_int_equal(pol[i].validator, i);
    assert_int_equal(pol[i].type, PV);
    assert_int_equal(cons_vote_verify(&pol[i], &vs, &chain), OK);
  }
  assert_int_equal(cons_pol_votes(c, 0, &B, pol, LIM_VALIDATORS_MAX), 0);
  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* line 28 with its own POL */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 3, 1, &A);
  free(c);

  /* Another node receiving that re-proposal with the POL prevotes A even
   * though it never saw round 0's proposal. */
  struct cons *d = cons_new(1);
  memset(&o, 0, sizeof o);
  cons_start(d, 3, &vs, NULL, &o);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  const uint16_t others[3] = {0, 2, 3};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(on_vote(d, &o, PV, others[i], 0, &A), OK);
    EXPECT_NONE(&o);
  }
  on_timeout(d, &o, CONS_TIMER_PROPOSE, 0);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE, CONS_OUT_TIMER);
  check_sign_vote(&o.o[0], PV, 3, 0, &nil);
  req = o.o[0];
  assert_int_equal(hand_back(d, 1, &req, &o), OK);
  on_timeout(d, &o, CONS_TIMER_PREVOTE, 0);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  req = o.o[0];
  assert_int_equal(hand_back(d, 1, &req, &o), OK);
  assert_int_equal(on_vote(d, &o, PC, 0, 0, &nil), OK);
  assert_int_equal(on_vote(d, &o, PC, 2, 0, &nil), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  on_timeout(d, &o, CONS_TIMER_PRECOMMIT, 0);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  assert_int_equal(on_prop(d, &o, 0, 1, 0, &A, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 3, 1, &A);
  free(d);
}

/* ---- timeouts --------------------------------------------------------------------- */

static void test_timeouts(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons_outbuf o;
  struct cons_out req;
  /* Propose timeout: prevote nil (line 57). */
  struct cons *c = start4(&vs, 1);
  on_timeout(c, &o, CONS_TIMER_PREVOTE, 0); /* not in the prevote step */
  EXPECT_NONE(&o);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 1); /* another round */
  EXPECT_NONE(&o);
  memset(&o, 0, sizeof o);
  cons_on_timeout(c, CONS_TIMER_PROPOSE, 2, 0, &o); /* another height */
  EXPECT_NONE(&o);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 0, &nil);
  req = o.o[0];
  assert_int_equal(cons_step(c), CONS_STEP_PREVOTE);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0); /* fired twice */
  EXPECT_NONE(&o);
  /* A proposal after the timeout changes nothing. */
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &A, true), OK);
  EXPECT_NONE(&o);
  /* Mixed prevotes: the prevote timer (line 34), then precommit nil. */
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PV, 1, 0, &A), OK);
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PV, 2, 0, &B), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  check_timer(&o.o[0], CONS_TIMER_PREVOTE, 1, 0, 150);
  assert_int_equal(on_vote(c, &o, PV, 3, 0, &C), OK); /* "for the first time" */
  EXPECT_NONE(&o);
  on_timeout(c, &o, CONS_TIMER_PREVOTE, 0); /* line 61 */
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PC, 1, 0, &nil);
  req = o.o[0];
  on_timeout(c, &o, CONS_TIMER_PREVOTE, 0);
  EXPECT_NONE(&o);
  /* Mixed precommits: the precommit timer (line 47), then round 1. */
  assert_int_equal(on_vote(c, &o, PC, 1, 0, &A), OK);
  assert_int_equal(on_vote(c, &o, PC, 2, 0, &nil), OK);
  EXPECT_NONE(&o);
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  check_timer(&o.o[0], CONS_TIMER_PRECOMMIT, 1, 0, 150);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 0); /* line 65 */
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, 1, 400);
  assert_int_equal(cons_round(c), 1);
  assert_int_equal(cons_step(c), CONS_STEP_PROPOSE);
  /* Round 0's timers are stale now. */
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 0);
  EXPECT_NONE(&o);
  assert_int_equal(cons_round(c), 1);
  free(c);
}

/* Every timer of round r is base + r * delta: run rounds 0..7 on nil. */
static void test_timer_durations_grow(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start4(&vs, 1);
  struct cons_outbuf o;
  for (uint32_t r = 0; r < 8; r++) {
    on_timeout(c, &o, CONS_TIMER_PROPOSE, r);
    EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
    struct cons_out req = o.o[0];
    assert_int_equal(hand_back(c, 0, &req, &o), OK);
    assert_int_equal(on_vote(c, &o, PV, 1, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PV, 2, r, &nil), OK); /* lines 34 and 44 */
    EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
    check_timer(&o.o[0], CONS_TIMER_PREVOTE, 1, r, 150 + 50 * r);
    check_sign_vote(&o.o[1], PC, 1, r, &nil);
    req = o.o[1];
    assert_int_equal(hand_back(c, 0, &req, &o), OK);
    assert_int_equal(on_vote(c, &o, PC, 1, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PC, 3, r, &nil), OK);
    EXPECT_KINDS(&o, CONS_OUT_TIMER);
    check_timer(&o.o[0], CONS_TIMER_PRECOMMIT, 1, r, 150 + 50 * r);
    on_timeout(c, &o, CONS_TIMER_PRECOMMIT, r);
    /* Round r + 1 == 3 and 7 are this node's to propose. */
    if ((1 + r + 1) % 4 == 0) {
      EXPECT_KINDS(&o, CONS_OUT_GET_VALUE, CONS_OUT_TIMER);
      check_timer(&o.o[1], CONS_TIMER_PROPOSE, 1, r + 1, 300 + 100 * (r + 1));
    } else {
      EXPECT_KINDS(&o, CONS_OUT_TIMER);
      check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, r + 1, 300 + 100 * (r + 1));
    }
  }
  free(c);

  /* Far rounds saturate at UINT32_MAX instead of wrapping. */
  struct cons_wal w;
  c = start4(&vs, 1);
  w = *cons_wal_get(c);
  w.round = INT32_MAX;
  struct cons_timeouts big = {1000, 1000, 1000, 1000, 1000, 1000};
  cons_init(c, 0, &big);
  memset(&o, 0, sizeof o);
  cons_start(c, 1, &vs, &w, &o);
  EXPECT_KINDS(&o, CONS_OUT_GET_VALUE, CONS_OUT_TIMER); /* (1 + 2^31 - 1) mod 4 = 0 */
  check_timer(&o.o[1], CONS_TIMER_PROPOSE, 1, INT32_MAX, UINT32_MAX);
  free(c);
}

/* ---- equivocation ----------------------------------------------------------------- */

static void test_equivocating_votes(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start4(&vs, 1);
  struct cons_outbuf o;
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &B, true), OK);
  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK); /* this node: B */
  struct cons_vote first = vote(PV, 1, 1, 0, &A);
  struct cons_vote second = vote(PV, 1, 1, 0, &B);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_vote(c, &first, &o), OK);
  EXPECT_NONE(&o);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_vote(c, &second, &o), ERR_EXISTS);
  /* Evidence, and nothing else: v1 counts once in "any" (2 of 4, no
   * prevote timer), and B has 2 of 4. */
  EXPECT_KINDS(&o, CONS_OUT_EVIDENCE);
  assert_int_equal(o.o[0].height, 1);
  assert_int_equal(o.o[0].round, 0);
  assert_vote_eq(&o.o[0].ev[0], &first);
  assert_vote_eq(&o.o[0].ev[1], &second);
  assert_int_equal(c->equivocations, 1);
  /* Duplicates of either are just duplicates. */
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_vote(c, &second, &o), ERR_EXISTS);
  EXPECT_NONE(&o);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_vote(c, &first, &o), ERR_EXISTS);
  EXPECT_NONE(&o);
  /* A third value: evidence again, not kept. */
  struct cons_vote third = vote(PV, 1, 1, 0, &nil);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_vote(c, &third, &o), ERR_EXISTS);
  EXPECT_KINDS(&o, CONS_OUT_EVIDENCE);
  assert_vote_eq(&o.o[0].ev[0], &first);
  assert_vote_eq(&o.o[0].ev[1], &third);
  assert_int_equal(c->equivocations, 2);
  /* v2 for B: "any" reaches 3 (the timer) and B's tally, with v1's second
   * vote, reaches 3 (lock and precommit). */
  assert_int_equal(on_vote(c, &o, PV, 2, 0, &B), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[1], PC, 1, 0, &B);
  struct cons_vote pol[LIM_VALIDATORS_MAX];
  assert_int_equal(cons_pol_votes(c, 0, &B, pol, LIM_VALIDATORS_MAX), 3);
  assert_vote_eq(&pol[1], &second);
  assert_int_equal(cons_wal_get(c)->npol, 3);
  /* Precommits: the same, and the commit carries the second vote. */
  req = o.o[1];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PC, 1, 0, &nil), OK);
  assert_int_equal(on_vote(c, &o, PC, 1, 0, &B), ERR_EXISTS);
  EXPECT_KINDS(&o, CONS_OUT_EVIDENCE);
  assert_int_equal(o.o[0].ev[0].type, PC);
  assert_int_equal(on_vote(c, &o, PC, 2, 0, &B), OK);
  EXPECT_KINDS(&o, CONS_OUT_DECIDE);
  struct commit cm;
  assert_int_equal(cons_commit(c, &cm), OK);
  assert_int_equal(cm.count, 3);
  assert_true(commit_ok(&cm, &vs, 1, &B));
  free(c);
}

static void test_equivocating_proposals(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start4(&vs, 1);
  struct cons_outbuf o;
  struct cons_proposal p1 = proposal(1, 1, 0, -1, &A);
  struct cons_proposal p2 = proposal(1, 1, 0, -1, &B);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_proposal(c, &p1, true, &o), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_proposal(c, &p1, true, &o), ERR_EXISTS);
  EXPECT_NONE(&o);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_proposal(c, &p2, true, &o), ERR_EXISTS);
  EXPECT_KINDS(&o, CONS_OUT_PROPOSAL_EVIDENCE);
  assert_int_equal(o.o[0].height, 1);
  assert_int_equal(o.o[0].round, 0);
  assert_proposal_eq(&o.o[0].pev[0], &p1);
  assert_proposal_eq(&o.o[0].pev[1], &p2);
  assert_int_equal(c->equivocations, 1);
  /* The same value with another pol_round conflicts too (round 1: v2). */
  struct cons_proposal q1 = proposal(2, 1, 1, -1, &A);
  struct cons_proposal q2 = proposal(2, 1, 1, 0, &A);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_proposal(c, &q1, true, &o), OK);
  memset(&o, 0, sizeof o);
  assert_int_equal(cons_on_proposal(c, &q2, true, &o), ERR_EXISTS);
  EXPECT_KINDS(&o, CONS_OUT_PROPOSAL_EVIDENCE);
  assert_proposal_eq(&o.o[0].pev[1], &q2);
  assert_int_equal(c->equivocations, 2);
  free(c);
}

/* ---- restarts --------------------------------------------------------------------- */

/* The node's durable copy of the signing record, as a file would hold it. */
static void persist(const struct cons *c, uint8_t *disk) {
  cons_wal_encode(cons_wal_get(c), disk);
}

static struct cons *restart(uint16_t self, uint64_t h, const struct cons_valset *vs,
                            const uint8_t *disk, struct cons_outbuf *o) {
  struct cons_wal *w = must_alloc(sizeof *w);
  assert_int_equal(cons_wal_decode(w, disk), OK);
  struct cons *c = cons_new(self);
  memset(o, 0, sizeof *o);
  cons_start(c, h, vs, w, o);
  free(w);
  return c;
}

static void test_restart_resigns_the_same_prevote(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons *c = start4(&vs, 1);
  uint8_t *disk = must_alloc(CONS_WAL_BYTES);
  struct cons_outbuf o;
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &A, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  persist(c, disk);
  struct cons_vote before = vote(PV, 0, 1, 0, &o.o[0].id);
  free(c); /* crashed after the fsync, before sending */

  c = restart(0, 1, &vs, disk, &o);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE, CONS_OUT_TIMER);
  check_sign_vote(&o.o[0], PV, 1, 0, &A);
  check_timer(&o.o[1], CONS_TIMER_PREVOTE, 1, 0, 150);
  assert_int_equal(cons_step(c), CONS_STEP_PREVOTE);
  struct cons_vote after = vote(PV, 0, 1, 0, &o.o[0].id);
  assert_vote_eq(&before, &after); /* same id, so the same signature */
  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  /* Round 0's proposal is gone with the crash; another one arrives (from
   * an equivocating proposer): no second prevote for round 0. */
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &B, true), OK);
  assert_int_equal(count_kind(&o, CONS_OUT_SIGN_VOTE), 0);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  EXPECT_NONE(&o);
  struct cons_vote own[2 * CONS_ROUND_SLOTS];
  assert_int_equal(cons_own_votes(c, own, 2 * CONS_ROUND_SLOTS), 1);
  assert_vote_eq(&own[0], &before);
  free(c);

  /* After both votes of a round: both asked for again, precommit timer. */
  c = start4(&vs, 1);
  lock_round0(c, &A, &o);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 1);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PV, 1, 1, &nil), OK);
  assert_int_equal(on_vote(c, &o, PV, 2, 1, &nil), OK);
  check_sign_vote(&o.o[1], PC, 1, 1, &nil);
  persist(c, disk);
  free(c);
  c = restart(0, 1, &vs, disk, &o);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE, CONS_OUT_SIGN_VOTE, CONS_OUT_TIMER);
  check_sign_vote(&o.o[0], PV, 1, 1, &nil);
  check_sign_vote(&o.o[1], PC, 1, 1, &nil);
  check_timer(&o.o[2], CONS_TIMER_PRECOMMIT, 1, 1, 200);
  assert_int_equal(cons_step(c), CONS_STEP_PRECOMMIT);
  free(c);
  free(disk);
}

static void test_restart_keeps_lock_and_proof(void **state) {
  (void)state;
  struct cons_valset vs;
  uint8_t *disk = must_alloc(CONS_WAL_BYTES);
  struct cons_outbuf o;
  /* Not the proposer: locked on A, restarted in round 1, B gets nil. */
  struct cons *c = start4(&vs, 1);
  lock_round0(c, &A, &o);
  persist(c, disk);
  struct cons_vote pol_before[LIM_VALIDATORS_MAX];
  assert_int_equal(cons_pol_votes(c, 0, &A, pol_before, LIM_VALIDATORS_MAX), 3);
  free(c);
  c = restart(0, 1, &vs, disk, &o);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  check_timer(&o.o[0], CONS_TIMER_PROPOSE, 1, 1, 400);
  const struct cons_wal *w = cons_wal_get(c);
  assert_int_equal(w->round, 1);
  assert_int_equal(w->locked_round, 0);
  assert_memory_equal(w->locked_id.b, A.b, 32);
  assert_int_equal(w->valid_round, 0);
  assert_memory_equal(w->valid_id.b, A.b, 32);
  assert_int_equal(w->npol, 3);
  struct cons_vote pol[LIM_VALIDATORS_MAX];
  assert_int_equal(cons_pol_votes(c, 0, &A, pol, LIM_VALIDATORS_MAX), 3);
  for (int i = 0; i < 3; i++) {
    assert_vote_eq(&pol[i], &pol_before[i]);
  }
  assert_int_equal(on_prop(c, &o, 2, 1, -1, &B, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 1, &nil);
  free(c);

  /* The proposer of round 1: crashed after asking to sign the re-proposal;
   * it asks for the same one again, justified by the re-inserted POL. */
  c = start4(&vs, 3);
  lock_round0(c, &A, &o);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_PROPOSAL, CONS_OUT_TIMER);
  persist(c, disk);
  free(c);
  c = restart(0, 3, &vs, disk, &o);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_PROPOSAL, CONS_OUT_TIMER);
  assert_int_equal(o.o[0].round, 1);
  assert_int_equal(o.o[0].pol_round, 0);
  assert_memory_equal(o.o[0].id.b, A.b, 32);
  struct cons_out req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 3, 1, &A);
  free(c);

  /* The POL alone survives too: a round-2 proposal of A citing round 0. */
  c = start4(&vs, 1);
  lock_round0(c, &A, &o);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 1);
  req = o.o[0];
  assert_int_equal(hand_back(c, 0, &req, &o), OK);
  assert_int_equal(on_vote(c, &o, PC, 1, 1, &nil), OK);
  assert_int_equal(on_vote(c, &o, PC, 2, 1, &nil), OK);
  assert_int_equal(on_vote(c, &o, PC, 3, 1, &nil), OK);
  on_timeout(c, &o, CONS_TIMER_PRECOMMIT, 1);
  assert_int_equal(cons_round(c), 2);
  persist(c, disk);
  free(c);
  c = restart(0, 1, &vs, disk, &o);
  /* Line 28 needs round 0's prevotes: only the re-inserted POL has them
   * (without it the proposal would wait for the propose timeout). */
  assert_int_equal(on_prop(c, &o, 3, 2, 0, &A, true), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[0], PV, 1, 2, &A);
  free(c);
  free(disk);
}

/* A node whose chain is behind its signing record (the block it decided
 * was not durable when it crashed) restarts below the record's height: it
 * must not sign what the record cannot vouch for, and must not crash. */
static void test_restart_below_the_record(void **state) {
  (void)state;
  struct cons_valset vs;
  uint8_t *disk = must_alloc(CONS_WAL_BYTES);
  struct cons_outbuf o;
  struct cons_out req;
  /* Height 1 to round 3 on nil (this node precommits nil in round 3), then
   * height 2, where it prevotes nil. */
  struct cons *c = start4(&vs, 1);
  for (uint32_t r = 0; r < 4; r++) {
    on_timeout(c, &o, CONS_TIMER_PROPOSE, r);
    req = o.o[0];
    assert_int_equal(hand_back(c, 0, &req, &o), OK);
    assert_int_equal(on_vote(c, &o, PV, 1, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PV, 2, r, &nil), OK);
    req = o.o[1];
    check_sign_vote(&req, PC, 1, r, &nil);
    assert_int_equal(hand_back(c, 0, &req, &o), OK);
    if (r < 3) {
      assert_int_equal(on_vote(c, &o, PC, 1, r, &nil), OK);
      assert_int_equal(on_vote(c, &o, PC, 2, r, &nil), OK);
      on_timeout(c, &o, CONS_TIMER_PRECOMMIT, r);
    }
  }
  memset(&o, 0, sizeof o);
  cons_start(c, 2, &vs, NULL, &o);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  check_sign_vote(&o.o[0], PV, 2, 0, &nil);
  persist(c, disk);
  free(c);

  /* Back at height 1: prevotes (record at height 2) and precommits up to
   * round 3 (record at 1/3) are refused; the machine follows and decides. */
  c = restart(0, 1, &vs, disk, &o);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  assert_int_equal(cons_round(c), 0);
  assert_int_equal(on_prop(c, &o, 1, 0, -1, &A, true), OK);
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PREVOTE);
  assert_int_equal(on_vote(c, &o, PV, 1, 0, &A), OK);
  assert_int_equal(on_vote(c, &o, PV, 2, 0, &A), OK);
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PV, 3, 0, &A), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER); /* lock, but no precommit to sign */
  assert_int_equal(cons_step(c), CONS_STEP_PRECOMMIT);
  assert_int_equal(on_vote(c, &o, PC, 1, 0, &A), OK);
  assert_int_equal(on_vote(c, &o, PC, 2, 0, &A), OK);
  assert_int_equal(on_vote(c, &o, PC, 3, 0, &A), OK);
  EXPECT_KINDS(&o, CONS_OUT_DECIDE);
  const struct cons_wal *w = cons_wal_get(c);
  assert_int_equal(w->prevote.height, 2);
  assert_int_equal(w->precommit.height, 1);
  assert_int_equal(w->precommit.round, 3);
  /* On to height 2, which the record reaches: the prevote it signed there
   * (nil) may be signed again, no other. */
  memset(&o, 0, sizeof o);
  cons_start(c, 2, &vs, NULL, &o);
  assert_int_equal(on_prop(c, &o, 2, 0, -1, &A, true), OK);
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PREVOTE);
  free(c);

  /* Precommits: refused below the record's round, the identical one at
   * its round (1/3, nil) allowed, later ones allowed. */
  c = restart(0, 1, &vs, disk, &o);
  for (uint32_t r = 0; r < 4; r++) {
    on_timeout(c, &o, CONS_TIMER_PROPOSE, r);
    EXPECT_NONE(&o);
    assert_int_equal(on_vote(c, &o, PV, 1, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PV, 2, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PV, 3, r, &nil), OK);
    if (r < 3) {
      EXPECT_KINDS(&o, CONS_OUT_TIMER);
    } else {
      EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
      check_sign_vote(&o.o[1], PC, 1, 3, &nil);
    }
    assert_int_equal(on_vote(c, &o, PC, 1, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PC, 2, r, &nil), OK);
    assert_int_equal(on_vote(c, &o, PC, 3, r, &nil), OK);
    on_timeout(c, &o, CONS_TIMER_PRECOMMIT, r);
  }
  assert_int_equal(cons_round(c), 4);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 4);
  EXPECT_NONE(&o);
  assert_int_equal(on_vote(c, &o, PV, 1, 4, &nil), OK);
  assert_int_equal(on_vote(c, &o, PV, 2, 4, &nil), OK);
  assert_int_equal(on_vote(c, &o, PV, 3, 4, &nil), OK);
  EXPECT_KINDS(&o, CONS_OUT_TIMER, CONS_OUT_SIGN_VOTE);
  check_sign_vote(&o.o[1], PC, 1, 4, &nil);
  free(c);

  /* A record of an earlier height keeps only its signing record. */
  c = restart(0, 3, &vs, disk, &o);
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  w = cons_wal_get(c);
  assert_int_equal(w->height, 3);
  assert_int_equal(w->round, 0);
  assert_int_equal(w->locked_round, -1);
  assert_int_equal(w->prevote.height, 2);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  check_sign_vote(&o.o[0], PV, 3, 0, &nil);
  free(c);
  free(disk);
}

static void test_wal_may_sign(void **state) {
  (void)state;
  struct cons_wal w;
  memset(&w, 0, sizeof w);
  w.locked_round = w.valid_round = -1;
  /* Nothing signed: anything goes. */
  assert_true(cons_wal_may_sign(&w, 0, 1, 0, -1, &A));
  assert_true(cons_wal_may_sign(&w, PV, 1, 0, -1, &A));
  assert_true(cons_wal_may_sign(&w, PC, 1, 0, -1, &nil));
  assert_false(cons_wal_may_sign(&w, 3, 1, 0, -1, &A)); /* no such kind */
  w.height = 5;
  w.round = 2;
  w.proposal = (struct cons_signed){true, 5, 2, 1, C};
  w.prevote = (struct cons_signed){true, 5, 2, -1, A};
  w.precommit = (struct cons_signed){true, 5, 1, -1, B};
  /* The same message again. */
  assert_true(cons_wal_may_sign(&w, PV, 5, 2, -1, &A));
  assert_true(cons_wal_may_sign(&w, PC, 5, 1, -1, &B));
  assert_true(cons_wal_may_sign(&w, 0, 5, 2, 1, &C));
  /* A conflicting one: another id, nil, another pol_round. */
  assert_false(cons_wal_may_sign(&w, PV, 5, 2, -1, &B));
  assert_false(cons_wal_may_sign(&w, PV, 5, 2, -1, &nil));
  assert_false(cons_wal_may_sign(&w, PC, 5, 1, -1, &nil));
  assert_false(cons_wal_may_sign(&w, 0, 5, 2, 0, &C));
  assert_false(cons_wal_may_sign(&w, 0, 5, 2, -1, &C));
  assert_false(cons_wal_may_sign(&w, 0, 5, 2, 1, &A));
  /* Earlier rounds and heights: refused. */
  assert_false(cons_wal_may_sign(&w, PV, 5, 1, -1, &A));
  assert_false(cons_wal_may_sign(&w, PC, 5, 0, -1, &B));
  assert_false(cons_wal_may_sign(&w, 0, 4, 9, -1, &C));
  assert_false(cons_wal_may_sign(&w, PV, 4, 100, -1, &A));
  /* Later rounds and heights: allowed, per kind. */
  assert_true(cons_wal_may_sign(&w, PV, 5, 3, -1, &B));
  assert_true(cons_wal_may_sign(&w, PC, 5, 2, -1, &nil)); /* precommit record is at round 1 */
  assert_true(cons_wal_may_sign(&w, 0, 5, 3, 2, &A));
  assert_true(cons_wal_may_sign(&w, PV, 6, 0, -1, &C));
  assert_true(cons_wal_may_sign(&w, PC, 6, 0, -1, &C));
}

/* ---- rejected inputs ---------------------------------------------------------------- */

static void test_rejected_inputs(void **state) {
  (void)state;
  struct cons_valset vs;
  struct cons_outbuf o = {0};
  /* Before any height: nothing is in the window. */
  struct cons *c = cons_new(0);
  valset(&vs, 4, NULL);
  struct cons_vote v = vote(PV, 1, 1, 0, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_NOT_FOUND);
  struct cons_proposal p = proposal(1, 1, 0, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_NOT_FOUND);
  EXPECT_NONE(&o);
  free(c);

  c = start4(&vs, 5);
  /* Votes. */
  v = vote(PV, 1, 4, 0, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_NOT_FOUND);
  v = vote(PV, 1, 6, 0, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_NOT_FOUND);
  v = vote(PV, 1, 5, CONS_FUTURE_ROUNDS + 1, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_NOT_FOUND);
  v = vote(PV, 1, 5, UINT32_MAX, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_NOT_FOUND);
  v = vote(PV, 4, 5, 0, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_BAD_ARGS);
  v = vote(PV, UINT16_MAX, 5, 0, &A);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_BAD_ARGS);
  v = vote(PV, 1, 5, 0, &A);
  v.type = 0;
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_BAD_ARGS);
  v.type = 3;
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_BAD_ARGS);
  EXPECT_NONE(&o);
  v = vote(PV, 1, 5, CONS_FUTURE_ROUNDS, &A); /* the edge of the window */
  assert_int_equal(cons_on_vote(c, &v, &o), OK);
  assert_int_equal(cons_on_vote(c, &v, &o), ERR_EXISTS);
  EXPECT_NONE(&o);
  /* Proposals: height 5's proposers are v1, v2, v3, v0, v1 for rounds 0-4. */
  p = proposal(1, 4, 0, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_NOT_FOUND);
  p = proposal(2, 5, CONS_FUTURE_ROUNDS + 1, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_NOT_FOUND);
  p = proposal(2, 5, 0, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_UNAUTHORIZED);
  p = proposal(0, 5, 0, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_UNAUTHORIZED);
  p = proposal(9, 5, 0, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_UNAUTHORIZED);
  p = proposal(1, 5, 0, -1, &A);
  p.pol_round = 0; /* not below its round (unsigned: the core trusts its caller) */
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_BAD_ARGS);
  p.pol_round = -2;
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_BAD_ARGS);
  p = (struct cons_proposal){.proposer = 1, .height = 5, .round = 0, .pol_round = -1};
  assert_int_equal(cons_on_proposal(c, &p, true, &o), ERR_BAD_ARGS); /* nil id */
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PROPOSE);
  p = proposal(1, 5, 0, -1, &A);
  assert_int_equal(cons_on_proposal(c, &p, true, &o), OK);
  EXPECT_KINDS(&o, CONS_OUT_SIGN_VOTE);
  /* Stale values are ignored too. */
  memset(&o, 0, sizeof o);
  cons_on_value(c, 5, 0, &B, &o);
  EXPECT_NONE(&o);
  free(c);
}

/* ---- encodings -------------------------------------------------------------------- */

static void test_vote_wire(void **state) {
  (void)state;
  struct cons_vote v = {
      .type = PC, .validator = 0x0102, .height = 0x0102030405060708ull, .round = 0x0a0b0c0d};
  memset(v.id.b, 0x11, 32);
  memset(v.sig.b, 0x22, 64);
  uint8_t e[CONS_VOTE_BYTES];
  cons_vote_encode(&v, e);
  const uint8_t head[15] = {2, 1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 0x0a, 0x0b, 0x0c, 0x0d};
  assert_memory_equal(e, head, 15);
  for (int i = 15; i < 47; i++) {
    assert_int_equal(e[i], 0x11);
  }
  for (int i = 47; i < CONS_VOTE_BYTES; i++) {
    assert_int_equal(e[i], 0x22);
  }
  struct cons_vote d;
  assert_int_equal(cons_vote_decode(&d, e, sizeof e), OK);
  assert_vote_eq(&d, &v);
  assert_int_equal(d.validator, 0x0102);
  assert_int_equal(d.height, 0x0102030405060708ull);
  /* A real vote too. */
  struct cons_vote r = vote(PV, 3, 9, 2, &nil);
  cons_vote_encode(&r, e);
  assert_int_equal(cons_vote_decode(&d, e, sizeof e), OK);
  assert_vote_eq(&d, &r);
  /* Rejections. */
  uint8_t big[CONS_VOTE_BYTES + 1] = {0};
  memcpy(big, e, sizeof e);
  assert_int_equal(cons_vote_decode(&d, e, sizeof e - 1), ERR_MALFORMED);
  assert_int_equal(cons_vote_decode(&d, big, sizeof big), ERR_MALFORMED);
  assert_int_equal(cons_vote_decode(&d, NULL, 0), ERR_MALFORMED);
  for (int t = 0; t < 256; t++) {
    uint8_t x[CONS_VOTE_BYTES];
    memcpy(x, e, sizeof x);
    x[0] = (uint8_t)t;
    assert_int_equal(cons_vote_decode(&d, x, sizeof x), t == 1 || t == 2 ? OK : ERR_MALFORMED);
  }
  uint8_t x[CONS_VOTE_BYTES];
  memcpy(x, e, sizeof x);
  memset(x + 3, 0, 8); /* height 0 */
  assert_int_equal(cons_vote_decode(&d, x, sizeof x), ERR_MALFORMED);
  memcpy(x, e, sizeof x);
  base_put_u32be(x + 11, (uint32_t)INT32_MAX + 1); /* round beyond int32 */
  assert_int_equal(cons_vote_decode(&d, x, sizeof x), ERR_MALFORMED);
  base_put_u32be(x + 11, INT32_MAX);
  assert_int_equal(cons_vote_decode(&d, x, sizeof x), OK);
}

static void test_proposal_wire(void **state) {
  (void)state;
  struct cons_proposal p = {.proposer = 0x0304, .height = 77, .round = 5, .pol_round = -1};
  memset(p.id.b, 0x33, 32);
  memset(p.sig.b, 0x44, 64);
  uint8_t e[CONS_PROPOSAL_BYTES];
  cons_proposal_encode(&p, e);
  const uint8_t head[18] = {3, 4, 0, 0, 0, 0, 0, 0, 0, 77, 0, 0, 0, 5, 0, 0, 0, 0};
  assert_memory_equal(e, head, 18);
  assert_int_equal(e[18], 0x33);
  assert_int_equal(e[49], 0x33);
  assert_int_equal(e[50], 0x44);
  assert_int_equal(e[113], 0x44);
  struct cons_proposal d;
  assert_int_equal(cons_proposal_decode(&d, e, sizeof e), OK);
  assert_proposal_eq(&d, &p);
  assert_int_equal(d.pol_round, -1);
  p.pol_round = 4; /* round - 1: the largest allowed */
  cons_proposal_encode(&p, e);
  assert_int_equal(base_get_u32be(e + 14), 5);
  assert_int_equal(cons_proposal_decode(&d, e, sizeof e), OK);
  assert_int_equal(d.pol_round, 4);
  struct cons_proposal r = proposal(2, 3, 1, 0, &B);
  cons_proposal_encode(&r, e);
  assert_int_equal(cons_proposal_decode(&d, e, sizeof e), OK);
  assert_proposal_eq(&d, &r);
  /* Rejections. */
  uint8_t x[CONS_PROPOSAL_BYTES + 1] = {0};
  memcpy(x, e, sizeof e);
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e - 1), ERR_MALFORMED);
  assert_int_equal(cons_proposal_decode(&d, x, sizeof x), ERR_MALFORMED);
  assert_int_equal(cons_proposal_decode(&d, NULL, 0), ERR_MALFORMED);
  memset(x + 2, 0, 8); /* height 0 */
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), ERR_MALFORMED);
  memcpy(x, e, sizeof e);
  base_put_u32be(x + 14, 2); /* pol_round 1 == round */
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), ERR_MALFORMED);
  base_put_u32be(x + 14, UINT32_MAX);
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), ERR_MALFORMED);
  base_put_u32be(x + 14, 0);
  base_put_u32be(x + 10, 0); /* round 0, no POL: fine */
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), OK);
  base_put_u32be(x + 14, 1); /* round 0 with pol_round 0 */
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), ERR_MALFORMED);
  memcpy(x, e, sizeof e);
  base_put_u32be(x + 10, (uint32_t)INT32_MAX + 1);
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), ERR_MALFORMED);
  memcpy(x, e, sizeof e);
  memset(x + 18, 0, 32); /* nil id */
  assert_int_equal(cons_proposal_decode(&d, x, sizeof e), ERR_MALFORMED);
}

static void fill_wal(struct cons_wal *w) {
  memset(w, 0, sizeof *w);
  w->height = 12;
  w->round = 3;
  w->locked_round = 1;
  w->locked_id = A;
  w->valid_round = 2;
  w->valid_id = B;
  w->proposal = (struct cons_signed){true, 12, 2, 1, B};
  w->prevote = (struct cons_signed){true, 12, 3, -1, nil};
  w->precommit = (struct cons_signed){true, 12, 2, -1, B};
  w->npol = 3;
  for (uint16_t i = 0; i < 3; i++) {
    w->pol[i] = vote(PV, i, 12, 2, &B);
  }
}

static void test_wal_encoding(void **state) {
  (void)state;
  struct cons_wal *w = must_alloc(sizeof *w), *d = must_alloc(sizeof *d);
  uint8_t *e = must_alloc(CONS_WAL_BYTES), *e2 = must_alloc(CONS_WAL_BYTES);
  fill_wal(w);
  cons_wal_encode(w, e);
  assert_memory_equal(e, "MCW1", 4);
  assert_int_equal(base_get_u64be(e + 4), 12);
  assert_int_equal(cons_wal_decode(d, e), OK);
  assert_int_equal(d->height, 12);
  assert_int_equal(d->round, 3);
  assert_int_equal(d->locked_round, 1);
  assert_memory_equal(d->locked_id.b, A.b, 32);
  assert_int_equal(d->valid_round, 2);
  assert_memory_equal(d->valid_id.b, B.b, 32);
  assert_true(d->proposal.set);
  assert_int_equal(d->proposal.pol_round, 1);
  assert_int_equal(d->prevote.round, 3);
  assert_memory_equal(d->prevote.id.b, nil.b, 32);
  assert_int_equal(d->precommit.round, 2);
  assert_int_equal(d->npol, 3);
  for (int i = 0; i < 3; i++) {
    assert_vote_eq(&d->pol[i], &w->pol[i]);
  }
  cons_wal_encode(d, e2);
  assert_memory_equal(e, e2, CONS_WAL_BYTES);
  /* The record of a fresh machine. */
  struct cons *c = cons_new(0);
  cons_wal_encode(cons_wal_get(c), e2);
  assert_int_equal(cons_wal_decode(d, e2), OK);
  assert_int_equal(d->locked_round, -1);
  assert_false(d->prevote.set);
  free(c);
  /* Any flipped byte, anywhere, is corruption. */
  for (size_t i = 0; i < CONS_WAL_BYTES; i++) {
    e[i] ^= 0x40;
    assert_int_equal(cons_wal_decode(d, e), ERR_CORRUPT);
    e[i] ^= 0x40;
  }
  assert_int_equal(cons_wal_decode(d, e), OK);
  memset(e2, 0, CONS_WAL_BYTES);
  assert_int_equal(cons_wal_decode(d, e2), ERR_CORRUPT);
  free(w);
  free(d);
  free(e);
  free(e2);
}

/* Fields out of range, padding and trailing bytes: with a matching
 * checksum (a writer bug, not a torn write) they are still refused, so a
 * decoded record always encodes back to the same bytes. */
static void wal_reseal(uint8_t *e) {
  struct hash32 sum;
  cry_hash_tagged(&sum, WAL_TAG, e, CONS_WAL_BYTES - 32);
  memcpy(e + CONS_WAL_BYTES - 32, sum.b, 32);
}

static void test_wal_rejects_noncanonical(void **state) {
  (void)state;
  struct cons_wal *w = must_alloc(sizeof *w), *d = must_alloc(sizeof *d);
  uint8_t *e = must_alloc(CONS_WAL_BYTES), *x = must_alloc(CONS_WAL_BYTES);
  fill_wal(w);
  cons_wal_encode(w, e);
  /* Resealing an untouched record changes nothing. */
  memcpy(x, e, CONS_WAL_BYTES);
  wal_reseal(x);
  assert_memory_equal(x, e, CONS_WAL_BYTES);
  /* Offsets: 12 round, 16 locked_round + 1, 52 valid_round + 1, 88 the
   * proposal's set byte, 101 its pol_round + 1, 235.. padding, 256 npol,
   * 258 the first POL vote's type, 268 its height's last byte, 258 + 3 *
   * 111 = 591.. padding up to the checksum. */
  const struct {
    size_t off;
    uint8_t byte;
  } bad[] = {{12, 0x80}, {16, 0x80}, {52, 0x80}, {88, 2},  {101, 0x80}, {235, 1},
             {255, 1},   {256, 1},   {258, 9},   {268, 0}, {591, 1},    {CONS_WAL_BYTES - 33, 1}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memcpy(x, e, CONS_WAL_BYTES);
    x[bad[i].off] = bad[i].byte;
    wal_reseal(x);
    assert_int_equal(cons_wal_decode(d, x), ERR_CORRUPT);
  }
  free(w);
  free(d);
  free(e);
  free(x);
}

static void test_signatures(void **state) {
  (void)state;
  struct cons_valset vs;
  valset(&vs, 4, NULL);
  const struct bytes other = {(const uint8_t *)"other-chain", 11};
  struct cons_vote v = vote(PV, 2, 7, 1, &A);
  assert_int_equal(cons_vote_verify(&v, &vs, &chain), OK);
  assert_int_equal(cons_vote_verify(&v, &vs, &other), ERR_BAD_SIGNATURE);
  struct cons_vote x = v;
  x.type = PC;
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_BAD_SIGNATURE);
  x = v;
  x.height = 8;
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_BAD_SIGNATURE);
  x = v;
  x.round = 2;
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_BAD_SIGNATURE);
  x = v;
  x.id = nil;
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_BAD_SIGNATURE);
  x = v;
  x.sig.b[10] ^= 1;
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_BAD_SIGNATURE);
  x = v;
  x.validator = 1; /* another validator's key */
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_BAD_SIGNATURE);
  x.validator = 4; /* beyond the set */
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_UNAUTHORIZED);
  x = v;
  x.type = 7;
  assert_int_equal(cons_vote_verify(&x, &vs, &chain), ERR_MALFORMED);
  assert_int_not_equal(cons_vote_sign(&x, keys[2], &chain), OK);
  const struct bytes empty = {(const uint8_t *)"", 0};
  assert_int_not_equal(cons_vote_sign(&v, keys[2], &empty), OK);
  /* The vote's signature is the precommit sighash's, for the commit. */
  struct cons_vote pc = vote(PC, 2, 7, 1, &A);
  struct hash32 msg;
  assert_int_equal(codec_vote_sighash(&msg, &chain, 7, 1, &A), OK);
  assert_int_equal(cry_verify(&pc.sig, msg.b, sizeof msg.b, &vs.pk[2]), OK);

  struct cons_proposal p = proposal(3, 7, 2, 1, &B);
  assert_int_equal(cons_proposal_verify(&p, &vs, &chain), OK);
  assert_int_equal(cons_proposal_verify(&p, &vs, &other), ERR_BAD_SIGNATURE);
  struct cons_proposal y = p;
  y.pol_round = 0;
  assert_int_equal(cons_proposal_verify(&y, &vs, &chain), ERR_BAD_SIGNATURE);
  y = p;
  y.id = A;
  assert_int_equal(cons_proposal_verify(&y, &vs, &chain), ERR_BAD_SIGNATURE);
  y = p;
  y.round = 3;
  assert_int_equal(cons_proposal_verify(&y, &vs, &chain), ERR_BAD_SIGNATURE);
  y = p;
  y.proposer = 0;
  assert_int_equal(cons_proposal_verify(&y, &vs, &chain), ERR_BAD_SIGNATURE);
  y.proposer = 4;
  assert_int_equal(cons_proposal_verify(&y, &vs, &chain), ERR_UNAUTHORIZED);
  y = p;
  y.pol_round = 2; /* not below its round */
  assert_int_equal(cons_proposal_verify(&y, &vs, &chain), ERR_MALFORMED);
}

/* The worked vectors of docs/consensus.md, computed there with Python's
 * hashlib.blake2b(digest_size=32). */
static void test_sighash_vectors(void **state) {
  (void)state;
  const struct bytes demo = {(const uint8_t *)"medchain-demo", 13};
  struct hash32 id, h;
  for (int i = 0; i < 32; i++) {
    id.b[i] = (uint8_t)i;
  }
  char hex[65];
  assert_int_equal(codec_vote_sighash_typed(&h, PC, &demo, 42, 1, &id), OK);
  base_hash_hex(hex, &h);
  assert_string_equal(hex, "c625cf3b081d80a03bb9af382984476be1a54d1cd4ede7d7fa667fd6bd481e47");
  assert_int_equal(codec_vote_sighash_typed(&h, PV, &demo, 42, 1, &nil), OK);
  base_hash_hex(hex, &h);
  assert_string_equal(hex, "83a0a4a1e5443e8aca37127537d7169da9ae68cdccb08b2a4fd16a8f483e20fe");
  assert_int_equal(codec_proposal_sighash(&h, &demo, 42, 1, 0, &id), OK);
  base_hash_hex(hex, &h);
  assert_string_equal(hex, "1425365a674894a2a57c43af3ff882b94be57b016e7486c35ee812e160cdeba1");
}

/* ---- a follower --------------------------------------------------------------------- */

static void test_follower_never_signs(void **state) {
  (void)state;
  struct cons_valset vs;
  valset(&vs, 4, NULL);
  struct cons *c = cons_new(CONS_NO_SELF);
  struct cons_outbuf o = {0};
  cons_start(c, 4, &vs, NULL, &o); /* (4 + 0) mod 4: v0 proposes */
  EXPECT_KINDS(&o, CONS_OUT_TIMER);
  on_timeout(c, &o, CONS_TIMER_PROPOSE, 0);
  EXPECT_NONE(&o);
  assert_int_equal(cons_step(c), CONS_STEP_PREVOTE);
  assert_int_equal(on_prop(c, &o, 0, 0, -1, &A, true), OK);
  for (uint16_t v = 0; v < 3; v++) {
    assert_int_equal(on_vote(c, &o, PV, v, 0, &A), OK);
    assert_int_equal(count_kind(&o, CONS_OUT_SIGN_VOTE), 0);
  }
  for (uint16_t v = 0; v < 3; v++) {
    assert_int_equal(on_vote(c, &o, PC, v, 0, &A), OK);
  }
  EXPECT_KINDS(&o, CONS_OUT_DECIDE);
  struct cons_vote own[4];
  assert_int_equal(cons_own_votes(c, own, 4), 0);
  struct commit cm;
  assert_int_equal(cons_commit(c, &cm), OK);
  assert_true(commit_ok(&cm, &vs, 4, &A));
  assert_false(cons_wal_get(c)->prevote.set);
  free(c);
}

/* ---- the bound on actions ------------------------------------------------------------- */

static uint64_t burst_rng = 0x243f6a8885a308d3ull;

static uint32_t burst_below(uint32_t n) {
  burst_rng ^= burst_rng << 13;
  burst_rng ^= burst_rng >> 7;
  burst_rng ^= burst_rng << 17;
  return (uint32_t)(burst_rng % n);
}

struct burst {
  struct cons *c;
  struct cons_valset vs;
  uint32_t max_out, inputs, decisions;
};

/* Carries out the machine's own requests, each on a fresh buffer. */
static void burst_settle(struct burst *b, const struct cons_outbuf *first) {
  struct cons_out fifo[512];
  size_t head = 0, tail = 0;
  for (uint32_t i = 0; i < first->n; i++) {
    fifo[tail++] = first->o[i];
  }
  while (head < tail) {
    struct cons_out x = fifo[head++];
    struct cons_outbuf o = {0};
    if (x.kind == CONS_OUT_SIGN_VOTE || x.kind == CONS_OUT_SIGN_PROPOSAL) {
      (void)hand_back(b->c, 0, &x, &o);
    } else if (x.kind == CONS_OUT_GET_VALUE) {
      cons_on_value(b->c, x.height, x.round, burst_below(2) ? &A : &B, &o);
    } else if (x.kind == CONS_OUT_DECIDE) {
      b->decisions++;
      cons_start(b->c, x.height + 1, &b->vs, NULL, &o);
    }
    b->max_out = o.n > b->max_out ? o.n : b->max_out;
    assert_true(o.n <= CONS_OUT_MAX);
    for (uint32_t i = 0; i < o.n; i++) {
      assert_true(tail < sizeof fifo / sizeof fifo[0]);
      fifo[tail++] = o.o[i];
    }
  }
}

static void burst_vote(struct burst *b, uint8_t type, uint16_t v, uint32_t r,
                       const struct hash32 *id) {
  struct cons_outbuf o = {0};
  struct cons_vote x = vote(type, v, cons_height(b->c), r, id);
  (void)cons_on_vote(b->c, &x, &o);
  b->inputs++;
  b->max_out = o.n > b->max_out ? o.n : b->max_out;
  assert_true(o.n <= CONS_OUT_MAX);
  burst_settle(b, &o);
}

static void test_output_bound_burst(void **state) {
  (void)state;
  struct burst *b = must_alloc(sizeof *b);
  valset(&b->vs, LIM_VALIDATORS_MAX, NULL);
  b->c = cons_new(0);
  struct cons_outbuf o = {0};
  cons_start(b->c, 1, &b->vs, NULL, &o);
  burst_settle(b, &o);
  const struct hash32 *ids[3] = {&A, &B, &nil};
  /* Every validator's votes for every round of the window, the highest
   * round first, then each one's conflicting second votes. */
  for (uint32_t pass = 0; pass < 2; pass++) {
    uint32_t cur = cons_round(b->c);
    for (uint32_t k = CONS_FUTURE_ROUNDS + 1; k-- > 0;) {
      for (uint16_t v = 1; v < LIM_VALIDATORS_MAX; v++) {
        const struct hash32 *id = ids[(v + k + pass) % 3];
        burst_vote(b, PV, v, cur + k, id);
        burst_vote(b, PC, v, cur + k, id);
      }
    }
  }
  /* Then random traffic around the current round, proposals and timers. */
  for (int i = 0; i < 4000; i++) {
    /* Mostly the current round and value A, so heights get decided. */
    uint32_t cur = cons_round(b->c);
    uint32_t r = cur;
    uint32_t where = burst_below(16);
    if (where == 0 && cur > 0) {
      r = cur - 1;
    } else if (where == 1) {
      r = cur + 1 + burst_below(CONS_FUTURE_ROUNDS);
    }
    uint32_t what = burst_below(100);
    memset(&o, 0, sizeof o);
    if (what < 90) {
      uint16_t v = (uint16_t)(1 + burst_below(LIM_VALIDATORS_MAX - 1));
      const struct hash32 *id = burst_below(8) < 6 ? &A : ids[1 + burst_below(2)];
      burst_vote(b, burst_below(2) ? PV : PC, v, r, id);
      continue;
    }
    if (what < 98) {
      uint16_t p = cons_proposer(&b->vs, cons_height(b->c), r);
      int32_t pol = r > 0 && burst_below(2) ? (int32_t)(r - 1) : -1;
      struct cons_proposal x = proposal(p, cons_height(b->c), r, pol, burst_below(2) ? &A : &B);
      (void)cons_on_proposal(b->c, &x, burst_below(4) != 0, &o);
    } else {
      cons_on_timeout(b->c, (enum cons_timer)(1 + burst_below(3)), cons_height(b->c), cur, &o);
    }
    b->inputs++;
    assert_true(o.n <= CONS_OUT_MAX);
    b->max_out = o.n > b->max_out ? o.n : b->max_out;
    burst_settle(b, &o);
  }
  print_message("burst: %u inputs, %u decisions, at most %u actions per input (max %d)\n",
                b->inputs, b->decisions, b->max_out, CONS_OUT_MAX);
  assert_true(b->decisions > 0);
  free(b->c);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_single_validator_decides),
      cmocka_unit_test(test_four_validators_happy_path),
      cmocka_unit_test(test_proposer_proportional_to_power),
      cmocka_unit_test(test_quorum_needs_more_than_two_thirds),
      cmocka_unit_test(test_round_skip_needs_more_than_one_third),
      cmocka_unit_test(test_locked_prevotes_nil_on_fresh_proposal),
      cmocka_unit_test(test_proof_of_lock_unlocks),
      cmocka_unit_test(test_proof_of_lock_below_lock_is_refused),
      cmocka_unit_test(test_proposer_reproposes_valid_value),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_timer_durations_grow),
      cmocka_unit_test(test_equivocating_votes),
      cmocka_unit_test(test_equivocating_proposals),
      cmocka_unit_test(test_restart_resigns_the_same_prevote),
      cmocka_unit_test(test_restart_keeps_lock_and_proof),
      cmocka_unit_test(test_restart_below_the_record),
      cmocka_unit_test(test_wal_may_sign),
      cmocka_unit_test(test_rejected_inputs),
      cmocka_unit_test(test_vote_wire),
      cmocka_unit_test(test_proposal_wire),
      cmocka_unit_test(test_wal_encoding),
      cmocka_unit_test(test_wal_rejects_noncanonical),
      cmocka_unit_test(test_signatures),
      cmocka_unit_test(test_sighash_vectors),
      cmocka_unit_test(test_follower_never_signs),
      cmocka_unit_test(test_output_bound_burst),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
