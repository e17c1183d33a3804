/*
 * Unit tests of the cli module: the option parser, the --orgs grammar,
 * slugs, method names, percentiles, JSON string output, reading the node's
 * answers to a submission, the testnet layout `testnet init` writes, and
 * the exit codes of the command table. Nothing here starts a node or opens
 * a socket; tests/integration drives the real processes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/cli_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- option parsing ------------------------------------------------------------ */

struct parsed {
  const char *out;
  bool flag;
  uint64_t n;
  char *pos[4];
  size_t npos;
  char err[256];
};

/* Parses the words of `line` (space-separated, at most 16) with the options
 * --out STR, --flag, --n U64. */
static int parse_line(struct parsed *p, const char *line) {
  static char buf[512];
  static char *words[16];
  int argc = 0;
  snprintf(buf, sizeof(buf), "%s", line);
  for (char *s = buf; *s != '\0' && argc < 16;) {
    while (*s == ' ') {
      *s++ = '\0';
    }
    if (*s == '\0') {
      break;
    }
    words[argc++] = s;
    while (*s != '\0' && *s != ' ') {
      s++;
    }
  }
  memset(p, 0, sizeof(*p));
  p->n = 7;
  struct cli_opt opts[] = {
      {"out", CLI_OPT_STR, &p->out, false},
      {"flag", CLI_OPT_FLAG, &p->flag, false},
      {"n", CLI_OPT_U64, &p->n, false},
  };
  return cli_opts_parse(opts, ARRAY_LEN(opts), argc, words, p->pos, ARRAY_LEN(p->pos), &p->npos,
                        p->err, sizeof(p->err));
}

static void test_opts_ok(void **state) {
  (void)state;
  struct parsed p;
  assert_int_equal(parse_line(&p, "a --out x.key b --flag --n 42 c"), OK);
  assert_string_equal(p.out, "x.key");
  assert_true(p.flag);
  assert_int_equal(p.n, 42);
  assert_int_equal(p.npos, 3);
  assert_string_equal(p.pos[0], "a");
  assert_string_equal(p.pos[1], "b");
  assert_string_equal(p.pos[2], "c");

  assert_int_equal(parse_line(&p, "--out=y --n=0"), OK);
  assert_string_equal(p.out, "y");
  assert_int_equal(p.n, 0);
  assert_false(p.flag);
  assert_int_equal(p.npos, 0);

  /* Defaults stay when an option is absent. */
  assert_int_equal(parse_line(&p, "word"), OK);
  assert_null(p.out);
  assert_int_equal(p.n, 7);

  /* After "--" everything is positional, even what looks like an option. */
  assert_int_equal(parse_line(&p, "--flag -- --out --n"), OK);
  assert_true(p.flag);
  assert_null(p.out);
  assert_int_equal(p.npos, 2);
  assert_string_equal(p.pos[0], "--out");

  /* A single dash is a word, not an option. */
  assert_int_equal(parse_line(&p, "-5 name=-x"), OK);
  assert_int_equal(p.npos, 2);
}

static void test_opts_errors(void **state) {
  (void)state;
  struct parsed p;
  assert_int_equal(parse_line(&p, "--nope"), ERR_USAGE);
  assert_non_null(strstr(p.err, "--nope"));
  assert_int_equal(parse_line(&p, "--out"), ERR_USAGE);
  assert_non_null(strstr(p.err, "needs a value"));
  assert_int_equal(parse_line(&p, "--out a --out b"), ERR_USAGE);
  assert_non_null(strstr(p.err, "twice"));
  assert_int_equal(parse_line(&p, "--n 12x"), ERR_USAGE);
  assert_int_equal(parse_line(&p, "--n -1"), ERR_USAGE);
  assert_int_equal(parse_line(&p, "--n 007"), ERR_USAGE);
  assert_int_equal(parse_line(&p, "--n 99999999999999999999"), ERR_USAGE);
  assert_int_equal(parse_line(&p, "--flag=yes"), ERR_USAGE);
  assert_int_equal(parse_line(&p, "a b c d e"), ERR_USAGE);
  assert_non_null(strstr(p.err, "'e'"));
  /* A prefix of an option name is not that option. */
  assert_int_equal(parse_line(&p, "--ou x"), ERR_USAGE);
}

