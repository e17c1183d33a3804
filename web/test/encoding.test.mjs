// The portal's encoding and cryptography against medchain's golden vectors:
//
//   node web/test/encoding.test.mjs [--bin path/to/medchain]
//
// tests/vectors/codec (a transaction, its signed message and id, a record
// with every field type), tests/vectors/crypto_medchain.txt (BLAKE2b,
// tagged hashes, keys from seeds) and tests/vectors/api/request_sig.txt
// (signed-request digests) must come out byte for byte. With --bin, keystore
// files written by `medchain keygen` (unprotected, and protected with
// Argon2id) must open to the keys the CLI printed. Run by CTest (web/encoding).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";

import { fromHex, toHex } from "../assets/js/bytes.js";
import {
  CodecError,
  decodeRecord,
  decodeTx,
  encodeRecord,
  encodeTx,
  encodeTxUnsigned,
} from "../assets/js/codec.js";
import {
  CryptoError,
  blake2b256,
  cryptoInit,
  keysFromSeed,
  keystoreOpen,
  requestDigest,
  requestMessage,
  sealOpen,
  sealTo,
  sign,
  signedHeaders,
  taggedHash,
  verify,
} from "../assets/js/crypto.js";

if (globalThis.crypto === undefined) {
  globalThis.crypto = (await import("node:crypto")).webcrypto; // Node 18
}
const sodium = (await import("libsodium-wrappers-sumo")).default;
await sodium.ready;
cryptoInit(sodium);

const here = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = path.join(here, "..", "..", "tests", "vectors");
const binArg = process.argv.indexOf("--bin");
const BIN = binArg > 0 ? process.argv[binArg + 1] : null;

function vectorHex(name) {
  return fromHex(fs.readFileSync(path.join(VECTORS, "codec", name), "utf8").trim());
}

