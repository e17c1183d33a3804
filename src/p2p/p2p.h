/*
 * p2p — authenticated, encrypted TCP between validator nodes. Prefix: p2p_.
 * The only module that includes <uv.h>.
 *
 * A node lists the validators it talks to (their Ed25519 keys and
 * addresses); p2p keeps one connection to each of them alive and carries
 * opaque messages: a type byte (1..255) and up to LIM_P2P_PAYLOAD_MAX bytes.
 * What the messages mean (transactions, proposals, votes, block sync) is
 * the caller's business; p2p guarantees that a message handed to on_msg
 * came from the peer whose index it names, unaltered, in the order that
 * peer sent it, on a session no other network's nodes can join.
 *
 * Each connection starts with a handshake (docs/network.md): fresh X25519
 * keys, both sides sign the transcript with their validator keys, then one
 * XChaCha20-Poly1305 stream per direction. The node whose key sorts lower
 * dials; the other accepts. Lost connections are redialed with backoff;
 * a peer that misbehaves (floods, sends frames that do not decrypt, or is
 * punished by the caller) is disconnected and ignored for a penalty period.
 *
 * Threads: p2p runs its own thread (a libuv loop). on_msg and on_peer run
 * on it, one at a time; they must be short, may call p2p_send,
 * p2p_broadcast, p2p_punish, p2p_stats and p2p_peer_connected, and must not
 * call p2p_stop or p2p_destroy. Those functions are thread-safe; create,
 * start, stop and destroy belong to the owner's thread.
 *
 * Lifecycle: p2p_create (binds the listener) → p2p_start → p2p_stop →
 * p2p_destroy. A stopped handle cannot start again.
 */
#ifndef MEDCHAIN_P2P_H
#define MEDCHAIN_P2P_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "limits/limits.h"

/* Peers one node knows: the validator set, which may include the node. */
#define P2P_PEERS_MAX LIM_VALIDATORS_MAX
/* Host strings: an IPv4 or IPv6 literal, or for peers a DNS name. */
#define P2P_HOST_MAX 64
/* Message type 0 belongs to the transport (keep-alives) and never reaches
 * on_msg; callers use 1..255. */
#define P2P_TYPE_TRANSPORT 0

struct p2p;

/* One allowed peer. Index i into p2p_config.peers names it everywhere. */
struct p2p_peer_cfg {
  struct pubkey pk;        /* its Ed25519 validator key */
  char host[P2P_HOST_MAX]; /* NUL-terminated */
  uint16_t port;           /* ignored for this node's own entry */
};

/* A message from peer: type 1..255, len bytes at buf, valid only during the
 * call. */
typedef void (*p2p_msg_fn)(void *ctx, uint16_t peer, uint8_t type, const uint8_t *buf, size_t len);
/* peer's session came up (true) or went down (false). Each up is followed
 * by exactly one down, unless p2p_stop comes first. */
typedef void (*p2p_peer_fn)(void *ctx, uint16_t peer, bool up);

struct p2p_config {
  /* This node's validator key; borrowed, must outlive the handle. */
  const struct cry_keys *keys;
  /* What separates chains, e.g. the genesis hash: a peer with another
   * network id fails the handshake. */
  struct hash32 network_id;
  /* Where to listen: an IP literal (no DNS), port 0 for an ephemeral port
   * (p2p_listen_port tells which). */
  char listen_host[P2P_HOST_MAX];
  uint16_t listen_port;
  /* The allowed set. This node's own key may appear (its entry is
   * skipped); keys must be distinct. */
  uint16_t npeers;
  struct p2p_peer_cfg peers[P2P_PEERS_MAX];
  /* Called on the p2p thread; either may be NULL. */
  p2p_msg_fn on_msg;
  p2p_peer_fn on_peer;
  void *ctx;
  /* Per-peer bound on outbound bytes queued and not yet written; 0 means
   * LIM_P2P_QUEUE_BYTES_DEFAULT, at most LIM_P2P_QUEUE_BYTES_MAX. */
  uint32_t queue_bytes_max;
};

/* Why connections were dropped or messages refused, counted in
 * p2p_stats.dropped. The second column is the stable label for /metrics.
 * Append only. */
#define P2P_DROP_TABLE(X)                                                                          \
  X(P2P_DROP_DISCONNECTED, "disconnected")           /* closed by the peer or the network */       \
  X(P2P_DROP_DIAL_FAILED, "dial_failed")             /* could not connect or resolve */            \
  X(P2P_DROP_HANDSHAKE_FAILED, "handshake_failed")   /* malformed, bad signature, self */          \
  X(P2P_DROP_HANDSHAKE_TIMEOUT, "handshake_timeout") /* not done in LIM_P2P_HANDSHAKE_MS */        \
  X(P2P_DROP_UNKNOWN_PEER, "unknown_peer")           /* key outside the allowed set */             \
  X(P2P_DROP_WRONG_NETWORK, "wrong_network")         /* another network id */                      \
  X(P2P_DROP_DUPLICATE, "duplicate")                 /* a second session with one peer */          \
  X(P2P_DROP_PENALIZED, "penalized")                 /* peer is serving a penalty */               \
  X(P2P_DROP_PENDING_FULL, "pending_full")           /* evicted: too many handshakes */            \
  X(P2P_DROP_OVERSIZE_FRAME, "oversize_frame")       /* length over LIM_P2P_FRAME_MAX */           \
  X(P2P_DROP_BAD_FRAME, "bad_frame")                 /* empty, undecryptable, bad control */       \
  X(P2P_DROP_FLOOD, "flood")                         /* over the inbound rate bounds */            \
  X(P2P_DROP_IDLE, "idle_timeout")                   /* silent for LIM_P2P_IDLE_MS */              \
  X(P2P_DROP_PUNISHED, "punished")                   /* p2p_punish */                              \
  X(P2P_DROP_QUEUE_FULL, "queue_full")               /* p2p_send refused: back-pressure */         \
  X(P2P_DROP_NOMEM, "out_of_memory")                 /* a connection could not allocate */

