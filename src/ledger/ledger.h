/*
 * ledger — the chain: genesis, transaction checks, building, applying and
 * storing blocks, and the chain's tip. Prefix: ledger_.
 *
 * What a transaction does to the state is not decided here: the ledger
 * calls an executor (struct ledger_exec) that the node binds to the native
 * contracts, so the ledger stays below the contracts in the module stack
 * and the simulator can bind it to anything.
 *
 * Chain rules enforced here (stable codes):
 *   WRONG_CHAIN    tx.chain_id differs from the chain's id
 *   BAD_SIGNATURE  the Ed25519 signature does not verify
 *   OVERSIZE       a transaction or block over its limit
 *   MALFORMED/NONCANONICAL/TRAILING  from the codec
 * and, through the executor's admit step: UNKNOWN_SENDER, KEY_MISMATCH,
 * IDENTITY_SUSPENDED, REPLAY (nonce used), NONCE_GAP.
 *
 * A block at height h links to h-1 by prev_hash (the genesis hash for h=1)
 * and last_commit_hash, has time_ms greater than its parent's, commits to
 * its transactions by tx_root, to their result codes by results_hash, to
 * the state after them by state_root, and carries a commit signed by more
 * than two thirds of the validators' voting power.
 *
 * Pure except for the store transaction it is handed: no clock, no
 * randomness.
 */
#ifndef MEDCHAIN_LEDGER_H
#define MEDCHAIN_LEDGER_H

#include "base/base.h"
#include "codec/codec.h"
#include "crypto/crypto.h"
#include "limits/limits.h"
#include "state/state.h"
#include "store/store.h"

/* ---- genesis ------------------------------------------------------------ */

#define LEDGER_GENESIS_MEMBERS_MAX 32

struct ledger_validator {
  struct pubkey pk;
  struct hash32 id; /* cry_id_from_pk(pk); derived, not encoded */
  uint64_t power;   /* > 0 */
};

/* A founding organization and its first administrator. */
struct ledger_member {
  char name[LIM_STR_MAX + 1]; /* public organization name */
  char kind[33];              /* hospital, clinic, pharmacy, manufacturer,
                                 distributor, insurer, regulator, lab */
  struct pubkey admin_pk;
  struct boxkey admin_box;
};

/* Genesis encoding: u8 version(=1) | var chain_id | u64 time_ms |
 * u16 n | n * (pubkey | u64 power) | u16 m | m * (var name | var kind |
 * pubkey admin_pk | boxkey admin_box). Genesis hash =
 * cry_hash_tagged("medchain.genesis.v1", encoding). */
struct ledger_genesis {
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  uint64_t time_ms;
  uint16_t nvalidators;
  struct ledger_validator validators[LIM_VALIDATORS_MAX];
  uint16_t nmembers;
  struct ledger_member members[LEDGER_GENESIS_MEMBERS_MAX];
};

/* Largest genesis encoding: every count and string at its limit. */
#define LEDGER_GENESIS_BYTES_MAX                                                                   \
  (1 + 4 + LIM_CHAIN_ID_MAX + 8 + 2 + LIM_VALIDATORS_MAX * (32 + 8) + 2 +                          \
   LEDGER_GENESIS_MEMBERS_MAX * (4 + LIM_STR_MAX + 4 + 32 + 32 + 32))

/* Encodes g (strings NUL-terminated in their arrays, counts within the
 * arrays); checks encodability only, not the rules below. Returns OK or
 * ERR_OVERSIZE (a field over its limit or out too small). */
int ledger_genesis_encode(const struct ledger_genesis *g, uint8_t *out, size_t cap,
                          size_t *out_len) MUST_CHECK;
/* Decodes and validates (non-empty chain id of [a-z0-9-], at least one
 * validator, powers > 0 and total < 2^62, distinct validator keys, at
 * least one member, distinct names and admin keys, acceptable keys).
 * Returns OK or ERR_CONFIG / codec errors. */
int ledger_genesis_decode(struct ledger_genesis *g, const uint8_t *buf, size_t len) MUST_CHECK;
int ledger_genesis_hash(const struct ledger_genesis *g, struct hash32 *out) MUST_CHECK;
/* Hash of the validator set as the header commits to it:
 * cry_hash_tagged("medchain.validators.v1", u16 n | n * (pubkey | u64)). */
void ledger_validators_hash(const struct ledger_validator *v, size_t n, struct hash32 *out);

/* ---- the executor --------------------------------------------------------- */

/* Context of one transaction inside a block. */
struct ledger_env {
  struct bytes chain_id;
  uint64_t height;
  uint64_t time_ms; /* the block's time: contracts' only clock */
  struct hash32 tx_hash;
  uint32_t index; /* position in the block */
};

/* The state transition, bound by the node to the contracts. Both calls
 * write only through st's buffered writes; the ledger commits or drops
 * them. */
