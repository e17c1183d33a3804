/*
 * gs1 — GS1 identification keys as medchain reads and writes them. Prefix:
 * gs1_. Pure: depends only on base; no allocation, no clock.
 *
 *  - Check digits of GTIN-8/12/13/14, GLN-13 and SSCC-18 (GS1 General
 *    Specifications 7.9: weights 3,1,3,1... from the right, mod 10).
 *  - SGTIN and SSCC as EPC pure-identity URIs (EPC Tag Data Standard):
 *    urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial and
 *    urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef. The GS1 Company
 *    Prefix length (6..12 digits) is not derivable from the key itself, so
 *    writers take it as an argument and readers recover it from the dot.
 *  - GS1 Digital Link URIs: https://id.gs1.org/01/{gtin}/10/{lot}/21/{serial}
 *    ?17={yymmdd} (and /00/{sscc}).
 *  - Element strings as scanned from a GS1 DataMatrix: AIs 00, 01, 10, 17,
 *    21 in any order, FNC1 transmitted as GS (0x1D) after each
 *    variable-length field that is not last, with or without a symbology
 *    identifier ("]d2", "]Q3", "]C1"); also the human-readable form
 *    "(01)...(17)...(10)...(21)...".
 *
 * Strings returned in the structs are NUL-terminated copies. Serials and
 * lots are 1..20 characters of the GS1 AI encodable set 82.
 *
 * Dates: AI 17 is YYMMDD. Day 00 means the last day of the month (General
 * Specifications 7.12). The century is fixed to 2000..2099 instead of
 * GS1's sliding window, which depends on today's date; medchain's rules
 * must not (a package's expiry must read the same on every node forever).
 */
#ifndef MEDCHAIN_GS1_H
#define MEDCHAIN_GS1_H

#include "base/base.h"

#define GS1_GTIN_LEN 14
#define GS1_GLN_LEN 13
#define GS1_SSCC_LEN 18
#define GS1_SERIAL_MAX 20
#define GS1_LOT_MAX 20
#define GS1_PREFIX_MIN 6
#define GS1_PREFIX_MAX 12
/* Longest URI gs1_ writes: a Digital Link with a 20-character lot and
 * serial, each escaped (3 bytes a character), and an expiry. */
#define GS1_URI_MAX 256
/* Longest element string or URI gs1_element_parse accepts. */
#define GS1_INPUT_MAX 512

/* The check digit (0..9) that completes body[0..n), n digits; -1 when a
 * character is not a digit or n is 0. */
int gs1_check_digit(const char *body, size_t n);
/* Whether key[0..n) is all digits and its last digit is its check digit. */
bool gs1_key_valid(const char *key, size_t n);

/* A GTIN-8, -12, -13 or -14 as a 14-digit GTIN (left-padded with zeros)
 * into out (15 bytes with the NUL). Returns OK, ERR_GS1_MALFORMED (length
 * or characters) or ERR_GS1_CHECK_DIGIT. */
int gs1_gtin_normalize(char out[GS1_GTIN_LEN + 1], const char *s, size_t n) MUST_CHECK;
/* A 13-digit GLN: OK, ERR_GS1_MALFORMED or ERR_GS1_CHECK_DIGIT. */
int gs1_gln_check(const char *s, size_t n) MUST_CHECK;
/* Whether s[0..n) is a serial or lot: 1..20 characters of set 82. */
bool gs1_text_ok(const char *s, size_t n);

/* A calendar date; yyyymmdd is year*10000 + month*100 + day. */
/* Parses AI 17's YYMMDD (day 00 = last day of the month) into *yyyymmdd.
 * OK or ERR_GS1_MALFORMED (not a date). */
int gs1_date_parse(uint32_t *yyyymmdd, const char *s, size_t n) MUST_CHECK;
/* Whether yyyymmdd is a real date between 2000-01-01 and 2099-12-31. */
bool gs1_date_valid(uint32_t yyyymmdd);
/* The UTC calendar date of a Unix time in milliseconds, as yyyymmdd. */
uint32_t gs1_date_of_ms(uint64_t unix_ms);

/* What one scan (or URI) carries. Absent fields are "" (expiry 0). */
struct gs1_element {
  char gtin[GS1_GTIN_LEN + 1];
  char sscc[GS1_SSCC_LEN + 1];
  char serial[GS1_SERIAL_MAX + 1];
  char lot[GS1_LOT_MAX + 1];
  uint32_t expiry; /* yyyymmdd, end of month resolved; 0 when absent */
  char expiry_raw[7];
};

/* Parses a DataMatrix element string (GS separators, optional symbology
 * identifier), its human-readable "(01)..." form, or a GS1 Digital Link
 * URI. A GTIN or SSCC is required; each AI at most once; check digits
 * verified. Returns OK, ERR_GS1_MALFORMED (unknown AI, bad length or
 * character, repeated AI, no key) or ERR_GS1_CHECK_DIGIT. */
int gs1_element_parse(struct gs1_element *out, const char *s, size_t n) MUST_CHECK;

/* ---- EPC URIs ------------------------------------------------------------ */

enum gs1_epc_kind { GS1_EPC_SGTIN = 1, GS1_EPC_SSCC = 2 };

/* A parsed EPC: an SGTIN (gtin, serial) or an SSCC (sscc); prefix_len is
 * the company prefix length the URI used. */
struct gs1_epc {
  enum gs1_epc_kind kind;
  char gtin[GS1_GTIN_LEN + 1];
  char serial[GS1_SERIAL_MAX + 1];
  char sscc[GS1_SSCC_LEN + 1];
  uint8_t prefix_len;
};

/* urn:epc:id:sgtin:... for a 14-digit GTIN and serial, with the company
 * prefix prefix_len digits long; serial characters outside the URI's safe
 * set are %-escaped. Returns OK, ERR_GS1_MALFORMED (bad GTIN, serial or
 * prefix length), ERR_GS1_CHECK_DIGIT or ERR_OVERSIZE (cap). */
int gs1_sgtin_uri(char *out, size_t cap, const char *gtin14, const char *serial,
                  unsigned prefix_len) MUST_CHECK;
/* urn:epc:id:sscc:... for an 18-digit SSCC. Same returns. */
int gs1_sscc_uri(char *out, size_t cap, const char *sscc18, unsigned prefix_len) MUST_CHECK;
/* Parses an SGTIN or SSCC EPC URI; the check digit is recomputed. Returns
 * OK or ERR_GS1_MALFORMED. */
int gs1_epc_parse(struct gs1_epc *out, const char *s, size_t n) MUST_CHECK;
/* The canonical EPC URI of e (re-encoded from its parts). */
int gs1_epc_uri(char *out, size_t cap, const struct gs1_epc *e) MUST_CHECK;
/* The GS1 Digital Link URI of an EPC, on https://id.gs1.org (the
 * canonical form the EPCIS event hash uses): /01/{gtin}/21/{serial} or
 * /00/{sscc}. OK or ERR_OVERSIZE. */
int gs1_epc_dl(char *out, size_t cap, const struct gs1_epc *e) MUST_CHECK;
/* The Digital Link URI of a scanned element: /01/{gtin}[/10/{lot}]
 * [/21/{serial}][?17=yymmdd], or /00/{sscc}. OK or ERR_OVERSIZE. */
int gs1_element_dl(char *out, size_t cap, const struct gs1_element *e) MUST_CHECK;

#endif
