/*
 * appt_read — searches of slots and appointments by start time, for the
 * API, the FHIR views and the portal.
 *
 * Both walk a time index whose keys are tag | sub | owner | u64 start |
 * id (appt.c writes them): slots of one practitioner ('t' 'p'), slots of
 * everyone under the zero owner ('t' 'a'), appointments of one
 * practitioner ('b' 'p'). Big-endian starts sort by time, so a range is
 * one ordered scan from prefix | from to the first start at or past `to`.
 *
 * The cursor is the suffix (start | id) of the last index entry examined,
 * whether it matched or not, so a page that stops at its limit or at
 * LIM_APPT_SCAN_MAX resumes exactly after it. Only committed state is seen.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

struct search {
  struct state *st;
  enum ctr_kind kind;
  struct bytes status;
  uint64_t to_ms;
  uint32_t limit;
  ctr_visit_fn fn;
  void *ctx;
};

static int search_begin(struct state *st, enum ctr_kind kind, const struct hash32 *practitioner,
                        uint64_t from_ms, const struct ctr_cursor *after, struct ctr_skey *prefix,
                        struct state_iter **it) {
  static const struct hash32 everyone = {{0}};
  uint8_t sub = practitioner != NULL ? CTR_SUB_PRACTITIONER : CTR_SUB_ALL;
  ctr_skey_init(prefix, kind == CTR_SLOT ? CTR_TAG_SLOT_IDX : CTR_TAG_APPT_IDX);
  ctr_skey_add(prefix, &sub, 1);
  ctr_skey_add_id(prefix, practitioner != NULL ? practitioner : &everyone);
  struct ctr_skey start = *prefix;
  if (after != NULL && after->len > 0) {
    static const uint8_t zero = 0;
    if (after->len != 8 + 32) {
      return ERR_BAD_ARGS;
    }
    ctr_skey_add(&start, after->b, after->len);
    ctr_skey_add(&start, &zero, 1);
  } else {
    ctr_skey_add_u64(&start, from_ms);
  }
  return state_iter_begin(st, ctr_skey_bytes(prefix), ctr_skey_bytes(&start), it);
}

/* The entity an index entry names, if its status matches: *hit says. */
static int search_visit(const struct search *s, const struct hash32 *id, bool *hit) {
  struct bytes val;
  int rc = ctr_get(s->st, s->kind, id, &val);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  *hit = true;
  if (s->status.len > 0) {
    /* Both kinds keep a "status" string; decode just to read it. */
    union {
      struct ctr_slot slot;
      struct ctr_appt appt;
    } e;
    rc = ctr_entity_decode(s->kind, &e, val);
    if (rc != OK) {
      return rc;
    }
    const struct ctr_str *st = s->kind == CTR_SLOT ? &e.slot.status : &e.appt.status;
    *hit = ctr_str_eq_bytes(st, s->status);
  }
  return *hit ? s->fn(s->ctx, s->kind, val) : OK;
}

static int search_run(const struct search *s, struct state_iter *it, size_t prefix_len,
                      struct ctr_cursor *next) {
  uint32_t count = 0;
  uint32_t examined = 0;
  struct ctr_cursor last = {.len = 0};
  for (;;) {
    struct bytes k;
    struct bytes v;
    int rc = state_iter_next(it, &k, &v);
    if (rc == ERR_NOT_FOUND) {
      return OK;
    }
    if (rc != OK) {
      return rc;
    }
    if (k.len != prefix_len + 8 + 32) {
      return ERR_CORRUPT;
    }
    if (base_get_u64be(k.ptr + prefix_len) >= s->to_ms) {
      return OK;
    }
    if (count == s->limit || examined == LIM_APPT_SCAN_MAX) {
      *next = last; /* more may follow: resume after the last examined */
      return OK;
    }
    examined++;
    memcpy(last.b, k.ptr + prefix_len, 8 + 32);
    last.len = 8 + 32;
    struct hash32 id;
    memcpy(id.b, k.ptr + prefix_len + 8, sizeof(id.b));
    bool hit = false;
    rc = search_visit(s, &id, &hit);
    if (rc != OK) {
      return rc;
    }
    count += hit ? 1 : 0;
  }
}

int ctr_appt_search(struct state *st, enum ctr_kind kind, const struct hash32 *practitioner,
                    uint64_t from_ms, uint64_t to_ms, struct bytes status,
                    const struct ctr_cursor *after, uint32_t limit, ctr_visit_fn fn, void *ctx,
                    struct ctr_cursor *next) {
  assert(st != NULL && fn != NULL && next != NULL);
  next->len = 0;
  if ((kind != CTR_SLOT && kind != CTR_APPT) || (kind == CTR_APPT && practitioner == NULL)) {
    return ERR_BAD_ARGS;
  }
  if (limit == 0 || limit > LIM_PAGE_MAX || from_ms >= to_ms ||
      to_ms - from_ms > LIM_APPT_RANGE_MS_MAX || status.len > LIM_STR_MAX) {
    return ERR_BAD_ARGS;
  }
  struct ctr_skey prefix;
  struct state_iter *it = NULL;
  int rc = search_begin(st, kind, practitioner, from_ms, after, &prefix, &it);
  if (rc != OK) {
    return rc;
  }
  struct search s = {st, kind, status, to_ms, limit, fn, ctx};
  rc = search_run(&s, it, prefix.len, next);
  state_iter_end(it);
  if (rc != OK) {
    next->len = 0;
  }
  return rc;
}

int ctr_read_practitioner(struct state *st, const struct hash32 *reader,
                          const struct hash32 *practitioner) {
  assert(st != NULL && reader != NULL && practitioner != NULL);
  if (base_hash_eq(reader, practitioner)) {
    return OK;
  }
  struct ctr_identity doc;
  struct ctr_identity who;
  int rc = ctr_load(st, practitioner, &doc);
  if (rc == OK) {
    rc = ctr_load(st, reader, &who);
  }
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNAUTHORIZED;
  }
  if (rc != OK) {
    return rc;
  }
  if (ctr_str_is(&who.kind, CTR_ROLE_ADMIN) && base_hash_eq(&who.org, &doc.org)) {
    return OK;
  }
  return ctr_read_all(st, reader);
}
