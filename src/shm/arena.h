/*
 * arena: the shared-memory allocator of the multi-process runtime.
 *
 * The master creates one arena (mmap MAP_SHARED|MAP_ANONYMOUS) before it
 * forks the workers. The mapping is inherited, so it sits at the same
 * address in every process and plain pointers into it are valid
 * everywhere. Every process may then allocate and free concurrently.
 *
 * Memory is handed out slab style (the idea of nginx's ngx_slab.c, with a
 * lock per size class instead of one per pool):
 *   - small requests (<= ARENA_SMALL_MAX) are rounded up to one of
 *     ARENA_NCLASSES size classes (16-byte steps to 128, then four steps
 *     per power of two) and served from slabs: runs of pages carved into
 *     equal objects, with no per-object header;
 *   - large requests get a run of whole pages;
 *   - arena_alloc_permanent() bump-allocates structures that live as long
 *     as the arena (tables built by the master before fork).
 * Every block is ARENA_ALIGN-aligned.
 *
 * Running out of memory is a normal, counted event: the allocation returns
 * NULL, the failure is added to its class's counter, and the caller
 * answers 503. Nothing here aborts, logs or allocates on the process heap.
 *
 * A process that dies while holding an arena lock does not freeze the
 * others: the next locker repairs the state from what the dead owner left
 * (see arena_lock.c). What it was allocating at the time may leak.
 */
#ifndef SIPEDGE_ARENA_H
#define SIPEDGE_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define ARENA_ALIGN        16
#define ARENA_PAGE_SIZE    4096
#define ARENA_NCLASSES     32
#define ARENA_SMALL_MAX    8192        /* largest small (slab) object */
#define ARENA_DEFAULT_SIZE (64u << 20) /* shm_size default */

struct arena;

/* One size class, as seen by arena_stats(). */
struct arena_class_stats {
	uint32_t size;          /* object size of the class, bytes */
	uint32_t objs_per_slab; /* objects carved from one slab */
	uint32_t slab_pages;    /* pages per slab */
	uint32_t slabs;         /* slabs the class holds now */
	uint64_t used;          /* objects handed out */
	uint64_t free;          /* objects free inside the class's slabs */
	uint64_t fail;          /* allocations refused for lack of pages */
};

/*
 * A snapshot. Each class is read under its own lock, so a class's numbers
 * agree with one another (used + free == slabs * objs_per_slab); numbers of
 * different classes may be from slightly different instants while other
 * processes allocate. Once the arena is quiet:
 *   pages_total == pages_free + pages_slab + pages_large + pages_perm
 */
struct arena_stats {
	size_t total_bytes; /* size of the mapping */
	size_t meta_bytes;  /* control block, page descriptors, alignment */
	size_t used_bytes;  /* handed out: small objects at class size,
	                     * large runs in whole pages, permanent bytes */
	size_t free_bytes;  /* free pages + free objects in slabs */
	uint32_t page_size;
	uint32_t pages_total;
	uint32_t pages_free;
	uint32_t pages_slab;
	uint32_t pages_large;
	uint32_t pages_perm;
	uint64_t large_used;     /* live large allocations */
	uint64_t large_fail;     /* large allocations refused */
	uint64_t perm_bytes;     /* bytes given by arena_alloc_permanent() */
	uint64_t perm_fail;      /* permanent allocations refused */
	uint64_t bad_free;       /* arena_free() of a pointer it refused */
	uint64_t lock_recovered; /* arena locks taken over from a dead owner */
	uint32_t nclasses;
	struct arena_class_stats cls[ARENA_NCLASSES];
};

/*
 * Map and initialise an arena of `size` bytes (rounded up to whole pages;
 * 0 means ARENA_DEFAULT_SIZE). The control block lives at the start of the
 * mapping, so *out is also the mapping's address. Call before fork.
 * Returns 0, -EINVAL (too small for its own bookkeeping plus a few pages,
 * or too large to index), or -errno from mmap / pthreads.
 */
int arena_create(size_t size, struct arena **out);

/* Unmap the arena. Master only, after every worker has exited: no pointer
 * into it may be used afterwards, in any process. NULL is allowed. */
void arena_destroy(struct arena *a);

/*
 * Allocate n bytes (n == 0 is taken as 1, so the result is unique).
 * Returns an ARENA_ALIGN-aligned block, or NULL when the arena has no room
 * (counted per class, or as a large failure). Any process, any thread.
 */
void *arena_alloc(struct arena *a, size_t n);

/* arena_alloc(nmemb * size) zero-filled; NULL on overflow or exhaustion. */
void *arena_calloc(struct arena *a, size_t nmemb, size_t size);

/*
 * Return a block from arena_alloc/arena_calloc. NULL is allowed. A pointer
 * the arena can tell is not a live block (outside the arena, not at an
 * object boundary, already free while its slab or run still exists,
 * permanent) is refused and counted in bad_free rather than corrupting the
 * arena; other wild pointers are undefined behaviour, as with free(3).
 */
void arena_free(struct arena *a, void *p);

/*
 * Bump-allocate n bytes that are never freed (ARENA_ALIGN-aligned, not
 * zeroed beyond what mmap gave). Meant for the master's tables built
 * before fork, e.g. the transaction bucket array; safe in any process.
 * Small requests share 64 KiB chunks; large ones get their own page run.
 * Returns NULL (counted in perm_fail) when the arena has no room.
 */
void *arena_alloc_permanent(struct arena *a, size_t n);

/*
 * Per-slot caches of free blocks (arena_cache.c): made once, in the
 * master before fork, for nslots (1..256) worker slots; SE_EINVAL when
 * made already or out of range, SE_ENOMEM. A process (its calling thread)
 * then binds to its slot's cache, and its small allocations and frees go
 * through it without a lock most of the time. Unbound threads and
 * processes (the master, a thread pool) take the class locks as before.
 */
int arena_caches_create(struct arena *a, uint32_t nslots);
void arena_cache_bind(struct arena *a, uint32_t slot);

/* Fill *st with a snapshot (see struct arena_stats). Takes each lock in
 * turn, briefly; returns 0 or a negative SE_E* code from a lock. */
int arena_stats(struct arena *a, struct arena_stats *st);

/*
 * Check every invariant of the arena (page runs tile the arena, free lists
 * and bins agree with the page descriptors, slab bitmaps agree with the
 * class counters and partial lists). Holds the page lock and each class
 * lock for O(pages): for tests and debugging, not for the hot path.
 * Returns 0 if consistent, -EUCLEAN if not.
 */
int arena_check(struct arena *a);

#endif
