/*
 * policy_load: what the loader's files share (internal to src/policy).
 *
 *   policy_load.c        the walker, the top level, the end checks, the result
 *   policy_load_map.c    name -> index hash map (names, duplicate prefixes)
 *   policy_load_list.c   CIDRs and `lists:`
 *   policy_load_pool.c   `pools:`, destinations, probe/passive/failover blocks
 *   policy_load_table.c  `tables:`, inline prefixes and CSV files
 *   policy_load_rule.c   `rules:`: actions and modifiers
 *   policy_load_match.c  a rule's `match:` into a condition tree
 *   policy_load_react.c  `on:` of a rule or a pool: event reactions
 *
 * Everything the finished policy holds is allocated from it (policy_alloc),
 * so a failed load is released by one policy_free. The loader's own scratch
 * (growing arrays, name maps) is on the process heap and freed by
 * policy_load on every path.
 */
#ifndef SE_POLICY_LOAD_H
#define SE_POLICY_LOAD_H

#include "policy.h"
#include "xmem.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names of pools, rules, lists and tables: typed in CLI commands and
 * printed by `--explain`, so one plain word. */
#define PLOAD_NAME_MAX 64
/* Destinations tried per request: one per branch of the transaction
 * (TXN_MAX_BRANCHES in src/txn/txn.h). */
#define PLOAD_MAX_TRIES 4

/* ---- name -> index map (policy_load_map.c) ------------------------------ */

struct pload_map_slot;

/* Open addressing over XXH3 hashes. Keys are not copied: they must outlive
 * the map (YAML nodes during the load, or strings in the policy). */
struct pload_map {
	struct pload_map_slot *slots;
	uint32_t cap, n;
};

/* The value stored for s, or POLICY_NONE. */
uint32_t pload_map_get(const struct pload_map *m, const char *s, size_t len);
/* Store s -> val unless s is there; returns POLICY_NONE when stored, else
 * the value already stored (which is kept). */
uint32_t pload_map_put(struct pload_map *m, const char *s, size_t len, uint32_t val);
void pload_map_free(struct pload_map *m);

/* ---- the loader ------------------------------------------------------- */

/* A range of messages that belong to another file (a CSV): sorted after
 * the policy file's, in the order the files were read. */
struct pload_span {
	size_t from, to; /* message indices [from, to) in errs */
};

struct pload {
	struct policy *p;
	struct ydoc_errs *errs;
	const char *file; /* the policy file, as given */
	const struct policy_reader *rd;
	struct policy_dest *dests; /* growing; moved into p->dests at the end */
	size_t n_dests, cap_dests;
	void **res; /* every pcre2_code; moved into p->regexes */
	size_t n_res, cap_res;
	struct pload_map pools, lists, tables, rules; /* name -> index */
	uint32_t *pool_uses, *list_uses, *table_uses; /* for "not used" warnings */
	struct pload_span *spans;
	size_t n_spans, cap_spans;
};

/* ---- the key walker (policy_load.c) ----------------------------------- */

/*
 * Reads one key's value into obj (the struct being filled). `key` is the
 * key node (conditions record its position), `what` the name to prefix
 * messages with ("probe.interval"). Reports its own errors.
 */
typedef void (*pload_fn)(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj);

/* Checks a string value: NULL when it is good, else what is wrong (a
 * static phrase, or written into buf). */
typedef const char *(*pload_check)(const char *s, size_t len, char *buf, size_t size);

enum pload_type {
	PT_FN = 0, /* the row's fn reads it */
	PT_BOOL,   /* bool at off */
	PT_U32,    /* uint32_t at off, min..max */
	PT_MS,     /* duration into a uint32_t at off, milliseconds, min..max */
	PT_TEXT,   /* a string the row's check accepts, copied into the policy:
	            * const char * at off */
};

#define PK_REQUIRED 0x01 /* the key must be present */
#define PK_ACTION   0x02 /* a rule's action: exactly one per rule */

