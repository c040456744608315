/* metrics.c — see metrics.h. */
#include "coordinator/train/metrics.h"

#include "common/clock.h"

#include <errno.h>
#include <math.h>
#include <string.h>

int iamp_metrics_open(const char *path, int append, FILE **f)
{
    *f = fopen(path, append ? "a" : "w");
    return *f ? 0 : iamp_err_from_errno(errno);
}

void iamp_json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

void iamp_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void add(struct iamp_metrics_field *out, int *n, const char *name, double v, int integer)
{
    struct iamp_metrics_field *f = &out[(*n)++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->value = v;
    f->is_integer = integer;
}

/* One field "<group>/<d>" per depth d of the held-out set. */
static void by_depth(struct iamp_metrics_field *out, int *n, const char *group, unsigned depths,
                     const double *v)
{
    for (int d = 0; d < IAMP_EVAL_DEPTHS; d++) {
        if (!(depths & (1u << d)))
            continue;
        char name[64];
        snprintf(name, sizeof(name), "%s/%d", group, d);
        add(out, n, name, v[d], 0);
    }
}

int iamp_metrics_fields(const struct iamp_task *t, const struct iamp_round_stats *st,
                        struct iamp_metrics_field out[IAMP_METRICS_FIELDS_MAX])
{
    int n = 0;
    add(out, &n, "round", (double)st->round, 1);
    add(out, &n, "examples", (double)st->examples, 1);
    add(out, &n, "difficulty", st->difficulty, 1);
    add(out, &n, "agreement", st->agreement, 0);
    add(out, &n, "loss", st->loss, 0);
    add(out, &n, "accuracy", st->accuracy, 0);
    add(out, &n, "amplified_accuracy", st->amplified_accuracy, 0);
    for (int ty = 0; ty < t->n_types && ty < IAMP_TYPES_MAX; ty++) {
        char name[64];
        snprintf(name, sizeof(name), "accuracy_%s", t->type_names[ty]);
        add(out, &n, name, st->per_type[ty], 0);
    }
    for (int k = 0; k < t->n_metrics && k < IAMP_METRICS_MAX; k++)
        add(out, &n, t->metric_names[k], st->metric[k], 0);
    by_depth(out, &n, "accuracy_by_depth", st->depths, st->by_depth);
    by_depth(out, &n, "amplified_accuracy_by_depth", st->depths, st->amp_by_depth);
    add(out, &n, "approval", st->approval, 0);
    add(out, &n, "reward", st->reward, 0);
    add(out, &n, "entropy", st->entropy, 0);
    add(out, &n, "kl", st->kl, 0);
    add(out, &n, "value_error", st->value_error, 0);
    add(out, &n, "h_calls", (double)st->h_calls, 1);
    add(out, &n, "labels", (double)st->labels, 1);
    if (st->has_hprime) {
        add(out, &n, "hprime_episodes", (double)st->hp.hprime_episodes, 1);
        add(out, &n, "hprime_invalid", (double)st->hp.invalid, 1);
        add(out, &n, "hprime_doubted", (double)st->hp.doubted, 1);
        add(out, &n, "hprime_takeovers", (double)st->hp.takeovers, 1);
        add(out, &n, "hprime_loss", st->hp.loss, 0);
        add(out, &n, "hprime_ask_accuracy", st->hp.ask_accuracy, 0);
        add(out, &n, "hprime_answer_accuracy", st->hp.answer_accuracy, 0);
    }
    add(out, &n, "seconds", st->seconds, 0);
    add(out, &n, "round_seconds", st->round_seconds, 0);
    return n;
}

static void write_value(FILE *f, const struct iamp_metrics_field *v)
{
    if (v->is_integer)
        fprintf(f, "%lld", (long long)v->value);
    else
        iamp_json_number(f, v->value);
}

/* The fields from v[0] that share its group (the name before '/'), as one
 * object keyed by the rest of each name, or null when all are null;
 * returns how many it wrote. */
static int write_group(FILE *f, const struct iamp_metrics_field *v, int n)
{
    size_t g = (size_t)(strchr(v[0].name, '/') - v[0].name);
    int m = 0, any = 0;
    while (m < n && strncmp(v[m].name, v[0].name, g + 1) == 0) {
        any |= isfinite(v[m].value);
        m++;
    }
    fprintf(f, "\"%.*s\":", (int)g, v[0].name);
    for (int i = 0; any && i < m; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "{", v[i].name + g + 1);
        write_value(f, &v[i]);
    }
    fputs(any ? "}" : "null", f);
    return m;
}

