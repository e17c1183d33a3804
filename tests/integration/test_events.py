"""GET /v1/events against a real node: block and tx events for a submitted
transaction, one patient's consent events (and not another's), the
subscriber limit, and a prompt stop with streams still open.
"""

import http.client
import json
import os
import socket
import time

import mc

HOSP_A = "riverside-general-hospital"
FAR = 4102444800000  # 2100-01-01


class Stream:
    """One open event stream, read line by line with a socket timeout."""

    def __init__(self, net, path="/v1/events", key=None):
        headers = {}
        if key is not None:
            # The CLI signs the request; the test holds the connection.
            out = net.run_ok("query", "--node", net.url(), "--key", key, "--print-headers", path)
            for line in out.splitlines():
                name, _, value = line.partition(": ")
                headers[name] = value
        self.conn = http.client.HTTPConnection("127.0.0.1", net.base, timeout=2)
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.ctype = self.resp.getheader("Content-Type", "")
        self.lines = []

    def events(self, until, timeout=20):
        """Reads events until until(list of events) is true or timeout passes;
        returns the events read (dicts with id, event, data)."""
        seen = []
        cur = {}
        deadline = time.time() + timeout
        while time.time() < deadline and not until(seen):
            try:
                raw = self.resp.fp.readline()
            except (socket.timeout, TimeoutError):
                continue
            if not raw:
                break
            line = raw.decode().rstrip("\r\n")
            self.lines.append(line)
            if line == "":
                if "event" in cur:
                    seen.append(cur)
                cur = {}
            elif line.startswith(":"):
                continue
            else:
                key, _, val = line.partition(": ")
                cur[key] = json.loads(val) if key == "data" else val
        return seen

    def close(self):
        try:
            self.resp.close()
            self.conn.close()
        except OSError:
            pass


def of(events, kind):
    return [e for e in events if e["event"] == kind]


def blocks_and_txs(net):
    s = Stream(net)
    mc.check(s.status == 200 and s.ctype.startswith("text/event-stream"),
             "GET /v1/events answers 200 text/event-stream")
    a = net.admin_key(HOSP_A)
    doctor = net.keygen("doctor")
    doc = net.tx_ok(a, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
                    f"box_pk=@{doctor['file']}", f"licence_hash={'11' * 32}", "role=cardiology")
    txh = doc["hash"]
    def done(ev):
        tx = [e for e in of(ev, "tx") if e["data"]["hash"] == txh]
        return bool(tx) and any(b["data"]["height"] == tx[0]["data"]["height"]
                                for b in of(ev, "block"))

    got = s.events(done)
    mc.check("retry: 2000" in s.lines[:3], "the stream starts with retry: 2000")
    txs = [e for e in of(got, "tx") if e["data"]["hash"] == txh]
    mc.check(len(txs) == 1, "event: tx with the submitted transaction's hash")
    if txs:
        t = txs[0]
        mc.check(t["data"]["contract"] == "identity" and t["data"]["method"] == "register"
                 and t["data"]["result"] == "OK", "tx event names contract, method and result")
        mc.check(t["id"] == f"{t['data']['height']}:{t['data']['index']}", "tx event id is height:index")
        blk = [b for b in of(got, "block") if b["data"]["height"] == t["data"]["height"]]
        mc.check(len(blk) == 1 and blk[0]["data"]["tx_count"] >= 1
                 and len(blk[0]["data"]["hash"]) == 64, "event: block for the tx's block")
    mc.check(not of(got, "consent"), "no consent events without ?patient")
    s.close()
    return doctor


def enrol(net, name):
    a = net.admin_key(HOSP_A)
    p = net.keygen(name)
    net.tx_ok(a, "identity.enrol_patient", f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}")
    return p


