/*
 * codec — medchain's one canonical binary encoding. Prefix: codec_.
 *
 * Rules (docs/protocol.md has the full grammar and vectors):
 *  - integers are fixed-width big-endian (u8, u16, u32, u64);
 *  - variable-length fields are a u32 length then the bytes; the length must
 *    not exceed the field's limit;
 *  - strings are variable-length fields of printable ASCII (0x20..0x7e);
 *  - booleans are one byte, 0 or 1; enums only their defined values;
 *  - lists are a u16 count then the items, count bounded by the field limit;
 *  - a decoder consumes its whole input: trailing bytes are ERR_TRAILING.
 * Under these rules each value has exactly one encoding, so for every input
 * b a decoder accepts, encode(decode(b)) == b; the fuzz targets check it.
 *
 * Decoded values borrow from the input buffer (struct bytes point into it):
 * they are valid as long as the input is.
 */
#ifndef MEDCHAIN_CODEC_H
#define MEDCHAIN_CODEC_H

#include "base/base.h"
#include "crypto/crypto.h"
#include "limits/limits.h"

/* ---- primitives ---------------------------------------------------------- */

/* Writes into a caller buffer. The first failure (overflow) sticks in err
 * and later writes are ignored, so callers check once at the end. */
struct codec_writer {
  uint8_t *ptr;
  size_t cap;
  size_t len;
  int err;
};
void codec_writer_init(struct codec_writer *w, uint8_t *buf, size_t cap);
void codec_put_u8(struct codec_writer *w, uint8_t v);
void codec_put_u16(struct codec_writer *w, uint16_t v);
void codec_put_u32(struct codec_writer *w, uint32_t v);
void codec_put_u64(struct codec_writer *w, uint64_t v);
/* Raw bytes with no length prefix (fixed-size fields: hashes, keys). */
void codec_put_raw(struct codec_writer *w, const uint8_t *p, size_t len);
/* u32 length then bytes. */
void codec_put_var(struct codec_writer *w, const uint8_t *p, size_t len);

/* Reads from a borrowed buffer; the first failure sticks in err. */
struct codec_reader {
  const uint8_t *ptr;
  size_t len;
  size_t pos;
  int err;
};
void codec_reader_init(struct codec_reader *r, const uint8_t *buf, size_t len);
uint8_t codec_get_u8(struct codec_reader *r);
uint16_t codec_get_u16(struct codec_reader *r);
uint32_t codec_get_u32(struct codec_reader *r);
uint64_t codec_get_u64(struct codec_reader *r);
/* Copies len raw bytes into out (zeroes out on failure). */
void codec_get_raw(struct codec_reader *r, uint8_t *out, size_t len);
/* Borrows a u32-length-prefixed field of at most max bytes; longer is
 * ERR_OVERSIZE. */
struct bytes codec_get_var(struct codec_reader *r, size_t max);
/* Borrows a string (as codec_get_var) and checks it is printable ASCII;
 * anything else is ERR_NONCANONICAL. */
struct bytes codec_get_str(struct codec_reader *r, size_t max);
/* OK when everything was consumed without error; ERR_TRAILING when bytes
 * are left; otherwise the sticky error. */
int codec_reader_finish(const struct codec_reader *r) MUST_CHECK;

/* ---- schema-described records ------------------------------------------- */

/* Contract arguments and state entries are records described by a schema:
 * an ordered list of typed fields, encoded in order with no names or tags
 * (the schema is the type). The API renders them as JSON objects from the
 * same schema. */
enum codec_type {
  CODEC_U64 = 1, /* u64 */
  CODEC_BOOL,    /* u8 0|1 */
  CODEC_ID,      /* 32 raw bytes: identity, record, consent ids; hashes */
  CODEC_STR,     /* var, printable ASCII, at most `max` bytes */
  CODEC_BYTES,   /* var, at most `max` bytes */
  CODEC_IDS,     /* u16 count (<= max) then count * 32 bytes */
  CODEC_KEYS,    /* u16 count (<= max) then count * (32-byte reader id +
                    LIM_SEALED_KEY_BYTES sealed key) */
  CODEC_PUBKEY,  /* 32 raw bytes, an Ed25519 or X25519 public key */
};

