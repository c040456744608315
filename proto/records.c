/* records.c — JournalRecord and ResultFile <-> iamp types (the job
 * journal's records and the result files); see wire.h for the contract.
 *
 * Encoders build protobuf-c structs on the heap through wire.c's scratch
 * list (wire_int.h), freed before they return; strings in those structs
 * borrow the caller's buffers. Decoders copy out of the unpacked message
 * and free it in the same function; bytes that are not a valid record or
 * file give IAMP_ECORRUPT. Thread-safe: no shared state.
 */
#include "proto/wire.h"

#include "common/crc32c.h"
#include "common/fileio.h"
#include "iamp.pb-c.h"
#include "proto/pbconv_int.h"
#include "proto/wire_int.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- journal records */

void iamp_job_spec_release(struct iamp_job_spec *s)
{
    if (!s)
        return;
    free(s->qs);
    free(s->ctx);
    memset(s, 0, sizeof(*s));
}

void iamp_job_record_release(struct iamp_job_record *r)
{
    if (!r)
        return;
    iamp_job_spec_release(&r->spec);
    free(r->result);
    memset(r, 0, sizeof(*r));
}

static int spec_to_pb(const struct iamp_job_spec *s, Iamp__SubmitJob *pb, Iamp__TrainParams *tp,
                      struct scratch *sc)
{
    size_t n = (size_t)s->n;
    Iamp__Question *q = iamp__wire_scratch_alloc(sc, n, sizeof(*q));
    Iamp__Question **qp = iamp__wire_scratch_alloc(sc, n, sizeof(*qp));
    uint32_t *toks = iamp__wire_scratch_alloc(sc, n * IAMP_Q_MAX + 1, sizeof(uint32_t));
    Iamp__Context **cx = NULL;
    if (!q || !qp || !toks || iamp__wire_contexts_to_pb(s->ctx, (size_t)s->n_ctx, &cx, sc))
        return IAMP_ENOMEM;
    iamp__submit_job__init(pb);
    pb->n_contexts = (size_t)s->n_ctx;
    pb->contexts = cx;
    pb->kind = (Iamp__JobKind)s->kind;
    pb->task = (char *)s->task;
    pb->has_depth = 1;
    pb->depth = s->depth;
    pb->client_key = s->client_key[0] ? (char *)s->client_key : NULL;
    pb->has_eval_size = 1;
    pb->eval_size = s->eval_size;
    pb->has_trace = pb->trace = s->trace != 0; /* absent when off: records as before */
    for (size_t i = 0; i < n; i++) {
        iamp_pb_question_to(&s->qs[i], NULL, &q[i], toks + i * IAMP_Q_MAX);
        q[i].has_context = s->qs[i].ctx != NULL; /* the spec's own array */
        q[i].context = s->qs[i].ctx ? (uint32_t)(s->qs[i].ctx - s->ctx) : 0;
        qp[i] = &q[i];
    }
    pb->n_questions = n;
    pb->questions = qp;
    iamp__wire_train_to_pb(&s->train, tp);
    pb->train = tp;
    return 0;
}

int iamp_job_record_encode(const struct iamp_job_record *r, uint8_t **buf, size_t *len)
{
    Iamp__JournalRecord pb = IAMP__JOURNAL_RECORD__INIT;
    Iamp__SubmitJob sub;
    Iamp__TrainParams tp;
    Iamp__JobStatus st;
    struct scratch sc = {{0}, 0};
    int rc = 0;
    *buf = NULL;
    pb.kind = (Iamp__RecordKind)r->kind;
    pb.job_id = r->job_id;
    pb.has_time_ms = 1;
    pb.time_ms = r->time_ms;
    if (r->kind == IAMP_REC_SUBMIT) {
        rc = spec_to_pb(&r->spec, &sub, &tp, &sc);
        pb.submit = &sub;
    } else if (r->kind == IAMP_REC_END) {
        iamp__wire_status_to_pb(&r->status, &st);
        pb.status = &st;
        pb.has_result = r->result != NULL;
        pb.result.data = r->result;
        pb.result.len = r->result_len;
    }
    if (!rc) {
        size_t n = iamp__journal_record__get_packed_size(&pb);
        *buf = malloc(n ? n : 1);
        rc = *buf ? 0 : IAMP_ENOMEM;
        if (!rc)
            *len = iamp__journal_record__pack(&pb, *buf);
    }
    iamp__wire_scratch_free(&sc);
    return rc;
}

