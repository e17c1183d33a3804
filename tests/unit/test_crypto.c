/*
 * test_crypto — the crypto module against published and independently
 * computed known answers, and against its own contracts:
 *
 *  - RFC 8032 section 7.1 (tests/vectors/ed25519_rfc8032.txt);
 *  - strict Ed25519 acceptance (ed25519_strict.txt): small-order and
 *    non-canonical keys, and signatures that a lax verifier accepts;
 *  - BLAKE2b, the tagged hash and key derivation (crypto_medchain.txt,
 *    computed without libsodium by gen_crypto_vectors.py);
 *  - XChaCha20-Poly1305 (xchacha20poly1305.txt, draft-irtf-cfrg-xchacha);
 *  - sealed boxes, AEAD tampering, and the keystore file format.
 *
 * Keystore tests write under a fresh mkdtemp directory and lower Argon2id to
 * INTERACTIVE, except one round trip at the MODERATE default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/crypto_internal.h"

/* ---- Vector files ---- */

#define VEC_FILE_MAX (64 * 1024)
#define VEC_FIELDS_MAX 6

struct vec_file {
  char *buf;
  char *cursor;
};

struct vec_line {
  size_t n;
  char *f[VEC_FIELDS_MAX];
};

static void vec_open(struct vec_file *v, const char *name) {
  char path[1024];
  int n = snprintf(path, sizeof path, "%s/%s", MEDCHAIN_VECTORS_DIR, name);
  assert_true(n > 0 && (size_t)n < sizeof path);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  v->buf = malloc(VEC_FILE_MAX + 1);
  assert_non_null(v->buf);
  size_t len = fread(v->buf, 1, VEC_FILE_MAX + 1, f);
  fclose(f);
  assert_true(len <= VEC_FILE_MAX);
  v->buf[len] = '\0';
  v->cursor = v->buf;
}

static void vec_close(struct vec_file *v) {
  free(v->buf);
  v->buf = NULL;
}

/* Splits one line into space-separated fields in place. */
static void vec_split(char *p, struct vec_line *line) {
  line->n = 0;
  while (*p != '\0') {
    assert_true(line->n < VEC_FIELDS_MAX);
    line->f[line->n++] = p;
    char *space = strchr(p, ' ');
    if (space == NULL) {
      return;
    }
    *space = '\0';
    p = space + 1;
  }
}

/* The next line that is neither empty nor a comment; false at the end. */
static bool vec_next(struct vec_file *v, struct vec_line *line) {
  while (*v->cursor != '\0') {
    char *start = v->cursor;
    char *end = strchr(start, '\n');
    if (end == NULL) {
      v->cursor = start + strlen(start);
    } else {
      *end = '\0';
      v->cursor = end + 1;
    }
    if (start[0] != '\0' && start[0] != '#') {
      vec_split(start, line);
      return true;
    }
  }
  return false;
}

/* Hex of any length; "-" is empty. */
static size_t unhex(uint8_t *out, size_t cap, const char *hex) {
  if (strcmp(hex, "-") == 0) {
    return 0;
  }
  size_t len = 0;
  assert_int_equal(base_hex_decode_var(out, cap, &len, hex), OK);
  return len;
}

static void unhex_exact(uint8_t *out, size_t len, const char *hex) {
  assert_int_equal(base_hex_decode(out, len, hex), OK);
}

static int group_setup(void **state) {
  (void)state;
  return cry_init() == OK ? 0 : -1;
}

/* ---- Ed25519: RFC 8032 ---- */

static void check_rfc_vector(const uint8_t seed[32], const struct pubkey *pk, const uint8_t *msg,
                             size_t len, const struct signature *want) {
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  struct pubkey got_pk;
  cry_keys_sign_pk(k, &got_pk);
  assert_memory_equal(got_pk.b, pk->b, 32);
  assert_int_equal(cry_pubkey_check(pk), OK);

  struct signature sig;
  cry_sign(k, &sig, msg, len);
  assert_memory_equal(sig.b, want->b, 64);
  assert_int_equal(cry_verify(&sig, msg, len, pk), OK);
  cry_keys_destroy(k);

  /* Every single flipped bit of the signature, the key or the message
   * (first and last byte) is rejected. */
  for (size_t bit = 0; bit < 8 * sizeof sig.b; bit++) {
    struct signature bad = sig;
    bad.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(cry_verify(&bad, msg, len, pk), ERR_BAD_SIGNATURE);
  }
  for (size_t bit = 0; bit < 8 * sizeof pk->b; bit++) {
    struct pubkey bad = *pk;
    bad.b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    assert_int_equal(cry_verify(&sig, msg, len, &bad), ERR_BAD_SIGNATURE);
  }
  if (len > 0) {
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, msg, len);
    copy[0] ^= 0x01;
    assert_int_equal(cry_verify(&sig, copy, len, pk), ERR_BAD_SIGNATURE);
    copy[0] ^= 0x01;
    copy[len - 1] ^= 0x80;
    assert_int_equal(cry_verify(&sig, copy, len, pk), ERR_BAD_SIGNATURE);
    free(copy);
  }
}

static void test_ed25519_rfc8032(void **state) {
  (void)state;
  struct vec_file v;
  struct vec_line l;
  int count = 0;
  vec_open(&v, "ed25519_rfc8032.txt");
  while (vec_next(&v, &l)) {
    assert_int_equal(l.n, 5);
    uint8_t seed[32];
    uint8_t msg[2048];
    struct pubkey pk;
    struct signature want;
    unhex_exact(seed, sizeof seed, l.f[1]);
    unhex_exact(pk.b, sizeof pk.b, l.f[2]);
    size_t len = unhex(msg, sizeof msg, l.f[3]);
    unhex_exact(want.b, sizeof want.b, l.f[4]);
    check_rfc_vector(seed, &pk, msg, len, &want);
    count++;
  }
  vec_close(&v);
  assert_int_equal(count, 5); /* TEST 1, 2, 3, 1024, SHA(abc) */
}

/* ---- Ed25519: strict acceptance ---- */

/* The group order L = 2^252 + 27742317777372353535851937790883648493,
 * little-endian. */
