/* test_demos.c — demonstrations (coordinator/train/demos.c) and rounds
 * that imitate them: a file of correct answers loads (with facts, each
 * distinct facts line kept once), each pass takes every demonstration
 * once, rounds on it never call H nor ground truth and M learns the
 * answers, a resumed run takes exactly the uninterrupted one's examples,
 * other modes are refused, and every kind of bad line is refused with
 * its line number. The files are real files; the command's messages are
 * tested in tests/cli/demonstrations.sh. */
#include "coordinator/train/train.h"

#include "common/crc32c.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void small_opts(struct iamp_train_opts *o)
{
    iamp_train_opts_default(o);
    o->cfg.questions_per_round = 64;
    o->cfg.batch = 32;
    o->cfg.eval_size = 60;
    o->cfg.schedule_rounds = 20;
    o->cfg.target_sync = 3;
}

static void open_task(struct iamp_session *s, const char *spec)
{
    struct iamp_model_opts mo = {8, 32, 2, 0, ""};
    struct iamp_task t;
    char err[256];
    cr_assert_eq(iamp_task_create(&t, spec, err, sizeof(err)), 0, "%s", err);
    if (iamp_task_has_contexts(&t))
        snprintf(mo.model, sizeof(mo.model), "transformer:d=16,heads=2,enc=1,dec=1");
    iamp_task_destroy(&t);
    cr_assert_eq(iamp_session_open(s, spec, &mo, 1e-3f, 5, err, sizeof(err)), 0, "%s", err);
}

/* One demonstration line: q's text, its facts, answer a's tokens. */
static void write_demo(FILE *f, const struct iamp_task *t, const struct iamp_question *q,
                       const struct iamp_answer *a)
{
    char qt[IAMP_TEXT_MAX], ft[IAMP_FACTS_TEXT_MAX];
    t->ops->format_question(t, q, qt, sizeof(qt));
    fprintf(f, "{\"question\": \"%s\"", qt);
    if (q->ctx) {
        iamp_context_format(q->ctx, ft, sizeof(ft));
        fprintf(f, ", \"facts\": \"%s\"", ft);
    }
    fprintf(f, ", \"answer\": [");
    for (int k = 0; k < a->len; k++)
        fprintf(f, "%s%u", k ? ", " : "", a->tok[k]);
    fprintf(f, "], \"steps\": [{\"asks\": [], \"answers\": []}], \"who\": \"test\"}\n");
}

/* n questions of spec sampled at every level, each with the ground truth
 * (the file's author may know it; training must not ask), into a file;
 * on tasks with facts, `per` questions share each instance. */
static void write_truth_file(const char *path, const char *spec, int n, uint64_t seed)
{
    struct iamp_task t;
    struct iamp_rng r;
    char err[256];
    cr_assert_eq(iamp_task_create(&t, spec, err, sizeof(err)), 0, "%s", err);
    iamp_rng_seed(&r, seed, 99);
    struct iamp_question *qs = calloc((size_t)n, sizeof(*qs));
    struct iamp_context *ctx = calloc((size_t)iamp_task_contexts_for(&t, n) + 1, sizeof(*ctx));
    cr_assert(qs && ctx);
    iamp_task_sample_roots(&t, &r, 0, n, ctx, qs);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < n; i++) {
        struct iamp_answer a;
        iamp_task_truth(&t, &qs[i], &a);
        write_demo(f, &t, &qs[i], &a);
    }
    cr_assert_eq(fclose(f), 0);
    free(qs);
    free(ctx);
    iamp_task_destroy(&t);
}

/* A path of this test process's own (Criterion forks each test). */
static const char *temp_path(const char *name)
{
    static char path[256];
    snprintf(path, sizeof(path), "/tmp/iamp_demos_%ld_%s", (long)getpid(), name);
    return path;
}

