/*
 * ctl_fanout: the master's end of the worker channels, and requests that
 * the workers answer (HAProxy's master CLI idea: the master relays to each
 * worker over a socketpair it created for the slot).
 *
 * A channel is a SOCK_STREAM socketpair made just before a slot's fork:
 * the worker keeps one end, the master the other; a respawn gets a new
 * pair. Both ends speak ctl_proto lines. A request is sent to every slot
 * with an open channel; the answers are merged when all are in, or at
 * CTL_FANOUT_MS: a stuck worker costs only its own part, which then says
 * "timeout". A worker that does not read its channel (more than
 * CTL_WQ_MAX bytes queued) is not sent more.
 */
#include "ctl_int.h"
#include "ctl_stream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "xmem.h"

struct ctl_fanout {
	struct ctl_call *call;
	uint64_t seq;            /* the id of the requests sent to the workers */
	uint64_t deadline_ms;
	uint32_t waiting;        /* parts not in yet */
	json_t *parts;           /* one object per slot */
	bool want[CONFIG_MAX_WORKERS];
	struct ctl_fanout *next;
};


/* ---- finishing a fan-out --------------------------------------------------- */

static void ctl_fanout_finish(struct ctl_master *cm, struct ctl_fanout *f)
{
	struct ctl_fanout **pp = &cm->fanouts;

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	cm->nfanouts--;
	json_t *result = f->call->cmd->merge(f->parts, f->call->params);
	json_decref(f->parts);
	ctl_call_result(f->call, result);
	free(f);
}

/* Give slot's part an error (it will not answer) and finish if it was the last. */
static void ctl_fanout_miss(struct ctl_master *cm, struct ctl_fanout *f, uint32_t slot,
			    const char *why)
{
	json_t *part = json_array_get(f->parts, slot);

	f->want[slot] = false;
	json_object_set_new(part, "error", json_string(why));
	if (--f->waiting == 0)
		ctl_fanout_finish(cm, f);
}

/* A worker's answer line. */
static void ctl_fanout_on_answer(struct ctl_chan *ch, const char *line, size_t len)
{
	struct ctl_master *cm = ch->cm;
	struct ctl_response resp;
	const char *why;

	if (ctl_response_parse(line, len, &resp, &why) != 0 || !json_is_integer(resp.id)) {
		log_warn("control: w%u sent an unreadable answer", ch->slot);
		ctl_response_free(&resp);
		return;
	}
	uint64_t seq = (uint64_t)json_integer_value(resp.id);
	struct ctl_fanout *f = cm->fanouts;
	while (f && f->seq != seq)
		f = f->next;
	if (f && f->want[ch->slot]) { /* else: it timed out already */
		json_t *part = json_array_get(f->parts, ch->slot);
		f->want[ch->slot] = false;
		if (resp.result)
			json_object_set(part, "result", resp.result);
		else
			json_object_set_new(part, "error", json_string(resp.message));
		if (--f->waiting == 0)
			ctl_fanout_finish(cm, f);
	}
	ctl_response_free(&resp);
}

/* ---- channels ---------------------------------------------------------------- */

static void ctl_chan_on_closed(uv_handle_t *h)
{
	struct ctl_chan *ch = h->data;

	ctl_line_free(&ch->lb);
	free(ch);
}

/* Close slot's channel: parts it still owes become errors. */
static void ctl_chan_close(struct ctl_master *cm, uint32_t slot, const char *why)
{
	struct ctl_chan *ch = cm->chans[slot];

	if (ch == NULL)
		return;
	cm->chans[slot] = NULL;
	ch->closing = true;
	uv_close((uv_handle_t *)&ch->pipe, ctl_chan_on_closed);
	for (struct ctl_fanout *f = cm->fanouts, *next; f; f = next) {
		next = f->next;
		if (f->want[slot])
			ctl_fanout_miss(cm, f, slot, why);
	}
}

static void ctl_chan_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct ctl_chan *ch = s->data;
	char *line;
	size_t len;
	int r;

	if (nread < 0) {
		ctl_chan_close(ch->cm, ch->slot, "the worker exited before answering");
		return;
	}
	if (ctl_line_append(&ch->lb, buf->base, (size_t)nread) != 0) {
		log_error("control: w%u sent a line over %u bytes: channel closed", ch->slot,
			  CTL_CHAN_LINE_MAX);
		ctl_chan_close(ch->cm, ch->slot, "the worker's answer was too long");
		return;
	}
	while ((r = ctl_line_next(&ch->lb, &line, &len)) == 1)
		ctl_fanout_on_answer(ch, line, len);
	if (r < 0)
		ctl_chan_close(ch->cm, ch->slot, "the worker's answer was too long");
}

