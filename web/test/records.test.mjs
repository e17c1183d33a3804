// The portal's record envelope and content checks (crypto.js recordEncrypt
// and recordDecrypt, records.js openDataKey and openRecord):
//
//   node web/test/records.test.mjs [--bin path/to/medchain]
//
// Without a node: the "MCR1" | nonce | XChaCha20-Poly1305 layout, a round
// trip, the associated data binding a ciphertext to its record id (another
// id, key, flipped byte or magic is refused with its code), the content
// hash checked before any key is tried, and the data key taken from the
// anchor or from the node's re-sealed header.
//
// With --bin, across languages: a one-node testnet on 127.0.0.1, a doctor
// stores a record with `medchain records put` (encrypted by
// src/crypto/record.c), and the stored ciphertext and the anchor as the
// node serves it open here with the patient's keystore to the exact bytes
// that were put. Run by CTest (web/records).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import test from "node:test";

import { fromHex, toHex, utf8 } from "../assets/js/bytes.js";
import {
  CryptoError,
  RECORD_ENVELOPE,
  blake2b256,
  cryptoInit,
  keysFromSeed,
  keystoreOpen,
  randomBytes,
  recordDecrypt,
  recordEncrypt,
  sealTo,
} from "../assets/js/crypto.js";
import {
  isEcgObservation,
  openDataKey,
  openRecord,
  parseRecord,
  recordFileName,
} from "../assets/js/records.js";

if (globalThis.crypto === undefined) {
  globalThis.crypto = (await import("node:crypto")).webcrypto; // Node 18
}
const sodium = (await import("libsodium-wrappers-sumo")).default;
await sodium.ready;
cryptoInit(sodium);

const binArg = process.argv.indexOf("--bin");
const BIN = binArg > 0 ? process.argv[binArg + 1] : null;

function throwsCode(fn, code) {
  assert.throws(fn, (e) => e instanceof CryptoError && e.code === code, `expected ${code}`);
}

const fill = (n, b) => new Uint8Array(n).fill(b);
const RECORD = fill(32, 0x42);
const KEY = fill(32, 0x07);
const NONCE = Uint8Array.from({ length: 24 }, (_, i) => i);
const PLAIN = utf8('{"resourceType":"Observation","status":"final"}');

test("the envelope is MCR1 | nonce | ciphertext and tag, bound to its record", () => {
  const c = recordEncrypt(PLAIN, RECORD, KEY, NONCE);
  assert.equal(c.length, PLAIN.length + RECORD_ENVELOPE.OVERHEAD);
  assert.equal(new TextDecoder().decode(c.subarray(0, 4)), "MCR1");
  assert.deepEqual(c.subarray(4, 28), NONCE);
  // The AEAD over exactly that associated data, as libsodium computes it.
  const ad = new Uint8Array([...utf8("medchain.record.v1"), ...RECORD]);
  const raw = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(PLAIN, ad, null, NONCE, KEY);
  assert.deepEqual(c.subarray(28), raw);
  assert.deepEqual(recordDecrypt(c, RECORD, KEY), PLAIN);
  // A fresh nonce each time without one.
  const a = recordEncrypt(PLAIN, RECORD, KEY);
  const b = recordEncrypt(PLAIN, RECORD, KEY);
  assert.notDeepEqual(a.subarray(4, 28), b.subarray(4, 28));
  assert.deepEqual(recordDecrypt(b, RECORD, KEY), PLAIN);
});

