/*
 * codec blocks: headers, commits, the precommit message and whole blocks.
 *
 *   header = u8 version(=1) | var chain_id | u64 height | u64 time_ms |
 *            7 * id | u32 tx_count
 *   commit = u64 height | u32 round | id block_hash | u16 count |
 *            count * (u16 index | sig(64))
 *   block  = header | u32 count | count * var tx | commit
 *
 * As in the transaction codec, each rule has a reading side (the *_read
 * functions stop at the first bad field) and a writing side (*_check, run by
 * the encoders before they write). A block carries its transactions as
 * opaque, length-framed bytes: the ledger decodes each one with
 * codec_tx_decode, so a block's framing is canonical here and its contents
 * are judged there. Whether a commit's height and hash match the header is
 * also the ledger's question, not a matter of encoding.
 */
#include "codec/codec_internal.h"

#include <assert.h>
#include <string.h>

#define BLOCK_TAG "medchain.block.v1"
#define COMMIT_TAG "medchain.commit.v1"
#define VOTE_TAG "medchain.vote.v1"
#define PROPOSAL_TAG "medchain.cons.proposal.v1"
#define PROPOSAL_BYTES_MAX (4 + LIM_CHAIN_ID_MAX + 8 + 4 + 4 + 32)

#define HEADER_BYTES_MAX (1 + 4 + LIM_CHAIN_ID_MAX + 8 + 8 + 7 * 32 + 4)
#define COMMIT_SIG_BYTES (2 + CRY_SIG_BYTES)
#define COMMIT_BYTES_MAX (8 + 4 + 32 + 2 + LIM_VALIDATORS_MAX * COMMIT_SIG_BYTES)
#define VOTE_BYTES_MAX (1 + 4 + LIM_CHAIN_ID_MAX + 8 + 4 + 32)
#define BLOCK_BYTES_MAX                                                                            \
  ((size_t)HEADER_BYTES_MAX + 4 + (size_t)LIM_BLOCK_TXS_MAX * (4 + LIM_TX_BYTES_MAX) +             \
   COMMIT_BYTES_MAX)
/* A block whose parts are all within their limits always fits the block
 * limit, so the total-size rule only ever rejects garbage. */
_Static_assert(BLOCK_BYTES_MAX <= LIM_BLOCK_BYTES_MAX, "the largest block must fit the limit");
_Static_assert(LIM_VALIDATORS_MAX <= UINT16_MAX, "validator indices are u16");

/* ---- headers ----------------------------------------------------------- */

static int header_check(const struct block_header *h) {
  int rc = codec_chain_id_check(h->chain_id);
  if (rc != OK) {
    return rc;
  }
  return h->tx_count > LIM_BLOCK_TXS_MAX ? ERR_OVERSIZE : OK;
}

static void header_read(struct codec_reader *r, struct block_header *h) {
  uint8_t version = codec_get_u8(r);
  if (r->err == OK && version != CODEC_BLOCK_VERSION) {
    codec_reader_fail(r, ERR_MALFORMED);
  }
  h->chain_id = codec_get_chain_id(r);
  h->height = codec_get_u64(r);
  h->time_ms = codec_get_u64(r);
  codec_get_raw(r, h->prev_hash.b, 32);
  codec_get_raw(r, h->last_commit_hash.b, 32);
  codec_get_raw(r, h->tx_root.b, 32);
  codec_get_raw(r, h->results_hash.b, 32);
  codec_get_raw(r, h->state_root.b, 32);
  codec_get_raw(r, h->validators_hash.b, 32);
  codec_get_raw(r, h->proposer.b, 32);
  h->tx_count = codec_get_u32(r);
  if (r->err == OK && h->tx_count > LIM_BLOCK_TXS_MAX) {
    codec_reader_fail(r, ERR_OVERSIZE);
  }
}

static void header_write(struct codec_writer *w, const struct block_header *h) {
  codec_put_u8(w, CODEC_BLOCK_VERSION);
  codec_put_var(w, h->chain_id.ptr, h->chain_id.len);
  codec_put_u64(w, h->height);
  codec_put_u64(w, h->time_ms);
  codec_put_raw(w, h->prev_hash.b, 32);
  codec_put_raw(w, h->last_commit_hash.b, 32);
  codec_put_raw(w, h->tx_root.b, 32);
  codec_put_raw(w, h->results_hash.b, 32);
  codec_put_raw(w, h->state_root.b, 32);
  codec_put_raw(w, h->validators_hash.b, 32);
  codec_put_raw(w, h->proposer.b, 32);
  codec_put_u32(w, h->tx_count);
}