Test(demos, each_pass_takes_every_demonstration_once, .timeout = 30)
{
    struct iamp_task t;
    struct iamp_demos d;
    char err[512], path[256];
    snprintf(path, sizeof(path), "%s", temp_path("pass.jsonl"));
    write_truth_file(path, "permpow:n=16,kmax=15", 100, 1);
    cr_assert_eq(iamp_task_create(&t, "permpow:n=16,kmax=15", err, sizeof(err)), 0);
    cr_assert_eq(iamp_demos_load(&d, &t, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(d.n, 100);
    cr_assert_eq(d.n_ctx, 0);
    cr_assert_eq(iamp_demos_per_round(&d, 64), 64);
    cr_assert_eq(iamp_demos_per_round(&d, 256), 100, "all of them when fewer");
    /* 25 rounds of 64 are 16 passes of 100: each demonstration 16 times,
     * and each pass in an order of its own. A question the sampler drew
     * twice counts at its first line, so 16 times per copy. */
    int seen[100] = {0}, copies[100] = {0};
    for (int j = 0; j < d.n; j++)
        for (int k = 0; k <= j; k++)
            if (memcmp(&d.qs[j], &d.qs[k], sizeof(d.qs[j])) == 0) {
                copies[k]++;
                break;
            }
    struct iamp_question q[64];
    struct iamp_answer a[64];
    for (long r = 0; r < 25; r++) {
        cr_assert_eq(iamp_demos_take(&d, 7, r, 64, q, a), 0);
        for (int i = 0; i < 64; i++) {
            int k = -1;
            for (int j = 0; j < d.n && k < 0; j++)
                if (memcmp(&d.qs[j], &q[i], sizeof(q[i])) == 0)
                    k = j;
            cr_assert_geq(k, 0, "round %ld took a question the file does not have", r);
            cr_assert(iamp_answer_equal(&a[i], &d.as[k]), "with its own answer");
            seen[k]++;
        }
    }
    for (int j = 0; j < 100; j++)
        cr_assert_eq(seen[j], 16 * copies[j], "demonstration %d taken %d times", j, seen[j]);
    struct iamp_question q0[64], q1[64];
    cr_assert_eq(iamp_demos_take(&d, 7, 0, 64, q0, a), 0);
    cr_assert_eq(iamp_demos_take(&d, 8, 0, 64, q1, a), 0);
    cr_assert_neq(memcmp(q0, q1, sizeof(q0)), 0, "another seed, another shuffle");
    iamp_demos_release(&d);
    iamp_task_destroy(&t);
    unlink(path);
}

/* Rounds on a file of correct answers to spec: no H, no engine episode,
 * no ground truth, and M's agreement with the file rises. */
static void learns_without_h_or_truth(const char *spec, int rounds, double min_agreement)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    struct iamp_demos d;
    char err[512], path[256];
    snprintf(path, sizeof(path), "%s", temp_path("truth.jsonl"));
    write_truth_file(path, spec, 96, 2);
    open_task(&s, spec);
    cr_assert_eq(iamp_demos_load(&d, &s.task, path, err, sizeof(err)), 0, "%s", err);
    small_opts(&o);
    o.demos = &d;
    o.cfg.lr = 0.02f;
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    long truth = iamp_task_truth_calls();
    struct iamp_engine_stats e0 = s.engine.stats;
    double first = 0.0;
    for (int r = 0; r < rounds; r++) {
        cr_assert_eq(iamp_trainer_step(&tr, &st), 0);
        first = r == 0 ? st.agreement : first;
    }
    cr_assert_eq(iamp_task_truth_calls(), truth, "%s: a round consulted ground truth", spec);
    cr_assert_eq(s.engine.stats.episodes, e0.episodes, "%s: H ran an episode", spec);
    cr_assert_eq(s.engine.stats.h_answers, e0.h_answers, "%s: H answered a question", spec);
    cr_assert_eq(st.examples, 64L * rounds);
    cr_assert_eq(st.difficulty, 1, "the curriculum stands still");
    cr_assert(isnan(st.approval) && isnan(st.reward));
    cr_assert_gt(st.agreement, min_agreement, "%s: M agrees with %.3f of the file after %d rounds",
                 spec, st.agreement, rounds);
    cr_assert_gt(st.agreement, first + 0.2, "%s: from %.3f", spec, first);
    iamp_trainer_release(&tr);
    iamp_demos_release(&d);
    iamp_session_close(&s);
    unlink(path);
}

Test(demos, rounds_imitate_the_file_without_h_or_ground_truth, .timeout = 60)
{
    learns_without_h_or_truth("permpow:n=16,kmax=15", 60, 0.9);
}

Test(demos, rounds_on_facts_imitate_the_file_without_h_or_ground_truth, .timeout = 120)
{
    /* A transformer reading each question's own facts: that it learns to
     * agree at all, quickly, shows the facts reach it. */
    learns_without_h_or_truth("permpow:n=12,context=1", 40, 0.3);
}

Test(demos, facts_are_kept_once_per_distinct_line, .timeout = 30)
{
    struct iamp_task t;
    struct iamp_demos d;
    char err[512], path[256];
    snprintf(path, sizeof(path), "%s", temp_path("facts.jsonl"));
    cr_assert_eq(iamp_task_create(&t, "permpow:n=12,context=1", err, sizeof(err)), 0);
    write_truth_file(path, "permpow:n=12,context=1", 40, 3);
    cr_assert_eq(iamp_demos_load(&d, &t, path, err, sizeof(err)), 0, "%s", err);
    int per = t.questions_per_context > 0 ? t.questions_per_context : 1;
    cr_assert_eq(d.n, 40);
    cr_assert_eq(d.n_ctx, (40 + per - 1) / per, "%d contexts for %d per instance", d.n_ctx, per);
    for (int i = 0; i < d.n; i++) {
        cr_assert(d.qs[i].ctx >= d.ctx && d.qs[i].ctx < d.ctx + d.n_ctx);
        cr_assert_eq((int)(d.qs[i].ctx - d.ctx), i / per, "question %d on its own facts", i);
    }
    iamp_demos_release(&d);
    iamp_task_destroy(&t);
    unlink(path);
}

/* Steps of o's run: `cut` rounds, save, load, the rest; or all at once. */
static uint64_t run_demo_rounds(const char *spec, struct iamp_demos *d, int total, int cut,
                                const char *ckpt)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    struct iamp_train_opts o;
    struct iamp_round_stats st;
    struct iamp_checkpoint ck;
    char err[512];
    small_opts(&o);
    o.demos = d;
    open_task(&s, spec);
    cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), 0, "%s", err);
    for (int r = 0; r < (cut ? cut : total); r++)
        cr_assert_eq(iamp_trainer_step(&tr, &st), 0);
    if (cut) {
        cr_assert_eq(iamp_trainer_save(&tr, ckpt), 0);
        iamp_trainer_release(&tr);
        iamp_session_close(&s);
        cr_assert_eq(iamp_session_load(&s, ckpt, NULL, &ck, err, sizeof(err)), 0, "%s", err);
        o.cfg = ck.config;
        cr_assert_eq(iamp_trainer_init(&tr, &s, &o, &ck, err, sizeof(err)), 0, "%s", err);
        iamp_checkpoint_release(&ck);
        d->pass = -1; /* a new process has drawn no pass yet */
        for (int r = cut; r < total; r++)
            cr_assert_eq(iamp_trainer_step(&tr, &st), 0);
    }
    uint64_t sum = iamp_model_checksum(&s.model);
    iamp_trainer_release(&tr);
    iamp_session_close(&s);
    return sum;
}

