/*
 * blacklist: targets not to be used for a while (blacklist.h).
 *
 * A linear-probing table of 2 * cap slots in the arena (so probes stay
 * short however full the list is) under one robust lock. A slot is free
 * when its until_ms is 0. Removal shifts the following entries back
 * (Knuth's algorithm R), so there are no tombstones and a lookup stops at
 * the first free slot. Expired entries go lazily: a lookup that meets its
 * own expired entry removes it, and an add into a full list first rebuilds
 * the table without the expired ones, then evicts the one closest to
 * expiry. The rebuild also repairs the table after a process died holding
 * the lock in the middle of a shift.
 *
 * Readers skip the lock altogether while the list is empty, which is
 * nearly always: pool_select asks about every destination it returns.
 */
#include "blacklist.h"

#include "shlock.h"

#include <sipedge/error.h>

#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <xxhash.h>

#define BL_CAP_MAX        (1u << 20)
#define BL_DEFAULT_CODE   403
#define BL_DEFAULT_REASON "Destination Blacklisted"

struct blacklist {
	struct shlock lock;
	_Atomic uint32_t live;           /* entries in the table, expired or not; written
	                                  * under the lock, read without it (0: empty) */
	uint32_t cap;                    /* entries allowed */
	uint32_t mask;                   /* slots - 1 */
	struct blacklist_entry *scratch; /* [cap]: room for a rebuild */
	struct blacklist_entry slot[];   /* [mask + 1] */
};

/* What identifies an entry: the address, port and transport. */
struct bl_key {
	uint8_t addr[16];
	uint16_t port;
	uint8_t transport;
};

bool blacklist_addr16(const struct sockaddr *sa, uint8_t out[16])
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	if (sa->sa_family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	return false;
}

static uint32_t key_home(const struct blacklist *bl, const uint8_t addr[16], uint16_t port,
                         uint8_t transport)
{
	uint8_t b[19];

	memcpy(b, addr, 16);
	b[16] = (uint8_t)(port >> 8);
	b[17] = (uint8_t)port;
	b[18] = transport;
	return (uint32_t)XXH3_64bits(b, sizeof(b)) & bl->mask;
}

static uint32_t entry_home(const struct blacklist *bl, const struct blacklist_entry *e)
{
	return key_home(bl, e->addr, e->port, e->transport);
}

static bool entry_is(const struct blacklist_entry *e, const struct bl_key *k)
{
	return e->port == k->port && e->transport == k->transport &&
	       memcmp(e->addr, k->addr, 16) == 0;
}

int blacklist_create(struct arena *a, uint32_t cap, struct blacklist **out)
{
	if (cap == 0 || cap > BL_CAP_MAX)
		return SE_EINVAL;
	uint32_t slots = 2;
	while (slots < 2 * cap)
		slots <<= 1;
	struct blacklist *bl =
	    arena_alloc_permanent(a, sizeof(*bl) + (size_t)slots * sizeof(struct blacklist_entry));
	struct blacklist_entry *scratch =
	    arena_alloc_permanent(a, (size_t)cap * sizeof(struct blacklist_entry));
	if (!bl || !scratch)
		return SE_ENOMEM;
	memset(bl, 0, sizeof(*bl) + (size_t)slots * sizeof(struct blacklist_entry));
	int rc = shlock_init(&bl->lock);
	if (rc)
		return rc;
	bl->cap = cap;
	bl->mask = slots - 1;
	bl->scratch = scratch;
	*out = bl;
	return 0;
}

/*
 * Free slot i, moving back each following entry of its cluster that could
 * no longer be found past the hole (algorithm R). The scan cannot come
 * round to i: at least half the slots are free.
 */
