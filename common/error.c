/* error.c — messages for the IAMP_E* table in error.h. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

static _Thread_local char overseer_note[320];

void iamp_error_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(overseer_note, sizeof(overseer_note), fmt, ap);
    va_end(ap);
}

const char *iamp_strerror(int err)
{
    if (err == IAMP_EOVERSEER && overseer_note[0])
        return overseer_note;
    switch (err) {
    case 0:
        return "success";
#define IAMP_ERR_MSG(name, msg)                                                                    \
    case IAMP_E##name:                                                                             \
        return msg;
        IAMP_ERRNO_MAP(IAMP_ERR_MSG)
#undef IAMP_ERR_MSG
    default:
        return "unknown error";
    }
}

int iamp_err_from_errno(int e)
{
    switch (e) {
    case ENOENT:
        return IAMP_ENOENT;
    case ENOMEM:
        return IAMP_ENOMEM;
    case EINVAL:
        return IAMP_EINVAL;
    case EACCES:
    case EPERM:
        return IAMP_EAUTH;
    default:
        return IAMP_EIO;
    }
}
