/*
 * Unit tests of the ledger, independent of the real contracts: a tiny
 * executor defined here plays their part.
 *
 *   admit  the sender must hold an entry "n" || sender (its next nonce,
 *          u64) written at genesis for a fixed allowlist; its key must be
 *          the one the id names; the nonce must be the next one.
 *   call   method "put" writes "v" || args -> height; method "fail" writes
 *          "x" || args and then returns UNAUTHORIZED (the write must be
 *          dropped); anything else is UNKNOWN_METHOD.
 *
 * Every chain here is built from fixed seeds and times, so two stores fed
 * the same genesis and blocks must agree byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ledger/ledger.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHAIN "test-chain"
#define GENESIS_MS 1000
#define NVALS 4
#define NUSERS 3
#define MAP_BYTES ((size_t)256 << 20)
#define TX_CAP LIM_TX_BYTES_MAX
/* A TXINDEX value: u64 height | u32 index | u16 code. */
#define TXLOC_BYTES 14

/* ---- fixtures ------------------------------------------------------------- */

struct keys {
  struct cry_keys *val[NVALS];
  struct cry_keys *user[NUSERS];
  struct cry_keys *admin;
  struct cry_keys *stranger; /* not on the allowlist */
  struct hash32 user_id[NUSERS];
};

static struct keys K;

static struct cry_keys *seeded(uint8_t tag, uint8_t i) {
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, tag, sizeof(seed));
  seed[0] = i;
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  return k;
}

static int group_setup(void **state) {
  (void)state;
  assert_int_equal(cry_init(), OK);
  for (uint8_t i = 0; i < NVALS; i++) {
    K.val[i] = seeded(0x11, i);
  }
  for (uint8_t i = 0; i < NUSERS; i++) {
    K.user[i] = seeded(0x22, i);
    struct pubkey pk;
    cry_keys_sign_pk(K.user[i], &pk);
    cry_id_from_pk(&K.user_id[i], &pk);
  }
  K.admin = seeded(0x33, 0);
  K.stranger = seeded(0x44, 0);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  for (int i = 0; i < NVALS; i++) {
    cry_keys_destroy(K.val[i]);
  }
  for (int i = 0; i < NUSERS; i++) {
    cry_keys_destroy(K.user[i]);
  }
  cry_keys_destroy(K.admin);
  cry_keys_destroy(K.stranger);
  return 0;
}

static void make_genesis(struct ledger_genesis *g) {
  memset(g, 0, sizeof(*g));
  snprintf(g->chain_id, sizeof(g->chain_id), "%s", CHAIN);
  g->time_ms = GENESIS_MS;
  g->nvalidators = NVALS;
  for (int i = 0; i < NVALS; i++) {
    cry_keys_sign_pk(K.val[i], &g->validators[i].pk);
    cry_id_from_pk(&g->validators[i].id, &g->validators[i].pk);
    g->validators[i].power = 1;
  }
  g->nmembers = 1;
  snprintf(g->members[0].name, sizeof(g->members[0].name), "%s", "General Hospital");
  snprintf(g->members[0].kind, sizeof(g->members[0].kind), "%s", "hospital");
  cry_keys_sign_pk(K.admin, &g->members[0].admin_pk);
  cry_keys_box_pk(K.admin, &g->members[0].admin_box);
}

struct tmpdir {
  char path[64];
};

static void tmpdir_make(struct tmpdir *d) {
  snprintf(d->path, sizeof(d->path), "%s", "/tmp/medchain-ledger-XXXXXX");
  assert_non_null(mkdtemp(d->path));
}

/* Removes a flat directory (stores hold only files). */
static bool rm_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return false;
  }
  bool ok = true;
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char path[256];
    int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    ok = ok && n > 0 && (size_t)n < sizeof(path) && unlink(path) == 0;
  }
  closedir(d);
  return ok && rmdir(dir) == 0;
}

/* ---- the fake executor ---------------------------------------------------- */

static struct bytes bytes_of(const void *p, size_t len) {
  struct bytes b = {p, len};
  return b;
}

static struct bytes str_bytes(const char *s) {
  return bytes_of(s, strlen(s));
}

static bool bytes_is(struct bytes b, const char *s) {
  return b.len == strlen(s) && memcmp(b.ptr, s, b.len) == 0;
}

static int fake_admit(void *ctx, struct state *st, const struct tx *tx,
                      const struct ledger_env *env) {
  (void)ctx;
  (void)env;
  uint8_t key[33] = {'n'};
  memcpy(key + 1, tx->sender.b, 32);
  struct bytes val;
  if (state_get(st, bytes_of(key, sizeof(key)), &val) != OK || val.len != 8) {
    return ERR_UNKNOWN_SENDER;
  }
  struct hash32 id;
  cry_id_from_pk(&id, &tx->pubkey);
  if (!base_hash_eq(&id, &tx->sender)) {
    return ERR_KEY_MISMATCH;
  }
  uint64_t next = base_get_u64be(val.ptr);
  if (tx->nonce < next) {
    return ERR_REPLAY;
  }
  if (tx->nonce > next) {
    return ERR_NONCE_GAP;
  }
  uint8_t nv[8];
  base_put_u64be(nv, next + 1);
  return state_put(st, bytes_of(key, sizeof(key)), bytes_of(nv, 8));
}

static int fake_write(struct state *st, char tag, const struct tx *tx, uint64_t height) {
  uint8_t key[1 + 64];
  if (tx->args.len > 64) {
    return ERR_BAD_ARGS;
  }
  key[0] = (uint8_t)tag;
  if (tx->args.len > 0) {
    memcpy(key + 1, tx->args.ptr, tx->args.len);
  }
  uint8_t val[8];
  base_put_u64be(val, height);
  return state_put(st, bytes_of(key, 1 + tx->args.len), bytes_of(val, 8));
}

static int fake_call(void *ctx, struct state *st, const struct tx *tx,
                     const struct ledger_env *env) {
  (void)ctx;
  if (bytes_is(tx->method, "put")) {
    return fake_write(st, 'v', tx, env->height);
  }
  if (bytes_is(tx->method, "fail")) {
    int rc = fake_write(st, 'x', tx, env->height);
    return rc != OK ? rc : ERR_UNAUTHORIZED;
  }
  return ERR_UNKNOWN_METHOD;
}

