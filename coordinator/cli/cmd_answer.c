/* cmd_answer.c — `iamp answer` (questions in, JSONL answers out) and
 * `iamp eval` (held-out accuracy of a checkpoint). Both read every input
 * before writing anything, so a bad line produces an error and no output.
 */
#include "coordinator/cli/cli.h"
#include "coordinator/train/evaluate.h"
#include "coordinator/train/metrics.h"
#include "coordinator/train/plan.h"
#include "coordinator/train/traces.h"
#include "worker/session.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAMP_ANSWER_MAX_QUESTIONS (1 << 22)

static const char answer_usage[] =
    "usage: iamp answer [--task SPEC] [--checkpoint FILE] [--depth D] [--trace FILE] [FILE|-]\n"
    "\n"
    "Reads one question per line (the task's text form, e.g. 'pow x=5 k=37';\n"
    "blank lines and lines starting with '#' are skipped) and writes one JSON\n"
    "object per question: {\"question\": ..., \"answer\": ..., \"depth\": D}.\n"
    "For a task whose questions carry facts (e.g. permpow:context=1), a line\n"
    "'facts: 0 3, 3 1, 1 0' (facts separated by commas, each its tokens) opens\n"
    "a block: the questions below it are asked on those facts, and their\n"
    "objects add \"context\" (the block's number, from 1) and \"facts\".\n"
    "--trace FILE also writes each question's decomposition tree, one JSON\n"
    "object per question: its answer line's fields, \"nodes\" and \"tree\" (every\n"
    "node's question, answer, who answered it: model, primitive or overseer,\n"
    "level, depth left and children; see README). One process only: under\n"
    "mpirun --trace is refused.\n";

static const char eval_usage[] =
    "usage: iamp eval --checkpoint FILE [--task SPEC] [--depth D] [--eval-size N]\n"
    "\n"
    "Held-out accuracy of M alone and of Amp^D(H, M) against ground truth.\n";

struct answer_cmd {
    const char *cmd, *task, *ckpt, *input, *trace;
    long depth, eval_size;
    uint64_t seed;
    int json;
};

#define IAMP_OPT_STRUCT struct answer_cmd
static const struct iamp_opt answer_rows[] = {
    IAMP_OPT_STRING("task", task, "SPEC", "the task (default: the checkpoint's)"),
    IAMP_OPT_STRING("checkpoint", ckpt, "FILE",
                    "the model (default: an untrained model of the task's\n"
                    "shape, --seed)"),
    IAMP_OPT_NUM("depth", IAMP_OPT_LONG, depth, 0, 8, "D", "amplification depth; 0 = M alone"),
    IAMP_OPT_NUM("seed", IAMP_OPT_U64, seed, 0, 0, "S", "seed of the untrained model"),
    IAMP_OPT_STRING("trace", trace, "FILE",
                    "also write each question's decomposition tree to FILE\n"
                    "(JSONL, one object per question)"),
    {0},
};

static const struct iamp_opt eval_rows[] = {
    IAMP_OPT_STRING("checkpoint", ckpt, "FILE", "the model (required)"),
    IAMP_OPT_STRING("task", task, "SPEC", "must match the checkpoint's task (default: its task)"),
    IAMP_OPT_NUM("depth", IAMP_OPT_LONG, depth, 0, 8, "D",
                 "amplification depth for the amplified figure"),
    IAMP_OPT_NUM("eval-size", IAMP_OPT_LONG, eval_size, 1, 1 << 20, "N",
                 "held-out questions (default: the task's set, e.g. permpow\n"
                 "1008, tictactoe 13560 = every unfinished board per type)"),
    IAMP_OPT_SWITCH("json", json, 1,
                    "one JSON object instead of text (with accuracy_<type> per\n"
                    "question type and the model's parameter checksum)"),
    {0},
};
#undef IAMP_OPT_STRUCT

/* Options of answer or eval; returns -1 to go on, with *npos arguments
 * left at argv[1..], else an exit code. */
static int parse_common(int argc, char **argv, struct answer_cmd *c, const char *usage,
                        const struct iamp_opt *rows, int *npos)
{
    const struct iamp_opt_group g = {rows, 0, NULL};
    const struct iamp_cli_help help = {usage, NULL};
    c->depth = 1;
    c->eval_size = 0; /* the task's */
    c->seed = 1;
    struct answer_cmd defaults = *c;
    return iamp_cli_parse(c->cmd, &help, &g, 1, c, &defaults, argc, argv, npos);
}

