/*
 * fhir_entity — read and search of the resource types that mirror one
 * contract entity kind, with exactly the /v1 routes' authorization:
 *
 *  - consents, records and audit entries (api_auth_protected kinds) need a
 *    signed request; a read checks the signer against the entity
 *    (api_auth_entity), a search against its filter (api_auth_list), and
 *    an unknown id answers NOT_FOUND to an auditor and UNAUTHORIZED to
 *    anyone else, as /v1 does, so existence is not told;
 *  - a source marked signed_only (Patient) needs a signed request from any
 *    active identity: /v1/identities is public, but the facade serves
 *    nothing about a patient to an anonymous client;
 *  - the rest (Practitioner, Organization) is public, as on /v1.
 *
 * The signature is checked before anything is looked up. A type that is
 * a subset of its kind (Patient and Practitioner among identities) filters
 * each page with keep(): a page may then hold fewer than _count matches
 * and still have a next link.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int fhir_auth(struct fhir_ctx *f) {
  /* Once per request: the signature's nonce goes into the replay cache. */
  if (f->have_reader) {
    return OK;
  }
  int rc = api_auth_reader(f->c, f->st, &f->reader);
  f->have_reader = rc == OK;
  return rc;
}

static bool needs_signature(const struct fhir_source *src) {
  return src->signed_only || api_auth_protected(src->kind);
}

int fhir_entity_read(struct fhir_ctx *f, const struct hash32 *id, json_t **out) {
  const struct fhir_source *src = f->type->source;
  assert(src != NULL && f->st != NULL);
  bool prot = api_auth_protected(src->kind);
  int rc = needs_signature(src) ? fhir_auth(f) : OK;
  struct bytes val = {NULL, 0};
  if (rc == OK) {
    rc = ctr_get(f->st, src->kind, id, &val);
  }
  if (rc == ERR_NOT_FOUND && prot && ctr_read_all(f->st, &f->reader) != OK) {
    rc = ERR_UNAUTHORIZED;
  }
  if (rc == OK && prot) {
    rc = api_auth_entity(f->st, src->kind, val, &f->reader);
  }
  struct fhir_ent e;
  if (rc == OK) {
    rc = fhir_ent_decode(&e, src->kind, val);
  }
  if (rc == OK && src->keep != NULL && !src->keep(&e)) {
    f->c->message = src->not_this_type;
    rc = ERR_NOT_FOUND;
  }
  if (rc != OK) {
    return rc;
  }
  return src->render(f, &e, out);
}

struct visit_ctx {
  struct fhir_ctx *f;
  json_t *items;
};

static int visit(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct visit_ctx *v = ctx;
  const struct fhir_source *src = v->f->type->source;
  assert(kind == src->kind);
  struct fhir_ent e;
  int rc = fhir_ent_decode(&e, kind, val);
  if (rc != OK || (src->keep != NULL && !src->keep(&e))) {
    return rc;
  }
  json_t *r = NULL;
  rc = src->render(v->f, &e, &r);
  if (rc == ERR_RECORD_ERASED) {
    return OK; /* a tombstone is not served as a resource */
  }
  if (rc != OK) {
    return rc;
  }
  return json_array_append_new(v->items, r) == 0 ? OK : ERR_NOMEM;
}

int fhir_entity_search(struct fhir_ctx *f, const struct fhir_search *s, struct fhir_page *page) {
  const struct fhir_source *src = f->type->source;
  assert(src != NULL && f->st != NULL && !s->by_id);
  enum ctr_filter filter = s->param == NULL ? CTR_ALL : s->param->filter;
  int rc = needs_signature(src) ? fhir_auth(f) : OK;
  if (rc == OK && api_auth_protected(src->kind)) {
    rc = api_auth_list(f->st, filter, &s->key, &f->reader);
  }
  if (rc != OK) {
    return rc;
  }
  struct visit_ctx v = {f, page->resources};
  rc = ctr_list(f->st, src->kind, filter, &s->key, &s->cursor, s->count, visit, &v, &page->next);
  return rc == ERR_BAD_ARGS ? ERR_BAD_REQUEST : rc;
}

/* ---- blocks ------------------------------------------------------------------------------ */

int fhir_block_load(struct fhir_ctx *f, uint64_t height, struct block **b, uint8_t **raw) {
  assert(f->view != NULL);
  *raw = NULL;
  *b = malloc(sizeof(**b));
  if (*b == NULL) {
    return ERR_NOMEM;
  }
  size_t raw_len = 0;
  int rc = ledger_block_load(node_view_txn(f->view), height, *b, raw, &raw_len);
  if (rc != OK) {
    fhir_block_free(*b, *raw);
    *b = NULL;
    *raw = NULL;
  }
  return rc;
}

void fhir_block_free(struct block *b, uint8_t *raw) {
  free(b);
  free(raw);
}
