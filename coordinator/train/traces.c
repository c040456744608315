/* traces.c — see traces.h. Links every node to its children (one pass:
 * a node always follows its parent), counts subtree sizes (one pass
 * backwards), then writes each tree depth first. Recursion is as deep as
 * a tree, at most its root's depth plus one. Runs on the caller's thread.
 */
#include "coordinator/train/traces.h"

#include "coordinator/train/metrics.h"

#include <stdlib.h>
#include <string.h>

struct links {
    long *first; /* (n) first child, -1: none */
    long *next;  /* (n) next sibling, -1: none */
    long *last;  /* (n) last child so far */
    long *size;  /* (n) nodes in the subtree */
};

struct writer {
    FILE *f;
    const struct iamp_task *t;
    const struct iamp_trace_node *nodes;
    struct links l;
    long next_id;
};

static int link_nodes(const struct iamp_trace_node *nodes, long n, int n_roots, struct links *l)
{
    for (long i = 0; i < n; i++) {
        l->first[i] = l->next[i] = l->last[i] = -1;
        l->size[i] = 1;
    }
    for (long i = 0; i < n; i++) {
        long p = nodes[i].parent;
        if ((i < n_roots) != (p < 0) || p >= i)
            return IAMP_ECORRUPT;
        if (p < 0)
            continue;
        if (l->last[p] < 0)
            l->first[p] = i;
        else
            l->next[l->last[p]] = i;
        l->last[p] = i;
    }
    for (long i = n - 1; i >= n_roots; i--)
        l->size[nodes[i].parent] += l->size[i];
    return 0;
}

static void write_texts(struct writer *w, const struct iamp_trace_node *nd)
{
    char qt[IAMP_TEXT_MAX], at[IAMP_TEXT_MAX];
    w->t->ops->format_question(w->t, &nd->q, qt, sizeof(qt));
    w->t->ops->format_answer(w->t, &nd->q, &nd->a, at, sizeof(at));
    fputs("\"question\":", w->f);
    iamp_json_string(w->f, qt);
    fputs(",\"answer\":", w->f);
    iamp_json_string(w->f, at);
}

static void write_node(struct writer *w, long i, long parent_id, int level)
{
    const struct iamp_trace_node *nd = &w->nodes[i];
    long id = w->next_id++;
    fprintf(w->f, "{\"id\":%ld,", id);
    if (parent_id >= 0)
        fprintf(w->f, "\"parent\":%ld,\"step\":%d,", parent_id, nd->step);
    write_texts(w, nd);
    fprintf(w->f, ",\"by\":\"%s\",\"level\":%d,\"depth_left\":%d,\"children\":[",
            iamp_answered_by_name(nd->by), level, nd->depth_left);
    for (long c = w->l.first[i]; c >= 0; c = w->l.next[c]) {
        if (c != w->l.first[i])
            fputc(',', w->f);
        write_node(w, c, id, level + 1);
    }
    fputs("]}", w->f);
}

/* Root r's line: its answer line's fields, then the tree. */
static void write_root(struct writer *w, long r, const struct iamp_context *ctx_base)
{
    const struct iamp_trace_node *nd = &w->nodes[r];
    char qt[IAMP_TEXT_MAX], at[IAMP_TEXT_MAX], ft[IAMP_FACTS_TEXT_MAX];
    w->t->ops->format_question(w->t, &nd->q, qt, sizeof(qt));
    w->t->ops->format_answer(w->t, &nd->q, &nd->a, at, sizeof(at));
    fputs("{\"question\":", w->f);
    iamp_json_string(w->f, qt);
    if (nd->q.ctx) {
        iamp_context_format(nd->q.ctx, ft, sizeof(ft));
        if (ctx_base)
            fprintf(w->f, ",\"context\":%ld", (long)(nd->q.ctx - ctx_base) + 1);
        fputs(",\"facts\":", w->f);
        iamp_json_string(w->f, ft + strlen("facts: "));
    }
    fputs(",\"answer\":", w->f);
    iamp_json_string(w->f, at);
    fprintf(w->f, ",\"depth\":%d,\"nodes\":%ld,\"tree\":", nd->depth_left, w->l.size[r]);
    w->next_id = 0;
    write_node(w, r, -1, 0);
    fputs("}\n", w->f);
}

int iamp_traces_write(FILE *f, const struct iamp_task *t, const struct iamp_trace_node *nodes,
                      long n, int n_roots, const struct iamp_context *ctx_base)
{
    if (n_roots < 0 || n < n_roots)
        return IAMP_EINVAL;
    size_t bytes = (size_t)(n ? n : 1) * sizeof(long);
    struct writer w = {
        f, t, nodes, {malloc(bytes), malloc(bytes), malloc(bytes), malloc(bytes)}, 0};
    int rc = IAMP_ENOMEM;
    if (!w.l.first || !w.l.next || !w.l.last || !w.l.size)
        goto out;
    rc = link_nodes(nodes, n, n_roots, &w.l);
    for (long r = 0; !rc && r < n_roots; r++)
        write_root(&w, r, ctx_base);
out:
    free(w.l.first);
    free(w.l.next);
    free(w.l.last);
    free(w.l.size);
    return rc;
}
