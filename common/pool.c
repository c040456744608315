/* pool.c — see pool.h. One job at a time, numbered by `generation`: the
 * caller publishes (fn, ctx, n), cuts [0, n) into one contiguous range per
 * thread, sets each range's counter `next[t]` to (generation, its end, its
 * first task) and wakes the workers. A thread claims tasks of its own range
 * first, then of the others' (compare-and-swap on a counter, which fails
 * once its range is used up or the job replaced by a new generation, so a
 * worker that wakes late claims nothing stale). Own ranges first keep a
 * task's data in the same core's cache from one step to the next (Adam's
 * chunks, a layer's tiles). The
 * caller returns when `finished` reaches n: it never waits for a worker
 * that took no task (one still asleep costs nothing). Idle workers spin on
 * `generation`, then sleep on `wake`. Runs on any thread; `busy` keeps a
 * second caller (another thread) from publishing over a job in flight —
 * it runs its tasks inline instead. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "common/pool.h"

#include "common/clock.h"
#include "common/fpenv.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* How long an idle thread spins before it sleeps, and how long the caller
 * spins for the last task before it sleeps. */
#define IAMP_POOL_SPIN_S 200e-6
#define IAMP_POOL_TASKS_MAX 65535 /* tasks of one job (16-bit counters) */

struct iamp_pool {
    int threads;
    pthread_t *tid; /* (threads - 1) */
    int started;    /* workers started */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers: a new generation or stop */
    pthread_cond_t done; /* caller: finished reached n */
    atomic_uint generation;
    atomic_uint_fast64_t *next; /* (threads) (generation << 32) | range t's next task */
    atomic_int finished;        /* tasks of the current job done */
    atomic_int busy;            /* a job is in flight */
    atomic_int stop;
    int caller_sleeps; /* under lock */
    _Atomic(iamp_pool_task_cb) fn;
    _Atomic(void *) ctx;
    atomic_int n;
};

static _Thread_local int in_task; /* this thread is running a pool task */

/* Range t of n tasks: [range_lo(t), range_lo(t + 1)). */
static int range_lo(const struct iamp_pool *p, int n, int t)
{
    return (int)((long)n * t / p->threads);
}

/* A range counter: the generation, the range's end and its next task, in
 * one word, so that a claim reads all three at once (a worker that woke
 * late may hold fn, ctx and n of the next job already: it must not judge
 * an old counter by a new end). */
static uint_fast64_t counter(unsigned g, int end, int next)
{
    return (uint_fast64_t)g << 32 | (uint_fast64_t)(uint32_t)end << 16 | (uint32_t)next;
}

/* Claim and run the tasks of range r of job g until it has none left (or
 * the job is gone). */
