/* cmd_client.c — the job API's commands: `iamp submit`, `status`, `watch`,
 * `result`, `cancel`, `jobs`, `info`.
 *
 * Each opens one connection (--addr, default $IAMP_ADDR or 127.0.0.1:7433;
 * --token-file, default $IAMP_TOKEN_FILE). Output for people is one line
 * per job, a progress bar when the stream is a terminal, plain lines
 * otherwise; results are JSONL like `iamp answer`. A refusal from the
 * server is a failure (exit 1) printed as "iamp: CMD: <reason> (<code>)".
 */
#include "coordinator/cli/cli.h"
#include "coordinator/serve/client.h"
#include "coordinator/serve/request.h"
#include "coordinator/train/metrics.h"
#include "coordinator/train/traces.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 30
#define RETRY_PAUSE_MS 200

static const char submit_help[] =
    "usage: iamp submit [--task SPEC] [--depth D] [--wait] [options] [FILE|-]\n"
    "\n"
    "Submits a job to `iamp serve` and prints its id, or with --wait its\n"
    "result: for an answer job one JSON object per question, as `iamp answer`\n"
    "writes them: {\"question\": ..., \"answer\": ..., \"depth\": D}. With\n"
    "--trace FILE (and --wait) the server records each question's\n"
    "decomposition tree and FILE gets them as `iamp answer --trace` writes them.\n";

static const char status_help[] =
    "usage: iamp status JOB [--json] [--addr HOST:PORT] [--token-file F]\n"
    "\n"
    "Prints a job's state and progress on one line (or a JSON object).\n";
static const char watch_help[] =
    "usage: iamp watch JOB [--addr HOST:PORT] [--token-file F]\n"
    "\n"
    "Follows a job until it ends: a progress bar on a terminal, a line per\n"
    "update otherwise. Exits 0 when it ends done, 1 when failed or canceled.\n";
static const char result_help[] =
    "usage: iamp result JOB [--offset N] [--limit N] [--addr HOST:PORT] [--token-file F]\n"
    "\n"
    "Prints a finished job's result: an answer job's answers as JSONL\n"
    "({\"question\": ..., \"answer\": ..., \"depth\": D}), a train or eval job's\n"
    "final status as one JSON object. --trace FILE: a job submitted with\n"
    "--trace also writes its questions' trees to FILE.\n";
static const char cancel_help[] =
    "usage: iamp cancel JOB [--json] [--addr HOST:PORT] [--token-file F]\n"
    "\n"
    "Ends an unfinished job as canceled (a train job after its current round,\n"
    "keeping what it trained) and prints its status.\n";
static const char jobs_help[] = "usage: iamp jobs [--limit N] [--json] [--addr HOST:PORT] "
                                "[--token-file F]\n"
                                "\n"
                                "Lists the server's jobs, newest first (default 100).\n";
static const char info_help[] = "usage: iamp info [--json] [--addr HOST:PORT] [--token-file F]\n"
                                "\n"
                                "Prints the server's version, served model and limits.\n";

/* Everything any of the commands takes; each command's groups say which. */
struct client_cmd {
    const char *cmd, *help;
    const struct iamp_opt_group *groups;
    int n_groups;
    const char *addr, *token_file;
    char token[IAMP_TOKEN_MAX + 1];
    int has_token, json, wait;
    double timeout_s, retry_s;
    uint64_t job;
    const char *input;
    const char *trace; /* --trace FILE */
    struct iamp_submit sub;
    uint64_t offset;
    long limit;
};

/* ---------------------------------------------------------- options */

#define AT(f) offsetof(struct client_cmd, f)
#define IAMP_OPT_STRUCT struct client_cmd
static const struct iamp_opt conn_rows[] = {
    IAMP_OPT_STRING("addr", addr, "HOST:PORT",
                    "server (default $IAMP_ADDR or " IAMP_ADDR_DEFAULT ")"),
    IAMP_OPT_STRING("token-file", token_file, "F", "token (default $IAMP_TOKEN_FILE)"),
    IAMP_OPT_NUM("timeout", IAMP_OPT_DOUBLE, timeout_s, 0.1, 86400, "SECONDS",
                 "for connecting and each reply"),
    {0},
};
static const struct iamp_opt json_rows[] = {
    IAMP_OPT_SWITCH("json", json, 1, "one JSON object per line instead of text"),
    {0},
};
static const struct iamp_opt limit_rows[] = {
    IAMP_OPT_NUM("limit", IAMP_OPT_LONG, limit, 1, 1000000, "N", "items at most"),
    {0},
};
static const struct iamp_opt offset_rows[] = {
    IAMP_OPT_NUM("offset", IAMP_OPT_U64, offset, 0, 0, "N", "first item"),
    {0},
};
static const struct iamp_opt trace_rows[] = {
    IAMP_OPT_STRING("trace", trace, "FILE",
                    "answer jobs: each question's tree to FILE (JSONL as\n"
                    "iamp answer --trace writes it; submit: with --wait,\n"
                    "and the server records the trees)"),
    {0},
};

