/* jobs.c — see jobs.h. */
#include "coordinator/serve/jobs.h"

#include "common/clock.h"
#include "common/crc32c.h"
#include "common/fileio.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int iamp_job_path(char *buf, size_t len, const char *dir, uint64_t id, const char *ext)
{
    int n = snprintf(buf, len, "%s/jobs/%" PRIu64 ".%s", dir, id, ext);
    return n < 0 || (size_t)n >= len ? IAMP_EINVAL : 0;
}

/* Room for at least `need` slots (new ones NULL), growing by doubling. */
static int reserve(struct iamp_jobs *js, size_t need)
{
    if (need <= js->cap)
        return 0;
    size_t cap = js->cap ? js->cap : 64;
    while (cap < need)
        cap *= 2;
    struct iamp_job **p = realloc(js->v, cap * sizeof(*p));
    if (!p)
        return IAMP_ENOMEM;
    memset(p + js->cap, 0, (cap - js->cap) * sizeof(*p));
    js->v = p;
    js->cap = cap;
    return 0;
}

/* Move the table's base down to id - 1. The table begins at the first id
 * replayed, not at 1 (a server that has handed out millions of ids keeps
 * only the retained ones); a record older than that one moves it down. */
static int rebase_down(struct iamp_jobs *js, uint64_t id)
{
    size_t by = (size_t)(js->base - (id - 1));
    int rc = reserve(js, js->len + by);
    if (rc)
        return rc;
    memmove(js->v + by, js->v, js->len * sizeof(*js->v));
    memset(js->v, 0, by * sizeof(*js->v));
    js->base = id - 1;
    js->len += by;
    return 0;
}

static int grow_to(struct iamp_jobs *js, uint64_t id)
{
    if (id == 0 || id > (1ull << 40))
        return IAMP_ECORRUPT;
    if (js->len == 0 && id - 1 > js->n) /* empty: start the table at id */
        js->base = js->n = id - 1;
    if (id <= js->base && rebase_down(js, id)) /* replay met an id older than the first */
        return IAMP_ENOMEM;
    int rc = reserve(js, (size_t)(id - js->base));
    if (rc)
        return rc;
    if (id > js->n)
        js->n = id;
    js->len = (size_t)(js->n - js->base);
    return 0;
}

/* Slot of id in the table, or NULL when it is outside it. */
static struct iamp_job **slot(struct iamp_jobs *js, uint64_t id)
{
    return id > js->base && id <= js->n ? &js->v[id - 1 - js->base] : NULL;
}

/* Drop the table's leading slots of pruned ids, so that the table holds
 * what is kept, not every id ever handed out. */
static void shift_table(struct iamp_jobs *js)
{
    size_t k = 0;
    while (k < js->len && !js->v[k] && js->base + k + 1 <= js->expired_upto)
        k++;
    if (k == 0)
        return;
    memmove(js->v, js->v + k, (js->len - k) * sizeof(*js->v));
    memset(js->v + js->len - k, 0, k * sizeof(*js->v));
    js->base += k;
    js->len -= k;
    if (js->cap > 4 * js->len + 256) { /* give a table grown at replay back */
        size_t cap = 2 * js->len + 64;
        struct iamp_job **p = realloc(js->v, cap * sizeof(*p));
        if (p) {
            js->v = p;
            js->cap = cap;
        }
    }
}

static void status_from_spec(struct iamp_job *j, uint64_t id, uint64_t created_ms)
{
    const struct iamp_job_spec *s = &j->spec;
    memset(&j->st, 0, sizeof(j->st));
    j->st.job_id = id;
    j->st.kind = s->kind;
    snprintf(j->st.task, sizeof(j->st.task), "%s", s->task);
    j->st.depth = s->depth;
    j->st.total = s->kind == IAMP_JOB_ANSWER  ? (uint64_t)s->n
                  : s->kind == IAMP_JOB_TRAIN ? s->train.rounds
                                              : s->eval_size;
    j->st.created_ms = created_ms;
    snprintf(j->client_key, sizeof(j->client_key), "%s", s->client_key);
}

