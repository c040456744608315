/* test_codec.c — every message the codec handles round-trips (every
 * training setting of the one list in proto/train_config.h included), and
 * bad bytes are refused with the right code rather than trusted. */
#include "proto/codec.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Every training setting (the one list, proto/train_config.h) gets a value
 * of its own, none of them a default or an `absent` value. */
#define FILL_U32(f) c->f = (uint32_t)(1000 + 7 * ++k);
#define FILL_CHOICE(f) FILL_U32(f)
#define FILL_U64(f) c->f = ((uint64_t)++k << 40) | 0xabcdef;
#define FILL_F32(f) c->f = 0.125f * (float)++k + 3.0f;
#define FILL_TEXT(f) snprintf(c->f, sizeof(c->f), "text of field %d", ++k);
#define FILL(kind, f, ...) FILL_##kind(f)
static void fill_config(struct iamp_train_config *c)
{
    int k = 0;
    IAMP_TRAIN_CONFIG_FIELDS(FILL)
}

#define SAME_NUM(f) cr_assert_eq(a->f, b->f, "config field " #f);
#define SAME_U32(f) SAME_NUM(f)
#define SAME_CHOICE(f) SAME_NUM(f)
#define SAME_U64(f) SAME_NUM(f)
#define SAME_F32(f) SAME_NUM(f)
#define SAME_TEXT(f) cr_assert_str_eq(a->f, b->f, "config field " #f);
#define SAME(kind, f, ...) SAME_##kind(f)
static void assert_same_config(const struct iamp_train_config *a, const struct iamp_train_config *b)
{
    IAMP_TRAIN_CONFIG_FIELDS(SAME)
}

static void fill_checkpoint(struct iamp_checkpoint *c, size_t n)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->task, sizeof(c->task), "permpow:n=64,seed=7,kmax=63");
    c->shape = (struct iamp_model_shape){127, 1, 2, 1, 32, 256, 2, 0, 0, ""};
    c->n_params = n;
    c->params = malloc(n * sizeof(float));
    c->adam_m = malloc(n * sizeof(float));
    c->adam_v = malloc(n * sizeof(float));
    c->target = malloc(n * sizeof(float));
    c->ref = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        c->ref[i] = (float)i * 0.25f;
        c->params[i] = (float)i * 0.5f - 3.0f;
        c->adam_m[i] = (float)i * 1e-3f;
        c->adam_v[i] = (float)i * 1e-6f;
        c->target[i] = -(float)i;
    }
    c->adam_t = 77;
    c->round = 12;
    c->examples = 3072;
    c->seconds = 4.25;
    c->has_rng = 1;
    for (int i = 0; i < 4; i++)
        c->rng[i] = 0x0123456789abcdefULL * (uint64_t)(i + 1);
    c->difficulty = 4;
    c->rounds_at_level = 3;
    c->n_agreement = 3;
    c->agreement[0] = 0.5f;
    c->agreement[1] = 0.75f;
    c->agreement[2] = 0.875f;
    c->has_config = 1;
    fill_config(&c->config);
    c->has_reached = 1;
    c->reached_round = 10;
    c->reached_examples = 2560;
    c->reached_seconds = 3.5;
}

static void assert_same(const struct iamp_checkpoint *a, const struct iamp_checkpoint *b)
{
    cr_assert_str_eq(a->task, b->task);
    cr_assert_eq(memcmp(&a->shape, &b->shape, sizeof(a->shape)), 0);
    cr_assert_eq(a->n_params, b->n_params);
    size_t bytes = a->n_params * sizeof(float);
    cr_assert_eq(memcmp(a->params, b->params, bytes), 0);
    cr_assert_eq(memcmp(a->adam_m, b->adam_m, bytes), 0);
    cr_assert_eq(memcmp(a->adam_v, b->adam_v, bytes), 0);
    cr_assert_eq(memcmp(a->target, b->target, bytes), 0);
    cr_assert_eq(memcmp(a->ref, b->ref, bytes), 0);
    cr_assert_eq(a->adam_t, b->adam_t);
    cr_assert_eq(a->round, b->round);
    cr_assert_eq(a->examples, b->examples);
    cr_assert_eq(a->seconds, b->seconds);
    cr_assert_eq(memcmp(a->rng, b->rng, sizeof(a->rng)), 0);
    cr_assert_eq(a->difficulty, b->difficulty);
    cr_assert_eq(a->n_agreement, b->n_agreement);
    cr_assert_eq(memcmp(a->agreement, b->agreement, 3 * sizeof(float)), 0);
    cr_assert_eq(a->has_config, b->has_config);
    assert_same_config(&a->config, &b->config);
    cr_assert_eq(a->reached_round, b->reached_round);
}

