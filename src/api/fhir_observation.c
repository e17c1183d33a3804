/*
 * fhir_observation — Observation, the facade's one resource served with
 * its content: create stores and anchors it, read and search open it.
 *
 * Create (POST /fhir/Observation) is a signed request by a practitioner:
 * the node encrypts the resource as sent (without id and meta, which are
 * the server's) under a fresh key, keeps the ciphertext in its blob store
 * and anchors it through its operator for that practitioner's
 * organization (node_record_create): subject Patient/{id} is the patient,
 * the category is Observation.category's coding in our record-category
 * system, else its observation-category code (vital-signs, procedure,
 * ...). The chain holds only the anchor; the answer is 201 with the
 * record's id as the Observation's.
 *
 * Read (GET /fhir/Observation/{id}) and search (?patient=) are signed
 * too. Every read of content is an access: the node logs it on chain
 * (node_access_log, purpose from ?purpose=, "treatment" by default) and
 * waits for the chain's verdict, then opens the record only when that
 * verdict is "granted" (node_record_open). A refusal is answered with its
 * code (CONSENT_REQUIRED, CONSENT_REVOKED, RECORD_ERASED, ...) and stays
 * in the audit log; in a search, each record the node cannot open is an
 * OperationOutcome entry (search mode "outcome") saying why. Emergency
 * reads, which need a reason, go through the records content route, not
 * here. A search's signer must be allowed to list the patient's records
 * (the patient, a guardian, an auditor), as on /v1/records?patient=.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define OBS_WAIT_MS 10000
#define OBS_CATEGORY_SYSTEM "http://terminology.hl7.org/CodeSystem/observation-category"

/* ---- create ---------------------------------------------------------------------------- */

/* The category label of a resource: our system's code first, else the
 * standard system's (std may be NULL). */
static const char *category_of(const json_t *res, const char *std) {
  const char *fallback = NULL;
  json_t *cats = json_object_get(res, "category");
  for (size_t i = 0; i < json_array_size(cats); i++) {
    json_t *codings = json_object_get(json_array_get(cats, i), "coding");
    for (size_t j = 0; j < json_array_size(codings); j++) {
      const char *sys = json_string_value(json_object_get(json_array_get(codings, j), "system"));
      const char *code = json_string_value(json_object_get(json_array_get(codings, j), "code"));
      if (sys != NULL && code != NULL && strcmp(sys, FHIR_CS_CATEGORY) == 0) {
        return code;
      }
      if (sys != NULL && code != NULL && std != NULL && strcmp(sys, std) == 0 && fallback == NULL) {
        fallback = code;
      }
    }
  }
  return fallback;
}

/* The signer, from a read view opened for the check only. */
static int signer(struct fhir_ctx *f) {
  int rc = api_view_open(f->c, &f->view);
  if (rc != OK) {
    return rc;
  }
  f->st = node_view_state(f->view);
  rc = fhir_auth(f);
  node_view_end(f->view);
  f->view = NULL;
  f->st = NULL;
  return rc;
}

int fhir_record_create(struct fhir_ctx *f, json_t *res, const char *category_system,
                       struct hash32 *record) {
  struct api_ctx *c = f->c;
  const char *subject =
      json_string_value(json_object_get(json_object_get(res, "subject"), "reference"));
  char type[FHIR_TYPE_MAX + 1];
  struct hash32 patient;
  if (subject == NULL || fhir_ref_parse(subject, &patient, type) != OK ||
      (type[0] != '\0' && strcmp(type, "Patient") != 0)) {
    c->message = "subject must reference the patient: Patient/{id}";
    return ERR_BAD_REQUEST;
  }
  const char *category = category_of(res, category_system);
  if (category == NULL) {
    c->message = "category needs a coding in " FHIR_CS_CATEGORY " (or the type's standard "
                 "category system)";
    return ERR_BAD_REQUEST;
  }
  int rc = signer(f);
  if (rc != OK) {
    return rc;
  }
  /* Ids and versions are the server's: what is stored is the content. */
  json_t *content = json_deep_copy(res);
  if (content != NULL) {
    (void)json_object_del(content, "id");
    (void)json_object_del(content, "meta");
  }
  char *plain = content == NULL ? NULL : json_dumps(content, JSON_COMPACT);
  json_decref(content);
  if (plain == NULL) {
    return ERR_NOMEM;
  }
  const char *fhir_type = json_string_value(json_object_get(res, "resourceType"));
  rc = node_record_create(c->node, &f->reader, &patient, category, fhir_type,
                          (const uint8_t *)plain, strlen(plain), OBS_WAIT_MS, record);
  free(plain);
  return rc;
}

static int obs_create(struct fhir_ctx *f, json_t *res, json_t **out, struct hash32 *id) {
  int rc = fhir_record_create(f, res, OBS_CATEGORY_SYSTEM, id);
  if (rc != OK) {
    return rc;
  }
  *out = json_deep_copy(res);
  if (*out != NULL) {
    (void)json_object_del(*out, "meta");
  }
  if (*out == NULL || json_object_set_new(*out, "id", api_json_hex(id->b, 32)) != 0) {
    json_decref(*out);
    *out = NULL;
    return ERR_NOMEM;
  }
  return OK;
}

/* ---- read -------------------------------------------------------------------------------- */

/* ?purpose=, "treatment" by default; emergency reads need a reason and
 * are not served here. */
static int purpose_of(struct api_ctx *c, char out[33]) {
  const char *p = api_query_get(c, "purpose");
  p = p == NULL ? "treatment" : p;
  size_t n = strlen(p);
  if (n == 0 || n > 32 || strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789._-") != n ||
      strcmp(p, "emergency") == 0) {
    c->message = "purpose is a label such as treatment; emergency reads go through "
                 "/v1/records/{id}/content with a reason";
    return ERR_BAD_REQUEST;
  }
  memcpy(out, p, n + 1);
  return OK;
}

