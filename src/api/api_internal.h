/*
 * api internals shared by the module's files: the socket-free router the
 * server and the fuzzer both call, the request counters behind /metrics,
 * and the JSON rendering of schema records, blocks and errors. Nothing
 * outside src/api/ includes this, except the module's own unit test and
 * fuzz target.
 */
#ifndef MEDCHAIN_API_INTERNAL_H
#define MEDCHAIN_API_INTERNAL_H

#include "api/api.h"
#include "contracts/contracts.h"

#include <jansson.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h> /* ssize_t */

/* ---- the router ------------------------------------------------------------ */

/* One HTTP request as the router sees it: no socket, no library types.
 * Strings are NUL-terminated and borrowed for the call. */
struct api_request {
  const char *method;       /* "GET", "POST", anything a client sent */
  const char *path;         /* raw path, e.g. "/v1/blocks/7" (not decoded) */
  const char *query;        /* raw query without '?', or NULL */
  const char *content_type; /* Content-Type header, or NULL */
  const uint8_t *body;      /* may be NULL when body_len is 0 */
  size_t body_len;
  bool body_oversize; /* the server stopped reading past LIM_HTTP_BODY_MAX */
  /* The signed-request headers (auth.c), or NULL when absent. */
  const char *auth_key;       /* X-Medchain-Key */
  const char *auth_timestamp; /* X-Medchain-Timestamp */
  const char *auth_nonce;     /* X-Medchain-Nonce */
  const char *auth_signature; /* X-Medchain-Signature */
  /* X-Medchain-Reason: an emergency read's reason (never logged). */
  const char *reason;
  /* GET /v1/events: the server's event hub, and the subscription the
   * handler opens for the server to stream from (NULL: no streaming). */
  struct api_stream *stream;
  /* The portal's files (static.c): the web directory, or NULL when the
   * server has none (then "/" and "/assets/..." match no route). */
  const char *web_dir;
  const char *if_none_match; /* If-None-Match header, or NULL */
  const char *accept;        /* Accept header, or NULL (the FHIR facade) */
  const char *host;          /* Host header, or NULL (the FHIR facade's links) */
};

/* ETag text of a static file: quotes and three hex numbers. */
#define API_ETAG_MAX 64

/* A portal file as an answer (static.c). */
struct api_file {
  bool portal; /* a portal answer: the server adds API_PORTAL_CSP, no-cache, etag */
  bool open;   /* fd is an open regular file of len bytes: the body to send */
  int fd;
  uint64_t len;
  char etag[API_ETAG_MAX]; /* "" when none */
};

/* Response headers a handler adds (names static). */
#define API_HEADERS_MAX 3
/* The longest value: a FHIR Location (base URL, type, id). */
#define API_HEADER_VALUE_MAX 512
_Static_assert(API_HEADER_VALUE_MAX >= 2 * LIM_SEALED_KEY_BYTES + 1, "a sealed key in hex fits");
struct api_header {
  const char *name;
  char value[API_HEADER_VALUE_MAX];
};

/* Body bytes a request may carry: LIM_HTTP_BODY_MAX, or LIM_BLOB_BYTES_MAX
 * (plus room for its JSON encoding on FHIR creates) for uploads. Decided
 * from the method and the raw target before the body is read. */
size_t api_body_limit(const char *method, const char *uri);

/* The answer: status, a malloc'd body and a static content type; for a
 * portal file the body is "" and file.fd holds the bytes to send. */
struct api_reply {
  int status;
  char *body; /* NUL-terminated, owned by the reply */
  size_t len;
  const char *content_type;
  const char *route;    /* matched route pattern (static), or "unmatched" */
  struct api_file file; /* file.open: owned by the reply until the server takes it */
  uint8_t nheaders;
  struct api_header headers[API_HEADERS_MAX];
};

struct api_metrics;

/* Routes req to its handler and fills out. n may be NULL (the fuzzer, unit
 * tests): routes that need the node then answer UNAVAILABLE after checking
 * their parameters. m may be NULL (no counting). Never fails: every
 * outcome, including out of memory, is a reply. Blocks only in POST
 * /v1/txs?wait=commit. */
