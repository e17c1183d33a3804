/*
 * records — the node's side of medical records (docs/records.md): the blob
 * store of ciphertext, the audit of every access before anything is
 * served, records created for an organization's practitioners, and the
 * deletion of erased records' ciphertext.
 *
 * Audit batching: the first ordinary read to arrive opens a batch and
 * waits AUDIT_WINDOW_NS (or until the batch is full) while other readers
 * join it; it then signs one audit.log_batch through the operator and
 * every reader of the batch waits for that transaction's commit and reads
 * back the verdict the chain recorded for its own entry. The chain's
 * verdict, not the node's pre-check, decides whether content leaves.
 *
 * Erasure: after each block the commit hook queues the block's erasures
 * for the janitor thread, which deletes their ciphertext; at start and
 * every JANITOR_PERIOD_S the janitor also sweeps the whole blob store
 * against the chain (blobs of erased records, and blobs no record anchored
 * within ORPHAN_GRACE_S of their upload, are deleted). Neither runs on the
 * engine thread: deleting ciphertext never holds up consensus.
 */
#include "node/node_internal.h"

#include "blobstore/blobstore.h"
#include "contracts/contracts.h"
#include "crypto/crypto.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIT(s) ((struct bytes){(const uint8_t *)(s), sizeof(s) - 1})
#define AUDIT_WINDOW_NS (2u * 1000u * 1000u)
#define ORPHAN_GRACE_S (3600)

struct audit_batch {
  uint32_t n;
  uint8_t entries[LIM_AUDIT_BATCH_MAX * CTR_AUDIT_ENTRY_BYTES];
  bool closed;    /* no more entries (the leader took it) */
  bool submitted; /* tx and rc are set */
  int rc;
  struct hash32 tx;
  uint32_t refs;
};

struct node_auditq {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct audit_batch *open;
};

/* The janitor thread: erasures queued by the commit hook, and a sweep of
 * the whole blob store at start and every JANITOR_PERIOD_S. */
#define JANITOR_QUEUE_MAX 1024u
#define JANITOR_PERIOD_S 600
struct janitor_item {
  struct hash32 id; /* a record, or a patient when all */
  bool all;
};
struct node_janitor {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  bool started;
  bool sweep_now;
  uint32_t nq;
  struct janitor_item q[JANITOR_QUEUE_MAX];
  pthread_t th;
};

struct blob_store *node_blobs(struct node *n) {
  return n->blobs;
}

void node_id(const struct node *n, struct hash32 *out) {
  *out = n->node_id;
}

int node_records_init(struct node *n) {
  struct pubkey pk;
  cry_keys_sign_pk(n->keys, &pk);
  cry_id_from_pk(&n->node_id, &pk);
  char dir[NODE_PATH_MAX + 16];
  int len = snprintf(dir, sizeof dir, "%s/blobs", n->cfg.home);
  if (len < 0 || (size_t)len >= sizeof dir) {
    return ERR_CONFIG;
  }
  int rc = blob_open(&n->blobs, dir, n->cfg.blob_quota_bytes);
  if (rc != OK) {
    base_log(BASE_LOG_ERROR, "node", "HOME/blobs: %s", err_name(rc));
    return rc;
  }
  n->auditq = calloc(1, sizeof *n->auditq);
  n->janitor = calloc(1, sizeof *n->janitor);
  if (n->auditq == NULL || n->janitor == NULL) {
    return ERR_NOMEM;
  }
  pthread_mutex_init(&n->auditq->mu, NULL);
  pthread_cond_init(&n->auditq->cv, &n->cv_attr);
  pthread_mutex_init(&n->janitor->mu, NULL);
  pthread_cond_init(&n->janitor->cv, &n->cv_attr);
  n->janitor->sweep_now = true; /* the first sweep runs at start */
  return OK;
}

static void erase_items(struct node *n, const struct janitor_item *items, uint32_t count);