static int fake_genesis(void *ctx, struct state *st, const struct ledger_genesis *g) {
  (void)ctx;
  for (int i = 0; i < NUSERS; i++) {
    uint8_t key[33] = {'n'};
    memcpy(key + 1, K.user_id[i].b, 32);
    uint8_t one[8];
    base_put_u64be(one, 1);
    int rc = state_put(st, bytes_of(key, sizeof(key)), bytes_of(one, 8));
    if (rc != OK) {
      return rc;
    }
  }
  return state_put(st, str_bytes("chain"), bytes_of(g->chain_id, strlen(g->chain_id)));
}

static const struct ledger_exec EXEC = {
    .admit = fake_admit, .call = fake_call, .genesis = fake_genesis, .ctx = NULL};

/* ---- transactions --------------------------------------------------------- */

struct txbuf {
  uint8_t b[TX_CAP];
  size_t len;
};

static void make_tx_as(struct txbuf *out, const char *chain, struct cry_keys *k, uint64_t nonce,
                       const char *method, const char *args) {
  struct tx tx;
  memset(&tx, 0, sizeof(tx));
  tx.chain_id = str_bytes(chain);
  cry_keys_sign_pk(k, &tx.pubkey);
  cry_id_from_pk(&tx.sender, &tx.pubkey);
  tx.nonce = nonce;
  tx.contract = str_bytes("test");
  tx.method = str_bytes(method);
  tx.args = str_bytes(args);
  assert_int_equal(ledger_tx_sign(&tx, k, out->b, sizeof(out->b), &out->len), OK);
}

static void make_tx(struct txbuf *out, int user, uint64_t nonce, const char *method,
                    const char *args) {
  make_tx_as(out, CHAIN, K.user[user], nonce, method, args);
}

/* ---- chains --------------------------------------------------------------- */

static struct store *store_new(struct tmpdir *d) {
  tmpdir_make(d);
  struct store *s = NULL;
  assert_int_equal(store_open(&s, d->path, MAP_BYTES), OK);
  return s;
}

static void store_gone(struct store *s, struct tmpdir *d) {
  store_close(s);
  assert_true(rm_dir(d->path));
}

static void chain_genesis(struct store *s) {
  struct ledger_genesis g;
  make_genesis(&g);
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  assert_int_equal(ledger_genesis_init(t, &g, &EXEC), OK);
  assert_int_equal(store_txn_commit(t), OK);
}

/* Builds a block from txs at time_ms, signs it by the first nsign
 * validators, stores and commits it. b keeps borrowing txs. */
static void chain_add(struct store *s, const struct bytes *txs, uint32_t n, uint64_t time_ms,
                      int nsign, struct block *b, struct ledger_build_out *out) {
  struct store_txn *t = NULL;
  struct state *st = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  assert_int_equal(state_create(&st, t), OK);
  struct pubkey pk;
  struct hash32 proposer;
  cry_keys_sign_pk(K.val[0], &pk);
  cry_id_from_pk(&proposer, &pk);
  assert_int_equal(ledger_block_build(st, &EXEC, &proposer, time_ms, txs, n, b, out), OK);
  for (int i = 0; i < nsign; i++) {
    assert_int_equal(ledger_commit_sign(b, K.val[i], (uint16_t)i, 0), OK);
  }
  state_destroy(st);
  assert_int_equal(ledger_block_store(t, b, out->results), OK);
  assert_int_equal(store_txn_commit(t), OK);
}

static void tip_of(struct store *s, struct ledger_tip *tip) {
  struct store_txn *t = NULL;
  assert_int_equal(store_read_begin(s, &t), OK);
  assert_int_equal(ledger_tip_read(t, tip), OK);
  store_txn_abort(t);
}

static void assert_tips_equal(const struct ledger_tip *a, const struct ledger_tip *b) {
  assert_string_equal(a->chain_id, b->chain_id);
  assert_int_equal(a->height, b->height);
  assert_int_equal(a->last_time_ms, b->last_time_ms);
  assert_memory_equal(a->genesis_hash.b, b->genesis_hash.b, 32);
  assert_memory_equal(a->last_hash.b, b->last_hash.b, 32);
  assert_memory_equal(a->last_commit_hash.b, b->last_commit_hash.b, 32);
  assert_memory_equal(a->state_root.b, b->state_root.b, 32);
  assert_memory_equal(a->validators_hash.b, b->validators_hash.b, 32);
}

/* Applies b on s in a write transaction; commits (and stores) on OK,
 * aborts otherwise. */
static int apply_on(struct store *s, const struct ledger_sigcache *cache, const struct block *b,
                    bool keep) {
  struct store_txn *t = NULL;
  struct state *st = NULL;
  uint16_t *results = calloc(LIM_BLOCK_TXS_MAX, sizeof(*results));
  assert_non_null(results);
  assert_int_equal(store_write_begin(s, &t), OK);
  assert_int_equal(state_create(&st, t), OK);
  int rc = ledger_block_apply(st, &EXEC, cache, b, results);
  state_destroy(st);
  if (rc == OK && keep) {
    assert_int_equal(ledger_block_store(t, b, results), OK);
    assert_int_equal(store_txn_commit(t), OK);
  } else {
    store_txn_abort(t);
  }
  free(results);
  return rc;
}

static int state_lookup(struct store *s, struct bytes key, uint64_t *value) {
  struct store_txn *t = NULL;
  struct state *st = NULL;
  assert_int_equal(store_read_begin(s, &t), OK);
  assert_int_equal(state_create(&st, t), OK);
  struct bytes val;
  int rc = state_get(st, key, &val);
  if (rc == OK) {
    assert_int_equal(val.len, 8);
    *value = base_get_u64be(val.ptr);
  }
  state_destroy(st);
  store_txn_abort(t);
  return rc;
}

static struct bytes nonce_key(uint8_t key[33], int user) {
  key[0] = 'n';
  memcpy(key + 1, K.user_id[user].b, 32);
  return bytes_of(key, 33);
}

