// The canonical encoding of docs/protocol.md ("Canonical encoding"), for
// the transactions the portal signs and the argument records they carry.
//
//   integers   fixed-width big-endian u8/u16/u32/u64
//   var<L>     u32 n (n <= L) | n bytes
//   str<L>     var<L> of bytes 0x20..0x7e
//   name       var<32> of [a-z0-9_]+
//   list<T,M>  u16 count (<= M) | count x T
//   tx         u8 1 | str<32> chain_id | id sender | pubkey | u64 nonce
//              | name contract | name method | var<8192> args | sig(64)
//   record     the schema's fields in order: u64 | bool (u8 0|1) | id | pubkey
//              | str<max> | bytes var<max> | ids list<id,max>
//              | keys list<(id | sealed key 80 B),max>, lists strictly
//              increasing by id
//
// A schema is what GET /v1/methods publishes for a method: an array of
// {name, type, max}. The encoder refuses what a node would refuse, with
// the node's stable codes (OVERSIZE, NONCANONICAL, BAD_ARGS); the decoder,
// used by the tests, is as strict as the node's. Pure: no crypto, no DOM.
import { concat, compare, fromHex, u8, u16be, u32be, u64be, readU64be } from "./bytes.js";

export const LIM = Object.freeze({
  CHAIN_ID_MAX: 32,
  NAME_MAX: 32,
  ARGS_MAX: 8192,
  TX_BYTES_MAX: 9216,
  SEALED_KEY_BYTES: 80,
  SIG_BYTES: 64,
});

export const TX_VERSION = 1;
const U64_MAX = (1n << 64n) - 1n;

/** An encoding refused, with the node's stable code for it. */
export class CodecError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CodecError";
    this.code = code;
  }
}

function fail(code, message) {
  throw new CodecError(code, message);
}

// ---- values ----------------------------------------------------------------

/** A u64 from a BigInt, a safe integer or a decimal string. */
export function toU64(v, what = "value") {
  let n;
  if (typeof v === "bigint") {
    n = v;
  } else if (typeof v === "number" && Number.isSafeInteger(v)) {
    n = BigInt(v);
  } else if (typeof v === "string" && /^(0|[1-9][0-9]*)$/.test(v)) {
    n = BigInt(v);
  } else {
    fail("BAD_ARGS", `${what}: not an unsigned integer`);
  }
  if (n < 0n || n > U64_MAX) {
    fail("BAD_ARGS", `${what}: out of the u64 range`);
  }
  return n;
}

/** 32 bytes from a Uint8Array or 64 hex digits. */
export function toBytes32(v, what = "value") {
  if (v instanceof Uint8Array) {
    if (v.length !== 32) {
      fail("BAD_ARGS", `${what}: expected 32 bytes`);
    }
    return v;
  }
  try {
    return fromHex(v, 32);
  } catch {
    fail("BAD_ARGS", `${what}: expected 64 hex digits`);
  }
  return null; // not reached
}

function toBytesVar(v, what) {
  if (v instanceof Uint8Array) {
    return v;
  }
  try {
    return fromHex(v ?? "");
  } catch {
    fail("BAD_ARGS", `${what}: expected hex`);
  }
  return null; // not reached
}

function asciiBytes(s, what) {
  if (typeof s !== "string") {
    fail("BAD_ARGS", `${what}: expected a string`);
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      fail("NONCANONICAL", `${what}: only printable ASCII is allowed`);
    }
    out[i] = c;
  }
  return out;
}

function varBytes(bytes, max, what) {
  if (bytes.length > max) {
    fail("OVERSIZE", `${what}: longer than ${max} bytes`);
  }
  return concat(u32be(bytes.length), bytes);
}

function nameBytes(s, what) {
  const b = asciiBytes(s, what);
  if (b.length > LIM.NAME_MAX) {
    fail("OVERSIZE", `${what}: longer than ${LIM.NAME_MAX} bytes`);
  }
  if (!/^[a-z0-9_]+$/.test(s)) {
    fail("NONCANONICAL", `${what}: a name is [a-z0-9_]+`);
  }
  return varBytes(b, LIM.NAME_MAX, what);
}