static void *janitor_main(void *arg) {
  struct node *n = arg;
  struct node_janitor *j = n->janitor;
  struct janitor_item *items = malloc(sizeof j->q);
  pthread_mutex_lock(&j->mu);
  while (!j->stop) {
    if (j->nq == 0 && !j->sweep_now) {
      struct timespec deadline;
      node_deadline(&deadline, (uint64_t)JANITOR_PERIOD_S * 1000u);
      if (pthread_cond_timedwait(&j->cv, &j->mu, &deadline) != 0) {
        j->sweep_now = true; /* the period passed */
      }
      continue;
    }
    uint32_t count = items == NULL ? 0 : j->nq;
    if (items != NULL) {
      memcpy(items, j->q, (size_t)count * sizeof j->q[0]);
    }
    bool sweep = j->sweep_now || items == NULL;
    j->nq = 0;
    j->sweep_now = false;
    pthread_mutex_unlock(&j->mu);
    erase_items(n, items, count);
    if (sweep) {
      (void)node_records_sweep(n);
    }
    pthread_mutex_lock(&j->mu);
  }
  pthread_mutex_unlock(&j->mu);
  free(items);
  return NULL;
}

int node_records_start(struct node *n) {
  struct node_janitor *j = n->janitor;
  assert(j != NULL && !j->started);
  if (pthread_create(&j->th, NULL, janitor_main, n) != 0) {
    return ERR_INTERNAL;
  }
  j->started = true;
  return OK;
}

void node_records_stop(struct node *n) {
  struct node_janitor *j = n->janitor;
  if (j == NULL || !j->started) {
    return;
  }
  pthread_mutex_lock(&j->mu);
  j->stop = true;
  pthread_cond_signal(&j->cv);
  pthread_mutex_unlock(&j->mu);
  pthread_join(j->th, NULL);
  j->started = false;
}

void node_records_deinit(struct node *n) {
  node_records_stop(n);
  if (n->janitor != NULL) {
    pthread_cond_destroy(&n->janitor->cv);
    pthread_mutex_destroy(&n->janitor->mu);
    free(n->janitor);
    n->janitor = NULL;
  }
  if (n->auditq != NULL) {
    assert(n->auditq->open == NULL);
    pthread_cond_destroy(&n->auditq->cv);
    pthread_mutex_destroy(&n->auditq->mu);
    free(n->auditq);
    n->auditq = NULL;
  }
  blob_close(n->blobs);
  n->blobs = NULL;
}

/* ---- entity fields ---------------------------------------------------------- */

static int identity_box(struct state *st, const struct hash32 *id, struct boxkey *box) {
  struct codec_value v;
  int rc = ctr_get_field(st, CTR_IDENTITY, id, "box_pk", &v);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_IDENTITY : rc;
  }
  memcpy(box->b, v.id.b, sizeof box->b);
  return OK;
}

/* ---- the audit ---------------------------------------------------------------- */

/* The verdict the chain recorded in audit entry id. */
static int audit_outcome(struct node *n, const struct hash32 *id, int *outcome) {
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  struct codec_value o;
  rc = ctr_get_field(node_view_state(v), CTR_AUDIT, id, "outcome", &o);
  if (rc == OK) {
    char name[40];
    size_t len = o.bytes.len < sizeof name - 1 ? o.bytes.len : sizeof name - 1;
    memcpy(name, o.bytes.ptr, len);
    name[len] = '\0';
    *outcome = strcmp(name, CTR_OUTCOME_GRANTED) == 0 ? OK : err_from_name(name);
    if (*outcome < 0) {
      rc = ERR_CORRUPT;
    }
  }
  node_view_end(v);
  return rc;
}

/* Waits for tx's commit; OK when it committed with result OK. */
static int wait_committed(struct node *n, const struct hash32 *tx, uint32_t timeout_ms) {
  struct node_tx_status st;
  int rc = node_tx_wait(n, tx, timeout_ms, &st);
  if (rc != OK) {
    return rc;
  }
  if (st.state != NODE_TX_COMMITTED) {
    return ERR_UNAVAILABLE;
  }
  return st.loc.code == OK ? OK : (int)st.loc.code;
}

