/*
 * udp_sockets: the UDP sockets of one listener, one per worker slot.
 *
 * The master opens them before fork and keeps every one open for its whole
 * life; worker slot i receives on socket i only. See udp_sockets.c for why
 * one SO_REUSEPORT socket per slot, spread by a random BPF program.
 */
#ifndef SE_RUNTIME_UDP_SOCKETS_H
#define SE_RUNTIME_UDP_SOCKETS_H

#include <stdint.h>
#include <sys/socket.h>

/* Receive buffer asked for on each socket (the kernel may grant less). */
#define UDP_SOCKETS_RCVBUF (4 << 20)

/*
 * Open n sockets (1 <= n <= 1024) with SO_REUSEPORT, non-blocking and
 * close-on-exec, IPV6_V6ONLY on IPv6, a large receive buffer (best
 * effort), and bind them, in order, to addr. Port 0 binds the first one to
 * an ephemeral port and the others to the same port. fds[0..n) receive the
 * sockets, in bind order, which is the reuseport group's index order.
 * Does not attach the spreading program (udp_sockets_spread).
 * Returns 0, or -errno of the failed call (logged, after `ctx` when not
 * NULL, e.g. the listener and where the config declares it; nothing stays
 * open).
 */
int udp_sockets_bind(const struct sockaddr *addr, socklen_t addrlen, uint32_t n, int *fds,
                     const char *ctx);

/*
 * Make the reuseport group of fd send each datagram to a uniformly random
 * one of k sockets (SO_ATTACH_REUSEPORT_CBPF): socket idx[0..k) (group
 * indexes, i.e. slots), or sockets 0..k-1 when idx is NULL. Applies to the
 * whole group, whichever member fd is, and replaces the previous program:
 * the master narrows the set while a slot is given up and widens it again
 * when the slot runs. 1 <= k <= 1024. Returns 0 or -errno (not logged: the
 * caller decides whether it is fatal).
 */
int udp_sockets_spread(int fd, const uint32_t *idx, uint32_t k);

/*
 * udp_sockets_bind + udp_sockets_spread for a listener: what the master
 * calls. `name` (e.g. "udp://127.0.0.1:5060 (sipedge.yaml:3:5)") is for
 * the log lines. A
 * kernel that refuses the spreading program only costs evenness: it is
 * logged as a warning and the group is kept. Returns 0 or -errno.
 */
int udp_sockets_open(const struct sockaddr *addr, socklen_t addrlen, uint32_t n, int *fds,
                     const char *name);

/* Close fds[0..n) that are >= 0 and set them to -1. */
void udp_sockets_close(int *fds, uint32_t n);

#endif
