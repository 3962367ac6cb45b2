/*
 * spawn: fork a worker into its slot, and reap ended children.
 *
 * Signals stay blocked across fork in both processes, for two reasons: the
 * child inherits libuv's signal handler, which would forward a signal to
 * the master's loop through an inherited pipe until the child has dropped
 * the master's watchers; and a SIGTERM that arrives before the worker's
 * own watcher exists must wait for it rather than kill the worker with
 * the default action, which the master would take for a crash.
 */
#include "spawn.h"

#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t spawn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int spawn_worker(const struct worker_init *wi, void (*child_prepare)(void *arg), void *arg)
{
	struct worker_slot *slot = &wi->sh->slots[wi->slot];
	sigset_t all, old;

	atomic_store(&slot->state, SLOT_STARTING);
	atomic_store(&slot->started_ms, spawn_now_ms());
	atomic_store(&slot->pid, 0);
	/* Whatever stdio buffered must not be written twice, by both. */
	fflush(NULL);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);

	pid_t pid = fork();
	if (pid == 0) {
		if (child_prepare)
			child_prepare(arg);
		worker_main(wi);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		atomic_store(&slot->state, SLOT_DEAD);
		log_error("fork() for w%u: %s", wi->slot, strerror(err));
		return -err;
	}
	atomic_store(&slot->pid, (int32_t)pid);
	return (int)pid;
}

int spawn_reap(pid_t *pid, int *status)
{
	pid_t p;

	do {
		p = waitpid(-1, status, WNOHANG);
	} while (p < 0 && errno == EINTR);
	if (p < 0)
		return -errno;
	if (p == 0)
		return 0;
	*pid = p;
	return 1;
}

const char *spawn_status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		snprintf(buf, size, "killed by signal %d (%s)%s", sig, strsignal(sig),
		         WCOREDUMP(status) ? ", core dumped" : "");
	} else {
		snprintf(buf, size, "ended with wait status 0x%x", (unsigned)status);
	}
	return buf;
}
