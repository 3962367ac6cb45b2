/*
 * blacklist: add / check / del with wildcards, defaults and refused input,
 * lazy expiry, eviction of the entry closest to expiry when full, a long
 * random run against a plain array model (removal by backward shift is
 * the part easiest to get wrong), take-over after a process died holding
 * the lock, and several processes adding and removing at once.
 *
 * Children never call cmocka: they report through their exit status and
 * arm alarm() so that a deadlock cannot hang the run.
 */
#include "blacklist.h"

#include "shlock.h"

#include <sipedge/error.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define T0          1000000u
#define CHILD_ALARM 20
#define UDP         1 /* CONFIG_TP_UDP */
#define TCP         2

struct fx {
	struct arena *a;
	struct blacklist *bl;
};

static int setup_cap(void **state, uint32_t cap)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(arena_create(4u << 20, &f->a), 0);
	assert_int_equal(blacklist_create(f->a, cap, &f->bl), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_cap(state, 64);
}

static int setup4(void **state)
{
	return setup_cap(state, 4);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	arena_destroy(f->a);
	free(f);
	return 0;
}

/* An IPv4 or IPv6 address as a sockaddr (its port is not used). Eight
 * rotating buffers: a call's result stays valid for the next seven. */
static const struct sockaddr *ip(const char *text)
{
	static struct sockaddr_in6 sa[8];
	static unsigned next;
	struct sockaddr_in6 *s = &sa[next++ % 8];
	struct sockaddr_in *s4 = (struct sockaddr_in *)s;

	memset(s, 0, sizeof(*s));
	if (strchr(text, ':')) {
		s->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, text, &s->sin6_addr), 1);
	} else {
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, text, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)s;
}

static void test_create(void **state)
{
	(void)state;
	struct arena *a;
	struct blacklist *bl;

	assert_int_equal(arena_create(1u << 20, &a), 0);
	assert_int_equal(blacklist_create(a, 0, &bl), SE_EINVAL);
	assert_int_equal(blacklist_create(a, (1u << 20) + 1, &bl), SE_EINVAL);
	assert_int_equal(blacklist_create(a, 1u << 16, &bl), SE_ENOMEM);
	assert_int_equal(blacklist_create(a, 1, &bl), 0);
	arena_destroy(a);
}

static void test_add_check_del(void **state)
{
	struct fx *f = *state;
	struct blacklist_entry e;

	assert_false(blacklist_check(f->bl, ip("192.0.2.1"), 5060, UDP, T0, &e));
	assert_int_equal(blacklist_add(f->bl, ip("192.0.2.1"), 5060, UDP, 30, 0, NULL, T0), 0);
	memset(&e, 0, sizeof(e));
	assert_true(blacklist_check(f->bl, ip("192.0.2.1"), 5060, UDP, T0, &e));
	assert_int_equal(e.code, 403);
	assert_string_equal(e.reason, "Destination Blacklisted");
	assert_int_equal(e.until_ms, T0 + 30000);
	assert_int_equal(e.added_ms, T0);
	assert_int_equal(e.port, 5060);
	assert_int_equal(e.transport, UDP);
	const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
	assert_memory_equal(e.addr, mapped, 16);
	/* The same address written as IPv4-mapped IPv6. */
	assert_true(blacklist_check(f->bl, ip("::ffff:192.0.2.1"), 5060, UDP, T0, NULL));
	/* Another port, transport or address is not listed. */
	assert_false(blacklist_check(f->bl, ip("192.0.2.1"), 5061, UDP, T0, NULL));
	assert_false(blacklist_check(f->bl, ip("192.0.2.1"), 5060, TCP, T0, NULL));
	assert_false(blacklist_check(f->bl, ip("192.0.2.2"), 5060, UDP, T0, NULL));
	assert_false(blacklist_del(f->bl, ip("192.0.2.1"), 5060, TCP));
	assert_true(blacklist_del(f->bl, ip("192.0.2.1"), 5060, UDP));
	assert_false(blacklist_del(f->bl, ip("192.0.2.1"), 5060, UDP));
	assert_false(blacklist_check(f->bl, ip("192.0.2.1"), 5060, UDP, T0, NULL));
}

