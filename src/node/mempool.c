/*
 * mempool — pending transactions, admitted but not yet in a block.
 *
 * Every entry owns a copy of its encoded transaction and sits on three
 * structures at once:
 *  - an open-addressing table keyed by its tx hash (lookup, duplicates);
 *  - a doubly linked list in arrival order (block building walks it);
 *  - its sender's doubly linked list in nonce order.
 * A second open-addressing table maps a sender id to its record: its next
 * nonce as last known committed, its pending count and its list. A record
 * exists exactly while the sender has pending entries.
 *
 * Tables use linear probing with backward-shift deletion (no tombstones)
 * and are sized to twice the entry bound, so they never grow and never
 * fill. Slots hold a pointer to the item's first member, its 32-byte key.
 * Tx hashes and ids are hashes an outsider can grind, so the slot index
 * mixes the key with a per-pool random seed. Nothing ever iterates a table:
 * the order of a block comes from the arrival list alone, which keeps
 * building deterministic given the same arrivals.
 *
 * The pool does no locking (the node's mutex guards it) and does no
 * signature or state checks (the node does them before node_mempool_add).
 * Recently dropped hashes are kept in a ring with the reason, so a client
 * waiting for a dropped transaction learns why.
 */
#include "node/node_internal.h"

#include "crypto/crypto.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct node_mempool_sender {
  struct hash32 id; /* first: the table's key */
  uint64_t next;    /* next nonce as last known committed */
  uint32_t pending;
  struct node_mempool_entry *head, *tail; /* by nonce, ascending */
  uint64_t epoch;  /* node_mempool_select scratch: the pass that set cursor */
  uint64_t cursor; /* the nonce this pass takes next */
};

/* Tables hold pointers to an item's first member, its key. */
_Static_assert(offsetof(struct node_mempool_sender, id) == 0, "sender key first");
_Static_assert(offsetof(struct node_mempool_entry, hash) == 0, "entry key first");

struct mp_table {
  struct hash32 **slots;
  uint32_t mask;
  uint32_t count;
};

struct mp_dropped {
  struct hash32 hash;
  int code;
};

struct node_mempool {
  uint32_t txs_max;
  uint64_t bytes_max;
  uint64_t seed;
  uint32_t count;
  uint64_t bytes;
  uint32_t nready; /* senders whose head nonce is their next nonce */
  uint64_t seq_next;
  uint64_t epoch;
  struct node_mempool_entry *first, *last; /* arrival order */
  struct mp_table entries;
  struct mp_table senders;
  uint32_t dropped_next;
  uint32_t dropped_count;
  struct mp_dropped *dropped; /* ring of NODE_MEMPOOL_DROPPED_MAX */
};

/* ---- tables --------------------------------------------------------------- */

static uint32_t table_home(const struct node_mempool *mp, const struct mp_table *t,
                           const struct hash32 *key) {
  uint64_t x;
  memcpy(&x, key->b, sizeof x);
  x ^= mp->seed;
  x *= 0x9e3779b97f4a7c15ull;
  x ^= x >> 31;
  return (uint32_t)(x >> 32) & t->mask;
}

/* Slot holding key, or the empty slot where it would go. */
static uint32_t table_probe(const struct node_mempool *mp, const struct mp_table *t,
                            const struct hash32 *key) {
  uint32_t i = table_home(mp, t, key);
  while (t->slots[i] != NULL && !base_hash_eq(t->slots[i], key)) {
    i = (i + 1) & t->mask;
  }
  return i;
}

static struct hash32 *table_find(const struct node_mempool *mp, const struct mp_table *t,
                                 const struct hash32 *key) {
  return t->slots[table_probe(mp, t, key)];
}

static void table_insert(const struct node_mempool *mp, struct mp_table *t, struct hash32 *key) {
  assert(t->count < t->mask); /* sized to twice the bound: never full */
  uint32_t i = table_probe(mp, t, key);
  assert(t->slots[i] == NULL);
  t->slots[i] = key;
  t->count++;
}

