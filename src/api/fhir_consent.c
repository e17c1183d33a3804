/*
 * fhir_consent — Consent: read and search from the consent contract's
 * state, and create as a grant.
 *
 * A consent on chain is: patient, grantee (an identity or an
 * organization), scope (a category of records or one record), purpose,
 * expiry, status and who granted it at which height. As FHIR:
 * scope patient-privacy, category the LOINC patient-consent code and our
 * record category, patient, dateTime = the time of the block that granted
 * it, performer = who granted (the patient or a guardian), policyRule
 * OPTIN, and one permit provision: period.end = the expiry, actor = the
 * grantee as information recipient, purpose (ours and v3-ActReason), and
 * for a record-scoped consent data = DocumentReference/{record}. status
 * is active while the consent is active and unexpired at the node's
 * clock, inactive once revoked or expired.
 *
 * Create: the node holds no patient's key, so a grant is the patient's own
 * signed consent.grant transaction, carried in the extension
 * FHIR_EXT_SIGNED_TX (the bytes POST /v1/txs takes, base64). The node
 * checks that the resource says what the transaction does (patient, the
 * one actor = grantee, category or record, purpose, period.end = expiry),
 * else 400 with what disagrees; then submits it and waits for its block
 * as POST /v1/txs?wait=commit does. The transaction's own verdicts
 * (UNAUTHORIZED when the signer is not the patient or a guardian, ...)
 * come back with their codes.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <string.h>

#define CONSENT_WAIT_MS 10000

/* ---- rendering --------------------------------------------------------------------------- */

static json_t *purpose_json(const struct fhir_ent *e) {
  char purpose[40];
  fhir_ent_str(e, "purpose", purpose, sizeof(purpose));
  json_t *a = json_pack("[o]", fhir_coding(FHIR_CS_PURPOSE, purpose, NULL));
  const char *v3 = fhir_purpose_v3(purpose);
  if (a != NULL && v3 != NULL &&
      json_array_append_new(a, fhir_coding(FHIR_CS_ACT_REASON, v3, NULL)) != 0) {
    json_decref(a);
    a = NULL;
  }
  return a;
}

static json_t *provision_json(struct fhir_ctx *f, const struct fhir_ent *e) {
  json_t *actor =
      json_pack("{s:o, s:o}", "role",
                fhir_concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP",
                             "information recipient"),
                "reference", fhir_ref_party(f->st, fhir_ent_id(e, "grantee")));
  json_t *p = json_pack("{s:s, s:{s:o}, s:[o], s:o}", "type", "permit", "period", "end",
                        fhir_instant_json(fhir_ent_u64(e, "expires_ms")), "actor", actor, "purpose",
                        purpose_json(e));
  if (p != NULL && fhir_ent_str_is(e, "scope", "record") &&
      json_object_set_new(p, "data",
                          json_pack("[{s:s, s:o}]", "meaning", "instance", "reference",
                                    fhir_ref("DocumentReference", fhir_ent_id(e, "record")))) !=
          0) {
    json_decref(p);
    p = NULL;
  }
  return p;
}

static json_t *category_json(const struct fhir_ent *e) {
  char cat[80];
  fhir_ent_str(e, "category", cat, sizeof(cat));
  return json_pack("[o, o]", fhir_concept("http://loinc.org", "59284-0", "Patient Consent"),
                   fhir_concept(FHIR_CS_CATEGORY, cat, NULL));
}

/* The granting block's time, when the block can be read. */
static int granted_ms(struct fhir_ctx *f, const struct fhir_ent *e, uint64_t *ms) {
  struct block *b = NULL;
  uint8_t *raw = NULL;
  int rc = fhir_block_load(f, fhir_ent_u64(e, "granted_height"), &b, &raw);
  if (rc == OK) {
    *ms = b->header.time_ms;
  }
  fhir_block_free(b, raw);
  return rc;
}