def consents(net, doctor):
    alice = enrol(net, "alice")
    bob = enrol(net, "bob")
    unsigned = Stream(net, f"/v1/events?patient={alice['id']}")
    mc.check(unsigned.status == 401, f"an unsigned patient stream is refused ({unsigned.status})")
    unsigned.close()
    other = Stream(net, f"/v1/events?patient={alice['id']}", key=bob["file"])
    mc.check(other.status == 403, f"another patient's stream is refused ({other.status})")
    other.close()
    s = Stream(net, f"/v1/events?patient={alice['id']}", key=alice["file"])
    mc.check(s.status == 200, "GET /v1/events?patient=ID signed by the patient answers 200")
    net.tx_ok(bob["file"], "consent.grant", f"patient={bob['id']}", f"grantee={doctor['id']}",
              "scope=category", "category=cardiology", "purpose=treatment", f"expires_ms={FAR}")
    net.tx_ok(alice["file"], "consent.grant", f"patient={alice['id']}",
              f"grantee={doctor['id']}", "scope=category", "category=cardiology",
              "purpose=treatment", f"expires_ms={FAR}")
    got = s.events(lambda ev: len(of(ev, "consent")) >= 1)
    cons = of(got, "consent")
    mc.check(len(cons) == 1 and cons[0]["data"]["status"] == "active"
             and cons[0]["data"]["patient"] == alice["id"]
             and cons[0]["data"]["grantee"] == doctor["id"], "consent event for the grant")
    mc.check(of(got, "block") != [], "block events on a patient stream")
    mc.check(of(got, "tx") == [], "no tx events on a patient stream")
    if not cons:
        s.close()
        return
    cid = cons[0]["data"]["consent"]
    net.tx_ok(alice["file"], "consent.revoke", f"consent={cid}")
    got = s.events(lambda ev: len(of(ev, "consent")) >= 1)
    cons = of(got, "consent")
    mc.check(len(cons) == 1 and cons[0]["data"]["status"] == "revoked"
             and cons[0]["data"]["consent"] == cid and cons[0]["data"]["patient"] == alice["id"],
             "consent event for the revoke")
    everything = "\n".join(s.lines)
    mc.check(bob["id"] not in everything, "another patient's consent is not on the stream")
    s.close()


def limit(net):
    time.sleep(2.5)
    streams = [Stream(net) for _ in range(64)]
    ok = sum(1 for s in streams if s.status == 200)
    mc.check(ok == 64, f"64 subscribers at once ({ok})")
    extra = Stream(net)
    body = extra.resp.read() if extra.status != 200 else b""
    mc.check(extra.status == 503 and b"UNAVAILABLE" in body, "the 65th subscriber gets 503")
    extra.close()
    for s in streams:
        s.close()


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def prompt_stop(net):
    streams = [Stream(net), Stream(net)]
    pid = net.pid(0)
    t0 = time.time()
    rc, out, err = net.stop()
    mc.check(rc == 0, f"testnet stop returns with streams open ({err.strip()})")
    while alive(pid) and time.time() - t0 < 10:
        time.sleep(0.1)
    mc.check(not alive(pid), "the node exits within 10 s with streams open")
    for s in streams:
        s.close()


def bad_patient(net):
    code, body = net.http().get("/v1/events?patient=xyz")
    mc.check(code == 400 and body["error"]["code"] == "BAD_REQUEST", "?patient must be an id")


def guardian_removed(net, doctor):
    """A stream is re-authorized before each event: a guardian removed while
    the stream is open gets `event: unauthorized` instead of the next consent
    change, and the stream ends."""
    carol = enrol(net, "carol")
    guard = enrol(net, "carol-guardian")
    net.tx_ok(carol["file"], "identity.set_guardian", f"guardian={guard['id']}", "active=true")
    s = Stream(net, f"/v1/events?patient={carol['id']}", key=guard["file"])
    mc.check(s.status == 200, "a guardian may open the patient's stream")
    net.tx_ok(carol["file"], "identity.set_guardian", f"guardian={guard['id']}", "active=false")
    net.tx_ok(carol["file"], "consent.grant", f"patient={carol['id']}",
              f"grantee={doctor['id']}", "scope=category", "category=lab",
              "purpose=treatment", f"expires_ms={FAR}")
    got = s.events(lambda ev: of(ev, "unauthorized") != [] or of(ev, "consent") != [])
    mc.check(of(got, "consent") == [], "the removed guardian sees no later consent change")
    mc.check(of(got, "unauthorized") != [], "the removed guardian's stream is told and ends")
    s.close()


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="events")
    try:
        net.start()
        bad_patient(net)
        doctor = blocks_and_txs(net)
        consents(net, doctor)
        guardian_removed(net, doctor)
        limit(net)
        prompt_stop(net)
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    main()
