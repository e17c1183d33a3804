"""Signed (authenticated) reads of patient data, against a real node.

What concerns a patient (consents, records' metadata, the audit trail)
answers only a request signed by someone who may read it (docs/api.md,
"Signed requests"): the patient, a guardian, a grantee with live consent,
a record's author, or an auditor. Each rule is tried both ways, allowed
and refused with its code, through `medchain query --key` (mc.Net.query:
the stdlib cannot sign Ed25519). Then the scheme's own defences: no
headers, a forged signature, another chain's signature, a replayed nonce,
a timestamp outside the window, a retired key, a suspended identity. Last,
what stays public answers without a signature.
"""

import secrets
import time

import mc

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"
FAR = "expires_ms=4102444800000"


class World:
    pass


def setup(net):
    w = World()
    w.admin_a = net.admin_key(HOSP_A)
    w.admin_b = net.admin_key(HOSP_B)
    w.doctor = net.keygen("doctor")
    net.tx_ok(w.admin_a, "identity.register", "kind=practitioner", f"sign_pk=@{w.doctor['file']}",
              f"box_pk=@{w.doctor['file']}", f"licence_hash={secrets.token_hex(32)}",
              "role=cardiology")
    w.doctor2 = net.keygen("doctor2")
    net.tx_ok(w.admin_b, "identity.register", "kind=practitioner",
              f"sign_pk=@{w.doctor2['file']}", f"box_pk=@{w.doctor2['file']}",
              f"licence_hash={secrets.token_hex(32)}", "role=cardiology")
    w.auditor = net.keygen("auditor")
    net.tx_ok(w.admin_a, "identity.register", "kind=auditor", f"sign_pk=@{w.auditor['file']}",
              f"box_pk=@{w.auditor['file']}")
    for name in ("patient", "guardian", "stranger"):
        k = net.keygen(name)
        net.tx_ok(w.admin_a, "identity.enrol_patient", f"sign_pk=@{k['file']}",
                  f"box_pk=@{k['file']}")
        setattr(w, name, k)
    p = w.patient
    net.tx_ok(p["file"], "identity.set_guardian", f"guardian={w.guardian['id']}", "active=true")
    net.tx_ok(p["file"], "consent.grant", f"patient={p['id']}", f"grantee={w.doctor['id']}",
              "scope=category", "category=cardiology", "purpose=treatment", FAR)
    w.record = secrets.token_hex(32)
    keys = ",".join(sorted(f"{x}:{secrets.token_hex(80)}" for x in (p["id"], w.doctor["id"])))
    net.tx_ok(w.doctor["file"], "records.anchor", f"record={w.record}", f"patient={p['id']}",
              "category=cardiology", "fhir_type=Observation",
              f"content_hash={secrets.token_hex(32)}", "size=100", f"keys={keys}")
    net.tx_ok(w.admin_a, "audit.log", f"record={w.record}", f"accessor={w.doctor['id']}",
              "purpose=treatment", "emergency=false", f"reason_hash={'00' * 32}", f"node={'00' * 32}", "reason_sealed=")
    code, orgs = net.http().get("/v1/organizations")
    w.org_b = [o["id"] for o in orgs["items"] if o["name"].startswith("Lakeside")][0]
    net.tx_ok(p["file"], "consent.grant", f"patient={p['id']}", f"grantee={w.org_b}",
              "scope=category", "category=oncology", "purpose=research", FAR)
    code, cons = net.query(p["file"], f"/v1/consents?patient={p['id']}")
    mc.check(code == 200 and len(cons["items"]) == 2, f"the patient reads their consents ({code})")
    w.consent = [c for c in cons["items"] if c["grantee"] == w.doctor["id"]][0]["id"]
    code, aud = net.query(p["file"], f"/v1/audit?patient={p['id']}")
    mc.check(code == 200 and len(aud["items"]) == 1, f"the patient reads their audit trail ({code})")
    w.audit = aud["items"][0]["id"]
    return w