static const uint8_t group_order[32] = {
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

/* S += L over 256 bits; S < L < 2^253, so it never overflows. */
static void scalar_add_order(uint8_t s[32]) {
  unsigned carry = 0;
  for (size_t i = 0; i < 32; i++) {
    unsigned v = s[i] + group_order[i] + carry;
    s[i] = (uint8_t)v;
    carry = v >> 8;
  }
  assert_int_equal(carry, 0);
}

static void test_ed25519_noncanonical_s(void **state) {
  (void)state;
  struct cry_keys *k = cry_keys_generate();
  assert_non_null(k);
  struct pubkey pk;
  cry_keys_sign_pk(k, &pk);
  for (int i = 0; i < 32; i++) {
    uint8_t msg[64];
    cry_random(msg, sizeof msg);
    struct signature sig;
    cry_sign(k, &sig, msg, sizeof msg);
    assert_int_equal(cry_verify(&sig, msg, sizeof msg, &pk), OK);
    /* S + L is the same scalar mod L: a lax verifier accepts it, which
     * would make signatures malleable. */
    struct signature bad = sig;
    scalar_add_order(bad.b + 32);
    assert_int_equal(cry_verify(&bad, msg, sizeof msg, &pk), ERR_BAD_SIGNATURE);
    /* S = L exactly. */
    memcpy(bad.b + 32, group_order, 32);
    assert_int_equal(cry_verify(&bad, msg, sizeof msg, &pk), ERR_BAD_SIGNATURE);
  }
  cry_keys_destroy(k);
}

struct strict_counts {
  int small;
  int noncanonical;
  int mixed;
  int lax_sigs;
};

static void check_strict_line(const struct vec_line *l, const struct signature *honest_sig,
                              const uint8_t *honest_msg, size_t honest_len,
                              struct strict_counts *counts) {
  struct pubkey pk;
  unhex_exact(pk.b, sizeof pk.b, l->f[1]);
  if (strcmp(l->f[0], "sig_lax") == 0) {
    assert_int_equal(l->n, 5);
    uint8_t msg[256];
    size_t len = unhex(msg, sizeof msg, l->f[2]);
    struct signature sig;
    unhex_exact(sig.b, sizeof sig.b, l->f[3]);
    /* Two forgeries use TEST 1's honest key: only the signature is bad. */
    bool honest_key = strcmp(l->f[4], "identity-R") == 0 || strcmp(l->f[4], "S-plus-L") == 0;
    assert_int_equal(cry_pubkey_check(&pk), honest_key ? OK : ERR_BAD_SIGNATURE);
    assert_int_equal(cry_verify(&sig, msg, len, &pk), ERR_BAD_SIGNATURE);
    counts->lax_sigs++;
    return;
  }
  assert_int_equal(cry_pubkey_check(&pk), ERR_BAD_SIGNATURE);
  if (strcmp(l->f[0], "pk_mixed") == 0) {
    counts->mixed++;
    return;
  }
  assert_int_equal(cry_verify(honest_sig, honest_msg, honest_len, &pk), ERR_BAD_SIGNATURE);
  if (strcmp(l->f[0], "pk_small") == 0) {
    counts->small++;
  } else if (strcmp(l->f[0], "pk_noncanonical") == 0) {
    counts->noncanonical++;
  } else {
    fail_msg("unknown vector kind %s", l->f[0]);
  }
}

static void test_ed25519_strict(void **state) {
  (void)state;
  struct cry_keys *k = cry_keys_generate();
  assert_non_null(k);
  static const uint8_t msg[] = "any message";
  struct signature sig;
  cry_sign(k, &sig, msg, sizeof msg);
  cry_keys_destroy(k);

  struct strict_counts counts = {0};
  struct vec_file v;
  struct vec_line l;
  vec_open(&v, "ed25519_strict.txt");
  while (vec_next(&v, &l)) {
    assert_true(l.n >= 2);
    check_strict_line(&l, &sig, msg, sizeof msg, &counts);
  }
  vec_close(&v);
  /* Every encoding of the 8 small-order points, with and without the sign
   * bit where x = 0, plus y = p and y = p + 1. */
  assert_int_equal(counts.small, 12);
  assert_int_equal(counts.noncanonical, 10);
  assert_int_equal(counts.mixed, 1);
  assert_int_equal(counts.lax_sigs, 4);
}

/* ---- Hashing and derivation ---- */

/* Feeds data to a hasher in chunks of 1, 2, 3, ... bytes. */
static void hash_in_chunks(struct hash32 *out, const char *tag, const uint8_t *data, size_t len) {
  struct cry_hasher h;
  cry_hasher_init(&h, tag);
  size_t chunk = 1;
  for (size_t off = 0; off < len; chunk++) {
    size_t n = len - off < chunk ? len - off : chunk;
    cry_hasher_update(&h, data + off, n);
    off += n;
  }
  cry_hasher_update(&h, data, 0);
  cry_hasher_final(&h, out);
}

static void check_plain_hash(const struct vec_line *l) {
  assert_int_equal(l->n, 3);
  uint8_t data[512];
  size_t len = unhex(data, sizeof data, l->f[1]);
  struct hash32 want;
  unhex_exact(want.b, sizeof want.b, l->f[2]);
  struct hash32 got;
  cry_hash(&got, data, len);
  assert_memory_equal(got.b, want.b, 32);
  hash_in_chunks(&got, NULL, data, len);
  assert_memory_equal(got.b, want.b, 32);
}

static void check_tagged_hash(const struct vec_line *l) {
  assert_int_equal(l->n, 4);
  const char *tag = l->f[1];
  uint8_t data[512];
  size_t len = unhex(data, sizeof data, l->f[2]);
  struct hash32 want;
  unhex_exact(want.b, sizeof want.b, l->f[3]);
  struct hash32 got;
  cry_hash_tagged(&got, tag, data, len);
  assert_memory_equal(got.b, want.b, 32);
  hash_in_chunks(&got, tag, data, len);
  assert_memory_equal(got.b, want.b, 32);
  /* The documented form, assembled by hand: u8 len(tag) || tag || data. */
  uint8_t buf[1 + 255 + sizeof data];
  size_t tag_len = strlen(tag);
  buf[0] = (uint8_t)tag_len;
  memcpy(buf + 1, tag, tag_len);
  memcpy(buf + 1 + tag_len, data, len);
  cry_hash(&got, buf, 1 + tag_len + len);
  assert_memory_equal(got.b, want.b, 32);
}

static void check_derived_keys(const struct vec_line *l) {
  assert_int_equal(l->n, 5);
  uint8_t seed[32];
  struct pubkey want_sign;
  struct boxkey want_box;
  struct hash32 want_id;
  unhex_exact(seed, sizeof seed, l->f[1]);
  unhex_exact(want_sign.b, 32, l->f[2]);
  unhex_exact(want_box.b, 32, l->f[3]);
  unhex_exact(want_id.b, 32, l->f[4]);
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  struct pubkey sign_pk;
  struct boxkey box_pk;
  struct hash32 id;
  cry_keys_sign_pk(k, &sign_pk);
  cry_keys_box_pk(k, &box_pk);
  cry_id_from_pk(&id, &sign_pk);
  assert_memory_equal(sign_pk.b, want_sign.b, 32);
  assert_memory_equal(box_pk.b, want_box.b, 32);
  assert_memory_equal(id.b, want_id.b, 32);
  cry_keys_destroy(k);
}

static void test_hash_known_answers(void **state) {
  (void)state;
  int plain = 0;
  int tagged = 0;
  int keys = 0;
  struct vec_file v;
  struct vec_line l;
  vec_open(&v, "crypto_medchain.txt");
  while (vec_next(&v, &l)) {
    if (strcmp(l.f[0], "blake2b256") == 0) {
      check_plain_hash(&l);
      plain++;
    } else if (strcmp(l.f[0], "tagged") == 0) {
      check_tagged_hash(&l);
      tagged++;
    } else if (strcmp(l.f[0], "keys") == 0) {
      check_derived_keys(&l);
      keys++;
    } else {
      fail_msg("unknown vector kind %s", l.f[0]);
    }
  }
  vec_close(&v);
  assert_int_equal(plain, 3);
  assert_int_equal(tagged, 4);
  assert_int_equal(keys, 3);
}

static void test_hash_fixed_answers(void **state) {
  (void)state;
  /* The two BLAKE2b-256 answers everyone quotes, independent of any file. */
  struct hash32 got;
  struct hash32 want;
  cry_hash(&got, (const uint8_t *)"", 0);
  unhex_exact(want.b, 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  assert_memory_equal(got.b, want.b, 32);
  cry_hash(&got, (const uint8_t *)"abc", 3);
  unhex_exact(want.b, 32, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  assert_memory_equal(got.b, want.b, 32);

  /* A tag that is a prefix of another cannot collide with it. */
  struct hash32 a;
  struct hash32 b;
  cry_hash_tagged(&a, "medchain.tx.v1", (const uint8_t *)"abc", 3);
  cry_hash_tagged(&b, "medchain.tx.v", (const uint8_t *)"1abc", 4);
  assert_false(base_hash_eq(&a, &b));
  /* Tagged and plain hashes of the same data differ. */
  cry_hash(&b, (const uint8_t *)"abc", 3);
  assert_false(base_hash_eq(&a, &b));
}

static void test_hasher_random_chunks(void **state) {
  (void)state;
  uint8_t data[3000];
  cry_random(data, sizeof data);
  struct hash32 one_shot;
  struct hash32 chunked;
  cry_hash(&one_shot, data, sizeof data);
  hash_in_chunks(&chunked, NULL, data, sizeof data);
  assert_memory_equal(one_shot.b, chunked.b, 32);
  cry_hash_tagged(&one_shot, "medchain.test.v1", data, sizeof data);
  hash_in_chunks(&chunked, "medchain.test.v1", data, sizeof data);
  assert_memory_equal(one_shot.b, chunked.b, 32);
}

/* ---- Keys ---- */

static void test_keys_generate(void **state) {
  (void)state;
  struct cry_keys *a = cry_keys_generate();
  struct cry_keys *b = cry_keys_generate();
  assert_non_null(a);
  assert_non_null(b);
  struct pubkey pa;
  struct pubkey pb;
  cry_keys_sign_pk(a, &pa);
  cry_keys_sign_pk(b, &pb);
  assert_false(cry_equal(pa.b, pb.b, 32));
  assert_int_equal(cry_pubkey_check(&pa), OK);

  static const uint8_t msg[] = "consent grant";
  struct signature sig;
  cry_sign(a, &sig, msg, sizeof msg);
  assert_int_equal(cry_verify(&sig, msg, sizeof msg, &pa), OK);
  assert_int_equal(cry_verify(&sig, msg, sizeof msg, &pb), ERR_BAD_SIGNATURE);

  /* Same seed, same keys; deterministic signatures. */
  struct cry_keys *again = cry_keys_from_seed(a->seed);
  assert_non_null(again);
  struct signature sig2;
  cry_sign(again, &sig2, msg, sizeof msg);
  assert_memory_equal(sig.b, sig2.b, 64);
  assert_memory_equal(a->box_pk, again->box_pk, 32);

  cry_keys_destroy(again);
  cry_keys_destroy(a);
  cry_keys_destroy(b);
  cry_keys_destroy(NULL);
}

static void test_equal_and_wipe(void **state) {
  (void)state;
  uint8_t x[40];
  uint8_t y[40];
  cry_random(x, sizeof x);
  memcpy(y, x, sizeof y);
  assert_true(cry_equal(x, y, sizeof x));
  y[39] ^= 1;
  assert_false(cry_equal(x, y, sizeof x));
  assert_true(cry_equal(x, y, 0));
  cry_wipe(x, sizeof x);
  static const uint8_t zero[40];
  assert_memory_equal(x, zero, sizeof x);
}

/* ---- Sealed boxes ---- */

static void test_seal_round_trip(void **state) {
  (void)state;
  struct cry_keys *alice = cry_keys_generate();
  struct cry_keys *mallory = cry_keys_generate();
  assert_non_null(alice);
  assert_non_null(mallory);
  struct boxkey to;
  cry_keys_box_pk(alice, &to);

  uint8_t msg[32];
  cry_random(msg, sizeof msg);
  uint8_t c[sizeof msg + CRY_SEAL_OVERHEAD];
  uint8_t c2[sizeof c];
  uint8_t out[sizeof msg];
  assert_int_equal(cry_seal(c, msg, sizeof msg, &to), OK);
  assert_int_equal(cry_seal(c2, msg, sizeof msg, &to), OK);
  assert_memory_not_equal(c, c2, sizeof c); /* fresh ephemeral key each time */
  assert_int_equal(cry_seal_open(alice, out, c, sizeof c), OK);
  assert_memory_equal(out, msg, sizeof msg);

  static const uint8_t zero[sizeof msg];
  memset(out, 0xaa, sizeof out);
  assert_int_equal(cry_seal_open(mallory, out, c, sizeof c), ERR_BAD_SIGNATURE);
  assert_memory_equal(out, zero, sizeof out);
  for (size_t i = 0; i < sizeof c; i++) {
    c[i] ^= 0x04;
    assert_int_equal(cry_seal_open(alice, out, c, sizeof c), ERR_BAD_SIGNATURE);
    c[i] ^= 0x04;
  }
  assert_int_equal(cry_seal_open(alice, out, c, CRY_SEAL_OVERHEAD - 1), ERR_BAD_SIGNATURE);
  assert_int_equal(cry_seal_open(alice, out, c, sizeof c - 1), ERR_BAD_SIGNATURE);

  /* An empty message seals to just the overhead. */
  assert_int_equal(cry_seal(c, msg, 0, &to), OK);
  assert_int_equal(cry_seal_open(alice, out, c, CRY_SEAL_OVERHEAD), OK);
  cry_keys_destroy(alice);
  cry_keys_destroy(mallory);
}

static void test_seal_small_order_recipient(void **state) {
  (void)state;
  /* X25519 points of small order: the shared secret would be all zero and
   * the "sealed" message readable by anyone. */
  static const char *const small[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  uint8_t msg[16] = {1, 2, 3};
  uint8_t c[sizeof msg + CRY_SEAL_OVERHEAD];
  for (size_t i = 0; i < ARRAY_LEN(small); i++) {
    struct boxkey to;
    unhex_exact(to.b, sizeof to.b, small[i]);
    assert_int_equal(cry_seal(c, msg, sizeof msg, &to), ERR_BAD_ARGS);
  }
}

/* ---- AEAD ---- */

static void test_aead_known_answer(void **state) {
  (void)state;
  struct vec_file v;
  struct vec_line l;
  int count = 0;
  vec_open(&v, "xchacha20poly1305.txt");
  while (vec_next(&v, &l)) {
    assert_int_equal(l.n, 5);
    uint8_t key[32];
    uint8_t nonce[24];
    uint8_t ad[64];
    uint8_t pt[256];
    uint8_t want[256 + 16];
    unhex_exact(key, sizeof key, l.f[0]);
    unhex_exact(nonce, sizeof nonce, l.f[1]);
    size_t ad_len = unhex(ad, sizeof ad, l.f[2]);
    size_t pt_len = unhex(pt, sizeof pt, l.f[3]);
    size_t ct_len = unhex(want, sizeof want, l.f[4]);
    assert_int_equal(ct_len, pt_len + CRY_AEAD_TAG_BYTES);
    uint8_t got[sizeof want];
    cry_aead_encrypt(got, pt, pt_len, ad, ad_len, nonce, key);
    assert_memory_equal(got, want, ct_len);
    uint8_t back[sizeof pt];
    assert_int_equal(cry_aead_decrypt(back, got, ct_len, ad, ad_len, nonce, key), OK);
    assert_memory_equal(back, pt, pt_len);
    count++;
  }
  vec_close(&v);
  assert_int_equal(count, 1);
}

static void test_aead_tamper(void **state) {
  (void)state;
  uint8_t key[CRY_AEAD_KEY_BYTES];
  uint8_t nonce[CRY_AEAD_NONCE_BYTES];
  uint8_t msg[100];
  static const uint8_t ad[] = "record header";
  cry_random(key, sizeof key);
  cry_random(nonce, sizeof nonce);
  cry_random(msg, sizeof msg);
  uint8_t c[sizeof msg + CRY_AEAD_TAG_BYTES];
  uint8_t out[sizeof msg];
  static const uint8_t zero[sizeof msg];
  cry_aead_encrypt(c, msg, sizeof msg, ad, sizeof ad, nonce, key);
  assert_int_equal(cry_aead_decrypt(out, c, sizeof c, ad, sizeof ad, nonce, key), OK);
  assert_memory_equal(out, msg, sizeof msg);

  for (size_t i = 0; i < sizeof c; i++) {
    c[i] ^= 0x10;
    memset(out, 0xaa, sizeof out);
    assert_int_equal(cry_aead_decrypt(out, c, sizeof c, ad, sizeof ad, nonce, key),
                     ERR_BAD_SIGNATURE);
    assert_memory_equal(out, zero, sizeof out); /* nothing unauthenticated leaks */
    c[i] ^= 0x10;
  }
  assert_int_equal(cry_aead_decrypt(out, c, sizeof c, ad, sizeof ad - 1, nonce, key),
                   ERR_BAD_SIGNATURE);
  assert_int_equal(cry_aead_decrypt(out, c, sizeof c, NULL, 0, nonce, key), ERR_BAD_SIGNATURE);
  nonce[0] ^= 1;
  assert_int_equal(cry_aead_decrypt(out, c, sizeof c, ad, sizeof ad, nonce, key),
                   ERR_BAD_SIGNATURE);
  nonce[0] ^= 1;
  key[31] ^= 1;
  assert_int_equal(cry_aead_decrypt(out, c, sizeof c, ad, sizeof ad, nonce, key),
                   ERR_BAD_SIGNATURE);
  key[31] ^= 1;
  assert_int_equal(cry_aead_decrypt(out, c, sizeof c - 1, ad, sizeof ad, nonce, key),
                   ERR_BAD_SIGNATURE);
  assert_int_equal(cry_aead_decrypt(out, c, CRY_AEAD_TAG_BYTES - 1, ad, sizeof ad, nonce, key),
                   ERR_BAD_SIGNATURE);

  /* Empty message, no associated data. */
  cry_aead_encrypt(c, NULL, 0, NULL, 0, nonce, key);
  assert_int_equal(cry_aead_decrypt(out, c, CRY_AEAD_TAG_BYTES, NULL, 0, nonce, key), OK);
}

/* ---- Keystore ---- */

/* The file layout, restated here so a change to it fails a test. */
#define KS_FILE_BYTES 177
#define KS_OFF_KDF 8
#define KS_OFF_OPSLIMIT 9
#define KS_OFF_MEMLIMIT 17
#define KS_OFF_SALT 25
#define KS_OFF_NONCE 41
#define KS_OFF_SIGN_PK 65
#define KS_OFF_BOX_PK 97
#define KS_OFF_SEALED 129

/* libsodium's Argon2id INTERACTIVE and MODERATE limits. */
#define KS_FAST_OPSLIMIT 2u
#define KS_FAST_MEMLIMIT (64u * 1024u * 1024u)
#define KS_DEFAULT_OPSLIMIT 3u
#define KS_DEFAULT_MEMLIMIT (256u * 1024u * 1024u)

#define PASSPHRASE "correct horse battery staple"

struct ks_fixture {
  char dir[64];
  char path[128];
};

static int ks_setup(void **state) {
  struct ks_fixture *fx = calloc(1, sizeof *fx);
  if (fx == NULL) {
    return -1;
  }
  memcpy(fx->dir, "/tmp/medchain-crypto-XXXXXX", sizeof "/tmp/medchain-crypto-XXXXXX");
  if (mkdtemp(fx->dir) == NULL) {
    free(fx);
    return -1;
  }
  snprintf(fx->path, sizeof fx->path, "%s/node.keys", fx->dir);
  cry_keystore_kdf_limits_set(KS_FAST_OPSLIMIT, KS_FAST_MEMLIMIT);
  *state = fx;
  return 0;
}

/* Entries in the fixture directory other than . and .. */
static int ks_dir_entries(const struct ks_fixture *fx) {
  DIR *d = opendir(fx->dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      n++;
    }
  }
  closedir(d);
  return n;
}

static int ks_teardown(void **state) {
  struct ks_fixture *fx = *state;
  DIR *d = opendir(fx->dir);
  if (d != NULL) {
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
      char p[512];
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
          snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name) < (int)sizeof p) {
        (void)remove(p);
      }
    }
    closedir(d);
  }
  (void)rmdir(fx->dir);
  cry_keystore_kdf_limits_reset();
  free(fx);
  return 0;
}

