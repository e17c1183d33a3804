/*
 * Unit tests of state: the per-transaction buffer, the dirty-key cap, the
 * sparse Merkle tree (incremental root == from-scratch root after every
 * batch of a seeded random history, order independence, canonical node
 * storage, deep paths), proofs and their tamper cases, and golden roots in
 * tests/vectors/smt/roots.txt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "state/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAP_BYTES (256u * 1024u * 1024u)

/* The tree's definition, restated from state.h so that the tests check the
 * implementation against the text rather than against itself. */
#define TAG_KEY "medchain.smt.key.v1"
#define TAG_VALUE "medchain.smt.value.v1"
#define TAG_LEAF "medchain.smt.leaf.v1"
#define TAG_NODE "medchain.smt.node.v1"

struct fx {
  char dir[64];
  struct store *s;
};

static struct bytes bs(const char *s) {
  return (struct bytes){(const uint8_t *)s, strlen(s)};
}

static void fx_open(struct fx *f) {
  snprintf(f->dir, sizeof(f->dir), "/tmp/medchain-state-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(store_open(&f->s, f->dir, MAP_BYTES), OK);
}

static void fx_close(struct fx *f) {
  store_close(f->s);
  char path[128];
  snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
  unlink(path);
  rmdir(f->dir);
}

static int fx_setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  fx_open(f);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  fx_close(*state);
  free(*state);
  return 0;
}

static void w_begin(struct fx *f, struct store_txn **t, struct state **st) {
  assert_int_equal(store_write_begin(f->s, t), OK);
  assert_int_equal(state_create(st, *t), OK);
}

static void w_commit(struct store_txn *t, struct state *st) {
  state_destroy(st);
  assert_int_equal(store_txn_commit(t), OK);
}

/* Folds the committed writes into the tree and checks the incremental
 * root against the from-scratch one. */
static void root_checked(struct state *st, struct hash32 *root) {
  assert_int_equal(state_root_update(st, root), OK);
  struct hash32 again;
  assert_int_equal(state_root_recompute(st, &again), OK);
  assert_memory_equal(root->b, again.b, 32);
  assert_int_equal(state_root(st, &again), OK);
  assert_memory_equal(root->b, again.b, 32);
}

static void expect_val(struct state *st, const char *k, const char *v) {
  struct bytes got;
  if (v == NULL) {
    assert_int_equal(state_get(st, bs(k), &got), ERR_NOT_FOUND);
    return;
  }
  assert_int_equal(state_get(st, bs(k), &got), OK);
  assert_int_equal(got.len, strlen(v));
  assert_memory_equal(got.ptr, v, got.len);
}

static void put_commit(struct state *st, const char *k, const char *v) {
  assert_int_equal(state_put(st, bs(k), bs(v)), OK);
  assert_int_equal(state_tx_commit(st), OK);
}

/* ---- spec-side hashing ---- */

static void spec_key(struct hash32 *k, struct bytes key) {
  cry_hash_tagged(k, TAG_KEY, key.ptr, key.len);
}

static void spec_leaf(struct hash32 *out, struct bytes key, struct bytes val) {
  uint8_t buf[64];
  struct hash32 h;
  spec_key(&h, key);
  memcpy(buf, h.b, 32);
  cry_hash_tagged(&h, TAG_VALUE, val.ptr, val.len);
  memcpy(buf + 32, h.b, 32);
  cry_hash_tagged(out, TAG_LEAF, buf, sizeof(buf));
}

static void spec_node(struct hash32 *out, const struct hash32 *l, const struct hash32 *r) {
  uint8_t buf[64];
  memcpy(buf, l->b, 32);
  memcpy(buf + 32, r->b, 32);
  cry_hash_tagged(out, TAG_NODE, buf, sizeof(buf));
}

static unsigned spec_bit(const struct hash32 *k, unsigned i) {
  return (k->b[i / 8] >> (7 - i % 8)) & 1u;
}

/* ---- a seeded PRNG and a model of the state ---- */

static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n) {
  return (uint32_t)(rng_next(s) % n);
}

#define MODEL_KEYS 300
#define MODEL_VAL_MAX 40

struct model {
  bool present[MODEL_KEYS];
  uint8_t len[MODEL_KEYS];
  uint8_t val[MODEL_KEYS][MODEL_VAL_MAX];
};

static struct bytes model_key(char buf[32], unsigned i) {
  int n = snprintf(buf, 32, "k/%u", i);
  return (struct bytes){(const uint8_t *)buf, (size_t)n};
}

