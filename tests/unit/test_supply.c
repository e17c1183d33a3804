/*
 * Unit tests of the supply-chain (EPCIS) and prescription contracts, driven
 * as test_contracts.c drives the others: a real store, genesis with a
 * manufacturer, a distributor, two pharmacies, a regulator and a hospital,
 * then hand-built transactions through ctr_admit and ctr_call. Every
 * refused call is checked to leave the state root where it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "contracts/contracts.h"
#include "gs1/gs1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- actors --------------------------------------------------------------- */

enum {
  ADMIN_M = 0, /* founder of Acme Pharma (manufacturer) */
  ADMIN_D,     /* founder of Delta Distribution (distributor) */
  ADMIN_P,     /* founder of Corner Pharmacy (pharmacy) */
  ADMIN_R,     /* founder of Health Authority (regulator) */
  ADMIN_H,     /* founder of Alpha Hospital (hospital) */
  ADMIN_Q,     /* founder of Quay Pharmacy, a second pharmacy */
  DOC,         /* licensed practitioner of Alpha */
  PAT,         /* patient enrolled by Alpha */
  PHARMACIST,  /* practitioner of Corner Pharmacy */
  VAL,         /* validator key */
  NACT,
};

#include "ctr_fixture.h"

/* ---- fixture -------------------------------------------------------------- */

static const char *const org_names[] = {"Acme Pharma",      "Delta Distribution", "Corner Pharmacy",
                                        "Health Authority", "Alpha Hospital",     "Quay Pharmacy"};
static const char *const org_kinds[] = {"manufacturer", "distributor", "pharmacy",
                                        "regulator",    "hospital",    "pharmacy"};

static struct hash32 org_of(int founder) {
  return hash_of("medchain.org.v1", org_names[founder]);
}

static void genesis_fill(struct fx *f, struct ledger_genesis *g) {
  g->nmembers = 6;
  for (int i = 0; i < 6; i++) {
    snprintf(g->members[i].name, sizeof(g->members[i].name), "%s", org_names[i]);
    snprintf(g->members[i].kind, sizeof(g->members[i].kind), "%s", org_kinds[i]);
    g->members[i].admin_pk = f->act[i].pk;
    g->members[i].admin_box = f->act[i].box;
  }
}

static int fx_setup(void **state) {
  return ctr_fx_open(state, "/tmp/medchain-supply-XXXXXX", genesis_fill);
}

/* ---- supply helpers ------------------------------------------------------- */

#define GTIN_A "80614141123458" /* EPC prefix 0614141, indicator 8, item 12345 */
#define GTIN_B "04012345111118" /* EPC prefix 4012345, item 011111 */
#define FAR_EXPIRY 20301231u

/* A valid GLN for founder i: "0614141" + 5 digits + check digit. */
static const char *gln(int i) {
  static char buf[8][14];
  char *b = buf[i % 8];
  snprintf(b, 14, "06141410%04d", i);
  b[12] = (char)('0' + gs1_check_digit(b, 12));
  b[13] = '\0';
  return b;
}

/* "urn:epc:id:sgtin:0614141.812345.S<from> ... S<to-1>" into a static buffer. */
static const char *epcs_of(const char *gtin, int from, int to) {
  static char buf[4][LIM_EPCIS_EPCS_BYTES + 128];
  static int turn = 0;
  char *b = buf[turn++ % 4];
  size_t o = 0;
  b[0] = '\0';
  for (int i = from; i < to; i++) {
    char serial[16];
    snprintf(serial, sizeof(serial), "S%d", i);
    char uri[GS1_URI_MAX];
    assert_int_equal(gs1_sgtin_uri(uri, sizeof(uri), gtin, serial, 7), OK);
    o += (size_t)snprintf(b + o, sizeof(buf[0]) - o, "%s%s", o == 0 ? "" : " ", uri);
    assert_true(o < sizeof(buf[0]));
  }
  return b;
}

