/*
 * commit — the precommit signatures that finalize a block.
 *
 * A commit names one block by hash, height and round, and carries
 * signatures of distinct validators, sorted by their index in the set.
 * It is valid when every signature it carries verifies (a bad signature
 * invalidates the commit even when the others reach quorum: the next
 * block's last_commit_hash pins these exact bytes) and the signers' power
 * is more than two thirds of the total: 3 * signed > 2 * total. Genesis
 * keeps the total below 2^62, so both sides fit in 64 bits.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <string.h>

#define COMMIT_POWER_TOTAL_MAX (UINT64_C(1) << 62)

/* Position where validator `index` belongs, or -1 when it already signed. */
static int commit_insert_pos(const struct commit *c, uint16_t index) {
  uint16_t i = 0;
  while (i < c->count && c->sigs[i].validator_index < index) {
    i++;
  }
  if (i < c->count && c->sigs[i].validator_index == index) {
    return -1;
  }
  return i;
}

int ledger_commit_sign(struct block *b, const struct cry_keys *k, uint16_t index, uint32_t round) {
  if (index >= LIM_VALIDATORS_MAX) {
    return ERR_BAD_ARGS;
  }
  struct commit *c = &b->commit;
  struct hash32 hash;
  int rc = codec_block_hash(&b->header, &hash);
  if (rc != OK) {
    return rc;
  }
  if (c->count == 0) {
    c->height = b->header.height;
    c->round = round;
    c->block_hash = hash;
  } else if (c->round != round || c->height != b->header.height ||
             !base_hash_eq(&c->block_hash, &hash)) {
    return ERR_COMMIT_INVALID;
  }
  int pos = commit_insert_pos(c, index);
  if (pos < 0) {
    return ERR_EXISTS;
  }
  /* Distinct indices below LIM_VALIDATORS_MAX: a full commit has them all. */
  assert(c->count < LIM_VALIDATORS_MAX);
  struct hash32 vote;
  rc = codec_vote_sighash(&vote, &b->header.chain_id, c->height, c->round, &c->block_hash);
  if (rc != OK) {
    return rc;
  }
  memmove(&c->sigs[pos + 1], &c->sigs[pos], (size_t)(c->count - pos) * sizeof(c->sigs[0]));
  c->sigs[pos].validator_index = index;
  cry_sign(k, &c->sigs[pos].sig, vote.b, sizeof(vote.b));
  c->count++;
  return OK;
}

static uint64_t commit_total_power(const struct ledger_validator *vals, size_t nvals) {
  uint64_t total = 0;
  for (size_t i = 0; i < nvals; i++) {
    /* The set comes from a validated genesis: powers are positive and
     * their total is below 2^62. */
    assert(vals[i].power > 0 && vals[i].power < COMMIT_POWER_TOTAL_MAX - total);
    total += vals[i].power;
  }
  return total;
}

int ledger_commit_verify(const struct block *b, const struct ledger_validator *vals, size_t nvals) {
  assert(nvals > 0 && nvals <= LIM_VALIDATORS_MAX);
  const struct commit *c = &b->commit;
  struct hash32 hash;
  if (c->height != b->header.height || c->count > nvals ||
      codec_block_hash(&b->header, &hash) != OK || !base_hash_eq(&hash, &c->block_hash)) {
    return ERR_COMMIT_INVALID;
  }
  struct hash32 vote;
  if (codec_vote_sighash(&vote, &b->header.chain_id, c->height, c->round, &c->block_hash) != OK) {
    return ERR_COMMIT_INVALID;
  }
  uint64_t total = commit_total_power(vals, nvals);
  uint64_t signed_power = 0;
  for (uint16_t i = 0; i < c->count; i++) {
    uint16_t idx = c->sigs[i].validator_index;
    if (idx >= nvals || (i > 0 && idx <= c->sigs[i - 1].validator_index)) {
      return ERR_COMMIT_INVALID;
    }
    if (cry_verify(&c->sigs[i].sig, vote.b, sizeof(vote.b), &vals[idx].pk) != OK) {
      return ERR_COMMIT_INVALID;
    }
    signed_power += vals[idx].power;
  }
  assert(signed_power <= total && total < COMMIT_POWER_TOTAL_MAX);
  if (signed_power * 3 <= total * 2) {
    return ERR_COMMIT_INVALID;
  }
  return OK;
}
