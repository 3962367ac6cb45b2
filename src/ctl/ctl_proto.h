/*
 * ctl_proto: the control protocol, shared by the daemon (master and
 * workers) and by sipedgectl (the Knot DNS idea: one module, both ends).
 *
 * Framing: newline-delimited JSON. Every message is one JSON text on one
 * line ended by "\n" ("\r\n" accepted). A line longer than the limit is an
 * error for the whole connection: the server answers it and closes, since
 * the bytes that follow are the middle of an unknown value.
 *
 * Messages: JSON-RPC 2.0 in shape (https://www.jsonrpc.org/specification):
 *   request  {"jsonrpc":"2.0","method":"status","params":{...},"id":1}
 *   result   {"jsonrpc":"2.0","result":{...},"id":1}
 *   error    {"jsonrpc":"2.0","error":{"code":-32601,"message":"..."},"id":1}
 * "jsonrpc" is optional on input (sipedge speaks one version); "params",
 * when present, must be an object; "id" is a number, a string or null.
 * All JSON goes through jansson: nothing is hand-encoded.
 */
#ifndef SE_CTL_PROTO_H
#define SE_CTL_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest request line a server accepts (without its newline). */
#define CTL_LINE_MAX (64u * 1024u)

/* JSON-RPC 2.0 error codes (the -32xxx range is the specification's,
 * -32000..-32099 "server errors" are ours). */
enum ctl_err {
	CTL_E_PARSE = -32700,      /* not JSON */
	CTL_E_REQUEST = -32600,    /* JSON, but not a request (or too long) */
	CTL_E_METHOD = -32601,     /* no such method */
	CTL_E_PARAMS = -32602,     /* wrong params for the method */
	CTL_E_INTERNAL = -32603,   /* the daemon failed */
	CTL_E_BUSY = -32000,       /* too many requests in progress */
	CTL_E_UNAVAILABLE = -32001, /* the daemon is stopping, or no worker answered */
};

/* Once per process, before any other call: jansson's allocations abort on
 * out-of-memory like every process-heap allocation of sipedge. */
void ctl_proto_init(void);

/* ---- framing ------------------------------------------------------------- */

/*
 * A buffer that turns a byte stream into lines. The caller owns the
 * struct; the bytes are on the process heap (grown on demand, at most
 * max + CTL_LINE_CHUNK + 1 bytes, freed by ctl_line_free).
 */
#define CTL_LINE_CHUNK (64u * 1024u) /* most bytes appended at once */

struct ctl_line {
	char *buf;    /* private */
	size_t start; /* private: first unconsumed byte */
	size_t len;   /* private: end of the stored bytes */
	size_t cap;   /* private */
	size_t scan;  /* private: bytes from start already searched for '\n' */
	size_t max;   /* read-only: longest line accepted */
};

void ctl_line_init(struct ctl_line *lb, size_t max);
void ctl_line_free(struct ctl_line *lb);

/*
 * Store n bytes (n <= CTL_LINE_CHUNK) after the pending ones. Call
 * ctl_line_next until it returns 0 before appending again. Returns 0, or
 * -EMSGSIZE when the pending partial line is already longer than max
 * (the bytes are then dropped).
 */
int ctl_line_append(struct ctl_line *lb, const char *data, size_t n);

/*
 * The next complete line: returns 1 with *line (NUL-terminated in the
 * buffer, without "\n" or "\r\n", valid until the next append or free) and
 * *len; 0 when no complete line is pending; -EMSGSIZE when the pending
 * line is over max without a newline, or a complete one is over max.
 */
int ctl_line_next(struct ctl_line *lb, char **line, size_t *len);

/* Bytes stored and not yet returned as lines. */
size_t ctl_line_pending(const struct ctl_line *lb);

/* ---- requests (server side) ---------------------------------------------- */

struct ctl_request {
	const char *method; /* borrowed from root */
	json_t *params;     /* borrowed from root: an object (empty if absent) */
	json_t *id;         /* borrowed from root: number, string or null */
	json_t *root;       /* owned: json_decref when done */
};

/*
 * Parse one request line. Returns 0 with *req filled (the caller calls
 * ctl_request_free), or a CTL_E_* code with *why a static phrase and
 * *id the request's id when one could be read (a new reference, or NULL:
 * the error reply then carries null, as JSON-RPC asks).
 */
int ctl_request_parse(const char *line, size_t len, struct ctl_request *req, const char **why,
		      json_t **id);
void ctl_request_free(struct ctl_request *req);

/*
 * One reply line, "\n" included, malloc'd (the caller frees). A result
 * reply steals `result`; id is borrowed (NULL means null). The error
 * message is copied; data (may be NULL) is stolen. Never returns NULL
 * (encoding a reply can only fail on out-of-memory, which aborts).
 */
char *ctl_reply_result(json_t *id, json_t *result, size_t *len);
char *ctl_reply_error(json_t *id, int code, const char *message, json_t *data, size_t *len);

/* ---- client side ---------------------------------------------------------- */

/* A request line ("\n" included, malloc'd); params is borrowed (NULL: {}). */
char *ctl_request_encode(const char *method, json_t *params, json_int_t id, size_t *len);

struct ctl_response {
	json_t *root;    /* owned */
	json_t *result;  /* borrowed: set on success */
	int code;        /* on error: the error's code */
	const char *message; /* on error: borrowed */
	json_t *id;      /* borrowed; NULL if absent */
};

/* Parse a reply line. Returns 0 when it is a well-formed result or error
 * reply (check resp->result), CTL_E_PARSE / CTL_E_REQUEST with *why
 * otherwise. ctl_response_free in every case. */
int ctl_response_parse(const char *line, size_t len, struct ctl_response *resp, const char **why);
void ctl_response_free(struct ctl_response *resp);

#endif
