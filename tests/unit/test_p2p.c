/*
 * test_p2p — the transport, first in its pure parts (the handshake as two
 * state machines talking in memory, the receive parser, rates), then as
 * real nodes on 127.0.0.1 with ephemeral ports: sessions, refusals, framing
 * violations, back-pressure, floods, silence, restarts and duplicates.
 *
 * Nodes take their peers' ports from nodes already created, so a net is
 * created from the highest key down: a node only dials peers whose keys
 * sort above its own, which exist by then; the rest get a placeholder port
 * they are never dialed on. Some tests speak the protocol by hand from a
 * blocking socket (the raw client below), using the same handshake code,
 * to do what no honest node does.
 *
 * Every wait polls a condition for at most WAIT_MS; nothing assumes a
 * fixed sleep is long enough. Timings that tests need short (penalty,
 * handshake deadline, keep-alives) are shrunk with p2p_tuning_set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "p2p/p2p_internal.h"

#define WAIT_MS 15000
#define KEYS_MAX 8
#define PLACEHOLDER_PORT 9 /* discard: never dialed, see above */
#define TYPE_SEQ 1         /* payload: u32 sequence number, then bytes derived from it */
#define TYPE_BLOB 2        /* payload: anything; the receiver keeps its hash */

static void sleep_ms(unsigned ms) {
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Polls expr every 5 ms for at most WAIT_MS; fails the test if it never
 * holds. */
#define WAIT_UNTIL(expr)                                                                           \
  do {                                                                                             \
    bool ok_ = (expr);                                                                             \
    for (int i_ = 0; i_ < WAIT_MS / 5 && !ok_; i_++) {                                             \
      sleep_ms(5);                                                                                 \
      ok_ = (expr);                                                                                \
    }                                                                                              \
    assert_true(ok_);                                                                              \
  } while (0)

/* ---- Keys ---- */

/* KEYS_MAX identities from fixed seeds, sorted by public key: keys[0] has
 * the lowest, so it dials everyone. */
static struct cry_keys *keys[KEYS_MAX];
static struct pubkey pks[KEYS_MAX];

static int group_setup(void **state) {
  (void)state;
  if (cry_init() != OK) {
    return -1;
  }
  for (int i = 0; i < KEYS_MAX; i++) {
    uint8_t seed[CRY_SEED_BYTES];
    memset(seed, 0x30 + i, sizeof seed);
    keys[i] = cry_keys_from_seed(seed);
    if (keys[i] == NULL) {
      return -1;
    }
  }
  for (int i = 1; i < KEYS_MAX; i++) { /* insertion sort by public key */
    for (int j = i; j > 0; j--) {
      struct pubkey a, b;
      cry_keys_sign_pk(keys[j - 1], &a);
      cry_keys_sign_pk(keys[j], &b);
      if (memcmp(a.b, b.b, sizeof a.b) < 0) {
        break;
      }
      struct cry_keys *t = keys[j];
      keys[j] = keys[j - 1];
      keys[j - 1] = t;
    }
  }
  for (int i = 0; i < KEYS_MAX; i++) {
    cry_keys_sign_pk(keys[i], &pks[i]);
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  for (int i = 0; i < KEYS_MAX; i++) {
    cry_keys_destroy(keys[i]);
  }
  return 0;
}

static struct hash32 net_id(uint8_t b) {
  struct hash32 h;
  memset(h.b, b, sizeof h.b);
  return h;
}

/* ---- Handshake in memory ---- */

struct hs_pair {
  struct p2p_hs i, r;
  uint8_t hello_i[P2P_HELLO_BYTES], hello_r[P2P_HELLO_BYTES];
  uint8_t auth_i[P2P_AUTH_BYTES], auth_r[P2P_AUTH_BYTES];
  struct hash32 net_i, net_r;
};

/* Initiator keys[ki] dials responder keys[kr]; both allow keys 0..nallowed-1. */
static void hs_pair_init(struct hs_pair *h, int ki, int kr, uint16_t nallowed) {
  memset(h, 0, sizeof *h);
  h->net_i = net_id(7);
  h->net_r = net_id(7);
  struct p2p_hs_params pi = {.keys = keys[ki],
                             .network_id = &h->net_i,
                             .allowed = pks,
                             .nallowed = nallowed,
                             .initiator = true,
                             .dialed = (uint16_t)kr};
  struct p2p_hs_params pr = {
      .keys = keys[kr], .network_id = &h->net_r, .allowed = pks, .nallowed = nallowed};
  assert_int_equal(p2p_hs_init(&h->i, h->hello_i, &pi), OK);
  assert_int_equal(p2p_hs_init(&h->r, h->hello_r, &pr), OK);
}

static void hs_pair_deinit(struct hs_pair *h) {
  p2p_hs_deinit(&h->i);
  p2p_hs_deinit(&h->r);
}

static void test_hs_success(void **state) {
  (void)state;
  struct hs_pair h;
  hs_pair_init(&h, 0, 2, 3);
  assert_int_equal(p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES), OK);
  assert_int_equal(h.r.peer, 0);
  assert_int_equal(p2p_hs_on_hello(&h.i, h.auth_i, h.hello_r, P2P_HELLO_BYTES), OK);
  assert_int_equal(h.i.peer, 2);
  assert_int_equal(p2p_hs_on_auth(&h.i, h.auth_r, P2P_AUTH_BYTES), OK);
  assert_int_equal(p2p_hs_on_auth(&h.r, h.auth_i, P2P_AUTH_BYTES), OK);
  assert_memory_equal(h.i.transcript.b, h.r.transcript.b, 32);
  struct cry_stream *si = p2p_hs_stream_take(&h.i);
  struct cry_stream *sr = p2p_hs_stream_take(&h.r);
  uint8_t msg[5] = {1, 2, 3, 4, 5}, c[5 + CRY_STREAM_OVERHEAD], out[5];
  cry_stream_push(si, c, msg, sizeof msg);
  assert_int_equal(cry_stream_pull(sr, out, c, sizeof c), OK);
  assert_memory_equal(out, msg, sizeof msg);
  cry_stream_push(sr, c, msg, sizeof msg);
  assert_int_equal(cry_stream_pull(si, out, c, sizeof c), OK);
  cry_stream_destroy(si);
  cry_stream_destroy(sr);
  hs_pair_deinit(&h);
}

/* Flipping any byte of either HELLO or either AUTH breaks the handshake
 * somewhere: at the HELLO check, or at the signature over the transcript. */
static void test_hs_tamper(void **state) {
  (void)state;
  for (int which = 0; which < 4; which++) {
    size_t len = which < 2 ? P2P_HELLO_BYTES : P2P_AUTH_BYTES;
    for (size_t pos = 0; pos < len; pos++) {
      struct hs_pair h;
      hs_pair_init(&h, 1, 3, 4);
      uint8_t *hello[2] = {h.hello_i, h.hello_r};
      if (which < 2) {
        hello[which][pos] ^= 0x01;
      }
      bool ok = p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES) == OK &&
                p2p_hs_on_hello(&h.i, h.auth_i, h.hello_r, P2P_HELLO_BYTES) == OK;
      if (ok) {
        uint8_t *auth[2] = {h.auth_i, h.auth_r};
        if (which >= 2) {
          auth[which - 2][pos] ^= 0x01;
        }
        ok = p2p_hs_on_auth(&h.i, h.auth_r, P2P_AUTH_BYTES) == OK &&
             p2p_hs_on_auth(&h.r, h.auth_i, P2P_AUTH_BYTES) == OK;
      }
      assert_false(ok);
      hs_pair_deinit(&h);
    }
  }
}

