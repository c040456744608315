/* test_request.c — what the server accepts and what it refuses, with the
 * code a client sees: token, task, depth, sizes, malformed questions. */
#include "coordinator/serve/request.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static struct iamp_task task;
static struct iamp_limits lim;
static struct iamp_request_ctx ctx;
static struct iamp_wire_question qs[4];
static struct iamp_msg m;

static void setup(void)
{
    char err[256];
    cr_assert_eq(iamp_task_create(&task, "permpow:n=16,kmax=15", err, sizeof(err)), 0);
    iamp_limits_default(&lim);
    ctx = (struct iamp_request_ctx){&lim, &task, NULL, 0, 1};
    memset(&m, 0, sizeof(m));
    memset(qs, 0, sizeof(qs));
    m.kind = IAMP_MSG_SUBMIT;
    m.submit.kind = IAMP_JOB_ANSWER;
    m.submit.questions = qs;
    m.submit.n_questions = 2;
    qs[0].has_text = qs[1].has_text = 1;
    snprintf(qs[0].text, sizeof(qs[0].text), "pow x=5 k=7");
    snprintf(qs[1].text, sizeof(qs[1].text), "pow x=0 k=15");
}

static void teardown(void)
{
    iamp_task_destroy(&task);
}

TestSuite(request, .init = setup, .fini = teardown, .timeout = 30);

/* Check m; on refusal return the code, else 0 (the spec is released). */
static int check(struct iamp_job_spec *spec)
{
    struct iamp_refusal r;
    struct iamp_job_spec local;
    if (!spec)
        spec = &local;
    if (iamp_request_check(&ctx, &m, spec, &r))
        return r.code;
    if (spec == &local)
        iamp_job_spec_release(spec);
    return 0;
}

Test(request, canonicalises_an_answer_job)
{
    struct iamp_job_spec spec;
    cr_assert_eq(check(&spec), 0);
    cr_assert_str_eq(spec.task, task.spec);
    cr_assert_eq(spec.depth, 1, "depth defaults to 1");
    cr_assert_eq(spec.n, 2);
    cr_assert_eq(spec.qs[0].tok[0], 5);
    iamp_job_spec_release(&spec);
}

Test(request, accepts_the_served_task_however_spelled)
{
    snprintf(m.submit.task, sizeof(m.submit.task), "permpow:kmax=15,n=16");
    cr_assert_eq(check(NULL), 0);
}

Test(request, refuses_an_unknown_task)
{
    snprintf(m.submit.task, sizeof(m.submit.task), "sorting");
    cr_assert_eq(check(NULL), IAMP_WERR_UNKNOWN_TASK);
}

Test(request, refuses_another_instance_of_the_task)
{
    snprintf(m.submit.task, sizeof(m.submit.task), "permpow:n=32");
    cr_assert_eq(check(NULL), IAMP_WERR_UNKNOWN_TASK);
}

Test(request, refuses_depth_over_the_limit)
{
    m.submit.has_depth = 1;
    m.submit.depth = lim.max_depth + 1;
    cr_assert_eq(check(NULL), IAMP_WERR_LIMIT);
}

Test(request, refuses_trees_over_the_node_limit)
{
    lim.max_tree_nodes = 20; /* permpow at depth 2: up to 13 nodes per question */
    m.submit.has_depth = 1;
    m.submit.depth = 2;
    cr_assert_eq(check(NULL), IAMP_WERR_LIMIT);
    m.submit.n_questions = 1;
    cr_assert_eq(check(NULL), 0);
}

Test(request, bounds_tree_sizes_without_overflow)
{
    cr_assert_eq(iamp_tree_nodes_max(2, 0), 1);
    cr_assert_eq(iamp_tree_nodes_max(2, 3), 15);
    cr_assert_eq(iamp_tree_nodes_max(16, 64), LONG_MAX);
    cr_assert_eq(iamp_tree_nodes_max(0, 1), LONG_MAX);
}

Test(request, refuses_a_malformed_question_by_number)
{
    struct iamp_refusal r;
    struct iamp_job_spec spec;
    snprintf(qs[1].text, sizeof(qs[1].text), "pow x=99 k=1");
    cr_assert_neq(iamp_request_check(&ctx, &m, &spec, &r), 0);
    cr_assert_eq(r.code, IAMP_WERR_BAD_REQUEST);
    cr_assert(strstr(r.reason, "question 2") != NULL, "%s", r.reason);
}

