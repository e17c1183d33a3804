/*
 * Unit tests of the native contracts, driven the way the ledger drives
 * them: a real store in a temporary directory, genesis with two member
 * organizations, then hand-built transactions through ctr_admit and
 * ctr_call (signatures are the ledger's business, not checked here).
 *
 * After every refused admission or call the test aborts the buffered
 * writes as the ledger does and checks the state root did not move: a
 * failed call changes nothing. Entities are read back through ctr_get and
 * decoded with the public schemas, so the tests see what the API sees.
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
  return ctr_fx_open(state, "/tmp/medchain-ctr-XXXXXX", genesis_fill);
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

static struct hash32 rec_id(int n) {
  char s[32];
  snprintf(s, sizeof(s), "record-%d", n);
  return hash_of("test.record", s);
}

static int anchor_k(struct fx *f, int author, int rec, int patient, const char *category,
                    const struct keyset *ks) {
  return CALL(f, author, "records", "anchor", v_id(rec_id(rec)), v_id(f->act[patient].id),
              v_str(category), v_str("Observation"), v_id(hash_of("test.content", category)),
              v_u64(4096), v_keys(ks));
}

static int anchor(struct fx *f, int author, int rec, int patient, const char *category) {
  struct keyset ks = {0};
  keyset_add(&ks, &f->act[patient].id);
  keyset_add(&ks, &f->act[author].id);
  return anchor_k(f, author, rec, patient, category, &ks);
}

static int grant_cat(struct fx *f, int who, int patient, struct hash32 grantee,
                     const char *category, const char *purpose, uint64_t expires_ms) {
  struct keyset none = {0};
  return CALL(f, who, "consent", "grant", v_id(f->act[patient].id), v_id(grantee),
              v_str("category"), v_str(category), v_id(zero_id()), v_str(purpose),
              v_u64(expires_ms), v_keys(&none));
}

static int grant_rec(struct fx *f, int who, int patient, struct hash32 grantee, int rec,
                     const char *purpose, uint64_t expires_ms, const struct keyset *ks) {
  return CALL(f, who, "consent", "grant", v_id(f->act[patient].id), v_id(grantee), v_str("record"),
              v_str(""), v_id(rec_id(rec)), v_str(purpose), v_u64(expires_ms), v_keys(ks));
}

static struct hash32 last_consent(struct fx *f) {
  struct hash32 id;
  cry_hash_tagged(&id, "medchain.consent.v1", f->last_tx_hash.b, 32);
  return id;
}

static struct hash32 last_audit(struct fx *f) {
  struct hash32 id;
  cry_hash_tagged(&id, "medchain.audit.v1", f->last_tx_hash.b, 32);
  return id;
}

static int consent_revoke(struct fx *f, int who, struct hash32 consent) {
  return CALL(f, who, "consent", "revoke", v_id(consent));
}

static int check(struct fx *f, int reader, int rec, const char *purpose, uint64_t now_ms) {
  return ctr_consent_check(f->st, &f->act[reader].id, (struct hash32[]){rec_id(rec)}, bs(purpose),
                           now_ms);
}

static int propose(struct fx *f, int who, const char *name, const char *kind, int admin) {
  return CALL(f, who, "governance", "propose_member", v_str(name), v_str(kind),
              v_pk(&f->act[admin].pk), v_box(&f->act[admin].box));
}

static int vote(struct fx *f, int who, const char *name) {
  return CALL(f, who, "governance", "vote", v_id(hash_of("medchain.proposal.v1", name)));
}

static struct codec_value v_bytes(const uint8_t *p, size_t len) {
  return (struct codec_value){.type = CODEC_BYTES, .bytes = {p, len}};
}

/* An emergency entry carries a reason sealed to the patient: the contract
 * checks only its shape, so the tests pass 64 opaque bytes. */
static const uint8_t fake_sealed[64] = {1, 2, 3};

static int audit_log(struct fx *f, int who, int rec, int accessor, const char *purpose,
                     bool emergency, struct hash32 reason) {
  bool sealed = !base_hash_is_zero(&reason);
  return CALL(f, who, "audit", "log", v_id(rec_id(rec)), v_id(f->act[accessor].id), v_str(purpose),
              v_bool(emergency), v_id(reason), v_id(hash_of("test.node", "node0")),
              v_bytes(fake_sealed, sealed ? sizeof fake_sealed : 0));
}

static bool outcome_is(struct fx *f, const struct hash32 *entry, const char *want) {
  struct codec_value v = field(f, CTR_AUDIT, entry, "outcome");
  return v.bytes.len == strlen(want) && memcmp(v.bytes.ptr, want, v.bytes.len) == 0;
}

/* The outcome the chain must record: the consent check's verdict. */
static const char *expected_outcome(struct fx *f, int reader, int rec, const char *purpose) {
  int rc = ctr_consent_check(f->st, &f->act[reader].id, (struct hash32[]){rec_id(rec)}, bs(purpose),
                             f->time_ms);
  return rc == OK ? "granted" : err_name(rc);
}

static bool keys_have(struct fx *f, int rec, const struct hash32 *reader) {
  struct hash32 id = rec_id(rec);
  struct codec_value v = field(f, CTR_RECORD, &id, "keys");
  for (uint32_t i = 0; i < v.count; i++) {
    if (memcmp(v.bytes.ptr + (size_t)i * CODEC_KEY_ITEM_BYTES, reader->b, 32) == 0) {
      return true;
    }
  }
  return false;
}

/* ---- tables --------------------------------------------------------------- */

static void test_tables(void **state) {
  (void)state;
  assert_int_equal(ctr_method_count(), 34);
  for (size_t i = 0; i < ctr_method_count(); i++) {
    const struct ctr_method *m = ctr_method_at(i);
    assert_non_null(m);
    assert_non_null(m->who);
    assert_non_null(m->summary);
    assert_ptr_equal(ctr_method_find(bs(m->contract), bs(m->method)), m);
  }
  assert_null(ctr_method_at(ctr_method_count()));
  assert_null(ctr_method_find(bs("consent"), bs("nope")));
  assert_null(ctr_method_find(bs("nope"), bs("grant")));
  for (int k = 0; k < CTR_KIND_COUNT_; k++) {
    const struct codec_schema *s = ctr_kind_schema((enum ctr_kind)k);
    assert_string_equal(s->fields[0].name, "id");
    assert_int_equal(s->fields[0].type, CODEC_ID);
    assert_non_null(ctr_kind_name((enum ctr_kind)k));
  }
  assert_string_equal(ctr_kind_name(CTR_ORG), "organization");
  struct ledger_exec e;
  ctr_exec_bind(&e);
  assert_non_null(e.admit);
  assert_non_null(e.call);
  assert_non_null(e.genesis);
  assert_null(e.ctx);
}

/* ---- genesis and admission ------------------------------------------------ */

static void test_genesis(void **state) {
  struct fx *f = *state;
  struct hash32 a = org_id("Alpha Hospital");
  struct hash32 b = org_id("Beta Clinic");
  expect_str(f, CTR_ORG, &a, "name", "Alpha Hospital");
  expect_str(f, CTR_ORG, &a, "kind", "hospital");
  expect_str(f, CTR_ORG, &a, "status", "active");
  assert_int_equal(field_u64(f, CTR_ORG, &a, "member"), 1);
  assert_int_equal(field_u64(f, CTR_ORG, &a, "admitted_height"), 0);
  struct codec_value admins = field(f, CTR_ORG, &b, "admins");
  assert_int_equal(admins.count, 1);
  assert_memory_equal(admins.bytes.ptr, f->act[ADMIN_B].id.b, 32);
  expect_str(f, CTR_IDENTITY, &f->act[ADMIN_A].id, "kind", "admin");
  struct hash32 org = field_id(f, CTR_IDENTITY, &f->act[ADMIN_A].id, "org");
  assert_memory_equal(org.b, a.b, 32);
  assert_int_equal(global_u64(f, "members"), 2);
  struct hash32 vid;
  cry_id_from_pk(&vid, &f->act[VAL].pk);
  assert_int_equal(field_u64(f, CTR_VALIDATOR, &vid, "power"), 10);
  assert_int_equal(next_nonce(f, &f->act[ADMIN_A].id), 1);

  /* The same founders again collide with what is there. */
  struct ledger_genesis *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  genesis_fill(f, g);
  EXPECT(ERR_CONFIG, ctr_genesis(f->st, g));
  state_tx_abort(f->st);
  free(g);
}

static void test_genesis_checks(void **state) {
  struct fx *f = *state;
  struct ledger_genesis *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  genesis_fill(f, g);
  g->nmembers = 1;
  g->nvalidators = 0;
  snprintf(g->members[0].name, sizeof(g->members[0].name), "Epsilon");
  snprintf(g->members[0].kind, sizeof(g->members[0].kind), "spaceport");
  g->members[0].admin_pk = f->act[EXTRA].pk;
  EXPECT(ERR_CONFIG, ctr_genesis(f->st, g));
  state_tx_abort(f->st);
  snprintf(g->members[0].kind, sizeof(g->members[0].kind), "lab");
  snprintf(g->members[0].name, sizeof(g->members[0].name), "Bad\nName");
  EXPECT(ERR_CONFIG, ctr_genesis(f->st, g));
  state_tx_abort(f->st);
  /* The validator of the running chain again. */
  g->nmembers = 0;
  g->nvalidators = 1;
  EXPECT(ERR_CONFIG, ctr_genesis(f->st, g));
  state_tx_abort(f->st);
  free(g);
}