/* Port 0 and transport 0 are wildcards; the most specific entry answers. */
static void test_wildcards(void **state)
{
	struct fx *f = *state;
	struct blacklist_entry e;

	assert_int_equal(blacklist_add(f->bl, ip("2001:db8::1"), 0, 0, 30, 480, "any", T0), 0);
	assert_int_equal(blacklist_add(f->bl, ip("2001:db8::1"), 5060, 0, 30, 481, "port", T0), 0);
	assert_int_equal(blacklist_add(f->bl, ip("2001:db8::1"), 0, TCP, 30, 482, "tcp", T0), 0);
	assert_int_equal(blacklist_add(f->bl, ip("2001:db8::1"), 5060, TCP, 30, 483, "exact", T0),
	                 0);
	assert_true(blacklist_check(f->bl, ip("2001:db8::1"), 5060, TCP, T0, &e));
	assert_int_equal(e.code, 483);
	assert_true(blacklist_check(f->bl, ip("2001:db8::1"), 5060, UDP, T0, &e));
	assert_int_equal(e.code, 481);
	assert_true(blacklist_check(f->bl, ip("2001:db8::1"), 7000, TCP, T0, &e));
	assert_int_equal(e.code, 482);
	assert_true(blacklist_check(f->bl, ip("2001:db8::1"), 7000, UDP, T0, &e));
	assert_int_equal(e.code, 480);
	assert_string_equal(e.reason, "any");
	assert_false(blacklist_check(f->bl, ip("2001:db8::2"), 5060, TCP, T0, &e));
}

static void test_refused_input(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	const struct sockaddr *a = ip("198.51.100.7");

	assert_int_equal(blacklist_add(f->bl, (struct sockaddr *)&un, 0, 0, 30, 0, NULL, T0),
	                 SE_EINVAL);
	assert_int_equal(blacklist_add(f->bl, NULL, 0, 0, 30, 0, NULL, T0), SE_EINVAL);
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 0, 0, NULL, T0), SE_EINVAL);
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 30, 200, NULL, T0), SE_EINVAL);
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 30, 700, NULL, T0), SE_EINVAL);
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 30, 0, "Bad\r\nVia: x", T0), SE_EINVAL);
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 30, 0, "del\x7f", T0), SE_EINVAL);
	assert_int_equal(blacklist_list(f->bl, T0, NULL, 0), 0);
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 30, 0, "tab\tis text", T0), 0);
	assert_true(blacklist_del(f->bl, a, 0, 0));
	assert_false(blacklist_check(f->bl, (struct sockaddr *)&un, 0, 0, T0, NULL));
	assert_false(blacklist_del(f->bl, NULL, 0, 0));

	/* A long reason is cut, never overrun. */
	char longr[200];
	memset(longr, 'x', sizeof(longr) - 1);
	longr[sizeof(longr) - 1] = '\0';
	struct blacklist_entry e;
	assert_int_equal(blacklist_add(f->bl, a, 0, 0, 30, 603, longr, T0), 0);
	assert_true(blacklist_check(f->bl, a, 9, 9, T0, &e));
	assert_int_equal(strlen(e.reason), BLACKLIST_REASON_MAX - 1);
	assert_int_equal(e.code, 603);
}

static void test_expiry_and_refresh(void **state)
{
	struct fx *f = *state;
	struct blacklist_entry e[4];

	assert_int_equal(blacklist_add(f->bl, ip("203.0.113.1"), 5060, UDP, 10, 0, NULL, T0), 0);
	assert_int_equal(blacklist_add(f->bl, ip("203.0.113.2"), 5060, UDP, 20, 0, NULL, T0), 0);
	assert_true(blacklist_check(f->bl, ip("203.0.113.1"), 5060, UDP, T0 + 9999, NULL));
	assert_false(blacklist_check(f->bl, ip("203.0.113.1"), 5060, UDP, T0 + 10000, NULL));
	assert_int_equal(blacklist_list(f->bl, T0 + 10000, e, 4), 1);
	assert_int_equal(e[0].until_ms, T0 + 20000);
	/* Refresh: same target, new deadline, code and reason. */
	assert_int_equal(
	    blacklist_add(f->bl, ip("203.0.113.2"), 5060, UDP, 60, 503, "Maintenance", T0 + 15000),
	    0);
	assert_int_equal(blacklist_list(f->bl, T0 + 15000, e, 4), 1);
	assert_int_equal(e[0].until_ms, T0 + 75000);
	assert_int_equal(e[0].code, 503);
	assert_string_equal(e[0].reason, "Maintenance");
	assert_false(blacklist_check(f->bl, ip("203.0.113.2"), 5060, UDP, T0 + 75000, NULL));
	assert_int_equal(blacklist_list(f->bl, T0 + 75000, e, 4), 0);
}

