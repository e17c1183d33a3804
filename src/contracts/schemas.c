/*
 * schemas — the chain's data model as tables: the schema of every state
 * entity, the argument schema of every method, and the method table that
 * the executor dispatches on and that the CLI, the API and the portal read
 * to build and render calls.
 *
 * Field order is the encoding; changing a table changes the protocol. The
 * method table is a plain array searched linearly (a few dozen entries):
 * no hashing, so its order is the documented order.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

/* clang-format off */
#define F_ID(n) {n, CODEC_ID, 0}
#define F_PK(n) {n, CODEC_PUBKEY, 0}
#define F_U64(n) {n, CODEC_U64, 0}
#define F_BOOL(n) {n, CODEC_BOOL, 0}
#define F_STR(n, m) {n, CODEC_STR, m}
#define F_IDS(n, m) {n, CODEC_IDS, m}
#define F_KEYS(n) {n, CODEC_KEYS, LIM_KEYS_MAX}
#define F_BYTES(n, m) {n, CODEC_BYTES, m}
/* clang-format on */
#define SCHEMA(var, label, fields)                                                                 \
  static const struct codec_schema var = {label, (uint8_t)ARRAY_LEN(fields), fields}

/* ---- entities ------------------------------------------------------------- */

static const struct codec_field org_fields[] = {
    F_ID("id"),
    F_STR("name", 128),
    F_STR("kind", 32),
    F_STR("status", 16),
    F_BOOL("member"),
    F_U64("admitted_height"),
    F_IDS("admins", LIM_IDS_MAX),
};
static const struct codec_field identity_fields[] = {
    F_ID("id"),
    F_STR("kind", 16),
    F_ID("org"),
    F_PK("sign_pk"),
    F_PK("box_pk"),
    F_STR("status", 16),
    F_ID("licence_hash"),
    F_STR("role", 64),
    F_IDS("guardians", LIM_IDS_MAX),
    F_U64("created_height"),
};
/* Votes name member organizations: at most LIM_MEMBERS_MAX of them, which
 * with the longest name still fits a state entry (limits.h asserts it). */
static const struct codec_field proposal_fields[] = {
    F_ID("id"),
    F_STR("name", 128),
    F_STR("kind", 32),
    F_PK("admin_pk"),
    F_PK("admin_box"),
    F_ID("proposer"),
    F_IDS("votes", LIM_MEMBERS_MAX),
    F_STR("status", 16),
    F_U64("created_height"),
};
static const struct codec_field consent_fields[] = {
    F_ID("id"),           F_ID("patient"),         F_ID("grantee"),
    F_STR("scope", 16),   F_STR("category", 64),   F_ID("record"),
    F_STR("purpose", 32), F_U64("expires_ms"),     F_STR("status", 16),
    F_ID("granted_by"),   F_U64("granted_height"), F_U64("revoked_height"),
};
static const struct codec_field record_fields[] = {
    F_ID("id"),
    F_ID("patient"),
    F_ID("author"),
    F_ID("org"),
    F_STR("category", 64),
    F_STR("fhir_type", 64),
    F_ID("content_hash"),
    F_U64("size"),
    F_KEYS("keys"),
    F_U64("created_height"),
    F_U64("created_ms"),
    F_BOOL("erased"),
};
static const struct codec_field audit_fields[] = {
    F_ID("id"),          F_U64("seq"),         F_ID("record"),
    F_ID("patient"),     F_ID("accessor"),     F_STR("purpose", 32),
    F_BOOL("emergency"), F_ID("reason_hash"),  F_ID("logged_by"),
    F_ID("org"),         F_U64("height"),      F_U64("time_ms"),
    F_ID("node"),        F_STR("outcome", 32), F_BYTES("reason_sealed", CTR_VAR_MAX),
};
static const struct codec_field validator_fields[] = {
    F_ID("id"),
    F_PK("pk"),
    F_U64("power"),
};

