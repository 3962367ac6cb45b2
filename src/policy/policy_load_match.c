/*
 * policy_load_match: a rule's `match:` mapping into a tree of struct
 * policy_cond (policy.h), for policy_eval.c and policy_tree.c.
 *
 * Every key of a mapping is one test and all must hold: one key is the
 * test itself, several are a PC_ALL, in the order they are written (so
 * `--explain` names the first one that fails as the operator reads them).
 * `not`, `any` and `all` nest mappings. Values are checked here, once:
 * methods are SIP tokens, schemes and transports are known names, regexes
 * compile, CIDRs are exact and lists exist. Hosts, schemes and transports
 * compare without case (RFC 3261 §19.1.4; a host regex is compiled
 * caseless too); users, methods and header values compare exactly.
 */
#include "policy_load.h"

#include <sipedge/error.h>

#include <stddef.h>
#include <string.h>
#include <strings.h>

/* The conditions of one mapping, while it is read. */
struct kids {
	struct policy_cond **v;
	size_t n, cap;
};

static struct policy_cond *cond_new(struct pload *ld, uint8_t kind, const struct ydoc_node *at)
{
	struct policy_cond *c = policy_alloc(ld->p, sizeof(*c));
	c->kind = kind;
	c->line = at->line;
	c->col = at->col;
	return c;
}

static void kids_add(struct kids *k, struct policy_cond *c)
{
	k->v = xmem_grow(k->v, &k->cap, k->n, sizeof(*k->v));
	k->v[k->n++] = c;
}

/* File order: keys are read in table order, tests are written otherwise. */
static void kids_sort(struct kids *k)
{
	for (size_t i = 1; i < k->n; i++) {
		struct policy_cond *c = k->v[i];
		size_t j = i;
		for (; j > 0 && (k->v[j - 1]->line > c->line ||
		                 (k->v[j - 1]->line == c->line && k->v[j - 1]->col > c->col));
		     j--)
			k->v[j] = k->v[j - 1];
		k->v[j] = c;
	}
}

/* Move the collected kids into c. */
static void kids_adopt(struct pload *ld, struct policy_cond *c, struct kids *k)
{
	if (k->n) {
		c->kids = policy_alloc(ld->p, k->n * sizeof(*c->kids));
		memcpy(c->kids, k->v, k->n * sizeof(*c->kids));
	}
	c->n_kids = (uint32_t)k->n;
	free(k->v);
	*k = (struct kids){0};
}

/* ---- string tests ----------------------------------------------------- */

#define FORM_MAP   0x01 /* also {exact: | prefix: | regex:} */
#define FORM_TOKEN 0x02 /* values are SIP tokens (methods) */

struct field {
	const char *key;
	uint8_t field; /* enum policy_field */
	uint8_t forms; /* FORM_* */
	bool nocase;
	const char *const *names; /* the only values allowed, or NULL */
};

static const char *const schemes[] = {"sip", "sips", "tel", NULL};
static const char *const transports[] = {"udp", "tcp", "tls", "ws", "wss", NULL};

static const struct field fields[] = {
    {"method", PF_METHOD, FORM_TOKEN, false, NULL},
    {"ruri-scheme", PF_RURI_SCHEME, 0, true, schemes},
    {"ruri-user", PF_RURI_USER, FORM_MAP, false, NULL},
    {"ruri-host", PF_RURI_HOST, FORM_MAP, true, NULL},
    {"from-user", PF_FROM_USER, FORM_MAP, false, NULL},
    {"from-host", PF_FROM_HOST, FORM_MAP, true, NULL},
    {"to-user", PF_TO_USER, FORM_MAP, false, NULL},
    {"to-host", PF_TO_HOST, FORM_MAP, true, NULL},
    {"transport", PF_TRANSPORT, 0, true, transports},
    {"listener", PF_LISTENER, 0, false, NULL},
    {NULL, 0, 0, false, NULL},
};

static const char *names_list(const char *const *names, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		                        i == 0         ? ""
		                        : names[i + 1] ? ", "
		                                       : " or ",
		                        names[i]);
	return buf;
}

