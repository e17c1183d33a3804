/*
 * libFuzzer target: the consensus state machine itself (src/consensus/
 * core.c), one node of four, driven by an input read as a program.
 *
 * Byte 0 picks this node (validator 0-3, or 4: a follower), byte 1 the
 * four powers (2 bits each, 1-4); then each operation is an opcode byte
 * and operand bytes (missing bytes read as 0):
 *
 *   0 vote      validator (4: out of range), type (0: bad), round, id
 *   1 proposal  proposer (mostly the round's own), round, pol_round, id,
 *               valid
 *   2 timeout   timer, round
 *   3 value     answer the last GET_VALUE (or a stale one), id
 *   4 hand back this node's oldest pending signature request (signed)
 *   5 hand back all of them
 *   6 drop      the oldest pending request (never handed back)
 *   7 restart   crash: a fresh machine from the durable record
 *   8 next      start the next height (after a decision, or "synced")
 *   9 behind    restart one height below the record (the block was lost)
 *
 * A "round" operand is the current round -2 .. +5, beyond the window, or
 * another height; an id operand is nil, A, B or C (mod 4; for a proposal
 * 0 means A and only 0xff nil). Signatures are not needed: the core
 * trusts its caller.
 *
 * Checked after every operation, across restarts: at most one DECIDE per
 * height, for a value proposed valid at that height and round, with a
 * commit of more than two thirds of the power; never two signature
 * requests for one (height, round, kind) with different contents, which
 * is what the record on "disk" (re-encoded before each signature leaves)
 * must guarantee; no request from a follower, none at another height; a
 * GET_VALUE or proposal only from the round's proposer; timers of the
 * documented length; evidence that really conflicts; rejected inputs that
 * produce nothing, with the documented codes; locked_round <= valid_round
 * <= round; the record's encoding round-trips. out.n <= CONS_OUT_MAX is
 * asserted inside the core.
 */
#include "consensus/consensus.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEIGHTS_MAX 8192
#define LOG_MAX 8192
#define PENDING_MAX 64

struct sign_rec {
  uint64_t h;
  uint32_t r;
  int kind; /* 0 proposal, else the vote type */
  int32_t pol;
  struct hash32 id;
};

struct prop_rec {
  uint64_t h;
  uint32_t r;
  struct hash32 id;
};

static const struct cons_timeouts tos = {300, 100, 150, 50, 150, 50};

static struct {
  const uint8_t *p;
  size_t n, i;
  struct cons *c;
  struct cons_valset vs;
  uint16_t self;
  uint64_t height;
  bool decided; /* at the current height, this lifetime */
  uint32_t last_round;
  bool decided_at[HEIGHTS_MAX];
  struct sign_rec log[LOG_MAX];
  size_t nlog;
  struct prop_rec props[LOG_MAX];
  size_t nprops;
  struct cons_out pending[PENDING_MAX];
  size_t npending;
  bool value_wanted;
  uint64_t value_h;
  uint32_t value_r;
  uint8_t disk[CONS_WAL_BYTES];
  bool disk_has;
  struct cons_wal wal;
  uint8_t enc[CONS_WAL_BYTES], enc2[CONS_WAL_BYTES];
} F;

static uint8_t next_byte(void) {
  return F.i < F.n ? F.p[F.i++] : 0;
}

static void check(bool ok) {
  if (!ok) {
    abort();
  }
}

static struct hash32 id_of(uint8_t b) {
  struct hash32 id;
  memset(&id, 0, sizeof id);
  if (b % 4 != 0) {
    memset(id.b, 'A' + b % 4 - 1, 32);
  }
  return id;
}

