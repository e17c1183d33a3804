/*
 * bench — committed transactions per second on a throwaway local network.
 *
 *   medchain bench [--nodes N] [--txs N] [--clients C] [--rate R] [--json] [--keep]
 *   medchain bench --target URL[,URL...] --dir TESTNET_DIR [--duration S] [--clients C]
 *                  [--rate R] [--json]
 *
 * What it does, in order:
 *  1. a 1-node testnet in a fresh mkdtemp directory (the `testnet init`
 *     code path), its node started as our child process (same binary,
 *     `node --home`), on a free loopback port;
 *  2. C patients with deterministic keys (cry_keys_from_seed), enrolled by
 *     the first founding organization's admin;
 *  3. N transactions pre-signed before any timing: client i is patient i
 *     calling consent.grant (to the admin, for a category, expiring far in
 *     the future) with nonces 1, 2, ...: a call that succeeds every time and
 *     writes a new consent, so every transaction does real state work;
 *  4. the timed phase: C threads, each with its own keep-alive HTTP client,
 *     submit their transactions (raw bytes, application/octet-stream) one
 *     after another with ?wait=commit,
 *     recording each one's latency on the monotonic clock; throughput is N
 *     over the time from the first submission to the last commit. With
 *     --rate R the submissions are paced (open loop): the k-th of all
 *     starts k/R seconds after the first, so latency is measured at a
 *     chosen load instead of at saturation;
 *  5. figures of the same run: the node's peak RSS (VmHWM), bytes on disk
 *     per transaction = growth of HOME/data/data.mdb's allocated blocks
 *     (st_blocks * 512, so LMDB's sparse map does not count) over the timed
 *     phase divided by N, and the machine's Ed25519 verification rate
 *     (cry_bench_verify_per_s on every core) which bounds any design that
 *     verifies each transaction once: bound_tx_per_s = verify_per_s / nodes.
 * Then the node is stopped (SIGTERM) and the directory removed unless --keep.
 *
 * With --target the benchmark drives a network that is already running:
 * the founding admin's key comes from TESTNET_DIR/keys (the first
 * *-admin.key in name order), patients are fresh random keys enrolled for
 * this run, clients spread over the URLs, and the timed phase ends after
 * --duration seconds (default 10): throughput counts what committed by
 * then. Disk and memory figures are the nodes' business there (0).
 *
 * With --nodes N every node of the testnet runs on this machine as a
 * validator; client i submits to node i mod N, so every node admits and
 * gossips its share, and every transaction is verified once per node.
 */
#include "cli/cli_internal.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLI_BENCH_CLIENTS_MAX 1024
#define CLI_BENCH_TXS_MAX 10000000u
#define CLI_BENCH_UP_TIMEOUT_MS 30000
#define CLI_BENCH_CHAIN_ID "medchain-bench"
#define CLI_BENCH_GAP_RETRIES 400

struct cli_bench_opts {
  uint64_t nodes;
  uint64_t txs;
  uint64_t clients;
  uint64_t rate;      /* tx/s, 0: as fast as the clients go */
  const char *target; /* comma-separated URLs of a running network */
  const char *dir;    /* its testnet directory (keys) */
  uint64_t duration;  /* seconds, with target */
  bool json;
  bool keep;
};

struct cli_bench_client {
  struct cli_bench *b;
  pthread_t thread;
  struct api_client *http;
  size_t index; /* its place among the clients */
  size_t first; /* index of its first transaction in b->txs */
  size_t count;
  uint64_t start_ns; /* its first submission */
  size_t done;       /* answered, from first */
  uint64_t end_ns;   /* its last answer */
  uint64_t failed;
  char fail_code[64];
};

struct cli_bench {
  struct cli_bench_opts o;
  char dir[PATH_MAX];
  char home[NODE_PATH_MAX];
  char url[96];
  pid_t pid;
  char urls[CLI_NODES_MAX][96];
  char homes[CLI_NODES_MAX][NODE_PATH_MAX];
  pid_t pids[CLI_NODES_MAX];
  char chain_id[LIM_CHAIN_ID_MAX + 1];
  uint64_t deadline_ns; /* --target: the timed phase ends here */
  uint64_t done;        /* transactions answered */
  struct cry_keys *admin;
  struct hash32 admin_id;
  struct cry_keys **patients; /* o.clients */
  uint64_t *patient_nonce;    /* next nonce of each patient */
  struct bytes *txs;          /* o.txs signed transactions (malloc'd), client-major */
  uint64_t *lat_ns;           /* o.txs latencies */
  struct cli_bench_client *clients;
  pthread_mutex_t lock; /* guards go and abort_run */
  pthread_cond_t cond;
  bool go;
  bool abort_run;
  uint64_t go_ns; /* when the clients were released */
  /* figures */
  uint64_t wall_ns;
  uint64_t failed;
  uint64_t blocks;
  uint64_t disk_before;
  uint64_t disk_after;
  uint64_t rss_kb;
  double verify_per_s;
  long cores;
};