static void test_admit(void **state) {
  struct fx *f = *state;
  f->args_len = 0;
  struct tx tx;
  /* Unknown sender. */
  tx_init(f, &tx, EXTRA, "governance", "vote");
  EXPECT(ERR_UNKNOWN_SENDER, submit(f, &tx));
  /* A key that is not the sender's. */
  tx_init(f, &tx, ADMIN_A, "governance", "vote");
  tx.pubkey = f->act[ADMIN_B].pk;
  EXPECT(ERR_KEY_MISMATCH, submit(f, &tx));
  /* Nonces: 1 is next; 2 is a gap; 0 is a replay. */
  tx_init(f, &tx, ADMIN_A, "governance", "vote");
  assert_int_equal(tx.nonce, 1);
  tx.nonce = 2;
  EXPECT(ERR_NONCE_GAP, submit(f, &tx));
  tx.nonce = 0;
  EXPECT(ERR_REPLAY, submit(f, &tx));
  /* Admitted even though the call fails: the nonce is used. */
  tx.nonce = 1;
  EXPECT(ERR_BAD_ARGS, submit(f, &tx));
  assert_int_equal(next_nonce(f, &f->act[ADMIN_A].id), 2);
  EXPECT(ERR_REPLAY, submit(f, &tx));
  EXPECT(ERR_UNKNOWN_PROPOSAL, CALL(f, ADMIN_A, "governance", "vote", v_id(zero_id())));
  assert_int_equal(next_nonce(f, &f->act[ADMIN_A].id), 3);
}

static void test_dispatch(void **state) {
  struct fx *f = *state;
  struct tx tx;
  f->args_len = 0;
  tx_init(f, &tx, ADMIN_A, "prescriptions", "issue");
  EXPECT(ERR_UNKNOWN_CONTRACT, submit(f, &tx));
  tx_init(f, &tx, ADMIN_A, "consent", "forge");
  EXPECT(ERR_UNKNOWN_METHOD, submit(f, &tx));
  /* Truncated, trailing, non-canonical, oversized arguments. */
  memset(f->args, 0, 40);
  f->args_len = 31;
  tx_init(f, &tx, ADMIN_A, "governance", "vote");
  EXPECT(ERR_BAD_ARGS, submit(f, &tx));
  f->args_len = 33;
  tx_init(f, &tx, ADMIN_A, "governance", "vote");
  EXPECT(ERR_BAD_ARGS, submit(f, &tx));
  f->args_len = 33;
  f->args[32] = 2; /* set_guardian: active must be 0 or 1 */
  tx_init(f, &tx, ADMIN_A, "identity", "set_guardian");
  EXPECT(ERR_BAD_ARGS, submit(f, &tx));
  base_put_u32be(f->args, 129); /* a name one byte over 128 */
  memset(f->args + 4, 'a', 129);
  f->args_len = 4 + 129;
  tx_init(f, &tx, ADMIN_A, "governance", "propose_member");
  EXPECT(ERR_OVERSIZE, submit(f, &tx));
  /* Every one of those was admitted: six nonces used. */
  assert_int_equal(next_nonce(f, &f->act[ADMIN_A].id), 7);
}

/* The executor bound for the ledger runs the same code. */
static void test_exec_bound(void **state) {
  struct fx *f = *state;
  struct ledger_exec e;
  ctr_exec_bind(&e);
  struct ledger_env env = {.chain_id = bs("medchain-test"), .height = 1, .time_ms = T0_MS + 1};
  f->args_len = 32;
  memset(f->args, 0, 32);
  struct tx tx;
  tx_init(f, &tx, ADMIN_A, "governance", "vote");
  EXPECT(OK, e.admit(e.ctx, f->st, &tx, &env));
  EXPECT(ERR_UNKNOWN_PROPOSAL, e.call(e.ctx, f->st, &tx, &env));
  state_tx_abort(f->st);
  struct ledger_genesis *g = calloc(1, sizeof(*g));
  assert_non_null(g);
  genesis_fill(f, g);
  EXPECT(ERR_CONFIG, e.genesis(e.ctx, f->st, g));
  state_tx_abort(f->st);
  free(g);
  /* ctr_call on its own still wants a known, active sender. */
  tx_init(f, &tx, EXTRA, "governance", "vote");
  EXPECT(ERR_UNKNOWN_SENDER, ctr_call(f->st, &tx, &env));
}

/* A suspended organization suspends everyone in it. */
static void test_org_suspended(void **state) {
  struct fx *f = *state;
  struct hash32 b = org_id("Beta Clinic");
  struct bytes val;
  assert_int_equal(ctr_get(f->st, CTR_ORG, &b, &val), OK);
  struct codec_value vals[LIM_FIELDS_MAX];
  const struct codec_schema *s = ctr_kind_schema(CTR_ORG);
  assert_int_equal(codec_record_decode(s, vals, val.ptr, val.len), OK);
  vals[codec_schema_find(s, "status")].bytes = bs("suspended");
  uint8_t buf[LIM_STATE_VALUE_MAX];
  size_t len = 0;
  assert_int_equal(codec_record_encode(s, vals, buf, sizeof(buf), &len), OK);
  uint8_t key[33] = {'O'};
  memcpy(key + 1, b.b, 32);
  assert_int_equal(state_put(f->st, (struct bytes){key, 33}, (struct bytes){buf, len}), OK);
  assert_int_equal(state_tx_commit(f->st), OK);
  EXPECT(ERR_SUSPENDED, enrol(f, ADMIN_B, PAT_2));
  struct ledger_env env = {.chain_id = bs("medchain-test"), .height = 1, .time_ms = T0_MS + 1};
  struct tx tx;
  tx_init(f, &tx, ADMIN_B, "identity", "enrol_patient");
  EXPECT(ERR_SUSPENDED, ctr_call(f->st, &tx, &env));
  EXPECT(OK, enrol(f, ADMIN_A, PAT_1));
}

/* ---- governance ----------------------------------------------------------- */

static void test_gov_two_members(void **state) {
  struct fx *f = *state;
  world(f);
  struct hash32 pid = hash_of("medchain.proposal.v1", "Gamma Lab");
  struct hash32 gamma = org_id("Gamma Lab");
  EXPECT(ERR_UNAUTHORIZED, propose(f, PRAC_A, "Gamma Lab", "lab", ADMIN_C));
  EXPECT(ERR_BAD_ARGS, propose(f, ADMIN_A, "Gamma Lab", "spaceport", ADMIN_C));
  EXPECT(ERR_BAD_ARGS, propose(f, ADMIN_A, "", "lab", ADMIN_C));
  EXPECT(ERR_EXISTS, propose(f, ADMIN_A, "Beta Clinic", "clinic", ADMIN_C));
  EXPECT(ERR_EXISTS, propose(f, ADMIN_A, "Gamma Lab", "lab", PRAC_B));
  struct pubkey bad;
  memset(&bad, 0, sizeof(bad)); /* small order: not a signing key */
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "governance", "propose_member", v_str("Gamma Lab"),
                            v_str("lab"), v_pk(&bad), v_box(&f->act[ADMIN_C].box)));

  EXPECT(OK, propose(f, ADMIN_A, "Gamma Lab", "lab", ADMIN_C));
  expect_str(f, CTR_PROPOSAL, &pid, "status", "open");
  assert_int_equal(field(f, CTR_PROPOSAL, &pid, "votes").count, 1);
  assert_false(exists(f, CTR_ORG, &gamma));
  EXPECT(ERR_EXISTS, propose(f, ADMIN_B, "Gamma Lab", "lab", ADMIN_D));
  EXPECT(ERR_ALREADY_VOTED, vote(f, ADMIN_A, "Gamma Lab"));
  EXPECT(ERR_UNAUTHORIZED, vote(f, PRAC_B, "Gamma Lab"));
  EXPECT(ERR_UNKNOWN_PROPOSAL, vote(f, ADMIN_B, "Omega"));

  /* The second of two members: 2 * 3 >= 2 * 2 admits. */
  EXPECT(OK, vote(f, ADMIN_B, "Gamma Lab"));
  expect_str(f, CTR_PROPOSAL, &pid, "status", "admitted");
  assert_int_equal(field(f, CTR_PROPOSAL, &pid, "votes").count, 2);
  expect_str(f, CTR_ORG, &gamma, "kind", "lab");
  assert_int_equal(field_u64(f, CTR_ORG, &gamma, "member"), 1);
  assert_int_equal(field_u64(f, CTR_ORG, &gamma, "admitted_height"), f->height);
  expect_str(f, CTR_IDENTITY, &f->act[ADMIN_C].id, "kind", "admin");
  struct hash32 org = field_id(f, CTR_IDENTITY, &f->act[ADMIN_C].id, "org");
  assert_memory_equal(org.b, gamma.b, 32);
  assert_int_equal(global_u64(f, "members"), 3);
  EXPECT(ERR_PROPOSAL_CLOSED, vote(f, ADMIN_B, "Gamma Lab"));
  EXPECT(ERR_EXISTS, propose(f, ADMIN_B, "Gamma Lab", "lab", ADMIN_D));
  /* The new admin signs at once and can register people. */
  EXPECT(OK, reg(f, ADMIN_C, EXTRA, "practitioner", "LIC-C-1", "pathology"));
}

