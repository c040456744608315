/* cmd_answer.c — `iamp answer` (questions in, JSONL answers out) and
 * `iamp eval` (held-out accuracy of a checkpoint). Both read every input
 * before writing anything, so a bad line produces an error and no output.
 */
#include "coordinator/cli/cli.h"
#include "coordinator/train/evaluate.h"
#include "coordinator/train/metrics.h"
#include "worker/session.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAMP_ANSWER_MAX_QUESTIONS (1 << 22)

static const char answer_help[] =
    "usage: iamp answer [--task SPEC] [--checkpoint FILE] [--depth D] [FILE|-]\n"
    "\n"
    "Reads one question per line (the task's text form, e.g. 'pow x=5 k=37';\n"
    "blank lines and lines starting with '#' are skipped) and writes one JSON\n"
    "object per question: {\"question\": ..., \"answer\": ..., \"depth\": D}.\n"
    "\n"
    "  --task SPEC        the task (default: the checkpoint's)\n"
    "  --checkpoint FILE  the model (default: an untrained model, --seed)\n"
    "  --depth D          amplification depth; 0 = M alone (default 1)\n"
    "  --seed S           seed of the untrained model (default 1)\n";

static const char eval_help[] =
    "usage: iamp eval --checkpoint FILE [--task SPEC] [--depth D] [--eval-size N]\n"
    "\n"
    "Held-out accuracy of M alone and of Amp^D(H, M) against ground truth.\n"
    "\n"
    "  --checkpoint FILE  the model (required)\n"
    "  --task SPEC        must match the checkpoint's task (default: its task)\n"
    "  --depth D          amplification depth for the amplified figure (default 1)\n"
    "  --eval-size N      held-out questions (default: the task's set, e.g. permpow\n"
    "                     1008, tictactoe 13560 = every unfinished board per type)\n"
    "  --json             one JSON object instead of text (with accuracy_<type> per\n"
    "                     question type and the model's parameter checksum)\n";

enum { OPT_TASK = 256, OPT_CKPT, OPT_DEPTH, OPT_SEED, OPT_EVAL_SIZE, OPT_JSON, OPT_HELP };

