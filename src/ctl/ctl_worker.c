/*
 * ctl_worker: serve the master's requests on a worker's channel. A request
 * of an unknown method, or of one without a worker part, gets an error
 * answer; the master's own bugs must not kill a worker. When the master
 * closes its end the channel is closed here too (the worker's exit on a
 * dead master is the business of worker.c's parent check).
 */
#include "ctl_worker.h"

#include "ctl_proto.h"
#include "ctl_registry.h"
#include "ctl_stream.h"

#include <stdlib.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "../runtime/worker.h"
#include "xmem.h"

#define CTL_WORKER_LINE_MAX CTL_LINE_MAX

struct ctl_wchan {
	uv_pipe_t pipe; /* private: freed in the close callback */
	struct ctl_line lb;
	struct worker *w;
};


static void ctl_wchan_answer(struct ctl_wchan *ch, const char *line, size_t len)
{
	struct ctl_request req;
	const char *why;
	json_t *id;
	size_t n;
	char *out;

	int rc = ctl_request_parse(line, len, &req, &why, &id);
	if (rc != 0) {
		out = ctl_reply_error(id, rc, why, NULL, &n);
	} else {
		const struct ctl_cmd *cmd = ctl_registry_find(req.method);
		if (cmd && cmd->worker)
			out = ctl_reply_result(id, cmd->worker(ch->w, req.params), &n);
		else
			out = ctl_reply_error(id, CTL_E_METHOD, "no worker part for this method",
					      NULL, &n);
		ctl_request_free(&req);
	}
	json_decref(id);
	/* A failed write needs no handling: a gone master shows as EOF. */
	ctl_stream_write((uv_stream_t *)&ch->pipe, out, n, NULL, NULL);
}

static void ctl_wchan_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_wchan *ch = s->data;
	char *line;
	size_t len;
	int r;

	if (nread < 0) {
		if (!ch->w->stopping)
			log_warn("control channel closed by the master");
		ctl_worker_close(ch->w);
		return;
	}
	if (ctl_line_append(&ch->lb, buf->base, (size_t)nread) != 0) {
		log_error("control channel: request line over %u bytes", CTL_WORKER_LINE_MAX);
		ctl_worker_close(ch->w);
		return;
	}
	while ((r = ctl_line_next(&ch->lb, &line, &len)) == 1)
		ctl_wchan_answer(ch, line, len);
	if (r < 0)
		ctl_worker_close(ch->w);
}

static void ctl_wchan_on_closed(uv_handle_t *h)
{
	struct ctl_wchan *ch = h->data;

	ctl_line_free(&ch->lb);
	free(ch);
}

int ctl_worker_open(struct worker *w, int fd)
{
	if (fd < 0)
		return 0;
	struct ctl_wchan *ch = xmem_calloc(1, sizeof(*ch));
	ch->w = w;
	ctl_line_init(&ch->lb, CTL_WORKER_LINE_MAX);
	uv_pipe_init(&w->loop, &ch->pipe, 0);
	ch->pipe.data = ch;
	w->ctl = ch;
	int rc = uv_pipe_open(&ch->pipe, fd);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&ch->pipe, ctl_stream_alloc, ctl_wchan_on_read);
	if (rc != 0) {
		log_error("control channel: %s: running without it", uv_strerror(rc));
		if (uv_fileno((uv_handle_t *)&ch->pipe, &(uv_os_fd_t){0}) != 0)
			close(fd); /* not taken over by the handle */
		ctl_worker_close(w);
	}
	return rc;
}

void ctl_worker_close(struct worker *w)
{
	struct ctl_wchan *ch = w->ctl;

	if (ch == NULL)
		return;
	w->ctl = NULL;
	uv_close((uv_handle_t *)&ch->pipe, ctl_wchan_on_closed);
}
