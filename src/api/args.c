/*
 * args — JSON and argument helpers for the CLI: method arguments from
 * "name=value" strings, records as JSON text, a dotted-path lookup and a
 * pretty printer.
 *
 * api_args_from_strings fills one struct codec_value per schema field and
 * lets codec_record_encode write the record, so the CLI can only produce
 * encodings the contracts decode. Values that need bytes (hex, id lists,
 * sealed keys) are decoded into one arena sized from the input text: no
 * decoded form is longer than the text it came from, so the arena never
 * overflows. Lists are sorted here, since the codec requires them strictly
 * increasing and a person types them in any order; a repeated id is an
 * error. Messages in err name fields, never echo values.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct args_build {
  const struct codec_schema *schema;
  struct codec_value vals[LIM_FIELDS_MAX];
  bool seen[LIM_FIELDS_MAX];
  uint8_t *arena;
  size_t arena_len;
  size_t arena_cap;
  char *err;
  size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct args_build *b, const char *fmt, ...) {
  if (b->err != NULL && b->errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, b->errlen, fmt, ap);
    va_end(ap);
  }
  return ERR_BAD_ARGS;
}

static uint8_t *arena_take(struct args_build *b, size_t n) {
  assert(n <= b->arena_cap - b->arena_len);
  uint8_t *p = b->arena + b->arena_len;
  b->arena_len += n;
  return p;
}

/* ---- one value ------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s);
  size_t m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "@FILE": the keystore's identity id (ID) or one of its public keys. */
static int from_keystore(struct args_build *b, const struct codec_field *f, const char *path,
                         struct hash32 *out) {
  struct pubkey sign_pk;
  struct boxkey box_pk;
  if (cry_keystore_read_public(path, &sign_pk, &box_pk) != OK) {
    return fail(b, "%s: cannot read the keystore", f->name);
  }
  if (f->type == CODEC_ID) {
    cry_id_from_pk(out, &sign_pk);
  } else if (ends_with(f->name, "box") || ends_with(f->name, "box_pk")) {
    memcpy(out->b, box_pk.b, sizeof(out->b));
  } else {
    memcpy(out->b, sign_pk.b, sizeof(out->b));
  }
  return OK;
}

static int cmp_id(const void *a, const void *b) {
  return memcmp(a, b, 32);
}

/* Sorts list items by their leading 32-byte id; duplicates are errors. */
static int list_sort(struct args_build *b, const struct codec_field *f, uint8_t *items,
                     uint32_t count, size_t item_bytes) {
  qsort(items, count, item_bytes, cmp_id);
  for (uint32_t i = 1; i < count; i++) {
    if (memcmp(items + (size_t)(i - 1) * item_bytes, items + (size_t)i * item_bytes, 32) == 0) {
      return fail(b, "%s: the same id appears twice", f->name);
    }
  }
  return OK;
}

/* Comma-separated items: hex ids (IDS), or reader:sealed (KEYS). */
static int parse_list(struct args_build *b, const struct codec_field *f, const char *text,
                      struct codec_value *v) {
  size_t item_bytes = f->type == CODEC_IDS ? 32 : CODEC_KEY_ITEM_BYTES;
  uint8_t *items = b->arena + b->arena_len;
  uint32_t count = 0;
  const char *p = text;
  while (*p != '\0') {
    size_t n = strcspn(p, ",");
    char item[2 * CODEC_KEY_ITEM_BYTES + 2];
    if (count >= f->max || n >= sizeof(item)) {
      return fail(b, "%s: too many or too long items (at most %u)", f->name, (unsigned)f->max);
    }
    memcpy(item, p, n);
    item[n] = '\0';
    char *colon = strchr(item, ':');
    bool keys = f->type == CODEC_KEYS;
    if (keys != (colon != NULL)) {
      return fail(b, "%s: items must be %s", f->name, keys ? "reader:sealedhex" : "hex ids");
    }
    if (colon != NULL) {
      *colon = '\0';
    }
    /* Decoded first: only an item of full length reaches the arena. */
    uint8_t tmp[CODEC_KEY_ITEM_BYTES];
    if (base_hex_decode(tmp, 32, item) != OK ||
        (keys && base_hex_decode(tmp + 32, LIM_SEALED_KEY_BYTES, colon + 1) != OK)) {
      return fail(b, "%s: item %u is not valid hex of the right length", f->name,
                  (unsigned)count + 1);
    }
    memcpy(arena_take(b, item_bytes), tmp, item_bytes);
    count++;
    p += n;
    p += *p == ',' ? 1 : 0;
  }
  v->count = count;
  v->bytes = (struct bytes){items, (size_t)count * item_bytes};
  return list_sort(b, f, items, count, item_bytes);
}

