/*
 * layout — the bridge between an entity's schema (schemas.c) and its C
 * struct (contracts_internal.h): for each schema field, in order, the
 * offset and size of the struct member that holds it, and for lists the
 * member that holds the count.
 *
 * Decoding copies everything out of the borrowed state bytes, so an entity
 * struct never points into the store. Each slot's size is checked against
 * its field's type and limit on every use: a layout that disagrees with
 * its schema is a bug and crashes at the first test that touches it.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

struct slot {
  size_t off;
  size_t size;
  size_t count_off; /* lists only */
};

struct layout {
  size_t size;
  uint8_t tag;
  uint8_t nslots;
  const struct slot *slots;
};

#define S(T, m)                                                                                    \
  { offsetof(T, m), sizeof(((T *)0)->m), 0 }
#define L(T, m, n)                                                                                 \
  { offsetof(T, m), sizeof(((T *)0)->m), offsetof(T, n) }
#define LAYOUT(T, tag, slots)                                                                      \
  { sizeof(T), tag, (uint8_t)ARRAY_LEN(slots), slots }

static const struct slot org_slots[] = {
    S(struct ctr_org, id),
    S(struct ctr_org, name),
    S(struct ctr_org, kind),
    S(struct ctr_org, status),
    S(struct ctr_org, member),
    S(struct ctr_org, admitted_height),
    L(struct ctr_org, admins, nadmins),
};
static const struct slot identity_slots[] = {
    S(struct ctr_identity, id),
    S(struct ctr_identity, kind),
    S(struct ctr_identity, org),
    S(struct ctr_identity, sign_pk),
    S(struct ctr_identity, box_pk),
    S(struct ctr_identity, status),
    S(struct ctr_identity, licence_hash),
    S(struct ctr_identity, role),
    L(struct ctr_identity, guardians, nguardians),
    S(struct ctr_identity, created_height),
};
static const struct slot proposal_slots[] = {
    S(struct ctr_proposal, id),
    S(struct ctr_proposal, name),
    S(struct ctr_proposal, kind),
    S(struct ctr_proposal, admin_pk),
    S(struct ctr_proposal, admin_box),
    S(struct ctr_proposal, proposer),
    L(struct ctr_proposal, votes, nvotes),
    S(struct ctr_proposal, status),
    S(struct ctr_proposal, created_height),
};
static const struct slot consent_slots[] = {
    S(struct ctr_consent, id),
    S(struct ctr_consent, patient),
    S(struct ctr_consent, grantee),
    S(struct ctr_consent, scope),
    S(struct ctr_consent, category),
    S(struct ctr_consent, record),
    S(struct ctr_consent, purpose),
    S(struct ctr_consent, expires_ms),
    S(struct ctr_consent, status),
    S(struct ctr_consent, granted_by),
    S(struct ctr_consent, granted_height),
    S(struct ctr_consent, revoked_height),
};
static const struct slot record_slots[] = {
    S(struct ctr_record, id),           S(struct ctr_record, patient),
    S(struct ctr_record, author),       S(struct ctr_record, org),
    S(struct ctr_record, category),     S(struct ctr_record, fhir_type),
    S(struct ctr_record, content_hash), S(struct ctr_record, size),
    L(struct ctr_record, keys, nkeys),  S(struct ctr_record, created_height),
    S(struct ctr_record, created_ms),   S(struct ctr_record, erased),
};
static const struct slot audit_slots[] = {
    S(struct ctr_audit, id),
    S(struct ctr_audit, seq),
    S(struct ctr_audit, record),
    S(struct ctr_audit, patient),
    S(struct ctr_audit, accessor),
    S(struct ctr_audit, purpose),
    S(struct ctr_audit, emergency),
    S(struct ctr_audit, reason_hash),
    S(struct ctr_audit, logged_by),
    S(struct ctr_audit, org),
    S(struct ctr_audit, height),
    S(struct ctr_audit, time_ms),
    S(struct ctr_audit, node),
    S(struct ctr_audit, outcome),
    S(struct ctr_audit, reason_sealed),
};
static const struct slot validator_slots[] = {
    S(struct ctr_validator, id),
    S(struct ctr_validator, pk),
    S(struct ctr_validator, power),
};

