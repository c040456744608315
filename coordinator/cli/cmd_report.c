/* cmd_report.c — `iamp report`: one self-contained HTML page of a run,
 * its training curves (the metrics JSONL of iamp train) and the trees of
 * its traced questions (iamp answer --trace), for a person to look at.
 *
 * The page is report.html (built in as bytes, report.h) with a JSON
 * object in place of its marker: the run's settings from its checkpoint,
 * the metrics rows and the trace records as they are in their files.
 * Every line is checked to be a JSON object with the keys the page reads
 * before it is copied, and every '<' is written as \u003c (inside JSON
 * strings, the only place a valid line can hold one), so no line can end
 * the script element it sits in. The page is built in memory and written
 * atomically: a failed report leaves no file, or the old one, behind.
 */
#include "common/fileio.h"
#include "common/json.h"
#include "coordinator/cli/cli.h"
#include "coordinator/cli/report.h"
#include "proto/codec.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IAMP_REPORT_INPUT_MAX_BYTES (256u << 20) /* each of the metrics and the trace */
#define IAMP_REPORT_PATH_MAX 4096

static const char report_usage[] =
    "usage: iamp report [RUN_DIR] [--metrics FILE] [--trace FILE] -o FILE.html\n"
    "\n"
    "Writes one self-contained HTML page (no network: its script and styles are\n"
    "inline): the training curves of a run against examples (held-out and\n"
    "amplified accuracy, accuracy per question type, approval, KL, entropy,\n"
    "loss, curriculum level, the task's own metrics) and a browsable tree of\n"
    "each traced question (iamp answer --trace): who answered every node, its\n"
    "answer, its subquestions. RUN_DIR is an iamp train --checkpoint-dir: its\n"
    "metrics.jsonl and trace.jsonl are read unless --metrics and --trace name\n"
    "other files, and its checkpoint.pb names the task and settings. -o is\n"
    "--output.\n";

struct report_cmd {
    const char *run_dir, *metrics, *trace, *output, *title;
};

#define IAMP_OPT_STRUCT struct report_cmd
static const struct iamp_opt report_rows[] = {
    IAMP_OPT_STRING("metrics", metrics, "FILE",
                    "metrics JSONL (iamp train --metrics; default RUN_DIR/metrics.jsonl)"),
    IAMP_OPT_STRING("trace", trace, "FILE",
                    "trace JSONL (iamp answer --trace; default RUN_DIR/trace.jsonl\n"
                    "when there is one)"),
    IAMP_OPT_STRING("output", output, "FILE", "the page to write (required; also -o)"),
    IAMP_OPT_STRING("title", title, "TEXT", "the page's title (default: iamp report: RUN_DIR)"),
    {0},
};
#undef IAMP_OPT_STRUCT

/* ------------------------------------------------------------ the page */

struct page {
    char *p;
    size_t n, cap;
    int oom;
};

static void put(struct page *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void put_str(struct page *b, const char *s)
{
    put(b, s, strlen(s));
}

/* JSON text known to be valid, each '<' as \u003c. */
static void put_json(struct page *b, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '<') {
            put(b, s + from, i - from);
            put_str(b, "\\u003c");
            from = i + 1;
        }
    put(b, s + from, n - from);
}

/* A C string as a JSON string (NULL: null), '<' escaped as above. */
static void put_string(struct page *b, const char *s)
{
    if (!s) {
        put_str(b, "null");
        return;
    }
    put_str(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20 || c == '<') {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put_str(b, esc);
        } else {
            put(b, s, 1);
        }
    }
    put_str(b, "\"");
}

static void put_key(struct page *b, const char *key)
{
    put_str(b, ",");
    put_string(b, key);
    put_str(b, ":");
}

/* ------------------------------------------------------------ inputs */

/* A JSONL file being copied: what each line must be. */
struct jsonl {
    const char *path, *what, *row; /* "metrics", "metrics row" */
    const char *const *keys;       /* every line's object has these */
    int n_keys;
    long rows;
};

/* Line lineno, s[0, n) without its line end, not blank: checked, then
 * copied as an array element. An exit code, or -1. */