static size_t file_load(const char *path, uint8_t *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static void file_store(const char *path, const uint8_t *buf, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(buf, 1, len, f), len);
  assert_int_equal(fclose(f), 0);
}

static void assert_mode_0600(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
}

static void assert_same_keys(const struct cry_keys *a, const struct cry_keys *b) {
  assert_non_null(b);
  assert_memory_equal(a->sign_pk, b->sign_pk, 32);
  assert_memory_equal(a->box_pk, b->box_pk, 32);
  /* Same secret: deterministic signatures agree. */
  static const uint8_t msg[] = "keystore";
  struct signature sa;
  struct signature sb;
  cry_sign(a, &sa, msg, sizeof msg);
  cry_sign(b, &sb, msg, sizeof msg);
  assert_memory_equal(sa.b, sb.b, 64);
}

static void test_keystore_passphrase(void **state) {
  struct ks_fixture *fx = *state;
  struct cry_keys *k = cry_keys_generate();
  assert_non_null(k);
  assert_int_equal(cry_keystore_write(fx->path, k, PASSPHRASE, false), OK);
  assert_mode_0600(fx->path);
  assert_int_equal(ks_dir_entries(fx), 1); /* no temporary left behind */

  uint8_t img[KS_FILE_BYTES + 1];
  assert_int_equal(file_load(fx->path, img, sizeof img), KS_FILE_BYTES);
  assert_memory_equal(img, "MCKEYS1\n", 8);
  assert_int_equal(img[KS_OFF_KDF], 1);
  assert_int_equal(base_get_u64be(img + KS_OFF_OPSLIMIT), KS_FAST_OPSLIMIT);
  assert_int_equal(base_get_u64be(img + KS_OFF_MEMLIMIT), KS_FAST_MEMLIMIT);
  assert_memory_equal(img + KS_OFF_SIGN_PK, k->sign_pk, 32);
  assert_memory_equal(img + KS_OFF_BOX_PK, k->box_pk, 32);

  struct cry_keys *back = NULL;
  assert_int_equal(cry_keystore_read(&back, fx->path, PASSPHRASE), OK);
  assert_same_keys(k, back);
  cry_keys_destroy(back);

  back = k; /* must come back NULL */
  assert_int_equal(cry_keystore_read(&back, fx->path, "correct horse battery stapler"),
                   ERR_BAD_PASSPHRASE);
  assert_null(back);
  assert_int_equal(cry_keystore_read(&back, fx->path, ""), ERR_BAD_PASSPHRASE);
  assert_int_equal(cry_keystore_read(&back, fx->path, NULL), ERR_BAD_PASSPHRASE);
  assert_null(back);

  struct pubkey sign_pk;
  struct boxkey box_pk;
  assert_int_equal(cry_keystore_read_public(fx->path, &sign_pk, &box_pk), OK);
  assert_memory_equal(sign_pk.b, k->sign_pk, 32);
  assert_memory_equal(box_pk.b, k->box_pk, 32);
  cry_keys_destroy(k);
}

