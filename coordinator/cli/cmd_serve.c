/* cmd_serve.c — `iamp serve`: options, the data directory (its lock, the
 * model checkpoint in it), the token rule, then the server until a
 * signal. Runs on rank 0's main thread (the loop thread).
 */
#include "coordinator/cli/cli.h"
#include "coordinator/serve/client.h"
#include "coordinator/serve/jobs.h"
#include "coordinator/serve/server.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static const char serve_help[] =
    "usage: iamp serve [--listen HOST:PORT] [--data-dir DIR] [--token-file F] [options]\n"
    "\n"
    "Serves jobs over TCP until SIGINT or SIGTERM: answer jobs (amplified answers\n"
    "from the served model), train jobs (IA rounds on it) and eval jobs. Accepted\n"
    "jobs are journaled in DIR before they are acknowledged and resume after a\n"
    "restart. The model is DIR/checkpoint.pb: `iamp train --checkpoint-dir DIR`\n"
    "writes it, train jobs update it.\n"
    "\n"
    "  --listen HOST:PORT     address (default 127.0.0.1:7433; port 0: any free one)\n"
    "  --data-dir DIR         journal, results and model (default iamp-data)\n"
    "  --token-file F         clients must present the first line of F; required\n"
    "                         to listen on an address other than loopback\n"
    "  --task SPEC            task of a fresh model when DIR has no checkpoint\n"
    "  --seed S               init seed of that fresh model (default 1)\n"
    "  --port-file F          write the port listened on to F\n"
    "  --max-frame-bytes N    largest request frame (default 16777216)\n"
    "  --max-questions N      per answer job (default 65536)\n"
    "  --max-depth D          per job (default 6)\n"
    "  --max-tree-nodes N     question tree nodes per job (default 8388608)\n"
    "  --max-rounds N         per train job (default 100000)\n"
    "  --max-pending-bytes N  unsent replies per connection before it is no\n"
    "                         longer read (default 33554432)\n"
    "  --max-conn-jobs N      unfinished jobs per connection (default 256)\n"
    "  --max-queued-jobs N    unfinished jobs in all (default 4096)\n"
    "  --max-connections N    (default 1024)\n"
    "  --idle-timeout-ms N    close connections idle (or stuck mid-frame) this\n"
    "                         long (default 60000)\n"
    "  --slice-ms X           executor time per answer slice (default 20)\n"
    "  --checkpoint-every N   training rounds between checkpoints (default 10)\n"
    "  --journal-compact-bytes N  compact the journal at start when it is larger\n"
    "                         (default 4194304)\n"
    "  --quiet                no status lines on stderr\n";

enum {
    OPT_LISTEN = 256,
    OPT_DATA,
    OPT_TOKEN,
    OPT_TASK,
    OPT_SEED,
    OPT_PORT_FILE,
    OPT_MAX_FRAME,
    OPT_MAX_Q,
    OPT_MAX_DEPTH,
    OPT_MAX_NODES,
    OPT_MAX_ROUNDS,
    OPT_MAX_PENDING,
    OPT_MAX_CONN_JOBS,
    OPT_MAX_QUEUED,
    OPT_MAX_CONNS,
    OPT_IDLE,
    OPT_SLICE,
    OPT_CKEVERY,
    OPT_COMPACT,
    OPT_QUIET,
    OPT_HELP
};

