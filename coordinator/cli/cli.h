/* cli.h — the command-line contract: errors, exit codes, option values.
 *
 * Every command prints failures as one line, "iamp: <what failed>: <why>",
 * and exits 0 on success, 2 on bad usage, 1 on failure. Commands return
 * these codes to main; nothing below main calls exit().
 */
#ifndef IAMP_CLI_H
#define IAMP_CLI_H

#include "common/clock.h"
#include "common/error.h"
#include "common/options.h"

#include <stdint.h>
#include <stdio.h>

enum iamp_exit {
    IAMP_EXIT_OK = 0,
    IAMP_EXIT_FAIL = 1,
    IAMP_EXIT_USAGE = 2,
};

/* Print "iamp: <fmt...>" and a newline to stderr. */
void iamp_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Usage error: prints and returns IAMP_EXIT_USAGE with a --help hint. */
int iamp_cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An argument that is not an option (a job id) as a u64; on failure print
 * a usage error naming `what` and return nonzero. */
IAMP_WUR int iamp_cli_u64(const char *cmd, const char *what, const char *text, uint64_t *out);

/* A command's --help: the usage line and what it does, then the option
 * table (generated), then `more` (lists such as train's tasks). */
struct iamp_cli_help {
    const char *usage; /* "usage: iamp CMD ...\n\nWhat it does.\n" */
    void (*more)(void);
};

/* Parse argv[1..argc) by the command's option groups into base (see
 * common/options.h). Returns -1 to go on, with the *npos arguments that
 * are not options left at argv[1..]; or an exit code after printing the
 * help (defaults read from `defaults`, a struct like base holding the
 * command's defaults) or a usage error. */
IAMP_WUR int iamp_cli_parse(const char *cmd, const struct iamp_cli_help *help,
                            const struct iamp_opt_group *groups, int n_groups, void *base,
                            const void *defaults, int argc, char **argv, int *npos);

/* Question lines as `iamp answer` and `iamp submit` read them: each line
 * of `in` without its line end, blank lines and lines starting with '#'
 * skipped, handed to fn with its line number (from 1). Stops at the end
 * (returns -1) or at fn's first return other than -1 (passed back). A line
 * longer than a question may be, one that is not text (iamp_text_check)
 * or a read error (EISDIR, EIO) prints "CMD: NAME line N: why" and
 * returns IAMP_EXIT_FAIL. */
int iamp_cli_each_line(FILE *in, const char *cmd, const char *name,
                       int (*fn)(void *ctx, const char *line, size_t len, long lineno), void *ctx);

/* 1 when stdout is a terminal. */
int iamp_stdout_tty(void);
/* Set BLAS threads: $OPENBLAS_NUM_THREADS if set, else 1. */
void iamp_blas_threads_default(void);

struct iamp_comm;
struct iamp_cluster;
struct iamp_session;
/* On rank 0 of a multi-rank run, its cluster (NULL otherwise). */
void iamp_cli_set_cluster(struct iamp_cluster *cl);
struct iamp_cluster *iamp_cli_cluster(void);
/* The process's threads for model work (--threads; NULL: one thread). */
struct iamp_pool;
void iamp_cli_set_pool(struct iamp_pool *pool);
struct iamp_pool *iamp_cli_pool(void);
/* Give a session the process's threads, and send its model work to the
 * workers when there are any; on failure prints why and returns
 * IAMP_EXIT_FAIL. */
IAMP_WUR int iamp_cli_attach(const char *cmd, struct iamp_session *s);

/* Commands; argv[0] is the command name. */
int iamp_cmd_train(int argc, char **argv);
int iamp_cmd_answer(int argc, char **argv);
int iamp_cmd_eval(int argc, char **argv);
int iamp_cmd_bench(int argc, char **argv);
int iamp_cmd_serve(int argc, char **argv);
int iamp_cmd_submit(int argc, char **argv);
int iamp_cmd_status(int argc, char **argv);
int iamp_cmd_watch(int argc, char **argv);
int iamp_cmd_result(int argc, char **argv);
int iamp_cmd_cancel(int argc, char **argv);
int iamp_cmd_jobs(int argc, char **argv);
int iamp_cmd_info(int argc, char **argv);
int iamp_cmd_report(int argc, char **argv);
/* `iamp bench serve`; argv[0] is "bench", argv[1] "serve". */
int iamp_bench_serve(int argc, char **argv);

#endif
