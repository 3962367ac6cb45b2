/*
 * struct shared: everything that lives in the shared arena and that more
 * than one process reads — the root the master creates before fork and
 * every worker inherits at the same address.
 *
 * The runtime part (slots, lifecycle flags) is written by the master and
 * read by workers; the SIP part (transactions, timers, stats) is created
 * by runtime_hooks.shared_init and is opaque here.
 */
#ifndef SE_RUNTIME_SHARED_H
#define SE_RUNTIME_SHARED_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../config/config.h"
#include "../shm/arena.h"
#include "worker_hooks.h"

struct policy_source;
struct pool_shared;

enum slot_state {
	SLOT_EMPTY = 0, /* never started, or given up after a respawn storm */
	SLOT_STARTING,  /* forked, not yet running its loop */
	SLOT_RUNNING,
	SLOT_STOPPING,  /* draining after SIGTERM */
	SLOT_DEAD,      /* exited; the master will respawn it */
};

/* One worker slot. Written by the master (pid, state, restarts, started)
 * and by the slot's worker (state RUNNING/STOPPING, counters); read by all.
 * A slot fills whole cache lines (the master aligns the array), so that a
 * worker counting its datagrams does not slow its neighbours down. */
struct worker_slot {
	_Alignas(64) _Atomic int32_t pid;
	_Atomic uint32_t state;      /* enum slot_state */
	_Atomic uint32_t restarts;   /* respawns of this slot since start */
	_Atomic uint64_t started_ms; /* CLOCK_MONOTONIC ms of the current start */
	_Atomic uint64_t msgs_in;    /* datagrams received */
	_Atomic uint64_t msgs_out;   /* datagrams sent */
	_Atomic uint64_t loop_lag_us; /* last measured event-loop lag */
	_Atomic uint32_t policy_gen; /* policy generation the worker runs */
	_Atomic uint32_t idle;       /* stopping and idle: the worker exits once every
				      * live slot is (any worker may get any message
				      * of a transaction still in flight elsewhere) */
};

struct shared {
	struct arena *arena;
	uint32_t nslots;             /* == config workers */
	struct worker_slot *slots;   /* [nslots] */
	_Atomic uint32_t stopping;   /* 1 once the master got SIGTERM */
	_Atomic uint32_t draining;   /* 1 while `sipedgectl drain` is in force: new
				      * INVITEs and OPTIONS get 503, the rest goes
				      * on; workers keep their slot's idle flag
				      * current (ctl_cmd_drain.c) */
	_Atomic uint32_t generation; /* policy generation, bumped on reload once
				      * policy_src holds its files */
	struct policy_source *_Atomic policy_src; /* the files of that generation
						   * (NULL: the start-up policy,
						   * inherited through fork) */
	_Atomic uint64_t reloads_failed; /* policy reloads refused (SIGHUP or control) */
	_Atomic int64_t policy_loaded_at; /* wall-clock seconds the generation in force
					   * was installed (the master's start for 0) */
	struct pool_shared *pools;   /* pools' live state, blacklist (src/pool) */
	uint64_t start_ms;           /* master start, CLOCK_MONOTONIC ms */
	void *sip;                   /* the SIP layer's shared root (opaque here) */
	_Atomic int32_t log_level;   /* every process's log level (log_share_level) */
};

struct runtime_hooks {
	/* In the master, once, after the arena exists and before fork:
	 * create the SIP layer's shared state and set sh->sip. */
	int (*shared_init)(struct shared *sh, const struct config *cfg);
	struct worker_hooks worker;
};

#endif