static bool value_ok(struct pload *ld, const struct field *f, const struct ydoc_node *n,
                     const char *what)
{
	const char *s = n->scalar.str;
	if ((f->forms & FORM_TOKEN) && !pload_is_token(s, n->scalar.len)) {
		ydoc_errs_add(ld->errs, n, "%s: '%s' is not a SIP token", what, s);
		return false;
	}
	if (!f->names)
		return true;
	for (const char *const *nm = f->names; *nm; nm++)
		if (strcasecmp(*nm, s) == 0)
			return true;
	char list[64];
	ydoc_errs_add(ld->errs, n, "%s: unknown value '%s' (use %s)", what, s,
	              names_list(f->names, list, sizeof(list)));
	return false;
}

/* op PO_EQ or PO_PREFIX over a value or a sequence of values. */
static struct policy_cond *string_test(struct pload *ld, const struct field *f, uint8_t op,
                                       const struct ydoc_node *at, const struct ydoc_node *val,
                                       const char *what)
{
	const struct ydoc_node *one, *const *items;
	size_t n;
	bool ok = true;
	if (pload_scalars(ld, val, what, &one, &items, &n))
		return NULL;
	struct policy_cond *c = cond_new(ld, PC_TEST, at);
	c->field = f->field;
	c->op = op;
	c->nocase = f->nocase;
	c->vals = policy_alloc(ld->p, n * sizeof(*c->vals));
	c->lens = policy_alloc(ld->p, n * sizeof(*c->lens));
	for (size_t i = 0; i < n; i++) {
		const char *s;
		if (ydoc_read_str(items[i], what, &s, ld->errs) ||
		    !value_ok(ld, f, items[i], what)) {
			ok = false;
			continue;
		}
		c->vals[c->n_vals] = pload_str(ld, items[i]);
		c->lens[c->n_vals++] = (uint32_t)items[i]->scalar.len;
	}
	return ok ? c : NULL;
}

static struct policy_cond *regex_test(struct pload *ld, uint8_t field, bool nocase,
                                      const struct ydoc_node *at, const struct ydoc_node *val,
                                      const char *what)
{
	void *re = pload_regex(ld, val, what, nocase);
	if (!re)
		return NULL;
	struct policy_cond *c = cond_new(ld, PC_TEST, at);
	c->field = field;
	c->op = PO_REGEX;
	c->nocase = nocase;
	c->re = re;
	c->vals = policy_alloc(ld->p, sizeof(*c->vals));
	c->lens = policy_alloc(ld->p, sizeof(*c->lens));
	c->vals[0] = pload_str(ld, val);
	c->lens[0] = (uint32_t)val->scalar.len;
	c->n_vals = 1;
	return c;
}

/* {exact: ...}, {prefix: ...} or {regex: ...}: exactly one. */
static struct policy_cond *op_map(struct pload *ld, const struct field *f,
                                  const struct ydoc_node *at, const struct ydoc_node *map,
                                  const char *what)
{
	if (map->map.n != 1) {
		ydoc_errs_add(ld->errs, map, "%s: give exactly one of exact, prefix or regex",
		              what);
		return NULL;
	}
	const struct ydoc_node *k = map->map.pairs[0].key, *v = map->map.pairs[0].value;
	char sub[96];
	snprintf(sub, sizeof(sub), "%s.%s", what, k->scalar.str);
	if (strcmp(k->scalar.str, "exact") == 0)
		return string_test(ld, f, PO_EQ, at, v, sub);
	if (strcmp(k->scalar.str, "prefix") == 0)
		return string_test(ld, f, PO_PREFIX, at, v, sub);
	if (strcmp(k->scalar.str, "regex") == 0)
		return regex_test(ld, f->field, f->nocase, at, v, sub);
	ydoc_errs_add(ld->errs, k, "unknown key '%s' (use exact, prefix or regex)", k->scalar.str);
	return NULL;
}

