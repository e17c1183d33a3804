/*
 * appt — appointment booking. An organization opens schedules for its
 * practitioners and publishes their slots; a slot is booked at most once
 * at a time; the booker cancels or reschedules with a capability key; the
 * clinic checks in and marks fulfilled or no-show.
 *
 * Double booking: a slot holds its status and the appointment that holds
 * it, and book reads that status before it writes. Transactions run one
 * after another in block order, each seeing the writes of those before it,
 * so of any bookings of one slot, in one block or across nodes, the first
 * in the agreed order wins and every later one gets SLOT_TAKEN.
 *
 * Privacy: the appointment holds no patient id, only a commitment to it
 * and the patient id encrypted under the commitment's salt; the salt is
 * sealed to the practitioner and the organization's admins (and, under
 * the zero reader id, to the booker). The chain cannot check what it
 * cannot see: that the commitment names a real patient is vouched for by
 * the sender (the patient, or the clinic that authenticated the patient).
 * docs/security.md says what a block and the state reveal.
 *
 * Cancel and reschedule by the booker are authorized by a signature of
 * booker_pk (a key only the booker can derive) over the call's other
 * arguments, so anyone may carry the call (a clinic's node) without the
 * patient's identity signing it. The clinic may cancel or reschedule any
 * of its appointments without it and without the cut-off.
 *
 * Every check comes before the first write: a refused call writes nothing
 * (and the ledger drops a failed call's writes anyway).
 */
#include "contracts/contracts_internal.h"

#include <assert.h>
#include <string.h>

/* ---- the commitment scheme --------------------------------------------------- */

static void hash2(struct hash32 *out, const char *tag, const uint8_t *a, size_t alen,
                  const uint8_t *b, size_t blen) {
  struct cry_hasher h;
  cry_hasher_init(&h, tag);
  cry_hasher_update(&h, a, alen);
  cry_hasher_update(&h, b, blen);
  cry_hasher_final(&h, out);
}

void ctr_appt_salt(struct hash32 *salt, const struct hash32 *view_key, const struct hash32 *slot) {
  hash2(salt, "medchain.appt.salt.v1", view_key->b, 32, slot->b, 32);
}

void ctr_appt_commitment(struct hash32 *out, const struct hash32 *patient,
                         const struct hash32 *salt) {
  hash2(out, "medchain.appt.commit.v1", patient->b, 32, salt->b, 32);
}

void ctr_appt_patient_enc(struct hash32 *out, const struct hash32 *patient,
                          const struct hash32 *salt) {
  struct hash32 pad;
  cry_hash_tagged(&pad, "medchain.appt.pad.v1", salt->b, sizeof(salt->b));
  for (size_t i = 0; i < sizeof(out->b); i++) {
    out->b[i] = patient->b[i] ^ pad.b[i];
  }
}

void ctr_appt_slot_id(struct hash32 *out, const struct hash32 *schedule, uint64_t start_ms) {
  uint8_t be[8];
  base_put_u64be(be, start_ms);
  hash2(out, "medchain.slot.v1", schedule->b, 32, be, sizeof(be));
}

static void put_var(struct cry_hasher *h, struct bytes b) {
  uint8_t be[4];
  base_put_u32be(be, (uint32_t)b.len);
  cry_hasher_update(h, be, sizeof(be));
  cry_hasher_update(h, b.ptr, b.len);
}

void ctr_appt_auth_msg(struct hash32 *out, struct bytes chain_id, struct bytes method,
                       struct bytes args_prefix) {
  struct cry_hasher h;
  cry_hasher_init(&h, "medchain.appt.auth.v1");
  put_var(&h, chain_id);
  put_var(&h, method);
  put_var(&h, args_prefix);
  cry_hasher_final(&h, out);
}

/* ---- who may act ------------------------------------------------------------------ */

/* The clinic of a slot or appointment: its practitioner, or an admin of
 * its organization. */
static bool clinic_speaks(const struct ctr_ctx *c, const struct hash32 *org,
                          const struct hash32 *practitioner) {
  if (base_hash_eq(&c->sender.id, practitioner)) {
    return true;
  }
  return ctr_sender_is(c, CTR_ROLE_ADMIN) && base_hash_eq(&c->sender.org, org);
}

/* The booker's capability: auth is booker_pk's signature over the call's
 * arguments before auth (the last field, so the prefix is the rest). */