static void test_gov_three_members(void **state) {
  struct fx *f = *state;
  EXPECT(OK, propose(f, ADMIN_A, "Gamma Lab", "lab", ADMIN_C));
  EXPECT(OK, vote(f, ADMIN_B, "Gamma Lab"));
  assert_int_equal(global_u64(f, "members"), 3);
  /* Three members: one vote is not enough, two are (2 * 3 >= 3 * 2). */
  struct hash32 delta = org_id("Delta Pharmacy");
  EXPECT(OK, propose(f, ADMIN_C, "Delta Pharmacy", "pharmacy", ADMIN_D));
  assert_false(exists(f, CTR_ORG, &delta));
  EXPECT(ERR_ALREADY_VOTED, vote(f, ADMIN_C, "Delta Pharmacy"));
  EXPECT(OK, vote(f, ADMIN_A, "Delta Pharmacy"));
  assert_true(exists(f, CTR_ORG, &delta));
  assert_int_equal(global_u64(f, "members"), 4);
  EXPECT(ERR_PROPOSAL_CLOSED, vote(f, ADMIN_B, "Delta Pharmacy"));
  struct hash32 pid = hash_of("medchain.proposal.v1", "Delta Pharmacy");
  struct hash32 prop = field_id(f, CTR_PROPOSAL, &pid, "proposer");
  struct hash32 gamma = org_id("Gamma Lab");
  assert_memory_equal(prop.b, gamma.b, 32);

  /* A key taken while a proposal is open makes its admission fail
   * (four members: the third vote decides). */
  EXPECT(OK, propose(f, ADMIN_A, "Epsilon Insurer", "insurer", EXTRA));
  EXPECT(OK, reg(f, ADMIN_B, EXTRA, "auditor", NULL, ""));
  EXPECT(OK, vote(f, ADMIN_B, "Epsilon Insurer"));
  EXPECT(ERR_EXISTS, vote(f, ADMIN_C, "Epsilon Insurer"));

  /* An organization that is not a member may not govern. */
  struct hash32 a = org_id("Alpha Hospital");
  struct bytes val;
  assert_int_equal(ctr_get(f->st, CTR_ORG, &a, &val), OK);
  struct codec_value vals[LIM_FIELDS_MAX];
  const struct codec_schema *s = ctr_kind_schema(CTR_ORG);
  assert_int_equal(codec_record_decode(s, vals, val.ptr, val.len), OK);
  vals[codec_schema_find(s, "member")].u64 = 0;
  uint8_t buf[LIM_STATE_VALUE_MAX];
  size_t len = 0;
  assert_int_equal(codec_record_encode(s, vals, buf, sizeof(buf), &len), OK);
  uint8_t key[33] = {'O'};
  memcpy(key + 1, a.b, 32);
  assert_int_equal(state_put(f->st, (struct bytes){key, 33}, (struct bytes){buf, len}), OK);
  assert_int_equal(state_tx_commit(f->st), OK);
  EXPECT(ERR_NOT_MEMBER, propose(f, ADMIN_A, "Zeta Distributor", "distributor", EXTRA + 1));
  EXPECT(ERR_NOT_MEMBER, vote(f, ADMIN_A, "Epsilon Insurer"));

  /* The consortium is full at LIM_MEMBERS_MAX. */
  global_put(f, "members", LIM_MEMBERS_MAX);
  EXPECT(ERR_LIMIT, propose(f, ADMIN_B, "Zeta Distributor", "distributor", EXTRA + 1));
}

static void test_gov_single_member(void **state) {
  struct fx *f = *state;
  /* With one member the proposer's own vote is two thirds. */
  global_put(f, "members", 1);
  EXPECT(OK, propose(f, ADMIN_A, "Gamma Lab", "lab", ADMIN_C));
  struct hash32 pid = hash_of("medchain.proposal.v1", "Gamma Lab");
  expect_str(f, CTR_PROPOSAL, &pid, "status", "admitted");
  assert_int_equal(global_u64(f, "members"), 2);
}

/* ---- identity ------------------------------------------------------------- */

static void test_register(void **state) {
  struct fx *f = *state;
  EXPECT(OK, reg(f, ADMIN_A, PRAC_A, "practitioner", "LIC-A-1", "cardiology"));
  expect_str(f, CTR_IDENTITY, &f->act[PRAC_A].id, "kind", "practitioner");
  expect_str(f, CTR_IDENTITY, &f->act[PRAC_A].id, "role", "cardiology");
  expect_str(f, CTR_IDENTITY, &f->act[PRAC_A].id, "status", "active");
  struct hash32 lic = field_id(f, CTR_IDENTITY, &f->act[PRAC_A].id, "licence_hash");
  struct hash32 want = hash_of("test.licence", "LIC-A-1");
  assert_memory_equal(lic.b, want.b, 32);
  assert_int_equal(field_u64(f, CTR_IDENTITY, &f->act[PRAC_A].id, "created_height"), f->height);

  EXPECT(ERR_UNAUTHORIZED, reg(f, PRAC_A, EXTRA, "practitioner", "LIC-X", ""));
  EXPECT(ERR_BAD_ARGS, reg(f, ADMIN_A, EXTRA, "patient", NULL, ""));
  EXPECT(ERR_BAD_ARGS, reg(f, ADMIN_A, EXTRA, "surgeon", "LIC-X", ""));
  EXPECT(ERR_BAD_ARGS, reg(f, ADMIN_A, EXTRA, "practitioner", NULL, "cardiology"));
  EXPECT(ERR_BAD_ARGS, reg(f, ADMIN_A, EXTRA, "auditor", "LIC-X", ""));
  EXPECT(ERR_BAD_ARGS, reg(f, ADMIN_A, EXTRA, "admin", "LIC-X", ""));
  EXPECT(ERR_EXISTS, reg(f, ADMIN_B, PRAC_A, "practitioner", "LIC-A-2", ""));
  EXPECT(ERR_EXISTS, reg(f, ADMIN_B, ADMIN_A, "admin", NULL, ""));
  struct pubkey bad;
  memset(&bad, 0, sizeof(bad));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "identity", "register", v_str("auditor"), v_pk(&bad),
                            v_box(&f->act[EXTRA].box), v_id(zero_id()), v_str("")));
  struct boxkey nobox;
  memset(&nobox, 0, sizeof(nobox));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "identity", "register", v_str("auditor"),
                            v_pk(&f->act[EXTRA].pk), v_box(&nobox), v_id(zero_id()), v_str("")));

  /* Admins join the organization's list, up to LIM_IDS_MAX. */
  struct hash32 a = org_id("Alpha Hospital");
  for (int i = 0; i < LIM_IDS_MAX - 1; i++) {
    EXPECT(OK, reg(f, ADMIN_A, EXTRA + i, "admin", NULL, "it"));
  }
  assert_int_equal(field(f, CTR_ORG, &a, "admins").count, LIM_IDS_MAX);
  EXPECT(ERR_LIMIT, reg(f, EXTRA, EXTRA + 20, "admin", NULL, ""));
  EXPECT(OK, reg(f, EXTRA, EXTRA + 20, "auditor", NULL, "compliance"));
  struct hash32 org = field_id(f, CTR_IDENTITY, &f->act[EXTRA + 20].id, "org");
  assert_memory_equal(org.b, a.b, 32);
}

static void test_enrol_rotate(void **state) {
  struct fx *f = *state;
  world(f);
  expect_str(f, CTR_IDENTITY, &f->act[PAT_1].id, "kind", "patient");
  struct hash32 org = field_id(f, CTR_IDENTITY, &f->act[PAT_1].id, "org");
  struct hash32 a = org_id("Alpha Hospital");
  assert_memory_equal(org.b, a.b, 32);
  EXPECT(ERR_UNAUTHORIZED, enrol(f, AUD_A, EXTRA));
  EXPECT(ERR_UNAUTHORIZED, enrol(f, PAT_1, EXTRA));
  EXPECT(ERR_EXISTS, enrol(f, PRAC_B, PAT_1));

  /* Rotation keeps the id; the old key no longer signs. */
  struct actor old = f->act[PAT_1];
  old.k = NULL;
  struct actor *p = &f->act[PAT_1];
  struct actor fresh = {0};
  actor_keys(&fresh, PAT_1 + 1, 1);
  EXPECT(OK, CALL(f, PAT_1, "identity", "rotate_key", v_pk(&fresh.pk), v_box(&fresh.box)));
  struct codec_value pk = field(f, CTR_IDENTITY, &p->id, "sign_pk");
  assert_memory_equal(pk.id.b, fresh.pk.b, 32);
  EXPECT(ERR_KEY_MISMATCH,
         CALL(f, PAT_1, "identity", "set_guardian", v_id(f->act[GUARD].id), v_bool(true)));
  cry_keys_destroy(p->k);
  p->k = fresh.k;
  p->pk = fresh.pk;
  p->box = fresh.box;
  EXPECT(OK, CALL(f, PAT_1, "identity", "set_guardian", v_id(f->act[GUARD].id), v_bool(true)));
  /* A retired key can never be bound again, to anyone. */
  EXPECT(ERR_EXISTS, CALL(f, PAT_1, "identity", "rotate_key", v_pk(&old.pk), v_box(&old.box)));
  EXPECT(ERR_EXISTS, CALL(f, PAT_1, "identity", "rotate_key", v_pk(&p->pk), v_box(&p->box)));
  EXPECT(ERR_EXISTS, CALL(f, ADMIN_B, "identity", "enrol_patient", v_pk(&old.pk), v_box(&old.box)));
  EXPECT(ERR_EXISTS, CALL(f, ADMIN_B, "identity", "register", v_str("auditor"), v_pk(&fresh.pk),
                          v_box(&fresh.box), v_id(zero_id()), v_str("")));
  struct pubkey bad;
  memset(&bad, 0, sizeof(bad));
  EXPECT(ERR_BAD_ARGS, CALL(f, PAT_1, "identity", "rotate_key", v_pk(&bad), v_box(&p->box)));
}

