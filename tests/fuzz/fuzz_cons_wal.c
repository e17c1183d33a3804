/*
 * libFuzzer target: the decoder of the signing record (cons_wal_decode),
 * which reads the file a validator makes durable before every signature.
 *
 * A fuzzer almost never guesses a BLAKE2b checksum, so inputs come in two
 * forms: exactly CONS_WAL_BYTES bytes are decoded as they are (the
 * checksum must hold, as after a torn or flipped write); any other input
 * is a record body without its checksum, cut or zero-extended to the body
 * size and sealed with the right checksum here, so the field checks behind
 * the checksum get exercised. Either way an accepted record must keep the
 * decoder's promises (rounds within int32, at most LIM_VALIDATORS_MAX
 * well-formed proof-of-lock prevotes) and encode back to exactly the
 * decoded bytes.
 */
#include "consensus/consensus.h"

#include <stdlib.h>
#include <string.h>

#define WAL_TAG "medchain.cons.wal.v1" /* src/consensus/msg.c */
#define WAL_BODY (CONS_WAL_BYTES - 32)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t in[CONS_WAL_BYTES], out[CONS_WAL_BYTES];
static struct cons_wal w;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready;
  if (!ready) {
    if (cry_init() != OK) {
      abort();
    }
    ready = true;
  }
  if (size == CONS_WAL_BYTES) {
    memcpy(in, data, size);
  } else {
    size_t n = size < WAL_BODY ? size : WAL_BODY;
    memset(in, 0, sizeof in);
    memcpy(in, data, n);
    struct hash32 sum;
    cry_hash_tagged(&sum, WAL_TAG, in, WAL_BODY);
    memcpy(in + WAL_BODY, sum.b, 32);
  }
  memset(&w, 0xa5, sizeof w); /* leftovers of a previous record must not matter */
  if (cons_wal_decode(&w, in) != OK) {
    return 0;
  }
  if (w.npol > LIM_VALIDATORS_MAX || w.locked_round < -1 || w.valid_round < -1 ||
      w.round > INT32_MAX) {
    abort();
  }
  for (uint16_t i = 0; i < w.npol; i++) {
    const struct cons_vote *v = &w.pol[i];
    if ((v->type != CONS_PREVOTE && v->type != CONS_PRECOMMIT) || v->height == 0) {
      abort();
    }
  }
  cons_wal_encode(&w, out);
  if (memcmp(in, out, CONS_WAL_BYTES) != 0) {
    abort();
  }
  return 0;
}
