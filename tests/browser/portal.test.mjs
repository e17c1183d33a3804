// The portal in headless Chromium (Debian's /usr/bin/chromium), driven by
// playwright-core:
//
//   node tests/browser/portal.test.mjs --bin build-asan/medchain \
//        [--artifacts DIR] [--keep]
//
// The test starts its own one-node testnet on 127.0.0.1 with the CLI (as
// tests/integration/mc.py does), enrols a patient with an Argon2id-protected
// keystore and registers a doctor, then checks what a person sees:
//
//   - the explorer's height and chart grow as blocks commit, and a block and
//     a transaction open in detail windows;
//   - a wrong passphrase is refused with BAD_PASSPHRASE, the right one opens
//     the patient's keystore in the page;
//   - the patient grants a consent to the doctor and sees it listed (and the
//     node agrees, read back with `medchain query --key`);
//   - the doctor's view lists the patient while the consent is live;
//   - the patient revokes it and sees it revoked (the node agrees), and the
//     doctor's view no longer lists the patient;
//   - records (recordsSteps): a doctor imports an ECG with the CLI and the
//     patient shares it with the page's doctor; the patient exports it in the
//     page (the download is the Observation `medchain records export` writes)
//     and sees the reads in their access log with outcome, purpose and node;
//     the doctor opens the ECG and its 12 leads are plotted on a canvas; an
//     emergency read with the CLI is flagged in the patient's log with its
//     reason decrypted, and announced while the page is open;
//   - no script error and no Content-Security-Policy violation on the way.
//
// Screenshots go to --artifacts (CTest: build-asan/browser-artifacts/).
// Every wait is bounded; the testnet is stopped whatever happens.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
];
const WAIT_MS = 30000; // one UI step: a block, a signed read, a re-render
const KEY_WAIT_MS = 90000; // Argon2id (256 MiB) in WebAssembly, under a loaded machine
const WATCHDOG_MS = 540000; // the whole test, below CTest's timeout
const PASSPHRASE = "correct horse battery staple";
const HOSPITAL = "riverside-general-hospital";

// ---- arguments, checks ---------------------------------------------------------

function arg(name, fallback = null) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const BIN = arg("bin");
if (!BIN) {
  console.error(
    "usage: node tests/browser/portal.test.mjs --bin MEDCHAIN [--artifacts DIR] [--keep]",
  );
  process.exit(2);
}
const ARTIFACTS = path.resolve(arg("artifacts", "browser-artifacts"));
const KEEP = process.argv.includes("--keep");

const passed = [];
const failed = [];

function check(cond, what) {
  if (cond) {
    passed.push(what);
    console.log(`ok: ${what}`);
  } else {
    failed.push(what);
    console.log(`FAIL: ${what}`);
  }
}

// ---- the testnet ---------------------------------------------------------------

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A base port with `span` free ports above it, like mc.py's free_port_base. */
async function freePortBase(span = 20) {
  for (let tries = 0; tries < 50; tries++) {
    const base = 20000 + Math.floor(Math.random() * 40000);
    let ok = true;
    for (let p = base; p < base + span && ok; p++) {
      ok = await portFree(p);
    }
    if (ok) {
      return base;
    }
  }
  throw new Error("no free port range");
}

class Testnet {
  constructor(dir, base) {
    this.dir = dir;
    this.net = path.join(dir, "net");
    this.url = `http://127.0.0.1:${base}`;
    this.base = base;
  }

