"""No personal health information in a block, a log line, an error or a metric.

A careful EHR client encrypts a FHIR resource (a fake patient's name, birth
date, diagnosis, record number) off chain and anchors only the ciphertext's
BLAKE2b-256 hash and size. A careless one also pushes the same plaintext
through every other channel it can reach: category and purpose strings of
calls the node refuses, signed transactions refused for their nonce,
signature, chain or sender, invalid JSON and non-JSON bodies, unknown
routes, ids and query parameters, headers, oversize bodies, and the CLI's
own argument checks. Afterwards the test reads everything a node exposes
(every block with ?raw=1, every JSON view, /metrics, every answer it gave,
the CLI's output, HOME/node.log, and after stopping the node the LMDB data
file itself) and asserts that no form of the plaintext appears: as ASCII,
lower case, hex (either case), URL-encoded, base64, or as JSON-escaped text.

What the chain cannot prevent, stated honestly: category, purpose, role
and fhir_type are client-chosen labels. The contracts accept only labels
([A-Za-z0-9._-], no spaces), so a sentence, a name with a space or a date
in words is refused (BAD_ARGS, tested below), but a client can still write
a single word such as a surname as a label of a call that *succeeds*, and
that word is then on chain for good. The test proves this with a
harmless canary label in a successful call (a positive control: the same
search finds the canary in the blocks, the raw bytes and the store, so a
leak of PHI would be found the same way) and checks the part the node does
control: it never echoes request content into a log line, an error body or
a metric, and a refused call leaves nothing behind. Likewise a record's
size and FHIR type are visible metadata by design. The node logs at info
level (no per-request lines); the documented debug request line carries
only method, route pattern, status and duration.
"""

import base64
import hashlib
import http.client
import json
import os
import secrets
import socket
import time
import urllib.parse

import mc

HOSP_A = "riverside-general-hospital"
FAR = "expires_ms=4102444800000"

NAME = "Jane Q. Testpatient"
BIRTH = "1961-04-12"
DIAGNOSIS = "atrial fibrillation"
MRN = "MRN-88412-TQ"
PHI = [NAME, BIRTH, DIAGNOSIS, MRN, "Testpatient", "fibrillation"]
CANARY = "canary-label-7f3a9c"

PLAINTEXT = json.dumps({
    "resourceType": "Condition",
    "subject": {"display": NAME, "identifier": MRN},
    "patientBirthDate": BIRTH,
    "code": {"text": DIAGNOSIS, "coding": [{"system": "http://snomed.info/sct",
                                            "code": "49436004", "display": DIAGNOSIS}]},
    "note": [{"text": f"{NAME} (born {BIRTH}) diagnosed with {DIAGNOSIS}"}],
}).encode()


def forms(s):
    """Every encoding of s a careless component might write: (text forms,
    matched in any case; base64 forms, matched exactly)."""
    b = s.encode()
    text = {s, b.hex(), urllib.parse.quote(s), urllib.parse.quote_plus(s), json.dumps(s)[1:-1]}
    b64 = set()
    for k in range(3):  # base64 of s at each of the three alignments, minus the edges
        enc = base64.b64encode(b"\x00" * k + b).decode()
        b64.add(enc[4 if k else 0:-4])
    return {f for f in text if len(f) >= 6}, {f for f in b64 if len(f) >= 8}


def needles(strings):
    text, b64 = set(), set()
    for s in strings:
        t, b = forms(s)
        text |= t
        b64 |= b
    return sorted(text), sorted(b64)


PHI_FORMS = needles(PHI)
CANARY_FORMS = needles([CANARY])


def leaks(blob, which=PHI_FORMS):
    """The needles found in blob (str or bytes)."""
    if isinstance(which, list):  # plain strings (keys), any case
        which = (which, [])
    text, b64 = which
    hay = blob if isinstance(blob, bytes) else blob.encode("utf-8", "replace")
    low = hay.lower()
    return ([n for n in text if n.encode().lower() in low] +
            [n for n in b64 if n.encode() in hay])


def encrypt(plaintext):
    """The client's cipher: XOR with a BLAKE2b keystream under a random key.
    Only the ciphertext's hash and size reach the chain."""
    key = secrets.token_bytes(32)
    stream = b""
    i = 0
    while len(stream) < len(plaintext):
        stream += hashlib.blake2b(i.to_bytes(8, "big"), key=key, digest_size=64).digest()
        i += 1
    return key, bytes(a ^ b for a, b in zip(plaintext, stream))


