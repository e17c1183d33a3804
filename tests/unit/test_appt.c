/*
 * Unit tests of the appointment contract (src/contracts/appt.c), driven
 * like test_contracts.c: a real store, genesis with two organizations,
 * hand-built transactions through ctr_admit and ctr_call. Every refusal
 * is checked to leave the state root where it was (submit() asserts it),
 * and the slot or appointment it named is read back unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "contracts/contracts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- actors --------------------------------------------------------------- */

enum {
  ADMIN_A = 0, /* founder of Alpha Hospital */
  ADMIN_B,     /* founder of Beta Clinic */
  PRAC_A,      /* practitioner of Alpha */
  PRAC_B,      /* practitioner of Beta */
  PAT_1,       /* patient enrolled by Alpha */
  PAT_2,       /* patient enrolled by Beta */
  GUARD,       /* patient of Alpha, guardian of PAT_1 in some tests */
  AUD_A,       /* auditor of Alpha */
  ADMIN_C,     /* first admin of Gamma Lab (admitted by vote) */
  ADMIN_D,     /* first admin of Delta Pharmacy */
  VAL,         /* validator key */
  EXTRA,       /* EXTRA + i: spare identities */
  NACT = EXTRA + 40,
};

#include "ctr_fixture.h"

/* ---- fixture -------------------------------------------------------------- */

static void genesis_fill(struct fx *f, struct ledger_genesis *g) {
  g->nmembers = 2;
  snprintf(g->members[0].name, sizeof(g->members[0].name), "Alpha Hospital");
  snprintf(g->members[0].kind, sizeof(g->members[0].kind), "hospital");
  g->members[0].admin_pk = f->act[ADMIN_A].pk;
  g->members[0].admin_box = f->act[ADMIN_A].box;
  snprintf(g->members[1].name, sizeof(g->members[1].name), "Beta Clinic");
  snprintf(g->members[1].kind, sizeof(g->members[1].kind), "clinic");
  g->members[1].admin_pk = f->act[ADMIN_B].pk;
  g->members[1].admin_box = f->act[ADMIN_B].box;
}

static int fx_setup(void **state) {
  return ctr_fx_open(state, "/tmp/medchain-appt-XXXXXX", genesis_fill);
}

/* ---- common steps --------------------------------------------------------- */

static int reg(struct fx *f, int admin, int who, const char *kind, const char *licence,
               const char *role) {
  struct hash32 lic = licence != NULL ? hash_of("test.licence", licence) : zero_id();
  return CALL(f, admin, "identity", "register", v_str(kind), v_pk(&f->act[who].pk),
              v_box(&f->act[who].box), v_id(lic), v_str(role));
}

static int enrol(struct fx *f, int by, int who) {
  return CALL(f, by, "identity", "enrol_patient", v_pk(&f->act[who].pk), v_box(&f->act[who].box));
}

/* Practitioners, patients and an auditor in both organizations. */
static void world(struct fx *f) {
  EXPECT(OK, reg(f, ADMIN_A, PRAC_A, "practitioner", "LIC-A-1", "cardiology"));
  EXPECT(OK, reg(f, ADMIN_B, PRAC_B, "practitioner", "LIC-B-1", "general-practice"));
  EXPECT(OK, enrol(f, PRAC_A, PAT_1));
  EXPECT(OK, enrol(f, ADMIN_B, PAT_2));
  EXPECT(OK, enrol(f, ADMIN_A, GUARD));
  EXPECT(OK, reg(f, ADMIN_A, AUD_A, "auditor", NULL, ""));
}

/* ---- appointment steps --------------------------------------------------------- */

#define DAY_MS (24 * HOUR_MS)
#define MIN_MS 60000ull

static struct hash32 schedule_of(struct fx *f) {
  struct hash32 id;
  cry_hash_tagged(&id, "medchain.schedule.v1", f->last_tx_hash.b, 32);
  return id;
}

static struct hash32 appt_of(struct fx *f) {
  struct hash32 id;
  cry_hash_tagged(&id, "medchain.appt.v1", f->last_tx_hash.b, 32);
  return id;
}

static struct hash32 slot_at(const struct hash32 *schedule, uint64_t start) {
  struct hash32 id;
  ctr_appt_slot_id(&id, schedule, start);
  return id;
}

/* Pairs (start, start + len) for n slots every len from start. */
static struct codec_value v_pairs(uint8_t *buf, uint64_t start, uint64_t len, size_t n) {
  for (size_t i = 0; i < n; i++) {
    base_put_u64be(buf + 16 * i, start + i * len);
    base_put_u64be(buf + 16 * i + 8, start + (i + 1) * len);
  }
  return (struct codec_value){.type = CODEC_BYTES, .bytes = {buf, 16 * n}};
}

