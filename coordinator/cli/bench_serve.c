/* bench_serve.c — `iamp bench serve`: what a client of `iamp serve` sees.
 *
 * 1. Latency: one client runs answer jobs of one question one after the
 *    other, each the whole way a user's `iamp submit --wait` goes (connect,
 *    submit, journal fsync, run, watch, fetch the result); p50 and p99.
 * 2. Throughput: N clients (threads) do the same with jobs of Q questions
 *    for a fixed time; questions/s, jobs/s and the per-job p50/p99.
 * Without --addr a server is started on a free loopback port with a fresh
 * data directory (a child `iamp serve`), and stopped afterwards. Questions
 * are drawn from the task's sampler at every difficulty.
 */
#include "coordinator/cli/cli.h"
#include "coordinator/serve/client.h"
#include "tasks/task.h"

#include <dirent.h>
#include <stddef.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_WAIT_S 20.0

static const char bench_serve_usage[] =
    "usage: iamp bench serve [--addr HOST:PORT] [options]\n"
    "\n"
    "Answer-job latency (one client, one question per job) and throughput\n"
    "(--clients clients at once) against `iamp serve`; without --addr a server\n"
    "is started on a free loopback port with a fresh data directory. With\n"
    "--batching, throughput of --clients clients sending 1-question jobs\n"
    "against one client sending those questions together (jobs of --clients\n"
    "questions), and their ratio: what many small jobs cost against one.\n";

struct bench {
    const char *addr, *task_spec;
    long depth, requests, clients, questions;
    double seconds;
    int json, batching, keep;
    struct iamp_task task;
    char addr_buf[64], dir[256];
    pid_t child;
};

/* One client's tally. */
struct worker {
    struct bench *b;
    struct iamp_client cl; /* with --keep-connection: open while cl_open */
    int cl_open;
    int keep;
    uint64_t seed;
    long jobs, questions, failures;
    double *lat; /* seconds per job */
    long n_lat, cap_lat;
    double until;
    char err[512];
};

#define IAMP_OPT_STRUCT struct bench
static const struct iamp_opt bench_serve_rows[] = {
    IAMP_OPT_STRING("addr", addr, "HOST:PORT", "a running server (its task must match --task)"),
    IAMP_OPT_STRING("task", task_spec, "SPEC", "task of the spawned server and the questions"),
    IAMP_OPT_NUM("depth", IAMP_OPT_LONG, depth, 0, 8, "D", "depth of every job"),
    IAMP_OPT_NUM("requests", IAMP_OPT_LONG, requests, 1, 1000000, "N",
                 "latency: jobs one after the other"),
    IAMP_OPT_NUM("clients", IAMP_OPT_LONG, clients, 1, 1000, "N", "throughput: concurrent clients"),
    IAMP_OPT_NUM("questions", IAMP_OPT_LONG, questions, 1, 65536, "N",
                 "throughput: questions per job"),
    IAMP_OPT_NUM("seconds", IAMP_OPT_DOUBLE, seconds, 0.1, 3600, "X", "throughput: duration"),
    IAMP_OPT_SWITCH("batching", batching, 1,
                    "throughput: 1-question jobs of --clients clients against one client's "
                    "jobs of --clients questions"),
    IAMP_OPT_SWITCH("keep-connection", keep, 1,
                    "throughput: each client keeps one connection for all its jobs (a client "
                    "library's way) instead of one per job (`iamp submit --wait`'s)"),
    IAMP_OPT_SWITCH("json", json, 1, "one JSON object instead of text"),
    {0},
};
#undef IAMP_OPT_STRUCT

static void bench_serve_defaults(struct bench *b)
{
    b->task_spec = "permpow";
    b->depth = 1;
    b->requests = 200;
    b->clients = 50;
    b->questions = 10;
    b->seconds = 5.0;
}

/* argv[1] is "serve". */
static int parse(int argc, char **argv, struct bench *b)
{
    const struct iamp_opt_group g = {bench_serve_rows, 0, NULL};
    const struct iamp_cli_help help = {bench_serve_usage, NULL};
    struct bench *defaults = calloc(1, sizeof(*defaults));
    int npos = 0;
    if (!defaults) {
        iamp_cli_error("bench: out of memory");
        return IAMP_EXIT_FAIL;
    }
    bench_serve_defaults(b);
    bench_serve_defaults(defaults);
    int code = iamp_cli_parse("bench", &help, &g, 1, b, defaults, argc, argv, &npos);
    free(defaults);
    if (code < 0 && npos > 1)
        return iamp_cli_usage("bench", "unexpected argument '%s'", argv[2]);
    return code;
}