static int put_line(struct page *b, struct jsonl *j, const char *s, size_t n, long lineno)
{
    char why[256];
    unsigned found = 0, all = (1u << j->n_keys) - 1;
    if (iamp_json_check_object(s, n, j->keys, j->n_keys, &found, why, sizeof(why))) {
        iamp_cli_error("report: %s line %ld: not a JSON object: %s", j->path, lineno, why);
        return IAMP_EXIT_FAIL;
    }
    if (found != all) {
        int miss = 0;
        while (found & (1u << miss))
            miss++;
        iamp_cli_error("report: %s line %ld: not a %s: no \"%s\"", j->path, lineno, j->row,
                       j->keys[miss]);
        return IAMP_EXIT_FAIL;
    }
    if (j->rows++)
        put_str(b, ",\n");
    put_json(b, s, n);
    return -1;
}

/* A JSONL file's lines as a JSON array into b; blank lines skipped, at
 * least one line required. An exit code, or -1. */
static int put_jsonl(struct page *b, struct jsonl *j)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = iamp_file_read(j->path, IAMP_REPORT_INPUT_MAX_BYTES, &buf, &len);
    if (rc) {
        iamp_cli_error("report: %s %s: %s", j->what, j->path,
                       rc == IAMP_ELIMIT ? "larger than 256 MiB" : iamp_strerror(rc));
        return IAMP_EXIT_FAIL;
    }
    const char *s = (const char *)buf;
    long lineno = 0;
    int code = -1;
    put_str(b, "[");
    for (size_t at = 0; at < len && code < 0;) {
        const char *nl = memchr(s + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - s) : len, n = end - at;
        lineno++;
        if (n > 0 && s[at + n - 1] == '\r')
            n--;
        if (strspn(s + at, " \t") < n)
            code = put_line(b, j, s + at, n, lineno);
        at = end + 1;
    }
    put_str(b, "]");
    free(buf);
    if (code < 0 && j->rows == 0) {
        iamp_cli_error("report: %s %s has no %ss", j->what, j->path, j->row);
        code = IAMP_EXIT_FAIL;
    }
    return code;
}

/* The run's settings from RUN_DIR/checkpoint.pb, or null without one. */
static void put_run(struct page *b, const char *run_dir)
{
    char path[IAMP_REPORT_PATH_MAX], model[192];
    struct iamp_checkpoint ck;
    struct stat st;
    snprintf(path, sizeof(path), "%s/checkpoint.pb", run_dir ? run_dir : "");
    if (!run_dir || stat(path, &st) != 0) {
        put_str(b, "null");
        return;
    }
    int rc = iamp_checkpoint_load(path, &ck);
    if (rc) {
        fprintf(stderr, "iamp: report: %s: %s (the page names no settings)\n", path,
                iamp_strerror(rc));
        put_str(b, "null");
        return;
    }
    const struct iamp_model_shape *sh = &ck.shape;
    if (sh->model[0])
        snprintf(model, sizeof(model), "%s", sh->model);
    else
        snprintf(model, sizeof(model), "mlp:embed=%u,hidden=%u,layers=%u%s", sh->embed, sh->hidden,
                 sh->layers, sh->pair ? ",pair=1" : "");
    char num[64];
    put_str(b, "{\"task\":");
    put_string(b, ck.task);
    put_key(b, "model");
    put_string(b, model);
    snprintf(num, sizeof(num), ",\"round\":%llu,\"examples\":%llu", (unsigned long long)ck.round,
             (unsigned long long)ck.examples);
    put_str(b, num);
    if (ck.has_config) {
        put_key(b, "algo");
        put_string(b, ck.config.algo);
        snprintf(num, sizeof(num), ",\"depth\":%u,\"seed\":%llu", ck.config.depth,
                 (unsigned long long)ck.config.seed);
        put_str(b, num);
    }
    put_str(b, "}");
    iamp_checkpoint_release(&ck);
}

