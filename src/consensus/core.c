/*
 * core — the Tendermint state machine of Algorithm 1 (arXiv 1807.04938).
 * Line numbers in comments are the paper's.
 *
 * Every input stores what it brings, then eval() applies the rules until
 * none fires. A rule that signs first updates the signing record (c->w)
 * and emits the request; the signed message comes back as an input like
 * any peer's and is counted then.
 *
 * Tallies count each validator once per round and type: the first vote
 * wins, a conflicting second one is evidence and counts nothing.
 */
#include "consensus/consensus.h"

#include <assert.h>
#include <string.h>

static const struct hash32 nil_id;

static bool is_nil(const struct hash32 *id) {
  return base_hash_is_zero(id);
}

static void emit(struct cons_outbuf *out, const struct cons_out *o) {
  assert(out->n < CONS_OUT_MAX);
  out->o[out->n++] = *o;
}

/* total_power < 2^62 (genesis rule), so 3 * p cannot overflow. */
static bool quorum(const struct cons *c, uint64_t p) {
  assert(p <= c->total_power);
  return 3 * p > 2 * c->total_power;
}

static bool over_third(const struct cons *c, uint64_t p) {
  assert(p <= c->total_power);
  return 3 * p > c->total_power;
}

uint64_t cons_total_power(const struct cons_valset *vs) {
  uint64_t t = 0;
  for (uint16_t i = 0; i < vs->n; i++) {
    assert(vs->power[i] > 0);
    t += vs->power[i];
  }
  return t;
}