/* Bytes a cached result holds (the budget of --result-cache). */
static size_t result_size(const struct iamp_result *r)
{
    size_t traced = r->tree_at ? ((size_t)r->n + 1) * sizeof(long) +
                                     (size_t)r->tree_at[r->n] * sizeof(struct iamp_result_node)
                               : 0;
    return (size_t)r->n * (sizeof(struct iamp_question) + sizeof(struct iamp_answer)) +
           (size_t)r->n_ctx * sizeof(struct iamp_context) + traced;
}

static void drop_result(struct iamp_jobs *js, struct iamp_job *j)
{
    if (!j->result)
        return;
    js->result_bytes -= result_size(j->result);
    iamp_result_release(j->result);
    free(j->result);
    j->result = NULL;
}

static void free_job(struct iamp_jobs *js, struct iamp_job *j)
{
    if (!j)
        return;
    drop_result(js, j);
    if (j->ending) {
        iamp_result_release(j->ending->result);
        free(j->ending->result);
        free(j->ending);
    }
    iamp_job_spec_release(&j->spec);
    free(j);
}

/* ---------------------------------------------------------- replay */

static void replay_submit(struct iamp_jobs *js, struct iamp_job_record *r, uint64_t at)
{
    if (grow_to(js, r->job_id) || *slot(js, r->job_id)) {
        js->bad_records++;
        return;
    }
    struct iamp_job *j = calloc(1, sizeof(*j));
    if (!j) {
        js->bad_records++;
        return;
    }
    j->spec = r->spec;
    memset(&r->spec, 0, sizeof(r->spec));
    status_from_spec(j, r->job_id, r->time_ms);
    j->st.state = IAMP_JOB_QUEUED;
    j->committed = 1;
    j->submit_at = at;
    *slot(js, r->job_id) = j;
}

static void replay_cb(void *ctx, const uint8_t *payload, size_t len, uint64_t at)
{
    struct iamp_jobs *js = ctx;
    struct iamp_job_record r;
    if (iamp_job_record_decode(payload, len, &r)) {
        js->bad_records++;
        return;
    }
    struct iamp_job **sl = slot(js, r.job_id), *j = sl ? *sl : NULL;
    if (r.kind == IAMP_REC_SUBMIT) {
        replay_submit(js, &r, at);
    } else if (!j) {
        js->bad_records++;
    } else if (r.kind == IAMP_REC_CANCEL) {
        j->cancel_asked = 1;
    } else if (iamp_job_state_final(r.status.state)) {
        uint64_t created = j->st.created_ms;
        j->st = r.status;
        j->st.created_ms = created;
        j->result_at = r.result ? at : 0;
        iamp_job_spec_release(&j->spec);
    }
    iamp_job_record_release(&r);
}

/* An unfinished job that is final already: canceled, or its result file
 * was written before the crash. 1 when made final. */
static int recover_one(struct iamp_jobs *js, struct iamp_job *j)
{
    char path[4200];
    struct iamp_result r;
    if (j->cancel_asked) {
        j->st.state = IAMP_JOB_CANCELED;
        snprintf(j->st.message, sizeof(j->st.message), "canceled");
    } else if (j->st.kind == IAMP_JOB_ANSWER &&
               !iamp_job_path(path, sizeof(path), js->dir, j->st.job_id, "result") &&
               iamp_result_load(path, &r) == 0) {
        j->st.state = IAMP_JOB_DONE;
        j->st.done = (uint64_t)r.n;
        j->st.has_model_round = 1;
        j->st.model_round = r.model_round;
        iamp_result_release(&r);
    } else {
        return 0;
    }
    iamp_job_spec_release(&j->spec);
    return 1;
}

static int recover(struct iamp_jobs *js, uint64_t now_ms)
{
    for (size_t i = 0; i < js->len; i++) {
        struct iamp_job *j = js->v[i];
        if (!j || iamp_job_state_final(j->st.state))
            continue;
        if (!recover_one(js, j)) {
            js->unfinished++;
            continue;
        }
        j->st.finished_ms = now_ms;
        uint8_t *buf = NULL;
        size_t len = 0;
        int rc = iamp_jobs_record(j, IAMP_REC_END, now_ms, &buf, &len);
        struct iamp_journal_rec rec = {buf, len};
        if (!rc)
            rc = iamp_journal_append(&js->journal, &rec, 1, NULL);
        free(buf);
        if (rc)
            return rc;
        js->recovered++;
    }
    return 0;
}

