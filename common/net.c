/* net.c — see net.h. */
#include "common/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int iamp_addr_split(const char *addr, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return IAMP_EPARSE;
    const char *h = addr;
    size_t n = (size_t)(colon - addr);
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return IAMP_EPARSE;
        h++;
        n -= 2;
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (n >= hostlen || !colon[1] || *end || p < 0 || p > 65535)
        return IAMP_EPARSE;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

int iamp_net_wait(int fd, short events, int timeout_ms)
{
    struct pollfd p = {fd, events, 0};
    for (;;) {
        int r = poll(&p, 1, timeout_ms);
        if (r > 0)
            return 0;
        if (r == 0)
            return IAMP_ETIMEOUT;
        if (errno != EINTR)
            return IAMP_ENET;
    }
}

static int connect_one(const struct addrinfo *ai, int timeout_ms, int *out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return errno;
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int e = connect(fd, ai->ai_addr, ai->ai_addrlen) ? errno : 0;
    if (e == EINPROGRESS) {
        socklen_t len = sizeof(e);
        e = iamp_net_wait(fd, POLLOUT, timeout_ms) == IAMP_ETIMEOUT ? ETIMEDOUT : 0;
        if (!e && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len))
            e = errno;
    }
    if (e) {
        close(fd);
        return e;
    }
    fcntl(fd, F_SETFL, flags);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *out = fd;
    return 0;
}

int iamp_net_connect(const char *addr, int timeout_ms, int *fd, char *err, size_t errlen)
{
    char host[256], port[16];
    int p = 0;
    *fd = -1;
    if (iamp_addr_split(addr, host, sizeof(host), &p)) {
        snprintf(err, errlen, "address '%.200s' is not HOST:PORT", addr);
        return IAMP_EPARSE;
    }
    snprintf(port, sizeof(port), "%d", p);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g) {
        snprintf(err, errlen, "cannot resolve %.200s: %s", host, gai_strerror(g));
        return IAMP_ENET;
    }
    int e = ENOENT;
    for (struct addrinfo *ai = res; ai && *fd < 0; ai = ai->ai_next)
        e = connect_one(ai, timeout_ms, fd);
    freeaddrinfo(res);
    if (*fd < 0) {
        snprintf(err, errlen, "cannot connect to %.200s: %s", addr, strerror(e));
        return IAMP_ENET;
    }
    return 0;
}

int iamp_net_send_all(int fd, const void *buf, size_t len)
{
    const char *b = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t w = send(fd, b + done, len - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return IAMP_ENET;
        done += (size_t)w;
    }
    return 0;
}
