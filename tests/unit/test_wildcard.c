/* test_wildcard.c — the wildcard-search task: H with a perfect subanswer
 * oracle equals the ground truth on every pattern of random instances,
 * the ground truth equals the test's own sum over the facts (clipped),
 * instances have the sizes the spec says, levels bound the stars, the
 * text syntax round-trips, malformed text and facts are refused with a
 * reason, and the spec is canonical. */
#include "tasks/task.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "task_helpers.h"

/* Pattern number p in base 3 (digit i, most significant first: 0, 1, *)
 * as text. */
static void pattern_text(int p, int len, char *text, size_t n)
{
    char pat[16];
    for (int i = len - 1; i >= 0; i--, p /= 3)
        pat[i] = "01*"[p % 3];
    pat[len] = '\0';
    snprintf(text, n, "sum %s", pat);
}

/* A fact for string s of len bits: its octal digits, then the value
 * token (8: -1, 9: +1). */
static void set_fact(struct iamp_context *c, int f, int len, int s, int plus)
{
    int digits = (len + 2) / 3;
    for (int j = 0; j < digits; j++)
        c->tok[f][j] = (uint16_t)((s >> (3 * (digits - 1 - j))) & 7);
    c->tok[f][digits] = (uint16_t)(plus ? 9 : 8);
    c->fact_len = (uint16_t)(digits + 1);
}

/* The test's own answer: the values of the facts whose string the
 * pattern text matches, summed and clipped to [-clip, clip]. */
static int brute_sum(const struct iamp_context *c, const char *text, int len, int clip)
{
    const char *pat = text + 4;
    int digits = (len + 2) / 3, sum = 0;
    for (int f = 0; f < c->n_facts; f++) {
        int s = 0, ok = 1;
        for (int j = 0; j < digits; j++)
            s = s * 8 + c->tok[f][j];
        for (int i = 0; i < len; i++) {
            int bit = (s >> (len - 1 - i)) & 1;
            ok &= pat[i] == '*' || pat[i] - '0' == bit;
        }
        if (ok)
            sum += c->tok[f][digits] == 9 ? 1 : -1;
    }
    return sum < -clip ? -clip : sum > clip ? clip : sum;
}

static int answer_sum(const struct iamp_task *t, const struct iamp_question *q,
                      const struct iamp_answer *a)
{
    char text[32];
    t->ops->format_answer(t, q, a, text, sizeof(text));
    int s = 0;
    cr_assert_eq(sscanf(text, "%d", &s), 1, "answer '%s'", text);
    return s;
}

/* On every pattern of `rounds` random instances (every level drawn),
 * and on hand-made ones (every string, all +1; then all -1): H with exact
 * subanswers equals the truth, which equals the brute-force sum. */
static void check_patterns(const struct iamp_task *t, const struct iamp_context *c, int len,
                           int clip)
{
    int n_pat = 1;
    for (int i = 0; i < len; i++)
        n_pat *= 3;
    for (int p = 0; p < n_pat; p++) {
        char text[32], err[256];
        struct iamp_question q;
        struct iamp_answer got, want;
        pattern_text(p, len, text, sizeof(text));
        cr_assert_eq(t->ops->parse_question(t, text, &q, err, sizeof(err)), 0, "%s", err);
        q.ctx = c;
        cr_assert(t->ops->valid_question(t, &q));
        run_with_oracle(t, &q, NULL, &got);
        iamp_task_truth(t, &q, &want);
        cr_assert(iamp_answer_equal(&got, &want), "%s: H wrong on %s", t->spec, text);
        cr_assert(iamp_answer_valid(t, &q, &got));
        cr_assert_eq(answer_sum(t, &q, &want), brute_sum(c, text, len, clip), "%s: truth of %s",
                     t->spec, text);
    }
}

