/*
 * libFuzzer target: the node's messages between validators (src/node/
 * wire.c). The first byte picks the message type, the rest is the payload.
 * Whatever a parser accepts must encode back to the same bytes; the TXS
 * iterator must stay inside the buffer and account for every byte.
 */
#include "node/node_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_proposal(const uint8_t *buf, size_t len) {
  struct node_proposal_msg m;
  if (node_msg_proposal_parse(buf, len, &m) != OK) {
    return;
  }
  if (m.block < buf || m.block + m.block_len > buf + len ||
      (m.commit != NULL && m.commit + m.commit_len != buf + len)) {
    abort();
  }
  size_t n = node_msg_proposal_size(m.block_len, m.commit_len);
  uint8_t *out = malloc(n);
  if (out == NULL) {
    abort();
  }
  node_msg_proposal_encode(&m.p, m.block, m.block_len, m.commit, m.commit_len, out);
  if (n != len || memcmp(out, buf, len) != 0) {
    abort();
  }
  free(out);
}

static void check_txs(const uint8_t *buf, size_t len) {
  struct node_txs_iter it = {0};
  struct bytes tx;
  size_t seen = 0;
  int rc;
  while ((rc = node_msg_txs_next(buf, len, &it, &tx)) == OK) {
    if (tx.ptr < buf || tx.ptr + tx.len > buf + len || tx.len == 0) {
      abort();
    }
    seen += 4 + tx.len;
  }
  if (rc == ERR_NOT_FOUND && seen + 4 != len) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const uint8_t *buf = data + 1;
  size_t len = size - 1;
  switch (data[0] % 4) {
  case 0:
    check_proposal(buf, len);
    break;
  case 1: {
    uint64_t h;
    uint32_t r;
    bool d;
    if (node_msg_status_parse(buf, len, &h, &r, &d) == OK) {
      uint8_t out[NODE_MSG_STATUS_BYTES];
      node_msg_status_encode(h, r, d, out);
      if (memcmp(out, buf, len) != 0) {
        abort();
      }
    }
    break;
  }
  case 2: {
    uint64_t from;
    uint16_t count;
    if (node_msg_sync_req_parse(buf, len, &from, &count) == OK) {
      uint8_t out[NODE_MSG_SYNC_REQ_BYTES];
      node_msg_sync_req_encode(from, count, out);
      if (memcmp(out, buf, len) != 0) {
        abort();
      }
    }
    break;
  }
  default:
    check_txs(buf, len);
    break;
  }
  return 0;
}