void api_route(struct node *n, struct api_metrics *m, const struct api_request *req,
               struct api_reply *out);
/* Frees the body and closes a file the server did not take. */
void api_reply_free(struct api_reply *r);

/* ---- request counters ------------------------------------------------------ */

/* Route slots: every entry of the route table, plus one for requests that
 * matched none. Status slots: the statuses the API answers with, plus one
 * for anything else. */
#define API_ROUTE_SLOTS 64
#define API_STATUS_SLOTS 20

struct api_metrics {
  _Atomic uint64_t counts[API_ROUTE_SLOTS][API_STATUS_SLOTS];
};

void api_metrics_init(struct api_metrics *m);
/* Counts one request answered with status on route slot `route`. */
void api_metrics_count(struct api_metrics *m, size_t route, int status);
/* Calls fn for every non-zero counter: the route pattern, the status (0 for
 * "other") and the count. Counters keep moving while this runs; each value
 * read is a consistent snapshot of that one counter. */
typedef void (*api_metrics_fn)(void *ctx, const char *route, int status, uint64_t count);
void api_metrics_each(struct api_metrics *m, api_metrics_fn fn, void *ctx);

/* Route table introspection for the counters: pattern of slot i, or NULL
 * past the end. */
const char *api_route_pattern(size_t slot);

/* ---- JSON ------------------------------------------------------------------ */

/* Parses a request body as JSON (JSON_REJECT_DUPLICATES, any top-level
 * value) and checks its nesting depth against LIM_JSON_DEPTH_MAX with an
 * explicit, bounded stack. Returns OK with *out owned by the caller, or
 * ERR_INVALID_JSON. */
int api_json_parse_body(json_t **out, const uint8_t *body, size_t len) MUST_CHECK;
/* Nesting depth of v (a scalar is 0) when at most max; max + 1 as soon as
 * it is deeper. Iterative. */
size_t api_json_depth(const json_t *v, size_t max);

/* Lower-case hex string of len bytes (NULL on allocation failure). */
json_t *api_json_hex(const uint8_t *p, size_t len);
/* A u64 as a JSON integer; above INT64_MAX (which jansson cannot hold) as a
 * decimal string, so no value is ever rounded. */
json_t *api_json_u64(uint64_t v);
/* An encoded schema record as a JSON object, per the rendering rules in
 * api.h. NULL when val does not decode under schema or on allocation
 * failure. */
json_t *api_record_to_json(const struct codec_schema *schema, struct bytes val);
/* {"error":{"code":NAME,"message":...}} */
json_t *api_error_json(int err);
/* Name of a result code: "OK" or the error's stable name. */
const char *api_result_name(int code);

/* Full block JSON (header, transactions with decoded arguments and result
 * codes, commit), optionally with "raw". results[i] is the stored result
 * code of tx i, or -1 when unknown. NULL on allocation failure. */
json_t *api_block_json(const struct block *b, const int *results, struct bytes raw);
/* Block summary: height, hash, time_ms, proposer, tx_count. */
json_t *api_block_summary_json(const struct block *b);

/* ---- handlers --------------------------------------------------------------- */

#define API_QUERY_MAX 16  /* parameters in one query string */
#define API_PARAM_MAX 128 /* bytes of one {path} parameter */

/* A parsed query string: percent-decoded keys and values in buf. */
struct api_query {
  size_t n;
  char *key[API_QUERY_MAX];
  char *val[API_QUERY_MAX];
  char *buf;
};

/* What a handler sees and fills. It returns OK with its answer in json
 * (status 200 unless it sets another), or in text/content_type for a
 * non-JSON answer; or an error code, and then json, when set, is an object
 * of extra fields merged into the error body. */
struct api_ctx {
  struct node *node; /* NULL: answer UNAVAILABLE once parameters check */
  struct api_metrics *metrics;
  const struct api_request *req;
  const void *arg;               /* the route's argument */
  char param[API_PARAM_MAX + 1]; /* the {...} path segment, or "" */
  struct api_query query;
  int status;
  json_t *json;
  char *text; /* malloc'd */
  size_t text_len;
  const char *content_type;
  const char *message;  /* static text replacing the error's err_str(), or NULL */
  struct api_file file; /* a portal file (static.c) */
  uint8_t nheaders;     /* extra response headers (success and error alike) */
  struct api_header headers[API_HEADERS_MAX];
};
/* Adds a response header (name static; value copied, truncated). */
void api_header_add(struct api_ctx *c, const char *name, const char *value);
typedef int (*api_handler_fn)(struct api_ctx *c);