/* Remove what atomic writes cut short by a crash leave: "<name>.tmp.<pid>". */
static void remove_leftovers(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[4400];
        if (!strstr(e->d_name, ".tmp."))
            continue;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n > 0 && (size_t)n < sizeof(path)) /* never unlink a cut-short name */
            unlink(path);
    }
    if (d)
        closedir(d);
}

/* ---------------------------------------------------------- job ids
 *
 * <dir>/ids holds the highest id handed out or reserved ("iamp-ids", le64,
 * CRC-32C of those 16 bytes), written atomically a block of
 * IAMP_JOB_ID_BLOCK ids ahead of use. Ids continue after it, so no id is
 * handed out twice even when the journal loses the records of the newest
 * jobs (damage, a lost file). */

static const uint8_t ids_magic[8] = {'i', 'a', 'm', 'p', '-', 'i', 'd', 's'};

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* "iamp-ids", le64 reserve, le64 expired (ids up to it pruned), CRC-32C. */
static int save_ids(struct iamp_jobs *js, uint64_t reserved, uint64_t expired)
{
    char path[4200];
    uint8_t b[28];
    memcpy(b, ids_magic, 8);
    put_le64(b + 8, reserved);
    put_le64(b + 16, expired);
    uint32_t crc = iamp_crc32c(0, b, 24);
    for (int i = 0; i < 4; i++)
        b[24 + i] = (uint8_t)(crc >> (8 * i));
    snprintf(path, sizeof(path), "%s/ids", js->dir);
    int rc = iamp_file_write_atomic(path, b, sizeof(b));
    if (!rc) {
        js->ids_reserved = reserved;
        js->expired_upto = expired;
    }
    return rc;
}

/* The reserve, and the table's next id after it. A missing or damaged
 * file counts as 0 (the journal's ids still hold) and is noted. */
static int load_ids(struct iamp_jobs *js)
{
    char path[4200];
    uint8_t *b = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/ids", js->dir);
    int rc = iamp_file_read(path, 64, &b, &len);
    if (rc == IAMP_ENOENT || rc == IAMP_ELIMIT) {
        js->ids_damaged = rc == IAMP_ELIMIT || js->n > 0;
        return 0;
    }
    if (rc)
        return rc;
    uint32_t crc = len == 28 ? (uint32_t)b[24] | (uint32_t)b[25] << 8 | (uint32_t)b[26] << 16 |
                                   (uint32_t)b[27] << 24
                             : 0;
    if (len != 28 || memcmp(b, ids_magic, 8) != 0 || crc != iamp_crc32c(0, b, 24)) {
        js->ids_damaged = 1;
    } else {
        uint64_t r = get_le64(b + 8);
        js->ids_reserved = r;
        js->expired_upto = get_le64(b + 16);
        if (r > js->n)
            rc = grow_to(js, r); /* ids up to r are holes: never handed out again */
    }
    free(b);
    return rc;
}

int iamp_jobs_open(struct iamp_jobs *js, const char *dir, size_t result_budget,
                   size_t compact_bytes, char *err, size_t errlen)
{
    char path[4200];
    memset(js, 0, sizeof(*js));
    js->journal.fd = -1;
    js->result_budget = result_budget;
    if (strlen(dir) >= sizeof(js->dir) - 64) {
        snprintf(err, errlen, "data directory path is too long");
        return IAMP_EINVAL;
    }
    strcpy(js->dir, dir);
    snprintf(path, sizeof(path), "%s/jobs", dir);
    int rc = iamp_mkdir(dir);
    if (!rc)
        rc = iamp_mkdir(path);
    if (rc) {
        snprintf(err, errlen, "cannot create %s: %s", path, iamp_strerror(rc));
        return rc;
    }
    remove_leftovers(dir);
    remove_leftovers(path);
    snprintf(path, sizeof(path), "%s/journal", dir);
    rc = iamp_journal_open(&js->journal, path, replay_cb, js, &js->replay);
    if (!rc)
        rc = load_ids(js);
    if (!rc)
        shift_table(js);
    if (!rc)
        rc = recover(js, iamp_unix_ms());
    /* Damaged ranges stay in the file until a rewrite: do it now, so the
     * next start does not meet them again. */
    if (!rc && (js->journal.size > compact_bytes || js->replay.damaged ||
                js->replay.format == 1)) { /* format 1: replay gave no offsets */
        js->compacted_from = js->journal.size;
        rc = iamp_jobs_compact(js);
    }
    if (rc) {
        if (rc == IAMP_ECORRUPT && js->replay.why[0])
            snprintf(err, errlen,
                     "journal %s: %s; refusing to start (move it away to start "
                     "empty)",
                     path, js->replay.why);
        else
            snprintf(err, errlen, "journal %s: %s", path, iamp_strerror(rc));
        iamp_jobs_close(js);
    }
    return rc;
}

