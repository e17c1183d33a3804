/*
 * smt — the compact sparse Merkle tree over the state (state.h has the
 * hashing; docs/protocol.md the full definition).
 *
 * Storage (STORE_SMT, private to this file):
 *   node key   = u16 big-endian depth | 32-byte path (bits >= depth zero).
 *                The depth needs 9 bits: two keys whose hashes share 255
 *                bits put their leaves at depth 256.
 *   node value = 1 | left hash | right hash   (inner: >= 2 leaves below)
 *              | 2 | key hash  | value hash   (leaf: alone in its subtree)
 *   "root"     = the root hash (32 bytes); absent for the empty tree, which
 *                stores nothing.
 * The tree has a node at (d, p) exactly when the subtree at (d, p) is not
 * empty and either d == 0 or its parent subtree holds two leaves or more.
 * So every subtree with >= 2 leaves is an inner node and every leaf sits at
 * the shallowest depth where it is alone. Every leaf is stored, but an
 * inner node only when d is a multiple of SMT_BAND (3): the others are
 * rebuilt on reading from their children, at most SMT_BAND - 1 levels of
 * gets below (smt_node_fetch). This is for the disk, not the CPU: the
 * table's keys are depth-major, so below the top few levels every changed
 * key dirties one LMDB page per stored level, and a block's commit time
 * is mostly the fsync of those scattered pages. Storing a third of the
 * inner levels cut the pages written per block by ~40% (bench: ~700 to
 * ~400 per block of ~33 consent.grant) for ~3x the gets on the paths
 * read. The stored tree (not only its root) is still a function of the set
 * of entries, never of their history, and each entry is still a tree node
 * under the key and value encoding above.
 *
 * Update is one sorted batch: the changed key hashes are sorted, and one
 * descent splits the batch at each inner node by the next path bit, so
 * upper nodes shared by many changes are read, rehashed and written once.
 * A node's result is a summary (empty, one leaf, or inner) from which its
 * parent decides what is stored: a parent that is inner stores both
 * children (an unchanged child is not rewritten, and an inner child at a
 * depth that is not stored only deletes a leaf it replaced); one that
 * collapsed to a single leaf or to nothing deletes them and lets the
 * surviving leaf move up. Below an existing leaf or an empty subtree
 * nothing is stored, which the "flat" case relies on.
 *
 * Recursion: the update, the recompute and the rebuilding of an inner node
 * that is not stored (at most SMT_BAND - 1 levels) recurse, over path
 * depth only, which is bounded by 256 (distinct key hashes differ within
 * 256 bits; a stored inner node at depth 256 is reported as corruption).
 * Paths come from BLAKE2b outputs, so the real depth is ~log2(entries)
 * plus a few; the worst case is 257 levels of two frames under 1 KiB each.
 */
#include "state/state_internal.h"

#include "crypto/crypto.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define SMT_DEPTH_MAX 256
#define SMT_NODE_KEY_BYTES 34
#define SMT_NODE_VAL_BYTES 65
#define SMT_TAG_INNER 1
#define SMT_TAG_LEAF 2
/* Inner nodes are stored at depths that are multiples of this (leaves at
 * any depth); see the top of the file. */
#define SMT_BAND 3

static const uint8_t smt_root_key[4] = {'r', 'o', 'o', 't'};
static const struct hash32 smt_zero;

enum smt_kind { SMT_EMPTY = 0, SMT_LEAF, SMT_INNER, SMT_OPAQUE };

/* A subtree as its parent sees it. h is valid for every kind; a and b are
 * the key and value hashes of a leaf, the children of an inner node, and
 * unknown for an opaque (untouched, not yet read) subtree. */
struct smt_sum {
  enum smt_kind kind;
  struct hash32 h;
  struct hash32 a;
  struct hash32 b;
};

struct smt_ctx {
  struct store_txn *t;
  const struct state_smt_op *ops;
};

void state_smt_key_hash(struct hash32 *k, const uint8_t *key, size_t len) {
  cry_hash_tagged(k, STATE_SMT_TAG_KEY, key, len);
}