int codec_header_encode(const struct block_header *h, uint8_t *out, size_t cap, size_t *out_len) {
  assert(h != NULL);
  assert(out_len != NULL);
  int rc = header_check(h);
  if (rc != OK) {
    return rc;
  }
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  header_write(&w, h);
  if (w.err != OK) {
    return w.err;
  }
  assert(w.len <= HEADER_BYTES_MAX);
#ifdef MEDCHAIN_DEBUG_CHECKS
  struct block_header back;
  assert(codec_header_decode(&back, out, w.len) == OK);
  assert(back.height == h->height && back.tx_count == h->tx_count);
#endif
  *out_len = w.len;
  return OK;
}

int codec_header_decode(struct block_header *h, const uint8_t *buf, size_t len) {
  assert(h != NULL);
  struct codec_reader r;
  codec_reader_init(&r, buf, len);
  header_read(&r, h);
  int rc = codec_reader_finish(&r);
  assert(rc != OK || header_check(h) == OK);
  return rc;
}

int codec_block_hash(const struct block_header *h, struct hash32 *out) {
  assert(out != NULL);
  uint8_t buf[HEADER_BYTES_MAX];
  size_t len = 0;
  int rc = codec_header_encode(h, buf, sizeof(buf), &len);
  if (rc != OK) {
    return rc;
  }
  cry_hash_tagged(out, BLOCK_TAG, buf, len);
  return OK;
}

/* ---- commits ----------------------------------------------------------- */

/* Signature i of c is canonical: a valid index, above the one before. */
static bool commit_index_ok(const struct commit *c, uint16_t i) {
  uint16_t index = c->sigs[i].validator_index;
  if (index >= LIM_VALIDATORS_MAX) {
    return false;
  }
  return i == 0 || index > c->sigs[i - 1].validator_index;
}

static int commit_check(const struct commit *c) {
  if (c->count > LIM_VALIDATORS_MAX) {
    return ERR_OVERSIZE;
  }
  for (uint16_t i = 0; i < c->count; i++) {
    if (!commit_index_ok(c, i)) {
      return ERR_NONCANONICAL;
    }
  }
  return OK;
}

static void commit_read(struct codec_reader *r, struct commit *c) {
  c->height = codec_get_u64(r);
  c->round = codec_get_u32(r);
  codec_get_raw(r, c->block_hash.b, 32);
  c->count = 0;
  uint16_t count = codec_get_u16(r);
  if (r->err != OK) {
    return;
  }
  /* Checked before any signature is stored: sigs[] holds only the max. */
  if (count > LIM_VALIDATORS_MAX) {
    codec_reader_fail(r, ERR_OVERSIZE);
    return;
  }
  for (uint16_t i = 0; i < count && r->err == OK; i++) {
    c->sigs[i].validator_index = codec_get_u16(r);
    codec_get_raw(r, c->sigs[i].sig.b, CRY_SIG_BYTES);
    if (r->err == OK && !commit_index_ok(c, i)) {
      codec_reader_fail(r, ERR_NONCANONICAL);
    }
  }
  c->count = count;
}

static void commit_write(struct codec_writer *w, const struct commit *c) {
  assert(c->count <= LIM_VALIDATORS_MAX);
  codec_put_u64(w, c->height);
  codec_put_u32(w, c->round);
  codec_put_raw(w, c->block_hash.b, 32);
  codec_put_u16(w, c->count);
  for (uint16_t i = 0; i < c->count; i++) {
    codec_put_u16(w, c->sigs[i].validator_index);
    codec_put_raw(w, c->sigs[i].sig.b, CRY_SIG_BYTES);
  }
}

int codec_commit_encode(const struct commit *c, uint8_t *out, size_t cap, size_t *out_len) {
  assert(c != NULL);
  assert(out_len != NULL);
  int rc = commit_check(c);
  if (rc != OK) {
    return rc;
  }
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  commit_write(&w, c);
  if (w.err != OK) {
    return w.err;
  }
  assert(w.len <= COMMIT_BYTES_MAX);
#ifdef MEDCHAIN_DEBUG_CHECKS
  struct commit back;
  assert(codec_commit_decode(&back, out, w.len) == OK);
  assert(back.count == c->count);
#endif
  *out_len = w.len;
  return OK;
}

int codec_commit_decode(struct commit *c, const uint8_t *buf, size_t len) {
  assert(c != NULL);
  struct codec_reader r;
  codec_reader_init(&r, buf, len);
  commit_read(&r, c);
  int rc = codec_reader_finish(&r);
  assert(rc != OK || commit_check(c) == OK);
  return rc;
}

int codec_commit_hash(const struct commit *c, struct hash32 *out) {
  assert(out != NULL);
  uint8_t buf[COMMIT_BYTES_MAX];
  size_t len = 0;
  int rc = codec_commit_encode(c, buf, sizeof(buf), &len);
  if (rc != OK) {
    return rc;
  }
  cry_hash_tagged(out, COMMIT_TAG, buf, len);
  return OK;
}

