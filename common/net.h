/* net.h — the TCP client side every layer shares: an address's parts, a
 * connect that times out, waiting on a socket, and sends that never raise
 * SIGPIPE (a peer that went away is an error, not a signal). Used by the
 * job client (coordinator/serve/client.c) and by the remote overseer
 * (tasks/remote.c). */
#ifndef IAMP_NET_H
#define IAMP_NET_H

#include "common/error.h"

#include <stddef.h>

/* Split "HOST:PORT" or "[V6]:PORT". */
IAMP_WUR int iamp_addr_split(const char *addr, char *host, size_t hostlen, int *port);
/* Connect to addr ("HOST:PORT") within timeout_ms (TCP_NODELAY, blocking,
 * close-on-exec): *fd, or IAMP_EPARSE / IAMP_ENET with a one-line reason. */
IAMP_WUR int iamp_net_connect(const char *addr, int timeout_ms, int *fd, char *err, size_t errlen);
/* Wait until fd is ready for poll `events`: 0, IAMP_ETIMEOUT after
 * timeout_ms (< 0: no limit), IAMP_ENET. */
IAMP_WUR int iamp_net_wait(int fd, short events, int timeout_ms);
/* Send all of buf: 0, or IAMP_ENET with errno set. */
IAMP_WUR int iamp_net_send_all(int fd, const void *buf, size_t len);

#endif