static struct block *block_new(void) {
  struct block *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  return b;
}

static struct ledger_build_out *out_new(void) {
  struct ledger_build_out *o = calloc(1, sizeof(*o));
  assert_non_null(o);
  return o;
}

/* ---- genesis -------------------------------------------------------------- */

static int decode_of(const struct ledger_genesis *g) {
  uint8_t buf[LEDGER_GENESIS_BYTES_MAX];
  size_t len = 0;
  assert_int_equal(ledger_genesis_encode(g, buf, sizeof(buf), &len), OK);
  struct ledger_genesis back;
  return ledger_genesis_decode(&back, buf, len);
}

static void test_genesis_roundtrip(void **state) {
  (void)state;
  struct ledger_genesis g;
  make_genesis(&g);
  uint8_t buf[LEDGER_GENESIS_BYTES_MAX];
  uint8_t again[LEDGER_GENESIS_BYTES_MAX];
  size_t len = 0;
  size_t len2 = 0;
  assert_int_equal(ledger_genesis_encode(&g, buf, sizeof(buf), &len), OK);
  struct ledger_genesis *back = calloc(1, sizeof(*back));
  assert_non_null(back);
  assert_int_equal(ledger_genesis_decode(back, buf, len), OK);
  assert_string_equal(back->chain_id, CHAIN);
  assert_int_equal(back->time_ms, GENESIS_MS);
  assert_int_equal(back->nvalidators, NVALS);
  assert_memory_equal(back->validators[2].id.b, g.validators[2].id.b, 32);
  assert_string_equal(back->members[0].name, "General Hospital");
  assert_int_equal(ledger_genesis_encode(back, again, sizeof(again), &len2), OK);
  assert_int_equal(len, len2);
  assert_memory_equal(buf, again, len);
  struct hash32 h1;
  struct hash32 h2;
  assert_int_equal(ledger_genesis_hash(&g, &h1), OK);
  assert_int_equal(ledger_genesis_hash(back, &h2), OK);
  assert_memory_equal(h1.b, h2.b, 32);
  /* Framing errors come from the codec. */
  assert_int_equal(ledger_genesis_decode(back, buf, len - 1), ERR_MALFORMED);
  buf[len] = 0;
  assert_int_equal(ledger_genesis_decode(back, buf, len + 1), ERR_TRAILING);
  buf[0] = 2;
  assert_int_equal(ledger_genesis_decode(back, buf, len), ERR_MALFORMED);
  assert_int_equal(ledger_genesis_encode(&g, buf, 10, &len), ERR_OVERSIZE);
  free(back);
}

/* Golden vectors in tests/vectors/genesis/ pin the genesis encoding and
 * its hashes; `MEDCHAIN_VECTORS_WRITE=1 ./test_ledger` rewrites them after
 * a deliberate protocol change. */
static void vec_check(const char *name, const uint8_t *p, size_t len) {
  char path[512];
  snprintf(path, sizeof(path), "%s/genesis/%s", MEDCHAIN_VECTORS_DIR, name);
  char *got = malloc(2 * len + 2);
  assert_non_null(got);
  base_hex_encode(got, p, len);
  const char *mode = getenv("MEDCHAIN_VECTORS_WRITE");
  FILE *f = fopen(path, mode != NULL && strcmp(mode, "1") == 0 ? "wb" : "rb");
  assert_non_null(f);
  if (mode != NULL && strcmp(mode, "1") == 0) {
    assert_true(fprintf(f, "%s\n", got) > 0);
  } else {
    char *want = calloc(1, 2 * len + 3);
    assert_non_null(want);
    size_t n = fread(want, 1, 2 * len + 2, f);
    bool same = n == 2 * len + 1 && want[2 * len] == '\n' && memcmp(want, got, 2 * len) == 0;
    if (!same) {
      print_message("golden %s differs; this build produces:\n%s\n", name, got);
    }
    free(want);
    assert_true(same);
  }
  assert_int_equal(fclose(f), 0);
  free(got);
}

static void test_genesis_vectors(void **state) {
  (void)state;
  struct ledger_genesis g;
  make_genesis(&g);
  uint8_t buf[LEDGER_GENESIS_BYTES_MAX];
  size_t len = 0;
  assert_int_equal(ledger_genesis_encode(&g, buf, sizeof(buf), &len), OK);
  vec_check("genesis.hex", buf, len);
  struct hash32 h;
  assert_int_equal(ledger_genesis_hash(&g, &h), OK);
  vec_check("genesis_hash.hex", h.b, 32);
  ledger_validators_hash(g.validators, g.nvalidators, &h);
  vec_check("validators_hash.hex", h.b, 32);
}

static void test_genesis_rules(void **state) {
  (void)state;
  struct ledger_genesis g;
  make_genesis(&g);
  assert_int_equal(decode_of(&g), OK);
  snprintf(g.chain_id, sizeof(g.chain_id), "%s", "Test-Chain");
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  g.nvalidators = 0;
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  g.validators[1].power = 0;
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  g.validators[0].power = UINT64_C(1) << 61;
  g.validators[1].power = UINT64_C(1) << 61;
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  g.validators[1].power = (UINT64_C(1) << 61) - 3; /* total 2^62 - 1 */
  assert_int_equal(decode_of(&g), OK);
  make_genesis(&g);
  g.validators[3].pk = g.validators[0].pk;
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  memset(g.validators[2].pk.b, 0, 32); /* small order */
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  g.nmembers = 0;
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  g.nmembers = 2;
  g.members[1] = g.members[0];
  cry_keys_sign_pk(K.stranger, &g.members[1].admin_pk);
  assert_int_equal(decode_of(&g), ERR_CONFIG); /* same name */
  snprintf(g.members[1].name, sizeof(g.members[1].name), "%s", "City Clinic");
  assert_int_equal(decode_of(&g), OK);
  g.members[1].admin_pk = g.members[0].admin_pk;
  assert_int_equal(decode_of(&g), ERR_CONFIG); /* same admin key */
  make_genesis(&g);
  snprintf(g.members[0].kind, sizeof(g.members[0].kind), "%s", "casino");
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  memset(g.members[0].admin_box.b, 0, 32);
  assert_int_equal(decode_of(&g), ERR_CONFIG);
  make_genesis(&g);
  g.nvalidators = LIM_VALIDATORS_MAX + 1;
  uint8_t buf[LEDGER_GENESIS_BYTES_MAX];
  size_t len = 0;
  assert_int_equal(ledger_genesis_encode(&g, buf, sizeof(buf), &len), ERR_OVERSIZE);
}

