/*
 * genesis — the chain's first document: its id, its start time, the
 * validators and the founding members. It is encoded canonically (codec
 * rules), hashed, stored once in STORE_META under "genesis", and every
 * later block descends from its hash.
 *
 * Decoding validates everything a chain relies on (see ledger.h), so a
 * struct ledger_genesis that came out of ledger_genesis_decode is safe to
 * start from. ledger_genesis_init goes through encode then decode itself,
 * so a genesis built by hand gets the same checks and its validator ids
 * derived the same way as one read from disk. Voting powers total below
 * 2^62, which keeps the commit quorum arithmetic (3 * signed vs 2 * total)
 * inside 64 bits.
 */
#include "ledger/ledger_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define GENESIS_VERSION 1
#define GENESIS_POWER_TOTAL_MAX (UINT64_C(1) << 62)
#define GENESIS_KIND_MAX 32

static const char *const genesis_kinds[] = {"hospital",    "clinic",  "pharmacy",  "manufacturer",
                                            "distributor", "insurer", "regulator", "lab"};

_Static_assert(sizeof(((struct ledger_member *)0)->kind) == GENESIS_KIND_MAX + 1,
               "a member's kind array holds GENESIS_KIND_MAX characters and a NUL");

/* Length of a NUL-terminated string in an array of cap bytes, or cap when
 * it has no terminator (which no encoder accepts). */
static size_t genesis_strlen(const char *s, size_t cap) {
  const char *end = memchr(s, '\0', cap);
  if (end == NULL) {
    return cap;
  }
  return (size_t)(end - s);
}

static void genesis_put_str(struct codec_writer *w, const char *s, size_t cap, size_t max) {
  size_t len = genesis_strlen(s, cap);
  if (len > max || len == cap) {
    w->err = ERR_OVERSIZE;
    return;
  }
  codec_put_var(w, (const uint8_t *)s, len);
}

int ledger_genesis_encode(const struct ledger_genesis *g, uint8_t *out, size_t cap,
                          size_t *out_len) {
  if (g->nvalidators > LIM_VALIDATORS_MAX || g->nmembers > LEDGER_GENESIS_MEMBERS_MAX) {
    return ERR_OVERSIZE;
  }
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  codec_put_u8(&w, GENESIS_VERSION);
  genesis_put_str(&w, g->chain_id, sizeof(g->chain_id), LIM_CHAIN_ID_MAX);
  codec_put_u64(&w, g->time_ms);
  codec_put_u16(&w, g->nvalidators);
  for (uint16_t i = 0; i < g->nvalidators; i++) {
    codec_put_raw(&w, g->validators[i].pk.b, sizeof(g->validators[i].pk.b));
    codec_put_u64(&w, g->validators[i].power);
  }
  codec_put_u16(&w, g->nmembers);
  for (uint16_t i = 0; i < g->nmembers; i++) {
    const struct ledger_member *m = &g->members[i];
    genesis_put_str(&w, m->name, sizeof(m->name), LIM_STR_MAX);
    genesis_put_str(&w, m->kind, sizeof(m->kind), GENESIS_KIND_MAX);
    codec_put_raw(&w, m->admin_pk.b, sizeof(m->admin_pk.b));
    codec_put_raw(&w, m->admin_box.b, sizeof(m->admin_box.b));
  }
  if (w.err != OK) {
    return w.err;
  }
  assert(w.len <= LEDGER_GENESIS_BYTES_MAX);
  *out_len = w.len;
  return OK;
}

/* Copies a decoded string into a NUL-terminated array of cap bytes. */
static void genesis_copy_str(char *dst, size_t cap, struct bytes s) {
  assert(s.len < cap);
  if (s.len > 0) {
    memcpy(dst, s.ptr, s.len);
  }
  dst[s.len] = '\0';
}

static void genesis_get_validators(struct codec_reader *r, struct ledger_genesis *g) {
  uint16_t n = codec_get_u16(r);
  if (r->err == OK && n > LIM_VALIDATORS_MAX) {
    r->err = ERR_OVERSIZE;
  }
  if (r->err != OK) {
    return;
  }
  g->nvalidators = n;
  for (uint16_t i = 0; i < n; i++) {
    struct ledger_validator *v = &g->validators[i];
    codec_get_raw(r, v->pk.b, sizeof(v->pk.b));
    v->power = codec_get_u64(r);
    cry_id_from_pk(&v->id, &v->pk);
  }
}

