/* plan.c — see plan.h. The training config's defaults and options are
 * expanded from proto/train_config.h; the model's and the run's rows are
 * written here. */
#include "coordinator/train/plan.h"

#include <stdio.h>
#include <string.h>

static const char *const iamp_lr_schedules[] = {"constant", "linear", NULL};

/* ---------------------------------------------------------- defaults */

#define DEFAULT_NUM(f, def) o->cfg.f = (def);
#define DEFAULT_U32(f, def) DEFAULT_NUM(f, def)
#define DEFAULT_U64(f, def) DEFAULT_NUM(f, def)
#define DEFAULT_F32(f, def) DEFAULT_NUM(f, def)
#define DEFAULT_CHOICE(f, def) DEFAULT_NUM(f, def)
#define DEFAULT_TEXT(f, def) snprintf(o->cfg.f, sizeof(o->cfg.f), "%s", def);
#define DEFAULT(kind, f, def, ...) DEFAULT_##kind(f, def)

void iamp_train_opts_default(struct iamp_train_opts *o)
{
    memset(o, 0, sizeof(*o));
    IAMP_TRAIN_CONFIG_FIELDS(DEFAULT)
    o->eval_seed = IAMP_EVAL_SEED;
    o->curriculum = 1;
}

void iamp_train_plan_default(struct iamp_train_plan *p)
{
    memset(p, 0, sizeof(*p));
    iamp_train_opts_default(&p->o);
    p->mo = (struct iamp_model_opts)IAMP_MODEL_OPTS_DEFAULT;
    p->rounds = 800;
    p->cadence.eval_every = 0; /* by budget: */
    p->cadence.eval_budget = 0.05;
    p->cadence.checkpoint_every = 10;
}

/* ---------------------------------------------------------- options */

#define KIND_U32 IAMP_OPT_U32
#define KIND_U64 IAMP_OPT_U64
#define KIND_F32 IAMP_OPT_FLOAT
#define KIND_CHOICE IAMP_OPT_CHOICE
#define KIND_TEXT IAMP_OPT_TEXT
/* The one text setting, algo, also records that it was given. */
#define SEEN_U32 0
#define SEEN_U64 0
#define SEEN_F32 0
#define SEEN_CHOICE 0
#define SEEN_TEXT IAMP_OPT_SEEN(struct iamp_train_plan, algo_given)
#define CONFIG_ROW(k_, f_, def_, absent_, opt_, arg_, lo_, hi_, choices_, flags_, help_)           \
    {.name = opt_,                                                                                 \
     .kind = KIND_##k_,                                                                            \
     .offset = offsetof(struct iamp_train_plan, o.cfg.f_),                                         \
     .lo = lo_,                                                                                    \
     .hi = hi_,                                                                                    \
     .arg = arg_,                                                                                  \
     .help = help_,                                                                                \
     .choices = choices_,                                                                          \
     .seen = SEEN_##k_,                                                                            \
     .flags = flags_},

static const struct iamp_opt config_rows[] = {IAMP_TRAIN_CONFIG_FIELDS(CONFIG_ROW){0}};

#define IAMP_OPT_STRUCT struct iamp_model_opts
static const struct iamp_opt model_rows[] = {
    IAMP_OPT_NUM("embed", IAMP_OPT_INT, embed, 0, 1024, "N",
                 "slot embedding width; 0: one-hot inputs (each slot's\n"
                 "table is the first hidden layer itself)"),
    IAMP_OPT_NUM("hidden", IAMP_OPT_INT, hidden, 1, 16384, "N", "hidden layer width"),
    IAMP_OPT_NUM("layers", IAMP_OPT_INT, layers, 1, IAMP_LAYERS_MAX, "N", "hidden layers"),
    IAMP_OPT_SWITCH("pair-slot", pair, 1,
                    "one more input: an embedding per pair of the first\n"
                    "two question tokens, a memory for answers that are\n"
                    "an arbitrary function of the pair (graph's default)"),
    IAMP_OPT_SWITCH("no-pair-slot", pair, 0, "no pair slot"),
    {.name = "model",
     .kind = IAMP_OPT_TEXT,
     .offset = offsetof(struct iamp_model_opts, model),
     .hi = sizeof(((struct iamp_model_opts *)0)->model),
     .arg = "SPEC",
     .flags = IAMP_OPT_NO_DEFAULT,
     .help = "the model: mlp:embed=E,hidden=H,layers=L,pair=P (left\n"
             "out: the four options above) or transformer:d=64,\n"
             "heads=4,enc=3,dec=3,ff=0 (4 d),pointer=1 (those are its\n"
             "defaults: width, heads, fact layers, question layers,\n"
             "feed-forward width, copy head over the facts' tokens;\n"
             "pointer=2: over the question's own). Default: an mlp, or a\n"
             "transformer for a task whose questions carry facts"},
    {0},
};
#undef IAMP_OPT_STRUCT