static const char *const job_kinds[] = {"answer", "train", "eval", NULL};
static const struct iamp_opt submit_rows[] = {
    {.name = "kind",
     .kind = IAMP_OPT_CHOICE,
     .offset = AT(sub.kind),
     .arg = "K",
     .set = IAMP_JOB_ANSWER,
     .choices = job_kinds,
     .help = "answer (questions from FILE or stdin, one per line),\n"
             "train or eval"},
    IAMP_OPT_NUM("task", IAMP_OPT_TEXT, sub.task, 0, IAMP_SPEC_MAX, "SPEC",
                 "must be the served model's task (default: it)"),
    {.name = "depth",
     .kind = IAMP_OPT_U32,
     .offset = AT(sub.depth),
     .lo = 0,
     .hi = 64,
     .arg = "D",
     .seen = IAMP_OPT_SEEN(struct client_cmd, sub.has_depth),
     .flags = IAMP_OPT_NO_DEFAULT,
     .help = "amplification depth (default 1)"},
    IAMP_OPT_NUM("algo", IAMP_OPT_TEXT, sub.train.algo, 0, IAMP_ALGO_MAX, "MODE",
                 "train: distillation modes (default: the model's)"),
    IAMP_OPT_NUM("rounds", IAMP_OPT_U32, sub.train.rounds, 1, 100000000, "R",
                 "train: rounds to run (required)"),
    {.name = "seed",
     .kind = IAMP_OPT_U64,
     .offset = AT(sub.train.seed),
     .arg = "S",
     .seen = IAMP_OPT_SEEN(struct client_cmd, sub.train.has_seed),
     .flags = IAMP_OPT_NO_DEFAULT,
     .help = "train: seed of a model never trained"},
    IAMP_OPT_NUM("questions", IAMP_OPT_U32, sub.train.questions_per_round, 0,
                 IAMP_QUESTIONS_PER_ROUND_MAX, "N",
                 "train: questions per round (0: the model's, as the server\n"
                 "reads an absent one)"),
    IAMP_OPT_NUM("eval-size", IAMP_OPT_U32, sub.eval_size, 0, 1 << 24, "N",
                 "eval: held-out questions (0: the task's set; the server's\n"
                 "max_eval_size caps it)"),
    IAMP_OPT_NUM("key", IAMP_OPT_TEXT, sub.client_key, 1, IAMP_KEY_MAX, "K",
                 "idempotency key: resubmitting it gives the same job"),
    IAMP_OPT_SWITCH("wait", wait, 1,
                    "wait for the job (progress bar on a terminal), print\n"
                    "its result; exit 1 unless it ends done"),
    {.name = "retry",
     .kind = IAMP_OPT_DOUBLE,
     .offset = AT(retry_s),
     .lo = 0,
     .hi = 86400,
     .arg = "SECONDS",
     .flags = IAMP_OPT_NO_DEFAULT,
     .help = "on a lost connection reconnect and resubmit (same\n"
             "key) for up to SECONDS"},
    {0},
};
#undef IAMP_OPT_STRUCT

static const struct iamp_opt_group status_groups[] = {{conn_rows, 0, NULL}, {json_rows, 0, NULL}};
static const struct iamp_opt_group watch_groups[] = {{conn_rows, 0, NULL}};
static const struct iamp_opt_group result_groups[] = {
    {conn_rows, 0, NULL}, {offset_rows, 0, NULL}, {limit_rows, 0, NULL}, {trace_rows, 0, NULL}};
static const struct iamp_opt_group jobs_groups[] = {
    {conn_rows, 0, NULL}, {json_rows, 0, NULL}, {limit_rows, 0, NULL}};
static const struct iamp_opt_group submit_groups[] = {
    {submit_rows, 0, NULL}, {trace_rows, 0, NULL}, {conn_rows, 0, NULL}};
#define GROUPS(g) g, (int)(sizeof(g) / sizeof(g[0]))

