"""Medical records end to end on two nodes (two hospitals, each node the
gateway of one): a doctor encrypts a record on their machine and anchors it
through node0; the patient reads it; a doctor of the other hospital reads it
through node1 (which fetches the ciphertext from node0) once the patient
shared it; every access is on chain, committed before the bytes left the
node. Then every refusal the issue names, each with its code, audited
where it is an access attempt, and changing nothing: no consent, after
revocation, after expiry, a forged and a replayed signature, a suspended
reader, a grant by someone who is not the patient, an upload over the
limit or under the wrong hash, a node that serves tampered bytes (the
reader's hash check catches it) and a tampered file on disk (the node
never serves it). Emergency reads: allowed to practitioners with a reason,
flagged, the reason sealed to the patient, the patient's event stream told
at once. Erasure: one record and all of them; every node deletes the
ciphertext; reads answer 410 RECORD_ERASED. Finally nothing of the
plaintext appears in any block, log line, answer, blob or the store.
"""

import http.client
import http.server
import json
import os
import secrets
import socketserver
import threading
import time
import urllib.parse

import mc

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"
FAR = 4102444800000  # 2100-01-01
MARKERS = ["Marguerite Testvalley", "1958-11-02", "MRN-40417-ZX"]
PLAIN = json.dumps({
    "resourceType": "Observation", "status": "final",
    "code": {"text": "12-lead ECG"},
    "subject": {"display": MARKERS[0], "identifier": MARKERS[2]},
    "note": [{"text": f"{MARKERS[0]}, born {MARKERS[1]}: sinus rhythm"}],
}).encode()


class World:
    pass


def setup(net):
    w = World()
    w.a, w.b = net.admin_key(HOSP_A), net.admin_key(HOSP_B)
    w.doc_a, w.doc_a2 = net.keygen("doc-a"), net.keygen("doc-a2")
    w.doc_b, w.patient, w.other = net.keygen("doc-b"), net.keygen("patient"), net.keygen("other")
    for i, d in enumerate([w.doc_a, w.doc_a2]):
        net.tx_ok(w.a, "identity.register", "kind=practitioner", f"sign_pk=@{d['file']}",
                  f"box_pk=@{d['file']}", f"licence_hash={secrets.token_hex(32)}",
                  "role=cardiology")
    net.tx_ok(w.b, "identity.register", "kind=practitioner", f"sign_pk=@{w.doc_b['file']}",
              f"box_pk=@{w.doc_b['file']}", f"licence_hash={secrets.token_hex(32)}",
              "role=cardiology", node=1)
    for p in (w.patient, w.other):
        net.tx_ok(w.a, "identity.enrol_patient", f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}")
    w.src = os.path.join(net.dir, "record.json")
    with open(w.src, "wb") as f:
        f.write(PLAIN)
    return w


def put(net, w, node=0, who=None):
    out = net.run_ok("records", "put", "--node", net.url(node), "--key", (who or w.doc_a)["file"],
                     "--patient", w.patient["id"], "--category", "cardiology", "--fhir-type",
                     "Observation", "--in", w.src, "--json")
    return json.loads(out)["record"]


def get(net, key, record, node=0, purpose=None, reason=None):
    """(0, bytes) or (CODE, stderr)."""
    out = os.path.join(net.dir, f"out-{secrets.token_hex(4)}")
    argv = ["records", "get", "--node", net.url(node), "--key", key["file"], "--record", record,
            "--out", out]
    if purpose:
        argv += ["--purpose", purpose]
    if reason:
        argv += ["--reason", reason]
    rc, _, err = net.run(*argv)
    if rc == 0:
        with open(out, "rb") as f:
            data = f.read()
        os.unlink(out)
        return 0, data
    parts = err.strip().split(":")
    return (parts[1].strip() if len(parts) > 2 else err.strip()), err


def audit(net, w, record):
    code, doc = net.query(w.patient["file"], f"/v1/audit?record={record}&limit=100")
    mc.check(code == 200, f"audit of the record readable by the patient ({code})")
    return doc["items"]


def node_info(net, i):
    code, st = net.http(i).get("/v1/status")
    return st["node"]