static void test_genesis_init(void **state) {
  (void)state;
  struct tmpdir d;
  struct store *s = store_new(&d);
  chain_genesis(s);
  struct ledger_tip tip;
  tip_of(s, &tip);
  struct ledger_genesis g;
  make_genesis(&g);
  struct hash32 gh;
  struct hash32 vh;
  assert_int_equal(ledger_genesis_hash(&g, &gh), OK);
  ledger_validators_hash(g.validators, g.nvalidators, &vh);
  assert_int_equal(tip.height, 0);
  assert_string_equal(tip.chain_id, CHAIN);
  assert_memory_equal(tip.genesis_hash.b, gh.b, 32);
  assert_memory_equal(tip.last_hash.b, gh.b, 32);
  assert_true(base_hash_is_zero(&tip.last_commit_hash));
  assert_int_equal(tip.last_time_ms, GENESIS_MS);
  assert_memory_equal(tip.validators_hash.b, vh.b, 32);
  assert_false(base_hash_is_zero(&tip.state_root));
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  assert_int_equal(ledger_genesis_init(t, &g, &EXEC), ERR_EXISTS);
  struct ledger_genesis back;
  assert_int_equal(ledger_genesis_read(t, &back), OK);
  assert_memory_equal(back.validators[0].pk.b, g.validators[0].pk.b, 32);
  store_txn_abort(t);
  store_gone(s, &d);
  /* A hand-built genesis that breaks a rule is refused before any write. */
  s = store_new(&d);
  g.validators[0].power = 0;
  assert_int_equal(store_write_begin(s, &t), OK);
  assert_int_equal(ledger_genesis_init(t, &g, &EXEC), ERR_CONFIG);
  assert_int_equal(ledger_tip_read(t, &tip), ERR_NOT_FOUND);
  store_txn_abort(t);
  store_gone(s, &d);
}

/* ---- transactions --------------------------------------------------------- */

static void test_tx_check(void **state) {
  (void)state;
  struct txbuf *x = calloc(1, sizeof(*x));
  assert_non_null(x);
  make_tx(x, 0, 1, "put", "alpha");
  struct tx tx;
  struct hash32 id;
  struct hash32 expect;
  assert_int_equal(ledger_tx_check(x->b, x->len, str_bytes(CHAIN), &tx, &id), OK);
  codec_tx_hash(&expect, x->b, x->len);
  assert_memory_equal(id.b, expect.b, 32);
  assert_int_equal(tx.nonce, 1);
  assert_true(bytes_is(tx.method, "put"));
  assert_int_equal(ledger_tx_check(x->b, x->len, str_bytes("other-chain"), &tx, &id),
                   ERR_WRONG_CHAIN);
  /* Trailing bytes, truncation and the size limit. */
  x->b[x->len] = 0;
  assert_int_equal(ledger_tx_check(x->b, x->len + 1, str_bytes(CHAIN), &tx, &id), ERR_TRAILING);
  assert_int_equal(ledger_tx_check(x->b, x->len - 1, str_bytes(CHAIN), &tx, &id), ERR_MALFORMED);
  uint8_t *big = calloc(1, LIM_TX_BYTES_MAX + 1);
  assert_non_null(big);
  memcpy(big, x->b, x->len);
  assert_int_equal(ledger_tx_check(big, LIM_TX_BYTES_MAX + 1, str_bytes(CHAIN), &tx, &id),
                   ERR_OVERSIZE);
  free(big);
  /* A flipped signature bit, and a flipped byte in the signed body. */
  x->b[x->len - 1] ^= 1;
  assert_int_equal(ledger_tx_check(x->b, x->len, str_bytes(CHAIN), &tx, &id), ERR_BAD_SIGNATURE);
  x->b[x->len - 1] ^= 1;
  x->b[x->len - CRY_SIG_BYTES - 1] ^= 1; /* last byte of the args */
  assert_int_equal(ledger_tx_check(x->b, x->len, str_bytes(CHAIN), &tx, &id), ERR_BAD_SIGNATURE);
  /* Signed by a key other than the one it names. */
  struct tx t2;
  memset(&t2, 0, sizeof(t2));
  t2.chain_id = str_bytes(CHAIN);
  cry_keys_sign_pk(K.user[0], &t2.pubkey);
  cry_id_from_pk(&t2.sender, &t2.pubkey);
  t2.nonce = 1;
  t2.contract = str_bytes("test");
  t2.method = str_bytes("put");
  t2.args = str_bytes("a");
  assert_int_equal(ledger_tx_sign(&t2, K.user[1], x->b, sizeof(x->b), &x->len), OK);
  assert_int_equal(ledger_tx_check(x->b, x->len, str_bytes(CHAIN), &tx, &id), ERR_BAD_SIGNATURE);
  free(x);
}

/* ---- build, store, apply --------------------------------------------------- */

enum { B1_PUT0, B1_FAIL1, B1_GAP2, B1_WRONGCHAIN, B1_PUT2, B1_STRANGER, B1_DUP, B1_N };

/* Block 1's candidates: two puts, a failing call, a nonce gap, a wrong
 * chain, a sender nobody registered and an exact repeat. */
static struct txbuf *block1_txs(struct bytes *v) {
  struct txbuf *x = calloc(B1_N, sizeof(*x));
  assert_non_null(x);
  make_tx(&x[B1_PUT0], 0, 1, "put", "alpha");
  make_tx(&x[B1_FAIL1], 1, 1, "fail", "beta");
  make_tx(&x[B1_GAP2], 2, 2, "put", "gamma");
  make_tx_as(&x[B1_WRONGCHAIN], "other-chain", K.user[2], 1, "put", "delta");
  make_tx(&x[B1_PUT2], 2, 1, "put", "epsilon");
  make_tx_as(&x[B1_STRANGER], CHAIN, K.stranger, 1, "put", "zeta");
  x[B1_DUP] = x[B1_PUT0];
  for (int i = 0; i < B1_N; i++) {
    v[i] = bytes_of(x[i].b, x[i].len);
  }
  return x;
}