static void check_instances(const char *spec, int len, int facts, int clip)
{
    struct iamp_task t = make(spec);
    struct iamp_rng r;
    iamp_rng_seed(&r, 5, 0);
    cr_assert_eq(t.max_difficulty, len);
    cr_assert_eq(t.facts_max, facts);
    struct iamp_answer_space sp;
    struct iamp_question any = {.len = (uint16_t)len};
    t.ops->answer_space(&t, &any, &sp);
    cr_assert_eq(sp.hi - sp.lo, 2 * clip + 1, "%s: answers -%d..%d", spec, clip, clip);
    int lo = facts < 9 ? facts : 9;
    for (int i = 0; i < 3 * t.max_difficulty; i++) {
        struct iamp_context c;
        char err[256];
        t.ops->draw_context(&t, &r, 1 + i % t.max_difficulty, &c);
        cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
        cr_assert(c.n_facts >= lo && c.n_facts <= facts, "%s: %d facts", spec, c.n_facts);
        check_patterns(&t, &c, len, clip);
    }
    struct iamp_context all = {.n_facts = (uint16_t)facts};
    for (int sign = 0; sign < 2; sign++) {
        for (int f = 0; f < facts; f++)
            set_fact(&all, f, len, f, sign);
        char err[256];
        cr_assert_eq(iamp_task_check_context(&t, &all, err, sizeof(err)), 0, "%s", err);
        check_patterns(&t, &all, len, clip);
    }
    iamp_task_destroy(&t);
}

Test(wildcard, overseer_with_perfect_oracle_equals_truth_on_random_instances, .timeout = 60)
{
    check_instances("wildcard", 6, 16, 16);
    check_instances("wildcard:facts=64", 6, 64, 32); /* the paper's: all-* clipped to +-32 */
    check_instances("wildcard:len=4,facts=16", 4, 16, 8);
    check_instances("wildcard:len=3,facts=5", 3, 5, 4);
    check_instances("wildcard:len=1", 1, 2, 1);
    check_instances("wildcard:len=5,facts=32", 5, 32, 16); /* a leading digit of 2 bits */
    check_instances("wildcard:len=9,facts=20", 9, 20, 20); /* three digits */
}

