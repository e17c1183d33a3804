/*
 * crypto — every cryptographic primitive medchain uses, over libsodium.
 * This is the only module that includes <sodium.h>. Prefix: cry_.
 *
 * Choices (documented in docs/protocol.md):
 *  - Hash: BLAKE2b with a 32-byte output (crypto_generichash). Every use is
 *    domain-separated by a length-prefixed tag hashed first
 *    (cry_hash_tagged).
 *  - Signatures: Ed25519 (RFC 8032) with libsodium's strict acceptance
 *    rules: S must be canonical (S < L), the public key and R must not be
 *    of small order, the public key must be a canonical encoding;
 *    verification is cofactorless. cry_verify pins these by test vectors.
 *  - Encryption to a party: X25519 sealed boxes (crypto_box_seal).
 *  - Symmetric encryption of records: XChaCha20-Poly1305 IETF AEAD.
 *  - Keystores: Argon2id (crypto_pwhash, MODERATE limits) derives the key
 *    that encrypts the secret seeds with XChaCha20-Poly1305; file mode 0600.
 *  - Node-to-node connections: ephemeral X25519 (crypto_kx) per connection,
 *    then one XChaCha20-Poly1305 secretstream per direction (stream.c).
 *
 * Secret key material lives only inside struct cry_keys, allocated with
 * sodium_malloc and wiped on destroy.
 */
#ifndef MEDCHAIN_CRYPTO_H
#define MEDCHAIN_CRYPTO_H

#include "base/base.h"

#define CRY_HASH_BYTES 32
#define CRY_SIGN_PK_BYTES 32
#define CRY_SIG_BYTES 64
#define CRY_BOX_PK_BYTES 32
#define CRY_SEAL_OVERHEAD 48 /* ephemeral public key + MAC */
#define CRY_AEAD_KEY_BYTES 32
#define CRY_AEAD_NONCE_BYTES 24
#define CRY_AEAD_TAG_BYTES 16
#define CRY_SEED_BYTES 32

/* Ed25519 public key (32 bytes) and X25519 public key (32 bytes). */
struct pubkey {
  uint8_t b[32];
};
struct boxkey {
  uint8_t b[32];
};
struct signature {
  uint8_t b[64];
};

/* An identity's secret keys: Ed25519 signing and X25519 box. Opaque,
 * in guarded sodium_malloc memory. */
struct cry_keys;

/* Initializes libsodium; call once before anything else. Returns OK or
 * ERR_INTERNAL. Safe to call more than once. */
int cry_init(void) MUST_CHECK;

/* BLAKE2b-256 of data. */
void cry_hash(struct hash32 *out, const uint8_t *data, size_t len);
/* BLAKE2b-256 of (u8 len(tag) || tag || data): tag is a NUL-terminated
 * domain string such as "medchain.tx.v1", 1 to 255 bytes; one byte holding
 * its length, then its bytes (without NUL), are hashed before data. The
 * length byte keeps distinct (tag, data) pairs distinct even when one tag is
 * a prefix of another. */
void cry_hash_tagged(struct hash32 *out, const char *tag, const uint8_t *data, size_t len);
/* SHA-256 of data. Not medchain's hash: only for standards that name it
 * (the GS1 EPCIS event hash, "ni:///sha-256;..."). */
void cry_sha256(struct hash32 *out, const uint8_t *data, size_t len);

/* Incremental hashing. The state is plain storage the caller owns. With a
 * tag the result equals cry_hash_tagged; with NULL it equals cry_hash.
 * Finalize once. */
struct cry_hasher {
  _Alignas(64) uint8_t opaque[384];
};
void cry_hasher_init(struct cry_hasher *h, const char *tag /* may be NULL */);
void cry_hasher_update(struct cry_hasher *h, const uint8_t *data, size_t len);
void cry_hasher_final(struct cry_hasher *h, struct hash32 *out);

/* Fills out with len cryptographically secure random bytes. */
void cry_random(uint8_t *out, size_t len);

/* Generates fresh keys. Returns NULL on allocation failure. */
struct cry_keys *cry_keys_generate(void);
/* Derives keys deterministically from a 32-byte seed (tests, the demo's
 * sample consortium, keystores). Ed25519 is RFC 8032's key from the seed;
 * the X25519 secret is cry_hash_tagged("medchain.boxkey.v1", seed). Returns
 * NULL on allocation failure. */
struct cry_keys *cry_keys_from_seed(const uint8_t seed[CRY_SEED_BYTES]);
/* Wipes and frees. NULL is a no-op. */
void cry_keys_destroy(struct cry_keys *k);
void cry_keys_sign_pk(const struct cry_keys *k, struct pubkey *out);
void cry_keys_box_pk(const struct cry_keys *k, struct boxkey *out);