static uint64_t gcd_u64(uint64_t a, uint64_t b) {
  while (b != 0) {
    uint64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* The height picks round 0's proposer by walking slot height mod total
 * power through the cumulative powers, all divided by their gcd: equal
 * powers then take turns height by height rather than in runs of `power`
 * heights. Each later round passes to the next validator in index order,
 * so any n consecutive rounds visit every validator and a crashed
 * proposer costs a height one round. (Walking height + round instead kept
 * a validator of power p proposing for p rounds in a row: with four
 * validators of power 10 and one down, a height waited ten rounds.) */
uint16_t cons_proposer(const struct cons_valset *vs, uint64_t height, uint32_t round) {
  assert(vs->n > 0 && vs->n <= LIM_VALIDATORS_MAX);
  uint64_t g = 0;
  for (uint16_t i = 0; i < vs->n; i++) {
    g = gcd_u64(vs->power[i], g);
  }
  uint64_t total = cons_total_power(vs);
  assert(g > 0 && total > 0 && total % g == 0);
  uint64_t slot = height % (total / g);
  for (uint16_t i = 0; i < vs->n; i++) {
    uint64_t p = vs->power[i] / g;
    if (slot < p) {
      return (uint16_t)((i + round % vs->n) % vs->n);
    }
    slot -= p;
  }
  assert(0 && "slot beyond the total power");
  return 0;
}

static uint32_t timeout_ms(uint32_t base, uint32_t delta, uint32_t round) {
  uint64_t t = (uint64_t)base + (uint64_t)delta * round;
  return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* ---- rounds ------------------------------------------------------------------ */

static struct cons_round *slot_find(struct cons *c, uint32_t r) {
  for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
    if (c->rounds[i].used && c->rounds[i].round == r) {
      return &c->rounds[i];
    }
  }
  return NULL;
}

static bool slot_protected(const struct cons *c, uint32_t r) {
  return r == c->w.round || (int64_t)r == c->w.locked_round || (int64_t)r == c->w.valid_round;
}

static bool has_polka(const struct cons *c, const struct cons_round *s);

/* The slot of round r, made if needed: a free one, else the slot of the
 * lowest unprotected round without a polka (a quorum of prevotes for one
 * value: what a later proposal may cite), else the lowest unprotected
 * round, if below r. NULL when r is not worth a slot. */
static struct cons_round *slot_get(struct cons *c, uint32_t r) {
  struct cons_round *s = slot_find(c, r);
  if (s != NULL) {
    return s;
  }
  struct cons_round *victim = NULL;
  bool victim_polka = true;
  for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
    struct cons_round *x = &c->rounds[i];
    if (!x->used) {
      victim = x;
      break;
    }
    if (slot_protected(c, x->round)) {
      continue;
    }
    bool polka = has_polka(c, x);
    if (victim == NULL || (victim_polka && !polka) ||
        (victim_polka == polka && x->round < victim->round)) {
      victim = x;
      victim_polka = polka;
    }
  }
  if (victim == NULL ||
      (victim->used && victim->round > r && victim_polka && !slot_protected(c, r))) {
    return NULL;
  }
  memset(victim, 0, sizeof *victim);
  victim->used = true;
  victim->round = r;
  return victim;
}

/* The vote of validator i for id in s, first or second, or NULL. */
static const struct cons_vote *vote_for(const struct cons_round *s, uint8_t type, uint16_t i,
                                        const struct hash32 *id) {
  bool prevote = type == CONS_PREVOTE;
  if ((prevote ? s->has_prevote[i] : s->has_precommit[i]) &&
      base_hash_eq(prevote ? &s->prevotes[i].id : &s->precommits[i].id, id)) {
    return prevote ? &s->prevotes[i] : &s->precommits[i];
  }
  if ((prevote ? s->has_prevote2[i] : s->has_precommit2[i]) &&
      base_hash_eq(prevote ? &s->prevotes2[i].id : &s->precommits2[i].id, id)) {
    return prevote ? &s->prevotes2[i] : &s->precommits2[i];
  }
  return NULL;
}

static uint64_t power_for(const struct cons *c, const struct cons_round *s, uint8_t type,
                          const struct hash32 *id) {
  uint64_t p = 0;
  for (uint16_t i = 0; i < c->vals.n; i++) {
    if (vote_for(s, type, i, id) != NULL) {
      p += c->vals.power[i];
    }
  }
  return p;
}

static bool has_polka(const struct cons *c, const struct cons_round *s) {
  for (uint16_t i = 0; i < c->vals.n; i++) {
    if (s->has_prevote[i] && !is_nil(&s->prevotes[i].id) &&
        quorum(c, power_for(c, s, CONS_PREVOTE, &s->prevotes[i].id))) {
      return true;
    }
  }
  return false;
}

/* Power of the validators that sent anything in round s (line 55). */
static uint64_t power_any(const struct cons *c, const struct cons_round *s) {
  uint64_t p = 0;
  for (uint16_t i = 0; i < c->vals.n; i++) {
    bool sent =
        s->has_prevote[i] || s->has_precommit[i] || (s->has_proposal && s->proposal.proposer == i);
    if (sent) {
      p += c->vals.power[i];
    }
  }
  return p;
}

/* ---- signing ------------------------------------------------------------------- */

static bool at(const struct cons_signed *s, uint64_t h, uint32_t r) {
  return s->set && s->height == h && s->round == r;
}

bool cons_wal_may_sign(const struct cons_wal *w, int kind, uint64_t height, uint32_t round,
                       int32_t pol_round, const struct hash32 *id) {
  const struct cons_signed *s = kind == 0                ? &w->proposal
                                : kind == CONS_PREVOTE   ? &w->prevote
                                : kind == CONS_PRECOMMIT ? &w->precommit
                                                         : NULL;
  if (s == NULL) {
    return false;
  }
  if (!s->set || height > s->height || (height == s->height && round > s->round)) {
    return true;
  }
  if (height == s->height && round == s->round) {
    return base_hash_eq(&s->id, id) && (kind != 0 || s->pol_round == pol_round);
  }
  return false;
}

static void sign_proposal(struct cons *c, const struct hash32 *id, int32_t pol,
                          struct cons_outbuf *out) {
  uint64_t h = c->w.height;
  uint32_t r = c->w.round;
  if (!cons_wal_may_sign(&c->w, 0, h, r, pol, id)) {
    return; /* a different proposal was signed for (h, r) before a restart */
  }
  c->w.proposal = (struct cons_signed){true, h, r, pol, *id};
  emit(out,
       &(struct cons_out){
           .kind = CONS_OUT_SIGN_PROPOSAL, .height = h, .round = r, .pol_round = pol, .id = *id});
}

static void sign_vote(struct cons *c, uint8_t type, const struct hash32 *id,
                      struct cons_outbuf *out) {
  uint64_t h = c->w.height;
  uint32_t r = c->w.round;
  /* The step order makes this hold by construction: one vote per type
   * per round, rounds only grow, restarts resume from the record. */
  assert(cons_wal_may_sign(&c->w, type, h, r, -1, id));
  struct cons_signed *s = type == CONS_PREVOTE ? &c->w.prevote : &c->w.precommit;
  *s = (struct cons_signed){true, h, r, -1, *id};
  emit(out, &(struct cons_out){
                .kind = CONS_OUT_SIGN_VOTE, .height = h, .round = r, .vote_type = type, .id = *id});
}

static void set_timer(struct cons_outbuf *out, enum cons_timer t, uint64_t h, uint32_t r,
                      uint32_t ms) {
  emit(out,
       &(struct cons_out){.kind = CONS_OUT_TIMER, .height = h, .round = r, .timer = t, .ms = ms});
}

/* ---- rounds of Algorithm 1 ---------------------------------------------------- */

static bool is_validator(const struct cons *c) {
  return c->self < c->vals.n;
}

/* Lines 11-21. */
static void start_round(struct cons *c, uint32_t r, struct cons_outbuf *out) {
  assert(r <= INT32_MAX);
  uint64_t h = c->w.height;
  c->w.round = r;
  c->step = CONS_STEP_PROPOSE;
  c->awaiting_value = false;
  struct cons_round *s = slot_get(c, r);
  assert(s != NULL); /* the current round is protected */
  (void)s;
  if (is_validator(c) && cons_proposer(&c->vals, h, r) == c->self) {
    if (at(&c->w.proposal, h, r)) {
      /* Resumed after a crash: the same proposal again or none. */
      sign_proposal(c, &c->w.proposal.id, c->w.proposal.pol_round, out);
    } else if (c->w.valid_round >= 0 && (uint32_t)c->w.valid_round < r) {
      sign_proposal(c, &c->w.valid_id, c->w.valid_round, out);
    } else {
      c->awaiting_value = true;
      emit(out, &(struct cons_out){.kind = CONS_OUT_GET_VALUE, .height = h, .round = r});
    }
  }
  /* The paper sets this timer for other validators only; the proposer
   * sets it too, so a proposer whose application never answers still
   * moves the round on. */
  set_timer(out, CONS_TIMER_PROPOSE, h, r, timeout_ms(c->to.propose_ms, c->to.propose_delta_ms, r));
}

static void prevote(struct cons *c, const struct hash32 *id, struct cons_outbuf *out) {
  assert(c->step == CONS_STEP_PROPOSE);
  if (is_validator(c)) {
    sign_vote(c, CONS_PREVOTE, id, out);
  }
  c->step = CONS_STEP_PREVOTE;
}

static void precommit(struct cons *c, const struct hash32 *id, struct cons_outbuf *out) {
  assert(c->step == CONS_STEP_PREVOTE);
  if (is_validator(c)) {
    sign_vote(c, CONS_PRECOMMIT, id, out);
  }
  c->step = CONS_STEP_PRECOMMIT;
}

/* Line 49, for any round: a proposal and a quorum of precommits for it. */
static bool try_decide(struct cons *c, struct cons_outbuf *out) {
  for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
    struct cons_round *s = &c->rounds[i];
    if (!s->used || !s->has_proposal || !s->proposal_valid) {
      continue;
    }
    if (!quorum(c, power_for(c, s, CONS_PRECOMMIT, &s->proposal.id))) {
      continue;
    }
    c->step = CONS_STEP_DECIDED;
    c->decided_id = s->proposal.id;
    c->decided_round = s->round;
    emit(out, &(struct cons_out){.kind = CONS_OUT_DECIDE,
                                 .height = c->w.height,
                                 .round = s->round,
                                 .id = s->proposal.id});
    return true;
  }
  return false;
}