static int parse_value(struct args_build *b, const struct codec_field *f, const char *text,
                       struct codec_value *v) {
  size_t len = strlen(text);
  switch (f->type) {
  case CODEC_U64:
    return base_parse_u64(&v->u64, text) == OK ? OK : fail(b, "%s: not a number", f->name);
  case CODEC_BOOL:
    if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0) {
      return fail(b, "%s: must be true or false", f->name);
    }
    v->u64 = text[0] == 't';
    return OK;
  case CODEC_ID:
  case CODEC_PUBKEY:
    if (text[0] == '@') {
      return from_keystore(b, f, text + 1, &v->id);
    }
    return base_hex_decode(v->id.b, 32, text) == OK ? OK
                                                    : fail(b, "%s: must be 64 hex digits", f->name);
  case CODEC_STR:
    if (len > f->max) {
      return fail(b, "%s: longer than %u bytes", f->name, (unsigned)f->max);
    }
    for (size_t i = 0; i < len; i++) {
      if (text[i] < 0x20 || text[i] > 0x7e) {
        return fail(b, "%s: only printable ASCII is allowed", f->name);
      }
    }
    v->bytes = (struct bytes){(const uint8_t *)text, len};
    return OK;
  case CODEC_BYTES: {
    uint8_t *dst = b->arena + b->arena_len;
    size_t n = 0;
    if (len / 2 > f->max || base_hex_decode_var(dst, len / 2, &n, text) != OK) {
      return fail(b, "%s: must be hex of at most %u bytes", f->name, (unsigned)f->max);
    }
    v->bytes = (struct bytes){arena_take(b, n), n};
    return OK;
  }
  case CODEC_IDS:
  case CODEC_KEYS:
    return parse_list(b, f, text, v);
  }
  assert(!"field type outside enum codec_type");
  return ERR_INTERNAL;
}

/* ---- the record ------------------------------------------------------------------ */

static int parse_arg(struct args_build *b, const char *arg) {
  const char *eq = strchr(arg, '=');
  char name[LIM_NAME_MAX + 1];
  size_t n = eq == NULL ? 0 : (size_t)(eq - arg);
  if (eq == NULL || n == 0 || n > LIM_NAME_MAX) {
    return fail(b, "arguments are name=value");
  }
  memcpy(name, arg, n);
  name[n] = '\0';
  int i = codec_schema_find(b->schema, name);
  if (i < 0) {
    return fail(b, "unknown argument '%s' for %s", name, b->schema->name);
  }
  if (b->seen[i]) {
    return fail(b, "argument '%s' given twice", name);
  }
  b->seen[i] = true;
  return parse_value(b, &b->schema->fields[i], eq + 1, &b->vals[i]);
}

static void build_defaults(struct args_build *b) {
  memset(b->vals, 0, sizeof(b->vals));
  for (size_t i = 0; i < b->schema->nfields; i++) {
    b->vals[i].type = b->schema->fields[i].type;
  }
}

