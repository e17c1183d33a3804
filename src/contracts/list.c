/*
 * list — paged listings for the API and the portal. Each supported
 * (kind, filter) pair is one key prefix: the entity table itself for
 * CTR_ALL, or an index table whose keys end with the entity's 32-byte id,
 * which is then fetched from the entity table.
 *
 * A cursor is the suffix after the prefix of the last key returned; the
 * next page starts at prefix || cursor || 0x00, the smallest key strictly
 * after it, so pages neither repeat nor skip entries even when entries are
 * added in between. One entry past the page is peeked so the last page
 * says it is the last (cursor length 0).
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

struct list_route {
  enum ctr_kind kind;
  enum ctr_filter filter;
  uint8_t tag;
  uint8_t sub; /* 0: the entity table itself */
};

static const struct list_route routes[] = {
    {CTR_ORG, CTR_ALL, CTR_TAG_ORG, 0},
    {CTR_IDENTITY, CTR_ALL, CTR_TAG_IDENTITY, 0},
    {CTR_IDENTITY, CTR_BY_ORG, CTR_TAG_IDENTITY_IDX, CTR_SUB_ORG},
    {CTR_PROPOSAL, CTR_ALL, CTR_TAG_PROPOSAL, 0},
    {CTR_CONSENT, CTR_ALL, CTR_TAG_CONSENT, 0},
    {CTR_CONSENT, CTR_BY_PATIENT, CTR_TAG_CONSENT_IDX, CTR_SUB_PATIENT},
    {CTR_CONSENT, CTR_BY_GRANTEE, CTR_TAG_CONSENT_IDX, CTR_SUB_GRANTEE},
    {CTR_CONSENT, CTR_BY_RECORD, CTR_TAG_CONSENT_IDX, CTR_SUB_RECORD},
    {CTR_RECORD, CTR_ALL, CTR_TAG_RECORD, 0},
    {CTR_RECORD, CTR_BY_PATIENT, CTR_TAG_RECORD_IDX, CTR_SUB_PATIENT},
    {CTR_RECORD, CTR_BY_CONTENT, CTR_TAG_RECORD_IDX, CTR_SUB_CONTENT},
    {CTR_AUDIT, CTR_ALL, CTR_TAG_AUDIT, 0},
    {CTR_AUDIT, CTR_BY_PATIENT, CTR_TAG_AUDIT_IDX, CTR_SUB_PATIENT},
    {CTR_AUDIT, CTR_BY_RECORD, CTR_TAG_AUDIT_IDX, CTR_SUB_RECORD},
    {CTR_VALIDATOR, CTR_ALL, CTR_TAG_VALIDATOR, 0},
    {CTR_SCHEDULE, CTR_ALL, CTR_TAG_SCHEDULE, 0},
    {CTR_SCHEDULE, CTR_BY_PRACTITIONER, CTR_TAG_SCHEDULE_IDX, CTR_SUB_PRACTITIONER},
    {CTR_SLOT, CTR_ALL, CTR_TAG_SLOT, 0},
    {CTR_APPT, CTR_ALL, CTR_TAG_APPT, 0},
    {CTR_APPT, CTR_BY_PRACTITIONER, CTR_TAG_APPT_IDX, CTR_SUB_PRACTITIONER},
    {CTR_APPT_POLICY, CTR_ALL, CTR_TAG_APPT_POLICY, 0},
    {CTR_RX, CTR_ALL, CTR_TAG_RX, 0},
    {CTR_RX, CTR_BY_PATIENT, CTR_TAG_RX_IDX, CTR_SUB_PATIENT},
    {CTR_EVENT, CTR_ALL, CTR_TAG_EVENT, 0},
    {CTR_EVENT, CTR_BY_PRESCRIPTION, CTR_TAG_RX_IDX, 'd'},
};

static const struct list_route *route_find(enum ctr_kind kind, enum ctr_filter filter) {
  for (size_t i = 0; i < ARRAY_LEN(routes); i++) {
    if (routes[i].kind == kind && routes[i].filter == filter) {
      return &routes[i];
    }
  }
  return NULL;
}

/* Visits the entity named by one listed key. */
static int list_visit(struct state *st, const struct list_route *r, size_t prefix_len,
                      struct bytes key, struct bytes val, ctr_visit_fn fn, void *ctx) {
  if (r->sub == 0) {
    if (key.len != prefix_len + 32) {
      return ERR_CORRUPT;
    }
    return fn(ctx, r->kind, val);
  }
  if (key.len < prefix_len + 32) {
    return ERR_CORRUPT;
  }
  struct hash32 id;
  memcpy(id.b, key.ptr + key.len - 32, sizeof(id.b));
  struct bytes ent;
  int rc = ctr_get(st, r->kind, &id, &ent);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  return fn(ctx, r->kind, ent);
}

static int list_begin(struct state *st, const struct list_route *r, const struct hash32 *key,
                      const struct ctr_cursor *after, struct ctr_skey *prefix,
                      struct state_iter **it) {
  ctr_skey_init(prefix, r->tag);
  if (r->sub != 0) {
    if (key == NULL) {
      return ERR_BAD_ARGS;
    }
    ctr_skey_add(prefix, &r->sub, 1);
    ctr_skey_add_id(prefix, key);
  }
  struct ctr_skey start = *prefix;
  if (after != NULL && after->len > 0) {
    if (after->len > CTR_CURSOR_MAX) {
      return ERR_BAD_ARGS;
    }
    static const uint8_t zero = 0;
    ctr_skey_add(&start, after->b, after->len);
    ctr_skey_add(&start, &zero, 1);
  }
  return state_iter_begin(st, ctr_skey_bytes(prefix), ctr_skey_bytes(&start), it);
}

int ctr_list(struct state *st, enum ctr_kind kind, enum ctr_filter filter, const struct hash32 *key,
             const struct ctr_cursor *after, uint32_t limit, ctr_visit_fn fn, void *ctx,
             struct ctr_cursor *next) {
  assert(st != NULL && fn != NULL && next != NULL);
  _Static_assert(1 + 1 + 32 + CTR_CURSOR_MAX + 1 <= LIM_STATE_KEY_MAX, "cursor keys fit");
  next->len = 0;
  const struct list_route *r = route_find(kind, filter);
  if (r == NULL || limit == 0 || limit > LIM_PAGE_MAX) {
    return ERR_BAD_ARGS;
  }
  struct ctr_skey prefix;
  struct state_iter *it = NULL;
  int rc = list_begin(st, r, key, after, &prefix, &it);
  if (rc != OK) {
    return rc;
  }
  struct ctr_cursor last = {.len = 0};
  uint32_t count = 0;
  for (;;) {
    struct bytes k;
    struct bytes v;
    rc = state_iter_next(it, &k, &v);
    if (rc == ERR_NOT_FOUND) {
      rc = OK; /* the end: next stays empty */
      break;
    }
    if (rc != OK) {
      break;
    }
    if (count == limit) {
      *next = last; /* there is more after this page */
      break;
    }
    if (k.len < prefix.len || k.len - prefix.len > CTR_CURSOR_MAX) {
      rc = ERR_CORRUPT;
      break;
    }
    size_t suffix = k.len - prefix.len;
    memcpy(last.b, k.ptr + prefix.len, suffix);
    last.len = (uint8_t)suffix;
    rc = list_visit(st, r, prefix.len, k, v, fn, ctx);
    if (rc != OK) {
      break;
    }
    count++;
  }
  state_iter_end(it);
  if (rc != OK) {
    next->len = 0;
  }
  return rc;
}
