/* model.c — what every model implementation shares: the dispatch through
 * struct iamp_model_ops, the output buffers, views, checksums and the
 * model spec. */
#include "worker/model/model.h"

#include "tasks/task.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float *iamp_model_alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    return aligned_alloc(64, bytes ? bytes : 64);
}

long iamp_model_pair_rows(const struct iamp_model_config *c)
{
    return (long)(c->vocab + 1) * (long)(c->vocab + 1);
}

const struct iamp_model_ops *iamp_model_ops_for(const struct iamp_model_config *c)
{
    switch (c->kind) {
    case IAMP_MODEL_MLP:
        return &iamp_mlp_ops;
    case IAMP_MODEL_TRANSFORMER:
        return &iamp_transformer_ops;
    default:
        return NULL;
    }
}

int iamp_model_check(const struct iamp_model_config *c, char *err, size_t errlen)
{
    const struct iamp_model_ops *ops = iamp_model_ops_for(c);
    if (!ops) {
        snprintf(err, errlen, "unknown model kind %d", c->kind);
        return IAMP_EINVAL;
    }
    if (c->vocab < 2 || c->vocab > 65535 || c->n_types < 1 || c->q_len < 1 ||
        c->q_len > IAMP_Q_MAX || c->a_len < 1 || c->a_len > IAMP_A_MAX ||
        (c->cont != 0 && c->cont != 1) || c->facts_max < 0 || c->facts_max > IAMP_FACTS_MAX ||
        c->fact_len < 0 || c->fact_len > IAMP_FACT_LEN || (c->facts_max > 0) != (c->fact_len > 0)) {
        snprintf(err, errlen, "the task's shape does not fit a model");
        return IAMP_EINVAL;
    }
    return ops->check(c, err, errlen);
}

static void free_outputs(struct iamp_model *m)
{
    free(m->logits);
    free(m->values);
    free(m->cont);
    m->logits = m->values = m->cont = NULL;
    m->cap_rows = 0;
}

int iamp_model_init(struct iamp_model *m, const struct iamp_model_config *cfg)
{
    char err[160];
    memset(m, 0, sizeof(*m));
    if (iamp_model_check(cfg, err, sizeof(err)))
        return IAMP_EINVAL;
    m->cfg = *cfg;
    m->ops = iamp_model_ops_for(cfg);
    int rc = m->ops->init(m);
    if (!rc) {
        m->params = iamp_model_alloc_floats(m->n_params);
        m->grads = iamp_model_alloc_floats(m->n_params);
        rc = m->params && m->grads ? 0 : IAMP_ENOMEM;
    }
    if (!rc) {
        memset(m->params, 0, m->n_params * sizeof(float));
        memset(m->grads, 0, m->n_params * sizeof(float));
    }
    if (rc)
        iamp_model_release(m);
    return rc;
}

void iamp_model_release(struct iamp_model *m)
{
    if (!m)
        return;
    if (m->ops)
        m->ops->release(m);
    free_outputs(m);
    if (!m->base)
        free(m->params);
    free(m->grads);
    memset(m, 0, sizeof(*m));
}

int iamp_model_init_view(struct iamp_model *v, const struct iamp_model *base)
{
    memset(v, 0, sizeof(*v));
    v->ops = base->ops;
    v->cfg = base->cfg;
    v->n_slots = base->n_slots;
    v->n_params = base->n_params;
    v->params = base->params;
    v->base = base;
    v->grads = iamp_model_alloc_floats(base->n_params);
    if (!v->grads)
        return IAMP_ENOMEM;
    memset(v->grads, 0, base->n_params * sizeof(float));
    int rc = v->ops->init_view(v);
    if (rc)
        iamp_model_release(v);
    return rc;
}

void iamp_model_reset(struct iamp_model *m, struct iamp_rng *r)
{
    m->ops->reset(m, r);
}

void iamp_model_copy_params(struct iamp_model *dst, const struct iamp_model *src)
{
    memcpy(dst->params, src->params, src->n_params * sizeof(float));
}

double iamp_model_flops_per_row(const struct iamp_model_config *cfg)
{
    return iamp_model_flops_per_row_ctx(cfg, 0, 1);
}

