// EcgPlot: a FHIR R4 ECG Observation (docs/ecg.md) drawn by hand on a
// canvas as on ECG paper: one strip per lead, a 1 mm grid with a bold line
// every 5 mm, 25 mm per second across and 10 mm per millivolt up, the
// lead's name at the start of its strip and a 1 mV calibration pulse.
//
// Each component's valueSampledData is decoded as FHIR defines it:
// value = origin + factor * point, one point every `period` milliseconds;
// the codes "E", "L" and "U" (error, below and above the detection limit)
// become gaps in the trace.
//
// The canvas carries what it shows for people who cannot see it (its
// aria-label) and for tests (data-leads, data-seconds).

export const MM_PER_S = 25;
export const MM_PER_MV = 10;
const STRIP_MM = 30; // each lead gets 3 mV of paper
const LABEL_MM = 12; // room for the lead name and calibration pulse
const MDC = "urn:oid:2.16.840.1.113883.6.24";
const MDC_LEADS = new Map([
  ["131329", "I"],
  ["131330", "II"],
  ["131389", "III"],
  ["131390", "aVR"],
  ["131391", "aVL"],
  ["131392", "aVF"],
  ["131331", "V1"],
  ["131332", "V2"],
  ["131333", "V3"],
  ["131334", "V4"],
  ["131335", "V5"],
  ["131336", "V6"],
]);

export class EcgError extends Error {}

function positive(v, what) {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new EcgError(`${what} must be a positive number`);
  }
  return v;
}

/** {periodMs, values: Float64Array of mV} of one SampledData. */
export function decodeSampledData(sd) {
  if (sd === null || typeof sd !== "object") {
    throw new EcgError("valueSampledData is missing");
  }
  if (sd.dimensions !== 1) {
    throw new EcgError("only one-dimensional SampledData is plotted");
  }
  const origin = sd.origin ?? {};
  if (origin.code !== undefined && origin.code !== "mV") {
    throw new EcgError(`origin in ${origin.code}, not mV`);
  }
  const base = origin.value ?? 0;
  if (typeof base !== "number" || !Number.isFinite(base)) {
    throw new EcgError("origin.value must be a number");
  }
  const periodMs = positive(sd.period, "period");
  const factor = sd.factor === undefined ? 1 : positive(sd.factor, "factor");
  if (typeof sd.data !== "string") {
    throw new EcgError("SampledData has no data");
  }
  const points = sd.data.split(" ").filter((p) => p !== "");
  const values = new Float64Array(points.length);
  points.forEach((p, i) => {
    if (p === "E" || p === "L" || p === "U") {
      values[i] = NaN;
      return;
    }
    const n = Number(p);
    if (!Number.isFinite(n)) {
      throw new EcgError(`data point ${i} is not a number`);
    }
    values[i] = base + factor * n;
  });
  return { periodMs, values };
}

function leadName(code, i) {
  if (code && typeof code.text === "string" && code.text !== "") {
    return code.text;
  }
  for (const c of code?.coding ?? []) {
    if (c.system === MDC && MDC_LEADS.has(c.code)) {
      return MDC_LEADS.get(c.code);
    }
  }
  return `lead ${i + 1}`;
}

/** The leads of an ECG Observation: [{name, periodMs, values}]. */
export function ecgLeads(observation) {
  if (observation?.resourceType !== "Observation" || !Array.isArray(observation.component)) {
    throw new EcgError("not an Observation with components");
  }
  return observation.component.map((c, i) => ({
    name: leadName(c.code, i),
    ...decodeSampledData(c.valueSampledData),
  }));
}

function median(values) {
  const v = Array.from(values).filter(Number.isFinite);
  if (v.length === 0) {
    return 0;
  }
  v.sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

function drawGrid(g, w, h, px) {
  for (const [stepMm, color, width] of [
    [1, "#f6d3cf", 0.5],
    [5, "#e59a92", 1],
  ]) {
    g.strokeStyle = color;
    g.lineWidth = width;
    g.beginPath();
    for (let x = 0; x <= w; x += stepMm * px) {
      g.moveTo(Math.round(x) + 0.5, 0);
      g.lineTo(Math.round(x) + 0.5, h);
    }
    for (let y = 0; y <= h; y += stepMm * px) {
      g.moveTo(0, Math.round(y) + 0.5);
      g.lineTo(w, Math.round(y) + 0.5);
    }
    g.stroke();
  }
}

/* One lead's strip: label, 1 mV calibration pulse (0.2 s wide), trace. */
function drawLead(g, lead, top, px, seconds) {
  const mid = top + (STRIP_MM / 2) * px;
  const y = (mv) => mid - mv * MM_PER_MV * px;
  g.fillStyle = "#111";
  g.font = `${Math.round(3.5 * px)}px system-ui, sans-serif`;
  g.textBaseline = "top";
  g.textAlign = "left";
  g.fillText(lead.name, 1 * px, top + 1 * px);
  g.strokeStyle = "#111";
  g.lineWidth = 1.2;
  g.beginPath();
  const x0 = 3 * px;
  g.moveTo(x0, y(0));
  g.lineTo(x0 + 1 * px, y(0));
  g.lineTo(x0 + 1 * px, y(1));
  g.lineTo(x0 + 6 * px, y(1));
  g.lineTo(x0 + 6 * px, y(0));
  g.lineTo(x0 + 7 * px, y(0));
  const center = median(lead.values);
  const left = LABEL_MM * px;
  const n = Math.min(lead.values.length, Math.floor((seconds * 1000) / lead.periodMs) + 1);
  let pen = false;
  for (let i = 0; i < n; i++) {
    const v = lead.values[i];
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const x = left + ((i * lead.periodMs) / 1000) * MM_PER_S * px;
    const yy = Math.min(top + STRIP_MM * px, Math.max(top, y(v - center)));
    if (pen) {
      g.lineTo(x, yy);
    } else {
      g.moveTo(x, yy);
      pen = true;
    }
  }
  g.stroke();
}

/**
 * Draws observation on canvas. options.pxPerMm (default 4) sets the paper's
 * scale, options.maxSeconds (default 10) how much of each lead is shown.
 * Returns {leads, seconds}. Throws EcgError for an Observation it cannot read.
 */
export function plotEcg(canvas, observation, options = {}) {
  const leads = ecgLeads(observation);
  const px = options.pxPerMm ?? 4;
  const longest = Math.max(0, ...leads.map((l) => (l.values.length * l.periodMs) / 1000));
  const seconds = Math.min(options.maxSeconds ?? 10, longest);
  const w = Math.ceil((LABEL_MM + seconds * MM_PER_S) * px);
  const h = Math.ceil(Math.max(1, leads.length) * STRIP_MM * px);
  const dpr = globalThis.window?.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  if (canvas.style) {
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.fillStyle = "#fffafa";
  g.fillRect(0, 0, w, h);
  drawGrid(g, w, h, px);
  leads.forEach((lead, i) => drawLead(g, lead, i * STRIP_MM * px, px, seconds));
  if (canvas.dataset) {
    canvas.dataset.leads = String(leads.length);
    canvas.dataset.seconds = String(seconds);
  }
  canvas.setAttribute?.(
    "aria-label",
    `ECG, ${leads.length} leads (${leads.map((l) => l.name).join(", ")}), ` +
      `${seconds.toFixed(1)} seconds at 25 mm/s and 10 mm/mV.`,
  );
  return { leads, seconds };
}
