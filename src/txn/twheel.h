/*
 * twheel: a hashed timer wheel in shared memory, one per worker slot.
 *
 * Transactions' timers (RFC 3261 §17: A-K, Timer C §16.6, L/M RFC 6026)
 * live here rather than in a worker's heap, so that a worker restarted in
 * the same slot adopts them. Each transaction embeds one node armed at its
 * earliest deadline; the handler recomputes and re-arms, so a deadline
 * that moves later needs no wheel operation at all.
 *
 * Any process may arm or cancel a node (under the wheel's lock, taken
 * after the bucket lock: see txn_table.h); only the slot's own worker
 * expires nodes, with bounded work per call.
 */
#ifndef SE_TXN_TWHEEL_H
#define SE_TXN_TWHEEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../shm/shlock.h"

#define TWHEEL_SLOTS 1024

struct tnode {
	struct tnode *next, *prev; /* under the wheel lock */
	uint64_t expires;          /* ms, CLOCK_MONOTONIC; under the wheel lock */
	bool armed;                /* under the wheel lock */
};

struct twheel {
	struct shlock lock;
	uint32_t tick_ms;    /* resolution; read-only after init */
	uint32_t count;      /* armed nodes; under lock */
	uint64_t cursor;     /* next tick to expire; under lock */
	_Atomic uint64_t recovered; /* locks repaired after a dead owner */
	struct tnode slot[TWHEEL_SLOTS]; /* list heads; under lock */
};

/* Initialise a wheel (master, before fork). Returns 0 or -errno. */
int twheel_init(struct twheel *w, uint32_t tick_ms, uint64_t now_ms);
void twheel_node_init(struct tnode *n);

/* Arm n to fire at `when` (ms), moving it if armed already. */
void twheel_arm(struct twheel *w, struct tnode *n, uint64_t when);
/* Disarm n if armed. */
void twheel_cancel(struct twheel *w, struct tnode *n);

/* Pop up to `max` nodes whose time has come (expires <= now) into out[];
 * popped nodes are disarmed. Returns how many; call again while it
 * returns max. */
uint32_t twheel_expire(struct twheel *w, uint64_t now, struct tnode **out, uint32_t max);

#endif