static void test_keystore_moderate_default(void **state) {
  struct ks_fixture *fx = *state;
  cry_keystore_kdf_limits_reset();
  struct cry_keys *k = cry_keys_generate();
  assert_non_null(k);
  assert_int_equal(cry_keystore_write(fx->path, k, PASSPHRASE, false), OK);
  uint8_t img[KS_FILE_BYTES];
  assert_int_equal(file_load(fx->path, img, sizeof img), KS_FILE_BYTES);
  assert_int_equal(base_get_u64be(img + KS_OFF_OPSLIMIT), KS_DEFAULT_OPSLIMIT);
  assert_int_equal(base_get_u64be(img + KS_OFF_MEMLIMIT), KS_DEFAULT_MEMLIMIT);

  /* The reader takes the limits from the file, not from the writer's
   * current setting. */
  cry_keystore_kdf_limits_set(KS_FAST_OPSLIMIT, KS_FAST_MEMLIMIT);
  struct cry_keys *back = NULL;
  assert_int_equal(cry_keystore_read(&back, fx->path, PASSPHRASE), OK);
  assert_same_keys(k, back);
  cry_keys_destroy(back);
  cry_keys_destroy(k);
}

static void test_keystore_unprotected(void **state) {
  struct ks_fixture *fx = *state;
  uint8_t seed[32];
  cry_random(seed, sizeof seed);
  struct cry_keys *k = cry_keys_from_seed(seed);
  assert_non_null(k);
  assert_int_equal(cry_keystore_write(fx->path, k, NULL, false), OK);
  assert_mode_0600(fx->path);

  /* The format pinned byte by byte: zero kdf fields, and the seed under
   * XChaCha20-Poly1305 with a zero key and the header as associated data. */
  uint8_t img[KS_FILE_BYTES];
  assert_int_equal(file_load(fx->path, img, sizeof img), KS_FILE_BYTES);
  static const uint8_t zero[32];
  assert_int_equal(img[KS_OFF_KDF], 0);
  assert_memory_equal(img + KS_OFF_OPSLIMIT, zero, 16 + 16); /* limits and salt */
  uint8_t opened[32];
  assert_int_equal(cry_aead_decrypt(opened, img + KS_OFF_SEALED, 48, img, KS_OFF_SEALED,
                                    img + KS_OFF_NONCE, zero),
                   OK);
  assert_memory_equal(opened, seed, 32);

  struct cry_keys *back = NULL;
  assert_int_equal(cry_keystore_read(&back, fx->path, NULL), OK);
  assert_same_keys(k, back);
  cry_keys_destroy(back);
  /* A passphrase the file does not need is ignored. */
  assert_int_equal(cry_keystore_read(&back, fx->path, "x"), OK);
  assert_same_keys(k, back);
  cry_keys_destroy(back);
  cry_keys_destroy(k);
}

