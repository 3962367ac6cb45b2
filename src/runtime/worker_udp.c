/*
 * worker_udp: a worker's UDP listeners on its libuv loop.
 *
 * Each listener is this slot's socket of the listener's reuseport group
 * (bound by the master, see udp_sockets.c), opened as a libuv handle with
 * UV_UDP_RECVMMSG: one recvmmsg(2) call reads a batch of datagrams, so a
 * busy worker pays one wake-up and one system call per batch instead of
 * per datagram, and on virtual machines wake-ups are the dominant cost.
 *
 * How libuv (1.44, src/unix/udp.c) batches: the alloc callback is asked
 * for one buffer per batch; libuv cuts it into chunks of
 * UV__UDP_DGRAM_MAXSIZE (64 KiB, the largest datagram) and reads at most
 * buf.len / 64 KiB datagrams, capped at 20 (UV__MMSG_MAXWIDTH). A buffer
 * under 64 KiB yields no chunk at all, so the buffer is 20 chunks. Each
 * datagram is then reported with UV_UDP_MMSG_CHUNK set and the chunk as
 * its buffer, and one last call with UV_UDP_MMSG_FREE and nread 0 hands the
 * whole buffer back for freeing. The buffer here is the worker's one
 * reusable buffer: a batch's callbacks all run before the next alloc, the
 * recv hook must not keep the pointer, and there is nothing to free. A
 * chunk holds any datagram whole, so UV_UDP_PARTIAL cannot occur; it is
 * still checked.
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

#define WORKER_UDP_CHUNK (64u * 1024u) /* UV__UDP_DGRAM_MAXSIZE in libuv */
#define WORKER_UDP_BATCH 20u           /* UV__MMSG_MAXWIDTH in libuv */

void worker_udp_init(struct worker *w)
{
	w->rxbuf_len = (size_t)WORKER_UDP_CHUNK * WORKER_UDP_BATCH;
	w->rxbuf = xmem_malloc(w->rxbuf_len);
}

void worker_udp_free(struct worker *w)
{
	free(w->rxbuf);
	w->rxbuf = NULL;
	w->rxbuf_len = 0;
}

static void worker_udp_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct worker *w = h->data;

	(void)suggested;
	*buf = uv_buf_init(w->rxbuf, (unsigned)w->rxbuf_len);
}

static socklen_t worker_udp_addrlen(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void worker_udp_on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                               const struct sockaddr *addr, unsigned flags)
{
	struct worker *w = h->data;
	struct listener_rt *l =
	    (struct listener_rt *)((char *)h - offsetof(struct listener_rt, udp));

	if (flags & UV_UDP_MMSG_FREE)
		return; /* the end of a batch: our buffer is reused, not freed */
	if (nread < 0) {
		/* Unconnected UDP sockets seldom fail; when they do it tends to
		 * repeat for every batch, hence one line a second at most. */
		uint64_t now = worker_now_ms(w);
		if (now - w->rx_errlog_ms >= 1000 || w->rx_errlog_ms == 0) {
			w->rx_errlog_ms = now;
			log_warn("recv on %s:%u: %s", l->cfg->host, l->via_port,
			         uv_strerror((int)nread));
		}
		return;
	}
	/* nread 0 with no address: the socket was drained (EAGAIN); with an
	 * address: an empty datagram, which carries no message. */
	if (nread == 0 || addr == NULL)
		return;
	if (flags & UV_UDP_PARTIAL) {
		log_debug("truncated datagram on %s:%u dropped", l->cfg->host, l->via_port);
		return;
	}
	atomic_fetch_add_explicit(&w->sh->slots[w->slot].msgs_in, 1, memory_order_relaxed);
	if (w->hooks->recv)
		w->hooks->recv(w, l, buf->base, (size_t)nread, addr, worker_udp_addrlen(addr));
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
	l->via_host_len = (uint8_t)strlen(l->via_host);
	struct se_out o = se_out_at(l->hostport, sizeof(l->hostport));
	se_out_put(&o, l->via_host, l->via_host_len);
	se_out_put(&o, ":", 1);
	se_out_u32(&o, l->via_port);
	int n = se_out_end(&o, l->hostport); /* fits: via_host has room for an IPv6 literal */
	l->hostport_len = (uint8_t)(n > 0 ? n : 0);
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

	rc = uv_udp_init_ex(&w->loop, &l->udp, AF_UNSPEC | UV_UDP_RECVMMSG);
	if (rc != 0) {
		log_error("uv_udp_init_ex(%s:%u): %s", l->cfg->host, l->via_port, uv_strerror(rc));
		close(fd);
		return rc;
	}
	l->udp.data = w;
	rc = uv_udp_open(&l->udp, fd);
	if (rc != 0) {
		log_error("uv_udp_open(%s:%u, fd %d): %s", l->cfg->host, l->via_port, fd,
		          uv_strerror(rc));
		close(fd);
		uv_close((uv_handle_t *)&l->udp, NULL);
		return rc;
	}
	l->fd = fd;
	return 0;
}

int worker_udp_recv_start(struct worker *w, struct listener_rt *l)
{
	int rc = uv_udp_recv_start(&l->udp, worker_udp_on_alloc, worker_udp_on_recv);

	(void)w;
	if (rc != 0)
		log_error("uv_udp_recv_start(%s:%u): %s", l->cfg->host, l->via_port,
		          uv_strerror(rc));
	else if (!uv_udp_using_recvmmsg(&l->udp))
		log_debug("%s:%u: recvmmsg not available, one datagram per call", l->cfg->host,
		          l->via_port);
	return rc;
}

void worker_udp_close(struct listener_rt *l)
{
	if (l->fd < 0)
		return;
	/* fd -1 first: libuv would bind a fresh socket for a send on a
	 * handle without one, so worker_send() must refuse from now on. */
	l->fd = -1;
	uv_udp_recv_stop(&l->udp);
	uv_close((uv_handle_t *)&l->udp, NULL);
}