/* One pass of the rules; true when something changed. */
static bool eval_once(struct cons *c, struct cons_outbuf *out) {
  if (c->step == CONS_STEP_DECIDED || c->step == CONS_STEP_NONE) {
    return false;
  }
  if (try_decide(c, out)) {
    return true;
  }
  uint64_t h = c->w.height;
  uint32_t r = c->w.round;
  struct cons_round *s = slot_find(c, r);
  assert(s != NULL);
  /* Line 55: more than a third of the power is in a later round. */
  for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
    struct cons_round *x = &c->rounds[i];
    if (x->used && x->round > r && over_third(c, power_any(c, x))) {
      start_round(c, x->round, out);
      return true;
    }
  }
  if (c->step == CONS_STEP_PROPOSE && s->has_proposal) {
    const struct cons_proposal *p = &s->proposal;
    if (p->pol_round < 0) { /* line 22 */
      bool ok =
          s->proposal_valid && (c->w.locked_round < 0 || base_hash_eq(&c->w.locked_id, &p->id));
      prevote(c, ok ? &p->id : &nil_id, out);
      return true;
    }
    struct cons_round *pol = slot_find(c, (uint32_t)p->pol_round);
    if ((uint32_t)p->pol_round < r && pol != NULL &&
        quorum(c, power_for(c, pol, CONS_PREVOTE, &p->id))) { /* line 28 */
      bool ok = s->proposal_valid &&
                (c->w.locked_round <= p->pol_round || base_hash_eq(&c->w.locked_id, &p->id));
      prevote(c, ok ? &p->id : &nil_id, out);
      return true;
    }
  }
  if (c->step == CONS_STEP_PREVOTE && !s->prevote_timer_set &&
      quorum(c, s->prevote_power)) { /* line 34 */
    s->prevote_timer_set = true;
    set_timer(out, CONS_TIMER_PREVOTE, h, r,
              timeout_ms(c->to.prevote_ms, c->to.prevote_delta_ms, r));
  }
  if (c->step >= CONS_STEP_PREVOTE && !s->prevote_quorum_seen && s->has_proposal &&
      s->proposal_valid && quorum(c, power_for(c, s, CONS_PREVOTE, &s->proposal.id))) {
    s->prevote_quorum_seen = true; /* line 36 */
    const struct hash32 id = s->proposal.id;
    c->w.valid_id = id;
    c->w.valid_round = (int32_t)r;
    c->w.npol = (uint16_t)cons_pol_votes(c, r, &id, c->w.pol, LIM_VALIDATORS_MAX);
    if (c->step == CONS_STEP_PREVOTE) {
      c->w.locked_id = id;
      c->w.locked_round = (int32_t)r;
      precommit(c, &id, out);
    }
    return true;
  }
  if (c->step == CONS_STEP_PREVOTE &&
      quorum(c, power_for(c, s, CONS_PREVOTE, &nil_id))) { /* line 44 */
    precommit(c, &nil_id, out);
    return true;
  }
  if (!s->precommit_timer_set && quorum(c, s->precommit_power)) { /* line 47 */
    s->precommit_timer_set = true;
    set_timer(out, CONS_TIMER_PRECOMMIT, h, r,
              timeout_ms(c->to.precommit_ms, c->to.precommit_delta_ms, r));
  }
  return false;
}