static int open_session(struct answer_cmd *c, struct iamp_session *s)
{
    char err[512];
    int rc;
    if (c->ckpt) {
        rc = iamp_session_load(s, c->ckpt, c->task, NULL, err, sizeof(err));
        if (rc) {
            iamp_cli_error("%s: checkpoint %s: %s", c->cmd, c->ckpt, err);
            return rc == IAMP_EUNKNOWN || rc == IAMP_ERANGE || rc == IAMP_EPARSE ? IAMP_EXIT_USAGE
                                                                                 : IAMP_EXIT_FAIL;
        }
        goto attach;
    }
    struct iamp_train_plan plan; /* an untrained model of the shape iamp train gives it */
    rc = iamp_train_plan_for_task(&plan, c->task, NULL, err, sizeof(err));
    if (!rc)
        rc = iamp_session_open(s, c->task, &plan.mo, plan.o.cfg.lr, c->seed, err, sizeof(err));
    if (rc) {
        iamp_cli_error("%s: %s", c->cmd, err);
        return rc == IAMP_ENOMEM ? IAMP_EXIT_FAIL : IAMP_EXIT_USAGE;
    }
attach:
    rc = iamp_cli_attach(c->cmd, s);
    if (rc)
        iamp_session_close(s);
    return rc;
}

struct reading {
    const struct answer_cmd *c;
    const struct iamp_task *t;
    struct iamp_question *qs;
    int n, cap;
    struct iamp_context *ctx; /* the facts blocks read so far */
    int n_ctx, cap_ctx;
    int *qctx; /* (cap) each question's block, -1: none */
};

/* A facts line: a new block. -1 to go on, else an exit code. */
static int take_facts(struct reading *r, const char *line, long lineno)
{
    char err[512];
    if (!iamp_task_has_contexts(r->t)) {
        iamp_cli_error("%s: %s line %ld: task %s takes no facts", r->c->cmd, r->c->input, lineno,
                       r->t->spec);
        return IAMP_EXIT_FAIL;
    }
    if (r->n_ctx == r->cap_ctx) {
        int cap = r->cap_ctx ? r->cap_ctx * 2 : 64;
        struct iamp_context *p = realloc(r->ctx, (size_t)cap * sizeof(*p));
        if (!p) {
            iamp_cli_error("%s: out of memory", r->c->cmd);
            return IAMP_EXIT_FAIL;
        }
        r->ctx = p;
        r->cap_ctx = cap;
    }
    if (iamp_context_parse(r->t, line, &r->ctx[r->n_ctx], err, sizeof(err))) {
        iamp_cli_error("%s: %s line %ld: %s", r->c->cmd, r->c->input, lineno, err);
        return IAMP_EXIT_FAIL;
    }
    r->n_ctx++;
    return -1;
}

/* One question line; -1 to go on, else an exit code. */
static int take_question(void *ctx, const char *line, size_t len, long lineno)
{
    struct reading *r = ctx;
    char err[512];
    (void)len;
    if (iamp_context_line(line))
        return take_facts(r, line, lineno);
    if (iamp_task_has_contexts(r->t) && r->n_ctx == 0) {
        iamp_cli_error("%s: %s line %ld: task %s asks every question on facts: put a line "
                       "'facts: ...' before the questions",
                       r->c->cmd, r->c->input, lineno, r->t->spec);
        return IAMP_EXIT_FAIL;
    }
    if (r->n == IAMP_ANSWER_MAX_QUESTIONS) {
        iamp_cli_error("%s: more than %d questions", r->c->cmd, IAMP_ANSWER_MAX_QUESTIONS);
        return IAMP_EXIT_FAIL;
    }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 1024;
        struct iamp_question *p = realloc(r->qs, (size_t)cap * sizeof(*p));
        int *pc = p ? realloc(r->qctx, (size_t)cap * sizeof(*pc)) : NULL;
        if (p)
            r->qs = p;
        if (!pc) {
            iamp_cli_error("%s: out of memory", r->c->cmd);
            return IAMP_EXIT_FAIL;
        }
        r->qctx = pc;
        r->cap = cap;
    }
    struct iamp_question *q = &r->qs[r->n];
    if (r->t->ops->parse_question(r->t, line, q, err, sizeof(err))) {
        iamp_cli_error("%s: %s line %ld: %s", r->c->cmd, r->c->input, lineno, err);
        return IAMP_EXIT_FAIL;
    }
    r->qctx[r->n] = r->n_ctx - 1;
    q->ctx = r->n_ctx ? &r->ctx[r->n_ctx - 1] : NULL; /* for the check; fixed after reading */
    if (q->ctx && !r->t->ops->valid_question(r->t, q)) {
        iamp_cli_error("%s: %s line %ld: '%s' is not a question on the facts above it", r->c->cmd,
                       r->c->input, lineno, line);
        return IAMP_EXIT_FAIL;
    }
    r->n++;
    return -1;
}

