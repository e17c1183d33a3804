/*
 * contracts — the native healthcare contracts and the state transition
 * they define. Prefix: ctr_.
 *
 *   governance  consortium members (organizations) and their admission by
 *               two thirds of the members
 *   identity    organizations' admins, practitioners (salted licence hash),
 *               auditors and patients (who hold their own keys); key
 *               rotation; suspension; guardians
 *   consent     a patient or guardian grants an identity or organization
 *               access to a category or one record, for a purpose, until an
 *               expiry; revokes
 *   records     anchors of encrypted off-chain records: id, patient, author,
 *               category, FHIR type, ciphertext hash, size, the data key
 *               sealed to each reader; erasure tombstones
 *   audit       access entries: who read which record, when, why, where
 *
 * No personal data is on chain: identities are 32-byte ids (hashes of
 * public keys); a practitioner's licence appears only as a salted hash;
 * records are anchored by ciphertext hash; organization names are public
 * business names, not people.
 *
 * Arguments of every method and every state entry are codec records with
 * the schemas below; clients (CLI, API, portal) build arguments from the
 * same tables. All functions are pure functions of the state and the
 * transaction: no clock (time is the block's), no randomness.
 */
#ifndef MEDCHAIN_CONTRACTS_H
#define MEDCHAIN_CONTRACTS_H

#include "base/base.h"
#include "codec/codec.h"
#include "ledger/ledger.h"
#include "state/state.h"

/* Binds the ledger's executor to the native contracts. */
void ctr_exec_bind(struct ledger_exec *out);

/* The executor's parts, also callable directly (mempool pre-checks).
 * ctr_admit buffers the sender's nonce increment and ctr_call the call's
 * writes, so both need a writable state; the caller commits or aborts them
 * (state_tx_commit / state_tx_abort). ctr_genesis folds its entries into
 * the store transaction as it goes (one transaction's write buffer cannot
 * hold a whole consortium); on error the caller aborts the store
 * transaction. */
int ctr_admit(struct state *st, const struct tx *tx, const struct ledger_env *env) MUST_CHECK;
int ctr_call(struct state *st, const struct tx *tx, const struct ledger_env *env) MUST_CHECK;
int ctr_genesis(struct state *st, const struct ledger_genesis *g) MUST_CHECK;

/* ---- methods ------------------------------------------------------------ */

/* Who may call a method (documentation and the portal's role views; the
 * contract enforces the real rule). */
struct ctr_method {
  const char *contract;
  const char *method;
  const struct codec_schema *args;
  const char *who;     /* e.g. "admin of a member organization" */
  const char *summary; /* one sentence */
};

size_t ctr_method_count(void);
const struct ctr_method *ctr_method_at(size_t i);
/* The method named contract.method, or NULL. */
const struct ctr_method *ctr_method_find(struct bytes contract, struct bytes method);

/* ---- entities ----------------------------------------------------------- */