static int suspend(struct fx *f, int who, int target) {
  return CALL(f, who, "identity", "suspend", v_id(f->act[target].id));
}

static int reinstate(struct fx *f, int who, int target) {
  return CALL(f, who, "identity", "reinstate", v_id(f->act[target].id));
}

static void test_suspend(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(ERR_UNAUTHORIZED, suspend(f, PRAC_A, PAT_1));
  EXPECT(ERR_UNAUTHORIZED, suspend(f, ADMIN_B, PRAC_A));
  EXPECT(ERR_UNKNOWN_IDENTITY, suspend(f, ADMIN_A, EXTRA));
  EXPECT(OK, suspend(f, ADMIN_A, PRAC_A));
  expect_str(f, CTR_IDENTITY, &f->act[PRAC_A].id, "status", "suspended");
  EXPECT(ERR_SUSPENDED, enrol(f, PRAC_A, EXTRA));
  EXPECT(ERR_UNAUTHORIZED, reinstate(f, ADMIN_B, PRAC_A));
  EXPECT(ERR_UNKNOWN_IDENTITY, reinstate(f, ADMIN_A, EXTRA));
  EXPECT(OK, reinstate(f, ADMIN_A, PRAC_A));
  EXPECT(OK, enrol(f, PRAC_A, EXTRA));

  /* An organization keeps one active admin. */
  EXPECT(ERR_UNAUTHORIZED, suspend(f, ADMIN_A, ADMIN_A));
  EXPECT(OK, reg(f, ADMIN_A, EXTRA + 1, "admin", NULL, ""));
  EXPECT(OK, suspend(f, EXTRA + 1, ADMIN_A));
  EXPECT(ERR_SUSPENDED, enrol(f, ADMIN_A, EXTRA + 2));
  EXPECT(ERR_UNAUTHORIZED, suspend(f, EXTRA + 1, EXTRA + 1));
  EXPECT(OK, reinstate(f, EXTRA + 1, ADMIN_A));
  EXPECT(OK, suspend(f, ADMIN_A, EXTRA + 1));
  EXPECT(ERR_UNAUTHORIZED, suspend(f, ADMIN_A, ADMIN_A));
  /* A suspended patient's records cannot be anchored. */
  EXPECT(OK, suspend(f, ADMIN_A, PAT_1));
  EXPECT(ERR_SUSPENDED, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
}

static int guardian(struct fx *f, int who, int g, bool on) {
  return CALL(f, who, "identity", "set_guardian", v_id(f->act[g].id), v_bool(on));
}

static void test_guardians(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(ERR_UNAUTHORIZED, guardian(f, PRAC_A, GUARD, true));
  EXPECT(ERR_BAD_ARGS, guardian(f, PAT_1, PAT_1, true));
  EXPECT(ERR_UNKNOWN_IDENTITY, guardian(f, PAT_1, EXTRA, true));
  EXPECT(ERR_UNKNOWN_IDENTITY, guardian(f, PAT_1, GUARD, false));
  EXPECT(OK, guardian(f, PAT_1, GUARD, true));
  EXPECT(ERR_EXISTS, guardian(f, PAT_1, GUARD, true));
  assert_int_equal(field(f, CTR_IDENTITY, &f->act[PAT_1].id, "guardians").count, 1);
  EXPECT(OK, guardian(f, PAT_1, GUARD, false));
  assert_int_equal(field(f, CTR_IDENTITY, &f->act[PAT_1].id, "guardians").count, 0);
  for (int i = 0; i < LIM_IDS_MAX; i++) {
    EXPECT(OK, enrol(f, ADMIN_A, EXTRA + i));
    EXPECT(OK, guardian(f, PAT_1, EXTRA + i, true));
  }
  EXPECT(ERR_LIMIT, guardian(f, PAT_1, GUARD, true));
  EXPECT(OK, guardian(f, PAT_1, EXTRA + 3, false));
  EXPECT(OK, guardian(f, PAT_1, GUARD, true));

  /* A guardian acts for the patient: grants, revokes, erases. */
  uint64_t later = f->time_ms + HOUR_MS;
  EXPECT(OK, grant_cat(f, GUARD, PAT_1, f->act[PRAC_B].id, "cardiology", "treatment", later));
  struct hash32 c1 = last_consent(f);
  struct hash32 by = field_id(f, CTR_CONSENT, &c1, "granted_by");
  assert_memory_equal(by.b, f->act[GUARD].id.b, 32);
  EXPECT(OK, consent_revoke(f, GUARD, c1));
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  EXPECT(OK, check(f, GUARD, 1, "treatment", f->time_ms));
  EXPECT(OK, CALL(f, GUARD, "records", "erase", v_id(rec_id(1))));
}

/* ---- consent -------------------------------------------------------------- */

static void test_consent_grant(void **state) {
  struct fx *f = *state;
  world(f);
  uint64_t later = f->time_ms + HOUR_MS;
  struct hash32 prac_b = f->act[PRAC_B].id;
  /* Categories and purposes are labels: no spaces, no free text. */
  EXPECT(ERR_BAD_ARGS, grant_cat(f, PAT_1, PAT_1, prac_b, "Jane Doe", "treatment", later));
  EXPECT(ERR_BAD_ARGS, grant_cat(f, PAT_1, PAT_1, prac_b, "cardiology", "treat ment", later));
  EXPECT(ERR_BAD_ARGS, grant_cat(f, PAT_1, PAT_1, prac_b, "cardio/logy", "treatment", later));
  EXPECT(OK, grant_cat(f, PAT_1, PAT_1, prac_b, "cardiology", "treatment", later));
  struct hash32 c1 = last_consent(f);
  expect_str(f, CTR_CONSENT, &c1, "scope", "category");
  expect_str(f, CTR_CONSENT, &c1, "category", "cardiology");
  expect_str(f, CTR_CONSENT, &c1, "purpose", "treatment");
  expect_str(f, CTR_CONSENT, &c1, "status", "active");
  assert_int_equal(field_u64(f, CTR_CONSENT, &c1, "expires_ms"), later);
  assert_int_equal(field_u64(f, CTR_CONSENT, &c1, "granted_height"), f->height);
  assert_int_equal(field_u64(f, CTR_CONSENT, &c1, "revoked_height"), 0);

  EXPECT(ERR_UNAUTHORIZED, grant_cat(f, PRAC_A, PAT_1, prac_b, "cardiology", "treatment", later));
  EXPECT(ERR_UNAUTHORIZED, grant_cat(f, GUARD, PAT_1, prac_b, "cardiology", "treatment", later));
  EXPECT(ERR_UNKNOWN_PATIENT,
         grant_cat(f, PRAC_A, PRAC_A, prac_b, "cardiology", "treatment", later));
  EXPECT(ERR_UNKNOWN_PATIENT, grant_cat(f, PAT_1, EXTRA, prac_b, "cardiology", "treatment", later));
  EXPECT(ERR_UNKNOWN_IDENTITY,
         grant_cat(f, PAT_1, PAT_1, f->act[EXTRA].id, "cardiology", "treatment", later));
  EXPECT(ERR_BAD_ARGS, grant_cat(f, PAT_1, PAT_1, prac_b, "", "treatment", later));
  EXPECT(ERR_BAD_ARGS, grant_cat(f, PAT_1, PAT_1, prac_b, "cardiology", "", later));
  EXPECT(ERR_EXPIRY_PAST, grant_cat(f, PAT_1, PAT_1, prac_b, "cardiology", "treatment", T0_MS));
  struct keyset none = {0};
  struct keyset one = {0};
  keyset_add(&one, &prac_b);
  EXPECT(ERR_BAD_ARGS, CALL(f, PAT_1, "consent", "grant", v_id(f->act[PAT_1].id), v_id(prac_b),
                            v_str("everything"), v_str("cardiology"), v_id(zero_id()),
                            v_str("treatment"), v_u64(later), v_keys(&none)));
  EXPECT(ERR_BAD_ARGS, CALL(f, PAT_1, "consent", "grant", v_id(f->act[PAT_1].id), v_id(prac_b),
                            v_str("category"), v_str("cardiology"), v_id(rec_id(1)),
                            v_str("treatment"), v_u64(later), v_keys(&none)));
  EXPECT(ERR_BAD_ARGS, CALL(f, PAT_1, "consent", "grant", v_id(f->act[PAT_1].id), v_id(prac_b),
                            v_str("category"), v_str("cardiology"), v_id(zero_id()),
                            v_str("treatment"), v_u64(later), v_keys(&one)));
}

static void test_consent_grant_record(void **state) {
  struct fx *f = *state;
  world(f);
  uint64_t later = f->time_ms + HOUR_MS;
  struct hash32 prac_b = f->act[PRAC_B].id;
  struct keyset none = {0};
  struct keyset one = {0};
  keyset_add(&one, &prac_b);
  /* Record scope: the record must exist, be the patient's, not erased. */
  EXPECT(ERR_UNKNOWN_RECORD, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "treatment", later, &one));
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  EXPECT(OK, anchor(f, PRAC_B, 2, PAT_2, "cardiology"));
  EXPECT(ERR_UNKNOWN_RECORD, grant_rec(f, PAT_1, PAT_1, prac_b, 2, "treatment", later, &one));
  EXPECT(ERR_BAD_ARGS,
         CALL(f, PAT_1, "consent", "grant", v_id(f->act[PAT_1].id), v_id(prac_b), v_str("record"),
              v_str("oncology"), v_id(rec_id(1)), v_str("treatment"), v_u64(later), v_keys(&one)));
  EXPECT(ERR_EXPIRY_PAST, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "treatment", f->time_ms, &one));
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "research", later, &one));
  struct hash32 c2 = last_consent(f);
  expect_str(f, CTR_CONSENT, &c2, "category", "cardiology");
  assert_true(keys_have(f, 1, &prac_b));
  assert_int_equal(field(f, CTR_RECORD, (struct hash32[]){rec_id(1)}, "keys").count, 3);

  /* Only the grantee's own key may ride on a grant: not a stranger's, not
   * two keys, and never a key for the patient or the author. */
  struct keyset stranger = {0};
  keyset_add(&stranger, &f->act[AUD_A].id);
  EXPECT(ERR_BAD_ARGS, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "audit", later, &stranger));
  struct keyset two = {0};
  keyset_add(&two, &prac_b);
  keyset_add(&two, &f->act[AUD_A].id);
  EXPECT(ERR_BAD_ARGS, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "audit", later, &two));
  struct keyset self = {0};
  keyset_add(&self, &f->act[PAT_1].id);
  EXPECT(ERR_BAD_ARGS, grant_rec(f, PAT_1, PAT_1, f->act[PAT_1].id, 1, "research", later, &self));
  struct keyset author = {0};
  keyset_add(&author, &f->act[PRAC_A].id);
  EXPECT(ERR_BAD_ARGS,
         grant_rec(f, PAT_1, PAT_1, f->act[PRAC_A].id, 1, "research", later, &author));
  assert_int_equal(field(f, CTR_RECORD, (struct hash32[]){rec_id(1)}, "keys").count, 3);

  /* A record holds at most LIM_KEYS_MAX sealed keys: 3 + 13 grantees. */
  for (int i = 0; i < 14; i++) {
    EXPECT(OK, enrol(f, ADMIN_A, EXTRA + i));
  }
  for (int i = 0; i < 13; i++) {
    struct keyset k = {0};
    keyset_add(&k, &f->act[EXTRA + i].id);
    EXPECT(OK, grant_rec(f, PAT_1, PAT_1, f->act[EXTRA + i].id, 1, "research", later, &k));
  }
  assert_int_equal(field(f, CTR_RECORD, (struct hash32[]){rec_id(1)}, "keys").count, 16);
  struct keyset last = {0};
  keyset_add(&last, &f->act[EXTRA + 13].id);
  EXPECT(ERR_LIMIT, grant_rec(f, PAT_1, PAT_1, f->act[EXTRA + 13].id, 1, "research", later, &last));

  /* Erased records take no new consent. */
  EXPECT(OK, CALL(f, PAT_2, "records", "erase", v_id(rec_id(2))));
  EXPECT(ERR_RECORD_ERASED, grant_rec(f, PAT_2, PAT_2, prac_b, 2, "treatment", later, &none));
}

