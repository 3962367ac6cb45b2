/*
 * Hashed timer wheel (see twheel.h). TWHEEL_SLOTS lists of tick_ms each;
 * a node lands in the slot of its expiry tick and, when that is more than
 * one revolution away, is passed over until its revolution comes. Expiry
 * walks the ticks from the cursor to now, so a late tick (a busy loop)
 * catches up instead of losing timers.
 */
#include "twheel.h"

#include <stddef.h>

static void wheel_repair(struct twheel *w)
{
	/* Rebuild prev links and the count from the forward chains, as in
	 * txn_table.c: a dead owner leaves at most one link half-set. */
	uint32_t n = 0;
	for (uint32_t i = 0; i < TWHEEL_SLOTS; i++) {
		struct tnode *head = &w->slot[i], *prev = head;
		for (struct tnode *it = head->next; it && it != head; it = it->next) {
			it->prev = prev;
			prev = it;
			n++;
		}
		prev->next = head;
		head->prev = prev;
	}
	w->count = n;
	atomic_fetch_add(&w->recovered, 1);
}

static void wheel_lock(struct twheel *w)
{
	if (shlock_lock(&w->lock) == SHLOCK_RECOVERED)
		wheel_repair(w);
}

int twheel_init(struct twheel *w, uint32_t tick_ms, uint64_t now_ms)
{
	int rc = shlock_init(&w->lock);
	if (rc)
		return rc;
	w->tick_ms = tick_ms ? tick_ms : 1;
	w->count = 0;
	w->cursor = now_ms / w->tick_ms;
	atomic_init(&w->recovered, 0);
	for (uint32_t i = 0; i < TWHEEL_SLOTS; i++)
		w->slot[i].next = w->slot[i].prev = &w->slot[i];
	return 0;
}

void twheel_node_init(struct tnode *n)
{
	n->next = n->prev = n;
	n->expires = 0;
	n->armed = false;
}

static void unlink_locked(struct twheel *w, struct tnode *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
	n->armed = false;
	w->count--;
}

void twheel_arm(struct twheel *w, struct tnode *n, uint64_t when)
{
	wheel_lock(w);
	if (n->armed)
		unlink_locked(w, n);
	uint64_t tick = when / w->tick_ms; /* the node is checked to the ms */
	if (tick < w->cursor)
		tick = w->cursor;
	struct tnode *head = &w->slot[tick % TWHEEL_SLOTS];
	n->expires = when;
	n->next = head;
	n->prev = head->prev;
	head->prev->next = n;
	head->prev = n;
	n->armed = true;
	w->count++;
	shlock_unlock(&w->lock);
}

void twheel_cancel(struct twheel *w, struct tnode *n)
{
	wheel_lock(w);
	if (n->armed)
		unlink_locked(w, n);
	shlock_unlock(&w->lock);
}

uint32_t twheel_expire(struct twheel *w, uint64_t now, struct tnode **out, uint32_t max)
{
	uint32_t k = 0;
	uint64_t nowtick = now / w->tick_ms;
	wheel_lock(w);
	while (w->cursor <= nowtick && k < max) {
		struct tnode *head = &w->slot[w->cursor % TWHEEL_SLOTS];
		struct tnode *it = head->next;
		while (it != head && k < max) {
			struct tnode *next = it->next;
			if (it->expires <= now) {
				unlink_locked(w, it);
				out[k++] = it;
			}
			it = next;
		}
		if (it != head)
			break; /* out is full: finish this tick next call */
		/* never move the cursor past now: nodes armed for this tick
		 * with a later ms must still be found */
		if (w->cursor == nowtick)
			break;
		w->cursor++;
	}
	shlock_unlock(&w->lock);
	return k;
}
