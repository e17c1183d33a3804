#!/usr/bin/env python3
"""medchain demo: a local network with a believable consortium.

Creates (or reuses) a testnet in ./demo-data, starts it, and loads a
sample consortium through the `medchain` CLI exactly as an operator would:
two hospitals and a regulator found the chain; a pharmacy, a manufacturer,
a distributor and an insurer are admitted by governance vote; hospitals
register doctors and enrol patients; patients grant consents; doctors
store encrypted records through their hospital's node (a synthetic 12-lead
ECG for cardiology patients). Then it prints the portal's and the API's URLs,
the keystores to open in the portal, commands to try, and stops the
network on Ctrl-C.

Everything here is synthetic: no real person's data.
"""

import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

FOUNDERS = "Riverside General Hospital:hospital,Lakeside University Hospital:hospital," \
           "National Health Regulator:regulator"
JOINERS = [("Harbor Community Pharmacy", "pharmacy"), ("Meridian Pharmaceuticals", "manufacturer"),
           ("Northgate Medical Distribution", "distributor"), ("Civic Health Insurance", "insurer")]
SPECIALTIES = ["cardiology", "general-practice", "oncology", "neurology", "pediatrics", "radiology"]
CATEGORIES = ["cardiology", "lab", "imaging", "general"]
FHIR_TYPES = {"cardiology": "Observation", "lab": "Observation", "imaging": "ImagingStudy",
              "general": "DocumentReference"}
N_PATIENTS = 50
N_DOCTORS = 6
# patient-00's keystore is protected, to show the portal's passphrase prompt
# (a demo value, printed below; every other sample keystore is unprotected).
PORTAL_PASSPHRASE = "demo-patient"


class Demo:
    def __init__(self, binary, home, port):
        self.bin = binary
        self.dir = home
        self.net = os.path.join(home, "net")
        self.keys = os.path.join(home, "people")
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def run(self, *argv, check=True, env=None):
        p = subprocess.run([self.bin, *argv], capture_output=True, text=True, env=env)
        if check and p.returncode != 0:
            sys.exit(f"demo: medchain {' '.join(argv[:3])} failed: {p.stderr.strip()}")
        return p

    def keygen(self, name, passphrase=None):
        """A keystore in people/: unprotected, or protected with Argon2id."""
        path = os.path.join(self.keys, f"{name}.key")
        if passphrase is None:
            out = self.run("keygen", "--out", path, "--no-passphrase", "--json").stdout
        else:
            env = dict(os.environ, MEDCHAIN_PASSPHRASE=passphrase)
            out = self.run("keygen", "--out", path, "--json", env=env).stdout
        return dict(json.loads(out), file=path)

    def tx(self, key, call, *kv):
        # The one protected sample keystore opens with the demo passphrase;
        # unprotected keystores ignore it.
        env = dict(os.environ, MEDCHAIN_PASSPHRASE=PORTAL_PASSPHRASE)
        p = self.run("tx", "--node", self.url, "--key", key, "--json", call, *kv, check=False,
                     env=env)
        if p.returncode != 0:
            sys.exit(f"demo: {call} failed: {p.stderr.strip()}")
        return json.loads(p.stdout)

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def node_url(self, hosp):
        """The node that is the hospital's gateway (testnet init: node i for
        founding organization i)."""
        i = 0 if hosp == "riverside-general-hospital" else 1
        return f"http://127.0.0.1:{self.port + 10 * i}"

    def admin(self, slug):
        return os.path.join(self.net, "keys", f"{slug}-admin.key")


def progress(done, total, what):
    width = 30
    n = int(width * done / total)
    sys.stdout.write(f"\r  [{'#' * n}{'.' * (width - n)}] {done}/{total} {what:<28}")
    sys.stdout.flush()
    if done == total:
        sys.stdout.write("\n")


