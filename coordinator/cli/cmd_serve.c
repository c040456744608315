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
#include <malloc.h>
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
    int check_journal;
    struct iamp_cadence cadence;
    char host[256];
    char token[IAMP_TOKEN_MAX + 1];
};

#define IAMP_OPT_STRUCT struct serve_cmd
static const struct iamp_opt serve_rows[] = {
    IAMP_OPT_STRING("listen", listen, "HOST:PORT", "address (port 0: any free one)"),
    IAMP_OPT_STRING("data-dir", o.data_dir, "DIR", "journal, results and model"),
    IAMP_OPT_STRING("token-file", token_file, "F",
                    "clients must present the first line of F; required\n"
                    "to listen on an address other than loopback"),
    IAMP_OPT_STRING("task", task, "SPEC",
                    "task of a fresh model when DIR has no checkpoint\n"
                    "(its shape as `iamp train --task SPEC` makes it)"),
    IAMP_OPT_NUM("seed", IAMP_OPT_U64, seed, 0, 0, "S", "init seed of that fresh model"),
    IAMP_OPT_STRING("port-file", o.port_file, "F", "write the port listened on to F"),
    IAMP_OPT_NUM("eval-every", IAMP_OPT_LONG, cadence.eval_every, 1, 1000000, "N",
                 "train jobs: rounds between evaluations (and the last;\n"
                 "default: by --eval-budget)"),
    IAMP_OPT_NUM("eval-budget", IAMP_OPT_DOUBLE, cadence.eval_budget, 0.001, 1.0, "X",
                 "train jobs without --eval-every: evaluate while evaluation\n"
                 "has taken at most X of the job's time"),
    IAMP_OPT_NUM("checkpoint-every", IAMP_OPT_LONG, cadence.checkpoint_every, 1, 1000000, "N",
                 "train jobs: rounds between checkpoints"),
    IAMP_OPT_NUM("slice-ms", IAMP_OPT_DOUBLE, o.exec.slice_ms, 0.1, 10000, "X",
                 "executor time per answer slice"),
    IAMP_OPT_NUM("journal-compact-bytes", IAMP_OPT_SIZE, o.journal_compact_bytes, 0,
                 1099511627776.0, "N",
                 "compact the journal at start when it is larger (and\n"
                 "while serving when it is twice as large)"),
    IAMP_OPT_NUM("retain-jobs", IAMP_OPT_LONG, o.retain_jobs, 0, 1L << 40, "N",
                 "keep the newest N finished jobs (results, files, journal\n"
                 "records); older ones answer NOT_FOUND \"expired\"; 0: all"),
    IAMP_OPT_NUM("retain-hours", IAMP_OPT_DOUBLE, o.retain_hours, 0, 1e9, "H",
                 "keep finished jobs for H hours; 0: forever"),
    IAMP_OPT_SWITCH("quiet", o.quiet, 1, "no status lines on stderr"),
    IAMP_OPT_SWITCH("check-journal", check_journal, 1,
                    "report what DIR/journal holds and what is damaged,\n"
                    "change nothing and exit (0: intact, 1: damaged)"),
    {0},
};

static const struct iamp_opt limit_rows[] = {
    IAMP_OPT_NUM("max-frame-bytes", IAMP_OPT_U32, o.lim.max_frame_bytes, 64, 1 << 30, "N",
                 "largest request frame"),
    IAMP_OPT_NUM("max-questions", IAMP_OPT_U32, o.lim.max_questions, 1, 1 << 22, "N",
                 "per answer job"),
    IAMP_OPT_NUM("max-contexts", IAMP_OPT_U32, o.lim.max_contexts, 1, 1 << 20, "N",
                 "instances (sets of facts, 1 KiB each in memory) per answer job"),
    IAMP_OPT_NUM("max-depth", IAMP_OPT_U32, o.lim.max_depth, 0, 16, "D", "per job"),
    IAMP_OPT_NUM("max-tree-nodes", IAMP_OPT_LONG, o.lim.max_tree_nodes, 1, 1 << 30, "N",
                 "question tree nodes per job"),
    IAMP_OPT_NUM("max-rounds", IAMP_OPT_U32, o.lim.max_rounds, 1, 100000000, "N", "per train job"),
    IAMP_OPT_NUM("max-pending-bytes", IAMP_OPT_SIZE, o.lim.max_pending_bytes, 4096, 17179869184.0,
                 "N",
                 "unsent replies per connection before it is no\n"
                 "longer read (twice this: it is closed)"),
    IAMP_OPT_NUM("max-conn-jobs", IAMP_OPT_U32, o.lim.max_conn_jobs, 1, 1 << 20, "N",
                 "unfinished jobs per connection"),
    IAMP_OPT_NUM("max-queued-jobs", IAMP_OPT_U32, o.lim.max_queued_jobs, 1, 1 << 24, "N",
                 "unfinished jobs in all"),
    IAMP_OPT_NUM("max-connections", IAMP_OPT_U32, o.lim.max_connections, 1, 1 << 20, "N",
                 "connections at once"),
    IAMP_OPT_NUM("max-preauth-frame-bytes", IAMP_OPT_U32, o.lim.max_preauth_frame_bytes, 64,
                 1 << 30, "N",
                 "with --token-file: largest frame before a request has\n"
                 "carried the token"),
    IAMP_OPT_NUM("max-input-bytes", IAMP_OPT_SIZE, o.lim.max_input_bytes, 4096, 17179869184.0, "N",
                 "requests being received, all connections together; a\n"
                 "frame that does not fit is refused (BUSY)"),
    IAMP_OPT_NUM("max-output-bytes", IAMP_OPT_SIZE, o.lim.max_output_bytes, 4096, 17179869184.0,
                 "N",
                 "replies queued, all connections together; a connection\n"
                 "whose reply would pass it is closed"),
    IAMP_OPT_NUM("idle-timeout-ms", IAMP_OPT_U32, o.lim.idle_timeout_ms, 100, 86400000, "N",
                 "close connections idle (or stuck mid-frame) this\n"
                 "long"),
    {0},
};
#undef IAMP_OPT_STRUCT

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
                                         .cluster = iamp_cli_cluster(),
                                         .pool = iamp_cli_pool()};
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

