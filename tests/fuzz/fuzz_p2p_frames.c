/*
 * libFuzzer target: the receive parser and frame decryption of a p2p
 * session (src/p2p/wire.c), on a byte stream of honest frames followed by
 * anything.
 *
 * Input: byte 0 = how many honest frames (mod 4), byte 1 = the chunk size
 * the stream is fed in (mod 97, plus 1); then for each honest frame one
 * length byte and that many payload bytes; the rest is appended raw.
 *
 * Properties: the honest frames come out first, whole and decrypted to
 * their payloads, whatever the chunking; what follows never decrypts (a
 * forgery); every unit's length is within P2P_FRAME_MIN..LIM_P2P_FRAME_MAX;
 * and the parser never holds more than twice the bytes that actually arrived
 * (or P2P_BUF_KEEP), whatever length a prefix announces.
 */
#include "p2p/p2p_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HONEST_MAX 3
#define WIRE_MAX 4096

static void streams_open(struct cry_stream **tx, struct cry_stream **rx) {
  static bool ready;
  if (!ready) {
    if (cry_init() != OK) {
      abort();
    }
    ready = true;
  }
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, 5, sizeof seed);
  struct cry_kx *a = cry_kx_from_seed(seed);
  memset(seed, 6, sizeof seed);
  struct cry_kx *b = cry_kx_from_seed(seed);
  if (a == NULL || b == NULL) {
    abort();
  }
  struct boxkey pa, pb;
  cry_kx_pk(a, &pa);
  cry_kx_pk(b, &pb);
  struct hash32 t;
  memset(t.b, 9, sizeof t.b);
  uint8_t ha[CRY_STREAM_HEADER_BYTES], hb[CRY_STREAM_HEADER_BYTES];
  if (cry_stream_create(tx, ha, a, &pb, true, &t) != OK ||
      cry_stream_create(rx, hb, b, &pa, false, &t) != OK || cry_stream_open(*rx, ha) != OK) {
    abort();
  }
  cry_kx_destroy(a);
  cry_kx_destroy(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) {
    return 0;
  }
  size_t honest = data[0] % (HONEST_MAX + 1);
  size_t chunk = (size_t)(data[1] % 97) + 1;
  data += 2;
  size -= 2;
  struct cry_stream *tx = NULL, *rx_stream = NULL;
  streams_open(&tx, &rx_stream);

  /* Honest frames: type 1, then the payload. */
  static uint8_t wire[WIRE_MAX + HONEST_MAX * (4 + 1 + 255 + CRY_STREAM_OVERHEAD)];
  const uint8_t *payload[HONEST_MAX];
  size_t plen[HONEST_MAX];
  size_t w = 0, made = 0;
  for (; made < honest && size > 0; made++) {
    plen[made] = data[0] < size - 1 ? data[0] : size - 1;
    payload[made] = data + 1;
    uint8_t plain[1 + 255];
    plain[0] = 1;
    memcpy(plain + 1, payload[made], plen[made]);
    base_put_u32be(wire + w, (uint32_t)(1 + plen[made] + CRY_STREAM_OVERHEAD));
    cry_stream_push(tx, wire + w + 4, plain, 1 + plen[made]);
    w += 4 + 1 + plen[made] + CRY_STREAM_OVERHEAD;
    data += 1 + plen[made];
    size -= 1 + plen[made];
  }
  size_t raw = size < WIRE_MAX ? size : WIRE_MAX;
  memcpy(wire + w, data, raw);
  w += raw;

  struct p2p_rx rx;
  p2p_rx_init(&rx);
  size_t units = 0, fed = 0;
  bool stop = false;
  uint8_t out[1 + 255];
  while (!stop && fed < w) {
    const uint8_t *in = wire + fed;
    size_t n = chunk < w - fed ? chunk : w - fed;
    size_t left = n;
    while (!stop && left > 0) {
      struct bytes unit;
      if (p2p_rx_next(&rx, &unit, &in, &left) != OK) {
        stop = true;
        break;
      }
      if (rx.body.cap > P2P_BUF_KEEP && rx.body.cap > 2 * rx.have) {
        abort(); /* buffered ahead of the bytes that arrived */
      }
      if (unit.ptr == NULL) {
        continue;
      }
      if (unit.len < P2P_FRAME_MIN || unit.len > LIM_P2P_FRAME_MAX) {
        abort();
      }
      bool fits = unit.len - CRY_STREAM_OVERHEAD <= sizeof out;
      bool opened = fits && cry_stream_pull(rx_stream, out, unit.ptr, unit.len) == OK;
      if (units < made) {
        if (!opened || out[0] != 1 || unit.len - CRY_STREAM_OVERHEAD != 1 + plen[units] ||
            memcmp(out + 1, payload[units], plen[units]) != 0) {
          abort();
        }
      } else if (opened) {
        abort(); /* a forgery */
      } else {
        stop = true; /* a session ends at its first bad frame */
      }
      units++;
    }
    fed += n;
  }
  if (units < made) {
    abort(); /* honest frames come first, so none may be lost */
  }
  p2p_rx_deinit(&rx);
  cry_stream_destroy(tx);
  cry_stream_destroy(rx_stream);
  return 0;
}
