/*
 * spawn: start a worker process in a slot, and collect the ones that
 * ended (nginx's ngx_process.c split: the master's cycle decides, this
 * file forks and reaps).
 */
#ifndef SE_RUNTIME_SPAWN_H
#define SE_RUNTIME_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "worker.h"

/*
 * Fork a worker into slot wi->slot. The slot is marked STARTING with its
 * start time before the fork (so the worker's own RUNNING can never be
 * overwritten) and gets the child's pid after it.
 *
 * In the child, with every signal blocked: child_prepare(arg) drops what the
 * worker must not inherit from the master (the master's signal watchers:
 * with them in place, a signal to the worker would be reported on the
 * master's loop), then worker_main(wi), which unblocks signals once its
 * own watchers are set and never returns.
 *
 * Returns the child's pid, or -errno from fork (logged; the slot is then
 * DEAD again).
 */
int spawn_worker(const struct worker_init *wi, void (*child_prepare)(void *arg), void *arg);

/*
 * Collect one ended child without blocking. Returns 1 with *pid and
 * *status (as from waitpid) set, 0 when no child has ended, -ECHILD when
 * there are no children left, or another -errno.
 */
int spawn_reap(pid_t *pid, int *status);

/* "exited with status 1", "killed by signal 9 (Killed)", ... into buf. */
const char *spawn_status_text(int status, char *buf, size_t size);

/* CLOCK_MONOTONIC milliseconds: the clock of slots' started_ms. */
uint64_t spawn_now_ms(void);

#endif
