/* json.c — see json.h. Recursive descent over the grammar of RFC 8259,
 * one cursor through the text; recursion is bounded by
 * IAMP_JSON_DEPTH_MAX. The value readers (strings, integer lists,
 * numbers) work on spans the checker already passed, so they only
 * decode. UTF-8 and control bytes are checked first, for
 * the whole text, by iamp_text_check (a raw control byte is never valid
 * JSON: inside strings it must be escaped, outside only blanks may be). */
#include "common/json.h"

#include "common/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
    const char *s;
    size_t len, pos;
    int depth;
    const char *err;              /* the first error, a literal */
    struct iamp_json_span *spans; /* (n_keys) the outer keys' values; NULL: not wanted */
};

static int fail(struct cursor *c, const char *err)
{
    if (!c->err)
        c->err = err;
    return -1;
}

static int peek(const struct cursor *c)
{
    return c->pos < c->len ? (unsigned char)c->s[c->pos] : -1;
}

static void skip_blanks(struct cursor *c)
{
    while (c->pos < c->len && strchr(" \t\r\n", c->s[c->pos]) && c->s[c->pos])
        c->pos++;
}

static int is_hex(int ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* A string at the cursor (on its opening quote); [*start, *end) is its
 * raw content. */
static int string(struct cursor *c, size_t *start, size_t *end)
{
    c->pos++; /* the quote */
    *start = c->pos;
    for (;;) {
        int ch = peek(c);
        if (ch < 0)
            return fail(c, "unterminated string");
        if (ch == '"')
            break;
        if (ch < 0x20)
            return fail(c, "control character in a string");
        c->pos++;
        if (ch != '\\')
            continue;
        ch = peek(c);
        if (ch < 0 || !strchr("\"\\/bfnrtu", ch))
            return fail(c, "bad escape in a string");
        c->pos++;
        for (int k = 0; ch == 'u' && k < 4; k++, c->pos++)
            if (!is_hex(peek(c)))
                return fail(c, "bad \\u escape in a string");
    }
    *end = c->pos++;
    return 0;
}

static size_t digits(struct cursor *c)
{
    size_t n = 0;
    while (peek(c) >= '0' && peek(c) <= '9') {
        c->pos++;
        n++;
    }
    return n;
}

static int number(struct cursor *c)
{
    if (peek(c) == '-')
        c->pos++;
    if (peek(c) == '0')
        c->pos++;
    else if (digits(c) == 0)
        return fail(c, "bad number");
    if (peek(c) == '.') {
        c->pos++;
        if (digits(c) == 0)
            return fail(c, "bad number: no digits after '.'");
    }
    if (peek(c) == 'e' || peek(c) == 'E') {
        c->pos++;
        if (peek(c) == '+' || peek(c) == '-')
            c->pos++;
        if (digits(c) == 0)
            return fail(c, "bad number: no digits in the exponent");
    }
    return 0;
}

static int literal(struct cursor *c, const char *word)
{
    size_t n = strlen(word);
    if (c->len - c->pos < n || memcmp(c->s + c->pos, word, n) != 0)
        return fail(c, "not a JSON value");
    c->pos += n;
    return 0;
}

static int value(struct cursor *c, int outer, const char *const *keys, int n_keys, unsigned *found);

/* An object or array at the cursor; for the outer object, the keys found. */
static int container(struct cursor *c, int outer, const char *const *keys, int n_keys,
                     unsigned *found)
{
    int is_obj = peek(c) == '{';
    int close = is_obj ? '}' : ']';
    if (++c->depth > IAMP_JSON_DEPTH_MAX)
        return fail(c, "nested too deep");
    c->pos++;
    skip_blanks(c);
    if (peek(c) == close) {
        c->pos++;
        c->depth--;
        return 0;
    }
    for (;;) {
        skip_blanks(c);
        if (is_obj) {
            size_t a, b;
            if (peek(c) != '"')
                return fail(c, "expected a member name");
            if (string(c, &a, &b))
                return -1;
            int key = -1;
            for (int k = 0; outer && k < n_keys; k++)
                if (strlen(keys[k]) == b - a && memcmp(c->s + a, keys[k], b - a) == 0)
                    key = k;
            skip_blanks(c);
            if (peek(c) != ':')
                return fail(c, "expected ':'");
            c->pos++;
            skip_blanks(c);
            size_t at = c->pos;
            if (value(c, 0, NULL, 0, NULL))
                return -1;
            if (key >= 0)
                *found |= 1u << key;
            if (key >= 0 && c->spans)
                c->spans[key] = (struct iamp_json_span){at, c->pos};
        } else if (value(c, 0, NULL, 0, NULL))
            return -1;
        skip_blanks(c);
        int ch = peek(c);
        if (ch != close && ch != ',')
            return fail(c, is_obj ? "expected ',' or '}'" : "expected ',' or ']'");
        c->pos++;
        if (ch == close)
            break;
    }
    c->depth--;
    return 0;
}

static int value(struct cursor *c, int outer, const char *const *keys, int n_keys, unsigned *found)
{
    size_t a, b;
    skip_blanks(c);
    int ch = peek(c);
    if (ch == '{' || ch == '[')
        return container(c, outer, keys, n_keys, found);
    if (ch == '"')
        return string(c, &a, &b);
    if (ch == '-' || (ch >= '0' && ch <= '9'))
        return number(c);
    if (ch == 't')
        return literal(c, "true");
    if (ch == 'f')
        return literal(c, "false");
    if (ch == 'n')
        return literal(c, "null");
    return fail(c, ch < 0 ? "unexpected end" : "not a JSON value");
}

int iamp_json_check_object(const char *s, size_t len, const char *const *keys, int n_keys,
                           unsigned *found, char *why, size_t whylen)
{
    return iamp_json_object_spans(s, len, keys, n_keys, found, NULL, why, whylen);
}

int iamp_json_object_spans(const char *s, size_t len, const char *const *keys, int n_keys,
                           unsigned *found, struct iamp_json_span *spans, char *why, size_t whylen)
{
    unsigned none = 0;
    if (!found)
        found = &none;
    *found = 0;
    if (n_keys < 0 || n_keys > 32)
        return IAMP_EINVAL;
    if (iamp_text_check(s, len, why, whylen))
        return IAMP_EPARSE;
    struct cursor c = {s, len, 0, 0, NULL, spans};
    skip_blanks(&c);
    if (peek(&c) != '{')
        fail(&c, "not a JSON object");
    else if (!value(&c, 1, keys, n_keys, found)) {
        skip_blanks(&c);
        if (c.pos < c.len)
            fail(&c, "more after the object");
    }
    if (!c.err)
        return 0;
    snprintf(why, whylen, "byte %zu: %s", (c.pos < c.len ? c.pos : c.len) + 1, c.err);
    *found = 0;
    return IAMP_EPARSE;
}

/* ---------------------------------------------------------- values */

static int hex4(const char *p)
{
    int v = 0;
    for (int k = 0; k < 4; k++) {
        int ch = (unsigned char)p[k];
        v = v * 16 + (ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
    }
    return v;
}

/* Code point u as UTF-8 at out[*n] (room checked by the caller). */
static void put_utf8(char *out, size_t *n, long u)
{
    if (u < 0x80) {
        out[(*n)++] = (char)u;
    } else if (u < 0x800) {
        out[(*n)++] = (char)(0xc0 | (u >> 6));
        out[(*n)++] = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
        out[(*n)++] = (char)(0xe0 | (u >> 12));
        out[(*n)++] = (char)(0x80 | ((u >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (u & 0x3f));
    } else {
        out[(*n)++] = (char)(0xf0 | (u >> 18));
        out[(*n)++] = (char)(0x80 | ((u >> 12) & 0x3f));
        out[(*n)++] = (char)(0x80 | ((u >> 6) & 0x3f));
        out[(*n)++] = (char)(0x80 | (u & 0x3f));
    }
}

/* The escape at p (just after its backslash): its code point, *used
 * bytes after the backslash; -1 for a lone surrogate or a \u0000. */
static long unescape(const char *p, const char *end, size_t *used)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = strchr(from, *p);
    *used = 1;
    if (*p != 'u')
        return k ? to[k - from] : -1;
    long u = hex4(p + 1);
    *used = 5;
    if (u >= 0xdc00 && u < 0xe000)
        return -1;
    if (u >= 0xd800 && u < 0xdc00) {
        if (end - (p + 5) < 6 || p[5] != '\\' || p[6] != 'u')
            return -1;
        long lo = hex4(p + 7);
        if (lo < 0xdc00 || lo >= 0xe000)
            return -1;
        *used = 11;
        return 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
    }
    return u == 0 ? -1 : u;
}

int iamp_json_string_value(const char *s, struct iamp_json_span sp, char *out, size_t outlen)
{
    if (sp.end - sp.start < 2 || s[sp.start] != '"' || outlen == 0)
        return IAMP_EPARSE;
    const char *p = s + sp.start + 1, *end = s + sp.end - 1;
    size_t n = 0;
    while (p < end) {
        if (n + 4 >= outlen)
            return IAMP_ERANGE;
        if (*p != '\\') {
            out[n++] = *p++;
            continue;
        }
        size_t used;
        long u = unescape(p + 1, end, &used);
        if (u < 0)
            return IAMP_EPARSE;
        put_utf8(out, &n, u);
        p += 1 + used;
    }
    out[n] = '\0';
    return 0;
}

int iamp_json_int_list(const char *s, struct iamp_json_span sp, long *out, int max, int *n)
{
    const char *p = s + sp.start, *end = s + sp.end;
    *n = 0;
    if (p == end || *p != '[')
        return IAMP_EPARSE;
    for (p++;;) {
        while (p < end && strchr(" \t\r\n", *p))
            p++;
        if (*p == ']' && *n == 0)
            return 0;
        const char *num = p;
        if (*p == '-')
            p++;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == num || (p - num == 1 && *num == '-') || p - num > 18)
            return IAMP_EPARSE; /* not a number, or one beyond any list's use */
        if (*n == max)
            return IAMP_ERANGE;
        out[(*n)++] = strtol(num, NULL, 10);
        while (p < end && strchr(" \t\r\n", *p))
            p++;
        if (*p == ']')
            return 0;
        if (*p != ',')
            return IAMP_EPARSE; /* a fraction, an exponent, or not a number */
        p++;
    }
}

int iamp_json_number_value(const char *s, struct iamp_json_span sp, double *out)
{
    char buf[64];
    size_t len = sp.end - sp.start;
    int ch = (unsigned char)s[sp.start];
    if (len == 0 || len >= sizeof(buf) || !(ch == '-' || (ch >= '0' && ch <= '9')))
        return IAMP_EPARSE;
    memcpy(buf, s + sp.start, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}
