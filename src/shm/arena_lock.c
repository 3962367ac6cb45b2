/*
 * Taking the arena's locks, and putting right what a process that died
 * holding one left behind.
 *
 * The arena's locks are robust shlocks: when a worker dies inside
 * arena_alloc/arena_free, the next process to lock gets SHLOCK_RECOVERED.
 * Everything the locks protect is either ground truth written in a crash-
 * safe order (the chain of run heads, see arena_page.c; each slab's
 * bitmap) or derived from it (free-run bins, back links, counters, a
 * class's partial list and free counts). Repair rebuilds the derived part
 * by walking the chain: O(pages), and only after a death. The cost of a
 * death is then at most the block the dead process was allocating or
 * freeing (leaked), never a corrupt arena.
 */
#include "arena_impl.h"

#include <errno.h>

/* A head the walk can trust: kind of a head and a length inside the arena. */
static bool head_ok(const struct arena *a, uint32_t i)
{
	const struct arena_pdesc *d = &a->desc[i];
	uint8_t k = d->kind;

	if (d->npages == 0 || d->npages > a->npages - i)
		return false;
	if (k == ARENA_PK_SLAB)
		return d->cls < ARENA_NCLASSES && d->npages == a->cls[d->cls].slab_pages;
	return k == ARENA_PK_FREE || k == ARENA_PK_LARGE || k == ARENA_PK_PERM;
}

/*
 * The write orders of arena_page.c never leave a bad head; should one
 * appear anyway, the pages from it to the end are fenced off as one
 * permanent run: lost, but never handed out twice. Slabs may have been
 * among them, so every class rebuilds its lists at its next lock.
 */
static void fence_locked(struct arena *a, uint32_t i)
{
	for (uint32_t j = i + 1; j < a->npages; j++) {
		a->desc[j].kind = ARENA_PK_TAIL;
		a->desc[j].head = i;
	}
	a->desc[i].npages = a->npages - i;
	a->desc[i].kind = ARENA_PK_PERM;
	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		atomic_store(&a->cls[c].damaged, true);
}

/*
 * Rebuild bins, back links and page counters from the chain, merging free
 * runs left adjacent.
 */
static void repair_pages_locked(struct arena *a)
{
	for (unsigned b = 0; b < ARENA_NBINS; b++)
		a->bins[b] = ARENA_NIL;
	a->binmap = 0;
	a->pages_free = a->pages_slab = a->pages_large = a->pages_perm = 0;
	a->large_used = 0;
	a->perm_left = 0; /* the chunk being bumped may be half set up */

	for (uint32_t i = 0; i < a->npages;) {
		if (!head_ok(a, i))
			fence_locked(a, i);
		struct arena_pdesc *d = &a->desc[i];
		uint32_t n = d->npages;

		switch (d->kind) {
		case ARENA_PK_FREE:
			while (i + n < a->npages && a->desc[i + n].kind == ARENA_PK_FREE &&
			       head_ok(a, i + n))
				n += a->desc[i + n].npages;
			if (n > 1) {
				a->desc[i + n - 1].kind = ARENA_PK_FREE_TAIL;
				a->desc[i + n - 1].head = i;
			}
			d->npages = n;
			arena_page_bin_insert_locked(a, i);
			a->pages_free += n;
			break;
		case ARENA_PK_SLAB:
			a->pages_slab += n;
			break;
		case ARENA_PK_LARGE:
			a->pages_large += n;
			a->large_used++;
			break;
		default:
			a->pages_perm += n;
			break;
		}
		i += n;
	}
}

int arena_lock_pages(struct arena *a)
{
	int rc = shlock_lock(&a->page_lock);

	if (rc == SHLOCK_RECOVERED)
		repair_pages_locked(a);
	return rc < 0 ? rc : 0;
}

void arena_unlock_pages(struct arena *a)
{
	shlock_unlock(&a->page_lock);
}

/*
 * Rebuild class c's partial list and counters from its slabs' bitmaps.
 * The class's slabs are found on the chain (page lock held for the walk).
 * A slab whose setup the dead owner did not finish has an arbitrary
 * bitmap; its objects were never handed out, so trusting the bitmap can
 * only leak them.
 */
static int repair_class_locked(struct arena *a, unsigned c)
{
	struct arena_class *k = &a->cls[c];
	int rc = arena_lock_pages(a);

	if (rc < 0)
		return rc;
	k->partial = ARENA_NIL;
	k->nslabs = 0;
	k->nused = k->nfree = 0;
	for (uint32_t i = 0; i < a->npages; i += a->desc[i].npages) {
		struct arena_pdesc *d = &a->desc[i];
		if (d->kind != ARENA_PK_SLAB || d->cls != c)
			continue;
		uint32_t nfree = arena_slab_repair_locked(a, c, i);
		k->nslabs++;
		k->nfree += nfree;
		k->nused += k->nobj - nfree;
		d->prev = d->next = ARENA_NIL;
		if (nfree > 0)
			arena_slab_list_push_locked(a, c, i);
	}
	atomic_store(&k->damaged, false);
	arena_unlock_pages(a);
	return 0;
}

/*
 * `damaged` also covers the case where the repair itself could not run
 * (the page lock failed): the class stays marked until a later locker
 * manages it, instead of the next one trusting half-updated lists.
 */
int arena_lock_class(struct arena *a, unsigned c)
{
	struct arena_class *k = &a->cls[c];
	int rc = shlock_lock(&k->lock);

	if (rc < 0)
		return rc;
	if (rc == SHLOCK_RECOVERED)
		atomic_store(&k->damaged, true);
	if (atomic_load(&k->damaged) && (rc = repair_class_locked(a, c)) < 0) {
		shlock_unlock(&k->lock);
		return rc;
	}
	return 0;
}

void arena_unlock_class(struct arena *a, unsigned c)
{
	shlock_unlock(&a->cls[c].lock);
}
