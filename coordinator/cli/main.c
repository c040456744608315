/* main.c — the `iamp` command: MPI start-up, the worker ranks' loop, the
 * options every command shares, dispatch to a command, and the exit
 * status. The only place that exits.
 *
 * Under mpirun -np N, rank 0 runs the command and ranks 1..N-1 serve it
 * (worker/worker_loop.c); with N = 1 or no launcher everything runs here.
 */
#include "coordinator/cli/cli.h"
#include "worker/cluster.h"
#include "common/fpenv.h"
#include "common/pool.h"
#include "common/trace.h"
#include "worker/worker_loop.h"

#include <cblas.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char main_help[] =
    "usage: iamp COMMAND [options]    (iamp COMMAND --help for each)\n"
    "\n"
    "iamp runs Iterated Amplification: an overseer H decomposes questions, a\n"
    "learned model M answers the pieces, and M is distilled toward Amp(H, M).\n"
    "\n"
    "commands:\n"
    "  train    run IA rounds: amplify, distil, evaluate\n"
    "  answer   answer questions (JSONL) with a checkpoint, amplified to --depth\n"
    "  eval     held-out accuracy of a checkpoint\n"
    "  bench    train | amplify | allreduce | serve throughput and latency\n"
    "  serve    take answer, train and eval jobs over TCP (the job server)\n"
    "  submit   submit a job to a server (--wait: and print its result)\n"
    "  status   a job's state and progress\n"
    "  watch    follow a job until it ends\n"
    "  result   a finished job's result (answers as JSONL)\n"
    "  cancel   end an unfinished job\n"
    "  jobs     list a server's jobs\n"
    "  info     a server's version, model and limits\n"
    "  report   one HTML page of a run: training curves, traced question trees\n"
    "  version  print the version\n"
    "\n"
    "Under mpirun -np N rank 0 runs the command and ranks 1..N-1 hold model\n"
    "copies that amplify and train. Options for every command:\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"train", iamp_cmd_train},   {"answer", iamp_cmd_answer}, {"eval", iamp_cmd_eval},
    {"bench", iamp_cmd_bench},   {"serve", iamp_cmd_serve},   {"submit", iamp_cmd_submit},
    {"status", iamp_cmd_status}, {"watch", iamp_cmd_watch},   {"result", iamp_cmd_result},
    {"cancel", iamp_cmd_cancel}, {"jobs", iamp_cmd_jobs},     {"info", iamp_cmd_info},
    {"report", iamp_cmd_report},
};

struct global_opts {
    const char *timeline;
    int threads; /* 0: the cores available (one process) or 1 (under mpirun) */
    struct iamp_cluster_opts cluster;
};

#define IAMP_OPT_STRUCT struct global_opts
static const struct iamp_opt global_rows[] = {
    IAMP_OPT_STRING("timeline", timeline, "FILE",
                    "write a Chrome trace (chrome://tracing, Perfetto)"),
    IAMP_OPT_NUM("threads", IAMP_OPT_INT, threads, 1, IAMP_THREADS_MAX, "N",
                 "threads for model work (default: the cores available; 1 per rank under\n"
                 "mpirun); results do not depend on it. With more than one, BLAS runs\n"
                 "one thread per call"),
    IAMP_OPT_NUM("credit", IAMP_OPT_INT, cluster.credit, 1, 1024, "N",
                 "work units in flight per worker"),
    IAMP_OPT_NUM("bucket-bytes", IAMP_OPT_SIZE, cluster.bucket_bytes, 4096, 1 << 30, "N",
                 "gradient allreduce bucket size"),
    IAMP_OPT_SWITCH("check-params", cluster.check_params, 1,
                    "compare parameter checksums across ranks every round"),
    {0},
};
#undef IAMP_OPT_STRUCT
static const struct iamp_opt_group global_group = {global_rows, 0, NULL};

