/*
 * libFuzzer target: state_proof_verify on arbitrary proofs, roots, keys and
 * values. It must never crash, whatever the depth (up to 65535) or flags.
 *
 * Input: flags (bit 0 other_leaf, bit 1 claim a value, bit 2 use the root
 * the proof itself folds to instead of the root bytes), u16 BE depth, root,
 * other key hash, other value hash, u8 key length + key, u16 BE value
 * length + value, then the siblings, 32 bytes each (missing ones are zero).
 *
 * With bit 2 the verifier sees a root consistent with the proof, so its
 * accepting paths are reached too; then the verdicts must be coherent: one
 * proof cannot show both a value and absence, nor two different values.
 */
#include "crypto/crypto.h"
#include "state/state.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
  struct state_proof proof;
  struct hash32 root;
  bool claim_value;
  bool fold_root;
  struct bytes key;
  struct bytes value;
};

static bool take(const uint8_t **p, size_t *left, size_t n, const uint8_t **out) {
  if (*left < n) {
    return false;
  }
  *out = *p;
  *p += n;
  *left -= n;
  return true;
}

static bool parse(struct input *in, const uint8_t *data, size_t size) {
  memset(in, 0, sizeof(*in));
  const uint8_t *f = NULL;
  if (!take(&data, &size, 1 + 2 + 3 * 32 + 1, &f)) {
    return false;
  }
  in->proof.other_leaf = (f[0] & 1) != 0;
  in->claim_value = (f[0] & 2) != 0;
  in->fold_root = (f[0] & 4) != 0;
  in->proof.depth = (uint16_t)(f[1] << 8 | f[2]);
  memcpy(in->root.b, f + 3, 32);
  memcpy(in->proof.other_key_hash.b, f + 35, 32);
  memcpy(in->proof.other_value_hash.b, f + 67, 32);
  size_t key_len = f[99];
  const uint8_t *k = NULL;
  const uint8_t *vl = NULL;
  const uint8_t *v = NULL;
  if (!take(&data, &size, key_len, &k) || !take(&data, &size, 2, &vl)) {
    return false;
  }
  size_t value_len = (size_t)(vl[0] << 8 | vl[1]);
  if (!take(&data, &size, value_len, &v)) {
    return false;
  }
  in->key = (struct bytes){k, key_len};
  in->value = (struct bytes){v, value_len};
  for (size_t i = 0; i < STATE_PROOF_DEPTH_MAX && size >= 32; i++) {
    memcpy(in->proof.siblings[i].b, data, 32);
    data += 32;
    size -= 32;
  }
  return true;
}

static void hash_pair(struct hash32 *out, const char *tag, const struct hash32 *a,
                      const struct hash32 *b) {
  uint8_t buf[64];
  memcpy(buf, a->b, 32);
  memcpy(buf + 32, b->b, 32);
  cry_hash_tagged(out, tag, buf, sizeof(buf));
}

/* The root the proof's path folds to for this claim (state.h's hashing),
 * ignoring the shape rules the verifier adds. */
static void fold_root(struct input *in) {
  struct hash32 k;
  cry_hash_tagged(&k, "medchain.smt.key.v1", in->key.ptr, in->key.len);
  struct hash32 h;
  memset(&h, 0, sizeof(h));
  if (in->claim_value) {
    struct hash32 vh;
    cry_hash_tagged(&vh, "medchain.smt.value.v1", in->value.ptr, in->value.len);
    hash_pair(&h, "medchain.smt.leaf.v1", &k, &vh);
  } else if (in->proof.other_leaf) {
    hash_pair(&h, "medchain.smt.leaf.v1", &in->proof.other_key_hash, &in->proof.other_value_hash);
  }
  unsigned depth = in->proof.depth % (STATE_PROOF_DEPTH_MAX + 1);
  for (unsigned i = depth; i > 0; i--) {
    struct hash32 up;
    if ((k.b[(i - 1) / 8] >> (7 - (i - 1) % 8)) & 1) {
      hash_pair(&up, "medchain.smt.node.v1", &in->proof.siblings[i - 1], &h);
    } else {
      hash_pair(&up, "medchain.smt.node.v1", &h, &in->proof.siblings[i - 1]);
    }
    h = up;
  }
  in->root = h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct input in; /* 8 KiB of siblings: not on the stack */
  if (!parse(&in, data, size)) {
    return 0;
  }
  if (in.fold_root) {
    fold_root(&in);
  }
  const struct bytes *claim = in.claim_value ? &in.value : NULL;
  int verdict = state_proof_verify(&in.proof, &in.root, in.key, claim);
  if (verdict != OK && verdict != ERR_PROOF_INVALID) {
    abort();
  }
  if (verdict != OK) {
    return 0;
  }
  /* Accepted: the opposite claim, and any other value, must be refused. */
  struct bytes other = in.value;
  other.len = in.value.len > 0 ? in.value.len - 1 : 0;
  if (claim != NULL && state_proof_verify(&in.proof, &in.root, in.key, NULL) == OK) {
    abort();
  }
  if (claim == NULL && state_proof_verify(&in.proof, &in.root, in.key, &in.value) == OK) {
    abort();
  }
  if (claim != NULL && in.value.len > 0 &&
      state_proof_verify(&in.proof, &in.root, in.key, &other) == OK) {
    abort();
  }
  return 0;
}
