"""The ledger core's main journey against a real node, through the CLI and
HTTP: admit an organization by governance, register a practitioner, enrol a
patient, grant and revoke consent, anchor a record, log an access, read it
all back over HTTP, then verify the data directory offline.
"""

import os
import secrets

import mc

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"


def admit_pharmacy(net):
    a = net.admin_key(HOSP_A)
    b = net.admin_key(HOSP_B)
    admin = net.keygen("pharmacy-admin")
    doc = net.tx_ok(a, "governance.propose_member", "name=Harbor Community Pharmacy",
                    "kind=pharmacy", f"admin_pk=@{admin['file']}", f"admin_box=@{admin['file']}")
    mc.check(doc["result"] == "OK", "proposal committed")
    http = net.http()
    code, orgs = http.get("/v1/organizations")
    names = [o["name"] for o in orgs["items"]]
    mc.check("Harbor Community Pharmacy" not in names, "one vote of three does not admit")
    code, props = http.get("/v1/proposals")
    pid = [p["id"] for p in props["items"] if p["name"] == "Harbor Community Pharmacy"][0]
    net.tx_ok(b, "governance.vote", f"proposal={pid}")
    code, orgs = http.get("/v1/organizations")
    names = [o["name"] for o in orgs["items"]]
    mc.check("Harbor Community Pharmacy" in names, "two thirds of members admit the pharmacy")
    rc, doc, err = net.tx(b, "governance.vote", f"proposal={pid}")
    mc.check(rc != 0 and "PROPOSAL_CLOSED" in err + str(doc), "vote on a decided proposal refused")
    code, ident = http.get(f"/v1/identities/{admin['id']}")
    mc.check(code == 200 and ident["kind"] == "admin", "the new member's admin is registered")


def people(net):
    a = net.admin_key(HOSP_A)
    doctor = net.keygen("doctor")
    licence_hash = mc.blake2b32(secrets.token_bytes(16) + b"MD-123456")
    net.tx_ok(a, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
              f"box_pk=@{doctor['file']}", f"licence_hash={licence_hash}", "role=cardiology")
    patient = net.keygen("patient")
    net.tx_ok(a, "identity.enrol_patient", f"sign_pk=@{patient['file']}",
              f"box_pk=@{patient['file']}")
    http = net.http()
    code, d = http.get(f"/v1/identities/{doctor['id']}")
    mc.check(code == 200 and d["kind"] == "practitioner" and d["licence_hash"] == licence_hash,
             "practitioner readable with its salted licence hash")
    code, p = http.get(f"/v1/identities/{patient['id']}")
    mc.check(code == 200 and p["kind"] == "patient" and p["status"] == "active",
             "patient readable")
    return doctor, patient


def consent_and_record(net, doctor, patient):
    # Patient data answers signed reads only (docs/api.md, "Signed requests").
    http = net.reader(patient["file"])
    dr = net.reader(doctor["file"])
    far = 4102444800000  # 2100-01-01
    doc = net.tx_ok(patient["file"], "consent.grant", f"patient={patient['id']}",
                    f"grantee={doctor['id']}", "scope=category", "category=cardiology",
                    "purpose=treatment", f"expires_ms={far}")
    code, cons = http.get(f"/v1/consents?patient={patient['id']}")
    mc.check(code == 200 and len(cons["items"]) == 1, "patient's consent listed")
    consent = cons["items"][0]
    mc.check(consent["status"] == "active" and consent["grantee"] == doctor["id"],
             "consent active for the doctor")
    code, byg = dr.get(f"/v1/consents?grantee={doctor['id']}")
    mc.check(code == 200 and len(byg["items"]) == 1, "consent listed by grantee")

    record = secrets.token_hex(32)
    ciphertext = secrets.token_bytes(512)
    sealed = secrets.token_hex(80)
    keys = ",".join(sorted([f"{patient['id']}:{sealed}", f"{doctor['id']}:{sealed}"]))
    net.tx_ok(doctor["file"], "records.anchor", f"record={record}", f"patient={patient['id']}",
              "category=cardiology", "fhir_type=Observation",
              f"content_hash={mc.blake2b32(ciphertext)}", f"size={len(ciphertext)}",
              f"keys={keys}")
    code, rec = dr.get(f"/v1/records/{record}")
    mc.check(code == 200 and rec["content_hash"] == mc.blake2b32(ciphertext)
             and rec["size"] == 512 and rec["author"] == doctor["id"],
             "record anchor readable over HTTP")
    code, recs = http.get(f"/v1/records?patient={patient['id']}")
    mc.check(code == 200 and [r["id"] for r in recs["items"]] == [record], "records by patient")

    a = net.admin_key(HOSP_A)
    net.tx_ok(a, "audit.log", f"record={record}", f"accessor={doctor['id']}",
              "purpose=treatment", "emergency=false", f"reason_hash={'00' * 32}", f"node={'00' * 32}", "reason_sealed=")
    code, aud = http.get(f"/v1/audit?patient={patient['id']}")
    mc.check(code == 200 and len(aud["items"]) == 1 and aud["items"][0]["accessor"] == doctor["id"],
             "access entry in the patient's audit trail")
    code, aud = dr.get(f"/v1/audit?record={record}")
    mc.check(code == 200 and len(aud["items"]) == 1, "access entry by record")

    net.tx_ok(patient["file"], "consent.revoke", f"consent={consent['id']}")
    code, c2 = http.get(f"/v1/consents/{consent['id']}")
    mc.check(code == 200 and c2["status"] == "revoked", "revoked consent shows as revoked")
    rc, doc, err = net.tx(patient["file"], "consent.revoke", f"consent={consent['id']}")
    mc.check(rc != 0 and "CONSENT_REVOKED" in err + str(doc), "second revoke refused")
    return record


def chain_reads(net):
    http = net.http()
    code, st = http.get("/v1/status")
    mc.check(code == 200 and st["height"] >= 1 and st["chain_id"] == "medchain-local",
             "status answers with chain id and height")
    code, blk = http.get(f"/v1/blocks/{st['height']}")
    mc.check(code == 200 and blk["height"] == st["height"], "latest block readable")
    code, b1 = http.get("/v1/blocks/1")
    mc.check(code == 200 and len(b1["prev_hash"]) == 64, "block 1 links to genesis")
    txh = None
    for h in range(1, st["height"] + 1):
        code, b = http.get(f"/v1/blocks/{h}")
        if b["txs"]:
            txh = b["txs"][0]["hash"]
            break
    code, t = http.get(f"/v1/txs/{txh}")
    mc.check(code == 200 and t["status"] == "committed", "transaction status by hash")
    code, v = http.get("/v1/validators")
    mc.check(code == 200 and len(v["items"]) == 1, "one validator")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="flow")
    try:
        net.start()
        admit_pharmacy(net)
        doctor, patient = people(net)
        consent_and_record(net, doctor, patient)
        chain_reads(net)
        net.stop()
        rc, out, err = net.run("verify", "--home", net.home(0))
        mc.check(rc == 0, f"verify passes on the data directory ({out.strip()} {err.strip()})")
        net.start()
        code, st = net.http().get("/v1/status")
        mc.check(code == 200, "node restarts on its data")
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    main()
