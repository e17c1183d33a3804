/*
 * Unit tests of store: get/put/del, ordered iteration with prefix and
 * start, the last entry, durability across reopen, a full map, aborts, and
 * snapshot isolation for readers on other threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAP_BYTES (64u * 1024u * 1024u)

struct fx {
  char dir[64];
  struct store *s;
};

static struct bytes b_str(const char *s) {
  return (struct bytes){(const uint8_t *)s, strlen(s)};
}

static bool b_eq_str(struct bytes b, const char *s) {
  return b.len == strlen(s) && memcmp(b.ptr, s, b.len) == 0;
}

static void fx_remove_dir(const char *dir) {
  char path[128];
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/lock.mdb", dir);
  unlink(path);
  rmdir(dir);
}

static int fx_setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  snprintf(f->dir, sizeof(f->dir), "/tmp/medchain-store-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(store_open(&f->s, f->dir, MAP_BYTES), OK);
  *state = f;
  return 0;
}

static int fx_teardown(void **state) {
  struct fx *f = *state;
  store_close(f->s);
  fx_remove_dir(f->dir);
  free(f);
  return 0;
}

static void put_str(struct store_txn *t, enum store_table tb, const char *k, const char *v) {
  assert_int_equal(store_put(t, tb, b_str(k), b_str(v)), OK);
}

static void expect_str(struct store_txn *t, enum store_table tb, const char *k, const char *v) {
  struct bytes val;
  if (v == NULL) {
    assert_int_equal(store_get(t, tb, b_str(k), &val), ERR_NOT_FOUND);
    return;
  }
  assert_int_equal(store_get(t, tb, b_str(k), &val), OK);
  assert_true(b_eq_str(val, v));
}

static void test_put_get_del(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(f->s, &t), OK);
  assert_true(store_txn_is_write(t));
  put_str(t, STORE_META, "chain_id", "medchain-test");
  put_str(t, STORE_STATE, "chain_id", "other table");
  expect_str(t, STORE_META, "chain_id", "medchain-test");
  expect_str(t, STORE_STATE, "chain_id", "other table");
  expect_str(t, STORE_BLOCKS, "chain_id", NULL);
  put_str(t, STORE_META, "chain_id", "replaced");
  expect_str(t, STORE_META, "chain_id", "replaced");
  assert_int_equal(store_put(t, STORE_META, b_str("empty"), (struct bytes){NULL, 0}), OK);
  struct bytes val;
  assert_int_equal(store_get(t, STORE_META, b_str("empty"), &val), OK);
  assert_int_equal(val.len, 0);
  assert_int_equal(store_del(t, STORE_STATE, b_str("chain_id")), OK);
  assert_int_equal(store_del(t, STORE_STATE, b_str("chain_id")), ERR_NOT_FOUND);
  expect_str(t, STORE_STATE, "chain_id", NULL);
  assert_int_equal(store_txn_commit(t), OK);

  assert_int_equal(store_read_begin(f->s, &t), OK);
  assert_false(store_txn_is_write(t));
  expect_str(t, STORE_META, "chain_id", "replaced");
  expect_str(t, STORE_STATE, "chain_id", NULL);
  assert_int_equal(store_txn_commit(t), OK);
}

static void test_key_sizes(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(f->s, &t), OK);
  uint8_t big[600];
  memset(big, 'k', sizeof(big));
  struct bytes v = b_str("v");
  assert_int_equal(store_put(t, STORE_META, (struct bytes){big, sizeof(big)}, v), ERR_OVERSIZE);
  assert_int_equal(store_put(t, STORE_META, (struct bytes){big, 0}, v), ERR_OVERSIZE);
  assert_int_equal(store_put(t, STORE_META, (struct bytes){big, 511}, v), OK);
  struct bytes got;
  assert_int_equal(store_get(t, STORE_META, (struct bytes){big, sizeof(big)}, &got), ERR_NOT_FOUND);
  assert_int_equal(store_get(t, STORE_META, (struct bytes){big, 511}, &got), OK);
  /* The failed puts did not poison the transaction. */
  assert_int_equal(store_txn_commit(t), OK);
}

static void fill_iter_table(struct store *s) {
  static const char *const keys[] = {"a1", "a2", "a3", "b", "b1", "b2", "ba", "c"};
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
    put_str(t, STORE_STATE, keys[i], keys[i]);
  }
  assert_int_equal(store_txn_commit(t), OK);
}