/* The identity id of a signing key: cry_hash_tagged("medchain.id.v1", pk).
 * Ids survive key rotation: they name the first key only. */
void cry_id_from_pk(struct hash32 *out, const struct pubkey *pk);

/* Signs msg with the Ed25519 key. Deterministic. */
void cry_sign(const struct cry_keys *k, struct signature *sig, const uint8_t *msg, size_t len);
/* Verifies under the strict rules above. Returns OK or ERR_BAD_SIGNATURE. */
int cry_verify(const struct signature *sig, const uint8_t *msg, size_t len,
               const struct pubkey *pk) MUST_CHECK;
/* Checks that pk is acceptable as a signing key: canonical encoding, on the
 * curve, not of small order, and in the prime-order subgroup (stricter than
 * cry_verify: keys are checked once, when registered). Returns OK or
 * ERR_BAD_SIGNATURE. */
int cry_pubkey_check(const struct pubkey *pk) MUST_CHECK;

/* Seals msg to a box public key: out gets len + CRY_SEAL_OVERHEAD bytes.
 * Returns OK or ERR_BAD_ARGS (invalid public key). */
int cry_seal(uint8_t *out, const uint8_t *msg, size_t len, const struct boxkey *to) MUST_CHECK;
/* Opens a sealed box with k's X25519 key: out gets clen - OVERHEAD bytes.
 * Returns OK or ERR_BAD_SIGNATURE when it does not open. */
int cry_seal_open(const struct cry_keys *k, uint8_t *out, const uint8_t *c, size_t clen) MUST_CHECK;

/* XChaCha20-Poly1305: out gets len + CRY_AEAD_TAG_BYTES bytes. */
void cry_aead_encrypt(uint8_t *out, const uint8_t *msg, size_t len, const uint8_t *ad,
                      size_t ad_len, const uint8_t nonce[CRY_AEAD_NONCE_BYTES],
                      const uint8_t key[CRY_AEAD_KEY_BYTES]);
/* out gets clen - CRY_AEAD_TAG_BYTES bytes. Returns OK or ERR_BAD_SIGNATURE
 * when authentication fails (out is then zeroed). */
int cry_aead_decrypt(uint8_t *out, const uint8_t *c, size_t clen, const uint8_t *ad, size_t ad_len,
                     const uint8_t nonce[CRY_AEAD_NONCE_BYTES],
                     const uint8_t key[CRY_AEAD_KEY_BYTES]) MUST_CHECK;

/* A record's ciphertext (docs/records.md): "MCR1" || 24-byte nonce ||
 * XChaCha20-Poly1305(plaintext) with associated data "medchain.record.v1"
 * || the record id, under the record's 32-byte data key. Binding the id
 * means a ciphertext cannot be passed off as another record's. */
#define CRY_RECORD_OVERHEAD (4 + CRY_AEAD_NONCE_BYTES + CRY_AEAD_TAG_BYTES)
/* out gets len + CRY_RECORD_OVERHEAD bytes; the nonce is random. */
void cry_record_encrypt(uint8_t *out, const uint8_t *plain, size_t len, const struct hash32 *record,
                        const uint8_t key[CRY_AEAD_KEY_BYTES]);
/* out gets clen - CRY_RECORD_OVERHEAD bytes. Returns OK, ERR_MALFORMED (not
 * this format) or ERR_BAD_SIGNATURE (wrong key, record or tampered). */
int cry_record_decrypt(uint8_t *out, const uint8_t *c, size_t clen, const struct hash32 *record,
                       const uint8_t key[CRY_AEAD_KEY_BYTES]) MUST_CHECK;

/* Memory for secrets other than keys (passphrases): guarded pages locked
 * in RAM (sodium_malloc), wiped when freed. NULL on failure. */
void *cry_secret_alloc(size_t len);
/* Wipes and frees; NULL is a no-op. */
void cry_secret_free(void *p);

/* Constant-time comparison; true when equal. */
bool cry_equal(const void *a, const void *b, size_t len);
/* Wipes memory in a way the compiler cannot elide. */
void cry_wipe(void *p, size_t len);

/* Writes k to path as a keystore file (mode 0600, created exclusively
 * unless overwrite; atomic: a reader sees the old file or the new one).
 * passphrase NULL writes an unprotected keystore (for tests, flagged in the
 * file). Blocks: Argon2id takes ~0.5-1.5 s and 256 MiB. Returns OK, ERR_IO,
 * ERR_EXISTS or ERR_NOMEM. */
int cry_keystore_write(const char *path, const struct cry_keys *k, const char *passphrase,
                       bool overwrite) MUST_CHECK;
