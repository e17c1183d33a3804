/*
 * tx — one transaction: its stateless checks, signing, and its execution
 * inside a block.
 *
 * The stateless check runs wherever bytes arrive (API, gossip, block
 * apply) and needs nothing but the bytes and the chain id. The size limit
 * is checked before decoding: a transaction the decoder could accept never
 * exceeds LIM_TX_BYTES_MAX, so only the raw length can be oversize.
 *
 * Execution is the one place the two-phase rule lives: admission (sender,
 * key, nonce) is kept only when it succeeds, then the call is kept only
 * when it succeeds, so a failed call still uses its nonce and leaves a
 * result code but changes nothing else. Build and apply both go through
 * ledger_tx_execute, so they cannot disagree on it.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <string.h>

int ledger_tx_check(const uint8_t *buf, size_t len, struct bytes chain_id, struct tx *tx,
                    struct hash32 *tx_hash) {
  memset(tx, 0, sizeof(*tx));
  memset(tx_hash, 0, sizeof(*tx_hash));
  if (len > LIM_TX_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  int rc = codec_tx_decode(tx, buf, len);
  if (rc != OK) {
    return rc;
  }
  if (!ledger_bytes_eq(tx->chain_id, chain_id)) {
    return ERR_WRONG_CHAIN;
  }
  struct hash32 sighash;
  rc = codec_tx_sighash(tx, &sighash);
  if (rc != OK) {
    return rc;
  }
  if (cry_verify(&tx->sig, sighash.b, sizeof(sighash.b), &tx->pubkey) != OK) {
    return ERR_BAD_SIGNATURE;
  }
  codec_tx_hash(tx_hash, buf, len);
  return OK;
}

int ledger_tx_sign(struct tx *tx, const struct cry_keys *k, uint8_t *out, size_t cap,
                   size_t *out_len) {
  struct hash32 sighash;
  int rc = codec_tx_sighash(tx, &sighash);
  if (rc != OK) {
    return rc;
  }
  cry_sign(k, &tx->sig, sighash.b, sizeof(sighash.b));
  return codec_tx_encode(tx, out, cap, out_len);
}

/* An executor's code must be one of the error enum's: anything else is a
 * bug in the executor, not bad input. */
static uint16_t tx_code(int code) {
  assert(code >= 0 && code < ERR_COUNT_);
  return (uint16_t)code;
}

/* Failures of this machine rather than verdicts on the transaction: they
 * depend on memory, disk and the store's health, so writing one into a
 * block as a result would make replicas (and a later replay) disagree. The
 * block is abandoned instead. */
static bool tx_err_is_local(int code) {
  return code == ERR_NOMEM || code == ERR_IO || code == ERR_CORRUPT || code == ERR_STORE_FULL ||
         code == ERR_UNAVAILABLE || code == ERR_INTERNAL;
}

int ledger_tx_execute(struct state *st, const struct ledger_exec *exec, const struct tx *tx,
                      const struct ledger_env *env, uint16_t *result, bool *fatal) {
  *fatal = false;
  *result = 0;
  int rc = exec->admit(exec->ctx, st, tx, env);
  if (rc != OK) {
    state_tx_abort(st);
    *fatal = tx_err_is_local(rc);
    return tx_code(rc);
  }
  rc = state_tx_commit(st);
  if (rc != OK) {
    *fatal = true;
    return rc;
  }
  int code = exec->call(exec->ctx, st, tx, env);
  if (code != OK && tx_err_is_local(code)) {
    state_tx_abort(st);
    *fatal = true;
    return code;
  }
  if (code != OK) {
    state_tx_abort(st);
    *result = tx_code(code);
    return OK;
  }
  rc = state_tx_commit(st);
  if (rc != OK) {
    *fatal = true;
    return rc;
  }
  *result = OK;
  return OK;
}
