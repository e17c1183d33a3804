/*
 * codec records: values laid out by a schema, field after field, with no
 * names or tags.
 *
 * One predicate per rule, used on both sides of the boundary: the decoder
 * applies it while reading each field, the encoder returns the same error
 * for a value that breaks it before writing anything (values reach the
 * encoder from JSON through the API, so a bad value is an input error, not
 * a bug). What can only be a bug is asserted: a malformed schema, a value
 * whose type differs from its field's, a list whose byte length disagrees
 * with its count.
 *
 * Lists of ids (IDS) and of sealed keys (KEYS) are sets keyed by their
 * 32-byte id: canonical means strictly increasing, so no duplicates and one
 * order only.
 */
#include "codec/codec_internal.h"

#include <assert.h>
#include <string.h>

static bool field_ok(const struct codec_field *f) {
  if (f->name == NULL) {
    return false;
  }
  switch (f->type) {
  case CODEC_U64:
  case CODEC_BOOL:
  case CODEC_ID:
  case CODEC_PUBKEY:
    return f->max == 0;
  case CODEC_STR:
  case CODEC_BYTES:
    return true;
  case CODEC_IDS:
  case CODEC_KEYS:
    return f->max <= UINT16_MAX;
  }
  return false;
}

/* Only assertions call this: NDEBUG builds leave it unused. */
__attribute__((unused)) static bool schema_ok(const struct codec_schema *s) {
  if (s == NULL || s->nfields > LIM_FIELDS_MAX) {
    return false;
  }
  if (s->nfields > 0 && s->fields == NULL) {
    return false;
  }
  for (size_t i = 0; i < s->nfields; i++) {
    if (!field_ok(&s->fields[i])) {
      return false;
    }
  }
  return true;
}

static size_t list_item_bytes(enum codec_type t) {
  assert(t == CODEC_IDS || t == CODEC_KEYS);
  return t == CODEC_IDS ? 32 : CODEC_KEY_ITEM_BYTES;
}

/* Items are sorted by their leading 32-byte id, strictly. */
static bool list_sorted(const uint8_t *items, uint32_t count, size_t item_bytes) {
  for (uint32_t i = 1; i < count; i++) {
    const uint8_t *prev = items + (size_t)(i - 1) * item_bytes;
    if (memcmp(prev, prev + item_bytes, 32) >= 0) {
      return false;
    }
  }
  return true;
}

static void list_read(struct codec_reader *r, const struct codec_field *f, struct codec_value *v) {
  uint16_t count = codec_get_u16(r);
  if (r->err != OK) {
    return;
  }
  if (count > f->max) {
    codec_reader_fail(r, ERR_OVERSIZE);
    return;
  }
  size_t item_bytes = list_item_bytes(f->type);
  v->bytes = codec_take(r, (size_t)count * item_bytes);
  if (r->err != OK) {
    return;
  }
  v->count = count;
  if (!list_sorted(v->bytes.ptr, count, item_bytes)) {
    codec_reader_fail(r, ERR_NONCANONICAL);
  }
}

static void field_read(struct codec_reader *r, const struct codec_field *f, struct codec_value *v) {
  memset(v, 0, sizeof(*v));
  v->type = f->type;
  switch (f->type) {
  case CODEC_U64:
    v->u64 = codec_get_u64(r);
    break;
  case CODEC_BOOL:
    v->u64 = codec_get_u8(r);
    if (r->err == OK && v->u64 > 1) {
      codec_reader_fail(r, ERR_NONCANONICAL);
    }
    break;
  case CODEC_ID:
  case CODEC_PUBKEY:
    codec_get_raw(r, v->id.b, sizeof(v->id.b));
    break;
  case CODEC_STR:
    v->bytes = codec_get_str(r, f->max);
    break;
  case CODEC_BYTES:
    v->bytes = codec_get_var(r, f->max);
    break;
  case CODEC_IDS:
  case CODEC_KEYS:
    list_read(r, f, v);
    break;
  }
}

