/*
 * supply — drug traceability as GS1 EPCIS 2.0 events (docs/contracts.md).
 *
 * Organizations name their locations by GLN (supply.register_gln). A
 * manufacturer commissions serials (SGTIN EPC URIs) of a lot with its
 * expiry; the holder packs packages into SSCC cases, ships packages or
 * cases to another organization's GLN, which receives them; packages are
 * decommissioned or dispensed; a lot is recalled by its manufacturer or a
 * regulator. Every event is stored under its EPCIS event hash (computed
 * off chain by the capture endpoint, src/api/epcis.c) and appended to the
 * history of each EPC it names.
 *
 * Custody: a package's holder is its own `holder` while it is loose, and
 * its case's while packed (the case moves, its children are not
 * rewritten: "aggregation moves children with their case"). So shipping or
 * dispensing a packed package is IN_CASE: act on the case or unpack it.
 * Cases hold packages only (no nesting), which keeps every custody
 * question one load away.
 *
 * Every method checks all of its EPCs before it writes anything; state is
 * touched only by ctr_event_record at the end. Time is the block's.
 */
#include "contracts/contracts_internal.h"
#include "gs1/gs1.h"

#include <assert.h>
#include <string.h>

#define KIND_SGTIN "sgtin"
#define KIND_SSCC "sscc"

bool ctr_supply_actor(const struct ctr_ctx *c) {
  return ctr_sender_is(c, CTR_ROLE_ADMIN) || ctr_sender_is(c, CTR_ROLE_PRACTITIONER);
}

static bool org_kind_is(const struct ctr_org *o, const char *kind) {
  return ctr_str_is(&o->kind, kind);
}

/* ---- GLNs ----------------------------------------------------------------- */

static void gln_key(struct ctr_skey *k, struct bytes gln) {
  ctr_skey_init(k, CTR_TAG_GLN);
  ctr_skey_add(k, gln.ptr, gln.len);
}

/* The organization that registered gln: OK, GS1_MALFORMED,
 * GS1_CHECK_DIGIT, UNKNOWN_GLN or a store error. */
static int gln_org(struct state *st, struct bytes gln, struct hash32 *org) {
  int rc = gs1_gln_check((const char *)gln.ptr, gln.len);
  if (rc != OK) {
    return rc;
  }
  struct ctr_skey k;
  gln_key(&k, gln);
  struct bytes v;
  rc = state_get(st, ctr_skey_bytes(&k), &v);
  if (rc == ERR_NOT_FOUND) {
    return ERR_UNKNOWN_GLN;
  }
  if (rc != OK) {
    return rc;
  }
  if (v.len != sizeof(org->b)) {
    return ERR_CORRUPT;
  }
  memcpy(org->b, v.ptr, sizeof(org->b));
  return OK;
}

int ctr_supply_gln(struct ctr_ctx *c, const struct codec_value *a) {
  if (!ctr_sender_is(c, CTR_ROLE_ADMIN)) {
    return ERR_UNAUTHORIZED;
  }
  struct hash32 owner;
  int rc = gln_org(c->st, a[0].bytes, &owner);
  if (rc == OK) {
    return ERR_EXISTS;
  }
  if (rc != ERR_UNKNOWN_GLN) {
    return rc;
  }
  struct ctr_skey k;
  gln_key(&k, a[0].bytes);
  return state_put(c->st, ctr_skey_bytes(&k), (struct bytes){c->sender.org.b, 32});
}

/* ---- EPC lists ------------------------------------------------------------ */

static void package_id(struct hash32 *id, const struct gs1_epc *e) {
  if (e->kind == GS1_EPC_SSCC) {
    cry_hash_tagged(id, "medchain.sscc.v1", (const uint8_t *)e->sscc, GS1_SSCC_LEN);
    return;
  }
  char buf[GS1_GTIN_LEN + 1 + GS1_SERIAL_MAX + 1];
  size_t n = strlen(e->serial);
  memcpy(buf, e->gtin, GS1_GTIN_LEN);
  buf[GS1_GTIN_LEN] = '.';
  memcpy(buf + GS1_GTIN_LEN + 1, e->serial, n);
  cry_hash_tagged(id, "medchain.sgtin.v1", (const uint8_t *)buf, GS1_GTIN_LEN + 1 + n);
}

