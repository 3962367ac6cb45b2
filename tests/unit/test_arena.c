/*
 * arena: size classes, alignment, no overlap, exhaustion that is counted
 * and recovers, statistics that add up, refused frees, permanent blocks,
 * page-run merging, several processes allocating at once, and repair after
 * a process dies holding an arena lock (white-box: arena_impl.h).
 *
 * Children never call cmocka: they report through their exit status and
 * arm alarm() so a deadlock cannot hang the run. The parent reaps every
 * child and signals only the ones it forked.
 */
#include "arena.h"
#include "arena_impl.h"

#include <sipedge/error.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#define MIB          (1u << 20)
#define CHILD_ALARM  20
#define ARRAY_LEN(x) (sizeof(x) / sizeof((x)[0]))

static struct arena *make(size_t size)
{
	struct arena *a = NULL;

	assert_int_equal(arena_create(size, &a), 0);
	assert_non_null(a);
	return a;
}

static struct arena_stats snap(struct arena *a)
{
	struct arena_stats st;

	assert_int_equal(arena_stats(a, &st), 0);
	return st;
}

/* The invariants a quiet arena must satisfy, from outside and inside. */
static void assert_consistent(struct arena *a)
{
	struct arena_stats st = snap(a);
	uint64_t used = 0, free_b = 0;

	assert_int_equal(arena_check(a), 0);
	assert_int_equal(st.pages_total,
	                 st.pages_free + st.pages_slab + st.pages_large + st.pages_perm);
	uint32_t slab_pages = 0;
	for (unsigned c = 0; c < st.nclasses; c++) {
		const struct arena_class_stats *cs = &st.cls[c];
		assert_int_equal(cs->used + cs->free, (uint64_t)cs->slabs * cs->objs_per_slab);
		slab_pages += cs->slabs * cs->slab_pages;
		used += cs->used * cs->size;
		free_b += cs->free * cs->size;
	}
	assert_int_equal(slab_pages, st.pages_slab);
	used += (uint64_t)st.pages_large * ARENA_PAGE_SIZE + st.perm_bytes;
	free_b += (uint64_t)st.pages_free * ARENA_PAGE_SIZE;
	assert_int_equal(st.used_bytes, used);
	assert_int_equal(st.free_bytes, free_b);
	assert_int_equal(st.meta_bytes + (size_t)st.pages_total * ARENA_PAGE_SIZE, st.total_bytes);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */

static void test_create_sizes(void **state)
{
	static const struct {
		size_t size;
		int rc;
		size_t total; /* expected mapping size when rc == 0 */
	} cases[] = {
	    {0, 0, ARENA_DEFAULT_SIZE},
	    {1 * MIB, 0, 1 * MIB},
	    {1 * MIB + 1, 0, 1 * MIB + ARENA_PAGE_SIZE},
	    {4096, -EINVAL, 0},
	    {64 * 1024, -EINVAL, 0},
	    {SIZE_MAX, -EINVAL, 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = NULL;
		int rc = arena_create(cases[i].size, &a);
		assert_int_equal(rc, cases[i].rc);
		if (rc != 0)
			continue;
		struct arena_stats st = snap(a);
		assert_int_equal(st.total_bytes, cases[i].total);
		assert_int_equal(st.pages_free, st.pages_total);
		assert_true(st.meta_bytes < st.total_bytes / 50); /* < 2% overhead */
		assert_int_equal(st.used_bytes, 0);
		assert_consistent(a);
		arena_destroy(a);
	}
	arena_destroy(NULL);
}

static void test_class_table(void **state)
{
	(void)state;
	for (unsigned c = 0; c < ARENA_NCLASSES; c++) {
		uint32_t size = arena_class_size(c), pages, nobj, hdr;
		assert_int_equal(size % ARENA_ALIGN, 0);
		if (c > 0)
			assert_true(size > arena_class_size(c - 1));
		arena_class_geometry(size, &pages, &nobj, &hdr);
		assert_true(nobj >= 1 && nobj <= ARENA_BITMAP_WORDS * 64);
		assert_true(pages >= 1 && pages <= ARENA_SLAB_MAX_PAGES);
		assert_true(hdr + (uint64_t)nobj * size <= (uint64_t)pages * ARENA_PAGE_SIZE);
		assert_int_equal(hdr == 0, nobj <= 64);
		assert_int_equal(hdr % ARENA_ALIGN, 0);
	}
	assert_int_equal(arena_class_size(ARENA_NCLASSES - 1), ARENA_SMALL_MAX);
	/* Every n gets the smallest class that holds it. */
	for (size_t n = 1; n <= ARENA_SMALL_MAX; n++) {
		unsigned c = arena_class_of(n);
		assert_true(c < ARENA_NCLASSES);
		assert_true(arena_class_size(c) >= n);
		if (c > 0)
			assert_true(arena_class_size(c - 1) < n);
	}
}

/* Many sizes at once: aligned, disjoint (each filled with its own byte and
 * checked after all the others were written), counted per class. */
static void test_alloc_sizes_aligned_disjoint(void **state)
{
	static const size_t sizes[] = {0,    1,    15,    16,    17,    100,  128,
	                               129,  256,  1000,  2049,  4096,  4097, 8191,
	                               8192, 8193, 12288, 65536, 300000};
	enum { REPEAT = 9 };
	struct arena *a = make(8 * MIB);
	void *p[ARRAY_LEN(sizes)][REPEAT];
	uint64_t want_used[ARENA_NCLASSES] = {0}, want_large = 0;
	(void)state;

	for (size_t r = 0; r < REPEAT; r++) {
		for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
			size_t n = sizes[i];
			p[i][r] = arena_alloc(a, n);
			assert_non_null(p[i][r]);
			assert_int_equal((uintptr_t)p[i][r] % ARENA_ALIGN, 0);
			memset(p[i][r], (int)(i * REPEAT + r + 1), n ? n : 1);
			if (n > ARENA_SMALL_MAX)
				want_large++;
			else
				want_used[arena_class_of(n ? n : 1)]++;
		}
	}
	for (size_t r = 0; r < REPEAT; r++) {
		for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
			const unsigned char *b = p[i][r];
			for (size_t k = 0; k < (sizes[i] ? sizes[i] : 1); k++)
				assert_int_equal(b[k], (unsigned char)(i * REPEAT + r + 1));
		}
	}
	struct arena_stats st = snap(a);
	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		assert_int_equal(st.cls[c].used, want_used[c]);
	assert_int_equal(st.large_used, want_large);
	assert_consistent(a);

	for (size_t r = 0; r < REPEAT; r++)
		for (size_t i = 0; i < ARRAY_LEN(sizes); i++)
			arena_free(a, p[i][r]);
	st = snap(a);
	assert_int_equal(st.used_bytes, 0);
	assert_int_equal(st.large_used, 0);
	assert_int_equal(st.bad_free, 0);
	assert_consistent(a);
	arena_destroy(a);
}