/* The encoder's side of the rules field_read enforces. */
static int field_check(const struct codec_field *f, const struct codec_value *v) {
  assert(v->type == f->type);
  assert(v->bytes.ptr != NULL || v->bytes.len == 0);
  switch (f->type) {
  case CODEC_U64:
  case CODEC_ID:
  case CODEC_PUBKEY:
    return OK;
  case CODEC_BOOL:
    return v->u64 <= 1 ? OK : ERR_NONCANONICAL;
  case CODEC_STR:
    if (v->bytes.len > f->max) {
      return ERR_OVERSIZE;
    }
    return codec_ascii_ok(v->bytes) ? OK : ERR_NONCANONICAL;
  case CODEC_BYTES:
    return v->bytes.len > f->max ? ERR_OVERSIZE : OK;
  case CODEC_IDS:
  case CODEC_KEYS:
    if (v->count > f->max) {
      return ERR_OVERSIZE;
    }
    assert(v->bytes.len == (size_t)v->count * list_item_bytes(f->type));
    return list_sorted(v->bytes.ptr, v->count, list_item_bytes(f->type)) ? OK : ERR_NONCANONICAL;
  }
  assert(!"field type outside enum codec_type");
  return ERR_INTERNAL;
}

static void field_write(struct codec_writer *w, const struct codec_value *v) {
  switch (v->type) {
  case CODEC_U64:
    codec_put_u64(w, v->u64);
    break;
  case CODEC_BOOL:
    codec_put_u8(w, (uint8_t)v->u64);
    break;
  case CODEC_ID:
  case CODEC_PUBKEY:
    codec_put_raw(w, v->id.b, sizeof(v->id.b));
    break;
  case CODEC_STR:
  case CODEC_BYTES:
    codec_put_var(w, v->bytes.ptr, v->bytes.len);
    break;
  case CODEC_IDS:
  case CODEC_KEYS:
    codec_put_u16(w, (uint16_t)v->count);
    codec_put_raw(w, v->bytes.ptr, v->bytes.len);
    break;
  }
}

int codec_record_decode(const struct codec_schema *schema, struct codec_value *vals,
                        const uint8_t *buf, size_t len) {
  assert(schema_ok(schema));
  assert(vals != NULL || schema->nfields == 0);
  struct codec_reader r;
  codec_reader_init(&r, buf, len);
  for (size_t i = 0; i < schema->nfields && r.err == OK; i++) {
    field_read(&r, &schema->fields[i], &vals[i]);
    /* The reading side and the writing side of each rule agree. */
    assert(r.err != OK || field_check(&schema->fields[i], &vals[i]) == OK);
  }
  return codec_reader_finish(&r);
}

#ifdef MEDCHAIN_DEBUG_CHECKS
/* What the encoder wrote, its decoder accepts. */
static void record_verify(const struct codec_schema *schema, const uint8_t *buf, size_t len) {
  struct codec_value back[LIM_FIELDS_MAX];
  assert(codec_record_decode(schema, back, buf, len) == OK);
}
#endif

int codec_record_encode(const struct codec_schema *schema, const struct codec_value *vals,
                        uint8_t *out, size_t cap, size_t *out_len) {
  assert(schema_ok(schema));
  assert(vals != NULL || schema->nfields == 0);
  assert(out_len != NULL);
  for (size_t i = 0; i < schema->nfields; i++) {
    int rc = field_check(&schema->fields[i], &vals[i]);
    if (rc != OK) {
      return rc;
    }
  }
  struct codec_writer w;
  codec_writer_init(&w, out, cap);
  for (size_t i = 0; i < schema->nfields; i++) {
    field_write(&w, &vals[i]);
  }
  if (w.err != OK) {
    return w.err;
  }
#ifdef MEDCHAIN_DEBUG_CHECKS
  record_verify(schema, out, w.len);
#endif
  *out_len = w.len;
  return OK;
}

int codec_schema_find(const struct codec_schema *schema, const char *name) {
  assert(schema_ok(schema));
  assert(name != NULL);
  for (size_t i = 0; i < schema->nfields; i++) {
    if (strcmp(schema->fields[i].name, name) == 0) {
      return (int)i;
    }
  }
  return -1;
}

const char *codec_type_name(enum codec_type t) {
  switch (t) {
  case CODEC_U64:
    return "u64";
  case CODEC_BOOL:
    return "bool";
  case CODEC_ID:
    return "id";
  case CODEC_STR:
    return "str";
  case CODEC_BYTES:
    return "bytes";
  case CODEC_IDS:
    return "ids";
  case CODEC_KEYS:
    return "keys";
  case CODEC_PUBKEY:
    return "pubkey";
  }
  return "unknown";
}
