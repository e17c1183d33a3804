/*
 * contracts internals: the entity structs that mirror the state schemas,
 * their load/store through the codec, state key builders, sorted-set
 * helpers for the IDS/KEYS lists, and the method handlers.
 *
 * Entities are copied out of the state into these fixed-size structs as
 * soon as they are read (state_get's bytes die at the next write), changed
 * in place, and encoded back whole. Every list field is a set sorted by its
 * 32-byte id, which is what the codec accepts as canonical.
 */
#ifndef MEDCHAIN_CONTRACTS_INTERNAL_H
#define MEDCHAIN_CONTRACTS_INTERNAL_H

#include "contracts/contracts.h"

/* ---- state keys ----------------------------------------------------------- */

#define CTR_TAG_ORG 'O'
#define CTR_TAG_IDENTITY 'I'
#define CTR_TAG_NONCE 'N'
#define CTR_TAG_KEY 'K'
#define CTR_TAG_PROPOSAL 'P'
#define CTR_TAG_CONSENT 'C'
#define CTR_TAG_RECORD 'R'
#define CTR_TAG_AUDIT 'A'
#define CTR_TAG_VALIDATOR 'V'
#define CTR_TAG_GLOBAL 'G'
#define CTR_TAG_SCHEDULE 'S'
#define CTR_TAG_SLOT 'T'
#define CTR_TAG_APPT 'B'
#define CTR_TAG_APPT_POLICY 'Y'
#define CTR_TAG_PACKAGE 'E'
#define CTR_TAG_LOT 'L'
#define CTR_TAG_EVENT 'X'
#define CTR_TAG_RX 'Q'
/* GLN -> organization id ('g' + 13 digits), and the supply indexes: a
 * package's events in order ('h' + package + u64 seq + event), a lot's
 * packages ('l' + lot + package), prescriptions by patient ('q'). */
#define CTR_TAG_GLN 'g'
#define CTR_TAG_HISTORY_IDX 'h'
#define CTR_TAG_LOT_IDX 'l'
#define CTR_TAG_RX_IDX 'q'
/* Index tables: a lower-case tag, a sub-tag, the owner id, then the entity
 * id last (after a u64 sequence for audit indexes). */
#define CTR_TAG_CONSENT_IDX 'c'
#define CTR_TAG_RECORD_IDX 'r'
#define CTR_TAG_AUDIT_IDX 'a'
#define CTR_TAG_IDENTITY_IDX 'i'
/* Appointment indexes: 's' p practitioner|schedule; 't' p practitioner|
 * start|slot and 't' a zero|start|slot; 'b' p practitioner|start|appt. */
#define CTR_TAG_SCHEDULE_IDX 's'
#define CTR_TAG_SLOT_IDX 't'
#define CTR_TAG_APPT_IDX 'b'
#define CTR_SUB_PRACTITIONER 'p'
#define CTR_SUB_ALL 'a'
#define CTR_SUB_PATIENT 'p'
#define CTR_SUB_GRANTEE 'g'
#define CTR_SUB_RECORD 'r'
#define CTR_SUB_ORG 'o'
#define CTR_SUB_CONTENT 'h'

#define CTR_GLOBAL_MEMBERS "members"
#define CTR_GLOBAL_AUDIT_SEQ "audit_seq"

struct ctr_skey {
  size_t len;
  uint8_t b[LIM_STATE_KEY_MAX];
};
void ctr_skey_init(struct ctr_skey *k, uint8_t tag);
void ctr_skey_add(struct ctr_skey *k, const void *p, size_t len);
void ctr_skey_add_id(struct ctr_skey *k, const struct hash32 *id);
void ctr_skey_add_u64(struct ctr_skey *k, uint64_t v);
struct bytes ctr_skey_bytes(const struct ctr_skey *k);

/* Writes an empty-valued index key tag|sub|owner[|seq]|id. */
int ctr_index_put(struct state *st, uint8_t tag, uint8_t sub, const struct hash32 *owner,
                  const uint64_t *seq, const struct hash32 *id) MUST_CHECK;