/* Fill the arena with one size until it refuses; the refusal is counted
 * where it belongs; freeing makes room again; freeing all gives the pages
 * back as one run. */
static void test_exhaustion_counted_and_recovers(void **state)
{
	static const size_t sizes[] = {16, 64, 300, 3000, 8192, 20000};
	enum { MAXP = 70000 };
	void **p = test_malloc(MAXP * sizeof(*p));
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i], count = 0;
		struct arena *a = make(1 * MIB);
		bool large = n > ARENA_SMALL_MAX;
		unsigned c = large ? 0 : arena_class_of(n);

		print_message("size %zu\n", n);
		while (count < MAXP && (p[count] = arena_alloc(a, n)) != NULL)
			count++;
		assert_true(count > 0 && count < MAXP);
		assert_true((uint64_t)count * n > 1 * MIB / 2);

		struct arena_stats st = snap(a);
		assert_int_equal(large ? st.large_fail : st.cls[c].fail, 1);
		assert_null(arena_alloc(a, n));
		st = snap(a);
		assert_int_equal(large ? st.large_fail : st.cls[c].fail, 2);
		assert_consistent(a);

		/* Free the second half; the same number fits again. */
		for (size_t k = count / 2; k < count; k++)
			arena_free(a, p[k]);
		for (size_t k = count / 2; k < count; k++)
			assert_non_null(p[k] = arena_alloc(a, n));
		assert_consistent(a);

		for (size_t k = 0; k < count; k++)
			arena_free(a, p[k]);
		st = snap(a);
		assert_int_equal(st.used_bytes, 0);
		assert_true(st.pages_slab <= ARENA_SLAB_MAX_PAGES); /* one kept slab */
		/* All free pages form one run again. */
		void *all = arena_alloc(a, (size_t)st.pages_free * ARENA_PAGE_SIZE);
		assert_non_null(all);
		arena_free(a, all);
		assert_int_equal(snap(a).bad_free, 0);
		assert_consistent(a);
		arena_destroy(a);
	}
	test_free(p);
}

