/*
 * Unit tests of the codec: round trips of every type, one test per
 * rejection rule (each checked on the decoding and the encoding side), the
 * Merkle root against a direct transcription of RFC 6962's definition, and
 * the golden vectors in tests/vectors/codec/.
 *
 * The golden vectors are the protocol's reference: a deterministic
 * generator below builds fixed values, and their encodings and hashes must
 * equal the committed hex byte for byte, so any change to the encoding
 * fails here. They change only with a deliberate protocol change; then
 * `MEDCHAIN_VECTORS_WRITE=1 ./test_codec` rewrites the files, and the diff
 * is reviewed by hand against the grammar in docs/protocol.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VEC_DIR MEDCHAIN_VECTORS_DIR "/codec"
#define VEC_FILE_MAX (1u << 20)

/* ---- helpers -------------------------------------------------------------- */

static struct bytes str_bytes(const char *s) {
  struct bytes b = {(const uint8_t *)s, strlen(s)};
  return b;
}

static void fill(uint8_t *p, size_t n, uint8_t v) {
  memset(p, v, n);
}

static bool vectors_write_mode(void) {
  const char *e = getenv("MEDCHAIN_VECTORS_WRITE");
  return e != NULL && strcmp(e, "1") == 0;
}

static void vec_path(char *out, size_t cap, const char *name) {
  int n = snprintf(out, cap, "%s/%s", VEC_DIR, name);
  assert_true(n > 0 && (size_t)n < cap);
}

/* Reads a whole vector file into a malloc'd NUL-terminated string. */
static char *vec_read_text(const char *name) {
  char path[512];
  vec_path(path, sizeof(path), name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fail_msg("cannot open golden vector %s", path);
  }
  char *text = malloc(VEC_FILE_MAX + 1);
  assert_non_null(text);
  size_t n = fread(text, 1, VEC_FILE_MAX, f);
  fclose(f);
  text[n] = '\0';
  return text;
}