test("another record id, another key, a flipped byte or magic do not open", () => {
  const c = recordEncrypt(PLAIN, RECORD, KEY, NONCE);
  throwsCode(() => recordDecrypt(c, fill(32, 0x43), KEY), "BAD_SIGNATURE");
  throwsCode(() => recordDecrypt(c, RECORD, fill(32, 0x08)), "BAD_SIGNATURE");
  for (const at of [4, 27, 28, c.length - 1]) {
    const t = Uint8Array.from(c);
    t[at] ^= 1;
    throwsCode(() => recordDecrypt(t, RECORD, KEY), "BAD_SIGNATURE");
  }
  const m = Uint8Array.from(c);
  m[3] = 0x32; // "MCR2"
  throwsCode(() => recordDecrypt(m, RECORD, KEY), "MALFORMED");
  const short = c.subarray(0, RECORD_ENVELOPE.OVERHEAD - 1);
  throwsCode(() => recordDecrypt(short, RECORD, KEY), "MALFORMED");
  throwsCode(() => recordDecrypt(c, RECORD.subarray(0, 31), KEY), "BAD_ARGS");
  throwsCode(() => recordDecrypt(c, RECORD, KEY.subarray(0, 16)), "BAD_ARGS");
  // An empty record is a valid envelope too.
  const empty = recordEncrypt(new Uint8Array(0), RECORD, KEY);
  assert.equal(recordDecrypt(empty, RECORD, KEY).length, 0);
});

function party(b) {
  return { keys: keysFromSeed(fill(32, b)) };
}

test("openRecord checks the anchored hash first, then opens the key sealed to the reader", () => {
  const patient = party(1);
  const doctor = party(2);
  const stranger = party(3);
  const pid = toHex(patient.keys.id);
  const did = toHex(doctor.keys.id);
  const c = recordEncrypt(PLAIN, RECORD, KEY);
  const anchor = {
    id: toHex(RECORD),
    content_hash: toHex(blake2b256(c)),
    keys: [{ reader: pid, sealed_key: toHex(sealTo(patient.keys.boxPk, KEY)) }],
  };
  assert.deepEqual(openRecord(anchor, c, pid, patient.keys), PLAIN);
  // Bytes that are not the anchored ones are refused before decryption.
  const t = Uint8Array.from(c);
  t[t.length - 1] ^= 1;
  throwsCode(() => openRecord(anchor, t, pid, patient.keys), "HASH_MISMATCH");
  const noHash = { ...anchor, content_hash: "00" };
  throwsCode(() => openRecord(noHash, c, pid, patient.keys), "MALFORMED");
  // The doctor has no key in the anchor: refused, unless the node re-sealed one.
  throwsCode(() => openRecord(anchor, c, did, doctor.keys), "CONSENT_REQUIRED");
  const header = toHex(sealTo(doctor.keys.boxPk, KEY));
  assert.deepEqual(openRecord(anchor, c, did, doctor.keys, header), PLAIN);
  // A key sealed to someone else opens for nobody else, whatever it claims.
  throwsCode(() => openDataKey(anchor, pid, stranger.keys), "CONSENT_REQUIRED");
  throwsCode(() => openDataKey(anchor, did, doctor.keys, "zz"), "CONSENT_REQUIRED");
  const toPatient = toHex(sealTo(patient.keys.boxPk, KEY));
  throwsCode(() => openDataKey(anchor, did, doctor.keys, toPatient), "CONSENT_REQUIRED");
  // An anchor key for the reader wins over the header.
  const both = { ...anchor, keys: [...anchor.keys, { reader: did, sealed_key: header }] };
  assert.deepEqual(openDataKey(both, did, doctor.keys, null), KEY);
  // The key of another record does not open this one.
  const other = { ...anchor, id: toHex(fill(32, 0x44)) };
  throwsCode(() => openRecord(other, c, pid, patient.keys), "BAD_SIGNATURE");
});

test("plaintexts: JSON or not, ECG Observations, download names", () => {
  assert.equal(parseRecord(utf8("not json")), null);
  assert.equal(parseRecord(new Uint8Array([0xff, 0xfe])), null);
  assert.deepEqual(parseRecord(utf8('{"a":1}')), { a: 1 });
  const sd = { origin: { value: 0, code: "mV" }, period: 2, dimensions: 1, data: "1 2" };
  const leads = [{ valueSampledData: sd }];
  assert.equal(isEcgObservation({ resourceType: "Observation", component: leads }), true);
  assert.equal(isEcgObservation({ resourceType: "Observation", status: "final" }), false);
  assert.equal(isEcgObservation({ resourceType: "Observation", component: [] }), false);
  assert.equal(isEcgObservation({ resourceType: "Patient", component: leads }), false);
  assert.equal(isEcgObservation(null), false);
  assert.equal(recordFileName("ab", {}), "ab.json");
  assert.equal(recordFileName("ab", null), "ab.bin");
});

