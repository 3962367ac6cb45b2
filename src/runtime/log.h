/*
 * log: leveled, one-line-per-event logging to stderr, for the master and
 * every worker.
 *
 * A line is `<ISO-8601 UTC time> <level> [master|wN pid]: message`. Each
 * line is formatted in a buffer and written with a single write(2) of at
 * most PIPE_BUF bytes, so lines of different processes sharing stderr (a
 * pipe to journald, a terminal, a file opened O_APPEND) never interleave.
 * Longer messages are cut and end in "...". Control characters in a
 * message (a peer's bytes quoted in it, say) are written as '?' so one
 * event stays one line.
 *
 * The level is per process until log_share_level() moves it into shared
 * memory; from then on a change made by any process (the control socket in
 * the master) applies to every worker at once.
 */
#ifndef SE_RUNTIME_LOG_H
#define SE_RUNTIME_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Same order and values as enum config_log_level (master.c asserts it). */
enum log_level {
	LOG_LV_ERROR = 0,
	LOG_LV_WARN,
	LOG_LV_INFO,
	LOG_LV_DEBUG,
};

/* Longest line written, newline included: one atomic write to a pipe. */
#define LOG_LINE_MAX 4096

/* Set the least severe level written (clamped to ERROR..DEBUG). */
void log_set_level(int level);
int log_get_level(void);
static inline bool log_enabled(int level)
{
	return level <= log_get_level();
}

/* "error", "warn", "info", "debug"; "?" for anything else. */
const char *log_level_name(int level);
/* The inverse of log_level_name; -EINVAL for an unknown name. */
int log_level_parse(const char *name);

/* The per-process prefix: "[master PID]" or "[wSLOT PID]". Call right after
 * fork in a worker; the pid is read here, once. */
void log_set_master(void);
void log_set_worker(uint32_t slot);

/* Keep the level in *cell (in the shared arena) from now on, starting with
 * the current level. The cell must outlive every later log call. */
void log_share_level(_Atomic int32_t *cell);

/* SIGUSR1: reopen the log file. Logging goes to stderr, which is not ours
 * to reopen (the service manager owns it), so this is 0 and nothing more;
 * it exists so that logrotate's postrotate hook already has a target. */
int log_reopen(void);

void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vwrite(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define log_error(...) log_write(LOG_LV_ERROR, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LV_WARN, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LV_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_enabled(LOG_LV_DEBUG))                                                     \
			log_write(LOG_LV_DEBUG, __VA_ARGS__);                                      \
	} while (0)

#endif
