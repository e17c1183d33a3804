// The portal's ECG plot (web/assets/js/ecgplot.js):
//
//   node web/test/ecgplot.test.mjs [--bin path/to/medchain]
//
// SampledData decoding (origin + factor * point, gaps for E/L/U), lead
// names from MDC codes, refusals, and the drawing's geometry on a canvas
// stub that records calls (25 mm/s, 10 mm/mV, one strip per lead). With
// --bin, Observations written by `medchain ecg convert` from the synthetic
// vectors (tests/vectors/ecg) decode to exactly the millivolts of the CSV.
// Run by CTest (web/ecgplot).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";

import {
  EcgError,
  MM_PER_MV,
  MM_PER_S,
  decodeSampledData,
  ecgLeads,
  plotEcg,
} from "../assets/js/ecgplot.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const VECTORS = path.join(here, "..", "..", "tests", "vectors", "ecg");
const binArg = process.argv.indexOf("--bin");
const BIN = binArg > 0 ? process.argv[binArg + 1] : null;

const sd = (extra) => ({
  origin: { value: 0, unit: "mV", system: "http://unitsofmeasure.org", code: "mV" },
  period: 2,
  factor: 0.005,
  dimensions: 1,
  data: "100 0 -100",
  ...extra,
});

function observation(components) {
  return { resourceType: "Observation", status: "final", component: components };
}

test("SampledData decodes as origin + factor * point", () => {
  const { periodMs, values } = decodeSampledData(
    sd({ origin: { value: -0.5, code: "mV" }, data: "100 0 -100 E 2047" }),
  );
  assert.equal(periodMs, 2);
  assert.equal(values.length, 5);
  assert.ok(Math.abs(values[0] - 0) < 1e-12);
  assert.ok(Math.abs(values[1] + 0.5) < 1e-12);
  assert.ok(Math.abs(values[2] + 1) < 1e-12);
  assert.ok(Number.isNaN(values[3]));
  assert.ok(Math.abs(values[4] - 9.735) < 1e-12);
  // No factor means 1, no origin means 0.
  const plain = decodeSampledData({ period: 1, dimensions: 1, data: "3 -4" });
  assert.deepEqual(Array.from(plain.values), [3, -4]);
});

test("what cannot be plotted is refused", () => {
  for (const bad of [
    sd({ dimensions: 2 }),
    sd({ period: 0 }),
    sd({ period: "2" }),
    sd({ factor: -1 }),
    sd({ data: undefined }),
    sd({ data: "1 x 3" }),
    sd({ origin: { value: 0, code: "uV" } }),
    null,
  ]) {
    assert.throws(() => decodeSampledData(bad), EcgError);
  }
  assert.throws(() => ecgLeads({ resourceType: "Patient" }), EcgError);
});

test("lead names come from the text, else the MDC code", () => {
  const leads = ecgLeads(
    observation([
      { code: { text: "MLII" }, valueSampledData: sd() },
      {
        code: { coding: [{ system: "urn:oid:2.16.840.1.113883.6.24", code: "131392" }] },
        valueSampledData: sd(),
      },
      { code: { coding: [{ system: "http://loinc.org", code: "x" }] }, valueSampledData: sd() },
    ]),
  );
  assert.deepEqual(
    leads.map((l) => l.name),
    ["MLII", "aVF", "lead 3"],
  );
});

/** A canvas whose 2D context records every call. */
function stubCanvas() {
  const calls = [];
  const ctx = new Proxy(
    {},
    {
      get(target, prop) {
        if (prop in target) {
          return target[prop];
        }
        return (...args) => calls.push([prop, ...args]);
      },
      set(target, prop, value) {
        target[prop] = value;
        return true;
      },
    },
  );
  const attrs = {};
  return {
    calls,
    attrs,
    width: 0,
    height: 0,
    dataset: {},
    style: {},
    getContext: () => ctx,
    setAttribute: (k, v) => {
      attrs[k] = v;
    },
  };
}