/* Backward-shift deletion: moves later members of the probe run into the
 * hole when the hole lies between their home and where they sit. */
static void table_delete(const struct node_mempool *mp, struct mp_table *t,
                         const struct hash32 *key) {
  uint32_t i = table_probe(mp, t, key);
  assert(t->slots[i] != NULL);
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & t->mask;
    if (t->slots[j] == NULL) {
      break;
    }
    uint32_t home = table_home(mp, t, t->slots[j]);
    bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      t->slots[i] = t->slots[j];
      i = j;
    }
  }
  t->slots[i] = NULL;
  t->count--;
}

static int table_init(struct mp_table *t, uint32_t items_max) {
  uint32_t cap = 16;
  while (cap < 2 * (uint64_t)items_max) {
    cap *= 2;
  }
  t->slots = calloc(cap, sizeof *t->slots);
  t->mask = cap - 1;
  t->count = 0;
  return t->slots != NULL ? OK : ERR_NOMEM;
}

/* ---- invariants ----------------------------------------------------------- */

static bool sender_ready(const struct node_mempool_sender *s);

#ifdef MEDCHAIN_DEBUG_CHECKS
/* Everything the structures must agree on, in O(pool): debug and
 * simulation builds check it after every change. */
static void mempool_check(const struct node_mempool *mp) {
  uint32_t count = 0;
  uint64_t bytes = 0;
  uint64_t seq = 0;
  for (const struct node_mempool_entry *e = mp->first; e != NULL; e = e->next) {
    assert(e->seq > seq && (e->next != NULL || e == mp->last));
    assert(e->next == NULL || e->next->prev == e);
    assert(table_find(mp, &mp->entries, &e->hash) == &e->hash);
    assert(base_hash_eq(&e->owner->id, &e->sender));
    seq = e->seq;
    count++;
    bytes += e->len;
  }
  assert(count == mp->count && bytes == mp->bytes && count == mp->entries.count);
  uint32_t ready = 0, pending = 0;
  for (uint32_t i = 0; i <= mp->senders.mask; i++) {
    const struct node_mempool_sender *s = (const void *)mp->senders.slots[i];
    if (s == NULL) {
      continue;
    }
    uint32_t n = 0;
    for (const struct node_mempool_entry *e = s->head; e != NULL; e = e->snext) {
      assert(e->owner == s && (e->snext == NULL || e->snext->nonce > e->nonce));
      assert(e->snext != NULL || e == s->tail);
      n++;
    }
    assert(n == s->pending && n > 0);
    pending += n;
    ready += sender_ready(s);
  }
  assert(pending == count && ready == mp->nready);
}
#else
static void mempool_check(const struct node_mempool *mp) {
  (void)mp;
}
#endif

/* ---- lifecycle ------------------------------------------------------------ */

int node_mempool_create(struct node_mempool **out, uint32_t txs_max, uint64_t bytes_max) {
  assert(txs_max > 0 && txs_max <= LIM_MEMPOOL_TXS_MAX);
  *out = NULL;
  struct node_mempool *mp = calloc(1, sizeof *mp);
  if (mp == NULL) {
    return ERR_NOMEM;
  }
  mp->txs_max = txs_max;
  mp->bytes_max = bytes_max;
  cry_random((uint8_t *)&mp->seed, sizeof mp->seed);
  mp->seq_next = 1;
  mp->dropped = calloc(NODE_MEMPOOL_DROPPED_MAX, sizeof *mp->dropped);
  if (mp->dropped == NULL || table_init(&mp->entries, txs_max) != OK ||
      table_init(&mp->senders, txs_max) != OK) {
    goto fail;
  }
  *out = mp;
  return OK;
fail:
  node_mempool_destroy(mp);
  return ERR_NOMEM;
}

