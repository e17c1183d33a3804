/*
 * config — HOME/config, "key = value" lines.
 *
 * Parsing is strict because a typo in a node's config should stop it at
 * start, not run it with a default nobody meant: unknown keys, repeated
 * keys, values out of range and lines without '=' are ERR_CONFIG, with a
 * log line naming the line number (never the value: a config line is
 * outside data and the log takes only ids, counts and codes). Numbers go
 * through base_parse_u64. Blank lines and lines starting with '#' are
 * skipped; there are no trailing comments, so values may contain '#'.
 *
 * node_config_write replaces the file atomically (temporary file, fsync,
 * rename), so a crash leaves either the old or the new config.
 */
#include "node/node_internal.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CONFIG_LINE_MAX 1024
#define CONFIG_MAP_MB_MAX (1u << 24) /* 16 TiB */
#define CONFIG_MS_MAX (24u * 3600u * 1000u)
#define CONFIG_QUOTA_MB_MAX (1u << 24) /* 16 TiB */

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t len = strlen(src);
  assert(len < cap);
  memcpy(dst, src, len + 1);
}

void node_config_defaults(struct node_config *cfg, const char *home) {
  memset(cfg, 0, sizeof *cfg);
  size_t len = strnlen(home, sizeof cfg->home);
  /* A home too long is caught by node_config_load and node_create; keep
   * a truncated copy NUL-terminated meanwhile. */
  if (len >= sizeof cfg->home) {
    len = sizeof cfg->home - 1;
  }
  memcpy(cfg->home, home, len);
  cfg->home[len] = '\0';
  copy_str(cfg->name, sizeof cfg->name, "node0");
  copy_str(cfg->api_host, sizeof cfg->api_host, "127.0.0.1");
  cfg->api_port = 26657;
  cfg->p2p_port = 26656;
  cfg->block_interval_ms = 10;
  cfg->timeout_propose_ms = 1000;
  cfg->timeout_vote_ms = 500;
  cfg->heartbeat_ms = 10000;
  cfg->map_bytes = 8192ull << 20;
  cfg->log_json = false;
  cfg->blob_quota_bytes = (uint64_t)LIM_BLOB_QUOTA_DEFAULT_MB << 20;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') {
    s++;
  }
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1])) {
    s[--len] = '\0';
  }
  return s;
}

static int parse_u64_range(uint64_t *out, const char *s, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  if (base_parse_u64(&v, s) != OK || v < lo || v > hi) {
    return ERR_CONFIG;
  }
  *out = v;
  return OK;
}