  run(args, env = {}) {
    return execFileSync(BIN, args, {
      encoding: "utf8",
      timeout: 120000,
      env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? "detect_leaks=1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  init() {
    this.run([
      "testnet",
      "init",
      "--nodes",
      "1",
      "--dir",
      this.net,
      "--base-port",
      String(this.base),
    ]);
    // A block every second even without transactions, so the explorer has
    // something to show growing.
    const cfg = path.join(this.net, "node0", "config");
    const text = fs.readFileSync(cfg, "utf8");
    fs.writeFileSync(
      cfg,
      /^heartbeat_ms\s*=.*$/m.test(text)
        ? text.replace(/^heartbeat_ms\s*=.*$/m, "heartbeat_ms = 1000")
        : `${text}heartbeat_ms = 1000\n`,
    );
  }

  start() {
    this.run(["testnet", "start", "--dir", this.net]);
  }

  stop() {
    try {
      this.run(["testnet", "stop", "--dir", this.net]);
    } catch (e) {
      console.log(`testnet stop: ${e.message}`);
    }
  }

  keygen(name, passphrase = null) {
    const file = path.join(this.dir, `${name}.key`);
    const args = ["keygen", "--out", file, "--json"];
    const env = {};
    if (passphrase === null) {
      args.push("--no-passphrase");
    } else {
      env.MEDCHAIN_PASSPHRASE = passphrase;
    }
    return { ...JSON.parse(this.run(args, env)), file };
  }

  tx(key, call, ...kv) {
    return JSON.parse(this.run(["tx", "--node", this.url, "--key", key, "--json", call, ...kv]));
  }

  /** A signed read through the CLI, as the keystore's identity. */
  query(key, passphrase, ...args) {
    const env = passphrase === null ? {} : { MEDCHAIN_PASSPHRASE: passphrase };
    return JSON.parse(
      this.run(["query", "--node", this.url, "--key", key, "--json", ...args], env),
    );
  }

  admin(slug) {
    return path.join(this.net, "keys", `${slug}-admin.key`);
  }
}

// ---- the page ------------------------------------------------------------------

async function shot(page, name) {
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

/** Waits until fn() (run in the page) is truthy; false after timeout. */
async function until(page, fn, arg, timeout = WAIT_MS) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 200 });
    return true;
  } catch {
    return false;
  }
}

async function text(page, sel) {
  return (await page.locator(sel).first().textContent({ timeout: WAIT_MS })) ?? "";
}

async function explorer(page, tn, txHeight) {
  await page.goto(`${tn.url}/`, { timeout: WAIT_MS });
  check((await page.title()).startsWith("medchain"), "the node serves the portal at /");
  check(
    await until(page, () => Number(document.querySelector("#stat-height")?.textContent) > 0),
    "the explorer shows the chain's height",
  );
  const chain = await text(page, "#stat-chain");
  check(chain === "medchain-local", `the explorer shows the chain id (${chain})`);
  const h0 = Number(await text(page, "#stat-height"));
  const b0 = Number(await page.locator("#chart").getAttribute("data-blocks"));
  await shot(page, "01-explorer");
  check(
    await until(
      page,
      (h) => Number(document.querySelector("#stat-height").textContent) >= h + 3,
      h0,
    ),
    `the height grows as blocks commit (from ${h0})`,
  );
  check(
    await until(page, (b) => Number(document.querySelector("#chart").dataset.blocks) >= b + 3, b0),
    `the chart grows with them (from ${b0} blocks)`,
  );
  check(
    (await page.locator("#explorer-live").textContent()) === "live",
    "the event stream is live",
  );
  await shot(page, "02-explorer-grown");

  // The block of the patient's enrolment: it has a transaction.
  await page.fill("#explorer-search", String(txHeight));
  await page.click("form.search button");
  check(
    await until(
      page,
      (h) => document.querySelector("#block-detail")?.dataset.height === String(h),
      txHeight,
    ),
    "a block opens in a detail window",
  );
  const detail = await text(page, "#block-detail");
  check(
    /Transactions root/.test(detail) && /identity\.(enrol_patient|register)/.test(detail),
    "the block window shows the header and its transactions",
  );
  await shot(page, "03-block-window");
  await page.locator("#block-detail tbody tr").first().click();
  check(
    await until(page, () => /Nonce/.test(document.querySelector("#tx-detail")?.textContent ?? "")),
    "a transaction opens in a detail window",
  );
  const txText = await text(page, "#tx-detail");
  check(
    /identity/.test(txText) && /OK/.test(txText) && /committed/.test(txText),
    "the transaction window shows contract, method, result and status",
  );
  await shot(page, "04-tx-window");
  await page.click("#window .window-close");
}

async function openKey(page, role, file, passphrase) {
  await page.setInputFiles(`#${role}-keyfile`, file);
  await page.fill(`#${role}-passphrase`, passphrase);
  await page.click(`#${role}-open`);
}

