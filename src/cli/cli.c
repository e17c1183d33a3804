/*
 * cli — dispatch from the command table.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int cli_main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0) {
    fprintf(stderr, "usage: medchain <command> [options]\n");
    return argc < 2 ? 2 : 0;
  }
  fprintf(stderr, "medchain: unknown command '%s'\n", argv[1]);
  return 2;
}
