"""Identity lifecycle through the CLI, and the operator's views.

- key rotation: the id stays, the old key is refused (KEY_MISMATCH), the new
  key signs (with `tx --sender ID`, since the id is the hash of the first
  key), a retired or bound key can never be bound again (ALREADY_EXISTS);
- suspension by the organization's admin: IDENTITY_SUSPENDED until
  reinstated; nobody else may suspend; the last admin cannot be suspended;
- guardians: a guardian grants and revokes for the patient, anyone else is
  UNAUTHORIZED, a removed guardian loses the right;
- record-scoped consent with sealed keys: the grantee's key joins the
  record, revoking removes it; records.erase leaves a tombstone without
  keys, and a later record-scoped grant is RECORD_ERASED;
- paging of /v1/identities with limit=2 and the cursor: every identity once;
- /metrics in Prometheus text format, the rejected-tx counter moves;
- an Argon2id keystore: MEDCHAIN_PASSPHRASE right signs, wrong or missing
  fails with BAD_PASSPHRASE;
- `medchain testnet status --json`.
"""

import hashlib
import json
import os
import re
import secrets
import stat
import subprocess
import time

import mc

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"
FAR = "expires_ms=4102444800000"  # 2100-01-01


def tx(net, key, call, *kv, sender=None, env=None, extra=()):
    """Runs `medchain tx`; returns (exit code, stable code or "OK", body)."""
    argv = ["tx", "--node", net.url(), "--key", key, "--json", *extra]
    if sender is not None:
        argv += ["--sender", sender]
    rc, out, err = net.run(*argv, call, *kv, env=env)
    body = None
    try:
        body = json.loads(out) if out.strip() else None
    except ValueError:
        pass
    code = None
    if isinstance(body, dict) and "error" in body:
        code = body["error"].get("code")
    elif isinstance(body, dict) and body.get("result"):
        code = body["result"]
    if code is None:
        m = re.search(r"medchain: ([A-Z_]+):", err)
        code = m.group(1) if m else f"rc={rc} {err.strip()[:200]}"
    return rc, code, body


def expect(net, what, want, key, call, *kv, **kw):
    rc, code, body = tx(net, key, call, *kv, **kw)
    ok = code == want and ((rc == 0) == (want == "OK"))
    mc.check(ok, f"{what}: {want} (got {code}, exit {rc})")
    return body


def signed_hex(net, key, call, *kv, sender=None, nonce=None):
    argv = ["tx", "--node", net.url(), "--key", key, "--print-only"]
    if sender is not None:
        argv += ["--sender", sender]
    if nonce is not None:
        argv += ["--nonce", str(nonce)]
    rc, out, err = net.run(*argv, call, *kv)
    if rc != 0:
        raise RuntimeError(f"could not sign {call}: {err}")
    return out.strip().split()[-1]


def ident(net, id_):
    code, body = net.http().get(f"/v1/identities/{id_}")
    return body if code == 200 else None


def practitioner(net, admin, name, role="cardiology"):
    d = net.keygen(name)
    net.tx_ok(admin, "identity.register", "kind=practitioner", f"sign_pk=@{d['file']}",
              f"box_pk=@{d['file']}", f"licence_hash={secrets.token_hex(32)}", f"role={role}")
    return d


def patient(net, admin, name):
    p = net.keygen(name)
    net.tx_ok(admin, "identity.enrol_patient", f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}")
    return p


