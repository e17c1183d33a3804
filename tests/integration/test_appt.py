"""Appointment booking on a real 4-validator testnet, through the CLI and
HTTP: a clinic opens a schedule and publishes slots; a patient finds a free
slot, books it, sees it (signed, with the view key), the doctor opens who
booked it, the patient reschedules and cancels, the clinic checks in and
marks fulfilled; events reach the public and the doctor's streams. A race:
50 patients book one slot at once through all four nodes: exactly one wins,
49 get SLOT_TAKEN, and every node holds the same booking. Bad input: a slot
in the past, an unknown slot, a booking by a non-patient, a cancellation
inside the cut-off, someone else's booking: each refused with its code,
changing nothing.
"""

import concurrent.futures
import struct
import sys
import time

import mc
from test_events import Stream, of

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
NODES = 4
RACERS = 50


def pairs(start, length, n):
    return "".join(struct.pack(">QQ", start + i * length, start + (i + 1) * length).hex()
                   for i in range(n))


def appt_args(net, key, *sub, node=0):
    """`medchain appt ... SUB` → the call's name=value arguments."""
    out = net.run_ok("appt", "--node", net.url(node), "--key", key, *sub)
    return out.split()


def book(net, patient, slot, node=0):
    args = appt_args(net, patient["file"], "book", slot, node=node)
    return net.tx(patient["file"], "appt.book", *args, node=node)


def err_code(rc, doc, err):
    if rc == 0:
        return "OK"
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        return doc["error"].get("code")
    return err.strip()


def people(net):
    a = net.admin_key(HOSP_A)
    b = net.admin_key(HOSP_B)
    doctor = net.keygen("doctor")
    net.tx_ok(a, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
              f"box_pk=@{doctor['file']}", f"licence_hash={mc.blake2b32(b'lic-1')}",
              "role=cardiology")
    other_doc = net.keygen("other-doctor")
    net.tx_ok(b, "identity.register", "kind=practitioner", f"sign_pk=@{other_doc['file']}",
              f"box_pk=@{other_doc['file']}", f"licence_hash={mc.blake2b32(b'lic-2')}",
              "role=general-practice")
    patient = net.keygen("patient")
    net.tx_ok(a, "identity.enrol_patient", f"sign_pk=@{patient['file']}",
              f"box_pk=@{patient['file']}")
    other = net.keygen("other-patient")
    net.tx_ok(b, "identity.enrol_patient", f"sign_pk=@{other['file']}",
              f"box_pk=@{other['file']}")
    return doctor, other_doc, patient, other


def clinic(net, admin, doctor, start, n=8, length=30 * MIN):
    doc = net.tx_ok(admin, "appt.create_schedule", f"practitioner={doctor['id']}",
                    "service_type=cardiology-consult")
    code, lst = net.http().get(f"/v1/schedules?practitioner={doctor['id']}")
    schedule = lst["items"][-1]["id"]
    net.tx_ok(admin, "appt.publish", f"schedule={schedule}", f"slots={pairs(start, length, n)}")
    return schedule


