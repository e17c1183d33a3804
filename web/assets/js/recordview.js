// The panel that shows a record opened in the page (records.js): an ECG
// Observation plotted on a canvas (ecgplot.js: one strip per lead) with its
// leads listed, any other JSON as text, and for the patient's export the
// plaintext as a download (an ECG also as a WFDB record, wfdb.js).
//
// The download is a Blob URL: the bytes stay in this page's memory (nothing
// is stored or sent), and the URL is revoked when the panel is cleared or
// shows another record. The Content-Security-Policy needs nothing for it: a
// download is a navigation, which no directive of API_PORTAL_CSP governs.
import { plotEcg } from "./ecgplot.js";
import { observationToWfdb } from "./wfdb.js";
import { isEcgObservation, parseRecord, recordFileName } from "./records.js";
import { clear, el, errorBox, shortId, showError } from "./ui.js";

const TEXT_MAX = 200000; // characters of a non-ECG record shown
const PX_PER_MM = 3;

/**
 * A viewer whose element ids start with prefix: {node, show, clear}.
 * show(record, plain, {download, note}) renders plain (the record's
 * decrypted bytes) and returns the download link (or null).
 */
export function recordViewer(prefix) {
  let url = null;
  const box = el("div", {
    id: `${prefix}-record-view`,
    class: "record-view",
    hidden: true,
    "aria-live": "polite",
  });

  let wfdbUrls = [];

  function release() {
    if (url !== null) {
      URL.revokeObjectURL(url);
      url = null;
    }
    wfdbUrls.forEach((u) => URL.revokeObjectURL(u));
    wfdbUrls = [];
  }

  /** The ECG as a PhysioNet WFDB record (format 16): two more downloads. */
  function wfdbLinks(json) {
    let w;
    try {
      w = observationToWfdb(json);
    } catch (e) {
      const err = errorBox();
      showError(err, { code: "ECG_MALFORMED", message: e.message });
      box.append(err);
      return;
    }
    const files = [
      [`${w.name}.hea`, new Blob([w.hea], { type: "text/plain" }), "hea"],
      [`${w.name}.dat`, new Blob([w.dat], { type: "application/octet-stream" }), "dat"],
    ];
    const links = files.map(([name, blob, kind]) => {
      const u = URL.createObjectURL(blob);
      wfdbUrls.push(u);
      return el(
        "a",
        { href: u, download: name, id: `${prefix}-wfdb-${kind}`, class: "button-link" },
        `Save ${name}`,
      );
    });
    box.append(el("p", { class: "download" }, "As WFDB (format 16): ", links[0], " ", links[1]));
  }

  function clearView() {
    release();
    clear(box);
    for (const k of Object.keys(box.dataset)) {
      delete box.dataset[k];
    }
    box.hidden = true;
  }

  function downloadLink(record, plain, json) {
    const name = recordFileName(record, json);
    const type = json === null ? "application/octet-stream" : "application/fhir+json";
    url = URL.createObjectURL(new Blob([plain], { type }));
    const link = el(
      "a",
      { href: url, download: name, id: `${prefix}-download`, class: "button-link" },
      `Save ${name}`,
    );
    box.append(el("p", { class: "download" }, link, ` · ${plain.length} bytes`));
    return link;
  }

  function ecg(json) {
    const canvas = el("canvas", { id: `${prefix}-ecg`, class: "ecg" });
    box.append(el("div", { class: "ecg-wrap" }, canvas));
    try {
      const { leads, seconds } = plotEcg(canvas, json, { pxPerMm: PX_PER_MM });
      box.append(
        el(
          "p",
          { class: "hint" },
          `${leads.length} leads, the first ${seconds.toFixed(1)} s at 25 mm/s and 10 mm/mV:`,
        ),
        el(
          "ul",
          { id: `${prefix}-ecg-leads`, class: "ecg-leads" },
          leads.map((l) => el("li", {}, l.name)),
        ),
      );
    } catch (e) {
      const err = errorBox();
      showError(err, { code: "ECG_MALFORMED", message: e.message });
      box.append(err);
    }
  }

  function show(record, plain, { download = false, note = null } = {}) {
    clearView();
    const json = parseRecord(plain);
    box.append(el("h3", {}, "Record ", shortId(record, 16)));
    if (note) {
      box.append(el("p", { class: "note note-ok" }, note));
    }
    const link = download ? downloadLink(record, plain, json) : null;
    if (isEcgObservation(json)) {
      if (download) {
        wfdbLinks(json);
      }
      ecg(json);
    } else if (json !== null) {
      const text = JSON.stringify(json, null, 2);
      box.append(
        el(
          "pre",
          { class: "record-json", id: `${prefix}-record-json` },
          text.length > TEXT_MAX ? `${text.slice(0, TEXT_MAX)}\n…` : text,
        ),
      );
    } else {
      box.append(
        el("p", { class: "note note-warn" }, `This record is not JSON (${plain.length} bytes).`),
      );
    }
    box.dataset.record = record;
    box.hidden = false;
    return link;
  }

  return { node: box, show, clear: clearView };
}
