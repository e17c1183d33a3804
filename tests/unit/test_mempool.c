/*
 * test_mempool — the node's mempool as a data structure: admission rules
 * (REPLAY, NONCE_GAP, DUPLICATE_TX, MEMPOOL_FULL), block selection order
 * (arrival, with each sender's nonces in order and gaps waiting), removal,
 * pruning and the dropped-reason ring, and the hash table under churn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "node/node_internal.h"

#include <stdlib.h>
#include <string.h>

static struct hash32 id_of(uint32_t k) {
  struct hash32 h;
  uint8_t seed[4];
  base_put_u32be(seed, k);
  cry_hash_tagged(&h, "test.id", seed, sizeof seed);
  return h;
}

/* A fake transaction of sender s with nonce: its bytes name both, and a
 * salt tells apart two different transactions with the same nonce. */
struct fake {
  uint8_t buf[64];
  size_t len;
  struct hash32 hash;
  struct hash32 sender;
  uint64_t nonce;
};

static struct fake fake_tx(uint32_t s, uint64_t nonce, uint32_t salt, size_t len) {
  struct fake f;
  memset(&f, 0, sizeof f);
  assert_true(len >= 16 && len <= sizeof f.buf);
  base_put_u32be(f.buf, s);
  base_put_u64be(f.buf + 4, nonce);
  base_put_u32be(f.buf + 12, salt);
  f.len = len;
  cry_hash(&f.hash, f.buf, f.len);
  f.sender = id_of(s);
  f.nonce = nonce;
  return f;
}

static int add(struct node_mempool *mp, const struct fake *f, uint64_t next) {
  return node_mempool_add(mp, f->buf, f->len, &f->hash, &f->sender, f->nonce, next);
}

static struct node_mempool *pool(uint32_t txs, uint64_t bytes) {
  struct node_mempool *mp = NULL;
  assert_int_equal(node_mempool_create(&mp, txs, bytes), OK);
  return mp;
}

/* Selection as (sender, nonce) pairs. */
static uint32_t select_all(struct node_mempool *mp, uint32_t *senders, uint64_t *nonces,
                           uint32_t max) {
  struct node_mempool_entry *out[64];
  assert_true(max <= 64);
  uint32_t n = node_mempool_select(mp, out, max);
  for (uint32_t i = 0; i < n; i++) {
    nonces[i] = out[i]->nonce;
    senders[i] = 0;
    for (uint32_t s = 0; s < 8; s++) {
      struct hash32 id = id_of(s);
      if (base_hash_eq(&id, &out[i]->sender)) {
        senders[i] = s;
      }
    }
  }
  return n;
}

static void test_admission_rules(void **state) {
  (void)state;
  struct node_mempool *mp = pool(16, 1 << 20);
  struct fake a5 = fake_tx(1, 5, 0, 32);
  bool runnable = false;
  assert_int_equal(node_mempool_check(mp, &a5.hash, &a5.sender, 5, a5.len, 5, &runnable), OK);
  assert_true(runnable);
  assert_int_equal(add(mp, &a5, 5), OK);
  /* The same bytes again, and another tx with the same sender and nonce. */
  assert_int_equal(add(mp, &a5, 5), ERR_DUPLICATE_TX);
  struct fake a5b = fake_tx(1, 5, 1, 32);
  assert_int_equal(add(mp, &a5b, 5), ERR_DUPLICATE_TX);
  /* Below the next nonce, and beyond next + pending. */
  struct fake a4 = fake_tx(1, 4, 0, 32);
  assert_int_equal(add(mp, &a4, 5), ERR_REPLAY);
  struct fake a7 = fake_tx(1, 7, 0, 32);
  assert_int_equal(add(mp, &a7, 5), ERR_NONCE_GAP);
  struct fake a6 = fake_tx(1, 6, 0, 32);
  assert_int_equal(node_mempool_check(mp, &a6.hash, &a6.sender, 6, a6.len, 5, &runnable), OK);
  assert_false(runnable); /* queued behind nonce 5 */
  assert_int_equal(add(mp, &a6, 5), OK);
  assert_int_equal(add(mp, &a7, 5), OK);
  /* A fresh sender must start at its next nonce. */
  struct fake b2 = fake_tx(2, 2, 0, 32);
  assert_int_equal(add(mp, &b2, 1), ERR_NONCE_GAP);
  assert_int_equal(node_mempool_count(mp), 3);
  assert_int_equal(node_mempool_bytes(mp), 96);
  assert_int_equal(node_mempool_pending(mp, &a5.sender), 3);
  assert_int_equal(node_mempool_pending(mp, &b2.sender), 0);
  assert_true(node_mempool_contains(mp, &a6.hash));
  assert_false(node_mempool_contains(mp, &b2.hash));
  node_mempool_destroy(mp);
}

