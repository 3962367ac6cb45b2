/*
 * ctl_server: the control socket in the master (a uv_pipe listener on the
 * `control` path) and its client connections.
 *
 * A client can never block the master: every read is non-blocking and
 * bounded (a line over CTL_LINE_MAX is answered with an error, then the
 * connection is closed once the answer is written); a client without a
 * complete request for CTL_IDLE_MS is closed; one that does not read its
 * answers stops being read once CTL_WQ_MAX bytes wait for it (and is then
 * closed by the idle timer); at most CTL_MAX_CONNS clients are served, the
 * next ones get an error and are closed. Requests of one connection are
 * answered in order, one at a time: while one is in progress (a drain, a
 * worker request) the connection is not read.
 */
#include "ctl_int.h"
#include "ctl_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "xmem.h"

struct ctl_conn {
	uv_pipe_t pipe;   /* private; the conn is freed in its close callback */
	uv_timer_t idle;
	struct ctl_line lb;
	struct ctl_master *cm;
	struct ctl_call *call;  /* the request in progress, or NULL */
	struct ctl_conn *next, **pprev;
	bool closing;
	bool close_after_write; /* an answer ended the connection */
	bool processing;        /* inside ctl_conn_process: no recursion */
	bool reading;
	int open_handles;
};


static void ctl_conn_process(struct ctl_conn *conn);
static void ctl_conn_update_reading(struct ctl_conn *conn);
static void ctl_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* ---- closing --------------------------------------------------------------- */

static void ctl_conn_on_closed(uv_handle_t *h)
{
	struct ctl_conn *conn = h->data;

	if (--conn->open_handles > 0)
		return;
	ctl_line_free(&conn->lb);
	free(conn);
}

static void ctl_conn_close(struct ctl_conn *conn)
{
	if (conn->closing)
		return;
	conn->closing = true;
	if (conn->call) {
		ctl_call_orphan(conn->call);
		conn->call = NULL;
	}
	*conn->pprev = conn->next;
	if (conn->next)
		conn->next->pprev = conn->pprev;
	conn->cm->nconns--;
	uv_close((uv_handle_t *)&conn->idle, ctl_conn_on_closed);
	uv_close((uv_handle_t *)&conn->pipe, ctl_conn_on_closed);
}

/* ---- writing --------------------------------------------------------------- */

static void ctl_conn_on_written(void *arg, int status)
{
	struct ctl_conn *conn = arg;

	if (conn->closing)
		return;
	if (status < 0) {
		ctl_conn_close(conn);
		return;
	}
	size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&conn->pipe);
	if (conn->close_after_write && queued == 0)
		ctl_conn_close(conn);
	else
		ctl_conn_update_reading(conn);
}

/* Queue line (stolen) to the client. */
static void ctl_conn_write(struct ctl_conn *conn, char *line, size_t len)
{
	if (ctl_stream_write((uv_stream_t *)&conn->pipe, line, len, ctl_conn_on_written, conn) != 0)
		ctl_conn_close(conn); /* the callback will not run */
}

/* An error that ends the connection once it is written. */
static void ctl_conn_fail(struct ctl_conn *conn, int code, const char *msg)
{
	size_t len;
	char *line = ctl_reply_error(NULL, code, msg, NULL, &len);

	conn->close_after_write = true;
	ctl_conn_write(conn, line, len);
	ctl_conn_update_reading(conn);
}

void ctl_server_begin(struct ctl_conn *conn, struct ctl_call *c)
{
	conn->call = c;
}

void ctl_server_answer(struct ctl_conn *conn, char *line, size_t len)
{
	conn->call = NULL;
	ctl_conn_write(conn, line, len);
	if (conn->closing)
		return;
	uv_timer_again(&conn->idle);
	if (!conn->processing)
		ctl_conn_process(conn);
}

/* ---- reading --------------------------------------------------------------- */

/* Read only while no request is in progress, the client reads its answers,
 * and the connection is not ending. */
static void ctl_conn_update_reading(struct ctl_conn *conn)
{
	if (conn->closing)
		return;
	size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&conn->pipe);
	bool want = conn->call == NULL && !conn->close_after_write && queued < CTL_WQ_MAX;
	if (want == conn->reading)
		return;
	conn->reading = want;
	if (want)
		uv_read_start((uv_stream_t *)&conn->pipe, ctl_stream_alloc, ctl_conn_on_read);
	else
		uv_read_stop((uv_stream_t *)&conn->pipe);
}

/* Answer every complete request line pending, one at a time. */
static void ctl_conn_process(struct ctl_conn *conn)
{
	char *line;
	size_t len;

	conn->processing = true;
	while (!conn->closing && conn->call == NULL && !conn->close_after_write) {
		int r = ctl_line_next(&conn->lb, &line, &len);
		if (r == 0)
			break;
		if (r < 0) {
			char msg[96];
			snprintf(msg, sizeof(msg), "invalid request: line longer than %u bytes",
				 CTL_LINE_MAX);
			ctl_conn_fail(conn, CTL_E_REQUEST, msg);
			break;
		}
		if (len == 0)
			continue; /* blank lines are allowed between requests */
		uv_timer_again(&conn->idle);
		ctl_call_dispatch(conn->cm, conn, line, len);
	}
	conn->processing = false;
	ctl_conn_update_reading(conn);
}