static void test_consent_revoke(void **state) {
  struct fx *f = *state;
  world(f);
  uint64_t later = f->time_ms + HOUR_MS;
  struct hash32 prac_b = f->act[PRAC_B].id;
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  struct keyset one = {0};
  keyset_add(&one, &prac_b);
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "treatment", later, &one));
  struct hash32 c = last_consent(f);
  uint64_t grant_tx = f->ntx;
  assert_true(keys_have(f, 1, &prac_b));
  EXPECT(ERR_UNKNOWN_CONSENT, consent_revoke(f, PAT_1, rec_id(1)));
  EXPECT(ERR_UNAUTHORIZED, consent_revoke(f, PRAC_B, c));
  EXPECT(ERR_UNAUTHORIZED, consent_revoke(f, PAT_2, c));
  EXPECT(OK, consent_revoke(f, PAT_1, c));
  expect_str(f, CTR_CONSENT, &c, "status", "revoked");
  assert_int_equal(field_u64(f, CTR_CONSENT, &c, "revoked_height"), f->height);
  assert_false(keys_have(f, 1, &prac_b));
  assert_true(keys_have(f, 1, &f->act[PAT_1].id));
  EXPECT(ERR_CONSENT_REVOKED, consent_revoke(f, PAT_1, c));
  f->ntx = grant_tx - 1; /* the next call reuses the grant's transaction hash */
  EXPECT(ERR_EXISTS, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "treatment", later, &one));
  f->ntx = grant_tx + 100;

  /* Two live consents for one record: revoking one keeps the key. */
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "treatment", later, &one));
  struct hash32 c1 = last_consent(f);
  struct keyset none = {0};
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, prac_b, 1, "research", later, &none));
  struct hash32 c2 = last_consent(f);
  EXPECT(OK, consent_revoke(f, PAT_1, c1));
  assert_true(keys_have(f, 1, &prac_b));
  EXPECT(OK, consent_revoke(f, PAT_1, c2));
  assert_false(keys_have(f, 1, &prac_b));

  /* Revoking a consent to the patient or the author never takes their
   * own keys from the record. */
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, f->act[PAT_1].id, 1, "research", later, &none));
  EXPECT(OK, consent_revoke(f, PAT_1, last_consent(f)));
  assert_true(keys_have(f, 1, &f->act[PAT_1].id));
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, f->act[PRAC_A].id, 1, "research", later, &none));
  EXPECT(OK, consent_revoke(f, PAT_1, last_consent(f)));
  assert_true(keys_have(f, 1, &f->act[PRAC_A].id));
}

static void test_consent_check(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, guardian(f, PAT_1, GUARD, true));
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  EXPECT(OK, anchor(f, PRAC_A, 2, PAT_1, "oncology"));
  uint64_t now = f->time_ms;
  uint64_t later = now + HOUR_MS;
  /* The patient, a guardian and the author read without consent. */
  EXPECT(OK, check(f, PAT_1, 1, "treatment", now));
  EXPECT(OK, check(f, GUARD, 1, "treatment", now));
  EXPECT(OK, check(f, PRAC_A, 1, "anything", now));
  EXPECT(ERR_CONSENT_REQUIRED, check(f, PRAC_B, 1, "treatment", now));
  EXPECT(ERR_CONSENT_REQUIRED, check(f, EXTRA, 1, "treatment", now));
  EXPECT(ERR_UNKNOWN_RECORD, check(f, PRAC_B, 9, "treatment", now));

  /* Category consent: that category, that purpose, until expiry. */
  EXPECT(OK, grant_cat(f, PAT_1, PAT_1, f->act[PRAC_B].id, "cardiology", "treatment", later));
  struct hash32 c1 = last_consent(f);
  EXPECT(OK, check(f, PRAC_B, 1, "treatment", now));
  EXPECT(ERR_CONSENT_REQUIRED, check(f, PRAC_B, 1, "research", now));
  EXPECT(ERR_CONSENT_REQUIRED, check(f, PRAC_B, 2, "treatment", now));
  EXPECT(ERR_CONSENT_EXPIRED, check(f, PRAC_B, 1, "treatment", later));
  EXPECT(OK, consent_revoke(f, PAT_1, c1));
  EXPECT(ERR_CONSENT_REVOKED, check(f, PRAC_B, 1, "treatment", now));
  /* A live consent wins over a revoked one. */
  EXPECT(OK, grant_cat(f, GUARD, PAT_1, f->act[PRAC_B].id, "cardiology", "treatment", later));
  EXPECT(OK, check(f, PRAC_B, 1, "treatment", now));
  /* Revoked and expired together: revocation is the more telling. */
  EXPECT(ERR_CONSENT_REVOKED, check(f, PRAC_B, 1, "treatment", later));

  /* Organization as grantee: any of its identities reads. */
  EXPECT(ERR_CONSENT_REQUIRED, check(f, ADMIN_B, 2, "research", now));
  EXPECT(OK, grant_cat(f, PAT_1, PAT_1, org_id("Beta Clinic"), "oncology", "research", later));
  EXPECT(OK, check(f, ADMIN_B, 2, "research", now));
  EXPECT(OK, check(f, PRAC_B, 2, "research", now));
  EXPECT(ERR_CONSENT_REQUIRED, check(f, AUD_A, 2, "research", now));

  /* Record scope covers that record only. */
  struct keyset none = {0};
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, f->act[AUD_A].id, 1, "audit", later, &none));
  struct hash32 c3 = last_consent(f);
  EXPECT(OK, check(f, AUD_A, 1, "audit", now));
  EXPECT(ERR_CONSENT_REQUIRED, check(f, AUD_A, 2, "audit", now));
  EXPECT(ERR_CONSENT_EXPIRED, check(f, AUD_A, 1, "audit", later + 1));
  EXPECT(OK, consent_revoke(f, PAT_1, c3));
  EXPECT(ERR_CONSENT_REVOKED, check(f, AUD_A, 1, "audit", now));

  /* Suspended readers and erased records. */
  EXPECT(OK, suspend(f, ADMIN_B, PRAC_B));
  EXPECT(ERR_SUSPENDED, check(f, PRAC_B, 1, "treatment", now));
  EXPECT(OK, CALL(f, PAT_1, "records", "erase", v_id(rec_id(1))));
  EXPECT(ERR_RECORD_ERASED, check(f, PAT_1, 1, "treatment", now));
  EXPECT(ERR_RECORD_ERASED, check(f, PRAC_A, 1, "treatment", now));
}

