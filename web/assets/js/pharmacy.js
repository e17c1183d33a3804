// The pharmacy's view. Verify: scan (or type) a package's GS1 DataMatrix
// string, or its GTIN and serial, and ask the node (GET /v1/drugs/verify)
// whether it is genuine, in date, not recalled, not dispensed, and of the
// lot and expiry printed on it. Dispense: with a pharmacist's key open,
// dispense packages the pharmacy holds against a prescription (rx.dispense,
// signed in this page); the contract refuses over-dispensing, an expired
// prescription, a package not in the pharmacy's custody, a recalled lot.
import { getJson, submitCall } from "./api.js";
import { toHex } from "./bytes.js";
import { taggedHash } from "./crypto.js";
import { gtin14, parseScan } from "./gs1.js";
import { keyPanel, kindWarning } from "./keys.js";
import { clear, el, errorBox, fields, hide, resultBadge, shortId, showError, showNote } from "./ui.js";

const VERDICT_OK = "verified";

/** The verify query for a parsed scan or typed fields. */
export function verifyPath({ gtin, serial, lot, expiry }) {
  const q = new URLSearchParams({ gtin, serial });
  if (lot) {
    q.set("lot", lot);
  }
  if (expiry) {
    q.set("expiry", expiry);
  }
  return `/v1/drugs/verify?${q}`;
}

/** The package's path under /v1/drugs (serials percent-encoded). */
export function historyPath(gtin, serial) {
  return `/v1/drugs/${gtin}/${encodeURIComponent(serial)}/history`;
}

function verdictBadge(v) {
  return el("span", { class: v === VERDICT_OK ? "badge badge-ok" : "badge badge-bad" }, v);
}

/** What one scan line names: a DataMatrix string, or "GTIN SERIAL". */
function readLine(line) {
  const m = /^([0-9]{8,14})\s+(\S+)$/.exec(line.trim());
  if (m) {
    return { gtin: gtin14(m[1]), serial: m[2] };
  }
  return parseScan(line);
}

export function initPharmacy(root) {
  const scan = el("input", {
    id: "pharmacy-scan",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "(01)08061414112345(17)301231(10)LOT(21)SERIAL",
  });
  const verdictBox = el("div", { id: "pharmacy-verdict", "aria-live": "polite" });
  const verifyErr = errorBox();
  const verifyForm = el(
    "form",
    {
      class: "form",
      id: "pharmacy-verify",
      onsubmit: (ev) => {
        ev.preventDefault();
        verify();
      },
    },
    el(
      "div",
      { class: "row wide" },
      el("label", { for: scan.id }, "Scan or type"),
      scan,
      el(
        "small",
        {},
        "A DataMatrix string (a scanner types the GS separator; by hand write <GS>), " +
          "its (01)… form, a Digital Link, or a GTIN and a serial separated by a space.",
      ),
    ),
    el("button", { type: "submit", id: "pharmacy-verify-btn" }, "Verify"),
  );

  let keys = null;
  const rx = el("input", { id: "pharmacy-rx", autocomplete: "off", spellcheck: "false" });
  const packs = el("textarea", { id: "pharmacy-packages", rows: "3", spellcheck: "false" });
  const dispenseErr = errorBox();
  const dispenseMsg = el("div", { class: "note", hidden: true, role: "status" });
  const warn = el("p", { class: "note note-warn", hidden: true });
  const dispenseBtn = el("button", { type: "submit", id: "pharmacy-dispense-btn" }, "Dispense");
  const dispenseCard = el(
    "section",
    { class: "card", id: "pharmacy-dispense", hidden: true, "aria-labelledby": "disp-h" },
    el("h2", { id: "disp-h" }, "Dispense against a prescription"),
    warn,
    el(
      "form",
      {
        class: "form",
        onsubmit: (ev) => {
          ev.preventDefault();
          dispense();
        },
      },
      el("div", { class: "row wide" }, el("label", { for: rx.id }, "Prescription id"), rx),
      el(
        "div",
        { class: "row wide" },
        el("label", { for: packs.id }, "Packages"),
        packs,
        el("small", {}, "One scan per line (or a GTIN and a serial); at most 20."),
      ),
      dispenseBtn,
    ),
    dispenseErr,
    dispenseMsg,
  );

  root.append(
    el("div", { class: "view-head" }, el("h1", {}, "Pharmacy")),
    el(
      "p",
      { class: "lead" },
      "Verify the package in your hand: genuine, in date, not recalled, not dispensed before. " +
        "Open a pharmacist's keystore to dispense against a prescription.",
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "verify-h" },
      el("h2", { id: "verify-h" }, "Verify a package"),
      verifyForm,
      verifyErr,
      verdictBox,
    ),
    keyPanel("pharmacy", { onKeys: start, onForget: stop }),
    dispenseCard,
  );

  async function verify() {
    hide(verifyErr);
    clear(verdictBox);
    try {
      const s = readLine(scan.value);
      const v = await getJson(verifyPath(s));
      const rows = [
        ["Verdict", verdictBadge(v.verdict)],
        ["GTIN", v.gtin],
        ["Serial", v.serial],
      ];
      if (s.lot) {
        rows.push(["Lot on the box", s.lot]);
      }
      if (s.expiryDate) {
        rows.push(["Expiry on the box", s.expiryDate]);
      }
      if (v.holder) {
        rows.push(["Custodian", v.holder.name ?? shortId(v.holder.id)]);
        rows.push(["In transit", v.in_transit ? "yes" : "no"]);
      }
      verdictBox.append(fields(rows));
    } catch (e) {
      showError(verifyErr, e);
    }
  }

  async function dispense() {
    hide(dispenseErr);
    hide(dispenseMsg);
    dispenseBtn.disabled = true;
    try {
      const lines = packs.value.split("\n").filter((l) => l.trim() !== "");
      if (lines.length === 0 || lines.length > 20) {
        throw Object.assign(new Error("name 1 to 20 packages"), { code: "BAD_ARGS" });
      }
      // The chain names packages by their EPC URI, which needs the company
      // prefix length a scan does not carry: the node knows it.
      const epcs = [];
      for (const line of lines) {
        const s = readLine(line);
        const h = await getJson(historyPath(s.gtin, s.serial));
        epcs.push(h.package.epc);
      }
      const now = Date.now();
      // Without an EPCIS document the event is named by a hash of the call.
      const event = toHex(
        taggedHash(
          "medchain.portal.event.v1",
          new TextEncoder().encode(`${rx.value.trim()}|${epcs.join(" ")}|${now}`),
        ),
      );
      const res = await submitCall(keys, "rx", "dispense", {
        rx: rx.value.trim(),
        event,
        epcs: epcs.join(" "),
        event_time_ms: now,
      });
      showNote(
        dispenseMsg,
        el("span", {}, `Dispensed ${epcs.length} in block ${res.height} `, resultBadge(res.result)),
      );
    } catch (e) {
      showError(dispenseErr, e);
    } finally {
      dispenseBtn.disabled = false;
    }
  }

  function start(k, ident) {
    keys = k;
    const w = ident.kind === "admin" ? null : kindWarning(ident, "practitioner", "pharmacy");
    warn.hidden = w === null;
    warn.textContent = w ?? "";
    dispenseCard.hidden = false;
  }

  function stop() {
    keys = null;
    dispenseCard.hidden = true;
    hide(dispenseErr);
    hide(dispenseMsg);
  }

  return { onShow: () => {} };
}
