#!/usr/bin/env python3
"""Writes the SYNTHETIC 12-lead ECG test vectors of tests/vectors/ecg.

No real patient data: every beat is a sum of Gaussian P, Q, R, S and T
waves with made-up amplitudes, at 75 beats per minute, 500 Hz, 10 s. Limb
leads follow Einthoven and Goldberger from leads I and II (III = II - I,
aVR = -(I + II) / 2, aVL = I - II / 2, aVF = II - I / 2); the chest leads
have their own amplitudes. Deterministic: run it again and the files come
out byte for byte the same.

    python3 tests/vectors/ecg/gen_ecg.py [OUT_DIR]

writes synth212.hea/.dat (WFDB format 212), synth16.hea/.dat (format 16)
with the same digital samples (gain 200 ADC units per mV, 12-bit ADC), and
synth.csv (time and mV of the first 2 seconds, to keep it small). The
headers are in the canonical form medchain writes, so a WFDB -> medchain
-> WFDB round trip must reproduce them byte for byte.
"""
import math
import os
import sys

FREQ = 500
SECONDS = 10
RR = 0.8  # seconds between beats
GAIN = 200  # ADC units per mV
CSV_SECONDS = 2
LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]

# (centre in s after the beat starts, width in s) of P, Q, R, S, T.
WAVES = [(0.12, 0.025), (0.225, 0.008), (0.25, 0.010), (0.275, 0.009), (0.52, 0.045)]
# Amplitudes in mV of P, Q, R, S, T.
AMPLITUDES = {
    "I": (0.10, -0.05, 0.80, -0.10, 0.25),
    "II": (0.15, -0.08, 1.30, -0.25, 0.35),
    "V1": (0.08, 0.00, 0.30, -1.00, -0.10),
    "V2": (0.10, 0.00, 0.55, -1.30, 0.40),
    "V3": (0.10, -0.05, 0.90, -0.90, 0.45),
    "V4": (0.10, -0.08, 1.40, -0.50, 0.40),
    "V5": (0.10, -0.10, 1.30, -0.25, 0.30),
    "V6": (0.10, -0.10, 1.00, -0.15, 0.25),
}


def beat(amps, t):
    """The value in mV of one lead at t seconds into a beat."""
    return sum(a * math.exp(-((t - c) ** 2) / (2 * w * w)) for a, (c, w) in zip(amps, WAVES))


def lead_mv(name, k):
    t = (k / FREQ) % RR
    wander = 0.03 * math.sin(2 * math.pi * 0.25 * k / FREQ)
    if name in AMPLITUDES:
        return beat(AMPLITUDES[name], t) + wander
    i = beat(AMPLITUDES["I"], t)
    ii = beat(AMPLITUDES["II"], t)
    return {"III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2}[name]


def digital(v):
    return int(math.floor(v * GAIN + 0.5))


def checksum(samples):
    s = sum(samples) & 0xFFFF
    return s - 0x10000 if s >= 0x8000 else s


def signal_212(stream):
    out = bytearray()
    for j in range(0, len(stream), 2):
        a = stream[j] & 0xFFF
        b = stream[j + 1] & 0xFFF if j + 1 < len(stream) else 0
        out += bytes([a & 0xFF, (a >> 8) | ((b >> 4) & 0xF0)])
        if j + 1 < len(stream):
            out.append(b & 0xFF)
    return bytes(out)


def signal_16(stream):
    return b"".join((v & 0xFFFF).to_bytes(2, "little") for v in stream)


def header(name, fmt, leads):
    n = len(leads[0])
    lines = [f"{name} {len(LEADS)} {FREQ} {n}\n"]
    for lead, samples in zip(LEADS, leads):
        lines.append(f"{name}.dat {fmt} {GAIN}(0)/mV 12 0 {samples[0]} {checksum(samples)} 0 {lead}\n")
    return "".join(lines)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    n = FREQ * SECONDS
    leads = [[digital(lead_mv(name, k)) for k in range(n)] for name in LEADS]
    assert all(-2048 <= v <= 2047 for s in leads for v in s)
    stream = [leads[i][k] for k in range(n) for i in range(len(LEADS))]
    for name, fmt, enc in (("synth212", 212, signal_212), ("synth16", 16, signal_16)):
        with open(os.path.join(out, name + ".hea"), "w", newline="\n") as f:
            f.write(header(name, fmt, leads))
        with open(os.path.join(out, name + ".dat"), "wb") as f:
            f.write(enc(stream))
    with open(os.path.join(out, "synth.csv"), "w", newline="\n") as f:
        f.write("time," + ",".join(LEADS) + "\n")
        for k in range(FREQ * CSV_SECONDS):
            vals = ",".join(f"{leads[i][k] / GAIN:.3f}" for i in range(len(LEADS)))
            f.write(f"{k / FREQ:.3f},{vals}\n")


if __name__ == "__main__":
    main()
