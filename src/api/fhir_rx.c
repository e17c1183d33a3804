/*
 * fhir_rx — MedicationRequest and MedicationDispense, read and searched
 * from the prescription contract's state (src/contracts/rx.c) and the
 * supply chain's dispensing events (src/contracts/supply.c).
 *
 * A prescription on chain is: patient, prescriber (a licensed
 * practitioner) and their organization, the medication by GTIN or by a
 * code, a quantity of packages per fill, a number of refills, a validity
 * end, how many packages were dispensed, the issuing height. As FHIR:
 * intent order; status active while it is valid and not fully dispensed,
 * completed once quantity * (refills + 1) packages went out, stopped once
 * past its validity; medicationCodeableConcept the GS1 GTIN (system
 * https://www.gs1.org/gtin) or our medication code; subject, requester,
 * authoredOn (the issuing block's time) and dispenseRequest (validity
 * period end, numberOfRepeatsAllowed, quantity in packages). Who may read
 * it: its patient, a guardian, an auditor, the prescriber, an admin of the
 * prescriber's organization, the staff of a pharmacy (ctr_read_rx).
 *
 * A dispense is the EPCIS event that recorded it (its id is the event's
 * hash): status completed, performer the pharmacy, quantity the packages,
 * whenHandedOver the block's time, the event hash as an RFC 6920
 * identifier; dispensed against a prescription, also
 * authorizingPrescription, the medication and the subject, the last two
 * only for a reader who may read the prescription. Searches: a patient's
 * prescriptions (MedicationRequest?patient=), a prescription's dispenses
 * (MedicationDispense?prescription=).
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <string.h>

#define FHIR_SID_GTIN "https://www.gs1.org/gtin"
#define FHIR_CS_MEDICATION "https://medchain.dev/fhir/CodeSystem/medication-code"
#define FHIR_SID_EVENT_HASH "urn:ietf:rfc:6920"

static json_t *package_quantity(uint64_t n) {
  return json_pack("{s:o, s:s, s:s, s:s}", "value", api_json_u64(n), "unit", "package", "system",
                   "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm", "code", "PACK");
}

/* The medication of a prescription entity: its GTIN, else its code. */
static json_t *medication_json(const struct fhir_ent *rx) {
  char gtin[20];
  char code[80];
  fhir_ent_str(rx, "gtin", gtin, sizeof(gtin));
  fhir_ent_str(rx, "code", code, sizeof(code));
  if (gtin[0] != '\0') {
    return fhir_concept(FHIR_SID_GTIN, gtin, NULL);
  }
  return fhir_concept(FHIR_CS_MEDICATION, code, NULL);
}

static const char *rx_status(const struct fhir_ent *e) {
  uint64_t total = fhir_ent_u64(e, "quantity") * (fhir_ent_u64(e, "refills") + 1);
  if (fhir_ent_u64(e, "dispensed") >= total) {
    return "completed";
  }
  if (!fhir_ent_str_is(e, "status", FHIR_ENTITY_ACTIVE) ||
      fhir_ent_u64(e, "valid_until_ms") <= base_now_ms()) {
    return "stopped";
  }
  return "active";
}

static int rx_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  json_t *dispense = json_pack("{s:{s:o}, s:o, s:o}", "validityPeriod", "end",
                               fhir_instant_json(fhir_ent_u64(e, "valid_until_ms")),
                               "numberOfRepeatsAllowed", api_json_u64(fhir_ent_u64(e, "refills")),
                               "quantity", package_quantity(fhir_ent_u64(e, "quantity")));
  *out =
      json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o}", "resourceType", "MedicationRequest",
                "id", api_json_hex(fhir_ent_id(e, "id")->b, 32), "status", rx_status(e), "intent",
                "order", "medicationCodeableConcept", medication_json(e), "subject",
                fhir_ref("Patient", fhir_ent_id(e, "patient")), "requester",
                fhir_ref_party(f->st, fhir_ent_id(e, "prescriber")), "dispenseRequest", dispense);
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  struct block *b = NULL;
  uint8_t *raw = NULL;
  int rc = fhir_block_load(f, fhir_ent_u64(e, "created_height"), &b, &raw);
  if (rc == OK &&
      json_object_set_new(*out, "authoredOn", fhir_instant_json(b->header.time_ms)) != 0) {
    rc = ERR_NOMEM;
  }
  fhir_block_free(b, raw);
  if (rc != OK && rc != ERR_NOT_FOUND) {
    json_decref(*out);
    *out = NULL;
    return rc;
  }
  return OK;
}