void state_smt_value_hash(struct hash32 *vh, const uint8_t *val, size_t len) {
  cry_hash_tagged(vh, STATE_SMT_TAG_VALUE, val, len);
}

int state_smt_op_cmp(const void *a, const void *b) {
  const struct state_smt_op *x = a;
  const struct state_smt_op *y = b;
  return memcmp(x->k.b, y->k.b, sizeof(x->k.b));
}

static void smt_hash_pair(struct hash32 *out, const char *tag, const struct hash32 *a,
                          const struct hash32 *b) {
  uint8_t buf[64];
  memcpy(buf, a->b, 32);
  memcpy(buf + 32, b->b, 32);
  cry_hash_tagged(out, tag, buf, sizeof(buf));
}

static unsigned smt_bit(const struct hash32 *k, unsigned i) {
  assert(i < SMT_DEPTH_MAX);
  return (k->b[i >> 3] >> (7 - (i & 7))) & 1u;
}

/* The first depth bits of k, the rest zero. */
static void smt_path(struct hash32 *out, const struct hash32 *k, unsigned depth) {
  assert(depth <= SMT_DEPTH_MAX);
  memset(out->b, 0, sizeof(out->b));
  unsigned full = depth / 8;
  memcpy(out->b, k->b, full);
  if (depth % 8 != 0) {
    out->b[full] = (uint8_t)(k->b[full] & (0xffu << (8 - depth % 8)));
  }
}

static bool smt_prefix_eq(const struct hash32 *a, const struct hash32 *b, unsigned depth) {
  struct hash32 pa;
  struct hash32 pb;
  smt_path(&pa, a, depth);
  smt_path(&pb, b, depth);
  return memcmp(pa.b, pb.b, 32) == 0;
}

/* Key of the node at depth on k's path; side >= 0 overrides bit depth-1
 * (the child of the node at depth-1 on that side). */
static void smt_node_key(uint8_t out[SMT_NODE_KEY_BYTES], const struct hash32 *k, unsigned depth,
                         int side) {
  struct hash32 path;
  smt_path(&path, k, depth);
  if (side >= 0) {
    assert(depth >= 1);
    unsigned i = depth - 1;
    uint8_t mask = (uint8_t)(0x80u >> (i & 7));
    path.b[i >> 3] = (uint8_t)(side ? path.b[i >> 3] | mask : path.b[i >> 3] & ~mask);
  }
  out[0] = (uint8_t)(depth >> 8);
  out[1] = (uint8_t)(depth & 0xff);
  memcpy(out + 2, path.b, 32);
}

static void smt_sum_empty(struct smt_sum *s) {
  memset(s, 0, sizeof(*s));
  s->kind = SMT_EMPTY;
}

static void smt_sum_leaf(struct smt_sum *s, const struct hash32 *k, const struct hash32 *vh) {
  s->kind = SMT_LEAF;
  s->a = *k;
  s->b = *vh;
  smt_hash_pair(&s->h, STATE_SMT_TAG_LEAF, k, vh);
}

static void smt_sum_inner(struct smt_sum *s, const struct hash32 *l, const struct hash32 *r) {
  assert(!base_hash_is_zero(l) || !base_hash_is_zero(r));
  s->kind = SMT_INNER;
  s->a = *l;
  s->b = *r;
  smt_hash_pair(&s->h, STATE_SMT_TAG_NODE, l, r);
}

static void smt_sum_opaque(struct smt_sum *s, const struct hash32 *h) {
  memset(s, 0, sizeof(*s));
  s->kind = base_hash_is_zero(h) ? SMT_EMPTY : SMT_OPAQUE;
  s->h = *h;
}

/* Whether every node read is rehashed and checked against its parent's
 * record of it. The root always is (one hash); the rest only in debug and
 * simulation builds, since an update would otherwise hash each node on its
 * paths twice. */
#ifdef MEDCHAIN_DEBUG_CHECKS
#define SMT_CHECK_READS true
#else
#define SMT_CHECK_READS false
#endif

