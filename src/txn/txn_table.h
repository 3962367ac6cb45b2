/*
 * The transaction table: a fixed power-of-two array of buckets in the
 * shared arena, one robust lock per bucket (DESIGN.md "Shared memory";
 * the Kamailio tm h_table idea).
 *
 * A bucket holds an intrusive doubly linked list of transactions whose
 * key hashes to it. Any worker may look up, insert or remove, always under
 * the bucket's lock; the branch that sipedge generates downstream names
 * the bucket, so a response finds its transaction in O(1) from any worker.
 *
 * Lock order: bucket lock, then a timer-wheel lock; never the reverse.
 */
#ifndef SE_TXN_TXN_TABLE_H
#define SE_TXN_TXN_TABLE_H

#include <stdatomic.h>
#include <stdint.h>

#include "../shm/arena.h"
#include "../shm/shlock.h"

/* List link embedded in each transaction. Written under the bucket lock. */
struct tlink {
	struct tlink *next, *prev;
};

struct txn_bucket {
	struct shlock lock;
	struct tlink head;   /* circular list; under lock */
	uint32_t count;      /* entries; under lock */
	uint32_t next_label; /* label of the next insert; under lock */
};

struct txn_table {
	uint32_t mask;          /* nbuckets - 1 */
	_Atomic uint64_t count; /* transactions in the table, all buckets */
	_Atomic uint64_t recovered; /* bucket locks repaired after a dead owner */
	struct txn_bucket b[];
};

/* Create a table of `nbuckets` (a power of two) in permanent arena memory.
 * Returns 0, SE_EINVAL, or SE_ESHMFULL. Master only, before fork. */
int txn_table_create(struct arena *a, uint32_t nbuckets, struct txn_table **out);

static inline uint32_t txn_table_index(const struct txn_table *t, uint64_t hash)
{
	return (uint32_t)hash & t->mask;
}

/* Lock bucket i. A bucket left half-updated by a dead owner is repaired
 * (its list relinked from the forward pointers) before this returns. */
void txn_table_lock(struct txn_table *t, uint32_t i);
void txn_table_unlock(struct txn_table *t, uint32_t i);

/* Insert l into bucket i, return the label it was given. */
uint32_t txn_table_insert_locked(struct txn_table *t, uint32_t i, struct tlink *l);
void txn_table_remove_locked(struct txn_table *t, uint32_t i, struct tlink *l);

#define txn_table_foreach_locked(t, i, it)                                                  \
	for (struct tlink *it = (t)->b[i].head.next; it != &(t)->b[i].head; it = it->next)

#endif
