/*
 * governance — consortium membership. An admin of a member organization
 * proposes a new organization together with its first admin's keys; the
 * members vote, one vote per organization, and when votes * 3 >= members
 * * 2 the organization, its admin identity and the admin's key binding are
 * created in the same call that casts the deciding vote.
 *
 * Organization and proposal ids are hashes of the public name, so a name
 * can be proposed only once and names one organization forever. Votes are
 * a sorted set of organization ids. Everything a founding writes is
 * checked first (org_check); admission checks again because keys may have
 * been taken while the proposal was open.
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

static const char *const org_kinds[] = {
    "hospital", "clinic", "pharmacy", "manufacturer", "distributor", "insurer", "regulator", "lab",
};

bool ctr_org_kind_ok(struct bytes kind) {
  for (size_t i = 0; i < ARRAY_LEN(org_kinds); i++) {
    if (ctr_bytes_is(kind, org_kinds[i])) {
      return true;
    }
  }
  return false;
}

/* Non-empty printable ASCII of at most max bytes (genesis names arrive as
 * C strings, not through the codec). */
static bool text_ok(struct bytes s, size_t max) {
  if (s.len == 0 || s.len > max) {
    return false;
  }
  for (size_t i = 0; i < s.len; i++) {
    if (s.ptr[i] < 0x20 || s.ptr[i] > 0x7e) {
      return false;
    }
  }
  return true;
}

static bool boxkey_is_zero(const struct boxkey *k) {
  struct hash32 h;
  memcpy(h.b, k->b, sizeof(h.b));
  return base_hash_is_zero(&h);
}

static void org_id_of(struct hash32 *out, struct bytes name) {
  cry_hash_tagged(out, "medchain.org.v1", name.ptr, name.len);
}

/* A new organization named name with this admin could be founded now.
 * Returns OK, ERR_BAD_ARGS or ERR_EXISTS. */
static int org_check(struct state *st, struct bytes name, struct bytes kind,
                     const struct pubkey *admin_pk, const struct boxkey *admin_box) {
  if (!text_ok(name, 128) || !ctr_org_kind_ok(kind)) {
    return ERR_BAD_ARGS;
  }
  if (cry_pubkey_check(admin_pk) != OK || boxkey_is_zero(admin_box)) {
    return ERR_BAD_ARGS;
  }
  struct hash32 org_id;
  org_id_of(&org_id, name);
  struct hash32 admin_id;
  cry_id_from_pk(&admin_id, admin_pk);
  bool org_seen = false;
  bool key_used = false;
  bool admin_seen = false;
  int rc = ctr_exists(st, CTR_TAG_ORG, &org_id, &org_seen);
  if (rc == OK) {
    rc = ctr_key_owner(st, admin_pk, &key_used);
  }
  if (rc == OK) {
    rc = ctr_exists(st, CTR_TAG_IDENTITY, &admin_id, &admin_seen);
  }
  if (rc != OK) {
    return rc;
  }
  return org_seen || key_used || admin_seen ? ERR_EXISTS : OK;
}

int ctr_org_found(struct state *st, struct bytes name, struct bytes kind,
                  const struct pubkey *admin_pk, const struct boxkey *admin_box, uint64_t height) {
  int rc = org_check(st, name, kind, admin_pk, admin_box);
  if (rc != OK) {
    return rc;
  }
  struct ctr_org org;
  memset(&org, 0, sizeof(org));
  org_id_of(&org.id, name);
  ctr_str_set(&org.name, name);
  ctr_str_set(&org.kind, kind);
  ctr_str_setz(&org.status, CTR_STATUS_ACTIVE);
  org.member = true;
  org.admitted_height = height;
  struct ctr_identity admin;
  memset(&admin, 0, sizeof(admin));
  cry_id_from_pk(&admin.id, admin_pk);
  ctr_str_setz(&admin.kind, CTR_ROLE_ADMIN);
  admin.org = org.id;
  admin.sign_pk = *admin_pk;
  admin.box_pk = *admin_box;
  ctr_str_setz(&admin.status, CTR_STATUS_ACTIVE);
  admin.created_height = height;
  org.admins[0] = admin.id;
  org.nadmins = 1;
  rc = ctr_store(st, &org);
  if (rc == OK) {
    rc = ctr_store(st, &admin);
  }
  if (rc == OK) {
    rc = ctr_key_put(st, admin_pk, &admin.id);
  }
  if (rc == OK) {
    rc = ctr_index_put(st, CTR_TAG_IDENTITY_IDX, CTR_SUB_ORG, &org.id, NULL, &admin.id);
  }
  return rc;
}