static void test_calloc_zeroes(void **state)
{
	struct arena *a = make(1 * MIB);
	(void)state;

	unsigned char *p = arena_alloc(a, 256);
	assert_non_null(p);
	memset(p, 0xab, 256);
	arena_free(a, p);
	unsigned char *q = arena_calloc(a, 16, 16);
	assert_non_null(q);
	for (size_t i = 0; i < 256; i++)
		assert_int_equal(q[i], 0);
	arena_free(a, q);

	uint64_t before = snap(a).large_fail;
	assert_null(arena_calloc(a, SIZE_MAX / 2, 4));
	assert_int_equal(snap(a).large_fail, before + 1);
	q = arena_calloc(a, 0, 10);
	assert_non_null(q);
	arena_free(a, q);
	assert_consistent(a);
	arena_destroy(a);
}

/* Pointers arena_free must refuse, count, and survive. */
static void test_bad_free(void **state)
{
	struct arena *a = make(2 * MIB);
	int on_stack;
	(void)state;

	unsigned char *small = arena_alloc(a, 32); /* class 32 */
	unsigned char *small2 = arena_alloc(a, 32);
	unsigned char *big = arena_alloc(a, 5 * ARENA_PAGE_SIZE);
	unsigned char *perm = arena_alloc_permanent(a, 100);
	unsigned char *gone = arena_alloc(a, 64);
	unsigned char *gone_big = arena_alloc(a, 3 * ARENA_PAGE_SIZE);
	assert_true(small && small2 && big && perm && gone && gone_big);
	arena_free(a, gone);
	arena_free(a, gone_big);

	void *bad[] = {
	    &on_stack,               /* outside the arena */
	    (unsigned char *)a + 64, /* the control block */
	    small + 1,               /* misaligned */
	    small + 16,              /* inside an object */
	    big + ARENA_PAGE_SIZE,   /* middle of a large block */
	    big + 16,                /* inside a large block's first page */
	    perm,                    /* permanent */
	    gone,                    /* small, freed twice */
	    gone_big,                /* large, freed twice */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		arena_free(a, bad[i]);
		assert_int_equal(snap(a).bad_free, i + 1);
		assert_int_equal(arena_check(a), 0);
	}
	arena_free(a, NULL);
	assert_int_equal(snap(a).bad_free, ARRAY_LEN(bad));

	/* The good blocks are unharmed and free normally. */
	arena_free(a, small);
	arena_free(a, small2);
	arena_free(a, big);
	struct arena_stats st = snap(a);
	assert_int_equal(st.bad_free, ARRAY_LEN(bad));
	assert_int_equal(st.used_bytes, st.perm_bytes);
	assert_consistent(a);
	arena_destroy(a);
}

static void test_permanent(void **state)
{
	enum { N = 100 };
	struct arena *a = make(4 * MIB);
	unsigned char *p[N];
	size_t sum = 0;
	(void)state;

	for (size_t i = 0; i < N; i++) {
		size_t n = 1 + i * 7;
		p[i] = arena_alloc_permanent(a, n);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % ARENA_ALIGN, 0);
		memset(p[i], (int)i, n);
		sum += (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
	}
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < 1 + i * 7; k++)
			assert_int_equal(p[i][k], (unsigned char)i);
	struct arena_stats st = snap(a);
	assert_int_equal(st.perm_bytes, sum);
	assert_int_equal(st.pages_perm, ARENA_PERM_CHUNK_PAGES);

	/* A big one gets its own run and does not waste the chunk. */
	unsigned char *big = arena_alloc_permanent(a, 1 * MIB);
	assert_non_null(big);
	assert_int_equal((uintptr_t)big % ARENA_PAGE_SIZE, 0);
	memset(big, 0xee, 1 * MIB);
	unsigned char *next = arena_alloc_permanent(a, 16);
	size_t last = 1 + (N - 1) * 7;
	assert_ptr_equal(next, p[N - 1] + (last + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);
	st = snap(a);
	assert_int_equal(st.pages_perm, ARENA_PERM_CHUNK_PAGES + MIB / ARENA_PAGE_SIZE);

	assert_null(arena_alloc_permanent(a, 64 * MIB));
	assert_null(arena_alloc_permanent(a, SIZE_MAX));
	assert_int_equal(snap(a).perm_fail, 2);
	assert_consistent(a);
	arena_destroy(a);
}

