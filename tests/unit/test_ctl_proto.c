/* The control protocol (src/ctl/ctl_proto.c): newline framing, partial and
 * oversized lines, JSON-RPC request parsing and error replies, the client
 * side's reply parsing. Inputs sit against a guard page where the code
 * reads them in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"
#include "guard.h"

/* ---- framing ------------------------------------------------------------- */

/* Feed text step bytes at a time; collect the lines joined by '|'. */
static int feed(struct ctl_line *lb, const char *text, size_t step, char *out, size_t cap)
{
	size_t n = strlen(text), k = 0;
	out[0] = '\0';
	for (size_t off = 0; off < n; off += step) {
		size_t len = n - off < step ? n - off : step;
		int rc = ctl_line_append(lb, guard_place(text + off, len), len);
		if (rc != 0)
			return rc;
		char *line;
		size_t ll;
		while ((rc = ctl_line_next(lb, &line, &ll)) == 1) {
			assert_int_equal(strlen(line), ll);
			k += (size_t)snprintf(out + k, cap - k, "%s|", line);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void test_lines_whole_and_split(void **state)
{
	(void)state;
	const char *text = "{\"a\":1}\n{\"b\":2}\r\n\nlast\n";
	for (size_t step = 1; step <= strlen(text); step++) {
		struct ctl_line lb;
		char out[128];
		ctl_line_init(&lb, 64);
		assert_int_equal(feed(&lb, text, step, out, sizeof(out)), 0);
		assert_string_equal(out, "{\"a\":1}|{\"b\":2}||last|");
		assert_int_equal(ctl_line_pending(&lb), 0);
		ctl_line_free(&lb);
	}
}

static void test_partial_line_waits(void **state)
{
	(void)state;
	struct ctl_line lb;
	char out[64];
	ctl_line_init(&lb, 64);
	assert_int_equal(feed(&lb, "{\"method\":", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(ctl_line_pending(&lb), 10);
	assert_int_equal(feed(&lb, "\"x\"}\n", 2, out, sizeof(out)), 0);
	assert_string_equal(out, "{\"method\":\"x\"}|");
	ctl_line_free(&lb);
}

static void test_line_at_limit_and_over(void **state)
{
	(void)state;
	struct ctl_line lb;
	char big[80], out[128];

	memset(big, 'x', 64);
	strcpy(big + 64, "\n");
	ctl_line_init(&lb, 64);
	assert_int_equal(feed(&lb, big, 7, out, sizeof(out)), 0); /* exactly max: fine */
	ctl_line_free(&lb);

	memset(big, 'x', 65);
	strcpy(big + 65, "\n");
	ctl_line_init(&lb, 64);
	assert_int_equal(feed(&lb, big, 66, out, sizeof(out)), -EMSGSIZE); /* complete, too long */
	ctl_line_free(&lb);

	ctl_line_init(&lb, 64);
	big[65] = 'x';
	big[66] = '\0';
	/* no newline at all: refused once past max, before any more is stored */
	assert_int_equal(feed(&lb, big, 5, out, sizeof(out)), -EMSGSIZE);
	assert_int_equal(ctl_line_append(&lb, "y", 1), -EMSGSIZE);
	ctl_line_free(&lb);
}

/* A megabyte without a newline never makes the buffer grow past a line
 * plus a chunk. */
static void test_huge_line_bounded(void **state)
{
	(void)state;
	struct ctl_line lb;
	char *chunk = malloc(CTL_LINE_CHUNK);
	memset(chunk, 'z', CTL_LINE_CHUNK);
	ctl_line_init(&lb, CTL_LINE_MAX);
	int rc = 0;
	for (int i = 0; i < 16 && rc == 0; i++) {
		char *line;
		size_t len;
		rc = ctl_line_append(&lb, chunk, CTL_LINE_CHUNK);
		if (rc == 0)
			rc = ctl_line_next(&lb, &line, &len);
	}
	assert_int_equal(rc, -EMSGSIZE);
	assert_true(lb.cap <= 4 * (CTL_LINE_MAX + CTL_LINE_CHUNK));
	ctl_line_free(&lb);
	free(chunk);
}

/* ---- requests ------------------------------------------------------------ */

static int parse(const char *text, struct ctl_request *req, const char **why, json_t **id)
{
	size_t n = strlen(text);
	return ctl_request_parse(guard_place(text, n), n, req, why, id);
}

static void test_request_ok(void **state)
{
	(void)state;
	struct ctl_request req;
	const char *why;
	json_t *id;
	assert_int_equal(
	    parse("{\"jsonrpc\":\"2.0\",\"method\":\"log.level\",\"params\":{\"level\":\"debug\"},"
		  "\"id\":7}",
		  &req, &why, &id),
	    0);
	assert_string_equal(req.method, "log.level");
	assert_string_equal(json_string_value(json_object_get(req.params, "level")), "debug");
	assert_int_equal(json_integer_value(req.id), 7);
	json_decref(id);
	ctl_request_free(&req);

	/* params and jsonrpc are optional; params then is an empty object */
	assert_int_equal(parse("{\"method\":\"status\",\"id\":\"a\"}", &req, &why, &id), 0);
	assert_true(json_is_object(req.params));
	assert_int_equal(json_object_size(req.params), 0);
	json_decref(id);
	ctl_request_free(&req);
}

static void expect_error(const char *text, int code, bool has_id)
{
	struct ctl_request req;
	const char *why = NULL;
	json_t *id = NULL;
	assert_int_equal(parse(text, &req, &why, &id), code);
	assert_non_null(why);
	assert_true((id != NULL) == has_id);
	assert_null(req.root);
	json_decref(id);
}

static void test_request_errors(void **state)
{
	(void)state;
	expect_error("garbage", CTL_E_PARSE, false);
	expect_error("{\"method\":\"status\"", CTL_E_PARSE, false);
	expect_error("{\"method\":\"a\",\"method\":\"b\"}", CTL_E_PARSE, false);
	expect_error("[1,2]", CTL_E_REQUEST, false);
	expect_error("\"status\"", CTL_E_REQUEST, false);
	expect_error("{\"id\":3}", CTL_E_REQUEST, true);
	expect_error("{\"method\":5,\"id\":3}", CTL_E_REQUEST, true);
	expect_error("{\"method\":\"\",\"id\":3}", CTL_E_REQUEST, true);
	expect_error("{\"method\":\"status\",\"params\":[1],\"id\":3}", CTL_E_REQUEST, true);
	expect_error("{\"method\":\"status\",\"id\":{}}", CTL_E_REQUEST, false);
	expect_error("{\"method\":\"status\",\"jsonrpc\":\"1.0\"}", CTL_E_REQUEST, false);
}

/* ---- replies ------------------------------------------------------------- */

static void test_replies_one_line(void **state)
{
	(void)state;
	size_t len;
	json_t *id = json_integer(9);
	char *r = ctl_reply_result(id, json_pack("{s:s}", "text", "a\nb"), &len);
	assert_int_equal(strlen(r), len);
	assert_int_equal(r[len - 1], '\n');
	assert_null(memchr(r, '\n', len - 1)); /* the newline in the value is escaped */

	struct ctl_response resp;
	const char *why;
	assert_int_equal(ctl_response_parse(r, len - 1, &resp, &why), 0);
	assert_string_equal(json_string_value(json_object_get(resp.result, "text")), "a\nb");
	assert_int_equal(json_integer_value(resp.id), 9);
	ctl_response_free(&resp);
	free(r);

	r = ctl_reply_error(NULL, CTL_E_METHOD, "unknown method 'x'", NULL, &len);
	assert_int_equal(ctl_response_parse(r, len, &resp, &why), 0);
	assert_null(resp.result);
	assert_int_equal(resp.code, CTL_E_METHOD);
	assert_string_equal(resp.message, "unknown method 'x'");
	assert_true(json_is_null(resp.id));
	ctl_response_free(&resp);
	free(r);

	/* a message that is not UTF-8 still makes a well-formed reply */
	r = ctl_reply_error(id, CTL_E_PARAMS, "bad \xff byte", NULL, &len);
	assert_int_equal(ctl_response_parse(r, len, &resp, &why), 0);
	assert_int_equal(resp.code, CTL_E_PARAMS);
	ctl_response_free(&resp);
	free(r);
	json_decref(id);
}

static void test_request_encode_roundtrip(void **state)
{
	(void)state;
	size_t len;
	json_t *params = json_pack("{s:i}", "limit", 5);
	char *line = ctl_request_encode("transactions", params, 42, &len);
	struct ctl_request req;
	const char *why;
	json_t *id;
	assert_int_equal(ctl_request_parse(line, len - 1, &req, &why, &id), 0);
	assert_string_equal(req.method, "transactions");
	assert_int_equal(json_integer_value(json_object_get(req.params, "limit")), 5);
	assert_int_equal(json_integer_value(id), 42);
	json_decref(id);
	ctl_request_free(&req);
	json_decref(params);
	free(line);

	struct ctl_response resp;
	assert_int_not_equal(ctl_response_parse("{\"id\":1}", 8, &resp, &why), 0);
	ctl_response_free(&resp);
	assert_int_equal(ctl_response_parse("nope", 4, &resp, &why), CTL_E_PARSE);
	ctl_response_free(&resp);
}

int main(void)
{
	ctl_proto_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines_whole_and_split),
	    cmocka_unit_test(test_partial_line_waits),
	    cmocka_unit_test(test_line_at_limit_and_over),
	    cmocka_unit_test(test_huge_line_bounded),
	    cmocka_unit_test(test_request_ok),
	    cmocka_unit_test(test_request_errors),
	    cmocka_unit_test(test_replies_one_line),
	    cmocka_unit_test(test_request_encode_roundtrip),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	guard_release();
	return rc;
}
