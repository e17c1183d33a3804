/*
 * p2p — connections between validators on a libuv loop that runs on its
 * own thread. The handshake and the byte parsing are pure (handshake.c,
 * wire.c); this file owns sockets, time and threads.
 *
 * Ownership. The loop thread alone touches connections, the handshake, the
 * streams and every libuv handle. Other threads reach the loop only through
 * p->mu: they append to a peer's outbound queue (p2p_send) or leave a
 * punishment, then wake the loop with uv_async_send, which is called with
 * the mutex held so that it can never race the async handle's close. The
 * loop never calls back into the caller with the mutex held.
 *
 * Sessions. Per allowed peer there is at most one session (peer->conn)
 * and at most one outbound connection in progress (peer->dialing). The node
 * whose key sorts lower dials, with exponential backoff and jitter; the
 * other accepts. When a second session with a peer completes, both ends
 * keep the same one: the one in the dialing direction that the key order
 * prescribes, and between two alike the newer (an old one the dialer
 * replaced is dead on its side).
 *
 * Back-pressure. A peer's queue counts the bytes and messages queued plus
 * those taken into the write in flight, until libuv reports them written;
 * p2p_send refuses past the bound. One batch of frames is in flight per
 * session, so what the kernel cannot take stays in the bounded queue.
 * Broadcasts share one reference-counted copy of the message.
 *
 * Lifetimes. A connection is freed when every libuv callback it awaits has
 * come (its handle's close, a DNS lookup): refs counts them. libuv runs the
 * callbacks of pending writes and connects (cancelled) before a handle's
 * close callback, so those may still read the connection. Shutdown closes
 * every handle from the loop thread; uv_run then returns and the thread
 * exits.
 */
#include "p2p/p2p_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Housekeeping period: deadlines, keep-alives, redials. */
#define P2P_TICK_MS 20u
#define P2P_PENALTY_MS 30000u
#define P2P_BACKOFF_MIN_MS 100u
#define P2P_BACKOFF_MAX_MS 5000u
/* One read from the kernel. */
#define P2P_READ_BYTES (64u * 1024u)
/* One write: up to this many frames, or about this many bytes. */
#define P2P_BATCH_FRAMES 256u
#define P2P_BATCH_BYTES (256u * 1024u)
#define P2P_TCP_KEEPALIVE_S 15u
#define P2P_LISTEN_BACKLOG 128

/* A queued message: the type byte and the payload (or, from the test hook,
 * raw bytes). Shared by every queue that holds it. */
struct p2p_msg {
  atomic_uint refs;
  bool raw;
  size_t len;
  uint8_t data[];
};

/* A FIFO of messages, growing by doubling up to LIM_P2P_QUEUE_FRAMES_MAX. */
struct p2p_ring {
  struct p2p_msg **items;
  uint32_t cap;
  uint32_t head;
  uint32_t count;
};

struct p2p_peer {
  struct p2p_peer_cfg cfg;
  bool self;    /* this node's own entry */
  bool dial;    /* this node dials it: our key sorts lower */
  bool numeric; /* cfg.host is an IP literal, parsed into addr */
  struct sockaddr_storage addr;
  /* Loop thread only. */
  struct p2p_conn *conn;
  struct p2p_conn *dialing;
  uint64_t next_dial_ms;
  uint64_t penalty_until_ms;
  uint32_t backoff_ms;
  /* Under p->mu. */
  bool up;
  struct p2p_ring queue;
  uint64_t queued_bytes;
  uint32_t queued_frames;
  const char *punish;
};

enum conn_state { CONN_RESOLVING, CONN_CONNECTING, CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSING };

struct p2p_conn {
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_getaddrinfo_t gai;
  struct p2p *p;
  struct p2p_conn *prev, *next;
  enum conn_state state;
  bool inbound;
  bool pending;   /* counted in p->pending_inbound */
  bool writing;   /* a batch of frames is in flight */
  bool keepalive; /* one is due */
  int refs;
  int32_t peer; /* -1 until known */
  uint64_t seq;
  uint64_t deadline_ms;
  uint64_t last_rx_ms;
  uint64_t last_tx_ms;
  struct p2p_hs hs;
  struct cry_stream *stream;
  struct p2p_rx rx;
  struct p2p_buf plain;
  struct p2p_bucket flood_frames;
  struct p2p_bucket flood_bytes;
  uint64_t inflight_bytes;
  uint32_t inflight_frames;
  uint8_t rbuf[P2P_READ_BYTES];
};

struct p2p_write {
  uv_write_t req; /* first: the request is the write */
  struct p2p_conn *conn;
  bool batch;
  uint64_t acct_bytes;
  uint32_t acct_frames;
  uint32_t frames;
  size_t len;
  uint8_t buf[];
};

struct p2p {
  struct p2p_config cfg;
  struct p2p_tuning tun;
  uint32_t queue_bytes_max;
  struct pubkey self_pk;
  struct pubkey allowed[P2P_PEERS_MAX];
  struct p2p_peer peers[P2P_PEERS_MAX];
  uint16_t port;

  uv_loop_t loop;
  uv_tcp_t listener;
  uv_tcp_t reject; /* accepts and closes a connection there is no memory for */
  uv_timer_t tick;
  uv_async_t wake;
  bool loop_ready, listener_open, tick_open, wake_open, reject_busy;
  pthread_t thread;
  bool started, joined;
  /* Loop thread only. */
  bool closing; /* winding down: no callbacks, no dials */
  struct p2p_conn *conns;
  uint32_t pending_inbound;
  uint64_t seq;
  uint64_t rng;

  pthread_mutex_t mu;
  /* Under mu. */
  bool stop_requested;
  bool wake_closed;
  bool hold_writes;
  bool mute;
  struct p2p_stats stats;
};

static const char *const drop_names[P2P_DROP_COUNT_] = {
#define P2P_DROP_NAME_(sym, label) [sym] = label,
    P2P_DROP_TABLE(P2P_DROP_NAME_)
#undef P2P_DROP_NAME_
};

