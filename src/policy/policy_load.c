/*
 * policy_load: policy.yaml to a struct policy, driven by key tables.
 *
 * Each level of the file (top, pool, destination, rule) is a table of keys
 * with a reader per key; one walker checks a mapping against its table
 * (unknown keys, required keys, exactly one action per rule) and calls the
 * readers. Extending the policy is adding rows and readers. References
 * (a rule's `route` to a pool) are resolved in a link pass after the whole
 * file is read, so the order of `pools` and `rules` in the file does not
 * matter. Every problem is collected; the block is packed only when there
 * is none.
 */
#include "policy.h"
#include "policy_build.h"
#include "policy_dest.h"
#include "xmem.h"

#include <sipedge/error.h>

#include <stdlib.h>
#include <string.h>

struct loader;

/* Reads one key's value into the object of index idx (rule, pool or
 * destination; unused at the top). Reports its own errors. */
typedef void (*pkey_read)(struct loader *ld, const struct ydoc_node *val, uint32_t idx);

#define PK_REQUIRED 0x01 /* the key must be present */
#define PK_ACTION   0x02 /* one of the rule's actions: exactly one per rule */

struct pkey {
	const char *name;
	unsigned flags;
	pkey_read read;
};

/* Where each rule and pool came from, parallel to the build arrays: the
 * link pass needs the nodes for its messages. */
struct rule_src {
	const struct ydoc_node *name;  /* NULL if missing or bad */
	const struct ydoc_node *route; /* the pool name to resolve, or NULL */
};

struct pool_src {
	const struct ydoc_node *key;
	uint32_t uses;
};

struct loader {
	struct policy_build b;
	struct ydoc_errs *errs;
	const char *file;
	struct rule_src *rules;
	size_t cap_rules;
	struct pool_src *pools;
	size_t cap_pools;
};

#define NAME_MAX_LEN 64

/* Pool and rule names are typed in CLI commands and printed in logs and
 * `route --explain`: keep them to one plain word. */
static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int read_name(struct loader *ld, const struct ydoc_node *n, const char *kind,
                     const char **out)
{
	if (ydoc_expect(n, YDOC_SCALAR, kind, ld->errs))
		return SE_ECONFIG;
	if (!valid_name(n->scalar.str, n->scalar.len)) {
		ydoc_errs_add(ld->errs, n,
		              "bad %s name '%s': use up to %d letters, digits, '_', '-' or '.'",
		              kind, n->scalar.str, NAME_MAX_LEN);
		return SE_ECONFIG;
	}
	*out = n->scalar.str;
	return 0;
}

/*
 * Check `map` against `keys` and call each key's reader. A NULL map is an
 * empty file. `what` names the object for type errors ("rule", "pool 'x'").
 */
static void walk(struct loader *ld, const struct ydoc_node *map, const struct pkey *keys,
                 const char *what, uint32_t idx)
{
	const struct ydoc_node *action = NULL;
	bool has_actions = false;

	if (map && ydoc_expect(map, YDOC_MAP, what, ld->errs))
		return;
	for (size_t i = 0; map && i < map->map.n; i++) {
		const struct ydoc_node *key = map->map.pairs[i].key;
		const struct pkey *k = keys;
		while (k->name && strcmp(k->name, key->scalar.str) != 0)
			k++;
		if (!k->name) {
			ydoc_errs_add(ld->errs, key, "unknown key '%s'", key->scalar.str);
			continue;
		}
		if (k->flags & PK_ACTION) {
			if (action) {
				ydoc_errs_add(ld->errs, key,
				              "only one action per rule: '%s' already given",
				              action->scalar.str);
				continue;
			}
			action = key;
		}
		k->read(ld, map->map.pairs[i].value, idx);
	}
	for (const struct pkey *k = keys; k->name; k++) {
		has_actions |= (k->flags & PK_ACTION) != 0;
		if (!(k->flags & PK_REQUIRED) || ydoc_map_get(map, k->name))
			continue;
		if (map)
			ydoc_errs_add(ld->errs, map, "missing required key '%s'", k->name);
		else
			ydoc_errs_add_at(ld->errs, ld->file, 1, 1, "missing required key '%s'",
			                 k->name);
	}
	if (has_actions && !action && map) {
		char list[128] = "";
		size_t len = 0;
		for (const struct pkey *k = keys; k->name && len < sizeof(list); k++)
			if (k->flags & PK_ACTION)
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
				                        len ? ", " : "", k->name);
		ydoc_errs_add(ld->errs, map, "rule has no action: give one of %s", list);
	}
}

/* ---- destinations ----------------------------------------------------- */

