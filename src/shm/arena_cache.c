/*
 * Per-slot object caches: small blocks a worker allocates and frees
 * without taking a class lock.
 *
 * Every worker allocates and frees a few dozen blocks per call, of a few
 * size classes; through the class locks alone, each of those operations
 * moves the lock's and the class's cache lines from the other core, which
 * costs more than the allocation itself once two workers run. So each
 * worker slot has, in the arena, a small stack of free blocks per class
 * that only the process bound to the slot touches: a miss takes a batch
 * from the class under one lock, a full stack gives its older half back
 * under one lock. Blocks in a cache are in use as far as the slabs are
 * concerned (arena_check is unchanged); arena_stats counts them as free.
 *
 * Only the bound thread of the bound process uses its slot's cache (the
 * binding is thread-local: a libuv pool thread takes the locked path).
 * A process killed between writing an entry and its count loses at most
 * that one block (and a batch in flight under the class lock, which the
 * lock's recovery cannot know of); the worker respawned into the slot
 * binds to the same cache and carries on with what is in it.
 *
 * A second free is still refused (bad_free), as without caches: a block
 * given back to its slab has its bit clear in the slab's bitmap (read
 * without the lock: no one else writes that bit while the block is ours);
 * a block in a cache carries a tag in its first 8 bytes (its address mixed
 * with a secret drawn when the caches are made), written when it comes in
 * and wiped when it leaves, which the locked path of arena_free checks
 * too (a process with no cache freeing a cached block). A live block whose
 * first bytes happen to equal its tag (a 2^-64 chance for data that cannot
 * know the secret) would be refused and leak. Two processes freeing the
 * same block at the same instant can both pass: that race is not caught.
 */
#include "arena_impl.h"

#include <sipedge/error.h>

#include <string.h>
#include <sys/random.h>
#include <time.h>

#define CACHE_BYTES (8u * 1024u) /* at most per class per slot */

static _Thread_local struct arena_cache *bound;
static _Thread_local const struct arena *bound_arena;

/* Blocks of class c a cache may hold: ARENA_CACHE_DEPTH, fewer for big
 * classes: 8 KiB per class and slot at most (one block of the largest
 * class), some 150 KiB per slot in all, which only that slot can use. */
static uint32_t depth(const struct arena *a, unsigned c)
{
	uint32_t d = CACHE_BYTES / a->cls[c].size;
	d = d ? d : 1;
	return d < ARENA_CACHE_DEPTH ? d : ARENA_CACHE_DEPTH;
}

static uint64_t tag_of(const struct arena *a, const void *p)
{
	return (uint64_t)(uintptr_t)p ^ a->cache_secret;
}

bool arena_cache_tagged(const struct arena *a, const void *p)
{
	uint64_t was;
	memcpy(&was, p, sizeof(was));
	return a->caches && was == tag_of(a, p);
}

int arena_caches_create(struct arena *a, uint32_t nslots)
{
	if (nslots == 0 || nslots > ARENA_CACHE_SLOTS_MAX || a->caches)
		return SE_EINVAL;
	struct arena_cache *k = arena_alloc_permanent(a, (size_t)nslots * sizeof(*k));
	if (!k)
		return SE_ENOMEM;
	memset(k, 0, (size_t)nslots * sizeof(*k));
	uint64_t secret;
	if (getrandom(&secret, sizeof(secret), GRND_NONBLOCK) != sizeof(secret))
		secret = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uintptr_t)k;
	a->cache_secret = secret | 1;
	a->ncaches = nslots;
	ARENA_ORDER();
	a->caches = k;
	return 0;
}

void arena_cache_bind(struct arena *a, uint32_t slot)
{
	bound_arena = a;
	bound = a && a->caches && slot < a->ncaches ? &a->caches[slot] : NULL;
}

struct arena_cache *arena_cache_mine(const struct arena *a)
{
	return bound && bound_arena == a ? bound : NULL;
}