def journey(net, doctor, other_doc, patient, other, t0):
    http = net.http()
    a = net.admin_key(HOSP_A)
    schedule = clinic(net, a, doctor, t0)
    code, free = http.get(f"/v1/slots?practitioner={doctor['id']}&from={t0}&to={t0 + DAY}"
                          "&status=free")
    mc.check(code == 200 and len(free["items"]) == 8, "eight free slots of the doctor listed")
    mc.check([s["start_ms"] for s in free["items"]] == [t0 + i * 30 * MIN for i in range(8)],
             "slots in start order")
    s0, s1, s2 = (free["items"][i]["id"] for i in range(3))

    pub = Stream(net)
    docs = Stream(net, f"/v1/events?practitioner={doctor['id']}", key=doctor["file"])
    mc.check(docs.status == 200, "the doctor's signed appointment stream opens")
    code, _ = http.get(f"/v1/events?practitioner={doctor['id']}")
    mc.check(code == 401, "a doctor's stream needs a signed request")

    rc, doc, err = book(net, patient, s0)
    mc.check(rc == 0 and doc["result"] == "OK", "patient books a free slot")
    code, slot = http.get(f"/v1/slots/{s0}")
    mc.check(slot["status"] == "busy", "the slot is busy")
    appt = slot["appointment"]
    code, ap = http.get(f"/v1/appointments/{appt}")
    mc.check(code == 200 and ap["status"] == "booked" and ap["practitioner"] == doctor["id"],
             "appointment booked with the doctor")
    mc.check(patient["id"] not in str(ap), "the appointment does not name the patient")
    code, blk = http.get(f"/v1/blocks/{doc['height']}")
    args = [t for t in blk["txs"] if t["hash"] == doc["hash"]][0]["args"]
    mc.check(patient["id"] not in str(args), "the booking's arguments do not name the patient")

    view = appt_args(net, patient["file"], "view-key")[0].split("=", 1)[1]
    path = f"/v1/patients/{patient['id']}/appointments?view_key={view}&from={t0}&to={t0 + DAY}"
    code, mine = net.query(patient["file"], path)
    mc.check(code == 200 and [x["id"] for x in mine["items"]] == [appt]
             and mine["items"][0]["patient"] == patient["id"],
             "the patient sees their appointment (signed, with the view key)")
    code, _ = http.get(path)
    mc.check(code == 401, "a patient's appointments need a signed request")
    code, _ = net.query(other["file"], path)
    mc.check(code == "UNAUTHORIZED", "another patient cannot read them")
    oview = appt_args(net, other["file"], "view-key")[0].split("=", 1)[1]
    code, theirs = net.query(other["file"], f"/v1/patients/{other['id']}/appointments?"
                             f"view_key={oview}&from={t0}&to={t0 + DAY}")
    mc.check(code == 200 and theirs["items"] == [], "another patient's view finds nothing")

    opened = appt_args(net, doctor["file"], "open", appt)
    mc.check(opened == [f"patient={patient['id']}"], "the doctor opens who booked")
    opened = appt_args(net, patient["file"], "open", appt)
    mc.check(opened == [f"patient={patient['id']}"], "the patient opens their own booking")
    rc, _, err = net.run("appt", "--node", net.url(), "--key", other_doc["file"], "open", appt)
    mc.check(rc != 0 and "UNAUTHORIZED" in err, "a stranger cannot open it")

    moved = appt_args(net, patient["file"], "reschedule", appt, s1)
    doc2 = net.tx_ok(patient["file"], "appt.reschedule", *moved)
    code, old = http.get(f"/v1/slots/{s0}")
    code, new = http.get(f"/v1/slots/{s1}")
    mc.check(old["status"] == "free" and new["status"] == "busy",
             "reschedule frees the old slot and holds the new one")
    appt2 = new["appointment"]
    code, ap2 = http.get(f"/v1/appointments/{appt2}")
    code, ap1 = http.get(f"/v1/appointments/{appt}")
    mc.check(ap2["previous"] == appt and ap1["status"] == "rescheduled", "the move is recorded")

    cancel = appt_args(net, patient["file"], "cancel", appt2)
    net.tx_ok(patient["file"], "appt.cancel", *cancel)
    code, new = http.get(f"/v1/slots/{s1}")
    code, ap2 = http.get(f"/v1/appointments/{appt2}")
    mc.check(new["status"] == "free" and ap2["status"] == "cancelled", "patient cancels")

    rc, doc, err = book(net, patient, s2)
    code, slot = http.get(f"/v1/slots/{s2}")
    appt3 = slot["appointment"]
    net.tx_ok(doctor["file"], "appt.mark", f"appointment={appt3}", "status=checked_in")
    net.tx_ok(a, "appt.mark", f"appointment={appt3}", "status=fulfilled")
    code, ap3 = http.get(f"/v1/appointments/{appt3}")
    mc.check(ap3["status"] == "fulfilled", "clinic checks in and marks fulfilled")
    code, day = http.get(f"/v1/appointments?practitioner={doctor['id']}&from={t0}&to={t0 + DAY}")
    mc.check(code == 200 and len(day["items"]) == 3, "the doctor's day lists three bookings")

    want = {(appt, "booked"), (appt, "rescheduled"), (appt2, "booked"), (appt2, "cancelled"),
            (appt3, "booked"), (appt3, "checked_in"), (appt3, "fulfilled")}

    def seen_all(evs):
        got = {(e["data"]["appointment"], e["data"]["status"]) for e in of(evs, "appointment")}
        return want <= got

    for name, stream in (("public", pub), ("doctor's", docs)):
        evs = stream.events(seen_all, timeout=20)
        mc.check(seen_all(evs), f"the {name} stream carries every appointment change")
        mc.check(all(patient["id"] not in str(e) for e in evs),
                 f"no patient id in the {name} stream")
        stream.close()
    return schedule


