/*
 * ctr_fixture.h — what the contract unit tests (test_contracts, test_appt,
 * test_supply) share: actors with keys derived from their index, a store
 * and state in a temporary directory, argument builders, a submit that
 * runs admission and the call as a block would and checks that a refusal
 * leaves the state root unchanged, and readers of entity fields.
 *
 * The including test defines its actors first: an enum with VAL (the
 * validator's actor) and NACT (how many), then includes this header and
 * writes its genesis members in the fill function it passes ctr_fx_open.
 */
#ifndef MEDCHAIN_TEST_CTR_FIXTURE_H
#define MEDCHAIN_TEST_CTR_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "contracts/contracts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Helpers a given test does not use are not warnings. */
#define CTR_FX_UNUSED __attribute__((unused))

#define MAP_BYTES (256u * 1024u * 1024u)
#define T0_MS 1700000000000ull
#define HOUR_MS 3600000ull

/* Error codes compared by name so a failure reads "CONSENT_REQUIRED". */
#define EXPECT(code, expr) assert_string_equal(err_name(expr), err_name(code))

struct actor {
  struct cry_keys *k;
  struct hash32 id;
  struct pubkey pk;
  struct boxkey box;
};

struct fx {
  char dir[64];
  struct store *s;
  struct store_txn *t;
  struct state *st;
  struct actor act[NACT];
  uint64_t height;
  uint64_t time_ms;
  uint64_t ntx;
  struct hash32 last_tx_hash;
  uint8_t args[LIM_ARGS_MAX];
  size_t args_len;
};

static CTR_FX_UNUSED struct bytes bs(const char *s) {
  return (struct bytes){(const uint8_t *)s, strlen(s)};
}

static CTR_FX_UNUSED void actor_keys(struct actor *a, uint8_t seed, uint8_t generation) {
  uint8_t s[CRY_SEED_BYTES];
  memset(s, 0x5a, sizeof(s));
  s[0] = seed;
  s[1] = generation;
  cry_keys_destroy(a->k);
  a->k = cry_keys_from_seed(s);
  assert_non_null(a->k);
  cry_keys_sign_pk(a->k, &a->pk);
  cry_keys_box_pk(a->k, &a->box);
}

static CTR_FX_UNUSED struct hash32 hash_of(const char *tag, const char *s) {
  struct hash32 h;
  cry_hash_tagged(&h, tag, (const uint8_t *)s, strlen(s));
  return h;
}

static CTR_FX_UNUSED struct hash32 org_id(const char *name) {
  return hash_of("medchain.org.v1", name);
}

static CTR_FX_UNUSED struct hash32 zero_id(void) {
  struct hash32 z;
  memset(&z, 0, sizeof(z));
  return z;
}

/* ---- argument values ------------------------------------------------------ */

static CTR_FX_UNUSED struct codec_value v_id(struct hash32 h) {
  return (struct codec_value){.type = CODEC_ID, .id = h};
}
static CTR_FX_UNUSED struct codec_value v_pk(const struct pubkey *p) {
  struct codec_value v = {.type = CODEC_PUBKEY};
  memcpy(v.id.b, p->b, 32);
  return v;
}
static CTR_FX_UNUSED struct codec_value v_box(const struct boxkey *p) {
  struct codec_value v = {.type = CODEC_PUBKEY};
  memcpy(v.id.b, p->b, 32);
  return v;
}
static CTR_FX_UNUSED struct codec_value v_str(const char *s) {
  return (struct codec_value){.type = CODEC_STR, .bytes = bs(s)};
}
static CTR_FX_UNUSED struct codec_value v_u64(uint64_t x) {
  return (struct codec_value){.type = CODEC_U64, .u64 = x};
}
static CTR_FX_UNUSED struct codec_value v_bool(bool x) {
  return (struct codec_value){.type = CODEC_BOOL, .u64 = x ? 1 : 0};
}

/* A sorted set of sealed keys (the codec accepts nothing else). */
struct keyset {
  uint32_t n;
  uint8_t b[LIM_KEYS_MAX][CODEC_KEY_ITEM_BYTES];
};

