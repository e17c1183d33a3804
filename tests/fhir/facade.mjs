// An EHR system's view of medchain's FHIR R4 facade, through fhir-kit-client:
//
//   node tests/fhir/facade.mjs FIXTURE.json
//
// Run by tests/integration/test_fhir.py, which starts the node, builds the
// world and writes FIXTURE (base URL, keystore files, ids). Each signed read
// computes the four X-Medchain-* headers for exactly the target the client
// will send (docs/api.md, "Signed requests") and passes them as that
// request's headers. Transactions are encoded and signed with the portal's
// own codec.js and crypto.js (web/assets/js), as a browser would.
// Prints one line per failed check and "N passed, N failed"; exits 1 on
// any failure.
import fs from "node:fs";

import { Client } from "fhir-kit-client";

import { toHex, utf8 } from "../../web/assets/js/bytes.js";
import { encodeRecord, encodeTx, encodeTxUnsigned } from "../../web/assets/js/codec.js";
import {
  TAG,
  cryptoInit,
  keystoreOpen,
  randomBytes,
  requestDigest,
  sign,
  taggedHash,
} from "../../web/assets/js/crypto.js";

const sodium = (await import("libsodium-wrappers-sumo")).default;
await sodium.ready;
cryptoInit(sodium);

const W = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const EXT_TX = "https://medchain.dev/fhir/StructureDefinition/signed-transaction";
const CS_CATEGORY = "https://medchain.dev/fhir/CodeSystem/record-category";
const CS_PURPOSE = "https://medchain.dev/fhir/CodeSystem/purpose";
const ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

let passed = 0;
let failed = 0;
function check(cond, what) {
  if (cond) {
    passed++;
  } else {
    failed++;
    console.log(`FAIL: ${what}`);
  }
}

const keys = Object.fromEntries(
  Object.entries(W.keys).map(([name, file]) => [name, keystoreOpen(fs.readFileSync(file), "")]),
);
const status = await (await fetch(`${W.api}/v1/status`)).json();
const chainId = status.chain_id;
const client = new Client({ baseUrl: W.base });
const basePath = new URL(W.base).pathname; // "/fhir"

// ---- signed requests ---------------------------------------------------------

/** The X-Medchain-* headers for one request of target (path and query as sent). */
function signedHeaders(who, method, target, body = null) {
  const k = keys[who];
  const ts = Date.now();
  const nonce = randomBytes(16);
  const digest = requestDigest(method, target, body === null ? null : utf8(body), ts, nonce, chainId);
  return {
    "X-Medchain-Key": toHex(k.signPk),
    "X-Medchain-Timestamp": String(ts),
    "X-Medchain-Nonce": toHex(nonce),
    "X-Medchain-Signature": toHex(sign(digest, k)),
  };
}

/** Per-request options for a GET of target signed by who (null: unsigned). */
function as(who, target) {
  return who === null ? {} : { headers: signedHeaders(who, "GET", target) };
}

// fhir-kit-client builds a search's query with URLSearchParams, as here.
const qs = (params) => new URLSearchParams(params).toString();

function read(who, resourceType, id) {
  return client.read({ resourceType, id, options: as(who, `${basePath}/${resourceType}/${id}`) });
}

function search(who, resourceType, searchParams) {
  const q = qs(searchParams);
  const target = `${basePath}/${resourceType}${q ? `?${q}` : ""}`;
  return client.search({ resourceType, searchParams, options: as(who, target) });
}

function nextPage(who, bundle) {
  const next = bundle.link.find((l) => l.relation === "next");
  const u = new URL(next.url);
  return client.nextPage({ bundle, options: as(who, u.pathname + u.search) });
}

/** The OperationOutcome a refused request answered with, and its status. */
async function refusal(promise) {
  try {
    await promise;
    return { status: 200, outcome: null };
  } catch (e) {
    return { status: e.response?.status, outcome: e.response?.data };
  }
}

