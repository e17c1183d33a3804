/*
 * cli — the medchain command: one table of subcommands (git's git.c), each
 * implemented in its own cmd_<name>.c, and the error line every command
 * prints.
 *
 * Conventions every command follows, so scripts can rely on them:
 *  - errors go to stderr as "medchain: CODE: message", CODE being the
 *    project's stable error name;
 *  - exit 0 on success, 1 on an operational error, 2 on a usage error;
 *  - --json switches stdout to one machine-readable JSON document;
 *  - --help (or -h) anywhere prints the command's synopsis and exits 0;
 *  - nothing secret (keys, passphrases) and no record payload is printed.
 */
#include "cli/cli.h"
#include "cli/cli_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct cli_command cli_commands[] = {
    {"keygen", cli_cmd_keygen,
     "medchain keygen --out FILE [--no-passphrase] [--seed HEX32] [--json]",
     "write a new keystore and print the identity's id and public keys"},
    {"testnet", cli_cmd_testnet,
     "medchain testnet init --nodes N --dir DIR [--base-port P] [--chain-id ID]\n"
     "                      [--orgs \"Name:kind,...\"] [--json]\n"
     "medchain testnet start --dir DIR [--json]\n"
     "medchain testnet stop --dir DIR [--json]\n"
     "medchain testnet status --dir DIR [--json]",
     "create, start, stop and inspect a local network of nodes"},
    {"node", cli_cmd_node, "medchain node --home HOME [--json]",
     "run one node in the foreground (its HTTP API address is in HOME/config)"},
    {"tx", cli_cmd_tx,
     "medchain tx --node URL --key FILE [--sender ID] [--nonce N] [--chain-id ID]\n"
     "            [--no-wait] [--print-only] [--json] CONTRACT.METHOD [name=value ...]",
     "sign a contract call, submit it and wait for its commit"},
    {"query", cli_cmd_query,
     "medchain query --node URL [--json] PATH\n"
     "medchain query --node URL status | methods | orgs | validators\n"
     "medchain query --node URL block H | tx HASH | identity ID | org ID\n"
     "medchain query --node URL consents --patient ID|--grantee ID | records --patient ID\n"
     "medchain query --node URL audit --patient ID | audit --record ID\n"
     "  --key FILE [--chain-id ID]: sign the request as FILE's identity (consents,\n"
     "  records and audit entries answer only signed requests; a protected keystore\n"
     "  takes MEDCHAIN_PASSPHRASE); --print-headers prints the signed headers instead\n"
     "  of sending (for event streams: /v1/events?patient=ID); --count N prints N\n"
     "  sets, each with a fresh nonce and followed by a blank line (load generators)",
     "read the chain and state through a node's HTTP API"},
    {"import", cli_cmd_import,
     "medchain import ecg --node URL --key FILE --patient ID --in FILE.hea|FILE.csv\n"
     "                    [--freq HZ] [--gain G] [--name NAME] [--effective DATETIME] [--json]\n"
     "  reads a PhysioNet WFDB record (format 212 or 16) or a CSV into a FHIR R4\n"
     "  Observation (one SampledData component per lead), encrypts it here and\n"
     "  anchors it as a cardiology record of the patient",
     "import an ECG as an encrypted, anchored record"},
    {"records", cli_cmd_records,
     "medchain records put --node URL --key FILE --patient ID --in FILE\n"
     "                     [--category C] [--fhir-type T] [--json]\n"
     "medchain records get --node URL --key FILE --record ID --out FILE\n"
     "                     [--purpose P] [--reason TEXT] [--json]\n"
     "medchain records share --node URL --key FILE --record ID --grantee ID\n"
     "                     --expires-ms T [--purpose P] [--json]\n"
     "medchain records export --node URL --key FILE --record ID --out-dir DIR\n"
     "                     [--format fhir|wfdb|212|16] [--json]\n"
     "  put encrypts FILE on this machine under a fresh key sealed to the patient\n"
     "  and the author, uploads the ciphertext and anchors it; get fetches it (the\n"
     "  node logs the access on chain first), checks its hash and decrypts it;\n"
     "  --purpose emergency with --reason is a break-glass read; share re-seals the\n"
     "  record's key to the grantee and grants a record-scoped consent; export writes\n"
     "  a record as FHIR JSON, or an ECG as a WFDB record",
     "store an encrypted record, or read one you may read"},
    {"appt", cli_cmd_appt,
     "medchain appt --node URL --key FILE [--via-clinic] book SLOT | cancel APPOINTMENT\n"
     "              | reschedule APPOINTMENT SLOT | open APPOINTMENT | view-key",
     "print a patient's appt.* call arguments (commitment, sealed salts, capability "
     "signature)"},
    {"verify", cli_cmd_verify, "medchain verify --home HOME [--json]",
     "re-verify every block, signature and state root of a node's data offline"},
    {"bench", cli_cmd_bench, "medchain bench [--nodes 1] [--txs N] [--clients C] [--json] [--keep]",
     "measure committed transactions per second on a throwaway local network"},
    {"ecg", cli_cmd_ecg,
     "medchain ecg convert --in FILE.hea|FILE.csv [--freq HZ] [--gain G] [--name NAME]\n"
     "                     [--patient ID] [--effective DATETIME] --out OBS.json [--json]\n"
     "medchain ecg export --in OBS.json --out-dir DIR [--format 212|16] [--json]",
     "convert an ECG between PhysioNet WFDB or CSV and a FHIR R4 Observation"},
    {"drugs", cli_cmd_drugs,
     "medchain drugs verify --node URL (--scan STRING | --gtin G --serial S [--lot L]\n"
     "                      [--expiry YYMMDD]) [--json]\n"
     "medchain drugs history --node URL --gtin G --serial S [--json]\n"
     "medchain drugs holders --node URL --gtin G --lot L [--json]",
     "verify a drug package, list a serial's history, or who holds a lot"},
    {"epcis", cli_cmd_epcis, "medchain epcis capture --node URL --key FILE --file DOC [--json]",
     "submit an EPCIS 2.0 JSON document as the key's organization"},
    {"gs1", cli_cmd_gs1, "medchain gs1 parse STRING [--prefix-len N] [--json]",
     "read a GS1 DataMatrix string, Digital Link or EPC URI (GTIN, serial, lot, expiry)"},
    {"version", cli_cmd_version, "medchain version [--json]", "print the version"},
    {"help", cli_cmd_help, "medchain help [COMMAND]", "list the commands, or show one's usage"},
};

