/*
 * react: a policy's event reactions (policy.h, struct policy_reactions)
 * in shared memory, where any worker handling a transaction's later
 * events finds them.
 *
 * A transaction keeps the reactions of the policy generation it started
 * with (a reload must not change a call in flight), and its response may
 * arrive at any worker, which by then may run another generation. So the
 * reactions of every rule and pool are stored once in the arena as a
 * position-independent blob (offsets, no pointers), keyed by a hash of
 * the blob: the same content in two generations is one record. Records
 * are immutable once published and never freed (like the pool records:
 * the table is sized for the daemon's life, MASTER_POOL_REACTS).
 *
 * The master creates missing records in pool_bind (with create); workers
 * find them by key (without). A transaction stores only the record index
 * (struct policy_reactions.state).
 */
#ifndef SE_POOL_REACT_H
#define SE_POOL_REACT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../policy/policy.h"
#include "../shm/arena.h"

struct pool_shared;
struct react_table;

/* One header edit (policy_hdr_edit), strings as blob offsets. */
struct react_hdr {
	uint8_t op;     /* enum policy_hdr_op */
	uint32_t name;  /* offset of a NUL-terminated string */
	uint32_t value; /* 0 for PH_REMOVE */
};

/* One reaction (policy_react). Offsets are from the blob's first byte;
 * 0 means none. */
struct react_item {
	uint8_t event;  /* enum policy_event */
	uint8_t action; /* enum policy_react_do */
	uint8_t transport;
	bool has_codes;
	bool log;
	uint16_t port;
	uint16_t code;
	uint16_t bl_code;
	uint32_t ids;
	uint32_t bl_seconds;
	uint32_t reason;    /* string */
	uint32_t bl_reason; /* string */
	uint32_t cidrs;     /* struct policy_cidr[n_cidrs]: every prefix of `ips`, flattened */
	uint32_t n_cidrs;   /* 0 with cidrs 0: any address */
	uint32_t hdrs;      /* struct react_hdr[n_hdrs] */
	uint32_t n_hdrs;
	uint32_t line;      /* in the policy file: logs */
	struct policy_codes codes;
};

struct react_blob {
	uint32_t size; /* bytes, header included */
	uint32_t n;    /* items */
	struct react_item items[]; /* in order; then the strings and arrays */
};

static inline const char *react_str(const struct react_blob *b, uint32_t off)
{
	return off ? (const char *)b + off : NULL;
}

static inline const struct react_hdr *react_hdrs(const struct react_blob *b,
						 const struct react_item *it)
{
	return it->n_hdrs ? (const struct react_hdr *)((const char *)b + it->hdrs) : NULL;
}

/*
 * Build r's blob on the process heap (malloc; the caller frees), with
 * *key its identity (XXH3 of the bytes with the items' line numbers
 * zeroed, never 0: moving reactions within the file keeps their record,
 * whose lines, in logs, are then those of the first generation). NULL when r has no
 * reactions. Deterministic: the same reactions give the same bytes in
 * every process.
 */
struct react_blob *react_blob_build(const struct policy_reactions *r, uint64_t *key);

/* In arena a (master, before fork): a table of cap records (rounded up to
 * a power of two). Returns 0, SE_EINVAL (cap 0 or above POOL_TABLE_MAX) or
 * SE_ENOMEM. */
int react_table_create(struct arena *a, uint32_t cap, struct react_table **out);

/*
 * Set r->key and r->state for r (r->n == 0: state POLICY_NONE, nothing
 * else). create (the master, holding the pool table lock): store the blob
 * in the arena when its key is new (SE_ESHMFULL when the arena is short,
 * SE_ENOSPC when the table is full). Without create a missing record is
 * SE_ENOENT. On error *why names the cause (static storage).
 */
int react_bind(struct react_table *t, struct arena *a, struct policy_reactions *r, bool create,
	       const char **why);

/* The blob of record `state`, or NULL for POLICY_NONE. */
const struct react_blob *react_get(const struct react_table *t, uint32_t state);

/* What happened, for react_match. */
struct react_event {
	uint8_t event;             /* enum policy_event */
	uint16_t code;             /* PE_PROVISIONAL / SUCCESS / FAILURE */
	int ierr;                  /* PE_ERROR: enum se_ierr */
	const struct sockaddr *addr; /* PE_TARGET: the destination (AF_INET / AF_INET6) */
	uint16_t port;             /* PE_TARGET, host order */
	uint8_t transport;         /* PE_TARGET: enum config_transport */
};

/* The first item of b (NULL: none) for this event whose conditions hold,
 * or NULL. Allocates nothing, takes no lock. */
const struct react_item *react_match(const struct react_blob *b, const struct react_event *ev);

#endif
