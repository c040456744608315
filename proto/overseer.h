/* overseer.h — the remote overseer's messages (iamp.proto's "remote
 * overseer" section) as iamp's own types.
 *
 * iamp is the client: it sends OverseerHello and reads OverseerSchema,
 * then sends one OverseerBatch per engine pass and reads one
 * OverseerReplies (tasks/remote.c holds the conversation). Like wire.h
 * this converts between protobuf-c and plain structs; decoders check every
 * count against fixed bounds and return IAMP_ECORRUPT (not the message) or
 * IAMP_EINVAL (a field missing or out of range) with a one-line reason in
 * `why`. Encoders return malloc'd bytes the caller frees. No state.
 */
#ifndef IAMP_OVERSEER_H
#define IAMP_OVERSEER_H

#include "common/error.h"
#include "common/types.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_OV_VERSION 1u
#define IAMP_OV_ASK_MAX 16   /* asks one reply may carry: tasks/task.h's IAMP_ASK_MAX */
#define IAMP_OV_TEXT_MAX 256 /* question and answer text, NUL included */
#define IAMP_OV_NAME_MAX 128

enum iamp_ov_call_kind { IAMP_OV_PRIMITIVE = 1, IAMP_OV_START = 2, IAMP_OV_STEP = 3 };
enum iamp_ov_reply_kind { IAMP_OV_ASK = 1, IAMP_OV_DONE = 2, IAMP_OV_NOT_PRIMITIVE = 3 };

struct iamp_ov_schema {
    char name[IAMP_OV_NAME_MAX];
    char task[128];           /* the built-in task spec; "" when absent */
    uint32_t primitive_types; /* all ones when absent */
    int want_text;
    char error[256]; /* the overseer refused; "" when not */
};

/* One call of a batch. q (PRIMITIVE, START) carries q->ctx; answers
 * (STEP). The text pointers are NULL unless the overseer wants text. */
struct iamp_ov_call {
    int kind;
    uint64_t episode;
    const struct iamp_question *q;
    const char *q_text;
    const struct iamp_answer *answers;
    const char *const *answer_text; /* (n_answers) */
    int n_answers;
};

/* One reply. An ask with has_tokens 0 was given by text only (ask_text),
 * for the task to parse. */
struct iamp_ov_reply {
    int kind;
    int primitive;
    int n_asks;
    struct iamp_question asks[IAMP_OV_ASK_MAX];
    int has_tokens[IAMP_OV_ASK_MAX];
    char ask_text[IAMP_OV_ASK_MAX][IAMP_OV_TEXT_MAX];
    struct iamp_answer answer;
};

IAMP_WUR int iamp_ov_hello_encode(uint8_t **out, size_t *len);
IAMP_WUR int iamp_ov_schema_decode(const uint8_t *buf, size_t len, struct iamp_ov_schema *s,
                                   char *why, size_t whylen);
/* Test and tool side: the overseer's own messages. */
IAMP_WUR int iamp_ov_schema_encode(const struct iamp_ov_schema *s, uint8_t **out, size_t *len);

IAMP_WUR int iamp_ov_batch_encode(uint64_t run, const struct iamp_ov_call *calls, int n,
                                  const uint64_t *ended_runs, int n_ended, uint8_t **out,
                                  size_t *len);
/* The replies to a batch of n calls into out[0..n): exactly n, the run
 * echoed, each reply's fields in range. 0 with error[0] != 0 when the
 * overseer reported a failure instead (its reason, made printable). */
IAMP_WUR int iamp_ov_replies_decode(const uint8_t *buf, size_t len, uint64_t run,
                                    struct iamp_ov_reply *out, int n, char *error, size_t errlen,
                                    char *why, size_t whylen);

#endif
