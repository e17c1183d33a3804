/*
 * cli_keys — keystores and passphrases at the command line.
 *
 * A passphrase comes from MEDCHAIN_PASSPHRASE (scripts, CI) or is typed on
 * the terminal with echo turned off (termios); when stdin is not a
 * terminal and the variable is unset we refuse rather than read a secret
 * from a pipe by surprise. Passphrases live in guarded memory
 * (cry_secret_alloc), read from an unbuffered stdin, and are wiped when
 * freed on every path; the secret keys themselves never leave crypto's
 * guarded memory.
 */
#include "cli/cli_internal.h"

#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Reads one line from the terminal on stdin with echo off. The prompt goes
 * to stderr so stdout stays clean for --json. */
static int cli_tty_read_secret(const char *prompt, char *out, size_t cap) {
  struct termios saved;
  if (tcgetattr(STDIN_FILENO, &saved) != 0) {
    return ERR_IO;
  }
  struct termios quiet = saved;
  quiet.c_lflag &= ~(tcflag_t)ECHO;
  quiet.c_lflag |= ECHONL;
  fputs(prompt, stderr);
  fflush(stderr);
  if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
    return ERR_IO;
  }
  /* Unbuffered, so no copy of the typed secret stays in stdio's buffer. */
  (void)setvbuf(stdin, NULL, _IONBF, 0);
  int rc = OK;
  if (fgets(out, (int)cap, stdin) == NULL) {
    rc = ERR_IO;
    out[0] = '\0';
  }
  (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  size_t len = strlen(out);
  if (len > 0 && out[len - 1] == '\n') {
    out[len - 1] = '\0';
  } else if (rc == OK && len + 1 >= cap) {
    rc = ERR_OVERSIZE;
  }
  return rc;
}

static int cli_env_passphrase(char *out, size_t cap, bool *found) {
  const char *env = getenv("MEDCHAIN_PASSPHRASE");
  *found = env != NULL;
  if (env == NULL) {
    return OK;
  }
  size_t len = strlen(env);
  if (len >= cap) {
    return ERR_OVERSIZE;
  }
  memcpy(out, env, len + 1);
  return OK;
}

int cli_passphrase_new(char *out, size_t cap) {
  bool found = false;
  int rc = cli_env_passphrase(out, cap, &found);
  if (rc != OK) {
    return rc;
  }
  if (found) {
    return out[0] == '\0' ? ERR_BAD_PASSPHRASE : OK;
  }
  if (!isatty(STDIN_FILENO)) {
    return ERR_USAGE;
  }
  char *again = cry_secret_alloc(CLI_PASSPHRASE_MAX);
  if (again == NULL) {
    return ERR_NOMEM;
  }
  rc = cli_tty_read_secret("passphrase for the new keystore: ", out, cap);
  if (rc == OK) {
    rc = cli_tty_read_secret("same passphrase again: ", again, CLI_PASSPHRASE_MAX);
  }
  if (rc == OK && (strcmp(out, again) != 0 || out[0] == '\0')) {
    rc = ERR_BAD_PASSPHRASE; /* the entries differ, or are empty */
  }
  cry_secret_free(again);
  if (rc != OK) {
    cry_wipe(out, cap);
  }
  return rc;
}

int cli_keys_load(struct cry_keys **out, const char *path) {
  *out = NULL;
  int rc = cry_keystore_read(out, path, NULL);
  if (rc != ERR_BAD_PASSPHRASE) {
    return rc;
  }
  /* Protected: the environment's passphrase, or one typed once. */
  char *pass = cry_secret_alloc(CLI_PASSPHRASE_MAX);
  if (pass == NULL) {
    return ERR_NOMEM;
  }
  bool found = false;
  rc = cli_env_passphrase(pass, CLI_PASSPHRASE_MAX, &found);
  if (rc == OK && !found) {
    rc = isatty(STDIN_FILENO)
             ? cli_tty_read_secret("keystore passphrase: ", pass, CLI_PASSPHRASE_MAX)
             : ERR_BAD_PASSPHRASE;
  }
  if (rc == OK) {
    rc = cry_keystore_read(out, path, pass);
  }
  cry_secret_free(pass);
  return rc;
}

void cli_key_hex(struct cli_key_hex *out, const struct cry_keys *k) {
  struct pubkey pk;
  struct boxkey bk;
  struct hash32 id;
  cry_keys_sign_pk(k, &pk);
  cry_keys_box_pk(k, &bk);
  cry_id_from_pk(&id, &pk);
  base_hash_hex(out->id, &id);
  base_hex_encode(out->sign_pk, pk.b, sizeof(pk.b));
  base_hex_encode(out->box_pk, bk.b, sizeof(bk.b));
}
