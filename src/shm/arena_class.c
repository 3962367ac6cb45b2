/*
 * Size classes of the arena: which class serves n bytes, how big its
 * objects are, and how its slabs are cut. Pure arithmetic, no state.
 *
 * Classes: 16, 32, ... 128 (8 classes of 16-byte steps), then four steps
 * per power of two: 160 192 224 256, 320 ... 512, ... 5120 6144 7168 8192.
 * So the internal waste is below 25% (below 12.5% past 256 bytes on
 * average) and every size is a multiple of ARENA_ALIGN.
 */
#include "arena_impl.h"

#define LINEAR_CLASSES 8
#define LINEAR_MAX     128 /* LINEAR_CLASSES * ARENA_ALIGN */
#define LINEAR_LG      7   /* log2(LINEAR_MAX) */

_Static_assert(LINEAR_CLASSES + 4 * (13 - LINEAR_LG) == ARENA_NCLASSES, "class count");

/* O(1): one count-leading-zeros, no table. n - 1 puts exact powers of two
 * at the top of the group below, where their class is. */
unsigned arena_class_of(size_t n)
{
	if (n <= LINEAR_MAX)
		return (unsigned)((n + ARENA_ALIGN - 1) / ARENA_ALIGN) - 1;
	size_t m = n - 1;
	unsigned lg = 63 - (unsigned)__builtin_clzll((unsigned long long)m);
	unsigned step = (unsigned)(m >> (lg - 2)) - 4; /* 0..3 */
	return LINEAR_CLASSES + (lg - LINEAR_LG) * 4 + step;
}

uint32_t arena_class_size(unsigned c)
{
	if (c < LINEAR_CLASSES)
		return (c + 1) * ARENA_ALIGN;
	unsigned g = (c - LINEAR_CLASSES) / 4, i = (c - LINEAR_CLASSES) % 4;
	return (1u << (LINEAR_LG + g)) + ((i + 1) << (LINEAR_LG - 2 + g));
}

/* Objects of `size` that fit in `bytes` with their bitmap: in the head
 * descriptor when there are at most 64 (no header), else at the start of
 * the slab, rounded to ARENA_ALIGN so objects stay aligned. */
static void fit(uint32_t bytes, uint32_t size, uint32_t *nobj, uint32_t *hdr)
{
	uint32_t n = bytes / size, h = 0;

	if (n > ARENA_BITMAP_WORDS * 64)
		n = ARENA_BITMAP_WORDS * 64;
	if (n > 64) {
		for (;;) {
			h = ((n + 63) / 64 * 8 + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
			if (h + n * size <= bytes)
				break;
			n--;
		}
	}
	*nobj = n;
	*hdr = h;
}

/*
 * A slab is the fewest pages that hold at least 4 objects with at most
 * 1/8 wasted (so the per-slab cost of taking the page lock is spread over
 * several objects); if no run up to ARENA_SLAB_MAX_PAGES does that, the
 * least wasteful one.
 */
void arena_class_geometry(uint32_t size, uint32_t *slab_pages, uint32_t *nobj, uint32_t *hdr)
{
	uint32_t best = 1, best_waste_ppm = UINT32_MAX;

	for (uint32_t p = 1; p <= ARENA_SLAB_MAX_PAGES; p++) {
		uint32_t bytes = p * ARENA_PAGE_SIZE, n, h;

		fit(bytes, size, &n, &h);
		uint32_t waste = bytes - h - n * size;
		if (n >= 4 && waste * 8 <= bytes) {
			best = p;
			break;
		}
		uint32_t ppm = (uint32_t)((uint64_t)waste * 1000000 / bytes);
		if (n >= 1 && ppm < best_waste_ppm) {
			best = p;
			best_waste_ppm = ppm;
		}
	}
	*slab_pages = best;
	fit(best * ARENA_PAGE_SIZE, size, nobj, hdr);
}
