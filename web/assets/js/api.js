// The node's HTTP API as the portal uses it (docs/api.md): public reads,
// signed reads (X-Medchain-* headers, signed here with the key in memory),
// transaction submission, and the event streams. Same origin only: the
// portal talks to the node that served it and to nothing else.
//
// Every failure becomes an ApiError with the node's stable code and
// message, so the views can show both; a node that cannot be reached is
// UNAVAILABLE, an answer that is not JSON is INTERNAL.
import { toHex } from "./bytes.js";
import { encodeRecord, encodeTx, encodeTxUnsigned } from "./codec.js";
import { TAG, sign, signedHeaders, taggedHash } from "./crypto.js";

/** An error the portal shows as "CODE: message". */
export class ApiError extends Error {
  constructor(code, message, status = 0, body = null) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.body = body;
  }
}

/** Any error as {code, message}, for display. */
export function describeError(e) {
  if (e && typeof e.code === "string") {
    return { code: e.code, message: e.message };
  }
  return { code: "INTERNAL", message: String(e && e.message ? e.message : e) };
}

const TIMEOUT_MS = 30000;

async function request(path, init = {}) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), init.timeoutMs ?? TIMEOUT_MS);
  let res;
  try {
    res = await fetch(path, { ...init, signal: ctl.signal, cache: "no-store" });
  } catch {
    throw new ApiError("UNAVAILABLE", "the node could not be reached");
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    throw new ApiError("INTERNAL", `the node answered ${res.status} without JSON`, res.status);
  }
  if (!res.ok) {
    const err = body && body.error ? body.error : {};
    throw new ApiError(
      err.code ?? "INTERNAL",
      err.message ?? `HTTP ${res.status}`,
      res.status,
      body,
    );
  }
  return body;
}

/** GET of a public route: the parsed JSON answer. */
export function getJson(path) {
  return request(path);
}

let statusCache = null;

/** GET /v1/status, fresh. */
export async function status() {
  statusCache = await getJson("/v1/status");
  return statusCache;
}

/** The chain id (asked once). */
export async function chainId() {
  if (statusCache === null) {
    await status();
  }
  return statusCache.chain_id;
}

/** GET of a route that answers only signed requests, signed as keys. */
export async function signedGet(path, keys) {
  const headers = signedHeaders(keys, "GET", path, await chainId());
  return request(path, { headers });
}

/**
 * Every item of a paged listing (following `next`), at most maxPages pages
 * of 100. get is getJson or a signed reader.
 */
export async function listAll(path, get = getJson, maxPages = 10) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  let cursor = null;
  for (let page = 0; page < maxPages; page++) {
    const q = `${path}${sep}limit=100${cursor ? `&cursor=${cursor}` : ""}`;
    const body = await get(q);
    items.push(...body.items);
    cursor = body.next;
    if (!cursor) {
      break;
    }
  }
  return items;
}

let methodsCache = null;

/** The argument schema of contract.method, from GET /v1/methods. */
export async function methodSchema(contract, method) {
  if (methodsCache === null) {
    methodsCache = await getJson("/v1/methods");
  }
  const m = methodsCache.find((x) => x.contract === contract && x.method === method);
  if (!m) {
    throw new ApiError("UNKNOWN_METHOD", `${contract}.${method} is not a method of this node`);
  }
  return m.args;
}

/** The identity a signing key belongs to (GET /v1/keys/{pk}), with its next nonce. */
export function identityOfKey(keys) {
  return getJson(`/v1/keys/${toHex(keys.signPk)}`);
}

/**
 * Signs contract.method(args) as keys' identity and submits it, waiting
 * for the block (POST /v1/txs?wait=commit). The node checks everything
 * again; its verdict comes back as the answer or as an ApiError.
 */
export async function submitCall(keys, contract, method, args) {
  const schema = await methodSchema(contract, method);
  const ident = await identityOfKey(keys);
  const unsigned = encodeTxUnsigned({
    chainId: await chainId(),
    sender: ident.id,
    pubkey: keys.signPk,
    nonce: ident.next_nonce,
    contract,
    method,
    args: encodeRecord(schema, args),
  });
  const tx = encodeTx(unsigned, sign(taggedHash(TAG.TX, unsigned), keys));
  return request("/v1/txs?wait=commit&timeout_ms=15000", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tx: toHex(tx) }),
    timeoutMs: 20000,
  });
}

/**
 * Reads server-sent events from a signed GET (EventSource cannot send
 * headers): calls onEvent(name, data) for each event with JSON data.
 * Returns when the stream ends or signal aborts; a refusal, or a stream
 * that breaks off, throws an ApiError.
 */
export async function signedEvents(path, keys, onEvent, signal) {
  const headers = signedHeaders(keys, "GET", path, await chainId());
  let res;
  try {
    res = await fetch(path, { headers, signal, cache: "no-store" });
  } catch {
    if (signal.aborted) {
      return;
    }
    throw new ApiError("UNAVAILABLE", "the node could not be reached");
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const err = body.error ?? {};
    throw new ApiError(err.code ?? "INTERNAL", err.message ?? `HTTP ${res.status}`, res.status);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buf += value;
      let end;
      while ((end = buf.indexOf("\n\n")) >= 0) {
        dispatchEvent(buf.slice(0, end), onEvent);
        buf = buf.slice(end + 2);
      }
    }
  } catch {
    if (!signal.aborted) {
      throw new ApiError("UNAVAILABLE", "the event stream broke off");
    }
  }
}

function dispatchEvent(block, onEvent) {
  let name = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) {
      name = line.slice(6).trim();
    } else if (line.startsWith("data:")) {
      data += line.slice(5).trim();
    }
  }
  if (data !== "") {
    let parsed = null;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    onEvent(name, parsed);
  }
}