def rotation(net, admin_a):
    http = net.http()
    p = patient(net, admin_a, "rot")
    new = net.keygen("rot-new")
    before = ident(net, p["id"])
    expect(net, "rotate to a new keystore", "OK", p["file"], "identity.rotate_key",
           f"sign_pk=@{new['file']}", f"box_pk=@{new['file']}")
    after = ident(net, p["id"])
    mc.check(after is not None and after["id"] == p["id"], "the id is unchanged after rotation")
    mc.check(after["sign_pk"] == new["sign_pk"] and after["box_pk"] == new["box_pk"],
             "the identity now shows the new keys")
    mc.check(after["created_height"] == before["created_height"] and after["kind"] == "patient",
             "the rest of the identity stays")
    code, _ = http.get(f"/v1/identities/{new['id']}")
    mc.check(code == 404, "no identity appears under the new key's hash")

    other = patient(net, admin_a, "rot-other")
    expect(net, "the old key is refused", "KEY_MISMATCH", p["file"], "identity.set_guardian",
           f"guardian={other['id']}", "active=true")
    old_raw = signed_hex(net, p["file"], "identity.set_guardian", f"guardian={other['id']}",
                         "active=true", nonce=after["next_nonce"])
    code, body = http.post("/v1/txs", {"tx": old_raw})
    mc.check(code == 401 and body.get("error", {}).get("code") == "KEY_MISMATCH",
             f"a raw tx signed with the old key: 401 KEY_MISMATCH (got {code} {body})")
    # The node says which identity a key belongs to; the CLI asks it by itself.
    code, body = http.get(f"/v1/keys/{new['sign_pk']}")
    mc.check(code == 200 and body.get("id") == p["id"], "the new key names the rotated identity")
    code, body = http.get(f"/v1/keys/{p['sign_pk']}")
    mc.check(code == 200 and body.get("id") == p["id"], "the retired key still names it")
    code, body = http.get(f"/v1/keys/{'77' * 32}")
    mc.check(code == 404, "an unknown key names nobody")
    # Signed under the new key's own hash, the transaction names nobody.
    unknown = signed_hex(net, new["file"], "identity.set_guardian", f"guardian={other['id']}",
                         "active=true", sender=new["id"], nonce=1)
    code, body = http.post("/v1/txs", {"tx": unknown})
    mc.check(code == 401 and body.get("error", {}).get("code") == "UNKNOWN_SENDER",
             f"the new key under its own hash: UNKNOWN_SENDER (got {code} {body})")
    expect(net, "the new key signs for the unchanged id", "OK", new["file"],
           "identity.set_guardian", f"guardian={other['id']}", "active=true", sender=p["id"])
    mc.check(ident(net, p["id"])["guardians"] == [other["id"]], "the new key's call took effect")
    expect(net, "without --sender the CLI finds the rotated identity", "OK", new["file"],
           "identity.set_guardian", f"guardian={other['id']}", "active=false")
    mc.check(ident(net, p["id"])["guardians"] == [], "the call took effect on the rotated identity")
    expect(net, "and back", "OK", new["file"], "identity.set_guardian", f"guardian={other['id']}",
           "active=true")

    expect(net, "rotating back to the retired key", "ALREADY_EXISTS", new["file"],
           "identity.rotate_key", f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}",
           sender=p["id"])
    expect(net, "another identity taking the retired key", "ALREADY_EXISTS", other["file"],
           "identity.rotate_key", f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}")
    expect(net, "another identity taking the current key", "ALREADY_EXISTS", other["file"],
           "identity.rotate_key", f"sign_pk=@{new['file']}", f"box_pk=@{new['file']}")
    expect(net, "enrolling the retired key as a new patient", "ALREADY_EXISTS", admin_a,
           "identity.enrol_patient", f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}")
    expect(net, "enrolling the current key as a new patient", "ALREADY_EXISTS", admin_a,
           "identity.enrol_patient", f"sign_pk=@{new['file']}", f"box_pk=@{new['file']}")
    expect(net, "a zero box key", "BAD_ARGS", new["file"], "identity.rotate_key",
           f"sign_pk=@{net.keygen('rot-3')['file']}", f"box_pk={'00' * 32}", sender=p["id"])
    third = net.keygen("rot-third")
    expect(net, "a second rotation", "OK", new["file"], "identity.rotate_key",
           f"sign_pk=@{third['file']}", f"box_pk=@{third['file']}", sender=p["id"])
    expect(net, "the first rotation's key is now refused too", "KEY_MISMATCH", new["file"],
           "identity.set_guardian", f"guardian={other['id']}", "active=false", sender=p["id"])
    expect(net, "the third key works", "OK", third["file"], "identity.set_guardian",
           f"guardian={other['id']}", "active=false", sender=p["id"])
    mc.check(ident(net, p["id"])["guardians"] == [], "guardian removed with the third key")


