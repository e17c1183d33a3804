/*
 * events — GET /v1/events: server-sent events (text/event-stream) for new
 * blocks, committed transactions and one patient's consent changes and
 * accesses to their records (emergency reads flagged, as soon as the audit
 * entry commits, which is before the content leaves the node).
 *
 * One hub per server. The node's commit hook (on the producer thread)
 * formats each block's events into a shared ring of API_EVENTS_BACKLOG
 * fixed-size slots, numbered by a sequence that only grows, and wakes the
 * readers; it never waits on a reader. Each subscriber remembers the
 * sequence of the next event it wants. Its connection thread (libmicrohttpd
 * gives every connection one) copies events out under the hub's lock, and
 * when there are none waits on the condition variable for at most
 * API_EVENTS_WAIT_MS, so a stopping server is noticed within that bound.
 * A subscriber whose next event has already been overwritten has fallen
 * more than API_EVENTS_BACKLOG events behind: it gets `event: overflow`
 * and its stream ends, rather than holding the producer back.
 *
 * Invariants: hub->seq_next - API_EVENTS_BACKLOG <= the oldest event kept;
 * a subscriber's next <= hub->seq_next; at most API_EVENTS_SUBSCRIBERS_MAX
 * subscribers. Events carry ids only (no personal data exists on chain),
 * and nothing here logs an id.
 *
 * The hook cannot be removed from the node: the node must not commit once
 * the hub is destroyed, so the server is stopped after the node (as the CLI
 * and the tests do).
 */
#include "api/api_internal.h"

#include "crypto/crypto.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum ev_kind { EV_BLOCK = 0, EV_TX, EV_CONSENT, EV_ACCESS };

struct ev_slot {
  uint64_t seq;
  enum ev_kind kind;
  struct hash32 patient; /* EV_CONSENT and EV_ACCESS only */
  uint16_t len;
  char text[API_EVENT_TEXT_MAX];
};

struct api_sub {
  struct api_events *hub;
  bool used;
  bool by_patient; /* consent events of `patient` instead of tx events */
  struct hash32 patient;
  bool has_reader; /* a signed stream: re-authorized before each event */
  struct hash32 reader;
  struct pubkey reader_pk;
  uint64_t next;          /* sequence of the next event to look at */
  uint64_t last_write_ms; /* monotonic, for the keep-alive comment */
  bool ending;            /* end the stream once `pending` is out */
  size_t len;             /* pending bytes in buf, from off */
  size_t off;
  char buf[API_EVENT_TEXT_MAX];
};

struct api_events {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* monotonic clock */
  struct node *node;
  bool stopping;
  uint64_t seq_next; /* sequence the next published event gets */
  uint32_t nsubs;
  struct api_sub subs[API_EVENTS_SUBSCRIBERS_MAX];
  struct ev_slot ring[API_EVENTS_BACKLOG];
};

static uint64_t mono_ms(void) {
  return base_mono_ns() / 1000000u;
}

/* ---- formatting --------------------------------------------------------- */

int api_event_format(char *out, size_t cap, size_t *len, const char *event, uint64_t height,
                     uint32_t index, const char *data) {
  assert(out != NULL && len != NULL && event != NULL && data != NULL);
  int n = snprintf(out, cap, "id: %llu:%u\nevent: %s\ndata: %s\n\n", (unsigned long long)height,
                   (unsigned)index, event, data);
  if (n < 0 || (size_t)n >= cap) {
    *len = 0;
    return ERR_OVERSIZE;
  }
  *len = (size_t)n;
  return OK;
}

int api_event_block(char *out, size_t cap, size_t *len, const struct block *b) {
  struct hash32 h;
  int rc = codec_block_hash(&b->header, &h);
  if (rc != OK) {
    return rc;
  }
  char hex[65];
  base_hash_hex(hex, &h);
  char data[256];
  snprintf(data, sizeof(data), "{\"height\":%llu,\"hash\":\"%s\",\"time_ms\":%llu,\"tx_count\":%u}",
           (unsigned long long)b->header.height, hex, (unsigned long long)b->header.time_ms,
           (unsigned)b->tx_count);
  /* The block follows its transactions: its index is one past the last. */
  return api_event_format(out, cap, len, "block", b->header.height, b->tx_count, data);
}

