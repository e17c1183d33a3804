// Appointments in the portal: the patient finds a doctor's free slots for a
// week, books one, sees it and cancels it; the doctor sees their day.
//
// The booking is made here, with the patient's keys (docs/security.md,
// "Appointments"): a per-slot salt from the patient's view key, the
// commitment to the patient's id, the id encrypted under the salt, the salt
// sealed to the doctor, the clinic's admins and the patient, and a
// capability key per slot for cancelling. The call goes to the node as a
// signed request (POST /v1/appointments) that the node's operator carries
// on chain, so no block names the patient; a node without the clinic's
// operator key answers NO_OPERATOR_KEY, and then the patient may book
// directly, which the page says names them in the block.
import { ApiError, chainId, getJson, listAll, methodSchema, signedGet, submitCall } from "./api.js";
import { concat, equal, fromHex, toHex, u32be, utf8 } from "./bytes.js";
import { encodeRecord } from "./codec.js";
import { keysFromSeed, requestDigest, randomBytes, sealOpen, sealTo, sign, taggedHash } from "./crypto.js";
import { clear, el, errorBox, fmtTime, hide, shortId, showError, showNote, table } from "./ui.js";

const DAY_MS = 86400000;
const ZERO_ID = "0".repeat(64);
const T = Object.freeze({
  VIEW: "medchain.appt.view.v1",
  CAP: "medchain.appt.cap.v1",
  SALT: "medchain.appt.salt.v1",
  COMMIT: "medchain.appt.commit.v1",
  PAD: "medchain.appt.pad.v1",
  AUTH: "medchain.appt.auth.v1",
});

// ---- the scheme (the same as src/cli/cmd_appt.c and src/contracts/appt.c) ----

export function viewKey(keys) {
  return taggedHash(T.VIEW, sign(utf8(T.VIEW), keys));
}

function capKeys(keys, slotHex) {
  return keysFromSeed(taggedHash(T.CAP, sign(concat(utf8(T.CAP), fromHex(slotHex, 32)), keys)));
}

function xor(a, b) {
  return a.map((x, i) => x ^ b[i]);
}

/** Salt, commitment and encrypted id of patient `me` for a slot. */
export function commitFor(view, meHex, slotHex) {
  const salt = taggedHash(T.SALT, concat(view, fromHex(slotHex, 32)));
  const me = fromHex(meHex, 32);
  return {
    salt,
    commitment: taggedHash(T.COMMIT, concat(me, salt)),
    enc: xor(me, taggedHash(T.PAD, salt)),
  };
}

/** The patient id an appointment commits to, for a reader whose sealed salt opens; else null. */
export function openBooking(appt, keys, readerHex) {
  for (const k of appt.keys) {
    if (k.reader !== readerHex && k.reader !== ZERO_ID) {
      continue;
    }
    const salt = sealOpen(fromHex(k.sealed_key, 80), keys);
    if (salt === null) {
      continue;
    }
    const patient = xor(fromHex(appt.patient_enc, 32), taggedHash(T.PAD, salt));
    if (equal(taggedHash(T.COMMIT, concat(patient, salt)), fromHex(appt.commitment, 32))) {
      return toHex(patient);
    }
  }
  return null;
}

async function bookingArgs(keys, me, slotHex) {
  const slot = await getJson(`/v1/slots/${slotHex}`);
  const org = await getJson(`/v1/organizations/${slot.org}`);
  const readers = [...new Set([slot.practitioner, ...org.admins])].slice(0, 15);
  const c = commitFor(viewKey(keys), me.id, slotHex);
  const sealed = [{ reader: ZERO_ID, sealed_key: toHex(sealTo(keys.boxPk, c.salt)) }];
  for (const r of readers) {
    const ident = await getJson(`/v1/identities/${r}`);
    sealed.push({ reader: r, sealed_key: toHex(sealTo(fromHex(ident.box_pk, 32), c.salt)) });
  }
  const args = {
    slot: slotHex,
    commitment: toHex(c.commitment),
    patient_enc: toHex(c.enc),
    booker_pk: toHex(capKeys(keys, slotHex).signPk),
    keys: sealed,
  };
  return { args, salt: toHex(c.salt) };
}