/* Free runs merge with both neighbours whatever the order of the frees. */
static void test_page_runs_merge(void **state)
{
	static const uint32_t pages[4] = {3, 5, 4, 7}; /* all > ARENA_SMALL_MAX */
	static const unsigned orders[][4] = {
	    {0, 1, 2, 3}, {3, 2, 1, 0}, {1, 2, 0, 3}, {2, 0, 3, 1}, {0, 2, 1, 3}, {1, 3, 0, 2},
	};
	(void)state;

	for (size_t o = 0; o < ARRAY_LEN(orders); o++) {
		struct arena *a = make(1 * MIB);
		void *p[4];
		for (unsigned i = 0; i < 4; i++)
			assert_non_null(p[i] = arena_alloc(a, (size_t)pages[i] * ARENA_PAGE_SIZE));
		for (unsigned i = 0; i < 4; i++) {
			arena_free(a, p[orders[o][i]]);
			assert_int_equal(arena_check(a), 0);
		}
		struct arena_stats st = snap(a);
		assert_int_equal(st.pages_free, st.pages_total);
		void *all = arena_alloc(a, (size_t)st.pages_total * ARENA_PAGE_SIZE);
		assert_non_null(all);
		arena_free(a, all);
		assert_consistent(a);
		arena_destroy(a);
	}
}

/* A random single-process workload: the stats match our own books. */
static void test_stats_match_workload(void **state)
{
	enum { SLOTS = 512, OPS = 20000 };
	struct arena *a = make(8 * MIB);
	void *p[SLOTS] = {0};
	size_t n[SLOTS] = {0};
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	(void)state;

	for (int op = 0; op < OPS; op++) {
		size_t s = rng_next(&rng) % SLOTS;
		if (p[s]) {
			arena_free(a, p[s]);
			p[s] = NULL;
		} else {
			uint64_t r = rng_next(&rng);
			n[s] = r % 16 == 0 ? 8193 + r % 30000 : 1 + r % 2500;
			assert_non_null(p[s] = arena_alloc(a, n[s]));
		}
	}
	uint64_t used[ARENA_NCLASSES] = {0}, large_pages = 0, large = 0;
	for (size_t s = 0; s < SLOTS; s++) {
		if (!p[s])
			continue;
		if (n[s] > ARENA_SMALL_MAX) {
			large++;
			large_pages += (n[s] + ARENA_PAGE_SIZE - 1) / ARENA_PAGE_SIZE;
		} else {
			used[arena_class_of(n[s])]++;
		}
	}
	struct arena_stats st = snap(a);
	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		assert_int_equal(st.cls[c].used, used[c]);
	assert_int_equal(st.large_used, large);
	assert_int_equal(st.pages_large, large_pages);
	assert_consistent(a);
	for (size_t s = 0; s < SLOTS; s++)
		arena_free(a, p[s]);
	assert_int_equal(snap(a).used_bytes, 0);
	assert_consistent(a);
	arena_destroy(a);
}

/* ------------------------------------------------------------------ */
/* Several processes. */

/*
 * A child's workload: `iters` random alloc/free operations over 64 slots,
 * each block filled with a byte of its own and checked before it is
 * freed, so two processes handed overlapping memory are caught. Returns 0,
 * or 1 on a corrupted block. NULL (arena full) is allowed.
 */