int codec_vote_sighash_typed(struct hash32 *out, uint8_t type, const struct bytes *chain_id,
                             uint64_t height, uint32_t round, const struct hash32 *block_hash) {
  assert(out != NULL);
  assert(chain_id != NULL);
  assert(block_hash != NULL);
  if (type != CODEC_VOTE_PREVOTE && type != CODEC_VOTE_PRECOMMIT) {
    return ERR_BAD_ARGS;
  }
  int rc = codec_chain_id_check(*chain_id);
  if (rc != OK) {
    return rc;
  }
  uint8_t buf[VOTE_BYTES_MAX];
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  codec_put_u8(&w, type);
  codec_put_var(&w, chain_id->ptr, chain_id->len);
  codec_put_u64(&w, height);
  codec_put_u32(&w, round);
  codec_put_raw(&w, block_hash->b, 32);
  assert(w.err == OK);
  cry_hash_tagged(out, VOTE_TAG, buf, w.len);
  return OK;
}

int codec_vote_sighash(struct hash32 *out, const struct bytes *chain_id, uint64_t height,
                       uint32_t round, const struct hash32 *block_hash) {
  return codec_vote_sighash_typed(out, CODEC_VOTE_PRECOMMIT, chain_id, height, round, block_hash);
}

int codec_proposal_sighash(struct hash32 *out, const struct bytes *chain_id, uint64_t height,
                           uint32_t round, int32_t pol_round, const struct hash32 *block_hash) {
  assert(out != NULL);
  assert(chain_id != NULL);
  assert(block_hash != NULL);
  if (pol_round < -1 || (pol_round >= 0 && (uint32_t)pol_round >= round)) {
    return ERR_BAD_ARGS;
  }
  int rc = codec_chain_id_check(*chain_id);
  if (rc != OK) {
    return rc;
  }
  uint8_t buf[PROPOSAL_BYTES_MAX];
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  codec_put_var(&w, chain_id->ptr, chain_id->len);
  codec_put_u64(&w, height);
  codec_put_u32(&w, round);
  codec_put_u32(&w, (uint32_t)(pol_round + 1));
  codec_put_raw(&w, block_hash->b, 32);
  assert(w.err == OK);
  cry_hash_tagged(out, PROPOSAL_TAG, buf, w.len);
  return OK;
}

/* ---- blocks ------------------------------------------------------------ */

static int block_check(const struct block *b) {
  int rc = header_check(&b->header);
  if (rc != OK) {
    return rc;
  }
  /* header_check bounds header.tx_count, so equality bounds txs[] too. */
  if (b->tx_count != b->header.tx_count) {
    return ERR_MALFORMED;
  }
  for (uint32_t i = 0; i < b->tx_count; i++) {
    assert(b->txs[i].ptr != NULL || b->txs[i].len == 0);
    if (b->txs[i].len > LIM_TX_BYTES_MAX) {
      return ERR_OVERSIZE;
    }
  }
  return commit_check(&b->commit);
}

static void block_read(struct codec_reader *r, struct block *b) {
  header_read(r, &b->header);
  b->tx_count = 0;
  uint32_t count = codec_get_u32(r);
  if (r->err != OK) {
    return;
  }
  if (count > LIM_BLOCK_TXS_MAX) {
    codec_reader_fail(r, ERR_OVERSIZE);
    return;
  }
  if (count != b->header.tx_count) {
    codec_reader_fail(r, ERR_MALFORMED);
    return;
  }
  for (uint32_t i = 0; i < count && r->err == OK; i++) {
    b->txs[i] = codec_get_var(r, LIM_TX_BYTES_MAX);
  }
  b->tx_count = count;
  commit_read(r, &b->commit);
}

static void block_write(struct codec_writer *w, const struct block *b) {
  assert(b->tx_count <= LIM_BLOCK_TXS_MAX);
  header_write(w, &b->header);
  codec_put_u32(w, b->tx_count);
  for (uint32_t i = 0; i < b->tx_count; i++) {
    codec_put_var(w, b->txs[i].ptr, b->txs[i].len);
  }
  commit_write(w, &b->commit);
}

int codec_block_encode(const struct block *b, uint8_t *out, size_t cap, size_t *out_len) {
  assert(b != NULL);
  assert(out_len != NULL);
  int rc = block_check(b);
  if (rc != OK) {
    return rc;
  }
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  block_write(&w, b);
  if (w.err != OK) {
    return w.err;
  }
  assert(w.len <= BLOCK_BYTES_MAX);
  *out_len = w.len;
  return OK;
}

int codec_block_decode(struct block *b, const uint8_t *buf, size_t len) {
  assert(b != NULL);
  if (len > LIM_BLOCK_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  struct codec_reader r;
  codec_reader_init(&r, buf, len);
  block_read(&r, b);
  int rc = codec_reader_finish(&r);
  assert(rc != OK || block_check(b) == OK);
  return rc;
}
