/*
 * ledger_internal.h — what the ledger's files share and nobody else sees:
 * the META keys, the tip's encoding, the per-transaction execution step
 * that build and apply have in common, and a small set of tx ids for
 * duplicate detection inside one block.
 */
#ifndef MEDCHAIN_LEDGER_INTERNAL_H
#define MEDCHAIN_LEDGER_INTERNAL_H

#include "ledger/ledger.h"

/* STORE_META keys. */
#define LEDGER_META_GENESIS "genesis"
#define LEDGER_META_TIP "tip"

/* Tip encoding: u64 height | id last_hash | id last_commit_hash |
 * u64 last_time_ms | id state_root | id validators_hash | id genesis_hash |
 * var chain_id. */
#define LEDGER_TIP_BYTES_MAX (8 + 32 + 32 + 8 + 32 + 32 + 32 + 4 + LIM_CHAIN_ID_MAX)
/* TXINDEX value: u64 height | u32 index | u16 code. */
#define LEDGER_TXLOC_BYTES 14
/* Header encoding at its largest (chain id at its limit). */
#define LEDGER_HEADER_BYTES_MAX (1 + 4 + LIM_CHAIN_ID_MAX + 8 + 8 + 7 * 32 + 4)
/* Commit encoding at its largest (every validator signed). */
#define LEDGER_COMMIT_BYTES_MAX (8 + 4 + 32 + 2 + LIM_VALIDATORS_MAX * (2 + CRY_SIG_BYTES))

/* Room kept for the block's own framing (its tx count and any length
 * prefixes around header and commit). */
#define LEDGER_BLOCK_FRAMING_BYTES 64
/* Byte budget for the transactions of one block (each costs 4 + len):
 * what is left of LIM_BLOCK_BYTES_MAX after the largest header, the
 * largest commit and the framing. Build fills to it; apply enforces it, so
 * a block that passes apply always encodes within LIM_BLOCK_BYTES_MAX. */
#define LEDGER_BLOCK_TX_BUDGET                                                                     \
  ((size_t)LIM_BLOCK_BYTES_MAX - LEDGER_HEADER_BYTES_MAX - LEDGER_COMMIT_BYTES_MAX -               \
   LEDGER_BLOCK_FRAMING_BYTES)

/* The META keys and the big-endian height key as byte views. */
struct bytes ledger_meta_key(const char *name);
struct bytes ledger_height_key(uint8_t buf[8], uint64_t height);

bool ledger_bytes_eq(struct bytes a, struct bytes b);
/* A chain id as a byte view of its NUL-terminated array. */
struct bytes ledger_chain_id_bytes(const char *chain_id);
/* Non-empty, at most LIM_CHAIN_ID_MAX, only [a-z0-9-]. */
bool ledger_chain_id_valid(struct bytes id);

/* Reads only the validator set of the stored genesis into g (the rest of
 * g is zero) and checks it against the validators hash the chain commits
 * to: that hash was taken of a set that passed every genesis rule, so the
 * set needs no second validation (which costs a few ms per block).
 * Returns OK or ERR_CORRUPT. */
int ledger_genesis_validators_read(struct store_txn *t, const struct hash32 *validators_hash,
                                   struct ledger_genesis *g) MUST_CHECK;

/* Writes the tip into STORE_META. */
int ledger_tip_write(struct store_txn *t, const struct ledger_tip *tip) MUST_CHECK;
bool ledger_tip_eq(const struct ledger_tip *a, const struct ledger_tip *b);

/* Open-addressed set of the tx ids of one block. Tx ids are uniform
 * hashes, so their first bytes index the table; membership never depends
 * on insertion order, which keeps build and apply deterministic. */
#define LEDGER_TXSET_SLOTS (2 * LIM_BLOCK_TXS_MAX)
struct ledger_txset {
  const struct hash32 *ids;           /* the block's ids, by position */
  uint16_t slots[LEDGER_TXSET_SLOTS]; /* position + 1; 0 is empty */
};
void ledger_txset_init(struct ledger_txset *s, const struct hash32 *ids);
bool ledger_txset_contains(const struct ledger_txset *s, const struct hash32 *id);
/* Adds ids[pos], which must not be present yet. Only ids of transactions
 * that made it into the block are added, so a position is never reused. */
void ledger_txset_add(struct ledger_txset *s, uint32_t pos);

/* Runs one decoded transaction in a block: admit (its writes are kept only
 * on OK), then call (its writes kept only on OK). Returns OK with *result
 * set to the call's code, the admit error (nothing kept), or a store error
 * from committing the buffered writes (the block must be aborted); the
 * admit error and a store error are told apart by *fatal. */
int ledger_tx_execute(struct state *st, const struct ledger_exec *exec, const struct tx *tx,
                      const struct ledger_env *env, uint16_t *result, bool *fatal);

/* Hash of the result codes as the header commits to them:
 * cry_hash_tagged("medchain.results.v1", u32 count | count * u16). */
void ledger_results_hash(struct hash32 *out, const uint16_t *results, uint32_t count);

/* Bytes of b's transactions as the block encodes them (4 + len each). */
size_t ledger_block_tx_bytes(const struct block *b);

#endif