static int hammer(struct arena *a, uint64_t seed, long iters, bool tiny)
{
	enum { SLOTS = 64 };
	unsigned char *p[SLOTS] = {0};
	size_t n[SLOTS] = {0};
	unsigned char tag[SLOTS] = {0};
	uint64_t rng = seed * 0x2545f4914f6cdd1dull + 1;

	for (long it = 0; it < iters; it++) {
		size_t s = rng_next(&rng) % SLOTS;
		if (p[s]) {
			for (size_t k = 0; k < n[s]; k++)
				if (p[s][k] != tag[s])
					return 1;
			arena_free(a, p[s]);
			p[s] = NULL;
			continue;
		}
		uint64_t r = rng_next(&rng);
		if (tiny) /* the allocator, not memset, dominates */
			n[s] = r % 64 == 0 ? 8193 + r % 8000 : 1 + r % 200;
		else
			n[s] = r % 64 == 0  ? 8193 + r % 40000
			       : r % 8 == 0 ? 1 + r % 8192
			                    : 1 + r % 600;
		p[s] = arena_alloc(a, n[s]);
		if (p[s]) {
			tag[s] = (unsigned char)(rng_next(&rng) | 1);
			memset(p[s], tag[s], n[s]);
		}
	}
	for (size_t s = 0; s < SLOTS; s++)
		arena_free(a, p[s]);
	return 0;
}

static void wait_exit0(pid_t pid)
{
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* n children hammer a at once (each bound to its slot's cache when
 * `cached`); all must exit 0. */
static void hammer_children(struct arena *a, int n, long iters, bool cached)
{
	pid_t pids[8];
	assert_true(n <= (int)ARRAY_LEN(pids));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			alarm(CHILD_ALARM);
			if (cached)
				arena_cache_bind(a, (uint32_t)i);
			_exit(hammer(a, (uint64_t)i + 1, iters, false));
		}
	}
	for (int i = 0; i < n; i++)
		wait_exit0(pids[i]);
}

static void test_multiprocess_hammer(void **state)
{
	enum { NCHILD = 4, ITERS = 30000 };
	struct arena *a = make(16 * MIB);
	(void)state;

	hammer_children(a, NCHILD, ITERS, false);
	struct arena_stats st = snap(a);
	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		assert_int_equal(st.cls[c].used, 0);
	assert_int_equal(st.large_used, 0);
	assert_int_equal(st.pages_large, 0);
	assert_int_equal(st.used_bytes, 0);
	assert_int_equal(st.bad_free, 0);
	assert_int_equal(st.lock_recovered, 0);
	assert_true(st.pages_slab <= ARENA_NCLASSES * ARENA_SLAB_MAX_PAGES);
	assert_consistent(a);
	arena_destroy(a);
}

/*
 * Per-slot caches (arena_cache.c): processes bound to their slots hammer
 * at once (a block handed to two of them would fail a tag check), then
 * blocks allocated through one slot's cache are freed through another's.
 * Blocks left in caches count as free; the arena stays consistent; a
 * block freed twice into one cache is refused.
 */
static void test_slot_caches(void **state)
{
	enum { NCHILD = 4, ITERS = 30000, NB = 500 };
	struct arena *a = make(16 * MIB);
	(void)state;

	assert_int_equal(arena_caches_create(a, NCHILD), 0);
	assert_int_equal(arena_caches_create(a, NCHILD), SE_EINVAL); /* once */
	hammer_children(a, NCHILD, ITERS, true);
	/* allocated through slot 0, tagged, freed through slot 1 */
	unsigned char **blk = arena_alloc_permanent(a, NB * sizeof(*blk));
	assert_non_null(blk);
	for (int phase = 0; phase < 2; phase++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(CHILD_ALARM);
			arena_cache_bind(a, (uint32_t)phase);
			for (int i = 0; i < NB; i++) {
				size_t n = 16 + (size_t)(i % 40) * 16;
				if (phase == 0) {
					if (!(blk[i] = arena_alloc(a, n)))
						_exit(2);
					memset(blk[i], i & 0xff, n);
					continue;
				}
				for (size_t k = 0; k < n; k++)
					if (blk[i][k] != (unsigned char)(i & 0xff))
						_exit(3);
				arena_free(a, blk[i]);
			}
			_exit(0);
		}
		wait_exit0(pid);
	}
	struct arena_stats st = snap(a);
	for (unsigned c = 0; c < ARENA_NCLASSES; c++)
		assert_int_equal(st.cls[c].used, 0);
	assert_int_equal(st.bad_free, 0);
	assert_consistent(a);

	/* this process, unbound (the locked path): the block slot 1 freed
	 * last sits in its cache, and a second free is refused */
	arena_free(a, blk[NB - 1]);
	assert_int_equal(snap(a).bad_free, 1);
	/* bound to slot 3: a double free into the cache */
	arena_cache_bind(a, 3);
	void *p = arena_alloc(a, 100);
	assert_non_null(p);
	arena_free(a, p);
	arena_free(a, p);
	assert_int_equal(snap(a).bad_free, 2);
	arena_free(a, (unsigned char *)arena_alloc(a, 100) + 16); /* not a block start */
	assert_int_equal(snap(a).bad_free, 3);
	/* freed through slot 1, now in its cache or back in its slab: either
	 * way a second free through this slot is refused */
	arena_free(a, blk[0]);
	arena_free(a, blk[NB - 1]);
	assert_int_equal(snap(a).bad_free, 5);
	arena_cache_bind(a, UINT32_MAX); /* unbound again: the locked path */
	assert_consistent(a);
	arena_destroy(a);
}