double iamp_model_flops_per_row_ctx(const struct iamp_model_config *cfg, int facts,
                                    int rows_per_ctx)
{
    const struct iamp_model_ops *ops = iamp_model_ops_for(cfg);
    return ops ? ops->flops_per_row(cfg, facts, rows_per_ctx > 0 ? rows_per_ctx : 1) : 0.0;
}

void iamp_model_row(const struct iamp_model *m, int type, const uint16_t *q, int q_len,
                    const uint16_t *prefix, int step, int ctx, int32_t *in)
{
    m->ops->row(m, type, q, q_len, prefix, step, ctx, in);
}

static int ensure_outputs(struct iamp_model *m, int rows)
{
    if (rows <= m->cap_rows)
        return 0;
    free_outputs(m);
    size_t R = (size_t)rows;
    m->logits = iamp_model_alloc_floats(R * (size_t)m->cfg.vocab);
    m->values = iamp_model_alloc_floats(R);
    m->cont = iamp_model_alloc_floats(R * IAMP_CONT_OUTPUTS);
    if (!m->logits || !m->values || !m->cont) {
        free_outputs(m);
        return IAMP_ENOMEM;
    }
    m->cap_rows = rows;
    return 0;
}

int iamp_model_forward_batch(struct iamp_model *m, const struct iamp_model_batch *b)
{
    if (b->rows < 0 || b->lo < 0 || b->hi > m->cfg.vocab || b->lo > b->hi || b->n_ctx < 0 ||
        (b->n_ctx > 0 && !b->ctx))
        return IAMP_EINVAL;
    int rc = ensure_outputs(m, b->rows > 0 ? b->rows : 1);
    if (rc)
        return rc;
    m->rows = b->rows;
    m->out_lo = b->lo;
    m->out_hi = b->hi;
    return m->ops->forward(m, b);
}

int iamp_model_forward_cols(struct iamp_model *m, const int32_t *in, int rows, int lo, int hi)
{
    struct iamp_model_batch b = {in, rows, NULL, 0, lo, hi};
    return iamp_model_forward_batch(m, &b);
}

int iamp_model_forward(struct iamp_model *m, const int32_t *in, int rows)
{
    return iamp_model_forward_cols(m, in, rows, 0, m->cfg.vocab);
}

void iamp_model_backward(struct iamp_model *m, const float *dlogits, const float *dvalues,
                         const float *dcont, iamp_grad_ready_cb ready, void *ctx)
{
    m->ops->backward(m, dlogits, dvalues, dcont, ready, ctx);
}