int api_event_tx(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                 const struct hash32 *hash, const char *contract, const char *method, int result) {
  char hex[65];
  base_hash_hex(hex, hash);
  char data[320];
  int n = snprintf(data, sizeof(data),
                   "{\"hash\":\"%s\",\"height\":%llu,\"index\":%u,\"contract\":\"%s\","
                   "\"method\":\"%s\",\"result\":\"%s\"}",
                   hex, (unsigned long long)height, (unsigned)index, contract, method,
                   api_result_name(result));
  if (n < 0 || (size_t)n >= sizeof(data)) {
    return ERR_OVERSIZE;
  }
  return api_event_format(out, cap, len, "tx", height, index, data);
}

int api_event_consent(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                      const struct api_consent_change *cc) {
  char id[65];
  char patient[65];
  char grantee[65];
  base_hash_hex(id, &cc->consent);
  base_hash_hex(patient, &cc->patient);
  base_hash_hex(grantee, &cc->grantee);
  char data[320];
  snprintf(data, sizeof(data),
           "{\"consent\":\"%s\",\"patient\":\"%s\",\"grantee\":\"%s\",\"status\":\"%s\","
           "\"height\":%llu}",
           id, patient, grantee, cc->revoked ? "revoked" : "active", (unsigned long long)height);
  return api_event_format(out, cap, len, "consent", height, index, data);
}

int api_event_access(char *out, size_t cap, size_t *len, uint64_t height, uint32_t index,
                     const struct codec_schema *s, const struct codec_value *f) {
  char id[65], record[65], accessor[65], node[65];
  base_hash_hex(id, &f[codec_schema_find(s, "id")].id);
  base_hash_hex(record, &f[codec_schema_find(s, "record")].id);
  base_hash_hex(accessor, &f[codec_schema_find(s, "accessor")].id);
  base_hash_hex(node, &f[codec_schema_find(s, "node")].id);
  struct bytes purpose = f[codec_schema_find(s, "purpose")].bytes;
  struct bytes outcome = f[codec_schema_find(s, "outcome")].bytes;
  bool emergency = f[codec_schema_find(s, "emergency")].u64 != 0;
  char data[API_EVENT_TEXT_MAX];
  /* Labels are printable ASCII without quotes or backslashes (the
   * contracts' rule), so they go into JSON as they are. */
  int n = snprintf(data, sizeof(data),
                   "{\"audit\":\"%s\",\"record\":\"%s\",\"accessor\":\"%s\",\"purpose\":\"%.*s\","
                   "\"emergency\":%s,\"outcome\":\"%.*s\",\"node\":\"%s\",\"height\":%llu}",
                   id, record, accessor, (int)purpose.len, (const char *)purpose.ptr,
                   emergency ? "true" : "false", (int)outcome.len, (const char *)outcome.ptr, node,
                   (unsigned long long)height);
  if (n < 0 || (size_t)n >= sizeof(data)) {
    return ERR_OVERSIZE;
  }
  return api_event_format(out, cap, len, "access", height, index, data);
}

/* ---- consent changes ------------------------------------------------------ */

static bool bytes_is(struct bytes b, const char *s) {
  size_t n = strlen(s);
  return b.len == n && memcmp(b.ptr, s, n) == 0;
}

/* The consent a revoke names, read from the committed state. */
static int consent_load(struct node *n, const struct hash32 *id, struct api_consent_change *out) {
  struct node_view *v = NULL;
  int rc = n == NULL ? ERR_UNAVAILABLE : node_view_begin(n, &v);
  if (rc != OK) {
    return rc;
  }
  const struct codec_schema *schema = ctr_kind_schema(CTR_CONSENT);
  struct codec_value vals[LIM_FIELDS_MAX];
  struct bytes val = {0};
  rc = ctr_get(node_view_state(v), CTR_CONSENT, id, &val);
  if (rc == OK) {
    rc = codec_record_decode(schema, vals, val.ptr, val.len);
  }
  int pi = codec_schema_find(schema, "patient");
  int gi = codec_schema_find(schema, "grantee");
  assert(pi >= 0 && gi >= 0);
  if (rc == OK) {
    out->consent = *id;
    out->patient = vals[pi].id;
    out->grantee = vals[gi].id;
    out->revoked = true;
  }
  node_view_end(v);
  return rc;
}