enum p2p_drop {
#define P2P_DROP_ENUM_(sym, label) sym,
  P2P_DROP_TABLE(P2P_DROP_ENUM_)
#undef P2P_DROP_ENUM_
      P2P_DROP_COUNT_
};

/* Distinct p2p_punish reasons counted one by one; more fold into "other". */
#define P2P_PUNISH_REASONS_MAX 8

struct p2p_stats {
  uint32_t peers_connected;
  uint64_t sessions;   /* handshakes completed */
  uint64_t frames_in;  /* frames received and decrypted, keep-alives included */
  uint64_t frames_out; /* frames written */
  uint64_t bytes_in;   /* wire bytes of those frames */
  uint64_t bytes_out;
  uint64_t dropped[P2P_DROP_COUNT_];
  /* p2p_punish calls by reason (static strings, "other" when the table is
   * full), in the order first seen. */
  uint32_t npunish;
  struct p2p_punish_count {
    const char *reason;
    uint64_t count;
  } punish[P2P_PUNISH_REASONS_MAX];
};

/* Checks cfg, copies it, and binds and listens on listen_host:listen_port.
 * Peers are not dialed until p2p_start. Returns OK, ERR_CONFIG (no keys,
 * too many or duplicate peers, a host that is not NUL-terminated, a listen
 * host that is not an IP literal, a queue bound over the cap), ERR_IO (the
 * address cannot be bound) or ERR_NOMEM. *out is the caller's
 * (p2p_destroy); NULL on failure. */
int p2p_create(struct p2p **out, const struct p2p_config *cfg) MUST_CHECK;
/* Starts the p2p thread, which accepts connections and dials the peers
 * this node dials. Returns OK or ERR_INTERNAL (no thread). Once only. */
int p2p_start(struct p2p *p) MUST_CHECK;
/* Closes every connection and the listener and joins the thread; no
 * callback runs once it returns (none for the sessions it closes). Blocks
 * until the loop has wound down (at most a DNS lookup in flight).
 * Idempotent; also fine on a handle never started. */
void p2p_stop(struct p2p *p);
/* Stops if needed and frees. NULL is a no-op. */
void p2p_destroy(struct p2p *p);

/* The port the listener is bound to (the ephemeral one when the config
 * said 0). */
uint16_t p2p_listen_port(const struct p2p *p);

/* Queues a message of type 1..255 for peer (an index into cfg.peers, not
 * this node's own) and returns at once: buf is copied, nothing blocks on the
 * network. Returns OK (queued: it is written unless the session drops
 * first), ERR_UNAVAILABLE (no session with that peer, or stopping),
 * ERR_LIMIT (the peer's outbound queue is at its bound: the caller drops the
 * message or tries later; counted as queue_full), ERR_OVERSIZE (len over
 * LIM_P2P_PAYLOAD_MAX) or ERR_NOMEM. Messages queued for a session that
 * drops are discarded: the caller's protocol must tolerate loss across
 * reconnections. */
int p2p_send(struct p2p *p, uint16_t peer, uint8_t type, const uint8_t *buf, size_t len) MUST_CHECK;
/* p2p_send to every peer with a session, sharing one copy of buf. Returns
 * how many accepted it. */
uint32_t p2p_broadcast(struct p2p *p, uint8_t type, const uint8_t *buf, size_t len);

/* Disconnects peer for misbehaving at the message layer (undecodable or
 * badly signed messages) and refuses it for a penalty period (30 s): no
 * dialing, inbound sessions refused. reason is a short static label
 * ("bad_vote"), counted in p2p_stats.punish. Asynchronous: takes effect on
 * the p2p thread shortly after; messages already received may still be
 * delivered. Does nothing once stopping. */
void p2p_punish(struct p2p *p, uint16_t peer, const char *reason);

/* A snapshot of the counters. */
void p2p_stats(struct p2p *p, struct p2p_stats *out);
/* The stable label of a drop reason ("oversize_frame"); "unknown" outside
 * the table. Static. */
const char *p2p_drop_name(int reason);
/* Whether peer has a session now (p2p_send would not say UNAVAILABLE). */
bool p2p_peer_connected(struct p2p *p, uint16_t peer);

#endif