static int consent_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  bool live = fhir_ent_str_is(e, "status", FHIR_ENTITY_ACTIVE) &&
              fhir_ent_u64(e, "expires_ms") > base_now_ms();
  *out = json_pack(
      "{s:s, s:o, s:s, s:o, s:o, s:o, s:[o], s:[o], s:o}", "resourceType", "Consent", "id",
      api_json_hex(fhir_ent_id(e, "id")->b, 32), "status", live ? "active" : "inactive", "scope",
      fhir_concept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy",
                   "Privacy Consent"),
      "category", category_json(e), "patient", fhir_ref("Patient", fhir_ent_id(e, "patient")),
      "performer", fhir_ref_party(f->st, fhir_ent_id(e, "granted_by")), "policyRule",
      fhir_concept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in"),
      "provision", provision_json(f, e));
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  uint64_t ms = 0;
  int rc = granted_ms(f, e, &ms);
  if (rc == OK && json_object_set_new(*out, "dateTime", fhir_instant_json(ms)) != 0) {
    rc = ERR_NOMEM;
  }
  if (rc != OK && rc != ERR_NOT_FOUND) {
    json_decref(*out);
    *out = NULL;
    return rc;
  }
  return OK;
}

/* ---- create: does the resource say what the transaction does? -------------------------------- */

struct grant {
  const struct codec_schema *schema;
  struct codec_value v[LIM_FIELDS_MAX];
};

static const struct codec_value *arg(const struct grant *g, const char *name) {
  int i = codec_schema_find(g->schema, name);
  assert(i >= 0);
  return &g->v[i];
}

static bool arg_str_is(const struct grant *g, const char *name, const char *z) {
  struct bytes b = arg(g, name)->bytes;
  return z != NULL && b.len == strlen(z) && (b.len == 0 || memcmp(b.ptr, z, b.len) == 0);
}

/* reference (a Reference object) names id. */
static bool ref_names(const json_t *reference, const struct hash32 *id) {
  const char *r = json_string_value(json_object_get(reference, "reference"));
  struct hash32 got;
  return r != NULL && fhir_ref_parse(r, &got, NULL) == OK && base_hash_eq(&got, id);
}

/* Our category coding in Consent.category, or NULL. */
static const char *category_code(const json_t *res) {
  json_t *cats = json_object_get(res, "category");
  for (size_t i = 0; i < json_array_size(cats); i++) {
    json_t *codings = json_object_get(json_array_get(cats, i), "coding");
    for (size_t j = 0; j < json_array_size(codings); j++) {
      json_t *c = json_array_get(codings, j);
      const char *sys = json_string_value(json_object_get(c, "system"));
      if (sys != NULL && strcmp(sys, FHIR_CS_CATEGORY) == 0) {
        return json_string_value(json_object_get(c, "code"));
      }
    }
  }
  return NULL;
}

/* Every purpose coding names the transaction's purpose, and there is one. */
static bool purpose_agrees(const json_t *prov, const struct grant *g) {
  json_t *ps = json_object_get(prov, "purpose");
  size_t n = json_array_size(ps);
  for (size_t i = 0; i < n; i++) {
    const char *sys = json_string_value(json_object_get(json_array_get(ps, i), "system"));
    const char *code = json_string_value(json_object_get(json_array_get(ps, i), "code"));
    if (sys == NULL || code == NULL) {
      return false;
    }
    const char *ours = strcmp(sys, FHIR_CS_ACT_REASON) == 0 ? fhir_purpose_from_v3(code) : code;
    if ((strcmp(sys, FHIR_CS_PURPOSE) != 0 && strcmp(sys, FHIR_CS_ACT_REASON) != 0) ||
        !arg_str_is(g, "purpose", ours)) {
      return false;
    }
  }
  return n > 0;
}

