/* task.h — the one interface every task implements.
 *
 * A task is a question domain: a sampler with a difficulty, a one-line text
 * syntax, a token encoding that the model reads, the overseer H as a
 * resumable episode, and a ground-truth checker. Questions and answers are
 * fixed-size token records so the engine and the model can batch them
 * without allocation.
 *
 * Approval (RL-IA): a task may have an approval question type, "how good is
 * answer X to question Y?", which H answers by decomposing the judgement
 * into subquestions for M, like any other question. approval_question
 * builds it for an answer to a question of an approvable type and
 * approval_score reads the score in [0, 1] that an answer to it stands for.
 * The RL distillation modes (search, reinforce, mixed) train approvable
 * types to maximise amplified approval instead of imitating Amp(H, M).
 *
 * Approval by comparison (sequence and continuous answers, whose judged
 * answer does not fit in a question): instead of an approval question
 * type, a task may provide approval_compare. H then judges answer X to Y
 * by amplifying Y itself — the same decomposition as answering it — and
 * scoring X against that amplified answer (trajectory: the share of
 * positions that agree; markov: 1 - |X - amplified|). The RL modes treat
 * both kinds alike.
 *
 * Answer domains: token answers (one token, a fixed number, or a sequence
 * closed by an END token, see iamp_answer_space) and continuous answers:
 * a question type whose bit is set in `continuous` is answered by a value
 * in [0, 1] in answer.value with no tokens (len 0).
 *
 * Evaluation per type: eval_set mixes the task's types as the task sees
 * fit, correct() judges each question by its own type, and headline_type
 * names the type whose share correct is the task's headline `accuracy`
 * (every question counts when it is -1).
 *
 * Ground truth (`truth`) exists for evaluation and the supervised baseline
 * only. Every call goes through iamp_task_truth(), which counts calls so a
 * test can prove an IA training path never consults it.
 *
 * Contexts (the paper's setting): a task with facts_max > 0 draws an
 * instance of its world per root, its facts a struct iamp_context
 * (draw_context, at a difficulty), then questions on it: sample() is
 * called with q->ctx already pointing at the instance and reads it (use
 * iamp_task_sample, which keeps q->ctx whatever sample writes). H's
 * primitives and episodes read the facts through q->ctx; so does the
 * ground truth. The engine gives every subquestion its root's pointer.
 * Such a task's evaluation set is instances drawn from an eval-only
 * stream (coordinator/train/evaluate.c), not eval_set.
 *
 * Nothing here knows about MPI, libuv or the model.
 */
#ifndef IAMP_TASK_H
#define IAMP_TASK_H

#include "common/error.h"
#include "common/rng.h"
#include "common/types.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_ASK_MAX 16    /* subquestions one episode step may ask */
#define IAMP_TYPES_MAX 8   /* question types of one task */
#define IAMP_PARAMS_MAX 8  /* key=value parameters in a task spec */
#define IAMP_METRICS_MAX 4 /* task-specific held-out metrics */

/* What answers to one question may be: each token in [lo, hi); exactly
 * max_len tokens when end_tok < 0, else up to max_len ending with end_tok
 * (which lies in [lo, hi)): max_len is then the cap on a sequence. For a
 * continuous type all four are 0 (see iamp_task_continuous). */
struct iamp_answer_space {
    uint16_t lo, hi;
    uint16_t max_len;
    int32_t end_tok;
};

/* A parsed task spec: `name` or `name:key=value,...`. */
struct iamp_spec {
    char name[32];
    int n_params;
    char key[IAMP_PARAMS_MAX][32];
    char val[IAMP_PARAMS_MAX][64];
};

enum iamp_episode_status {
    IAMP_EP_ASK = 1,  /* asks were written; call step again with their answers */
    IAMP_EP_DONE = 2, /* the final answer was written */
};

struct iamp_task;

