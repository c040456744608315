/* wire.h — the job API's messages (Envelope and its bodies), the job
 * journal's records and the result files, as iamp's own types.
 *
 * Like codec.h this converts between protobuf-c and plain structs; wire.c
 * (the Envelope) and records.c (journal records and result files) are the
 * only other files that include iamp.pb-c.h. Decoders check every
 * count and length against fixed bounds or the caller's limits before
 * they allocate, and return:
 *   IAMP_ECORRUPT  the bytes are not the message (ERR_BAD_FRAME on the wire)
 *   IAMP_EVERSION  an Envelope of another protocol version
 *   IAMP_ELIMIT    over a limit (too many questions, too long a string)
 *   IAMP_EINVAL    well-formed but a field is missing or out of range
 * with a one-line reason in `why`.
 *
 * Ownership: decoders fill caller-owned structs whose heap fields are
 * released by the matching *_release (safe on a zeroed struct); encoders
 * return malloc'd bytes the caller frees. Thread-safe: no shared state.
 */
#ifndef IAMP_WIRE_H
#define IAMP_WIRE_H

#include "common/error.h"
#include "common/types.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_PROTOCOL_VERSION 1u
#define IAMP_TOKEN_MAX 256            /* client token bytes */
#define IAMP_REASON_MAX 256           /* error reasons and status messages, NUL included */
#define IAMP_SPEC_MAX 128             /* task spec, NUL included */
#define IAMP_ALGO_MAX 128             /* distillation modes, NUL included */
#define IAMP_KEY_MAX 129              /* client_key, NUL included */
#define IAMP_RESULT_MAGIC 0x53455249u /* "IRES" */
#define IAMP_RESULT_MAX_BYTES (1u << 30)

/* The Envelope's body, numbered as its oneof fields. */
enum iamp_msg_kind {
    IAMP_MSG_NONE = 0,
    IAMP_MSG_SUBMIT = 10,
    IAMP_MSG_ACCEPTED = 11,
    IAMP_MSG_GET_STATUS = 12,
    IAMP_MSG_STATUS = 13,
    IAMP_MSG_WATCH = 14,
    IAMP_MSG_PROGRESS = 15,
    IAMP_MSG_GET_RESULT = 16,
    IAMP_MSG_RESULT = 17,
    IAMP_MSG_CANCEL = 18,
    IAMP_MSG_LIST_JOBS = 19,
    IAMP_MSG_JOB_LIST = 20,
    IAMP_MSG_INFO = 21,
    IAMP_MSG_INFO_REPLY = 22,
    IAMP_MSG_ERROR = 23,
};

enum iamp_job_kind { IAMP_JOB_ANSWER = 1, IAMP_JOB_TRAIN = 2, IAMP_JOB_EVAL = 3 };

enum iamp_job_state {
    IAMP_JOB_QUEUED = 1,
    IAMP_JOB_RUNNING = 2,
    IAMP_JOB_DONE = 3,
    IAMP_JOB_FAILED = 4,
    IAMP_JOB_CANCELED = 5,
};

/* ErrorCode of iamp.proto. */
enum iamp_wire_error {
    IAMP_WERR_BAD_FRAME = 1,
    IAMP_WERR_VERSION = 2,
    IAMP_WERR_AUTH = 3,
    IAMP_WERR_BAD_REQUEST = 4,
    IAMP_WERR_UNKNOWN_TASK = 5,
    IAMP_WERR_LIMIT = 6,
    IAMP_WERR_NOT_FOUND = 7,
    IAMP_WERR_INTERNAL = 8,
    IAMP_WERR_BUSY = 9,
    IAMP_WERR_NOT_DONE = 10,
};

const char *iamp_job_kind_name(int kind);   /* "answer", "train", "eval", "?" */
const char *iamp_job_state_name(int state); /* "queued", ..., "canceled", "?" */
const char *iamp_wire_error_name(int code); /* "bad frame", ..., "?" */
int iamp_job_state_final(int state);        /* DONE, FAILED or CANCELED */

/* A question as it arrives: text, or type and tokens (checked to fit a
 * struct iamp_question; the task's own check comes later). */
struct iamp_wire_question {
    int has_text;
    char text[IAMP_TEXT_MAX];
    int has_tokens;
    struct iamp_question q; /* q.ctx unset: see context */
    int context;            /* its index in the submit's contexts; -1: none */
};