/* Read and parse every question; returns an exit code or -1 on success. */
static int read_questions(struct answer_cmd *c, const struct iamp_task *t, FILE *in,
                          struct iamp_question **qs, int *n, struct iamp_context **ctx)
{
    struct reading r = {c, t, NULL, 0, 0, NULL, 0, 0, NULL};
    int code = iamp_cli_each_line(in, c->cmd, c->input, take_question, &r);
    for (int i = 0; i < r.n; i++) /* the blocks are read: point at them */
        r.qs[i].ctx = r.qctx[i] >= 0 ? &r.ctx[r.qctx[i]] : NULL;
    free(r.qctx);
    *qs = r.qs;
    *n = r.n;
    *ctx = r.ctx;
    return code;
}

static void write_jsonl(const struct iamp_task *t, const struct iamp_question *qs,
                        const struct iamp_answer *as, int n, int depth,
                        const struct iamp_context *ctx)
{
    char qt[IAMP_TEXT_MAX], at[IAMP_TEXT_MAX], ft[IAMP_FACTS_TEXT_MAX];
    for (int i = 0; i < n; i++) {
        t->ops->format_question(t, &qs[i], qt, sizeof(qt));
        t->ops->format_answer(t, &qs[i], &as[i], at, sizeof(at));
        fputs("{\"question\":", stdout);
        iamp_json_string(stdout, qt);
        if (qs[i].ctx) {
            iamp_context_format(qs[i].ctx, ft, sizeof(ft));
            printf(",\"context\":%d,\"facts\":", (int)(qs[i].ctx - ctx) + 1);
            iamp_json_string(stdout, ft + strlen("facts: "));
        }
        fputs(",\"answer\":", stdout);
        iamp_json_string(stdout, at);
        printf(",\"depth\":%d}\n", depth);
    }
}

/* --trace: the engine hands the run's nodes here, and they are written
 * as they come (after the run, before any answer line). */
struct trace_sink {
    FILE *f;
    const struct iamp_task *t;
    const struct iamp_context *ctx_base;
};

static int trace_cb(void *ctx, const struct iamp_trace_node *nodes, long n, int n_roots)
{
    struct trace_sink *k = ctx;
    return iamp_traces_write(k->f, k->t, nodes, n, n_roots, k->ctx_base);
}

/* Amplify with the engine tracing into c->trace (opened here; removed
 * again when anything fails). An exit code, or -1 on success. */
static int amplify_traced(struct answer_cmd *c, struct iamp_session *s,
                          const struct iamp_question *qs, int n, const struct iamp_context *ctx,
                          struct iamp_answer *as)
{
    struct trace_sink k = {fopen(c->trace, "w"), &s->task, ctx};
    if (!k.f) {
        iamp_cli_error("answer: cannot write trace %s: %s", c->trace,
                       iamp_strerror(iamp_err_from_errno(errno)));
        return IAMP_EXIT_FAIL;
    }
    s->engine.trace_cb = trace_cb;
    s->engine.trace_ctx = &k;
    int rc = iamp_session_amplify(s, qs, n, (int)c->depth, as);
    s->engine.trace_cb = NULL;
    s->engine.trace_ctx = NULL;
    int werr = ferror(k.f);
    if (fclose(k.f) || werr) {
        if (!rc) {
            iamp_cli_error("answer: cannot write trace %s: %s", c->trace,
                           iamp_strerror(iamp_err_from_errno(errno ? errno : EIO)));
            rc = IAMP_EIO;
        }
    } else if (rc) {
        iamp_cli_error("answer: amplification failed: %s", iamp_strerror(rc));
    }
    if (rc)
        remove(c->trace);
    return rc ? IAMP_EXIT_FAIL : -1;
}

/* --trace needs the whole tree in this process: refused under mpirun. */
static int trace_usable(const struct answer_cmd *c)
{
    if (!c->trace)
        return -1;
    if (iamp_cli_cluster())
        return iamp_cli_usage("answer", "--trace needs one process: under mpirun the workers' "
                                        "subtrees are not traced (run iamp answer without mpirun)");
    if (strcmp(c->trace, "-") == 0)
        return iamp_cli_usage("answer", "--trace takes a file (stdout carries the answers)");
    return -1;
}