static void smt_sum_rehash(struct smt_sum *s) {
  assert(s->kind == SMT_LEAF || s->kind == SMT_INNER);
  smt_hash_pair(&s->h, s->kind == SMT_LEAF ? STATE_SMT_TAG_LEAF : STATE_SMT_TAG_NODE, &s->a, &s->b);
}

/* Inner nodes are stored at every SMT_BAND-th depth only (see the top). */
static bool smt_depth_stored(unsigned depth) {
  return depth % SMT_BAND == 0;
}

/* Parses a stored node found at depth on path; h is left to the caller. */
static int smt_node_parse(struct smt_sum *out, struct bytes v, const struct hash32 *path,
                          unsigned depth) {
  if (v.len != SMT_NODE_VAL_BYTES) {
    return ERR_CORRUPT;
  }
  memset(out, 0, sizeof(*out));
  memcpy(out->a.b, v.ptr + 1, 32);
  memcpy(out->b.b, v.ptr + 33, 32);
  if (v.ptr[0] == SMT_TAG_INNER) {
    out->kind = SMT_INNER;
    bool both_empty = base_hash_is_zero(&out->a) && base_hash_is_zero(&out->b);
    bool misplaced = depth >= SMT_DEPTH_MAX || !smt_depth_stored(depth);
    return misplaced || both_empty ? ERR_CORRUPT : OK;
  }
  if (v.ptr[0] == SMT_TAG_LEAF) {
    out->kind = SMT_LEAF;
    return smt_prefix_eq(&out->a, path, depth) ? OK : ERR_CORRUPT;
  }
  return ERR_CORRUPT;
}

/* The child of the node at (depth, path) on side; path's bits >= depth
 * are zero, and so are the child's bits past depth + 1. */
static void smt_child_path(struct hash32 *child, const struct hash32 *path, unsigned depth,
                           unsigned side) {
  assert(depth < SMT_DEPTH_MAX);
  *child = *path;
  if (side != 0) {
    child->b[depth >> 3] = (uint8_t)(child->b[depth >> 3] | (0x80u >> (depth & 7)));
  }
}

/* The node at (depth, path) as stored, or, for an inner node at a depth
 * that is not stored, rebuilt from its children (h is left to the caller
 * either way). ERR_NOT_FOUND: the subtree is empty. Recursion stops at the
 * next stored depth, so it is at most SMT_BAND - 1 levels deep. */
static int smt_node_fetch(struct store_txn *t, struct smt_sum *out, const struct hash32 *path,
                          unsigned depth) {
  uint8_t key[SMT_NODE_KEY_BYTES];
  key[0] = (uint8_t)(depth >> 8);
  key[1] = (uint8_t)(depth & 0xff);
  memcpy(key + 2, path->b, 32);
  struct bytes v;
  int err = store_get(t, STORE_SMT, (struct bytes){key, sizeof(key)}, &v);
  if (err == OK) {
    return smt_node_parse(out, v, path, depth);
  }
  if (err != ERR_NOT_FOUND || smt_depth_stored(depth) || depth >= SMT_DEPTH_MAX) {
    return err;
  }
  struct smt_sum kid[2];
  for (unsigned side = 0; side < 2; side++) {
    struct hash32 child;
    smt_child_path(&child, path, depth, side);
    err = smt_node_fetch(t, &kid[side], &child, depth + 1);
    if (err == ERR_NOT_FOUND) {
      smt_sum_empty(&kid[side]);
    } else if (err == OK) {
      smt_sum_rehash(&kid[side]);
    } else {
      return err;
    }
  }
  if (kid[0].kind == SMT_EMPTY || kid[1].kind == SMT_EMPTY) {
    enum smt_kind only = kid[0].kind == SMT_EMPTY ? kid[1].kind : kid[0].kind;
    if (only != SMT_INNER) {
      /* Nothing below, or a lone leaf that should sit here. */
      return only == SMT_EMPTY ? ERR_NOT_FOUND : ERR_CORRUPT;
    }
  }
  memset(out, 0, sizeof(*out));
  out->kind = SMT_INNER;
  out->a = kid[0].h;
  out->b = kid[1].h;
  return OK;
}

