/*
 * react (src/pool/react.c): reactions loaded from a policy file, as
 * shared-memory blobs.
 *
 * The reactions come from the real loader (policy_load), so the tests
 * cover what an operator writes, end to end: the blob's contents, its
 * identity (the same text gives the same key in every load, any change
 * another), react_match for every event (each condition, first match
 * wins), and the shared table: create and find, a missing record, a full
 * table, a full arena, and pool_bind binding every rule and pool.
 */
#include "pool.h"
#include "react.h"

#include <sipedge/error.h>
#include <sipedge/ierr.h>

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "yaml_case.h"

YAML_CASE_TMPDIR("test_react")

/* The policy under test; "%s" is the provisional relay's code. Rule
 * `carriers` has reactions for every event, pool `carriers` has its own,
 * rule `plain` none. */
static const char policy_fmt[] =
    "lists:\n"
    "  internal: [10.1.0.0/16, 192.168.0.0/16]\n"
    "pools:\n"
    "  carriers:\n"
    "    destinations: [sip:192.0.2.10]\n"
    "    on:\n"
    "      error:\n"
    "        - ids: [no_dns]\n"
    "          reply: {code: 503, reason: No Route}\n"
    "rules:\n"
    "  - name: carriers\n"
    "    match: {method: INVITE}\n"
    "    route: carriers\n"
    "    on:\n"
    "      provisional:\n"
    "        - codes: [183]\n"
    "          relay: {code: %s, reason: Ringing}\n"
    "          headers: {remove: [P-Early-Media], add: {X-Early: \"no\"}}\n"
    "        - codes: [181, 182]\n"
    "          drop: true\n"
    "      success:\n"
    "        - codes: [200]\n"
    "          headers: {add: {X-Carrier: a}}\n"
    "      failure:\n"
    "        - codes: [404, 484, 6xx]\n"
    "          relay: true\n"
    "        - codes: [403]\n"
    "          failover: true\n"
    "          blacklist: {seconds: 60, code: 403, reason: Carrier Refused}\n"
    "        - codes: [486]\n"
    "          reply: {code: 600, reason: Busy Everywhere}\n"
    "      invite-timeout:\n"
    "        - failover: true\n"
    "      target:\n"
    "        - ip: [10.0.0.0/8, internal]\n"
    "          port: 5060\n"
    "          transport: udp\n"
    "          abort: true\n"
    "        - ip: [198.51.100.0/24, \"2001:db8::/32\"]\n"
    "          skip: true\n"
    "          blacklist: {seconds: 30}\n"
    "        - ip: [10.0.0.0/8]\n"
    "          transport: tcp\n"
    "          skip: true\n"
    "        - log: true\n"
    "      error:\n"
    "        - ids: [client_timeout, connection_error]\n"
    "          failover: true\n"
    "  - name: plain\n"
    "    route: carriers\n";

static struct policy *load(const char *relay_code)
{
	char text[sizeof(policy_fmt) + 16];
	snprintf(text, sizeof(text), policy_fmt, relay_code);
	const char *path = yaml_case_write(tmpdir, "policy.yaml", text);
	struct policy *p = NULL;
	struct ydoc_errs e = {0};
	int rc = policy_load(path, NULL, &p, &e);
	ydoc_errs_print(&e, stderr);
	assert_int_equal(rc, 0);
	assert_int_equal(e.n, 0);
	ydoc_errs_free(&e);
	return p;
}

/* rule 0 `carriers`, pool 0 `carriers` */
static struct policy_reactions *rule_on(struct policy *p)
{
	return &p->rules[0].on;
}

static struct policy_reactions *pool_on(struct policy *p)
{
	return &p->pools[0].on;
}

/* ---- blobs ------------------------------------------------------------------ */

