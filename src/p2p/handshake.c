/*
 * handshake — the authenticated key exchange of one connection, as a state
 * machine over whole messages (docs/network.md has the reasoning):
 *
 *   both sides, at once:  HELLO = network_id, static Ed25519 key, fresh X25519 key
 *   both sides, on HELLO: AUTH  = stream header, Sign(static, label | role |
 *                                 transcript | stream header)
 *
 * where transcript = H_"medchain.p2p.v1"(HELLO_initiator || HELLO_responder)
 * covers both identities, both ephemerals and the network. Each signature
 * binds its signer's identity to this connection's ephemerals and names the
 * other side's identity too, so a signature cannot be replayed on another
 * connection, reflected to its signer (the role byte differs) or claimed by
 * a third party (signed Diffie-Hellman with both identities, as in
 * ISO/IEC 9798-3). The session keys come from the ephemerals alone
 * (forward secrecy) and are bound to the transcript.
 *
 * Everything a peer sends is checked before anything is computed from it:
 * the prefix, the network, that the key is not this node's own and is in the
 * allowed set (for the initiator: is the key it dialed). The ephemeral
 * secret is destroyed as soon as the session keys exist.
 */
#include "p2p/p2p_internal.h"

#include <assert.h>
#include <string.h>

static bool pubkey_eq(const struct pubkey *a, const struct pubkey *b) {
  /* Keys are public: an ordinary comparison is fine. */
  return memcmp(a->b, b->b, sizeof a->b) == 0;
}

int p2p_hs_init(struct p2p_hs *hs, uint8_t hello_out[P2P_HELLO_BYTES],
                const struct p2p_hs_params *prm) {
  assert(hs != NULL && hello_out != NULL && prm != NULL);
  assert(prm->keys != NULL && prm->network_id != NULL && prm->allowed != NULL);
  assert(prm->nallowed <= P2P_PEERS_MAX);
  assert(!prm->initiator || prm->dialed < prm->nallowed);
  memset(hs, 0, sizeof *hs);
  hs->step = P2P_HS_FAILED;
  hs->initiator = prm->initiator;
  hs->keys = prm->keys;
  cry_keys_sign_pk(prm->keys, &hs->self_pk);
  hs->network_id = *prm->network_id;
  hs->allowed = prm->allowed;
  hs->nallowed = prm->nallowed;
  hs->peer = prm->initiator ? prm->dialed : 0;
  hs->kx = prm->kx != NULL ? prm->kx : cry_kx_create();
  if (hs->kx == NULL) {
    return ERR_NOMEM;
  }
  struct p2p_hello h = {.network_id = hs->network_id, .static_pk = hs->self_pk};
  cry_kx_pk(hs->kx, &h.eph_pk);
  p2p_hello_encode(hs->hello_self, &h);
  memcpy(hello_out, hs->hello_self, P2P_HELLO_BYTES);
  hs->step = P2P_HS_WAIT_HELLO;
  return OK;
}

/* The index of key in the allowed set, or -1. The caller has already
 * refused this node's own key, wherever it sits in the set. */
static int hs_find_peer(const struct p2p_hs *hs, const struct pubkey *key) {
  assert(!pubkey_eq(key, &hs->self_pk));
  if (hs->initiator) {
    return pubkey_eq(key, &hs->allowed[hs->peer]) ? hs->peer : -1;
  }
  for (uint16_t i = 0; i < hs->nallowed; i++) {
    if (pubkey_eq(key, &hs->allowed[i])) {
      return i;
    }
  }
  return -1;
}

/* label | role | transcript | stream header: what one side signs. */
static void hs_signed_bytes(uint8_t out[P2P_SIGNED_BYTES], uint8_t role,
                            const struct hash32 *transcript,
                            const uint8_t header[CRY_STREAM_HEADER_BYTES]) {
  memcpy(out, P2P_LABEL, P2P_LABEL_BYTES);
  out[P2P_LABEL_BYTES] = role;
  memcpy(out + P2P_LABEL_BYTES + 1, transcript->b, CRY_HASH_BYTES);
  memcpy(out + P2P_LABEL_BYTES + 1 + CRY_HASH_BYTES, header, CRY_STREAM_HEADER_BYTES);
}

