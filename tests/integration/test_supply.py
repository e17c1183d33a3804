#!/usr/bin/env python3
"""Drug traceability end to end on a real node, with EPCIS 2.0 documents
built by epcis2.js (tests/supply/epcis-build.mjs) as a trading partner's
system would, captured through `medchain epcis capture` (POST
/v1/epcis/capture, signed by the partner's identity, submitted by the
node's operator key of that partner's organization).

The journey: a manufacturer commissions 1,000 serials and packs them in 50
cases; ships the cases to a distributor, who receives them and ships 10 on
to a pharmacy, which receives and unpacks one; a doctor issues
prescriptions and the pharmacy dispenses against them. Then verification,
history through cases, who holds the lot; and counterfeit cases: an unknown
serial, a second commissioning, a shipment by a non-holder, a double
dispense and a dispense after a recall, each refused with its code and
changing nothing.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUPPLY = os.path.join(ROOT, "tests", "supply")

ORGS = ("Acme Pharma:manufacturer,Delta Distribution:distributor,Corner Pharmacy:pharmacy,"
        "National Health Regulator:regulator,Riverside General Hospital:hospital")
GTIN = "80614141123458"          # EPC company prefix 0614141, indicator 8, item 12345
EPC = "urn:epc:id:sgtin:0614141.812345."
T0 = "2024-03-01T09:00:00.000+01:00"


def check_digit(body):
    total = sum((3 if (len(body) - i) % 2 == 1 else 1) * int(c) for i, c in enumerate(body))
    return str((10 - total % 10) % 10)


def gln(n):
    body = f"06141410{n:04d}"
    return body + check_digit(body)


def pgln(n):
    return f"urn:epc:id:pgln:0614141.{n:05d}"


def sscc(n):
    return f"urn:epc:id:sscc:0614141.0{n:09d}"


def serials(lo, hi):
    return [f"{EPC}S{i}" for i in range(lo, hi)]


def chunks(xs, n):
    return [xs[i:i + n] for i in range(0, len(xs), n)]


def tagged(tag, data):
    h = hashlib.blake2b(digest_size=32)
    h.update(bytes([len(tag)]) + tag.encode() + data)
    return h.hexdigest()


class Journey:
    def __init__(self, net):
        self.net = net
        self.n = 0

    def build(self, events):
        """epcis2.js builds the document; returns (document, its hashes)."""
        self.n += 1
        spec = os.path.join(self.net.dir, f"spec{self.n}.json")
        with open(spec, "w") as f:
            json.dump({"events": events}, f)
        out = subprocess.run(["node", os.path.join(SUPPLY, "epcis-build.mjs"), spec],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        built = json.loads(out)
        return built["document"], built["hashes"]

    def capture(self, key, events):
        """Captures; returns (exit code, results list, error code or None,
        epcis2.js's hashes)."""
        doc, hashes = self.build(events)
        path = os.path.join(self.net.dir, f"doc{self.n}.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        rc, out, err = self.net.run("epcis", "capture", "--node", self.net.url(), "--key", key,
                                    "--file", path, timeout=180)
        body = json.loads(out) if out.strip() else {}
        code = None
        if rc != 0:
            parts = err.strip().split(":")
            code = parts[1].strip() if len(parts) > 2 else err.strip()
        results = body.get("events") or body.get("error", {}).get("events") or []
        return rc, results, code, hashes

    def capture_ok(self, key, events, what):
        rc, results, code, hashes = self.capture(key, events)
        ok = rc == 0 and len(results) == len(events) and all(r["result"] == "OK" for r in results)
        mc.check(ok, f"{what}: {len(events)} events committed ({code})")
        return results, hashes


def get(net, path):
    return net.http().get(path)


def verify(net, serial, lot=None, expiry=None):
    q = f"/v1/drugs/verify?gtin={GTIN}&serial=S{serial}"
    if lot:
        q += f"&lot={lot}"
    if expiry:
        q += f"&expiry={expiry}"
    code, doc = get(net, q)
    return doc.get("verdict") if code == 200 else f"HTTP {code}"


def history(net, serial):
    code, doc = get(net, f"/v1/drugs/{GTIN}/S{serial}/history")
    return doc if code == 200 else None


def main():
    a = mc.args()
    subprocess.run([os.path.join(ROOT, "scripts", "npm-ensure"), SUPPLY], check=True)
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="supply")
    try:
        run(net)
    finally:
        mc.close_safely(net)
    mc.finish()


