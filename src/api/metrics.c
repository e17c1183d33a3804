/*
 * metrics — request counters by route pattern and HTTP status, and the
 * Prometheus text of GET /metrics.
 *
 * The table is fixed at build time (route slots x status slots) and each
 * cell is a relaxed atomic: connection threads count without a lock, and a
 * scrape reads each cell once. Statuses outside the known list share one
 * "other" slot so the table never grows with what clients send. Labels are
 * route patterns, never raw paths, so no id reaches a metric.
 *
 * The node's series come from node_status, node_rejections and
 * node_block_histogram at scrape time; the block-time histogram keeps its
 * buckets in the node (fixed, atomic) and is made cumulative here, as the
 * text format wants. Every series has its HELP and TYPE lines, even when it
 * has no sample yet.
 */
#include "api/api_internal.h"

#include "blobstore/blobstore.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

/* The statuses the API answers with; slot 0 is "other". */
static const int statuses[] = {0,   200, 202, 304, 400, 401, 403, 404, 405,
                               409, 410, 413, 422, 431, 500, 503, 504, 507};
_Static_assert(ARRAY_LEN(statuses) <= API_STATUS_SLOTS, "one counter per status");

void api_metrics_init(struct api_metrics *m) {
  for (size_t r = 0; r < API_ROUTE_SLOTS; r++) {
    for (size_t s = 0; s < API_STATUS_SLOTS; s++) {
      atomic_init(&m->counts[r][s], 0);
    }
  }
}

static size_t status_slot(int status) {
  for (size_t i = 1; i < ARRAY_LEN(statuses); i++) {
    if (statuses[i] == status) {
      return i;
    }
  }
  return 0;
}

void api_metrics_count(struct api_metrics *m, size_t route, int status) {
  assert(route < API_ROUTE_SLOTS);
  atomic_fetch_add_explicit(&m->counts[route][status_slot(status)], 1, memory_order_relaxed);
}

void api_metrics_each(struct api_metrics *m, api_metrics_fn fn, void *ctx) {
  for (size_t r = 0; r < API_ROUTE_SLOTS; r++) {
    const char *pattern = api_route_pattern(r);
    if (pattern == NULL) {
      break;
    }
    for (size_t s = 0; s < ARRAY_LEN(statuses); s++) {
      uint64_t v = atomic_load_explicit(&m->counts[r][s], memory_order_relaxed);
      if (v > 0) {
        fn(ctx, pattern, statuses[s], v);
      }
    }
  }
}

/* ---- GET /metrics ------------------------------------------------------------ */

static void print_http_counter(void *ctx, const char *route, int status, uint64_t count) {
  FILE *f = ctx;
  /* Patterns hold only [a-z0-9/{}_], nothing a label needs escaped. */
  if (status == 0) {
    fprintf(f, "medchain_http_requests_total{route=\"%s\",status=\"other\"} %llu\n", route,
            (unsigned long long)count);
  } else {
    fprintf(f, "medchain_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n", route, status,
            (unsigned long long)count);
  }
}

/* Microseconds as decimal seconds, exactly. */
static void print_seconds(FILE *f, uint64_t us) {
  fprintf(f, "%llu.%06llu", (unsigned long long)(us / 1000000u),
          (unsigned long long)(us % 1000000u));
}

/* A bucket bound as Prometheus clients write it: "0.0025", "1". */
static void print_le(FILE *f, uint64_t us) {
  char frac[8];
  int len = snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)(us % 1000000u));
  assert(len == 6);
  while (len > 0 && frac[len - 1] == '0') {
    frac[--len] = '\0';
  }
  fprintf(f, "%llu%s%s", (unsigned long long)(us / 1000000u), len > 0 ? "." : "", frac);
}