/* Joins the keys the iteration yields with commas into out. */
static void iter_keys(struct store_txn *t, const char *prefix, const char *start, char *out,
                      size_t cap) {
  struct store_iter *it = NULL;
  assert_int_equal(store_iter_begin(t, STORE_STATE, b_str(prefix), b_str(start), &it), OK);
  out[0] = '\0';
  size_t used = 0;
  for (;;) {
    struct bytes k;
    struct bytes v;
    int err = store_iter_next(it, &k, &v);
    if (err == ERR_NOT_FOUND) {
      break;
    }
    assert_int_equal(err, OK);
    assert_memory_equal(k.ptr, v.ptr, k.len);
    int n = snprintf(out + used, cap - used, "%s%.*s", used ? "," : "", (int)k.len,
                     (const char *)k.ptr);
    assert_true(n > 0 && (size_t)n < cap - used);
    used += (size_t)n;
  }
  struct bytes k;
  struct bytes v;
  assert_int_equal(store_iter_next(it, &k, &v), ERR_NOT_FOUND); /* stays at the end */
  store_iter_end(it);
}

static void test_iter(void **state) {
  struct fx *f = *state;
  fill_iter_table(f->s);
  struct store_txn *t = NULL;
  assert_int_equal(store_read_begin(f->s, &t), OK);
  char got[256];
  iter_keys(t, "", "", got, sizeof(got));
  assert_string_equal(got, "a1,a2,a3,b,b1,b2,ba,c");
  iter_keys(t, "b", "", got, sizeof(got));
  assert_string_equal(got, "b,b1,b2,ba");
  iter_keys(t, "a", "a2", got, sizeof(got));
  assert_string_equal(got, "a2,a3");
  iter_keys(t, "a", "a25", got, sizeof(got));
  assert_string_equal(got, "a3");
  iter_keys(t, "", "b2", got, sizeof(got));
  assert_string_equal(got, "b2,ba,c");
  iter_keys(t, "b", "a", got, sizeof(got)); /* start before the prefix: from the prefix */
  assert_string_equal(got, "b,b1,b2,ba");
  iter_keys(t, "b", "bz", got, sizeof(got));
  assert_string_equal(got, "");
  iter_keys(t, "b1", "", got, sizeof(got));
  assert_string_equal(got, "b1");
  iter_keys(t, "d", "", got, sizeof(got));
  assert_string_equal(got, "");
  iter_keys(t, "", "zzz", got, sizeof(got));
  assert_string_equal(got, "");
  assert_int_equal(store_txn_commit(t), OK);
}

static void test_iter_in_write_txn(void **state) {
  struct fx *f = *state;
  fill_iter_table(f->s);
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(f->s, &t), OK);
  put_str(t, STORE_STATE, "b0", "b0");
  assert_int_equal(store_del(t, STORE_STATE, b_str("b1")), OK);
  char got[256];
  iter_keys(t, "b", "", got, sizeof(got));
  assert_string_equal(got, "b,b0,b2,ba");
  store_txn_abort(t);
}

static void test_last(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(f->s, &t), OK);
  struct bytes k;
  struct bytes v;
  assert_int_equal(store_last(t, STORE_BLOCKS, &k, &v), ERR_NOT_FOUND);
  uint64_t heights[] = {0, 7, 255, 256, 65536, 3};
  for (size_t i = 0; i < ARRAY_LEN(heights); i++) {
    uint8_t key[8];
    base_put_u64be(key, heights[i]);
    assert_int_equal(store_put(t, STORE_BLOCKS, (struct bytes){key, 8}, b_str("block")), OK);
  }
  assert_int_equal(store_last(t, STORE_BLOCKS, &k, &v), OK);
  assert_int_equal(k.len, 8);
  assert_int_equal(base_get_u64be(k.ptr), 65536);
  assert_true(b_eq_str(v, "block"));
  assert_int_equal(store_last(t, STORE_HASHES, &k, &v), ERR_NOT_FOUND);
  assert_int_equal(store_txn_commit(t), OK);
}

static void test_durable_reopen(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(f->s, &t), OK);
  put_str(t, STORE_META, "height", "42");
  put_str(t, STORE_SMT, "node", "n");
  assert_int_equal(store_txn_commit(t), OK);
  assert_int_equal(store_write_begin(f->s, &t), OK);
  put_str(t, STORE_META, "height", "43"); /* never committed */
  store_txn_abort(t);
  uint64_t used = store_file_bytes(f->s);
  assert_true(used > 0);
  store_close(f->s);
  f->s = NULL;

  assert_int_equal(store_open(&f->s, f->dir, MAP_BYTES), OK);
  assert_int_equal(store_read_begin(f->s, &t), OK);
  expect_str(t, STORE_META, "height", "42");
  expect_str(t, STORE_SMT, "node", "n");
  assert_int_equal(store_txn_commit(t), OK);
  assert_int_equal(store_file_bytes(f->s), used);
}

