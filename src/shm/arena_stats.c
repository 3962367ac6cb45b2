/*
 * A snapshot of the arena's use, for `sipedgectl stats` and the metrics
 * page. Each class is copied under its own lock and the page counters
 * under the page lock, one lock at a time, so reading stats never holds up
 * more than one class at once; failure counters are atomics read as they
 * stand.
 */
#include "arena_impl.h"

#include <string.h>

static uint64_t recovered_total(const struct arena *a)
{
	uint64_t n = shlock_recovered(&a->page_lock);

	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		n += shlock_recovered(&a->cls[c].lock);
	return n;
}

static int class_stats(struct arena *a, unsigned c, struct arena_class_stats *cs)
{
	struct arena_class *k = &a->cls[c];
	int rc = arena_lock_class(a, c);

	if (rc < 0)
		return rc;
	cs->size = k->size;
	cs->objs_per_slab = k->nobj;
	cs->slab_pages = k->slab_pages;
	cs->slabs = k->nslabs;
	cs->used = k->nused;
	cs->free = k->nfree;
	arena_unlock_class(a, c);
	/* blocks waiting in the workers' caches are free for this purpose */
	uint64_t held = arena_cache_held(a, c);
	held = held < cs->used ? held : cs->used;
	cs->used -= held;
	cs->free += held;
	cs->fail = atomic_load_explicit(&k->fail, memory_order_relaxed);
	return 0;
}

int arena_stats(struct arena *a, struct arena_stats *st)
{
	int rc;

	memset(st, 0, sizeof(*st));
	/* Pages first: if that lock's owner died, its repair may mark classes
	 * for rebuilding, which their locks below then do. */
	if ((rc = arena_lock_pages(a)) < 0)
		return rc;
	st->pages_total = a->npages;
	st->pages_free = a->pages_free;
	st->pages_slab = a->pages_slab;
	st->pages_large = a->pages_large;
	st->pages_perm = a->pages_perm;
	st->large_used = a->large_used;
	st->perm_bytes = a->perm_bytes;
	arena_unlock_pages(a);
	st->nclasses = ARENA_NCLASSES;
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		struct arena_class_stats *cs = &st->cls[c];
		if ((rc = class_stats(a, c, cs)) < 0)
			return rc;
		st->used_bytes += cs->used * cs->size;
		st->free_bytes += cs->free * cs->size;
	}

	st->page_size = ARENA_PAGE_SIZE;
	st->total_bytes = a->size;
	st->meta_bytes = a->size - (size_t)a->npages * ARENA_PAGE_SIZE;
	st->used_bytes += (size_t)st->pages_large * ARENA_PAGE_SIZE + st->perm_bytes;
	st->free_bytes += (size_t)st->pages_free * ARENA_PAGE_SIZE;
	st->large_fail = atomic_load_explicit(&a->large_fail, memory_order_relaxed);
	st->perm_fail = atomic_load_explicit(&a->perm_fail, memory_order_relaxed);
	st->bad_free = atomic_load_explicit(&a->bad_free, memory_order_relaxed);
	st->lock_recovered = recovered_total(a);
	return 0;
}