static void check_block1(const struct block *b, const struct ledger_build_out *out) {
  assert_int_equal(b->tx_count, 3);
  assert_int_equal(b->header.height, 1);
  assert_int_equal(out->nconsidered, B1_N);
  assert_int_equal(out->nskipped, 4);
  assert_int_equal(out->skipped[0], B1_GAP2);
  assert_int_equal(out->skipped_codes[0], ERR_NONCE_GAP);
  assert_int_equal(out->skipped[1], B1_WRONGCHAIN);
  assert_int_equal(out->skipped_codes[1], ERR_WRONG_CHAIN);
  assert_int_equal(out->skipped[2], B1_STRANGER);
  assert_int_equal(out->skipped_codes[2], ERR_UNKNOWN_SENDER);
  assert_int_equal(out->skipped[3], B1_DUP);
  assert_int_equal(out->skipped_codes[3], ERR_DUPLICATE_TX);
  assert_int_equal(out->results[0], OK);
  assert_int_equal(out->results[1], ERR_UNAUTHORIZED);
  assert_int_equal(out->results[2], OK);
}

static void test_build_store_apply(void **state) {
  (void)state;
  struct bytes v[B1_N];
  struct txbuf *x = block1_txs(v);
  struct block *b = block_new();
  struct ledger_build_out *out = out_new();
  struct tmpdir da;
  struct store *a = store_new(&da);
  chain_genesis(a);
  chain_add(a, v, B1_N, 2000, 3, b, out);
  check_block1(b, out);
  struct ledger_tip tip_a;
  tip_of(a, &tip_a);
  assert_int_equal(tip_a.height, 1);
  assert_int_equal(tip_a.last_time_ms, 2000);
  assert_memory_equal(tip_a.state_root.b, b->header.state_root.b, 32);
  /* Reopen, load, and apply the stored block on a second fresh store. */
  store_close(a);
  assert_int_equal(store_open(&a, da.path, MAP_BYTES), OK);
  struct store_txn *t = NULL;
  assert_int_equal(store_read_begin(a, &t), OK);
  uint8_t *raw = NULL;
  size_t raw_len = 0;
  struct block *loaded = block_new();
  assert_int_equal(ledger_block_load(t, 2, loaded, &raw, &raw_len), ERR_NOT_FOUND);
  assert_null(raw);
  assert_int_equal(ledger_block_load(t, 1, loaded, &raw, &raw_len), OK);
  assert_int_equal(loaded->tx_count, 3);
  assert_int_equal(loaded->commit.count, 3);
  /* The failed call: its result is indexed, its nonce used, its write gone. */
  struct hash32 id;
  struct ledger_txloc loc;
  codec_tx_hash(&id, x[B1_FAIL1].b, x[B1_FAIL1].len);
  assert_int_equal(ledger_txloc_read(t, &id, &loc), OK);
  assert_int_equal(loc.height, 1);
  assert_int_equal(loc.index, 1);
  assert_int_equal(loc.code, ERR_UNAUTHORIZED);
  codec_tx_hash(&id, x[B1_GAP2].b, x[B1_GAP2].len);
  assert_int_equal(ledger_txloc_read(t, &id, &loc), ERR_NOT_FOUND);
  store_txn_abort(t);
  uint64_t value = 0;
  uint8_t nk[33];
  assert_int_equal(state_lookup(a, nonce_key(nk, 1), &value), OK);
  assert_int_equal(value, 2);
  assert_int_equal(state_lookup(a, str_bytes("xbeta"), &value), ERR_NOT_FOUND);
  assert_int_equal(state_lookup(a, str_bytes("valpha"), &value), OK);
  assert_int_equal(value, 1);

  struct tmpdir db;
  struct store *s2 = store_new(&db);
  chain_genesis(s2);
  assert_int_equal(apply_on(s2, NULL, loaded, true), OK);
  struct ledger_tip tip_b;
  tip_of(s2, &tip_b);
  assert_tips_equal(&tip_a, &tip_b);
  /* The same block again no longer extends the tip. */
  assert_int_equal(apply_on(s2, NULL, loaded, false), ERR_BLOCK_INVALID);
  free(raw);
  free(loaded);
  store_gone(s2, &db);
  store_gone(a, &da);
  free(out);
  free(b);
  free(x);
}

/* More candidates than a block holds: the first LIM_BLOCK_TXS_MAX go in,
 * the rest are neither included nor skipped, and a follower agrees. */
static void test_build_full_block(void **state) {
  (void)state;
  enum { N = LIM_BLOCK_TXS_MAX + 4 };
  struct txbuf *x = calloc(N, sizeof(*x));
  struct bytes *v = calloc(N, sizeof(*v));
  assert_non_null(x);
  assert_non_null(v);
  for (uint32_t i = 0; i < N; i++) {
    make_tx(&x[i], (int)(i % NUSERS), i / NUSERS + 1, "put", i % 2 == 0 ? "even" : "odd");
    v[i] = bytes_of(x[i].b, x[i].len);
  }
  struct block *b = block_new();
  struct ledger_build_out *out = out_new();
  struct tmpdir da;
  struct tmpdir db;
  struct store *a = store_new(&da);
  struct store *f = store_new(&db);
  chain_genesis(a);
  chain_genesis(f);
  chain_add(a, v, N, 2000, 3, b, out);
  assert_int_equal(b->tx_count, LIM_BLOCK_TXS_MAX);
  assert_int_equal(out->nconsidered, LIM_BLOCK_TXS_MAX);
  assert_int_equal(out->nskipped, 0);
  assert_int_equal(apply_on(f, NULL, b, true), OK);
  struct ledger_tip ta;
  struct ledger_tip tf;
  tip_of(a, &ta);
  tip_of(f, &tf);
  assert_tips_equal(&ta, &tf);
  store_gone(f, &db);
  store_gone(a, &da);
  free(out);
  free(b);
  free(v);
  free(x);
}

