/*
 * Tests of the policy loader (src/policy/): policy.yaml to the relocatable
 * struct policy block.
 *
 * Each row is YAML text, written to a file in a fresh temporary directory,
 * and either the expected policy, as a canonical text dump of the block
 * (every pool, destination and rule, references resolved), or the exact
 * messages expected, written "F:line:col: message" with F standing for the
 * file's path. Warnings are messages too and are checked in both kinds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "yaml_case.h"

#include <sipedge/error.h>
#include <sipedge/uri.h>

#include "policy.h"

#define MAX_LINES 16

/* ---- fixtures --------------------------------------------------------- */

static char tmpdir[] = "/tmp/test_policy.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return yaml_case_mkdtemp(tmpdir);
}

static int teardown(void **state)
{
	(void)state;
	return yaml_case_rmdir(tmpdir);
}

static const char *write_file(const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, "policy.yaml");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

#define check_lines(e, want, file, row) yaml_case_check(e, want, MAX_LINES, file, row)

/* ---- canonical dump --------------------------------------------------- */

static size_t dump_addr(char *out, size_t size, const struct sockaddr_storage *ss)
{
	char a[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sa = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
		return (size_t)snprintf(out, size, "%s:%u", a, ntohs(sa->sin_port));
	}
	const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)ss;
	inet_ntop(AF_INET6, &sa->sin6_addr, a, sizeof(a));
	return (size_t)snprintf(out, size, "[%s]:%u", a, ntohs(sa->sin6_port));
}

/* One line per pool, destination and rule, in block order. */
static void dump(const struct policy *p, char *out, size_t size)
{
	size_t len = 0;
#define OUT(...) len += (size_t)snprintf(out + len, size - len, __VA_ARGS__)
	for (uint32_t i = 0; i < p->n_pools; i++) {
		const struct policy_pool *pl = policy_pool(p, i);
		OUT("pool %s @%u dests %u+%u\n", policy_str(p, pl->name), pl->line, pl->first_dest,
		    pl->n_dests);
	}
	for (uint32_t i = 0; i < p->n_dests; i++) {
		const struct policy_dest *d = policy_dest(p, i);
		OUT("dest %u %s %s %s ", i, policy_str(p, d->uri),
		    d->scheme == SE_URI_SIPS ? "sips" : "sip", config_transport_name(d->transport));
		len += dump_addr(out + len, size - len, &d->addr);
		assert_int_equal(d->port, ntohs(((const struct sockaddr_in *)&d->addr)->sin_port));
		if (d->pool == POLICY_NONE)
			OUT(" - @%u\n", d->line);
		else
			OUT(" pool %u @%u\n", d->pool, d->line);
	}
	for (uint32_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = policy_rule(p, i);
		OUT("rule %s @%u ", policy_str(p, r->name), r->line);
		if (r->action == POLICY_ACT_ROUTE)
			OUT("route %s\n", policy_str(p, policy_pool(p, r->pool)->name));
		else if (r->dest == POLICY_NONE)
			OUT("forward request-uri\n");
		else
			OUT("forward dest %u\n", r->dest);
	}
#undef OUT
}

/* ---- the documented example ------------------------------------------- */

static const char example[] = "# policy.yaml\n"
                              "pools:\n"
                              "  uas:\n"
                              "    destinations:\n"
                              "      - uri: sip:127.0.0.1:5080\n"
                              "rules:\n"
                              "  - name: default\n"
                              "    route: uas\n";

static const char example_dump[] = "pool uas @3 dests 0+1\n"
                                   "dest 0 sip:127.0.0.1:5080 sip udp 127.0.0.1:5080 pool 0 @5\n"
                                   "rule default @7 route uas\n";