static void test_full(void **state) {
  (void)state;
  /* Count bound. */
  struct node_mempool *mp = pool(3, 1 << 20);
  for (uint32_t s = 0; s < 3; s++) {
    struct fake f = fake_tx(s, 1, 0, 32);
    assert_int_equal(add(mp, &f, 1), OK);
  }
  struct fake over = fake_tx(3, 1, 0, 32);
  assert_int_equal(add(mp, &over, 1), ERR_MEMPOOL_FULL);
  node_mempool_destroy(mp);

  /* Byte bound: 100 bytes hold two 40-byte and not a third. */
  mp = pool(16, 100);
  struct fake f1 = fake_tx(0, 1, 0, 40);
  struct fake f2 = fake_tx(1, 1, 0, 40);
  struct fake f3 = fake_tx(2, 1, 0, 40);
  struct fake small = fake_tx(2, 1, 1, 20);
  assert_int_equal(add(mp, &f1, 1), OK);
  assert_int_equal(add(mp, &f2, 1), OK);
  assert_int_equal(add(mp, &f3, 1), ERR_MEMPOOL_FULL);
  assert_int_equal(add(mp, &small, 1), OK);
  /* Room comes back when an entry leaves. */
  struct node_mempool_entry *out[4];
  assert_int_equal(node_mempool_select(mp, out, 1), 1);
  node_mempool_remove(mp, out[0], OK);
  struct fake f4 = fake_tx(3, 1, 0, 40);
  assert_int_equal(add(mp, &f4, 1), OK);
  node_mempool_destroy(mp);
}

static void test_select_order(void **state) {
  (void)state;
  struct node_mempool *mp = pool(64, 1 << 20);
  /* Arrivals: A1 B1 A2 C3(C's next is 3) A3 B2. */
  struct fake a1 = fake_tx(1, 1, 0, 32), b1 = fake_tx(2, 1, 0, 32), a2 = fake_tx(1, 2, 0, 32);
  struct fake c3 = fake_tx(3, 3, 0, 32), a3 = fake_tx(1, 3, 0, 32), b2 = fake_tx(2, 2, 0, 32);
  assert_int_equal(add(mp, &a1, 1), OK);
  assert_int_equal(add(mp, &b1, 1), OK);
  assert_int_equal(add(mp, &a2, 1), OK);
  assert_int_equal(add(mp, &c3, 3), OK);
  assert_int_equal(add(mp, &a3, 1), OK);
  assert_int_equal(add(mp, &b2, 1), OK);
  assert_int_equal(node_mempool_ready_senders(mp), 3);
  uint32_t s[64] = {0};
  uint64_t nn[64] = {0};
  uint32_t n = select_all(mp, s, nn, 64);
  assert_int_equal(n, 6);
  const uint32_t want_s[] = {1, 2, 1, 3, 1, 2};
  const uint64_t want_n[] = {1, 1, 2, 3, 3, 2};
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(s[i], want_s[i]);
    assert_int_equal(nn[i], want_n[i]);
  }
  /* A bounded selection is a prefix of the same order. */
  assert_int_equal(select_all(mp, s, nn, 2), 2);
  assert_int_equal(s[1], 2);
  node_mempool_destroy(mp);
}

