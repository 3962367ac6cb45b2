/*
 * udp_sockets: a reuseport group bound in slot order, and the property
 * DESIGN.md asks of it: datagrams from ONE peer spread evenly over the
 * slots' sockets (with either spreading program), where the kernel's
 * default 4-tuple hash pins them all to one socket; and, with the burst
 * program, a burst kept on one socket (one wake-up).
 *
 * Everything is on loopback with an ephemeral port; every wait is bounded
 * by poll() timeouts.
 */
#include "udp_sockets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define MAXN  8
#define BATCH 100

static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (void *)ss;
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*s4);
}

/* Read everything queued on fds[0..n) into counts, waiting up to ms. */
static void drain(const int *fds, uint32_t n, unsigned *counts, unsigned want, int ms)
{
	struct pollfd pfd[MAXN];
	char buf[256];
	unsigned got = 0;

	for (uint32_t i = 0; i < n; i++)
		got += counts[i];
	for (uint32_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	/* Bounded: each round either reads something or waits at most ms. */
	for (int rounds = 0; got < want && rounds < 10000; rounds++) {
		int r = poll(pfd, n, ms);
		if (r <= 0)
			break;
		for (uint32_t i = 0; i < n; i++) {
			while (recv(fds[i], buf, sizeof(buf), 0) > 0) {
				counts[i]++;
				got++;
			}
		}
	}
}

/*
 * Send total datagrams from one source socket to the group's address,
 * draining after each batch so no receive buffer can overflow; fill
 * counts[0..n).
 */
static void send_from_one_peer(const int *fds, uint32_t n, unsigned total, unsigned *counts)
{
	struct sockaddr_storage dst;
	socklen_t dlen = sizeof(dst);

	assert_int_equal(getsockname(fds[0], (struct sockaddr *)&dst, &dlen), 0);
	int src = socket(dst.ss_family, SOCK_DGRAM, 0);
	assert_true(src >= 0);
	memset(counts, 0, n * sizeof(*counts));
	for (unsigned sent = 0; sent < total;) {
		for (unsigned b = 0; b < BATCH && sent < total; b++, sent++) {
			char msg[32];
			int len = snprintf(msg, sizeof(msg), "dgram %u", sent);
			assert_int_equal(
			    sendto(src, msg, (size_t)len, 0, (struct sockaddr *)&dst, dlen), len);
		}
		drain(fds, n, counts, sent, 1000);
	}
	close(src);
}

static int bind_group(int family, uint32_t n, int *fds)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss);
	return udp_sockets_bind((struct sockaddr *)&ss, len, n, fds, NULL);
}

/* The group shares one port, in bind order, with the options asked for. */
static void test_bind_group(void **state)
{
	(void)state;
	int fds[3];
	struct sockaddr_in a[3];

	assert_int_equal(bind_group(AF_INET, 3, fds), 0);
	for (int i = 0; i < 3; i++) {
		socklen_t len = sizeof(a[i]);
		assert_int_equal(getsockname(fds[i], (struct sockaddr *)&a[i], &len), 0);
		assert_int_not_equal(ntohs(a[i].sin_port), 0);
		assert_int_equal(a[i].sin_port, a[0].sin_port);
		assert_true(fcntl(fds[i], F_GETFL) & O_NONBLOCK);
		assert_true(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		int on = 0;
		len = sizeof(on);
		assert_int_equal(getsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &on, &len), 0);
		assert_int_equal(on, 1);
	}
	udp_sockets_close(fds, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fds[i], -1);
}

static void test_bad_args(void **state)
{
	(void)state;
	int fds[1];
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, &ss);

	assert_int_equal(udp_sockets_bind((struct sockaddr *)&ss, len, 0, fds, NULL), -EINVAL);
	ss.ss_family = AF_UNIX;
	assert_int_equal(udp_sockets_bind((struct sockaddr *)&ss, len, 1, fds, NULL), -EINVAL);
	assert_int_equal(udp_sockets_spread(0, NULL, 0), -EINVAL);
	assert_int_equal(udp_sockets_spread_as(0, NULL, 1025, UDP_SPREAD_RANDOM), -EINVAL);
}

/* Attach `how` to the group of fd, or skip the test when this process
 * may not load eBPF (CAP_BPF). */
