/*
 * version and help — what this binary is, and what it can do.
 *
 *   medchain version [--json]
 *   medchain help [COMMAND]
 *
 * help reads the command table in cli.c, so a new command shows up here by
 * being added there.
 */
#include "cli/cli_internal.h"

#ifndef MEDCHAIN_VERSION
#define MEDCHAIN_VERSION "0.0.0-dev"
#endif

int cli_cmd_version(int argc, char **argv) {
  bool json = false;
  struct cli_opt opts[] = {{"json", CLI_OPT_FLAG, &json, false}};
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 0, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("version", "%s", err);
  }
  if (json) {
    printf("{\"version\":\"%s\"}\n", MEDCHAIN_VERSION);
  } else {
    printf("medchain %s\n", MEDCHAIN_VERSION);
  }
  return CLI_EXIT_OK;
}

int cli_cmd_help(int argc, char **argv) {
  if (argc >= 2 && argv[1][0] != '-') {
    const struct cli_command *cmd = cli_command_find(argv[1]);
    if (cmd == NULL) {
      return cli_usage("help", "unknown command '%s'", argv[1]);
    }
    cli_print_usage(stdout, cmd);
    printf("\n%s\n", cmd->summary);
    return CLI_EXIT_OK;
  }
  FILE *out = stdout;
  fprintf(out, "usage: medchain <command> [options]   (every command takes --json and --help)\n\n");
  for (size_t i = 0; i < cli_command_count(); i++) {
    const struct cli_command *cmd = cli_command_at(i);
    fprintf(out, "  %-9s %s\n", cmd->name, cmd->summary);
  }
  fprintf(out,
          "\nerrors print as 'medchain: CODE: message'; exit 1 on errors, 2 on usage errors\n");
  return CLI_EXIT_OK;
}