/* ---- setup ------------------------------------------------------------------ */

static int cli_bench_parse(struct cli_bench_opts *o, int argc, char **argv) {
  *o = (struct cli_bench_opts){.nodes = 1, .txs = 20000, .clients = 64};
  struct cli_opt opts[] = {
      {"nodes", CLI_OPT_U64, &o->nodes, false},       {"txs", CLI_OPT_U64, &o->txs, false},
      {"clients", CLI_OPT_U64, &o->clients, false},   {"json", CLI_OPT_FLAG, &o->json, false},
      {"keep", CLI_OPT_FLAG, &o->keep, false},        {"rate", CLI_OPT_U64, &o->rate, false},
      {"target", CLI_OPT_STR, &o->target, false},     {"dir", CLI_OPT_STR, &o->dir, false},
      {"duration", CLI_OPT_U64, &o->duration, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 0, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("bench", "%s", err);
  }
  if (o->target != NULL) {
    if (o->dir == NULL) {
      return cli_usage("bench", "--target needs --dir, the network's testnet directory (keys)");
    }
    uint64_t urls = 1;
    for (const char *c = o->target; *c != '\0'; c++) {
      urls += *c == ',' ? 1 : 0;
    }
    o->nodes = urls;
    if (o->duration == 0) {
      o->duration = 10;
    }
    if (o->duration > 3600) {
      return cli_usage("bench", "--duration must be at most 3600 seconds");
    }
    /* Enough signed transactions for the duration at the rate asked, or
     * at 5,000 tx/s when unpaced; unused ones are never sent. */
    uint64_t per_s = o->rate > 0 ? o->rate : 5000;
    o->txs = per_s * o->duration;
    if (o->txs > CLI_BENCH_TXS_MAX) {
      o->txs = CLI_BENCH_TXS_MAX;
    }
  }
  if (o->nodes < 1 || o->nodes > CLI_NODES_MAX) {
    return cli_usage("bench", "--nodes must be between 1 and %d", CLI_NODES_MAX);
  }
  if (o->clients < 1 || o->clients > CLI_BENCH_CLIENTS_MAX) {
    return cli_usage("bench", "--clients must be between 1 and %d", CLI_BENCH_CLIENTS_MAX);
  }
  if (o->txs < 1 || o->txs > CLI_BENCH_TXS_MAX) {
    return cli_usage("bench", "--txs must be between 1 and %u", CLI_BENCH_TXS_MAX);
  }
  if (o->txs < o->clients) {
    o->clients = o->txs;
  }
  return CLI_EXIT_OK;
}

/* A loopback port nobody listens on right now (the kernel's choice). */
static int cli_free_port(uint32_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return ERR_IO;
  }
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  int rc = ERR_IO;
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
    *port = ntohs(a.sin_port);
    rc = (*port >= 1024 && *port < 65535) ? OK : ERR_IO;
  }
  close(fd);
  return rc;
}

