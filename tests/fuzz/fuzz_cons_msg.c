/*
 * libFuzzer target: the consensus vote and proposal decoders, the first
 * code a peer's consensus message reaches. Every input goes to both: an
 * accepted vote or proposal must satisfy what the decoder promises (known
 * type, height above 0, round within int32, pol_round below round, non-nil
 * proposal id) and encode back to exactly the input bytes; checking its
 * signature against a fixed validator set must return a verdict, not
 * crash.
 */
#include "consensus/consensus.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cons_valset vals;
static const struct bytes chain = {(const uint8_t *)"fuzz-chain", 10};

static void setup(void) {
  static bool done;
  if (done) {
    return;
  }
  done = true;
  if (cry_init() != OK) {
    abort();
  }
  vals.n = 4;
  for (uint16_t i = 0; i < vals.n; i++) {
    uint8_t seed[CRY_SEED_BYTES];
    memset(seed, 0x37, sizeof seed);
    seed[0] = (uint8_t)i;
    struct cry_keys *k = cry_keys_from_seed(seed);
    if (k == NULL) {
      abort();
    }
    cry_keys_sign_pk(k, &vals.pk[i]);
    cry_keys_destroy(k);
    vals.power[i] = 1;
  }
}

static void check_vote(const uint8_t *data, size_t size) {
  struct cons_vote v;
  if (cons_vote_decode(&v, data, size) != OK) {
    return;
  }
  if (size != CONS_VOTE_BYTES || (v.type != CONS_PREVOTE && v.type != CONS_PRECOMMIT) ||
      v.height == 0 || v.round > INT32_MAX) {
    abort();
  }
  uint8_t out[CONS_VOTE_BYTES];
  cons_vote_encode(&v, out);
  if (memcmp(out, data, size) != 0) {
    abort();
  }
  int rc = cons_vote_verify(&v, &vals, &chain);
  if (rc != OK && rc != ERR_BAD_SIGNATURE && rc != ERR_UNAUTHORIZED) {
    abort();
  }
  if (rc == ERR_UNAUTHORIZED && v.validator < vals.n) {
    abort();
  }
}

static void check_proposal(const uint8_t *data, size_t size) {
  struct cons_proposal p;
  if (cons_proposal_decode(&p, data, size) != OK) {
    return;
  }
  if (size != CONS_PROPOSAL_BYTES || p.height == 0 || p.round > INT32_MAX || p.pol_round < -1 ||
      (p.pol_round >= 0 && (uint32_t)p.pol_round >= p.round) || base_hash_is_zero(&p.id)) {
    abort();
  }
  uint8_t out[CONS_PROPOSAL_BYTES];
  cons_proposal_encode(&p, out);
  if (memcmp(out, data, size) != 0) {
    abort();
  }
  int rc = cons_proposal_verify(&p, &vals, &chain);
  if (rc != OK && rc != ERR_BAD_SIGNATURE && rc != ERR_UNAUTHORIZED) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup();
  check_vote(data, size);
  check_proposal(data, size);
  return 0;
}
