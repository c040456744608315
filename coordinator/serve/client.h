/* client.h — a blocking client of the job API over one TCP connection:
 * connect, send requests, read replies (frames of Envelopes).
 *
 * Used by `iamp submit/status/watch/result/cancel/jobs/info` and by
 * `iamp bench serve`, one client per thread. Errors: IAMP_ENET (cannot
 * connect, connection lost), IAMP_ETIMEOUT, IAMP_ECORRUPT (the server sent
 * something that is not a reply), with a one-line reason in err. An Error
 * reply from the server is a reply like any other (kind IAMP_MSG_ERROR).
 */
#ifndef IAMP_CLIENT_H
#define IAMP_CLIENT_H

#include "common/net.h"
#include "proto/frame.h"
#include "proto/wire.h"

#include <stddef.h>
#include <stdint.h>

#define IAMP_ADDR_DEFAULT "127.0.0.1:7433"
#define IAMP_CLIENT_MAX_FRAME_BYTES (256u << 20)
/* With a token, a request frame larger than this is sent after an Info
 * (which authenticates the connection: servers limit frames before one,
 * --max-preauth-frame-bytes, 64 KiB by default). */
#define IAMP_CLIENT_PREAUTH_BYTES 4096
#define IAMP_CLIENT_AUTH_TIMEOUT_MS 30000

struct iamp_client {
    int fd;
    struct iamp_frame_reader rd;
    struct iamp_msg_limits lim;
    int has_token;
    int authed; /* a request with the token has been answered on this connection */
    char token[IAMP_TOKEN_MAX + 1];
    uint64_t next_request;
    uint8_t in[65536]; /* bytes read, not yet fed to rd */
    size_t in_off, in_len;
};

/* The token: the first line of path, without its newline; 1 to
 * IAMP_TOKEN_MAX bytes. */
IAMP_WUR int iamp_token_read(const char *path, char *token, size_t cap, size_t *len, char *err,
                             size_t errlen);

/* Connect to addr within timeout_ms; token may be NULL. */
IAMP_WUR int iamp_client_connect(struct iamp_client *c, const char *addr, const char *token,
                                 int timeout_ms, char *err, size_t errlen);
void iamp_client_close(struct iamp_client *c);

/* Send m; version, token and a fresh request_id are filled in. */
IAMP_WUR int iamp_client_send(struct iamp_client *c, struct iamp_msg *m, char *err, size_t errlen);
/* The next reply (caller releases it); timeout_ms < 0 waits for ever. */
IAMP_WUR int iamp_client_recv(struct iamp_client *c, struct iamp_msg *m, int timeout_ms, char *err,
                              size_t errlen);
/* Send req, then read replies until the one that answers it. */
IAMP_WUR int iamp_client_call(struct iamp_client *c, struct iamp_msg *req, struct iamp_msg *reply,
                              int timeout_ms, char *err, size_t errlen);

#endif