def admit(d):
    """Each joiner is proposed by the first hospital and voted in by the other
    members' admins until two thirds of the members have voted."""
    voters = [d.admin("lakeside-university-hospital"), d.admin("national-health-regulator")]
    proposer = d.admin("riverside-general-hospital")
    tag = b"medchain.proposal.v1"
    for i, (name, kind) in enumerate(JOINERS):
        key = d.keygen(f"admin-{kind}")
        d.tx(proposer, "governance.propose_member", f"name={name}", f"kind={kind}",
             f"admin_pk=@{key['file']}", f"admin_box=@{key['file']}")
        pid = hashlib.blake2b(bytes([len(tag)]) + tag + name.encode(), digest_size=32).hexdigest()
        for voter in voters:
            if d.get(f"/v1/proposals/{pid}")["status"] == "admitted":
                break
            d.tx(voter, "governance.vote", f"proposal={pid}")
        if d.get(f"/v1/proposals/{pid}")["status"] != "admitted":
            sys.exit(f"demo: {name} was not admitted")
        voters.append(key["file"])
        progress(i + 1, len(JOINERS), f"admitted {kind}")


def doctors(d):
    docs = []
    hospitals = ["riverside-general-hospital", "lakeside-university-hospital"]
    for i in range(N_DOCTORS):
        key = d.keygen(f"doctor-{i}")
        licence = hashlib.blake2b(secrets.token_bytes(16) + f"LIC-{i:05d}".encode(),
                                  digest_size=32).hexdigest()
        hosp = hospitals[i % 2]
        d.tx(d.admin(hosp), "identity.register", "kind=practitioner", f"sign_pk=@{key['file']}",
             f"box_pk=@{key['file']}", f"licence_hash={licence}",
             f"role={SPECIALTIES[i % len(SPECIALTIES)]}")
        docs.append((key, hosp))
        progress(i + 1, N_DOCTORS, "registered doctors")
    return docs


ECG_SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vectors",
                          "ecg", "synth212.hea")