static void test_hs_refusals(void **state) {
  (void)state;
  struct hs_pair h;
  /* Another network. */
  hs_pair_init(&h, 0, 1, 2);
  h.net_r = net_id(8);
  p2p_hs_deinit(&h.r);
  struct p2p_hs_params pr = {
      .keys = keys[1], .network_id = &h.net_r, .allowed = pks, .nallowed = 2};
  assert_int_equal(p2p_hs_init(&h.r, h.hello_r, &pr), OK);
  assert_int_equal(p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES), ERR_WRONG_CHAIN);
  assert_int_equal(p2p_hs_on_hello(&h.i, h.auth_i, h.hello_r, P2P_HELLO_BYTES), ERR_WRONG_CHAIN);
  assert_int_equal(p2p_drop_from_err(ERR_WRONG_CHAIN), P2P_DROP_WRONG_NETWORK);
  hs_pair_deinit(&h);

  /* A key outside the allowed set: keys[4] dials keys[1], which allows 0..2. */
  hs_pair_init(&h, 4, 1, 5);
  p2p_hs_deinit(&h.r);
  pr.network_id = &h.net_r;
  pr.nallowed = 3;
  assert_int_equal(p2p_hs_init(&h.r, h.hello_r, &pr), OK);
  assert_int_equal(p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES), ERR_UNKNOWN_SENDER);
  assert_int_equal(p2p_drop_from_err(ERR_UNKNOWN_SENDER), P2P_DROP_UNKNOWN_PEER);
  hs_pair_deinit(&h);

  /* The initiator dialed keys[2] but keys[1] answers. */
  hs_pair_init(&h, 0, 1, 3);
  h.i.peer = 2;
  assert_int_equal(p2p_hs_on_hello(&h.i, h.auth_i, h.hello_r, P2P_HELLO_BYTES), ERR_UNKNOWN_SENDER);
  hs_pair_deinit(&h);

  /* Talking to oneself. */
  hs_pair_init(&h, 0, 1, 3);
  assert_int_equal(p2p_hs_on_hello(&h.i, h.auth_i, h.hello_i, P2P_HELLO_BYTES), ERR_MALFORMED);
  hs_pair_deinit(&h);

  /* A reflected AUTH (the responder's own, sent back) does not verify. */
  hs_pair_init(&h, 0, 1, 3);
  assert_int_equal(p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES), OK);
  assert_int_equal(p2p_hs_on_auth(&h.r, h.auth_r, P2P_AUTH_BYTES), ERR_BAD_SIGNATURE);
  hs_pair_deinit(&h);

  /* Wrong lengths. */
  hs_pair_init(&h, 0, 1, 3);
  assert_int_equal(p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES - 1), ERR_MALFORMED);
  hs_pair_deinit(&h);
}

/* Two handshakes between the same keys never share session keys: a frame
 * from one session does not open in another. */
static void test_hs_fresh_sessions(void **state) {
  (void)state;
  struct cry_stream *s[2][2];
  for (int k = 0; k < 2; k++) {
    struct hs_pair h;
    hs_pair_init(&h, 0, 1, 2);
    assert_int_equal(p2p_hs_on_hello(&h.r, h.auth_r, h.hello_i, P2P_HELLO_BYTES), OK);
    assert_int_equal(p2p_hs_on_hello(&h.i, h.auth_i, h.hello_r, P2P_HELLO_BYTES), OK);
    assert_int_equal(p2p_hs_on_auth(&h.i, h.auth_r, P2P_AUTH_BYTES), OK);
    assert_int_equal(p2p_hs_on_auth(&h.r, h.auth_i, P2P_AUTH_BYTES), OK);
    s[k][0] = p2p_hs_stream_take(&h.i);
    s[k][1] = p2p_hs_stream_take(&h.r);
    hs_pair_deinit(&h);
  }
  uint8_t msg[8] = {0}, c[8 + CRY_STREAM_OVERHEAD], out[8];
  cry_stream_push(s[0][0], c, msg, sizeof msg);
  assert_int_equal(cry_stream_pull(s[1][1], out, c, sizeof c), ERR_BAD_SIGNATURE);
  for (int k = 0; k < 2; k++) {
    cry_stream_destroy(s[k][0]);
    cry_stream_destroy(s[k][1]);
  }
}

/* ---- Receive parser, rates ---- */

static void test_rx_frames_bytewise(void **state) {
  (void)state;
  /* A 102-byte unit, then three frames of 18, 1000 and 200,000 bytes, fed
   * one byte at a time and then all at once. */
  static const size_t lens[3] = {P2P_FRAME_MIN, 1000, 200000};
  size_t total = 102;
  for (int i = 0; i < 3; i++) {
    total += 4 + lens[i];
  }
  uint8_t *wire = malloc(total);
  assert_non_null(wire);
  for (size_t i = 0; i < total; i++) {
    wire[i] = (uint8_t)(i * 7);
  }
  size_t off = 102;
  for (int i = 0; i < 3; i++) {
    base_put_u32be(wire + off, (uint32_t)lens[i]);
    off += 4 + lens[i];
  }
  for (size_t step = 1; step <= total; step = step == 1 ? total : total + 1) {
    struct p2p_rx rx;
    p2p_rx_init(&rx);
    p2p_rx_expect(&rx, 102);
    int units = 0;
    size_t pos = 0, expect_at = 0;
    while (pos < total) {
      const uint8_t *in = wire + pos;
      size_t n = step < total - pos ? step : total - pos;
      size_t left = n;
      for (int guard = 0; guard < 10 && left > 0; guard++) {
        struct bytes unit;
        assert_int_equal(p2p_rx_next(&rx, &unit, &in, &left), OK);
        if (unit.ptr != NULL) {
          size_t want = units == 0 ? 102 : lens[units - 1];
          expect_at += units == 0 ? 0 : 4;
          assert_int_equal(unit.len, want);
          assert_memory_equal(unit.ptr, wire + expect_at, want);
          expect_at += want;
          if (units++ == 0) {
            p2p_rx_expect(&rx, 0);
          }
        }
      }
      assert_int_equal(left, 0);
      pos += n;
    }
    assert_int_equal(units, 4);
    p2p_rx_deinit(&rx);
  }
  free(wire);
}