Test(request, refuses_tokens_out_of_range)
{
    qs[0].has_text = 0;
    qs[0].has_tokens = 1;
    qs[0].q = (struct iamp_question){.type = 0, .len = 2, .tok = {999, 1}};
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST);
    qs[0].q = (struct iamp_question){.type = 7, .len = 2, .tok = {1, 1}};
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST);
}

Test(request, refuses_an_empty_answer_job)
{
    m.submit.n_questions = 0;
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST);
}

Test(request, checks_train_jobs)
{
    m.submit.kind = IAMP_JOB_TRAIN;
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST, "questions on a train job");
    m.submit.n_questions = 0;
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST, "no rounds");
    m.submit.train.rounds = 5;
    snprintf(m.submit.train.algo, sizeof(m.submit.train.algo), "telepathy");
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST);
    snprintf(m.submit.train.algo, sizeof(m.submit.train.algo), "imitate");
    cr_assert_eq(check(NULL), 0);
    m.submit.train.rounds = lim.max_rounds + 1;
    cr_assert_eq(check(NULL), IAMP_WERR_LIMIT);
}

Test(request, needs_the_right_token)
{
    ctx.token = "sesame";
    ctx.token_len = 6;
    cr_assert_eq(check(NULL), IAMP_WERR_AUTH, "no token");
    m.has_token = 1;
    snprintf(m.token, sizeof(m.token), "sesamE");
    cr_assert_eq(check(NULL), IAMP_WERR_AUTH, "wrong token");
    snprintf(m.token, sizeof(m.token), "sesame!");
    cr_assert_eq(check(NULL), IAMP_WERR_AUTH, "longer token");
    snprintf(m.token, sizeof(m.token), "sesame");
    cr_assert_eq(check(NULL), 0);
}

Test(request, compares_tokens_exactly)
{
    cr_assert(iamp_token_equal("abc", 3, "abc", 3));
    cr_assert_not(iamp_token_equal("abc", 3, "abd", 3));
    cr_assert_not(iamp_token_equal("abc", 3, "ab", 2));
    cr_assert_not(iamp_token_equal("", 0, "a", 1));
}

Test(request, refuses_replies_sent_as_requests)
{
    m.kind = IAMP_MSG_JOB_LIST;
    cr_assert_eq(check(NULL), IAMP_WERR_BAD_REQUEST);
    m.kind = IAMP_MSG_INFO;
    cr_assert_eq(check(NULL), 0);
}

/* Refused with code; the reason holds want. */
static void refused_with(int code, const char *want)
{
    struct iamp_refusal r;
    struct iamp_job_spec spec;
    cr_assert_eq(iamp_request_check(&ctx, &m, &spec, &r), -1);
    cr_assert_eq(r.code, code, "%s", r.reason);
    cr_assert(strstr(r.reason, want), "want '%s' in '%s'", want, r.reason);
}

Test(request, keeps_the_trace_flag_of_an_answer_job)
{
    struct iamp_job_spec spec;
    cr_assert_eq(check(&spec), 0);
    cr_assert_not(spec.trace, "off unless asked");
    iamp_job_spec_release(&spec);
    m.submit.trace = 1;
    cr_assert_eq(check(&spec), 0);
    cr_assert(spec.trace);
    iamp_job_spec_release(&spec);
}

Test(request, refuses_trace_on_other_jobs_and_under_mpirun)
{
    m.submit.trace = 1;
    m.submit.n_questions = 0;
    m.submit.kind = IAMP_JOB_EVAL;
    refused_with(IAMP_WERR_BAD_REQUEST, "trace is for answer jobs");
    m.submit.kind = IAMP_JOB_TRAIN;
    m.submit.train.rounds = 1;
    refused_with(IAMP_WERR_BAD_REQUEST, "train jobs have no question trees");
    m.submit.kind = IAMP_JOB_ANSWER;
    m.submit.n_questions = 2;
    ctx.ranks = 3;
    refused_with(IAMP_WERR_BAD_REQUEST, "under mpirun");
}

Test(request, refuses_traced_trees_a_page_cannot_carry)
{
    m.submit.trace = 1;
    m.submit.has_depth = 1;
    m.submit.depth = 6; /* permpow: up to 127 nodes a tree */
    lim.max_frame_bytes = 64u << 10;
    cr_assert_lt(iamp_limits_trace_nodes(&lim), 127);
    refused_with(IAMP_WERR_LIMIT, "one result page carries at most");
    m.submit.trace = 0;
    cr_assert_eq(check(NULL), 0, "untraced, the frame does not matter");
    lim.max_frame_bytes = 16u << 20;
    m.submit.trace = 1;
    cr_assert_eq(check(NULL), 0);
}