static void test_keystore_exists(void **state) {
  struct ks_fixture *fx = *state;
  struct cry_keys *first = cry_keys_generate();
  struct cry_keys *second = cry_keys_generate();
  assert_non_null(first);
  assert_non_null(second);
  assert_int_equal(cry_keystore_write(fx->path, first, NULL, false), OK);
  assert_int_equal(cry_keystore_write(fx->path, second, NULL, false), ERR_EXISTS);
  assert_int_equal(cry_keystore_write(fx->path, second, PASSPHRASE, false), ERR_EXISTS);
  struct cry_keys *back = NULL;
  assert_int_equal(cry_keystore_read(&back, fx->path, NULL), OK);
  assert_same_keys(first, back);
  cry_keys_destroy(back);

  assert_int_equal(cry_keystore_write(fx->path, second, NULL, true), OK);
  assert_int_equal(cry_keystore_read(&back, fx->path, NULL), OK);
  assert_same_keys(second, back);
  cry_keys_destroy(back);
  assert_mode_0600(fx->path);
  assert_int_equal(ks_dir_entries(fx), 1);

  char missing[256];
  snprintf(missing, sizeof missing, "%s/no/such/dir/keys", fx->dir);
  assert_int_equal(cry_keystore_write(missing, first, NULL, false), ERR_IO);
  cry_keys_destroy(first);
  cry_keys_destroy(second);
}