/* Query helpers: a parameter's decoded value, or NULL when absent. */
const char *api_query_get(const struct api_ctx *c, const char *key);
/* Parsers of optional parameters: OK with *present false when absent,
 * BAD_REQUEST when present but invalid. */
int api_query_u64(const struct api_ctx *c, const char *key, uint64_t *out,
                  bool *present) MUST_CHECK;
int api_query_id(const struct api_ctx *c, const char *key, struct hash32 *out,
                 bool *present) MUST_CHECK;
/* ?limit: default 50, 1..LIM_PAGE_MAX. */
int api_query_limit(const struct api_ctx *c, uint32_t *limit) MUST_CHECK;
/* The path parameter as a 32-byte hex id; BAD_REQUEST otherwise. */
int api_param_id(const struct api_ctx *c, struct hash32 *out) MUST_CHECK;
/* Opens a read view: UNAVAILABLE without a node. */
int api_view_open(const struct api_ctx *c, struct node_view **out) MUST_CHECK;

/* Entity routes: one spec per kind, the route table points at them. */
struct api_entity {
  enum ctr_kind kind;
  bool with_nonce; /* identities also show their next nonce */
  const char *filter_keys[3];
  enum ctr_filter filters[3];
};
extern const struct api_entity api_entities[CTR_KIND_COUNT_];

/* ---- signed requests (auth.c) ------------------------------------------------ */

#define API_AUTH_TAG "medchain.request.v1"
#define API_AUTH_WINDOW_MS LIM_AUTH_WINDOW_MS /* clock skew either way */
#define API_AUTH_NONCE_BYTES 16
#define API_AUTH_REPLAY_MAX LIM_AUTH_REPLAY_MAX /* (key, nonce) pairs remembered */

/* What a signed request's signature covers: cry_hash_tagged(API_AUTH_TAG,
 * u8 len(method) | method | u32 len(target) | target | BLAKE2b-256(body)
 * | u64 ts_ms | nonce(16) | var chain_id), where target is path, then '?'
 * and query when query is not NULL: the request target exactly as sent.
 * Big-endian integers; var is a u32 length then the bytes. */
void api_auth_digest(struct hash32 *out, const char *method, const char *path, const char *query,
                     const uint8_t *body, size_t body_len, uint64_t ts_ms,
                     const uint8_t nonce[API_AUTH_NONCE_BYTES], const char *chain_id);
/* Allocates the process-wide replay cache (once; later calls only report
 * the first one's outcome). OK or ERR_NOMEM. api_server_start calls it so a
 * node pays for the cache before it serves; api_auth_reader calls it too. */
int api_auth_replay_init(void) MUST_CHECK;
/* Authenticates c's request against st and the node's clock: *reader gets
 * the signer's identity. Returns OK, AUTH_REQUIRED, BAD_SIGNATURE,
 * REQUEST_EXPIRED, UNKNOWN_SENDER, KEY_MISMATCH, IDENTITY_SUSPENDED,
 * REQUEST_REPLAYED, UNAVAILABLE (replay cache full) or a store error.
 * Needs c->node. */
int api_auth_reader(struct api_ctx *c, struct state *st, struct hash32 *reader) MUST_CHECK;
/* Whether reading this kind of entity needs a signed request. */
bool api_auth_protected(enum ctr_kind kind);
/* May reader list with this filter and key? OK, UNAUTHORIZED, store error. */
int api_auth_list(struct state *st, enum ctr_filter filter, const struct hash32 *key,
                  const struct hash32 *reader) MUST_CHECK;
/* May reader see this entity (val encoded under kind's schema)? */
int api_auth_entity(struct state *st, enum ctr_kind kind, struct bytes val,
                    const struct hash32 *reader) MUST_CHECK;

