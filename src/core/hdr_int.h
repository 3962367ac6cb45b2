/*
 * Header-name lookup tables and the inline lookup over them (RFC 3261
 * §7.3.3 compact forms, §20 names), shared by hdr.c, which defines the
 * tables and se_hdr_lookup(), and the message parser's header loop
 * (msg_int.h), which calls hdr_lookup() on every header line. Internal
 * to libsipedge-core.
 */
#ifndef SE_CORE_HDR_INT_H
#define SE_CORE_HDR_INT_H

#include <sipedge/hdr.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Header-name lookup, inline for the header loop (se_hdr_lookup() is this
 * too). Full names are found by a hash of their length and first and last
 * letters, case folded: one slot, one candidate, compared whole. HDR_HASH
 * has no collision over the names of SE_HDR_MAP; a new name that collides
 * is a duplicate initialiser in hdr.c, which gcc (-Woverride-init, part of
 * -Wextra) and clang refuse under -Werror, and test_hdr checks that every
 * name maps back to its id. Compact forms are indexed by their letter.
 */
#define HDR_HASH(len, a, z) (((len) * 3u + ((a) | 0x20u) * 8u + ((z) | 0x20u) * 4u) & 255u)

extern const char *const hdr_names[SE_HDR__COUNT];
extern const unsigned char hdr_lens[SE_HDR__COUNT];
extern const unsigned char hdr_compact[26];
extern const unsigned char hdr_hash[256];

static inline uint64_t hdr_load8(const char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t hdr_load4(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Compare name[0, n) case-insensitively with a canonical name made of
 * letters and '-'. The input has been checked to be a token, so folding
 * bit 0x20 cannot turn a non-letter into a letter or '-'. Words are
 * compared whole (the last one overlapping the one before when n is not a
 * multiple of the word size) and never read outside either string.
 * se_ieq_letters() (chars.h) does the same for a lower-case literal; this
 * one folds both sides, as the canonical names are in mixed case, and
 * reads whole words, as names are long. */
static inline int hdr_name_ieq(const char *name, const char *canon, size_t n)
{
	const uint64_t f8 = 0x2020202020202020ull;
	const uint32_t f4 = 0x20202020u;
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8)
			if ((hdr_load8(name + i) | f8) != (hdr_load8(canon + i) | f8))
				return 0;
		return (hdr_load8(name + n - 8) | f8) == (hdr_load8(canon + n - 8) | f8);
	}
	if (n >= 4)
		return (hdr_load4(name) | f4) == (hdr_load4(canon) | f4) &&
		       (hdr_load4(name + n - 4) | f4) == (hdr_load4(canon + n - 4) | f4);
	if (n >= 2) {
		uint16_t a, c, d, e;
		memcpy(&a, name, 2);
		memcpy(&c, canon, 2);
		memcpy(&d, name + n - 2, 2);
		memcpy(&e, canon + n - 2, 2);
		return (a | 0x2020) == (c | 0x2020) && (d | 0x2020) == (e | 0x2020);
	}
	return n == 0 || (unsigned char)(name[0] | 0x20) == (unsigned char)(canon[0] | 0x20);
}

static inline enum se_hdr_id hdr_lookup(const char *name, size_t len)
{
	if (len == 0)
		return SE_HDR_OTHER;
	if (len == 1) {
		unsigned char c = (unsigned char)(name[0] | 0x20);
		return c >= 'a' && c <= 'z' ? (enum se_hdr_id)hdr_compact[c - 'a'] : SE_HDR_OTHER;
	}
	unsigned id = hdr_hash[HDR_HASH(len, (unsigned char)name[0], (unsigned char)name[len - 1])];
	if (hdr_lens[id] == len && hdr_name_ieq(name, hdr_names[id], len))
		return (enum se_hdr_id)id;
	return SE_HDR_OTHER;
}

#endif