def flow(net, w):
    rec = put(net, w)
    code, anchor = net.query(w.patient["file"], f"/v1/records/{rec}")
    mc.check(code == 200 and anchor["author"] == w.doc_a["id"] and anchor["size"] > len(PLAIN),
             "the anchor names the author and the ciphertext's size")
    rc, data = get(net, w.patient, rec, purpose="export")
    mc.check(rc == 0 and data == PLAIN, "the patient reads and decrypts their record")
    items = audit(net, w, rec)
    mc.check(len(items) == 1 and items[0]["accessor"] == w.patient["id"]
             and items[0]["outcome"] == "granted" and items[0]["purpose"] == "export",
             "the read was on chain when the answer came (no waiting)")
    n0 = node_info(net, 0)
    mc.check(items[0]["node"] == n0["id"] and items[0]["logged_by"] == n0["operator"]["id"],
             "the entry names the node that served and its operator")

    # Another hospital's doctor, through the other node: refused, then shared.
    rc, _ = get(net, w.doc_b, rec, node=1)
    mc.check(rc == "CONSENT_REQUIRED", f"no consent: CONSENT_REQUIRED ({rc})")
    mc.wait_for(lambda: any(e["outcome"] == "CONSENT_REQUIRED" for e in audit(net, w, rec)), 10)
    mc.check(True, "the refused attempt is audited with its code")
    net.run_ok("records", "share", "--node", net.url(0), "--key", w.patient["file"], "--record",
               rec, "--grantee", w.doc_b["id"], "--expires-ms", str(FAR))
    blobs1 = node_info(net, 1)["blobs"]["count"]
    rc, data = get(net, w.doc_b, rec, node=1)
    mc.check(rc == 0 and data == PLAIN, "shared: the other hospital's doctor reads it via node1")
    mc.check(node_info(net, 1)["blobs"]["count"] == blobs1 + 1,
             "node1 fetched the ciphertext it lacked from node0")
    granted = [e for e in audit(net, w, rec) if e["accessor"] == w.doc_b["id"]
               and e["outcome"] == "granted"]
    mc.check(len(granted) == 1 and granted[0]["node"] == node_info(net, 1)["id"],
             "the read through node1 is audited by node1")
    return rec


def consent_of(net, w, grantee):
    code, doc = net.query(w.patient["file"], f"/v1/consents?patient={w.patient['id']}")
    return [c for c in doc["items"] if c["grantee"] == grantee and c["status"] == "active"]


def revoke_and_expire(net, w, rec):
    c = consent_of(net, w, w.doc_b["id"])
    net.tx_ok(w.patient["file"], "consent.revoke", f"consent={c[0]['id']}")
    rc, _ = get(net, w.doc_b, rec, node=1)
    mc.check(rc == "CONSENT_REVOKED", f"after revocation: CONSENT_REVOKED ({rc})")
    soon = int(time.time() * 1000) + 3000
    net.run_ok("records", "share", "--node", net.url(0), "--key", w.patient["file"], "--record",
               rec, "--grantee", w.doc_a2["id"], "--expires-ms", str(soon))
    rc, data = get(net, w.doc_a2, rec)
    mc.check(rc == 0 and data == PLAIN, "a consent until a few seconds from now allows the read")
    time.sleep(max(0.0, (soon - time.time() * 1000) / 1000.0) + 1.5)
    net.tx_ok(w.a, "identity.enrol_patient", f"sign_pk=@{net.keygen('tick')['file']}",
              f"box_pk=@{net.keygen('tick2')['file']}")  # a block past the expiry
    rc, _ = get(net, w.doc_a2, rec)
    mc.check(rc == "CONSENT_EXPIRED", f"after expiry: CONSENT_EXPIRED ({rc})")


def raw_get(net, path, headers, node=0):
    u = urllib.parse.urlparse(net.url(node))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def signed_headers(net, key, path, node=0):
    out = net.run_ok("query", "--node", net.url(node), "--key", key["file"], "--print-headers",
                     path)
    h = {}
    for line in out.strip().splitlines():
        k, v = line.split(":", 1)
        h[k.strip()] = v.strip()
    return h


