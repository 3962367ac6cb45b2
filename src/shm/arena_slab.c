/*
 * Small objects: the slabs of one size class. Every function here is
 * called with the class's lock held (a->cls[c].lock); the page lock is
 * taken inside, only to get or give back a whole slab.
 *
 * A slab is a run of slab_pages pages cut into nobj objects of the class
 * size, with no header per object: a bitmap (bit set = in use) records
 * which are taken. With up to 64 objects the bitmap is the head
 * descriptor's `map`; with more (classes up to 64 bytes) it sits at the
 * start of the slab, before the first object. Bits past nobj are kept set,
 * so "first clear bit" is always a real object.
 *
 * Slabs with a free object are on the class's partial list; allocation
 * takes the first object of the first one (O(bitmap words) <= 4). A slab
 * that becomes entirely free goes back to the page allocator, unless it is
 * the class's only partial slab: keeping one avoids taking the page lock
 * for every alloc/free pair at a slab boundary.
 */
#include "arena_impl.h"

#include <sipedge/error.h>

#include <errno.h>

static uint64_t *bitmap(const struct arena *a, unsigned c, uint32_t h)
{
	return arena_slab_bitmap(a, c, h);
}

static uint32_t words(const struct arena_class *k)
{
	return (k->nobj + 63) / 64;
}

/* Bits of the last bitmap word that are past nobj (kept set). */
static uint64_t padding(const struct arena_class *k)
{
	uint32_t rem = k->nobj % 64;
	return rem ? UINT64_MAX << rem : 0;
}

void arena_slab_list_push_locked(struct arena *a, unsigned c, uint32_t h)
{
	struct arena_class *k = &a->cls[c];
	struct arena_pdesc *d = &a->desc[h];

	d->prev = ARENA_NIL;
	d->next = k->partial;
	if (d->next != ARENA_NIL)
		a->desc[d->next].prev = h;
	k->partial = h;
}

static void list_remove_locked(struct arena *a, unsigned c, uint32_t h)
{
	struct arena_pdesc *d = &a->desc[h];

	if (d->prev != ARENA_NIL)
		a->desc[d->prev].next = d->next;
	else
		a->cls[c].partial = d->next;
	if (d->next != ARENA_NIL)
		a->desc[d->next].prev = d->prev;
	d->prev = d->next = ARENA_NIL;
}

/* Get a slab from the page allocator and put it on the partial list. */
static uint32_t grow_locked(struct arena *a, unsigned c)
{
	struct arena_class *k = &a->cls[c];

	if (arena_lock_pages(a) < 0)
		return ARENA_NIL;
	uint32_t h = arena_page_alloc_locked(a, k->slab_pages, ARENA_PK_SLAB, (uint8_t)c);
	arena_unlock_pages(a);
	if (h == ARENA_NIL)
		return ARENA_NIL;

	uint64_t *bm = bitmap(a, c, h);
	uint32_t nw = words(k);
	for (uint32_t w = 0; w < nw; w++)
		bm[w] = 0;
	bm[nw - 1] |= padding(k);
	a->desc[h].nfree = (uint16_t)k->nobj;
	arena_slab_list_push_locked(a, c, h);
	k->nslabs++;
	k->nfree += k->nobj;
	return h;
}

void *arena_slab_alloc_locked(struct arena *a, unsigned c)
{
	struct arena_class *k = &a->cls[c];

	for (;;) {
		uint32_t h = k->partial;
		if (h == ARENA_NIL && (h = grow_locked(a, c)) == ARENA_NIL) {
			atomic_fetch_add_explicit(&k->fail, 1, memory_order_relaxed);
			return NULL;
		}
		struct arena_pdesc *d = &a->desc[h];
		uint64_t *bm = bitmap(a, c, h);
		for (uint32_t w = 0; w < words(k); w++) {
			if (bm[w] == UINT64_MAX)
				continue;
			unsigned bit = (unsigned)__builtin_ctzll(~bm[w]);
			bm[w] |= 1ull << bit;
			d->nfree--;
			k->nfree--;
			k->nused++;
			if (d->nfree == 0)
				list_remove_locked(a, c, h);
			return arena_page_addr(a, h) + k->hdr + (size_t)(w * 64 + bit) * k->size;
		}
		/* Full bitmap on the partial list: nfree lied. Only a repair
		 * bug can get here; drop the slab from the list and go on
		 * rather than loop or hand out a used object. */
		k->nfree -= d->nfree;
		d->nfree = 0;
		list_remove_locked(a, c, h);
	}
}

int arena_slab_free_locked(struct arena *a, unsigned c, uint32_t h, void *p)
{
	struct arena_class *k = &a->cls[c];
	struct arena_pdesc *d = &a->desc[h];
	unsigned char *first = arena_page_addr(a, h) + k->hdr;

	if ((unsigned char *)p < first)
		return SE_EINVAL;
	size_t off = (size_t)((unsigned char *)p - first);
	size_t i = off / k->size;
	if (off % k->size != 0 || i >= k->nobj)
		return SE_EINVAL;
	uint64_t *bm = bitmap(a, c, h);
	uint64_t bit = 1ull << (i % 64);
	if (!(bm[i / 64] & bit))
		return SE_EINVAL; /* already free */

	bm[i / 64] &= ~bit;
	d->nfree++;
	k->nfree++;
	k->nused--;
	if (d->nfree == 1)
		arena_slab_list_push_locked(a, c, h); /* was full */
	if (d->nfree == k->nobj && (k->partial != h || d->next != ARENA_NIL)) {
		if (arena_lock_pages(a) < 0)
			return 0; /* keep the empty slab; still consistent */
		list_remove_locked(a, c, h);
		k->nslabs--;
		k->nfree -= k->nobj;
		/* Still ours unless a page repair fenced it off meanwhile
		 * (arena_lock.c); fenced pages are never given back. */
		if (d->kind == ARENA_PK_SLAB && d->cls == c)
			arena_page_free_locked(a, h);
		arena_unlock_pages(a);
	}
	return 0;
}

static uint32_t count_used(const struct arena *a, unsigned c, uint32_t h)
{
	const struct arena_class *k = &a->cls[c];
	const uint64_t *bm = bitmap(a, c, h);
	uint32_t nw = words(k), used = 0;

	for (uint32_t w = 0; w < nw; w++) {
		uint64_t v = w == nw - 1 ? bm[w] & ~padding(k) : bm[w];
		used += (uint32_t)__builtin_popcountll(v);
	}
	return used;
}

uint32_t arena_slab_repair_locked(struct arena *a, unsigned c, uint32_t h)
{
	const struct arena_class *k = &a->cls[c];

	bitmap(a, c, h)[words(k) - 1] |= padding(k);
	a->desc[h].nfree = (uint16_t)(k->nobj - count_used(a, c, h));
	return a->desc[h].nfree;
}

int arena_slab_check_locked(const struct arena *a, unsigned c, uint32_t h)
{
	const struct arena_class *k = &a->cls[c];
	const uint64_t *bm = bitmap(a, c, h);

	if ((bm[words(k) - 1] & padding(k)) != padding(k))
		return -EUCLEAN;
	if (a->desc[h].nfree != k->nobj - count_used(a, c, h))
		return -EUCLEAN;
	return 0;
}