const char *p2p_drop_name(int reason) {
  if (reason < 0 || reason >= P2P_DROP_COUNT_) {
    return "unknown";
  }
  return drop_names[reason];
}

static void lock(struct p2p *p) {
  int rc = pthread_mutex_lock(&p->mu);
  assert(rc == 0);
  (void)rc;
}

static void unlock(struct p2p *p) {
  int rc = pthread_mutex_unlock(&p->mu);
  assert(rc == 0);
  (void)rc;
}

/* Wakes the loop. Under mu, so the async handle cannot be closing. */
static void wake_locked(struct p2p *p) {
  if (!p->wake_closed) {
    int rc = uv_async_send(&p->wake);
    assert(rc == 0);
    (void)rc;
  }
}

static uint64_t now_ms(struct p2p *p) {
  return uv_now(&p->loop);
}

static void count_drop(struct p2p *p, enum p2p_drop reason) {
  assert(reason < P2P_DROP_COUNT_);
  lock(p);
  p->stats.dropped[reason]++;
  unlock(p);
}

/* Drops that say the peer misbehaved after proving who it is. */
static bool drop_is_penalty(int reason) {
  return reason == P2P_DROP_OVERSIZE_FRAME || reason == P2P_DROP_BAD_FRAME ||
         reason == P2P_DROP_FLOOD || reason == P2P_DROP_PUNISHED;
}

/* ---- Messages and queues ---- */

static struct p2p_msg *msg_new(bool raw, uint8_t type, const uint8_t *buf, size_t len) {
  size_t total = raw ? len : len + 1;
  struct p2p_msg *m = malloc(sizeof *m + total);
  if (m == NULL) {
    return NULL;
  }
  atomic_init(&m->refs, 1);
  m->raw = raw;
  m->len = total;
  uint8_t *dst = m->data;
  if (!raw) {
    *dst++ = type;
  }
  if (len > 0) {
    memcpy(dst, buf, len);
  }
  return m;
}

static void msg_release(struct p2p_msg *m) {
  unsigned prev = atomic_fetch_sub(&m->refs, 1);
  assert(prev > 0);
  if (prev == 1) {
    free(m);
  }
}

/* Bytes the message takes on the wire. */
static size_t msg_wire_len(const struct p2p_msg *m) {
  return m->raw ? m->len : P2P_FRAME_HEADER_BYTES + m->len + CRY_STREAM_OVERHEAD;
}

static int ring_push(struct p2p_ring *r, struct p2p_msg *m) {
  if (r->count == r->cap) {
    uint32_t cap = r->cap == 0 ? 64 : r->cap * 2;
    assert(cap <= LIM_P2P_QUEUE_FRAMES_MAX);
    struct p2p_msg **items = malloc(cap * sizeof *items);
    if (items == NULL) {
      return ERR_NOMEM;
    }
    for (uint32_t i = 0; i < r->count; i++) {
      items[i] = r->items[(r->head + i) % r->cap];
    }
    free(r->items);
    r->items = items;
    r->cap = cap;
    r->head = 0;
  }
  r->items[(r->head + r->count) % r->cap] = m;
  r->count++;
  return OK;
}

static struct p2p_msg *ring_pop(struct p2p_ring *r) {
  assert(r->count > 0);
  struct p2p_msg *m = r->items[r->head];
  r->head = (r->head + 1) % r->cap;
  r->count--;
  return m;
}

/* Discards what a peer has queued; the session it was for is gone. */
static void queue_flush_locked(struct p2p_peer *peer) {
  while (peer->queue.count > 0) {
    struct p2p_msg *m = ring_pop(&peer->queue);
    assert(peer->queued_bytes >= m->len && peer->queued_frames > 0);
    peer->queued_bytes -= m->len;
    peer->queued_frames--;
    msg_release(m);
  }
  assert(peer->queued_bytes == 0 && peer->queued_frames == 0);
}

static int enqueue_locked(struct p2p *p, uint16_t idx, struct p2p_msg *m) {
  struct p2p_peer *peer = &p->peers[idx];
  if (p->stop_requested || !peer->up) {
    return ERR_UNAVAILABLE;
  }
  if (peer->queued_bytes + m->len > p->queue_bytes_max ||
      peer->queued_frames >= LIM_P2P_QUEUE_FRAMES_MAX) {
    p->stats.dropped[P2P_DROP_QUEUE_FULL]++;
    return ERR_LIMIT;
  }
  if (ring_push(&peer->queue, m) != OK) {
    return ERR_NOMEM;
  }
  atomic_fetch_add(&m->refs, 1);
  peer->queued_bytes += m->len;
  peer->queued_frames++;
  wake_locked(p);
  return OK;
}

/* ---- Connections: lifetime ---- */

static void conn_drain(struct p2p_conn *c);
static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static struct p2p_conn *conn_new(struct p2p *p, bool inbound, int32_t peer) {
  struct p2p_conn *c = calloc(1, sizeof *c);
  if (c == NULL) {
    return NULL;
  }
  c->p = p;
  c->inbound = inbound;
  c->peer = peer;
  c->seq = ++p->seq;
  c->deadline_ms = now_ms(p) + p->tun.handshake_ms;
  c->state = CONN_CONNECTING;
  p2p_rx_init(&c->rx);
  /* Without flags uv_tcp_init makes no socket and cannot fail. */
  int rc = uv_tcp_init(&p->loop, &c->tcp);
  assert(rc == 0);
  (void)rc;
  c->tcp.data = c;
  c->refs = 1;
  c->next = p->conns;
  if (p->conns != NULL) {
    p->conns->prev = c;
  }
  p->conns = c;
  return c;
}

