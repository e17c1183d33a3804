// The patient's view: with the patient's key in memory, their records'
// metadata, their consents (grant to a doctor or an organization, revoke),
// and the access log of their data. Every read of it is a signed request
// (the node answers them only to the patient, a guardian or an auditor);
// every change is a transaction signed here and submitted to the node.
//
// Export reads a record's ciphertext (purpose "export", an access the chain
// logs like any other), checks it against the anchored hash, decrypts it
// here with the key sealed to the patient (records.js) and offers the
// plaintext as a download; an ECG is plotted too. The access log shows each
// entry's outcome, purpose and node; emergency ("break-glass") reads stand
// out, with the reason the practitioner gave, which only the patient's key
// opens (it is sealed to them on chain).
//
// The consent list follows the patient's own signed event stream
// (/v1/events?patient=ID), so a grant or a revoke shows as soon as its
// block commits, from this page or from anywhere else; so does the access
// log (`access` events), with a notice when an emergency read arrives.
import {
  ApiError,
  getJson,
  listAll,
  signedEvents,
  signedGet,
  status,
  submitCall,
} from "./api.js";
import { fromHex, toHex, wipe } from "./bytes.js";
import { sealOpen, sealTo } from "./crypto.js";
import { patientAppointments } from "./appointments.js";
import { keyPanel, kindWarning } from "./keys.js";
import { fetchContent, openRecord } from "./records.js";
import { recordViewer } from "./recordview.js";
import {
  clear,
  el,
  errorBox,
  fmtTime,
  hide,
  resultBadge,
  shortId,
  showError,
  showNote,
  statusBadge,
  table,
} from "./ui.js";

const CATEGORIES = [
  "cardiology",
  "lab",
  "imaging",
  "general",
  "general-practice",
  "oncology",
  "neurology",
  "pediatrics",
  "radiology",
];
const PURPOSES = ["treatment", "second-opinion", "research", "billing", "emergency"];
const ZERO_ID = "0".repeat(64);
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A consent's status as people read it: an active one past its expiry is expired. */
export function consentState(c, now = Date.now()) {
  if (c.status === "active" && c.expires_ms <= now) {
    return "expired";
  }
  return c.status;
}

/** The columns of a consent table; `party` names the other side's column
 * ("Grantee" for the patient's view, "Patient" for the doctor's). */
export function consentColumns(party, key) {
  return [
    { label: "Consent", cell: (c) => shortId(c.id) },
    { label: party, cell: (c) => shortId(c[key]) },
    {
      label: "Access to",
      cell: (c) => (c.scope === "record" ? el("span", {}, "record ", shortId(c.record)) : c.category),
    },
    { label: "Purpose", cell: (c) => c.purpose },
    { label: "Until", cell: (c) => fmtTime(c.expires_ms) },
    { label: "Status", cell: (c) => statusBadge(consentState(c)) },
  ];
}

