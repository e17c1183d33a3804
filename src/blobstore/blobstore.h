/*
 * blobstore — each node's content-addressed store of record ciphertext.
 * Prefix: blob_.
 *
 * A blob is named by its content hash (cry_hash, BLAKE2b-256: the
 * content_hash a record anchor carries) and holds ciphertext only: the
 * store never sees a key or a plaintext. Each blob is charged to the
 * organization that brought it (its uploader's, or the author's for a copy
 * fetched from another node), up to a quota per organization.
 *
 * Layout under DIR (HOME/blobs):
 *   DIR/tmp/                 files being written
 *   DIR/ab/<64 hex>          the blob whose hash starts with byte 0xab
 *   DIR/ab/<64 hex>.org      32 bytes: the organization charged for it
 * A blob is written to tmp/, fsynced and renamed into place (then the
 * directory fsynced), so a reader sees all of it or nothing, and a crash
 * leaves at most a stray file in tmp/ (removed at open). Every read checks
 * the hash again: a file changed on disk is reported, never served.
 *
 * Thread-safe: the API's threads and the node's janitor use one store.
 * Calls block on disk I/O.
 */
#ifndef MEDCHAIN_BLOBSTORE_H
#define MEDCHAIN_BLOBSTORE_H

#include "base/base.h"

struct blob_store;

/* Opens (creating) the store in dir, removes leftovers in dir/tmp and
 * counts each organization's bytes. quota_bytes is per organization.
 * Returns OK, ERR_IO, ERR_NOMEM or ERR_LIMIT (more organizations than
 * LIM_BLOB_ORGS_MAX). */
int blob_open(struct blob_store **out, const char *dir, uint64_t quota_bytes) MUST_CHECK;
/* NULL is a no-op. */
void blob_close(struct blob_store *b);

/* Stores data under hash, charged to org. Checks, in order: size (empty or
 * over LIM_BLOB_BYTES_MAX: ERR_OVERSIZE), hash (ERR_HASH_MISMATCH), the
 * org's quota (ERR_BLOB_QUOTA). A blob already present is OK and charged
 * once. ERR_IO on a write failure (nothing is left behind). */
int blob_put(struct blob_store *b, const struct hash32 *org, const struct hash32 *hash,
             const uint8_t *data, size_t len) MUST_CHECK;

/* Reads a blob into *data (malloc'd, the caller frees), checking its hash.
 * Returns OK, ERR_NOT_FOUND, ERR_CORRUPT (the file no longer matches its
 * name: it is not returned), ERR_NOMEM or ERR_IO. */
int blob_get(struct blob_store *b, const struct hash32 *hash, uint8_t **data,
             size_t *len) MUST_CHECK;

/* Whether the blob is present (no hash check). */
bool blob_has(struct blob_store *b, const struct hash32 *hash);

/* Deletes a blob and credits its organization. The bytes are overwritten
 * with zeros and synced before the file is removed, so the ciphertext does
 * not linger in the file system's free space more than the device allows.
 * Returns OK, ERR_NOT_FOUND or ERR_IO. */
int blob_delete(struct blob_store *b, const struct hash32 *hash) MUST_CHECK;

/* Bytes charged to org. */
uint64_t blob_usage(struct blob_store *b, const struct hash32 *org);

struct blob_stats {
  uint64_t count;
  uint64_t bytes;
  uint64_t puts, gets, deletes, corrupt; /* since open */
};
void blob_stats(struct blob_store *b, struct blob_stats *out);

/* Calls fn for each blob (hash, charged org, size, modification time in
 * Unix seconds), in no particular order; fn may call blob_delete. A
 * non-OK return from fn stops the walk and is returned. */
typedef int (*blob_visit_fn)(void *ctx, const struct hash32 *hash, const struct hash32 *org,
                             uint64_t size, int64_t mtime_s);
int blob_walk(struct blob_store *b, blob_visit_fn fn, void *ctx) MUST_CHECK;

#endif
