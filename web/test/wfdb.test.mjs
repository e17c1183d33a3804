// The portal's WFDB export (web/assets/js/wfdb.js):
//
//   node web/test/wfdb.test.mjs [--bin path/to/medchain]
//
// A small Observation becomes the header and the interleaved 16-bit
// signal file expected, byte for byte; points that do not fit 16 bits,
// leads of different lengths or periods are refused. With --bin, the
// synthetic 12-lead vectors converted by `medchain ecg convert` export in
// JavaScript to exactly what `medchain ecg export --format 16` writes (the
// same header, and synth16.dat itself). Run by CTest (web/wfdb).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";

import { EcgError } from "../assets/js/ecgplot.js";
import { observationToWfdb } from "../assets/js/wfdb.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = path.join(here, "..", "..", "tests", "vectors", "ecg");
const binArg = process.argv.indexOf("--bin");
const BIN = binArg > 0 ? process.argv[binArg + 1] : null;

const MDC = "urn:oid:2.16.840.1.113883.6.24";
const comp = (code, text, data, extra = {}) => ({
  code: { coding: [{ system: MDC, code }], text },
  valueSampledData: {
    origin: { value: 0, unit: "mV", system: "http://unitsofmeasure.org", code: "mV" },
    period: 2,
    factor: 0.005,
    dimensions: 1,
    data,
    ...extra,
  },
});
const obs = (components, name = "rec1") => ({
  resourceType: "Observation",
  identifier: [{ system: "urn:medchain:ecg-record", value: name }],
  component: components,
});

test("two leads: header and interleaved little-endian samples", () => {
  const w = observationToWfdb(
    obs([comp("131329", "I", "1 -2 32767"), comp("131330", "II", "-32768 0 5")]),
  );
  assert.equal(w.name, "rec1");
  assert.equal(
    w.hea,
    "rec1 2 500 3\n" +
      "rec1.dat 16 200(0)/mV 16 0 1 32766 0 I\n" +
      "rec1.dat 16 200(0)/mV 16 0 -32768 -32763 0 II\n",
  );
  const want = [1, -32768, -2, 0, 32767, 5];
  const view = new DataView(w.dat.buffer);
  assert.equal(w.dat.length, 12);
  want.forEach((v, i) => assert.equal(view.getInt16(2 * i, true), v));
});

test("baseline from origin, gain from factor, frequency from period", () => {
  const c = comp("131329", "I", "10 20", {
    origin: { value: -0.5, unit: "mV", system: "http://unitsofmeasure.org", code: "mV" },
    factor: 0.001,
    period: 1000 / 360,
  });
  const w = observationToWfdb(obs([c]));
  assert.equal(w.hea.split("\n")[0], "rec1 1 360 2");
  assert.equal(w.hea.split("\n")[1], "rec1.dat 16 1000(500)/mV 16 0 10 30 0 I");
});

test("refusals", () => {
  assert.throws(() => observationToWfdb(obs([comp("131329", "I", "1 40000")])), EcgError);
  assert.throws(() => observationToWfdb(obs([comp("131329", "I", "1 2.5")])), EcgError);
  assert.throws(
    () => observationToWfdb(obs([comp("131329", "I", "1 2"), comp("131330", "II", "1")])),
    EcgError,
  );
  assert.throws(
    () =>
      observationToWfdb(
        obs([comp("131329", "I", "1 2"), comp("131330", "II", "1 2", { period: 4 })]),
      ),
    EcgError,
  );
  assert.throws(() => observationToWfdb({ resourceType: "Patient" }), EcgError);
  // A name that is not a WFDB record name is not used.
  assert.equal(observationToWfdb(obs([comp("131329", "I", "1")], "../x")).name, "ecg");
});

test("the synthetic vectors export as medchain ecg export --format 16 does", { skip: !BIN }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medchain-wfdb-"));
  try {
    for (const vec of ["synth16", "synth212"]) {
      const o = path.join(dir, `${vec}.json`);
      execFileSync(BIN, ["ecg", "convert", "--in", path.join(VECTORS, `${vec}.hea`), "--out", o]);
      const out = path.join(dir, vec);
      execFileSync(BIN, ["ecg", "export", "--in", o, "--out-dir", out, "--format", "16"]);
      const w = observationToWfdb(JSON.parse(fs.readFileSync(o, "utf8")));
      assert.equal(w.hea, fs.readFileSync(path.join(out, `${vec}.hea`), "utf8"), vec);
      assert.deepEqual(Buffer.from(w.dat), fs.readFileSync(path.join(out, `${vec}.dat`)), vec);
      // Both vectors hold the same samples: the signal is synth16.dat's.
      assert.deepEqual(Buffer.from(w.dat), fs.readFileSync(path.join(VECTORS, "synth16.dat")));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
