// GS1 keys in the browser, as src/gs1 reads them: check digits, and what a
// scan of a GS1 DataMatrix gives (AIs 01, 10, 17, 21; GS, written 0x1D by
// a scanner or "<GS>" by hand, after variable-length fields; an optional
// symbology identifier), its "(01)...(21)..." form, or a Digital Link
// (https://id.gs1.org/01/.../10/.../21/...?17=...). Expiry day 00 is the
// month's end. The node checks everything again: this only spares the
// pharmacist a round trip for a typo.

/** The check digit completing a digit string, or -1. */
export function checkDigit(body) {
  if (!/^[0-9]+$/.test(body)) {
    return -1;
  }
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    sum += (body.length - i) % 2 === 1 ? 3 * Number(body[i]) : Number(body[i]);
  }
  return (10 - (sum % 10)) % 10;
}

export function keyValid(key) {
  return /^[0-9]{2,}$/.test(key) && checkDigit(key.slice(0, -1)) === Number(key.at(-1));
}

export class Gs1Error extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** "YYMMDD" (day 00 = end of month) as "YYYY-MM-DD". */
export function expiryDate(yymmdd) {
  const m = /^([0-9]{2})([0-9]{2})([0-9]{2})$/.exec(yymmdd);
  if (!m) {
    throw new Gs1Error("GS1_MALFORMED", "the expiry is YYMMDD");
  }
  const y = 2000 + Number(m[1]);
  const mo = Number(m[2]);
  let d = Number(m[3]);
  const last = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d > last) {
    throw new Gs1Error("GS1_MALFORMED", "the expiry is not a date");
  }
  if (d === 0) {
    d = last;
  }
  return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

const SET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;

function put(out, ai, v) {
  const name = { "01": "gtin", 10: "lot", 17: "expiry", 21: "serial" }[ai];
  if (!name) {
    throw new Gs1Error("GS1_MALFORMED", `AI (${ai}) is not one medchain reads`);
  }
  if (out[name] !== undefined) {
    throw new Gs1Error("GS1_MALFORMED", `AI (${ai}) appears twice`);
  }
  if (name === "gtin") {
    if (!/^[0-9]{14}$/.test(v)) {
      throw new Gs1Error("GS1_MALFORMED", "a GTIN (01) is 14 digits");
    }
    if (!keyValid(v)) {
      throw new Gs1Error("GS1_CHECK_DIGIT", "wrong check digit in the GTIN");
    }
  } else if (name === "expiry") {
    out.expiryDate = expiryDate(v);
  } else if (!SET82.test(v)) {
    throw new Gs1Error("GS1_MALFORMED", `(${ai}) is 1 to 20 characters of GS1 set 82`);
  }
  out[name] = v;
}

function parseRaw(s, out) {
  let i = 0;
  while (i < s.length) {
    if (s[i] === "\x1d") {
      i++;
      continue;
    }
    const ai = s.slice(i, i + 2);
    i += 2;
    const fixed = { "01": 14, 17: 6 }[ai];
    let end = fixed ? i + fixed : s.indexOf("\x1d", i);
    if (end < 0) {
      end = s.length;
    }
    if (end > s.length) {
      throw new Gs1Error("GS1_MALFORMED", "the scan ends inside a field");
    }
    put(out, ai, s.slice(i, end));
    i = end;
  }
}

function parseDl(s, out) {
  const url = new URL(s);
  const parts = url.pathname.split("/").filter(Boolean);
  let k = parts.findIndex((p) => p === "01");
  if (k < 0) {
    throw new Gs1Error("GS1_MALFORMED", "a Digital Link names a GTIN (/01/)");
  }
  for (; k + 1 < parts.length; k += 2) {
    put(out, parts[k], decodeURIComponent(parts[k + 1]));
  }
  for (const [ai, v] of url.searchParams) {
    if (/^[0-9]{2}$/.test(ai)) {
      put(out, ai, v);
    }
  }
}

/** {gtin, serial, lot, expiry, expiryDate} from a scan; throws Gs1Error. */
export function parseScan(text) {
  let s = text.trim().replaceAll("<GS>", "\x1d").replaceAll("\\x1d", "\x1d");
  const out = {};
  if (/^https?:\/\//.test(s)) {
    parseDl(s, out);
  } else {
    if (s.startsWith("]")) {
      s = s.slice(3); // symbology identifier, e.g. ]d2
    }
    if (s.startsWith("(")) {
      for (const m of s.matchAll(/\(([0-9]{2})\)([^(]*)/g)) {
        put(out, m[1], m[2]);
      }
    } else {
      parseRaw(s, out);
    }
  }
  if (out.gtin === undefined) {
    throw new Gs1Error("GS1_MALFORMED", "no GTIN (01) in the scan");
  }
  return out;
}

/** A GTIN-8/12/13/14 as 14 digits; throws Gs1Error. */
export function gtin14(text) {
  const g = text.trim();
  if (![8, 12, 13, 14].includes(g.length) || !/^[0-9]+$/.test(g)) {
    throw new Gs1Error("GS1_MALFORMED", "a GTIN is 8, 12, 13 or 14 digits");
  }
  if (!keyValid(g)) {
    throw new Gs1Error("GS1_CHECK_DIGIT", "wrong check digit in the GTIN");
  }
  return g.padStart(14, "0");
}