/* Reading img from the fixture path fails with MALFORMED or BAD_PASSPHRASE. */
static int ks_read_image(const struct ks_fixture *fx, const uint8_t *img, size_t len,
                         const char *passphrase) {
  file_store(fx->path, img, len);
  static struct cry_keys sentinel;
  struct cry_keys *back = &sentinel;
  int rc = cry_keystore_read(&back, fx->path, passphrase);
  assert_true(rc == ERR_MALFORMED || rc == ERR_BAD_PASSPHRASE);
  assert_null(back);
  return rc;
}

static void test_keystore_corrupt_unprotected(void **state) {
  struct ks_fixture *fx = *state;
  struct cry_keys *k = cry_keys_generate();
  assert_non_null(k);
  assert_int_equal(cry_keystore_write(fx->path, k, NULL, false), OK);
  uint8_t img[KS_FILE_BYTES + 1];
  assert_int_equal(file_load(fx->path, img, sizeof img), KS_FILE_BYTES);

  /* Any one flipped bit, anywhere, is caught. */
  for (size_t i = 0; i < KS_FILE_BYTES; i++) {
    for (unsigned bit = 0; bit < 8; bit += 7) {
      img[i] ^= (uint8_t)(1u << bit);
      assert_int_equal(ks_read_image(fx, img, KS_FILE_BYTES, NULL), ERR_MALFORMED);
      img[i] ^= (uint8_t)(1u << bit);
    }
  }
  assert_int_equal(ks_read_image(fx, img, KS_FILE_BYTES - 1, NULL), ERR_MALFORMED);
  img[KS_FILE_BYTES] = 0;
  assert_int_equal(ks_read_image(fx, img, KS_FILE_BYTES + 1, NULL), ERR_MALFORMED);
  assert_int_equal(ks_read_image(fx, img, 0, NULL), ERR_MALFORMED);
  struct pubkey sign_pk;
  struct boxkey box_pk;
  assert_int_equal(cry_keystore_read_public(fx->path, &sign_pk, &box_pk), ERR_MALFORMED);

  uint8_t junk[KS_FILE_BYTES];
  cry_random(junk, sizeof junk);
  assert_int_equal(ks_read_image(fx, junk, sizeof junk, NULL), ERR_MALFORMED);

  struct cry_keys *back = NULL;
  assert_int_equal(cry_keystore_read(&back, fx->dir, NULL), ERR_MALFORMED); /* a directory */
  char missing[256];
  snprintf(missing, sizeof missing, "%s/missing.keys", fx->dir);
  assert_int_equal(cry_keystore_read(&back, missing, NULL), ERR_IO);
  assert_int_equal(cry_keystore_read_public(missing, &sign_pk, &box_pk), ERR_IO);
  cry_keys_destroy(k);
}

static void test_keystore_corrupt_protected(void **state) {
  struct ks_fixture *fx = *state;
  struct cry_keys *k = cry_keys_generate();
  assert_non_null(k);
  assert_int_equal(cry_keystore_write(fx->path, k, PASSPHRASE, false), OK);
  uint8_t img[KS_FILE_BYTES];
  assert_int_equal(file_load(fx->path, img, sizeof img), KS_FILE_BYTES);
  uint8_t bad[KS_FILE_BYTES];

  memcpy(bad, img, sizeof bad);
  bad[KS_OFF_SEALED + 3] ^= 1;
  assert_int_equal(ks_read_image(fx, bad, sizeof bad, PASSPHRASE), ERR_BAD_PASSPHRASE);
  memcpy(bad, img, sizeof bad);
  bad[KS_OFF_SALT] ^= 1;
  assert_int_equal(ks_read_image(fx, bad, sizeof bad, PASSPHRASE), ERR_BAD_PASSPHRASE);

  /* Limits out of bounds are refused before any work is done. */
  static const uint64_t bad_limits[][2] = {
      {0, KS_FAST_MEMLIMIT},          {33, KS_FAST_MEMLIMIT}, {UINT64_MAX, KS_FAST_MEMLIMIT},
      {KS_FAST_OPSLIMIT, 8191},       {KS_FAST_OPSLIMIT, 0},  {KS_FAST_OPSLIMIT, (1ull << 30) + 1},
      {KS_FAST_OPSLIMIT, UINT64_MAX},
  };
  for (size_t i = 0; i < ARRAY_LEN(bad_limits); i++) {
    memcpy(bad, img, sizeof bad);
    base_put_u64be(bad + KS_OFF_OPSLIMIT, bad_limits[i][0]);
    base_put_u64be(bad + KS_OFF_MEMLIMIT, bad_limits[i][1]);
    assert_int_equal(ks_read_image(fx, bad, sizeof bad, PASSPHRASE), ERR_MALFORMED);
  }
  memcpy(bad, img, sizeof bad);
  bad[KS_OFF_KDF] = 2;
  assert_int_equal(ks_read_image(fx, bad, sizeof bad, PASSPHRASE), ERR_MALFORMED);
  bad[KS_OFF_KDF] = 0; /* "unprotected" with Argon2id fields set */
  assert_int_equal(ks_read_image(fx, bad, sizeof bad, NULL), ERR_MALFORMED);
  cry_keys_destroy(k);
}