async function patientGrantsAndRevokes(page, tn, patient, doctor) {
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  await page.waitForSelector("#patient-keyfile", { timeout: WAIT_MS });

  await openKey(page, "patient", patient.file, "not the passphrase");
  check(
    await until(
      page,
      () =>
        /BAD_PASSPHRASE/.test(
          document.querySelector("#view-patient .keypanel .error")?.textContent ?? "",
        ),
      null,
      KEY_WAIT_MS,
    ),
    "a wrong passphrase is refused with BAD_PASSPHRASE",
  );
  await openKey(page, "patient", patient.file, PASSPHRASE);
  check(
    await until(
      page,
      (id) => (document.querySelector("#patient-who")?.textContent ?? "").includes(id),
      patient.id,
      KEY_WAIT_MS,
    ),
    "the patient's protected keystore opens in the page",
  );
  check(
    await until(page, () =>
      document.querySelector("#patient-consents")?.textContent.includes("no consent"),
    ),
    "a signed read lists the patient's (no) consents",
  );
  const stored = await page.evaluate(() => [
    localStorage.length,
    sessionStorage.length,
    document.cookie,
  ]);
  check(
    stored[0] === 0 && stored[1] === 0 && stored[2] === "",
    "nothing of the key is stored by the page",
  );

  await page.fill("#grant-grantee", doctor.id);
  await page.selectOption("#grant-scope", "category");
  await page.fill("#grant-category", "cardiology");
  await page.fill("#grant-purpose", "treatment");
  await page.click("#grant-submit");
  const granted = `#patient-consents tr[data-grantee="${doctor.id}"][data-status="active"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, granted),
    "the patient sees the consent granted to the doctor",
  );
  check(
    /Consent granted in block \d+/.test(await text(page, "#grant-result")),
    "the grant reports its block",
  );
  const consentId = await page.locator(granted).getAttribute("data-consent");
  await shot(page, "05-patient-granted");

  const fromNode = tn.query(patient.file, PASSPHRASE, "consents", "--patient", patient.id);
  const c = (fromNode.items ?? []).find((x) => x.id === consentId);
  check(
    c && c.status === "active" && c.grantee === doctor.id && c.category === "cardiology",
    "the node holds the consent as granted (signed read through the CLI)",
  );
  return consentId;
}

async function doctorSees(page, tn, doctor, patient, shouldList, name) {
  await page.goto(`${tn.url}/#/doctor`, { timeout: WAIT_MS });
  if (await page.locator("#doctor-keyfile").isVisible()) {
    await openKey(page, "doctor", doctor.file, "");
    check(
      await until(
        page,
        (id) => (document.querySelector("#doctor-who")?.textContent ?? "").includes(id),
        doctor.id,
      ),
      "the doctor's unprotected keystore opens in the page",
    );
  }
  const row = `#doctor-patients tr[data-patient="${patient.id}"]`;
  const ok = await until(page, ([sel, want]) => (document.querySelector(sel) !== null) === want, [
    row,
    shouldList,
  ]);
  check(
    ok,
    shouldList
      ? "the doctor's view lists the patient while the consent is live"
      : "the doctor's view no longer lists the patient after the revoke",
  );
  await shot(page, name);
}