/* One random transaction against st, mirrored into m unless aborted. */
static void random_tx(struct state *st, struct model *m, uint64_t *rng) {
  struct model next = *m;
  unsigned writes = 1 + rng_below(rng, 12);
  for (unsigned w = 0; w < writes; w++) {
    unsigned i = rng_below(rng, MODEL_KEYS);
    char kb[32];
    struct bytes key = model_key(kb, i);
    if (rng_below(rng, 10) < 3) {
      assert_int_equal(state_del(st, key), OK);
      next.present[i] = false;
      continue;
    }
    next.present[i] = true;
    next.len[i] = (uint8_t)rng_below(rng, MODEL_VAL_MAX + 1);
    for (unsigned j = 0; j < next.len[i]; j++) {
      next.val[i][j] = (uint8_t)rng_next(rng);
    }
    assert_int_equal(state_put(st, key, (struct bytes){next.val[i], next.len[i]}), OK);
  }
  if (rng_below(rng, 5) == 0) {
    state_tx_abort(st);
    return;
  }
  assert_int_equal(state_tx_commit(st), OK);
  *m = next;
}

static void model_check(struct state *st, const struct model *m) {
  size_t present = 0;
  for (unsigned i = 0; i < MODEL_KEYS; i++) {
    char kb[32];
    struct bytes got;
    int err = state_get(st, model_key(kb, i), &got);
    if (!m->present[i]) {
      assert_int_equal(err, ERR_NOT_FOUND);
      continue;
    }
    present++;
    assert_int_equal(err, OK);
    assert_int_equal(got.len, m->len[i]);
    assert_memory_equal(got.ptr, m->val[i], got.len);
  }
  struct state_iter *it = NULL;
  assert_int_equal(state_iter_begin(st, bs(""), bs(""), &it), OK);
  size_t seen = 0;
  struct bytes k;
  struct bytes v;
  while (state_iter_next(it, &k, &v) == OK) {
    seen++;
  }
  state_iter_end(it);
  assert_int_equal(seen, present);
}

/* A fresh store holding m's entries, written in one batch. */
static void model_build_fresh(struct fx *f, const struct model *m, struct hash32 *root) {
  fx_open(f);
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  unsigned in_tx = 0;
  for (unsigned i = 0; i < MODEL_KEYS; i++) {
    if (!m->present[i]) {
      continue;
    }
    char kb[32];
    assert_int_equal(state_put(st, model_key(kb, i), (struct bytes){m->val[i], m->len[i]}), OK);
    if (++in_tx == LIM_TX_WRITES_MAX) {
      assert_int_equal(state_tx_commit(st), OK);
      in_tx = 0;
    }
  }
  assert_int_equal(state_tx_commit(st), OK);
  root_checked(st, root);
  w_commit(t, st);
}

/* The stored trees of a and b are identical, node for node: storage is a
 * function of the entries, not of their history. */
static void smt_tables_equal(struct store *a, struct store *b) {
  struct store_txn *ta = NULL;
  struct store_txn *tb = NULL;
  assert_int_equal(store_read_begin(a, &ta), OK);
  assert_int_equal(store_read_begin(b, &tb), OK);
  struct store_iter *ia = NULL;
  struct store_iter *ib = NULL;
  assert_int_equal(store_iter_begin(ta, STORE_SMT, bs(""), bs(""), &ia), OK);
  assert_int_equal(store_iter_begin(tb, STORE_SMT, bs(""), bs(""), &ib), OK);
  for (;;) {
    struct bytes ka, va, kb, vb;
    int ea = store_iter_next(ia, &ka, &va);
    int eb = store_iter_next(ib, &kb, &vb);
    assert_int_equal(ea, eb);
    if (ea != OK) {
      break;
    }
    assert_int_equal(ka.len, kb.len);
    assert_memory_equal(ka.ptr, kb.ptr, ka.len);
    assert_int_equal(va.len, vb.len);
    assert_memory_equal(va.ptr, vb.ptr, va.len);
  }
  store_iter_end(ia);
  store_iter_end(ib);
  store_txn_abort(ta);
  store_txn_abort(tb);
}

static void model_compare_fresh(struct fx *f, const struct model *m, const struct hash32 *root) {
  struct fx fresh;
  struct hash32 fresh_root;
  model_build_fresh(&fresh, m, &fresh_root);
  assert_memory_equal(root->b, fresh_root.b, 32);
  smt_tables_equal(f->s, fresh.s);
  fx_close(&fresh);
}

/* ---- buffer semantics ---- */