def suspension(net, admin_a, admin_b, doctor):
    p = patient(net, admin_a, "susp")
    g = patient(net, admin_a, "susp-g")
    expect(net, "another org's admin cannot suspend", "UNAUTHORIZED", admin_b,
           "identity.suspend", f"id={p['id']}")
    expect(net, "a patient cannot suspend", "UNAUTHORIZED", g["file"], "identity.suspend",
           f"id={p['id']}")
    expect(net, "suspending an unknown id", "UNKNOWN_IDENTITY", admin_a, "identity.suspend",
           f"id={secrets.token_hex(32)}")
    expect(net, "the org admin suspends the patient", "OK", admin_a, "identity.suspend",
           f"id={p['id']}")
    mc.check(ident(net, p["id"])["status"] == "suspended", "the identity shows suspended")
    expect(net, "a suspended patient's tx", "IDENTITY_SUSPENDED", p["file"],
           "identity.set_guardian", f"guardian={g['id']}", "active=true")
    raw = signed_hex(net, p["file"], "identity.set_guardian", f"guardian={g['id']}",
                     "active=true")
    code, body = net.http().post("/v1/txs", {"tx": raw})
    mc.check(code == 403 and body.get("error", {}).get("code") == "IDENTITY_SUSPENDED",
             f"raw tx of a suspended identity: 403 IDENTITY_SUSPENDED (got {code})")
    expect(net, "anchoring for a suspended patient", "IDENTITY_SUSPENDED", doctor["file"],
           "records.anchor", f"record={secrets.token_hex(32)}", f"patient={p['id']}",
           "category=cardiology", "fhir_type=Observation",
           f"content_hash={secrets.token_hex(32)}", "size=10",
           f"keys={p['id']}:{secrets.token_hex(80)},{doctor['id']}:{secrets.token_hex(80)}")
    expect(net, "the org admin reinstates", "OK", admin_a, "identity.reinstate", f"id={p['id']}")
    mc.check(ident(net, p["id"])["status"] == "active", "the identity shows active again")
    expect(net, "the reinstated patient's tx works", "OK", p["file"], "identity.set_guardian",
           f"guardian={g['id']}", "active=true")

    # A second admin can be suspended; the last active admin cannot.
    adm2 = net.keygen("admin2")
    net.tx_ok(admin_a, "identity.register", "kind=admin", f"sign_pk=@{adm2['file']}",
              f"box_pk=@{adm2['file']}", f"licence_hash={'00' * 32}", "role=")
    expect(net, "suspending the second admin", "OK", admin_a, "identity.suspend",
           f"id={adm2['id']}")
    expect(net, "the suspended admin cannot act", "IDENTITY_SUSPENDED", adm2["file"],
           "identity.enrol_patient", f"sign_pk=@{net.keygen('x1')['file']}",
           f"box_pk=@{net.keygen('x2')['file']}")
    a_id = keystore_id(admin_a)
    mc.check(ident(net, a_id)["kind"] == "admin", "the founding admin's id from its keystore")
    expect(net, "the last active admin cannot be suspended", "UNAUTHORIZED", admin_a,
           "identity.suspend", f"id={a_id}")
    expect(net, "reinstating the second admin", "OK", admin_a, "identity.reinstate",
           f"id={adm2['id']}")


def keystore_id(path):
    """H_medchain.id.v1(sign_pk), the public key read from the keystore's
    layout (docs/protocol.md: magic 8, kdf 1, limits 16, salt 16, nonce 24)."""
    with open(path, "rb") as f:
        pk = f.read()[65:97]
    tag = b"medchain.id.v1"
    return hashlib.blake2b(bytes([len(tag)]) + tag + pk, digest_size=32).hexdigest()