/* ---- records -------------------------------------------------------------- */

static void test_anchor(void **state) {
  struct fx *f = *state;
  world(f);
  uint64_t later = f->time_ms + HOUR_MS;
  /* Same organization as the patient's enrolment. */
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  struct hash32 r1 = rec_id(1);
  struct hash32 author = field_id(f, CTR_RECORD, &r1, "author");
  assert_memory_equal(author.b, f->act[PRAC_A].id.b, 32);
  expect_str(f, CTR_RECORD, &r1, "fhir_type", "Observation");
  assert_int_equal(field_u64(f, CTR_RECORD, &r1, "size"), 4096);
  assert_int_equal(field_u64(f, CTR_RECORD, &r1, "created_ms"), f->time_ms);
  assert_int_equal(field_u64(f, CTR_RECORD, &r1, "erased"), 0);
  struct hash32 org = field_id(f, CTR_RECORD, &r1, "org");
  struct hash32 a = org_id("Alpha Hospital");
  assert_memory_equal(org.b, a.b, 32);

  EXPECT(ERR_UNAUTHORIZED, anchor(f, ADMIN_A, 2, PAT_1, "cardiology"));
  struct keyset self = {0};
  keyset_add(&self, &f->act[PAT_1].id);
  EXPECT(ERR_UNAUTHORIZED, anchor_k(f, PAT_1, 2, PAT_1, "cardiology", &self));
  EXPECT(ERR_UNKNOWN_PATIENT, anchor(f, PRAC_A, 2, PRAC_B, "cardiology"));
  EXPECT(ERR_UNKNOWN_PATIENT, anchor(f, PRAC_A, 2, EXTRA, "cardiology"));
  EXPECT(ERR_EXISTS, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));

  /* Another organization's practitioner needs a live category consent. */
  EXPECT(ERR_CONSENT_REQUIRED, anchor(f, PRAC_B, 2, PAT_1, "cardiology"));
  EXPECT(OK, grant_cat(f, PAT_1, PAT_1, f->act[PRAC_B].id, "cardiology", "treatment", later));
  struct hash32 c = last_consent(f);
  EXPECT(ERR_CONSENT_REQUIRED, anchor(f, PRAC_B, 2, PAT_1, "oncology"));
  EXPECT(OK, anchor(f, PRAC_B, 2, PAT_1, "cardiology"));
  EXPECT(OK, consent_revoke(f, PAT_1, c));
  EXPECT(ERR_CONSENT_REQUIRED, anchor(f, PRAC_B, 3, PAT_1, "cardiology"));
  /* ... held by the practitioner's organization counts too ... */
  EXPECT(OK, grant_cat(f, PAT_1, PAT_1, org_id("Beta Clinic"), "radiology", "treatment",
                       f->time_ms + 5000));
  EXPECT(OK, anchor(f, PRAC_B, 3, PAT_1, "radiology"));
  /* ... until it expires. */
  f->time_ms += 10000;
  EXPECT(ERR_CONSENT_REQUIRED, anchor(f, PRAC_B, 4, PAT_1, "radiology"));

  /* Shape of the anchor. */
  struct keyset ks = {0};
  keyset_add(&ks, &f->act[PAT_1].id);
  keyset_add(&ks, &f->act[PRAC_A].id);
  EXPECT(ERR_BAD_ARGS,
         CALL(f, PRAC_A, "records", "anchor", v_id(zero_id()), v_id(f->act[PAT_1].id),
              v_str("cardiology"), v_str("Observation"), v_id(rec_id(50)), v_u64(1), v_keys(&ks)));
  EXPECT(ERR_BAD_ARGS,
         CALL(f, PRAC_A, "records", "anchor", v_id(rec_id(5)), v_id(f->act[PAT_1].id),
              v_str("cardiology"), v_str("Observation"), v_id(zero_id()), v_u64(1), v_keys(&ks)));
  EXPECT(ERR_BAD_ARGS,
         CALL(f, PRAC_A, "records", "anchor", v_id(rec_id(5)), v_id(f->act[PAT_1].id),
              v_str("cardiology"), v_str("Observation"), v_id(rec_id(50)), v_u64(0), v_keys(&ks)));
  EXPECT(ERR_BAD_ARGS,
         CALL(f, PRAC_A, "records", "anchor", v_id(rec_id(5)), v_id(f->act[PAT_1].id),
              v_str("cardiology"), v_str(""), v_id(rec_id(50)), v_u64(1), v_keys(&ks)));
  struct keyset no_patient = {0};
  keyset_add(&no_patient, &f->act[PRAC_A].id);
  EXPECT(ERR_BAD_ARGS, anchor_k(f, PRAC_A, 5, PAT_1, "cardiology", &no_patient));
  struct keyset no_author = {0};
  keyset_add(&no_author, &f->act[PAT_1].id);
  keyset_add(&no_author, &f->act[PRAC_B].id);
  EXPECT(ERR_BAD_ARGS, anchor_k(f, PRAC_A, 5, PAT_1, "cardiology", &no_author));
  EXPECT(OK, anchor_k(f, PRAC_A, 5, PAT_1, "cardiology", &ks));
}

static void test_erase(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  struct hash32 r1 = rec_id(1);
  EXPECT(ERR_UNKNOWN_RECORD, CALL(f, PAT_1, "records", "erase", v_id(rec_id(2))));
  EXPECT(ERR_UNAUTHORIZED, CALL(f, PRAC_A, "records", "erase", v_id(r1)));
  EXPECT(ERR_UNAUTHORIZED, CALL(f, PAT_2, "records", "erase", v_id(r1)));
  EXPECT(OK, CALL(f, PAT_1, "records", "erase", v_id(r1)));
  assert_int_equal(field_u64(f, CTR_RECORD, &r1, "erased"), 1);
  assert_int_equal(field(f, CTR_RECORD, &r1, "keys").count, 0);
  /* The tombstone keeps the anchor's metadata. */
  expect_str(f, CTR_RECORD, &r1, "category", "cardiology");
  assert_int_equal(field_u64(f, CTR_RECORD, &r1, "size"), 4096);
  struct hash32 ch = field_id(f, CTR_RECORD, &r1, "content_hash");
  struct hash32 want = hash_of("test.content", "cardiology");
  assert_memory_equal(ch.b, want.b, 32);
  EXPECT(ERR_RECORD_ERASED, CALL(f, PAT_1, "records", "erase", v_id(r1)));
}

/* ---- audit ---------------------------------------------------------------- */

static void test_audit(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  struct hash32 reason = hash_of("test.reason", "unconscious, ER");
  struct hash32 none = zero_id();
  const char *want = expected_outcome(f, PRAC_B, 1, "treatment");
  assert_string_equal(want, "CONSENT_REQUIRED");
  EXPECT(OK, audit_log(f, ADMIN_B, 1, PRAC_B, "treatment", false, none));
  struct hash32 e1 = last_audit(f);
  assert_int_equal(field_u64(f, CTR_AUDIT, &e1, "seq"), 1);
  assert_true(outcome_is(f, &e1, want));
  struct hash32 pat = field_id(f, CTR_AUDIT, &e1, "patient");
  assert_memory_equal(pat.b, f->act[PAT_1].id.b, 32);
  struct hash32 by = field_id(f, CTR_AUDIT, &e1, "logged_by");
  assert_memory_equal(by.b, f->act[ADMIN_B].id.b, 32);
  struct hash32 org = field_id(f, CTR_AUDIT, &e1, "org");
  struct hash32 b = org_id("Beta Clinic");
  assert_memory_equal(org.b, b.b, 32);
  struct hash32 node = field_id(f, CTR_AUDIT, &e1, "node");
  struct hash32 node_want = hash_of("test.node", "node0");
  assert_memory_equal(node.b, node_want.b, 32);
  assert_int_equal(field_u64(f, CTR_AUDIT, &e1, "time_ms"), f->time_ms);
  /* The author reads their own record: granted. */
  EXPECT(OK, audit_log(f, ADMIN_A, 1, PRAC_A, "treatment", false, none));
  struct hash32 e_author = last_audit(f);
  assert_true(outcome_is(f, &e_author, "granted"));
  /* Break-glass by a practitioner without consent: granted, flagged. */
  EXPECT(OK, audit_log(f, PRAC_B, 1, PRAC_B, "emergency", true, reason));
  struct hash32 e2 = last_audit(f);
  uint64_t e2_tx = f->ntx;
  assert_int_equal(field_u64(f, CTR_AUDIT, &e2, "seq"), 3);
  assert_int_equal(field_u64(f, CTR_AUDIT, &e2, "emergency"), 1);
  assert_true(outcome_is(f, &e2, "granted"));
  assert_int_equal(field(f, CTR_AUDIT, &e2, "reason_sealed").bytes.len, sizeof fake_sealed);
  /* Break-glass by someone who is not a practitioner: logged, refused. */
  EXPECT(OK, audit_log(f, ADMIN_A, 1, AUD_A, "emergency", true, reason));
  struct hash32 e3 = last_audit(f);
  assert_true(outcome_is(f, &e3, "UNAUTHORIZED"));
  assert_int_equal(global_u64(f, "audit_seq"), 4);

  EXPECT(ERR_UNAUTHORIZED, audit_log(f, PRAC_A, 1, PRAC_B, "treatment", false, none));
  EXPECT(ERR_UNAUTHORIZED, audit_log(f, AUD_A, 1, PRAC_B, "treatment", false, none));
  EXPECT(ERR_UNKNOWN_RECORD, audit_log(f, ADMIN_A, 7, PRAC_B, "treatment", false, none));
  EXPECT(ERR_UNKNOWN_IDENTITY, audit_log(f, ADMIN_A, 1, EXTRA, "treatment", false, none));
  EXPECT(ERR_BAD_ARGS, audit_log(f, ADMIN_A, 1, PRAC_B, "", false, none));
  /* Emergency without its reason, or a reason on an ordinary entry. */
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "audit", "log", v_id(rec_id(1)), v_id(f->act[PRAC_B].id),
                            v_str("emergency"), v_bool(true), v_id(reason), v_id(node_want),
                            v_bytes(fake_sealed, 0)));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "audit", "log", v_id(rec_id(1)), v_id(f->act[PRAC_B].id),
                            v_str("treatment"), v_bool(false), v_id(none), v_id(node_want),
                            v_bytes(fake_sealed, sizeof fake_sealed)));
  assert_int_equal(global_u64(f, "audit_seq"), 4);
  uint64_t ntx = f->ntx;
  f->ntx = e2_tx - 1; /* the next call reuses e2's transaction hash */
  EXPECT(ERR_EXISTS, audit_log(f, ADMIN_A, 1, PRAC_B, "treatment", false, none));
  f->ntx = ntx;
  /* Accesses to an erased record are still logged, as refused. */
  EXPECT(OK, CALL(f, PAT_1, "records", "erase", v_id(rec_id(1))));
  EXPECT(OK, audit_log(f, PAT_1, 1, PAT_1, "export", false, none));
  struct hash32 e4 = last_audit(f);
  assert_true(outcome_is(f, &e4, "RECORD_ERASED"));
}

