/*
 * The FHIR R4 facade's internals, shared by src/api/fhir*.c only.
 *
 * One table of resource types (fhir.c, fhir_types[]) says for each type
 * how it is read, searched (with which parameters) and created; the
 * router, the CapabilityStatement and the docs all follow that table, so
 * the facade never claims an interaction it does not serve. A type backed
 * by one contract entity kind (Patient from identities, Consent from
 * consents, ...) needs only a struct fhir_source: the generic read and
 * search in fhir_entity.c do the look-up, the paging and the same
 * authorization as the /v1 routes, and call its render function. Adding a
 * type: a file src/api/fhir_<type>.c defining a const struct fhir_type, an
 * extern below, and one line in fhir_types[].
 */
#ifndef MEDCHAIN_API_FHIR_INTERNAL_H
#define MEDCHAIN_API_FHIR_INTERNAL_H

#include "api/api_internal.h"

#define FHIR_VERSION "4.0.1"
#define FHIR_CONTENT_TYPE "application/fhir+json"

/* Our own systems and extensions (stable URLs: clients match on them). */
#define FHIR_SID_IDENTITY "https://medchain.dev/fhir/sid/identity"
#define FHIR_SID_LICENCE "https://medchain.dev/fhir/sid/licence-hash"
#define FHIR_SID_RECORD "https://medchain.dev/fhir/sid/record"
#define FHIR_SID_NODE "https://medchain.dev/fhir/sid/node"
#define FHIR_SID_CONTENT_HASH "https://medchain.dev/fhir/sid/content-hash-blake2b"
#define FHIR_CS_CATEGORY "https://medchain.dev/fhir/CodeSystem/record-category"
#define FHIR_CS_PURPOSE "https://medchain.dev/fhir/CodeSystem/purpose"
#define FHIR_CS_ORG_KIND "https://medchain.dev/fhir/CodeSystem/organization-kind"
#define FHIR_CS_FHIR_TYPE "https://medchain.dev/fhir/CodeSystem/fhir-type"
#define FHIR_CS_ERROR "https://medchain.dev/fhir/CodeSystem/error"
#define FHIR_EXT_SIGNED_TX "https://medchain.dev/fhir/StructureDefinition/signed-transaction"
#define FHIR_EXT_ANCHOR "https://medchain.dev/fhir/StructureDefinition/anchor"
#define FHIR_EXT_REASON_HASH "https://medchain.dev/fhir/StructureDefinition/reason-hash"
#define FHIR_CS_ACT_REASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"

/* The status of an active entity, as the contracts write it. */
#define FHIR_ENTITY_ACTIVE "active"

/* The longest type name, id and absolute base URL ("http://host:port/fhir"). */
#define FHIR_TYPE_MAX 64
#define FHIR_ID_MAX 64
#define FHIR_BASE_MAX 320
_Static_assert(FHIR_BASE_MAX + FHIR_TYPE_MAX + FHIR_ID_MAX + 2 < API_HEADER_VALUE_MAX,
               "a Location header fits");

struct fhir_ctx;
struct fhir_search;

/* A decoded contract entity: its schema and field values (borrowing from
 * the state's bytes, valid while the read view is open). */
struct fhir_ent {
  enum ctr_kind kind;
  const struct codec_schema *schema;
  struct codec_value vals[LIM_FIELDS_MAX];
};
int fhir_ent_decode(struct fhir_ent *e, enum ctr_kind kind, struct bytes val) MUST_CHECK;
/* Field accessors by name; the field must exist with that type (a bug
 * otherwise: the schemas are ours). */
const struct hash32 *fhir_ent_id(const struct fhir_ent *e, const char *name);
uint64_t fhir_ent_u64(const struct fhir_ent *e, const char *name);
bool fhir_ent_bool(const struct fhir_ent *e, const char *name);
/* A string field as a JSON string (NULL on allocation failure). */
json_t *fhir_ent_str_json(const struct fhir_ent *e, const char *name);
bool fhir_ent_str_is(const struct fhir_ent *e, const char *name, const char *z);
/* The string field copied into out (cap bytes with the NUL; truncated to fit). */
void fhir_ent_str(const struct fhir_ent *e, const char *name, char *out, size_t cap);

/* ---- a request on the facade --------------------------------------------------- */

typedef int (*fhir_render_fn)(struct fhir_ctx *f, const struct fhir_ent *e, json_t **out);
typedef bool (*fhir_keep_fn)(const struct fhir_ent *e);