static CTR_FX_UNUSED void keyset_add(struct keyset *ks, const struct hash32 *reader) {
  assert_true(ks->n < LIM_KEYS_MAX);
  uint32_t at = 0;
  while (at < ks->n && memcmp(ks->b[at], reader->b, 32) < 0) {
    at++;
  }
  memmove(ks->b[at + 1], ks->b[at], (size_t)(ks->n - at) * CODEC_KEY_ITEM_BYTES);
  memcpy(ks->b[at], reader->b, 32);
  memset(ks->b[at] + 32, 0xab, LIM_SEALED_KEY_BYTES);
  ks->n++;
}

static CTR_FX_UNUSED struct codec_value v_keys(const struct keyset *ks) {
  return (struct codec_value){.type = CODEC_KEYS,
                              .bytes = {ks->b[0], (size_t)ks->n * CODEC_KEY_ITEM_BYTES},
                              .count = ks->n};
}

/* ---- driving the executor ------------------------------------------------- */

static CTR_FX_UNUSED void root_now(struct fx *f, struct hash32 *root) {
  assert_int_equal(state_root_update(f->st, root), OK);
}

static CTR_FX_UNUSED uint64_t next_nonce(struct fx *f, const struct hash32 *id) {
  uint64_t n = 0;
  assert_int_equal(ctr_next_nonce(f->st, id, &n), OK);
  return n;
}

static CTR_FX_UNUSED void tx_init(struct fx *f, struct tx *tx, int who, const char *contract,
                                  const char *method) {
  memset(tx, 0, sizeof(*tx));
  tx->chain_id = bs("medchain-test");
  tx->sender = f->act[who].id;
  tx->pubkey = f->act[who].pk;
  tx->nonce = next_nonce(f, &tx->sender);
  tx->contract = bs(contract);
  tx->method = bs(method);
  tx->args = (struct bytes){f->args, f->args_len};
}

/* Admits and runs tx as the ledger does; a refusal must leave the root. */
static CTR_FX_UNUSED int submit(struct fx *f, const struct tx *tx) {
  f->ntx++;
  f->height++;
  f->time_ms += 1000;
  uint8_t n[8];
  base_put_u64be(n, f->ntx);
  struct ledger_env env = {
      .chain_id = bs("medchain-test"), .height = f->height, .time_ms = f->time_ms, .index = 0};
  cry_hash_tagged(&env.tx_hash, "test.tx", n, sizeof(n));
  f->last_tx_hash = env.tx_hash;
  struct hash32 before;
  struct hash32 after;
  root_now(f, &before);
  int rc = ctr_admit(f->st, tx, &env);
  if (rc != OK) {
    state_tx_abort(f->st);
    root_now(f, &after);
    assert_memory_equal(before.b, after.b, 32);
    return rc;
  }
  assert_int_equal(state_tx_commit(f->st), OK);
  root_now(f, &before);
  rc = ctr_call(f->st, tx, &env);
  if (rc != OK) {
    state_tx_abort(f->st);
    root_now(f, &after);
    assert_memory_equal(before.b, after.b, 32);
    return rc;
  }
  assert_int_equal(state_tx_commit(f->st), OK);
  root_now(f, &after);
  assert_memory_not_equal(before.b, after.b, 32);
  return OK;
}

static CTR_FX_UNUSED int call_v(struct fx *f, int who, const char *contract, const char *method,
                                const struct codec_value *vals, size_t n) {
  const struct ctr_method *m = ctr_method_find(bs(contract), bs(method));
  assert_non_null(m);
  assert_int_equal(n, m->args->nfields);
  int rc = codec_record_encode(m->args, vals, f->args, sizeof(f->args), &f->args_len);
  if (rc != OK) {
    fprintf(stderr, "encode %s.%s: %s\n", contract, method, err_name(rc));
  }
  assert_int_equal(rc, OK);
  struct tx tx;
  tx_init(f, &tx, who, contract, method);
  return submit(f, &tx);
}

#define VALS(...) ((const struct codec_value[]){__VA_ARGS__})
#define NVALS(...) (sizeof(VALS(__VA_ARGS__)) / sizeof(struct codec_value))
#define CALL(f, who, c, m, ...) call_v(f, who, c, m, VALS(__VA_ARGS__), NVALS(__VA_ARGS__))

/* ---- reading entities back ------------------------------------------------ */