static int read_token(struct client_cmd *c)
{
    char err[512];
    size_t len;
    if (!c->token_file)
        c->token_file = getenv("IAMP_TOKEN_FILE");
    if (!c->token_file || !c->token_file[0])
        return 0;
    if (iamp_token_read(c->token_file, c->token, sizeof(c->token), &len, err, sizeof(err))) {
        iamp_cli_error("%s: %s", c->cmd, err);
        return IAMP_EXIT_USAGE;
    }
    c->has_token = 1;
    return 0;
}

/* Options, then the JOB argument when want_job; -1 to go on. */
static int parse_client(int argc, char **argv, struct client_cmd *c, int want_job)
{
    const struct iamp_cli_help help = {c->help, NULL};
    int npos = 0, at = 1;
    c->timeout_s = 30.0;
    struct client_cmd defaults = *c;
    defaults.sub.kind = IAMP_JOB_ANSWER;
    int code =
        iamp_cli_parse(c->cmd, &help, c->groups, c->n_groups, c, &defaults, argc, argv, &npos);
    if (code >= 0)
        return code;
    if (!c->addr)
        c->addr = getenv("IAMP_ADDR");
    if (!c->addr || !c->addr[0])
        c->addr = IAMP_ADDR_DEFAULT;
    if (want_job) {
        if (npos < 1)
            return iamp_cli_usage(c->cmd, "which job? (a job id)");
        if (iamp_cli_u64(c->cmd, "JOB", argv[at++], &c->job))
            return IAMP_EXIT_USAGE;
    }
    if (at <= npos && strcmp(c->cmd, "submit") == 0)
        c->input = argv[at++];
    if (at <= npos)
        return iamp_cli_usage(c->cmd, "unexpected argument '%s'", argv[at]);
    code = read_token(c);
    return code ? code : -1;
}

/* ---------------------------------------------------------- output */

static void print_status_line(FILE *f, const struct iamp_job_status *st)
{
    fprintf(f, "job %" PRIu64 ": %s %s %" PRIu64 "/%" PRIu64, st->job_id,
            iamp_job_kind_name(st->kind), iamp_job_state_name(st->state), st->done, st->total);
    if (st->kind != IAMP_JOB_TRAIN)
        fprintf(f, ", depth %u", st->depth);
    if (st->has_model_round)
        fprintf(f, ", model round %" PRIu64, st->model_round);
    if (st->has_accuracy)
        fprintf(f, ", accuracy %.4f, amplified %.4f", st->accuracy, st->amplified_accuracy);
    if (st->message[0])
        fprintf(f, ": %s", st->message);
    fputc('\n', f);
}

static void print_status_json(FILE *f, const struct iamp_job_status *st)
{
    fprintf(f,
            "{\"job\":%" PRIu64 ",\"kind\":\"%s\",\"state\":\"%s\",\"done\":%" PRIu64
            ",\"total\":%" PRIu64 ",\"task\":",
            st->job_id, iamp_job_kind_name(st->kind), iamp_job_state_name(st->state), st->done,
            st->total);
    iamp_json_string(f, st->task);
    fprintf(f, ",\"depth\":%u,\"model_round\":", st->depth);
    iamp_json_number(f, st->has_model_round ? (double)st->model_round : NAN);
    fputs(",\"accuracy\":", f);
    iamp_json_number(f, st->has_accuracy ? st->accuracy : NAN);
    fputs(",\"amplified_accuracy\":", f);
    iamp_json_number(f, st->has_accuracy ? st->amplified_accuracy : NAN);
    fputs(",\"message\":", f);
    iamp_json_string(f, st->message);
    fputs("}\n", f);
}

/* One JSON object per item, as `iamp answer` writes them. */
static void print_items(const struct iamp_result_item *items, size_t n)
{
    char ft[IAMP_FACTS_TEXT_MAX];
    for (size_t i = 0; i < n; i++) {
        fputs("{\"question\":", stdout);
        iamp_json_string(stdout, items[i].qtext);
        if (items[i].context >= 0) {
            iamp_context_format(&items[i].facts, ft, sizeof(ft));
            printf(",\"context\":%d,\"facts\":", items[i].context + 1);
            iamp_json_string(stdout, ft + strlen("facts: "));
        }
        fputs(",\"answer\":", stdout);
        iamp_json_string(stdout, items[i].atext);
        printf(",\"depth\":%u}\n", items[i].depth);
    }
}

/* A progress bar on a terminal; a line per change elsewhere (when lines). */
static void show_progress(FILE *f, const struct iamp_job_status *st, int tty, int lines)
{
    int final = iamp_job_state_final(st->state);
    if (tty) {
        int fill = st->total ? (int)(BAR_WIDTH * st->done / st->total) : (final ? BAR_WIDTH : 0);
        fprintf(f, "\rjob %" PRIu64 " [", st->job_id);
        for (int i = 0; i < BAR_WIDTH; i++)
            fputc(i < fill ? '#' : '.', f);
        fprintf(f, "] %" PRIu64 "/%" PRIu64 " %-8s", st->done, st->total,
                iamp_job_state_name(st->state));
        if (final)
            fputc('\n', f);
        fflush(f);
    } else if (lines) {
        print_status_line(f, st);
        fflush(f);
    }
}

