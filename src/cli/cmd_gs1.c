/*
 * gs1 — read GS1 keys offline, as a scanner or a trading partner's file
 * gives them.
 *
 *   medchain gs1 parse STRING [--json]
 *
 * STRING is a DataMatrix element string (GS as the byte 0x1D, or written
 * "\x1d" or "<GS>" on a command line), its "(01)...(21)..." form, a GS1
 * Digital Link URI, or an SGTIN/SSCC EPC URI. Prints the GTIN (or SSCC),
 * serial, lot and expiry (YYYY-MM-DD, day 00 resolved to the month's end),
 * the EPC URI when the company prefix length is given (--prefix-len), and
 * the Digital Link URI. A wrong check digit fails with GS1_CHECK_DIGIT.
 */
#include "cli/cli_internal.h"
#include "gs1/gs1.h"

#include <string.h>

/* Replaces the typed spellings of GS ("\x1d", "<GS>", "\\G") with 0x1D. */
static void gs_unescape(char *out, size_t cap, const char *in) {
  size_t o = 0;
  for (size_t i = 0; in[i] != '\0' && o + 1 < cap;) {
    if (strncmp(in + i, "\\x1d", 4) == 0 || strncmp(in + i, "\\x1D", 4) == 0) {
      out[o++] = 0x1d;
      i += 4;
    } else if (strncmp(in + i, "<GS>", 4) == 0) {
      out[o++] = 0x1d;
      i += 4;
    } else {
      out[o++] = in[i++];
    }
  }
  out[o] = '\0';
}

static void print_date(FILE *f, uint32_t d, bool json) {
  if (d == 0) {
    fputs(json ? "null" : "-", f);
    return;
  }
  fprintf(f, json ? "\"%04u-%02u-%02u\"" : "%04u-%02u-%02u", d / 10000, (d / 100) % 100, d % 100);
}

static void print_field(FILE *f, const char *name, const char *v, bool json, bool last) {
  if (!json) {
    printf("%-7s %s\n", name, v[0] != '\0' ? v : "-");
    return;
  }
  fprintf(f, "\"%s\":", name);
  if (v[0] == '\0') {
    fputs("null", f);
  } else {
    cli_json_str(f, v);
  }
  fputs(last ? "" : ",", f);
}

/* An EPC URI input: turned into the element it names. */
static int from_epc(struct gs1_element *e, const char *s, unsigned *prefix_len) {
  struct gs1_epc epc;
  int rc = gs1_epc_parse(&epc, s, strlen(s));
  if (rc != OK) {
    return rc;
  }
  memset(e, 0, sizeof(*e));
  memcpy(e->gtin, epc.gtin, sizeof(e->gtin));
  memcpy(e->sscc, epc.sscc, sizeof(e->sscc));
  memcpy(e->serial, epc.serial, sizeof(e->serial));
  *prefix_len = epc.prefix_len;
  return OK;
}

static int gs1_print(const struct gs1_element *e, unsigned prefix_len, bool json) {
  char dl[GS1_URI_MAX];
  char epc[GS1_URI_MAX] = "";
  if (gs1_element_dl(dl, sizeof(dl), e) != OK) {
    return cli_fail(ERR_OVERSIZE, NULL);
  }
  if (prefix_len != 0) {
    int rc = e->gtin[0] != '\0'
                 ? (e->serial[0] != '\0'
                        ? gs1_sgtin_uri(epc, sizeof(epc), e->gtin, e->serial, prefix_len)
                        : OK)
                 : gs1_sscc_uri(epc, sizeof(epc), e->sscc, prefix_len);
    if (rc != OK) {
      return cli_fail(rc, "the company prefix length must be 6 to 12 digits");
    }
  }
  FILE *f = stdout;
  if (json) {
    fputc('{', f);
  }
  print_field(f, "gtin", e->gtin, json, false);
  print_field(f, "sscc", e->sscc, json, false);
  print_field(f, "serial", e->serial, json, false);
  print_field(f, "lot", e->lot, json, false);
  if (json) {
    fputs("\"expiry\":", f);
  } else {
    printf("%-7s ", "expiry");
  }
  print_date(f, e->expiry, json);
  fputs(json ? "," : "\n", f);
  print_field(f, "epc", epc, json, false);
  print_field(f, "dl", dl, json, true);
  if (json) {
    fputs("}\n", f);
  }
  return CLI_EXIT_OK;
}

int cli_cmd_gs1(int argc, char **argv) {
  bool json = false;
  uint64_t prefix_len = 0;
  struct cli_opt opts[] = {{"json", CLI_OPT_FLAG, &json, false},
                           {"prefix-len", CLI_OPT_U64, &prefix_len, false}};
  char err[256];
  char *pos[2];
  size_t npos = 0;
  if (cli_opts_parse(opts, ARRAY_LEN(opts), argc - 1, argv + 1, pos, 2, &npos, err, sizeof(err)) !=
      OK) {
    return cli_usage("gs1", "%s", err);
  }
  if (npos != 2 || strcmp(pos[0], "parse") != 0) {
    return cli_usage("gs1", "expected: parse STRING");
  }
  if (prefix_len > GS1_PREFIX_MAX) {
    return cli_usage("gs1", "--prefix-len is 6 to 12");
  }
  char in[GS1_INPUT_MAX + 1];
  if (strlen(pos[1]) > GS1_INPUT_MAX) {
    return cli_fail(ERR_GS1_MALFORMED, "the input is longer than %d characters", GS1_INPUT_MAX);
  }
  gs_unescape(in, sizeof(in), pos[1]);
  struct gs1_element e;
  unsigned plen = (unsigned)prefix_len;
  int rc = strncmp(in, "urn:epc:id:", 11) == 0 ? from_epc(&e, in, &plen)
                                               : gs1_element_parse(&e, in, strlen(in));
  if (rc == ERR_GS1_CHECK_DIGIT) {
    return cli_fail(rc, "wrong check digit in the GTIN or SSCC");
  }
  if (rc != OK) {
    return cli_fail(rc, "not a GS1 element string, Digital Link or EPC URI (AIs 00, 01, 10, "
                        "17, 21; GS after variable-length fields)");
  }
  return gs1_print(&e, plen, json);
}