static void entry_encode(uint8_t *p, const struct node_access *a) {
  memset(p, 0, CTR_AUDIT_ENTRY_BYTES);
  memcpy(p, a->record.b, 32);
  memcpy(p + 32, a->accessor.b, 32);
  size_t len = strnlen(a->purpose, CTR_AUDIT_PURPOSE_BYTES);
  memcpy(p + 64, a->purpose, len);
}

/* The leader's part: waits for the window, closes the batch and submits it. */
static void batch_lead(struct node *n, struct node_auditq *q, struct audit_batch *b) {
  struct timespec deadline;
  node_deadline(&deadline, 0);
  deadline.tv_nsec += AUDIT_WINDOW_NS;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  while (b->n < LIM_AUDIT_BATCH_MAX) {
    if (pthread_cond_timedwait(&q->cv, &q->mu, &deadline) != 0) {
      break;
    }
  }
  b->closed = true;
  if (q->open == b) {
    q->open = NULL;
  }
  uint32_t count = b->n;
  pthread_mutex_unlock(&q->mu);
  uint8_t args[LIM_ARGS_MAX];
  size_t args_len = 0;
  struct codec_value vals[2];
  memset(vals, 0, sizeof vals);
  vals[0].type = CODEC_ID;
  vals[0].id = n->node_id;
  vals[1].type = CODEC_BYTES;
  vals[1].bytes = (struct bytes){b->entries, (size_t)count * CTR_AUDIT_ENTRY_BYTES};
  const struct ctr_method *m = ctr_method_find(LIT("audit"), LIT("log_batch"));
  assert(m != NULL);
  struct hash32 tx = {{0}};
  int rc = codec_record_encode(m->args, vals, args, sizeof args, &args_len);
  if (rc == OK) {
    rc = node_operator_submit(n, NULL, LIT("audit"), LIT("log_batch"),
                              (struct bytes){args, args_len}, &tx);
  }
  pthread_mutex_lock(&q->mu);
  b->rc = rc;
  b->tx = tx;
  b->submitted = true;
  pthread_cond_broadcast(&q->cv);
}

/* Joins (or opens) the batch; *b and *index say where the entry went.
 * Returns with q->mu held and the batch submitted. */
static void batch_join(struct node *n, struct node_auditq *q, const struct node_access *a,
                       struct audit_batch **out, uint32_t *index) {
  pthread_mutex_lock(&q->mu);
  struct audit_batch *b = q->open;
  bool leader = false;
  if (b == NULL || b->closed || b->n >= LIM_AUDIT_BATCH_MAX) {
    b = calloc(1, sizeof *b);
    if (b == NULL) {
      *out = NULL;
      return;
    }
    q->open = b;
    leader = true;
  }
  *index = b->n;
  entry_encode(b->entries + (size_t)b->n * CTR_AUDIT_ENTRY_BYTES, a);
  b->n++;
  b->refs++;
  if (b->n == LIM_AUDIT_BATCH_MAX) {
    q->open = NULL;
    pthread_cond_broadcast(&q->cv);
  }
  if (leader) {
    batch_lead(n, q, b);
  }
  while (!b->submitted) {
    pthread_cond_wait(&q->cv, &q->mu);
  }
  *out = b;
}

static void batch_release(struct node_auditq *q, struct audit_batch *b) {
  assert(b->refs > 0);
  b->refs--;
  bool last = b->refs == 0;
  pthread_mutex_unlock(&q->mu);
  if (last) {
    free(b);
  }
}

