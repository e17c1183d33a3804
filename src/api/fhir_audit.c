/*
 * fhir_audit — AuditEvent from the audit contract's entries: one read of
 * one record by one accessor, logged on chain by a node's operator (an
 * admin of its organization) or by the accessor.
 *
 * type rest / subtype read, action R, recorded = the entry's block time,
 * outcome 0 when the chain granted the access, 4 with the refusal's code
 * as outcomeDesc when it refused it (refused attempts are logged too);
 * agents: the accessor (requestor, with the purpose of use), the
 * organization whose node logged it, the identity that signed the entry
 * and the node; source.observer = that organization, source.site = the
 * node's id; entities: the
 * record (DocumentReference/{id}) and the patient. purposeOfEvent carries
 * our purpose and its v3-ActReason code. An emergency ("break-the-glass")
 * read also carries v3-ActReason BTG in purposeOfEvent and in the
 * accessor's purposeOfUse, and meta.security BTG, so a client filters
 * them out with one coding; the reason itself is only on chain as a hash
 * (extension FHIR_EXT_REASON_HASH).
 */
#include "api/fhir_internal.h"

#include <string.h>

static json_t *purposes_json(const struct fhir_ent *e) {
  char purpose[40];
  fhir_ent_str(e, "purpose", purpose, sizeof(purpose));
  json_t *codings = json_pack("[o]", fhir_coding(FHIR_CS_PURPOSE, purpose, NULL));
  const char *v3 = fhir_purpose_v3(purpose);
  if (codings != NULL && v3 != NULL &&
      json_array_append_new(codings, fhir_coding(FHIR_CS_ACT_REASON, v3, NULL)) != 0) {
    json_decref(codings);
    return NULL;
  }
  json_t *a = json_pack("[{s:o}]", "coding", codings);
  if (a != NULL && fhir_ent_bool(e, "emergency") &&
      json_array_append_new(a, fhir_concept(FHIR_CS_ACT_REASON, "BTG", "break the glass")) != 0) {
    json_decref(a);
    a = NULL;
  }
  return a;
}

static json_t *agents_json(struct fhir_ctx *f, const struct fhir_ent *e) {
  json_t *accessor =
      json_pack("{s:o, s:b, s:o}", "who", fhir_ref_party(f->st, fhir_ent_id(e, "accessor")),
                "requestor", 1, "purposeOfUse", purposes_json(e));
  json_t *node =
      json_pack("{s:o, s:o, s:b}", "type",
                fhir_concept("http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                             "datacollector", "data collector"),
                "who", fhir_ref("Organization", fhir_ent_id(e, "org")), "requestor", 0);
  json_t *logger =
      json_pack("{s:o, s:s, s:b}", "who", fhir_ref_party(f->st, fhir_ent_id(e, "logged_by")),
                "name", "logged by", "requestor", 0);
  json_t *server = json_pack("{s:{s:{s:s, s:o}}, s:s, s:b}", "who", "identifier", "system",
                             FHIR_SID_NODE, "value", api_json_hex(fhir_ent_id(e, "node")->b, 32),
                             "name", "node", "requestor", 0);
  return json_pack("[o, o, o, o]", accessor, node, logger, server);
}

static json_t *entities_json(const struct fhir_ent *e) {
  return json_pack(
      "[{s:o, s:o, s:o}, {s:o, s:o, s:o}]", "what",
      fhir_ref("DocumentReference", fhir_ent_id(e, "record")), "type",
      fhir_coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"),
      "role", fhir_coding("http://terminology.hl7.org/CodeSystem/object-role", "3", "Report"),
      "what", fhir_ref("Patient", fhir_ent_id(e, "patient")), "type",
      fhir_coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"), "role",
      fhir_coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"));
}

/* Emergency reads: meta.security BTG and the reason's hash. */
static int emergency_marks(const struct fhir_ent *e, json_t *o) {
  if (!fhir_ent_bool(e, "emergency")) {
    return OK;
  }
  json_t *meta =
      json_pack("{s:[o]}", "security", fhir_coding(FHIR_CS_ACT_REASON, "BTG", "break the glass"));
  json_t *ext = json_pack("[{s:s, s:o}]", "url", FHIR_EXT_REASON_HASH, "valueString",
                          api_json_hex(fhir_ent_id(e, "reason_hash")->b, 32));
  int rc = json_object_set_new(o, "meta", meta) == 0 ? OK : ERR_NOMEM;
  if (json_object_set_new(o, "extension", ext) != 0) {
    rc = ERR_NOMEM;
  }
  return rc;
}

/* "0" for an access the chain granted; "4" (minor failure) for a refused
 * attempt, whose stable code is the outcomeDesc. */
static int outcome_set(const struct fhir_ent *e, json_t *o) {
  if (fhir_ent_str_is(e, "outcome", CTR_OUTCOME_GRANTED)) {
    return json_object_set_new(o, "outcome", json_string("0")) == 0 ? OK : ERR_NOMEM;
  }
  if (json_object_set_new(o, "outcome", json_string("4")) != 0 ||
      json_object_set_new(o, "outcomeDesc", fhir_ent_str_json(e, "outcome")) != 0) {
    return ERR_NOMEM;
  }
  return OK;
}

static json_t *source_json(const struct fhir_ent *e) {
  char node_hex[65];
  base_hash_hex(node_hex, fhir_ent_id(e, "node"));
  return json_pack("{s:o, s:s, s:[o]}", "observer", fhir_ref("Organization", fhir_ent_id(e, "org")),
                   "site", node_hex, "type",
                   fhir_coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4",
                               "Application Server"));
}

static int audit_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  *out =
      json_pack("{s:s, s:o, s:o, s:[o], s:s, s:o, s:o, s:o, s:o, s:o}", "resourceType",
                "AuditEvent", "id", api_json_hex(fhir_ent_id(e, "id")->b, 32), "type",
                fhir_coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest",
                            "RESTful Operation"),
                "subtype", fhir_coding("http://hl7.org/fhir/restful-interaction", "read", "read"),
                "action", "R", "recorded", fhir_instant_json(fhir_ent_u64(e, "time_ms")),
                "purposeOfEvent", purposes_json(e), "agent", agents_json(f, e), "source",
                source_json(e), "entity", entities_json(e));
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  int rc = outcome_set(e, *out);
  if (rc == OK) {
    rc = emergency_marks(e, *out);
  }
  if (rc != OK) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

static const struct fhir_source audit_source = {CTR_AUDIT, false, NULL, audit_render, NULL};

static const struct fhir_param audit_params[] = {
    {"patient", "reference", CTR_BY_PATIENT,
     "accesses to the patient's records (signer: the patient, a guardian or an auditor)"},
    {"entity", "reference", CTR_BY_RECORD,
     "accesses to one record (signer: who may read the record)"},
};

const struct fhir_type fhir_audit_event = {
    .name = "AuditEvent",
    .doc = "The on-chain access log: who read which record, when, why, logged by which node; "
           "emergency reads carry v3-ActReason BTG. Signed requests only.",
    .source = &audit_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = audit_params,
    .nparams = ARRAY_LEN(audit_params),
};