static void test_example(void **state)
{
	(void)state;
	struct policy *p;
	struct ydoc_errs e = {0};
	const char *path = write_file(example);
	assert_int_equal(policy_load(path, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_non_null(p);
	char text[4096];
	dump(p, text, sizeof(text));
	assert_string_equal(text, example_dump);
	assert_string_equal(policy_str(p, p->file), path);
	assert_int_equal(policy_pool_find(p, "uas"), 0);
	assert_int_equal(policy_pool_find(p, "nope"), POLICY_NONE);
	policy_summary(p, text, sizeof(text));
	assert_string_equal(text, "1 rule, 1 pool, 1 destination");
	policy_free(p);
	ydoc_errs_free(&e);
}

static void test_shipped(void **state)
{
	(void)state;
	const char *data = getenv("SE_TEST_DATA");
	assert_non_null(data);
	char path[512];
	snprintf(path, sizeof(path), "%s/../../etc/policy.yaml", data);
	struct policy *p;
	struct ydoc_errs e = {0};
	int rc = policy_load(path, &p, &e);
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	char text[4096];
	dump(p, text, sizeof(text));
	assert_string_equal(text, example_dump);
	policy_free(p);
	ydoc_errs_free(&e);
}

/* The block is position-independent: a byte copy elsewhere (here a fresh
 * anonymous mapping, as the shared arena will be) is the same policy. */
static void test_relocate(void **state)
{
	(void)state;
	struct policy *p;
	struct ydoc_errs e = {0};
	const char *path = write_file("rules:\n"
	                              "  - {name: a, route: p2}\n"
	                              "  - {name: b, forward: 'sip:[2001:db8::9]:5070'}\n"
	                              "pools:\n"
	                              "  p1: {destinations: [{uri: sip:10.0.0.1}]}\n"
	                              "  p2:\n"
	                              "    destinations:\n"
	                              "      - uri: sip:10.0.0.2\n"
	                              "      - uri: sip:10.0.0.3:5062\n");
	assert_int_equal(policy_load(path, &p, &e), 0);
	char before[4096], after[4096];
	dump(p, before, sizeof(before));

	size_t size = p->size;
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	memcpy(map, p, size);
	memset(p, 0xa5, size); /* the copy must not lean on the original */
	policy_free(p);
	dump(map, after, sizeof(after));
	assert_string_equal(before, after);
	munmap(map, size);
	ydoc_errs_free(&e);
}

/* ---- rows: policies that load ----------------------------------------- */

static const struct ok_row {
	const char *yaml;
	const char *dump;
	const char *lines[MAX_LINES]; /* warnings */
} ok_rows[] = {
    /* rules may come before pools; forward to a URI or to the Request-URI */
    {"rules:\n"
     "  - name: to-b\n"
     "    route: b\n"
     "  - name: fixed\n"
     "    forward: sip:192.0.2.1\n"
     "  - name: plain_proxy\n"
     "    forward: request-uri\n"
     "  - name: again.b\n"
     "    route: b\n"
     "pools:\n"
     "  a:\n"
     "    destinations:\n"
     "      - uri: sip:10.0.0.1:5070\n"
     "      - uri: sip:[::1]\n"
     "  b:\n"
     "    destinations:\n"
     "      - uri: sip:gw@10.0.0.2;transport=UDP;lr\n",
     "pool a @11 dests 1+2\n"
     "pool b @15 dests 3+1\n"
     "dest 0 sip:192.0.2.1 sip udp 192.0.2.1:5060 - @5\n"
     "dest 1 sip:10.0.0.1:5070 sip udp 10.0.0.1:5070 pool 0 @13\n"
     "dest 2 sip:[::1] sip udp [::1]:5060 pool 0 @14\n"
     "dest 3 sip:gw@10.0.0.2;transport=UDP;lr sip udp 10.0.0.2:5060 pool 1 @17\n"
     "rule to-b @2 route b\n"
     "rule fixed @4 forward dest 0\n"
     "rule plain_proxy @6 forward request-uri\n"
     "rule again.b @8 route b\n",
     {"F:11:3: warning: pool 'a' is not used by any rule"}},
    /* pools may be absent or empty */
    {"pools:\nrules:\n  - name: r\n    forward: request-uri\n",
     "rule r @3 forward request-uri\n",
     {NULL}},
    {"rules: [{name: r, forward: request-uri}]\n", "rule r @1 forward request-uri\n", {NULL}},
    /* flow style, quoted values */
    {"pools: {\"p\": {destinations: [{uri: 'sip:127.0.0.1:5080'}]}}\n"
     "rules: [{name: \"r\", route: 'p'}]\n",
     "pool p @1 dests 0+1\n"
     "dest 0 sip:127.0.0.1:5080 sip udp 127.0.0.1:5080 pool 0 @1\n"
     "rule r @2 route p\n",
     {NULL}},
};

static void test_ok_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
		const struct ok_row *r = &ok_rows[i];
		struct policy *p;
		struct ydoc_errs e = {0};
		const char *path = write_file(r->yaml);
		int rc = policy_load(path, &p, &e);
		check_lines(&e, r->lines, path, i);
		assert_int_equal(e.n_errors, 0);
		assert_int_equal(rc, 0);
		char text[4096];
		dump(p, text, sizeof(text));
		if (strcmp(text, r->dump) != 0)
			fail_msg("row %zu:\n got:\n%s want:\n%s", i, text, r->dump);
		policy_free(p);
		ydoc_errs_free(&e);
	}
}