struct codec_field {
  const char *name; /* JSON name, snake_case */
  enum codec_type type;
  uint32_t max; /* bytes for STR/BYTES, count for IDS/KEYS; 0 otherwise */
};

struct codec_schema {
  const char *name;
  uint8_t nfields;
  const struct codec_field *fields;
};

/* One decoded field. For IDS and KEYS, `bytes` holds the items back to
 * back (count * item size) and `count` their number. */
struct codec_value {
  enum codec_type type;
  uint64_t u64;       /* U64; BOOL as 0/1 */
  struct hash32 id;   /* ID, PUBKEY */
  struct bytes bytes; /* STR, BYTES, IDS, KEYS (borrowed) */
  uint32_t count;     /* IDS, KEYS */
};

#define CODEC_KEY_ITEM_BYTES (32 + LIM_SEALED_KEY_BYTES)

/* Decodes buf under schema into vals[schema->nfields]. Returns OK,
 * ERR_MALFORMED (short), ERR_OVERSIZE, ERR_NONCANONICAL or ERR_TRAILING. */
int codec_record_decode(const struct codec_schema *schema, struct codec_value *vals,
                        const uint8_t *buf, size_t len) MUST_CHECK;
/* Encodes vals (types must match the schema: a mismatch is a bug) into out.
 * Returns OK, ERR_OVERSIZE (a field over its max, or out too small) or
 * ERR_NONCANONICAL (bool > 1, non-printable string, unsorted ids/keys). */
int codec_record_encode(const struct codec_schema *schema, const struct codec_value *vals,
                        uint8_t *out, size_t cap, size_t *out_len) MUST_CHECK;
/* The type's name as clients see it ("u64", "bool", "id", "str", "bytes",
 * "ids", "keys", "pubkey"). Static. */
const char *codec_type_name(enum codec_type t);
/* Index of the field called name, or -1. */
int codec_schema_find(const struct codec_schema *schema, const char *name);

/* ---- transactions -------------------------------------------------------- */

/* A signed call of one contract method.
 * Encoding: u8 version(=1) | var chain_id | id sender(32) | pubkey(32) |
 *           u64 nonce | var contract | var method | var args | sig(64).
 * The signature is over cry_hash_tagged("medchain.tx.v1", encoding without
 * the signature); the tx hash is cry_hash_tagged("medchain.txid.v1", the
 * full encoding). */
#define CODEC_TX_VERSION 1
struct tx {
  struct bytes chain_id; /* str, <= LIM_CHAIN_ID_MAX */
  struct hash32 sender;  /* identity id */
  struct pubkey pubkey;  /* the sender's current signing key */
  uint64_t nonce;        /* 1 for the sender's first transaction */
  struct bytes contract; /* str, <= LIM_NAME_MAX */
  struct bytes method;   /* str, <= LIM_NAME_MAX */
  struct bytes args;     /* <= LIM_ARGS_MAX, the method's schema record */
  struct signature sig;
};

int codec_tx_decode(struct tx *tx, const uint8_t *buf, size_t len) MUST_CHECK;
int codec_tx_encode(const struct tx *tx, uint8_t *out, size_t cap, size_t *out_len) MUST_CHECK;
/* The bytes that are signed: the encoding without the signature. */
int codec_tx_encode_unsigned(const struct tx *tx, uint8_t *out, size_t cap,
                             size_t *out_len) MUST_CHECK;
/* Hash signed over (see above). */
int codec_tx_sighash(const struct tx *tx, struct hash32 *out) MUST_CHECK;
/* Tx id over an encoded transaction. */
void codec_tx_hash(struct hash32 *out, const uint8_t *encoded, size_t len);

/* ---- blocks --------------------------------------------------------------- */

/* Header encoding: u8 version(=1) | var chain_id | u64 height | u64 time_ms |
 * id prev_hash | id last_commit_hash | id tx_root | id results_hash |
 * id state_root | id validators_hash | id proposer | u32 tx_count.
 * Block hash = cry_hash_tagged("medchain.block.v1", header encoding). */