static void remove_locked(struct blacklist *bl, uint32_t i)
{
	for (uint32_t j = (i + 1) & bl->mask; bl->slot[j].until_ms != 0; j = (j + 1) & bl->mask) {
		/* Entry j may stay when its home lies cyclically in (i, j]. */
		uint32_t h = entry_home(bl, &bl->slot[j]);
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;
		bl->slot[i] = bl->slot[j];
		i = j;
	}
	bl->slot[i].until_ms = 0;
	atomic_store_explicit(&bl->live, atomic_load_explicit(&bl->live, memory_order_relaxed) - 1,
	                      memory_order_release);
}

/* Index of k's live entry, or UINT32_MAX; an expired one found on the way
 * is removed (now_ms 0: expiry not checked). */
static uint32_t find_locked(struct blacklist *bl, const struct bl_key *k, uint64_t now_ms)
{
	uint32_t i = key_home(bl, k->addr, k->port, k->transport);

	for (; bl->slot[i].until_ms != 0; i = (i + 1) & bl->mask) {
		if (!entry_is(&bl->slot[i], k))
			continue;
		if (now_ms && bl->slot[i].until_ms <= now_ms) {
			remove_locked(bl, i);
			return UINT32_MAX;
		}
		return i;
	}
	return UINT32_MAX;
}

/* Put e in the first free slot from its home (the caller made room). */
static void place_locked(struct blacklist *bl, const struct blacklist_entry *e)
{
	uint32_t i = entry_home(bl, e);

	while (bl->slot[i].until_ms != 0)
		i = (i + 1) & bl->mask;
	bl->slot[i] = *e;
	atomic_store_explicit(&bl->live, atomic_load_explicit(&bl->live, memory_order_relaxed) + 1,
	                      memory_order_release);
}

/*
 * Rebuild the table from its entries that are live at now_ms (0: all):
 * drops expired ones, and after a dead owner drops duplicates and closes
 * the holes a half-done shift may have left. At most cap entries survive.
 */
static void rebuild_locked(struct blacklist *bl, uint64_t now_ms)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i <= bl->mask; i++) {
		struct blacklist_entry *e = &bl->slot[i];
		if (e->until_ms != 0 && (now_ms == 0 || e->until_ms > now_ms) && n < bl->cap)
			bl->scratch[n++] = *e;
		e->until_ms = 0;
	}
	atomic_store_explicit(&bl->live, 0, memory_order_release);
	for (uint32_t i = 0; i < n; i++) {
		struct blacklist_entry *e = &bl->scratch[i];
		struct bl_key k = {.port = e->port, .transport = e->transport};
		memcpy(k.addr, e->addr, 16);
		e->reason[BLACKLIST_REASON_MAX - 1] = '\0';
		if (find_locked(bl, &k, 0) == UINT32_MAX)
			place_locked(bl, e);
	}
}

static int bl_lock(struct blacklist *bl)
{
	int rc = shlock_lock(&bl->lock);

	if (rc == SHLOCK_RECOVERED) {
		rebuild_locked(bl, 0);
		rc = 0;
	}
	return rc;
}

/* Make room for one more entry: drop the expired ones, else the entry
 * closest to expiry. */
static void make_room_locked(struct blacklist *bl, uint64_t now_ms)
{
	if (atomic_load_explicit(&bl->live, memory_order_relaxed) < bl->cap)
		return;
	rebuild_locked(bl, now_ms);
	if (atomic_load_explicit(&bl->live, memory_order_relaxed) < bl->cap)
		return;
	uint32_t soonest = UINT32_MAX;
	for (uint32_t i = 0; i <= bl->mask; i++) {
		uint64_t u = bl->slot[i].until_ms;
		if (u != 0 && (soonest == UINT32_MAX || u < bl->slot[soonest].until_ms))
			soonest = i;
	}
	remove_locked(bl, soonest);
}

static bool make_key(const struct sockaddr *sa, uint16_t port, uint8_t transport, struct bl_key *k)
{
	memset(k, 0, sizeof(*k));
	k->port = port;
	k->transport = transport;
	return blacklist_addr16(sa, k->addr);
}

