/*
 * base — the vocabulary every other module speaks: plain value types
 * (hashes, ids, byte views), the project-wide error codes with their stable
 * names, hex conversion, a monotonic/wall clock for the impure edges, and a
 * small logger that never sees personal data (callers pass ids and codes,
 * never payloads).
 *
 * Nothing here allocates except base_log's formatting on the stack.
 */
#ifndef MEDCHAIN_BASE_H
#define MEDCHAIN_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MUST_CHECK __attribute__((warn_unused_result))
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Stable error codes. The name (second column) is what users, scripts and
 * the HTTP API see; it never changes once released. The third column is
 * the HTTP status the API answers with, the fourth a message a person
 * understands. Messages never contain personal data. Append only. */
#define ERR_TABLE(X)                                                                               \
  X(OK, "OK", 200, "success")                                                                      \
  X(ERR_NOMEM, "OUT_OF_MEMORY", 503, "out of memory")                                              \
  X(ERR_IO, "IO_ERROR", 500, "input/output error")                                                 \
  X(ERR_CORRUPT, "STORE_CORRUPT", 500, "the data directory is corrupt")                            \
  X(ERR_STORE_FULL, "STORE_FULL", 507, "the data store is full")                                   \
  X(ERR_NOT_FOUND, "NOT_FOUND", 404, "not found")                                                  \
  X(ERR_MALFORMED, "MALFORMED", 400, "malformed encoding")                                         \
  X(ERR_NONCANONICAL, "NONCANONICAL", 400, "encoding is not canonical")                            \
  X(ERR_TRAILING, "TRAILING_BYTES", 400, "trailing bytes after the encoded value")                 \
  X(ERR_OVERSIZE, "OVERSIZE", 413, "input exceeds a size limit")                                   \
  X(ERR_BAD_SIGNATURE, "BAD_SIGNATURE", 401, "signature is invalid")                               \
  X(ERR_REPLAY, "REPLAY", 409, "nonce already used: the transaction is a replay")                  \
  X(ERR_NONCE_GAP, "NONCE_GAP", 409, "nonce is ahead of the sender's next nonce")                  \
  X(ERR_WRONG_CHAIN, "WRONG_CHAIN", 400, "transaction is for another chain id")                    \
  X(ERR_UNKNOWN_SENDER, "UNKNOWN_SENDER", 401, "sender is not a registered identity")              \
  X(ERR_KEY_MISMATCH, "KEY_MISMATCH", 401, "signing key is not the sender's current key")          \
  X(ERR_SUSPENDED, "IDENTITY_SUSPENDED", 403, "identity is suspended")                             \
  X(ERR_UNKNOWN_CONTRACT, "UNKNOWN_CONTRACT", 400, "no such contract")                             \
  X(ERR_UNKNOWN_METHOD, "UNKNOWN_METHOD", 400, "no such method in the contract")                   \
  X(ERR_BAD_ARGS, "BAD_ARGS", 400, "arguments are missing or invalid")                             \
  X(ERR_UNAUTHORIZED, "UNAUTHORIZED", 403, "the sender's role does not allow this action")         \
  X(ERR_EXISTS, "ALREADY_EXISTS", 409, "already exists")                                           \
  X(ERR_UNKNOWN_IDENTITY, "UNKNOWN_IDENTITY", 404, "no such identity")                             \
  X(ERR_UNKNOWN_ORG, "UNKNOWN_ORGANIZATION", 404, "no such organization")                          \
  X(ERR_UNKNOWN_PATIENT, "UNKNOWN_PATIENT", 404, "no such patient")                                \
  X(ERR_UNKNOWN_RECORD, "UNKNOWN_RECORD", 404, "no such record")                                   \
  X(ERR_UNKNOWN_CONSENT, "UNKNOWN_CONSENT", 404, "no such consent")                                \
  X(ERR_UNKNOWN_PROPOSAL, "UNKNOWN_PROPOSAL", 404, "no such proposal")                             \
  X(ERR_NOT_MEMBER, "NOT_MEMBER", 403, "sender's organization is not a consortium member")         \
  X(ERR_ALREADY_VOTED, "ALREADY_VOTED", 409, "this member has already voted")                      \
  X(ERR_PROPOSAL_CLOSED, "PROPOSAL_CLOSED", 409, "the proposal is already decided")                \
  X(ERR_CONSENT_REQUIRED, "CONSENT_REQUIRED", 403, "no live consent covers this access")           \
  X(ERR_CONSENT_EXPIRED, "CONSENT_EXPIRED", 403, "the consent has expired")                        \
  X(ERR_CONSENT_REVOKED, "CONSENT_REVOKED", 403, "the consent was revoked")                        \
  X(ERR_EXPIRY_PAST, "EXPIRY_IN_PAST", 400, "the expiry time is already past")                     \
  X(ERR_RECORD_ERASED, "RECORD_ERASED", 410, "the record was erased")                              \
  X(ERR_LIMIT, "LIMIT_REACHED", 409, "a per-entity limit was reached")                             \
  X(ERR_MEMPOOL_FULL, "MEMPOOL_FULL", 503, "the transaction pool is full; retry later")            \
  X(ERR_DUPLICATE_TX, "DUPLICATE_TX", 409, "the transaction is already known")                     \
  X(ERR_TIMEOUT, "TIMEOUT", 504, "timed out waiting")                                              \
  X(ERR_BAD_PASSPHRASE, "BAD_PASSPHRASE", 401, "wrong passphrase or damaged keystore")             \
  X(ERR_USAGE, "USAGE", 400, "invalid command-line usage")                                         \
  X(ERR_CONFIG, "BAD_CONFIG", 400, "invalid configuration or genesis")                             \
  X(ERR_BLOCK_INVALID, "BLOCK_INVALID", 422, "block is invalid")                                   \
  X(ERR_TX_ROOT, "TX_ROOT_MISMATCH", 422, "transactions root does not match the header")           \
  X(ERR_STATE_ROOT, "STATE_ROOT_MISMATCH", 422, "state root does not match the header")            \
  X(ERR_PREV_HASH, "PREV_HASH_MISMATCH", 422, "previous hash does not link to the chain")          \
  X(ERR_COMMIT_INVALID, "COMMIT_INVALID", 422, "commit signatures are invalid")                    \
  X(ERR_PROOF_INVALID, "PROOF_INVALID", 422, "Merkle proof is invalid")                            \
  X(ERR_INVALID_JSON, "INVALID_JSON", 400, "request body is not valid JSON")                       \
  X(ERR_ROUTE, "ROUTE_NOT_FOUND", 404, "no such route")                                            \
  X(ERR_METHOD, "METHOD_NOT_ALLOWED", 405, "method not allowed on this route")                     \
  X(ERR_UNAVAILABLE, "UNAVAILABLE", 503, "the node is unavailable")                                \
  X(ERR_BAD_REQUEST, "BAD_REQUEST", 400, "the request is invalid")                                 \
  X(ERR_INTERNAL, "INTERNAL", 500, "internal error")                                               \
  X(ERR_REQUEST_EXPIRED, "REQUEST_EXPIRED", 401,                                                   \
    "the request's timestamp is outside the accepted window")                                      \
  X(ERR_REQUEST_REPLAYED, "REQUEST_REPLAYED", 401, "this signed request was already used")         \
  X(ERR_AUTH_REQUIRED, "AUTH_REQUIRED", 401, "this route needs a signed request")                  \
  X(ERR_NO_OPERATOR, "NO_OPERATOR_KEY", 503,                                                       \
    "this node holds no operator key for the organization")                                        \
  X(ERR_HASH_MISMATCH, "HASH_MISMATCH", 400, "the content does not match its hash")                \
  X(ERR_BLOB_QUOTA, "BLOB_QUOTA_EXCEEDED", 507, "the organization's storage quota is used up")     \
  X(ERR_CONTENT_UNAVAILABLE, "CONTENT_UNAVAILABLE", 503,                                           \
    "no reachable node holds the record's ciphertext")                                             \
  X(ERR_REASON_REQUIRED, "REASON_REQUIRED", 400, "emergency access needs a reason")                \
  X(ERR_ECG_MALFORMED, "ECG_MALFORMED", 400, "the ECG file is malformed")                          \
  X(ERR_ECG_UNSUPPORTED, "ECG_UNSUPPORTED", 422,                                                   \
    "the ECG uses a format or feature that is not supported")                                      \
  X(ERR_ECG_CHECKSUM, "ECG_CHECKSUM", 422,                                                         \
    "the ECG samples do not match the header's initial value or checksum")                         \
  X(ERR_ECG_RANGE, "ECG_RANGE", 422, "an ECG sample does not fit the signal format")               \
  X(ERR_SLOT_TAKEN, "SLOT_TAKEN", 409, "the slot is already booked")                               \
  X(ERR_SLOT_IN_PAST, "SLOT_IN_PAST", 400, "the slot has already started")                         \
  X(ERR_UNKNOWN_SLOT, "UNKNOWN_SLOT", 404, "no such slot")                                         \
  X(ERR_UNKNOWN_SCHEDULE, "UNKNOWN_SCHEDULE", 404, "no such schedule")                             \
  X(ERR_UNKNOWN_APPOINTMENT, "UNKNOWN_APPOINTMENT", 404, "no such appointment")                    \
  X(ERR_CANCEL_CUTOFF, "CANCEL_CUTOFF", 409,                                                       \
    "too close to the appointment to cancel or reschedule it")                                     \
  X(ERR_NOT_YOUR_BOOKING, "NOT_YOUR_BOOKING", 403, "the booking is not the sender's")              \
  X(ERR_APPOINTMENT_CLOSED, "APPOINTMENT_CLOSED", 409,                                             \
    "the appointment is not in a state that allows this")                                          \
  X(ERR_GS1_MALFORMED, "GS1_MALFORMED", 400, "not a valid GS1 key, element string or EPC URI")     \
  X(ERR_GS1_CHECK_DIGIT, "GS1_CHECK_DIGIT", 400, "the GS1 key's check digit is wrong")             \
  X(ERR_SERIAL_EXISTS, "SERIAL_EXISTS", 409, "this serial number was already commissioned")        \
  X(ERR_UNKNOWN_SERIAL, "UNKNOWN_SERIAL", 404,                                                     \
    "no package or case was commissioned under this EPC")                                          \
  X(ERR_NOT_HOLDER, "NOT_HOLDER", 403, "the sender's organization does not hold this package")     \
  X(ERR_IN_TRANSIT, "IN_TRANSIT", 409, "the package is in transit: it must be received first")     \
  X(ERR_NO_MATCHING_SHIPMENT, "NO_MATCHING_SHIPMENT", 409,                                         \
    "no shipment of this package is addressed to the receiver")                                    \
  X(ERR_PACKAGE_DISPENSED, "PACKAGE_DISPENSED", 409, "the package was already dispensed")          \
  X(ERR_PACKAGE_DECOMMISSIONED, "PACKAGE_DECOMMISSIONED", 409, "the package was decommissioned")   \
  X(ERR_LOT_RECALLED, "LOT_RECALLED", 409, "the package's lot is recalled")                        \
  X(ERR_PACKAGE_EXPIRED, "PACKAGE_EXPIRED", 409, "the package is past its expiry date")            \
  X(ERR_UNKNOWN_GLN, "UNKNOWN_GLN", 404, "no organization registered this GLN")                    \
  X(ERR_UNKNOWN_LOT, "UNKNOWN_LOT", 404, "no such lot was commissioned")                           \
  X(ERR_IN_CASE, "IN_CASE", 409, "the package is packed in a case: act on the case or unpack it")  \
  X(ERR_EVENT_EXISTS, "EVENT_EXISTS", 409, "an event with this hash was already recorded")         \
  X(ERR_UNKNOWN_PRESCRIPTION, "UNKNOWN_PRESCRIPTION", 404, "no such prescription")                 \
  X(ERR_PRESCRIPTION_EXPIRED, "PRESCRIPTION_EXPIRED", 409, "the prescription is no longer valid")  \
  X(ERR_OVER_DISPENSE, "OVER_DISPENSE", 409, "this would dispense more than was prescribed")       \
  X(ERR_MEDICATION_MISMATCH, "MEDICATION_MISMATCH", 409,                                           \
    "the package is not the prescribed medication")                                                \
  X(ERR_SLOT_OVERLAP, "SLOT_OVERLAP", 409, "the practitioner already has a slot at that time")

