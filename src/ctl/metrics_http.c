/*
 * metrics_http: the master's small HTTP/1.1 server for monitoring, on the
 * `metrics` address (loopback in the shipped config):
 *   GET /metrics  Prometheus text format (metrics.c)
 *   GET /live     200 while the master's loop runs
 *   GET /ready    200 when every worker runs and the daemon is neither
 *                 draining nor stopping, 503 otherwise
 * Requests are parsed by http-parser (RFC 7230 framing). One request per
 * connection (the answer says Connection: close): monitoring scrapes are
 * rare, and it keeps the state per client to one parser. Bounded: a
 * request over METRICS_REQ_MAX bytes is answered 431, a client that has
 * not sent a whole request within METRICS_TIMEOUT_MS is closed, and at most
 * METRICS_MAX_CONNS clients are served at once (the next are closed).
 */
#include "ctl_int.h"
#include "ctl_stream.h"
#include "metrics.h"

#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "xmem.h"

#define METRICS_REQ_MAX    8192u
#define METRICS_URL_MAX    256u
#define METRICS_TIMEOUT_MS 5000u
#define METRICS_MAX_CONNS  64u

struct metrics_conn {
	uv_tcp_t tcp; /* private; the conn is freed in the close callbacks */
	uv_timer_t timer;
	http_parser parser;
	struct metrics_http *mh;
	size_t bytes; /* request bytes read */
	char url[METRICS_URL_MAX];
	size_t url_len;
	bool url_long;
	uv_shutdown_t shutdown;
	bool answered;
	bool closing;
	int open_handles;
	struct metrics_conn *next, **pprev;
};

struct metrics_http {
	uv_tcp_t listener;
	struct ctl_master *cm;
	struct metrics_conn *conns;
	uint32_t nconns;
	bool listening;
};


/* ---- connections --------------------------------------------------------- */

static void metrics_conn_on_closed(uv_handle_t *h)
{
	struct metrics_conn *c = h->data;

	if (--c->open_handles == 0)
		free(c);
}

static void metrics_conn_close(struct metrics_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	c->mh->nconns--;
	uv_close((uv_handle_t *)&c->timer, metrics_conn_on_closed);
	uv_close((uv_handle_t *)&c->tcp, metrics_conn_on_closed);
}

static void metrics_conn_on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	metrics_conn_close(req->data);
}

/* Written: half-close first, so the client reads the whole answer before
 * the connection goes (a plain close could reset it). */
static void metrics_conn_on_written(void *arg, int status)
{
	struct metrics_conn *c = arg;

	if (c->closing)
		return;
	c->shutdown.data = c;
	if (status < 0 ||
	    uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, metrics_conn_on_shutdown) != 0)
		metrics_conn_close(c);
}

/* Send the whole answer and close once it is written. */
static void metrics_conn_respond(struct metrics_conn *c, int code, const char *reason,
				 const char *ctype, const char *body, size_t body_len, bool head)
{
	char hdr[320];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n",
			 code, reason, ctype, body_len,
			 code == 405 ? "Allow: GET, HEAD\r\n" : "");
	size_t len = (size_t)n + (head ? 0 : body_len);

	c->answered = true;
	uv_read_stop((uv_stream_t *)&c->tcp);
	char *out = xmem_malloc(len);
	memcpy(out, hdr, (size_t)n);
	if (!head)
		memcpy(out + n, body, body_len);
	if (ctl_stream_write((uv_stream_t *)&c->tcp, out, len, metrics_conn_on_written, c) != 0)
		metrics_conn_close(c);
}

static void metrics_text(struct metrics_conn *c, int code, const char *reason, const char *text,
			 bool head)
{
	metrics_conn_respond(c, code, reason, "text/plain; charset=utf-8", text, strlen(text),
			     head);
}

/* ---- routes ---------------------------------------------------------------- */

/* Why the daemon is not ready, or NULL when it is. */
static const char *metrics_not_ready(const struct shared *sh)
{
	if (atomic_load(&sh->stopping))
		return "stopping\n";
	if (atomic_load(&sh->draining))
		return "draining\n";
	for (uint32_t s = 0; s < sh->nslots; s++)
		if (atomic_load(&sh->slots[s].state) != SLOT_RUNNING)
			return "not every worker is running\n";
	return NULL;
}

