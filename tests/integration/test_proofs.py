"""A client checks the chain and a state proof without trusting the node.

Everything a node answers is re-derived here in Python from docs/protocol.md
alone (no medchain code): the tagged BLAKE2b-256 hash, the canonical
encodings, the RFC 6962 transaction root, the compact sparse Merkle tree of
the state and Ed25519 for the commit signatures. Trust starts from the
genesis file on disk (HOME/genesis.bin):

1. the genesis hash is the parent of block 1, and its validator set is the
   one every header's validators_hash names and every commit is signed by;
2. for every block, from the raw bytes (?raw=1): the header parses per the
   grammar, its hash is H("medchain.block.v1", header), the JSON view says
   the same, prev_hash and last_commit_hash link to the parent, the tx ids
   and tx_root are right, the results hash is right, and the commit is for
   this block and signed by more than two thirds of the power;
3. GET /v1/state/proof for an identity's key ('I' || id) proves inclusion of
   exactly the identity the API shows, against the root the node returns
   and against the state_root in that height's block header; absent keys
   prove exclusion (ending at an empty subtree and at another key's leaf);
   every tampering (a flipped sibling, a different value, a removed
   sibling, a forged "other leaf", an absence claim for a present key, a
   stale proof after the state moved on) is rejected by the verifier.
"""

import hashlib
import os
import secrets
import struct
import time

import mc

HOSP_A = "riverside-general-hospital"
HOSP_B = "lakeside-university-hospital"
ZERO = bytes(32)


# ---- hashing --------------------------------------------------------------------------------

def H(tag, data):
    t = tag.encode()
    return hashlib.blake2b(bytes([len(t)]) + t + data, digest_size=32).digest()


# ---- the compact sparse Merkle tree (docs/protocol.md, "The state tree") ---------------------

def smt_key(key):
    return H("medchain.smt.key.v1", key)


def smt_value(value):
    return H("medchain.smt.value.v1", value)


def smt_leaf(k, vh):
    return H("medchain.smt.leaf.v1", k + vh)


def smt_node(left, right):
    return H("medchain.smt.node.v1", left + right)