static void conn_release(struct p2p_conn *c) {
  assert(c->refs > 0);
  if (--c->refs > 0) {
    return;
  }
  assert(c->state == CONN_CLOSING);
  struct p2p *p = c->p;
  if (c->prev != NULL) {
    c->prev->next = c->next;
  } else {
    assert(p->conns == c);
    p->conns = c->next;
  }
  if (c->next != NULL) {
    c->next->prev = c->prev;
  }
  assert(c->inflight_bytes == 0 && c->inflight_frames == 0);
  p2p_hs_deinit(&c->hs);
  cry_stream_destroy(c->stream);
  p2p_rx_deinit(&c->rx);
  p2p_buf_free(&c->plain);
  free(c);
}

static void conn_on_closed(uv_handle_t *h) {
  conn_release(h->data);
}

static void redial_schedule(struct p2p *p, struct p2p_peer *peer) {
  uint32_t delay = p2p_backoff_next(&peer->backoff_ms, p->tun.backoff_max_ms, &p->rng);
  peer->next_dial_ms = now_ms(p) + delay;
  if (peer->next_dial_ms < peer->penalty_until_ms) {
    peer->next_dial_ms = peer->penalty_until_ms;
  }
}

/* The peer's side of a close: the write accounting, the session, the
 * penalty, the redial. */
static void conn_detach(struct p2p_conn *c, enum conn_state was, int reason) {
  struct p2p *p = c->p;
  uint16_t idx = (uint16_t)c->peer;
  struct p2p_peer *peer = &p->peers[idx];
  bool ours = false;
  if (peer->dialing == c) {
    peer->dialing = NULL;
    ours = true;
  }
  if (was == CONN_OPEN) {
    lock(p);
    assert(peer->queued_bytes >= c->inflight_bytes && peer->queued_frames >= c->inflight_frames);
    peer->queued_bytes -= c->inflight_bytes;
    peer->queued_frames -= c->inflight_frames;
    c->inflight_bytes = 0;
    c->inflight_frames = 0;
    bool lost = peer->conn == c;
    if (lost) {
      peer->up = false;
      queue_flush_locked(peer);
    }
    unlock(p);
    if (lost) {
      peer->conn = NULL;
      ours = true;
      if (!p->closing && p->cfg.on_peer != NULL) {
        p->cfg.on_peer(p->cfg.ctx, idx, false);
      }
    }
  }
  if (drop_is_penalty(reason)) {
    peer->penalty_until_ms = now_ms(p) + p->tun.penalty_ms;
  }
  if (ours && peer->dial && !p->closing) {
    redial_schedule(p, peer);
  }
}

/* Closes c, counting reason (a p2p_drop, or -1 for none). Idempotent. */
static void conn_close(struct p2p_conn *c, int reason) {
  if (c->state == CONN_CLOSING) {
    return;
  }
  struct p2p *p = c->p;
  enum conn_state was = c->state;
  c->state = CONN_CLOSING;
  if (reason >= 0) {
    count_drop(p, (enum p2p_drop)reason);
  }
  if (c->pending) {
    assert(p->pending_inbound > 0);
    p->pending_inbound--;
    c->pending = false;
  }
  if (was == CONN_RESOLVING) {
    /* The lookup's callback comes either way, cancelled or not. */
    (void)uv_cancel((uv_req_t *)&c->gai);
  }
  if (c->peer >= 0) {
    conn_detach(c, was, reason);
  }
  uv_close((uv_handle_t *)&c->tcp, conn_on_closed);
}

/* ---- Connections: writing ---- */

static void conn_on_written(uv_write_t *req, int status) {
  struct p2p_write *w = (struct p2p_write *)(void *)req;
  struct p2p_conn *c = w->conn;
  if (c->state != CONN_CLOSING) {
    if (status < 0) {
      conn_close(c, P2P_DROP_DISCONNECTED);
    } else if (w->batch) {
      struct p2p *p = c->p;
      struct p2p_peer *peer = &p->peers[c->peer];
      assert(c->writing && c->inflight_bytes == w->acct_bytes);
      lock(p);
      assert(peer->queued_bytes >= w->acct_bytes && peer->queued_frames >= w->acct_frames);
      peer->queued_bytes -= w->acct_bytes;
      peer->queued_frames -= w->acct_frames;
      p->stats.frames_out += w->frames;
      p->stats.bytes_out += w->len;
      unlock(p);
      c->inflight_bytes = 0;
      c->inflight_frames = 0;
      c->writing = false;
      conn_drain(c);
    }
  }
  free(w);
}

static struct p2p_write *write_new(struct p2p_conn *c, size_t len) {
  struct p2p_write *w = malloc(sizeof *w + len);
  if (w != NULL) {
    memset(w, 0, sizeof *w);
    w->conn = c;
    w->len = len;
  }
  return w;
}

/* Hands w to libuv; on failure closes c. Takes w either way. */
static void write_submit(struct p2p_conn *c, struct p2p_write *w) {
  uv_buf_t b = uv_buf_init((char *)w->buf, (unsigned)w->len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_on_written);
  if (rc != 0) {
    if (w->batch) {
      c->writing = false;
    }
    free(w);
    conn_close(c, P2P_DROP_DISCONNECTED);
  }
}

/* Writes a handshake message. */
static void conn_write_bytes(struct p2p_conn *c, const uint8_t *buf, size_t len) {
  struct p2p_write *w = write_new(c, len);
  if (w == NULL) {
    conn_close(c, P2P_DROP_NOMEM);
    return;
  }
  memcpy(w->buf, buf, len);
  write_submit(c, w);
}

/* One frame at out: the length, then the ciphertext of msg. */
static size_t frame_put(struct p2p_conn *c, uint8_t *out, const uint8_t *msg, size_t len) {
  size_t clen = len + CRY_STREAM_OVERHEAD;
  assert(clen >= P2P_FRAME_MIN && clen <= LIM_P2P_FRAME_MAX);
  base_put_u32be(out, (uint32_t)clen);
  cry_stream_push(c->stream, out + P2P_FRAME_HEADER_BYTES, msg, len);
  return P2P_FRAME_HEADER_BYTES + clen;
}