static void test_blob_contents(void **state)
{
	(void)state;
	struct policy *p = load("180");
	uint64_t key = 0;
	struct react_blob *b = react_blob_build(rule_on(p), &key);
	assert_non_null(b);
	assert_int_equal(b->n, rule_on(p)->n);
	assert_int_equal(b->n, 12);
	assert_true(b->size >= sizeof(*b) + b->n * sizeof(b->items[0]));

	/* provisional relay: code, reason, header edits as offsets */
	const struct react_item *it = &b->items[0];
	assert_int_equal(it->event, PE_PROVISIONAL);
	assert_int_equal(it->action, PR_RELAY);
	assert_int_equal(it->code, 180);
	assert_string_equal(react_str(b, it->reason), "Ringing");
	assert_int_equal(it->n_hdrs, 2);
	const struct react_hdr *h = react_hdrs(b, it);
	assert_int_equal(h[0].op, PH_REMOVE);
	assert_string_equal(react_str(b, h[0].name), "P-Early-Media");
	assert_null(react_str(b, h[0].value));
	assert_int_equal(h[1].op, PH_ADD);
	assert_string_equal(react_str(b, h[1].name), "X-Early");
	assert_string_equal(react_str(b, h[1].value), "no");
	assert_int_equal(it->line, 16);

	/* failover with a blacklist */
	it = &b->items[4];
	assert_int_equal(it->event, PE_FAILURE);
	assert_int_equal(it->action, PR_FAILOVER);
	assert_int_equal(it->bl_seconds, 60);
	assert_int_equal(it->bl_code, 403);
	assert_string_equal(react_str(b, it->bl_reason), "Carrier Refused");
	assert_null(react_hdrs(b, it));

	/* the first target: its list and the named one flattened */
	it = &b->items[7];
	assert_int_equal(it->event, PE_TARGET);
	assert_int_equal(it->action, PR_ABORT);
	assert_int_equal(it->code, 403);
	assert_null(react_str(b, it->reason));
	assert_int_equal(it->n_cidrs, 3);
	assert_int_equal(it->port, 5060);
	assert_int_equal(it->transport, CONFIG_TP_UDP);
	const struct policy_cidr *c = (const void *)((const char *)b + it->cidrs);
	assert_int_equal(c[0].bits, 96 + 8);
	assert_int_equal(c[1].bits, 96 + 16);
	assert_int_equal(c[2].bits, 96 + 16);
	assert_int_equal(c[2].addr[12], 192);

	/* every offset stays inside the blob */
	for (uint32_t i = 0; i < b->n; i++) {
		it = &b->items[i];
		assert_true(it->reason < b->size && it->bl_reason < b->size);
		assert_true(it->cidrs + it->n_cidrs * sizeof(struct policy_cidr) <= b->size);
		assert_true(it->hdrs + it->n_hdrs * sizeof(struct react_hdr) <= b->size);
	}
	free(b);

	/* nothing to store: no blob */
	assert_null(react_blob_build(&p->rules[1].on, &key));
	assert_null(react_blob_build(NULL, &key));
	policy_free(p);
}

/* The same text gives the same bytes and key in every load (every
 * process compiles the policy itself); one changed value another key. */
static void test_blob_identity(void **state)
{
	(void)state;
	struct policy *a = load("180"), *b = load("180"), *c = load("181");
	uint64_t ka = 0, kb = 0, kc = 0, kpa = 0, kpc = 0;
	struct react_blob *ba = react_blob_build(rule_on(a), &ka);
	struct react_blob *bb = react_blob_build(rule_on(b), &kb);
	struct react_blob *bc = react_blob_build(rule_on(c), &kc);
	struct react_blob *pa = react_blob_build(pool_on(a), &kpa);
	struct react_blob *pc = react_blob_build(pool_on(c), &kpc);

	assert_true(ka != 0 && kc != 0);
	assert_true(ka == kb);
	assert_int_equal(ba->size, bb->size);
	assert_memory_equal(ba, bb, ba->size);
	assert_true(ka != kc);
	assert_true(ka != kpa);
	/* the pool's text did not change */
	assert_true(kpa == kpc);
	free(ba);
	free(bb);
	free(bc);
	free(pa);
	free(pc);
	policy_free(a);
	policy_free(b);
	policy_free(c);
}

/* ---- matching ------------------------------------------------------------------ */

/* The index of it in b, or -1 for none. */
static int idx(const struct react_blob *b, const struct react_item *it)
{
	return it ? (int)(it - b->items) : -1;
}

