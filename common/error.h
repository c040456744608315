/* error.h — iamp's one table of error codes.
 *
 * Every fallible function returns 0 or a negative IAMP_E* code. The X-macro
 * below is the single source for the codes and their messages; errors from
 * libuv, MPI, protobuf-c and libc are converted at the boundary.
 */
#ifndef IAMP_ERROR_H
#define IAMP_ERROR_H

#define IAMP_WUR __attribute__((warn_unused_result))

#define IAMP_ERRNO_MAP(X)                                                                          \
    X(INVAL, "invalid argument")                                                                   \
    X(NOMEM, "out of memory")                                                                      \
    X(IO, "input/output error")                                                                    \
    X(NOENT, "no such file")                                                                       \
    X(CORRUPT, "corrupt or truncated data")                                                        \
    X(VERSION, "unsupported version")                                                              \
    X(MISMATCH, "does not match")                                                                  \
    X(RANGE, "value out of range")                                                                 \
    X(PARSE, "cannot parse")                                                                       \
    X(UNKNOWN, "unknown name")                                                                     \
    X(LIMIT, "limit exceeded")                                                                     \
    X(STATE, "operation not allowed in this state")                                                \
    X(MPI, "MPI failure")                                                                          \
    X(NET, "network failure")                                                                      \
    X(TIMEOUT, "timed out")                                                                        \
    X(CANCELED, "canceled")                                                                        \
    X(AUTH, "not authorised")                                                                      \
    X(OVERSEER, "the overseer failed")

enum iamp_errno {
    IAMP_OK = 0,
#define IAMP_ERR_ENUM(name, msg) IAMP_E##name,
    IAMP_E_FIRST_ = -1000,
    IAMP_ERRNO_MAP(IAMP_ERR_ENUM)
#undef IAMP_ERR_ENUM
        IAMP_E_LAST_
};

/* Message for an IAMP_E* code (or 0); never NULL. */
const char *iamp_strerror(int err);

/* The reason behind this thread's latest IAMP_EOVERSEER (a remote
 * overseer's failure names the overseer and what went wrong): note it
 * where the failure is found; iamp_strerror(IAMP_EOVERSEER) then returns
 * it on this thread. */
void iamp_error_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Map a libc errno value to an IAMP_E* code. */
int iamp_err_from_errno(int e);

#endif