static int publish(struct fx *f, int who, const struct hash32 *schedule, uint64_t start,
                   uint64_t len, size_t n) {
  uint8_t buf[16 * (LIM_APPT_SLOTS_PER_TX + 1)];
  assert_true(n <= LIM_APPT_SLOTS_PER_TX + 1);
  return CALL(f, who, "appt", "publish", v_id(*schedule), v_pairs(buf, start, len, n));
}

/* A schedule for PRAC_A with eight 30-minute slots from day 1, 09:00. */
static struct hash32 clinic(struct fx *f, uint64_t *first) {
  world(f);
  EXPECT(OK, CALL(f, ADMIN_A, "appt", "create_schedule", v_id(f->act[PRAC_A].id),
                  v_str("cardiology-consult")));
  struct hash32 sch = schedule_of(f);
  *first = T0_MS + DAY_MS + 9 * HOUR_MS;
  EXPECT(OK, publish(f, ADMIN_A, &sch, *first, 30 * MIN_MS, 8));
  return sch;
}

/* The booking a patient's client makes: commitment and encrypted id
 * under a salt from the patient's view key, the salt sealed to the
 * practitioner (and the booker's own copy), a capability key. */
struct booking {
  struct hash32 salt;
  struct hash32 commitment;
  struct hash32 enc;
  struct cry_keys *cap;
  struct pubkey cap_pk;
  struct keyset keys;
};

static void booking_make(struct fx *f, struct booking *b, int patient, const struct hash32 *slot,
                         uint8_t cap_seed) {
  memset(b, 0, sizeof(*b));
  struct hash32 view = hash_of("test.view", "patient");
  view.b[0] = (uint8_t)patient;
  ctr_appt_salt(&b->salt, &view, slot);
  ctr_appt_commitment(&b->commitment, &f->act[patient].id, &b->salt);
  ctr_appt_patient_enc(&b->enc, &f->act[patient].id, &b->salt);
  uint8_t seed[CRY_SEED_BYTES];
  memset(seed, cap_seed, sizeof(seed));
  b->cap = cry_keys_from_seed(seed);
  assert_non_null(b->cap);
  cry_keys_sign_pk(b->cap, &b->cap_pk);
  keyset_add(&b->keys, &f->act[PRAC_A].id);
  struct hash32 zero = zero_id();
  keyset_add(&b->keys, &zero);
}

static void booking_free(struct booking *b) {
  cry_keys_destroy(b->cap);
}

static int book_as(struct fx *f, int who, const struct hash32 *slot, const struct booking *b) {
  return CALL(f, who, "appt", "book", v_id(*slot), v_id(b->commitment), v_id(b->enc),
              v_pk(&b->cap_pk), v_keys(&b->keys));
}

/* Encodes vals (auth last, given empty) and signs the prefix with cap,
 * as a booker's client does; then submits with the signature in place. */
static int call_signed(struct fx *f, int who, const char *method, struct codec_value *vals,
                       size_t n, const struct cry_keys *cap) {
  const struct ctr_method *m = ctr_method_find(bs("appt"), bs(method));
  assert_non_null(m);
  assert_int_equal(n, m->args->nfields);
  vals[n - 1] = (struct codec_value){.type = CODEC_BYTES, .bytes = {NULL, 0}};
  uint8_t buf[LIM_ARGS_MAX];
  size_t len = 0;
  assert_int_equal(codec_record_encode(m->args, vals, buf, sizeof(buf), &len), OK);
  struct hash32 msg;
  ctr_appt_auth_msg(&msg, bs("medchain-test"), bs(method), (struct bytes){buf, len - 4});
  struct signature sig;
  cry_sign(cap, &sig, msg.b, sizeof(msg.b));
  vals[n - 1].bytes = (struct bytes){sig.b, sizeof(sig.b)};
  return call_v(f, who, "appt", method, vals, n);
}

static int cancel_cap(struct fx *f, int who, const struct hash32 *appt,
                      const struct cry_keys *cap) {
  struct codec_value vals[2] = {v_id(*appt), {0}};
  return call_signed(f, who, "cancel", vals, 2, cap);
}

static int cancel_clinic(struct fx *f, int who, const struct hash32 *appt) {
  struct codec_value none = {.type = CODEC_BYTES, .bytes = {NULL, 0}};
  return CALL(f, who, "appt", "cancel", v_id(*appt), none);
}

static int reschedule_cap(struct fx *f, int who, const struct hash32 *appt,
                          const struct hash32 *slot, const struct booking *nb,
                          const struct cry_keys *cap) {
  struct codec_value vals[7] = {
      v_id(*appt),       v_id(*slot), v_id(nb->commitment), v_id(nb->enc), v_pk(&nb->cap_pk),
      v_keys(&nb->keys), {0}};
  return call_signed(f, who, "reschedule", vals, 7, cap);
}