static const struct slot schedule_slots[] = {
    S(struct ctr_schedule, id),
    S(struct ctr_schedule, org),
    S(struct ctr_schedule, practitioner),
    S(struct ctr_schedule, service_type),
    S(struct ctr_schedule, created_height),
};
static const struct slot slot_slots[] = {
    S(struct ctr_slot, id),           S(struct ctr_slot, schedule),
    S(struct ctr_slot, org),          S(struct ctr_slot, practitioner),
    S(struct ctr_slot, service_type), S(struct ctr_slot, start_ms),
    S(struct ctr_slot, end_ms),       S(struct ctr_slot, status),
    S(struct ctr_slot, appointment),  S(struct ctr_slot, created_height),
};
static const struct slot appt_slots[] = {
    S(struct ctr_appt, id),
    S(struct ctr_appt, slot),
    S(struct ctr_appt, org),
    S(struct ctr_appt, practitioner),
    S(struct ctr_appt, start_ms),
    S(struct ctr_appt, end_ms),
    S(struct ctr_appt, commitment),
    S(struct ctr_appt, patient_enc),
    S(struct ctr_appt, booker_pk),
    L(struct ctr_appt, keys, nkeys),
    S(struct ctr_appt, status),
    S(struct ctr_appt, booked_height),
    S(struct ctr_appt, updated_height),
    S(struct ctr_appt, previous),
};
static const struct slot appt_policy_slots[] = {
    S(struct ctr_appt_policy, id),
    S(struct ctr_appt_policy, cancel_cutoff_ms),
    S(struct ctr_appt_policy, updated_height),
};
static const struct slot package_slots[] = {
    S(struct ctr_package, id),      S(struct ctr_package, epc),
    S(struct ctr_package, kind),    S(struct ctr_package, gtin),
    S(struct ctr_package, serial),  S(struct ctr_package, lot),
    S(struct ctr_package, status),  S(struct ctr_package, holder),
    S(struct ctr_package, parent),  S(struct ctr_package, shipment),
    S(struct ctr_package, ship_to), S(struct ctr_package, children),
    S(struct ctr_package, events),  S(struct ctr_package, created_height),
};
static const struct slot lot_slots[] = {
    S(struct ctr_lot, id),           S(struct ctr_lot, gtin),
    S(struct ctr_lot, lot),          S(struct ctr_lot, expiry),
    S(struct ctr_lot, manufacturer), S(struct ctr_lot, recalled),
    S(struct ctr_lot, recalled_by),  S(struct ctr_lot, recalled_height),
    S(struct ctr_lot, packages),
};
static const struct slot event_slots[] = {
    S(struct ctr_event, id),        S(struct ctr_event, type),
    S(struct ctr_event, action),    S(struct ctr_event, biz_step),
    S(struct ctr_event, org),       S(struct ctr_event, parent),
    S(struct ctr_event, source),    S(struct ctr_event, destination),
    S(struct ctr_event, epc_count), S(struct ctr_event, event_time_ms),
    S(struct ctr_event, height),    S(struct ctr_event, index),
    S(struct ctr_event, time_ms),
};
static const struct slot rx_slots[] = {
    S(struct ctr_rx, id),        S(struct ctr_rx, patient), S(struct ctr_rx, prescriber),
    S(struct ctr_rx, org),       S(struct ctr_rx, gtin),    S(struct ctr_rx, code),
    S(struct ctr_rx, quantity),  S(struct ctr_rx, refills), S(struct ctr_rx, valid_until_ms),
    S(struct ctr_rx, dispensed), S(struct ctr_rx, status),  S(struct ctr_rx, created_height),
};