/* Reads the node at depth on k's path (side as in smt_node_key). known is
 * the parent's record of its hash (NULL: none); when check is set the two
 * must agree. Returns OK, ERR_NOT_FOUND, ERR_CORRUPT or a store error. */
static int smt_node_load(struct store_txn *t, struct smt_sum *out, const struct hash32 *k,
                         unsigned depth, int side, const struct hash32 *known, bool check) {
  uint8_t key[SMT_NODE_KEY_BYTES];
  smt_node_key(key, k, depth, side);
  struct hash32 path;
  memcpy(path.b, key + 2, 32);
  int err = smt_node_fetch(t, out, &path, depth);
  if (err != OK) {
    return err;
  }
  if (known != NULL && !check) {
    out->h = *known;
    return OK;
  }
  smt_sum_rehash(out);
  return known == NULL || base_hash_eq(&out->h, known) ? OK : ERR_CORRUPT;
}

/* A child that must exist: its absence is corruption. */
static int smt_child_load(struct store_txn *t, struct smt_sum *out, const struct hash32 *k,
                          unsigned depth, int side, const struct hash32 *known) {
  int err = smt_node_load(t, out, k, depth, side, known, SMT_CHECK_READS);
  return err == ERR_NOT_FOUND ? ERR_CORRUPT : err;
}

/* Deletes the node that was at (depth, k's path, side), of kind was. An
 * inner node at a depth that is not stored has nothing to delete. */
static int smt_node_delete(struct store_txn *t, const struct hash32 *k, unsigned depth, int side,
                           enum smt_kind was) {
  assert(was == SMT_LEAF || was == SMT_INNER);
  if (was == SMT_INNER && !smt_depth_stored(depth)) {
    return OK;
  }
  uint8_t key[SMT_NODE_KEY_BYTES];
  smt_node_key(key, k, depth, side);
  int err = store_del(t, STORE_SMT, (struct bytes){key, sizeof(key)});
  return err == ERR_NOT_FOUND ? ERR_CORRUPT : err;
}

/* Stores s at (depth, k's path, side) where a node of kind was sat. An
 * inner node at a depth that is not stored only clears a leaf it replaces. */
static int smt_node_store(struct store_txn *t, const struct hash32 *k, unsigned depth, int side,
                          const struct smt_sum *s, enum smt_kind was) {
  assert(s->kind == SMT_LEAF || s->kind == SMT_INNER);
  assert(was != SMT_OPAQUE);
  if (s->kind == SMT_INNER && !smt_depth_stored(depth)) {
    return was == SMT_LEAF ? smt_node_delete(t, k, depth, side, SMT_LEAF) : OK;
  }
  uint8_t key[SMT_NODE_KEY_BYTES];
  smt_node_key(key, k, depth, side);
  uint8_t val[SMT_NODE_VAL_BYTES];
  val[0] = s->kind == SMT_LEAF ? SMT_TAG_LEAF : SMT_TAG_INNER;
  memcpy(val + 1, s->a.b, 32);
  memcpy(val + 33, s->b.b, 32);
  return store_put(t, STORE_SMT, (struct bytes){key, sizeof(key)},
                   (struct bytes){val, sizeof(val)});
}

/* The same node as before: rewriting it would change nothing. */
static bool smt_sum_same(const struct smt_sum *x, const struct smt_sum *y) {
  return x->kind == y->kind && base_hash_eq(&x->a, &y->a) && base_hash_eq(&x->b, &y->b);
}

/* First index in [lo, hi) whose key hash has bit d set. The range shares
 * its first d bits, so it is sorted by bit d too. */
static size_t smt_split(const struct state_smt_op *ops, size_t lo, size_t hi, unsigned d) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (smt_bit(&ops[mid].k, d) != 0) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

