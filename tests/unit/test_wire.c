/* test_wire.c — every job-API message, journal record and result file
 * round-trips, and bad bytes are refused with the right code before they
 * are trusted. */
#include "proto/codec.h"
#include "proto/wire.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct iamp_msg_limits lim = {1000, 1000, 1000, 100000};

/* Frame m, strip the length, decode into out. */
static int round_trip(const struct iamp_msg *m, struct iamp_msg *out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    char why[256];
    cr_assert_eq(iamp_msg_frame(m, &buf, &len), 0);
    cr_assert_eq(iamp_frame_get_len(buf), len - 4);
    int rc = iamp_msg_decode(buf + 4, len - 4, &lim, out, why, sizeof(why));
    free(buf);
    return rc;
}

Test(wire, submit_round_trips)
{
    struct iamp_msg m, out;
    struct iamp_wire_question qs[2];
    memset(&m, 0, sizeof(m));
    memset(qs, 0, sizeof(qs));
    qs[0].has_text = 1;
    snprintf(qs[0].text, sizeof(qs[0].text), "pow x=5 k=37");
    qs[1].has_tokens = 1;
    qs[1].q = (struct iamp_question){.type = 0, .len = 2, .tok = {3, 40}};
    m.kind = IAMP_MSG_SUBMIT;
    m.request_id = 77;
    m.has_token = 1;
    snprintf(m.token, sizeof(m.token), "secret");
    m.submit = (struct iamp_submit){.kind = IAMP_JOB_ANSWER, .has_depth = 1, .depth = 2};
    snprintf(m.submit.task, sizeof(m.submit.task), "permpow:n=16");
    snprintf(m.submit.client_key, sizeof(m.submit.client_key), "k1");
    m.submit.n_questions = 2;
    m.submit.questions = qs;
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert_eq(out.kind, IAMP_MSG_SUBMIT);
    cr_assert_eq(out.request_id, 77);
    cr_assert_str_eq(out.token, "secret");
    cr_assert_str_eq(out.submit.task, "permpow:n=16");
    cr_assert_str_eq(out.submit.client_key, "k1");
    cr_assert_eq(out.submit.depth, 2);
    cr_assert_eq(out.submit.n_questions, 2);
    cr_assert_str_eq(out.submit.questions[0].text, "pow x=5 k=37");
    cr_assert_not(out.submit.questions[0].has_tokens);
    cr_assert(out.submit.questions[1].has_tokens);
    cr_assert_eq(out.submit.questions[1].q.tok[1], 40);
    iamp_msg_release(&out);
}

Test(wire, result_page_round_trips)
{
    struct iamp_msg m, out;
    struct iamp_result_item it;
    memset(&m, 0, sizeof(m));
    memset(&it, 0, sizeof(it));
    it.q = (struct iamp_question){.type = 0, .len = 2, .tok = {5, 37}};
    it.a.len = 1;
    it.a.tok[0] = 58;
    snprintf(it.qtext, sizeof(it.qtext), "pow x=5 k=37");
    snprintf(it.atext, sizeof(it.atext), "58");
    it.depth = 1;
    it.context = -1;
    m.kind = IAMP_MSG_RESULT;
    m.page = (struct iamp_result_page){
        .job_id = 9, .offset = 3, .total = 4, .n_items = 1, .items = &it, .has_status = 1};
    m.page.status.job_id = 9;
    m.page.status.state = IAMP_JOB_DONE;
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert_eq(out.page.total, 4);
    cr_assert_eq(out.page.n_items, 1);
    cr_assert_str_eq(out.page.items[0].atext, "58");
    cr_assert_eq(out.page.items[0].a.tok[0], 58);
    cr_assert_eq(out.page.status.state, IAMP_JOB_DONE);
    cr_assert_eq(out.page.items[0].context, -1, "no facts: no context");
    iamp_msg_release(&out);
}