def setup(net):
    # A fresh network whose founders are the supply chain's organizations,
    # with this node as the gateway (operator) of the three trading ones.
    net.run("testnet", "stop", "--dir", net.net)
    import shutil
    shutil.rmtree(net.net)
    net.run_ok("testnet", "init", "--nodes", "1", "--dir", net.net, "--base-port", str(net.base),
               "--orgs", ORGS)
    keys = {s: net.admin_key(s) for s in ("acme-pharma", "delta-distribution", "corner-pharmacy",
                                          "national-health-regulator",
                                          "riverside-general-hospital")}
    lines = net.config_lines(0)
    for s in ("acme-pharma", "delta-distribution", "corner-pharmacy"):
        lines.append(f"operator_key = {keys[s]}")
    net._config_write(0, lines)
    net.start()
    mc.check(mc.wait_for(lambda: net.height() is not None, 30), "node up")
    return keys


def run(net):
    keys = setup(net)
    M, D, P = keys["acme-pharma"], keys["delta-distribution"], keys["corner-pharmacy"]
    R, H = keys["national-health-regulator"], keys["riverside-general-hospital"]
    for i, k in ((1, M), (2, D), (3, P)):
        net.tx_ok(k, "supply.register_gln", f"gln={gln(i)}")
    rc, _, err = net.tx(P, "supply.register_gln", f"gln={gln(1)}")
    mc.check(rc != 0 and "ALREADY_EXISTS" in err, "a GLN is registered once")
    bad = gln(9)[:-1] + str((int(gln(9)[-1]) + 1) % 10)
    rc, _, err = net.tx(P, "supply.register_gln", f"gln={bad}")
    mc.check(rc != 0 and "GS1_CHECK_DIGIT" in err, "a GLN with a wrong check digit is refused")

    j = Journey(net)
    # 1,000 serials, 20 per commissioning event, two documents.
    events = [{"kind": "commission", "time": T0, "epcs": c, "lot": "LOT-A",
               "expiry": "2030-12-31", "location": "urn:epc:id:sgln:0614141.00001.0"}
              for c in chunks(serials(0, 1000), 20)]
    t0 = time.time()
    for part in chunks(events, 25):
        results, hashes = j.capture_ok(M, part, "commissioning")
        mc.check([r["event_hash"] for r in results] == hashes,
                 "the node's event hashes equal epcis2.js's (eventToHashedId)")
    print(f"commissioned 1000 serials in {time.time() - t0:.1f}s", flush=True)
    mc.check(verify(net, 999, "LOT-A", "301231") == "verified", "a commissioned serial verifies")

    # Pack into 50 cases of 20.
    events = [{"kind": "pack", "time": T0, "parent": sscc(k), "epcs": c}
              for k, c in enumerate(chunks(serials(0, 1000), 20))]
    for part in chunks(events, 25):
        results, hashes = j.capture_ok(M, part, "packing into SSCC cases")
        mc.check([r["event_hash"] for r in results] == hashes, "aggregation hashes agree too")
    cases = [sscc(k) for k in range(50)]

    # Ship the cases to the distributor, who receives them.
    ship = [{"kind": "ship", "time": T0, "epcs": c, "source": pgln(1), "destination": pgln(2)}
            for c in chunks(cases, 20)]
    j.capture_ok(M, ship, "manufacturer ships 50 cases")
    code, doc = get(net, f"/v1/drugs/lots/{GTIN}/LOT-A/holders")
    transit = code == 200 and sum(h["in_transit"] for h in doc["holders"]) == 1000
    mc.check(transit, "all 1,000 packages in transit")
    recv = [{"kind": "receive", "time": T0, "epcs": c, "destination": pgln(2)}
            for c in chunks(cases, 20)]
    j.capture_ok(D, recv, "distributor receives them")
    code, doc = get(net, f"/v1/drugs/verify?gtin={GTIN}&serial=S5")
    mc.check(code == 200 and doc["holder"]["name"] == "Delta Distribution",
             "packed packages moved with their case")

    # Ship 10 cases on to the pharmacy; it receives and unpacks one.
    j.capture_ok(D, [{"kind": "ship", "time": T0, "epcs": cases[:10], "source": pgln(2),
                      "destination": pgln(3)}], "distributor ships 10 cases on")
    j.capture_ok(P, [{"kind": "receive", "time": T0, "epcs": cases[:10],
                      "destination": pgln(3)}], "pharmacy receives them")
    j.capture_ok(P, [{"kind": "unpack", "time": T0, "parent": cases[0],
                      "epcs": serials(0, 20)}], "pharmacy unpacks a case")

    # A doctor prescribes; the pharmacy dispenses against the prescriptions.
    doc_key = net.keygen("doctor")
    pat_key = net.keygen("patient")
    lic = hashlib.sha256(b"salt:LIC-12345").hexdigest()
    net.tx_ok(H, "identity.register", "kind=practitioner", f"sign_pk=@{doc_key['file']}",
              f"box_pk=@{doc_key['file']}", f"licence_hash={lic}", "role=gp")
    net.tx_ok(H, "identity.enrol_patient", f"sign_pk=@{pat_key['file']}",
              f"box_pk=@{pat_key['file']}")
    until = int(time.time() * 1000) + 30 * 86400000
    rxs = []
    for _ in range(3):
        res = net.tx_ok(doc_key["file"], "rx.issue", f"patient=@{pat_key['file']}",
                        f"gtin={GTIN}", "quantity=2", "refills=0", f"valid_until_ms={until}")
        rxs.append(tagged("medchain.rx.v1", bytes.fromhex(res["hash"])))
    dispense = [{"kind": "dispense", "time": T0, "epcs": serials(2 * k, 2 * k + 2), "rx": rx}
                for k, rx in enumerate(rxs)]
    j.capture_ok(P, dispense, "dispensing against 3 prescriptions")
    rc, _, code, _ = j.capture(P, [{"kind": "dispense", "time": T0, "epcs": serials(6, 7),
                                    "rx": rxs[0]}])
    mc.check(rc != 0 and code == "OVER_DISPENSE", f"a filled prescription dispenses no more ({code})")
    fhir_views(net, rxs, pat_key, doc_key, P, D)

    # What a pharmacist and a regulator see.
    mc.check(verify(net, 0) == "dispensed", "a dispensed package verifies as dispensed")
    mc.check(verify(net, 500, "LOT-A") == "verified", "a package at the distributor verifies")
    mc.check(verify(net, 500, "LOT-Z") == "lot_mismatch", "a wrong lot is a lot mismatch")
    mc.check(verify(net, 500, None, "301130") == "lot_mismatch", "a wrong expiry too")
    mc.check(verify(net, 5000) == "not_found", "an unknown serial is not found")
    h = history(net, 0)
    steps = [e["biz_step"] for e in h["events"]] if h else []
    mc.check(steps == ["commissioning", "packing", "shipping", "receiving", "shipping",
                       "receiving", "unpacking", "dispensing"],
             f"history through the case: {steps}")
    mc.check(h is not None and sum(1 for e in h["events"] if e["via"]) == 4,
             "four of those reached the package through its case")
    code, doc = get(net, f"/v1/drugs/lots/{GTIN}/LOT-A/holders")
    held = {x["name"]: x["packages"] for x in doc.get("holders", [])} if code == 200 else {}
    mc.check(held == {"Delta Distribution": 800, "Corner Pharmacy": 194},
             f"holders of the lot: {held}")

    counterfeits(net, j, keys, R)