enum ctr_kind {
  CTR_ORG = 0,     /* organization: id, name, kind, status, member, admitted_height, admins */
  CTR_IDENTITY,    /* id, kind, org, sign_pk, box_pk, status, licence_hash, role, guardians,
                      created_height, nonce is separate (ctr_nonce) */
  CTR_PROPOSAL,    /* governance proposal: id, name, kind, admin_pk, admin_box, proposer, votes,
                      status, created_height */
  CTR_CONSENT,     /* id, patient, grantee, scope, category, record, purpose, expires_ms, status,
                      granted_by, granted_height, revoked_height */
  CTR_RECORD,      /* id, patient, author, org, category, fhir_type, content_hash, size, keys,
                      created_height, created_ms, erased */
  CTR_AUDIT,       /* id, seq, record, patient, accessor, purpose, emergency, reason_hash,
                      logged_by, org, height, time_ms */
  CTR_VALIDATOR,   /* id, pk, power */
  CTR_SCHEDULE,    /* appointments: id, org, practitioner, service_type, created_height */
  CTR_SLOT,        /* id, schedule, org, practitioner, service_type, start_ms, end_ms, status,
                      appointment, created_height */
  CTR_APPT,        /* id, slot, org, practitioner, start_ms, end_ms, commitment, patient_enc,
                      booker_pk, keys, status, booked_height, updated_height, previous */
  CTR_APPT_POLICY, /* an organization's booking rules: id (the org), cancel_cutoff_ms,
                      updated_height */
  CTR_PACKAGE,     /* a serialized package (SGTIN) or case (SSCC): id, epc, kind, gtin, serial, lot,
                      status, holder, parent, shipment, ship_to, children, events, created_height */
  CTR_LOT,         /* id, gtin, lot, expiry, manufacturer, recalled, recalled_by, recalled_height,
                      packages */
  CTR_EVENT,       /* an EPCIS event: id (its event hash), type, action, biz_step, org, parent,
                      source, destination, epc_count, event_time_ms, height, index, time_ms */
  CTR_RX,          /* prescription: id, patient, prescriber, org, gtin, code, quantity, refills,
                      valid_until_ms, dispensed, status, created_height */
  CTR_KIND_COUNT_
};

/* Schema of an entity's state value; its first field is always "id". */
const struct codec_schema *ctr_kind_schema(enum ctr_kind kind);
/* "organization", "identity", ... (for JSON and docs). */
const char *ctr_kind_name(enum ctr_kind kind);

/* Reads one entity's encoded value; *val valid as state_get's. Returns OK,
 * ERR_NOT_FOUND. */
int ctr_get(struct state *st, enum ctr_kind kind, const struct hash32 *id,
            struct bytes *val) MUST_CHECK;
/* One field of an entity, by its schema name (ctr_kind_schema): *out
 * borrows from the state, valid as ctr_get's value. Returns OK,
 * ERR_NOT_FOUND or ERR_CORRUPT. A name the schema lacks is a bug. */
int ctr_get_field(struct state *st, enum ctr_kind kind, const struct hash32 *id, const char *name,
                  struct codec_value *out) MUST_CHECK;

/* What the node and the API need of a record anchor, copied out of the
 * state. keys holds nkeys items of CODEC_KEY_ITEM_BYTES (reader id, sealed
 * data key). Returns OK, ERR_UNKNOWN_RECORD or a store error. */
struct ctr_record_meta {
  struct hash32 id, patient, author, org, content_hash;
  uint64_t size;
  bool erased;
  uint32_t nkeys;
  uint8_t keys[LIM_KEYS_MAX * CODEC_KEY_ITEM_BYTES];
};
int ctr_record_meta(struct state *st, const struct hash32 *id,
                    struct ctr_record_meta *out) MUST_CHECK;

/* The identity a signing key was registered for (as its first key or by a
 * rotation; a retired key still names its identity, whose sign_pk says
 * which key is current). Returns OK or ERR_NOT_FOUND. */
int ctr_identity_by_key(struct state *st, const struct pubkey *pk, struct hash32 *id) MUST_CHECK;
/* Next nonce the sender must use (1 for a new identity). */
int ctr_next_nonce(struct state *st, const struct hash32 *id, uint64_t *nonce) MUST_CHECK;

/* Listing filters. */
enum ctr_filter {
  CTR_ALL = 0,         /* every entity of the kind */
  CTR_BY_PATIENT,      /* consents, records, audit entries of one patient */
  CTR_BY_GRANTEE,      /* consents granted to one identity or organization */
  CTR_BY_RECORD,       /* audit entries of one record; consents scoped to it */
  CTR_BY_ORG,          /* identities of one organization */
  CTR_BY_CONTENT,      /* records whose ciphertext has this hash */
  CTR_BY_PRACTITIONER, /* schedules, and appointments by start time, of one practitioner */
  CTR_BY_PRESCRIPTION, /* EPCIS dispensing events against one prescription */
};

#define CTR_CURSOR_MAX 80
struct ctr_cursor {
  uint8_t len; /* 0 = start from the beginning / no more pages */
  uint8_t b[CTR_CURSOR_MAX];
};