static void test_gap_waits(void **state) {
  (void)state;
  struct node_mempool *mp = pool(64, 1 << 20);
  struct fake a1 = fake_tx(1, 1, 0, 32), a2 = fake_tx(1, 2, 0, 32), a3 = fake_tx(1, 3, 0, 32);
  struct fake b1 = fake_tx(2, 1, 0, 32);
  assert_int_equal(add(mp, &a1, 1), OK);
  assert_int_equal(add(mp, &a2, 1), OK);
  assert_int_equal(add(mp, &a3, 1), OK);
  assert_int_equal(add(mp, &b1, 1), OK);
  /* A1 is dropped (a block could not admit it): A2 and A3 wait. */
  struct node_mempool_entry *out[8];
  assert_int_equal(node_mempool_select(mp, out, 1), 1);
  assert_true(base_hash_eq(&out[0]->hash, &a1.hash));
  node_mempool_remove(mp, out[0], ERR_SUSPENDED);
  int code = OK;
  assert_true(node_mempool_dropped(mp, &a1.hash, &code));
  assert_int_equal(code, ERR_SUSPENDED);
  assert_false(node_mempool_dropped(mp, &a2.hash, &code));
  assert_int_equal(node_mempool_ready_senders(mp), 1);
  uint32_t s[8] = {0};
  uint64_t nn[8] = {0};
  assert_int_equal(select_all(mp, s, nn, 8), 1);
  assert_int_equal(s[0], 2);
  /* A new nonce 1 fills the gap. B1 arrived before it and goes first;
   * then the new A1 and right after it its successors, which arrived
   * earlier and waited, in nonce order. */
  struct fake a1b = fake_tx(1, 1, 7, 32);
  assert_int_equal(add(mp, &a1b, 1), OK);
  assert_int_equal(select_all(mp, s, nn, 8), 4);
  const uint32_t want_s[] = {2, 1, 1, 1};
  const uint64_t want_n[] = {1, 1, 2, 3};
  for (uint32_t i = 0; i < 4; i++) {
    assert_int_equal(s[i], want_s[i]);
    assert_int_equal(nn[i], want_n[i]);
  }
  node_mempool_destroy(mp);
}

static void test_commit_and_prune(void **state) {
  (void)state;
  struct node_mempool *mp = pool(64, 1 << 20);
  struct fake a1 = fake_tx(1, 1, 0, 32), a2 = fake_tx(1, 2, 0, 32), a3 = fake_tx(1, 3, 0, 32);
  assert_int_equal(add(mp, &a1, 1), OK);
  assert_int_equal(add(mp, &a2, 1), OK);
  assert_int_equal(add(mp, &a3, 1), OK);
  struct node_mempool_entry *out[8];
  assert_int_equal(node_mempool_select(mp, out, 1), 1);
  node_mempool_detach(mp, out[0], OK);
  /* Detached entries stay readable until freed. */
  assert_true(base_hash_eq(&out[0]->hash, &a1.hash));
  assert_int_equal(out[0]->buf[0], a1.buf[0]);
  node_mempool_entry_free(out[0]);
  assert_int_equal(node_mempool_prune(mp, &a1.sender), 0);
  /* The committed state moved past nonce 2 (another node's block, say):
   * a later admission raises the sender's next nonce, and prune drops the
   * stale entry. */
  struct fake a4 = fake_tx(1, 4, 0, 32);
  assert_int_equal(add(mp, &a4, 3), OK);
  assert_int_equal(node_mempool_prune(mp, &a1.sender), 1);
  int code = OK;
  assert_true(node_mempool_dropped(mp, &a2.hash, &code));
  assert_int_equal(code, ERR_REPLAY);
  assert_int_equal(node_mempool_count(mp), 2);
  uint32_t s[8] = {0};
  uint64_t nn[8] = {0};
  assert_int_equal(select_all(mp, s, nn, 8), 2);
  assert_int_equal(nn[0], 3);
  assert_int_equal(nn[1], 4);
  node_mempool_destroy(mp);
}