/* ---------------------------------------------------------- requests */

static int timeout_ms(const struct client_cmd *c)
{
    return (int)(c->timeout_s * 1000.0);
}

static int connect_to(struct client_cmd *c, struct iamp_client *cl)
{
    char err[512];
    if (iamp_client_connect(cl, c->addr, c->has_token ? c->token : NULL, timeout_ms(c), err,
                            sizeof(err))) {
        iamp_cli_error("%s: %s", c->cmd, err);
        return IAMP_EXIT_FAIL;
    }
    return 0;
}

/* Report a failed call or an Error reply; returns an exit code, or 0 when
 * the reply is of kind `want`. */
static int expect(struct client_cmd *c, int rc, const char *err, const struct iamp_msg *r, int want)
{
    if (rc) {
        iamp_cli_error("%s: %s", c->cmd, err);
        return IAMP_EXIT_FAIL;
    }
    if (r->kind == IAMP_MSG_ERROR) {
        iamp_cli_error("%s: %s (%s)", c->cmd, r->reason, iamp_wire_error_name(r->error_code));
        return IAMP_EXIT_FAIL;
    }
    if (r->kind != want) {
        iamp_cli_error("%s: unexpected reply (body %d)", c->cmd, r->kind);
        return IAMP_EXIT_FAIL;
    }
    return 0;
}

/* One request on a fresh connection. */
static int call_once(struct client_cmd *c, struct iamp_msg *req, struct iamp_msg *reply, int want)
{
    struct iamp_client cl;
    char err[512];
    memset(reply, 0, sizeof(*reply));
    int code = connect_to(c, &cl);
    if (code)
        return code;
    int rc = iamp_client_call(&cl, req, reply, timeout_ms(c), err, sizeof(err));
    iamp_client_close(&cl);
    return expect(c, rc, err, reply, want);
}

static int job_request(struct client_cmd *c, int kind, int want, struct iamp_msg *reply)
{
    struct iamp_msg req;
    memset(&req, 0, sizeof(req));
    req.kind = kind;
    req.job_id = c->job;
    return call_once(c, &req, reply, want);
}

/* watch and result: options and JOB, then a connection; -1 to go on, else
 * an exit code. */
static int parse_and_connect(int argc, char **argv, struct client_cmd *c, struct iamp_client *cl)
{
    int code = parse_client(argc, argv, c, 1);
    if (code >= 0)
        return code;
    code = connect_to(c, cl);
    return code ? code : -1;
}

/* status and cancel: one request about a job, its status printed. */
static int status_reply(int argc, char **argv, struct client_cmd *c, int kind)
{
    struct iamp_msg r;
    int code = parse_client(argc, argv, c, 1);
    if (code >= 0)
        return code;
    code = job_request(c, kind, IAMP_MSG_STATUS, &r);
    if (!code)
        (c->json ? print_status_json : print_status_line)(stdout, &r.status);
    iamp_msg_release(&r);
    return code;
}

int iamp_cmd_status(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "status", .help = status_help, .groups = GROUPS(status_groups)};
    return status_reply(argc, argv, &c, IAMP_MSG_GET_STATUS);
}

int iamp_cmd_cancel(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "cancel", .help = cancel_help, .groups = GROUPS(status_groups)};
    return status_reply(argc, argv, &c, IAMP_MSG_CANCEL);
}

/* Follow job on cl until it ends; *final gets its last status. */
static int follow(struct client_cmd *c, struct iamp_client *cl, FILE *f, int tty, int lines,
                  struct iamp_job_status *final, char *err, size_t errlen)
{
    struct iamp_msg req, r;
    memset(&req, 0, sizeof(req));
    req.kind = IAMP_MSG_WATCH;
    req.job_id = c->job;
    int rc = iamp_client_send(cl, &req, err, errlen);
    while (!rc) {
        rc = iamp_client_recv(cl, &r, -1, err, errlen);
        if (rc)
            break;
        if (r.kind == IAMP_MSG_ERROR) {
            snprintf(err, errlen, "%s (%s)", r.reason, iamp_wire_error_name(r.error_code));
            iamp_msg_release(&r);
            return IAMP_EINVAL;
        }
        if (r.kind == IAMP_MSG_PROGRESS) {
            show_progress(f, &r.status, tty, lines);
            *final = r.status;
            if (iamp_job_state_final(r.status.state)) {
                iamp_msg_release(&r);
                return 0;
            }
        }
        iamp_msg_release(&r);
    }
    return rc;
}

