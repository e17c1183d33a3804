/*
 * p2p_internal.h — the transport's pure parts, shared by src/p2p/, its
 * unit test and its fuzz targets: the wire format of the handshake and the
 * frames, the handshake as a state machine over bytes, the receive parser,
 * the token bucket and the backoff; and hooks that let tests tune timings
 * and misbehave on purpose. Nothing here touches a socket, a clock or
 * libuv (which stays inside p2p.c).
 */
#ifndef MEDCHAIN_P2P_INTERNAL_H
#define MEDCHAIN_P2P_INTERNAL_H

#include "p2p/p2p.h"

/* ---- Wire format (docs/network.md) ---- */

/* Every handshake message opens with "MDCP", the version, and its kind. */
#define P2P_MAGIC_0 0x4d /* 'M' */
#define P2P_MAGIC_1 0x44 /* 'D' */
#define P2P_MAGIC_2 0x43 /* 'C' */
#define P2P_MAGIC_3 0x50 /* 'P' */
#define P2P_VERSION 1
#define P2P_KIND_HELLO 1
#define P2P_KIND_AUTH 2
#define P2P_PREFIX_BYTES 6
/* Domain of the transcript hash and prefix of what each side signs. */
#define P2P_LABEL "medchain.p2p.v1"
#define P2P_LABEL_BYTES 15
/* The signer's role byte in what it signs. */
#define P2P_ROLE_INITIATOR 0x49 /* 'I' */
#define P2P_ROLE_RESPONDER 0x52 /* 'R' */

/* HELLO: prefix | network_id 32 | static Ed25519 key 32 | ephemeral X25519
 * key 32. */
#define P2P_HELLO_BYTES (P2P_PREFIX_BYTES + 32 + CRY_SIGN_PK_BYTES + CRY_KX_PK_BYTES)
/* AUTH: prefix | secretstream header 24 | Ed25519 signature 64. */
#define P2P_AUTH_BYTES (P2P_PREFIX_BYTES + CRY_STREAM_HEADER_BYTES + CRY_SIG_BYTES)
/* What AUTH signs: label | role | transcript hash | the stream header. */
#define P2P_SIGNED_BYTES (P2P_LABEL_BYTES + 1 + CRY_HASH_BYTES + CRY_STREAM_HEADER_BYTES)

/* Frames: u32 big-endian ciphertext length, then the ciphertext of
 * (u8 type | payload). The shortest carries a type byte and no payload. */
#define P2P_FRAME_HEADER_BYTES 4
#define P2P_FRAME_MIN (1 + CRY_STREAM_OVERHEAD)
/* The one transport message: type 0, one byte 0. */
#define P2P_CTL_KEEPALIVE 0

struct p2p_hello {
  struct hash32 network_id;
  struct pubkey static_pk;
  struct boxkey eph_pk;
};

struct p2p_auth {
  uint8_t stream_header[CRY_STREAM_HEADER_BYTES];
  struct signature sig;
};

void p2p_hello_encode(uint8_t out[P2P_HELLO_BYTES], const struct p2p_hello *h);
/* Returns OK, or ERR_MALFORMED (length, magic, version or kind). Keys are
 * not checked here: the handshake does that. */
int p2p_hello_decode(struct p2p_hello *out, const uint8_t *buf, size_t len) MUST_CHECK;
void p2p_auth_encode(uint8_t out[P2P_AUTH_BYTES], const struct p2p_auth *a);
int p2p_auth_decode(struct p2p_auth *out, const uint8_t *buf, size_t len) MUST_CHECK;
/* A frame's length prefix. Returns OK, ERR_OVERSIZE (over
 * LIM_P2P_FRAME_MAX) or ERR_MALFORMED (under P2P_FRAME_MIN: no room for a
 * type byte). */
int p2p_frame_len_decode(uint32_t *out, const uint8_t hdr[P2P_FRAME_HEADER_BYTES]) MUST_CHECK;

/* ---- Handshake: a state machine over whole messages ---- */

enum p2p_hs_step { P2P_HS_WAIT_HELLO, P2P_HS_WAIT_AUTH, P2P_HS_DONE, P2P_HS_FAILED };

struct p2p_hs_params {
  const struct cry_keys *keys;
  const struct hash32 *network_id;
  /* The allowed set, indexed like p2p_config.peers; may hold this node's
   * key, which is never accepted as a peer. Borrowed for the handshake. */
  const struct pubkey *allowed;
  uint16_t nallowed;
  bool initiator;
  /* Initiator: the index of the peer dialed; its key must answer. */
  uint16_t dialed;
  /* The ephemeral key pair, taken over (destroyed with the handshake);
   * NULL draws a fresh one. Tests and fuzzers pass fixed ones. */
  struct cry_kx *kx;
};

struct p2p_hs {
  enum p2p_hs_step step;
  bool initiator;
  const struct cry_keys *keys;
  struct pubkey self_pk;
  struct hash32 network_id;
  const struct pubkey *allowed;
  uint16_t nallowed;
  uint16_t peer; /* index into allowed: the dialed one, or the one that said hello */
  struct cry_kx *kx;
  uint8_t hello_self[P2P_HELLO_BYTES];
  struct hash32 transcript;
  struct cry_stream *stream;
};

/* Starts a handshake: hello_out gets this side's HELLO, to send at once
 * (both sides send theirs without waiting). Returns OK or ERR_NOMEM; hs
 * needs p2p_hs_deinit either way. */
int p2p_hs_init(struct p2p_hs *hs, uint8_t hello_out[P2P_HELLO_BYTES],
                const struct p2p_hs_params *prm) MUST_CHECK;
