/*
 * record — the envelope of a medical record's ciphertext. The layout is
 * versioned by its magic so a later format can sit beside it; the
 * associated data binds the ciphertext to its record id.
 */
#include "crypto/crypto.h"

#include <assert.h>
#include <string.h>

static const uint8_t record_magic[4] = {'M', 'C', 'R', '1'};

static void record_ad(uint8_t ad[18 + 32], const struct hash32 *record) {
  memcpy(ad, "medchain.record.v1", 18);
  memcpy(ad + 18, record->b, 32);
}

void cry_record_encrypt(uint8_t *out, const uint8_t *plain, size_t len, const struct hash32 *record,
                        const uint8_t key[CRY_AEAD_KEY_BYTES]) {
  assert(out != NULL && (plain != NULL || len == 0) && record != NULL && key != NULL);
  uint8_t ad[18 + 32];
  record_ad(ad, record);
  memcpy(out, record_magic, sizeof record_magic);
  uint8_t *nonce = out + sizeof record_magic;
  cry_random(nonce, CRY_AEAD_NONCE_BYTES);
  cry_aead_encrypt(nonce + CRY_AEAD_NONCE_BYTES, plain, len, ad, sizeof ad, nonce, key);
}

int cry_record_decrypt(uint8_t *out, const uint8_t *c, size_t clen, const struct hash32 *record,
                       const uint8_t key[CRY_AEAD_KEY_BYTES]) {
  assert(out != NULL && c != NULL && record != NULL && key != NULL);
  if (clen < CRY_RECORD_OVERHEAD || memcmp(c, record_magic, sizeof record_magic) != 0) {
    return ERR_MALFORMED;
  }
  uint8_t ad[18 + 32];
  record_ad(ad, record);
  const uint8_t *nonce = c + sizeof record_magic;
  return cry_aead_decrypt(out, nonce + CRY_AEAD_NONCE_BYTES,
                          clen - sizeof record_magic - CRY_AEAD_NONCE_BYTES, ad, sizeof ad, nonce,
                          key);
}
