/* codec.c — protobuf-c <-> iamp types. See codec.h for the contract.
 *
 * Floats travel as raw little-endian bytes (this code assumes a
 * little-endian host, checked at compile time). Every *__unpack is paired
 * with *__free_unpacked in the same function.
 */
#include "proto/codec.h"

#include "common/crc32c.h"
#include "common/fileio.h"
#include "common/options.h" /* the list's option flags */
#include "iamp.pb-c.h"
#include "proto/pbconv_int.h"

#include <math.h>
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

/* TrainConfig <-> struct iamp_train_config, field by field from the one
 * list (proto/train_config.h). Every field is written but an
 * IAMP_CONFIG_SPARSE one at its `absent` value; a field a checkpoint lacks
 * reads as the list's `absent`. */
#define TO_PB_NUM(f, absent, flags)                                                                \
    pb->has_##f = !((flags)&IAMP_CONFIG_SPARSE) || c->f != (absent);                               \
    pb->f = c->f;
#define TO_PB_U32(f, absent, flags) TO_PB_NUM(f, absent, flags)
#define TO_PB_U64(f, absent, flags) TO_PB_NUM(f, absent, flags)
#define TO_PB_F32(f, absent, flags) TO_PB_NUM(f, absent, flags)
#define TO_PB_CHOICE(f, absent, flags) TO_PB_NUM(f, absent, flags)
#define TO_PB_TEXT(f, absent, flags) pb->f = (char *)c->f;
#define TO_PB(kind, f, def, absent, opt, arg, lo, hi, choices, flags, ...)                         \
    TO_PB_##kind(f, absent, flags)

static void config_to_pb(const struct iamp_train_config *c, Iamp__TrainConfig *pb)
{
    iamp__train_config__init(pb);
    IAMP_TRAIN_CONFIG_FIELDS(TO_PB)
}

#define FROM_PB_NUM(f, absent) c->f = pb->has_##f ? pb->f : (absent);
#define FROM_PB_U32(f, absent) FROM_PB_NUM(f, absent)
#define FROM_PB_U64(f, absent) FROM_PB_NUM(f, absent)
#define FROM_PB_F32(f, absent) FROM_PB_NUM(f, absent)
#define FROM_PB_CHOICE(f, absent) FROM_PB_NUM(f, absent)
#define FROM_PB_TEXT(f, absent) snprintf(c->f, sizeof(c->f), "%s", pb->f ? pb->f : (absent));
#define FROM_PB(kind, f, def, absent, ...) FROM_PB_##kind(f, absent)