static void test_buffer(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  assert_ptr_equal(state_txn(st), t);
  struct hash32 root;
  root_checked(st, &root);
  assert_true(base_hash_is_zero(&root));

  assert_int_equal(state_put(st, bs("a"), bs("1")), OK);
  expect_val(st, "a", "1");
  state_tx_abort(st);
  expect_val(st, "a", NULL);
  root_checked(st, &root);
  assert_true(base_hash_is_zero(&root)); /* an aborted tx changes nothing */

  put_commit(st, "a", "1");
  struct hash32 r1;
  root_checked(st, &r1);
  assert_false(base_hash_is_zero(&r1));

  assert_int_equal(state_put(st, bs("a"), bs("2")), OK);
  assert_int_equal(state_put(st, bs("b"), bs("x")), OK);
  assert_int_equal(state_put(st, bs("a"), bs("3")), OK); /* replaces, same slot */
  expect_val(st, "a", "3");
  assert_int_equal(state_del(st, bs("a")), OK);
  expect_val(st, "a", NULL);
  assert_int_equal(state_put(st, bs("a"), bs("4")), OK);
  expect_val(st, "a", "4");
  state_tx_abort(st);
  expect_val(st, "a", "1");
  expect_val(st, "b", NULL);
  root_checked(st, &root);
  assert_memory_equal(root.b, r1.b, 32);

  /* A value read from the buffer stays put while other keys are read, and
   * may be written back through itself. */
  assert_int_equal(state_put(st, bs("c"), bs("cvalue")), OK);
  struct bytes cv;
  assert_int_equal(state_get(st, bs("c"), &cv), OK);
  expect_val(st, "a", "1");
  assert_int_equal(cv.len, 6);
  assert_memory_equal(cv.ptr, "cvalue", 6);
  assert_int_equal(state_put(st, bs("c"), cv), OK);
  assert_int_equal(state_put(st, bs("d"), cv), OK);
  expect_val(st, "d", "cvalue");
  assert_int_equal(state_tx_commit(st), OK);
  expect_val(st, "c", "cvalue");

  /* Put then delete in later transactions of one block: absent at the end. */
  put_commit(st, "e", "1");
  assert_int_equal(state_del(st, bs("e")), OK);
  assert_int_equal(state_del(st, bs("never")), OK); /* absent keys are fine */
  assert_int_equal(state_tx_commit(st), OK);
  assert_int_equal(state_del(st, bs("c")), OK);
  assert_int_equal(state_del(st, bs("d")), OK);
  assert_int_equal(state_tx_commit(st), OK);
  root_checked(st, &root);
  assert_memory_equal(root.b, r1.b, 32);
  w_commit(t, st);
}

static void test_buffer_limits(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  uint8_t big[LIM_STATE_VALUE_MAX + 1];
  memset(big, 7, sizeof(big));
  assert_int_equal(state_put(st, (struct bytes){big, LIM_STATE_KEY_MAX + 1}, bs("v")),
                   ERR_OVERSIZE);
  assert_int_equal(state_put(st, (struct bytes){big, 0}, bs("v")), ERR_OVERSIZE);
  assert_int_equal(state_del(st, (struct bytes){big, LIM_STATE_KEY_MAX + 1}), ERR_OVERSIZE);
  assert_int_equal(state_put(st, bs("k"), (struct bytes){big, sizeof(big)}), ERR_OVERSIZE);
  assert_int_equal(state_put(st, (struct bytes){big, LIM_STATE_KEY_MAX},
                             (struct bytes){big, LIM_STATE_VALUE_MAX}),
                   OK);
  assert_int_equal(state_put(st, bs("empty"), (struct bytes){NULL, 0}), OK);
  expect_val(st, "empty", "");
  struct bytes got;
  assert_int_equal(state_get(st, (struct bytes){big, LIM_STATE_KEY_MAX + 1}, &got), ERR_NOT_FOUND);
  state_tx_abort(st);

  for (unsigned i = 0; i < LIM_TX_WRITES_MAX; i++) {
    char kb[32];
    assert_int_equal(state_put(st, model_key(kb, i), bs("v")), OK);
  }
  char kb[32];
  assert_int_equal(state_put(st, model_key(kb, LIM_TX_WRITES_MAX), bs("v")), ERR_LIMIT);
  assert_int_equal(state_del(st, model_key(kb, LIM_TX_WRITES_MAX)), ERR_LIMIT);
  assert_int_equal(state_put(st, model_key(kb, 3), bs("again")), OK); /* same key: no slot */
  assert_int_equal(state_tx_commit(st), OK);
  expect_val(st, "k/3", "again");
  struct hash32 root;
  root_checked(st, &root);
  w_commit(t, st);

  /* A read-only state reads and scans but has no buffer. */
  assert_int_equal(store_read_begin(f->s, &t), OK);
  assert_int_equal(state_create(&st, t), OK);
  expect_val(st, "k/3", "again");
  struct hash32 stored;
  assert_int_equal(state_root(st, &stored), OK);
  assert_memory_equal(stored.b, root.b, 32);
  state_destroy(st);
  store_txn_abort(t);
}

/* One block may fold at most LIM_BLOCK_TXS_MAX * LIM_TX_WRITES_MAX writes
 * into the tree; the next commit is refused until the root is updated. */