static bool booker_signed(const struct ctr_ctx *c, const struct pubkey *booker_pk,
                          struct bytes auth) {
  if (auth.len != sizeof(struct signature)) {
    return false;
  }
  const struct tx *tx = c->tx;
  assert(tx->args.len >= 4 + auth.len);
  struct bytes prefix = {tx->args.ptr, tx->args.len - 4 - auth.len};
  struct hash32 msg;
  ctr_appt_auth_msg(&msg, c->env->chain_id, tx->method, prefix);
  struct signature sig;
  memcpy(sig.b, auth.ptr, sizeof(sig.b));
  return cry_verify(&sig, msg.b, sizeof(msg.b), booker_pk) == OK;
}

static int policy_cutoff(struct state *st, const struct hash32 *org, uint64_t *cutoff_ms) {
  struct ctr_appt_policy p;
  int rc = ctr_load(st, org, &p);
  *cutoff_ms = rc == OK ? p.cancel_cutoff_ms : 0;
  return rc == ERR_NOT_FOUND ? OK : rc;
}

/* May the sender take the booking of a away (cancel or move it)? The
 * clinic always; the booker with its capability, before the cut-off. */
static int release_allowed(const struct ctr_ctx *c, const struct ctr_appt *a, struct bytes auth) {
  if (!ctr_str_is(&a->status, CTR_APPT_BOOKED)) {
    return ERR_APPOINTMENT_CLOSED;
  }
  if (auth.len == 0 && clinic_speaks(c, &a->org, &a->practitioner)) {
    return OK;
  }
  if (!booker_signed(c, &a->booker_pk, auth)) {
    return ERR_NOT_YOUR_BOOKING;
  }
  uint64_t cutoff = 0;
  int rc = policy_cutoff(c->st, &a->org, &cutoff);
  if (rc != OK) {
    return rc;
  }
  uint64_t now = c->env->time_ms;
  return a->start_ms > now && a->start_ms - now > cutoff ? OK : ERR_CANCEL_CUTOFF;
}

/* ---- set_policy, create_schedule ------------------------------------------------- */

int ctr_appt_set_policy(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  if (a[0].u64 > LIM_APPT_CUTOFF_MS_MAX) {
    return ERR_BAD_ARGS;
  }
  struct ctr_appt_policy p = {
      .id = c->sender.org, .cancel_cutoff_ms = a[0].u64, .updated_height = c->env->height};
  return ctr_store(c->st, &p);
}

int ctr_appt_schedule(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_identity doc;
  int rc = ctr_load(c->st, &a[0].id, &doc);
  if (rc == ERR_NOT_FOUND || (rc == OK && !ctr_str_is(&doc.kind, CTR_ROLE_PRACTITIONER))) {
    return ERR_UNKNOWN_IDENTITY;
  }
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&doc.org, &c->sender.org)) {
    return ERR_UNAUTHORIZED;
  }
  if (!ctr_label_ok(a[1].bytes)) {
    return ERR_BAD_ARGS;
  }
  struct ctr_schedule s;
  memset(&s, 0, sizeof(s));
  cry_hash_tagged(&s.id, "medchain.schedule.v1", c->env->tx_hash.b, sizeof(c->env->tx_hash.b));
  s.org = doc.org;
  s.practitioner = doc.id;
  ctr_str_set(&s.service_type, a[1].bytes);
  s.created_height = c->env->height;
  rc = ctr_store(c->st, &s);
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_SCHEDULE_IDX, CTR_SUB_PRACTITIONER, &s.practitioner, NULL,
                       &s.id);
  }
  return rc;
}

/* ---- publish --------------------------------------------------------------------------- */

/* Whether the practitioner already has a slot overlapping [start, end) in
 * the committed state: the index holds their slots by start, and no slot
 * is longer than LIM_APPT_SLOT_MS_MAX, so only starts from start - that
 * bound up to end can overlap. Slots published earlier in the same block
 * are not in the committed state; publish checks its own pairs against
 * each other (docs/contracts.md says what that leaves). */
