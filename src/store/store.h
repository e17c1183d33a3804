/*
 * store — the node's one LMDB environment. Prefix: store_. The only module
 * that includes <lmdb.h>.
 *
 * Tables (LMDB named databases):
 *   META    small keys: "chain_id", "genesis_hash", "height", "last_hash", ...
 *   BLOCKS  u64 big-endian height -> encoded block (header, txs, commit)
 *   HASHES  block hash -> u64 big-endian height
 *   TXINDEX tx id -> u64 height | u32 position | u16 result code
 *   STATE   state key -> state value (the contracts' entries)
 *   SMT     sparse Merkle tree nodes over STATE (owned by state/)
 *
 * One writer at a time (LMDB's rule): a write transaction holds the
 * environment's writer lock until commit or abort. Readers never block.
 * A block, its state changes and its indexes are written in one write
 * transaction, and store_txn_commit makes it durable (fsync) before it
 * returns: after a crash either all of a block is there or none of it.
 */
#ifndef MEDCHAIN_STORE_H
#define MEDCHAIN_STORE_H

#include "base/base.h"

enum store_table {
  STORE_META = 0,
  STORE_BLOCKS,
  STORE_HASHES,
  STORE_TXINDEX,
  STORE_STATE,
  STORE_SMT,
  STORE_TABLE_COUNT_
};

struct store;
struct store_txn;

/* Opens (creating if needed) the environment in directory dir, which must
 * exist. map_bytes bounds the database size (ERR_STORE_FULL beyond it).
 * Returns OK, ERR_IO, ERR_CORRUPT. *out is owned by the caller. */
int store_open(struct store **out, const char *dir, size_t map_bytes) MUST_CHECK;
/* Closes; all transactions must have ended. NULL is a no-op. */
void store_close(struct store *s);

/* Begins a read-only snapshot. Many may be open at once, from any thread
 * (the environment is opened with MDB_NOTLS). */
int store_read_begin(struct store *s, struct store_txn **out) MUST_CHECK;
/* Begins the write transaction; blocks while another writer is active. */
int store_write_begin(struct store *s, struct store_txn **out) MUST_CHECK;
/* Commits durably (write) or simply ends (read). The handle is freed either
 * way. Returns OK, ERR_STORE_FULL or ERR_IO. */
int store_txn_commit(struct store_txn *t) MUST_CHECK;
/* Discards the transaction and frees the handle. NULL is a no-op. */
void store_txn_abort(struct store_txn *t);
bool store_txn_is_write(const struct store_txn *t);

/* Gets key; *val borrows LMDB memory valid until the transaction ends.
 * Returns OK or ERR_NOT_FOUND. */
int store_get(struct store_txn *t, enum store_table tb, struct bytes key,
              struct bytes *val) MUST_CHECK;
/* Puts or replaces. Returns OK, ERR_OVERSIZE (key too long), ERR_STORE_FULL. */
int store_put(struct store_txn *t, enum store_table tb, struct bytes key,
              struct bytes val) MUST_CHECK;
/* Deletes; ERR_NOT_FOUND when absent. */
int store_del(struct store_txn *t, enum store_table tb, struct bytes key) MUST_CHECK;

/* Ordered iteration over keys >= start that begin with prefix. */
struct store_iter;
int store_iter_begin(struct store_txn *t, enum store_table tb, struct bytes prefix,
                     struct bytes start, struct store_iter **out) MUST_CHECK;
/* Next entry; key and val borrow LMDB memory valid until the next call or
 * the transaction's end. Returns OK or ERR_NOT_FOUND at the end. */
int store_iter_next(struct store_iter *it, struct bytes *key, struct bytes *val) MUST_CHECK;
void store_iter_end(struct store_iter *it);
/* Last entry of a table (highest key), for the chain's tip. */
int store_last(struct store_txn *t, enum store_table tb, struct bytes *key,
               struct bytes *val) MUST_CHECK;

/* Size of the data file in bytes (for benchmarks' bytes per tx). */
uint64_t store_file_bytes(struct store *s);

#endif
