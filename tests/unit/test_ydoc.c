/*
 * Tests of ydoc (src/config/ydoc*.c): YAML to node tree, the refused
 * constructs, the typed scalar readers and the error collector.
 *
 * Tree and error rows parse from a buffer that ends at a PROT_NONE page
 * (guard.h), so libyaml reading one byte too many faults. Expected messages
 * are written "F:line:col: message", F standing for the file name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sipedge/error.h>

#include "guard.h"
#include "ydoc.h"
#include "yaml_case.h"

#define MAX_LINES 8

#define check_lines(e, want, file, row) yaml_case_check(e, want, MAX_LINES, file, row)

static int parse_guarded(const char *text, struct ydoc **doc, struct ydoc_errs *e)
{
	size_t len = strlen(text);
	const char *buf = guard_place(text, len);
	return ydoc_parse("t.yaml", buf, len, doc, e);
}

/* Follow "a/0/b" from the root: numbers index sequences, words map keys. */
static const struct ydoc_node *node_at(const struct ydoc *doc, const char *path)
{
	const struct ydoc_node *n = ydoc_root(doc);
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *save, *seg = strtok_r(buf, "/", &save); seg && n;
	     seg = strtok_r(NULL, "/", &save)) {
		if (n->type == YDOC_SEQ) {
			size_t i = (size_t)atoi(seg);
			n = i < n->seq.n ? n->seq.items[i] : NULL;
		} else {
			n = ydoc_map_get(n, seg);
		}
	}
	return n;
}

/* ---- tree ------------------------------------------------------------- */

static const char tree_text[] = "# comment\n"
                                "listen:\n"
                                "  - udp://127.0.0.1:5060\n"
                                "  - 'quoted'\n"
                                "limits: {max_via: 32, max_headers: 128}\n"
                                "empty:\n"
                                "tilde: ~\n"
                                "block: |\n"
                                "  two\n"
                                "  lines\n"
                                "\xc3\xa9t\xc3\xa9: x\n"
                                "flow: [a, [b, c]]\n";

static const struct tree_row {
	const char *path;
	enum ydoc_type type;
	uint32_t line, col;
	const char *scalar; /* scalars only */
	size_t count;       /* collections: items or pairs */
	bool null, quoted;
} tree_rows[] = {
    {"", YDOC_MAP, 2, 1, NULL, 7, false, false},
    {"listen", YDOC_SEQ, 3, 3, NULL, 2, false, false},
    {"listen/0", YDOC_SCALAR, 3, 5, "udp://127.0.0.1:5060", 0, false, false},
    {"listen/1", YDOC_SCALAR, 4, 5, "quoted", 0, false, true},
    {"limits", YDOC_MAP, 5, 9, NULL, 2, false, false},
    {"limits/max_headers", YDOC_SCALAR, 5, 36, "128", 0, false, false},
    {"empty", YDOC_SCALAR, 6, 7, "", 0, true, false},
    {"tilde", YDOC_SCALAR, 7, 8, "~", 0, true, false},
    {"block", YDOC_SCALAR, 8, 8, "two\nlines\n", 0, false, true},
    /* columns count characters, not bytes */
    {"\xc3\xa9t\xc3\xa9", YDOC_SCALAR, 11, 6, "x", 0, false, false},
    {"flow/1", YDOC_SEQ, 12, 11, NULL, 2, false, false},
    {"flow/1/1", YDOC_SCALAR, 12, 15, "c", 0, false, false},
};

static void test_tree(void **state)
{
	(void)state;
	struct ydoc_errs e = {0};
	struct ydoc *doc;
	assert_int_equal(parse_guarded(tree_text, &doc, &e), 0);
	assert_non_null(doc);
	assert_int_equal(e.n, 0);
	assert_string_equal(ydoc_file(doc), "t.yaml");
	for (size_t i = 0; i < sizeof(tree_rows) / sizeof(tree_rows[0]); i++) {
		const struct tree_row *r = &tree_rows[i];
		const struct ydoc_node *n = node_at(doc, r->path);
		if (!n)
			fail_msg("row %zu: no node at '%s'", i, r->path);
		assert_int_equal(n->type, r->type);
		if (n->line != r->line || n->col != r->col)
			fail_msg("row %zu '%s': at %u:%u, expected %u:%u", i, r->path,
			         (unsigned)n->line, (unsigned)n->col, (unsigned)r->line,
			         (unsigned)r->col);
		assert_string_equal(n->file, "t.yaml");
		assert_int_equal(ydoc_is_null(n), r->null);
		if (r->type == YDOC_SCALAR) {
			assert_string_equal(n->scalar.str, r->scalar);
			assert_int_equal(n->scalar.len, strlen(r->scalar));
			assert_int_equal(!!(n->flags & YDOC_F_QUOTED), r->quoted);
		} else if (r->type == YDOC_SEQ) {
			assert_int_equal(n->seq.n, r->count);
		} else {
			assert_int_equal(n->map.n, r->count);
		}
	}
	assert_null(ydoc_map_get(ydoc_root(doc), "missing"));
	assert_null(ydoc_map_get(node_at(doc, "listen"), "x")); /* not a mapping */
	ydoc_free(doc);
	ydoc_errs_free(&e);
}