Test(wire, result_items_and_submits_carry_their_facts)
{
    struct iamp_msg m, out;
    struct iamp_result_item it[2];
    memset(&m, 0, sizeof(m));
    memset(it, 0, sizeof(it));
    struct iamp_context c = {.n_facts = 3, .fact_len = 2, .tok = {{0, 1}, {1, 2}, {2, 0}}};
    for (int i = 0; i < 2; i++) {
        it[i].q = (struct iamp_question){.type = 0, .len = 2, .tok = {(uint16_t)i, 16}};
        it[i].context = i ? 1 : -1;
        it[i].facts = c;
        snprintf(it[i].qtext, sizeof(it[i].qtext), "pow x=%d k=1", i);
    }
    m.kind = IAMP_MSG_RESULT;
    m.page = (struct iamp_result_page){.job_id = 9, .total = 2, .n_items = 2, .items = it};
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert_eq(out.page.items[0].context, -1);
    cr_assert_eq(out.page.items[1].context, 1);
    cr_assert_eq(memcmp(&out.page.items[1].facts, &c, sizeof(c)), 0);
    iamp_msg_release(&out);

    struct iamp_wire_question wq[2];
    struct iamp_context cs[2] = {c, c};
    cs[1].tok[0][1] = 2;
    cs[1].tok[1][1] = 0;
    cs[1].tok[2][1] = 1;
    memset(&m, 0, sizeof(m));
    memset(wq, 0, sizeof(wq));
    for (int i = 0; i < 2; i++) {
        wq[i].has_text = 1;
        snprintf(wq[i].text, sizeof(wq[i].text), "pow x=0 k=1");
        wq[i].context = 1 - i;
    }
    m.kind = IAMP_MSG_SUBMIT;
    m.submit = (struct iamp_submit){.kind = IAMP_JOB_ANSWER,
                                    .n_questions = 2,
                                    .questions = wq,
                                    .n_contexts = 2,
                                    .contexts = cs};
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert_eq(out.submit.n_contexts, 2);
    cr_assert_eq(out.submit.questions[0].context, 1);
    cr_assert_eq(out.submit.questions[1].context, 0);
    cr_assert_eq(memcmp(out.submit.contexts, cs, sizeof(cs)), 0, "in the order sent");
    iamp_msg_release(&out);
}

Test(wire, refuses_another_protocol_version)
{
    struct iamp_msg m, out;
    memset(&m, 0, sizeof(m));
    m.version = 2;
    m.request_id = 5;
    m.kind = IAMP_MSG_INFO;
    cr_assert_eq(round_trip(&m, &out), IAMP_EVERSION);
    cr_assert_eq(out.request_id, 5, "the reply can still echo the request id");
}

Test(wire, refuses_bytes_that_are_not_an_envelope)
{
    static const uint8_t junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    struct iamp_msg out;
    char why[256];
    cr_assert_eq(iamp_msg_decode(junk, sizeof(junk) - 1, &lim, &out, why, sizeof(why)),
                 IAMP_ECORRUPT);
    cr_assert_eq(iamp_msg_decode(junk, 0, &lim, &out, why, sizeof(why)), IAMP_ECORRUPT);
}

Test(wire, refuses_too_many_questions)
{
    struct iamp_msg m, out;
    struct iamp_wire_question *qs = calloc(1001, sizeof(*qs));
    memset(&m, 0, sizeof(m));
    for (int i = 0; i < 1001; i++) {
        qs[i].has_text = 1;
        snprintf(qs[i].text, sizeof(qs[i].text), "pow x=1 k=1");
    }
    m.kind = IAMP_MSG_SUBMIT;
    m.submit.kind = IAMP_JOB_ANSWER;
    m.submit.n_questions = 1001;
    m.submit.questions = qs;
    cr_assert_eq(round_trip(&m, &out), IAMP_ELIMIT);
    free(qs);
}

Test(wire, refuses_an_envelope_without_a_body)
{
    static const uint8_t only_version[] = {0x08, 0x01}; /* version = 1 */
    struct iamp_msg out;
    char why[256];
    cr_assert_eq(iamp_msg_decode(only_version, 2, &lim, &out, why, sizeof(why)), IAMP_EINVAL);
}