def forged_replayed_suspended(net, w, rec):
    path = f"/v1/records/{rec}/content?purpose=export"
    h = signed_headers(net, w.patient, path)
    bad = dict(h)
    sig = bad["X-Medchain-Signature"]
    bad["X-Medchain-Signature"] = ("1" if sig[0] != "1" else "2") + sig[1:]
    st, body, _ = raw_get(net, path, bad)
    mc.check(st == 401 and json.loads(body)["error"]["code"] == "BAD_SIGNATURE",
             "a forged signature: 401 BAD_SIGNATURE, nothing served")
    st, body, hd = raw_get(net, path, h)
    mc.check(st == 200 and "X-Medchain-Audit-Id" in hd, "the genuine request is served, audited")
    st, body, _ = raw_get(net, path, h)
    mc.check(st == 401 and json.loads(body)["error"]["code"] == "REQUEST_REPLAYED",
             "the same signed request again: 401 REQUEST_REPLAYED")
    st, body, _ = raw_get(net, path, {})
    mc.check(st == 401 and json.loads(body)["error"]["code"] == "AUTH_REQUIRED",
             "unsigned: 401 AUTH_REQUIRED")
    # A suspended doctor of the author's hospital.
    net.run_ok("records", "share", "--node", net.url(0), "--key", w.patient["file"], "--record",
               rec, "--grantee", w.doc_a2["id"], "--expires-ms", str(FAR))
    rc, data = get(net, w.doc_a2, rec)
    mc.check(rc == 0 and data == PLAIN, "doc-a2 reads with a consent")
    net.tx_ok(w.a, "identity.suspend", f"id={w.doc_a2['id']}")
    rc, _ = get(net, w.doc_a2, rec)
    mc.check(rc == "IDENTITY_SUSPENDED", f"a suspended identity: IDENTITY_SUSPENDED ({rc})")
    net.tx_ok(w.a, "identity.reinstate", f"id={w.doc_a2['id']}")


def grants_and_uploads(net, w, rec):
    before = consent_of(net, w, w.other["id"])
    rc, doc, err = net.tx(w.doc_a["file"], "consent.grant", f"patient={w.patient['id']}",
                          f"grantee={w.other['id']}", "scope=category", "category=cardiology",
                          "purpose=treatment", f"expires_ms={FAR}")
    mc.check(rc != 0 and "UNAUTHORIZED" in err, "a grant by someone who is not the patient")
    mc.check(consent_of(net, w, w.other["id"]) == before, "the refused grant changed nothing")
    u = urllib.parse.urlparse(net.url(0))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.putrequest("PUT", "/v1/blobs/" + "ab" * 32)
        conn.putheader("Content-Length", str(16 * 1024 * 1024 + 1))
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        mc.check(r.status == 413 and json.loads(body)["error"]["code"] == "OVERSIZE",
                 "an upload over the limit: 413 OVERSIZE before the body is read")
    finally:
        conn.close()
    count = node_info(net, 0)["blobs"]["count"]
    # A signed upload whose bytes are not the named hash.
    rc, out, err = net.run("records", "put", "--node", net.url(0), "--key", w.patient["file"],
                           "--patient", w.patient["id"], "--in", w.src)
    mc.check(rc != 0 and "UNAUTHORIZED" in err, "a patient cannot upload as an author")
    mc.check(node_info(net, 0)["blobs"]["count"] == count, "refused uploads store nothing")


class Tamper(http.server.BaseHTTPRequestHandler):
    """A node that flips one byte of every record's content it relays."""
    target = None

    def do_GET(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.target, timeout=30)
        hdrs = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request("GET", self.path, headers=hdrs)
        r = conn.getresponse()
        body = bytearray(r.read())
        if "/content" in self.path and r.status == 200 and body:
            body[len(body) // 2] ^= 0x01
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(bytes(body))
        conn.close()

    def log_message(self, *a):
        pass


def tampering(net, w, rec):
    Tamper.target = int(net.url(0).rsplit(":", 1)[1])
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tamper)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        out = os.path.join(net.dir, "tampered")
        rc, _, err = net.run("records", "get", "--node", url, "--key", w.patient["file"],
                             "--record", rec, "--out", out)
        mc.check(rc != 0 and "HASH_MISMATCH" in err and not os.path.exists(out),
                 "a node serving other bytes: the reader's hash check refuses them")
    finally:
        srv.shutdown()
        srv.server_close()
    # A file changed on node1's disk is never served: node1 fetches a good copy.
    h = None
    code, anchor = net.query(w.patient["file"], f"/v1/records/{rec}")
    h = anchor["content_hash"]
    path = os.path.join(net.home(1), "blobs", h[:2], h)
    with open(path, "r+b") as f:
        f.seek(10)
        b = f.read(1)
        f.seek(10)
        f.write(bytes([b[0] ^ 0xFF]))
    rc, data = get(net, w.patient, rec, node=1, purpose="export")
    mc.check(rc == 0 and data == PLAIN, "a corrupted local copy is replaced from another node")