static bool smt_ops_contain(const struct state_smt_op *ops, size_t lo, size_t hi,
                            const struct hash32 *k) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(ops[mid].k.b, k->b, 32);
    if (c == 0) {
      return true;
    }
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return false;
}

static int smt_apply(struct smt_ctx *c, unsigned d, const struct smt_sum *old, size_t lo, size_t hi,
                     struct smt_sum *out);

/* Below a leaf or an empty subtree nothing is stored: the result is built
 * from the surviving old leaf (unless an op replaces it) and the ops. */
static int smt_apply_flat(struct smt_ctx *c, unsigned d, const struct smt_sum *old, size_t lo,
                          size_t hi, struct smt_sum *out) {
  assert(old->kind == SMT_EMPTY || old->kind == SMT_LEAF);
  assert(lo < hi);
  bool carried = old->kind == SMT_LEAF && !smt_ops_contain(c->ops, lo, hi, &old->a);
  size_t leaves = carried ? 1 : 0;
  size_t single = hi;
  for (size_t i = lo; i < hi && leaves < 2; i++) {
    if (!c->ops[i].del) {
      leaves++;
      single = i;
    }
  }
  if (leaves == 0) {
    smt_sum_empty(out);
    return OK;
  }
  if (leaves == 1) {
    if (carried) {
      *out = *old;
    } else {
      smt_sum_leaf(out, &c->ops[single].k, &c->ops[single].vh);
    }
    return OK;
  }
  assert(d < SMT_DEPTH_MAX); /* two distinct hashes differ within 256 bits */
  size_t mid = smt_split(c->ops, lo, hi, d);
  struct smt_sum kid[2];
  for (unsigned side = 0; side < 2; side++) {
    struct smt_sum kid_old;
    smt_sum_empty(&kid_old);
    if (carried && smt_bit(&old->a, d) == side) {
      kid_old = *old;
    }
    int err = smt_apply(c, d + 1, &kid_old, side ? mid : lo, side ? hi : mid, &kid[side]);
    if (err != OK) {
      return err;
    }
  }
  smt_sum_inner(out, &kid[0].h, &kid[1].h);
  for (unsigned side = 0; side < 2; side++) {
    if (kid[side].kind != SMT_EMPTY) {
      /* Below a leaf or an empty subtree nothing was stored. */
      int err = smt_node_store(c->t, &c->ops[lo].k, d + 1, (int)side, &kid[side], SMT_EMPTY);
      if (err != OK) {
        return err;
      }
    }
  }
  return OK;
}

/* Decides what an inner node at depth d becomes from its children's old
 * and new summaries, and stores or deletes the children accordingly. */
static int smt_join(struct smt_ctx *c, unsigned d, const struct hash32 *k, struct smt_sum old[2],
                    struct smt_sum kid[2], const bool touched[2], struct smt_sum *out) {
  for (unsigned side = 0; side < 2; side++) {
    if (kid[side].kind == SMT_OPAQUE && kid[!side].kind == SMT_EMPTY) {
      struct hash32 h = kid[side].h;
      int err = smt_child_load(c->t, &kid[side], k, d + 1, (int)side, &h);
      if (err != OK) {
        return err;
      }
      old[side] = kid[side]; /* untouched: what was read is what stays */
    }
  }
  bool collapse = kid[0].kind == SMT_EMPTY || kid[1].kind == SMT_EMPTY;
  collapse = collapse && kid[0].kind != SMT_INNER && kid[1].kind != SMT_INNER;
  if (collapse) {
    *out = kid[0].kind == SMT_EMPTY ? kid[1] : kid[0];
  } else {
    smt_sum_inner(out, &kid[0].h, &kid[1].h);
  }
  for (unsigned side = 0; side < 2; side++) {
    int err = OK;
    assert(old[side].kind != SMT_OPAQUE || !touched[side]);
    bool was = old[side].kind != SMT_EMPTY;
    if ((collapse || kid[side].kind == SMT_EMPTY) && was) {
      err = smt_node_delete(c->t, k, d + 1, (int)side, old[side].kind);
    } else if (!collapse && touched[side] && kid[side].kind != SMT_EMPTY &&
               !smt_sum_same(&kid[side], &old[side])) {
      err = smt_node_store(c->t, k, d + 1, (int)side, &kid[side], old[side].kind);
    }
    if (err != OK) {
      return err;
    }
  }
  return OK;
}

