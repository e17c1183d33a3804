/*
 * supply_reads — the questions the API asks of the supply chain: is this
 * package genuine and usable (ctr_drug_verify), where has it been
 * (ctr_drug_history, through its cases), and who holds a lot
 * (ctr_lot_holders). Pure: the caller passes the time; scans see committed
 * state only and are bounded by limits.h.
 */
#include "contracts/contracts_internal.h"
#include "gs1/gs1.h"

#include <assert.h>
#include <string.h>

const char *ctr_verdict_name(enum ctr_verdict v) {
  static const char *const names[] = {
      [CTR_VERIFIED] = "verified",         [CTR_NOT_FOUND] = "not_found",
      [CTR_RECALLED] = "recalled",         [CTR_EXPIRED] = "expired",
      [CTR_DISPENSED] = "dispensed",       [CTR_DECOMMISSIONED] = "decommissioned",
      [CTR_LOT_MISMATCH] = "lot_mismatch",
  };
  assert(v >= 0 && (size_t)v < ARRAY_LEN(names));
  return names[v];
}

/* The custodian of p: its case's holder while packed. */
static int custodian(struct state *st, const struct ctr_package *p, struct hash32 *holder,
                     bool *in_transit) {
  if (base_hash_is_zero(&p->parent)) {
    *holder = p->holder;
    *in_transit = !base_hash_is_zero(&p->shipment);
    return OK;
  }
  struct ctr_package box;
  int rc = ctr_load(st, &p->parent, &box);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  *holder = box.holder;
  *in_transit = !base_hash_is_zero(&box.shipment);
  return OK;
}

int ctr_drug_verify(struct state *st, const char *gtin14, const char *serial, struct bytes lot,
                    uint32_t expiry, uint64_t now_ms, struct ctr_verify_out *out) {
  memset(out, 0, sizeof(*out));
  struct hash32 id;
  ctr_package_id_sgtin(&id, gtin14, serial);
  struct ctr_package p;
  int rc = ctr_load(st, &id, &p);
  if (rc == ERR_NOT_FOUND) {
    out->verdict = CTR_NOT_FOUND;
    return OK;
  }
  if (rc != OK) {
    return rc;
  }
  struct ctr_lot l;
  rc = ctr_load(st, &p.lot, &l);
  if (rc == OK) {
    rc = custodian(st, &p, &out->holder, &out->in_transit);
  }
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  out->package = p.id;
  out->lot = l.id;
  if ((lot.len != 0 && !ctr_str_eq_bytes(&l.lot, lot)) || (expiry != 0 && expiry != l.expiry)) {
    out->verdict = CTR_LOT_MISMATCH;
  } else if (ctr_str_is(&p.status, CTR_PKG_DISPENSED)) {
    out->verdict = CTR_DISPENSED;
  } else if (ctr_str_is(&p.status, CTR_PKG_DECOMMISSIONED)) {
    out->verdict = CTR_DECOMMISSIONED;
  } else if (l.recalled) {
    out->verdict = CTR_RECALLED;
  } else if (l.expiry < gs1_date_of_ms(now_ms)) {
    out->verdict = CTR_EXPIRED;
  } else {
    out->verdict = CTR_VERIFIED;
  }
  return OK;
}

/* ---- history -------------------------------------------------------------- */

struct hist_item {
  struct hash32 event;
  uint64_t height;
  uint64_t index;
  bool aggregation; /* a packing or unpacking of this package */
  bool add;
  struct hash32 parent;
};

/* Reads up to cap history entries of package id, in order. */
static int hist_read(struct state *st, const struct hash32 *id, struct hist_item *out, size_t cap,
                     size_t *n) {
  struct ctr_skey prefix;
  ctr_skey_init(&prefix, CTR_TAG_HISTORY_IDX);
  uint8_t sub = 'e';
  ctr_skey_add(&prefix, &sub, 1);
  ctr_skey_add_id(&prefix, id);
  struct state_iter *it = NULL;
  int rc = state_iter_begin(st, ctr_skey_bytes(&prefix), (struct bytes){prefix.b, 0}, &it);
  if (rc != OK) {
    return rc;
  }
  *n = 0;
  for (;;) {
    struct bytes key;
    struct bytes val;
    rc = state_iter_next(it, &key, &val);
    if (rc != OK || *n == cap) {
      break;
    }
    if (key.len != prefix.len + 8 + 32) {
      rc = ERR_CORRUPT;
      break;
    }
    struct hist_item *h = &out[*n];
    memcpy(h->event.b, key.ptr + prefix.len + 8, 32);
    struct ctr_event ev;
    rc = ctr_load(st, &h->event, &ev);
    if (rc != OK) {
      rc = rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
      break;
    }
    h->height = ev.height;
    h->index = ev.index;
    h->aggregation = ctr_str_is(&ev.type, "AggregationEvent");
    h->add = ctr_str_is(&ev.action, "ADD");
    h->parent = ev.parent;
    (*n)++;
  }
  state_iter_end(it);
  return rc == ERR_NOT_FOUND || rc == OK ? OK : rc;
}

static bool before(const struct hist_item *a, uint64_t height, uint64_t index) {
  return a->height < height || (a->height == height && a->index < index);
}

