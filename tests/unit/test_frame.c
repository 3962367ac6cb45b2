/* Stream framing (src/core/frame.c): RFC 3261 §18.3, RFC 5626 §3.5.1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <sipedge/msg.h>

#include "guard.h"

#define MSG1                                                                               \
	"MESSAGE sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n"      \
	"From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 5\r\n\r\nhello"
#define MSG2                                                                               \
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nTo: <sip:a@b>;tag=2\r\n"         \
	"From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nl: 0\r\n\r\n"

/* Feed `stream` to a framer in pieces, as a connection would: append
 * `step` bytes at a time, consume frames as they complete. Returns the
 * frame kinds seen, as letters (M, P, O) in order, in out. */
static int run_stream(const char *stream, size_t n, size_t step, char *out, size_t outcap)
{
	struct se_framer f = {0};
	f.body_len = -1;
	size_t have = 0, start = 0, k = 0;
	while (start < n) {
		size_t avail = have - start;
		struct se_frame fr;
		struct se_perr err;
		const char *buf = guard_place(stream + start, avail);
		int rc = se_frame_next(&f, buf, avail, 65535, &fr, &err);
		if (rc == SE_EAGAIN) {
			if (have == n)
				return SE_EAGAIN;
			have = have + step > n ? n : have + step;
			continue;
		}
		if (rc < 0)
			return rc;
		assert_true(k + 1 < outcap);
		out[k++] = fr.kind == SE_FRAME_MSG ? 'M' : fr.kind == SE_FRAME_PING ? 'P' : 'O';
		if (fr.kind == SE_FRAME_MSG) {
			/* the frame parses as a complete stream message */
			struct se_limits lim = SE_LIMITS_DEFAULT;
			void *mem = malloc(se_msg_size(&lim));
			struct se_msg *m = se_msg_init(mem, &lim);
			int pr = se_msg_parse(m, buf, fr.len, SE_STREAM, &lim, &err);
			free(mem);
			assert_int_equal(pr, (int)fr.len);
		}
		start += fr.len;
	}
	out[k] = 0;
	return 0;
}

static void test_split_everywhere(void **state)
{
	(void)state;
	static const char stream[] = "\r\n\r\n" MSG1 "\r\n" MSG2 "\r\n\r\n" MSG1;
	size_t n = sizeof(stream) - 1;
	for (size_t step = 1; step <= n; step += (step < 40 ? 1 : 37)) {
		char kinds[16];
		assert_int_equal(run_stream(stream, n, step, kinds, sizeof(kinds)), 0);
		assert_string_equal(kinds, "PMOMPM");
	}
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint32_t max;
		int rc;
		const char *what;
	} rows[] = {
		{"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n", 65535, SE_EPARSE,
		 "Missing Content-Length header"},
		{"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\n", 65535, SE_EPARSE,
		 "Bad Content-Length header"},
		{"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\nx", 65535, SE_EPARSE,
		 "Bad Content-Length header"},
		{"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 100\r\n\r\n", 60, SE_EMSGSIZE,
		 "Message too large"},
		{"OPTIONS sip:a@b SIP/2.0\r\nX: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", 40,
		 SE_EMSGSIZE, "Message too large"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct se_framer f = {0};
		f.body_len = -1;
		struct se_frame fr;
		struct se_perr err;
		size_t n = strlen(rows[i].text);
		const char *buf = guard_place(rows[i].text, n);
		assert_int_equal(se_frame_next(&f, buf, n, rows[i].max, &fr, &err), rows[i].rc);
		assert_string_equal(err.what, rows[i].what);
	}
}

static void test_incomplete_body_waits(void **state)
{
	(void)state;
	struct se_framer f = {0};
	f.body_len = -1;
	struct se_frame fr;
	struct se_perr err;
	const char *full = MSG1;
	size_t n = strlen(full);
	assert_int_equal(se_frame_next(&f, full, n - 1, 65535, &fr, &err), SE_EAGAIN);
	assert_int_equal(se_frame_next(&f, full, n, 65535, &fr, &err), 0);
	assert_int_equal(fr.kind, SE_FRAME_MSG);
	assert_int_equal(fr.len, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_everywhere),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_incomplete_body_waits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
