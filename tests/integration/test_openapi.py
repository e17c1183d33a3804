"""GET /v1/openapi.json kept true: the document is fetched from a running
node and walked against it.

For every documented path and method the test makes real requests with valid
parameters (ids of entities it created, a height that exists): once with only
the required parameters and once per optional query parameter. Each answer's
status must be one the operation documents, its Content-Type the documented
one, and its JSON body must validate against the documented schema: required
properties present, no property the schema does not declare (unless
additionalProperties is true). Then, for each documented error status where
it is cheap, one request that produces it (400 for a bad id, 404 for an
unknown one, 401/403/409/413 for transactions). The reverse holds too: every
route in src/api/routes.c's table is documented, and nothing else is.

The validator covers the subset of JSON Schema the document uses, and the
test fails if the document uses a keyword the validator does not know.
"""

import json
import os
import re
import secrets
import time
import urllib.error
import urllib.request

import mc

HOSP_A = "riverside-general-hospital"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")
ROUTES_C = os.path.join(SRC, "api", "routes.c")
BASE_H = os.path.join(SRC, "base", "base.h")
KEYWORDS = {"type", "properties", "required", "items", "nullable", "enum", "pattern",
            "additionalProperties", "minimum", "maximum", "default", "format", "description",
            "$ref"}
UNKNOWN_ID = "ab" * 32
KINDS = ("organizations", "identities", "proposals", "validators", "consents", "records", "audit")


# ---- a small JSON Schema validator ---------------------------------------------------------


class Schema:
    def __init__(self, doc):
        self.doc = doc

    def deref(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), ref
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part]
            seen += 1
            assert seen < 16, "reference loop"
        return node

    def keywords_known(self, node, where, errs):
        """Every schema in the document uses only keywords validate() checks."""
        node = self.deref(node)
        unknown = set(node) - KEYWORDS
        if unknown:
            errs.append(f"{where}: unsupported keywords {sorted(unknown)}")
        for name, sub in node.get("properties", {}).items():
            self.keywords_known(sub, f"{where}.{name}", errs)
        if "items" in node:
            self.keywords_known(node["items"], f"{where}[]", errs)

    def validate(self, value, node, where, errs):
        node = self.deref(node)
        if value is None:
            if not node.get("nullable", False):
                errs.append(f"{where}: null where the schema does not allow it")
            return
        kind = node.get("type")
        ok = {
            "object": lambda v: isinstance(v, dict),
            "array": lambda v: isinstance(v, list),
            "string": lambda v: isinstance(v, str),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool),
            None: lambda v: True,
        }[kind](value)
        if not ok:
            errs.append(f"{where}: {json.dumps(value)[:60]} is not of type {kind}")
            return
        if "enum" in node and value not in node["enum"]:
            errs.append(f"{where}: {value!r} not in {node['enum']}")
        if kind == "string" and "pattern" in node and not re.search(node["pattern"], value):
            errs.append(f"{where}: {value[:40]!r} does not match {node['pattern']}")
        if kind in ("integer", "number"):
            if "minimum" in node and value < node["minimum"]:
                errs.append(f"{where}: {value} below {node['minimum']}")
            if "maximum" in node and value > node["maximum"]:
                errs.append(f"{where}: {value} above {node['maximum']}")
        if kind == "object":
            props = node.get("properties", {})
            for name in node.get("required", []):
                if name not in value:
                    errs.append(f"{where}: required property {name!r} missing")
            for name, v in value.items():
                if name in props:
                    self.validate(v, props[name], f"{where}.{name}", errs)
                elif node.get("additionalProperties") is not True:
                    errs.append(f"{where}: undocumented property {name!r}")
        if kind == "array" and "items" in node:
            for i, v in enumerate(value):
                self.validate(v, node["items"], f"{where}[{i}]", errs)


# ---- HTTP ------------------------------------------------------------------------------------


def fetch(base, method, path, body=None, ctype=None, timeout=30):
    """(status, content type without parameters, raw body bytes)."""
    req = urllib.request.Request(base + path, data=body, method=method)
    if ctype is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def error_statuses():
    """Stable error code -> HTTP status, from ERR_TABLE in src/base/base.h."""
    with open(BASE_H) as f:
        return dict((n, int(s)) for n, s in re.findall(r'X\(\s*ERR_\w+,\s*"(\w+)",\s*(\d+)',
                                                          f.read()))


