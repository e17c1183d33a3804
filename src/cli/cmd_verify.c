/*
 * verify — re-checks a node's whole chain offline.
 *
 *   medchain verify --home HOME [--json]
 *
 * Replays every stored block from genesis into a scratch store (a fresh
 * directory from mkdtemp, removed afterwards) through the same executor a
 * node runs (the native contracts), checking every link, signature, commit
 * and state root on the way (ledger_verify_chain), then compares the
 * node's live state with the replayed one. Exit 0 when all holds; 1 naming
 * the first height that does not. Opening the store may create LMDB's lock
 * and table records, so run it on a stopped node or on a copy of HOME/data
 * (docs/operations.md).
 */
#include "cli/cli_internal.h"

#include <unistd.h>

/* HOME/config when there is one; a data directory copied without its
 * config verifies with the defaults. */
static int cli_verify_config(struct node_config *cfg, const char *home) {
  int rc = node_config_load(cfg, home);
  return rc == ERR_NOT_FOUND ? OK : rc;
}

static void cli_verify_print(bool json, int rc, uint64_t verified, uint64_t bad) {
  if (json) {
    printf("{\"ok\":%s,\"height\":%llu,\"bad_height\":", rc == OK ? "true" : "false",
           (unsigned long long)verified);
    if (rc == OK) {
      printf("null");
    } else {
      printf("%llu", (unsigned long long)bad);
    }
    printf(",\"code\":\"%s\"}\n", err_name(rc));
    return;
  }
  if (rc == OK) {
    printf("verified %llu blocks: all hashes, signatures and state roots hold\n",
           (unsigned long long)verified);
  } else {
    printf("verify failed at height %llu: %s (%s)\n", (unsigned long long)bad, err_name(rc),
           err_str(rc));
  }
}

/* Opens HOME/data and replays it; *verified and *bad as ledger_verify_chain.
 * *replayed tells whether the replay ran (its verdict is then the return
 * value); otherwise the failure to get there was reported already. */
static int cli_verify_store(const char *home, uint64_t *verified, uint64_t *bad, bool *replayed) {
  *replayed = false;
  struct node_config cfg;
  int rc = cli_verify_config(&cfg, home);
  if (rc != OK) {
    return cli_report(rc, "could not load %s/config", home);
  }
  char data[NODE_PATH_MAX + 16];
  char mdb[NODE_PATH_MAX + 32];
  if (cli_path(data, sizeof(data), home, "data") != OK ||
      cli_path(mdb, sizeof(mdb), data, "data.mdb") != OK || access(mdb, R_OK) != 0) {
    return cli_report(ERR_NOT_FOUND, "no chain data in %s/data", home);
  }
  struct store *s = NULL;
  rc = store_open(&s, data, (size_t)cfg.map_bytes);
  if (rc != OK) {
    return cli_report(rc, "could not open %s", data);
  }
  char scratch[NODE_PATH_MAX];
  rc = cli_mkdtemp(scratch, sizeof(scratch), "medchain-verify");
  if (rc != OK) {
    store_close(s);
    return cli_report(rc, "could not create a scratch directory");
  }
  struct ledger_exec exec;
  ctr_exec_bind(&exec);
  rc = ledger_verify_chain(s, scratch, &exec, bad, verified);
  *replayed = true;
  store_close(s);
  if (cli_rm_rf(scratch) != OK) {
    base_log(BASE_LOG_WARN, "cli", "could not remove the scratch directory %s", scratch);
  }
  return rc;
}

int cli_cmd_verify(int argc, char **argv) {
  const char *home = NULL;
  bool json = false;
  int usage = cli_opts_home(argc, argv, "verify", &home, &json);
  if (usage != CLI_EXIT_OK) {
    return usage;
  }
  uint64_t verified = 0;
  uint64_t bad = 0;
  bool replayed = false;
  int rc = cli_verify_store(home, &verified, &bad, &replayed);
  if (!replayed) {
    return cli_exit_code(rc);
  }
  cli_verify_print(json, rc, verified, bad);
  if (rc != OK) {
    return cli_fail(rc, "block %llu does not verify", (unsigned long long)bad);
  }
  return CLI_EXIT_OK;
}
