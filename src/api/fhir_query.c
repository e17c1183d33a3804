/*
 * fhir_query — search parameters that combine, for the types that take
 * more than one filter at a time (Slot, Appointment): one reference, one
 * token and a date given as a lower and an upper bound, e.g.
 *
 *   Slot?practitioner=ID&status=free&start=ge2026-11-23&start=lt2026-11-30
 *
 * A date value is a FHIR prefix (eq when absent; ge, gt, le, lt; the
 * others are 400) and either a day "YYYY-MM-DD" (UTC: the chain's times
 * are UTC instants) or an instant with seconds and a zone. Its precision
 * makes it a range [lo, hi): a day is 24 hours, an instant one
 * millisecond; ge takes lo as the lower bound, gt hi, le hi as the upper
 * bound, lt lo, eq both. Each bound is given once. As everywhere on the
 * facade, a value we do not understand is 400, never ignored.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <string.h>

#define DAY_MS (24ull * 3600u * 1000u)

enum prefix { P_EQ, P_GE, P_GT, P_LE, P_LT };

/* The value's prefix, and *v moved past it; false for one we do not take. */
static bool prefix_parse(const char **v, enum prefix *p) {
  static const struct {
    const char *text;
    enum prefix p;
  } prefixes[] = {{"eq", P_EQ}, {"ge", P_GE}, {"gt", P_GT}, {"le", P_LE}, {"lt", P_LT}};
  if (**v >= '0' && **v <= '9') {
    *p = P_EQ;
    return true;
  }
  for (size_t i = 0; i < ARRAY_LEN(prefixes); i++) {
    if (strncmp(*v, prefixes[i].text, 2) == 0) {
      *p = prefixes[i].p;
      *v += 2;
      return true;
    }
  }
  return false; /* ne, sa, eb, ap or no prefix at all */
}

static bool bound_set(bool *has, uint64_t *bound, uint64_t ms) {
  if (*has) {
    return false;
  }
  *has = true;
  *bound = ms;
  return true;
}

int fhir_date_term(struct fhir_dates *d, const char *v) {
  enum prefix p = P_EQ;
  if (!prefix_parse(&v, &p)) {
    return ERR_BAD_REQUEST;
  }
  uint64_t lo = 0;
  uint64_t span = 1;
  if (strlen(v) == 10) {
    span = DAY_MS;
    if (fhir_parse_date(&lo, v) != OK) {
      return ERR_BAD_REQUEST;
    }
  } else if (fhir_parse_instant(&lo, v) != OK) {
    return ERR_BAD_REQUEST;
  }
  uint64_t hi = lo + span;
  bool ok = true;
  switch (p) {
  case P_EQ:
    ok = !d->has_from && !d->has_to;
    ok = ok && bound_set(&d->has_from, &d->from_ms, lo) && bound_set(&d->has_to, &d->to_ms, hi);
    break;
  case P_GE:
    ok = bound_set(&d->has_from, &d->from_ms, lo);
    break;
  case P_GT:
    ok = bound_set(&d->has_from, &d->from_ms, hi);
    break;
  case P_LE:
    ok = bound_set(&d->has_to, &d->to_ms, hi);
    break;
  case P_LT:
    ok = bound_set(&d->has_to, &d->to_ms, lo);
    break;
  }
  return ok ? OK : ERR_BAD_REQUEST;
}

/* "code", "|code" or "system|code" (the type's system) → the code. */
static const char *token_code(const struct fhir_combined *k, const char *v) {
  const char *bar = strchr(v, '|');
  if (bar == NULL) {
    return v;
  }
  size_t n = (size_t)(bar - v);
  bool system_ok =
      n == 0 || (k->system != NULL && strlen(k->system) == n && strncmp(v, k->system, n) == 0);
  return system_ok ? bar + 1 : NULL;
}

static int token_term(struct api_ctx *c, const struct fhir_combined *k, const char *v,
                      struct fhir_search *s) {
  assert(k->codes != NULL);
  if (s->code != NULL) {
    c->message = "a token parameter is given once, with one code";
    return ERR_BAD_REQUEST;
  }
  const char *code = token_code(k, v);
  for (size_t i = 0; code != NULL && k->codes[i] != NULL; i++) {
    if (strcmp(code, k->codes[i]) == 0) {
      s->code = k->codes[i];
      return OK;
    }
  }
  c->message = "not a code this parameter takes (GET /fhir/metadata lists them)";
  return ERR_BAD_REQUEST;
}

/* A reference: hex, Type/hex or [base]/Type/hex (the type is not
 * checked, as for the other types' parameters). */
static int reference_term(struct api_ctx *c, const struct fhir_param *p, const char *v,
                          struct fhir_search *s) {
  if (s->param != NULL) {
    c->message = "at most one reference parameter in a search";
    return ERR_BAD_REQUEST;
  }
  if (fhir_ref_parse(v, &s->key, NULL) != OK) {
    c->message = "a search parameter's value is not a 64-hex-digit id or a reference to one";
    return ERR_BAD_REQUEST;
  }
  s->param = p;
  return OK;
}

int fhir_query_term(struct api_ctx *c, const struct fhir_type *t, const struct fhir_param *p,
                    const char *v, struct fhir_search *s) {
  assert(t->combined != NULL);
  if (strcmp(p->type, "reference") == 0) {
    return reference_term(c, p, v, s);
  }
  if (strcmp(p->type, "token") == 0) {
    return token_term(c, t->combined, v, s);
  }
  assert(strcmp(p->type, "date") == 0);
  if (fhir_date_term(&s->dates, v) != OK) {
    c->message = "a date parameter is [eq|ge|gt|le|lt]YYYY-MM-DD or an instant with seconds and a "
                 "zone, each bound given once";
    return ERR_BAD_REQUEST;
  }
  return OK;
}