static uint32_t timer_ms(enum cons_timer t, uint32_t r) {
  uint64_t base = t == CONS_TIMER_PROPOSE   ? tos.propose_ms
                  : t == CONS_TIMER_PREVOTE ? tos.prevote_ms
                                            : tos.precommit_ms;
  uint64_t delta = t == CONS_TIMER_PROPOSE   ? tos.propose_delta_ms
                   : t == CONS_TIMER_PREVOTE ? tos.prevote_delta_ms
                                             : tos.precommit_delta_ms;
  uint64_t ms = base + delta * r;
  return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Double-sign check: what was asked for once is asked for identically. */
static void log_sign(int kind, uint64_t h, uint32_t r, int32_t pol, const struct hash32 *id) {
  for (size_t i = 0; i < F.nlog; i++) {
    const struct sign_rec *s = &F.log[i];
    if (s->h == h && s->r == r && s->kind == kind) {
      check(base_hash_eq(&s->id, id) && s->pol == pol);
      return;
    }
  }
  if (F.nlog < LOG_MAX) {
    F.log[F.nlog++] = (struct sign_rec){h, r, kind, pol, *id};
  }
}

static bool proposed_valid(uint64_t h, uint32_t r, const struct hash32 *id) {
  for (size_t i = 0; i < F.nprops; i++) {
    if (F.props[i].h == h && F.props[i].r == r && base_hash_eq(&F.props[i].id, id)) {
      return true;
    }
  }
  return false;
}

static void check_decide(const struct cons_out *o) {
  check(o->height == F.height && !F.decided && !base_hash_is_zero(&o->id));
  check(F.height >= HEIGHTS_MAX || !F.decided_at[F.height]);
  check(proposed_valid(o->height, o->round, &o->id));
  F.decided = true;
  if (F.height < HEIGHTS_MAX) {
    F.decided_at[F.height] = true;
  }
  static struct commit cm;
  check(cons_commit(F.c, &cm) == OK);
  check(cm.height == F.height && cm.round == o->round && base_hash_eq(&cm.block_hash, &o->id));
  uint64_t p = 0;
  for (uint16_t i = 0; i < cm.count; i++) {
    check(cm.sigs[i].validator_index < F.vs.n);
    check(i == 0 || cm.sigs[i].validator_index > cm.sigs[i - 1].validator_index);
    p += F.vs.power[cm.sigs[i].validator_index];
  }
  check(3 * p > 2 * cons_total_power(&F.vs));
}

static void check_out(const struct cons_out *o) {
  bool validator = F.self < F.vs.n;
  uint32_t r = cons_round(F.c);
  switch (o->kind) {
  case CONS_OUT_GET_VALUE:
    check(validator && o->height == F.height && o->round == r);
    check(cons_proposer(&F.vs, o->height, o->round) == F.self);
    F.value_wanted = true;
    F.value_h = o->height;
    F.value_r = o->round;
    break;
  case CONS_OUT_SIGN_PROPOSAL:
    check(validator && o->height == F.height && !base_hash_is_zero(&o->id));
    check(cons_proposer(&F.vs, o->height, o->round) == F.self);
    check(o->pol_round >= -1 && (o->pol_round < 0 || (uint32_t)o->pol_round < o->round));
    log_sign(0, o->height, o->round, o->pol_round, &o->id);
    break;
  case CONS_OUT_SIGN_VOTE:
    check(validator && o->height == F.height);
    check(o->vote_type == CONS_PREVOTE || o->vote_type == CONS_PRECOMMIT);
    log_sign(o->vote_type, o->height, o->round, -1, &o->id);
    break;
  case CONS_OUT_TIMER:
    check(o->height == F.height && o->ms == timer_ms(o->timer, o->round));
    break;
  case CONS_OUT_DECIDE:
    check_decide(o);
    break;
  case CONS_OUT_EVIDENCE:
    check(o->ev[0].validator == o->ev[1].validator && o->ev[0].type == o->ev[1].type);
    check(o->ev[0].height == o->ev[1].height && o->ev[0].round == o->ev[1].round);
    check(!base_hash_eq(&o->ev[0].id, &o->ev[1].id));
    break;
  case CONS_OUT_PROPOSAL_EVIDENCE:
    check(o->pev[0].proposer == o->pev[1].proposer && o->pev[0].round == o->pev[1].round);
    check(!base_hash_eq(&o->pev[0].id, &o->pev[1].id) ||
          o->pev[0].pol_round != o->pev[1].pol_round);
    break;
  default:
    abort();
  }
  if ((o->kind == CONS_OUT_SIGN_VOTE || o->kind == CONS_OUT_SIGN_PROPOSAL) &&
      F.npending < PENDING_MAX) {
    F.pending[F.npending++] = *o;
  }
}

static void check_state(void) {
  const struct cons_wal *w = cons_wal_get(F.c);
  enum cons_step step = cons_step(F.c);
  check(cons_height(F.c) == F.height);
  check(step >= CONS_STEP_PROPOSE && step <= CONS_STEP_DECIDED);
  check((step == CONS_STEP_DECIDED) == F.decided);
  check(w->round >= F.last_round && w->round <= INT32_MAX);
  F.last_round = w->round;
  check(w->locked_round >= -1 && w->locked_round <= w->valid_round);
  check(w->valid_round <= (int64_t)w->round);
  check((w->locked_round < 0) == base_hash_is_zero(&w->locked_id));
  check((w->valid_round < 0) == base_hash_is_zero(&w->valid_id));
  check(w->npol <= F.vs.n && (w->valid_round >= 0 || w->npol == 0));
  for (uint16_t i = 0; i < w->npol; i++) {
    check(w->pol[i].type == CONS_PREVOTE && w->pol[i].height == F.height);
    check((int64_t)w->pol[i].round == w->valid_round && base_hash_eq(&w->pol[i].id, &w->valid_id));
  }
}

/* The record's encoding round-trips (three hashes of 7 KiB: done when the
 * record is written and once per input, not after every operation). */
static void check_record(const uint8_t *enc) {
  check(cons_wal_decode(&F.wal, enc) == OK);
  cons_wal_encode(&F.wal, F.enc2);
  check(memcmp(enc, F.enc2, CONS_WAL_BYTES) == 0);
}

/* Checks one input's actions; persists the record if anything is to be
 * signed, as the node must before signing. */
static void settle(const struct cons_outbuf *out) {
  check(out->n <= CONS_OUT_MAX);
  bool sign = false;
  for (uint32_t k = 0; k < out->n; k++) {
    check_out(&out->o[k]);
    sign = sign || out->o[k].kind == CONS_OUT_SIGN_VOTE || out->o[k].kind == CONS_OUT_SIGN_PROPOSAL;
  }
  if (sign) {
    cons_wal_encode(cons_wal_get(F.c), F.disk);
    F.disk_has = true;
    check_record(F.disk);
  }
  check_state();
}

static void start(uint64_t height, const struct cons_wal *wal) {
  static struct cons_outbuf out;
  memset(&out, 0, sizeof out);
  F.height = height;
  F.decided = false;
  F.last_round = 0;
  F.npending = 0;
  F.value_wanted = false;
  cons_start(F.c, height, &F.vs, wal, &out);
  F.last_round = cons_round(F.c);
  settle(&out);
}

/* A round operand: near the current one, beyond the window, or with the
 * height off by one (returned through *h). */
static uint32_t round_of(uint8_t b, uint64_t *h) {
  uint32_t cur = cons_round(F.c);
  *h = F.height;
  if (b & 0x40) {
    *h = (b & 0x80) ? F.height + 1 : F.height - 1;
  }
  if ((b & 0x3f) == 0x3f) {
    return cur + CONS_FUTURE_ROUNDS + 1 + (b >> 6);
  }
  int64_t r = (int64_t)cur + (int64_t)(b % 8) - 2;
  return r < 0 ? 0 : (uint32_t)r;
}

static void op_vote(void) {
  static struct cons_outbuf out;
  memset(&out, 0, sizeof out);
  uint8_t bv = next_byte(), bt = next_byte(), br = next_byte(), bi = next_byte();
  struct cons_vote v = {.type = (uint8_t)(bt % 3), .validator = (uint16_t)(bv % 5)};
  v.round = round_of(br, &v.height);
  v.id = id_of(bi);
  bool in_window = v.height == F.height && v.round <= cons_round(F.c) + CONS_FUTURE_ROUNDS;
  int rc = cons_on_vote(F.c, &v, &out);
  if (v.type == 0 || (in_window && v.validator >= F.vs.n)) {
    check(rc == ERR_BAD_ARGS);
  } else if (!in_window) {
    check(rc == ERR_NOT_FOUND);
  } else {
    check(rc == OK || rc == ERR_EXISTS || rc == ERR_NOT_FOUND);
  }
  check(rc == OK || rc == ERR_EXISTS || out.n == 0);
  settle(&out);
}

static void op_proposal(void) {
  static struct cons_outbuf out;
  memset(&out, 0, sizeof out);
  uint8_t bp = next_byte(), br = next_byte(), bpol = next_byte(), bi = next_byte();
  uint8_t bvalid = next_byte();
  struct cons_proposal p;
  memset(&p, 0, sizeof p);
  p.round = round_of(br, &p.height);
  p.proposer = bp % 8 == 0 ? (uint16_t)((bp >> 3) % 5) : cons_proposer(&F.vs, p.height, p.round);
  switch (bpol % 4) {
  case 0:
    p.pol_round = -1;
    break;
  case 1:
    p.pol_round = p.round > 0 ? (int32_t)p.round - 1 : -1;
    break;
  case 2:
    p.pol_round = p.round > 1 ? (int32_t)(bpol >> 2) % (int32_t)p.round : -1;
    break;
  default:
    p.pol_round = (int32_t)(bpol >> 2) - 2; /* may be out of range */
    break;
  }
  p.id = bi == 0xff ? id_of(0) : id_of(bi % 4 == 0 ? 1 : bi); /* nil: rarely */
  bool valid = bvalid % 4 != 0;
  bool in_window = p.height == F.height && p.round <= cons_round(F.c) + CONS_FUTURE_ROUNDS;
  bool bad = p.pol_round < -1 || (p.pol_round >= 0 && (uint32_t)p.pol_round >= p.round) ||
             base_hash_is_zero(&p.id);
  int rc = cons_on_proposal(F.c, &p, valid, &out);
  if (!in_window) {
    check(rc == ERR_NOT_FOUND);
  } else if (bad) {
    check(rc == ERR_BAD_ARGS);
  } else if (p.proposer >= F.vs.n || cons_proposer(&F.vs, p.height, p.round) != p.proposer) {
    check(rc == ERR_UNAUTHORIZED);
  }
  check(rc == OK || rc == ERR_EXISTS || out.n == 0);
  if (rc == OK && valid && F.nprops < LOG_MAX) {
    F.props[F.nprops++] = (struct prop_rec){p.height, p.round, p.id};
  }
  settle(&out);
}

static void op_timeout(void) {
  static struct cons_outbuf out;
  memset(&out, 0, sizeof out);
  uint8_t bt = next_byte(), br = next_byte();
  uint64_t h;
  uint32_t r = round_of(br, &h);
  if (br % 2 == 0) {
    r = cons_round(F.c); /* mostly a timer that is due */
  }
  cons_on_timeout(F.c, (enum cons_timer)(1 + bt % 3), h, r, &out);
  settle(&out);
}

static void op_value(void) {
  static struct cons_outbuf out;
  memset(&out, 0, sizeof out);
  uint8_t b = next_byte();
  struct hash32 id = id_of((uint8_t)(1 + b % 3));
  uint64_t h = F.value_wanted ? F.value_h : F.height;
  uint32_t r = F.value_wanted && b < 0xf0 ? F.value_r : cons_round(F.c) + 1;
  cons_on_value(F.c, h, r, &id, &out);
  settle(&out);
}

/* The node signs a request and hands the message back. */
static void op_hand_back(void) {
  static struct cons_outbuf out;
  if (F.npending == 0) {
    return;
  }
  struct cons_out req = F.pending[0];
  memmove(F.pending, F.pending + 1, (F.npending - 1) * sizeof F.pending[0]);
  F.npending--;
  memset(&out, 0, sizeof out);
  if (req.kind == CONS_OUT_SIGN_VOTE) {
    struct cons_vote v = {.type = req.vote_type,
                          .validator = F.self,
                          .height = req.height,
                          .round = req.round,
                          .id = req.id};
    (void)cons_on_vote(F.c, &v, &out);
  } else {
    struct cons_proposal p = {.proposer = F.self,
                              .height = req.height,
                              .round = req.round,
                              .pol_round = req.pol_round,
                              .id = req.id};
    if (cons_on_proposal(F.c, &p, true, &out) == OK && F.nprops < LOG_MAX) {
      F.props[F.nprops++] = (struct prop_rec){p.height, p.round, p.id};
    }
  }
  settle(&out);
}

static void op_restart(uint64_t height) {
  cons_init(F.c, F.self, &tos);
  if (!F.disk_has) {
    start(height, NULL);
    return;
  }
  check(cons_wal_decode(&F.wal, F.disk) == OK);
  start(height, &F.wal);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    F.c = malloc(sizeof *F.c);
    check(F.c != NULL && cry_init() == OK);
    ready = true;
  }
  F.p = data;
  F.n = size;
  F.i = 0;
  F.nlog = F.nprops = 0;
  F.disk_has = false;
  memset(F.decided_at, 0, sizeof F.decided_at);
  uint8_t bself = next_byte(), bpow = next_byte();
  F.self = bself % 5 == 4 ? CONS_NO_SELF : (uint16_t)(bself % 5);
  memset(&F.vs, 0, sizeof F.vs);
  F.vs.n = 4;
  for (uint16_t i = 0; i < 4; i++) {
    F.vs.power[i] = 1 + ((bpow >> (2 * i)) & 3);
    memset(F.vs.pk[i].b, (int)i + 1, 32);
  }
  cons_init(F.c, F.self, &tos);
  start(1, NULL);
  while (F.i < F.n) {
    switch (next_byte() % 10) {
    case 0:
      op_vote();
      break;
    case 1:
      op_proposal();
      break;
    case 2:
      op_timeout();
      break;
    case 3:
      op_value();
      break;
    case 4:
      op_hand_back();
      break;
    case 5:
      for (int k = 0; k < PENDING_MAX && F.npending > 0; k++) {
        op_hand_back();
      }
      break;
    case 6:
      if (F.npending > 0) {
        memmove(F.pending, F.pending + 1, (F.npending - 1) * sizeof F.pending[0]);
        F.npending--;
      }
      break;
    case 7:
      op_restart(F.decided ? F.height + 1 : F.height);
      break;
    case 8:
      if (F.decided || next_byte() % 2 == 0) {
        start(F.height + 1, NULL);
      }
      break;
    default:
      if (F.height > 1) {
        /* The blocks at and above height - 1 are lost: decide them again. */
        for (uint64_t h = F.height - 1; h <= F.height && h < HEIGHTS_MAX; h++) {
          F.decided_at[h] = false;
        }
        op_restart(F.height - 1);
      }
      break;
    }
  }
  cons_wal_encode(cons_wal_get(F.c), F.enc);
  check_record(F.enc);
  return 0;
}
