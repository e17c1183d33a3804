/*
 * msg — the consensus messages' signatures, wire encodings and the signing
 * record's file encoding. Pure.
 */
#include "consensus/consensus.h"

#include <assert.h>
#include <string.h>

#define WAL_MAGIC "MCW1"
#define WAL_TAG "medchain.cons.wal.v1"
#define WAL_FIXED_BYTES 256
#define WAL_BODY_BYTES (CONS_WAL_BYTES - 32)

/* ---- signatures -------------------------------------------------------------- */

int cons_vote_sign(struct cons_vote *v, const struct cry_keys *k, const struct bytes *chain_id) {
  assert(v != NULL && k != NULL && chain_id != NULL);
  struct hash32 h;
  int rc = codec_vote_sighash_typed(&h, v->type, chain_id, v->height, v->round, &v->id);
  if (rc != OK) {
    return rc;
  }
  cry_sign(k, &v->sig, h.b, sizeof h.b);
  return OK;
}

int cons_vote_verify(const struct cons_vote *v, const struct cons_valset *vs,
                     const struct bytes *chain_id) {
  assert(v != NULL && vs != NULL && chain_id != NULL);
  if (v->validator >= vs->n) {
    return ERR_UNAUTHORIZED;
  }
  struct hash32 h;
  int rc = codec_vote_sighash_typed(&h, v->type, chain_id, v->height, v->round, &v->id);
  if (rc != OK) {
    return ERR_MALFORMED;
  }
  return cry_verify(&v->sig, h.b, sizeof h.b, &vs->pk[v->validator]) == OK ? OK : ERR_BAD_SIGNATURE;
}

int cons_proposal_sign(struct cons_proposal *p, const struct cry_keys *k,
                       const struct bytes *chain_id) {
  assert(p != NULL && k != NULL && chain_id != NULL);
  struct hash32 h;
  int rc = codec_proposal_sighash(&h, chain_id, p->height, p->round, p->pol_round, &p->id);
  if (rc != OK) {
    return rc;
  }
  cry_sign(k, &p->sig, h.b, sizeof h.b);
  return OK;
}

int cons_proposal_verify(const struct cons_proposal *p, const struct cons_valset *vs,
                         const struct bytes *chain_id) {
  assert(p != NULL && vs != NULL && chain_id != NULL);
  if (p->proposer >= vs->n) {
    return ERR_UNAUTHORIZED;
  }
  struct hash32 h;
  int rc = codec_proposal_sighash(&h, chain_id, p->height, p->round, p->pol_round, &p->id);
  if (rc != OK) {
    return ERR_MALFORMED;
  }
  return cry_verify(&p->sig, h.b, sizeof h.b, &vs->pk[p->proposer]) == OK ? OK : ERR_BAD_SIGNATURE;
}

/* ---- wire ------------------------------------------------------------------------ */

static void put_u16(uint8_t *o, uint16_t v) {
  o[0] = (uint8_t)(v >> 8);
  o[1] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *i) {
  return (uint16_t)((i[0] << 8) | i[1]);
}

void cons_vote_encode(const struct cons_vote *v, uint8_t out[CONS_VOTE_BYTES]) {
  out[0] = v->type;
  put_u16(out + 1, v->validator);
  base_put_u64be(out + 3, v->height);
  base_put_u32be(out + 11, v->round);
  memcpy(out + 15, v->id.b, 32);
  memcpy(out + 47, v->sig.b, 64);
}

int cons_vote_decode(struct cons_vote *v, const uint8_t *in, size_t len) {
  assert(v != NULL && (in != NULL || len == 0));
  if (len != CONS_VOTE_BYTES || (in[0] != CONS_PREVOTE && in[0] != CONS_PRECOMMIT)) {
    return ERR_MALFORMED;
  }
  v->type = in[0];
  v->validator = get_u16(in + 1);
  v->height = base_get_u64be(in + 3);
  v->round = base_get_u32be(in + 11);
  memcpy(v->id.b, in + 15, 32);
  memcpy(v->sig.b, in + 47, 64);
  if (v->height == 0 || v->round > INT32_MAX) {
    return ERR_MALFORMED;
  }
  return OK;
}

void cons_proposal_encode(const struct cons_proposal *p, uint8_t out[CONS_PROPOSAL_BYTES]) {
  assert(p->pol_round >= -1);
  put_u16(out, p->proposer);
  base_put_u64be(out + 2, p->height);
  base_put_u32be(out + 10, p->round);
  base_put_u32be(out + 14, (uint32_t)(p->pol_round + 1));
  memcpy(out + 18, p->id.b, 32);
  memcpy(out + 50, p->sig.b, 64);
}

int cons_proposal_decode(struct cons_proposal *p, const uint8_t *in, size_t len) {
  assert(p != NULL && (in != NULL || len == 0));
  if (len != CONS_PROPOSAL_BYTES) {
    return ERR_MALFORMED;
  }
  p->proposer = get_u16(in);
  p->height = base_get_u64be(in + 2);
  p->round = base_get_u32be(in + 10);
  uint32_t pol1 = base_get_u32be(in + 14);
  memcpy(p->id.b, in + 18, 32);
  memcpy(p->sig.b, in + 50, 64);
  if (p->height == 0 || p->round > INT32_MAX || pol1 > p->round || base_hash_is_zero(&p->id)) {
    return ERR_MALFORMED;
  }
  p->pol_round = (int32_t)pol1 - 1;
  return OK;
}

