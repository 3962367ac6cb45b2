/*
 * The page allocator of the arena: runs of consecutive pages, for slabs,
 * large blocks and permanent chunks. Every function here is called with
 * a->page_lock held.
 *
 * Free runs sit in ARENA_NBINS bins by floor(log2(npages)) with a bitmap of
 * non-empty bins (the TLSF idea): a request for n pages takes the head of
 * the lowest non-empty bin whose every run is >= n, found with one
 * count-trailing-zeros, and only when none exists scans the one bin whose
 * runs may or may not fit. Freeing merges with both neighbours at once, so
 * no two free runs are ever adjacent; the left neighbour is found through
 * the back link kept in the last page of every free run.
 *
 * Crash order. A process may die between any two stores. The chain of run
 * heads (arena_impl.h) must stay walkable at every instant, so each update
 * first writes everything the new state needs, then publishes it with one
 * store to a head (the "commit"): a shorter npages when splitting, a kind
 * when a whole run changes hands, a longer npages when merging. A death
 * before the commit leaves the old, valid state; bins, counters and back
 * links are then rebuilt by arena_lock.c.
 */
#include "arena_impl.h"

unsigned arena_page_bin_of(uint32_t npages)
{
	return 31 - (unsigned)__builtin_clz(npages);
}

void arena_page_bin_insert_locked(struct arena *a, uint32_t h)
{
	struct arena_pdesc *d = &a->desc[h];
	unsigned b = arena_page_bin_of(d->npages);

	d->prev = ARENA_NIL;
	d->next = a->bins[b];
	if (d->next != ARENA_NIL)
		a->desc[d->next].prev = h;
	a->bins[b] = h;
	a->binmap |= 1u << b;
}

/* Unlink free run h; its npages must be what it was when inserted. */
static void bin_remove_locked(struct arena *a, uint32_t h)
{
	struct arena_pdesc *d = &a->desc[h];
	unsigned b = arena_page_bin_of(d->npages);

	if (d->prev != ARENA_NIL)
		a->desc[d->prev].next = d->next;
	else
		a->bins[b] = d->next;
	if (d->next != ARENA_NIL)
		a->desc[d->next].prev = d->prev;
	if (a->bins[b] == ARENA_NIL)
		a->binmap &= ~(1u << b);
}

void arena_page_init_locked(struct arena *a)
{
	for (unsigned b = 0; b < ARENA_NBINS; b++)
		a->bins[b] = ARENA_NIL;
	a->binmap = 0;
	a->desc[0].npages = a->npages;
	if (a->npages > 1) {
		a->desc[a->npages - 1].kind = ARENA_PK_FREE_TAIL;
		a->desc[a->npages - 1].head = 0;
	}
	a->desc[0].kind = ARENA_PK_FREE;
	arena_page_bin_insert_locked(a, 0);
	a->pages_free = a->npages;
}

/* Pick a free run of >= n pages, or ARENA_NIL. */
static uint32_t find_locked(const struct arena *a, uint32_t n)
{
	unsigned lo = arena_page_bin_of(n);
	unsigned hi = (n & (n - 1)) ? lo + 1 : lo; /* every run in bin hi fits */

	if (hi < ARENA_NBINS) {
		uint32_t mask = a->binmap & (UINT32_MAX << hi);
		if (mask)
			return a->bins[__builtin_ctz(mask)];
	}
	if (hi != lo) {
		/* Bounded by the free runs of this one bin. */
		for (uint32_t h = a->bins[lo]; h != ARENA_NIL; h = a->desc[h].next)
			if (a->desc[h].npages >= n)
				return h;
	}
	return ARENA_NIL;
}

/* Describe [start, start+n) as a run of kind, head written last. Every
 * page of an allocated run links to its head: an object of a slab may sit
 * in any of its pages, and arena_free can then tell a pointer into the
 * middle of any run from a block (O(n), like the caller's use of n pages). */
