/*
 * openapi — GET /v1/openapi.json: the OpenAPI 3.0.3 description of this
 * API.
 *
 * The document is docs/openapi.json, a file reviewed like code; CMake
 * embeds its bytes at build time as api_openapi_doc (openapi_doc.h in the
 * build tree), so the binary serves exactly the reviewed text and needs no
 * file at run time. It is parsed with jansson on every request before it is
 * served: a document that is not JSON (or repeats a key) answers 500
 * INTERNAL rather than go out broken, and tests/integration/test_openapi.py
 * fails. Parsing ~40 KiB per request costs well under a millisecond, and
 * keeps this handler free of shared state. That test also walks every
 * documented operation against a live node, which is what keeps the
 * document true.
 */
#include "api/api_internal.h"

#include "openapi_doc.h" /* generated: api_openapi_doc, api_openapi_doc_len */

int api_h_openapi(struct api_ctx *c) {
  json_error_t jerr;
  json_t *doc =
      json_loadb((const char *)api_openapi_doc, api_openapi_doc_len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL) {
    base_log(BASE_LOG_ERROR, "api", "embedded openapi.json: line %d: %s", jerr.line, jerr.text);
    return ERR_INTERNAL;
  }
  c->json = doc;
  return OK;
}