static bool name_ok(const char *s) {
  size_t len = strlen(s);
  if (len == 0 || len >= sizeof(((struct node_config *)0)->name)) {
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!isalnum((unsigned char)c) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

/* "host:port" with a numeric IPv4 host (what the API server binds). */
static int parse_api(struct node_config *cfg, const char *v) {
  const char *colon = strrchr(v, ':');
  if (colon == NULL) {
    return ERR_CONFIG;
  }
  size_t hlen = (size_t)(colon - v);
  if (hlen == 0 || hlen >= sizeof cfg->api_host) {
    return ERR_CONFIG;
  }
  char host[sizeof cfg->api_host];
  memcpy(host, v, hlen);
  host[hlen] = '\0';
  struct in_addr addr;
  uint64_t port = 0;
  if (inet_pton(AF_INET, host, &addr) != 1 || parse_u64_range(&port, colon + 1, 1, 65535) != OK) {
    return ERR_CONFIG;
  }
  memcpy(cfg->api_host, host, hlen + 1);
  cfg->api_port = (uint16_t)port;
  return OK;
}

enum config_key {
  K_NAME,
  K_API,
  K_P2P,
  K_INTERVAL,
  K_HEARTBEAT,
  K_MAP,
  K_LOG_JSON,
  K_TIMEOUT_PROPOSE,
  K_TIMEOUT_VOTE,
  K_PEER,
  K_OPERATOR,
  K_SOURCE,
  K_QUOTA,
  K_COUNT_
};
static const char *const config_keys[K_COUNT_] = {
    [K_NAME] = "name",
    [K_API] = "api",
    [K_P2P] = "p2p_port",
    [K_INTERVAL] = "block_interval_ms",
    [K_HEARTBEAT] = "heartbeat_ms",
    [K_MAP] = "map_mb",
    [K_LOG_JSON] = "log_json",
    [K_TIMEOUT_PROPOSE] = "timeout_propose_ms",
    [K_TIMEOUT_VOTE] = "timeout_vote_ms",
    [K_PEER] = "peer",
    [K_OPERATOR] = "operator_key",
    [K_SOURCE] = "blob_source",
    [K_QUOTA] = "blob_quota_mb",
};

/* Keys that may appear on several lines. */
static bool key_repeats(int k) {
  return k == K_PEER || k == K_OPERATOR || k == K_SOURCE;
}

/* "PUBKEY_HEX@host:port": a validator this node connects to (repeatable). */
static int parse_peer(struct node_config *cfg, const char *v) {
  if (cfg->npeers >= LIM_VALIDATORS_MAX) {
    return ERR_CONFIG;
  }
  const char *at = strchr(v, '@');
  const char *colon = strrchr(v, ':');
  if (at == NULL || colon == NULL || at - v != 64 || colon < at) {
    return ERR_CONFIG;
  }
  struct node_peer *p = &cfg->peers[cfg->npeers];
  char hex[65];
  memcpy(hex, v, 64);
  hex[64] = '\0';
  size_t hlen = (size_t)(colon - at - 1);
  uint64_t port = 0;
  struct in_addr addr;
  if (base_hex_decode(p->pk.b, sizeof p->pk.b, hex) != OK || hlen == 0 || hlen >= sizeof p->host ||
      parse_u64_range(&port, colon + 1, 1, 65535) != OK) {
    return ERR_CONFIG;
  }
  memcpy(p->host, at + 1, hlen);
  p->host[hlen] = '\0';
  if (inet_pton(AF_INET, p->host, &addr) != 1) {
    return ERR_CONFIG;
  }
  p->port = (uint16_t)port;
  for (uint16_t i = 0; i < cfg->npeers; i++) {
    if (memcmp(cfg->peers[i].pk.b, p->pk.b, sizeof p->pk.b) == 0) {
      return ERR_CONFIG;
    }
  }
  cfg->npeers++;
  return OK;
}

/* "PATH": a keystore file, absolute or relative to HOME (repeatable). */
static int parse_operator(struct node_config *cfg, const char *v) {
  size_t len = strlen(v);
  if (cfg->noperators >= LIM_OPERATORS_MAX || len == 0 || len >= NODE_PATH_MAX) {
    return ERR_CONFIG;
  }
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
      return ERR_CONFIG;
    }
  }
  memcpy(cfg->operator_keys[cfg->noperators++], v, len + 1);
  return OK;
}

/* "http://ipv4:port": another node's API (repeatable). */
static int parse_source(struct node_config *cfg, const char *v) {
  const char *prefix = "http://";
  size_t len = strlen(v);
  if (cfg->nsources >= LIM_BLOB_SOURCES_MAX || len >= NODE_URL_MAX ||
      strncmp(v, prefix, strlen(prefix)) != 0) {
    return ERR_CONFIG;
  }
  const char *hostport = v + strlen(prefix);
  const char *colon = strrchr(hostport, ':');
  char host[64];
  size_t hlen = colon == NULL ? 0 : (size_t)(colon - hostport);
  uint64_t port = 0;
  struct in_addr addr;
  if (hlen == 0 || hlen >= sizeof host || parse_u64_range(&port, colon + 1, 1, 65535) != OK) {
    return ERR_CONFIG;
  }
  memcpy(host, hostport, hlen);
  host[hlen] = '\0';
  if (inet_pton(AF_INET, host, &addr) != 1) {
    return ERR_CONFIG;
  }
  memcpy(cfg->blob_sources[cfg->nsources++], v, len + 1);
  return OK;
}

/* Numeric keys: their range and where the value goes. */
static int config_set_number(struct node_config *cfg, enum config_key k, const char *v) {
  uint64_t u = 0;
  switch (k) {
  case K_P2P:
    if (parse_u64_range(&u, v, 1, 65535) != OK) {
      return ERR_CONFIG;
    }
    cfg->p2p_port = (uint16_t)u;
    return OK;
  case K_INTERVAL:
  case K_HEARTBEAT:
    if (parse_u64_range(&u, v, 1, CONFIG_MS_MAX) != OK) {
      return ERR_CONFIG;
    }
    *(k == K_INTERVAL ? &cfg->block_interval_ms : &cfg->heartbeat_ms) = (uint32_t)u;
    return OK;
  case K_TIMEOUT_PROPOSE:
  case K_TIMEOUT_VOTE:
    if (parse_u64_range(&u, v, 10, CONFIG_MS_MAX) != OK) {
      return ERR_CONFIG;
    }
    *(k == K_TIMEOUT_PROPOSE ? &cfg->timeout_propose_ms : &cfg->timeout_vote_ms) = (uint32_t)u;
    return OK;
  case K_MAP:
    if (parse_u64_range(&u, v, 1, CONFIG_MAP_MB_MAX) != OK) {
      return ERR_CONFIG;
    }
    cfg->map_bytes = u << 20;
    return OK;
  case K_QUOTA:
    if (parse_u64_range(&u, v, 1, CONFIG_QUOTA_MB_MAX) != OK) {
      return ERR_CONFIG;
    }
    cfg->blob_quota_bytes = u << 20;
    return OK;
  default:
    assert(!"not a numeric key");
    return ERR_INTERNAL;
  }
}