static int overlap_check(struct ctr_ctx *c, const struct hash32 *practitioner, uint64_t start,
                         uint64_t end) {
  struct ctr_skey prefix, from;
  uint8_t sub = CTR_SUB_PRACTITIONER;
  ctr_skey_init(&prefix, CTR_TAG_SLOT_IDX);
  ctr_skey_add(&prefix, &sub, 1);
  ctr_skey_add_id(&prefix, practitioner);
  from = prefix;
  ctr_skey_add_u64(&from, start > LIM_APPT_SLOT_MS_MAX ? start - LIM_APPT_SLOT_MS_MAX : 0);
  struct state_iter *it = NULL;
  int rc = state_iter_begin(c->st, ctr_skey_bytes(&prefix), ctr_skey_bytes(&from), &it);
  if (rc != OK) {
    return rc;
  }
  for (uint32_t seen = 0;; seen++) {
    struct bytes key, val;
    rc = state_iter_next(it, &key, &val);
    if (rc != OK) {
      rc = rc == ERR_NOT_FOUND ? OK : rc;
      break;
    }
    if (seen >= LIM_APPT_SCAN_MAX) {
      rc = ERR_LIMIT;
      break;
    }
    if (key.len != prefix.len + 8 + 32) {
      rc = ERR_CORRUPT;
      break;
    }
    if (base_get_u64be(key.ptr + prefix.len) >= end) {
      break; /* starts at or after the end: none further can overlap */
    }
    struct hash32 id;
    memcpy(id.b, key.ptr + prefix.len + 8, sizeof(id.b));
    struct ctr_slot other;
    rc = ctr_load(c->st, &id, &other);
    if (rc != OK) {
      rc = rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
      break;
    }
    if (other.end_ms > start) {
      rc = ERR_SLOT_OVERLAP;
      break;
    }
  }
  state_iter_end(it);
  return rc;
}

/* One (start, end) pair: shape, then time, then novelty. */
static int slot_check(struct ctr_ctx *c, const struct ctr_schedule *s, const uint8_t *pair,
                      struct ctr_slot *out) {
  uint64_t start = base_get_u64be(pair);
  uint64_t end = base_get_u64be(pair + 8);
  if (start >= end || end - start > LIM_APPT_SLOT_MS_MAX) {
    return ERR_BAD_ARGS;
  }
  uint64_t now = c->env->time_ms;
  if (start <= now) {
    return ERR_SLOT_IN_PAST;
  }
  if (start - now > LIM_APPT_HORIZON_MS) {
    return ERR_BAD_ARGS;
  }
  memset(out, 0, sizeof(*out));
  ctr_appt_slot_id(&out->id, &s->id, start);
  bool seen = false;
  int rc = ctr_exists(c->st, CTR_TAG_SLOT, &out->id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EXISTS;
  }
  rc = overlap_check(c, &s->practitioner, start, end);
  if (rc != OK) {
    return rc;
  }
  out->schedule = s->id;
  out->org = s->org;
  out->practitioner = s->practitioner;
  out->service_type = s->service_type;
  out->start_ms = start;
  out->end_ms = end;
  ctr_str_setz(&out->status, CTR_SLOT_FREE);
  out->created_height = c->env->height;
  return OK;
}

static int slot_write(struct ctr_ctx *c, const struct ctr_slot *sl) {
  static const struct hash32 everyone = {{0}};
  int rc = ctr_store(c->st, sl);
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_SLOT_IDX, CTR_SUB_PRACTITIONER, &sl->practitioner,
                       &sl->start_ms, &sl->id);
  }
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_SLOT_IDX, CTR_SUB_ALL, &everyone, &sl->start_ms, &sl->id);
  }
  return rc;
}

int ctr_appt_publish(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_schedule s;
  int rc = ctr_load(c->st, &a[0].id, &s);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_SCHEDULE;
  }
  if (rc != OK) {
    return rc;
  }
  if (!clinic_speaks(c, &s.org, &s.practitioner)) {
    return ERR_UNAUTHORIZED;
  }
  struct bytes pairs = a[1].bytes;
  size_t n = pairs.len / 16;
  if (pairs.len % 16 != 0 || n == 0 || n > LIM_APPT_SLOTS_PER_TX) {
    return ERR_BAD_ARGS;
  }
  /* The call's own pairs must not overlap one another (the committed
   * state cannot show them yet); an identical pair is ALREADY_EXISTS below. */
  for (size_t i = 0; i < n; i++) {
    for (size_t k = 0; k < i; k++) {
      uint64_t si = base_get_u64be(pairs.ptr + 16 * i), ei = base_get_u64be(pairs.ptr + 16 * i + 8);
      uint64_t sk = base_get_u64be(pairs.ptr + 16 * k), ek = base_get_u64be(pairs.ptr + 16 * k + 8);
      if (si < ek && sk < ei && si != sk) {
        return ERR_SLOT_OVERLAP;
      }
    }
  }
  /* Checked as they are written: a slot repeated within the call meets
   * its own buffered write and is ALREADY_EXISTS, and the ledger drops
   * the slots written before a refusal. */
  for (size_t i = 0; i < n; i++) {
    struct ctr_slot sl;
    rc = slot_check(c, &s, pairs.ptr + 16 * i, &sl);
    if (rc == OK) {
      rc = slot_write(c, &sl);
    }
    if (rc != OK) {
      return rc;
    }
  }
  return OK;
}

