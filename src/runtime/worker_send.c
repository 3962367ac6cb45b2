/*
 * worker_send: datagrams out, several per system call.
 *
 * On these machines a system call costs more than building the message
 * it carries, and a proxy sends one datagram per message it receives (two
 * for an INVITE: 100 Trying and the request downstream). So a datagram is
 * not sent when the SIP layer asks: it is copied into a per-worker queue,
 * and the queue goes out with sendmmsg(2) before the loop waits for
 * events again (a uv_prepare handle: after the receive batches of one
 * iteration and the timers of the next) or when it is full. So nothing
 * waits for an event: only for the work already due.
 *
 * worker_send_now() queues and flushes at once, for the caller that needs
 * to know whether its datagram left (a new branch: a transport error fails
 * it over). The queue keeps the order of the datagrams; a flush writes
 * each run of datagrams of one socket with one call.
 *
 * A datagram the kernel refuses (EAGAIN under overload, EHOSTUNREACH...)
 * is dropped, as uv_udp_try_send did before: SIP retransmits, a queue
 * would only add latency and memory to the next overload. Deferred
 * failures are reported to the hooks (send_failed) to be counted.
 */
#include "worker.h"

#include "xmem.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#define TX_MAX   64u          /* datagrams per flush */
#define TX_BYTES (256u * 1024u) /* their bytes */

struct worker_tx {
	uint32_t n;    /* queued */
	size_t used;   /* bytes of buf in use */
	int fd[TX_MAX];
	int res[TX_MAX]; /* after a flush: 0 or -errno per datagram */
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} dst[TX_MAX];
	struct iovec iov[TX_MAX];
	struct mmsghdr msg[TX_MAX];
	char buf[TX_BYTES];
};

static void worker_tx_on_prepare(uv_prepare_t *h)
{
	worker_flush(h->data);
}

void worker_tx_init(struct worker *w)
{
	w->tx = xmem_calloc(1, sizeof(*w->tx));
	uv_prepare_init(&w->loop, &w->tx_prepare);
	w->tx_prepare.data = w;
	uv_prepare_start(&w->tx_prepare, worker_tx_on_prepare);
	/* the check handle alone must not keep the loop alive at exit */
	uv_unref((uv_handle_t *)&w->tx_prepare);
}

void worker_tx_close(struct worker *w)
{
	worker_flush(w);
	if (!uv_is_closing((uv_handle_t *)&w->tx_prepare))
		uv_close((uv_handle_t *)&w->tx_prepare, NULL);
}

void worker_tx_free(struct worker *w)
{
	free(w->tx);
	w->tx = NULL;
}

/* Send queued datagrams [from, to) of socket fd; their results into res. */
static void tx_run(struct worker_tx *q, uint32_t from, uint32_t to)
{
	uint32_t k = from;
	while (k < to) {
		int r = sendmmsg(q->fd[k], &q->msg[k], to - k, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) { /* this one is refused: go on after it */
			q->res[k++] = r < 0 ? -errno : -EIO;
			continue;
		}
		for (int i = 0; i < r; i++)
			q->res[k + (uint32_t)i] = 0;
		k += (uint32_t)r;
	}
}

/* Send everything queued. The result of datagram `mine` (UINT32_MAX:
 * none) is returned, 0 or -errno; the other failures go to the hooks. */
static int tx_flush(struct worker *w, uint32_t mine)
{
	struct worker_tx *q = w->tx;
	uint32_t failed = 0, sent = 0;
	int last_err = 0, rc = 0;
	for (uint32_t i = 0; i < q->n;) {
		uint32_t j = i + 1;
		while (j < q->n && q->fd[j] == q->fd[i])
			j++;
		tx_run(q, i, j);
		i = j;
	}
	for (uint32_t i = 0; i < q->n; i++) {
		if (q->res[i] == 0) {
			sent++;
		} else if (i == mine) {
			rc = q->res[i];
		} else {
			failed++;
			last_err = q->res[i];
		}
	}
	q->n = 0; /* before the hook: it may send */
	q->used = 0;
	if (sent)
		atomic_fetch_add_explicit(&w->sh->slots[w->slot].msgs_out, sent,
		                          memory_order_relaxed);
	if (failed && w->hooks->send_failed)
		w->hooks->send_failed(w, failed, last_err);
	return rc;
}

void worker_flush(struct worker *w)
{
	if (w->tx && w->tx->n)
		tx_flush(w, UINT32_MAX);
}

/* Queue a copy of the datagram; its index, or a negative errno. */
static int tx_queue(struct worker *w, struct listener_rt *l, const struct sockaddr *dst,
                    const void *buf, size_t len)
{
	struct worker_tx *q = w->tx;
	if (l->fd < 0)
		return -EBADF;
	if (len > TX_BYTES)
		return -EMSGSIZE;
	socklen_t dlen = dst->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                            : sizeof(struct sockaddr_in);
	if (q->n == TX_MAX || TX_BYTES - q->used < len)
		tx_flush(w, UINT32_MAX);
	uint32_t i = q->n++;
	char *p = q->buf + q->used;
	memcpy(p, buf, len);
	q->used += len;
	memcpy(&q->dst[i], dst, dlen);
	q->fd[i] = l->fd;
	q->iov[i] = (struct iovec){.iov_base = p, .iov_len = len};
	q->msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &q->dst[i],
	                                         .msg_namelen = dlen,
	                                         .msg_iov = &q->iov[i],
	                                         .msg_iovlen = 1}};
	return (int)i;
}

int worker_send(struct worker *w, struct listener_rt *l, const struct sockaddr *dst,
                const void *buf, size_t len)
{
	int i = tx_queue(w, l, dst, buf, len);
	return i < 0 ? i : 0;
}

int worker_send_now(struct worker *w, struct listener_rt *l, const struct sockaddr *dst,
                    const void *buf, size_t len)
{
	int i = tx_queue(w, l, dst, buf, len);
	return i < 0 ? i : tx_flush(w, (uint32_t)i);
}
