/*
 * arena_check: verify every invariant of the arena, for tests and for
 * debugging a live system. It walks all page descriptors under the page
 * lock, then each class under its lock (plus the page lock, in the usual
 * order), so it costs O(pages x classes) and holds locks meanwhile: never
 * on the hot path.
 *
 * Invariants checked:
 *   chain    heads tile [0, npages); each allocated run describes all its
 *            pages; each free run's last page links back; no two free runs
 *            are adjacent;
 *   bins     every free run is in bin floor(log2(npages)), once; bin lists
 *            are well linked; binmap bit b <=> bin b not empty;
 *   counters page counters and live large blocks match the chain;
 *   classes  each slab of class c has c's geometry, padding bits set and
 *            nfree equal to its bitmap; the partial list is exactly the
 *            slabs with nfree > 0; nslabs/nused/nfree add up.
 */
#include "arena_impl.h"

#include <errno.h>

struct tally {
	uint32_t free, slab, large, perm, free_runs;
	uint64_t large_used;
};

static int check_run_locked(const struct arena *a, uint32_t i, struct tally *t)
{
	const struct arena_pdesc *d = &a->desc[i];
	uint32_t n = d->npages;

	switch (d->kind) {
	case ARENA_PK_FREE:
		if (n > 1 &&
		    (a->desc[i + n - 1].kind != ARENA_PK_FREE_TAIL || a->desc[i + n - 1].head != i))
			return -EUCLEAN;
		if (i + n < a->npages && a->desc[i + n].kind == ARENA_PK_FREE)
			return -EUCLEAN; /* should have been merged */
		t->free += n;
		t->free_runs++;
		return 0;
	case ARENA_PK_SLAB:
		if (d->cls >= ARENA_NCLASSES || n != a->cls[d->cls].slab_pages)
			return -EUCLEAN;
		t->slab += n;
		break;
	case ARENA_PK_LARGE:
		t->large += n;
		t->large_used++;
		break;
	case ARENA_PK_PERM:
		t->perm += n;
		break;
	default:
		return -EUCLEAN;
	}
	for (uint32_t j = i + 1; j < i + n; j++)
		if (a->desc[j].kind != ARENA_PK_TAIL || a->desc[j].head != i)
			return -EUCLEAN;
	return 0;
}

static int check_bins_locked(const struct arena *a, uint32_t free_runs)
{
	uint32_t seen = 0;

	for (unsigned b = 0; b < ARENA_NBINS; b++) {
		uint32_t prev = ARENA_NIL;
		if ((a->bins[b] != ARENA_NIL) != !!(a->binmap & (1u << b)))
			return -EUCLEAN;
		for (uint32_t h = a->bins[b]; h != ARENA_NIL; h = a->desc[h].next) {
			const struct arena_pdesc *d = &a->desc[h];
			if (h >= a->npages || ++seen > free_runs || d->kind != ARENA_PK_FREE ||
			    d->prev != prev || arena_page_bin_of(d->npages) != b)
				return -EUCLEAN;
			prev = h;
		}
	}
	return seen == free_runs ? 0 : -EUCLEAN;
}

static int check_pages_locked(const struct arena *a)
{
	struct tally t = {0};
	uint32_t i = 0;
	int rc;

	while (i < a->npages) {
		uint32_t n = a->desc[i].npages;
		if (n == 0 || n > a->npages - i)
			return -EUCLEAN;
		if ((rc = check_run_locked(a, i, &t)) < 0)
			return rc;
		i += n;
	}
	if (t.free != a->pages_free || t.slab != a->pages_slab || t.large != a->pages_large ||
	    t.perm != a->pages_perm || t.large_used != a->large_used)
		return -EUCLEAN;
	return check_bins_locked(a, t.free_runs);
}

/* Class c's slabs against its counters and partial list. */
static int check_class_locked(const struct arena *a, unsigned c)
{
	const struct arena_class *k = &a->cls[c];
	uint32_t slabs = 0, partial = 0, listed = 0, prev = ARENA_NIL;
	uint64_t nfree = 0;
	int rc;

	for (uint32_t i = 0; i < a->npages; i += a->desc[i].npages) {
		const struct arena_pdesc *d = &a->desc[i];
		if (d->kind != ARENA_PK_SLAB || d->cls != c)
			continue;
		if ((rc = arena_slab_check_locked(a, c, i)) < 0)
			return rc;
		slabs++;
		nfree += d->nfree;
		partial += d->nfree > 0;
	}
	for (uint32_t h = k->partial; h != ARENA_NIL; h = a->desc[h].next) {
		const struct arena_pdesc *d = &a->desc[h];
		if (h >= a->npages || ++listed > partial || d->kind != ARENA_PK_SLAB ||
		    d->cls != c || d->nfree == 0 || d->prev != prev)
			return -EUCLEAN;
		prev = h;
	}
	if (listed != partial || slabs != k->nslabs || nfree != k->nfree ||
	    (uint64_t)slabs * k->nobj != k->nused + k->nfree)
		return -EUCLEAN;
	return 0;
}

int arena_check(struct arena *a)
{
	int rc = arena_lock_pages(a);

	if (rc < 0)
		return rc;
	rc = check_pages_locked(a);
	arena_unlock_pages(a);
	for (unsigned c = 0; c < ARENA_NCLASSES && rc == 0; c++) {
		if ((rc = arena_lock_class(a, c)) < 0)
			return rc;
		if ((rc = arena_lock_pages(a)) == 0) {
			rc = check_class_locked(a, c);
			arena_unlock_pages(a);
		}
		arena_unlock_class(a, c);
	}
	return rc;
}
