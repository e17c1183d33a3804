/*
 * fhir_appt — Schedule, Slot and Appointment from the appointment
 * contract's state, public as /v1/schedules, /v1/slots and
 * /v1/appointments are.
 *
 * Schedule is an ordinary entity-backed type (search by actor: the
 * practitioner's schedules). Slot and Appointment are read as entities but
 * searched through the contract's time index (ctr_appt_search, the walk
 * GET /v1/slots and GET /v1/appointments make), with the same bounds: a
 * start range [from, to) of at most LIM_APPT_RANGE_MS_MAX, from = the
 * node's clock and to = seven days later by default, at most
 * LIM_APPT_SCAN_MAX index entries examined a page; the index's cursor
 * becomes the Bundle's next link. A filter the index does not serve (a
 * schedule among its practitioner's, FHIR's cancelled, which is both our
 * cancelled and rescheduled) is applied to each page, so a page may hold
 * fewer than _count entries and still go on.
 *
 * An Appointment names its practitioner and slot, never the patient: the
 * chain holds only a commitment to them, and the patient's own listing
 * (GET /v1/patients/{id}/appointments, with the view key) is not served
 * here. So nothing on these routes is more revealing than /v1.
 */
#include "api/fhir_internal.h"

#include <assert.h>
#include <string.h>

#define WEEK_MS (7ull * 24u * 3600u * 1000u)

static json_t *id_json(const struct fhir_ent *e) {
  return api_json_hex(fhir_ent_id(e, "id")->b, 32);
}

static json_t *service_type(const struct fhir_ent *e) {
  json_t *text = fhir_ent_str_json(e, "service_type");
  return text == NULL ? NULL : json_pack("[{s:o}]", "text", text);
}

/* ---- Schedule ------------------------------------------------------------------------ */

static int schedule_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  (void)f;
  *out = json_pack("{s:s, s:o, s:b, s:[o, o], s:o}", "resourceType", "Schedule", "id", id_json(e),
                   "active", 1, "actor", fhir_ref("Practitioner", fhir_ent_id(e, "practitioner")),
                   fhir_ref("Organization", fhir_ent_id(e, "org")), "serviceType", service_type(e));
  return *out == NULL ? ERR_NOMEM : OK;
}

static const struct fhir_source schedule_source = {
    CTR_SCHEDULE, false, NULL, schedule_render, NULL,
};

static const struct fhir_param schedule_params[] = {
    {"actor", "reference", CTR_BY_PRACTITIONER,
     "the practitioner (Practitioner/ID) whose schedules"},
};

const struct fhir_type fhir_schedule = {
    .name = "Schedule",
    .doc = "A practitioner's schedule at an organization: actor = the Practitioner and the "
           "Organization, serviceType. Public.",
    .source = &schedule_source,
    .read = fhir_entity_read,
    .search = fhir_entity_search,
    .params = schedule_params,
    .nparams = ARRAY_LEN(schedule_params),
};

/* ---- Slot and Appointment: rendering -------------------------------------------------------- */

static int slot_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  (void)f;
  /* The contract's free and busy are R4's SlotStatus codes as they are. */
  assert(fhir_ent_str_is(e, "status", CTR_SLOT_FREE) ||
         fhir_ent_str_is(e, "status", CTR_SLOT_BUSY));
  *out = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "resourceType", "Slot", "id", id_json(e),
                   "schedule", fhir_ref("Schedule", fhir_ent_id(e, "schedule")), "status",
                   fhir_ent_str_json(e, "status"), "start",
                   fhir_instant_json(fhir_ent_u64(e, "start_ms")), "end",
                   fhir_instant_json(fhir_ent_u64(e, "end_ms")), "serviceType", service_type(e));
  return *out == NULL ? ERR_NOMEM : OK;
}

/* Our appointment statuses and R4's AppointmentStatus: rescheduled is a
 * cancellation (the new appointment names the old as its previous). */
static const char *const appt_status_map[][2] = {
    {CTR_APPT_BOOKED, "booked"},       {CTR_APPT_CHECKED_IN, "checked-in"},
    {CTR_APPT_FULFILLED, "fulfilled"}, {CTR_APPT_NOSHOW, "noshow"},
    {CTR_APPT_CANCELLED, "cancelled"}, {CTR_APPT_RESCHEDULED, "cancelled"},
};

static const char *appt_status_fhir(const struct fhir_ent *e) {
  for (size_t i = 0; i < ARRAY_LEN(appt_status_map); i++) {
    if (fhir_ent_str_is(e, "status", appt_status_map[i][0])) {
      return appt_status_map[i][1];
    }
  }
  assert(false && "a status the contract never writes");
  return "entered-in-error";
}