/* ---- book ----------------------------------------------------------------------------- */

/* The sealed salts go to the practitioner (required), admins of the org,
 * and at most one copy under the zero id: the booker's own. Nobody else. */
static int keys_check(const struct ctr_org *org, const struct hash32 *practitioner,
                      const struct codec_value *keys) {
  assert(keys->bytes.len == (size_t)keys->count * sizeof(struct ctr_key));
  bool has_practitioner = false;
  for (uint32_t i = 0; i < keys->count; i++) {
    struct ctr_key k;
    memcpy(&k, keys->bytes.ptr + i * sizeof(k), sizeof(k));
    bool ok = base_hash_is_zero(&k.reader) || base_hash_eq(&k.reader, practitioner) ||
              ctr_ids_has(org->admins, org->nadmins, &k.reader);
    if (!ok) {
      return ERR_BAD_ARGS;
    }
    has_practitioner = has_practitioner || base_hash_eq(&k.reader, practitioner);
  }
  return has_practitioner ? OK : ERR_BAD_ARGS;
}

/* Loads the slot a booking names and checks it can be booked now. */
static int slot_bookable(struct ctr_ctx *c, const struct hash32 *id, struct ctr_slot *sl) {
  memset(sl, 0, sizeof(*sl)); /* ctr_load does too; said here for the analyzer */
  int rc = ctr_load(c->st, id, sl);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_SLOT;
  }
  if (rc != OK) {
    return rc;
  }
  if (sl->start_ms <= c->env->time_ms) {
    return ERR_SLOT_IN_PAST;
  }
  return ctr_str_is(&sl->status, CTR_SLOT_FREE) ? OK : ERR_SLOT_TAKEN;
}

/* Books slot a[0] with commitment, patient_enc, booker_pk and keys at
 * a[0..4] (book's argument order; reschedule passes its own from a[1]),
 * previous naming the appointment it replaces (zero for none). */
static int book_into(struct ctr_ctx *c, const struct codec_value *a, const struct hash32 *previous,
                     struct ctr_appt *out) {
  struct ctr_slot sl;
  int rc = slot_bookable(c, &a[0].id, &sl);
  if (rc != OK) {
    return rc;
  }
  if (base_hash_is_zero(&a[1].id) || base_hash_is_zero(&a[2].id)) {
    return ERR_BAD_ARGS;
  }
  struct pubkey booker;
  memcpy(booker.b, a[3].id.b, sizeof(booker.b));
  if (cry_pubkey_check(&booker) != OK) {
    return ERR_BAD_ARGS;
  }
  struct ctr_org org;
  rc = ctr_load(c->st, &sl.org, &org);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  rc = keys_check(&org, &sl.practitioner, &a[4]);
  if (rc != OK) {
    return rc;
  }
  memset(out, 0, sizeof(*out));
  cry_hash_tagged(&out->id, "medchain.appt.v1", c->env->tx_hash.b, sizeof(c->env->tx_hash.b));
  out->slot = sl.id;
  out->org = sl.org;
  out->practitioner = sl.practitioner;
  out->start_ms = sl.start_ms;
  out->end_ms = sl.end_ms;
  out->commitment = a[1].id;
  out->patient_enc = a[2].id;
  out->booker_pk = booker;
  out->nkeys = a[4].count;
  memcpy(out->keys, a[4].bytes.ptr, a[4].bytes.len);
  ctr_str_setz(&out->status, CTR_APPT_BOOKED);
  out->booked_height = c->env->height;
  out->updated_height = c->env->height;
  out->previous = *previous;
  ctr_str_setz(&sl.status, CTR_SLOT_BUSY);
  sl.appointment = out->id;
  rc = ctr_store(c->st, &sl);
  if (rc == OK) {
    rc = ctr_store(c->st, out);
  }
  if (rc == OK) {
    rc = ctr_index_put(c->st, CTR_TAG_APPT_IDX, CTR_SUB_PRACTITIONER, &out->practitioner,
                       &out->start_ms, &out->id);
  }
  return rc;
}

int ctr_appt_book(struct ctr_ctx *c, const struct codec_value *a) {
  /* A patient books for themself (or as a guardian); anyone else only as
   * the slot's clinic, on behalf of a patient it authenticated. */
  if (!ctr_sender_is(c, CTR_ROLE_PATIENT)) {
    struct ctr_slot sl;
    int rc = ctr_load(c->st, &a[0].id, &sl);
    if (rc == ERR_NOT_FOUND) {
      return ERR_UNKNOWN_SLOT;
    }
    if (rc != OK) {
      return rc;
    }
    if (!clinic_speaks(c, &sl.org, &sl.practitioner)) {
      return ERR_UNAUTHORIZED;
    }
  }
  static const struct hash32 none = {{0}};
  struct ctr_appt ap;
  return book_into(c, a, &none, &ap);
}