static int config_set(struct node_config *cfg, enum config_key k, const char *v) {
  switch (k) {
  case K_NAME:
    if (!name_ok(v)) {
      return ERR_CONFIG;
    }
    copy_str(cfg->name, sizeof cfg->name, v);
    return OK;
  case K_API:
    return parse_api(cfg, v);
  case K_PEER:
    return parse_peer(cfg, v);
  case K_OPERATOR:
    return parse_operator(cfg, v);
  case K_SOURCE:
    return parse_source(cfg, v);
  case K_LOG_JSON:
    if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
      return ERR_CONFIG;
    }
    cfg->log_json = strcmp(v, "true") == 0;
    return OK;
  default:
    return config_set_number(cfg, k, v);
  }
}

/* One line, already stripped of its newline. seen[] catches repeats. */
static int config_line(struct node_config *cfg, char *line, bool seen[K_COUNT_], unsigned lineno) {
  char *s = trim(line);
  if (*s == '\0' || *s == '#') {
    return OK;
  }
  char *eq = strchr(s, '=');
  if (eq == NULL) {
    base_log(BASE_LOG_ERROR, "node", "config line %u: expected key = value", lineno);
    return ERR_CONFIG;
  }
  *eq = '\0';
  const char *key = trim(s);
  const char *val = trim(eq + 1);
  for (int k = 0; k < K_COUNT_; k++) {
    if (strcmp(key, config_keys[k]) != 0) {
      continue;
    }
    if (seen[k] && !key_repeats(k)) {
      base_log(BASE_LOG_ERROR, "node", "config line %u: %s given twice", lineno, config_keys[k]);
      return ERR_CONFIG;
    }
    seen[k] = true;
    if (config_set(cfg, (enum config_key)k, val) != OK) {
      base_log(BASE_LOG_ERROR, "node", "config line %u: bad value for %s", lineno, config_keys[k]);
      return ERR_CONFIG;
    }
    return OK;
  }
  base_log(BASE_LOG_ERROR, "node", "config line %u: unknown key", lineno);
  return ERR_CONFIG;
}

static int config_path(char *out, size_t cap, const char *home, const char *file) {
  int len = snprintf(out, cap, "%s/%s", home, file);
  return (len < 0 || (size_t)len >= cap) ? ERR_CONFIG : OK;
}

static int config_parse(struct node_config *cfg, FILE *f) {
  bool seen[K_COUNT_] = {false};
  char line[CONFIG_LINE_MAX];
  unsigned lineno = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    lineno++;
    size_t len = strlen(line);
    if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
      base_log(BASE_LOG_ERROR, "node", "config line %u: too long", lineno);
      return ERR_CONFIG;
    }
    int rc = config_line(cfg, line, seen, lineno);
    if (rc != OK) {
      return rc;
    }
  }
  return ferror(f) ? ERR_IO : OK;
}

int node_config_load(struct node_config *cfg, const char *home) {
  node_config_defaults(cfg, home);
  char path[NODE_PATH_MAX + 16];
  if (strlen(home) >= NODE_PATH_MAX - 32 || config_path(path, sizeof path, home, "config") != OK) {
    base_log(BASE_LOG_ERROR, "node", "config: home path too long");
    return ERR_CONFIG;
  }
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    int e = errno;
    base_log(BASE_LOG_ERROR, "node", "config: cannot open HOME/config (errno %d)", e);
    return e == ENOENT ? ERR_NOT_FOUND : ERR_IO;
  }
  int rc = config_parse(cfg, f);
  fclose(f);
  return rc;
}