static void test_wants_help(void **state) {
  (void)state;
  char *a[] = {"tx", "--node", "u", "--help"};
  char *b[] = {"tx", "-h"};
  char *c[] = {"tx", "--", "--help"};
  char *d[] = {"tx", "purpose=--help-me"};
  assert_true(cli_wants_help(4, a));
  assert_true(cli_wants_help(2, b));
  assert_false(cli_wants_help(3, c));
  assert_false(cli_wants_help(2, d));
}

/* ---- text helpers ----------------------------------------------------------------- */

static void test_slug(void **state) {
  (void)state;
  char s[64];
  assert_int_equal(cli_slug(s, sizeof(s), "Riverside General Hospital"), OK);
  assert_string_equal(s, "riverside-general-hospital");
  assert_int_equal(cli_slug(s, sizeof(s), "  St. Mary's -- Clinic (East)! "), OK);
  assert_string_equal(s, "st-mary-s-clinic-east");
  assert_int_equal(cli_slug(s, sizeof(s), "ACME2"), OK);
  assert_string_equal(s, "acme2");
  assert_int_equal(cli_slug(s, sizeof(s), " -- "), ERR_BAD_ARGS);
  assert_int_equal(cli_slug(s, 4, "abcd"), ERR_OVERSIZE);
  assert_int_equal(cli_slug(s, 5, "abcd"), OK);
  assert_int_equal(cli_slug(s, 5, "ab cd"), ERR_OVERSIZE);
}

static void test_orgs(void **state) {
  (void)state;
  struct cli_org orgs[4];
  size_t n = 0;
  char err[256];
  assert_int_equal(cli_orgs_parse(orgs, 4, &n, CLI_DEFAULT_ORGS, err, sizeof(err)), OK);
  assert_int_equal(n, 3);
  assert_string_equal(orgs[0].name, "Riverside General Hospital");
  assert_string_equal(orgs[0].kind, "hospital");
  assert_string_equal(orgs[2].kind, "regulator");

  assert_int_equal(
      cli_orgs_parse(orgs, 4, &n, " Acme : manufacturer ,Lab: Inc:lab", err, sizeof(err)), OK);
  assert_int_equal(n, 2);
  assert_string_equal(orgs[0].name, "Acme");
  assert_string_equal(orgs[0].kind, "manufacturer");
  assert_string_equal(orgs[1].name, "Lab: Inc"); /* the kind follows the last ':' */
  assert_string_equal(orgs[1].kind, "lab");

  assert_int_equal(cli_orgs_parse(orgs, 4, &n, "Acme", err, sizeof(err)), ERR_USAGE);
  assert_int_equal(cli_orgs_parse(orgs, 4, &n, "Acme:bank", err, sizeof(err)), ERR_USAGE);
  assert_non_null(strstr(err, "bank"));
  assert_int_equal(cli_orgs_parse(orgs, 4, &n, ":clinic", err, sizeof(err)), ERR_USAGE);
  assert_int_equal(cli_orgs_parse(orgs, 4, &n, "A:clinic,,B:clinic", err, sizeof(err)), ERR_USAGE);
  assert_int_equal(cli_orgs_parse(orgs, 4, &n, "A B:clinic,a-b:lab", err, sizeof(err)), ERR_USAGE);
  assert_non_null(strstr(err, "same organization"));
  assert_int_equal(cli_orgs_parse(orgs, 2, &n, "A:lab,B:lab,C:lab", err, sizeof(err)), ERR_USAGE);
  assert_int_equal(cli_orgs_parse(orgs, 4, &n, "--:lab", err, sizeof(err)), ERR_USAGE);
  assert_true(cli_org_kind_valid("insurer"));
  assert_false(cli_org_kind_valid("Hospital"));
}

