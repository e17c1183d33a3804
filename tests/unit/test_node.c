/*
 * test_node — a real node in a temporary home: genesis, keystore and
 * config written the way `medchain init` does, the producer thread
 * running, transactions signed and submitted as a client would, and what
 * the client sees checked: commit results, stable error codes at
 * submission, an unchanged state root after every rejection, status and
 * restarts. No assertion depends on how fast anything runs: waits are
 * generous upper bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "contracts/contracts.h"
#include "crypto/crypto.h"
#include "node/node.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHAIN "node-test"
#define WAIT_MS 20000u

/* ---- keys and homes --------------------------------------------------------- */

struct keys {
  struct cry_keys *val;      /* the validator */
  struct cry_keys *admin;    /* founding admin of member 0 */
  struct cry_keys *admin2;   /* founding admin of member 1 */
  struct cry_keys *stranger; /* no identity */
  struct cry_keys *patient[8];
};
static struct keys K;

static struct cry_keys *seeded(uint8_t tag, uint8_t i) {
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, tag, sizeof seed);
  seed[0] = i;
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  return k;
}

static struct hash32 id_of(const struct cry_keys *k) {
  struct pubkey pk;
  cry_keys_sign_pk(k, &pk);
  struct hash32 id;
  cry_id_from_pk(&id, &pk);
  return id;
}

static int group_setup(void **state) {
  (void)state;
  assert_int_equal(cry_init(), OK);
  base_log_setup(BASE_LOG_WARN, false);
  K.val = seeded(0x10, 0);
  K.admin = seeded(0x20, 0);
  K.admin2 = seeded(0x20, 1);
  K.stranger = seeded(0x30, 0);
  for (uint8_t i = 0; i < ARRAY_LEN(K.patient); i++) {
    K.patient[i] = seeded(0x40, i);
  }
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  cry_keys_destroy(K.val);
  cry_keys_destroy(K.admin);
  cry_keys_destroy(K.admin2);
  cry_keys_destroy(K.stranger);
  for (size_t i = 0; i < ARRAY_LEN(K.patient); i++) {
    cry_keys_destroy(K.patient[i]);
  }
  return 0;
}

static void path_of(char *out, size_t cap, const char *home, const char *file) {
  int len = snprintf(out, cap, "%s/%s", home, file);
  assert_true(len > 0 && (size_t)len < cap);
}

static void write_genesis(const char *home, const char *chain_id) {
  struct ledger_genesis *g = calloc(1, sizeof *g);
  assert_non_null(g);
  snprintf(g->chain_id, sizeof g->chain_id, "%s", chain_id);
  g->time_ms = base_now_ms() - 60000;
  g->nvalidators = 1;
  cry_keys_sign_pk(K.val, &g->validators[0].pk);
  cry_id_from_pk(&g->validators[0].id, &g->validators[0].pk);
  g->validators[0].power = 10;
  g->nmembers = 2;
  const struct cry_keys *admins[2] = {K.admin, K.admin2};
  const char *names[2] = {"General Hospital", "City Clinic"};
  const char *kinds[2] = {"hospital", "clinic"};
  for (int i = 0; i < 2; i++) {
    snprintf(g->members[i].name, sizeof g->members[i].name, "%s", names[i]);
    snprintf(g->members[i].kind, sizeof g->members[i].kind, "%s", kinds[i]);
    cry_keys_sign_pk(admins[i], &g->members[i].admin_pk);
    cry_keys_box_pk(admins[i], &g->members[i].admin_box);
  }
  uint8_t *buf = malloc(LEDGER_GENESIS_BYTES_MAX);
  assert_non_null(buf);
  size_t len = 0;
  assert_int_equal(ledger_genesis_encode(g, buf, LEDGER_GENESIS_BYTES_MAX, &len), OK);
  char path[NODE_PATH_MAX + 32];
  path_of(path, sizeof path, home, "genesis.bin");
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
  free(buf);
  free(g);
}