static int appt_render(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out) {
  (void)f;
  json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:[o], s:[{s:o, s:s, s:s}]}", "resourceType",
                        "Appointment", "id", id_json(e), "status", appt_status_fhir(e), "start",
                        fhir_instant_json(fhir_ent_u64(e, "start_ms")), "end",
                        fhir_instant_json(fhir_ent_u64(e, "end_ms")), "slot",
                        fhir_ref("Slot", fhir_ent_id(e, "slot")), "participant", "actor",
                        fhir_ref("Practitioner", fhir_ent_id(e, "practitioner")), "required",
                        "required", "status", "accepted");
  if (o != NULL && fhir_ent_str_is(e, "status", CTR_APPT_RESCHEDULED) &&
      json_object_set_new(o, "cancelationReason", json_pack("{s:s}", "text", "rescheduled")) != 0) {
    json_decref(o);
    o = NULL;
  }
  *out = o;
  return o == NULL ? ERR_NOMEM : OK;
}

/* ---- Slot and Appointment: search --------------------------------------------------------- */

/* What the date parameter leaves open, as /v1 fills it in, and its width. */
static int range_check(struct api_ctx *c, struct fhir_search *s) {
  struct fhir_dates *d = &s->dates;
  if (!d->has_from) {
    d->from_ms = base_now_ms();
    d->has_from = true;
  }
  if (!d->has_to) {
    d->to_ms = d->from_ms + WEEK_MS;
    d->has_to = true;
  }
  if (d->from_ms >= d->to_ms || d->to_ms - d->from_ms > LIM_APPT_RANGE_MS_MAX) {
    c->message = "the date range is empty or wider than 93 days";
    return ERR_BAD_REQUEST;
  }
  return OK;
}

static int appt_check(struct api_ctx *c, struct fhir_search *s) {
  if (s->param == NULL) {
    c->message = "an Appointment search names the practitioner (practitioner= or actor=)";
    return ERR_BAD_REQUEST;
  }
  return range_check(c, s);
}

struct visit_ctx {
  struct fhir_ctx *f;
  json_t *items;
  fhir_render_fn render;
  const struct hash32 *schedule; /* keep only this schedule's slots */
  bool cancelled;                /* keep only cancelled and rescheduled appointments */
};

static int visit(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct visit_ctx *v = ctx;
  struct fhir_ent e;
  int rc = fhir_ent_decode(&e, kind, val);
  if (rc != OK) {
    return rc;
  }
  if (v->schedule != NULL && !base_hash_eq(fhir_ent_id(&e, "schedule"), v->schedule)) {
    return OK;
  }
  if (v->cancelled && !fhir_ent_str_is(&e, "status", CTR_APPT_CANCELLED) &&
      !fhir_ent_str_is(&e, "status", CTR_APPT_RESCHEDULED)) {
    return OK;
  }
  json_t *r = NULL;
  rc = v->render(v->f, &e, &r);
  if (rc != OK) {
    return rc;
  }
  return json_array_append_new(v->items, r) == 0 ? OK : ERR_NOMEM;
}

/* One page of the time index of kind, of practitioner (NULL: everyone's). */
static int walk(struct fhir_ctx *f, const struct fhir_search *s, enum ctr_kind kind,
                const struct hash32 *practitioner, const char *status, struct visit_ctx *v,
                struct fhir_page *page) {
  assert(s->dates.has_from && s->dates.has_to);
  struct bytes st = {(const uint8_t *)status, status == NULL ? 0 : strlen(status)};
  int rc = ctr_appt_search(f->st, kind, practitioner, s->dates.from_ms, s->dates.to_ms, st,
                           &s->cursor, s->count, visit, v, &page->next);
  if (rc == ERR_BAD_ARGS) {
    f->c->message = "_cursor is not one of this search's (take it from a Bundle's next link)";
    rc = ERR_BAD_REQUEST;
  }
  return rc;
}

/* A FHIR status code as the contract's (*ours; NULL: any); false when the
 * contract never writes it (the answer is then empty). */
static bool status_ours(const char *const (*map)[2], size_t n, const char *code,
                        const char **ours) {
  *ours = NULL;
  if (code == NULL) {
    return true;
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(map[i][0], code) == 0) {
      *ours = map[i][1];
      return true;
    }
  }
  return false;
}

static const char *const slot_status_map[][2] = {
    {"free", CTR_SLOT_FREE},
    {"busy", CTR_SLOT_BUSY},
};