/* ---- refused input ---------------------------------------------------- */

static const struct err_row {
	const char *text;
	bool tree; /* a tree is still returned (recoverable errors) */
	const char *lines[MAX_LINES];
} err_rows[] = {
    /* the empty file is a document without a root */
    {"", true, {NULL}},
    {"# only a comment\n", true, {NULL}},
    {"a: [1\n",
     false,
     {"F:2:1: syntax error: did not find expected ',' or ']' (while parsing a flow "
      "sequence at line 1)"}},
    {"a: b: c\n", false, {"F:1:5: syntax error: mapping values are not allowed in this context"}},
    {"a: 1\n\tb: 2\n",
     false,
     {"F:2:1: syntax error: found a tab character that violates indentation (while "
      "scanning a plain scalar at line 1)"}},
    {"a: 1\n---\nb: 2\n", false, {"F:2:1: a second document in one file is not supported"}},
    {"a: 1\nb: \xff\n", false, {"F:2:4: bad input: invalid leading UTF-8 octet"}},
    /* recoverable: reported, the rest still read */
    {"a: 1\nb: 2\na: 3\nb: 4\na: 5\n",
     true,
     {"F:3:1: duplicate key 'a' (first at line 1, column 1)",
      "F:4:1: duplicate key 'b' (first at line 2, column 1)",
      "F:5:1: duplicate key 'a' (first at line 1, column 1)"}},
    {"m: {x: 1, x: 2}\n", true, {"F:1:11: duplicate key 'x' (first at line 1, column 5)"}},
    {"a: &x 1\nb: *x\n",
     true,
     {"F:1:4: anchors are not supported ('&x'): write each value where it applies",
      "F:2:4: aliases are not supported ('*x'): write each value where it applies"}},
    {"a: !!int 1\nb: !mine {}\n",
     true,
     {"F:1:4: tags are not supported ('tag:yaml.org,2002:int')",
      "F:2:4: tags are not supported ('!mine')"}},
    {"? [a, b]\n: 1\nc: 2\n", true, {"F:1:3: mapping keys must be scalars, not a sequence"}},
    {"\"a\\0b\": 1\n", true, {"F:1:1: mapping keys must not contain NUL characters"}},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *r = &err_rows[i];
		struct ydoc_errs e = {0};
		struct ydoc *doc;
		int rc = parse_guarded(r->text, &doc, &e);
		check_lines(&e, r->lines, "t.yaml", i);
		if (rc != (r->lines[0] ? SE_ECONFIG : 0) || (doc != NULL) != r->tree)
			fail_msg("row %zu: rc %d, tree %d", i, rc, doc != NULL);
		assert_int_equal(e.n_errors, e.n);
		ydoc_free(doc);
		ydoc_errs_free(&e);
	}
}

/* The recoverable errors leave the rest of the tree readable. */
static void test_recovery(void **state)
{
	(void)state;
	struct ydoc_errs e = {0};
	struct ydoc *doc;
	assert_int_equal(parse_guarded("a: 1\nb: *x\na: 2\nc: 3\n", &doc, &e), SE_ECONFIG);
	assert_non_null(doc);
	const struct ydoc_node *root = ydoc_root(doc);
	assert_int_equal(root->map.n, 3); /* the second 'a' is dropped */
	assert_string_equal(ydoc_map_get(root, "a")->scalar.str, "1");
	assert_string_equal(ydoc_map_get(root, "c")->scalar.str, "3");
	/* the alias stands as a bad node: readers fail without a second message */
	const struct ydoc_node *b = ydoc_map_get(root, "b");
	assert_true(b->flags & YDOC_F_BAD);
	size_t before = e.n;
	long long v;
	assert_int_equal(ydoc_read_int(b, "b", 0, 10, &v, &e), SE_ECONFIG);
	assert_int_equal(e.n, before);
	ydoc_free(doc);
	ydoc_errs_free(&e);
}