enum err {
#define ERR_ENUM_(sym, name, http, msg) sym,
  ERR_TABLE(ERR_ENUM_)
#undef ERR_ENUM_
      ERR_COUNT_
};

/* Stable upper-case name of an error code, e.g. "BAD_SIGNATURE". Static. */
const char *err_name(int err);
/* A sentence for a person; no personal data. Static. */
const char *err_str(int err);
/* HTTP status the API answers this error with. */
int err_http_status(int err);
/* Maps a stable name back to its code; returns -1 when unknown. */
int err_from_name(const char *name);

/* A 32-byte hash or identity id (ids are hashes of the first signing key). */
struct hash32 {
  uint8_t b[32];
};

/* A borrowed, read-only byte view. Lifetime is the owner's. */
struct bytes {
  const uint8_t *ptr;
  size_t len;
};

/* Lower-case hex of len bytes into out (2*len+1 bytes including NUL). */
void base_hex_encode(char *out, const uint8_t *in, size_t len);
/* Parses exactly len bytes of hex (2*len characters, either case, NUL or
 * end after). Returns OK or ERR_MALFORMED. */
int base_hex_decode(uint8_t *out, size_t len, const char *hex) MUST_CHECK;
/* Parses hex of any even length up to cap bytes; *out_len gets the count. */
int base_hex_decode_var(uint8_t *out, size_t cap, size_t *out_len, const char *hex) MUST_CHECK;
/* Hex of a hash into a 65-byte buffer. */
void base_hash_hex(char out[65], const struct hash32 *h);
bool base_hash_eq(const struct hash32 *a, const struct hash32 *b);
bool base_hash_is_zero(const struct hash32 *h);