def emergency(net, w, rec):
    stream = net.run_ok("query", "--node", net.url(0), "--key", w.patient["file"],
                        "--print-headers", f"/v1/events?patient={w.patient['id']}")
    headers = dict(line.split(": ", 1) for line in stream.strip().splitlines())
    u = urllib.parse.urlparse(net.url(0))
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
    conn.request("GET", f"/v1/events?patient={w.patient['id']}", headers=headers)
    resp = conn.getresponse()
    mc.check(resp.status == 200, "the patient's event stream is open")
    got = []

    def reader():
        try:
            while True:
                line = resp.fp.readline()
                if not line:
                    return
                got.append(line.decode())
        except (OSError, AttributeError, ValueError):
            return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    rc, _ = get(net, w.other, rec, purpose="emergency", reason="collapsed in the waiting room")
    mc.check(rc == "UNAUTHORIZED", f"break-glass by a patient: UNAUTHORIZED ({rc})")
    rc, _ = get(net, w.doc_b, rec, purpose="emergency")
    mc.check(rc == "REASON_REQUIRED", f"break-glass without a reason: REASON_REQUIRED ({rc})")
    # Through the custodian's node (the author's hospital), which re-seals
    # the record's key to the reader once the chain has logged the read.
    rc, data = get(net, w.doc_b, rec, purpose="emergency",
                   reason="unconscious on arrival, no consent on file")
    mc.check(rc == 0 and data == PLAIN, f"break-glass by a practitioner with a reason ({rc} {data})")
    e = [x for x in audit(net, w, rec) if x["emergency"] and x["outcome"] == "granted"]
    mc.check(len(e) == 1 and e[0]["accessor"] == w.doc_b["id"] and len(e[0]["reason_sealed"]) > 96
             and e[0]["reason_hash"] != "00" * 32,
             "the emergency read is flagged; its reason is sealed to the patient, not in clear")
    ok = mc.wait_for(lambda: any('"emergency":true' in g and e[0]["id"] in g for g in got), 10)
    mc.check(ok, "the patient's event stream announced the emergency read")
    conn.close()


VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "ecg")


def ecg(net, w):
    """A PhysioNet-format ECG imported, shared, plotted data exported back."""
    out = net.run_ok("import", "ecg", "--node", net.url(0), "--key", w.doc_a["file"], "--patient",
                     w.patient["id"], "--in", os.path.join(VECTORS, "synth212.hea"), "--json")
    doc = json.loads(out)
    mc.check(doc["leads"] == 12 and doc["samples"] == 5000, "a 12-lead WFDB record imported")
    rec = doc["record"]
    code, anchor = net.query(w.patient["file"], f"/v1/records/{rec}")
    mc.check(code == 200 and anchor["fhir_type"] == "Observation"
             and anchor["category"] == "cardiology", "anchored as a cardiology Observation")
    d = os.path.join(net.dir, "export-wfdb")
    net.run_ok("records", "export", "--node", net.url(1), "--key", w.patient["file"], "--record",
               rec, "--format", "212", "--out-dir", d)
    with open(os.path.join(VECTORS, "synth212.dat"), "rb") as f:
        want = f.read()
    got_files = [f for f in os.listdir(d) if f.endswith(".dat")]
    with open(os.path.join(d, got_files[0]), "rb") as f:
        got = f.read()
    mc.check(got == want, "the patient exports it back to WFDB 212 byte for byte (via node1)")
    d2 = os.path.join(net.dir, "export-fhir")
    net.run_ok("records", "export", "--node", net.url(0), "--key", w.patient["file"], "--record",
               rec, "--format", "fhir", "--out-dir", d2)
    with open(os.path.join(d2, f"{rec}.json")) as f:
        obs = json.load(f)
    comps = obs.get("component", [])
    mc.check(obs["resourceType"] == "Observation" and len(comps) == 12
             and all("valueSampledData" in c for c in comps),
             "and as FHIR JSON: an Observation with one SampledData component per lead")
    return rec