static void test_dirty_cap(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  for (unsigned tx = 0; tx < LIM_BLOCK_TXS_MAX; tx++) {
    for (unsigned i = 0; i < LIM_TX_WRITES_MAX; i++) {
      char kb[32];
      uint8_t v[2] = {(uint8_t)tx, (uint8_t)(tx >> 8)};
      assert_int_equal(state_put(st, model_key(kb, i), (struct bytes){v, 2}), OK);
    }
    assert_int_equal(state_tx_commit(st), OK);
  }
  assert_int_equal(state_put(st, bs("one more"), bs("v")), OK);
  assert_int_equal(state_tx_commit(st), ERR_LIMIT);
  struct hash32 root;
  root_checked(st, &root);
  assert_int_equal(state_tx_commit(st), OK); /* the buffer was kept */
  expect_val(st, "one more", "v");
  root_checked(st, &root);
  w_commit(t, st);
}

static void test_iter_committed_only(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  put_commit(st, "p/1", "a");
  put_commit(st, "p/2", "b");
  put_commit(st, "q/1", "c");
  assert_int_equal(state_put(st, bs("p/3"), bs("buffered")), OK);
  struct state_iter *it = NULL;
  assert_int_equal(state_iter_begin(st, bs("p/"), bs("p/2"), &it), OK);
  struct bytes k;
  struct bytes v;
  assert_int_equal(state_iter_next(it, &k, &v), OK);
  assert_int_equal(k.len, 3);
  assert_memory_equal(k.ptr, "p/2", 3);
  assert_int_equal(state_iter_next(it, &k, &v), ERR_NOT_FOUND);
  state_iter_end(it);
  state_tx_abort(st);
  w_commit(t, st);
}

/* ---- the tree ---- */

static void test_random_history(void **state) {
  struct fx *f = *state;
  static struct model m; /* zero: empty */
  memset(&m, 0, sizeof(m));
  uint64_t rng = 0x6d656463686169ull;
  struct hash32 root;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  for (unsigned batch = 0; batch < 120; batch++) {
    w_begin(f, &t, &st);
    unsigned txs = 1 + rng_below(&rng, batch % 10 == 0 ? 60 : 6);
    for (unsigned i = 0; i < txs; i++) {
      random_tx(st, &m, &rng);
    }
    root_checked(st, &root);
    model_check(st, &m);
    if (rng_below(&rng, 4) == 0) {
      w_commit(t, st); /* a later block starts from a reopened transaction */
    } else {
      state_destroy(st);
      assert_int_equal(store_txn_commit(t), OK);
    }
    if (batch % 20 == 19) {
      model_compare_fresh(f, &m, &root);
    }
  }
  /* Delete everything: the tree must be gone, not just hash to zero. */
  w_begin(f, &t, &st);
  for (unsigned i = 0; i < MODEL_KEYS; i++) {
    char kb[32];
    assert_int_equal(state_del(st, model_key(kb, i)), OK);
    if (i % LIM_TX_WRITES_MAX == LIM_TX_WRITES_MAX - 1) {
      assert_int_equal(state_tx_commit(st), OK);
    }
  }
  assert_int_equal(state_tx_commit(st), OK);
  root_checked(st, &root);
  assert_true(base_hash_is_zero(&root));
  w_commit(t, st);
  memset(&m, 0, sizeof(m));
  model_compare_fresh(f, &m, &root);
}

/* Keys whose hashes share their first 12 bits with "deep/seed", so paths
 * run deep, inner nodes have empty sides, and leaves move far on delete. */
#define DEEP_KEYS 12

static void deep_keys(char names[DEEP_KEYS][32]) {
  struct hash32 target;
  spec_key(&target, bs("deep/seed"));
  unsigned found = 0;
  for (unsigned i = 0; found < DEEP_KEYS; i++) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "deep/%u", i);
    struct hash32 k;
    spec_key(&k, (struct bytes){(const uint8_t *)buf, (size_t)n});
    if (k.b[0] == target.b[0] && (k.b[1] & 0xf0) == (target.b[1] & 0xf0)) {
      memcpy(names[found++], buf, sizeof(buf));
    }
  }
}

