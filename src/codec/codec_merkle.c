/*
 * codec Merkle root: RFC 6962's Merkle tree hash (section 2.1) with
 * medchain's tagged hashes, computed in one left-to-right pass without
 * recursion or allocation.
 *
 * RFC 6962 splits n > 1 leaves at k, the largest power of two below n, so
 * the tree of n = 2^a + 2^b + ... (a > b > ...) is a perfect tree over the
 * first 2^a leaves joined with the tree of the rest: root =
 * node(P_a, node(P_b, node(P_c, ...))). The pass keeps a stack of perfect
 * subtree roots of strictly decreasing height, merging the top two while
 * their heights match (binary addition of one leaf), so after the last leaf
 * the stack holds exactly P_a, P_b, ... and a right-to-left fold gives the
 * root. Heights are distinct and each subtree holds 2^height leaves, so the
 * stack never exceeds the bit width of size_t.
 */
#include "codec/codec_internal.h"

#include <assert.h>
#include <string.h>

#define LEAF_TAG "medchain.leaf.v1"
#define NODE_TAG "medchain.node.v1"
#define STACK_MAX (sizeof(size_t) * 8)

/* out may alias left or right. */
static void merkle_node(struct hash32 *out, const struct hash32 *left, const struct hash32 *right) {
  uint8_t buf[64];
  memcpy(buf, left->b, 32);
  memcpy(buf + 32, right->b, 32);
  cry_hash_tagged(out, NODE_TAG, buf, sizeof(buf));
}

void codec_merkle_root(struct hash32 *out, const struct hash32 *leaves, size_t n) {
  assert(out != NULL);
  assert(leaves != NULL || n == 0);
  if (n == 0) {
    memset(out->b, 0, sizeof(out->b));
    return;
  }
  struct hash32 stack[STACK_MAX];
  unsigned height[STACK_MAX] = {0};
  size_t depth = 0;
  for (size_t i = 0; i < n; i++) {
    struct hash32 h;
    cry_hash_tagged(&h, LEAF_TAG, leaves[i].b, sizeof(leaves[i].b));
    unsigned hgt = 0;
    while (depth > 0 && height[depth - 1] == hgt) {
      merkle_node(&h, &stack[depth - 1], &h);
      depth--;
      hgt++;
    }
    assert(depth < STACK_MAX);
    assert(depth == 0 || height[depth - 1] > hgt);
    stack[depth] = h;
    height[depth] = hgt;
    depth++;
  }
  struct hash32 acc = stack[depth - 1];
  for (size_t k = depth - 1; k > 0; k--) {
    merkle_node(&acc, &stack[k - 1], &acc);
  }
  *out = acc;
}