static int spec_from_pb(const Iamp__SubmitJob *pb, struct iamp_job_spec *s)
{
    if ((int)pb->kind < IAMP_JOB_ANSWER || (int)pb->kind > IAMP_JOB_EVAL || !pb->task ||
        strlen(pb->task) >= sizeof(s->task) ||
        (pb->client_key && strlen(pb->client_key) >= sizeof(s->client_key)))
        return IAMP_ECORRUPT;
    s->kind = (int)pb->kind;
    strcpy(s->task, pb->task);
    if (pb->client_key)
        strcpy(s->client_key, pb->client_key);
    s->depth = pb->depth;
    s->eval_size = pb->eval_size;
    s->trace = pb->has_trace && pb->trace;
    if (iamp__wire_train_from_pb(pb->train, &s->train, NULL, 0))
        return IAMP_ECORRUPT;
    if (pb->n_questions > (1u << 26))
        return IAMP_ECORRUPT;
    s->qs = calloc(pb->n_questions ? pb->n_questions : 1, sizeof(*s->qs));
    if (!s->qs)
        return IAMP_ENOMEM;
    s->n = (int)pb->n_questions;
    if (iamp_pb_contexts_from(pb->contexts, pb->n_contexts, &s->ctx))
        return IAMP_ECORRUPT;
    s->n_ctx = (int)pb->n_contexts;
    for (size_t i = 0; i < pb->n_questions; i++)
        if (iamp_pb_question_from(pb->questions[i], &s->qs[i]) ||
            iamp_pb_question_context(pb->questions[i], s->ctx, pb->n_contexts, &s->qs[i]))
            return IAMP_ECORRUPT;
    return 0;
}

static int record_from_pb(const Iamp__JournalRecord *pb, struct iamp_job_record *r)
{
    r->kind = (int)pb->kind;
    r->job_id = pb->job_id;
    r->time_ms = pb->time_ms;
    switch (r->kind) {
    case IAMP_REC_SUBMIT:
        return pb->submit ? spec_from_pb(pb->submit, &r->spec) : IAMP_ECORRUPT;
    case IAMP_REC_END:
        if (!pb->status || iamp__wire_status_from_pb(pb->status, &r->status, NULL, 0))
            return IAMP_ECORRUPT;
        if (pb->has_result) {
            r->result = malloc(pb->result.len ? pb->result.len : 1);
            if (!r->result)
                return IAMP_ENOMEM;
            memcpy(r->result, pb->result.data, pb->result.len);
            r->result_len = pb->result.len;
        }
        return 0;
    case IAMP_REC_CANCEL:
        return 0;
    default:
        return IAMP_ECORRUPT;
    }
}

int iamp_job_record_decode(const uint8_t *buf, size_t len, struct iamp_job_record *r)
{
    memset(r, 0, sizeof(*r));
    Iamp__JournalRecord *pb = iamp__journal_record__unpack(NULL, len, buf);
    if (!pb)
        return IAMP_ECORRUPT;
    int rc = record_from_pb(pb, r);
    iamp__journal_record__free_unpacked(pb, NULL);
    if (rc)
        iamp_job_record_release(r);
    return rc;
}

/* ---------------------------------------------------------- result files */

void iamp_result_release(struct iamp_result *r)
{
    if (!r)
        return;
    free(r->qs);
    free(r->as);
    free(r->ctx);
    free(r->tree_at);
    free(r->nodes);
    memset(r, 0, sizeof(*r));
}

/* A traced result's trees: the nodes, one tree after another, and each
 * tree's size. */
