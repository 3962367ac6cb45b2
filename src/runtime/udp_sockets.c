/*
 * udp_sockets: one SO_REUSEPORT socket per worker slot for each UDP
 * listener, with datagrams spread over the group whoever sent them.
 *
 * Why not one socket shared by all workers: every worker polls it, so
 * every datagram wakes every worker (the thundering herd), and on virtual
 * machines the wake-ups are the dominant cost. Why not plain SO_REUSEPORT:
 * the kernel then picks the socket by a hash of the 4-tuple, so each peer
 * is pinned to one worker, and at a carrier edge a few peers (the other
 * carriers' SBCs) send most of the traffic: one worker would be busy and
 * the rest idle. So the master binds n sockets to the same address and
 * attaches a program to the group that returns a random index: each
 * datagram goes to one socket (one wake-up), whoever sent it; with eBPF
 * the draw holds for a short burst, so a burst wakes one worker
 * (udp_sockets_spread.c). Any worker may get any message, which the
 * shared-memory design already allows.
 *
 * The index the program returns is a position in the kernel's reuseport
 * group, and positions are given in bind order: socket i (bound i-th) is
 * slot i's. The order only holds while every socket stays open: when a
 * member leaves the group the kernel moves the last member into its
 * place. That is why the master keeps every socket of every slot open for
 * its whole life, also while a slot's worker is dead or respawning
 * (datagrams for that slot wait in its socket's buffer meanwhile), and why
 * a worker may close the descriptors of the other slots that fork gave it:
 * the socket leaves the group only when its last descriptor is closed.
 * A foreign socket that joins the group later (same user, same port) sits
 * at an index >= n, which the program never returns.
 */
#include "udp_sockets.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "127.0.0.1:5060" or "[::1]:5060", for messages. */
static const char *udp_sockets_addr_text(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	}
	return buf;
}

static int udp_sockets_setopt(int fd, int level, int opt, int val, const char *optname,
                              const char *where)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)) == 0)
		return 0;
	int err = errno;
	log_error("%s: setsockopt(%s): %s", where, optname, strerror(err));
	return -err;
}

/*
 * Best effort: SO_RCVBUFFORCE passes net.core.rmem_max when we have
 * CAP_NET_ADMIN, SO_RCVBUF is capped by it otherwise. A small buffer only
 * means drops under bursts, which the caller reports once per group.
 */
static void udp_sockets_rcvbuf(int fd)
{
	int val = UDP_SOCKETS_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &val, sizeof(val)) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, sizeof(val));
}

/* Open and bind one member of the group to addr; returns the fd or -errno. */
static int udp_sockets_open_one(const struct sockaddr *addr, socklen_t addrlen, uint32_t i,
                                const char *ctx)
{
	char where[256], text[INET6_ADDRSTRLEN + 8];
	int fd, rc;

	/* "udp://... (sipedge.yaml:3:5): 127.0.0.1:5060 socket #1" */
	snprintf(where, sizeof(where), "%s%s%s socket #%u", ctx ? ctx : "", ctx ? ": " : "",
	         udp_sockets_addr_text(addr, text, sizeof(text)), i);
	fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		log_error("%s: socket(): %s", where, strerror(-rc));
		return rc;
	}
	rc = udp_sockets_setopt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", where);
	/* A v6 listener is for v6 only: a v4 listener on the same port is its
	 * own group, and mapped addresses would confuse Via and ACLs. */
	if (rc == 0 && addr->sa_family == AF_INET6)
		rc = udp_sockets_setopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY", where);
	if (rc == 0) {
		udp_sockets_rcvbuf(fd);
		if (bind(fd, addr, addrlen) != 0) {
			rc = -errno;
			log_error("%s: bind(): %s", where, strerror(-rc));
		}
	}
	if (rc != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * SO_REUSEPORT lets any process of the same user join a group, so a second
 * sipedge started on the same address would silently take half of the
 * traffic. Binding once without it first fails with EADDRINUSE while
 * anyone holds the port. Returns 0 or -errno.
 */
static int udp_sockets_probe(const struct sockaddr *addr, socklen_t addrlen, const char *ctx)
{
	int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* the real socket() will report it */
	int one = 1, rc = 0;
	if (addr->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, addr, addrlen) != 0 && errno == EADDRINUSE) {
		char text[INET6_ADDRSTRLEN + 8];
		rc = -EADDRINUSE;
		log_error("%s%s%s: bind(): address already in use (another sipedge or another "
		          "program holds it)", ctx ? ctx : "", ctx ? ": " : "",
		          udp_sockets_addr_text(addr, text, sizeof(text)));
	}
	close(fd);
	return rc;
}

int udp_sockets_bind(const struct sockaddr *addr, socklen_t addrlen, uint32_t n, int *fds,
                     const char *ctx)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (n == 0 || n > UDP_SOCKETS_MAX || addrlen > sizeof(ss) ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++)
		fds[i] = -1;

	int fd = udp_sockets_probe(addr, addrlen, ctx);
	if (fd < 0)
		return fd;
	fd = udp_sockets_open_one(addr, addrlen, 0, ctx);
	if (fd < 0)
		return fd;
	fds[0] = fd;
	/* The others go to the port the first one got (port 0: ephemeral). */
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		int rc = -errno;
		log_error("%s%sgetsockname(fd %d): %s", ctx ? ctx : "", ctx ? ": " : "", fd,
		          strerror(-rc));
		udp_sockets_close(fds, n);
		return rc;
	}
	for (uint32_t i = 1; i < n; i++) {
		fd = udp_sockets_open_one((const struct sockaddr *)&ss, sslen, i, ctx);
		if (fd < 0) {
			udp_sockets_close(fds, n);
			return fd;
		}
		fds[i] = fd;
	}
	return 0;
}

int udp_sockets_open(const struct sockaddr *addr, socklen_t addrlen, uint32_t n, int *fds,
                     const char *name)
{
	int rc = udp_sockets_bind(addr, addrlen, n, fds, name);

	if (rc != 0)
		return rc; /* logged by udp_sockets_bind, with the failed call */
	/* One socket has nothing to spread over. */
	if (n > 1) {
		rc = udp_sockets_spread(fds[0], NULL, n);
		if (rc < 0)
			log_warn("%s: no spreading program (%s): datagrams are spread by the "
			         "kernel's per-peer hash instead",
			         name, strerror(-rc));
		else
			log_info("%s: datagrams spread over the workers %s", name,
			         udp_spread_name((enum udp_spread)rc));
	}

	int granted = 0;
	socklen_t len = sizeof(granted);
	if (getsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &granted, &len) != 0)
		granted = -1;
	/* Linux reads back twice the size it was given (the other half pays
	 * for its bookkeeping), so a full grant reads as 2 * asked. */
	if (granted >= 0 && granted < 2 * UDP_SOCKETS_RCVBUF)
		log_warn("%s: receive buffer is %d bytes per socket (as SO_RCVBUF reads back), "
		         "asked for %d: raise net.core.rmem_max or run with CAP_NET_ADMIN",
		         name, granted, UDP_SOCKETS_RCVBUF);
	else
		log_info("%s: %u socket%s, receive buffer %d bytes each (as SO_RCVBUF reads back)",
		         name, n, n == 1 ? "" : "s", granted);
	return 0;
}

void udp_sockets_close(int *fds, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}