static const struct codec_field schedule_fields[] = {
    F_ID("id"),
    F_ID("org"),
    F_ID("practitioner"),
    F_STR("service_type", 64),
    F_U64("created_height"),
};
static const struct codec_field slot_fields[] = {
    F_ID("id"),
    F_ID("schedule"),
    F_ID("org"),
    F_ID("practitioner"),
    F_STR("service_type", 64),
    F_U64("start_ms"),
    F_U64("end_ms"),
    F_STR("status", 16),
    F_ID("appointment"),
    F_U64("created_height"),
};
static const struct codec_field appt_fields[] = {
    F_ID("id"),
    F_ID("slot"),
    F_ID("org"),
    F_ID("practitioner"),
    F_U64("start_ms"),
    F_U64("end_ms"),
    F_ID("commitment"),
    F_ID("patient_enc"),
    F_PK("booker_pk"),
    F_KEYS("keys"),
    F_STR("status", 16),
    F_U64("booked_height"),
    F_U64("updated_height"),
    F_ID("previous"),
};
static const struct codec_field appt_policy_fields[] = {
    F_ID("id"),
    F_U64("cancel_cutoff_ms"),
    F_U64("updated_height"),
};
static const struct codec_field package_fields[] = {
    F_ID("id"),          F_STR("epc", 128),       F_STR("kind", 8),
    F_STR("gtin", 14),   F_STR("serial", 20),     F_ID("lot"),
    F_STR("status", 16), F_ID("holder"),          F_ID("parent"),
    F_ID("shipment"),    F_ID("ship_to"),         F_U64("children"),
    F_U64("events"),     F_U64("created_height"),
};
static const struct codec_field lot_fields[] = {
    F_ID("id"),          F_STR("gtin", 14),        F_STR("lot", 20),
    F_U64("expiry"),     F_ID("manufacturer"),     F_BOOL("recalled"),
    F_ID("recalled_by"), F_U64("recalled_height"), F_U64("packages"),
};
static const struct codec_field event_fields[] = {
    F_ID("id"),         F_STR("type", 32),      F_STR("action", 8), F_STR("biz_step", 32),
    F_ID("org"),        F_ID("parent"),         F_ID("source"),     F_ID("destination"),
    F_U64("epc_count"), F_U64("event_time_ms"), F_U64("height"),    F_U64("index"),
    F_U64("time_ms"),
};
static const struct codec_field rx_fields[] = {
    F_ID("id"),         F_ID("patient"),     F_ID("prescriber"),
    F_ID("org"),        F_STR("gtin", 14),   F_STR("code", 64),
    F_U64("quantity"),  F_U64("refills"),    F_U64("valid_until_ms"),
    F_U64("dispensed"), F_STR("status", 16), F_U64("created_height"),
};

SCHEMA(org_schema, "organization", org_fields);
SCHEMA(identity_schema, "identity", identity_fields);
SCHEMA(proposal_schema, "proposal", proposal_fields);
SCHEMA(consent_schema, "consent", consent_fields);
SCHEMA(record_schema, "record", record_fields);
SCHEMA(audit_schema, "audit", audit_fields);
SCHEMA(validator_schema, "validator", validator_fields);
SCHEMA(schedule_schema, "schedule", schedule_fields);
SCHEMA(slot_schema, "slot", slot_fields);
SCHEMA(appt_schema, "appointment", appt_fields);
SCHEMA(appt_policy_schema, "appointment_policy", appt_policy_fields);
SCHEMA(package_schema, "package", package_fields);
SCHEMA(lot_schema, "lot", lot_fields);
SCHEMA(event_schema, "epcis_event", event_fields);
SCHEMA(rx_schema, "prescription", rx_fields);

static const struct codec_schema *const kind_schemas[CTR_KIND_COUNT_] = {
    [CTR_ORG] = &org_schema,
    [CTR_IDENTITY] = &identity_schema,
    [CTR_PROPOSAL] = &proposal_schema,
    [CTR_CONSENT] = &consent_schema,
    [CTR_RECORD] = &record_schema,
    [CTR_AUDIT] = &audit_schema,
    [CTR_VALIDATOR] = &validator_schema,
    [CTR_SCHEDULE] = &schedule_schema,
    [CTR_SLOT] = &slot_schema,
    [CTR_APPT] = &appt_schema,
    [CTR_APPT_POLICY] = &appt_policy_schema,
    [CTR_PACKAGE] = &package_schema,
    [CTR_LOT] = &lot_schema,
    [CTR_EVENT] = &event_schema,
    [CTR_RX] = &rx_schema,
};