static void batch_entry(uint8_t *p, const struct hash32 *rec, const struct hash32 *who,
                        const char *purpose) {
  memset(p, 0, CTR_AUDIT_ENTRY_BYTES);
  memcpy(p, rec->b, 32);
  memcpy(p + 32, who->b, 32);
  memcpy(p + 64, purpose, strlen(purpose));
}

static void test_audit_batch(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  struct hash32 node = hash_of("test.node", "node1");
  uint8_t e[3 * CTR_AUDIT_ENTRY_BYTES];
  struct hash32 r1 = rec_id(1);
  batch_entry(e, &r1, &f->act[PRAC_A].id, "treatment");
  batch_entry(e + CTR_AUDIT_ENTRY_BYTES, &r1, &f->act[PRAC_B].id, "treatment");
  batch_entry(e + 2 * CTR_AUDIT_ENTRY_BYTES, &r1, &f->act[PAT_1].id, "export");
  EXPECT(OK, CALL(f, ADMIN_B, "audit", "log_batch", v_id(node), v_bytes(e, sizeof e)));
  const char *want[3] = {"granted", "CONSENT_REQUIRED", "granted"};
  for (uint32_t i = 0; i < 3; i++) {
    struct hash32 id;
    ctr_audit_id(&id, &f->last_tx_hash, true, i);
    assert_int_equal(field_u64(f, CTR_AUDIT, &id, "seq"), i + 1);
    assert_true(outcome_is(f, &id, want[i]));
    struct hash32 got = field_id(f, CTR_AUDIT, &id, "node");
    assert_memory_equal(got.b, node.b, 32);
  }
  assert_int_equal(global_u64(f, "audit_seq"), 3);
  /* A full batch fits one transaction. */
  static uint8_t full[LIM_AUDIT_BATCH_MAX * CTR_AUDIT_ENTRY_BYTES];
  for (uint32_t i = 0; i < LIM_AUDIT_BATCH_MAX; i++) {
    batch_entry(full + (size_t)i * CTR_AUDIT_ENTRY_BYTES, &r1, &f->act[PAT_1].id, "export");
  }
  EXPECT(OK, CALL(f, ADMIN_B, "audit", "log_batch", v_id(node), v_bytes(full, sizeof full)));
  assert_int_equal(global_u64(f, "audit_seq"), 3 + LIM_AUDIT_BATCH_MAX);
  /* Refusals, each changing nothing. */
  EXPECT(ERR_UNAUTHORIZED,
         CALL(f, PRAC_A, "audit", "log_batch", v_id(node), v_bytes(e, CTR_AUDIT_ENTRY_BYTES)));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "audit", "log_batch", v_id(node), v_bytes(e, 0)));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "audit", "log_batch", v_id(node), v_bytes(e, 95)));
  EXPECT(ERR_BAD_ARGS, CALL(f, ADMIN_A, "audit", "log_batch", v_id(zero_id()),
                            v_bytes(e, CTR_AUDIT_ENTRY_BYTES)));
  uint8_t bad[2 * CTR_AUDIT_ENTRY_BYTES];
  memcpy(bad, e, sizeof bad);
  bad[CTR_AUDIT_ENTRY_BYTES + 64 + 20] = 'x'; /* junk after the purpose's NUL */
  EXPECT(ERR_NONCANONICAL,
         CALL(f, ADMIN_A, "audit", "log_batch", v_id(node), v_bytes(bad, sizeof bad)));
  struct hash32 r9 = rec_id(9);
  batch_entry(bad + CTR_AUDIT_ENTRY_BYTES, &r9, &f->act[PRAC_A].id, "treatment");
  EXPECT(ERR_UNKNOWN_RECORD,
         CALL(f, ADMIN_A, "audit", "log_batch", v_id(node), v_bytes(bad, sizeof bad)));
  batch_entry(bad + CTR_AUDIT_ENTRY_BYTES, &r1, &f->act[PRAC_A].id, "emergency");
  EXPECT(ERR_BAD_ARGS,
         CALL(f, ADMIN_A, "audit", "log_batch", v_id(node), v_bytes(bad, sizeof bad)));
  assert_int_equal(global_u64(f, "audit_seq"), 3 + LIM_AUDIT_BATCH_MAX);
}

static uint32_t list_all(struct fx *f, enum ctr_kind kind, enum ctr_filter filter,
                         const struct hash32 *key);

static int anchor_for(struct fx *f, int who, int author, int rec, int patient) {
  struct keyset ks = {0};
  keyset_add(&ks, &f->act[patient].id);
  keyset_add(&ks, &f->act[author].id);
  if (who != author) {
    keyset_add(&ks, &f->act[who].id);
  }
  return CALL(f, who, "records", "anchor_for", v_id(rec_id(rec)), v_id(f->act[patient].id),
              v_str("cardiology"), v_str("Observation"), v_id(hash_of("test.content", "for")),
              v_u64(4096), v_keys(&ks), v_id(f->act[author].id));
}

static void test_anchor_for_and_erase_all(void **state) {
  struct fx *f = *state;
  world(f);
  EXPECT(OK, anchor_for(f, ADMIN_A, PRAC_A, 1, PAT_1));
  struct hash32 r1 = rec_id(1);
  struct hash32 author = field_id(f, CTR_RECORD, &r1, "author");
  assert_memory_equal(author.b, f->act[PRAC_A].id.b, 32);
  /* Only an admin, for a practitioner of its own organization. */
  EXPECT(ERR_UNAUTHORIZED, anchor_for(f, PRAC_A, PRAC_A, 2, PAT_1));
  EXPECT(ERR_UNAUTHORIZED, anchor_for(f, ADMIN_B, PRAC_A, 2, PAT_1));
  EXPECT(ERR_UNAUTHORIZED, anchor_for(f, ADMIN_A, AUD_A, 2, PAT_1));
  EXPECT(ERR_EXISTS, anchor_for(f, ADMIN_A, PRAC_A, 1, PAT_1));
  EXPECT(OK, anchor(f, PRAC_A, 2, PAT_1, "lab"));
  EXPECT(OK, anchor(f, PRAC_A, 3, PAT_1, "imaging"));
  /* erase_all: not by another patient or a practitioner. */
  EXPECT(ERR_UNAUTHORIZED, CALL(f, PAT_2, "records", "erase_all", v_id(f->act[PAT_1].id)));
  EXPECT(ERR_UNAUTHORIZED, CALL(f, PRAC_A, "records", "erase_all", v_id(f->act[PAT_1].id)));
  EXPECT(OK, CALL(f, PAT_1, "records", "erase", v_id(rec_id(2))));
  EXPECT(OK, CALL(f, PAT_1, "records", "erase_all", v_id(f->act[PAT_1].id)));
  for (int i = 1; i <= 3; i++) {
    struct hash32 id = rec_id(i);
    assert_int_equal(field_u64(f, CTR_RECORD, &id, "erased"), 1);
    assert_int_equal(field(f, CTR_RECORD, &id, "keys").count, 0);
  }
  /* Nothing left: a second erase_all is refused and changes nothing. */
  EXPECT(ERR_RECORD_ERASED, CALL(f, PAT_1, "records", "erase_all", v_id(f->act[PAT_1].id)));
  assert_int_equal(
      list_all(f, CTR_RECORD, CTR_BY_CONTENT, (struct hash32[]){hash_of("test.content", "for")}),
      1);
}

