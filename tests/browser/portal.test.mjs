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
//   - no script error and no Content-Security-Policy violation on the way.
//
// Screenshots go to --artifacts (CTest: build-asan/browser-artifacts/).
// Every wait is bounded; the testnet is stopped whatever happens.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

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

// ---- main ----------------------------------------------------------------------

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
  await shot(page, "11-regulator-recalled");
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
    supplyData(tn);
    await pharmacyVerifies(page, tn, "verified", "10-pharmacy-verified");
    await regulatorTracesAndRecalls(page, tn);
    await pharmacyVerifies(page, tn, "recalled", "12-pharmacy-recalled");

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