Test(codec, checkpoint_round_trips, .timeout = 10)
{
    struct iamp_checkpoint a, b;
    fill_checkpoint(&a, 1000);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_checkpoint_encode(&a, &buf, &len), 0);
    cr_assert_eq(iamp_checkpoint_decode(buf, len, &b), 0);
    assert_same(&a, &b);
    free(buf);
    iamp_checkpoint_release(&a);
    iamp_checkpoint_release(&b);
}

/* A sparse setting (IAMP_CONFIG_SPARSE: overseer_error) at its absent
 * value is not written, so a run without it writes the bytes it wrote
 * before the setting existed; set, it is one float field more (a 2-byte
 * tag, field 21, and 4 bytes) and reads back. */
Test(codec, a_sparse_setting_is_written_only_when_set, .timeout = 10)
{
    struct iamp_checkpoint a, b;
    fill_checkpoint(&a, 100);
    uint8_t *off, *on;
    size_t n_off, n_on;
    a.config.overseer_error = 0.0f;
    cr_assert_eq(iamp_checkpoint_encode(&a, &off, &n_off), 0);
    cr_assert_eq(iamp_checkpoint_decode(off, n_off, &b), 0);
    cr_assert_eq(b.config.overseer_error, 0.0f);
    iamp_checkpoint_release(&b);
    a.config.overseer_error = 0.25f;
    cr_assert_eq(iamp_checkpoint_encode(&a, &on, &n_on), 0);
    cr_assert_eq(n_on, n_off + 6, "%zu bytes with it, %zu without", n_on, n_off);
    cr_assert_eq(iamp_checkpoint_decode(on, n_on, &b), 0);
    cr_assert_eq(b.config.overseer_error, 0.25f);
    free(off);
    free(on);
    iamp_checkpoint_release(&a);
    iamp_checkpoint_release(&b);
}

Test(codec, checkpoint_rejects_truncation_garbage_and_versions, .timeout = 10)
{
    struct iamp_checkpoint a, b;
    fill_checkpoint(&a, 100);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_checkpoint_encode(&a, &buf, &len), 0);
    /* The bare message only fails where a required field is cut; files
     * carry a CRC for the rest (checkpoint_file_detects_every_truncation). */
    cr_assert_neq(iamp_checkpoint_decode(buf, 10, &b), 0);
    uint8_t garbage[64];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (uint8_t)(i * 37 + 11);
    cr_assert_eq(iamp_checkpoint_decode(garbage, sizeof(garbage), &b), IAMP_ECORRUPT);
    free(buf);
    iamp_checkpoint_release(&a);
}

Test(codec, checkpoint_file_save_load_and_errors, .timeout = 10)
{
    char dir[] = "/tmp/iamp_codec_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], junk[256];
    snprintf(path, sizeof(path), "%s/ck.pb", dir);
    snprintf(junk, sizeof(junk), "%s/junk.pb", dir);
    struct iamp_checkpoint a, b;
    fill_checkpoint(&a, 500);
    cr_assert_eq(iamp_checkpoint_save(path, &a), 0);
    cr_assert_eq(iamp_checkpoint_load(path, &b), 0);
    assert_same(&a, &b);
    iamp_checkpoint_release(&b);
    cr_assert_eq(iamp_checkpoint_load("/nonexistent/ck.pb", &b), IAMP_ENOENT);
    FILE *f = fopen(junk, "w");
    fputs("this is not a checkpoint", f);
    fclose(f);
    cr_assert_eq(iamp_checkpoint_load(junk, &b), IAMP_ECORRUPT);
    /* Truncated copy of a real checkpoint. */
    cr_assert_eq(truncate(path, 1000), 0);
    cr_assert_neq(iamp_checkpoint_load(path, &b), 0);
    iamp_checkpoint_release(&a);
    unlink(path);
    unlink(junk);
    rmdir(dir);
}

