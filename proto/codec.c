/* codec.c — protobuf-c <-> iamp types. See codec.h for the contract.
 *
 * Floats travel as raw little-endian bytes (this code assumes a
 * little-endian host, checked at compile time). Every *__unpack is paired
 * with *__free_unpacked in the same function.
 */
#include "proto/codec.h"

#include "common/crc32c.h"
#include "common/fileio.h"
#include "iamp.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "iamp's checkpoint codec assumes a little-endian host"
#endif

void iamp_frame_put_len(uint8_t out[4], uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
}

uint32_t iamp_frame_get_len(const uint8_t in[4])
{
    return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) | in[3];
}

/* ---------------------------------------------------------- checkpoint */

void iamp_checkpoint_release(struct iamp_checkpoint *c)
{
    if (!c)
        return;
    free(c->params);
    free(c->adam_m);
    free(c->adam_v);
    free(c->target);
    free(c->ref);
    memset(c, 0, sizeof(*c));
}

static ProtobufCBinaryData floats_bytes(const float *p, size_t n)
{
    ProtobufCBinaryData b = {n * sizeof(float), (uint8_t *)p};
    return b;
}

static void config_to_pb(const struct iamp_train_config *c, Iamp__TrainConfig *pb)
{
    iamp__train_config__init(pb);
    pb->algo = (char *)c->algo;
    pb->has_depth = pb->has_questions_per_round = pb->has_batch = pb->has_epochs = 1;
    pb->depth = c->depth;
    pb->questions_per_round = c->questions_per_round;
    pb->batch = c->batch;
    pb->epochs = c->epochs;
    pb->has_lr = pb->has_seed = pb->has_eval_size = 1;
    pb->lr = c->lr;
    pb->seed = c->seed;
    pb->eval_size = c->eval_size;
    pb->has_curriculum_threshold = pb->has_curriculum_window = 1;
    pb->curriculum_threshold = c->curriculum_threshold;
    pb->curriculum_window = c->curriculum_window;
    pb->has_target_sync = pb->has_lr_schedule = pb->has_schedule_rounds = 1;
    pb->target_sync = c->target_sync;
    pb->lr_schedule = c->lr_schedule;
    pb->schedule_rounds = c->schedule_rounds;
    pb->has_samples = pb->has_warmup = pb->has_entropy_coef = pb->has_value_coef = 1;
    pb->samples = c->samples;
    pb->warmup = c->warmup;
    pb->entropy_coef = c->entropy_coef;
    pb->value_coef = c->value_coef;
    pb->has_mix_lambda = pb->has_kl_beta = 1;
    pb->mix_lambda = c->mix_lambda;
    pb->kl_beta = c->kl_beta;
}

static void config_from_pb(const Iamp__TrainConfig *pb, struct iamp_train_config *c)
{
    memset(c, 0, sizeof(*c));
    if (pb->algo)
        snprintf(c->algo, sizeof(c->algo), "%s", pb->algo);
    c->depth = pb->depth;
    c->questions_per_round = pb->questions_per_round;
    c->batch = pb->batch;
    c->epochs = pb->epochs;
    c->lr = pb->lr;
    c->seed = pb->seed;
    c->eval_size = pb->eval_size;
    c->curriculum_threshold = pb->curriculum_threshold;
    c->curriculum_window = pb->curriculum_window;
    c->target_sync = pb->target_sync;
    c->lr_schedule = pb->lr_schedule;
    c->schedule_rounds = pb->schedule_rounds;
    c->samples = pb->samples;
    c->warmup = pb->warmup;
    c->entropy_coef = pb->entropy_coef;
    c->value_coef = pb->value_coef;
    c->mix_lambda = pb->mix_lambda;
    c->kl_beta = pb->kl_beta;
}

