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
 */
#ifndef IAMP_METRICS_H
#define IAMP_METRICS_H

#include "coordinator/train/train.h"

#include <stdio.h>

IAMP_WUR int iamp_metrics_open(const char *path, int append, FILE **f);
void iamp_metrics_write(FILE *f, const struct iamp_task *t, const struct iamp_round_stats *st);
void iamp_metrics_print_line(FILE *out, const struct iamp_round_stats *st);
/* A JSON number, or null when not finite. */
void iamp_json_number(FILE *f, double v);
/* A JSON string with escapes. */
void iamp_json_string(FILE *f, const char *s);

#endif