#define CODEC_BLOCK_VERSION 1
struct block_header {
  struct bytes chain_id;
  uint64_t height;                /* 1 for the first block after genesis */
  uint64_t time_ms;               /* proposer's time, strictly increasing */
  struct hash32 prev_hash;        /* hash of block height-1; genesis hash at 1 */
  struct hash32 last_commit_hash; /* hash of the commit of block height-1 */
  struct hash32 tx_root;          /* Merkle root of the tx ids */
  struct hash32 results_hash;     /* hash of the tx result codes, in order */
  struct hash32 state_root;       /* state root after applying the block */
  struct hash32 validators_hash;  /* hash of the validator set that signs */
  struct hash32 proposer;         /* validator id */
  uint32_t tx_count;
};

/* One validator's precommit signature: over cry_hash_tagged(
 * "medchain.vote.v1", u8 type(=2 precommit) | var chain_id | u64 height |
 * u32 round | id block_hash). */
struct commit_sig {
  uint16_t validator_index; /* index into the validator set */
  struct signature sig;
};

/* Commit encoding: u64 height | u32 round | id block_hash | u16 count |
 * count * (u16 index | sig 64), indices strictly increasing.
 * Commit hash = cry_hash_tagged("medchain.commit.v1", encoding). */
struct commit {
  uint64_t height;
  uint32_t round;
  struct hash32 block_hash;
  uint16_t count;
  struct commit_sig sigs[LIM_VALIDATORS_MAX];
};

/* A block: header, then u32 count, count * var tx, then the commit.
 * Decoded txs borrow from the input. */
struct block {
  struct block_header header;
  uint32_t tx_count;
  struct bytes txs[LIM_BLOCK_TXS_MAX]; /* encoded transactions */
  struct commit commit;
};

int codec_header_encode(const struct block_header *h, uint8_t *out, size_t cap,
                        size_t *out_len) MUST_CHECK;
int codec_header_decode(struct block_header *h, const uint8_t *buf, size_t len) MUST_CHECK;
int codec_block_hash(const struct block_header *h, struct hash32 *out) MUST_CHECK;

int codec_commit_encode(const struct commit *c, uint8_t *out, size_t cap,
                        size_t *out_len) MUST_CHECK;
int codec_commit_decode(struct commit *c, const uint8_t *buf, size_t len) MUST_CHECK;
int codec_commit_hash(const struct commit *c, struct hash32 *out) MUST_CHECK;
/* The message a validator signs for a vote: cry_hash_tagged(
 * "medchain.vote.v1", u8 type | var chain_id | u64 height | u32 round |
 * id block_hash), type 1 for a prevote, 2 for a precommit; a nil vote
 * signs the zero id. ERR_BAD_ARGS for another type. */
#define CODEC_VOTE_PREVOTE 1
#define CODEC_VOTE_PRECOMMIT 2
int codec_vote_sighash_typed(struct hash32 *out, uint8_t type, const struct bytes *chain_id,
                             uint64_t height, uint32_t round,
                             const struct hash32 *block_hash) MUST_CHECK;
/* The precommit's (the commit's signatures). */
int codec_vote_sighash(struct hash32 *out, const struct bytes *chain_id, uint64_t height,
                       uint32_t round, const struct hash32 *block_hash) MUST_CHECK;
/* The message a proposer signs: cry_hash_tagged("medchain.cons.proposal.v1",
 * var chain_id | u64 height | u32 round | u32 (pol_round + 1) | id
 * block_hash); pol_round is -1 (none) or below round (else ERR_BAD_ARGS). */
int codec_proposal_sighash(struct hash32 *out, const struct bytes *chain_id, uint64_t height,
                           uint32_t round, int32_t pol_round,
                           const struct hash32 *block_hash) MUST_CHECK;

/* struct block is large (~100 KiB): callers heap-allocate it. */
int codec_block_encode(const struct block *b, uint8_t *out, size_t cap, size_t *out_len) MUST_CHECK;
int codec_block_decode(struct block *b, const uint8_t *buf, size_t len) MUST_CHECK;

/* Merkle tree hash of RFC 6962 (section 2.1) with tagged hashes:
 * leaf = cry_hash_tagged("medchain.leaf.v1", item), node =
 * cry_hash_tagged("medchain.node.v1", left || right), and a tree of n > 1 leaves splits at the
 * largest power of two below n. The root of zero leaves is all zeroes. */
void codec_merkle_root(struct hash32 *out, const struct hash32 *leaves, size_t n);

#endif