static void test_rx_limits(void **state) {
  (void)state;
  uint8_t hdr[4];
  uint32_t len = 0;
  base_put_u32be(hdr, LIM_P2P_FRAME_MAX);
  assert_int_equal(p2p_frame_len_decode(&len, hdr), OK);
  assert_int_equal(len, LIM_P2P_FRAME_MAX);
  base_put_u32be(hdr, LIM_P2P_FRAME_MAX + 1);
  assert_int_equal(p2p_frame_len_decode(&len, hdr), ERR_OVERSIZE);
  base_put_u32be(hdr, 0xffffffffu);
  assert_int_equal(p2p_frame_len_decode(&len, hdr), ERR_OVERSIZE);
  base_put_u32be(hdr, P2P_FRAME_MIN - 1);
  assert_int_equal(p2p_frame_len_decode(&len, hdr), ERR_MALFORMED);
  base_put_u32be(hdr, 0);
  assert_int_equal(p2p_frame_len_decode(&len, hdr), ERR_MALFORMED);

  /* An announced maximum frame allocates only what arrives. */
  struct p2p_rx rx;
  p2p_rx_init(&rx);
  uint8_t wire[4 + 100] = {0};
  base_put_u32be(wire, LIM_P2P_FRAME_MAX);
  const uint8_t *in = wire;
  size_t left = sizeof wire;
  struct bytes unit;
  assert_int_equal(p2p_rx_next(&rx, &unit, &in, &left), OK);
  assert_null(unit.ptr);
  assert_true(rx.body.cap <= P2P_BUF_KEEP);
  p2p_rx_deinit(&rx);

  /* An oversize prefix fails before anything is buffered. */
  p2p_rx_init(&rx);
  base_put_u32be(wire, 0xffffffffu);
  in = wire;
  left = sizeof wire;
  assert_int_equal(p2p_rx_next(&rx, &unit, &in, &left), ERR_OVERSIZE);
  assert_null(rx.body.ptr);
  p2p_rx_deinit(&rx);
}

static void test_bucket_and_backoff(void **state) {
  (void)state;
  struct p2p_bucket b;
  p2p_bucket_init(&b, 100, 100, 1000);
  assert_true(p2p_bucket_take(&b, 100, 1000));
  assert_false(p2p_bucket_take(&b, 1, 1000));
  assert_false(p2p_bucket_take(&b, 1, 1009)); /* 0.9 tokens */
  assert_true(p2p_bucket_take(&b, 1, 1010));
  /* Polled every millisecond, a slow rate still refills. */
  int got = 0;
  for (uint64_t t = 1011; t <= 2010; t++) {
    got += p2p_bucket_take(&b, 1, t) ? 1 : 0;
  }
  assert_in_range(got, 99, 100);
  assert_true(p2p_bucket_take(&b, 0, 500));        /* time going back adds nothing */
  assert_false(p2p_bucket_take(&b, 101, 1000000)); /* over the burst, ever */
  assert_true(p2p_bucket_take(&b, 100, 1000000));

  uint64_t rng = 42;
  uint32_t backoff = 100;
  uint32_t expect = 100;
  for (int i = 0; i < 10; i++) {
    uint32_t d = p2p_backoff_next(&backoff, 5000, &rng);
    assert_in_range(d, expect / 2, expect);
    expect = expect * 2 > 5000 ? 5000 : expect * 2;
    assert_int_equal(backoff, expect);
  }
  assert_string_equal(p2p_drop_name(P2P_DROP_OVERSIZE_FRAME), "oversize_frame");
  assert_string_equal(p2p_drop_name(P2P_DROP_QUEUE_FULL), "queue_full");
  assert_string_equal(p2p_drop_name(-1), "unknown");
  assert_string_equal(p2p_drop_name(P2P_DROP_COUNT_), "unknown");
}

/* ---- Live nodes ---- */

struct tnode {
  struct p2p *p;
  pthread_mutex_t mu;
  uint64_t msgs[P2P_PEERS_MAX];
  uint32_t next_seq[P2P_PEERS_MAX];
  uint64_t blobs;
  size_t blob_len;
  struct hash32 blob_hash;
  uint32_t ups, downs;
  int key;
  uint16_t port;
  bool disorder;
};

/* A test network: which keys take part and the ports of the nodes that
 * exist. */
struct tnet {
  int nkeys;
  int key[P2P_PEERS_MAX];
  uint16_t port[P2P_PEERS_MAX];
  struct hash32 id;
};

static void seq_fill(uint8_t *buf, size_t len, uint32_t seq) {
  assert_true(len >= 4);
  base_put_u32be(buf, seq);
  for (size_t i = 4; i < len; i++) {
    buf[i] = (uint8_t)(seq + i);
  }
}

static bool seq_check(const uint8_t *buf, size_t len, uint32_t seq) {
  if (len < 4 || base_get_u32be(buf) != seq) {
    return false;
  }
  for (size_t i = 4; i < len; i++) {
    if (buf[i] != (uint8_t)(seq + i)) {
      return false;
    }
  }
  return true;
}

static void on_msg(void *ctx, uint16_t peer, uint8_t type, const uint8_t *buf, size_t len) {
  struct tnode *n = ctx;
  struct hash32 h;
  if (type == TYPE_BLOB) {
    cry_hash(&h, buf, len);
  }
  pthread_mutex_lock(&n->mu);
  n->msgs[peer]++;
  if (type == TYPE_SEQ) {
    if (!seq_check(buf, len, n->next_seq[peer])) {
      n->disorder = true;
    }
    n->next_seq[peer]++;
  } else if (type == TYPE_BLOB) {
    n->blobs++;
    n->blob_hash = h;
    n->blob_len = len;
  } else {
    n->disorder = true;
  }
  pthread_mutex_unlock(&n->mu);
}