/* A batched overseer: H in another process (tasks/remote.c). Its task has
 * no primitive/episode_start/episode_step; the engine instead gathers the
 * H calls one pass over its queue needs into one h_batch call (each call
 * below), in the order the one-at-a-time engine would make them, so the
 * trees come out the same. Questions of a type whose bit is clear in the
 * task's primitive_types are never primitive and are not asked. */
enum iamp_h_call_kind {
    IAMP_H_PRIMITIVE = 1, /* q is where M would answer: H's answer if it is primitive */
    IAMP_H_START = 2,     /* q is where H decomposes: as a primitive, or an episode's first step */
    IAMP_H_STEP = 3,      /* the episode's next step, with its last asks' answers */
};

struct iamp_h_call {
    /* in */
    int kind;
    uint64_t episode;                  /* unique within the run */
    const struct iamp_question *q;     /* the node's question (STEP: the episode's) */
    const struct iamp_answer *answers; /* STEP: (n_answers) its last asks' answers */
    const struct iamp_question *asked; /* STEP: (n_answers) the questions they answer */
    int n_answers;
    int n_asked; /* STEP: questions the episode asked so far, in all (max_asks bounds them) */
    /* out: h_batch checks what it writes (asks valid questions, at most
     * max_asks in all, the answer in q's answer space) */
    int status;    /* IAMP_EP_ASK, IAMP_EP_DONE, or 0 (PRIMITIVE: not primitive) */
    int primitive; /* START's DONE: answered as a primitive, no episode */
    int n_asks;
    struct iamp_question *asks; /* room for IAMP_ASK_MAX, the engine's */
    struct iamp_answer out;
};

struct iamp_task_ops {
    const char *name;
    const char *summary; /* one line for --help */
    const char *params;  /* "n=64 (2..1024), seed=1, kmax=63 (1..n-1)" for --help */
    /* `iamp train` options this task trains with unless the command line
     * sets them (NULL: iamp train's own defaults), e.g. a model size. */
    const char *train_defaults;
    /* Parse and validate the spec's parameters; fill t's shape fields and
     * t->state. On error write a reason to err. */
    int (*create)(struct iamp_task *t, const struct iamp_spec *spec, char *err, size_t errlen);
    void (*destroy)(struct iamp_task *t);

    /* Draw a question at difficulty in [1, max_difficulty] (on q->ctx for
     * a task with contexts). */
    void (*sample)(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                   struct iamp_question *q);
    /* Tasks with contexts (NULL otherwise): draw an instance at difficulty,
     * and judge one a client sent (0: malformed, with a reason in err). */
    void (*draw_context)(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                         struct iamp_context *c);
    int (*valid_context)(const struct iamp_task *t, const struct iamp_context *c, char *err,
                         size_t errlen);
    /* The fixed evaluation set: at most max questions, covering every
     * difficulty; drawn from r (an eval-only stream). Returns the count. */
    int (*eval_set)(const struct iamp_task *t, struct iamp_rng *r, struct iamp_question *qs,
                    int max);

    int (*parse_question)(const struct iamp_task *t, const char *text, struct iamp_question *q,
                          char *err, size_t errlen);
    void (*format_question)(const struct iamp_task *t, const struct iamp_question *q, char *buf,
                            size_t len);
    void (*format_answer)(const struct iamp_task *t, const struct iamp_question *q,
                          const struct iamp_answer *a, char *buf, size_t len);
    void (*answer_space)(const struct iamp_task *t, const struct iamp_question *q,
                         struct iamp_answer_space *s);
    /* 0 when q is malformed for this task (out-of-range tokens). */
    int (*valid_question)(const struct iamp_task *t, const struct iamp_question *q);

    /* The overseer H. primitive: 1 and *a written when H answers q itself. */
    int (*primitive)(const struct iamp_task *t, const struct iamp_question *q,
                     struct iamp_answer *a);
    /* Start an episode for q in ep (episode_size bytes). */
    void (*episode_start)(const struct iamp_task *t, void *ep, const struct iamp_question *q);
    /* Advance: answers[0..n_answers) answer the previous step's asks in
     * order (n_answers = 0 on the first call). Writes up to IAMP_ASK_MAX
     * asks and returns IAMP_EP_ASK, or writes *out and returns IAMP_EP_DONE. */
    int (*episode_step)(const struct iamp_task *t, void *ep, const struct iamp_answer *answers,
                        int n_answers, struct iamp_question *asks, int *n_asks,
                        struct iamp_answer *out);