int iamp_checkpoint_encode(const struct iamp_checkpoint *c, uint8_t **buf, size_t *len)
{
    Iamp__Checkpoint pb = IAMP__CHECKPOINT__INIT;
    Iamp__ModelShape shape = IAMP__MODEL_SHAPE__INIT;
    Iamp__TrainConfig cfg;
    pb.magic = IAMP_CHECKPOINT_MAGIC;
    pb.version = IAMP_CHECKPOINT_VERSION;
    pb.task = (char *)c->task;
    shape.vocab = c->shape.vocab;
    shape.n_types = c->shape.n_types;
    shape.q_len = c->shape.q_len;
    shape.a_len = c->shape.a_len;
    shape.embed = c->shape.embed;
    shape.hidden = c->shape.hidden;
    shape.layers = c->shape.layers;
    pb.shape = &shape;
    pb.params = floats_bytes(c->params, c->n_params);
    pb.has_adam_m = pb.has_adam_v = c->adam_m && c->adam_v;
    if (pb.has_adam_m) {
        pb.adam_m = floats_bytes(c->adam_m, c->n_params);
        pb.adam_v = floats_bytes(c->adam_v, c->n_params);
    }
    pb.has_target_params = c->target != NULL;
    if (c->target)
        pb.target_params = floats_bytes(c->target, c->n_params);
    pb.has_ref_params = c->ref != NULL;
    if (c->ref)
        pb.ref_params = floats_bytes(c->ref, c->n_params);
    pb.has_adam_t = pb.has_round = pb.has_examples = pb.has_seconds = 1;
    pb.adam_t = c->adam_t;
    pb.round = c->round;
    pb.examples = c->examples;
    pb.seconds = c->seconds;
    pb.n_rng = c->has_rng ? 4 : 0;
    pb.rng = (uint64_t *)c->rng;
    pb.has_difficulty = pb.has_rounds_at_level = 1;
    pb.difficulty = c->difficulty;
    pb.rounds_at_level = c->rounds_at_level;
    pb.n_agreement = (size_t)c->n_agreement;
    pb.agreement = (float *)c->agreement;
    if (c->has_config) {
        config_to_pb(&c->config, &cfg);
        pb.config = &cfg;
    }
    if (c->has_reached) {
        pb.has_reached_99_round = pb.has_reached_99_examples = pb.has_reached_99_seconds = 1;
        pb.reached_99_round = c->reached_round;
        pb.reached_99_examples = c->reached_examples;
        pb.reached_99_seconds = c->reached_seconds;
    }
    size_t n = iamp__checkpoint__get_packed_size(&pb);
    *buf = malloc(n ? n : 1);
    if (!*buf)
        return IAMP_ENOMEM;
    *len = iamp__checkpoint__pack(&pb, *buf);
    return 0;
}

static int copy_floats(const ProtobufCBinaryData *b, size_t n, float **out)
{
    if (b->len != n * sizeof(float))
        return IAMP_ECORRUPT;
    *out = malloc(n ? n * sizeof(float) : 1);
    if (!*out)
        return IAMP_ENOMEM;
    memcpy(*out, b->data, n * sizeof(float));
    return 0;
}

static int shape_from_pb(const Iamp__ModelShape *pb, struct iamp_model_shape *s)
{
    s->vocab = pb->vocab;
    s->n_types = pb->n_types;
    s->q_len = pb->q_len;
    s->a_len = pb->a_len;
    s->embed = pb->embed;
    s->hidden = pb->hidden;
    s->layers = pb->layers;
    int ok = s->vocab >= 2 && s->vocab <= 65535 && s->n_types >= 1 && s->n_types <= 64 &&
             s->q_len >= 1 && s->q_len <= IAMP_Q_MAX && s->a_len >= 1 && s->a_len <= IAMP_A_MAX &&
             s->embed >= 1 && s->embed <= 4096 && s->hidden >= 1 && s->hidden <= 65536 &&
             s->layers >= 1 && s->layers <= 8;
    return ok ? 0 : IAMP_ECORRUPT;
}

