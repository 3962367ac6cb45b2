/*
 * worker_udp: a worker's UDP listeners on its libuv loop.
 *
 * Each listener is this slot's socket of the listener's reuseport group
 * (bound by the master, see udp_sockets.c), watched with a uv_poll_t: when
 * it is readable, one recvmmsg(2) call reads a batch of up to
 * WORKER_UDP_BATCH datagrams, so a busy worker pays one wake-up and one
 * system call per batch instead of per datagram; on virtual machines
 * wake-ups and system calls are the dominant cost.
 *
 * Why not libuv's own UDP handle (UV_UDP_RECVMMSG): it reads again after
 * every batch until the socket answers EAGAIN, one wasted system call per
 * wake-up, and sets up all 20 message headers for every call. Here the
 * headers are set up once, a batch that is not full ends the reading
 * (epoll is level-triggered: a datagram that arrived meanwhile wakes the
 * loop again), and a full one is followed by at most WORKER_UDP_ROUNDS - 1
 * more, so that timers and the other listeners get their turn.
 *
 * Each datagram has a 64 KiB chunk of the worker's one receive buffer (the
 * largest UDP payload fits: MSG_TRUNC cannot occur, it is still checked).
 * The recv hook gets the chunk during its call only. Sending is
 * worker_send.c's, on the same socket.
 */
#include "worker_udp.h"

#include "log.h"
#include "xmem.h"

#include <sipedge/out.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WORKER_UDP_CHUNK  (64u * 1024u) /* the largest UDP datagram */
#define WORKER_UDP_BATCH  32u           /* datagrams per recvmmsg */
#define WORKER_UDP_ROUNDS 4u            /* full batches read per wake-up */

struct worker_rx {
	struct mmsghdr msg[WORKER_UDP_BATCH];
	struct iovec iov[WORKER_UDP_BATCH];
	struct sockaddr_storage src[WORKER_UDP_BATCH];
};

void worker_udp_init(struct worker *w)
{
	w->rxbuf_len = (size_t)WORKER_UDP_CHUNK * WORKER_UDP_BATCH;
	w->rxbuf = xmem_malloc(w->rxbuf_len);
	struct worker_rx *rx = xmem_calloc(1, sizeof(*rx));
	for (uint32_t i = 0; i < WORKER_UDP_BATCH; i++) {
		rx->iov[i] = (struct iovec){.iov_base = w->rxbuf + (size_t)i * WORKER_UDP_CHUNK,
		                            .iov_len = WORKER_UDP_CHUNK};
		rx->msg[i].msg_hdr = (struct msghdr){.msg_name = &rx->src[i],
		                                     .msg_namelen = sizeof(rx->src[i]),
		                                     .msg_iov = &rx->iov[i],
		                                     .msg_iovlen = 1};
	}
	w->rx = rx;
}

void worker_udp_free(struct worker *w)
{
	free(w->rxbuf);
	free(w->rx);
	w->rxbuf = NULL;
	w->rx = NULL;
	w->rxbuf_len = 0;
}

/* Unconnected UDP sockets seldom fail; when they do it tends to repeat
 * for every wake-up, hence one line a second at most. */
static void worker_udp_rx_error(struct worker *w, const struct listener_rt *l, int err)
{
	uint64_t now = worker_now_ms(w);
	if (now - w->rx_errlog_ms >= 1000 || w->rx_errlog_ms == 0) {
		w->rx_errlog_ms = now;
		log_warn("recv on %s:%u: %s", l->cfg->host, l->via_port, strerror(err));
	}
}

/* Hand the n datagrams of a batch to the recv hook, and make their
 * headers ready for the next call (the kernel wrote the address lengths). */
static void worker_udp_deliver(struct worker *w, struct listener_rt *l, uint32_t n)
{
	struct worker_rx *rx = w->rx;
	atomic_fetch_add_explicit(&w->sh->slots[w->slot].msgs_in, n, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++) {
		struct msghdr *h = &rx->msg[i].msg_hdr;
		size_t len = rx->msg[i].msg_len;
		bool trunc = h->msg_flags & MSG_TRUNC;
		socklen_t alen = h->msg_namelen;
		h->msg_namelen = sizeof(rx->src[i]);
		h->msg_flags = 0;
		if (trunc) {
			log_debug("truncated datagram on %s:%u dropped", l->cfg->host, l->via_port);
			continue;
		}
		if (len == 0) /* an empty datagram carries no message */
			continue;
		if (w->hooks->recv)
			w->hooks->recv(w, l, rx->iov[i].iov_base, len, (const struct sockaddr *)&rx->src[i],
			               alen);
	}
}

