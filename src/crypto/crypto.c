/*
 * crypto — medchain's primitives as thin, checked wrappers over libsodium
 * (the choices are listed in crypto.h). The rules this file keeps:
 *
 *  - Every domain-separated hash is BLAKE2b-256(u8 len(tag) || tag || data).
 *    The length byte makes (tag, data) -> input injective, so two uses can
 *    never feed BLAKE2b the same bytes even when one tag is a prefix of
 *    another ("medchain.tx.v" + "1..." vs "medchain.tx.v1" + "...").
 *  - Secret keys are born and die in sodium_malloc memory (struct cry_keys),
 *    read-only in between; hash states that saw secrets are wiped.
 *  - Verdicts are OK or one error code, never a reason (libsodium's 0/-1).
 *  - libsodium calls that cannot fail on valid arguments are asserted, so a
 *    misuse is a crash in debug builds rather than a silent bad output.
 *
 * Signature acceptance is libsodium 1.0.18's crypto_sign_ed25519_verify_
 * detached, which (without ED25519_COMPAT, as Debian builds it) rejects
 * S >= L, R and A of small order, and non-canonical A, then compares the
 * encoding of [S]B - [h]A with R (cofactorless). tests/vectors pins this.
 *
 * The keystore file is in keystore.c, the verification benchmark in bench.c.
 */
#include "crypto/crypto_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

_Static_assert(sizeof(struct cry_hasher) >= sizeof(crypto_generichash_state),
               "cry_hasher must hold libsodium's BLAKE2b state");
_Static_assert(_Alignof(struct cry_hasher) >= _Alignof(crypto_generichash_state),
               "cry_hasher must be aligned like libsodium's BLAKE2b state");