static int checkpoint_from_pb(const Iamp__Checkpoint *pb, struct iamp_checkpoint *c)
{
    if (pb->magic != IAMP_CHECKPOINT_MAGIC)
        return IAMP_ECORRUPT;
    if (pb->version != IAMP_CHECKPOINT_VERSION)
        return IAMP_EVERSION;
    if (!pb->task || strlen(pb->task) >= sizeof(c->task) || shape_from_pb(pb->shape, &c->shape))
        return IAMP_ECORRUPT;
    strcpy(c->task, pb->task);
    /* The count comes from the bytes; the loader checks it against the
     * model built from the shape. */
    if (pb->params.len == 0 || pb->params.len % sizeof(float))
        return IAMP_ECORRUPT;
    c->n_params = pb->params.len / sizeof(float);
    int rc = copy_floats(&pb->params, c->n_params, &c->params);
    if (!rc && pb->has_adam_m && pb->has_adam_v) {
        rc = copy_floats(&pb->adam_m, c->n_params, &c->adam_m);
        if (!rc)
            rc = copy_floats(&pb->adam_v, c->n_params, &c->adam_v);
    }
    if (!rc && pb->has_target_params)
        rc = copy_floats(&pb->target_params, c->n_params, &c->target);
    if (!rc && pb->has_ref_params)
        rc = copy_floats(&pb->ref_params, c->n_params, &c->ref);
    if (rc)
        return rc;
    c->adam_t = pb->adam_t;
    c->round = pb->round;
    c->examples = pb->examples;
    c->seconds = pb->seconds;
    if (pb->n_rng != 0 && pb->n_rng != 4)
        return IAMP_ECORRUPT;
    c->has_rng = pb->n_rng == 4;
    if (c->has_rng)
        memcpy(c->rng, pb->rng, sizeof(c->rng));
    c->difficulty = pb->difficulty;
    c->rounds_at_level = pb->rounds_at_level;
    if (pb->n_agreement > IAMP_AGREEMENT_MAX)
        return IAMP_ECORRUPT;
    c->n_agreement = (int)pb->n_agreement;
    memcpy(c->agreement, pb->agreement, pb->n_agreement * sizeof(float));
    c->has_config = pb->config != NULL;
    if (pb->config)
        config_from_pb(pb->config, &c->config);
    c->has_reached = pb->has_reached_99_round;
    c->reached_round = pb->reached_99_round;
    c->reached_examples = pb->reached_99_examples;
    c->reached_seconds = pb->reached_99_seconds;
    return 0;
}

int iamp_checkpoint_decode(const uint8_t *buf, size_t len, struct iamp_checkpoint *c)
{
    memset(c, 0, sizeof(*c));
    Iamp__Checkpoint *pb = iamp__checkpoint__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    int rc = checkpoint_from_pb(pb, c);
    iamp__checkpoint__free_unpacked(pb, NULL);
    if (rc)
        iamp_checkpoint_release(c);
    return rc;
}

int iamp_checkpoint_save(const char *path, const struct iamp_checkpoint *c)
{
    uint8_t *payload = NULL, *file = NULL;
    size_t len = 0;
    int rc = iamp_checkpoint_encode(c, &payload, &len);
    if (rc)
        return rc;
    Iamp__CheckpointFile pb = IAMP__CHECKPOINT_FILE__INIT;
    pb.magic = IAMP_CHECKPOINT_MAGIC;
    pb.payload.data = payload;
    pb.payload.len = len;
    pb.crc32c = iamp_crc32c(0, payload, len);
    size_t n = iamp__checkpoint_file__get_packed_size(&pb);
    file = malloc(n);
    if (!file) {
        rc = IAMP_ENOMEM;
    } else {
        n = iamp__checkpoint_file__pack(&pb, file);
        rc = iamp_file_write_atomic(path, file, n);
    }
    free(payload);
    free(file);
    return rc;
}

