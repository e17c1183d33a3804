/*
 * audit — the access log nobody can erase. A node logs each read it
 * served, or was asked to serve, through its operator (an admin of an
 * active organization): one read with audit.log (emergency reads, always
 * alone so the patient hears of them at once), a burst of reads with
 * audit.log_batch. An accessor may also log their own access.
 *
 * The outcome of each entry is decided here, at the block that records
 * it: the consent check (ctr_consent_check) for ordinary reads, "is an
 * active practitioner" for emergency reads. A node serves content only
 * after the entry is committed with outcome "granted", so a revocation
 * stops reads from the next height and no read escapes the log. Refused
 * attempts are logged too, with the refusal's stable code as outcome.
 *
 * An emergency reason is never on chain in clear: its hash and the reason
 * sealed to the patient's encryption key (only the patient can open it).
 *
 * Entries are numbered by one chain-wide sequence ('G' "audit_seq"), so the
 * per-patient and per-record indexes, which put the sequence before the
 * entry id, list accesses in the order they were logged.
 */
#include "contracts/contracts_internal.h"

#include "crypto/crypto.h"

#include <assert.h>
#include <string.h>

void ctr_audit_id(struct hash32 *out, const struct hash32 *tx_hash, bool batch, uint32_t i) {
  uint8_t buf[36];
  memcpy(buf, tx_hash->b, 32);
  base_put_u32be(buf + 32, i);
  assert(batch || i == 0);
  cry_hash_tagged(out, "medchain.audit.v1", buf, batch ? 36 : 32);
}

/* The outcome of an access by `accessor` to `rec` for `purpose`. */
static int access_outcome(struct ctr_ctx *c, const struct ctr_identity *who,
                          const struct ctr_record *rec, struct bytes purpose, bool emergency) {
  if (rec->erased) {
    return ERR_RECORD_ERASED;
  }
  if (!emergency) {
    return ctr_consent_check(c->st, &who->id, &rec->id, purpose, c->env->time_ms);
  }
  struct ctr_org org;
  int rc = ctr_identity_active(c->st, who, &org);
  if (rc != OK) {
    return rc;
  }
  return ctr_str_is(&who->kind, CTR_ROLE_PRACTITIONER) ? OK : ERR_UNAUTHORIZED;
}

static int log_write(struct ctr_ctx *c, struct ctr_audit *e) {
  uint64_t last = 0;
  int rc = ctr_counter_get(c->st, CTR_GLOBAL_AUDIT_SEQ, &last);
  if (rc != OK) {
    return rc;
  }
  assert(last < UINT64_MAX);
  bool seen = false;
  rc = ctr_exists(c->st, CTR_TAG_AUDIT, &e->id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EXISTS;
  }
  e->seq = last + 1;
  e->logged_by = c->sender.id;
  e->org = c->sender.org;
  e->height = c->env->height;
  e->time_ms = c->env->time_ms;
  rc = ctr_store(c->st, e);
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

/* Loads the record and the accessor an entry names. */
static int entry_load(struct ctr_ctx *c, const struct hash32 *record, const struct hash32 *accessor,
                      struct ctr_record *rec, struct ctr_identity *who) {
  int rc = ctr_load(c->st, record, rec);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_RECORD : rc;
  }
  rc = ctr_load(c->st, accessor, who);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_IDENTITY : rc;
  }
  return OK;
}

static void entry_fill(struct ctr_audit *e, const struct ctr_record *rec,
                       const struct ctr_identity *who, struct bytes purpose, int outcome) {
  e->record = rec->id;
  e->patient = rec->patient;
  e->accessor = who->id;
  ctr_str_set(&e->purpose, purpose);
  ctr_str_setz(&e->outcome, outcome == OK ? CTR_OUTCOME_GRANTED : err_name(outcome));
}

