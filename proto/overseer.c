/* overseer.c — see overseer.h. */
#include "proto/overseer.h"

#include "proto/pbconv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(IAMP_OV_TEXT_MAX >= 2, "text room");

/* Copy a peer's string, keeping printable ASCII (anything else reads as
 * '?'), so a reason can go into a one-line message. */
static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t k = 0;
    for (; src && src[k] && k + 1 < cap; k++) {
        unsigned char ch = (unsigned char)src[k];
        dst[k] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[k] = 0;
}

static int pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return IAMP_ENOMEM;
    protobuf_c_message_pack(m, b);
    *out = b;
    *len = n;
    return 0;
}

int iamp_ov_hello_encode(uint8_t **out, size_t *len)
{
    Iamp__OverseerHello h = IAMP__OVERSEER_HELLO__INIT;
    h.version = IAMP_OV_VERSION;
    return pack(&h.base, out, len);
}

int iamp_ov_schema_encode(const struct iamp_ov_schema *s, uint8_t **out, size_t *len)
{
    Iamp__OverseerSchema m = IAMP__OVERSEER_SCHEMA__INIT;
    m.version = IAMP_OV_VERSION;
    m.name = s->name[0] ? (char *)s->name : NULL;
    m.task = s->task[0] ? (char *)s->task : NULL;
    m.has_primitive_types = s->primitive_types != 0xffffffffu;
    m.primitive_types = s->primitive_types;
    m.error = s->error[0] ? (char *)s->error : NULL;
    m.has_want_text = s->want_text != 0;
    m.want_text = s->want_text != 0;
    return pack(&m.base, out, len);
}

int iamp_ov_schema_decode(const uint8_t *buf, size_t len, struct iamp_ov_schema *s, char *why,
                          size_t whylen)
{
    memset(s, 0, sizeof(*s));
    Iamp__OverseerSchema *m = iamp__overseer_schema__unpack(NULL, len, buf);
    if (!m) {
        snprintf(why, whylen, "its schema is not an OverseerSchema message");
        return IAMP_ECORRUPT;
    }
    int rc = 0;
    if (m->version != IAMP_OV_VERSION) {
        snprintf(why, whylen, "it speaks protocol version %u, iamp speaks %u", m->version,
                 IAMP_OV_VERSION);
        rc = IAMP_EVERSION;
    } else if (m->error) {
        copy_text(s->error, sizeof(s->error), m->error);
    } else if (!m->task || !m->task[0]) {
        snprintf(why, whylen, "its schema names no task (OverseerSchema.task)");
        rc = IAMP_EINVAL;
    } else if (strlen(m->task) >= sizeof(s->task)) {
        snprintf(why, whylen, "its schema's task is longer than %zu bytes", sizeof(s->task) - 1);
        rc = IAMP_EINVAL;
    } else {
        copy_text(s->name, sizeof(s->name), m->name ? m->name : "");
        copy_text(s->task, sizeof(s->task), m->task);
        s->primitive_types = m->has_primitive_types ? m->primitive_types : 0xffffffffu;
        s->want_text = m->has_want_text && m->want_text;
    }
    iamp__overseer_schema__free_unpacked(m, NULL);
    return rc;
}

/* ------------------------------------------------------------ batches */

int iamp_ov_batch_encode(uint64_t run, const struct iamp_ov_call *calls, int n,
                         const uint64_t *ended_runs, int n_ended, uint8_t **out, size_t *len)
{
    size_t nc = (size_t)(n > 0 ? n : 1);
    long n_ans = 0;
    for (int i = 0; i < n; i++)
        n_ans += calls[i].n_answers;
    Iamp__OverseerCall *pc = calloc(nc, sizeof(*pc));
    Iamp__OverseerCall **pp = calloc(nc, sizeof(*pp));
    Iamp__Question *pq = calloc(nc, sizeof(*pq));
    uint32_t *qt = calloc(nc * IAMP_Q_MAX, sizeof(*qt));
    size_t na = (size_t)(n_ans ? n_ans : 1);
    Iamp__Answer *pa = calloc(na, sizeof(*pa));
    Iamp__Answer **pap = calloc(na, sizeof(*pap));
    uint32_t *at = calloc(na * IAMP_A_MAX, sizeof(*at));
    struct iamp_pb_contexts cx;
    iamp_pb_contexts_init(&cx);
    int rc = (!pc || !pp || !pq || !qt || !pa || !pap || !at) ? IAMP_ENOMEM : 0;
    long a = 0;
    for (int i = 0; !rc && i < n; i++) {
        const struct iamp_ov_call *c = &calls[i];
        iamp__overseer_call__init(&pc[i]);
        pc[i].kind = (Iamp__OverseerCallKind)c->kind;
        pc[i].episode = c->episode;
        if (c->q) {
            iamp_pb_question_to(c->q, c->q_text, &pq[i], qt + (size_t)i * IAMP_Q_MAX);
            rc = iamp_pb_contexts_add(&cx, c->q->ctx, &pq[i]);
            pc[i].question = &pq[i];
        }
        pc[i].answers = pap + a;
        pc[i].n_answers = (size_t)c->n_answers;
        for (int k = 0; k < c->n_answers; k++, a++) {
            iamp_pb_answer_to(&c->answers[k], c->answer_text ? c->answer_text[k] : NULL, &pa[a],
                              at + (size_t)a * IAMP_A_MAX);
            pap[a] = &pa[a];
        }
        pp[i] = &pc[i];
    }
    if (!rc)
        rc = iamp_pb_contexts_finish(&cx);
    if (!rc) {
        Iamp__OverseerBatch b = IAMP__OVERSEER_BATCH__INIT;
        b.run = run;
        b.calls = pp;
        b.n_calls = (size_t)n;
        b.contexts = cx.ptr;
        b.n_contexts = (size_t)cx.n;
        b.ended_runs = (uint64_t *)ended_runs;
        b.n_ended_runs = (size_t)n_ended;
        rc = pack(&b.base, out, len);
    }
    iamp_pb_contexts_release(&cx);
    free(pc);
    free(pp);
    free(pq);
    free(qt);
    free(pa);
    free(pap);
    free(at);
    return rc;
}

