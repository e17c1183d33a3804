/*
 * store — one LMDB environment with six named databases.
 *
 * The environment is opened with MDB_NOTLS so a read transaction belongs to
 * its handle, not to the thread that began it (the API hands snapshots to
 * worker threads), and without MDB_NOSYNC/MDB_NOMETASYNC so that a
 * committed write transaction is on disk when mdb_txn_commit returns. The
 * file is created 0600: it holds health-related metadata.
 *
 * Not MDB_WRITEMAP, though it would stay durable (the commit msyncs) and
 * save the malloc'd copy and the write() of each dirty page: on ext4 every
 * page the map dirties after a sync takes a write fault (page_mkwrite), a
 * new page a block allocation, and the node's benchmark measured both its
 * block building and its commits slower with it. It would also let a
 * stray pointer write into the database itself.
 *
 * Every named database is created at open inside one write transaction, so
 * the dbi handles are valid for the environment's lifetime and shared by
 * every transaction without further locking.
 *
 * LMDB error codes are translated in one place (store_err). A write
 * transaction remembers its first hard failure (a full map, say): LMDB has
 * then already poisoned the transaction, so every later call and the
 * commit return that same error instead of LMDB's generic "bad txn".
 *
 * Borrowed values: in a read transaction they live until it ends; in the
 * write transaction LMDB only promises them until the next put or del in
 * that transaction (a dirty page may be rewritten in place), so callers
 * copy what they need before writing.
 *
 * Iterators hold an LMDB cursor; they must end before their transaction
 * does (LMDB frees a write transaction's cursors itself, so ending one
 * afterwards would be a use after free). The transaction counts its open
 * iterators and asserts none is left when it ends.
 */
#include "store/store.h"

#include "limits/limits.h"

#include <assert.h>
#include <errno.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

/* Snapshots open at once: one per HTTP connection at worst, plus the
 * node's own (consensus, mempool checks, sync). LMDB's default is 126; a
 * slot costs 64 bytes of lock file. */
#define STORE_READERS_MAX (LIM_HTTP_CONNECTIONS_MAX + 64)

static const char *const store_table_names[STORE_TABLE_COUNT_] = {
    [STORE_META] = "meta",       [STORE_BLOCKS] = "blocks", [STORE_HASHES] = "hashes",
    [STORE_TXINDEX] = "txindex", [STORE_STATE] = "state",   [STORE_SMT] = "smt",
};

struct store {
  MDB_env *env;
  MDB_dbi dbi[STORE_TABLE_COUNT_];
  size_t key_bytes_max;
};

struct store_txn {
  struct store *s;
  MDB_txn *txn;
  bool write;
  int err;             /* first hard failure; OK while the txn is healthy */
  uint32_t iters_open; /* iterators that must end before the txn */
};

struct store_iter {
  struct store_txn *t;
  MDB_cursor *cur;
  bool started;
  bool done;
  size_t prefix_len;
  size_t seek_len;
  uint8_t *prefix; /* points into buf */
  uint8_t *seek;   /* max(prefix, start): where the scan begins */
  uint8_t buf[];
};

static int store_err(int rc) {
  switch (rc) {
  case MDB_SUCCESS:
    return OK;
  case MDB_NOTFOUND:
    return ERR_NOT_FOUND;
  case MDB_MAP_FULL:
  case MDB_TXN_FULL: /* too many dirty pages: also "the store cannot take this" */
    return ERR_STORE_FULL;
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
  case MDB_VERSION_MISMATCH:
    return ERR_CORRUPT;
  case MDB_READERS_FULL: /* every snapshot slot is taken: overload, retry later */
    return ERR_UNAVAILABLE;
  case ENOMEM:
    return ERR_NOMEM;
  default:
    return ERR_IO;
  }
}

static void store_check_table(const struct store_txn *t, enum store_table tb) {
  assert(t != NULL && t->txn != NULL);
  assert((int)tb >= 0 && tb < STORE_TABLE_COUNT_);
  (void)t; /* used only by the asserts */
  (void)tb;
}

static int store_tables_open(struct store *s) {
  MDB_txn *txn = NULL;
  int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
  if (rc != MDB_SUCCESS) {
    return store_err(rc);
  }
  for (int i = 0; i < STORE_TABLE_COUNT_; i++) {
    rc = mdb_dbi_open(txn, store_table_names[i], MDB_CREATE, &s->dbi[i]);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      return store_err(rc);
    }
  }
  return store_err(mdb_txn_commit(txn));
}