int iamp_cmd_watch(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "watch", .help = watch_help, .groups = GROUPS(watch_groups)};
    struct iamp_client cl;
    struct iamp_job_status st;
    char err[512];
    int code = parse_and_connect(argc, argv, &c, &cl);
    if (code >= 0)
        return code;
    int rc = follow(&c, &cl, stdout, iamp_stdout_tty(), 1, &st, err, sizeof(err));
    iamp_client_close(&cl);
    if (rc) {
        iamp_cli_error("watch: %s", err);
        return IAMP_EXIT_FAIL;
    }
    return st.state == IAMP_JOB_DONE ? IAMP_EXIT_OK : IAMP_EXIT_FAIL;
}

/* ---------------------------------------------------------- results */

struct items {
    struct iamp_result_item *v;
    size_t n, cap;
};

static int items_add(struct items *it, const struct iamp_result_page *p)
{
    if (it->n + (size_t)p->n_items > it->cap) {
        size_t cap = it->cap ? it->cap : 1024;
        while (cap < it->n + (size_t)p->n_items)
            cap *= 2;
        struct iamp_result_item *v = realloc(it->v, cap * sizeof(*v));
        if (!v)
            return IAMP_ENOMEM;
        it->v = v;
        it->cap = cap;
    }
    memcpy(it->v + it->n, p->items, (size_t)p->n_items * sizeof(*p->items));
    it->n += (size_t)p->n_items;
    return 0;
}

/* A page's trees to f, one line per item as `iamp answer --trace`. */
static int write_traces(FILE *f, const struct iamp_result_page *p, uint64_t job, char *err,
                        size_t errlen)
{
    char ft[IAMP_FACTS_TEXT_MAX];
    for (int i = 0; i < p->n_items; i++) {
        const struct iamp_result_item *it = &p->items[i];
        if (it->trace_len < 1) {
            snprintf(err, errlen, "job %" PRIu64 " has no trace (it was submitted without one)",
                     job);
            return IAMP_ENOENT;
        }
        if (it->context >= 0)
            iamp_context_format(&it->facts, ft, sizeof(ft));
        int rc = iamp_traces_write_tree(f, p->trace + it->trace_at, p->trace_text + it->trace_at,
                                        it->trace_len, it->context + 1,
                                        it->context >= 0 ? ft + strlen("facts: ") : NULL);
        if (rc) {
            snprintf(err, errlen, "job %" PRIu64 ": item %" PRIu64 ": a malformed trace", job,
                     p->offset + (uint64_t)i);
            return rc;
        }
    }
    return 0;
}

/* Fetch pages [offset, offset + want) on cl; want 0: to the end. With
 * trace, each page's trees are written there as they come. */
static int fetch_results(struct client_cmd *c, struct iamp_client *cl, uint64_t offset,
                         uint64_t want, FILE *trace, struct items *it, struct iamp_job_status *st,
                         char *err, size_t errlen)
{
    for (;;) {
        struct iamp_msg req, r;
        memset(&req, 0, sizeof(req));
        req.kind = IAMP_MSG_GET_RESULT;
        req.job_id = c->job;
        req.offset = offset + it->n;
        req.limit = want && want - it->n < 100000 ? (uint32_t)(want - it->n) : 0;
        int rc = iamp_client_call(cl, &req, &r, timeout_ms(c), err, errlen);
        if (!rc && r.kind == IAMP_MSG_ERROR) {
            snprintf(err, errlen, "%s (%s)", r.reason, iamp_wire_error_name(r.error_code));
            rc = IAMP_EINVAL;
        } else if (!rc && r.kind != IAMP_MSG_RESULT) {
            snprintf(err, errlen, "unexpected reply (body %d)", r.kind);
            rc = IAMP_ECORRUPT;
        }
        if (!rc)
            rc = items_add(it, &r.page);
        if (!rc && trace && r.page.has_status && r.page.status.kind != IAMP_JOB_ANSWER) {
            snprintf(err, errlen, "job %" PRIu64 " is a %s job: only answer jobs have traces",
                     c->job, iamp_job_kind_name(r.page.status.kind));
            rc = IAMP_EINVAL;
        }
        if (!rc && trace)
            rc = write_traces(trace, &r.page, c->job, err, errlen);
        int more =
            !rc && r.page.n_items > 0 && offset + it->n < r.page.total && (!want || it->n < want);
        if (!rc && r.page.has_status)
            *st = r.page.status;
        iamp_msg_release(&r);
        if (rc || !more)
            return rc;
    }
}