static void vec_write_text(const char *name, const char *text) {
  char path[512];
  vec_path(path, sizeof(path), name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static char *hex_of(const uint8_t *p, size_t len) {
  char *hex = malloc(2 * len + 2);
  assert_non_null(hex);
  base_hex_encode(hex, p, len);
  return hex;
}

/* Loads a .hex vector (one line of hex) into a malloc'd buffer. */
static uint8_t *vec_load(const char *name, size_t *len) {
  char *text = vec_read_text(name);
  size_t n = strlen(text);
  while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ')) {
    text[--n] = '\0';
  }
  uint8_t *buf = malloc(n / 2 + 1);
  assert_non_null(buf);
  assert_int_equal(base_hex_decode_var(buf, n / 2 + 1, len, text), OK);
  free(text);
  return buf;
}

/* Compares p with the golden file name (or writes it in write mode). */
static void vec_check(const char *name, const uint8_t *p, size_t len) {
  char *got = hex_of(p, len);
  if (vectors_write_mode()) {
    size_t n = strlen(got);
    got[n] = '\n';
    got[n + 1] = '\0';
    vec_write_text(name, got);
    free(got);
    return;
  }
  size_t want_len = 0;
  uint8_t *want = vec_load(name, &want_len);
  bool same = want_len == len && memcmp(want, p, len) == 0;
  if (!same) {
    print_message("golden %s differs; this build produces:\n%s\n", name, got);
  }
  free(want);
  free(got);
  assert_true(same);
}

/* ---- the deterministic generator of the golden values --------------------- */

static const char GOLDEN_CHAIN[] = "medchain-test";
/* The args of tx 1: the record {days: 42} under a one-field U64 schema. */
static const uint8_t GOLDEN_ARGS[8] = {0, 0, 0, 0, 0, 0, 0, 42};

static void golden_tx(struct tx *tx, int which) {
  memset(tx, 0, sizeof(*tx));
  tx->chain_id = str_bytes(GOLDEN_CHAIN);
  fill(tx->sender.b, 32, 0x11);
  fill(tx->pubkey.b, 32, 0x22);
  fill(tx->sig.b, 64, 0x33);
  tx->contract = str_bytes("consent");
  if (which == 1) {
    tx->nonce = 1;
    tx->method = str_bytes("grant");
    tx->args.ptr = GOLDEN_ARGS;
    tx->args.len = sizeof(GOLDEN_ARGS);
  } else {
    tx->nonce = 2;
    tx->method = str_bytes("revoke");
  }
}

static void golden_header(struct block_header *h, const struct hash32 *tx_root, uint32_t txs) {
  memset(h, 0, sizeof(*h));
  h->chain_id = str_bytes(GOLDEN_CHAIN);
  h->height = 7;
  h->time_ms = 1700000000000ull;
  fill(h->prev_hash.b, 32, 0xa1);
  fill(h->last_commit_hash.b, 32, 0xa2);
  h->tx_root = *tx_root;
  fill(h->results_hash.b, 32, 0xa4);
  fill(h->state_root.b, 32, 0xa5);
  fill(h->validators_hash.b, 32, 0xa6);
  fill(h->proposer.b, 32, 0xa7);
  h->tx_count = txs;
}

static void golden_commit(struct commit *c, const struct hash32 *block_hash) {
  memset(c, 0, sizeof(*c));
  c->height = 7;
  c->round = 1;
  c->block_hash = *block_hash;
  c->count = 2;
  c->sigs[0].validator_index = 0;
  fill(c->sigs[0].sig.b, 64, 0x44);
  c->sigs[1].validator_index = 2;
  fill(c->sigs[1].sig.b, 64, 0x55);
}

/* The golden block: txs 1 and 2 (encoded into txbuf), their Merkle root in
 * the header, and a commit of the header's hash. */
static void golden_block(struct block *b, uint8_t *txbuf, size_t cap) {
  memset(b, 0, sizeof(*b));
  struct hash32 ids[2];
  size_t used = 0;
  for (int i = 0; i < 2; i++) {
    struct tx tx;
    golden_tx(&tx, i + 1);
    size_t len = 0;
    assert_int_equal(codec_tx_encode(&tx, txbuf + used, cap - used, &len), OK);
    b->txs[i].ptr = txbuf + used;
    b->txs[i].len = len;
    codec_tx_hash(&ids[i], txbuf + used, len);
    used += len;
  }
  b->tx_count = 2;
  struct hash32 root = {{0}};
  codec_merkle_root(&root, ids, 2);
  golden_header(&b->header, &root, 2);
  struct hash32 bh = {{0}};
  assert_int_equal(codec_block_hash(&b->header, &bh), OK);
  golden_commit(&b->commit, &bh);
}

/* A schema with every field type. */
static const struct codec_field ALL_FIELDS[] = {
    {"count", CODEC_U64, 0},
    {"active", CODEC_BOOL, 0},
    {"record_id", CODEC_ID, 0},
    {"category", CODEC_STR, LIM_STR_MAX},
    {"payload", CODEC_BYTES, LIM_BYTES_MAX},
    {"readers", CODEC_IDS, LIM_IDS_MAX},
    {"keys", CODEC_KEYS, LIM_KEYS_MAX},
    {"box_pk", CODEC_PUBKEY, 0},
};
static const struct codec_schema ALL_SCHEMA = {"all_types", 8, ALL_FIELDS};

static uint8_t golden_ids[2 * 32];
static uint8_t golden_keys[CODEC_KEY_ITEM_BYTES];
static const uint8_t GOLDEN_PAYLOAD[4] = {0xde, 0xad, 0xbe, 0xef};

static void golden_record(struct codec_value v[8]) {
  memset(v, 0, 8 * sizeof(*v));
  for (int i = 0; i < 8; i++) {
    v[i].type = ALL_FIELDS[i].type;
  }
  v[0].u64 = 0x0102030405060708ull;
  v[1].u64 = 1;
  fill(v[2].id.b, 32, 0xb1);
  v[3].bytes = str_bytes("lab-result");
  v[4].bytes.ptr = GOLDEN_PAYLOAD;
  v[4].bytes.len = sizeof(GOLDEN_PAYLOAD);
  fill(golden_ids, 32, 0x01);
  fill(golden_ids + 32, 32, 0x02);
  v[5].bytes.ptr = golden_ids;
  v[5].bytes.len = sizeof(golden_ids);
  v[5].count = 2;
  fill(golden_keys, 32, 0x03);
  fill(golden_keys + 32, LIM_SEALED_KEY_BYTES, 0x5e);
  v[6].bytes.ptr = golden_keys;
  v[6].bytes.len = sizeof(golden_keys);
  v[6].count = 1;
  fill(v[7].id.b, 32, 0xc1);
}

/* A transaction with any (possibly invalid) field values, written with the
 * primitives so that decoders can be shown bad input. */
static size_t raw_tx(uint8_t *out, size_t cap, uint8_t version, struct bytes chain,
                     struct bytes contract, struct bytes method, struct bytes args) {
  uint8_t k32[32];
  uint8_t k64[64];
  fill(k32, sizeof(k32), 0x11);
  fill(k64, sizeof(k64), 0x33);
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  codec_put_u8(&w, version);
  codec_put_var(&w, chain.ptr, chain.len);
  codec_put_raw(&w, k32, 32);
  codec_put_raw(&w, k32, 32);
  codec_put_u64(&w, 1);
  codec_put_var(&w, contract.ptr, contract.len);
  codec_put_var(&w, method.ptr, method.len);
  codec_put_var(&w, args.ptr, args.len);
  codec_put_raw(&w, k64, 64);
  assert_int_equal(w.err, OK);
  return w.len;
}

static int raw_tx_decode(uint8_t version, const char *chain, const char *contract,
                         const char *method) {
  uint8_t buf[1024];
  size_t len = raw_tx(buf, sizeof(buf), version, str_bytes(chain), str_bytes(contract),
                      str_bytes(method), str_bytes(""));
  struct tx tx;
  return codec_tx_decode(&tx, buf, len);
}

static int tx_encode_with(const char *chain, const char *contract, const char *method) {
  struct tx tx;
  golden_tx(&tx, 1);
  tx.chain_id = str_bytes(chain);
  tx.contract = str_bytes(contract);
  tx.method = str_bytes(method);
  uint8_t buf[1024];
  size_t len = 0;
  return codec_tx_encode(&tx, buf, sizeof(buf), &len);
}

/* ---- primitives ----------------------------------------------------------- */

static void test_primitives_layout(void **state) {
  (void)state;
  uint8_t buf[64];
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  codec_put_u8(&w, 0x01);
  codec_put_u16(&w, 0x0203);
  codec_put_u32(&w, 0x04050607);
  codec_put_u64(&w, 0x08090a0b0c0d0e0full);
  codec_put_raw(&w, (const uint8_t *)"AB", 2);
  codec_put_var(&w, (const uint8_t *)"xyz", 3);
  codec_put_var(&w, NULL, 0);
  assert_int_equal(w.err, OK);
  static const uint8_t want[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                                 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 'A',  'B',  0,    0,    0,
                                 3,    'x',  'y',  'z',  0,    0,    0,    0};
  assert_int_equal(w.len, sizeof(want));
  assert_memory_equal(buf, want, sizeof(want));

  struct codec_reader r;
  codec_reader_init(&r, buf, w.len);
  assert_int_equal(codec_get_u8(&r), 0x01);
  assert_int_equal(codec_get_u16(&r), 0x0203);
  assert_int_equal(codec_get_u32(&r), 0x04050607);
  assert_true(codec_get_u64(&r) == 0x08090a0b0c0d0e0full);
  uint8_t two[2];
  codec_get_raw(&r, two, 2);
  assert_memory_equal(two, "AB", 2);
  struct bytes s = codec_get_str(&r, 3);
  assert_int_equal(s.len, 3);
  assert_memory_equal(s.ptr, "xyz", 3);
  struct bytes empty = codec_get_var(&r, 0);
  assert_int_equal(empty.len, 0);
  assert_int_equal(codec_reader_finish(&r), OK);
}

static void test_writer_overflow_sticks(void **state) {
  (void)state;
  uint8_t buf[3];
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  codec_put_u16(&w, 7);
  codec_put_u16(&w, 8);
  assert_int_equal(w.err, ERR_OVERSIZE);
  assert_int_equal(w.len, 2);
  codec_put_u8(&w, 9); /* would fit, but the first failure sticks */
  assert_int_equal(w.len, 2);
  assert_int_equal(w.err, ERR_OVERSIZE);
}

static void test_reader_short_sticks(void **state) {
  (void)state;
  const uint8_t buf[3] = {1, 2, 3};
  struct codec_reader r;
  codec_reader_init(&r, buf, sizeof(buf));
  assert_int_equal(codec_get_u32(&r), 0);
  assert_int_equal(r.err, ERR_MALFORMED);
  assert_int_equal(codec_get_u8(&r), 0); /* would fit, but the error sticks */
  uint8_t out[2] = {0xff, 0xff};
  codec_get_raw(&r, out, 2);
  assert_int_equal(out[0], 0);
  assert_int_equal(out[1], 0);
  assert_int_equal(codec_reader_finish(&r), ERR_MALFORMED);

  codec_reader_init(&r, NULL, 0);
  assert_int_equal(codec_get_u8(&r), 0);
  assert_int_equal(codec_reader_finish(&r), ERR_MALFORMED);
}

static void test_reader_var_limits(void **state) {
  (void)state;
  const uint8_t five[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e'};
  struct codec_reader r;
  codec_reader_init(&r, five, sizeof(five));
  (void)codec_get_var(&r, 4);
  assert_int_equal(codec_reader_finish(&r), ERR_OVERSIZE);
  codec_reader_init(&r, five, sizeof(five));
  struct bytes b = codec_get_var(&r, 5);
  assert_int_equal(b.len, 5);
  assert_int_equal(codec_reader_finish(&r), OK);
  codec_reader_init(&r, five, sizeof(five) - 1);
  (void)codec_get_var(&r, 5);
  assert_int_equal(codec_reader_finish(&r), ERR_MALFORMED);
  /* A length over the limit is OVERSIZE even when the input is short. */
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
  codec_reader_init(&r, huge, sizeof(huge));
  (void)codec_get_var(&r, LIM_ARGS_MAX);
  assert_int_equal(codec_reader_finish(&r), ERR_OVERSIZE);
}

static void test_reader_str_printable(void **state) {
  (void)state;
  uint8_t buf[8] = {0, 0, 0, 2, ' ', '~'};
  struct codec_reader r;
  codec_reader_init(&r, buf, 6);
  (void)codec_get_str(&r, 2);
  assert_int_equal(codec_reader_finish(&r), OK);
  const uint8_t bad[] = {0x1f, 0x7f, 0x80, 0xff, 0x00, '\n'};
  for (size_t i = 0; i < sizeof(bad); i++) {
    buf[5] = bad[i];
    codec_reader_init(&r, buf, 6);
    (void)codec_get_str(&r, 2);
    assert_int_equal(codec_reader_finish(&r), ERR_NONCANONICAL);
  }
}

static void test_reader_trailing(void **state) {
  (void)state;
  const uint8_t buf[3] = {0, 1, 2};
  struct codec_reader r;
  codec_reader_init(&r, buf, sizeof(buf));
  assert_int_equal(codec_get_u16(&r), 1);
  assert_int_equal(codec_reader_finish(&r), ERR_TRAILING);
}

/* ---- transactions ------------------------------------------------------- */

static void assert_tx_equal(const struct tx *a, const struct tx *b) {
  assert_int_equal(a->chain_id.len, b->chain_id.len);
  assert_memory_equal(a->chain_id.ptr, b->chain_id.ptr, a->chain_id.len);
  assert_memory_equal(a->sender.b, b->sender.b, 32);
  assert_memory_equal(a->pubkey.b, b->pubkey.b, 32);
  assert_true(a->nonce == b->nonce);
  assert_int_equal(a->contract.len, b->contract.len);
  assert_memory_equal(a->contract.ptr, b->contract.ptr, a->contract.len);
  assert_int_equal(a->method.len, b->method.len);
  assert_memory_equal(a->method.ptr, b->method.ptr, a->method.len);
  assert_int_equal(a->args.len, b->args.len);
  if (a->args.len > 0) {
    assert_memory_equal(a->args.ptr, b->args.ptr, a->args.len);
  }
  assert_memory_equal(a->sig.b, b->sig.b, 64);
}

static void test_tx_roundtrip(void **state) {
  (void)state;
  for (int which = 1; which <= 2; which++) {
    struct tx tx;
    golden_tx(&tx, which);
    uint8_t buf[512];
    size_t len = 0;
    assert_int_equal(codec_tx_encode(&tx, buf, sizeof(buf), &len), OK);
    size_t want = 1 + 4 + 13 + 32 + 32 + 8 + 4 + 7 + 4 + tx.method.len + 4 + tx.args.len + 64;
    assert_int_equal(len, want);
    struct tx back;
    assert_int_equal(codec_tx_decode(&back, buf, len), OK);
    assert_tx_equal(&tx, &back);
    uint8_t again[512];
    size_t again_len = 0;
    assert_int_equal(codec_tx_encode(&back, again, sizeof(again), &again_len), OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
    /* Too small a buffer is OVERSIZE; exactly enough is fine. */
    assert_int_equal(codec_tx_encode(&tx, again, len - 1, &again_len), ERR_OVERSIZE);
    assert_int_equal(codec_tx_encode(&tx, again, len, &again_len), OK);
  }
}

static void test_tx_hashes(void **state) {
  (void)state;
  struct tx tx;
  golden_tx(&tx, 1);
  uint8_t full[512];
  uint8_t unsig[512];
  size_t full_len = 0;
  size_t unsig_len = 0;
  assert_int_equal(codec_tx_encode(&tx, full, sizeof(full), &full_len), OK);
  assert_int_equal(codec_tx_encode_unsigned(&tx, unsig, sizeof(unsig), &unsig_len), OK);
  /* The signed bytes are the encoding without its trailing signature. */
  assert_int_equal(unsig_len + 64, full_len);
  assert_memory_equal(unsig, full, unsig_len);
  struct hash32 got;
  struct hash32 want;
  assert_int_equal(codec_tx_sighash(&tx, &got), OK);
  cry_hash_tagged(&want, "medchain.tx.v1", unsig, unsig_len);
  assert_memory_equal(got.b, want.b, 32);
  codec_tx_hash(&got, full, full_len);
  cry_hash_tagged(&want, "medchain.txid.v1", full, full_len);
  assert_memory_equal(got.b, want.b, 32);
  /* The signature does not change what is signed, but does change the id. */
  struct hash32 before;
  assert_int_equal(codec_tx_sighash(&tx, &before), OK);
  tx.sig.b[0] ^= 1;
  assert_int_equal(codec_tx_sighash(&tx, &got), OK);
  assert_memory_equal(got.b, before.b, 32);
}

static void test_tx_short_and_trailing(void **state) {
  (void)state;
  struct tx tx;
  golden_tx(&tx, 1);
  uint8_t buf[512];
  size_t len = 0;
  assert_int_equal(codec_tx_encode(&tx, buf, sizeof(buf) - 1, &len), OK);
  struct tx back;
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(codec_tx_decode(&back, buf, n), ERR_MALFORMED);
  }
  buf[len] = 0;
  assert_int_equal(codec_tx_decode(&back, buf, len + 1), ERR_TRAILING);
}

static void test_tx_rejects_version(void **state) {
  (void)state;
  assert_int_equal(raw_tx_decode(1, "c", "consent", "grant"), OK);
  assert_int_equal(raw_tx_decode(0, "c", "consent", "grant"), ERR_MALFORMED);
  assert_int_equal(raw_tx_decode(2, "c", "consent", "grant"), ERR_MALFORMED);
}

static void test_tx_rejects_chain_id(void **state) {
  (void)state;
  char id32[LIM_CHAIN_ID_MAX + 2];
  memset(id32, 'c', sizeof(id32));
  id32[LIM_CHAIN_ID_MAX] = '\0';
  assert_int_equal(raw_tx_decode(1, id32, "consent", "grant"), OK);
  assert_int_equal(tx_encode_with(id32, "consent", "grant"), OK);
  id32[LIM_CHAIN_ID_MAX] = 'c';
  id32[LIM_CHAIN_ID_MAX + 1] = '\0';
  assert_int_equal(raw_tx_decode(1, id32, "consent", "grant"), ERR_OVERSIZE);
  assert_int_equal(tx_encode_with(id32, "consent", "grant"), ERR_OVERSIZE);
  assert_int_equal(raw_tx_decode(1, "", "consent", "grant"), ERR_NONCANONICAL);
  assert_int_equal(tx_encode_with("", "consent", "grant"), ERR_NONCANONICAL);
  assert_int_equal(raw_tx_decode(1, "med\x7f", "consent", "grant"), ERR_NONCANONICAL);
  assert_int_equal(tx_encode_with("med\x7f", "consent", "grant"), ERR_NONCANONICAL);
  assert_int_equal(raw_tx_decode(1, "m\xc3\xa9", "consent", "grant"), ERR_NONCANONICAL);
  assert_int_equal(tx_encode_with("m\tx", "consent", "grant"), ERR_NONCANONICAL);
}

static void test_tx_rejects_names(void **state) {
  (void)state;
  static const char *const bad[] = {"", "Consent", "con-sent", "con sent", "grant!", "\x01"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    assert_int_equal(raw_tx_decode(1, "c", bad[i], "grant"), ERR_NONCANONICAL);
    assert_int_equal(raw_tx_decode(1, "c", "consent", bad[i]), ERR_NONCANONICAL);
    assert_int_equal(tx_encode_with("c", bad[i], "grant"), ERR_NONCANONICAL);
    assert_int_equal(tx_encode_with("c", "consent", bad[i]), ERR_NONCANONICAL);
  }
  assert_int_equal(raw_tx_decode(1, "c", "a_0_z_9", "_"), OK);
  char name[LIM_NAME_MAX + 2];
  memset(name, 'n', sizeof(name));
  name[LIM_NAME_MAX] = '\0';
  assert_int_equal(raw_tx_decode(1, "c", name, name), OK);
  assert_int_equal(tx_encode_with("c", name, name), OK);
  name[LIM_NAME_MAX] = 'n';
  name[LIM_NAME_MAX + 1] = '\0';
  assert_int_equal(raw_tx_decode(1, "c", name, "grant"), ERR_OVERSIZE);
  assert_int_equal(raw_tx_decode(1, "c", "consent", name), ERR_OVERSIZE);
  assert_int_equal(tx_encode_with("c", name, "grant"), ERR_OVERSIZE);
  assert_int_equal(tx_encode_with("c", "consent", name), ERR_OVERSIZE);
}

static void test_tx_rejects_oversize(void **state) {
  (void)state;
  uint8_t *args = calloc(1, LIM_ARGS_MAX + 1);
  uint8_t *buf = calloc(1, LIM_TX_BYTES_MAX + 2);
  assert_non_null(args);
  assert_non_null(buf);
  struct bytes a = {args, LIM_ARGS_MAX};
  size_t len = raw_tx(buf, LIM_TX_BYTES_MAX, 1, str_bytes("c"), str_bytes("x"), str_bytes("y"), a);
  struct tx tx;
  assert_int_equal(codec_tx_decode(&tx, buf, len), OK);
  uint8_t *out = calloc(1, LIM_TX_BYTES_MAX);
  assert_non_null(out);
  size_t out_len = 0;
  assert_int_equal(codec_tx_encode(&tx, out, LIM_TX_BYTES_MAX, &out_len), OK);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, buf, len);
  a.len = LIM_ARGS_MAX + 1;
  len = raw_tx(buf, LIM_TX_BYTES_MAX, 1, str_bytes("c"), str_bytes("x"), str_bytes("y"), a);
  assert_int_equal(codec_tx_decode(&tx, buf, len), ERR_OVERSIZE);
  golden_tx(&tx, 1);
  tx.args = a;
  assert_int_equal(codec_tx_encode(&tx, out, LIM_TX_BYTES_MAX, &out_len), ERR_OVERSIZE);
  /* Input longer than any transaction is OVERSIZE before it is parsed. */
  assert_int_equal(codec_tx_decode(&tx, buf, LIM_TX_BYTES_MAX + 1), ERR_OVERSIZE);
  free(out);
  free(buf);
  free(args);
}

/* ---- headers, commits, votes ---------------------------------------------- */

static void test_header_roundtrip(void **state) {
  (void)state;
  struct hash32 root = {{0}};
  fill(root.b, 32, 0xa3);
  struct block_header h;
  golden_header(&h, &root, 2);
  uint8_t buf[512];
  size_t len = 0;
  assert_int_equal(codec_header_encode(&h, buf, sizeof(buf), &len), OK);
  assert_int_equal(len, 1 + 4 + 13 + 8 + 8 + 7 * 32 + 4);
  struct block_header back;
  assert_int_equal(codec_header_decode(&back, buf, len), OK);
  assert_memory_equal(back.chain_id.ptr, GOLDEN_CHAIN, 13);
  assert_true(back.height == 7 && back.time_ms == 1700000000000ull && back.tx_count == 2);
  assert_memory_equal(back.tx_root.b, root.b, 32);
  assert_memory_equal(back.proposer.b, h.proposer.b, 32);
  uint8_t again[512];
  size_t again_len = 0;
  assert_int_equal(codec_header_encode(&back, again, sizeof(again), &again_len), OK);
  assert_int_equal(again_len, len);
  assert_memory_equal(again, buf, len);
  struct hash32 got;
  struct hash32 want;
  assert_int_equal(codec_block_hash(&h, &got), OK);
  cry_hash_tagged(&want, "medchain.block.v1", buf, len);
  assert_memory_equal(got.b, want.b, 32);
  assert_int_equal(codec_header_encode(&h, again, len - 1, &again_len), ERR_OVERSIZE);
}

static void test_header_rejects(void **state) {
  (void)state;
  struct hash32 root = {{0}};
  fill(root.b, 32, 0xa3);
  struct block_header h;
  golden_header(&h, &root, 2);
  uint8_t buf[512];
  size_t len = 0;
  assert_int_equal(codec_header_encode(&h, buf, sizeof(buf) - 1, &len), OK);
  struct block_header back;
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(codec_header_decode(&back, buf, n), ERR_MALFORMED);
  }
  assert_int_equal(codec_header_decode(&back, buf, len + 1), ERR_TRAILING);
  buf[0] = 2;
  assert_int_equal(codec_header_decode(&back, buf, len), ERR_MALFORMED);
  buf[0] = 1;
  buf[5] = 0x80; /* first chain id byte */
  assert_int_equal(codec_header_decode(&back, buf, len), ERR_NONCANONICAL);
  buf[5] = 'm';
  base_put_u32be(buf + len - 4, LIM_BLOCK_TXS_MAX + 1);
  assert_int_equal(codec_header_decode(&back, buf, len), ERR_OVERSIZE);
  base_put_u32be(buf + len - 4, LIM_BLOCK_TXS_MAX);
  assert_int_equal(codec_header_decode(&back, buf, len), OK);
  h.tx_count = LIM_BLOCK_TXS_MAX + 1;
  assert_int_equal(codec_header_encode(&h, buf, sizeof(buf), &len), ERR_OVERSIZE);
  h.tx_count = 2;
  h.chain_id = str_bytes("");
  assert_int_equal(codec_header_encode(&h, buf, sizeof(buf), &len), ERR_NONCANONICAL);
  struct hash32 bh = {{0}};
  assert_int_equal(codec_block_hash(&h, &bh), ERR_NONCANONICAL);
}