/* A reason becomes a SIP reason phrase (RFC 3261 §25.1: text, SP and
 * HTAB): no CR, LF or other control character may reach the wire. */
static bool reason_ok(const char *r)
{
	for (; *r; r++)
		if (((unsigned char)*r < 0x20 && *r != '\t') || *r == 0x7f)
			return false;
	return true;
}

static void fill_entry(struct blacklist_entry *e, const struct bl_key *k, uint32_t seconds,
                       uint16_t code, const char *reason, uint64_t now_ms)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, k->addr, 16);
	e->port = k->port;
	e->transport = k->transport;
	e->code = code ? code : BL_DEFAULT_CODE;
	strncpy(e->reason, reason ? reason : BL_DEFAULT_REASON, BLACKLIST_REASON_MAX - 1);
	e->added_ms = now_ms;
	e->until_ms = now_ms + (uint64_t)seconds * 1000;
}

int blacklist_add(struct blacklist *bl, const struct sockaddr *sa, uint16_t port, uint8_t transport,
                  uint32_t seconds, uint16_t code, const char *reason, uint64_t now_ms)
{
	struct bl_key k;
	struct blacklist_entry e;

	if (!make_key(sa, port, transport, &k) || seconds == 0 ||
	    (code && (code < 400 || code > 699)) || (reason && !reason_ok(reason)))
		return SE_EINVAL;
	fill_entry(&e, &k, seconds, code, reason, now_ms);
	int rc = bl_lock(bl);
	if (rc < 0)
		return rc;
	uint32_t i = find_locked(bl, &k, now_ms);
	if (i != UINT32_MAX) {
		bl->slot[i] = e;
	} else {
		make_room_locked(bl, now_ms);
		place_locked(bl, &e);
	}
	shlock_unlock(&bl->lock);
	return 0;
}

bool blacklist_del(struct blacklist *bl, const struct sockaddr *sa, uint16_t port,
                   uint8_t transport)
{
	struct bl_key k;

	if (!make_key(sa, port, transport, &k) || bl_lock(bl) < 0)
		return false;
	uint32_t i = find_locked(bl, &k, 0);
	if (i != UINT32_MAX)
		remove_locked(bl, i);
	shlock_unlock(&bl->lock);
	return i != UINT32_MAX;
}

bool blacklist_check(struct blacklist *bl, const struct sockaddr *sa, uint16_t port,
                     uint8_t transport, uint64_t now_ms, struct blacklist_entry *out)
{
	/* Most specific first: exact port and transport, then any transport,
	 * then any port. */
	static const struct {
		bool any_port, any_transport;
	} tries[] = {{false, false}, {false, true}, {true, false}, {true, true}};
	struct bl_key k;

	if (atomic_load_explicit(&bl->live, memory_order_acquire) == 0 ||
	    !make_key(sa, port, transport, &k) || bl_lock(bl) < 0)
		return false;
	uint32_t hit = UINT32_MAX;
	for (size_t t = 0; t < sizeof(tries) / sizeof(tries[0]) && hit == UINT32_MAX; t++) {
		k.port = tries[t].any_port ? 0 : port;
		k.transport = tries[t].any_transport ? 0 : transport;
		hit = find_locked(bl, &k, now_ms);
	}
	if (hit != UINT32_MAX && out)
		*out = bl->slot[hit];
	shlock_unlock(&bl->lock);
	return hit != UINT32_MAX;
}

uint32_t blacklist_list(struct blacklist *bl, uint64_t now_ms, struct blacklist_entry *out,
                        uint32_t max)
{
	uint32_t n = 0;

	if (bl_lock(bl) < 0)
		return 0;
	for (uint32_t i = 0; i <= bl->mask; i++) {
		const struct blacklist_entry *e = &bl->slot[i];
		if (e->until_ms == 0 || e->until_ms <= now_ms)
			continue;
		if (n < max)
			out[n] = *e;
		n++;
	}
	shlock_unlock(&bl->lock);
	return n;
}