int ctl_fanout_chan_open(struct ctl_master *cm, uint32_t slot, int *child_fd)
{
	int sv[2];

	ctl_chan_close(cm, slot, "the worker was replaced");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		int err = errno;
		log_error("control: socketpair for w%u: %s: it runs without a channel", slot,
			  strerror(err));
		return -err;
	}
	struct ctl_chan *ch = xmem_calloc(1, sizeof(*ch));
	ch->cm = cm;
	ch->slot = slot;
	ctl_line_init(&ch->lb, CTL_CHAN_LINE_MAX);
	uv_pipe_init(cm->view.loop, &ch->pipe, 0);
	ch->pipe.data = ch;
	int rc = uv_pipe_open(&ch->pipe, sv[0]);
	if (rc == 0)
		rc = uv_read_start((uv_stream_t *)&ch->pipe, ctl_stream_alloc, ctl_chan_on_read);
	cm->chans[slot] = ch;
	if (rc != 0) {
		log_error("control: channel of w%u: %s", slot, uv_strerror(rc));
		ctl_chan_close(cm, slot, "no channel");
		close(sv[1]);
		return rc;
	}
	/* The channel must not keep the master's loop alive by itself. */
	uv_unref((uv_handle_t *)&ch->pipe);
	*child_fd = sv[1];
	return 0;
}

void ctl_fanout_chan_forked(struct ctl_master *cm, uint32_t slot, int child_fd, bool ok)
{
	if (child_fd >= 0)
		close(child_fd);
	if (!ok)
		ctl_chan_close(cm, slot, "fork failed");
}

/* ---- sending ----------------------------------------------------------------- */

/* Send line (copied) to slot; false when the channel cannot take it. */
static bool ctl_chan_send(struct ctl_chan *ch, const char *line, size_t len)
{
	if (uv_stream_get_write_queue_size((uv_stream_t *)&ch->pipe) > CTL_WQ_MAX)
		return false;
	char *copy = xmem_malloc(len);
	memcpy(copy, line, len);
	/* A failed write needs no handling here: a dead worker shows as EOF. */
	return ctl_stream_write((uv_stream_t *)&ch->pipe, copy, len, NULL, NULL) == 0;
}

static json_t *ctl_fanout_part(const struct ctl_master *cm, uint32_t s)
{
	json_t *part = json_object();

	json_object_set_new(part, "slot", json_integer(s));
	json_object_set_new(part, "pid", json_integer(atomic_load(&cm->view.sh->slots[s].pid)));
	return part;
}

void ctl_fanout_start(struct ctl_call *c)
{
	struct ctl_master *cm = c->cm;
	const char *why = NULL;

	if (c->cmd->check && c->cmd->check(c->params, &why) != 0) {
		ctl_call_error(c, CTL_E_PARAMS, "%s", why);
		return;
	}
	if (cm->nfanouts >= CTL_FANOUT_MAX) {
		ctl_call_error(c, CTL_E_BUSY, "too many worker requests in progress");
		return;
	}
	struct ctl_fanout *f = xmem_calloc(1, sizeof(*f));
	f->call = c;
	f->seq = ++cm->fanout_seq;
	f->deadline_ms = ctl_now_ms(cm) + CTL_FANOUT_MS;
	f->parts = json_array();
	size_t len;
	char *line = ctl_request_encode(c->cmd->method, c->params, (json_int_t)f->seq, &len);
	for (uint32_t s = 0; s < cm->view.sh->nslots; s++) {
		json_t *part = ctl_fanout_part(cm, s);
		json_array_append_new(f->parts, part);
		struct ctl_chan *ch = cm->chans[s];
		if (ch == NULL || atomic_load(&cm->view.sh->slots[s].pid) <= 0)
			json_object_set_new(part, "error", json_string("not running"));
		else if (!ctl_chan_send(ch, line, len))
			json_object_set_new(part, "error", json_string("not reading its channel"));
		else {
			f->want[s] = true;
			f->waiting++;
		}
	}
	free(line);
	f->next = cm->fanouts;
	cm->fanouts = f;
	cm->nfanouts++;
	if (f->waiting == 0)
		ctl_fanout_finish(cm, f);
}

void ctl_fanout_tick(struct ctl_master *cm, uint64_t now)
{
	char why[80];

	snprintf(why, sizeof(why), "timeout: no answer within %u ms", CTL_FANOUT_MS);
	for (struct ctl_fanout *f = cm->fanouts, *next; f; f = next) {
		next = f->next;
		if (now < f->deadline_ms)
			continue;
		/* The last miss frees f: count down on the side. */
		uint32_t left = f->waiting;
		for (uint32_t s = 0; s < CONFIG_MAX_WORKERS && left; s++) {
			if (f->want[s]) {
				left--;
				ctl_fanout_miss(cm, f, s, why);
			}
		}
	}
}

void ctl_fanout_close(struct ctl_master *cm)
{
	for (uint32_t s = 0; s < CONFIG_MAX_WORKERS; s++)
		ctl_chan_close(cm, s, "the daemon is stopping");
}

void ctl_fanout_child(struct ctl_master *cm)
{
	uv_os_fd_t fd;

	for (uint32_t s = 0; s < CONFIG_MAX_WORKERS; s++)
		if (cm->chans[s] && uv_fileno((uv_handle_t *)&cm->chans[s]->pipe, &fd) == 0)
			close(fd);
}