def erasure(net, w, rec):
    rec2 = put(net, w)
    rc, _ = get(net, w.patient, rec2, node=1, purpose="export")  # a copy on node1 too
    code, anchor = net.query(w.patient["file"], f"/v1/records/{rec}")
    h = anchor["content_hash"]
    files = [os.path.join(net.home(i), "blobs", h[:2], h) for i in (0, 1)]
    mc.check(all(os.path.exists(f) for f in files), "both nodes hold the ciphertext")
    rc, doc, err = net.tx(w.doc_a["file"], "records.erase", f"record={rec}")
    mc.check(rc != 0 and "UNAUTHORIZED" in err, "only the patient or a guardian erases")
    net.tx_ok(w.patient["file"], "records.erase", f"record={rec}")
    mc.wait_for(lambda: not any(os.path.exists(f) for f in files), 10)
    mc.check(not any(os.path.exists(f) for f in files), "every node deleted the ciphertext")
    code, tomb = net.query(w.patient["file"], f"/v1/records/{rec}")
    mc.check(code == 200 and tomb["erased"] and tomb["keys"] == [],
             "the chain keeps a tombstone without keys")
    rc, _ = get(net, w.patient, rec, purpose="export")
    mc.check(rc == "RECORD_ERASED", f"reads of an erased record: RECORD_ERASED ({rc})")
    st, body, _ = raw_get(net, f"/v1/records/{rec}/content?purpose=export",
                          signed_headers(net, w.patient, f"/v1/records/{rec}/content?purpose=export"))
    mc.check(st == 410, "over HTTP: 410")
    net.tx_ok(w.patient["file"], "records.erase_all", f"patient={w.patient['id']}")
    rc, _ = get(net, w.patient, rec2, node=1, purpose="export")
    mc.check(rc == "RECORD_ERASED", "erase_all: every record of the patient erased")
    rc, doc, err = net.tx(w.patient["file"], "records.erase_all", f"patient={w.patient['id']}")
    mc.check(rc != 0 and "RECORD_ERASED" in err, "nothing left to erase: RECORD_ERASED")
    mc.wait_for(lambda: node_info(net, 0)["blobs"]["count"] == 0
                and node_info(net, 1)["blobs"]["count"] == 0, 10)
    mc.check(node_info(net, 0)["blobs"]["count"] == 0 and node_info(net, 1)["blobs"]["count"] == 0,
             "no ciphertext of the patient is left on any node")


def no_plaintext(net):
    hay = []
    for i in (0, 1):
        h = net.height(i)
        for height in range(1, h + 1):
            st, raw, _ = raw_get(net, f"/v1/blocks/{height}?raw=1", {}, node=i)
            hay.append(raw)
    net.stop()
    for i in (0, 1):
        for root, _, files in os.walk(net.home(i)):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    hay.append(fh.read())
    found = [m for m in MARKERS for blob in hay if m.encode() in blob or m.lower().encode() in blob]
    mc.check(not found, f"no plaintext in any block, log line, blob or store file ({found[:3]})")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=2, keep=a.keep, name="records")
    try:
        net.start()
        w = setup(net)
        rec = flow(net, w)
        revoke_and_expire(net, w, rec)
        forged_replayed_suspended(net, w, rec)
        grants_and_uploads(net, w, rec)
        tampering(net, w, rec)
        emergency(net, w, rec)
        ecg(net, w)
        erasure(net, w, rec)
        no_plaintext(net)
        for i in (0, 1):
            rc, out, err = net.run("verify", "--home", net.home(i))
            mc.check(rc == 0, f"verify passes on node{i} ({err.strip()})")
    finally:
        mc.close_safely(net)
    mc.finish()


if __name__ == "__main__":
    main()
