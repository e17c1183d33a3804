/*
 * wal — the validator's signing record on disk: HOME/data/cons.wal.
 *
 * Two slots, written alternately, each: u64 seq | cons_wal encoding
 * (CONS_WAL_BYTES, with its own checksum) | cry_hash_tagged(
 * "medchain.cons.slot.v1", seq | encoding). A write goes to the slot the
 * last write did not use and is fdatasync'ed before the caller lets any
 * signature leave, so a crash mid-write leaves the other slot intact and
 * the record never goes backwards. Loading takes the valid slot with the
 * higher seq.
 */
#include "node/node_internal.h"

#include "crypto/crypto.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOT_TAG "medchain.cons.slot.v1"
#define SLOT_BYTES (8 + CONS_WAL_BYTES + 32)

struct node_wal {
  int fd;
  uint64_t seq;
  uint8_t *slot;
};

static bool slot_check(const uint8_t *slot, uint64_t *seq) {
  struct hash32 sum;
  cry_hash_tagged(&sum, SLOT_TAG, slot, 8 + CONS_WAL_BYTES);
  if (!cry_equal(sum.b, slot + 8 + CONS_WAL_BYTES, 32)) {
    return false;
  }
  *seq = base_get_u64be(slot);
  return true;
}

int node_wal_open(struct node_wal **out, const char *home, struct cons_wal *w, bool *have) {
  *out = NULL;
  *have = false;
  char path[NODE_PATH_MAX + 32];
  int len = snprintf(path, sizeof path, "%s/data/cons.wal", home);
  if (len < 0 || (size_t)len >= sizeof path) {
    return ERR_CONFIG;
  }
  struct node_wal *wal = calloc(1, sizeof *wal);
  uint8_t *buf = malloc(2 * SLOT_BYTES);
  if (wal == NULL || buf == NULL) {
    free(wal);
    free(buf);
    return ERR_NOMEM;
  }
  wal->slot = buf;
  wal->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (wal->fd < 0) {
    base_log(BASE_LOG_ERROR, "node", "cannot open HOME/data/cons.wal (errno %d)", errno);
    free(buf);
    free(wal);
    return ERR_IO;
  }
  ssize_t got = pread(wal->fd, buf, 2 * SLOT_BYTES, 0);
  if (got < 0) {
    node_wal_close(wal);
    return ERR_IO;
  }
  uint64_t best = 0;
  int best_slot = -1;
  for (int i = 0; i < 2; i++) {
    uint64_t seq = 0;
    if ((size_t)got >= (size_t)(i + 1) * SLOT_BYTES && slot_check(buf + i * SLOT_BYTES, &seq) &&
        (best_slot < 0 || seq > best)) {
      best = seq;
      best_slot = i;
    }
  }
  if (best_slot >= 0) {
    if (cons_wal_decode(w, buf + best_slot * SLOT_BYTES + 8) != OK) {
      base_log(BASE_LOG_ERROR, "node", "HOME/data/cons.wal does not decode");
      node_wal_close(wal);
      return ERR_CORRUPT;
    }
    *have = true;
    wal->seq = best;
  } else if (got > 0) {
    /* Bytes but no valid slot: a record was lost. Refusing to start is
     * the only safe answer: the validator could sign against it. */
    base_log(BASE_LOG_ERROR, "node", "HOME/data/cons.wal is damaged; see docs/operations.md");
    node_wal_close(wal);
    return ERR_CORRUPT;
  }
  *out = wal;
  return OK;
}

int node_wal_write(struct node_wal *wal, const struct cons_wal *w) {
  assert(wal != NULL && w != NULL);
  uint64_t seq = wal->seq + 1;
  uint8_t *s = wal->slot;
  base_put_u64be(s, seq);
  cons_wal_encode(w, s + 8);
  struct hash32 sum;
  cry_hash_tagged(&sum, SLOT_TAG, s, 8 + CONS_WAL_BYTES);
  memcpy(s + 8 + CONS_WAL_BYTES, sum.b, 32);
  off_t at = (off_t)((seq % 2) * SLOT_BYTES);
  ssize_t put = pwrite(wal->fd, s, SLOT_BYTES, at);
  if (put != (ssize_t)SLOT_BYTES || fdatasync(wal->fd) != 0) {
    base_log(BASE_LOG_ERROR, "node", "cannot write the signing record (errno %d)", errno);
    return ERR_IO;
  }
  wal->seq = seq;
  return OK;
}

void node_wal_close(struct node_wal *wal) {
  if (wal == NULL) {
    return;
  }
  if (wal->fd >= 0) {
    close(wal->fd);
  }
  free(wal->slot);
  free(wal);
}