static void write_key(const char *home, const struct cry_keys *k) {
  char path[NODE_PATH_MAX + 32];
  path_of(path, sizeof path, home, "node.key");
  assert_int_equal(cry_keystore_write(path, k, NULL, true), OK);
}

static void rm_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      continue;
    }
    char path[NODE_PATH_MAX + 300];
    path_of(path, sizeof path, dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
      rm_tree(path);
    } else {
      unlink(path);
    }
  }
  closedir(d);
  rmdir(dir);
}

/* One test's node and home. */
struct fx {
  char home[64];
  struct node_config cfg;
  struct node *n;
};

static struct fx *fx_home(void) {
  struct fx *fx = calloc(1, sizeof *fx);
  assert_non_null(fx);
  snprintf(fx->home, sizeof fx->home, "/tmp/medchain-node-XXXXXX");
  assert_non_null(mkdtemp(fx->home));
  write_genesis(fx->home, CHAIN);
  write_key(fx->home, K.val);
  node_config_defaults(&fx->cfg, fx->home);
  fx->cfg.block_interval_ms = 5;
  fx->cfg.heartbeat_ms = 600000; /* no empty blocks unless a test asks */
  fx->cfg.map_bytes = 64ull << 20;
  assert_int_equal(node_config_write(&fx->cfg), OK);
  return fx;
}

static void fx_open(struct fx *fx) {
  assert_int_equal(node_create(&fx->n, &fx->cfg), OK);
  assert_int_equal(node_start(fx->n), OK);
}

static int fx_setup(void **state) {
  struct fx *fx = fx_home();
  fx_open(fx);
  *state = fx;
  return 0;
}

static int fx_teardown(void **state) {
  struct fx *fx = *state;
  node_stop(fx->n);
  node_destroy(fx->n);
  rm_tree(fx->home);
  free(fx);
  return 0;
}

/* ---- transactions ----------------------------------------------------------- */

struct txbuf {
  uint8_t b[LIM_TX_BYTES_MAX];
  size_t len;
  struct hash32 hash;
};

static struct bytes str_bytes(const char *s) {
  return (struct bytes){(const uint8_t *)s, strlen(s)};
}

static void sign_as(struct txbuf *out, const struct cry_keys *k, const struct hash32 *sender,
                    const char *chain, uint64_t nonce, const char *contract, const char *method,
                    const uint8_t *args, size_t args_len) {
  struct tx tx;
  memset(&tx, 0, sizeof tx);
  tx.chain_id = str_bytes(chain);
  tx.sender = *sender;
  cry_keys_sign_pk(k, &tx.pubkey);
  tx.nonce = nonce;
  tx.contract = str_bytes(contract);
  tx.method = str_bytes(method);
  tx.args = (struct bytes){args, args_len};
  assert_int_equal(ledger_tx_sign(&tx, k, out->b, sizeof out->b, &out->len), OK);
  codec_tx_hash(&out->hash, out->b, out->len);
}

static void sign_tx(struct txbuf *out, const struct cry_keys *k, uint64_t nonce,
                    const char *contract, const char *method, const uint8_t *args,
                    size_t args_len) {
  struct hash32 sender = id_of(k);
  sign_as(out, k, &sender, CHAIN, nonce, contract, method, args, args_len);
}

/* Arguments of a method given as (sign_pk, box_pk) of k, or one id. */
static size_t args_keys(uint8_t *out, size_t cap, const char *method, const struct cry_keys *k) {
  const struct ctr_method *m = ctr_method_find(str_bytes("identity"), str_bytes(method));
  assert_non_null(m);
  struct codec_value v[2];
  memset(v, 0, sizeof v);
  struct pubkey pk;
  struct boxkey bx;
  cry_keys_sign_pk(k, &pk);
  cry_keys_box_pk(k, &bx);
  v[0].type = CODEC_PUBKEY;
  memcpy(v[0].id.b, pk.b, 32);
  v[1].type = CODEC_PUBKEY;
  memcpy(v[1].id.b, bx.b, 32);
  size_t len = 0;
  assert_int_equal(codec_record_encode(m->args, v, out, cap, &len), OK);
  return len;
}