/* ---- listings ------------------------------------------------------------- */

struct seen {
  uint32_t n;
  enum ctr_kind kind;
  struct hash32 ids[LIM_PAGE_MAX];
  uint64_t seqs[LIM_PAGE_MAX];
  int stop_at; /* visitor returns ERR_TIMEOUT at this count; -1 never */
};

static int visit(void *ctx, enum ctr_kind kind, struct bytes val) {
  struct seen *s = ctx;
  if (s->stop_at >= 0 && s->n == (uint32_t)s->stop_at) {
    return ERR_TIMEOUT;
  }
  const struct codec_schema *schema = ctr_kind_schema(kind);
  struct codec_value vals[LIM_FIELDS_MAX];
  assert_int_equal(codec_record_decode(schema, vals, val.ptr, val.len), OK);
  assert_true(s->n < LIM_PAGE_MAX);
  s->kind = kind;
  s->ids[s->n] = vals[0].id;
  s->seqs[s->n] = kind == CTR_AUDIT ? vals[1].u64 : 0;
  s->n++;
  return OK;
}

static uint32_t list_all(struct fx *f, enum ctr_kind kind, enum ctr_filter filter,
                         const struct hash32 *key) {
  struct seen s = {.stop_at = -1};
  struct ctr_cursor next = {0};
  EXPECT(OK, ctr_list(f->st, kind, filter, key, NULL, LIM_PAGE_MAX, visit, &s, &next));
  assert_int_equal(next.len, 0);
  return s.n;
}

/* Three records, six audit entries, three consents, one proposal. */
static void listing_world(struct fx *f) {
  world(f);
  uint64_t later = f->time_ms + HOUR_MS;
  EXPECT(OK, anchor(f, PRAC_A, 1, PAT_1, "cardiology"));
  EXPECT(OK, anchor(f, PRAC_A, 2, PAT_1, "oncology"));
  EXPECT(OK, anchor(f, PRAC_B, 3, PAT_2, "cardiology"));
  for (int i = 0; i < 5; i++) {
    EXPECT(OK, audit_log(f, ADMIN_A, 1 + (i % 2), PRAC_A, "treatment", false, zero_id()));
  }
  EXPECT(OK, audit_log(f, ADMIN_B, 3, PRAC_B, "treatment", false, zero_id()));
  EXPECT(OK, grant_cat(f, PAT_1, PAT_1, f->act[PRAC_B].id, "cardiology", "treatment", later));
  struct keyset none = {0};
  EXPECT(OK, grant_rec(f, PAT_1, PAT_1, org_id("Beta Clinic"), 2, "research", later, &none));
  EXPECT(OK, grant_rec(f, PAT_2, PAT_2, f->act[PRAC_A].id, 3, "treatment", later, &none));
  EXPECT(OK, propose(f, ADMIN_A, "Gamma Lab", "lab", ADMIN_C));
}

static void test_listings(void **state) {
  struct fx *f = *state;
  listing_world(f);
  struct hash32 p1 = f->act[PAT_1].id;
  struct hash32 a = org_id("Alpha Hospital");
  assert_int_equal(list_all(f, CTR_ORG, CTR_ALL, NULL), 2);
  assert_int_equal(list_all(f, CTR_IDENTITY, CTR_ALL, NULL), 8);
  assert_int_equal(list_all(f, CTR_IDENTITY, CTR_BY_ORG, &a), 5);
  assert_int_equal(list_all(f, CTR_PROPOSAL, CTR_ALL, NULL), 1);
  assert_int_equal(list_all(f, CTR_VALIDATOR, CTR_ALL, NULL), 1);
  assert_int_equal(list_all(f, CTR_RECORD, CTR_ALL, NULL), 3);
  assert_int_equal(list_all(f, CTR_RECORD, CTR_BY_PATIENT, &p1), 2);
  assert_int_equal(list_all(f, CTR_CONSENT, CTR_ALL, NULL), 3);
  assert_int_equal(list_all(f, CTR_CONSENT, CTR_BY_PATIENT, &p1), 2);
  assert_int_equal(list_all(f, CTR_CONSENT, CTR_BY_GRANTEE, &f->act[PRAC_B].id), 1);
  assert_int_equal(
      list_all(f, CTR_CONSENT, CTR_BY_GRANTEE, (struct hash32[]){org_id("Beta Clinic")}), 1);
  assert_int_equal(list_all(f, CTR_CONSENT, CTR_BY_RECORD, (struct hash32[]){rec_id(3)}), 1);
  assert_int_equal(list_all(f, CTR_CONSENT, CTR_BY_RECORD, (struct hash32[]){rec_id(1)}), 0);
  assert_int_equal(list_all(f, CTR_AUDIT, CTR_ALL, NULL), 6);
  assert_int_equal(list_all(f, CTR_AUDIT, CTR_BY_RECORD, (struct hash32[]){rec_id(1)}), 3);
}

static void test_listing_pages(void **state) {
  struct fx *f = *state;
  listing_world(f);
  struct hash32 p1 = f->act[PAT_1].id;
  struct hash32 a = org_id("Alpha Hospital");

  /* Two pages of a patient's audit trail, in logging order. */
  struct seen s = {.stop_at = -1};
  struct ctr_cursor next = {0};
  EXPECT(OK, ctr_list(f->st, CTR_AUDIT, CTR_BY_PATIENT, &p1, NULL, 3, visit, &s, &next));
  assert_int_equal(s.n, 3);
  assert_int_equal(next.len, 8 + 32);
  struct ctr_cursor after = next;
  EXPECT(OK, ctr_list(f->st, CTR_AUDIT, CTR_BY_PATIENT, &p1, &after, 3, visit, &s, &next));
  assert_int_equal(s.n, 5);
  assert_int_equal(next.len, 0);
  for (uint32_t i = 0; i < s.n; i++) {
    assert_int_equal(s.seqs[i], i + 1);
  }
  /* An exact fit says it is the last page. */
  struct seen s2 = {.stop_at = -1};
  EXPECT(OK, ctr_list(f->st, CTR_AUDIT, CTR_BY_PATIENT, &p1, NULL, 5, visit, &s2, &next));
  assert_int_equal(s2.n, 5);
  assert_int_equal(next.len, 0);
  /* Identity pages join up to the whole list without repeats. */
  struct seen s3 = {.stop_at = -1};
  EXPECT(OK, ctr_list(f->st, CTR_IDENTITY, CTR_ALL, NULL, NULL, 5, visit, &s3, &next));
  assert_int_equal(next.len, 32);
  after = next;
  EXPECT(OK, ctr_list(f->st, CTR_IDENTITY, CTR_ALL, NULL, &after, 5, visit, &s3, &next));
  assert_int_equal(s3.n, 8);
  assert_int_equal(next.len, 0);
  for (uint32_t i = 1; i < s3.n; i++) {
    assert_true(memcmp(s3.ids[i - 1].b, s3.ids[i].b, 32) < 0);
  }

  /* Refusals: unsupported filters, bad limits, missing keys, a stop. */
  EXPECT(ERR_BAD_ARGS, ctr_list(f->st, CTR_ORG, CTR_BY_PATIENT, &p1, NULL, 10, visit, &s, &next));
  EXPECT(ERR_BAD_ARGS, ctr_list(f->st, CTR_VALIDATOR, CTR_BY_ORG, &a, NULL, 10, visit, &s, &next));
  EXPECT(ERR_BAD_ARGS, ctr_list(f->st, CTR_RECORD, CTR_BY_GRANTEE, &a, NULL, 10, visit, &s, &next));
  EXPECT(ERR_BAD_ARGS, ctr_list(f->st, CTR_ORG, CTR_ALL, NULL, NULL, 0, visit, &s, &next));
  EXPECT(ERR_BAD_ARGS,
         ctr_list(f->st, CTR_ORG, CTR_ALL, NULL, NULL, LIM_PAGE_MAX + 1, visit, &s, &next));
  EXPECT(ERR_BAD_ARGS,
         ctr_list(f->st, CTR_AUDIT, CTR_BY_PATIENT, NULL, NULL, 10, visit, &s, &next));
  struct ctr_cursor long_cursor = {.len = CTR_CURSOR_MAX + 1};
  EXPECT(ERR_BAD_ARGS, ctr_list(f->st, CTR_ORG, CTR_ALL, NULL, &long_cursor, 10, visit, &s, &next));
  struct seen s4 = {.stop_at = 1};
  EXPECT(ERR_TIMEOUT, ctr_list(f->st, CTR_ORG, CTR_ALL, NULL, NULL, 10, visit, &s4, &next));
  assert_int_equal(s4.n, 1);
  assert_int_equal(next.len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tables),
      cmocka_unit_test_setup_teardown(test_genesis, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_genesis_checks, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_admit, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_dispatch, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_exec_bound, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_org_suspended, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_gov_two_members, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_gov_three_members, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_gov_single_member, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_register, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_enrol_rotate, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_suspend, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_guardians, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_grant, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_grant_record, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_revoke, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_consent_check, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_anchor, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_erase, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_audit, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_audit_batch, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_anchor_for_and_erase_all, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_listings, fx_setup, fx_teardown),
      cmocka_unit_test_setup_teardown(test_listing_pages, fx_setup, fx_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