static void test_commit_roundtrip(void **state) {
  (void)state;
  struct hash32 bh = {{0}};
  fill(bh.b, 32, 0xbb);
  struct commit c;
  golden_commit(&c, &bh);
  uint8_t buf[8192];
  size_t len = 0;
  assert_int_equal(codec_commit_encode(&c, buf, sizeof(buf), &len), OK);
  assert_int_equal(len, 8 + 4 + 32 + 2 + 2 * 66);
  struct commit back;
  assert_int_equal(codec_commit_decode(&back, buf, len), OK);
  assert_true(back.height == 7 && back.round == 1 && back.count == 2);
  assert_int_equal(back.sigs[1].validator_index, 2);
  assert_memory_equal(back.sigs[1].sig.b, c.sigs[1].sig.b, 64);
  struct hash32 got;
  struct hash32 want;
  assert_int_equal(codec_commit_hash(&c, &got), OK);
  cry_hash_tagged(&want, "medchain.commit.v1", buf, len);
  assert_memory_equal(got.b, want.b, 32);
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(codec_commit_decode(&back, buf, n), ERR_MALFORMED);
  }
  assert_int_equal(codec_commit_decode(&back, buf, len + 1), ERR_TRAILING);
  /* Empty and full commits. */
  c.count = 0;
  assert_int_equal(codec_commit_encode(&c, buf, sizeof(buf), &len), OK);
  assert_int_equal(codec_commit_decode(&back, buf, len), OK);
  assert_int_equal(back.count, 0);
  c.count = LIM_VALIDATORS_MAX;
  for (uint16_t i = 0; i < LIM_VALIDATORS_MAX; i++) {
    c.sigs[i].validator_index = i;
  }
  assert_int_equal(codec_commit_encode(&c, buf, sizeof(buf), &len), OK);
  assert_int_equal(codec_commit_decode(&back, buf, len), OK);
  assert_int_equal(back.count, LIM_VALIDATORS_MAX);
}