void *arena_cache_alloc(struct arena *a, struct arena_cache *k, unsigned c)
{
	uint32_t n = atomic_load_explicit(&k->n[c], memory_order_relaxed);
	uint32_t want = depth(a, c) / 2 ? depth(a, c) / 2 : 1;
	if (n == 0) { /* a batch from the class, under one lock */
		if (arena_lock_class(a, c) < 0) {
			atomic_fetch_add_explicit(&a->cls[c].fail, 1, memory_order_relaxed);
			return NULL;
		}
		while (n < want) {
			void *p = arena_slab_alloc_locked(a, c);
			if (!p)
				break;
			uint64_t tag = tag_of(a, p);
			memcpy(p, &tag, sizeof(tag));
			k->obj[c][n] = p;
			ARENA_ORDER();
			atomic_store_explicit(&k->n[c], ++n, memory_order_relaxed);
		}
		arena_unlock_class(a, c);
	}
	if (n == 0)
		return NULL;
	void *p = k->obj[c][n - 1];
	ARENA_ORDER(); /* read the entry before it is given up */
	atomic_store_explicit(&k->n[c], n - 1, memory_order_relaxed);
	memset(p, 0, sizeof(uint64_t)); /* its tag: it is live again */
	return p;
}

/* Give half of cache k's class c back to the slabs. The count goes down
 * first: a crash then leaks those blocks rather than leaving the cache
 * listing blocks that are free again. */
static void spill(struct arena *a, struct arena_cache *k, unsigned c)
{
	uint32_t n = atomic_load_explicit(&k->n[c], memory_order_relaxed);
	uint32_t keep = n - n / 2;
	if (keep == n || arena_lock_class(a, c) < 0)
		return;
	atomic_store_explicit(&k->n[c], keep, memory_order_relaxed);
	ARENA_ORDER();
	for (uint32_t i = keep; i < n; i++) {
		void *p = k->obj[c][i];
		memset(p, 0, sizeof(uint64_t)); /* untagged in the slabs */
		uint32_t page = (uint32_t)((size_t)((unsigned char *)p - a->pages) >> ARENA_PAGE_SHIFT);
		uint32_t h = a->desc[page].kind == ARENA_PK_TAIL ? a->desc[page].head : page;
		if (arena_slab_free_locked(a, c, h, p) < 0)
			atomic_fetch_add_explicit(&a->bad_free, 1, memory_order_relaxed);
	}
	arena_unlock_class(a, c);
}

int arena_cache_free(struct arena *a, struct arena_cache *k, unsigned c, uint32_t h, void *p)
{
	uint32_t d = depth(a, c);
	if (d == 0)
		return 1;
	/* a live object of a slab of class c at an object boundary (checked
	 * without the lock: the slab cannot change while p is in use) */
	const struct arena_class *kc = &a->cls[c];
	const struct arena_pdesc *hd = &a->desc[h];
	size_t off = (size_t)((unsigned char *)p - arena_page_addr(a, h));
	if (hd->kind != ARENA_PK_SLAB || hd->cls != c || off < kc->hdr ||
	    (off - kc->hdr) % kc->size != 0 || (off - kc->hdr) / kc->size >= kc->nobj)
		return -1;
	/* free in its slab already (freed twice, the first time given back):
	 * our bit cannot change under us, whoever writes the others. (The
	 * writers store the word plainly under the class lock; an aligned
	 * 64-bit load cannot tear on the targets we build for, though C calls
	 * it a race.) */
	size_t idx = (off - kc->hdr) / kc->size;
	const _Atomic uint64_t *bm = (const _Atomic uint64_t *)arena_slab_bitmap(a, c, h);
	if (!((atomic_load_explicit(&bm[idx / 64], memory_order_relaxed) >> (idx % 64)) & 1))
		return -1;
	uint64_t tag = tag_of(a, p);
	if (arena_cache_tagged(a, p))
		return -1; /* in a cache already: freed twice */
	uint32_t n = atomic_load_explicit(&k->n[c], memory_order_relaxed);
	if (n >= d) {
		spill(a, k, c);
		n = atomic_load_explicit(&k->n[c], memory_order_relaxed);
		if (n >= d)
			return 1; /* the class lock failed: the caller frees it */
	}
	memcpy(p, &tag, sizeof(tag));
	k->obj[c][n] = p;
	ARENA_ORDER();
	atomic_store_explicit(&k->n[c], n + 1, memory_order_relaxed);
	return 0;
}

uint64_t arena_cache_held(const struct arena *a, unsigned c)
{
	uint64_t n = 0;
	for (uint32_t s = 0; s < a->ncaches; s++)
		n += atomic_load_explicit(&a->caches[s].n[c], memory_order_relaxed);
	return n;
}