def sample_resource(cat, i):
    """A small synthetic FHIR resource for a category: no names, made-up values."""
    if cat == "lab":
        return {"resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7",
                                     "display": "Glucose [Mass/volume] in Serum or Plasma"}]},
                "valueQuantity": {"value": 80 + (i * 7) % 60, "unit": "mg/dL",
                                  "system": "http://unitsofmeasure.org", "code": "mg/dL"}}
    if cat == "imaging":
        return {"resourceType": "ImagingStudy", "status": "available",
                "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                              "code": "CT"}], "numberOfSeries": 1 + i % 3}
    return {"resourceType": "DocumentReference", "status": "current",
            "description": "synthetic discharge summary (demo)"}


def record(d, doc, hosp, patient, cat, i):
    """An encrypted record through the doctor's hospital node (its custodian):
    a synthetic 12-lead ECG for cardiology, a small FHIR resource otherwise."""
    url = d.node_url(hosp)
    if cat == "cardiology":
        d.run("import", "ecg", "--node", url, "--key", doc["file"], "--patient", patient["id"],
              "--in", ECG_SAMPLE)
        return
    path = os.path.join(d.dir, "sample.json")
    with open(path, "w") as f:
        json.dump(sample_resource(cat, i), f)
    d.run("records", "put", "--node", url, "--key", doc["file"], "--patient", patient["id"],
          "--category", cat, "--fhir-type", FHIR_TYPES[cat], "--in", path)
    os.unlink(path)


def patients(d, docs):
    far = int(time.time() * 1000) + 365 * 24 * 3600 * 1000
    for i in range(N_PATIENTS):
        key = d.keygen(f"patient-{i:02d}", PORTAL_PASSPHRASE if i == 0 else None)
        with open(key["file"][:-len(".key")] + ".id", "w") as f:
            f.write(key["id"] + "\n")  # for the signed read the demo suggests
        with open(key["file"][:-len(".key")] + ".json", "w") as f:
            json.dump({"id": key["id"]}, f)
        doc, hosp = docs[i % len(docs)]
        d.tx(d.admin(hosp), "identity.enrol_patient", f"sign_pk=@{key['file']}",
             f"box_pk=@{key['file']}")
        cat = CATEGORIES[i % len(CATEGORIES)]
        if i % 3 != 2:
            d.tx(key["file"], "consent.grant", f"patient={key['id']}", f"grantee={doc['id']}",
                 "scope=category", f"category={cat}", "purpose=treatment", f"expires_ms={far}")
        record(d, doc, hosp, key, cat, i)
        progress(i + 1, N_PATIENTS, "patients, consents, records")


def appointments(d, docs, nodes):
    """A week of slots for each doctor (weekdays from tomorrow, 09:00 to
    13:00, 30 minutes), and a dozen patients booking one with their doctor
    through the clinic's node, so no block names them."""
    day = 24 * 3600 * 1000
    t0 = time.localtime()
    tomorrow = int(time.mktime((t0.tm_year, t0.tm_mon, t0.tm_mday + 1, 9, 0, 0, 0, 0, -1)) * 1000)
    days = [tomorrow + k * day for k in range(7)
            if time.localtime((tomorrow + k * day) / 1000).tm_wday < 5]
    for i, (doc, hosp) in enumerate(docs):
        d.tx(d.admin(hosp), "appt.create_schedule", f"practitioner={doc['id']}",
             f"service_type={SPECIALTIES[i % len(SPECIALTIES)]}-consult")
        sched = d.get(f"/v1/schedules?practitioner={doc['id']}")["items"][0]["id"]
        starts = [s + k * 1800000 for s in days for k in range(8)]
        for j in range(0, len(starts), 16):
            pairs = "".join(f"{t:016x}{t + 1800000:016x}" for t in starts[j:j + 16])
            d.tx(d.admin(hosp), "appt.publish", f"schedule={sched}", f"slots={pairs}")
        progress(i + 1, len(docs), "published a week of slots")
    booked = 0
    for i in range(1, 13):
        doc, hosp = docs[i % len(docs)]
        free = d.get(f"/v1/slots?practitioner={doc['id']}&from={tomorrow}&status=free&limit=20")
        key = os.path.join(d.keys, f"patient-{i:02d}.key")
        for url in nodes:
            p = d.run("appt", "--node", url, "--key", key, "--via-clinic", "book",
                      free["items"][i % len(free["items"])]["id"], check=False)
            if p.returncode == 0:
                booked += 1
                break
            if "NO_OPERATOR_KEY" not in p.stderr:
                sys.exit(f"demo: booking failed: {p.stderr.strip()}")
        progress(i, 12, "patients booked")
    return booked
DEMO_GTIN = "80614141123458"  # EPC company prefix 0614141: urn:epc:id:sgtin:0614141.812345.S


def gs1_check(body):
    total = sum((3 if (len(body) - i) % 2 == 1 else 1) * int(c) for i, c in enumerate(body))
    return str((10 - total % 10) % 10)


def drugs(d, docs):
    """Drug lots through the supply chain, as direct contract calls (the
    EPCIS capture endpoint is the partners' way, docs/api.md "Drugs"):
    the manufacturer commissions two lots and packs one in cases, ships to
    the distributor and on to the pharmacy; doctors prescribe and the
    pharmacy dispenses. Event ids are SHA-256 of a description of the event."""
    m, dist, ph = (os.path.join(d.keys, f"admin-{k}.key")
                   for k in ("manufacturer", "distributor", "pharmacy"))
    gln = {}
    for i, key in enumerate((m, dist, ph)):
        body = f"06141410{i + 1:04d}"
        gln[key] = body + gs1_check(body)
        d.tx(key, "supply.register_gln", f"gln={gln[key]}")
    now = int(time.time() * 1000)
    seq = [0]

    def ev(key, call, *kv):
        seq[0] += 1
        event = hashlib.sha256(f"demo-event-{seq[0]}-{call}-{now}".encode()).hexdigest()
        d.tx(key, call, f"event={event}", *kv, f"event_time_ms={now}")

    def epcs(prefix, lo, hi):
        return "epcs=" + " ".join(f"urn:epc:id:sgtin:0614141.812345.{prefix}{i}"
                                 for i in range(lo, hi))

    cases = [f"urn:epc:id:sscc:0614141.0{n:09d}" for n in (1, 2)]
    for k in range(2):
        ev(m, "supply.commission", epcs("A", 20 * k, 20 * k + 20), "lot=DEMO-A",
           "expiry=20301231")
        ev(m, "supply.pack", f"parent={cases[k]}", epcs("A", 20 * k, 20 * k + 20))
    ev(m, "supply.commission", epcs("B", 0, 20), "lot=DEMO-B", "expiry=20291130")
    progress(1, 4, "commissioned, packed")
    ev(m, "supply.ship", "epcs=" + " ".join(cases), f"source={gln[m]}", f"destination={gln[dist]}")
    ev(dist, "supply.receive", "epcs=" + " ".join(cases), f"destination={gln[dist]}")
    ev(m, "supply.ship", epcs("B", 0, 20), f"source={gln[m]}", f"destination={gln[ph]}")
    ev(ph, "supply.receive", epcs("B", 0, 20), f"destination={gln[ph]}")
    progress(2, 4, "shipped, received")
    ev(dist, "supply.ship", f"epcs={cases[0]}", f"source={gln[dist]}", f"destination={gln[ph]}")
    ev(ph, "supply.receive", f"epcs={cases[0]}", f"destination={gln[ph]}")
    ev(ph, "supply.unpack", f"parent={cases[0]}", epcs("A", 0, 20))
    progress(3, 4, "shipped on, unpacked")
    until = now + 30 * 24 * 3600 * 1000
    tag = b"medchain.rx.v1"
    for i in range(3):
        patient = json.load(open(os.path.join(d.keys, f"patient-{i + 1:02d}.json")))
        doc, _ = docs[i % len(docs)]
        res = d.tx(doc["file"], "rx.issue", f"patient={patient['id']}", f"gtin={DEMO_GTIN}",
                   "code=", "quantity=2", "refills=1", f"valid_until_ms={until}")
        rx = hashlib.blake2b(bytes([len(tag)]) + tag + bytes.fromhex(res["hash"]),
                             digest_size=32).hexdigest()
        if i < 2:
            seq[0] += 1
            event = hashlib.sha256(f"demo-event-{seq[0]}-dispense-{now}".encode()).hexdigest()
            d.tx(ph, "rx.dispense", f"rx={rx}", f"event={event}", epcs("A", 2 * i, 2 * i + 2),
                 f"event_time_ms={now}")
    progress(4, 4, "prescribed, dispensed")


def portal_help(d):
    """Which keystores to open in the portal's patient and doctor views."""
    people = os.path.relpath(d.keys)
    pk = os.path.join(people, "patient-00.key")
    if not os.path.exists(pk):
        return
    print("\nIn the portal (keys stay in the browser; open a keystore file from disk):")
    print(f"  Patient view: {pk}  passphrase: {PORTAL_PASSPHRASE}")
    print(f"                (or {os.path.join(people, 'patient-01.key')} and the others, no passphrase)")
    print(f"  Doctor view:  {os.path.join(people, 'doctor-0.key')}  (no passphrase; patient-00's"
          " doctor)")
    print("  Appointments: in the patient view pick a doctor and a week, book a free slot,"
          " cancel it; the doctor view shows the day's bookings")


N_VALIDATORS = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/medchain")
    ap.add_argument("--dir", default="demo-data")
    ap.add_argument("--port", type=int, default=26600)
    ap.add_argument("--reset", action="store_true")
    ap.add_argument("--no-wait", action="store_true", help="load and exit, leaving it running")
    a = ap.parse_args()
    d = Demo(os.path.abspath(a.bin), os.path.abspath(a.dir), a.port)
    loaded = os.path.exists(os.path.join(d.dir, "loaded"))
    if os.path.exists(d.dir) and (a.reset or not loaded):
        why = "as asked" if a.reset else "because an earlier load did not finish"
        print(f"medchain demo: resetting the data in {a.dir} {why}")
        if os.path.exists(d.net):
            d.run("testnet", "stop", "--dir", d.net, check=False)
        shutil.rmtree(d.dir)
        loaded = False
    if os.path.exists(d.net):
        print(f"medchain demo: reusing the data in {a.dir} (make demo ARGS=--reset starts afresh)")
    else:
        print(f"medchain demo: creating a new network in {a.dir}")
        os.makedirs(d.keys, exist_ok=True)
        d.run("testnet", "init", "--nodes", str(N_VALIDATORS), "--dir", d.net, "--base-port",
              str(a.port),
              "--chain-id", "medchain-demo", "--orgs", FOUNDERS)
    print(f"medchain demo: starting the network ({N_VALIDATORS} validators agreeing by BFT "
          "consensus)")
    print("  " + d.run("testnet", "start", "--dir", d.net).stdout.strip().replace("\n", "\n  "))
    try:
        if not loaded:
            print("medchain demo: loading the sample consortium")
            admit(d)
            docs = doctors(d)
            patients(d, docs)
            appointments(d, docs, [f"http://127.0.0.1:{a.port + 10 * i}"
                                   for i in range(N_VALIDATORS)])
            drugs(d, docs)
            open(os.path.join(d.dir, "loaded"), "w").close()
        st = d.get("/v1/status")
        orgs = d.get("/v1/organizations?limit=100")["items"]
        print(f"\nmedchain demo is up: chain {st['chain_id']}, height {st['height']}, "
              f"{len(orgs)} organizations.")
        print(f"  portal      {d.url}/")
        print(f"  API         {d.url}/v1/status")
        print(f"  metrics     {d.url}/metrics")
        portal_help(d)
        print("\nTry:")
        print(f"  build/medchain query --node {d.url} status")
        print(f"  build/medchain query --node {d.url} /v1/organizations")
        print(f"  build/medchain query --node {d.url} block {st['height']}")
        print(f"  curl -s {d.url}/v1/identities?limit=5")
        pk = os.path.join(d.keys, "patient-00.key")
        if os.path.exists(pk):
            idf = pk[:-len(".key")] + ".id"
            pid = open(idf).read().strip() if os.path.exists(idf) else "PATIENT_ID"
            print("  # a patient's data answers signed reads only: sign as the patient")
            key = os.path.relpath(pk)
            print(f"  MEDCHAIN_PASSPHRASE={PORTAL_PASSPHRASE} build/medchain query --node {d.url} "
                  f"--key {key} consents --patient {pid}")
        if os.path.exists(pk):
            dk = os.path.relpath(os.path.join(d.keys, "doctor-0.key"))
            print("  # patient-00's ECG, read by their doctor (logged on chain first), as WFDB:")
            print(f"  REC=$(MEDCHAIN_PASSPHRASE={PORTAL_PASSPHRASE} build/medchain query --node "
                  f"{d.url} --key {key} --json records --patient {pid} | python3 -c "
                  "\"import json,sys; print(json.load(sys.stdin)['items'][0]['id'])\")")
            print(f"  build/medchain records export --node {d.url} --key {dk} --record $REC "
                  "--format 212 --out-dir /tmp/ecg")
            print(f"  MEDCHAIN_PASSPHRASE={PORTAL_PASSPHRASE} build/medchain query --node {d.url} "
                  f"--key {key} audit --record $REC")
        print(f"  build/medchain drugs verify --node {d.url} --scan "
              f"'(01){DEMO_GTIN}(17)301231(10)DEMO-A(21)A30'")
        print(f"  build/medchain drugs history --node {d.url} --gtin {DEMO_GTIN} --serial A0")
        print(f"  build/medchain drugs holders --node {d.url} --gtin {DEMO_GTIN} --lot DEMO-B")
        print(f"  build/medchain testnet status --dir {a.dir}/net   "
              f"({N_VALIDATORS} validators, API ports {a.port}, {a.port + 10}, ...)")
        print(f"  kill -9 the pid of node3 from that list: the other three keep committing;"
              f" `testnet start --dir {a.dir}/net` brings it back and it catches up")
        print(f"  build/medchain verify --home {a.dir}/net/node0   (after Ctrl-C; any node)")
        if a.no_wait:
            return
        print("\nPress Ctrl-C to stop.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        if not a.no_wait:
            print("\nmedchain demo: stopping the network")
            d.run("testnet", "stop", "--dir", d.net, check=False)


def on_term(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    main()
