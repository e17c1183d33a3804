/*
 * crypto_internal.h — what the crypto module's files share and nobody else
 * sees: the layout of struct cry_keys and the Argon2id limits keystores
 * are written with. Only src/crypto/ and its unit test include this.
 */
#ifndef MEDCHAIN_CRYPTO_INTERNAL_H
#define MEDCHAIN_CRYPTO_INTERNAL_H

#include "crypto/crypto.h"

#define CRY_SIGN_SK_BYTES 64 /* libsodium's Ed25519 secret key: seed || pk */
#define CRY_BOX_SK_BYTES 32

/* Lives in sodium_malloc memory (guard pages, mlock, wiped by sodium_free)
 * and is made read-only once filled. Only bytes, so any address sodium_malloc
 * returns is suitably aligned. The seed is kept so keystores can store the
 * 32 bytes every other key is derived from. */
struct cry_keys {
  uint8_t seed[CRY_SEED_BYTES];
  uint8_t sign_sk[CRY_SIGN_SK_BYTES];
  uint8_t sign_pk[CRY_SIGN_PK_BYTES];
  uint8_t box_sk[CRY_BOX_SK_BYTES];
  uint8_t box_pk[CRY_BOX_PK_BYTES];
};

/* BLAKE2b-256(u8 len(tag) || tag || data) into a raw 32-byte buffer, so
 * secret outputs can go straight into guarded memory. */
void cry_hash_tagged_raw(uint8_t out[CRY_HASH_BYTES], const char *tag, const uint8_t *data,
                         size_t len);

/* Argon2id limits that new passphrase-protected keystores are written with:
 * MODERATE by default. Each file records the limits it was written with and
 * readers use those, so changing this never breaks existing files. Tests
 * lower it to INTERACTIVE for speed; production code never calls it. Not
 * thread-safe: set it before any keystore is written. Both values must be
 * at least libsodium's INTERACTIVE limits. */
void cry_keystore_kdf_limits_set(uint64_t opslimit, uint64_t memlimit);
/* Restores the MODERATE default. */
void cry_keystore_kdf_limits_reset(void);

#endif
