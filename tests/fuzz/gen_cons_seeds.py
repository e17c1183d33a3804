#!/usr/bin/env python3
"""Writes the seed corpora of the consensus fuzz targets.

    tests/fuzz/corpus/fuzz_cons_msg/   votes and proposals (wire encoding)
    tests/fuzz/corpus/fuzz_cons_wal/   signing records, sealed and unsealed
    tests/fuzz/corpus/fuzz_cons_core/  programs for the state machine

The encodings follow src/consensus/consensus.h and docs/consensus.md;
signatures are filler (the decoders do not check them). Run from anywhere;
the files are committed, so this only needs to run again when an encoding
changes.
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
WAL_BYTES = 256 + 2 + 64 * 111 + 32
WAL_BODY = WAL_BYTES - 32


def tagged(tag, data):
    t = tag.encode()
    return hashlib.blake2b(bytes([len(t)]) + t + data, digest_size=32).digest()


def vote(typ, validator, height, rnd, ident, sig=b"\x5a" * 64):
    return struct.pack(">BHQI", typ, validator, height, rnd) + ident + sig


def proposal(proposer, height, rnd, pol, ident, sig=b"\x6b" * 64):
    return struct.pack(">HQII", proposer, height, rnd, pol + 1) + ident + sig


def signed(is_set, height, rnd, pol, ident):
    return struct.pack(">BQII", 1 if is_set else 0, height, rnd, pol + 1) + ident


NIL = bytes(32)
A = b"A" * 32
B = b"B" * 32


def wal_body(height, rnd, locked, locked_id, valid, valid_id, prop, pv, pc, pol):
    body = b"MCW1" + struct.pack(">QII", height, rnd, locked + 1) + locked_id
    body += struct.pack(">I", valid + 1) + valid_id
    body += signed(*prop) + signed(*pv) + signed(*pc)
    body += bytes(256 - len(body))
    body += struct.pack(">H", len(pol)) + b"".join(pol)
    return body


def seal(body):
    full = body + bytes(WAL_BODY - len(body))
    return full + tagged("medchain.cons.wal.v1", full)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def msg_seeds():
    write("fuzz_cons_msg", "vote_prevote", vote(1, 2, 7, 0, A))
    write("fuzz_cons_msg", "vote_precommit_nil", vote(2, 0, 1, 3, NIL))
    write("fuzz_cons_msg", "vote_round_max", vote(2, 63, 2**64 - 1, 2**31 - 1, B))
    write("fuzz_cons_msg", "proposal_fresh", proposal(1, 7, 0, -1, A))
    write("fuzz_cons_msg", "proposal_pol", proposal(3, 9, 4, 2, B))
    write("fuzz_cons_msg", "proposal_pol_max", proposal(0, 1, 2**31 - 1, 2**31 - 2, A))


def wal_seeds():
    fresh = wal_body(0, 0, -1, NIL, -1, NIL, (False, 0, 0, -1, NIL),
                     (False, 0, 0, -1, NIL), (False, 0, 0, -1, NIL), [])
    pol = [vote(1, i, 12, 2, B) for i in range(3)]
    locked = wal_body(12, 3, 1, A, 2, B, (True, 12, 2, 1, B), (True, 12, 3, -1, NIL),
                      (True, 12, 2, -1, B), pol)
    write("fuzz_cons_wal", "sealed_fresh", seal(fresh))
    write("fuzz_cons_wal", "sealed_locked", seal(locked))
    # Unsealed bodies (the target zero-extends and seals them).
    write("fuzz_cons_wal", "body_fresh", fresh)
    write("fuzz_cons_wal", "body_locked", locked)
    full_pol = [vote(1, i, 5, 0, A) for i in range(64)]
    write("fuzz_cons_wal", "body_full_pol",
          wal_body(5, 1, 0, A, 0, A, (False, 0, 0, -1, NIL), (True, 5, 1, -1, NIL),
                   (True, 5, 0, -1, A), full_pol))


# fuzz_cons_core programs: byte 0 this node, byte 1 the powers, then
# operations (see tests/fuzz/fuzz_cons_core.c). Round operand 2 is the
# current round; ids 1, 2, 3 are A, B, C and 0 is nil.
def op_vote(v, typ, rnd=2, ident=1):
    return bytes([0, v, typ, rnd, ident])


def op_prop(rnd=2, pol=0, ident=1, valid=1, proposer=1):
    return bytes([1, proposer, rnd, pol, ident, valid])


def op_timeout(timer, rnd=0):
    return bytes([2, timer, rnd])


VALUE, HAND, HAND_ALL, DROP, RESTART, NEXT, BEHIND = 3, 4, 5, 6, 7, 8, 9


def height_happy(decider_ids=1):
    """Self is validator 0 and not the proposer: prevotes, precommits, decides."""
    p = op_prop(ident=decider_ids) + bytes([HAND_ALL])
    p += op_vote(1, 1, ident=decider_ids) + op_vote(2, 1, ident=decider_ids) + bytes([HAND_ALL])
    p += op_vote(1, 2, ident=decider_ids) + op_vote(2, 2, ident=decider_ids)
    return p


def core_seeds():
    write("fuzz_cons_core", "happy", bytes([0, 0]) + height_happy() + bytes([NEXT]) +
          height_happy(2) + bytes([NEXT]))
    # Self proposes: GET_VALUE, a value, its proposal handed back.
    prop = bytes([1, 0, VALUE, 0, HAND_ALL]) + op_vote(0, 1) + op_vote(2, 1) + bytes([HAND_ALL])
    prop += op_vote(0, 2) + op_vote(2, 2) + bytes([NEXT])
    write("fuzz_cons_core", "proposer", prop)
    # Nil rounds on timeouts, then a lock and a re-proposal.
    nil_round = (op_timeout(0) + bytes([HAND_ALL]) + op_vote(1, 1, ident=0) +
                 op_vote(2, 1, ident=0) + bytes([HAND_ALL]) + op_vote(1, 2, ident=0) +
                 op_vote(2, 2, ident=0) + op_timeout(2))
    lock = (op_prop() + bytes([HAND_ALL]) + op_vote(1, 1) + op_vote(2, 1) + bytes([HAND_ALL]) +
            op_vote(1, 2, ident=0) + op_vote(2, 2, ident=0) + op_timeout(2))
    write("fuzz_cons_core", "timeouts", bytes([0, 0]) + nil_round + nil_round + nil_round)
    write("fuzz_cons_core", "lock_repropose", bytes([0, 0]) + lock + op_prop(pol=1, ident=1) +
          bytes([HAND_ALL]) + lock)
    # Crashes: before handing back, after a lock, and below the record.
    write("fuzz_cons_core", "restart", bytes([2, 0]) + op_prop() + bytes([RESTART, HAND_ALL]) +
          lock + bytes([RESTART, HAND_ALL]) + op_prop(ident=2) + bytes([HAND_ALL]))
    write("fuzz_cons_core", "behind", bytes([0, 0]) + height_happy() + bytes([NEXT]) +
          op_timeout(0) + bytes([HAND_ALL, BEHIND]) + height_happy(2) + bytes([NEXT]))
    # Equivocation, weighted powers (1, 2, 3, 4), a follower.
    write("fuzz_cons_core", "equivocate", bytes([0, 0]) + op_prop() + op_prop(ident=2) +
          op_vote(1, 1) + op_vote(1, 1, ident=2) + op_vote(1, 1, ident=0) + bytes([HAND_ALL]))
    write("fuzz_cons_core", "weighted", bytes([3, 0b11100100]) + height_happy())
    write("fuzz_cons_core", "follower", bytes([4, 0]) + height_happy() + op_vote(3, 2) +
          bytes([NEXT]))
    # A long run (libFuzzer mutates up to the longest seed's length at
    # first): heights with nil rounds, locks, crashes and a lost block.
    run = bytes([0, 0])
    for k in range(6):
        run += nil_round + lock + bytes([RESTART, HAND_ALL]) + op_prop(pol=1) + bytes([HAND_ALL])
        run += op_vote(1, 1) + op_vote(2, 1) + bytes([HAND_ALL]) + op_vote(1, 2) + op_vote(2, 2)
        run += bytes([NEXT, BEHIND if k % 3 == 2 else DROP])
    write("fuzz_cons_core", "long_run", run)


if __name__ == "__main__":
    msg_seeds()
    wal_seeds()
    core_seeds()