static void on_peer(void *ctx, uint16_t peer, bool up) {
  struct tnode *n = ctx;
  (void)peer;
  pthread_mutex_lock(&n->mu);
  if (up) {
    n->ups++;
  } else {
    n->downs++;
  }
  pthread_mutex_unlock(&n->mu);
}

static uint64_t tnode_msgs(struct tnode *n, uint16_t peer) {
  pthread_mutex_lock(&n->mu);
  uint64_t v = n->msgs[peer];
  pthread_mutex_unlock(&n->mu);
  return v;
}

static uint64_t tnode_blobs(struct tnode *n) {
  pthread_mutex_lock(&n->mu);
  uint64_t v = n->blobs;
  pthread_mutex_unlock(&n->mu);
  return v;
}

static uint64_t dropped(struct tnode *n, enum p2p_drop r) {
  struct p2p_stats s;
  p2p_stats(n->p, &s);
  return s.dropped[r];
}

static uint64_t frames_in(struct tnode *n) {
  struct p2p_stats s;
  p2p_stats(n->p, &s);
  return s.frames_in;
}

static uint32_t tnode_downs(struct tnode *n) {
  pthread_mutex_lock(&n->mu);
  uint32_t v = n->downs;
  pthread_mutex_unlock(&n->mu);
  return v;
}

static uint32_t connected(struct tnode *n) {
  struct p2p_stats s;
  p2p_stats(n->p, &s);
  return s.peers_connected;
}

static void tuning_fast(struct p2p_tuning *t) {
  p2p_tuning_default(t);
  t->penalty_ms = 300;
  t->handshake_ms = 500;
  t->backoff_max_ms = 400;
}

static void cfg_fill(struct p2p_config *cfg, const struct tnet *net, int self) {
  memset(cfg, 0, sizeof *cfg);
  cfg->keys = keys[net->key[self]];
  cfg->network_id = net->id;
  snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
  cfg->npeers = (uint16_t)net->nkeys;
  for (int i = 0; i < net->nkeys; i++) {
    cfg->peers[i].pk = pks[net->key[i]];
    snprintf(cfg->peers[i].host, sizeof cfg->peers[i].host, "127.0.0.1");
    cfg->peers[i].port = net->port[i] != 0 ? net->port[i] : PLACEHOLDER_PORT;
  }
}

/* Starts node self of net on listen_port (0: ephemeral) and records its
 * port in net. */
static void tnode_start(struct tnode *n, struct tnet *net, int self, uint16_t listen_port,
                        const struct p2p_tuning *tun, uint32_t queue_bytes_max) {
  memset(n, 0, sizeof *n);
  pthread_mutex_init(&n->mu, NULL);
  n->key = net->key[self];
  struct p2p_config *cfg = malloc(sizeof *cfg);
  assert_non_null(cfg);
  cfg_fill(cfg, net, self);
  cfg->listen_port = listen_port;
  cfg->on_msg = on_msg;
  cfg->on_peer = on_peer;
  cfg->ctx = n;
  cfg->queue_bytes_max = queue_bytes_max;
  assert_int_equal(p2p_create(&n->p, cfg), OK);
  free(cfg);
  n->port = p2p_listen_port(n->p);
  assert_true(n->port != 0);
  assert_true(listen_port == 0 || n->port == listen_port);
  net->port[self] = n->port;
  if (tun != NULL) {
    p2p_tuning_set(n->p, tun);
  }
  assert_int_equal(p2p_start(n->p), OK);
}

static void tnode_stop(struct tnode *n) {
  p2p_stop(n->p);
  p2p_stop(n->p); /* idempotent */
  p2p_destroy(n->p);
  n->p = NULL;
  pthread_mutex_destroy(&n->mu);
}

/* Starts nodes 0..count-1 of net, highest key first (see the top). */
static void net_start(struct tnode *nodes, struct tnet *net, int count,
                      const struct p2p_tuning *tun, uint32_t queue_bytes_max) {
  for (int i = count - 1; i >= 0; i--) {
    tnode_start(&nodes[i], net, i, 0, tun, queue_bytes_max);
  }
}

static struct tnet net_of(int count) {
  struct tnet net;
  memset(&net, 0, sizeof net);
  net.nkeys = count;
  for (int i = 0; i < count; i++) {
    net.key[i] = i;
  }
  net.id = net_id(0x5a);
  return net;
}

/* Sends count TYPE_SEQ messages of len bytes from a to peer, numbered from
 * first, retrying (bounded) while the queue pushes back. */
static void send_seq(struct tnode *a, uint16_t peer, uint32_t first, uint32_t count, size_t len) {
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  for (uint32_t s = first; s < first + count; s++) {
    seq_fill(buf, len, s);
    int rc = p2p_send(a->p, peer, TYPE_SEQ, buf, len);
    for (int tries = 0; rc == ERR_LIMIT && tries < WAIT_MS; tries++) {
      sleep_ms(1);
      rc = p2p_send(a->p, peer, TYPE_SEQ, buf, len);
    }
    assert_int_equal(rc, OK);
  }
  free(buf);
}

static void test_three_nodes(void **state) {
  (void)state;
  struct tnet net = net_of(3);
  struct tnode nodes[3];
  net_start(nodes, &net, 3, NULL, 0);
  for (int i = 0; i < 3; i++) {
    WAIT_UNTIL(connected(&nodes[i]) == 2);
  }
  for (uint16_t i = 0; i < 3; i++) {
    assert_false(p2p_peer_connected(nodes[i].p, i)); /* itself */
    for (uint16_t j = 0; j < 3; j++) {
      if (i != j) {
        assert_true(p2p_peer_connected(nodes[i].p, j));
        send_seq(&nodes[i], j, 0, 100, 64);
      }
    }
  }
  /* One broadcast from each: one more in sequence for both others. */
  uint8_t buf[64];
  for (int i = 0; i < 3; i++) {
    seq_fill(buf, sizeof buf, 100);
    assert_int_equal(p2p_broadcast(nodes[i].p, TYPE_SEQ, buf, sizeof buf), 2);
  }
  for (uint16_t i = 0; i < 3; i++) {
    for (uint16_t j = 0; j < 3; j++) {
      if (i != j) {
        WAIT_UNTIL(tnode_msgs(&nodes[i], j) == 101);
      }
    }
  }
  for (int i = 0; i < 3; i++) {
    struct p2p_stats s;
    p2p_stats(nodes[i].p, &s);
    assert_false(nodes[i].disorder);
    assert_int_equal(nodes[i].ups, 2);
    assert_int_equal(nodes[i].downs, 0);
    assert_true(s.frames_in >= 202 && s.frames_out >= 202);
    assert_true(s.bytes_in > 202 * 64 && s.bytes_out > 202 * 64);
    assert_int_equal(s.sessions, 2);
    for (int r = 0; r < P2P_DROP_COUNT_; r++) {
      assert_int_equal(s.dropped[r], 0);
    }
  }
  for (int i = 0; i < 3; i++) {
    tnode_stop(&nodes[i]);
  }
}

