/* jobs.h — the server's table of jobs and its durable state in the data
 * directory:
 *
 *   <dir>/journal          SUBMIT, CANCEL and END records (journal.h)
 *   <dir>/ids              the job-id high-water mark (jobs.c)
 *   <dir>/jobs/<id>.result a DONE ANSWER job's answers when they are too
 *                          large for its END record, written atomically
 *   <dir>/jobs/<id>.train  a TRAIN job's first round
 *
 * Opening replays the journal: a job with an END record is final; an
 * unfinished one is final anyway when its cancel was journaled (CANCELED)
 * or its result file exists (DONE; the crash came between the two
 * writes), and those END records are appended at once; every other job is
 * QUEUED again, its spec kept for the executor.
 *
 * Ids rise from 1 in acceptance order (v[id - 1]) and are never handed out
 * twice, even after damage (<dir>/ids is saved a block ahead, from the
 * loop thread, once per IAMP_JOB_ID_BLOCK jobs); an id whose SUBMIT never
 * reached the journal, or that a restart skipped, is a hole. Results are cached in memory up to
 * a byte budget, least recently used evicted, and reloaded on demand.
 * Loop thread only, except that the server's commit worker appends to
 * `journal` while the loop waits for it.
 */
#ifndef IAMP_JOBS_H
#define IAMP_JOBS_H

#include "common/journal.h"
#include "proto/wire.h"

#include <stddef.h>
#include <stdint.h>

/* A final state on its way to the journal (the server shows it once the
 * END record is durable). */
struct iamp_job_end {
    struct iamp_job_status st;
    struct iamp_result *result; /* a DONE ANSWER job's answers (heap), or NULL */
    int inline_result;          /* the END record holds them */
};

struct iamp_job {
    struct iamp_job_status st; /* st.state is 0 until the SUBMIT is durable */
    char client_key[IAMP_KEY_MAX];
    int committed;               /* its SUBMIT is in the journal */
    int cancel_asked;            /* a CANCEL was accepted */
    uint64_t owner;              /* connection that submitted it; 0 after replay */
    struct iamp_job_spec spec;   /* until handed to the executor */
    struct iamp_result *result;  /* cached answers, or NULL */
    uint64_t used;               /* cache clock of the last use */
    uint64_t submit_at;          /* journal offset of its SUBMIT record (0: unknown) */
    uint64_t result_at;          /* journal offset of the END record holding its
                                    answers; 0: the result file holds them */
    struct iamp_job_end *ending; /* final state not yet durable, or NULL */
};

struct iamp_jobs {
    char dir[4096];
    struct iamp_journal journal;
    struct iamp_job **v; /* (len) v[id - 1 - base], NULL for holes */
    size_t n, cap;       /* n: the highest id handed out */
    size_t len;          /* n - base slots */
    uint64_t base;       /* ids up to it are pruned and out of the table */
    size_t unfinished;   /* committed jobs not yet final */
    size_t result_bytes, result_budget;
    uint64_t clock;
    struct iamp_journal_replay replay;
    long bad_records;        /* intact but undecodable records skipped */
    long recovered;          /* unfinished jobs made final while opening */
    uint64_t compacted_from; /* journal bytes before compaction at open; 0: none */
    uint64_t ids_reserved;   /* <dir>/ids: ids up to this may have been handed out */
    uint64_t expired_upto;   /* <dir>/ids: final jobs up to this id may have been pruned */
    int ids_damaged;         /* <dir>/ids was missing (with jobs) or unreadable */
};

#define IAMP_JOB_ID_BLOCK 256 /* ids reserved in <dir>/ids at a time */

#define IAMP_JOURNAL_COMPACT_BYTES (4u << 20) /* default of compact_bytes */

/* "<dir>/jobs/<id>.<ext>" into buf; IAMP_EINVAL when it does not fit. */
IAMP_WUR int iamp_job_path(char *buf, size_t len, const char *dir, uint64_t id, const char *ext);

/* Open dir (created if missing) and replay its journal; compact it when it
 * has grown past compact_bytes. */
IAMP_WUR int iamp_jobs_open(struct iamp_jobs *js, const char *dir, size_t result_budget,
                            size_t compact_bytes, char *err, size_t errlen);
void iamp_jobs_close(struct iamp_jobs *js);

/* Rewrite the journal with what the table needs: each job's SUBMIT (a
 * finished job's without its questions, which its result keeps), a
 * pending CANCEL, and each END (one holding answers copied as it is).
 * Loop thread, no commit in flight. */
IAMP_WUR int iamp_jobs_compact(struct iamp_jobs *js);

/* Retention: prune final jobs beyond the newest retain_jobs (0: no count
 * limit) or finished more than retain_hours ago (0: no age limit) — their
 * table entries, cached results and files — and rewrite the journal
 * without them. *pruned gets how many. Loop thread, no commit in flight. */
IAMP_WUR int iamp_jobs_prune(struct iamp_jobs *js, uint64_t now_ms, long retain_jobs,
                             double retain_hours, long *pruned);
/* 1 when id names no job now but may have named a pruned one. */
int iamp_jobs_expired(const struct iamp_jobs *js, uint64_t id);

/* A committed job, or NULL. */
struct iamp_job *iamp_jobs_get(struct iamp_jobs *js, uint64_t id);
/* The job submitted with this client key (committed or not), or NULL. */
struct iamp_job *iamp_jobs_by_key(struct iamp_jobs *js, const char *key);
/* A new, not yet durable job; takes spec's heap parts. */
IAMP_WUR int iamp_jobs_add(struct iamp_jobs *js, struct iamp_job_spec *spec, uint64_t owner,
                           uint64_t now_ms, struct iamp_job **out);
/* The journal record of job j: IAMP_REC_SUBMIT (from j->spec), _CANCEL or
 * _END (from j->st). */
IAMP_WUR int iamp_jobs_record(const struct iamp_job *j, int kind, uint64_t now_ms, uint8_t **buf,
                              size_t *len);
/* The END record of job j with final status st, holding the result file
 * bytes result (may be NULL). */
IAMP_WUR int iamp_jobs_end_record(const struct iamp_job *j, const struct iamp_job_status *st,
                                  const uint8_t *result, size_t result_len, uint8_t **buf,
                                  size_t *len);
/* A DONE ANSWER job's answers (cached, or loaded from the journal or its
 * result file); borrowed. */
IAMP_WUR int iamp_jobs_result(struct iamp_jobs *js, struct iamp_job *j,
                              const struct iamp_result **r);
/* Cache answers just computed; takes r (heap). */
void iamp_jobs_keep_result(struct iamp_jobs *js, struct iamp_job *j, struct iamp_result *r);

#endif
