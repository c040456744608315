/* cmd_serve.c — `iamp serve`: options, the data directory (its lock, the
 * model checkpoint in it), the token rule, then the server until a
 * signal. Runs on rank 0's main thread (the loop thread).
 */
#include "coordinator/cli/cli.h"
#include "coordinator/serve/client.h"
#include "coordinator/serve/jobs.h"
#include "coordinator/serve/server.h"
#include "coordinator/train/plan.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static const char serve_usage[] =
    "usage: iamp serve [--listen HOST:PORT] [--data-dir DIR] [--token-file F] [options]\n"
    "\n"
    "Serves jobs over TCP until SIGINT or SIGTERM: answer jobs (amplified answers\n"
    "from the served model), train jobs (IA rounds on it) and eval jobs. Accepted\n"
    "jobs are journaled in DIR before they are acknowledged and resume after a\n"
    "restart. The model is DIR/checkpoint.pb: `iamp train --checkpoint-dir DIR`\n"
    "writes it, train jobs update it (and append their rounds' metrics to\n"
    "DIR/jobs/ID.metrics.jsonl).\n";

struct serve_cmd {
    struct iamp_server_opts o;
    const char *listen, *token_file, *task;
    uint64_t seed;
    struct iamp_cadence cadence;
    char host[256];
    char token[IAMP_TOKEN_MAX + 1];
};

#define SERVE_AT(f) offsetof(struct serve_cmd, f)
#define LIMIT_AT(f) offsetof(struct serve_cmd, o.lim.f)
static const struct iamp_opt serve_rows[] = {
    {.name = "listen",
     .kind = IAMP_OPT_STR,
     .offset = SERVE_AT(listen),
     .arg = "HOST:PORT",
     .help = "address (port 0: any free one)"},
    {.name = "data-dir",
     .kind = IAMP_OPT_STR,
     .offset = SERVE_AT(o.data_dir),
     .arg = "DIR",
     .help = "journal, results and model"},
    {.name = "token-file",
     .kind = IAMP_OPT_STR,
     .offset = SERVE_AT(token_file),
     .arg = "F",
     .help = "clients must present the first line of F; required\n"
             "to listen on an address other than loopback"},
    {.name = "task",
     .kind = IAMP_OPT_STR,
     .offset = SERVE_AT(task),
     .arg = "SPEC",
     .help = "task of a fresh model when DIR has no checkpoint\n"
             "(its shape as `iamp train --task SPEC` makes it)"},
    {.name = "seed",
     .kind = IAMP_OPT_U64,
     .offset = SERVE_AT(seed),
     .arg = "S",
     .help = "init seed of that fresh model"},
    {.name = "port-file",
     .kind = IAMP_OPT_STR,
     .offset = SERVE_AT(o.port_file),
     .arg = "F",
     .help = "write the port listened on to F"},
    {.name = "eval-every",
     .kind = IAMP_OPT_LONG,
     .offset = SERVE_AT(cadence.eval_every),
     .lo = 1,
     .hi = 1000000,
     .arg = "N",
     .help = "train jobs: rounds between evaluations (and the last)"},
    {.name = "checkpoint-every",
     .kind = IAMP_OPT_LONG,
     .offset = SERVE_AT(cadence.checkpoint_every),
     .lo = 1,
     .hi = 1000000,
     .arg = "N",
     .help = "train jobs: rounds between checkpoints"},
    {.name = "slice-ms",
     .kind = IAMP_OPT_DOUBLE,
     .offset = SERVE_AT(o.exec.slice_ms),
     .lo = 0.1,
     .hi = 10000,
     .arg = "X",
     .help = "executor time per answer slice"},
    {.name = "journal-compact-bytes",
     .kind = IAMP_OPT_SIZE,
     .offset = SERVE_AT(o.journal_compact_bytes),
     .lo = 0,
     .hi = 1099511627776.0,
     .arg = "N",
     .help = "compact the journal at start when it is larger"},
    {.name = "quiet",
     .kind = IAMP_OPT_FLAG,
     .offset = SERVE_AT(o.quiet),
     .set = 1,
     .help = "no status lines on stderr"},
    {0},
};

static const struct iamp_opt limit_rows[] = {
    {.name = "max-frame-bytes",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_frame_bytes),
     .lo = 64,
     .hi = 1 << 30,
     .arg = "N",
     .help = "largest request frame"},
    {.name = "max-questions",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_questions),
     .lo = 1,
     .hi = 1 << 22,
     .arg = "N",
     .help = "per answer job"},
    {.name = "max-depth",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_depth),
     .lo = 0,
     .hi = 16,
     .arg = "D",
     .help = "per job"},
    {.name = "max-tree-nodes",
     .kind = IAMP_OPT_LONG,
     .offset = LIMIT_AT(max_tree_nodes),
     .lo = 1,
     .hi = 1 << 30,
     .arg = "N",
     .help = "question tree nodes per job"},
    {.name = "max-rounds",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_rounds),
     .lo = 1,
     .hi = 100000000,
     .arg = "N",
     .help = "per train job"},
    {.name = "max-pending-bytes",
     .kind = IAMP_OPT_SIZE,
     .offset = LIMIT_AT(max_pending_bytes),
     .lo = 4096,
     .hi = 17179869184.0,
     .arg = "N",
     .help = "unsent replies per connection before it is no\n"
             "longer read"},
    {.name = "max-conn-jobs",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_conn_jobs),
     .lo = 1,
     .hi = 1 << 20,
     .arg = "N",
     .help = "unfinished jobs per connection"},
    {.name = "max-queued-jobs",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_queued_jobs),
     .lo = 1,
     .hi = 1 << 24,
     .arg = "N",
     .help = "unfinished jobs in all"},
    {.name = "max-connections",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(max_connections),
     .lo = 1,
     .hi = 1 << 20,
     .arg = "N",
     .help = "connections at once"},
    {.name = "idle-timeout-ms",
     .kind = IAMP_OPT_U32,
     .offset = LIMIT_AT(idle_timeout_ms),
     .lo = 100,
     .hi = 86400000,
     .arg = "N",
     .help = "close connections idle (or stuck mid-frame) this\n"
             "long"},
    {0},
};