static void test_split_method(void **state) {
  (void)state;
  char c[LIM_NAME_MAX + 1];
  char m[LIM_NAME_MAX + 1];
  assert_int_equal(cli_split_method("consent.grant", c, sizeof(c), m, sizeof(m)), OK);
  assert_string_equal(c, "consent");
  assert_string_equal(m, "grant");
  assert_int_equal(cli_split_method("consent", c, sizeof(c), m, sizeof(m)), ERR_USAGE);
  assert_int_equal(cli_split_method(".grant", c, sizeof(c), m, sizeof(m)), ERR_USAGE);
  assert_int_equal(cli_split_method("consent.", c, sizeof(c), m, sizeof(m)), ERR_USAGE);
  assert_int_equal(cli_split_method("a.b.c", c, sizeof(c), m, sizeof(m)), ERR_USAGE);
  assert_int_equal(cli_split_method("abcdef.g", c, 4, m, sizeof(m)), ERR_USAGE);
}

static void test_percentile(void **state) {
  (void)state;
  uint64_t v[100];
  for (size_t i = 0; i < 100; i++) {
    v[i] = i + 1;
  }
  assert_int_equal(cli_percentile(v, 100, 50), 50);
  assert_int_equal(cli_percentile(v, 100, 99), 99);
  assert_int_equal(cli_percentile(v, 100, 100), 100);
  assert_int_equal(cli_percentile(v, 100, 0), 1);
  assert_int_equal(cli_percentile(v, 1, 99), 1);
  assert_int_equal(cli_percentile(v, 3, 50), 2);
  assert_int_equal(cli_percentile(v, 0, 50), 0);
}

static void test_json_str(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  cli_json_str(f, "a\"b\\c\nd\te\x01/");
  fclose(f);
  assert_string_equal(text, "\"a\\\"b\\\\c\\nd\\te\\u0001/\"");
  free(text);
}

static void test_paths_and_urls(void **state) {
  (void)state;
  char out[16];
  assert_int_equal(cli_path(out, sizeof(out), "/tmp", "x"), OK);
  assert_string_equal(out, "/tmp/x");
  assert_int_equal(cli_path(out, sizeof(out), "/a/long/directory", "file"), ERR_OVERSIZE);
  char url[64];
  cli_api_url(url, sizeof(url), "127.0.0.1", 26600);
  assert_string_equal(url, "http://127.0.0.1:26600");
}

/* ---- answers from the node --------------------------------------------------------- */

static void test_tx_body(void **state) {
  (void)state;
  const uint8_t tx[] = {0x01, 0xab, 0xff};
  char *body = cli_tx_body(tx, sizeof(tx));
  assert_non_null(body);
  assert_string_equal(body, "{\"tx\":\"01abff\"}");
  free(body);
}

static void test_tx_result(void **state) {
  (void)state;
  struct cli_tx_result res;
  struct api_response r = {
      .status = 200,
      .body = "{\"hash\":\"aa\",\"status\":\"committed\",\"height\":12,\"index\":3,"
              "\"result\":\"OK\"}\n",
      .len = 0};
  cli_tx_result_parse(&r, &res);
  assert_int_equal(res.err, OK);
  assert_true(res.committed);
  assert_int_equal(res.height, 12);
  assert_int_equal(res.index, 3);
  assert_string_equal(res.code, "OK");

  /* Committed with an error: the error status, and where it landed. */
  r = (struct api_response){.status = 403,
                            .body =
                                "{\"error\":{\"code\":\"CONSENT_REQUIRED\",\"message\":\"no live "
                                "consent covers this access\"},\"status\":\"committed\","
                                "\"height\":5,\"index\":0,\"result\":\"CONSENT_REQUIRED\"}",
                            .len = 0};
  cli_tx_result_parse(&r, &res);
  assert_int_equal(res.err, ERR_CONSENT_REQUIRED);
  assert_true(res.committed);
  assert_int_equal(res.height, 5);
  assert_string_equal(res.code, "CONSENT_REQUIRED");
  assert_string_equal(res.msg, "no live consent covers this access");

  /* Rejected before the mempool. */
  r = (struct api_response){
      .status = 409, .body = "{\"error\":{\"code\":\"REPLAY\",\"message\":\"m\"}}", .len = 0};
  cli_tx_result_parse(&r, &res);
  assert_int_equal(res.err, ERR_REPLAY);
  assert_false(res.committed);

  /* Accepted without waiting. */
  r = (struct api_response){
      .status = 202, .body = "{\"hash\":\"aa\",\"status\":\"pending\"}", .len = 0};
  cli_tx_result_parse(&r, &res);
  assert_int_equal(res.err, OK);
  assert_false(res.committed);

  /* No answer at all, and an answer that is not ours. */
  r = (struct api_response){.status = 0, .body = NULL, .len = 0};
  cli_tx_result_parse(&r, &res);
  assert_int_equal(res.err, ERR_UNAVAILABLE);
  r = (struct api_response){.status = 502, .body = "<html>bad gateway</html>", .len = 0};
  cli_tx_result_parse(&r, &res);
  assert_int_equal(res.err, ERR_INTERNAL);
  assert_string_equal(res.code, "HTTP_502");
}