static void metrics_route(struct metrics_conn *c)
{
	const struct ctl_view *v = &c->mh->cm->view;
	bool head = c->parser.method == HTTP_HEAD;
	size_t path_len = strcspn(c->url, "?#");

	if (c->parser.method != HTTP_GET && !head) {
		metrics_text(c, 405, "Method Not Allowed", "only GET and HEAD\n", false);
	} else if (c->url_long) {
		metrics_text(c, 414, "URI Too Long", "URI too long\n", head);
	} else if (path_len == 8 && memcmp(c->url, "/metrics", 8) == 0) {
		struct metrics_buf b = {0};
		metrics_render(v, &b);
		metrics_conn_respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b.p,
				     b.len, head);
		metrics_buf_free(&b);
	} else if (path_len == 5 && memcmp(c->url, "/live", 5) == 0) {
		metrics_text(c, 200, "OK", "live\n", head);
	} else if (path_len == 6 && memcmp(c->url, "/ready", 6) == 0) {
		const char *why = metrics_not_ready(v->sh);
		if (why)
			metrics_text(c, 503, "Service Unavailable", why, head);
		else
			metrics_text(c, 200, "OK", "ready\n", head);
	} else {
		metrics_text(c, 404, "Not Found", "not found: try /metrics, /live, /ready\n", head);
	}
}

/* ---- parsing --------------------------------------------------------------- */

static int metrics_on_url(http_parser *p, const char *at, size_t len)
{
	struct metrics_conn *c = p->data;

	if (c->url_len + len >= sizeof(c->url)) {
		c->url_long = true;
		return 0;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	c->url[c->url_len] = '\0';
	return 0;
}

static int metrics_on_complete(http_parser *p)
{
	metrics_route(p->data);
	return 1; /* stop: one request per connection */
}

static const http_parser_settings metrics_settings = {
    .on_url = metrics_on_url,
    .on_message_complete = metrics_on_complete,
};

static void metrics_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct metrics_conn *c = s->data;

	if (nread < 0) {
		metrics_conn_close(c);
		return;
	}
	if (nread == 0 || c->answered)
		return;
	c->bytes += (size_t)nread;
	if (c->bytes > METRICS_REQ_MAX) {
		metrics_text(c, 431, "Request Header Fields Too Large", "request too large\n",
			     false);
		return;
	}
	size_t used = http_parser_execute(&c->parser, &metrics_settings, buf->base, (size_t)nread);
	if (!c->answered && (c->parser.http_errno != HPE_OK || used != (size_t)nread))
		metrics_text(c, 400, "Bad Request", "bad request\n", false);
}

static void metrics_conn_on_timeout(uv_timer_t *t)
{
	struct metrics_conn *c = t->data;

	metrics_conn_close(c);
}

static void metrics_on_connection(uv_stream_t *ls, int status)
{
	struct metrics_http *mh = ls->data;

	if (status < 0)
		return;
	struct metrics_conn *c = xmem_calloc(1, sizeof(*c));
	c->mh = mh;
	uv_tcp_init(mh->cm->view.loop, &c->tcp);
	uv_timer_init(mh->cm->view.loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->open_handles = 2;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->next = mh->conns;
	if (mh->conns)
		mh->conns->pprev = &c->next;
	c->pprev = &mh->conns;
	mh->conns = c;
	mh->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0 || mh->nconns > METRICS_MAX_CONNS) {
		metrics_conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, metrics_conn_on_timeout, METRICS_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&c->tcp, ctl_stream_alloc, metrics_conn_on_read);
}

/* ---- the listener ---------------------------------------------------------- */

int metrics_http_start(struct ctl_master *cm)
{
	const struct config *cfg = cm->view.cfg;

	if (!cfg->metrics_on)
		return 0;
	struct metrics_http *mh = xmem_calloc(1, sizeof(*mh));
	cm->http = mh;
	mh->cm = cm;
	uv_tcp_init(cm->view.loop, &mh->listener);
	mh->listener.data = mh;
	mh->listening = true;
	int rc = uv_tcp_bind(&mh->listener, (const struct sockaddr *)&cfg->metrics.addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&mh->listener, 64, metrics_on_connection);
	if (rc != 0) {
		log_error("metrics: listen on %s port %u: %s", cfg->metrics.host, cfg->metrics.port,
			  uv_strerror(rc));
		return rc;
	}
	log_info("metrics on http://%s%s%s:%u/metrics", cfg->metrics.family == AF_INET6 ? "[" : "",
		 cfg->metrics.host, cfg->metrics.family == AF_INET6 ? "]" : "", cfg->metrics.port);
	return 0;
}

static void metrics_http_on_closed(uv_handle_t *h)
{
	free(h->data);
}

void metrics_http_close(struct ctl_master *cm)
{
	struct metrics_http *mh = cm->http;

	if (mh == NULL)
		return;
	cm->http = NULL;
	while (mh->conns)
		metrics_conn_close(mh->conns);
	uv_close((uv_handle_t *)&mh->listener, metrics_http_on_closed);
}

void metrics_http_child(struct ctl_master *cm)
{
	struct metrics_http *mh = cm->http;
	uv_os_fd_t fd;

	if (mh == NULL)
		return;
	if (uv_fileno((uv_handle_t *)&mh->listener, &fd) == 0)
		close(fd);
	for (struct metrics_conn *c = mh->conns; c; c = c->next)
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			close(fd);
}