def via_clinic(net, doctor, patient, t0):
    """The private path: the patient signs a request, node 0's operator
    (Riverside's admin) carries the call; no block names the patient."""
    http = net.http()
    code, free = http.get(f"/v1/slots?practitioner={doctor['id']}&from={t0}&to={t0 + DAY}"
                          "&status=free")
    slot = free["items"][-1]["id"]
    rc, out, err = net.run("appt", "--node", net.url(0), "--key", patient["file"], "--via-clinic",
                           "book", slot)
    doc = mc._json(out.encode()) if out.strip() else None
    mc.check(rc == 0 and doc and doc["result"] == "OK", "booked through the clinic's node")
    code, blk = http.get(f"/v1/blocks/{doc['height']}")
    tx = [t for t in blk["txs"] if t["hash"] == doc["hash"]][0]
    mc.check(tx["method"] == "book" and tx["sender"] != patient["id"],
             "the operator, not the patient, sends the booking")
    mc.check(patient["id"] not in str(blk), "the block does not name the patient anywhere")
    code, s = http.get(f"/v1/slots/{slot}")
    appt = s["appointment"]
    opened = appt_args(net, doctor["file"], "open", appt)
    mc.check(opened == [f"patient={patient['id']}"], "the doctor still opens who booked")
    rc, out, err = net.run("appt", "--node", net.url(0), "--key", doctor["file"], "--via-clinic",
                           "book", free["items"][-2]["id"])
    mc.check(rc != 0 and "UNAUTHORIZED" in err, "the clinic's node books only for patients")
    rc, out, err = net.run("appt", "--node", net.url(1), "--key", patient["file"], "--via-clinic",
                           "book", free["items"][-2]["id"])
    mc.check(rc != 0 and "NO_OPERATOR_KEY" in err, "a node without the clinic's operator key")
    rc, out, err = net.run("appt", "--node", net.url(0), "--key", patient["file"], "--via-clinic",
                           "cancel", appt)
    code, s = http.get(f"/v1/slots/{slot}")
    mc.check(rc == 0 and s["status"] == "free", "cancelled through the clinic's node")


def bad_input(net, doctor, other_doc, patient, other, t0):
    http = net.http()
    a = net.admin_key(HOSP_A)
    b = net.admin_key(HOSP_B)

    def unchanged(path, before, what):
        code, now = http.get(path)
        mc.check(now == before, f"{what}: nothing changed")

    # A slot in the past: published a few seconds ahead, booked after.
    soon = int(time.time() * 1000) + 4000
    schedule = clinic(net, a, doctor, soon, n=1, length=MIN)
    code, lst = http.get(f"/v1/slots?practitioner={doctor['id']}&from={soon}&to={soon + 1}")
    past = lst["items"][0]["id"]
    time.sleep(max(0, (soon - time.time() * 1000) / 1000) + 2)
    code, before = http.get(f"/v1/slots/{past}")
    rc, doc, err = book(net, patient, past)
    mc.check(err_code(rc, doc, err) == "SLOT_IN_PAST", "a slot in the past: SLOT_IN_PAST")
    unchanged(f"/v1/slots/{past}", before, "past slot")

    # An unknown slot (the args are made for a real one, then the id swapped).
    code, free = http.get(f"/v1/slots?practitioner={doctor['id']}&from={t0}&to={t0 + DAY}"
                          "&status=free")
    target = free["items"][0]["id"]
    args = appt_args(net, patient["file"], "book", target)
    unknown = "ab" * 32
    args = [f"slot={unknown}" if x.startswith("slot=") else x for x in args]
    rc, doc, err = net.tx(patient["file"], "appt.book", *args)
    mc.check(err_code(rc, doc, err) == "UNKNOWN_SLOT", "an unknown slot: UNKNOWN_SLOT")
    code, _ = http.get(f"/v1/slots/{unknown}")
    mc.check(code == 404, "the unknown slot still does not exist")

    # A booking by a non-patient (a doctor of another organization).
    code, before = http.get(f"/v1/slots/{target}")
    args = appt_args(net, patient["file"], "book", target)
    rc, doc, err = net.tx(other_doc["file"], "appt.book", *args)
    mc.check(err_code(rc, doc, err) == "UNAUTHORIZED", "a booking by a non-patient: UNAUTHORIZED")
    unchanged(f"/v1/slots/{target}", before, "non-patient booking")

    # Cancelling someone else's booking.
    rc, doc, err = book(net, patient, target)
    mc.check(rc == 0, "patient books again")
    code, slot = http.get(f"/v1/slots/{target}")
    appt = slot["appointment"]
    code, before = http.get(f"/v1/appointments/{appt}")
    # The other patient has no key to this booking: they sign with theirs.
    theirs = appt_args(net, other["file"], "cancel", appt)
    rc, doc, err = net.tx(other["file"], "appt.cancel", *theirs)
    mc.check(err_code(rc, doc, err) == "NOT_YOUR_BOOKING",
             "cancelling someone else's booking: NOT_YOUR_BOOKING")
    unchanged(f"/v1/appointments/{appt}", before, "someone else's cancel")
    rc, doc, err = net.tx(other_doc["file"], "appt.cancel", f"appointment={appt}")
    mc.check(err_code(rc, doc, err) == "NOT_YOUR_BOOKING",
             "another organization's doctor cannot cancel it either")

    # A cancellation inside the cut-off (Lakeside sets two days; its slot
    # is tomorrow).
    net.tx_ok(b, "appt.set_policy", f"cancel_cutoff_ms={2 * DAY}")
    bschedule = clinic(net, b, other_doc, t0, n=1)
    code, lst = http.get(f"/v1/slots?practitioner={other_doc['id']}&from={t0}&to={t0 + 1}")
    bslot = lst["items"][0]["id"]
    rc, doc, err = book(net, other, bslot)
    mc.check(rc == 0, "the other patient books at Lakeside")
    code, slot = http.get(f"/v1/slots/{bslot}")
    bappt = slot["appointment"]
    code, before = http.get(f"/v1/appointments/{bappt}")
    args = appt_args(net, other["file"], "cancel", bappt)
    rc, doc, err = net.tx(other["file"], "appt.cancel", *args)
    mc.check(err_code(rc, doc, err) == "CANCEL_CUTOFF", "a cancellation after the cut-off")
    unchanged(f"/v1/appointments/{bappt}", before, "late cancel")
    unchanged(f"/v1/slots/{bslot}", slot, "late cancel's slot")
    return schedule, bschedule


