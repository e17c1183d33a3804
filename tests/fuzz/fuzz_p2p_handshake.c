/*
 * libFuzzer target: one side of the p2p handshake (docs/network.md) fed the
 * other side's HELLO and AUTH from the input. The other side is also run
 * honestly, from fixed keys and ephemerals, so the input can either replace
 * its messages (raw mode) or flip bits in them (xor mode).
 *
 * Input: byte 0 bit 0 = this side dials (initiator), bit 1 = xor mode; then
 * the HELLO (102 bytes) and the AUTH (94 bytes), either as they are (raw:
 * shorter inputs give shorter messages) or as masks over the honest ones
 * (xor: missing bytes are zero).
 *
 * The property: the handshake completes exactly when both messages are the
 * honest peer's, byte for byte; nothing else can carry a valid signature
 * over this side's fresh transcript. Completing on anything else would be a
 * forgery accepted, and failing on the honest messages a broken handshake.
 * When it completes, one frame must cross the new session each way. Any
 * HELLO that decodes must encode back to the same bytes.
 */
#include "p2p/p2p_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cry_keys *k_self, *k_peer, *k_other;
static struct pubkey allowed[3]; /* self, the peer, a bystander */

static void setup_once(void) {
  if (k_self != NULL) {
    return;
  }
  if (cry_init() != OK) {
    abort();
  }
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, 1, sizeof seed);
  k_self = cry_keys_from_seed(seed);
  memset(seed, 2, sizeof seed);
  k_peer = cry_keys_from_seed(seed);
  memset(seed, 3, sizeof seed);
  k_other = cry_keys_from_seed(seed);
  if (k_self == NULL || k_peer == NULL || k_other == NULL) {
    abort();
  }
  cry_keys_sign_pk(k_self, &allowed[0]);
  cry_keys_sign_pk(k_peer, &allowed[1]);
  cry_keys_sign_pk(k_other, &allowed[2]);
}

static struct cry_kx *kx_fixed(uint8_t b) {
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, b, sizeof seed);
  struct cry_kx *kx = cry_kx_from_seed(seed);
  if (kx == NULL) {
    abort();
  }
  return kx;
}

/* Builds the message this side receives: the honest one, replaced or
 * masked by input bytes. Returns its length. */
static size_t compose(uint8_t *out, const uint8_t *honest, size_t len, const uint8_t **in,
                      size_t *in_len, bool xor_mode) {
  size_t n = *in_len < len ? *in_len : len;
  if (xor_mode) {
    memcpy(out, honest, len);
    for (size_t i = 0; i < n; i++) {
      out[i] ^= (*in)[i];
    }
    n = len;
  } else {
    memcpy(out, *in, n);
  }
  *in += *in_len < len ? *in_len : len;
  *in_len -= *in_len < len ? *in_len : len;
  return n;
}

static void check_session(struct p2p_hs *self, struct p2p_hs *peer, const uint8_t *auth_self) {
  if (p2p_hs_on_auth(peer, auth_self, P2P_AUTH_BYTES) != OK) {
    abort();
  }
  struct cry_stream *a = p2p_hs_stream_take(self);
  struct cry_stream *b = p2p_hs_stream_take(peer);
  uint8_t msg[3] = {1, 2, 3}, c[3 + CRY_STREAM_OVERHEAD], out[3];
  cry_stream_push(a, c, msg, sizeof msg);
  if (cry_stream_pull(b, out, c, sizeof c) != OK || memcmp(out, msg, sizeof msg) != 0) {
    abort();
  }
  cry_stream_push(b, c, msg, sizeof msg);
  if (cry_stream_pull(a, out, c, sizeof c) != OK || memcmp(out, msg, sizeof msg) != 0) {
    abort();
  }
  cry_stream_destroy(a);
  cry_stream_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  setup_once();
  bool initiator = (data[0] & 1) != 0;
  bool xor_mode = (data[0] & 2) != 0;
  data++;
  size--;
  struct hash32 net;
  memset(net.b, 0x4e, sizeof net.b);
  struct p2p_hs self, peer;
  struct p2p_hs_params ps = {.keys = k_self,
                             .network_id = &net,
                             .allowed = allowed,
                             .nallowed = 3,
                             .initiator = initiator,
                             .dialed = 1,
                             .kx = kx_fixed(0x11)};
  struct p2p_hs_params pp = {.keys = k_peer,
                             .network_id = &net,
                             .allowed = allowed,
                             .nallowed = 3,
                             .initiator = !initiator,
                             .dialed = 0,
                             .kx = kx_fixed(0x22)};
  uint8_t hello_self[P2P_HELLO_BYTES], hello_peer[P2P_HELLO_BYTES];
  uint8_t auth_self[P2P_AUTH_BYTES], auth_peer[P2P_AUTH_BYTES];
  if (p2p_hs_init(&self, hello_self, &ps) != OK || p2p_hs_init(&peer, hello_peer, &pp) != OK ||
      p2p_hs_on_hello(&peer, auth_peer, hello_self, sizeof hello_self) != OK) {
    abort();
  }

  uint8_t hello_in[P2P_HELLO_BYTES], auth_in[P2P_AUTH_BYTES];
  size_t hello_len = compose(hello_in, hello_peer, sizeof hello_in, &data, &size, xor_mode);
  size_t auth_len = compose(auth_in, auth_peer, sizeof auth_in, &data, &size, xor_mode);
  bool honest = hello_len == P2P_HELLO_BYTES && auth_len == P2P_AUTH_BYTES &&
                memcmp(hello_in, hello_peer, P2P_HELLO_BYTES) == 0 &&
                memcmp(auth_in, auth_peer, P2P_AUTH_BYTES) == 0;

  struct p2p_hello h;
  if (p2p_hello_decode(&h, hello_in, hello_len) == OK) {
    uint8_t again[P2P_HELLO_BYTES];
    p2p_hello_encode(again, &h);
    if (memcmp(again, hello_in, P2P_HELLO_BYTES) != 0) {
      abort();
    }
  }
  int rc = p2p_hs_on_hello(&self, auth_self, hello_in, hello_len);
  if (rc == OK) {
    if (self.peer != 1) {
      abort(); /* only the peer's key can get this far with this set */
    }
    rc = p2p_hs_on_auth(&self, auth_in, auth_len);
  }
  if ((rc == OK) != honest) {
    abort();
  }
  if (rc == OK) {
    check_session(&self, &peer, auth_self);
  }
  p2p_hs_deinit(&self);
  p2p_hs_deinit(&peer);
  return 0;
}