/* ---- rows: policies that do not load ---------------------------------- */

#define POOL "pools:\n  uas:\n    destinations:\n      - uri: sip:127.0.0.1:5080\n"

static const struct err_row {
	const char *yaml;
	const char *lines[MAX_LINES];
} err_rows[] = {
    {"", {"F:1:1: missing required key 'rules'"}},
    {"# nothing\n", {"F:1:1: missing required key 'rules'"}},
    {"- a\n", {"F:1:1: policy: expected a mapping, got a sequence"}},
    {"rules:\n", {"F:1:7: rules: at least one rule is required"}},
    {"rules: []\n", {"F:1:8: rules: at least one rule is required"}},
    {"rules: all\n", {"F:1:8: rules: expected a sequence, got a scalar"}},
    {"rules: [r]\n", {"F:1:9: rule: expected a mapping, got a scalar"}},
    {"pools: [a]\nrules: [{name: r, forward: request-uri}]\n",
     {"F:1:8: pools: expected a mapping, got a sequence"}},
    {"version: 2\nrules: [{name: r, forward: request-uri}]\n", {"F:1:1: unknown key 'version'"}},
    /* references and names */
    {POOL "rules:\n"
          "  - name: default\n"
          "    route: uac\n",
     {"F:2:3: warning: pool 'uas' is not used by any rule", "F:7:12: undefined pool 'uac'"}},
    {POOL "rules:\n"
          "  - name: one\n"
          "    route: uas\n"
          "  - name: two\n"
          "    route: uas\n"
          "  - name: one\n"
          "    forward: request-uri\n"
          "  - name: two\n"
          "    route: uas\n",
     {"F:10:11: duplicate rule name 'one' (first at line 6)",
      "F:12:11: duplicate rule name 'two' (first at line 8)"}},
    {POOL "  uas:\n"
          "    destinations:\n"
          "      - uri: sip:127.0.0.1:5090\n"
          "rules: [{name: r, route: uas}]\n",
     {"F:5:3: duplicate key 'uas' (first at line 2, column 3)"}},
    {"pools:\n"
     "  'a b':\n"
     "    destinations: [{uri: sip:10.0.0.1}]\n"
     "rules:\n"
     "  - name: 'x/y'\n"
     "    route: 'a b'\n"
     "  - name: [x]\n"
     "    route: 'a b'\n",
     {"F:2:3: bad pool name 'a b': use up to 64 letters, digits, '_', '-' or '.'",
      "F:5:11: bad rule name 'x/y': use up to 64 letters, digits, '_', '-' or '.'",
      "F:7:11: rule: expected a value, got a sequence"}},
    /* shape of pools and rules */
    {"pools:\n"
     "  a:\n"
     "    destinations: []\n"
     "  b:\n"
     "    destinations:\n"
     "  c: {}\n"
     "  d:\n"
     "  e:\n"
     "    destinations:\n"
     "      - url: sip:10.0.0.1\n"
     "    algorithm: hash\n"
     "rules:\n"
     "  - {name: a, route: a}\n"
     "  - {name: b, route: b}\n"
     "  - {name: c, route: c}\n"
     "  - {name: d, route: d}\n"
     "  - {name: e, route: e}\n",
     {"F:3:19: pool 'a' has no destinations", "F:5:18: pool 'b' has no destinations",
      "F:6:6: missing required key 'destinations'",
      "F:7:5: pool 'd': expected a mapping, got an empty value", "F:10:9: unknown key 'url'",
      "F:10:9: missing required key 'uri'", "F:11:5: unknown key 'algorithm'"}},
    {POOL "rules:\n"
          "  - name: both\n"
          "    route: uas\n"
          "    forward: request-uri\n"
          "  - name: none\n"
          "  - route: uas\n"
          "    match: {method: INVITE}\n",
     {"F:8:5: only one action per rule: 'route' already given",
      "F:9:5: rule has no action: give one of route, forward",
      "F:10:5: missing required key 'name'", "F:11:5: unknown key 'match'"}},
    /* destination URIs */
    {"pools:\n"
     "  p:\n"
     "    destinations:\n"
     "      - uri: sip:gw.example.com\n"
     "      - uri: 'sip:1.2.3.4:x'\n"
     "      - uri: tel:+15551234\n"
     "      - uri: sip:10.0.0.1;transport=tcp\n"
     "      - uri: sips:10.0.0.1\n"
     "      - uri: sips:10.0.0.1;transport=udp\n"
     "      - uri: sip:10.0.0.1;transport=sctp\n"
     "      - uri: 'sip:[::1'\n"
     "      - uri: http://10.0.0.1/\n"
     "      - uri:\n"
     "      - uri: sip:10.0.0.1\n"
     "      - uri: sip:10.0.0.256\n"
     "      - uri: 'sip:[2001:db8:::192.0.2.1]'\n"
     "rules: [{name: r, route: p}]\n",
     {"F:4:14: destination host must be an IP address until DNS resolution is supported",
      "F:5:14: bad destination URI 'sip:1.2.3.4:x': bad port",
      "F:6:14: destination URI 'tel:+15551234' must be sip: or sips:",
      "F:7:14: destination transport tcp is not supported yet",
      "F:8:14: destination transport tls is not supported yet",
      "F:9:14: destination URI 'sips:10.0.0.1;transport=udp': sips: requires transport tls "
      "or wss",
      "F:10:14: bad destination URI 'sip:10.0.0.1;transport=sctp': unknown transport",
      "F:11:14: bad destination URI 'sip:[::1': bad IPv6 reference",
      "F:12:14: destination URI 'http://10.0.0.1/' must be sip: or sips:",
      "F:13:13: uri: expected a value, got an empty value",
      "F:15:14: bad destination URI 'sip:10.0.0.256': bad host",
      "F:16:14: bad destination URI 'sip:[2001:db8:::192.0.2.1]': bad host"}},
    {"rules:\n"
     "  - name: f\n"
     "    forward: sip:proxy.example.net\n"
     "  - name: g\n"
     "    forward: {uri: sip:10.0.0.1}\n",
     {"F:3:14: destination host must be an IP address until DNS resolution is supported",
      "F:5:14: forward: expected a value, got a mapping"}},
    /* ydoc's refusals and the policy's, together in file order */
    {"pools:\n"
     "  p: &d\n"
     "    destinations: [{uri: sip:10.0.0.1}]\n"
     "rules:\n"
     "  - {name: r, route: q}\n",
     {"F:2:3: warning: pool 'p' is not used by any rule",
      "F:2:6: anchors are not supported ('&d'): write each value where it applies",
      "F:5:22: undefined pool 'q'"}},
    {"rules: [\n",
     {"F:2:1: syntax error: did not find expected node content (while parsing a "
      "flow node at line 2)"}},
};

