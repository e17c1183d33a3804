// WFDB export in the page: an ECG Observation (one SampledData component
// per lead, as `medchain import ecg` writes it, docs/ecg.md) back to a
// PhysioNet record in format 16: NAME.hea and NAME.dat. The same bytes
// `medchain records export --format 16` writes: the digital values are
// SampledData's data points as they are (no rounding through millivolts),
// gain = 1 / factor, baseline = -origin / factor, ADC resolution 16,
// initial value and checksum (16-bit sum, signed) of each signal, samples
// interleaved frame by frame as 16-bit little-endian two's complement.
import { EcgError, ecgLeads } from "./ecgplot.js";

const RECORD_SYSTEM = "urn:medchain:ecg-record";
const NAME_RE = /^[A-Za-z0-9_]{1,64}$/;

/** A number as C's %.12g prints an ordinary one (500, 0.005, 360). */
function num(v) {
  return String(Number(v.toPrecision(12)));
}

function recordName(obs) {
  for (const id of obs.identifier ?? []) {
    if (id.system === RECORD_SYSTEM && NAME_RE.test(id.value ?? "")) {
      return id.value;
    }
  }
  return "ecg";
}

/** The digital integers of one component's SampledData. */
function digital(sd, i) {
  const points = String(sd.data ?? "")
    .split(" ")
    .filter((p) => p !== "");
  return points.map((p, k) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < -32768 || n > 32767) {
      throw new EcgError(`lead ${i + 1}, sample ${k}: not a 16-bit integer`);
    }
    return n;
  });
}

/** {name, hea (text), dat (Uint8Array)} of an ECG Observation. */
export function observationToWfdb(obs) {
  const leads = ecgLeads(obs); // validates and names the leads
  const name = recordName(obs);
  const sds = obs.component.map((c) => c.valueSampledData);
  const samples = sds.map(digital);
  const n = samples[0].length;
  if (n === 0 || samples.some((s) => s.length !== n)) {
    throw new EcgError("every lead must have the same, non-zero number of samples");
  }
  const period = sds[0].period;
  if (sds.some((sd) => sd.period !== period)) {
    throw new EcgError("every lead must have the same period");
  }
  let hea = `${name} ${leads.length} ${num(1000 / period)} ${n}\n`;
  leads.forEach((lead, i) => {
    const factor = sds[i].factor ?? 1;
    const origin = sds[i].origin?.value ?? 0;
    const gain = num(1 / factor);
    const baseline = Math.round(-origin / factor);
    let sum = 0;
    for (const v of samples[i]) {
      sum = (sum + v) & 0xffff;
    }
    const checksum = sum >= 0x8000 ? sum - 0x10000 : sum;
    hea += `${name}.dat 16 ${gain}(${baseline})/mV 16 0 ${samples[i][0]} ${checksum} 0 ${lead.name}\n`;
  });
  const dat = new Uint8Array(2 * n * leads.length);
  const view = new DataView(dat.buffer);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < leads.length; i++) {
      view.setInt16(2 * (t * leads.length + i), samples[i][t], true);
    }
  }
  return { name, hea, dat };
}