def fhir_views(net, rxs, pat_key, doc_key, P, D):
    """The FHIR facade's MedicationRequest and MedicationDispense, signed."""
    code, mr = net.query(pat_key["file"], f"/fhir/MedicationRequest/{rxs[0]}")
    ok = code == 200 and mr.get("resourceType") == "MedicationRequest"
    mc.check(ok and mr["status"] == "completed" and mr["intent"] == "order" and
             mr["medicationCodeableConcept"]["coding"][0]["code"] == GTIN and
             mr["subject"]["reference"] == f"Patient/{pat_key['id']}" and
             mr["dispenseRequest"]["quantity"]["value"] == 2,
             f"the patient reads a filled prescription as a MedicationRequest ({code})")
    code, _ = net.query(P, f"/fhir/MedicationRequest/{rxs[1]}")
    mc.check(code == 200, f"the pharmacy reads it too ({code})")
    code, oo = net.query(D, f"/fhir/MedicationRequest/{rxs[1]}")
    mc.check(code != 200 and "UNAUTHORIZED" in json.dumps(oo),
             f"a distributor does not: an OperationOutcome UNAUTHORIZED ({code})")
    code, b = net.query(pat_key["file"], f"/fhir/MedicationRequest?patient={pat_key['id']}")
    mc.check(code == 200 and b.get("total", len(b.get("entry", []))) >= 3 and
             len(b.get("entry", [])) == 3, "the patient's prescriptions, searched")
    code, b = net.query(P, f"/fhir/MedicationDispense?prescription={rxs[0]}")
    entries = [e["resource"] for e in b.get("entry", [])] if code == 200 else []
    mc.check(len(entries) == 1 and entries[0]["quantity"]["value"] == 2 and
             entries[0]["authorizingPrescription"][0]["reference"] ==
             f"MedicationRequest/{rxs[0]}" and "subject" in entries[0],
             f"the prescription's dispense as a MedicationDispense ({code})")
    code, d = net.query(D, f"/fhir/MedicationDispense/{entries[0]['id']}" if entries else "/x")
    mc.check(code == 200 and "subject" not in d and "authorizingPrescription" in d,
             "a reader who may not read the prescription sees no patient in the dispense")


