/* test_policy.c — decoding and losses: sampling frequencies follow the
 * softmax (chi-square), greedy is the argmax, log-probabilities of
 * multi-token answers add up, the cross-entropy gradient is softmax -
 * onehot inside the answer range and zero outside, and the entropy and KL
 * terms have exact values and finite-difference gradients. */
#include "worker/model/mlp.h"
#include "worker/policy.h"

#include "worker/model/contdist.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

/* A minimal task whose answers are two tokens in [2, 8). */
static void two_tok_space(const struct iamp_task *t, const struct iamp_question *q,
                          struct iamp_answer_space *s)
{
    (void)t;
    (void)q;
    s->lo = 2;
    s->hi = 8;
    s->max_len = 2;
    s->end_tok = -1;
}

static const struct iamp_task_ops fake_ops = {.name = "fake", .answer_space = two_tok_space};

static void make_model(struct iamp_model *m, struct iamp_task *t, int a_len)
{
    struct iamp_model_config c = {.vocab = 10,
                                  .n_types = 1,
                                  .q_len = 2,
                                  .a_len = a_len,
                                  .embed = 4,
                                  .hidden = 16,
                                  .layers = 2};
    struct iamp_rng r;
    iamp_rng_seed(&r, 3, 0);
    cr_assert_eq(iamp_model_init(m, &c), 0);
    iamp_model_reset(m, &r);
    memset(t, 0, sizeof(*t));
    t->ops = &fake_ops;
    t->vocab = 10;
    t->n_types = 1;
    t->q_len = 2;
    t->a_len = a_len;
}

static double chi_square_first_token(struct iamp_model *m, struct iamp_task *t, float temp,
                                     int draws)
{
    struct iamp_question q = {.type = 0, .len = 2, .tok = {1, 3}};
    int32_t in[16];
    iamp_model_row(m, 0, q.tok, 2, NULL, 0, -1, in);
    cr_assert_eq(iamp_model_forward(m, in, 1), 0);
    float logits[10], p[10];
    memcpy(logits, m->logits, sizeof(logits));
    iamp_softmax_range(logits, 2, 8, temp, p);
    static struct iamp_question qs[20000];
    static struct iamp_answer as[20000];
    for (int i = 0; i < draws; i++)
        qs[i] = q;
    struct iamp_rng r;
    iamp_rng_seed(&r, 99, 0);
    cr_assert_eq(iamp_policy_answer(m, t, qs, draws, IAMP_DECODE_SAMPLE, temp, &r, as), 0);
    long count[10] = {0};
    for (int i = 0; i < draws; i++) {
        cr_assert_eq(as[i].len, 2);
        cr_assert(as[i].tok[0] >= 2 && as[i].tok[0] < 8, "token outside the answer range");
        count[as[i].tok[0]]++;
    }
    double chi = 0.0;
    for (int v = 2; v < 8; v++) {
        double e = draws * (double)p[v];
        chi += (count[v] - e) * (count[v] - e) / e;
    }
    return chi;
}

/* chi-square critical value for 5 degrees of freedom at p = 0.001. */
#define CHI2_DF5_P001 20.515

Test(policy, sampling_frequencies_match_softmax, .timeout = 30)
{
    struct iamp_model m;
    struct iamp_task t;
    make_model(&m, &t, 2);
    double chi = chi_square_first_token(&m, &t, 1.0f, 20000);
    cr_assert_lt(chi, CHI2_DF5_P001, "chi-square %.2f", chi);
    chi = chi_square_first_token(&m, &t, 0.5f, 20000);
    cr_assert_lt(chi, CHI2_DF5_P001, "chi-square at T=0.5: %.2f", chi);
    iamp_model_release(&m);
}