async function refused(what, promise, status, issueCode, ourCode) {
  const r = await refusal(promise);
  const issue = r.outcome?.issue?.[0] ?? {};
  const ok =
    r.status === status &&
    r.outcome?.resourceType === "OperationOutcome" &&
    issue.severity === "error" &&
    issue.code === issueCode &&
    issue.details?.coding?.[0]?.code === ourCode &&
    typeof issue.diagnostics === "string" &&
    issue.diagnostics.startsWith(`${ourCode}: `);
  check(ok, `${what}: ${status} ${issueCode} ${ourCode} (got ${r.status} ${JSON.stringify(issue)})`);
}

const ids = (bundle) => (bundle.entry ?? []).map((e) => e.resource.id);
const ref = (type, id) => `${type}/${id}`;

// ---- metadata ----------------------------------------------------------------

async function metadata() {
  const cs = await client.capabilityStatement();
  check(cs.resourceType === "CapabilityStatement", "metadata is a CapabilityStatement");
  check(cs.fhirVersion === "4.0.1" && cs.status === "active" && cs.kind === "instance",
    "R4 4.0.1, active, instance");
  check(cs.format.includes("json"), "format json");
  const rest = cs.rest[0];
  check(rest.mode === "server" && /X-Medchain-Signature/.test(rest.security.description),
    "rest mode server; the security section describes the signed requests");
  const types = Object.fromEntries(rest.resource.map((r) => [r.type, r]));
  for (const t of ["Patient", "Practitioner", "Organization", "Consent", "AuditEvent",
    "Provenance", "DocumentReference", "Observation"]) {
    const codes = (types[t]?.interaction ?? []).map((i) => i.code);
    check(codes.includes("read") && codes.includes("search-type"), `${t}: read and search`);
  }
  const creates = rest.resource.filter((r) => r.interaction.some((i) => i.code === "create"));
  check(["Consent", "Observation", "DocumentReference"].every((t) =>
    creates.map((r) => r.type).includes(t)) && creates.length === 3,
  "create: Consent, Observation, DocumentReference, nothing else");
  const cp = types.Consent.searchParam.map((p) => p.name);
  check(["_id", "patient", "actor", "data"].every((n) => cp.includes(n)),
    `Consent search parameters: ${cp}`);
  const ap = types.AuditEvent.searchParam.map((p) => p.name);
  check(["patient", "entity"].every((n) => ap.includes(n)), `AuditEvent search parameters: ${ap}`);
}

// ---- the public resources ----------------------------------------------------

async function organizations() {
  const b = await search(null, "Organization", {});
  check(b.resourceType === "Bundle" && b.type === "searchset", "Organization search: a searchset");
  check(b.total === b.entry.length && b.total >= 3, `all organizations, with a total (${b.total})`);
  check(b.link.find((l) => l.relation === "self").url.startsWith(W.base), "a self link");
  const o = await read(null, "Organization", W.ids.org_a);
  check(o.resourceType === "Organization" && o.id === W.ids.org_a && o.active === true,
    "Organization read");
  check(o.name === "Riverside General Hospital" && o.type[0].coding.some((c) => c.code === "prov"),
    "name and type (HL7 organization-type prov for a hospital)");
  await refused("unknown Organization id", read(null, "Organization", "ab".repeat(32)), 404,
    "not-found", "NOT_FOUND");
  await refused("malformed Organization id", read(null, "Organization", "nope"), 404,
    "not-found", "NOT_FOUND");
}