    /* A batched overseer instead of the three above (NULL for an H that
     * runs here): a new run's id; the calls of one pass, in order (0, or
     * IAMP_EOVERSEER with iamp_error_note set); the run is over. */
    uint64_t (*h_run_begin)(const struct iamp_task *t);
    int (*h_batch)(const struct iamp_task *t, uint64_t run, struct iamp_h_call *calls, int n);
    void (*h_run_end)(const struct iamp_task *t, uint64_t run);

    /* Ground truth: evaluation and the supervised baseline only. */
    void (*truth)(const struct iamp_task *t, const struct iamp_question *q, struct iamp_answer *a);
    /* 1 when a is a correct answer to q (by the ground truth). */
    int (*correct)(const struct iamp_task *t, const struct iamp_question *q,
                   const struct iamp_answer *a);

    /* Approval; both NULL when the task has no approval type. Write to aq
     * the question "how good is answer a to q?" (q's type is approvable; a
     * lies in q's answer space). */
    void (*approval_question)(const struct iamp_task *t, const struct iamp_question *q,
                              const struct iamp_answer *a, struct iamp_question *aq);
    /* The score in [0, 1] that answer a to the approval question aq means. */
    double (*approval_score)(const struct iamp_task *t, const struct iamp_question *aq,
                             const struct iamp_answer *a);
    /* Approval by comparison (NULL: none): the score in [0, 1] of answer a
     * to q given amp, the amplified answer to q itself. */
    double (*approval_compare)(const struct iamp_task *t, const struct iamp_question *q,
                               const struct iamp_answer *a, const struct iamp_answer *amp);

    /* 1 when answers a and b to q count as the same for the curriculum's
     * agreement signal (NULL: iamp_answer_equal; continuous tasks use a
     * tolerance). No ground truth. */
    int (*agree)(const struct iamp_task *t, const struct iamp_question *q,
                 const struct iamp_answer *a, const struct iamp_answer *b);
    /* Ground truth, evaluation only (NULL when n_metrics is 0): the task's
     * metrics of answer a to q into out[0, n_metrics), NAN where one does
     * not apply to q. */
    void (*metrics)(const struct iamp_task *t, const struct iamp_question *q,
                    const struct iamp_answer *a, double *out);
};

struct iamp_task {
    const struct iamp_task_ops *ops;
    char spec[128]; /* canonical spec, every parameter spelled out */
    int vocab;      /* token ids in [0, vocab) */
    int q_len;      /* question tokens at most */
    int a_len;      /* answer tokens at most */
    int n_types;    /* question types */
    const char *type_names[IAMP_TYPES_MAX];
    int max_difficulty;  /* sample() takes 1..max_difficulty */
    size_t episode_size; /* bytes of one episode's state */
    int max_asks;        /* subquestions one episode asks in all, at most;
                            0 when unbounded (bounds a question tree's size
                            before it is built: the service's limits) */
    int headline_type;   /* `accuracy` is this type's share correct; -1: all types */
    int approve_type;    /* the approval question type; -1: none */
    unsigned approvable; /* bit ty set: answers to type ty have an approval question */
    int eval_size;       /* questions in the task's full evaluation set */
    unsigned continuous; /* bit ty set: answers to type ty are a value in [0, 1] */
    int n_metrics;       /* held-out metrics besides accuracy (ops->metrics) */
    const char *metric_names[IAMP_METRICS_MAX]; /* their JSON names, e.g. "mae" */
    int facts_max;              /* facts per context at most; 0: questions carry none */
    int fact_len;               /* tokens per fact (1..IAMP_FACT_LEN) when facts_max > 0 */
    int questions_per_context;  /* roots sampled on each drawn instance */
    const char *train_defaults; /* this instance's, overriding ops->train_defaults (NULL: those) */
    unsigned primitive_types;   /* a batched overseer: bit ty set when type ty may be primitive */
    int overseer_here;          /* a batched overseer whose state lives in this process (H'):
                                   under mpirun its episodes run on rank 0, M's leaves on the
                                   workers */
    void *state;                /* the task's own data */
};

