/*
 * The seam between the process runtime (master, workers, sockets, loop)
 * and the SIP logic that runs inside a worker (transactions, proxy core).
 *
 * The runtime knows nothing of SIP: it receives datagrams, runs a periodic
 * tick, and asks whether the worker is idle before a graceful exit. The
 * proxy registers these hooks; tests register their own.
 */
#ifndef SE_RUNTIME_WORKER_HOOKS_H
#define SE_RUNTIME_WORKER_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct config;
struct worker;
struct listener_rt;

struct worker_hooks {
	/* Once in the worker process after fork, before the first datagram:
	 * per-process state (rng seeding, adopting the slot's timers). */
	int (*start)(struct worker *w);
	/* One received datagram. buf is the worker's receive buffer: valid
	 * only during the call, writable (the hook may edit it in place). */
	void (*recv)(struct worker *w, struct listener_rt *l, char *buf, size_t len,
		     const struct sockaddr *src, socklen_t srclen);
	/* Periodic (every tick_ms(cfg) milliseconds): timers; must do
	 * bounded work per call. */
	void (*tick)(struct worker *w, uint64_t now_ms);
	/* True when the worker holds no transaction still in flight: a
	 * stopping worker exits once idle (or at the drain deadline). */
	bool (*idle)(struct worker *w);
	/* The policy to use from now on (struct policy): after start, and
	 * after each reload the worker compiled. May be NULL. */
	void (*policy)(struct worker *w, const void *policy);
	/* n queued datagrams the kernel refused when they were flushed (err:
	 * the last one's -errno); to be counted. May be NULL. */
	void (*send_failed)(struct worker *w, uint32_t n, int err);
	/* Before exit: release per-process resources. */
	void (*stop)(struct worker *w);
	/* The tick's period for this configuration; NULL: 100 ms. Every
	 * tick that finds the loop asleep costs a wake-up, so it is as long
	 * as the timers allow. */
	uint32_t (*tick_ms)(const struct config *cfg);
};

#endif
