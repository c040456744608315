/* json.h — checks that a text is JSON (RFC 8259), for files iamp reads
 * back and passes on (the metrics and trace JSONL that `iamp report`
 * embeds in a page). A checker, not a parser: it builds nothing, and
 * says where the text first goes wrong.
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

#endif
