/*
 * log: the line format, one write(2) per line (read back whole from a
 * pipe), the level filter and its move into shared memory, truncation,
 * and control characters kept out of the line.
 *
 * stderr is pointed at a pipe for each test and restored after it.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static int saved_stderr = -1;
static int pipe_rd = -1;

static int capture_start(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	/* Big enough for every test's output without a reader. */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	saved_stderr = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	pipe_rd = p[0];
	log_set_level(LOG_LV_INFO);
	log_set_master();
	return 0;
}

static int capture_stop(void **state)
{
	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipe_rd);
	return 0;
}

/* Everything written so far, NUL-terminated, in a static buffer. */
static const char *captured(size_t *len)
{
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1 && (r = read(pipe_rd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* "2024-05-01T12:00:00.123Z " */
static void assert_timestamp(const char *s)
{
	const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ ";
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd')
			assert_true(s[i] >= '0' && s[i] <= '9');
		else
			assert_int_equal(s[i], shape[i]);
	}
}

static void test_format(void **state)
{
	(void)state;
	char want[64];

	log_info("hello %d", 42);
	const char *out = captured(NULL);
	assert_timestamp(out);
	snprintf(want, sizeof(want), "info [master %ld]: hello 42\n", (long)getpid());
	assert_string_equal(out + 25, want);

	log_set_worker(3);
	log_error("boom");
	out = captured(NULL);
	assert_timestamp(out);
	snprintf(want, sizeof(want), "error [w3 %ld]: boom\n", (long)getpid());
	assert_string_equal(out + 25, want);
}

static void test_levels(void **state)
{
	(void)state;
	log_set_level(LOG_LV_WARN);
	log_info("hidden");
	log_debug("hidden %d", 1);
	assert_string_equal(captured(NULL), "");
	log_warn("shown");
	assert_non_null(strstr(captured(NULL), " warn [master "));

	log_set_level(99);
	assert_int_equal(log_get_level(), LOG_LV_DEBUG);
	log_debug("dbg");
	assert_non_null(strstr(captured(NULL), " debug [master "));
	log_set_level(-5);
	assert_int_equal(log_get_level(), LOG_LV_ERROR);

	assert_int_equal(log_level_parse("warn"), LOG_LV_WARN);
	assert_int_equal(log_level_parse("verbose"), -EINVAL);
	assert_string_equal(log_level_name(LOG_LV_DEBUG), "debug");
	assert_string_equal(log_level_name(7), "?");
}

/* After log_share_level, the cell is the level: whoever writes it. */
static void test_shared_level(void **state)
{
	(void)state;
	static _Atomic int32_t cell = -1;

	log_set_level(LOG_LV_WARN);
	log_share_level(&cell);
	assert_int_equal(atomic_load(&cell), LOG_LV_WARN);
	atomic_store(&cell, LOG_LV_DEBUG); /* another process, say */
	assert_true(log_enabled(LOG_LV_DEBUG));
	log_set_level(LOG_LV_INFO);
	assert_int_equal(atomic_load(&cell), LOG_LV_INFO);
}

static void test_truncated_one_write(void **state)
{
	(void)state;
	char *big = malloc(10000);
	size_t len;

	memset(big, 'x', 9999);
	big[9999] = '\0';
	log_info("%s", big);
	log_info("next");
	const char *out = captured(&len);
	const char *nl = strchr(out, '\n');
	assert_non_null(nl);
	/* The first line is cut to LOG_LINE_MAX bytes and says so. */
	assert_int_equal(nl - out + 1, LOG_LINE_MAX);
	assert_memory_equal(nl - 3, "...", 3);
	assert_non_null(strstr(nl + 1, "]: next\n"));
	free(big);
}

static void test_control_chars(void **state)
{
	(void)state;
	log_info("a\nb\rc\td\x7f"
	         "e");
	const char *out = captured(NULL);
	assert_non_null(strstr(out, "]: a?b?c\td?e\n"));
	assert_int_equal(strchr(out, '\n')[1], '\0');
}

static void test_errno_kept(void **state)
{
	(void)state;
	errno = EADDRINUSE;
	log_error("bind: %s", strerror(errno));
	assert_int_equal(errno, EADDRINUSE);
	captured(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_format, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_levels, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_shared_level, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_truncated_one_write, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_control_chars, capture_start, capture_stop),
	    cmocka_unit_test_setup_teardown(test_errno_kept, capture_start, capture_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