test("the plot is ECG paper: 25 mm/s, 10 mm/mV, a strip per lead", () => {
  assert.equal(MM_PER_S, 25);
  assert.equal(MM_PER_MV, 10);
  // Two leads of 2 s at 500 Hz: a 1 mV square wave on lead I.
  const n = 1000;
  const square = Array.from({ length: n }, (_, i) => (i % 250 < 125 ? 200 : 0)).join(" ");
  const canvas = stubCanvas();
  const px = 4;
  const { leads, seconds } = plotEcg(
    canvas,
    observation([
      { code: { text: "I" }, valueSampledData: sd({ data: square }) },
      { code: { text: "V1" }, valueSampledData: sd({ data: "0 ".repeat(n).trim() }) },
    ]),
    { pxPerMm: px },
  );
  assert.equal(leads.length, 2);
  assert.equal(seconds, 2);
  assert.equal(canvas.dataset.leads, "2");
  assert.equal(canvas.width, Math.ceil((12 + 2 * 25) * px));
  assert.equal(canvas.height, 2 * 30 * px);
  assert.match(canvas.attrs["aria-label"], /2 leads \(I, V1\)/);
  const labels = canvas.calls.filter((c) => c[0] === "fillText").map((c) => c[1]);
  assert.deepEqual(labels, ["I", "V1"]);
  // The trace of lead I: one second is 25 mm = 100 px across, 1 mV is 10 mm = 40 px up.
  const lines = canvas.calls.filter((c) => c[0] === "lineTo");
  const left = 12 * px;
  const at = (x) => lines.find((c) => Math.abs(c[1] - x) < 1e-9);
  const high = at(left + 100 * 0.1); // 0.1 s: in the 1 mV half
  const low = at(left + 100 * 0.3); // 0.3 s: in the 0 mV half
  assert.ok(high && low);
  assert.ok(Math.abs(low[2] - high[2] - 40) < 1e-9, `${low[2]} - ${high[2]}`);
  // The grid: vertical 1 mm lines across the width.
  const moves = canvas.calls.filter((c) => c[0] === "moveTo" && c[2] === 0);
  assert.ok(moves.length >= (12 + 50) + (12 + 50) / 5);
});

test("Observations written by medchain decode to the CSV's millivolts", { skip: !BIN }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medchain-ecgplot-"));
  try {
    const csvObs = path.join(dir, "csv.json");
    const heaObs = path.join(dir, "hea.json");
    execFileSync(BIN, [
      "ecg", "convert", "--in", path.join(VECTORS, "synth.csv"), "--gain", "200",
      "--patient", "p1", "--out", csvObs,
    ]);
    execFileSync(BIN, ["ecg", "convert", "--in", path.join(VECTORS, "synth212.hea"), "--out", heaObs]);
    const rows = fs.readFileSync(path.join(VECTORS, "synth.csv"), "utf8").trim().split("\n");
    const names = rows[0].split(",").slice(1);
    const fromCsv = ecgLeads(JSON.parse(fs.readFileSync(csvObs, "utf8")));
    const fromHea = ecgLeads(JSON.parse(fs.readFileSync(heaObs, "utf8")));
    assert.deepEqual(fromCsv.map((l) => l.name), names);
    assert.deepEqual(fromHea.map((l) => l.name), names);
    assert.equal(fromHea[0].values.length, 5000);
    assert.equal(fromHea[0].periodMs, 2);
    for (let k = 1; k < rows.length; k++) {
      const cells = rows[k].split(",").map(Number);
      for (let i = 0; i < names.length; i++) {
        assert.ok(Math.abs(fromCsv[i].values[k - 1] - cells[i + 1]) < 1e-9);
        assert.ok(Math.abs(fromHea[i].values[k - 1] - cells[i + 1]) < 1e-9);
      }
    }
    const canvas = stubCanvas();
    plotEcg(canvas, JSON.parse(fs.readFileSync(heaObs, "utf8")));
    assert.equal(canvas.dataset.leads, "12");
    assert.equal(canvas.dataset.seconds, "10");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