/* audit.log of one emergency access, its reason sealed to the patient. */
static int emergency_submit(struct node *n, const struct node_access *a, struct hash32 *tx) {
  if (a->reason == NULL || a->reason_len == 0 || a->reason_len > LIM_REASON_MAX) {
    return ERR_REASON_REQUIRED;
  }
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  struct ctr_record_meta r;
  struct boxkey box;
  rc = ctr_record_meta(node_view_state(v), &a->record, &r);
  if (rc == OK) {
    rc = identity_box(node_view_state(v), &r.patient, &box);
  }
  node_view_end(v);
  if (rc != OK) {
    return rc;
  }
  uint8_t sealed[LIM_REASON_MAX + CRY_SEAL_OVERHEAD];
  rc = cry_seal(sealed, (const uint8_t *)a->reason, a->reason_len, &box);
  if (rc != OK) {
    return rc;
  }
  struct codec_value vals[7];
  memset(vals, 0, sizeof vals);
  vals[0] = (struct codec_value){.type = CODEC_ID, .id = a->record};
  vals[1] = (struct codec_value){.type = CODEC_ID, .id = a->accessor};
  vals[2] = (struct codec_value){.type = CODEC_STR, .bytes = LIT(CTR_PURPOSE_EMERGENCY)};
  vals[3] = (struct codec_value){.type = CODEC_BOOL, .u64 = 1};
  vals[4].type = CODEC_ID;
  cry_hash_tagged(&vals[4].id, "medchain.reason.v1", (const uint8_t *)a->reason, a->reason_len);
  vals[5] = (struct codec_value){.type = CODEC_ID, .id = n->node_id};
  vals[6] = (struct codec_value){.type = CODEC_BYTES,
                                 .bytes = {sealed, a->reason_len + CRY_SEAL_OVERHEAD}};
  const struct ctr_method *m = ctr_method_find(LIT("audit"), LIT("log"));
  assert(m != NULL);
  uint8_t args[LIM_ARGS_MAX];
  size_t len = 0;
  rc = codec_record_encode(m->args, vals, args, sizeof args, &len);
  if (rc != OK) {
    return rc;
  }
  return node_operator_submit(n, NULL, LIT("audit"), LIT("log"), (struct bytes){args, len}, tx);
}

int node_access_log(struct node *n, const struct node_access *a, bool wait, uint32_t timeout_ms,
                    int *outcome, struct hash32 *audit_id) {
  assert(n != NULL && a != NULL && outcome != NULL);
  size_t plen = strnlen(a->purpose, sizeof a->purpose);
  if (plen == 0 || plen > CTR_AUDIT_PURPOSE_BYTES) {
    return ERR_BAD_ARGS;
  }
  if (n->nops == 0) {
    return ERR_NO_OPERATOR;
  }
  bool emergency = a->emergency || strcmp(a->purpose, CTR_PURPOSE_EMERGENCY) == 0;
  struct hash32 tx, id;
  if (emergency) {
    int rc = emergency_submit(n, a, &tx);
    if (rc != OK) {
      return rc;
    }
    ctr_audit_id(&id, &tx, false, 0);
  } else {
    struct node_auditq *q = n->auditq;
    struct audit_batch *b = NULL;
    uint32_t index = 0;
    batch_join(n, q, a, &b, &index);
    if (b == NULL) {
      pthread_mutex_unlock(&q->mu);
      return ERR_NOMEM;
    }
    int rc = b->rc;
    tx = b->tx;
    batch_release(q, b);
    if (rc != OK) {
      return rc;
    }
    ctr_audit_id(&id, &tx, true, index);
  }
  if (audit_id != NULL) {
    *audit_id = id;
  }
  if (!wait) {
    return OK;
  }
  int rc = wait_committed(n, &tx, timeout_ms);
  if (rc != OK) {
    return rc;
  }
  return audit_outcome(n, &id, outcome);
}

/* ---- records created for a practitioner ------------------------------------- */