function dateInputValue(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function initPatient(root) {
  let keys = null;
  let me = null;
  let records = [];
  let streamCtl = null;
  let reloadTimer = null;
  let recordsSeen = "";

  const content = el("div", { id: "patient-content", hidden: true });
  const warn = el("p", { class: "note note-warn", hidden: true });
  const consentsBox = el("div", { id: "patient-consents" });
  const recordsBox = el("div", { id: "patient-records" });
  const auditBox = el("div", { id: "patient-audit" });
  const consentsErr = errorBox();
  const recordsErr = errorBox();
  const auditErr = errorBox();
  const grantMsg = el("div", { id: "grant-result", role: "status", hidden: true });
  const grantErr = errorBox();
  grantErr.id = "grant-error";
  const live = el("span", { class: "live", id: "patient-live" }, "");
  const exportErr = errorBox();
  exportErr.id = "export-error";
  const viewer = recordViewer("patient");
  const alertBox = el("div", {
    id: "patient-alert",
    class: "note note-alert",
    role: "alert",
    hidden: true,
  });

  // ---- the grant form --------------------------------------------------------

  const grantee = el("input", {
    id: "grant-grantee",
    required: true,
    list: "grantee-list",
    spellcheck: "false",
    autocomplete: "off",
    pattern: "[0-9a-fA-F]{64}",
    title: "64 hex digits",
  });
  const granteeList = el("datalist", { id: "grantee-list" });
  const scope = el(
    "select",
    { id: "grant-scope", onchange: () => syncScope() },
    el("option", { value: "category" }, "a category of my records"),
    el("option", { value: "record" }, "one record"),
  );
  const category = el("input", {
    id: "grant-category",
    list: "category-list",
    value: "cardiology",
    spellcheck: "false",
  });
  const categoryList = el(
    "datalist",
    { id: "category-list" },
    CATEGORIES.map((c) => el("option", { value: c })),
  );
  const record = el("select", { id: "grant-record" });
  const purpose = el("input", {
    id: "grant-purpose",
    list: "purpose-list",
    value: "treatment",
    required: true,
    spellcheck: "false",
  });
  const purposeList = el(
    "datalist",
    { id: "purpose-list" },
    PURPOSES.map((p) => el("option", { value: p })),
  );
  const expires = el("input", {
    id: "grant-expires",
    type: "date",
    required: true,
    value: dateInputValue(Date.now() + YEAR_MS),
  });
  const grantBtn = el("button", { type: "submit", id: "grant-submit" }, "Grant consent");
  const categoryRow = el(
    "div",
    { class: "row" },
    el("label", { for: category.id }, "Category"),
    category,
    categoryList,
  );
  const recordRow = el(
    "div",
    { class: "row", hidden: true },
    el("label", { for: record.id }, "Record"),
    record,
  );

  const grantForm = el(
    "form",
    {
      class: "form grid-form",
      id: "grant-form",
      onsubmit: (ev) => {
        ev.preventDefault();
        grant();
      },
    },
    el(
      "div",
      { class: "row wide" },
      el("label", { for: grantee.id }, "Grantee: a doctor's or an organization's id"),
      grantee,
      granteeList,
    ),
    el("div", { class: "row" }, el("label", { for: scope.id }, "Access to"), scope),
    categoryRow,
    recordRow,
    el("div", { class: "row" }, el("label", { for: purpose.id }, "Purpose"), purpose, purposeList),
    el("div", { class: "row" }, el("label", { for: expires.id }, "Until (end of day)"), expires),
    el("div", { class: "row actions" }, grantBtn),
  );

  function syncScope() {
    const rec = scope.value === "record";
    recordRow.hidden = !rec;
    categoryRow.hidden = rec;
  }

  root.append(
    el("div", { class: "view-head" }, el("h1", {}, "Patient"), live),
    el(
      "p",
      { class: "lead" },
      "Your records, who may read them, and who did. Open your keystore to begin.",
    ),
    keyPanel("patient", { onKeys: start, onForget: stop }),
    content,
  );
  const appts = patientAppointments();
  content.append(
    warn,
    alertBox,
    el(
      "section",
      { class: "card", "aria-labelledby": "consents-h" },
      el("h2", { id: "consents-h" }, "My consents"),
      el(
        "p",
        { class: "hint" },
        "Who may read your records, for what, and until when. A revoked consent stops access at once.",
      ),
      consentsErr,
      consentsBox,
      el("h3", {}, "Grant a consent"),
      grantForm,
      grantErr,
      grantMsg,
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "records-h" },
      el("h2", { id: "records-h" }, "My records"),
      el(
        "p",
        { class: "hint" },
        "What the chain holds about each record: never its content, which stays encrypted off the chain. Export decrypts a record in this page and saves it as FHIR JSON; the export is in your access log.",
      ),
      recordsErr,
      recordsBox,
      exportErr,
      viewer.node,
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "audit-h" },
      el("h2", { id: "audit-h" }, "My access log"),
      el(
        "p",
        { class: "hint" },
        "Every access to your records and every refused attempt, as recorded on the chain. Emergency (break-glass) access is flagged, with the reason given, which only your key can read.",
      ),
      auditErr,
      auditBox,
    ),
  );
  content.append(appts.section);

  // ---- reads -------------------------------------------------------------------

  const signed = (path) => signedGet(path, keys);

  async function loadConsents() {
    try {
      const items = await listAll(`/v1/consents?patient=${me.id}`, signed);
      items.sort((a, b) => b.granted_height - a.granted_height);
      hide(consentsErr);
      clear(consentsBox).append(
        table(
          [
            ...consentColumns("Grantee", "grantee"),
            {
              label: "Action",
              cell: (c) =>
                c.status === "active"
                  ? el(
                      "button",
                      {
                        type: "button",
                        class: "danger small",
                        "data-consent": c.id,
                        "aria-label": `Revoke consent ${c.id.slice(0, 10)} for grantee ${c.grantee.slice(0, 10)}`,
                        onclick: (ev) => revoke(c, ev.currentTarget),
                      },
                      "Revoke",
                    )
                  : "",
            },
          ],
          items,
          { empty: "You have granted no consent." },
        ),
      );
      consentsBox.querySelectorAll("tbody tr").forEach((tr, i) => {
        tr.dataset.consent = items[i].id;
        tr.dataset.grantee = items[i].grantee;
        tr.dataset.status = consentState(items[i]);
      });
    } catch (e) {
      showError(consentsErr, e);
    }
  }

  async function loadRecords() {
    try {
      const got = await listAll(`/v1/records?patient=${me.id}`, signed);
      got.sort((a, b) => b.created_height - a.created_height);
      hide(recordsErr);
      const seen = got.map((r) => `${r.id}:${r.erased}:${r.keys.length}`).join();
      if (seen === recordsSeen && recordsBox.firstChild) {
        return; // unchanged: keep the table (and a button being clicked)
      }
      recordsSeen = seen;
      records = got;
      clear(recordsBox).append(
        table(
          [
            { label: "Record", cell: (r) => shortId(r.id) },
            { label: "Category", cell: (r) => r.category },
            { label: "FHIR type", cell: (r) => r.fhir_type },
            { label: "Author", cell: (r) => shortId(r.author) },
            { label: "Size", cell: (r) => `${r.size} B` },
            { label: "Anchored", cell: (r) => fmtTime(r.created_ms) },
            {
              label: "State",
              cell: (r) => (r.erased ? statusBadge("erased") : statusBadge("active")),
            },
            {
              label: "Content",
              cell: (r) =>
                r.erased
                  ? "—"
                  : el(
                      "button",
                      {
                        type: "button",
                        class: "small",
                        "data-export": r.id,
                        "aria-label": `Export record ${r.id.slice(0, 10)}`,
                        onclick: (ev) => exportRecord(r, ev.currentTarget),
                      },
                      "Export",
                    ),
            },
          ],
          records,
          { empty: "No record is anchored for you yet." },
        ),
      );
      recordsBox.querySelectorAll("tbody tr").forEach((tr, i) => {
        tr.dataset.record = records[i].id;
      });
      clear(record).append(
        ...records
          .filter((r) => !r.erased)
          .map((r) =>
            el("option", { value: r.id }, `${r.category} · ${r.fhir_type} · ${r.id.slice(0, 10)}…`),
          ),
      );
    } catch (e) {
      showError(recordsErr, e);
    }
  }

  /** The reason of an emergency read: sealed to the patient's box key on chain. */
  function reasonOf(a) {
    let opened = null;
    try {
      opened = a.reason_sealed ? sealOpen(fromHex(a.reason_sealed), keys) : null;
    } catch {
      opened = null;
    }
    if (opened === null) {
      return el("em", { class: "reason" }, "the reason is sealed to the patient's key");
    }
    return el(
      "span",
      { class: "reason" },
      "Reason: ",
      el("q", { class: "reason-text" }, new TextDecoder().decode(opened)),
    );
  }

  async function loadAudit() {
    try {
      const [items, st] = await Promise.all([
        listAll(`/v1/audit?patient=${me.id}`, signed),
        status().catch(() => null),
      ]);
      const here = st?.node?.id ?? null;
      items.sort((a, b) => b.seq - a.seq);
      hide(auditErr);
      clear(auditBox).append(
        table(
          [
            { label: "#", cell: (a) => String(a.seq) },
            { label: "When", cell: (a) => fmtTime(a.time_ms) },
            { label: "Record", cell: (a) => shortId(a.record) },
            { label: "Accessor", cell: (a) => shortId(a.accessor) },
            { label: "Purpose", cell: (a) => a.purpose },
            {
              label: "Outcome",
              cell: (a) =>
                el(
                  "span",
                  { class: a.outcome === "granted" ? "badge badge-ok" : "badge badge-bad" },
                  a.outcome === "granted" ? "granted" : `refused: ${a.outcome}`,
                ),
            },
            {
              label: "Node",
              cell: (a) =>
                a.node === here
                  ? el("span", {}, shortId(a.node, 8), " (this node)")
                  : shortId(a.node, 8),
            },
            {
              label: "Emergency",
              cell: (a) =>
                a.emergency
                  ? el(
                      "div",
                      { class: "break-glass" },
                      el("span", { class: "badge badge-alert" }, "BREAK-GLASS"),
                      " ",
                      reasonOf(a),
                    )
                  : "no",
            },
          ],
          items,
          { empty: "Nobody has accessed your records." },
        ),
      );
      auditBox.querySelectorAll("tbody tr").forEach((tr, i) => {
        tr.dataset.audit = items[i].id;
        tr.dataset.record = items[i].record;
        tr.dataset.accessor = items[i].accessor;
        tr.dataset.purpose = items[i].purpose;
        tr.dataset.outcome = items[i].outcome;
        tr.dataset.emergency = String(items[i].emergency);
        if (items[i].emergency) {
          tr.classList.add("audit-emergency");
        }
      });
    } catch (e) {
      showError(auditErr, e);
    }
  }

  let auditTimer = null;
  function scheduleAudit() {
    clearTimeout(auditTimer);
    auditTimer = setTimeout(() => keys && loadAudit(), 300);
  }

  /** An `access` event of the patient's stream: the log reloads; an emergency read is announced. */
  function onAccess(ev) {
    scheduleAudit();
    if (!ev.emergency) {
      return;
    }
    showNote(
      alertBox,
      el(
        "span",
        {},
        el("strong", {}, "Emergency access to your record. "),
        "Practitioner ",
        shortId(ev.accessor, 16),
        " read record ",
        shortId(ev.record, 16),
        ` without your consent (break-glass, ${ev.outcome}) in block ${ev.height}. `,
        "The reason they gave is in your access log below.",
      ),
      "alert",
    );
    alertBox.dataset.audit = ev.audit;
  }

  async function loadGrantees() {
    try {
      const [idents, orgs] = await Promise.all([
        listAll("/v1/identities", getJson, 5),
        listAll("/v1/organizations", getJson, 2),
      ]);
      const orgName = new Map(orgs.map((o) => [o.id, o.name]));
      clear(granteeList).append(
        ...idents
          .filter((i) => i.kind === "practitioner" && i.status === "active")
          .map((i) =>
            el(
              "option",
              { value: i.id },
              `practitioner · ${i.role || "—"} · ${orgName.get(i.org) ?? ""}`,
            ),
          ),
        ...orgs.map((o) => el("option", { value: o.id }, `organization · ${o.name}`)),
      );
    } catch {
      // Suggestions only: the field takes any id.
    }
  }

  // At most one reload per 1.5 s, and not postponed by the next block: a
  // chain with heartbeat blocks every second would otherwise never reload.
  function scheduleReload() {
    if (reloadTimer !== null) {
      return;
    }
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      if (keys) {
        loadRecords();
        loadAudit();
      }
    }, 1500);
  }

  async function follow(ctl) {
    while (!ctl.signal.aborted) {
      try {
        live.textContent = "live";
        live.className = "live live-on";
        await signedEvents(
          `/v1/events?patient=${me.id}`,
          keys,
          (name, data) => {
            if (name === "consent") {
              loadConsents();
            } else if (name === "access") {
              onAccess(data);
            } else if (name === "block" && data.tx_count > 0) {
              scheduleReload();
            }
          },
          ctl.signal,
        );
      } catch (e) {
        if (e instanceof ApiError && e.status >= 400 && e.status < 500) {
          live.textContent = `stream refused: ${e.code}`;
          live.className = "live live-off";
          return;
        }
      }
      if (ctl.signal.aborted) {
        return;
      }
      live.textContent = "reconnecting…";
      live.className = "live live-off";
      await new Promise((r) => setTimeout(r, 2000));
      loadConsents(); // what the broken stream missed
    }
  }

  // ---- export --------------------------------------------------------------------

  /** Reads, checks and decrypts record r, shows it and starts its download. */
  async function exportRecord(r, btn) {
    hide(exportErr);
    btn.disabled = true;
    btn.textContent = "Exporting…";
    try {
      const got = await fetchContent(r.id, "export", keys);
      const plain = openRecord(r, got.bytes, me.id, keys, got.sealedKey);
      const link = viewer.show(r.id, plain, {
        download: true,
        note:
          "Checked against the hash on the chain and decrypted in this page. " +
          "This export is in your access log.",
      });
      link.click();
      scheduleAudit();
    } catch (e) {
      viewer.clear();
      showError(exportErr, e);
    } finally {
      btn.disabled = false;
      btn.textContent = "Export";
    }
  }

  // ---- writes ------------------------------------------------------------------

  /** For a record grant: the record's data key, opened with my box key and sealed to the grantee. */
  async function sealedKeyFor(recId, granteeId) {
    const rec = records.find((r) => r.id === recId);
    const mine = rec ? rec.keys.find((k) => k.reader === me.id) : null;
    if (!mine) {
      return {
        keys: [],
        note: "the record carries no key sealed to you: the grant carries no key",
      };
    }
    let target;
    try {
      target = await getJson(`/v1/identities/${granteeId}`);
    } catch {
      return { keys: [], note: "the grantee is an organization: the grant carries no key" };
    }
    const dataKey = sealOpen(fromHex(mine.sealed_key), keys);
    if (dataKey === null) {
      return {
        keys: [],
        note: "the record's key does not open with your key: the grant carries no key",
      };
    }
    const sealed = sealTo(fromHex(target.box_pk, 32), dataKey);
    wipe(dataKey);
    return {
      keys: [{ reader: granteeId, sealed_key: toHex(sealed) }],
      note: "the record's key is sealed to the grantee",
    };
  }

  async function grant() {
    hide(grantErr);
    hide(grantMsg);
    const g = grantee.value.trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(g)) {
      showError(grantErr, { code: "BAD_ARGS", message: "the grantee is an id of 64 hex digits" });
      return;
    }
    const [y, m, d] = expires.value.split("-").map(Number);
    const expiresMs = new Date(y, m - 1, d, 23, 59, 59, 999).getTime();
    if (!Number.isFinite(expiresMs)) {
      showError(grantErr, { code: "BAD_ARGS", message: "choose an expiry date" });
      return;
    }
    const rec = scope.value === "record";
    if (rec && !record.value) {
      showError(grantErr, { code: "BAD_ARGS", message: "you have no record to grant" });
      return;
    }
    grantBtn.disabled = true;
    grantBtn.textContent = "Granting…";
    try {
      const sealed = rec ? await sealedKeyFor(record.value, g) : { keys: [], note: null };
      const res = await submitCall(keys, "consent", "grant", {
        patient: me.id,
        grantee: g,
        scope: scope.value,
        category: rec ? "" : category.value.trim(),
        record: rec ? record.value : ZERO_ID,
        purpose: purpose.value.trim(),
        expires_ms: expiresMs,
        keys: sealed.keys,
      });
      showNote(
        grantMsg,
        el(
          "span",
          {},
          "Consent granted in block ",
          String(res.height),
          " ",
          resultBadge(res.result),
          sealed.note ? `; ${sealed.note}` : "",
        ),
      );
      await loadConsents();
    } catch (e) {
      showError(grantErr, e);
    } finally {
      grantBtn.disabled = false;
      grantBtn.textContent = "Grant consent";
    }
  }

  async function revoke(c, btn) {
    hide(grantErr);
    btn.disabled = true;
    btn.textContent = "Revoking…";
    try {
      const res = await submitCall(keys, "consent", "revoke", { consent: c.id });
      showNote(
        grantMsg,
        el(
          "span",
          {},
          "Consent revoked in block ",
          String(res.height),
          " ",
          resultBadge(res.result),
        ),
      );
      await loadConsents();
    } catch (e) {
      showError(grantErr, e);
      btn.disabled = false;
      btn.textContent = "Revoke";
    }
  }

  // ---- lifecycle ---------------------------------------------------------------

  function start(k, ident) {
    keys = k;
    me = ident;
    appts.start(k, ident);
    const w = kindWarning(ident, "patient", "patient");
    warn.hidden = w === null;
    warn.textContent = w ?? "";
    content.hidden = false;
    syncScope();
    loadConsents();
    loadRecords();
    loadAudit();
    loadGrantees();
    streamCtl = new AbortController();
    follow(streamCtl);
  }

  function stop() {
    appts.stop();
    streamCtl?.abort();
    streamCtl = null;
    keys = null;
    me = null;
    records = [];
    recordsSeen = "";
    clearTimeout(reloadTimer);
    reloadTimer = null;
    content.hidden = true;
    live.textContent = "";
    viewer.clear();
    clearTimeout(auditTimer);
    [consentsBox, recordsBox, auditBox].forEach(clear);
    [consentsErr, recordsErr, auditErr, grantErr, grantMsg, exportErr, alertBox].forEach(hide);
  }

  return { onShow: () => {} };
}