void node_mempool_destroy(struct node_mempool *mp) {
  if (mp == NULL) {
    return;
  }
  struct node_mempool_entry *e = mp->first;
  while (e != NULL) {
    struct node_mempool_entry *next = e->next;
    free(e);
    e = next;
  }
  /* Sender records are reachable only through their table. */
  if (mp->senders.slots != NULL) {
    for (uint32_t i = 0; i <= mp->senders.mask; i++) {
      free(mp->senders.slots[i]);
    }
  }
  free(mp->senders.slots);
  free(mp->entries.slots);
  free(mp->dropped);
  free(mp);
}

uint32_t node_mempool_count(const struct node_mempool *mp) {
  return mp->count;
}
uint64_t node_mempool_bytes(const struct node_mempool *mp) {
  return mp->bytes;
}
uint32_t node_mempool_ready_senders(const struct node_mempool *mp) {
  return mp->nready;
}

bool node_mempool_contains(const struct node_mempool *mp, const struct hash32 *hash) {
  return table_find(mp, &mp->entries, hash) != NULL;
}

struct node_mempool_entry *node_mempool_find(const struct node_mempool *mp,
                                             const struct hash32 *hash) {
  /* The key is the entry's first member. */
  return (struct node_mempool_entry *)table_find(mp, &mp->entries, hash);
}

static struct node_mempool_sender *sender_find(const struct node_mempool *mp,
                                               const struct hash32 *id) {
  return (struct node_mempool_sender *)table_find(mp, &mp->senders, id);
}

uint32_t node_mempool_pending(const struct node_mempool *mp, const struct hash32 *sender) {
  const struct node_mempool_sender *s = sender_find(mp, sender);
  return s != NULL ? s->pending : 0;
}

uint64_t node_mempool_next_nonce(const struct node_mempool *mp, const struct hash32 *sender,
                                 uint64_t committed) {
  const struct node_mempool_sender *s = sender_find(mp, sender);
  if (s == NULL || s->tail == NULL || s->tail->nonce < committed) {
    return committed;
  }
  return s->tail->nonce + 1;
}

static bool sender_ready(const struct node_mempool_sender *s) {
  return s->head != NULL && s->head->nonce == s->next;
}

/* Pending entries are mostly appended in nonce order, so scans start at
 * the tail. */
static bool sender_has_nonce(const struct node_mempool_sender *s, uint64_t nonce) {
  for (const struct node_mempool_entry *e = s->tail; e != NULL && e->nonce >= nonce; e = e->sprev) {
    if (e->nonce == nonce) {
      return true;
    }
  }
  return false;
}

/* ---- admission ------------------------------------------------------------ */

int node_mempool_check(const struct node_mempool *mp, const struct hash32 *hash,
                       const struct hash32 *sender, uint64_t nonce, size_t len,
                       uint64_t next_committed, bool *runnable_now) {
  *runnable_now = false;
  if (node_mempool_contains(mp, hash)) {
    return ERR_DUPLICATE_TX;
  }
  const struct node_mempool_sender *s = sender_find(mp, sender);
  uint64_t next = next_committed;
  uint32_t pending = 0;
  if (s != NULL) {
    next = s->next > next_committed ? s->next : next_committed;
    pending = s->pending;
  }
  if (nonce < next) {
    return ERR_REPLAY;
  }
  if (s != NULL && sender_has_nonce(s, nonce)) {
    return ERR_DUPLICATE_TX;
  }
  if (nonce - next > pending) {
    return ERR_NONCE_GAP;
  }
  if (mp->count >= mp->txs_max || len > mp->bytes_max - mp->bytes) {
    return ERR_MEMPOOL_FULL;
  }
  *runnable_now = nonce == next && pending == 0;
  return OK;
}

