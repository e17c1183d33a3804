/*
 * ecg internals shared by the module's files: bounded text scanning and
 * number parsing and printing. Private to src/ecg/.
 */
#ifndef MEDCHAIN_ECG_INTERNAL_H
#define MEDCHAIN_ECG_INTERNAL_H

#include "ecg/ecg.h"

/* A borrowed run of characters (not NUL-terminated). */
struct ecg_span {
  const char *p;
  size_t n;
};

/* Strict decimal integer: optional '-', 1..10 digits, within int32.
 * False otherwise. */
bool ecg_span_i32(struct ecg_span s, int32_t *out);
/* As ecg_span_i32, unsigned and without a sign. */
bool ecg_span_u32(struct ecg_span s, uint32_t *out);
/* A finite decimal number of [0-9.eE+-] (no hex, inf or nan), at most 40
 * characters. False otherwise. */
bool ecg_span_double(struct ecg_span s, double *out);
/* The shortest "%.Ng" text of v that reads back as v, into out[cap]
 * (cap >= 32). */
void ecg_double_text(char *out, size_t cap, double v);
/* True when every byte of s is printable ASCII (0x20..0x7e). */
bool ecg_span_printable(struct ecg_span s);
/* Copies s into out[cap] with a NUL; false when it does not fit. */
bool ecg_span_copy(char *out, size_t cap, struct ecg_span s);
/* Signal file names: 1..LIM_ECG_NAME_MAX of [A-Za-z0-9_.-], not starting
 * with '.'. */
bool ecg_file_name_valid(const char *s);
/* Splits the next line off *text (ending in "\n", "\r\n" or at the end of
 * the text) into *line without its terminator. False at the end. */
bool ecg_next_line(struct ecg_span *text, struct ecg_span *line);
/* The next run of characters up to a space or tab in *s (skipping leading
 * ones) into *tok. False when only blanks remain. */
bool ecg_next_token(struct ecg_span *s, struct ecg_span *tok);
/* s without leading and trailing blanks. */
struct ecg_span ecg_span_trim(struct ecg_span s);

#endif