static bool scope_agrees(const json_t *res, const json_t *prov, const struct grant *g) {
  const char *cat = category_code(res);
  json_t *data = json_object_get(prov, "data");
  if (arg_str_is(g, "scope", "category")) {
    return cat != NULL && arg_str_is(g, "category", cat) && json_array_size(data) == 0;
  }
  if (!arg_str_is(g, "scope", "record") || json_array_size(data) != 1) {
    return false;
  }
  /* The record fixes the category; the resource may repeat the argument's. */
  bool cat_ok =
      cat == NULL || (arg(g, "category")->bytes.len > 0 && arg_str_is(g, "category", cat));
  return cat_ok &&
         ref_names(json_object_get(json_array_get(data, 0), "reference"), &arg(g, "record")->id);
}

/* NULL when the resource agrees with the grant, else what disagrees. */
static const char *disagreement(const json_t *res, const struct grant *g) {
  json_t *prov = json_object_get(res, "provision");
  json_t *actors = json_object_get(prov, "actor");
  const char *end = json_string_value(json_object_get(json_object_get(prov, "period"), "end"));
  uint64_t end_ms = 0;
  const char *status = json_string_value(json_object_get(res, "status"));
  if (status == NULL || strcmp(status, "active") != 0) {
    return "Consent.status must be active: a create is a grant";
  }
  if (!ref_names(json_object_get(res, "patient"), &arg(g, "patient")->id)) {
    return "Consent.patient is not the transaction's patient";
  }
  if (json_array_size(actors) != 1 ||
      !ref_names(json_object_get(json_array_get(actors, 0), "reference"), &arg(g, "grantee")->id)) {
    return "Consent.provision.actor must be one reference: the transaction's grantee";
  }
  if (end == NULL || fhir_parse_instant(&end_ms, end) != OK ||
      end_ms != arg(g, "expires_ms")->u64) {
    return "Consent.provision.period.end is not the transaction's expiry";
  }
  if (!purpose_agrees(prov, g)) {
    return "Consent.provision.purpose does not name the transaction's purpose";
  }
  if (!scope_agrees(res, prov, g)) {
    return "Consent.category / provision.data do not match the transaction's category or record";
  }
  return NULL;
}

/* The extension's transaction bytes into buf. */
static int signed_tx(struct api_ctx *c, const json_t *res, uint8_t *buf, size_t cap, size_t *len) {
  json_t *exts = json_object_get(res, "extension");
  for (size_t i = 0; i < json_array_size(exts); i++) {
    json_t *x = json_array_get(exts, i);
    const char *url = json_string_value(json_object_get(x, "url"));
    if (url == NULL || strcmp(url, FHIR_EXT_SIGNED_TX) != 0) {
      continue;
    }
    const char *b64 = json_string_value(json_object_get(x, "valueBase64Binary"));
    int rc = b64 == NULL ? ERR_BAD_REQUEST : fhir_base64_decode(buf, cap, len, b64);
    if (rc == ERR_BAD_REQUEST) {
      c->message = "the signed-transaction extension's valueBase64Binary is not base64";
    }
    return rc;
  }
  c->message = "a Consent create carries the patient's signed consent.grant transaction in the "
               "extension " FHIR_EXT_SIGNED_TX;
  return ERR_BAD_REQUEST;
}

static int grant_decode(struct api_ctx *c, struct bytes raw, struct grant *g) {
  struct tx tx;
  int rc = codec_tx_decode(&tx, raw.ptr, raw.len);
  if (rc != OK) {
    return rc;
  }
  const struct ctr_method *m = ctr_method_find(tx.contract, tx.method);
  if (m == NULL || strcmp(m->contract, "consent") != 0 || strcmp(m->method, "grant") != 0) {
    c->message = "the transaction is not a consent.grant";
    return ERR_BAD_REQUEST;
  }
  g->schema = m->args;
  return codec_record_decode(g->schema, g->v, tx.args.ptr, tx.args.len) == OK ? OK : ERR_BAD_ARGS;
}

/* ---- create: submit, wait, answer ---------------------------------------------------------- */

/* Waits for the block; OK when the grant committed with OK. Otherwise the
 * error, with the transaction's hash and fate in c->json (the
 * OperationOutcome names them). */