/* Decodes a commit of count signatures with the given indices. */
static int commit_with_indices(const uint16_t *idx, uint16_t count) {
  uint8_t buf[16384];
  uint8_t zero[64] = {0};
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  codec_put_u64(&w, 1);
  codec_put_u32(&w, 0);
  codec_put_raw(&w, zero, 32);
  codec_put_u16(&w, count);
  for (uint16_t i = 0; i < count; i++) {
    codec_put_u16(&w, idx[i]);
    codec_put_raw(&w, zero, 64);
  }
  assert_int_equal(w.err, OK);
  struct commit c;
  return codec_commit_decode(&c, buf, w.len);
}

static void test_commit_rejects(void **state) {
  (void)state;
  const uint16_t ok[] = {0, 1, 5, 63};
  assert_int_equal(commit_with_indices(ok, 4), OK);
  const uint16_t equal[] = {0, 3, 3};
  assert_int_equal(commit_with_indices(equal, 3), ERR_NONCANONICAL);
  const uint16_t down[] = {4, 2};
  assert_int_equal(commit_with_indices(down, 2), ERR_NONCANONICAL);
  const uint16_t high[] = {1, LIM_VALIDATORS_MAX};
  assert_int_equal(commit_with_indices(high, 2), ERR_NONCANONICAL);
  uint16_t many[LIM_VALIDATORS_MAX + 1];
  for (uint16_t i = 0; i <= LIM_VALIDATORS_MAX; i++) {
    many[i] = i;
  }
  assert_int_equal(commit_with_indices(many, LIM_VALIDATORS_MAX + 1), ERR_OVERSIZE);

  struct hash32 bh = {{0}};
  struct commit c;
  golden_commit(&c, &bh);
  uint8_t buf[8192];
  size_t len = 0;
  c.sigs[1].validator_index = 0;
  assert_int_equal(codec_commit_encode(&c, buf, sizeof(buf), &len), ERR_NONCANONICAL);
  c.sigs[1].validator_index = LIM_VALIDATORS_MAX;
  assert_int_equal(codec_commit_encode(&c, buf, sizeof(buf), &len), ERR_NONCANONICAL);
  c.count = LIM_VALIDATORS_MAX + 1;
  assert_int_equal(codec_commit_encode(&c, buf, sizeof(buf), &len), ERR_OVERSIZE);
  struct hash32 ch;
  assert_int_equal(codec_commit_hash(&c, &ch), ERR_OVERSIZE);
}