/* ---------------------------------------------------------- a spawned server */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st))
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char sub[1024];
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int read_port(const char *path)
{
    char buf[32] = {0};
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int port = fgets(buf, sizeof(buf), f) ? atoi(buf) : -1;
    fclose(f);
    return port > 0 ? port : -1;
}

static int spawn_server(struct bench *b)
{
    char data[300], port_file[300];
    const char *tmp = getenv("TMPDIR");
    snprintf(b->dir, sizeof(b->dir), "%s/iamp-bench-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(b->dir)) {
        iamp_cli_error("bench: cannot create a temporary directory");
        return -1;
    }
    snprintf(data, sizeof(data), "%s/data", b->dir);
    snprintf(port_file, sizeof(port_file), "%s/port", b->dir);
    b->child = fork();
    if (b->child == 0) {
        char *argv[] = {"iamp",    "serve",      "--listen", "127.0.0.1:0", "--port-file",
                        port_file, "--data-dir", data,       "--task",      (char *)b->task_spec,
                        "--quiet", NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    for (double t0 = iamp_now(); b->child > 0 && iamp_now() - t0 < SPAWN_WAIT_S;) {
        int port = read_port(port_file);
        if (port > 0) {
            snprintf(b->addr_buf, sizeof(b->addr_buf), "127.0.0.1:%d", port);
            b->addr = b->addr_buf;
            return 0;
        }
        if (waitpid(b->child, NULL, WNOHANG) == b->child)
            break;
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    iamp_cli_error("bench: the server did not start");
    return -1;
}

static void stop_server(struct bench *b)
{
    if (b->child > 0) {
        kill(b->child, SIGTERM);
        waitpid(b->child, NULL, 0);
    }
    if (b->dir[0])
        remove_tree(b->dir);
}

/* ---------------------------------------------------------- one job */

static int fill_questions(struct worker *w, struct iamp_submit *s, int n)
{
    const struct iamp_task *t = &w->b->task;
    struct iamp_rng r;
    iamp_rng_seed(&r, w->seed++, 0x62656e6368 /* "bench" */);
    for (int i = 0; i < n; i++) {
        struct iamp_question q;
        int level = 1 + (int)iamp_rng_below(&r, (uint32_t)t->max_difficulty);
        t->ops->sample(t, &r, level, &q);
        memset(&s->questions[i], 0, sizeof(s->questions[i]));
        s->questions[i].has_text = 1;
        t->ops->format_question(t, &q, s->questions[i].text, sizeof(s->questions[i].text));
    }
    s->n_questions = n;
    return 0;
}

/* Submit, watch to the end, fetch the result: one job, on its own
 * connection or (keep) on the worker's. */
static int one_job(struct worker *w, struct iamp_submit *s)
{
    struct iamp_msg req, r;
    int rc = 0;
    if (!w->cl_open)
        rc = iamp_client_connect(&w->cl, w->b->addr, NULL, 30000, w->err, sizeof(w->err));
    if (rc)
        return rc;
    w->cl_open = 1;
    struct iamp_client *cl = &w->cl;
    memset(&req, 0, sizeof(req));
    req.kind = IAMP_MSG_SUBMIT;
    req.submit = *s;
    rc = iamp_client_call(cl, &req, &r, 30000, w->err, sizeof(w->err));
    uint64_t job = !rc && r.kind == IAMP_MSG_ACCEPTED ? r.job_id : 0;
    if (!rc)
        iamp_msg_release(&r);
    memset(&req, 0, sizeof(req));
    req.kind = IAMP_MSG_WATCH;
    req.job_id = job;
    rc = rc ? rc : job ? iamp_client_send(cl, &req, w->err, sizeof(w->err)) : IAMP_EINVAL;
    int state = 0;
    while (!rc && !iamp_job_state_final(state)) {
        rc = iamp_client_recv(cl, &r, 60000, w->err, sizeof(w->err));
        state = !rc && r.kind == IAMP_MSG_PROGRESS ? r.status.state : rc ? 0 : IAMP_JOB_FAILED;
        if (!rc)
            iamp_msg_release(&r);
    }
    /* every page of the result */
    for (uint64_t got = 0; !rc && state == IAMP_JOB_DONE && got < (uint64_t)s->n_questions;) {
        memset(&req, 0, sizeof(req));
        req.kind = IAMP_MSG_GET_RESULT;
        req.job_id = job;
        req.offset = got;
        rc = iamp_client_call(cl, &req, &r, 30000, w->err, sizeof(w->err));
        if (rc)
            break;
        rc = r.kind == IAMP_MSG_RESULT && r.page.n_items > 0 ? 0 : IAMP_ECORRUPT;
        if (rc)
            snprintf(w->err, sizeof(w->err), "job %llu: no result page at %llu",
                     (unsigned long long)job, (unsigned long long)got);
        got += r.page.n_items;
        iamp_msg_release(&r);
    }
    if (rc || !w->keep) {
        iamp_client_close(cl);
        w->cl_open = 0;
    }
    return rc ? rc : state == IAMP_JOB_DONE ? 0 : IAMP_ECORRUPT;
}

static void record(struct worker *w, double seconds)
{
    if (w->n_lat == w->cap_lat) {
        long cap = w->cap_lat ? w->cap_lat * 2 : 1024;
        double *p = realloc(w->lat, (size_t)cap * sizeof(double));
        if (!p)
            return;
        w->lat = p;
        w->cap_lat = cap;
    }
    w->lat[w->n_lat++] = seconds;
}

/* Jobs of n questions until `until` (or `count` jobs when count > 0). */
static void run_jobs(struct worker *w, int n, long count)
{
    struct iamp_submit s;
    memset(&s, 0, sizeof(s));
    s.kind = IAMP_JOB_ANSWER;
    s.has_depth = 1;
    s.depth = (uint32_t)w->b->depth;
    s.questions = calloc((size_t)n, sizeof(*s.questions));
    while (s.questions && (count > 0 ? w->jobs + w->failures < count : iamp_now() < w->until)) {
        fill_questions(w, &s, n);
        double t0 = iamp_now();
        if (one_job(w, &s)) {
            w->failures++;
            continue;
        }
        record(w, iamp_now() - t0);
        w->jobs++;
        w->questions += n;
    }
    if (w->cl_open)
        iamp_client_close(&w->cl);
    w->cl_open = 0;
    free(s.questions);
}

static void *thread_main(void *arg)
{
    struct worker *w = arg;
    run_jobs(w, (int)w->b->questions, 0);
    return NULL;
}

/* ---------------------------------------------------------- figures */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(double *v, long n, double q)
{
    if (n == 0)
        return 0.0;
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    long i = (long)(q * (double)(n - 1) + 0.5);
    return v[i];
}

struct figures {
    double lat_p50, lat_p99, qps, jps, load_p50, load_p99, wall;
    long jobs, failures;
};

static void latency_phase(struct bench *b, struct figures *f)
{
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.b = b;
    w.seed = 1;
    run_jobs(&w, 1, b->requests);
    f->lat_p50 = quantile(w.lat, w.n_lat, 0.50);
    f->lat_p99 = quantile(w.lat, w.n_lat, 0.99);
    f->failures += w.failures;
    if (w.failures)
        iamp_cli_error("bench: %ld jobs failed: %s", w.failures, w.err);
    free(w.lat);
}

static int throughput_phase(struct bench *b, struct figures *f)
{
    long n = b->clients;
    struct worker *w = calloc((size_t)n, sizeof(*w));
    pthread_t *th = calloc((size_t)n, sizeof(*th));
    if (!w || !th) {
        free(w);
        free(th);
        return IAMP_ENOMEM;
    }
    double t0 = iamp_now();
    for (long i = 0; i < n; i++) {
        w[i].b = b;
        w[i].keep = b->keep;
        w[i].seed = 1000000u * (uint64_t)(i + 1);
        w[i].until = t0 + b->seconds;
        if (pthread_create(&th[i], NULL, thread_main, &w[i]))
            w[i].until = 0; /* runs nothing */
    }
    double *all = NULL;
    long total = 0, questions = 0;
    for (long i = 0; i < n; i++) {
        if (w[i].until > 0)
            pthread_join(th[i], NULL);
        double *p = realloc(all, (size_t)(total + w[i].n_lat + 1) * sizeof(double));
        if (p) {
            all = p;
            memcpy(all + total, w[i].lat, (size_t)w[i].n_lat * sizeof(double));
            total += w[i].n_lat;
        }
        questions += w[i].questions;
        f->failures += w[i].failures;
        if (w[i].failures)
            iamp_cli_error("bench: client %ld: %ld jobs failed: %s", i, w[i].failures, w[i].err);
        free(w[i].lat);
    }
    f->wall = iamp_now() - t0;
    f->jobs = total;
    f->qps = (double)questions / f->wall;
    f->jps = (double)total / f->wall;
    f->load_p50 = quantile(all, total, 0.50);
    f->load_p99 = quantile(all, total, 0.99);
    free(all);
    free(w);
    free(th);
    return 0;
}

static void report(const struct bench *b, const struct figures *f)
{
    if (b->json) {
        printf("{\"task\":\"%s\",\"depth\":%ld,\"latency_p50_ms\":%.3f,\"latency_p99_ms\":%.3f,"
               "\"clients\":%ld,\"keep_connection\":%s,\"questions_per_job\":%ld,\"questions_per_"
               "s\":%.1f,"
               "\"jobs_per_s\":%.1f,\"load_p50_ms\":%.3f,\"load_p99_ms\":%.3f,\"failures\":%ld}\n",
               b->task.spec, b->depth, f->lat_p50 * 1e3, f->lat_p99 * 1e3, b->clients,
               b->keep ? "true" : "false", b->questions, f->qps, f->jps, f->load_p50 * 1e3,
               f->load_p99 * 1e3, f->failures);
        return;
    }
    printf("serve %s: task %s, depth %ld, loopback\n", b->child > 0 ? "(spawned)" : b->addr,
           b->task.spec, b->depth);
    printf("latency, 1 client, jobs of 1 question: p50 %.2f ms, p99 %.2f ms (%ld jobs)\n",
           f->lat_p50 * 1e3, f->lat_p99 * 1e3, b->requests);
    printf("throughput, %ld clients%s, jobs of %ld question%s: %.0f questions/s, %.0f jobs/s "
           "(per job p50 %.1f ms, p99 %.1f ms; %ld jobs in %.1f s)\n",
           b->clients, b->keep ? " (kept connections)" : "", b->questions,
           b->questions == 1 ? "" : "s", f->qps, f->jps, f->load_p50 * 1e3, f->load_p99 * 1e3,
           f->jobs, f->wall);
}

/* One client sending, as jobs of --clients questions, what --clients
 * clients sent as 1-question jobs (f): the ratio of their throughputs. */
static int batching_phase(struct bench *b, const struct figures *small)
{
    struct bench one = *b;
    struct figures f;
    memset(&f, 0, sizeof(f));
    one.clients = 1;
    one.questions = b->clients;
    if (throughput_phase(&one, &f))
        return IAMP_EXIT_FAIL;
    double ratio = f.qps > 0 ? small->qps / f.qps : 0.0;
    if (b->json)
        printf("{\"batching\":{\"clients\":%ld,\"small_questions_per_s\":%.1f,"
               "\"one_client_questions_per_s\":%.1f,\"ratio\":%.3f}}\n",
               b->clients, small->qps, f.qps, ratio);
    else
        printf("throughput, 1 client, jobs of %ld questions: %.0f questions/s (per job p50 %.1f "
               "ms)\nbatching: %ld clients' 1-question jobs / 1 client's %ld-question jobs = "
               "%.0f / %.0f questions/s = %.2f\n",
               b->clients, f.qps, f.load_p50 * 1e3, b->clients, b->clients, small->qps, f.qps,
               ratio);
    return f.failures ? IAMP_EXIT_FAIL : IAMP_EXIT_OK;
}

int iamp_bench_serve(int argc, char **argv)
{
    struct bench b;
    struct figures f;
    char err[512];
    memset(&b, 0, sizeof(b));
    memset(&f, 0, sizeof(f));
    int code = parse(argc, argv, &b);
    if (code >= 0)
        return code;
    if (iamp_task_create(&b.task, b.task_spec, err, sizeof(err))) {
        iamp_cli_error("bench: %s", err);
        return IAMP_EXIT_USAGE;
    }
    if (iamp_task_has_contexts(&b.task)) { /* its jobs would need facts blocks */
        iamp_cli_error("bench: serve: task %s asks its questions on facts; bench serve sends "
                       "questions without them (use a task without facts)",
                       b.task.spec);
        iamp_task_destroy(&b.task);
        return IAMP_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);
    code = IAMP_EXIT_FAIL;
    if (b.batching)
        b.questions = 1;
    if (b.addr || spawn_server(&b) == 0) {
        latency_phase(&b, &f);
        if (throughput_phase(&b, &f) == 0) {
            report(&b, &f);
            code = f.failures ? IAMP_EXIT_FAIL : IAMP_EXIT_OK;
        }
        if (code == IAMP_EXIT_OK && b.batching)
            code = batching_phase(&b, &f);
    }
    stop_server(&b);
    iamp_task_destroy(&b.task);
    return code;
}