int api_args_from_strings(const struct codec_schema *schema, int argc, char *const *argv,
                          uint8_t *out, size_t cap, size_t *out_len, char *err, size_t errlen) {
  assert(schema != NULL && schema->nfields <= LIM_FIELDS_MAX && out_len != NULL);
  assert(argc >= 0 && (argv != NULL || argc == 0));
  if (err != NULL && errlen > 0) {
    err[0] = '\0';
  }
  struct args_build b = {.schema = schema, .err = err, .errlen = errlen};
  build_defaults(&b);
  size_t text = 1;
  for (int i = 0; i < argc; i++) {
    text += strlen(argv[i]);
  }
  b.arena = malloc(text);
  if (b.arena == NULL) {
    return ERR_NOMEM;
  }
  b.arena_cap = text;
  int rc = OK;
  for (int i = 0; i < argc && rc == OK; i++) {
    rc = parse_arg(&b, argv[i]);
  }
  if (rc == OK) {
    rc = codec_record_encode(schema, b.vals, out, cap, out_len);
    if (rc != OK) {
      rc = fail(&b, "arguments do not encode: %s", err_str(rc));
    }
  }
  free(b.arena);
  return rc;
}

/* ---- JSON text ------------------------------------------------------------------- */

char *api_record_json(const struct codec_schema *schema, struct bytes val) {
  json_t *o = api_record_to_json(schema, val);
  if (o == NULL) {
    return NULL;
  }
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

/* The member named by one path segment: an object key, or an array index. */
static json_t *path_step(json_t *v, const char *seg) {
  if (json_is_object(v)) {
    return json_object_get(v, seg);
  }
  uint64_t i = 0;
  if (json_is_array(v) && base_parse_u64(&i, seg) == OK && i < json_array_size(v)) {
    return json_array_get(v, (size_t)i);
  }
  return NULL;
}

static int scalar_text(const json_t *v, char *out, size_t cap) {
  int n = -1;
  if (json_is_string(v)) {
    size_t len = json_string_length(v);
    if (len >= cap) {
      return ERR_OVERSIZE;
    }
    memcpy(out, json_string_value(v), len);
    out[len] = '\0';
    return OK;
  }
  if (json_is_integer(v)) {
    n = snprintf(out, cap, "%lld", (long long)json_integer_value(v));
  } else if (json_is_real(v)) {
    n = snprintf(out, cap, "%.17g", json_real_value(v));
  } else if (json_is_boolean(v) || json_is_null(v)) {
    n = snprintf(out, cap, "%s", json_is_null(v) ? "null" : json_is_true(v) ? "true" : "false");
  } else {
    return ERR_NOT_FOUND; /* an object or an array is not a value to copy */
  }
  return n >= 0 && (size_t)n < cap ? OK : ERR_OVERSIZE;
}

int api_json_lookup(const char *json, const char *path, char *out, size_t cap) {
  assert(json != NULL && path != NULL && out != NULL && cap > 0);
  out[0] = '\0';
  json_error_t jerr;
  json_t *root = json_loads(json, JSON_DECODE_ANY, &jerr);
  if (root == NULL) {
    return ERR_INVALID_JSON;
  }
  char *segs = strdup(path);
  json_t *v = root;
  int rc = segs == NULL ? ERR_NOMEM : OK;
  char *seg = segs;
  while (rc == OK && seg != NULL && v != NULL) {
    char *dot = strchr(seg, '.');
    if (dot != NULL) {
      *dot = '\0';
    }
    v = path_step(v, seg);
    seg = dot == NULL ? NULL : dot + 1;
  }
  if (rc == OK) {
    rc = v == NULL ? ERR_NOT_FOUND : scalar_text(v, out, cap);
  }
  if (rc != OK) {
    out[0] = '\0';
  }
  free(segs);
  json_decref(root);
  return rc;
}

char *api_json_pretty(const char *json) {
  if (json == NULL) {
    return NULL;
  }
  json_error_t jerr;
  json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
  if (v == NULL) {
    return NULL;
  }
  char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
  json_decref(v);
  return text;
}
