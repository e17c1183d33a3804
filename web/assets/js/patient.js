// The patient's view: with the patient's key in memory, their records'
// metadata, their consents (grant to a doctor or an organization, revoke),
// and the access log of their data. Every read of it is a signed request
// (the node answers them only to the patient, a guardian or an auditor);
// every change is a transaction signed here and submitted to the node.
//
// The consent list follows the patient's own signed event stream
// (/v1/events?patient=ID), so a grant or a revoke shows as soon as its
// block commits, from this page or from anywhere else.
import { ApiError, getJson, listAll, signedEvents, signedGet, submitCall } from "./api.js";
import { fromHex, toHex, wipe } from "./bytes.js";
import { sealOpen, sealTo } from "./crypto.js";
import { patientAppointments } from "./appointments.js";
import { keyPanel, kindWarning } from "./keys.js";
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
        "What the chain holds about each record: never its content, which stays encrypted off the chain.",
      ),
      recordsErr,
      recordsBox,
    ),
    el(
      "section",
      { class: "card", "aria-labelledby": "audit-h" },
      el("h2", { id: "audit-h" }, "My access log"),
      el(
        "p",
        { class: "hint" },
        "Every access to your records, as recorded on the chain. Emergency access is flagged.",
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
      records = await listAll(`/v1/records?patient=${me.id}`, signed);
      records.sort((a, b) => b.created_height - a.created_height);
      hide(recordsErr);
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
          ],
          records,
          { empty: "No record is anchored for you yet." },
        ),
      );
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

  async function loadAudit() {
    try {
      const items = await listAll(`/v1/audit?patient=${me.id}`, signed);
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
              label: "Emergency",
              cell: (a) =>
                a.emergency ? el("span", { class: "badge badge-bad" }, "emergency") : "no",
            },
          ],
          items,
          { empty: "Nobody has accessed your records." },
        ),
      );
    } catch (e) {
      showError(auditErr, e);
    }
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

  function scheduleReload() {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(() => {
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
          (name) => {
            if (name === "consent") {
              loadConsents();
            } else if (name === "block") {
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
    content.hidden = true;
    live.textContent = "";
    [consentsBox, recordsBox, auditBox].forEach(clear);
    [consentsErr, recordsErr, auditErr, grantErr, grantMsg].forEach(hide);
  }

  return { onShow: () => {} };
}