/* Parse "name" or "name:k=v,...". */
IAMP_WUR int iamp_spec_parse(const char *text, struct iamp_spec *spec, char *err, size_t errlen);
/* Look up a key; returns its value or NULL. */
const char *iamp_spec_get(const struct iamp_spec *spec, const char *key);
/* Integer parameter with default and inclusive range; errors name the key. */
IAMP_WUR int iamp_spec_int(const struct iamp_spec *spec, const char *key, long def, long lo,
                           long hi, long *out, char *err, size_t errlen);
/* Fail on any key not in the NULL-terminated list. */
IAMP_WUR int iamp_spec_check_keys(const struct iamp_spec *spec, const char *const *keys, char *err,
                                  size_t errlen);

/* Question text helpers: the type word that opens a line (one of
 * words[0..n), followed by a blank): its index, *rest after it; -1 when
 * none. Then the words after it: each key of keys[0..n_keys) exactly once
 * as key=<decimal>, into vals; 0, or -1 on anything else. */
int iamp_question_type_word(const char *text, const char *const *words, int n, const char **rest);
int iamp_question_words(const char *s, const char *const *keys, long *vals, int n_keys);
/* An evaluation set over elements 0..n-1 and levels 1..levels: for each
 * level, min(max(max / levels, 1), n) distinct elements drawn by one
 * shuffle, each made into a question by make; at most max in all.
 * Returns the count (0 when out of memory). */
typedef void (*iamp_grid_make_fn)(const struct iamp_task *t, int x, int level,
                                  struct iamp_question *q);
int iamp_eval_grid(const struct iamp_task *t, struct iamp_rng *r, int n, int levels,
                   iamp_grid_make_fn make, struct iamp_question *qs, int max);

/* Create a task from spec text; on error err holds a one-line reason. */
IAMP_WUR int iamp_task_create(struct iamp_task *t, const char *spec_text, char *err, size_t errlen);
void iamp_task_destroy(struct iamp_task *t);

/* The task table. */
int iamp_task_count(void);
const struct iamp_task_ops *iamp_task_ops_at(int i);

/* A question at difficulty on ctx (NULL for tasks without contexts):
 * ops->sample with q->ctx = ctx before and after. */
void iamp_task_sample(const struct iamp_task *t, struct iamp_rng *r, int difficulty,
                      const struct iamp_context *ctx, struct iamp_question *q);
/* Contexts n roots need: ceil(n / questions_per_context), 0 without. */
int iamp_task_contexts_for(const struct iamp_task *t, int n);
/* n roots at difficulty: without contexts n samples; with, one instance
 * drawn into ctxs[k] (iamp_task_contexts_for(t, n) of them) for each
 * questions_per_context roots in a row, then those roots on it. A
 * difficulty <= 0 means max_difficulty (an evaluation set). */
void iamp_task_sample_roots(const struct iamp_task *t, struct iamp_rng *r, int difficulty, int n,
                            struct iamp_context *ctxs, struct iamp_question *qs);
/* 1 when the task's questions carry contexts. */
int iamp_task_has_contexts(const struct iamp_task *t);
/* A client's context: its shape against the task's, then the task's own
 * check. 0, or IAMP_EINVAL with a one-line reason. */
IAMP_WUR int iamp_task_check_context(const struct iamp_task *t, const struct iamp_context *c,
                                     char *err, size_t errlen);
/* Text form of a context, for `iamp answer` and `iamp submit` input and
 * for answer JSONL: "facts: 0 3, 3 1, 1 0" — the word `facts:`, then the
 * facts separated by commas, each its fact_len tokens as decimals
 * separated by blanks. A line of it opens a block: the questions after it
 * are asked on those facts. */