static int mark(struct fx *f, int who, const struct hash32 *appt, const char *status) {
  return CALL(f, who, "appt", "mark", v_id(*appt), v_str(status));
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_commitment(void **state) {
  struct fx *f = *state;
  struct hash32 view = hash_of("test.view", "v");
  struct hash32 slot = hash_of("test.slot", "s");
  struct hash32 salt;
  struct hash32 enc;
  struct hash32 back;
  struct hash32 c1;
  struct hash32 c2;
  ctr_appt_salt(&salt, &view, &slot);
  ctr_appt_patient_enc(&enc, &f->act[PAT_1].id, &salt);
  assert_memory_not_equal(enc.b, f->act[PAT_1].id.b, 32);
  ctr_appt_patient_enc(&back, &enc, &salt);
  assert_memory_equal(back.b, f->act[PAT_1].id.b, 32);
  ctr_appt_commitment(&c1, &f->act[PAT_1].id, &salt);
  ctr_appt_commitment(&c2, &f->act[PAT_2].id, &salt);
  assert_memory_not_equal(c1.b, c2.b, 32);
  /* Another slot, another salt: one patient's bookings do not link. */
  struct hash32 other = hash_of("test.slot", "t");
  struct hash32 salt2;
  ctr_appt_salt(&salt2, &view, &other);
  assert_memory_not_equal(salt.b, salt2.b, 32);
}

static void test_schedule(void **state) {
  struct fx *f = *state;
  world(f);
  /* Only an admin of the practitioner's own organization opens one. */
  EXPECT(ERR_UNAUTHORIZED,
         CALL(f, PRAC_A, "appt", "create_schedule", v_id(f->act[PRAC_A].id), v_str("consult")));
  EXPECT(ERR_UNAUTHORIZED,
         CALL(f, ADMIN_B, "appt", "create_schedule", v_id(f->act[PRAC_A].id), v_str("consult")));
  EXPECT(ERR_UNKNOWN_IDENTITY,
         CALL(f, ADMIN_A, "appt", "create_schedule", v_id(f->act[PAT_1].id), v_str("consult")));
  EXPECT(ERR_UNKNOWN_IDENTITY, CALL(f, ADMIN_A, "appt", "create_schedule",
                                    v_id(hash_of("test", "nobody")), v_str("consult")));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "appt", "create_schedule", v_id(f->act[PRAC_A].id),
                            v_str("Dr Smith's list")));
  EXPECT(OK,
         CALL(f, ADMIN_A, "appt", "create_schedule", v_id(f->act[PRAC_A].id), v_str("consult")));
  struct hash32 sch = schedule_of(f);
  expect_str(f, CTR_SCHEDULE, &sch, "service_type", "consult");
  struct hash32 prac = field_id(f, CTR_SCHEDULE, &sch, "practitioner");
  assert_memory_equal(prac.b, f->act[PRAC_A].id.b, 32);
  /* Cut-off policy: admins only, bounded. */
  EXPECT(ERR_UNAUTHORIZED, CALL(f, PRAC_A, "appt", "set_policy", v_u64(HOUR_MS)));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "appt", "set_policy", v_u64(LIM_APPT_CUTOFF_MS_MAX + 1)));
  EXPECT(OK, CALL(f, ADMIN_A, "appt", "set_policy", v_u64(2 * HOUR_MS)));
  struct hash32 alpha = field_id(f, CTR_IDENTITY, &f->act[ADMIN_A].id, "org");
  assert_int_equal(field_u64(f, CTR_APPT_POLICY, &alpha, "cancel_cutoff_ms"), 2 * HOUR_MS);
}