static size_t args_id(uint8_t *out, size_t cap, const char *method, const struct hash32 *id) {
  const struct ctr_method *m = ctr_method_find(str_bytes("identity"), str_bytes(method));
  assert_non_null(m);
  struct codec_value v;
  memset(&v, 0, sizeof v);
  v.type = CODEC_ID;
  v.id = *id;
  size_t len = 0;
  assert_int_equal(codec_record_encode(m->args, &v, out, cap, &len), OK);
  return len;
}

/* Admin k (nonce) enrols patient p. */
static void enrol_tx(struct txbuf *out, const struct cry_keys *k, uint64_t nonce,
                     const struct cry_keys *p) {
  uint8_t args[256];
  size_t len = args_keys(args, sizeof args, "enrol_patient", p);
  sign_tx(out, k, nonce, "identity", "enrol_patient", args, len);
}

static void submit_ok(struct node *n, const struct txbuf *t) {
  struct hash32 h;
  assert_int_equal(node_tx_submit(n, t->b, t->len, &h), OK);
  assert_true(base_hash_eq(&h, &t->hash));
}

/* Waits for t to commit and returns its result code. */
static int wait_result(struct node *n, const struct txbuf *t) {
  struct node_tx_status st;
  assert_int_equal(node_tx_wait(n, &t->hash, WAIT_MS, &st), OK);
  assert_int_equal(st.state, NODE_TX_COMMITTED);
  struct node_tx_status again;
  assert_int_equal(node_tx_status(n, &t->hash, &again), OK);
  assert_int_equal(again.state, NODE_TX_COMMITTED);
  assert_int_equal(again.loc.height, st.loc.height);
  return st.loc.code;
}

static void commit_ok(struct node *n, const struct txbuf *t) {
  submit_ok(n, t);
  assert_int_equal(wait_result(n, t), OK);
}

static struct node_status *status_of(struct node *n) {
  static struct node_status st; /* tests run one at a time */
  assert_int_equal(node_status(n, &st), OK);
  return &st;
}

/* ---- config ----------------------------------------------------------------- */