static int checkpoint_from_file(const uint8_t *buf, size_t len, struct iamp_checkpoint *c)
{
    Iamp__CheckpointFile *pb = iamp__checkpoint_file__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    int rc = 0;
    if (pb->magic != IAMP_CHECKPOINT_MAGIC ||
        pb->crc32c != iamp_crc32c(0, pb->payload.data, pb->payload.len))
        rc = IAMP_ECORRUPT;
    if (!rc)
        rc = iamp_checkpoint_decode(pb->payload.data, pb->payload.len, c);
    iamp__checkpoint_file__free_unpacked(pb, NULL);
    return rc;
}

int iamp_checkpoint_load(const char *path, struct iamp_checkpoint *c)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(c, 0, sizeof(*c));
    int rc = iamp_file_read(path, IAMP_CHECKPOINT_MAX_BYTES, &buf, &len);
    if (rc == IAMP_ELIMIT)
        rc = IAMP_ECORRUPT;
    if (!rc)
        rc = checkpoint_from_file(buf, len, c);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------- work units */

static int question_from_pb(const Iamp__Question *pb, struct iamp_question *q)
{
    memset(q, 0, sizeof(*q));
    if (pb->type > 0xffff || pb->n_tokens > IAMP_Q_MAX)
        return IAMP_ECORRUPT;
    q->type = (uint16_t)pb->type;
    q->len = (uint16_t)pb->n_tokens;
    for (size_t i = 0; i < pb->n_tokens; i++) {
        if (pb->tokens[i] > 0xffff)
            return IAMP_ECORRUPT;
        q->tok[i] = (uint16_t)pb->tokens[i];
    }
    return 0;
}

static int answer_from_pb(const Iamp__Answer *pb, struct iamp_answer *a)
{
    memset(a, 0, sizeof(*a));
    if (pb->n_tokens > IAMP_A_MAX)
        return IAMP_ECORRUPT;
    a->len = (uint16_t)pb->n_tokens;
    for (size_t i = 0; i < pb->n_tokens; i++) {
        if (pb->tokens[i] > 0xffff)
            return IAMP_ECORRUPT;
        a->tok[i] = (uint16_t)pb->tokens[i];
    }
    a->value = pb->has_value ? pb->value : 0.0f;
    return 0;
}

void iamp_work_unit_release(struct iamp_work_unit *u)
{
    if (!u)
        return;
    free(u->qs);
    free(u->depth);
    memset(u, 0, sizeof(*u));
}

int iamp_work_unit_encode(const struct iamp_work_unit *u, uint8_t **buf, size_t *len)
{
    Iamp__WorkUnit pb = IAMP__WORK_UNIT__INIT;
    size_t n = (size_t)u->n;
    Iamp__Question *qpb = calloc(n ? n : 1, sizeof(*qpb));
    Iamp__Question **qptr = calloc(n ? n : 1, sizeof(*qptr));
    uint32_t *toks = calloc(n * IAMP_Q_MAX + 1, sizeof(uint32_t));
    uint32_t *depth = calloc(n ? n : 1, sizeof(uint32_t));
    int rc = IAMP_ENOMEM;
    *buf = NULL;
    if (!qpb || !qptr || !toks || !depth)
        goto out;
    for (size_t i = 0; i < n; i++) {
        iamp__question__init(&qpb[i]);
        qpb[i].has_type = 1;
        qpb[i].type = u->qs[i].type;
        qpb[i].n_tokens = u->qs[i].len;
        qpb[i].tokens = toks + i * IAMP_Q_MAX;
        for (int k = 0; k < u->qs[i].len; k++)
            qpb[i].tokens[k] = u->qs[i].tok[k];
        qptr[i] = &qpb[i];
        depth[i] = (uint32_t)u->depth[i];
    }
    pb.unit_id = u->unit_id;
    pb.n_questions = n;
    pb.questions = qptr;
    pb.n_depth = n;
    pb.depth = depth;
    pb.has_decode = pb.has_temperature = pb.has_rng_seed = 1;
    pb.decode = u->decode;
    pb.temperature = u->temperature;
    pb.rng_seed = u->rng_seed;
    size_t sz = iamp__work_unit__get_packed_size(&pb);
    *buf = malloc(sz ? sz : 1);
    if (!*buf)
        goto out;
    *len = iamp__work_unit__pack(&pb, *buf);
    rc = 0;
out:
    free(qpb);
    free(qptr);
    free(toks);
    free(depth);
    return rc;
}

