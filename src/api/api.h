/*
 * api — HTTP in and out, and JSON. Prefix: api_. The only module that
 * includes <microhttpd.h>, <curl/curl.h> and <jansson.h>.
 *
 * Server (libmicrohttpd, a thread per connection so that ?wait=commit can
 * block): the /v1 routes listed in docs/api.md, and the web portal's files
 * under "/" from the directory named by the environment's MEDCHAIN_WEB_DIR,
 * else the one the build installs them in. Every error is
 *   {"error": {"code": "STABLE_CODE", "message": "a sentence"}}
 * with the status from err_http_status(). Limits: body LIM_HTTP_BODY_MAX,
 * headers LIM_HTTP_HEADER_MAX, connections LIM_HTTP_CONNECTIONS_MAX, JSON
 * depth LIM_JSON_DEPTH_MAX.
 *
 * Client (libcurl): a small keep-alive client the CLI and benchmarks use.
 *
 * JSON rendering of schema records: U64 as a number, BOOL as true/false,
 * ID/PUBKEY/BYTES as lower-case hex strings, STR as a string, IDS as an
 * array of hex strings, KEYS as an array of {"reader": hex, "sealed_key":
 * hex}.
 */
#ifndef MEDCHAIN_API_H
#define MEDCHAIN_API_H

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "node/node.h"

/* ---- server --------------------------------------------------------------- */

struct api_server;

/* Starts serving n on host:port (host must be a numeric IPv4 address; port
 * 0 picks a free one, see api_server_port). Returns OK, ERR_CONFIG (host
 * not an IPv4 address), ERR_IO (address in use, ...), ERR_NOMEM. */
int api_server_start(struct api_server **out, struct node *n, const char *host,
                     uint16_t port) MUST_CHECK;
/* The port the server listens on (the chosen one when started with 0). */
uint16_t api_server_port(const struct api_server *s);
/* Stops accepting, waits for in-flight requests, frees. NULL is a no-op.
 * A request blocked in ?wait=commit returns when the node stops (node_stop
 * wakes it) or its timeout passes: stop the node first for a quick exit. */
void api_server_stop(struct api_server *s);

/* ---- client --------------------------------------------------------------- */

struct api_client;
#define API_SEALED_KEY_HEX (2 * LIM_SEALED_KEY_BYTES)
struct api_response {
  long status; /* HTTP status; 0 when no answer */
  char *body;  /* NUL-terminated, owned by the response */
  size_t len;
  /* Record reads (docs/records.md): X-Medchain-Sealed-Key and
   * X-Medchain-Content-Hash when the node sent them, else "". */
  char sealed_key[API_SEALED_KEY_HEX + 1];
  char content_hash[65];
};

/* base_url like "http://127.0.0.1:26657". One client serves one thread at
 * a time; it keeps its connection alive between requests. */
int api_client_create(struct api_client **out, const char *base_url) MUST_CHECK;
void api_client_destroy(struct api_client *c);
/* GET base_url + path. Blocks (connect timeout 5 s, total 70 s).
 * ERR_UNAVAILABLE when the node cannot be reached, ERR_TIMEOUT when it does
 * not answer in time, ERR_OVERSIZE for a body over 64 MiB, OK otherwise
 * (whatever the HTTP status). *out is owned by the caller
 * (api_response_free), zeroed on error. */
int api_client_get(struct api_client *c, const char *path, struct api_response *out) MUST_CHECK;
int api_client_post(struct api_client *c, const char *path, const char *content_type,
                    const uint8_t *body, size_t len, struct api_response *out) MUST_CHECK;
/* GET signed as keys' identity (docs/api.md, "Signed requests"): the
 * X-Medchain-Key/-Timestamp/-Nonce/-Signature headers over the method, the
 * path as given (base_url must have no path of its own), the empty body's
 * hash, the time now, a random nonce and chain_id. Returns as
 * api_client_get; ERR_BAD_ARGS for a path without a leading '/'. */
int api_client_get_signed(struct api_client *c, const char *path, const struct cry_keys *keys,
                          const char *chain_id, struct api_response *out) MUST_CHECK;
/* The same with a chosen timestamp and nonce (tests: an expired or a
 * replayed request). ts_ms 0 means now; nonce NULL means a random one. */
int api_client_get_signed_at(struct api_client *c, const char *path, const struct cry_keys *keys,
                             const char *chain_id, uint64_t ts_ms, const uint8_t nonce[16],
                             struct api_response *out) MUST_CHECK;
