/* json.c — see json.h. Recursive descent over the grammar of RFC 8259,
 * one cursor through the text; recursion is bounded by
 * IAMP_JSON_DEPTH_MAX. UTF-8 and control bytes are checked first, for
 * the whole text, by iamp_text_check (a raw control byte is never valid
 * JSON: inside strings it must be escaped, outside only blanks may be). */
#include "common/json.h"

#include "common/text.h"

#include <stdio.h>
#include <string.h>

struct cursor {
    const char *s;
    size_t len, pos;
    int depth;
    const char *err; /* the first error, a literal */
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
            for (int k = 0; outer && k < n_keys; k++)
                if (strlen(keys[k]) == b - a && memcmp(c->s + a, keys[k], b - a) == 0)
                    *found |= 1u << k;
            skip_blanks(c);
            if (peek(c) != ':')
                return fail(c, "expected ':'");
            c->pos++;
        }
        if (value(c, 0, NULL, 0, NULL))
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
    unsigned none = 0;
    if (!found)
        found = &none;
    *found = 0;
    if (n_keys < 0 || n_keys > 32)
        return IAMP_EINVAL;
    if (iamp_text_check(s, len, why, whylen))
        return IAMP_EPARSE;
    struct cursor c = {s, len, 0, 0, NULL};
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