void iamp_metrics_write(FILE *f, const struct iamp_task *t, const struct iamp_round_stats *st)
{
    struct iamp_metrics_field v[IAMP_METRICS_FIELDS_MAX];
    int n = iamp_metrics_fields(t, st, v);
    for (int i = 0; i < n;) {
        fputs(i ? "," : "{", f);
        if (strchr(v[i].name, '/')) {
            i += write_group(f, v + i, n - i);
            continue;
        }
        fprintf(f, "\"%s\":", v[i].name);
        write_value(f, &v[i++]);
    }
    fputs("}\n", f);
    fflush(f);
}

int iamp_metrics_tensorboard(struct iamp_tensorboard *tb, const struct iamp_task *t,
                             const struct iamp_round_stats *st)
{
    struct iamp_metrics_field v[IAMP_METRICS_FIELDS_MAX];
    struct iamp_tb_scalar s[IAMP_METRICS_FIELDS_MAX];
    int n = iamp_metrics_fields(t, st, v), k = 0;
    for (int i = 1; i < n; i++) /* v[0], the round, is the step */
        s[k++] = (struct iamp_tb_scalar){v[i].name, v[i].value};
    return iamp_tensorboard_scalars(tb, st->round, (double)iamp_unix_ms() / 1000.0, s, k);
}

/* "  depth 1-4 0.99/0.95/0.80/0.41": M's accuracy by decomposition depth
 * from the shallowest to the deepest of the held-out set, when the row
 * was evaluated and there are at most PRINT_DEPTHS of them; else "". */
#define PRINT_DEPTHS 8
static void depth_text(const struct iamp_round_stats *st, char *buf, size_t len)
{
    int lo = -1, hi = -1;
    buf[0] = '\0';
    for (int d = 0; d < IAMP_EVAL_DEPTHS; d++)
        if (st->depths & (1u << d)) {
            lo = lo < 0 ? d : lo;
            hi = d;
        }
    if (lo < 0 || hi - lo >= PRINT_DEPTHS || isnan(st->accuracy))
        return;
    size_t used = (size_t)snprintf(buf, len, "  depth %d-%d ", lo, hi);
    for (int d = lo; d <= hi && used < len; d++) {
        char v[16] = "-";
        if (!isnan(st->by_depth[d]))
            snprintf(v, sizeof(v), "%.2f", st->by_depth[d]);
        used += (size_t)snprintf(buf + used, len - used, "%s%s", d > lo ? "/" : "", v);
    }
}

void iamp_metrics_print_line(FILE *out, const struct iamp_round_stats *st)
{
    char acc[16] = "  -   ", amp[16] = "  -   ", rl[96] = "", dep[80];
    if (!isnan(st->accuracy))
        snprintf(acc, sizeof(acc), "%.4f", st->accuracy);
    if (!isnan(st->amplified_accuracy))
        snprintf(amp, sizeof(amp), "%.4f", st->amplified_accuracy);
    if (!isnan(st->approval))
        snprintf(rl, sizeof(rl), "  appr %.3f", st->approval);
    if (!isnan(st->kl))
        snprintf(rl + strlen(rl), sizeof(rl) - strlen(rl), "  kl %.3f", st->kl);
    if (st->has_hprime)
        snprintf(rl + strlen(rl), sizeof(rl) - strlen(rl), "  H %ld H' %.3f", st->h_calls,
                 st->hp.loss);
    depth_text(st, dep, sizeof(dep));
    fprintf(
        out,
        "round %5ld  examples %8ld  level %d  agree %.3f  loss %.4f  acc %s  amp %s%s%s  %.1fs\n",
        st->round, st->examples, st->difficulty, st->agreement, st->loss, acc, amp, rl, dep,
        st->seconds);
    fflush(out);
}