/** cancel's arguments with the capability signature over those before it. */
async function cancelArgs(keys, appt) {
  const schema = await methodSchema("appt", "cancel");
  const prefix = encodeRecord(schema, { appointment: appt.id, auth: "" }).slice(0, -4);
  const chain = utf8(await chainId());
  const method = utf8("cancel");
  const msg = taggedHash(
    T.AUTH,
    concat(u32be(chain.length), chain, u32be(method.length), method, u32be(prefix.length), prefix),
  );
  return { appointment: appt.id, auth: toHex(sign(msg, capKeys(keys, appt.slot))) };
}

/** POST /v1/appointments signed as keys; falls back to a direct call on NO_OPERATOR_KEY. */
async function relay(keys, method, args, salt) {
  const schema = await methodSchema("appt", method);
  const body = JSON.stringify({ method, args: toHex(encodeRecord(schema, args)), ...(salt ? { salt } : {}) });
  const bytes = utf8(body);
  const ts = Date.now();
  const nonce = randomBytes(16);
  const digest = requestDigest("POST", "/v1/appointments", bytes, ts, nonce, await chainId());
  const res = await fetch("/v1/appointments", {
    method: "POST",
    cache: "no-store",
    headers: {
      "Content-Type": "application/json",
      "X-Medchain-Key": toHex(keys.signPk),
      "X-Medchain-Timestamp": String(ts),
      "X-Medchain-Nonce": toHex(nonce),
      "X-Medchain-Signature": toHex(sign(digest, keys)),
    },
    body: bytes,
  });
  const answer = await res.json().catch(() => null);
  if (res.ok) {
    return { ...answer, direct: false };
  }
  const e = answer?.error ?? {};
  if (e.code !== "NO_OPERATOR_KEY") {
    throw new ApiError(e.code ?? "INTERNAL", e.message ?? `HTTP ${res.status}`, res.status, answer);
  }
  return { ...(await submitCall(keys, "appt", method, args)), direct: true };
}

