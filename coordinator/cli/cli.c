/* cli.c — shared pieces of the command line: errors and value parsing. */
#include "coordinator/cli/cli.h"

#include "worker/cluster.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void iamp_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("iamp: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int iamp_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "iamp: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'iamp %s --help')\n", cmd);
    va_end(ap);
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

int iamp_cli_each_line(FILE *in, int (*fn)(void *ctx, const char *line, size_t len, long lineno),
                       void *ctx)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    ssize_t len;
    int code = -1;
    while (code == -1 && (len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!is_blank_or_comment(line))
            code = fn(ctx, line, (size_t)len, lineno);
    }
    free(line);
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