class Recorder:
    """Sends requests and keeps every answer (status, raw body) for the audit."""

    def __init__(self, net):
        self.host = "127.0.0.1"
        self.port = int(net.url().rsplit(":", 1)[1])
        self.answers = []

    def send(self, method, path, body=None, ctype=None, headers=None, what="", keep=True):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            h = dict(headers or {})
            if ctype:
                h["Content-Type"] = ctype
            if isinstance(body, str):
                body = body.encode()
            try:
                conn.request(method, path, body=body, headers=h)
                r = conn.getresponse()
                raw = r.read()
                status = r.status
                hdrs = "\n".join(f"{k}: {v}" for k, v in r.getheaders())
            except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
                status, raw, hdrs = 0, str(e).encode(), ""
        finally:
            conn.close()
        if keep:
            self.answers.append((what or f"{method} {path[:60]}", status,
                                 hdrs.encode() + b"\n" + raw))
        return status, raw

    def raw_socket(self, data, what):
        """A request written byte for byte (what http.client would refuse to send)."""
        s = socket.create_connection((self.host, self.port), timeout=10)
        chunks = []
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    c = s.recv(65536)
                except socket.timeout:
                    break
                if not c:
                    break
                chunks.append(c)
        except OSError:
            pass
        finally:
            s.close()
        raw = b"".join(chunks)
        self.answers.append((what, -1, raw))
        return raw


def error_code(raw):
    try:
        return json.loads(raw)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def signed(net, key, call, *kv, nonce=None, chain=None):
    argv = ["tx", "--node", net.url(), "--key", key, "--print-only"]
    if nonce is not None:
        argv += ["--nonce", str(nonce)]
    if chain is not None:
        argv += ["--chain-id", chain]
    rc, out, err = net.run(*argv, call, *kv)
    if rc != 0:
        raise RuntimeError(f"could not sign {call}: {err}")
    return out.strip().split()[-1]


def setup(net, rec, cli_out):
    admin = net.admin_key(HOSP_A)
    doctor = net.keygen("doctor")
    net.tx_ok(admin, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
              f"box_pk=@{doctor['file']}", f"licence_hash={secrets.token_hex(32)}",
              "role=cardiology")
    patients = []
    for i in range(2):
        p = net.keygen(f"patient{i}")
        net.tx_ok(admin, "identity.enrol_patient", f"sign_pk=@{p['file']}",
                  f"box_pk=@{p['file']}")
        net.tx_ok(p["file"], "consent.grant", f"patient={p['id']}", f"grantee={doctor['id']}",
                  "scope=category", "category=cardiology", "purpose=treatment", FAR)
        patients.append(p)

    anchored = []
    data_keys = []
    for p in patients:
        key, ct = encrypt(PLAINTEXT)
        mc.check(not leaks(ct), "the ciphertext holds no plaintext")
        data_keys.append(key.hex())
        record = secrets.token_hex(32)
        # The data key sealed to each reader; simulated here by random bytes
        # (the chain stores sealed keys opaquely).
        keys = ",".join(f"{x}:{secrets.token_hex(80)}" for x in (p["id"], doctor["id"]))
        rc, doc, err = net.tx(doctor["file"], "records.anchor", f"record={record}",
                              f"patient={p['id']}", "category=cardiology",
                              "fhir_type=Condition", f"content_hash={mc.blake2b32(ct)}",
                              f"size={len(ct)}", f"keys={keys}")
        cli_out.append(("anchor", (json.dumps(doc) if doc else "") + err))
        mc.check(rc == 0, f"record anchored ({err.strip()})")
        anchored.append((record, mc.blake2b32(ct), len(ct)))
    # Record views answer signed reads only: the author reads it.
    _, r = net.query(doctor["file"], f"/v1/records/{anchored[0][0]}")
    cli_out.append(("record view", json.dumps(r)))
    mc.check(r["content_hash"] == anchored[0][1] and r["size"] == anchored[0][2],
             "only the ciphertext's hash and size are anchored")
    net.tx_ok(admin, "audit.log", f"record={anchored[0][0]}", f"accessor={doctor['id']}",
              "purpose=treatment", "emergency=false", f"reason_hash={'00' * 32}",
              f"node={'00' * 32}", "reason_sealed=")

    # Positive control: a client-chosen label in a call that succeeds IS on
    # chain. A name written there would be too; the node cannot tell.
    net.tx_ok(patients[1]["file"], "consent.grant", f"patient={patients[1]['id']}",
              f"grantee={doctor['id']}", "scope=category", f"category={CANARY}",
              "purpose=treatment", FAR)
    return admin, doctor, patients, anchored, data_keys