Test(policy, chi_square_detects_a_wrong_temperature, .timeout = 30)
{
    /* The statistic above can fail: samples at T=2 are judged against the
     * T=1 softmax here and must be rejected. */
    struct iamp_model m;
    struct iamp_task t;
    make_model(&m, &t, 2);
    for (size_t i = IAMP_MLP(&m)->lay.wo; i < IAMP_MLP(&m)->lay.wo + 10 * 16; i++)
        m.params[i] *= 8.0f; /* sharpen the softmax so temperature matters */
    struct iamp_question q = {.type = 0, .len = 2, .tok = {1, 3}};
    int32_t in[16];
    iamp_model_row(&m, 0, q.tok, 2, NULL, 0, -1, in);
    cr_assert_eq(iamp_model_forward(&m, in, 1), 0);
    float p1[10];
    iamp_softmax_range(m.logits, 2, 8, 1.0f, p1);
    static struct iamp_question qs[20000];
    static struct iamp_answer as[20000];
    for (int i = 0; i < 20000; i++)
        qs[i] = q;
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    cr_assert_eq(iamp_policy_answer(&m, &t, qs, 20000, IAMP_DECODE_SAMPLE, 2.0f, &r, as), 0);
    long count[10] = {0};
    for (int i = 0; i < 20000; i++)
        count[as[i].tok[0]]++;
    double chi = 0.0;
    for (int v = 2; v < 8; v++) {
        double e = 20000.0 * p1[v];
        chi += (count[v] - e) * (count[v] - e) / e;
    }
    cr_assert_gt(chi, CHI2_DF5_P001, "chi-square %.2f should reject", chi);
    iamp_model_release(&m);
}

Test(policy, greedy_is_argmax_within_range, .timeout = 10)
{
    struct iamp_model m;
    struct iamp_task t;
    make_model(&m, &t, 1);
    struct iamp_question q = {.type = 0, .len = 2, .tok = {4, 5}};
    struct iamp_answer a;
    t.a_len = 1;
    cr_assert_eq(iamp_policy_answer(&m, &t, &q, 1, IAMP_DECODE_GREEDY, 1.0f, NULL, &a), 0);
    int32_t in[16];
    iamp_model_row(&m, 0, q.tok, 2, NULL, 0, -1, in);
    cr_assert_eq(iamp_model_forward(&m, in, 1), 0);
    int best = 2;
    for (int v = 3; v < 8; v++)
        if (m.logits[v] > m.logits[best])
            best = v;
    cr_assert_eq(a.tok[0], best);
    iamp_model_release(&m);
}

Test(policy, logprob_of_two_tokens_is_sum_of_steps, .timeout = 10)
{
    struct iamp_model m;
    struct iamp_task t;
    make_model(&m, &t, 2);
    struct iamp_question q = {.type = 0, .len = 2, .tok = {1, 2}};
    struct iamp_answer a = {.len = 2, .tok = {3, 6}};
    double lp;
    cr_assert_eq(iamp_policy_logprob(&m, &t, &q, &a, 1, &lp), 0);
    double want = 0.0;
    for (int step = 0; step < 2; step++) {
        int32_t in[16];
        float p[10];
        iamp_model_row(&m, 0, q.tok, 2, a.tok, step, -1, in);
        cr_assert_eq(iamp_model_forward(&m, in, 1), 0);
        iamp_softmax_range(m.logits, 2, 8, 1.0f, p);
        want += log(p[a.tok[step]]);
    }
    cr_assert_float_eq(lp, want, 1e-5);
    iamp_model_release(&m);
}

Test(policy, xent_gradient_is_softmax_minus_onehot_in_range, .timeout = 10)
{
    struct iamp_model m;
    struct iamp_task t;
    make_model(&m, &t, 1);
    struct iamp_question q = {.type = 0, .len = 2, .tok = {1, 2}};
    struct iamp_answer a = {.len = 1, .tok = {5}};
    struct iamp_rows rows;
    iamp_rows_init(&rows);
    t.a_len = 1;
    cr_assert_eq(iamp_rows_teacher(&rows, &m, &t, &q, &a, 1), 0);
    cr_assert_eq(rows.n, 1);
    cr_assert_eq(iamp_model_forward(&m, rows.in, 1), 0);
    float d[10], p[10];
    double loss = iamp_loss_xent(&m, &rows, NULL, 0.5f, d);
    iamp_softmax_range(m.logits, 2, 8, 1.0f, p);
    cr_assert_float_eq(loss, -0.5 * log(p[5]), 1e-5);
    for (int v = 0; v < 10; v++) {
        double want = (v >= 2 && v < 8) ? 0.5 * (p[v] - (v == 5)) : 0.0;
        cr_assert_float_eq(d[v], want, 1e-6, "token %d", v);
    }
    iamp_rows_release(&rows);
    iamp_model_release(&m);
}

