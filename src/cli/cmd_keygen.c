/*
 * keygen — writes a new keystore and prints the identity it holds.
 *
 *   medchain keygen --out FILE [--no-passphrase] [--seed HEX32] [--json]
 *
 * The keystore is protected by a passphrase (Argon2id, see crypto.h) from
 * MEDCHAIN_PASSPHRASE or typed twice on the terminal; --no-passphrase
 * writes an unprotected one for tests. --seed derives the keys from a
 * known 32-byte seed (reproducible fixtures); without it they are fresh
 * random keys. An existing file is never overwritten. Only public values
 * are printed: the id and the two public keys.
 */
#include "cli/cli_internal.h"

#include <string.h>
#include <unistd.h>

static int cli_keygen_keys(struct cry_keys **out, const char *seed_hex) {
  if (seed_hex == NULL) {
    *out = cry_keys_generate();
    return *out != NULL ? OK : ERR_NOMEM;
  }
  uint8_t seed[CRY_SEED_BYTES];
  if (strlen(seed_hex) != 2 * CRY_SEED_BYTES ||
      base_hex_decode(seed, sizeof(seed), seed_hex) != OK) {
    cry_wipe(seed, sizeof(seed));
    return ERR_USAGE;
  }
  *out = cry_keys_from_seed(seed);
  cry_wipe(seed, sizeof(seed));
  return *out != NULL ? OK : ERR_NOMEM;
}

static void cli_keygen_print(const struct cry_keys *k, const char *file, bool protected_,
                             bool json) {
  struct cli_key_hex h;
  cli_key_hex(&h, k);
  if (json) {
    printf("{\"id\":\"%s\",\"sign_pk\":\"%s\",\"box_pk\":\"%s\",\"file\":", h.id, h.sign_pk,
           h.box_pk);
    cli_json_str(stdout, file);
    printf("}\n");
    return;
  }
  printf("wrote %s (%s)\n", file, protected_ ? "passphrase-protected" : "unprotected");
  printf("id:      %s\n", h.id);
  printf("sign_pk: %s\n", h.sign_pk);
  printf("box_pk:  %s\n", h.box_pk);
}

static int cli_keygen_passphrase_fail(int rc) {
  if (rc == ERR_USAGE) {
    return cli_usage("keygen", "no passphrase: set MEDCHAIN_PASSPHRASE, run on a terminal, or "
                               "pass --no-passphrase");
  }
  if (rc == ERR_BAD_PASSPHRASE) {
    return cli_fail(rc, "the passphrase is empty or the two entries differ");
  }
  return cli_fail(rc, "could not read the passphrase");
}

int cli_cmd_keygen(int argc, char **argv) {
  const char *out = NULL;
  const char *seed_hex = NULL;
  bool no_pass = false;
  bool json = false;
  struct cli_opt opts[] = {
      {"out", CLI_OPT_STR, &out, false},
      {"no-passphrase", CLI_OPT_FLAG, &no_pass, false},
      {"seed", CLI_OPT_STR, &seed_hex, false},
      {"json", CLI_OPT_FLAG, &json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 0, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("keygen", "%s", err);
  }
  if (out == NULL) {
    return cli_usage("keygen", "--out FILE is required");
  }
  if (access(out, F_OK) == 0) {
    return cli_fail(ERR_EXISTS, "%s already exists; keygen never overwrites a keystore", out);
  }
  struct cry_keys *keys = NULL;
  int rc = cli_keygen_keys(&keys, seed_hex);
  if (rc != OK) {
    return rc == ERR_USAGE ? cli_usage("keygen", "--seed wants 64 hex digits") : cli_fail(rc, NULL);
  }
  char *pass = cry_secret_alloc(CLI_PASSPHRASE_MAX);
  if (pass == NULL) {
    cry_keys_destroy(keys);
    return cli_fail(ERR_NOMEM, NULL);
  }
  pass[0] = '\0';
  int exit_code = CLI_EXIT_OK;
  if (!no_pass) {
    rc = cli_passphrase_new(pass, CLI_PASSPHRASE_MAX);
    if (rc != OK) {
      exit_code = cli_keygen_passphrase_fail(rc);
      goto fail;
    }
  }
  rc = cry_keystore_write(out, keys, no_pass ? NULL : pass, false);
  if (rc != OK) {
    exit_code = cli_fail(rc, "could not write the keystore %s", out);
    goto fail;
  }
  cli_keygen_print(keys, out, !no_pass, json);
fail:
  cry_secret_free(pass);
  cry_keys_destroy(keys);
  return exit_code;
}