def careless(net, rec, cli_out, admin, doctor, patients, anchored):
    """Every channel a careless client could push PHI through; all refused."""
    p = patients[0]
    http = net.http()
    _, st0 = http.get("/v1/status")
    code_of = {}

    def cli(what, want, key, call, *kv):
        rc, doc, err = net.tx(key, call, *kv)
        text = (json.dumps(doc) if doc else "") + "\n" + err
        cli_out.append((what, text))
        got = doc.get("error", {}).get("code") if isinstance(doc, dict) else None
        got = got or (err.split(":")[1].strip() if err.startswith("medchain:") else err[:80])
        mc.check(rc != 0 and got == want, f"careless CLI call '{what}': {want} (got {got})")

    # Labels of calls the node refuses (a dry run fails at the door).
    cli("name as category: not a label", "BAD_ARGS", p["file"], "consent.grant",
        f"patient={p['id']}", f"grantee={doctor['id']}", "scope=category", f"category={NAME}",
        f"purpose={DIAGNOSIS}", "expires_ms=1000")
    cli("diagnosis as category, by an unauthorized sender", "UNAUTHORIZED", p["file"],
        "records.anchor", f"record={secrets.token_hex(32)}", f"patient={p['id']}",
        f"category={DIAGNOSIS}", f"fhir_type={NAME}", f"content_hash={secrets.token_hex(32)}",
        "size=10", f"keys={p['id']}:{secrets.token_hex(80)}")
    cli("birth date as purpose, unknown grantee", "UNKNOWN_IDENTITY", p["file"], "consent.grant",
        f"patient={p['id']}", f"grantee={secrets.token_hex(32)}", "scope=category",
        f"category={MRN}", f"purpose=dob {BIRTH}", FAR)
    cli("name as purpose of an audit entry for an unknown record", "UNKNOWN_RECORD", admin,
        "audit.log", f"record={secrets.token_hex(32)}", f"accessor={doctor['id']}",
        f"purpose={NAME}", "emergency=false", f"reason_hash={'00' * 32}", f"node={'00' * 32}", "reason_sealed=")
    cli("name as org name proposal by a patient", "UNAUTHORIZED", p["file"],
        "governance.propose_member", f"name={NAME} {BIRTH}", "kind=clinic",
        f"admin_pk=@{p['file']}", f"admin_box=@{p['file']}")
    # Refused by the CLI itself before anything is sent.
    cli("a purpose over its limit", "BAD_ARGS", p["file"], "consent.grant", f"patient={p['id']}",
        f"grantee={doctor['id']}", "scope=category", "category=x",
        f"purpose={NAME} {BIRTH} {DIAGNOSIS}", FAR)
    cli("non-ASCII in a label", "BAD_ARGS", p["file"], "consent.grant", f"patient={p['id']}",
        f"grantee={doctor['id']}", "scope=category", f"category={NAME}\u00e9", "purpose=x", FAR)
    cli("a name where an id belongs", "BAD_ARGS", p["file"], "consent.grant",
        f"patient={NAME}", f"grantee={doctor['id']}", "scope=category", "category=x",
        "purpose=x", FAR)

    # Signed transactions carrying PHI labels, refused before execution.
    label_args = ("consent.grant", f"patient={p['id']}", f"grantee={doctor['id']}",
                  "scope=category", f"category={NAME} {BIRTH}", f"purpose={DIAGNOSIS}", FAR)
    gap = signed(net, p["file"], *label_args, nonce=10 ** 9)
    wrong_chain = signed(net, p["file"], *label_args, chain="another-chain")
    good = signed(net, p["file"], *label_args)
    flipped = good[:-2] + ("00" if good[-2:] != "00" else "01")
    stranger = net.keygen("stranger")
    unknown = signed(net, stranger["file"], *label_args, nonce=1)
    stale = signed(net, p["file"], *label_args, nonce=1)
    cases = [
        ("nonce gap", {"tx": gap}, "NONCE_GAP"),
        ("wrong chain", {"tx": wrong_chain}, "WRONG_CHAIN"),
        ("flipped signature", {"tx": flipped}, "BAD_SIGNATURE"),
        ("unknown sender", {"tx": unknown}, "UNKNOWN_SENDER"),
        ("replayed nonce", {"tx": stale}, "REPLAY"),
        ("trailing bytes", {"tx": good + NAME.encode().hex()}, "TRAILING_BYTES"),
        ("PHI as the tx hex", {"tx": PLAINTEXT[:400].hex()}, None),
        ("PHI instead of hex", {"tx": NAME}, "BAD_REQUEST"),
        ("PHI in extra JSON fields", {"tx": flipped, "patient": NAME, "dob": BIRTH}, None),
        ("PHI as JSON keys", {NAME: DIAGNOSIS}, "BAD_REQUEST"),
    ]
    for what, body, want in cases:
        status, raw = rec.send("POST", "/v1/txs", json.dumps(body), "application/json",
                               what=what)
        code_of[what] = error_code(raw)
        mc.check(400 <= status < 500 and (want is None or code_of[what] == want),
                 f"{what}: refused with {want or 'an error'} (got {status} {code_of[what]})")
    for path in ("/v1/txs?wait=commit", f"/v1/txs?wait=commit&timeout_ms={urllib.parse.quote(NAME)}"):
        status, raw = rec.send("POST", path, json.dumps({"tx": gap}), "application/json",
                               what=f"wait {path[:30]}")
        mc.check(400 <= status < 500, f"POST {path[:40]}: refused ({status} {error_code(raw)})")
    status, raw = rec.send("POST", "/v1/txs", PLAINTEXT, "application/json", what="FHIR JSON body")
    mc.check(status == 400, f"a FHIR resource as the body: 400 ({status} {error_code(raw)})")
    status, raw = rec.send("POST", "/v1/txs", PLAINTEXT[:-7], "application/json",
                           what="truncated FHIR JSON")
    mc.check(status == 400 and error_code(raw) == "INVALID_JSON",
             f"invalid JSON holding PHI: INVALID_JSON ({error_code(raw)})")
    status, raw = rec.send("POST", "/v1/txs", json.dumps({"tx": good})[:-1] + f', "tx": "{NAME}"}}',
                           "application/json", what="duplicate key")
    mc.check(status == 400 and error_code(raw) == "INVALID_JSON",
             f"a duplicate key with PHI: INVALID_JSON ({error_code(raw)})")
    deep = "[" * 20 + json.dumps(NAME) + "]" * 20
    status, raw = rec.send("POST", "/v1/txs", deep, "application/json", what="deep JSON")
    mc.check(status == 400, f"deep JSON with PHI: 400 ({error_code(raw)})")
    status, raw = rec.send("POST", "/v1/txs", PLAINTEXT, "application/octet-stream",
                           what="FHIR as raw tx bytes")
    mc.check(400 <= status < 500, f"FHIR JSON as raw tx bytes: refused ({status} {error_code(raw)})")
    status, raw = rec.send("POST", "/v1/txs", b"\x01" + PLAINTEXT, "application/octet-stream",
                           what="versioned FHIR bytes")
    mc.check(400 <= status < 500, f"PHI after a version byte: refused ({error_code(raw)})")
    status, raw = rec.send("POST", "/v1/txs", json.dumps({"tx": "00" * 40000, "n": NAME}),
                           "application/json", what="oversize")
    mc.check(status in (413, 0), f"an oversize body with PHI: 413 ({status} {error_code(raw)})")

    # PHI in paths, ids, query strings, headers and methods.
    q = urllib.parse.quote
    paths = [
        f"/v1/identities/{q(NAME)}", f"/v1/records/{q(DIAGNOSIS)}", f"/v1/txs/{q(MRN)}",
        f"/v1/blocks/{BIRTH}", f"/v1/patients/{q(NAME)}", f"/{q(NAME)}",
        f"/v1/consents?patient={q(NAME)}", f"/v1/records?patient={q(NAME)}&limit=2",
        f"/v1/audit?record={q(DIAGNOSIS)}", f"/v1/identities?cursor={q(NAME)}",
        f"/v1/identities?limit={q(BIRTH)}", f"/v1/state/proof?key={q(NAME)}",
        f"/v1/blocks?from={q(BIRTH)}", f"/v1/status?name={q(NAME)}&dob={BIRTH}",
        f"/v1/consents?patient={p['id']}&grantee={q(NAME)}", f"/v1/identities/{q(NAME)}%ZZ",
        f"/v1/../{q(NAME)}", f"/v1/blocks/1?raw={q(NAME)}",
    ]
    for path in paths:
        status, raw = rec.send("GET", path, headers={"X-Patient-Name": NAME,
                                                     "Referer": f"http://ehr/{q(NAME)}"},
                               what=f"GET with PHI {path[:50]}")
        mc.check(status in (200, 400, 401, 404), f"GET {path[:60]}: answered ({status})")
    # The proof route echoes the key it was asked for (the client's own
    # query, answered to that client): the answer proves absence and carries
    # nothing else of it; the log and metrics are checked for it below.
    status, raw = rec.send("GET", f"/v1/state/proof?key={NAME.encode().hex()}", keep=False)
    doc = json.loads(raw)
    mc.check(status == 200 and doc["value"] is None and doc["key"] == NAME.encode().hex(),
             "a proof for a PHI-shaped key proves absence and echoes only the key")
    doc.pop("key")
    mc.check(not leaks(json.dumps(doc)), "nothing but the echoed key in that proof")
    status, raw = rec.send("PUT", f"/v1/identities/{p['id']}", PLAINTEXT, "application/json",
                           what="PUT")
    mc.check(status == 405, f"PUT with a FHIR body: 405 ({status})")
    status, raw = rec.send("DELETE", f"/v1/records/{anchored[0][0]}?reason={q(DIAGNOSIS)}",
                           what="DELETE")
    mc.check(status == 405, f"DELETE with PHI in the query: 405 ({status})")
    status, raw = rec.send("GET", "/v1/status",
                           headers={"Cookie": f"patient={q(NAME)}", "Authorization": f"Basic {NAME}",
                                    "User-Agent": f"EHR for {NAME} {BIRTH}"}, what="headers")
    mc.check(status == 200, "PHI in headers is simply ignored")
    raw = rec.raw_socket(f"GET /v1/identities/{NAME} HTTP/1.1\r\nHost: x\r\n"
                         f"X-Dx: {DIAGNOSIS}\r\nConnection: close\r\n\r\n".encode(),
                         "raw request line with spaces")
    mc.check(raw.startswith(b"HTTP/1.") or raw == b"",
             f"a malformed request line is answered or dropped ({raw[:40]!r})")
    raw = rec.raw_socket(f"POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: abc{NAME}\r\n"
                         f"Connection: close\r\n\r\n{NAME}".encode(), "bad content length")
    mc.check(raw.startswith(b"HTTP/1.1 4") or raw == b"", "a bad Content-Length is refused")

    _, st1 = http.get("/v1/status")
    mc.check(st1["state_root"] == st0["state_root"], "no careless call changed the state")
    code, _ = http.get("/health")
    mc.check(code == 200, "the node still serves")
    return st0