int api_h_health(struct api_ctx *c) MUST_CHECK;
int api_h_record_content(struct api_ctx *c) MUST_CHECK;
int api_h_blob_put(struct api_ctx *c) MUST_CHECK;
int api_h_blob_get(struct api_ctx *c) MUST_CHECK;
int api_h_metrics(struct api_ctx *c) MUST_CHECK;
int api_h_methods(struct api_ctx *c) MUST_CHECK;
int api_h_status(struct api_ctx *c) MUST_CHECK;
int api_h_blocks(struct api_ctx *c) MUST_CHECK;
int api_h_block(struct api_ctx *c) MUST_CHECK;
int api_h_block_latest(struct api_ctx *c) MUST_CHECK;
int api_h_state_proof(struct api_ctx *c) MUST_CHECK;
int api_h_tx_submit(struct api_ctx *c) MUST_CHECK;
int api_h_tx_get(struct api_ctx *c) MUST_CHECK;
int api_h_entity_list(struct api_ctx *c) MUST_CHECK;
int api_h_entity_get(struct api_ctx *c) MUST_CHECK;
int api_h_key_get(struct api_ctx *c) MUST_CHECK;
/* GET /v1/slots, GET /v1/appointments (arg: the kind's api_entity) and
 * GET /v1/patients/{id}/appointments (routes_appt.c). */
int api_h_appt_search(struct api_ctx *c) MUST_CHECK;
/* POST /v1/appointments: a patient's signed booking, cancel or reschedule,
 * carried on chain by this node's operator for the slot's organization. */
int api_h_appt_relay(struct api_ctx *c) MUST_CHECK;
/* The answer to a submitted transaction after node_tx_wait returned rc
 * with st (routes_txs.c): committed with its location and result code,
 * or pending / dropped. */
int api_tx_wait_answer(struct api_ctx *c, const struct hash32 *h, int rc,
                       const struct node_tx_status *st) MUST_CHECK;
int api_h_patient_appts(struct api_ctx *c) MUST_CHECK;
/* Drug traceability (routes_drugs.c): GET /v1/drugs/verify,
 * /v1/drugs/{gtin}/{serial}/history, /v1/drugs/lots/{gtin}/{lot}/holders. */
int api_h_drug_verify(struct api_ctx *c) MUST_CHECK;
int api_h_drug_history(struct api_ctx *c) MUST_CHECK;
int api_h_lot_holders(struct api_ctx *c) MUST_CHECK;
/* ---- EPCIS 2.0 (epcis.c) ------------------------------------------------------ */

/* Longest pre-hash string of one supported event. */
#define API_EPCIS_PREHASH_MAX 8192
#define API_EPCIS_HASH_URI_MAX 96
/* The canonical pre-hash of an EPCIS 2.0 JSON event (GS1's event-hash
 * algorithm over the fields medchain supports; see epcis.c) into out.
 * Returns OK, BAD_REQUEST (unsupported or malformed field),
 * GS1_MALFORMED, GS1_CHECK_DIGIT or OVERSIZE. */
int api_epcis_prehash(const json_t *event, char *out, size_t cap, size_t *len) MUST_CHECK;
/* SHA-256 of the pre-hash. */
int api_epcis_event_hash(const json_t *event, struct hash32 *out) MUST_CHECK;
/* "ni:///sha-256;HEX?ver=CBV2.0". */
void api_epcis_hash_uri(char out[API_EPCIS_HASH_URI_MAX], const struct hash32 *h);
/* The contract call an event stands for, its arguments encoded. */
struct api_epcis_call {
  char contract[8];
  char method[16];
  struct hash32 hash;
  uint8_t args[LIM_ARGS_MAX];
  size_t args_len;
};
int api_epcis_event_call(const json_t *event, struct api_epcis_call *out) MUST_CHECK;
/* POST /v1/epcis/capture. */
int api_h_epcis_capture(struct api_ctx *c) MUST_CHECK;
/* GET /v1/openapi.json: the embedded docs/openapi.json (openapi.c). */
int api_h_openapi(struct api_ctx *c) MUST_CHECK;