static int config_print(const struct node_config *cfg, FILE *f) {
  int len = fprintf(f,
                    "# medchain node configuration\n"
                    "name = %s\n"
                    "api = %s:%u\n"
                    "p2p_port = %u\n"
                    "block_interval_ms = %u\n"
                    "heartbeat_ms = %u\n"
                    "map_mb = %llu\n"
                    "log_json = %s\n"
                    "timeout_propose_ms = %u\n"
                    "timeout_vote_ms = %u\n",
                    cfg->name, cfg->api_host, (unsigned)cfg->api_port, (unsigned)cfg->p2p_port,
                    (unsigned)cfg->block_interval_ms, (unsigned)cfg->heartbeat_ms,
                    (unsigned long long)(cfg->map_bytes >> 20), cfg->log_json ? "true" : "false",
                    (unsigned)cfg->timeout_propose_ms, (unsigned)cfg->timeout_vote_ms);
  for (uint16_t i = 0; len >= 0 && i < cfg->npeers; i++) {
    char hex[65];
    base_hex_encode(hex, cfg->peers[i].pk.b, sizeof cfg->peers[i].pk.b);
    len = fprintf(f, "peer = %s@%s:%u\n", hex, cfg->peers[i].host, (unsigned)cfg->peers[i].port);
  }
  if (len >= 0) {
    len = fprintf(f, "blob_quota_mb = %llu\n", (unsigned long long)(cfg->blob_quota_bytes >> 20));
  }
  for (uint16_t i = 0; len >= 0 && i < cfg->noperators; i++) {
    len = fprintf(f, "operator_key = %s\n", cfg->operator_keys[i]);
  }
  for (uint16_t i = 0; len >= 0 && i < cfg->nsources; i++) {
    len = fprintf(f, "blob_source = %s\n", cfg->blob_sources[i]);
  }
  return len < 0 ? ERR_IO : OK;
}

/* The rules config_set applies to each value, over a whole config. */
static bool config_valid(const struct node_config *cfg) {
  struct in_addr addr;
  uint64_t mb = cfg->map_bytes >> 20;
  if (strnlen(cfg->name, sizeof cfg->name) == sizeof cfg->name ||
      strnlen(cfg->api_host, sizeof cfg->api_host) == sizeof cfg->api_host ||
      strnlen(cfg->home, sizeof cfg->home) == sizeof cfg->home) {
    return false;
  }
  return name_ok(cfg->name) && inet_pton(AF_INET, cfg->api_host, &addr) == 1 &&
         cfg->api_port != 0 && cfg->p2p_port != 0 && cfg->block_interval_ms >= 1 &&
         cfg->block_interval_ms <= CONFIG_MS_MAX && cfg->heartbeat_ms >= 1 &&
         cfg->heartbeat_ms <= CONFIG_MS_MAX && cfg->timeout_propose_ms >= 10 &&
         cfg->timeout_propose_ms <= CONFIG_MS_MAX && cfg->timeout_vote_ms >= 10 &&
         cfg->timeout_vote_ms <= CONFIG_MS_MAX && cfg->npeers <= LIM_VALIDATORS_MAX && mb >= 1 &&
         mb <= CONFIG_MAP_MB_MAX && (cfg->map_bytes & ((1u << 20) - 1)) == 0 &&
         cfg->noperators <= LIM_OPERATORS_MAX && cfg->nsources <= LIM_BLOB_SOURCES_MAX &&
         (cfg->blob_quota_bytes >> 20) >= 1 &&
         (cfg->blob_quota_bytes >> 20) <= CONFIG_QUOTA_MB_MAX &&
         (cfg->blob_quota_bytes & ((1u << 20) - 1)) == 0;
}

int node_config_write(const struct node_config *cfg) {
  /* Written values must load back. */
  if (!config_valid(cfg)) {
    return ERR_CONFIG;
  }
  char path[NODE_PATH_MAX + 16];
  char tmp[NODE_PATH_MAX + 16];
  if (config_path(path, sizeof path, cfg->home, "config") != OK ||
      config_path(tmp, sizeof tmp, cfg->home, "config.tmp") != OK) {
    return ERR_CONFIG;
  }
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    return ERR_IO;
  }
  int rc = config_print(cfg, f);
  if (rc == OK && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
    rc = ERR_IO;
  }
  if (fclose(f) != 0 && rc == OK) {
    rc = ERR_IO;
  }
  if (rc == OK && rename(tmp, path) != 0) {
    rc = ERR_IO;
  }
  if (rc != OK) {
    (void)unlink(tmp);
  }
  return rc;
}