/* One key of a mapping; a table ends with a row whose name is NULL. */
struct pload_key {
	const char *name;
	uint8_t type;      /* enum pload_type */
	uint8_t flags;     /* PK_* */
	size_t off;        /* offset of the field in obj; PT_FN gets obj + off */
	uint32_t min, max; /* PT_U32, PT_MS */
	pload_fn fn;       /* PT_FN */
	const char *why;   /* PT_U32: appended to a range error, or NULL */
	pload_check check; /* PT_TEXT, or NULL: any string */
};

/*
 * Check mapping `map` against `keys`: unknown keys, required keys, one
 * action at most. Then read the present keys in the order of the table,
 * not of the file, so that a reader can rely on the rows above it (a
 * pool's destinations see its probe block; a rule's modifiers see its
 * action). `what` names the mapping in a type error ("pool 'a'"),
 * `prefix` is put before key names in messages ("probe" gives
 * "probe.interval"; NULL: none). A NULL map is an empty file. Returns 0,
 * or SE_ECONFIG if map is not a mapping (reported, nothing read).
 */
int pload_walk(struct pload *ld, const struct ydoc_node *map, const struct pload_key *keys,
               const char *what, const char *prefix, void *obj);

/* Each entry of a mapping of named objects (`lists`, `pools`, `tables`),
 * as the index-th of them. */
typedef void (*pload_each_fn)(struct pload *ld, const struct ydoc_node *name,
                              const struct ydoc_node *val, uint32_t index);

/*
 * Read mapping val of named objects of `kind` ("pool"): *array gets room
 * for all of them (elements of `size`, zeroed, in the policy) and *uses
 * a counter each; every name is checked and recorded in names, even a bad
 * one (so that its users get no second error), and each(...) reads the
 * entry after *n is counted. An empty value is no objects.
 */
void pload_named(struct pload *ld, const struct ydoc_node *val, const char *what, const char *kind,
                 size_t size, void **array, uint32_t *n, struct pload_map *names, uint32_t **uses,
                 pload_each_fn each);

/* ---- shared helpers (policy_load.c) ----------------------------------- */

/* The index of the object named by scalar n in names, counted in uses;
 * POLICY_NONE with "undefined KIND 'x'" reported when there is none. */
uint32_t pload_ref(struct pload *ld, const struct ydoc_node *n, const struct pload_map *names,
                   uint32_t *uses, const char *kind);

/* Read name node n ("pool", "rule"...) and check it is one word. Returns
 * 0, or SE_ECONFIG (reported). */