/* ---- the FHIR R4 facade (fhir*.c) -------------------------------------------- */

/* GET, HEAD and POST under /fhir/: metadata, read, search, create. */
int api_h_fhir(struct api_ctx *c) MUST_CHECK;
/* Whether path is under the facade ("/fhir" or "/fhir/..."): its errors
 * are OperationOutcome resources. */
bool api_fhir_path(const char *path);
/* Replaces out (an error answer) by the OperationOutcome of err, with the
 * same status. message: NULL for err_str(err); extra: the handler's extra
 * error fields, or NULL. */
void api_fhir_error_reply(struct api_reply *out, int err, const char *message, const json_t *extra);

/* ---- the portal's files (static.c) ------------------------------------------- */

/* A request path's longest form, its deepest nesting below /assets/ and its
 * longest segment: the portal's own names are far shorter. */
#define API_STATIC_PATH_MAX 256
#define API_STATIC_DEPTH_MAX 8
#define API_STATIC_SEGMENT_MAX 64

/* The Content-Security-Policy of every portal answer: scripts, styles,
 * images and connections from the node itself only, no inline script or
 * style, no plugins, no framing. 'wasm-unsafe-eval' lets the page compile
 * libsodium's WebAssembly; it allows no JavaScript eval. */
#define API_PORTAL_CSP                                                                             \
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "                   \
  "img-src 'self'; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "     \
  "frame-ancestors 'none'"

/* Maps a request path to a file below the web directory: "/" to
 * "index.html", "/assets/NAME..." to "assets/NAME..." (see static.c for
 * the grammar). rel gets the relative path (cap bytes, NUL included).
 * Returns OK, ERR_ROUTE when path is not a portal path at all, or
 * ERR_BAD_REQUEST when it is one but malformed (traversal, escapes, ...).
 * Pure: no file system access. */
int api_static_path(char *rel, size_t cap, const char *path) MUST_CHECK;
/* The Content-Type for rel's extension, or NULL when not served. Static. */
const char *api_static_type(const char *rel);
/* Opens web_dir/rel for reading, one segment at a time without following
 * any symbolic link; *st gets its status. OK with *fd open (the caller
 * closes it), or ERR_NOT_FOUND: missing, a link, not a regular file, or
 * over LIM_HTTP_FILE_MAX bytes. Does not block on FIFOs. */
int api_static_open(int *fd, struct stat *st, const char *web_dir, const char *rel) MUST_CHECK;
/* The ETag of a file with status st, into out. */
void api_static_etag(char out[API_ETAG_MAX], const struct stat *st);
/* Whether an If-None-Match header value names etag (or is "*"). */
bool api_static_etag_match(const char *if_none_match, const char *etag);
/* GET and HEAD of a portal path (req->web_dir set). */
int api_h_static(struct api_ctx *c) MUST_CHECK;

/* ---- server-sent events (events.c) ------------------------------------------- */

/* Fits the longest event: three ids, a height and the field names. */
#define API_EVENT_TEXT_MAX 512
/* Events kept for slow readers: more than a full block's (LIM_BLOCK_TXS_MAX
 * tx events, their consent events and the block event), so one block never
 * overflows a subscriber that keeps up between blocks. */
#define API_EVENTS_BACKLOG 16384
_Static_assert(API_EVENTS_BACKLOG > 2 * LIM_BLOCK_TXS_MAX + 1, "a block's events fit the ring");
/* Concurrent GET /v1/events streams; beyond, 503 UNAVAILABLE. */
#define API_EVENTS_SUBSCRIBERS_MAX 64
_Static_assert(API_EVENTS_SUBSCRIBERS_MAX < LIM_HTTP_CONNECTIONS_MAX, "streams leave room");
/* Longest a stream's reader waits for an event: bounds how long a stopping
 * server waits for its streams. */
#define API_EVENTS_WAIT_MS 1000
/* A comment line after this long without writing, so proxies and the
 * server's idle timeout keep the stream open. */
#define API_EVENTS_KEEPALIVE_MS 15000

struct api_events; /* the hub: ring of recent events, subscribers */
struct api_sub;    /* one stream */

