/*
 * ctl_proto: newline framing and JSON-RPC 2.0 shaped messages of the
 * control protocol (see ctl_proto.h). No I/O here: the daemon drives it
 * from libuv, sipedgectl from blocking sockets, the unit tests from bytes.
 */
#include "ctl_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xmem.h"

/* jansson allocates through these: out of memory on the process heap
 * aborts, as everywhere else in sipedge (xmem.h). */
static void *ctl_json_malloc(size_t n)
{
	return xmem_malloc(n);
}

void ctl_proto_init(void)
{
	json_set_alloc_funcs(ctl_json_malloc, free);
}

/* ---- framing ------------------------------------------------------------- */

void ctl_line_init(struct ctl_line *lb, size_t max)
{
	memset(lb, 0, sizeof(*lb));
	lb->max = max;
}

void ctl_line_free(struct ctl_line *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->start = lb->len = lb->cap = lb->scan = 0;
}

size_t ctl_line_pending(const struct ctl_line *lb)
{
	return lb->len - lb->start;
}

/* Move the pending bytes to the front, so the buffer never needs more than
 * one line plus one chunk. */
static void ctl_line_compact(struct ctl_line *lb)
{
	if (lb->start == 0)
		return;
	memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
	lb->len -= lb->start;
	lb->start = 0;
}

int ctl_line_append(struct ctl_line *lb, const char *data, size_t n)
{
	/* A partial line already past the limit can never become valid. */
	if (lb->scan > lb->max)
		return -EMSGSIZE;
	ctl_line_compact(lb);
	size_t need = lb->len + n + 1; /* + the NUL written over a newline's place */
	if (need > lb->cap) {
		size_t cap = lb->cap ? lb->cap : 4096;
		while (cap < need)
			cap *= 2;
		lb->buf = xmem_realloc(lb->buf, cap);
		lb->cap = cap;
	}
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	return 0;
}

int ctl_line_next(struct ctl_line *lb, char **line, size_t *len)
{
	char *p = lb->buf + lb->start;
	size_t avail = lb->len - lb->start;
	char *nl = avail > lb->scan ? memchr(p + lb->scan, '\n', avail - lb->scan) : NULL;

	if (nl == NULL) {
		lb->scan = avail;
		return avail > lb->max ? -EMSGSIZE : 0;
	}
	size_t n = (size_t)(nl - p);
	lb->start += n + 1;
	lb->scan = 0;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n > lb->max)
		return -EMSGSIZE;
	p[n] = '\0';
	*line = p;
	*len = n;
	return 1;
}

/* ---- requests ------------------------------------------------------------ */

static bool ctl_id_valid(const json_t *id)
{
	return json_is_integer(id) || json_is_real(id) || json_is_string(id) || json_is_null(id);
}

int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, const char **why,
		      json_t **id)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

	memset(req, 0, sizeof(*req));
	*id = NULL;
	if (root == NULL) {
		*why = "parse error: not a JSON text";
		return CTL_E_PARSE;
	}
	json_t *jid = json_object_get(root, "id");
	if (jid && ctl_id_valid(jid))
		*id = json_incref(jid);

	const char *bad = NULL;
	json_t *method = json_object_get(root, "method");
	json_t *params = json_object_get(root, "params");
	json_t *ver = json_object_get(root, "jsonrpc");
	if (!json_is_object(root))
		bad = "invalid request: not a JSON object";
	else if (!json_is_string(method) || json_string_length(method) == 0)
		bad = "invalid request: \"method\" must be a non-empty string";
	else if (params && !json_is_object(params))
		bad = "invalid request: \"params\" must be an object";
	else if (jid && !ctl_id_valid(jid))
		bad = "invalid request: \"id\" must be a number, a string or null";
	else if (ver && !(json_is_string(ver) && strcmp(json_string_value(ver), "2.0") == 0))
		bad = "invalid request: \"jsonrpc\" must be \"2.0\"";
	if (bad) {
		json_decref(root);
		*why = bad;
		return CTL_E_REQUEST;
	}
	if (params == NULL) {
		params = json_object();
		json_object_set_new(root, "params", params);
	}
	req->root = root;
	req->method = json_string_value(method);
	req->params = params;
	req->id = jid;
	return 0;
}

void ctl_request_free(struct ctl_request *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

/* Encode msg (stolen) as one line with its newline. */
static char *ctl_line_of(json_t *msg, size_t *len)
{
	/* Reals are rates and durations: 9 significant digits is plenty and
	 * keeps 0.018 from printing as 0.017999999999999999. */
	char *text = json_dumps(msg, JSON_COMPACT | JSON_REAL_PRECISION(9));

	json_decref(msg);
	if (text == NULL)
		xmem_oom(0); /* jansson's allocator aborts first (ctl_proto_init) */
	size_t n = strlen(text);
	char *out = xmem_realloc(text, n + 2);
	out[n] = '\n';
	out[n + 1] = '\0';
	*len = n + 1;
	return out;
}

static json_t *ctl_envelope(json_t *id)
{
	json_t *msg = json_object();

	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set_new(msg, "id", id ? json_incref(id) : json_null());
	return msg;
}

char *ctl_reply_result(json_t *id, json_t *result, size_t *len)
{
	json_t *msg = ctl_envelope(id);

	json_object_set_new(msg, "result", result ? result : json_object());
	return ctl_line_of(msg, len);
}

char *ctl_reply_error(json_t *id, int code, const char *message, json_t *data, size_t *len)
{
	json_t *msg = ctl_envelope(id);
	json_t *err = json_object();

	json_object_set_new(err, "code", json_integer(code));
	/* A message with invalid UTF-8 would make jansson refuse the string:
	 * say so rather than send a reply without one. */
	json_t *text = json_string(message);
	json_object_set_new(err, "message", text ? text : json_string("(unprintable message)"));
	if (data)
		json_object_set_new(err, "data", data);
	json_object_set_new(msg, "error", err);
	return ctl_line_of(msg, len);
}

/* ---- client side --------------------------------------------------------- */

char *ctl_request_encode(const char *method, json_t *params, json_int_t id, size_t *len)
{
	json_t *msg = json_object();

	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set_new(msg, "method", json_string(method));
	json_object_set_new(msg, "params", params ? json_incref(params) : json_object());
	json_object_set_new(msg, "id", json_integer(id));
	return ctl_line_of(msg, len);
}

int ctl_response_parse(const char *line, size_t len, struct ctl_response *resp, const char **why)
{
	json_error_t jerr;

	memset(resp, 0, sizeof(*resp));
	resp->root = json_loadb(line, len, 0, &jerr);
	if (!json_is_object(resp->root)) {
		*why = "reply is not a JSON object";
		return CTL_E_PARSE;
	}
	resp->id = json_object_get(resp->root, "id");
	resp->result = json_object_get(resp->root, "result");
	if (resp->result)
		return 0;
	json_t *err = json_object_get(resp->root, "error");
	json_t *code = json_object_get(err, "code");
	json_t *msg = json_object_get(err, "message");
	if (!json_is_integer(code) || !json_is_string(msg)) {
		*why = "reply has neither a result nor a well-formed error";
		return CTL_E_REQUEST;
	}
	resp->code = (int)json_integer_value(code);
	resp->message = json_string_value(msg);
	return 0;
}

void ctl_response_free(struct ctl_response *resp)
{
	json_decref(resp->root);
	memset(resp, 0, sizeof(*resp));
}