static void test_publish(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t);
  struct hash32 s0 = slot_at(&sch, t);
  expect_str(f, CTR_SLOT, &s0, "status", CTR_SLOT_FREE);
  assert_int_equal(field_u64(f, CTR_SLOT, &s0, "end_ms"), t + 30 * MIN_MS);
  expect_str(f, CTR_SLOT, &s0, "service_type", "cardiology-consult");
  /* The practitioner may publish on their own schedule. */
  uint64_t t2 = t + DAY_MS;
  EXPECT(OK, publish(f, PRAC_A, &sch, t2, 20 * MIN_MS, LIM_APPT_SLOTS_PER_TX));
  /* Refusals. */
  EXPECT(ERR_UNKNOWN_SCHEDULE, publish(f, ADMIN_A, &s0, t2, MIN_MS, 1));
  EXPECT(ERR_UNAUTHORIZED, publish(f, PRAC_B, &sch, t + 2 * DAY_MS, MIN_MS, 1));
  EXPECT(ERR_UNAUTHORIZED, publish(f, ADMIN_B, &sch, t + 2 * DAY_MS, MIN_MS, 1));
  EXPECT(ERR_UNAUTHORIZED, publish(f, PAT_1, &sch, t + 2 * DAY_MS, MIN_MS, 1));
  EXPECT(ERR_SLOT_IN_PAST, publish(f, ADMIN_A, &sch, f->time_ms - HOUR_MS, MIN_MS, 1));
  EXPECT(ERR_BAD_ARGS, publish(f, ADMIN_A, &sch, t + 2 * DAY_MS, 0, 1));
  EXPECT(ERR_BAD_ARGS, publish(f, ADMIN_A, &sch, t + 2 * DAY_MS, LIM_APPT_SLOT_MS_MAX + 1, 1));
  /* One pair over the bound does not even decode under the schema. */
  uint8_t over[16 * (LIM_APPT_SLOTS_PER_TX + 1)];
  struct codec_value big = v_pairs(over, t + 2 * DAY_MS, MIN_MS, LIM_APPT_SLOTS_PER_TX + 1);
  struct codec_writer w;
  codec_writer_init(&w, f->args, sizeof(f->args));
  codec_put_raw(&w, sch.b, 32);
  codec_put_var(&w, big.bytes.ptr, big.bytes.len);
  assert_int_equal(w.err, OK);
  f->args_len = w.len;
  struct tx tx;
  tx_init(f, &tx, ADMIN_A, "appt", "publish");
  EXPECT(ERR_OVERSIZE, submit(f, &tx));
  EXPECT(ERR_BAD_ARGS, publish(f, ADMIN_A, &sch, t + LIM_APPT_HORIZON_MS, MIN_MS, 1));
  /* An existing slot, and one repeated within the call: nothing of the
   * call stays, not even its new slots before the duplicate. */
  uint64_t t3 = t + 3 * DAY_MS;
  EXPECT(ERR_EXISTS, publish(f, ADMIN_A, &sch, t3 - 30 * MIN_MS, 30 * MIN_MS, 1) == OK
                         ? publish(f, ADMIN_A, &sch, t3 - 60 * MIN_MS, 30 * MIN_MS, 3)
                         : ERR_INTERNAL);
  struct hash32 lost = slot_at(&sch, t3 - 60 * MIN_MS);
  struct bytes val;
  EXPECT(ERR_NOT_FOUND, ctr_get(f->st, CTR_SLOT, &lost, &val));
  uint8_t buf[32];
  v_pairs(buf, t3 + DAY_MS, 30 * MIN_MS, 1);
  memcpy(buf + 16, buf, 16);
  EXPECT(ERR_EXISTS, CALL(f, ADMIN_A, "appt", "publish", v_id(sch),
                          ((struct codec_value){.type = CODEC_BYTES, .bytes = {buf, 32}})));
  struct hash32 dup = slot_at(&sch, t3 + DAY_MS);
  EXPECT(ERR_NOT_FOUND, ctr_get(f->st, CTR_SLOT, &dup, &val));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "appt", "publish", v_id(sch),
                            ((struct codec_value){.type = CODEC_BYTES, .bytes = {buf, 20}})));
}

/* A practitioner is never offered twice at one time: a slot that overlaps
 * one of theirs, on any of their schedules, or another slot of the same
 * call, is SLOT_OVERLAP and nothing of the call stays; touching slots and
 * other practitioners at the same time are fine. */