void ctr_package_id_sgtin(struct hash32 *id, const char *gtin14, const char *serial) {
  struct gs1_epc e = {.kind = GS1_EPC_SGTIN};
  assert(strlen(gtin14) == GS1_GTIN_LEN && strlen(serial) <= GS1_SERIAL_MAX);
  memcpy(e.gtin, gtin14, GS1_GTIN_LEN);
  memcpy(e.serial, serial, strlen(serial));
  package_id(id, &e);
}

void ctr_lot_id(struct hash32 *id, const char *gtin14, struct bytes lot) {
  char buf[GS1_GTIN_LEN + 1 + LIM_STR_MAX];
  assert(lot.len <= LIM_STR_MAX);
  memcpy(buf, gtin14, GS1_GTIN_LEN);
  buf[GS1_GTIN_LEN] = '|';
  if (lot.len > 0) {
    memcpy(buf + GS1_GTIN_LEN + 1, lot.ptr, lot.len);
  }
  cry_hash_tagged(id, "medchain.lot.v1", (const uint8_t *)buf, GS1_GTIN_LEN + 1 + lot.len);
}

/* One EPC URI, which must be canonical (the URI gs1 re-encodes it to). */
static int epc_one(struct ctr_package *p, const char *s, size_t n) {
  struct gs1_epc e;
  if (gs1_epc_parse(&e, s, n) != OK) {
    return ERR_BAD_ARGS;
  }
  char uri[GS1_URI_MAX];
  if (gs1_epc_uri(uri, sizeof(uri), &e) != OK || strlen(uri) != n || memcmp(uri, s, n) != 0 ||
      n > LIM_STR_MAX) {
    return ERR_BAD_ARGS;
  }
  memset(p, 0, sizeof(*p));
  package_id(&p->id, &e);
  ctr_str_set(&p->epc, (struct bytes){(const uint8_t *)s, n});
  ctr_str_setz(&p->kind, e.kind == GS1_EPC_SSCC ? KIND_SSCC : KIND_SGTIN);
  ctr_str_setz(&p->gtin, e.gtin);
  ctr_str_setz(&p->serial, e.kind == GS1_EPC_SSCC ? e.sscc : e.serial);
  return OK;
}

static int epc_add(struct state *st, struct ctr_epcs *out, const char *s, size_t n) {
  if (out->n == LIM_EPCIS_EPCS_MAX) {
    return ERR_OVERSIZE;
  }
  struct ctr_package *p = &out->pkg[out->n];
  int rc = epc_one(p, s, n);
  if (rc != OK) {
    return rc;
  }
  for (uint32_t j = 0; j < out->n; j++) {
    if (base_hash_eq(&out->pkg[j].id, &p->id)) {
      return ERR_BAD_ARGS; /* an EPC twice in one event */
    }
  }
  struct ctr_package parsed = *p;
  rc = ctr_load(st, &parsed.id, p);
  out->found[out->n] = rc == OK;
  if (rc == ERR_NOT_FOUND) {
    *p = parsed;
    rc = OK;
  }
  out->n++;
  return rc;
}

int ctr_epcs_load(struct state *st, struct bytes list, struct ctr_epcs *out) {
  out->n = 0;
  const char *s = (const char *)list.ptr;
  size_t i = 0;
  while (i < list.len) {
    size_t j = i;
    while (j < list.len && s[j] != ' ') {
      j++;
    }
    if (j == i || (j < list.len && j + 1 == list.len)) {
      return ERR_BAD_ARGS; /* empty item: doubled, leading or trailing space */
    }
    int rc = epc_add(st, out, s + i, j - i);
    if (rc != OK) {
      return rc;
    }
    i = j + 1;
  }
  return out->n == 0 ? ERR_BAD_ARGS : OK;
}