static void test_list_counts_beyond_max(void **state)
{
	struct fx *f = *state;
	struct blacklist_entry e[2];
	char a[32];

	for (int i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		assert_int_equal(blacklist_add(f->bl, ip(a), 0, 0, 100, 0, NULL, T0), 0);
	}
	assert_int_equal(blacklist_list(f->bl, T0, e, 2), 5);
	assert_int_equal(e[0].until_ms, T0 + 100000);
	assert_int_equal(blacklist_list(f->bl, T0, NULL, 0), 5);
}

/* Full: an add drops the expired entries, else the one closest to expiry. */
static void test_full_replaces_soonest(void **state)
{
	struct fx *f = *state;
	char a[32];

	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i + 1);
		assert_int_equal(
		    blacklist_add(f->bl, ip(a), 0, 0, (uint32_t)(50 - i * 10), 0, NULL, T0), 0);
	}
	/* 192.0.2.4 expires first (20 s). */
	assert_int_equal(blacklist_add(f->bl, ip("192.0.2.9"), 0, 0, 100, 0, NULL, T0), 0);
	assert_false(blacklist_check(f->bl, ip("192.0.2.4"), 1, 1, T0, NULL));
	for (int i = 1; i <= 3; i++) {
		snprintf(a, sizeof(a), "192.0.2.%d", i);
		assert_true(blacklist_check(f->bl, ip(a), 1, 1, T0, NULL));
	}
	assert_true(blacklist_check(f->bl, ip("192.0.2.9"), 1, 1, T0, NULL));
	/* At T0 + 30 s, 192.0.2.3 has expired: it goes, nothing live is lost. */
	assert_int_equal(blacklist_add(f->bl, ip("192.0.2.10"), 0, 0, 100, 0, NULL, T0 + 30000), 0);
	assert_int_equal(blacklist_list(f->bl, T0 + 30000, NULL, 0), 4);
	assert_true(blacklist_check(f->bl, ip("192.0.2.2"), 1, 1, T0 + 30000, NULL));
	assert_true(blacklist_check(f->bl, ip("192.0.2.1"), 1, 1, T0 + 30000, NULL));
}

/*
 * 20,000 random adds, deletes and checks on 200 targets in a table of 64,
 * against an array of deadlines; every target is checked after each step
 * of the first 2,000. A removal that breaks a probe chain shows as a
 * listed target that check cannot find.
 */
static void test_random_against_model(void **state)
{
	enum { TARGETS = 200, STEPS = 20000, CAP = 64 };
	struct fx *f = *state;
	uint64_t until[TARGETS] = {0}, seed = 99, now = T0;
	struct sockaddr_in sa[TARGETS];

	for (int i = 0; i < TARGETS; i++) {
		memset(&sa[i], 0, sizeof(sa[i]));
		sa[i].sin_family = AF_INET;
		sa[i].sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i * 977);
	}
	for (int step = 0; step < STEPS; step++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		uint32_t t = (uint32_t)(seed % TARGETS), op = (uint32_t)(seed >> 20) % 4;
		const struct sockaddr *a = (struct sockaddr *)&sa[t];
		uint32_t live = 0;
		for (int i = 0; i < TARGETS; i++)
			live += until[i] > now;
		now += (seed >> 40) % 50;
		if (op <= 1 && (live < CAP || until[t] > now)) {
			uint32_t secs = 1 + (uint32_t)(seed >> 32) % 20;
			assert_int_equal(blacklist_add(f->bl, a, 5060, UDP, secs, 0, NULL, now), 0);
			until[t] = now + secs * 1000ull;
		} else if (op == 2) {
			bool had = blacklist_del(f->bl, a, 5060, UDP);
			/* del does not look at time: an expired entry may remain. */
			assert_true(!(until[t] > now) || had);
			until[t] = 0;
		} else {
			assert_int_equal(blacklist_check(f->bl, a, 5060, UDP, now, NULL),
			                 until[t] > now);
		}
		for (int i = 0; step < 2000 && i < TARGETS; i++)
			assert_int_equal(
			    blacklist_check(f->bl, (struct sockaddr *)&sa[i], 5060, UDP, now, NULL),
			    until[i] > now);
	}
	uint32_t live = 0;
	for (int i = 0; i < TARGETS; i++)
		live += until[i] > now;
	assert_int_equal(blacklist_list(f->bl, now, NULL, 0), live);
}