async function practitioners() {
  const d = await read(null, "Practitioner", W.ids.doctor);
  check(d.resourceType === "Practitioner" && d.active === true, "Practitioner read (public)");
  check(d.identifier[0].value === W.licence_hash, "identifier: the salted licence hash");
  check(d.qualification[0].issuer.reference === ref("Organization", W.ids.org_a),
    "qualification issued by the practitioner's organization");
  check(!("name" in d) && !("birthDate" in d), "no name, no birth date");
  const b = await search(null, "Practitioner", { organization: W.ids.org_b });
  check(ids(b).includes(W.ids.doctor2) && !ids(b).includes(W.ids.doctor),
    "Practitioner?organization= lists that organization's practitioners");
  await refused("a patient is not a Practitioner", read(null, "Practitioner", W.ids.patient), 404,
    "not-found", "NOT_FOUND");
}

// ---- what concerns a patient -------------------------------------------------

async function patients() {
  const p = await read("patient", "Patient", W.ids.patient);
  check(p.resourceType === "Patient" && p.id === W.ids.patient && p.active === true,
    "Patient read, signed by the patient");
  check(p.managingOrganization.reference === ref("Organization", W.ids.org_a),
    "managingOrganization: the enrolling organization");
  check(!("name" in p) && !("birthDate" in p) && !("address" in p), "pseudonymous: no name");
  await refused("unsigned Patient read", read(null, "Patient", W.ids.patient), 401, "login",
    "AUTH_REQUIRED");
  await refused("unsigned Patient search", search(null, "Patient", {}), 401, "login",
    "AUTH_REQUIRED");
  await refused("unknown Patient", read("doctor", "Patient", "cd".repeat(32)), 404, "not-found",
    "NOT_FOUND");
  const b = await search("auditor", "Patient", { organization: W.ids.org_a });
  check(ids(b).includes(W.ids.patient) && !ids(b).includes(W.ids.doctor),
    "Patient?organization= lists patients only");
  // A signature is good for one target: this one was made for another path.
  const bad = { headers: signedHeaders("patient", "GET", `${basePath}/Patient/${W.ids.stranger}`) };
  await refused("a signature for another target",
    client.read({ resourceType: "Patient", id: W.ids.patient, options: bad }), 401, "security",
    "BAD_SIGNATURE");
}

async function consents() {
  const b = await search("patient", "Consent", { patient: ref("Patient", W.ids.patient) });
  check(b.total === 1, `Consent?patient= by the patient: one consent (${b.total})`);
  const c = b.entry[0].resource;
  check(c.status === "active" && c.scope.coding[0].code === "patient-privacy",
    "active, scope patient-privacy");
  check(c.patient.reference === ref("Patient", W.ids.patient), "patient");
  check(c.provision.actor[0].reference.reference === ref("Practitioner", W.ids.doctor),
    "provision.actor = the grantee");
  check(c.provision.period.end === "2100-01-01T00:00:00.000Z", "provision.period.end = expiry");
  check(c.provision.purpose.some((x) => x.system === ACT_REASON && x.code === "TREAT"),
    "purpose treatment as v3-ActReason TREAT");
  check(c.category.some((cat) => cat.coding[0].system === CS_CATEGORY &&
    cat.coding[0].code === "cardiology"), "category cardiology");
  check(typeof c.dateTime === "string" && c.dateTime.endsWith("Z"), "dateTime of the grant");
  const again = await read("doctor", "Consent", c.id);
  check(again.id === c.id, "Consent read by its grantee");
  const byActor = await search("doctor", "Consent", { actor: W.ids.doctor });
  check(ids(byActor).includes(c.id), "Consent?actor= by the grantee");
  await refused("Consent?patient= by a stranger",
    search("stranger", "Consent", { patient: W.ids.patient }), 403, "forbidden", "UNAUTHORIZED");
  await refused("Consent?patient= unsigned", search(null, "Consent", { patient: W.ids.patient }),
    401, "login", "AUTH_REQUIRED");
  await refused("unknown Consent id for a non-auditor", read("doctor", "Consent", "ef".repeat(32)),
    403, "forbidden", "UNAUTHORIZED");
  await refused("unknown Consent id for an auditor", read("auditor", "Consent", "ef".repeat(32)),
    404, "not-found", "NOT_FOUND");
  await refused("an unsupported search parameter",
    search("patient", "Consent", { status: "active" }), 400, "invalid", "BAD_REQUEST");
}