static const char *case_epc(int n) {
  static char buf[4][64];
  static int turn = 0;
  char *b = buf[turn++ % 4];
  char sscc[GS1_SSCC_LEN + 1];
  snprintf(sscc, sizeof(sscc), "10614141%09d", n);
  sscc[17] = (char)('0' + gs1_check_digit(sscc, 17));
  sscc[18] = '\0';
  assert_int_equal(gs1_sscc_uri(b, 64, sscc, 7), OK);
  return b;
}

static struct hash32 ev(int n) {
  char s[32];
  snprintf(s, sizeof(s), "event-%d", n);
  return hash_of("test.event", s);
}

static struct hash32 pkg_id(const char *gtin, int serial) {
  char s[16];
  snprintf(s, sizeof(s), "S%d", serial);
  struct hash32 id;
  ctr_package_id_sgtin(&id, gtin, s);
  return id;
}

static struct hash32 lot_of(const char *gtin, const char *lot) {
  struct hash32 id;
  ctr_lot_id(&id, gtin, bs(lot));
  return id;
}

static int commission(struct fx *f, int who, int e, const char *epcs, const char *lot,
                      uint64_t expiry) {
  struct codec_value v[] = {v_id(ev(e)), v_str(epcs), v_str(lot), v_u64(expiry), v_u64(f->time_ms)};
  return call_v(f, who, "supply", "commission", v, 5);
}

static int ship(struct fx *f, int who, int e, const char *epcs, int from, int to) {
  struct codec_value v[] = {v_id(ev(e)), v_str(epcs), v_str(gln(from)), v_str(gln(to)),
                            v_u64(f->time_ms)};
  return call_v(f, who, "supply", "ship", v, 5);
}

static int receive(struct fx *f, int who, int e, const char *epcs, int at) {
  struct codec_value v[] = {v_id(ev(e)), v_str(epcs), v_str(gln(at)), v_u64(f->time_ms)};
  return call_v(f, who, "supply", "receive", v, 4);
}

static int aggregate(struct fx *f, const char *method, int who, int e, const char *parent,
                     const char *epcs) {
  struct codec_value v[] = {v_id(ev(e)), v_str(parent), v_str(epcs), v_u64(f->time_ms)};
  return call_v(f, who, "supply", method, v, 4);
}

static int observe(struct fx *f, const char *method, int who, int e, const char *epcs) {
  struct codec_value v[] = {v_id(ev(e)), v_str(epcs), v_u64(f->time_ms)};
  return call_v(f, who, "supply", method, v, 3);
}

static int recall(struct fx *f, int who, const char *gtin, const char *lot) {
  return CALL(f, who, "supply", "recall", v_str(gtin), v_str(lot));
}

static enum ctr_verdict verify(struct fx *f, const char *gtin, int serial, const char *lot,
                               uint32_t expiry, struct hash32 *holder) {
  char s[16];
  snprintf(s, sizeof(s), "S%d", serial);
  struct ctr_verify_out out;
  assert_int_equal(ctr_drug_verify(f->st, gtin, s, bs(lot), expiry, f->time_ms, &out), OK);
  if (holder != NULL) {
    *holder = out.holder;
  }
  return out.verdict;
}

static struct codec_value pkg_field(struct fx *f, const struct hash32 *id, const char *name) {
  struct bytes val;
  assert_int_equal(ctr_get(f->st, CTR_PACKAGE, id, &val), OK);
  const struct codec_schema *s = ctr_kind_schema(CTR_PACKAGE);
  struct codec_value vals[LIM_FIELDS_MAX];
  assert_int_equal(codec_record_decode(s, vals, val.ptr, val.len), OK);
  int i = codec_schema_find(s, name);
  assert_true(i >= 0);
  return vals[i];
}

