/*
 * import — bring outside data into medchain as encrypted records.
 *
 *   medchain import ecg --node URL --key FILE --patient ID --in FILE.hea|FILE.csv
 *                       [--freq HZ] [--gain G] [--name NAME] [--effective DATETIME] [--json]
 *
 * A PhysioNet WFDB record (format 212 or 16) or a CSV becomes a FHIR R4
 * Observation with one SampledData component per lead (docs/ecg.md), which
 * is encrypted on this machine and anchored like any record (cmd_records.c:
 * category "cardiology", FHIR type "Observation"). Only the practitioner's
 * key signs; the plaintext never leaves this process unencrypted.
 */
#include "cli/cli_internal.h"

#include "api/api.h"
#include "crypto/crypto.h"
#include "ecg/ecg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int import_ecg(int argc, char **argv) {
  struct cli_ecg_convert o = {0};
  const char *node = NULL, *key = NULL;
  struct cli_opt opts[] = {
      {"node", CLI_OPT_STR, &node, false},         {"key", CLI_OPT_STR, &key, false},
      {"patient", CLI_OPT_STR, &o.patient, false}, {"in", CLI_OPT_STR, &o.in, false},
      {"freq", CLI_OPT_STR, &o.freq, false},       {"gain", CLI_OPT_STR, &o.gain, false},
      {"name", CLI_OPT_STR, &o.name, false},       {"effective", CLI_OPT_STR, &o.effective, false},
      {"json", CLI_OPT_FLAG, &o.json, false},
  };
  char err[256];
  char *pos[1];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc, argv, pos, 0, &npos, err, sizeof(err)) != OK) {
    return cli_usage("import", "%s", err);
  }
  node = cli_node_url(node);
  if (node == NULL || key == NULL || o.patient == NULL || o.in == NULL) {
    return cli_usage("import", "import ecg needs --node, --key, --patient and --in");
  }
  struct ecg_record r;
  ecg_record_init(&r);
  char *json = NULL;
  int rc = cli_ecg_observation(&o, &r, &json);
  struct hash32 record;
  if (rc == OK) {
    rc = cli_record_put(node, key, o.patient, "cardiology", "Observation", (const uint8_t *)json,
                        strlen(json), &record);
  }
  if (rc == OK) {
    char hex[65];
    base_hash_hex(hex, &record);
    if (o.json) {
      printf("{\"record\":\"%s\",\"leads\":%u,\"samples\":%u,\"bytes\":%zu}\n", hex,
             (unsigned)r.nleads, (unsigned)r.nsamples, strlen(json));
    } else {
      printf("ECG imported: record %s (%u leads, %u samples each, encrypted)\n", hex,
             (unsigned)r.nleads, (unsigned)r.nsamples);
    }
  }
  if (json != NULL) {
    cry_wipe(json, strlen(json));
  }
  free(json);
  ecg_record_deinit(&r);
  return cli_exit_code(rc);
}

int cli_cmd_import(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "ecg") != 0) {
    return cli_usage("import", "import knows one kind of data: ecg");
  }
  return import_ecg(argc - 2, argv + 2);
}
