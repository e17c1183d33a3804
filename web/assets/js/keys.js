// The key panel of the patient's and the doctor's views: open a keystore
// file (the 177-byte format of `medchain keygen`, with its passphrase when
// it has one) or paste a 32-byte secret seed, then find the identity the
// key belongs to (GET /v1/keys/{pk}).
//
// The key stays in this page's memory only: it is never sent (requests
// carry signatures and the public key), never written to storage, and
// "Forget key" overwrites it. Reloading the page drops it too.
import { describeError, identityOfKey } from "./api.js";
import { fromHex, toHex, wipe } from "./bytes.js";
import { CryptoError, forgetKeys, keysFromSeed, keystoreHeader, keystoreOpen } from "./crypto.js";
import { loadSodium } from "./sodium.js";
import { clear, el, errorBox, fields, fullId, hide, showError } from "./ui.js";

/**
 * A key panel for `role` ("patient", "doctor"). onKeys(keys, identity) runs
 * when a key is loaded, onForget() when it is dropped.
 */
export function keyPanel(role, { onKeys, onForget }) {
  let keys = null;
  const err = errorBox();
  const busy = el("p", { class: "busy", role: "status", "aria-live": "polite" });
  const file = el("input", {
    type: "file",
    id: `${role}-keyfile`,
    accept: ".key,application/octet-stream",
  });
  const pass = el("input", { type: "password", id: `${role}-passphrase`, autocomplete: "off" });
  const seed = el("input", {
    type: "password",
    id: `${role}-seed`,
    autocomplete: "off",
    spellcheck: "false",
    inputmode: "text",
  });
  const who = el("div", { class: "who", id: `${role}-who`, hidden: true });

  const fileForm = el(
    "form",
    {
      class: "form",
      id: `${role}-keyform`,
      onsubmit: (ev) => {
        ev.preventDefault();
        openFile();
      },
    },
    el("div", { class: "row" }, el("label", { for: file.id }, "Keystore file"), file),
    el(
      "div",
      { class: "row" },
      el("label", { for: pass.id }, "Passphrase"),
      pass,
      el("small", {}, "Leave empty for an unprotected keystore."),
    ),
    el("button", { type: "submit", id: `${role}-open` }, "Open keystore"),
  );
  const seedForm = el(
    "form",
    {
      class: "form",
      onsubmit: (ev) => {
        ev.preventDefault();
        useSeed();
      },
    },
    el("div", { class: "row" }, el("label", { for: seed.id }, "Secret seed (64 hex digits)"), seed),
    el("button", { type: "submit", id: `${role}-use-seed` }, "Use this seed"),
  );
  const loader = el(
    "div",
    { class: "loader" },
    fileForm,
    el("details", {}, el("summary", {}, "Or paste a secret seed"), seedForm),
  );
  const panel = el(
    "section",
    { class: "card keypanel", "aria-labelledby": `${role}-key-h` },
    el("h2", { id: `${role}-key-h` }, "Your key"),
    el(
      "p",
      { class: "hint" },
      "Your key stays in this page's memory: it is never sent to the node or stored, and closing the page drops it. Requests are signed with it here.",
    ),
    loader,
    busy,
    err,
    who,
  );

  async function withBusy(text, fn) {
    hide(err);
    busy.textContent = text;
    // Let the message paint before the key derivation holds the thread.
    await new Promise((r) => setTimeout(r, 30));
    try {
      await loadSodium();
      await fn();
    } catch (e) {
      showError(err, e);
    } finally {
      busy.textContent = "";
    }
  }

  async function openFile() {
    const f = file.files && file.files[0];
    if (!f) {
      showError(err, { code: "BAD_ARGS", message: "choose a keystore file first" });
      return;
    }
    if (f.size !== 177) {
      showError(err, { code: "MALFORMED", message: "a keystore file is exactly 177 bytes" });
      return;
    }
    const bytes = new Uint8Array(await f.arrayBuffer());
    await withBusy("Opening the keystore… (a protected one takes a few seconds)", async () => {
      const h = keystoreHeader(bytes);
      if (h.protected && pass.value === "") {
        throw new CryptoError("BAD_PASSPHRASE", "this keystore is protected: enter its passphrase");
      }
      const k = keystoreOpen(bytes, pass.value);
      pass.value = "";
      wipe(bytes);
      await adopt(k);
    });
  }

  async function useSeed() {
    await withBusy("Deriving the keys…", async () => {
      let raw;
      try {
        raw = fromHex(seed.value.trim(), 32);
      } catch {
        throw new CryptoError("BAD_ARGS", "a secret seed is 64 hex digits");
      }
      seed.value = "";
      const k = keysFromSeed(raw);
      wipe(raw);
      await adopt(k);
    });
  }

  async function adopt(k) {
    let ident;
    try {
      ident = await identityOfKey(k);
    } catch (e) {
      forgetKeys(k);
      const d = describeError(e);
      if (d.code === "NOT_FOUND") {
        throw new CryptoError("UNKNOWN_SENDER", "this key belongs to no identity on this chain");
      }
      throw e;
    }
    if (ident.sign_pk !== toHex(k.signPk)) {
      forgetKeys(k);
      throw new CryptoError(
        "KEY_MISMATCH",
        "this key was retired by a key rotation: use the identity's current key",
      );
    }
    keys = k;
    loader.hidden = true;
    clear(who).append(
      fields([
        ["Identity", fullId(ident.id)],
        ["Kind", ident.kind],
        ["Organization", fullId(ident.org)],
        ["Status", ident.status],
      ]),
      el(
        "button",
        { type: "button", class: "secondary", id: `${role}-forget`, onclick: forget },
        "Forget key",
      ),
    );
    who.hidden = false;
    onKeys(keys, ident);
  }

  function forget() {
    forgetKeys(keys);
    keys = null;
    clear(who);
    who.hidden = true;
    loader.hidden = false;
    file.value = "";
    onForget();
  }

  return panel;
}

/** Whether an identity's kind fits a view, as a sentence when it does not. */
export function kindWarning(ident, want, view) {
  if (ident.kind === want) {
    return null;
  }
  return `This key belongs to a ${ident.kind}, not a ${want}: the ${view} view shows what a ${want} sees.`;
}
