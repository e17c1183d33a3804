// The regulator's view. Trace: a serial's custody graph, from its
// commissioning through each organization that held it (directly or in a
// case) to where it is now (GET /v1/drugs/{gtin}/{serial}/history). Who
// holds a lot: every custodian of its active packages and how many are in
// transit (GET /v1/drugs/lots/{gtin}/{lot}/holders). Recall: with a
// regulator's (or the lot's manufacturer's) key open, recall a lot
// (supply.recall, signed in this page); its packages are refused from the
// next block on.
import { getJson, submitCall } from "./api.js";
import { gtin14, parseScan } from "./gs1.js";
import { keyPanel } from "./keys.js";
import { historyPath } from "./pharmacy.js";
import { clear, el, errorBox, fmtTime, hide, resultBadge, shortId, showError, showNote, table } from "./ui.js";

/**
 * The custody path of a history: the organizations that held the package,
 * in order, each with the steps that happened while it held it. A shipment
 * moves custody when it is received.
 */
export function custodyPath(events) {
  const path = [];
  for (const e of events) {
    const org = e.org_name ?? e.org;
    const last = path.at(-1);
    if (!last || last.org !== org) {
      path.push({ org, steps: [] });
    }
    path.at(-1).steps.push(e.via ? `${e.biz_step} (in case)` : e.biz_step);
  }
  return path;
}

function graph(path) {
  const items = [];
  path.forEach((p, i) => {
    if (i > 0) {
      items.push(el("li", { class: "custody-arrow", "aria-hidden": "true" }, "→"));
    }
    items.push(
      el("li", { class: "custody-node" }, el("strong", {}, p.org), el("small", {}, p.steps.join(", "))),
    );
  });
  return el("ol", { class: "custody", id: "regulator-graph" }, items);
}

function gtinSerial(text) {
  const m = /^([0-9]{8,14})\s+(\S+)$/.exec(text.trim());
  return m ? { gtin: gtin14(m[1]), serial: m[2] } : parseScan(text);
}

function form(id, label, input, button, onsubmit, hint) {
  return el(
    "form",
    {
      class: "form",
      id,
      onsubmit: (ev) => {
        ev.preventDefault();
        onsubmit();
      },
    },
    el("div", { class: "row wide" }, el("label", { for: input.id }, label), input,
      hint ? el("small", {}, hint) : null),
    button,
  );
}

export function initRegulator(root) {
  const traceIn = el("input", { id: "regulator-serial", autocomplete: "off", spellcheck: "false" });
  const traceBox = el("div", { id: "regulator-trace" });
  const traceErr = errorBox();
  const lotGtin = el("input", { id: "regulator-gtin", autocomplete: "off", inputmode: "numeric" });
  const lotName = el("input", { id: "regulator-lot", autocomplete: "off", spellcheck: "false" });
  const holdersBox = el("div", { id: "regulator-holders" });
  const lotErr = errorBox();
  const recallMsg = el("div", { class: "note", hidden: true, role: "status" });
  const recallBtn = el(
    "button",
    { type: "button", id: "regulator-recall", class: "secondary", hidden: true, onclick: recall },
    "Recall this lot",
  );
  let keys = null;

  root.append(
    el("div", { class: "view-head" }, el("h1", {}, "Regulator")),
    el(
      "p",
      { class: "lead" },
      "Trace a package through its cases from commissioning to dispensing; see who holds a lot " +
        "and recall it. `medchain verify` re-checks a whole ledger offline.",
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "trace-h" },
      el("h2", { id: "trace-h" }, "Custody of a serial"),
      form("regulator-trace-form", "GTIN and serial, or a scan", traceIn,
        el("button", { type: "submit" }, "Trace"), trace,
        "e.g. 80614141123458 A0, or a DataMatrix string"),
      traceErr,
      traceBox,
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "lot-h" },
      el("h2", { id: "lot-h" }, "Who holds a lot"),
      el(
        "form",
        {
          class: "form",
          id: "regulator-lot-form",
          onsubmit: (ev) => {
            ev.preventDefault();
            holders();
          },
        },
        el("div", { class: "row" }, el("label", { for: lotGtin.id }, "GTIN"), lotGtin),
        el("div", { class: "row" }, el("label", { for: lotName.id }, "Lot"), lotName),
        el("button", { type: "submit" }, "Show holders"),
      ),
      lotErr,
      holdersBox,
      recallBtn,
      recallMsg,
    ),
    el("p", { class: "hint" }, "Open a regulator's keystore (or the lot's manufacturer's) to recall a lot."),
    keyPanel("regulator", { onKeys: (k) => { keys = k; recallBtn.hidden = false; },
      onForget: () => { keys = null; recallBtn.hidden = true; } }),
  );

  async function trace() {
    hide(traceErr);
    clear(traceBox);
    try {
      const s = gtinSerial(traceIn.value);
      const h = await getJson(historyPath(s.gtin, s.serial));
      const p = h.package;
      traceBox.append(
        graph(custodyPath(h.events)),
        el("p", { class: "hint" }, `${p.epc}: ${p.status}`),
        table(
          [
            { label: "Block", cell: (e) => String(e.height) },
            { label: "Time", cell: (e) => fmtTime(e.time_ms) },
            { label: "Step", cell: (e) => e.biz_step },
            { label: "By", cell: (e) => e.org_name ?? shortId(e.org) },
            { label: "Through case", cell: (e) => (e.via ? shortId(e.via) : "—") },
            { label: "Event hash", cell: (e) => shortId(e.id, 12) },
          ],
          h.events,
          { empty: "No events." },
        ),
      );
    } catch (e) {
      showError(traceErr, e);
    }
  }

  async function holders() {
    hide(lotErr);
    clear(holdersBox);
    try {
      const g = gtin14(lotGtin.value);
      const d = await getJson(`/v1/drugs/lots/${g}/${encodeURIComponent(lotName.value.trim())}/holders`);
      holdersBox.append(
        el(
          "p",
          {},
          `Lot ${d.lot.lot}, expiry ${d.lot.expiry_date}, ${d.lot.packages} packages commissioned: `,
          d.lot.recalled ? el("span", { class: "badge badge-bad" }, "recalled") : el("span", { class: "badge badge-ok" }, "not recalled"),
        ),
        table(
          [
            { label: "Holder", cell: (x) => x.name ?? shortId(x.id) },
            { label: "Packages", cell: (x) => String(x.packages) },
            { label: "In transit", cell: (x) => String(x.in_transit) },
          ],
          d.holders,
          { empty: "Nobody holds an active package of this lot." },
        ),
      );
    } catch (e) {
      showError(lotErr, e);
    }
  }

  async function recall() {
    hide(lotErr);
    hide(recallMsg);
    recallBtn.disabled = true;
    try {
      const res = await submitCall(keys, "supply", "recall", {
        gtin: gtin14(lotGtin.value),
        lot: lotName.value.trim(),
      });
      showNote(recallMsg, el("span", {}, `Recalled in block ${res.height} `, resultBadge(res.result)));
      await holders();
    } catch (e) {
      showError(lotErr, e);
    } finally {
      recallBtn.disabled = false;
    }
  }

  return { onShow: () => {} };
}