struct ledger_exec {
  /* Sender known, pubkey is its current key, not suspended, nonce is the
   * next one. On OK has buffered the nonce increment. Any error makes the
   * transaction unfit for a block. */
  int (*admit)(void *ctx, struct state *st, const struct tx *tx, const struct ledger_env *env);
  /* Runs the call; the returned code is the transaction's result. On
   * error the ledger drops the call's writes (the nonce stays used). */
  int (*call)(void *ctx, struct state *st, const struct tx *tx, const struct ledger_env *env);
  /* Applies genesis to an empty state (organizations, admins, validators). */
  int (*genesis)(void *ctx, struct state *st, const struct ledger_genesis *g);
  void *ctx;
};

/* Transaction ids whose signatures were verified already (the mempool's
 * cache), so a block never verifies one twice. NULL means verify all. */
struct ledger_sigcache {
  bool (*contains)(void *ctx, const struct hash32 *tx_hash);
  void *ctx;
};

/* ---- transactions --------------------------------------------------------- */

/* Stateless checks of an encoded transaction, in order: size (OVERSIZE
 * when len > LIM_TX_BYTES_MAX, checked before decoding since a decodable
 * transaction is always smaller), canonical decoding (codec errors), chain
 * id (WRONG_CHAIN), signature (BAD_SIGNATURE). On OK *tx borrows from buf
 * and *tx_hash is its id. Thread-safe, pure. */
int ledger_tx_check(const uint8_t *buf, size_t len, struct bytes chain_id, struct tx *tx,
                    struct hash32 *tx_hash) MUST_CHECK;
/* Signs a transaction whose fields are set (sig is overwritten) and
 * encodes it into out. */
int ledger_tx_sign(struct tx *tx, const struct cry_keys *k, uint8_t *out, size_t cap,
                   size_t *out_len) MUST_CHECK;

/* ---- the chain ------------------------------------------------------------ */

/* The tip as stored in STORE_META. Height 0 means genesis only. */
struct ledger_tip {
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  struct hash32 genesis_hash;
  uint64_t height;
  struct hash32 last_hash;        /* genesis hash at height 0 */
  struct hash32 last_commit_hash; /* zeros at height 0 */
  uint64_t last_time_ms;          /* genesis time at height 0 */
  struct hash32 state_root;
  struct hash32 validators_hash;
};

/* Reads the tip; ERR_NOT_FOUND on an empty store, ERR_CORRUPT when the
 * stored tip does not decode strictly. */
int ledger_tip_read(struct store_txn *t, struct ledger_tip *tip) MUST_CHECK;
/* Initializes an empty store with genesis: runs exec->genesis, writes the
 * genesis encoding, the tip at height 0 and the state tree. Caller commits
 * t. g is checked by the rules of ledger_genesis_decode (ERR_CONFIG) and
 * the executor sees the decoded copy (validator ids derived). ERR_EXISTS
 * when the store already holds a chain. */
int ledger_genesis_init(struct store_txn *t, const struct ledger_genesis *g,
                        const struct ledger_exec *exec) MUST_CHECK;
/* Reads the genesis stored by ledger_genesis_init. ERR_NOT_FOUND on an
 * empty store, ERR_CORRUPT when it no longer decodes. */
int ledger_genesis_read(struct store_txn *t, struct ledger_genesis *g) MUST_CHECK;

/* Builds the next block on the tip from candidate encoded transactions
 * (already checked by ledger_tx_check): each one the executor does not
 * admit is left out and its index reported in skipped (with its code in
 * skipped_codes) so the caller can drop it; admitted ones are applied.
 * Candidates are taken in order until the block is full (LIM_BLOCK_TXS_MAX
 * or LIM_BLOCK_BYTES_MAX): the first nconsidered were included or skipped,
 * the rest wait for a later block. Fills b (header, txs borrowing from
 * txs[], header.chain_id borrowing from out->chain_id, an empty commit for
 * round 0) and leaves the state changes in st's store transaction.
 * results[i] gets the result code of b->txs[i]. time_ms must exceed the
 * tip's time (the caller clamps; anything else is a bug). Returns OK or a
 * store error (the caller then aborts the store transaction). */
struct ledger_build_out {
  uint32_t nconsidered;
  uint32_t nskipped;
  uint32_t skipped[LIM_BLOCK_TXS_MAX];
  uint16_t skipped_codes[LIM_BLOCK_TXS_MAX];
  uint16_t results[LIM_BLOCK_TXS_MAX];
  char chain_id[LIM_CHAIN_ID_MAX + 1]; /* storage b->header.chain_id borrows */
};
int ledger_block_build(struct state *st, const struct ledger_exec *exec,
                       const struct hash32 *proposer, uint64_t time_ms, const struct bytes *txs,
                       uint32_t ntxs, struct block *b, struct ledger_build_out *out) MUST_CHECK;