def guardians_and_records(net, admin_a, doctor):
    http = net.http()
    p = patient(net, admin_a, "ward")
    pr = net.reader(p["file"])  # patient data answers signed reads only
    g = patient(net, admin_a, "guardian")
    stranger = patient(net, admin_a, "stranger")
    doctor2 = practitioner(net, net.admin_key(HOSP_B), "doctor2", role="oncology")

    expect(net, "a patient cannot be their own guardian", "BAD_ARGS", p["file"],
           "identity.set_guardian", f"guardian={p['id']}", "active=true")
    expect(net, "an unknown guardian", "UNKNOWN_IDENTITY", p["file"], "identity.set_guardian",
           f"guardian={secrets.token_hex(32)}", "active=true")
    expect(net, "a practitioner cannot set guardians", "UNAUTHORIZED", doctor["file"],
           "identity.set_guardian", f"guardian={g['id']}", "active=true")
    expect(net, "the patient names a guardian", "OK", p["file"], "identity.set_guardian",
           f"guardian={g['id']}", "active=true")
    mc.check(ident(net, p["id"])["guardians"] == [g["id"]], "the guardian is listed")
    expect(net, "a guardian named twice", "ALREADY_EXISTS", p["file"], "identity.set_guardian",
           f"guardian={g['id']}", "active=true")

    expect(net, "the guardian grants for the patient", "OK", g["file"], "consent.grant",
           f"patient={p['id']}", f"grantee={doctor2['id']}", "scope=category",
           "category=oncology", "purpose=treatment", FAR)
    code, cons = pr.get(f"/v1/consents?patient={p['id']}")
    items = cons.get("items", [])
    mc.check(len(items) == 1 and items[0]["granted_by"] == g["id"]
             and items[0]["patient"] == p["id"] and items[0]["grantee"] == doctor2["id"],
             "the consent names the patient and was granted by the guardian")
    expect(net, "a non-guardian cannot grant", "UNAUTHORIZED", stranger["file"],
           "consent.grant", f"patient={p['id']}", f"grantee={doctor2['id']}",
           "scope=category", "category=oncology", "purpose=research", FAR)
    expect(net, "a practitioner cannot grant for the patient", "UNAUTHORIZED", doctor["file"],
           "consent.grant", f"patient={p['id']}", f"grantee={doctor['id']}",
           "scope=category", "category=oncology", "purpose=research", FAR)
    expect(net, "a non-guardian cannot revoke", "UNAUTHORIZED", stranger["file"],
           "consent.revoke", f"consent={items[0]['id']}")
    expect(net, "the guardian revokes", "OK", g["file"], "consent.revoke",
           f"consent={items[0]['id']}")

    # A record anchored by the patient's own org, keys for patient and author.
    record = secrets.token_hex(32)
    sealed = {x: secrets.token_hex(80) for x in (p["id"], doctor["id"], doctor2["id"])}
    expect(net, "the doctor anchors a record", "OK", doctor["file"], "records.anchor",
           f"record={record}", f"patient={p['id']}", "category=cardiology",
           "fhir_type=Observation", f"content_hash={secrets.token_hex(32)}", "size=2048",
           f"keys={p['id']}:{sealed[p['id']]},{doctor['id']}:{sealed[doctor['id']]}")
    expect(net, "record scope with another category", "BAD_ARGS", p["file"], "consent.grant",
           f"patient={p['id']}", f"grantee={doctor2['id']}", "scope=record",
           "category=oncology", f"record={record}", "purpose=treatment", FAR,
           f"keys={doctor2['id']}:{sealed[doctor2['id']]}")
    expect(net, "record scope for another patient's record", "UNKNOWN_RECORD", stranger["file"],
           "consent.grant", f"patient={stranger['id']}", f"grantee={doctor2['id']}",
           "scope=record", f"record={record}", "purpose=treatment", FAR)
    expect(net, "record-scoped grant with a sealed key", "OK", g["file"], "consent.grant",
           f"patient={p['id']}", f"grantee={doctor2['id']}", "scope=record", f"record={record}",
           "purpose=treatment", FAR, f"keys={doctor2['id']}:{sealed[doctor2['id']]}")
    code, rec = pr.get(f"/v1/records/{record}")
    readers = {k["reader"]: k["sealed_key"] for k in rec.get("keys", [])}
    mc.check(readers == sealed, "the grantee's sealed key joined the record's keys")
    mc.check([k["reader"] for k in rec["keys"]] == sorted(readers), "keys are kept sorted")
    code, byrec = pr.get(f"/v1/consents?record={record}")
    rc_items = byrec.get("items", [])
    mc.check(len(rc_items) == 1 and rc_items[0]["scope"] == "record"
             and rc_items[0]["category"] == "cardiology" and rc_items[0]["record"] == record,
             "the record-scoped consent is listed by record, with the record's category")
    expect(net, "revoking the record-scoped consent", "OK", p["file"], "consent.revoke",
           f"consent={rc_items[0]['id']}")
    code, rec = pr.get(f"/v1/records/{record}")
    mc.check(sorted(k["reader"] for k in rec["keys"]) == sorted([p["id"], doctor["id"]]),
             "revoking removed the grantee's sealed key")

    expect(net, "the author cannot erase", "UNAUTHORIZED", doctor["file"], "records.erase",
           f"record={record}")
    expect(net, "a stranger cannot erase", "UNAUTHORIZED", stranger["file"], "records.erase",
           f"record={record}")
    expect(net, "erasing an unknown record", "UNKNOWN_RECORD", p["file"], "records.erase",
           f"record={secrets.token_hex(32)}")
    expect(net, "the patient erases the record", "OK", p["file"], "records.erase",
           f"record={record}")
    code, rec = pr.get(f"/v1/records/{record}")
    mc.check(code == 200 and rec["erased"] is True and rec["keys"] == [],
             "the record shows erased with no keys")
    mc.check(rec["patient"] == p["id"] and rec["size"] == 2048
             and rec["category"] == "cardiology", "the tombstone keeps the metadata")
    expect(net, "a record-scoped grant on an erased record", "RECORD_ERASED", p["file"],
           "consent.grant", f"patient={p['id']}", f"grantee={doctor2['id']}", "scope=record",
           f"record={record}", "purpose=treatment", FAR,
           f"keys={doctor2['id']}:{sealed[doctor2['id']]}")
    raw = signed_hex(net, p["file"], "consent.grant", f"patient={p['id']}",
                     f"grantee={doctor2['id']}", "scope=record", f"record={record}",
                     "purpose=treatment", FAR)
    code, body = http.post("/v1/txs", {"tx": raw})
    mc.check(code == 410 and body.get("error", {}).get("code") == "RECORD_ERASED",
             f"raw grant on an erased record: 410 RECORD_ERASED (got {code})")
    expect(net, "erasing twice", "RECORD_ERASED", g["file"], "records.erase", f"record={record}")

    expect(net, "the patient removes the guardian", "OK", p["file"], "identity.set_guardian",
           f"guardian={g['id']}", "active=false")
    expect(net, "a removed guardian cannot grant", "UNAUTHORIZED", g["file"], "consent.grant",
           f"patient={p['id']}", f"grantee={doctor2['id']}", "scope=category",
           "category=oncology", "purpose=treatment", FAR)
    expect(net, "removing a guardian that is not there", "UNKNOWN_IDENTITY", p["file"],
           "identity.set_guardian", f"guardian={g['id']}", "active=false")


