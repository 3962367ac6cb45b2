/*
 * policy_load_map: name -> index, for the loader.
 *
 * Pool, list, table and rule names are resolved through it, and a prefix
 * table's duplicates are found with it: with 100,000 prefixes, and as many
 * CSV lines naming a pool, anything but constant time per lookup shows in
 * the load time. Open addressing with linear probing over XXH3 hashes; the
 * table doubles at 1/2 load, so probes stay short. Keys are not copied.
 */
#include "policy_load.h"

#include <string.h>
#include <xxhash.h>

struct pload_map_slot {
	const char *s; /* NULL: empty */
	uint32_t len;
	uint32_t hash; /* low bits of the XXH3: the home slot, and compared
	                * before the bytes */
	uint32_t val;
};

static uint32_t hash_of(const char *s, size_t len)
{
	return (uint32_t)XXH3_64bits(s, len);
}

static struct pload_map_slot *find(const struct pload_map *m, const char *s, size_t len, uint32_t h)
{
	uint32_t mask = m->cap - 1;
	for (uint32_t i = h & mask;; i = (i + 1) & mask) {
		struct pload_map_slot *sl = &m->slots[i];
		if (!sl->s || (sl->hash == h && sl->len == len && memcmp(sl->s, s, len) == 0))
			return sl;
	}
}

static void grow(struct pload_map *m)
{
	struct pload_map old = *m;
	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = xmem_calloc(m->cap, sizeof(*m->slots));
	for (uint32_t i = 0; i < old.cap; i++) {
		const struct pload_map_slot *sl = &old.slots[i];
		if (!sl->s)
			continue;
		uint32_t mask = m->cap - 1, j = sl->hash & mask;
		while (m->slots[j].s)
			j = (j + 1) & mask;
		m->slots[j] = *sl;
	}
	free(old.slots);
}

uint32_t pload_map_get(const struct pload_map *m, const char *s, size_t len)
{
	if (!m->n)
		return POLICY_NONE;
	const struct pload_map_slot *sl = find(m, s, len, hash_of(s, len));
	return sl->s ? sl->val : POLICY_NONE;
}

uint32_t pload_map_put(struct pload_map *m, const char *s, size_t len, uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	uint32_t h = hash_of(s, len);
	struct pload_map_slot *sl = find(m, s, len, h);
	if (sl->s)
		return sl->val;
	*sl = (struct pload_map_slot){s, (uint32_t)len, h, val};
	m->n++;
	return POLICY_NONE;
}

void pload_map_free(struct pload_map *m)
{
	free(m->slots);
	*m = (struct pload_map){0};
}