_Static_assert(CRY_HASH_BYTES == crypto_generichash_BYTES, "hash size");
_Static_assert(CRY_SIGN_PK_BYTES == crypto_sign_ed25519_PUBLICKEYBYTES, "Ed25519 pk size");
_Static_assert(CRY_SIGN_SK_BYTES == crypto_sign_ed25519_SECRETKEYBYTES, "Ed25519 sk size");
_Static_assert(CRY_SEED_BYTES == crypto_sign_ed25519_SEEDBYTES, "Ed25519 seed size");
_Static_assert(CRY_SIG_BYTES == crypto_sign_ed25519_BYTES, "Ed25519 signature size");
_Static_assert(CRY_BOX_PK_BYTES == crypto_scalarmult_BYTES, "X25519 pk size");
_Static_assert(CRY_BOX_PK_BYTES == crypto_box_PUBLICKEYBYTES, "box pk size");
_Static_assert(CRY_BOX_SK_BYTES == crypto_scalarmult_SCALARBYTES, "X25519 sk size");
_Static_assert(CRY_SEAL_OVERHEAD == crypto_box_SEALBYTES, "sealed box overhead");
_Static_assert(CRY_AEAD_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "AEAD key");
_Static_assert(CRY_AEAD_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(CRY_AEAD_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "AEAD tag");

/* The domain of the X25519 secret derived from an identity's seed. */
#define CRY_TAG_BOXKEY "medchain.boxkey.v1"
/* The domain of identity ids. */
#define CRY_TAG_ID "medchain.id.v1"

int cry_init(void) {
  if (sodium_init() < 0) {
    return ERR_INTERNAL;
  }
  return OK;
}

/* ---- Hashing ---- */

static crypto_generichash_state *hasher_state(struct cry_hasher *h) {
  return (crypto_generichash_state *)(void *)h->opaque;
}

static void state_init(crypto_generichash_state *st, const char *tag) {
  int rc = crypto_generichash_init(st, NULL, 0, CRY_HASH_BYTES);
  assert(rc == 0);
  (void)rc;
  if (tag == NULL) {
    return;
  }
  /* Tags are short ASCII constants in the code; an empty or huge one is a
   * bug, not input. */
  size_t tag_len = strlen(tag);
  assert(tag_len > 0 && tag_len <= UINT8_MAX);
  uint8_t len8 = (uint8_t)tag_len;
  crypto_generichash_update(st, &len8, 1);
  crypto_generichash_update(st, (const uint8_t *)tag, tag_len);
}

void cry_hash(struct hash32 *out, const uint8_t *data, size_t len) {
  assert(out != NULL);
  assert(data != NULL || len == 0);
  int rc = crypto_generichash(out->b, sizeof out->b, data, len, NULL, 0);
  assert(rc == 0);
  (void)rc;
}

void cry_hash_tagged_raw(uint8_t out[CRY_HASH_BYTES], const char *tag, const uint8_t *data,
                         size_t len) {
  assert(out != NULL && tag != NULL);
  assert(data != NULL || len == 0);
  crypto_generichash_state st;
  state_init(&st, tag);
  crypto_generichash_update(&st, data, len);
  int rc = crypto_generichash_final(&st, out, CRY_HASH_BYTES);
  assert(rc == 0);
  (void)rc;
  /* The input may be a secret seed; its last block is still in the state. */
  sodium_memzero(&st, sizeof st);
}

void cry_hash_tagged(struct hash32 *out, const char *tag, const uint8_t *data, size_t len) {
  assert(out != NULL);
  cry_hash_tagged_raw(out->b, tag, data, len);
}

void cry_hasher_init(struct cry_hasher *h, const char *tag) {
  assert(h != NULL);
  state_init(hasher_state(h), tag);
}

void cry_hasher_update(struct cry_hasher *h, const uint8_t *data, size_t len) {
  assert(h != NULL);
  assert(data != NULL || len == 0);
  int rc = crypto_generichash_update(hasher_state(h), data, len);
  assert(rc == 0);
  (void)rc;
}

void cry_hasher_final(struct cry_hasher *h, struct hash32 *out) {
  assert(h != NULL && out != NULL);
  /* libsodium refuses to finalize twice: that would be a caller bug. */
  int rc = crypto_generichash_final(hasher_state(h), out->b, sizeof out->b);
  assert(rc == 0);
  (void)rc;
}

void cry_random(uint8_t *out, size_t len) {
  assert(out != NULL || len == 0);
  randombytes_buf(out, len);
}

/* ---- Keys ---- */

/* Fills every key of k from k->seed, then seals k read-only. */
static void keys_derive(struct cry_keys *k) {
  int rc = crypto_sign_ed25519_seed_keypair(k->sign_pk, k->sign_sk, k->seed);
  assert(rc == 0);
  cry_hash_tagged_raw(k->box_sk, CRY_TAG_BOXKEY, k->seed, sizeof k->seed);
  /* X25519 clamps the scalar itself; with a clamped scalar the result is
   * never the all-zero point, the only failure crypto_scalarmult_base has. */
  rc = crypto_scalarmult_base(k->box_pk, k->box_sk);
  assert(rc == 0);
  (void)rc;
  /* Read-only is hardening, not correctness: if mprotect fails (say, out of
   * memory mappings) the keys still work, so the result is ignored. */
  (void)sodium_mprotect_readonly(k);
}

struct cry_keys *cry_keys_from_seed(const uint8_t seed[CRY_SEED_BYTES]) {
  assert(seed != NULL);
  struct cry_keys *k = sodium_malloc(sizeof *k);
  if (k == NULL) {
    return NULL;
  }
  memcpy(k->seed, seed, sizeof k->seed);
  keys_derive(k);
  return k;
}

struct cry_keys *cry_keys_generate(void) {
  struct cry_keys *k = sodium_malloc(sizeof *k);
  if (k == NULL) {
    return NULL;
  }
  /* The seed is drawn straight into guarded memory, never the stack. */
  randombytes_buf(k->seed, sizeof k->seed);
  keys_derive(k);
  return k;
}

void cry_keys_destroy(struct cry_keys *k) {
  /* sodium_free makes the pages writable, zeroes them and unmaps them. */
  sodium_free(k);
}

void cry_keys_sign_pk(const struct cry_keys *k, struct pubkey *out) {
  assert(k != NULL && out != NULL);
  memcpy(out->b, k->sign_pk, sizeof out->b);
}

void cry_keys_box_pk(const struct cry_keys *k, struct boxkey *out) {
  assert(k != NULL && out != NULL);
  memcpy(out->b, k->box_pk, sizeof out->b);
}

void cry_id_from_pk(struct hash32 *out, const struct pubkey *pk) {
  assert(pk != NULL);
  cry_hash_tagged(out, CRY_TAG_ID, pk->b, sizeof pk->b);
}

/* ---- Signatures ---- */

void cry_sign(const struct cry_keys *k, struct signature *sig, const uint8_t *msg, size_t len) {
  assert(k != NULL && sig != NULL);
  assert(msg != NULL || len == 0);
  int rc = crypto_sign_ed25519_detached(sig->b, NULL, msg, len, k->sign_sk);
  assert(rc == 0);
  (void)rc;
}

int cry_verify(const struct signature *sig, const uint8_t *msg, size_t len,
               const struct pubkey *pk) {
  assert(sig != NULL && pk != NULL);
  assert(msg != NULL || len == 0);
  if (crypto_sign_ed25519_verify_detached(sig->b, msg, len, pk->b) != 0) {
    return ERR_BAD_SIGNATURE;
  }
  return OK;
}

int cry_pubkey_check(const struct pubkey *pk) {
  assert(pk != NULL);
  /* Canonical y, not of small order, on the curve, and in the prime-order
   * subgroup: stricter than cry_verify, which only excludes small order.
   * Honest keys are always in the subgroup, so nothing legitimate is lost,
   * and registering only such keys makes cofactored and cofactorless
   * verification agree on every registered key. */
  if (crypto_core_ed25519_is_valid_point(pk->b) != 1) {
    return ERR_BAD_SIGNATURE;
  }
  return OK;
}

/* ---- Encryption ---- */

int cry_seal(uint8_t *out, const uint8_t *msg, size_t len, const struct boxkey *to) {
  assert(out != NULL && to != NULL);
  assert(msg != NULL || len == 0);
  /* Fails only when the X25519 shared secret is all zero: `to` is of small
   * order, and the message would be readable by anyone. */
  if (crypto_box_seal(out, msg, len, to->b) != 0) {
    return ERR_BAD_ARGS;
  }
  return OK;
}

int cry_seal_open(const struct cry_keys *k, uint8_t *out, const uint8_t *c, size_t clen) {
  assert(k != NULL && c != NULL);
  if (clen < CRY_SEAL_OVERHEAD) {
    return ERR_BAD_SIGNATURE;
  }
  assert(out != NULL || clen == CRY_SEAL_OVERHEAD);
  if (crypto_box_seal_open(out, c, clen, k->box_pk, k->box_sk) != 0) {
    sodium_memzero(out, clen - CRY_SEAL_OVERHEAD);
    return ERR_BAD_SIGNATURE;
  }
  return OK;
}

void cry_aead_encrypt(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *ad,
                      size_t ad_len, const uint8_t nonce[CRY_AEAD_NONCE_BYTES],
                      const uint8_t key[CRY_AEAD_KEY_BYTES]) {
  assert(out != NULL && nonce != NULL && key != NULL);
  assert(msg != NULL || len == 0);
  assert(ad != NULL || ad_len == 0);
  unsigned long long clen = 0;
  int rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, msg, len, ad, ad_len, NULL, nonce,
                                                      key);
  assert(rc == 0 && clen == (unsigned long long)len + CRY_AEAD_TAG_BYTES);
  (void)rc;
  (void)clen;
}