/*
 * Workers killed at random instants, likely inside the allocator: the
 * survivors' next lock repairs what they left, the arena stays consistent
 * and usable. (Blocks the dead held stay allocated: that is the price.)
 */
static void test_kill_while_hammering(void **state)
{
	enum { ROUNDS = 12, NCHILD = 3 };
	struct arena *a = make(16 * MIB);
	uint64_t rng = 12345;
	(void)state;

	for (int round = 0; round < ROUNDS; round++) {
		pid_t pids[NCHILD];
		for (int i = 0; i < NCHILD; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				alarm(CHILD_ALARM);
				for (uint64_t k = 1;; k++)
					if (hammer(a, (uint64_t)(round * NCHILD + i) * 1000 + k,
					           2000, true) != 0)
						_exit(1);
			}
		}
		sleep_ms(5 + (long)(rng_next(&rng) % 40));
		for (int i = 0; i < NCHILD; i++)
			assert_int_equal(kill(pids[i], SIGKILL), 0);
		for (int i = 0; i < NCHILD; i++) {
			int status;
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			/* killed by us, not dead of a detected corruption */
			assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		}
		assert_consistent(a);
		assert_int_equal(hammer(a, 777, 3000, false), 0);
		assert_consistent(a);
	}
	print_message("locks recovered from killed workers: %llu\n",
	              (unsigned long long)snap(a).lock_recovered);
	arena_destroy(a);
}

/* Run fn in a child that exits holding whatever lock fn took. */
static void die_in_child(struct arena *a, void (*fn)(struct arena *), bool sigkill)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(CHILD_ALARM);
		fn(a);
		if (sigkill)
			raise(SIGKILL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) || WIFSIGNALED(status));
}

#define TEST_CLASS 3 /* 64 bytes */

/* Dies in the middle of a class update: list and counters wrong. */
static void break_class(struct arena *a)
{
	struct arena_class *k = &a->cls[TEST_CLASS];

	shlock_lock(&k->lock);
	k->partial = ARENA_NIL;
	k->nused = 12345;
	k->nfree = 0;
	k->nslabs = 99;
	for (uint32_t i = 0; i < a->npages; i += a->desc[i].npages)
		if (a->desc[i].kind == ARENA_PK_SLAB && a->desc[i].cls == TEST_CLASS)
			a->desc[i].nfree = 7;
}