static void test_publish_overlap(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t); /* PRAC_A: eight 30-minute slots from t */
  EXPECT(OK,
         CALL(f, ADMIN_A, "appt", "create_schedule", v_id(f->act[PRAC_A].id), v_str("ecg-test")));
  struct hash32 second = schedule_of(f);
  assert_memory_not_equal(second.b, sch.b, 32);
  struct bytes val;
  /* Shifted by ten minutes, on the same and on another schedule. */
  EXPECT(ERR_SLOT_OVERLAP, publish(f, ADMIN_A, &sch, t + 10 * MIN_MS, 30 * MIN_MS, 1));
  EXPECT(ERR_SLOT_OVERLAP, publish(f, ADMIN_A, &second, t, 30 * MIN_MS, 1));
  EXPECT(ERR_SLOT_OVERLAP, publish(f, PRAC_A, &second, t - 20 * MIN_MS, 30 * MIN_MS, 1));
  struct hash32 none = slot_at(&second, t);
  EXPECT(ERR_NOT_FOUND, ctr_get(f->st, CTR_SLOT, &none, &val));
  /* A long slot covering several of them. */
  EXPECT(ERR_SLOT_OVERLAP, publish(f, ADMIN_A, &second, t - 2 * HOUR_MS, 4 * HOUR_MS, 1));
  /* Touching: ends where the first starts, starts where the last ends. */
  EXPECT(OK, publish(f, ADMIN_A, &second, t - 30 * MIN_MS, 30 * MIN_MS, 1));
  EXPECT(OK, publish(f, ADMIN_A, &second, t + 8 * 30 * MIN_MS, 30 * MIN_MS, 1));
  /* Two pairs of one call that overlap each other: neither stays. */
  uint64_t d = t + 2 * DAY_MS;
  uint8_t buf[32];
  base_put_u64be(buf, d);
  base_put_u64be(buf + 8, d + 30 * MIN_MS);
  base_put_u64be(buf + 16, d + 15 * MIN_MS);
  base_put_u64be(buf + 24, d + 45 * MIN_MS);
  EXPECT(ERR_SLOT_OVERLAP, CALL(f, ADMIN_A, "appt", "publish", v_id(second),
                                ((struct codec_value){.type = CODEC_BYTES, .bytes = {buf, 32}})));
  struct hash32 first = slot_at(&second, d);
  EXPECT(ERR_NOT_FOUND, ctr_get(f->st, CTR_SLOT, &first, &val));
  /* Another practitioner at the same time is another person's time. */
  EXPECT(OK,
         CALL(f, ADMIN_B, "appt", "create_schedule", v_id(f->act[PRAC_B].id), v_str("consult")));
  struct hash32 other = schedule_of(f);
  EXPECT(OK, publish(f, ADMIN_B, &other, t, 30 * MIN_MS, 4));
}

static void test_book(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t);
  struct hash32 s0 = slot_at(&sch, t);
  struct booking b1;
  struct booking b2;
  booking_make(f, &b1, PAT_1, &s0, 0x11);
  booking_make(f, &b2, PAT_2, &s0, 0x22);
  EXPECT(OK, book_as(f, PAT_1, &s0, &b1));
  struct hash32 a1 = appt_of(f);
  expect_str(f, CTR_SLOT, &s0, "status", CTR_SLOT_BUSY);
  struct hash32 held = field_id(f, CTR_SLOT, &s0, "appointment");
  assert_memory_equal(held.b, a1.b, 32);
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_BOOKED);
  struct hash32 c = field_id(f, CTR_APPT, &a1, "commitment");
  assert_memory_equal(c.b, b1.commitment.b, 32);
  assert_int_equal(field_u64(f, CTR_APPT, &a1, "start_ms"), t);
  /* The second booking of the slot loses, and changes nothing. */
  EXPECT(ERR_SLOT_TAKEN, book_as(f, PAT_2, &s0, &b2));
  held = field_id(f, CTR_SLOT, &s0, "appointment");
  assert_memory_equal(held.b, a1.b, 32);
  EXPECT(ERR_SLOT_TAKEN, book_as(f, PAT_1, &s0, &b1));
  /* Unknown slot; non-patients outside the clinic. */
  struct hash32 nowhere = slot_at(&sch, t + 7);
  EXPECT(ERR_UNKNOWN_SLOT, book_as(f, PAT_2, &nowhere, &b2));
  struct hash32 s1 = slot_at(&sch, t + 30 * MIN_MS);
  EXPECT(ERR_UNAUTHORIZED, book_as(f, PRAC_B, &s1, &b2));
  EXPECT(ERR_UNAUTHORIZED, book_as(f, ADMIN_B, &s1, &b2));
  EXPECT(ERR_UNAUTHORIZED, book_as(f, AUD_A, &s1, &b2));
  expect_str(f, CTR_SLOT, &s1, "status", CTR_SLOT_FREE);
  /* Sealed copies: the practitioner must be among them, strangers not. */
  struct booking bad;
  booking_make(f, &bad, PAT_2, &s1, 0x33);
  memset(&bad.keys, 0, sizeof(bad.keys));
  struct hash32 zero = zero_id();
  keyset_add(&bad.keys, &zero);
  EXPECT(ERR_BAD_ARGS, book_as(f, PAT_2, &s1, &bad));
  keyset_add(&bad.keys, &f->act[PRAC_A].id);
  keyset_add(&bad.keys, &f->act[PRAC_B].id);
  EXPECT(ERR_BAD_ARGS, book_as(f, PAT_2, &s1, &bad));
  booking_free(&bad);
  booking_make(f, &bad, PAT_2, &s1, 0x33);
  memset(&bad.commitment, 0, sizeof(bad.commitment));
  EXPECT(ERR_BAD_ARGS, book_as(f, PAT_2, &s1, &bad));
  expect_str(f, CTR_SLOT, &s1, "status", CTR_SLOT_FREE);
  /* The clinic books on a patient's behalf: an admin of Alpha adds an
   * admin copy of the salt. */
  booking_free(&bad);
  booking_make(f, &bad, PAT_2, &s1, 0x33);
  keyset_add(&bad.keys, &f->act[ADMIN_A].id);
  EXPECT(OK, book_as(f, ADMIN_A, &s1, &bad));
  expect_str(f, CTR_SLOT, &s1, "status", CTR_SLOT_BUSY);
  /* A slot that has started cannot be booked. */
  struct hash32 s7 = slot_at(&sch, t + 7 * 30 * MIN_MS);
  f->time_ms = t + 7 * 30 * MIN_MS;
  EXPECT(ERR_SLOT_IN_PAST, book_as(f, PAT_1, &s7, &b1));
  expect_str(f, CTR_SLOT, &s7, "status", CTR_SLOT_FREE);
  booking_free(&bad);
  booking_free(&b1);
  booking_free(&b2);
}

