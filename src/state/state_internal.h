/*
 * state_internal — what state.c (the key/value side) and smt.c (the sparse
 * Merkle tree) share. Not for other modules.
 */
#ifndef MEDCHAIN_STATE_INTERNAL_H
#define MEDCHAIN_STATE_INTERNAL_H

#include "state/state.h"

/* Domain tags of the tree's hashes (docs/protocol.md). */
#define STATE_SMT_TAG_KEY "medchain.smt.key.v1"
#define STATE_SMT_TAG_VALUE "medchain.smt.value.v1"
#define STATE_SMT_TAG_LEAF "medchain.smt.leaf.v1"
#define STATE_SMT_TAG_NODE "medchain.smt.node.v1"

/* One change to apply to the tree: the key hash k, and either the new value
 * hash vh or a deletion. key/key_len point at the raw key (state.c uses them
 * to read the current value; the tree never looks at them). */
struct state_smt_op {
  struct hash32 k;
  struct hash32 vh;
  bool del;
  const uint8_t *key;
  size_t key_len;
};

void state_smt_key_hash(struct hash32 *k, const uint8_t *key, size_t len);
void state_smt_value_hash(struct hash32 *vh, const uint8_t *val, size_t len);
/* Orders ops by k (qsort comparator). */
int state_smt_op_cmp(const void *a, const void *b);

/* Applies ops (sorted by k, no two with the same k) to the stored tree in
 * t, writes the changed nodes and the new root, and returns the root. */
int state_smt_update(struct store_txn *t, const struct state_smt_op *ops, size_t n,
                     struct hash32 *root) MUST_CHECK;
/* The stored root; zeros when no tree was ever written. */
int state_smt_root_read(struct store_txn *t, struct hash32 *root) MUST_CHECK;
/* The proof of k against the stored tree. */
int state_smt_prove(struct store_txn *t, const struct hash32 *k,
                    struct state_proof *proof) MUST_CHECK;
/* The root of every entry of STORE_STATE, computed in memory. */
int state_smt_recompute(struct store_txn *t, struct hash32 *root) MUST_CHECK;

#endif