/* Rows over a fake model whose logits are set by hand. */
struct reg_fixture {
    struct iamp_model m;
    struct iamp_rows rows;
    float logits[3 * 10], ref[3 * 10], ent_w[3], kl_w[3];
};

static void reg_setup(struct reg_fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->m.cfg.vocab = 10;
    f->m.logits = f->logits;
    static uint16_t lo[3] = {2, 0, 5}, hi[3] = {8, 10, 7};
    static int32_t example[3] = {0, 0, 1};
    f->rows.n = 3;
    f->rows.lo = lo;
    f->rows.hi = hi;
    f->rows.example = example;
    struct iamp_rng r;
    iamp_rng_seed(&r, 17, 0);
    for (int i = 0; i < 30; i++) {
        f->logits[i] = (float)(2.0 * iamp_rng_normal(&r));
        f->ref[i] = (float)(2.0 * iamp_rng_normal(&r));
    }
    float ew[3] = {0.3f, 0.0f, 1.5f}, kw[3] = {0.7f, 2.0f, 0.0f};
    memcpy(f->ent_w, ew, sizeof(ew));
    memcpy(f->kl_w, kw, sizeof(kw));
}

static double reg_loss(struct reg_fixture *f, float *d)
{
    float scratch[30] = {0};
    double loss = 0.0;
    cr_assert_eq(iamp_loss_entropy_kl(&f->m, &f->rows, f->ref, f->ent_w, f->kl_w, 0.5f,
                                      d ? d : scratch, &loss),
                 0);
    return loss;
}

Test(policy, entropy_and_kl_gradients_match_finite_differences, .timeout = 10)
{
    struct reg_fixture f;
    reg_setup(&f);
    float d[30] = {0};
    reg_loss(&f, d);
    for (int i = 0; i < 30; i++) {
        float keep = f.logits[i];
        const float eps = 1e-3f;
        f.logits[i] = keep + eps;
        double lp = reg_loss(&f, NULL);
        f.logits[i] = keep - eps;
        double lm = reg_loss(&f, NULL);
        f.logits[i] = keep;
        double num = (lp - lm) / (2.0 * eps);
        cr_assert(fabs(num - d[i]) < 1e-3 + 1e-2 * fabs(num), "logit %d: analytic %g numeric %g", i,
                  d[i], num);
        int r = i / 10, v = i % 10;
        if (v < f.rows.lo[r] || v >= f.rows.hi[r])
            cr_assert_eq(d[i], 0.0f, "no gradient outside the range");
    }
}

Test(policy, entropy_and_kl_values_are_exact, .timeout = 10)
{
    struct reg_fixture f;
    reg_setup(&f);
    /* Uniform logits: entropy log(range); equal to the reference: KL 0. */
    for (int i = 0; i < 30; i++)
        f.logits[i] = f.ref[i] = 1.0f;
    double want = -0.5 * (0.3 * log(6.0) + 1.5 * log(2.0));
    double got = reg_loss(&f, NULL);
    cr_assert_float_eq(got, want, 1e-6, "got %.12g want %.12g", got, want);
    /* KL of a two-point row to uniform: p log 2p + (1-p) log 2(1-p). */
    f.ent_w[0] = f.ent_w[2] = 0.0f;
    f.kl_w[2] = 1.0f; /* row 2 covers tokens 5, 6 */
    f.kl_w[0] = f.kl_w[1] = 0.0f;
    double p = 1.0 / (1.0 + exp(1.0));
    double kl = p * log(2 * p) + (1 - p) * log(2 * (1 - p));
    f.logits[20 + 5] = 0.0f;
    f.logits[20 + 6] = 1.0f;
    cr_assert_float_eq(reg_loss(&f, NULL), 0.5 * kl, 1e-6);
}

/* ------------------------------------------------ answer domains */

static void task_model(const char *spec, int cont, struct iamp_task *t, struct iamp_model *m)
{
    char err[128];
    cr_assert_eq(iamp_task_create(t, spec, err, sizeof(err)), 0, "%s", err);
    struct iamp_model_config c = {.vocab = t->vocab,
                                  .n_types = t->n_types,
                                  .q_len = t->q_len,
                                  .a_len = t->a_len,
                                  .embed = 4,
                                  .hidden = 16,
                                  .layers = 2,
                                  .cont = cont,
                                  .pair = 0};
    struct iamp_rng r;
    iamp_rng_seed(&r, 7, 0);
    cr_assert_eq(iamp_model_init(m, &c), 0);
    iamp_model_reset(m, &r);
}