const struct codec_schema *ctr_kind_schema(enum ctr_kind kind) {
  assert(kind >= 0 && kind < CTR_KIND_COUNT_);
  return kind_schemas[kind];
}

const char *ctr_kind_name(enum ctr_kind kind) {
  assert(kind >= 0 && kind < CTR_KIND_COUNT_);
  return kind_schemas[kind]->name;
}

/* ---- method arguments ----------------------------------------------------- */

static const struct codec_field propose_args[] = {
    F_STR("name", 128),
    F_STR("kind", 32),
    F_PK("admin_pk"),
    F_PK("admin_box"),
};
static const struct codec_field vote_args[] = {F_ID("proposal")};
static const struct codec_field register_args[] = {
    F_STR("kind", 16), F_PK("sign_pk"), F_PK("box_pk"), F_ID("licence_hash"), F_STR("role", 64),
};
static const struct codec_field keys_args[] = {F_PK("sign_pk"), F_PK("box_pk")};
static const struct codec_field target_args[] = {F_ID("id")};
static const struct codec_field guardian_args[] = {F_ID("guardian"), F_BOOL("active")};
static const struct codec_field grant_args[] = {
    F_ID("patient"), F_ID("grantee"),      F_STR("scope", 16),  F_STR("category", 64),
    F_ID("record"),  F_STR("purpose", 32), F_U64("expires_ms"), F_KEYS("keys"),
};
static const struct codec_field revoke_args[] = {F_ID("consent")};
static const struct codec_field anchor_args[] = {
    F_ID("record"),       F_ID("patient"), F_STR("category", 64), F_STR("fhir_type", 64),
    F_ID("content_hash"), F_U64("size"),   F_KEYS("keys"),
};
static const struct codec_field erase_args[] = {F_ID("record")};
static const struct codec_field log_args[] = {
    F_ID("record"),
    F_ID("accessor"),
    F_STR("purpose", 32),
    F_BOOL("emergency"),
    F_ID("reason_hash"),
    F_ID("node"),
    F_BYTES("reason_sealed", CTR_VAR_MAX),
};
static const struct codec_field log_batch_args[] = {
    F_ID("node"),
    F_BYTES("entries", LIM_AUDIT_BATCH_MAX *CTR_AUDIT_ENTRY_BYTES),
};
static const struct codec_field anchor_for_args[] = {
    F_ID("record"),       F_ID("patient"), F_STR("category", 64), F_STR("fhir_type", 64),
    F_ID("content_hash"), F_U64("size"),   F_KEYS("keys"),        F_ID("author"),
};
static const struct codec_field erase_all_args[] = {F_ID("patient")};

static const struct codec_field appt_policy_args[] = {F_U64("cancel_cutoff_ms")};
static const struct codec_field appt_schedule_args[] = {F_ID("practitioner"),
                                                        F_STR("service_type", 64)};
/* slots: (u64 start_ms, u64 end_ms) pairs back to back, big-endian. */
static const struct codec_field appt_publish_args[] = {
    F_ID("schedule"),
    {"slots", CODEC_BYTES, LIM_APPT_SLOTS_PER_TX * 16},
};
static const struct codec_field appt_book_args[] = {
    F_ID("slot"), F_ID("commitment"), F_ID("patient_enc"), F_PK("booker_pk"), F_KEYS("keys"),
};
/* auth: the booking key's signature (ctr_appt_auth_msg), or empty when
 * the clinic acts; always the last field, since it signs those before it. */
static const struct codec_field appt_cancel_args[] = {
    F_ID("appointment"),
    {"auth", CODEC_BYTES, 64},
};
static const struct codec_field appt_reschedule_args[] = {
    F_ID("appointment"), F_ID("slot"),   F_ID("commitment"),        F_ID("patient_enc"),
    F_PK("booker_pk"),   F_KEYS("keys"), {"auth", CODEC_BYTES, 64},
};
static const struct codec_field appt_mark_args[] = {F_ID("appointment"), F_STR("status", 16)};

