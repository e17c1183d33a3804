"""Durability and offline verification.

1. kill -9 the node in the middle of a load: after a restart every
   transaction that was reported committed is still committed, the chain
   continues, and `medchain verify` passes.
2. Flip one byte of a stored block in the LMDB file: `medchain verify`
   fails and names that block's height.
"""

import os
import signal
import threading
import time

import mc

HOSP_A = "riverside-general-hospital"
N_TXS = 160


def presign(net, patient, doctor):
    txs = []
    for nonce in range(1, N_TXS + 1):
        rc, out, err = net.run("tx", "--node", net.url(), "--key", patient["file"],
                               "--print-only", "--nonce", str(nonce), "consent.grant",
                               f"patient={patient['id']}", f"grantee={doctor['id']}",
                               "scope=category", f"category=c{nonce}", "purpose=treatment",
                               "expires_ms=4102444800000")
        if rc != 0:
            raise RuntimeError(err)
        txs.append(out.strip().split()[-1])
    return txs


def load_and_kill(net, txs):
    http = net.http()
    committed = set()
    accepted = []
    stop = threading.Event()

    def submit():
        for tx in txs:
            if stop.is_set():
                return
            try:
                code, body = http.post("/v1/txs", {"tx": tx})
            except OSError:
                return
            if code == 202:
                accepted.append(body["hash"])

    def watch():
        while not stop.is_set():
            for h in list(accepted):
                if h in committed:
                    continue
                try:
                    code, body = http.get(f"/v1/txs/{h}")
                except OSError:
                    return
                if code == 200 and body.get("status") == "committed":
                    committed.add(h)
            time.sleep(0.02)

    t1 = threading.Thread(target=submit)
    t2 = threading.Thread(target=watch)
    t1.start()
    t2.start()
    deadline = time.time() + 60
    while len(committed) < N_TXS // 4 and time.time() < deadline:
        time.sleep(0.01)
    os.kill(net.pid(), signal.SIGKILL)
    stop.set()
    t1.join(30)
    t2.join(30)
    return committed


def corrupt_block(net, height):
    code, blk = net.http().get(f"/v1/blocks/{height}?raw=1")
    raw = bytes.fromhex(blk["raw"])
    net.stop()
    path = os.path.join(net.home(), "data", "data.mdb")
    with open(path, "rb") as f:
        data = bytearray(f.read())
    at = data.find(raw)
    mc.check(at >= 0 and data.find(raw, at + 1) < 0, "the stored block is found once in the file")
    # Flip a byte in the middle of the block: inside its transactions.
    data[at + len(raw) // 2] ^= 0x01
    with open(path, "wb") as f:
        f.write(data)


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="crash")
    try:
        net.start()
        admin = net.admin_key(HOSP_A)
        patient = net.keygen("patient")
        doctor = net.keygen("doctor")
        net.tx_ok(admin, "identity.enrol_patient", f"sign_pk=@{patient['file']}",
                  f"box_pk=@{patient['file']}")
        net.tx_ok(admin, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
                  f"box_pk=@{doctor['file']}", f"licence_hash={'11' * 32}", "role=cardiology")
        txs = presign(net, patient, doctor)
        committed = load_and_kill(net, txs)
        mc.check(len(committed) > 0, f"some transactions committed before the kill ({len(committed)})")
        net.start()
        http = net.http()
        lost = [h for h in committed if http.get(f"/v1/txs/{h}")[1].get("status") != "committed"]
        mc.check(not lost, f"no committed transaction lost after kill -9 ({len(lost)} lost)")
        code, st = http.get("/v1/status")
        p2 = net.keygen("p2")
        net.tx_ok(admin, "identity.enrol_patient", f"sign_pk=@{p2['file']}",
                  f"box_pk=@{p2['file']}")
        code, st2 = http.get("/v1/status")
        mc.check(st2["height"] > st["height"], "the chain continues after the restart")
        height = st2["height"]
        net.stop()
        rc, out, err = net.run("verify", "--home", net.home())
        mc.check(rc == 0, f"verify passes after the crash ({out.strip()} {err.strip()})")

        net.start()
        target = None
        for h in range(1, height + 1):
            code, blk = net.http().get(f"/v1/blocks/{h}")
            if blk["tx_count"] > 0:
                target = h
        corrupt_block(net, target)
        rc, out, err = net.run("verify", "--home", net.home(), "--json")
        mc.check(rc != 0, "verify fails on a corrupted block")
        mc.check(f'"bad_height":{target}' in out.replace(" ", ""),
                 f"verify names height {target}: {out.strip()} {err.strip()}")
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    main()