/* ---- apply rejections ------------------------------------------------------ */

struct reject_fixture {
  struct tmpdir da;
  struct tmpdir db;
  struct store *a; /* the builder's store, one block ahead */
  struct store *b; /* a fresh follower at genesis */
  struct txbuf *x;
  struct bytes v[B1_N];
  struct block *blk; /* block 1 with NVALS signatures */
  struct block *bad; /* scratch copy to tamper with */
  struct ledger_build_out *out;
};

static void reject_setup(struct reject_fixture *f) {
  f->x = block1_txs(f->v);
  f->blk = block_new();
  f->bad = block_new();
  f->out = out_new();
  f->a = store_new(&f->da);
  f->b = store_new(&f->db);
  chain_genesis(f->a);
  chain_genesis(f->b);
  chain_add(f->a, f->v, B1_N, 2000, NVALS, f->blk, f->out);
}

static void reject_teardown(struct reject_fixture *f) {
  store_gone(f->a, &f->da);
  store_gone(f->b, &f->db);
  free(f->out);
  free(f->bad);
  free(f->blk);
  free(f->x);
}

/* Re-signs bad's commit by the first n validators for its current header. */
static void resign(struct block *bad, int n) {
  bad->commit.count = 0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(ledger_commit_sign(bad, K.val[i], (uint16_t)i, 0), OK);
  }
}

static void test_apply_rejects_header(void **state) {
  (void)state;
  struct reject_fixture f;
  reject_setup(&f);
  *f.bad = *f.blk;
  f.bad->header.prev_hash.b[0] ^= 1;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_PREV_HASH);
  *f.bad = *f.blk;
  f.bad->header.last_commit_hash.b[5] ^= 1;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_PREV_HASH);
  *f.bad = *f.blk;
  f.bad->header.height = 2;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  *f.bad = *f.blk;
  f.bad->header.time_ms = GENESIS_MS;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  *f.bad = *f.blk;
  f.bad->header.chain_id = str_bytes("other-chain");
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  *f.bad = *f.blk;
  f.bad->header.validators_hash.b[0] ^= 1;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  /* The state root, re-signed so that only the root is wrong. */
  *f.bad = *f.blk;
  f.bad->header.state_root.b[31] ^= 1;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_STATE_ROOT);
  *f.bad = *f.blk;
  f.bad->header.results_hash.b[0] ^= 1;
  resign(f.bad, NVALS);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  /* Nothing stuck: the real block still applies. */
  assert_int_equal(apply_on(f.b, NULL, f.blk, true), OK);
  reject_teardown(&f);
}

static bool cache_all(void *ctx, const struct hash32 *tx_hash) {
  (void)ctx;
  (void)tx_hash;
  return true;
}

static void test_apply_rejects_txs(void **state) {
  (void)state;
  struct reject_fixture f;
  reject_setup(&f);
  /* One byte of a transaction's arguments changed after signing. */
  struct txbuf *copy = calloc(1, sizeof(*copy));
  assert_non_null(copy);
  memcpy(copy->b, f.blk->txs[0].ptr, f.blk->txs[0].len);
  copy->len = f.blk->txs[0].len;
  copy->b[copy->len - CRY_SIG_BYTES - 1] ^= 1;
  *f.bad = *f.blk;
  f.bad->txs[0] = bytes_of(copy->b, copy->len);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BAD_SIGNATURE);
  /* A cache that vouches for every id skips the signature: the tx root
   * still catches the change. */
  struct ledger_sigcache cache = {cache_all, NULL};
  assert_int_equal(apply_on(f.b, &cache, f.bad, false), ERR_TX_ROOT);
  /* A transaction dropped: the header's count no longer matches. */
  *f.bad = *f.blk;
  f.bad->tx_count = 2;
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  /* A transaction the executor does not admit (a nonce gap). */
  *f.bad = *f.blk;
  f.bad->txs[2] = f.v[B1_GAP2];
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  /* The same transaction twice. */
  *f.bad = *f.blk;
  f.bad->txs[1] = f.bad->txs[0];
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_BLOCK_INVALID);
  assert_int_equal(apply_on(f.b, &cache, f.blk, true), OK);
  free(copy);
  reject_teardown(&f);
}

static void test_apply_commit_quorum(void **state) {
  (void)state;
  struct reject_fixture f;
  reject_setup(&f);
  struct ledger_genesis g;
  make_genesis(&g);
  /* 2 of 4 equal powers is not more than two thirds; 3 is. */
  *f.bad = *f.blk;
  resign(f.bad, 2);
  assert_int_equal(ledger_commit_verify(f.bad, g.validators, NVALS), ERR_COMMIT_INVALID);
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_COMMIT_INVALID);
  *f.bad = *f.blk;
  f.bad->commit.count = 0;
  assert_int_equal(apply_on(f.b, NULL, f.bad, false), ERR_COMMIT_INVALID);
  /* Signing twice as one validator is refused. */
  resign(f.bad, 3);
  assert_int_equal(ledger_commit_sign(f.bad, K.val[1], 1, 0), ERR_EXISTS);
  assert_int_equal(ledger_commit_sign(f.bad, K.val[3], 3, 1), ERR_COMMIT_INVALID);
  assert_int_equal(ledger_commit_verify(f.bad, g.validators, NVALS), OK);
  /* A signature by the wrong key at a valid index. */
  struct block *wrong = block_new();
  *wrong = *f.blk;
  wrong->commit.count = 0;
  assert_int_equal(ledger_commit_sign(wrong, K.val[0], 0, 0), OK);
  assert_int_equal(ledger_commit_sign(wrong, K.val[1], 1, 0), OK);
  assert_int_equal(ledger_commit_sign(wrong, K.val[3], 2, 0), OK);
  assert_int_equal(ledger_commit_verify(wrong, g.validators, NVALS), ERR_COMMIT_INVALID);
  /* Indices arrive out of order: insertion keeps them sorted. */
  wrong->commit.count = 0;
  assert_int_equal(ledger_commit_sign(wrong, K.val[2], 2, 0), OK);
  assert_int_equal(ledger_commit_sign(wrong, K.val[0], 0, 0), OK);
  assert_int_equal(ledger_commit_sign(wrong, K.val[1], 1, 0), OK);
  assert_int_equal(wrong->commit.sigs[0].validator_index, 0);
  assert_int_equal(wrong->commit.sigs[2].validator_index, 2);
  assert_int_equal(ledger_commit_verify(wrong, g.validators, NVALS), OK);
  /* A valid commit for another round still verifies. */
  wrong->commit.count = 0;
  for (uint16_t i = 0; i < 3; i++) {
    assert_int_equal(ledger_commit_sign(wrong, K.val[i], i, 7), OK);
  }
  assert_int_equal(wrong->commit.round, 7);
  assert_int_equal(ledger_commit_verify(wrong, g.validators, NVALS), OK);
  free(wrong);
  assert_int_equal(apply_on(f.b, NULL, f.bad, true), OK);
  reject_teardown(&f);
}