static int traces_to_pb(const struct iamp_result *r, Iamp__ResultData *pb, struct scratch *sc)
{
    size_t n = (size_t)r->n, total = (size_t)r->tree_at[n];
    uint32_t *sizes = iamp__wire_scratch_alloc(sc, n, sizeof(uint32_t));
    if (!sizes || iamp__wire_nodes_to_pb(r->nodes, NULL, total, &pb->trace, sc))
        return IAMP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        sizes[i] = (uint32_t)(r->tree_at[i + 1] - r->tree_at[i]);
    pb->n_trace = total;
    pb->n_trace_sizes = n;
    pb->trace_sizes = sizes;
    return 0;
}

static int result_encode(const struct iamp_result *r, uint8_t **buf, size_t *len)
{
    Iamp__ResultData pb = IAMP__RESULT_DATA__INIT;
    struct scratch sc = {{0}, 0};
    size_t n = (size_t)r->n;
    Iamp__Question *q = iamp__wire_scratch_alloc(&sc, n, sizeof(*q));
    Iamp__Question **qp = iamp__wire_scratch_alloc(&sc, n, sizeof(*qp));
    Iamp__Answer *a = iamp__wire_scratch_alloc(&sc, n, sizeof(*a));
    Iamp__Answer **ap = iamp__wire_scratch_alloc(&sc, n, sizeof(*ap));
    uint32_t *toks =
        iamp__wire_scratch_alloc(&sc, n * (IAMP_Q_MAX + IAMP_A_MAX) + 1, sizeof(uint32_t));
    int rc = IAMP_ENOMEM;
    Iamp__Context **cx = NULL;
    *buf = NULL;
    if (!q || !qp || !a || !ap || !toks ||
        iamp__wire_contexts_to_pb(r->ctx, (size_t)r->n_ctx, &cx, &sc))
        goto out;
    pb.n_contexts = (size_t)r->n_ctx;
    pb.contexts = cx;
    pb.job_id = r->job_id;
    pb.task = (char *)r->task;
    pb.has_depth = pb.has_model_round = 1;
    pb.depth = r->depth;
    pb.model_round = r->model_round;
    for (size_t i = 0; i < n; i++) {
        uint32_t *t = toks + i * (IAMP_Q_MAX + IAMP_A_MAX);
        iamp_pb_question_to(&r->qs[i], NULL, &q[i], t);
        q[i].has_context = r->qs[i].ctx != NULL; /* r's own array */
        q[i].context = r->qs[i].ctx ? (uint32_t)(r->qs[i].ctx - r->ctx) : 0;
        iamp_pb_answer_to(&r->as[i], NULL, &a[i], t + IAMP_Q_MAX);
        qp[i] = &q[i];
        ap[i] = &a[i];
    }
    pb.n_questions = pb.n_answers = n;
    pb.questions = qp;
    pb.answers = ap;
    if (r->tree_at && traces_to_pb(r, &pb, &sc))
        goto out;
    size_t sz = iamp__result_data__get_packed_size(&pb);
    *buf = malloc(sz ? sz : 1);
    if (!*buf)
        goto out;
    *len = iamp__result_data__pack(&pb, *buf);
    rc = 0;
out:
    iamp__wire_scratch_free(&sc);
    return rc;
}

int iamp_result_encode_file(const struct iamp_result *r, uint8_t **buf, size_t *len)
{
    uint8_t *payload = NULL, *file = NULL;
    size_t plen = 0;
    *buf = NULL;
    *len = 0;
    int rc = result_encode(r, &payload, &plen);
    if (rc)
        return rc;
    Iamp__ResultFile pb = IAMP__RESULT_FILE__INIT;
    pb.magic = IAMP_RESULT_MAGIC;
    pb.payload.data = payload;
    pb.payload.len = plen;
    pb.crc32c = iamp_crc32c(0, payload, plen);
    size_t n = iamp__result_file__get_packed_size(&pb);
    file = malloc(n ? n : 1);
    if (!file) {
        rc = IAMP_ENOMEM;
    } else {
        *len = iamp__result_file__pack(&pb, file);
        *buf = file;
    }
    free(payload);
    return rc;
}

int iamp_result_save(const char *path, const struct iamp_result *r)
{
    uint8_t *file = NULL;
    size_t n = 0;
    int rc = iamp_result_encode_file(r, &file, &n);
    if (!rc)
        rc = iamp_file_write_atomic(path, file, n);
    free(file);
    return rc;
}