Test(policy, continuous_answers_are_the_median_or_draws_and_their_density, .timeout = 10)
{
    struct iamp_task t;
    struct iamp_model m;
    struct iamp_rng r;
    task_model("markov:s=4,kmax=4", 1, &t, &m);
    struct iamp_question q = {.type = 0, .len = 3, .tok = {1, 2, 4 + 2}};
    struct iamp_answer greedy, draws[400];
    static struct iamp_question qs[400];
    cr_assert_eq(iamp_policy_answer(&m, &t, &q, 1, IAMP_DECODE_GREEDY, 1.0f, NULL, &greedy), 0);
    cr_assert_eq(greedy.len, 0);
    cr_assert(iamp_answer_valid(&t, &q, &greedy));
    int32_t in[16];
    iamp_model_row(&m, 0, q.tok, 3, NULL, 0, -1, in);
    cr_assert_eq(iamp_model_forward(&m, in, 1), 0);
    struct iamp_cont d;
    iamp_cont_from_raw(m.cont, &d);
    cr_assert_float_eq(greedy.value, iamp_cont_median(&d), 1e-6);
    for (int i = 0; i < 400; i++)
        qs[i] = q;
    iamp_rng_seed(&r, 1, 0);
    cr_assert_eq(iamp_policy_answer(&m, &t, qs, 400, IAMP_DECODE_SAMPLE, 1.0f, &r, draws), 0);
    int below = 0, distinct = 0;
    for (int i = 0; i < 400; i++) {
        cr_assert(iamp_answer_valid(&t, &q, &draws[i]));
        below += draws[i].value < greedy.value;
        distinct += i > 0 && draws[i].value != draws[i - 1].value;
    }
    cr_assert(below > 150 && below < 250, "%d of 400 below the median", below);
    cr_assert_gt(distinct, 390);
    double lp;
    cr_assert_eq(iamp_policy_logprob(&m, &t, &q, &draws[0], 1, &lp), 0);
    cr_assert_float_eq(lp, iamp_cont_logdensity(&d, draws[0].value), 1e-6);
    iamp_model_release(&m);
    /* A model without the head cannot answer continuous questions. */
    task_model("markov:s=4,kmax=4", 0, &t, &m);
    cr_assert_eq(iamp_policy_answer(&m, &t, &q, 1, IAMP_DECODE_GREEDY, 1.0f, NULL, &greedy),
                 IAMP_EINVAL);
    iamp_model_release(&m);
    iamp_task_destroy(&t);
}

Test(policy, sequences_end_at_end_or_the_cap, .timeout = 10)
{
    struct iamp_task t;
    struct iamp_model m;
    struct iamp_rng r;
    task_model("trajectory:n=5,lmax=3", 0, &t, &m);
    static struct iamp_question qs[500];
    static struct iamp_answer as[500];
    for (int i = 0; i < 500; i++)
        qs[i] = (struct iamp_question){.type = 0, .len = 2, .tok = {(uint16_t)(i % 5), 5 + 3}};
    iamp_rng_seed(&r, 2, 0);
    cr_assert_eq(iamp_policy_answer(&m, &t, qs, 500, IAMP_DECODE_SAMPLE, 1.0f, &r, as), 0);
    int lens[5] = {0};
    for (int i = 0; i < 500; i++) {
        cr_assert(iamp_answer_valid(&t, &qs[i], &as[i]), "answer %d", i);
        lens[as[i].len]++;
    }
    for (int l = 1; l <= 4; l++)
        cr_assert_gt(lens[l], 0, "a random M gives answers of every length (%d: none)", l);
    double lp[500], sum = 0.0;
    cr_assert_eq(iamp_policy_logprob(&m, &t, qs, as, 500, lp), 0);
    for (int i = 0; i < 500; i++)
        sum += lp[i];
    cr_assert(isfinite(sum));
    iamp_model_release(&m);
    iamp_task_destroy(&t);
}