struct iamp_train_params {
    char algo[IAMP_ALGO_MAX]; /* "" = default */
    uint32_t rounds;          /* 0 = absent */
    int has_seed;
    uint64_t seed;
    uint32_t questions_per_round; /* 0 = default */
};

struct iamp_submit {
    int kind; /* enum iamp_job_kind */
    char task[IAMP_SPEC_MAX];
    int has_depth;
    uint32_t depth;
    int n_questions;
    struct iamp_wire_question *questions; /* (n_questions), owned */
    int n_contexts;
    struct iamp_context *contexts; /* (n_contexts), owned: the facts the questions name */
    struct iamp_train_params train;
    uint32_t eval_size; /* 0 = default */
    char client_key[IAMP_KEY_MAX];
    int trace; /* ANSWER: record each question's tree */
};

struct iamp_job_status {
    uint64_t job_id;
    int kind, state;
    uint64_t done, total;
    char message[IAMP_REASON_MAX];
    char task[IAMP_SPEC_MAX];
    uint64_t created_ms, finished_ms; /* 0 = absent */
    uint32_t depth;
    int has_model_round;
    uint64_t model_round;
    int has_accuracy;
    double accuracy, amplified_accuracy;
};

/* One node of a traced question's tree (TraceNode), as results keep it:
 * a tree is its nodes in pre-order, node 0 the root, each other node after
 * its parent. `by` is worker/engine.h's enum iamp_answered_by. */
struct iamp_result_node {
    struct iamp_question q; /* q.ctx: the root's (unset in a result page) */
    struct iamp_answer a;
    int32_t parent;      /* index in the same tree; -1: the root */
    uint32_t depth_left; /* levels H could still decompose below it */
    uint32_t step;       /* the parent's episode step that asked it; 0: the root */
    int by;
};

/* A trace node's texts in the task's form (result pages). */
struct iamp_node_text {
    char question[IAMP_TEXT_MAX];
    char answer[IAMP_TEXT_MAX];
};

/* One answered question of a result page, texts included. */
struct iamp_result_item {
    struct iamp_question q; /* q.ctx unset: see context, facts */
    struct iamp_answer a;
    char qtext[IAMP_TEXT_MAX];
    char atext[IAMP_TEXT_MAX];
    uint32_t depth;
    int context;               /* the question's context in the job's; -1: none */
    struct iamp_context facts; /* that context (context >= 0) */
    long trace_at, trace_len;  /* its tree: the page's trace[trace_at, + trace_len) */
};

struct iamp_result_page {
    uint64_t job_id, offset, total;
    int n_items;
    struct iamp_result_item *items; /* (n_items), owned */
    int has_status;
    struct iamp_job_status status;
    long n_trace;                      /* the items' trees, one after another */
    struct iamp_result_node *trace;    /* (n_trace), owned; NULL: no item has one */
    struct iamp_node_text *trace_text; /* (n_trace), owned */
};

#define IAMP_INFO_TASKS_MAX 16
struct iamp_info {
    char version[32];
    uint32_t ranks;
    int n_tasks;
    char tasks[IAMP_INFO_TASKS_MAX][32];
    uint64_t model_round;
    char model_task[IAMP_SPEC_MAX];
    uint32_t max_questions, max_depth, max_frame_bytes, max_page_items;
    uint64_t max_tree_nodes, jobs_queued, jobs_total;
    uint64_t max_trace_nodes;
};

/* One Envelope. `kind` says which body fields mean something. */
struct iamp_msg {
    uint32_t version;
    int has_token;
    char token[IAMP_TOKEN_MAX + 1];
    uint64_t request_id;
    int kind;                      /* enum iamp_msg_kind */
    uint64_t job_id;               /* accepted, get_status, watch, cancel, get_result */
    struct iamp_submit submit;     /* submit */
    struct iamp_job_status status; /* status, progress */
    uint64_t offset;               /* get_result */
    uint32_t limit;                /* get_result, list_jobs; 0 = default */
    struct iamp_result_page page;  /* result */
    int n_jobs;                    /* job_list */
    struct iamp_job_status *jobs;  /* (n_jobs), owned */
    struct iamp_info info;         /* info_reply */
    int error_code;                /* error: enum iamp_wire_error */
    char reason[IAMP_REASON_MAX];  /* error */
};