static void eval(struct cons *c, struct cons_outbuf *out) {
  /* Each pass moves the step or the round forward, or sets a flag that
   * stays set: a few passes settle any input. */
  for (int i = 0; i < 16; i++) {
    if (!eval_once(c, out)) {
      return;
    }
  }
  assert(0 && "consensus rules did not settle");
}

/* ---- inputs ---------------------------------------------------------------------- */

void cons_init(struct cons *c, uint16_t self, const struct cons_timeouts *to) {
  assert(c != NULL && to != NULL);
  memset(c, 0, sizeof *c);
  c->self = self;
  c->to = *to;
  c->w.locked_round = -1;
  c->w.valid_round = -1;
  c->step = CONS_STEP_NONE;
}

void cons_start(struct cons *c, uint64_t height, const struct cons_valset *vs,
                const struct cons_wal *wal, struct cons_outbuf *out) {
  assert(c != NULL && vs != NULL && out != NULL);
  assert(vs->n > 0 && vs->n <= LIM_VALIDATORS_MAX);
  assert(height > 0);
  c->vals = *vs;
  c->total_power = cons_total_power(vs);
  memset(c->rounds, 0, sizeof c->rounds);
  c->decided_id = nil_id;
  c->decided_round = 0;
  c->awaiting_value = false;
  struct cons_wal w = c->w;
  if (wal != NULL) {
    w = *wal;
  }
  c->w = (struct cons_wal){.height = height,
                           .round = 0,
                           .locked_round = -1,
                           .valid_round = -1,
                           .proposal = w.proposal,
                           .prevote = w.prevote,
                           .precommit = w.precommit};
  if (wal == NULL || wal->height != height) {
    start_round(c, 0, out);
    eval(c, out);
    return;
  }
  /* Resume the record's round with its locks. */
  c->w.locked_round = wal->locked_round;
  c->w.locked_id = wal->locked_id;
  c->w.valid_round = wal->valid_round;
  c->w.valid_id = wal->valid_id;
  c->w.npol = 0;
  if (wal->valid_round >= 0) {
    /* The proof of the valid value, so it can be proposed again. */
    struct cons_round *pol = slot_get(c, (uint32_t)wal->valid_round);
    assert(pol != NULL);
    for (uint16_t i = 0; i < wal->npol && i < LIM_VALIDATORS_MAX; i++) {
      const struct cons_vote *v = &wal->pol[i];
      if (v->type != CONS_PREVOTE || v->height != height || v->validator >= vs->n ||
          v->round != (uint32_t)wal->valid_round || pol->has_prevote[v->validator]) {
        continue;
      }
      pol->has_prevote[v->validator] = true;
      pol->prevotes[v->validator] = *v;
      pol->prevote_power += vs->power[v->validator];
      c->w.pol[c->w.npol++] = *v;
    }
  }
  uint32_t r = wal->round;
  bool prevoted = at(&c->w.prevote, height, r);
  bool precommitted = at(&c->w.precommit, height, r);
  if (!prevoted && !precommitted) {
    start_round(c, r, out);
    eval(c, out);
    return;
  }
  c->w.round = r;
  c->step = precommitted ? CONS_STEP_PRECOMMIT : CONS_STEP_PREVOTE;
  struct cons_round *s = slot_get(c, r);
  assert(s != NULL);
  (void)s;
  /* Ask for the same votes again: signing them again gives the same
   * bytes, and they reach peers that missed them. */
  if (is_validator(c) && prevoted) {
    emit(out, &(struct cons_out){.kind = CONS_OUT_SIGN_VOTE,
                                 .height = height,
                                 .round = r,
                                 .vote_type = CONS_PREVOTE,
                                 .id = c->w.prevote.id});
  }
  if (is_validator(c) && precommitted) {
    emit(out, &(struct cons_out){.kind = CONS_OUT_SIGN_VOTE,
                                 .height = height,
                                 .round = r,
                                 .vote_type = CONS_PRECOMMIT,
                                 .id = c->w.precommit.id});
  }
  /* Nothing else would move a round whose votes were lost: the propose
   * timer's expiry is ignored past the propose step, so set the one of
   * the step we are in. */
  if (precommitted) {
    set_timer(out, CONS_TIMER_PRECOMMIT, height, r,
              timeout_ms(c->to.precommit_ms, c->to.precommit_delta_ms, r));
  } else {
    set_timer(out, CONS_TIMER_PREVOTE, height, r,
              timeout_ms(c->to.prevote_ms, c->to.prevote_delta_ms, r));
  }
  eval(c, out);
}