async function patientRevokes(page, tn, patient, consentId) {
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  await page.click(`button[data-consent="${consentId}"]`, { timeout: WAIT_MS });
  const revoked = `#patient-consents tr[data-consent="${consentId}"][data-status="revoked"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, revoked),
    "the patient sees the consent revoked",
  );
  check(
    (await page.locator(`button[data-consent="${consentId}"]`).count()) === 0,
    "a revoked consent offers no revoke",
  );
  await shot(page, "07-patient-revoked");
  const fromNode = tn.query(patient.file, PASSPHRASE, `/v1/consents/${consentId}`);
  check(
    fromNode.status === "revoked" && fromNode.revoked_height > 0,
    "the node holds the consent as revoked (signed read through the CLI)",
  );
}

// ---- records: export, access log, ECG plot, break-glass (issue 5) --------------

const ECG_VECTOR = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "vectors",
  "ecg",
  "synth212.hea",
);
const ECG_LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"];
const FAR_MS = "4102444800000"; // 2100-01-01
const BREAK_GLASS_REASON = "unconscious on arrival, no consent on file";

/**
 * With the CLI: a second practitioner of the hospital (the author) imports
 * the synthetic 12-lead ECG for the patient, the patient shares it with the
 * doctor, and `records export --format fhir` gives the Observation the
 * page's export must equal. Also registers the practitioner who will read
 * it in an emergency.
 */
function recordsSetup(tn, patient) {
  const admin = tn.admin(HOSPITAL);
  const register = (name, role) => {
    const k = tn.keygen(name);
    tn.tx(
      admin,
      "identity.register",
      "kind=practitioner",
      `sign_pk=@${k.file}`,
      `box_pk=@${k.file}`,
      `licence_hash=${Buffer.from(name.padEnd(32, ".")).toString("hex")}`,
      `role=${role}`,
    );
    return k;
  };
  const author = register("ecg-author", "cardiology");
  const er = register("er-doctor", "emergency");
  const colleague = register("colleague", "cardiology");
  const imported = JSON.parse(
    tn.run([
      "import",
      "ecg",
      "--node",
      tn.url,
      "--key",
      author.file,
      "--patient",
      patient.id,
      "--in",
      ECG_VECTOR,
      "--json",
    ]),
  );
  const pass = { MEDCHAIN_PASSPHRASE: PASSPHRASE };
  const out = path.join(tn.dir, "export-fhir");
  tn.run(
    [
      "records",
      "export",
      "--node",
      tn.url,
      "--key",
      patient.file,
      "--record",
      imported.record,
      "--format",
      "fhir",
      "--out-dir",
      out,
    ],
    pass,
  );
  const reference = JSON.parse(fs.readFileSync(path.join(out, `${imported.record}.json`), "utf8"));
  return { author, er, colleague, record: imported.record, reference, pass };
}

function recordsShare(tn, patient, doctor, rec) {
  tn.run(
    [
      "records",
      "share",
      "--node",
      tn.url,
      "--key",
      patient.file,
      "--record",
      rec.record,
      "--grantee",
      doctor.id,
      "--expires-ms",
      FAR_MS,
      "--json",
    ],
    rec.pass,
  );
}

/** In the page: how many dark (trace) pixels each lead's strip has right of its label. */
function ecgInk(sel) {
  const c = document.querySelector(sel);
  if (!c || !c.dataset.leads) {
    return null;
  }
  const leads = Number(c.dataset.leads);
  const scale = c.width / parseFloat(c.style.width);
  const g = c.getContext("2d");
  const px = g.getImageData(0, 0, c.width, c.height).data;
  const strip = c.height / leads;
  const left = Math.ceil(40 * scale); // past the label and the calibration pulse
  const ink = new Array(leads).fill(0);
  for (let y = 0; y < c.height; y++) {
    for (let x = left; x < c.width; x++) {
      const i = 4 * (y * c.width + x);
      if (px[i] < 90 && px[i + 1] < 90 && px[i + 2] < 90) {
        ink[Math.min(leads - 1, Math.floor(y / strip))]++;
      }
    }
  }
  return ink;
}

async function ensureKey(page, role, who, passphrase) {
  await page.waitForSelector(`#${role}-keyfile`, { state: "attached", timeout: WAIT_MS });
  if (await page.locator(`#${role}-keyfile`).isVisible()) {
    await openKey(page, role, who.file, passphrase);
    check(
      await until(
        page,
        ([r, id]) => (document.querySelector(`#${r}-who`)?.textContent ?? "").includes(id),
        [role, who.id],
        KEY_WAIT_MS,
      ),
      `the ${role}'s keystore opens again`,
    );
  }
}