/* ------------------------------------------------------------ the command */

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Arguments into c: RUN_DIR, the files' defaults. An exit code, or -1. */
static int parse(int argc, char **argv, struct report_cmd *c, char *mpath, char *tpath)
{
    static char output_opt[] = "--output";
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-o") == 0)
            argv[i] = output_opt;
    const struct iamp_opt_group g = {report_rows, 0, NULL};
    const struct iamp_cli_help help = {report_usage, NULL};
    struct report_cmd defaults = *c;
    int npos = 0;
    int code = iamp_cli_parse("report", &help, &g, 1, c, &defaults, argc, argv, &npos);
    if (code >= 0)
        return code;
    if (npos > 1)
        return iamp_cli_usage("report", "unexpected argument '%s'", argv[2]);
    c->run_dir = npos == 1 ? argv[1] : NULL;
    struct stat st;
    if (c->run_dir && (stat(c->run_dir, &st) != 0 || !S_ISDIR(st.st_mode)))
        return iamp_cli_usage("report", "RUN_DIR %s is not a directory", c->run_dir);
    if (!c->output)
        return iamp_cli_usage("report", "-o FILE (the page to write) is required");
    if (!c->run_dir && !c->metrics && !c->trace)
        return iamp_cli_usage("report", "give RUN_DIR, --metrics FILE or --trace FILE");
    if (c->run_dir && !c->metrics) {
        snprintf(mpath, IAMP_REPORT_PATH_MAX, "%s/metrics.jsonl", c->run_dir);
        if (!is_file(mpath))
            return iamp_cli_usage("report", "%s has no metrics.jsonl: give --metrics FILE",
                                  c->run_dir);
        c->metrics = mpath;
    }
    if (c->run_dir && !c->trace) {
        snprintf(tpath, IAMP_REPORT_PATH_MAX, "%s/trace.jsonl", c->run_dir);
        c->trace = is_file(tpath) ? tpath : NULL;
    }
    return -1;
}

/* The data object: title, where it came from, the run, the rows. */
static int put_data(struct page *b, const struct report_cmd *c)
{
    static const char *const metrics_keys[] = {"round", "examples"};
    static const char *const trace_keys[] = {"question", "answer", "tree"};
    char title[IAMP_REPORT_PATH_MAX + 32];
    const char *source = c->run_dir ? c->run_dir : c->metrics ? c->metrics : c->trace;
    snprintf(title, sizeof(title), "iamp report: %s", source);
    put_str(b, "{\"version\":1");
    put_key(b, "title");
    put_string(b, c->title ? c->title : title);
    put_key(b, "run_dir");
    put_string(b, c->run_dir);
    put_key(b, "run");
    put_run(b, c->run_dir);
    put_key(b, "metrics_file");
    put_string(b, c->metrics);
    put_key(b, "trace_file");
    put_string(b, c->trace);
    struct jsonl m = {c->metrics, "metrics", "metrics row", metrics_keys, 2, 0};
    struct jsonl t = {c->trace, "trace", "trace record", trace_keys, 3, 0};
    put_key(b, "metrics");
    int code = c->metrics ? put_jsonl(b, &m) : (put_str(b, "[]"), -1);
    put_key(b, "trace");
    if (code < 0)
        code = c->trace ? put_jsonl(b, &t) : (put_str(b, "[]"), -1);
    put_str(b, "}");
    return code;
}

int iamp_cmd_report(int argc, char **argv)
{
    struct report_cmd c = {0};
    char mpath[IAMP_REPORT_PATH_MAX], tpath[IAMP_REPORT_PATH_MAX];
    int code = parse(argc, argv, &c, mpath, tpath);
    if (code >= 0)
        return code;
    const char *tpl = (const char *)iamp_report_html;
    const char *mark = strstr(tpl, IAMP_REPORT_MARKER);
    if (!mark) {
        iamp_cli_error("report: the built-in page has no data marker");
        return IAMP_EXIT_FAIL;
    }
    struct page b = {0};
    put(&b, tpl, (size_t)(mark - tpl));
    code = put_data(&b, &c);
    const char *rest = mark + strlen(IAMP_REPORT_MARKER);
    put(&b, rest, iamp_report_html_len - (size_t)(rest - tpl));
    if (code < 0 && b.oom) {
        iamp_cli_error("report: out of memory");
        code = IAMP_EXIT_FAIL;
    }
    if (code < 0) {
        int rc = iamp_file_write_atomic(c.output, b.p, b.n);
        if (rc)
            iamp_cli_error("report: cannot write %s: %s", c.output, iamp_strerror(rc));
        code = rc ? IAMP_EXIT_FAIL : IAMP_EXIT_OK;
    }
    free(b.p);
    return code;
}