static void read_field(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                       const char *what, void *obj)
{
	const struct field *f = fields;
	while (strcmp(f->key, key->scalar.str) != 0)
		f++;
	struct policy_cond *c;
	if ((f->forms & FORM_MAP) && val->type == YDOC_MAP)
		c = op_map(ld, f, key, val, what);
	else
		c = string_test(ld, f, PO_EQ, key, val, what);
	if (c)
		kids_add(obj, c);
}

/* ---- header ---------------------------------------------------------------- */

/* The keys of one header test, kept as nodes and checked together. */
struct hdr_spec {
	const struct ydoc_node *name, *present, *equals, *prefix, *regex;
};

static void keep_node(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                      const char *what, void *obj)
{
	(void)ld;
	(void)key;
	(void)what;
	*(const struct ydoc_node **)obj = val;
}

static const struct pload_key header_keys[] = {
    {"name", PT_FN, PK_REQUIRED, offsetof(struct hdr_spec, name), 0, 0, keep_node, NULL},
    {"present", PT_FN, 0, offsetof(struct hdr_spec, present), 0, 0, keep_node, NULL},
    {"equals", PT_FN, 0, offsetof(struct hdr_spec, equals), 0, 0, keep_node, NULL},
    {"prefix", PT_FN, 0, offsetof(struct hdr_spec, prefix), 0, 0, keep_node, NULL},
    {"regex", PT_FN, 0, offsetof(struct hdr_spec, regex), 0, 0, keep_node, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static const struct field header_field = {"header", PF_HEADER, 0, false, NULL};

static struct policy_cond *header_test(struct pload *ld, const struct ydoc_node *at,
                                       const struct ydoc_node *map, const char *what)
{
	struct hdr_spec h = {0};
	const char *name;
	bool present = true;
	char sub[96];

	if (pload_walk(ld, map, header_keys, what, what, &h) || !h.name)
		return NULL;
	int tests = !!h.present + !!h.equals + !!h.prefix + !!h.regex;
	if (tests != 1) {
		ydoc_errs_add(ld->errs, map,
		              "%s: give exactly one of present, equals, prefix or regex", what);
		return NULL;
	}
	snprintf(sub, sizeof(sub), "%s.name", what);
	if (ydoc_read_str(h.name, sub, &name, ld->errs))
		return NULL;
	if (!pload_is_token(name, h.name->scalar.len)) {
		ydoc_errs_add(ld->errs, h.name, "%s: bad header name '%s': not a SIP token", sub,
		              name);
		return NULL;
	}
	struct policy_cond *c;
	if (h.present) {
		snprintf(sub, sizeof(sub), "%s.present", what);
		if (ydoc_read_bool(h.present, sub, &present, ld->errs))
			return NULL;
		c = cond_new(ld, PC_TEST, at);
		c->field = PF_HEADER;
		c->op = PO_PRESENT;
	} else if (h.regex) {
		snprintf(sub, sizeof(sub), "%s.regex", what);
		c = regex_test(ld, PF_HEADER, false, at, h.regex, sub);
	} else {
		snprintf(sub, sizeof(sub), "%s.%s", what, h.equals ? "equals" : "prefix");
		c = string_test(ld, &header_field, h.equals ? PO_EQ : PO_PREFIX, at,
		                h.equals ? h.equals : h.prefix, sub);
	}
	if (!c)
		return NULL;
	c->header = pload_str(ld, h.name);
	if (present)
		return c;
	struct policy_cond *not = cond_new(ld, PC_NOT, at);
	not ->kids = policy_alloc(ld->p, sizeof(*not ->kids));
	not ->kids[0] = c;
	not ->n_kids = 1;
	return not ;
}

/* A mapping, or a sequence of them: every one must hold. */
static void read_header(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                        const char *what, void *obj)
{
	struct policy_cond *c;
	if (val->type == YDOC_SEQ && val->seq.n) {
		for (size_t i = 0; i < val->seq.n; i++)
			if ((c = header_test(ld, val->seq.items[i], val->seq.items[i], what)))
				kids_add(obj, c);
		return;
	}
	if (val->type != YDOC_MAP) {
		ydoc_errs_add(ld->errs, val, "%s: expected a mapping or a sequence of them, got %s",
		              what, ydoc_describe(val));
		return;
	}
	if ((c = header_test(ld, key, val, what)))
		kids_add(obj, c);
}

/* ---- source address ---------------------------------------------------------- */

static void read_source(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                        const char *what, void *obj)
{
	const struct policy_cidrs *l = pload_cidrs(ld, val, what, false);
	if (!l)
		return;
	struct policy_cond *c = cond_new(ld, PC_TEST, key);
	c->field = PF_SOURCE;
	c->op = PO_CIDR;
	c->cidrs = l;
	kids_add(obj, c);
}

/* ---- nesting ------------------------------------------------------------ */

static struct policy_cond *match_map(struct pload *ld, const struct ydoc_node *map,
                                     const char *what);

static void read_not(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                     const char *what, void *obj)
{
	struct policy_cond *kid = match_map(ld, val, what);
	if (!kid)
		return;
	struct policy_cond *c = cond_new(ld, PC_NOT, key);
	c->kids = policy_alloc(ld->p, sizeof(*c->kids));
	c->kids[0] = kid;
	c->n_kids = 1;
	kids_add(obj, c);
}

static void read_any_all(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                         const char *what, void *obj)
{
	bool any = strcmp(key->scalar.str, "any") == 0;
	struct kids k = {0};
	if (ydoc_expect(val, YDOC_SEQ, what, ld->errs))
		return;
	if (val->seq.n == 0) {
		ydoc_errs_add(ld->errs, val, "%s: give at least one match", what);
		return;
	}
	for (size_t i = 0; i < val->seq.n; i++) {
		struct policy_cond *kid = match_map(ld, val->seq.items[i], what);
		if (kid)
			kids_add(&k, kid);
	}
	struct policy_cond *c = cond_new(ld, any ? PC_ANY : PC_ALL, key);
	kids_adopt(ld, c, &k);
	kids_add(obj, c);
}

static const struct pload_key match_keys[] = {
    {"method", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"ruri-scheme", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"ruri-user", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"ruri-host", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"from-user", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"from-host", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"to-user", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"to-host", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"header", PT_FN, 0, 0, 0, 0, read_header, NULL},
    {"source", PT_FN, 0, 0, 0, 0, read_source, NULL},
    {"transport", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"listener", PT_FN, 0, 0, 0, 0, read_field, NULL},
    {"not", PT_FN, 0, 0, 0, 0, read_not, NULL},
    {"any", PT_FN, 0, 0, 0, 0, read_any_all, NULL},
    {"all", PT_FN, 0, 0, 0, 0, read_any_all, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

/* A non-empty mapping: its one test, or PC_ALL of its tests. NULL when it
 * is not a mapping, is empty, or a test in it is wrong (reported). */
static struct policy_cond *match_map(struct pload *ld, const struct ydoc_node *map,
                                     const char *what)
{
	struct kids k = {0};
	size_t errors = ld->errs->n_errors;
	if (ydoc_expect(map, YDOC_MAP, what, ld->errs))
		return NULL;
	if (map->map.n == 0) {
		ydoc_errs_add(ld->errs, map, "%s: an empty match", what);
		return NULL;
	}
	pload_walk(ld, map, match_keys, what, NULL, &k);
	if (ld->errs->n_errors != errors || k.n == 0) {
		free(k.v);
		return NULL;
	}
	kids_sort(&k);
	if (k.n == 1) {
		struct policy_cond *c = k.v[0];
		free(k.v);
		return c;
	}
	struct policy_cond *c = cond_new(ld, PC_ALL, map);
	kids_adopt(ld, c, &k);
	return c;
}

struct policy_cond *pload_match(struct pload *ld, const struct ydoc_node *map)
{
	if (ydoc_is_null(map) || (map->type == YDOC_MAP && map->map.n == 0))
		return NULL; /* every request */
	return match_map(ld, map, "match");
}