#define F_EPCS F_STR("epcs", LIM_EPCIS_EPCS_BYTES)
static const struct codec_field gln_args[] = {F_STR("gln", 13)};
static const struct codec_field commission_args[] = {
    F_ID("event"), F_EPCS, F_STR("lot", 20), F_U64("expiry"), F_U64("event_time_ms"),
};
static const struct codec_field pack_args[] = {
    F_ID("event"),
    F_STR("parent", 128),
    F_EPCS,
    F_U64("event_time_ms"),
};
static const struct codec_field ship_args[] = {
    F_ID("event"), F_EPCS, F_STR("source", 13), F_STR("destination", 13), F_U64("event_time_ms"),
};
static const struct codec_field receive_args[] = {
    F_ID("event"),
    F_EPCS,
    F_STR("destination", 13),
    F_U64("event_time_ms"),
};
static const struct codec_field observe_args[] = {F_ID("event"), F_EPCS, F_U64("event_time_ms")};
static const struct codec_field recall_args[] = {F_STR("gtin", 14), F_STR("lot", 20)};
static const struct codec_field rx_issue_args[] = {
    F_ID("patient"),   F_STR("gtin", 14), F_STR("code", 64),
    F_U64("quantity"), F_U64("refills"),  F_U64("valid_until_ms"),
};
static const struct codec_field rx_dispense_args[] = {
    F_ID("rx"),
    F_ID("event"),
    F_EPCS,
    F_U64("event_time_ms"),
};

SCHEMA(gln_schema, "supply.register_gln", gln_args);
SCHEMA(commission_schema, "supply.commission", commission_args);
SCHEMA(pack_schema, "supply.pack", pack_args);
SCHEMA(unpack_schema, "supply.unpack", pack_args);
SCHEMA(ship_schema, "supply.ship", ship_args);
SCHEMA(receive_schema, "supply.receive", receive_args);
SCHEMA(decommission_schema, "supply.decommission", observe_args);
SCHEMA(sdispense_schema, "supply.dispense", observe_args);
SCHEMA(recall_schema, "supply.recall", recall_args);
SCHEMA(rx_issue_schema, "rx.issue", rx_issue_args);
SCHEMA(rx_dispense_schema, "rx.dispense", rx_dispense_args);
SCHEMA(propose_schema, "governance.propose_member", propose_args);
SCHEMA(vote_schema, "governance.vote", vote_args);
SCHEMA(register_schema, "identity.register", register_args);
SCHEMA(enrol_schema, "identity.enrol_patient", keys_args);
SCHEMA(rotate_schema, "identity.rotate_key", keys_args);
SCHEMA(suspend_schema, "identity.suspend", target_args);
SCHEMA(reinstate_schema, "identity.reinstate", target_args);
SCHEMA(guardian_schema, "identity.set_guardian", guardian_args);
SCHEMA(grant_schema, "consent.grant", grant_args);
SCHEMA(revoke_schema, "consent.revoke", revoke_args);
SCHEMA(anchor_schema, "records.anchor", anchor_args);
SCHEMA(erase_schema, "records.erase", erase_args);
SCHEMA(log_schema, "audit.log", log_args);
SCHEMA(log_batch_schema, "audit.log_batch", log_batch_args);
SCHEMA(anchor_for_schema, "records.anchor_for", anchor_for_args);
SCHEMA(erase_all_schema, "records.erase_all", erase_all_args);
SCHEMA(appt_policy_schema_args, "appt.set_policy", appt_policy_args);
SCHEMA(appt_schedule_schema, "appt.create_schedule", appt_schedule_args);
SCHEMA(appt_publish_schema, "appt.publish", appt_publish_args);
SCHEMA(appt_book_schema, "appt.book", appt_book_args);
SCHEMA(appt_cancel_schema, "appt.cancel", appt_cancel_args);
SCHEMA(appt_reschedule_schema, "appt.reschedule", appt_reschedule_args);
SCHEMA(appt_mark_schema, "appt.mark", appt_mark_args);