static uint8_t hs_role(bool initiator) {
  return initiator ? P2P_ROLE_INITIATOR : P2P_ROLE_RESPONDER;
}

int p2p_hs_on_hello(struct p2p_hs *hs, uint8_t auth_out[P2P_AUTH_BYTES], const uint8_t *msg,
                    size_t len) {
  assert(hs != NULL && auth_out != NULL);
  assert(hs->step == P2P_HS_WAIT_HELLO && hs->kx != NULL && hs->stream == NULL);
  hs->step = P2P_HS_FAILED;
  struct p2p_hello h;
  int rc = p2p_hello_decode(&h, msg, len);
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&h.network_id, &hs->network_id)) {
    return ERR_WRONG_CHAIN;
  }
  if (pubkey_eq(&h.static_pk, &hs->self_pk)) {
    return ERR_MALFORMED; /* ourselves: a loop in the configuration */
  }
  int peer = hs_find_peer(hs, &h.static_pk);
  if (peer < 0) {
    return ERR_UNKNOWN_SENDER;
  }
  hs->peer = (uint16_t)peer;

  struct cry_hasher th;
  cry_hasher_init(&th, P2P_LABEL);
  cry_hasher_update(&th, hs->initiator ? hs->hello_self : msg, P2P_HELLO_BYTES);
  cry_hasher_update(&th, hs->initiator ? msg : hs->hello_self, P2P_HELLO_BYTES);
  cry_hasher_final(&th, &hs->transcript);

  struct p2p_auth a;
  rc = cry_stream_create(&hs->stream, a.stream_header, hs->kx, &h.eph_pk, hs->initiator,
                         &hs->transcript);
  /* The ephemeral secret has done its work (or cannot): gone now. */
  cry_kx_destroy(hs->kx);
  hs->kx = NULL;
  if (rc != OK) {
    return rc;
  }
  uint8_t signed_bytes[P2P_SIGNED_BYTES];
  hs_signed_bytes(signed_bytes, hs_role(hs->initiator), &hs->transcript, a.stream_header);
  cry_sign(hs->keys, &a.sig, signed_bytes, sizeof signed_bytes);
  p2p_auth_encode(auth_out, &a);
  hs->step = P2P_HS_WAIT_AUTH;
  return OK;
}

int p2p_hs_on_auth(struct p2p_hs *hs, const uint8_t *msg, size_t len) {
  assert(hs != NULL);
  assert(hs->step == P2P_HS_WAIT_AUTH && hs->stream != NULL && hs->peer < hs->nallowed);
  hs->step = P2P_HS_FAILED;
  struct p2p_auth a;
  int rc = p2p_auth_decode(&a, msg, len);
  if (rc != OK) {
    return rc;
  }
  uint8_t signed_bytes[P2P_SIGNED_BYTES];
  hs_signed_bytes(signed_bytes, hs_role(!hs->initiator), &hs->transcript, a.stream_header);
  rc = cry_verify(&a.sig, signed_bytes, sizeof signed_bytes, &hs->allowed[hs->peer]);
  if (rc != OK) {
    return rc;
  }
  rc = cry_stream_open(hs->stream, a.stream_header);
  if (rc != OK) {
    return rc;
  }
  hs->step = P2P_HS_DONE;
  return OK;
}

struct cry_stream *p2p_hs_stream_take(struct p2p_hs *hs) {
  assert(hs != NULL && hs->step == P2P_HS_DONE && hs->stream != NULL);
  struct cry_stream *s = hs->stream;
  hs->stream = NULL;
  return s;
}

void p2p_hs_deinit(struct p2p_hs *hs) {
  assert(hs != NULL);
  cry_kx_destroy(hs->kx);
  cry_stream_destroy(hs->stream);
  hs->kx = NULL;
  hs->stream = NULL;
  hs->step = P2P_HS_FAILED;
}
