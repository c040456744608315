/* traces.c — see traces.h. A run's nodes are first split into one tree
 * per root in pre-order, parents indexed within the tree (what a service
 * result keeps); every tree, from a run or from a result page, is then
 * written by the one writer below, so `iamp answer --trace` and `iamp
 * submit --trace` write the same bytes for the same trees. The writer
 * links each node to its children (one pass: a node always follows its
 * parent) and numbers the nodes depth first as it writes them. Recursion
 * is as deep as a tree. Runs on the caller's thread.
 */
#include "coordinator/train/traces.h"

#include "coordinator/train/metrics.h"

#include <stdlib.h>
#include <string.h>

struct links {
    long *first; /* (n) first child, -1: none */
    long *next;  /* (n) next sibling, -1: none */
    long *last;  /* (n) last child so far */
};

static int links_init(struct links *l, long n)
{
    size_t bytes = (size_t)(n ? n : 1) * sizeof(long);
    l->first = malloc(bytes);
    l->next = malloc(bytes);
    l->last = malloc(bytes);
    return l->first && l->next && l->last ? 0 : IAMP_ENOMEM;
}

static void links_release(struct links *l)
{
    free(l->first);
    free(l->next);
    free(l->last);
}

static void link_child(struct links *l, long parent, long child)
{
    if (l->last[parent] < 0)
        l->first[parent] = child;
    else
        l->next[l->last[parent]] = child;
    l->last[parent] = child;
}

/* ---------------------------------------------------------- split */

struct splitter {
    const struct iamp_trace_node *nodes;
    struct links l;
    struct iamp_result_node *out;
    long at, tree_start;
};

static void emit(struct splitter *s, long i, long parent_at)
{
    const struct iamp_trace_node *nd = &s->nodes[i];
    long me = s->at++;
    s->out[me] = (struct iamp_result_node){
        nd->q,
        nd->a,
        parent_at < 0 ? -1 : (int32_t)(parent_at - s->tree_start),
        nd->depth_left < 0 ? 0 : (uint32_t)nd->depth_left,
        nd->step < 0 ? 0 : (uint32_t)nd->step,
        nd->by,
    };
    for (long c = s->l.first[i]; c >= 0; c = s->l.next[c])
        emit(s, c, me);
}

int iamp_traces_split(const struct iamp_trace_node *nodes, long n, int n_roots,
                      struct iamp_result_node *out, long *tree_at)
{
    struct splitter s = {nodes, {0}, out, 0, 0};
    if (n_roots < 0 || n < n_roots)
        return IAMP_EINVAL;
    int rc = links_init(&s.l, n);
    for (long i = 0; !rc && i < n; i++) {
        s.l.first[i] = s.l.next[i] = s.l.last[i] = -1;
        long p = nodes[i].parent;
        if ((i < n_roots) != (p < 0) || p >= i)
            rc = IAMP_ECORRUPT;
        else if (p >= 0)
            link_child(&s.l, p, i);
    }
    for (int r = 0; !rc && r < n_roots; r++) {
        tree_at[r] = s.tree_start = s.at;
        emit(&s, r, -1);
    }
    if (!rc)
        tree_at[n_roots] = s.at;
    links_release(&s.l);
    return rc;
}

/* ---------------------------------------------------------- write */

struct writer {
    FILE *f;
    const struct iamp_result_node *nodes;
    const struct iamp_node_text *texts;
    struct links l;
    long next_id;
};