int pload_name(struct pload *ld, const struct ydoc_node *n, const char *kind);
/* A string of the node, copied into the policy. */
const char *pload_str(struct pload *ld, const struct ydoc_node *n);
/* A warning at an explicit position in the policy file. */
void pload_warn_at(struct pload *ld, uint32_t line, uint32_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* RFC 3261 §25.1 token (header names, methods). */
bool pload_is_token(const char *s, size_t len);
/* A value or a sequence of values: the items, n of them, in *items (for a
 * value, *one holds it and *items points to one). Returns 0 or SE_ECONFIG
 * (reported; an empty sequence is an error too). The items are not
 * checked: each is read by the caller. */
int pload_scalars(struct pload *ld, const struct ydoc_node *val, const char *what,
                  const struct ydoc_node **one, const struct ydoc_node *const **items, size_t *n);
/* Compile a regex (PCRE2, JIT when available), kept in the policy. NULL on
 * error (reported at n, with PCRE2's message and the offset). */
void *pload_regex(struct pload *ld, const struct ydoc_node *n, const char *what, bool caseless);
/* The bytes of file `path`, through ld->rd or from the disk. Returns 0
 * with *buf and *len (valid until *owned is freed; *owned may be NULL),
 * or -errno. */
int pload_read_file(struct pload *ld, const char *path, const char **buf, size_t *len,
                    char **owned);

/* ---- pieces (one file each) --------------------------------------------- */

/* policy_load_list.c: `lists:`, and one CIDR or address. */
void pload_lists(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                 const char *what, void *obj);
int pload_cidr(struct pload *ld, const struct ydoc_node *n, const char *what,
               struct policy_cidr *out);
/* A scalar that is written as an address ("10.0.0.1", "2001:db8::/32"),
 * not as a list name. */
bool pload_looks_like_cidr(const char *s);
/*
 * Addresses to test against (`source`, a reaction's `ip`): a list name
 * alone (that list, counted as used), or one or more CIDRs and addresses
 * (an inline list, in the policy). With merge, a sequence may also name
 * lists, whose prefixes are copied in; without, that is an error (name it
 * alone). NULL when nothing could be read (reported); an inline list
 * whose items were partly refused is returned with the good ones.
 */
const struct policy_cidrs *pload_cidrs(struct pload *ld, const struct ydoc_node *val,
                                       const char *what, bool merge);

/* policy_load_pool.c: `pools:`, and the blocks rules reuse. */
void pload_pools(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                 const char *what, void *obj);
void pload_failover_defaults(struct policy_failover *f);
/* A code set: one or more status codes ("404") and classes ("5xx", the part
 * of it within min..max), each within min..max. Returns 0 with *out set,
 * or SE_ECONFIG (reported; *out untouched). */
int pload_codes(struct pload *ld, const struct ydoc_node *val, const char *what,
                struct policy_codes *out, unsigned min, unsigned max);
/* obj: struct policy_failover */
void pload_failover(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                    const char *what, void *obj);
/* A new destination (pool POLICY_NONE) for URI node n, appended to
 * ld->dests; returns its index. The URI is checked (policy_dest.c). */
uint32_t pload_dest_new(struct pload *ld, const struct ydoc_node *n, uint32_t pool);

/* policy_load_table.c: `tables:` and their CSV files. */
void pload_tables(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                  const char *what, void *obj);

/* policy_load_rule.c: `rules:`. */
void pload_rules(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                 const char *what, void *obj);

/* Header edits while they are read (a rule's `headers`, a reaction's): they
 * grow on the process heap until pload_hdrs_adopt moves them into the
 * policy. */
struct pload_hdrs {
	struct policy_hdr_edit *v;
	size_t n, cap;
	const char *answer; /* the edits are on an answer the proxy makes, named
	                     * so ("reply"): only add; NULL: on a message that
	                     * passes (remove and replace too) */
};
/* `headers:`, a mapping of remove, replace and add; the names are checked
 * (SIP tokens, not managed by the proxy), the values are one line. */
void pload_headers(struct pload *ld, const struct ydoc_node *val, const char *what,
                   struct pload_hdrs *h);
/* `reply.headers`: "Name: value" pairs added (a mapping, or a sequence of
 * one-pair mappings). */
void pload_header_adds(struct pload *ld, const struct ydoc_node *val, const char *what,
                       struct pload_hdrs *h);
/* Move the edits into the policy (*out, *n; untouched when none) and reset h. */
void pload_hdrs_adopt(struct pload *ld, struct pload_hdrs *h, struct policy_hdr_edit **out,
                      uint32_t *n);
/* Reason phrases and header values: one line of printable text (no CR, LF
 * or other control characters but HTAB). */
bool pload_one_line(const char *s, size_t len);
/* The same as a PT_TEXT check. */
const char *pload_check_one_line(const char *s, size_t len, char *buf, size_t size);

/* policy_load_react.c: `on:` of a rule or of a pool, into obj, a struct
 * policy_reactions (key 0 and state POLICY_NONE are left for pool_bind). */
void pload_on(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
              const char *what, void *obj);

/* policy_load_match.c: a rule's `match:` mapping; NULL when it is empty
 * (every request). */
struct policy_cond *pload_match(struct pload *ld, const struct ydoc_node *map);

#endif
