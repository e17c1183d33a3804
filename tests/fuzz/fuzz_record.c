/*
 * libFuzzer target: the schema-driven record decoder. The first input byte
 * picks one of a few schemas that together cover every field type, small
 * and large limits and the empty schema; the rest is the record. Every
 * record the decoder accepts must encode back to exactly the same bytes.
 */
#include "codec/codec.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct codec_field all_fields[] = {
    {"count", CODEC_U64, 0},
    {"active", CODEC_BOOL, 0},
    {"record_id", CODEC_ID, 0},
    {"category", CODEC_STR, LIM_STR_MAX},
    {"payload", CODEC_BYTES, LIM_BYTES_MAX},
    {"readers", CODEC_IDS, LIM_IDS_MAX},
    {"keys", CODEC_KEYS, LIM_KEYS_MAX},
    {"box_pk", CODEC_PUBKEY, 0},
};
/* Tight limits, so the fuzzer reaches the OVERSIZE edges quickly. */
static const struct codec_field list_fields[] = {
    {"ids", CODEC_IDS, 2},
    {"keys", CODEC_KEYS, 1},
    {"flag", CODEC_BOOL, 0},
};
static const struct codec_field text_fields[] = {
    {"none", CODEC_STR, 0},
    {"short", CODEC_STR, 8},
    {"blob", CODEC_BYTES, 3},
    {"n", CODEC_U64, 0},
};
static const struct codec_field key_fields[] = {
    {"pk", CODEC_PUBKEY, 0},
    {"id", CODEC_ID, 0},
};

static const struct codec_schema schemas[] = {
    {"all", ARRAY_LEN(all_fields), all_fields},
    {"lists", ARRAY_LEN(list_fields), list_fields},
    {"text", ARRAY_LEN(text_fields), text_fields},
    {"keys", ARRAY_LEN(key_fields), key_fields},
    {"empty", 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const struct codec_schema *s = &schemas[data[0] % ARRAY_LEN(schemas)];
  const uint8_t *rec = data + 1;
  size_t len = size - 1;
  struct codec_value vals[LIM_FIELDS_MAX];
  if (codec_record_decode(s, vals, rec, len) != OK) {
    return 0;
  }
  uint8_t *out = malloc(len + 1);
  if (out == NULL) {
    abort();
  }
  size_t out_len = 0;
  if (codec_record_encode(s, vals, out, len, &out_len) != OK || out_len != len ||
      memcmp(out, rec, len) != 0) {
    abort();
  }
  for (uint8_t i = 0; i < s->nfields; i++) {
    if (codec_schema_find(s, s->fields[i].name) != i) {
      abort();
    }
  }
  free(out);
  return 0;
}
