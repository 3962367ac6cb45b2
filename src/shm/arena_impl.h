/*
 * arena internals: the layout of the mapping, shared by the arena_*.c
 * files and by white-box tests. Nothing outside src/shm includes this.
 *
 * Mapping layout (one contiguous MAP_SHARED region):
 *
 *   [struct arena][page descriptors: npages x arena_pdesc][pad][pages ...]
 *
 * Pages (ARENA_PAGE_SIZE bytes) are grouped into RUNS of consecutive pages.
 * The runs tile the page area, and the first descriptor of each run (its
 * head) holds the run's kind and length, so "start at page 0 and hop by
 * npages" visits every run. That chain is the ground truth of the page
 * allocator; the bins of free runs and the counters are derived from it
 * and can be rebuilt from it (arena_lock.c) if a process dies mid-update.
 *
 * Locking rule (lock order: a class lock, then the page lock; never the
 * reverse, never two class locks):
 *   - page_lock protects the chain (kind/npages/head of every descriptor
 *     that heads or ends a run), the free-run bins and prev/next of free
 *     heads, and every field marked (P) below;
 *   - cls[c].lock protects the slabs of class c: their bitmaps, and nfree,
 *     prev/next of their head descriptors, and the fields marked (C).
 *     A slab of class c changes kind only with both cls[c].lock and
 *     page_lock held, so holding cls[c].lock keeps it a slab of class c.
 *     (One exception: the page repair's fence, arena_lock.c, which runs
 *     only on a corrupt chain; hence the re-check in arena_slab.c before
 *     a slab is given back.)
 *   - fields marked (R) are read-only after arena_create.
 */
#ifndef SIPEDGE_ARENA_IMPL_H
#define SIPEDGE_ARENA_IMPL_H

#include "arena.h"
#include "shlock.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define ARENA_MAGIC            0x5345415245414e41ull /* "SEARENA" */
#define ARENA_PAGE_SHIFT       12
#define ARENA_NIL              UINT32_MAX /* "no page" in lists and lookups */
#define ARENA_NBINS            32         /* free-run bins: floor(log2(npages)) */
#define ARENA_BITMAP_WORDS     4          /* max 64-bit words of a slab bitmap */
#define ARENA_SLAB_MAX_PAGES   16         /* bound on one slab */
#define ARENA_PERM_CHUNK_PAGES 16         /* permanent chunk: 64 KiB */

_Static_assert((1u << ARENA_PAGE_SHIFT) == ARENA_PAGE_SIZE, "page shift");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "shared counters must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "shared counters must be lock-free");

/* What a page descriptor says about its page. 0 is never written: a
 * descriptor reading 0 was never part of a run's head or end. */
enum arena_pkind {
	ARENA_PK_FREE = 1,  /* head of a free run */
	ARENA_PK_FREE_TAIL, /* last page of a free run of >= 2 pages */
	ARENA_PK_SLAB,      /* head of a slab */
	ARENA_PK_LARGE,     /* head of a large allocation */
	ARENA_PK_PERM,      /* head of a permanent chunk */
	ARENA_PK_TAIL,      /* non-head page of an allocated run */
};

/*
 * One per page. Every page of an allocated run is kept up to date (head,
 * or TAIL with a link to the head); of a free run only the head and the
 * last page are: the middle of a free run is stale and is never trusted
 * (a freed head is always rewritten FREE, so a stale TAIL leads to a head
 * that is checked again).
 */
struct arena_pdesc {
	uint32_t npages; /* (P) head: pages in the run */
	uint32_t head;   /* (P) FREE_TAIL / TAIL: index of the run's head */
	uint32_t prev;   /* free head: bin list (P); slab head: class */
	uint32_t next;   /*   partial list (C). ARENA_NIL ends a list */
	uint64_t map;    /* (C) slab head: the bitmap when nobj <= 64, so
	                  * that classes of few, big objects lose no object
	                  * to an in-slab bitmap (bit set = object in use) */
	uint16_t nfree;  /* (C) slab head: free objects in the slab */
	uint8_t kind;    /* (P) enum arena_pkind */
	uint8_t cls;     /* (P) slab head: its size class */
};

struct arena_class {
	alignas(64) struct shlock lock;
	uint32_t size;         /* (R) object size */
	uint32_t slab_pages;   /* (R) pages per slab */
	uint32_t nobj;         /* (R) objects per slab */
	uint32_t hdr;          /* (R) bytes of bitmap before the first object;
	                        * 0: the bitmap is pdesc.map of the head */
	uint32_t partial;      /* (C) slabs with a free object, via pdesc.prev/next */
	uint32_t nslabs;       /* (C) slabs owned by the class */
	uint64_t nused;        /* (C) objects handed out */
	uint64_t nfree;        /* (C) free objects in the class's slabs */
	atomic_bool damaged;   /* the class must be rebuilt from the chain by its
	                        * next locker: a dead owner left it unrepaired, or
	                        * the page repair fenced off pages (set under
	                        * either lock, cleared under both) */
	_Atomic uint64_t fail; /* allocations refused (no page for a new slab) */
};

#define ARENA_CACHE_DEPTH     32u /* blocks per class in a slot's cache, at most */
#define ARENA_CACHE_SLOTS_MAX 256u

/* One worker slot's free blocks (arena_cache.c): written only by the
 * process bound to the slot. */
struct arena_cache {
	_Atomic uint32_t n[ARENA_NCLASSES]; /* entries of obj[c] in use */
	void *obj[ARENA_NCLASSES][ARENA_CACHE_DEPTH];
};

