/*
 * node — one running medchain node: its home directory and config, the
 * store, the mempool, consensus among the validators and the network.
 * Prefix: node_.
 *
 * Blocks are decided by Tendermint consensus (src/consensus) among the
 * genesis validators; a chain with one validator is its n = 1 case. A
 * height starts when the mempool holds work (at most one block per
 * block_interval_ms), when heartbeat_ms passes while idle (an empty block
 * shows the chain is alive), or as soon as a peer has started it. A node
 * whose key is not a validator follows: it checks and stores what the
 * validators decide.
 *
 * Threads: the API's threads call node_tx_submit, node_tx_wait and the read
 * functions concurrently; one engine thread runs consensus and writes the
 * store; one ingress thread admits transactions gossiped by peers; p2p has
 * its own thread. All public functions are thread-safe.
 *
 * Home layout:
 *   HOME/config          key = value lines (see node_config_load)
 *   HOME/genesis.bin     the chain's genesis (ledger encoding)
 *   HOME/node.key        this node's validator keystore
 *   HOME/data/           the LMDB environment
 *   HOME/data/cons.wal   the signing record (docs/consensus.md)
 */
#ifndef MEDCHAIN_NODE_H
#define MEDCHAIN_NODE_H

#include "base/base.h"
#include "ledger/ledger.h"
#include "p2p/p2p.h"
#include "state/state.h"

#define NODE_PATH_MAX 512
#define NODE_URL_MAX 64

/* A validator this node talks to (config "peer = PK@host:port"). */
struct node_peer {
  struct pubkey pk;
  char host[64]; /* IPv4 literal */
  uint16_t port;
};

struct node_config {
  char home[NODE_PATH_MAX];
  char name[64];               /* "node0" */
  char api_host[64];           /* "127.0.0.1" */
  uint16_t api_port;           /* 26657 by default */
  uint16_t p2p_port;           /* validators' TCP port, on api_host */
  uint32_t block_interval_ms;  /* minimum time between block starts (default 10) */
  uint32_t heartbeat_ms;       /* empty block while idle (default 10000) */
  uint32_t timeout_propose_ms; /* round 0; + half of it per round (default 1000) */
  uint32_t timeout_vote_ms;    /* prevote and precommit waits (default 500) */
  uint16_t npeers;
  struct node_peer peers[LIM_VALIDATORS_MAX];
  uint64_t map_bytes; /* LMDB map size (default 8 GiB) */
  bool log_json;
  /* Records (docs/records.md). Operator keys: keystores of admins of the
   * organizations this node serves as gateway ("operator_key = PATH",
   * repeatable, relative to HOME; passphrase from
   * MEDCHAIN_OPERATOR_PASSPHRASE or unprotected). Blob sources: other
   * nodes' API URLs to fetch ciphertext this node lacks ("blob_source =
   * http://ipv4:port", repeatable). */
  uint16_t noperators;
  char operator_keys[LIM_OPERATORS_MAX][NODE_PATH_MAX];
  uint16_t nsources;
  char blob_sources[LIM_BLOB_SOURCES_MAX][NODE_URL_MAX];
  uint64_t blob_quota_bytes; /* per organization (blob_quota_mb, default 4 GiB) */
};

/* Loads HOME/config over node_config_defaults: lines "key = value", '#'
 * comments; keys name, api, p2p_port, block_interval_ms, heartbeat_ms,
 * map_mb, log_json, timeout_propose_ms, timeout_vote_ms, blob_quota_mb,
 * and the repeatable peer ("peer = PUBKEY_HEX@ipv4:port"), operator_key
 * and blob_source. Unknown or repeated keys and bad values are
 * ERR_CONFIG (a message naming the line goes to the log); a missing file is ERR_NOT_FOUND (cfg then
 * holds the defaults), other read errors ERR_IO. */
int node_config_load(struct node_config *cfg, const char *home) MUST_CHECK;
/* Writes cfg as HOME/config (atomically: temporary file and rename).
 * ERR_CONFIG when a value would not load back, ERR_IO. */
int node_config_write(const struct node_config *cfg) MUST_CHECK;
void node_config_defaults(struct node_config *cfg, const char *home);

struct node;