static void write_text(const char *home, const char *file, const char *text) {
  char path[NODE_PATH_MAX + 32];
  path_of(path, sizeof path, home, file);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static void test_config(void **state) {
  (void)state;
  char home[] = "/tmp/medchain-cfg-XXXXXX";
  assert_non_null(mkdtemp(home));
  struct node_config cfg, got;
  assert_int_equal(node_config_load(&got, home), ERR_NOT_FOUND);
  node_config_defaults(&cfg, home);
  assert_string_equal(cfg.name, "node0");
  assert_string_equal(cfg.api_host, "127.0.0.1");
  assert_int_equal(cfg.api_port, 26657);
  assert_int_equal(cfg.block_interval_ms, 10);
  assert_int_equal(cfg.heartbeat_ms, 10000);
  assert_int_equal(cfg.map_bytes, 8192ull << 20);
  assert_false(cfg.log_json);
  snprintf(cfg.name, sizeof cfg.name, "node-7");
  snprintf(cfg.api_host, sizeof cfg.api_host, "0.0.0.0");
  cfg.api_port = 8080;
  cfg.log_json = true;
  cfg.map_bytes = 512ull << 20;
  assert_int_equal(node_config_write(&cfg), OK);
  assert_int_equal(node_config_load(&got, home), OK);
  assert_memory_equal(&got, &cfg, sizeof cfg);

  write_text(home, "config",
             "# comment\n\nname = n1\n  api = 10.0.0.1:1234  \nblock_interval_ms=20\n"
             "heartbeat_ms = 500\nmap_mb = 16\nlog_json = false\np2p_port = 9\n");
  assert_int_equal(node_config_load(&got, home), OK);
  assert_string_equal(got.name, "n1");
  assert_string_equal(got.api_host, "10.0.0.1");
  assert_int_equal(got.api_port, 1234);
  assert_int_equal(got.block_interval_ms, 20);
  assert_int_equal(got.heartbeat_ms, 500);
  assert_int_equal(got.map_bytes, 16ull << 20);
  assert_int_equal(got.p2p_port, 9);

  const char *bad[] = {
      "colour = blue\n",
      "name = a\nname = b\n",
      "block_interval_ms = 012\n",
      "block_interval_ms = -1\n",
      "heartbeat_ms = 0\n",
      "api = localhost:80\n",
      "api = 127.0.0.1:70000\n",
      "api = 127.0.0.1\n",
      "log_json = yes\n",
      "map_mb = 1x\n",
      "just a line\n",
      "name = has space\n",
      "map_mb = 99999999999\n",
      "p2p_port = 18446744073709551616\n",
  };
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    write_text(home, "config", bad[i]);
    assert_int_equal(node_config_load(&got, home), ERR_CONFIG);
  }
  /* What would not load back is not written. */
  struct node_config w = cfg;
  w.api_port = 0;
  assert_int_equal(node_config_write(&w), ERR_CONFIG);
  w = cfg;
  snprintf(w.api_host, sizeof w.api_host, "example.org");
  assert_int_equal(node_config_write(&w), ERR_CONFIG);
  w = cfg;
  w.map_bytes = 3;
  assert_int_equal(node_config_write(&w), ERR_CONFIG);
  rm_tree(home);
}

/* ---- the chain ---------------------------------------------------------------- */

static void test_commit(void **state) {
  struct fx *fx = *state;
  struct node_status before = *status_of(fx->n);
  assert_string_equal(before.chain_id, CHAIN);
  assert_int_equal(before.height, 0);
  assert_int_equal(before.nvalidators, 1);
  assert_false(before.catching_up);

  struct txbuf t;
  enrol_tx(&t, K.admin, 1, K.patient[0]);
  commit_ok(fx->n, &t);
  struct node_status *after = status_of(fx->n);
  assert_true(after->height >= 1);
  assert_int_equal(after->txs_committed, 1);
  assert_true(after->blocks_committed >= 1);
  assert_int_equal(after->mempool_txs, 0);
  assert_false(base_hash_eq(&after->state_root, &before.state_root));

  /* A burst from one sender: queued behind each other, committed in nonce
   * order whatever the block boundaries. */
  struct txbuf burst[5];
  for (uint64_t i = 0; i < 5; i++) {
    enrol_tx(&burst[i], K.admin, 2 + i, K.patient[1 + i]);
    submit_ok(fx->n, &burst[i]);
  }
  uint64_t last_height = 0;
  uint32_t last_index = 0;
  for (int i = 0; i < 5; i++) {
    struct node_tx_status st;
    assert_int_equal(node_tx_wait(fx->n, &burst[i].hash, WAIT_MS, &st), OK);
    assert_int_equal(st.state, NODE_TX_COMMITTED);
    assert_int_equal(st.loc.code, OK);
    assert_true(st.loc.height > last_height ||
                (st.loc.height == last_height && st.loc.index > last_index));
    last_height = st.loc.height;
    last_index = st.loc.index;
  }
  assert_int_equal(status_of(fx->n)->txs_committed, 6);

  /* The committed state is visible through a view. */
  struct node_view *v = NULL;
  assert_int_equal(node_view_begin(fx->n, &v), OK);
  struct hash32 pid = id_of(K.patient[3]);
  struct bytes val;
  assert_int_equal(ctr_get(node_view_state(v), CTR_IDENTITY, &pid, &val), OK);
  uint64_t next = 0;
  struct hash32 aid = id_of(K.admin);
  assert_int_equal(ctr_next_nonce(node_view_state(v), &aid, &next), OK);
  assert_int_equal(next, 7);
  assert_non_null(node_view_txn(v));
  node_view_end(v);
}

