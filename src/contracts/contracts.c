/*
 * contracts — the executor the ledger runs: admission of a transaction
 * (sender, key, status, nonce), dispatch of a call to its method through
 * the table in schemas.c, genesis, and the read helpers the API uses.
 *
 * Invariants: a call only ever runs for a sender that exists, is active
 * and belongs to an active organization (checked in admit and again in
 * call, both sides of the boundary); a method writes nothing before all
 * its checks pass, and the ledger drops a failed call's writes anyway.
 * Nothing here reads a clock or iterates a hash table: the result is a
 * function of the state and the transaction.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

/* ---- executor ------------------------------------------------------------- */

static int exec_admit(void *ctx, struct state *st, const struct tx *tx,
                      const struct ledger_env *env) {
  (void)ctx;
  return ctr_admit(st, tx, env);
}

static int exec_call(void *ctx, struct state *st, const struct tx *tx,
                     const struct ledger_env *env) {
  (void)ctx;
  return ctr_call(st, tx, env);
}

static int exec_genesis(void *ctx, struct state *st, const struct ledger_genesis *g) {
  (void)ctx;
  return ctr_genesis(st, g);
}

void ctr_exec_bind(struct ledger_exec *out) {
  assert(out != NULL);
  out->admit = exec_admit;
  out->call = exec_call;
  out->genesis = exec_genesis;
  out->ctx = NULL;
}

static void nonce_key(struct ctr_skey *k, const struct hash32 *id) {
  ctr_skey_init(k, CTR_TAG_NONCE);
  ctr_skey_add_id(k, id);
}

int ctr_next_nonce(struct state *st, const struct hash32 *id, uint64_t *nonce) {
  assert(st != NULL && id != NULL && nonce != NULL);
  struct ctr_skey k;
  nonce_key(&k, id);
  struct bytes v;
  int rc = state_get(st, ctr_skey_bytes(&k), &v);
  if (rc == ERR_NOT_FOUND) {
    *nonce = 1;
    return OK;
  }
  if (rc != OK) {
    return rc;
  }
  if (v.len != 8) {
    return ERR_CORRUPT;
  }
  *nonce = base_get_u64be(v.ptr);
  /* Paired with admit: a stored next nonce is always past the first. */
  if (*nonce < 2) {
    return ERR_CORRUPT;
  }
  return OK;
}

int ctr_identity_active(struct state *st, const struct ctr_identity *id, struct ctr_org *org) {
  if (!ctr_str_is(&id->status, CTR_STATUS_ACTIVE)) {
    return ERR_SUSPENDED;
  }
  int rc = ctr_load(st, &id->org, org);
  if (rc == ERR_NOT_FOUND) {
    return ERR_CORRUPT; /* every identity's organization was written with it */
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_str_is(&org->status, CTR_STATUS_ACTIVE) ? OK : ERR_SUSPENDED;
}

int ctr_admit(struct state *st, const struct tx *tx, const struct ledger_env *env) {
  assert(st != NULL && tx != NULL && env != NULL);
  struct ctr_identity id;
  int rc = ctr_load(st, &tx->sender, &id);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_SENDER;
  }
  if (rc != OK) {
    return rc;
  }
  if (memcmp(id.sign_pk.b, tx->pubkey.b, sizeof(id.sign_pk.b)) != 0) {
    return ERR_KEY_MISMATCH;
  }
  struct ctr_org org;
  rc = ctr_identity_active(st, &id, &org);
  if (rc != OK) {
    return rc;
  }
  uint64_t next = 0;
  rc = ctr_next_nonce(st, &tx->sender, &next);
  if (rc != OK) {
    return rc;
  }
  if (tx->nonce < next) {
    return ERR_REPLAY;
  }
  if (tx->nonce > next) {
    return ERR_NONCE_GAP;
  }
  assert(next < UINT64_MAX); /* 2^64 transactions from one sender cannot happen */
  struct ctr_skey k;
  nonce_key(&k, &tx->sender);
  uint8_t be[8];
  base_put_u64be(be, next + 1);
  return state_put(st, ctr_skey_bytes(&k), (struct bytes){be, sizeof(be)});
}