/* Opens the node: store in HOME/data (created and initialized from
 * HOME/genesis.bin on first start; ERR_CONFIG when it holds another
 * chain), validator key from HOME/node.key (unprotected keystore, or
 * passphrase from MEDCHAIN_PASSPHRASE). The key must be a genesis
 * validator holding more than two thirds of the power (ERR_CONFIG): the
 * node commits blocks alone. Does not start producing. Logging setup
 * (base_log_setup, cfg->log_json) is the caller's. */
int node_create(struct node **out, const struct node_config *cfg) MUST_CHECK;
/* Starts the producer thread. ERR_UNAVAILABLE after node_stop. */
int node_start(struct node *n) MUST_CHECK;
/* Stops producing (finishes the block in progress) and wakes all waiters
 * with ERR_UNAVAILABLE. Idempotent. Blocks until the producer has exited. */
void node_stop(struct node *n);
/* Frees everything (stopping first if the caller did not). No other
 * thread may be inside a node_ call. NULL is a no-op. */
void node_destroy(struct node *n);

const struct node_config *node_config(const struct node *n);

/* Admits an encoded transaction to the mempool: ledger_tx_check
 * (signature verified here, off the producer thread) and the method's
 * argument schema (UNKNOWN_CONTRACT, UNKNOWN_METHOD, BAD_ARGS); then
 * DUPLICATE_TX when the same transaction is pending or committed; then
 * against the committed state: sender known and active, key current, nonce
 * not used (REPLAY) and at most the sender's pending count ahead
 * (NONCE_GAP), the same sender and nonce not pending already (DUPLICATE_TX:
 * the first one wins), MEMPOOL_FULL. When the nonce is the sender's next
 * one and nothing of the sender is pending, the call itself is tried on a
 * scratch state over the newest committed snapshot and its error returned
 * (so bad input does not reach a block; a transaction queued behind a
 * pending one of its sender cannot be tried, and its call's error becomes
 * its result in the block). *tx_hash gets the id (zeros when the bytes do
 * not decode). After node_stop: ERR_UNAVAILABLE. Thread-safe; never blocks
 * on the producer (the dry run reads a snapshot and holds no lock). */
int node_tx_submit(struct node *n, const uint8_t *buf, size_t len,
                   struct hash32 *tx_hash) MUST_CHECK;

/* Status of a transaction: pending in the mempool, committed, or unknown
 * (never seen, or dropped: see node_tx_wait). */
enum node_tx_state { NODE_TX_UNKNOWN = 0, NODE_TX_PENDING, NODE_TX_COMMITTED };
struct node_tx_status {
  enum node_tx_state state;
  struct ledger_txloc loc; /* when committed */
};
int node_tx_status(struct node *n, const struct hash32 *tx_hash,
                   struct node_tx_status *out) MUST_CHECK;
/* Blocks until the transaction leaves the mempool or timeout_ms passes.
 * Returns OK with out->state COMMITTED (out->loc.code is its result) when
 * it committed; the reason it was dropped (e.g. REPLAY, IDENTITY_SUSPENDED)
 * with out->state UNKNOWN when a block could not admit it; OK with
 * out->state UNKNOWN when the node does not know it; ERR_TIMEOUT (state
 * PENDING); ERR_UNAVAILABLE when the node stops while it is pending.
 * timeout_ms 0 only looks. */
int node_tx_wait(struct node *n, const struct hash32 *tx_hash, uint32_t timeout_ms,
                 struct node_tx_status *out) MUST_CHECK;

struct node_status {
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  struct hash32 genesis_hash;
  uint64_t height;
  struct hash32 last_hash;
  uint64_t last_time_ms;
  struct hash32 state_root;
  uint32_t nvalidators;
  struct ledger_validator validators[LIM_VALIDATORS_MAX];
  bool catching_up; /* a peer reports a height beyond ours + 1 */
  uint32_t round;   /* consensus round at height + 1 */
  bool is_validator;
  uint16_t validator_index; /* when is_validator */
  uint32_t peers;           /* validators connected */
  uint64_t best_peer_height;
  uint32_t mempool_txs;
  uint64_t mempool_bytes;
  uint64_t txs_committed;    /* since start */
  uint64_t txs_rejected;     /* since start */
  uint64_t blocks_committed; /* since start */
  uint64_t started_ms;
};
int node_status(struct node *n, struct node_status *out) MUST_CHECK;