int api_consent_change(struct node *n, const struct tx *tx, const struct hash32 *tx_hash,
                       struct api_consent_change *out) {
  if (!bytes_is(tx->contract, "consent")) {
    return ERR_NOT_FOUND;
  }
  bool grant = bytes_is(tx->method, "grant");
  if (!grant && !bytes_is(tx->method, "revoke")) {
    return ERR_NOT_FOUND;
  }
  const struct ctr_method *m = ctr_method_find(tx->contract, tx->method);
  assert(m != NULL && m->args->nfields <= LIM_FIELDS_MAX);
  struct codec_value vals[LIM_FIELDS_MAX];
  int rc = codec_record_decode(m->args, vals, tx->args.ptr, tx->args.len);
  if (rc != OK) {
    return rc;
  }
  if (!grant) {
    int ci = codec_schema_find(m->args, "consent");
    assert(ci >= 0);
    return consent_load(n, &vals[ci].id, out);
  }
  int pi = codec_schema_find(m->args, "patient");
  int gi = codec_schema_find(m->args, "grantee");
  assert(pi >= 0 && gi >= 0);
  cry_hash_tagged(&out->consent, "medchain.consent.v1", tx_hash->b, sizeof(tx_hash->b));
  out->patient = vals[pi].id;
  out->grantee = vals[gi].id;
  out->revoked = false;
  return OK;
}

/* ---- publishing ------------------------------------------------------------ */

static void hub_push(struct api_events *h, enum ev_kind kind, const struct hash32 *patient,
                     const char *text, size_t len) {
  assert(len > 0 && len < API_EVENT_TEXT_MAX);
  pthread_mutex_lock(&h->mu);
  struct ev_slot *s = &h->ring[h->seq_next % API_EVENTS_BACKLOG];
  s->seq = h->seq_next;
  s->kind = kind;
  s->patient = patient != NULL ? *patient : (struct hash32){{0}};
  s->len = (uint16_t)len;
  memcpy(s->text, text, len);
  h->seq_next++;
  pthread_mutex_unlock(&h->mu);
}

/* "access" events: one per audit entry transaction i wrote. */
static void publish_access(struct api_events *h, const struct tx *tx, const struct hash32 *hash,
                           uint64_t height, uint32_t i) {
  if (!bytes_is(tx->contract, "audit") || h->node == NULL) {
    return;
  }
  bool batch = bytes_is(tx->method, "log_batch");
  if (!batch && !bytes_is(tx->method, "log")) {
    return;
  }
  const struct ctr_method *m = ctr_method_find(tx->contract, tx->method);
  struct codec_value a[LIM_FIELDS_MAX];
  if (m == NULL || codec_record_decode(m->args, a, tx->args.ptr, tx->args.len) != OK) {
    return;
  }
  uint32_t n = batch ? (uint32_t)(a[1].bytes.len / CTR_AUDIT_ENTRY_BYTES) : 1;
  struct node_view *v = NULL;
  if (node_view_begin(h->node, &v) != OK) {
    return;
  }
  const struct codec_schema *s = ctr_kind_schema(CTR_AUDIT);
  for (uint32_t k = 0; k < n; k++) {
    struct hash32 id;
    ctr_audit_id(&id, hash, batch, k);
    struct bytes val;
    struct codec_value f[LIM_FIELDS_MAX];
    if (ctr_get(node_view_state(v), CTR_AUDIT, &id, &val) != OK ||
        codec_record_decode(s, f, val.ptr, val.len) != OK) {
      continue;
    }
    char text[API_EVENT_TEXT_MAX];
    size_t len = 0;
    struct hash32 patient = f[codec_schema_find(s, "patient")].id;
    if (api_event_access(text, sizeof(text), &len, height, i, s, f) == OK) {
      hub_push(h, EV_ACCESS, &patient, text, len);
    }
  }
  node_view_end(v);
}