/* Submits and expects rc; the state root and the pool do not move. */
static void reject(struct fx *fx, const struct txbuf *t, int want) {
  struct hash32 root = status_of(fx->n)->state_root;
  struct hash32 h;
  assert_int_equal(node_tx_submit(fx->n, t->b, t->len, &h), want);
  struct node_status *st = status_of(fx->n);
  assert_true(base_hash_eq(&st->state_root, &root));
  assert_int_equal(st->mempool_txs, 0);
}

static void test_rejections(void **state) {
  struct fx *fx = *state;
  struct txbuf first;
  enrol_tx(&first, K.admin, 1, K.patient[0]);
  commit_ok(fx->n, &first);

  struct txbuf t;
  /* A signature that does not verify. */
  enrol_tx(&t, K.admin, 2, K.patient[1]);
  t.b[t.len - 1] ^= 1;
  reject(fx, &t, ERR_BAD_SIGNATURE);
  /* Another chain's transaction. */
  uint8_t args[256];
  size_t alen = args_keys(args, sizeof args, "enrol_patient", K.patient[1]);
  struct hash32 aid = id_of(K.admin);
  sign_as(&t, K.admin, &aid, "other-chain", 2, "identity", "enrol_patient", args, alen);
  reject(fx, &t, ERR_WRONG_CHAIN);
  /* The committed transaction again, and a new one reusing its nonce. */
  reject(fx, &first, ERR_REPLAY);
  enrol_tx(&t, K.admin, 1, K.patient[1]);
  reject(fx, &t, ERR_REPLAY);
  /* Too far ahead. */
  enrol_tx(&t, K.admin, 4, K.patient[1]);
  reject(fx, &t, ERR_NONCE_GAP);
  /* Nobody's identity; someone's identity with another key. */
  enrol_tx(&t, K.stranger, 1, K.patient[1]);
  reject(fx, &t, ERR_UNKNOWN_SENDER);
  sign_as(&t, K.stranger, &aid, CHAIN, 2, "identity", "enrol_patient", args, alen);
  reject(fx, &t, ERR_KEY_MISMATCH);
  /* A patient may not enrol patients: the dry run says so. */
  enrol_tx(&t, K.patient[0], 1, K.patient[1]);
  reject(fx, &t, ERR_UNAUTHORIZED);
  /* Methods that do not exist, arguments that do not decode, garbage. */
  sign_tx(&t, K.admin, 2, "identity", "enrol_everyone", args, alen);
  reject(fx, &t, ERR_UNKNOWN_METHOD);
  sign_tx(&t, K.admin, 2, "billing", "charge", args, alen);
  reject(fx, &t, ERR_UNKNOWN_CONTRACT);
  sign_tx(&t, K.admin, 2, "identity", "enrol_patient", args, alen - 1);
  reject(fx, &t, ERR_BAD_ARGS);
  memset(t.b, 0xee, 100);
  t.len = 100;
  reject(fx, &t, ERR_MALFORMED);

  uint64_t counts[ERR_COUNT_];
  node_rejections(fx->n, counts);
  assert_int_equal(counts[ERR_BAD_SIGNATURE], 1);
  assert_int_equal(counts[ERR_REPLAY], 2);
  assert_int_equal(counts[ERR_UNAUTHORIZED], 1);
  assert_int_equal(status_of(fx->n)->txs_rejected, 12);
  /* And the sender's next nonce still works. */
  enrol_tx(&t, K.admin, 2, K.patient[1]);
  commit_ok(fx->n, &t);
}

