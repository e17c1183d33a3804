// Byte helpers shared by the codec, the crypto wrapper and the views: hex,
// concatenation, comparison and big-endian integers. No dependencies, so
// the same module runs in the browser and under Node for the tests.

const HEX = "0123456789abcdef";

/** Lower-case hex of a Uint8Array. */
export function toHex(bytes) {
  let s = "";
  for (const b of bytes) {
    s += HEX[b >> 4] + HEX[b & 15];
  }
  return s;
}

/**
 * Bytes of a hex string (either case). Throws a RangeError for an odd
 * length or a non-hex digit; with `len`, the result must be that long.
 */
export function fromHex(hex, len) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RangeError("not hex");
  }
  if (len !== undefined && hex.length !== 2 * len) {
    throw new RangeError(`expected ${len} bytes of hex`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.substr(2 * i, 2), 16);
  }
  return out;
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) {
    n += p.length;
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Lexicographic comparison of the first n bytes: -1, 0 or 1. */
export function compare(a, b, n) {
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return a[i] < b[i] ? -1 : 1;
    }
  }
  return 0;
}

export function equal(a, b) {
  return a.length === b.length && compare(a, b, a.length) === 0;
}

export function u8(v) {
  return Uint8Array.of(v & 0xff);
}

export function u16be(v) {
  return Uint8Array.of((v >>> 8) & 0xff, v & 0xff);
}

export function u32be(v) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v >>> 0, false);
  return out;
}

/** A u64 (BigInt) as 8 big-endian bytes. */
export function u64be(v) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, v), false);
  return out;
}

export function readU64be(bytes, off) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(off, false);
}

export function utf8(s) {
  return new TextEncoder().encode(s);
}

/** Overwrites secret bytes in place (best effort: JS may hold copies). */
export function wipe(bytes) {
  if (bytes) {
    bytes.fill(0);
  }
}
