/* trace.h — spans for a Chrome trace-event timeline (--timeline FILE).
 *
 * Off by default (one branch per span). When on, each process buffers its
 * spans; rank 0 collects every rank's spans and writes one JSON array that
 * chrome://tracing and Perfetto open: pid = rank, names such as "amplify",
 * "forward+backward", "allreduce wait", "optimizer", "dispatch".
 * Process-global; spans are recorded by the thread that does model work.
 */
#ifndef IAMP_TRACE_H
#define IAMP_TRACE_H

#include "common/error.h"

#include <stddef.h>

void iamp_trace_enable(int rank, double clock_offset_s);
/* Record a span [t0, t1] (iamp_now() seconds); name must be a literal. */
void iamp_trace_span(const char *name, double t0, double t1);
/* This process's events as comma-separated JSON objects (malloc'd). */
IAMP_WUR int iamp_trace_export(char **json, size_t *len);
/* Write a trace file from comma-separated event fragments. */
IAMP_WUR int iamp_trace_write(const char *path, char *const *fragments, int n);

#endif