function vectorLines(name) {
  return fs
    .readFileSync(path.join(VECTORS, name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => l.trim().split(/\s+/));
}

function fill(n, b) {
  return new Uint8Array(n).fill(b);
}

function throwsCode(fn, code) {
  assert.throws(
    fn,
    (e) => (e instanceof CodecError || e instanceof CryptoError) && e.code === code,
  );
}

// The record of tests/unit/test_codec.c's ALL_SCHEMA, as /v1/methods spells schemas.
const ALL_SCHEMA = [
  { name: "count", type: "u64", max: 0 },
  { name: "active", type: "bool", max: 0 },
  { name: "record_id", type: "id", max: 0 },
  { name: "category", type: "str", max: 128 },
  { name: "payload", type: "bytes", max: 1024 },
  { name: "readers", type: "ids", max: 16 },
  { name: "keys", type: "keys", max: 16 },
  { name: "box_pk", type: "pubkey", max: 0 },
];

test("a transaction encodes to tests/vectors/codec/tx.hex", () => {
  const args = encodeRecord([{ name: "days", type: "u64", max: 0 }], { days: 42 });
  assert.equal(toHex(args), "000000000000002a");
  const unsigned = encodeTxUnsigned({
    chainId: "medchain-test",
    sender: fill(32, 0x11),
    pubkey: toHex(fill(32, 0x22)),
    nonce: 1,
    contract: "consent",
    method: "grant",
    args,
  });
  assert.equal(toHex(unsigned), toHex(vectorHex("tx_unsigned.hex")));
  const tx = encodeTx(unsigned, fill(64, 0x33));
  assert.equal(toHex(tx), toHex(vectorHex("tx.hex")));
  assert.equal(toHex(taggedHash("medchain.tx.v1", unsigned)), toHex(vectorHex("tx_sighash.hex")));
  assert.equal(toHex(taggedHash("medchain.txid.v1", tx)), toHex(vectorHex("tx_id.hex")));
});

test("tx.hex decodes and re-encodes to the same bytes", () => {
  const raw = vectorHex("tx.hex");
  const tx = decodeTx(raw);
  assert.equal(tx.chainId, "medchain-test");
  assert.equal(tx.nonce, 1n);
  assert.equal(`${tx.contract}.${tx.method}`, "consent.grant");
  assert.equal(toHex(encodeTx(encodeTxUnsigned(tx), tx.sig)), toHex(raw));
});

test("a record with every field type encodes to record.hex", () => {
  const values = {
    count: 0x0102030405060708n,
    active: true,
    record_id: fill(32, 0xb1),
    category: "lab-result",
    payload: "deadbeef",
    readers: [toHex(fill(32, 0x02)), fill(32, 0x01)], // sorted by the encoder
    keys: [{ reader: fill(32, 0x03), sealed_key: fill(80, 0x5e) }],
    box_pk: fill(32, 0xc1),
  };
  const want = vectorHex("record.hex");
  const got = encodeRecord(ALL_SCHEMA, values);
  assert.equal(toHex(got), toHex(want));
  const back = decodeRecord(ALL_SCHEMA, want);
  assert.equal(back.count, 0x0102030405060708n);
  assert.equal(back.category, "lab-result");
  assert.equal(toHex(back.readers[0]), toHex(fill(32, 0x01)));
  assert.equal(toHex(encodeRecord(ALL_SCHEMA, { ...back, payload: back.payload })), toHex(want));
});

test("the encoder and decoder refuse what a node refuses", () => {
  const s = [{ name: "category", type: "str", max: 4 }];
  throwsCode(() => encodeRecord(s, { category: "toolong" }), "OVERSIZE");
  throwsCode(() => encodeRecord(s, { category: "caf\u00e9" }), "NONCANONICAL");
  throwsCode(() => encodeRecord(s, { nope: "x" }), "BAD_ARGS");
  throwsCode(() => encodeRecord([{ name: "n", type: "u64", max: 0 }], { n: -1 }), "BAD_ARGS");
  throwsCode(
    () => encodeRecord([{ name: "n", type: "u64", max: 0 }], { n: "18446744073709551616" }),
    "BAD_ARGS",
  );
  throwsCode(
    () => encodeRecord([{ name: "r", type: "ids", max: 4 }], { r: [fill(32, 1), fill(32, 1)] }),
    "BAD_ARGS",
  );
  throwsCode(
    () => decodeRecord([{ name: "b", type: "bool", max: 0 }], Uint8Array.of(2)),
    "NONCANONICAL",
  );
  const unsorted = new Uint8Array([0, 2, ...fill(32, 2), ...fill(32, 1)]);
  throwsCode(() => decodeRecord([{ name: "r", type: "ids", max: 4 }], unsorted), "NONCANONICAL");
  const raw = vectorHex("tx.hex");
  throwsCode(() => decodeTx(new Uint8Array([...raw, 0])), "TRAILING_BYTES");
  throwsCode(() => decodeTx(raw.subarray(0, raw.length - 1)), "MALFORMED");
  const v2 = Uint8Array.from(raw);
  v2[0] = 2;
  throwsCode(() => decodeTx(v2), "MALFORMED");
  const tx = decodeTx(raw);
  throwsCode(() => encodeTxUnsigned({ ...tx, method: "Grant" }), "NONCANONICAL");
  throwsCode(() => encodeTxUnsigned({ ...tx, chainId: "" }), "NONCANONICAL");
  throwsCode(() => encodeTxUnsigned({ ...tx, chainId: "c".repeat(33) }), "OVERSIZE");
});

test("BLAKE2b, tagged hashes and keys match crypto_medchain.txt", () => {
  let n = 0;
  for (const [kind, ...f] of vectorLines("crypto_medchain.txt")) {
    const data = (h) => (h === "-" ? new Uint8Array(0) : fromHex(h));
    if (kind === "blake2b256") {
      assert.equal(toHex(blake2b256(data(f[0]))), f[1]);
    } else if (kind === "tagged") {
      assert.equal(toHex(taggedHash(f[0], data(f[1]))), f[2]);
    } else if (kind === "keys") {
      const k = keysFromSeed(fromHex(f[0]));
      assert.deepEqual([toHex(k.signPk), toHex(k.boxPk), toHex(k.id)], [f[1], f[2], f[3]]);
    } else {
      assert.fail(`unknown vector kind ${kind}`);
    }
    n++;
  }
  assert.ok(n >= 10, `read the vectors (${n})`);
});

test("signed-request digests match tests/vectors/api/request_sig.txt", () => {
  const lines = vectorLines(path.join("api", "request_sig.txt"));
  assert.ok(lines.length >= 4);
  for (const [kind, method, target, body, ts, nonce, chain, message, digest] of lines) {
    assert.equal(kind, "request");
    const b = body === "-" ? null : fromHex(body);
    assert.equal(
      toHex(requestMessage(method, target, b, BigInt(ts), fromHex(nonce), chain)),
      message,
    );
    assert.equal(
      toHex(requestDigest(method, target, b, BigInt(ts), fromHex(nonce), chain)),
      digest,
    );
  }
});

test("signatures, signed headers and sealed boxes round-trip", () => {
  const k = keysFromSeed(fill(32, 7));
  const msg = taggedHash("medchain.tx.v1", Uint8Array.of(1, 2, 3));
  assert.ok(verify(sign(msg, k), msg, k.signPk));
  const h = signedHeaders(k, "GET", "/v1/consents?patient=ab", "medchain-test", 1000, fill(16, 9));
  assert.equal(h["X-Medchain-Key"], toHex(k.signPk));
  assert.equal(h["X-Medchain-Timestamp"], "1000");
  const d = requestDigest(
    "GET",
    "/v1/consents?patient=ab",
    null,
    1000n,
    fill(16, 9),
    "medchain-test",
  );
  assert.ok(verify(fromHex(h["X-Medchain-Signature"]), d, k.signPk));
  const other = keysFromSeed(fill(32, 8));
  const sealed = sealTo(k.boxPk, fill(32, 0xaa));
  assert.equal(sealed.length, 80);
  assert.equal(toHex(sealOpen(sealed, k)), toHex(fill(32, 0xaa)));
  assert.equal(sealOpen(sealed, other), null);
});

function keygen(dir, name, passphrase) {
  const file = path.join(dir, name);
  const seed = toHex(fill(32, name.length));
  const args = ["keygen", "--out", file, "--seed", seed, "--json"];
  const env = { ...process.env };
  if (passphrase === null) {
    args.push("--no-passphrase");
  } else {
    env.MEDCHAIN_PASSPHRASE = passphrase;
  }
  const info = JSON.parse(execFileSync(BIN, args, { env, encoding: "utf8" }));
  return { info, bytes: new Uint8Array(fs.readFileSync(file)) };
}

test("keystores written by medchain keygen open", { skip: BIN === null && "needs --bin" }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medchain-web-"));
  try {
    const plain = keygen(dir, "plain.key", null);
    const k = keystoreOpen(plain.bytes, "");
    assert.deepEqual(
      [toHex(k.id), toHex(k.signPk), toHex(k.boxPk)],
      [plain.info.id, plain.info.sign_pk, plain.info.box_pk],
    );
    const damaged = Uint8Array.from(plain.bytes);
    damaged[150] ^= 1;
    throwsCode(() => keystoreOpen(damaged, ""), "BAD_PASSPHRASE");
    throwsCode(() => keystoreOpen(plain.bytes.subarray(0, 176), ""), "MALFORMED");

    const prot = keygen(dir, "protected.key", "correct horse battery staple");
    throwsCode(() => keystoreOpen(prot.bytes, ""), "BAD_PASSPHRASE");
    throwsCode(() => keystoreOpen(prot.bytes, "wrong"), "BAD_PASSPHRASE");
    const kp = keystoreOpen(prot.bytes, "correct horse battery staple");
    assert.equal(toHex(kp.id), prot.info.id);
    assert.equal(toHex(kp.boxPk), prot.info.box_pk);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
