/* options.h — command-line options from tables: one row per option says
 * its name, what kind of value it takes and its range, where the value is
 * stored and the line --help shows; one parser reads argv against the
 * rows and one printer writes the help from them (with the default read
 * from a struct holding the defaults), so an option is written once.
 *
 * Rows come in groups; each group's offsets are into one struct, which
 * sits at `base` in the caller's struct, so a table that another layer
 * owns (the training options in coordinator/train/plan.h) is reused as
 * it is inside a command's own struct.
 *
 * Options are GNU style, anywhere among the arguments: `--name VALUE`,
 * `--name=VALUE`, `--flag`; `--` ends them; `-h`/`--help` asks for help.
 * Errors come back as one line (no "iamp:" prefix: the caller adds what
 * failed). Generic: knows nothing of iamp's commands; no I/O but help.
 */
#ifndef IAMP_OPTIONS_H
#define IAMP_OPTIONS_H

#include "common/error.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum iamp_opt_kind {
    IAMP_OPT_FLAG = 1, /* no value: stores `set` into an int */
    IAMP_OPT_INT,      /* int, in [lo, hi] */
    IAMP_OPT_LONG,     /* long, in [lo, hi] */
    IAMP_OPT_U32,      /* uint32_t, in [lo, hi] */
    IAMP_OPT_U64,      /* uint64_t, non-negative; in [lo, hi] when hi > 0 */
    IAMP_OPT_SIZE,     /* size_t, in [lo, hi] */
    IAMP_OPT_FLOAT,    /* float, finite, in [lo, hi] */
    IAMP_OPT_DOUBLE,   /* double, finite, in [lo, hi] */
    IAMP_OPT_STR,      /* const char *, borrowed from argv */
    IAMP_OPT_TEXT,     /* copied into a char[hi] (NUL included) */
    IAMP_OPT_CHOICE,   /* uint32_t: set + the index of the word among choices */
};

/* flags: --help shows no default for it (nor for a number whose default
 * lies outside its range: that means "not given") */
#define IAMP_OPT_NO_DEFAULT 1
/* flags: a number must lie below hi, in [lo, hi) (a probability that may
 * not be 1); a FLOAT below hi also after rounding to float */
#define IAMP_OPT_BELOW_HI 2
/* flags bits from 1 << 8 up are the caller's: the parser ignores them */
#define IAMP_OPT_CALLER_FLAGS (1 << 8)

struct iamp_opt {
    const char *name;           /* long name without "--"; NULL ends a table */
    int kind;                   /* enum iamp_opt_kind */
    size_t offset;              /* of the value, in the group's struct */
    double lo, hi;              /* numbers: the range; TEXT: hi = buffer bytes */
    const char *arg;            /* the value's name in help ("N", "SPEC"); NULL: none */
    const char *help;           /* one line for --help; '\n' starts another */
    int set;                    /* FLAG: the int stored; CHOICE: the first word's value */
    const char *const *choices; /* CHOICE: the words, NULL-terminated */
    size_t seen;                /* IAMP_OPT_SEEN(...): an int set to 1 when given; 0: none */
    int flags;                  /* IAMP_OPT_NO_DEFAULT, IAMP_OPT_BELOW_HI */
};

/* `seen` of a row: an int field of the group's struct. */
#define IAMP_OPT_SEEN(type, field) (offsetof(type, field) + 1)

/* Rows on one line each, for a table whose offsets are into the struct
 * IAMP_OPT_STRUCT names (define it before the table): a value in [lo, hi],
 * a string (borrowed from argv), a flag storing `value`. Rows with more
 * (seen, choices, flags) are written out. */
#define IAMP_OPT_NUM(nm, k, f, lo_, hi_, arg_, help_)                                              \
    {                                                                                              \
        .name = (nm), .kind = (k), .offset = offsetof(IAMP_OPT_STRUCT, f), .lo = (lo_),            \
        .hi = (hi_), .arg = (arg_), .help = (help_)                                                \
    }
#define IAMP_OPT_STRING(nm, f, arg_, help_)                                                        \
    {                                                                                              \
        .name = (nm), .kind = IAMP_OPT_STR, .offset = offsetof(IAMP_OPT_STRUCT, f), .arg = (arg_), \
        .help = (help_)                                                                            \
    }
#define IAMP_OPT_SWITCH(nm, f, value, help_)                                                       \
    {                                                                                              \
        .name = (nm), .kind = IAMP_OPT_FLAG, .offset = offsetof(IAMP_OPT_STRUCT, f),               \
        .set = (value), .help = (help_)                                                            \
    }

struct iamp_opt_group {
    const struct iamp_opt *opts; /* ends with a row whose name is NULL */
    size_t base;                 /* offset of the group's struct in the caller's */
    const char *title;           /* a heading in --help, or NULL */
};

#define IAMP_OPTS_PASS 1 /* parse: keep unknown options for a later parser */
#define IAMP_OPTS_HELP (-2)

/* Parse argv[1..argc) against the groups into base. Arguments that are
 * not options (and with IAMP_OPTS_PASS unknown options, --help and "--")
 * are moved, in order, to argv[1..1+k); returns k, or IAMP_OPTS_HELP when
 * help was asked for, or -1 with a one-line reason in err naming the
 * option. Values already stored stay when parsing fails. */
IAMP_WUR int iamp_opts_parse(const struct iamp_opt_group *groups, int n_groups, void *base,
                             int argc, char **argv, int flags, char *err, size_t errlen);

/* Split `text` at spaces into argv[1..] (argv[0] = name) in words (a
 * buffer of wordlen bytes that argv points into) and parse it as above;
 * positional words are an error. For option strings kept in tables (a
 * task's training defaults). */
IAMP_WUR int iamp_opts_parse_text(const struct iamp_opt_group *groups, int n_groups, void *base,
                                  const char *text, char *words, size_t wordlen, char *err,
                                  size_t errlen);

/* One line per option: "  --name ARG   help (default D)", D read from
 * defaults (may be NULL: no defaults shown), group titles as headings. */
void iamp_opts_help(FILE *f, const struct iamp_opt_group *groups, int n_groups,
                    const void *defaults);

/* The table's parser for a u64, for arguments that are not options (a job
 * id): 0, or -1 with a reason naming `what`. */
IAMP_WUR int iamp_opt_u64(const char *what, const char *text, uint64_t *out, char *err,
                          size_t errlen);

#endif