/* ---- the signing record ----------------------------------------------------------- */

static size_t put_signed(uint8_t *o, const struct cons_signed *s) {
  o[0] = s->set ? 1 : 0;
  base_put_u64be(o + 1, s->height);
  base_put_u32be(o + 9, s->round);
  base_put_u32be(o + 13, (uint32_t)(s->pol_round + 1));
  memcpy(o + 17, s->id.b, 32);
  return 49;
}

static size_t get_signed(struct cons_signed *s, const uint8_t *i, bool *ok) {
  if (i[0] > 1) {
    *ok = false;
  }
  s->set = i[0] == 1;
  s->height = base_get_u64be(i + 1);
  s->round = base_get_u32be(i + 9);
  uint32_t pol1 = base_get_u32be(i + 13);
  if (pol1 > INT32_MAX) {
    *ok = false;
    pol1 = 0;
  }
  s->pol_round = (int32_t)pol1 - 1;
  memcpy(s->id.b, i + 17, 32);
  return 49;
}

/* The padding must be zero, so that a record that decodes encodes back
 * to the same bytes: a checksum alone would let a writer's garbage in. */
static bool all_zero(const uint8_t *p, size_t n) {
  /* Every byte equals its successor and the first is zero. */
  return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Layout: "MCW1" | u64 height | u32 round | u32 locked_round+1 | locked_id |
 * u32 valid_round+1 | valid_id | 3 * signed (u8 set | u64 h | u32 r |
 * u32 pol+1 | id) | zero padding to 256 | u16 npol | npol * vote (wire
 * encoding) | zero padding | checksum cry_hash_tagged(
 * "medchain.cons.wal.v1", everything before it). */
void cons_wal_encode(const struct cons_wal *w, uint8_t out[CONS_WAL_BYTES]) {
  assert(w != NULL && w->locked_round >= -1 && w->valid_round >= -1);
  memset(out, 0, CONS_WAL_BYTES);
  size_t o = 0;
  memcpy(out, WAL_MAGIC, 4);
  o += 4;
  base_put_u64be(out + o, w->height);
  o += 8;
  base_put_u32be(out + o, w->round);
  o += 4;
  base_put_u32be(out + o, (uint32_t)(w->locked_round + 1));
  o += 4;
  memcpy(out + o, w->locked_id.b, 32);
  o += 32;
  base_put_u32be(out + o, (uint32_t)(w->valid_round + 1));
  o += 4;
  memcpy(out + o, w->valid_id.b, 32);
  o += 32;
  o += put_signed(out + o, &w->proposal);
  o += put_signed(out + o, &w->prevote);
  o += put_signed(out + o, &w->precommit);
  assert(o <= WAL_FIXED_BYTES);
  assert(w->npol <= LIM_VALIDATORS_MAX);
  o = WAL_FIXED_BYTES;
  out[o] = (uint8_t)(w->npol >> 8);
  out[o + 1] = (uint8_t)w->npol;
  o += 2;
  for (uint16_t i = 0; i < w->npol; i++) {
    cons_vote_encode(&w->pol[i], out + o);
    o += CONS_VOTE_BYTES;
  }
  assert(o <= WAL_BODY_BYTES);
  struct hash32 sum;
  cry_hash_tagged(&sum, WAL_TAG, out, WAL_BODY_BYTES);
  memcpy(out + WAL_BODY_BYTES, sum.b, 32);
}

int cons_wal_decode(struct cons_wal *w, const uint8_t in[CONS_WAL_BYTES]) {
  assert(w != NULL && in != NULL);
  struct hash32 sum;
  cry_hash_tagged(&sum, WAL_TAG, in, WAL_BODY_BYTES);
  if (memcmp(in, WAL_MAGIC, 4) != 0 || !cry_equal(sum.b, in + WAL_BODY_BYTES, 32)) {
    return ERR_CORRUPT;
  }
  bool ok = true;
  size_t o = 4;
  w->height = base_get_u64be(in + o);
  o += 8;
  w->round = base_get_u32be(in + o);
  o += 4;
  uint32_t lr = base_get_u32be(in + o);
  o += 4;
  memcpy(w->locked_id.b, in + o, 32);
  o += 32;
  uint32_t vr = base_get_u32be(in + o);
  o += 4;
  memcpy(w->valid_id.b, in + o, 32);
  o += 32;
  o += get_signed(&w->proposal, in + o, &ok);
  o += get_signed(&w->prevote, in + o, &ok);
  o += get_signed(&w->precommit, in + o, &ok);
  ok = ok && all_zero(in + o, WAL_FIXED_BYTES - o);
  o = WAL_FIXED_BYTES;
  w->npol = (uint16_t)((in[o] << 8) | in[o + 1]);
  o += 2;
  if (w->npol > LIM_VALIDATORS_MAX) {
    return ERR_CORRUPT;
  }
  for (uint16_t i = 0; i < w->npol; i++) {
    if (cons_vote_decode(&w->pol[i], in + o, CONS_VOTE_BYTES) != OK) {
      return ERR_CORRUPT;
    }
    o += CONS_VOTE_BYTES;
  }
  ok = ok && all_zero(in + o, WAL_BODY_BYTES - o);
  if (!ok || lr > INT32_MAX || vr > INT32_MAX || w->round > INT32_MAX) {
    return ERR_CORRUPT;
  }
  w->locked_round = (int32_t)lr - 1;
  w->valid_round = (int32_t)vr - 1;
  return OK;
}