/* Called per entity in key order; return OK to go on, anything else stops
 * the listing and is returned. val is valid only during the call. */
typedef int (*ctr_visit_fn)(void *ctx, enum ctr_kind kind, struct bytes val);

/* Lists up to limit (<= LIM_PAGE_MAX) entities of kind matching the filter
 * (key ignored for CTR_ALL), resuming after `after` (len 0 = from start).
 * *next gets the cursor for the following page (len 0 when done). Only
 * committed state is seen (read transactions). Returns OK, ERR_BAD_ARGS
 * (filter not supported for the kind) or the visitor's code. */
int ctr_list(struct state *st, enum ctr_kind kind, enum ctr_filter filter, const struct hash32 *key,
             const struct ctr_cursor *after, uint32_t limit, ctr_visit_fn fn, void *ctx,
             struct ctr_cursor *next) MUST_CHECK;

/* Consent check for a read of record `record` by `reader` for `purpose` at
 * block time now_ms: OK when the reader is the patient, a guardian, the
 * author, or holds (directly or through their organization) an active,
 * unexpired consent scoped to the record or its category for that
 * purpose. Otherwise CONSENT_REQUIRED, CONSENT_EXPIRED, CONSENT_REVOKED,
 * RECORD_ERASED, UNKNOWN_RECORD or IDENTITY_SUSPENDED. */
int ctr_consent_check(struct state *st, const struct hash32 *reader, const struct hash32 *record,
                      struct bytes purpose, uint64_t now_ms) MUST_CHECK;

/* The id of the consent a consent.grant transaction creates:
 * cry_hash_tagged("medchain.consent.v1", the transaction's hash). */
void ctr_consent_id(struct hash32 *out, const struct hash32 *tx_hash);

/* ---- reads ---------------------------------------------------------------
 * Who may read what concerns a patient (the API's authenticated reads).
 * Pure: now_ms is the caller's clock. Each returns OK, ERR_UNAUTHORIZED or
 * a store error. */

/* The identity whose CURRENT signing key is pk, and that may act (it and
 * its organization active). Returns OK, ERR_UNKNOWN_SENDER, ERR_KEY_MISMATCH
 * (a retired key), ERR_SUSPENDED or a store error. */
int ctr_reader_identify(struct state *st, const struct pubkey *pk,
                        struct hash32 *reader) MUST_CHECK;
/* Unfiltered listings of consents, records and audit entries: auditors. */
int ctr_read_all(struct state *st, const struct hash32 *reader) MUST_CHECK;
/* What concerns one patient: the patient, a guardian, an auditor. */
int ctr_read_patient(struct state *st, const struct hash32 *reader,
                     const struct hash32 *patient) MUST_CHECK;
/* Consents granted to grantee: the grantee, an admin of it when it is an
 * organization, an auditor. */
int ctr_read_grantee(struct state *st, const struct hash32 *reader,
                     const struct hash32 *grantee) MUST_CHECK;
/* One record: its patient, a guardian, its author, an auditor, or a holder
 * of a live consent for it (ctr_consent_any). An unknown record is
 * UNAUTHORIZED too. */
int ctr_read_record(struct state *st, const struct hash32 *reader, const struct hash32 *record,
                    uint64_t now_ms) MUST_CHECK;
/* OK when reader, or its organization, holds an active consent unexpired
 * at now_ms that covers the record or its category, for any purpose.
 * Otherwise CONSENT_REQUIRED, CONSENT_EXPIRED, CONSENT_REVOKED,
 * UNKNOWN_RECORD or a store error. */
int ctr_consent_any(struct state *st, const struct hash32 *reader, const struct hash32 *record,
                    uint64_t now_ms) MUST_CHECK;

/* One entry of audit.log_batch's "entries": the record id, the accessor's
 * id and the purpose (printable ASCII, 1 to 32 bytes, NUL-padded to 32). */
