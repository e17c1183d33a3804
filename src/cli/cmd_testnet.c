/*
 * testnet — a local network of nodes in one directory.
 *
 *   medchain testnet init --nodes N --dir DIR [--base-port P] [--chain-id ID] [--orgs ...]
 *   medchain testnet start|stop|status --dir DIR [--json]
 *
 * Layout written by init (and read back by the others):
 *   DIR/keys/<org-slug>-admin.key  unprotected admin keystore per founding org
 *   DIR/node<i>/node.key           unprotected validator keystore
 *   DIR/node<i>/genesis.bin        the same genesis bytes in every node
 *   DIR/node<i>/config             API on 127.0.0.1:(P + 10 i), p2p port P + 10 i + 1
 *   DIR/genesis.json               a human view of the genesis
 *   DIR/network.json               the nodes: name, home, api_url
 * start/stop/status find the nodes as DIR/node0, node1, ... for as long as
 * a config exists, so they need no JSON parser; a running node is recorded
 * in HOME/node.pid and logs to HOME/node.log.
 *
 * Keys written here are unprotected on purpose: a testnet is a throwaway
 * network on one machine; production keys come from `keygen`.
 */
#include "cli/cli_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLI_VALIDATOR_POWER 10
#define CLI_START_TIMEOUT_MS 15000
#define CLI_STOP_TIMEOUT_MS 10000

/* ---- init ----------------------------------------------------------------- */

void cli_testnet_spec_defaults(struct cli_testnet_spec *spec, const char *dir) {
  memset(spec, 0, sizeof(*spec));
  snprintf(spec->dir, sizeof(spec->dir), "%s", dir);
  spec->nodes = 1;
  spec->base_port = CLI_DEFAULT_BASE_PORT;
  snprintf(spec->chain_id, sizeof(spec->chain_id), "%s", CLI_DEFAULT_CHAIN_ID);
  char err[128];
  int rc = cli_orgs_parse(spec->orgs, ARRAY_LEN(spec->orgs), &spec->norgs, CLI_DEFAULT_ORGS, err,
                          sizeof(err));
  if (rc != OK) {
    abort(); /* the built-in default must parse: a bug otherwise */
  }
}

int cli_testnet_home(char *out, size_t cap, const char *dir, uint32_t i) {
  int n = snprintf(out, cap, "%s/node%u", dir, i);
  return (n < 0 || (size_t)n >= cap) ? ERR_OVERSIZE : OK;
}

int cli_testnet_admin_key(char *out, size_t cap, const char *dir, const char *name) {
  char slug[LIM_STR_MAX + 1];
  if (cli_slug(slug, sizeof(slug), name) != OK) {
    return ERR_BAD_ARGS;
  }
  int n = snprintf(out, cap, "%s/keys/%s-admin.key", dir, slug);
  return (n < 0 || (size_t)n >= cap) ? ERR_OVERSIZE : OK;
}