def collect_views(net, rec, patients, anchored):
    """Everything the node publishes, as (where, bytes)."""
    out = []
    auditor = net.keygen("auditor")
    net.tx_ok(net.admin_key(HOSP_A), "identity.register", "kind=auditor",
              f"sign_pk=@{auditor['file']}", f"box_pk=@{auditor['file']}")

    def get(path, what=None):
        status, raw = rec.send("GET", path, keep=False)
        out.append((what or path, raw))
        return status, raw

    _, raw = get("/v1/status")
    tip = json.loads(raw)["height"]
    tx_hashes = []
    for h in range(1, tip + 1):
        status, raw = get(f"/v1/blocks/{h}?raw=1", f"block {h} raw")
        blk = json.loads(raw)
        out.append((f"block {h} raw bytes", bytes.fromhex(blk["raw"])))
        get(f"/v1/blocks/{h}", f"block {h} json")
        tx_hashes += [t["hash"] for t in blk["txs"]]
    get("/v1/blocks/latest?raw=1")
    def signed(key, path):
        """Patient data answers signed reads only (docs/api.md)."""
        code, doc = net.query(key, path)
        mc.check(code == 200, f"signed read of {path[:40]}: 200 ({code})")
        out.append((path, json.dumps(doc).encode()))

    for path in ("/v1/blocks?limit=100", "/v1/blocks?from=1&limit=100", "/v1/methods",
                 "/v1/organizations", "/v1/proposals", "/v1/validators", "/health",
                 "/v1/identities?limit=100"):
        get(path)
    for path in ("/v1/records?limit=100", "/v1/consents?limit=100", "/v1/audit?limit=100"):
        status, _ = get(path)
        mc.check(status == 401, f"unsigned {path}: 401 ({status})")
        signed(auditor["file"], path)
    for t in tx_hashes:
        get(f"/v1/txs/{t}", "tx status")
    for p in patients:
        for path in (f"/v1/identities/{p['id']}",
                     f"/v1/state/proof?key={(b'I' + bytes.fromhex(p['id'])).hex()}"):
            get(path)
        for path in (f"/v1/consents?patient={p['id']}", f"/v1/records?patient={p['id']}",
                     f"/v1/audit?patient={p['id']}"):
            signed(p["file"], path)
    for (record, _, _), p in zip(anchored, patients):
        get(f"/v1/state/proof?key={(b'R' + bytes.fromhex(record)).hex()}")
        for path in (f"/v1/records/{record}", f"/v1/consents?record={record}",
                     f"/v1/audit?record={record}"):
            signed(p["file"], path)
    status, raw = get("/metrics", "metrics")
    mc.check(status == 200 and raw.startswith(b"# HELP"), "metrics scraped")
    return out, len(tx_hashes)


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="privacy")
    try:
        net.start()
        rec = Recorder(net)
        cli_out = []
        admin, doctor, patients, anchored, data_keys = setup(net, rec, cli_out)
        careless(net, rec, cli_out, admin, doctor, patients, anchored)
        views, ntx = collect_views(net, rec, patients, anchored)
        mc.check(ntx >= 9, f"the blocks carry the setup's transactions ({ntx})")

        # Positive control: the search finds a client label that is on chain,
        # in the JSON views, the raw block bytes (as bytes) and their hex.
        where = {w for w, b in views if leaks(b, CANARY_FORMS)}
        mc.check(any("json" in w for w in where) and any("raw bytes" in w for w in where)
                 and any(w.endswith("raw") for w in where),
                 f"control: a successful call's label is found on chain ({len(where)} places)")
        canary_hex = CANARY.encode().hex()
        mc.check(any(canary_hex in json.loads(b).get("raw", "") for w, b in views
                     if w.endswith(" raw")),
                 "control: its hex form is found in a block's raw encoding")

        for where, blob in views:
            found = leaks(blob)
            mc.check(not found, f"no PHI in {where}: {found[:3]}")
        for where, status, blob in rec.answers:
            found = leaks(blob)
            mc.check(not found, f"no PHI echoed in the answer to '{where}' ({status}): {found[:3]}")
        errors = [(w, b) for w, s, b in rec.answers if s >= 400]
        mc.check(len(errors) >= 30, f"many error answers audited ({len(errors)})")
        for where, text in cli_out:
            found = leaks(text)
            mc.check(not found, f"no PHI in the CLI's output for '{where}': {found[:3]}")
        # The data key never leaves the client either.
        everything = b"".join(b for _, b in views) + b"".join(b for _, _, b in rec.answers)
        mc.check(not leaks(everything, data_keys), "no data key on chain or in any answer")

        metrics = [b for w, b in views if w == "metrics"][0].decode()
        mc.check(not leaks(metrics, CANARY_FORMS) and "%" not in metrics
                 and "Jane" not in metrics, "metrics carry route patterns only")

        log_path = os.path.join(net.home(0), "node.log")
        net.stop()
        with open(log_path, "rb") as f:
            log = f.read()
        mc.check(len(log) > 0, f"the node log was written ({len(log)} bytes)")
        mc.check(not leaks(log), f"no PHI in HOME/node.log: {leaks(log)[:3]}")
        mc.check(not leaks(log, CANARY_FORMS), "no transaction argument in HOME/node.log")
        mc.check(not leaks(log, data_keys), "no data key in HOME/node.log")

        store = b""
        data_dir = os.path.join(net.home(0), "data")
        for name in sorted(os.listdir(data_dir)):
            path = os.path.join(data_dir, name)
            mc.check(os.path.getsize(path) < 256 << 20, f"{name} is small enough to scan")
            with open(path, "rb") as f:
                store += f.read(256 << 20)
        mc.check(leaks(store, CANARY_FORMS), "control: the committed label is in the store file")
        mc.check(not leaks(store), f"no PHI anywhere in the LMDB files: {leaks(store)[:3]}")

        rc, out, err = net.run("verify", "--home", net.home(0))
        mc.check(rc == 0, f"the chain verifies ({out.strip()} {err.strip()})")
    finally:
        mc.close_safely(net)
    mc.finish()


if __name__ == "__main__":
    main()