/* A submission can see a block's state before the producer removes the
 * block's entries: the sender's next nonce then runs ahead of entries
 * still in the pool, which must neither be selected again nor upset the
 * removal. */
static void test_state_ahead_of_pool(void **state) {
  (void)state;
  struct node_mempool *mp = pool(64, 1 << 20);
  struct fake a1 = fake_tx(1, 1, 0, 32), a2 = fake_tx(1, 2, 0, 32), a3 = fake_tx(1, 3, 0, 32);
  assert_int_equal(add(mp, &a1, 1), OK);
  assert_int_equal(add(mp, &a2, 1), OK);
  struct node_mempool_entry *out[8];
  assert_int_equal(node_mempool_select(mp, out, 8), 2);
  /* A1 and A2 committed; a submission sees next = 3 first. */
  assert_int_equal(add(mp, &a3, 3), OK);
  assert_int_equal(node_mempool_select(mp, out + 2, 6), 1);
  assert_true(base_hash_eq(&out[2]->hash, &a3.hash));
  node_mempool_remove(mp, out[0], OK);
  node_mempool_remove(mp, out[1], OK);
  assert_int_equal(node_mempool_prune(mp, &a1.sender), 0);
  assert_int_equal(node_mempool_ready_senders(mp), 1);
  struct node_mempool_entry *again[8];
  assert_int_equal(node_mempool_select(mp, again, 8), 1);
  assert_ptr_equal(again[0], out[2]);
  node_mempool_destroy(mp);
}

/* Random adds and removes against a plain array model: the tables'
 * backward-shift deletion must keep every remaining key findable, and the
 * counts must match. Each slot is its own sender, so adds never collide on
 * nonces; the pool is small enough that probe runs get long. */
static void test_churn(void **state) {
  (void)state;
  enum { N = 600 };
  struct node_mempool *mp = pool(N, 64u << 20);
  struct fake *model = calloc(N, sizeof *model);
  bool *live = calloc(N, sizeof *live);
  assert_non_null(model);
  assert_non_null(live);
  uint32_t rng = 12345, count = 0;
  for (uint32_t round = 0; round < 40000; round++) {
    rng = rng * 1103515245u + 12345u;
    uint32_t k = (rng >> 8) % N;
    if (!live[k]) {
      model[k] = fake_tx(k, 1, round, 24);
      assert_int_equal(add(mp, &model[k], 1), OK);
      live[k] = true;
      count++;
    } else {
      struct node_mempool_entry *e = node_mempool_find(mp, &model[k].hash);
      assert_non_null(e);
      assert_int_equal(e->nonce, 1);
      node_mempool_remove(mp, e, (round & 1) ? OK : ERR_LIMIT);
      assert_false(node_mempool_contains(mp, &model[k].hash));
      live[k] = false;
      count--;
    }
    assert_int_equal(node_mempool_count(mp), count);
    assert_int_equal(node_mempool_ready_senders(mp), count);
    if (round % 997 == 0) {
      for (uint32_t j = 0; j < N; j++) {
        assert_true(!live[j] || node_mempool_contains(mp, &model[j].hash));
      }
    }
  }
  for (uint32_t j = 0; j < N; j++) {
    assert_true(live[j] == node_mempool_contains(mp, &model[j].hash));
  }
  assert_int_equal(node_mempool_bytes(mp), (uint64_t)count * 24);
  free(live);
  free(model);
  node_mempool_destroy(mp);
}

int main(void) {
  if (cry_init() != OK) {
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_admission_rules),
      cmocka_unit_test(test_full),
      cmocka_unit_test(test_select_order),
      cmocka_unit_test(test_gap_waits),
      cmocka_unit_test(test_commit_and_prune),
      cmocka_unit_test(test_state_ahead_of_pool),
      cmocka_unit_test(test_churn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