static const struct option serve_opts[] = {
    {"listen", required_argument, 0, OPT_LISTEN},
    {"data-dir", required_argument, 0, OPT_DATA},
    {"token-file", required_argument, 0, OPT_TOKEN},
    {"task", required_argument, 0, OPT_TASK},
    {"seed", required_argument, 0, OPT_SEED},
    {"port-file", required_argument, 0, OPT_PORT_FILE},
    {"max-frame-bytes", required_argument, 0, OPT_MAX_FRAME},
    {"max-questions", required_argument, 0, OPT_MAX_Q},
    {"max-depth", required_argument, 0, OPT_MAX_DEPTH},
    {"max-tree-nodes", required_argument, 0, OPT_MAX_NODES},
    {"max-rounds", required_argument, 0, OPT_MAX_ROUNDS},
    {"max-pending-bytes", required_argument, 0, OPT_MAX_PENDING},
    {"max-conn-jobs", required_argument, 0, OPT_MAX_CONN_JOBS},
    {"max-queued-jobs", required_argument, 0, OPT_MAX_QUEUED},
    {"max-connections", required_argument, 0, OPT_MAX_CONNS},
    {"idle-timeout-ms", required_argument, 0, OPT_IDLE},
    {"slice-ms", required_argument, 0, OPT_SLICE},
    {"checkpoint-every", required_argument, 0, OPT_CKEVERY},
    {"journal-compact-bytes", required_argument, 0, OPT_COMPACT},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

struct serve_cmd {
    struct iamp_server_opts o;
    const char *listen, *token_file, *task;
    uint64_t seed;
    long checkpoint_every;
    char host[256];
    char token[IAMP_TOKEN_MAX + 1];
};

static int set_u32(const char *opt, long lo, long hi, uint32_t *out)
{
    long v;
    if (iamp_cli_long("serve", opt, optarg, lo, hi, &v))
        return 1;
    *out = (uint32_t)v;
    return 0;
}

/* One option; 0, or 1 after a usage error was printed. */
static int serve_option(struct serve_cmd *c, int opt)
{
    struct iamp_limits *l = &c->o.lim;
    long v;
    double d;
    switch (opt) {
    case OPT_LISTEN:
        c->listen = optarg;
        return 0;
    case OPT_DATA:
        c->o.data_dir = optarg;
        return 0;
    case OPT_TOKEN:
        c->token_file = optarg;
        return 0;
    case OPT_TASK:
        c->task = optarg;
        return 0;
    case OPT_SEED:
        return iamp_cli_u64("serve", "--seed", optarg, &c->seed);
    case OPT_PORT_FILE:
        c->o.port_file = optarg;
        return 0;
    case OPT_MAX_FRAME:
        return set_u32("--max-frame-bytes", 64, 1L << 30, &l->max_frame_bytes);
    case OPT_MAX_Q:
        return set_u32("--max-questions", 1, 1L << 22, &l->max_questions);
    case OPT_MAX_DEPTH:
        return set_u32("--max-depth", 0, 16, &l->max_depth);
    case OPT_MAX_NODES:
        if (iamp_cli_long("serve", "--max-tree-nodes", optarg, 1, 1L << 30, &v))
            return 1;
        l->max_tree_nodes = v;
        return 0;
    case OPT_MAX_ROUNDS:
        return set_u32("--max-rounds", 1, 100000000, &l->max_rounds);
    case OPT_MAX_PENDING:
        if (iamp_cli_long("serve", "--max-pending-bytes", optarg, 4096, 1L << 34, &v))
            return 1;
        l->max_pending_bytes = (size_t)v;
        return 0;
    case OPT_MAX_CONN_JOBS:
        return set_u32("--max-conn-jobs", 1, 1 << 20, &l->max_conn_jobs);
    case OPT_MAX_QUEUED:
        return set_u32("--max-queued-jobs", 1, 1 << 24, &l->max_queued_jobs);
    case OPT_MAX_CONNS:
        return set_u32("--max-connections", 1, 1 << 20, &l->max_connections);
    case OPT_IDLE:
        return set_u32("--idle-timeout-ms", 100, 86400000, &l->idle_timeout_ms);
    case OPT_SLICE:
        if (iamp_cli_double("serve", "--slice-ms", optarg, 0.1, 10000, &d))
            return 1;
        c->o.exec.slice_ms = d;
        return 0;
    case OPT_CKEVERY:
        return iamp_cli_long("serve", "--checkpoint-every", optarg, 1, 1000000,
                             &c->checkpoint_every);
    case OPT_COMPACT:
        if (iamp_cli_long("serve", "--journal-compact-bytes", optarg, 0, 1L << 40, &v))
            return 1;
        c->o.journal_compact_bytes = (size_t)v;
        return 0;
    default: /* OPT_QUIET */
        c->o.quiet = 1;
        return 0;
    }
}

static void serve_defaults(struct serve_cmd *c)
{
    memset(c, 0, sizeof(*c));
    iamp_limits_default(&c->o.lim);
    c->listen = IAMP_ADDR_DEFAULT;
    c->o.data_dir = "iamp-data";
    c->o.exec.slice_ms = 20.0;
    c->o.exec.slice_max_questions = 4096;
    c->o.exec.eval_every = 5;
    c->o.result_cache_bytes = 256u << 20;
    c->o.journal_compact_bytes = IAMP_JOURNAL_COMPACT_BYTES;
    c->seed = 1;
    c->checkpoint_every = 10;
}

/* Returns -1 to go on, else an exit code. */
static int parse_serve(int argc, char **argv, struct serve_cmd *c)
{
    serve_defaults(c);
    opterr = 0;
    optind = 1;
    for (;;) {
        int opt = getopt_long(argc, argv, "+", serve_opts, NULL);
        if (opt == -1)
            break;
        if (opt == OPT_HELP) {
            fputs(serve_help, stdout);
            return IAMP_EXIT_OK;
        }
        if (opt == '?' || opt == ':')
            return iamp_cli_usage("serve", "unknown option or missing value: '%s'",
                                  argv[optind - 1]);
        if (serve_option(c, opt))
            return IAMP_EXIT_USAGE;
    }
    if (optind < argc)
        return iamp_cli_usage("serve", "unexpected argument '%s'", argv[optind]);
    return -1;
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
    struct iamp_backend_local_opts bo = {ckpath, c->task, c->seed, 3, c->checkpoint_every,
                                         iamp_cli_cluster()};
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