static int reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* White-box: the lock is the first member of struct blacklist. A process
 * that dies holding it leaves the list usable, entries intact. */
static void test_dead_owner(void **state)
{
	struct fx *f = *state;
	struct shlock *lock = (struct shlock *)(void *)f->bl;

	assert_int_equal(blacklist_add(f->bl, ip("192.0.2.1"), 0, 0, 30, 0, NULL, T0), 0);
	assert_int_equal(blacklist_add(f->bl, ip("192.0.2.2"), 0, 0, 30, 0, NULL, T0), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM);
		_exit(shlock_lock(lock) == 0 ? 0 : 1);
	}
	assert_int_equal(reap(pid), 0);
	assert_true(blacklist_check(f->bl, ip("192.0.2.1"), 5, 5, T0, NULL));
	assert_int_equal(shlock_recovered(lock), 1);
	assert_int_equal(blacklist_list(f->bl, T0, NULL, 0), 2);
	assert_int_equal(blacklist_add(f->bl, ip("192.0.2.3"), 0, 0, 30, 0, NULL, T0), 0);
	assert_true(blacklist_del(f->bl, ip("192.0.2.2"), 0, 0));
	assert_int_equal(blacklist_list(f->bl, T0, NULL, 0), 2);
}

/* Four processes, each adding and removing its own targets while checking
 * the others' stay listed. */
static void test_processes(void **state)
{
	enum { NCHILD = 4, ROUNDS = 3000 };
	struct fx *f = *state;
	pid_t pid[NCHILD];

	assert_int_equal(blacklist_add(f->bl, ip("198.51.100.1"), 0, 0, 3600, 0, NULL, T0), 0);
	for (int c = 0; c < NCHILD; c++) {
		pid[c] = fork();
		assert_true(pid[c] >= 0);
		if (pid[c] != 0)
			continue;
		alarm(CHILD_ALARM);
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int bad = 0;
		for (int r = 0; r < ROUNDS; r++) {
			sa.sin_addr.s_addr =
			    htonl(0x0a000000u | (uint32_t)c << 16 | (uint32_t)(r % 10));
			bad |= blacklist_add(f->bl, (struct sockaddr *)&sa, 5060, UDP, 60, 0, NULL,
			                     T0) != 0;
			bad |= !blacklist_check(f->bl, (struct sockaddr *)&sa, 5060, UDP, T0, NULL);
			bad |= !blacklist_check(f->bl, ip("198.51.100.1"), 1, 1, T0, NULL);
			if (r % 10 == 9)
				for (uint32_t k = 0; k < 10; k++) {
					sa.sin_addr.s_addr =
					    htonl(0x0a000000u | (uint32_t)c << 16 | k);
					bad |= !blacklist_del(f->bl, (struct sockaddr *)&sa, 5060,
					                      UDP);
				}
		}
		_exit(bad);
	}
	for (int c = 0; c < NCHILD; c++)
		assert_int_equal(reap(pid[c]), 0);
	assert_int_equal(blacklist_list(f->bl, T0, NULL, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create),
	    cmocka_unit_test_setup_teardown(test_add_check_del, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wildcards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_and_refresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_counts_beyond_max, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_replaces_soonest, setup4, teardown),
	    cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dead_owner, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