static int submit_wait(struct api_ctx *c, struct bytes raw, struct hash32 *h) {
  int rc = node_tx_submit(c->node, raw.ptr, raw.len, h);
  if (rc != OK) {
    return rc;
  }
  struct node_tx_status st = {0};
  rc = node_tx_wait(c->node, h, CONSENT_WAIT_MS, &st);
  const char *status = "dropped";
  if (rc == OK && st.state == NODE_TX_COMMITTED) {
    if (st.loc.code == OK) {
      return OK;
    }
    status = "committed";
    rc = st.loc.code;
  } else if (rc == ERR_TIMEOUT || rc == ERR_UNAVAILABLE || st.state == NODE_TX_PENDING) {
    status = "pending";
    rc = rc == OK ? ERR_TIMEOUT : rc;
  } else if (rc == OK) {
    rc = ERR_NOT_FOUND;
  }
  c->json = json_pack("{s:o, s:s}", "hash", api_json_hex(h->b, 32), "status", status);
  if (c->json != NULL && st.state == NODE_TX_COMMITTED) {
    (void)json_object_set_new(c->json, "height", api_json_u64(st.loc.height));
  }
  return rc;
}

/* The created consent, read back from the committed state. */
static int created(struct fhir_ctx *f, const struct hash32 *id, json_t **out) {
  int rc = api_view_open(f->c, &f->view);
  if (rc != OK) {
    return rc;
  }
  f->st = node_view_state(f->view);
  struct bytes val = {NULL, 0};
  struct fhir_ent e;
  rc = ctr_get(f->st, CTR_CONSENT, id, &val);
  rc = rc == ERR_NOT_FOUND ? ERR_INTERNAL : rc; /* it committed with OK */
  if (rc == OK) {
    rc = fhir_ent_decode(&e, CTR_CONSENT, val);
  }
  if (rc == OK) {
    rc = consent_render(f, &e, out);
  }
  node_view_end(f->view);
  f->view = NULL;
  f->st = NULL;
  return rc;
}

static int consent_create(struct fhir_ctx *f, json_t *res, json_t **out, struct hash32 *id) {
  struct api_ctx *c = f->c;
  uint8_t buf[LIM_TX_BYTES_MAX];
  size_t len = 0;
  int rc = signed_tx(c, res, buf, sizeof(buf), &len);
  struct grant g;
  struct bytes raw = {buf, len};
  if (rc == OK) {
    rc = grant_decode(c, raw, &g);
  }
  if (rc != OK) {
    return rc;
  }
  c->message = disagreement(res, &g);
  if (c->message != NULL) {
    return ERR_BAD_REQUEST;
  }
  if (c->node == NULL) {
    return ERR_UNAVAILABLE;
  }
  struct hash32 h;
  rc = submit_wait(c, raw, &h);
  if (rc != OK) {
    return rc;
  }
  ctr_consent_id(id, &h);
  return created(f, id, out);
}

/* ---- the type ------------------------------------------------------------------------------ */

static const struct fhir_source consent_source = {CTR_CONSENT, false, NULL, consent_render, NULL};

static const struct fhir_param consent_params[] = {
    {"patient", "reference", CTR_BY_PATIENT,
     "the patient's consents (signer: the patient, a "
     "guardian or an auditor)"},
    {"actor", "reference", CTR_BY_GRANTEE,
     "consents granted to an identity or organization (signer: it, an admin of it, an auditor)"},
    {"data", "reference", CTR_BY_RECORD,
     "consents scoped to one record (signer: who may read the record)"},
};

const struct fhir_type fhir_consent = {
    .name = "Consent",
    .doc =
        "Grants of access to a category of records or one record, for a purpose, until an expiry. "
        "Create = the patient's signed consent.grant transaction in the "
        "extension " FHIR_EXT_SIGNED_TX
        " (valueBase64Binary), which must agree with the resource. Signed requests for reads.",
    .source = &consent_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .create = consent_create,
    .params = consent_params,
    .nparams = ARRAY_LEN(consent_params),
};