static void test_pending_duplicates(void **state) {
  struct fx *fx = *state;
  node_stop(fx->n); /* nothing commits: everything stays pending */
  node_destroy(fx->n);
  fx->cfg.block_interval_ms = 60000;
  fx_open(fx);
  /* The first block comes one interval after start: plenty of time. */
  struct txbuf a, b, c;
  enrol_tx(&a, K.admin, 1, K.patient[0]);
  enrol_tx(&b, K.admin, 1, K.patient[1]);
  enrol_tx(&c, K.admin, 2, K.patient[1]);
  submit_ok(fx->n, &a);
  struct hash32 h;
  assert_int_equal(node_tx_submit(fx->n, a.b, a.len, &h), ERR_DUPLICATE_TX);
  assert_int_equal(node_tx_submit(fx->n, b.b, b.len, &h), ERR_DUPLICATE_TX);
  submit_ok(fx->n, &c);
  struct node_tx_status st;
  assert_int_equal(node_tx_status(fx->n, &c.hash, &st), OK);
  assert_int_equal(st.state, NODE_TX_PENDING);
  assert_int_equal(node_tx_wait(fx->n, &c.hash, 1, &st), ERR_TIMEOUT);
  assert_int_equal(st.state, NODE_TX_PENDING);
  struct node_status *s = status_of(fx->n);
  assert_int_equal(s->mempool_txs, 2);
  assert_int_equal(s->mempool_bytes, a.len + c.len);
  /* Unknown transactions are answered at once. */
  struct hash32 nobody;
  memset(&nobody, 7, sizeof nobody);
  assert_int_equal(node_tx_wait(fx->n, &nobody, WAIT_MS, &st), OK);
  assert_int_equal(st.state, NODE_TX_UNKNOWN);
  /* Stopping wakes waiters and refuses new work. */
  node_stop(fx->n);
  assert_int_equal(node_tx_wait(fx->n, &c.hash, WAIT_MS, &st), ERR_UNAVAILABLE);
  struct txbuf d;
  enrol_tx(&d, K.admin2, 1, K.patient[2]);
  assert_int_equal(node_tx_submit(fx->n, d.b, d.len, &h), ERR_UNAVAILABLE);
  assert_int_equal(node_start(fx->n), ERR_UNAVAILABLE);
}

static void test_suspended(void **state) {
  struct fx *fx = *state;
  struct txbuf t;
  enrol_tx(&t, K.admin, 1, K.patient[0]);
  commit_ok(fx->n, &t);
  uint8_t args[256];
  struct hash32 pid = id_of(K.patient[0]);
  size_t len = args_id(args, sizeof args, "suspend", &pid);
  sign_tx(&t, K.admin, 2, "identity", "suspend", args, len);
  commit_ok(fx->n, &t);
  len = args_keys(args, sizeof args, "rotate_key", K.patient[1]);
  sign_tx(&t, K.patient[0], 1, "identity", "rotate_key", args, len);
  reject(fx, &t, ERR_SUSPENDED);
}

/* A transaction admitted to the pool that a block then cannot admit (its
 * sender was suspended by an earlier transaction of the same block) is
 * dropped, and its waiter learns why. */
static void test_dropped_in_block(void **state) {
  struct fx *fx = *state;
  node_stop(fx->n);
  node_destroy(fx->n);
  fx->cfg.block_interval_ms = 1500;
  fx_open(fx);
  struct txbuf t;
  enrol_tx(&t, K.admin, 1, K.patient[0]);
  commit_ok(fx->n, &t);
  /* A block just ended: the next one is an interval away. */
  uint8_t args[256];
  struct hash32 pid = id_of(K.patient[0]);
  size_t len = args_id(args, sizeof args, "suspend", &pid);
  struct txbuf suspend, rotate;
  sign_tx(&suspend, K.admin, 2, "identity", "suspend", args, len);
  len = args_keys(args, sizeof args, "rotate_key", K.patient[1]);
  sign_tx(&rotate, K.patient[0], 1, "identity", "rotate_key", args, len);
  submit_ok(fx->n, &suspend);
  struct hash32 h;
  int rc = node_tx_submit(fx->n, rotate.b, rotate.len, &h);
  if (rc == OK) {
    struct node_tx_status st;
    assert_int_equal(node_tx_wait(fx->n, &rotate.hash, WAIT_MS, &st), ERR_SUSPENDED);
    assert_int_equal(st.state, NODE_TX_UNKNOWN);
  } else {
    /* The suspension committed first after all (a very slow machine). */
    assert_int_equal(rc, ERR_SUSPENDED);
  }
  assert_int_equal(wait_result(fx->n, &suspend), OK);
  struct node_tx_status st;
  assert_int_equal(node_tx_status(fx->n, &rotate.hash, &st), OK);
  assert_int_equal(st.state, NODE_TX_UNKNOWN);
}