static void test_unknown_key_refused(void **state) {
  (void)state;
  /* keys[1] runs a node allowing only keys 1 and 2; keys[0] knows keys[1]
   * and, sorting lower, dials it. */
  struct tnet net_a = {.nkeys = 2, .key = {1, 2}, .id = net_id(1)};
  struct tnet net_x = {.nkeys = 2, .key = {0, 1}, .id = net_id(1)};
  struct tnode a, x;
  tnode_start(&a, &net_a, 0, 0, NULL, 0);
  net_x.port[1] = a.port;
  tnode_start(&x, &net_x, 0, 0, NULL, 0);
  WAIT_UNTIL(dropped(&a, P2P_DROP_UNKNOWN_PEER) >= 2); /* and it keeps redialing */
  assert_int_equal(connected(&a), 0);
  assert_int_equal(connected(&x), 0);
  assert_int_equal(a.ups, 0);
  assert_int_equal(x.ups, 0);
  tnode_stop(&x);
  tnode_stop(&a);
}

static void test_wrong_network_refused(void **state) {
  (void)state;
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  tnode_start(&nodes[1], &net, 1, 0, NULL, 0);
  net.id = net_id(0x77);
  tnode_start(&nodes[0], &net, 0, 0, NULL, 0);
  /* Both HELLOs cross before either side closes, so both see it. */
  WAIT_UNTIL(dropped(&nodes[1], P2P_DROP_WRONG_NETWORK) >= 1);
  WAIT_UNTIL(dropped(&nodes[0], P2P_DROP_WRONG_NETWORK) >= 1);
  assert_int_equal(connected(&nodes[0]), 0);
  assert_int_equal(connected(&nodes[1]), 0);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

/* Frames no honest node sends: each costs the sender its session and a
 * penalty, after which it reconnects. */
static void test_bad_frames(void **state) {
  (void)state;
  struct p2p_tuning tun;
  tuning_fast(&tun);
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, &tun, 0);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);

  uint8_t raw[4 + P2P_FRAME_MIN] = {0};
  struct {
    size_t bytes;
    uint32_t len;
    enum p2p_drop reason;
  } cases[] = {
      {4, LIM_P2P_FRAME_MAX + 1, P2P_DROP_OVERSIZE_FRAME},
      {4, 0xffffffffu, P2P_DROP_OVERSIZE_FRAME},
      {4, 0, P2P_DROP_BAD_FRAME},
      {4 + P2P_FRAME_MIN - 1, P2P_FRAME_MIN - 1, P2P_DROP_BAD_FRAME},
      {4 + P2P_FRAME_MIN, P2P_FRAME_MIN, P2P_DROP_BAD_FRAME}, /* does not decrypt */
  };
  for (size_t k = 0; k < ARRAY_LEN(cases); k++) {
    uint64_t before = dropped(&nodes[1], cases[k].reason);
    uint32_t downs = tnode_downs(&nodes[1]);
    base_put_u32be(raw, cases[k].len);
    assert_int_equal(p2p_test_send_raw(nodes[0].p, 1, raw, cases[k].bytes), OK);
    WAIT_UNTIL(dropped(&nodes[1], cases[k].reason) == before + 1);
    WAIT_UNTIL(tnode_downs(&nodes[1]) == downs + 1);
    /* Reconnected once the penalty is served. */
    WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  }
  /* Still a working session. */
  send_seq(&nodes[0], 1, 0, 10, 100);
  WAIT_UNTIL(tnode_msgs(&nodes[1], 0) == 10);
  assert_false(nodes[1].disorder);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

static void test_restart_reconnects(void **state) {
  (void)state;
  struct tnet net = net_of(3);
  struct tnode nodes[3];
  net_start(nodes, &net, 3, NULL, 0);
  for (int i = 0; i < 3; i++) {
    WAIT_UNTIL(connected(&nodes[i]) == 2);
  }
  /* Node 2 has the highest key: the others must dial it again. */
  uint16_t port = nodes[2].port;
  tnode_stop(&nodes[2]);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  assert_false(p2p_peer_connected(nodes[0].p, 2));
  assert_int_equal(p2p_send(nodes[0].p, 2, TYPE_SEQ, (const uint8_t *)"abcd", 4), ERR_UNAVAILABLE);
  tnode_start(&nodes[2], &net, 2, port, NULL, 0);
  for (int i = 0; i < 3; i++) {
    WAIT_UNTIL(connected(&nodes[i]) == 2);
  }
  send_seq(&nodes[0], 2, 0, 5, 16);
  send_seq(&nodes[2], 1, 0, 5, 16);
  WAIT_UNTIL(tnode_msgs(&nodes[2], 0) == 5 && tnode_msgs(&nodes[1], 2) == 5);
  assert_int_equal(nodes[0].downs, 1);
  assert_int_equal(nodes[0].ups, 3);
  for (int i = 0; i < 3; i++) {
    tnode_stop(&nodes[i]);
  }
}

