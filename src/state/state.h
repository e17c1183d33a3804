/*
 * state — the world state the contracts read and write, and the sparse
 * Merkle tree whose root commits to all of it. Prefix: state_.
 *
 * Keys and values are bytes (keys <= LIM_STATE_KEY_MAX, values <=
 * LIM_STATE_VALUE_MAX). Writes go to a per-transaction buffer first:
 * state_tx_commit folds them into the block's store transaction,
 * state_tx_abort drops them, so a failed call changes nothing.
 *
 * State root: a compact sparse Merkle tree of depth 256 over
 * k = H("medchain.smt.key.v1" || key). Leaf hash = H("medchain.smt.leaf.v1"
 * || k || H("medchain.smt.value.v1" || value)); an inner node is
 * H("medchain.smt.node.v1" || left || right); an empty subtree hashes to 32
 * zero bytes; a subtree holding exactly one leaf hashes to that leaf's hash
 * (the leaf sits as high as it is alone). Proofs list the sibling hashes
 * from the root down to where the key's path ends. docs/protocol.md has the
 * full definition and vectors.
 *
 * Pure: no clock, no randomness. Deterministic given the same writes.
 */
#ifndef MEDCHAIN_STATE_H
#define MEDCHAIN_STATE_H

#include "base/base.h"
#include "limits/limits.h"
#include "store/store.h"

struct state;

/* Wraps a store transaction (read or write) for state access. The store
 * transaction stays owned by the caller and must outlive the state. */
int state_create(struct state **out, struct store_txn *t) MUST_CHECK;
/* A scratch state over a read transaction: writes are buffered (so a call
 * can run to completion and report its result) but can never be committed
 * (state_tx_commit and state_root_update on it are bugs). Many scratch
 * states may run in parallel on read snapshots: the node's dry runs. */
int state_create_scratch(struct state **out, struct store_txn *t) MUST_CHECK;
/* Frees; uncommitted tx writes are dropped. NULL is a no-op. */
void state_destroy(struct state *st);

/* The store transaction st wraps (for the ledger's own tables). */
struct store_txn *state_txn(struct state *st);

/* Reads key, seeing this transaction's own buffered writes first. *val is
 * valid until the next write to st or the store transaction's end.
 * Returns OK or ERR_NOT_FOUND. */
int state_get(struct state *st, struct bytes key, struct bytes *val) MUST_CHECK;
/* Buffers a write. Returns OK, ERR_OVERSIZE, ERR_LIMIT (more than
 * LIM_TX_WRITES_MAX keys in one transaction). Read-only state: a bug. */
int state_put(struct state *st, struct bytes key, struct bytes val) MUST_CHECK;
/* Buffers a delete (absent keys are fine). */
int state_del(struct state *st, struct bytes key) MUST_CHECK;

/* Makes the buffered writes part of the block (the store transaction and
 * the set of keys whose tree path must be rehashed). Returns OK or a store
 * error (the block must then be aborted). */
int state_tx_commit(struct state *st) MUST_CHECK;
/* Drops the buffered writes. */
void state_tx_abort(struct state *st);

/* Rehashes the tree over every key changed since the last call and writes
 * the changed tree nodes into the store transaction; *root gets the new
 * state root. Cost ~ changed keys * log2(entries) hashes. */
int state_root_update(struct state *st, struct hash32 *root) MUST_CHECK;
/* Current root as stored (no pending changes are folded in). */
int state_root(struct state *st, struct hash32 *root) MUST_CHECK;

/* Ordered scan over committed entries whose key begins with prefix, from
 * start (inclusive; empty = from the first). Buffered writes are not seen:
 * scans serve queries on read transactions. */
struct state_iter;
int state_iter_begin(struct state *st, struct bytes prefix, struct bytes start,
                     struct state_iter **out) MUST_CHECK;
int state_iter_next(struct state_iter *it, struct bytes *key, struct bytes *val) MUST_CHECK;
void state_iter_end(struct state_iter *it);

/* An inclusion (value present) or exclusion proof for one key. */
#define STATE_PROOF_DEPTH_MAX 256
struct state_proof {
  uint16_t depth;                                /* siblings from the root */
  struct hash32 siblings[STATE_PROOF_DEPTH_MAX]; /* siblings[0] is at depth 1 */
  /* For exclusion: when the path ends at another key's leaf, that leaf's
   * key hash and value hash; otherwise the path ends at an empty subtree. */
  bool other_leaf;
  struct hash32 other_key_hash;
  struct hash32 other_value_hash;
};

/* Builds the proof of key against the current stored root (call after
 * state_root_update). Returns OK. */
int state_prove(struct state *st, struct bytes key, struct state_proof *proof) MUST_CHECK;
/* Checks a proof: value non-NULL claims inclusion of exactly that value,
 * NULL claims absence. Returns OK or ERR_PROOF_INVALID. Pure; needs no
 * store. */
int state_proof_verify(const struct state_proof *proof, const struct hash32 *root, struct bytes key,
                       const struct bytes *value) MUST_CHECK;

/* Recomputes the root from scratch over every entry in STATE (for verify
 * and tests); does not touch the stored tree. */
int state_root_recompute(struct state *st, struct hash32 *root) MUST_CHECK;

#endif