/* --trace FILE: opened for a fetch (again for each attempt: it starts
 * over), closed after it; removed when anything failed. */
static FILE *trace_open(const struct client_cmd *c, char *err, size_t errlen)
{
    FILE *f = fopen(c->trace, "w");
    if (!f)
        snprintf(err, errlen, "cannot write trace %s: %s", c->trace,
                 iamp_strerror(iamp_err_from_errno(errno)));
    return f;
}

static int trace_close(const struct client_cmd *c, FILE *f, int rc, char *err, size_t errlen)
{
    int werr = ferror(f);
    if ((fclose(f) || werr) && !rc) {
        snprintf(err, errlen, "cannot write trace %s: %s", c->trace,
                 iamp_strerror(iamp_err_from_errno(errno ? errno : EIO)));
        rc = IAMP_EIO;
    }
    if (rc)
        remove(c->trace);
    return rc;
}

/* Fetch the result, and with --trace its trees into that file. */
static int fetch_all(struct client_cmd *c, struct iamp_client *cl, uint64_t offset, uint64_t want,
                     struct items *it, struct iamp_job_status *st, char *err, size_t errlen)
{
    FILE *f = NULL;
    if (c->trace && (f = trace_open(c, err, errlen)) == NULL)
        return IAMP_EIO;
    int rc = fetch_results(c, cl, offset, want, f, it, st, err, errlen);
    return f ? trace_close(c, f, rc, err, errlen) : rc;
}

static void print_result(const struct iamp_job_status *st, const struct items *it)
{
    if (st->kind == IAMP_JOB_ANSWER)
        print_items(it->v, it->n);
    else
        print_status_json(stdout, st);
}

int iamp_cmd_result(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "result", .help = result_help, .groups = GROUPS(result_groups)};
    struct iamp_client cl;
    struct items it = {0};
    struct iamp_job_status st;
    char err[512];
    int code = parse_and_connect(argc, argv, &c, &cl);
    if (code >= 0)
        return code;
    memset(&st, 0, sizeof(st));
    if (c.trace && strcmp(c.trace, "-") == 0) {
        iamp_client_close(&cl);
        return iamp_cli_usage("result", "--trace takes a file (stdout carries the answers)");
    }
    int rc = fetch_all(&c, &cl, c.offset, (uint64_t)c.limit, &it, &st, err, sizeof(err));
    iamp_client_close(&cl);
    if (rc) {
        iamp_cli_error("result: %s", err);
        code = IAMP_EXIT_FAIL;
    } else {
        print_result(&st, &it);
        code = IAMP_EXIT_OK;
    }
    free(it.v);
    return code;
}

/* ---------------------------------------------------------- submit */

struct reading {
    struct iamp_submit *sub;
    const char *name;
    int cap, cap_ctx;
};

/* A facts line: the questions below it name this context (the server
 * checks it against the task). -1 to go on. */
static int take_facts(struct reading *r, const char *line, long lineno)
{
    struct iamp_submit *s = r->sub;
    char err[256];
    if (s->n_contexts == r->cap_ctx) {
        int nc = r->cap_ctx ? r->cap_ctx * 2 : 64;
        struct iamp_context *p = realloc(s->contexts, (size_t)nc * sizeof(*p));
        if (!p) {
            iamp_cli_error("submit: out of memory");
            return IAMP_EXIT_FAIL;
        }
        s->contexts = p;
        r->cap_ctx = nc;
    }
    if (iamp_context_parse(NULL, line, &s->contexts[s->n_contexts], err, sizeof(err))) {
        iamp_cli_error("submit: %s line %ld: %s", r->name, lineno, err);
        return IAMP_EXIT_FAIL;
    }
    s->n_contexts++;
    return -1;
}

/* One question line, kept as text for the server to parse; -1 to go on. */
static int take_line(void *ctx, const char *line, size_t len, long lineno)
{
    struct reading *r = ctx;
    struct iamp_submit *s = r->sub;
    if (iamp_context_line(line))
        return take_facts(r, line, lineno);
    if (len >= IAMP_TEXT_MAX) {
        iamp_cli_error("submit: %s line %ld: longer than %d bytes", r->name, lineno,
                       IAMP_TEXT_MAX - 1);
        return IAMP_EXIT_FAIL;
    }
    if (s->n_questions == r->cap) {
        int nc = r->cap ? r->cap * 2 : 256;
        struct iamp_wire_question *q = realloc(s->questions, (size_t)nc * sizeof(*q));
        if (!q) {
            iamp_cli_error("submit: out of memory");
            return IAMP_EXIT_FAIL;
        }
        s->questions = q;
        r->cap = nc;
    }
    struct iamp_wire_question *q = &s->questions[s->n_questions++];
    memset(q, 0, sizeof(*q));
    q->has_text = 1;
    q->context = s->n_contexts - 1; /* the block above it; -1: none */
    snprintf(q->text, sizeof(q->text), "%s", line);
    return -1;
}