static void genesis_get_members(struct codec_reader *r, struct ledger_genesis *g) {
  uint16_t m = codec_get_u16(r);
  if (r->err == OK && m > LEDGER_GENESIS_MEMBERS_MAX) {
    r->err = ERR_OVERSIZE;
  }
  if (r->err != OK) {
    return;
  }
  g->nmembers = m;
  for (uint16_t i = 0; i < m && r->err == OK; i++) {
    struct ledger_member *mb = &g->members[i];
    struct bytes name = codec_get_str(r, LIM_STR_MAX);
    struct bytes kind = codec_get_str(r, GENESIS_KIND_MAX);
    codec_get_raw(r, mb->admin_pk.b, sizeof(mb->admin_pk.b));
    codec_get_raw(r, mb->admin_box.b, sizeof(mb->admin_box.b));
    if (r->err == OK) {
      genesis_copy_str(mb->name, sizeof(mb->name), name);
      genesis_copy_str(mb->kind, sizeof(mb->kind), kind);
    }
  }
}

static bool genesis_validators_valid(const struct ledger_genesis *g) {
  if (g->nvalidators == 0) {
    return false;
  }
  uint64_t total = 0;
  for (uint16_t i = 0; i < g->nvalidators; i++) {
    const struct ledger_validator *v = &g->validators[i];
    if (v->power == 0 || v->power >= GENESIS_POWER_TOTAL_MAX - total) {
      return false;
    }
    total += v->power;
    if (cry_pubkey_check(&v->pk) != OK) {
      return false;
    }
    for (uint16_t j = 0; j < i; j++) {
      if (memcmp(g->validators[j].pk.b, v->pk.b, sizeof(v->pk.b)) == 0) {
        return false;
      }
    }
  }
  assert(total < GENESIS_POWER_TOTAL_MAX);
  return true;
}

static bool genesis_kind_valid(const char *kind) {
  for (size_t i = 0; i < ARRAY_LEN(genesis_kinds); i++) {
    if (strcmp(kind, genesis_kinds[i]) == 0) {
      return true;
    }
  }
  return false;
}

static bool genesis_member_valid(const struct ledger_genesis *g, uint16_t i) {
  const struct ledger_member *m = &g->members[i];
  static const struct boxkey zero_box;
  if (m->name[0] == '\0' || !genesis_kind_valid(m->kind)) {
    return false;
  }
  if (cry_pubkey_check(&m->admin_pk) != OK ||
      memcmp(m->admin_box.b, zero_box.b, sizeof(zero_box.b)) == 0) {
    return false;
  }
  for (uint16_t j = 0; j < i; j++) {
    const struct ledger_member *o = &g->members[j];
    if (strcmp(o->name, m->name) == 0 ||
        memcmp(o->admin_pk.b, m->admin_pk.b, sizeof(m->admin_pk.b)) == 0) {
      return false;
    }
  }
  return true;
}

/* The rules of ledger.h on a decoded genesis. */
static int genesis_validate(const struct ledger_genesis *g) {
  if (!ledger_chain_id_valid(ledger_chain_id_bytes(g->chain_id))) {
    return ERR_CONFIG;
  }
  if (!genesis_validators_valid(g) || g->nmembers == 0) {
    return ERR_CONFIG;
  }
  for (uint16_t i = 0; i < g->nmembers; i++) {
    if (!genesis_member_valid(g, i)) {
      return ERR_CONFIG;
    }
  }
  return OK;
}

int ledger_genesis_decode(struct ledger_genesis *g, const uint8_t *buf, size_t len) {
  memset(g, 0, sizeof(*g));
  struct codec_reader r;
  codec_reader_init(&r, buf, len);
  uint8_t version = codec_get_u8(&r);
  if (r.err == OK && version != GENESIS_VERSION) {
    r.err = ERR_MALFORMED;
  }
  struct bytes chain_id = codec_get_str(&r, LIM_CHAIN_ID_MAX);
  g->time_ms = codec_get_u64(&r);
  if (r.err == OK) {
    genesis_copy_str(g->chain_id, sizeof(g->chain_id), chain_id);
  }
  genesis_get_validators(&r, g);
  genesis_get_members(&r, g);
  int rc = codec_reader_finish(&r);
  if (rc != OK) {
    memset(g, 0, sizeof(*g));
    return rc;
  }
  return genesis_validate(g);
}

int ledger_genesis_hash(const struct ledger_genesis *g, struct hash32 *out) {
  uint8_t buf[LEDGER_GENESIS_BYTES_MAX];
  size_t len = 0;
  int rc = ledger_genesis_encode(g, buf, sizeof(buf), &len);
  if (rc != OK) {
    return rc;
  }
  cry_hash_tagged(out, "medchain.genesis.v1", buf, len);
  return OK;
}