/* Takes up to one batch from the peer's queue into c's in-flight count. */
static uint32_t conn_take_batch(struct p2p_conn *c, struct p2p_msg **batch, size_t *wire) {
  struct p2p *p = c->p;
  struct p2p_peer *peer = &p->peers[c->peer];
  uint32_t n = 0;
  lock(p);
  if (!p->hold_writes) {
    while (n < P2P_BATCH_FRAMES && peer->queue.count > 0 && (n == 0 || *wire < P2P_BATCH_BYTES)) {
      struct p2p_msg *m = ring_pop(&peer->queue);
      batch[n++] = m;
      *wire += msg_wire_len(m);
      c->inflight_bytes += m->len;
      c->inflight_frames++;
    }
  }
  unlock(p);
  return n;
}

/* Starts the next write of c's session if none is in flight: a due
 * keep-alive and a batch from the queue, encrypted in order. */
static void conn_drain(struct p2p_conn *c) {
  if (c->state != CONN_OPEN || c->writing) {
    return;
  }
  static const uint8_t keepalive[2] = {P2P_TYPE_TRANSPORT, P2P_CTL_KEEPALIVE};
  struct p2p_msg *batch[P2P_BATCH_FRAMES];
  size_t wire = c->keepalive ? P2P_FRAME_HEADER_BYTES + sizeof keepalive + CRY_STREAM_OVERHEAD : 0;
  uint32_t n = conn_take_batch(c, batch, &wire);
  if (wire == 0) {
    return;
  }
  struct p2p_write *w = write_new(c, wire);
  size_t off = 0;
  if (w != NULL && c->keepalive) {
    off += frame_put(c, w->buf, keepalive, sizeof keepalive);
  }
  for (uint32_t i = 0; i < n; i++) {
    struct p2p_msg *m = batch[i];
    if (w != NULL && m->raw) {
      memcpy(w->buf + off, m->data, m->len);
      off += m->len;
    } else if (w != NULL) {
      off += frame_put(c, w->buf + off, m->data, m->len);
    }
    msg_release(m);
  }
  if (w == NULL) {
    conn_close(c, P2P_DROP_NOMEM);
    return;
  }
  assert(off == wire);
  w->batch = true;
  w->acct_bytes = c->inflight_bytes;
  w->acct_frames = c->inflight_frames;
  w->frames = n + (c->keepalive ? 1 : 0);
  c->keepalive = false;
  c->writing = true;
  c->last_tx_ms = now_ms(c->p);
  write_submit(c, w);
}

/* ---- Connections: the handshake ---- */

static void conn_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)suggested;
  struct p2p_conn *c = h->data;
  *buf = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

/* The TCP connection is up, in either direction: say HELLO. */
static void conn_begin(struct p2p_conn *c) {
  struct p2p *p = c->p;
  c->state = CONN_HANDSHAKE;
  /* Both are tuning; a connection without them still works. */
  (void)uv_tcp_nodelay(&c->tcp, 1);
  (void)uv_tcp_keepalive(&c->tcp, 1, P2P_TCP_KEEPALIVE_S);
  struct p2p_hs_params prm = {
      .keys = p->cfg.keys,
      .network_id = &p->cfg.network_id,
      .allowed = p->allowed,
      .nallowed = p->cfg.npeers,
      .initiator = !c->inbound,
      .dialed = c->inbound ? 0 : (uint16_t)c->peer,
  };
  uint8_t hello[P2P_HELLO_BYTES];
  if (p2p_hs_init(&c->hs, hello, &prm) != OK) {
    conn_close(c, P2P_DROP_NOMEM);
    return;
  }
  p2p_rx_expect(&c->rx, P2P_HELLO_BYTES);
  if (uv_read_start((uv_stream_t *)&c->tcp, conn_on_alloc, conn_on_read) != 0) {
    conn_close(c, P2P_DROP_DISCONNECTED);
    return;
  }
  conn_write_bytes(c, hello, sizeof hello);
}

static void conn_on_hello(struct p2p_conn *c, struct bytes unit) {
  struct p2p *p = c->p;
  uint8_t auth[P2P_AUTH_BYTES];
  int rc = p2p_hs_on_hello(&c->hs, auth, unit.ptr, unit.len);
  if (rc != OK) {
    conn_close(c, p2p_drop_from_err(rc));
    return;
  }
  assert(c->hs.peer < p->cfg.npeers && !p->peers[c->hs.peer].self);
  assert(c->inbound || c->peer == c->hs.peer);
  c->peer = c->hs.peer;
  if (now_ms(p) < p->peers[c->peer].penalty_until_ms) {
    conn_close(c, P2P_DROP_PENALIZED);
    return;
  }
  p2p_rx_expect(&c->rx, P2P_AUTH_BYTES);
  conn_write_bytes(c, auth, sizeof auth);
}

/* Whether a new session with a peer should replace the one it has: both
 * ends of a pair decide alike (see the top of the file). */
static bool conn_prefer(const struct p2p_conn *fresh, const struct p2p_conn *old,
                        const struct p2p_peer *peer) {
  bool fresh_canonical = fresh->inbound != peer->dial;
  bool old_canonical = old->inbound != peer->dial;
  if (fresh_canonical != old_canonical) {
    return fresh_canonical;
  }
  return fresh->seq > old->seq;
}

static void conn_establish(struct p2p_conn *c) {
  struct p2p *p = c->p;
  uint16_t idx = (uint16_t)c->peer;
  struct p2p_peer *peer = &p->peers[idx];
  struct p2p_conn *old = peer->conn;
  if (old != NULL && !conn_prefer(c, old, peer)) {
    conn_close(c, P2P_DROP_DUPLICATE);
    return;
  }
  if (c->pending) {
    p->pending_inbound--;
    c->pending = false;
  }
  uint64_t now = now_ms(p);
  c->state = CONN_OPEN;
  c->last_rx_ms = now;
  c->last_tx_ms = now;
  p2p_bucket_init(&c->flood_frames, p->tun.flood_frames_per_s, p->tun.flood_frames_per_s, now);
  p2p_bucket_init(&c->flood_bytes, p->tun.flood_bytes_per_s, p->tun.flood_bytes_per_s, now);
  if (peer->dialing == c) {
    peer->dialing = NULL;
  }
  peer->conn = c;
  peer->backoff_ms = p->tun.backoff_min_ms;
  lock(p);
  p->stats.sessions++;
  peer->up = true;
  unlock(p);
  if (old != NULL) {
    /* The session carries on over c: no down and up for the caller. */
    conn_close(old, P2P_DROP_DUPLICATE);
  } else if (!p->closing && p->cfg.on_peer != NULL) {
    p->cfg.on_peer(p->cfg.ctx, idx, true);
  }
  conn_drain(c);
}