def rule(net, what, path, allowed, refused):
    """Every key in allowed reads path; every key in refused gets UNAUTHORIZED."""
    for name, key in allowed:
        code, _ = net.query(key, path)
        mc.check(code == 200, f"{what}: {name} may read ({code})")
    for name, key in refused:
        code, _ = net.query(key, path)
        mc.check(code == "UNAUTHORIZED", f"{what}: {name} refused UNAUTHORIZED ({code})")


def rules(net, w):
    p, g, s, d, d2, a = (w.patient["file"], w.guardian["file"], w.stranger["file"],
                         w.doctor["file"], w.doctor2["file"], w.auditor["file"])
    pid = w.patient["id"]
    for kind in ("consents", "records", "audit"):
        rule(net, f"{kind} of a patient", f"/v1/{kind}?patient={pid}",
             [("the patient", p), ("a guardian", g), ("an auditor", a)],
             [("a stranger", s), ("a doctor", d), ("an org admin", w.admin_a)])
    rule(net, "consents of a grantee", f"/v1/consents?grantee={w.doctor['id']}",
         [("the grantee", d), ("an auditor", a)], [("the patient", p), ("a stranger", s)])
    rule(net, "consents of an org grantee", f"/v1/consents?grantee={w.org_b}",
         [("the org's admin", w.admin_b), ("an auditor", a)],
         [("another org's admin", w.admin_a), ("the org's practitioner", d2)])
    rule(net, "one consent", f"/v1/consents/{w.consent}",
         [("the patient", p), ("a guardian", g), ("the grantee", d), ("an auditor", a)],
         [("a stranger", s), ("another doctor", d2)])
    for path in (f"/v1/records/{w.record}", f"/v1/audit?record={w.record}",
                 f"/v1/consents?record={w.record}"):
        rule(net, path.split("?")[0].replace(w.record, "R"), path,
             [("the patient", p), ("a guardian", g), ("the author", d), ("an auditor", a),
              ("a grantee with live consent", d)],
             [("a stranger", s), ("a doctor without consent", d2)])
    rule(net, "one audit entry", f"/v1/audit/{w.audit}",
         [("the patient", p), ("a guardian", g), ("the accessor", d), ("an auditor", a)],
         [("a stranger", s), ("another doctor", d2)])
    for kind in ("consents", "records", "audit"):
        rule(net, f"all {kind}", f"/v1/{kind}", [("an auditor", a)],
             [("an org admin", w.admin_a), ("the patient", p), ("a doctor", d)])
    unknown = secrets.token_hex(32)
    code, _ = net.query(a, f"/v1/records/{unknown}")
    mc.check(code == "NOT_FOUND", f"an unknown record: NOT_FOUND ({code})")
    code, _ = net.query(a, f"/v1/audit?record={unknown}")
    mc.check(code == 200, f"an auditor lists the (no) entries of an unknown record ({code})")
    code, _ = net.query(s, f"/v1/audit?record={unknown}")
    mc.check(code == "UNAUTHORIZED", f"a stranger may not list them ({code})")
    code, _ = net.query(a, f"/v1/consents/{secrets.token_hex(32)}")
    mc.check(code == "NOT_FOUND", f"an auditor sees an unknown consent as NOT_FOUND ({code})")