#define CTR_AUDIT_ENTRY_BYTES 96
#define CTR_AUDIT_PURPOSE_BYTES 32
/* An audit entry's outcome when the access was allowed; otherwise the
 * stable code of the refusal (err_name). */
#define CTR_OUTCOME_GRANTED "granted"
/* The purpose of a break-glass read. */
#define CTR_PURPOSE_EMERGENCY "emergency"

/* Id of the i-th entry a transaction logs: audit.log's one entry is
 * H("medchain.audit.v1", tx_hash); audit.log_batch's entry i is
 * H("medchain.audit.v1", tx_hash || u32be(i)). */
void ctr_audit_id(struct hash32 *out, const struct hash32 *tx_hash, bool batch, uint32_t i);
/* ---- appointments (appt.c, appt_read.c) -------------------------------------
 * Slots and appointments by start time. A search visits the entries whose
 * start is in [from_ms, to_ms), of one practitioner (NULL: every one), in
 * start order, whose status is `status` (len 0: any); at most limit of
 * them (<= LIM_PAGE_MAX), examining at most LIM_APPT_SCAN_MAX index
 * entries. *next gets a cursor when the range goes on (len 0: done).
 * Committed state only. kind is CTR_SLOT or CTR_APPT (appointments need a
 * practitioner). Returns OK, ERR_BAD_ARGS or the visitor's code. */
int ctr_appt_search(struct state *st, enum ctr_kind kind, const struct hash32 *practitioner,
                    uint64_t from_ms, uint64_t to_ms, struct bytes status,
                    const struct ctr_cursor *after, uint32_t limit, ctr_visit_fn fn, void *ctx,
                    struct ctr_cursor *next) MUST_CHECK;

/* May reader follow a practitioner's appointments (the events stream)?
 * The practitioner, an admin of their organization, an auditor. Returns
 * OK, ERR_UNAUTHORIZED or a store error. */
int ctr_read_practitioner(struct state *st, const struct hash32 *reader,
                          const struct hash32 *practitioner) MUST_CHECK;

/* The booking commitment scheme (docs/security.md). All are BLAKE2b-256
 * tagged hashes (cry_hash_tagged). Clients compute them; the chain stores
 * only their results:
 *   salt        = H("medchain.appt.salt.v1", view_key || slot id)
 *   commitment  = H("medchain.appt.commit.v1", patient id || salt)
 *   patient_enc = patient id XOR H("medchain.appt.pad.v1", salt)
 * view_key is the patient's own secret (the portal and CLI derive it from
 * the patient's X25519 secret key). Anyone holding the salt (it is sealed
 * to the practitioner and admins) can recover the patient id and check it
 * against the commitment. */
void ctr_appt_salt(struct hash32 *salt, const struct hash32 *view_key, const struct hash32 *slot);
void ctr_appt_commitment(struct hash32 *out, const struct hash32 *patient,
                         const struct hash32 *salt);
/* XOR pad: the same call encrypts and decrypts. */
void ctr_appt_patient_enc(struct hash32 *out, const struct hash32 *patient,
                          const struct hash32 *salt);
/* The message a booking's capability key signs to cancel or reschedule:
 * H("medchain.appt.auth.v1", var chain_id | var method | args), args being
 * the call's arguments without their last field (the signature itself). */
void ctr_appt_auth_msg(struct hash32 *out, struct bytes chain_id, struct bytes method,
                       struct bytes args_prefix);
/* A slot's id: H("medchain.slot.v1", schedule id || u64 start_ms). */
void ctr_appt_slot_id(struct hash32 *out, const struct hash32 *schedule, uint64_t start_ms);

/* Appointment statuses. */
#define CTR_APPT_BOOKED "booked"
#define CTR_APPT_CANCELLED "cancelled"
#define CTR_APPT_RESCHEDULED "rescheduled"
#define CTR_APPT_CHECKED_IN "checked_in"
#define CTR_APPT_FULFILLED "fulfilled"
#define CTR_APPT_NOSHOW "noshow"
#define CTR_SLOT_FREE "free"
#define CTR_SLOT_BUSY "busy"

