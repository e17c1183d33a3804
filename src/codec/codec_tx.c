/*
 * codec transactions: the signed call of one contract method.
 *
 *   u8 version(=1) | var chain_id | id sender | pubkey | u64 nonce |
 *   var contract | var method | var args | sig(64)
 *
 * Each rule is checked on both sides: tx_read rejects while reading (so the
 * error names the first bad field) and tx_check is what the encoder applies
 * before writing; a decoded transaction must pass tx_check too, which the
 * debug builds assert. The signature and the nonce are not judged here:
 * they are the ledger's business.
 */
#include "codec/codec_internal.h"

#include <assert.h>

#define TX_TAG_SIG "medchain.tx.v1"
#define TX_TAG_ID "medchain.txid.v1"

/* Everything but the four variable fields' contents. */
#define TX_FIXED_BYTES (1 + 4 + 32 + CRY_SIGN_PK_BYTES + 8 + 4 + 4 + 4 + CRY_SIG_BYTES)
#define TX_BYTES_MAX (TX_FIXED_BYTES + LIM_CHAIN_ID_MAX + 2 * LIM_NAME_MAX + LIM_ARGS_MAX)
/* So the total-size rule can never reject a transaction whose fields are
 * all within their limits: the field limits are the real ones. */
_Static_assert(TX_BYTES_MAX <= LIM_TX_BYTES_MAX, "the largest transaction must fit the limit");

/* Contract and method names are identifiers: [a-z0-9_]+. */
static bool name_ok(struct bytes s) {
  if (s.len == 0) {
    return false;
  }
  for (size_t i = 0; i < s.len; i++) {
    uint8_t c = s.ptr[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return false;
    }
  }
  return true;
}

static int name_check(struct bytes s) {
  if (s.len > LIM_NAME_MAX) {
    return ERR_OVERSIZE;
  }
  return name_ok(s) ? OK : ERR_NONCANONICAL;
}

static int tx_check(const struct tx *tx) {
  int rc = codec_chain_id_check(tx->chain_id);
  if (rc != OK) {
    return rc;
  }
  rc = name_check(tx->contract);
  if (rc != OK) {
    return rc;
  }
  rc = name_check(tx->method);
  if (rc != OK) {
    return rc;
  }
  assert(tx->args.ptr != NULL || tx->args.len == 0);
  return tx->args.len > LIM_ARGS_MAX ? ERR_OVERSIZE : OK;
}

static struct bytes read_name(struct codec_reader *r) {
  struct bytes none = {NULL, 0};
  struct bytes s = codec_get_var(r, LIM_NAME_MAX);
  if (r->err != OK) {
    return none;
  }
  if (!name_ok(s)) {
    codec_reader_fail(r, ERR_NONCANONICAL);
    return none;
  }
  return s;
}

static void tx_read(struct codec_reader *r, struct tx *tx) {
  uint8_t version = codec_get_u8(r);
  if (r->err == OK && version != CODEC_TX_VERSION) {
    codec_reader_fail(r, ERR_MALFORMED);
  }
  tx->chain_id = codec_get_chain_id(r);
  codec_get_raw(r, tx->sender.b, sizeof(tx->sender.b));
  codec_get_raw(r, tx->pubkey.b, sizeof(tx->pubkey.b));
  tx->nonce = codec_get_u64(r);
  tx->contract = read_name(r);
  tx->method = read_name(r);
  tx->args = codec_get_var(r, LIM_ARGS_MAX);
  codec_get_raw(r, tx->sig.b, sizeof(tx->sig.b));
}

static void tx_write(struct codec_writer *w, const struct tx *tx, bool with_sig) {
  codec_put_u8(w, CODEC_TX_VERSION);
  codec_put_var(w, tx->chain_id.ptr, tx->chain_id.len);
  codec_put_raw(w, tx->sender.b, sizeof(tx->sender.b));
  codec_put_raw(w, tx->pubkey.b, sizeof(tx->pubkey.b));
  codec_put_u64(w, tx->nonce);
  codec_put_var(w, tx->contract.ptr, tx->contract.len);
  codec_put_var(w, tx->method.ptr, tx->method.len);
  codec_put_var(w, tx->args.ptr, tx->args.len);
  if (with_sig) {
    codec_put_raw(w, tx->sig.b, sizeof(tx->sig.b));
  }
}

int codec_tx_decode(struct tx *tx, const uint8_t *buf, size_t len) {
  assert(tx != NULL);
  if (len > LIM_TX_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  struct codec_reader r;
  codec_reader_init(&r, buf, len);
  tx_read(&r, tx);
  int rc = codec_reader_finish(&r);
  assert(rc != OK || tx_check(tx) == OK);
  return rc;
}

static int tx_encode(const struct tx *tx, bool with_sig, uint8_t *out, size_t cap,
                     size_t *out_len) {
  assert(tx != NULL);
  assert(out_len != NULL);
  int rc = tx_check(tx);
  if (rc != OK) {
    return rc;
  }
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  tx_write(&w, tx, with_sig);
  if (w.err != OK) {
    return w.err;
  }
  assert(w.len <= TX_BYTES_MAX);
#ifdef MEDCHAIN_DEBUG_CHECKS
  if (with_sig) {
    struct tx back;
    assert(codec_tx_decode(&back, out, w.len) == OK);
    assert(back.nonce == tx->nonce && back.args.len == tx->args.len);
  }
#endif
  *out_len = w.len;
  return OK;
}

int codec_tx_encode(const struct tx *tx, uint8_t *out, size_t cap, size_t *out_len) {
  return tx_encode(tx, true, out, cap, out_len);
}

int codec_tx_encode_unsigned(const struct tx *tx, uint8_t *out, size_t cap, size_t *out_len) {
  return tx_encode(tx, false, out, cap, out_len);
}

int codec_tx_sighash(const struct tx *tx, struct hash32 *out) {
  assert(out != NULL);
  uint8_t buf[TX_BYTES_MAX];
  size_t len = 0;
  int rc = codec_tx_encode_unsigned(tx, buf, sizeof(buf), &len);
  if (rc != OK) {
    return rc;
  }
  cry_hash_tagged(out, TX_TAG_SIG, buf, len);
  return OK;
}

void codec_tx_hash(struct hash32 *out, const uint8_t *encoded, size_t len) {
  assert(out != NULL);
  assert(encoded != NULL || len == 0);
  cry_hash_tagged(out, TX_TAG_ID, encoded, len);
}