/* 'G'+name as a u64 (absent = 0). */
int ctr_counter_get(struct state *st, const char *name, uint64_t *out) MUST_CHECK;
int ctr_counter_put(struct state *st, const char *name, uint64_t v) MUST_CHECK;
/* *out = whether key tag+id exists. Returns OK or a store error. */
int ctr_exists(struct state *st, uint8_t tag, const struct hash32 *id, bool *out) MUST_CHECK;
/* *used = whether a signing key was ever bound to an identity ('K'). */
int ctr_key_owner(struct state *st, const struct pubkey *pk, bool *used) MUST_CHECK;
int ctr_key_put(struct state *st, const struct pubkey *pk, const struct hash32 *owner) MUST_CHECK;

/* ---- entities ------------------------------------------------------------- */

/* A string field copied out of the state, NUL-terminated for convenience. */
struct ctr_str {
  uint32_t len;
  char b[LIM_STR_MAX + 1];
};
void ctr_str_set(struct ctr_str *s, struct bytes v);
void ctr_str_setz(struct ctr_str *s, const char *z);
bool ctr_str_is(const struct ctr_str *s, const char *z);
bool ctr_bytes_is(struct bytes b, const char *z);
/* Whether b is a label: 1..max characters of [A-Za-z0-9._-]. Categories,
 * purposes, FHIR types and roles are labels, so no free text (a name, a
 * diagnosis in words) can be written into the chain through them. */
bool ctr_label_ok(struct bytes b);
bool ctr_str_eq_bytes(const struct ctr_str *s, struct bytes b);
struct bytes ctr_str_bytes(const struct ctr_str *s);

#define CTR_STATUS_ACTIVE "active"
#define CTR_STATUS_SUSPENDED "suspended"
#define CTR_STATUS_REVOKED "revoked"
#define CTR_STATUS_OPEN "open"
#define CTR_STATUS_ADMITTED "admitted"
#define CTR_SCOPE_CATEGORY "category"
#define CTR_SCOPE_RECORD "record"

struct ctr_key {
  struct hash32 reader;
  uint8_t sealed[LIM_SEALED_KEY_BYTES];
};

struct ctr_org {
  struct hash32 id;
  struct ctr_str name;
  struct ctr_str kind;
  struct ctr_str status;
  bool member;
  uint64_t admitted_height;
  uint32_t nadmins;
  struct hash32 admins[LIM_IDS_MAX];
};

struct ctr_identity {
  struct hash32 id;
  struct ctr_str kind;
  struct hash32 org;
  struct pubkey sign_pk;
  struct boxkey box_pk;
  struct ctr_str status;
  struct hash32 licence_hash;
  struct ctr_str role;
  uint32_t nguardians;
  struct hash32 guardians[LIM_IDS_MAX];
  uint64_t created_height;
};

struct ctr_proposal {
  struct hash32 id;
  struct ctr_str name;
  struct ctr_str kind;
  struct pubkey admin_pk;
  struct boxkey admin_box;
  struct hash32 proposer;
  uint32_t nvotes;
  struct hash32 votes[LIM_MEMBERS_MAX];
  struct ctr_str status;
  uint64_t created_height;
};

struct ctr_consent {
  struct hash32 id;
  struct hash32 patient;
  struct hash32 grantee;
  struct ctr_str scope;
  struct ctr_str category;
  struct hash32 record;
  struct ctr_str purpose;
  uint64_t expires_ms;
  struct ctr_str status;
  struct hash32 granted_by;
  uint64_t granted_height;
  uint64_t revoked_height;
};

struct ctr_record {
  struct hash32 id;
  struct hash32 patient;
  struct hash32 author;
  struct hash32 org;
  struct ctr_str category;
  struct ctr_str fhir_type;
  struct hash32 content_hash;
  uint64_t size;
  uint32_t nkeys;
  struct ctr_key keys[LIM_KEYS_MAX];
  uint64_t created_height;
  uint64_t created_ms;
  bool erased;
};

/* A BYTES field of an entity (the sealed reason of an emergency access). */
#define CTR_VAR_MAX (LIM_REASON_MAX + 48)
struct ctr_var {
  uint32_t len;
  uint8_t b[CTR_VAR_MAX];
};