/* Question lines as `iamp answer` reads them; an exit code or -1. */
static int read_questions(struct client_cmd *c)
{
    const char *name = c->input ? c->input : "-";
    FILE *in = strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
    if (!in) {
        iamp_cli_error("submit: cannot open %s", name);
        return IAMP_EXIT_FAIL;
    }
    struct reading r = {&c->sub, name, 0, 0};
    int code = iamp_cli_each_line(in, "submit", name, take_line, &r);
    if (in != stdin)
        fclose(in);
    return code;
}

/* What one attempt ended with. */
struct attempt {
    int refused; /* the server said no: do not retry */
    struct iamp_job_status st;
    struct items it;
    char err[512];
};

static int submit_request(struct client_cmd *c, struct iamp_client *cl, struct attempt *a)
{
    struct iamp_msg req, r;
    memset(&req, 0, sizeof(req));
    req.kind = IAMP_MSG_SUBMIT;
    req.submit = c->sub; /* borrowed: not released here */
    int rc = iamp_client_call(cl, &req, &r, timeout_ms(c), a->err, sizeof(a->err));
    if (rc)
        return rc;
    if (r.kind == IAMP_MSG_ACCEPTED) {
        c->job = r.job_id;
    } else {
        a->refused = 1;
        if (r.kind == IAMP_MSG_ERROR)
            snprintf(a->err, sizeof(a->err), "%s (%s)", r.reason,
                     iamp_wire_error_name(r.error_code));
        else
            snprintf(a->err, sizeof(a->err), "unexpected reply (body %d)", r.kind);
        rc = IAMP_EINVAL;
    }
    iamp_msg_release(&r);
    return rc;
}

/* Connect, submit, and with --wait follow and fetch the result. */
static int submit_attempt(struct client_cmd *c, struct attempt *a)
{
    struct iamp_client cl;
    a->it.n = 0;
    int rc = iamp_client_connect(&cl, c->addr, c->has_token ? c->token : NULL, timeout_ms(c),
                                 a->err, sizeof(a->err));
    if (rc)
        return rc;
    rc = submit_request(c, &cl, a);
    if (!rc && c->wait)
        rc = follow(c, &cl, stderr, isatty(STDERR_FILENO), 0, &a->st, a->err, sizeof(a->err));
    if (rc == IAMP_EINVAL)
        a->refused = 1;
    if (!rc && c->wait && a->st.state == IAMP_JOB_DONE && a->st.kind == IAMP_JOB_ANSWER)
        rc = fetch_all(c, &cl, 0, 0, &a->it, &a->st, a->err, sizeof(a->err));
    iamp_client_close(&cl);
    return rc;
}

static void random_key(char *key, size_t len)
{
    uint8_t b[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
        uint64_t t = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        memcpy(b, &t, sizeof(t));
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < len; i++)
        snprintf(key + 2 * i, 3, "%02x", b[i]);
}