void ledger_validators_hash(const struct ledger_validator *v, size_t n, struct hash32 *out) {
  assert(n <= LIM_VALIDATORS_MAX);
  uint8_t buf[2 + LIM_VALIDATORS_MAX * (32 + 8)];
  struct codec_writer w;
  codec_writer_init(&w, buf, sizeof(buf));
  codec_put_u16(&w, (uint16_t)n);
  for (size_t i = 0; i < n; i++) {
    codec_put_raw(&w, v[i].pk.b, sizeof(v[i].pk.b));
    codec_put_u64(&w, v[i].power);
  }
  assert(w.err == OK);
  cry_hash_tagged(out, "medchain.validators.v1", buf, w.len);
}

/* Runs the executor's genesis on t and returns the resulting state root. */
static int genesis_apply_state(struct store_txn *t, const struct ledger_genesis *g,
                               const struct ledger_exec *exec, struct hash32 *root) {
  struct state *st = NULL;
  int rc = state_create(&st, t);
  if (rc != OK) {
    return rc;
  }
  rc = exec->genesis(exec->ctx, st, g);
  if (rc != OK) {
    goto fail;
  }
  rc = state_tx_commit(st);
  if (rc != OK) {
    goto fail;
  }
  rc = state_root_update(st, root);
fail:
  state_destroy(st);
  return rc;
}

/* Writes the genesis encoding and the height-0 tip. */
static int genesis_write(struct store_txn *t, const struct ledger_genesis *g, const uint8_t *enc,
                         size_t enc_len, const struct hash32 *root) {
  struct ledger_tip tip;
  memset(&tip, 0, sizeof(tip));
  memcpy(tip.chain_id, g->chain_id, sizeof(tip.chain_id));
  cry_hash_tagged(&tip.genesis_hash, "medchain.genesis.v1", enc, enc_len);
  tip.height = 0;
  tip.last_hash = tip.genesis_hash;
  tip.last_time_ms = g->time_ms;
  tip.state_root = *root;
  ledger_validators_hash(g->validators, g->nvalidators, &tip.validators_hash);
  struct bytes val = {enc, enc_len};
  int rc = store_put(t, STORE_META, ledger_meta_key(LEDGER_META_GENESIS), val);
  if (rc != OK) {
    return rc;
  }
  return ledger_tip_write(t, &tip);
}

int ledger_genesis_init(struct store_txn *t, const struct ledger_genesis *g,
                        const struct ledger_exec *exec) {
  assert(store_txn_is_write(t));
  struct bytes val;
  if (store_get(t, STORE_META, ledger_meta_key(LEDGER_META_TIP), &val) == OK ||
      store_get(t, STORE_META, ledger_meta_key(LEDGER_META_GENESIS), &val) == OK) {
    return ERR_EXISTS;
  }
  uint8_t enc[LEDGER_GENESIS_BYTES_MAX];
  size_t enc_len = 0;
  int rc = ledger_genesis_encode(g, enc, sizeof(enc), &enc_len);
  if (rc != OK) {
    return ERR_CONFIG;
  }
  /* Decoding our own encoding validates g and derives the validator ids. */
  struct hash32 root;
  struct ledger_genesis *canon = malloc(sizeof(*canon));
  if (canon == NULL) {
    return ERR_NOMEM;
  }
  rc = ledger_genesis_decode(canon, enc, enc_len);
  if (rc != OK) {
    rc = ERR_CONFIG;
    goto fail;
  }
  rc = genesis_apply_state(t, canon, exec, &root);
  if (rc != OK) {
    goto fail;
  }
  rc = genesis_write(t, canon, enc, enc_len, &root);
fail:
  free(canon);
  return rc;
}

int ledger_genesis_read(struct store_txn *t, struct ledger_genesis *g) {
  struct bytes val;
  int rc = store_get(t, STORE_META, ledger_meta_key(LEDGER_META_GENESIS), &val);
  if (rc != OK) {
    return rc;
  }
  rc = ledger_genesis_decode(g, val.ptr, val.len);
  if (rc != OK) {
    return ERR_CORRUPT;
  }
  return OK;
}

int ledger_genesis_validators_read(struct store_txn *t, const struct hash32 *validators_hash,
                                   struct ledger_genesis *g) {
  memset(g, 0, sizeof(*g));
  struct bytes val;
  int rc = store_get(t, STORE_META, ledger_meta_key(LEDGER_META_GENESIS), &val);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  /* The prefix up to the validators; members are not needed here. */
  struct codec_reader r;
  codec_reader_init(&r, val.ptr, val.len);
  (void)codec_get_u8(&r);
  (void)codec_get_str(&r, LIM_CHAIN_ID_MAX);
  (void)codec_get_u64(&r);
  genesis_get_validators(&r, g);
  if (r.err != OK || g->nvalidators == 0) {
    return ERR_CORRUPT;
  }
  struct hash32 h;
  ledger_validators_hash(g->validators, g->nvalidators, &h);
  if (!base_hash_eq(&h, validators_hash)) {
    return ERR_CORRUPT;
  }
  return OK;
}