static void test_deep_paths(void **state) {
  struct fx *f = *state;
  static char names[DEEP_KEYS][32];
  deep_keys(names);
  struct store_txn *t = NULL;
  struct state *st = NULL;
  struct hash32 root;
  w_begin(f, &t, &st);
  put_commit(st, "shallow/1", "x"); /* a few ordinary neighbours */
  put_commit(st, "shallow/2", "y");
  for (unsigned i = 0; i < DEEP_KEYS; i++) {
    put_commit(st, names[i], names[i]);
    root_checked(st, &root);
  }
  /* Delete in an order unrelated to insertion, one per update. */
  for (unsigned i = 0; i < DEEP_KEYS; i++) {
    unsigned j = (i * 5 + 3) % DEEP_KEYS;
    assert_int_equal(state_del(st, bs(names[j])), OK);
    assert_int_equal(state_tx_commit(st), OK);
    root_checked(st, &root);
    struct state_proof p;
    assert_int_equal(state_prove(st, bs(names[j]), &p), OK);
    assert_int_equal(state_proof_verify(&p, &root, bs(names[j]), NULL), OK);
    assert_int_equal(state_prove(st, bs("shallow/1"), &p), OK);
    struct bytes x = bs("x");
    assert_int_equal(state_proof_verify(&p, &root, bs("shallow/1"), &x), OK);
  }
  assert_int_equal(state_del(st, bs("shallow/1")), OK);
  assert_int_equal(state_del(st, bs("shallow/2")), OK);
  assert_int_equal(state_tx_commit(st), OK);
  root_checked(st, &root);
  assert_true(base_hash_is_zero(&root));
  w_commit(t, st);
  struct model empty;
  memset(&empty, 0, sizeof(empty));
  model_compare_fresh(f, &empty, &root);
}

static void gen_entry(char kb[32], char vb[32], unsigned i, struct bytes *k, struct bytes *v) {
  int kn = snprintf(kb, 32, "key-%04u", i);
  int vn = snprintf(vb, 32, "value-%u", i);
  *k = (struct bytes){(const uint8_t *)kb, (size_t)kn};
  *v = (struct bytes){(const uint8_t *)vb, (size_t)vn};
}

/* Inserts the 1000 generated entries in the order perm, updating the root
 * every `every` transactions; returns the final root. */
static void gen_insert(struct fx *f, const unsigned *perm, unsigned every, struct hash32 *root) {
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  for (unsigned i = 0; i < 1000; i++) {
    char kb[32];
    char vb[32];
    struct bytes k;
    struct bytes v;
    gen_entry(kb, vb, perm[i], &k, &v);
    assert_int_equal(state_put(st, k, v), OK);
    assert_int_equal(state_tx_commit(st), OK);
    if (i % every == every - 1) {
      assert_int_equal(state_root_update(st, root), OK);
    }
  }
  root_checked(st, root);
  w_commit(t, st);
}

static void test_order_independence(void **state) {
  (void)state;
  static unsigned fwd[1000];
  static unsigned shuffled[1000];
  for (unsigned i = 0; i < 1000; i++) {
    fwd[i] = i;
    shuffled[i] = i;
  }
  uint64_t rng = 42;
  for (unsigned i = 999; i > 0; i--) {
    unsigned j = rng_below(&rng, i + 1);
    unsigned tmp = shuffled[i];
    shuffled[i] = shuffled[j];
    shuffled[j] = tmp;
  }
  struct fx a;
  struct fx b;
  fx_open(&a);
  fx_open(&b);
  struct hash32 ra;
  struct hash32 rb;
  gen_insert(&a, fwd, 37, &ra);
  gen_insert(&b, shuffled, 1000, &rb);
  assert_memory_equal(ra.b, rb.b, 32);
  smt_tables_equal(a.s, b.s);
  fx_close(&a);
  fx_close(&b);
}

/* ---- proofs ---- */

static struct state_proof proof_buf; /* 8 KiB: kept off the test's stack */

static void expect_invalid(const struct state_proof *p, const struct hash32 *root, struct bytes key,
                           const struct bytes *val) {
  assert_int_equal(state_proof_verify(p, root, key, val), ERR_PROOF_INVALID);
}