Test(codec, checkpoint_file_detects_every_truncation_and_flipped_byte, .timeout = 30)
{
    char dir[] = "/tmp/iamp_codec_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[256], cut_path[256];
    snprintf(path, sizeof(path), "%s/ck.pb", dir);
    snprintf(cut_path, sizeof(cut_path), "%s/cut.pb", dir);
    struct iamp_checkpoint a, b;
    fill_checkpoint(&a, 64);
    cr_assert_eq(iamp_checkpoint_save(path, &a), 0);
    FILE *f = fopen(path, "rb");
    uint8_t buf[4096];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    cr_assert_lt(len, sizeof(buf));
    for (size_t cut = 0; cut < len; cut++) {
        f = fopen(cut_path, "wb");
        fwrite(buf, 1, cut, f);
        fclose(f);
        cr_assert_neq(iamp_checkpoint_load(cut_path, &b), 0, "accepted %zu of %zu bytes", cut, len);
    }
    for (size_t i = 0; i < len; i += 7) {
        buf[i] ^= 0x10;
        f = fopen(cut_path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
        buf[i] ^= 0x10;
        cr_assert_neq(iamp_checkpoint_load(cut_path, &b), 0, "accepted a flip at byte %zu", i);
    }
    iamp_checkpoint_release(&a);
    unlink(path);
    unlink(cut_path);
    rmdir(dir);
}

Test(codec, hand_built_bad_headers_are_refused, .timeout = 10)
{
    /* Hand-built Checkpoint bytes: magic (fixed32, field 1), version (2). */
    uint8_t wrong_version[] = {0x0d, 0x49, 0x41, 0x4d, 0x50, 0x10, 0x09};
    uint8_t wrong_magic[] = {0x0d, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01};
    struct iamp_checkpoint c;
    /* Required fields are missing too; protobuf-c refuses both outright,
     * so decode reports them as corrupt. */
    cr_assert_neq(iamp_checkpoint_decode(wrong_version, sizeof(wrong_version), &c), 0);
    cr_assert_eq(iamp_checkpoint_decode(wrong_magic, sizeof(wrong_magic), &c), IAMP_ECORRUPT);
}

Test(codec, work_unit_and_result_round_trip, .timeout = 10)
{
    struct iamp_question qs[3] = {
        {.type = 0, .len = 2, .tok = {5, 100}},
        {.type = 2, .len = 16, .tok = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 65535}},
        {.type = 1, .len = 0},
    };
    int depth[3] = {0, 2, 5};
    struct iamp_work_unit u = {.unit_id = 42,
                               .n = 3,
                               .qs = qs,
                               .depth = depth,
                               .decode = 1,
                               .temperature = 0.7f,
                               .rng_seed = 1234};
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_work_unit_encode(&u, &buf, &len), 0);
    struct iamp_work_unit v;
    cr_assert_eq(iamp_work_unit_decode(buf, len, 16, &v), 0);
    cr_assert_eq(v.unit_id, 42);
    cr_assert_eq(v.n, 3);
    cr_assert_eq(memcmp(v.qs, qs, sizeof(qs)), 0);
    cr_assert_eq(memcmp(v.depth, depth, sizeof(depth)), 0);
    cr_assert_eq(v.temperature, 0.7f);
    cr_assert_eq(v.rng_seed, 1234);
    iamp_work_unit_release(&v);
    cr_assert_eq(iamp_work_unit_decode(buf, len, 2, &v), IAMP_ECORRUPT, "over the limit");
    free(buf);

    struct iamp_answer as[2] = {{.len = 1, .tok = {9}},
                                {.len = 3, .tok = {1, 2, 3}, .value = 0.25f}};
    cr_assert_eq(iamp_unit_result_encode(7, as, 2, &buf, &len), 0);
    struct iamp_answer back[4];
    uint64_t id;
    int n;
    cr_assert_eq(iamp_unit_result_decode(buf, len, &id, back, 4, &n), 0);
    cr_assert_eq(id, 7);
    cr_assert_eq(n, 2);
    cr_assert(back[0].len == 1 && back[0].tok[0] == 9 && back[0].value == 0.0f);
    cr_assert(back[1].len == 3 && back[1].tok[2] == 3 && back[1].value == 0.25f);
    cr_assert_eq(iamp_unit_result_decode(buf, len, &id, back, 1, &n), IAMP_ECORRUPT);
    free(buf);
}

Test(codec, frame_length_is_big_endian, .timeout = 10)
{
    uint8_t b[4];
    iamp_frame_put_len(b, 0x01020304u);
    cr_assert(b[0] == 1 && b[1] == 2 && b[2] == 3 && b[3] == 4);
    cr_assert_eq(iamp_frame_get_len(b), 0x01020304u);
}