static void print_main_help(FILE *f)
{
    struct global_opts defaults = {0};
    iamp_cluster_opts_default(&defaults.cluster);
    fputs(main_help, f);
    iamp_opts_help(f, &global_group, 1, &defaults);
}

/* Take the shared options out of argv (anywhere after the command); the
 * rest stays, in order, for the command. */
static int take_global_opts(int *argc, char **argv, struct global_opts *g)
{
    char err[512];
    int k = iamp_opts_parse(&global_group, 1, g, *argc, argv, IAMP_OPTS_PASS, err, sizeof(err));
    if (k < 0)
        return iamp_cli_usage(argv[0], "%s", err);
    *argc = k + 1;
    return 0;
}

static int run_command(int argc, char **argv)
{
    const char *cmd = argv[0];
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc, argv);
    iamp_cli_error("unknown command '%s' (see 'iamp --help')", cmd);
    return IAMP_EXIT_USAGE;
}

static int coordinate(struct iamp_comm *comm, int argc, char **argv)
{
    struct global_opts g = {0};
    iamp_cluster_opts_default(&g.cluster);
    int code = take_global_opts(&argc, argv, &g);
    if (code)
        return code;
    struct iamp_cluster cl;
    int multi = comm->size > 1;
    if (multi) {
        iamp_cluster_init(&cl, comm, &g.cluster);
        iamp_cli_set_cluster(&cl);
    }
    if (g.timeline && (multi ? iamp_cluster_trace_start(&cl) : (iamp_trace_enable(0, 0.0), 0)))
        iamp_cli_error("cannot start the timeline");
    struct iamp_pool *pool = NULL;
    int threads = g.threads ? g.threads : multi ? 1 : iamp_cores_available();
    if (threads > 1 && iamp_pool_new(&pool, threads))
        iamp_cli_error("cannot start %d threads; running on one", threads);
    if (pool)
        openblas_set_num_threads(1); /* the pool's threads each call BLAS */
    iamp_cli_set_pool(pool);
    code = run_command(argc, argv);
    iamp_cli_set_pool(NULL);
    iamp_pool_free(pool);
    if (g.timeline) {
        int rc = iamp_cluster_write_timeline(multi ? &cl : NULL, g.timeline);
        if (rc) {
            iamp_cli_error("timeline %s: %s", g.timeline, iamp_strerror(rc));
            code = code ? code : IAMP_EXIT_FAIL;
        }
    }
    if (multi)
        iamp_cluster_shutdown(&cl);
    return code;
}

int main(int argc, char **argv)
{
    iamp_fpenv_init(); /* before any thread starts: they inherit it */
    struct iamp_comm comm;
    if (iamp_comm_init(&comm, &argc, &argv)) {
        fprintf(stderr, "iamp: cannot start MPI\n");
        return IAMP_EXIT_FAIL;
    }
    iamp_blas_threads_default();
    int code;
    if (comm.rank > 0) {
        code = iamp_worker_main(&comm) ? IAMP_EXIT_FAIL : IAMP_EXIT_OK;
    } else if (argc < 2) {
        print_main_help(stderr);
        code = IAMP_EXIT_USAGE;
    } else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_main_help(stdout);
        code = IAMP_EXIT_OK;
    } else if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("iamp %s\n", IAMP_VERSION);
        code = IAMP_EXIT_OK;
    } else {
        code = coordinate(&comm, argc - 1, argv + 1);
    }
    if (comm.rank == 0 && comm.size > 1 && iamp_cli_cluster() == NULL) {
        /* help, version and usage paths never built a cluster: release the
         * workers all the same. */
        struct iamp_cluster cl;
        struct iamp_cluster_opts o;
        iamp_cluster_opts_default(&o);
        iamp_cluster_init(&cl, &comm, &o);
        iamp_cluster_shutdown(&cl);
    }
    fflush(stdout);
    iamp_comm_finalize(&comm);
    return code;
}