int store_open(struct store **out, const char *dir, size_t map_bytes) {
  assert(out != NULL && dir != NULL);
  assert(map_bytes > 0);
  *out = NULL;
  struct store *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    return ERR_NOMEM;
  }
  int err = store_err(mdb_env_create(&s->env));
  if (err != OK) {
    goto fail;
  }
  err = store_err(mdb_env_set_maxdbs(s->env, STORE_TABLE_COUNT_));
  if (err != OK) {
    goto fail;
  }
  err = store_err(mdb_env_set_mapsize(s->env, map_bytes));
  if (err != OK) {
    goto fail;
  }
  err = store_err(mdb_env_set_maxreaders(s->env, STORE_READERS_MAX));
  if (err != OK) {
    goto fail;
  }
  err = store_err(mdb_env_open(s->env, dir, MDB_NOTLS, 0600));
  if (err != OK) {
    goto fail;
  }
  /* Reader slots left behind by a crashed process would pin old pages. */
  int dead = 0;
  err = store_err(mdb_reader_check(s->env, &dead));
  if (err != OK) {
    goto fail;
  }
  int key_max = mdb_env_get_maxkeysize(s->env);
  assert(key_max > 0);
  s->key_bytes_max = (size_t)key_max;
  err = store_tables_open(s);
  if (err != OK) {
    goto fail;
  }
  *out = s;
  return OK;
fail:
  if (s->env != NULL) {
    mdb_env_close(s->env);
  }
  free(s);
  return err;
}

void store_close(struct store *s) {
  if (s == NULL) {
    return;
  }
  mdb_env_close(s->env);
  free(s);
}

static int store_txn_begin(struct store *s, bool write, struct store_txn **out) {
  assert(s != NULL && out != NULL);
  *out = NULL;
  struct store_txn *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    return ERR_NOMEM;
  }
  int rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY, &t->txn);
  if (rc != MDB_SUCCESS) {
    free(t);
    return store_err(rc);
  }
  t->s = s;
  t->write = write;
  t->err = OK;
  *out = t;
  return OK;
}

int store_read_begin(struct store *s, struct store_txn **out) {
  return store_txn_begin(s, false, out);
}

int store_write_begin(struct store *s, struct store_txn **out) {
  return store_txn_begin(s, true, out);
}

int store_txn_commit(struct store_txn *t) {
  assert(t != NULL && t->txn != NULL);
  assert(t->iters_open == 0);
  int err = OK;
  if (!t->write) {
    mdb_txn_abort(t->txn); /* ending a snapshot has nothing to make durable */
  } else if (t->err != OK) {
    mdb_txn_abort(t->txn);
    err = t->err;
  } else {
    err = store_err(mdb_txn_commit(t->txn));
  }
  free(t);
  return err;
}

void store_txn_abort(struct store_txn *t) {
  if (t == NULL) {
    return;
  }
  assert(t->txn != NULL);
  assert(t->iters_open == 0);
  mdb_txn_abort(t->txn);
  free(t);
}

bool store_txn_is_write(const struct store_txn *t) {
  assert(t != NULL);
  return t->write;
}

/* A key LMDB can hold: 1 to mdb_env_get_maxkeysize bytes. */
static bool store_key_ok(const struct store_txn *t, struct bytes key) {
  return key.len > 0 && key.len <= t->s->key_bytes_max && key.ptr != NULL;
}

static MDB_val store_val(struct bytes b) {
  MDB_val v = {.mv_size = b.len, .mv_data = (void *)(uintptr_t)b.ptr};
  return v;
}

/* Records the first hard failure of a write transaction (see the top). */
static int store_txn_fail(struct store_txn *t, int err) {
  if (t->write && err != OK && err != ERR_NOT_FOUND && t->err == OK) {
    t->err = err;
  }
  return err;
}

int store_get(struct store_txn *t, enum store_table tb, struct bytes key, struct bytes *val) {
  store_check_table(t, tb);
  assert(val != NULL);
  if (t->err != OK) {
    return t->err;
  }
  if (!store_key_ok(t, key)) {
    return ERR_NOT_FOUND; /* no such key can have been stored */
  }
  MDB_val k = store_val(key);
  MDB_val v = {0};
  int err = store_txn_fail(t, store_err(mdb_get(t->txn, t->s->dbi[tb], &k, &v)));
  if (err != OK) {
    return err;
  }
  val->ptr = v.mv_data;
  val->len = v.mv_size;
  return OK;
}

int store_put(struct store_txn *t, enum store_table tb, struct bytes key, struct bytes val) {
  store_check_table(t, tb);
  assert(t->write);
  assert(val.ptr != NULL || val.len == 0);
  if (t->err != OK) {
    return t->err;
  }
  if (!store_key_ok(t, key)) {
    return ERR_OVERSIZE;
  }
  MDB_val k = store_val(key);
  MDB_val v = store_val(val);
  static const uint8_t empty_val[1] = {0};
  if (v.mv_data == NULL) {
    v.mv_data = (void *)(uintptr_t)empty_val;
  }
  return store_txn_fail(t, store_err(mdb_put(t->txn, t->s->dbi[tb], &k, &v, 0)));
}

int store_del(struct store_txn *t, enum store_table tb, struct bytes key) {
  store_check_table(t, tb);
  assert(t->write);
  if (t->err != OK) {
    return t->err;
  }
  if (!store_key_ok(t, key)) {
    return ERR_NOT_FOUND;
  }
  MDB_val k = store_val(key);
  return store_txn_fail(t, store_err(mdb_del(t->txn, t->s->dbi[tb], &k, NULL)));
}