/* A model-shape flag round-trips as 1 and as 0 (absent on the wire, as in
 * checkpoints from before the field), and a checkpoint with 2 or more is
 * refused. `flag` points into a's shape. */
static void check_shape_flag(struct iamp_checkpoint *a, uint32_t *flag, const char *name)
{
    struct iamp_checkpoint b;
    uint8_t *buf;
    size_t len;
    for (uint32_t v = 0; v <= 2; v++) {
        *flag = v;
        cr_assert_eq(iamp_checkpoint_encode(a, &buf, &len), 0);
        int rc = iamp_checkpoint_decode(buf, len, &b);
        free(buf);
        if (v == 2) {
            cr_assert_eq(rc, IAMP_ECORRUPT, "%s = 2 is refused", name);
            continue;
        }
        cr_assert_eq(rc, 0);
        assert_same(a, &b); /* the whole shape, the flag included */
        iamp_checkpoint_release(&b);
    }
    *flag = 0;
}

Test(codec, model_shape_carries_the_continuous_head_and_the_pair_slot, .timeout = 10)
{
    struct iamp_checkpoint a;
    fill_checkpoint(&a, 10);
    check_shape_flag(&a, &a.shape.cont, "cont");
    check_shape_flag(&a, &a.shape.pair, "pair");
    iamp_checkpoint_release(&a);
}

/* embed 0 (one-hot inputs) is a shape of its own; a width over 4096 is not. */
Test(codec, model_shape_with_one_hot_inputs_round_trips, .timeout = 10)
{
    struct iamp_checkpoint a, b;
    uint8_t *buf;
    size_t len;
    fill_checkpoint(&a, 10);
    a.shape.embed = 0;
    cr_assert_eq(iamp_checkpoint_encode(&a, &buf, &len), 0);
    cr_assert_eq(iamp_checkpoint_decode(buf, len, &b), 0);
    cr_assert_eq(b.shape.embed, 0);
    assert_same(&a, &b);
    free(buf);
    iamp_checkpoint_release(&b);
    a.shape.embed = 5000;
    cr_assert_eq(iamp_checkpoint_encode(&a, &buf, &len), 0);
    cr_assert_neq(iamp_checkpoint_decode(buf, len, &b), 0, "embed 5000 is refused");
    free(buf);
    iamp_checkpoint_release(&a);
}

Test(codec, train_batch_round_trips_every_example_field, .timeout = 10)
{
    struct iamp_example ex[3];
    memset(ex, 0, sizeof(ex));
    for (int i = 0; i < 3; i++) {
        ex[i].q = (struct iamp_question){.type = 1, .len = 2, .tok = {(uint16_t)i, 7}};
        ex[i].weight = 0.5f * (float)i - 0.25f;
        ex[i].value_target = i == 1 ? NAN : 0.75f;
        ex[i].entropy_weight = 0.01f * (float)i;
        ex[i].kl_weight = 0.1f * (float)i;
    }
    ex[0].a = (struct iamp_answer){.len = 3, .tok = {4, 5, 9}}; /* a sequence */
    ex[1].a = (struct iamp_answer){.len = 0, .value = 0.3125f}; /* continuous */
    ex[2].a = (struct iamp_answer){.len = 1, .tok = {2}};
    ex[0].prefix_baseline = 1;
    int order[4] = {2, 0, 1, 0};
    struct iamp_train_batch b = {3, ex, 3, NULL, NULL, 4, order, 2, 1e-3f, 0.5f, NULL, 0}, back;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_train_batch_encode(&b, &buf, &len), 0);
    cr_assert_eq(iamp_train_batch_decode(buf, len, 10, &back), 0);
    cr_assert_eq(back.n, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(memcmp(&back.ex[i].q, &ex[i].q, sizeof(ex[i].q)), 0);
        cr_assert(back.ex[i].a.len == ex[i].a.len && back.ex[i].a.value == ex[i].a.value);
        cr_assert_eq(memcmp(back.ex[i].a.tok, ex[i].a.tok, ex[i].a.len * sizeof(uint16_t)), 0);
        cr_assert_eq(back.ex[i].weight, ex[i].weight);
        cr_assert(isnan(ex[i].value_target) ? isnan(back.ex[i].value_target)
                                            : back.ex[i].value_target == ex[i].value_target);
        cr_assert_eq(back.ex[i].entropy_weight, ex[i].entropy_weight);
        cr_assert_eq(back.ex[i].kl_weight, ex[i].kl_weight);
        cr_assert_eq(back.ex[i].prefix_baseline, ex[i].prefix_baseline, "example %d", i);
    }
    cr_assert_eq(memcmp(back.order, order, sizeof(order)), 0);
    free(buf);
    iamp_train_batch_release(&back);
}