static void spread_or_skip(int fd, const uint32_t *idx, uint32_t k, enum udp_spread how)
{
	int rc = udp_sockets_spread_as(fd, idx, k, how);
	if (how == UDP_SPREAD_BURSTS && (rc == -EPERM || rc == -EACCES)) {
		print_message("  eBPF not allowed here: skipped\n");
		skip();
	}
	assert_int_equal(rc, 0);
}

/* A port already held without SO_REUSEPORT is refused, nothing leaks. */
static void test_port_taken(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, &ss);
	int holder = socket(AF_INET, SOCK_DGRAM, 0);
	int fds[2] = {7, 7};

	assert_true(holder >= 0);
	assert_int_equal(bind(holder, (struct sockaddr *)&ss, len), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(holder, (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(udp_sockets_bind((struct sockaddr *)&ss, len, 2, fds, "test"),
	                 -EADDRINUSE);
	assert_int_equal(fds[0], -1);
	assert_int_equal(fds[1], -1);
	close(holder);
}

static void check_spread(int family, uint32_t n, unsigned total, double lo, double hi,
                         enum udp_spread how)
{
	int fds[MAXN];
	unsigned counts[MAXN], sum = 0;

	assert_int_equal(bind_group(family, n, fds), 0);
	spread_or_skip(fds[0], NULL, n, how);
	send_from_one_peer(fds, n, total, counts);
	for (uint32_t i = 0; i < n; i++) {
		double share = (double)counts[i] / total;
		print_message("  socket %u: %u of %u (%.1f%%)\n", i, counts[i], total, 100 * share);
		assert_true(share >= lo && share <= hi);
		sum += counts[i];
	}
	assert_int_equal(sum, total);
	udp_sockets_close(fds, n);
}

/* The property: one peer, two slots, each gets a fair share. The burst
 * program draws every 8 datagrams: fewer draws, wider spread, the same
 * bounds (more than 4 standard deviations). */
static void test_spread_two_one_peer(void **state)
{
	(void)state;
	check_spread(AF_INET, 2, 2000, 0.35, 0.65, UDP_SPREAD_RANDOM);
}

static void test_spread_four_one_peer(void **state)
{
	(void)state;
	check_spread(AF_INET, 4, 4000, 0.15, 0.35, UDP_SPREAD_RANDOM);
}

static void test_bursts_two_one_peer(void **state)
{
	(void)state;
	check_spread(AF_INET, 2, 2000, 0.35, 0.65, UDP_SPREAD_BURSTS);
}

static void test_bursts_four_one_peer(void **state)
{
	(void)state;
	check_spread(AF_INET, 4, 4000, 0.15, 0.35, UDP_SPREAD_BURSTS);
}

/*
 * Send `bursts` bursts of `per` datagrams (back to back, under a
 * millisecond) from one peer, 2 ms apart; return how many landed on more
 * than one socket, and in hits[] how many each socket got whole.
 */
static unsigned bursts_split(const int *fds, uint32_t n, unsigned bursts, unsigned per,
                             unsigned *hits)
{
	struct sockaddr_storage dst;
	socklen_t dlen = sizeof(dst);
	unsigned split = 0;

	assert_int_equal(getsockname(fds[0], (struct sockaddr *)&dst, &dlen), 0);
	int src = socket(dst.ss_family, SOCK_DGRAM, 0);
	assert_true(src >= 0);
	memset(hits, 0, n * sizeof(*hits));
	for (unsigned b = 0; b < bursts; b++) {
		unsigned counts[MAXN] = {0};
		for (unsigned i = 0; i < per; i++)
			assert_int_equal(sendto(src, "x", 1, 0, (struct sockaddr *)&dst, dlen), 1);
		drain(fds, n, counts, per, 1000);
		unsigned used = 0, last = 0, sum = 0;
		for (uint32_t i = 0; i < n; i++) {
			sum += counts[i];
			if (counts[i]) {
				used++;
				last = i;
			}
		}
		assert_int_equal(sum, per);
		if (used > 1)
			split++;
		else
			hits[last]++;
		nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
	}
	close(src);
	return split;
}

/* Why the burst program: a burst wakes one worker, not several; and the
 * bursts still go everywhere. Drawn per datagram, nearly every burst of
 * 6 is split (all but 1 in 32), which shows the test can tell. */
static void test_bursts_stay_together(void **state)
{
	(void)state;
	int fds[2];
	unsigned hits[2];

	assert_int_equal(bind_group(AF_INET, 2, fds), 0);
	spread_or_skip(fds[0], NULL, 2, UDP_SPREAD_RANDOM);
	unsigned split = bursts_split(fds, 2, 60, 6, hits);
	print_message("  random: %u of 60 bursts split\n", split);
	assert_true(split >= 40);
	spread_or_skip(fds[0], NULL, 2, UDP_SPREAD_BURSTS);
	split = bursts_split(fds, 2, 60, 6, hits);
	print_message("  bursts: %u of 60 bursts split; whole on socket 0: %u, 1: %u\n", split,
	              hits[0], hits[1]);
	/* a burst is split only when its millisecond ends in its middle */
	assert_true(split <= 6);
	assert_true(hits[0] >= 10 && hits[1] >= 10);
	udp_sockets_close(fds, 2);
}

static void test_spread_ipv6(void **state)
{
	(void)state;
	int probe = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET6, &ss);

	if (probe < 0 || bind(probe, (struct sockaddr *)&ss, len) != 0) {
		if (probe >= 0)
			close(probe);
		skip();
	}
	close(probe);

	int fds[2], v6only = 0;
	assert_int_equal(bind_group(AF_INET6, 2, fds), 0);
	len = sizeof(v6only);
	assert_int_equal(getsockopt(fds[1], IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len), 0);
	assert_int_equal(v6only, 1);
	udp_sockets_close(fds, 2);
	check_spread(AF_INET6, 2, 2000, 0.35, 0.65, UDP_SPREAD_RANDOM);
}

/* Why the program exists: without it, the 4-tuple hash sends one peer's
 * datagrams all to the same socket. */
static void test_default_hash_pins_one_peer(void **state)
{
	(void)state;
	int fds[2];
	unsigned counts[2];

	assert_int_equal(bind_group(AF_INET, 2, fds), 0);
	send_from_one_peer(fds, 2, 2000, counts);
	print_message("  without the program: %u / %u\n", counts[0], counts[1]);
	assert_int_equal(counts[0] + counts[1], 2000);
	assert_true(counts[0] == 0 || counts[1] == 0);
	udp_sockets_close(fds, 2);
}

/* A slot given up is left out: the group spreads over the others only, and
 * widening the set again brings it back. */
static void check_subset(enum udp_spread how)
{
	int fds[3];
	unsigned counts[3];
	const uint32_t live[] = {0, 2};

	assert_int_equal(bind_group(AF_INET, 3, fds), 0);
	spread_or_skip(fds[1], live, 2, how);
	send_from_one_peer(fds, 3, 2000, counts);
	print_message("  over {0, 2}: %u / %u / %u\n", counts[0], counts[1], counts[2]);
	assert_int_equal(counts[1], 0);
	assert_true(counts[0] >= 700 && counts[2] >= 700);
	spread_or_skip(fds[2], NULL, 3, how);
	send_from_one_peer(fds, 3, 3000, counts);
	for (int i = 0; i < 3; i++)
		assert_true(counts[i] >= 700 && counts[i] <= 1300);
	udp_sockets_close(fds, 3);
}

static void test_spread_subset(void **state)
{
	(void)state;
	check_subset(UDP_SPREAD_RANDOM);
}

static void test_bursts_subset(void **state)
{
	(void)state;
	check_subset(UDP_SPREAD_BURSTS);
}

/* The master's call: bind, spread, log. One slot is fine too. */
static void test_open(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, &ss);
	int fds[2];

	assert_int_equal(udp_sockets_open((struct sockaddr *)&ss, len, 1, fds, "udp://test"), 0);
	udp_sockets_close(fds, 1);
	assert_int_equal(udp_sockets_open((struct sockaddr *)&ss, len, 2, fds, "udp://test"), 0);
	unsigned counts[2];
	send_from_one_peer(fds, 2, 400, counts);
	assert_true(counts[0] > 0 && counts[1] > 0);
	udp_sockets_close(fds, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bind_group),
	    cmocka_unit_test(test_bad_args),
	    cmocka_unit_test(test_port_taken),
	    cmocka_unit_test(test_spread_two_one_peer),
	    cmocka_unit_test(test_spread_four_one_peer),
	    cmocka_unit_test(test_bursts_two_one_peer),
	    cmocka_unit_test(test_bursts_four_one_peer),
	    cmocka_unit_test(test_bursts_stay_together),
	    cmocka_unit_test(test_spread_ipv6),
	    cmocka_unit_test(test_default_hash_pins_one_peer),
	    cmocka_unit_test(test_spread_subset),
	    cmocka_unit_test(test_bursts_subset),
	    cmocka_unit_test(test_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