def live_consent(net, w):
    """doctor2 reads the record while a consent lives, not after it is revoked."""
    p = w.patient
    path = f"/v1/records/{w.record}"
    code, _ = net.query(w.doctor2["file"], path)
    mc.check(code == "UNAUTHORIZED", f"no consent, no read ({code})")
    net.tx_ok(p["file"], "consent.grant", f"patient={p['id']}", f"grantee={w.doctor2['id']}",
              "scope=category", "category=cardiology", "purpose=research", FAR)
    code, rec = net.query(w.doctor2["file"], path)
    mc.check(code == 200 and rec["id"] == w.record,
             f"a grantee with live consent (any purpose) reads the record ({code})")
    code, _ = net.query(w.doctor2["file"], f"/v1/audit?record={w.record}")
    mc.check(code == 200, f"and its audit entries ({code})")
    code, cons = net.query(p["file"], f"/v1/consents?grantee={w.doctor2['id']}")
    mc.check(code == "UNAUTHORIZED", f"the patient does not list another's grants ({code})")
    code, cons = net.query(w.doctor2["file"], f"/v1/consents?grantee={w.doctor2['id']}")
    cid = cons["items"][0]["id"]
    net.tx_ok(p["file"], "consent.revoke", f"consent={cid}")
    code, _ = net.query(w.doctor2["file"], path)
    mc.check(code == "UNAUTHORIZED", f"a revoked grantee is refused afterwards ({code})")
    code, c = net.query(w.doctor2["file"], f"/v1/consents/{cid}")
    mc.check(code == 200 and c["status"] == "revoked",
             f"the grantee still sees the revoked consent itself ({code})")


def scheme(net, w):
    http = net.http()
    p = w.patient
    path = f"/v1/consents?patient={p['id']}"
    for unsigned in (path, f"/v1/records/{w.record}", f"/v1/audit/{w.audit}", "/v1/audit",
                     f"/v1/consents/{w.consent}", f"/v1/records?patient={p['id']}"):
        code, body = http.get(unsigned)
        mc.check(code == 401 and body["error"]["code"] == "AUTH_REQUIRED",
                 f"unsigned {unsigned[:30]}: 401 AUTH_REQUIRED ({code})")
    now = str(int(time.time() * 1000))
    forged = {"X-Medchain-Key": p["sign_pk"], "X-Medchain-Timestamp": now,
              "X-Medchain-Nonce": secrets.token_hex(16),
              "X-Medchain-Signature": secrets.token_hex(64)}
    for what, hdrs in (("a forged signature", forged),
                       ("a missing nonce", {k: v for k, v in forged.items() if "Nonce" not in k}),
                       ("a short key", dict(forged, **{"X-Medchain-Key": "ab"}))):
        code, body = http_headers(net, path, hdrs)
        mc.check(code == 401 and body["error"]["code"] == "BAD_SIGNATURE",
                 f"{what}: 401 BAD_SIGNATURE ({code} {body})")
        mc.check("message" in body["error"] and p["id"] not in str(body),
                 f"{what}: the verdict names nobody")
    code, _ = net.query(p["file"], path, extra=("--chain-id", "another-chain"))
    mc.check(code == "BAD_SIGNATURE", f"a signature for another chain: BAD_SIGNATURE ({code})")
    nonce = secrets.token_hex(16)
    code, _ = net.query(p["file"], path, extra=("--nonce", nonce))
    mc.check(code == 200, f"a fresh nonce is accepted ({code})")
    code, _ = net.query(p["file"], path, extra=("--nonce", nonce))
    mc.check(code == "REQUEST_REPLAYED", f"the same request again: REQUEST_REPLAYED ({code})")
    code, _ = net.query(w.guardian["file"], path, extra=("--nonce", nonce))
    mc.check(code == 200, f"another key may use the same nonce ({code})")
    for what, delta in (("ten minutes old", -600000), ("ten minutes ahead", 600000)):
        ts = str(int(time.time() * 1000) + delta)
        code, _ = net.query(p["file"], path, extra=("--timestamp-ms", ts))
        mc.check(code == "REQUEST_EXPIRED", f"a request {what}: REQUEST_EXPIRED ({code})")
    for what, delta in (("two minutes old", -120000), ("two minutes ahead", 120000)):
        ts = str(int(time.time() * 1000) + delta)
        code, _ = net.query(p["file"], path, extra=("--timestamp-ms", ts))
        mc.check(code == "REQUEST_EXPIRED", f"a request {what}: REQUEST_EXPIRED ({code})")
    ts = str(int(time.time() * 1000) - 30000)
    code, _ = net.query(p["file"], path, extra=("--timestamp-ms", ts))
    mc.check(code == 200, f"half a minute of clock skew is fine ({code})")
    stranger_new = net.keygen("nobody")
    code, _ = net.query(stranger_new["file"], path)
    mc.check(code == "UNKNOWN_SENDER", f"a key of no identity: UNKNOWN_SENDER ({code})")