/* ---- custody rules -------------------------------------------------------- */

int ctr_pkg_usable(struct state *st, const struct ctr_package *p, uint64_t now_ms) {
  if (ctr_str_is(&p->status, CTR_PKG_DISPENSED)) {
    return ERR_PACKAGE_DISPENSED;
  }
  if (ctr_str_is(&p->status, CTR_PKG_DECOMMISSIONED)) {
    return ERR_PACKAGE_DECOMMISSIONED;
  }
  if (base_hash_is_zero(&p->lot)) {
    return OK; /* a case: its contents answer for themselves */
  }
  struct ctr_lot lot;
  int rc = ctr_load(st, &p->lot, &lot);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_CORRUPT : rc;
  }
  if (lot.recalled) {
    return ERR_LOT_RECALLED;
  }
  return lot.expiry < gs1_date_of_ms(now_ms) ? ERR_PACKAGE_EXPIRED : OK;
}

int ctr_epcs_custody(struct state *st, const struct ctr_epcs *e, const struct hash32 *org,
                     uint64_t now_ms) {
  for (uint32_t i = 0; i < e->n; i++) {
    const struct ctr_package *p = &e->pkg[i];
    if (!e->found[i]) {
      return ERR_UNKNOWN_SERIAL;
    }
    if (!base_hash_is_zero(&p->parent)) {
      return ERR_IN_CASE;
    }
    if (!base_hash_eq(&p->holder, org)) {
      return ERR_NOT_HOLDER;
    }
    if (!base_hash_is_zero(&p->shipment)) {
      return ERR_IN_TRANSIT;
    }
    int rc = ctr_pkg_usable(st, p, now_ms);
    if (rc != OK) {
      return rc;
    }
  }
  return OK;
}

static void event_init(struct ctr_ctx *c, struct ctr_event *ev, const struct codec_value *event,
                       const char *type, const char *action, const char *step,
                       uint64_t event_time_ms) {
  memset(ev, 0, sizeof(*ev));
  ev->id = event->id;
  ctr_str_setz(&ev->type, type);
  ctr_str_setz(&ev->action, action);
  ctr_str_setz(&ev->biz_step, step);
  ev->org = c->sender.org;
  ev->event_time_ms = event_time_ms;
  ev->height = c->env->height;
  ev->index = c->env->index;
  ev->time_ms = c->env->time_ms;
}

static int history_put(struct state *st, struct ctr_package *p, const struct hash32 *event) {
  uint64_t seq = p->events++;
  return ctr_index_put(st, CTR_TAG_HISTORY_IDX, 'e', &p->id, &seq, event);
}

int ctr_event_record(struct ctr_ctx *c, struct ctr_event *ev, struct ctr_epcs *e) {
  bool seen = false;
  int rc = ctr_exists(c->st, CTR_TAG_EVENT, &ev->id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen || base_hash_is_zero(&ev->id)) {
    return seen ? ERR_EVENT_EXISTS : ERR_BAD_ARGS;
  }
  ev->epc_count = e->n;
  rc = ctr_store(c->st, ev);
  for (uint32_t i = 0; rc == OK && i < e->n; i++) {
    rc = history_put(c->st, &e->pkg[i], &ev->id);
    if (rc == OK) {
      rc = ctr_store(c->st, &e->pkg[i]);
    }
  }
  return rc;
}

/* Common prologue of the event methods: the sender may act, the EPCs
 * parse and load, the event hash is new. */
static int event_begin(struct ctr_ctx *c, const struct codec_value *event, struct bytes epcs,
                       struct ctr_epcs *e) {
  if (!ctr_supply_actor(c)) {
    return ERR_UNAUTHORIZED;
  }
  bool seen = false;
  int rc = ctr_exists(c->st, CTR_TAG_EVENT, &event->id, &seen);
  if (rc != OK) {
    return rc;
  }
  if (seen) {
    return ERR_EVENT_EXISTS;
  }
  return ctr_epcs_load(c->st, epcs, e);
}

/* ---- commissioning -------------------------------------------------------- */