/* The trees of a traced result (pb has one size per question); every
 * node is on its root's facts. */
static int traces_from_pb(const Iamp__ResultData *pb, struct iamp_result *r)
{
    size_t n = pb->n_questions, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (pb->trace_sizes[i] == 0)
            return IAMP_ECORRUPT;
        total += pb->trace_sizes[i];
    }
    if (total != pb->n_trace)
        return IAMP_ECORRUPT;
    r->tree_at = malloc((n + 1) * sizeof(*r->tree_at));
    r->nodes = calloc(total ? total : 1, sizeof(*r->nodes));
    if (!r->tree_at || !r->nodes)
        return IAMP_ENOMEM;
    r->tree_at[0] = 0;
    for (size_t i = 0; i < n; i++) {
        long at = r->tree_at[i];
        r->tree_at[i + 1] = at + (long)pb->trace_sizes[i];
        if (iamp__wire_tree_from_pb(pb->trace + at, pb->trace_sizes[i], r->nodes + at, NULL))
            return IAMP_ECORRUPT;
        for (long k = at; k < r->tree_at[i + 1]; k++)
            r->nodes[k].q.ctx = r->qs[i].ctx;
    }
    return 0;
}

static int result_from_pb(const Iamp__ResultData *pb, struct iamp_result *r)
{
    if (!pb->task || strlen(pb->task) >= sizeof(r->task) || pb->n_questions != pb->n_answers ||
        pb->n_questions > (1u << 26))
        return IAMP_ECORRUPT;
    r->job_id = pb->job_id;
    strcpy(r->task, pb->task);
    r->depth = pb->depth;
    r->model_round = pb->model_round;
    size_t n = pb->n_questions;
    r->qs = calloc(n ? n : 1, sizeof(*r->qs));
    r->as = calloc(n ? n : 1, sizeof(*r->as));
    if (!r->qs || !r->as)
        return IAMP_ENOMEM;
    r->n = (int)n;
    if (iamp_pb_contexts_from(pb->contexts, pb->n_contexts, &r->ctx))
        return IAMP_ECORRUPT;
    r->n_ctx = (int)pb->n_contexts;
    for (size_t i = 0; i < n; i++)
        if (iamp_pb_question_from(pb->questions[i], &r->qs[i]) ||
            iamp_pb_question_context(pb->questions[i], r->ctx, pb->n_contexts, &r->qs[i]) ||
            iamp_pb_answer_from(pb->answers[i], &r->as[i]))
            return IAMP_ECORRUPT;
    if (pb->n_trace_sizes == 0 && pb->n_trace == 0)
        return 0; /* untraced, or written before traces */
    return pb->n_trace_sizes == n ? traces_from_pb(pb, r) : IAMP_ECORRUPT;
}

static int result_from_file(const uint8_t *buf, size_t len, struct iamp_result *r)
{
    Iamp__ResultFile *f = iamp__result_file__unpack(NULL, len, buf);
    if (!f)
        return IAMP_ECORRUPT;
    int rc = IAMP_ECORRUPT;
    if (f->magic == IAMP_RESULT_MAGIC &&
        f->crc32c == iamp_crc32c(0, f->payload.data, f->payload.len)) {
        Iamp__ResultData *pb = iamp__result_data__unpack(NULL, f->payload.len, f->payload.data);
        if (pb) {
            rc = result_from_pb(pb, r);
            iamp__result_data__free_unpacked(pb, NULL);
        }
    }
    iamp__result_file__free_unpacked(f, NULL);
    return rc;
}

int iamp_result_decode_file(const uint8_t *buf, size_t len, struct iamp_result *r)
{
    memset(r, 0, sizeof(*r));
    int rc = result_from_file(buf, len, r);
    if (rc)
        iamp_result_release(r);
    return rc;
}

int iamp_result_load(const char *path, struct iamp_result *r)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(r, 0, sizeof(*r));
    int rc = iamp_file_read(path, IAMP_RESULT_MAX_BYTES, &buf, &len);
    if (rc == IAMP_ELIMIT)
        rc = IAMP_ECORRUPT;
    if (!rc)
        rc = iamp_result_decode_file(buf, len, r);
    free(buf);
    return rc;
}
