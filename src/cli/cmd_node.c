/*
 * node — runs one node in the foreground until SIGINT or SIGTERM.
 *
 *   medchain node --home HOME [--json]
 *
 * Signals: SIGINT and SIGTERM are blocked in the main thread before any
 * other thread exists, so every thread the node and the HTTP server start
 * inherits the mask and the main thread alone receives them, synchronously,
 * in sigwait(). No async signal handler runs, so shutdown is ordinary code:
 * stop the producer (the block in progress finishes and is durable, and
 * waiters wake), stop the API (in-flight requests finish), free, exit 0. SIGPIPE is ignored: a
 * client hanging up must never kill the node.
 *
 * The start line goes to stdout and is flushed at once: `testnet start`
 * and tests read it from HOME/node.log.
 */
#include "cli/cli_internal.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void cli_node_announce(const struct node_config *cfg, const struct node_status *st,
                              bool json) {
  char url[96];
  cli_api_url(url, sizeof(url), cfg->api_host, cfg->api_port);
  if (json) {
    printf("{\"name\":");
    cli_json_str(stdout, cfg->name);
    printf(",\"api_url\":\"%s\",\"chain_id\":\"%s\",\"height\":%llu,\"pid\":%ld}\n", url,
           st->chain_id, (unsigned long long)st->height, (long)getpid());
  } else {
    printf("medchain node %s serving %s (chain %s, height %llu)\n", cfg->name, url, st->chain_id,
           (unsigned long long)st->height);
  }
  fflush(stdout);
}

/* Runs the node until a stop signal; returns the error that stopped it
 * from starting, or OK after a clean shutdown. */
static int cli_node_run(const struct node_config *cfg, const sigset_t *stop, bool json) {
  struct node *n = NULL;
  struct api_server *srv = NULL;
  struct node_status *st = calloc(1, sizeof(*st));
  int rc = st != NULL ? node_create(&n, cfg) : ERR_NOMEM;
  if (rc != OK) {
    (void)cli_report(rc, "could not open the node in %s", cfg->home);
    goto fail;
  }
  rc = node_start(n);
  if (rc != OK) {
    (void)cli_report(rc, "could not start the node");
    goto fail;
  }
  rc = api_server_start(&srv, n, cfg->api_host, cfg->api_port);
  if (rc != OK) {
    (void)cli_report(rc, "could not serve the API on %s:%u", cfg->api_host,
                     (unsigned)cfg->api_port);
    goto fail;
  }
  rc = node_status(n, st);
  if (rc != OK) {
    (void)cli_report(rc, "could not read the node's status");
    goto fail;
  }
  cli_node_announce(cfg, st, json);
  int sig = 0;
  if (sigwait(stop, &sig) != 0) {
    sig = 0;
  }
  base_log(BASE_LOG_INFO, "cli", "signal %d: stopping node %s", sig, cfg->name);
fail:
  /* The node first: stopping it wakes requests blocked in ?wait=commit,
   * so the server's stop does not wait out their timeouts. */
  if (n != NULL) {
    node_stop(n);
  }
  api_server_stop(srv);
  node_destroy(n);
  free(st);
  return rc;
}

int cli_cmd_node(int argc, char **argv) {
  const char *home = NULL;
  bool json = false;
  int usage = cli_opts_home(argc, argv, "node", &home, &json);
  if (usage != CLI_EXIT_OK) {
    return usage;
  }
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &stop, NULL) != 0) {
    return cli_fail(ERR_INTERNAL, "could not block signals");
  }
  signal(SIGPIPE, SIG_IGN);
  struct node_config cfg;
  int rc = node_config_load(&cfg, home);
  if (rc != OK) {
    return cli_fail(rc, "could not load %s/config", home);
  }
  /* MEDCHAIN_LOG=debug shows every block and rejected submission. */
  const char *lvl = getenv("MEDCHAIN_LOG");
  bool debug = lvl != NULL && strcmp(lvl, "debug") == 0;
  base_log_setup(debug ? BASE_LOG_DEBUG : BASE_LOG_INFO, cfg.log_json);
  return cli_exit_code(cli_node_run(&cfg, &stop, json));
}