static bool pkg_status_is(struct fx *f, const struct hash32 *id, const char *status) {
  struct codec_value v = pkg_field(f, id, "status");
  return v.bytes.len == strlen(status) && memcmp(v.bytes.ptr, status, v.bytes.len) == 0;
}

/* GLNs for the supply organizations, a doctor, a patient, a pharmacist. */
static void world(struct fx *f) {
  for (int i = ADMIN_M; i <= ADMIN_Q; i++) {
    EXPECT(OK, CALL(f, i, "supply", "register_gln", v_str(gln(i))));
  }
  struct hash32 lic = hash_of("test.licence", "LIC-DOC-1");
  EXPECT(OK, CALL(f, ADMIN_H, "identity", "register", v_str("practitioner"), v_pk(&f->act[DOC].pk),
                  v_box(&f->act[DOC].box), v_id(lic), v_str("gp")));
  EXPECT(OK, CALL(f, ADMIN_H, "identity", "enrol_patient", v_pk(&f->act[PAT].pk),
                  v_box(&f->act[PAT].box)));
  struct hash32 lic2 = hash_of("test.licence", "LIC-PH-1");
  EXPECT(OK, CALL(f, ADMIN_P, "identity", "register", v_str("practitioner"),
                  v_pk(&f->act[PHARMACIST].pk), v_box(&f->act[PHARMACIST].box), v_id(lic2),
                  v_str("pharmacist")));
}

/* ---- tests ---------------------------------------------------------------- */

static void test_gln(void **state) {
  struct fx *f = *state;
  world(f); /* every supply organization registers its GLN */
  EXPECT(ERR_EXISTS, CALL(f, ADMIN_D, "supply", "register_gln", v_str(gln(ADMIN_M))));
  char bad[14];
  snprintf(bad, sizeof(bad), "%s", gln(7));
  bad[12] = bad[12] == '9' ? '0' : (char)(bad[12] + 1);
  EXPECT(ERR_GS1_CHECK_DIGIT, CALL(f, ADMIN_D, "supply", "register_gln", v_str(bad)));
  EXPECT(ERR_GS1_MALFORMED, CALL(f, ADMIN_D, "supply", "register_gln", v_str("12345")));
  EXPECT(ERR_UNAUTHORIZED, CALL(f, PHARMACIST, "supply", "register_gln", v_str(gln(7))));
  EXPECT(OK, CALL(f, ADMIN_D, "supply", "register_gln", v_str(gln(7)))); /* a second site */
  EXPECT(OK, commission(f, ADMIN_M, 1, epcs_of(GTIN_A, 0, 1), "L1", FAR_EXPIRY));
  EXPECT(OK, ship(f, ADMIN_M, 2, epcs_of(GTIN_A, 0, 1), ADMIN_M, 7));
  EXPECT(OK, receive(f, ADMIN_D, 3, epcs_of(GTIN_A, 0, 1), 7));
}

