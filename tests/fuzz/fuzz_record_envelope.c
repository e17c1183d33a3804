/*
 * libFuzzer target: a medical record's ciphertext envelope
 * (src/crypto/record.c). Arbitrary bytes must never open under a fixed
 * key (MALFORMED or BAD_SIGNATURE, nothing written past the output), and
 * the input as a plaintext must come back from encrypt then decrypt, and
 * must not open under another record id or with one byte flipped.
 */
#include "crypto/crypto.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool ready = false;
  if (!ready) {
    assert(cry_init() == OK);
    ready = true;
  }
  if (size > 1u << 16) {
    return 0;
  }
  uint8_t key[CRY_AEAD_KEY_BYTES];
  memset(key, 7, sizeof key);
  struct hash32 id, other;
  memset(id.b, 1, sizeof id.b);
  memset(other.b, 2, sizeof other.b);
  uint8_t *out = malloc(size + 1);
  assert(out != NULL);
  int rc = cry_record_decrypt(out, data, size, &id, key);
  assert(rc == ERR_MALFORMED || rc == ERR_BAD_SIGNATURE);
  uint8_t *ct = malloc(size + CRY_RECORD_OVERHEAD);
  uint8_t *back = malloc(size + 1);
  assert(ct != NULL && back != NULL);
  cry_record_encrypt(ct, data, size, &id, key);
  assert(cry_record_decrypt(back, ct, size + CRY_RECORD_OVERHEAD, &id, key) == OK);
  assert(size == 0 || memcmp(back, data, size) == 0);
  assert(cry_record_decrypt(back, ct, size + CRY_RECORD_OVERHEAD, &other, key) ==
         ERR_BAD_SIGNATURE);
  ct[CRY_RECORD_OVERHEAD - 1 + size / 2] ^= 0x40;
  assert(cry_record_decrypt(back, ct, size + CRY_RECORD_OVERHEAD, &id, key) != OK);
  free(back);
  free(ct);
  free(out);
  return 0;
}