async function audit() {
  const b = await search("patient", "AuditEvent", { patient: W.ids.patient });
  check(b.total === 2, `AuditEvent?patient=: two accesses (${b.total})`);
  const btg = (e) => (e.purposeOfEvent ?? []).some((p) => p.coding.some((c) =>
    c.system === ACT_REASON && c.code === "BTG"));
  const emergency = b.entry.map((e) => e.resource).filter(btg);
  check(emergency.length === 1, "exactly one emergency read, marked BTG");
  const e = emergency[0];
  check(e.meta?.security?.some((s) => s.code === "BTG"), "meta.security BTG on the emergency read");
  check(e.entity[0].what.reference === ref("DocumentReference", W.records[1]), "entity: the record");
  check(e.type.code === "rest" && e.action === "R" && e.outcome === "0", "type rest, action R");
  check(e.agent[0].who.reference === ref("Practitioner", W.ids.doctor) && e.agent[0].requestor,
    "agent: the accessor, requestor");
  check(e.source.observer.reference === ref("Organization", W.ids.org_a) && e.source.site === W.node,
    "source: the organization and the node that logged it");
  const normal = b.entry.map((x) => x.resource).find((x) => !btg(x));
  check(normal.purposeOfEvent[0].coding.some((c) => c.system === CS_PURPOSE &&
    c.code === "treatment"), "a normal read's purpose");
  const byRecord = await search("doctor", "AuditEvent", { entity: W.records[0] });
  check(byRecord.total === 1, "AuditEvent?entity= by the record's author");
  await refused("AuditEvent?patient= by a stranger",
    search("stranger", "AuditEvent", { patient: W.ids.patient }), 403, "forbidden",
    "UNAUTHORIZED");
}

async function records() {
  const [r0, r1, erased] = W.records;
  const d = await read("doctor", "DocumentReference", r0);
  check(d.status === "current" && d.subject.reference === ref("Patient", W.ids.patient),
    "DocumentReference read by the author: current, subject");
  const att = d.content[0].attachment;
  check(att.contentType === "application/octet-stream" && att.url === `/v1/records/${r0}/content` &&
    att.size === 512, "attachment: ciphertext, its content URL and size");
  check(d.type.coding[0].code === "Observation" && d.category[0].coding[0].code === "cardiology",
    "type and category");
  check(d.author[0].reference === ref("Practitioner", W.ids.doctor) &&
    d.custodian.reference === ref("Organization", W.ids.org_a), "author and custodian");
  await refused("an erased record", read("patient", "DocumentReference", erased), 410, "deleted",
    "RECORD_ERASED");
  await refused("DocumentReference read by a stranger", read("stranger", "DocumentReference", r0),
    403, "forbidden", "UNAUTHORIZED");
  await refused("DocumentReference read unsigned", read(null, "DocumentReference", r0), 401,
    "login", "AUTH_REQUIRED");

  // Paging: three records, one erased, two to a page.
  const p1 = await search("patient", "DocumentReference", { patient: W.ids.patient, _count: 2 });
  const next = p1.link.find((l) => l.relation === "next");
  check(next !== undefined && next.url.includes("_cursor="), "page 1 has a next link");
  check(p1.total === undefined, "no total on a page that is not the whole answer");
  const p2 = await nextPage("patient", p1);
  const all = [...ids(p1), ...ids(p2)];
  check(all.length === 2 && all.includes(r0) && all.includes(r1) && !all.includes(erased),
    `both pages: the two live records, not the erased one (${all.length})`);
  check(!(p2.link ?? []).some((l) => l.relation === "next"), "the last page has no next link");
  const byId = await search("patient", "DocumentReference", { _id: r1 });
  check(byId.total === 1 && ids(byId)[0] === r1, "DocumentReference?_id=");

  const pv = await read("doctor", "Provenance", r0);
  check(pv.target.some((t) => t.reference === ref("DocumentReference", r0)) &&
    pv.target.some((t) => t.reference === ref("Observation", r0)), "Provenance targets the record");
  check(pv.agent[0].who.reference === ref("Practitioner", W.ids.doctor) &&
    pv.agent[0].onBehalfOf.reference === ref("Organization", W.ids.org_a), "author on behalf of");
  const anchorTx = pv.extension?.[0]?.extension?.find((x) => x.url === "transaction")?.valueString;
  const txStatus = anchorTx ? await (await fetch(`${W.api}/v1/txs/${anchorTx}`)).json() : {};
  check(txStatus.status === "committed" && txStatus.result === "OK",
    "the Provenance names the committed anchoring transaction");
  check(Buffer.from(pv.signature?.[0]?.data ?? "", "base64").length === 64,
    "and carries its Ed25519 signature");
  const pvErased = await read("patient", "Provenance", erased);
  check(pvErased.id === erased, "the anchoring of an erased record stays readable");
  const pvs = await search("patient", "Provenance", { patient: W.ids.patient });
  check(pvs.total === 3, `Provenance?patient=: one per record (${pvs.total})`);
}

