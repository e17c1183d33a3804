/*
 * records — anchors of encrypted off-chain medical records. The chain
 * holds what lets anyone check a record and lets its readers open it: the
 * ciphertext's hash and size, its category and FHIR type, who wrote it for
 * whom, and the record's data key sealed to each reader (always including
 * the patient and the author). The data itself never reaches the chain.
 *
 * A practitioner may anchor a record for a patient their organization
 * enrolled, or for whom they or their organization hold a live consent
 * for the category. Erasure (by the patient or a guardian) destroys the
 * sealed keys and leaves a tombstone with the same id and metadata, so
 * audit entries and consents that name the record still resolve.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

/* The author may write into this patient's records. */
static int anchor_allowed(struct ctr_ctx *c, const struct ctr_identity *patient,
                          struct bytes category) {
  if (base_hash_eq(&patient->org, &c->sender.org)) {
    return OK;
  }
  const struct hash32 grantees[2] = {c->sender.id, c->sender.org};
  int rc = ctr_consent_find(c->st, &patient->id, grantees, ARRAY_LEN(grantees), NULL, category,
                            NULL, c->env->time_ms);
  if (rc == ERR_CONSENT_REVOKED || rc == ERR_CONSENT_EXPIRED) {
    return ERR_CONSENT_REQUIRED;
  }
  return rc;
}

static int anchor_shape(struct ctr_ctx *c, const struct codec_value *a) {
  const struct hash32 *id = &a[0].id;
  if (base_hash_is_zero(id)) {
    return ERR_BAD_ARGS;
  }
  bool seen = false;
  int rc = ctr_exists(c->st, CTR_TAG_RECORD, id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EXISTS;
  }
  if (!ctr_label_ok(a[2].bytes) || !ctr_label_ok(a[3].bytes)) {
    return ERR_BAD_ARGS;
  }
  if (base_hash_is_zero(&a[4].id) || a[5].u64 == 0) {
    return ERR_BAD_ARGS;
  }
  return OK;
}

int ctr_rec_anchor(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_PRACTITIONER)) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_identity patient;
  int rc = ctr_patient_load(c->st, &a[1].id, &patient);
  if (rc != OK) {
    return rc;
  }
  if (!ctr_str_is(&patient.status, CTR_STATUS_ACTIVE)) {
    return ERR_SUSPENDED;
  }
  rc = anchor_allowed(c, &patient, a[2].bytes);
  if (rc != OK) {
    return rc;
  }
  rc = anchor_shape(c, a);
  if (rc != OK) {
    return rc;
  }
  struct ctr_record r;
  memset(&r, 0, sizeof(r));
  assert(a[6].count <= LIM_KEYS_MAX && a[6].bytes.len == a[6].count * sizeof(struct ctr_key));
  r.nkeys = a[6].count;
  if (r.nkeys > 0) {
    memcpy(r.keys, a[6].bytes.ptr, a[6].bytes.len);
  }
  if (!ctr_keys_has(r.keys, r.nkeys, &patient.id) ||
      !ctr_keys_has(r.keys, r.nkeys, &c->sender.id)) {
    return ERR_BAD_ARGS;
  }
  r.id = a[0].id;
  r.patient = patient.id;
  r.author = c->sender.id;
  r.org = c->sender.org;
  ctr_str_set(&r.category, a[2].bytes);
  ctr_str_set(&r.fhir_type, a[3].bytes);
  r.content_hash = a[4].id;
  r.size = a[5].u64;
  r.created_height = c->env->height;
  r.created_ms = c->env->time_ms;
  rc = ctr_store(c->st, &r);
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_RECORD_IDX, CTR_SUB_PATIENT, &r.patient, NULL, &r.id);
  }
  return rc;
}

int ctr_rec_erase(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_record r;
  int rc = ctr_load(c->st, &a[0].id, &r);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_RECORD : rc;
  }
  struct ctr_identity patient;
  rc = ctr_patient_load(c->st, &r.patient, &patient);
  if (rc != OK) {
    return rc == ERR_UNKNOWN_PATIENT ? ERR_CORRUPT : rc;
  }
  if (!ctr_patient_speaks(&patient, &c->sender.id)) {
    return ERR_UNAUTHORIZED;
  }
  if (r.erased) {
    return ERR_RECORD_ERASED;
  }
  r.erased = true;
  memset(r.keys, 0, sizeof(r.keys));
  r.nkeys = 0;
  return ctr_store(c->st, &r);
}