/* Strict decimal parse of an unsigned 64-bit number (no sign, no spaces,
 * no leading zeros except "0"). Returns OK or ERR_MALFORMED. */
int base_parse_u64(uint64_t *out, const char *s) MUST_CHECK;

/* Big-endian helpers used by the codec and the store's keys. */
void base_put_u64be(uint8_t out[8], uint64_t v);
uint64_t base_get_u64be(const uint8_t in[8]);
void base_put_u32be(uint8_t out[4], uint32_t v);
uint32_t base_get_u32be(const uint8_t in[4]);

/* Whether directory dir holds nothing but "." and "..": OK when empty,
 * ERR_EXISTS when it holds an entry, ERR_IO when it cannot be read. */
int base_dir_check_empty(const char *dir) MUST_CHECK;

/* Wall clock in milliseconds since the Unix epoch, and a monotonic clock in
 * nanoseconds. Only the impure edges (node, cli, bench) call these; the
 * ledger, state and contracts receive time as an argument. */
uint64_t base_now_ms(void);
uint64_t base_mono_ns(void);

enum base_log_level { BASE_LOG_DEBUG, BASE_LOG_INFO, BASE_LOG_WARN, BASE_LOG_ERROR };
/* Sets the minimum level written (default INFO) and whether lines are JSON. */
void base_log_setup(enum base_log_level min, bool json);
/* Writes one line to stderr: time, level, module, message. Callers must pass
 * only ids, heights, counts and error names, never payloads. */
void base_log(enum base_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
