/*
 * stream — the keys of one node-to-node connection (docs/network.md).
 *
 * Each side draws an ephemeral X25519 key pair (crypto_kx). crypto_kx turns
 * the shared point q into two 32-byte keys, BLAKE2b-512(q || client_pk ||
 * server_pk) split in halves, so that the client's sending key is the
 * server's receiving key. Each half is then bound to the handshake
 * transcript: key = BLAKE2b-256(key: half, data: transcript hash), so two
 * handshakes that differ in anything both sides signed (identities, network,
 * roles) never share a key, even with the same ephemerals. Each direction is
 * a secretstream: XChaCha20-Poly1305 with a nonce the state advances itself,
 * so a frame that is dropped, replayed or moved fails to decrypt.
 *
 * Everything secret (ephemeral secrets, directional keys, stream states)
 * lives in sodium_malloc memory and intermediate copies on the stack are
 * wiped before return.
 */
#include "crypto/crypto_internal.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

_Static_assert(CRY_KX_PK_BYTES == crypto_kx_PUBLICKEYBYTES, "kx public key size");
_Static_assert(CRY_KX_PK_BYTES == CRY_BOX_PK_BYTES, "a kx key is an X25519 key");
_Static_assert(CRY_SEED_BYTES == crypto_kx_SEEDBYTES, "kx seed size");
_Static_assert(CRY_STREAM_HEADER_BYTES == crypto_secretstream_xchacha20poly1305_HEADERBYTES,
               "secretstream header size");
_Static_assert(CRY_STREAM_OVERHEAD == crypto_secretstream_xchacha20poly1305_ABYTES,
               "secretstream overhead");
_Static_assert(crypto_kx_SESSIONKEYBYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES,
               "a kx session key keys a secretstream");

struct cry_kx {
  uint8_t pk[crypto_kx_PUBLICKEYBYTES];
  uint8_t sk[crypto_kx_SECRETKEYBYTES];
};

struct cry_stream {
  crypto_secretstream_xchacha20poly1305_state tx;
  crypto_secretstream_xchacha20poly1305_state rx;
  /* The receiving key waits here until the peer's header arrives. */
  uint8_t rx_key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  bool rx_open;
};

struct cry_kx *cry_kx_create(void) {
  struct cry_kx *kx = sodium_malloc(sizeof *kx);
  if (kx == NULL) {
    return NULL;
  }
  int rc = crypto_kx_keypair(kx->pk, kx->sk);
  assert(rc == 0);
  (void)rc;
  return kx;
}

struct cry_kx *cry_kx_from_seed(const uint8_t seed[CRY_SEED_BYTES]) {
  assert(seed != NULL);
  struct cry_kx *kx = sodium_malloc(sizeof *kx);
  if (kx == NULL) {
    return NULL;
  }
  int rc = crypto_kx_seed_keypair(kx->pk, kx->sk, seed);
  assert(rc == 0);
  (void)rc;
  return kx;
}

void cry_kx_destroy(struct cry_kx *kx) {
  sodium_free(kx); /* wipes; NULL is a no-op */
}

void cry_kx_pk(const struct cry_kx *kx, struct boxkey *out) {
  assert(kx != NULL && out != NULL);
  memcpy(out->b, kx->pk, sizeof out->b);
}

/* key = BLAKE2b-256(key: half, data: transcript), written over half. */
static void stream_bind(uint8_t half[crypto_kx_SESSIONKEYBYTES], const struct hash32 *transcript) {
  uint8_t bound[crypto_kx_SESSIONKEYBYTES];
  int rc = crypto_generichash(bound, sizeof bound, transcript->b, sizeof transcript->b, half,
                              crypto_kx_SESSIONKEYBYTES);
  assert(rc == 0);
  (void)rc;
  memcpy(half, bound, sizeof bound);
  sodium_memzero(bound, sizeof bound);
}

int cry_stream_create(struct cry_stream **out, uint8_t header[CRY_STREAM_HEADER_BYTES],
                      const struct cry_kx *kx, const struct boxkey *peer, bool client,
                      const struct hash32 *transcript) {
  assert(out != NULL && header != NULL && kx != NULL && peer != NULL && transcript != NULL);
  *out = NULL;
  struct cry_stream *s = sodium_malloc(sizeof *s);
  if (s == NULL) {
    return ERR_NOMEM;
  }
  memset(s, 0, sizeof *s);
  uint8_t tx_key[crypto_kx_SESSIONKEYBYTES];
  /* Fails only when the shared point is the identity: the peer sent a
   * point of small order, and the keys would be public. */
  int rc = client ? crypto_kx_client_session_keys(s->rx_key, tx_key, kx->pk, kx->sk, peer->b)
                  : crypto_kx_server_session_keys(s->rx_key, tx_key, kx->pk, kx->sk, peer->b);
  if (rc != 0) {
    sodium_memzero(tx_key, sizeof tx_key);
    sodium_free(s);
    return ERR_BAD_SIGNATURE;
  }
  stream_bind(s->rx_key, transcript);
  stream_bind(tx_key, transcript);
  rc = crypto_secretstream_xchacha20poly1305_init_push(&s->tx, header, tx_key);
  assert(rc == 0);
  (void)rc;
  sodium_memzero(tx_key, sizeof tx_key);
  *out = s;
  return OK;
}

int cry_stream_open(struct cry_stream *s, const uint8_t header[CRY_STREAM_HEADER_BYTES]) {
  assert(s != NULL && header != NULL);
  assert(!s->rx_open);
  int rc = crypto_secretstream_xchacha20poly1305_init_pull(&s->rx, header, s->rx_key);
  sodium_memzero(s->rx_key, sizeof s->rx_key);
  if (rc != 0) {
    return ERR_BAD_SIGNATURE;
  }
  s->rx_open = true;
  return OK;
}

void cry_stream_push(struct cry_stream *s, uint8_t *out, const uint8_t *msg, size_t len) {
  assert(s != NULL && out != NULL);
  assert(msg != NULL || len == 0);
  assert(len <= crypto_secretstream_xchacha20poly1305_MESSAGEBYTES_MAX);
  unsigned long long clen = 0;
  int rc = crypto_secretstream_xchacha20poly1305_push(
      &s->tx, out, &clen, msg, len, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  assert(rc == 0 && clen == (unsigned long long)len + CRY_STREAM_OVERHEAD);
  (void)rc;
  (void)clen;
}

int cry_stream_pull(struct cry_stream *s, uint8_t *out, const uint8_t *c, size_t clen) {
  assert(s != NULL && c != NULL);
  assert(s->rx_open);
  if (clen < CRY_STREAM_OVERHEAD) {
    return ERR_BAD_SIGNATURE;
  }
  assert(out != NULL || clen == CRY_STREAM_OVERHEAD);
  unsigned long long mlen = 0;
  unsigned char tag = 0xff;
  int rc = crypto_secretstream_xchacha20poly1305_pull(&s->rx, out, &mlen, &tag, c, clen, NULL, 0);
  /* Only plain messages: medchain never sends PUSH, REKEY or FINAL, so one
   * arriving is a forgery or a bug on the other side either way. */
  if (rc != 0 || tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
    if (out != NULL) {
      sodium_memzero(out, clen - CRY_STREAM_OVERHEAD);
    }
    return ERR_BAD_SIGNATURE;
  }
  assert(mlen == (unsigned long long)clen - CRY_STREAM_OVERHEAD);
  (void)mlen;
  return OK;
}

void cry_stream_destroy(struct cry_stream *s) {
  sodium_free(s); /* wipes; NULL is a no-op */
}