static void test_vote_sighash(void **state) {
  (void)state;
  struct hash32 bh = {{0}};
  fill(bh.b, 32, 0xbb);
  struct bytes chain = str_bytes(GOLDEN_CHAIN);
  struct hash32 got;
  assert_int_equal(codec_vote_sighash(&got, &chain, 7, 1, &bh), OK);
  uint8_t msg[1 + 4 + 13 + 8 + 4 + 32] = {2, 0, 0, 0, 13};
  memcpy(msg + 5, GOLDEN_CHAIN, 13);
  base_put_u64be(msg + 18, 7);
  base_put_u32be(msg + 26, 1);
  memcpy(msg + 30, bh.b, 32);
  struct hash32 want;
  cry_hash_tagged(&want, "medchain.vote.v1", msg, sizeof(msg));
  assert_memory_equal(got.b, want.b, 32);
  struct bytes bad = str_bytes("");
  assert_int_equal(codec_vote_sighash(&got, &bad, 7, 1, &bh), ERR_NONCANONICAL);
  bad = str_bytes("0123456789012345678901234567890123");
  assert_int_equal(codec_vote_sighash(&got, &bad, 7, 1, &bh), ERR_OVERSIZE);
}

/* ---- blocks --------------------------------------------------------------- */

static void assert_block_equal(const struct block *a, const struct block *b) {
  assert_int_equal(a->tx_count, b->tx_count);
  for (uint32_t i = 0; i < a->tx_count; i++) {
    assert_int_equal(a->txs[i].len, b->txs[i].len);
    assert_memory_equal(a->txs[i].ptr, b->txs[i].ptr, a->txs[i].len);
  }
  assert_memory_equal(a->header.tx_root.b, b->header.tx_root.b, 32);
  assert_int_equal(a->commit.count, b->commit.count);
  assert_memory_equal(a->commit.block_hash.b, b->commit.block_hash.b, 32);
}

static void test_block_roundtrip(void **state) {
  (void)state;
  struct block *b = calloc(1, sizeof(*b));
  struct block *back = calloc(1, sizeof(*back));
  assert_non_null(b);
  assert_non_null(back);
  uint8_t txbuf[1024];
  golden_block(b, txbuf, sizeof(txbuf));
  uint8_t buf[4096];
  size_t len = 0;
  assert_int_equal(codec_block_encode(b, buf, sizeof(buf), &len), OK);
  assert_int_equal(codec_block_decode(back, buf, len), OK);
  assert_block_equal(b, back);
  uint8_t again[4096];
  size_t again_len = 0;
  assert_int_equal(codec_block_encode(back, again, sizeof(again), &again_len), OK);
  assert_int_equal(again_len, len);
  assert_memory_equal(again, buf, len);
  assert_int_equal(codec_block_encode(b, again, len - 1, &again_len), ERR_OVERSIZE);
  /* The txs stay opaque: each decodes on its own to the generator's. */
  struct tx tx;
  assert_int_equal(codec_tx_decode(&tx, back->txs[1].ptr, back->txs[1].len), OK);
  assert_true(tx.nonce == 2);
  free(back);
  free(b);
}

static void test_block_rejects(void **state) {
  (void)state;
  struct block *b = calloc(1, sizeof(*b));
  struct block *back = calloc(1, sizeof(*back));
  assert_non_null(b);
  assert_non_null(back);
  uint8_t txbuf[1024];
  golden_block(b, txbuf, sizeof(txbuf));
  uint8_t buf[4096];
  size_t len = 0;
  assert_int_equal(codec_block_encode(b, buf, sizeof(buf) - 1, &len), OK);
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(codec_block_decode(back, buf, n), ERR_MALFORMED);
  }
  assert_int_equal(codec_block_decode(back, buf, len + 1), ERR_TRAILING);
  /* The body's count follows the header (262 bytes with a 13-byte chain id). */
  const size_t body = 1 + 4 + 13 + 8 + 8 + 7 * 32 + 4;
  assert_int_equal(base_get_u32be(buf + body), 2);
  base_put_u32be(buf + body, 1);
  assert_int_equal(codec_block_decode(back, buf, len), ERR_MALFORMED);
  base_put_u32be(buf + body, 3);
  assert_int_equal(codec_block_decode(back, buf, len), ERR_MALFORMED);
  base_put_u32be(buf + body, LIM_BLOCK_TXS_MAX + 1);
  assert_int_equal(codec_block_decode(back, buf, len), ERR_OVERSIZE);
  base_put_u32be(buf + body, 2);
  base_put_u32be(buf + body + 4, LIM_TX_BYTES_MAX + 1);
  assert_int_equal(codec_block_decode(back, buf, len), ERR_OVERSIZE);
  assert_int_equal(codec_block_decode(back, buf, LIM_BLOCK_BYTES_MAX + 1), ERR_OVERSIZE);
  /* Encoding: the same rules. */
  b->tx_count = 1;
  assert_int_equal(codec_block_encode(b, buf, sizeof(buf), &len), ERR_MALFORMED);
  b->tx_count = 2;
  b->txs[0].len = LIM_TX_BYTES_MAX + 1;
  assert_int_equal(codec_block_encode(b, buf, sizeof(buf), &len), ERR_OVERSIZE);
  b->txs[0].len = 10;
  b->commit.sigs[1].validator_index = 0;
  assert_int_equal(codec_block_encode(b, buf, sizeof(buf), &len), ERR_NONCANONICAL);
  free(back);
  free(b);
}