def bit(k, i):
    return (k[i // 8] >> (7 - i % 8)) & 1


def smt_root(entries):
    """The root of {key: value} computed from scratch (for the self test)."""
    items = sorted((smt_key(k), smt_value(v)) for k, v in entries.items())

    def sub(items, d):
        if not items:
            return ZERO
        if len(items) == 1:
            return smt_leaf(*items[0])
        left = [e for e in items if bit(e[0], d) == 0]
        right = [e for e in items if bit(e[0], d) == 1]
        return smt_node(sub(left, d + 1), sub(right, d + 1))

    return sub(items, 0)


def smt_verify(root, key, value, proof):
    """True when `proof` shows key -> value (value not None) or key absent
    (value None) under root. proof = {"depth", "siblings" (bytes), "other_leaf"
    (None or (key_hash, value_hash))}. Follows the rules of docs/protocol.md."""
    depth = proof["depth"]
    sibs = proof["siblings"]
    other = proof["other_leaf"]
    if not isinstance(depth, int) or depth < 0 or depth > 256 or len(sibs) != depth:
        return False
    if any(len(s) != 32 for s in sibs):
        return False
    if depth > 0 and sibs[depth - 1] == ZERO:
        return False  # the leaf would have moved up
    k = smt_key(key)
    if value is not None:
        if other is not None:
            return False  # an inclusion path ends at the key's own leaf
        h = smt_leaf(k, smt_value(value))
    elif other is None:
        h = ZERO
    else:
        okh, ovh = other
        if okh == k or any(bit(okh, i) != bit(k, i) for i in range(depth)):
            return False
        h = smt_leaf(okh, ovh)
    for i in range(depth, 0, -1):
        s = sibs[i - 1]
        h = smt_node(s, h) if bit(k, i - 1) else smt_node(h, s)
    return h == root


def proof_from_json(j):
    other = j["other_leaf"]
    return {"depth": j["depth"], "siblings": [bytes.fromhex(s) for s in j["siblings"]],
            "other_leaf": None if other is None else (bytes.fromhex(other["key_hash"]),
                                                      bytes.fromhex(other["value_hash"]))}


def smt_self_test():
    """The worked example of docs/protocol.md, so a wrong verifier cannot pass."""
    e = {b"a": b"1", b"b": b"2", b"c": b"3"}
    root = smt_root(e)
    mc.check(root.hex() == "dc33622b0cfcec62d782df6f2f8f3f1271166ecb5c71119030a64d6e5c69fd74",
             "self test: the documented root of {a:1,b:2,c:3}")
    mc.check(smt_root({}) == ZERO, "self test: the empty tree's root is zeros")
    mc.check(smt_root({b"a": b"1", b"b": b"2"}).hex().startswith("5aee3911"),
             "self test: the documented root of {a:1,b:2}")
    sibs = [smt_leaf(smt_key(b"b"), smt_value(b"2")), ZERO,
            smt_leaf(smt_key(b"c"), smt_value(b"3"))]
    pa = {"depth": 3, "siblings": sibs, "other_leaf": None}
    mc.check(smt_verify(root, b"a", b"1", pa), "self test: the documented proof of a verifies")
    mc.check(not smt_verify(root, b"a", b"2", pa), "self test: a wrong value fails")
    pd = {"depth": 3, "siblings": sibs,
          "other_leaf": (smt_key(b"a"), smt_value(b"1"))}
    mc.check(smt_verify(root, b"d", None, pd), "self test: the documented absence of d verifies")
    mc.check(not smt_verify(root, b"a", None, pd), "self test: absence of a present key fails")


# ---- Ed25519 verification (RFC 8032 §5.1.7, cofactorless, strict) ----------------------------

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493
ED_D = -121665 * pow(121666, ED_P - 2, ED_P) % ED_P
ED_I = pow(2, (ED_P - 1) // 4, ED_P)


def _ed_add(P, Q):
    x1, y1, z1, t1 = P
    x2, y2, z2, t2 = Q
    a = (y1 - x1) * (y2 - x2) % ED_P
    b = (y1 + x1) * (y2 + x2) % ED_P
    c = 2 * t1 * t2 * ED_D % ED_P
    d = 2 * z1 * z2 % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def _ed_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = _ed_add(Q, P)
        P = _ed_add(P, P)
        s >>= 1
    return Q


def _ed_eq(P, Q):
    return ((P[0] * Q[2] - Q[0] * P[2]) % ED_P == 0 and
            (P[1] * Q[2] - Q[1] * P[2]) % ED_P == 0)


def _ed_decode(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= ED_P:
        return None
    x2 = (y * y - 1) * pow(ED_D * y * y + 1, ED_P - 2, ED_P) % ED_P
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P != 0:
        x = x * ED_I % ED_P
    if (x * x - x2) % ED_P != 0:
        return None
    if x == 0 and sign:
        return None
    if x & 1 != sign:
        x = ED_P - x
    return (x, y, 1, x * y % ED_P)


_ED_GY = 4 * pow(5, ED_P - 2, ED_P) % ED_P
ED_B = _ed_decode(_ED_GY.to_bytes(32, "little"))


def ed25519_verify(pk, msg, sig):
    if len(sig) != 64:
        return False
    A = _ed_decode(pk)
    R = _ed_decode(sig[:32])
    S = int.from_bytes(sig[32:], "little")
    if A is None or R is None or S >= ED_L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + pk + msg).digest(), "little") % ED_L
    return _ed_eq(_ed_mul(S, ED_B), _ed_add(R, _ed_mul(h, A)))


# ---- the canonical encoding ----------------------------------------------------------------

class Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def take(self, n):
        if self.at + n > len(self.data):
            raise ValueError("short input")
        b = self.data[self.at:self.at + n]
        self.at += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def var(self, limit):
        n = self.u32()
        if n > limit:
            raise ValueError("over its limit")
        return self.take(n)

    def id(self):
        return self.take(32)

    def done(self):
        return self.at == len(self.data)


HEADER_IDS = ("prev_hash", "last_commit_hash", "tx_root", "results_hash", "state_root",
              "validators_hash", "proposer")


def parse_block(raw):
    """header | u32 n | n x var<9216> tx | commit, as in docs/protocol.md."""
    r = Reader(raw)
    h = {}
    start = r.at
    h["version"] = r.u8()
    h["chain_id"] = r.var(32).decode()
    h["height"] = r.u64()
    h["time_ms"] = r.u64()
    for name in HEADER_IDS:
        h[name] = r.id()
    h["tx_count"] = r.u32()
    header_bytes = raw[start:r.at]
    n = r.u32()
    txs = [r.var(9216) for _ in range(n)]
    cstart = r.at
    c = {"height": r.u64(), "round": r.u32(), "block_hash": r.id(), "sigs": []}
    for _ in range(r.u16()):
        c["sigs"].append((r.u16(), r.take(64)))
    commit_bytes = raw[cstart:r.at]
    if not r.done():
        raise ValueError("trailing bytes")
    return h, header_bytes, n, txs, c, commit_bytes


def parse_genesis(raw):
    r = Reader(raw)
    g = {"version": r.u8(), "chain_id": r.var(32).decode(), "time_ms": r.u64(), "validators": []}
    for _ in range(r.u16()):
        g["validators"].append((r.take(32), r.u64()))
    g["members"] = []
    for _ in range(r.u16()):
        g["members"].append((r.var(128).decode(), r.var(32).decode(), r.take(32), r.take(32)))
    g["complete"] = r.done()
    return g


def parse_identity(value):
    """An identity entry: the record under the identity schema (schemas.c order)."""
    r = Reader(value)
    ident = {"id": r.id().hex(), "kind": r.var(16).decode(), "org": r.id().hex(),
             "sign_pk": r.take(32).hex(), "box_pk": r.take(32).hex(),
             "status": r.var(16).decode(), "licence_hash": r.id().hex(),
             "role": r.var(64).decode(), "guardians": [r.id().hex() for _ in range(r.u16())],
             "created_height": r.u64()}
    ident["_complete"] = r.done()
    return ident


def merkle_root(leaves):
    """RFC 6962 §2.1 with medchain's tags; zero leaves give 32 zero bytes."""
    if not leaves:
        return ZERO
    if len(leaves) == 1:
        return H("medchain.leaf.v1", leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return H("medchain.node.v1", merkle_root(leaves[:k]) + merkle_root(leaves[k:]))


def vote_sighash(chain_id, height, rnd, block_hash):
    c = chain_id.encode()
    msg = b"\x02" + struct.pack(">I", len(c)) + c + struct.pack(">QI", height, rnd) + block_hash
    return H("medchain.vote.v1", msg)


# ---- the checks -----------------------------------------------------------------------------

def populate(net):
    """Some identities, consents and a record, so the tree has depth."""
    admin_a = net.admin_key(HOSP_A)
    admin_b = net.admin_key(HOSP_B)
    doctor = net.keygen("doctor")
    net.tx_ok(admin_a, "identity.register", "kind=practitioner", f"sign_pk=@{doctor['file']}",
              f"box_pk=@{doctor['file']}", f"licence_hash={secrets.token_hex(32)}",
              "role=cardiology")
    patients = []
    for i in range(6):
        p = net.keygen(f"patient{i}")
        net.tx_ok(admin_a if i % 2 == 0 else admin_b, "identity.enrol_patient",
                  f"sign_pk=@{p['file']}", f"box_pk=@{p['file']}")
        patients.append(p)
    for p in patients[:3]:
        net.tx_ok(p["file"], "consent.grant", f"patient={p['id']}", f"grantee={doctor['id']}",
                  "scope=category", "category=cardiology", "purpose=treatment",
                  "expires_ms=4102444800000")
    p = patients[0]
    keys = ",".join(f"{x}:{secrets.token_hex(80)}" for x in (p["id"], doctor["id"]))
    net.tx_ok(doctor["file"], "records.anchor", f"record={secrets.token_hex(32)}",
              f"patient={p['id']}", "category=cardiology", "fhir_type=Observation",
              f"content_hash={secrets.token_hex(32)}", "size=300", f"keys={keys}")
    # A failed call lands in no block (refused at the door); a block with
    # several transactions comes from submitting without waiting.
    hashes = []
    for i in range(3):
        rc, doc, err = net.tx(patients[i + 3]["file"], "consent.grant",
                              f"patient={patients[i + 3]['id']}", f"grantee={doctor['id']}",
                              "scope=category", "category=lab", "purpose=treatment",
                              "expires_ms=4102444800000", extra=("--no-wait",))
        mc.check(rc == 0 and doc and "hash" in doc, f"submitted without waiting ({err.strip()})")
        if doc and "hash" in doc:
            hashes.append(doc["hash"])
    http = net.http()
    for h in hashes:
        wait_committed(http, h)
    return doctor, patients


def wait_committed(http, h, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, body = http.get(f"/v1/txs/{h}")
        if code == 200 and body.get("status") == "committed":
            return True
        time.sleep(0.05)
    raise RuntimeError(f"tx {h} did not commit")


def check_chain(net):
    http = net.http()
    with open(os.path.join(net.home(0), "genesis.bin"), "rb") as f:
        graw = f.read()
    g = parse_genesis(graw)
    ghash = H("medchain.genesis.v1", graw)
    code, st = http.get("/v1/status")
    mc.check(g["complete"] and g["version"] == 1, "genesis.bin parses completely per the grammar")
    mc.check(st["genesis_hash"] == ghash.hex(), "the node's genesis hash is the file's hash")
    vals = g["validators"]
    vhash = H("medchain.validators.v1", struct.pack(">H", len(vals)) +
              b"".join(pk + struct.pack(">Q", pw) for pk, pw in vals))
    mc.check([v["pub_key"] for v in st["validators"]] == [pk.hex() for pk, _ in vals],
             "the status lists the genesis validators")
    total = sum(pw for _, pw in vals)

    tip = st["height"]
    mc.check(tip >= 5, f"a chain of several blocks to check ({tip})")
    prev_hash = ghash
    prev_commit = None
    prev_time = g["time_ms"]
    results_checked = 0
    problems = {"hash": [], "json": [], "link": [], "time": [], "txids": [], "txroot": [],
                "results": [], "validators": [], "commit": [], "sigs": [], "parse": [], "txsig": []}
    for height in range(1, tip + 1):
        code, blk = http.get(f"/v1/blocks/{height}?raw=1")
        if code != 200 or "raw" not in blk:
            problems["parse"].append(height)
            continue
        raw = bytes.fromhex(blk["raw"])
        try:
            h, hdr, n, txs, c, cbytes = parse_block(raw)
        except ValueError:
            problems["parse"].append(height)
            continue
        bhash = H("medchain.block.v1", hdr)
        if bhash.hex() != blk["hash"]:
            problems["hash"].append(height)
        same = (h["height"] == height == blk["height"] and h["chain_id"] == blk["chain_id"]
                and h["time_ms"] == blk["time_ms"] and h["tx_count"] == n == blk["tx_count"]
                and all(h[k].hex() == blk[k] for k in HEADER_IDS))
        if not same:
            problems["json"].append(height)
        if h["prev_hash"] != prev_hash:
            problems["link"].append(height)
        want_lc = ZERO if prev_commit is None else H("medchain.commit.v1", prev_commit)
        if h["last_commit_hash"] != want_lc:
            problems["link"].append(height)
        if h["time_ms"] <= prev_time:
            problems["time"].append(height)
        ids = [H("medchain.txid.v1", t) for t in txs]
        for t in txs:
            # tx = u8 1 | str chain_id | id sender | pubkey | ... | sig(64)
            pk_at = 1 + 4 + struct.unpack(">I", t[1:5])[0] + 32
            pk = t[pk_at:pk_at + 32]
            if not ed25519_verify(pk, H("medchain.tx.v1", t[:-64]), t[-64:]):
                problems["txsig"].append(height)
        if [i.hex() for i in ids] != [t["hash"] for t in blk["txs"]]:
            problems["txids"].append(height)
        if merkle_root(ids) != h["tx_root"]:
            problems["txroot"].append(height)
        results = [t["result"] for t in blk["txs"]]
        if all(r == "OK" for r in results):  # OK is code 0 in ERR_TABLE
            results_checked += 1
            rh = H("medchain.results.v1", struct.pack(">I", n) + b"\x00\x00" * n)
            if rh != h["results_hash"]:
                problems["results"].append(height)
        if h["validators_hash"] != vhash:
            problems["validators"].append(height)
        if c["height"] != height or c["block_hash"] != bhash:
            problems["commit"].append(height)
        msg = vote_sighash(h["chain_id"], height, c["round"], bhash)
        signed = 0
        last = -1
        for idx, sig in c["sigs"]:
            if idx <= last or idx >= len(vals) or not ed25519_verify(vals[idx][0], msg, sig):
                signed = -1
                break
            last = idx
            signed += vals[idx][1]
        if signed < 0 or 3 * signed <= 2 * total:
            problems["sigs"].append(height)
        prev_hash, prev_commit, prev_time = bhash, cbytes, h["time_ms"]
    mc.check(not problems["parse"], f"every raw block parses per the grammar {problems['parse']}")
    mc.check(not problems["hash"],
             f"block hash = H(medchain.block.v1, header) for every block {problems['hash']}")
    mc.check(not problems["json"], f"the JSON header matches the raw header {problems['json']}")
    mc.check(not problems["link"],
             f"prev_hash and last_commit_hash link every block to its parent {problems['link']}")
    mc.check(not problems["time"], f"block times increase {problems['time']}")
    mc.check(not problems["txids"], f"tx ids = H(medchain.txid.v1, tx) {problems['txids']}")
    mc.check(not problems["txsig"], f"every tx signature verifies {problems['txsig']}")
    mc.check(not problems["txroot"], f"tx_root is the RFC 6962 root {problems['txroot']}")
    mc.check(not problems["results"] and results_checked == tip,
             f"results_hash matches on all {results_checked}/{tip} blocks {problems['results']}")
    mc.check(not problems["validators"],
             f"validators_hash names the genesis set {problems['validators']}")
    mc.check(not problems["commit"], f"each commit is for its block {problems['commit']}")
    mc.check(not problems["sigs"],
             f"each commit carries valid Ed25519 signatures of > 2/3 power {problems['sigs']}")
    mc.check(prev_hash.hex() == st["last_block_hash"],
             "the chain walked from genesis ends at the status's last block hash")

    # The Merkle root itself against odd shapes (3, 5, 7 leaves) is exercised
    # through the chain's blocks; pin the documented empty root too.
    mc.check(merkle_root([]) == ZERO, "zero transactions give a zero tx_root")

    # Tampering with a raw block is detected by these checks.
    code, blk = http.get(f"/v1/blocks/{tip}?raw=1")
    raw = bytearray(bytes.fromhex(blk["raw"]))
    _, hdr, _, _, _, _ = parse_block(bytes(raw))
    at = len(hdr) - 4 - 3 * 32  # state_root | validators_hash | proposer | u32 tx_count
    raw[at] ^= 1
    _, hdr2, _, _, c, _ = parse_block(bytes(raw))
    mc.check(H("medchain.block.v1", hdr2).hex() != blk["hash"],
             "a flipped header bit changes the block hash")
    msg = vote_sighash(st["chain_id"], tip, c["round"], bytes.fromhex(blk["hash"]))
    idx, sig = c["sigs"][0]
    mc.check(ed25519_verify(vals[idx][0], msg, sig), "the tip's commit signature verifies")
    mc.check(not ed25519_verify(vals[idx][0], msg, sig[:5] + bytes([sig[5] ^ 1]) + sig[6:]),
             "a flipped signature bit fails the Python Ed25519 check")
    mc.check(not ed25519_verify(vals[idx][0], H("medchain.block.v1", hdr2), sig),
             "the signature does not cover another message")
    return ghash


def get_proof(http, key):
    code, body = http.get(f"/v1/state/proof?key={key.hex()}")
    if code != 200:
        raise RuntimeError(f"proof of {key.hex()}: {code} {body}")
    return body


def check_proofs(net, patients):
    http = net.http()
    p = patients[1]
    key = b"I" + bytes.fromhex(p["id"])
    body = get_proof(http, key)
    root = bytes.fromhex(body["root"])
    mc.check(body["key"] == key.hex(), "the proof names the key asked for")
    mc.check(body["value"] is not None, "the identity's key is present")
    value = bytes.fromhex(body["value"] or "")
    proof = proof_from_json(body["proof"])
    mc.check(proof["other_leaf"] is None and proof["depth"] >= 1,
             f"an inclusion proof of depth {proof['depth']}")
    mc.check(smt_verify(root, key, value, proof),
             "inclusion proof verifies against the returned root")
    code, blk = http.get(f"/v1/blocks/{body['height']}")
    header_root = bytes.fromhex(blk["state_root"])
    mc.check(header_root == root, "the returned root is the state_root of that height's header")
    mc.check(smt_verify(header_root, key, value, proof),
             "inclusion proof verifies against the block header's state_root")

    ident = parse_identity(value)
    code, api_ident = http.get(f"/v1/identities/{p['id']}")
    mc.check(ident["_complete"] and ident["id"] == p["id"] and ident["sign_pk"] == p["sign_pk"]
             and ident["box_pk"] == p["box_pk"] and ident["kind"] == "patient",
             "the proven value decodes to this patient's identity with its keys")
    mc.check(all(ident[k] == api_ident[k] for k in
                 ("id", "kind", "org", "status", "licence_hash", "role", "guardians",
                  "created_height")),
             "the proven identity equals what /v1/identities shows")

    # Uppercase hex is accepted and echoed in lower case.
    code, upper = http.get(f"/v1/state/proof?key={key.hex().upper()}")
    mc.check(code == 200 and upper["key"] == key.hex() and upper["root"] == body["root"],
             "uppercase hex key accepted, echoed lower case")

    # Tampering.
    for i in sorted({0, proof["depth"] // 2, proof["depth"] - 1}):
        bad = dict(proof, siblings=list(proof["siblings"]))
        s = bytearray(bad["siblings"][i])
        s[secrets.randbelow(32)] ^= 1 << secrets.randbelow(8)
        bad["siblings"][i] = bytes(s)
        mc.check(not smt_verify(root, key, value, bad), f"a flipped bit in sibling {i} fails")
    other_value = bytearray(value)
    other_value[-1] ^= 1  # created_height + 1: a different, well-formed entry
    mc.check(not smt_verify(root, key, bytes(other_value), proof), "a different value fails")
    mc.check(not smt_verify(root, key, value + b"\x00", proof), "a longer value fails")
    mc.check(not smt_verify(root, key, None, proof), "claiming the present key absent fails")
    mc.check(not smt_verify(root, b"I" + bytes.fromhex(patients[2]["id"]), value, proof),
             "the proof does not prove another key")
    if proof["depth"] > 1:
        short = dict(proof, depth=proof["depth"] - 1, siblings=proof["siblings"][:-1])
        mc.check(not smt_verify(root, key, value, short), "a removed sibling fails")
    longer = dict(proof, depth=proof["depth"] + 1, siblings=proof["siblings"] + [ZERO])
    mc.check(not smt_verify(root, key, value, longer), "an extra empty sibling fails")
    huge = dict(proof, depth=257, siblings=proof["siblings"] + [b"\x01" * 32] * (257 - proof["depth"]))
    mc.check(not smt_verify(root, key, value, huge), "depth over 256 fails")
    mc.check(not smt_verify(bytes(32), key, value, proof), "a different root fails")

    # Absent keys: exclusion proofs, both endings.
    endings = {"empty": 0, "other": 0}
    bad_excl = []
    for _ in range(64):
        absent = b"I" + secrets.token_bytes(32)
        b = get_proof(http, absent)
        pr = proof_from_json(b["proof"])
        r = bytes.fromhex(b["root"])
        if b["value"] is not None or not smt_verify(r, absent, None, pr):
            bad_excl.append(absent.hex())
            continue
        if smt_verify(r, absent, b"\x00", pr):
            bad_excl.append(absent.hex())
        if pr["other_leaf"] is None:
            endings["empty"] += 1
        else:
            endings["other"] += 1
            okh, ovh = pr["other_leaf"]
            forged = dict(pr, other_leaf=(smt_key(absent), ovh))
            if smt_verify(r, absent, None, forged):
                bad_excl.append("forged other leaf " + absent.hex())
            flipped = dict(pr, other_leaf=(okh, bytes([ovh[0] ^ 1]) + ovh[1:]))
            if smt_verify(r, absent, None, flipped):
                bad_excl.append("flipped other value " + absent.hex())
            if smt_verify(r, absent, None, dict(pr, other_leaf=None)):
                bad_excl.append("dropped other leaf " + absent.hex())
        if endings["empty"] >= 2 and endings["other"] >= 4:
            break
    mc.check(not bad_excl, f"exclusion proofs verify and forged ones fail {bad_excl[:3]}")
    mc.check(endings["other"] >= 1, f"exclusion ending at another key's leaf seen {endings}")
    mc.check(endings["empty"] >= 1, f"exclusion ending at an empty subtree seen {endings}")

    # An unknown identity id is absent from the tree, and the API agrees.
    ghost = secrets.token_bytes(32)
    b = get_proof(http, b"I" + ghost)
    code, _ = http.get(f"/v1/identities/{ghost.hex()}")
    mc.check(code == 404 and b["value"] is None and
             smt_verify(bytes.fromhex(b["root"]), b"I" + ghost, None, proof_from_json(b["proof"])),
             "an unknown identity: 404 from the API and a valid exclusion proof")

    # Bad keys are refused.
    for bad in ("", "zz", "abc", "00" * 129):
        code, e = http.get(f"/v1/state/proof?key={bad}")
        mc.check(code == 400 and e.get("error", {}).get("code") == "BAD_REQUEST",
                 f"proof key {bad[:8]!r}... (len {len(bad)}) refused with BAD_REQUEST")
    code, e = http.get("/v1/state/proof")
    mc.check(code == 400, "proof without a key refused")

    # The state moves on: the old proof no longer matches the new root, a
    # fresh one does, and the changed identity's new value is proven.
    net.tx_ok(p["file"], "identity.set_guardian", f"guardian={patients[0]['id']}", "active=true")
    fresh = get_proof(http, key)
    new_root = bytes.fromhex(fresh["root"])
    mc.check(new_root != root and not smt_verify(new_root, key, value, proof),
             "a stale proof fails against the new root")
    new_value = bytes.fromhex(fresh["value"])
    mc.check(smt_verify(new_root, key, new_value, proof_from_json(fresh["proof"])),
             "the fresh proof verifies")
    mc.check(parse_identity(new_value)["guardians"] == [patients[0]["id"]],
             "the proven new value carries the guardian")
    code, blk = http.get(f"/v1/blocks/{fresh['height']}")
    mc.check(blk["state_root"] == fresh["root"], "the fresh root is in the new header")


def main():
    a = mc.args()
    smt_self_test()
    net = mc.Net(a.bin, nodes=1, keep=a.keep, name="proofs")
    try:
        net.start()
        _, patients = populate(net)
        check_chain(net)
        check_proofs(net, patients)
        check_chain(net)  # again, over the blocks added by the proofs' checks
    finally:
        mc.close_safely(net)
    mc.finish()


if __name__ == "__main__":
    main()