static void read_dest_uri(struct loader *ld, const struct ydoc_node *val, uint32_t d)
{
	const char *s;
	if (ydoc_read_str(val, "uri", &s, ld->errs))
		return;
	uint32_t str = policy_build_str(&ld->b, s);
	ld->b.dests[d].uri = str;
	policy_dest_parse(val, &ld->b.dests[d], ld->errs);
}

static const struct pkey dest_keys[] = {
    {"uri", PK_REQUIRED, read_dest_uri},
    {NULL, 0, NULL},
};

/* ---- pools ------------------------------------------------------------ */

static void read_destinations(struct loader *ld, const struct ydoc_node *val, uint32_t pool)
{
	const char *name = ld->pools[pool].key->scalar.str;
	if (ydoc_is_null(val) || (val->type == YDOC_SEQ && val->seq.n == 0)) {
		ydoc_errs_add(ld->errs, val, "pool '%s' has no destinations", name);
		return;
	}
	if (ydoc_expect(val, YDOC_SEQ, "destinations", ld->errs))
		return;
	for (size_t i = 0; i < val->seq.n; i++) {
		const struct ydoc_node *item = val->seq.items[i];
		uint32_t d = policy_build_dest(&ld->b);
		ld->b.dests[d].pool = pool;
		ld->b.dests[d].line = item->line;
		walk(ld, item, dest_keys, "destination", d);
	}
}

static const struct pkey pool_keys[] = {
    {"destinations", PK_REQUIRED, read_destinations},
    {NULL, 0, NULL},
};

static void read_pools(struct loader *ld, const struct ydoc_node *val, uint32_t unused)
{
	(void)unused;
	if (ydoc_is_null(val))
		return; /* `pools:` with nothing: a forward-only policy */
	if (ydoc_expect(val, YDOC_MAP, "pools", ld->errs))
		return;
	for (size_t i = 0; i < val->map.n; i++) {
		const struct ydoc_node *key = val->map.pairs[i].key;
		const char *name;
		/* A badly named pool is still recorded, so rules using it do not
		 * add "undefined pool" on top of the name error. */
		read_name(ld, key, "pool", &name);
		uint32_t p = policy_build_pool(&ld->b);
		ld->pools = xmem_grow(ld->pools, &ld->cap_pools, p, sizeof(*ld->pools));
		ld->pools[p] = (struct pool_src){.key = key};
		uint32_t str = policy_build_str(&ld->b, key->scalar.str);
		ld->b.pools[p].name = str;
		ld->b.pools[p].line = key->line;
		ld->b.pools[p].first_dest = (uint32_t)ld->b.n_dests;

		char what[NAME_MAX_LEN + 16];
		snprintf(what, sizeof(what), "pool '%s'", key->scalar.str);
		walk(ld, val->map.pairs[i].value, pool_keys, what, p);
		ld->b.pools[p].n_dests = (uint32_t)ld->b.n_dests - ld->b.pools[p].first_dest;
	}
}

/* ---- rules ------------------------------------------------------------ */

static void read_rule_name(struct loader *ld, const struct ydoc_node *val, uint32_t r)
{
	const char *name;
	if (read_name(ld, val, "rule", &name))
		return;
	uint32_t str = policy_build_str(&ld->b, name);
	ld->b.rules[r].name = str;
	ld->rules[r].name = val;
}

static void read_route(struct loader *ld, const struct ydoc_node *val, uint32_t r)
{
	const char *pool;
	ld->b.rules[r].action = POLICY_ACT_ROUTE;
	if (ydoc_read_str(val, "route", &pool, ld->errs))
		return;
	ld->rules[r].route = val; /* resolved by link_routes */
}

/* `forward: request-uri` sends to the Request-URI as received (a plain
 * proxy); `forward: URI` sends to that one destination. */
static void read_forward(struct loader *ld, const struct ydoc_node *val, uint32_t r)
{
	const char *s;
	ld->b.rules[r].action = POLICY_ACT_FORWARD;
	if (ydoc_read_str(val, "forward", &s, ld->errs) || strcmp(s, "request-uri") == 0)
		return;
	uint32_t d = policy_build_dest(&ld->b);
	uint32_t str = policy_build_str(&ld->b, s);
	ld->b.dests[d].uri = str;
	ld->b.dests[d].line = val->line;
	ld->b.rules[r].dest = d;
	policy_dest_parse(val, &ld->b.dests[d], ld->errs);
}

static const struct pkey rule_keys[] = {
    {"name", PK_REQUIRED, read_rule_name},
    {"route", PK_ACTION, read_route},
    {"forward", PK_ACTION, read_forward},
    {NULL, 0, NULL},
};