/* An unprotected file re-sealed so it authenticates, but naming public keys
 * that are not the seed's: the reader re-derives and refuses. */
static void test_keystore_key_mismatch(void **state) {
  struct ks_fixture *fx = *state;
  uint8_t seed[32];
  cry_random(seed, sizeof seed);
  struct cry_keys *k = cry_keys_from_seed(seed);
  struct cry_keys *other = cry_keys_generate();
  assert_non_null(k);
  assert_non_null(other);
  assert_int_equal(cry_keystore_write(fx->path, k, NULL, false), OK);
  uint8_t img[KS_FILE_BYTES];
  assert_int_equal(file_load(fx->path, img, sizeof img), KS_FILE_BYTES);
  static const uint8_t zero_key[32];

  memcpy(img + KS_OFF_SIGN_PK, other->sign_pk, 32);
  cry_aead_encrypt(img + KS_OFF_SEALED, seed, 32, img, KS_OFF_SEALED, img + KS_OFF_NONCE, zero_key);
  assert_int_equal(ks_read_image(fx, img, sizeof img, NULL), ERR_MALFORMED);

  memcpy(img + KS_OFF_SIGN_PK, k->sign_pk, 32);
  memcpy(img + KS_OFF_BOX_PK, other->box_pk, 32);
  cry_aead_encrypt(img + KS_OFF_SEALED, seed, 32, img, KS_OFF_SEALED, img + KS_OFF_NONCE, zero_key);
  assert_int_equal(ks_read_image(fx, img, sizeof img, NULL), ERR_MALFORMED);

  /* Restored, the hand-sealed file reads: the failures above were the keys. */
  memcpy(img + KS_OFF_BOX_PK, k->box_pk, 32);
  cry_aead_encrypt(img + KS_OFF_SEALED, seed, 32, img, KS_OFF_SEALED, img + KS_OFF_NONCE, zero_key);
  file_store(fx->path, img, sizeof img);
  struct cry_keys *back = NULL;
  assert_int_equal(cry_keystore_read(&back, fx->path, NULL), OK);
  assert_same_keys(k, back);
  cry_keys_destroy(back);
  cry_keys_destroy(other);
  cry_keys_destroy(k);
}

/* ---- Key exchange and streams ---- */

/* Two ends of one connection, from fixed seeds: a client (the dialer) and a
 * server, both bound to the same transcript. */
struct stream_pair {
  struct cry_kx *kx_c, *kx_s;
  struct cry_stream *c, *s;
};

static void stream_pair_open(struct stream_pair *p, uint8_t seed_byte,
                             const struct hash32 *transcript_c, const struct hash32 *transcript_s) {
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, seed_byte, sizeof seed);
  p->kx_c = cry_kx_from_seed(seed);
  seed[0] ^= 0x80;
  p->kx_s = cry_kx_from_seed(seed);
  assert_non_null(p->kx_c);
  assert_non_null(p->kx_s);
  struct boxkey pk_c, pk_s;
  cry_kx_pk(p->kx_c, &pk_c);
  cry_kx_pk(p->kx_s, &pk_s);
  uint8_t hdr_c[CRY_STREAM_HEADER_BYTES], hdr_s[CRY_STREAM_HEADER_BYTES];
  assert_int_equal(cry_stream_create(&p->c, hdr_c, p->kx_c, &pk_s, true, transcript_c), OK);
  assert_int_equal(cry_stream_create(&p->s, hdr_s, p->kx_s, &pk_c, false, transcript_s), OK);
  assert_int_equal(cry_stream_open(p->c, hdr_s), OK);
  assert_int_equal(cry_stream_open(p->s, hdr_c), OK);
}

static void stream_pair_close(struct stream_pair *p) {
  cry_stream_destroy(p->c);
  cry_stream_destroy(p->s);
  cry_kx_destroy(p->kx_c);
  cry_kx_destroy(p->kx_s);
}

static void test_kx_from_seed(void **state) {
  (void)state;
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, 7, sizeof seed);
  struct cry_kx *a = cry_kx_from_seed(seed);
  struct cry_kx *b = cry_kx_from_seed(seed);
  struct cry_kx *r = cry_kx_create();
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(r);
  struct boxkey pa, pb, pr;
  cry_kx_pk(a, &pa);
  cry_kx_pk(b, &pb);
  cry_kx_pk(r, &pr);
  assert_memory_equal(pa.b, pb.b, sizeof pa.b);
  assert_memory_not_equal(pa.b, pr.b, sizeof pa.b);
  cry_kx_destroy(a);
  cry_kx_destroy(b);
  cry_kx_destroy(r);
  cry_kx_destroy(NULL);
  cry_stream_destroy(NULL);
}

static void test_stream_round_trip(void **state) {
  (void)state;
  struct hash32 t;
  cry_hash(&t, (const uint8_t *)"transcript", 10);
  struct stream_pair p;
  stream_pair_open(&p, 1, &t, &t);
  /* Both directions, in order, lengths 0..299, interleaved. */
  uint8_t msg[300], c[300 + CRY_STREAM_OVERHEAD], out[300];
  for (size_t len = 0; len < sizeof msg; len++) {
    cry_random(msg, len);
    cry_stream_push(p.c, c, msg, len);
    assert_int_equal(cry_stream_pull(p.s, out, c, len + CRY_STREAM_OVERHEAD), OK);
    assert_memory_equal(out, msg, len);
    cry_stream_push(p.s, c, msg, len);
    assert_int_equal(cry_stream_pull(p.c, out, c, len + CRY_STREAM_OVERHEAD), OK);
    assert_memory_equal(out, msg, len);
  }
  stream_pair_close(&p);
}