/* A block with the most transactions the limits allow, and one with none. */
static void test_block_extremes(void **state) {
  (void)state;
  struct block *b = calloc(1, sizeof(*b));
  struct block *back = calloc(1, sizeof(*back));
  assert_non_null(b);
  assert_non_null(back);
  uint8_t txbuf[1024];
  golden_block(b, txbuf, sizeof(txbuf));
  b->tx_count = LIM_BLOCK_TXS_MAX;
  b->header.tx_count = LIM_BLOCK_TXS_MAX;
  for (uint32_t i = 0; i < LIM_BLOCK_TXS_MAX; i++) {
    b->txs[i] = b->txs[i % 2];
  }
  size_t cap = 4096 + (size_t)LIM_BLOCK_TXS_MAX * (4 + 512);
  uint8_t *buf = malloc(cap);
  assert_non_null(buf);
  size_t len = 0;
  assert_int_equal(codec_block_encode(b, buf, cap, &len), OK);
  assert_int_equal(codec_block_decode(back, buf, len), OK);
  assert_int_equal(back->tx_count, LIM_BLOCK_TXS_MAX);
  assert_block_equal(b, back);
  b->tx_count = 0;
  b->header.tx_count = 0;
  b->commit.count = 0;
  assert_int_equal(codec_block_encode(b, buf, cap, &len), OK);
  assert_int_equal(codec_block_decode(back, buf, len), OK);
  assert_int_equal(back->tx_count, 0);
  free(buf);
  free(back);
  free(b);
}

/* ---- records -------------------------------------------------------------- */

static void test_record_roundtrip(void **state) {
  (void)state;
  struct codec_value v[8];
  golden_record(v);
  uint8_t buf[1024];
  size_t len = 0;
  assert_int_equal(codec_record_encode(&ALL_SCHEMA, v, buf, sizeof(buf), &len), OK);
  size_t want = 8 + 1 + 32 + 4 + 10 + 4 + 4 + 2 + 64 + 2 + CODEC_KEY_ITEM_BYTES + 32;
  assert_int_equal(len, want);
  struct codec_value back[8];
  assert_int_equal(codec_record_decode(&ALL_SCHEMA, back, buf, len), OK);
  for (int i = 0; i < 8; i++) {
    assert_int_equal(back[i].type, ALL_FIELDS[i].type);
    assert_true(back[i].u64 == v[i].u64);
    assert_memory_equal(back[i].id.b, v[i].id.b, 32);
    assert_int_equal(back[i].bytes.len, v[i].bytes.len);
    assert_int_equal(back[i].count, v[i].count);
    if (v[i].bytes.len > 0) {
      assert_memory_equal(back[i].bytes.ptr, v[i].bytes.ptr, v[i].bytes.len);
    }
  }
  uint8_t again[1024];
  size_t again_len = 0;
  assert_int_equal(codec_record_encode(&ALL_SCHEMA, back, again, sizeof(again), &again_len), OK);
  assert_int_equal(again_len, len);
  assert_memory_equal(again, buf, len);
  assert_int_equal(codec_record_encode(&ALL_SCHEMA, v, again, len - 1, &again_len), ERR_OVERSIZE);
  for (size_t n = 0; n < len; n++) {
    assert_int_equal(codec_record_decode(&ALL_SCHEMA, back, buf, n), ERR_MALFORMED);
  }
  assert_int_equal(codec_record_decode(&ALL_SCHEMA, back, buf, len + 1), ERR_TRAILING);
  /* Empty strings, bytes and lists. */
  v[3].bytes.len = 0;
  v[4].bytes.len = 0;
  v[5].bytes.len = 0;
  v[5].count = 0;
  v[6].bytes.len = 0;
  v[6].count = 0;
  assert_int_equal(codec_record_encode(&ALL_SCHEMA, v, buf, sizeof(buf), &len), OK);
  assert_int_equal(codec_record_decode(&ALL_SCHEMA, back, buf, len), OK);
  assert_int_equal(back[5].count, 0);
  /* A schema with no fields is the empty encoding. */
  const struct codec_schema none = {"none", 0, NULL};
  assert_int_equal(codec_record_encode(&none, NULL, buf, sizeof(buf), &len), OK);
  assert_int_equal(len, 0);
  assert_int_equal(codec_record_decode(&none, NULL, buf, 0), OK);
  assert_int_equal(codec_record_decode(&none, NULL, buf, 1), ERR_TRAILING);
}

/* Decodes buf under the one-field schema {f}. */
static int decode_one(const struct codec_field *f, const uint8_t *buf, size_t len) {
  const struct codec_schema s = {"one", 1, f};
  struct codec_value v;
  return codec_record_decode(&s, &v, buf, len);
}

static int encode_one(const struct codec_field *f, const struct codec_value *v) {
  const struct codec_schema s = {"one", 1, f};
  uint8_t buf[8192];
  size_t len = 0;
  return codec_record_encode(&s, v, buf, sizeof(buf), &len);
}

static void test_record_rejects_bool(void **state) {
  (void)state;
  const struct codec_field f = {"flag", CODEC_BOOL, 0};
  const uint8_t vals[] = {0, 1, 2, 0xff};
  const int want[] = {OK, OK, ERR_NONCANONICAL, ERR_NONCANONICAL};
  for (size_t i = 0; i < sizeof(vals); i++) {
    assert_int_equal(decode_one(&f, &vals[i], 1), want[i]);
    struct codec_value v = {.type = CODEC_BOOL, .u64 = vals[i]};
    assert_int_equal(encode_one(&f, &v), want[i]);
  }
}

