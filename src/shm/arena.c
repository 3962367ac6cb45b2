/*
 * The arena's entry points: creating the mapping, and routing each
 * allocation to its size class (arena_slab.c), to a page run
 * (arena_page.c) or to the permanent bump area. See arena.h for the
 * contract and arena_impl.h for the layout and the locking rule.
 *
 * Out of memory is not an error path here but a normal answer: NULL and a
 * counter, so that the caller can reply 503 and the operator can see which
 * class ran dry (arena_stats).
 */
#include "arena_impl.h"

#include <sipedge/error.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define MIN_PAGES 32 /* below this an arena is a configuration mistake */

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* Pages that fit in `size` after the control block and their descriptors,
 * and the offset of the first page. 0 pages if it does not fit at all. */
static uint32_t layout(size_t size, size_t *meta)
{
	size_t ctl = round_up(sizeof(struct arena), 64);
	if (size < ctl + ARENA_PAGE_SIZE)
		return 0;
	size_t n = (size - ctl) / (ARENA_PAGE_SIZE + sizeof(struct arena_pdesc));
	if (n >= ARENA_NIL)
		return 0;
	for (; n > 0; n--) {
		*meta = round_up(ctl + n * sizeof(struct arena_pdesc), ARENA_PAGE_SIZE);
		if (*meta + n * ARENA_PAGE_SIZE <= size)
			break;
	}
	return (uint32_t)n;
}

static int init_locks(struct arena *a)
{
	int rc = shlock_init(&a->page_lock);

	for (unsigned c = 0; c < ARENA_NCLASSES && rc == 0; c++)
		rc = shlock_init(&a->cls[c].lock);
	return rc;
}

static void init_classes(struct arena *a)
{
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		struct arena_class *k = &a->cls[c];
		k->size = arena_class_size(c);
		arena_class_geometry(k->size, &k->slab_pages, &k->nobj, &k->hdr);
		k->partial = ARENA_NIL;
		atomic_init(&k->fail, 0);
	}
}

int arena_create(size_t size, struct arena **out)
{
	size_t meta = 0;

	if (size == 0)
		size = ARENA_DEFAULT_SIZE;
	if (size > SIZE_MAX - ARENA_PAGE_SIZE)
		return SE_EINVAL;
	size = round_up(size, ARENA_PAGE_SIZE);
	uint32_t npages = layout(size, &meta);
	if (npages < MIN_PAGES)
		return SE_EINVAL;

	/* Anonymous shared memory is zero-filled: every descriptor starts
	 * with kind 0 and every counter at 0. */
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	struct arena *a = m;
	a->size = size;
	a->meta = meta;
	a->npages = npages;
	a->desc =
	    (struct arena_pdesc *)(void *)((unsigned char *)m + round_up(sizeof(struct arena), 64));
	a->pages = (unsigned char *)m + meta;
	int rc = init_locks(a);
	if (rc < 0) {
		munmap(m, size);
		return rc;
	}
	init_classes(a);
	atomic_init(&a->large_fail, 0);
	atomic_init(&a->perm_fail, 0);
	atomic_init(&a->bad_free, 0);
	arena_page_init_locked(a); /* no other process exists yet */
	a->magic = ARENA_MAGIC;
	*out = a;
	return 0;
}

void arena_destroy(struct arena *a)
{
	if (a == NULL)
		return;
	munmap(a, a->size);
}

static void *alloc_large(struct arena *a, size_t n)
{
	size_t pages = n / ARENA_PAGE_SIZE + (n % ARENA_PAGE_SIZE != 0);
	uint32_t h = ARENA_NIL;

	if (pages <= a->npages && arena_lock_pages(a) == 0) {
		h = arena_page_alloc_locked(a, (uint32_t)pages, ARENA_PK_LARGE, 0);
		arena_unlock_pages(a);
	}
	if (h == ARENA_NIL) {
		atomic_fetch_add_explicit(&a->large_fail, 1, memory_order_relaxed);
		return NULL;
	}
	return arena_page_addr(a, h);
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n > ARENA_SMALL_MAX)
		return alloc_large(a, n);

	unsigned c = arena_class_of(n ? n : 1);
	struct arena_cache *k = arena_cache_mine(a);
	if (k)
		return arena_cache_alloc(a, k, c);
	if (arena_lock_class(a, c) < 0) {
		atomic_fetch_add_explicit(&a->cls[c].fail, 1, memory_order_relaxed);
		return NULL;
	}
	void *p = arena_slab_alloc_locked(a, c);
	arena_unlock_class(a, c);
	return p;
}

