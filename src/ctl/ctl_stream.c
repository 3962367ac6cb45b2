/*
 * ctl_stream: see ctl_stream.h.
 */
#include "ctl_stream.h"

#include <stdlib.h>

#include "xmem.h"

struct ctl_stream_wreq {
	uv_write_t req;
	char *buf;
	void (*done)(void *arg, int status);
	void *arg;
};

void ctl_stream_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char chunk[CTL_STREAM_CHUNK];

	(void)h;
	(void)hint;
	*buf = uv_buf_init(chunk, sizeof(chunk));
}

static void ctl_stream_on_written(uv_write_t *req, int status)
{
	struct ctl_stream_wreq *w = (struct ctl_stream_wreq *)req;
	void (*done)(void *, int) = w->done;
	void *arg = w->arg;

	free(w->buf);
	free(w);
	if (done)
		done(arg, status);
}

int ctl_stream_write(uv_stream_t *s, char *buf, size_t len, void (*done)(void *arg, int status),
		     void *arg)
{
	struct ctl_stream_wreq *w = xmem_calloc(1, sizeof(*w));
	uv_buf_t b = uv_buf_init(buf, (unsigned)len);

	w->buf = buf;
	w->done = done;
	w->arg = arg;
	int rc = uv_write(&w->req, s, &b, 1, ctl_stream_on_written);
	if (rc != 0) {
		free(buf);
		free(w);
	}
	return rc;
}
