/*
 * udp_sockets: the UDP sockets of one listener, one per worker slot.
 *
 * The master opens them before fork and keeps every one open for its whole
 * life; worker slot i receives on socket i only. See udp_sockets.c for why
 * one SO_REUSEPORT socket per slot, and udp_sockets_spread.c for the
 * program that spreads datagrams over them.
 */
#ifndef SE_RUNTIME_UDP_SOCKETS_H
#define SE_RUNTIME_UDP_SOCKETS_H

#include <stdint.h>
#include <sys/socket.h>

/* Sockets in a group at most: the n of udp_sockets_bind, the k of
 * udp_sockets_spread. */
#define UDP_SOCKETS_MAX 1024

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

/* How datagrams are spread (udp_sockets_spread.c). */
enum udp_spread {
	UDP_SPREAD_RANDOM, /* each to a random socket (classic BPF) */
	UDP_SPREAD_BURSTS, /* each CPU's bursts to one random socket (eBPF) */
};

/*
 * Make the reuseport group of fd spread datagrams over k of its sockets,
 * whoever sent them: socket idx[0..k) (group indexes, i.e. slots), or
 * sockets 0..k-1 when idx is NULL. Applies to the whole group, whichever
 * member fd is, and replaces the previous program: the master narrows the
 * set while a slot is given up and widens it again when the slot runs.
 * 1 <= k <= 1024. In bursts when the kernel lets us load eBPF, at random
 * otherwise. Returns the enum udp_spread in force, or -errno (not logged:
 * the caller decides whether it is fatal).
 */
int udp_sockets_spread(int fd, const uint32_t *idx, uint32_t k);
/* The same with that program only: 0 or -errno (EPERM: eBPF needs
 * CAP_BPF). */
int udp_sockets_spread_as(int fd, const uint32_t *idx, uint32_t k, enum udp_spread how);
/* "in bursts per CPU (eBPF)", for the log. */
const char *udp_spread_name(enum udp_spread how);

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