/* Logs the access, waits for the chain's verdict, opens the record. */
static int open_record(struct fhir_ctx *f, const struct hash32 *id, json_t **out) {
  struct node_access a;
  memset(&a, 0, sizeof(a));
  a.record = *id;
  a.accessor = f->reader;
  int rc = purpose_of(f->c, a.purpose);
  int outcome = ERR_INTERNAL;
  if (rc == OK) {
    rc = node_access_log(f->c->node, &a, true, OBS_WAIT_MS, &outcome, NULL);
  }
  if (rc == OK && outcome != OK) {
    return outcome; /* refused, and the refusal is on chain */
  }
  uint8_t *plain = NULL;
  size_t len = 0;
  if (rc == OK) {
    rc = node_record_open(f->c->node, id, &plain, &len);
  }
  if (rc != OK) {
    return rc;
  }
  json_error_t e;
  *out = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, &e);
  memset(plain, 0, len);
  free(plain);
  const char *rt = json_string_value(json_object_get(*out, "resourceType"));
  if (rt == NULL || strcmp(rt, "Observation") != 0 ||
      json_object_set_new(*out, "id", api_json_hex(id->b, 32)) != 0) {
    json_decref(*out);
    *out = NULL;
    return ERR_CORRUPT; /* the node stored what it was given: this is not it */
  }
  return OK;
}

/* A record's anchor, read by a signer who may see it: the /v1 rule for
 * an unknown id (NOT_FOUND to an auditor, UNAUTHORIZED to others). */
static int observation_anchor(struct fhir_ctx *f, const struct hash32 *id) {
  int rc = fhir_auth(f);
  struct bytes val = {NULL, 0};
  if (rc == OK) {
    rc = ctr_get(f->st, CTR_RECORD, id, &val);
  }
  if (rc == ERR_NOT_FOUND && ctr_read_all(f->st, &f->reader) != OK) {
    return ERR_UNAUTHORIZED;
  }
  struct fhir_ent e;
  if (rc == OK) {
    rc = fhir_ent_decode(&e, CTR_RECORD, val);
  }
  if (rc == OK && !fhir_ent_str_is(&e, "fhir_type", "Observation")) {
    f->c->message = "this record is not an Observation (its metadata is DocumentReference/{id})";
    rc = ERR_NOT_FOUND;
  }
  return rc;
}

static void view_drop(struct fhir_ctx *f) {
  /* The access waits for a block: no read snapshot is held meanwhile. */
  if (f->view != NULL) {
    node_view_end(f->view);
  }
  f->view = NULL;
  f->st = NULL;
}

static int obs_read(struct fhir_ctx *f, const struct hash32 *id, json_t **out) {
  int rc = observation_anchor(f, id);
  view_drop(f);
  return rc == OK ? open_record(f, id, out) : rc;
}

/* ---- search ------------------------------------------------------------------------------- */

struct ids_ctx {
  struct hash32 ids[LIM_PAGE_MAX];
  size_t n;
};

static int collect(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct ids_ctx *ic = ctx;
  struct fhir_ent e;
  int rc = fhir_ent_decode(&e, kind, val);
  if (rc != OK || !fhir_ent_str_is(&e, "fhir_type", "Observation") || fhir_ent_bool(&e, "erased")) {
    return rc;
  }
  assert(ic->n < ARRAY_LEN(ic->ids));
  ic->ids[ic->n++] = *fhir_ent_id(&e, "id");
  return OK;
}

static int obs_search(struct fhir_ctx *f, const struct fhir_search *s, struct fhir_page *page) {
  enum ctr_filter filter = s->param == NULL ? CTR_ALL : s->param->filter;
  int rc = fhir_auth(f);
  if (rc == OK) {
    rc = api_auth_list(f->st, filter, &s->key, &f->reader);
  }
  struct ids_ctx *ic = calloc(1, sizeof(*ic));
  if (rc == OK && ic == NULL) {
    rc = ERR_NOMEM;
  }
  if (rc == OK) {
    rc = ctr_list(f->st, CTR_RECORD, filter, &s->key, &s->cursor, s->count, collect, ic,
                  &page->next);
  }
  view_drop(f);
  for (size_t i = 0; rc == OK && i < ic->n; i++) {
    json_t *r = NULL;
    int one = open_record(f, &ic->ids[i], &r);
    if (one == ERR_NOMEM) {
      rc = one;
    } else if (one != OK) {
      r = fhir_outcome(one, f->c->message, NULL);
      f->c->message = NULL;
    }
    if (rc == OK && (r == NULL || json_array_append_new(page->resources, r) != 0)) {
      rc = ERR_NOMEM;
    }
  }
  free(ic);
  return rc == ERR_BAD_ARGS ? ERR_BAD_REQUEST : rc;
}

static const struct fhir_param obs_params[] = {
    {"patient", "reference", CTR_BY_PATIENT,
     "the patient's Observations, each opened and audited (signer: the patient, a guardian or "
     "an auditor)"},
    {"subject", "reference", CTR_BY_PATIENT, "the same as patient"},
};

const struct fhir_type fhir_observation = {
    .name = "Observation",
    .doc = "Stored encrypted off chain and anchored on chain. Create: a signed request by a "
           "practitioner, subject Patient/{id}. Read and search: each opening is logged on chain "
           "first and served only when the chain grants it (?purpose=, default treatment).",
    .read = obs_read,
    .search = obs_search,
    .create = obs_create,
    .params = obs_params,
    .nparams = ARRAY_LEN(obs_params),
    .opens_content = true,
};