static void test_commission(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, commission(f, ADMIN_M, 1, epcs_of(GTIN_A, 0, 3), "L1", FAR_EXPIRY));
  struct hash32 p0 = pkg_id(GTIN_A, 0);
  assert_true(pkg_status_is(f, &p0, "active"));
  struct hash32 holder = pkg_field(f, &p0, "holder").id;
  struct hash32 m = org_of(ADMIN_M);
  assert_memory_equal(holder.b, m.b, 32);
  assert_int_equal(verify(f, GTIN_A, 1, "L1", FAR_EXPIRY, NULL), CTR_VERIFIED);
  assert_int_equal(verify(f, GTIN_A, 9, "", 0, NULL), CTR_NOT_FOUND);
  /* A serial is commissioned once; an event hash is recorded once. */
  EXPECT(ERR_SERIAL_EXISTS, commission(f, ADMIN_M, 2, epcs_of(GTIN_A, 2, 4), "L1", FAR_EXPIRY));
  EXPECT(ERR_EVENT_EXISTS, commission(f, ADMIN_M, 1, epcs_of(GTIN_A, 5, 6), "L1", FAR_EXPIRY));
  /* Only manufacturers commission; a lot keeps its maker and expiry. */
  EXPECT(ERR_UNAUTHORIZED, commission(f, ADMIN_D, 3, epcs_of(GTIN_A, 5, 6), "L9", FAR_EXPIRY));
  EXPECT(ERR_BAD_ARGS, commission(f, ADMIN_M, 3, epcs_of(GTIN_A, 5, 6), "L1", 20291231));
  /* One GTIN per event; canonical, distinct EPCs; a bounded list. */
  char mixed[512];
  snprintf(mixed, sizeof(mixed), "%s %s", epcs_of(GTIN_A, 5, 6), epcs_of(GTIN_B, 5, 6));
  EXPECT(ERR_BAD_ARGS, commission(f, ADMIN_M, 3, mixed, "L1", FAR_EXPIRY));
  char twice[512];
  snprintf(twice, sizeof(twice), "%s %s", epcs_of(GTIN_A, 5, 6), epcs_of(GTIN_A, 5, 6));
  EXPECT(ERR_BAD_ARGS, commission(f, ADMIN_M, 3, twice, "L1", FAR_EXPIRY));
  EXPECT(ERR_BAD_ARGS,
         commission(f, ADMIN_M, 3, "urn:epc:id:sgtin:0614141.812345.S5 ", "L1", FAR_EXPIRY));
  EXPECT(ERR_BAD_ARGS,
         commission(f, ADMIN_M, 3, "urn:epc:id:sgtin:0614141.812345.S%35", "L1", FAR_EXPIRY));
  EXPECT(ERR_OVERSIZE, commission(f, ADMIN_M, 3, epcs_of(GTIN_A, 10, 31), "L1", FAR_EXPIRY));
  EXPECT(ERR_BAD_ARGS, commission(f, ADMIN_M, 3, epcs_of(GTIN_A, 5, 6), "L 1", FAR_EXPIRY));
  /* An expiry already past is refused. */
  EXPECT(ERR_PACKAGE_EXPIRED, commission(f, ADMIN_M, 3, epcs_of(GTIN_A, 5, 6), "OLD", 20200101));
  /* The largest event fits one transaction. */
  EXPECT(OK, commission(f, ADMIN_M, 4, epcs_of(GTIN_A, 100, 100 + LIM_EPCIS_EPCS_MAX), "L1",
                        FAR_EXPIRY));
}