static void test_err_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		struct policy *p;
		struct ydoc_errs e = {0};
		const char *path = write_file(err_rows[i].yaml);
		int rc = policy_load(path, &p, &e);
		check_lines(&e, err_rows[i].lines, path, i);
		assert_int_equal(rc, SE_ECONFIG);
		assert_null(p);
		ydoc_errs_free(&e);
	}
}

static void test_missing_file(void **state)
{
	(void)state;
	struct policy *p;
	struct ydoc_errs e = {0};
	char path[512];
	snprintf(path, sizeof(path), "%s/none.yaml", tmpdir);
	assert_int_equal(policy_load(path, &p, &e), SE_ECONFIG);
	assert_null(p);
	const char *want[] = {"F: cannot open: No such file or directory", NULL};
	check_lines(&e, want, path, 0);
	ydoc_errs_free(&e);
}

/* Many pools and rules: routes resolve by name search, not a scan per rule. */
static void test_many(void **state)
{
	(void)state;
	size_t n = 5000, cap = n * 160, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "pools:\n");
	for (size_t i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(text + len, cap - len,
		                     "  p%zu:\n    destinations:\n      - uri: sip:10.%zu.%zu.1\n",
		                     i, i / 256, i % 256);
	len += (size_t)snprintf(text + len, cap - len, "rules:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "  - {name: r%zu, route: p%zu}\n", i,
		                        n - 1 - i);
	const char *path = write_file(text);
	free(text);

	struct policy *p;
	struct ydoc_errs e = {0};
	assert_int_equal(policy_load(path, &p, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(p->n_pools, n);
	assert_int_equal(p->n_rules, n);
	for (uint32_t i = 0; i < n; i += 97) {
		const struct policy_rule *r = policy_rule(p, i);
		char want[32];
		snprintf(want, sizeof(want), "p%zu", n - 1 - i);
		assert_string_equal(policy_str(p, policy_pool(p, r->pool)->name), want);
	}
	char sum[64];
	policy_summary(p, sum, sizeof(sum));
	assert_string_equal(sum, "5000 rules, 5000 pools, 5000 destinations");
	policy_free(p);
	ydoc_errs_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),  cmocka_unit_test(test_shipped),
	    cmocka_unit_test(test_relocate), cmocka_unit_test(test_ok_rows),
	    cmocka_unit_test(test_err_rows), cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
