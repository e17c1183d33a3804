/*
 * entity — moving entities between the state's encoded bytes and the
 * fixed-size structs of contracts_internal.h, plus the small helpers every
 * contract uses: state keys, index entries, counters, sorted id sets.
 *
 * One generic codec bridge serves every entity: a layout table gives, for
 * each schema field in order, where it lives in the struct. The layouts sit
 * next to the structs' definitions by offsetof, and each slot's size is
 * asserted against the field's type, so a struct and its schema cannot
 * drift apart silently. Lists are copied whole and stay sorted sets (the
 * codec refuses anything else as non-canonical).
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(struct hash32) == 32, "ids are packed 32-byte items");
_Static_assert(sizeof(struct pubkey) == 32 && sizeof(struct boxkey) == 32, "keys are 32 bytes");
_Static_assert(sizeof(struct ctr_key) == CODEC_KEY_ITEM_BYTES, "sealed keys are packed items");

/* ---- strings -------------------------------------------------------------- */

void ctr_str_set(struct ctr_str *s, struct bytes v) {
  assert(v.len <= LIM_STR_MAX);
  assert(v.ptr != NULL || v.len == 0);
  if (v.len > 0) {
    memcpy(s->b, v.ptr, v.len);
  }
  s->b[v.len] = '\0';
  s->len = (uint32_t)v.len;
}

void ctr_str_setz(struct ctr_str *s, const char *z) {
  ctr_str_set(s, (struct bytes){(const uint8_t *)z, strlen(z)});
}

bool ctr_bytes_is(struct bytes b, const char *z) {
  size_t n = strlen(z);
  return b.len == n && (n == 0 || memcmp(b.ptr, z, n) == 0);
}

bool ctr_label_ok(struct bytes b) {
  if (b.len == 0) {
    return false;
  }
  for (size_t i = 0; i < b.len; i++) {
    uint8_t ch = b.ptr[i];
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && ch != '.' && ch != '_' && ch != '-') {
      return false;
    }
  }
  return true;
}

bool ctr_str_is(const struct ctr_str *s, const char *z) {
  return ctr_bytes_is(ctr_str_bytes(s), z);
}

bool ctr_str_eq_bytes(const struct ctr_str *s, struct bytes b) {
  return s->len == b.len && (b.len == 0 || memcmp(s->b, b.ptr, b.len) == 0);
}

struct bytes ctr_str_bytes(const struct ctr_str *s) {
  assert(s->len <= LIM_STR_MAX);
  return (struct bytes){(const uint8_t *)s->b, s->len};
}

/* ---- state keys ----------------------------------------------------------- */

void ctr_skey_init(struct ctr_skey *k, uint8_t tag) {
  k->len = 1;
  k->b[0] = tag;
}

void ctr_skey_add(struct ctr_skey *k, const void *p, size_t len) {
  assert(k->len + len <= sizeof(k->b));
  memcpy(k->b + k->len, p, len);
  k->len += len;
}

void ctr_skey_add_id(struct ctr_skey *k, const struct hash32 *id) {
  ctr_skey_add(k, id->b, sizeof(id->b));
}

void ctr_skey_add_u64(struct ctr_skey *k, uint64_t v) {
  uint8_t be[8];
  base_put_u64be(be, v);
  ctr_skey_add(k, be, sizeof(be));
}

struct bytes ctr_skey_bytes(const struct ctr_skey *k) {
  assert(k->len >= 1 && k->len <= LIM_STATE_KEY_MAX);
  return (struct bytes){k->b, k->len};
}

int ctr_index_put(struct state *st, uint8_t tag, uint8_t sub, const struct hash32 *owner,
                  const uint64_t *seq, const struct hash32 *id) {
  struct ctr_skey k;
  ctr_skey_init(&k, tag);
  ctr_skey_add(&k, &sub, 1);
  ctr_skey_add_id(&k, owner);
  if (seq != NULL) {
    ctr_skey_add_u64(&k, *seq);
  }
  ctr_skey_add_id(&k, id);
  static const uint8_t empty[1] = {0};
  return state_put(st, ctr_skey_bytes(&k), (struct bytes){empty, 0});
}

static void global_key(struct ctr_skey *k, const char *name) {
  ctr_skey_init(k, CTR_TAG_GLOBAL);
  ctr_skey_add(k, name, strlen(name));
}

int ctr_counter_get(struct state *st, const char *name, uint64_t *out) {
  struct ctr_skey k;
  global_key(&k, name);
  struct bytes v;
  int rc = state_get(st, ctr_skey_bytes(&k), &v);
  if (rc == ERR_NOT_FOUND) {
    *out = 0;
    return OK;
  }
  if (rc != OK) {
    return rc;
  }
  if (v.len != 8) {
    return ERR_CORRUPT;
  }
  *out = base_get_u64be(v.ptr);
  return OK;
}

int ctr_counter_put(struct state *st, const char *name, uint64_t v) {
  struct ctr_skey k;
  global_key(&k, name);
  uint8_t be[8];
  base_put_u64be(be, v);
  return state_put(st, ctr_skey_bytes(&k), (struct bytes){be, sizeof(be)});
}

int ctr_exists(struct state *st, uint8_t tag, const struct hash32 *id, bool *out) {
  struct ctr_skey k;
  ctr_skey_init(&k, tag);
  ctr_skey_add_id(&k, id);
  struct bytes v;
  int rc = state_get(st, ctr_skey_bytes(&k), &v);
  *out = rc == OK;
  return rc == ERR_NOT_FOUND ? OK : rc;
}

