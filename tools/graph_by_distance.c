/* graph_by_distance — accuracy of a trained graph model on every pair of
 * vertices, broken down by the true distance (an analysis aid, not part
 * of iamp: it reads the ground truth, which training never does).
 *
 * usage: build/graph_by_distance CHECKPOINT [dist|step]
 *
 * For each true distance (and "unreachable"): how many pairs, the share M
 * answers correctly, the share Amp(H, M) at depth 1 answers correctly,
 * and, for dist, how many pairs M gives that distance. This is how the
 * stalled depth-1 runs were read: right up to distance 2, "unreachable"
 * for nearly everything beyond.
 */
#include "tasks/task.h"
#include "worker/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BINS 64 /* distances 0..BINS-2; the last bin is unreachable */

/* The bin of an answer to a dist question: its distance, or BINS - 1. */
static int bin_of(const struct iamp_task *t, const struct iamp_question *q,
                  const struct iamp_answer *a)
{
    char buf[64];
    t->ops->format_answer(t, q, a, buf, sizeof(buf));
    int d = buf[0] >= '0' && buf[0] <= '9' ? atoi(buf) : BINS - 1;
    return d < BINS - 1 ? d : BINS - 1;
}

/* Per true-distance bin: pairs, M right, Amp right, M's answer here. */
struct tally {
    long cnt[BINS], ok_m[BINS], ok_amp[BINS], said[BINS];
};

/* Answer every (a, b) of the question type by M and by Amp(H, M) at depth
 * 1, and tally them by the true distance; 0 or 1 (out of memory, or a
 * failed forward pass). */
static int tally_pairs(struct iamp_session *s, int type, int v, struct tally *ty)
{
    const struct iamp_task *t = &s->task;
    size_t n = (size_t)v * (size_t)v;
    struct iamp_question *qs = calloc(n, sizeof(*qs));
    struct iamp_answer *m = calloc(n, sizeof(*m)), *amp = calloc(n, sizeof(*amp));
    int rc = qs && m && amp ? 0 : 1;
    for (size_t i = 0; !rc && i < n; i++)
        qs[i] =
            (struct iamp_question){.type = (uint16_t)type,
                                   .len = 2,
                                   .tok = {(uint16_t)(i / (size_t)v), (uint16_t)(i % (size_t)v)}};
    if (!rc &&
        (iamp_session_answer(s, qs, (int)n, m) || iamp_session_amplify(s, qs, (int)n, 1, amp)))
        rc = 1;
    memset(ty, 0, sizeof(*ty));
    for (size_t i = 0; !rc && i < n; i++) {
        struct iamp_question dq = qs[i];
        struct iamp_answer truth;
        dq.type = 0;
        t->ops->truth(t, &dq, &truth); /* evaluation only */
        int k = bin_of(t, &dq, &truth);
        ty->cnt[k]++;
        ty->ok_m[k] += t->ops->correct(t, &qs[i], &m[i]);
        ty->ok_amp[k] += t->ops->correct(t, &qs[i], &amp[i]);
        if (type == 0)
            ty->said[bin_of(t, &dq, &m[i])]++;
    }
    free(qs);
    free(m);
    free(amp);
    return rc;
}

static void print_tally(const struct tally *ty, int type)
{
    printf("%-12s %7s %7s %7s%s\n", "true dist", "pairs", "M", "Amp", type == 0 ? "  M says" : "");
    for (int k = 0; k < BINS; k++) {
        long c = ty->cnt[k];
        if (!c && !ty->said[k])
            continue;
        char name[16];
        snprintf(name, sizeof(name), k == BINS - 1 ? "unreachable" : "%d", k);
        printf("%-12s %7ld %7.3f %7.3f", name, c, c ? (double)ty->ok_m[k] / c : 0.0,
               c ? (double)ty->ok_amp[k] / c : 0.0);
        if (type == 0)
            printf("  %7ld", ty->said[k]);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "dist") && strcmp(argv[2], "step"))) {
        fprintf(stderr, "usage: graph_by_distance CHECKPOINT [dist|step]\n");
        return 2;
    }
    int type = argc == 3 && strcmp(argv[2], "step") == 0;
    struct iamp_session s;
    char err[256];
    if (iamp_session_load(&s, argv[1], NULL, NULL, err, sizeof(err))) {
        fprintf(stderr, "graph_by_distance: %s: %s\n", argv[1], err);
        return 1;
    }
    const struct iamp_task *t = &s.task;
    int rc = 1;
    struct tally ty;
    if (strcmp(t->ops->name, "graph") != 0) {
        fprintf(stderr, "graph_by_distance: %s is a %s model, not graph\n", argv[1], t->ops->name);
        goto out;
    }
    /* Vertices: a first step is one of them or "none", the last token. */
    struct iamp_answer_space sp;
    t->ops->answer_space(t, &(struct iamp_question){.type = 1, .len = 2}, &sp);
    rc = tally_pairs(&s, type, sp.hi - 1, &ty);
    if (rc)
        fprintf(stderr, "graph_by_distance: out of memory or a failed forward pass\n");
    else
        print_tally(&ty, type);
out:
    iamp_session_close(&s);
    return rc;
}
