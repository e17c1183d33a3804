"""`medchain ecg convert` and `ecg export` as a user runs them (docs/ecg.md).

No node is started: the commands are file conversions. The synthetic
12-lead vectors (tests/vectors/ecg) go WFDB -> Observation -> WFDB and come
back byte for byte in format 212; the CSV becomes an Observation whose
samples match the WFDB one; bad input fails with its stable code on stderr,
a non-zero exit and no output file.
"""

import json
import os
import shutil
import subprocess
import tempfile

import mc

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "ecg")


def run(binary, *argv):
    p = subprocess.run([binary, *argv], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def same_file(a, b):
    with open(a, "rb") as f, open(b, "rb") as g:
        return f.read() == g.read()


def check_roundtrip(binary, d):
    obs = os.path.join(d, "obs.json")
    rc, out, err = run(binary, "ecg", "convert", "--in", os.path.join(VECTORS, "synth212.hea"),
                       "--patient", "p-1", "--effective", "2024-05-01T10:00:00Z", "--out", obs,
                       "--json")
    mc.check(rc == 0, f"convert synth212.hea exits 0 ({err.strip()})")
    summary = json.loads(out)
    mc.check(summary["leads"][:3] == ["I", "II", "III"] and summary["samples"] == 5000,
             "the summary names the leads and counts the samples")
    doc = json.load(open(obs))
    mc.check(doc["subject"]["reference"] == "Patient/p-1", "the subject is the given patient")
    mc.check(doc["code"]["coding"][0]["code"] == "11524-6", "the code is LOINC 11524-6")
    mc.check(len(doc["component"]) == 12, "one component per lead")
    rc, out, err = run(binary, "ecg", "export", "--in", obs, "--out-dir", os.path.join(d, "w"),
                       "--format", "212", "--json")
    mc.check(rc == 0, f"export --format 212 exits 0 ({err.strip()})")
    for ext in ("hea", "dat"):
        mc.check(same_file(os.path.join(d, "w", "synth212." + ext),
                           os.path.join(VECTORS, "synth212." + ext)),
                 f"WFDB -> FHIR -> WFDB gives back synth212.{ext} byte for byte")
    return doc


def check_csv(binary, d, doc212):
    obs = os.path.join(d, "csv.json")
    rc, _, err = run(binary, "ecg", "convert", "--in", os.path.join(VECTORS, "synth.csv"),
                     "--gain", "200", "--out", obs)
    mc.check(rc == 0, f"convert synth.csv exits 0 ({err.strip()})")
    doc = json.load(open(obs))
    for a, b in zip(doc["component"], doc212["component"]):
        n = len(a["valueSampledData"]["data"].split())
        same = a["valueSampledData"]["data"].split() == b["valueSampledData"]["data"].split()[:n]
        mc.check(n == 1000 and same, f"CSV lead {a['code']['text']} has the WFDB samples")
    rc, _, err = run(binary, "ecg", "export", "--in", obs, "--out-dir", os.path.join(d, "c"))
    mc.check(rc == 0 and os.path.getsize(os.path.join(d, "c", "synth.dat")) == 12 * 1000 * 2,
             "the CSV record exports in format 16")


def expect_fail(binary, d, what, code, argv, exit_code=1):
    out_files = set(os.listdir(d))
    rc, _, err = run(binary, *argv)
    mc.check(rc == exit_code and f"medchain: {code}:" in err, f"{what}: exit {rc}, {err.strip()}")
    mc.check(set(os.listdir(d)) == out_files, f"{what}: no file written")
    return err


def check_refusals(binary, d):
    bad = os.path.join(d, "bad")
    os.mkdir(bad)
    shutil.copy(os.path.join(VECTORS, "synth212.hea"), bad)
    with open(os.path.join(VECTORS, "synth212.dat"), "rb") as f:
        dat = bytearray(f.read())
    dat[3000] ^= 0x01
    with open(os.path.join(bad, "synth212.dat"), "wb") as f:
        f.write(dat)
    out = os.path.join(d, "never.json")
    expect_fail(binary, d, "a tampered signal file", "ECG_CHECKSUM",
                ["ecg", "convert", "--in", os.path.join(bad, "synth212.hea"), "--out", out])
    with open(os.path.join(bad, "synth212.dat"), "wb") as f:
        f.write(dat[:-1])
    expect_fail(binary, d, "a truncated signal file", "ECG_MALFORMED",
                ["ecg", "convert", "--in", os.path.join(bad, "synth212.hea"), "--out", out])
    with open(os.path.join(bad, "x.hea"), "w") as f:
        f.write("x 1 500\n../synth212.dat 212\n")
    expect_fail(binary, d, "a signal file outside the header's directory", "ECG_MALFORMED",
                ["ecg", "convert", "--in", os.path.join(bad, "x.hea"), "--out", out])
    with open(os.path.join(bad, "y.hea"), "w") as f:
        f.write("y 1 500\ny.dat 310\n")
    expect_fail(binary, d, "format 310", "ECG_UNSUPPORTED",
                ["ecg", "convert", "--in", os.path.join(bad, "y.hea"), "--out", out])
    with open(os.path.join(bad, "big.csv"), "w") as f:
        f.write("I\n5\n")
    obs16 = os.path.join(bad, "big.json")
    rc, _, _ = run(binary, "ecg", "convert", "--in", os.path.join(bad, "big.csv"), "--freq", "500",
                   "--out", obs16)
    mc.check(rc == 0, "a 5 mV CSV converts (5000 units at the default gain)")
    expect_fail(binary, d, "5000 units in format 212", "ECG_RANGE",
                ["ecg", "export", "--in", obs16, "--out-dir", os.path.join(d, "never"),
                 "--format", "212"])
    expect_fail(binary, d, "a CSV without a frequency", "BAD_ARGS",
                ["ecg", "convert", "--in", os.path.join(bad, "big.csv"), "--out", out])
    with open(os.path.join(bad, "notecg.json"), "w") as f:
        json.dump({"resourceType": "Observation", "code": {"coding": [
            {"system": "http://loinc.org", "code": "8867-4"}]}, "component": []}, f)
    expect_fail(binary, d, "an Observation that is no ECG", "ECG_UNSUPPORTED",
                ["ecg", "export", "--in", os.path.join(bad, "notecg.json"), "--out-dir",
                 os.path.join(d, "never")])
    expect_fail(binary, d, "a missing --out", "USAGE",
                ["ecg", "convert", "--in", os.path.join(bad, "big.csv")], exit_code=2)


def main():
    a = mc.args()
    d = tempfile.mkdtemp(prefix="medchain-ecg-")
    try:
        doc = check_roundtrip(a.bin, d)
        check_csv(a.bin, d, doc)
        check_refusals(a.bin, d)
    finally:
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    mc.finish()


if __name__ == "__main__":
    main()