/* The peer's HELLO. On OK, auth_out gets this side's AUTH to send and
 * hs->peer names the peer. Errors: ERR_MALFORMED (bytes, or this node's own
 * key), ERR_WRONG_CHAIN (network id), ERR_UNKNOWN_SENDER (key not allowed,
 * or not the dialed peer's), ERR_BAD_SIGNATURE (ephemeral key of small
 * order), ERR_NOMEM. Any error leaves hs failed. */
int p2p_hs_on_hello(struct p2p_hs *hs, uint8_t auth_out[P2P_AUTH_BYTES], const uint8_t *msg,
                    size_t len) MUST_CHECK;
/* The peer's AUTH. OK means the peer proved its key: the session is ready
 * (p2p_hs_stream_take). Errors: ERR_MALFORMED, ERR_BAD_SIGNATURE. */
int p2p_hs_on_auth(struct p2p_hs *hs, const uint8_t *msg, size_t len) MUST_CHECK;
/* The session's stream, once done; the caller owns it from then on. */
struct cry_stream *p2p_hs_stream_take(struct p2p_hs *hs);
/* Frees what the handshake still holds (keys, an untaken stream). */
void p2p_hs_deinit(struct p2p_hs *hs);

/* Which p2p_drop a handshake or frame error counts as. */
enum p2p_drop p2p_drop_from_err(int err);

/* ---- Receive parser: bytes in, whole units out ---- */

/* A growable buffer; shrinks back after large units so an idle connection
 * holds little. */
struct p2p_buf {
  uint8_t *ptr;
  size_t cap;
};
/* Makes room for need bytes, keeping the first keep: at least
 * P2P_BUF_KEEP, then doubling, but never past limit (need <= limit) when
 * limit is larger. Returns OK or ERR_NOMEM. */
int p2p_buf_reserve(struct p2p_buf *b, size_t need, size_t keep, size_t limit) MUST_CHECK;
/* Frees the buffer when it has grown over P2P_BUF_KEEP. */
void p2p_buf_trim(struct p2p_buf *b);
void p2p_buf_free(struct p2p_buf *b);
#define P2P_BUF_KEEP (64u * 1024u)

struct p2p_rx {
  size_t fixed; /* > 0: the next unit is exactly this long; 0: frames */
  uint8_t hdr[P2P_FRAME_HEADER_BYTES];
  size_t hdr_have;
  size_t unit_len; /* of the unit being read, 0 while reading a frame header */
  size_t have;
  struct p2p_buf body;
};

void p2p_rx_init(struct p2p_rx *rx);
void p2p_rx_deinit(struct p2p_rx *rx);
/* Next unit of exactly len bytes (a handshake message); 0 switches to
 * length-prefixed frames. Only between units. */
void p2p_rx_expect(struct p2p_rx *rx, size_t len);
/* Consumes input from *in (advancing it and shrinking *in_len) until one
 * unit is complete or input runs out. unit->ptr is NULL when more input
 * is needed; otherwise the unit (a handshake message, or a frame's
 * ciphertext without its prefix) is valid until the next call. A frame's
 * length is checked before any of it is buffered, and its buffer grows with
 * the bytes that actually arrive. Returns OK, ERR_OVERSIZE, ERR_MALFORMED
 * (see p2p_frame_len_decode) or ERR_NOMEM; after an error the parser is
 * unusable. */
int p2p_rx_next(struct p2p_rx *rx, struct bytes *unit, const uint8_t **in,
                size_t *in_len) MUST_CHECK;

/* ---- Rates ---- */

/* A token bucket: rate_per_s tokens a second, holding at most burst. */
struct p2p_bucket {
  uint64_t tokens;
  uint64_t burst;
  uint64_t rate_per_s;
  uint64_t last_ms;
};
void p2p_bucket_init(struct p2p_bucket *b, uint64_t rate_per_s, uint64_t burst, uint64_t now_ms);
/* Takes n tokens if there are that many after refilling to now_ms; false
 * (and nothing taken) otherwise. Time going backwards adds nothing. */
bool p2p_bucket_take(struct p2p_bucket *b, uint64_t n, uint64_t now_ms);

/* splitmix64: the jitter of redial delays. Not for anything secret. */
uint64_t p2p_rand_next(uint64_t *state);
/* The delay before the next dial: uniform in [backoff/2, backoff]; then
 * doubles *backoff_ms up to max_ms. */
uint32_t p2p_backoff_next(uint32_t *backoff_ms, uint32_t max_ms, uint64_t *rng);

/* ---- Tuning and test hooks (p2p.c) ---- */

/* Every timing and rate the transport uses. Defaults come from limits.h
 * and p2p.c; tests shrink them. */
struct p2p_tuning {
  uint32_t handshake_ms;
  uint32_t idle_ms;
  uint32_t keepalive_ms;
  uint32_t penalty_ms;
  uint32_t backoff_min_ms;
  uint32_t backoff_max_ms;
  uint32_t flood_frames_per_s;
  uint64_t flood_bytes_per_s;
};
void p2p_tuning_default(struct p2p_tuning *t);
/* Replaces the tuning; before p2p_start only. */
void p2p_tuning_set(struct p2p *p, const struct p2p_tuning *t);
/* Queues len raw bytes for peer, written as they are after whatever is
 * queued before them: frames no honest node sends. Same returns as
 * p2p_send. */
int p2p_test_send_raw(struct p2p *p, uint16_t peer, const uint8_t *buf, size_t len) MUST_CHECK;
/* Holds every outbound write (messages pile up in the queues) until
 * released. */
void p2p_test_hold_writes(struct p2p *p, bool hold);
/* Stops (or resumes) keep-alives: the node looks hung to its peers. */
void p2p_test_mute(struct p2p *p, bool mute);

#endif