/* An existing inner node: split the ops by bit d, descend into the
 * children that have ops, then join. */
static int smt_apply_inner(struct smt_ctx *c, unsigned d, const struct smt_sum *old, size_t lo,
                           size_t hi, struct smt_sum *out) {
  assert(old->kind == SMT_INNER);
  if (d >= SMT_DEPTH_MAX) {
    return ERR_CORRUPT;
  }
  const struct hash32 *k = &c->ops[lo].k;
  size_t mid = smt_split(c->ops, lo, hi, d);
  struct smt_sum kid_old[2];
  struct smt_sum kid[2];
  bool touched[2] = {lo < mid, mid < hi};
  for (unsigned side = 0; side < 2; side++) {
    const struct hash32 *h = side ? &old->b : &old->a;
    smt_sum_opaque(&kid_old[side], h);
    if (!touched[side]) {
      kid[side] = kid_old[side];
      continue;
    }
    int err = OK;
    if (kid_old[side].kind != SMT_EMPTY) {
      err = smt_child_load(c->t, &kid_old[side], k, d + 1, (int)side, h);
    }
    if (err == OK) {
      err = smt_apply(c, d + 1, &kid_old[side], side ? mid : lo, side ? hi : mid, &kid[side]);
    }
    if (err != OK) {
      return err;
    }
  }
  return smt_join(c, d, k, kid_old, kid, touched, out);
}

static int smt_apply(struct smt_ctx *c, unsigned d, const struct smt_sum *old, size_t lo, size_t hi,
                     struct smt_sum *out) {
  assert(d <= SMT_DEPTH_MAX);
  if (lo == hi) {
    *out = *old;
    return OK;
  }
  assert(old->kind != SMT_OPAQUE);
  if (old->kind == SMT_INNER) {
    return smt_apply_inner(c, d, old, lo, hi, out);
  }
  return smt_apply_flat(c, d, old, lo, hi, out);
}

int state_smt_root_read(struct store_txn *t, struct hash32 *root) {
  struct bytes v;
  int err = store_get(t, STORE_SMT, (struct bytes){smt_root_key, sizeof(smt_root_key)}, &v);
  if (err == ERR_NOT_FOUND) {
    *root = smt_zero;
    return OK;
  }
  if (err != OK) {
    return err;
  }
  if (v.len != sizeof(root->b)) {
    return ERR_CORRUPT;
  }
  memcpy(root->b, v.ptr, sizeof(root->b));
  return OK;
}

/* The root node, checked against the stored root hash. */
static int smt_root_load(struct store_txn *t, struct smt_sum *out) {
  struct hash32 root;
  int err = state_smt_root_read(t, &root);
  if (err != OK) {
    return err;
  }
  err = smt_node_load(t, out, &smt_zero, 0, -1, &root, true);
  if (err == ERR_NOT_FOUND) {
    smt_sum_empty(out);
    err = base_hash_is_zero(&root) ? OK : ERR_CORRUPT;
  }
  return err;
}

/* Stores the new root node (old is the one it replaces) and its hash. */
static int smt_root_store(struct store_txn *t, const struct smt_sum *old,
                          const struct smt_sum *now) {
  int err = OK;
  if (now->kind == SMT_EMPTY && old->kind != SMT_EMPTY) {
    err = smt_node_delete(t, &smt_zero, 0, -1, old->kind);
  } else if (now->kind != SMT_EMPTY) {
    err = smt_node_store(t, &smt_zero, 0, -1, now, old->kind);
  }
  if (err != OK) {
    return err;
  }
  /* The empty tree stores nothing at all, not even its root. */
  struct bytes root_key = {smt_root_key, sizeof(smt_root_key)};
  if (now->kind == SMT_EMPTY) {
    err = store_del(t, STORE_SMT, root_key);
    return err == ERR_NOT_FOUND ? OK : err;
  }
  return store_put(t, STORE_SMT, root_key, (struct bytes){now->h.b, sizeof(now->h.b)});
}

