/*
 * cli_internal — what the command files share: the command table's row
 * type, option parsing, error reporting, JSON text output, keystores and
 * passphrases, HTTP helpers, process management for node daemons, and the
 * testnet builder that `testnet init` and `bench` both use.
 *
 * Private to src/cli/ (and its unit test).
 */
#ifndef MEDCHAIN_CLI_INTERNAL_H
#define MEDCHAIN_CLI_INTERNAL_H

#include "api/api.h"
#include "base/base.h"
#include "contracts/contracts.h"
#include "crypto/crypto.h"
#include "ledger/ledger.h"
#include "node/node.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit codes: 0 success, 1 operational error, 2 usage error. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* ---- the command table (cli.c) -------------------------------------------- */

/* A command's entry point gets argv starting at the command's own name
 * (argv[0] == "keygen") and returns the process exit code. */
typedef int (*cli_run_fn)(int argc, char **argv);

struct cli_command {
  const char *name;
  cli_run_fn run;
  const char *usage;   /* the synopsis lines, without "usage: " */
  const char *summary; /* one line for `medchain help` */
};

/* The table, for `help`. */
size_t cli_command_count(void);
const struct cli_command *cli_command_at(size_t i);
const struct cli_command *cli_command_find(const char *name);
/* Prints a command's synopsis: "usage: " before the first line, the same
 * indent before the others. */
void cli_print_usage(FILE *f, const struct cli_command *cmd);