static int submit_with_retry(struct client_cmd *c, struct attempt *a)
{
    double deadline = iamp_now() + c->retry_s;
    if (c->retry_s > 0 && !c->sub.client_key[0])
        random_key(c->sub.client_key, sizeof(c->sub.client_key));
    for (;;) {
        int rc = submit_attempt(c, a);
        if (!rc || a->refused || iamp_now() >= deadline)
            return rc;
        struct timespec ts = {0, RETRY_PAUSE_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int check_submit(struct client_cmd *c)
{
    if (!c->sub.kind)
        c->sub.kind = IAMP_JOB_ANSWER;
    if (c->sub.kind == IAMP_JOB_TRAIN && !c->sub.train.rounds)
        return iamp_cli_usage("submit", "a train job needs --rounds");
    if (c->sub.kind != IAMP_JOB_ANSWER && c->input)
        return iamp_cli_usage("submit", "only an answer job reads questions");
    if (c->trace && !c->wait)
        return iamp_cli_usage("submit", "--trace needs --wait (iamp result JOB --trace FILE "
                                        "fetches a trace later)");
    if (c->trace && strcmp(c->trace, "-") == 0)
        return iamp_cli_usage("submit", "--trace takes a file (stdout carries the answers)");
    c->sub.trace = c->trace != NULL; /* a train or eval job: the server says why not */
    return c->sub.kind == IAMP_JOB_ANSWER ? read_questions(c) : -1;
}

int iamp_cmd_submit(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "submit", .help = submit_help, .groups = GROUPS(submit_groups)};
    struct attempt a;
    memset(&a, 0, sizeof(a));
    int code = parse_client(argc, argv, &c, 0);
    if (code < 0)
        code = check_submit(&c);
    if (code >= 0)
        goto out;
    if (submit_with_retry(&c, &a)) {
        iamp_cli_error("submit: %s", a.err);
        code = IAMP_EXIT_FAIL;
    } else if (!c.wait) {
        printf("%" PRIu64 "\n", c.job);
        code = IAMP_EXIT_OK;
    } else if (a.st.state != IAMP_JOB_DONE) {
        iamp_cli_error("submit: job %" PRIu64 " %s: %s", c.job,
                       a.st.state == IAMP_JOB_CANCELED ? "was canceled" : "failed", a.st.message);
        code = IAMP_EXIT_FAIL;
    } else {
        print_result(&a.st, &a.it);
        code = IAMP_EXIT_OK;
    }
out:
    free(a.it.v);
    free(c.sub.questions);
    free(c.sub.contexts);
    return code;
}

/* ---------------------------------------------------------- jobs, info */

/* jobs and info: options, then one request of `kind` without a job; *r
 * gets the reply of kind `want`. Returns -1 when *r holds it, else an exit
 * code (help, a usage error, a failure); the caller releases *r. */
static int server_request(int argc, char **argv, struct client_cmd *c, int kind, int want,
                          struct iamp_msg *r)
{
    struct iamp_msg req;
    memset(r, 0, sizeof(*r));
    int code = parse_client(argc, argv, c, 0);
    if (code >= 0)
        return code;
    memset(&req, 0, sizeof(req));
    req.kind = kind;
    req.limit = (uint32_t)c->limit;
    code = call_once(c, &req, r, want);
    return code ? code : -1;
}

int iamp_cmd_jobs(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "jobs", .help = jobs_help, .groups = GROUPS(jobs_groups)};
    struct iamp_msg r;
    int code = server_request(argc, argv, &c, IAMP_MSG_LIST_JOBS, IAMP_MSG_JOB_LIST, &r);
    for (int i = 0; code < 0 && i < r.n_jobs; i++)
        (c.json ? print_status_json : print_status_line)(stdout, &r.jobs[i]);
    iamp_msg_release(&r);
    return code < 0 ? IAMP_EXIT_OK : code;
}

static void print_info(const struct iamp_info *in, int json)
{
    if (json) {
        printf("{\"version\":\"%s\",\"ranks\":%u,\"model_task\":", in->version, in->ranks);
        iamp_json_string(stdout, in->model_task);
        printf(",\"model_round\":%" PRIu64 ",\"max_questions\":%u,\"max_depth\":%u,"
               "\"max_tree_nodes\":%" PRIu64 ",\"max_frame_bytes\":%u,\"jobs_queued\":%" PRIu64
               ",\"jobs_total\":%" PRIu64 "}\n",
               in->model_round, in->max_questions, in->max_depth, in->max_tree_nodes,
               in->max_frame_bytes, in->jobs_queued, in->jobs_total);
        return;
    }
    printf("iamp %s, %u rank%s, model %s round %" PRIu64 "\n", in->version, in->ranks,
           in->ranks == 1 ? "" : "s", in->model_task, in->model_round);
    printf("tasks:");
    for (int i = 0; i < in->n_tasks; i++)
        printf(" %s", in->tasks[i]);
    printf("\nlimits: %u questions, depth %u, %" PRIu64 " tree nodes per job; frames of %u bytes\n",
           in->max_questions, in->max_depth, in->max_tree_nodes, in->max_frame_bytes);
    printf("jobs: %" PRIu64 " unfinished, %" PRIu64 " in all\n", in->jobs_queued, in->jobs_total);
}

int iamp_cmd_info(int argc, char **argv)
{
    struct client_cmd c = {.cmd = "info", .help = info_help, .groups = GROUPS(status_groups)};
    struct iamp_msg r;
    int code = server_request(argc, argv, &c, IAMP_MSG_INFO, IAMP_MSG_INFO_REPLY, &r);
    if (code < 0)
        print_info(&r.info, c.json);
    iamp_msg_release(&r);
    return code < 0 ? IAMP_EXIT_OK : code;
}