int state_smt_update(struct store_txn *t, const struct state_smt_op *ops, size_t n,
                     struct hash32 *root) {
  assert(t != NULL && root != NULL);
  assert(n == 0 || ops != NULL);
  for (size_t i = 1; i < n; i++) {
    assert(memcmp(ops[i - 1].k.b, ops[i].k.b, 32) < 0);
  }
  struct smt_sum old;
  int err = smt_root_load(t, &old);
  if (err != OK) {
    return err;
  }
  struct smt_ctx c = {.t = t, .ops = ops};
  struct smt_sum now;
  err = smt_apply(&c, 0, &old, 0, n, &now);
  if (err != OK) {
    return err;
  }
  err = smt_root_store(t, &old, &now);
  if (err == OK) {
    *root = now.h;
  }
  return err;
}

int state_smt_prove(struct store_txn *t, const struct hash32 *k, struct state_proof *proof) {
  assert(t != NULL && k != NULL && proof != NULL);
  memset(proof, 0, sizeof(*proof));
  struct smt_sum node;
  int err = smt_root_load(t, &node);
  unsigned d = 0;
  while (err == OK && node.kind == SMT_INNER) {
    assert(d < SMT_DEPTH_MAX); /* smt_node_parse refuses inner nodes at 256 */
    unsigned side = smt_bit(k, d);
    proof->siblings[d] = side ? node.a : node.b;
    struct hash32 child = side ? node.b : node.a;
    d++;
    if (base_hash_is_zero(&child)) {
      smt_sum_empty(&node);
    } else {
      err = smt_child_load(t, &node, k, d, -1, &child);
    }
  }
  if (err != OK) {
    return err;
  }
  proof->depth = (uint16_t)d;
  if (node.kind == SMT_LEAF && !base_hash_eq(&node.a, k)) {
    proof->other_leaf = true;
    proof->other_key_hash = node.a;
    proof->other_value_hash = node.b;
  }
  return OK;
}

/* The hash at the end of the claimed path, or false when the claim is
 * inconsistent with the proof's shape. */
static bool smt_proof_terminal(struct hash32 *h, const struct state_proof *p,
                               const struct hash32 *k, const struct bytes *value) {
  if (value != NULL) {
    if (p->other_leaf) {
      return false; /* the key's own leaf ends an inclusion path */
    }
    struct hash32 vh;
    state_smt_value_hash(&vh, value->ptr, value->len);
    smt_hash_pair(h, STATE_SMT_TAG_LEAF, k, &vh);
    return true;
  }
  if (!p->other_leaf) {
    *h = smt_zero;
    return true;
  }
  if (base_hash_eq(&p->other_key_hash, k) || !smt_prefix_eq(&p->other_key_hash, k, p->depth)) {
    return false;
  }
  smt_hash_pair(h, STATE_SMT_TAG_LEAF, &p->other_key_hash, &p->other_value_hash);
  return true;
}

int state_proof_verify(const struct state_proof *proof, const struct hash32 *root, struct bytes key,
                       const struct bytes *value) {
  assert(proof != NULL && root != NULL);
  assert(key.ptr != NULL || key.len == 0);
  assert(value == NULL || value->ptr != NULL || value->len == 0);
  if (proof->depth > STATE_PROOF_DEPTH_MAX) {
    return ERR_PROOF_INVALID;
  }
  /* In a compact tree the sibling where a path ends is never empty: the
   * leaf (or the other leaves) would have moved up. */
  if (proof->depth > 0 && base_hash_is_zero(&proof->siblings[proof->depth - 1])) {
    return ERR_PROOF_INVALID;
  }
  struct hash32 k;
  state_smt_key_hash(&k, key.ptr, key.len);
  struct hash32 h;
  if (!smt_proof_terminal(&h, proof, &k, value)) {
    return ERR_PROOF_INVALID;
  }
  for (unsigned i = proof->depth; i > 0; i--) {
    const struct hash32 *sib = &proof->siblings[i - 1];
    struct hash32 up;
    if (smt_bit(&k, i - 1) != 0) {
      smt_hash_pair(&up, STATE_SMT_TAG_NODE, sib, &h);
    } else {
      smt_hash_pair(&up, STATE_SMT_TAG_NODE, &h, sib);
    }
    h = up;
  }
  return base_hash_eq(&h, root) ? OK : ERR_PROOF_INVALID;
}