static void config_from_pb(const Iamp__TrainConfig *pb, struct iamp_train_config *c)
{
    memset(c, 0, sizeof(*c));
    IAMP_TRAIN_CONFIG_FIELDS(FROM_PB)
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
    shape.has_cont = c->shape.cont != 0;
    shape.cont = c->shape.cont;
    shape.has_pair = c->shape.pair != 0;
    shape.pair = c->shape.pair;
    shape.model = c->shape.model[0] ? (char *)c->shape.model : NULL;
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
    s->cont = pb->has_cont ? pb->cont : 0;
    s->pair = pb->has_pair ? pb->pair : 0;
    s->model[0] = 0;
    if (pb->model) {
        if (strlen(pb->model) >= sizeof(s->model) || !pb->model[0])
            return IAMP_ECORRUPT;
        memcpy(s->model, pb->model, strlen(pb->model) + 1);
        return s->vocab >= 2 && s->vocab <= 65535 && s->n_types >= 1 && s->n_types <= 64 &&
                       s->q_len >= 1 && s->q_len <= IAMP_Q_MAX && s->a_len >= 1 &&
                       s->a_len <= IAMP_A_MAX && s->cont <= 1
                   ? 0
                   : IAMP_ECORRUPT;
    }
    int ok = s->vocab >= 2 && s->vocab <= 65535 && s->n_types >= 1 && s->n_types <= 64 &&
             s->q_len >= 1 && s->q_len <= IAMP_Q_MAX && s->a_len >= 1 && s->a_len <= IAMP_A_MAX &&
             s->embed <= 4096 && s->hidden >= 1 && s->hidden <= 65536 && s->layers >= 1 &&
             s->layers <= 8 && s->cont <= 1 && s->pair <= 1;
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
    if (pb->n_agreement)
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

void iamp_work_unit_release(struct iamp_work_unit *u)
{
    if (!u)
        return;
    free(u->qs);
    free(u->depth);
    free(u->ctx);
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
    struct iamp_pb_contexts cx;
    int rc = IAMP_ENOMEM;
    iamp_pb_contexts_init(&cx);
    *buf = NULL;
    if (!qpb || !qptr || !toks || !depth)
        goto out;
    for (size_t i = 0; i < n; i++) {
        iamp_pb_question_to(&u->qs[i], NULL, &qpb[i], toks + i * IAMP_Q_MAX);
        if (iamp_pb_contexts_add(&cx, u->qs[i].ctx, &qpb[i]))
            goto out;
        qptr[i] = &qpb[i];
        depth[i] = (uint32_t)u->depth[i];
    }
    if (iamp_pb_contexts_finish(&cx))
        goto out;
    pb.n_contexts = (size_t)cx.n;
    pb.contexts = cx.ptr;
    pb.unit_id = u->unit_id;
    pb.n_questions = n;
    pb.questions = qptr;
    pb.n_depth = n;
    pb.depth = depth;
    pb.has_decode = pb.has_temperature = pb.has_rng_seed = 1;
    pb.decode = u->decode;
    pb.temperature = u->temperature;
    pb.rng_seed = u->rng_seed;
    pb.has_pick = pb.has_first_unit = pb.has_version = 1;
    pb.pick = u->pick;
    pb.first_unit = u->first_unit;
    pb.version = u->version;
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
    iamp_pb_contexts_release(&cx);
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
    if (iamp_pb_contexts_from(pb->contexts, pb->n_contexts, &u->ctx))
        return IAMP_ECORRUPT;
    u->n_ctx = (int)pb->n_contexts;
    for (size_t i = 0; i < n; i++) {
        if (iamp_pb_question_from(pb->questions[i], &u->qs[i]) || pb->depth[i] > 64 ||
            iamp_pb_question_context(pb->questions[i], u->ctx, pb->n_contexts, &u->qs[i]))
            return IAMP_ECORRUPT;
        u->depth[i] = (int)pb->depth[i];
    }
    u->decode = pb->decode;
    u->temperature = pb->temperature;
    u->rng_seed = pb->rng_seed;
    u->pick = pb->pick;
    u->first_unit = pb->first_unit;
    u->version = pb->version;
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
        iamp_pb_answer_to(&as[i], NULL, &apb[i], toks + i * IAMP_A_MAX);
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
        rc = iamp_pb_answer_from(pb->answers[i], &as[i]) ? IAMP_ECORRUPT : 0;
    if (!rc) {
        *unit_id = pb->unit_id;
        *n = (int)pb->n_answers;
    }
    iamp__unit_result__free_unpacked(pb, NULL);
    return rc;
}

/* ---------------------------------------------------------- training */

/* Scratch for encoding n questions and answers without per-item mallocs. */
struct qa_pb {
    Iamp__Question *q;
    Iamp__Answer *a;
    uint32_t *qtok, *atok;
};

static int qa_pb_init(struct qa_pb *p, size_t n)
{
    p->q = calloc(n ? n : 1, sizeof(*p->q));
    p->a = calloc(n ? n : 1, sizeof(*p->a));
    p->qtok = calloc(n * IAMP_Q_MAX + 1, sizeof(uint32_t));
    p->atok = calloc(n * IAMP_A_MAX + 1, sizeof(uint32_t));
    return p->q && p->a && p->qtok && p->atok ? 0 : IAMP_ENOMEM;
}

static void qa_pb_release(struct qa_pb *p)
{
    free(p->q);
    free(p->a);
    free(p->qtok);
    free(p->atok);
}

static void qa_pb_set(struct qa_pb *p, size_t i, const struct iamp_question *q,
                      const struct iamp_answer *a)
{
    iamp_pb_question_to(q, NULL, &p->q[i], p->qtok + i * IAMP_Q_MAX);
    iamp_pb_answer_to(a, NULL, &p->a[i], p->atok + i * IAMP_A_MAX);
}

void iamp_train_batch_release(struct iamp_train_batch *b)
{
    if (!b)
        return;
    free(b->ex);
    free(b->first);
    free(b->count);
    free(b->order);
    free(b->ctx);
    memset(b, 0, sizeof(*b));
}

int iamp_train_batch_encode(const struct iamp_train_batch *b, uint8_t **buf, size_t *len)
{
    size_t n = (size_t)b->n;
    struct qa_pb qa;
    Iamp__Example *ex = calloc(n ? n : 1, sizeof(*ex));
    Iamp__Example **exp = calloc(n ? n : 1, sizeof(*exp));
    uint32_t *order = calloc((size_t)b->n_order + 1, sizeof(uint32_t));
    size_t ng = b->first ? (size_t)b->n_questions : 0;
    uint32_t *first = calloc(ng + 1, sizeof(uint32_t)), *count = calloc(ng + 1, sizeof(uint32_t));
    struct iamp_pb_contexts cx;
    iamp_pb_contexts_init(&cx);
    int rc = qa_pb_init(&qa, n);
    *buf = NULL;
    if (rc || !ex || !exp || !order || !first || !count) {
        rc = IAMP_ENOMEM;
        goto out;
    }
    for (size_t q = 0; q < ng; q++) {
        first[q] = (uint32_t)b->first[q];
        count[q] = (uint32_t)b->count[q];
    }
    for (size_t i = 0; i < n; i++) {
        iamp__example__init(&ex[i]);
        qa_pb_set(&qa, i, &b->ex[i].q, &b->ex[i].a);
        if (iamp_pb_contexts_add(&cx, b->ex[i].q.ctx, &qa.q[i])) {
            rc = IAMP_ENOMEM;
            goto out;
        }
        ex[i].question = &qa.q[i];
        ex[i].answer = &qa.a[i];
        ex[i].has_weight = 1;
        ex[i].weight = b->ex[i].weight;
        ex[i].has_value_target = !isnan(b->ex[i].value_target);
        ex[i].value_target = b->ex[i].value_target;
        ex[i].has_entropy_weight = b->ex[i].entropy_weight != 0.0f;
        ex[i].entropy_weight = b->ex[i].entropy_weight;
        ex[i].has_kl_weight = b->ex[i].kl_weight != 0.0f;
        ex[i].kl_weight = b->ex[i].kl_weight;
        ex[i].has_prefix_baseline = b->ex[i].prefix_baseline != 0;
        ex[i].prefix_baseline = b->ex[i].prefix_baseline != 0;
        exp[i] = &ex[i];
    }
    for (int i = 0; i < b->n_order; i++)
        order[i] = (uint32_t)b->order[i];
    Iamp__TrainBatch pb = IAMP__TRAIN_BATCH__INIT;
    pb.n_examples = n;
    pb.examples = exp;
    pb.n_order = (size_t)b->n_order;
    pb.order = order;
    pb.batch = b->batch;
    pb.lr = b->lr;
    pb.has_value_coef = 1;
    pb.value_coef = b->value_coef;
    pb.n_first = pb.n_count = ng;
    pb.first = first;
    pb.count = count;
    if (iamp_pb_contexts_finish(&cx)) {
        rc = IAMP_ENOMEM;
        goto out;
    }
    pb.n_contexts = (size_t)cx.n;
    pb.contexts = cx.ptr;
    size_t sz = iamp__train_batch__get_packed_size(&pb);
    *buf = malloc(sz ? sz : 1);
    if (!*buf) {
        rc = IAMP_ENOMEM;
        goto out;
    }
    *len = iamp__train_batch__pack(&pb, *buf);
out:
    qa_pb_release(&qa);
    iamp_pb_contexts_release(&cx);
    free(ex);
    free(exp);
    free(order);
    free(first);
    free(count);
    return rc;
}

/* Question groups and the question order; checked against the examples. */
static int groups_from_pb(const Iamp__TrainBatch *pb, struct iamp_train_batch *b)
{
    if (pb->n_first != pb->n_count)
        return IAMP_ECORRUPT;
    b->n_questions = pb->n_first ? (int)pb->n_first : b->n;
    if (pb->n_first) {
        b->first = calloc(pb->n_first, sizeof(int));
        b->count = calloc(pb->n_first, sizeof(int));
        if (!b->first || !b->count)
            return IAMP_ENOMEM;
        for (size_t q = 0; q < pb->n_first; q++) {
            if (pb->first[q] > pb->n_examples || pb->count[q] > pb->n_examples - pb->first[q])
                return IAMP_ECORRUPT;
            b->first[q] = (int)pb->first[q];
            b->count[q] = (int)pb->count[q];
        }
    }
    for (size_t i = 0; i < pb->n_order; i++) {
        if (pb->order[i] >= (uint32_t)b->n_questions)
            return IAMP_ECORRUPT;
        b->order[i] = (int)pb->order[i];
    }
    b->batch = pb->batch;
    b->lr = pb->lr;
    b->value_coef = pb->has_value_coef ? pb->value_coef : 0.0f;
    return b->batch >= 1 ? 0 : IAMP_ECORRUPT;
}

static int train_batch_from_pb(const Iamp__TrainBatch *pb, int max_examples,
                               struct iamp_train_batch *b)
{
    if (pb->n_examples > (size_t)max_examples || pb->n_order > 64 * (size_t)max_examples)
        return IAMP_ECORRUPT;
    b->n = (int)pb->n_examples;
    b->n_order = (int)pb->n_order;
    b->ex = calloc(pb->n_examples ? pb->n_examples : 1, sizeof(*b->ex));
    b->order = calloc(pb->n_order ? pb->n_order : 1, sizeof(int));
    if (!b->ex || !b->order)
        return IAMP_ENOMEM;
    if (iamp_pb_contexts_from(pb->contexts, pb->n_contexts, &b->ctx))
        return IAMP_ECORRUPT;
    b->n_ctx = (int)pb->n_contexts;
    for (size_t i = 0; i < pb->n_examples; i++) {
        const Iamp__Example *e = pb->examples[i];
        if (iamp_pb_question_from(e->question, &b->ex[i].q) ||
            iamp_pb_question_context(e->question, b->ctx, pb->n_contexts, &b->ex[i].q) ||
            iamp_pb_answer_from(e->answer, &b->ex[i].a))
            return IAMP_ECORRUPT;
        b->ex[i].weight = e->has_weight ? e->weight : 1.0f;
        b->ex[i].value_target = e->has_value_target ? e->value_target : NAN;
        b->ex[i].entropy_weight = e->has_entropy_weight ? e->entropy_weight : 0.0f;
        b->ex[i].kl_weight = e->has_kl_weight ? e->kl_weight : 0.0f;
        b->ex[i].prefix_baseline = e->has_prefix_baseline && e->prefix_baseline;
    }
    return groups_from_pb(pb, b);
}

int iamp_train_batch_decode(const uint8_t *buf, size_t len, int max_examples,
                            struct iamp_train_batch *b)
{
    memset(b, 0, sizeof(*b));
    Iamp__TrainBatch *pb = iamp__train_batch__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    int rc = train_batch_from_pb(pb, max_examples, b);
    iamp__train_batch__free_unpacked(pb, NULL);
    if (rc)
        iamp_train_batch_release(b);
    return rc;
}

int iamp_fit_report_encode(const struct iamp_fit_report *r, uint8_t **buf, size_t *len)
{
    Iamp__TrainStats pb = IAMP__TRAIN_STATS__INIT;
    pb.has_loss = pb.has_policy_loss = pb.has_value_loss = pb.has_rows = 1;
    pb.loss = r->loss;
    pb.policy_loss = r->policy_loss;
    pb.value_loss = r->value_loss;
    pb.rows = r->rows;
    pb.has_backward_s = pb.has_allreduce_wait_s = pb.has_allreduce_s = pb.has_optimizer_s = 1;
    pb.backward_s = r->backward_s;
    pb.allreduce_wait_s = r->allreduce_wait_s;
    pb.allreduce_s = r->allreduce_s;
    pb.optimizer_s = r->optimizer_s;
    size_t sz = iamp__train_stats__get_packed_size(&pb);
    *buf = malloc(sz ? sz : 1);
    if (!*buf)
        return IAMP_ENOMEM;
    *len = iamp__train_stats__pack(&pb, *buf);
    return 0;
}

int iamp_fit_report_decode(const uint8_t *buf, size_t len, struct iamp_fit_report *r)
{
    Iamp__TrainStats *pb = iamp__train_stats__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    *r = (struct iamp_fit_report){pb->loss,        pb->policy_loss, pb->value_loss,
                                  pb->rows,        pb->backward_s,  pb->allreduce_wait_s,
                                  pb->allreduce_s, pb->optimizer_s};
    iamp__train_stats__free_unpacked(pb, NULL);
    return 0;
}
