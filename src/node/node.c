/*
 * node — opening a home, admitting transactions, and answering reads.
 *
 * Locking: one mutex (n->mu) guards the mempool, the counters, the hooks,
 * the stop flag and the list of waiters (node_tx_wait: each waiter sleeps
 * on its own condition variable, which the producer signals when the
 * waiter's transaction leaves the pool). Nothing slow runs under it: signature checks happen
 * before it is taken, and the call's dry run happens between two short
 * critical sections. Reads of the chain use LMDB read transactions, which
 * never block and never need the mutex.
 *
 * Admission (node_tx_submit) runs in three steps:
 *  1. ledger_tx_check (decode, chain id, signature) and the method's
 *     argument schema, without the lock, so API threads verify in parallel.
 *  2. Under the lock, against a read snapshot of the committed state:
 *     duplicates (pending or committed), the sender's identity (known,
 *     current key, active) and its nonce, then the pool's own rules. The
 *     snapshot is opened under the lock on purpose: the producer commits a
 *     block before it takes the lock to remove the block's transactions,
 *     so whatever the snapshot lacks is still in the pool, and the two
 *     together never miss a transaction.
 *  3. When the transaction would be its sender's next to run (nonce is the
 *     next one and nothing of the sender is pending), its call is tried on
 *     the newest committed snapshot in a scratch state (state_create_
 *     scratch: buffered writes that can never be committed). It holds no
 *     lock and no writer, so dry runs run in parallel with each other and
 *     with the producer. Then step 2 runs again (the state may have moved)
 *     and the entry is added. Transactions queued behind a pending one of
 *     the same sender cannot be tried this way (their predecessors have
 *     not run); their call errors become block results, which the client
 *     sees from ?wait=commit with the same code.
 *
 * A transaction's status is settled in the same order the producer
 * publishes it: in the pool, else committed in a fresh snapshot, else
 * dropped (with a reason) or never seen.
 */
#include "node/node_internal.h"

#include "contracts/contracts.h"
#include "crypto/crypto.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One byte more than the largest genesis, to tell "too long" apart. */
#define NODE_GENESIS_FILE_MAX (LEDGER_GENESIS_BYTES_MAX + 1)
#define NODE_STATUS_ACTIVE "active"

const struct node_config *node_config(const struct node *n) {
  return &n->cfg;
}

void node_deadline(struct timespec *ts, uint64_t timeout_ms) {
  int rc = clock_gettime(CLOCK_MONOTONIC, ts);
  assert(rc == 0);
  (void)rc;
  uint64_t ns = (uint64_t)ts->tv_nsec + (timeout_ms % 1000u) * 1000000u;
  ts->tv_sec += (time_t)(timeout_ms / 1000u + ns / 1000000000u);
  ts->tv_nsec = (long)(ns % 1000000000u);
}

/* ---- opening -------------------------------------------------------------- */

static int home_path(char *out, size_t cap, const struct node *n, const char *file) {
  int len = snprintf(out, cap, "%s/%s", n->cfg.home, file);
  return (len < 0 || (size_t)len >= cap) ? ERR_CONFIG : OK;
}

/* The attribute stays for the node's life: every node_tx_wait makes its
 * own condition variable with it. */
static int node_sync_init(struct node *n) {
  if (pthread_condattr_init(&n->cv_attr) != 0) {
    return ERR_INTERNAL;
  }
  if (pthread_condattr_setclock(&n->cv_attr, CLOCK_MONOTONIC) != 0) {
    goto fail;
  }
  if (pthread_mutex_init(&n->mu, NULL) != 0) {
    goto fail;
  }
  if (pthread_cond_init(&n->work_cv, &n->cv_attr) != 0) {
    pthread_mutex_destroy(&n->mu);
    goto fail;
  }
  if (pthread_mutex_init(&n->in_mu, NULL) != 0) {
    pthread_cond_destroy(&n->work_cv);
    pthread_mutex_destroy(&n->mu);
    goto fail;
  }
  if (pthread_cond_init(&n->in_cv, &n->cv_attr) != 0) {
    pthread_mutex_destroy(&n->in_mu);
    pthread_cond_destroy(&n->work_cv);
    pthread_mutex_destroy(&n->mu);
    goto fail;
  }
  return OK;
fail:
  pthread_condattr_destroy(&n->cv_attr);
  return ERR_INTERNAL;
}