/* Signs a precommit for block b's hash as validator `index` and adds it to
 * b->commit (keeping indices sorted). The first signature sets the
 * commit's height, round and block hash from b's header; later ones must
 * match them (else COMMIT_INVALID). ERR_EXISTS when index already signed,
 * ERR_BAD_ARGS when index >= LIM_VALIDATORS_MAX. */
int ledger_commit_sign(struct block *b, const struct cry_keys *k, uint16_t index,
                       uint32_t round) MUST_CHECK;
/* Checks b->commit: for b's hash and height, valid distinct signatures of
 * validators whose power sums to more than 2/3 of the total. Every
 * signature carried must verify, even past the quorum. vals is a set from
 * a validated genesis. Returns OK or COMMIT_INVALID. */
int ledger_commit_verify(const struct block *b, const struct ledger_validator *vals,
                         size_t nvals) MUST_CHECK;

/* Applies a received or stored block on the tip with full checks, in this
 * order, returning the first failure: chain id, height (BLOCK_INVALID),
 * prev_hash and last_commit_hash (PREV_HASH), time, validators hash,
 * tx count (BLOCK_INVALID), commit (COMMIT_INVALID), size (OVERSIZE), each
 * transaction's decoding, chain id and signature (ledger_tx_check's codes;
 * signatures of ids in cache are not re-verified), duplicates and
 * admission (BLOCK_INVALID), tx root (TX_ROOT), results hash
 * (BLOCK_INVALID), state root (STATE_ROOT). results (b->tx_count entries,
 * may be NULL) gets each transaction's result code for ledger_block_store.
 * On error the caller aborts the store transaction; nothing is written by
 * a failed apply that the caller keeps. */
int ledger_block_apply(struct state *st, const struct ledger_exec *exec,
                       const struct ledger_sigcache *cache, const struct block *b,
                       uint16_t *results) MUST_CHECK;

/* ledger_block_apply without the commit check: for a proposal, whose
 * commit does not exist yet. Consensus decides whether it gets one. */
int ledger_proposal_apply(struct state *st, const struct ledger_exec *exec,
                          const struct ledger_sigcache *cache, const struct block *b,
                          uint16_t *results) MUST_CHECK;

/* Replaces the commit stored with the tip block by another valid commit of
 * it (more than two thirds of the power for the same block), and the tip's
 * last_commit_hash with its hash. Validators may each hold a different
 * commit for the newest block; the one the next block's header names
 * (last_commit_hash) is the canonical one, and every node adopts it before
 * applying that next block, so every stored block below the tip carries the
 * commit its successor names. OK (also when c is the stored one),
 * COMMIT_INVALID, or a store error. */
int ledger_tip_commit_replace(struct store_txn *t, const struct commit *c) MUST_CHECK;

/* Writes an applied or built block: the block encoding by height, its hash,
 * the tx index (id -> height, position, result) and the new tip. results
 * has b->tx_count entries (ledger_build_out.results, or what
 * ledger_block_apply returned). The block must extend the tip by exactly
 * one height (asserted). The caller then commits the store transaction:
 * that one commit makes all of it durable. */
int ledger_block_store(struct store_txn *t, const struct block *b,
                       const uint16_t *results) MUST_CHECK;

/* Loads block `height` into b (heap struct the caller owns); b borrows from
 * *raw, a copy the caller frees (NULL on error). Returns OK, ERR_NOT_FOUND,
 * ERR_NOMEM or ERR_CORRUPT (stored bytes that do not decode, or a block of
 * another height). */
int ledger_block_load(struct store_txn *t, uint64_t height, struct block *b, uint8_t **raw,
                      size_t *raw_len) MUST_CHECK;

/* Where a transaction landed. */
struct ledger_txloc {
  uint64_t height;
  uint32_t index;
  uint16_t code; /* result: OK or the contract's error */
};
int ledger_txloc_read(struct store_txn *t, const struct hash32 *tx_hash,
                      struct ledger_txloc *loc) MUST_CHECK;

/* Offline verification of a whole store: replays every block from genesis
 * into a fresh store at scratch_dir (an existing, empty directory, else
 * ERR_IO or ERR_EXISTS; the scratch store is left there for the caller to
 * remove) with ledger_block_apply and no signature cache, checks each
 * block's HASHES and TXINDEX entries, and compares the replayed tip with
 * the stored one. s is read through one read transaction held throughout.
 * Returns OK or the first error: the apply's code, ERR_CORRUPT (a block or
 * index that does not decode or match, a tip that disagrees with the
 * blocks). On failure *bad_height names the first height that does not
 * verify (0 for genesis; the tip's height for a tampered tip);
 * *verified_height is the last height that did. Blocks (disk, fsync per
 * replayed block). */
int ledger_verify_chain(struct store *s, const char *scratch_dir, const struct ledger_exec *exec,
                        uint64_t *bad_height, uint64_t *verified_height) MUST_CHECK;

#endif