static void test_cancel(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t);
  EXPECT(OK, CALL(f, ADMIN_A, "appt", "set_policy", v_u64(2 * HOUR_MS)));
  struct hash32 s0 = slot_at(&sch, t);
  struct booking b1;
  struct booking b2;
  booking_make(f, &b1, PAT_1, &s0, 0x11);
  booking_make(f, &b2, PAT_2, &s0, 0x22);
  EXPECT(OK, book_as(f, PAT_1, &s0, &b1));
  struct hash32 a1 = appt_of(f);
  /* Someone else's booking: another key, no key, a stranger's clinic. */
  EXPECT(ERR_NOT_YOUR_BOOKING, cancel_cap(f, PAT_2, &a1, b2.cap));
  EXPECT(ERR_NOT_YOUR_BOOKING, cancel_clinic(f, PAT_2, &a1));
  EXPECT(ERR_NOT_YOUR_BOOKING, cancel_clinic(f, ADMIN_B, &a1));
  EXPECT(ERR_NOT_YOUR_BOOKING, cancel_clinic(f, PRAC_B, &a1));
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_BOOKED);
  expect_str(f, CTR_SLOT, &s0, "status", CTR_SLOT_BUSY);
  EXPECT(ERR_UNKNOWN_APPOINTMENT, cancel_cap(f, PAT_1, &s0, b1.cap));
  /* A signature over other arguments does not carry over. */
  struct hash32 a_other = hash_of("test", "other");
  EXPECT(ERR_UNKNOWN_APPOINTMENT, cancel_cap(f, PAT_1, &a_other, b1.cap));
  /* Inside the cut-off the booker cannot cancel; the clinic can. */
  f->time_ms = t - HOUR_MS;
  EXPECT(ERR_CANCEL_CUTOFF, cancel_cap(f, PAT_1, &a1, b1.cap));
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_BOOKED);
  EXPECT(OK, cancel_clinic(f, PRAC_A, &a1));
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_CANCELLED);
  expect_str(f, CTR_SLOT, &s0, "status", CTR_SLOT_FREE);
  EXPECT(ERR_APPOINTMENT_CLOSED, cancel_clinic(f, PRAC_A, &a1));
  /* Freed, the slot books again; before the cut-off the booker cancels
   * (any identity may carry the signed call: here the clinic's admin). */
  struct hash32 s1 = slot_at(&sch, t + 30 * MIN_MS);
  struct booking b3;
  booking_make(f, &b3, PAT_2, &s1, 0x44);
  EXPECT(OK, book_as(f, PAT_2, &s1, &b3));
  struct hash32 a3 = appt_of(f);
  f->time_ms = t - 3 * HOUR_MS;
  EXPECT(OK, cancel_cap(f, ADMIN_A, &a3, b3.cap));
  expect_str(f, CTR_APPT, &a3, "status", CTR_APPT_CANCELLED);
  expect_str(f, CTR_SLOT, &s1, "status", CTR_SLOT_FREE);
  /* A replayed signature meets a closed appointment. */
  EXPECT(ERR_APPOINTMENT_CLOSED, cancel_cap(f, PAT_2, &a3, b3.cap));
  booking_free(&b1);
  booking_free(&b2);
  booking_free(&b3);
}

