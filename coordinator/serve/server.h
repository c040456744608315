/* server.h — `iamp serve`'s job server: a libuv TCP loop on rank 0.
 *
 * Threads: the loop thread owns the connections, the job table and every
 * reply; the executor thread (executor.h) runs the jobs on the backend;
 * libuv's thread pool appends to the journal (fsync included) so the
 * loop never blocks on the disk. A request is acknowledged only after its
 * journal record is durable. Records arriving while an append is in
 * flight are batched into the next append (group commit).
 */
#ifndef IAMP_SERVER_H
#define IAMP_SERVER_H

#include "coordinator/serve/backend.h"
#include "coordinator/serve/executor.h"
#include "coordinator/serve/request.h"

#include <stddef.h>

struct iamp_server_opts {
    const char *host; /* numeric IPv4 or IPv6 address */
    int port;         /* 0: any free port (see port_file) */
    const char *data_dir;
    const char *token; /* NULL: clients need none */
    size_t token_len;
    struct iamp_limits lim;
    struct iamp_executor_opts exec; /* data_dir is filled in */
    size_t result_cache_bytes;
    size_t journal_compact_bytes; /* compact the journal (at start, and while serving
                                     once it doubles) beyond this */
    long retain_jobs;             /* keep the newest N finished jobs; 0: all */
    double retain_hours;          /* keep finished jobs this long; 0: forever */
    const char *port_file;        /* write the bound port here; may be NULL */
    int quiet;                    /* no status lines on stderr */
};

/* Serve until SIGINT or SIGTERM, then stop cleanly (the slice in progress
 * finishes, an open training job is saved). err gets one line. */
IAMP_WUR int iamp_server_run(const struct iamp_server_opts *o, struct iamp_backend *b, char *err,
                             size_t errlen);

#endif