/* The events of transaction i: tx, and consent when it changed one. */
static void publish_tx(struct api_events *h, const struct block *b, uint32_t i, int result) {
  char text[API_EVENT_TEXT_MAX];
  size_t len = 0;
  struct tx tx;
  if (codec_tx_decode(&tx, b->txs[i].ptr, b->txs[i].len) != OK) {
    assert(false && "a committed transaction decodes");
    return;
  }
  struct hash32 hash;
  codec_tx_hash(&hash, b->txs[i].ptr, b->txs[i].len);
  const struct ctr_method *m = ctr_method_find(tx.contract, tx.method);
  const char *contract = m != NULL ? m->contract : "";
  const char *method = m != NULL ? m->method : "";
  uint64_t height = b->header.height;
  if (api_event_tx(text, sizeof(text), &len, height, i, &hash, contract, method, result) == OK) {
    hub_push(h, EV_TX, NULL, text, len);
  }
  if (result == OK) {
    publish_access(h, &tx, &hash, height, i);
  }
  struct api_consent_change cc;
  if (result != OK || api_consent_change(h->node, &tx, &hash, &cc) != OK) {
    return;
  }
  if (api_event_consent(text, sizeof(text), &len, height, i, &cc) == OK) {
    hub_push(h, EV_CONSENT, &cc.patient, text, len);
  }
}

