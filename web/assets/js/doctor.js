// The doctor's view: with the doctor's key in memory, the consents where
// the doctor is the grantee (a signed read of /v1/consents?grantee=ID),
// and from them the patients who shared their records and what they
// shared, for which purpose and until when. A consent granted or revoked
// anywhere shows within a moment: the view re-reads its consents whenever
// a consent transaction commits (the public event stream's `tx` events).
import { doctorDay } from "./appointments.js";
import { listAll, signedGet } from "./api.js";
import { onEvent } from "./events.js";
import { keyPanel, kindWarning } from "./keys.js";
import { consentColumns, consentState } from "./patient.js";
import {
  clear,
  el,
  errorBox,
  fmtTime,
  hide,
  shortId,
  showError,
  table,
} from "./ui.js";

/** Live consents grouped by patient: [{patient, scopes, purposes, until, count}]. */
export function sharedPatients(consents, now = Date.now()) {
  const byPatient = new Map();
  for (const c of consents) {
    if (consentState(c, now) !== "active") {
      continue;
    }
    const p = byPatient.get(c.patient) ?? {
      patient: c.patient,
      scopes: new Set(),
      purposes: new Set(),
      until: 0,
      count: 0,
    };
    p.scopes.add(c.scope === "record" ? `record ${c.record.slice(0, 10)}…` : c.category);
    p.purposes.add(c.purpose);
    p.until = Math.max(p.until, c.expires_ms);
    p.count++;
    byPatient.set(c.patient, p);
  }
  return [...byPatient.values()].sort((a, b) => a.patient.localeCompare(b.patient));
}

export function initDoctor(root) {
  let keys = null;
  let me = null;
  let unsubscribe = null;
  let timer = null;
  const content = el("div", { id: "doctor-content", hidden: true });
  const warn = el("p", { class: "note note-warn", hidden: true });
  const err = errorBox();
  const patientsBox = el("div", { id: "doctor-patients" });
  const consentsBox = el("div", { id: "doctor-consents" });

  root.append(
    el("div", { class: "view-head" }, el("h1", {}, "Doctor")),
    el(
      "p",
      { class: "lead" },
      "The patients who shared their records with you. Open your keystore to begin.",
    ),
    keyPanel("doctor", { onKeys: start, onForget: stop }),
    content,
  );
  const day = doctorDay();
  content.append(
    warn,
    err,
    el(
      "section",
      { class: "card", "aria-labelledby": "shared-h" },
      el("h2", { id: "shared-h" }, "Patients who shared with me"),
      el(
        "p",
        { class: "hint" },
        "Live consents naming you. Reading a record's content arrives with the records issue.",
      ),
      patientsBox,
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "doc-consents-h" },
      el("h2", { id: "doc-consents-h" }, "Every consent naming me"),
      consentsBox,
    ),
  );
  content.append(day.section);

  async function load() {
    try {
      const items = await listAll(`/v1/consents?grantee=${me.id}`, (p) => signedGet(p, keys));
      hide(err);
      const shared = sharedPatients(items);
      clear(patientsBox).append(
        table(
          [
            { label: "Patient", cell: (p) => shortId(p.patient, 16) },
            { label: "Shared", cell: (p) => [...p.scopes].join(", ") },
            { label: "Purpose", cell: (p) => [...p.purposes].join(", ") },
            { label: "Until", cell: (p) => fmtTime(p.until) },
          ],
          shared,
          { empty: "No patient shares records with you right now." },
        ),
      );
      patientsBox.querySelectorAll("tbody tr").forEach((tr, i) => {
        tr.dataset.patient = shared[i].patient;
      });
      items.sort((a, b) => b.granted_height - a.granted_height);
      clear(consentsBox).append(
        table(
          consentColumns("Patient", "patient"),
          items,
          { empty: "No consent names you." },
        ),
      );
    } catch (e) {
      showError(err, e);
    }
  }

  function start(k, ident) {
    keys = k;
    me = ident;
    day.start(k, ident);
    const w = kindWarning(ident, "practitioner", "doctor");
    warn.hidden = w === null;
    warn.textContent = w ?? "";
    content.hidden = false;
    load();
    unsubscribe = onEvent("tx", (t) => {
      if (t.contract === "consent" && t.result === "OK") {
        clearTimeout(timer);
        timer = setTimeout(() => keys && load(), 300);
      }
    });
  }

  function stop() {
    day.stop();
    unsubscribe?.();
    unsubscribe = null;
    keys = null;
    me = null;
    content.hidden = true;
    clear(patientsBox);
    clear(consentsBox);
    hide(err);
  }

  return { onShow: () => keys && load() };
}