/* ---- the method table ----------------------------------------------------- */

struct method_row {
  struct ctr_method pub; /* first: ctr_method_at hands out &row->pub */
  ctr_handler_fn fn;
};

static const struct method_row methods[] = {
    {{"governance", "propose_member", &propose_schema, "admin of a member organization",
      "Proposes a new member organization with its first admin; the proposer's vote counts."},
     ctr_gov_propose},
    {{"governance", "vote", &vote_schema, "admin of a member organization",
      "Votes for an open proposal; two thirds of the members admit it."},
     ctr_gov_vote},
    {{"identity", "register", &register_schema, "admin of an organization",
      "Registers an admin, practitioner (salted licence hash) or auditor of the organization."},
     ctr_id_register},
    {{"identity", "enrol_patient", &enrol_schema, "admin or practitioner of an organization",
      "Enrols a patient who holds their own keys."},
     ctr_id_enrol},
    {{"identity", "rotate_key", &rotate_schema, "any identity, for itself",
      "Replaces the sender's signing and encryption keys; the id stays."},
     ctr_id_rotate},
    {{"identity", "suspend", &suspend_schema, "admin of the identity's organization",
      "Suspends an identity; an organization keeps at least one active admin."},
     ctr_id_suspend},
    {{"identity", "reinstate", &reinstate_schema, "admin of the identity's organization",
      "Reinstates a suspended identity."},
     ctr_id_reinstate},
    {{"identity", "set_guardian", &guardian_schema, "patient",
      "Adds or removes a guardian who may act for the patient."},
     ctr_id_guardian},
    {{"consent", "grant", &grant_schema, "patient or guardian",
      "Grants an identity or organization access to a category or a record, for a purpose, "
      "until an expiry."},
     ctr_consent_grant},
    {{"consent", "revoke", &revoke_schema, "patient or guardian",
      "Revokes a consent and, for a record, removes the grantee's sealed key."},
     ctr_consent_revoke},
    {{"records", "anchor", &anchor_schema, "practitioner",
      "Anchors an encrypted off-chain record with its data key sealed to each reader."},
     ctr_rec_anchor},
    {{"records", "erase", &erase_schema, "patient or guardian",
      "Erases a record: its keys are destroyed and a tombstone remains."},
     ctr_rec_erase},
    {{"audit", "log", &log_schema, "admin of an organization, or the accessor",
      "Logs an access to a record (who, what, when, why; emergency flagged)."},
     ctr_audit_log},
    {{"audit", "log_batch", &log_batch_schema, "admin of an organization (a node's operator)",
      "Logs a burst of reads a node served in one transaction; the outcome of each is the "
      "consent check at this block."},
     ctr_audit_log_batch},
    {{"records", "anchor_for", &anchor_for_schema, "admin of the author's organization",
      "Anchors a record written by a practitioner of the sender's organization (its node as "
      "gateway)."},
     ctr_rec_anchor_for},
    {{"records", "erase_all", &erase_all_schema, "patient or guardian",
      "Erases up to 256 of the patient's records at once: keys destroyed, tombstones remain."},
     ctr_rec_erase_all},
    {{"appt", "set_policy", &appt_policy_schema_args, "admin of an organization",
      "Sets the organization's cancellation cut-off before an appointment's start."},
     ctr_appt_set_policy},
    {{"appt", "create_schedule", &appt_schedule_schema, "admin of the practitioner's organization",
      "Opens a schedule of one practitioner for one service type."},
     ctr_appt_schedule},
    {{"appt", "publish", &appt_publish_schema,
      "admin of the schedule's organization, or its "
      "practitioner",
      "Publishes up to 16 future slots (start, end) on a schedule."},
     ctr_appt_publish},
    {{"appt", "book", &appt_book_schema, "patient, or the slot's clinic on a patient's behalf",
      "Books a free future slot under a commitment to the patient, with a capability key."},
     ctr_appt_book},
    {{"appt", "cancel", &appt_cancel_schema, "holder of the booking key, or the clinic",
      "Cancels a booked appointment and frees its slot; the booker only before the cut-off."},
     ctr_appt_cancel},
    {{"appt", "reschedule", &appt_reschedule_schema, "holder of the booking key, or the clinic",
      "Books a new slot and frees the old one in one step."},
     ctr_appt_reschedule},
    {{"appt", "mark", &appt_mark_schema,
      "admin of the appointment's organization, or its "
      "practitioner",
      "Marks an appointment checked_in, fulfilled or noshow."},
     ctr_appt_mark},
    {{"supply", "register_gln", &gln_schema, "admin of an organization",
      "Registers a GLN (13 digits, check digit) as one of the organization's locations."},
     ctr_supply_gln},
    {{"supply", "commission", &commission_schema, "admin or practitioner of a manufacturer",
      "EPCIS ObjectEvent ADD commissioning: new serials (SGTIN EPC URIs) of one lot and expiry."},
     ctr_supply_commission},
    {{"supply", "pack", &pack_schema, "admin or practitioner of the holder",
      "EPCIS AggregationEvent ADD packing: packages into an SSCC case, which they then move with."},
     ctr_supply_pack},
    {{"supply", "unpack", &unpack_schema, "admin or practitioner of the holder",
      "EPCIS AggregationEvent DELETE unpacking: packages out of their case."},
     ctr_supply_unpack},
    {{"supply", "ship", &ship_schema, "admin or practitioner of the holder",
      "EPCIS ObjectEvent OBSERVE shipping from the holder's GLN to another organization's GLN."},
     ctr_supply_ship},
    {{"supply", "receive", &receive_schema, "admin or practitioner of the receiver",
      "EPCIS ObjectEvent OBSERVE receiving: takes custody of packages shipped to the receiver."},
     ctr_supply_receive},
    {{"supply", "decommission", &decommission_schema, "admin or practitioner of the holder",
      "EPCIS ObjectEvent DELETE decommissioning: the serials leave the supply chain for good."},
     ctr_supply_decommission},
    {{"supply", "dispense", &sdispense_schema, "admin or practitioner of the holder",
      "EPCIS ObjectEvent OBSERVE dispensing without a prescription: marks packages dispensed."},
     ctr_supply_dispense},
    {{"supply", "recall", &recall_schema, "the lot's manufacturer, or a regulator",
      "Recalls a lot: its packages are refused from then on."},
     ctr_supply_recall},
    {{"rx", "issue", &rx_issue_schema, "licensed practitioner",
      "Issues a prescription: patient, medication by GTIN or code, quantity, refills, validity."},
     ctr_rx_issue},
    {{"rx", "dispense", &rx_dispense_schema, "admin or practitioner of a pharmacy",
      "Dispenses a prescription with package serials the pharmacy holds; marks them dispensed."},
     ctr_rx_dispense},
};

size_t ctr_method_count(void) {
  return ARRAY_LEN(methods);
}

const struct ctr_method *ctr_method_at(size_t i) {
  if (i >= ARRAY_LEN(methods)) {
    return NULL;
  }
  return &methods[i].pub;
}

int ctr_method_resolve(struct bytes contract, struct bytes method, const struct ctr_method **m,
                       ctr_handler_fn *fn) {
  assert(m != NULL && fn != NULL);
  bool contract_known = false;
  for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
    if (!ctr_bytes_is(contract, methods[i].pub.contract)) {
      continue;
    }
    contract_known = true;
    if (ctr_bytes_is(method, methods[i].pub.method)) {
      *m = &methods[i].pub;
      *fn = methods[i].fn;
      assert(*fn != NULL);
      return OK;
    }
  }
  return contract_known ? ERR_UNKNOWN_METHOD : ERR_UNKNOWN_CONTRACT;
}

const struct ctr_method *ctr_method_find(struct bytes contract, struct bytes method) {
  const struct ctr_method *m = NULL;
  ctr_handler_fn fn = NULL;
  if (ctr_method_resolve(contract, method, &m, &fn) != OK) {
    return NULL;
  }
  return m;
}