// ---- across languages: a ciphertext src/crypto/record.c wrote ------------------

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

async function freePortBase(span = 20) {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let p = base; p < base + span && ok; p++) {
      ok = await portFree(p);
    }
    if (ok) {
      return base;
    }
  }
  throw new Error("no free port range");
}

test(
  "a record medchain encrypted opens in JavaScript",
  { skip: BIN === null && "needs --bin", timeout: 240000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medchain-web-records-"));
    const netDir = path.join(dir, "net");
    const run = (...args) =>
      execFileSync(BIN, args, {
        encoding: "utf8",
        timeout: 120000,
        stdio: ["ignore", "pipe", "pipe"],
      });
    let started = false;
    try {
      const base = await freePortBase();
      const url = `http://127.0.0.1:${base}`;
      run("testnet", "init", "--nodes", "1", "--dir", netDir, "--base-port", String(base));
      run("testnet", "start", "--dir", netDir);
      started = true;
      const admin = path.join(netDir, "keys", "riverside-general-hospital-admin.key");
      const keygen = (name) => {
        const file = path.join(dir, `${name}.key`);
        return { ...JSON.parse(run("keygen", "--out", file, "--json", "--no-passphrase")), file };
      };
      const patient = keygen("patient");
      const doctor = keygen("doctor");
      const tx = (...kv) => JSON.parse(run("tx", "--node", url, "--key", admin, "--json", ...kv));
      tx("identity.enrol_patient", `sign_pk=@${patient.file}`, `box_pk=@${patient.file}`);
      tx(
        "identity.register",
        "kind=practitioner",
        `sign_pk=@${doctor.file}`,
        `box_pk=@${doctor.file}`,
        `licence_hash=${"5b".repeat(32)}`,
        "role=cardiology",
      );
      const plain = utf8(
        JSON.stringify({ resourceType: "Observation", status: "final", valueString: "é ✓ 心" }),
      );
      const src = path.join(dir, "record.json");
      fs.writeFileSync(src, plain);
      const put = JSON.parse(
        run(
          "records", "put", "--node", url, "--key", doctor.file, "--patient", patient.id,
          "--category", "cardiology", "--fhir-type", "Observation", "--in", src, "--json",
        ),
      );
      const anchor = JSON.parse(
        run("query", "--node", url, "--key", patient.file, "--json", `/v1/records/${put.record}`),
      );
      const h = anchor.content_hash;
      const blob = path.join(netDir, "node0", "blobs", h.slice(0, 2), h);
      const cipher = new Uint8Array(fs.readFileSync(blob));
      assert.equal(anchor.size, cipher.length);
      assert.equal(cipher.length, plain.length + RECORD_ENVELOPE.OVERHEAD);

      const pk = keystoreOpen(new Uint8Array(fs.readFileSync(patient.file)), "");
      assert.deepEqual(openRecord(anchor, cipher, patient.id, pk), plain);
      // The author's key is in the anchor too; a stranger's opens nothing.
      const dk = keystoreOpen(new Uint8Array(fs.readFileSync(doctor.file)), "");
      assert.deepEqual(openRecord(anchor, cipher, doctor.id, dk), plain);
      const key = openDataKey(anchor, patient.id, pk);
      throwsCode(() => recordDecrypt(cipher, fill(32, 0), key), "BAD_SIGNATURE");
      assert.deepEqual(recordDecrypt(cipher, fromHex(put.record, 32), key), plain);
      const stranger = keysFromSeed(randomBytes(32));
      throwsCode(() => openRecord(anchor, cipher, patient.id, stranger), "CONSENT_REQUIRED");
    } finally {
      if (started) {
        try {
          run("testnet", "stop", "--dir", netDir);
        } catch (e) {
          console.log(`testnet stop: ${e.message}`);
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
);
