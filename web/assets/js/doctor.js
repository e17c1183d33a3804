// The doctor's view: with the doctor's key in memory, the consents where
// the doctor is the grantee (a signed read of /v1/consents?grantee=ID),
// and from them the patients who shared their records and what they
// shared, for which purpose and until when. A consent granted or revoked
// anywhere shows within a moment: the view re-reads its consents whenever
// a consent transaction commits (the public event stream's `tx` events).
//
// The records shared one by one (record-scoped consents) are listed; Open
// reads one (purpose: the consent's), checks it against the anchored hash
// and decrypts it in the page with the key sealed to the doctor, in the
// anchor or re-sealed by the custodian node (records.js). An ECG is
// plotted, lead by lead; anything else is shown as JSON. A record shared
// through a category consent opens by its id.
import { doctorDay } from "./appointments.js";
import { listAll, signedGet } from "./api.js";
import { onEvent } from "./events.js";
import { keyPanel, kindWarning } from "./keys.js";
import { consentColumns, consentState } from "./patient.js";
import { fetchContent, openRecord } from "./records.js";
import { recordViewer } from "./recordview.js";
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

/** The live record-scoped consents, one row per record (the latest expiry wins). */
export function sharedRecords(consents, now = Date.now()) {
  const byRecord = new Map();
  for (const c of consents) {
    if (c.scope !== "record" || consentState(c, now) !== "active") {
      continue;
    }
    const had = byRecord.get(c.record);
    if (!had || had.expires_ms < c.expires_ms) {
      byRecord.set(c.record, c);
    }
  }
  return [...byRecord.values()].sort((a, b) => b.granted_height - a.granted_height);
}

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
  const recordsBox = el("div", { id: "doctor-records" });
  const openErr = errorBox();
  openErr.id = "doctor-open-error";
  const viewer = recordViewer("doctor");
  const byId = el("input", {
    id: "doctor-record-id",
    spellcheck: "false",
    autocomplete: "off",
    pattern: "[0-9a-fA-F]{64}",
    title: "64 hex digits",
    required: true,
  });
  const byIdPurpose = el("input", {
    id: "doctor-record-purpose",
    value: "treatment",
    spellcheck: "false",
    required: true,
  });
  const byIdForm = el(
    "form",
    {
      class: "form grid-form",
      id: "doctor-open-form",
      onsubmit: (ev) => {
        ev.preventDefault();
        openRecordById();
      },
    },
    el(
      "div",
      { class: "row wide" },
      el("label", { for: byId.id }, "Record id (shared through a category consent)"),
      byId,
    ),
    el("div", { class: "row" }, el("label", { for: byIdPurpose.id }, "Purpose"), byIdPurpose),
    el(
      "div",
      { class: "row actions" },
      el("button", { type: "submit", id: "doctor-open-id" }, "Open"),
    ),
  );

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
        "Live consents naming you: a patient, or your organization on their behalf.",
      ),
      patientsBox,
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "doc-records-h" },
      el("h2", { id: "doc-records-h" }, "Records shared with me"),
      el(
        "p",
        { class: "hint" },
        "Opening a record reads it for the consent's purpose: the patient sees the read in their access log. It is decrypted in this page only.",
      ),
      recordsBox,
      el(
        "details",
        { id: "doctor-open-by-id" },
        el("summary", {}, "Open a record by its id"),
        byIdForm,
      ),
      openErr,
      viewer.node,
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
      const recs = sharedRecords(items);
      clear(recordsBox).append(
        table(
          [
            { label: "Record", cell: (c) => shortId(c.record, 16) },
            { label: "Patient", cell: (c) => shortId(c.patient) },
            { label: "Purpose", cell: (c) => c.purpose },
            { label: "Until", cell: (c) => fmtTime(c.expires_ms) },
            {
              label: "Content",
              cell: (c) =>
                el(
                  "button",
                  {
                    type: "button",
                    class: "small",
                    "data-open": c.record,
                    "aria-label": `Open record ${c.record.slice(0, 10)}`,
                    onclick: (ev) => openShared(c.record, c.purpose, ev.currentTarget),
                  },
                  "Open",
                ),
            },
          ],
          recs,
          { empty: "No record is shared with you one by one right now." },
        ),
      );
      recordsBox.querySelectorAll("tbody tr").forEach((tr, i) => {
        tr.dataset.record = recs[i].record;
        tr.dataset.patient = recs[i].patient;
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

  /** Reads, checks, decrypts and shows a record (anchor first: a refusal reads nothing). */
  async function openShared(record, purpose, btn) {
    hide(openErr);
    const label = btn.textContent;
    btn.disabled = true;
    btn.textContent = "Opening…";
    try {
      const anchor = await signedGet(`/v1/records/${record}`, keys);
      const got = await fetchContent(record, purpose, keys);
      const plain = openRecord(anchor, got.bytes, me.id, keys, got.sealedKey);
      const inAnchor = (anchor.keys ?? []).some((k) => k.reader === me.id);
      viewer.show(record, plain, {
        note:
          "Checked against the hash on the chain and decrypted in this page " +
          `(${anchor.fhir_type}, ${anchor.category}), with ` +
          (inAnchor
            ? "the key the patient sealed to you."
            : "the key the record's custodian node sealed to you for this read."),
      });
      viewer.node.dataset.keySource = inAnchor ? "anchor" : "node";
    } catch (e) {
      viewer.clear();
      showError(openErr, e);
    } finally {
      btn.disabled = false;
      btn.textContent = label;
    }
  }

  function openRecordById() {
    const id = byId.value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(id)) {
      showError(openErr, { code: "BAD_ARGS", message: "a record id is 64 hex digits" });
      return;
    }
    openShared(id, byIdPurpose.value.trim(), byIdForm.querySelector("button"));
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
    clear(recordsBox);
    viewer.clear();
    hide(err);
    hide(openErr);
  }

  return { onShow: () => keys && load() };
}