static void test_back_pressure(void **state) {
  (void)state;
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, NULL, 4096);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  /* Writes held: 1 KiB messages (1025 queued bytes with the type byte)
   * fill the 4 KiB bound after three. */
  p2p_test_hold_writes(nodes[0].p, true);
  uint8_t buf[1024];
  for (uint32_t s = 0; s < 3; s++) {
    seq_fill(buf, sizeof buf, s);
    assert_int_equal(p2p_send(nodes[0].p, 1, TYPE_SEQ, buf, sizeof buf), OK);
  }
  seq_fill(buf, sizeof buf, 3);
  assert_int_equal(p2p_send(nodes[0].p, 1, TYPE_SEQ, buf, sizeof buf), ERR_LIMIT);
  assert_int_equal(p2p_broadcast(nodes[0].p, TYPE_SEQ, buf, sizeof buf), 0);
  assert_int_equal(dropped(&nodes[0], P2P_DROP_QUEUE_FULL), 2);
  /* A smaller one still fits (number 3, cut short). */
  assert_int_equal(p2p_send(nodes[0].p, 1, TYPE_SEQ, buf, 500), OK);
  /* Released: everything arrives and the queue takes messages again. */
  p2p_test_hold_writes(nodes[0].p, false);
  WAIT_UNTIL(tnode_msgs(&nodes[1], 0) == 4);
  assert_false(nodes[1].disorder);
  WAIT_UNTIL(p2p_send(nodes[0].p, 1, TYPE_BLOB, buf, sizeof buf) == OK);

  /* Over the frame limit; to a peer that is not there. */
  size_t big = (size_t)LIM_P2P_PAYLOAD_MAX + 1;
  uint8_t *huge = malloc(big);
  assert_non_null(huge);
  assert_int_equal(p2p_send(nodes[0].p, 1, TYPE_BLOB, huge, big), ERR_OVERSIZE);
  assert_int_equal(p2p_broadcast(nodes[0].p, TYPE_BLOB, huge, big), 0);
  free(huge);
  assert_int_equal(p2p_send(nodes[0].p, 0, TYPE_BLOB, buf, 1), ERR_UNAVAILABLE); /* itself */
  tnode_stop(&nodes[1]);
  WAIT_UNTIL(connected(&nodes[0]) == 0);
  assert_int_equal(p2p_send(nodes[0].p, 1, TYPE_BLOB, buf, 1), ERR_UNAVAILABLE);
  tnode_stop(&nodes[0]);
}

static void test_many_in_order(void **state) {
  (void)state;
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, NULL, 0);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  send_seq(&nodes[0], 1, 0, 10000, 1024);
  send_seq(&nodes[1], 0, 0, 10000, 1024);
  WAIT_UNTIL(tnode_msgs(&nodes[1], 0) == 10000 && tnode_msgs(&nodes[0], 1) == 10000);
  assert_false(nodes[0].disorder);
  assert_false(nodes[1].disorder);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

static void test_large_frames(void **state) {
  (void)state;
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, NULL, 0);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  /* 8 MiB, then the largest payload there is, then small ones behind. */
  static const size_t sizes[2] = {8u << 20, LIM_P2P_PAYLOAD_MAX};
  uint8_t *blob = malloc(LIM_P2P_PAYLOAD_MAX);
  assert_non_null(blob);
  for (int k = 0; k < 2; k++) {
    cry_random(blob, sizes[k]);
    struct hash32 h;
    cry_hash(&h, blob, sizes[k]);
    assert_int_equal(p2p_send(nodes[0].p, 1, TYPE_BLOB, blob, sizes[k]), OK);
    WAIT_UNTIL(tnode_blobs(&nodes[1]) == (uint64_t)k + 1);
    pthread_mutex_lock(&nodes[1].mu);
    assert_int_equal(nodes[1].blob_len, sizes[k]);
    assert_memory_equal(nodes[1].blob_hash.b, h.b, 32);
    pthread_mutex_unlock(&nodes[1].mu);
  }
  free(blob);
  send_seq(&nodes[0], 1, 0, 3, 10);
  WAIT_UNTIL(tnode_msgs(&nodes[1], 0) == 5);
  assert_int_equal(connected(&nodes[1]), 1);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

static void test_flood(void **state) {
  (void)state;
  struct p2p_tuning tun;
  tuning_fast(&tun);
  tun.flood_frames_per_s = 200;
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, &tun, 0);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  /* 1000 frames at once: far over 200 a second with a burst of 200. */
  uint8_t buf[8];
  for (uint32_t s = 0; s < 1000; s++) {
    seq_fill(buf, sizeof buf, s);
    if (p2p_send(nodes[0].p, 1, TYPE_SEQ, buf, sizeof buf) != OK) {
      break; /* the session already dropped */
    }
  }
  WAIT_UNTIL(dropped(&nodes[1], P2P_DROP_FLOOD) == 1);
  /* The burst and what refilled while the frames were arriving. */
  assert_true(tnode_msgs(&nodes[1], 0) < 1000);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

static void test_silent_peer(void **state) {
  (void)state;
  struct p2p_tuning tun;
  tuning_fast(&tun);
  tun.idle_ms = 600;
  tun.keepalive_ms = 100;
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, &tun, 0);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  /* Quiet sessions stay up on keep-alives alone. */
  uint64_t before = frames_in(&nodes[1]);
  WAIT_UNTIL(frames_in(&nodes[1]) >= before + 10);
  assert_int_equal(dropped(&nodes[1], P2P_DROP_IDLE), 0);
  /* Node 0 goes silent: node 1 drops it. */
  p2p_test_mute(nodes[0].p, true);
  WAIT_UNTIL(dropped(&nodes[1], P2P_DROP_IDLE) >= 1);
  p2p_test_mute(nodes[0].p, false);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

static void test_punish(void **state) {
  (void)state;
  struct p2p_tuning tun;
  tuning_fast(&tun);
  struct tnet net = net_of(2);
  struct tnode nodes[2];
  net_start(nodes, &net, 2, &tun, 0);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  p2p_punish(nodes[1].p, 0, "bad_vote");
  WAIT_UNTIL(dropped(&nodes[1], P2P_DROP_PUNISHED) == 1);
  WAIT_UNTIL(connected(&nodes[0]) == 1 && connected(&nodes[1]) == 1);
  p2p_punish(nodes[1].p, 0, "bad_vote");
  WAIT_UNTIL(dropped(&nodes[1], P2P_DROP_PUNISHED) == 2);
  struct p2p_stats s;
  p2p_stats(nodes[1].p, &s);
  assert_int_equal(s.npunish, 1);
  assert_string_equal(s.punish[0].reason, "bad_vote");
  assert_int_equal(s.punish[0].count, 2);
  /* Distinct reasons past the table fold into "other". */
  static const char *const reasons[] = {"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"};
  for (size_t i = 0; i < ARRAY_LEN(reasons); i++) {
    p2p_punish(nodes[1].p, 0, reasons[i]);
  }
  p2p_stats(nodes[1].p, &s);
  assert_int_equal(s.npunish, P2P_PUNISH_REASONS_MAX);
  assert_string_equal(s.punish[P2P_PUNISH_REASONS_MAX - 1].reason, "other");
  assert_int_equal(s.punish[P2P_PUNISH_REASONS_MAX - 1].count, 3);
  tnode_stop(&nodes[0]);
  tnode_stop(&nodes[1]);
}

/* ---- A raw client: the protocol by hand on a blocking socket ---- */

static int raw_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = WAIT_MS / 1000};
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv), 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

static void raw_send(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    assert_true(n > 0);
    buf += n;
    len -= (size_t)n;
  }
}

