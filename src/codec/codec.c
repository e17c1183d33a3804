/*
 * codec primitives: the writer and reader every encoder and decoder is
 * built from, plus the string checks they share.
 *
 * Both sides keep the first error and ignore everything after it, so a
 * decoder reads all of its fields straight through and looks at the error
 * once; a field read after a failure is zero or empty and never touches
 * memory outside the buffer. The invariant of both is pos/len <= len/cap:
 * nothing is read or written until the bounds check for the whole field has
 * passed. Overflowing the writer is ERR_OVERSIZE (the caller's buffer is
 * too small for the value); running out of input is ERR_MALFORMED.
 */
#include "codec/codec_internal.h"

#include <assert.h>
#include <string.h>

void codec_writer_init(struct codec_writer *w, uint8_t *buf, size_t cap) {
  assert(w != NULL);
  assert(buf != NULL || cap == 0);
  w->ptr = buf;
  w->cap = cap;
  w->len = 0;
  w->err = OK;
}

/* Reserves n > 0 bytes, or sticks ERR_OVERSIZE and returns NULL. */
static uint8_t *writer_room(struct codec_writer *w, size_t n) {
  assert(n > 0);
  assert(w->len <= w->cap);
  if (w->err != OK) {
    return NULL;
  }
  if (n > w->cap - w->len) {
    w->err = ERR_OVERSIZE;
    return NULL;
  }
  uint8_t *p = w->ptr + w->len;
  w->len += n;
  return p;
}

void codec_put_u8(struct codec_writer *w, uint8_t v) {
  uint8_t *p = writer_room(w, 1);
  if (p != NULL) {
    p[0] = v;
  }
}

void codec_put_u16(struct codec_writer *w, uint16_t v) {
  uint8_t *p = writer_room(w, 2);
  if (p != NULL) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)(v & 0xff);
  }
}

void codec_put_u32(struct codec_writer *w, uint32_t v) {
  uint8_t *p = writer_room(w, 4);
  if (p != NULL) {
    base_put_u32be(p, v);
  }
}

void codec_put_u64(struct codec_writer *w, uint64_t v) {
  uint8_t *p = writer_room(w, 8);
  if (p != NULL) {
    base_put_u64be(p, v);
  }
}

void codec_put_raw(struct codec_writer *w, const uint8_t *p, size_t len) {
  assert(p != NULL || len == 0);
  if (len == 0) {
    return;
  }
  uint8_t *dst = writer_room(w, len);
  if (dst != NULL) {
    memcpy(dst, p, len);
  }
}

void codec_put_var(struct codec_writer *w, const uint8_t *p, size_t len) {
  /* Every caller bounds len by a field limit far below 4 GiB first. */
  assert(len <= UINT32_MAX);
  codec_put_u32(w, (uint32_t)len);
  codec_put_raw(w, p, len);
}

void codec_reader_init(struct codec_reader *r, const uint8_t *buf, size_t len) {
  assert(r != NULL);
  assert(buf != NULL || len == 0);
  r->ptr = buf;
  r->len = len;
  r->pos = 0;
  r->err = OK;
}

void codec_reader_fail(struct codec_reader *r, int err) {
  assert(err != OK);
  if (r->err == OK) {
    r->err = err;
  }
}

struct bytes codec_take(struct codec_reader *r, size_t n) {
  struct bytes out = {NULL, 0};
  assert(r->ptr != NULL || r->len == 0);
  assert(r->pos <= r->len);
  if (r->err != OK) {
    return out;
  }
  if (n > r->len - r->pos) {
    codec_reader_fail(r, ERR_MALFORMED);
    return out;
  }
  if (r->ptr != NULL) {
    out.ptr = r->ptr + r->pos;
  }
  out.len = n;
  r->pos += n;
  return out;
}

uint8_t codec_get_u8(struct codec_reader *r) {
  struct bytes b = codec_take(r, 1);
  if (r->err != OK) {
    return 0;
  }
  return b.ptr[0];
}

uint16_t codec_get_u16(struct codec_reader *r) {
  struct bytes b = codec_take(r, 2);
  if (r->err != OK) {
    return 0;
  }
  return (uint16_t)((unsigned)b.ptr[0] << 8 | b.ptr[1]);
}

uint32_t codec_get_u32(struct codec_reader *r) {
  struct bytes b = codec_take(r, 4);
  if (r->err != OK) {
    return 0;
  }
  return base_get_u32be(b.ptr);
}

uint64_t codec_get_u64(struct codec_reader *r) {
  struct bytes b = codec_take(r, 8);
  if (r->err != OK) {
    return 0;
  }
  return base_get_u64be(b.ptr);
}

void codec_get_raw(struct codec_reader *r, uint8_t *out, size_t len) {
  assert(out != NULL || len == 0);
  struct bytes b = codec_take(r, len);
  if (len == 0) {
    return;
  }
  if (r->err != OK) {
    memset(out, 0, len);
    return;
  }
  memcpy(out, b.ptr, len);
}

struct bytes codec_get_var(struct codec_reader *r, size_t max) {
  struct bytes none = {NULL, 0};
  uint32_t n = codec_get_u32(r);
  if (r->err != OK) {
    return none;
  }
  /* The limit is checked before the length against the input, so a field
   * over its limit is OVERSIZE however much input follows. */
  if (n > max) {
    codec_reader_fail(r, ERR_OVERSIZE);
    return none;
  }
  return codec_take(r, n);
}

bool codec_ascii_ok(struct bytes s) {
  assert(s.ptr != NULL || s.len == 0);
  for (size_t i = 0; i < s.len; i++) {
    if (s.ptr[i] < 0x20 || s.ptr[i] > 0x7e) {
      return false;
    }
  }
  return true;
}

struct bytes codec_get_str(struct codec_reader *r, size_t max) {
  struct bytes none = {NULL, 0};
  struct bytes s = codec_get_var(r, max);
  if (r->err != OK) {
    return none;
  }
  if (!codec_ascii_ok(s)) {
    codec_reader_fail(r, ERR_NONCANONICAL);
    return none;
  }
  return s;
}

int codec_reader_finish(const struct codec_reader *r) {
  assert(r->pos <= r->len);
  if (r->err != OK) {
    return r->err;
  }
  if (r->pos != r->len) {
    return ERR_TRAILING;
  }
  return OK;
}

int codec_chain_id_check(struct bytes id) {
  if (id.len > LIM_CHAIN_ID_MAX) {
    return ERR_OVERSIZE;
  }
  if (id.len == 0 || !codec_ascii_ok(id)) {
    return ERR_NONCANONICAL;
  }
  return OK;
}

struct bytes codec_get_chain_id(struct codec_reader *r) {
  struct bytes none = {NULL, 0};
  struct bytes id = codec_get_str(r, LIM_CHAIN_ID_MAX);
  if (r->err != OK) {
    return none;
  }
  if (id.len == 0) {
    codec_reader_fail(r, ERR_NONCANONICAL);
    return none;
  }
  return id;
}