void cons_on_value(struct cons *c, uint64_t height, uint32_t round, const struct hash32 *id,
                   struct cons_outbuf *out) {
  assert(c != NULL && id != NULL && out != NULL);
  if (!c->awaiting_value || height != c->w.height || round != c->w.round ||
      c->step != CONS_STEP_PROPOSE) {
    return;
  }
  assert(!is_nil(id));
  c->awaiting_value = false;
  sign_proposal(c, id, -1, out);
}

static bool in_window(const struct cons *c, uint64_t height, uint32_t round) {
  if (c->step == CONS_STEP_NONE || height != c->w.height) {
    return false;
  }
  return (uint64_t)round <= (uint64_t)c->w.round + CONS_FUTURE_ROUNDS && round <= INT32_MAX;
}

int cons_on_proposal(struct cons *c, const struct cons_proposal *p, bool valid,
                     struct cons_outbuf *out) {
  assert(c != NULL && p != NULL && out != NULL);
  if (!in_window(c, p->height, p->round)) {
    return ERR_NOT_FOUND;
  }
  if (p->pol_round < -1 || (p->pol_round >= 0 && (uint32_t)p->pol_round >= p->round) ||
      is_nil(&p->id)) {
    return ERR_BAD_ARGS;
  }
  if (p->proposer >= c->vals.n || cons_proposer(&c->vals, p->height, p->round) != p->proposer) {
    return ERR_UNAUTHORIZED;
  }
  struct cons_round *s = slot_get(c, p->round);
  if (s == NULL) {
    return ERR_NOT_FOUND;
  }
  if (s->has_proposal) {
    if (!base_hash_eq(&s->proposal.id, &p->id) || s->proposal.pol_round != p->pol_round) {
      c->equivocations++;
      emit(out, &(struct cons_out){.kind = CONS_OUT_PROPOSAL_EVIDENCE,
                                   .height = p->height,
                                   .round = p->round,
                                   .pev = {s->proposal, *p}});
    }
    return ERR_EXISTS;
  }
  s->has_proposal = true;
  s->proposal = *p;
  s->proposal_valid = valid;
  eval(c, out);
  return OK;
}