static void test_depth(void **state)
{
	(void)state;
	char text[512];
	struct ydoc_errs e = {0};
	struct ydoc *doc;

	/* YDOC_MAX_DEPTH nested sequences (depth 0..63) are fine ... */
	memset(text, '[', YDOC_MAX_DEPTH);
	memset(text + YDOC_MAX_DEPTH, ']', YDOC_MAX_DEPTH);
	text[2 * YDOC_MAX_DEPTH] = '\0';
	assert_int_equal(parse_guarded(text, &doc, &e), 0);
	ydoc_free(doc);
	/* ... one more is refused, not recursed into */
	memset(text, '[', YDOC_MAX_DEPTH + 1);
	memset(text + YDOC_MAX_DEPTH + 1, ']', YDOC_MAX_DEPTH + 1);
	text[2 * YDOC_MAX_DEPTH + 2] = '\0';
	assert_int_equal(parse_guarded(text, &doc, &e), SE_ECONFIG);
	assert_null(doc);
	const char *want[] = {"F:1:65: nesting deeper than 64 levels", NULL};
	check_lines(&e, want, "t.yaml", 0);
	ydoc_errs_free(&e);
}

/* Large mappings: duplicate detection must not be quadratic, and must be
 * exact. 50,000 keys, two duplicates. */
static void test_large_map(void **state)
{
	(void)state;
	size_t n = 50000, cap = n * 24 + 64, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "k%zu: %zu\n", i, i);
	len += (size_t)snprintf(text + len, cap - len, "k17: x\nk49999: y\n");
	struct ydoc_errs e = {0};
	struct ydoc *doc;
	assert_int_equal(ydoc_parse("big.yaml", text, len, &doc, &e), SE_ECONFIG);
	assert_non_null(doc);
	assert_int_equal(ydoc_root(doc)->map.n, n);
	const char *want[] = {"F:50001:1: duplicate key 'k17' (first at line 18, column 1)",
	                      "F:50002:1: duplicate key 'k49999' (first at line 50000, column 1)",
	                      NULL};
	check_lines(&e, want, "big.yaml", 0);
	ydoc_free(doc);
	ydoc_errs_free(&e);
	free(text);
}

/* ---- typed readers ---------------------------------------------------- */

enum kind { K_INT, K_BOOL, K_STR, K_DUR, K_SIZE };