int iamp_cmd_answer(int argc, char **argv)
{
    struct answer_cmd c = {.cmd = "answer", .input = "-"};
    int npos = 0;
    int code = parse_common(argc, argv, &c, answer_usage, answer_rows, &npos);
    if (code >= 0)
        return code;
    if (npos > 1)
        return iamp_cli_usage("answer", "unexpected argument '%s'", argv[2]);
    if (npos == 1)
        c.input = argv[1];
    if (!c.task && !c.ckpt)
        return iamp_cli_usage("answer", "--task or --checkpoint is required");
    code = trace_usable(&c);
    if (code >= 0)
        return code;
    FILE *in = strcmp(c.input, "-") == 0 ? stdin : fopen(c.input, "r");
    if (!in) {
        iamp_cli_error("answer: cannot open %s", c.input);
        return IAMP_EXIT_FAIL;
    }
    struct iamp_session s;
    struct iamp_question *qs = NULL;
    struct iamp_answer *as = NULL;
    struct iamp_context *ctx = NULL;
    int n = 0;
    code = open_session(&c, &s);
    if (code)
        goto out_file;
    code = read_questions(&c, &s.task, in, &qs, &n, &ctx);
    if (code >= 0)
        goto out;
    if (!c.ckpt)
        fprintf(stderr, "iamp: answer: no --checkpoint: answering with an untrained model\n");
    as = malloc((size_t)(n ? n : 1) * sizeof(*as));
    if (as && c.trace) {
        code = amplify_traced(&c, &s, qs, n, ctx, as);
        if (code >= 0)
            goto out;
    } else {
        int rc = as ? iamp_session_amplify(&s, qs, n, (int)c.depth, as) : IAMP_ENOMEM;
        if (rc) {
            iamp_cli_error("answer: amplification failed: %s", iamp_strerror(rc));
            code = IAMP_EXIT_FAIL;
            goto out;
        }
    }
    write_jsonl(&s.task, qs, as, n, (int)c.depth, ctx);
    code = IAMP_EXIT_OK;
out:
    free(qs);
    free(as);
    free(ctx);
    iamp_session_close(&s);
out_file:
    if (in != stdin)
        fclose(in);
    return code;
}

int iamp_cmd_eval(int argc, char **argv)
{
    struct answer_cmd c = {.cmd = "eval"};
    int npos = 0;
    int code = parse_common(argc, argv, &c, eval_usage, eval_rows, &npos);
    if (code >= 0)
        return code;
    if (npos > 0)
        return iamp_cli_usage("eval", "unexpected argument '%s'", argv[1]);
    if (!c.ckpt)
        return iamp_cli_usage("eval", "--checkpoint is required");
    struct iamp_session s;
    code = open_session(&c, &s);
    if (code)
        return code;
    struct iamp_eval_set ev;
    double acc = 0.0, amp = 0.0, per_type[IAMP_TYPES_MAX], metrics[IAMP_METRICS_MAX];
    int rc = iamp_eval_set_init(&ev, &s.task, (int)c.eval_size, IAMP_EVAL_SEED);
    if (!rc)
        rc = iamp_eval_accuracy(&s, &ev, 0, &acc, per_type, metrics, NULL);
    if (!rc)
        rc = iamp_eval_accuracy(&s, &ev, (int)c.depth, &amp, NULL, NULL, NULL);
    if (rc) {
        iamp_cli_error("eval: %s", iamp_strerror(rc));
        code = IAMP_EXIT_FAIL;
    } else if (c.json) {
        printf("{\"task\":");
        iamp_json_string(stdout, s.task.spec);
        printf(",\"questions\":%d,\"accuracy\":%.6f,\"depth\":%ld,\"amplified_accuracy\":%.6f,"
               "\"params_fnv\":\"%016llx\"",
               ev.n, acc, c.depth, amp, (unsigned long long)iamp_model_checksum(&s.model));
        for (int ty = 0; ty < s.task.n_types; ty++) {
            printf(",\"accuracy_%s\":", s.task.type_names[ty]);
            iamp_json_number(stdout, per_type[ty]);
        }
        for (int k = 0; k < s.task.n_metrics; k++) {
            printf(",\"%s\":", s.task.metric_names[k]);
            iamp_json_number(stdout, metrics[k]);
        }
        printf("}\n");
    } else {
        printf("task %s: held-out accuracy %.4f (M alone), %.4f (amplified, depth %ld) on %d "
               "questions\n",
               s.task.spec, acc, amp, c.depth, ev.n);
    }
    iamp_eval_set_release(&ev);
    iamp_session_close(&s);
    return code;
}