/* Loads or creates the lot of gtin: a lot belongs to the manufacturer that
 * first commissioned it, with one expiry. */
static int lot_take(struct ctr_ctx *c, const char *gtin, struct bytes lot_name, uint64_t expiry,
                    struct ctr_lot *lot) {
  if (!gs1_text_ok((const char *)lot_name.ptr, lot_name.len) ||
      !gs1_date_valid((uint32_t)(expiry > UINT32_MAX ? 0 : expiry))) {
    return ERR_BAD_ARGS;
  }
  struct hash32 id;
  ctr_lot_id(&id, gtin, lot_name);
  int rc = ctr_load(c->st, &id, lot);
  if (rc == ERR_NOT_FOUND) {
    memset(lot, 0, sizeof(*lot));
    lot->id = id;
    ctr_str_setz(&lot->gtin, gtin);
    ctr_str_set(&lot->lot, lot_name);
    lot->expiry = expiry;
    lot->manufacturer = c->sender.org;
    return OK;
  }
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&lot->manufacturer, &c->sender.org)) {
    return ERR_UNAUTHORIZED;
  }
  if (lot->expiry != expiry) {
    return ERR_BAD_ARGS;
  }
  return lot->recalled ? ERR_LOT_RECALLED : OK;
}

int ctr_supply_commission(struct ctr_ctx *c, const struct codec_value *a) {
  if (!org_kind_is(&c->sender_org, "manufacturer")) {
    return ERR_UNAUTHORIZED;
  }
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[1].bytes, &e);
  if (rc != OK) {
    return rc;
  }
  struct ctr_lot lot;
  rc = lot_take(c, e.pkg[0].gtin.b, a[2].bytes, a[3].u64, &lot);
  if (rc != OK) {
    return rc;
  }
  if (lot.expiry < gs1_date_of_ms(c->env->time_ms)) {
    return ERR_PACKAGE_EXPIRED;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    struct ctr_package *p = &e.pkg[i];
    if (e.found[i]) {
      return ERR_SERIAL_EXISTS;
    }
    if (!ctr_str_is(&p->kind, KIND_SGTIN) || !ctr_str_is(&p->gtin, lot.gtin.b)) {
      return ERR_BAD_ARGS; /* one GTIN per commissioning event, the lot's */
    }
  }
  for (uint32_t i = 0; i < e.n; i++) {
    struct ctr_package *p = &e.pkg[i];
    p->lot = lot.id;
    ctr_str_setz(&p->status, CTR_PKG_ACTIVE);
    p->holder = c->sender.org;
    p->created_height = c->env->height;
    rc = ctr_index_put(c->st, CTR_TAG_LOT_IDX, 'p', &lot.id, NULL, &p->id);
    if (rc != OK) {
      return rc;
    }
  }
  lot.packages += e.n;
  rc = ctr_store(c->st, &lot);
  if (rc != OK) {
    return rc;
  }
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "ObjectEvent", "ADD", "commissioning", a[4].u64);
  return ctr_event_record(c, &ev, &e);
}

/* ---- aggregation ---------------------------------------------------------- */

/* The case named by parent: an SSCC that the sender holds, loose and not
 * in transit. A new case is created (holder: the sender) when create. */
static int case_take(struct ctr_ctx *c, struct bytes parent, bool create, struct ctr_epcs *cs) {
  int rc = ctr_epcs_load(c->st, parent, cs);
  if (rc != OK || cs->n != 1 || !ctr_str_is(&cs->pkg[0].kind, KIND_SSCC)) {
    return rc == OK || rc == ERR_OVERSIZE ? ERR_BAD_ARGS : rc;
  }
  struct ctr_package *k = &cs->pkg[0];
  if (!cs->found[0]) {
    if (!create) {
      return ERR_UNKNOWN_SERIAL;
    }
    ctr_str_setz(&k->status, CTR_PKG_ACTIVE);
    k->holder = c->sender.org;
    k->created_height = c->env->height;
    cs->found[0] = true;
  }
  return ctr_epcs_custody(c->st, cs, &c->sender.org, c->env->time_ms);
}