static void test_json_u64(void **state) {
  (void)state;
  uint64_t v = 0;
  assert_int_equal(cli_json_u64("{\"next_nonce\":3}", "next_nonce", &v), OK);
  assert_int_equal(v, 3);
  assert_int_equal(cli_json_u64("{\"a\":{\"b\":18446744073709551615}}", "a.b", &v) == OK ||
                       cli_json_u64("{\"a\":{\"b\":\"18446744073709551615\"}}", "a.b", &v) == OK,
                   1);
  assert_int_equal(cli_json_u64("{}", "next_nonce", &v), ERR_NOT_FOUND);
  assert_int_equal(cli_json_u64("{\"x\":-1}", "x", &v), ERR_MALFORMED);
  assert_int_equal(cli_json_u64(NULL, "x", &v), ERR_NOT_FOUND);
}

/* ---- files and the testnet layout ----------------------------------------------------- */

static void test_dirs(void **state) {
  (void)state;
  char dir[512];
  char sub[600];
  assert_int_equal(cli_mkdtemp(dir, sizeof(dir), "medchain-test-cli"), OK);
  assert_int_equal(cli_dir_prepare_empty(dir), OK);
  assert_int_equal(cli_path(sub, sizeof(sub), dir, "a/b/c"), OK);
  assert_int_equal(cli_dir_prepare_empty(sub), OK); /* created with parents */
  assert_int_equal(cli_dir_prepare_empty(dir), ERR_EXISTS);
  assert_int_equal(cli_path(sub, sizeof(sub), dir, "a/file"), OK);
  assert_int_equal(cli_file_write(sub, "hello", 5), OK);
  assert_int_equal(cli_dir_prepare_empty(sub), ERR_EXISTS); /* not a directory */
  assert_true(cli_file_allocated_bytes(sub) > 0);
  assert_int_equal(cli_rm_rf(dir), OK);
  assert_int_not_equal(access(dir, F_OK), 0);
  assert_int_equal(cli_rm_rf(dir), OK); /* absent is fine */
}

static void test_pid_files(void **state) {
  (void)state;
  char dir[512];
  pid_t pid = 0;
  assert_int_equal(cli_mkdtemp(dir, sizeof(dir), "medchain-test-cli"), OK);
  assert_int_equal(cli_pid_read(dir, &pid), ERR_NOT_FOUND);
  assert_int_equal(cli_home_pid(dir), 0);
  assert_int_equal(cli_pid_write(dir, getpid()), OK);
  assert_int_equal(cli_pid_read(dir, &pid), OK);
  assert_int_equal(pid, getpid());
  /* A zombie is not a running node, and waiting reaps it. */
  fflush(NULL);
  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    _exit(0);
  }
  cli_sleep_ms(100);
  assert_false(cli_pid_is_medchain(child));
  assert_true(cli_pid_wait_exit(child, 5000));
  assert_false(cli_pid_is_medchain(child));
  assert_false(cli_pid_is_medchain(-1));
  cli_pid_remove(dir);
  assert_int_equal(cli_pid_read(dir, &pid), ERR_NOT_FOUND);
  assert_int_equal(cli_rm_rf(dir), OK);
}

