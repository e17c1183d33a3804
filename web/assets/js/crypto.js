// medchain's cryptography in the browser, on libsodium (libsodium.js, the
// same library the node uses): the tagged BLAKE2b-256 hashes, keys from a
// seed, Ed25519 signatures of transactions and of signed requests, sealed
// boxes for data keys, and the 177-byte keystore files (docs/protocol.md,
// "Keystores"), opened with Argon2id and XChaCha20-Poly1305.
//
// The caller hands in the initialized libsodium object once (cryptoInit):
// the browser loads it from /assets/vendor/, the tests from npm. Secret
// keys live in the returned object only, in memory; forgetKeys overwrites
// them. Nothing here stores or sends a secret.
import { concat, equal, u8, u32be, u64be, readU64be, utf8, wipe, toHex } from "./bytes.js";

let S = null;

/** Sets the libsodium instance (after its `ready` promise resolved). */
export function cryptoInit(sodium) {
  S = sodium;
}

function lib() {
  if (S === null) {
    throw new Error("cryptoInit was not called");
  }
  return S;
}

/** A refusal with one of the project's stable codes. */
export class CryptoError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CryptoError";
    this.code = code;
  }
}

export function blake2b256(data) {
  return lib().crypto_generichash(32, data, null);
}

/** H_tag(data) = BLAKE2b-256(u8 len(tag) | tag | data). */
export function taggedHash(tag, data) {
  const t = utf8(tag);
  if (t.length < 1 || t.length > 255) {
    throw new RangeError("a tag is 1 to 255 bytes");
  }
  return blake2b256(concat(u8(t.length), t, data));
}

export const TAG = Object.freeze({
  ID: "medchain.id.v1",
  BOXKEY: "medchain.boxkey.v1",
  TX: "medchain.tx.v1",
  TXID: "medchain.txid.v1",
  REQUEST: "medchain.request.v1",
});

/**
 * An identity's keys from its 32-byte seed: Ed25519 (signPk, signSk), the
 * X25519 box key whose secret is H_boxkey(seed), and the id H_id(signPk)
 * (the id of an identity registered with this key as its first key).
 */
export function keysFromSeed(seed) {
  const s = lib();
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new CryptoError("BAD_ARGS", "a secret seed is 32 bytes");
  }
  const kp = s.crypto_sign_seed_keypair(seed);
  const boxSk = taggedHash(TAG.BOXKEY, seed);
  return {
    seed: Uint8Array.from(seed),
    signPk: kp.publicKey,
    signSk: kp.privateKey,
    boxSk,
    boxPk: s.crypto_scalarmult_base(boxSk),
    id: taggedHash(TAG.ID, kp.publicKey),
  };
}

/** Overwrites a key set's secrets. */
export function forgetKeys(keys) {
  if (keys) {
    wipe(keys.seed);
    wipe(keys.signSk);
    wipe(keys.boxSk);
  }
}

export function sign(msg, keys) {
  return lib().crypto_sign_detached(msg, keys.signSk);
}

export function verify(sig, msg, pk) {
  return lib().crypto_sign_verify_detached(sig, msg, pk);
}

/** A 32-byte data key sealed to an X25519 public key (80 bytes). */
export function sealTo(boxPk, msg) {
  return lib().crypto_box_seal(msg, boxPk);
}

/** Opens a sealed box with the keys' box pair; null when it is not for them. */
export function sealOpen(sealed, keys) {
  try {
    return lib().crypto_box_seal_open(sealed, keys.boxPk, keys.boxSk);
  } catch {
    return null;
  }
}

export function randomBytes(n) {
  return lib().randombytes_buf(n);
}

// ---- keystores ---------------------------------------------------------------

export const KEYSTORE = Object.freeze({
  BYTES: 177,
  MAGIC: "MCKEYS1\n",
  HEADER_BYTES: 129,
  KDF_NONE: 0,
  KDF_ARGON2ID: 1,
  OPSLIMIT_MAX: 32n,
  MEMLIMIT_MAX: 1n << 30n,
});