static void read_rules(struct loader *ld, const struct ydoc_node *val, uint32_t unused)
{
	(void)unused;
	if (ydoc_is_null(val) || (val->type == YDOC_SEQ && val->seq.n == 0)) {
		ydoc_errs_add(ld->errs, val, "rules: at least one rule is required");
		return;
	}
	if (ydoc_expect(val, YDOC_SEQ, "rules", ld->errs))
		return;
	for (size_t i = 0; i < val->seq.n; i++) {
		const struct ydoc_node *item = val->seq.items[i];
		uint32_t r = policy_build_rule(&ld->b);
		ld->rules = xmem_grow(ld->rules, &ld->cap_rules, r, sizeof(*ld->rules));
		ld->rules[r] = (struct rule_src){0};
		ld->b.rules[r].line = item->line;
		walk(ld, item, rule_keys, "rule", r);
	}
}

static const struct pkey top_keys[] = {
    {"pools", 0, read_pools},
    {"rules", PK_REQUIRED, read_rules},
    {NULL, 0, NULL},
};

/* ---- link pass -------------------------------------------------------- */

struct name_ref {
	const char *name;
	uint32_t idx;
};

static int name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Resolve each `route` to its pool by binary search over the sorted names:
 * rules times pools stays cheap with thousands of each. */
static void link_routes(struct loader *ld)
{
	size_t n = ld->b.n_pools;
	struct name_ref *refs = xmem_malloc(n * sizeof(*refs));
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct name_ref){ld->pools[i].key->scalar.str, (uint32_t)i};
	qsort(refs, n, sizeof(*refs), name_ref_cmp);

	for (size_t r = 0; r < ld->b.n_rules; r++) {
		const struct ydoc_node *route = ld->rules[r].route;
		if (!route)
			continue;
		struct name_ref key = {route->scalar.str, 0}, *hit = NULL;
		size_t lo = 0, hi = n;
		while (lo < hi) { /* first entry >= key: names are unique */
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(refs[mid].name, key.name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < n && strcmp(refs[lo].name, key.name) == 0)
			hit = &refs[lo];
		if (!hit) {
			ydoc_errs_add(ld->errs, route, "undefined pool '%s'", route->scalar.str);
			continue;
		}
		ld->b.rules[r].pool = hit->idx;
		ld->pools[hit->idx].uses++;
	}
	free(refs);
}

/* Rule names are how operators and `route --explain` refer to rules. */
static void check_rule_names(struct loader *ld)
{
	size_t n = 0, total = ld->b.n_rules;
	struct name_ref *refs = xmem_malloc(total * sizeof(*refs));
	uint32_t *first_of = xmem_malloc(total * sizeof(*first_of));
	for (size_t r = 0; r < total; r++) {
		first_of[r] = POLICY_NONE;
		if (ld->rules[r].name)
			refs[n++] = (struct name_ref){ld->rules[r].name->scalar.str, (uint32_t)r};
	}
	qsort(refs, n, sizeof(*refs), name_ref_cmp);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (strcmp(refs[i].name, refs[first].name) == 0)
			first_of[refs[i].idx] = refs[first].idx;
		else
			first = i;
	}
	for (size_t r = 0; r < total; r++) {
		if (first_of[r] == POLICY_NONE)
			continue;
		const struct ydoc_node *name = ld->rules[r].name;
		ydoc_errs_add(ld->errs, name, "duplicate rule name '%s' (first at line %u)",
		              name->scalar.str, (unsigned)ld->rules[first_of[r]].name->line);
	}
	free(first_of);
	free(refs);
}

static void warn_unused_pools(struct loader *ld)
{
	for (size_t p = 0; p < ld->b.n_pools; p++)
		if (ld->pools[p].uses == 0)
			ydoc_errs_warn(ld->errs, ld->pools[p].key,
			               "pool '%s' is not used by any rule",
			               ld->pools[p].key->scalar.str);
}

int policy_load(const char *path, struct policy **out, struct ydoc_errs *errs)
{
	size_t first = errs->n, errors = errs->n_errors;
	struct loader ld = {.errs = errs, .file = path};
	struct ydoc *doc;

	*out = NULL;
	ydoc_load(path, &doc, errs); /* a tree after recoverable errors: check on */
	if (doc) {
		const struct ydoc_node *root = ydoc_root(doc);
		walk(&ld, ydoc_is_null(root) ? NULL : root, top_keys, "policy", 0);
		link_routes(&ld);
		check_rule_names(&ld);
		warn_unused_pools(&ld);
		if (errs->n_errors == errors) {
			*out = policy_build_pack(&ld.b, path);
			if (!*out)
				ydoc_errs_add_at(errs, path, 0, 0, "policy larger than 4 GiB");
		}
		ydoc_free(doc);
	}
	policy_build_free(&ld.b);
	free(ld.rules);
	free(ld.pools);
	ydoc_errs_sort(errs, first);
	return *out ? 0 : SE_ECONFIG;
}