static bool raw_recv(int fd, uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = recv(fd, buf, len, 0);
    if (n <= 0) {
      return false;
    }
    buf += n;
    len -= (size_t)n;
  }
  return true;
}

/* Whether the other side closed fd (within the receive timeout), skipping
 * what it still sends (keep-alives). */
static bool raw_closed(int fd) {
  uint8_t buf[256];
  for (int i = 0; i < 1000; i++) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
      return true;
    }
    if (n < 0) {
      return false;
    }
  }
  return false;
}

/* The handshake over fd as keys[key], with allowed set pks[0..n). */
static struct cry_stream *raw_handshake(int fd, int key, const struct hash32 *net,
                                        const struct pubkey *allowed, uint16_t n, bool initiator,
                                        uint16_t dialed) {
  struct p2p_hs hs;
  struct p2p_hs_params prm = {.keys = keys[key],
                              .network_id = net,
                              .allowed = allowed,
                              .nallowed = n,
                              .initiator = initiator,
                              .dialed = dialed};
  uint8_t hello[P2P_HELLO_BYTES], peer_hello[P2P_HELLO_BYTES];
  uint8_t auth[P2P_AUTH_BYTES], peer_auth[P2P_AUTH_BYTES];
  assert_int_equal(p2p_hs_init(&hs, hello, &prm), OK);
  raw_send(fd, hello, sizeof hello);
  assert_true(raw_recv(fd, peer_hello, sizeof peer_hello));
  assert_int_equal(p2p_hs_on_hello(&hs, auth, peer_hello, sizeof peer_hello), OK);
  raw_send(fd, auth, sizeof auth);
  assert_true(raw_recv(fd, peer_auth, sizeof peer_auth));
  assert_int_equal(p2p_hs_on_auth(&hs, peer_auth, sizeof peer_auth), OK);
  struct cry_stream *s = p2p_hs_stream_take(&hs);
  p2p_hs_deinit(&hs);
  return s;
}

static void raw_send_frame(int fd, struct cry_stream *s, uint8_t type, const uint8_t *payload,
                           size_t len) {
  uint8_t plain[256], frame[4 + 256 + CRY_STREAM_OVERHEAD];
  assert_true(len < sizeof plain);
  plain[0] = type;
  memcpy(plain + 1, payload, len);
  base_put_u32be(frame, (uint32_t)(1 + len + CRY_STREAM_OVERHEAD));
  cry_stream_push(s, frame + 4, plain, 1 + len);
  raw_send(fd, frame, 4 + 1 + len + CRY_STREAM_OVERHEAD);
}

static void test_handshake_deadline_and_garbage(void **state) {
  (void)state;
  struct p2p_tuning tun;
  tuning_fast(&tun);
  tun.handshake_ms = 300;
  struct tnet net = net_of(2);
  struct tnode a;
  tnode_start(&a, &net, 1, 0, &tun, 0); /* keys[0] is never started */
  /* Connects and says nothing. */
  int fd = raw_connect(a.port);
  assert_true(raw_closed(fd));
  close(fd);
  assert_int_equal(dropped(&a, P2P_DROP_HANDSHAKE_TIMEOUT), 1);
  /* Says something that is not a HELLO. */
  fd = raw_connect(a.port);
  uint8_t junk[P2P_HELLO_BYTES];
  memset(junk, 0x41, sizeof junk);
  raw_send(fd, junk, sizeof junk);
  assert_true(raw_closed(fd));
  close(fd);
  assert_int_equal(dropped(&a, P2P_DROP_HANDSHAKE_FAILED), 1);
  /* A real handshake, then an unknown control frame. */
  fd = raw_connect(a.port);
  struct cry_stream *s = raw_handshake(fd, 0, &net.id, pks, 2, true, 1);
  WAIT_UNTIL(connected(&a) == 1);
  uint8_t ctl = 7;
  raw_send_frame(fd, s, P2P_TYPE_TRANSPORT, &ctl, 1);
  assert_true(raw_closed(fd));
  close(fd);
  cry_stream_destroy(s);
  assert_int_equal(dropped(&a, P2P_DROP_BAD_FRAME), 1);
  assert_int_equal(connected(&a), 0);
  tnode_stop(&a);
}

/* Idle sockets holding every handshake slot do not lock validators out:
 * each new connection evicts the oldest pending one. */
static void test_pending_eviction(void **state) {
  (void)state;
  struct tnet net = net_of(2);
  struct tnode a;
  tnode_start(&a, &net, 1, 0, NULL, 0);
  int fds[LIM_P2P_PENDING_MAX + 1];
  uint8_t hello[P2P_HELLO_BYTES];
  for (int i = 0; i < LIM_P2P_PENDING_MAX + 1; i++) {
    fds[i] = raw_connect(a.port);
    assert_true(raw_recv(fds[i], hello, sizeof hello)); /* accepted, in this order */
  }
  assert_true(raw_closed(fds[0]));
  assert_int_equal(dropped(&a, P2P_DROP_PENDING_FULL), 1);
  int fd = raw_connect(a.port);
  struct cry_stream *s = raw_handshake(fd, 0, &net.id, pks, 2, true, 1);
  WAIT_UNTIL(connected(&a) == 1);
  assert_true(raw_closed(fds[1]));
  assert_int_equal(dropped(&a, P2P_DROP_PENDING_FULL), 2);
  cry_stream_destroy(s);
  close(fd);
  for (int i = 0; i < LIM_P2P_PENDING_MAX + 1; i++) {
    close(fds[i]);
  }
  tnode_stop(&a);
}

/* keys[0] (raw, the lower key, so the rightful dialer) connects twice: the
 * newer session replaces the older, without a down for the caller. */
static void test_duplicate_newer_wins(void **state) {
  (void)state;
  struct tnet net = net_of(2);
  struct tnode a;
  tnode_start(&a, &net, 1, 0, NULL, 0);
  int fd1 = raw_connect(a.port);
  struct cry_stream *s1 = raw_handshake(fd1, 0, &net.id, pks, 2, true, 1);
  WAIT_UNTIL(connected(&a) == 1);
  int fd2 = raw_connect(a.port);
  struct cry_stream *s2 = raw_handshake(fd2, 0, &net.id, pks, 2, true, 1);
  assert_true(raw_closed(fd1));
  assert_int_equal(dropped(&a, P2P_DROP_DUPLICATE), 1);
  uint8_t payload[8];
  seq_fill(payload, sizeof payload, 0);
  raw_send_frame(fd2, s2, TYPE_SEQ, payload, sizeof payload);
  WAIT_UNTIL(tnode_msgs(&a, 0) == 1);
  assert_int_equal(a.ups, 1);
  assert_int_equal(a.downs, 0);
  close(fd1);
  close(fd2);
  cry_stream_destroy(s1);
  cry_stream_destroy(s2);
  tnode_stop(&a);
}