void iamp_jobs_close(struct iamp_jobs *js)
{
    for (size_t i = 0; i < js->len; i++)
        free_job(js, js->v[i]);
    free(js->v);
    iamp_journal_close(&js->journal);
    js->v = NULL;
    js->n = js->cap = js->len = 0;
    js->base = 0;
}

/* ---------------------------------------------------------- compaction */

/* The SUBMIT of a finished job, rebuilt from its status: no questions. */
static int finished_submit(const struct iamp_job *j, uint8_t **buf, size_t *len)
{
    struct iamp_job_record r;
    memset(&r, 0, sizeof(r));
    r.kind = IAMP_REC_SUBMIT;
    r.job_id = j->st.job_id;
    r.time_ms = j->st.created_ms;
    r.spec.kind = j->st.kind;
    snprintf(r.spec.task, sizeof(r.spec.task), "%s", j->st.task);
    snprintf(r.spec.client_key, sizeof(r.spec.client_key), "%s", j->client_key);
    r.spec.depth = j->st.depth;
    r.spec.train.rounds = j->st.kind == IAMP_JOB_TRAIN ? (uint32_t)j->st.total : 0;
    r.spec.eval_size = j->st.kind == IAMP_JOB_EVAL ? (uint32_t)j->st.total : 0;
    return iamp_job_record_encode(&r, buf, len);
}

/* Where compaction put a job's records that it copied: -1 for none. */
struct copied {
    int submit, end;
};

/* Append job j's records to recs (bytes owned by recs). An unfinished
 * job's SUBMIT is copied from the journal when it is there (the server
 * handed its spec to the executor), and so is an END holding answers; *cp
 * gets the indexes of the unfinished job's SUBMIT and of such an END. */
static int compact_job(const struct iamp_jobs *js, const struct iamp_job *j,
                       struct iamp_journal_rec *recs, int *n, struct copied *cp)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int final = iamp_job_state_final(j->st.state), rc;
    cp->submit = final ? -1 : *n;
    cp->end = -1;
    if (final)
        rc = finished_submit(j, &buf, &len);
    else if (j->submit_at) /* copied as it is */
        rc = iamp_journal_read(&js->journal, j->submit_at, &buf, &len);
    else
        rc = iamp_jobs_record(j, IAMP_REC_SUBMIT, 0, &buf, &len);
    if (rc)
        return rc;
    recs[(*n)++] = (struct iamp_journal_rec){buf, len};
    if (!final && !j->cancel_asked)
        return 0;
    if (final && j->result_at) { /* the answers live in the record: copy it */
        cp->end = *n;
        rc = iamp_journal_read(&js->journal, j->result_at, &buf, &len);
    } else {
        rc = iamp_jobs_record(j, final ? IAMP_REC_END : IAMP_REC_CANCEL,
                              final ? j->st.finished_ms : iamp_unix_ms(), &buf, &len);
    }
    if (!rc)
        recs[(*n)++] = (struct iamp_journal_rec){buf, len};
    return rc;
}

int iamp_jobs_compact(struct iamp_jobs *js)
{
    size_t most = 2 * js->len + 1;
    struct iamp_journal_rec *recs = calloc(most, sizeof(*recs));
    uint64_t *at = calloc(most, sizeof(*at));
    struct copied *cp = calloc(js->len + 1, sizeof(*cp));
    int n = 0, rc = recs && at && cp ? 0 : IAMP_ENOMEM;
    for (size_t i = 0; !rc && i < js->len; i++) {
        cp[i].submit = cp[i].end = -1;
        if (js->v[i] && js->v[i]->committed)
            rc = compact_job(js, js->v[i], recs, &n, &cp[i]);
    }
    if (!rc)
        rc = iamp_journal_rewrite(&js->journal, recs, n, at);
    for (size_t i = 0; !rc && i < js->len; i++) {
        struct iamp_job *j = js->v[i];
        if (j && cp[i].end >= 0)
            j->result_at = at[cp[i].end];
        if (j && cp[i].submit >= 0)
            j->submit_at = at[cp[i].submit];
    }
    for (int i = 0; i < n; i++)
        free((void *)recs[i].data);
    free(recs);
    free(at);
    free(cp);
    return rc;
}