Test(wire, journal_records_round_trip)
{
    struct iamp_job_record r, out;
    struct iamp_question qs[2] = {{.type = 0, .len = 2, .tok = {1, 2}},
                                  {.type = 0, .len = 2, .tok = {3, 4}}};
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&r, 0, sizeof(r));
    r.kind = IAMP_REC_SUBMIT;
    r.job_id = 12;
    r.time_ms = 123456789;
    r.spec = (struct iamp_job_spec){.kind = IAMP_JOB_ANSWER, .depth = 2, .n = 2, .qs = qs};
    snprintf(r.spec.task, sizeof(r.spec.task), "permpow:n=64,seed=1,kmax=63");
    cr_assert_eq(iamp_job_record_encode(&r, &buf, &len), 0);
    cr_assert_eq(iamp_job_record_decode(buf, len, &out), 0);
    cr_assert_eq(out.job_id, 12);
    cr_assert_eq(out.time_ms, 123456789);
    cr_assert_eq(out.spec.n, 2);
    cr_assert_eq(out.spec.qs[1].tok[1], 4);
    cr_assert_str_eq(out.spec.task, "permpow:n=64,seed=1,kmax=63");
    iamp_job_record_release(&out);
    free(buf);
    memset(&r, 0, sizeof(r));
    r.kind = IAMP_REC_END;
    r.job_id = 12;
    r.status.state = IAMP_JOB_FAILED;
    snprintf(r.status.message, sizeof(r.status.message), "why not");
    cr_assert_eq(iamp_job_record_encode(&r, &buf, &len), 0);
    cr_assert_eq(iamp_job_record_decode(buf, len, &out), 0);
    cr_assert_eq(out.status.state, IAMP_JOB_FAILED);
    cr_assert_str_eq(out.status.message, "why not");
    iamp_job_record_release(&out);
    free(buf);
}

/* A job on facts: its SUBMIT record and its result keep the contexts in
 * the job's order, each question pointing at its own. */
