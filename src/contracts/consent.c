/*
 * consent — a patient (or one of their guardians) lets an identity or a
 * whole organization read a category of their records or one record, for
 * one purpose, until an expiry in block time; and revokes it. A record
 * scoped grant may carry the record's data key sealed to new readers,
 * which join the record's key list; revoking removes the grantee's key.
 *
 * Consents are never deleted: a revoked one keeps its history (granted
 * and revoked heights). Each consent is indexed by patient, by grantee
 * and, when scoped to a record, by record; checks walk the patient's
 * index, which is bounded by what that patient granted.
 *
 * ctr_consent_check is the rule a node applies before serving ciphertext;
 * it returns the most specific reason for a refusal.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

int ctr_patient_load(struct state *st, const struct hash32 *id, struct ctr_identity *out) {
  int rc = ctr_entity_load(st, CTR_IDENTITY, id, out);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_PATIENT;
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_str_is(&out->kind, CTR_ROLE_PATIENT) ? OK : ERR_UNKNOWN_PATIENT;
}

/* A grantee is an identity or an organization. */
static int grantee_check(struct state *st, const struct hash32 *id) {
  bool identity = false;
  bool org = false;
  int rc = ctr_exists(st, CTR_TAG_IDENTITY, id, &identity);
  if (rc == OK && !identity) {
    rc = ctr_exists(st, CTR_TAG_ORG, id, &org);
  }
  if (rc != OK) {
    return rc;
  }
  return identity || org ? OK : ERR_UNKNOWN_IDENTITY;
}

/* Fills n's scope, category and record from the arguments; for record
 * scope loads the record into rec and merges the keys into it. */
static int grant_scope(struct ctr_ctx *c, const struct codec_value *a,
                       const struct ctr_identity *patient, struct ctr_consent *n,
                       struct ctr_record *rec) {
  struct bytes scope = a[2].bytes;
  struct bytes category = a[3].bytes;
  const struct hash32 *record = &a[4].id;
  if (ctr_bytes_is(scope, CTR_SCOPE_CATEGORY)) {
    if (!ctr_label_ok(category) || !base_hash_is_zero(record) || a[7].count != 0) {
      return ERR_BAD_ARGS;
    }
    ctr_str_set(&n->category, category);
    return OK;
  }
  if (!ctr_bytes_is(scope, CTR_SCOPE_RECORD)) {
    return ERR_BAD_ARGS;
  }
  int rc = ctr_load(c->st, record, rec);
  if (rc == ERR_NOT_FOUND || (rc == OK && !base_hash_eq(&rec->patient, &patient->id))) {
    return ERR_UNKNOWN_RECORD;
  }
  if (rc != OK) {
    return rc;
  }
  if (rec->erased) {
    return ERR_RECORD_ERASED;
  }
  /* The category comes from the record; an argument may only repeat it. */
  if (category.len != 0 && !ctr_str_eq_bytes(&rec->category, category)) {
    return ERR_BAD_ARGS;
  }
  n->category = rec->category;
  n->record = rec->id;
  return OK;
}

/* A record-scoped grant may carry one sealed key: the record's data key
 * sealed to the grantee. Nobody else's key can ride along (a reader
 * without consent), and the patient's and author's keys, set when the
 * record was anchored, are never replaced by a grant. */
static int grant_keys(struct ctr_record *rec, const struct hash32 *patient,
                      const struct hash32 *grantee, const struct codec_value *keys) {
  assert(keys->bytes.len == (size_t)keys->count * sizeof(struct ctr_key));
  if (keys->count == 0) {
    return OK;
  }
  if (keys->count != 1) {
    return ERR_BAD_ARGS;
  }
  struct ctr_key k;
  memcpy(&k, keys->bytes.ptr, sizeof(k));
  if (!base_hash_eq(&k.reader, grantee) || base_hash_eq(grantee, patient) ||
      base_hash_eq(grantee, &rec->author)) {
    return ERR_BAD_ARGS;
  }
  return ctr_keys_put(rec->keys, &rec->nkeys, LIM_KEYS_MAX, &k);
}