/* A type backed by one entity kind. */
struct fhir_source {
  enum ctr_kind kind;
  /* Answer only signed requests (any active identity) even where /v1 is
   * public: Patient, so nothing about a patient is served unsigned. Kinds
   * /v1 protects (consents, records, audit) follow /v1's rules anyway. */
  bool signed_only;
  fhir_keep_fn keep;         /* which entities of the kind are this type; NULL: all */
  fhir_render_fn render;     /* the resource; may refuse (RECORD_ERASED) */
  const char *not_this_type; /* read of an entity that keep() refuses: NOT_FOUND */
};

/* One search parameter a type supports. */
struct fhir_param {
  const char *name;       /* "patient" */
  const char *type;       /* FHIR search parameter type: "reference", "token", "date" */
  enum ctr_filter filter; /* the listing it selects (CTR_ALL: handled by the type) */
  const char *doc;
};

/* A type whose parameters combine (Slot, Appointment): one reference, one
 * token and a date given as a lower and an upper bound, instead of one
 * filter at a time (fhir_query.c). */
struct fhir_combined {
  /* The token parameter's codes (NULL-terminated: any other is 400) and
   * their system, which a value may name as "system|code". */
  const char *const *codes;
  const char *system;
  /* Completes and vets the parsed search before anything is read (a
   * default range, a required parameter); NULL: nothing to. */
  int (*check)(struct api_ctx *c, struct fhir_search *s);
};

/* A date parameter's bounds as the half-open range [from_ms, to_ms):
 * ge/gt/le/lt/eq on a date (a UTC day) or an instant (fhir_query.c). */
struct fhir_dates {
  bool has_from;
  bool has_to;
  uint64_t from_ms;
  uint64_t to_ms;
};

struct fhir_search {
  const struct fhir_param *param; /* NULL: no filter (combined: the reference parameter) */
  struct hash32 key;              /* the filter's id */
  bool by_id;                     /* _id=... */
  struct hash32 id;
  uint32_t count;           /* _count */
  struct ctr_cursor cursor; /* _cursor */
  /* Types with combined parameters (fhir_type.combined) also get: */
  const char *code;        /* the token parameter's code (NULL: none), in the query */
  struct fhir_dates dates; /* the date parameter's bounds */
};

/* One page of a search: the matches (resources) and the cursor of the
 * next page (len 0: the last one). */
struct fhir_page {
  json_t *resources; /* array */
  struct ctr_cursor next;
};

typedef int (*fhir_read_fn)(struct fhir_ctx *f, const struct hash32 *id, json_t **out);
typedef int (*fhir_search_fn)(struct fhir_ctx *f, const struct fhir_search *s,
                              struct fhir_page *page);
/* Creates from the request's resource; *out gets the created resource
 * and *id its id. */
typedef int (*fhir_create_fn)(struct fhir_ctx *f, json_t *resource, json_t **out,
                              struct hash32 *id);

struct fhir_type {
  const char *name;                 /* "Patient" */
  const char *doc;                  /* CapabilityStatement resource documentation */
  const struct fhir_source *source; /* entity-backed; NULL for custom types */
  fhir_read_fn read;                /* NULL: no read */
  fhir_search_fn search;            /* NULL: no search */
  fhir_create_fn create;            /* NULL: no create */
  const struct fhir_param *params;  /* search parameters besides _id */
  size_t nparams;
  bool opens_content;                   /* read and search take ?purpose= (the access's purpose) */
  const struct fhir_combined *combined; /* NULL: one filter at a time */
};

struct fhir_ctx {
  struct api_ctx *c;
  const struct fhir_type *type;
  char base[FHIR_BASE_MAX]; /* absolute base URL, no trailing slash */
  struct node_view *view;   /* open during read and search */
  struct state *st;
  bool have_reader;
  struct hash32 reader; /* the signer, when have_reader */
};

/* The table (fhir.c). */
size_t fhir_type_count(void);
const struct fhir_type *fhir_type_at(size_t i);
const struct fhir_type *fhir_type_find(const char *name);

/* The CapabilityStatement, built from the table alone; base is the
 * absolute base URL. NULL on allocation failure. */
json_t *fhir_capability(const char *base, uint64_t now_ms);

/* Generic read and search of entity-backed types (fhir_entity.c). */
int fhir_entity_read(struct fhir_ctx *f, const struct hash32 *id, json_t **out) MUST_CHECK;
int fhir_entity_search(struct fhir_ctx *f, const struct fhir_search *s,
                       struct fhir_page *page) MUST_CHECK;
/* Authenticates the request (once per request); OK with f->reader set. */
int fhir_auth(struct fhir_ctx *f) MUST_CHECK;