/* ---------------------------------------------------------- retention */

static void remove_job_files(const struct iamp_jobs *js, uint64_t id)
{
    static const char *const ext[] = {"result", "train", "metrics.jsonl"};
    char path[4200];
    for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++)
        if (!iamp_job_path(path, sizeof(path), js->dir, id, ext[k]))
            unlink(path);
}

/* Whether final job j is past its retention: beyond the newest `keep`
 * final jobs (kept counts those newer) or finished before `before_ms`. */
static int past_retention(const struct iamp_job *j, long kept, long keep, uint64_t before_ms)
{
    if (keep > 0 && kept >= keep)
        return 1;
    return before_ms > 0 && j->st.finished_ms > 0 && j->st.finished_ms < before_ms;
}

int iamp_jobs_prune(struct iamp_jobs *js, uint64_t now_ms, long retain_jobs, double retain_hours,
                    long *pruned)
{
    uint64_t before = retain_hours > 0.0 ? now_ms - (uint64_t)(retain_hours * 3600e3) : 0;
    uint64_t upto = js->expired_upto;
    long kept = 0, n = 0;
    *pruned = 0;
    /* Newest first: the first retain_jobs final jobs stay. */
    for (size_t i = js->len; i-- > 0;) {
        struct iamp_job *j = js->v[i];
        if (!j || !j->committed || !iamp_job_state_final(j->st.state))
            continue;
        if (past_retention(j, kept, retain_jobs, before)) {
            upto = upto > j->st.job_id ? upto : j->st.job_id;
            n++;
        } else {
            kept++;
        }
    }
    if (n == 0)
        return 0;
    /* Durable order: the mark first (a crash after it only hides jobs the
     * next prune removes anyway), then the journal without them, then
     * their files. */
    int rc = save_ids(js, js->ids_reserved, upto);
    if (rc)
        return rc;
    kept = 0;
    uint64_t *gone = malloc((size_t)n * sizeof(*gone));
    if (!gone)
        return IAMP_ENOMEM;
    long g = 0;
    for (size_t i = js->len; i-- > 0;) {
        struct iamp_job *j = js->v[i];
        if (!j || !j->committed || !iamp_job_state_final(j->st.state))
            continue;
        if (!past_retention(j, kept, retain_jobs, before)) {
            kept++;
            continue;
        }
        if (j->result)
            drop_result(js, j);
        gone[g++] = j->st.job_id;
        free_job(js, j);
        js->v[i] = NULL;
    }
    shift_table(js);
    rc = iamp_jobs_compact(js);
    for (long k = 0; !rc && k < g; k++)
        remove_job_files(js, gone[k]);
    free(gone);
    *pruned = g;
    return rc;
}

int iamp_jobs_expired(const struct iamp_jobs *js, uint64_t id)
{
    if (id < 1 || id > js->expired_upto)
        return 0;
    if (id <= js->base || id > js->n)
        return 1;
    const struct iamp_job *j = js->v[id - 1 - js->base];
    return !j || !j->committed;
}

/* ---------------------------------------------------------- lookups */

struct iamp_job *iamp_jobs_get(struct iamp_jobs *js, uint64_t id)
{
    struct iamp_job **sl = slot(js, id);
    if (!sl)
        return NULL;
    struct iamp_job *j = *sl;
    return j && j->committed ? j : NULL;
}

struct iamp_job *iamp_jobs_by_key(struct iamp_jobs *js, const char *key)
{
    if (!key[0])
        return NULL;
    for (size_t i = js->len; i-- > 0;) {
        struct iamp_job *j = js->v[i];
        if (j && (j->committed || j->st.state == 0) && strcmp(j->client_key, key) == 0)
            return j; /* durable, or on its way: not one whose commit failed */
    }
    return NULL;
}