async function patientExports(page, tn, patient, rec) {
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  await ensureKey(page, "patient", patient, PASSPHRASE);
  const btn = `#patient-records button[data-export="${rec.record}"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, btn),
    "the patient sees the imported ECG among their records",
  );
  const download = page.waitForEvent("download", { timeout: WAIT_MS }).catch(() => null);
  await page.click(btn);
  const d = await download;
  check(d !== null, "Export starts a download");
  if (d !== null) {
    check(
      d.suggestedFilename() === `${rec.record}.json`,
      `the download is named RECORD-ID.json (${d.suggestedFilename()})`,
    );
    const file = path.join(ARTIFACTS, "export.json");
    await d.saveAs(file);
    let got = null;
    try {
      got = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch {
      got = null;
    }
    check(
      got !== null && got.resourceType === "Observation" && isDeepStrictEqual(got, rec.reference),
      "the downloaded Observation equals `medchain records export --format fhir`",
    );
  }
  check(
    await until(page, () => document.querySelector("#patient-ecg")?.dataset.leads === "12"),
    "the patient's export is plotted too (12 leads)",
  );
  // The ECG also saves as a PhysioNet WFDB record (format 16): its signal
  // file holds exactly the samples of the synthetic vector imported.
  const wfdb = page.waitForEvent("download", { timeout: WAIT_MS }).catch(() => null);
  await page.click("#patient-wfdb-dat").catch(() => null);
  const wd = await wfdb;
  check(wd !== null && wd.suggestedFilename() === "synth212.dat", "the ECG saves as WFDB too");
  if (wd !== null) {
    const datFile = path.join(ARTIFACTS, "export.dat");
    await wd.saveAs(datFile);
    const want = fs.readFileSync(path.join(path.dirname(ECG_VECTOR), "synth16.dat"));
    check(
      Buffer.compare(fs.readFileSync(datFile), want) === 0,
      "the WFDB signal file equals the vector's samples (format 16)",
    );
  }
  const exportRow = `#patient-audit tr[data-record="${rec.record}"][data-accessor="${patient.id}"][data-purpose="export"][data-outcome="granted"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, exportRow),
    "the export is in the patient's access log (granted, purpose export)",
  );
  const node = await text(page, `${exportRow} td[data-label="Node"]`);
  check(/this node/.test(node), `the log names the node that served it (${node.trim()})`);
  await shot(page, "10-patient-export");
}

async function doctorOpensEcg(page, tn, doctor, rec) {
  await page.goto(`${tn.url}/#/doctor`, { timeout: WAIT_MS });
  await ensureKey(page, "doctor", doctor, "");
  const btn = `#doctor-records button[data-open="${rec.record}"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, btn),
    "the doctor's view lists the record shared with them",
  );
  await page.click(btn);
  check(
    await until(page, () => document.querySelector("#doctor-ecg")?.dataset.leads === "12"),
    "Open decrypts the shared ECG and plots it on a canvas",
  );
  const names = await page.locator("#doctor-ecg-leads li").allTextContents();
  check(
    isDeepStrictEqual(names, ECG_LEADS),
    `the 12 lead labels are listed (${names.join(" ")})`,
  );
  const ink = await page.evaluate(ecgInk, "#doctor-ecg");
  check(
    Array.isArray(ink) && ink.length === 12 && ink.every((n) => n > 200),
    `every lead's strip has a trace drawn (dark pixels per strip: ${ink})`,
  );
  const err = await page.locator("#doctor-open-error").isVisible();
  check(!err, "no error while opening the record");
  await page.locator("#doctor-ecg").scrollIntoViewIfNeeded();
  await shot(page, "11-doctor-ecg");
}