static const struct layout layouts[CTR_KIND_COUNT_] = {
    [CTR_ORG] = LAYOUT(struct ctr_org, CTR_TAG_ORG, org_slots),
    [CTR_IDENTITY] = LAYOUT(struct ctr_identity, CTR_TAG_IDENTITY, identity_slots),
    [CTR_PROPOSAL] = LAYOUT(struct ctr_proposal, CTR_TAG_PROPOSAL, proposal_slots),
    [CTR_CONSENT] = LAYOUT(struct ctr_consent, CTR_TAG_CONSENT, consent_slots),
    [CTR_RECORD] = LAYOUT(struct ctr_record, CTR_TAG_RECORD, record_slots),
    [CTR_AUDIT] = LAYOUT(struct ctr_audit, CTR_TAG_AUDIT, audit_slots),
    [CTR_VALIDATOR] = LAYOUT(struct ctr_validator, CTR_TAG_VALIDATOR, validator_slots),
    [CTR_SCHEDULE] = LAYOUT(struct ctr_schedule, CTR_TAG_SCHEDULE, schedule_slots),
    [CTR_SLOT] = LAYOUT(struct ctr_slot, CTR_TAG_SLOT, slot_slots),
    [CTR_APPT] = LAYOUT(struct ctr_appt, CTR_TAG_APPT, appt_slots),
    [CTR_APPT_POLICY] = LAYOUT(struct ctr_appt_policy, CTR_TAG_APPT_POLICY, appt_policy_slots),
    [CTR_PACKAGE] = LAYOUT(struct ctr_package, CTR_TAG_PACKAGE, package_slots),
    [CTR_LOT] = LAYOUT(struct ctr_lot, CTR_TAG_LOT, lot_slots),
    [CTR_EVENT] = LAYOUT(struct ctr_event, CTR_TAG_EVENT, event_slots),
    [CTR_RX] = LAYOUT(struct ctr_rx, CTR_TAG_RX, rx_slots),
};

static const struct layout *layout_of(enum ctr_kind kind) {
  assert(kind >= 0 && kind < CTR_KIND_COUNT_);
  const struct layout *l = &layouts[kind];
  assert(l->nslots == ctr_kind_schema(kind)->nfields);
  return l;
}

uint8_t ctr_kind_tag(enum ctr_kind kind) {
  return layout_of(kind)->tag;
}

static size_t list_item_bytes(enum codec_type t) {
  return t == CODEC_IDS ? sizeof(struct hash32) : sizeof(struct ctr_key);
}

/* The slot's member can hold a value of the field's type and limit. */
static void slot_check(const struct codec_field *f, const struct slot *s) {
  switch (f->type) {
  case CODEC_U64:
    assert(s->size == sizeof(uint64_t));
    break;
  case CODEC_BOOL:
    assert(s->size == sizeof(bool));
    break;
  case CODEC_ID:
  case CODEC_PUBKEY:
    assert(s->size == 32);
    break;
  case CODEC_STR:
    assert(s->size == sizeof(struct ctr_str) && f->max <= LIM_STR_MAX);
    break;
  case CODEC_IDS:
  case CODEC_KEYS:
    assert(s->size == (size_t)f->max * list_item_bytes(f->type));
    break;
  case CODEC_BYTES:
    assert(s->size == sizeof(struct ctr_var) && f->max <= CTR_VAR_MAX);
    break;
  }
  (void)s;
}

static void slot_read(uint8_t *base, const struct codec_field *f, const struct slot *s,
                      const struct codec_value *v) {
  slot_check(f, s);
  assert(v->type == f->type);
  switch (f->type) {
  case CODEC_U64:
    memcpy(base + s->off, &v->u64, sizeof(v->u64));
    break;
  case CODEC_BOOL: {
    bool b = v->u64 != 0;
    memcpy(base + s->off, &b, sizeof(b));
    break;
  }
  case CODEC_ID:
  case CODEC_PUBKEY:
    memcpy(base + s->off, v->id.b, 32);
    break;
  case CODEC_STR:
    ctr_str_set((struct ctr_str *)(void *)(base + s->off), v->bytes);
    break;
  case CODEC_IDS:
  case CODEC_KEYS: {
    assert(v->bytes.len == (size_t)v->count * list_item_bytes(f->type) && v->bytes.len <= s->size);
    if (v->bytes.len > 0) {
      memcpy(base + s->off, v->bytes.ptr, v->bytes.len);
    }
    uint32_t count = v->count;
    memcpy(base + s->count_off, &count, sizeof(count));
    break;
  }
  case CODEC_BYTES: {
    struct ctr_var *dst = (struct ctr_var *)(void *)(base + s->off);
    assert(v->bytes.len <= CTR_VAR_MAX);
    dst->len = (uint32_t)v->bytes.len;
    if (v->bytes.len > 0) {
      memcpy(dst->b, v->bytes.ptr, v->bytes.len);
    }
    break;
  }
  }
}