static struct node_mempool_sender *sender_get(struct node_mempool *mp, const struct hash32 *id,
                                              uint64_t next_committed) {
  struct node_mempool_sender *s = sender_find(mp, id);
  if (s != NULL) {
    /* The committed state is the authority and nonces only go up. */
    if (next_committed > s->next) {
      bool was_ready = sender_ready(s);
      s->next = next_committed;
      mp->nready -= (uint32_t)was_ready;
      mp->nready += (uint32_t)sender_ready(s);
    }
    return s;
  }
  s = calloc(1, sizeof *s);
  if (s == NULL) {
    return NULL;
  }
  s->id = *id;
  s->next = next_committed;
  table_insert(mp, &mp->senders, &s->id);
  return s;
}

/* Links e into s's list before the first entry with a higher nonce. */
static void sender_link(struct node_mempool_sender *s, struct node_mempool_entry *e) {
  struct node_mempool_entry *after = s->tail;
  while (after != NULL && after->nonce > e->nonce) {
    after = after->sprev;
  }
  assert(after == NULL || after->nonce < e->nonce);
  e->sprev = after;
  e->snext = after != NULL ? after->snext : s->head;
  if (e->snext != NULL) {
    e->snext->sprev = e;
  } else {
    s->tail = e;
  }
  if (after != NULL) {
    after->snext = e;
  } else {
    s->head = e;
  }
  e->owner = s;
  s->pending++;
}

int node_mempool_add(struct node_mempool *mp, const uint8_t *buf, size_t len,
                     const struct hash32 *hash, const struct hash32 *sender, uint64_t nonce,
                     uint64_t next_committed) {
  bool runnable = false;
  int rc = node_mempool_check(mp, hash, sender, nonce, len, next_committed, &runnable);
  if (rc != OK) {
    return rc;
  }
  assert(len > 0 && len <= LIM_TX_BYTES_MAX);
  struct node_mempool_entry *e = malloc(sizeof *e + len);
  if (e == NULL) {
    return ERR_NOMEM;
  }
  struct node_mempool_sender *s = sender_get(mp, sender, next_committed);
  if (s == NULL) {
    free(e);
    return ERR_NOMEM;
  }
  memset(e, 0, sizeof *e);
  e->hash = *hash;
  e->sender = *sender;
  e->nonce = nonce;
  e->seq = mp->seq_next++;
  e->len = (uint32_t)len;
  e->buf = (uint8_t *)(e + 1);
  memcpy(e->buf, buf, len);

  bool was_ready = sender_ready(s);
  sender_link(s, e);
  mp->nready -= (uint32_t)was_ready;
  mp->nready += (uint32_t)sender_ready(s);
  e->prev = mp->last;
  if (mp->last != NULL) {
    mp->last->next = e;
  } else {
    mp->first = e;
  }
  mp->last = e;
  table_insert(mp, &mp->entries, &e->hash);
  mp->count++;
  mp->bytes += len;
  assert(mp->count <= mp->txs_max && mp->bytes <= mp->bytes_max);
  mempool_check(mp);
  return OK;
}

/* ---- block building ------------------------------------------------------- */

uint32_t node_mempool_select(struct node_mempool *mp, struct node_mempool_entry **out,
                             uint32_t max) {
  mp->epoch++;
  uint32_t n = 0;
  for (struct node_mempool_entry *e = mp->first; e != NULL && n < max; e = e->next) {
    struct node_mempool_sender *s = e->owner;
    if (s->epoch != mp->epoch) {
      s->epoch = mp->epoch;
      s->cursor = s->next;
    }
    if (e->nonce != s->cursor) {
      continue;
    }
    out[n++] = e;
    s->cursor++;
    /* Successors that arrived earlier were passed over while they waited
     * for e; take them now, in nonce order. Later arrivals are taken when
     * the walk reaches them. */
    for (struct node_mempool_entry *f = e->snext;
         f != NULL && n < max && f->nonce == s->cursor && f->seq < e->seq; f = f->snext) {
      out[n++] = f;
      s->cursor++;
    }
  }
  return n;
}

/* ---- removal -------------------------------------------------------------- */