static void test_repair_class_after_owner_death(void **state)
{
	enum { LIVE = 100 };
	struct arena *a = make(2 * MIB);
	void *live[LIVE];
	(void)state;

	for (int i = 0; i < LIVE; i++) {
		assert_non_null(live[i] = arena_alloc(a, 64));
		memset(live[i], i, 64);
	}
	for (int i = 0; i < LIVE; i += 3) /* holes in the slabs */
		arena_free(a, live[i]), live[i] = NULL;
	uint64_t used_before = snap(a).cls[TEST_CLASS].used;

	die_in_child(a, break_class, false);

	void *p = arena_alloc(a, 64); /* takes the lock over, repairs */
	assert_non_null(p);
	for (int i = 0; i < LIVE; i++)
		assert_ptr_not_equal(p, live[i]);
	struct arena_stats st = snap(a);
	assert_int_equal(st.lock_recovered, 1);
	assert_int_equal(st.cls[TEST_CLASS].used, used_before + 1);
	assert_consistent(a);

	arena_free(a, p);
	for (int i = 0; i < LIVE; i++) {
		if (!live[i])
			continue;
		for (int k = 0; k < 64; k++)
			assert_int_equal(((unsigned char *)live[i])[k], (unsigned char)i);
		arena_free(a, live[i]);
	}
	st = snap(a);
	assert_int_equal(st.cls[TEST_CLASS].used, 0);
	assert_int_equal(st.bad_free, 0);
	assert_consistent(a);
	arena_destroy(a);
}

/* Page-lock deaths, each leaving a different kind of damage. */
static void break_bins(struct arena *a)
{
	shlock_lock(&a->page_lock);
	for (unsigned b = 0; b < ARENA_NBINS; b++)
		a->bins[b] = ARENA_NIL;
	a->binmap = 0;
	a->pages_free = 0;
	a->pages_large = 999;
}

/* A free that set the head FREE, then died before merging (two free runs
 * side by side, neither in a bin). */
static void break_half_free(struct arena *a)
{
	shlock_lock(&a->page_lock);
	for (uint32_t i = 0; i < a->npages; i += a->desc[i].npages) {
		if (a->desc[i].kind == ARENA_PK_LARGE) {
			a->desc[i].kind = ARENA_PK_FREE;
			return;
		}
	}
}

/* A head that makes no sense: the rest of the arena is fenced off. */
static void break_head(struct arena *a)
{
	shlock_lock(&a->page_lock);
	for (uint32_t i = 0; i < a->npages; i += a->desc[i].npages) {
		if (a->desc[i].kind == ARENA_PK_LARGE) {
			a->desc[i].npages = 0;
			return;
		}
	}
}

static void test_repair_pages_after_owner_death(void **state)
{
	static const struct {
		const char *name;
		void (*breaker)(struct arena *);
		bool sigkill;
		bool usable;       /* large allocations still possible afterwards (the
		                    * fence takes the end of the arena; allocations
		                    * come from the end of the free run before it) */
		uint64_t bad_free; /* keep's slab fenced off: its free refused */
	} cases[] = {
	    {"bins lost", break_bins, false, true, 0},
	    {"free not merged", break_half_free, true, true, 0},
	    {"bad head", break_head, true, true, 1},
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct arena *a = make(2 * MIB);
		void *keep = arena_alloc(a, 100);
		void *l1 = arena_alloc(a, 3 * ARENA_PAGE_SIZE);
		void *l2 = arena_alloc(a, 5 * ARENA_PAGE_SIZE);
		assert_true(keep && l1 && l2);
		(void)l1;

		print_message("case: %s\n", cases[i].name);
		die_in_child(a, cases[i].breaker, cases[i].sigkill);
		assert_consistent(a); /* the first lock repairs */
		assert_int_equal(snap(a).lock_recovered, 1);
		void *p = arena_alloc(a, 4 * ARENA_PAGE_SIZE);
		assert_true((p != NULL) == cases[i].usable);
		arena_free(a, p);
		arena_free(a, keep);
		assert_int_equal(snap(a).bad_free, cases[i].bad_free);
		assert_consistent(a);
		arena_destroy(a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_sizes),
	    cmocka_unit_test(test_class_table),
	    cmocka_unit_test(test_alloc_sizes_aligned_disjoint),
	    cmocka_unit_test(test_exhaustion_counted_and_recovers),
	    cmocka_unit_test(test_calloc_zeroes),
	    cmocka_unit_test(test_bad_free),
	    cmocka_unit_test(test_permanent),
	    cmocka_unit_test(test_page_runs_merge),
	    cmocka_unit_test(test_stats_match_workload),
	    cmocka_unit_test(test_multiprocess_hammer),
	    cmocka_unit_test(test_slot_caches),
	    cmocka_unit_test(test_kill_while_hammering),
	    cmocka_unit_test(test_repair_class_after_owner_death),
	    cmocka_unit_test(test_repair_pages_after_owner_death),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