static const struct iamp_opt_group serve_groups[] = {
    {serve_rows, 0, NULL},
    {limit_rows, 0, "limits"},
};
#define SERVE_GROUPS ((int)(sizeof(serve_groups) / sizeof(serve_groups[0])))

static const struct iamp_cli_help serve_help = {serve_usage, NULL};

static void serve_defaults(struct serve_cmd *c)
{
    struct iamp_train_plan plan;
    iamp_train_plan_default(&plan);
    memset(c, 0, sizeof(*c));
    iamp_limits_default(&c->o.lim);
    c->listen = IAMP_ADDR_DEFAULT;
    c->o.data_dir = "iamp-data";
    c->o.exec.slice_ms = 20.0;
    c->o.exec.slice_max_questions = 4096;
    c->o.result_cache_bytes = 256u << 20;
    c->o.journal_compact_bytes = IAMP_JOURNAL_COMPACT_BYTES;
    c->seed = 1;
    c->cadence = plan.cadence; /* iamp train's */
}

/* Returns -1 to go on, else an exit code. */
static int parse_serve(int argc, char **argv, struct serve_cmd *c)
{
    struct serve_cmd defaults;
    int npos = 0;
    serve_defaults(c);
    serve_defaults(&defaults);
    int code = iamp_cli_parse("serve", &serve_help, serve_groups, SERVE_GROUPS, c, &defaults, argc,
                              argv, &npos);
    if (code < 0 && npos > 0)
        return iamp_cli_usage("serve", "unexpected argument '%s'", argv[1]);
    return code;
}

static int is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* Address and token rule; returns -1 to go on, else an exit code. */
static int check_listen(struct serve_cmd *c)
{
    if (iamp_addr_split(c->listen, c->host, sizeof(c->host), &c->o.port))
        return iamp_cli_usage("serve", "--listen '%s' is not HOST:PORT", c->listen);
    if (strcmp(c->host, "localhost") == 0)
        strcpy(c->host, "127.0.0.1");
    c->o.host = c->host;
    if (!c->token_file && !is_loopback(c->host))
        return iamp_cli_usage("serve", "listening on %s (not loopback) needs --token-file",
                              c->host);
    if (c->token_file) {
        char err[512];
        if (iamp_token_read(c->token_file, c->token, sizeof(c->token), &c->o.token_len, err,
                            sizeof(err))) {
            iamp_cli_error("serve: %s", err);
            return IAMP_EXIT_USAGE;
        }
        c->o.token = c->token;
    }
    return -1;
}

/* Hold an exclusive lock on DIR/lock for the life of the process, so that
 * two servers never share a journal. Returns the fd or -1. */
static int lock_data_dir(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        iamp_cli_error("serve: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        iamp_cli_error("serve: data directory %s is in use by another iamp serve", dir);
        close(fd);
        return -1;
    }
    return fd;
}

static int run_server(struct serve_cmd *c)
{
    char err[1024], ckpath[4200];
    struct iamp_backend *b = NULL;
    snprintf(ckpath, sizeof(ckpath), "%s/checkpoint.pb", c->o.data_dir);
    struct iamp_backend_local_opts bo = {.checkpoint = ckpath,
                                         .task = c->task,
                                         .seed = c->seed,
                                         .max_versions = 3,
                                         .cadence = c->cadence,
                                         .cluster = iamp_cli_cluster()};
    int rc = iamp_backend_local_new(&bo, &b, err, sizeof(err));
    if (rc) {
        iamp_cli_error("serve: %s", err);
        return rc == IAMP_EUNKNOWN || rc == IAMP_EPARSE || rc == IAMP_ERANGE ||
                       rc == IAMP_EMISMATCH || (rc == IAMP_ENOENT && !c->task)
                   ? IAMP_EXIT_USAGE
                   : IAMP_EXIT_FAIL;
    }
    c->o.exec.max_tree_nodes = c->o.lim.max_tree_nodes;
    rc = iamp_server_run(&c->o, b, err, sizeof(err));
    iamp_backend_free(b);
    if (rc) {
        iamp_cli_error("serve: %s", err);
        return IAMP_EXIT_FAIL;
    }
    if (!c->o.quiet)
        fprintf(stderr, "serve: stopped\n");
    return IAMP_EXIT_OK;
}

int iamp_cmd_serve(int argc, char **argv)
{
    struct serve_cmd c;
    int code = parse_serve(argc, argv, &c);
    if (code < 0)
        code = check_listen(&c);
    if (code >= 0)
        return code;
    int rc = iamp_mkdir(c.o.data_dir);
    if (rc) {
        iamp_cli_error("serve: cannot create %s: %s", c.o.data_dir, iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    int lock = lock_data_dir(c.o.data_dir);
    if (lock < 0)
        return IAMP_EXIT_FAIL;
    signal(SIGPIPE, SIG_IGN);
    code = run_server(&c);
    close(lock);
    return code;
}