static void test_restart(void **state) {
  struct fx *fx = *state;
  struct txbuf t;
  enrol_tx(&t, K.admin, 1, K.patient[0]);
  commit_ok(fx->n, &t);
  struct node_status before = *status_of(fx->n);
  node_stop(fx->n);
  node_stop(fx->n); /* idempotent */
  node_destroy(fx->n);

  fx_open(fx);
  struct node_status *after = status_of(fx->n);
  assert_int_equal(after->height, before.height);
  assert_true(base_hash_eq(&after->state_root, &before.state_root));
  assert_true(base_hash_eq(&after->last_hash, &before.last_hash));
  assert_true(base_hash_eq(&after->genesis_hash, &before.genesis_hash));
  assert_int_equal(after->txs_committed, 0); /* counters are since start */
  struct node_tx_status st;
  assert_int_equal(node_tx_status(fx->n, &t.hash, &st), OK);
  assert_int_equal(st.state, NODE_TX_COMMITTED);
  enrol_tx(&t, K.admin, 2, K.patient[1]);
  commit_ok(fx->n, &t);
  assert_int_equal(status_of(fx->n)->height, before.height + 1);
  node_stop(fx->n);
  node_destroy(fx->n);
  fx->n = NULL;

  /* Another chain's genesis over this store refuses to open; a key that is
   * no validator opens as a follower that never signs. */
  char path[NODE_PATH_MAX + 32], saved[NODE_PATH_MAX + 32];
  path_of(path, sizeof path, fx->home, "genesis.bin");
  path_of(saved, sizeof saved, fx->home, "genesis.saved");
  assert_int_equal(rename(path, saved), 0);
  struct node *n = NULL;
  write_genesis(fx->home, "another-chain");
  assert_int_equal(node_create(&n, &fx->cfg), ERR_CONFIG);
  assert_null(n);
  write_genesis(fx->home, CHAIN); /* a new genesis time: still another chain */
  assert_int_equal(node_create(&n, &fx->cfg), ERR_CONFIG);

  char home2[] = "/tmp/medchain-node2-XXXXXX";
  assert_non_null(mkdtemp(home2));
  write_genesis(home2, CHAIN);
  write_key(home2, K.stranger);
  struct node_config cfg2;
  node_config_defaults(&cfg2, home2);
  cfg2.map_bytes = 64ull << 20;
  assert_int_equal(node_create(&n, &cfg2), OK);
  struct node_status *fst = status_of(n);
  assert_false(fst->is_validator);
  assert_int_equal(fst->height, 0);
  node_destroy(n);
  n = NULL;
  rm_tree(home2);
  assert_int_equal(rename(saved, path), 0);
  fx_open(fx);
  assert_int_equal(status_of(fx->n)->height, before.height + 1);
}

static void test_heartbeat(void **state) {
  struct fx *fx = *state;
  node_stop(fx->n);
  node_destroy(fx->n);
  fx->cfg.heartbeat_ms = 20;
  fx_open(fx);
  struct hash32 root = status_of(fx->n)->state_root;
  struct timespec ts = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 2000 && status_of(fx->n)->height < 3; i++) {
    nanosleep(&ts, NULL);
  }
  struct node_status *st = status_of(fx->n);
  assert_true(st->height >= 3);
  assert_int_equal(st->txs_committed, 0);
  assert_true(base_hash_eq(&st->state_root, &root));
}

