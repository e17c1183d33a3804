/*
 * rx — prescriptions. A licensed practitioner (an identity of kind
 * practitioner with a licence hash) issues one for a patient: the
 * medication by GTIN (then every package dispensed must carry it) or by a
 * code (a national drug code or ATC label; no package check possible),
 * a quantity of packages per fill, a number of refills and a validity in
 * block time. A pharmacy dispenses against it with package serials it
 * holds (supply custody rules), never beyond quantity * (refills + 1)
 * packages in total; each package is marked dispensed by the same call.
 *
 * Only the patient's pseudonymous id is on chain: no name, no dosage
 * text, no diagnosis. The code is a label (no free text).
 */
#include "contracts/contracts_internal.h"
#include "gs1/gs1.h"

#include <assert.h>
#include <string.h>

int ctr_rx_issue(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_PRACTITIONER) || base_hash_is_zero(&c->sender.licence_hash)) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_identity patient;
  int rc = ctr_patient_load(c->st, &a[0].id, &patient);
  if (rc != OK) {
    return rc;
  }
  struct bytes gtin = a[1].bytes;
  struct bytes code = a[2].bytes;
  char g14[GS1_GTIN_LEN + 1] = "";
  if (gtin.len != 0 && gs1_gtin_normalize(g14, (const char *)gtin.ptr, gtin.len) != OK) {
    return ERR_BAD_ARGS;
  }
  if ((gtin.len == 0) == (code.len == 0) || (code.len != 0 && !ctr_label_ok(code))) {
    return ERR_BAD_ARGS; /* exactly one of GTIN and code */
  }
  if (a[3].u64 == 0 || a[3].u64 > 1000 || a[4].u64 > 100) {
    return ERR_BAD_ARGS;
  }
  if (a[5].u64 <= c->env->time_ms) {
    return ERR_EXPIRY_PAST;
  }
  struct ctr_rx rx;
  memset(&rx, 0, sizeof(rx));
  cry_hash_tagged(&rx.id, "medchain.rx.v1", c->env->tx_hash.b, sizeof(c->env->tx_hash.b));
  bool seen = false;
  rc = ctr_exists(c->st, CTR_TAG_RX, &rx.id, &seen);
  if (rc != OK || seen) {
    return rc != OK ? rc : ERR_EXISTS;
  }
  rx.patient = patient.id;
  rx.prescriber = c->sender.id;
  rx.org = c->sender.org;
  ctr_str_setz(&rx.gtin, g14);
  ctr_str_set(&rx.code, code);
  rx.quantity = a[3].u64;
  rx.refills = a[4].u64;
  rx.valid_until_ms = a[5].u64;
  ctr_str_setz(&rx.status, CTR_STATUS_ACTIVE);
  rx.created_height = c->env->height;
  rc = ctr_store(c->st, &rx);
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_RX_IDX, 'p', &rx.patient, NULL, &rx.id);
  }
  return rc;
}

int ctr_rx_dispense(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_supply_actor(c) || !ctr_str_is(&c->sender_org.kind, "pharmacy")) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_rx rx;
  int rc = ctr_load(c->st, &a[0].id, &rx);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_PRESCRIPTION : rc;
  }
  if (rx.valid_until_ms <= c->env->time_ms || !ctr_str_is(&rx.status, CTR_STATUS_ACTIVE)) {
    return ERR_PRESCRIPTION_EXPIRED;
  }
  bool seen = false;
  rc = ctr_exists(c->st, CTR_TAG_EVENT, &a[1].id, &seen);
  if (rc != OK || seen) {
    return rc != OK ? rc : ERR_EVENT_EXISTS;
  }
  struct ctr_epcs e;
  rc = ctr_epcs_load(c->st, a[2].bytes, &e);
  if (rc == OK) {
    rc = ctr_epcs_custody(c->st, &e, &c->sender.org, c->env->time_ms);
  }
  if (rc != OK) {
    return rc;
  }
  assert(rx.quantity >= 1 && rx.refills <= 100);
  if (rx.dispensed + e.n > rx.quantity * (rx.refills + 1)) {
    return ERR_OVER_DISPENSE;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    if (!ctr_str_is(&e.pkg[i].kind, "sgtin") ||
        (rx.gtin.len != 0 && !ctr_str_is(&e.pkg[i].gtin, rx.gtin.b))) {
      return ERR_MEDICATION_MISMATCH;
    }
    ctr_str_setz(&e.pkg[i].status, CTR_PKG_DISPENSED);
  }
  rx.dispensed += e.n;
  rc = ctr_store(c->st, &rx);
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_RX_IDX, 'd', &rx.id, NULL, &a[1].id);
  }
  if (rc != OK) {
    return rc;
  }
  struct ctr_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.id = a[1].id;
  ctr_str_setz(&ev.type, "ObjectEvent");
  ctr_str_setz(&ev.action, "OBSERVE");
  ctr_str_setz(&ev.biz_step, "dispensing");
  ev.org = c->sender.org;
  ev.parent = rx.id; /* the prescription it was dispensed against */
  ev.event_time_ms = a[3].u64;
  ev.height = c->env->height;
  ev.index = c->env->index;
  ev.time_ms = c->env->time_ms;
  return ctr_event_record(c, &ev, &e);
}