/* keys[1] (raw, the higher key) is dialed by keys[0]'s node and also
 * dials it: the session in the rightful direction stays, the other goes. */
static void test_duplicate_direction_wins(void **state) {
  (void)state;
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(lfd >= 0);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(listen(lfd, 4), 0);
  socklen_t alen = sizeof addr;
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &alen), 0);

  struct tnet net = net_of(2);
  net.port[1] = ntohs(addr.sin_port);
  struct tnode a;
  tnode_start(&a, &net, 0, 0, NULL, 0);
  struct pollfd pfd = {.fd = lfd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
  int fd1 = accept(lfd, NULL, NULL);
  assert_true(fd1 >= 0);
  struct timeval tv = {.tv_sec = WAIT_MS / 1000};
  assert_int_equal(setsockopt(fd1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
  struct cry_stream *s1 = raw_handshake(fd1, 1, &net.id, pks, 2, false, 0);
  WAIT_UNTIL(connected(&a) == 1);

  int fd2 = raw_connect(a.port);
  struct p2p_hs hs;
  struct p2p_hs_params prm = {.keys = keys[1],
                              .network_id = &net.id,
                              .allowed = pks,
                              .nallowed = 2,
                              .initiator = true,
                              .dialed = 0};
  uint8_t hello[P2P_HELLO_BYTES], peer_hello[P2P_HELLO_BYTES], auth[P2P_AUTH_BYTES];
  assert_int_equal(p2p_hs_init(&hs, hello, &prm), OK);
  raw_send(fd2, hello, sizeof hello);
  assert_true(raw_recv(fd2, peer_hello, sizeof peer_hello));
  assert_int_equal(p2p_hs_on_hello(&hs, auth, peer_hello, sizeof peer_hello), OK);
  raw_send(fd2, auth, sizeof auth);
  p2p_hs_deinit(&hs);
  assert_true(raw_closed(fd2));
  assert_int_equal(dropped(&a, P2P_DROP_DUPLICATE), 1);
  /* The first session still carries messages. */
  uint8_t payload[8];
  seq_fill(payload, sizeof payload, 0);
  raw_send_frame(fd1, s1, TYPE_SEQ, payload, sizeof payload);
  WAIT_UNTIL(tnode_msgs(&a, 1) == 1);
  assert_int_equal(connected(&a), 1);
  close(fd1);
  close(fd2);
  close(lfd);
  cry_stream_destroy(s1);
  tnode_stop(&a);
}

static void test_config_and_lifecycle(void **state) {
  (void)state;
  struct tnet net = net_of(3);
  struct p2p_config *cfg = malloc(sizeof *cfg);
  assert_non_null(cfg);
  struct p2p *p = NULL;

  cfg_fill(cfg, &net, 0);
  cfg->peers[2].pk = cfg->peers[1].pk; /* duplicate key */
  assert_int_equal(p2p_create(&p, cfg), ERR_CONFIG);
  assert_null(p);
  cfg_fill(cfg, &net, 0);
  snprintf(cfg->listen_host, sizeof cfg->listen_host, "localhost"); /* not a literal */
  assert_int_equal(p2p_create(&p, cfg), ERR_CONFIG);
  cfg_fill(cfg, &net, 0);
  cfg->peers[1].port = 0;
  assert_int_equal(p2p_create(&p, cfg), ERR_CONFIG);
  cfg_fill(cfg, &net, 0);
  cfg->queue_bytes_max = LIM_P2P_QUEUE_BYTES_MAX + 1;
  assert_int_equal(p2p_create(&p, cfg), ERR_CONFIG);
  cfg_fill(cfg, &net, 0);
  memset(cfg->peers[1].host, 'x', sizeof cfg->peers[1].host); /* no NUL */
  assert_int_equal(p2p_create(&p, cfg), ERR_CONFIG);
  cfg_fill(cfg, &net, 0);
  cfg->keys = NULL;
  assert_int_equal(p2p_create(&p, cfg), ERR_CONFIG);

  /* A port in use. */
  cfg_fill(cfg, &net, 0);
  struct p2p *first = NULL;
  assert_int_equal(p2p_create(&first, cfg), OK);
  cfg->listen_port = p2p_listen_port(first);
  assert_int_equal(p2p_create(&p, cfg), ERR_IO);
  assert_null(p);
  /* Created and destroyed without starting; stopped without starting. */
  p2p_stop(first);
  p2p_destroy(first);
  p2p_destroy(NULL);

  /* IPv6 loopback, and a peer named by DNS: resolving and dialing it
   * winds down cleanly. */
  cfg_fill(cfg, &net, 0);
  snprintf(cfg->listen_host, sizeof cfg->listen_host, "::1");
  snprintf(cfg->peers[1].host, sizeof cfg->peers[1].host, "localhost");
  int rc = p2p_create(&p, cfg);
  if (rc == OK) { /* a host without IPv6 says ERR_IO */
    assert_int_equal(p2p_start(p), OK);
    sleep_ms(50);
    p2p_destroy(p);
  } else {
    assert_int_equal(rc, ERR_IO);
  }
  free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hs_success),
      cmocka_unit_test(test_hs_tamper),
      cmocka_unit_test(test_hs_refusals),
      cmocka_unit_test(test_hs_fresh_sessions),
      cmocka_unit_test(test_rx_frames_bytewise),
      cmocka_unit_test(test_rx_limits),
      cmocka_unit_test(test_bucket_and_backoff),
      cmocka_unit_test(test_config_and_lifecycle),
      cmocka_unit_test(test_three_nodes),
      cmocka_unit_test(test_unknown_key_refused),
      cmocka_unit_test(test_wrong_network_refused),
      cmocka_unit_test(test_bad_frames),
      cmocka_unit_test(test_restart_reconnects),
      cmocka_unit_test(test_back_pressure),
      cmocka_unit_test(test_many_in_order),
      cmocka_unit_test(test_large_frames),
      cmocka_unit_test(test_flood),
      cmocka_unit_test(test_silent_peer),
      cmocka_unit_test(test_punish),
      cmocka_unit_test(test_handshake_deadline_and_garbage),
      cmocka_unit_test(test_pending_eviction),
      cmocka_unit_test(test_duplicate_newer_wins),
      cmocka_unit_test(test_duplicate_direction_wins),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