struct ctr_audit {
  struct hash32 id;
  uint64_t seq;
  struct hash32 record;
  struct hash32 patient;
  struct hash32 accessor;
  struct ctr_str purpose;
  bool emergency;
  struct hash32 reason_hash;
  struct hash32 logged_by;
  struct hash32 org;
  uint64_t height;
  uint64_t time_ms;
  struct hash32 node;           /* the node that served (zero: logged by the accessor) */
  struct ctr_str outcome;       /* "granted" or the stable code of the refusal */
  struct ctr_var reason_sealed; /* emergency: the reason sealed to the patient */
};

struct ctr_validator {
  struct hash32 id;
  struct pubkey pk;
  uint64_t power;
};

struct ctr_schedule {
  struct hash32 id;
  struct hash32 org;
  struct hash32 practitioner;
  struct ctr_str service_type;
  uint64_t created_height;
};

struct ctr_slot {
  struct hash32 id;
  struct hash32 schedule;
  struct hash32 org;
  struct hash32 practitioner;
  struct ctr_str service_type;
  uint64_t start_ms;
  uint64_t end_ms;
  struct ctr_str status;
  struct hash32 appointment; /* zero while free */
  uint64_t created_height;
};

struct ctr_appt {
  struct hash32 id;
  struct hash32 slot;
  struct hash32 org;
  struct hash32 practitioner;
  uint64_t start_ms;
  uint64_t end_ms;
  struct hash32 commitment;
  struct hash32 patient_enc;
  struct pubkey booker_pk;
  uint32_t nkeys;
  struct ctr_key keys[LIM_KEYS_MAX];
  struct ctr_str status;
  uint64_t booked_height;
  uint64_t updated_height;
  struct hash32 previous;
};

struct ctr_appt_policy {
  struct hash32 id; /* the organization */
  uint64_t cancel_cutoff_ms;
  uint64_t updated_height;
};

struct ctr_package {
  struct hash32 id;
  struct ctr_str epc;
  struct ctr_str kind; /* "sgtin" or "sscc" */
  struct ctr_str gtin;
  struct ctr_str serial;
  struct hash32 lot;
  struct ctr_str status; /* active, decommissioned, dispensed */
  struct hash32 holder;  /* organization */
  struct hash32 parent;  /* the case it is packed in, or zero */
  struct hash32 shipment;
  struct hash32 ship_to;
  uint64_t children;
  uint64_t events;
  uint64_t created_height;
};

struct ctr_lot {
  struct hash32 id;
  struct ctr_str gtin;
  struct ctr_str lot;
  uint64_t expiry; /* yyyymmdd */
  struct hash32 manufacturer;
  bool recalled;
  struct hash32 recalled_by;
  uint64_t recalled_height;
  uint64_t packages;
};

struct ctr_event {
  struct hash32 id;
  struct ctr_str type;
  struct ctr_str action;
  struct ctr_str biz_step;
  struct hash32 org;
  struct hash32 parent;
  struct hash32 source;
  struct hash32 destination;
  uint64_t epc_count;
  uint64_t event_time_ms;
  uint64_t height;
  uint64_t index;
  uint64_t time_ms;
};

struct ctr_rx {
  struct hash32 id;
  struct hash32 patient;
  struct hash32 prescriber;
  struct hash32 org;
  struct ctr_str gtin;
  struct ctr_str code;
  uint64_t quantity;
  uint64_t refills;
  uint64_t valid_until_ms;
  uint64_t dispensed;
  struct ctr_str status;
  uint64_t created_height;
};

/* State table tag of an entity kind. */
uint8_t ctr_kind_tag(enum ctr_kind kind);
/* Decodes an entity value into its struct (struct ctr_org for CTR_ORG, ...).
 * Returns OK or ERR_CORRUPT (the state holds something we never write). */
int ctr_entity_decode(enum ctr_kind kind, void *out, struct bytes val) MUST_CHECK;
/* Loads tag+id into out: OK, ERR_NOT_FOUND or ERR_CORRUPT. */
int ctr_entity_load(struct state *st, enum ctr_kind kind, const struct hash32 *id,
                    void *out) MUST_CHECK;
/* Encodes and buffers the entity under tag+its id. Returns OK or a state
 * error (ERR_OVERSIZE, ERR_LIMIT). */
int ctr_entity_store(struct state *st, enum ctr_kind kind, const void *in) MUST_CHECK;