int ctr_key_owner(struct state *st, const struct pubkey *pk, bool *used) {
  struct hash32 h;
  memcpy(h.b, pk->b, sizeof(h.b));
  return ctr_exists(st, CTR_TAG_KEY, &h, used);
}

int ctr_identity_by_key(struct state *st, const struct pubkey *pk, struct hash32 *id) {
  struct ctr_skey k;
  ctr_skey_init(&k, CTR_TAG_KEY);
  ctr_skey_add(&k, pk->b, sizeof(pk->b));
  struct bytes val;
  int rc = state_get(st, ctr_skey_bytes(&k), &val);
  if (rc != OK) {
    return rc;
  }
  if (val.len != sizeof(id->b)) {
    return ERR_CORRUPT;
  }
  memcpy(id->b, val.ptr, sizeof(id->b));
  return OK;
}

int ctr_key_put(struct state *st, const struct pubkey *pk, const struct hash32 *owner) {
  struct ctr_skey k;
  ctr_skey_init(&k, CTR_TAG_KEY);
  ctr_skey_add(&k, pk->b, sizeof(pk->b));
  return state_put(st, ctr_skey_bytes(&k), (struct bytes){owner->b, sizeof(owner->b)});
}

/* ---- sorted sets ---------------------------------------------------------- */

bool ctr_ids_has(const struct hash32 *v, uint32_t n, const struct hash32 *id) {
  for (uint32_t i = 0; i < n; i++) {
    if (base_hash_eq(&v[i], id)) {
      return true;
    }
  }
  return false;
}

int ctr_ids_insert(struct hash32 *v, uint32_t *n, uint32_t cap, const struct hash32 *id) {
  assert(*n <= cap);
  uint32_t at = 0;
  while (at < *n && memcmp(v[at].b, id->b, 32) < 0) {
    at++;
  }
  if (at < *n && memcmp(v[at].b, id->b, 32) == 0) {
    return ERR_EXISTS;
  }
  if (*n == cap) {
    return ERR_LIMIT;
  }
  memmove(&v[at + 1], &v[at], (size_t)(*n - at) * sizeof(v[0]));
  v[at] = *id;
  *n += 1;
  return OK;
}

int ctr_ids_remove(struct hash32 *v, uint32_t *n, const struct hash32 *id) {
  for (uint32_t i = 0; i < *n; i++) {
    if (base_hash_eq(&v[i], id)) {
      memmove(&v[i], &v[i + 1], (size_t)(*n - i - 1) * sizeof(v[0]));
      *n -= 1;
      return OK;
    }
  }
  return ERR_NOT_FOUND;
}

int ctr_keys_put(struct ctr_key *v, uint32_t *n, uint32_t cap, const struct ctr_key *k) {
  assert(*n <= cap);
  uint32_t at = 0;
  while (at < *n && memcmp(v[at].reader.b, k->reader.b, 32) < 0) {
    at++;
  }
  if (at < *n && memcmp(v[at].reader.b, k->reader.b, 32) == 0) {
    v[at] = *k;
    return OK;
  }
  if (*n == cap) {
    return ERR_LIMIT;
  }
  memmove(&v[at + 1], &v[at], (size_t)(*n - at) * sizeof(v[0]));
  v[at] = *k;
  *n += 1;
  return OK;
}

void ctr_keys_remove(struct ctr_key *v, uint32_t *n, const struct hash32 *reader) {
  for (uint32_t i = 0; i < *n; i++) {
    if (base_hash_eq(&v[i].reader, reader)) {
      memmove(&v[i], &v[i + 1], (size_t)(*n - i - 1) * sizeof(v[0]));
      *n -= 1;
      return;
    }
  }
}

bool ctr_keys_has(const struct ctr_key *v, uint32_t n, const struct hash32 *reader) {
  for (uint32_t i = 0; i < n; i++) {
    if (base_hash_eq(&v[i].reader, reader)) {
      return true;
    }
  }
  return false;
}

int ctr_get_field(struct state *st, enum ctr_kind kind, const struct hash32 *id, const char *name,
                  struct codec_value *out) {
  assert(st != NULL && id != NULL && name != NULL && out != NULL);
  struct bytes val;
  int rc = ctr_get(st, kind, id, &val);
  if (rc != OK) {
    return rc;
  }
  const struct codec_schema *schema = ctr_kind_schema(kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  if (codec_record_decode(schema, vals, val.ptr, val.len) != OK) {
    return ERR_CORRUPT;
  }
  int i = codec_schema_find(schema, name);
  assert(i >= 0);
  *out = vals[i];
  return OK;
}

int ctr_record_meta(struct state *st, const struct hash32 *id, struct ctr_record_meta *out) {
  assert(st != NULL && id != NULL && out != NULL);
  struct ctr_record r;
  memset(&r, 0, sizeof(r));
  int rc = ctr_load(st, id, &r);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_RECORD : rc;
  }
  memset(out, 0, sizeof(*out));
  out->id = r.id;
  out->patient = r.patient;
  out->author = r.author;
  out->org = r.org;
  out->content_hash = r.content_hash;
  out->size = r.size;
  out->erased = r.erased;
  assert(r.nkeys <= LIM_KEYS_MAX);
  _Static_assert(sizeof(struct ctr_key) == CODEC_KEY_ITEM_BYTES, "a key item is its encoding");
  out->nkeys = r.nkeys;
  memcpy(out->keys, r.keys, (size_t)r.nkeys * sizeof(struct ctr_key));
  return OK;
}