// ---- Consent create ------------------------------------------------------------

async function grantTx(signer, args) {
  const methods = await (await fetch(`${W.api}/v1/methods`)).json();
  const schema = methods.find((m) => m.contract === "consent" && m.method === "grant").args;
  const k = keys[signer];
  const ident = await (await fetch(`${W.api}/v1/keys/${toHex(k.signPk)}`)).json();
  const unsigned = encodeTxUnsigned({
    chainId, sender: ident.id, pubkey: k.signPk, nonce: ident.next_nonce,
    contract: "consent", method: "grant", args: encodeRecord(schema, args),
  });
  return encodeTx(unsigned, sign(taggedHash(TAG.TX, unsigned), k));
}

function consentResource(args, tx) {
  return {
    resourceType: "Consent",
    extension: [{ url: EXT_TX, valueBase64Binary: Buffer.from(tx).toString("base64") }],
    status: "active",
    scope: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/consentscope",
      code: "patient-privacy" }] },
    category: [{ coding: [{ system: CS_CATEGORY, code: args.category }] }],
    patient: { reference: ref("Patient", args.patient) },
    policyRule: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActCode",
      code: "OPTIN" }] },
    provision: {
      type: "permit",
      period: { end: new Date(Number(args.expires_ms)).toISOString() },
      actor: [{ reference: { reference: ref("Practitioner", args.grantee) } }],
      purpose: [{ system: ACT_REASON, code: "HRESCH" }],
    },
  };
}

async function create() {
  const expires = Date.UTC(2099, 0, 1);
  const args = {
    patient: W.ids.patient, grantee: W.ids.doctor2, scope: "category", category: "oncology",
    record: "00".repeat(32), purpose: "research", expires_ms: expires, keys: [],
  };
  // Refused by the resource check: it says another expiry than the transaction.
  const tx0 = await grantTx("patient", args);
  const wrong = consentResource(args, tx0);
  wrong.provision.period.end = "2098-01-01T00:00:00Z";
  await refused("a resource that disagrees with its transaction",
    client.create({ resourceType: "Consent", body: wrong }), 400, "invalid", "BAD_REQUEST");
  // Refused by the contract: a stranger signs a grant of the patient's records.
  const forged = consentResource(args, await grantTx("stranger", args));
  await refused("a grant signed by someone who is not the patient",
    client.create({ resourceType: "Consent", body: forged }), 403, "forbidden", "UNAUTHORIZED");
  await refused("a Consent without the signed transaction",
    client.create({ resourceType: "Consent", body: { ...forged, extension: [] } }), 400,
    "invalid", "BAD_REQUEST");
  await refused("create of a type the facade does not create",
    client.create({ resourceType: "Patient", body: { resourceType: "Patient" } }), 405,
    "not-supported", "METHOD_NOT_ALLOWED");

  // The same transaction, with a resource that agrees: created.
  const made = await client.create({ resourceType: "Consent", body: consentResource(args, tx0) });
  const { response } = Client.httpFor(made);
  check(response?.status === 201, `Consent create answers 201 (${response?.status})`);
  check(response?.headers.get("location") === `${W.base}/Consent/${made.id}`,
    `Location names the consent (${response?.headers.get("location")})`);
  check(made.resourceType === "Consent" && made.status === "active" &&
    made.provision.actor[0].reference.reference === ref("Practitioner", W.ids.doctor2),
    "the created Consent as the chain holds it");
  const back = await read("doctor2", "Consent", made.id);
  check(back.id === made.id && back.provision.period.end === "2099-01-01T00:00:00.000Z",
    "the grantee reads it back");
  await refused("the same transaction again",
    client.create({ resourceType: "Consent", body: consentResource(args, tx0) }), 409, "conflict",
    "REPLAY");
}