Test(demos, resumed_run_takes_the_same_examples, .timeout = 60)
{
    struct iamp_task t;
    struct iamp_demos d;
    char err[512], path[256], ckpt[256];
    snprintf(path, sizeof(path), "%s", temp_path("resume.jsonl"));
    snprintf(ckpt, sizeof(ckpt), "%s", temp_path("checkpoint.pb"));
    /* 100 demonstrations, 64 a round: rounds straddle passes, and the cut
     * (after round 3: positions 192..255) falls inside the second pass. */
    write_truth_file(path, "permpow:n=16,kmax=15", 100, 4);
    cr_assert_eq(iamp_task_create(&t, "permpow:n=16,kmax=15", err, sizeof(err)), 0);
    cr_assert_eq(iamp_demos_load(&d, &t, path, err, sizeof(err)), 0, "%s", err);
    uint64_t straight = run_demo_rounds("permpow:n=16,kmax=15", &d, 9, 0, NULL);
    uint64_t resumed = run_demo_rounds("permpow:n=16,kmax=15", &d, 9, 3, ckpt);
    cr_assert_eq(resumed, straight, "the resumed run diverged");
    iamp_demos_release(&d);
    iamp_task_destroy(&t);
    unlink(path);
    unlink(ckpt);
}

Test(demos, other_modes_are_refused, .timeout = 30)
{
    struct iamp_session s;
    struct iamp_trainer tr;
    struct iamp_train_opts o;
    struct iamp_demos d;
    char err[512], path[256];
    static const char *const algos[] = {"supervised", "search", "pow=imitate,approve=supervised"};
    snprintf(path, sizeof(path), "%s", temp_path("modes.jsonl"));
    write_truth_file(path, "permpow:n=16,kmax=15,approve=1", 10, 5);
    open_task(&s, "permpow:n=16,kmax=15,approve=1");
    cr_assert_eq(iamp_demos_load(&d, &s.task, path, err, sizeof(err)), 0, "%s", err);
    for (int i = 0; i < 3; i++) {
        small_opts(&o);
        o.demos = &d;
        snprintf(o.cfg.algo, sizeof(o.cfg.algo), "%s", algos[i]);
        cr_assert_eq(iamp_trainer_init(&tr, &s, &o, NULL, err, sizeof(err)), IAMP_EINVAL,
                     "%s accepted", algos[i]);
        cr_assert_not_null(strstr(err, "imitate"), "%s", err);
    }
    iamp_demos_release(&d);
    iamp_session_close(&s);
    unlink(path);
}