int cons_on_vote(struct cons *c, const struct cons_vote *v, struct cons_outbuf *out) {
  assert(c != NULL && v != NULL && out != NULL);
  if (v->type != CONS_PREVOTE && v->type != CONS_PRECOMMIT) {
    return ERR_BAD_ARGS;
  }
  if (!in_window(c, v->height, v->round)) {
    return ERR_NOT_FOUND;
  }
  if (v->validator >= c->vals.n) {
    return ERR_BAD_ARGS;
  }
  struct cons_round *s = slot_get(c, v->round);
  if (s == NULL) {
    return ERR_NOT_FOUND;
  }
  bool prevote = v->type == CONS_PREVOTE;
  bool *has = prevote ? s->has_prevote : s->has_precommit;
  struct cons_vote *slot = prevote ? &s->prevotes[v->validator] : &s->precommits[v->validator];
  if (has[v->validator]) {
    if (vote_for(s, v->type, v->validator, &v->id) != NULL) {
      return ERR_EXISTS; /* a duplicate */
    }
    bool *has2 = prevote ? s->has_prevote2 : s->has_precommit2;
    c->equivocations++;
    emit(out,
         &(struct cons_out){
             .kind = CONS_OUT_EVIDENCE, .height = v->height, .round = v->round, .ev = {*slot, *v}});
    if (!has2[v->validator]) {
      has2[v->validator] = true;
      *(prevote ? &s->prevotes2[v->validator] : &s->precommits2[v->validator]) = *v;
      eval(c, out);
    }
    return ERR_EXISTS; /* counted as evidence; a third value is dropped */
  }
  has[v->validator] = true;
  *slot = *v;
  uint64_t *power = v->type == CONS_PREVOTE ? &s->prevote_power : &s->precommit_power;
  *power += c->vals.power[v->validator];
  assert(*power <= c->total_power);
  eval(c, out);
  return OK;
}