int ctr_audit_log(struct ctr_ctx *c, const struct codec_value *a) {
  const struct hash32 *accessor = &a[1].id;
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN) && !base_hash_eq(&c->sender.id, accessor)) {
    return ERR_UNAUTHORIZED;
  }
  bool emergency = a[3].u64 != 0;
  struct bytes sealed = a[6].bytes;
  struct ctr_record rec;
  struct ctr_identity who;
  memset(&rec, 0, sizeof(rec));
  memset(&who, 0, sizeof(who));
  int rc = entry_load(c, &a[0].id, accessor, &rec, &who);
  if (rc != OK) {
    return rc;
  }
  if (!ctr_label_ok(a[2].bytes)) {
    return ERR_BAD_ARGS;
  }
  /* An emergency entry carries its reason (hash and sealed); no other does. */
  if (emergency != !base_hash_is_zero(&a[4].id) || emergency != (sealed.len > CRY_SEAL_OVERHEAD)) {
    return ERR_BAD_ARGS;
  }
  if (!emergency && sealed.len != 0) {
    return ERR_BAD_ARGS;
  }
  int outcome = access_outcome(c, &who, &rec, a[2].bytes, emergency);
  if (outcome >= ERR_NOMEM && outcome <= ERR_STORE_FULL) {
    return outcome; /* a store failure is not a verdict */
  }
  struct ctr_audit e;
  memset(&e, 0, sizeof(e));
  ctr_audit_id(&e.id, &c->env->tx_hash, false, 0);
  entry_fill(&e, &rec, &who, a[2].bytes, outcome);
  e.emergency = emergency;
  e.reason_hash = a[4].id;
  e.node = a[5].id;
  assert(sealed.len <= sizeof(e.reason_sealed.b));
  e.reason_sealed.len = (uint32_t)sealed.len;
  if (sealed.len > 0) {
    memcpy(e.reason_sealed.b, sealed.ptr, sealed.len);
  }
  return log_write(c, &e);
}

/* The purpose of a batch entry: 1..32 printable bytes, then NULs only. */
static int entry_purpose(const uint8_t *p, struct bytes *out) {
  size_t len = 0;
  while (len < CTR_AUDIT_PURPOSE_BYTES && p[len] != 0) {
    len++;
  }
  for (size_t i = len; i < CTR_AUDIT_PURPOSE_BYTES; i++) {
    if (p[i] != 0) {
      return ERR_NONCANONICAL;
    }
  }
  *out = (struct bytes){p, len};
  return ctr_label_ok(*out) ? OK : ERR_BAD_ARGS;
}

int ctr_audit_log_batch(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  struct bytes entries = a[1].bytes;
  if (entries.len == 0 || entries.len % CTR_AUDIT_ENTRY_BYTES != 0 || base_hash_is_zero(&a[0].id)) {
    return ERR_BAD_ARGS;
  }
  uint32_t n = (uint32_t)(entries.len / CTR_AUDIT_ENTRY_BYTES);
  assert(n <= LIM_AUDIT_BATCH_MAX);
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *p = entries.ptr + (size_t)i * CTR_AUDIT_ENTRY_BYTES;
    struct hash32 record, accessor;
    memcpy(record.b, p, 32);
    memcpy(accessor.b, p + 32, 32);
    struct bytes purpose;
    int rc = entry_purpose(p + 64, &purpose);
    if (rc != OK) {
      return rc;
    }
    if (ctr_bytes_is(purpose, CTR_PURPOSE_EMERGENCY)) {
      return ERR_BAD_ARGS; /* emergency reads are logged alone, with their reason */
    }
    struct ctr_record rec;
    struct ctr_identity who;
    memset(&rec, 0, sizeof(rec));
    memset(&who, 0, sizeof(who));
    rc = entry_load(c, &record, &accessor, &rec, &who);
    if (rc != OK) {
      return rc;
    }
    int outcome = access_outcome(c, &who, &rec, purpose, false);
    if (outcome >= ERR_NOMEM && outcome <= ERR_STORE_FULL) {
      return outcome;
    }
    struct ctr_audit e;
    memset(&e, 0, sizeof(e));
    ctr_audit_id(&e.id, &c->env->tx_hash, true, i);
    entry_fill(&e, &rec, &who, purpose, outcome);
    e.node = a[0].id;
    rc = log_write(c, &e);
    if (rc != OK) {
      return rc;
    }
  }
  return OK;
}