struct api_stream {
  struct api_events *hub; /* NULL: the route answers UNAVAILABLE */
  struct api_sub *sub;    /* set by the handler on success; the server owns it */
};

/* One consent change a committed transaction made: ids only. */
struct api_consent_change {
  struct hash32 consent;
  struct hash32 patient;
  struct hash32 grantee;
  bool revoked;
};

/* The hub for node n (NULL: no consent lookups). The caller registers
 * api_events_on_commit with the node. OK or ERR_NOMEM. */
int api_events_create(struct api_events **out, struct node *n) MUST_CHECK;
/* Ends every stream within API_EVENTS_WAIT_MS; new subscriptions fail. */
void api_events_stop(struct api_events *h);
/* Frees the hub: every subscriber gone, and the node no longer commits. */
void api_events_destroy(struct api_events *h);
/* node_commit_fn: formats the block's events into the ring, wakes readers.
 * Never blocks on a reader. */
void api_events_on_commit(void *ctx, const struct block *b, const uint16_t *results);
/* A stream from now on: block events, plus tx events (patient NULL) or
 * that patient's consent events. ERR_UNAVAILABLE when full or stopping. */
int api_events_subscribe(struct api_events *h, const struct hash32 *patient,
                         struct api_sub **out) MUST_CHECK;
void api_events_unsubscribe(struct api_sub *s);
/* Marks a patient's stream as signed by reader (key pk): before each event
 * the node checks again that the reader may read the patient's data, and
 * ends the stream with `event: unauthorized` when not. */
void api_events_set_reader(struct api_sub *s, const struct hash32 *reader, const struct pubkey *pk);
/* Turns a stream subscribed with a practitioner's id in `patient` into
 * that practitioner's appointment stream (call before set_reader; the
 * reader's right is then ctr_read_practitioner). */
void api_events_set_practitioner(struct api_sub *s);
uint32_t api_events_subscribers(struct api_events *h);
/* Copies up to max bytes of the stream into buf; waits up to wait_ms when
 * nothing is due. Returns the count (0: nothing yet, call again), or -1
 * when the stream ends (stopping, or after an overflow notice). */
ssize_t api_events_read(struct api_sub *s, char *buf, size_t max, uint32_t wait_ms);

/* "id: H:I\nevent: EVENT\ndata: DATA\n\n" into out. OK or ERR_OVERSIZE. */
int api_event_format(char *out, size_t cap, size_t *len, const char *event, uint64_t height,
                     uint32_t index, const char *data) MUST_CHECK;
int api_event_block(char *out, size_t cap, size_t *len, const struct block *b) MUST_CHECK;
int api_event_tx(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                 const struct hash32 *hash, const char *contract, const char *method,
                 int result) MUST_CHECK;
int api_event_consent(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                      const struct api_consent_change *cc) MUST_CHECK;
/* The consent change of a consent.grant or consent.revoke (the revoked
 * consent read from n's committed state). ERR_NOT_FOUND for other methods. */
/* An "access" event from a decoded audit entry f (schema s): ids, purpose,
 * emergency flag, outcome, node, height. */
int api_event_access(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                     const struct codec_schema *s, const struct codec_value *f) MUST_CHECK;
int api_consent_change(struct node *n, const struct tx *tx, const struct hash32 *tx_hash,
                       struct api_consent_change *out) MUST_CHECK;
/* One appointment an appt call changed, as committed: ids, times and
 * status only (the patient is not on chain). */
struct api_appt_change {
  struct hash32 appointment;
  struct hash32 slot;
  struct hash32 practitioner;
  uint64_t start_ms;
  char status[17];
};
int api_event_appt(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                   const struct api_appt_change *ac) MUST_CHECK;
/* The appointments an appt.book, cancel, reschedule (old and new) or mark
 * changed, read from n's committed state: *count of them into out.
 * ERR_NOT_FOUND for other methods. */
int api_appt_changes(struct node *n, const struct tx *tx, const struct hash32 *tx_hash,
                     struct api_appt_change out[2], size_t *count) MUST_CHECK;
/* GET /v1/events (events.c). */
int api_h_events(struct api_ctx *c) MUST_CHECK;

#endif