/* Seals key to each reader, sorted by reader id as the codec wants. */
static int keys_seal(uint8_t *out, uint32_t *count, const struct hash32 *readers,
                     const struct boxkey *boxes, uint32_t n, const uint8_t key[32]) {
  uint32_t order[3] = {0, 1, 2};
  assert(n <= 3);
  for (uint32_t i = 1; i < n; i++) {
    for (uint32_t j = i; j > 0 && memcmp(readers[order[j]].b, readers[order[j - 1]].b, 32) < 0;
         j--) {
      uint32_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    const struct hash32 *r = &readers[order[i]];
    if (k > 0 && memcmp(out + (size_t)(k - 1) * CODEC_KEY_ITEM_BYTES, r->b, 32) == 0) {
      continue; /* the same identity twice (an operator who is also the author) */
    }
    uint8_t *item = out + (size_t)k * CODEC_KEY_ITEM_BYTES;
    memcpy(item, r->b, 32);
    int rc = cry_seal(item + 32, key, 32, &boxes[order[i]]);
    if (rc != OK) {
      return rc;
    }
    k++;
  }
  *count = k;
  return OK;
}

struct create_plan {
  struct node_operator_info op;
  struct hash32 readers[3];
  struct boxkey boxes[3];
};

static int create_plan(struct node *n, const struct hash32 *author, const struct hash32 *patient,
                       struct create_plan *p) {
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  struct codec_value org;
  rc = ctr_get_field(st, CTR_IDENTITY, author, "org", &org);
  if (rc == OK) {
    rc = node_operator_find(n, &org.id, &p->op);
  } else if (rc == ERR_NOT_FOUND) {
    rc = ERR_UNKNOWN_IDENTITY;
  }
  if (rc == OK) {
    rc = identity_box(st, patient, &p->boxes[0]);
    rc = rc == ERR_UNKNOWN_IDENTITY ? ERR_UNKNOWN_PATIENT : rc;
  }
  if (rc == OK) {
    rc = identity_box(st, author, &p->boxes[1]);
  }
  node_view_end(v);
  p->readers[0] = *patient;
  p->readers[1] = *author;
  p->readers[2] = p->op.id;
  p->boxes[2] = p->op.box;
  return rc;
}

static int anchor_for_args(uint8_t *args, size_t cap, size_t *len, const struct hash32 *record,
                           const struct hash32 *patient, const char *category,
                           const char *fhir_type, const struct hash32 *hash, uint64_t size,
                           const uint8_t *keys, uint32_t nkeys, const struct hash32 *author) {
  struct codec_value v[8];
  memset(v, 0, sizeof v);
  v[0] = (struct codec_value){.type = CODEC_ID, .id = *record};
  v[1] = (struct codec_value){.type = CODEC_ID, .id = *patient};
  v[2] = (struct codec_value){.type = CODEC_STR,
                              .bytes = {(const uint8_t *)category, strlen(category)}};
  v[3] = (struct codec_value){.type = CODEC_STR,
                              .bytes = {(const uint8_t *)fhir_type, strlen(fhir_type)}};
  v[4] = (struct codec_value){.type = CODEC_ID, .id = *hash};
  v[5] = (struct codec_value){.type = CODEC_U64, .u64 = size};
  v[6] = (struct codec_value){
      .type = CODEC_KEYS, .bytes = {keys, (size_t)nkeys * CODEC_KEY_ITEM_BYTES}, .count = nkeys};
  v[7] = (struct codec_value){.type = CODEC_ID, .id = *author};
  const struct ctr_method *m = ctr_method_find(LIT("records"), LIT("anchor_for"));
  assert(m != NULL);
  return codec_record_encode(m->args, v, args, cap, len);
}

int node_record_create(struct node *n, const struct hash32 *author, const struct hash32 *patient,
                       const char *category, const char *fhir_type, const uint8_t *plain,
                       size_t len, uint32_t timeout_ms, struct hash32 *record) {
  assert(n != NULL && author != NULL && patient != NULL && record != NULL);
  if (len == 0 || len + CRY_RECORD_OVERHEAD > LIM_BLOB_BYTES_MAX) {
    return ERR_OVERSIZE;
  }
  struct create_plan p;
  int rc = create_plan(n, author, patient, &p);
  if (rc != OK) {
    return rc;
  }
  uint8_t *key = cry_secret_alloc(32);
  uint8_t *ct = malloc(len + CRY_RECORD_OVERHEAD);
  uint8_t keys[3 * CODEC_KEY_ITEM_BYTES];
  uint8_t args[LIM_ARGS_MAX];
  if (key == NULL || ct == NULL) {
    rc = ERR_NOMEM;
    goto done;
  }
  cry_random(record->b, sizeof record->b);
  cry_random(key, 32);
  cry_record_encrypt(ct, plain, len, record, key);
  struct hash32 hash;
  cry_hash(&hash, ct, len + CRY_RECORD_OVERHEAD);
  uint32_t nkeys = 0;
  rc = keys_seal(keys, &nkeys, p.readers, p.boxes, 3, key);
  size_t args_len = 0;
  if (rc == OK) {
    rc = anchor_for_args(args, sizeof args, &args_len, record, patient, category, fhir_type, &hash,
                         len + CRY_RECORD_OVERHEAD, keys, nkeys, author);
  }
  if (rc == OK) {
    rc = blob_put(n->blobs, &p.op.org, &hash, ct, len + CRY_RECORD_OVERHEAD);
  }
  if (rc != OK) {
    goto done;
  }
  struct hash32 tx;
  rc = node_operator_submit(n, &p.op.org, LIT("records"), LIT("anchor_for"),
                            (struct bytes){args, args_len}, &tx);
  if (rc == OK) {
    rc = wait_committed(n, &tx, timeout_ms);
  }
  if (rc != OK && rc != ERR_TIMEOUT && blob_delete(n->blobs, &hash) != OK) {
    /* Refused: nothing may stay behind; the sweep removes it if this failed. */
    base_log(BASE_LOG_ERROR, "node", "a refused record's ciphertext could not be deleted");
  }
done:
  cry_secret_free(key);
  free(ct);
  return rc;
}

/* The data key sealed to one of this node's operators, opened. */
static int rec_key_open(struct node *n, const struct ctr_record_meta *r, uint8_t key[32]) {
  for (uint32_t i = 0; i < r->nkeys; i++) {
    const uint8_t *item = r->keys + (size_t)i * CODEC_KEY_ITEM_BYTES;
    for (uint16_t k = 0; k < n->nops; k++) {
      struct hash32 id;
      cry_id_from_pk(&id, &n->ops[k].pk);
      if (memcmp(item, id.b, 32) != 0) {
        continue;
      }
      if (cry_seal_open(n->ops[k].keys, key, item + 32, LIM_SEALED_KEY_BYTES) == OK) {
        return OK;
      }
    }
  }
  return ERR_NO_OPERATOR;
}

int node_record_open(struct node *n, const struct hash32 *record, uint8_t **plain, size_t *len) {
  assert(n != NULL && record != NULL && plain != NULL && len != NULL);
  *plain = NULL;
  *len = 0;
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  struct ctr_record_meta r;
  rc = ctr_record_meta(node_view_state(v), record, &r);
  node_view_end(v);
  if (rc != OK) {
    return rc;
  }
  if (r.erased) {
    return ERR_RECORD_ERASED;
  }
  uint8_t *key = cry_secret_alloc(32);
  uint8_t *ct = NULL;
  size_t clen = 0;
  if (key == NULL) {
    return ERR_NOMEM;
  }
  rc = rec_key_open(n, &r, key);
  if (rc == OK) {
    rc = blob_get(n->blobs, &r.content_hash, &ct, &clen);
  }
  if (rc == OK && clen < CRY_RECORD_OVERHEAD) {
    rc = ERR_CORRUPT;
  }
  if (rc == OK) {
    *plain = malloc(clen - CRY_RECORD_OVERHEAD + 1);
    rc = *plain == NULL ? ERR_NOMEM : OK;
  }
  if (rc == OK) {
    rc = cry_record_decrypt(*plain, ct, clen, record, key) == OK ? OK : ERR_CORRUPT;
    *len = clen - CRY_RECORD_OVERHEAD;
  }
  if (rc != OK) {
    free(*plain);
    *plain = NULL;
    *len = 0;
  }
  cry_secret_free(key);
  free(ct);
  return rc;
}

int node_record_reseal(struct node *n, const struct hash32 *record, const struct hash32 *reader,
                       const struct boxkey *box, uint8_t out[LIM_SEALED_KEY_BYTES],
                       bool *resealed) {
  assert(n != NULL && record != NULL && reader != NULL && box != NULL && resealed != NULL);
  *resealed = false;
  struct node_view *v = NULL;
  int rc = node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  struct ctr_record_meta r;
  rc = ctr_record_meta(node_view_state(v), record, &r);
  node_view_end(v);
  if (rc != OK) {
    return rc;
  }
  if (r.erased) {
    return ERR_RECORD_ERASED;
  }
  for (uint32_t i = 0; i < r.nkeys; i++) {
    if (memcmp(r.keys + (size_t)i * CODEC_KEY_ITEM_BYTES, reader->b, 32) == 0) {
      return OK; /* the reader opens its own */
    }
  }
  uint8_t *key = cry_secret_alloc(32);
  if (key == NULL) {
    return ERR_NOMEM;
  }
  if (rec_key_open(n, &r, key) == OK && cry_seal(out, key, 32, box) == OK) {
    *resealed = true;
  }
  cry_secret_free(key);
  return OK;
}

/* ---- erasure -------------------------------------------------------------- */

/* Deletes the ciphertext of a record the chain says is erased. */
static void erase_blob_of(struct node *n, struct state *st, const struct hash32 *record) {
  struct ctr_record_meta r;
  if (ctr_record_meta(st, record, &r) != OK || !r.erased) {
    return;
  }
  int rc = blob_delete(n->blobs, &r.content_hash);
  if (rc != OK && rc != ERR_NOT_FOUND) {
    base_log(BASE_LOG_ERROR, "node", "erasure: deleting a ciphertext failed: %s", err_name(rc));
  }
}

struct id_page {
  struct hash32 ids[LIM_PAGE_MAX];
  uint32_t n;
};

static int collect_id(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct id_page *p = ctx;
  const struct codec_schema *s = ctr_kind_schema(kind);
  struct codec_value v[LIM_FIELDS_MAX];
  if (p->n >= LIM_PAGE_MAX || codec_record_decode(s, v, val.ptr, val.len) != OK) {
    return ERR_CORRUPT;
  }
  p->ids[p->n++] = v[0].id;
  return OK;
}

static void erase_patient_blobs(struct node *n, struct state *st, const struct hash32 *patient) {
  struct ctr_cursor after = {0}, next = {0};
  for (;;) {
    struct id_page page = {.n = 0};
    if (ctr_list(st, CTR_RECORD, CTR_BY_PATIENT, patient, &after, LIM_PAGE_MAX, collect_id, &page,
                 &next) != OK) {
      return;
    }
    for (uint32_t i = 0; i < page.n; i++) {
      erase_blob_of(n, st, &page.ids[i]);
    }
    if (next.len == 0) {
      return;
    }
    after = next;
  }
}

/* The id argument (record or patient) of an erasure, or false. */
static bool erasure_target(const struct tx *tx, struct hash32 *id, bool *all) {
  if (!(tx->contract.len == 7 && memcmp(tx->contract.ptr, "records", 7) == 0)) {
    return false;
  }
  const struct ctr_method *m = ctr_method_find(tx->contract, tx->method);
  if (m == NULL) {
    return false;
  }
  *all = strcmp(m->method, "erase_all") == 0;
  if (!*all && strcmp(m->method, "erase") != 0) {
    return false;
  }
  struct codec_value v[LIM_FIELDS_MAX];
  if (codec_record_decode(m->args, v, tx->args.ptr, tx->args.len) != OK) {
    return false;
  }
  *id = v[0].id;
  return true;
}

/* Deletes the ciphertext of the erasures the janitor took from its queue. */
static void erase_items(struct node *n, const struct janitor_item *items, uint32_t count) {
  if (count == 0) {
    return;
  }
  struct node_view *v = NULL;
  if (node_view_begin(n, &v) != OK) {
    base_log(BASE_LOG_ERROR, "node", "erasure: cannot read the state; the sweep will retry");
    return;
  }
  for (uint32_t i = 0; i < count; i++) {
    if (items[i].all) {
      erase_patient_blobs(n, node_view_state(v), &items[i].id);
    } else {
      erase_blob_of(n, node_view_state(v), &items[i].id);
    }
  }
  node_view_end(v);
}

/* On the engine thread after each commit: only queues work for the
 * janitor (deleting up to 256 x 16 MiB of ciphertext must not hold up
 * consensus). A full queue asks for a whole sweep instead. */
void node_records_on_block(struct node *n, const struct block *b, const uint16_t *results) {
  struct node_janitor *j = n->janitor;
  for (uint32_t i = 0; i < b->tx_count; i++) {
    struct tx tx;
    struct hash32 id;
    bool all = false;
    if (results[i] != OK || codec_tx_decode(&tx, b->txs[i].ptr, b->txs[i].len) != OK ||
        !erasure_target(&tx, &id, &all)) {
      continue;
    }
    pthread_mutex_lock(&j->mu);
    if (j->nq < JANITOR_QUEUE_MAX) {
      j->q[j->nq++] = (struct janitor_item){id, all};
    } else {
      j->sweep_now = true;
    }
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
  }
}

/* ---- the sweep ----------------------------------------------------------- */

struct sweep {
  struct node *n;
  struct state *st;
  int64_t now_s;
  uint64_t deleted;
};

/* Keeps a blob while some live record anchors it, or while it is a fresh
 * upload whose anchor may still come. */
static int sweep_visit(void *ctx, const struct hash32 *hash, const struct hash32 *org,
                       uint64_t size, int64_t mtime_s) {
  (void)org;
  (void)size;
  struct sweep *sw = ctx;
  struct ctr_cursor after = {0}, next = {0};
  struct id_page page = {.n = 0};
  int rc = ctr_list(sw->st, CTR_RECORD, CTR_BY_CONTENT, hash, &after, LIM_PAGE_MAX, collect_id,
                    &page, &next);
  if (rc != OK) {
    return OK;
  }
  bool live = false;
  for (uint32_t i = 0; i < page.n && !live; i++) {
    struct ctr_record_meta r;
    live = ctr_record_meta(sw->st, &page.ids[i], &r) == OK && !r.erased;
  }
  bool orphan = page.n == 0 && sw->now_s - mtime_s > ORPHAN_GRACE_S;
  bool erased = page.n > 0 && !live;
  if ((orphan || erased) && blob_delete(sw->n->blobs, hash) == OK) {
    sw->deleted++;
  }
  return OK;
}

uint64_t node_records_sweep(struct node *n) {
  struct node_view *v = NULL;
  if (node_view_begin(n, &v) != OK) {
    return 0;
  }
  struct sweep sw = {n, node_view_state(v), (int64_t)(base_now_ms() / 1000u), 0};
  if (blob_walk(n->blobs, sweep_visit, &sw) != OK) {
    base_log(BASE_LOG_ERROR, "node", "blob sweep stopped early");
  }
  node_view_end(v);
  if (sw.deleted > 0) {
    base_log(BASE_LOG_INFO, "node", "blob sweep deleted %llu ciphertexts",
             (unsigned long long)sw.deleted);
  }
  return sw.deleted;
}