static void take_range(struct iamp_pool *p, unsigned g, int r, int thread, iamp_pool_task_cb fn,
                       void *ctx, int n)
{
    for (;;) {
        uint_fast64_t v = atomic_load(&p->next[r]);
        int end = (int)((v >> 16) & 0xffff), next = (int)(v & 0xffff);
        if ((unsigned)(v >> 32) != g || next >= end)
            return;
        if (!atomic_compare_exchange_weak(&p->next[r], &v, v + 1))
            continue;
        fn(ctx, next, thread);
        if (atomic_fetch_add(&p->finished, 1) == n - 1) {
            pthread_mutex_lock(&p->lock);
            if (p->caller_sleeps)
                pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

/* This thread's range of job g, then everyone else's. */
static void take_tasks(struct iamp_pool *p, unsigned g, int thread)
{
    iamp_pool_task_cb fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
    void *ctx = atomic_load_explicit(&p->ctx, memory_order_relaxed);
    int n = atomic_load_explicit(&p->n, memory_order_relaxed);
    in_task = 1;
    for (int i = 0; i < p->threads; i++)
        take_range(p, g, (thread + i) % p->threads, thread, fn, ctx, n);
    in_task = 0;
}

/* Wait until `generation` differs from seen (or stop); returns the new one. */
static unsigned wait_job(struct iamp_pool *p, unsigned seen)
{
    double t0 = iamp_now();
    for (int i = 0;; i++) {
        unsigned g = atomic_load(&p->generation);
        if (g != seen || atomic_load(&p->stop))
            return g;
        if ((i & 63) == 63 && iamp_now() - t0 > IAMP_POOL_SPIN_S)
            break;
        cpu_relax();
    }
    pthread_mutex_lock(&p->lock);
    unsigned g;
    while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->wake, &p->lock);
    pthread_mutex_unlock(&p->lock);
    return g;
}

struct worker_arg {
    struct iamp_pool *p;
    int thread;
};

static void *worker_main(void *arg)
{
    struct worker_arg a = *(struct worker_arg *)arg;
    free(arg);
    iamp_fpenv_init();
    unsigned seen = 0;
    for (;;) {
        seen = wait_job(a.p, seen);
        if (atomic_load(&a.p->stop))
            return NULL;
        take_tasks(a.p, seen, a.thread);
    }
}

int iamp_pool_new(struct iamp_pool **out, int threads)
{
    *out = NULL;
    if (threads < 1 || threads > IAMP_THREADS_MAX)
        return IAMP_EINVAL;
    struct iamp_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return IAMP_ENOMEM;
    p->threads = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->tid = calloc((size_t)threads, sizeof(*p->tid));
    p->next = calloc((size_t)threads, sizeof(*p->next));
    int rc = p->tid && p->next ? 0 : IAMP_ENOMEM;
    for (int t = 1; !rc && t < threads; t++) {
        struct worker_arg *a = malloc(sizeof(*a));
        if (!a) {
            rc = IAMP_ENOMEM;
            break;
        }
        *a = (struct worker_arg){p, t};
        if (pthread_create(&p->tid[t - 1], NULL, worker_main, a) != 0) {
            free(a);
            rc = IAMP_ENOMEM;
            break;
        }
        p->started++;
    }
    if (rc) {
        iamp_pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void iamp_pool_free(struct iamp_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int t = 0; t < p->started; t++)
        pthread_join(p->tid[t], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    free(p->tid);
    free(p->next);
    free(p);
}

int iamp_pool_threads(const struct iamp_pool *p)
{
    return p ? p->threads : 1;
}

static void run_inline(int n, iamp_pool_task_cb fn, void *ctx)
{
    for (int t = 0; t < n; t++)
        fn(ctx, t, 0);
}

static void wait_finished(struct iamp_pool *p, int n)
{
    double t0 = iamp_now();
    for (int i = 0; atomic_load(&p->finished) < n; i++) {
        if ((i & 63) == 63 && iamp_now() - t0 > IAMP_POOL_SPIN_S)
            break;
        cpu_relax();
    }
    if (atomic_load(&p->finished) >= n)
        return;
    pthread_mutex_lock(&p->lock);
    p->caller_sleeps = 1;
    while (atomic_load(&p->finished) < n)
        pthread_cond_wait(&p->done, &p->lock);
    p->caller_sleeps = 0;
    pthread_mutex_unlock(&p->lock);
}

static void run_job(struct iamp_pool *p, int n, iamp_pool_task_cb fn, void *ctx);

struct offset_job {
    iamp_pool_task_cb fn;
    void *ctx;
    int first;
};

static void offset_cb(void *ctx, int task, int thread)
{
    struct offset_job *o = ctx;
    o->fn(o->ctx, o->first + task, thread);
}

void iamp_pool_run(struct iamp_pool *p, int n, iamp_pool_task_cb fn, void *ctx)
{
    /* A counter holds 16-bit task indices: larger loops go in pieces. */
    for (int first = 0; first < n; first += IAMP_POOL_TASKS_MAX) {
        int k = n - first < IAMP_POOL_TASKS_MAX ? n - first : IAMP_POOL_TASKS_MAX;
        if (first == 0 && k == n) {
            run_job(p, n, fn, ctx);
        } else {
            struct offset_job o = {fn, ctx, first};
            run_job(p, k, offset_cb, &o);
        }
    }
}

static void run_job(struct iamp_pool *p, int n, iamp_pool_task_cb fn, void *ctx)
{
    int expected = 0;
    if (n <= 0)
        return;
    if (!p || p->threads == 1 || n == 1 || in_task ||
        !atomic_compare_exchange_strong(&p->busy, &expected, 1)) {
        run_inline(n, fn, ctx);
        return;
    }
    unsigned g = atomic_load(&p->generation) + 1;
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&p->n, n, memory_order_relaxed);
    atomic_store(&p->finished, 0);
    for (int t = 0; t < p->threads; t++)
        atomic_store(&p->next[t], counter(g, range_lo(p, n, t + 1), range_lo(p, n, t)));
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->generation, g); /* under lock: a worker going to sleep sees it */
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    take_tasks(p, g, 0);
    wait_finished(p, n);
    atomic_store(&p->busy, 0);
}

int iamp_cores_available(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
