/*
 * cli_opt — the one option parser every command uses. A command declares
 * its options as a small table of {name, kind, where to store}; the parser
 * walks argv once, with no global state (unlike getopt's optind), so it can
 * run any number of times in one process and in unit tests.
 *
 * Grammar: "--name" (flag), "--name VALUE" or "--name=VALUE" (string,
 * number); options and positional words mix freely; a lone "--" makes every
 * following word positional. A word that starts with "--" but names no
 * option is an error, never silently a positional: a typo must not turn
 * into a contract argument.
 */
#include "cli/cli_internal.h"

#include <stdio.h>
#include <string.h>

static struct cli_opt *cli_opt_lookup(struct cli_opt *opts, size_t nopts, const char *name,
                                      size_t name_len) {
  for (size_t i = 0; i < nopts; i++) {
    if (strlen(opts[i].name) == name_len && memcmp(opts[i].name, name, name_len) == 0) {
      return &opts[i];
    }
  }
  return NULL;
}

static int cli_opt_store(struct cli_opt *o, const char *value, char *err, size_t errlen) {
  if (o->kind == CLI_OPT_STR) {
    *(const char **)o->out = value;
    return OK;
  }
  uint64_t v = 0;
  if (base_parse_u64(&v, value) != OK) {
    snprintf(err, errlen, "--%s wants a decimal number, not '%s'", o->name, value);
    return ERR_USAGE;
  }
  *(uint64_t *)o->out = v;
  return OK;
}

/* Handles the option word argv[*i] (which starts with "--"), consuming its
 * value from argv[*i + 1] when it has one. */
static int cli_opt_word(struct cli_opt *opts, size_t nopts, int argc, char **argv, int *i,
                        char *err, size_t errlen) {
  const char *word = argv[*i] + 2;
  const char *eq = strchr(word, '=');
  size_t name_len = eq != NULL ? (size_t)(eq - word) : strlen(word);
  struct cli_opt *o = cli_opt_lookup(opts, nopts, word, name_len);
  if (o == NULL) {
    snprintf(err, errlen, "unknown option '--%.*s'", (int)name_len, word);
    return ERR_USAGE;
  }
  if (o->seen) {
    snprintf(err, errlen, "option --%s given twice", o->name);
    return ERR_USAGE;
  }
  o->seen = true;
  if (o->kind == CLI_OPT_FLAG) {
    if (eq != NULL) {
      snprintf(err, errlen, "option --%s takes no value", o->name);
      return ERR_USAGE;
    }
    *(bool *)o->out = true;
    return OK;
  }
  if (eq != NULL) {
    return cli_opt_store(o, eq + 1, err, errlen);
  }
  if (*i + 1 >= argc) {
    snprintf(err, errlen, "option --%s needs a value", o->name);
    return ERR_USAGE;
  }
  *i += 1;
  return cli_opt_store(o, argv[*i], err, errlen);
}

int cli_opts_parse(struct cli_opt *opts, size_t nopts, int argc, char **argv, char **pos,
                   size_t pos_cap, size_t *npos, char *err, size_t errlen) {
  bool only_pos = false;
  *npos = 0;
  if (errlen > 0) {
    err[0] = '\0';
  }
  for (size_t k = 0; k < nopts; k++) {
    opts[k].seen = false;
  }
  for (int i = 0; i < argc; i++) {
    const char *w = argv[i];
    if (!only_pos && strcmp(w, "--") == 0) {
      only_pos = true;
      continue;
    }
    if (!only_pos && strncmp(w, "--", 2) == 0) {
      int rc = cli_opt_word(opts, nopts, argc, argv, &i, err, errlen);
      if (rc != OK) {
        return rc;
      }
      continue;
    }
    if (*npos >= pos_cap) {
      snprintf(err, errlen, "unexpected argument '%s'", w);
      return ERR_USAGE;
    }
    pos[*npos] = argv[i];
    *npos += 1;
  }
  return OK;
}

bool cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      return false;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      return true;
    }
  }
  return false;
}

int cli_opts_home(int argc, char **argv, const char *command, const char **home, bool *json) {
  *home = NULL;
  *json = false;
  struct cli_opt opts[] = {
      {"home", CLI_OPT_STR, home, false},
      {"json", CLI_OPT_FLAG, json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 0, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage(command, "%s", err);
  }
  if (*home == NULL) {
    return cli_usage(command, "--home HOME is required");
  }
  return CLI_EXIT_OK;
}
