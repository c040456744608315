/* trace.c — see trace.h. Events are kept in a growable array; export
 * formats them as trace-event "X" (complete) events in microseconds. */
#include "common/trace.h"

#include "common/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct span {
    const char *name;
    double t0, t1;
};

static struct {
    int on, rank;
    double offset;
    struct span *ev;
    size_t n, cap;
} tr;

void iamp_trace_enable(int rank, double clock_offset_s)
{
    tr.on = 1;
    tr.rank = rank;
    tr.offset = clock_offset_s;
}

void iamp_trace_span(const char *name, double t0, double t1)
{
    if (!tr.on)
        return;
    if (tr.n == tr.cap) {
        size_t cap = tr.cap ? tr.cap * 2 : 1024;
        struct span *p = realloc(tr.ev, cap * sizeof(*p));
        if (!p)
            return; /* a lost span is not worth failing the run */
        tr.ev = p;
        tr.cap = cap;
    }
    tr.ev[tr.n++] = (struct span){name, t0, t1};
}

int iamp_trace_export(char **json, size_t *len)
{
    size_t cap = tr.n * 128 + 1, used = 0;
    char *buf = malloc(cap);
    if (!buf)
        return IAMP_ENOMEM;
    buf[0] = '\0';
    for (size_t i = 0; i < tr.n; i++) {
        int w = snprintf(buf + used, cap - used,
                         "%s{\"name\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":0,\"ts\":%.1f,"
                         "\"dur\":%.1f}",
                         i ? ",\n" : "", tr.ev[i].name, tr.rank, (tr.ev[i].t0 + tr.offset) * 1e6,
                         (tr.ev[i].t1 - tr.ev[i].t0) * 1e6);
        if (w < 0 || (size_t)w >= cap - used)
            break; /* names are short literals; cannot happen in practice */
        used += (size_t)w;
    }
    *json = buf;
    *len = used;
    return 0;
}

int iamp_trace_write(const char *path, char *const *fragments, int n)
{
    size_t total = 64;
    for (int i = 0; i < n; i++)
        total += (fragments[i] ? strlen(fragments[i]) : 0) + 2;
    char *buf = malloc(total);
    if (!buf)
        return IAMP_ENOMEM;
    size_t used = (size_t)snprintf(buf, total, "{\"traceEvents\":[\n");
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (!fragments[i] || !fragments[i][0])
            continue;
        used +=
            (size_t)snprintf(buf + used, total - used, "%s%s", first ? "" : ",\n", fragments[i]);
        first = 0;
    }
    used += (size_t)snprintf(buf + used, total - used, "\n]}\n");
    int rc = iamp_file_write_atomic(path, buf, used);
    free(buf);
    return rc;
}