Test(demos, bad_lines_are_refused_with_their_number, .timeout = 30)
{
    static const struct {
        const char *spec, *text, *why;
    } bad[] = {
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": [3]}\n{nope\n", ":2: not a JSON"},
        {"permpow", "{\"answer\": [3]}\n", ":1: no \"question\""},
        {"permpow", "{\"question\": \"pow x=1 k=2\"}\n", ":1: no \"answer\""},
        {"permpow", "{\"question\": 7, \"answer\": [3]}\n", "\"question\" is not a string"},
        {"permpow", "\n{\"question\": \"pow x=1 k=99\", \"answer\": [3]}\n", ":2: question"},
        {"permpow", "{\"question\": \"hello\", \"answer\": [3]}\n", ":1: question 'hello'"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": [64]}\n", "answer space"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": [70000]}\n", "out of range"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": [-1]}\n", "out of range"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": [1, 2]}\n", "answer space"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": []}\n", "answer space"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": [1.5]}\n", "not a list"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"answer\": \"3\"}\n", "not a list"},
        {"permpow", "{\"question\": \"pow x=1 k=2\", \"facts\": \"0 1\", \"answer\": [3]}\n",
         "takes no facts"},
        {"permpow:context=1", "{\"question\": \"pow x=1 k=2\", \"answer\": [3]}\n", "no \"facts\""},
        {"permpow:context=1",
         "{\"question\": \"pow x=1 k=2\", \"facts\": \"0 1, 1 1\", \"answer\": [0]}\n",
         "facts: the facts are not a permutation"},
        {"permpow:context=1",
         "{\"question\": \"pow x=12 k=2\", \"facts\": \"facts: 0 1, 1 2, 2 3, 3 4, 4 5, 5 6, 6 7, "
         "7 8, 8 0\", \"answer\": [0]}\n",
         "not one on these facts"},
        {"permpow", "", "no demonstrations"},
        {"permpow", "\n  \n", "no demonstrations"},
    };
    char err[512], path[256];
    snprintf(path, sizeof(path), "%s", temp_path("bad.jsonl"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct iamp_task t;
        struct iamp_demos d;
        cr_assert_eq(iamp_task_create(&t, bad[i].spec, err, sizeof(err)), 0, "%s", err);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(bad[i].text, f);
        cr_assert_eq(fclose(f), 0);
        err[0] = '\0';
        cr_assert_neq(iamp_demos_load(&d, &t, path, err, sizeof(err)), 0, "case %zu loaded", i);
        cr_assert_not_null(strstr(err, bad[i].why), "case %zu: '%s' lacks '%s'", i, err,
                           bad[i].why);
        cr_assert_eq(strncmp(err, path, strlen(path)), 0, "case %zu names the file: %s", i, err);
        cr_assert_null(strchr(err, '\n'));
        cr_assert_eq(d.n, 0);
        cr_assert_null(d.qs);
        iamp_task_destroy(&t);
    }
    unlink(path);
}

Test(demos, long_lines_are_refused, .timeout = 30)
{
    struct iamp_task t;
    struct iamp_demos d;
    char err[512], path[256];
    snprintf(path, sizeof(path), "%s", temp_path("long.jsonl"));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("{\"question\": \"pow x=1 k=2\", \"answer\": [3]}\n{\"question\": \"pow x=1 k=2\", "
          "\"answer\": [3], \"pad\": \"",
          f);
    for (int i = 0; i < IAMP_DEMO_LINE_MAX; i++)
        fputc('a', f);
    fputs("\"}\n", f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(iamp_task_create(&t, "permpow", err, sizeof(err)), 0);
    cr_assert_eq(iamp_demos_load(&d, &t, path, err, sizeof(err)), IAMP_ELIMIT);
    cr_assert_not_null(strstr(err, ":2: line longer than"), "%s", err);
    iamp_task_destroy(&t);
    unlink(path);
}

Test(demos, the_digest_is_the_files_crc32c, .timeout = 30)
{
    struct iamp_task t;
    struct iamp_demos d;
    char err[512], path[256];
    static const char text[] = "{\"question\": \"pow x=1 k=2\", \"answer\": [3]}\n\n"
                               "{\"question\": \"pow x=2 k=1\", \"answer\": [5], \"x\": {}}";
    snprintf(path, sizeof(path), "%s", temp_path("crc.jsonl"));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(iamp_task_create(&t, "permpow", err, sizeof(err)), 0);
    cr_assert_eq(iamp_demos_load(&d, &t, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(d.n, 2, "a last line without a newline counts");
    cr_assert_eq(d.crc32c, iamp_crc32c(0, text, strlen(text)));
    cr_assert_eq(d.as[1].tok[0], 5);
    iamp_demos_release(&d);
    iamp_task_destroy(&t);
    unlink(path);
}