int ctr_supply_pack(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[2].bytes, &e);
  struct ctr_epcs cs;
  if (rc == OK) {
    rc = case_take(c, a[1].bytes, true, &cs);
  }
  if (rc == OK) {
    rc = ctr_epcs_custody(c->st, &e, &c->sender.org, c->env->time_ms);
  }
  if (rc != OK) {
    return rc;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    if (!ctr_str_is(&e.pkg[i].kind, KIND_SGTIN)) {
      return ERR_BAD_ARGS; /* cases hold packages, not cases */
    }
    e.pkg[i].parent = cs.pkg[0].id;
  }
  cs.pkg[0].children += e.n;
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "AggregationEvent", "ADD", "packing", a[3].u64);
  ev.parent = cs.pkg[0].id;
  rc = ctr_event_record(c, &ev, &e);
  if (rc == OK) {
    rc = history_put(c->st, &cs.pkg[0], &ev.id);
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_store(c->st, &cs.pkg[0]);
}

int ctr_supply_unpack(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[2].bytes, &e);
  struct ctr_epcs cs;
  if (rc == OK) {
    rc = case_take(c, a[1].bytes, false, &cs);
  }
  if (rc == ERR_LOT_RECALLED || rc == ERR_PACKAGE_EXPIRED) {
    rc = OK; /* unpacking recalled or expired stock is how it gets sorted out */
  }
  if (rc != OK) {
    return rc;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    if (!e.found[i]) {
      return ERR_UNKNOWN_SERIAL;
    }
    if (!base_hash_eq(&e.pkg[i].parent, &cs.pkg[0].id)) {
      return ERR_BAD_ARGS; /* not in this case */
    }
    e.pkg[i].parent = (struct hash32){{0}};
    e.pkg[i].holder = cs.pkg[0].holder;
  }
  assert(cs.pkg[0].children >= e.n);
  cs.pkg[0].children -= e.n;
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "AggregationEvent", "DELETE", "unpacking", a[3].u64);
  ev.parent = cs.pkg[0].id;
  rc = ctr_event_record(c, &ev, &e);
  if (rc == OK) {
    rc = history_put(c->st, &cs.pkg[0], &ev.id);
  }
  if (rc != OK) {
    return rc;
  }
  return ctr_store(c->st, &cs.pkg[0]);
}

/* ---- shipping and receiving ----------------------------------------------- */

int ctr_supply_ship(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[1].bytes, &e);
  struct hash32 from;
  struct hash32 to;
  if (rc == OK) {
    rc = gln_org(c->st, a[2].bytes, &from);
  }
  if (rc == OK) {
    rc = gln_org(c->st, a[3].bytes, &to);
  }
  if (rc == ERR_GS1_MALFORMED || rc == ERR_GS1_CHECK_DIGIT) {
    return ERR_BAD_ARGS;
  }
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&from, &c->sender.org)) {
    return ERR_UNAUTHORIZED; /* shipping from somebody else's location */
  }
  if (base_hash_eq(&to, &c->sender.org)) {
    return ERR_BAD_ARGS;
  }
  rc = ctr_epcs_custody(c->st, &e, &c->sender.org, c->env->time_ms);
  if (rc != OK) {
    return rc;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    e.pkg[i].shipment = a[0].id;
    e.pkg[i].ship_to = to;
  }
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "ObjectEvent", "OBSERVE", "shipping", a[4].u64);
  ev.source = from;
  ev.destination = to;
  return ctr_event_record(c, &ev, &e);
}

