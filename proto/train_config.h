/* train_config.h — the settings a resumed training run keeps (TrainConfig
 * in iamp.proto), as one list that every place expands: the struct below,
 * the codec (proto/codec.c), iamp's defaults and the `iamp train` options
 * (coordinator/train/plan.c), and the codec's round-trip test. A new
 * setting is one line here and its field, by the same name, in
 * TrainConfig.
 *
 * X(kind, field, def, absent, option, arg, lo, hi, choices, flags, help)
 *   kind     U32, U64, F32, TEXT (char[IAMP_CONFIG_TEXT_MAX]) or CHOICE
 *            (a U32 naming one of `choices`)
 *   def      iamp's default
 *   absent   its value when a checkpoint lacks the field (older files)
 *   option .. flags  the row of its command-line option (common/options.h)
 *   help     the option's --help line
 * Fields appear in TrainConfig's field-number order.
 *
 * IAMP_CONFIG_SPARSE in flags (a bit the option parser ignores): the codec
 * writes the field only when it differs from `absent`, so a run that
 * leaves a newer setting off writes byte for byte the checkpoint it wrote
 * before the setting existed.
 */
#ifndef IAMP_TRAIN_CONFIG_H
#define IAMP_TRAIN_CONFIG_H

#include <stdint.h>

#define IAMP_CONFIG_TEXT_MAX 128
#define IAMP_CONFIG_SPARSE (1 << 8) /* common/options.h: IAMP_OPT_CALLER_FLAGS */

/* lr_schedule */
enum { IAMP_LR_CONSTANT = 0, IAMP_LR_LINEAR = 1 };

#define IAMP_TRAIN_CONFIG_FIELDS(X)                                                                \
    X(TEXT, algo, "imitate", "", "algo", "MODE", 0, IAMP_CONFIG_TEXT_MAX, NULL,                    \
      IAMP_OPT_NO_DEFAULT,                                                                         \
      "distillation mode for every question type, or per\n"                                        \
      "type: type=mode,... (modes below)")                                                         \
    X(U32, depth, 1, 0, "depth", "D", 0, 8, NULL, 0, "amplification depth")                        \
    X(U32, questions_per_round, 256, 0, "questions", "N", 1, 1 << 20, NULL, 0,                     \
      "questions per round")                                                                       \
    X(U32, batch, 64, 0, "batch", "N", 1, 1 << 16, NULL, 0, "minibatch size, in questions")        \
    X(U32, epochs, 1, 0, "epochs", "N", 1, 1000, NULL, 0, "passes over each round's examples")     \
    X(F32, lr, 2e-3f, 0, "lr", "X", 1e-7, 1.0, NULL, 0, "Adam learning rate")                      \
    X(U64, seed, 1, 0, "seed", "S", 0, 0, NULL, 0, "training seed: init, sampling")                \
    X(U32, eval_size, 0, 0, "eval-size", "N", 1, 1 << 20, NULL, IAMP_OPT_NO_DEFAULT,               \
      "held-out questions (default: the task's set,\n"                                             \
      "its size listed under tasks)")                                                              \
    X(F32, curriculum_threshold, 0.85f, 0, "curriculum-threshold", "X", 0.0, 1.0, NULL, 0,         \
      "agreement that raises the level")                                                           \
    X(U32, curriculum_window, 3, 0, "curriculum-window", "N", 1, IAMP_AGREEMENT_MAX, NULL, 0,      \
      "rounds averaged for it")                                                                    \
    X(U32, target_sync, 5, 0, "target-sync", "N", 0, 1000000, NULL, 0,                             \
      "rounds between refreshes of M_target, the copy\n"                                           \
      "of M that amplification asks; 0 = ask M")                                                   \
    X(CHOICE, lr_schedule, IAMP_LR_LINEAR, 0, "lr-schedule", "S", 0, 0, iamp_lr_schedules, 0,      \
      "linear (falls to 10% over --lr-decay-rounds)\n"                                             \
      "or constant")                                                                               \
    X(U32, schedule_rounds, 800, 0, "lr-decay-rounds", "N", 1, 100000000, NULL, 0,                 \
      "linear: rounds the learning rate falls over")                                               \
    X(U32, samples, 8, 0, "samples", "K", 1, 64, NULL, 0, "search: answers sampled per question")  \
    X(U32, warmup, 0, 0, "warmup", "R", 0, 100000000, NULL, 0,                                     \
      "rounds in which search/reinforce/mixed types imitate\n"                                     \
      "first; p_ref, the reference of the reported KL and\n"                                       \
      "of mixed's penalty, is M after them")                                                       \
    X(F32, entropy_coef, 0.01f, 0, "entropy", "X", 0.0, 10.0, NULL, 0,                             \
      "reinforce/mixed: entropy bonus")                                                            \
    X(F32, value_coef, 0.5f, 0, "value-coef", "X", 0.0, 100.0, NULL, 0,                            \
      "reinforce/mixed: weight of the value baseline's\n"                                          \
      "squared error")                                                                             \
    X(F32, mix_lambda, 0.1f, 0, "lambda", "X", 0.0, 1.0, NULL, 0, "mixed: imitation share")        \
    X(F32, kl_beta, 0.1f, 0, "beta", "X", 0.0, 100.0, NULL, 0,                                     \
      "mixed: weight of KL(p_M || p_ref)")                                                         \
    X(F32, rl_lr_scale, 1.0f, 1.0f, "rl-lr-scale", "X", 1e-6, 100.0, NULL, 0,                      \
      "learning rate times X from round --warmup on, for\n"                                        \
      "RL fine-tuning of an imitation-trained M")                                                  \
    X(F32, overseer_error, 0.0f, 0.0f, "overseer-error", "P", 0.0, 1.0, NULL,                      \
      IAMP_OPT_BELOW_HI | IAMP_CONFIG_SPARSE,                                                      \
      "replace each amplified answer that M learns from\n"                                         \
      "(targets, approvals) with probability P by a\n"                                             \
      "uniform draw from its answer space: H errs")

#define IAMP_CONFIG_CTYPE_U32 uint32_t
#define IAMP_CONFIG_CTYPE_CHOICE uint32_t
#define IAMP_CONFIG_CTYPE_U64 uint64_t
#define IAMP_CONFIG_CTYPE_F32 float
#define IAMP_CONFIG_MEMBER_TEXT(f) char f[IAMP_CONFIG_TEXT_MAX];
#define IAMP_CONFIG_MEMBER_U32(f) IAMP_CONFIG_CTYPE_U32 f;
#define IAMP_CONFIG_MEMBER_CHOICE(f) IAMP_CONFIG_CTYPE_CHOICE f;
#define IAMP_CONFIG_MEMBER_U64(f) IAMP_CONFIG_CTYPE_U64 f;
#define IAMP_CONFIG_MEMBER_F32(f) IAMP_CONFIG_CTYPE_F32 f;
#define IAMP_CONFIG_MEMBER(kind, f, ...) IAMP_CONFIG_MEMBER_##kind(f)

/* Settings a resumed training run keeps; see the list above. */
struct iamp_train_config {
    IAMP_TRAIN_CONFIG_FIELDS(IAMP_CONFIG_MEMBER)
};

#endif