static int grant_write(struct ctr_ctx *c, const struct ctr_consent *n,
                       const struct ctr_record *rec) {
  int rc = ctr_store(c->st, n);
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_CONSENT_IDX, CTR_SUB_PATIENT, &n->patient, NULL, &n->id);
  }
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_CONSENT_IDX, CTR_SUB_GRANTEE, &n->grantee, NULL, &n->id);
  }
  if (rc == OK && rec != NULL) {
    rc = ctr_index_put(c->st, CTR_TAG_CONSENT_IDX, CTR_SUB_RECORD, &n->record, NULL, &n->id);
  }
  if (rc == OK && rec != NULL) {
    rc = ctr_store(c->st, rec);
  }
  return rc;
}

void ctr_consent_id(struct hash32 *out, const struct hash32 *tx_hash) {
  cry_hash_tagged(out, "medchain.consent.v1", tx_hash->b, sizeof(tx_hash->b));
}

int ctr_consent_grant(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_identity patient;
  int rc = ctr_patient_load(c->st, &a[0].id, &patient);
  if (rc != OK) {
    return rc;
  }
  if (!ctr_patient_speaks(&patient, &c->sender.id)) {
    return ERR_UNAUTHORIZED;
  }
  rc = grantee_check(c->st, &a[1].id);
  if (rc != OK) {
    return rc;
  }
  struct ctr_consent n;
  memset(&n, 0, sizeof(n));
  struct ctr_record rec;
  rc = grant_scope(c, a, &patient, &n, &rec);
  if (rc != OK) {
    return rc;
  }
  bool record_scope = !base_hash_is_zero(&n.record);
  if (!ctr_label_ok(a[5].bytes)) {
    return ERR_BAD_ARGS;
  }
  if (a[6].u64 <= c->env->time_ms) {
    return ERR_EXPIRY_PAST;
  }
  if (record_scope) {
    rc = grant_keys(&rec, &patient.id, &a[1].id, &a[7]);
    if (rc != OK) {
      return rc;
    }
  }
  ctr_consent_id(&n.id, &c->env->tx_hash);
  bool seen = false;
  rc = ctr_exists(c->st, CTR_TAG_CONSENT, &n.id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EXISTS;
  }
  n.patient = patient.id;
  n.grantee = a[1].id;
  ctr_str_set(&n.scope, a[2].bytes);
  ctr_str_set(&n.purpose, a[5].bytes);
  n.expires_ms = a[6].u64;
  ctr_str_setz(&n.status, CTR_STATUS_ACTIVE);
  n.granted_by = c->sender.id;
  n.granted_height = c->env->height;
  return grant_write(c, &n, record_scope ? &rec : NULL);
}

/* After revoking a record-scoped consent, the grantee's sealed key leaves
 * the record, unless the grantee is the patient or the author (whose keys
 * belong to the record) or still holds another live consent covering it
 * (the revoked one is already marked revoked in this call's writes). */
static int revoke_key(struct ctr_ctx *c, const struct ctr_consent *n) {
  struct ctr_record rec;
  int rc = ctr_load(c->st, &n->record, &rec);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  if (!ctr_keys_has(rec.keys, rec.nkeys, &n->grantee) || base_hash_eq(&n->grantee, &rec.patient) ||
      base_hash_eq(&n->grantee, &rec.author)) {
    return OK;
  }
  struct bytes category = {(const uint8_t *)rec.category.b, rec.category.len};
  rc = ctr_consent_find(c->st, &rec.patient, &n->grantee, 1, &rec.id, category, NULL,
                        c->env->time_ms);
  if (rc == OK) {
    return OK;
  }
  if (rc != ERR_CONSENT_REQUIRED && rc != ERR_CONSENT_REVOKED && rc != ERR_CONSENT_EXPIRED) {
    return rc;
  }
  ctr_keys_remove(rec.keys, &rec.nkeys, &n->grantee);
  return ctr_store(c->st, &rec);
}

int ctr_consent_revoke(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_consent n;
  int rc = ctr_load(c->st, &a[0].id, &n);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_CONSENT;
  }
  if (rc != OK) {
    return rc;
  }
  struct ctr_identity patient;
  rc = ctr_patient_load(c->st, &n.patient, &patient);
  if (rc != OK) {
    return rc == ERR_UNKNOWN_PATIENT ? ERR_CORRUPT : rc;
  }
  if (!ctr_patient_speaks(&patient, &c->sender.id)) {
    return ERR_UNAUTHORIZED;
  }
  if (!ctr_str_is(&n.status, CTR_STATUS_ACTIVE)) {
    return ERR_CONSENT_REVOKED;
  }
  ctr_str_setz(&n.status, CTR_STATUS_REVOKED);
  n.revoked_height = c->env->height;
  rc = ctr_store(c->st, &n);
  if (rc != OK || base_hash_is_zero(&n.record)) {
    return rc;
  }
  return revoke_key(c, &n);
}

