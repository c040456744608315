/* metrics.c — see metrics.h. */
#include "coordinator/train/metrics.h"

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

static void field(FILE *f, const char *name, double v)
{
    fprintf(f, ",\"%s\":", name);
    iamp_json_number(f, v);
}

void iamp_metrics_write(FILE *f, const struct iamp_task *t, const struct iamp_round_stats *st)
{
    fprintf(f, "{\"round\":%ld,\"examples\":%ld,\"difficulty\":%d", st->round, st->examples,
            st->difficulty);
    field(f, "agreement", st->agreement);
    field(f, "loss", st->loss);
    field(f, "accuracy", st->accuracy);
    field(f, "amplified_accuracy", st->amplified_accuracy);
    for (int ty = 0; ty < t->n_types; ty++) {
        char name[64];
        snprintf(name, sizeof(name), "accuracy_%s", t->type_names[ty]);
        field(f, name, st->per_type[ty]);
    }
    for (int k = 0; k < t->n_metrics; k++)
        field(f, t->metric_names[k], st->metric[k]);
    field(f, "approval", st->approval);
    field(f, "reward", st->reward);
    field(f, "entropy", st->entropy);
    field(f, "kl", st->kl);
    field(f, "value_error", st->value_error);
    field(f, "seconds", st->seconds);
    field(f, "round_seconds", st->round_seconds);
    fputs("}\n", f);
    fflush(f);
}

void iamp_metrics_print_line(FILE *out, const struct iamp_round_stats *st)
{
    char acc[16] = "  -   ", amp[16] = "  -   ", rl[64] = "";
    if (!isnan(st->accuracy))
        snprintf(acc, sizeof(acc), "%.4f", st->accuracy);
    if (!isnan(st->amplified_accuracy))
        snprintf(amp, sizeof(amp), "%.4f", st->amplified_accuracy);
    if (!isnan(st->approval))
        snprintf(rl, sizeof(rl), "  appr %.3f", st->approval);
    if (!isnan(st->kl))
        snprintf(rl + strlen(rl), sizeof(rl) - strlen(rl), "  kl %.3f", st->kl);
    fprintf(out,
            "round %5ld  examples %8ld  level %d  agree %.3f  loss %.4f  acc %s  amp %s%s  %.1fs\n",
            st->round, st->examples, st->difficulty, st->agreement, st->loss, acc, amp, rl,
            st->seconds);
    fflush(out);
}