size_t cli_command_count(void) {
  return ARRAY_LEN(cli_commands);
}

const struct cli_command *cli_command_at(size_t i) {
  if (i >= ARRAY_LEN(cli_commands)) {
    return NULL;
  }
  return &cli_commands[i];
}

const struct cli_command *cli_command_find(const char *name) {
  for (size_t i = 0; i < ARRAY_LEN(cli_commands); i++) {
    if (strcmp(cli_commands[i].name, name) == 0) {
      return &cli_commands[i];
    }
  }
  return NULL;
}

void cli_print_usage(FILE *f, const struct cli_command *cmd) {
  const char *line = cmd->usage;
  bool first = true;
  while (*line != '\0') {
    size_t len = strcspn(line, "\n");
    fprintf(f, "%s%.*s\n", first ? "usage: " : "       ", (int)len, line);
    first = false;
    line += len + (line[len] == '\n' ? 1 : 0);
  }
}

__attribute__((format(printf, 2, 0))) static void cli_vfail(const char *code, const char *fmt,
                                                            va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  fprintf(stderr, "medchain: %s: %s\n", code, msg);
}

int cli_fail(int err, const char *fmt, ...) {
  if (fmt == NULL) {
    fprintf(stderr, "medchain: %s: %s\n", err_name(err), err_str(err));
  } else {
    va_list ap;
    va_start(ap, fmt);
    cli_vfail(err_name(err), fmt, ap);
    va_end(ap);
  }
  return cli_exit_code(err == OK ? ERR_INTERNAL : err);
}

int cli_report(int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vfail(err_name(err), fmt, ap);
  va_end(ap);
  return err;
}

int cli_exit_code(int err) {
  if (err == OK) {
    return CLI_EXIT_OK;
  }
  return err == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int cli_fail_named(const char *code, const char *msg) {
  fprintf(stderr, "medchain: %s: %s\n", code, msg);
  return CLI_EXIT_FAIL;
}

int cli_usage(const char *command, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  cli_vfail(err_name(ERR_USAGE), fmt, ap);
  va_end(ap);
  const struct cli_command *cmd = cli_command_find(command);
  if (cmd != NULL) {
    cli_print_usage(stderr, cmd);
  }
  return CLI_EXIT_USAGE;
}

int cli_main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: medchain <command> [options]; 'medchain help' lists the commands\n");
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    name = "help";
  } else if (strcmp(name, "--version") == 0) {
    name = "version";
  }
  const struct cli_command *cmd = cli_command_find(name);
  if (cmd == NULL) {
    fprintf(stderr, "medchain: %s: unknown command '%s' (see 'medchain help')\n",
            err_name(ERR_USAGE), argv[1]);
    return CLI_EXIT_USAGE;
  }
  if (cmd->run != cli_cmd_help && cli_wants_help(argc - 1, argv + 1)) {
    cli_print_usage(stdout, cmd);
    return CLI_EXIT_OK;
  }
  if (cry_init() != OK) {
    return cli_fail(ERR_INTERNAL, "the crypto library failed to initialize");
  }
  return cmd->run(argc - 1, argv + 1);
}