static int node_open_store(struct node *n) {
  char dir[NODE_PATH_MAX + 16];
  if (home_path(dir, sizeof dir, n, "data") != OK) {
    return ERR_CONFIG;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    base_log(BASE_LOG_ERROR, "node", "cannot create HOME/data (errno %d)", errno);
    return ERR_IO;
  }
  int rc = store_open(&n->store, dir, (size_t)n->cfg.map_bytes);
  if (rc != OK) {
    base_log(BASE_LOG_ERROR, "node", "cannot open the store: %s", err_name(rc));
  }
  return rc;
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return ERR_IO;
  }
  *len = fread(buf, 1, cap, f);
  int rc = ferror(f) ? ERR_IO : OK;
  if (rc == OK && *len == cap) {
    rc = ERR_OVERSIZE;
  }
  fclose(f);
  return rc;
}

static int node_read_genesis(struct node *n) {
  char path[NODE_PATH_MAX + 16];
  if (home_path(path, sizeof path, n, "genesis.bin") != OK) {
    return ERR_CONFIG;
  }
  uint8_t *buf = malloc(NODE_GENESIS_FILE_MAX);
  if (buf == NULL) {
    return ERR_NOMEM;
  }
  size_t len = 0;
  int rc = read_file(path, buf, NODE_GENESIS_FILE_MAX, &len);
  if (rc == OK) {
    rc = ledger_genesis_decode(&n->genesis, buf, len);
  }
  free(buf);
  if (rc == OK) {
    rc = ledger_genesis_hash(&n->genesis, &n->genesis_hash);
  }
  if (rc != OK) {
    base_log(BASE_LOG_ERROR, "node", "HOME/genesis.bin: %s", err_name(rc));
    return rc == ERR_IO ? ERR_IO : ERR_CONFIG;
  }
  n->chain_id = (struct bytes){(const uint8_t *)n->genesis.chain_id, strlen(n->genesis.chain_id)};
  return OK;
}

static int node_genesis_init(struct node *n) {
  struct store_txn *wt = NULL;
  int rc = store_write_begin(n->store, &wt);
  if (rc != OK) {
    return rc;
  }
  rc = ledger_genesis_init(wt, &n->genesis, &n->exec);
  if (rc != OK) {
    store_txn_abort(wt);
    base_log(BASE_LOG_ERROR, "node", "genesis: %s", err_name(rc));
    return rc;
  }
  rc = store_txn_commit(wt);
  if (rc == OK) {
    base_log(BASE_LOG_INFO, "node", "initialized chain %s from genesis", n->genesis.chain_id);
  }
  return rc;
}

/* First start: applies genesis (read by node_read_genesis). Later starts:
 * the store must hold the chain that HOME/genesis.bin describes. */
static int node_open_chain(struct node *n) {
  struct store_txn *rt = NULL;
  int rc = store_read_begin(n->store, &rt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip tip;
  rc = ledger_tip_read(rt, &tip);
  store_txn_abort(rt);
  if (rc == ERR_NOT_FOUND) {
    rc = node_genesis_init(n);
    n->height = 0;
    return rc;
  }
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&tip.genesis_hash, &n->genesis_hash)) {
    base_log(BASE_LOG_ERROR, "node", "HOME/data holds another chain than HOME/genesis.bin");
    return ERR_CONFIG;
  }
  n->height = tip.height;
  return OK;
}

/* The validator set from genesis; this node's place in it, if any (a
 * node whose key is not a validator follows the chain). */
