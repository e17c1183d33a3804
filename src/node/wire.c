/*
 * wire — the node's messages between validators (docs/protocol.md,
 * "Messages between validators"): pure parsers and encoders, so the
 * engine never reads a peer's bytes without a length check and the fuzzer
 * (tests/fuzz/fuzz_node_msg.c) can reach every one of them.
 */
#include "node/node_internal.h"

#include <assert.h>
#include <string.h>

int node_msg_proposal_parse(const uint8_t *buf, size_t len, struct node_proposal_msg *out) {
  assert(out != NULL && (buf != NULL || len == 0));
  memset(out, 0, sizeof *out);
  if (len < CONS_PROPOSAL_BYTES + 8 ||
      cons_proposal_decode(&out->p, buf, CONS_PROPOSAL_BYTES) != OK) {
    return ERR_MALFORMED;
  }
  size_t o = CONS_PROPOSAL_BYTES;
  uint32_t blen = base_get_u32be(buf + o);
  o += 4;
  if (blen == 0 || blen > len - o - 4 || blen > LIM_BLOCK_BYTES_MAX) {
    return ERR_MALFORMED;
  }
  out->block = buf + o;
  out->block_len = blen;
  o += blen;
  uint32_t clen = base_get_u32be(buf + o);
  o += 4;
  if (clen != len - o) {
    return ERR_MALFORMED;
  }
  out->commit = clen > 0 ? buf + o : NULL;
  out->commit_len = clen;
  return OK;
}

size_t node_msg_proposal_size(size_t block_len, size_t commit_len) {
  return CONS_PROPOSAL_BYTES + 4 + block_len + 4 + commit_len;
}

void node_msg_proposal_encode(const struct cons_proposal *p, const uint8_t *block, size_t block_len,
                              const uint8_t *commit, size_t commit_len, uint8_t *out) {
  assert(block_len <= UINT32_MAX && commit_len <= UINT32_MAX);
  cons_proposal_encode(p, out);
  size_t o = CONS_PROPOSAL_BYTES;
  base_put_u32be(out + o, (uint32_t)block_len);
  o += 4;
  memcpy(out + o, block, block_len);
  o += block_len;
  base_put_u32be(out + o, (uint32_t)commit_len);
  o += 4;
  if (commit_len > 0) {
    memcpy(out + o, commit, commit_len);
  }
}

int node_msg_status_parse(const uint8_t *buf, size_t len, uint64_t *height, uint32_t *round,
                          bool *deciding) {
  if (len != NODE_MSG_STATUS_BYTES || buf[12] > 1) {
    return ERR_MALFORMED;
  }
  *height = base_get_u64be(buf);
  *round = base_get_u32be(buf + 8);
  *deciding = buf[12] == 1;
  return OK;
}

void node_msg_status_encode(uint64_t height, uint32_t round, bool deciding,
                            uint8_t out[NODE_MSG_STATUS_BYTES]) {
  base_put_u64be(out, height);
  base_put_u32be(out + 8, round);
  out[12] = deciding ? 1 : 0;
}

int node_msg_sync_req_parse(const uint8_t *buf, size_t len, uint64_t *from, uint16_t *count) {
  if (len != NODE_MSG_SYNC_REQ_BYTES) {
    return ERR_MALFORMED;
  }
  *from = base_get_u64be(buf);
  *count = (uint16_t)((buf[8] << 8) | buf[9]);
  if (*from == 0 || *count == 0) {
    return ERR_MALFORMED;
  }
  return OK;
}

void node_msg_sync_req_encode(uint64_t from, uint16_t count, uint8_t out[NODE_MSG_SYNC_REQ_BYTES]) {
  base_put_u64be(out, from);
  out[8] = (uint8_t)(count >> 8);
  out[9] = (uint8_t)count;
}

int node_msg_txs_next(const uint8_t *buf, size_t len, struct node_txs_iter *it, struct bytes *tx) {
  assert(it != NULL && tx != NULL);
  if (it->off == 0) {
    if (len < 4) {
      return ERR_MALFORMED;
    }
    it->left = base_get_u32be(buf);
    it->off = 4;
  }
  if (it->left == 0) {
    return it->off == len ? ERR_NOT_FOUND : ERR_MALFORMED; /* done, or trailing bytes */
  }
  if (len - it->off < 4) {
    return ERR_MALFORMED;
  }
  uint32_t n = base_get_u32be(buf + it->off);
  if (n == 0 || n > LIM_TX_BYTES_MAX || n > len - it->off - 4) {
    return ERR_MALFORMED;
  }
  *tx = (struct bytes){buf + it->off + 4, n};
  it->off += 4 + (size_t)n;
  it->left--;
  return OK;
}