void cons_on_timeout(struct cons *c, enum cons_timer t, uint64_t height, uint32_t round,
                     struct cons_outbuf *out) {
  assert(c != NULL && out != NULL);
  if (height != c->w.height || round != c->w.round || c->step == CONS_STEP_NONE ||
      c->step == CONS_STEP_DECIDED) {
    return;
  }
  switch (t) {
  case CONS_TIMER_PROPOSE: /* line 57 */
    if (c->step == CONS_STEP_PROPOSE) {
      prevote(c, &nil_id, out);
    }
    break;
  case CONS_TIMER_PREVOTE: /* line 61 */
    if (c->step == CONS_STEP_PREVOTE) {
      precommit(c, &nil_id, out);
    }
    break;
  case CONS_TIMER_PRECOMMIT: /* line 65 */
    start_round(c, round + 1, out);
    break;
  default:
    assert(0 && "unknown timer");
    return;
  }
  eval(c, out);
}

/* ---- reading -------------------------------------------------------------------- */

const struct cons_wal *cons_wal_get(const struct cons *c) {
  return &c->w;
}
uint64_t cons_height(const struct cons *c) {
  return c->w.height;
}
uint32_t cons_round(const struct cons *c) {
  return c->w.round;
}
enum cons_step cons_step(const struct cons *c) {
  return c->step;
}

uint32_t cons_own_votes(const struct cons *c, struct cons_vote *out, uint32_t max) {
  uint32_t n = 0;
  if (!is_validator(c)) {
    return 0;
  }
  /* Every round still held, so a peer stuck in an earlier round sees
   * this node's votes there (its quorum, its timers) and one in a later
   * round sees ours. */
  for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
    const struct cons_round *s = &c->rounds[i];
    if (!s->used) {
      continue;
    }
    if (s->has_prevote[c->self] && n < max) {
      out[n++] = s->prevotes[c->self];
    }
    if (s->has_precommit[c->self] && n < max) {
      out[n++] = s->precommits[c->self];
    }
  }
  return n;
}

bool cons_own_proposal(const struct cons *c, struct cons_proposal *out) {
  const struct cons_round *s = slot_find((struct cons *)c, c->w.round);
  if (s == NULL || !s->has_proposal || s->proposal.proposer != c->self) {
    return false;
  }
  *out = s->proposal;
  return true;
}

uint32_t cons_votes(const struct cons *c, struct cons_vote *out, uint32_t max) {
  uint32_t n = 0;
  for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
    const struct cons_round *s = &c->rounds[i];
    if (!s->used) {
      continue;
    }
    for (uint16_t v = 0; v < c->vals.n; v++) {
      if (s->has_prevote[v] && n < max) {
        out[n++] = s->prevotes[v];
      }
      if (s->has_precommit[v] && n < max) {
        out[n++] = s->precommits[v];
      }
    }
  }
  return n;
}

uint32_t cons_pol_votes(const struct cons *c, uint32_t round, const struct hash32 *id,
                        struct cons_vote *out, uint32_t max) {
  const struct cons_round *s = slot_find((struct cons *)c, round);
  uint32_t n = 0;
  for (uint16_t v = 0; s != NULL && v < c->vals.n && n < max; v++) {
    const struct cons_vote *x = vote_for(s, CONS_PREVOTE, v, id);
    if (x != NULL) {
      out[n++] = *x;
    }
  }
  return n;
}

int cons_commit(const struct cons *c, struct commit *out) {
  assert(c != NULL && out != NULL);
  if (c->step != CONS_STEP_DECIDED) {
    return ERR_NOT_FOUND;
  }
  const struct cons_round *s = slot_find((struct cons *)c, c->decided_round);
  assert(s != NULL);
  memset(out, 0, sizeof *out);
  out->height = c->w.height;
  out->round = c->decided_round;
  out->block_hash = c->decided_id;
  uint64_t p = 0;
  for (uint16_t v = 0; v < c->vals.n; v++) {
    const struct cons_vote *x = vote_for(s, CONS_PRECOMMIT, v, &c->decided_id);
    if (x != NULL) {
      out->sigs[out->count].validator_index = v;
      out->sigs[out->count].sig = x->sig;
      out->count++;
      p += c->vals.power[v];
    }
  }
  assert(quorum(c, p));
  return OK;
}
