/*
 * audit — the access log nobody can erase. A node operator (an admin of
 * any active organization) logs each read its node served, or an accessor
 * logs their own; emergency ("break-glass") reads are allowed only to
 * practitioners with a reason (its hash on chain) and are flagged so the
 * patient's view shows them.
 *
 * Entries are numbered by one chain-wide sequence ('G' "audit_seq"), so the
 * per-patient and per-record indexes, which put the sequence before the
 * entry id, list accesses in the order they were logged.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

static int log_check(struct ctr_ctx *c, const struct codec_value *a, struct ctr_record *rec) {
  const struct hash32 *accessor = &a[1].id;
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN) && !base_hash_eq(&c->sender.id, accessor)) {
    return ERR_UNAUTHORIZED;
  }
  int rc = ctr_load(c->st, &a[0].id, rec);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_RECORD : rc;
  }
  struct ctr_identity who;
  rc = ctr_load(c->st, accessor, &who);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_IDENTITY : rc;
  }
  if (!ctr_label_ok(a[2].bytes)) {
    return ERR_BAD_ARGS;
  }
  if (a[3].u64 != 0) {
    if (!ctr_str_is(&who.kind, CTR_ROLE_PRACTITIONER)) {
      return ERR_UNAUTHORIZED;
    }
    if (base_hash_is_zero(&a[4].id)) {
      return ERR_BAD_ARGS;
    }
  }
  return OK;
}

static int log_write(struct ctr_ctx *c, const struct ctr_audit *e) {
  int rc = ctr_store(c->st, e);
  if (rc == OK) {
    rc = ctr_counter_put(c->st, CTR_GLOBAL_AUDIT_SEQ, e->seq);
  }
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_AUDIT_IDX, CTR_SUB_PATIENT, &e->patient, &e->seq, &e->id);
  }
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_AUDIT_IDX, CTR_SUB_RECORD, &e->record, &e->seq, &e->id);
  }
  return rc;
}

int ctr_audit_log(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_record rec;
  int rc = log_check(c, a, &rec);
  if (rc != OK) {
    return rc;
  }
  uint64_t last = 0;
  rc = ctr_counter_get(c->st, CTR_GLOBAL_AUDIT_SEQ, &last);
  if (rc != OK) {
    return rc;
  }
  assert(last < UINT64_MAX);
  struct ctr_audit e;
  memset(&e, 0, sizeof(e));
  /* One entry per call; a batch would add the u32 index within the call
   * to the hashed bytes. */
  cry_hash_tagged(&e.id, "medchain.audit.v1", c->env->tx_hash.b, sizeof(c->env->tx_hash.b));
  bool seen = false;
  rc = ctr_exists(c->st, CTR_TAG_AUDIT, &e.id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EXISTS;
  }
  e.seq = last + 1;
  e.record = rec.id;
  e.patient = rec.patient;
  e.accessor = a[1].id;
  ctr_str_set(&e.purpose, a[2].bytes);
  e.emergency = a[3].u64 != 0;
  e.reason_hash = a[4].id;
  e.logged_by = c->sender.id;
  e.org = c->sender.org;
  e.height = c->env->height;
  e.time_ms = c->env->time_ms;
  return log_write(c, &e);
}