static void slot_write(const uint8_t *base, const struct codec_field *f, const struct slot *s,
                       struct codec_value *v) {
  slot_check(f, s);
  memset(v, 0, sizeof(*v));
  v->type = f->type;
  switch (f->type) {
  case CODEC_U64:
    memcpy(&v->u64, base + s->off, sizeof(v->u64));
    break;
  case CODEC_BOOL: {
    bool b;
    memcpy(&b, base + s->off, sizeof(b));
    v->u64 = b ? 1 : 0;
    break;
  }
  case CODEC_ID:
  case CODEC_PUBKEY:
    memcpy(v->id.b, base + s->off, 32);
    break;
  case CODEC_STR:
    v->bytes = ctr_str_bytes((const struct ctr_str *)(const void *)(base + s->off));
    break;
  case CODEC_IDS:
  case CODEC_KEYS: {
    uint32_t count;
    memcpy(&count, base + s->count_off, sizeof(count));
    assert(count <= f->max);
    v->count = count;
    v->bytes = (struct bytes){base + s->off, (size_t)count * list_item_bytes(f->type)};
    break;
  }
  case CODEC_BYTES: {
    const struct ctr_var *src = (const struct ctr_var *)(const void *)(base + s->off);
    assert(src->len <= CTR_VAR_MAX);
    v->bytes = (struct bytes){src->b, src->len};
    break;
  }
  }
}

int ctr_entity_decode(enum ctr_kind kind, void *out, struct bytes val) {
  const struct layout *l = layout_of(kind);
  const struct codec_schema *schema = ctr_kind_schema(kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  memset(out, 0, l->size);
  if (codec_record_decode(schema, vals, val.ptr, val.len) != OK) {
    return ERR_CORRUPT;
  }
  for (size_t i = 0; i < l->nslots; i++) {
    slot_read(out, &schema->fields[i], &l->slots[i], &vals[i]);
  }
  return OK;
}

int ctr_entity_load(struct state *st, enum ctr_kind kind, const struct hash32 *id, void *out) {
  /* Defined on every path, so a caller that ignores an error reads zeros,
   * never stack garbage. */
  memset(out, 0, layout_of(kind)->size);
  struct ctr_skey k;
  ctr_skey_init(&k, ctr_kind_tag(kind));
  ctr_skey_add_id(&k, id);
  struct bytes val;
  int rc = state_get(st, ctr_skey_bytes(&k), &val);
  if (rc != OK) {
    return rc;
  }
  rc = ctr_entity_decode(kind, out, val);
  if (rc != OK) {
    return rc;
  }
  /* Paired with the store side: an entity lives under its own id. */
  if (memcmp(out, id->b, 32) != 0) {
    return ERR_CORRUPT;
  }
  return OK;
}

int ctr_entity_store(struct state *st, enum ctr_kind kind, const void *in) {
  const struct layout *l = layout_of(kind);
  const struct codec_schema *schema = ctr_kind_schema(kind);
  assert(l->slots[0].off == 0 && schema->fields[0].type == CODEC_ID);
  struct codec_value vals[LIM_FIELDS_MAX];
  for (size_t i = 0; i < l->nslots; i++) {
    slot_write(in, &schema->fields[i], &l->slots[i], &vals[i]);
  }
  uint8_t buf[LIM_STATE_VALUE_MAX];
  size_t len = 0;
  int rc = codec_record_encode(schema, vals, buf, sizeof(buf), &len);
  if (rc != OK) {
    /* Every field was validated on the way in; only size can fail here. */
    assert(rc == ERR_OVERSIZE);
    return rc;
  }
  struct ctr_skey k;
  ctr_skey_init(&k, l->tag);
  ctr_skey_add(&k, in, 32);
  return state_put(st, ctr_skey_bytes(&k), (struct bytes){buf, len});
}