static void test_stream_tamper(void **state) {
  (void)state;
  struct hash32 t;
  cry_hash(&t, (const uint8_t *)"transcript", 10);
  uint8_t msg[64], c1[64 + CRY_STREAM_OVERHEAD], c2[64 + CRY_STREAM_OVERHEAD], out[64];
  static const uint8_t zero[64];
  cry_random(msg, sizeof msg);

  /* Any flipped bit fails and leaks nothing. libsodium leaves the state
   * untouched on a failure, which lets one loop try every byte and the
   * untouched frame still open at the end. */
  struct stream_pair p;
  stream_pair_open(&p, 2, &t, &t);
  cry_stream_push(p.c, c1, msg, sizeof msg);
  for (size_t i = 0; i < sizeof c1; i++) {
    c1[i] ^= 0x01;
    memset(out, 0xaa, sizeof out);
    assert_int_equal(cry_stream_pull(p.s, out, c1, sizeof c1), ERR_BAD_SIGNATURE);
    assert_memory_equal(out, zero, sizeof out);
    c1[i] ^= 0x01;
  }
  assert_int_equal(cry_stream_pull(p.s, out, c1, sizeof c1 - 1), ERR_BAD_SIGNATURE);
  assert_int_equal(cry_stream_pull(p.s, out, c1, CRY_STREAM_OVERHEAD - 1), ERR_BAD_SIGNATURE);
  assert_int_equal(cry_stream_pull(p.s, out, c1, sizeof c1), OK);
  /* A replay of the same frame fails: the nonce has moved on. */
  assert_int_equal(cry_stream_pull(p.s, out, c1, sizeof c1), ERR_BAD_SIGNATURE);
  stream_pair_close(&p);

  /* Reordering fails. */
  stream_pair_open(&p, 3, &t, &t);
  cry_stream_push(p.c, c1, msg, sizeof msg);
  cry_stream_push(p.c, c2, msg, sizeof msg);
  assert_int_equal(cry_stream_pull(p.s, out, c2, sizeof c2), ERR_BAD_SIGNATURE);
  stream_pair_close(&p);

  /* A frame one direction sent does not open in the other direction. */
  stream_pair_open(&p, 4, &t, &t);
  cry_stream_push(p.c, c1, msg, sizeof msg);
  assert_int_equal(cry_stream_pull(p.c, out, c1, sizeof c1), ERR_BAD_SIGNATURE);
  stream_pair_close(&p);
}

static void test_stream_transcript_bound(void **state) {
  (void)state;
  struct hash32 t1, t2;
  cry_hash(&t1, (const uint8_t *)"one", 3);
  cry_hash(&t2, (const uint8_t *)"two", 3);
  struct stream_pair p;
  stream_pair_open(&p, 5, &t1, &t2);
  uint8_t msg[16] = {1}, c[16 + CRY_STREAM_OVERHEAD], out[16];
  cry_stream_push(p.c, c, msg, sizeof msg);
  assert_int_equal(cry_stream_pull(p.s, out, c, sizeof c), ERR_BAD_SIGNATURE);
  stream_pair_close(&p);
}

static void test_stream_bad_peer_key(void **state) {
  (void)state;
  struct hash32 t;
  cry_hash(&t, (const uint8_t *)"t", 1);
  struct cry_kx *kx = cry_kx_create();
  assert_non_null(kx);
  /* The identity point and a point of order 8 give no shared secret. */
  struct boxkey zero = {{0}};
  struct boxkey order8;
  assert_int_equal(
      base_hex_decode(order8.b, 32,
                      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
      OK);
  uint8_t hdr[CRY_STREAM_HEADER_BYTES];
  struct cry_stream *s = NULL;
  assert_int_equal(cry_stream_create(&s, hdr, kx, &zero, true, &t), ERR_BAD_SIGNATURE);
  assert_null(s);
  assert_int_equal(cry_stream_create(&s, hdr, kx, &order8, false, &t), ERR_BAD_SIGNATURE);
  assert_null(s);
  cry_kx_destroy(kx);
}

/* ---- Benchmark ---- */

static void test_bench_runs(void **state) {
  (void)state;
  /* Only that it measures something; speed is for bench/, not tests. */
  assert_true(cry_bench_verify_per_s(2, 50) > 0.0);
  assert_true(cry_bench_verify_per_s(0, 0) > 0.0); /* clamped to 1 thread, 1 ms */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ed25519_rfc8032),
      cmocka_unit_test(test_ed25519_noncanonical_s),
      cmocka_unit_test(test_ed25519_strict),
      cmocka_unit_test(test_hash_known_answers),
      cmocka_unit_test(test_hash_fixed_answers),
      cmocka_unit_test(test_hasher_random_chunks),
      cmocka_unit_test(test_keys_generate),
      cmocka_unit_test(test_equal_and_wipe),
      cmocka_unit_test(test_seal_round_trip),
      cmocka_unit_test(test_seal_small_order_recipient),
      cmocka_unit_test(test_aead_known_answer),
      cmocka_unit_test(test_aead_tamper),
      cmocka_unit_test_setup_teardown(test_keystore_passphrase, ks_setup, ks_teardown),
      cmocka_unit_test_setup_teardown(test_keystore_moderate_default, ks_setup, ks_teardown),
      cmocka_unit_test_setup_teardown(test_keystore_unprotected, ks_setup, ks_teardown),
      cmocka_unit_test_setup_teardown(test_keystore_exists, ks_setup, ks_teardown),
      cmocka_unit_test_setup_teardown(test_keystore_corrupt_unprotected, ks_setup, ks_teardown),
      cmocka_unit_test_setup_teardown(test_keystore_corrupt_protected, ks_setup, ks_teardown),
      cmocka_unit_test_setup_teardown(test_keystore_key_mismatch, ks_setup, ks_teardown),
      cmocka_unit_test(test_bench_runs),
      cmocka_unit_test(test_kx_from_seed),
      cmocka_unit_test(test_stream_round_trip),
      cmocka_unit_test(test_stream_tamper),
      cmocka_unit_test(test_stream_transcript_bound),
      cmocka_unit_test(test_stream_bad_peer_key),
  };
  return cmocka_run_group_tests(tests, group_setup, NULL);
}
