/*
 * blacklist: targets that must not be used for a while, in shared memory.
 *
 * A target is an IP address, a port (0 = any port) and a transport (0 =
 * any). Entries expire on their own; fed by the policy's on-target
 * reactions and by `sipedgectl blacklist add|del`. A request whose chosen
 * target is listed is answered with the entry's code and reason (default
 * 403 Destination Blacklisted, DESIGN.md internal errors), and pools skip
 * listed destinations.
 *
 * A fixed-size open-addressing table under one robust lock: a lookup is a
 * hash and a short probe; the table never allocates after creation. When
 * full, an add replaces the entry closest to expiry.
 */
#ifndef SE_POOL_BLACKLIST_H
#define SE_POOL_BLACKLIST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../shm/arena.h"

#define BLACKLIST_REASON_MAX 64

struct blacklist;

struct blacklist_entry {
	uint8_t addr[16];                  /* IPv4 as ::ffff:a.b.c.d */
	uint16_t port;                     /* 0: any */
	uint8_t transport;                 /* enum config_transport, 0: any */
	uint16_t code;                     /* answered upstream, default 403 */
	char reason[BLACKLIST_REASON_MAX]; /* default "Destination Blacklisted" */
	uint64_t until_ms;                 /* CLOCK_MONOTONIC ms */
	uint64_t added_ms;
};

/* In arena a (master, before fork), room for cap entries (the table has
 * twice as many slots, so that probes stay short). Returns 0, SE_EINVAL
 * (cap 0 or above 1 << 20) or SE_ENOMEM. */
int blacklist_create(struct arena *a, uint32_t cap, struct blacklist **out);

/* Add or refresh (same addr/port/transport) for `seconds` (> 0). code 0 /
 * reason NULL take the defaults; reason is cut to BLACKLIST_REASON_MAX - 1
 * bytes. Returns 0, SE_EINVAL (not an IPv4/IPv6 address, seconds 0, code
 * outside 400-699, a control character in reason: it becomes a reason
 * phrase), or a negative error from the lock. */
int blacklist_add(struct blacklist *bl, const struct sockaddr *sa, uint16_t port, uint8_t transport,
                  uint32_t seconds, uint16_t code, const char *reason, uint64_t now_ms);
/* Remove; returns true when an entry was there. */
bool blacklist_del(struct blacklist *bl, const struct sockaddr *sa, uint16_t port,
                   uint8_t transport);
/* Is this target listed (exact port or any port; exact transport or any;
 * the most specific entry answers)? When it is and out is not NULL, *out
 * is a copy of the entry. Takes no lock while the list is empty. */
bool blacklist_check(struct blacklist *bl, const struct sockaddr *sa, uint16_t port,
                     uint8_t transport, uint64_t now_ms, struct blacklist_entry *out);
/* Copy up to max live entries into out; returns how many are live. */
uint32_t blacklist_list(struct blacklist *bl, uint64_t now_ms, struct blacklist_entry *out,
                        uint32_t max);

/* The 16-byte form of sa's address (IPv4 as ::ffff:a.b.c.d), as in
 * entries; also what pool hashing on the source address reads. Returns
 * false for NULL or another family. */
bool blacklist_addr16(const struct sockaddr *sa, uint8_t out[16]);

#endif
