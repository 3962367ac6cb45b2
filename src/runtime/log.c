/*
 * log: the process's logger (see log.h for the line format and why one
 * write(2) per line).
 *
 * This file keeps the only static state of the runtime: the logger is
 * reached from everywhere, including code that has no struct master or
 * struct worker at hand, and it is per process by nature (the prefix
 * names the process).
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int32_t log_local_level = LOG_LV_INFO;
/* Where the level lives: log_local_level, or a cell in the shared arena. */
static _Atomic int32_t *log_level_cell = &log_local_level;
static char log_prefix[32];

static const char *const log_names[] = {
    [LOG_LV_ERROR] = "error",
    [LOG_LV_WARN] = "warn",
    [LOG_LV_INFO] = "info",
    [LOG_LV_DEBUG] = "debug",
};

void log_set_level(int level)
{
	if (level < LOG_LV_ERROR)
		level = LOG_LV_ERROR;
	if (level > LOG_LV_DEBUG)
		level = LOG_LV_DEBUG;
	atomic_store_explicit(log_level_cell, level, memory_order_relaxed);
}

int log_get_level(void)
{
	return atomic_load_explicit(log_level_cell, memory_order_relaxed);
}

const char *log_level_name(int level)
{
	if (level < LOG_LV_ERROR || level > LOG_LV_DEBUG)
		return "?";
	return log_names[level];
}

int log_level_parse(const char *name)
{
	for (int i = LOG_LV_ERROR; i <= LOG_LV_DEBUG; i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	return -EINVAL;
}

void log_set_master(void)
{
	snprintf(log_prefix, sizeof(log_prefix), "[master %ld]", (long)getpid());
}

void log_set_worker(uint32_t slot)
{
	snprintf(log_prefix, sizeof(log_prefix), "[w%u %ld]", slot, (long)getpid());
}

void log_share_level(_Atomic int32_t *cell)
{
	atomic_store_explicit(cell, log_get_level(), memory_order_relaxed);
	log_level_cell = cell;
}

int log_reopen(void)
{
	return 0;
}

/* "2024-05-01T12:00:00.123Z" into buf; returns its length. */
static size_t log_timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
	return n + (m > 0 ? (size_t)m : 0);
}

void log_vwrite(int level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n, room;
	int m;

	if (!log_enabled(level))
		return;
	/* errno is the caller's: a log call between a failing call and the
	 * code that reads errno must not change it. */
	int saved_errno = errno;

	if (log_prefix[0] == '\0')
		log_set_master();
	n = log_timestamp(line, sizeof(line));
	m = snprintf(line + n, sizeof(line) - n, " %s %s: ", log_level_name(level), log_prefix);
	n += (size_t)(m > 0 ? m : 0);

	size_t start = n;
	room = sizeof(line) - n - 1; /* keep one byte for the newline */
	m = vsnprintf(line + n, room + 1, fmt, ap);
	if (m < 0)
		m = 0;
	if ((size_t)m > room) {
		n += room;
		memcpy(line + n - 3, "...", 3);
	} else {
		n += (size_t)m;
	}
	for (size_t i = start; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			line[i] = '?';
	}
	line[n++] = '\n';

	/* One write: a short write to a pipe cannot happen below PIPE_BUF, and
	 * nothing better than dropping the line exists if stderr fails. */
	ssize_t w;
	do {
		w = write(STDERR_FILENO, line, n);
	} while (w < 0 && errno == EINTR);
	errno = saved_errno;
}

void log_write(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(level, fmt, ap);
	va_end(ap);
}