/* Why messages from peers were dropped (counted, never crashing the node;
 * the peer is punished by p2p for the first three). Append only. */
#define NODE_DROP_TABLE(X)                                                                         \
  X(NODE_DROP_MALFORMED, "malformed")         /* does not decode */                                \
  X(NODE_DROP_BAD_SIGNATURE, "bad_signature") /* a vote or proposal that does not verify */        \
  X(NODE_DROP_BAD_BLOCK, "bad_block")         /* a synced block that does not verify */            \
  X(NODE_DROP_NOT_VALIDATOR, "not_validator") /* signer outside the set, or not the proposer */    \
  X(NODE_DROP_FAR_FUTURE, "far_future")       /* a height or round beyond the window */            \
  X(NODE_DROP_STALE, "stale")                 /* an old height or round */                         \
  X(NODE_DROP_QUEUE_FULL, "queue_full")       /* the node's inbound queue is full */
enum node_drop {
#define NODE_DROP_ENUM_(sym, label) sym,
  NODE_DROP_TABLE(NODE_DROP_ENUM_)
#undef NODE_DROP_ENUM_
      NODE_DROP_COUNT_
};
const char *node_drop_name(int reason);

struct node_net_stats {
  uint64_t drops[NODE_DROP_COUNT_];
  uint64_t equivocations[LIM_VALIDATORS_MAX]; /* conflicting messages seen, by validator */
  uint64_t rounds_sum, heights_decided;       /* rounds used (1 + round) per decided height */
  uint64_t blocks_synced;
  bool have_p2p;
  struct p2p_stats p2p;
};
void node_net_stats(struct node *n, struct node_net_stats *out);

/* Counts of rejected submissions by error code, since start. */
void node_rejections(struct node *n, uint64_t counts[ERR_COUNT_]);

/* How long the producer took per committed block since start: building
 * it, signing the commit and the durable store commit (not the hooks).
 * Fixed buckets; bucket i < NODE_BLOCK_BUCKETS - 1 counts the blocks that
 * took at most node_block_bucket_us[i] microseconds and more than the
 * bucket before; the last one counts the slower blocks. */
#define NODE_BLOCK_BUCKETS 11
extern const uint32_t node_block_bucket_us[NODE_BLOCK_BUCKETS - 1];
/* Copies the per-bucket counts (not cumulative) and the total time of those
 * blocks in microseconds. Lock-free; a block committing meanwhile may show
 * in the counts and not yet in *sum_us, never the other way. */
void node_block_histogram(struct node *n, uint64_t counts[NODE_BLOCK_BUCKETS], uint64_t *sum_us);

/* A consistent read view of the committed chain and state for queries.
 * Many may be open at once. */
struct node_view;
int node_view_begin(struct node *n, struct node_view **out) MUST_CHECK;
void node_view_end(struct node_view *v);
struct state *node_view_state(struct node_view *v);
struct store_txn *node_view_txn(struct node_view *v);

/* Called after each block is durably committed, on the producer thread,
 * with the block (valid only during the call). Keep it short. At most 8
 * (ERR_LIMIT beyond). */
typedef void (*node_commit_fn)(void *ctx, const struct block *b, const uint16_t *results);
int node_on_commit(struct node *n, node_commit_fn fn, void *ctx) MUST_CHECK;

/* ---- operators (node/operator.c) ------------------------------------------
 * An operator key is an admin identity's keystore the node holds to act as
 * its organization's gateway: it signs the node's audit entries, the
 * anchors of records posted through the FHIR facade, EPCIS captures. */
struct node_operator_info {
  struct hash32 id;  /* the identity */
  struct hash32 org; /* its organization */
  struct pubkey pk;
  struct boxkey box;
};
/* The first operator key that belongs to an active admin of org (any
 * organization when org is NULL), read from the committed state. Returns
 * OK or ERR_NO_OPERATOR. */
int node_operator_find(struct node *n, const struct hash32 *org,
                       struct node_operator_info *out) MUST_CHECK;
/* Signs contract.method(args) with that operator's key, with its next
 * nonce, and submits it as node_tx_submit does (*tx_hash set). Returns OK,
 * ERR_NO_OPERATOR or node_tx_submit's errors. Thread-safe; serializes the
 * operator's nonces. */
