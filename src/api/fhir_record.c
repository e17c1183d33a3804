/*
 * fhir_record — DocumentReference and Provenance from the records
 * contract's anchors. Both have the record's id as their id.
 *
 * DocumentReference is every record's metadata: status current, type =
 * the record's FHIR resource type, category, subject, date (the anchoring
 * block's time), author, custodian (the author's organization), the
 * record's id and ciphertext hash as identifiers, and one attachment:
 * application/octet-stream (what the node stores is ciphertext, sealed to
 * its readers), url /v1/records/{id}/content, size. An erased record is a
 * tombstone, not a document: its read answers 410 RECORD_ERASED
 * (OperationOutcome "deleted", FHIR's answer for a deleted resource) and
 * searches leave it out.
 *
 * Create stores the DocumentReference as sent (attachment data included)
 * as a record, encrypted off chain and anchored (fhir_record_create), and
 * answers with the metadata above.
 *
 * Provenance is the anchoring: target the record (DocumentReference/{id},
 * and {FHIR type}/{id}), recorded = the anchoring block's time, agent =
 * the author on behalf of its organization, activity CREATE, and the
 * anchoring transaction (hash, height, and its Ed25519 signature by the
 * author as Provenance.signature). It stays readable after an erasure:
 * the anchoring happened, and the chain keeps it.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/* ---- DocumentReference ------------------------------------------------------------------- */

static json_t *identifiers_json(const struct fhir_ent *e) {
  return json_pack("[{s:s, s:s, s:o}, {s:s, s:o}]", "use", "official", "system", FHIR_SID_RECORD,
                   "value", api_json_hex(fhir_ent_id(e, "id")->b, 32), "system",
                   FHIR_SID_CONTENT_HASH, "value",
                   api_json_hex(fhir_ent_id(e, "content_hash")->b, 32));
}

static json_t *content_json(const struct fhir_ent *e) {
  char hex[65];
  char url[96];
  base_hash_hex(hex, fhir_ent_id(e, "id"));
  (void)snprintf(url, sizeof(url), "/v1/records/%s/content", hex);
  uint64_t size = fhir_ent_u64(e, "size");
  json_t *att = json_pack("{s:s, s:s}", "contentType", "application/octet-stream", "url", url);
  /* attachment.size is an unsignedInt; a larger record would not fit. */
  if (att != NULL && size <= INT32_MAX &&
      json_object_set_new(att, "size", json_integer((json_int_t)size)) != 0) {
    json_decref(att);
    att = NULL;
  }
  return json_pack("[{s:o}]", "attachment", att);
}

static int docref_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  if (fhir_ent_bool(e, "erased")) {
    f->c->message = "the record was erased: only its tombstone remains on chain";
    return ERR_RECORD_ERASED;
  }
  char type[72];
  char cat[72];
  fhir_ent_str(e, "fhir_type", type, sizeof(type));
  fhir_ent_str(e, "category", cat, sizeof(cat));
  *out = json_pack("{s:s, s:o, s:o, s:s, s:o, s:[o], s:o, s:o, s:[o], s:o, s:o}", "resourceType",
                   "DocumentReference", "id", api_json_hex(fhir_ent_id(e, "id")->b, 32),
                   "identifier", identifiers_json(e), "status", "current", "type",
                   fhir_concept(FHIR_CS_FHIR_TYPE, type, NULL), "category",
                   fhir_concept(FHIR_CS_CATEGORY, cat, NULL), "subject",
                   fhir_ref("Patient", fhir_ent_id(e, "patient")), "date",
                   fhir_instant_json(fhir_ent_u64(e, "created_ms")), "author",
                   fhir_ref("Practitioner", fhir_ent_id(e, "author")), "custodian",
                   fhir_ref("Organization", fhir_ent_id(e, "org")), "content", content_json(e));
  return *out == NULL ? ERR_NOMEM : OK;
}

/* Create: the DocumentReference as sent is the record (its attachment
 * data and all), stored encrypted and anchored like an Observation; the
 * answer is the metadata the chain now holds. */
static int docref_create(struct fhir_ctx *f, json_t *res, json_t **out, struct hash32 *id) {
  int rc = fhir_record_create(f, res, NULL, id);
  if (rc != OK) {
    return rc;
  }
  rc = api_view_open(f->c, &f->view);
  if (rc != OK) {
    return rc;
  }
  f->st = node_view_state(f->view);
  rc = fhir_entity_read(f, id, out);
  node_view_end(f->view);
  f->view = NULL;
  f->st = NULL;
  return rc;
}

static const struct fhir_source docref_source = {CTR_RECORD, false, NULL, docref_render, NULL};

static const struct fhir_param docref_params[] = {
    {"patient", "reference", CTR_BY_PATIENT,
     "the patient's records (signer: the patient, a guardian or an auditor)"},
    {"subject", "reference", CTR_BY_PATIENT, "the same as patient"},
};

const struct fhir_type fhir_document_reference = {
    .name = "DocumentReference",
    .doc =
        "Every record's metadata; the attachment is the ciphertext at /v1/records/{id}/content "
        "(application/octet-stream). An erased record answers 410. Signed requests only. Create: "
        "a signed request by a practitioner, subject Patient/{id}, category in " FHIR_CS_CATEGORY
        "; the resource as sent is stored encrypted and anchored.",
    .source = &docref_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .create = docref_create,
    .params = docref_params,
    .nparams = ARRAY_LEN(docref_params),
};

