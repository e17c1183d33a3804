/*
 * codec internals shared by the module's files (primitives, transactions,
 * blocks, records). Nothing outside src/codec/ includes this.
 */
#ifndef MEDCHAIN_CODEC_INTERNAL_H
#define MEDCHAIN_CODEC_INTERNAL_H

#include "codec/codec.h"

/* Records err in r unless an earlier error is already stuck there. */
void codec_reader_fail(struct codec_reader *r, int err);
/* Borrows n raw bytes from r; on short input ERR_MALFORMED sticks and the
 * result is empty. Callers check r->err, not the pointer (an empty borrow
 * may have a NULL pointer). */
struct bytes codec_take(struct codec_reader *r, size_t n);
/* True when every byte of s is printable ASCII (0x20..0x7e). */
bool codec_ascii_ok(struct bytes s);
/* A chain id is a non-empty printable string of at most LIM_CHAIN_ID_MAX
 * bytes. Returns OK, ERR_OVERSIZE or ERR_NONCANONICAL. */
int codec_chain_id_check(struct bytes id);
/* Reads a chain id under the rules of codec_chain_id_check. */
struct bytes codec_get_chain_id(struct codec_reader *r);

#endif