/* Contexts travel once per message: questions that share one instance
 * come back sharing one decoded copy, equal fact by fact. */
static void check_contexts(const struct iamp_question *in, const struct iamp_question *out, int n,
                           int want_ctx, int got_ctx)
{
    cr_assert_eq(got_ctx, want_ctx, "each distinct context sent once");
    for (int i = 0; i < n; i++) {
        cr_assert_eq(in[i].ctx == NULL, out[i].ctx == NULL);
        if (!in[i].ctx)
            continue;
        cr_assert_eq(out[i].ctx->n_facts, in[i].ctx->n_facts);
        cr_assert_eq(out[i].ctx->fact_len, in[i].ctx->fact_len);
        cr_assert_eq(memcmp(out[i].ctx->tok, in[i].ctx->tok, sizeof(in[i].ctx->tok)), 0);
        for (int j = 0; j < n; j++)
            cr_assert_eq(in[i].ctx == in[j].ctx, out[i].ctx == out[j].ctx);
    }
}

Test(codec, work_units_and_train_batches_send_each_context_once, .timeout = 10)
{
    static struct iamp_context c[2] = {
        {.n_facts = 3, .fact_len = 2, .tok = {{0, 1}, {1, 2}, {2, 0}}},
        {.n_facts = 2, .fact_len = 2, .tok = {{4, 5}, {5, 4}}},
    };
    struct iamp_question qs[5];
    const struct iamp_context *which[5] = {&c[0], &c[0], NULL, &c[1], &c[0]};
    for (int i = 0; i < 5; i++)
        qs[i] =
            (struct iamp_question){.type = 0, .len = 2, .tok = {(uint16_t)i, 7}, .ctx = which[i]};
    int depth[5] = {1, 1, 1, 1, 1};
    struct iamp_work_unit u = {.unit_id = 1, .n = 5, .qs = qs, .depth = depth}, v;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_work_unit_encode(&u, &buf, &len), 0);
    cr_assert_eq(iamp_work_unit_decode(buf, len, 16, &v), 0);
    check_contexts(qs, v.qs, 5, 2, v.n_ctx);
    iamp_work_unit_release(&v);
    free(buf);

    struct iamp_example ex[5];
    memset(ex, 0, sizeof(ex));
    int order[5] = {0, 1, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        ex[i].q = qs[i];
        ex[i].a = (struct iamp_answer){.len = 1, .tok = {3}};
        ex[i].weight = 1.0f;
        ex[i].value_target = NAN;
    }
    struct iamp_train_batch b = {.n = 5,
                                 .ex = ex,
                                 .n_questions = 5,
                                 .n_order = 5,
                                 .order = order,
                                 .batch = 2,
                                 .lr = 1e-3f},
                            back;
    cr_assert_eq(iamp_train_batch_encode(&b, &buf, &len), 0);
    cr_assert_eq(iamp_train_batch_decode(buf, len, 10, &back), 0);
    struct iamp_question got[5];
    for (int i = 0; i < 5; i++)
        got[i] = back.ex[i].q;
    check_contexts(qs, got, 5, 2, back.n_ctx);
    iamp_train_batch_release(&back);
    free(buf);
}

Test(codec, a_question_naming_a_missing_context_is_refused, .timeout = 10)
{
    static struct iamp_context c = {.n_facts = 1, .fact_len = 2, .tok = {{0, 0}}};
    struct iamp_question q = {.type = 0, .len = 2, .tok = {0, 7}, .ctx = &c};
    int depth = 1;
    struct iamp_work_unit u = {.unit_id = 1, .n = 1, .qs = &q, .depth = &depth}, v;
    uint8_t *buf;
    size_t len;
    cr_assert_eq(iamp_work_unit_encode(&u, &buf, &len), 0);
    /* The unit ends with its contexts (field 10): drop them, the question's
     * index then names nothing. */
    size_t cut = len;
    for (size_t i = 0; i + 1 < len; i++)
        if (buf[i] == (10 << 3 | 2) && i + 2 + buf[i + 1] == len)
            cut = i;
    cr_assert_lt(cut, len, "found the contexts field");
    cr_assert_eq(iamp_work_unit_decode(buf, cut, 16, &v), IAMP_ECORRUPT);
    free(buf);
}