static void test_ship_receive(void **state) {
  struct fx *f = *state;
  world(f);
  const char *three = epcs_of(GTIN_A, 0, 3);
  EXPECT(OK, commission(f, ADMIN_M, 1, three, "L1", FAR_EXPIRY));
  /* Only the holder ships, from its own GLN, to another organization. */
  EXPECT(ERR_NOT_HOLDER, ship(f, ADMIN_D, 2, three, ADMIN_D, ADMIN_P));
  EXPECT(ERR_UNAUTHORIZED, ship(f, ADMIN_M, 2, three, ADMIN_D, ADMIN_P));
  EXPECT(ERR_UNKNOWN_GLN, ship(f, ADMIN_M, 2, three, ADMIN_M, 7));
  EXPECT(ERR_UNKNOWN_SERIAL, ship(f, ADMIN_M, 2, epcs_of(GTIN_A, 2, 4), ADMIN_M, ADMIN_D));
  EXPECT(OK, ship(f, ADMIN_M, 2, three, ADMIN_M, ADMIN_D));
  EXPECT(ERR_IN_TRANSIT, ship(f, ADMIN_M, 3, three, ADMIN_M, ADMIN_P));
  /* The receipt must match a shipment addressed to the receiver. */
  EXPECT(ERR_NO_MATCHING_SHIPMENT, receive(f, ADMIN_P, 3, three, ADMIN_P));
  EXPECT(ERR_UNAUTHORIZED, receive(f, ADMIN_D, 3, three, ADMIN_P));
  EXPECT(ERR_UNKNOWN_SERIAL, receive(f, ADMIN_D, 3, epcs_of(GTIN_A, 7, 8), ADMIN_D));
  EXPECT(OK, receive(f, ADMIN_D, 3, three, ADMIN_D));
  struct hash32 holder;
  assert_int_equal(verify(f, GTIN_A, 0, "L1", 0, &holder), CTR_VERIFIED);
  struct hash32 d = org_of(ADMIN_D);
  assert_memory_equal(holder.b, d.b, 32);
  EXPECT(ERR_NO_MATCHING_SHIPMENT, receive(f, ADMIN_D, 4, three, ADMIN_D));
  /* Ship on to the pharmacy; the manufacturer no longer holds them. */
  EXPECT(ERR_NOT_HOLDER, ship(f, ADMIN_M, 4, three, ADMIN_M, ADMIN_P));
  EXPECT(OK, ship(f, ADMIN_D, 4, three, ADMIN_D, ADMIN_P));
  EXPECT(OK, receive(f, ADMIN_P, 5, three, ADMIN_P));
  struct ctr_holding h[4];
  size_t n = 0;
  struct hash32 lot = lot_of(GTIN_A, "L1");
  assert_int_equal(ctr_lot_holders(f->st, &lot, h, 4, &n), OK);
  assert_int_equal(n, 1);
  struct hash32 p = org_of(ADMIN_P);
  assert_memory_equal(h[0].org.b, p.b, 32);
  assert_int_equal(h[0].packages, 3);
}

struct hist {
  int n;
  int via_case;
  struct hash32 events[32];
};

static int hist_fn(void *ctx, const struct hash32 *event, const struct hash32 *via) {
  struct hist *h = ctx;
  assert_true(h->n < 32);
  h->events[h->n++] = *event;
  h->via_case += via != NULL ? 1 : 0;
  return OK;
}

static void test_aggregation(void **state) {
  struct fx *f = *state;
  world(f);
  const char *three = epcs_of(GTIN_A, 0, 3);
  const char *two = epcs_of(GTIN_A, 0, 2);
  const char *box = case_epc(1);
  EXPECT(OK, commission(f, ADMIN_M, 1, three, "L1", FAR_EXPIRY));
  EXPECT(ERR_NOT_HOLDER, aggregate(f, "pack", ADMIN_D, 2, box, three));
  EXPECT(ERR_BAD_ARGS, aggregate(f, "pack", ADMIN_M, 2, three, box));
  EXPECT(OK, aggregate(f, "pack", ADMIN_M, 2, box, three));
  /* A packed package moves only with its case. */
  EXPECT(ERR_IN_CASE, ship(f, ADMIN_M, 3, two, ADMIN_M, ADMIN_D));
  EXPECT(ERR_IN_CASE, aggregate(f, "pack", ADMIN_M, 3, case_epc(2), two));
  EXPECT(OK, ship(f, ADMIN_M, 3, box, ADMIN_M, ADMIN_D));
  EXPECT(ERR_IN_TRANSIT, aggregate(f, "unpack", ADMIN_M, 4, box, two));
  EXPECT(OK, receive(f, ADMIN_D, 4, box, ADMIN_D));
  struct hash32 holder;
  struct hash32 d = org_of(ADMIN_D);
  assert_int_equal(verify(f, GTIN_A, 2, "L1", FAR_EXPIRY, &holder), CTR_VERIFIED);
  assert_memory_equal(holder.b, d.b, 32);
  EXPECT(ERR_NOT_HOLDER, aggregate(f, "unpack", ADMIN_M, 5, box, two));
  EXPECT(OK, aggregate(f, "unpack", ADMIN_D, 5, box, two));
  EXPECT(ERR_BAD_ARGS, aggregate(f, "unpack", ADMIN_D, 6, box, two)); /* no longer in it */
  struct hash32 p0 = pkg_id(GTIN_A, 0);
  struct hash32 h0 = pkg_field(f, &p0, "holder").id;
  assert_memory_equal(h0.b, d.b, 32);
  /* History through the case: commission, pack, ship and receive (via the
   * case), unpack. */
  struct hist h = {0};
  assert_int_equal(ctr_drug_history(f->st, &p0, hist_fn, &h), OK);
  assert_int_equal(h.n, 5);
  assert_int_equal(h.via_case, 2);
  struct hash32 want[5] = {ev(1), ev(2), ev(3), ev(4), ev(5)};
  for (int i = 0; i < 5; i++) {
    assert_memory_equal(h.events[i].b, want[i].b, 32);
  }
  /* Still packed: package 2 sees the case's events up to now. */
  struct hash32 p2 = pkg_id(GTIN_A, 2);
  struct hist h2 = {0};
  assert_int_equal(ctr_drug_history(f->st, &p2, hist_fn, &h2), OK);
  assert_int_equal(h2.n, 4);
}