/* ---- MedicationDispense ------------------------------------------------------------------ */

static bool is_dispense(const struct fhir_ent *e) {
  return fhir_ent_str_is(e, "biz_step", "dispensing");
}

/* What the prescription adds to a dispense, for a reader who may read it. */
static int dispense_rx(struct fhir_ctx *f, const struct hash32 *rx_id, json_t *res) {
  struct bytes val;
  int rc = ctr_get(f->st, CTR_RX, rx_id, &val);
  if (rc == ERR_NOT_FOUND) {
    return OK; /* dispensed without a prescription */
  }
  if (rc != OK) {
    return rc;
  }
  if (json_object_set_new(res, "authorizingPrescription",
                          json_pack("[o]", fhir_ref("MedicationRequest", rx_id))) != 0) {
    return ERR_NOMEM;
  }
  rc = f->have_reader ? ctr_read_rx(f->st, &f->reader, rx_id) : ERR_UNAUTHORIZED;
  if (rc == ERR_UNAUTHORIZED) {
    return OK; /* the pharmacy's act is public; whose medicine it was is not */
  }
  struct fhir_ent rx;
  if (rc == OK) {
    rc = fhir_ent_decode(&rx, CTR_RX, val);
  }
  if (rc == OK &&
      (json_object_set_new(res, "subject", fhir_ref("Patient", fhir_ent_id(&rx, "patient"))) != 0 ||
       json_object_set_new(res, "medicationCodeableConcept", medication_json(&rx)) != 0)) {
    rc = ERR_NOMEM;
  }
  return rc;
}

static int dispense_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  const struct hash32 *id = fhir_ent_id(e, "id");
  char hex[65];
  char ni[96];
  base_hash_hex(hex, id);
  snprintf(ni, sizeof(ni), "ni:///sha-256;%s?ver=CBV2.0", hex);
  *out = json_pack("{s:s, s:o, s:s, s:[{s:s, s:s}], s:[{s:o}], s:o, s:o}", "resourceType",
                   "MedicationDispense", "id", api_json_hex(id->b, 32), "status", "completed",
                   "identifier", "system", FHIR_SID_EVENT_HASH, "value", ni, "performer", "actor",
                   fhir_ref("Organization", fhir_ent_id(e, "org")), "quantity",
                   package_quantity(fhir_ent_u64(e, "epc_count")), "whenHandedOver",
                   fhir_instant_json(fhir_ent_u64(e, "time_ms")));
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  int rc = base_hash_is_zero(fhir_ent_id(e, "parent"))
               ? OK
               : dispense_rx(f, fhir_ent_id(e, "parent"), *out);
  if (rc == OK && json_object_get(*out, "medicationCodeableConcept") == NULL &&
      json_object_set_new(*out, "medicationCodeableConcept",
                          json_pack("{s:s}", "text", "serialized drug packages")) != 0) {
    rc = ERR_NOMEM;
  }
  if (rc != OK) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- the types ----------------------------------------------------------------------------- */

static const struct fhir_source rx_source = {CTR_RX, true, NULL, rx_render, NULL};

static const struct fhir_param rx_params[] = {
    {"patient", "reference", CTR_BY_PATIENT,
     "the patient's prescriptions (signer: the patient, a guardian or an auditor)"},
};

const struct fhir_type fhir_medication_request = {
    .name = "MedicationRequest",
    .doc = "Prescriptions issued on chain by licensed practitioners (rx.issue): medication by GS1 "
           "GTIN or code, packages per fill, refills, validity. Signed requests: the patient, a "
           "guardian, the prescriber, an admin of the prescriber's organization, a pharmacy's "
           "staff, an auditor.",
    .source = &rx_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = rx_params,
    .nparams = ARRAY_LEN(rx_params),
};

static const struct fhir_source dispense_source = {CTR_EVENT, true, is_dispense, dispense_render,
                                                   "this EPCIS event is not a dispensing"};

static const struct fhir_param dispense_params[] = {
    {"prescription", "reference", CTR_BY_PRESCRIPTION,
     "the dispenses of one prescription (signer: who may read the prescription)"},
};

const struct fhir_type fhir_medication_dispense = {
    .name = "MedicationDispense",
    .doc = "Dispensing events of serialized packages (EPCIS, rx.dispense and supply.dispense); "
           "the id is the EPCIS event hash. The subject and medication appear only to readers of "
           "the prescription. Signed requests.",
    .source = &dispense_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = dispense_params,
    .nparams = ARRAY_LEN(dispense_params),
};