def paging(net):
    http = net.http()
    code, full = http.get("/v1/identities?limit=100")
    mc.check(code == 200 and full["next"] is None, "all identities fit one page of 100")
    all_ids = [i["id"] for i in full["items"]]
    seen = []
    cursor = None
    pages = 0
    while pages < 200:
        path = "/v1/identities?limit=2" + (f"&cursor={cursor}" if cursor else "")
        code, page = http.get(path)
        if code != 200:
            mc.check(False, f"page {pages} answered {code} {page}")
            break
        pages += 1
        mc.check(1 <= len(page["items"]) <= 2 or (not page["items"] and page["next"] is None),
                 f"page {pages} holds at most 2 items")
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    mc.check(len(all_ids) >= 10, f"enough identities to page through ({len(all_ids)})")
    mc.check(len(seen) == len(set(seen)), "paging repeats no identity")
    mc.check(seen == all_ids, f"paging with limit=2 yields every identity in order "
                              f"({len(seen)} of {len(all_ids)})")
    mc.check(pages == (len(all_ids) + 1) // 2, f"{pages} pages for {len(all_ids)} items")
    items = {i["id"]: i for i in full["items"]}
    mc.check(all("next_nonce" in i for i in items.values()), "identities carry next_nonce")
    n = len(all_ids)
    for limit in (1, 3, n - 1, n):  # n: the last page is exactly full
        got, cursor, pages = [], None, 0
        while pages < 2 * n + 2:
            code, page = http.get(f"/v1/identities?limit={limit}"
                                  + (f"&cursor={cursor}" if cursor else ""))
            if code != 200:
                break
            pages += 1
            got += [i["id"] for i in page["items"]]
            cursor = page["next"]
            if cursor is None:
                break
        mc.check(got == all_ids and pages == -(-n // limit),
                 f"limit={limit}: every identity once in {pages} pages (want {-(-n // limit)})")

    # Filtered by organization: the same rule, and only that org.
    org = items[all_ids[0]]["org"]
    seen, cursor = [], None
    for _ in range(100):
        code, page = http.get(f"/v1/identities?org={org}&limit=2"
                              + (f"&cursor={cursor}" if cursor else ""))
        if code != 200:
            break
        seen += [i["id"] for i in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
    want = sorted(i for i, v in items.items() if v["org"] == org)
    mc.check(sorted(seen) == want and len(seen) == len(set(seen)),
             f"paging by org yields exactly that org's identities ({len(seen)}/{len(want)})")
    for bad in ("limit=0", "limit=101", "limit=x", "cursor=zz", "limit=2&limit=3"):
        code, body = http.get(f"/v1/identities?{bad}")
        mc.check(code == 400 and body.get("error", {}).get("code") == "BAD_REQUEST",
                 f"/v1/identities?{bad}: 400 BAD_REQUEST (got {code})")


def scrape(http):
    import urllib.request
    with urllib.request.urlopen(http.url + "/metrics", timeout=30) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def parse_metrics(text):
    types, samples, bad = {}, {}, []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) != 4 or parts[3] not in ("counter", "gauge", "histogram", "summary",
                                                   "untyped"):
                bad.append(line)
            else:
                types[parts[2]] = parts[3]
            continue
        if line.startswith("# HELP ") or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-z_]+="[^"\\\n]*",?)*\})? ([0-9.eE+-]+)',
                         line)
        if not m:
            bad.append(line)
            continue
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(4))
    return types, samples, bad