static const struct read_row {
	const char *yaml; /* value of key v */
	enum kind kind;
	long long min, max;
	unsigned long long want; /* int/bool/dur (ms)/size (bytes) */
	const char *want_str;    /* K_STR */
	const char *err;         /* expected message, NULL on success */
} read_rows[] = {
    {"42", K_INT, 0, 100, 42, NULL, NULL},
    {"'42'", K_INT, 0, 100, 42, NULL, NULL},
    {"-5", K_INT, -10, 10, (unsigned long long)-5, NULL, NULL},
    {"+7", K_INT, 0, 10, 7, NULL, NULL},
    {"101", K_INT, 0, 100, 0, NULL, "F:1:4: v: 101 is out of range (0..100)"},
    {"99999999999999999999", K_INT, 0, 100, 0, NULL,
     "F:1:4: v: 99999999999999999999 is out of range (0..100)"},
    {"4x", K_INT, 0, 100, 0, NULL, "F:1:4: v: expected an integer, got '4x'"},
    {"0x10", K_INT, 0, 100, 0, NULL, "F:1:4: v: expected an integer, got '0x10'"},
    {"", K_INT, 0, 100, 0, NULL, "F:1:3: v: expected a value, got an empty value"},
    {"[1]", K_INT, 0, 100, 0, NULL, "F:1:4: v: expected a value, got a sequence"},
    {"yes", K_BOOL, 0, 0, 1, NULL, NULL},
    {"True", K_BOOL, 0, 0, 1, NULL, NULL},
    {"no", K_BOOL, 0, 0, 0, NULL, NULL},
    {"false", K_BOOL, 0, 0, 0, NULL, NULL},
    {"on", K_BOOL, 0, 0, 0, NULL, "F:1:4: v: expected yes, no, true or false, got 'on'"},
    {"hello world", K_STR, 0, 0, 0, "hello world", NULL},
    {"'~'", K_STR, 0, 0, 0, "~", NULL},
    {"~", K_STR, 0, 0, 0, NULL, "F:1:4: v: expected a value, got an empty value"},
    {"''", K_STR, 0, 0, 0, NULL, "F:1:4: v: must not be empty"},
    {"\"a\\0b\"", K_STR, 0, 0, 0, NULL, "F:1:4: v: must not contain NUL characters"},
    {"{a: 1}", K_STR, 0, 0, 0, NULL, "F:1:4: v: expected a value, got a mapping"},
    {"500ms", K_DUR, 0, 1000000, 500, NULL, NULL},
    {"32s", K_DUR, 0, 1000000, 32000, NULL, NULL},
    {"2m", K_DUR, 0, 1000000, 120000, NULL, NULL},
    {"1h", K_DUR, 0, 3600000, 3600000, NULL, NULL},
    {"4S", K_DUR, 0, 1000000, 4000, NULL, NULL},
    {"500", K_DUR, 0, 1000000, 0, NULL,
     "F:1:4: v: bad duration '500': missing unit (ms, s, m or h)"},
    {"5 s", K_DUR, 0, 1000000, 0, NULL,
     "F:1:4: v: bad duration '5 s': unknown unit (use ms, s, m or h)"},
    {"1.5s", K_DUR, 0, 1000000, 0, NULL,
     "F:1:4: v: bad duration '1.5s': unknown unit (use ms, s, m or h)"},
    {"ms", K_DUR, 0, 1000000, 0, NULL, "F:1:4: v: bad duration 'ms': not a number"},
    {"9s", K_DUR, 10, 5000, 0, NULL, "F:1:4: v: 9s is out of range (10ms..5s)"},
    {"99999999999999999h", K_DUR, 0, 1000000, 0, NULL,
     "F:1:4: v: bad duration '99999999999999999h': number too large"},
    {"64MiB", K_SIZE, 0, 1LL << 40, 64ull << 20, NULL, NULL},
    {"64M", K_SIZE, 0, 1LL << 40, 64ull << 20, NULL, NULL},
    {"64m", K_SIZE, 0, 1LL << 40, 64ull << 20, NULL, NULL},
    {"2GiB", K_SIZE, 0, 1LL << 40, 2ull << 30, NULL, NULL},
    {"16K", K_SIZE, 0, 1LL << 40, 16384, NULL, NULL},
    {"1000", K_SIZE, 0, 1LL << 40, 1000, NULL, NULL},
    {"12B", K_SIZE, 0, 1LL << 40, 12, NULL, NULL},
    {"64MB", K_SIZE, 0, 1LL << 40, 0, NULL,
     "F:1:4: v: bad size '64MB': unknown unit (use K, KiB, M, MiB, G or GiB)"},
    {"1M", K_SIZE, 4LL << 20, 1LL << 30, 0, NULL, "F:1:4: v: 1M is out of range (4MiB..1GiB)"},
};

static void test_readers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(read_rows) / sizeof(read_rows[0]); i++) {
		const struct read_row *r = &read_rows[i];
		char text[128];
		snprintf(text, sizeof(text), "v: %s\n", r->yaml);
		struct ydoc_errs e = {0};
		struct ydoc *doc;
		assert_int_equal(parse_guarded(text, &doc, &e), 0);
		const struct ydoc_node *n = ydoc_map_get(ydoc_root(doc), "v");
		assert_non_null(n);

		long long iv = 0;
		bool bv = false;
		uint64_t uv = 0;
		const char *sv = NULL;
		int rc;
		switch (r->kind) {
		case K_INT:
			rc = ydoc_read_int(n, "v", r->min, r->max, &iv, &e);
			uv = (uint64_t)iv;
			break;
		case K_BOOL:
			rc = ydoc_read_bool(n, "v", &bv, &e);
			uv = bv;
			break;
		case K_STR:
			rc = ydoc_read_str(n, "v", &sv, &e);
			break;
		case K_DUR:
			rc =
			    ydoc_read_duration(n, "v", (uint64_t)r->min, (uint64_t)r->max, &uv, &e);
			break;
		default:
			rc = ydoc_read_size(n, "v", (uint64_t)r->min, (uint64_t)r->max, &uv, &e);
			break;
		}
		if (r->err) {
			const char *want[] = {r->err, NULL};
			check_lines(&e, want, "t.yaml", i);
			assert_int_equal(rc, SE_ECONFIG);
		} else {
			const char *none[] = {NULL};
			check_lines(&e, none, "t.yaml", i);
			assert_int_equal(rc, 0);
			if (r->kind == K_STR)
				assert_string_equal(sv, r->want_str);
			else if (uv != r->want)
				fail_msg("row %zu: got %llu, want %llu", i, (unsigned long long)uv,
				         r->want);
		}
		ydoc_free(doc);
		ydoc_errs_free(&e);
	}
}