int ctr_drug_history(struct state *st, const struct hash32 *package, ctr_history_fn fn, void *ctx) {
  static _Thread_local struct hist_item own[LIM_HISTORY_MAX];
  static _Thread_local struct hist_item box[LIM_HISTORY_MAX];
  bool seen = false;
  int rc = ctr_exists(st, CTR_TAG_PACKAGE, package, &seen);
  if (rc != OK || !seen) {
    return rc != OK ? rc : ERR_NOT_FOUND;
  }
  size_t n = 0;
  rc = hist_read(st, package, own, LIM_HISTORY_MAX, &n);
  size_t emitted = 0;
  for (size_t i = 0; rc == OK && i < n && emitted < LIM_HISTORY_MAX; i++) {
    rc = fn(ctx, &own[i].event, NULL);
    emitted++;
    if (rc != OK || !own[i].aggregation || !own[i].add) {
      continue;
    }
    /* Packed: the case's events after this one, until the package's next
     * own event (its unpacking, or nothing while it stays packed). */
    uint64_t end_h = i + 1 < n ? own[i + 1].height : UINT64_MAX;
    uint64_t end_i = i + 1 < n ? own[i + 1].index : UINT64_MAX;
    size_t m = 0;
    rc = hist_read(st, &own[i].parent, box, LIM_HISTORY_MAX, &m);
    for (size_t j = 0; rc == OK && j < m && emitted < LIM_HISTORY_MAX; j++) {
      bool after = before(&own[i], box[j].height, box[j].index);
      if (after && before(&box[j], end_h, end_i) && !box[j].aggregation) {
        rc = fn(ctx, &box[j].event, &own[i].parent);
        emitted++;
      }
    }
  }
  return rc;
}

/* ---- lot holders ---------------------------------------------------------- */

static int holding_add(struct ctr_holding *out, size_t cap, size_t *n, const struct hash32 *org,
                       bool in_transit) {
  size_t i = 0;
  while (i < *n && !base_hash_eq(&out[i].org, org)) {
    i++;
  }
  if (i == *n) {
    if (*n == cap) {
      return ERR_LIMIT;
    }
    memset(&out[i], 0, sizeof(out[i]));
    out[i].org = *org;
    (*n)++;
  }
  out[i].packages++;
  out[i].in_transit += in_transit ? 1 : 0;
  return OK;
}

int ctr_lot_holders(struct state *st, const struct hash32 *lot, struct ctr_holding *out, size_t cap,
                    size_t *n) {
  *n = 0;
  bool seen = false;
  int rc = ctr_exists(st, CTR_TAG_LOT, lot, &seen);
  if (rc != OK || !seen) {
    return rc != OK ? rc : ERR_NOT_FOUND;
  }
  struct ctr_skey prefix;
  ctr_skey_init(&prefix, CTR_TAG_LOT_IDX);
  uint8_t sub = 'p';
  ctr_skey_add(&prefix, &sub, 1);
  ctr_skey_add_id(&prefix, lot);
  struct state_iter *it = NULL;
  rc = state_iter_begin(st, ctr_skey_bytes(&prefix), (struct bytes){prefix.b, 0}, &it);
  if (rc != OK) {
    return rc;
  }
  for (size_t scanned = 0; scanned < LIM_LOT_SCAN_MAX; scanned++) {
    struct bytes key;
    struct bytes val;
    rc = state_iter_next(it, &key, &val);
    if (rc != OK) {
      break;
    }
    struct hash32 id;
    struct ctr_package p;
    memcpy(id.b, key.ptr + key.len - 32, 32);
    rc = ctr_load(st, &id, &p);
    if (rc != OK) {
      rc = rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
      break;
    }
    if (!ctr_str_is(&p.status, CTR_PKG_ACTIVE)) {
      continue;
    }
    struct hash32 holder;
    bool transit = false;
    rc = custodian(st, &p, &holder, &transit);
    if (rc == OK) {
      rc = holding_add(out, cap, n, &holder, transit);
    }
    if (rc != OK) {
      break;
    }
  }
  state_iter_end(it);
  return rc == ERR_NOT_FOUND ? OK : rc;
}

/* ---- prescriptions -------------------------------------------------------- */

int ctr_read_rx(struct state *st, const struct hash32 *reader, const struct hash32 *rx_id) {
  struct ctr_rx rx;
  int rc = ctr_load(st, rx_id, &rx);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNAUTHORIZED : rc;
  }
  rc = ctr_read_patient(st, reader, &rx.patient);
  if (rc != ERR_UNAUTHORIZED) {
    return rc;
  }
  if (base_hash_eq(reader, &rx.prescriber)) {
    return OK;
  }
  struct ctr_identity who;
  struct ctr_org org;
  rc = ctr_load(st, reader, &who);
  if (rc == OK) {
    rc = ctr_identity_active(st, &who, &org);
  }
  if (rc != OK) {
    return rc == ERR_NOT_FOUND || rc == ERR_SUSPENDED ? ERR_UNAUTHORIZED : rc;
  }
  bool admin = ctr_str_is(&who.kind, CTR_ROLE_ADMIN);
  bool staff = admin || ctr_str_is(&who.kind, CTR_ROLE_PRACTITIONER);
  if ((admin && base_hash_eq(&who.org, &rx.org)) || (staff && ctr_str_is(&org.kind, "pharmacy"))) {
    return OK;
  }
  return ERR_UNAUTHORIZED;
}