int cry_aead_decrypt(uint8_t *out, const uint8_t *c, size_t clen, const uint8_t *ad, size_t ad_len,
                     const uint8_t nonce[CRY_AEAD_NONCE_BYTES],
                     const uint8_t key[CRY_AEAD_KEY_BYTES]) {
  assert(c != NULL && nonce != NULL && key != NULL);
  assert(ad != NULL || ad_len == 0);
  if (clen < CRY_AEAD_TAG_BYTES) {
    return ERR_BAD_SIGNATURE;
  }
  assert(out != NULL || clen == CRY_AEAD_TAG_BYTES);
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, c, clen, ad, ad_len, nonce,
                                                 key) != 0) {
    sodium_memzero(out, clen - CRY_AEAD_TAG_BYTES);
    return ERR_BAD_SIGNATURE;
  }
  assert(mlen == (unsigned long long)clen - CRY_AEAD_TAG_BYTES);
  (void)mlen;
  return OK;
}

void *cry_secret_alloc(size_t len) {
  return sodium_malloc(len);
}

void cry_secret_free(void *p) {
  sodium_free(p); /* wipes; NULL is a no-op */
}

bool cry_equal(const void *a, const void *b, size_t len) {
  assert((a != NULL && b != NULL) || len == 0);
  return sodium_memcmp(a, b, len) == 0;
}

void cry_wipe(void *p, size_t len) {
  assert(p != NULL || len == 0);
  sodium_memzero(p, len);
}

void cry_sha256(struct hash32 *out, const uint8_t *data, size_t len) {
  _Static_assert(crypto_hash_sha256_BYTES == sizeof(out->b), "SHA-256 is 32 bytes");
  crypto_hash_sha256(out->b, data, len);
}