static void test_format(void **state)
{
	(void)state;
	static const struct {
		uint64_t v;
		bool size;
		const char *want;
	} rows[] = {
	    {0, false, "0ms"},
	    {500, false, "500ms"},
	    {4000, false, "4s"},
	    {4500, false, "4500ms"},
	    {180000, false, "3m"},
	    {7200000, false, "2h"},
	    {0, true, "0"},
	    {1000, true, "1000"},
	    {1024, true, "1KiB"},
	    {64u << 20, true, "64MiB"},
	    {3ull << 30, true, "3GiB"},
	    {1536, true, "1536"},
	};
	char buf[32];
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *got = rows[i].size
		                      ? ydoc_read_fmt_size(rows[i].v, buf, sizeof(buf))
		                      : ydoc_read_fmt_duration(rows[i].v, buf, sizeof(buf));
		assert_string_equal(got, rows[i].want);
	}
}

/* ---- collector -------------------------------------------------------- */

static void test_errs(void **state)
{
	(void)state;
	struct ydoc_errs e;
	ydoc_errs_init(&e);
	struct ydoc_node n = {.type = YDOC_SCALAR, .line = 3, .col = 7, .file = "x.yaml"};
	ydoc_errs_add(&e, &n, "third %d", 3);
	ydoc_errs_add_at(&e, "x.yaml", 1, 2, "first");
	ydoc_errs_warn(&e, &n, "careful\nnow"); /* control characters never split a line */
	ydoc_errs_add_at(&e, "x.yaml", 0, 0, "no position");
	ydoc_errs_add_at(&e, "x.yaml", 3, 1, "second");
	assert_int_equal(e.n_errors, 4);
	assert_int_equal(e.n_warnings, 1);
	ydoc_errs_sort(&e, 0);
	const char *want[] = {"F: no position",
	                      "F:1:2: first",
	                      "F:3:1: second",
	                      "F:3:7: third 3",
	                      "F:3:7: warning: careful?now",
	                      NULL};
	check_lines(&e, want, "x.yaml", 0);
	assert_true(e.v[4].warning);

	/* printing is one line per message */
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	assert_non_null(f);
	ydoc_errs_print(&e, f);
	fclose(f);
	assert_string_equal(out, "x.yaml: no position\nx.yaml:1:2: first\nx.yaml:3:1: second\n"
	                         "x.yaml:3:7: third 3\nx.yaml:3:7: warning: careful?now\n");
	free(out);
	ydoc_errs_free(&e);
	assert_int_equal(e.n, 0);
}

static void test_load_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_ydoc.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/a.yaml", dir);

	struct ydoc_errs e = {0};
	struct ydoc *doc;
	assert_int_equal(ydoc_load(path, &doc, &e), SE_ECONFIG);
	assert_null(doc);
	const char *want[] = {"F: cannot open: No such file or directory", NULL};
	check_lines(&e, want, path, 0);
	ydoc_errs_free(&e);

	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("a:\n  b: [1, 2]\n", f);
	fclose(f);
	assert_int_equal(ydoc_load(path, &doc, &e), 0);
	assert_int_equal(e.n, 0);
	assert_string_equal(ydoc_file(doc), path);
	const struct ydoc_node *b = node_at(doc, "a/b/1");
	assert_non_null(b);
	assert_string_equal(b->file, path);
	assert_int_equal(b->line, 2);
	assert_int_equal(b->col, 10);
	ydoc_free(doc);

	/* a directory opens but does not read */
	assert_int_equal(ydoc_load(dir, &doc, &e), SE_ECONFIG);
	assert_null(doc);
	const char *want_dir[] = {"F: cannot read: Is a directory", NULL};
	check_lines(&e, want_dir, dir, 0);
	ydoc_errs_free(&e);

	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree),      cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_recovery),  cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_large_map), cmocka_unit_test(test_readers),
	    cmocka_unit_test(test_format),    cmocka_unit_test(test_errs),
	    cmocka_unit_test(test_load_file),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	guard_release();
	return rc;
}