async function breakGlass(page, tn, patient, doctor, rec) {
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  await ensureKey(page, "patient", patient, PASSPHRASE);
  // A read without consent is refused, and logged as refused.
  let refused = "";
  try {
    tn.run([
      "records",
      "get",
      "--node",
      tn.url,
      "--key",
      rec.er.file,
      "--record",
      rec.record,
      "--out",
      path.join(tn.dir, "er-no-consent.json"),
    ]);
  } catch (e) {
    refused = String(e.stderr ?? e.message);
  }
  check(/CONSENT_REQUIRED/.test(refused), "a read without consent is refused (CLI)");
  tn.run([
    "records",
    "get",
    "--node",
    tn.url,
    "--key",
    rec.er.file,
    "--record",
    rec.record,
    "--purpose",
    "emergency",
    "--reason",
    BREAK_GLASS_REASON,
    "--out",
    path.join(tn.dir, "er.json"),
  ]);
  check(
    await until(
      page,
      (id) =>
        !document.querySelector("#patient-alert").hidden &&
        /Emergency access/.test(document.querySelector("#patient-alert").textContent) &&
        document.querySelector("#patient-alert").textContent.includes(id.slice(0, 10)),
      rec.er.id,
    ),
    "the open page announces the emergency read as it commits",
  );
  const row = `#patient-audit tr.audit-emergency[data-accessor="${rec.er.id}"][data-outcome="granted"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, row),
    "the emergency read is flagged in the patient's access log",
  );
  const reason = await text(page, `${row} .reason-text`);
  check(reason === BREAK_GLASS_REASON, `its reason is decrypted for the patient (${reason})`);
  check(
    /BREAK-GLASS/.test(await text(page, `${row} .break-glass`)),
    "the entry is marked BREAK-GLASS",
  );
  const refusedRow = `#patient-audit tr[data-accessor="${rec.er.id}"][data-outcome="CONSENT_REQUIRED"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, refusedRow),
    "the refused attempt is in the log with its code",
  );
  const treated = `#patient-audit tr[data-accessor="${doctor.id}"][data-purpose="treatment"][data-outcome="granted"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, treated),
    "the doctor's read is in the log (purpose treatment)",
  );
  await page.locator("#patient-audit").scrollIntoViewIfNeeded();
  await shot(page, "12-patient-break-glass");
}

/**
 * A category consent carries no key: the patient grants "cardiology" to a
 * colleague in the page, and the colleague opens the ECG by its id with the
 * key the custodian node re-seals to them (X-Medchain-Sealed-Key).
 */
async function colleagueByCategory(page, tn, patient, rec) {
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  await ensureKey(page, "patient", patient, PASSPHRASE);
  await page.fill("#grant-grantee", rec.colleague.id);
  await page.selectOption("#grant-scope", "category");
  await page.fill("#grant-category", "cardiology");
  await page.fill("#grant-purpose", "treatment");
  await page.click("#grant-submit");
  const granted = `#patient-consents tr[data-grantee="${rec.colleague.id}"][data-status="active"]`;
  check(
    await until(page, (sel) => document.querySelector(sel) !== null, granted),
    "the patient grants cardiology to a colleague in the page",
  );
  await page.goto(`${tn.url}/#/doctor`, { timeout: WAIT_MS });
  if (await page.locator("#doctor-forget").isVisible()) {
    await page.click("#doctor-forget");
  }
  await ensureKey(page, "doctor", rec.colleague, "");
  await page.click("#doctor-open-by-id summary");
  await page.fill("#doctor-record-id", rec.record);
  await page.fill("#doctor-record-purpose", "treatment");
  await page.click("#doctor-open-id");
  check(
    await until(
      page,
      () =>
        document.querySelector("#doctor-ecg")?.dataset.leads === "12" &&
        document.querySelector("#doctor-record-view")?.dataset.keySource === "node",
    ),
    "the colleague opens the ECG by id with the key the node re-sealed to them",
  );
  await shot(page, "13-colleague-category");
}

/** The records steps, on the page as the earlier steps left it. */
async function recordsSteps(page, tn, patient, doctor) {
  const rec = recordsSetup(tn, patient);
  recordsShare(tn, patient, doctor, rec);
  await patientExports(page, tn, patient, rec);
  await doctorOpensEcg(page, tn, doctor, rec);
  await breakGlass(page, tn, patient, doctor, rec);
  await colleagueByCategory(page, tn, patient, rec);
}

// ---- main ----------------------------------------------------------------------

// ---- appointments (issue 7): a booking journey ---------------------------------

