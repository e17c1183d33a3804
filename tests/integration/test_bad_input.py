"""Bad input of every kind the ledger core sees gets its stable error code,
a message, and changes nothing: the state root is the same before and after
each one, and the node keeps serving.
"""

import json
import os

import mc

HOSP_A = "riverside-general-hospital"


def signed_hex(net, key, call, *kv, extra=()):
    rc, out, err = net.run("tx", "--node", net.url(), "--key", key, "--print-only", *extra, call,
                           *kv)
    if rc != 0:
        raise RuntimeError(f"could not sign {call}: {err}")
    return out.strip().split()[-1]


def expect(net, what, status, code, send):
    http = net.http()
    _, before = http.get("/v1/status")
    got_status, body = send()
    err = (body or {}).get("error", {}) if isinstance(body, dict) else {}
    mc.check(got_status == status, f"{what}: HTTP {status} (got {got_status})")
    mc.check(err.get("code") == code, f"{what}: code {code} (got {err.get('code')})")
    mc.check(bool(err.get("message")), f"{what}: a message for a person")
    _, after = http.get("/v1/status")
    mc.check(after["state_root"] == before["state_root"], f"{what}: state root unchanged")
    code, _ = http.get("/health")
    mc.check(code == 200, f"{what}: node still serving")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="bad")
    try:
        net.start()
        http = net.http()
        admin = net.admin_key(HOSP_A)
        patient = net.keygen("patient")
        net.tx_ok(admin, "identity.enrol_patient", f"sign_pk=@{patient['file']}",
                  f"box_pk=@{patient['file']}")
        stranger = net.keygen("stranger")
        other = net.keygen("other")

        good = signed_hex(net, admin, "identity.enrol_patient", f"sign_pk=@{other['file']}",
                          f"box_pk=@{other['file']}")
        raw = bytes.fromhex(good)
        flipped = good[:-2] + ("00" if good[-2:] != "00" else "01")
        expect(net, "truncated bytes", 400, "MALFORMED",
               lambda: http.post("/v1/txs", raw[:40], "application/octet-stream"))
        expect(net, "garbage bytes (a length over its limit)", 413, "OVERSIZE",
               lambda: http.post("/v1/txs", b"\x01garbage!", "application/octet-stream"))
        expect(net, "unknown encoding version", 400, "MALFORMED",
               lambda: http.post("/v1/txs", b"\x07" + raw[1:], "application/octet-stream"))
        expect(net, "trailing bytes", 400, "TRAILING_BYTES",
               lambda: http.post("/v1/txs", {"tx": good + "00"}))
        expect(net, "bad signature", 401, "BAD_SIGNATURE",
               lambda: http.post("/v1/txs", {"tx": flipped}))
        wrong = signed_hex(net, admin, "identity.enrol_patient", f"sign_pk=@{other['file']}",
                           f"box_pk=@{other['file']}", extra=("--chain-id", "another-chain"))
        expect(net, "wrong chain id", 400, "WRONG_CHAIN",
               lambda: http.post("/v1/txs", {"tx": wrong}))
        unknown = signed_hex(net, stranger["file"], "identity.set_guardian",
                             f"guardian={patient['id']}", "active=true", extra=("--nonce", "1"))
        expect(net, "unknown sender", 401, "UNKNOWN_SENDER",
               lambda: http.post("/v1/txs", {"tx": unknown}))
        role = signed_hex(net, patient["file"], "identity.enrol_patient",
                          f"sign_pk=@{other['file']}", f"box_pk=@{other['file']}")
        expect(net, "unauthorized role", 403, "UNAUTHORIZED",
               lambda: http.post("/v1/txs?wait=commit", {"tx": role}))
        past = signed_hex(net, patient["file"], "consent.grant", f"patient={patient['id']}",
                          f"grantee={patient['id']}", "scope=category", "category=lab",
                          "purpose=treatment", "expires_ms=1000")
        expect(net, "expiry in the past", 400, "EXPIRY_IN_PAST",
               lambda: http.post("/v1/txs?wait=commit", {"tx": past}))
        stale = signed_hex(net, admin, "identity.enrol_patient", f"sign_pk=@{other['file']}",
                           f"box_pk=@{other['file']}", extra=("--nonce", "1"))
        expect(net, "stale nonce", 409, "REPLAY",
               lambda: http.post("/v1/txs", {"tx": stale}))

        code, first = http.post("/v1/txs?wait=commit", {"tx": good})
        mc.check(code == 200 and first.get("result") == "OK", "the good transaction commits")
        expect(net, "replay of a committed transaction", 409, "REPLAY",
               lambda: http.post("/v1/txs", {"tx": good}))
        expect(net, "oversize body", 413, "OVERSIZE",
               lambda: http.post("/v1/txs", {"tx": "00" * 70000}))
        expect(net, "invalid JSON", 400, "INVALID_JSON",
               lambda: http.post("/v1/txs", b"{\"tx\": ", "application/json"))
        expect(net, "JSON without tx", 400, "BAD_REQUEST",
               lambda: http.post("/v1/txs", {"nope": 1}))
        expect(net, "unknown route", 404, "ROUTE_NOT_FOUND", lambda: http.get("/v1/nope"))
        expect(net, "path traversal", 404, "ROUTE_NOT_FOUND",
               lambda: http.get("/v1/../../etc/passwd"))
        expect(net, "wrong method", 405, "METHOD_NOT_ALLOWED",
               lambda: http.request("DELETE", "/v1/status"))
        expect(net, "bad block height", 400, "BAD_REQUEST", lambda: http.get("/v1/blocks/abc"))
        expect(net, "missing block", 404, "NOT_FOUND", lambda: http.get("/v1/blocks/999999"))
        expect(net, "unknown identity", 404, "NOT_FOUND",
               lambda: http.get(f"/v1/identities/{'ab' * 32}"))

        rc, out, err = net.run("tx", "--node", net.url(), "--key", patient["file"],
                               "identity.enrol_patient", f"sign_pk=@{other['file']}",
                               f"box_pk=@{other['file']}")
        mc.check(rc != 0 and "UNAUTHORIZED" in err, "the CLI shows the stable code")
        logs = open(os.path.join(net.home(0), "node.log"), encoding="utf-8",
                    errors="replace").read()
        mc.check(good not in logs and other["sign_pk"] not in logs,
                 "no transaction payload in the node's log")
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    main()
