/*
 * routes_txs — submitting transactions and asking after them.
 *
 * POST /v1/txs takes one encoded signed transaction, as hex in a JSON
 * object {"tx": "..."} or as raw bytes with Content-Type
 * application/octet-stream. The node checks it completely (signature,
 * sender, nonce, and a dry run of the call) before it is pending, so an
 * error here is the transaction's own error. With ?wait=commit the request
 * thread blocks in node_tx_wait (libmicrohttpd gives every connection its
 * own thread); a transaction that commits with an error answers with that
 * error's status, so scripts see failure without reading the body twice.
 */
#include "api/api_internal.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

#define WAIT_DEFAULT_MS 10000
#define WAIT_MAX_MS 60000

static bool is_octet_stream(const char *content_type) {
  static const char octet[] = "application/octet-stream";
  if (content_type == NULL || strncasecmp(content_type, octet, sizeof(octet) - 1) != 0) {
    return false;
  }
  char next = content_type[sizeof(octet) - 1];
  return next == '\0' || next == ';' || next == ' ';
}

/* The transaction bytes of the request: the body itself, or decoded from
 * the JSON body's "tx" into buf. */
static int tx_bytes(const struct api_request *req, uint8_t *buf, size_t cap, struct bytes *out) {
  if (is_octet_stream(req->content_type)) {
    if (req->body_len == 0) {
      return ERR_BAD_REQUEST;
    }
    *out = (struct bytes){req->body, req->body_len};
    return OK;
  }
  json_t *body = NULL;
  int rc = api_json_parse_body(&body, req->body, req->body_len);
  if (rc != OK) {
    return rc;
  }
  const char *hex = json_string_value(json_object_get(body, "tx"));
  size_t len = 0;
  rc = hex == NULL ? ERR_BAD_REQUEST : base_hex_decode_var(buf, cap, &len, hex);
  json_decref(body);
  if (rc == ERR_MALFORMED || (rc == OK && len == 0)) {
    return ERR_BAD_REQUEST;
  }
  if (rc == OK) {
    *out = (struct bytes){buf, len};
  }
  return rc;
}

/* ?wait=commit and ?timeout_ms (only meaningful with wait). */
static int wait_params(const struct api_ctx *c, bool *wait, uint32_t *timeout_ms) {
  const char *w = api_query_get(c, "wait");
  *wait = false;
  if (w != NULL) {
    if (strcmp(w, "commit") != 0) {
      return ERR_BAD_REQUEST;
    }
    *wait = true;
  }
  uint64_t t = WAIT_DEFAULT_MS;
  bool present = false;
  if (api_query_u64(c, "timeout_ms", &t, &present) != OK || t == 0 || t > WAIT_MAX_MS) {
    return ERR_BAD_REQUEST;
  }
  *timeout_ms = (uint32_t)t;
  return OK;
}

static json_t *committed_json(const struct hash32 *h, const struct node_tx_status *st) {
  return json_pack("{s:o, s:s, s:o, s:I, s:s}", "hash", api_json_hex(h->b, 32), "status",
                   "committed", "height", api_json_u64(st->loc.height), "index",
                   (json_int_t)st->loc.index, "result", api_result_name(st->loc.code));
}

/* The answer after node_tx_wait returned rc with st. */
int api_tx_wait_answer(struct api_ctx *c, const struct hash32 *h, int rc,
                       const struct node_tx_status *st) {
  if (rc == OK && st->state == NODE_TX_COMMITTED) {
    c->json = committed_json(h, st);
    if (c->json == NULL) {
      return ERR_NOMEM;
    }
    /* Committed with an error: that error's status, the location too. */
    return st->loc.code;
  }
  /* Still pending (timed out, or the node is stopping), or dropped from
   * the mempool without committing: rc is then the reason, if known. */
  const char *status = "dropped";
  if (rc == ERR_TIMEOUT || rc == ERR_UNAVAILABLE || (rc == OK && st->state == NODE_TX_PENDING)) {
    status = "pending";
    rc = rc == OK ? ERR_TIMEOUT : rc;
  } else if (rc == OK) {
    rc = ERR_NOT_FOUND;
  }
  c->json = json_pack("{s:o, s:s}", "hash", api_json_hex(h->b, 32), "status", status);
  return rc;
}

int api_h_tx_submit(struct api_ctx *c) {
  bool wait = false;
  uint32_t timeout_ms = 0;
  int rc = wait_params(c, &wait, &timeout_ms);
  if (rc != OK) {
    return rc;
  }
  uint8_t buf[LIM_TX_BYTES_MAX];
  struct bytes tx = {NULL, 0};
  rc = tx_bytes(c->req, buf, sizeof(buf), &tx);
  if (rc != OK) {
    return rc;
  }
  if (c->node == NULL) {
    return ERR_UNAVAILABLE;
  }
  struct hash32 h;
  rc = node_tx_submit(c->node, tx.ptr, tx.len, &h);
  if (rc != OK) {
    return rc;
  }
  if (!wait) {
    c->status = 202;
    c->json = json_pack("{s:o, s:s}", "hash", api_json_hex(h.b, 32), "status", "pending");
    return c->json == NULL ? ERR_NOMEM : OK;
  }
  struct node_tx_status st = {0};
  rc = node_tx_wait(c->node, &h, timeout_ms, &st);
  return api_tx_wait_answer(c, &h, rc, &st);
}

int api_h_tx_get(struct api_ctx *c) {
  struct hash32 h;
  if (api_param_id(c, &h) != OK) {
    return ERR_BAD_REQUEST;
  }
  if (c->node == NULL) {
    return ERR_UNAVAILABLE;
  }
  struct node_tx_status st = {0};
  int rc = node_tx_status(c->node, &h, &st);
  if (rc != OK) {
    return rc;
  }
  if (st.state == NODE_TX_COMMITTED) {
    c->json = committed_json(&h, &st);
  } else if (st.state == NODE_TX_PENDING) {
    c->json = json_pack("{s:o, s:s, s:n, s:n, s:n}", "hash", api_json_hex(h.b, 32), "status",
                        "pending", "height", "index", "result");
  } else {
    return ERR_NOT_FOUND;
  }
  return c->json == NULL ? ERR_NOMEM : OK;
}