/* Whether consent n, held by one of grantees, covers the access. */
static bool consent_matches(const struct ctr_consent *n, const struct hash32 *grantees,
                            size_t count, const struct hash32 *rec_id, struct bytes category,
                            const struct bytes *purpose) {
  bool held = false;
  for (size_t i = 0; i < count; i++) {
    held = held || base_hash_eq(&n->grantee, &grantees[i]);
  }
  if (!held) {
    return false;
  }
  bool covers = false;
  if (ctr_str_is(&n->scope, CTR_SCOPE_RECORD)) {
    covers = rec_id != NULL && base_hash_eq(&n->record, rec_id);
  } else if (ctr_str_is(&n->scope, CTR_SCOPE_CATEGORY)) {
    covers = ctr_str_eq_bytes(&n->category, category);
  }
  return covers && (purpose == NULL || ctr_str_eq_bytes(&n->purpose, *purpose));
}

int ctr_consent_find(struct state *st, const struct hash32 *patient, const struct hash32 *grantees,
                     size_t n, const struct hash32 *rec_id, struct bytes category,
                     const struct bytes *purpose, uint64_t now_ms) {
  struct ctr_skey prefix;
  ctr_skey_init(&prefix, CTR_TAG_CONSENT_IDX);
  uint8_t sub = CTR_SUB_PATIENT;
  ctr_skey_add(&prefix, &sub, 1);
  ctr_skey_add_id(&prefix, patient);
  struct state_iter *it = NULL;
  int rc = state_iter_begin(st, ctr_skey_bytes(&prefix), (struct bytes){prefix.b, 0}, &it);
  if (rc != OK) {
    return rc;
  }
  bool revoked = false;
  bool expired = false;
  for (;;) {
    struct bytes key;
    struct bytes val;
    rc = state_iter_next(it, &key, &val);
    if (rc != OK) {
      break;
    }
    if (key.len != prefix.len + 32) {
      rc = ERR_CORRUPT;
      break;
    }
    struct hash32 id;
    memcpy(id.b, key.ptr + prefix.len, sizeof(id.b));
    struct ctr_consent cs;
    rc = ctr_load(st, &id, &cs);
    if (rc != OK) {
      rc = rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
      break;
    }
    assert(base_hash_eq(&cs.patient, patient));
    if (!consent_matches(&cs, grantees, n, rec_id, category, purpose)) {
      continue;
    }
    if (!ctr_str_is(&cs.status, CTR_STATUS_ACTIVE)) {
      revoked = true;
    } else if (cs.expires_ms <= now_ms) {
      expired = true;
    } else {
      break; /* rc is OK: a live consent */
    }
  }
  state_iter_end(it);
  if (rc != ERR_NOT_FOUND) {
    return rc;
  }
  if (revoked) {
    return ERR_CONSENT_REVOKED;
  }
  return expired ? ERR_CONSENT_EXPIRED : ERR_CONSENT_REQUIRED;
}

int ctr_consent_check(struct state *st, const struct hash32 *reader, const struct hash32 *record,
                      struct bytes purpose, uint64_t now_ms) {
  assert(st != NULL && reader != NULL && record != NULL);
  struct ctr_record rec;
  int rc = ctr_load(st, record, &rec);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_RECORD : rc;
  }
  if (rec.erased) {
    return ERR_RECORD_ERASED;
  }
  struct ctr_identity who;
  rc = ctr_load(st, reader, &who);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CONSENT_REQUIRED : rc;
  }
  struct ctr_org org;
  rc = ctr_identity_active(st, &who, &org);
  if (rc != OK) {
    return rc;
  }
  if (base_hash_eq(&rec.author, reader)) {
    return OK;
  }
  struct ctr_identity patient;
  rc = ctr_patient_load(st, &rec.patient, &patient);
  if (rc != OK) {
    return rc == ERR_UNKNOWN_PATIENT ? ERR_CORRUPT : rc;
  }
  if (ctr_patient_speaks(&patient, reader)) {
    return OK;
  }
  const struct hash32 grantees[2] = {who.id, who.org};
  return ctr_consent_find(st, &rec.patient, grantees, ARRAY_LEN(grantees), &rec.id,
                          ctr_str_bytes(&rec.category), &purpose, now_ms);
}