def race(net, t0):
    """RACERS patients book one slot at once through every node."""
    a = net.admin_key(HOSP_A)
    http = net.http()
    racers = [net.keygen(f"racer-{i}") for i in range(RACERS)]
    # Enrol them quickly: one admin, consecutive nonces, no waiting.
    for r in racers:
        rc, doc, err = net.tx(a, "identity.enrol_patient", f"sign_pk=@{r['file']}",
                              f"box_pk=@{r['file']}", extra=("--no-wait",))
        if rc != 0:
            # A busy pool or a nonce still pending: wait for commit instead.
            net.tx_ok(a, "identity.enrol_patient", f"sign_pk=@{r['file']}",
                      f"box_pk=@{r['file']}")
    mc.wait_for(lambda: all(http.get(f"/v1/identities/{r['id']}")[0] == 200 for r in racers),
                60, 0.5)
    doctor = net.keygen("race-doctor")
    net.tx_ok(a, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
              f"box_pk=@{doctor['file']}", f"licence_hash={mc.blake2b32(b'lic-3')}",
              "role=radiology")
    start = t0 + 2 * DAY
    clinic(net, a, doctor, start, n=1)
    code, lst = http.get(f"/v1/slots?practitioner={doctor['id']}&from={start}&to={start + 1}")
    slot = lst["items"][0]["id"]
    # Each racer's arguments first, so the bookings themselves go at once.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        prepared = list(ex.map(lambda ir: appt_args(net, ir[1]["file"], "book", slot,
                                                    node=ir[0] % NODES), enumerate(racers)))

    def go(i):
        return net.tx(racers[i]["file"], "appt.book", *prepared[i], node=i % NODES)

    with concurrent.futures.ThreadPoolExecutor(max_workers=RACERS) as ex:
        results = list(ex.map(go, range(RACERS)))
    codes = [err_code(*r) for r in results]
    wins = codes.count("OK")
    taken = codes.count("SLOT_TAKEN")
    print(f"race: {wins} OK, {taken} SLOT_TAKEN, others {sorted(set(codes) - {'OK', 'SLOT_TAKEN'})}")
    mc.check(wins == 1, "exactly one of 50 racing bookings succeeds")
    mc.check(taken == RACERS - 1, "the 49 others get SLOT_TAKEN")
    winner = codes.index("OK")
    top = max(net.height(i) for i in range(NODES))
    for i in range(NODES):
        net.wait_height(top, i)
    views = [net.http(i).get(f"/v1/slots/{slot}")[1] for i in range(NODES)]
    mc.check(all(v == views[0] for v in views) and views[0]["status"] == "busy",
             "every node holds the same booking of the slot")
    appt = views[0]["appointment"]
    opened = appt_args(net, racers[winner]["file"], "open", appt)
    mc.check(opened == [f"patient={racers[winner]['id']}"], "the booking is the winner's")
    hashes = [net.block_hashes(i, top, top) for i in range(NODES)]
    mc.check(all(h == hashes[0] for h in hashes), "every node agrees on the block")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=NODES, keep=a.keep, name="appt")
    try:
        net.config_set(0, operator_key=net.admin_key(HOSP_A))
        net.start()
        for i in range(NODES):
            net.wait_height(1, i, timeout=60)
        doctor, other_doc, patient, other = people(net)
        t0 = (int(time.time() * 1000) // HOUR + 24) * HOUR
        journey(net, doctor, other_doc, patient, other, t0)
        via_clinic(net, doctor, patient, t0)
        bad_input(net, doctor, other_doc, patient, other, t0)
        race(net, t0)
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    sys.exit(main())
