/* json.h — checks that a text is JSON (RFC 8259), for files iamp reads
 * back and passes on (the metrics and trace JSONL that `iamp report`
 * embeds in a page), and reads the few values of an outer object that a
 * reader of JSONL input needs (`iamp train --demonstrations`). A checker
 * and span finder, not a tree builder: it allocates nothing, and says
 * where the text first goes wrong.
 */
#ifndef IAMP_JSON_H
#define IAMP_JSON_H

#include "common/error.h"

#include <stddef.h>

#define IAMP_JSON_DEPTH_MAX 256 /* arrays and objects nested at most */

/* 0 when s[0, len) is one JSON object with only whitespace around it,
 * valid UTF-8 throughout, nested at most IAMP_JSON_DEPTH_MAX deep. Else
 * IAMP_EPARSE and why says what is wrong at which byte (from 1). found
 * (may be NULL) gets bit i set when keys[i] (of n_keys <= 32) names a
 * member of the outer object itself; keys written with escapes are not
 * matched. */
IAMP_WUR int iamp_json_check_object(const char *s, size_t len, const char *const *keys, int n_keys,
                                    unsigned *found, char *why, size_t whylen);

/* Where a value lies in the text: [start, end), blanks excluded. */
struct iamp_json_span {
    size_t start, end;
};

/* iamp_json_check_object, and for each keys[i] that the outer object
 * names (bit i of *found), spans[i] (of n_keys; may be NULL) gets its
 * value's span (the last one when a key repeats); other spans are left
 * as they were. */
IAMP_WUR int iamp_json_object_spans(const char *s, size_t len, const char *const *keys, int n_keys,
                                    unsigned *found, struct iamp_json_span *spans, char *why,
                                    size_t whylen);

/* The readers below take a span that iamp_json_object_spans found in s
 * (so valid JSON) and say IAMP_EPARSE when the value is of another kind. */

/* A string, unescaped to UTF-8 into out (NUL-terminated); IAMP_ERANGE
 * when it needs more than outlen - 4 bytes, IAMP_EPARSE for a lone
 * surrogate or an escaped NUL. */
IAMP_WUR int iamp_json_string_value(const char *s, struct iamp_json_span sp, char *out,
                                    size_t outlen);
/* A list of integers (no fraction, no exponent, at most 18 digits) into
 * out[0, *n); IAMP_ERANGE when it has more than max. */
IAMP_WUR int iamp_json_int_list(const char *s, struct iamp_json_span sp, long *out, int max,
                                int *n);
/* A number. */
IAMP_WUR int iamp_json_number_value(const char *s, struct iamp_json_span sp, double *out);

#endif
