/* distance.h — the question and answer text of the two shortest-path
 * tasks, graph (one fixed graph) and path (a graph per root, as facts):
 * `dist a=A b=B` (type 0) and `step a=A b=B` (type 1) over vertices
 * 0..n-1, answered in one token: a vertex, NONE = n, the distance d as
 * n + 1 + d (d <= dmax) or UNREACHABLE = n + dmax + 2. Private to tasks/.
 */
#ifndef IAMP_TASKS_DISTANCE_H
#define IAMP_TASKS_DISTANCE_H

#include "tasks/task.h"

enum { IAMP_DIST_TYPE_DIST = 0, IAMP_DIST_TYPE_STEP = 1 };

/* d of a distance answer, -1 for UNREACHABLE or anything else. */
int iamp_dist_of(int n, int dmax, const struct iamp_answer *a);
/* The question (type, a, b) into q. */
void iamp_dist_question(int type, int a, int b, struct iamp_question *q);
int iamp_dist_parse(int n, const char *text, struct iamp_question *q, char *err, size_t errlen);
void iamp_dist_format_question(const struct iamp_question *q, char *buf, size_t len);
void iamp_dist_format_answer(int n, int dmax, const struct iamp_question *q,
                             const struct iamp_answer *a, char *buf, size_t len);
void iamp_dist_answer_space(int n, int dmax, const struct iamp_question *q,
                            struct iamp_answer_space *s);

#endif