int ctr_supply_receive(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[1].bytes, &e);
  struct hash32 to;
  if (rc == OK) {
    rc = gln_org(c->st, a[2].bytes, &to);
  }
  if (rc == ERR_GS1_MALFORMED || rc == ERR_GS1_CHECK_DIGIT) {
    return ERR_BAD_ARGS;
  }
  if (rc != OK) {
    return rc;
  }
  if (!base_hash_eq(&to, &c->sender.org)) {
    return ERR_UNAUTHORIZED; /* receiving at somebody else's location */
  }
  for (uint32_t i = 0; i < e.n; i++) {
    struct ctr_package *p = &e.pkg[i];
    if (!e.found[i]) {
      return ERR_UNKNOWN_SERIAL;
    }
    if (base_hash_is_zero(&p->shipment) || !base_hash_eq(&p->ship_to, &c->sender.org)) {
      return ERR_NO_MATCHING_SHIPMENT;
    }
    rc = ctr_pkg_usable(c->st, p, c->env->time_ms);
    if (rc != OK) {
      return rc;
    }
  }
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "ObjectEvent", "OBSERVE", "receiving", a[3].u64);
  ev.source = e.pkg[0].holder;
  ev.destination = to;
  for (uint32_t i = 0; i < e.n; i++) {
    e.pkg[i].holder = c->sender.org;
    e.pkg[i].shipment = (struct hash32){{0}};
    e.pkg[i].ship_to = (struct hash32){{0}};
  }
  return ctr_event_record(c, &ev, &e);
}

/* ---- leaving the chain ---------------------------------------------------- */

int ctr_supply_decommission(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[1].bytes, &e);
  if (rc == OK) {
    rc = ctr_epcs_custody(c->st, &e, &c->sender.org, c->env->time_ms);
  }
  if (rc == ERR_LOT_RECALLED || rc == ERR_PACKAGE_EXPIRED) {
    rc = OK; /* destroying recalled or expired stock is allowed */
  }
  if (rc != OK) {
    return rc;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    if (e.pkg[i].children != 0) {
      return ERR_BAD_ARGS; /* unpack a case before decommissioning it */
    }
    ctr_str_setz(&e.pkg[i].status, CTR_PKG_DECOMMISSIONED);
  }
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "ObjectEvent", "DELETE", "decommissioning", a[2].u64);
  return ctr_event_record(c, &ev, &e);
}

int ctr_supply_dispense(struct ctr_ctx *c, const struct codec_value *a) {
  struct ctr_epcs e;
  int rc = event_begin(c, &a[0], a[1].bytes, &e);
  if (rc == OK) {
    rc = ctr_epcs_custody(c->st, &e, &c->sender.org, c->env->time_ms);
  }
  if (rc != OK) {
    return rc;
  }
  for (uint32_t i = 0; i < e.n; i++) {
    if (!ctr_str_is(&e.pkg[i].kind, KIND_SGTIN)) {
      return ERR_BAD_ARGS;
    }
    ctr_str_setz(&e.pkg[i].status, CTR_PKG_DISPENSED);
  }
  struct ctr_event ev;
  event_init(c, &ev, &a[0], "ObjectEvent", "OBSERVE", "dispensing", a[2].u64);
  return ctr_event_record(c, &ev, &e);
}

int ctr_supply_recall(struct ctr_ctx *c, const struct codec_value *a) {
  char gtin[GS1_GTIN_LEN + 1];
  if (gs1_gtin_normalize(gtin, (const char *)a[0].bytes.ptr, a[0].bytes.len) != OK ||
      a[0].bytes.len != GS1_GTIN_LEN) {
    return ERR_BAD_ARGS;
  }
  struct ctr_lot lot;
  struct hash32 id;
  ctr_lot_id(&id, gtin, a[1].bytes);
  int rc = ctr_load(c->st, &id, &lot);
  if (rc != OK) {
    return rc == ERR_NOT_FOUND ? ERR_UNKNOWN_LOT : rc;
  }
  bool maker = base_hash_eq(&lot.manufacturer, &c->sender.org);
  if (!ctr_supply_actor(c) || !(maker || org_kind_is(&c->sender_org, "regulator"))) {
    return ERR_UNAUTHORIZED;
  }
  if (lot.recalled) {
    return ERR_LOT_RECALLED;
  }
  lot.recalled = true;
  lot.recalled_by = c->sender.id;
  lot.recalled_height = c->env->height;
  return ctr_store(c->st, &lot);
}