static void test_recall_dispense_expiry(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, commission(f, ADMIN_M, 1, epcs_of(GTIN_A, 0, 6), "L1", FAR_EXPIRY));
  EXPECT(OK, commission(f, ADMIN_M, 2, epcs_of(GTIN_A, 10, 12), "L2", FAR_EXPIRY));
  EXPECT(OK, ship(f, ADMIN_M, 3, epcs_of(GTIN_A, 0, 6), ADMIN_M, ADMIN_P));
  EXPECT(OK, receive(f, ADMIN_P, 4, epcs_of(GTIN_A, 0, 6), ADMIN_P));
  /* Dispensing: once. */
  EXPECT(OK, observe(f, "dispense", PHARMACIST, 5, epcs_of(GTIN_A, 0, 1)));
  assert_int_equal(verify(f, GTIN_A, 0, "L1", 0, NULL), CTR_DISPENSED);
  EXPECT(ERR_PACKAGE_DISPENSED, observe(f, "dispense", ADMIN_P, 6, epcs_of(GTIN_A, 0, 1)));
  EXPECT(ERR_PACKAGE_DISPENSED, ship(f, ADMIN_P, 6, epcs_of(GTIN_A, 0, 1), ADMIN_P, ADMIN_Q));
  /* Decommissioning: the holder only, for good. */
  EXPECT(ERR_NOT_HOLDER, observe(f, "decommission", ADMIN_M, 6, epcs_of(GTIN_A, 1, 2)));
  EXPECT(OK, observe(f, "decommission", ADMIN_P, 6, epcs_of(GTIN_A, 1, 2)));
  EXPECT(ERR_PACKAGE_DECOMMISSIONED, observe(f, "dispense", ADMIN_P, 7, epcs_of(GTIN_A, 1, 2)));
  assert_int_equal(verify(f, GTIN_A, 1, "", 0, NULL), CTR_DECOMMISSIONED);
  /* Recall: by the maker or a regulator; then every move is refused. */
  EXPECT(ERR_UNAUTHORIZED, recall(f, ADMIN_D, GTIN_A, "L1"));
  EXPECT(ERR_UNAUTHORIZED, recall(f, ADMIN_P, GTIN_A, "L1"));
  EXPECT(ERR_UNKNOWN_LOT, recall(f, ADMIN_R, GTIN_A, "NOPE"));
  EXPECT(OK, recall(f, ADMIN_R, GTIN_A, "L1"));
  EXPECT(ERR_LOT_RECALLED, recall(f, ADMIN_M, GTIN_A, "L1"));
  EXPECT(OK, recall(f, ADMIN_M, GTIN_A, "L2"));
  assert_int_equal(verify(f, GTIN_A, 2, "L1", 0, NULL), CTR_RECALLED);
  EXPECT(ERR_LOT_RECALLED, observe(f, "dispense", ADMIN_P, 7, epcs_of(GTIN_A, 2, 3)));
  EXPECT(ERR_LOT_RECALLED, ship(f, ADMIN_P, 7, epcs_of(GTIN_A, 2, 3), ADMIN_P, ADMIN_Q));
  EXPECT(ERR_LOT_RECALLED, commission(f, ADMIN_M, 7, epcs_of(GTIN_A, 50, 51), "L1", FAR_EXPIRY));
  /* Recalled stock may still be destroyed. */
  EXPECT(OK, observe(f, "decommission", ADMIN_P, 7, epcs_of(GTIN_A, 2, 3)));
  /* Who holds the recalled lot: the pharmacy, 3 active packages left. */
  struct ctr_holding h[4];
  size_t n = 0;
  struct hash32 lot = lot_of(GTIN_A, "L1");
  assert_int_equal(ctr_lot_holders(f->st, &lot, h, 4, &n), OK);
  assert_int_equal(n, 1);
  assert_int_equal(h[0].packages, 3);
  /* Lot and expiry on the box must match the commissioned ones. */
  assert_int_equal(verify(f, GTIN_A, 3, "L2", 0, NULL), CTR_LOT_MISMATCH);
  assert_int_equal(verify(f, GTIN_A, 3, "L1", 20301230, NULL), CTR_LOT_MISMATCH);
  /* Expiry: a lot past its date is refused and reads expired. */
  EXPECT(OK, commission(f, ADMIN_M, 8, epcs_of(GTIN_B, 0, 2), "SHORT", 20231120));
  assert_int_equal(verify(f, GTIN_B, 0, "SHORT", 20231120, NULL), CTR_VERIFIED);
  f->time_ms += 10ull * 24 * HOUR_MS;
  assert_int_equal(verify(f, GTIN_B, 0, "SHORT", 0, NULL), CTR_EXPIRED);
  EXPECT(ERR_PACKAGE_EXPIRED, ship(f, ADMIN_M, 9, epcs_of(GTIN_B, 0, 2), ADMIN_M, ADMIN_D));
}