static void conn_on_auth(struct p2p_conn *c, struct bytes unit) {
  int rc = p2p_hs_on_auth(&c->hs, unit.ptr, unit.len);
  if (rc != OK) {
    conn_close(c, p2p_drop_from_err(rc));
    return;
  }
  c->stream = p2p_hs_stream_take(&c->hs);
  p2p_hs_deinit(&c->hs);
  p2p_rx_expect(&c->rx, 0);
  conn_establish(c);
}

/* ---- Connections: reading ---- */

static void conn_on_frame(struct p2p_conn *c, struct bytes unit) {
  struct p2p *p = c->p;
  uint64_t now = now_ms(p);
  size_t wire = P2P_FRAME_HEADER_BYTES + unit.len;
  if (!p2p_bucket_take(&c->flood_frames, 1, now) || !p2p_bucket_take(&c->flood_bytes, wire, now)) {
    conn_close(c, P2P_DROP_FLOOD);
    return;
  }
  assert(unit.len >= P2P_FRAME_MIN && unit.len <= LIM_P2P_FRAME_MAX);
  size_t plen = unit.len - CRY_STREAM_OVERHEAD;
  if (p2p_buf_reserve(&c->plain, plen, 0, LIM_P2P_FRAME_MAX) != OK) {
    conn_close(c, P2P_DROP_NOMEM);
    return;
  }
  if (cry_stream_pull(c->stream, c->plain.ptr, unit.ptr, unit.len) != OK) {
    conn_close(c, P2P_DROP_BAD_FRAME);
    return;
  }
  lock(p);
  p->stats.frames_in++;
  p->stats.bytes_in += wire;
  unlock(p);
  uint8_t type = c->plain.ptr[0];
  if (type == P2P_TYPE_TRANSPORT) {
    if (plen != 2 || c->plain.ptr[1] != P2P_CTL_KEEPALIVE) {
      conn_close(c, P2P_DROP_BAD_FRAME);
    }
  } else if (!p->closing && p->cfg.on_msg != NULL) {
    p->cfg.on_msg(p->cfg.ctx, (uint16_t)c->peer, type, c->plain.ptr + 1, plen - 1);
  }
  p2p_buf_trim(&c->plain);
}

static void conn_on_unit(struct p2p_conn *c, struct bytes unit) {
  if (c->state == CONN_OPEN) {
    conn_on_frame(c, unit);
  } else if (c->hs.step == P2P_HS_WAIT_HELLO) {
    conn_on_hello(c, unit);
  } else {
    assert(c->state == CONN_HANDSHAKE && c->hs.step == P2P_HS_WAIT_AUTH);
    conn_on_auth(c, unit);
  }
}

static void conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  struct p2p_conn *c = s->data;
  if (c->state == CONN_CLOSING || nread == 0) {
    return;
  }
  if (nread < 0) {
    conn_close(c, P2P_DROP_DISCONNECTED);
    return;
  }
  /* Any bytes show the peer is alive, even a slow large frame's. */
  c->last_rx_ms = now_ms(c->p);
  const uint8_t *in = (const uint8_t *)buf->base;
  size_t len = (size_t)nread;
  while (c->state != CONN_CLOSING) {
    struct bytes unit;
    int rc = p2p_rx_next(&c->rx, &unit, &in, &len);
    if (rc != OK) {
      conn_close(c, rc == ERR_MALFORMED ? P2P_DROP_BAD_FRAME : p2p_drop_from_err(rc));
      return;
    }
    if (unit.ptr == NULL) {
      return;
    }
    conn_on_unit(c, unit);
  }
}

/* ---- Dialing and accepting ---- */

static void conn_on_connected(uv_connect_t *req, int status) {
  struct p2p_conn *c = req->data;
  if (c->state == CONN_CLOSING) {
    return;
  }
  if (status < 0) {
    conn_close(c, P2P_DROP_DIAL_FAILED);
    return;
  }
  conn_begin(c);
}

static void conn_connect(struct p2p_conn *c, const struct sockaddr *addr) {
  c->state = CONN_CONNECTING;
  c->connect.data = c;
  if (uv_tcp_connect(&c->connect, &c->tcp, addr, conn_on_connected) != 0) {
    conn_close(c, P2P_DROP_DIAL_FAILED);
  }
}

static void conn_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  struct p2p_conn *c = req->data;
  if (c->state != CONN_CLOSING) {
    if (status < 0 || res == NULL) {
      conn_close(c, P2P_DROP_DIAL_FAILED);
    } else {
      conn_connect(c, res->ai_addr);
    }
  }
  uv_freeaddrinfo(res);
  conn_release(c);
}

static void conn_resolve(struct p2p_conn *c, const struct p2p_peer_cfg *cfg) {
  struct p2p *p = c->p;
  char port[8];
  int n = snprintf(port, sizeof port, "%u", (unsigned)cfg->port);
  assert(n > 0 && (size_t)n < sizeof port);
  (void)n;
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  c->state = CONN_RESOLVING;
  c->gai.data = c;
  c->refs++;
  if (uv_getaddrinfo(&p->loop, &c->gai, conn_on_resolved, cfg->host, port, &hints) != 0) {
    c->refs--;
    c->state = CONN_CONNECTING; /* nothing to cancel */
    conn_close(c, P2P_DROP_DIAL_FAILED);
  }
}