static void write_run_locked(struct arena *a, uint32_t start, uint32_t n, uint8_t kind, uint8_t cls)
{
	for (uint32_t i = start + 1; i < start + n; i++) {
		a->desc[i].kind = ARENA_PK_TAIL;
		a->desc[i].head = start;
	}
	struct arena_pdesc *d = &a->desc[start];
	d->npages = n;
	d->cls = cls;
	d->prev = d->next = ARENA_NIL;
	d->nfree = 0;
	ARENA_ORDER();
	d->kind = kind;
}

static void count_locked(struct arena *a, uint8_t kind, uint32_t n, int sign)
{
	uint32_t *c = kind == ARENA_PK_SLAB    ? &a->pages_slab
	              : kind == ARENA_PK_LARGE ? &a->pages_large
	                                       : &a->pages_perm;

	*c = sign > 0 ? *c + n : *c - n;
	if (kind == ARENA_PK_LARGE)
		a->large_used = sign > 0 ? a->large_used + 1 : a->large_used - 1;
	a->pages_free = sign > 0 ? a->pages_free - n : a->pages_free + n;
}

/*
 * Take n pages from the end of a free run, so the run's head stays where
 * it is and the split commits by shrinking its npages.
 */
uint32_t arena_page_alloc_locked(struct arena *a, uint32_t n, uint8_t kind, uint8_t cls)
{
	if (n == 0 || n > a->pages_free)
		return ARENA_NIL;
	uint32_t h = find_locked(a, n);
	if (h == ARENA_NIL)
		return ARENA_NIL;

	uint32_t total = a->desc[h].npages, start = h + total - n, rest = total - n;

	bin_remove_locked(a, h);
	write_run_locked(a, start, n, kind, cls);
	if (rest > 0) {
		if (rest > 1) {
			a->desc[h + rest - 1].kind = ARENA_PK_FREE_TAIL;
			a->desc[h + rest - 1].head = h;
		}
		ARENA_ORDER();
		a->desc[h].npages = rest; /* commit */
		arena_page_bin_insert_locked(a, h);
	}
	count_locked(a, kind, n, +1);
	return start;
}

/* Head of the free run that ends just before page p, or ARENA_NIL. */
static uint32_t free_left_of(const struct arena *a, uint32_t p)
{
	if (p == 0)
		return ARENA_NIL;
	const struct arena_pdesc *d = &a->desc[p - 1];
	uint32_t q = d->kind == ARENA_PK_FREE        ? p - 1
	             : d->kind == ARENA_PK_FREE_TAIL ? d->head
	                                             : ARENA_NIL;

	/* The back link is trusted only if the run it names ends at p. */
	if (q >= p || a->desc[q].kind != ARENA_PK_FREE || q + a->desc[q].npages != p)
		return ARENA_NIL;
	return q;
}

void arena_page_free_locked(struct arena *a, uint32_t h)
{
	struct arena_pdesc *d = &a->desc[h];
	uint32_t n = d->npages, start = h, total = n;

	count_locked(a, d->kind, n, -1);
	if (n > 1) {
		a->desc[h + n - 1].kind = ARENA_PK_FREE_TAIL;
		a->desc[h + n - 1].head = h;
	}
	ARENA_ORDER();
	d->kind = ARENA_PK_FREE; /* commit: a free run of n pages */
	ARENA_ORDER();

	uint32_t r = h + n;
	if (r < a->npages && a->desc[r].kind == ARENA_PK_FREE) {
		bin_remove_locked(a, r);
		total += a->desc[r].npages;
	}
	uint32_t q = free_left_of(a, h);
	if (q != ARENA_NIL) {
		bin_remove_locked(a, q);
		total += a->desc[q].npages;
		start = q;
	}
	if (total > 1) {
		a->desc[start + total - 1].kind = ARENA_PK_FREE_TAIL;
		a->desc[start + total - 1].head = start;
	}
	ARENA_ORDER();
	a->desc[start].npages = total; /* commit the merge */
	arena_page_bin_insert_locked(a, start);
}