/* Reads a keystore. passphrase may be NULL for an unprotected one (which
 * ignores any passphrase given); NULL for a protected one is
 * ERR_BAD_PASSPHRASE at once, without running Argon2id. Returns OK, ERR_IO,
 * ERR_MALFORMED (not a keystore, or damaged), ERR_BAD_PASSPHRASE or
 * ERR_NOMEM. Blocks like cry_keystore_write. *out is owned by the caller
 * (cry_keys_destroy); it is NULL on failure. */
int cry_keystore_read(struct cry_keys **out, const char *path, const char *passphrase) MUST_CHECK;
/* Reads only the public part of a keystore (no passphrase needed; the
 * public keys are authenticated only by cry_keystore_read). Returns OK,
 * ERR_IO or ERR_MALFORMED. */
int cry_keystore_read_public(const char *path, struct pubkey *sign_pk,
                             struct boxkey *box_pk) MUST_CHECK;

/* Ed25519 verifications per second on this machine over `threads` threads
 * (clamped to 1..64) for about duration_ms: the baseline benchmarks compare
 * against. Blocks for duration_ms. Returns 0 when it cannot allocate. */
double cry_bench_verify_per_s(int threads, int duration_ms);

/* ---- Key exchange and encrypted streams (the p2p transport) ----
 *
 * A connection between two nodes gets an ephemeral X25519 key pair on each
 * side (cry_kx), crypto_kx's client/server session keys from the two
 * ephemerals, each bound to the handshake transcript by a keyed BLAKE2b, and
 * one XChaCha20-Poly1305 secretstream per direction (cry_stream), which
 * numbers its messages itself: a frame dropped, replayed or reordered does
 * not decrypt. docs/network.md has the handshake these serve. */

#define CRY_KX_PK_BYTES 32
#define CRY_STREAM_HEADER_BYTES 24
#define CRY_STREAM_OVERHEAD 17 /* an encrypted tag byte and a 16-byte MAC */

/* An ephemeral X25519 key pair, in guarded memory. */
struct cry_kx;

/* A fresh random key pair. NULL on allocation failure. */
struct cry_kx *cry_kx_create(void);
/* The key pair of a 32-byte seed (BLAKE2b-256 of the seed is the secret):
 * only for tests and fuzzing, which need handshakes that replay. NULL on
 * allocation failure. */
struct cry_kx *cry_kx_from_seed(const uint8_t seed[CRY_SEED_BYTES]);
/* Wipes and frees. NULL is a no-op. */
void cry_kx_destroy(struct cry_kx *kx);
void cry_kx_pk(const struct cry_kx *kx, struct boxkey *out);

/* One connection's two directions: a sending and a receiving secretstream
 * state, in guarded memory. Not thread-safe: one thread uses it. */
struct cry_stream;

/* Derives the session keys from kx and the peer's ephemeral public key
 * (crypto_kx: the side that dialed is the client), binds each to
 * transcript (key = BLAKE2b-256 keyed by the crypto_kx key over the
 * transcript hash), and starts the sending direction: header gets the 24
 * bytes the peer needs to open it (cry_stream_open). Both sides must pass
 * the same transcript. Returns OK, ERR_BAD_SIGNATURE when the peer's key
 * gives no shared secret (a point of small order), or ERR_NOMEM. *out is
 * the caller's (cry_stream_destroy); NULL on failure. */
int cry_stream_create(struct cry_stream **out, uint8_t header[CRY_STREAM_HEADER_BYTES],
                      const struct cry_kx *kx, const struct boxkey *peer, bool client,
                      const struct hash32 *transcript) MUST_CHECK;
/* Starts the receiving direction with the peer's header. Once only.
 * Returns OK or ERR_BAD_SIGNATURE (libsodium refused the header). */
int cry_stream_open(struct cry_stream *s, const uint8_t header[CRY_STREAM_HEADER_BYTES]) MUST_CHECK;
/* Encrypts the next message: out gets len + CRY_STREAM_OVERHEAD bytes. */
void cry_stream_push(struct cry_stream *s, uint8_t *out, const uint8_t *msg, size_t len);
/* Decrypts the next message: out gets clen - CRY_STREAM_OVERHEAD bytes.
 * Returns OK, or ERR_BAD_SIGNATURE when it is too short, does not
 * authenticate, is out of order or carries a tag other than a plain
 * message (out is then zeroed); after a failure the stream is unusable. The
 * receiving direction must be open. */
int cry_stream_pull(struct cry_stream *s, uint8_t *out, const uint8_t *c, size_t clen) MUST_CHECK;
/* Wipes and frees. NULL is a no-op. */
void cry_stream_destroy(struct cry_stream *s);

#endif