/* LMDB's default order: bytewise, then the shorter key first. */
static int store_key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  size_t n = a_len < b_len ? a_len : b_len;
  int c = n > 0 ? memcmp(a, b, n) : 0;
  if (c != 0) {
    return c;
  }
  return (a_len > b_len) - (a_len < b_len);
}

int store_iter_begin(struct store_txn *t, enum store_table tb, struct bytes prefix,
                     struct bytes start, struct store_iter **out) {
  store_check_table(t, tb);
  assert(out != NULL);
  assert(prefix.ptr != NULL || prefix.len == 0);
  assert(start.ptr != NULL || start.len == 0);
  *out = NULL;
  if (t->err != OK) {
    return t->err;
  }
  if (prefix.len > t->s->key_bytes_max || start.len > t->s->key_bytes_max) {
    return ERR_OVERSIZE;
  }
  bool from_start = store_key_cmp(start.ptr, start.len, prefix.ptr, prefix.len) > 0;
  struct bytes seek = from_start ? start : prefix;
  struct store_iter *it = calloc(1, sizeof(*it) + prefix.len + seek.len);
  if (it == NULL) {
    return ERR_NOMEM;
  }
  int err = store_txn_fail(t, store_err(mdb_cursor_open(t->txn, t->s->dbi[tb], &it->cur)));
  if (err != OK) {
    free(it);
    return err;
  }
  it->t = t;
  it->prefix = it->buf;
  it->prefix_len = prefix.len;
  if (prefix.len > 0) {
    memcpy(it->prefix, prefix.ptr, prefix.len);
  }
  it->seek = it->buf + prefix.len;
  it->seek_len = seek.len;
  if (seek.len > 0) {
    memcpy(it->seek, seek.ptr, seek.len);
  }
  t->iters_open++;
  *out = it;
  return OK;
}

static int store_iter_step(struct store_iter *it, MDB_val *k, MDB_val *v) {
  if (it->started) {
    return mdb_cursor_get(it->cur, k, v, MDB_NEXT);
  }
  it->started = true;
  if (it->seek_len == 0) {
    return mdb_cursor_get(it->cur, k, v, MDB_FIRST);
  }
  k->mv_data = it->seek;
  k->mv_size = it->seek_len;
  return mdb_cursor_get(it->cur, k, v, MDB_SET_RANGE);
}

int store_iter_next(struct store_iter *it, struct bytes *key, struct bytes *val) {
  assert(it != NULL && it->cur != NULL);
  assert(key != NULL && val != NULL);
  if (it->done) {
    return ERR_NOT_FOUND;
  }
  if (it->t->err != OK) {
    return it->t->err;
  }
  MDB_val k = {0};
  MDB_val v = {0};
  int err = store_txn_fail(it->t, store_err(store_iter_step(it, &k, &v)));
  if (err == OK && (k.mv_size < it->prefix_len ||
                    (it->prefix_len > 0 && memcmp(k.mv_data, it->prefix, it->prefix_len) != 0))) {
    err = ERR_NOT_FOUND; /* keys are ordered: past the prefix, nothing else matches */
  }
  if (err != OK) {
    it->done = true;
    return err;
  }
  key->ptr = k.mv_data;
  key->len = k.mv_size;
  val->ptr = v.mv_data;
  val->len = v.mv_size;
  return OK;
}

void store_iter_end(struct store_iter *it) {
  if (it == NULL) {
    return;
  }
  assert(it->t->iters_open > 0);
  it->t->iters_open--;
  mdb_cursor_close(it->cur);
  free(it);
}

int store_last(struct store_txn *t, enum store_table tb, struct bytes *key, struct bytes *val) {
  store_check_table(t, tb);
  assert(key != NULL && val != NULL);
  if (t->err != OK) {
    return t->err;
  }
  MDB_cursor *cur = NULL;
  int err = store_txn_fail(t, store_err(mdb_cursor_open(t->txn, t->s->dbi[tb], &cur)));
  if (err != OK) {
    return err;
  }
  MDB_val k = {0};
  MDB_val v = {0};
  err = store_txn_fail(t, store_err(mdb_cursor_get(cur, &k, &v, MDB_LAST)));
  mdb_cursor_close(cur);
  if (err != OK) {
    return err;
  }
  key->ptr = k.mv_data;
  key->len = k.mv_size;
  val->ptr = v.mv_data;
  val->len = v.mv_size;
  return OK;
}

/* Bytes in use: (last page used + 1) * page size. This is the high-water
 * mark of the B-trees, which is what "bytes per transaction" should count;
 * the data.mdb file itself may be larger (freed pages awaiting reuse are
 * included either way) and is sparse on some filesystems. 0 on failure. */
uint64_t store_file_bytes(struct store *s) {
  assert(s != NULL);
  MDB_envinfo info;
  MDB_stat st;
  if (mdb_env_info(s->env, &info) != MDB_SUCCESS || mdb_env_stat(s->env, &st) != MDB_SUCCESS) {
    return 0;
  }
  return ((uint64_t)info.me_last_pgno + 1) * (uint64_t)st.ms_psize;
}