#define IAMP_FACTS_TEXT_MAX 4096
/* 1 when a line is a facts line (it begins with "facts:"). */
int iamp_context_line(const char *text);
/* Parse a facts line into c and check it against the task (t NULL: the
 * form alone, as a client that leaves the task to the server). 0, or
 * IAMP_EPARSE / IAMP_EINVAL with a one-line reason. */
IAMP_WUR int iamp_context_parse(const struct iamp_task *t, const char *text, struct iamp_context *c,
                                char *err, size_t errlen);
void iamp_context_format(const struct iamp_context *c, char *buf, size_t len);

/* The ops of a batched overseer over base's task: base's, with H's
 * primitive and episode ops cleared and the three h_* ops set (the remote
 * overseer and the learned one share it). */
void iamp_task_ops_batched(struct iamp_task_ops *out, const struct iamp_task_ops *base,
                           uint64_t (*begin)(const struct iamp_task *),
                           int (*batch)(const struct iamp_task *, uint64_t, struct iamp_h_call *,
                                        int),
                           void (*end)(const struct iamp_task *, uint64_t));

/* The train defaults of this task instance (t->train_defaults or its ops'). */
const char *iamp_task_train_defaults(const struct iamp_task *t);

/* Ground truth, counted (see above). */
void iamp_task_truth(const struct iamp_task *t, const struct iamp_question *q,
                     struct iamp_answer *a);
int iamp_task_correct(const struct iamp_task *t, const struct iamp_question *q,
                      const struct iamp_answer *a);
/* The task's metrics of a (ground truth, counted like truth). */
void iamp_task_metrics(const struct iamp_task *t, const struct iamp_question *q,
                       const struct iamp_answer *a, double *out);
/* Calls of iamp_task_truth/iamp_task_correct/iamp_task_metrics so far. */
long iamp_task_truth_calls(void);

/* 1 when answers to question type `type` can be approved: by an approval
 * question or by comparison. */
int iamp_task_approvable(const struct iamp_task *t, int type);
/* 1 when the task approves by comparison (approval_compare). */
int iamp_task_compares(const struct iamp_task *t);
/* approval_compare clamped to [0, 1]. */
double iamp_task_approval_compare(const struct iamp_task *t, const struct iamp_question *q,
                                  const struct iamp_answer *a, const struct iamp_answer *amp);
/* 1 when answers to q are continuous values. */
int iamp_task_continuous(const struct iamp_task *t, const struct iamp_question *q);
/* The curriculum's agreement of a with b (ops->agree or equality). */
int iamp_task_agree(const struct iamp_task *t, const struct iamp_question *q,
                    const struct iamp_answer *a, const struct iamp_answer *b);
/* The approval question for answer a to q; IAMP_EINVAL when q's type is
 * not approvable or a is outside q's answer space. */
IAMP_WUR int iamp_task_approval_question(const struct iamp_task *t, const struct iamp_question *q,
                                         const struct iamp_answer *a, struct iamp_question *aq);
/* The score of answer a to approval question aq, clamped to [0, 1]. */
double iamp_task_approval_score(const struct iamp_task *t, const struct iamp_question *aq,
                                const struct iamp_answer *a);

/* 1 when a lies in the question's answer space. */
int iamp_answer_valid(const struct iamp_task *t, const struct iamp_question *q,
                      const struct iamp_answer *a);
int iamp_answer_equal(const struct iamp_answer *a, const struct iamp_answer *b);
/* A uniform draw from q's answer space into *a (an overseer error, see
 * coordinator/train/modes.h): continuous, a value uniform in [0, 1); a
 * fixed number of tokens, each uniform in [lo, hi); a sequence closed by
 * end_tok, a length L uniform in 1..max_len, then L - 1 tokens uniform
 * among the others and end_tok. Always iamp_answer_valid. */
void iamp_answer_uniform(const struct iamp_task *t, const struct iamp_question *q,
                         struct iamp_rng *r, struct iamp_answer *a);

#endif