static void read_file(const char *path, uint8_t **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  *buf = malloc(65536);
  assert_non_null(*buf);
  *len = fread(*buf, 1, 65536, f);
  fclose(f);
}

static void test_testnet_init(void **state) {
  (void)state;
  assert_int_equal(cry_init(), OK);
  char dir[512];
  assert_int_equal(cli_mkdtemp(dir, sizeof(dir), "medchain-test-cli"), OK);
  struct cli_testnet_spec *spec = malloc(sizeof(*spec));
  struct ledger_genesis *g = malloc(sizeof(*g));
  struct ledger_genesis *back = malloc(sizeof(*back));
  assert_true(spec != NULL && g != NULL && back != NULL);
  cli_testnet_spec_defaults(spec, dir);
  spec->nodes = 3;
  spec->base_port = 31000;
  assert_int_equal(cli_testnet_init(spec, g), OK);
  assert_int_equal(g->nvalidators, 3);
  assert_int_equal(g->nmembers, 3);
  assert_int_equal(g->validators[2].power, 10);

  /* Every node holds the same genesis bytes, which decode to g. */
  uint8_t *first = NULL;
  size_t first_len = 0;
  for (uint32_t i = 0; i < 3; i++) {
    char home[NODE_PATH_MAX];
    char path[NODE_PATH_MAX + 32];
    assert_int_equal(cli_testnet_home(home, sizeof(home), spec->dir, i), OK);
    assert_int_equal(cli_path(path, sizeof(path), home, "genesis.bin"), OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    read_file(path, &buf, &len);
    if (first == NULL) {
      first = buf;
      first_len = len;
    } else {
      assert_int_equal(len, first_len);
      assert_memory_equal(buf, first, len);
      free(buf);
    }
    struct node_config cfg;
    assert_int_equal(node_config_load(&cfg, home), OK);
    assert_int_equal(cfg.api_port, 31000 + 10 * i);
    assert_int_equal(cfg.p2p_port, 31000 + 10 * i + 1);
    assert_string_equal(cfg.api_host, "127.0.0.1");
  }
  assert_int_equal(ledger_genesis_decode(back, first, first_len), OK);
  assert_string_equal(back->chain_id, CLI_DEFAULT_CHAIN_ID);
  assert_memory_equal(back->validators[1].pk.b, g->validators[1].pk.b, 32);
  assert_string_equal(back->members[0].name, "Riverside General Hospital");
  free(first);

  /* The admin keystores are unprotected and hold the genesis' admin keys. */
  char key[NODE_PATH_MAX + 64];
  assert_int_equal(cli_testnet_admin_key(key, sizeof(key), spec->dir, "Riverside General Hospital"),
                   OK);
  assert_non_null(strstr(key, "/keys/riverside-general-hospital-admin.key"));
  struct cry_keys *k = NULL;
  assert_int_equal(cry_keystore_read(&k, key, NULL), OK);
  struct pubkey pk;
  cry_keys_sign_pk(k, &pk);
  assert_memory_equal(pk.b, g->members[0].admin_pk.b, 32);
  cry_keys_destroy(k);

  /* A second init into the same directory refuses. */
  cli_testnet_spec_defaults(spec, dir);
  assert_int_equal(cli_testnet_init(spec, NULL), ERR_EXISTS);
  assert_int_equal(cli_rm_rf(dir), OK);
  free(back);
  free(g);
  free(spec);
}

/* ---- the command table ------------------------------------------------------------------ */

static int run(const char *a0, const char *a1, const char *a2, const char *a3) {
  char *argv[6] = {"medchain", (char *)a0, (char *)a1, (char *)a2, (char *)a3, NULL};
  int argc = 1;
  while (argc < 5 && argv[argc] != NULL) {
    argc++;
  }
  return cli_main(argc, argv);
}

static void test_exit_codes(void **state) {
  (void)state;
  unsetenv("MEDCHAIN_NODE");
  assert_int_equal(run(NULL, NULL, NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("frob", NULL, NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("version", NULL, NULL, NULL), CLI_EXIT_OK);
  assert_int_equal(run("version", "--json", NULL, NULL), CLI_EXIT_OK);
  assert_int_equal(run("help", NULL, NULL, NULL), CLI_EXIT_OK);
  assert_int_equal(run("help", "tx", NULL, NULL), CLI_EXIT_OK);
  assert_int_equal(run("help", "frob", NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("tx", "--help", NULL, NULL), CLI_EXIT_OK);
  assert_int_equal(run("keygen", NULL, NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("keygen", "--bogus", NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("testnet", NULL, NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("testnet", "init", "--dir", "/nonexistent/x"), CLI_EXIT_USAGE);
  assert_int_equal(run("testnet", "status", "--dir", "/nonexistent/x"), CLI_EXIT_FAIL);
  assert_int_equal(run("bench", "--nodes", "0", NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("bench", "--nodes", "65", NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("bench", "--target", "http://127.0.0.1:1", NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("query", NULL, NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("query", "methods", NULL, NULL), CLI_EXIT_OK);
  assert_int_equal(run("verify", NULL, NULL, NULL), CLI_EXIT_USAGE);
  assert_int_equal(run("verify", "--home", "/nonexistent/x", NULL), CLI_EXIT_FAIL);
  assert_int_equal(run("node", NULL, NULL, NULL), CLI_EXIT_USAGE);
}

static void test_keygen_seed(void **state) {
  (void)state;
  char dir[512];
  char path[600];
  assert_int_equal(cli_mkdtemp(dir, sizeof(dir), "medchain-test-cli"), OK);
  assert_int_equal(cli_path(path, sizeof(path), dir, "k.key"), OK);
  char *argv[] = {"medchain",
                  "keygen",
                  "--out",
                  path,
                  "--no-passphrase",
                  "--seed",
                  "0101010101010101010101010101010101010101010101010101010101010101",
                  NULL};
  assert_int_equal(cli_main(7, argv), CLI_EXIT_OK);
  /* Never overwrites. */
  assert_int_equal(cli_main(7, argv), CLI_EXIT_FAIL);
  /* The keys are the seed's. */
  uint8_t seed[32];
  memset(seed, 1, sizeof(seed));
  struct cry_keys *want = cry_keys_from_seed(seed);
  struct cry_keys *got = NULL;
  assert_int_equal(cry_keystore_read(&got, path, NULL), OK);
  struct cli_key_hex a;
  struct cli_key_hex b;
  cli_key_hex(&a, want);
  cli_key_hex(&b, got);
  assert_string_equal(a.id, b.id);
  assert_string_equal(a.box_pk, b.box_pk);
  cry_keys_destroy(want);
  cry_keys_destroy(got);
  /* A bad seed is a usage error and writes nothing. */
  assert_int_equal(cli_path(path, sizeof(path), dir, "bad.key"), OK);
  argv[6] = "0101";
  assert_int_equal(cli_main(7, argv), CLI_EXIT_USAGE);
  assert_int_not_equal(access(path, F_OK), 0);
  assert_int_equal(cli_rm_rf(dir), OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_opts_ok),        cmocka_unit_test(test_opts_errors),
      cmocka_unit_test(test_wants_help),     cmocka_unit_test(test_slug),
      cmocka_unit_test(test_orgs),           cmocka_unit_test(test_split_method),
      cmocka_unit_test(test_percentile),     cmocka_unit_test(test_json_str),
      cmocka_unit_test(test_paths_and_urls), cmocka_unit_test(test_tx_body),
      cmocka_unit_test(test_tx_result),      cmocka_unit_test(test_json_u64),
      cmocka_unit_test(test_dirs),           cmocka_unit_test(test_pid_files),
      cmocka_unit_test(test_testnet_init),   cmocka_unit_test(test_exit_codes),
      cmocka_unit_test(test_keygen_seed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