/** Items of a set keyed by their leading 32 bytes, sorted; duplicates refused. */
function sortedItems(items, what) {
  const sorted = [...items].sort((a, b) => compare(a, b, 32));
  for (let i = 1; i < sorted.length; i++) {
    if (compare(sorted[i - 1], sorted[i], 32) === 0) {
      fail("BAD_ARGS", `${what}: the same id twice`);
    }
  }
  return sorted;
}

function listBytes(items, max, what) {
  if (items.length > max) {
    fail("OVERSIZE", `${what}: more than ${max} items`);
  }
  return concat(u16be(items.length), ...sortedItems(items, what));
}

// ---- records ---------------------------------------------------------------

function fieldBytes(f, v) {
  const what = f.name;
  switch (f.type) {
    case "u64":
      return u64be(toU64(v ?? 0, what));
    case "bool":
      if (v !== undefined && typeof v !== "boolean") {
        fail("BAD_ARGS", `${what}: expected true or false`);
      }
      return u8(v ? 1 : 0);
    case "id":
    case "pubkey":
      return v === undefined ? new Uint8Array(32) : toBytes32(v, what);
    case "str":
      return varBytes(asciiBytes(v ?? "", what), f.max, what);
    case "bytes":
      return varBytes(toBytesVar(v, what), f.max, what);
    case "ids":
      return listBytes(
        (v ?? []).map((x) => toBytes32(x, what)),
        f.max,
        what,
      );
    case "keys":
      return listBytes(
        (v ?? []).map((k) => {
          const sealed = toBytesVar(k.sealed_key, what);
          if (sealed.length !== LIM.SEALED_KEY_BYTES) {
            fail("BAD_ARGS", `${what}: a sealed key is ${LIM.SEALED_KEY_BYTES} bytes`);
          }
          return concat(toBytes32(k.reader, what), sealed);
        }),
        f.max,
        what,
      );
    default:
      fail("BAD_ARGS", `${what}: unknown type ${f.type}`);
  }
  return null; // not reached
}

/**
 * Encodes values ({name: value}) under schema ([{name, type, max}]). A
 * field left out is zero or empty, as with `medchain tx`; a name the schema
 * lacks is BAD_ARGS.
 */
export function encodeRecord(schema, values = {}) {
  const known = new Set(schema.map((f) => f.name));
  for (const name of Object.keys(values)) {
    if (!known.has(name)) {
      fail("BAD_ARGS", `${name}: no such argument`);
    }
  }
  return concat(...schema.map((f) => fieldBytes(f, values[f.name])));
}

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.pos = 0;
  }
  take(n) {
    if (n > this.b.length - this.pos) {
      fail("MALFORMED", "input ends too early");
    }
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u8() {
    return this.take(1)[0];
  }
  u16() {
    const b = this.take(2);
    return (b[0] << 8) | b[1];
  }
  u32() {
    const b = this.take(4);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }
  u64() {
    return readU64be(this.take(8), 0);
  }
  var(max) {
    const n = this.u32();
    if (n > max) {
      fail("OVERSIZE", "a length is over its limit");
    }
    return this.take(n);
  }
  str(max) {
    const b = this.var(max);
    if (b.some((c) => c < 0x20 || c > 0x7e)) {
      fail("NONCANONICAL", "a string holds a byte outside printable ASCII");
    }
    return String.fromCharCode(...b);
  }
  list(max, itemBytes) {
    const n = this.u16();
    if (n > max) {
      fail("OVERSIZE", "a list is over its limit");
    }
    const items = [];
    for (let i = 0; i < n; i++) {
      items.push(this.take(itemBytes));
      if (i > 0 && compare(items[i - 1], items[i], 32) >= 0) {
        fail("NONCANONICAL", "a list is not strictly increasing");
      }
    }
    return items;
  }
  finish() {
    if (this.pos !== this.b.length) {
      fail("TRAILING_BYTES", "bytes left after the value");
    }
  }
}