/* The sender speaks for a member organization. */
static int member_admin(const struct ctr_ctx *c) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  return c->sender_org.member ? OK : ERR_NOT_MEMBER;
}

static bool quorum(uint32_t votes, uint64_t members) {
  assert(members > 0 && votes <= members);
  return (uint64_t)votes * 3 >= members * 2;
}

/* Founds the proposed organization; the caller stores the proposal. */
static int proposal_admit(struct ctr_ctx *c, struct ctr_proposal *p, uint64_t members) {
  /* Proposals opened before the consortium filled up cannot overfill it. */
  if (members >= LIM_MEMBERS_MAX) {
    return ERR_LIMIT;
  }
  assert(ctr_str_is(&p->status, CTR_STATUS_OPEN));
  int rc = ctr_org_found(c->st, ctr_str_bytes(&p->name), ctr_str_bytes(&p->kind), &p->admin_pk,
                         &p->admin_box, c->env->height);
  if (rc != OK) {
    return rc;
  }
  ctr_str_setz(&p->status, CTR_STATUS_ADMITTED);
  return ctr_counter_put(c->st, CTR_GLOBAL_MEMBERS, members + 1);
}

int ctr_gov_propose(struct ctr_ctx *c, const struct codec_value *a) {
  int rc = member_admin(c);
  if (rc != OK) {
    return rc;
  }
  struct ctr_proposal p;
  memset(&p, 0, sizeof(p));
  memcpy(p.admin_pk.b, a[2].id.b, sizeof(p.admin_pk.b));
  memcpy(p.admin_box.b, a[3].id.b, sizeof(p.admin_box.b));
  rc = org_check(c->st, a[0].bytes, a[1].bytes, &p.admin_pk, &p.admin_box);
  if (rc != OK) {
    return rc;
  }
  uint64_t members = 0;
  rc = ctr_counter_get(c->st, CTR_GLOBAL_MEMBERS, &members);
  if (rc != OK) {
    return rc;
  }
  if (members >= LIM_MEMBERS_MAX) {
    return ERR_LIMIT;
  }
  cry_hash_tagged(&p.id, "medchain.proposal.v1", a[0].bytes.ptr, a[0].bytes.len);
  bool seen = false;
  rc = ctr_exists(c->st, CTR_TAG_PROPOSAL, &p.id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EXISTS;
  }
  ctr_str_set(&p.name, a[0].bytes);
  ctr_str_set(&p.kind, a[1].bytes);
  p.proposer = c->sender_org.id;
  p.votes[0] = c->sender_org.id;
  p.nvotes = 1;
  ctr_str_setz(&p.status, CTR_STATUS_OPEN);
  p.created_height = c->env->height;
  if (quorum(p.nvotes, members)) {
    rc = proposal_admit(c, &p, members);
    if (rc != OK) {
      return rc;
    }
  }
  return ctr_store(c->st, &p);
}

int ctr_gov_vote(struct ctr_ctx *c, const struct codec_value *a) {
  int rc = member_admin(c);
  if (rc != OK) {
    return rc;
  }
  struct ctr_proposal p;
  rc = ctr_load(c->st, &a[0].id, &p);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_PROPOSAL;
  }
  if (rc != OK) {
    return rc;
  }
  if (!ctr_str_is(&p.status, CTR_STATUS_OPEN)) {
    return ERR_PROPOSAL_CLOSED;
  }
  rc = ctr_ids_insert(p.votes, &p.nvotes, LIM_MEMBERS_MAX, &c->sender_org.id);
  if (rc == ERR_EXISTS) {
    return ERR_ALREADY_VOTED;
  }
  if (rc != OK) {
    return rc;
  }
  uint64_t members = 0;
  rc = ctr_counter_get(c->st, CTR_GLOBAL_MEMBERS, &members);
  if (rc != OK) {
    return rc;
  }
  if (quorum(p.nvotes, members)) {
    rc = proposal_admit(c, &p, members);
    if (rc != OK) {
      return rc;
    }
  }
  return ctr_store(c->st, &p);
}