// ---- Observation: stored, anchored, opened under audit ----------------------------

const OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";

function observation(marker) {
  return {
    resourceType: "Observation",
    status: "final",
    category: [
      { coding: [{ system: OBS_CATEGORY, code: "procedure" }] },
      { coding: [{ system: CS_CATEGORY, code: "cardiology" }] },
    ],
    code: { coding: [{ system: "http://loinc.org", code: "11524-6", display: "EKG study" }] },
    subject: { reference: ref("Patient", W.ids.patient) },
    note: [{ text: marker }],
    component: [{
      code: { coding: [{ system: "urn:oid:2.16.840.1.113883.6.24", code: "131329",
        display: "MDC_ECG_ELEC_POTL_I" }] },
      valueSampledData: { origin: { value: 0, unit: "uV" }, period: 2, dimensions: 1,
        data: "12 15 31 -7 0 4" },
    }],
  };
}

/** A create signed by who: the signature covers the body fhir-kit-client sends. */
function createAs(who, resourceType, body) {
  const headers = who === null ? {} :
    signedHeaders(who, "POST", `${basePath}/${resourceType}`, JSON.stringify(body));
  return client.create({ resourceType, body, options: { headers } });
}

async function observations() {
  const body = observation(W.marker);
  const made = await createAs("doctor", "Observation", body);
  const { response } = Client.httpFor(made);
  check(response?.status === 201 && /^[0-9a-f]{64}$/.test(made.id),
    `Observation create by a practitioner: 201 (${response?.status})`);
  check(response?.headers.get("location") === `${W.base}/Observation/${made.id}`,
    "Location names the Observation");
  const meta = await read("doctor", "DocumentReference", made.id);
  check(meta.type.coding[0].code === "Observation" && meta.category[0].coding[0].code === "cardiology",
    "anchored: its DocumentReference says Observation, cardiology");
  check(!JSON.stringify(meta).includes(W.marker), "the metadata carries none of the content");

  const byAuthor = await read("doctor", "Observation", made.id);
  check(byAuthor.id === made.id && byAuthor.note[0].text === W.marker &&
    byAuthor.component[0].valueSampledData.data === "12 15 31 -7 0 4",
    "the author reads the decrypted Observation");
  const byPatient = await read("patient", "Observation", made.id);
  check(byPatient.note?.[0]?.text === W.marker, "the patient reads it");
  await refused("a reader without consent",
    read("stranger", "Observation", made.id), 403, "forbidden", "CONSENT_REQUIRED");
  await refused("an unsigned Observation read", read(null, "Observation", made.id), 401, "login",
    "AUTH_REQUIRED");
  await refused("a read for an emergency (needs a reason: not here)",
    client.read({ resourceType: "Observation", id: `${made.id}?purpose=emergency`,
      options: as("doctor", `${basePath}/Observation/${made.id}?purpose=emergency`) }),
    400, "invalid", "BAD_REQUEST");

  // Every opening, and the refused attempt, is on chain.
  const log = await search("doctor", "AuditEvent", { entity: made.id });
  const outcomes = log.entry.map((e) => e.resource.outcome === "0" ? "granted" :
    e.resource.outcomeDesc);
  check(outcomes.filter((o) => o === "granted").length === 2 &&
    outcomes.includes("CONSENT_REQUIRED"),
    `the audit log has both readings and the refusal (${outcomes})`);

  // A search opens each Observation; the ones this node cannot open say why.
  const b = await search("patient", "Observation", { patient: W.ids.patient });
  const matches = b.entry.filter((e) => e.search.mode === "match").map((e) => e.resource);
  const notes = b.entry.filter((e) => e.search.mode === "outcome").map((e) => e.resource);
  check(matches.length === 1 && matches[0].id === made.id && matches[0].note[0].text === W.marker,
    `Observation?patient=: the stored one, decrypted (${matches.length})`);
  check(notes.length === 2 && notes.every((o) => o.resourceType === "OperationOutcome"),
    `and an OperationOutcome for each record anchored elsewhere (${notes.length})`);
  check(b.total === 1, `total counts the matches (${b.total})`);
  await refused("Observation?patient= by the doctor (not a reader of the listing)",
    search("doctor", "Observation", { patient: W.ids.patient }), 403, "forbidden", "UNAUTHORIZED");

  await refused("an unsigned Observation create", createAs(null, "Observation", body), 401,
    "login", "AUTH_REQUIRED");
  const patientMade = await refusal(createAs("patient", "Observation", body));
  check(patientMade.status === 403, `a patient cannot author a record (${patientMade.status})`);
  const noSubject = { ...body, subject: { reference: "Group/1" } };
  await refused("an Observation without a patient subject",
    createAs("doctor", "Observation", noSubject), 400, "invalid", "BAD_REQUEST");

  const doc = {
    resourceType: "DocumentReference",
    status: "current",
    category: [{ coding: [{ system: CS_CATEGORY, code: "cardiology" }] }],
    subject: { reference: ref("Patient", W.ids.patient) },
    content: [{ attachment: { contentType: "text/plain",
      data: Buffer.from(W.marker).toString("base64") } }],
  };
  const dr = await createAs("doctor", "DocumentReference", doc);
  check(Client.httpFor(dr).response?.status === 201 && dr.status === "current" &&
    dr.content[0].attachment.contentType === "application/octet-stream" &&
    dr.type.coding[0].code === "DocumentReference",
    "DocumentReference create: stored, anchored, answered with its on-chain metadata");
}

async function misc() {
  await refused("an unknown resource type", search(null, "Foo", {}), 404, "not-supported",
    "ROUTE_NOT_FOUND");
  await refused("a type we do not serve", read(null, "Encounter", "ab".repeat(32)), 404,
    "not-supported", "ROUTE_NOT_FOUND");
  await refused("_count out of range", search(null, "Organization", { _count: 1000 }), 400,
    "invalid", "BAD_REQUEST");
  const plain = await fetch(`${W.base}/Organization?_format=json`);
  check(plain.status === 200 && plain.headers.get("content-type").startsWith("application/fhir+json"),
    "_format=json answers FHIR JSON");
  const asJson = await fetch(`${W.base}/metadata`, { headers: { accept: "application/json" } });
  check(asJson.headers.get("content-type").startsWith("application/json"),
    "Accept: application/json is honoured");
}

for (const [name, fn] of Object.entries({ metadata, organizations, practitioners, patients,
  consents, audit, records, create, observations, misc })) {
  try {
    await fn();
  } catch (e) {
    check(false, `${name} threw: ${e.stack} ${JSON.stringify(e.response?.data ?? "")}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
