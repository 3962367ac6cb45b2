/*
 * Transaction table buckets: creation, locking with repair after a dead
 * owner, insert and remove. See txn_table.h.
 */
#include "txn_table.h"

#include <sipedge/error.h>

int txn_table_create(struct arena *a, uint32_t nbuckets, struct txn_table **out)
{
	if (nbuckets == 0 || (nbuckets & (nbuckets - 1)) != 0)
		return SE_EINVAL;
	struct txn_table *t =
		arena_alloc_permanent(a, sizeof(*t) + (size_t)nbuckets * sizeof(struct txn_bucket));
	if (!t)
		return SE_ESHMFULL;
	t->mask = nbuckets - 1;
	atomic_init(&t->count, 0);
	atomic_init(&t->recovered, 0);
	for (uint32_t i = 0; i < nbuckets; i++) {
		struct txn_bucket *b = &t->b[i];
		int rc = shlock_init(&b->lock);
		if (rc)
			return rc;
		b->head.next = b->head.prev = &b->head;
		b->count = 0;
		b->next_label = 1;
	}
	*out = t;
	return 0;
}

/* A writer that died inside insert or remove leaves at most one link
 * half-set. The forward chain is always walkable (both operations set the
 * new node's forward pointer before publishing it), so rebuilding every
 * prev pointer and the count from it restores a consistent list. */
static void bucket_repair(struct txn_bucket *b)
{
	uint32_t n = 0;
	struct tlink *prev = &b->head;
	for (struct tlink *it = b->head.next; it != &b->head && it; it = it->next) {
		it->prev = prev;
		prev = it;
		n++;
	}
	prev->next = &b->head;
	b->head.prev = prev;
	b->count = n;
}

void txn_table_lock(struct txn_table *t, uint32_t i)
{
	if (shlock_lock(&t->b[i].lock) == SHLOCK_RECOVERED) {
		bucket_repair(&t->b[i]);
		atomic_fetch_add(&t->recovered, 1);
	}
}

void txn_table_unlock(struct txn_table *t, uint32_t i)
{
	shlock_unlock(&t->b[i].lock);
}

uint32_t txn_table_insert_locked(struct txn_table *t, uint32_t i, struct tlink *l)
{
	struct txn_bucket *b = &t->b[i];
	l->next = b->head.next;
	l->prev = &b->head;
	b->head.next->prev = l;
	b->head.next = l;
	b->count++;
	atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
	uint32_t label = b->next_label++;
	if (b->next_label == 0)
		b->next_label = 1;
	return label;
}

void txn_table_remove_locked(struct txn_table *t, uint32_t i, struct tlink *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->next = l->prev = l;
	t->b[i].count--;
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
}