void *arena_calloc(struct arena *a, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		atomic_fetch_add_explicit(&a->large_fail, 1, memory_order_relaxed);
		return NULL;
	}
	void *p = arena_alloc(a, nmemb * size);
	if (p != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

static void bad_free(struct arena *a)
{
	atomic_fetch_add_explicit(&a->bad_free, 1, memory_order_relaxed);
}

/* p lies in the slab headed by h: free it under the class lock, checking
 * again there that h is still a slab of that class (it cannot stop being
 * one while we hold the lock). */
static void free_small(struct arena *a, uint32_t h, uint32_t page, void *p)
{
	unsigned c = a->desc[h].cls;
	struct arena_cache *k = c < ARENA_NCLASSES ? arena_cache_mine(a) : NULL;
	int kept = k ? arena_cache_free(a, k, c, h, p) : 1;

	if (kept == 0)
		return;
	if (kept < 0 || c >= ARENA_NCLASSES || arena_cache_tagged(a, p) ||
	    arena_lock_class(a, c) < 0) {
		bad_free(a);
		return;
	}
	const struct arena_pdesc *d = &a->desc[h];
	if (d->kind != ARENA_PK_SLAB || d->cls != c || page - h >= d->npages ||
	    arena_slab_free_locked(a, c, h, p) < 0)
		bad_free(a);
	arena_unlock_class(a, c);
}

static void free_large(struct arena *a, uint32_t h, void *p)
{
	if (p != arena_page_addr(a, h) || arena_lock_pages(a) < 0) {
		bad_free(a);
		return;
	}
	if (a->desc[h].kind == ARENA_PK_LARGE)
		arena_page_free_locked(a, h);
	else
		bad_free(a);
	arena_unlock_pages(a);
}

/*
 * The page descriptor of p says what p is. It is read before taking any
 * lock: for a live block it cannot change under us (its slab or run is in
 * use), and whatever it said is checked again under the lock that owns it.
 */
void arena_free(struct arena *a, void *p)
{
	if (p == NULL)
		return;
	unsigned char *u = p;
	if (u < a->pages || u >= arena_page_addr(a, a->npages) || (uintptr_t)u % ARENA_ALIGN != 0) {
		bad_free(a);
		return;
	}
	uint32_t page = (uint32_t)((size_t)(u - a->pages) >> ARENA_PAGE_SHIFT);
	const struct arena_pdesc *d = &a->desc[page];

	switch (d->kind) {
	case ARENA_PK_SLAB:
		free_small(a, page, page, p);
		return;
	case ARENA_PK_TAIL:
		if (d->head < page && a->desc[d->head].kind == ARENA_PK_SLAB) {
			free_small(a, d->head, page, p);
			return;
		}
		break;
	case ARENA_PK_LARGE:
		free_large(a, page, p);
		return;
	}
	bad_free(a);
}

/* A new permanent chunk, or a run of its own for a big request (so that
 * it does not throw away the rest of the current chunk). */
static void *perm_new_locked(struct arena *a, size_t n)
{
	size_t chunk = (size_t)ARENA_PERM_CHUNK_PAGES * ARENA_PAGE_SIZE;
	size_t pages = round_up(n, ARENA_PAGE_SIZE) / ARENA_PAGE_SIZE;
	bool own = n > chunk / 4;
	uint32_t h = ARENA_NIL;

	if (!own)
		h = arena_page_alloc_locked(a, ARENA_PERM_CHUNK_PAGES, ARENA_PK_PERM, 0);
	if (h == ARENA_NIL) {
		own = true; /* no whole chunk left: maybe just what is asked */
		if (pages <= a->npages)
			h = arena_page_alloc_locked(a, (uint32_t)pages, ARENA_PK_PERM, 0);
	}
	if (h == ARENA_NIL)
		return NULL;
	unsigned char *p = arena_page_addr(a, h);
	if (!own) {
		a->perm_next = (size_t)(p - (unsigned char *)a) + n;
		a->perm_left = chunk - n;
	}
	return p;
}

void *arena_alloc_permanent(struct arena *a, size_t n)
{
	void *p = NULL;

	if (n > SIZE_MAX - ARENA_PAGE_SIZE || arena_lock_pages(a) < 0)
		goto fail;
	n = round_up(n ? n : 1, ARENA_ALIGN);
	if (n <= a->perm_left) {
		p = (unsigned char *)a + a->perm_next;
		a->perm_next += n;
		a->perm_left -= n;
	} else {
		p = perm_new_locked(a, n);
	}
	if (p != NULL)
		a->perm_bytes += n;
	arena_unlock_pages(a);
	if (p != NULL)
		return p;
fail:
	atomic_fetch_add_explicit(&a->perm_fail, 1, memory_order_relaxed);
	return NULL;
}