static void ctl_conn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_conn *conn = s->data;

	if (nread < 0) { /* EOF or an error: nothing more to answer */
		ctl_conn_close(conn);
		return;
	}
	if (nread == 0)
		return;
	if (ctl_line_append(&conn->lb, buf->base, (size_t)nread) != 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "invalid request: line longer than %u bytes",
			 CTL_LINE_MAX);
		ctl_conn_fail(conn, CTL_E_REQUEST, msg);
		return;
	}
	ctl_conn_process(conn);
}

static void ctl_conn_on_idle(uv_timer_t *t)
{
	struct ctl_conn *conn = t->data;

	/* A long request (a drain) is not the client's idleness. */
	if (conn->call)
		return;
	log_debug("control: closing a client idle for %u ms", CTL_IDLE_MS);
	ctl_conn_close(conn);
}

/* ---- accepting ------------------------------------------------------------- */

static void ctl_server_on_connection(uv_stream_t *ls, int status)
{
	struct ctl_master *cm = ls->data;

	if (status < 0) {
		log_warn("control: accept: %s", uv_strerror(status));
		return;
	}
	struct ctl_conn *conn = xmem_calloc(1, sizeof(*conn));
	conn->cm = cm;
	ctl_line_init(&conn->lb, CTL_LINE_MAX);
	uv_pipe_init(cm->view.loop, &conn->pipe, 0);
	uv_timer_init(cm->view.loop, &conn->idle);
	conn->pipe.data = conn->idle.data = conn;
	conn->open_handles = 2;
	conn->next = cm->conns;
	if (cm->conns)
		cm->conns->pprev = &conn->next;
	conn->pprev = &cm->conns;
	cm->conns = conn;
	cm->nconns++;
	if (uv_accept(ls, (uv_stream_t *)&conn->pipe) != 0) {
		ctl_conn_close(conn);
		return;
	}
	uv_timer_start(&conn->idle, ctl_conn_on_idle, CTL_IDLE_MS, CTL_IDLE_MS);
	if (cm->nconns > CTL_MAX_CONNS) {
		ctl_conn_fail(conn, CTL_E_BUSY, "too many control connections");
		return;
	}
	ctl_conn_update_reading(conn);
}

/* ---- the listener ---------------------------------------------------------- */

/*
 * A socket file left by a daemon that died is stale: nobody accepts on it
 * and bind would fail with EADDRINUSE. Remove it, but never one that a
 * live daemon still answers on (two daemons on one config is an error).
 */
static int ctl_server_clear_stale(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("control: %s exists and is not a socket", path);
		return -EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	if (live) {
		log_error("control: %s: another daemon answers on this socket", path);
		return -EADDRINUSE;
	}
	unlink(path);
	return 0;
}

int ctl_server_start(struct ctl_master *cm)
{
	const char *path = cm->view.cfg->control;
	int rc = ctl_server_clear_stale(path);

	if (rc != 0)
		return rc;
	uv_pipe_init(cm->view.loop, &cm->listener, 0);
	cm->listener.data = cm;
	cm->listening = true;
	/* umask covers the window between bind and chmod: never wider than 0660. */
	mode_t old = umask(0117);
	rc = uv_pipe_bind(&cm->listener, path);
	umask(old);
	if (rc != 0) {
		log_error("control: bind(%s): %s", path, uv_strerror(rc));
		return rc;
	}
	cm->sock_path = xmem_strdup(path);
	if (chmod(path, 0660) != 0)
		log_warn("control: chmod(%s, 0660): %s", path, strerror(errno));
	rc = uv_listen((uv_stream_t *)&cm->listener, SOMAXCONN, ctl_server_on_connection);
	if (rc != 0) {
		log_error("control: listen(%s): %s", path, uv_strerror(rc));
		return rc;
	}
	log_info("control socket %s", path);
	return 0;
}

void ctl_server_close(struct ctl_master *cm)
{
	while (cm->conns)
		ctl_conn_close(cm->conns);
	if (cm->listening) {
		cm->listening = false;
		uv_close((uv_handle_t *)&cm->listener, NULL);
	}
	if (cm->sock_path)
		unlink(cm->sock_path);
}

/* In a new worker: the fds only, libuv's handles belong to the master. */
void ctl_server_child(struct ctl_master *cm)
{
	uv_os_fd_t fd;

	if (cm->listening && uv_fileno((uv_handle_t *)&cm->listener, &fd) == 0)
		close(fd);
	for (struct ctl_conn *c = cm->conns; c; c = c->next)
		if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0)
			close(fd);
}
