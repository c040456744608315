/* transformer.c — placeholder while the transformer is written. */
#include "worker/model/model.h"

#include <stdio.h>

static int tf_check(const struct iamp_model_config *c, char *err, size_t errlen)
{
    (void)c;
    snprintf(err, errlen, "transformer: not built yet");
    return IAMP_EINVAL;
}

const struct iamp_model_ops iamp_transformer_ops = {.name = "transformer", .check = tf_check};
