/*
 * cli_conn: blocking I/O on the control socket, bounded by poll() with a
 * deadline, so that a stuck daemon makes sipedgectl fail, not hang.
 */
#include "cli_conn.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "xmem.h"

#define CLI_ANSWER_MAX (64u << 20)

int cli_conn_open(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until the deadline: 0, or -ETIMEDOUT / -errno. */
static int cli_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - cli_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int cli_send_all(int fd, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		int rc = cli_wait(fd, POLLOUT, deadline);
		if (rc != 0)
			return rc;
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_conn_call(int fd, const char *line, size_t len, int timeout_ms, char **out,
		  size_t *out_len)
{
	int64_t deadline = cli_now_ms() + timeout_ms;
	size_t cap = 65536, have = 0;
	int rc = cli_send_all(fd, line, len, deadline);

	if (rc != 0)
		return rc;
	char *buf = xmem_malloc(cap);
	for (;;) {
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = '\0';
			*out = buf;
			*out_len = (size_t)(nl - buf);
			return 0;
		}
		if (have + 1 >= cap) {
			if (cap >= CLI_ANSWER_MAX) {
				free(buf);
				return -EMSGSIZE;
			}
			cap *= 2;
			buf = xmem_realloc(buf, cap);
		}
		if ((rc = cli_wait(fd, POLLIN, deadline)) != 0)
			break;
		ssize_t n = recv(fd, buf + have, cap - have - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			rc = n == 0 ? -ECONNRESET : -errno;
			break;
		}
		have += (size_t)n;
	}
	free(buf);
	return rc;
}
