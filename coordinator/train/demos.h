/* demos.h — demonstrations: questions a person (or any overseer outside
 * iamp) answered, read from a JSONL file, for `iamp train
 * --demonstrations FILE`, where M imitates them instead of Amp(H, M).
 *
 * The file: one finished episode per line,
 *   {"question": "pow x=3 k=2", "facts": "facts: 0 3, 3 1", "answer": [5],
 *    "steps": [{"asks": ["pow x=3 k=1"], "answers": [[7]]}]}
 * "question" is the task's text form; "facts" (a facts line, with or
 * without its leading "facts:") is there exactly when the task's
 * questions carry facts; "answer" is the answer's tokens (END included
 * for a sequence), or a number in [0, 1] for a continuous question type;
 * "steps" (how the person got there) and any other key are ignored.
 * Blank lines are skipped.
 *
 * Loading reads and checks the whole file before anything trains: a bad
 * line fails the load with "FILE:LINE: why". Memory is bounded: at most
 * IAMP_DEMOS_MAX demonstrations, lines of at most IAMP_DEMO_LINE_MAX
 * bytes, and each distinct facts line is kept once (a context is ~1 KiB),
 * at most IAMP_DEMO_CONTEXTS_MAX of them. The demonstrations own their
 * contexts, and their questions point at them for the set's lifetime.
 *
 * Order: round r takes the positions [r n, (r + 1) n) of an endless
 * sequence of passes over the file, n = min(questions per round, count);
 * pass p is a shuffle drawn from its own stream of the training seed.
 * Everything follows from the seed and the round counter, so a resumed
 * run takes exactly the examples an uninterrupted one would (given the
 * same file: iamp_demos crc32c says which it was), with nothing more in
 * the checkpoint. Runs on the trainer's thread.
 */
#ifndef IAMP_DEMOS_H
#define IAMP_DEMOS_H

#include "tasks/task.h"

#include <stdint.h>

#define IAMP_DEMOS_MAX (1 << 20)         /* demonstrations in one file */
#define IAMP_DEMO_LINE_MAX (64 * 1024)   /* bytes of one line, newline excluded */
#define IAMP_DEMO_CONTEXTS_MAX (1 << 16) /* distinct facts lines (64 MiB of contexts) */

struct iamp_demos {
    int n;                    /* demonstrations */
    struct iamp_question *qs; /* (n) their questions; ctx into ctx[] */
    struct iamp_answer *as;   /* (n) the answers M imitates */
    struct iamp_context *ctx; /* (n_ctx) the distinct facts, each once */
    int n_ctx;
    uint32_t crc32c; /* of the file's bytes */
    /* The pass the order is in (-1: none yet), its seed and its shuffle. */
    long pass;
    uint64_t pass_seed;
    int *perm; /* (n) */
};

/* Read and check every line of path against task t into d (fresh). 0, or
 * a negative code with a one-line reason in err: "PATH:LINE: why" for a
 * bad line (IAMP_EPARSE, IAMP_EINVAL, IAMP_ERANGE, IAMP_ELIMIT), "PATH:
 * why" for the file (IAMP_EIO and others: it cannot be read;
 * IAMP_EINVAL: it holds no demonstration). d is empty after a failure. */
IAMP_WUR int iamp_demos_load(struct iamp_demos *d, const struct iamp_task *t, const char *path,
                             char *err, size_t errlen);
void iamp_demos_release(struct iamp_demos *d);

/* Examples per round: min(questions, d->n). */
int iamp_demos_per_round(const struct iamp_demos *d, int questions);
/* Round `round`'s n = iamp_demos_per_round(d, questions) demonstrations
 * (see the order above) into qs and targets; 0 or IAMP_ENOMEM. */
IAMP_WUR int iamp_demos_take(struct iamp_demos *d, uint64_t seed, long round, int questions,
                             struct iamp_question *qs, struct iamp_answer *targets);

#endif