int cli_cmd_keygen(int argc, char **argv);
int cli_cmd_testnet(int argc, char **argv);
int cli_cmd_node(int argc, char **argv);
int cli_cmd_tx(int argc, char **argv);
int cli_cmd_query(int argc, char **argv);
int cli_cmd_verify(int argc, char **argv);
int cli_cmd_records(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_ecg(int argc, char **argv);
int cli_cmd_import(int argc, char **argv);
int cli_cmd_appt(int argc, char **argv);
int cli_cmd_gs1(int argc, char **argv);
int cli_cmd_drugs(int argc, char **argv);
int cli_cmd_epcis(int argc, char **argv);
int cli_cmd_version(int argc, char **argv);
int cli_cmd_help(int argc, char **argv);

/* ---- errors (cli.c) --------------------------------------------------------- */

/* Prints "medchain: CODE: message" on stderr (message from fmt, or the
 * code's own sentence when fmt is NULL) and returns the exit code for err:
 * CLI_EXIT_USAGE for ERR_USAGE, CLI_EXIT_FAIL otherwise. */
int cli_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the same line and returns err itself, for helpers that return
 * error codes to a command rather than exit codes. */
int cli_report(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code for an error code: 0 for OK, 2 for ERR_USAGE, else 1. */
int cli_exit_code(int err);
/* The same line with a code given by name (an error the server sent). */
int cli_fail_named(const char *code, const char *msg);
/* Usage error for a command: the message, then its synopsis; returns 2. */
int cli_usage(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- options (cli_opt.c) ---------------------------------------------------- */

enum cli_opt_kind {
  CLI_OPT_FLAG, /* --name; out is bool * */
  CLI_OPT_STR,  /* --name VALUE or --name=VALUE; out is const char ** */
  CLI_OPT_U64,  /* as STR, parsed by base_parse_u64; out is uint64_t * */
};

struct cli_opt {
  const char *name; /* without the leading dashes */
  enum cli_opt_kind kind;
  void *out;
  bool seen; /* set by the parser */
};

/* Parses argv[0..argc) (the words after the command) against opts: options
 * may appear anywhere, "--" ends them, every other word is collected in
 * pos[] in order (at most pos_cap). Unknown or repeated options, a missing
 * or non-numeric value and too many positionals are ERR_USAGE with a
 * sentence in err. Outputs of options not given are left untouched, so
 * callers preset defaults. Pure apart from writing the outputs. */
/* The options of commands that act on one node home: --home HOME (required)
 * and --json. Returns CLI_EXIT_OK or the usage error's exit code. */
int cli_opts_home(int argc, char **argv, const char *command, const char **home, bool *json);
int cli_opts_parse(struct cli_opt *opts, size_t nopts, int argc, char **argv, char **pos,
                   size_t pos_cap, size_t *npos, char *err, size_t errlen) MUST_CHECK;

/* True when argv[1..argc) holds "--help" or "-h" before any "--". */
bool cli_wants_help(int argc, char **argv);

/* ---- text helpers (cli_util.c) --------------------------------------------- */

/* Writes s as a JSON string literal (quoted, escaped) to f. */
void cli_json_str(FILE *f, const char *s);
/* Lower-case slug of an organization name: letters and digits kept, runs
 * of anything else become one '-', no leading or trailing '-'. Returns OK,
 * ERR_OVERSIZE (out too small) or ERR_BAD_ARGS (nothing left). */
int cli_slug(char *out, size_t cap, const char *name) MUST_CHECK;

/* A founding organization on the command line: "Name:kind". */
struct cli_org {
  char name[LIM_STR_MAX + 1];
  char kind[33];
};
/* Parses "Name:kind,Name:kind" (spaces around items trimmed; the kind is
 * after the last ':' of an item) into orgs[cap]. Kinds must be one of the
 * ledger's organization kinds, names printable ASCII, distinct by slug.
 * Returns OK or ERR_USAGE with a sentence in err. */
int cli_orgs_parse(struct cli_org *orgs, size_t cap, size_t *n, const char *spec, char *err,
                   size_t errlen) MUST_CHECK;
/* True when kind is an organization kind the ledger knows. */
bool cli_org_kind_valid(const char *kind);
/* "CONTRACT.METHOD" split into two bounded strings. OK or ERR_USAGE. */
int cli_split_method(const char *s, char *contract, size_t ccap, char *method,
                     size_t mcap) MUST_CHECK;
/* "http://HOST:PORT" into out. */
void cli_api_url(char *out, size_t cap, const char *host, uint16_t port);
/* Joins dir and name with '/' into out; ERR_OVERSIZE when it does not fit. */
int cli_path(char *out, size_t cap, const char *dir, const char *name) MUST_CHECK;
/* Percentile (0..100) of n sorted values; 0 for n == 0. */
uint64_t cli_percentile(const uint64_t *sorted, size_t n, unsigned pct);

/* ---- files and directories (cli_util.c) ------------------------------------ */

/* Creates dir (and missing parents) or accepts an existing empty one.
 * Returns OK, ERR_EXISTS (not empty, or not a directory), ERR_IO. */
int cli_dir_prepare_empty(const char *dir) MUST_CHECK;
/* Removes a tree (no symlinks followed). Returns OK or ERR_IO. */
int cli_rm_rf(const char *path) MUST_CHECK;
/* Writes len bytes to path (created or truncated, mode 0644). */
int cli_file_write(const char *path, const void *data, size_t len) MUST_CHECK;
/* Allocated bytes of a file (st_blocks * 512), 0 when absent. */
uint64_t cli_file_allocated_bytes(const char *path);
/* Makes a fresh private directory under $TMPDIR (or /tmp) named
 * "<prefix>-XXXXXX" into out. */
int cli_mkdtemp(char *out, size_t cap, const char *prefix) MUST_CHECK;

/* ---- keys (cli_keys.c) ------------------------------------------------------ */

#define CLI_PASSPHRASE_MAX 256

/* A passphrase for a new keystore: MEDCHAIN_PASSPHRASE, or asked twice on
 * the terminal (echo off) when stdin is one. ERR_USAGE when neither is
 * possible or the two entries differ; ERR_BAD_PASSPHRASE when empty. */
int cli_passphrase_new(char *out, size_t cap) MUST_CHECK;
/* Opens a keystore: unprotected ones need nothing; protected ones take
 * MEDCHAIN_PASSPHRASE or ask once on the terminal. *out is the caller's
 * (cry_keys_destroy). Returns the crypto module's codes. */
int cli_keys_load(struct cry_keys **out, const char *path) MUST_CHECK;
/* Lower-case hex of a keystore's id and public keys. */
struct cli_key_hex {
  char id[65];
  char sign_pk[65];
  char box_pk[65];
};
void cli_key_hex(struct cli_key_hex *out, const struct cry_keys *k);

/* ---- HTTP (cli_http.c) ------------------------------------------------------ */

/* The node URL: --node when given, else $MEDCHAIN_NODE, else NULL. */
const char *cli_node_url(const char *opt);
/* When r is an HTTP error (status 0 or >= 400), fills code (stable name)
 * and msg from the body's {"error":{...}} and returns the matching err
 * (ERR_INTERNAL when the name is unknown); OK for a 2xx/3xx answer. */
int cli_http_error(const struct api_response *r, char *code, size_t ccap, char *msg,
                   size_t mcap) MUST_CHECK;
/* GET path and report any failure as a CLI error line; on OK *r holds a
 * successful answer the caller frees. Returns OK or the failure's err. */
int cli_http_get_ok(struct api_client *c, const char *path, struct api_response *r) MUST_CHECK;
/* GET /v1/status: height and chain id (chain_id may be NULL). Quiet:
 * returns ERR_UNAVAILABLE or the server's error without printing. */
int cli_node_status(struct api_client *c, uint64_t *height, char *chain_id, size_t ccap) MUST_CHECK;
/* Writes an answer's body to stdout with exactly one final newline. */
void cli_print_body(const char *body);
/* A JSON number field of body as u64. */
int cli_json_u64(const char *body, const char *path, uint64_t *out) MUST_CHECK;

/* ---- transactions (cmd_tx.c) ---------------------------------------------- */

/* Signs a call of m with args as the identity of k (sender = its id, key =
 * its signing key) for chain_id with nonce, into out[cap]. */
int cli_tx_make(const struct cry_keys *k, const char *chain_id, uint64_t nonce,
                const struct ctr_method *m, const uint8_t *args, size_t args_len, uint8_t *out,
                size_t cap, size_t *out_len) MUST_CHECK;
/* The POST /v1/txs body for an encoded transaction: {"tx":"<hex>"}.
 * Returns a malloc'd string, NULL when out of memory. */
char *cli_tx_body(const uint8_t *tx, size_t len);
/* What the node answered to a submission. */
struct cli_tx_result {
  int err;        /* OK, or the rejection / result code (ERR_INTERNAL if unknown) */
  char code[64];  /* stable name of err, as the node spelled it */
  char msg[256];  /* the node's message when not OK */
  bool committed; /* height and index are known */
  uint64_t height;
  uint64_t index;
};
/* Reads a POST /v1/txs answer: an HTTP error document is a rejection; a
 * success names where the transaction landed and its result code. */
void cli_tx_result_parse(const struct api_response *r, struct cli_tx_result *out);

/* ---- ECG (cmd_ecg.c) --------------------------------------------------------- */

struct ecg_record;
struct cli_ecg_convert {
  const char *in, *out, *freq, *gain, *name, *patient, *effective;
  bool json;
};
/* Reads o->in (WFDB header or CSV) into r and renders it as a FHIR R4
 * Observation (*json malloc'd). Errors are reported and returned
 * (ERR_USAGE for options that do not apply). */
int cli_ecg_observation(const struct cli_ecg_convert *o, struct ecg_record *r,
                        char **json) MUST_CHECK;
/* Writes the Observation in text as NAME.hea and NAME.dat in dir, in WFDB
 * format 212 or 16; what names the source in messages. */
int cli_ecg_export_text(const char *text, size_t len, const char *what, const char *dir,
                        uint64_t format, bool json) MUST_CHECK;

/* ---- records (cmd_records.c) ------------------------------------------------ */

/* Encrypts plain here, uploads the ciphertext and anchors it as key's
 * identity (a practitioner) for the patient (hex id); *record gets the new
 * id. Errors are reported on stderr and returned. */
int cli_record_put(const char *node, const char *key, const char *patient_hex, const char *category,
                   const char *fhir_type, const uint8_t *plain, size_t len,
                   struct hash32 *record) MUST_CHECK;
/* Reads record (hex id) as key's identity for purpose (emergency: with a
 * reason), checks the ciphertext against the anchor and decrypts it into
 * *plain (malloc'd; the caller wipes and frees). */
int cli_record_get(const char *node, const char *key, const char *record_hex, const char *purpose,
                   const char *reason, uint8_t **plain, size_t *len) MUST_CHECK;

/* ---- processes (cli_proc.c) -------------------------------------------------- */

/* This executable's absolute path (readlink /proc/self/exe). */
int cli_self_exe(char *out, size_t cap) MUST_CHECK;
/* Starts `<exe> node --home HOME` with stdout and stderr appended to
 * HOME/node.log and stdin from /dev/null. daemon: in its own session (it
 * outlives us, as `testnet start` wants); otherwise in ours (bench's
 * child dies with a Ctrl-C of the terminal). */
int cli_node_spawn(const char *exe, const char *home, bool daemon, pid_t *out) MUST_CHECK;
/* HOME/node.pid: read (ERR_NOT_FOUND when absent), write, remove. */
int cli_pid_read(const char *home, pid_t *pid) MUST_CHECK;
int cli_pid_write(const char *home, pid_t pid) MUST_CHECK;
void cli_pid_remove(const char *home);
/* True when pid is a live (not zombie) process whose command line
 * mentions "medchain". */
bool cli_pid_is_medchain(pid_t pid);
/* The live medchain pid recorded in HOME/node.pid, or 0. */
pid_t cli_home_pid(const char *home);
/* Waits up to timeout_ms for pid to end (reaping it when it is our
 * child). True when it ended. */
bool cli_pid_wait_exit(pid_t pid, uint32_t timeout_ms);
/* SIGTERM, wait up to term_ms, then SIGKILL. True when it had to kill. */
bool cli_pid_stop(pid_t pid, uint32_t term_ms);
/* Polls url's /v1/status until it answers, pid (our child) exits, or
 * timeout_ms passes. Returns OK, ERR_UNAVAILABLE (exited) or ERR_TIMEOUT. */
int cli_node_wait_up(const char *url, pid_t pid, uint32_t timeout_ms) MUST_CHECK;
/* Prints the last `lines` lines of path to stderr, indented. */
void cli_log_tail(const char *path, int lines);
/* Peak resident set (VmHWM) of pid in KiB; 0 when unknown. */
uint64_t cli_proc_peak_rss_kb(pid_t pid);
/* Sleeps ms milliseconds. */
void cli_sleep_ms(uint32_t ms);

/* ---- testnet (cmd_testnet.c) -------------------------------------------------- */

#define CLI_NODES_MAX LIM_VALIDATORS_MAX
#define CLI_DEFAULT_BASE_PORT 26600
#define CLI_DEFAULT_CHAIN_ID "medchain-local"
#define CLI_DEFAULT_ORGS                                                                           \
  "Riverside General Hospital:hospital,Lakeside University Hospital:hospital,"                     \
  "National Health Regulator:regulator"

struct cli_testnet_spec {
  char dir[NODE_PATH_MAX]; /* absolute after cli_testnet_init */
  uint32_t nodes;
  uint32_t base_port;
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  size_t norgs;
  struct cli_org orgs[LEDGER_GENESIS_MEMBERS_MAX];
};

/* Fills spec with the defaults for dir (nodes 1). */
void cli_testnet_spec_defaults(struct cli_testnet_spec *spec, const char *dir);
/* Writes the testnet described by spec (see `testnet init`); spec->dir is
 * made absolute. On OK, *g (when non-NULL) gets the genesis written. Errors
 * are printed; returns OK or the first failure's err. */
int cli_testnet_init(struct cli_testnet_spec *spec, struct ledger_genesis *g) MUST_CHECK;
/* Path of the admin keystore of founding organization `name` in dir. */
int cli_testnet_admin_key(char *out, size_t cap, const char *dir, const char *name) MUST_CHECK;
/* Node i's home in dir. */
int cli_testnet_home(char *out, size_t cap, const char *dir, uint32_t i) MUST_CHECK;

#endif