static struct hash32 last_rx(struct fx *f) {
  struct hash32 id;
  cry_hash_tagged(&id, "medchain.rx.v1", f->last_tx_hash.b, 32);
  return id;
}

static int rx_issue(struct fx *f, int who, int patient, const char *gtin, const char *code,
                    uint64_t qty, uint64_t refills, uint64_t until) {
  return CALL(f, who, "rx", "issue", v_id(f->act[patient].id), v_str(gtin), v_str(code), v_u64(qty),
              v_u64(refills), v_u64(until));
}

static int rx_dispense(struct fx *f, int who, struct hash32 rx, int e, const char *epcs) {
  struct codec_value v[] = {v_id(rx), v_id(ev(e)), v_str(epcs), v_u64(f->time_ms)};
  return call_v(f, who, "rx", "dispense", v, 4);
}

static void test_prescriptions(void **state) {
  struct fx *f = *state;
  world(f);
  uint64_t until = T0_MS + 30ull * 24 * HOUR_MS;
  EXPECT(OK, commission(f, ADMIN_M, 1, epcs_of(GTIN_A, 0, 8), "L1", FAR_EXPIRY));
  EXPECT(OK, commission(f, ADMIN_M, 2, epcs_of(GTIN_B, 0, 2), "LB", FAR_EXPIRY));
  EXPECT(OK, ship(f, ADMIN_M, 3, epcs_of(GTIN_A, 0, 6), ADMIN_M, ADMIN_P));
  EXPECT(OK, receive(f, ADMIN_P, 4, epcs_of(GTIN_A, 0, 6), ADMIN_P));
  EXPECT(OK, ship(f, ADMIN_M, 5, epcs_of(GTIN_B, 0, 2), ADMIN_M, ADMIN_P));
  EXPECT(OK, receive(f, ADMIN_P, 6, epcs_of(GTIN_B, 0, 2), ADMIN_P));
  /* Issuing: a licensed practitioner, a known patient, GTIN xor code. */
  EXPECT(ERR_UNAUTHORIZED, rx_issue(f, ADMIN_H, PAT, GTIN_A, "", 2, 1, until));
  EXPECT(ERR_UNKNOWN_PATIENT, rx_issue(f, DOC, ADMIN_H, GTIN_A, "", 2, 1, until));
  EXPECT(ERR_BAD_ARGS, rx_issue(f, DOC, PAT, GTIN_A, "N02BE01", 2, 1, until));
  EXPECT(ERR_BAD_ARGS, rx_issue(f, DOC, PAT, "80614141123459", "", 2, 1, until));
  EXPECT(ERR_BAD_ARGS, rx_issue(f, DOC, PAT, GTIN_A, "", 0, 1, until));
  EXPECT(ERR_EXPIRY_PAST, rx_issue(f, DOC, PAT, GTIN_A, "", 2, 1, T0_MS));
  EXPECT(OK, rx_issue(f, DOC, PAT, GTIN_A, "", 2, 1, until)); /* 4 packages in all */
  struct hash32 rx = last_rx(f);
  /* Dispensing: a pharmacy, with packages it holds, of the medication. */
  EXPECT(ERR_UNKNOWN_PRESCRIPTION, rx_dispense(f, ADMIN_P, ev(99), 10, epcs_of(GTIN_A, 0, 1)));
  EXPECT(ERR_UNAUTHORIZED, rx_dispense(f, ADMIN_D, rx, 10, epcs_of(GTIN_A, 0, 1)));
  EXPECT(ERR_NOT_HOLDER, rx_dispense(f, ADMIN_P, rx, 10, epcs_of(GTIN_A, 6, 7)));
  EXPECT(ERR_MEDICATION_MISMATCH, rx_dispense(f, ADMIN_P, rx, 10, epcs_of(GTIN_B, 0, 1)));
  EXPECT(OK, rx_dispense(f, PHARMACIST, rx, 10, epcs_of(GTIN_A, 0, 2)));
  struct hash32 p0 = pkg_id(GTIN_A, 0);
  assert_true(pkg_status_is(f, &p0, "dispensed"));
  EXPECT(ERR_PACKAGE_DISPENSED, rx_dispense(f, ADMIN_P, rx, 11, epcs_of(GTIN_A, 0, 1)));
  EXPECT(ERR_OVER_DISPENSE, rx_dispense(f, ADMIN_P, rx, 11, epcs_of(GTIN_A, 2, 5)));
  EXPECT(OK, rx_dispense(f, ADMIN_P, rx, 11, epcs_of(GTIN_A, 2, 4)));
  EXPECT(ERR_OVER_DISPENSE, rx_dispense(f, ADMIN_P, rx, 12, epcs_of(GTIN_A, 4, 5)));
  /* A second prescription by code: a recalled lot is refused. */
  EXPECT(OK, rx_issue(f, DOC, PAT, "", "N02BE01", 5, 0, until));
  struct hash32 rx2 = last_rx(f);
  EXPECT(OK, recall(f, ADMIN_M, GTIN_A, "L1"));
  EXPECT(ERR_LOT_RECALLED, rx_dispense(f, ADMIN_P, rx2, 12, epcs_of(GTIN_A, 4, 5)));
  EXPECT(OK, rx_dispense(f, ADMIN_P, rx2, 12, epcs_of(GTIN_B, 0, 1)));
  /* Past its validity the prescription dispenses nothing. */
  f->time_ms = until;
  EXPECT(ERR_PRESCRIPTION_EXPIRED, rx_dispense(f, ADMIN_P, rx2, 13, epcs_of(GTIN_B, 1, 2)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_gln, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_commission, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_ship_receive, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_aggregation, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_recall_dispense_expiry, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_prescriptions, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