static int node_find_validator(struct node *n) {
  struct pubkey pk;
  cry_keys_sign_pk(n->keys, &pk);
  n->vals.n = n->genesis.nvalidators;
  n->is_validator = false;
  for (uint16_t i = 0; i < n->genesis.nvalidators; i++) {
    n->vals.power[i] = n->genesis.validators[i].power;
    n->vals.pk[i] = n->genesis.validators[i].pk;
    if (memcmp(n->genesis.validators[i].pk.b, pk.b, sizeof pk.b) == 0) {
      n->is_validator = true;
      n->validator_index = i;
      n->validator_id = n->genesis.validators[i].id;
    }
  }
  if (!n->is_validator) {
    base_log(BASE_LOG_INFO, "node", "HOME/node.key is not a validator: following the chain");
  }
  return OK;
}

static int node_load_key(struct node *n) {
  char path[NODE_PATH_MAX + 16];
  if (home_path(path, sizeof path, n, "node.key") != OK) {
    return ERR_CONFIG;
  }
  const char *pass = getenv("MEDCHAIN_PASSPHRASE");
  int rc = cry_keystore_read(&n->keys, path, pass);
  if (rc != OK) {
    base_log(BASE_LOG_ERROR, "node", "HOME/node.key: %s", err_name(rc));
    return rc;
  }
  return node_find_validator(n);
}

static void node_log_start(const struct node *n) {
  char id[65];
  base_hash_hex(id, &n->validator_id);
  base_log(BASE_LOG_INFO, "node",
           "node %s opened chain %s at height %llu as %s %u (%.16s) of %u, %u peers", n->cfg.name,
           n->genesis.chain_id, (unsigned long long)n->height,
           n->is_validator ? "validator" : "follower", (unsigned)n->validator_index, id,
           (unsigned)n->vals.n, (unsigned)n->cfg.npeers);
}

/* The peers of the config, as p2p wants them (indices kept). */
static int node_open_p2p(struct node *n) {
  if (n->cfg.npeers == 0) {
    return OK;
  }
  struct p2p_config *pc = calloc(1, sizeof *pc);
  if (pc == NULL) {
    return ERR_NOMEM;
  }
  pc->keys = n->keys;
  pc->network_id = n->genesis_hash;
  memcpy(pc->listen_host, n->cfg.api_host, sizeof n->cfg.api_host);
  pc->listen_port = n->cfg.p2p_port;
  pc->npeers = n->cfg.npeers;
  for (uint16_t i = 0; i < n->cfg.npeers; i++) {
    pc->peers[i].pk = n->cfg.peers[i].pk;
    memcpy(pc->peers[i].host, n->cfg.peers[i].host, sizeof pc->peers[i].host);
    pc->peers[i].port = n->cfg.peers[i].port;
  }
  pc->on_msg = node_on_p2p_msg;
  pc->on_peer = node_on_p2p_peer;
  pc->ctx = n;
  int rc = p2p_create(&n->p2p, pc);
  free(pc);
  if (rc != OK) {
    base_log(BASE_LOG_ERROR, "node", "cannot listen on %s:%u for peers: %s", n->cfg.api_host,
             (unsigned)n->cfg.p2p_port, err_name(rc));
  }
  return rc;
}

