/*
 * consensus — Tendermint BFT ("The latest gossip on BFT consensus",
 * Buchman, Kwon, Milosevic, arXiv 1807.04938, Algorithm 1) as a pure state
 * machine. Prefix: cons_.
 *
 * In: the application's answers (a value to propose, whether a proposal's
 * value is valid), signed proposals and votes (their signatures checked by
 * the caller with cons_proposal_verify / cons_vote_verify), timeouts that
 * fired. Out: a list of actions — sign and send a proposal or a vote, set a
 * timer, ask for a value, a decision, evidence of equivocation. No I/O, no
 * clock, no randomness, no allocation: a struct cons is plain storage the
 * caller allocates once. The node drives it on its consensus thread; the
 * simulator (tests/sim) drives many in one process with a seeded clock and
 * network.
 *
 * Values are block ids (the header hash). The zero id is nil.
 *
 * Voting power: a quorum is more than two thirds of the total power, a
 * "skip" set more than one third. The proposer of (height, round) is
 * chosen by cons_proposer: round 0's by slot height mod total power,
 * walked through the validators' cumulative powers (all divided by their
 * gcd), so each validator proposes in proportion to its power; every later
 * round passes to the next validator, so a crashed proposer costs a height
 * one round. Every node computes the same answer without history.
 *
 * Double-sign protection: whenever the machine decides to sign, it first
 * updates its signing record (struct cons_wal) and emits CONS_OUT_SIGN_*;
 * the caller must make cons_wal_get() durable (fsync) before it signs and
 * sends, and hand the signed message back through cons_on_proposal /
 * cons_on_vote so the machine counts its own vote. After a crash
 * cons_restore() resumes from the durable record: the machine never asks
 * to sign a message that conflicts with one it asked for before (a
 * different value at the same height, round and step), and it keeps its
 * lock. cons_wal_may_sign() lets the signer enforce the same rule again.
 */
#ifndef MEDCHAIN_CONSENSUS_H
#define MEDCHAIN_CONSENSUS_H

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "limits/limits.h"

#define CONS_NO_SELF UINT16_MAX /* a node that follows but does not vote */

/* Rounds kept per height: the current one, the lock's and the valid
 * value's, and up to CONS_FUTURE_ROUNDS ahead of the current one. Messages
 * for rounds further ahead are ignored (a Byzantine peer cannot fill the
 * table); the lowest other rounds are forgotten when the table is full. */
#define CONS_ROUND_SLOTS 12
#define CONS_FUTURE_ROUNDS 4
/* Actions one input can produce, at most (asserted). */
#define CONS_OUT_MAX 24

enum cons_vote_type { CONS_PREVOTE = CODEC_VOTE_PREVOTE, CONS_PRECOMMIT = CODEC_VOTE_PRECOMMIT };

/* Steps of a round, ordered. */
enum cons_step {
  CONS_STEP_NONE = 0, /* before the first round or between heights */
  CONS_STEP_PROPOSE = 1,
  CONS_STEP_PREVOTE = 2,
  CONS_STEP_PRECOMMIT = 3,
  CONS_STEP_DECIDED = 4,
};

enum cons_timer { CONS_TIMER_PROPOSE = 1, CONS_TIMER_PREVOTE = 2, CONS_TIMER_PRECOMMIT = 3 };

struct cons_vote {
  uint8_t type; /* enum cons_vote_type */
  uint16_t validator;
  uint64_t height;
  uint32_t round;
  struct hash32 id; /* zero: nil */
  struct signature sig;
};

struct cons_proposal {
  uint16_t proposer;
  uint64_t height;
  uint32_t round;
  int32_t pol_round; /* -1, or the round whose prevotes justify a re-proposal */
  struct hash32 id;
  struct signature sig;
};

/* The validator set of one height, in the genesis/ledger order. */
struct cons_valset {
  uint16_t n;
  uint64_t power[LIM_VALIDATORS_MAX];
  struct pubkey pk[LIM_VALIDATORS_MAX];
};

/* The timeouts of round r: base + r * delta (milliseconds). */
struct cons_timeouts {
  uint32_t propose_ms, propose_delta_ms;
  uint32_t prevote_ms, prevote_delta_ms;
  uint32_t precommit_ms, precommit_delta_ms;
};

/* What a validator signed, last, per kind. */
struct cons_signed {
  bool set;
  uint64_t height;
  uint32_t round;
  int32_t pol_round; /* proposals only */
  struct hash32 id;
};