static int on_code(const struct react_blob *b, uint8_t event, uint16_t code)
{
	struct react_event ev = {.event = event, .code = code};
	return idx(b, react_match(b, &ev));
}

static int on_ierr(const struct react_blob *b, int ierr)
{
	struct react_event ev = {.event = PE_ERROR, .ierr = ierr};
	return idx(b, react_match(b, &ev));
}

static int on_target(const struct react_blob *b, const char *ip, uint16_t port, uint8_t tp)
{
	struct sockaddr_storage ss = {0};
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
	struct react_event ev = {
	    .event = PE_TARGET, .addr = (struct sockaddr *)&ss, .port = port, .transport = tp};
	return idx(b, react_match(b, &ev));
}

static void test_match_responses(void **state)
{
	(void)state;
	struct policy *p = load("180");
	uint64_t key;
	struct react_blob *b = react_blob_build(rule_on(p), &key);

	/* provisional: by code; none for the others */
	assert_int_equal(on_code(b, PE_PROVISIONAL, 183), 0);
	assert_int_equal(on_code(b, PE_PROVISIONAL, 181), 1);
	assert_int_equal(on_code(b, PE_PROVISIONAL, 182), 1);
	assert_int_equal(on_code(b, PE_PROVISIONAL, 180), -1);
	/* success */
	assert_int_equal(on_code(b, PE_SUCCESS, 200), 2);
	assert_int_equal(on_code(b, PE_SUCCESS, 202), -1);
	/* failure: codes and classes; the event must be the item's */
	assert_int_equal(on_code(b, PE_FAILURE, 404), 3);
	assert_int_equal(on_code(b, PE_FAILURE, 603), 3);
	assert_int_equal(on_code(b, PE_FAILURE, 403), 4);
	assert_int_equal(on_code(b, PE_FAILURE, 486), 5);
	assert_int_equal(on_code(b, PE_FAILURE, 500), -1);
	assert_int_equal(on_code(b, PE_FAILURE, 183), -1);
	assert_int_equal(on_code(b, PE_PROVISIONAL, 404), -1);
	/* invite-timeout: no condition */
	assert_int_equal(on_code(b, PE_INVITE_TIMEOUT, 0), 6);
	assert_int_equal(b->items[6].action, PR_FAILOVER);
	/* no blob, no reaction */
	struct react_event ev = {.event = PE_FAILURE, .code = 404};
	assert_null(react_match(NULL, &ev));
	free(b);
	policy_free(p);
}

static void test_match_target(void **state)
{
	(void)state;
	struct policy *p = load("180");
	uint64_t key;
	struct react_blob *b = react_blob_build(rule_on(p), &key);

	/* 7: 10/8 or internal, port 5060, udp: abort */
	assert_int_equal(on_target(b, "10.1.2.3", 5060, CONFIG_TP_UDP), 7);
	assert_int_equal(on_target(b, "192.168.5.5", 5060, CONFIG_TP_UDP), 7);
	/* another port or transport: the next that holds */
	assert_int_equal(on_target(b, "10.1.2.3", 5060, CONFIG_TP_TCP), 9);
	assert_int_equal(on_target(b, "10.1.2.3", 5070, CONFIG_TP_UDP), 10);
	assert_int_equal(on_target(b, "192.168.5.5", 5061, CONFIG_TP_TCP), 10);
	/* 8: 198.51.100.0/24 or 2001:db8::/32, any port and transport */
	assert_int_equal(on_target(b, "198.51.100.9", 5060, CONFIG_TP_UDP), 8);
	assert_int_equal(on_target(b, "2001:db8::1", 5080, CONFIG_TP_TLS), 8);
	assert_int_equal(b->items[8].action, PR_SKIP);
	assert_int_equal(b->items[8].bl_seconds, 30);
	/* prefix edges */
	assert_int_equal(on_target(b, "198.51.101.1", 5060, CONFIG_TP_UDP), 10);
	assert_int_equal(on_target(b, "2001:db9::1", 5060, CONFIG_TP_UDP), 10);
	assert_int_equal(on_target(b, "11.0.0.1", 5060, CONFIG_TP_UDP), 10);
	/* an IPv4 prefix does not hold an IPv6 address, even ::ffff:0:0/96's
	 * neighbours */
	assert_int_equal(on_target(b, "::a01:203", 5060, CONFIG_TP_UDP), 10);
	/* 10: the catch-all, with its log line */
	assert_int_equal(b->items[10].action, PR_CONTINUE);
	assert_true(b->items[10].log);
	free(b);
	policy_free(p);
}