/* ---- cancel, reschedule, mark ------------------------------------------------------------ */

static int appt_load(struct ctr_ctx *c, const struct hash32 *id, struct ctr_appt *ap) {
  memset(ap, 0, sizeof(*ap)); /* ctr_load does too; said here for the analyzer */
  int rc = ctr_load(c->st, id, ap);
  return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_APPOINTMENT : rc;
}

/* Ends appointment ap with status and frees its slot. */
static int appt_release(struct ctr_ctx *c, struct ctr_appt *ap, const char *status) {
  struct ctr_slot sl;
  int rc = ctr_load(c->st, &ap->slot, &sl);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  /* Paired with book_into: a booked appointment holds its slot. */
  if (!base_hash_eq(&sl.appointment, &ap->id) || !ctr_str_is(&sl.status, CTR_SLOT_BUSY)) {
    return ERR_CORRUPT;
  }
  ctr_str_setz(&sl.status, CTR_SLOT_FREE);
  memset(&sl.appointment, 0, sizeof(sl.appointment));
  ctr_str_setz(&ap->status, status);
  ap->updated_height = c->env->height;
  rc = ctr_store(c->st, &sl);
  if (rc != OK) {
    return rc;
  }
  return ctr_store(c->st, ap);
}

int ctr_appt_cancel(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_appt ap;
  int rc = appt_load(c, &a[0].id, &ap);
  if (rc == OK) {
    rc = release_allowed(c, &ap, a[1].bytes);
  }
  return rc == OK ? appt_release(c, &ap, CTR_APPT_CANCELLED) : rc;
}

int ctr_appt_reschedule(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_appt old;
  int rc = appt_load(c, &a[0].id, &old);
  if (rc == OK) {
    rc = release_allowed(c, &old, a[6].bytes);
  }
  if (rc != OK) {
    return rc;
  }
  /* The clinic moves its own bookings only within its organization. */
  bool by_clinic = a[6].bytes.len == 0;
  struct ctr_slot target;
  rc = ctr_load(c->st, &a[1].id, &target);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_SLOT;
  }
  if (rc != OK) {
    return rc;
  }
  if (by_clinic && !base_hash_eq(&target.org, &old.org)) {
    return ERR_UNAUTHORIZED;
  }
  /* Free the old slot first: moving to the same slot is then allowed to
   * fail only as SLOT_TAKEN would for anyone (it is the same booking). */
  rc = appt_release(c, &old, CTR_APPT_RESCHEDULED);
  if (rc != OK) {
    return rc;
  }
  struct ctr_appt moved;
  return book_into(c, &a[1], &old.id, &moved);
}

/* Clinic transitions: booked -> checked_in -> fulfilled; booked ->
 * fulfilled; booked -> noshow once the slot has started. */
static int mark_next(const struct ctr_appt *ap, struct bytes status, uint64_t now_ms) {
  bool booked = ctr_str_is(&ap->status, CTR_APPT_BOOKED);
  bool checked_in = ctr_str_is(&ap->status, CTR_APPT_CHECKED_IN);
  if (ctr_bytes_is(status, CTR_APPT_CHECKED_IN)) {
    return booked ? OK : ERR_APPOINTMENT_CLOSED;
  }
  if (ctr_bytes_is(status, CTR_APPT_FULFILLED)) {
    return booked || checked_in ? OK : ERR_APPOINTMENT_CLOSED;
  }
  if (ctr_bytes_is(status, CTR_APPT_NOSHOW)) {
    if (!booked) {
      return ERR_APPOINTMENT_CLOSED;
    }
    return now_ms >= ap->start_ms ? OK : ERR_BAD_ARGS;
  }
  return ERR_BAD_ARGS;
}

int ctr_appt_mark(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_appt ap;
  int rc = appt_load(c, &a[0].id, &ap);
  if (rc != OK) {
    return rc;
  }
  if (!clinic_speaks(c, &ap.org, &ap.practitioner)) {
    return ERR_UNAUTHORIZED;
  }
  rc = mark_next(&ap, a[1].bytes, c->env->time_ms);
  if (rc != OK) {
    return rc;
  }
  ctr_str_set(&ap.status, a[1].bytes);
  ap.updated_height = c->env->height;
  return ctr_store(c->st, &ap);
}