int node_operator_submit(struct node *n, const struct hash32 *org, struct bytes contract,
                         struct bytes method, struct bytes args, struct hash32 *tx_hash) MUST_CHECK;

/* The first operator's keys, to sign requests to other nodes (blob
 * fetches), or NULL when the node has none. Valid until node_destroy. */
const struct cry_keys *node_operator_keys(const struct node *n);

/* ---- records (node/records.c, docs/records.md) ----------------------------- */

struct blob_store;
/* The node's blob store (HOME/blobs). Valid until node_destroy. */
struct blob_store *node_blobs(struct node *n);
/* This node's id: cry_id_from_pk of HOME/node.key's public key. */
void node_id(const struct node *n, struct hash32 *out);

/* One access to a record, to be logged on chain before anything is served.
 * purpose is 1..32 printable bytes; an emergency access has purpose
 * "emergency" and a reason (1..LIM_REASON_MAX bytes, sealed to the patient
 * on chain, never stored in clear). */
struct node_access {
  struct hash32 record;
  struct hash32 accessor;
  char purpose[33];
  bool emergency;
  const char *reason;
  size_t reason_len;
};
/* Logs the access through this node's operator and, when wait, blocks until
 * the entry is committed (up to timeout_ms). *outcome gets the verdict the
 * chain recorded: OK (granted) or the refusal's code (CONSENT_REQUIRED,
 * CONSENT_REVOKED, RECORD_ERASED, ...). Ordinary reads are batched: reads
 * arriving within a few milliseconds share one audit.log_batch
 * transaction; emergency reads go alone in audit.log. Without wait the entry
 * is only submitted (refused attempts) and *outcome is not set. Returns OK,
 * ERR_NO_OPERATOR, ERR_TIMEOUT, ERR_UNAVAILABLE or the submission's error.
 * *audit_id (may be NULL) gets the entry's id. */
int node_access_log(struct node *n, const struct node_access *a, bool wait, uint32_t timeout_ms,
                    int *outcome, struct hash32 *audit_id) MUST_CHECK;

/* Creates a record on behalf of a practitioner of an organization this
 * node operates for: encrypts plain under a fresh key (cry_record_encrypt),
 * seals the key to the patient, the author and the operator, stores the
 * ciphertext in the blob store, submits records.anchor_for and waits for
 * its commit. *record gets the new id. Returns OK, ERR_NO_OPERATOR,
 * ERR_UNKNOWN_PATIENT, ERR_UNKNOWN_IDENTITY, the blob store's and the
 * contract's errors (nothing is left in the blob store on error),
 * ERR_TIMEOUT. */
int node_record_create(struct node *n, const struct hash32 *author, const struct hash32 *patient,
                       const char *category, const char *fhir_type, const uint8_t *plain,
                       size_t len, uint32_t timeout_ms, struct hash32 *record) MUST_CHECK;
/* Decrypts a record whose key is sealed to one of this node's operators,
 * from the local blob store. *plain is malloc'd (the caller wipes and
 * frees it). The caller must have logged the access (node_access_log) and
 * seen it granted. Returns OK, ERR_UNKNOWN_RECORD, ERR_RECORD_ERASED,
 * ERR_NO_OPERATOR (no key sealed to an operator here), ERR_NOT_FOUND (the
 * ciphertext is not here), ERR_CORRUPT (it does not open). */
int node_record_open(struct node *n, const struct hash32 *record, uint8_t **plain,
                     size_t *len) MUST_CHECK;

/* Whether reader has its own sealed key in the record's anchor; when not
 * and one of this node's operators holds one (the node is the record's
 * custodian), seals the data key to box into out and sets *resealed. The
 * caller must have logged the access and seen it granted. Returns OK,
 * ERR_UNKNOWN_RECORD, ERR_RECORD_ERASED or a store error. */
int node_record_reseal(struct node *n, const struct hash32 *record, const struct hash32 *reader,
                       const struct boxkey *box, uint8_t out[LIM_SEALED_KEY_BYTES],
                       bool *resealed) MUST_CHECK;

/* Bytes used by the store (for benchmarks). */
uint64_t node_store_bytes(struct node *n);

#endif
