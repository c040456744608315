/* options.c — see options.h. */
#include "common/options.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HELP_COLUMN 27 /* where help text starts */
#define TEXT_WORDS_MAX 64

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---------------------------------------------------------- values */

static int parse_ll(const char *what, const char *text, long long lo, long long hi, long long *out,
                    char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return fail(err, errlen, "%s '%s' is not an integer", what, text);
    if (v < lo || v > hi)
        return fail(err, errlen, "%s %lld is out of range [%lld, %lld]", what, v, lo, hi);
    *out = v;
    return 0;
}

int iamp_opt_u64(const char *what, const char *text, uint64_t *out, char *err, size_t errlen)
{
    char *end = NULL;
    if (text[0] == '-')
        return fail(err, errlen, "%s '%s' must not be negative", what, text);
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return fail(err, errlen, "%s '%s' is not a non-negative integer", what, text);
    *out = (uint64_t)v;
    return 0;
}

/* v in [lo, hi], or in [lo, hi) with below_hi (for a float, also once
 * rounded to float: 0.99999999 is 1.0f). */
static int parse_double(const char *what, const char *text, double lo, double hi, int below_hi,
                        int as_float, double *out, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v))
        return fail(err, errlen, "%s '%s' is not a number", what, text);
    double top = as_float ? (double)(float)v : v;
    if (v < lo || (below_hi ? top >= hi : v > hi))
        return fail(err, errlen, "%s %g is out of range [%g, %g%c", what, v, lo, hi,
                    below_hi ? ')' : ']');
    *out = v;
    return 0;
}

static int parse_choice(const struct iamp_opt *o, const char *what, const char *text, uint32_t *out,
                        char *err, size_t errlen)
{
    char words[256] = "";
    size_t used = 0;
    for (int i = 0; o->choices[i]; i++) {
        if (strcmp(o->choices[i], text) == 0) {
            *out = (uint32_t)(o->set + i);
            return 0;
        }
        int w = snprintf(words + used, sizeof(words) - used, "%s%s", i ? ", " : "", o->choices[i]);
        used += w > 0 && (size_t)w < sizeof(words) - used ? (size_t)w : 0;
    }
    return fail(err, errlen, "%s '%s' is not one of: %s", what, text, words);
}

/* Integers of every width through one range check. */
static int store_integer(const struct iamp_opt *o, const char *what, const char *text, void *at,
                         char *err, size_t errlen)
{
    long long v = 0;
    if (parse_ll(what, text, (long long)o->lo, (long long)o->hi, &v, err, errlen))
        return -1;
    if (o->kind == IAMP_OPT_INT)
        *(int *)at = (int)v;
    else if (o->kind == IAMP_OPT_LONG)
        *(long *)at = (long)v;
    else if (o->kind == IAMP_OPT_U32)
        *(uint32_t *)at = (uint32_t)v;
    else
        *(size_t *)at = (size_t)v;
    return 0;
}

static int store(const struct iamp_opt *o, char *gbase, const char *text, char *err, size_t errlen)
{
    char what[80];
    void *at = gbase + o->offset;
    double d = 0.0;
    snprintf(what, sizeof(what), "--%s", o->name);
    switch (o->kind) {
    case IAMP_OPT_FLAG:
        *(int *)at = o->set;
        return 0;
    case IAMP_OPT_U64:
        if (iamp_opt_u64(what, text, (uint64_t *)at, err, errlen))
            return -1;
        if (o->hi > 0 && (double)*(uint64_t *)at > o->hi)
            return fail(err, errlen, "%s %s is out of range [%.0f, %.0f]", what, text, o->lo,
                        o->hi);
        return 0;
    case IAMP_OPT_FLOAT:
    case IAMP_OPT_DOUBLE:
        if (parse_double(what, text, o->lo, o->hi, (o->flags & IAMP_OPT_BELOW_HI) != 0,
                         o->kind == IAMP_OPT_FLOAT, &d, err, errlen))
            return -1;
        if (o->kind == IAMP_OPT_FLOAT)
            *(float *)at = (float)d;
        else
            *(double *)at = d;
        return 0;
    case IAMP_OPT_STR:
        *(const char **)at = text;
        return 0;
    case IAMP_OPT_TEXT:
        if (strlen(text) + 1 > (size_t)o->hi || (o->lo > 0 && !text[0]))
            return fail(err, errlen, "%s must be %d to %d bytes", what, (int)o->lo, (int)o->hi - 1);
        memcpy(at, text, strlen(text) + 1);
        return 0;
    case IAMP_OPT_CHOICE:
        return parse_choice(o, what, text, (uint32_t *)at, err, errlen);
    default:
        return store_integer(o, what, text, at, err, errlen);
    }
}

/* ---------------------------------------------------------- parsing */

/* The row named by "--name" or "--name=value" (name of len bytes). */
static const struct iamp_opt *find(const struct iamp_opt_group *g, int n, const char *name,
                                   size_t len, int *gi)
{
    for (int k = 0; k < n; k++)
        for (const struct iamp_opt *o = g[k].opts; o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) {
                *gi = k;
                return o;
            }
    return NULL;
}

/* One option at argv[*i]: its value (next argument or after '='), then
 * stored. 0, or -1 with err. */
static int take(const struct iamp_opt_group *g, const struct iamp_opt *o, char *base, int argc,
                char **argv, int *i, char *err, size_t errlen)
{
    const char *eq = strchr(argv[*i], '=');
    const char *text = NULL;
    if (o->kind == IAMP_OPT_FLAG && eq)
        return fail(err, errlen, "--%s takes no value", o->name);
    if (o->kind != IAMP_OPT_FLAG) {
        if (eq)
            text = eq + 1;
        else if (*i + 1 < argc)
            text = argv[++*i];
        else
            return fail(err, errlen, "missing value for --%s", o->name);
    }
    char *gbase = base + g->base;
    if (store(o, gbase, text, err, errlen))
        return -1;
    if (o->seen)
        *(int *)(gbase + o->seen - 1) = 1;
    return 0;
}