static int work_unit_from_pb(const Iamp__WorkUnit *pb, int max_questions, struct iamp_work_unit *u)
{
    if (pb->n_questions > (size_t)max_questions || pb->n_depth != pb->n_questions)
        return IAMP_ECORRUPT;
    size_t n = pb->n_questions;
    u->unit_id = pb->unit_id;
    u->n = (int)n;
    u->qs = calloc(n ? n : 1, sizeof(*u->qs));
    u->depth = calloc(n ? n : 1, sizeof(int));
    if (!u->qs || !u->depth)
        return IAMP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (question_from_pb(pb->questions[i], &u->qs[i]) || pb->depth[i] > 64)
            return IAMP_ECORRUPT;
        u->depth[i] = (int)pb->depth[i];
    }
    u->decode = pb->decode;
    u->temperature = pb->temperature;
    u->rng_seed = pb->rng_seed;
    return 0;
}

int iamp_work_unit_decode(const uint8_t *buf, size_t len, int max_questions,
                          struct iamp_work_unit *u)
{
    memset(u, 0, sizeof(*u));
    Iamp__WorkUnit *pb = iamp__work_unit__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    int rc = work_unit_from_pb(pb, max_questions, u);
    iamp__work_unit__free_unpacked(pb, NULL);
    if (rc)
        iamp_work_unit_release(u);
    return rc;
}

int iamp_unit_result_encode(uint64_t unit_id, const struct iamp_answer *as, int n, uint8_t **buf,
                            size_t *len)
{
    Iamp__UnitResult pb = IAMP__UNIT_RESULT__INIT;
    size_t cnt = (size_t)n;
    Iamp__Answer *apb = calloc(cnt ? cnt : 1, sizeof(*apb));
    Iamp__Answer **aptr = calloc(cnt ? cnt : 1, sizeof(*aptr));
    uint32_t *toks = calloc(cnt * IAMP_A_MAX + 1, sizeof(uint32_t));
    int rc = IAMP_ENOMEM;
    *buf = NULL;
    if (!apb || !aptr || !toks)
        goto out;
    for (size_t i = 0; i < cnt; i++) {
        iamp__answer__init(&apb[i]);
        apb[i].n_tokens = as[i].len;
        apb[i].tokens = toks + i * IAMP_A_MAX;
        for (int k = 0; k < as[i].len; k++)
            apb[i].tokens[k] = as[i].tok[k];
        apb[i].has_value = as[i].value != 0.0f;
        apb[i].value = as[i].value;
        aptr[i] = &apb[i];
    }
    pb.unit_id = unit_id;
    pb.n_answers = cnt;
    pb.answers = aptr;
    size_t sz = iamp__unit_result__get_packed_size(&pb);
    *buf = malloc(sz ? sz : 1);
    if (!*buf)
        goto out;
    *len = iamp__unit_result__pack(&pb, *buf);
    rc = 0;
out:
    free(apb);
    free(aptr);
    free(toks);
    return rc;
}

int iamp_unit_result_decode(const uint8_t *buf, size_t len, uint64_t *unit_id,
                            struct iamp_answer *as, int max, int *n)
{
    Iamp__UnitResult *pb = iamp__unit_result__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    int rc = pb->n_answers > (size_t)max ? IAMP_ECORRUPT : 0;
    for (size_t i = 0; !rc && i < pb->n_answers; i++)
        rc = answer_from_pb(pb->answers[i], &as[i]);
    if (!rc) {
        *unit_id = pb->unit_id;
        *n = (int)pb->n_answers;
    }
    iamp__unit_result__free_unpacked(pb, NULL);
    return rc;
}
