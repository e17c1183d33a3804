/*
 * fhir_identity — Patient, Practitioner and Organization from the
 * identity contract's state.
 *
 * Nothing here is invented: the chain knows no names, birth dates or
 * addresses of people, so a Patient is its pseudonymous id (the hash of
 * its first signing key), whether it is active, and the organization that
 * enrolled it; a Practitioner adds the salted hash of its licence (an
 * identifier that proves a licence to whoever holds the salt and the
 * number, and tells nobody else anything) and its role as a
 * qualification issued by its organization. Organizations are public
 * business names and kinds.
 */
#include "api/fhir_internal.h"

#include <string.h>

static json_t *id_json(const struct fhir_ent *e) {
  return api_json_hex(fhir_ent_id(e, "id")->b, 32);
}

static json_t *active_json(const struct fhir_ent *e) {
  return json_boolean(fhir_ent_str_is(e, "status", FHIR_ENTITY_ACTIVE));
}

/* ---- Patient --------------------------------------------------------------------------- */

static bool is_patient(const struct fhir_ent *e) {
  return fhir_ent_str_is(e, "kind", CTR_ROLE_PATIENT);
}

static int patient_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  (void)f;
  *out = json_pack("{s:s, s:o, s:[{s:s, s:s, s:o}], s:o, s:o}", "resourceType", "Patient", "id",
                   id_json(e), "identifier", "use", "secondary", "system", FHIR_SID_IDENTITY,
                   "value", id_json(e), "active", active_json(e), "managingOrganization",
                   fhir_ref("Organization", fhir_ent_id(e, "org")));
  return *out == NULL ? ERR_NOMEM : OK;
}

static const struct fhir_source patient_source = {
    CTR_IDENTITY, true, is_patient, patient_render, "no such patient",
};

static const struct fhir_param patient_params[] = {
    {"organization", "reference", CTR_BY_ORG, "the organization that enrolled the patient"},
};

const struct fhir_type fhir_patient = {
    .name = "Patient",
    .doc =
        "Pseudonymous: id = the identity's id (hex), active, managingOrganization; no name, birth "
        "date or address exists on chain. Signed requests only.",
    .source = &patient_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = patient_params,
    .nparams = ARRAY_LEN(patient_params),
};

/* ---- Practitioner ------------------------------------------------------------------------- */

static bool is_practitioner(const struct fhir_ent *e) {
  return fhir_ent_str_is(e, "kind", CTR_ROLE_PRACTITIONER);
}

static int practitioner_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  (void)f;
  const struct hash32 *org = fhir_ent_id(e, "org");
  json_t *role = fhir_ent_str_json(e, "role");
  json_t *qual =
      json_pack("{s:{s:O}, s:o}", "code", "text", role, "issuer", fhir_ref("Organization", org));
  json_decref(role);
  *out = json_pack("{s:s, s:o, s:[{s:s, s:s, s:o}], s:o, s:[o]}", "resourceType", "Practitioner",
                   "id", id_json(e), "identifier", "use", "official", "system", FHIR_SID_LICENCE,
                   "value", api_json_hex(fhir_ent_id(e, "licence_hash")->b, 32), "active",
                   active_json(e), "qualification", qual);
  return *out == NULL ? ERR_NOMEM : OK;
}

static const struct fhir_source practitioner_source = {
    CTR_IDENTITY, false, is_practitioner, practitioner_render, "no such practitioner",
};

static const struct fhir_param practitioner_params[] = {
    {"organization", "reference", CTR_BY_ORG,
     "the organization that registered the practitioner (a medchain extension parameter)"},
};

const struct fhir_type fhir_practitioner = {
    .name = "Practitioner",
    .doc =
        "id, active, identifier = the salted hash of the licence, qualification = the role, issued "
        "by the practitioner's organization. Public, as /v1/identities.",
    .source = &practitioner_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = practitioner_params,
    .nparams = ARRAY_LEN(practitioner_params),
};

/* ---- Organization ------------------------------------------------------------------------- */

/* HL7 organization-type for our kinds. */
static const char *org_type_hl7(const struct fhir_ent *e) {
  static const struct {
    const char *kind;
    const char *code;
  } map[] = {
      {"hospital", "prov"}, {"clinic", "prov"},    {"pharmacy", "prov"},    {"lab", "prov"},
      {"insurer", "ins"},   {"regulator", "govt"}, {"manufacturer", "bus"}, {"distributor", "bus"},
  };
  for (size_t i = 0; i < ARRAY_LEN(map); i++) {
    if (fhir_ent_str_is(e, "kind", map[i].kind)) {
      return map[i].code;
    }
  }
  return "other";
}

static int org_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  (void)f;
  char kind[40];
  fhir_ent_str(e, "kind", kind, sizeof(kind));
  json_t *type = json_pack(
      "{s:[o, o], s:s}", "coding",
      fhir_coding("http://terminology.hl7.org/CodeSystem/organization-type", org_type_hl7(e), NULL),
      fhir_coding(FHIR_CS_ORG_KIND, kind, NULL), "text", kind);
  *out = json_pack("{s:s, s:o, s:o, s:o, s:[o]}", "resourceType", "Organization", "id", id_json(e),
                   "active", active_json(e), "name", fhir_ent_str_json(e, "name"), "type", type);
  return *out == NULL ? ERR_NOMEM : OK;
}

static const struct fhir_source org_source = {CTR_ORG, false, NULL, org_render, NULL};

const struct fhir_type fhir_organization = {
    .name = "Organization",
    .doc = "Consortium organizations: name, type from their kind, active. Public, as /v1.",
    .source = &org_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
};