static void peer_maybe_dial(struct p2p *p, uint16_t idx, uint64_t now) {
  struct p2p_peer *peer = &p->peers[idx];
  if (!peer->dial || peer->conn != NULL || peer->dialing != NULL || now < peer->next_dial_ms ||
      now < peer->penalty_until_ms) {
    return;
  }
  struct p2p_conn *c = conn_new(p, false, idx);
  if (c == NULL) {
    count_drop(p, P2P_DROP_NOMEM);
    redial_schedule(p, peer);
    return;
  }
  peer->dialing = c;
  if (peer->numeric) {
    conn_connect(c, (const struct sockaddr *)&peer->addr);
  } else {
    conn_resolve(c, &peer->cfg);
  }
}

static void reject_on_closed(uv_handle_t *h) {
  struct p2p *p = h->data;
  p->reject_busy = false;
}

/* Accepts and closes one connection without a struct p2p_conn: libuv stops
 * listening until a pending connection is accepted. */
static void reject_one(struct p2p *p) {
  if (p->reject_busy) {
    return;
  }
  int rc = uv_tcp_init(&p->loop, &p->reject);
  assert(rc == 0);
  (void)rc;
  p->reject.data = p;
  p->reject_busy = true;
  (void)uv_accept((uv_stream_t *)&p->listener, (uv_stream_t *)&p->reject);
  uv_close((uv_handle_t *)&p->reject, reject_on_closed);
}

/* Closes the oldest inbound connection still in its handshake. Refusing
 * the newest instead would let anyone who can reach the port hold every
 * slot with idle sockets; evicting the oldest means an attacker must keep
 * opening connections faster than a validator completes a handshake (one
 * round trip). */
static void pending_evict_oldest(struct p2p *p) {
  struct p2p_conn *oldest = NULL;
  for (struct p2p_conn *c = p->conns; c != NULL; c = c->next) {
    if (c->pending && (oldest == NULL || c->seq < oldest->seq)) {
      oldest = c;
    }
  }
  assert(oldest != NULL);
  conn_close(oldest, P2P_DROP_PENDING_FULL);
}

static void on_connection(uv_stream_t *server, int status) {
  struct p2p *p = server->data;
  if (status < 0 || p->closing) {
    return;
  }
  struct p2p_conn *c = conn_new(p, true, -1);
  if (c == NULL) {
    count_drop(p, P2P_DROP_NOMEM);
    reject_one(p);
    return;
  }
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c, -1);
    return;
  }
  if (p->pending_inbound >= LIM_P2P_PENDING_MAX) {
    pending_evict_oldest(p);
  }
  assert(p->pending_inbound < LIM_P2P_PENDING_MAX);
  p->pending_inbound++;
  c->pending = true;
  conn_begin(c);
}

/* ---- The loop ---- */

static void punish_apply(struct p2p *p) {
  uint64_t now = now_ms(p);
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    struct p2p_peer *peer = &p->peers[i];
    lock(p);
    const char *reason = peer->punish;
    peer->punish = NULL;
    unlock(p);
    if (reason == NULL) {
      continue;
    }
    peer->penalty_until_ms = now + p->tun.penalty_ms;
    if (peer->conn != NULL) {
      conn_close(peer->conn, P2P_DROP_PUNISHED);
    }
  }
}

static void conn_tick(struct p2p_conn *c, uint64_t now, bool mute) {
  const struct p2p_tuning *t = &c->p->tun;
  if (c->state == CONN_OPEN) {
    if (now - c->last_rx_ms >= t->idle_ms) {
      conn_close(c, P2P_DROP_IDLE);
    } else if (!mute && now - c->last_tx_ms >= t->keepalive_ms) {
      c->keepalive = true;
      conn_drain(c);
    }
  } else if (c->state != CONN_CLOSING && now >= c->deadline_ms) {
    conn_close(c, c->state == CONN_HANDSHAKE ? P2P_DROP_HANDSHAKE_TIMEOUT : P2P_DROP_DIAL_FAILED);
  }
}

static void on_tick(uv_timer_t *t) {
  struct p2p *p = t->data;
  if (p->closing) {
    return;
  }
  uint64_t now = now_ms(p);
  lock(p);
  bool mute = p->mute;
  unlock(p);
  punish_apply(p);
  /* Closing only marks: the list changes in close callbacks, later. */
  for (struct p2p_conn *c = p->conns; c != NULL; c = c->next) {
    conn_tick(c, now, mute);
  }
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    peer_maybe_dial(p, i, now);
  }
}

static void loop_shutdown(struct p2p *p) {
  if (p->closing) {
    return;
  }
  p->closing = true;
  for (struct p2p_conn *c = p->conns; c != NULL; c = c->next) {
    conn_close(c, -1);
  }
  uv_close((uv_handle_t *)&p->listener, NULL);
  p->listener_open = false;
  uv_close((uv_handle_t *)&p->tick, NULL);
  p->tick_open = false;
  lock(p);
  p->wake_closed = true;
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    p->peers[i].up = false;
    queue_flush_locked(&p->peers[i]);
  }
  unlock(p);
  uv_close((uv_handle_t *)&p->wake, NULL);
  p->wake_open = false;
}

static void on_wake(uv_async_t *h) {
  struct p2p *p = h->data;
  lock(p);
  bool stop = p->stop_requested;
  unlock(p);
  if (stop) {
    loop_shutdown(p);
    return;
  }
  punish_apply(p);
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    if (p->peers[i].conn != NULL) {
      conn_drain(p->peers[i].conn);
    }
  }
}

static void *loop_main(void *arg) {
  struct p2p *p = arg;
  /* Writes to a peer that has gone raise SIGPIPE in the writing thread,
   * always this one: blocked here, the write just fails with EPIPE,
   * without touching the process's signal dispositions. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
  assert(rc == 0);
  rc = uv_timer_start(&p->tick, on_tick, 0, P2P_TICK_MS);
  assert(rc == 0);
  (void)rc;
  uv_run(&p->loop, UV_RUN_DEFAULT);
  return NULL;
}

/* ---- Lifecycle ---- */

static int addr_parse(struct sockaddr_storage *out, const char *host, uint16_t port) {
  memset(out, 0, sizeof *out);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)(void *)out) == 0) {
    return OK;
  }
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)(void *)out) == 0) {
    return OK;
  }
  return ERR_CONFIG;
}