/* The signing record: what must be durable before a signature leaves. */
struct cons_wal {
  uint64_t height;
  uint32_t round;
  int32_t locked_round; /* -1: none */
  struct hash32 locked_id;
  int32_t valid_round; /* -1: none */
  struct hash32 valid_id;
  struct cons_signed proposal, prevote, precommit;
  /* The prevotes that make valid_id valid at valid_round (a quorum): kept
   * so that after a restart this node can still justify re-proposing it
   * (pol_round), which is what unlocks the others. */
  uint16_t npol;
  struct cons_vote pol[LIM_VALIDATORS_MAX];
};
/* Fixed encoding size, see cons_wal_encode. */
#define CONS_WAL_BYTES (256 + 2 + LIM_VALIDATORS_MAX * 111 + 32)

enum cons_out_kind {
  CONS_OUT_GET_VALUE = 1,    /* propose: answer with cons_on_value */
  CONS_OUT_SIGN_PROPOSAL,    /* persist the wal, sign, send, hand back */
  CONS_OUT_SIGN_VOTE,        /* persist the wal, sign, send, hand back */
  CONS_OUT_TIMER,            /* call cons_on_timeout after ms */
  CONS_OUT_DECIDE,           /* id is decided at height in round */
  CONS_OUT_EVIDENCE,         /* two conflicting votes of one validator */
  CONS_OUT_PROPOSAL_EVIDENCE /* two conflicting proposals of one proposer */
};

struct cons_out {
  enum cons_out_kind kind;
  uint64_t height;
  uint32_t round;
  int32_t pol_round;           /* SIGN_PROPOSAL */
  uint8_t vote_type;           /* SIGN_VOTE */
  struct hash32 id;            /* SIGN_*, DECIDE */
  enum cons_timer timer;       /* TIMER */
  uint32_t ms;                 /* TIMER */
  struct cons_vote ev[2];      /* EVIDENCE */
  struct cons_proposal pev[2]; /* PROPOSAL_EVIDENCE */
};

struct cons_outbuf {
  uint32_t n;
  struct cons_out o[CONS_OUT_MAX];
};

/* The messages of one round of the current height. */
struct cons_round {
  bool used;
  uint32_t round;
  bool has_proposal;
  bool proposal_valid;
  struct cons_proposal proposal;
  bool has_prevote[LIM_VALIDATORS_MAX];
  bool has_precommit[LIM_VALIDATORS_MAX];
  struct cons_vote prevotes[LIM_VALIDATORS_MAX];
  struct cons_vote precommits[LIM_VALIDATORS_MAX];
  /* A second, conflicting vote of an equivocating validator. It counts
   * toward the tally of its own value (a Byzantine validator can show each
   * node a different vote anyway), so nodes that saw different halves of
   * an equivocation can still agree that a value had a quorum; "any value"
   * powers count each validator once. A third vote is dropped. */
  bool has_prevote2[LIM_VALIDATORS_MAX];
  bool has_precommit2[LIM_VALIDATORS_MAX];
  struct cons_vote prevotes2[LIM_VALIDATORS_MAX];
  struct cons_vote precommits2[LIM_VALIDATORS_MAX];
  uint64_t prevote_power;   /* any value, nil included */
  uint64_t precommit_power; /* any value, nil included */
  /* "for the first time" guards of Algorithm 1 */
  bool prevote_timer_set;   /* line 34 */
  bool precommit_timer_set; /* line 47 */
  bool prevote_quorum_seen; /* line 36 */
};

/* The machine. Plain storage (about 200 KiB): allocate it once. */
struct cons {
  uint16_t self;
  struct cons_valset vals;
  uint64_t total_power;
  struct cons_timeouts to;

  struct cons_wal w; /* height, round, locks, signing record */
  enum cons_step step;
  struct hash32 decided_id;
  uint32_t decided_round;
  bool awaiting_value;    /* GET_VALUE sent for (height, round) */
  uint64_t equivocations; /* conflicting messages seen since init */
  struct cons_round rounds[CONS_ROUND_SLOTS];
};

/* Sets up c for validator `self` (or
 * CONS_NO_SELF). Does not start a height. */
void cons_init(struct cons *c, uint16_t self, const struct cons_timeouts *to);

/* Starts `height` with validator set vs at round 0 (locks cleared). If wal
 * is not NULL and wal->height == height, resumes from it instead: its
 * round, locks and signing record; a vote it signed in that round is asked
 * for again (same value, so the same signature) and its timers are set.
 * A record of another height only keeps its signing record (so nothing it
 * signed is contradicted). */
void cons_start(struct cons *c, uint64_t height, const struct cons_valset *vs,
                const struct cons_wal *wal, struct cons_outbuf *out);

/* The application's value for (height, round), after CONS_OUT_GET_VALUE.
 * Stale answers are ignored. */
void cons_on_value(struct cons *c, uint64_t height, uint32_t round, const struct hash32 *id,
                   struct cons_outbuf *out);