static bool cli_chain_id_valid(const char *id) {
  size_t len = strlen(id);
  if (len == 0 || len > LIM_CHAIN_ID_MAX) {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

static int cli_testnet_spec_check(const struct cli_testnet_spec *spec) {
  if (spec->nodes < 1 || spec->nodes > CLI_NODES_MAX) {
    return cli_report(ERR_USAGE, "--nodes must be between 1 and %d", CLI_NODES_MAX);
  }
  uint64_t last = (uint64_t)spec->base_port + 10u * (spec->nodes - 1) + 1u;
  if (spec->base_port < 1024 || last > 65535) {
    return cli_report(ERR_USAGE, "--base-port must leave room for %u nodes below 65536",
                      spec->nodes);
  }
  if (!cli_chain_id_valid(spec->chain_id)) {
    return cli_report(ERR_USAGE, "--chain-id must be 1 to %d of a-z, 0-9 and '-'",
                      LIM_CHAIN_ID_MAX);
  }
  if (spec->norgs < 1 || spec->norgs > LEDGER_GENESIS_MEMBERS_MAX) {
    return cli_report(ERR_USAGE, "between 1 and %d founding organizations",
                      LEDGER_GENESIS_MEMBERS_MAX);
  }
  return OK;
}

/* Generates a key pair and writes it unprotected to path; *pk and *box
 * get its public keys. */
static int cli_key_new(const char *path, struct pubkey *pk, struct boxkey *box) {
  struct cry_keys *k = cry_keys_generate();
  if (k == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  int rc = cry_keystore_write(path, k, NULL, false);
  if (rc != OK) {
    (void)cli_fail(rc, "could not write %s", path);
  } else {
    cry_keys_sign_pk(k, pk);
    cry_keys_box_pk(k, box);
  }
  cry_keys_destroy(k);
  return rc;
}

static int cli_testnet_orgs(const struct cli_testnet_spec *spec, struct ledger_genesis *g) {
  char path[NODE_PATH_MAX + 64];
  if (cli_path(path, sizeof(path), spec->dir, "keys") != OK || mkdir(path, 0700) != 0) {
    return cli_report(ERR_IO, "could not create %s/keys", spec->dir);
  }
  for (size_t i = 0; i < spec->norgs; i++) {
    struct ledger_member *m = &g->members[i];
    snprintf(m->name, sizeof(m->name), "%s", spec->orgs[i].name);
    snprintf(m->kind, sizeof(m->kind), "%s", spec->orgs[i].kind);
    int rc = cli_testnet_admin_key(path, sizeof(path), spec->dir, m->name);
    if (rc == OK) {
      rc = cli_key_new(path, &m->admin_pk, &m->admin_box);
    }
    if (rc != OK) {
      return rc;
    }
  }
  g->nmembers = (uint16_t)spec->norgs;
  return OK;
}

static int cli_testnet_validators(const struct cli_testnet_spec *spec, struct ledger_genesis *g) {
  for (uint32_t i = 0; i < spec->nodes; i++) {
    char home[NODE_PATH_MAX];
    char path[NODE_PATH_MAX + 16];
    if (cli_testnet_home(home, sizeof(home), spec->dir, i) != OK || mkdir(home, 0755) != 0) {
      return cli_report(ERR_IO, "could not create node%u in %s", i, spec->dir);
    }
    struct ledger_validator *v = &g->validators[i];
    struct boxkey unused;
    int rc = cli_path(path, sizeof(path), home, "node.key");
    if (rc == OK) {
      rc = cli_key_new(path, &v->pk, &unused);
    }
    if (rc != OK) {
      return rc;
    }
    cry_id_from_pk(&v->id, &v->pk);
    v->power = CLI_VALIDATOR_POWER;
  }
  g->nvalidators = (uint16_t)spec->nodes;
  return OK;
}

/* Records: node i is the gateway of founding organization i (its admin key
 * as operator key; one key on one node only, since a node numbers its
 * operator's transactions from what it sees), and fetches ciphertext it
 * lacks from every other node. */
static int cli_testnet_records_config(const struct cli_testnet_spec *spec, uint32_t i,
                                      struct node_config *cfg) {
  if (i < spec->norgs) {
    int rc = cli_testnet_admin_key(cfg->operator_keys[0], sizeof(cfg->operator_keys[0]), spec->dir,
                                   spec->orgs[i].name);
    if (rc != OK) {
      return rc;
    }
    cfg->noperators = 1;
  }
  for (uint32_t j = 0; j < spec->nodes && cfg->nsources < LIM_BLOB_SOURCES_MAX; j++) {
    if (j != i) {
      snprintf(cfg->blob_sources[cfg->nsources++], NODE_URL_MAX, "http://127.0.0.1:%u",
               (unsigned)(spec->base_port + 10u * j));
    }
  }
  return OK;
}

/* Writes genesis.bin and config into every node home. */
static int cli_testnet_homes_write(const struct cli_testnet_spec *spec,
                                   const struct ledger_genesis *g, const uint8_t *gen,
                                   size_t gen_len) {
  for (uint32_t i = 0; i < spec->nodes; i++) {
    struct node_config cfg;
    char home[NODE_PATH_MAX];
    char path[NODE_PATH_MAX + 16];
    int rc = cli_testnet_home(home, sizeof(home), spec->dir, i);
    if (rc == OK) {
      rc = cli_path(path, sizeof(path), home, "genesis.bin");
    }
    if (rc == OK) {
      rc = cli_file_write(path, gen, gen_len);
    }
    if (rc == OK) {
      node_config_defaults(&cfg, home);
      snprintf(cfg.name, sizeof(cfg.name), "node%u", i);
      snprintf(cfg.api_host, sizeof(cfg.api_host), "%s", "127.0.0.1");
      cfg.api_port = (uint16_t)(spec->base_port + 10u * i);
      cfg.p2p_port = (uint16_t)(spec->base_port + 10u * i + 1u);
      /* Every other validator, on its p2p port. */
      for (uint32_t j = 0; j < spec->nodes; j++) {
        if (j == i) {
          continue;
        }
        struct node_peer *pe = &cfg.peers[cfg.npeers++];
        pe->pk = g->validators[j].pk;
        snprintf(pe->host, sizeof(pe->host), "%s", "127.0.0.1");
        pe->port = (uint16_t)(spec->base_port + 10u * j + 1u);
      }
      rc = cli_testnet_records_config(spec, i, &cfg);
    }
    if (rc == OK) {
      rc = node_config_write(&cfg);
    }
    if (rc != OK) {
      return cli_report(rc, "could not write node%u's genesis and config", i);
    }
  }
  return OK;
}

static void cli_genesis_json_members(FILE *f, const struct cli_testnet_spec *spec,
                                     const struct ledger_genesis *g) {
  fprintf(f, "  \"members\": [");
  for (size_t i = 0; i < g->nmembers; i++) {
    const struct ledger_member *m = &g->members[i];
    char pk[65];
    char box[65];
    char key[NODE_PATH_MAX + 64];
    struct hash32 id;
    char idhex[65];
    cry_id_from_pk(&id, &m->admin_pk);
    base_hash_hex(idhex, &id);
    base_hex_encode(pk, m->admin_pk.b, sizeof(m->admin_pk.b));
    base_hex_encode(box, m->admin_box.b, sizeof(m->admin_box.b));
    fprintf(f, "%s\n    {\"name\": ", i > 0 ? "," : "");
    cli_json_str(f, m->name);
    fprintf(f,
            ", \"kind\": \"%s\", \"admin_id\": \"%s\", \"admin_pk\": \"%s\", "
            "\"admin_box\": \"%s\", \"key_file\": ",
            m->kind, idhex, pk, box);
    if (cli_testnet_admin_key(key, sizeof(key), spec->dir, m->name) != OK) {
      key[0] = '\0';
    }
    cli_json_str(f, key);
    fprintf(f, "}");
  }
  fprintf(f, "\n  ]\n");
}

static int cli_genesis_json(const struct cli_testnet_spec *spec, const struct ledger_genesis *g,
                            const struct hash32 *gh) {
  char path[NODE_PATH_MAX + 16];
  if (cli_path(path, sizeof(path), spec->dir, "genesis.json") != OK) {
    return ERR_OVERSIZE;
  }
  FILE *f = fopen(path, "we");
  if (f == NULL) {
    return ERR_IO;
  }
  char hex[65];
  base_hash_hex(hex, gh);
  fprintf(f, "{\n  \"chain_id\": \"%s\",\n  \"time_ms\": %llu,\n  \"genesis_hash\": \"%s\",\n",
          g->chain_id, (unsigned long long)g->time_ms, hex);
  fprintf(f, "  \"validators\": [");
  for (size_t i = 0; i < g->nvalidators; i++) {
    char pk[65];
    char id[65];
    base_hex_encode(pk, g->validators[i].pk.b, sizeof(g->validators[i].pk.b));
    base_hash_hex(id, &g->validators[i].id);
    fprintf(f, "%s\n    {\"node\": \"node%zu\", \"id\": \"%s\", \"pk\": \"%s\", \"power\": %llu}",
            i > 0 ? "," : "", i, id, pk, (unsigned long long)g->validators[i].power);
  }
  fprintf(f, "\n  ],\n");
  cli_genesis_json_members(f, spec, g);
  fprintf(f, "}\n");
  return fclose(f) == 0 ? OK : ERR_IO;
}

static int cli_network_json(const struct cli_testnet_spec *spec) {
  char path[NODE_PATH_MAX + 16];
  if (cli_path(path, sizeof(path), spec->dir, "network.json") != OK) {
    return ERR_OVERSIZE;
  }
  FILE *f = fopen(path, "we");
  if (f == NULL) {
    return ERR_IO;
  }
  fprintf(f, "{\n  \"chain_id\": \"%s\",\n  \"nodes\": [", spec->chain_id);
  for (uint32_t i = 0; i < spec->nodes; i++) {
    char home[NODE_PATH_MAX];
    char url[96];
    if (cli_testnet_home(home, sizeof(home), spec->dir, i) != OK) {
      home[0] = '\0';
    }
    cli_api_url(url, sizeof(url), "127.0.0.1", (uint16_t)(spec->base_port + 10u * i));
    fprintf(f, "%s\n    {\"name\": \"node%u\", \"home\": ", i > 0 ? "," : "", i);
    cli_json_str(f, home);
    fprintf(f, ", \"api_url\": \"%s\"}", url);
  }
  fprintf(f, "\n  ]\n}\n");
  return fclose(f) == 0 ? OK : ERR_IO;
}

/* Encodes g and writes it everywhere it goes. */
static int cli_testnet_genesis_write(const struct cli_testnet_spec *spec,
                                     const struct ledger_genesis *g) {
  size_t cap = LEDGER_GENESIS_BYTES_MAX;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  size_t len = 0;
  struct hash32 gh;
  int rc = ledger_genesis_encode(g, buf, cap, &len);
  if (rc == OK) {
    rc = ledger_genesis_hash(g, &gh);
  }
  if (rc != OK) {
    (void)cli_fail(rc, "could not encode the genesis");
    goto fail;
  }
  rc = cli_testnet_homes_write(spec, g, buf, len);
  if (rc != OK) {
    goto fail;
  }
  rc = cli_genesis_json(spec, g, &gh);
  if (rc == OK) {
    rc = cli_network_json(spec);
  }
  if (rc != OK) {
    (void)cli_fail(rc, "could not write genesis.json and network.json in %s", spec->dir);
  }
fail:
  free(buf);
  return rc;
}

static int cli_testnet_dir(struct cli_testnet_spec *spec) {
  int rc = cli_dir_prepare_empty(spec->dir);
  if (rc == ERR_EXISTS) {
    return cli_report(rc, "%s exists and is not an empty directory", spec->dir);
  }
  if (rc != OK) {
    return cli_report(rc, "could not create %s", spec->dir);
  }
  char abs[PATH_MAX];
  size_t len = realpath(spec->dir, abs) != NULL ? strlen(abs) : 0;
  if (len == 0 || len >= sizeof(spec->dir) - 64) {
    return cli_report(ERR_IO, "could not resolve %s", spec->dir);
  }
  memcpy(spec->dir, abs, len + 1);
  return OK;
}

int cli_testnet_init(struct cli_testnet_spec *spec, struct ledger_genesis *out) {
  int rc = cli_testnet_spec_check(spec);
  if (rc != OK) {
    return rc;
  }
  rc = cli_testnet_dir(spec);
  if (rc != OK) {
    return rc;
  }
  struct ledger_genesis *g = calloc(1, sizeof(*g));
  if (g == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  snprintf(g->chain_id, sizeof(g->chain_id), "%s", spec->chain_id);
  g->time_ms = base_now_ms();
  rc = cli_testnet_orgs(spec, g);
  if (rc == OK) {
    rc = cli_testnet_validators(spec, g);
  }
  if (rc == OK) {
    rc = cli_testnet_genesis_write(spec, g);
  }
  if (rc == OK && out != NULL) {
    *out = *g;
  }
  free(g);
  return rc;
}

static void cli_testnet_init_print(const struct cli_testnet_spec *spec, bool json) {
  char url[96];
  char home[NODE_PATH_MAX];
  char key[NODE_PATH_MAX + 64];
  if (json) {
    printf("{\"dir\":");
    cli_json_str(stdout, spec->dir);
    printf(",\"chain_id\":\"%s\",\"nodes\":[", spec->chain_id);
  } else {
    printf("testnet %s: chain %s, %u node(s), %zu founding organization(s)\n", spec->dir,
           spec->chain_id, spec->nodes, spec->norgs);
  }
  for (uint32_t i = 0; i < spec->nodes; i++) {
    cli_api_url(url, sizeof(url), "127.0.0.1", (uint16_t)(spec->base_port + 10u * i));
    if (cli_testnet_home(home, sizeof(home), spec->dir, i) != OK) {
      home[0] = '\0';
    }
    if (json) {
      printf("%s{\"name\":\"node%u\",\"home\":", i > 0 ? "," : "", i);
      cli_json_str(stdout, home);
      printf(",\"api_url\":\"%s\"}", url);
    } else {
      printf("  node%-3u %-24s %s\n", i, url, home);
    }
  }
  if (json) {
    printf("],\"orgs\":[");
  }
  for (size_t i = 0; i < spec->norgs; i++) {
    if (cli_testnet_admin_key(key, sizeof(key), spec->dir, spec->orgs[i].name) != OK) {
      key[0] = '\0';
    }
    if (json) {
      printf("%s{\"name\":", i > 0 ? "," : "");
      cli_json_str(stdout, spec->orgs[i].name);
      printf(",\"kind\":\"%s\",\"key_file\":", spec->orgs[i].kind);
      cli_json_str(stdout, key);
      printf("}");
    } else {
      printf("  %s (%s): admin key %s\n", spec->orgs[i].name, spec->orgs[i].kind, key);
    }
  }
  if (json) {
    printf("]}\n");
  } else {
    printf("start it with: medchain testnet start --dir %s\n", spec->dir);
  }
}

static int cli_testnet_init_cmd(int argc, char **argv) {
  const char *dir = NULL;
  const char *chain_id = NULL;
  const char *orgs = NULL;
  uint64_t nodes = 0;
  uint64_t base_port = CLI_DEFAULT_BASE_PORT;
  bool json = false;
  struct cli_opt opts[] = {
      {"nodes", CLI_OPT_U64, &nodes, false},         {"dir", CLI_OPT_STR, &dir, false},
      {"base-port", CLI_OPT_U64, &base_port, false}, {"chain-id", CLI_OPT_STR, &chain_id, false},
      {"orgs", CLI_OPT_STR, &orgs, false},           {"json", CLI_OPT_FLAG, &json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 0, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("testnet", "%s", err);
  }
  if (dir == NULL || !opts[0].seen) {
    return cli_usage("testnet", "testnet init needs --nodes N and --dir DIR");
  }
  if (strlen(dir) >= NODE_PATH_MAX - 64 || nodes > CLI_NODES_MAX || base_port > 65535) {
    return cli_usage("testnet", "--dir too long, --nodes above %d or --base-port above 65535",
                     CLI_NODES_MAX);
  }
  struct cli_testnet_spec *spec = malloc(sizeof(*spec));
  if (spec == NULL) {
    return cli_fail(ERR_NOMEM, "out of memory");
  }
  cli_testnet_spec_defaults(spec, dir);
  spec->nodes = (uint32_t)nodes;
  spec->base_port = (uint32_t)base_port;
  if (chain_id != NULL) {
    snprintf(spec->chain_id, sizeof(spec->chain_id), "%s", chain_id);
    if (strlen(chain_id) >= sizeof(spec->chain_id)) {
      spec->chain_id[0] = '\0'; /* rejected by the check below */
    }
  }
  int rc = OK;
  if (orgs != NULL) {
    rc = cli_orgs_parse(spec->orgs, ARRAY_LEN(spec->orgs), &spec->norgs, orgs, err, sizeof(err));
  }
  if (rc != OK) {
    free(spec);
    return cli_usage("testnet", "%s", err);
  }
  rc = cli_testnet_init(spec, NULL);
  if (rc == OK) {
    cli_testnet_init_print(spec, json);
  }
  free(spec);
  return rc == OK ? CLI_EXIT_OK : (rc == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL);
}

/* ---- the running network ---------------------------------------------------- */

struct cli_tn_node {
  char home[NODE_PATH_MAX];
  struct node_config cfg;
  char url[96];
  pid_t pid;
  bool started;
  bool up;
  uint64_t height;
};

struct cli_tn {
  char dir[PATH_MAX];
  uint32_t n;
  struct cli_tn_node nodes[CLI_NODES_MAX];
};

/* Finds DIR/node0, node1, ... and loads their configs. */
static int cli_tn_load(struct cli_tn *tn, const char *dir) {
  if (realpath(dir, tn->dir) == NULL || strlen(tn->dir) >= NODE_PATH_MAX - 64) {
    return cli_report(ERR_NOT_FOUND, "no testnet at %s", dir);
  }
  tn->n = 0;
  for (uint32_t i = 0; i < CLI_NODES_MAX; i++) {
    struct cli_tn_node *nd = &tn->nodes[i];
    char cfgpath[NODE_PATH_MAX + 16];
    if (cli_testnet_home(nd->home, sizeof(nd->home), tn->dir, i) != OK ||
        cli_path(cfgpath, sizeof(cfgpath), nd->home, "config") != OK ||
        access(cfgpath, F_OK) != 0) {
      break;
    }
    int rc = node_config_load(&nd->cfg, nd->home);
    if (rc != OK) {
      return cli_report(rc, "could not load %s", cfgpath);
    }
    cli_api_url(nd->url, sizeof(nd->url), nd->cfg.api_host, nd->cfg.api_port);
    nd->pid = 0;
    nd->started = false;
    nd->up = false;
    nd->height = 0;
    tn->n++;
  }
  if (tn->n == 0) {
    return cli_report(ERR_NOT_FOUND, "no testnet at %s (no node0/config)", dir);
  }
  return OK;
}

/* Parses "--dir DIR [--json]" and loads the testnet. */
static int cli_tn_open(int argc, char **argv, struct cli_tn **out, bool *json) {
  const char *dir = NULL;
  struct cli_opt opts[] = {
      {"dir", CLI_OPT_STR, &dir, false},
      {"json", CLI_OPT_FLAG, json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 0, &npos, err, sizeof(err)) !=
      OK) {
    (void)cli_usage("testnet", "%s", err);
    return ERR_USAGE;
  }
  if (dir == NULL) {
    (void)cli_usage("testnet", "testnet %s needs --dir DIR", argv[0]);
    return ERR_USAGE;
  }
  *out = calloc(1, sizeof(**out));
  if (*out == NULL) {
    return cli_report(ERR_NOMEM, "out of memory");
  }
  int rc = cli_tn_load(*out, dir);
  if (rc != OK) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

static int cli_tn_exit(int rc) {
  return rc == OK ? CLI_EXIT_OK : (rc == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL);
}

/* The nodes as JSON; flag (may be NULL) names a per-node boolean taken from
 * nd->started ("started" for start, "stopped" for stop). */
static void cli_tn_print_nodes(const struct cli_tn *tn, const char *flag) {
  printf("{\"nodes\":[");
  for (uint32_t i = 0; i < tn->n; i++) {
    const struct cli_tn_node *nd = &tn->nodes[i];
    printf("%s{\"name\":", i > 0 ? "," : "");
    cli_json_str(stdout, nd->cfg.name);
    if (nd->pid > 0) {
      printf(",\"pid\":%ld", (long)nd->pid);
    } else {
      printf(",\"pid\":null");
    }
    printf(",\"api_url\":\"%s\"", nd->url);
    if (flag != NULL) {
      printf(",\"%s\":%s", flag, nd->started ? "true" : "false");
    }
    if (nd->up) {
      printf(",\"height\":%llu", (unsigned long long)nd->height);
    } else {
      printf(",\"height\":null");
    }
    printf(",\"up\":%s}", nd->up ? "true" : "false");
  }
  printf("]}\n");
}

static void cli_tn_probe(struct cli_tn_node *nd) {
  nd->pid = cli_home_pid(nd->home);
  struct api_client *c = NULL;
  if (api_client_create(&c, nd->url) != OK) {
    return;
  }
  nd->up = cli_node_status(c, &nd->height, NULL, 0) == OK;
  api_client_destroy(c);
}

static int cli_tn_spawn_all(struct cli_tn *tn, const char *exe) {
  for (uint32_t i = 0; i < tn->n; i++) {
    struct cli_tn_node *nd = &tn->nodes[i];
    nd->pid = cli_home_pid(nd->home);
    if (nd->pid > 0) {
      continue;
    }
    cli_pid_remove(nd->home);
    int rc = cli_node_spawn(exe, nd->home, true, &nd->pid);
    if (rc == OK) {
      rc = cli_pid_write(nd->home, nd->pid);
    }
    if (rc != OK) {
      return cli_report(rc, "could not start %s", nd->cfg.name);
    }
    nd->started = true;
  }
  return OK;
}

static int cli_tn_wait_all(struct cli_tn *tn, bool json) {
  uint64_t deadline = base_mono_ns() + (uint64_t)CLI_START_TIMEOUT_MS * 1000000u;
  int result = OK;
  for (uint32_t i = 0; i < tn->n; i++) {
    struct cli_tn_node *nd = &tn->nodes[i];
    uint64_t now = base_mono_ns();
    uint32_t left = now < deadline ? (uint32_t)((deadline - now) / 1000000u) : 0;
    int rc = cli_node_wait_up(nd->url, nd->pid, left);
    nd->up = rc == OK;
    if (nd->up) {
      cli_tn_probe(nd);
      if (!json) {
        printf("%s %s (pid %ld) at %s\n", nd->cfg.name, nd->started ? "started" : "already running",
               (long)nd->pid, nd->url);
        fflush(stdout);
      }
      continue;
    }
    char log[NODE_PATH_MAX + 16];
    (void)cli_fail(rc, "%s did not come up at %s (%s)", nd->cfg.name, nd->url,
                   rc == ERR_UNAVAILABLE ? "it exited" : "no answer in time");
    if (cli_path(log, sizeof(log), nd->home, "node.log") == OK) {
      cli_log_tail(log, 15);
    }
    if (rc == ERR_UNAVAILABLE) {
      cli_pid_remove(nd->home);
      nd->pid = 0;
    }
    result = rc;
  }
  return result;
}

static int cli_testnet_start(int argc, char **argv) {
  struct cli_tn *tn = NULL;
  bool json = false;
  int rc = cli_tn_open(argc, argv, &tn, &json);
  if (rc != OK) {
    return cli_tn_exit(rc);
  }
  char exe[PATH_MAX];
  rc = cli_self_exe(exe, sizeof(exe));
  if (rc != OK) {
    (void)cli_fail(rc, "cannot find this executable's path");
    goto fail;
  }
  rc = cli_tn_spawn_all(tn, exe);
  if (rc != OK) {
    goto fail;
  }
  rc = cli_tn_wait_all(tn, json);
  if (json) {
    cli_tn_print_nodes(tn, "started");
  }
fail:
  free(tn);
  return cli_tn_exit(rc);
}

static int cli_testnet_stop(int argc, char **argv) {
  struct cli_tn *tn = NULL;
  bool json = false;
  int rc = cli_tn_open(argc, argv, &tn, &json);
  if (rc != OK) {
    return cli_tn_exit(rc);
  }
  /* Ask every node at once, then wait for them under one deadline. */
  for (uint32_t i = 0; i < tn->n; i++) {
    struct cli_tn_node *nd = &tn->nodes[i];
    nd->pid = cli_home_pid(nd->home);
    if (nd->pid > 0 && kill(nd->pid, SIGTERM) != 0 && errno == ESRCH) {
      nd->pid = 0;
    }
  }
  uint64_t deadline = base_mono_ns() + (uint64_t)CLI_STOP_TIMEOUT_MS * 1000000u;
  for (uint32_t i = 0; i < tn->n; i++) {
    struct cli_tn_node *nd = &tn->nodes[i];
    bool killed = false;
    if (nd->pid > 0) {
      uint64_t now = base_mono_ns();
      uint32_t left = now < deadline ? (uint32_t)((deadline - now) / 1000000u) : 0;
      killed = cli_pid_stop(nd->pid, left);
      nd->started = true; /* "stopped" in the JSON */
    }
    cli_pid_remove(nd->home);
    if (json) {
      continue;
    }
    if (nd->pid > 0) {
      printf("%s %s (pid %ld)\n", nd->cfg.name, killed ? "killed" : "stopped", (long)nd->pid);
    } else {
      printf("%s not running\n", nd->cfg.name);
    }
  }
  if (json) {
    cli_tn_print_nodes(tn, "stopped");
  }
  free(tn);
  return CLI_EXIT_OK;
}

static int cli_testnet_status(int argc, char **argv) {
  struct cli_tn *tn = NULL;
  bool json = false;
  int rc = cli_tn_open(argc, argv, &tn, &json);
  if (rc != OK) {
    return cli_tn_exit(rc);
  }
  if (!json) {
    printf("%-8s %-8s %-26s %-8s %s\n", "NAME", "PID", "API", "HEIGHT", "UP");
  }
  for (uint32_t i = 0; i < tn->n; i++) {
    struct cli_tn_node *nd = &tn->nodes[i];
    cli_tn_probe(nd);
    if (json) {
      continue;
    }
    char pid[24] = "-";
    char height[24] = "-";
    if (nd->pid > 0) {
      snprintf(pid, sizeof(pid), "%ld", (long)nd->pid);
    }
    if (nd->up) {
      snprintf(height, sizeof(height), "%llu", (unsigned long long)nd->height);
    }
    printf("%-8s %-8s %-26s %-8s %s\n", nd->cfg.name, pid, nd->url, height, nd->up ? "up" : "down");
  }
  if (json) {
    cli_tn_print_nodes(tn, NULL);
  }
  free(tn);
  return CLI_EXIT_OK;
}

static const struct {
  const char *name;
  cli_run_fn run;
} cli_testnet_subs[] = {
    {"init", cli_testnet_init_cmd},
    {"start", cli_testnet_start},
    {"stop", cli_testnet_stop},
    {"status", cli_testnet_status},
};

int cli_cmd_testnet(int argc, char **argv) {
  if (argc < 2) {
    return cli_usage("testnet", "testnet needs a subcommand: init, start, stop or status");
  }
  for (size_t i = 0; i < ARRAY_LEN(cli_testnet_subs); i++) {
    if (strcmp(argv[1], cli_testnet_subs[i].name) == 0) {
      return cli_testnet_subs[i].run(argc - 1, argv + 1);
    }
  }
  return cli_usage("testnet", "unknown testnet subcommand '%s'", argv[1]);
}