static void dropped_push(struct node_mempool *mp, const struct hash32 *hash, int code) {
  mp->dropped[mp->dropped_next] = (struct mp_dropped){*hash, code};
  mp->dropped_next = (mp->dropped_next + 1) % NODE_MEMPOOL_DROPPED_MAX;
  if (mp->dropped_count < NODE_MEMPOOL_DROPPED_MAX) {
    mp->dropped_count++;
  }
}

bool node_mempool_dropped(const struct node_mempool *mp, const struct hash32 *hash, int *code) {
  /* Newest first, so a hash dropped twice reports its latest reason. */
  for (uint32_t k = 1; k <= mp->dropped_count; k++) {
    uint32_t i = (mp->dropped_next + NODE_MEMPOOL_DROPPED_MAX - k) % NODE_MEMPOOL_DROPPED_MAX;
    if (base_hash_eq(&mp->dropped[i].hash, hash)) {
      *code = mp->dropped[i].code;
      return true;
    }
  }
  return false;
}

static void sender_unlink(struct node_mempool_sender *s, struct node_mempool_entry *e) {
  if (e->sprev != NULL) {
    e->sprev->snext = e->snext;
  } else {
    s->head = e->snext;
  }
  if (e->snext != NULL) {
    e->snext->sprev = e->sprev;
  } else {
    s->tail = e->sprev;
  }
  assert(s->pending > 0);
  s->pending--;
}

void node_mempool_detach(struct node_mempool *mp, struct node_mempool_entry *e, int code) {
  struct node_mempool_sender *s = e->owner;
  assert(s != NULL && table_find(mp, &mp->entries, &e->hash) == &e->hash);
  bool was_ready = sender_ready(s);
  if (code == OK) {
    /* Committed. A submission may have seen the block's state (and raised
     * s->next past e) before the producer got here to remove e. */
    if (e->nonce >= s->next) {
      s->next = e->nonce + 1;
    }
  } else {
    dropped_push(mp, &e->hash, code);
  }
  sender_unlink(s, e);
  mp->nready -= (uint32_t)was_ready;
  mp->nready += (uint32_t)sender_ready(s);
  if (e->prev != NULL) {
    e->prev->next = e->next;
  } else {
    mp->first = e->next;
  }
  if (e->next != NULL) {
    e->next->prev = e->prev;
  } else {
    mp->last = e->prev;
  }
  table_delete(mp, &mp->entries, &e->hash);
  assert(mp->count > 0 && mp->bytes >= e->len);
  mp->count--;
  mp->bytes -= e->len;
  if (s->pending == 0) {
    assert(s->head == NULL && s->tail == NULL);
    table_delete(mp, &mp->senders, &s->id);
    free(s);
  }
  e->owner = NULL;
  e->prev = e->next = e->sprev = e->snext = NULL;
  mempool_check(mp);
}

void node_mempool_entry_free(struct node_mempool_entry *e) {
  assert(e == NULL || e->owner == NULL); /* detached first */
  free(e);
}

void node_mempool_remove(struct node_mempool *mp, struct node_mempool_entry *e, int code) {
  node_mempool_detach(mp, e, code);
  node_mempool_entry_free(e);
}

uint32_t node_mempool_prune(struct node_mempool *mp, const struct hash32 *sender) {
  uint32_t n = 0;
  for (;;) {
    /* Looked up each time: the record goes away with its last entry. */
    struct node_mempool_sender *s = sender_find(mp, sender);
    if (s == NULL || s->head == NULL || s->head->nonce >= s->next) {
      return n;
    }
    node_mempool_remove(mp, s->head, ERR_REPLAY);
    n++;
  }
}

void node_mempool_advance(struct node_mempool *mp, const struct hash32 *sender, uint64_t next) {
  struct node_mempool_sender *s = sender_find(mp, sender);
  if (s == NULL || next <= s->next) {
    return;
  }
  bool was_ready = sender_ready(s);
  s->next = next;
  mp->nready -= (uint32_t)was_ready;
  mp->nready += (uint32_t)sender_ready(s);
}