/* A proposal whose signature the caller verified, and whether its value is
 * valid (the application applied the block). Returns OK, or why it was
 * ignored: ERR_NOT_FOUND (another height or a round out of the window),
 * ERR_UNAUTHORIZED (not this round's proposer), ERR_EXISTS (a duplicate or
 * a conflicting second proposal, reported as evidence). */
int cons_on_proposal(struct cons *c, const struct cons_proposal *p, bool valid,
                     struct cons_outbuf *out);
/* A vote whose signature the caller verified. Returns OK or why ignored:
 * ERR_NOT_FOUND (another height, a round out of the window), ERR_BAD_ARGS
 * (validator index out of range, bad type), ERR_EXISTS (a duplicate, or a
 * conflicting vote — reported as evidence). */
int cons_on_vote(struct cons *c, const struct cons_vote *v, struct cons_outbuf *out);
void cons_on_timeout(struct cons *c, enum cons_timer t, uint64_t height, uint32_t round,
                     struct cons_outbuf *out);

/* The signing record to make durable before signing. */
const struct cons_wal *cons_wal_get(const struct cons *c);
uint64_t cons_height(const struct cons *c);
uint32_t cons_round(const struct cons *c);
enum cons_step cons_step(const struct cons *c);

/* This node's votes in every round held for the current height, and its
 * proposal of the current round, for sending again while no progress is
 * made (lost messages, peers in other rounds, restarted peers). Returns
 * the count written (at most 2 * CONS_ROUND_SLOTS votes). */
uint32_t cons_own_votes(const struct cons *c, struct cons_vote *out, uint32_t max);
bool cons_own_proposal(const struct cons *c, struct cons_proposal *out);
/* All votes held for the current height (to re-gossip); returns the count. */
uint32_t cons_votes(const struct cons *c, struct cons_vote *out, uint32_t max);

/* The prevotes held for (round, id), e.g. the proof of lock (POL) to
 * send with a proposal whose pol_round is round. Returns the count. */
uint32_t cons_pol_votes(const struct cons *c, uint32_t round, const struct hash32 *id,
                        struct cons_vote *out, uint32_t max);

/* The commit for the decided value: the precommits of the deciding round
 * for it, sorted by validator. Only in step DECIDED (else ERR_NOT_FOUND). */
int cons_commit(const struct cons *c, struct commit *out) MUST_CHECK;

/* ---- pure helpers ---------------------------------------------------------- */

uint64_t cons_total_power(const struct cons_valset *vs);
/* The proposer of (height, round). vs->n > 0. */
uint16_t cons_proposer(const struct cons_valset *vs, uint64_t height, uint32_t round);
/* True when the signing record allows signing this (a later height, round
 * or step, or exactly what was signed before). kind: 0 proposal, else the
 * vote type. */
bool cons_wal_may_sign(const struct cons_wal *w, int kind, uint64_t height, uint32_t round,
                       int32_t pol_round, const struct hash32 *id);
/* Fixed-size encoding with a BLAKE2b checksum, for the caller's file.
 * Decoding checks the checksum and every field (ERR_CORRUPT). */
void cons_wal_encode(const struct cons_wal *w, uint8_t out[CONS_WAL_BYTES]);
int cons_wal_decode(struct cons_wal *w, const uint8_t in[CONS_WAL_BYTES]) MUST_CHECK;

/* Signing and checking messages (chain id binds them to one chain). */
int cons_vote_sign(struct cons_vote *v, const struct cry_keys *k,
                   const struct bytes *chain_id) MUST_CHECK;
int cons_vote_verify(const struct cons_vote *v, const struct cons_valset *vs,
                     const struct bytes *chain_id) MUST_CHECK;
int cons_proposal_sign(struct cons_proposal *p, const struct cry_keys *k,
                       const struct bytes *chain_id) MUST_CHECK;
int cons_proposal_verify(const struct cons_proposal *p, const struct cons_valset *vs,
                         const struct bytes *chain_id) MUST_CHECK;

/* Wire encodings: vote u8 type | u16 validator | u64 height | u32 round |
 * id | sig (111 bytes); proposal u16 proposer | u64 height | u32 round |
 * u32 (pol_round + 1) | id | sig (114 bytes). Decoders are strict (exact
 * length, known type, pol_round below round): ERR_MALFORMED. */
#define CONS_VOTE_BYTES 111
#define CONS_PROPOSAL_BYTES 114
void cons_vote_encode(const struct cons_vote *v, uint8_t out[CONS_VOTE_BYTES]);
int cons_vote_decode(struct cons_vote *v, const uint8_t *in, size_t len) MUST_CHECK;
void cons_proposal_encode(const struct cons_proposal *p, uint8_t out[CONS_PROPOSAL_BYTES]);
int cons_proposal_decode(struct cons_proposal *p, const uint8_t *in, size_t len) MUST_CHECK;

#endif
