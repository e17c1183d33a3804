"""The FHIR R4 facade (/fhir) against a real node, driven as an EHR system
would drive it: by fhir-kit-client from npm (tests/fhir/facade.mjs), with
the X-Medchain-* signed-request headers computed per request.

This file builds the world through the CLI (organizations come from the
testnet's genesis; a doctor in each of two hospitals, an auditor, a patient
and a stranger; a consent, three records, one of them erased, two audit
entries of which one is an emergency read), writes what the driver needs
to a JSON file, runs the driver and checks its verdict. The driver asserts
on what a client sees: metadata, read and search of every resource type,
paging, a Consent create that succeeds and one refused with its code,
OperationOutcome for unknown ids and types and for unsigned patient reads.
Last, back here: the refused create changed nothing on chain.
"""

import json
import os
import secrets
import shutil
import subprocess

import mc

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"
FAR = "expires_ms=4102444800000"
HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER_DIR = os.path.join(HERE, "..", "fhir")
ROOT = os.path.join(HERE, "..", "..")


def practitioner(net, admin, name):
    k = net.keygen(name)
    net.tx_ok(admin, "identity.register", "kind=practitioner", f"sign_pk=@{k['file']}",
              f"box_pk=@{k['file']}", f"licence_hash={secrets.token_hex(32)}", "role=cardiology")
    return k


def anchor(net, doctor, patient, category="cardiology"):
    rec = secrets.token_hex(32)
    keys = ",".join(sorted(f"{x}:{secrets.token_hex(80)}" for x in (patient["id"], doctor["id"])))
    net.tx_ok(doctor["file"], "records.anchor", f"record={rec}", f"patient={patient['id']}",
              f"category={category}", "fhir_type=Observation",
              f"content_hash={secrets.token_hex(32)}", "size=512", f"keys={keys}")
    return rec


def setup(net):
    w = {}
    admin_a, admin_b = net.admin_key(HOSP_A), net.admin_key(HOSP_B)
    doctor = practitioner(net, admin_a, "doctor")
    doctor2 = practitioner(net, admin_b, "doctor2")
    auditor = net.keygen("auditor")
    net.tx_ok(admin_a, "identity.register", "kind=auditor", f"sign_pk=@{auditor['file']}",
              f"box_pk=@{auditor['file']}")
    people = {}
    for name in ("patient", "stranger"):
        k = net.keygen(name)
        net.tx_ok(admin_a, "identity.enrol_patient", f"sign_pk=@{k['file']}",
                  f"box_pk=@{k['file']}")
        people[name] = k
    p = people["patient"]
    net.tx_ok(p["file"], "consent.grant", f"patient={p['id']}", f"grantee={doctor['id']}",
              "scope=category", "category=cardiology", "purpose=treatment", FAR)
    records = [anchor(net, doctor, p) for _ in range(3)]
    net.tx_ok(p["file"], "records.erase", f"record={records[2]}")
    node = secrets.token_hex(32)
    net.tx_ok(admin_a, "audit.log", f"record={records[0]}", f"accessor={doctor['id']}",
              "purpose=treatment", "emergency=false", f"reason_hash={'00' * 32}", f"node={node}",
              "reason_sealed=")
    # An emergency read: its reason is on chain only hashed and sealed to the patient.
    net.tx_ok(doctor["file"], "audit.log", f"record={records[1]}", f"accessor={doctor['id']}",
              "purpose=emergency", "emergency=true", f"reason_hash={secrets.token_hex(32)}",
              f"node={node}", f"reason_sealed={secrets.token_hex(80)}")
    code, orgs = net.http().get("/v1/organizations")
    by_name = {o["name"]: o["id"] for o in orgs["items"]}
    code, ident = net.http().get(f"/v1/identities/{doctor['id']}")
    w["base"] = net.url() + "/fhir"
    w["api"] = net.url()
    w["keys"] = {"patient": p["file"], "stranger": people["stranger"]["file"],
                 "doctor": doctor["file"], "doctor2": doctor2["file"],
                 "auditor": auditor["file"]}
    w["ids"] = {"patient": p["id"], "stranger": people["stranger"]["id"],
                "doctor": doctor["id"], "doctor2": doctor2["id"], "auditor": auditor["id"],
                "org_a": ident["org"], "org_b": [v for k, v in by_name.items()
                                                 if k.startswith("Lakeside")][0]}
    w["records"] = records
    w["node"] = node
    w["licence_hash"] = ident["licence_hash"]
    return w


def run_driver(net, w):
    node = shutil.which("node")
    mc.check(node is not None, "node (Node.js) is installed")
    if node is None:
        return
    subprocess.run([os.path.join(ROOT, "scripts", "npm-ensure"), DRIVER_DIR], check=True)
    fixture = os.path.join(net.dir, "fhir-fixture.json")
    with open(fixture, "w") as f:
        json.dump(w, f)
    p = subprocess.run([node, os.path.join(DRIVER_DIR, "facade.mjs"), fixture],
                       capture_output=True, text=True, timeout=300)
    print(p.stdout, end="")
    print(p.stderr, end="")
    mc.check(p.returncode == 0, f"the fhir-kit-client driver passes (exit {p.returncode})")


def main():
    a = mc.args()
    net = mc.Net(a.bin, keep=a.keep, name="fhir")
    try:
        # The node serves as its hospital's gateway (records through the facade).
        net.config_set(0, operator_key=os.path.abspath(net.admin_key(HOSP_A)))
        net.start()
        w = setup(net)
        w["marker"] = "FHIR-PLAINTEXT-" + secrets.token_hex(8)
        code, before = net.query(w["keys"]["patient"], f"/v1/consents?patient={w['ids']['patient']}")
        run_driver(net, w)
        # The driver created one consent (to doctor2) and had two refused.
        code, after = net.query(w["keys"]["patient"], f"/v1/consents?patient={w['ids']['patient']}")
        grantees = sorted(c["grantee"] for c in after["items"])
        mc.check(code == 200 and len(after["items"]) == len(before["items"]) + 1,
                 f"exactly one consent was created through FHIR ({len(before['items'])} -> "
                 f"{len(after['items'])})")
        mc.check(grantees == sorted([w["ids"]["doctor"], w["ids"]["doctor2"]]),
                 "the created consent is the one to doctor2; the refused ones left nothing")
        # Every FHIR route is counted under its pattern, never with an id.
        with_ids = [line for line in urlopen_text(net.url() + "/metrics").splitlines()
                    if "/fhir" in line and w["ids"]["patient"] in line]
        mc.check(not with_ids, "no patient id in the metrics labels of /fhir routes")
        net.stop()
        leaks = files_holding(net.dir, w["marker"].encode())
        mc.check(not leaks, f"no block, state, blob or log holds the Observation's text: {leaks}")
    finally:
        net.close()
    mc.finish()


def files_holding(root, needle):
    """Files under root (the node's home: LMDB, blobs, logs) containing needle."""
    found = []
    for d, _, files in os.walk(root):
        for name in files:
            path = os.path.join(d, name)
            if name.endswith(".json") and "fixture" in name:
                continue  # the test's own notes to the driver
            with open(path, "rb") as f:
                if needle in f.read():
                    found.append(path)
    return found


def urlopen_text(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


if __name__ == "__main__":
    main()
