/*
 * identity — who may sign. Organizations' admins register admins,
 * practitioners (with a salted licence hash, never the licence) and
 * auditors; admins and practitioners enrol patients, who hold their own
 * keys. An identity's id is the hash of its first signing key and never
 * changes; rotation binds a new key, and every key ever bound stays in the
 * 'K' table so a retired key can never be bound again. Suspension is by an
 * admin of the identity's own organization, which always keeps one active
 * admin. Patients name guardians who may act for them.
 *
 * Identities are never deleted: ids referenced by records, consents and
 * audit entries always resolve.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

static bool pubkey_is_zero(const struct hash32 *k) {
  return base_hash_is_zero(k);
}

/* Fills n for a new identity of the sender's organization with keys taken
 * from arguments. Returns OK, ERR_BAD_ARGS (unusable key) or ERR_EXISTS
 * (id or key already bound). */
static int identity_new(struct ctr_ctx *c, struct ctr_identity *n, const char *kind,
                        const struct codec_value *sign_pk, const struct codec_value *box_pk) {
  memset(n, 0, sizeof(*n));
  memcpy(n->sign_pk.b, sign_pk->id.b, sizeof(n->sign_pk.b));
  memcpy(n->box_pk.b, box_pk->id.b, sizeof(n->box_pk.b));
  if (cry_pubkey_check(&n->sign_pk) != OK || pubkey_is_zero(&box_pk->id)) {
    return ERR_BAD_ARGS;
  }
  cry_id_from_pk(&n->id, &n->sign_pk);
  bool id_seen = false;
  bool key_used = false;
  int rc = ctr_exists(c->st, CTR_TAG_IDENTITY, &n->id, &id_seen);
  if (rc == OK) {
    rc = ctr_key_owner(c->st, &n->sign_pk, &key_used);
  }
  if (rc != OK) {
    return rc;
  }
  if (id_seen || key_used) {
    return ERR_EXISTS;
  }
  ctr_str_setz(&n->kind, kind);
  n->org = c->sender_org.id;
  ctr_str_setz(&n->status, CTR_STATUS_ACTIVE);
  n->created_height = c->env->height;
  return OK;
}

static int identity_write(struct ctr_ctx *c, const struct ctr_identity *n) {
  int rc = ctr_store(c->st, n);
  if (rc == OK) {
    rc = ctr_key_put(c->st, &n->sign_pk, &n->id);
  }
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_IDENTITY_IDX, CTR_SUB_ORG, &n->org, NULL, &n->id);
  }
  return rc;
}

int ctr_id_register(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  static const char *const kinds[] = {CTR_ROLE_ADMIN, CTR_ROLE_PRACTITIONER, CTR_ROLE_AUDITOR};
  const char *kind = NULL;
  for (size_t i = 0; i < ARRAY_LEN(kinds); i++) {
    if (ctr_bytes_is(a[0].bytes, kinds[i])) {
      kind = kinds[i];
    }
  }
  if (kind == NULL) {
    return ERR_BAD_ARGS;
  }
  /* Only practitioners carry a licence; anything else would be data with
   * no meaning on chain. */
  bool practitioner = strcmp(kind, CTR_ROLE_PRACTITIONER) == 0;
  if (practitioner == base_hash_is_zero(&a[3].id)) {
    return ERR_BAD_ARGS;
  }
  if (a[4].bytes.len != 0 && !ctr_label_ok(a[4].bytes)) {
    return ERR_BAD_ARGS; /* a role is empty or a label */
  }
  struct ctr_identity n;
  int rc = identity_new(c, &n, kind, &a[1], &a[2]);
  if (rc != OK) {
    return rc;
  }
  n.licence_hash = a[3].id;
  ctr_str_set(&n.role, a[4].bytes);
  struct ctr_org org = c->sender_org;
  bool admin = strcmp(kind, CTR_ROLE_ADMIN) == 0;
  if (admin) {
    rc = ctr_ids_insert(org.admins, &org.nadmins, LIM_IDS_MAX, &n.id);
    if (rc != OK) {
      assert(rc == ERR_LIMIT); /* the id is new, so it is in no list */
      return rc;
    }
  }
  rc = identity_write(c, &n);
  if (rc == OK && admin) {
    rc = ctr_store(c->st, &org);
  }
  return rc;
}