static void worker_udp_on_readable(uv_poll_t *h, int status, int events)
{
	struct worker *w = h->data;
	struct listener_rt *l =
	    (struct listener_rt *)((char *)h - offsetof(struct listener_rt, poll));

	(void)events;
	if (status < 0) {
		/* libuv stops the handle on a socket error (POLLERR): take the
		 * pending error off the socket and watch it again, or this
		 * listener would never receive again */
		int err = 0;
		socklen_t elen = sizeof(err);
		getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		worker_udp_rx_error(w, l, err ? err : -status);
		if (l->fd >= 0 && !uv_is_closing((uv_handle_t *)h))
			uv_poll_start(h, UV_READABLE, worker_udp_on_readable);
		return;
	}
	for (uint32_t round = 0; round < WORKER_UDP_ROUNDS && l->fd >= 0; round++) {
		int n = recvmmsg(l->fd, w->rx->msg, WORKER_UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				worker_udp_rx_error(w, l, errno);
			return;
		}
		worker_udp_deliver(w, l, (uint32_t)n);
		if ((uint32_t)n < WORKER_UDP_BATCH)
			return; /* drained, most likely; if not, epoll says so */
	}
}

/* Via / Record-Route host and port: `advertise` when set (the address
 * peers must use, e.g. behind NAT), else the address the socket is bound
 * to, IPv6 in brackets (RFC 3261 §25.1 hostport). */
static void worker_udp_via(struct worker *w, struct listener_rt *l,
                           const struct sockaddr_storage *bound)
{
	uint16_t port;
	char host[INET6_ADDRSTRLEN] = "";

	if (bound->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)bound;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(l->via_host, sizeof(l->via_host), "[%s]", host);
		port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)bound;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(l->via_host, sizeof(l->via_host), "%s", host);
		port = ntohs(s4->sin_port);
	}
	l->via_port = port;
	if (w->cfg->advertise.host)
		snprintf(l->via_host, sizeof(l->via_host), "%s", w->cfg->advertise.host);
	if (w->cfg->advertise.port)
		l->via_port = w->cfg->advertise.port;
	l->via_host_len = (uint16_t)strlen(l->via_host);
	struct se_out o = se_out_at(l->hostport, sizeof(l->hostport));
	se_out_put(&o, l->via_host, l->via_host_len);
	se_out_put(&o, ":", 1);
	se_out_u32(&o, l->via_port);
	int n = se_out_end(&o, l->hostport); /* fits: 255 + ':' + 5 digits + NUL */
	l->hostport_len = (uint16_t)(n > 0 ? n : 0);
}

int worker_udp_open(struct worker *w, uint32_t index, int fd)
{
	struct listener_rt *l = &w->listeners[index];
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int rc;

	l->cfg = &w->cfg->listen[index];
	l->index = index;
	l->fd = -1;
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
		rc = -errno;
		log_error("getsockname(fd %d, listener %u): %s", fd, index, strerror(-rc));
		close(fd);
		return rc;
	}
	worker_udp_via(w, l, &bound);

	rc = uv_poll_init_socket(&w->loop, &l->poll, fd);
	if (rc != 0) {
		log_error("uv_poll_init_socket(%s:%u, fd %d): %s", l->cfg->host, l->via_port, fd,
		          uv_strerror(rc));
		close(fd);
		return rc;
	}
	l->poll.data = w;
	l->fd = fd;
	return 0;
}

int worker_udp_recv_start(struct worker *w, struct listener_rt *l)
{
	int rc = uv_poll_start(&l->poll, UV_READABLE, worker_udp_on_readable);

	(void)w;
	if (rc != 0)
		log_error("uv_poll_start(%s:%u): %s", l->cfg->host, l->via_port, uv_strerror(rc));
	return rc;
}

void worker_udp_close(struct listener_rt *l)
{
	if (l->fd < 0)
		return;
	/* fd -1 first: worker_send() must refuse from now on */
	int fd = l->fd;
	l->fd = -1;
	uv_poll_stop(&l->poll);
	uv_close((uv_handle_t *)&l->poll, NULL);
	close(fd); /* this process's copy: the master keeps its own */
}