/* Typed front ends: the struct pointer names the kind. */
#define CTR_KIND_OF(p)                                                                             \
  _Generic((p), struct ctr_org *: CTR_ORG, const struct ctr_org *: CTR_ORG,                        \
      struct ctr_identity *: CTR_IDENTITY, const struct ctr_identity *: CTR_IDENTITY,              \
      struct ctr_proposal *: CTR_PROPOSAL, const struct ctr_proposal *: CTR_PROPOSAL,              \
      struct ctr_consent *: CTR_CONSENT, const struct ctr_consent *: CTR_CONSENT,                  \
      struct ctr_record *: CTR_RECORD, const struct ctr_record *: CTR_RECORD,                      \
      struct ctr_audit *: CTR_AUDIT, const struct ctr_audit *: CTR_AUDIT,                          \
      struct ctr_validator *: CTR_VALIDATOR, const struct ctr_validator *: CTR_VALIDATOR,          \
      struct ctr_schedule *: CTR_SCHEDULE, const struct ctr_schedule *: CTR_SCHEDULE,              \
      struct ctr_slot *: CTR_SLOT, const struct ctr_slot *: CTR_SLOT,                              \
      struct ctr_appt *: CTR_APPT, const struct ctr_appt *: CTR_APPT,                              \
      struct ctr_appt_policy *: CTR_APPT_POLICY, const struct ctr_appt_policy *: CTR_APPT_POLICY, \
      struct ctr_package *: CTR_PACKAGE, const struct ctr_package *: CTR_PACKAGE,                  \
      struct ctr_lot *: CTR_LOT, const struct ctr_lot *: CTR_LOT,                                  \
      struct ctr_event *: CTR_EVENT, const struct ctr_event *: CTR_EVENT,                          \
      struct ctr_rx *: CTR_RX, const struct ctr_rx *: CTR_RX)
#define ctr_load(st, id, out) ctr_entity_load((st), CTR_KIND_OF(out), (id), (out))
#define ctr_store(st, in) ctr_entity_store((st), CTR_KIND_OF(in), (in))

/* ---- sorted sets ---------------------------------------------------------- */

bool ctr_ids_has(const struct hash32 *v, uint32_t n, const struct hash32 *id);
/* OK, ERR_EXISTS or ERR_LIMIT (n == cap). */
int ctr_ids_insert(struct hash32 *v, uint32_t *n, uint32_t cap, const struct hash32 *id) MUST_CHECK;
/* OK or ERR_NOT_FOUND. */
int ctr_ids_remove(struct hash32 *v, uint32_t *n, const struct hash32 *id) MUST_CHECK;
/* Inserts or replaces by reader; OK or ERR_LIMIT. */
int ctr_keys_put(struct ctr_key *v, uint32_t *n, uint32_t cap, const struct ctr_key *k) MUST_CHECK;
/* Removes the reader's key if present. */
void ctr_keys_remove(struct ctr_key *v, uint32_t *n, const struct hash32 *reader);
bool ctr_keys_has(const struct ctr_key *v, uint32_t n, const struct hash32 *reader);

/* ---- calls ---------------------------------------------------------------- */

/* One call in progress: its inputs and the sender loaded once. */
struct ctr_ctx {
  struct state *st;
  const struct tx *tx;
  const struct ledger_env *env;
  struct ctr_identity sender;
  struct ctr_org sender_org;
};

typedef int (*ctr_handler_fn)(struct ctr_ctx *c, const struct codec_value *args);

/* The handler behind contract.method. Returns OK, ERR_UNKNOWN_CONTRACT or
 * ERR_UNKNOWN_METHOD; *m and *fn are set on OK. */
int ctr_method_resolve(struct bytes contract, struct bytes method, const struct ctr_method **m,
                       ctr_handler_fn *fn) MUST_CHECK;

/* Sender's role checks (ctr_call already made sure the sender and its
 * organization are active). */
bool ctr_sender_is(const struct ctr_ctx *c, const char *role);

/* The identity may act: it and its organization are active. Returns OK,
 * ERR_SUSPENDED or a store error; *org gets its organization. */
int ctr_identity_active(struct state *st, const struct ctr_identity *id,
                        struct ctr_org *org) MUST_CHECK;
/* Loads an identity that must be a patient: OK, ERR_UNKNOWN_PATIENT or a
 * store error. */
int ctr_patient_load(struct state *st, const struct hash32 *id,
                     struct ctr_identity *out) MUST_CHECK;