def keys_and_suspension(net, w):
    g = w.guardian
    path = f"/v1/consents?patient={w.patient['id']}"
    new = net.keygen("guardian-new")
    net.tx_ok(g["file"], "identity.rotate_key", f"sign_pk=@{new['file']}", f"box_pk=@{new['file']}")
    code, _ = net.query(g["file"], path)
    mc.check(code == "KEY_MISMATCH", f"a retired key: KEY_MISMATCH ({code})")
    code, _ = net.query(new["file"], path)
    mc.check(code == 200, f"the guardian's new key reads ({code})")
    net.tx_ok(w.admin_a, "identity.suspend", f"id={w.stranger['id']}")
    code, _ = net.query(w.stranger["file"], f"/v1/consents?patient={w.stranger['id']}")
    mc.check(code == "IDENTITY_SUSPENDED", f"a suspended identity: IDENTITY_SUSPENDED ({code})")


def public(net, w):
    http = net.http()
    code, st = http.get("/v1/status")
    paths = ["/v1/status", "/v1/methods", "/v1/blocks", "/v1/blocks/latest",
             f"/v1/blocks/{st['height']}", "/v1/validators", "/v1/organizations",
             f"/v1/organizations/{w.org_b}", "/v1/proposals", "/v1/identities",
             f"/v1/identities/{w.patient['id']}", f"/v1/keys/{w.patient['sign_pk']}", "/health"]
    for path in paths:
        code, _ = http.get(path)
        mc.check(code == 200, f"public without a signature: {path[:40]} ({code})")
    code, blk = http.get(f"/v1/blocks/{st['height']}")
    if blk["txs"]:
        code, _ = http.get(f"/v1/txs/{blk['txs'][0]['hash']}")
        mc.check(code == 200, f"a transaction's status is public ({code})")


def http_headers(net, path, headers):
    import json
    import urllib.error
    import urllib.request
    req = urllib.request.Request(net.url() + path, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def header_sets(net, w):
    """query --print-headers --count N: N sets, each good for one request."""
    path = f"/v1/consents?patient={w.patient['id']}"
    out = net.run_ok("query", "--node", net.url(), "--key", w.patient["file"], "--print-headers",
                     "--count", "3", path)
    mc.check(out.endswith("\n\n"), "every set ends with a blank line")
    sets = []
    for block in out.strip("\n").split("\n\n"):
        sets.append(dict(line.split(": ", 1) for line in block.split("\n")))
    mc.check(len(sets) == 3 and all(len(h) == 4 for h in sets),
             f"--count 3 prints three sets of four headers ({[len(h) for h in sets]})")
    nonces = {h.get("X-Medchain-Nonce") for h in sets}
    mc.check(len(nonces) == 3, "each set has its own nonce")
    for i, h in enumerate(sets):
        code, _ = http_headers(net, path, h)
        mc.check(code == 200, f"set {i} answers ({code})")
    code, body = http_headers(net, path, sets[0])
    mc.check(code == 401 and body["error"]["code"] == "REQUEST_REPLAYED",
             f"a set used twice: REQUEST_REPLAYED ({code})")
    rc, _, _ = net.run("query", "--node", net.url(), "--count", "2", path)
    mc.check(rc == 2, f"--count without --print-headers is a usage error (exit {rc})")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="auth")
    try:
        net.start()
        w = setup(net)
        rules(net, w)
        live_consent(net, w)
        scheme(net, w)
        header_sets(net, w)
        keys_and_suspension(net, w)
        public(net, w)
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    main()