static void test_abort_discards(void **state) {
  struct fx *f = *state;
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(f->s, &t), OK);
  put_str(t, STORE_STATE, "kept", "1");
  assert_int_equal(store_txn_commit(t), OK);
  assert_int_equal(store_write_begin(f->s, &t), OK);
  put_str(t, STORE_STATE, "dropped", "2");
  put_str(t, STORE_STATE, "kept", "changed");
  assert_int_equal(store_del(t, STORE_STATE, b_str("kept")), OK);
  store_txn_abort(t);
  store_txn_abort(NULL);
  assert_int_equal(store_read_begin(f->s, &t), OK);
  expect_str(t, STORE_STATE, "kept", "1");
  expect_str(t, STORE_STATE, "dropped", NULL);
  store_txn_abort(t);
}

static void test_map_full(void **state) {
  (void)state;
  char dir[64];
  snprintf(dir, sizeof(dir), "/tmp/medchain-store-XXXXXX");
  assert_non_null(mkdtemp(dir));
  struct store *s = NULL;
  assert_int_equal(store_open(&s, dir, 256u * 1024u), OK);
  struct store_txn *t = NULL;
  assert_int_equal(store_write_begin(s, &t), OK);
  put_str(t, STORE_META, "before", "yes");
  assert_int_equal(store_txn_commit(t), OK);

  uint8_t val[4000];
  memset(val, 0xab, sizeof(val));
  assert_int_equal(store_write_begin(s, &t), OK);
  int err = OK;
  int puts = 0;
  for (; puts < 1000 && err == OK; puts++) {
    uint8_t key[8];
    base_put_u64be(key, (uint64_t)puts);
    err = store_put(t, STORE_BLOCKS, (struct bytes){key, 8}, (struct bytes){val, sizeof(val)});
  }
  assert_int_equal(err, ERR_STORE_FULL);
  assert_true(puts > 10);
  /* The transaction stays failed: later calls and the commit say so. */
  assert_int_equal(store_put(t, STORE_META, b_str("x"), b_str("y")), ERR_STORE_FULL);
  assert_int_equal(store_txn_commit(t), ERR_STORE_FULL);

  assert_int_equal(store_write_begin(s, &t), OK);
  expect_str(t, STORE_META, "before", "yes");
  struct bytes k;
  struct bytes v;
  assert_int_equal(store_last(t, STORE_BLOCKS, &k, &v), ERR_NOT_FOUND);
  put_str(t, STORE_META, "after", "yes");
  assert_int_equal(store_txn_commit(t), OK);
  store_close(s);
  fx_remove_dir(dir);
}

static void test_snapshot(void **state) {
  struct fx *f = *state;
  struct store_txn *w = NULL;
  assert_int_equal(store_write_begin(f->s, &w), OK);
  put_str(w, STORE_META, "v", "1");
  assert_int_equal(store_txn_commit(w), OK);

  struct store_txn *old = NULL;
  assert_int_equal(store_read_begin(f->s, &old), OK);
  assert_int_equal(store_write_begin(f->s, &w), OK);
  put_str(w, STORE_META, "v", "2");
  put_str(w, STORE_META, "new", "x");
  expect_str(old, STORE_META, "v", "1"); /* uncommitted writes are invisible */
  assert_int_equal(store_txn_commit(w), OK);
  expect_str(old, STORE_META, "v", "1"); /* and so are later commits */
  expect_str(old, STORE_META, "new", NULL);
  struct store_txn *cur = NULL;
  assert_int_equal(store_read_begin(f->s, &cur), OK);
  expect_str(cur, STORE_META, "v", "2");
  expect_str(cur, STORE_META, "new", "x");
  store_txn_abort(cur);
  assert_int_equal(store_txn_commit(old), OK);
}

/* The concurrency test: one writer appends k<i> and then bumps n in the
 * same transaction; readers on other threads check that every snapshot has
 * exactly k0..k<n-1> and that n never goes backwards. */
#define RACE_COMMITS 150
#define RACE_READERS 4

struct race {
  struct store *s;
  atomic_int failures;
  atomic_bool writer_done;
  atomic_int snapshots;
};

static uint64_t race_read_n(struct store_txn *t, struct race *r) {
  struct bytes v;
  int err = store_get(t, STORE_META, b_str("n"), &v);
  if (err == ERR_NOT_FOUND) {
    return 0;
  }
  if (err != OK || v.len != 8) {
    atomic_fetch_add(&r->failures, 1);
    return 0;
  }
  return base_get_u64be(v.ptr);
}