struct journal_census {
    long kind[4]; /* by enum iamp_record_kind; [0]: undecodable */
    long answers; /* END records holding a job's answers */
    uint64_t max_id;
};

static void census_cb(void *ctx, const uint8_t *payload, size_t len, uint64_t at)
{
    struct journal_census *c = ctx;
    struct iamp_job_record r;
    (void)at;
    if (iamp_job_record_decode(payload, len, &r)) {
        c->kind[0]++;
        return;
    }
    c->kind[r.kind >= 1 && r.kind <= 3 ? r.kind : 0]++;
    c->max_id = r.job_id > c->max_id ? r.job_id : c->max_id;
    c->answers += r.result != NULL;
    iamp_job_record_release(&r);
}

/* iamp serve --check-journal: read DIR/journal and DIR/ids, change nothing. */
static int check_journal(const char *dir)
{
    char path[4200];
    struct journal_census c = {{0}, 0, 0};
    struct iamp_journal_replay rep;
    snprintf(path, sizeof(path), "%s/journal", dir);
    int rc = iamp_journal_scan(path, census_cb, &c, &rep);
    if (rc) {
        iamp_cli_error("serve: journal %s: %s", path,
                       rc == IAMP_ECORRUPT && rep.why[0] ? rep.why : iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    printf("journal %s: format %d, %llu bytes, %ld intact records (%ld submit, %ld cancel, "
           "%ld end of which %ld hold answers, %ld undecodable), highest job id %llu\n",
           path, rep.format, (unsigned long long)(rep.kept_bytes + rep.torn_bytes), rep.records,
           c.kind[IAMP_REC_SUBMIT], c.kind[IAMP_REC_CANCEL], c.kind[IAMP_REC_END], c.answers,
           c.kind[0], (unsigned long long)c.max_id);
    if (rep.damaged)
        printf("damaged: %ld range(s), %llu bytes, the first at offset %llu (records there are "
               "lost; the rest replays)\n",
               rep.damaged, (unsigned long long)rep.damaged_bytes,
               (unsigned long long)rep.first_damage);
    if (rep.torn_bytes)
        printf("torn tail: %llu bytes at offset %llu (a cut-short append; dropped at start)\n",
               (unsigned long long)rep.torn_bytes, (unsigned long long)rep.kept_bytes);
    if (!rep.damaged && !rep.torn_bytes && !c.kind[0])
        printf("intact\n");
    return rep.damaged || rep.torn_bytes || c.kind[0] ? IAMP_EXIT_FAIL : IAMP_EXIT_OK;
}

int iamp_cmd_serve(int argc, char **argv)
{
    struct serve_cmd c;
    int code = parse_serve(argc, argv, &c);
    if (code < 0 && c.check_journal)
        return check_journal(c.o.data_dir);
    if (code < 0)
        code = check_listen(&c);
    if (code >= 0)
        return code;
    int rc = iamp_mkdir(c.o.data_dir);
    if (rc) {
        iamp_cli_error("serve: cannot create %s: %s", c.o.data_dir, iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    /* One malloc arena: glibc gives each thread that meets contention an
     * arena of its own (up to 8 per core) and keeps what is freed in each,
     * so a server's RSS rose in steps over a soak (22 -> 32 MiB between
     * minutes 5 and 16 of `scripts/soak 34 50`); with one it stays flat.
     * MALLOC_ARENA_MAX in the environment still decides. */
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 1);
    int lock = lock_data_dir(c.o.data_dir);
    if (lock < 0)
        return IAMP_EXIT_FAIL;
    signal(SIGPIPE, SIG_IGN);
    code = run_server(&c);
    close(lock);
    return code;
}
