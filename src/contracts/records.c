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
static int anchor_allowed(struct ctr_ctx *c, const struct ctr_identity *author,
                          const struct ctr_identity *patient, struct bytes category) {
  if (base_hash_eq(&patient->org, &author->org)) {
    return OK;
  }
  const struct hash32 grantees[2] = {author->id, author->org};
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
  if (base_hash_is_zero(&a[4].id) || a[5].u64 == 0 || a[5].u64 > LIM_BLOB_BYTES_MAX) {
    return ERR_BAD_ARGS;
  }
  return OK;
}

/* anchor and anchor_for share their first seven arguments; author is the
 * practitioner who wrote the record (the sender, or for anchor_for a
 * practitioner of the sender's organization). */
static int anchor_common(struct ctr_ctx *c, const struct codec_value *a,
                         const struct ctr_identity *author) {
  struct ctr_identity patient;
  int rc = ctr_patient_load(c->st, &a[1].id, &patient);
  if (rc != OK) {
    return rc;
  }
  if (!ctr_str_is(&patient.status, CTR_STATUS_ACTIVE)) {
    return ERR_SUSPENDED;
  }
  rc = anchor_allowed(c, author, &patient, a[2].bytes);
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
  if (!ctr_keys_has(r.keys, r.nkeys, &patient.id) || !ctr_keys_has(r.keys, r.nkeys, &author->id)) {
    return ERR_BAD_ARGS;
  }
  r.id = a[0].id;
  r.patient = patient.id;
  r.author = author->id;
  r.org = author->org;
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
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_RECORD_IDX, CTR_SUB_CONTENT, &r.content_hash, NULL, &r.id);
  }
  return rc;
}

int ctr_rec_anchor(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_PRACTITIONER)) {
    return ERR_UNAUTHORIZED;
  }
  return anchor_common(c, a, &c->sender);
}

int ctr_rec_anchor_for(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_identity author;
  int rc = ctr_load(c->st, &a[7].id, &author);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_IDENTITY : rc;
  }
  if (!ctr_str_is(&author.kind, CTR_ROLE_PRACTITIONER) ||
      !base_hash_eq(&author.org, &c->sender.org)) {
    return ERR_UNAUTHORIZED;
  }
  if (!ctr_str_is(&author.status, CTR_STATUS_ACTIVE)) {
    return ERR_SUSPENDED;
  }
  return anchor_common(c, a, &author);
}

/* Erases one loaded record (the caller checked who may). */
static int erase_one(struct ctr_ctx *c, struct ctr_record *r) {
  assert(!r->erased);
  r->erased = true;
  memset(r->keys, 0, sizeof(r->keys));
  r->nkeys = 0;
  return ctr_store(c->st, r);
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
  return erase_one(c, &r);
}

int ctr_rec_erase_all(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_identity patient;
  int rc = ctr_patient_load(c->st, &a[0].id, &patient);
  if (rc != OK) {
    return rc;
  }
  if (!ctr_patient_speaks(&patient, &c->sender.id)) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_skey prefix;
  ctr_skey_init(&prefix, CTR_TAG_RECORD_IDX);
  uint8_t sub = CTR_SUB_PATIENT;
  ctr_skey_add(&prefix, &sub, 1);
  ctr_skey_add_id(&prefix, &patient.id);
  struct state_iter *it = NULL;
  rc = state_iter_begin(c->st, ctr_skey_bytes(&prefix), (struct bytes){prefix.b, 0}, &it);
  if (rc != OK) {
    return rc;
  }
  uint32_t erased = 0;
  while (erased < LIM_ERASE_BATCH_MAX) {
    struct bytes key, val;
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
    struct ctr_record r;
    rc = ctr_load(c->st, &id, &r);
    if (rc != OK) {
      rc = rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
      break;
    }
    if (r.erased) {
      continue;
    }
    rc = erase_one(c, &r);
    if (rc != OK) {
      break;
    }
    erased++;
  }
  state_iter_end(it);
  if (rc == ERR_NOT_FOUND) {
    rc = OK; /* the end of the index */
  }
  if (rc == OK && erased == 0) {
    return ERR_RECORD_ERASED; /* nothing left to erase */
  }
  return rc;
}
