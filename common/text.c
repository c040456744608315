/* text.c — see text.h. UTF-8 as RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
#include "common/text.h"

#include <stdio.h>
#include <string.h>

/* Bytes of the valid UTF-8 sequence at s (at most n long), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    if (len == 0 || len > n)
        return 0;
    unsigned long cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const unsigned long least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static int is_control(unsigned c)
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}

int iamp_text_check(const char *s, size_t len, char *why, size_t whylen)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_len(u + i, len - i);
        if (k == 0) {
            snprintf(why, whylen, "is not valid UTF-8 (byte 0x%02x at column %zu)", u[i], i + 1);
            return IAMP_EPARSE;
        }
        if (k == 1 && u[i] == 0) {
            snprintf(why, whylen, "contains a NUL byte at column %zu", i + 1);
            return IAMP_EPARSE;
        }
        if (k == 1 && is_control(u[i])) {
            snprintf(why, whylen, "contains a control character (0x%02x) at column %zu", u[i],
                     i + 1);
            return IAMP_EPARSE;
        }
        i += k;
    }
    return 0;
}

size_t iamp_text_printable(char *dst, size_t cap, const char *src)
{
    const unsigned char *u = (const unsigned char *)src;
    size_t n = strlen(src), out = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_len(u + i, n - i);
        int escape = k == 0 || (k == 1 && is_control(u[i]));
        size_t need = escape ? 4 : k;
        if (out + need + 1 > cap)
            break;
        if (escape)
            snprintf(dst + out, 5, "\\x%02x", u[i]);
        else
            memcpy(dst + out, u + i, k);
        out += need;
        i += escape ? 1 : k;
    }
    if (cap > 0)
        dst[out] = '\0';
    return out;
}