#define IAMP_OPT_STRUCT struct iamp_train_plan
static const struct iamp_opt run_rows[] = {
    IAMP_OPT_NUM("rounds", IAMP_OPT_LONG, rounds, 0, 100000000, "R", "stop after round R in total"),
    IAMP_OPT_NUM("eval-every", IAMP_OPT_LONG, cadence.eval_every, 1, 1000000, "N",
                 "rounds between evaluations, and the last (default:\n"
                 "by --eval-budget)"),
    IAMP_OPT_NUM("eval-budget", IAMP_OPT_DOUBLE, cadence.eval_budget, 0.001, 1.0, "X",
                 "without --eval-every, evaluate after a round when\n"
                 "evaluation has so far taken at most X of the run's\n"
                 "time (and after the last)"),
    IAMP_OPT_NUM("checkpoint-every", IAMP_OPT_LONG, cadence.checkpoint_every, 1, 1000000, "N",
                 "rounds between checkpoints"),
    IAMP_OPT_SWITCH("no-curriculum", o.curriculum, 0, "sample every difficulty from the start"),
    {0},
};
#undef IAMP_OPT_STRUCT

struct iamp_opt_group iamp_model_opts_group(size_t base)
{
    return (struct iamp_opt_group){model_rows, base, "model"};
}

void iamp_train_plan_groups(size_t base, struct iamp_opt_group out[IAMP_PLAN_GROUPS])
{
    out[0] = (struct iamp_opt_group){config_rows, base, "training"};
    out[1] = iamp_model_opts_group(base + offsetof(struct iamp_train_plan, mo));
    out[2] = (struct iamp_opt_group){run_rows, base, "run"};
}

/* ---------------------------------------------------------- a task's */

/* The train defaults of the task a spec makes (its instance's: a
 * parameter may change them, as context=1 does); NULL when none or when
 * the spec does not make a task (opening the session reports why). */
static const char *task_defaults(const char *spec)
{
    struct iamp_task t;
    char why[256];
    if (!spec || iamp_task_create(&t, spec, why, sizeof(why)))
        return NULL;
    const char *d = iamp_task_train_defaults(&t); /* static strings */
    iamp_task_destroy(&t);
    return d;
}

int iamp_train_plan_for_task(struct iamp_train_plan *p, const char *spec, const char **applied,
                             char *err, size_t errlen)
{
    struct iamp_opt_group g[IAMP_PLAN_GROUPS];
    char words[512], why[256];
    const char *defaults = task_defaults(spec);
    iamp_train_plan_default(p);
    if (applied)
        *applied = NULL;
    if (!defaults)
        return 0;
    iamp_train_plan_groups(0, g);
    if (iamp_opts_parse_text(g, IAMP_PLAN_GROUPS, p, defaults, words, sizeof(words), why,
                             sizeof(why)) < 0) {
        snprintf(err, errlen, "task %s: bad train_defaults '%s': %s", spec, defaults, why);
        return IAMP_EINVAL;
    }
    p->algo_given = 0; /* the command line must still name the modes */
    if (applied)
        *applied = defaults;
    return 0;
}
