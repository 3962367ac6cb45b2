/*
 * ctl_call: from a request line to its command, and the answer back.
 *
 * Every line gets exactly one answer: a JSON-RPC error for what cannot be
 * parsed or is not a known method, otherwise whatever the command replies
 * (now, or later for drain and worker requests). A call whose client went
 * away still runs to its end; its answer is then dropped.
 */
#include "ctl_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../runtime/log.h"
#include "xmem.h"

const struct ctl_view *ctl_call_view(const struct ctl_call *c)
{
	return &c->cm->view;
}

struct ctl_master *ctl_call_master(const struct ctl_call *c)
{
	return c->cm;
}

void ctl_call_free(struct ctl_call *c)
{
	json_decref(c->id);
	json_decref(c->params);
	free(c);
}

void ctl_call_orphan(struct ctl_call *c)
{
	c->conn = NULL;
}

static void ctl_call_send(struct ctl_call *c, char *line, size_t len)
{
	struct ctl_conn *conn = c->conn;

	ctl_call_free(c);
	if (conn)
		ctl_server_answer(conn, line, len);
	else
		free(line);
}

void ctl_call_result(struct ctl_call *c, json_t *result)
{
	size_t len;
	char *line = ctl_reply_result(c->id, result, &len);

	ctl_call_send(c, line, len);
}

void ctl_call_error(struct ctl_call *c, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char *line = ctl_reply_error(c->id, code, msg, NULL, &len);
	ctl_call_send(c, line, len);
}

void ctl_call_error_data(struct ctl_call *c, int code, const char *message, json_t *data)
{
	size_t len;
	char *line = ctl_reply_error(c->id, code, message, data, &len);
	ctl_call_send(c, line, len);
}

/* An answer that never became a call. */
static void ctl_call_reject(struct ctl_conn *conn, json_t *id, int code, const char *msg)
{
	size_t len;
	char *line = ctl_reply_error(id, code, msg, NULL, &len);

	ctl_server_answer(conn, line, len);
}

void ctl_call_dispatch(struct ctl_master *cm, struct ctl_conn *conn, char *line, size_t len)
{
	struct ctl_request req;
	const char *why;
	json_t *id;
	int rc = ctl_request_parse(line, len, &req, &why, &id);

	if (rc != 0) {
		ctl_call_reject(conn, id, rc, why);
		json_decref(id);
		return;
	}
	const struct ctl_cmd *cmd = ctl_registry_find(req.method);
	if (cmd == NULL) {
		char msg[160];
		snprintf(msg, sizeof(msg), "unknown method '%.64s' (\"help\" lists them)", req.method);
		ctl_call_reject(conn, req.id, CTL_E_METHOD, msg);
		json_decref(id);
		ctl_request_free(&req);
		return;
	}
	struct ctl_call *c = xmem_calloc(1, sizeof(*c));
	c->cm = cm;
	c->conn = conn;
	c->cmd = cmd;
	c->id = id; /* the reference ctl_request_parse gave */
	c->params = json_incref(req.params);
	c->started_ms = ctl_now_ms(cm);
	ctl_request_free(&req);
	ctl_server_begin(conn, c);
	log_debug("control: %s", cmd->method);
	if (cmd->run)
		cmd->run(c, c->params);
	else
		ctl_fanout_start(c);
}