/** The public part of a keystore file, without opening it. */
export function keystoreHeader(file) {
  if (!(file instanceof Uint8Array) || file.length !== KEYSTORE.BYTES) {
    throw new CryptoError("MALFORMED", `a keystore file is exactly ${KEYSTORE.BYTES} bytes`);
  }
  if (!equal(file.subarray(0, 8), utf8(KEYSTORE.MAGIC))) {
    throw new CryptoError("MALFORMED", "not a medchain keystore file");
  }
  const h = {
    kdf: file[8],
    opslimit: readU64be(file, 9),
    memlimit: readU64be(file, 17),
    salt: file.subarray(25, 41),
    nonce: file.subarray(41, 65),
    signPk: file.subarray(65, 97),
    boxPk: file.subarray(97, 129),
    sealed: file.subarray(129, 177),
  };
  const s = lib();
  const zeroSalt = h.salt.every((b) => b === 0);
  const ok =
    h.kdf === KEYSTORE.KDF_NONE
      ? h.opslimit === 0n && h.memlimit === 0n && zeroSalt
      : h.kdf === KEYSTORE.KDF_ARGON2ID &&
        h.opslimit >= BigInt(s.crypto_pwhash_OPSLIMIT_MIN) &&
        h.opslimit <= KEYSTORE.OPSLIMIT_MAX &&
        h.memlimit >= BigInt(s.crypto_pwhash_MEMLIMIT_MIN) &&
        h.memlimit <= KEYSTORE.MEMLIMIT_MAX;
  if (!ok) {
    throw new CryptoError("MALFORMED", "the keystore's key derivation settings are invalid");
  }
  return { ...h, protected: h.kdf === KEYSTORE.KDF_ARGON2ID };
}

/**
 * Opens a keystore file (177 bytes) with its passphrase (ignored by an
 * unprotected file) and returns its keys. Argon2id runs at the limits the
 * file records (libsodium's MODERATE by default: 256 MiB, about a second
 * natively, longer here). Throws CryptoError BAD_PASSPHRASE for a wrong
 * passphrase (or a damaged file), MALFORMED for a file that is not one.
 */
export function keystoreOpen(file, passphrase) {
  const s = lib();
  const h = keystoreHeader(file);
  let key;
  if (h.protected) {
    if (!passphrase) {
      throw new CryptoError("BAD_PASSPHRASE", "this keystore is protected: enter its passphrase");
    }
    key = s.crypto_pwhash(
      32,
      utf8(passphrase),
      h.salt,
      Number(h.opslimit),
      Number(h.memlimit),
      s.crypto_pwhash_ALG_ARGON2ID13,
    );
  } else {
    key = new Uint8Array(32);
  }
  let seed = null;
  try {
    seed = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      h.sealed,
      file.subarray(0, KEYSTORE.HEADER_BYTES),
      h.nonce,
      key,
    );
  } catch {
    throw new CryptoError("BAD_PASSPHRASE", "wrong passphrase or damaged keystore");
  } finally {
    wipe(key);
  }
  const keys = keysFromSeed(seed);
  wipe(seed);
  if (!equal(keys.signPk, h.signPk) || !equal(keys.boxPk, h.boxPk)) {
    forgetKeys(keys);
    throw new CryptoError("BAD_PASSPHRASE", "wrong passphrase or damaged keystore");
  }
  return keys;
}

// ---- signed requests ---------------------------------------------------------

/**
 * What a signed request signs (docs/api.md, "Signed requests"):
 * H_medchain.request.v1(u8 len(method) | method | u32 len(target) | target
 * | BLAKE2b-256(body) | u64 ts_ms | nonce(16) | u32 len(chain_id) | chain_id).
 * target is the path and query exactly as sent.
 */