int iamp_opts_parse(const struct iamp_opt_group *groups, int n_groups, void *base, int argc,
                    char **argv, int flags, char *err, size_t errlen)
{
    int out = 1, pass = flags & IAMP_OPTS_PASS, rest = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        int is_opt = !rest && a[0] == '-' && a[1] != '\0';
        if (is_opt && strcmp(a, "--") == 0) {
            rest = 1;
            if (pass)
                argv[out++] = a;
            continue;
        }
        if (is_opt && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) && !pass)
            return IAMP_OPTS_HELP;
        int gi = 0;
        const struct iamp_opt *o =
            is_opt && a[1] == '-' ? find(groups, n_groups, a + 2, strcspn(a + 2, "="), &gi) : NULL;
        if (!o && is_opt && !pass)
            return fail(err, errlen, "unknown option '%s'", a);
        if (!o) {
            argv[out++] = a;
            continue;
        }
        if (take(&groups[gi], o, base, argc, argv, &i, err, errlen))
            return -1;
    }
    argv[out] = NULL;
    return out - 1;
}

int iamp_opts_parse_text(const struct iamp_opt_group *groups, int n_groups, void *base,
                         const char *text, char *words, size_t wordlen, char *err, size_t errlen)
{
    char *argv[TEXT_WORDS_MAX + 2] = {"options"};
    int argc = 1;
    if ((size_t)snprintf(words, wordlen, "%s", text) >= wordlen)
        return fail(err, errlen, "longer than %zu bytes", wordlen - 1);
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (argc > TEXT_WORDS_MAX)
            return fail(err, errlen, "more than %d words", TEXT_WORDS_MAX);
        argv[argc++] = w;
    }
    int k = iamp_opts_parse(groups, n_groups, base, argc, argv, 0, err, errlen);
    if (k == IAMP_OPTS_HELP)
        return fail(err, errlen, "--help is not an option here");
    if (k > 0)
        return fail(err, errlen, "'%s' is not an option", argv[1]);
    return k;
}

/* ---------------------------------------------------------- help */

/* The value at `at` of a numeric row (not U64) as a double; 0 when the row
 * holds no such number. */
static int number_at(const struct iamp_opt *o, const void *at, double *v)
{
    switch (o->kind) {
    case IAMP_OPT_INT:
        *v = *(const int *)at;
        return 1;
    case IAMP_OPT_LONG:
        *v = (double)*(const long *)at;
        return 1;
    case IAMP_OPT_U32:
        *v = *(const uint32_t *)at;
        return 1;
    case IAMP_OPT_SIZE:
        *v = (double)*(const size_t *)at;
        return 1;
    case IAMP_OPT_FLOAT:
        *v = *(const float *)at;
        return 1;
    case IAMP_OPT_DOUBLE:
        *v = *(const double *)at;
        return 1;
    default:
        return 0;
    }
}

/* The default of o as text; "" when none is shown (a number whose default
 * lies outside its range means "not given"). */
static void default_text(const struct iamp_opt *o, const char *gbase, char *buf, size_t len)
{
    const void *at = gbase + o->offset;
    double v;
    buf[0] = '\0';
    if (number_at(o, at, &v)) {
        int integral = o->kind != IAMP_OPT_FLOAT && o->kind != IAMP_OPT_DOUBLE;
        if (o->hi <= o->lo || (v >= o->lo && v <= o->hi))
            snprintf(buf, len, integral ? "%.0f" : "%g", v);
    } else if (o->kind == IAMP_OPT_U64) {
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)at);
    } else if (o->kind == IAMP_OPT_STR) {
        snprintf(buf, len, "%s", *(const char *const *)at ? *(const char *const *)at : "");
    } else if (o->kind == IAMP_OPT_TEXT) {
        snprintf(buf, len, "%s", (const char *)at);
    } else if (o->kind == IAMP_OPT_CHOICE) {
        int64_t i = (int64_t) * (const uint32_t *)at - o->set, n = 0;
        while (o->choices[n])
            n++;
        if (i >= 0 && i < n)
            snprintf(buf, len, "%s", o->choices[i]);
    }
}

static void help_row(FILE *f, const struct iamp_opt *o, const char *gbase)
{
    char head[96], def[128] = "";
    int n = snprintf(head, sizeof(head), "  --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
    fputs(head, f);
    if (n >= HELP_COLUMN - 1)
        fprintf(f, "\n%*s", HELP_COLUMN, "");
    else
        fprintf(f, "%*s", HELP_COLUMN - n, "");
    if (gbase && !(o->flags & IAMP_OPT_NO_DEFAULT))
        default_text(o, gbase, def, sizeof(def));
    for (const char *p = o->help; *p;) {
        size_t line = strcspn(p, "\n");
        fprintf(f, "%.*s", (int)line, p);
        p += line;
        if (*p == '\n' && *++p)
            fprintf(f, "\n%*s", HELP_COLUMN, "");
    }
    if (def[0])
        fprintf(f, " (default %s)", def);
    fputc('\n', f);
}

void iamp_opts_help(FILE *f, const struct iamp_opt_group *groups, int n_groups,
                    const void *defaults)
{
    for (int k = 0; k < n_groups; k++) {
        if (groups[k].title)
            fprintf(f, "\n%s:\n", groups[k].title);
        const char *gbase = defaults ? (const char *)defaults + groups[k].base : NULL;
        for (const struct iamp_opt *o = groups[k].opts; o->name; o++)
            help_row(f, o, gbase);
    }
}