static void test_record_rejects_str_bytes(void **state) {
  (void)state;
  const struct codec_field s4 = {"s", CODEC_STR, 4};
  const struct codec_field b4 = {"b", CODEC_BYTES, 4};
  const uint8_t ok[] = {0, 0, 0, 4, 'a', 'b', 'c', 'd'};
  const uint8_t binary[] = {0, 0, 0, 4, 'a', 0x00, 0x80, 0xff};
  const uint8_t five[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e'};
  assert_int_equal(decode_one(&s4, ok, sizeof(ok)), OK);
  assert_int_equal(decode_one(&s4, binary, sizeof(binary)), ERR_NONCANONICAL);
  assert_int_equal(decode_one(&s4, five, sizeof(five)), ERR_OVERSIZE);
  assert_int_equal(decode_one(&b4, binary, sizeof(binary)), OK);
  assert_int_equal(decode_one(&b4, five, sizeof(five)), ERR_OVERSIZE);
  struct codec_value v = {.type = CODEC_STR, .bytes = {binary + 4, 4}};
  assert_int_equal(encode_one(&s4, &v), ERR_NONCANONICAL);
  v.bytes.ptr = five + 4;
  v.bytes.len = 5;
  assert_int_equal(encode_one(&s4, &v), ERR_OVERSIZE);
  v.type = CODEC_BYTES;
  assert_int_equal(encode_one(&b4, &v), ERR_OVERSIZE);
  v.bytes.len = 4;
  assert_int_equal(encode_one(&b4, &v), OK);
}

/* A list of n items whose leading bytes are ids[i] (rest 0x77). */
static size_t list_bytes(uint8_t *out, size_t item, const uint8_t *ids, uint16_t n) {
  out[0] = (uint8_t)(n >> 8);
  out[1] = (uint8_t)n;
  for (uint16_t i = 0; i < n; i++) {
    uint8_t *p = out + 2 + (size_t)i * item;
    memset(p, 0x77, item);
    memset(p, 0, 32);
    p[31] = ids[i];
  }
  return 2 + (size_t)n * item;
}

static void test_record_rejects_lists(void **state) {
  (void)state;
  const struct codec_field fids = {"ids", CODEC_IDS, 3};
  const struct codec_field fkeys = {"keys", CODEC_KEYS, 3};
  const struct codec_field *fs[2] = {&fids, &fkeys};
  const size_t items[2] = {32, CODEC_KEY_ITEM_BYTES};
  uint8_t buf[2 + 4 * CODEC_KEY_ITEM_BYTES];
  for (int k = 0; k < 2; k++) {
    const uint8_t sorted[] = {1, 2, 9};
    const uint8_t unsorted[] = {1, 9, 2};
    const uint8_t dup[] = {1, 2, 2};
    const uint8_t four[] = {1, 2, 3, 4};
    size_t len = list_bytes(buf, items[k], sorted, 3);
    assert_int_equal(decode_one(fs[k], buf, len), OK);
    struct codec_value v = {.type = fs[k]->type, .bytes = {buf + 2, len - 2}, .count = 3};
    assert_int_equal(encode_one(fs[k], &v), OK);
    len = list_bytes(buf, items[k], unsorted, 3);
    assert_int_equal(decode_one(fs[k], buf, len), ERR_NONCANONICAL);
    assert_int_equal(encode_one(fs[k], &v), ERR_NONCANONICAL);
    len = list_bytes(buf, items[k], dup, 3);
    assert_int_equal(decode_one(fs[k], buf, len), ERR_NONCANONICAL);
    assert_int_equal(encode_one(fs[k], &v), ERR_NONCANONICAL);
    len = list_bytes(buf, items[k], four, 4);
    assert_int_equal(decode_one(fs[k], buf, len), ERR_OVERSIZE);
    v.count = 4;
    v.bytes.len = len - 2;
    assert_int_equal(encode_one(fs[k], &v), ERR_OVERSIZE);
    len = list_bytes(buf, items[k], sorted, 3);
    assert_int_equal(decode_one(fs[k], buf, len - 1), ERR_MALFORMED);
  }
}

static void test_schema_find(void **state) {
  (void)state;
  assert_int_equal(codec_schema_find(&ALL_SCHEMA, "count"), 0);
  assert_int_equal(codec_schema_find(&ALL_SCHEMA, "keys"), 6);
  assert_int_equal(codec_schema_find(&ALL_SCHEMA, "box_pk"), 7);
  assert_int_equal(codec_schema_find(&ALL_SCHEMA, "missing"), -1);
  assert_int_equal(codec_schema_find(&ALL_SCHEMA, ""), -1);
}

/* ---- Merkle --------------------------------------------------------------- */

/* RFC 6962 section 2.1, transcribed: MTH({}) = 0 (medchain's choice),
 * MTH({d}) = leaf(d), MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])) with k the
 * largest power of two smaller than n. Recursion is fine over test data. */
static void ref_mth(struct hash32 *out, const struct hash32 *d, size_t n) {
  if (n == 0) {
    memset(out->b, 0, 32);
    return;
  }
  if (n == 1) {
    cry_hash_tagged(out, "medchain.leaf.v1", d[0].b, 32);
    return;
  }
  size_t k = 1;
  while (k * 2 < n) {
    k *= 2;
  }
  uint8_t both[64];
  struct hash32 left;
  struct hash32 right;
  ref_mth(&left, d, k);
  ref_mth(&right, d + k, n - k);
  memcpy(both, left.b, 32);
  memcpy(both + 32, right.b, 32);
  cry_hash_tagged(out, "medchain.node.v1", both, 64);
}

static void merkle_leaves(struct hash32 *leaves, size_t n) {
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < 32; j++) {
      leaves[i].b[j] = (uint8_t)(i * 32 + j);
    }
  }
}

static void test_merkle_reference(void **state) {
  (void)state;
  static const size_t ns[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 100, 1000, 4096};
  struct hash32 *leaves = calloc(4096, sizeof(*leaves));
  assert_non_null(leaves);
  merkle_leaves(leaves, 4096);
  for (size_t i = 0; i < ARRAY_LEN(ns); i++) {
    struct hash32 got;
    struct hash32 want;
    codec_merkle_root(&got, leaves, ns[i]);
    ref_mth(&want, leaves, ns[i]);
    assert_memory_equal(got.b, want.b, 32);
  }
  free(leaves);
}

static void node_of(struct hash32 *out, const struct hash32 *l, const struct hash32 *r) {
  uint8_t both[64];
  memcpy(both, l->b, 32);
  memcpy(both + 32, r->b, 32);
  cry_hash_tagged(out, "medchain.node.v1", both, 64);
}

/* Small trees spelled out node by node. */
static void test_merkle_by_hand(void **state) {
  (void)state;
  struct hash32 d[5];
  struct hash32 l[5];
  merkle_leaves(d, 5);
  for (int i = 0; i < 5; i++) {
    cry_hash_tagged(&l[i], "medchain.leaf.v1", d[i].b, 32);
  }
  struct hash32 got;
  struct hash32 a;
  struct hash32 b;
  struct hash32 want;
  codec_merkle_root(&got, NULL, 0);
  assert_true(base_hash_is_zero(&got));
  codec_merkle_root(&got, d, 1);
  assert_memory_equal(got.b, l[0].b, 32);
  codec_merkle_root(&got, d, 3); /* node(node(l0, l1), l2) */
  node_of(&a, &l[0], &l[1]);
  node_of(&want, &a, &l[2]);
  assert_memory_equal(got.b, want.b, 32);
  codec_merkle_root(&got, d, 5); /* node(node(node(l0,l1), node(l2,l3)), l4) */
  node_of(&b, &l[2], &l[3]);
  node_of(&a, &a, &b);
  node_of(&want, &a, &l[4]);
  assert_memory_equal(got.b, want.b, 32);
}

/* ---- golden vectors ------------------------------------------------------- */