/* ---- whole-chain verification ---------------------------------------------- */

#define CHAIN_BLOCKS 5
#define CHAIN_TXS 2

struct chain_fixture {
  struct tmpdir d;
  struct store *s;
  struct txbuf *x; /* CHAIN_BLOCKS * CHAIN_TXS */
};

/* Five blocks, each with a put by user 0 and a call by user 1 that fails
 * on even heights. */
static void chain_fixture_make(struct chain_fixture *f) {
  f->s = store_new(&f->d);
  chain_genesis(f->s);
  f->x = calloc(CHAIN_BLOCKS * CHAIN_TXS, sizeof(*f->x));
  assert_non_null(f->x);
  struct block *b = block_new();
  struct ledger_build_out *out = out_new();
  for (int h = 1; h <= CHAIN_BLOCKS; h++) {
    struct txbuf *x = &f->x[(h - 1) * CHAIN_TXS];
    char args[16];
    snprintf(args, sizeof(args), "k%d", h);
    make_tx(&x[0], 0, (uint64_t)h, "put", args);
    make_tx(&x[1], 1, (uint64_t)h, h % 2 == 0 ? "fail" : "put", args);
    struct bytes v[CHAIN_TXS] = {bytes_of(x[0].b, x[0].len), bytes_of(x[1].b, x[1].len)};
    chain_add(f->s, v, CHAIN_TXS, 1000 + 1000 * (uint64_t)h, NVALS, b, out);
    assert_int_equal(b->tx_count, CHAIN_TXS);
  }
  free(out);
  free(b);
}

static void chain_fixture_free(struct chain_fixture *f) {
  store_gone(f->s, &f->d);
  free(f->x);
}

static int verify_into_scratch(struct store *s, uint64_t *bad, uint64_t *verified) {
  struct tmpdir scratch;
  tmpdir_make(&scratch);
  int rc = ledger_verify_chain(s, scratch.path, &EXEC, bad, verified);
  assert_true(rm_dir(scratch.path));
  return rc;
}

/* Flips one byte of a stored value; flipping again restores it. */
static void flip_stored(struct store *s, enum store_table tb, struct bytes key, size_t offset) {
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  struct bytes val;
  assert_int_equal(store_get(t, tb, key, &val), OK);
  assert_true(offset < val.len);
  uint8_t *copy = malloc(val.len);
  assert_non_null(copy);
  memcpy(copy, val.ptr, val.len);
  copy[offset] ^= 0x01;
  assert_int_equal(store_put(t, tb, key, bytes_of(copy, val.len)), OK);
  assert_int_equal(store_txn_commit(t), OK);
  free(copy);
}

static size_t stored_len(struct store *s, enum store_table tb, struct bytes key) {
  struct store_txn *t = NULL;
  assert_int_equal(store_read_begin(s, &t), OK);
  struct bytes val;
  assert_int_equal(store_get(t, tb, key, &val), OK);
  size_t len = val.len;
  store_txn_abort(t);
  return len;
}

static void expect_bad(struct store *s, uint64_t height) {
  uint64_t bad = 0;
  uint64_t verified = 0;
  assert_int_not_equal(verify_into_scratch(s, &bad, &verified), OK);
  assert_int_equal(bad, height);
  assert_true(verified < height);
}

static void expect_good(struct store *s) {
  uint64_t bad = 99;
  uint64_t verified = 0;
  assert_int_equal(verify_into_scratch(s, &bad, &verified), OK);
  assert_int_equal(verified, CHAIN_BLOCKS);
}

/* Copies the first key of a table into buf. */
static struct bytes first_key(struct store *s, enum store_table tb, uint8_t *buf, size_t cap) {
  struct store_txn *t = NULL;
  struct store_iter *it = NULL;
  struct bytes none = {NULL, 0};
  struct bytes key;
  struct bytes val;
  assert_int_equal(store_read_begin(s, &t), OK);
  assert_int_equal(store_iter_begin(t, tb, none, none, &it), OK);
  assert_int_equal(store_iter_next(it, &key, &val), OK);
  assert_true(key.len <= cap);
  memcpy(buf, key.ptr, key.len);
  size_t len = key.len;
  store_iter_end(it);
  store_txn_abort(t);
  return bytes_of(buf, len);
}

static void put_stored(struct store *s, enum store_table tb, struct bytes key, struct bytes val,
                       bool del) {
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  if (del) {
    assert_int_equal(store_del(t, tb, key), OK);
  } else {
    assert_int_equal(store_put(t, tb, key, val), OK);
  }
  assert_int_equal(store_txn_commit(t), OK);
}

/* The live state a node serves and executes against must be the replayed
 * one: a changed state entry, a changed tree node, an extra entry, and a
 * changed genesis are all caught. */