static const struct option answer_opts[] = {
    {"task", required_argument, 0, OPT_TASK},
    {"checkpoint", required_argument, 0, OPT_CKPT},
    {"depth", required_argument, 0, OPT_DEPTH},
    {"seed", required_argument, 0, OPT_SEED},
    {"eval-size", required_argument, 0, OPT_EVAL_SIZE},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

struct answer_cmd {
    const char *cmd, *task, *ckpt, *input;
    long depth, eval_size;
    uint64_t seed;
    int json;
};

/* Returns -1 to go on, else an exit code. */
static int parse_common(int argc, char **argv, struct answer_cmd *c, const char *help)
{
    c->depth = 1;
    c->eval_size = 0; /* the task's */
    c->seed = 1;
    opterr = 0;
    optind = 1;
    for (;;) {
        int opt = getopt_long(argc, argv, "+", answer_opts, NULL);
        if (opt == -1)
            break;
        int bad = 0;
        switch (opt) {
        case OPT_HELP:
            fputs(help, stdout);
            return IAMP_EXIT_OK;
        case OPT_TASK:
            c->task = optarg;
            break;
        case OPT_CKPT:
            c->ckpt = optarg;
            break;
        case OPT_DEPTH:
            bad = iamp_cli_long(c->cmd, "--depth", optarg, 0, 8, &c->depth);
            break;
        case OPT_SEED:
            bad = iamp_cli_u64(c->cmd, "--seed", optarg, &c->seed);
            break;
        case OPT_EVAL_SIZE:
            bad = iamp_cli_long(c->cmd, "--eval-size", optarg, 1, 1 << 20, &c->eval_size);
            break;
        case OPT_JSON:
            c->json = 1;
            break;
        default:
            return iamp_cli_usage(c->cmd, "unknown option or missing value: '%s'",
                                  argv[optind - 1]);
        }
        if (bad)
            return IAMP_EXIT_USAGE;
    }
    return -1;
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
    struct iamp_model_opts mo = IAMP_MODEL_OPTS_DEFAULT;
    rc = iamp_session_open(s, c->task, &mo, 1e-3f, c->seed, err, sizeof(err));
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

static int is_blank_or_comment(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == '\0' || *line == '#';
}

/* Read and parse every question; returns an exit code or -1 on success. */
static int read_questions(struct answer_cmd *c, const struct iamp_task *t, FILE *in,
                          struct iamp_question **qs, int *n)
{
    char *line = NULL;
    size_t cap = 0;
    int count = 0, qcap = 0, code = -1;
    long lineno = 0;
    ssize_t len;
    *qs = NULL;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (is_blank_or_comment(line))
            continue;
        if (count == IAMP_ANSWER_MAX_QUESTIONS) {
            iamp_cli_error("%s: more than %d questions", c->cmd, IAMP_ANSWER_MAX_QUESTIONS);
            code = IAMP_EXIT_FAIL;
            break;
        }
        if (count == qcap) {
            qcap = qcap ? qcap * 2 : 1024;
            struct iamp_question *p = realloc(*qs, (size_t)qcap * sizeof(**qs));
            if (!p) {
                iamp_cli_error("%s: out of memory", c->cmd);
                code = IAMP_EXIT_FAIL;
                break;
            }
            *qs = p;
        }
        char err[512];
        if (t->ops->parse_question(t, line, &(*qs)[count], err, sizeof(err))) {
            iamp_cli_error("%s: %s line %ld: %s", c->cmd, c->input, lineno, err);
            code = IAMP_EXIT_FAIL;
            break;
        }
        count++;
    }
    free(line);
    *n = count;
    return code;
}

static void write_jsonl(const struct iamp_task *t, const struct iamp_question *qs,
                        const struct iamp_answer *as, int n, int depth)
{
    char qt[IAMP_TEXT_MAX], at[IAMP_TEXT_MAX];
    for (int i = 0; i < n; i++) {
        t->ops->format_question(t, &qs[i], qt, sizeof(qt));
        t->ops->format_answer(t, &qs[i], &as[i], at, sizeof(at));
        fputs("{\"question\":", stdout);
        iamp_json_string(stdout, qt);
        fputs(",\"answer\":", stdout);
        iamp_json_string(stdout, at);
        printf(",\"depth\":%d}\n", depth);
    }
}

int iamp_cmd_answer(int argc, char **argv)
{
    struct answer_cmd c = {.cmd = "answer", .input = "-"};
    int code = parse_common(argc, argv, &c, answer_help);
    if (code >= 0)
        return code;
    if (optind < argc)
        c.input = argv[optind++];
    if (optind < argc)
        return iamp_cli_usage("answer", "unexpected argument '%s'", argv[optind]);
    if (!c.task && !c.ckpt)
        return iamp_cli_usage("answer", "--task or --checkpoint is required");
    FILE *in = strcmp(c.input, "-") == 0 ? stdin : fopen(c.input, "r");
    if (!in) {
        iamp_cli_error("answer: cannot open %s", c.input);
        return IAMP_EXIT_FAIL;
    }
    struct iamp_session s;
    struct iamp_question *qs = NULL;
    struct iamp_answer *as = NULL;
    int n = 0;
    code = open_session(&c, &s);
    if (code)
        goto out_file;
    code = read_questions(&c, &s.task, in, &qs, &n);
    if (code >= 0)
        goto out;
    if (!c.ckpt)
        fprintf(stderr, "iamp: answer: no --checkpoint: answering with an untrained model\n");
    as = malloc((size_t)(n ? n : 1) * sizeof(*as));
    int rc = as ? iamp_session_amplify(&s, qs, n, (int)c.depth, as) : IAMP_ENOMEM;
    if (rc) {
        iamp_cli_error("answer: amplification failed: %s", iamp_strerror(rc));
        code = IAMP_EXIT_FAIL;
        goto out;
    }
    write_jsonl(&s.task, qs, as, n, (int)c.depth);
    code = IAMP_EXIT_OK;
out:
    free(qs);
    free(as);
    iamp_session_close(&s);
out_file:
    if (in != stdin)
        fclose(in);
    return code;
}

int iamp_cmd_eval(int argc, char **argv)
{
    struct answer_cmd c = {.cmd = "eval"};
    int code = parse_common(argc, argv, &c, eval_help);
    if (code >= 0)
        return code;
    if (optind < argc)
        return iamp_cli_usage("eval", "unexpected argument '%s'", argv[optind]);
    if (!c.ckpt)
        return iamp_cli_usage("eval", "--checkpoint is required");
    struct iamp_session s;
    code = open_session(&c, &s);
    if (code)
        return code;
    struct iamp_eval_set ev;
    double acc = 0.0, amp = 0.0, per_type[IAMP_TYPES_MAX], metrics[IAMP_METRICS_MAX];
    int rc = iamp_eval_set_init(&ev, &s.task, (int)c.eval_size, 12345);
    if (!rc)
        rc = iamp_eval_accuracy(&s, &ev, 0, &acc, per_type, metrics);
    if (!rc)
        rc = iamp_eval_accuracy(&s, &ev, (int)c.depth, &amp, NULL, NULL);
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
