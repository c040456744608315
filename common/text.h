/* text.h — the text iamp accepts and the text it prints.
 *
 * Question and task text must be valid UTF-8 without NUL or control
 * characters (tab aside); iamp_text_check says why not. Every reason a
 * server replies with or the CLI prints goes through iamp_text_printable,
 * which keeps valid, printable UTF-8 and writes every other byte as \xNN,
 * so a reply is valid UTF-8 (a protobuf string) and a terminal gets no
 * control bytes, whatever a request contained.
 */
#ifndef IAMP_TEXT_H
#define IAMP_TEXT_H

#include "common/error.h"

#include <stddef.h>

/* 0 when s[0, len) is acceptable text; else IAMP_EPARSE and why names the
 * first offending byte (its column, from 1). */
IAMP_WUR int iamp_text_check(const char *s, size_t len, char *why, size_t whylen);

/* src (NUL-terminated) into dst[cap] as printable UTF-8: control bytes,
 * DEL and bytes that are not part of valid UTF-8 become "\xNN"; cut at a
 * character boundary when dst is full; always terminated (cap > 0).
 * Returns the length written. */
size_t iamp_text_printable(char *dst, size_t cap, const char *src);

#endif