int node_create(struct node **out, const struct node_config *cfg) {
  *out = NULL;
  if (strnlen(cfg->home, NODE_PATH_MAX) >= NODE_PATH_MAX - 32) {
    return ERR_CONFIG;
  }
  if (cry_init() != OK) {
    return ERR_INTERNAL;
  }
  struct node *n = calloc(1, sizeof *n);
  if (n == NULL) {
    return ERR_NOMEM;
  }
  n->cfg = *cfg;
  n->started_ms = base_now_ms();
  for (size_t i = 0; i < NODE_BLOCK_BUCKETS; i++) {
    atomic_init(&n->block_counts[i], 0);
  }
  atomic_init(&n->block_sum_us, 0);
  int rc = node_sync_init(n);
  if (rc != OK) {
    free(n);
    return rc;
  }
  ctr_exec_bind(&n->exec);
  /* Genesis and key are checked before the store is touched, so a
   * misconfigured start leaves HOME/data as it was. */
  rc = node_read_genesis(n);
  if (rc == OK) {
    rc = node_load_key(n);
  }
  if (rc == OK) {
    rc = node_open_store(n);
  }
  if (rc == OK) {
    rc = node_open_chain(n);
  }
  if (rc == OK) {
    rc = node_mempool_create(&n->mp, LIM_MEMPOOL_TXS_MAX, LIM_MEMPOOL_BYTES_MAX);
  }
  if (rc == OK) {
    rc = node_engine_init(n);
  }
  if (rc == OK) {
    n->gossip_buf = malloc(512u << 10);
    rc = n->gossip_buf == NULL ? ERR_NOMEM : OK;
  }
  if (rc == OK) {
    rc = node_open_p2p(n);
  }
  if (rc == OK) {
    rc = node_operators_load(n);
  }
  if (rc == OK) {
    rc = node_records_init(n);
  }
  if (rc != OK) {
    goto fail;
  }
  node_log_start(n);
  *out = n;
  return OK;
fail:
  node_destroy(n);
  return rc;
}

int node_start(struct node *n) {
  pthread_mutex_lock(&n->mu);
  int rc = OK;
  if (n->stopping) {
    rc = ERR_UNAVAILABLE;
  } else if (!n->started) {
    n->last_block_ns = base_mono_ns();
    if (n->p2p != NULL && p2p_start(n->p2p) != OK) {
      rc = ERR_INTERNAL;
    } else if (pthread_create(&n->ingress, NULL, node_ingress_main, n) != 0) {
      rc = ERR_INTERNAL;
    } else {
      n->ingress_started = true;
      if (pthread_create(&n->engine, NULL, node_engine_main, n) != 0) {
        rc = ERR_INTERNAL;
      } else {
        n->started = true;
      }
    }
  }
  pthread_mutex_unlock(&n->mu);
  return rc;
}

void node_stop(struct node *n) {
  pthread_mutex_lock(&n->mu);
  n->stopping = true;
  bool join = n->started;
  n->started = false;
  pthread_cond_broadcast(&n->work_cv);
  node_waiters_wake_locked(n);
  pthread_mutex_unlock(&n->mu);
  if (join) {
    pthread_join(n->engine, NULL);
    base_log(BASE_LOG_INFO, "node", "stopped at height %llu", (unsigned long long)n->height);
  }
  if (n->ingress_started) {
    pthread_mutex_lock(&n->in_mu);
    atomic_store_explicit(&n->ingress_stop, true, memory_order_release);
    pthread_cond_signal(&n->in_cv);
    pthread_mutex_unlock(&n->in_mu);
    pthread_join(n->ingress, NULL);
    n->ingress_started = false;
  }
  if (n->p2p != NULL) {
    p2p_stop(n->p2p);
  }
}

static void msgs_free(struct node_msg *m) {
  while (m != NULL) {
    struct node_msg *next = m->next;
    free(m);
    m = next;
  }
}

void node_destroy(struct node *n) {
  if (n == NULL) {
    return;
  }
  node_stop(n); /* a no-op when the caller stopped it first, as it should */
  p2p_destroy(n->p2p);
  node_engine_deinit(n);
  msgs_free(n->inbox.head);
  msgs_free(n->txq.head);
  free(n->gossip_buf);
  node_mempool_destroy(n->mp);
  node_records_deinit(n);
  node_operators_free(n);
  cry_keys_destroy(n->keys);
  store_close(n->store);
  assert(n->waiters == NULL); /* nobody may be inside node_tx_wait */
  pthread_cond_destroy(&n->work_cv);
  pthread_cond_destroy(&n->in_cv);
  pthread_mutex_destroy(&n->in_mu);
  pthread_mutex_destroy(&n->mu);
  pthread_condattr_destroy(&n->cv_attr);
  free(n);
}

/* ---- admission ------------------------------------------------------------ */