static int reply_from(const Iamp__OverseerReply *r, struct iamp_ov_reply *o, int i, char *why,
                      size_t whylen)
{
    memset(o, 0, sizeof(*o));
    o->kind = (int)r->kind;
    o->primitive = r->has_primitive && r->primitive;
    if (o->kind != IAMP_OV_ASK && o->kind != IAMP_OV_DONE && o->kind != IAMP_OV_NOT_PRIMITIVE) {
        snprintf(why, whylen, "reply %d has an unknown kind %d", i, (int)r->kind);
        return IAMP_EINVAL;
    }
    if (r->n_asks > IAMP_OV_ASK_MAX) {
        snprintf(why, whylen, "reply %d asks %zu questions (at most %d)", i, r->n_asks,
                 IAMP_OV_ASK_MAX);
        return IAMP_EINVAL;
    }
    o->n_asks = (int)r->n_asks;
    for (int k = 0; k < o->n_asks; k++) {
        const Iamp__Question *q = r->asks[k];
        o->has_tokens[k] = q->has_type || q->n_tokens > 0;
        if (q->text) {
            if (strlen(q->text) >= IAMP_OV_TEXT_MAX) {
                snprintf(why, whylen, "reply %d: ask %d's text is over %d bytes", i, k,
                         IAMP_OV_TEXT_MAX - 1);
                return IAMP_EINVAL;
            }
            copy_text(o->ask_text[k], IAMP_OV_TEXT_MAX, q->text);
            o->has_tokens[k] = 0; /* text wins, as everywhere in the API */
        } else if (!o->has_tokens[k]) {
            snprintf(why, whylen, "reply %d: ask %d has neither tokens nor text", i, k);
            return IAMP_EINVAL;
        }
        if (o->has_tokens[k] && iamp_pb_question_from(q, &o->asks[k])) {
            snprintf(why, whylen, "reply %d: ask %d has more than %d tokens or a token over 65535",
                     i, k, IAMP_Q_MAX);
            return IAMP_EINVAL;
        }
    }
    if (r->answer && iamp_pb_answer_from(r->answer, &o->answer)) {
        snprintf(why, whylen, "reply %d: its answer has more than %d tokens or a token over 65535",
                 i, IAMP_A_MAX);
        return IAMP_EINVAL;
    }
    if (o->kind == IAMP_OV_DONE && !r->answer) {
        snprintf(why, whylen, "reply %d is DONE without an answer", i);
        return IAMP_EINVAL;
    }
    return 0;
}

int iamp_ov_replies_decode(const uint8_t *buf, size_t len, uint64_t run, struct iamp_ov_reply *out,
                           int n, char *error, size_t errlen, char *why, size_t whylen)
{
    error[0] = 0;
    Iamp__OverseerReplies *m = iamp__overseer_replies__unpack(NULL, len, buf);
    if (!m) {
        snprintf(why, whylen, "its reply is not an OverseerReplies message");
        return IAMP_ECORRUPT;
    }
    int rc = 0;
    if (m->error) {
        copy_text(error, errlen, m->error[0] ? m->error : "(an empty reason)");
    } else if (m->run != run) {
        snprintf(why, whylen, "it replied for run %llu to a batch of run %llu",
                 (unsigned long long)m->run, (unsigned long long)run);
        rc = IAMP_EINVAL;
    } else if (m->n_replies != (size_t)n) {
        snprintf(why, whylen, "it sent %zu replies to a batch of %d calls", m->n_replies, n);
        rc = IAMP_EINVAL;
    }
    for (int i = 0; !rc && !error[0] && i < n; i++)
        rc = reply_from(m->replies[i], &out[i], i, why, whylen);
    iamp__overseer_replies__free_unpacked(m, NULL);
    return rc;
}