static void write_node(struct writer *w, long i, long parent_id, int level)
{
    const struct iamp_result_node *nd = &w->nodes[i];
    long id = w->next_id++;
    fprintf(w->f, "{\"id\":%ld,", id);
    if (parent_id >= 0)
        fprintf(w->f, "\"parent\":%ld,\"step\":%u,", parent_id, nd->step);
    fputs("\"question\":", w->f);
    iamp_json_string(w->f, w->texts[i].question);
    fputs(",\"answer\":", w->f);
    iamp_json_string(w->f, w->texts[i].answer);
    fprintf(w->f, ",\"by\":\"%s\",\"level\":%d,\"depth_left\":%u,\"children\":[",
            iamp_answered_by_name(nd->by), level, nd->depth_left);
    for (long c = w->l.first[i]; c >= 0; c = w->l.next[c]) {
        if (c != w->l.first[i])
            fputc(',', w->f);
        write_node(w, c, id, level + 1);
    }
    fputs("]}", w->f);
}

int iamp_traces_write_tree(FILE *f, const struct iamp_result_node *nodes,
                           const struct iamp_node_text *texts, long n, int context,
                           const char *facts)
{
    struct writer w = {f, nodes, texts, {0}, 0};
    if (n < 1)
        return IAMP_EINVAL;
    int rc = links_init(&w.l, n);
    for (long i = 0; !rc && i < n; i++) {
        w.l.first[i] = w.l.next[i] = w.l.last[i] = -1;
        long p = nodes[i].parent;
        if ((i == 0) != (p < 0) || p >= i)
            rc = IAMP_ECORRUPT;
        else if (p >= 0)
            link_child(&w.l, p, i);
    }
    if (!rc) { /* the root's answer line, then the tree */
        fputs("{\"question\":", f);
        iamp_json_string(f, texts[0].question);
        if (context > 0)
            fprintf(f, ",\"context\":%d", context);
        if (facts) {
            fputs(",\"facts\":", f);
            iamp_json_string(f, facts);
        }
        fputs(",\"answer\":", f);
        iamp_json_string(f, texts[0].answer);
        fprintf(f, ",\"depth\":%u,\"nodes\":%ld,\"tree\":", nodes[0].depth_left, n);
        write_node(&w, 0, -1, 0);
        fputs("}\n", f);
    }
    links_release(&w.l);
    return rc;
}

/* Tree nodes[0..n) of a run, its texts formatted with t. */
static int write_run_tree(FILE *f, const struct iamp_task *t, const struct iamp_result_node *nodes,
                          long n, const struct iamp_context *ctx_base)
{
    char ft[IAMP_FACTS_TEXT_MAX];
    struct iamp_node_text *texts = malloc((size_t)n * sizeof(*texts));
    if (!texts)
        return IAMP_ENOMEM;
    for (long i = 0; i < n; i++) {
        t->ops->format_question(t, &nodes[i].q, texts[i].question, sizeof(texts[i].question));
        t->ops->format_answer(t, &nodes[i].q, &nodes[i].a, texts[i].answer,
                              sizeof(texts[i].answer));
    }
    const struct iamp_context *ctx = nodes[0].q.ctx;
    if (ctx)
        iamp_context_format(ctx, ft, sizeof(ft));
    int context = ctx && ctx_base ? (int)(ctx - ctx_base) + 1 : 0;
    int rc =
        iamp_traces_write_tree(f, nodes, texts, n, context, ctx ? ft + strlen("facts: ") : NULL);
    free(texts);
    return rc;
}

int iamp_traces_write(FILE *f, const struct iamp_task *t, const struct iamp_trace_node *nodes,
                      long n, int n_roots, const struct iamp_context *ctx_base)
{
    if (n_roots < 0 || n < n_roots)
        return IAMP_EINVAL;
    struct iamp_result_node *trees = malloc((size_t)(n ? n : 1) * sizeof(*trees));
    long *at = malloc(((size_t)n_roots + 1) * sizeof(*at));
    int rc = trees && at ? iamp_traces_split(nodes, n, n_roots, trees, at) : IAMP_ENOMEM;
    for (int r = 0; !rc && r < n_roots; r++)
        rc = write_run_tree(f, t, trees + at[r], at[r + 1] - at[r], ctx_base);
    free(trees);
    free(at);
    return rc;
}