export function requestMessage(method, target, body, tsMs, nonce, chainId) {
  const m = utf8(method);
  const t = utf8(target);
  const c = utf8(chainId);
  return concat(
    u8(m.length),
    m,
    u32be(t.length),
    t,
    blake2b256(body ?? new Uint8Array(0)),
    u64be(BigInt(tsMs)),
    nonce,
    u32be(c.length),
    c,
  );
}

export function requestDigest(method, target, body, tsMs, nonce, chainId) {
  return taggedHash(TAG.REQUEST, requestMessage(method, target, body, tsMs, nonce, chainId));
}

/** The four X-Medchain-* headers of a GET of target, signed now with a fresh nonce. */
export function signedHeaders(keys, method, target, chainId, tsMs = Date.now(), nonce = null) {
  const n = nonce ?? randomBytes(16);
  const digest = requestDigest(method, target, null, tsMs, n, chainId);
  return {
    "X-Medchain-Key": toHex(keys.signPk),
    "X-Medchain-Timestamp": String(tsMs),
    "X-Medchain-Nonce": toHex(n),
    "X-Medchain-Signature": toHex(sign(digest, keys)),
  };
}

// ---- record envelopes --------------------------------------------------------

/**
 * A medical record's ciphertext, as src/crypto/record.c writes it:
 * "MCR1" | nonce (24) | XChaCha20-Poly1305-IETF(plaintext) with its 16-byte
 * tag, the associated data "medchain.record.v1" | record id (32 raw bytes)
 * binding it to its record.
 */
export const RECORD_ENVELOPE = Object.freeze({
  MAGIC: "MCR1",
  AD_TAG: "medchain.record.v1",
  NONCE_BYTES: 24,
  TAG_BYTES: 16,
  KEY_BYTES: 32,
  OVERHEAD: 4 + 24 + 16,
});

function recordAd(recordId) {
  if (!(recordId instanceof Uint8Array) || recordId.length !== 32) {
    throw new CryptoError("BAD_ARGS", "a record id is 32 bytes");
  }
  return concat(utf8(RECORD_ENVELOPE.AD_TAG), recordId);
}

function dataKeyCheck(key) {
  if (!(key instanceof Uint8Array) || key.length !== RECORD_ENVELOPE.KEY_BYTES) {
    throw new CryptoError("BAD_ARGS", "a record's data key is 32 bytes");
  }
}

/** Encrypts a record's plaintext under its data key (a fresh nonce unless one is given). */
export function recordEncrypt(plain, recordId, key, nonce = null) {
  dataKeyCheck(key);
  const n = nonce ?? randomBytes(RECORD_ENVELOPE.NONCE_BYTES);
  if (n.length !== RECORD_ENVELOPE.NONCE_BYTES) {
    throw new CryptoError("BAD_ARGS", "a record nonce is 24 bytes");
  }
  const ad = recordAd(recordId);
  const c = lib().crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, null, n, key);
  return concat(utf8(RECORD_ENVELOPE.MAGIC), n, c);
}

/**
 * Opens a record's ciphertext with its data key. MALFORMED when it is not
 * an envelope of this version, BAD_SIGNATURE when it does not authenticate
 * (wrong key, another record's ciphertext, altered bytes): the codes
 * `medchain records get` reports.
 */
export function recordDecrypt(envelope, recordId, key) {
  dataKeyCheck(key);
  const ad = recordAd(recordId);
  if (
    !(envelope instanceof Uint8Array) ||
    envelope.length < RECORD_ENVELOPE.OVERHEAD ||
    !equal(envelope.subarray(0, 4), utf8(RECORD_ENVELOPE.MAGIC))
  ) {
    throw new CryptoError("MALFORMED", "not a medchain record ciphertext (MCR1)");
  }
  const nonce = envelope.subarray(4, 4 + RECORD_ENVELOPE.NONCE_BYTES);
  try {
    return lib().crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      envelope.subarray(4 + RECORD_ENVELOPE.NONCE_BYTES),
      ad,
      nonce,
      key,
    );
  } catch {
    throw new CryptoError("BAD_SIGNATURE", "the record does not decrypt with its key");
  }
}