void api_events_on_commit(void *ctx, const struct block *b, const uint16_t *results) {
  struct api_events *h = ctx;
  assert(h != NULL && b != NULL);
  assert(b->tx_count <= LIM_BLOCK_TXS_MAX);
  for (uint32_t i = 0; i < b->tx_count; i++) {
    publish_tx(h, b, i, results != NULL ? (int)results[i] : OK);
  }
  char text[API_EVENT_TEXT_MAX];
  size_t len = 0;
  if (api_event_block(text, sizeof(text), &len, b) == OK) {
    hub_push(h, EV_BLOCK, NULL, text, len);
  }
  pthread_mutex_lock(&h->mu);
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

/* ---- lifecycle ---------------------------------------------------------------- */

int api_events_create(struct api_events **out, struct node *n) {
  *out = NULL;
  struct api_events *h = calloc(1, sizeof(*h));
  if (h == NULL) {
    return ERR_NOMEM;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int cv_rc = pthread_cond_init(&h->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (cv_rc != 0) {
    free(h);
    return ERR_NOMEM;
  }
  pthread_mutex_init(&h->mu, NULL);
  h->node = n;
  *out = h;
  return OK;
}

void api_events_stop(struct api_events *h) {
  if (h == NULL) {
    return;
  }
  pthread_mutex_lock(&h->mu);
  h->stopping = true;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

void api_events_destroy(struct api_events *h) {
  if (h == NULL) {
    return;
  }
  assert(h->nsubs == 0 && "every stream ended before the hub goes");
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

/* ---- subscribers -------------------------------------------------------------- */

static void sub_set(struct api_sub *s, const char *text, size_t len) {
  assert(s->len == s->off && len <= sizeof(s->buf));
  memcpy(s->buf, text, len);
  s->off = 0;
  s->len = len;
}

int api_events_subscribe(struct api_events *h, const struct hash32 *patient, struct api_sub **out) {
  static const char retry[] = "retry: 2000\n\n";
  *out = NULL;
  pthread_mutex_lock(&h->mu);
  int rc = h->stopping ? ERR_UNAVAILABLE : ERR_LIMIT;
  for (size_t i = 0; rc == ERR_LIMIT && i < ARRAY_LEN(h->subs); i++) {
    struct api_sub *s = &h->subs[i];
    if (s->used) {
      continue;
    }
    memset(s, 0, sizeof(*s));
    s->hub = h;
    s->used = true;
    s->by_patient = patient != NULL;
    s->patient = patient != NULL ? *patient : (struct hash32){{0}};
    s->next = h->seq_next;
    s->last_write_ms = mono_ms();
    sub_set(s, retry, sizeof(retry) - 1);
    h->nsubs++;
    *out = s;
    rc = OK;
  }
  pthread_mutex_unlock(&h->mu);
  /* Full: the caller answers 503, a client may try again later. */
  return rc == ERR_LIMIT ? ERR_UNAVAILABLE : rc;
}

void api_events_unsubscribe(struct api_sub *s) {
  if (s == NULL) {
    return;
  }
  struct api_events *h = s->hub;
  pthread_mutex_lock(&h->mu);
  assert(s->used && h->nsubs > 0);
  s->used = false;
  h->nsubs--;
  pthread_mutex_unlock(&h->mu);
}

uint32_t api_events_subscribers(struct api_events *h) {
  pthread_mutex_lock(&h->mu);
  uint32_t n = h->nsubs;
  pthread_mutex_unlock(&h->mu);
  return n;
}

static bool sub_wants(const struct api_sub *s, const struct ev_slot *e) {
  switch (e->kind) {
  case EV_BLOCK:
    return true;
  case EV_TX:
    return !s->by_patient;
  case EV_CONSENT:
  case EV_ACCESS:
    return s->by_patient && base_hash_eq(&s->patient, &e->patient);
  }
  return false;
}

/* Under the lock: loads the next wanted event (or the overflow notice) into
 * s->buf. Returns false when nothing is there yet. */
static bool sub_load_locked(struct api_sub *s) {
  static const char overflow[] = "event: overflow\ndata: {}\n\n";
  struct api_events *h = s->hub;
  assert(s->next <= h->seq_next);
  if (h->seq_next - s->next > API_EVENTS_BACKLOG) {
    sub_set(s, overflow, sizeof(overflow) - 1);
    s->ending = true;
    return true;
  }
  while (s->next < h->seq_next) {
    const struct ev_slot *e = &h->ring[s->next % API_EVENTS_BACKLOG];
    assert(e->seq == s->next);
    s->next++;
    if (sub_wants(s, e)) {
      sub_set(s, e->text, e->len);
      return true;
    }
  }
  return false;
}

/* A patient's stream stays its reader's only while the reader may read the
 * patient's data: a removed guardian, a rotated key, a suspension or a
 * suspended organization end the stream at its next event. */
static bool sub_still_allowed(const struct api_sub *s) {
  struct node_view *v = NULL;
  if (node_view_begin(s->hub->node, &v) != OK) {
    return false;
  }
  struct state *st = node_view_state(v);
  struct hash32 who;
  bool ok = ctr_reader_identify(st, &s->reader_pk, &who) == OK && base_hash_eq(&who, &s->reader) &&
            ctr_read_patient(st, &who, &s->patient) == OK;
  node_view_end(v);
  return ok;
}

/* sub_load_locked, then for a signed stream the reader's right, again. */
static bool sub_load_checked_locked(struct api_sub *s) {
  static const char refused[] = "event: unauthorized\ndata: {}\n\n";
  if (!sub_load_locked(s)) {
    return false;
  }
  if (s->has_reader && !s->ending && !sub_still_allowed(s)) {
    s->off = s->len; /* the event does not go out */
    sub_set(s, refused, sizeof(refused) - 1);
    s->ending = true;
  }
  return true;
}

void api_events_set_reader(struct api_sub *s, const struct hash32 *reader,
                           const struct pubkey *pk) {
  struct api_events *h = s->hub;
  pthread_mutex_lock(&h->mu);
  assert(s->used && s->by_patient);
  s->has_reader = true;
  s->reader = *reader;
  s->reader_pk = *pk;
  pthread_mutex_unlock(&h->mu);
}

static void cv_wait_ms(struct api_events *h, uint32_t wait_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t ns = (uint64_t)ts.tv_nsec + (uint64_t)wait_ms * 1000000u;
  ts.tv_sec += (time_t)(ns / 1000000000u);
  ts.tv_nsec = (long)(ns % 1000000000u);
  int rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
  assert(rc == 0 || rc == ETIMEDOUT);
  (void)rc;
}

ssize_t api_events_read(struct api_sub *s, char *buf, size_t max, uint32_t wait_ms) {
  static const char keepalive[] = ": keep-alive\n\n";
  assert(s != NULL && s->used && buf != NULL && max > 0);
  struct api_events *h = s->hub;
  pthread_mutex_lock(&h->mu);
  ssize_t n = -1;
  if (h->stopping) {
    goto done;
  }
  if (s->off == s->len && s->ending) {
    goto done;
  }
  if (s->off == s->len && !s->ending && !sub_load_checked_locked(s)) {
    cv_wait_ms(h, wait_ms);
    if (h->stopping) {
      goto done;
    }
    if (!sub_load_checked_locked(s) && mono_ms() - s->last_write_ms >= API_EVENTS_KEEPALIVE_MS) {
      sub_set(s, keepalive, sizeof(keepalive) - 1);
    }
  }
  size_t k = s->len - s->off < max ? s->len - s->off : max;
  memcpy(buf, s->buf + s->off, k);
  s->off += k;
  if (k > 0) {
    s->last_write_ms = mono_ms();
  }
  n = (ssize_t)k;
done:
  pthread_mutex_unlock(&h->mu);
  return n;
}

/* ---- the route ------------------------------------------------------------------ */

/* One patient's consent changes are patient data: the stream answers the
 * same signed readers as GET /v1/consents?patient=ID (auth.c). */
static int events_authorize(struct api_ctx *c, const struct hash32 *patient, struct hash32 *reader,
                            struct pubkey *pk) {
  struct node_view *v = NULL;
  int rc = api_view_open(c, &v);
  if (rc != OK) {
    return rc;
  }
  struct state *st = node_view_state(v);
  rc = api_auth_reader(c, st, reader);
  if (rc == OK) {
    rc = api_auth_list(st, CTR_BY_PATIENT, patient, reader);
  }
  /* The reader signed with its current key: keep it for the re-checks. */
  struct bytes val = {NULL, 0};
  if (rc == OK) {
    rc = ctr_get(st, CTR_IDENTITY, reader, &val);
  }
  struct codec_value vals[LIM_FIELDS_MAX];
  const struct codec_schema *schema = ctr_kind_schema(CTR_IDENTITY);
  if (rc == OK) {
    rc = codec_record_decode(schema, vals, val.ptr, val.len) == OK ? OK : ERR_CORRUPT;
  }
  if (rc == OK) {
    int i = codec_schema_find(schema, "sign_pk");
    assert(i >= 0);
    memcpy(pk->b, vals[i].id.b, sizeof(pk->b));
  }
  node_view_end(v);
  return rc;
}

int api_h_events(struct api_ctx *c) {
  struct hash32 patient;
  bool by_patient = false;
  int rc = api_query_id(c, "patient", &patient, &by_patient);
  if (rc != OK) {
    return rc;
  }
  struct api_stream *st = c->req->stream;
  if (c->node == NULL || st == NULL || st->hub == NULL) {
    return ERR_UNAVAILABLE;
  }
  struct hash32 reader;
  struct pubkey reader_pk;
  if (by_patient) {
    rc = events_authorize(c, &patient, &reader, &reader_pk);
    if (rc != OK) {
      return rc;
    }
  }
  assert(st->sub == NULL);
  rc = api_events_subscribe(st->hub, by_patient ? &patient : NULL, &st->sub);
  if (rc != OK) {
    return rc;
  }
  if (by_patient) {
    api_events_set_reader(st->sub, &reader, &reader_pk);
  }

  /* The server streams from st->sub; this text is only what a plain
   * reply would carry. */
  static const char retry[] = "retry: 2000\n\n";
  c->text = strdup(retry);
  if (c->text == NULL) {
    api_events_unsubscribe(st->sub);
    st->sub = NULL;
    return ERR_NOMEM;
  }
  c->text_len = sizeof(retry) - 1;
  c->content_type = "text/event-stream";
  return OK;
}