int iamp_jobs_add(struct iamp_jobs *js, struct iamp_job_spec *spec, uint64_t owner, uint64_t now_ms,
                  struct iamp_job **out)
{
    uint64_t id = js->n + 1;
    struct iamp_job *j = calloc(1, sizeof(*j));
    int rc = j ? 0 : IAMP_ENOMEM;
    if (!rc && id > js->ids_reserved)
        rc = save_ids(js, id + IAMP_JOB_ID_BLOCK - 1, js->expired_upto);
    if (!rc)
        rc = grow_to(js, id);
    if (rc) {
        free(j);
        return rc;
    }
    j->spec = *spec;
    memset(spec, 0, sizeof(*spec));
    status_from_spec(j, id, now_ms);
    j->owner = owner;
    *slot(js, id) = j;
    *out = j;
    return 0;
}

int iamp_jobs_record(const struct iamp_job *j, int kind, uint64_t now_ms, uint8_t **buf,
                     size_t *len)
{
    struct iamp_job_record r;
    memset(&r, 0, sizeof(r));
    r.kind = kind;
    r.job_id = j->st.job_id;
    r.time_ms = kind == IAMP_REC_SUBMIT ? j->st.created_ms : now_ms;
    if (kind == IAMP_REC_SUBMIT)
        r.spec = j->spec; /* borrowed: not released here */
    else if (kind == IAMP_REC_END)
        r.status = j->st;
    return iamp_job_record_encode(&r, buf, len);
}

int iamp_jobs_end_record(const struct iamp_job *j, const struct iamp_job_status *st,
                         const uint8_t *result, size_t result_len, uint8_t **buf, size_t *len)
{
    struct iamp_job_record r;
    memset(&r, 0, sizeof(r));
    r.kind = IAMP_REC_END;
    r.job_id = j->st.job_id;
    r.time_ms = st->finished_ms;
    r.status = *st;
    r.result = (uint8_t *)result; /* borrowed: not released here */
    r.result_len = result_len;
    return iamp_job_record_encode(&r, buf, len);
}

/* ---------------------------------------------------------- results */

/* Answers from the END record at j->result_at. */
static int result_from_journal(struct iamp_jobs *js, const struct iamp_job *j,
                               struct iamp_result *r)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    struct iamp_job_record rec;
    int rc = iamp_journal_read(&js->journal, j->result_at, &buf, &len);
    if (!rc)
        rc = iamp_job_record_decode(buf, len, &rec);
    free(buf);
    if (rc)
        return rc;
    rc = rec.kind == IAMP_REC_END && rec.job_id == j->st.job_id && rec.result
             ? iamp_result_decode_file(rec.result, rec.result_len, r)
             : IAMP_ECORRUPT;
    iamp_job_record_release(&rec);
    return rc;
}

/* Evict least recently used results until `need` more bytes fit. */
static void make_room(struct iamp_jobs *js, size_t need, const struct iamp_job *keep)
{
    while (js->result_bytes + need > js->result_budget) {
        struct iamp_job *lru = NULL;
        for (size_t i = 0; i < js->len; i++) {
            struct iamp_job *j = js->v[i];
            if (j && j->result && j != keep && (!lru || j->used < lru->used))
                lru = j;
        }
        if (!lru)
            return;
        drop_result(js, lru);
    }
}

void iamp_jobs_keep_result(struct iamp_jobs *js, struct iamp_job *j, struct iamp_result *r)
{
    drop_result(js, j);
    make_room(js, result_size(r), j);
    j->result = r;
    j->used = ++js->clock;
    js->result_bytes += result_size(r);
}

int iamp_jobs_result(struct iamp_jobs *js, struct iamp_job *j, const struct iamp_result **out)
{
    if (!j->result) {
        char path[4200];
        struct iamp_result *r = calloc(1, sizeof(*r));
        int rc = r ? 0 : IAMP_ENOMEM;
        if (!rc && j->result_at)
            rc = result_from_journal(js, j, r);
        else if (!rc)
            rc = iamp_job_path(path, sizeof(path), js->dir, j->st.job_id, "result");
        if (!rc && !j->result_at)
            rc = iamp_result_load(path, r);
        if (rc) {
            free(r);
            return rc;
        }
        iamp_jobs_keep_result(js, j, r);
    }
    j->used = ++js->clock;
    *out = j->result;
    return 0;
}
