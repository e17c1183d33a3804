/*
 * cli — the medchain command: a table of subcommands, one file each
 * (cmd_keygen.c, cmd_node.c, ...). Prefix: cli_.
 */
#ifndef MEDCHAIN_CLI_H
#define MEDCHAIN_CLI_H

/* Runs the command line; returns the process exit code (0 on success). */
int cli_main(int argc, char **argv);

#endif
