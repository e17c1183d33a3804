// A medical record's content as the portal reads it (docs/api.md, "GET
// /v1/records/{id}/content"): a signed GET of the ciphertext, checked
// against the hash the chain anchored, its data key opened with the
// reader's X25519 key, then decrypted here. The node never sees the key or
// the plaintext; the chain holds the audit entry of the read before the
// node lets the bytes out.
//
// The data key comes from the anchor's `keys` (sealed to the patient, the
// author, and each grantee of a record-scoped consent), or, for a reader
// whose key is not in the anchor (a category consent), from the header
// X-Medchain-Sealed-Key that the record's custodian node re-seals to them.
//
// No DOM here (recordview.js shows what this returns), so web/test runs it
// under Node.
import { ApiError, chainId } from "./api.js";
import { equal, fromHex, wipe } from "./bytes.js";
import { CryptoError, blake2b256, recordDecrypt, sealOpen, signedHeaders } from "./crypto.js";

const TIMEOUT_MS = 30000; // the node waits up to 15 s for the audit entry to commit
const PURPOSE = /^[A-Za-z0-9._-]{1,32}$/;

/**
 * The ciphertext of record (64 hex digits), read for purpose with a
 * request signed by keys: {bytes, sealedKey, contentHash, audit} (the last
 * three from the answer's X-Medchain-* headers, null when absent). A
 * refusal is an ApiError with the node's code (CONSENT_REQUIRED,
 * RECORD_ERASED, ...): the node logs refused attempts too.
 */
export async function fetchContent(record, purpose, keys) {
  if (!/^[0-9a-f]{64}$/.test(record)) {
    throw new ApiError("BAD_ARGS", "a record id is 64 hex digits");
  }
  if (!PURPOSE.test(purpose)) {
    throw new ApiError("BAD_ARGS", "a purpose is 1 to 32 letters, digits, '.', '_' or '-'");
  }
  const path = `/v1/records/${record}/content?purpose=${purpose}`;
  const headers = signedHeaders(keys, "GET", path, await chainId());
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  let res;
  let bytes;
  try {
    res = await fetch(path, { headers, cache: "no-store", signal: ctl.signal });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      const err = body.error ?? {};
      throw new ApiError(err.code ?? "INTERNAL", err.message ?? `HTTP ${res.status}`, res.status);
    }
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    if (e instanceof ApiError) {
      throw e;
    }
    throw new ApiError("UNAVAILABLE", "the node could not be reached");
  } finally {
    clearTimeout(timer);
  }
  return {
    bytes,
    sealedKey: res.headers.get("X-Medchain-Sealed-Key"),
    contentHash: res.headers.get("X-Medchain-Content-Hash"),
    audit: res.headers.get("X-Medchain-Audit-Id"),
  };
}

function openSealed(hex, keys) {
  let sealed;
  try {
    sealed = fromHex(hex);
  } catch {
    return null;
  }
  return sealOpen(sealed, keys);
}

/**
 * The 32-byte data key of anchor for reader (an identity id in hex):
 * the anchor's key sealed to the reader, else the one the node re-sealed
 * (sealedKeyHex, X-Medchain-Sealed-Key). CONSENT_REQUIRED when neither
 * opens with keys (as `medchain records get` says).
 */
export function openDataKey(anchor, reader, keys, sealedKeyHex = null) {
  for (const k of anchor.keys ?? []) {
    if (k.reader === reader) {
      const key = openSealed(k.sealed_key, keys);
      if (key !== null && key.length === 32) {
        return key;
      }
    }
  }
  if (sealedKeyHex) {
    const key = openSealed(sealedKeyHex, keys);
    if (key !== null && key.length === 32) {
      return key;
    }
  }
  throw new CryptoError("CONSENT_REQUIRED", "no data key of this record is sealed to you");
}

/**
 * The plaintext of a record's ciphertext: checked first against the
 * anchor's content_hash (BLAKE2b-256, HASH_MISMATCH otherwise: the node
 * served bytes that are not the anchored record), then opened with the
 * data key, which is wiped afterwards.
 */
export function openRecord(anchor, bytes, reader, keys, sealedKeyHex = null) {
  let want;
  try {
    want = fromHex(anchor.content_hash, 32);
  } catch {
    throw new CryptoError("MALFORMED", "the record's anchor has no content hash");
  }
  if (!equal(blake2b256(bytes), want)) {
    throw new CryptoError(
      "HASH_MISMATCH",
      "the node served bytes that are not the anchored record: they were not opened",
    );
  }
  const key = openDataKey(anchor, reader, keys, sealedKeyHex);
  try {
    return recordDecrypt(bytes, fromHex(anchor.id, 32), key);
  } finally {
    wipe(key);
  }
}

/** A plaintext as JSON when it is UTF-8 JSON, else null. */
export function parseRecord(plain) {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(plain));
  } catch {
    return null;
  }
}

/** Whether a FHIR resource is an ECG Observation the plot can draw. */
export function isEcgObservation(resource) {
  return (
    resource !== null &&
    typeof resource === "object" &&
    resource.resourceType === "Observation" &&
    Array.isArray(resource.component) &&
    resource.component.length > 0 &&
    resource.component.every((c) => c && typeof c.valueSampledData === "object")
  );
}

/** The download name of a record: RECORD-ID.json for JSON, .bin otherwise. */
export function recordFileName(record, json) {
  return `${record}.${json === null ? "bin" : "json"}`;
}