def unchanged(net, serial, before, what):
    mc.check(history(net, serial) == before, f"{what}: nothing changed")


def refused(j, key, events, want, what):
    rc, results, code, hashes = j.capture(key, events)
    mc.check(rc != 0 and code == want, f"{what}: refused with {want} (got {code})")
    code404, _ = j.net.http().get("/v1/epcis/events/" + hashes[0].split(";")[1][:64])
    mc.check(code404 == 404, f"{what}: the event was not recorded")


def counterfeits(net, j, keys, R):
    M, D, P = keys["acme-pharma"], keys["delta-distribution"], keys["corner-pharmacy"]
    # An unknown serial cannot be shipped.
    refused(j, P, [{"kind": "ship", "time": T0, "epcs": [f"{EPC}S5000"], "source": pgln(3),
                    "destination": pgln(2)}], "UNKNOWN_SERIAL", "unknown serial")
    # A serial is commissioned once.
    before = history(net, 10)
    refused(j, M, [{"kind": "commission", "time": T0, "epcs": serials(10, 11), "lot": "LOT-A",
                    "expiry": "2030-12-31"}], "SERIAL_EXISTS", "second commissioning")
    unchanged(net, 10, before, "second commissioning")
    # Only the holder ships: the pharmacy tries to ship a case the
    # distributor holds.
    before = history(net, 500)
    refused(j, P, [{"kind": "ship", "time": T0, "epcs": [sscc(25)], "source": pgln(3),
                    "destination": pgln(1)}], "NOT_HOLDER", "shipment by a non-holder")
    unchanged(net, 500, before, "shipment by a non-holder")
    # A package is dispensed once.
    before = history(net, 0)
    refused(j, P, [{"kind": "dispense", "time": T0, "epcs": serials(0, 1)}], "PACKAGE_DISPENSED",
            "double dispense")
    unchanged(net, 0, before, "double dispense")
    # A recalled lot is refused: LOT-B goes straight to the pharmacy, the
    # regulator recalls it, the pharmacy tries to dispense from it.
    lot_b = [f"{EPC}B{i}" for i in range(20)]
    j.capture_ok(M, [{"kind": "commission", "time": T0, "epcs": lot_b, "lot": "LOT-B",
                      "expiry": "2031-06-30"},
                     {"kind": "ship", "time": T0, "epcs": lot_b, "source": pgln(1),
                      "destination": pgln(3)}], "LOT-B commissioned and shipped")
    j.capture_ok(P, [{"kind": "receive", "time": T0, "epcs": lot_b, "destination": pgln(3)}],
                 "LOT-B received")
    rc, _, err = net.tx(D, "supply.recall", f"gtin={GTIN}", "lot=LOT-B")
    mc.check(rc != 0 and "UNAUTHORIZED" in err, "a distributor cannot recall a lot")
    net.tx_ok(R, "supply.recall", f"gtin={GTIN}", "lot=LOT-B")
    code, doc = get(net, f"/v1/drugs/verify?gtin={GTIN}&serial=B3&lot=LOT-B")
    mc.check(code == 200 and doc["verdict"] == "recalled", "a recalled package verifies recalled")
    code, doc = get(net, f"/v1/drugs/lots/{GTIN}/LOT-B/holders")
    mc.check(code == 200 and [(x["name"], x["packages"]) for x in doc["holders"]] ==
             [("Corner Pharmacy", 20)], "the regulator sees who holds the recalled lot")
    code, bh = get(net, f"/v1/drugs/{GTIN}/B3/history")
    refused(j, P, [{"kind": "dispense", "time": T0, "epcs": [f"{EPC}B3"]}], "LOT_RECALLED",
            "dispense after recall")
    code, ah = get(net, f"/v1/drugs/{GTIN}/B3/history")
    mc.check(ah == bh, "dispense after recall: nothing changed")
    # Bad input at the door: a document that is not EPCIS, an unsigned capture.
    code, doc = net.http().post("/v1/epcis/capture", json.dumps({"type": "EPCISDocument"}))
    mc.check(code == 400, f"a document without events is a bad request ({code})")


if __name__ == "__main__":
    main()
