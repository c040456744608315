/* curriculum.h — raise the question difficulty when M has caught up.
 *
 * As in the paper's code: each round records how often M's own greedy
 * answers agree with the round's training targets; once the mean over the
 * last `window` rounds at the current level reaches `threshold`, the level
 * goes up. Without this, IA on permpow settles on a constant answer that
 * is its own amplification. The signal is M against its targets — never
 * ground truth — so it is safe on the IA training path.
 */
#ifndef IAMP_CURRICULUM_H
#define IAMP_CURRICULUM_H

#include "proto/codec.h" /* IAMP_AGREEMENT_MAX */

struct iamp_curriculum {
    int level; /* current difficulty, 1..max_level */
    int max_level;
    float threshold;     /* mean agreement that raises the level */
    int window;          /* rounds averaged, <= IAMP_AGREEMENT_MAX */
    int rounds_at_level; /* rounds since the level last changed */
    int n;               /* agreement values held, oldest first */
    float hist[IAMP_AGREEMENT_MAX];
};

void iamp_curriculum_init(struct iamp_curriculum *c, int max_level, float threshold, int window);
/* Record a round's agreement; returns 1 when the level went up. */
int iamp_curriculum_update(struct iamp_curriculum *c, float agreement);
/* Mean of the held window (0 when empty). */
float iamp_curriculum_mean(const struct iamp_curriculum *c);

#endif
