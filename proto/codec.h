/* codec.h — the one place that converts between protobuf-c messages
 * (iamp.proto) and iamp's own types. No other folder includes *.pb-c.h.
 *
 * Decoders validate everything they return: lengths, counts and sizes are
 * checked against the caller's limits so later code can trust them.
 * Ownership: *_decode fills caller-owned structs whose heap fields are
 * released with the matching *_release; encoders return malloc'd bytes the
 * caller frees.
 */
#ifndef IAMP_CODEC_H
#define IAMP_CODEC_H

#include "common/error.h"
#include "common/types.h"
#include "proto/train_config.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_CHECKPOINT_MAGIC 0x504d4149u /* "IAMP" */
#define IAMP_CHECKPOINT_VERSION 1u
#define IAMP_CHECKPOINT_MAX_BYTES (1ull << 31)
#define IAMP_AGREEMENT_MAX 64

struct iamp_model_shape {
    uint32_t vocab, n_types, q_len, a_len, embed, hidden, layers;
    uint32_t cont;   /* 1: a continuous head; 0 (and absent in older checkpoints): none */
    uint32_t pair;   /* 1: a pair slot (worker/model/mlp.h); 0 (and absent): none */
    char model[128]; /* another model's canonical spec; "": the MLP above */
};

struct iamp_checkpoint {
    char task[128]; /* canonical task spec */
    struct iamp_model_shape shape;
    size_t n_params;
    float *params;          /* (n_params), owned */
    float *adam_m, *adam_v; /* (n_params) each, owned; NULL when absent */
    float *target;          /* (n_params) M_target, owned; NULL when absent */
    float *ref;             /* (n_params) p_ref, owned; NULL when absent */
    uint64_t adam_t, round, examples;
    double seconds;
    int has_rng;
    uint64_t rng[4];
    uint32_t difficulty, rounds_at_level;
    int n_agreement;
    float agreement[IAMP_AGREEMENT_MAX];
    int has_config;
    struct iamp_train_config config;
    int has_reached; /* first round with accuracy >= 0.99 */
    uint64_t reached_round;
    double reached_examples, reached_seconds;
};

void iamp_checkpoint_release(struct iamp_checkpoint *c);
IAMP_WUR int iamp_checkpoint_encode(const struct iamp_checkpoint *c, uint8_t **buf, size_t *len);
/* Decode and validate (magic, version, sizes against the shape's count). */
IAMP_WUR int iamp_checkpoint_decode(const uint8_t *buf, size_t len, struct iamp_checkpoint *c);
/* Files hold a CheckpointFile (the encoded Checkpoint and its CRC-32C).
 * Atomic save; load maps "missing", "corrupt or truncated" and "wrong
 * version" to IAMP_ENOENT, IAMP_ECORRUPT and IAMP_EVERSION. */
IAMP_WUR int iamp_checkpoint_save(const char *path, const struct iamp_checkpoint *c);
IAMP_WUR int iamp_checkpoint_load(const char *path, struct iamp_checkpoint *c);

/* A unit of amplification work between ranks (WorkUnit / UnitResult). */
struct iamp_work_unit {
    uint64_t unit_id;
    int n;                    /* questions */
    struct iamp_question *qs; /* (n), owned */
    int *depth;               /* (n), owned */
    uint32_t decode;
    float temperature;
    uint64_t rng_seed;
    uint32_t pick;            /* 0: M, 1: M_target, 2: a published version */
    uint64_t first_unit;      /* sampling stream of the first root */
    uint64_t version;         /* pick 2: the version's id */
    struct iamp_context *ctx; /* (n_ctx) decode: the questions' contexts, owned */
    int n_ctx;                /* (encode reads the questions' pointers, each sent once) */
};

void iamp_work_unit_release(struct iamp_work_unit *u);
IAMP_WUR int iamp_work_unit_encode(const struct iamp_work_unit *u, uint8_t **buf, size_t *len);
IAMP_WUR int iamp_work_unit_decode(const uint8_t *buf, size_t len, int max_questions,
                                   struct iamp_work_unit *u);
IAMP_WUR int iamp_unit_result_encode(uint64_t unit_id, const struct iamp_answer *as, int n,
                                     uint8_t **buf, size_t *len);
/* Decode into as[0..max); *n gets the count. */
IAMP_WUR int iamp_unit_result_decode(const uint8_t *buf, size_t len, uint64_t *unit_id,
                                     struct iamp_answer *as, int max, int *n);

/* One round of distillation between ranks (TrainBatch / TrainStats). */
struct iamp_train_batch {
    int n;
    struct iamp_example *ex; /* (n), owned by decode */
    int n_questions;
    int *first, *count; /* (n_questions) or NULL: one example per question; owned */
    int n_order;
    int *order;     /* (n_order) question indices, owned by decode */
    uint32_t batch; /* questions per minibatch */
    float lr, value_coef;
    struct iamp_context *ctx; /* (n_ctx) decode: the examples' contexts, owned */
    int n_ctx;
};

struct iamp_fit_report {
    double loss, policy_loss, value_loss;
    uint64_t rows;
    double backward_s, allreduce_wait_s, allreduce_s, optimizer_s;
};

void iamp_train_batch_release(struct iamp_train_batch *b);
IAMP_WUR int iamp_train_batch_encode(const struct iamp_train_batch *b, uint8_t **buf, size_t *len);
IAMP_WUR int iamp_train_batch_decode(const uint8_t *buf, size_t len, int max_examples,
                                     struct iamp_train_batch *b);
IAMP_WUR int iamp_fit_report_encode(const struct iamp_fit_report *r, uint8_t **buf, size_t *len);
IAMP_WUR int iamp_fit_report_decode(const uint8_t *buf, size_t len, struct iamp_fit_report *r);

/* Frame header: 4-byte big-endian length. */
void iamp_frame_put_len(uint8_t out[4], uint32_t len);
uint32_t iamp_frame_get_len(const uint8_t in[4]);

#endif