static CTR_FX_UNUSED struct codec_value field(struct fx *f, enum ctr_kind kind,
                                              const struct hash32 *id, const char *name) {
  struct bytes val;
  assert_int_equal(ctr_get(f->st, kind, id, &val), OK);
  const struct codec_schema *s = ctr_kind_schema(kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  assert_int_equal(codec_record_decode(s, vals, val.ptr, val.len), OK);
  int i = codec_schema_find(s, name);
  assert_true(i >= 0);
  return vals[i];
}

static CTR_FX_UNUSED void expect_str(struct fx *f, enum ctr_kind kind, const struct hash32 *id,
                                     const char *name, const char *want) {
  struct codec_value v = field(f, kind, id, name);
  assert_int_equal(v.bytes.len, strlen(want));
  assert_memory_equal(v.bytes.ptr, want, v.bytes.len);
}

static CTR_FX_UNUSED uint64_t field_u64(struct fx *f, enum ctr_kind kind, const struct hash32 *id,
                                        const char *name) {
  return field(f, kind, id, name).u64;
}

static CTR_FX_UNUSED struct hash32 field_id(struct fx *f, enum ctr_kind kind,
                                            const struct hash32 *id, const char *name) {
  return field(f, kind, id, name).id;
}

static CTR_FX_UNUSED bool exists(struct fx *f, enum ctr_kind kind, const struct hash32 *id) {
  struct bytes val;
  int rc = ctr_get(f->st, kind, id, &val);
  assert_true(rc == OK || rc == ERR_NOT_FOUND);
  return rc == OK;
}

static CTR_FX_UNUSED uint64_t global_u64(struct fx *f, const char *name) {
  uint8_t key[32] = {'G'};
  memcpy(key + 1, name, strlen(name));
  struct bytes val;
  assert_int_equal(state_get(f->st, (struct bytes){key, 1 + strlen(name)}, &val), OK);
  assert_int_equal(val.len, 8);
  return base_get_u64be(val.ptr);
}

static CTR_FX_UNUSED void global_put(struct fx *f, const char *name, uint64_t v) {
  uint8_t key[32] = {'G'};
  memcpy(key + 1, name, strlen(name));
  uint8_t be[8];
  base_put_u64be(be, v);
  assert_int_equal(state_put(f->st, (struct bytes){key, 1 + strlen(name)}, (struct bytes){be, 8}),
                   OK);
  assert_int_equal(state_tx_commit(f->st), OK);
}

/* ---- fixture -------------------------------------------------------------- */

/* Opens a store in a fresh directory named after dir_template (mkdtemp),
 * derives the NACT actors' keys from their index, writes the genesis that
 * fill describes and commits it; the block time starts at T0_MS. */
static CTR_FX_UNUSED int ctr_fx_open(void **state, const char *dir_template,
                                     void (*fill)(struct fx *f, struct ledger_genesis *g)) {
  assert_int_equal(cry_init(), OK);
  struct fx *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  for (int i = 0; i < NACT; i++) {
    actor_keys(&f->act[i], (uint8_t)(i + 1), 0);
    cry_id_from_pk(&f->act[i].id, &f->act[i].pk);
  }
  snprintf(f->dir, sizeof(f->dir), "%s", dir_template);
  assert_non_null(mkdtemp(f->dir));
  assert_int_equal(store_open(&f->s, f->dir, MAP_BYTES), OK);
  assert_int_equal(store_write_begin(f->s, &f->t), OK);
  assert_int_equal(state_create(&f->st, f->t), OK);
  struct ledger_genesis *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  memset(g, 0, sizeof(*g));
  snprintf(g->chain_id, sizeof(g->chain_id), "medchain-test");
  g->time_ms = T0_MS;
  g->nvalidators = 1;
  g->validators[0].pk = f->act[VAL].pk;
  g->validators[0].power = 10;
  fill(f, g);
  EXPECT(OK, ctr_genesis(f->st, g));
  free(g);
  assert_int_equal(state_tx_commit(f->st), OK);
  struct hash32 root;
  root_now(f, &root); /* the genesis state's tree, as a first block would see it */
  f->time_ms = T0_MS;
  *state = f;
  return 0;
}

static CTR_FX_UNUSED int fx_teardown(void **state) {
  struct fx *f = *state;
  state_destroy(f->st);
  store_txn_abort(f->t);
  store_close(f->s);
  char path[128];
  snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
  unlink(path);
  rmdir(f->dir);
  for (int i = 0; i < NACT; i++) {
    cry_keys_destroy(f->act[i].k);
  }
  free(f);
  return 0;
}

#endif