class Walker:
    """Requests operations and checks the answers against the document. An
    operation with `security` is a signed read: unsigned it must answer 401;
    signed, the request goes through `medchain query --key`, which signs it
    (its exit status and body stand in for the HTTP status: 200 on success,
    otherwise the status of the error code the body names)."""

    def __init__(self, net, doc):
        self.net = net
        self.statuses = error_statuses()
        self.base = net.url()
        self.doc = doc
        self.schema = Schema(doc)
        self.exercised = {}  # (method, path) -> set of statuses seen

    def op(self, method, path):
        return self.doc["paths"][path][method.lower()]

    def params(self, op):
        return [self.schema.deref(p) for p in op.get("parameters", [])]

    def signed(self, url, key):
        rc, out, err = self.net.run("query", "--node", self.base, "--key", key, "--chain-id",
                                    "medchain-local", "--json", url)
        if rc == 0:
            return 200, "application/json", out.encode()
        try:
            code = json.loads(out)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return 0, "", (out + err).encode()
        return self.statuses.get(code, 0), "application/json", out.encode()

    def signed_raw(self, url, key):
        """A signed GET sent here (its headers from `medchain query
        --print-headers`), for answers that are not JSON."""
        out = self.net.run_ok("query", "--node", self.base, "--key", key, "--chain-id",
                              "medchain-local", "--print-headers", url)
        headers = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        req = urllib.request.Request(self.base + url, method="GET", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def binary(self, op):
        ok = self.schema.deref(op["responses"].get("200", {})).get("content", {})
        return "application/octet-stream" in ok

    def check(self, method, path, url, body=None, ctype=None, expect=None, what="", key=None):
        """One request to operation (method, path), signed with keystore `key`
        when given; asserts the answer is documented. Returns the parsed JSON
        body (or None)."""
        op = self.op(method, path)
        if key is not None and self.binary(op):
            status, got_ctype, raw = self.signed_raw(url, key)
        elif key is not None:
            status, got_ctype, raw = self.signed(url, key)
        else:
            status, got_ctype, raw = fetch(self.base, method, url, body, ctype)
        label = f"{method} {url[:90]}{' signed' if key else ''}{' ' + what if what else ''}"
        self.exercised.setdefault((method, path), set()).add(status)
        if expect is not None:
            mc.check(status == expect, f"{label}: status {status}, expected {expect}")
        resp = op["responses"].get(str(status))
        mc.check(resp is not None, f"{label}: status {status} is documented "
                 f"({sorted(op['responses'])}); body {raw[:160]!r}")
        if resp is None:
            return None
        resp = self.schema.deref(resp)
        content = resp.get("content", {})
        media = got_ctype.split(";")[0].strip()
        mc.check(media in content, f"{label}: content type {got_ctype!r} is documented "
                 f"({sorted(content)})")
        if media != "application/json" or media not in content:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            mc.check(False, f"{label}: body is JSON")
            return None
        errs = []
        self.schema.validate(value, content[media]["schema"], "body", errs)
        mc.check(not errs, f"{label}: body matches the schema: {errs[:5]}")
        return value


# ---- fixtures: entities for the list routes to return ----------------------------------------


def sign(net, keyfile, sender, nonce, call, *kv):
    """A signed transaction's hex, made offline by the CLI."""
    out = net.run_ok("tx", "--key", keyfile, "--sender", sender, "--nonce", str(nonce),
                     "--chain-id", "medchain-local", "--print-only", "--json", call, *kv)
    return json.loads(out)


def next_nonce(net, ident):
    code, d = net.http().get(f"/v1/identities/{ident}")
    assert code == 200, d
    return d["next_nonce"]


def populate(net):
    """An open proposal, a practitioner, a patient, a consent, a record and an audit entry."""
    a = net.admin_key(HOSP_A)
    cand = net.keygen("candidate-admin")
    net.tx_ok(a, "governance.propose_member", "name=Openapi Test Clinic", "kind=clinic",
              f"admin_pk=@{cand['file']}", f"admin_box=@{cand['file']}")
    doctor = net.keygen("doctor")
    net.tx_ok(a, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
              f"box_pk=@{doctor['file']}", f"licence_hash={'11' * 32}", "role=cardiology")
    patient = net.keygen("patient")
    net.tx_ok(a, "identity.enrol_patient", f"sign_pk=@{patient['file']}",
              f"box_pk=@{patient['file']}")
    net.tx_ok(patient["file"], "consent.grant", f"patient={patient['id']}",
              f"grantee={doctor['id']}", "scope=category", "category=cardiology",
              "purpose=treatment", "expires_ms=4102444800000")
    record = secrets.token_hex(32)
    sealed = secrets.token_hex(80)
    keys = ",".join(sorted([f"{patient['id']}:{sealed}", f"{doctor['id']}:{sealed}"]))
    net.tx_ok(doctor["file"], "records.anchor", f"record={record}", f"patient={patient['id']}",
              "category=cardiology", "fhir_type=Observation", f"content_hash={'22' * 32}",
              "size=512", f"keys={keys}")
    net.tx_ok(doctor["file"], "audit.log", f"record={record}", f"accessor={doctor['id']}",
              "purpose=treatment", "emergency=false", f"reason_hash={'00' * 32}", f"node={'00' * 32}", "reason_sealed=")
    src = os.path.join(net.dir, "content.json")
    with open(src, "w") as f:
        f.write('{"resourceType":"Observation","status":"final"}')
    out = net.run_ok("records", "put", "--node", net.url(), "--key", doctor["file"], "--patient",
                     patient["id"], "--category", "cardiology", "--fhir-type", "Observation",
                     "--in", src, "--json")
    stored = json.loads(out)["record"]
    auditor = net.keygen("auditor")
    net.tx_ok(a, "identity.register", "kind=auditor", f"sign_pk=@{auditor['file']}",
              f"box_pk=@{auditor['file']}", f"licence_hash={'00' * 32}", "role=")
    other = net.keygen("other-patient")
    net.tx_ok(a, "identity.enrol_patient", f"sign_pk=@{other['file']}",
              f"box_pk=@{other['file']}")
    http = net.http()
    ids = {}
    for kind in KINDS:
        code, page = http.get(f"/v1/{kind}?limit=1")
        if code == 401:  # a signed read
            rc, out, err = net.run("query", "--node", net.url(), "--key", auditor["file"],
                                   "--json", f"/v1/{kind}?limit=1")
            code, page = (200, json.loads(out)) if rc == 0 else (rc, {"error": err})
        mc.check(code == 200 and len(page["items"]) == 1, f"/v1/{kind} lists an entity")
        ids[kind] = page["items"][0]["id"]
        ids[kind + ".cursor"] = page["next"]
    ids["records"] = record
    ids["stored"] = stored
    ids["auditor"] = auditor
    ids["other"] = other
    code, d = http.get(f"/v1/identities/{doctor['id']}")
    ids["org"] = d["org"]
    populate_appt(net, doctor, patient, ids)
    ids["event"] = populate_supply(net, a)
    return doctor, patient, record, ids


def populate_appt(net, doctor, patient, ids):
    """A schedule, slots within the next days, a booking, a cut-off."""
    a = net.admin_key(HOSP_A)
    net.tx_ok(a, "appt.set_policy", "cancel_cutoff_ms=3600000")
    net.tx_ok(a, "appt.create_schedule", f"practitioner={doctor['id']}", "service_type=consult")
    http = net.http()
    ids["schedule"] = http.get("/v1/schedules?limit=1")[1]["items"][0]["id"]
    start = (int(time.time() * 1000) // 60000 + 60) * 60000
    slots = "".join(f"{start + i * 1800000:016x}{start + (i + 1) * 1800000:016x}"
                    for i in range(4))
    net.tx_ok(a, "appt.publish", f"schedule={ids['schedule']}", f"slots={slots}")
    page = http.get(f"/v1/slots?practitioner={doctor['id']}")[1]
    ids["slot"] = page["items"][0]["id"]
    args = net.run_ok("appt", "--node", net.url(), "--key", patient["file"], "book",
                      ids["slot"]).split()
    net.tx_ok(patient["file"], "appt.book", *args)
    ids["appointment"] = http.get(f"/v1/slots/{ids['slot']}")[1]["appointment"]
    out = net.run_ok("appt", "--node", net.url(), "--key", patient["file"], "view-key")
    ids["view_key"] = out.strip().split("=", 1)[1]


SUPPLY_GTIN = "80614141123458"


def populate_supply(net, a):
    """A manufacturer admitted by governance commissions two serials of lot
    L1: the drug routes' examples. Returns the event hash (hex)."""
    maker = net.keygen("openapi-maker")
    net.tx_ok(a, "governance.propose_member", "name=Openapi Pharma", "kind=manufacturer",
              f"admin_pk=@{maker['file']}", f"admin_box=@{maker['file']}")
    code, page = net.http().get("/v1/proposals?limit=100")
    prop = [p["id"] for p in page["items"] if p["name"] == "Openapi Pharma"][0]
    net.tx_ok(net.admin_key("lakeside-university-hospital"), "governance.vote", f"proposal={prop}")
    event = secrets.token_hex(32)
    epcs = "urn:epc:id:sgtin:0614141.812345.S1 urn:epc:id:sgtin:0614141.812345.S2"
    net.tx_ok(maker["file"], "supply.commission", f"event={event}", f"epcs={epcs}", "lot=L1",
              "expiry=20301231", "event_time_ms=1700000000000")
    return event


# ---- the walk --------------------------------------------------------------------------------


def route_table():
    with open(ROUTES_C) as f:
        text = f.read()
    return set(re.findall(r'\{"([A-Z]+)", "(/[^"]*)",', text))


def documented(doc):
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item}


def fill(w, path, op, path_values):
    url = path
    for p in w.params(op):
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", path_values[(path, p["name"])])
    return url


def walk_reads(w, values, path_values, reader, readers=None):
    """Every GET operation: required parameters only, then each optional query
    parameter alone. Signed reads are signed by `reader` (an auditor), or by
    readers[path] where one is named (a record's content: its patient)."""
    for path, item in w.doc["paths"].items():
        if "get" not in item:
            continue
        op = item["get"]
        url = fill(w, path, op, path_values)
        key = (readers or {}).get(path, reader) if op.get("security") else None
        required = [p for p in w.params(op) if p["in"] == "query" and p.get("required")]
        optional = [p for p in w.params(op) if p["in"] == "query" and not p.get("required")]
        base_q = "&".join(f"{p['name']}={values[(path, p['name'])]}" for p in required)
        content = w.schema.deref(op["responses"].get("200", {})).get("content", {})
        if "text/event-stream" in content:
            walk_stream(w, path, url, base_q)
            for p in optional:
                v = values.get((path, p["name"]), values.get(p["name"]))
                if v is not None:
                    q = "&".join(x for x in (base_q, f"{p['name']}={v}") if x)
                    # One patient's stream is patient data: signed by the reader.
                    signed = p["name"] in ("patient", "practitioner")
                    walk_stream(w, path, url, q, key if signed else None)
            continue
        body = w.check("GET", path, url + ("?" + base_q if base_q else ""), expect=200, key=key)
        if isinstance(body, dict) and isinstance(body.get("items"), list):
            mc.check(len(body["items"]) > 0, f"GET {path} returns items to check")
        for p in optional:
            v = values.get((path, p["name"]), values.get(p["name"]))
            if v is None:
                continue
            q = "&".join(x for x in (base_q, f"{p['name']}={v}") if x)
            body = w.check("GET", path, f"{url}?{q}", expect=200, what=f"({p['name']})", key=key)
            if p["name"] == "raw" and isinstance(body, dict):
                mc.check("raw" in body, f"GET {path}?raw=1 carries raw")


def walk_stream(w, path, url, q, key=None):
    """A server-sent event stream: status and content type, then hang up.
    With key, the request carries the headers `medchain query --print-headers`
    signs."""
    target = url + ("?" + q if q else "")
    headers = {}
    if key is not None:
        out = w.net.run_ok("query", "--node", w.base, "--key", key, "--chain-id",
                           "medchain-local", "--print-headers", target)
        headers = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    req = urllib.request.Request(w.base + target, method="GET", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, ctype = r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, ctype = e.code, e.headers.get("Content-Type", "")
    w.exercised.setdefault(("GET", path), set()).add(status)
    mc.check(status == 200 and ctype.startswith("text/event-stream"),
             f"GET {path}: 200 text/event-stream ({status} {ctype})")


def walk_errors(w, path_values, bad_path, reader, outsider):
    """For each documented 400, 401, 403 and 404 of a GET, one request that
    produces it."""
    skip_404 = {"/v1/blocks/latest"}  # needs a chain without blocks
    for path, item in w.doc["paths"].items():
        op = item.get("get")
        if op is None:
            continue
        codes = set(op["responses"])
        params = w.params(op)
        path_params = [p["name"] for p in params if p["in"] == "path"]
        good = fill(w, path, op, path_values)
        key = reader if op.get("security") else None
        if "text/event-stream" in w.schema.deref(op["responses"].get("200", {})).get("content", {}):
            good = f"{good}?patient={path_values[('/v1/events', 'patient')]}" 
        if "400" in codes:
            if path_params:
                url = path.replace("{" + path_params[0] + "}", bad_path[path_params[0]])
            elif any(p["name"] == "limit" for p in params):
                url = path + "?limit=0"
            elif any(p["name"] == "patient" for p in params):
                url = path + "?patient=12"
            elif any(p["name"] == "raw" for p in params):
                url = path + "?raw=2"
            elif any(p["name"] == "key" and p.get("required") for p in params):
                url = path  # the required key left out
            elif any(p["name"] == "gtin" and p["in"] == "query" for p in params):
                url = path + "?gtin=80614141123459&serial=S1"  # a wrong check digit
            else:
                url = None
            mc.check(url is not None, f"GET {path}: a request that answers 400")
            if url is not None:
                w.check("GET", path, url, expect=400, what="(bad parameter)")
        if "404" in codes and path not in skip_404:
            mc.check(bool(path_params), f"GET {path}: a request that answers 404")
            if path_params:
                n = path_params[0]
                unknown = "999999999" if n == "height" else UNKNOWN_ID
                url = path.replace("{" + n + "}", unknown)
                if len(path_params) > 1:  # "/v1/drugs/{gtin}/{serial}/...": a known
                    url = path            # first part, an unknown last one
                    for q in path_params[:-1]:
                        url = url.replace("{" + q + "}", path_values[(path, q)])
                    url = url.replace("{" + path_params[-1] + "}", "NOPE")
                w.check("GET", path, url, expect=404, key=key, what="(unknown)")
        mc.check(("401" in codes) == bool(op.get("security")),
                 f"GET {path}: 401 documented exactly for signed reads")
        if "401" in codes:
            w.check("GET", path, good, expect=401, what="(unsigned)")
        if "403" in codes:
            w.check("GET", path, good, expect=403, key=outsider, what="(not the signer's)")


def walk_capture(w):
    """POST /v1/epcis/capture: a document without events, then a valid one
    unsigned (test_supply.py captures signed documents end to end)."""
    path = "/v1/epcis/capture"
    w.check("POST", path, path, json.dumps({"type": "EPCISDocument"}).encode(),
            "application/json", expect=400, what="(no events)")
    event = {"type": "ObjectEvent", "eventTime": "2024-03-01T08:00:00Z",
             "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "dispensing",
             "epcList": ["urn:epc:id:sgtin:0614141.812345.S1"]}
    doc = {"type": "EPCISDocument", "schemaVersion": "2.0",
           "epcisBody": {"eventList": [event]}}
    w.check("POST", path, path, json.dumps(doc).encode(), "application/json", expect=401,
            what="(unsigned)")


def walk_txs(w, net, doctor, patient, record):
    """POST /v1/txs: both body forms, with and without waiting, and its errors."""
    path = "/v1/txs"
    n = next_nonce(net, doctor["id"])
    log = ("audit.log", f"record={record}", f"accessor={doctor['id']}", "purpose=treatment",
           "emergency=false", f"reason_hash={'00' * 32}", f"node={'00' * 32}", "reason_sealed=")
    t1 = sign(net, doctor["file"], doctor["id"], n, *log)
    body = json.dumps({"tx": t1["tx"]}).encode()
    got = w.check("POST", path, path + "?wait=commit&timeout_ms=20000", body, "application/json",
                  expect=200)
    mc.check(got is not None and got.get("result") == "OK", "committed with result OK")
    w.check("POST", path, path, bytes.fromhex(t1["tx"]), "application/octet-stream", expect=409,
            what="(replay, octet-stream)")
    t2 = sign(net, doctor["file"], doctor["id"], n + 1, *log)
    got = w.check("POST", path, path, json.dumps({"tx": t2["tx"]}).encode(), "application/json",
                  expect=202)
    w.check("GET", "/v1/txs/{hash}", f"/v1/txs/{t2['hash']}", what="(just submitted)")
    deadline = time.time() + 20
    while time.time() < deadline:
        code, st = net.http().get(f"/v1/txs/{t2['hash']}")
        if code == 200 and st["status"] == "committed":
            break
        time.sleep(0.1)
    w.check("POST", path, path, b"{not json", "application/json", expect=400, what="(bad JSON)")
    w.check("POST", path, path, json.dumps({"tx": "00" * 10000}).encode(), "application/json",
            expect=413, what="(oversize tx)")
    stranger = net.keygen("stranger")
    t = sign(net, stranger["file"], stranger["id"], 1, *log)
    w.check("POST", path, path, json.dumps({"tx": t["tx"]}).encode(), "application/json",
            expect=401, what="(unknown sender)")
    pn = next_nonce(net, patient["id"])
    t = sign(net, patient["file"], patient["id"], pn, "identity.register", "kind=practitioner",
             f"sign_pk=@{stranger['file']}", f"box_pk=@{stranger['file']}",
             f"licence_hash={'33' * 32}", "role=x")
    w.check("POST", path, path, json.dumps({"tx": t["tx"]}).encode(), "application/json",
            expect=403, what="(patient registers a practitioner)")
    n = next_nonce(net, doctor["id"])
    t = sign(net, doctor["file"], doctor["id"], n, "audit.log", f"record={UNKNOWN_ID}",
             f"accessor={doctor['id']}", "purpose=treatment", "emergency=false",
             f"reason_hash={'00' * 32}", f"node={'00' * 32}", "reason_sealed=")
    w.check("POST", path, path, json.dumps({"tx": t["tx"]}).encode(), "application/json",
            expect=404, what="(unknown record)")
    w.check("POST", path, path + "?wait=later", body, "application/json", expect=400,
            what="(bad wait)")
    appt = "/v1/appointments"
    w.check("POST", appt, appt, b"{not json", "application/json", expect=400, what="(bad JSON)")
    w.check("POST", appt, appt, json.dumps({"method": "cancel", "args": "00" * 36}).encode(),
            "application/json", expect=401, what="(unsigned)")
    return t1["hash"]


def walk_fhir_create(w):
    """POST /fhir/{type}: its refusals (tests/integration/test_fhir.py creates)."""
    path = "/fhir/{type}"
    w.check("POST", path, "/fhir/Consent", b'{"resourceType": "Consent"}', "application/fhir+json",
            expect=400, what="(no signed transaction)")
    w.check("POST", path, "/fhir/Patient", b'{"resourceType": "Patient"}', "application/fhir+json",
            expect=405, what="(not a created type)")


def main():
    a = mc.args()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="openapi")
    try:
        net.start()
        doctor, patient, record, ids = populate(net)
        status, ctype, raw = fetch(net.url(), "GET", "/v1/openapi.json")
        mc.check(status == 200 and ctype.startswith("application/json"),
                 f"GET /v1/openapi.json answers JSON ({status} {ctype})")
        doc = json.loads(raw)
        mc.check(doc.get("openapi") == "3.0.3", "an OpenAPI 3.0.3 document")
        with open(os.path.join(SRC, "..", "docs", "openapi.json")) as f:
            mc.check(json.load(f) == doc, "the node serves docs/openapi.json as it is in the tree")

        routes, docd = route_table(), documented(doc)
        mc.check(len(routes) >= 20, f"routes.c parsed ({len(routes)} routes)")
        mc.check(routes - docd == set(), f"every route is documented: missing {routes - docd}")
        mc.check(docd - routes == set(), f"every documented route exists: extra {docd - routes}")

        w = Walker(net, doc)
        errs = []
        for name, s in doc["components"]["schemas"].items():
            w.schema.keywords_known(s, name, errs)
        mc.check(not errs, f"the schemas use only keywords the validator checks: {errs[:5]}")

        st = net.http().get("/v1/status")[1]
        tx_hash = next((t["hash"] for h in range(st["height"], 0, -1)
                        for t in net.http().get(f"/v1/blocks/{h}")[1]["txs"]), None)
        path_values = {("/v1/blocks/{height}", "height"): str(st["height"]),
                       ("/v1/txs/{hash}", "hash"): tx_hash,
                       ("/v1/keys/{pk}", "pk"):
                       net.http().get(f"/v1/identities/{patient['id']}")[1]["sign_pk"],
                       ("/v1/events", "patient"): patient["id"]}
        for kind in KINDS:
            path_values[(f"/v1/{kind}/{{id}}", "id")] = ids[kind]
        path_values[("/v1/schedules/{id}", "id")] = ids["schedule"]
        path_values[("/v1/slots/{id}", "id")] = ids["slot"]
        path_values[("/v1/appointments/{id}", "id")] = ids["appointment"]
        path_values[("/v1/appointment-policies/{id}", "id")] = ids["org"]
        path_values[("/v1/patients/{id}/appointments", "id")] = patient["id"]
        path_values.update({
            ("/v1/drugs/{gtin}/{serial}/history", "gtin"): SUPPLY_GTIN,
            ("/v1/drugs/{gtin}/{serial}/history", "serial"): "S1",
            ("/v1/drugs/lots/{gtin}/{lot}/holders", "gtin"): SUPPLY_GTIN,
            ("/v1/drugs/lots/{gtin}/{lot}/holders", "lot"): "L1",
            ("/v1/epcis/events/{id}", "id"): ids["event"]})
        values = {("/v1/appointments", "practitioner"): doctor["id"],
                  "practitioner": doctor["id"],
                  ("/v1/patients/{id}/appointments", "view_key"): ids["view_key"],
                  ("/v1/slots", "status"): "free", ("/v1/appointments", "status"): "booked",
                  ("/v1/appointments", "from"): "1", ("/v1/slots", "from"): "1",
                  ("/v1/patients/{id}/appointments", "from"): "1",
                  ("/v1/drugs/verify", "gtin"): SUPPLY_GTIN, ("/v1/drugs/verify", "serial"): "S1",
                  ("/v1/drugs/verify", "lot"): "L1", ("/v1/drugs/verify", "expiry"): "301231",
                  "limit": "2", "from": "1", "raw": "1", "wait": "commit",
                  "patient": patient["id"], "grantee": doctor["id"], "record": record,
                  "org": ids["org"], ("/v1/state/proof", "key"): "00" + UNKNOWN_ID}
        for kind in KINDS:
            if ids[kind + ".cursor"] is not None:
                values[(f"/v1/{kind}", "cursor")] = ids[kind + ".cursor"]
        # Record content: a record with stored ciphertext, read by its patient.
        rc, out, err = net.run("query", "--node", net.url(), "--key", patient["file"], "--json",
                               f"/v1/records/{ids['stored']}")
        stored_hash = json.loads(out)["content_hash"]
        path_values[("/v1/records/{id}/content", "id")] = ids["stored"]
        path_values[("/v1/blobs/{hash}", "hash")] = stored_hash
        values[("/v1/records/{id}/content", "purpose")] = "export"
        # The FHIR facade's generic routes, walked with a public type.
        path_values[("/fhir/{type}", "type")] = "Organization"
        path_values[("/fhir/{type}/{id}", "type")] = "Organization"
        path_values[("/fhir/{type}/{id}", "id")] = ids["organizations"]
        for path, item in doc["paths"].items():
            for p in item.get("get", {}).get("parameters", []):
                p = w.schema.deref(p)
                if p["in"] == "path":
                    mc.check((path, p["name"]) in path_values,
                             f"an example for {path}'s {{{p['name']}}}")

        walk_reads(w, values, path_values, ids["auditor"]["file"],
                   {"/v1/records/{id}/content": patient["file"]})
        walk_errors(w, path_values, {"id": "zz", "height": "abc", "hash": "12", "pk": "x",
                                     "gtin": "zz"},
                    ids["auditor"]["file"], ids["other"]["file"])
        walk_txs(w, net, doctor, patient, record)
        walk_fhir_create(w)
        walk_capture(w)
        # An upload: unsigned it is refused before anything is stored (the
        # signed upload is what `medchain records put` did above).
        w.check("PUT", "/v1/blobs/{hash}", f"/v1/blobs/{stored_hash}", body=b"ciphertext",
                ctype="application/octet-stream", expect=401, what="(unsigned)")
        for path, item in doc["paths"].items():
            for m in item:
                mc.check((m.upper(), path) in w.exercised, f"{m.upper()} {path} was exercised")
    finally:
        net.close()
    mc.finish()


if __name__ == "__main__":
    main()