Test(wildcard, clipping_cuts_only_the_all_star_pattern, .timeout = 10)
{
    struct iamp_task t = make("wildcard:facts=64");
    struct iamp_context c = {.n_facts = 64};
    for (int f = 0; f < 64; f++)
        set_fact(&c, f, 6, f, 1);
    struct iamp_question q;
    struct iamp_answer a;
    char err[256];
    cr_assert_eq(t.ops->parse_question(&t, "sum ******", &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = &c;
    iamp_task_truth(&t, &q, &a);
    cr_assert_eq(answer_sum(&t, &q, &a), 32, "64 matches, clipped");
    cr_assert_eq(t.ops->parse_question(&t, "sum 0*****", &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = &c;
    iamp_task_truth(&t, &q, &a);
    cr_assert_eq(answer_sum(&t, &q, &a), 32, "32 matches: exact");
    iamp_task_destroy(&t);
}

/* Subanswers from M may be anything: H still answers a sum. */
static void garbage(const struct iamp_task *t, const struct iamp_question *q, struct iamp_answer *a)
{
    (void)t;
    memset(a, 0, sizeof(*a));
    a->len = 1;
    a->tok[0] = (uint16_t)(q->tok[0] * 13 + 1);
}

Test(wildcard, overseer_splits_the_first_star_and_looks_up_strings, .timeout = 10)
{
    struct iamp_task t = make("wildcard:len=4,facts=16");
    /* 1011 (octal 13) is +1, 0011 (octal 03) is -1, 1111 (octal 17) is +1 */
    struct iamp_context c = {.n_facts = 3, .fact_len = 3, .tok = {{1, 3, 9}, {0, 3, 8}, {1, 7, 9}}};
    char err[256];
    cr_assert_eq(iamp_task_check_context(&t, &c, err, sizeof(err)), 0, "%s", err);
    struct iamp_question q, asks[IAMP_ASK_MAX];
    struct iamp_answer a, ans[2];
    unsigned char ep[512];
    int n_asks = -1;
    cr_assert_eq(t.ops->parse_question(&t, "sum 1011", &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = &c;
    cr_assert(t.ops->primitive(&t, &q, &a), "no star: a lookup");
    cr_assert_eq(answer_sum(&t, &q, &a), 1);
    cr_assert_eq(t.ops->parse_question(&t, "sum 0000", &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = &c;
    cr_assert(t.ops->primitive(&t, &q, &a));
    cr_assert_eq(answer_sum(&t, &q, &a), 0, "a string the instance lacks counts 0");
    cr_assert_eq(t.ops->parse_question(&t, "sum 1*1*", &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = &c;
    cr_assert_not(t.ops->primitive(&t, &q, &a));
    t.ops->episode_start(&t, ep, &q);
    cr_assert_eq(t.ops->episode_step(&t, ep, NULL, 0, asks, &n_asks, &a), IAMP_EP_ASK);
    cr_assert_eq(n_asks, 2);
    char text[2][IAMP_TEXT_MAX];
    t.ops->format_question(&t, &asks[0], text[0], sizeof(text[0]));
    t.ops->format_question(&t, &asks[1], text[1], sizeof(text[1]));
    cr_assert_str_eq(text[0], "sum 101*");
    cr_assert_str_eq(text[1], "sum 111*");
    iamp_task_truth(&t, &asks[0], &ans[0]);
    iamp_task_truth(&t, &asks[1], &ans[1]);
    cr_assert_eq(t.ops->episode_step(&t, ep, ans, 2, asks, &n_asks, &a), IAMP_EP_DONE);
    cr_assert_eq(answer_sum(&t, &q, &a), 2);
    run_with_oracle(&t, &q, garbage, &a);
    cr_assert(iamp_answer_valid(&t, &q, &a), "garbage in, a sum out");
    iamp_task_destroy(&t);
}

Test(wildcard, sampler_asks_up_to_the_levels_stars, .timeout = 10)
{
    struct iamp_task t = make("wildcard");
    struct iamp_rng r;
    iamp_rng_seed(&r, 2, 0);
    struct iamp_context c;
    t.ops->draw_context(&t, &r, 1, &c);
    for (int d = 1; d <= 6; d++) {
        int seen[7] = {0};
        for (int i = 0; i < 3000; i++) {
            struct iamp_question q;
            char text[IAMP_TEXT_MAX];
            iamp_task_sample(&t, &r, d, &c, &q);
            cr_assert(t.ops->valid_question(&t, &q));
            t.ops->format_question(&t, &q, text, sizeof(text));
            int stars = 0;
            for (const char *p = text + 4; *p; p++)
                stars += *p == '*';
            cr_assert(stars >= 1 && stars <= d, "level %d asked %s", d, text);
            seen[stars]++;
        }
        for (int s = 1; s <= d; s++)
            cr_assert_gt(seen[s], 3000 / d / 2, "level %d: %d stars %d times", d, s, seen[s]);
    }
    iamp_task_destroy(&t);
}

Test(wildcard, roots_stay_on_their_fresh_instances, .timeout = 10)
{
    struct iamp_task t = make("wildcard");
    struct iamp_rng r;
    iamp_rng_seed(&r, 9, 0);
    struct iamp_context ctx[8];
    struct iamp_question qs[8 * 16];
    cr_assert_eq(iamp_task_contexts_for(&t, 8 * 16), 8);
    iamp_task_sample_roots(&t, &r, 0, 8 * 16, ctx, qs);
    for (int i = 0; i < 8 * 16; i++) {
        cr_assert_eq(qs[i].ctx, &ctx[i / 16], "16 roots per instance, in order");
        cr_assert(t.ops->valid_question(&t, &qs[i]));
    }
    cr_assert(memcmp(ctx[0].tok, ctx[1].tok, sizeof(ctx[0].tok)) != 0, "fresh instances");
    iamp_task_destroy(&t);
}

Test(wildcard, format_then_parse_round_trips, .timeout = 10)
{
    struct iamp_task t = make("wildcard");
    struct iamp_rng r;
    iamp_rng_seed(&r, 1, 0);
    struct iamp_context c;
    for (int i = 0; i < 2000; i++) {
        struct iamp_question q, back;
        char text[IAMP_TEXT_MAX], err[256];
        if (i % 16 == 0)
            t.ops->draw_context(&t, &r, t.max_difficulty, &c);
        iamp_task_sample(&t, &r, t.max_difficulty, &c, &q);
        t.ops->format_question(&t, &q, text, sizeof(text));
        cr_assert_eq(t.ops->parse_question(&t, text, &back, err, sizeof(err)), 0, "%s", err);
        back.ctx = q.ctx;
        cr_assert_eq(memcmp(&q, &back, sizeof(q)), 0, "%s", text);
    }
    struct iamp_question a, b;
    char err[256];
    cr_assert_eq(t.ops->parse_question(&t, " sum\t 01*1**  ", &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(t.ops->parse_question(&t, "sum 01*1**", &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
    iamp_task_destroy(&t);
}

Test(wildcard, rejects_malformed_text_with_a_reason, .timeout = 10)
{
    static const char *const bad[] = {
        "",
        "sum",
        "sum 01*1*",
        "sum 01*1***",
        "sum 01*1*2",
        "sum 01 *1**",
        "sum01*1**",
        "SUM 01*1**",
        "sum p=01*1**",
        "sum 01*1** x",
        "sum ?1*1**",
        "pow x=1 k=2",
        "sum 01*1**0",
    };
    struct iamp_task t = make("wildcard");
    check_rejects(&t, bad, sizeof(bad) / sizeof(bad[0]));
    iamp_task_destroy(&t);
}

Test(wildcard, malformed_facts_and_questions_are_refused, .timeout = 10)
{
    /* len=3: a string is one octal digit, -1 is 8, +1 is 9 */
    static const struct {
        struct iamp_context c;
        const char *needle;
    } cases[] = {
        {{2, 2, {{1, 9}, {1, 8}}}, "given twice"},
        {{2, 2, {{1, 9}, {2, 7}}}, "then 8 (-1) or 9 (+1)"},
        {{1, 2, {{9, 9}}}, "a 3-bit string as 1 octal digit (0..7)"},
        {{1, 2, {{1, 30}}}, "out of range"},
        {{1, 3, {{1, 9, 9}}}, "of 2 tokens"},
        {{9, 2, {{0, 8}, {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 8}, {6, 8}, {7, 8}, {0, 9}}},
         "1..8 facts"},
    };
    struct iamp_task t = make("wildcard:len=3");
    cr_assert_eq(t.facts_max, 8);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        cr_assert_neq(iamp_task_check_context(&t, &cases[i].c, err, sizeof(err)), 0,
                      "case %zu accepted", i);
        cr_assert_not_null(strstr(err, cases[i].needle), "case %zu: '%s' lacks '%s'", i, err,
                           cases[i].needle);
        cr_assert_null(strchr(err, '\n'));
    }
    struct iamp_context c;
    char err[256] = "";
    cr_assert_eq(iamp_context_parse(&t, "facts: 5 9, 2 8, 7 9", &c, err, sizeof(err)), 0, "%s",
                 err);
    struct iamp_question q;
    cr_assert_eq(t.ops->parse_question(&t, "sum 1*1", &q, err, sizeof(err)), 0, "%s", err);
    q.ctx = &c;
    cr_assert(t.ops->valid_question(&t, &q));
    struct iamp_question bad = q;
    bad.len = 2;
    cr_assert_not(t.ops->valid_question(&t, &bad), "a pattern of len symbols");
    bad = q;
    bad.tok[1] = 5; /* a string token, not a symbol */
    cr_assert_not(t.ops->valid_question(&t, &bad));
    bad = q;
    bad.tok[2] = 8 + 5;
    cr_assert_not(t.ops->valid_question(&t, &bad));
    bad = q;
    bad.type = 1;
    cr_assert_not(t.ops->valid_question(&t, &bad));
    iamp_task_destroy(&t);
}

Test(wildcard, spec_is_canonical_and_unknown_parameters_are_refused, .timeout = 10)
{
    struct iamp_task t = make("wildcard"), u = make("wildcard:facts=64"),
                     v = make("wildcard:len=3");
    cr_assert_str_eq(t.spec, "wildcard:len=6,facts=16");
    cr_assert_str_eq(u.spec, "wildcard:len=6,facts=64");
    cr_assert_str_eq(v.spec, "wildcard:len=3,facts=8", "facts default to at most 2^len");
    cr_assert(iamp_task_has_contexts(&t));
    cr_assert_eq(t.fact_len, 3, "two octal digits and the value");
    cr_assert_eq(v.fact_len, 2);
    cr_assert_eq(t.q_len, 6);
    cr_assert_eq(t.max_asks, 2);
    cr_assert_eq(t.vocab, 13 + 33);
    cr_assert_eq(u.vocab, 13 + 65);
    cr_assert(strstr(iamp_task_train_defaults(&t), "transformer"));
    iamp_task_destroy(&t);
    iamp_task_destroy(&u);
    iamp_task_destroy(&v);
    static const struct {
        const char *spec, *needle;
    } cases[] = {
        {"wildcard:bogus=1", "bogus"},        {"wildcard:len=0", "len=0"},
        {"wildcard:len=10", "len=10"},        {"wildcard:facts=0", "facts=0"},
        {"wildcard:facts=65", "facts=65"},    {"wildcard:len=8,facts=129", "facts=129"},
        {"wildcard:len=3,facts=9", "[1, 8]"}, {"wildcard:n=3", "no parameter 'n'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct iamp_task x;
        char err[256] = "";
        cr_assert_neq(iamp_task_create(&x, cases[i].spec, err, sizeof(err)), 0, "%s accepted",
                      cases[i].spec);
        cr_assert_not_null(strstr(err, cases[i].needle), "%s: '%s' lacks '%s'", cases[i].spec, err,
                           cases[i].needle);
    }
}
