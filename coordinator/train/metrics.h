/* metrics.h — per-round output: a compact line for people, JSONL for
 * programs (--metrics FILE). JSON fields: round, examples, difficulty,
 * agreement, loss, accuracy (the task's headline type), amplified_accuracy,
 * accuracy_<type> per question type, the task's own metrics by name
 * (trajectory: token_accuracy; markov: mae), approval (mean amplified approval of
 * M's greedy answers to approvable questions), reward (mean approval of
 * the sampled answers reinforce and mixed learn from), entropy (M's answer
 * distribution), kl (KL(p_M || p_ref), null before p_ref exists),
 * value_error (mean squared error of the value baseline against the
 * reward), seconds, round_seconds; null where a figure does not apply.
 * Each line is flushed as written.
 *
 * Accuracy by decomposition depth (evaluate.h), where the task's H
 * decomposes the held-out questions without M: "accuracy_by_depth" (M)
 * and "amplified_accuracy_by_depth" (Amp^depth), each an object from the
 * depth, as text, to the headline accuracy at that depth —
 * {"0":1,"1":0.98,"2":0.91} —, null in a row that was not evaluated;
 * absent for a task without depths. In the field list they are one field
 * per depth, "accuracy_by_depth/2": the JSON writer gathers a run of
 * fields sharing a name before '/' into one object, and TensorBoard takes
 * the names as they are (its '/' groups the tags).
 *
 * The same row as TensorBoard scalars (--tensorboard DIR): one Event per
 * round, step = round, a scalar per other field, tagged with its JSON key,
 * the null ones left out (common/tensorboard.h). Both writers expand one
 * list, iamp_metrics_fields.
 */
#ifndef IAMP_METRICS_H
#define IAMP_METRICS_H

#include "common/tensorboard.h"
#include "coordinator/train/train.h"

#include <stdio.h>

/* A row's fields: round, examples, difficulty, agreement, loss, accuracy,
 * amplified_accuracy, accuracy_<type>..., the task's metrics...,
 * accuracy_by_depth/<d>..., amplified_accuracy_by_depth/<d>..., approval,
 * reward, entropy, kl, value_error, h_calls, labels, hprime_..., seconds,
 * round_seconds. */
#define IAMP_METRICS_FIELDS_MAX (26 + IAMP_TYPES_MAX + IAMP_METRICS_MAX + 2 * IAMP_EVAL_DEPTHS)
struct iamp_metrics_field {
    char name[64];
    double value;   /* NAN: null */
    int is_integer; /* written as an integer (round, examples, difficulty) */
};

/* The fields of st's row, in the row's order; their count. */
int iamp_metrics_fields(const struct iamp_task *t, const struct iamp_round_stats *st,
                        struct iamp_metrics_field out[IAMP_METRICS_FIELDS_MAX]);

IAMP_WUR int iamp_metrics_open(const char *path, int append, FILE **f);
void iamp_metrics_write(FILE *f, const struct iamp_task *t, const struct iamp_round_stats *st);
/* st's row as one TensorBoard event at step st->round, wall time now. */
IAMP_WUR int iamp_metrics_tensorboard(struct iamp_tensorboard *tb, const struct iamp_task *t,
                                      const struct iamp_round_stats *st);
void iamp_metrics_print_line(FILE *out, const struct iamp_round_stats *st);
/* A JSON number, or null when not finite. */
void iamp_json_number(FILE *f, double v);
/* A JSON string with escapes. */
void iamp_json_string(FILE *f, const char *s);

#endif