static void test_match_error(void **state)
{
	(void)state;
	struct policy *p = load("180");
	uint64_t key, pkey;
	struct react_blob *b = react_blob_build(rule_on(p), &key);
	struct react_blob *pb = react_blob_build(pool_on(p), &pkey);

	assert_int_equal(on_ierr(b, SE_IERR_CLIENT_TIMEOUT), 11);
	assert_int_equal(on_ierr(b, SE_IERR_CONNECTION_ERROR), 11);
	assert_int_equal(on_ierr(b, SE_IERR_NO_DNS), -1);
	assert_int_equal(on_ierr(b, -1), -1);
	assert_int_equal(on_ierr(b, 40), -1);
	/* the pool's answer a rule has none for (the proxy tries the rule's
	 * blob, then the pool's) */
	assert_int_equal(on_ierr(pb, SE_IERR_NO_DNS), 0);
	assert_int_equal(pb->items[0].code, 503);
	assert_string_equal(react_str(pb, pb->items[0].reason), "No Route");
	assert_int_equal(on_ierr(pb, SE_IERR_CLIENT_TIMEOUT), -1);
	free(b);
	free(pb);
	policy_free(p);
}

/* An item without ids holds for every error, known or not. */
static void test_match_any_error(void **state)
{
	(void)state;
	struct policy_react r = {.event = PE_ERROR, .action = PR_FAILOVER, .line = 1};
	struct policy_reactions on = {.v = &r, .n = 1, .state = POLICY_NONE};
	uint64_t key;
	struct react_blob *b = react_blob_build(&on, &key);
	assert_int_equal(on_ierr(b, SE_IERR_NO_DNS), 0);
	assert_int_equal(on_ierr(b, -1), 0);
	assert_int_equal(on_code(b, PE_FAILURE, 500), -1);
	free(b);
}

/* ---- the shared table ------------------------------------------------------------- */

static void test_bind(void **state)
{
	(void)state;
	struct arena *a;
	struct react_table *t;
	const char *why = NULL;
	assert_int_equal(arena_create(1u << 20, &a), 0);
	assert_int_equal(react_table_create(a, 0, &t), SE_EINVAL);
	assert_int_equal(react_table_create(a, 3, &t), 0); /* rounded up to 4 */

	struct policy *p1 = load("180"), *p2 = load("180"), *p3 = load("181");
	/* the master creates; state is its record */
	assert_int_equal(react_bind(t, a, rule_on(p1), true, &why), 0);
	uint32_t st = rule_on(p1)->state;
	assert_true(st != POLICY_NONE);
	uint64_t key;
	struct react_blob *fresh = react_blob_build(rule_on(p1), &key);
	assert_true(rule_on(p1)->key == key);
	const struct react_blob *stored = react_get(t, st);
	assert_non_null(stored);
	assert_ptr_not_equal(stored, fresh);
	assert_memory_equal(stored, fresh, fresh->size);
	free(fresh);
	/* binding again, in the master or a worker: the same record */
	assert_int_equal(react_bind(t, a, rule_on(p1), true, &why), 0);
	assert_int_equal(rule_on(p1)->state, st);
	assert_int_equal(react_bind(t, a, rule_on(p2), false, &why), 0);
	assert_int_equal(rule_on(p2)->state, st);
	/* a worker cannot create */
	why = NULL;
	assert_int_equal(react_bind(t, a, rule_on(p3), false, &why), SE_ENOENT);
	assert_int_equal(rule_on(p3)->state, POLICY_NONE);
	assert_non_null(why);
	assert_non_null(strstr(why, "no shared record for reactions at line 16"));
	/* no reactions: no record, nothing to do */
	assert_int_equal(react_bind(t, a, &p1->rules[1].on, false, &why), 0);
	assert_int_equal(p1->rules[1].on.state, POLICY_NONE);
	assert_null(react_get(t, POLICY_NONE));

	/* 4 records: p1's rule, p3's rule, the pool; then a 4th and a 5th */
	assert_int_equal(react_bind(t, a, rule_on(p3), true, &why), 0);
	assert_true(rule_on(p3)->state != st);
	assert_int_equal(react_bind(t, a, pool_on(p1), true, &why), 0);
	struct policy *p4 = load("182"), *p5 = load("183");
	assert_int_equal(react_bind(t, a, rule_on(p4), true, &why), 0);
	why = NULL;
	assert_int_equal(react_bind(t, a, rule_on(p5), true, &why), SE_ENOSPC);
	assert_non_null(why);
	assert_non_null(strstr(why, "too many distinct reactions for the shared table (4)"));
	/* what is stored stays findable */
	assert_int_equal(react_bind(t, a, rule_on(p2), false, &why), 0);
	assert_int_equal(rule_on(p2)->state, st);

	policy_free(p1);
	policy_free(p2);
	policy_free(p3);
	policy_free(p4);
	policy_free(p5);
	arena_destroy(a);
}