static void print_block_histogram(FILE *f, struct node *n) {
  uint64_t counts[NODE_BLOCK_BUCKETS];
  uint64_t sum_us = 0;
  node_block_histogram(n, counts, &sum_us);
  fprintf(f, "# HELP medchain_block_seconds Time from the start of each height to its "
             "durable commit (consensus rounds included).\n"
             "# TYPE medchain_block_seconds histogram\n");
  uint64_t total = 0;
  for (size_t i = 0; i < NODE_BLOCK_BUCKETS; i++) {
    total += counts[i];
    if (i < NODE_BLOCK_BUCKETS - 1) {
      fprintf(f, "medchain_block_seconds_bucket{le=\"");
      print_le(f, node_block_bucket_us[i]);
      fprintf(f, "\"} %llu\n", (unsigned long long)total);
    } else {
      fprintf(f, "medchain_block_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)total);
    }
  }
  fprintf(f, "medchain_block_seconds_sum ");
  print_seconds(f, sum_us);
  fprintf(f, "\nmedchain_block_seconds_count %llu\n", (unsigned long long)total);
}

/* Blocks, peers and uptime. */
static void print_chain(FILE *f, const struct node_status *st, uint64_t now_ms) {
  fprintf(f,
          "# HELP medchain_blocks_committed_total Blocks this node committed since start.\n"
          "# TYPE medchain_blocks_committed_total counter\nmedchain_blocks_committed_total %llu\n",
          (unsigned long long)st->blocks_committed);
  fprintf(f,
          "# HELP medchain_peers Validators connected over p2p.\n"
          "# TYPE medchain_peers gauge\nmedchain_peers %u\n",
          (unsigned)st->peers);
  fprintf(f,
          "# HELP medchain_consensus_round Consensus round of the height being decided.\n"
          "# TYPE medchain_consensus_round gauge\nmedchain_consensus_round %u\n",
          (unsigned)st->round);
  fprintf(f,
          "# HELP medchain_catching_up 1 while a peer reports a height beyond ours + 1.\n"
          "# TYPE medchain_catching_up gauge\nmedchain_catching_up %d\n",
          st->catching_up ? 1 : 0);
  uint64_t up_ms = now_ms > st->started_ms ? now_ms - st->started_ms : 0;
  fprintf(f, "# HELP medchain_uptime_seconds Seconds since the node started.\n"
             "# TYPE medchain_uptime_seconds gauge\nmedchain_uptime_seconds ");
  print_seconds(f, up_ms * 1000u);
  fprintf(f, "\n");
}

/* Consensus and network counters. */
static void print_net(FILE *f, const struct node_status *st, const struct node_net_stats *ns) {
  fprintf(f,
          "# HELP medchain_consensus_rounds_total Rounds used by decided heights (1 each "
          "when every height decides in round 0).\n"
          "# TYPE medchain_consensus_rounds_total counter\n"
          "medchain_consensus_rounds_total %llu\n"
          "# HELP medchain_consensus_heights_total Heights decided by consensus since start.\n"
          "# TYPE medchain_consensus_heights_total counter\n"
          "medchain_consensus_heights_total %llu\n",
          (unsigned long long)ns->rounds_sum, (unsigned long long)ns->heights_decided);
  fprintf(f,
          "# HELP medchain_blocks_synced_total Blocks fetched from peers by block sync.\n"
          "# TYPE medchain_blocks_synced_total counter\nmedchain_blocks_synced_total %llu\n",
          (unsigned long long)ns->blocks_synced);
  fprintf(f, "# HELP medchain_peer_messages_dropped_total Messages from peers dropped, by "
             "reason.\n# TYPE medchain_peer_messages_dropped_total counter\n");
  for (int i = 0; i < NODE_DROP_COUNT_; i++) {
    fprintf(f, "medchain_peer_messages_dropped_total{reason=\"%s\"} %llu\n", node_drop_name(i),
            (unsigned long long)ns->drops[i]);
  }
  fprintf(f, "# HELP medchain_equivocations_total Conflicting signed messages seen, by "
             "validator index.\n# TYPE medchain_equivocations_total counter\n");
  for (uint32_t i = 0; i < st->nvalidators; i++) {
    if (ns->equivocations[i] > 0) {
      fprintf(f, "medchain_equivocations_total{validator=\"%u\"} %llu\n", (unsigned)i,
              (unsigned long long)ns->equivocations[i]);
    }
  }
  if (!ns->have_p2p) {
    return;
  }
  fprintf(f, "# HELP medchain_p2p_dropped_total Connections closed or frames refused by the "
             "transport, by reason.\n# TYPE medchain_p2p_dropped_total counter\n");
  for (int i = 0; i < P2P_DROP_COUNT_; i++) {
    fprintf(f, "medchain_p2p_dropped_total{reason=\"%s\"} %llu\n", p2p_drop_name(i),
            (unsigned long long)ns->p2p.dropped[i]);
  }
  fprintf(f,
          "# HELP medchain_p2p_bytes_total Bytes on the wire between validators.\n"
          "# TYPE medchain_p2p_bytes_total counter\n"
          "medchain_p2p_bytes_total{direction=\"in\"} %llu\n"
          "medchain_p2p_bytes_total{direction=\"out\"} %llu\n",
          (unsigned long long)ns->p2p.bytes_in, (unsigned long long)ns->p2p.bytes_out);
}

static void print_node(FILE *f, const struct node_status *st, const uint64_t *rejected) {
  fprintf(f,
          "# HELP medchain_height Height of the last committed block.\n"
          "# TYPE medchain_height gauge\nmedchain_height %llu\n",
          (unsigned long long)st->height);
  fprintf(f,
          "# HELP medchain_txs_committed_total Transactions committed since start.\n"
          "# TYPE medchain_txs_committed_total counter\nmedchain_txs_committed_total %llu\n",
          (unsigned long long)st->txs_committed);
  fprintf(f, "# HELP medchain_txs_rejected_total Submissions rejected since start, by code.\n"
             "# TYPE medchain_txs_rejected_total counter\n");
  for (int code = 0; code < ERR_COUNT_; code++) {
    if (rejected[code] > 0) {
      fprintf(f, "medchain_txs_rejected_total{code=\"%s\"} %llu\n", err_name(code),
              (unsigned long long)rejected[code]);
    }
  }
  fprintf(f,
          "# HELP medchain_mempool_txs Transactions waiting in the mempool.\n"
          "# TYPE medchain_mempool_txs gauge\nmedchain_mempool_txs %llu\n",
          (unsigned long long)st->mempool_txs);
  fprintf(f,
          "# HELP medchain_mempool_bytes Bytes of transactions in the mempool.\n"
          "# TYPE medchain_mempool_bytes gauge\nmedchain_mempool_bytes %llu\n",
          (unsigned long long)st->mempool_bytes);
}

/* The blob store: what it holds and what it did since start. */
static void print_blobs(FILE *f, struct node *n) {
  struct blob_stats bs;
  blob_stats(node_blobs(n), &bs);
  fprintf(f,
          "# HELP medchain_blobs Record ciphertexts in this node's blob store.\n"
          "# TYPE medchain_blobs gauge\nmedchain_blobs %llu\n"
          "# HELP medchain_blob_bytes Bytes of ciphertext in this node's blob store.\n"
          "# TYPE medchain_blob_bytes gauge\nmedchain_blob_bytes %llu\n",
          (unsigned long long)bs.count, (unsigned long long)bs.bytes);
  fprintf(f,
          "# HELP medchain_blob_ops_total Blob store operations since start.\n"
          "# TYPE medchain_blob_ops_total counter\n"
          "medchain_blob_ops_total{op=\"put\"} %llu\n"
          "medchain_blob_ops_total{op=\"get\"} %llu\n"
          "medchain_blob_ops_total{op=\"delete\"} %llu\n"
          "medchain_blob_ops_total{op=\"corrupt\"} %llu\n",
          (unsigned long long)bs.puts, (unsigned long long)bs.gets, (unsigned long long)bs.deletes,
          (unsigned long long)bs.corrupt);
}

int api_h_metrics(struct api_ctx *c) {
  if (c->node == NULL) {
    return ERR_UNAVAILABLE;
  }
  struct node_status *st = malloc(sizeof(*st));
  uint64_t *rejected = calloc(ERR_COUNT_, sizeof(uint64_t));
  char *text = NULL;
  size_t len = 0;
  FILE *f = NULL;
  int rc = st == NULL || rejected == NULL ? ERR_NOMEM : node_status(c->node, st);
  if (rc != OK) {
    goto fail;
  }
  node_rejections(c->node, rejected);
  f = open_memstream(&text, &len);
  if (f == NULL) {
    rc = ERR_NOMEM;
    goto fail;
  }
  print_node(f, st, rejected);
  print_chain(f, st, base_now_ms());
  struct node_net_stats *ns = malloc(sizeof *ns);
  if (ns != NULL) {
    node_net_stats(c->node, ns);
    print_net(f, st, ns);
    free(ns);
  }
  print_block_histogram(f, c->node);
  print_blobs(f, c->node);
  fprintf(f, "# HELP medchain_http_requests_total HTTP requests by route and status.\n"
             "# TYPE medchain_http_requests_total counter\n");
  if (c->metrics != NULL) {
    api_metrics_each(c->metrics, print_http_counter, f);
  }
  bool failed = ferror(f) != 0;
  if (fclose(f) != 0 || failed) {
    rc = ERR_NOMEM;
    goto fail;
  }
  c->text = text;
  c->text_len = len;
  c->content_type = "text/plain; version=0.0.4; charset=utf-8";
  free(rejected);
  free(st);
  return OK;
fail:
  free(text);
  free(rejected);
  free(st);
  return rc;
}