static void test_reschedule(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t);
  struct hash32 s0 = slot_at(&sch, t);
  struct hash32 s1 = slot_at(&sch, t + 30 * MIN_MS);
  struct hash32 s2 = slot_at(&sch, t + 60 * MIN_MS);
  struct booking b1;
  struct booking b2;
  struct booking moved;
  booking_make(f, &b1, PAT_1, &s0, 0x11);
  booking_make(f, &b2, PAT_2, &s1, 0x22);
  booking_make(f, &moved, PAT_1, &s1, 0x55);
  EXPECT(OK, book_as(f, PAT_1, &s0, &b1));
  struct hash32 a1 = appt_of(f);
  EXPECT(OK, book_as(f, PAT_2, &s1, &b2));
  /* Onto a taken slot: refused, and the old booking stands. */
  EXPECT(ERR_SLOT_TAKEN, reschedule_cap(f, PAT_1, &a1, &s1, &moved, b1.cap));
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_BOOKED);
  expect_str(f, CTR_SLOT, &s0, "status", CTR_SLOT_BUSY);
  struct hash32 nowhere = slot_at(&sch, t + 5);
  EXPECT(ERR_UNKNOWN_SLOT, reschedule_cap(f, PAT_1, &a1, &nowhere, &moved, b1.cap));
  EXPECT(ERR_NOT_YOUR_BOOKING, reschedule_cap(f, PAT_2, &a1, &s2, &moved, b2.cap));
  /* Moved: the new slot is held, the old one free, in one call. */
  booking_free(&moved);
  booking_make(f, &moved, PAT_1, &s2, 0x55);
  EXPECT(OK, reschedule_cap(f, PAT_1, &a1, &s2, &moved, b1.cap));
  struct hash32 a2 = appt_of(f);
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_RESCHEDULED);
  expect_str(f, CTR_APPT, &a2, "status", CTR_APPT_BOOKED);
  struct hash32 prev = field_id(f, CTR_APPT, &a2, "previous");
  assert_memory_equal(prev.b, a1.b, 32);
  expect_str(f, CTR_SLOT, &s0, "status", CTR_SLOT_FREE);
  expect_str(f, CTR_SLOT, &s2, "status", CTR_SLOT_BUSY);
  /* The old key no longer moves anything; the new one does. */
  EXPECT(ERR_APPOINTMENT_CLOSED, cancel_cap(f, PAT_1, &a1, b1.cap));
  EXPECT(ERR_NOT_YOUR_BOOKING, cancel_cap(f, PAT_1, &a2, b1.cap));
  /* The clinic moves bookings only within its organization. */

  EXPECT(OK,
         CALL(f, ADMIN_B, "appt", "create_schedule", v_id(f->act[PRAC_B].id), v_str("consult")));
  struct hash32 schb = schedule_of(f);
  EXPECT(OK, publish(f, ADMIN_B, &schb, t, 30 * MIN_MS, 1));
  struct hash32 sb = slot_at(&schb, t);
  struct booking nb;
  booking_make(f, &nb, PAT_1, &sb, 0x66);
  struct codec_value vals[7] = {
      v_id(a2),         v_id(sb),         v_id(nb.commitment),  v_id(nb.enc),
      v_pk(&nb.cap_pk), v_keys(&nb.keys), {.type = CODEC_BYTES}};
  EXPECT(ERR_UNAUTHORIZED, call_v(f, ADMIN_A, "appt", "reschedule", vals, 7));
  expect_str(f, CTR_APPT, &a2, "status", CTR_APPT_BOOKED);
  booking_free(&nb);
  booking_free(&b1);
  booking_free(&b2);
  booking_free(&moved);
}

static void test_mark(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t);
  struct hash32 s0 = slot_at(&sch, t);
  struct hash32 s1 = slot_at(&sch, t + 30 * MIN_MS);
  struct booking b1;
  struct booking b2;
  booking_make(f, &b1, PAT_1, &s0, 0x11);
  booking_make(f, &b2, PAT_2, &s1, 0x22);
  EXPECT(OK, book_as(f, PAT_1, &s0, &b1));
  struct hash32 a1 = appt_of(f);
  EXPECT(OK, book_as(f, PAT_2, &s1, &b2));
  struct hash32 a2 = appt_of(f);
  EXPECT(ERR_UNAUTHORIZED, mark(f, PRAC_B, &a1, CTR_APPT_CHECKED_IN));
  EXPECT(ERR_UNAUTHORIZED, mark(f, PAT_1, &a1, CTR_APPT_CHECKED_IN));
  EXPECT(ERR_BAD_ARGS, mark(f, PRAC_A, &a1, "cancelled"));
  EXPECT(ERR_BAD_ARGS, mark(f, PRAC_A, &a1, CTR_APPT_NOSHOW)); /* not started yet */
  EXPECT(ERR_UNKNOWN_APPOINTMENT, mark(f, PRAC_A, &s0, CTR_APPT_CHECKED_IN));
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_BOOKED);
  f->time_ms = t - 10 * MIN_MS;
  EXPECT(OK, mark(f, PRAC_A, &a1, CTR_APPT_CHECKED_IN));
  EXPECT(ERR_APPOINTMENT_CLOSED, mark(f, PRAC_A, &a1, CTR_APPT_CHECKED_IN));
  EXPECT(ERR_APPOINTMENT_CLOSED, cancel_clinic(f, PRAC_A, &a1));
  EXPECT(OK, mark(f, ADMIN_A, &a1, CTR_APPT_FULFILLED));
  expect_str(f, CTR_APPT, &a1, "status", CTR_APPT_FULFILLED);
  EXPECT(ERR_APPOINTMENT_CLOSED, mark(f, PRAC_A, &a1, CTR_APPT_NOSHOW));
  f->time_ms = t + 31 * MIN_MS;
  EXPECT(OK, mark(f, PRAC_A, &a2, CTR_APPT_NOSHOW));
  expect_str(f, CTR_APPT, &a2, "status", CTR_APPT_NOSHOW);
  EXPECT(ERR_APPOINTMENT_CLOSED, cancel_cap(f, PAT_2, &a2, b2.cap));
  booking_free(&b1);
  booking_free(&b2);
}