def metrics(net, admin_a):
    http = net.http()
    code, ctype, text = scrape(http)
    mc.check(code == 200 and ctype.startswith("text/plain"), f"/metrics is text/plain ({ctype})")
    types, samples, bad = parse_metrics(text)
    mc.check(not bad, f"every line is Prometheus text format {bad[:3]}")
    mc.check(text.endswith("\n") and "# TYPE" in text, "TYPE lines present, text ends in newline")
    names = {s.split("{")[0] for s in samples}
    mc.check(names and all(n.startswith("medchain_") for n in names | set(types)),
             f"every metric name starts with medchain_ {sorted(names)}")
    def family(n):
        for suffix in ("_bucket", "_sum", "_count"):
            if n.endswith(suffix) and types.get(n[:-len(suffix)]) == "histogram":
                return n[:-len(suffix)]
        return n
    mc.check(all(family(n) in types for n in names), "every sample's metric has a # TYPE line")
    want = {"medchain_height": "gauge", "medchain_txs_committed_total": "counter",
            "medchain_txs_rejected_total": "counter", "medchain_mempool_txs": "gauge",
            "medchain_mempool_bytes": "gauge", "medchain_http_requests_total": "counter",
            "medchain_blocks_committed_total": "counter", "medchain_block_seconds": "histogram",
            "medchain_peers": "gauge", "medchain_uptime_seconds": "gauge"}
    for n, t in want.items():
        mc.check(types.get(n) == t, f"{n} is exported as a {t} ({types.get(n)})")
        mc.check(f"# HELP {n} " in text, f"{n} has a HELP line")
    mc.check(samples.get("medchain_peers") == 0, "medchain_peers is 0 while the node runs alone")
    mc.check(samples.get("medchain_uptime_seconds", -1) >= 0, "medchain_uptime_seconds is there")
    buckets = [(k, v) for k, v in samples.items() if k.startswith("medchain_block_seconds_bucket")]
    mc.check(len(buckets) >= 2 and 'medchain_block_seconds_bucket{le="+Inf"}' in samples,
             f"the block histogram has buckets and +Inf ({len(buckets)})")
    mc.check(samples.get('medchain_block_seconds_bucket{le="+Inf"}') ==
             samples.get("medchain_block_seconds_count"), "+Inf bucket == _count")
    counts = [v for _, v in buckets]
    mc.check(counts == sorted(counts), "histogram buckets are cumulative")
    code, st = http.get("/v1/status")
    mc.check(samples.get("medchain_height", -1) <= st["height"]
             and samples.get("medchain_height", -1) >= st["height"] - 1,
             "medchain_height follows the chain")
    mc.check(samples.get("medchain_txs_committed_total", 0) > 0, "committed counter counts")
    mc.check(any('route="/v1/txs"' in s for s in samples), "requests are counted by route")

    key = 'medchain_txs_rejected_total{code="NONCE_GAP"}'
    before = samples.get(key, 0)
    raw = signed_hex(net, admin_a, "identity.enrol_patient",
                     f"sign_pk=@{net.keygen('gap')['file']}", f"box_pk=@{net.keygen('gap2')['file']}",
                     nonce=10 ** 6)
    code, body = http.post("/v1/txs", {"tx": raw})
    mc.check(code == 409 and body.get("error", {}).get("code") == "NONCE_GAP",
             "a nonce far ahead: 409 NONCE_GAP")
    _, _, text2 = scrape(http)
    _, samples2, _ = parse_metrics(text2)
    mc.check(samples2.get(key, 0) == before + 1,
             f"the rejected counter for NONCE_GAP went {before} -> {samples2.get(key)}")
    key404 = 'medchain_http_requests_total{route="/v1/identities/{id}",status="404"}'
    b404 = samples2.get(key404, 0)
    http.get(f"/v1/identities/{secrets.token_hex(32)}")
    _, _, text3 = scrape(http)
    _, samples3, _ = parse_metrics(text3)
    mc.check(samples3.get(key404, 0) == b404 + 1, "a 404 is counted under its route pattern")
    mc.check(not re.search(r"[0-9a-f]{64}", text3), "no id appears in the metrics")
    blocks0 = samples3.get("medchain_blocks_committed_total", -1)
    hist0 = samples3.get("medchain_block_seconds_count", -1)
    patient(net, admin_a, "metrics-patient")
    _, _, text4 = scrape(http)
    _, samples4, _ = parse_metrics(text4)
    mc.check(samples4.get("medchain_blocks_committed_total", -1) > blocks0 >= 1,
             f"medchain_blocks_committed_total grows after a block ({blocks0} -> "
             f"{samples4.get('medchain_blocks_committed_total')})")
    mc.check(samples4.get("medchain_block_seconds_count", -1) > hist0 >= 1,
             f"medchain_block_seconds_count grows after a block ({hist0} -> "
             f"{samples4.get('medchain_block_seconds_count')})")
    mc.check(samples4.get("medchain_block_seconds_sum", -1) > 0, "block time adds up")


