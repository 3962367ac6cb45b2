/*
 * Helpers for the YAML-driven unit tests (test_ydoc, test_config,
 * test_policy, test_react): a scratch directory, files written into it,
 * and comparing collected `file:line:col: message` lines with expected
 * ones.
 * Include after <cmocka.h>.
 */
#ifndef SE_TEST_YAML_CASE_H
#define SE_TEST_YAML_CASE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ydoc.h"

/* Create the scratch directory named by the template dir ("...XXXXXX"). */
static inline int yaml_case_mkdtemp(char *dir)
{
	return mkdtemp(dir) ? 0 : -1;
}

static inline int yaml_case_rmdir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A suite's scratch directory `tmpdir` ("/tmp/NAME.XXXXXX") and the group
 * setup/teardown that make and remove it. */
#define YAML_CASE_TMPDIR(name)                                                                     \
	static char tmpdir[] = "/tmp/" name ".XXXXXX";                                             \
	static int setup(void **state)                                                             \
	{                                                                                          \
		(void)state;                                                                       \
		return yaml_case_mkdtemp(tmpdir);                                                  \
	}                                                                                          \
	static int teardown(void **state)                                                          \
	{                                                                                          \
		(void)state;                                                                       \
		return yaml_case_rmdir(tmpdir);                                                    \
	}

/* Write text to dir/name; returns the path (one static buffer, valid
 * until the next call). */
static inline const char *yaml_case_write(const char *dir, const char *name, const char *text)
{
	static char path[512];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Compare every collected message with want[] (at most max, NULL-ended),
 * in order. Expected lines start with 'F', replaced by the file name;
 * `row` names the table row in failure messages. */
static inline void yaml_case_check(const struct ydoc_errs *e, const char *const *want, size_t max,
				   const char *file, size_t row)
{
	size_t n = 0;
	while (n < max && want[n])
		n++;
	bool ok = e->n == n;
	for (size_t i = 0; ok && i < n; i++) {
		char buf[1024];
		assert_true(want[i][0] == 'F');
		snprintf(buf, sizeof(buf), "%s%s", file, want[i] + 1);
		ok = strcmp(e->v[i].text, buf) == 0;
		if (!ok)
			fprintf(stderr, "row %zu, line %zu:\n got  %s\n want %s\n", row, i,
				e->v[i].text, buf);
	}
	if (!ok) {
		fprintf(stderr, "row %zu: all messages:\n", row);
		ydoc_errs_print(e, stderr);
		fail_msg("row %zu: messages differ (%zu, expected %zu)", row, e->n, n);
	}
}

#endif
