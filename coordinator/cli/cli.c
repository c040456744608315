/* cli.c — shared pieces of the command line: errors and value parsing. */
#include "coordinator/cli/cli.h"

#include "common/text.h"
#include "tasks/task.h"

#include "worker/cluster.h"

#include <cblas.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One line "iamp: MESSAGE" on stderr, MESSAGE made printable (a file's or
 * a server's bytes never reach the terminal raw). */
static void error_line(const char *fmt, va_list ap)
{
    char msg[2048], safe[4 * 2048 + 1];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    iamp_text_printable(safe, sizeof(safe), msg);
    fprintf(stderr, "iamp: %s\n", safe);
}

void iamp_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_line(fmt, ap);
    va_end(ap);
}

int iamp_cli_usage(const char *cmd, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    iamp_cli_error("%s: %s (see 'iamp %s --help')", cmd, msg, cmd);
    return IAMP_EXIT_USAGE;
}

int iamp_cli_u64(const char *cmd, const char *what, const char *text, uint64_t *out)
{
    char err[512];
    if (iamp_opt_u64(what, text, out, err, sizeof(err)) == 0)
        return 0;
    iamp_cli_usage(cmd, "%s", err);
    return 1;
}

int iamp_cli_parse(const char *cmd, const struct iamp_cli_help *help,
                   const struct iamp_opt_group *groups, int n_groups, void *base,
                   const void *defaults, int argc, char **argv, int *npos)
{
    char err[512];
    int k = iamp_opts_parse(groups, n_groups, base, argc, argv, 0, err, sizeof(err));
    if (k == IAMP_OPTS_HELP) {
        fputs(help->usage, stdout);
        fputc('\n', stdout);
        iamp_opts_help(stdout, groups, n_groups, defaults);
        if (help->more)
            help->more();
        return IAMP_EXIT_OK;
    }
    if (k < 0)
        return iamp_cli_usage(cmd, "%s", err);
    *npos = k;
    return -1;
}

static int is_blank_or_comment(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == '\0' || *line == '#';
}

/* The next line of in into line[IAMP_TEXT_MAX + 1] without its line end:
 * its length, -1 at the end, -2 when longer than IAMP_TEXT_MAX - 1 bytes
 * (the rest of it unread: nothing reads an endless line to its end). */
static long next_line(FILE *in, char *line)
{
    long len = 0;
    int ch = EOF;
    while ((ch = getc(in)) != EOF && ch != '\n') {
        if (len == IAMP_FACTS_TEXT_MAX - 1) {
            line[len] = '\0';
            return -2;
        }
        line[len++] = (char)ch;
    }
    if (ch == EOF && len == 0)
        return -1;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    return len;
}

int iamp_cli_each_line(FILE *in, const char *cmd, const char *name,
                       int (*fn)(void *ctx, const char *line, size_t len, long lineno), void *ctx)
{
    static char line[IAMP_FACTS_TEXT_MAX + 1]; /* one thread reads input */
    char why[160];
    long lineno = 0, len;
    int code = -1;
    while (code == -1 && (len = next_line(in, line)) != -1) {
        lineno++;
        /* Questions are one short line; a facts line may be longer. */
        int facts = iamp_context_line(line);
        long most = facts ? IAMP_FACTS_TEXT_MAX - 1 : IAMP_TEXT_MAX - 1;
        if ((len == -2 || len > most) && !iamp_text_check(line, (size_t)most, why, sizeof(why))) {
            iamp_cli_error("%s: %s line %ld: longer than %ld bytes", cmd, name, lineno, most);
            return IAMP_EXIT_FAIL;
        }
        if (len == -2 || len > most)
            len = most; /* its first bytes are not text: say so */
        if (iamp_text_check(line, (size_t)len, why, sizeof(why))) {
            iamp_cli_error("%s: %s line %ld: %s", cmd, name, lineno, why);
            return IAMP_EXIT_FAIL;
        }
        if (!is_blank_or_comment(line))
            code = fn(ctx, line, (size_t)len, lineno);
    }
    if (code == -1 && ferror(in)) {
        iamp_cli_error("%s: cannot read %s: %s", cmd, name, strerror(errno));
        return IAMP_EXIT_FAIL;
    }
    return code;
}

int iamp_stdout_tty(void)
{
    return isatty(STDOUT_FILENO);
}

void iamp_blas_threads_default(void)
{
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    int n = env ? atoi(env) : 1;
    openblas_set_num_threads(n > 0 ? n : 1);
}

static struct iamp_cluster *g_cluster;

void iamp_cli_set_cluster(struct iamp_cluster *cl)
{
    g_cluster = cl;
}

struct iamp_cluster *iamp_cli_cluster(void)
{
    return g_cluster;
}

static struct iamp_pool *g_pool;

void iamp_cli_set_pool(struct iamp_pool *pool)
{
    g_pool = pool;
}

struct iamp_pool *iamp_cli_pool(void)
{
    return g_pool;
}

int iamp_cli_attach(const char *cmd, struct iamp_session *s)
{
    iamp_session_set_pool(s, g_pool);
    if (!g_cluster)
        return 0;
    int rc = iamp_cluster_attach(g_cluster, s);
    if (rc) {
        iamp_cli_error("%s: cannot set up the workers: %s", cmd, iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    return 0;
}