/* Stateless: the method exists and the arguments match its schema. */
static int submit_check_call(const struct tx *tx) {
  const struct ctr_method *m = ctr_method_find(tx->contract, tx->method);
  if (m == NULL) {
    for (size_t i = 0; i < ctr_method_count(); i++) {
      const char *c = ctr_method_at(i)->contract;
      if (strlen(c) == tx->contract.len && memcmp(c, tx->contract.ptr, tx->contract.len) == 0) {
        return ERR_UNKNOWN_METHOD;
      }
    }
    return ERR_UNKNOWN_CONTRACT;
  }
  struct codec_value vals[LIM_FIELDS_MAX];
  assert(m->args->nfields <= LIM_FIELDS_MAX);
  int rc = codec_record_decode(m->args, vals, tx->args.ptr, tx->args.len);
  if (rc != OK) {
    return rc == ERR_OVERSIZE ? ERR_OVERSIZE : ERR_BAD_ARGS; /* as ctr_call */
  }
  return OK;
}

/* Decodes an entity's state value into vals (which borrow the state's
 * memory until its next write; the snapshot here is read-only). */
static int entity_decode(struct state *st, enum ctr_kind kind, const struct hash32 *id,
                         struct codec_value vals[LIM_FIELDS_MAX]) {
  struct bytes val;
  int rc = ctr_get(st, kind, id, &val);
  if (rc != OK) {
    return rc;
  }
  const struct codec_schema *schema = ctr_kind_schema(kind);
  assert(schema->nfields <= LIM_FIELDS_MAX);
  return codec_record_decode(schema, vals, val.ptr, val.len) == OK ? OK : ERR_CORRUPT;
}

static const struct codec_value *
entity_field(enum ctr_kind kind, const struct codec_value vals[LIM_FIELDS_MAX], const char *name) {
  int i = codec_schema_find(ctr_kind_schema(kind), name);
  assert(i >= 0);
  return &vals[i];
}

static bool value_is(const struct codec_value *v, const char *z) {
  return v->bytes.len == strlen(z) && memcmp(v->bytes.ptr, z, v->bytes.len) == 0;
}

/* The executor's admit rules short of the nonce, read-only: the sender is
 * a known identity signing with its current key, and it and its
 * organization are active. Same codes, same order as ctr_admit. */
static int submit_check_sender(struct state *st, const struct tx *tx) {
  struct codec_value id[LIM_FIELDS_MAX];
  int rc = entity_decode(st, CTR_IDENTITY, &tx->sender, id);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_SENDER : rc;
  }
  const struct codec_value *pk = entity_field(CTR_IDENTITY, id, "sign_pk");
  if (memcmp(pk->id.b, tx->pubkey.b, sizeof tx->pubkey.b) != 0) {
    return ERR_KEY_MISMATCH;
  }
  if (!value_is(entity_field(CTR_IDENTITY, id, "status"), NODE_STATUS_ACTIVE)) {
    return ERR_SUSPENDED;
  }
  struct hash32 org_id = entity_field(CTR_IDENTITY, id, "org")->id;
  struct codec_value org[LIM_FIELDS_MAX];
  rc = entity_decode(st, CTR_ORG, &org_id, org);
  if (rc != OK) {
    /* An identity's organization is written with it. */
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  return value_is(entity_field(CTR_ORG, org, "status"), NODE_STATUS_ACTIVE) ? OK : ERR_SUSPENDED;
}

/* Step 2 (the lock held): the committed snapshot, then the pool's rules.
 * *next gets the sender's committed next nonce. */