/* Creates the testnet and loads the first organization's admin key. */
static int cli_bench_net(struct cli_bench *b) {
  struct cli_testnet_spec *spec = malloc(sizeof(*spec));
  if (spec == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  cli_testnet_spec_defaults(spec, b->dir);
  snprintf(spec->chain_id, sizeof(spec->chain_id), "%s", CLI_BENCH_CHAIN_ID);
  spec->nodes = (uint32_t)b->o.nodes;
  int rc = cli_free_port(&spec->base_port);
  if (rc != OK) {
    (void)cli_report(rc, "no free loopback port");
    goto fail;
  }
  rc = cli_testnet_init(spec, NULL);
  if (rc != OK) {
    goto fail;
  }
  for (uint32_t i = 0; i < spec->nodes && rc == OK; i++) {
    cli_api_url(b->urls[i], sizeof(b->urls[i]), "127.0.0.1", (uint16_t)(spec->base_port + 10u * i));
    rc = cli_testnet_home(b->homes[i], sizeof(b->homes[i]), spec->dir, i);
  }
  memcpy(b->url, b->urls[0], sizeof b->url);
  memcpy(b->home, b->homes[0], sizeof b->home);
  char key[NODE_PATH_MAX + 64];
  if (rc == OK) {
    rc = cli_testnet_admin_key(key, sizeof(key), spec->dir, spec->orgs[0].name);
  }
  if (rc == OK) {
    rc = cry_keystore_read(&b->admin, key, NULL);
  }
  if (rc != OK) {
    (void)cli_report(rc, "could not load the founding admin's key");
    goto fail;
  }
  struct pubkey pk;
  cry_keys_sign_pk(b->admin, &pk);
  cry_id_from_pk(&b->admin_id, &pk);
fail:
  free(spec);
  return rc;
}

static int cli_bench_start_node(struct cli_bench *b) {
  char exe[PATH_MAX];
  int rc = cli_self_exe(exe, sizeof(exe));
  if (rc != OK) {
    return cli_report(rc, "cannot find this executable's path");
  }
  for (uint64_t i = 0; i < b->o.nodes; i++) {
    rc = cli_node_spawn(exe, b->homes[i], false, &b->pids[i]);
    if (rc != OK) {
      return cli_report(rc, "could not start node %llu", (unsigned long long)i);
    }
  }
  b->pid = b->pids[0];
  for (uint64_t i = 0; i < b->o.nodes; i++) {
    rc = cli_node_wait_up(b->urls[i], b->pids[i], CLI_BENCH_UP_TIMEOUT_MS);
    if (rc != OK) {
      char log[NODE_PATH_MAX + 16];
      if (rc == ERR_UNAVAILABLE) {
        b->pids[i] = 0; /* exited and reaped */
      }
      (void)cli_report(rc, "the node did not come up at %s", b->urls[i]);
      if (cli_path(log, sizeof(log), b->homes[i], "node.log") == OK) {
        cli_log_tail(log, 15);
      }
      return rc;
    }
  }
  return OK;
}

static void cli_bench_stop_nodes(struct cli_bench *b) {
  for (uint64_t i = 0; i < b->o.nodes; i++) {
    if (b->pids[i] > 0) {
      (void)cli_pid_stop(b->pids[i], 10000);
      b->pids[i] = 0;
    }
  }
  b->pid = 0;
}

/* ---- patients ----------------------------------------------------------------- */

static int cli_bench_patient_keys(struct cli_bench *b) {
  size_t n = (size_t)b->o.clients;
  b->patients = calloc(n, sizeof(*b->patients));
  b->patient_nonce = calloc(n, sizeof(*b->patient_nonce));
  if (b->patients == NULL || b->patient_nonce == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    /* Deterministic: the same patients in every run. */
    uint8_t seed[CRY_SEED_BYTES];
    struct hash32 h;
    char label[64];
    int len = snprintf(label, sizeof(label), "medchain.bench.patient.%zu", i);
    cry_hash(&h, (const uint8_t *)label, (size_t)len);
    memcpy(seed, h.b, sizeof(seed));
    if (b->o.target != NULL) {
      cry_random(seed, sizeof(seed)); /* earlier runs enrolled the fixed ones */
    }
    b->patients[i] = cry_keys_from_seed(seed);
    cry_wipe(seed, sizeof(seed));
    if (b->patients[i] == NULL) {
      return cli_report(ERR_NOMEM, "out of memory");
    }
  }
  return OK;
}

/* The "name=value" strings of a method's arguments, from a lookup of the
 * values the benchmark wants by field name; fields it has no value for are
 * left at their defaults. */
struct cli_bench_arg {
  const char *name;
  const char *value;
};

static int cli_bench_args(const struct ctr_method *m, const struct cli_bench_arg *want,
                          size_t nwant, uint8_t *out, size_t *out_len) {
  char strs[LIM_FIELDS_MAX][160];
  char *argv[LIM_FIELDS_MAX];
  int argc = 0;
  for (uint8_t i = 0; i < m->args->nfields && argc < LIM_FIELDS_MAX; i++) {
    for (size_t k = 0; k < nwant; k++) {
      if (strcmp(m->args->fields[i].name, want[k].name) == 0) {
        snprintf(strs[argc], sizeof(strs[argc]), "%s=%s", want[k].name, want[k].value);
        argv[argc] = strs[argc];
        argc++;
        break;
      }
    }
  }
  char err[256] = "";
  int rc = api_args_from_strings(m->args, argc, argv, out, LIM_ARGS_MAX, out_len, err, sizeof(err));
  if (rc != OK) {
    return cli_report(rc, "%s.%s arguments: %s", m->contract, m->method, err);
  }
  return OK;
}

static const struct ctr_method *cli_bench_method(const char *contract, const char *method) {
  const struct ctr_method *m =
      ctr_method_find((struct bytes){(const uint8_t *)contract, strlen(contract)},
                      (struct bytes){(const uint8_t *)method, strlen(method)});
  if (m == NULL) {
    (void)cli_report(ERR_UNKNOWN_METHOD, "this build has no %s.%s", contract, method);
  }
  return m;
}

/* POSTs body (of content_type); NONCE_GAP (the node's window of future
 * nonces is full) and MEMPOOL_FULL are retried after a pause. res->err gets
 * the outcome. */
static int cli_bench_post(struct api_client *c, const char *path, const char *content_type,
                          struct bytes body, struct cli_tx_result *res) {
  for (int attempt = 0; attempt < CLI_BENCH_GAP_RETRIES; attempt++) {
    struct api_response r;
    memset(&r, 0, sizeof(r));
    int rc = api_client_post(c, path, content_type, body.ptr, body.len, &r);
    if (rc != OK) {
      api_response_free(&r);
      return rc;
    }
    /* A 2xx answer is success (a committed error answers with its error's
     * status); only failures are worth parsing inside the timed loop. */
    if (r.status >= 200 && r.status < 300) {
      memset(res, 0, sizeof(*res));
    } else {
      cli_tx_result_parse(&r, res);
    }
    api_response_free(&r);
    if (res->err != ERR_NONCE_GAP && res->err != ERR_MEMPOOL_FULL) {
      return OK;
    }
    cli_sleep_ms(25);
  }
  return OK;
}

static int cli_bench_next_nonce(struct api_client *c, const struct hash32 *id, uint64_t *nonce) {
  char path[96];
  char hex[65];
  base_hash_hex(hex, id);
  snprintf(path, sizeof(path), "/v1/identities/%s", hex);
  struct api_response r;
  int rc = cli_http_get_ok(c, path, &r);
  if (rc != OK) {
    return rc;
  }
  rc = cli_json_u64(r.body, "next_nonce", nonce);
  api_response_free(&r);
  return rc == OK ? OK : cli_report(ERR_MALFORMED, "the node did not say the next nonce");
}

/* One enrolment per patient, signed by the admin with consecutive nonces;
 * all but the last are submitted without waiting, and the last one waits
 * for its commit, after which the earlier ones (lower nonces) are in. */
static int cli_bench_enrol_all(struct cli_bench *b, struct api_client *c, uint8_t *args,
                               uint8_t *tx) {
  const struct ctr_method *m = cli_bench_method("identity", "enrol_patient");
  uint64_t nonce = 0;
  int rc = m != NULL ? cli_bench_next_nonce(c, &b->admin_id, &nonce) : ERR_UNKNOWN_METHOD;
  for (size_t i = 0; rc == OK && i < b->o.clients; i++) {
    struct cli_key_hex h;
    cli_key_hex(&h, b->patients[i]);
    const struct cli_bench_arg want[] = {{"sign_pk", h.sign_pk}, {"box_pk", h.box_pk}};
    size_t args_len = 0;
    size_t len = 0;
    rc = cli_bench_args(m, want, ARRAY_LEN(want), args, &args_len);
    if (rc == OK) {
      rc = cli_tx_make(b->admin, b->chain_id, nonce + i, m, args, args_len, tx, LIM_TX_BYTES_MAX,
                       &len);
    }
    if (rc != OK) {
      return rc;
    }
    char *body = cli_tx_body(tx, len);
    if (body == NULL) {
      return cli_report(ERR_NOMEM, "out of memory");
    }
    struct cli_tx_result res;
    bool last = i + 1 == b->o.clients;
    struct bytes json = {(const uint8_t *)body, strlen(body)};
    rc =
        cli_bench_post(c, last ? "/v1/txs?wait=commit" : "/v1/txs", "application/json", json, &res);
    free(body);
    if (rc == OK && res.err != OK) {
      rc = cli_report(res.err, "enrolling patient %zu: %s: %s", i, res.code, res.msg);
    } else if (rc != OK) {
      (void)cli_report(rc, "the node cannot be reached");
    }
  }
  return rc;
}

static int cli_bench_patients(struct cli_bench *b) {
  struct api_client *c = NULL;
  uint8_t *args = malloc(LIM_ARGS_MAX);
  uint8_t *tx = malloc(LIM_TX_BYTES_MAX);
  int rc = (args != NULL && tx != NULL) ? cli_bench_patient_keys(b) : ERR_NOMEM;
  if (rc == OK && api_client_create(&c, b->url) != OK) {
    rc = ERR_NOMEM;
  }
  if (rc == OK) {
    rc = cli_bench_enrol_all(b, c, args, tx);
  }
  for (size_t i = 0; rc == OK && i < b->o.clients; i++) {
    struct pubkey pk;
    struct hash32 id;
    cry_keys_sign_pk(b->patients[i], &pk);
    cry_id_from_pk(&id, &pk);
    rc = cli_bench_next_nonce(c, &id, &b->patient_nonce[i]);
  }
  api_client_destroy(c);
  free(tx);
  free(args);
  return rc;
}

/* Every node at node0's height at least (the enrolments committed
 * everywhere), so no node refuses the first transactions as coming from
 * unknown senders. */
static int cli_bench_wait_level(struct cli_bench *b) {
  struct api_client *c = NULL;
  uint64_t target = 0;
  if (api_client_create(&c, b->urls[0]) != OK || cli_node_status(c, &target, NULL, 0) != OK) {
    api_client_destroy(c);
    return cli_report(ERR_UNAVAILABLE, "node0 stopped answering");
  }
  api_client_destroy(c);
  uint64_t deadline = base_mono_ns() + (uint64_t)CLI_BENCH_UP_TIMEOUT_MS * 1000000u;
  for (uint64_t i = 1; i < b->o.nodes; i++) {
    uint64_t h = 0;
    if (api_client_create(&c, b->urls[i]) != OK) {
      return cli_report(ERR_NOMEM, "out of memory");
    }
    while (cli_node_status(c, &h, NULL, 0) == OK && h < target && base_mono_ns() < deadline) {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
    api_client_destroy(c);
    if (h < target) {
      return cli_report(ERR_TIMEOUT, "node %llu did not reach height %llu", (unsigned long long)i,
                        (unsigned long long)target);
    }
  }
  return OK;
}

/* ---- the workload ------------------------------------------------------------- */

/* consent.grant arguments of patient i (the same for all its calls: each
 * call still creates a new consent). */
static int cli_bench_grant_args(const struct cli_bench *b, const struct ctr_method *m, size_t i,
                                uint8_t *args, size_t *args_len) {
  struct cli_key_hex h;
  cli_key_hex(&h, b->patients[i]);
  char grantee[65];
  char expires[24];
  base_hash_hex(grantee, &b->admin_id);
  /* Ten years ahead: never expires during a run. */
  snprintf(expires, sizeof(expires), "%llu",
           (unsigned long long)(base_now_ms() + 10ull * 365 * 24 * 3600 * 1000));
  const struct cli_bench_arg want[] = {
      {"patient", h.id},   {"grantee", grantee},     {"scope", "category"},
      {"category", "lab"}, {"purpose", "treatment"}, {"expires_ms", expires},
  };
  return cli_bench_args(m, want, ARRAY_LEN(want), args, args_len);
}

/* Signs client i's transactions into b->txs from index *next on. They are
 * posted as raw bytes (application/octet-stream), which spares both sides
 * the hex and JSON of the default body inside the timed loop. */
static int cli_bench_presign_client(struct cli_bench *b, const struct ctr_method *m, size_t i,
                                    size_t *next, uint8_t *args, uint8_t *tx) {
  size_t n = (size_t)b->o.txs;
  size_t nc = (size_t)b->o.clients;
  struct cli_bench_client *cl = &b->clients[i];
  cl->b = b;
  cl->first = *next;
  cl->count = n / nc + (i < n % nc ? 1 : 0);
  size_t args_len = 0;
  int rc = cli_bench_grant_args(b, m, i, args, &args_len);
  for (size_t k = 0; rc == OK && k < cl->count; k++) {
    size_t len = 0;
    rc = cli_tx_make(b->patients[i], b->chain_id, b->patient_nonce[i] + k, m, args, args_len, tx,
                     LIM_TX_BYTES_MAX, &len);
    if (rc != OK) {
      return cli_report(rc, "could not sign a benchmark transaction");
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
      return cli_report(ERR_NOMEM, "out of memory");
    }
    memcpy(copy, tx, len);
    b->txs[*next] = (struct bytes){copy, len};
    *next += 1;
  }
  return rc;
}

static int cli_bench_presign(struct cli_bench *b) {
  size_t n = (size_t)b->o.txs;
  size_t nc = (size_t)b->o.clients;
  const struct ctr_method *m = cli_bench_method("consent", "grant");
  if (m == NULL) {
    return ERR_UNKNOWN_METHOD;
  }
  b->txs = calloc(n, sizeof(*b->txs));
  b->lat_ns = calloc(n, sizeof(*b->lat_ns));
  b->clients = calloc(nc, sizeof(*b->clients));
  uint8_t *args = malloc(LIM_ARGS_MAX);
  uint8_t *tx = malloc(LIM_TX_BYTES_MAX);
  int rc = OK;
  if (b->txs == NULL || b->lat_ns == NULL || b->clients == NULL || args == NULL || tx == NULL) {
    rc = cli_report(ERR_NOMEM, "out of memory");
    goto fail;
  }
  size_t next = 0;
  for (size_t i = 0; rc == OK && i < nc; i++) {
    rc = cli_bench_presign_client(b, m, i, &next, args, tx);
  }
fail:
  free(tx);
  free(args);
  return rc;
}

static void *cli_bench_worker(void *arg) {
  struct cli_bench_client *cl = arg;
  struct cli_bench *b = cl->b;
  pthread_mutex_lock(&b->lock);
  while (!b->go && !b->abort_run) {
    pthread_cond_wait(&b->cond, &b->lock);
  }
  bool run = !b->abort_run;
  pthread_mutex_unlock(&b->lock);
  cl->start_ns = base_mono_ns();
  for (size_t k = 0; run && k < cl->count; k++) {
    size_t i = cl->first + k;
    if (b->deadline_ns > 0 && base_mono_ns() >= b->deadline_ns) {
      break;
    }
    if (b->o.rate > 0) {
      uint64_t slot = (uint64_t)(k * b->o.clients + cl->index);
      uint64_t at = b->go_ns + slot * 1000000000ull / b->o.rate;
      uint64_t now = base_mono_ns();
      if (at > now) {
        struct timespec ts = {(time_t)((at - now) / 1000000000ull),
                              (long)((at - now) % 1000000000ull)};
        nanosleep(&ts, NULL);
      }
    }
    struct cli_tx_result res;
    uint64_t t0 = base_mono_ns();
    int rc = cli_bench_post(cl->http, "/v1/txs?wait=commit", "application/octet-stream", b->txs[i],
                            &res);
    b->lat_ns[i] = base_mono_ns() - t0;
    cl->done = k + 1;
    if (rc != OK || res.err != OK) {
      if (cl->failed == 0) {
        snprintf(cl->fail_code, sizeof(cl->fail_code), "%s", rc != OK ? err_name(rc) : res.code);
      }
      cl->failed++;
    }
  }
  cl->end_ns = base_mono_ns();
  return NULL;
}

static void cli_bench_release(struct cli_bench *b, bool abort_run) {
  pthread_mutex_lock(&b->lock);
  b->go_ns = base_mono_ns();
  if (b->o.target != NULL) {
    b->deadline_ns = b->go_ns + b->o.duration * 1000000000ull;
  }
  b->go = !abort_run;
  b->abort_run = abort_run;
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

/* Runs the clients; sets wall_ns and failed. */
static int cli_bench_timed(struct cli_bench *b) {
  size_t nc = (size_t)b->o.clients;
  size_t started = 0;
  int rc = OK;
  for (size_t i = 0; i < nc && rc == OK; i++) {
    b->clients[i].index = i;
    rc = api_client_create(&b->clients[i].http, b->urls[i % b->o.nodes]);
  }
  for (size_t i = 0; i < nc && rc == OK; i++) {
    rc = pthread_create(&b->clients[i].thread, NULL, cli_bench_worker, &b->clients[i]) == 0
             ? OK
             : ERR_NOMEM;
    started += rc == OK ? 1 : 0;
  }
  cli_bench_release(b, rc != OK);
  uint64_t first = UINT64_MAX;
  uint64_t last = 0;
  for (size_t i = 0; i < started; i++) {
    struct cli_bench_client *cl = &b->clients[i];
    pthread_join(cl->thread, NULL);
    first = cl->start_ns < first ? cl->start_ns : first;
    last = cl->end_ns > last ? cl->end_ns : last;
    /* Answered latencies to the front, in client order. */
    memmove(&b->lat_ns[b->done], &b->lat_ns[cl->first], cl->done * sizeof(b->lat_ns[0]));
    b->done += cl->done;
    b->failed += cl->failed;
    if (cl->failed > 0 && b->failed == cl->failed) {
      (void)cli_report(err_from_name(cl->fail_code) >= 0 ? err_from_name(cl->fail_code)
                                                         : ERR_INTERNAL,
                       "a benchmark transaction failed with %s", cl->fail_code);
    }
  }
  for (size_t i = 0; i < nc; i++) {
    api_client_destroy(b->clients[i].http);
    b->clients[i].http = NULL;
  }
  if (rc != OK) {
    return cli_report(rc, "could not start the client threads");
  }
  b->wall_ns = last > first ? last - first : 1;
  return OK;
}

/* ---- figures and output ------------------------------------------------------ */

static int cli_u64_cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a;
  uint64_t y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

struct cli_bench_figures {
  double tx_per_s;
  double p50_ms;
  double p99_ms;
  double bytes_per_tx;
  double rss_mb;
  double bound;
  double ratio;
  double avg_per_block;
  double seconds;
};

static void cli_bench_compute(struct cli_bench *b, struct cli_bench_figures *f) {
  size_t n = (size_t)b->done;
  if (n == 0) {
    n = 1; /* nothing answered: figures of zero, not a division by zero */
    b->lat_ns[0] = 0;
  }
  qsort(b->lat_ns, n, sizeof(*b->lat_ns), cli_u64_cmp);
  f->seconds = (double)b->wall_ns / 1e9;
  f->tx_per_s = (double)(n - b->failed) / f->seconds;
  f->p50_ms = (double)cli_percentile(b->lat_ns, n, 50) / 1e6;
  f->p99_ms = (double)cli_percentile(b->lat_ns, n, 99) / 1e6;
  uint64_t grown = b->disk_after > b->disk_before ? b->disk_after - b->disk_before : 0;
  f->bytes_per_tx = (double)grown / (double)n;
  f->rss_mb = (double)b->rss_kb / 1024.0;
  f->bound = b->verify_per_s / (double)b->o.nodes;
  f->ratio = f->bound > 0 ? f->tx_per_s / f->bound : 0;
  f->avg_per_block = b->blocks > 0 ? (double)n / (double)b->blocks : 0;
}

static void cli_bench_print(struct cli_bench *b) {
  struct cli_bench_figures f;
  cli_bench_compute(b, &f);
  if (b->o.json) {
    printf("{\"nodes\":%llu,\"txs\":%llu,\"clients\":%llu,\"rate\":%llu,"
           "\"committed_tx_per_s\":%.1f,"
           "\"latency_ms_p50\":%.2f,\"latency_ms_p99\":%.2f,\"bytes_per_tx_on_disk\":%.1f,"
           "\"peak_rss_mb\":%.1f,\"verify_per_s\":%.0f,\"bound_tx_per_s\":%.0f,\"ratio\":%.4f,"
           "\"blocks\":%llu,\"avg_txs_per_block\":%.1f,\"cores\":%ld,\"seconds\":%.3f,"
           "\"failed\":%llu}\n",
           (unsigned long long)b->o.nodes, (unsigned long long)b->done,
           (unsigned long long)b->o.clients, (unsigned long long)b->o.rate, f.tx_per_s, f.p50_ms,
           f.p99_ms, f.bytes_per_tx, f.rss_mb, b->verify_per_s, f.bound, f.ratio,
           (unsigned long long)b->blocks, f.avg_per_block, b->cores, f.seconds,
           (unsigned long long)b->failed);
    return;
  }
  printf("medchain bench: %llu node(s), %llu txs (consent.grant) from %llu clients in %.2f s\n",
         (unsigned long long)b->o.nodes, (unsigned long long)b->done,
         (unsigned long long)b->o.clients, f.seconds);
  printf("  committed      %.1f tx/s (%llu failed)\n", f.tx_per_s, (unsigned long long)b->failed);
  printf("  latency        p50 %.2f ms, p99 %.2f ms (submit to commit)\n", f.p50_ms, f.p99_ms);
  printf("  blocks         %llu (%.1f txs per block)\n", (unsigned long long)b->blocks,
         f.avg_per_block);
  printf("  disk           %.1f bytes per tx (data.mdb allocated blocks)\n", f.bytes_per_tx);
  printf("  node peak RSS  %.1f MB\n", f.rss_mb);
  printf("  verify bound   %.0f Ed25519 verifications/s on %ld cores -> %.0f tx/s; ratio %.4f\n",
         b->verify_per_s, b->cores, f.bound, f.ratio);
}

/* --target: the URLs, the chain id, the founding admin's key. */
static int cli_bench_target(struct cli_bench *b) {
  const char *p = b->o.target;
  for (uint64_t i = 0; i < b->o.nodes; i++) {
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof(b->urls[i])) {
      return cli_report(ERR_USAGE, "--target: an empty or overlong URL");
    }
    memcpy(b->urls[i], p, len);
    b->urls[i][len] = '\0';
    p += len + (p[len] == ',' ? 1 : 0);
  }
  memcpy(b->url, b->urls[0], sizeof b->url);
  struct api_client *c = NULL;
  uint64_t h = 0;
  int rc = api_client_create(&c, b->url);
  if (rc == OK) {
    rc = cli_node_status(c, &h, b->chain_id, sizeof b->chain_id);
  }
  api_client_destroy(c);
  if (rc != OK) {
    return cli_report(rc, "no node answers at %s", b->url);
  }
  char keys[PATH_MAX];
  if (cli_path(keys, sizeof(keys), b->o.dir, "keys") != OK) {
    return cli_report(ERR_USAGE, "--dir too long");
  }
  DIR *d = opendir(keys);
  if (d == NULL) {
    return cli_report(ERR_NOT_FOUND, "no keys directory in %s", b->o.dir);
  }
  char best[256] = "";
  for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
    size_t len = strlen(e->d_name);
    bool admin = len > 10 && strcmp(e->d_name + len - 10, "-admin.key") == 0;
    if (admin && len < sizeof(best) && (best[0] == '\0' || strcmp(e->d_name, best) < 0)) {
      memcpy(best, e->d_name, len + 1);
    }
  }
  closedir(d);
  char key[PATH_MAX];
  if (best[0] == '\0' || cli_path(key, sizeof(key), keys, best) != OK) {
    return cli_report(ERR_NOT_FOUND, "no founding admin's key (*-admin.key) in %s", keys);
  }
  rc = cry_keystore_read(&b->admin, key, NULL);
  if (rc != OK) {
    return cli_report(rc, "could not read %s", key);
  }
  struct pubkey pk;
  cry_keys_sign_pk(b->admin, &pk);
  cry_id_from_pk(&b->admin_id, &pk);
  return OK;
}

/* Everything from the network's creation to the stopped node. */
static int cli_bench_run(struct cli_bench *b) {
  char data[NODE_PATH_MAX + 32];
  int rc = OK;
  if (b->o.target != NULL) {
    rc = cli_bench_target(b);
  } else {
    snprintf(b->chain_id, sizeof b->chain_id, "%s", CLI_BENCH_CHAIN_ID);
    rc = cli_bench_net(b);
    if (rc == OK) {
      rc = cli_bench_start_node(b);
    }
  }
  if (rc == OK) {
    rc = cli_bench_patients(b);
  }
  if (rc == OK) {
    rc = cli_bench_presign(b);
  }
  if (rc == OK) {
    rc = cli_bench_wait_level(b);
  }
  if (rc != OK) {
    return rc;
  }
  data[0] = '\0';
  if (b->o.target == NULL && cli_path(data, sizeof(data), b->home, "data/data.mdb") != OK) {
    return ERR_OVERSIZE;
  }
  struct api_client *c = NULL;
  uint64_t h0 = 0;
  uint64_t h1 = 0;
  if (api_client_create(&c, b->url) != OK || cli_node_status(c, &h0, NULL, 0) != OK) {
    api_client_destroy(c);
    return cli_report(ERR_UNAVAILABLE, "the node stopped answering");
  }
  b->disk_before = cli_file_allocated_bytes(data);
  rc = cli_bench_timed(b);
  b->disk_after = cli_file_allocated_bytes(data);
  if (rc == OK && cli_node_status(c, &h1, NULL, 0) != OK) {
    rc = cli_report(ERR_UNAVAILABLE, "the node stopped answering");
  }
  api_client_destroy(c);
  b->blocks = h1 > h0 ? h1 - h0 : 0;
  for (uint64_t i = 0; i < b->o.nodes; i++) {
    uint64_t kb = cli_proc_peak_rss_kb(b->pids[i]);
    b->rss_kb = kb > b->rss_kb ? kb : b->rss_kb;
  }
  cli_bench_stop_nodes(b);
  if (rc == OK) {
    b->cores = sysconf(_SC_NPROCESSORS_ONLN);
    b->cores = b->cores < 1 ? 1 : b->cores;
    b->verify_per_s = cry_bench_verify_per_s((int)b->cores, 2000);
  }
  return rc;
}

static void cli_bench_cleanup(struct cli_bench *b) {
  cli_bench_stop_nodes(b);
  for (size_t i = 0; b->txs != NULL && i < b->o.txs; i++) {
    free((void *)(uintptr_t)b->txs[i].ptr);
  }
  for (size_t i = 0; b->patients != NULL && i < b->o.clients; i++) {
    cry_keys_destroy(b->patients[i]);
  }
  free(b->txs);
  free(b->lat_ns);
  free(b->clients);
  free(b->patients);
  free(b->patient_nonce);
  cry_keys_destroy(b->admin);
  pthread_cond_destroy(&b->cond);
  pthread_mutex_destroy(&b->lock);
  if (b->dir[0] == '\0') {
    return;
  }
  if (b->o.keep) {
    fprintf(stderr, "medchain bench: kept %s\n", b->dir);
  } else if (cli_rm_rf(b->dir) != OK) {
    fprintf(stderr, "medchain bench: could not remove %s\n", b->dir);
  }
}

int cli_cmd_bench(int argc, char **argv) {
  struct cli_bench *b = calloc(1, sizeof(*b));
  if (b == NULL) {
    return cli_fail(ERR_NOMEM, "out of memory");
  }
  int exit_code = cli_bench_parse(&b->o, argc, argv);
  if (exit_code != CLI_EXIT_OK) {
    free(b);
    return exit_code;
  }
  pthread_mutex_init(&b->lock, NULL);
  pthread_cond_init(&b->cond, NULL);
  signal(SIGPIPE, SIG_IGN);
  int rc = cli_mkdtemp(b->dir, sizeof(b->dir), "medchain-bench");
  if (rc != OK) {
    b->dir[0] = '\0';
    (void)cli_report(rc, "could not create a temporary directory");
  } else {
    rc = cli_bench_run(b);
  }
  if (rc == OK) {
    cli_bench_print(b);
  }
  uint64_t failed = b->failed;
  cli_bench_cleanup(b);
  free(b);
  if (rc == OK && failed > 0) {
    return cli_fail(ERR_INTERNAL, "%llu of the benchmark's transactions failed",
                    (unsigned long long)failed);
  }
  return cli_exit_code(rc);
}