struct seen {
  size_t n;
  uint64_t starts[LIM_PAGE_MAX];
};

static int seen_visit(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct seen *s = ctx;
  assert_true(kind == CTR_SLOT || kind == CTR_APPT);
  const struct codec_schema *schema = ctr_kind_schema(kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  assert_int_equal(codec_record_decode(schema, vals, val.ptr, val.len), OK);
  int i = codec_schema_find(schema, "start_ms");
  assert_true(i >= 0 && s->n < LIM_PAGE_MAX);
  s->starts[s->n++] = vals[i].u64;
  return OK;
}

static void test_search(void **state) {
  struct fx *f = *state;
  uint64_t t = 0;
  struct hash32 sch = clinic(f, &t);
  struct hash32 s2 = slot_at(&sch, t + 60 * MIN_MS);
  struct booking b;
  booking_make(f, &b, PAT_1, &s2, 0x11);
  EXPECT(OK, book_as(f, PAT_1, &s2, &b));
  const struct hash32 *doc = &f->act[PRAC_A].id;
  struct ctr_cursor next;
  struct seen all = {0};
  EXPECT(OK, ctr_appt_search(f->st, CTR_SLOT, doc, t, t + DAY_MS, bs(""), NULL, 50, seen_visit,
                             &all, &next));
  assert_int_equal(all.n, 8);
  assert_int_equal(next.len, 0);
  for (size_t i = 1; i < all.n; i++) {
    assert_true(all.starts[i - 1] < all.starts[i]);
  }
  struct seen free_ = {0};
  EXPECT(OK, ctr_appt_search(f->st, CTR_SLOT, NULL, t, t + DAY_MS, bs("free"), NULL, 50, seen_visit,
                             &free_, &next));
  assert_int_equal(free_.n, 7);
  struct seen busy = {0};
  EXPECT(OK, ctr_appt_search(f->st, CTR_SLOT, doc, t, t + DAY_MS, bs("busy"), NULL, 50, seen_visit,
                             &busy, &next));
  assert_int_equal(busy.n, 1);
  assert_int_equal(busy.starts[0], t + 60 * MIN_MS);
  /* The range's end is exclusive; pages resume after their cursor. */
  struct seen p1 = {0};
  EXPECT(OK, ctr_appt_search(f->st, CTR_SLOT, doc, t, t + 90 * MIN_MS, bs(""), NULL, 2, seen_visit,
                             &p1, &next));
  assert_int_equal(p1.n, 2);
  assert_int_not_equal(next.len, 0);
  struct seen p2 = {0};
  struct ctr_cursor after = next;
  EXPECT(OK, ctr_appt_search(f->st, CTR_SLOT, doc, t, t + 90 * MIN_MS, bs(""), &after, 2,
                             seen_visit, &p2, &next));
  assert_int_equal(p2.n, 1);
  assert_int_equal(p2.starts[0], t + 60 * MIN_MS);
  assert_int_equal(next.len, 0);
  struct seen appts = {0};
  EXPECT(OK, ctr_appt_search(f->st, CTR_APPT, doc, t, t + DAY_MS, bs(""), NULL, 50, seen_visit,
                             &appts, &next));
  assert_int_equal(appts.n, 1);
  EXPECT(ERR_BAD_ARGS, ctr_appt_search(f->st, CTR_APPT, NULL, t, t + DAY_MS, bs(""), NULL, 50,
                                       seen_visit, &appts, &next));
  EXPECT(ERR_BAD_ARGS,
         ctr_appt_search(f->st, CTR_SLOT, doc, t, t, bs(""), NULL, 50, seen_visit, &appts, &next));
  EXPECT(ERR_BAD_ARGS, ctr_appt_search(f->st, CTR_SLOT, doc, t, t + LIM_APPT_RANGE_MS_MAX + 1,
                                       bs(""), NULL, 50, seen_visit, &appts, &next));
  booking_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_commitment, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_schedule, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_publish, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_publish_overlap, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_book, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_cancel, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_reschedule, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_mark, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_search, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
