/* fuzz_request.c — libFuzzer target for what a client can send: the bytes
 * of one connection go through the frame reader (split into reads of a
 * fuzzed size), each frame through the Envelope decoder and the request
 * check exactly as the server handles them (serve/handle.c), and the reply the server would
 * send is encoded and decoded again as a client would. Each frame is also
 * tried as a journal record (replay reads those). A crash, a sanitizer
 * report or a leak is a bug.
 *
 * Input: byte 0 sets the read size (1..64), bit 0 of byte 1 whether the
 * server requires a token, the rest is the stream.
 */
#include "coordinator/serve/request.h"
#include "proto/frame.h"
#include "proto/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct iamp_task task;
static struct iamp_limits lim;
static struct iamp_msg_limits mlim;
static int ready;

static void setup(void)
{
    char err[256];
    if (iamp_task_create(&task, "permpow:n=16,kmax=15", err, sizeof(err)))
        abort();
    iamp_limits_default(&lim);
    lim.max_frame_bytes = 1u << 16;
    lim.max_questions = 64;
    lim.max_page_items = 64;
    iamp_limits_msg(&lim, &mlim);
    ready = 1;
}

/* The reply the server would send, encoded, then decoded as a client. */
static void reply(const struct iamp_msg *m)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct iamp_msg back;
    char why[IAMP_REASON_MAX];
    if (iamp_msg_frame(m, &buf, &len))
        abort();
    struct iamp_msg_limits client = {1u << 20, 1u << 20, 1u << 20, 1u << 22};
    if (iamp_msg_decode(buf + IAMP_FRAME_HEADER_BYTES, len - IAMP_FRAME_HEADER_BYTES, &client,
                        &back, why, sizeof(why)))
        abort(); /* what we encode must decode */
    iamp_msg_release(&back);
    free(buf);
}

static void accepted_reply(const struct iamp_msg *m, const struct iamp_job_spec *spec)
{
    struct iamp_msg out;
    memset(&out, 0, sizeof(out));
    out.request_id = m->request_id;
    out.kind = IAMP_MSG_STATUS;
    out.status.job_id = 1;
    out.status.kind = spec->kind ? spec->kind : IAMP_JOB_ANSWER;
    out.status.state = IAMP_JOB_QUEUED;
    out.status.total = (uint64_t)spec->n;
    snprintf(out.status.task, sizeof(out.status.task), "%s", spec->task);
    reply(&out);
}

static void handle(const uint8_t *f, uint32_t n, const struct iamp_request_ctx *ctx)
{
    struct iamp_msg m, out;
    struct iamp_job_spec spec;
    struct iamp_refusal r;
    struct iamp_job_record rec;
    char why[IAMP_REASON_MAX];
    memset(&out, 0, sizeof(out));
    out.kind = IAMP_MSG_ERROR;
    int rc = iamp_msg_decode(f, n, &mlim, &m, why, sizeof(why));
    if (rc) {
        out.request_id = m.request_id;
        out.error_code = iamp_request_decode_code(rc);
        snprintf(out.reason, sizeof(out.reason), "%s", why);
        reply(&out);
    } else if (iamp_request_check(ctx, &m, &spec, &r)) {
        out.request_id = m.request_id;
        out.error_code = r.code;
        snprintf(out.reason, sizeof(out.reason), "%s", r.reason);
        reply(&out);
    } else {
        accepted_reply(&m, &spec);
        iamp_job_spec_release(&spec);
    }
    iamp_msg_release(&m);
    if (iamp_job_record_decode(f, n, &rec) == 0)
        iamp_job_record_release(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    if (size < 2)
        return 0;
    size_t step = 1 + data[0] % 64;
    struct iamp_request_ctx ctx = {&lim, &task, (data[1] & 1) ? "sesame" : NULL, 6, 1};
    struct iamp_frame_reader rd;
    iamp_frame_reader_init(&rd, lim.max_frame_bytes);
    data += 2;
    size -= 2;
    for (size_t off = 0; off < size;) {
        size_t end = size - off < step ? size : off + step;
        while (off < end) {
            const uint8_t *f = NULL;
            uint32_t n = 0;
            size_t used = 0;
            int rc = iamp_frame_reader_feed(&rd, data + off, end - off, &used, &f, &n);
            off += used;
            if (rc < 0)
                goto out; /* the server replies and closes */
            if (rc == 1)
                handle(f, n, &ctx);
        }
    }
out:
    iamp_frame_reader_release(&rd);
    return 0;
}