/* ---- Provenance -------------------------------------------------------------------------- */

struct anchor {
  struct hash32 tx_hash;
  struct signature sig;
};

/* Whether encoded transaction raw is the records.anchor of record id. */
static bool is_anchor_of(struct bytes raw, const struct hash32 *id, struct anchor *a) {
  struct tx tx;
  if (codec_tx_decode(&tx, raw.ptr, raw.len) != OK) {
    return false;
  }
  const struct ctr_method *m = ctr_method_find(tx.contract, tx.method);
  if (m == NULL || strcmp(m->contract, "records") != 0 || strcmp(m->method, "anchor") != 0) {
    return false;
  }
  struct codec_value v[LIM_FIELDS_MAX];
  int i = codec_schema_find(m->args, "record");
  assert(i >= 0);
  if (codec_record_decode(m->args, v, tx.args.ptr, tx.args.len) != OK ||
      !base_hash_eq(&v[i].id, id)) {
    return false;
  }
  codec_tx_hash(&a->tx_hash, raw.ptr, raw.len);
  a->sig = tx.sig;
  return true;
}

/* The anchoring transaction, from the block at the record's height. */
static int anchor_find(struct fhir_ctx *f, const struct fhir_ent *e, struct anchor *a) {
  struct block *b = NULL;
  uint8_t *raw = NULL;
  int rc = fhir_block_load(f, fhir_ent_u64(e, "created_height"), &b, &raw);
  if (rc != OK) {
    return rc;
  }
  rc = ERR_NOT_FOUND;
  for (uint32_t i = 0; i < b->tx_count && rc != OK; i++) {
    rc = is_anchor_of(b->txs[i], fhir_ent_id(e, "id"), a) ? OK : ERR_NOT_FOUND;
  }
  fhir_block_free(b, raw);
  return rc;
}

static json_t *targets_json(const struct fhir_ent *e) {
  const struct hash32 *id = fhir_ent_id(e, "id");
  json_t *a = json_pack("[o]", fhir_ref("DocumentReference", id));
  char type[72];
  fhir_ent_str(e, "fhir_type", type, sizeof(type));
  if (a != NULL && strcmp(type, "DocumentReference") != 0 &&
      json_array_append_new(a, fhir_ref(type, id)) != 0) {
    json_decref(a);
    a = NULL;
  }
  return a;
}

static json_t *anchor_ext(const struct fhir_ent *e, const struct anchor *a) {
  char height[24];
  (void)snprintf(height, sizeof(height), "%llu",
                 (unsigned long long)fhir_ent_u64(e, "created_height"));
  return json_pack("[{s:s, s:[{s:s, s:o}, {s:s, s:s}]}]", "url", FHIR_EXT_ANCHOR, "extension",
                   "url", "transaction", "valueString", api_json_hex(a->tx_hash.b, 32), "url",
                   "height", "valueString", height);
}

static json_t *signature_json(struct fhir_ctx *f, const struct fhir_ent *e,
                              const struct anchor *a) {
  return json_pack(
      "[{s:[o], s:o, s:o, s:o}]", "type",
      fhir_coding("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.1", "Author's Signature"),
      "when", fhir_instant_json(fhir_ent_u64(e, "created_ms")), "who",
      fhir_ref_party(f->st, fhir_ent_id(e, "author")), "data",
      fhir_base64_json(a->sig.b, sizeof(a->sig.b)));
}

static int provenance_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  json_t *agent =
      json_pack("{s:o, s:o, s:o}", "type",
                fhir_concept("http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                             "author", "Author"),
                "who", fhir_ref_party(f->st, fhir_ent_id(e, "author")), "onBehalfOf",
                fhir_ref("Organization", fhir_ent_id(e, "org")));
  *out = json_pack(
      "{s:s, s:o, s:o, s:o, s:o, s:[o]}", "resourceType", "Provenance", "id",
      api_json_hex(fhir_ent_id(e, "id")->b, 32), "target", targets_json(e), "recorded",
      fhir_instant_json(fhir_ent_u64(e, "created_ms")), "activity",
      fhir_concept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE", "create"),
      "agent", agent);
  if (*out == NULL) {
    return ERR_NOMEM;
  }
  struct anchor a;
  int rc = anchor_find(f, e, &a);
  if (rc == OK && (json_object_set_new(*out, "extension", anchor_ext(e, &a)) != 0 ||
                   json_object_set_new(*out, "signature", signature_json(f, e, &a)) != 0)) {
    rc = ERR_NOMEM;
  }
  if (rc != OK && rc != ERR_NOT_FOUND) {
    json_decref(*out);
    *out = NULL;
    return rc;
  }
  return OK;
}

static const struct fhir_source provenance_source = {CTR_RECORD, false, NULL, provenance_render,
                                                     NULL};

static const struct fhir_param provenance_params[] = {
    {"patient", "reference", CTR_BY_PATIENT,
     "the anchoring of the patient's records (signer: the patient, a guardian or an auditor)"},
    {"target", "reference", CTR_ALL, "the anchoring of one record (DocumentReference/{id})"},
};

const struct fhir_type fhir_provenance = {
    .name = "Provenance",
    .doc =
        "One per record: its anchoring on chain (author, organization, time, the signed anchoring "
        "transaction). Signed requests only.",
    .source = &provenance_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = provenance_params,
    .nparams = ARRAY_LEN(provenance_params),
};
