/*
 * fhir_appt — FHIR R4 views of the appointment contract's entities:
 * Schedule, Slot and Appointment, and a searchset Bundle of them.
 *
 * The FHIR facade's routes (GET /fhir/Slot?status=free, ...) are being
 * built on main; until they land these renderers are what a route calls:
 * each takes the entity's encoded state value and returns a new JSON
 * resource (the caller owns it), or NULL when the value does not decode or
 * memory runs out. Ids are the chain's hex ids; references name
 * Practitioner/, Organization/, Schedule/ and Slot/ by those ids. An
 * Appointment names a Patient participant only when the caller passes
 * one (the patient's own signed read: the chain itself never holds it).
 */
#include "api/api_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ms since the epoch as an R4 instant, "2026-11-21T09:00:00.000Z". */
static json_t *instant(uint64_t ms) {
  time_t s = (time_t)(ms / 1000u);
  struct tm tm;
  if (gmtime_r(&s, &tm) == NULL) {
    return NULL;
  }
  char out[40];
  size_t n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, sizeof(out) - n, ".%03uZ", (unsigned)(ms % 1000u));
  return json_string(out);
}

static json_t *reference(const char *type, const struct hash32 *id) {
  char hex[65];
  base_hash_hex(hex, id);
  char ref[96];
  snprintf(ref, sizeof(ref), "%s/%s", type, hex);
  return json_pack("{s:s}", "reference", ref);
}

static json_t *id_json(const struct hash32 *id) {
  char hex[65];
  base_hash_hex(hex, id);
  return json_string(hex);
}

/* Decodes val under kind's schema into vals; field lookups by name. */
static bool decode(enum ctr_kind kind, struct bytes val, struct codec_value *vals) {
  const struct codec_schema *s = ctr_kind_schema(kind);
  return codec_record_decode(s, vals, val.ptr, val.len) == OK;
}

static const struct codec_value *f(enum ctr_kind kind, const struct codec_value *vals,
                                   const char *name) {
  int i = codec_schema_find(ctr_kind_schema(kind), name);
  assert(i >= 0);
  return &vals[i];
}

static json_t *service_type(struct bytes st) {
  return json_pack("[{s:s%}]", "text", (const char *)st.ptr, st.len);
}

json_t *api_fhir_schedule(struct bytes val) {
  struct codec_value v[LIM_FIELDS_MAX];
  if (!decode(CTR_SCHEDULE, val, v)) {
    return NULL;
  }
  return json_pack("{s:s, s:o, s:b, s:[o,o], s:o}", "resourceType", "Schedule", "id",
                   id_json(&f(CTR_SCHEDULE, v, "id")->id), "active", 1, "actor",
                   reference("Practitioner", &f(CTR_SCHEDULE, v, "practitioner")->id),
                   reference("Organization", &f(CTR_SCHEDULE, v, "org")->id), "serviceType",
                   service_type(f(CTR_SCHEDULE, v, "service_type")->bytes));
}

json_t *api_fhir_slot(struct bytes val) {
  struct codec_value v[LIM_FIELDS_MAX];
  if (!decode(CTR_SLOT, val, v)) {
    return NULL;
  }
  struct bytes st = f(CTR_SLOT, v, "status")->bytes;
  /* The contract's free and busy are R4's SlotStatus codes as they are. */
  return json_pack("{s:s, s:o, s:o, s:s%, s:o, s:o, s:o}", "resourceType", "Slot", "id",
                   id_json(&f(CTR_SLOT, v, "id")->id), "schedule",
                   reference("Schedule", &f(CTR_SLOT, v, "schedule")->id), "status",
                   (const char *)st.ptr, st.len, "start", instant(f(CTR_SLOT, v, "start_ms")->u64),
                   "end", instant(f(CTR_SLOT, v, "end_ms")->u64), "serviceType",
                   service_type(f(CTR_SLOT, v, "service_type")->bytes));
}

const char *api_fhir_appt_status(struct bytes status) {
  static const char *const map[][2] = {
      {CTR_APPT_BOOKED, "booked"},       {CTR_APPT_CHECKED_IN, "checked-in"},
      {CTR_APPT_FULFILLED, "fulfilled"}, {CTR_APPT_NOSHOW, "noshow"},
      {CTR_APPT_CANCELLED, "cancelled"}, {CTR_APPT_RESCHEDULED, "cancelled"},
  };
  for (size_t i = 0; i < ARRAY_LEN(map); i++) {
    if (status.len == strlen(map[i][0]) && memcmp(status.ptr, map[i][0], status.len) == 0) {
      return map[i][1];
    }
  }
  return "entered-in-error"; /* never written by the contract */
}

json_t *api_fhir_appointment(struct bytes val, const struct hash32 *patient) {
  struct codec_value v[LIM_FIELDS_MAX];
  if (!decode(CTR_APPT, val, v)) {
    return NULL;
  }
  struct bytes st = f(CTR_APPT, v, "status")->bytes;
  json_t *parts = json_pack("[{s:o, s:s}]", "actor",
                            reference("Practitioner", &f(CTR_APPT, v, "practitioner")->id),
                            "status", "accepted");
  if (parts != NULL && patient != NULL &&
      json_array_append_new(parts, json_pack("{s:o, s:s}", "actor", reference("Patient", patient),
                                             "status", "accepted")) != 0) {
    json_decref(parts);
    parts = NULL;
  }
  json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:[o], s:o}", "resourceType", "Appointment",
                        "id", id_json(&f(CTR_APPT, v, "id")->id), "status",
                        api_fhir_appt_status(st), "start", instant(f(CTR_APPT, v, "start_ms")->u64),
                        "end", instant(f(CTR_APPT, v, "end_ms")->u64), "slot",
                        reference("Slot", &f(CTR_APPT, v, "slot")->id), "participant", parts);
  bool moved =
      st.len == strlen(CTR_APPT_RESCHEDULED) && memcmp(st.ptr, CTR_APPT_RESCHEDULED, st.len) == 0;
  if (o != NULL && moved &&
      json_object_set_new(o, "cancelationReason", json_pack("{s:s}", "text", "rescheduled")) != 0) {
    json_decref(o);
    o = NULL;
  }
  return o;
}

json_t *api_fhir_searchset(json_t *resources) {
  assert(json_is_array(resources));
  json_t *entries = json_array();
  size_t i;
  json_t *r;
  json_array_foreach(resources, i, r) {
    if (entries == NULL || json_array_append_new(entries, json_pack("{s:O}", "resource", r)) != 0) {
      json_decref(entries);
      entries = NULL;
    }
  }
  json_decref(resources);
  if (entries == NULL) {
    return NULL;
  }
  return json_pack("{s:s, s:s, s:I, s:o}", "resourceType", "Bundle", "type", "searchset", "total",
                   (json_int_t)json_array_size(entries), "entry", entries);
}