/* Block `height` of the request's view (its header's time, its
 * transactions); release with fhir_block_free. OK, ERR_NOT_FOUND, ... */
int fhir_block_load(struct fhir_ctx *f, uint64_t height, struct block **b,
                    uint8_t **raw) MUST_CHECK;
void fhir_block_free(struct block *b, uint8_t *raw);

/* ---- rendering helpers (fhir_util.c) ------------------------------------------- */

/* "2026-11-21T20:42:15.123Z" for Unix ms. */
void fhir_instant(char out[32], uint64_t ms);
json_t *fhir_instant_json(uint64_t ms);
/* Parses a FHIR dateTime/instant with a time and a zone (Z or +hh:mm),
 * seconds and a fraction of up to 3 digits optional... to Unix ms.
 * ERR_BAD_REQUEST when it is not one. */
int fhir_parse_instant(uint64_t *ms, const char *s) MUST_CHECK;
/* "YYYY-MM-DD" as the Unix ms of its first instant (UTC). ERR_BAD_REQUEST
 * when it is not a real date from 1970 on. */
int fhir_parse_date(uint64_t *ms, const char *s) MUST_CHECK;
/* {"reference": "Type/hex"} */
json_t *fhir_ref(const char *type, const struct hash32 *id);
/* A reference to the identity or organization id: Patient/,
 * Practitioner/ or Organization/ by what it is on chain; an admin or
 * auditor (no resource here) as an identifier with its kind as display. */
json_t *fhir_ref_party(struct state *st, const struct hash32 *id);
/* {"coding":[{"system","code"[,"display"]}][,"text"]} */
json_t *fhir_concept(const char *system, const char *code, const char *display);
json_t *fhir_coding(const char *system, const char *code, const char *display);
/* The v3-ActReason code of one of our purposes ("treatment" -> TREAT), or
 * NULL when none fits; and back. */
const char *fhir_purpose_v3(const char *purpose);
const char *fhir_purpose_from_v3(const char *code);
/* Parses "Type/hex" or "hex" (and "[base]/Type/hex") as a 32-byte id;
 * *type_out (may be NULL) gets the type part (empty when none). */
int fhir_ref_parse(const char *ref, struct hash32 *id, char type_out[FHIR_TYPE_MAX + 1]) MUST_CHECK;
/* Standard base64 (with padding), strict. */
int fhir_base64_decode(uint8_t *out, size_t cap, size_t *out_len, const char *s) MUST_CHECK;
json_t *fhir_base64_json(const uint8_t *p, size_t len);
/* The OperationOutcome issue type for one of our error codes. */
const char *fhir_issue_code(int err);
/* An OperationOutcome for err with message (NULL: err_str) and, when
 * extra holds "hash"/"status" (a transaction's), an informational issue
 * naming them. */
json_t *fhir_outcome(int err, const char *message, const json_t *extra);

/* ---- resource types ------------------------------------------------------------- */

extern const struct fhir_type fhir_patient;
extern const struct fhir_type fhir_practitioner;
extern const struct fhir_type fhir_organization;
extern const struct fhir_type fhir_consent;
extern const struct fhir_type fhir_audit_event;
extern const struct fhir_type fhir_provenance;
extern const struct fhir_type fhir_document_reference;
extern const struct fhir_type fhir_observation;
extern const struct fhir_type fhir_schedule;
extern const struct fhir_type fhir_slot;
extern const struct fhir_type fhir_appointment;

/* Combined search parameters (fhir_query.c): adds the value v of
 * parameter p of type t (t->combined) to s (a second reference or token,
 * or a date bound given twice, is 400 with c->message set). */
int fhir_query_term(struct api_ctx *c, const struct fhir_type *t, const struct fhir_param *p,
                    const char *v, struct fhir_search *s) MUST_CHECK;
/* One date parameter value ("ge2026-11-23", "lt2026-11-24T09:00:00Z",
 * "2026-11-23") into d. ERR_BAD_REQUEST when it is not one we take. */
int fhir_date_term(struct fhir_dates *d, const char *v) MUST_CHECK;
extern const struct fhir_type fhir_medication_request;
extern const struct fhir_type fhir_medication_dispense;

/* Stores and anchors resource res (its resourceType is the record's FHIR
 * type) for the signer, a practitioner, through node_record_create:
 * subject Patient/{id}, the category from res.category (our system, else
 * category_system's code when not NULL). *record gets the id. */
int fhir_record_create(struct fhir_ctx *f, json_t *res, const char *category_system,
                       struct hash32 *record) MUST_CHECK;

#endif