uint64_t iamp_model_checksum(const struct iamp_model *m)
{
    const unsigned char *p = (const unsigned char *)m->params;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < m->n_params * sizeof(float); i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ---- model specs ---- */

struct spec_param {
    const char *key;
    size_t offset; /* in struct iamp_model_config */
    long def, lo, hi;
    const char *help;
};

#define P(k_, f_, d_, lo_, hi_, h_)                                                                \
    {                                                                                              \
        k_, offsetof(struct iamp_model_config, f_), d_, lo_, hi_, h_                               \
    }

static const struct spec_param mlp_params[] = {
    P("embed", embed, 32, 0, 4096, "slot embedding width; 0: one-hot inputs"),
    P("hidden", hidden, 512, 1, 65536, "hidden layer width"),
    P("layers", layers, 2, 1, IAMP_LAYERS_MAX, "hidden layers"),
    P("pair", pair, 0, 0, 1, "1: a pair slot"),
    {NULL, 0, 0, 0, 0, NULL},
};

static const struct spec_param transformer_params[] = {
    P("d", d, 64, 4, 4096, "width"),
    P("heads", heads, 4, 1, 64, "attention heads, dividing d"),
    P("enc", enc, 3, 0, IAMP_LAYERS_MAX, "self-attention layers over the facts"),
    P("dec", dec, 3, 1, IAMP_LAYERS_MAX, "question layers (self- and cross-attention)"),
    P("ff", ff, 0, 0, 65536, "feed-forward width; 0: 4 d"),
    P("pointer", pointer, 1, 0, 2,
      "1: a copy head over the facts' tokens; 2: over the question's own"),
    {NULL, 0, 0, 0, 0, NULL},
};

#undef P

static const struct {
    const char *name;
    int kind;
    const struct spec_param *params;
} kinds[] = {
    {"mlp", IAMP_MODEL_MLP, mlp_params},
    {"transformer", IAMP_MODEL_TRANSFORMER, transformer_params},
};

#define N_KINDS (int)(sizeof(kinds) / sizeof(kinds[0]))

static int *field(struct iamp_model_config *c, const struct spec_param *p)
{
    return (int *)((char *)c + p->offset);
}

int iamp_model_spec_parse(const char *text, struct iamp_model_spec *spec, char *err, size_t errlen)
{
    struct iamp_spec s;
    char why[160];
    memset(spec, 0, sizeof(*spec));
    if (iamp_spec_parse(text, &s, why, sizeof(why))) {
        snprintf(err, errlen, "--model %s: %s", text, why);
        return IAMP_EINVAL;
    }
    int k = 0;
    while (k < N_KINDS && strcmp(kinds[k].name, s.name) != 0)
        k++;
    if (k == N_KINDS) {
        snprintf(err, errlen, "--model %s: unknown model '%s' (mlp or transformer)", text, s.name);
        return IAMP_EINVAL;
    }
    const struct spec_param *ps = kinds[k].params;
    for (int j = 0; j < s.n_params; j++) {
        int i = 0;
        while (ps[i].key && strcmp(ps[i].key, s.key[j]) != 0)
            i++;
        if (!ps[i].key) {
            size_t at = (size_t)snprintf(why, sizeof(why), "%s", ps[0].key);
            for (i = 1; ps[i].key && at < sizeof(why); i++)
                at += (size_t)snprintf(why + at, sizeof(why) - at, ", %s", ps[i].key);
            snprintf(err, errlen, "--model %s: model %s has no parameter '%s' (it has %s)", text,
                     s.name, s.key[j], why);
            return IAMP_EINVAL;
        }
    }
    spec->cfg.kind = kinds[k].kind;
    for (int i = 0; ps[i].key; i++) {
        const char *v = iamp_spec_get(&s, ps[i].key);
        char *end = NULL;
        long x = v ? strtol(v, &end, 10) : ps[i].def;
        if (v && (end == v || *end || x < ps[i].lo || x > ps[i].hi)) {
            snprintf(err, errlen, "--model %s: %s=%s is not a whole number in [%ld, %ld]", text,
                     ps[i].key, v, ps[i].lo, ps[i].hi);
            return IAMP_EINVAL;
        }
        *field(&spec->cfg, &ps[i]) = (int)x;
        if (v)
            spec->given |= 1u << i;
    }
    if (spec->cfg.kind == IAMP_MODEL_TRANSFORMER && spec->cfg.d % spec->cfg.heads != 0) {
        snprintf(err, errlen, "--model %s: heads=%d does not divide d=%d", text, spec->cfg.heads,
                 spec->cfg.d);
        return IAMP_EINVAL;
    }
    return 0;
}

void iamp_model_spec_format(const struct iamp_model_config *cfg, char *buf, size_t len)
{
    int k = 0;
    while (k < N_KINDS && kinds[k].kind != cfg->kind)
        k++;
    if (k == N_KINDS) {
        snprintf(buf, len, "unknown");
        return;
    }
    size_t at = (size_t)snprintf(buf, len, "%s", kinds[k].name);
    struct iamp_model_config c = *cfg;
    for (int i = 0; kinds[k].params[i].key && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%c%s=%d", i ? ',' : ':', kinds[k].params[i].key,
                               *field(&c, &kinds[k].params[i]));
}

const char *iamp_model_spec_help(void)
{
    return "  mlp          an MLP over embedded input slots: embed=32 (0: one-hot),\n"
           "               hidden=512, layers=2 (1..8), pair=0 (1: a pair slot)\n"
           "  transformer  facts encoded by self-attention, the question reading them by\n"
           "               cross-attention: d=64, heads=4, enc=3, dec=3 (1..8), ff=0\n"
           "               (4 d), pointer=1 (a copy head over the facts' tokens; 2: over\n"
           "               the question's own tokens)\n";
}
