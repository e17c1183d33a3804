/*
 * reads — who may read what concerns a patient: the rules behind the API's
 * authenticated reads (docs/api.md, "Signed requests").
 *
 * These are pure functions of the state and a time the caller passes (the
 * node's clock for reads; the contracts never read a clock). The caller
 * has already authenticated `reader`: its current key signed the request
 * and it and its organization are active (ctr_reader_identify). Every
 * refusal is UNAUTHORIZED, whatever the reason, so a refusal says nothing
 * about the patient beyond "not for you".
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

int ctr_reader_identify(struct state *st, const struct pubkey *pk, struct hash32 *reader) {
  assert(st != NULL && pk != NULL && reader != NULL);
  int rc = ctr_identity_by_key(st, pk, reader);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_SENDER : rc;
  }
  struct ctr_identity who;
  rc = ctr_load(st, reader, &who);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  if (memcmp(who.sign_pk.b, pk->b, sizeof(pk->b)) != 0) {
    return ERR_KEY_MISMATCH;
  }
  struct ctr_org org;
  return ctr_identity_active(st, &who, &org);
}

int ctr_read_all(struct state *st, const struct hash32 *reader) {
  assert(st != NULL && reader != NULL);
  struct ctr_identity who;
  int rc = ctr_load(st, reader, &who);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNAUTHORIZED : rc;
  }
  return ctr_str_is(&who.kind, CTR_ROLE_AUDITOR) ? OK : ERR_UNAUTHORIZED;
}

int ctr_read_patient(struct state *st, const struct hash32 *reader, const struct hash32 *patient) {
  assert(st != NULL && reader != NULL && patient != NULL);
  if (ctr_read_all(st, reader) == OK) {
    return OK;
  }
  struct ctr_identity p;
  int rc = ctr_load(st, patient, &p);
  if (rc == ERR_NOT_FOUND || (rc == OK && !ctr_str_is(&p.kind, CTR_ROLE_PATIENT))) {
    return ERR_UNAUTHORIZED;
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_patient_speaks(&p, reader) ? OK : ERR_UNAUTHORIZED;
}

int ctr_read_grantee(struct state *st, const struct hash32 *reader, const struct hash32 *grantee) {
  assert(st != NULL && reader != NULL && grantee != NULL);
  if (base_hash_eq(reader, grantee) || ctr_read_all(st, reader) == OK) {
    return OK;
  }
  struct ctr_org org;
  int rc = ctr_load(st, grantee, &org);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNAUTHORIZED;
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_ids_has(org.admins, org.nadmins, reader) ? OK : ERR_UNAUTHORIZED;
}

int ctr_consent_any(struct state *st, const struct hash32 *reader, const struct hash32 *record,
                    uint64_t now_ms) {
  assert(st != NULL && reader != NULL && record != NULL);
  struct ctr_record rec;
  int rc = ctr_load(st, record, &rec);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_RECORD : rc;
  }
  struct ctr_identity who;
  rc = ctr_load(st, reader, &who);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CONSENT_REQUIRED : rc;
  }
  const struct hash32 grantees[2] = {who.id, who.org};
  return ctr_consent_find(st, &rec.patient, grantees, ARRAY_LEN(grantees), &rec.id,
                          ctr_str_bytes(&rec.category), NULL, now_ms);
}

int ctr_read_record(struct state *st, const struct hash32 *reader, const struct hash32 *record,
                    uint64_t now_ms) {
  assert(st != NULL && reader != NULL && record != NULL);
  if (ctr_read_all(st, reader) == OK) {
    return OK;
  }
  struct ctr_record rec;
  int rc = ctr_load(st, record, &rec);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNAUTHORIZED; /* nobody but an auditor reads about it */
  }
  if (rc != OK) {
    return rc;
  }
  if (base_hash_eq(&rec.author, reader) || ctr_read_patient(st, reader, &rec.patient) == OK) {
    return OK;
  }
  rc = ctr_consent_any(st, reader, record, now_ms);
  if (rc == ERR_CONSENT_REQUIRED || rc == ERR_CONSENT_EXPIRED || rc == ERR_CONSENT_REVOKED) {
    return ERR_UNAUTHORIZED;
  }
  return rc;
}