static void test_verify_live_state(void **state) {
  (void)state;
  struct chain_fixture f;
  chain_fixture_make(&f);
  expect_good(f.s);
  uint64_t bad = 0;
  uint64_t verified = 0;
  uint8_t kb[LIM_STATE_KEY_MAX + 64];
  struct bytes k = first_key(f.s, STORE_STATE, kb, sizeof kb);
  size_t vlen = stored_len(f.s, STORE_STATE, k);
  if (vlen > 0) {
    flip_stored(f.s, STORE_STATE, k, vlen - 1);
    assert_int_equal(verify_into_scratch(f.s, &bad, &verified), ERR_CORRUPT);
    assert_int_equal(bad, CHAIN_BLOCKS);
    flip_stored(f.s, STORE_STATE, k, vlen - 1);
  }
  const uint8_t extra_key[] = {0x7a, 'x'};
  put_stored(f.s, STORE_STATE, bytes_of(extra_key, 2), bytes_of(extra_key, 1), false);
  assert_int_equal(verify_into_scratch(f.s, &bad, &verified), ERR_CORRUPT);
  assert_int_equal(bad, CHAIN_BLOCKS);
  put_stored(f.s, STORE_STATE, bytes_of(extra_key, 2), bytes_of(extra_key, 1), true);
  expect_good(f.s);
  uint8_t nb[128];
  struct bytes node = first_key(f.s, STORE_SMT, nb, sizeof nb);
  size_t nlen = stored_len(f.s, STORE_SMT, node);
  flip_stored(f.s, STORE_SMT, node, nlen - 1);
  assert_int_not_equal(verify_into_scratch(f.s, &bad, &verified), OK);
  assert_int_equal(bad, CHAIN_BLOCKS);
  flip_stored(f.s, STORE_SMT, node, nlen - 1);
  struct bytes gkey = str_bytes("genesis");
  size_t glen = stored_len(f.s, STORE_META, gkey);
  flip_stored(f.s, STORE_META, gkey, glen - 1);
  assert_int_equal(verify_into_scratch(f.s, &bad, &verified), ERR_CORRUPT);
  assert_int_equal(bad, 0);
  flip_stored(f.s, STORE_META, gkey, glen - 1);
  expect_good(f.s);
  chain_fixture_free(&f);
}

static void test_verify_chain(void **state) {
  (void)state;
  struct chain_fixture f;
  chain_fixture_make(&f);
  expect_good(f.s);
  uint8_t hk[8];
  base_put_u64be(hk, 3);
  struct bytes key3 = bytes_of(hk, 8);
  size_t len3 = stored_len(f.s, STORE_BLOCKS, key3);
  /* Header: the version byte, a time byte, a state root byte. The header
   * is u8 | var chain id | u64 height | u64 time | 7 ids | u32. */
  size_t chain_len = strlen(CHAIN);
  size_t time_at = 1 + 4 + chain_len + 8 + 7;
  size_t root_at = 1 + 4 + chain_len + 16 + 4 * 32;
  size_t header_len = 1 + 4 + chain_len + 16 + 7 * 32 + 4;
  size_t offsets[] = {
      0,                                               /* header version */
      time_at,                                         /* header time */
      root_at,                                         /* header state root */
      header_len + 4 + 4 + 40,                         /* the first tx's sender */
      header_len + 4 + 4 + 90,                         /* the first tx's contract name length */
      len3 - 1,                                        /* the last commit signature */
      len3 - CRY_SIG_BYTES - 2 + 1,                    /* the last signature's validator index */
      len3 - 4 * (2 + CRY_SIG_BYTES) - 2 - 32 - 1,     /* the commit's round */
      len3 - 4 * (2 + CRY_SIG_BYTES) - 2 - 32 - 4 - 1, /* the commit's height */
  };
  for (size_t i = 0; i < ARRAY_LEN(offsets); i++) {
    flip_stored(f.s, STORE_BLOCKS, key3, offsets[i]);
    expect_bad(f.s, 3);
    flip_stored(f.s, STORE_BLOCKS, key3, offsets[i]);
  }
  expect_good(f.s);
  /* A tampered tip: state root, time, and the height itself. */
  struct bytes tipkey = str_bytes("tip");
  size_t tip_offsets[] = {8 + 32 + 32 + 8 + 3, 8 + 32 + 32 + 7, 8 + 32 + 5, 7};
  for (size_t i = 0; i < ARRAY_LEN(tip_offsets); i++) {
    flip_stored(f.s, STORE_META, tipkey, tip_offsets[i]);
    uint64_t bad = 0;
    uint64_t verified = 0;
    assert_int_equal(verify_into_scratch(f.s, &bad, &verified), ERR_CORRUPT);
    assert_int_equal(bad, CHAIN_BLOCKS);
    flip_stored(f.s, STORE_META, tipkey, tip_offsets[i]);
  }
  /* A tx index entry with the wrong result code. */
  struct hash32 id;
  codec_tx_hash(&id, f.x[2 * CHAIN_TXS + 1].b, f.x[2 * CHAIN_TXS + 1].len);
  flip_stored(f.s, STORE_TXINDEX, bytes_of(id.b, 32), TXLOC_BYTES - 1);
  expect_bad(f.s, 3);
  flip_stored(f.s, STORE_TXINDEX, bytes_of(id.b, 32), TXLOC_BYTES - 1);
  expect_good(f.s);
  chain_fixture_free(&f);
}

static void test_verify_scratch_must_be_empty(void **state) {
  (void)state;
  struct chain_fixture f;
  chain_fixture_make(&f);
  struct tmpdir scratch;
  tmpdir_make(&scratch);
  char path[128];
  snprintf(path, sizeof(path), "%s/junk", scratch.path);
  FILE *junk = fopen(path, "w");
  assert_non_null(junk);
  fclose(junk);
  uint64_t bad = 0;
  uint64_t verified = 0;
  assert_int_equal(ledger_verify_chain(f.s, scratch.path, &EXEC, &bad, &verified), ERR_EXISTS);
  assert_true(rm_dir(scratch.path));
  chain_fixture_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_genesis_roundtrip), cmocka_unit_test(test_genesis_vectors),
      cmocka_unit_test(test_genesis_rules),     cmocka_unit_test(test_genesis_init),
      cmocka_unit_test(test_tx_check),          cmocka_unit_test(test_build_store_apply),
      cmocka_unit_test(test_build_full_block),  cmocka_unit_test(test_apply_rejects_header),
      cmocka_unit_test(test_apply_rejects_txs), cmocka_unit_test(test_apply_commit_quorum),
      cmocka_unit_test(test_verify_chain),      cmocka_unit_test(test_verify_scratch_must_be_empty),
      cmocka_unit_test(test_verify_live_state),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
