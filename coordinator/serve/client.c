/* client.c — see client.h. POSIX sockets through common/net.h (a connect
 * that times out, poll() for timeouts, sends without SIGPIPE). */
#include "coordinator/serve/client.h"

#include "common/fileio.h"
#include "common/net.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int iamp_token_read(const char *path, char *token, size_t cap, size_t *len, char *err,
                    size_t errlen)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = iamp_file_read(path, 4096, &buf, &n);
    if (rc) {
        snprintf(err, errlen, "token file %.200s: %s", path, iamp_strerror(rc));
        return rc;
    }
    size_t k = 0;
    while (k < n && buf[k] != '\n' && buf[k] != '\r')
        k++;
    if (k == 0 || k > IAMP_TOKEN_MAX || k >= cap || memchr(buf, 0, k)) {
        snprintf(err, errlen, "token file %.200s: the first line must hold 1 to %d bytes", path,
                 IAMP_TOKEN_MAX);
        free(buf);
        return IAMP_EINVAL;
    }
    memcpy(token, buf, k);
    token[k] = '\0';
    *len = k;
    free(buf);
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int iamp_client_connect(struct iamp_client *c, const char *addr, const char *token, int timeout_ms,
                        char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    int rc = iamp_net_connect(addr, timeout_ms, &c->fd, err, errlen);
    if (rc)
        return rc;
    iamp_frame_reader_init(&c->rd, IAMP_CLIENT_MAX_FRAME_BYTES);
    c->lim.max_questions = 1u << 22;
    c->lim.max_contexts = 1u << 22;
    c->lim.max_items = 1u << 22;
    c->lim.max_trace = 1u << 24;
    if (token) {
        snprintf(c->token, sizeof(c->token), "%s", token);
        c->has_token = 1;
    }
    return 0;
}

void iamp_client_close(struct iamp_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    iamp_frame_reader_release(&c->rd);
}

/* A server with a token takes only small frames until a request has
 * carried the token: before the first large one, an Info request. */
static int authenticate(struct iamp_client *c, char *err, size_t errlen)
{
    struct iamp_msg info, reply;
    memset(&info, 0, sizeof(info));
    info.kind = IAMP_MSG_INFO;
    c->authed = 1; /* the Info itself goes as it is */
    int rc = iamp_client_call(c, &info, &reply, IAMP_CLIENT_AUTH_TIMEOUT_MS, err, errlen);
    if (!rc && reply.kind == IAMP_MSG_ERROR) {
        snprintf(err, errlen, "%s", reply.reason);
        rc = IAMP_EAUTH;
    }
    if (!rc)
        iamp_msg_release(&reply);
    return rc;
}

int iamp_client_send(struct iamp_client *c, struct iamp_msg *m, char *err, size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    m->version = IAMP_PROTOCOL_VERSION;
    m->has_token = c->has_token;
    memcpy(m->token, c->token, sizeof(m->token));
    m->request_id = ++c->next_request;
    int rc = iamp_msg_frame(m, &buf, &len);
    if (rc) {
        snprintf(err, errlen, "cannot encode the request: %s", iamp_strerror(rc));
        return rc;
    }
    if (c->has_token && !c->authed && len > IAMP_CLIENT_PREAUTH_BYTES) {
        rc = authenticate(c, err, errlen); /* its Info gets the next id: ids stay unique */
        if (rc) {
            free(buf);
            return rc;
        }
    }
    if (iamp_net_send_all(c->fd, buf, len)) {
        snprintf(err, errlen, "connection lost: %s", strerror(errno));
        rc = IAMP_ENET;
    }
    free(buf);
    return rc;
}

/* Read more bytes into c->in; 0, or an error with err set. */
static int fill(struct iamp_client *c, long long deadline, int timeout_ms, char *err, size_t errlen)
{
    int left = timeout_ms < 0 ? -1 : (int)(deadline - now_ms());
    if (timeout_ms >= 0 && left < 0)
        left = 0;
    int rc = iamp_net_wait(c->fd, POLLIN, left);
    if (rc) {
        snprintf(err, errlen, rc == IAMP_ETIMEOUT ? "no reply within %d ms" : "connection lost",
                 timeout_ms);
        return rc;
    }
    ssize_t r;
    do
        r = recv(c->fd, c->in, sizeof(c->in), 0);
    while (r < 0 && errno == EINTR);
    if (r <= 0) {
        snprintf(err, errlen, "connection closed by the server");
        return IAMP_ENET;
    }
    c->in_off = 0;
    c->in_len = (size_t)r;
    return 0;
}

int iamp_client_recv(struct iamp_client *c, struct iamp_msg *m, int timeout_ms, char *err,
                     size_t errlen)
{
    long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    memset(m, 0, sizeof(*m));
    for (;;) {
        if (c->in_off == c->in_len) {
            int rc = fill(c, deadline, timeout_ms, err, errlen);
            if (rc)
                return rc;
        }
        const uint8_t *frame = NULL;
        uint32_t flen = 0;
        size_t used = 0;
        int rc = iamp_frame_reader_feed(&c->rd, c->in + c->in_off, c->in_len - c->in_off, &used,
                                        &frame, &flen);
        c->in_off += used;
        if (rc < 0) {
            snprintf(err, errlen, "bad reply frame (%u bytes)", flen);
            return IAMP_ECORRUPT;
        }
        if (rc == 1) {
            char why[IAMP_REASON_MAX];
            rc = iamp_msg_decode(frame, flen, &c->lim, m, why, sizeof(why));
            if (rc)
                snprintf(err, errlen, "bad reply: %s", why);
            return rc ? IAMP_ECORRUPT : 0;
        }
    }
}

int iamp_client_call(struct iamp_client *c, struct iamp_msg *req, struct iamp_msg *reply,
                     int timeout_ms, char *err, size_t errlen)
{
    int rc = iamp_client_send(c, req, err, errlen);
    while (!rc) {
        rc = iamp_client_recv(c, reply, timeout_ms, err, errlen);
        if (rc || reply->request_id == req->request_id || reply->request_id == 0)
            return rc; /* id 0: an error about the connection itself */
        iamp_msg_release(reply);
    }
    return rc;
}