function dayStart(ms) {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

function dateValue(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function dateInput(id) {
  return el("input", { id, type: "date", value: dateValue(Date.now()) });
}

function dateOf(input) {
  const [y, m, d] = input.value.split("-").map(Number);
  return new Date(y, m - 1, d).getTime();
}

// ---- the patient ---------------------------------------------------------------

export function patientAppointments() {
  let keys = null;
  let me = null;
  const doctor = el("select", { id: "appt-doctor" });
  const week = dateInput("appt-week");
  const freeBox = el("div", { id: "appt-free" });
  const mineBox = el("div", { id: "appt-mine" });
  const msg = el("div", { id: "appt-result", role: "status", hidden: true });
  const err = errorBox();
  err.id = "appt-error";
  const find = el("button", { id: "appt-find", type: "button", onclick: () => findSlots() }, "Find free slots");
  const section = el(
    "section",
    { class: "card", "aria-labelledby": "appt-h" },
    el("h2", { id: "appt-h" }, "Appointments"),
    el("p", { class: "hint" }, "Booked through this node for its clinic: the chain holds a commitment, never your id."),
    el("label", {}, "Doctor ", doctor),
    el("label", {}, " Week from ", week),
    find,
    msg,
    err,
    freeBox,
    el("h3", {}, "My appointments"),
    mineBox,
  );

  async function loadDoctors() {
    const ids = await listAll("/v1/identities");
    clear(doctor).append(
      ...ids
        .filter((i) => i.kind === "practitioner" && i.status === "active")
        .map((i) => el("option", { value: i.id }, `${i.role || "practitioner"} ${i.id.slice(0, 10)}…`)),
    );
  }

  async function findSlots() {
    try {
      const from = dayStart(dateOf(week));
      const slots = await listAll(
        `/v1/slots?practitioner=${doctor.value}&from=${from}&to=${from + 7 * DAY_MS}&status=free`,
      );
      hide(err);
      clear(freeBox).append(
        table(
          [
            { label: "Start", cell: (s) => fmtTime(s.start_ms) },
            { label: "Ends", cell: (s) => fmtTime(s.end_ms) },
            { label: "Service", cell: (s) => s.service_type },
            {
              label: "",
              cell: (s) =>
                el("button", { type: "button", class: "appt-book", "data-slot": s.id, onclick: () => book(s.id) }, "Book"),
            },
          ],
          slots,
          { empty: "No free slot that week." },
        ),
      );
    } catch (e) {
      showError(err, e);
    }
  }

  async function book(slotHex) {
    try {
      const { args, salt } = await bookingArgs(keys, me, slotHex);
      const r = await relay(keys, "book", args, salt);
      showNote(msg, r.direct ? "Booked directly: this block names you as the sender." : "Booked through the clinic's node.");
      await Promise.all([findSlots(), loadMine()]);
    } catch (e) {
      showError(err, e);
    }
  }

  async function cancel(appt) {
    try {
      const r = await relay(keys, "cancel", await cancelArgs(keys, appt), null);
      showNote(msg, r.direct ? "Cancelled directly." : "Cancelled.");
      await Promise.all([findSlots(), loadMine()]);
    } catch (e) {
      showError(err, e);
    }
  }

  async function loadMine() {
    try {
      const from = dayStart(Date.now()) - DAY_MS;
      const path = `/v1/patients/${me.id}/appointments?view_key=${toHex(viewKey(keys))}&from=${from}&to=${from + 90 * DAY_MS}`;
      const items = (await listAll(path, (p) => signedGet(p, keys))).filter((a) => a.status !== "rescheduled");
      clear(mineBox).append(
        table(
          [
            { label: "Start", cell: (a) => fmtTime(a.start_ms) },
            { label: "Doctor", cell: (a) => shortId(a.practitioner, 10) },
            { label: "Status", cell: (a) => a.status },
            {
              label: "",
              cell: (a) =>
                a.status === "booked"
                  ? el("button", { type: "button", class: "appt-cancel", "data-appointment": a.id, onclick: () => cancel(a) }, "Cancel")
                  : "",
            },
          ],
          items,
          { empty: "No appointment." },
        ),
      );
      mineBox.querySelectorAll("tbody tr").forEach((tr, i) => {
        if (items[i]) {
          tr.dataset.appointment = items[i].id;
          tr.dataset.status = items[i].status;
        }
      });
    } catch (e) {
      showError(err, e);
    }
  }

  return {
    section,
    start(k, ident) {
      keys = k;
      me = ident;
      loadDoctors().then(loadMine).catch((e) => showError(err, e));
    },
    stop() {
      keys = null;
      me = null;
      clear(freeBox);
      clear(mineBox);
      hide(msg);
      hide(err);
    },
  };
}

// ---- the doctor ------------------------------------------------------------------

export function doctorDay() {
  let keys = null;
  let me = null;
  const day = dateInput("appt-day");
  const box = el("div", { id: "appt-day-list" });
  const err = errorBox();
  const section = el(
    "section",
    { class: "card", "aria-labelledby": "appt-day-h" },
    el("h2", { id: "appt-day-h" }, "My day"),
    el("label", {}, "Day ", day),
    el("button", { id: "appt-day-show", type: "button", onclick: () => load() }, "Show"),
    err,
    box,
  );

  async function load() {
    try {
      const from = dayStart(dateOf(day));
      const items = await listAll(`/v1/appointments?practitioner=${me.id}&from=${from}&to=${from + DAY_MS}`);
      hide(err);
      const rows = items.filter((a) => a.status !== "rescheduled").map((a) => ({ ...a, patient: openBooking(a, keys, me.id) }));
      clear(box).append(
        table(
          [
            { label: "Start", cell: (a) => fmtTime(a.start_ms) },
            { label: "Patient", cell: (a) => (a.patient ? shortId(a.patient, 16) : "(cannot open)") },
            { label: "Status", cell: (a) => a.status },
          ],
          rows,
          { empty: "No appointment that day." },
        ),
      );
      box.querySelectorAll("tbody tr").forEach((tr, i) => {
        if (rows[i]) {
          tr.dataset.patient = rows[i].patient ?? "";
          tr.dataset.status = rows[i].status;
        }
      });
    } catch (e) {
      showError(err, e);
    }
  }

  return {
    section,
    start(k, ident) {
      keys = k;
      me = ident;
      load();
    },
    stop() {
      keys = null;
      me = null;
      clear(box);
    },
    load,
  };
}