struct arena {
	uint64_t magic;           /* (R) ARENA_MAGIC */
	size_t size;              /* (R) bytes mapped, from this struct on */
	size_t meta;              /* (R) bytes before the first page */
	unsigned char *pages;     /* (R) first page, ARENA_PAGE_SIZE-aligned */
	struct arena_pdesc *desc; /* (R) npages descriptors */
	uint32_t npages;          /* (R) */

	struct shlock page_lock;
	uint32_t bins[ARENA_NBINS]; /* (P) free runs by floor(log2(npages)) */
	uint32_t binmap;            /* (P) bit b set <=> bins[b] not empty */
	uint32_t pages_free;        /* (P) pages in free runs */
	uint32_t pages_slab;        /* (P) */
	uint32_t pages_large;       /* (P) */
	uint32_t pages_perm;        /* (P) */
	uint64_t large_used;        /* (P) live large allocations */
	size_t perm_next;           /* (P) offset of the next permanent byte */
	size_t perm_left;           /* (P) bytes left in the current chunk */
	uint64_t perm_bytes;        /* (P) */

	_Atomic uint64_t large_fail;
	_Atomic uint64_t perm_fail;
	_Atomic uint64_t bad_free;

	struct arena_class cls[ARENA_NCLASSES];
	struct arena_cache *caches; /* (R once set, before fork) one per slot */
	uint32_t ncaches;           /* (R) */
	uint64_t cache_secret;      /* (R) tags blocks held in caches */
};

static inline unsigned char *arena_page_addr(const struct arena *a, uint32_t i)
{
	return a->pages + ((size_t)i << ARENA_PAGE_SHIFT);
}

/* Compiler barrier. A process killed between two stores leaves exactly the
 * stores it executed (the CPU drains them); this keeps the compiler from
 * reordering a "commit" store before the stores it publishes. */
#define ARENA_ORDER() atomic_signal_fence(memory_order_seq_cst)

/* arena_class.c: size-class geometry (pure functions). */
unsigned arena_class_of(size_t n); /* 1 <= n <= ARENA_SMALL_MAX */
uint32_t arena_class_size(unsigned c);
void arena_class_geometry(uint32_t size, uint32_t *slab_pages, uint32_t *nobj, uint32_t *hdr);

/* arena_page.c: runs of pages. Caller holds page_lock. */
void arena_page_init_locked(struct arena *a);
/* Take a run of n pages and make it kind (SLAB: of class cls; every page
 * gets its back link). Returns the head index, or ARENA_NIL. */
uint32_t arena_page_alloc_locked(struct arena *a, uint32_t n, uint8_t kind, uint8_t cls);
/* Give back the run headed by h (a SLAB, LARGE run), merging neighbours. */
void arena_page_free_locked(struct arena *a, uint32_t h);
void arena_page_bin_insert_locked(struct arena *a, uint32_t h);
unsigned arena_page_bin_of(uint32_t npages);

/* The in-use bitmap of slab h of class c (bit set = object in use). */
static inline uint64_t *arena_slab_bitmap(const struct arena *a, unsigned c, uint32_t h)
{
	if (a->cls[c].hdr == 0)
		return (uint64_t *)&a->desc[h].map;
	return (uint64_t *)(void *)arena_page_addr(a, h);
}

/* arena_slab.c: small objects. Caller holds cls[c].lock. */
void *arena_slab_alloc_locked(struct arena *a, unsigned c);
/* Free p, an object in the slab headed by h. Returns 0, or -EINVAL if p is
 * not a live object of that slab (nothing changed). */
int arena_slab_free_locked(struct arena *a, unsigned c, uint32_t h, void *p);
/* After a dead owner: make slab h's bitmap padding and nfree agree with
 * its bitmap again; returns nfree. Does not touch the partial list. */
uint32_t arena_slab_repair_locked(struct arena *a, unsigned c, uint32_t h);
/* 0 if slab h's padding bits are set and nfree matches its bitmap, else
 * -EUCLEAN. */
int arena_slab_check_locked(const struct arena *a, unsigned c, uint32_t h);
void arena_slab_list_push_locked(struct arena *a, unsigned c, uint32_t h);

/* arena_cache.c: the calling thread's slot cache for a, or NULL. */
struct arena_cache *arena_cache_mine(const struct arena *a);
/* A block of class c from cache k (refilled from the class when empty);
 * NULL when the class has none (counted). */
void *arena_cache_alloc(struct arena *a, struct arena_cache *k, unsigned c);
/* Keep p, a block of class c in the slab headed by h, in cache k: 0 kept,
 * 1 not (the caller frees it the locked way), -1 not a live block of that
 * slab (bad free). */
int arena_cache_free(struct arena *a, struct arena_cache *k, unsigned c, uint32_t h, void *p);
/* Does block p carry the tag of a block held in some cache? */
bool arena_cache_tagged(const struct arena *a, const void *p);
/* Blocks of class c held in all caches (a racy sum, for stats). */
uint64_t arena_cache_held(const struct arena *a, unsigned c);

/* arena_lock.c: take/release arena locks, repairing after a dead owner.
 * Return 0 (held, consistent) or a negative SE_E* code (not held). */
int arena_lock_pages(struct arena *a);
void arena_unlock_pages(struct arena *a);
int arena_lock_class(struct arena *a, unsigned c);
void arena_unlock_class(struct arena *a, unsigned c);

#endif