/* True when id is the patient itself or one of its guardians. */
bool ctr_patient_speaks(const struct ctr_identity *patient, const struct hash32 *id);

/* Shared by records.anchor and ctr_consent_check: scans the patient's
 * consents for one held by any of grantees[n] that covers record rec_id
 * (record scope) or the category (category scope; rec_id NULL means only
 * category scope counts), for *purpose (NULL = any purpose), at now_ms.
 * Returns OK (a live one), else the most telling failure among the
 * matching ones: ERR_CONSENT_REVOKED, ERR_CONSENT_EXPIRED, or
 * ERR_CONSENT_REQUIRED when none matches; or a store error. Sees only
 * state folded into the store transaction (state_iter's rule). */
int ctr_consent_find(struct state *st, const struct hash32 *patient, const struct hash32 *grantees,
                     size_t n, const struct hash32 *rec_id, struct bytes category,
                     const struct bytes *purpose, uint64_t now_ms) MUST_CHECK;

bool ctr_org_kind_ok(struct bytes kind);

/* Creates an organization with its first admin (genesis and admission). */
int ctr_org_found(struct state *st, struct bytes name, struct bytes kind,
                  const struct pubkey *admin_pk, const struct boxkey *admin_box,
                  uint64_t height) MUST_CHECK;

int ctr_gov_propose(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_gov_vote(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_id_register(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_id_enrol(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_id_rotate(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_id_suspend(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_id_reinstate(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_id_guardian(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_consent_grant(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_consent_revoke(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_rec_anchor(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_rec_erase(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_audit_log(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_audit_log_batch(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_rec_anchor_for(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_rec_erase_all(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_set_policy(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_schedule(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_publish(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_book(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_cancel(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_reschedule(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_appt_mark(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;

int ctr_supply_gln(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_commission(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_pack(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_unpack(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_ship(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_receive(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_decommission(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_dispense(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_supply_recall(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_rx_issue(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;
int ctr_rx_dispense(struct ctr_ctx *c, const struct codec_value *a) MUST_CHECK;

/* ---- supply chain helpers (supply.c), shared with rx.c ------------------- */

#define CTR_PKG_ACTIVE "active"
#define CTR_PKG_DISPENSED "dispensed"
#define CTR_PKG_DECOMMISSIONED "decommissioned"

/* The EPCs of one event, parsed and loaded: at most LIM_EPCIS_EPCS_MAX. */
struct ctr_epcs {
  uint32_t n;
  struct ctr_package pkg[LIM_EPCIS_EPCS_MAX];
  bool found[LIM_EPCIS_EPCS_MAX];
};
/* Parses a space-separated list of canonical SGTIN/SSCC EPC URIs (no
 * duplicates) and loads each package (found[i] false when never
 * commissioned; pkg[i] then holds only id, epc, kind, gtin and serial).
 * Returns OK, ERR_BAD_ARGS, ERR_OVERSIZE (too many) or a store error. */
int ctr_epcs_load(struct state *st, struct bytes list, struct ctr_epcs *out) MUST_CHECK;
/* Whether a package may still move or be dispensed at block time now_ms:
 * OK, PACKAGE_DISPENSED, PACKAGE_DECOMMISSIONED, LOT_RECALLED,
 * PACKAGE_EXPIRED, or a store error. */
int ctr_pkg_usable(struct state *st, const struct ctr_package *p, uint64_t now_ms) MUST_CHECK;
/* Checks every package is commissioned, held by org, not packed in a case,
 * not in transit and usable: UNKNOWN_SERIAL, NOT_HOLDER, IN_CASE,
 * IN_TRANSIT, or ctr_pkg_usable's codes. */
int ctr_epcs_custody(struct state *st, const struct ctr_epcs *e, const struct hash32 *org,
                     uint64_t now_ms) MUST_CHECK;
/* Records the event (EVENT_EXISTS when its hash is known) and appends it
 * to each package's history; stores every package of e. */
int ctr_event_record(struct ctr_ctx *c, struct ctr_event *ev, struct ctr_epcs *e) MUST_CHECK;
/* Sender may act for its organization in the supply chain: an admin or a
 * practitioner (never a patient or an auditor). */
bool ctr_supply_actor(const struct ctr_ctx *c);

#endif