static bool host_ok(const char *host) {
  return memchr(host, '\0', P2P_HOST_MAX) != NULL && host[0] != '\0';
}

static int config_check(const struct p2p_config *cfg) {
  if (cfg->keys == NULL || cfg->npeers > P2P_PEERS_MAX || !host_ok(cfg->listen_host) ||
      cfg->queue_bytes_max > LIM_P2P_QUEUE_BYTES_MAX) {
    return ERR_CONFIG;
  }
  struct pubkey self;
  cry_keys_sign_pk(cfg->keys, &self);
  for (uint16_t i = 0; i < cfg->npeers; i++) {
    const struct p2p_peer_cfg *pc = &cfg->peers[i];
    bool is_self = memcmp(pc->pk.b, self.b, sizeof self.b) == 0;
    if (!is_self && (!host_ok(pc->host) || pc->port == 0)) {
      return ERR_CONFIG;
    }
    for (uint16_t j = 0; j < i; j++) {
      if (memcmp(pc->pk.b, cfg->peers[j].pk.b, sizeof pc->pk.b) == 0) {
        return ERR_CONFIG;
      }
    }
  }
  return OK;
}

static void peers_init(struct p2p *p) {
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    struct p2p_peer *peer = &p->peers[i];
    peer->cfg = p->cfg.peers[i];
    p->allowed[i] = peer->cfg.pk;
    int order = memcmp(p->self_pk.b, peer->cfg.pk.b, sizeof p->self_pk.b);
    peer->self = order == 0;
    peer->dial = order < 0;
    peer->backoff_ms = p->tun.backoff_min_ms;
    if (!peer->self) {
      peer->numeric = addr_parse(&peer->addr, peer->cfg.host, peer->cfg.port) == OK;
    }
  }
}

/* Closes whatever handles are open and runs the loop until their close
 * callbacks have run: for a handle that never started. */
static void loop_wind_down(struct p2p *p) {
  if (p->listener_open) {
    uv_close((uv_handle_t *)&p->listener, NULL);
  }
  if (p->tick_open) {
    uv_close((uv_handle_t *)&p->tick, NULL);
  }
  if (p->wake_open) {
    uv_close((uv_handle_t *)&p->wake, NULL);
  }
  p->listener_open = p->tick_open = p->wake_open = false;
  p->wake_closed = true;
  uv_run(&p->loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&p->loop);
  assert(rc == 0);
  (void)rc;
  p->loop_ready = false;
}

static int listener_open(struct p2p *p) {
  struct sockaddr_storage addr;
  if (addr_parse(&addr, p->cfg.listen_host, p->cfg.listen_port) != OK) {
    return ERR_CONFIG;
  }
  int rc = uv_tcp_init(&p->loop, &p->listener);
  assert(rc == 0);
  p->listener.data = p;
  p->listener_open = true;
  /* libuv may report a bind error only at listen: both are checked. */
  if (uv_tcp_bind(&p->listener, (const struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&p->listener, P2P_LISTEN_BACKLOG, on_connection) != 0) {
    return ERR_IO;
  }
  struct sockaddr_storage bound;
  int len = sizeof bound;
  if (uv_tcp_getsockname(&p->listener, (struct sockaddr *)&bound, &len) != 0) {
    return ERR_IO;
  }
  p->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)(void *)&bound)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)(void *)&bound)->sin_port);
  return OK;
}

static int loop_open(struct p2p *p) {
  if (uv_loop_init(&p->loop) != 0) {
    return ERR_IO;
  }
  p->loop_ready = true;
  p->loop.data = p;
  int rc = uv_timer_init(&p->loop, &p->tick);
  assert(rc == 0);
  p->tick.data = p;
  p->tick_open = true;
  if (uv_async_init(&p->loop, &p->wake, on_wake) != 0) {
    return ERR_IO;
  }
  p->wake.data = p;
  p->wake_open = true;
  return listener_open(p);
}

void p2p_tuning_default(struct p2p_tuning *t) {
  assert(t != NULL);
  t->handshake_ms = LIM_P2P_HANDSHAKE_MS;
  t->idle_ms = LIM_P2P_IDLE_MS;
  t->keepalive_ms = LIM_P2P_IDLE_MS / 5;
  t->penalty_ms = P2P_PENALTY_MS;
  t->backoff_min_ms = P2P_BACKOFF_MIN_MS;
  t->backoff_max_ms = P2P_BACKOFF_MAX_MS;
  t->flood_frames_per_s = LIM_P2P_FLOOD_FRAMES_PER_S;
  t->flood_bytes_per_s = LIM_P2P_FLOOD_BYTES_PER_S;
}

int p2p_create(struct p2p **out, const struct p2p_config *cfg) {
  assert(out != NULL && cfg != NULL);
  *out = NULL;
  int rc = config_check(cfg);
  if (rc != OK) {
    return rc;
  }
  struct p2p *p = calloc(1, sizeof *p);
  if (p == NULL) {
    return ERR_NOMEM;
  }
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(p);
    return ERR_NOMEM;
  }
  p->cfg = *cfg;
  p2p_tuning_default(&p->tun);
  p->queue_bytes_max =
      cfg->queue_bytes_max != 0 ? cfg->queue_bytes_max : LIM_P2P_QUEUE_BYTES_DEFAULT;
  cry_keys_sign_pk(cfg->keys, &p->self_pk);
  cry_random((uint8_t *)&p->rng, sizeof p->rng);
  peers_init(p);
  rc = loop_open(p);
  if (rc != OK) {
    p2p_destroy(p);
    return rc;
  }
  *out = p;
  return OK;
}