function localDate(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** The clinic publishes four slots tomorrow; returns their start. */
function publishSlots(tn, doctor) {
  const admin = tn.admin(HOSPITAL);
  tn.tx(admin, "appt.create_schedule", `practitioner=${doctor.id}`, "service_type=consult");
  const sch = JSON.parse(tn.run(["query", "--node", tn.url, "--json", `/v1/schedules?practitioner=${doctor.id}`]));
  const start = (Math.floor(Date.now() / 3600000) + 24) * 3600000;
  let pairs = "";
  for (let i = 0; i < 4; i++) {
    const be = (v) => BigInt(v).toString(16).padStart(16, "0");
    pairs += be(start + i * 1800000) + be(start + (i + 1) * 1800000);
  }
  tn.tx(admin, "appt.publish", `schedule=${sch.items[0].id}`, `slots=${pairs}`);
  return start;
}

function slotOnNode(tn, doctor, start) {
  const q = `/v1/slots?practitioner=${doctor.id}&from=${start}&to=${start + 1}`;
  return JSON.parse(tn.run(["query", "--node", tn.url, "--json", q])).items[0];
}

async function patientBooks(page, tn, patient, doctor) {
  const start = publishSlots(tn, doctor);
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  check(
    await until(page, (id) => !!document.querySelector(`#appt-doctor option[value="${id}"]`), doctor.id),
    "the patient's view lists the doctor for booking",
  );
  await page.selectOption("#appt-doctor", doctor.id);
  await page.fill("#appt-week", localDate(Date.now()));
  await page.click("#appt-find");
  check(
    await until(page, () => document.querySelectorAll("#appt-free .appt-book").length === 4),
    "the doctor's four free slots of the week are listed",
  );
  await shot(page, "20-appt-free");
  const slotId = await page.getAttribute("#appt-free .appt-book", "data-slot");
  await page.click("#appt-free .appt-book");
  check(
    await until(page, () => !!document.querySelector('#appt-mine tr[data-status="booked"]')),
    "the patient books a slot and sees the appointment",
  );
  check(
    await until(page, () => document.querySelectorAll("#appt-free .appt-book").length === 3),
    "the booked slot leaves the free list",
  );
  const onNode = slotOnNode(tn, doctor, start);
  check(onNode.id === slotId && onNode.status === "busy", "the node agrees: the slot is busy");
  const appt = JSON.parse(tn.run(["query", "--node", tn.url, "--json", `/v1/appointments/${onNode.appointment}`]));
  check(!JSON.stringify(appt).includes(patient.id), "the appointment on chain does not name the patient");
  await shot(page, "21-appt-booked");
  return { start, slotId };
}

async function doctorSeesDay(page, tn, doctor, patient, start) {
  await page.goto(`${tn.url}/#/doctor`, { timeout: WAIT_MS });
  await page.fill("#appt-day", localDate(start));
  await page.click("#appt-day-show");
  check(
    await until(
      page,
      (id) => !!document.querySelector(`#appt-day-list tr[data-patient="${id}"][data-status="booked"]`),
      patient.id,
    ),
    "the doctor's day shows the booking, opened to the patient",
  );
  await shot(page, "22-doctor-day");
}

async function patientCancels(page, tn, doctor, start) {
  await page.goto(`${tn.url}/#/patient`, { timeout: WAIT_MS });
  await page.waitForSelector("#appt-mine .appt-cancel", { timeout: WAIT_MS });
  await page.click("#appt-mine .appt-cancel");
  check(
    await until(page, () => !document.querySelector('#appt-mine tr[data-status="booked"]')),
    "the patient cancels and the appointment leaves their list",
  );
  check(slotOnNode(tn, doctor, start).status === "free", "the node agrees: the slot is free again");
  await shot(page, "23-appt-cancelled");
}

// ---- drugs: the pharmacy's verification, the regulator's trace and recall -------------

const GTIN = "80614141123458";

/** A manufacturer admitted by the two hospitals commissions two serials of lot L1. */
function supplyData(tn) {
  const maker = tn.keygen("maker");
  tn.tx(tn.admin(HOSPITAL), "governance.propose_member", "name=Browser Pharma",
    "kind=manufacturer", `admin_pk=@${maker.file}`, `admin_box=@${maker.file}`);
  const props = JSON.parse(tn.run(["query", "--node", tn.url, "--json", "/v1/proposals?limit=100"]));
  const prop = props.items.find((p) => p.name === "Browser Pharma").id;
  tn.tx(tn.admin("lakeside-university-hospital"), "governance.vote", `proposal=${prop}`);
  tn.tx(maker.file, "supply.commission", `event=${"7e".repeat(32)}`,
    "epcs=urn:epc:id:sgtin:0614141.812345.S1 urn:epc:id:sgtin:0614141.812345.S2", "lot=L1",
    "expiry=20301231", "event_time_ms=1700000000000");
}

async function pharmacyVerifies(page, tn, want, name) {
  await page.goto(`${tn.url}/#/pharmacy`, { timeout: WAIT_MS });
  await page.fill("#pharmacy-scan", `(01)${GTIN}(17)301231(10)L1(21)S1`);
  await page.click("#pharmacy-verify-btn");
  check(
    await until(page, (w) => document.querySelector("#pharmacy-verdict .badge")?.textContent === w, want),
    `the pharmacy's scan verifies as ${want}`,
  );
  await shot(page, name);
  await page.fill("#pharmacy-scan", "(01)80614141123459(21)S1");
  await page.click("#pharmacy-verify-btn");
  check(
    await until(page, () =>
      /GS1_CHECK_DIGIT/.test(document.querySelector("#view-pharmacy .error")?.textContent ?? "")),
    "a wrong check digit is caught in the page",
  );
}

async function regulatorTracesAndRecalls(page, tn) {
  await page.goto(`${tn.url}/#/regulator`, { timeout: WAIT_MS });
  await page.fill("#regulator-serial", `${GTIN} S1`);
  await page.click("#regulator-trace-form button");
  check(
    await until(page, () =>
      /Browser Pharma/.test(document.querySelector("#regulator-graph")?.textContent ?? "")),
    "the custody graph names the manufacturer",
  );
  await page.fill("#regulator-gtin", GTIN);
  await page.fill("#regulator-lot", "L1");
  await page.click("#regulator-lot-form button");
  check(
    await until(page, () =>
      /Browser Pharma/.test(document.querySelector("#regulator-holders tbody")?.textContent ?? "")),
    "the lot's holders are listed",
  );
  await openKey(page, "regulator", tn.admin("national-health-regulator"), "");
  await page.waitForSelector("#regulator-recall:not([hidden])", { timeout: KEY_WAIT_MS });
  await page.click("#regulator-recall");
  check(
    await until(page, () =>
      /Recalled in block/.test(document.querySelector("#view-regulator .note")?.textContent ?? "")),
    "the regulator recalls the lot from the page",
  );
  await shot(page, "31-regulator-recalled");
}

async function main() {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "medchain-browser-"));
  const tn = new Testnet(dir, await freePortBase());
  let browser = null;
  const watchdog = setTimeout(() => {
    console.log("FAIL: the test ran out of time");
    tn.stop();
    process.exit(1);
  }, WATCHDOG_MS);
  try {
    tn.init();
    tn.start();
    const patient = tn.keygen("patient", PASSPHRASE);
    const doctor = tn.keygen("doctor");
    const admin = tn.admin(HOSPITAL);
    const enrolled = tn.tx(
      admin,
      "identity.enrol_patient",
      `sign_pk=@${patient.file}`,
      `box_pk=@${patient.file}`,
    );
    tn.tx(
      admin,
      "identity.register",
      "kind=practitioner",
      `sign_pk=@${doctor.file}`,
      `box_pk=@${doctor.file}`,
      `licence_hash=${"5a".repeat(32)}`,
      "role=cardiology",
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: WAIT_MS,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) {
        problems.push(`console: ${m.text()}`);
      }
    });
    page.setDefaultTimeout(WAIT_MS);

    await explorer(page, tn, enrolled.height);
    const consentId = await patientGrantsAndRevokes(page, tn, patient, doctor);
    await doctorSees(page, tn, doctor, patient, true, "06-doctor-shared");
    await patientRevokes(page, tn, patient, consentId);
    await doctorSees(page, tn, doctor, patient, false, "08-doctor-after-revoke");
    const booked = await patientBooks(page, tn, patient, doctor);
    await doctorSeesDay(page, tn, doctor, patient, booked.start);
    await patientCancels(page, tn, doctor, booked.start);
    await recordsSteps(page, tn, patient, doctor);
    supplyData(tn);
    await pharmacyVerifies(page, tn, "verified", "30-pharmacy-verified");
    await regulatorTracesAndRecalls(page, tn);
    await pharmacyVerifies(page, tn, "recalled", "32-pharmacy-recalled");

    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${tn.url}/#/explorer`);
    await until(page, () => Number(document.querySelector("#stat-height")?.textContent) > 0);
    await shot(page, "09-explorer-narrow");
    check(
      problems.length === 0,
      `no script error or CSP violation (${problems.join("; ") || "none"})`,
    );
  } catch (e) {
    check(false, `the test ran to its end (${e.stack ?? e})`);
  } finally {
    clearTimeout(watchdog);
    if (browser) {
      await browser.close().catch(() => {});
    }
    tn.stop();
    if (KEEP) {
      console.log(`kept ${dir}`);
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`${passed.length} passed, ${failed.length} failed`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main();