def passphrase(net, admin_a):
    path = os.path.join(net.dir, "protected.key")
    t0 = time.time()
    rc, out, err = net.run("keygen", "--out", path, "--json",
                           env={"MEDCHAIN_PASSPHRASE": "correct horse battery staple"})
    mc.check(rc == 0, f"keygen with MEDCHAIN_PASSPHRASE ({err.strip()})")
    if rc != 0:
        return
    info = json.loads(out)
    st = os.stat(path)
    mc.check(st.st_size == 177 and stat.S_IMODE(st.st_mode) == 0o600,
             "the keystore is 177 bytes, mode 0600")
    with open(path, "rb") as f:
        head = f.read(9)
    mc.check(head == b"MCKEYS1\n\x01", "the keystore is Argon2id-protected (kdf byte 1)")
    with open(path, "rb") as f:
        blob = f.read()
    mc.check(bytes.fromhex(info["sign_pk"]) in blob and b"correct horse" not in blob,
             "the file holds the public key, not the passphrase")
    net.tx_ok(admin_a, "identity.enrol_patient", f"sign_pk=@{path}", f"box_pk=@{path}")
    g = patient(net, admin_a, "pp-guardian")
    expect(net, "tx with the right passphrase", "OK", path, "identity.set_guardian",
           f"guardian={g['id']}", "active=true",
           env={"MEDCHAIN_PASSPHRASE": "correct horse battery staple"})
    expect(net, "tx with a wrong passphrase", "BAD_PASSPHRASE", path, "identity.set_guardian",
           f"guardian={g['id']}", "active=false", env={"MEDCHAIN_PASSPHRASE": "wrong horse"})
    env = {"MEDCHAIN_PASSPHRASE": ""}
    expect(net, "tx with an empty passphrase", "BAD_PASSPHRASE", path, "identity.set_guardian",
           f"guardian={g['id']}", "active=false", env=env)
    # No passphrase at all and no terminal: refused, never a hang.
    env = {k: v for k, v in os.environ.items() if k != "MEDCHAIN_PASSPHRASE"}
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([net.bin, "tx", "--node", net.url(), "--key", path, "--json",
                        "identity.set_guardian", f"guardian={g['id']}", "active=false"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
                       env=env, start_new_session=True)
    mc.check(p.returncode == 1 and "BAD_PASSPHRASE" in p.stderr,
             f"tx without any passphrase and no terminal: BAD_PASSPHRASE ({p.stderr.strip()})")
    mc.check(ident(net, info["id"])["next_nonce"] == 2, "the refused attempts used no nonce")
    mc.check(time.time() - t0 < 60, "Argon2id steps finish in bounded time")


def testnet_status(net):
    rc, out, err = net.run("testnet", "status", "--dir", net.net, "--json")
    mc.check(rc == 0, f"testnet status --json exits 0 ({err.strip()})")
    doc = json.loads(out)
    nodes = doc.get("nodes", [])
    mc.check(len(nodes) == 1, "status lists the one node")
    n = nodes[0] if nodes else {}
    for field in ("name", "pid", "api_url", "height", "up"):
        mc.check(field in n, f"status has '{field}'")
    mc.check(n.get("name") == "node0" and n.get("up") is True, "node0 is up")
    mc.check(n.get("pid") == net.pid(0), "pid matches HOME/node.pid")
    mc.check(n.get("api_url") == net.url(0), "api_url is the node's URL")
    _, st = net.http().get("/v1/status")
    mc.check(isinstance(n.get("height"), int) and 0 < n["height"] <= st["height"],
             f"height is the chain's ({n.get('height')} vs {st['height']})")
    net.stop()
    rc, out, err = net.run("testnet", "status", "--dir", net.net, "--json")
    doc = json.loads(out) if out.strip() else {}
    down = (doc.get("nodes") or [{}])[0]
    mc.check(down.get("up") is False, f"after stop the node shows down ({out.strip()})")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="identity")
    try:
        net.start()
        admin_a = net.admin_key(HOSP_A)
        admin_b = net.admin_key(HOSP_B)
        doctor = practitioner(net, admin_a, "doctor")
        rotation(net, admin_a)
        suspension(net, admin_a, admin_b, doctor)
        guardians_and_records(net, admin_a, doctor)
        passphrase(net, admin_a)
        paging(net)
        metrics(net, admin_a)
        testnet_status(net)
    finally:
        mc.close_safely(net)
    mc.finish()


if __name__ == "__main__":
    main()