/* ---- hooks and threads ------------------------------------------------------- */

struct hook_seen {
  pthread_mutex_t mu;
  uint64_t blocks;
  uint64_t txs;
  uint64_t last_height;
};

static void on_commit(void *ctx, const struct block *b, const uint16_t *results) {
  struct hook_seen *s = ctx;
  pthread_mutex_lock(&s->mu);
  assert_true(b->header.height == s->last_height + 1 || s->last_height == 0);
  s->last_height = b->header.height;
  s->blocks++;
  s->txs += b->tx_count;
  for (uint32_t i = 0; i < b->tx_count; i++) {
    assert_int_equal(results[i], OK);
    assert_true(b->txs[i].len > 0);
  }
  pthread_mutex_unlock(&s->mu);
}

struct submitter {
  struct node *n;
  const struct cry_keys *admin;
  uint8_t first_patient_seed;
  int count;
  struct txbuf *txs;
};

static void *submit_many(void *arg) {
  struct submitter *s = arg;
  for (int i = 0; i < s->count; i++) {
    struct cry_keys *p = seeded(0x50 + s->first_patient_seed, (uint8_t)i);
    enrol_tx(&s->txs[i], s->admin, 1 + (uint64_t)i, p);
    cry_keys_destroy(p);
    struct hash32 h;
    int rc = node_tx_submit(s->n, s->txs[i].b, s->txs[i].len, &h);
    if (rc != OK) {
      fprintf(stderr, "submit %d: %s\n", i, err_name(rc));
      abort();
    }
  }
  return NULL;
}

static void test_concurrent_senders(void **state) {
  struct fx *fx = *state;
  struct hook_seen seen = {.blocks = 0};
  pthread_mutex_init(&seen.mu, NULL);
  assert_int_equal(node_on_commit(fx->n, on_commit, &seen), OK);
  enum { PER = 40 };
  struct submitter s[2] = {
      {fx->n, K.admin, 0, PER, calloc(PER, sizeof(struct txbuf))},
      {fx->n, K.admin2, 1, PER, calloc(PER, sizeof(struct txbuf))},
  };
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    assert_non_null(s[i].txs);
    assert_int_equal(pthread_create(&th[i], NULL, submit_many, &s[i]), 0);
  }
  for (int i = 0; i < 2; i++) {
    pthread_join(th[i], NULL);
  }
  for (int i = 0; i < 2; i++) {
    for (int j = 0; j < PER; j++) {
      assert_int_equal(wait_result(fx->n, &s[i].txs[j]), OK);
    }
    free(s[i].txs);
  }
  assert_int_equal(status_of(fx->n)->txs_committed, 2 * PER);
  /* Hooks run after waiters wake: give the last one a moment. */
  struct timespec ts = {0, 5 * 1000 * 1000};
  for (int i = 0; i < 4000; i++) {
    pthread_mutex_lock(&seen.mu);
    uint64_t txs = seen.txs;
    pthread_mutex_unlock(&seen.mu);
    if (txs == 2 * PER) {
      break;
    }
    nanosleep(&ts, NULL);
  }
  pthread_mutex_lock(&seen.mu);
  assert_int_equal(seen.txs, 2 * PER);
  assert_int_equal(seen.last_height, status_of(fx->n)->height);
  pthread_mutex_unlock(&seen.mu);
  node_stop(fx->n); /* no hook may run after seen goes away */
  pthread_mutex_destroy(&seen.mu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_config),
      cmocka_unit_test_setup_teardown(test_commit, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_rejections, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_pending_duplicates, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_suspended, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_dropped_in_block, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_restart, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_heartbeat, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_senders, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