static void test_golden_tx(void **state) {
  (void)state;
  struct tx tx;
  golden_tx(&tx, 1);
  uint8_t buf[512];
  size_t len = 0;
  assert_int_equal(codec_tx_encode(&tx, buf, sizeof(buf), &len), OK);
  vec_check("tx.hex", buf, len);
  struct hash32 h;
  codec_tx_hash(&h, buf, len);
  vec_check("tx_id.hex", h.b, 32);
  assert_int_equal(codec_tx_encode_unsigned(&tx, buf, sizeof(buf), &len), OK);
  vec_check("tx_unsigned.hex", buf, len);
  assert_int_equal(codec_tx_sighash(&tx, &h), OK);
  vec_check("tx_sighash.hex", h.b, 32);
}

static void test_golden_block(void **state) {
  (void)state;
  struct block *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  uint8_t txbuf[1024];
  golden_block(b, txbuf, sizeof(txbuf));
  uint8_t buf[4096];
  size_t len = 0;
  assert_int_equal(codec_header_encode(&b->header, buf, sizeof(buf), &len), OK);
  vec_check("header.hex", buf, len);
  struct hash32 h;
  assert_int_equal(codec_block_hash(&b->header, &h), OK);
  vec_check("block_hash.hex", h.b, 32);
  assert_int_equal(codec_commit_encode(&b->commit, buf, sizeof(buf), &len), OK);
  vec_check("commit.hex", buf, len);
  assert_int_equal(codec_commit_hash(&b->commit, &h), OK);
  vec_check("commit_hash.hex", h.b, 32);
  struct bytes chain = str_bytes(GOLDEN_CHAIN);
  assert_int_equal(codec_vote_sighash(&h, &chain, 7, 1, &b->commit.block_hash), OK);
  vec_check("vote_sighash.hex", h.b, 32);
  assert_int_equal(codec_block_encode(b, buf, sizeof(buf), &len), OK);
  vec_check("block.hex", buf, len);
  free(b);
}

static void test_golden_record(void **state) {
  (void)state;
  struct codec_value v[8];
  golden_record(v);
  uint8_t buf[1024];
  size_t len = 0;
  assert_int_equal(codec_record_encode(&ALL_SCHEMA, v, buf, sizeof(buf), &len), OK);
  vec_check("record.hex", buf, len);
}

static void merkle_line(char *out, size_t cap, size_t n, const struct hash32 *root) {
  char hex[65];
  base_hash_hex(hex, root);
  int k = snprintf(out, cap, "%zu %s\n", n, hex);
  assert_true(k > 0 && (size_t)k < cap);
}

static void test_golden_merkle(void **state) {
  (void)state;
  enum { N_MAX = 9 };
  struct hash32 leaves[N_MAX];
  merkle_leaves(leaves, N_MAX);
  char text[2048] = "# Merkle roots of the first n items; item i is the 32 bytes\n"
                    "# (i*32 + j) mod 256 for j = 0..31. Format: n root-hex\n";
  for (size_t n = 0; n <= N_MAX; n++) {
    struct hash32 root;
    codec_merkle_root(&root, leaves, n);
    char line[128];
    merkle_line(line, sizeof(line), n, &root);
    size_t used = strlen(text);
    assert_true(used + strlen(line) < sizeof(text));
    memcpy(text + used, line, strlen(line) + 1);
  }
  if (vectors_write_mode()) {
    vec_write_text("merkle.txt", text);
    return;
  }
  char *want = vec_read_text("merkle.txt");
  bool same = strcmp(want, text) == 0;
  if (!same) {
    print_message("golden merkle.txt differs; this build produces:\n%s", text);
  }
  free(want);
  assert_true(same);
}

/* Decoding each golden file and encoding the result gives the same bytes. */
static void test_golden_reencode(void **state) {
  (void)state;
  uint8_t out[4096];
  size_t out_len = 0;
  size_t len = 0;
  uint8_t *in = vec_load("tx.hex", &len);
  struct tx tx;
  assert_int_equal(codec_tx_decode(&tx, in, len), OK);
  assert_int_equal(codec_tx_encode(&tx, out, sizeof(out), &out_len), OK);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, in, len);
  free(in);

  in = vec_load("header.hex", &len);
  struct block_header h;
  assert_int_equal(codec_header_decode(&h, in, len), OK);
  assert_int_equal(codec_header_encode(&h, out, sizeof(out), &out_len), OK);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, in, len);
  free(in);

  in = vec_load("commit.hex", &len);
  struct commit c;
  assert_int_equal(codec_commit_decode(&c, in, len), OK);
  assert_int_equal(codec_commit_encode(&c, out, sizeof(out), &out_len), OK);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, in, len);
  free(in);

  in = vec_load("block.hex", &len);
  struct block *b = calloc(1, sizeof(*b));
  assert_non_null(b);
  assert_int_equal(codec_block_decode(b, in, len), OK);
  assert_int_equal(codec_block_encode(b, out, sizeof(out), &out_len), OK);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, in, len);
  /* The block's header hashes to the golden block hash. */
  struct hash32 bh = {{0}};
  assert_int_equal(codec_block_hash(&b->header, &bh), OK);
  size_t hlen = 0;
  uint8_t *want = vec_load("block_hash.hex", &hlen);
  assert_int_equal(hlen, 32);
  assert_memory_equal(bh.b, want, 32);
  free(want);
  free(b);
  free(in);

  in = vec_load("record.hex", &len);
  struct codec_value v[8];
  assert_int_equal(codec_record_decode(&ALL_SCHEMA, v, in, len), OK);
  assert_int_equal(codec_record_encode(&ALL_SCHEMA, v, out, sizeof(out), &out_len), OK);
  assert_int_equal(out_len, len);
  assert_memory_equal(out, in, len);
  free(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_primitives_layout),
      cmocka_unit_test(test_writer_overflow_sticks),
      cmocka_unit_test(test_reader_short_sticks),
      cmocka_unit_test(test_reader_var_limits),
      cmocka_unit_test(test_reader_str_printable),
      cmocka_unit_test(test_reader_trailing),
      cmocka_unit_test(test_tx_roundtrip),
      cmocka_unit_test(test_tx_hashes),
      cmocka_unit_test(test_tx_short_and_trailing),
      cmocka_unit_test(test_tx_rejects_version),
      cmocka_unit_test(test_tx_rejects_chain_id),
      cmocka_unit_test(test_tx_rejects_names),
      cmocka_unit_test(test_tx_rejects_oversize),
      cmocka_unit_test(test_header_roundtrip),
      cmocka_unit_test(test_header_rejects),
      cmocka_unit_test(test_commit_roundtrip),
      cmocka_unit_test(test_commit_rejects),
      cmocka_unit_test(test_vote_sighash),
      cmocka_unit_test(test_block_roundtrip),
      cmocka_unit_test(test_block_rejects),
      cmocka_unit_test(test_block_extremes),
      cmocka_unit_test(test_record_roundtrip),
      cmocka_unit_test(test_record_rejects_bool),
      cmocka_unit_test(test_record_rejects_str_bytes),
      cmocka_unit_test(test_record_rejects_lists),
      cmocka_unit_test(test_schema_find),
      cmocka_unit_test(test_merkle_reference),
      cmocka_unit_test(test_merkle_by_hand),
      cmocka_unit_test(test_golden_tx),
      cmocka_unit_test(test_golden_block),
      cmocka_unit_test(test_golden_record),
      cmocka_unit_test(test_golden_merkle),
      cmocka_unit_test(test_golden_reencode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