int ctr_id_enrol(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN) && !ctr_sender_is(c, CTR_ROLE_PRACTITIONER)) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_identity n;
  int rc = identity_new(c, &n, CTR_ROLE_PATIENT, &a[0], &a[1]);
  if (rc != OK) {
    return rc;
  }
  return identity_write(c, &n);
}

int ctr_id_rotate(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_identity me = c->sender;
  memcpy(me.sign_pk.b, a[0].id.b, sizeof(me.sign_pk.b));
  memcpy(me.box_pk.b, a[1].id.b, sizeof(me.box_pk.b));
  if (cry_pubkey_check(&me.sign_pk) != OK || pubkey_is_zero(&a[1].id)) {
    return ERR_BAD_ARGS;
  }
  bool used = false;
  int rc = ctr_key_owner(c->st, &me.sign_pk, &used);
  if (rc != OK) {
    return rc;
  }
  if (used) {
    return ERR_EXISTS;
  }
  rc = ctr_store(c->st, &me);
  if (rc == OK) {
    rc = ctr_key_put(c->st, &me.sign_pk, &me.id);
  }
  return rc;
}

/* Loads the target of suspend/reinstate: an identity of the sender's own
 * organization, the sender being one of its admins. */
static int target_load(struct ctr_ctx *c, const struct hash32 *id, struct ctr_identity *t) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  int rc = ctr_load(c->st, id, t);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_IDENTITY;
  }
  if (rc != OK) {
    return rc;
  }
  return base_hash_eq(&t->org, &c->sender.org) ? OK : ERR_UNAUTHORIZED;
}

static int active_admins(struct ctr_ctx *c, uint32_t *count) {
  *count = 0;
  const struct ctr_org *org = &c->sender_org;
  for (uint32_t i = 0; i < org->nadmins; i++) {
    struct ctr_identity adm;
    int rc = ctr_load(c->st, &org->admins[i], &adm);
    if (rc != OK) {
      return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
    }
    if (ctr_str_is(&adm.status, CTR_STATUS_ACTIVE)) {
      *count += 1;
    }
  }
  return OK;
}

int ctr_id_suspend(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_identity t;
  int rc = target_load(c, &a[0].id, &t);
  if (rc != OK) {
    return rc;
  }
  if (ctr_str_is(&t.kind, CTR_ROLE_ADMIN) && ctr_str_is(&t.status, CTR_STATUS_ACTIVE)) {
    uint32_t count = 0;
    rc = active_admins(c, &count);
    if (rc != OK) {
      return rc;
    }
    /* The sender is an active admin of this organization, so count >= 1. */
    assert(count >= 1);
    if (count == 1) {
      return ERR_UNAUTHORIZED;
    }
  }
  ctr_str_setz(&t.status, CTR_STATUS_SUSPENDED);
  return ctr_store(c->st, &t);
}

int ctr_id_reinstate(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_identity t;
  int rc = target_load(c, &a[0].id, &t);
  if (rc != OK) {
    return rc;
  }
  ctr_str_setz(&t.status, CTR_STATUS_ACTIVE);
  return ctr_store(c->st, &t);
}

int ctr_id_guardian(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_PATIENT)) {
    return ERR_UNAUTHORIZED;
  }
  const struct hash32 *g = &a[0].id;
  if (base_hash_eq(g, &c->sender.id)) {
    return ERR_BAD_ARGS;
  }
  bool seen = false;
  int rc = ctr_exists(c->st, CTR_TAG_IDENTITY, g, &seen);
  if (rc != OK) {
    return rc;
  }
  if (!seen) {
    return ERR_UNKNOWN_IDENTITY;
  }
  struct ctr_identity me = c->sender;
  if (a[1].u64 != 0) {
    rc = ctr_ids_insert(me.guardians, &me.nguardians, LIM_IDS_MAX, g);
  } else {
    rc = ctr_ids_remove(me.guardians, &me.nguardians, g);
    rc = rc == ERR_NOT_FOUND ? ERR_UNKNOWN_IDENTITY : rc;
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_store(c->st, &me);
}