int p2p_start(struct p2p *p) {
  assert(p != NULL && !p->started && p->loop_ready);
  lock(p);
  bool stopped = p->stop_requested;
  unlock(p);
  assert(!stopped);
  (void)stopped;
  if (pthread_create(&p->thread, NULL, loop_main, p) != 0) {
    return ERR_INTERNAL;
  }
  p->started = true;
  return OK;
}

void p2p_stop(struct p2p *p) {
  assert(p != NULL);
  lock(p);
  p->stop_requested = true;
  if (p->started) {
    wake_locked(p);
  }
  unlock(p);
  if (p->started && !p->joined) {
    assert(!pthread_equal(pthread_self(), p->thread)); /* not from a callback */
    int rc = pthread_join(p->thread, NULL);
    assert(rc == 0);
    (void)rc;
    p->joined = true;
  }
}

void p2p_destroy(struct p2p *p) {
  if (p == NULL) {
    return;
  }
  p2p_stop(p);
  if (p->loop_ready) {
    /* After a started loop has wound down only the loop itself is left. */
    loop_wind_down(p);
  }
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    queue_flush_locked(&p->peers[i]);
    free(p->peers[i].queue.items);
  }
  pthread_mutex_destroy(&p->mu);
  free(p);
}

uint16_t p2p_listen_port(const struct p2p *p) {
  assert(p != NULL);
  return p->port;
}

/* ---- Thread-safe calls ---- */

static int send_msg(struct p2p *p, uint16_t peer, struct p2p_msg *m) {
  lock(p);
  int rc = enqueue_locked(p, peer, m);
  unlock(p);
  msg_release(m);
  return rc;
}

int p2p_send(struct p2p *p, uint16_t peer, uint8_t type, const uint8_t *buf, size_t len) {
  assert(p != NULL && peer < p->cfg.npeers);
  assert(type != P2P_TYPE_TRANSPORT);
  assert(buf != NULL || len == 0);
  if (len > LIM_P2P_PAYLOAD_MAX) {
    return ERR_OVERSIZE;
  }
  struct p2p_msg *m = msg_new(false, type, buf, len);
  if (m == NULL) {
    return ERR_NOMEM;
  }
  return send_msg(p, peer, m);
}

int p2p_test_send_raw(struct p2p *p, uint16_t peer, const uint8_t *buf, size_t len) {
  assert(p != NULL && peer < p->cfg.npeers && buf != NULL && len > 0);
  struct p2p_msg *m = msg_new(true, 0, buf, len);
  if (m == NULL) {
    return ERR_NOMEM;
  }
  return send_msg(p, peer, m);
}

uint32_t p2p_broadcast(struct p2p *p, uint8_t type, const uint8_t *buf, size_t len) {
  assert(p != NULL);
  assert(type != P2P_TYPE_TRANSPORT);
  assert(buf != NULL || len == 0);
  if (len > LIM_P2P_PAYLOAD_MAX) {
    return 0;
  }
  struct p2p_msg *m = msg_new(false, type, buf, len);
  if (m == NULL) {
    return 0;
  }
  uint32_t accepted = 0;
  lock(p);
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    if (!p->peers[i].self && p->peers[i].up && enqueue_locked(p, i, m) == OK) {
      accepted++;
    }
  }
  unlock(p);
  msg_release(m);
  return accepted;
}

/* Counts one p2p_punish under its reason; "other" once the table is full. */
static void punish_count_locked(struct p2p *p, const char *reason) {
  struct p2p_stats *s = &p->stats;
  for (uint32_t i = 0; i < s->npunish; i++) {
    if (strcmp(s->punish[i].reason, reason) == 0) {
      s->punish[i].count++;
      return;
    }
  }
  if (s->npunish < P2P_PUNISH_REASONS_MAX - 1) {
    s->punish[s->npunish].reason = reason;
    s->punish[s->npunish].count = 1;
    s->npunish++;
    return;
  }
  s->punish[P2P_PUNISH_REASONS_MAX - 1].reason = "other";
  s->punish[P2P_PUNISH_REASONS_MAX - 1].count++;
  s->npunish = P2P_PUNISH_REASONS_MAX;
}

void p2p_punish(struct p2p *p, uint16_t peer, const char *reason) {
  assert(p != NULL && peer < p->cfg.npeers);
  const char *label = reason != NULL ? reason : "unspecified";
  lock(p);
  if (!p->stop_requested) {
    p->peers[peer].punish = label;
    punish_count_locked(p, label);
    wake_locked(p);
  }
  unlock(p);
}

void p2p_stats(struct p2p *p, struct p2p_stats *out) {
  assert(p != NULL && out != NULL);
  lock(p);
  *out = p->stats;
  out->peers_connected = 0;
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    out->peers_connected += p->peers[i].up ? 1 : 0;
  }
  unlock(p);
}

bool p2p_peer_connected(struct p2p *p, uint16_t peer) {
  assert(p != NULL && peer < p->cfg.npeers);
  lock(p);
  bool up = p->peers[peer].up;
  unlock(p);
  return up;
}

/* ---- Test hooks ---- */

void p2p_tuning_set(struct p2p *p, const struct p2p_tuning *t) {
  assert(p != NULL && t != NULL && !p->started);
  assert(t->handshake_ms > 0 && t->idle_ms > t->keepalive_ms && t->keepalive_ms > 0);
  assert(t->backoff_min_ms > 0 && t->backoff_min_ms <= t->backoff_max_ms);
  assert(t->flood_frames_per_s > 0 && t->flood_bytes_per_s > 0);
  p->tun = *t;
  for (uint16_t i = 0; i < p->cfg.npeers; i++) {
    p->peers[i].backoff_ms = t->backoff_min_ms;
  }
}

void p2p_test_hold_writes(struct p2p *p, bool hold) {
  assert(p != NULL);
  lock(p);
  p->hold_writes = hold;
  if (p->started) {
    wake_locked(p);
  }
  unlock(p);
}

void p2p_test_mute(struct p2p *p, bool mute) {
  assert(p != NULL);
  lock(p);
  p->mute = mute;
  unlock(p);
}