int ctr_call(struct state *st, const struct tx *tx, const struct ledger_env *env) {
  assert(st != NULL && tx != NULL && env != NULL);
  const struct ctr_method *m = NULL;
  ctr_handler_fn fn = NULL;
  int rc = ctr_method_resolve(tx->contract, tx->method, &m, &fn);
  if (rc != OK) {
    return rc;
  }
  struct codec_value args[LIM_FIELDS_MAX];
  assert(m->args->nfields <= LIM_FIELDS_MAX);
  rc = codec_record_decode(m->args, args, tx->args.ptr, tx->args.len);
  if (rc != OK) {
    return rc == ERR_OVERSIZE ? ERR_OVERSIZE : ERR_BAD_ARGS;
  }
  struct ctr_ctx c = {.st = st, .tx = tx, .env = env};
  rc = ctr_load(st, &tx->sender, &c.sender);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_SENDER;
  }
  if (rc != OK) {
    return rc;
  }
  rc = ctr_identity_active(st, &c.sender, &c.sender_org);
  if (rc != OK) {
    return rc;
  }
  return fn(&c, args);
}

bool ctr_sender_is(const struct ctr_ctx *c, const char *role) {
  return ctr_str_is(&c->sender.kind, role);
}

bool ctr_patient_speaks(const struct ctr_identity *patient, const struct hash32 *id) {
  assert(ctr_str_is(&patient->kind, CTR_ROLE_PATIENT));
  return base_hash_eq(&patient->id, id) || ctr_ids_has(patient->guardians, patient->nguardians, id);
}

/* ---- genesis -------------------------------------------------------------- */

_Static_assert(LEDGER_GENESIS_MEMBERS_MAX <= LIM_MEMBERS_MAX, "founders count as members");

static size_t bounded_len(const char *s, size_t cap) {
  size_t n = 0;
  while (n < cap && s[n] != '\0') {
    n++;
  }
  return n;
}

static int genesis_validators(struct state *st, const struct ledger_genesis *g) {
  for (size_t i = 0; i < g->nvalidators; i++) {
    struct ctr_validator v = {.pk = g->validators[i].pk, .power = g->validators[i].power};
    cry_id_from_pk(&v.id, &v.pk);
    bool seen = false;
    int rc = ctr_exists(st, CTR_TAG_VALIDATOR, &v.id, &seen);
    if (rc != OK) {
      return rc;
    }
    if (seen || v.power == 0) {
      return ERR_CONFIG;
    }
    rc = ctr_store(st, &v);
    if (rc == OK) {
      /* One transaction's write buffer holds LIM_TX_WRITES_MAX keys;
       * genesis folds each entity in as it goes. */
      rc = state_tx_commit(st);
    }
    if (rc != OK) {
      return rc;
    }
  }
  return OK;
}

int ctr_genesis(struct state *st, const struct ledger_genesis *g) {
  assert(st != NULL && g != NULL);
  assert(g->nmembers <= LEDGER_GENESIS_MEMBERS_MAX && g->nvalidators <= LIM_VALIDATORS_MAX);
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct ledger_member *m = &g->members[i];
    struct bytes name = {(const uint8_t *)m->name, bounded_len(m->name, sizeof(m->name))};
    struct bytes kind = {(const uint8_t *)m->kind, bounded_len(m->kind, sizeof(m->kind))};
    int rc = ctr_org_found(st, name, kind, &m->admin_pk, &m->admin_box, 0);
    if (rc == ERR_BAD_ARGS || rc == ERR_EXISTS) {
      return ERR_CONFIG;
    }
    if (rc == OK) {
      rc = state_tx_commit(st);
    }
    if (rc != OK) {
      return rc;
    }
  }
  int rc = ctr_counter_put(st, CTR_GLOBAL_MEMBERS, g->nmembers);
  if (rc != OK) {
    return rc;
  }
  rc = genesis_validators(st, g);
  if (rc != OK) {
    return rc;
  }
  return state_tx_commit(st);
}

/* ---- reads ---------------------------------------------------------------- */

int ctr_get(struct state *st, enum ctr_kind kind, const struct hash32 *id, struct bytes *val) {
  assert(st != NULL && id != NULL && val != NULL);
  assert(kind >= 0 && kind < CTR_KIND_COUNT_);
  struct ctr_skey k;
  ctr_skey_init(&k, ctr_kind_tag(kind));
  ctr_skey_add_id(&k, id);
  return state_get(st, ctr_skey_bytes(&k), val);
}