/* Every way of bending a valid proof of key (claim val) must fail. */
static void tamper_all(const struct state_proof *good, const struct hash32 *root, struct bytes key,
                       const struct bytes *val) {
  struct state_proof *p = &proof_buf;
  assert_int_equal(state_proof_verify(good, root, key, val), OK);
  for (unsigned i = 0; i < good->depth; i++) {
    *p = *good;
    p->siblings[i].b[i % 32] ^= (uint8_t)(1u << (i % 8));
    expect_invalid(p, root, key, val);
  }
  *p = *good;
  p->depth = (uint16_t)(good->depth + 1);
  expect_invalid(p, root, key, val);
  if (good->depth > 0) {
    p->depth = (uint16_t)(good->depth - 1);
    expect_invalid(p, root, key, val);
  }
  p->depth = STATE_PROOF_DEPTH_MAX + 1;
  expect_invalid(p, root, key, val);
  p->depth = UINT16_MAX;
  expect_invalid(p, root, key, val);
  *p = *good;
  p->other_leaf = !good->other_leaf;
  expect_invalid(p, root, key, val);
  struct hash32 wrong_root = *root;
  wrong_root.b[31] ^= 1;
  expect_invalid(good, &wrong_root, key, val);
  if (val != NULL) {
    /* (An exclusion proof rightly holds for every key of its empty
     * subtree, so only inclusion is tied to one key.) */
    expect_invalid(good, root, bs("not-the-key"), val);
  }
  if (good->other_leaf) {
    *p = *good;
    spec_key(&p->other_key_hash, key); /* "the other leaf is me" */
    expect_invalid(p, root, key, val);
    *p = *good;
    p->other_value_hash.b[0] ^= 1;
    expect_invalid(p, root, key, val);
    if (good->depth > 0) {
      *p = *good; /* an other leaf off the path */
      unsigned bit = good->depth - 1;
      p->other_key_hash.b[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
      expect_invalid(p, root, key, val);
    }
  }
}

/* Proves key against the tree in st and checks the verdicts for the true
 * claim and the false ones. Returns how the path ended: 0 inclusion, 1
 * empty subtree, 2 another leaf. */
static int prove_and_check(struct state *st, const struct hash32 *root, struct bytes key) {
  static struct state_proof p;
  assert_int_equal(state_prove(st, key, &p), OK);
  assert_true(p.depth <= STATE_PROOF_DEPTH_MAX);
  struct bytes val;
  int err = state_get(st, key, &val);
  struct bytes wrong = bs("definitely not the value");
  if (err == OK) {
    assert_false(p.other_leaf);
    tamper_all(&p, root, key, &val);
    expect_invalid(&p, root, key, NULL); /* present key claimed absent */
    struct state_proof *q = &proof_buf;  /* ... by calling its own leaf "other" */
    *q = p;
    q->other_leaf = true;
    spec_key(&q->other_key_hash, key);
    cry_hash_tagged(&q->other_value_hash, TAG_VALUE, val.ptr, val.len);
    expect_invalid(q, root, key, NULL);
    expect_invalid(&p, root, key, &wrong);
    if (val.len > 0) {
      struct bytes shorter = {val.ptr, val.len - 1};
      expect_invalid(&p, root, key, &shorter);
    }
    return 0;
  }
  assert_int_equal(err, ERR_NOT_FOUND);
  tamper_all(&p, root, key, NULL);
  expect_invalid(&p, root, key, &wrong); /* absent key claimed present */
  struct bytes empty = {NULL, 0};
  expect_invalid(&p, root, key, &empty);
  return p.other_leaf ? 2 : 1;
}

static void test_proofs(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  struct hash32 root;
  root_checked(st, &root);
  assert_int_equal(prove_and_check(st, &root, bs("anything")), 1); /* empty tree */
  put_commit(st, "only", "one");
  root_checked(st, &root);
  assert_int_equal(prove_and_check(st, &root, bs("only")), 0); /* root is the leaf */
  assert_int_equal(prove_and_check(st, &root, bs("other")), 2);

  uint64_t rng = 7;
  for (unsigned i = 0; i < 400; i++) {
    char kb[32];
    uint8_t v[8];
    base_put_u64be(v, rng_next(&rng));
    assert_int_equal(state_put(st, model_key(kb, 2 * i), (struct bytes){v, 1 + i % 8}), OK);
    assert_int_equal(state_tx_commit(st), OK);
  }
  assert_int_equal(state_del(st, bs("only")), OK);
  assert_int_equal(state_tx_commit(st), OK);
  root_checked(st, &root);
  int ends[3] = {0, 0, 0};
  for (unsigned i = 0; i < 800; i++) {
    char kb[32];
    ends[prove_and_check(st, &root, model_key(kb, i))]++;
  }
  assert_int_equal(ends[0], 400);
  assert_true(ends[1] > 0);
  assert_true(ends[2] > 0);
  w_commit(t, st);
}

static void test_proof_verify_is_total(void **state) {
  (void)state;
  /* Arbitrary proofs are judged, never trusted: zeroed, saturated, deep. */
  struct state_proof *p = &proof_buf;
  struct hash32 zero;
  memset(&zero, 0, sizeof(zero));
  memset(p, 0, sizeof(*p));
  struct bytes key = bs("k");
  assert_int_equal(state_proof_verify(p, &zero, key, NULL), OK); /* empty tree */
  struct bytes v = bs("v");
  expect_invalid(p, &zero, key, &v);
  memset(p, 0xff, sizeof(*p));
  p->other_leaf = true;
  p->depth = STATE_PROOF_DEPTH_MAX;
  expect_invalid(p, &zero, key, NULL);
  expect_invalid(p, &zero, key, &v);
  p->other_leaf = false;
  expect_invalid(p, &zero, key, NULL);
}

/* Roots that no compact tree produces, built by hand: the verifier checks
 * the proof's shape itself rather than trusting whoever built the tree. */
static void test_proof_shape_rules(void **state) {
  (void)state;
  struct state_proof *p = &proof_buf;
  struct hash32 zero;
  memset(&zero, 0, sizeof(zero));
  struct bytes key = bs("a");
  struct bytes val = bs("1");
  struct hash32 k;
  spec_key(&k, key);
  struct hash32 leaf;
  spec_leaf(&leaf, key, val);
  /* A leaf one level below where it is alone: its sibling is empty. */
  struct hash32 root;
  if (spec_bit(&k, 0) == 0) {
    spec_node(&root, &leaf, &zero);
  } else {
    spec_node(&root, &zero, &leaf);
  }
  memset(p, 0, sizeof(*p));
  p->depth = 1;
  expect_invalid(p, &root, key, &val);

  /* An "other leaf" hung on the wrong side of k's path. */
  struct hash32 ok;
  struct hash32 ovh;
  unsigned i = 0;
  do { /* a key whose first bit differs from k's */
    uint8_t b[4];
    base_put_u32be(b, i++);
    spec_key(&ok, (struct bytes){b, 4});
  } while (spec_bit(&ok, 0) == spec_bit(&k, 0));
  memset(ovh.b, 0x55, 32);
  uint8_t buf[64];
  memcpy(buf, ok.b, 32);
  memcpy(buf + 32, ovh.b, 32);
  struct hash32 other;
  cry_hash_tagged(&other, TAG_LEAF, buf, sizeof(buf));
  struct hash32 sib;
  memset(sib.b, 0x11, 32);
  if (spec_bit(&k, 0) == 0) {
    spec_node(&root, &other, &sib);
  } else {
    spec_node(&root, &sib, &other);
  }
  memset(p, 0, sizeof(*p));
  p->depth = 1;
  p->siblings[0] = sib;
  p->other_leaf = true;
  p->other_key_hash = ok;
  p->other_value_hash = ovh;
  expect_invalid(p, &root, key, NULL);
}

/* The worked example of docs/protocol.md: key(a) = 1011..., key(b) =
 * 0011..., key(c) = 1000...; so b sits alone at depth 1, a and c share
 * "10" and split at bit 2, and the inner node at depth 1 has an empty right
 * side. The proof of a is [leaf(b,2), 0, leaf(c,3)] at depth 3. */
static void test_worked_proof(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(f, &t, &st);
  put_commit(st, "a", "1");
  put_commit(st, "b", "2");
  put_commit(st, "c", "3");
  struct hash32 root;
  root_checked(st, &root);
  struct state_proof *p = &proof_buf;
  assert_int_equal(state_prove(st, bs("a"), p), OK);
  assert_int_equal(p->depth, 3);
  assert_false(p->other_leaf);
  struct hash32 lb;
  struct hash32 lc;
  spec_leaf(&lb, bs("b"), bs("2"));
  spec_leaf(&lc, bs("c"), bs("3"));
  assert_memory_equal(p->siblings[0].b, lb.b, 32);
  assert_true(base_hash_is_zero(&p->siblings[1]));
  assert_memory_equal(p->siblings[2].b, lc.b, 32);
  struct bytes one = bs("1");
  assert_int_equal(state_proof_verify(p, &root, bs("a"), &one), OK);
  /* key(d) = 1010...: it follows a's path down to depth 3 and ends at a's
   * leaf, an exclusion proof through another leaf. */
  assert_int_equal(state_prove(st, bs("d"), p), OK);
  assert_int_equal(p->depth, 3);
  assert_true(p->other_leaf);
  struct hash32 ka;
  spec_key(&ka, bs("a"));
  assert_memory_equal(p->other_key_hash.b, ka.b, 32);
  assert_int_equal(state_proof_verify(p, &root, bs("d"), NULL), OK);
  w_commit(t, st);
}

/* ---- golden vectors ---- */

#define VEC_MAX 24

struct vec {
  char name[48];
  char hex[65];
};

static size_t vec_add(struct vec *v, size_t n, const char *name, const struct hash32 *h) {
  assert_true(n < VEC_MAX);
  snprintf(v[n].name, sizeof(v[n].name), "%s", name);
  base_hash_hex(v[n].hex, h);
  return n + 1;
}

static void build_root(const char *const *kv, size_t pairs, struct hash32 *root) {
  struct fx f;
  fx_open(&f);
  struct store_txn *t = NULL;
  struct state *st = NULL;
  w_begin(&f, &t, &st);
  for (size_t i = 0; i < pairs; i++) {
    put_commit(st, kv[2 * i], kv[2 * i + 1]);
  }
  root_checked(st, root);
  w_commit(t, st);
  fx_close(&f);
}

/* The root of {"a":"1","b":"2"} from the definition alone. */
static void spec_root_ab(struct hash32 *out) {
  struct hash32 ka;
  struct hash32 kb;
  spec_key(&ka, bs("a"));
  spec_key(&kb, bs("b"));
  struct hash32 la;
  struct hash32 lb;
  spec_leaf(&la, bs("a"), bs("1"));
  spec_leaf(&lb, bs("b"), bs("2"));
  unsigned d = 0;
  while (spec_bit(&ka, d) == spec_bit(&kb, d)) {
    d++;
  }
  struct hash32 zero;
  memset(&zero, 0, sizeof(zero));
  if (spec_bit(&ka, d) == 0) {
    spec_node(out, &la, &lb);
  } else {
    spec_node(out, &lb, &la);
  }
  for (unsigned i = d; i > 0; i--) {
    struct hash32 up;
    if (spec_bit(&ka, i - 1) == 0) {
      spec_node(&up, out, &zero);
    } else {
      spec_node(&up, &zero, out);
    }
    *out = up;
  }
}

static size_t vectors_compute(struct vec *v) {
  size_t n = 0;
  struct hash32 h;
  spec_key(&h, bs("a"));
  n = vec_add(v, n, "key(a)", &h);
  cry_hash_tagged(&h, TAG_VALUE, (const uint8_t *)"1", 1);
  n = vec_add(v, n, "value(1)", &h);
  spec_leaf(&h, bs("a"), bs("1"));
  n = vec_add(v, n, "leaf(a,1)", &h);
  spec_key(&h, bs("b"));
  n = vec_add(v, n, "key(b)", &h);
  cry_hash_tagged(&h, TAG_VALUE, (const uint8_t *)"2", 1);
  n = vec_add(v, n, "value(2)", &h);
  spec_leaf(&h, bs("b"), bs("2"));
  n = vec_add(v, n, "leaf(b,2)", &h);
  spec_key(&h, bs("c"));
  n = vec_add(v, n, "key(c)", &h);
  spec_leaf(&h, bs("c"), bs("3"));
  n = vec_add(v, n, "leaf(c,3)", &h);

  build_root(NULL, 0, &h);
  n = vec_add(v, n, "root{}", &h);
  static const char *const a1[] = {"a", "1"};
  build_root(a1, 1, &h);
  struct hash32 leaf;
  spec_leaf(&leaf, bs("a"), bs("1"));
  assert_memory_equal(h.b, leaf.b, 32); /* one entry: the root is its leaf */
  n = vec_add(v, n, "root{a:1}", &h);
  static const char *const ab[] = {"b", "2", "a", "1"};
  build_root(ab, 2, &h);
  struct hash32 spec;
  spec_root_ab(&spec);
  assert_memory_equal(h.b, spec.b, 32);
  n = vec_add(v, n, "root{a:1,b:2}", &h);
  static const char *const abc[] = {"c", "3", "a", "1", "b", "2"};
  build_root(abc, 3, &h);
  n = vec_add(v, n, "root{a:1,b:2,c:3}", &h);
  static const char *const empty_val[] = {"a", ""};
  build_root(empty_val, 1, &h);
  n = vec_add(v, n, "root{a:}", &h);

  static unsigned order[1000];
  for (unsigned i = 0; i < 1000; i++) {
    order[i] = i;
  }
  struct fx f;
  fx_open(&f);
  gen_insert(&f, order, 100, &h);
  fx_close(&f);
  n = vec_add(v, n, "root{key-0000:value-0..key-0999:value-999}", &h);
  return n;
}

static void test_golden_roots(void **state) {
  (void)state;
  static struct vec got[VEC_MAX];
  size_t n = vectors_compute(got);
  FILE *fp = fopen(MEDCHAIN_VECTORS_DIR "/smt/roots.txt", "r");
  assert_non_null(fp);
  size_t checked = 0;
  bool all_ok = true;
  char line[256];
  while (fgets(line, sizeof(line), fp) != NULL) {
    if (line[0] == '#' || line[0] == '\n') {
      continue;
    }
    char name[48];
    char hex[65];
    assert_int_equal(sscanf(line, "%47s %64s", name, hex), 2);
    bool known = false;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(got[i].name, name) == 0) {
        known = true;
        all_ok = all_ok && strcmp(got[i].hex, hex) == 0;
        checked++;
      }
    }
    assert_true(known);
  }
  fclose(fp);
  if (!all_ok || checked != n) {
    for (size_t i = 0; i < n; i++) { /* the lines to review and paste */
      fprintf(stderr, "%s %s\n", got[i].name, got[i].hex);
    }
  }
  assert_true(all_ok);
  assert_int_equal(checked, n);
}

int main(void) {
  if (cry_init() != OK) {
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_buffer, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_buffer_limits, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_dirty_cap, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_iter_committed_only, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_random_history, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_deep_paths, fx_setup, fx_teardown),
      cmocka_unit_test(test_order_independence),
      cmocka_unit_test_setup_teardown(test_proofs, fx_setup, fx_teardown),
      cmocka_unit_test(test_proof_verify_is_total),
      cmocka_unit_test(test_proof_shape_rules),
      cmocka_unit_test_setup_teardown(test_worked_proof, fx_setup, fx_teardown),
      cmocka_unit_test(test_golden_roots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