Test(wire, journal_records_and_results_keep_the_facts)
{
    struct iamp_context c[2] = {{.n_facts = 2, .fact_len = 2, .tok = {{0, 1}, {1, 0}}},
                                {.n_facts = 3, .fact_len = 2, .tok = {{4, 5}, {5, 6}, {6, 4}}}};
    struct iamp_question qs[3] = {{.type = 0, .len = 2, .tok = {4, 16}, .ctx = &c[1]},
                                  {.type = 0, .len = 2, .tok = {0, 17}, .ctx = &c[0]},
                                  {.type = 0, .len = 2, .tok = {5, 16}, .ctx = &c[1]}};
    struct iamp_job_record r, out;
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(&r, 0, sizeof(r));
    r.kind = IAMP_REC_SUBMIT;
    r.job_id = 3;
    r.spec = (struct iamp_job_spec){
        .kind = IAMP_JOB_ANSWER, .depth = 1, .n = 3, .qs = qs, .n_ctx = 2, .ctx = c};
    snprintf(r.spec.task, sizeof(r.spec.task), "permpow:n=16,kmax=15,context=1");
    cr_assert_eq(iamp_job_record_encode(&r, &buf, &len), 0);
    cr_assert_eq(iamp_job_record_decode(buf, len, &out), 0);
    cr_assert_eq(out.spec.n_ctx, 2);
    cr_assert_eq(memcmp(out.spec.ctx, c, sizeof(c)), 0, "in the job's order");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(out.spec.qs[i].ctx - out.spec.ctx, qs[i].ctx - c, "question %d", i);
    iamp_job_record_release(&out);
    free(buf);

    struct iamp_answer as[3] = {
        {.len = 1, .tok = {5}}, {.len = 1, .tok = {1}}, {.len = 1, .tok = {6}}};
    struct iamp_result
        res = {.job_id = 3, .depth = 1, .n = 3, .qs = qs, .as = as, .n_ctx = 2, .ctx = c},
        back;
    snprintf(res.task, sizeof(res.task), "permpow:n=16,kmax=15,context=1");
    cr_assert_eq(iamp_result_encode_file(&res, &buf, &len), 0);
    cr_assert_eq(iamp_result_decode_file(buf, len, &back), 0);
    cr_assert_eq(back.n_ctx, 2);
    cr_assert_eq(memcmp(back.ctx, c, sizeof(c)), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(back.qs[i].ctx - back.ctx, qs[i].ctx - c, "result question %d", i);
    iamp_result_release(&back);
    free(buf);
}

Test(wire, result_files_round_trip_and_detect_damage)
{
    char path[] = "/tmp/iamp-result-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    struct iamp_question qs[1] = {{.type = 0, .len = 2, .tok = {5, 37}}};
    struct iamp_answer as[1] = {{1, {58}, 0.0f}};
    struct iamp_result r = {.job_id = 3, .depth = 1, .model_round = 40, .n = 1, .qs = qs, .as = as};
    snprintf(r.task, sizeof(r.task), "permpow");
    cr_assert_eq(iamp_result_save(path, &r), 0);
    struct iamp_result out;
    cr_assert_eq(iamp_result_load(path, &out), 0);
    cr_assert_eq(out.n, 1);
    cr_assert_eq(out.model_round, 40);
    cr_assert_eq(out.as[0].tok[0], 58);
    iamp_result_release(&out);
    FILE *f = fopen(path, "r+b");
    fseek(f, 12, SEEK_SET);
    fputc(0x7f, f);
    fclose(f);
    cr_assert_eq(iamp_result_load(path, &out), IAMP_ECORRUPT);
    unlink(path);
}

/* A traced question's tree: the root asks two, the second asks one. */
static void tree_of(struct iamp_result_node *n, const struct iamp_context *ctx)
{
    static const int32_t parent[4] = {-1, 0, 0, 2};
    for (int i = 0; i < 4; i++) {
        n[i] = (struct iamp_result_node){.q = {.type = 0, .len = 2, .tok = {(uint16_t)i, 3}},
                                         .a = {.len = 1, .tok = {(uint16_t)(10 + i)}},
                                         .parent = parent[i],
                                         .depth_left = i ? 1 : 2,
                                         .step = i ? (uint32_t)i : 0,
                                         .by = i == 0   ? 3
                                               : i == 2 ? 3
                                                        : 1};
        n[i].q.ctx = ctx;
    }
}

Test(wire, traced_results_keep_their_trees)
{
    struct iamp_context c = {.n_facts = 2, .fact_len = 2, .tok = {{0, 1}, {1, 0}}};
    struct iamp_question qs[2] = {{.type = 0, .len = 2, .tok = {0, 3}, .ctx = &c},
                                  {.type = 0, .len = 2, .tok = {1, 1}, .ctx = &c}};
    struct iamp_answer as[2] = {{.len = 1, .tok = {10}}, {.len = 1, .tok = {0}}};
    struct iamp_result_node nodes[5];
    tree_of(nodes, &c);
    nodes[4] = (struct iamp_result_node){.q = qs[1], .a = as[1], .parent = -1, .by = 2};
    long at[3] = {0, 4, 5};
    struct iamp_result r = {.job_id = 5,
                            .depth = 2,
                            .n = 2,
                            .qs = qs,
                            .as = as,
                            .n_ctx = 1,
                            .ctx = &c,
                            .tree_at = at,
                            .nodes = nodes},
                       back;
    snprintf(r.task, sizeof(r.task), "permpow:n=2,context=1");
    uint8_t *buf = NULL, *plain = NULL;
    size_t len = 0, plain_len = 0;
    cr_assert_eq(iamp_result_encode_file(&r, &buf, &len), 0);
    cr_assert_eq(iamp_result_decode_file(buf, len, &back), 0);
    cr_assert_not_null(back.tree_at);
    cr_assert_eq(back.tree_at[1], 4);
    cr_assert_eq(back.tree_at[2], 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(back.nodes[i].parent, nodes[i].parent, "node %d", i);
        cr_assert_eq(back.nodes[i].step, nodes[i].step, "node %d", i);
        cr_assert_eq(back.nodes[i].depth_left, nodes[i].depth_left, "node %d", i);
        cr_assert_eq(back.nodes[i].by, nodes[i].by, "node %d", i);
        cr_assert_eq(back.nodes[i].q.tok[0], nodes[i].q.tok[0], "node %d", i);
        cr_assert_eq(back.nodes[i].a.tok[0], nodes[i].a.tok[0], "node %d", i);
        cr_assert_eq(back.nodes[i].q.ctx, back.ctx, "node %d is on its root's facts", i);
    }
    iamp_result_release(&back);
    /* Untraced, the file is the file without trees, and reads back so. */
    r.tree_at = NULL;
    r.nodes = NULL;
    cr_assert_eq(iamp_result_encode_file(&r, &plain, &plain_len), 0);
    cr_assert_lt(plain_len, len);
    cr_assert_eq(iamp_result_decode_file(plain, plain_len, &back), 0);
    cr_assert_null(back.tree_at);
    iamp_result_release(&back);
    free(buf);
    free(plain);
}

Test(wire, traced_pages_and_submits_round_trip)
{
    struct iamp_msg m, out;
    struct iamp_result_item it[2];
    struct iamp_result_node nodes[5];
    struct iamp_node_text texts[5];
    memset(&m, 0, sizeof(m));
    memset(it, 0, sizeof(it));
    tree_of(nodes, NULL);
    nodes[4] = (struct iamp_result_node){.q = {.len = 1, .tok = {7}}, .parent = -1, .by = 2};
    for (int i = 0; i < 5; i++) {
        snprintf(texts[i].question, sizeof(texts[i].question), "q%d", i);
        snprintf(texts[i].answer, sizeof(texts[i].answer), "a%d", i);
    }
    for (int i = 0; i < 2; i++) {
        it[i].context = -1;
        it[i].trace_at = i ? 4 : 0;
        it[i].trace_len = i ? 1 : 4;
    }
    m.kind = IAMP_MSG_RESULT;
    m.page = (struct iamp_result_page){.job_id = 9,
                                       .total = 2,
                                       .n_items = 2,
                                       .items = it,
                                       .n_trace = 5,
                                       .trace = nodes,
                                       .trace_text = texts};
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert_eq(out.page.n_trace, 5);
    cr_assert_eq(out.page.items[1].trace_at, 4);
    cr_assert_eq(out.page.items[1].trace_len, 1);
    cr_assert_str_eq(out.page.trace_text[3].question, "q3");
    cr_assert_str_eq(out.page.trace_text[3].answer, "a3");
    cr_assert_eq(out.page.trace[3].parent, 2);
    cr_assert_eq(out.page.trace[4].parent, -1, "a tree's root has no parent");
    iamp_msg_release(&out);

    /* A parent after its child is refused before it is trusted. */
    nodes[1].parent = 3;
    cr_assert_eq(round_trip(&m, &out), IAMP_EINVAL);

    struct iamp_wire_question q = {.has_text = 1, .text = "pow x=1 k=1", .context = -1};
    memset(&m, 0, sizeof(m));
    m.kind = IAMP_MSG_SUBMIT;
    m.submit = (struct iamp_submit){.kind = IAMP_JOB_ANSWER, .n_questions = 1, .questions = &q};
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert_not(out.submit.trace);
    iamp_msg_release(&out);
    m.submit.trace = 1;
    cr_assert_eq(round_trip(&m, &out), 0);
    cr_assert(out.submit.trace);
    iamp_msg_release(&out);

    /* The journal keeps the flag, so a traced job resumes traced. */
    struct iamp_question rq = {.type = 0, .len = 2, .tok = {1, 1}};
    struct iamp_job_record rec = {.kind = IAMP_REC_SUBMIT, .job_id = 4}, back;
    rec.spec = (struct iamp_job_spec){.kind = IAMP_JOB_ANSWER, .n = 1, .qs = &rq, .trace = 1};
    snprintf(rec.spec.task, sizeof(rec.spec.task), "permpow");
    uint8_t *buf = NULL;
    size_t len = 0;
    cr_assert_eq(iamp_job_record_encode(&rec, &buf, &len), 0);
    cr_assert_eq(iamp_job_record_decode(buf, len, &back), 0);
    cr_assert(back.spec.trace);
    iamp_job_record_release(&back);
    free(buf);
}