/* The arena is short: counted as ESHMFULL, the table unchanged. */
static void test_bind_arena_full(void **state)
{
	(void)state;
	struct arena *a;
	struct react_table *t;
	const char *why = NULL;
	assert_int_equal(arena_create(256u << 10, &a), 0);
	assert_int_equal(react_table_create(a, 8, &t), 0);
	while (arena_alloc_permanent(a, 4096))
		;
	while (arena_alloc_permanent(a, 16))
		;
	struct policy *p = load("180");
	assert_int_equal(react_bind(t, a, rule_on(p), true, &why), SE_ESHMFULL);
	assert_non_null(strstr(why, "shared memory full storing reactions at line 16"));
	assert_int_equal(rule_on(p)->state, POLICY_NONE);
	assert_int_equal(react_bind(t, a, rule_on(p), false, &why), SE_ENOENT);
	policy_free(p);
	arena_destroy(a);
}

/* pool_bind binds every rule's and pool's reactions with the rest. */
static void test_pool_bind(void **state)
{
	(void)state;
	struct arena *a;
	struct pool_shared *ps, *none;
	const char *why = NULL;
	assert_int_equal(arena_create(4u << 20, &a), 0);
	struct pool_caps caps = {.dests = 16, .pools = 4, .rules = 16, .reacts = 8};
	assert_int_equal(pool_shared_create(a, &caps, &ps), 0);

	struct policy *p = load("180"), *w = load("180");
	assert_int_equal(pool_bind(ps, p, true, &why), 0);
	assert_true(rule_on(p)->state != POLICY_NONE);
	assert_true(pool_on(p)->state != POLICY_NONE);
	assert_true(rule_on(p)->state != pool_on(p)->state);
	assert_int_equal(p->rules[1].on.state, POLICY_NONE);
	assert_non_null(react_get(ps->reacts, rule_on(p)->state));
	/* a worker's own compilation finds the same records */
	assert_int_equal(pool_bind(ps, w, false, &why), 0);
	assert_int_equal(rule_on(w)->state, rule_on(p)->state);
	assert_int_equal(pool_on(w)->state, pool_on(p)->state);
	policy_free(w);

	/* a daemon without a reactions table refuses a policy with some */
	caps.reacts = 0;
	assert_int_equal(pool_shared_create(a, &caps, &none), 0);
	assert_null(none->reacts);
	why = NULL;
	assert_int_equal(pool_bind(none, p, true, &why), SE_ENOSPC);
	assert_string_equal(why, "this daemon keeps no shared reactions table");
	policy_free(p);
	arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blob_contents),
	    cmocka_unit_test(test_blob_identity),
	    cmocka_unit_test(test_match_responses),
	    cmocka_unit_test(test_match_target),
	    cmocka_unit_test(test_match_error),
	    cmocka_unit_test(test_match_any_error),
	    cmocka_unit_test(test_bind),
	    cmocka_unit_test(test_bind_arena_full),
	    cmocka_unit_test(test_pool_bind),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