static void race_check_snapshot(struct store_txn *t, struct race *r, uint64_t *last) {
  uint64_t n = race_read_n(t, r);
  if (n < *last) {
    atomic_fetch_add(&r->failures, 1);
  }
  *last = n;
  for (uint64_t i = 0; i <= n; i++) {
    uint8_t key[9] = {'k'};
    base_put_u64be(key + 1, i);
    struct bytes v;
    int want = i < n ? OK : ERR_NOT_FOUND;
    if (store_get(t, STORE_STATE, (struct bytes){key, 9}, &v) != want) {
      atomic_fetch_add(&r->failures, 1);
    }
  }
}

static void *race_reader(void *arg) {
  struct race *r = arg;
  uint64_t last = 0;
  while (!atomic_load(&r->writer_done)) {
    struct store_txn *t = NULL;
    if (store_read_begin(r->s, &t) != OK) {
      atomic_fetch_add(&r->failures, 1);
      break;
    }
    race_check_snapshot(t, r, &last);
    if (store_txn_commit(t) != OK) {
      atomic_fetch_add(&r->failures, 1);
    }
    atomic_fetch_add(&r->snapshots, 1);
  }
  return NULL;
}

static void *race_writer(void *arg) {
  struct race *r = arg;
  for (uint64_t i = 0; i < RACE_COMMITS; i++) {
    struct store_txn *t = NULL;
    if (store_write_begin(r->s, &t) != OK) {
      atomic_fetch_add(&r->failures, 1);
      break;
    }
    uint8_t key[9] = {'k'};
    base_put_u64be(key + 1, i);
    uint8_t n[8];
    base_put_u64be(n, i + 1);
    int err = store_put(t, STORE_STATE, (struct bytes){key, 9}, (struct bytes){n, 8});
    if (err == OK) {
      err = store_put(t, STORE_META, b_str("n"), (struct bytes){n, 8});
    }
    if (err != OK || store_txn_commit(t) != OK) {
      atomic_fetch_add(&r->failures, 1);
    }
  }
  atomic_store(&r->writer_done, true);
  return NULL;
}

static void test_concurrent_readers(void **state) {
  struct fx *f = *state;
  struct race r = {.s = f->s};
  atomic_init(&r.failures, 0);
  atomic_init(&r.writer_done, false);
  atomic_init(&r.snapshots, 0);
  pthread_t readers[RACE_READERS];
  for (int i = 0; i < RACE_READERS; i++) {
    assert_int_equal(pthread_create(&readers[i], NULL, race_reader, &r), 0);
  }
  pthread_t writer;
  assert_int_equal(pthread_create(&writer, NULL, race_writer, &r), 0);
  assert_int_equal(pthread_join(writer, NULL), 0);
  for (int i = 0; i < RACE_READERS; i++) {
    assert_int_equal(pthread_join(readers[i], NULL), 0);
  }
  assert_int_equal(atomic_load(&r.failures), 0);
  assert_true(atomic_load(&r.snapshots) > 0);
}

/* MDB_NOTLS: a snapshot begun on one thread is read and ended on another,
 * while the first thread keeps writing. */
struct handoff {
  struct store_txn *t;
  int result;
};

static void *handoff_reader(void *arg) {
  struct handoff *h = arg;
  struct bytes v;
  h->result = store_get(h->t, STORE_META, b_str("v"), &v);
  if (h->result == OK && !b_eq_str(v, "old")) {
    h->result = ERR_INTERNAL;
  }
  if (store_txn_commit(h->t) != OK) {
    h->result = ERR_INTERNAL;
  }
  return NULL;
}

static void test_read_txn_other_thread(void **state) {
  struct fx *f = *state;
  struct store_txn *w = NULL;
  assert_int_equal(store_write_begin(f->s, &w), OK);
  put_str(w, STORE_META, "v", "old");
  assert_int_equal(store_txn_commit(w), OK);
  struct handoff h = {0};
  assert_int_equal(store_read_begin(f->s, &h.t), OK);
  assert_int_equal(store_write_begin(f->s, &w), OK);
  put_str(w, STORE_META, "v", "new");
  assert_int_equal(store_txn_commit(w), OK);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, handoff_reader, &h), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(h.result, OK);
}

static void test_open_missing_dir(void **state) {
  (void)state;
  struct store *s = NULL;
  assert_int_equal(store_open(&s, "/tmp/medchain-no-such-dir/really-not", MAP_BYTES), ERR_IO);
  assert_null(s);
  store_close(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_get_del, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_key_sizes, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_iter, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_iter_in_write_txn, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_last, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_durable_reopen, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_abort_discards, fx_setup, fx_teardown),
      cmocka_unit_test(test_map_full),
      cmocka_unit_test_setup_teardown(test_snapshot, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_readers, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_read_txn_other_thread, fx_setup, fx_teardown),
      cmocka_unit_test(test_open_missing_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