function fieldRead(r, f) {
  switch (f.type) {
    case "u64":
      return r.u64();
    case "bool": {
      const v = r.u8();
      if (v > 1) {
        fail("NONCANONICAL", `${f.name}: a boolean is 0 or 1`);
      }
      return v === 1;
    }
    case "id":
    case "pubkey":
      return r.take(32);
    case "str":
      return r.str(f.max);
    case "bytes":
      return r.var(f.max);
    case "ids":
      return r.list(f.max, 32);
    case "keys":
      return r.list(f.max, 32 + LIM.SEALED_KEY_BYTES).map((k) => ({
        reader: k.subarray(0, 32),
        sealed_key: k.subarray(32),
      }));
    default:
      fail("MALFORMED", `${f.name}: unknown type ${f.type}`);
  }
  return null; // not reached
}

/** Decodes a record strictly: {name: value}, u64 as BigInt, bytes as Uint8Array. */
export function decodeRecord(schema, bytes) {
  const r = new Reader(bytes);
  const out = {};
  for (const f of schema) {
    out[f.name] = fieldRead(r, f);
  }
  r.finish();
  return out;
}

// ---- transactions ----------------------------------------------------------

/**
 * The transaction without its signature: what H_medchain.tx.v1 hashes and
 * the sender signs. tx = {chainId, sender, pubkey, nonce, contract, method,
 * args (Uint8Array, an encoded record)}.
 */
export function encodeTxUnsigned(tx) {
  const chain = asciiBytes(tx.chainId, "chain_id");
  if (chain.length === 0) {
    fail("NONCANONICAL", "chain_id: empty");
  }
  const args = tx.args ?? new Uint8Array(0);
  return concat(
    u8(TX_VERSION),
    varBytes(chain, LIM.CHAIN_ID_MAX, "chain_id"),
    toBytes32(tx.sender, "sender"),
    toBytes32(tx.pubkey, "pubkey"),
    u64be(toU64(tx.nonce, "nonce")),
    nameBytes(tx.contract, "contract"),
    nameBytes(tx.method, "method"),
    varBytes(args, LIM.ARGS_MAX, "args"),
  );
}

/** The whole transaction: its unsigned encoding and the 64-byte signature. */
export function encodeTx(unsigned, sig) {
  if (!(sig instanceof Uint8Array) || sig.length !== LIM.SIG_BYTES) {
    fail("BAD_ARGS", "sig: expected 64 bytes");
  }
  const out = concat(unsigned, sig);
  if (out.length > LIM.TX_BYTES_MAX) {
    fail("OVERSIZE", "the transaction is over its limit");
  }
  return out;
}

/** Decodes a transaction strictly (the tests read the golden vectors with it). */
export function decodeTx(bytes) {
  if (bytes.length > LIM.TX_BYTES_MAX) {
    fail("OVERSIZE", "the transaction is over its limit");
  }
  const r = new Reader(bytes);
  if (r.u8() !== TX_VERSION) {
    fail("MALFORMED", "unknown transaction version");
  }
  const chainId = r.str(LIM.CHAIN_ID_MAX);
  if (chainId.length === 0) {
    fail("NONCANONICAL", "chain_id: empty");
  }
  const name = () => {
    const s = r.str(LIM.NAME_MAX);
    if (!/^[a-z0-9_]+$/.test(s)) {
      fail("NONCANONICAL", "a name is [a-z0-9_]+");
    }
    return s;
  };
  const tx = {
    chainId,
    sender: r.take(32),
    pubkey: r.take(32),
    nonce: r.u64(),
    contract: name(),
    method: name(),
    args: r.var(LIM.ARGS_MAX),
    sig: r.take(LIM.SIG_BYTES),
  };
  r.finish();
  return tx;
}