/* ---- supply chain (supply.c, supply_reads.c) ------------------------------ */

/* The package id of an SGTIN (14-digit GTIN, serial) and the lot id of a
 * GTIN's lot: the keys the API looks packages and lots up by. */
void ctr_package_id_sgtin(struct hash32 *id, const char *gtin14, const char *serial);
void ctr_lot_id(struct hash32 *id, const char *gtin14, struct bytes lot);

/* A DSCSA-style verification of a package in hand, at time now_ms. */
enum ctr_verdict {
  CTR_VERIFIED = 0,   /* commissioned, active, lot and expiry as claimed, not recalled */
  CTR_NOT_FOUND,      /* no such serial of this GTIN was ever commissioned */
  CTR_RECALLED,       /* its lot is recalled */
  CTR_EXPIRED,        /* past its expiry date */
  CTR_DISPENSED,      /* already dispensed */
  CTR_DECOMMISSIONED, /* taken out of the supply chain */
  CTR_LOT_MISMATCH,   /* the lot or expiry on the box differs from the commissioned one */
};
/* "verified", "not_found", ... Static. */
const char *ctr_verdict_name(enum ctr_verdict v);
struct ctr_verify_out {
  enum ctr_verdict verdict;
  struct hash32 package; /* zero when not found */
  struct hash32 holder;  /* the custodian: its case's holder while packed */
  struct hash32 lot;
  bool in_transit;
};
/* Verifies (gtin14, serial) against the claimed lot (len 0: not checked)
 * and expiry (yyyymmdd, 0: not checked). Returns OK with out filled, or a
 * store error. */
int ctr_drug_verify(struct state *st, const char *gtin14, const char *serial, struct bytes lot,
                    uint32_t expiry, uint64_t now_ms, struct ctr_verify_out *out) MUST_CHECK;

/* One entry of a package's history: an event, and the case through which
 * it reached the package (zero when it named the package itself). */
typedef int (*ctr_history_fn)(void *ctx, const struct hash32 *event, const struct hash32 *via);
/* Calls fn for each event of the package in chain order: its own events
 * and, while it was packed, its case's. At most LIM_HISTORY_MAX entries.
 * Committed state only. Returns OK, ERR_NOT_FOUND (no such package), or
 * fn's code. */
int ctr_drug_history(struct state *st, const struct hash32 *package, ctr_history_fn fn,
                     void *ctx) MUST_CHECK;

/* The current custodians of a lot's packages: holder organization, how
 * many of its packages it holds (active: not dispensed nor
 * decommissioned), and how many of those are in transit to someone else.
 * At most LIM_MEMBERS_MAX holders, scanning at most LIM_LOT_SCAN_MAX
 * packages. Returns OK, ERR_NOT_FOUND (no such lot), ERR_LIMIT, or a store
 * error. */
struct ctr_holding {
  struct hash32 org;
  uint64_t packages;
  uint64_t in_transit;
};
int ctr_lot_holders(struct state *st, const struct hash32 *lot, struct ctr_holding *out, size_t cap,
                    size_t *n) MUST_CHECK;

/* Who may read a prescription (the FHIR MedicationRequest): its patient, a
 * guardian or an auditor (ctr_read_patient), its prescriber, an admin of
 * the prescriber's organization, or an admin or practitioner of a
 * pharmacy (to dispense it). Returns OK, ERR_UNAUTHORIZED (also for an
 * unknown prescription) or a store error. */
int ctr_read_rx(struct state *st, const struct hash32 *reader, const struct hash32 *rx) MUST_CHECK;

/* Identity roles (the "kind" field of CTR_IDENTITY). */
#define CTR_ROLE_ADMIN "admin"
#define CTR_ROLE_PRACTITIONER "practitioner"
#define CTR_ROLE_PATIENT "patient"
#define CTR_ROLE_AUDITOR "auditor"

#endif