struct smt_entry {
  struct hash32 k;
  struct hash32 vh;
};

static int smt_entry_cmp(const void *a, const void *b) {
  return memcmp(a, b, sizeof(struct hash32));
}

/* Root of sorted, distinct entries [lo, hi) sharing their first d bits. */
static void smt_hash_sorted(struct hash32 *out, const struct smt_entry *e, size_t lo, size_t hi,
                            unsigned d) {
  if (lo == hi) {
    *out = smt_zero;
    return;
  }
  if (hi - lo == 1) {
    smt_hash_pair(out, STATE_SMT_TAG_LEAF, &e[lo].k, &e[lo].vh);
    return;
  }
  assert(d < SMT_DEPTH_MAX);
  size_t mid = lo;
  size_t end = hi;
  while (mid < end) { /* first entry with bit d set */
    size_t m = mid + (end - mid) / 2;
    if (smt_bit(&e[m].k, d) != 0) {
      end = m;
    } else {
      mid = m + 1;
    }
  }
  struct hash32 l;
  struct hash32 r;
  smt_hash_sorted(&l, e, lo, mid, d + 1);
  smt_hash_sorted(&r, e, mid, hi, d + 1);
  smt_hash_pair(out, STATE_SMT_TAG_NODE, &l, &r);
}

static int smt_entries_push(struct smt_entry **e, size_t *n, size_t *cap, struct bytes key,
                            struct bytes val) {
  if (*n == *cap) {
    size_t grown = *cap == 0 ? 1024 : *cap * 2;
    struct smt_entry *p = realloc(*e, grown * sizeof(**e));
    if (p == NULL) {
      return ERR_NOMEM;
    }
    *e = p;
    *cap = grown;
  }
  state_smt_key_hash(&(*e)[*n].k, key.ptr, key.len);
  state_smt_value_hash(&(*e)[*n].vh, val.ptr, val.len);
  (*n)++;
  return OK;
}

/* Independent of the stored tree and of the update code: every entry is
 * hashed, sorted and folded in memory, O(n log n). It serves tests and
 * offline verification. */
int state_smt_recompute(struct store_txn *t, struct hash32 *root) {
  struct smt_entry *e = NULL;
  size_t n = 0;
  size_t cap = 0;
  struct store_iter *it = NULL;
  int err = store_iter_begin(t, STORE_STATE, (struct bytes){NULL, 0}, (struct bytes){NULL, 0}, &it);
  if (err != OK) {
    return err;
  }
  struct bytes key;
  struct bytes val;
  for (;;) {
    err = store_iter_next(it, &key, &val);
    if (err != OK) {
      break;
    }
    err = smt_entries_push(&e, &n, &cap, key, val);
    if (err != OK) {
      goto fail;
    }
  }
  if (err != ERR_NOT_FOUND) {
    goto fail;
  }
  if (n > 1) {
    qsort(e, n, sizeof(*e), smt_entry_cmp);
  }
  for (size_t i = 1; i < n; i++) {
    if (memcmp(e[i - 1].k.b, e[i].k.b, 32) == 0) {
      err = ERR_CORRUPT; /* two keys with one hash: BLAKE2b is broken */
      goto fail;
    }
  }
  smt_hash_sorted(root, e, 0, n, 0);
  err = OK;
fail:
  store_iter_end(it);
  free(e);
  return err;
}