static int slot_search(struct fhir_ctx *f, const struct fhir_search *s, struct fhir_page *page) {
  struct visit_ctx v = {f, page->resources, slot_render, NULL, false};
  const char *status = NULL;
  if (!status_ours(slot_status_map, ARRAY_LEN(slot_status_map), s->code, &status)) {
    return OK;
  }
  if (s->param == NULL) {
    return walk(f, s, CTR_SLOT, NULL, status, &v, page);
  }
  if (strcmp(s->param->name, "practitioner") == 0) {
    return walk(f, s, CTR_SLOT, &s->key, status, &v, page);
  }
  /* By schedule: its practitioner's slots, that schedule's among them. */
  assert(strcmp(s->param->name, "schedule") == 0);
  struct bytes val;
  int rc = ctr_get(f->st, CTR_SCHEDULE, &s->key, &val);
  if (rc == ERR_NOT_FOUND) {
    return OK; /* no such schedule: no slots */
  }
  struct fhir_ent sched;
  if (rc == OK) {
    rc = fhir_ent_decode(&sched, CTR_SCHEDULE, val);
  }
  if (rc != OK) {
    return rc;
  }
  struct hash32 practitioner = *fhir_ent_id(&sched, "practitioner");
  v.schedule = &s->key;
  return walk(f, s, CTR_SLOT, &practitioner, status, &v, page);
}

/* FHIR's codes to ours; "cancelled" is handled apart (two of ours). */
static const char *const appt_status_ours[][2] = {
    {"booked", CTR_APPT_BOOKED},
    {"checked-in", CTR_APPT_CHECKED_IN},
    {"fulfilled", CTR_APPT_FULFILLED},
    {"noshow", CTR_APPT_NOSHOW},
};

static int appt_search(struct fhir_ctx *f, const struct fhir_search *s, struct fhir_page *page) {
  assert(s->param != NULL); /* appt_check */
  struct visit_ctx v = {f, page->resources, appt_render, NULL, false};
  const char *status = NULL;
  if (s->code != NULL && strcmp(s->code, "cancelled") == 0) {
    v.cancelled = true;
  } else if (!status_ours(appt_status_ours, ARRAY_LEN(appt_status_ours), s->code, &status)) {
    return OK;
  }
  return walk(f, s, CTR_APPT, &s->key, status, &v, page);
}

/* ---- the types ------------------------------------------------------------------------------ */

#define SLOT_STATUS_CS "http://hl7.org/fhir/slotstatus"
#define APPT_STATUS_CS "http://hl7.org/fhir/appointmentstatus"

static const char *const slot_codes[] = {
    "free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error", NULL,
};

static const char *const appt_codes[] = {
    "proposed", "pending",          "booked",     "arrived",  "fulfilled", "cancelled",
    "noshow",   "entered-in-error", "checked-in", "waitlist", NULL,
};

#define DATE_DOC                                                                                   \
  "[eq|ge|gt|le|lt]YYYY-MM-DD (a UTC day) or an instant with seconds and a zone; a lower and an "  \
  "upper bound at most 93 days apart (default: from now, seven days)"

static const struct fhir_source slot_source = {CTR_SLOT, false, NULL, slot_render, NULL};
static const struct fhir_source appt_source = {CTR_APPT, false, NULL, appt_render, NULL};

static const struct fhir_param slot_params[] = {
    {"schedule", "reference", CTR_ALL, "the schedule (Schedule/ID)"},
    {"practitioner", "reference", CTR_ALL,
     "medchain's own: the practitioner (Practitioner/ID) whose slots, of any schedule (the chained "
     "schedule.actor is not supported); one of schedule and practitioner at most"},
    {"status", "token", CTR_ALL,
     "free or busy (the other SlotStatus codes are never written: an empty answer)"},
    {"start", "date", CTR_ALL, "the slot's start: " DATE_DOC},
};

static const struct fhir_combined slot_combined = {slot_codes, SLOT_STATUS_CS, range_check};

const struct fhir_type fhir_slot = {
    .name = "Slot",
    .doc = "A published slot: schedule, status free or busy, start, end, serviceType. Public. "
           "Parameters combine (a reference, status, a start range).",
    .source = &slot_source,
    .read = fhir_entity_read,
    .search = slot_search,
    .params = slot_params,
    .nparams = ARRAY_LEN(slot_params),
    .combined = &slot_combined,
};

static const struct fhir_param appt_params[] = {
    {"practitioner", "reference", CTR_ALL,
     "the practitioner (Practitioner/ID); required, or actor"},
    {"actor", "reference", CTR_ALL, "the same as practitioner (a Practitioner only)"},
    {"status", "token", CTR_ALL,
     "booked, checked-in, fulfilled, noshow or cancelled (cancelled includes rescheduled; the "
     "other "
     "AppointmentStatus codes are never written: an empty answer)"},
    {"date", "date", CTR_ALL, "the appointment's start: " DATE_DOC},
};

static const struct fhir_combined appt_combined = {appt_codes, APPT_STATUS_CS, appt_check};

const struct fhir_type fhir_appointment = {
    .name = "Appointment",
    .doc = "A booking: status, start, end, slot, and the practitioner as its one participant; "
           "never the patient (the chain holds a commitment to them). Public. A search names the "
           "practitioner; parameters combine.",
    .source = &appt_source,
    .read = fhir_entity_read,
    .search = appt_search,
    .params = appt_params,
    .nparams = ARRAY_LEN(appt_params),
    .combined = &appt_combined,
};