static int submit_check_locked(struct node *n, const struct tx *tx, const struct hash32 *hash,
                               size_t len, uint64_t *next, bool *runnable) {
  if (n->stopping) {
    return ERR_UNAVAILABLE;
  }
  if (node_mempool_contains(n->mp, hash)) {
    return ERR_DUPLICATE_TX;
  }
  struct store_txn *rt = NULL;
  struct state *st = NULL;
  int rc = store_read_begin(n->store, &rt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_txloc loc;
  rc = ledger_txloc_read(rt, hash, &loc);
  if (rc == OK) {
    /* The very transaction is already on the chain: resubmitting it is a
     * replay, whatever its nonce says. */
    rc = ERR_REPLAY;
    goto fail;
  }
  if (rc != ERR_NOT_FOUND) {
    goto fail;
  }
  rc = state_create(&st, rt);
  if (rc == OK) {
    rc = submit_check_sender(st, tx);
  }
  if (rc == OK) {
    rc = ctr_next_nonce(st, &tx->sender, next);
  }
  if (rc == OK) {
    rc = node_mempool_check(n->mp, hash, &tx->sender, tx->nonce, len, *next, runnable);
  }
fail:
  state_destroy(st);
  store_txn_abort(rt);
  return rc;
}

/* Step 3: the call on the newest committed snapshot, in a scratch state
 * whose writes are never committed; admit runs first, as in a block. It
 * holds no lock and no writer, so dry runs proceed in parallel with each
 * other and with the producer. */
static int submit_dry_run(struct node *n, const struct tx *tx, const struct hash32 *hash) {
  struct store_txn *rt = NULL;
  struct state *st = NULL;
  int rc = store_read_begin(n->store, &rt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip tip;
  rc = ledger_tip_read(rt, &tip);
  if (rc == OK) {
    rc = state_create_scratch(&st, rt);
  }
  if (rc == OK) {
    uint64_t now = base_now_ms();
    struct ledger_env env = {
        .chain_id = n->chain_id,
        .height = tip.height + 1,
        .time_ms = now > tip.last_time_ms ? now : tip.last_time_ms + 1,
        .tx_hash = *hash,
        .index = 0,
    };
    rc = n->exec.admit(n->exec.ctx, st, tx, &env);
    /* A block commits admit's nonce increment before the call. No call
     * reads nonces, so dropping it gives the call the same write budget as
     * in a block. */
    state_tx_abort(st);
    if (rc == OK) {
      rc = n->exec.call(n->exec.ctx, st, tx, &env);
    }
  }
  state_destroy(st);
  store_txn_abort(rt);
  return rc;
}

static int submit_admit(struct node *n, const uint8_t *buf, size_t len, const struct tx *tx,
                        const struct hash32 *hash) {
  uint64_t next = 0;
  bool runnable = false;
  pthread_mutex_lock(&n->mu);
  int rc = submit_check_locked(n, tx, hash, len, &next, &runnable);
  if (rc == OK && runnable) {
    pthread_mutex_unlock(&n->mu);
    rc = submit_dry_run(n, tx, hash);
    pthread_mutex_lock(&n->mu);
    if (rc == OK) {
      rc = submit_check_locked(n, tx, hash, len, &next, &runnable);
    }
  }
  if (rc == OK) {
    rc = node_mempool_add(n->mp, buf, len, hash, &tx->sender, tx->nonce, next);
  }
  if (rc == OK && node_mempool_ready_senders(n->mp) > 0) {
    pthread_cond_signal(&n->work_cv);
  }
  pthread_mutex_unlock(&n->mu);
  return rc;
}

int node_tx_submit(struct node *n, const uint8_t *buf, size_t len, struct hash32 *tx_hash) {
  return node_tx_admit(n, buf, len, tx_hash, true);
}

int node_tx_admit(struct node *n, const uint8_t *buf, size_t len, struct hash32 *tx_hash,
                  bool gossip) {
  memset(tx_hash, 0, sizeof *tx_hash);
  struct tx tx;
  int rc = ledger_tx_check(buf, len, n->chain_id, &tx, tx_hash);
  if (rc == OK) {
    rc = submit_check_call(&tx);
  }
  if (rc == OK) {
    rc = submit_admit(n, buf, len, &tx, tx_hash);
  }
  if (rc != OK) {
    assert(rc > OK && rc < ERR_COUNT_);
    pthread_mutex_lock(&n->mu);
    n->txs_rejected++;
    n->rejections[rc]++;
    pthread_mutex_unlock(&n->mu);
    base_log(BASE_LOG_DEBUG, "node", "rejected a transaction: %s", err_name(rc));
  } else if (gossip) {
    node_gossip_tx(n, buf, len);
  }
  return rc;
}

/* ---- transaction status ------------------------------------------------- */

/* Committed in a fresh snapshot? (The caller saw it leave the pool, or
 * never saw it there.) */
static int tx_lookup_committed(struct node *n, const struct hash32 *hash,
                               struct node_tx_status *out) {
  struct store_txn *rt = NULL;
  int rc = store_read_begin(n->store, &rt);
  if (rc != OK) {
    return rc;
  }
  rc = ledger_txloc_read(rt, hash, &out->loc);
  store_txn_abort(rt);
  if (rc == OK) {
    out->state = NODE_TX_COMMITTED;
  }
  return rc;
}

int node_tx_status(struct node *n, const struct hash32 *tx_hash, struct node_tx_status *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&n->mu);
  bool pending = node_mempool_contains(n->mp, tx_hash);
  pthread_mutex_unlock(&n->mu);
  if (pending) {
    out->state = NODE_TX_PENDING;
    return OK;
  }
  int rc = tx_lookup_committed(n, tx_hash, out);
  return rc == ERR_NOT_FOUND ? OK : rc;
}

/* The transaction has left the pool (or never was in it): committed, or
 * dropped (its reason is returned), or unknown (OK). */
static int tx_settle(struct node *n, const struct hash32 *hash, struct node_tx_status *out) {
  int rc = tx_lookup_committed(n, hash, out);
  if (rc != ERR_NOT_FOUND) {
    return rc;
  }
  out->state = NODE_TX_UNKNOWN;
  int code = OK;
  pthread_mutex_lock(&n->mu);
  bool dropped = node_mempool_dropped(n->mp, hash, &code);
  pthread_mutex_unlock(&n->mu);
  return dropped ? code : OK;
}

void node_waiters_wake_locked(struct node *n) {
  for (struct node_waiter *w = n->waiters; w != NULL; w = w->next) {
    if (n->stopping || !node_mempool_contains(n->mp, &w->hash)) {
      pthread_cond_signal(&w->cv);
    }
  }
}

static void waiter_link_locked(struct node *n, struct node_waiter *w) {
  w->prev = NULL;
  w->next = n->waiters;
  if (n->waiters != NULL) {
    n->waiters->prev = w;
  }
  n->waiters = w;
}

static void waiter_unlink_locked(struct node *n, struct node_waiter *w) {
  if (w->prev != NULL) {
    w->prev->next = w->next;
  } else {
    assert(n->waiters == w);
    n->waiters = w->next;
  }
  if (w->next != NULL) {
    w->next->prev = w->prev;
  }
}

/* Under the lock: waits on w until the transaction leaves the pool, the
 * node stops or the deadline passes. */
static int tx_wait_locked(struct node *n, struct node_waiter *w, const struct timespec *deadline,
                          struct node_tx_status *out) {
  while (node_mempool_contains(n->mp, &w->hash)) {
    out->state = NODE_TX_PENDING;
    if (n->stopping) {
      return ERR_UNAVAILABLE;
    }
    if (pthread_cond_timedwait(&w->cv, &n->mu, deadline) == ETIMEDOUT) {
      return node_mempool_contains(n->mp, &w->hash) ? ERR_TIMEOUT : OK;
    }
  }
  return OK;
}

int node_tx_wait(struct node *n, const struct hash32 *tx_hash, uint32_t timeout_ms,
                 struct node_tx_status *out) {
  memset(out, 0, sizeof *out);
  struct timespec deadline;
  node_deadline(&deadline, timeout_ms);
  struct node_waiter w = {.hash = *tx_hash};
  if (pthread_cond_init(&w.cv, &n->cv_attr) != 0) {
    return ERR_NOMEM;
  }
  pthread_mutex_lock(&n->mu);
  waiter_link_locked(n, &w);
  int rc = tx_wait_locked(n, &w, &deadline, out);
  waiter_unlink_locked(n, &w);
  pthread_mutex_unlock(&n->mu);
  pthread_cond_destroy(&w.cv);
  if (rc != OK) {
    return rc;
  }
  return tx_settle(n, tx_hash, out);
}

/* ---- status and views ----------------------------------------------------- */

int node_status(struct node *n, struct node_status *out) {
  memset(out, 0, sizeof *out);
  struct store_txn *rt = NULL;
  int rc = store_read_begin(n->store, &rt);
  if (rc != OK) {
    return rc;
  }
  struct ledger_tip tip;
  rc = ledger_tip_read(rt, &tip);
  store_txn_abort(rt);
  if (rc != OK) {
    return rc;
  }
  memcpy(out->chain_id, tip.chain_id, sizeof out->chain_id);
  out->genesis_hash = tip.genesis_hash;
  out->height = tip.height;
  out->last_hash = tip.last_hash;
  out->last_time_ms = tip.last_time_ms;
  out->state_root = tip.state_root;
  out->nvalidators = n->genesis.nvalidators;
  memcpy(out->validators, n->genesis.validators,
         n->genesis.nvalidators * sizeof n->genesis.validators[0]);
  uint64_t best = atomic_load_explicit(&n->best_peer_height, memory_order_relaxed);
  out->best_peer_height = best;
  out->catching_up = best > tip.height + 1;
  out->round = atomic_load_explicit(&n->cur_round, memory_order_relaxed);
  out->is_validator = n->is_validator;
  out->validator_index = n->validator_index;
  if (n->p2p != NULL) {
    struct p2p_stats ps;
    p2p_stats(n->p2p, &ps);
    out->peers = ps.peers_connected;
  }
  out->started_ms = n->started_ms;
  pthread_mutex_lock(&n->mu);
  out->mempool_txs = node_mempool_count(n->mp);
  out->mempool_bytes = node_mempool_bytes(n->mp);
  out->txs_committed = n->txs_committed;
  out->txs_rejected = n->txs_rejected;
  out->blocks_committed = n->blocks_committed;
  pthread_mutex_unlock(&n->mu);
  return OK;
}

void node_rejections(struct node *n, uint64_t counts[ERR_COUNT_]) {
  pthread_mutex_lock(&n->mu);
  memcpy(counts, n->rejections, sizeof n->rejections);
  pthread_mutex_unlock(&n->mu);
}

struct node_view {
  struct store_txn *txn;
  struct state *st;
};

int node_view_begin(struct node *n, struct node_view **out) {
  *out = NULL;
  struct node_view *v = calloc(1, sizeof *v);
  if (v == NULL) {
    return ERR_NOMEM;
  }
  int rc = store_read_begin(n->store, &v->txn);
  if (rc == OK) {
    rc = state_create(&v->st, v->txn);
  }
  if (rc != OK) {
    node_view_end(v);
    return rc;
  }
  *out = v;
  return OK;
}

void node_view_end(struct node_view *v) {
  if (v == NULL) {
    return;
  }
  state_destroy(v->st);
  store_txn_abort(v->txn);
  free(v);
}

struct state *node_view_state(struct node_view *v) {
  return v->st;
}
struct store_txn *node_view_txn(struct node_view *v) {
  return v->txn;
}

int node_on_commit(struct node *n, node_commit_fn fn, void *ctx) {
  pthread_mutex_lock(&n->mu);
  int rc = ERR_LIMIT;
  if (n->nhooks < NODE_HOOKS_MAX) {
    n->hooks[n->nhooks++] = (struct node_hook){fn, ctx};
    rc = OK;
  }
  pthread_mutex_unlock(&n->mu);
  return rc;
}

uint64_t node_store_bytes(struct node *n) {
  return store_file_bytes(n->store);
}

static bool node_sigcache_contains(void *ctx, const struct hash32 *tx_hash) {
  struct node *n = ctx;
  pthread_mutex_lock(&n->mu);
  bool found = node_mempool_contains(n->mp, tx_hash);
  pthread_mutex_unlock(&n->mu);
  return found;
}

void node_sigcache(struct node *n, struct ledger_sigcache *out) {
  out->contains = node_sigcache_contains;
  out->ctx = n;
}