/* Any method, signed (docs/api.md, "Signed requests"; the signature covers
 * the body), with an optional extra header line ("Name: value", e.g.
 * X-Medchain-Reason). For GET the body must be empty. */
int api_client_send_signed(struct api_client *c, const char *method, const char *path,
                           const char *content_type, const uint8_t *body, size_t len,
                           const char *extra_header, const struct cry_keys *keys,
                           const char *chain_id, struct api_response *out) MUST_CHECK;
void api_response_free(struct api_response *r);
/* The four X-Medchain-* header lines ("Name: value") that sign a GET of
 * path (docs/api.md "Signed requests"), for clients that send the request
 * themselves (an event stream). nonce must be 16 random bytes. */
#define API_SIGNED_HEADERS 4
#define API_SIGNED_HEADER_MAX 200
int api_signed_header_lines(char lines[API_SIGNED_HEADERS][API_SIGNED_HEADER_MAX], const char *path,
                            const struct cry_keys *keys, const char *chain_id, uint64_t ts_ms,
                            const uint8_t nonce[16]) MUST_CHECK;

/* ---- ECG as a FHIR R4 Observation (ecg_fhir.c, docs/ecg.md) ------------- */

struct ecg_record;

/* The Observation JSON text of r (malloc'd into *out, the caller frees):
 * status final, category procedure, code LOINC 11524-6, one component per
 * lead with its MDC code when the lead is a standard one and the digital
 * samples as SampledData (origin and factor in mV, period in ms).
 * patient_id (a FHIR id, [A-Za-z0-9.-]{1,64}) becomes subject
 * "Patient/{id}" and effective (a FHIR dateTime) effectiveDateTime; either
 * may be NULL to leave the element out. Returns OK, ERR_BAD_ARGS (bad id
 * or dateTime), ERR_ECG_MALFORMED (ecg_record_check), ERR_ECG_UNSUPPORTED
 * (a lead in units other than mV, uV, V), ERR_NOMEM. */
int api_ecg_observation_json(char **out, const struct ecg_record *r, const char *patient_id,
                             const char *effective) MUST_CHECK;
/* Reads such an Observation (len bytes of JSON, at most
 * LIM_ECG_FILE_BYTES_MAX) into r (ecg_record_init'd or holding a previous
 * record, which is released): every component must carry SampledData of
 * one dimension with integer data points, origin in mV, one period for
 * all and as many points in each. The record comes out in format 16 with
 * units mV; ecg_record_set_format picks the file format to export.
 * Returns OK, ERR_INVALID_JSON, ERR_ECG_MALFORMED, ERR_ECG_UNSUPPORTED
 * (not an ECG study, other units, data points that are not integers, mixed
 * periods), ERR_ECG_RANGE (a point outside 16 bits), ERR_OVERSIZE,
 * ERR_NOMEM; on error r is empty. */
int api_ecg_observation_parse(struct ecg_record *r, const char *json, size_t len) MUST_CHECK;

/* ---- JSON helpers for the CLI ---------------------------------------------- */

/* Builds method arguments from "name=value" strings under schema: U64
 * decimal, BOOL true|false, ID/PUBKEY/BYTES hex, STR as is, IDS comma-
 * separated hex, KEYS comma-separated reader:sealedhex. For ID and PUBKEY
 * fields "@FILE" reads a keystore's public part: the identity id for ID,
 * the signing key for PUBKEY fields, the box key for fields whose name
 * ends in "box" or "box_pk". Missing fields default to zero/empty.
 * Unknown names, bad values: ERR_BAD_ARGS with a message in err. */
int api_args_from_strings(const struct codec_schema *schema, int argc, char *const *argv,
                          uint8_t *out, size_t cap, size_t *out_len, char *err,
                          size_t errlen) MUST_CHECK;
/* JSON object text of an encoded record (malloc'd; NULL on decode error). */
char *api_record_json(const struct codec_schema *schema, struct bytes val);
/* Looks up a dotted path ("error.code", "height", "items.0.id": a decimal
 * segment indexes an array) in JSON text and copies a string value, the
 * decimal text of a number, or "true"/"false"/"null", into out. Returns OK,
 * ERR_INVALID_JSON, ERR_NOT_FOUND (no such path, or an object or array
 * there), ERR_OVERSIZE (out too small). */
int api_json_lookup(const char *json, const char *path, char *out, size_t cap) MUST_CHECK;
/* Re-indents JSON text for people (malloc'd; NULL if not JSON). */
char *api_json_pretty(const char *json);

#endif