/* Bounds a decoder enforces before it allocates. */
struct iamp_msg_limits {
    uint32_t max_questions; /* per SubmitJob */
    uint32_t max_contexts;  /* per SubmitJob */
    uint32_t max_items;     /* per ResultPage and JobList */
    uint32_t max_trace;     /* per ResultPage: trace nodes of all its items */
};

/* Bytes one encoded TraceNode of a result page takes at most (every token
 * and both texts at their limits, tags and lengths included). */
#define IAMP_TRACE_NODE_BYTES_MAX 1024u
/* Bytes one encoded ResultItem takes at most without its trace (facts
 * included). */
#define IAMP_RESULT_ITEM_BYTES_MAX 3072u

void iamp_msg_release(struct iamp_msg *m);
/* Decode an Envelope (without the length prefix). */
IAMP_WUR int iamp_msg_decode(const uint8_t *buf, size_t len, const struct iamp_msg_limits *lim,
                             struct iamp_msg *m, char *why, size_t whylen);
/* Encode m as one frame: the 4-byte length, then the Envelope. */
IAMP_WUR int iamp_msg_frame(const struct iamp_msg *m, uint8_t **buf, size_t *len);

/* ---------------------------------------------------------- journal records */

enum iamp_record_kind { IAMP_REC_SUBMIT = 1, IAMP_REC_CANCEL = 2, IAMP_REC_END = 3 };

/* A canonical job: what the journal keeps of an accepted SubmitJob. */
struct iamp_job_spec {
    int kind;
    char task[IAMP_SPEC_MAX]; /* canonical spec */
    uint32_t depth;
    int n;                    /* ANSWER: questions */
    struct iamp_question *qs; /* (n), owned; their ctx point into ctx */
    int n_ctx;
    struct iamp_context *ctx; /* (n_ctx), owned */
    struct iamp_train_params train;
    uint32_t eval_size;
    char client_key[IAMP_KEY_MAX];
    int trace; /* ANSWER: record each question's tree */
};

void iamp_job_spec_release(struct iamp_job_spec *s);

struct iamp_job_record {
    int kind; /* enum iamp_record_kind */
    uint64_t job_id;
    uint64_t time_ms;
    struct iamp_job_spec spec;     /* REC_SUBMIT */
    struct iamp_job_status status; /* REC_END */
    uint8_t *result;               /* REC_END: ResultFile bytes, owned; or NULL */
    size_t result_len;
};

void iamp_job_record_release(struct iamp_job_record *r);
IAMP_WUR int iamp_job_record_encode(const struct iamp_job_record *r, uint8_t **buf, size_t *len);
IAMP_WUR int iamp_job_record_decode(const uint8_t *buf, size_t len, struct iamp_job_record *r);

/* ---------------------------------------------------------- result files */

/* A finished ANSWER job's answers, tokens only (texts are derived with the
 * task when a page is served). */
struct iamp_result {
    uint64_t job_id;
    char task[IAMP_SPEC_MAX];
    uint32_t depth;
    uint64_t model_round;
    int n;
    struct iamp_question *qs; /* (n), owned; their ctx point into ctx */
    struct iamp_answer *as;   /* (n), owned */
    int n_ctx;
    struct iamp_context *ctx; /* (n_ctx), owned */
    /* A traced job's trees: tree i is nodes[tree_at[i], tree_at[i + 1]);
     * tree_at NULL: untraced. The nodes' q.ctx is their root's. */
    long *tree_at;                  /* (n + 1), owned */
    struct iamp_result_node *nodes; /* (tree_at[n]), owned */
};

void iamp_result_release(struct iamp_result *r);
/* The bytes of a result file (a ResultFile with a CRC-32C), malloc'd. */
IAMP_WUR int iamp_result_encode_file(const struct iamp_result *r, uint8_t **buf, size_t *len);
/* Those bytes back; IAMP_ECORRUPT when they do not check out. */
IAMP_WUR int iamp_result_decode_file(const uint8_t *buf, size_t len, struct iamp_result *r);
/* Atomic save (temp, fsync, rename, directory fsync) of those bytes. */
IAMP_WUR int iamp_result_save(const char *path, const struct iamp_result *r);
/* IAMP_ENOENT when missing, IAMP_ECORRUPT when damaged. */
IAMP_WUR int iamp_result_load(const char *path, struct iamp_result *r);

#endif
