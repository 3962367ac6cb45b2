/*
 * policy_load_table: prefix tables (`tables:`), written inline or in CSV
 * files of "prefix,pool" lines.
 *
 * A table maps prefixes of the dialled number to pools; policy_tree.c
 * builds the longest-prefix index from the entries read here. Prefixes are
 * stored normalised as the number will be (docs/policy.md, "Prefix
 * tables"): a leading '+' dropped when strip-plus is on, then only digits,
 * '*' and '#'. The CSV is parsed directly, line by line, without a YAML
 * tree, and every entry's string comes from the policy's bump allocator:
 * 100,000 lines load in a few tens of milliseconds. Duplicates are found
 * through a hash set and reported with the line of the first.
 *
 * CSV syntax: one "prefix,pool" per line, spaces around fields ignored,
 * CRLF accepted, blank lines and lines starting with '#' ignored, and the
 * first line may be the header "prefix,pool". Messages point into the CSV
 * file (file:line:col of the field); past MAX_CSV_ERRORS the file is not
 * read further.
 */
#include "policy_load.h"

#include <sipedge/error.h>

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define MAX_PREFIX     64 /* digits; E.164 numbers have at most 15 */
#define MAX_CSV_ERRORS 50

/* A table while it is read: entries grow here, then move into the policy. */
struct tload {
	struct policy_table t; /* first: the key table's offsets are into it */
	struct policy_prefix *v;
	size_t n, cap;
	size_t n_inline;       /* v[0, n_inline) come from `prefixes:` */
	struct pload_map seen; /* digits -> entry: duplicates */
};

/* Normalise prefix s[0, len) into *d, *dlen (pointing into s). Returns NULL,
 * or what is wrong, written into why. */
static const char *norm_prefix(const char *s, size_t len, bool strip_plus, const char **d,
                               size_t *dlen, char *why, size_t size)
{
	const char *written = s;
	size_t wlen = len > 80 ? 80 : len;
	if (len && s[0] == '+') {
		if (!strip_plus) {
			snprintf(why, size,
			         "bad prefix '%.*s': a leading '+' needs strip-plus: true",
			         (int)wlen, written);
			return why;
		}
		s++;
		len--;
	}
	if (len == 0)
		return "empty prefix";
	if (len > MAX_PREFIX) {
		snprintf(why, size, "prefix longer than %d digits", MAX_PREFIX);
		return why;
	}
	for (size_t i = 0; i < len; i++) {
		if ((s[i] < '0' || s[i] > '9') && s[i] != '*' && s[i] != '#') {
			snprintf(why, size, "bad prefix '%.*s': use digits, '*' and '#'", (int)wlen,
			         written);
			return why;
		}
	}
	*d = s;
	*dlen = len;
	return NULL;
}

/* Where an entry is written: its prefix and its pool, for messages. */
struct at {
	const char *file;
	uint32_t line, col;   /* the prefix */
	uint32_t pline, pcol; /* the pool */
};

/* Add prefix s -> pool name pn to the table. Returns true when something
 * was wrong (reported). */
static bool add_entry(struct pload *ld, struct tload *tl, const struct at *at, const char *s,
                      size_t len, const char *pn, size_t pnlen)
{
	const char *file = at->file;
	uint32_t line = at->line, col = at->col;
	char why[160];
	const char *d, *err;
	size_t dlen;
	bool bad = false;

	if ((err = norm_prefix(s, len, tl->t.strip_plus, &d, &dlen, why, sizeof(why)))) {
		ydoc_errs_add_at(ld->errs, file, line, col, "%s", err);
		bad = true;
	}
	uint32_t pool = pload_map_get(&ld->pools, pn, pnlen);
	if (pool == POLICY_NONE) {
		ydoc_errs_add_at(ld->errs, file, at->pline, at->pcol, "undefined pool '%.*s'",
		                 (int)(pnlen > 80 ? 80 : pnlen), pn);
		bad = true;
	} else {
		ld->pool_uses[pool]++;
	}
	if (bad)
		return true;

	const char *digits = policy_strndup(ld->p, d, dlen);
	uint32_t first = pload_map_put(&tl->seen, digits, dlen, (uint32_t)tl->n);
	if (first != POLICY_NONE) {
		const struct policy_prefix *f = &tl->v[first];
		if (file == ld->file || first >= tl->n_inline)
			ydoc_errs_add_at(ld->errs, file, line, col,
			                 "duplicate prefix '%s' (first at line %u)", digits,
			                 (unsigned)f->line);
		else
			ydoc_errs_add_at(
			    ld->errs, file, line, col,
			    "duplicate prefix '%s' (first in the policy file at line %u)", digits,
			    (unsigned)f->line);
		return true;
	}
	tl->v = xmem_grow(tl->v, &tl->cap, tl->n, sizeof(*tl->v));
	tl->v[tl->n++] = (struct policy_prefix){digits, (uint32_t)dlen, pool, line};
	return false;
}

/* ---- CSV --------------------------------------------------------------- */

static const char *skip_blank(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

static const char *trim_end(const char *s, const char *end)
{
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	return end;
}

/* The parser loop: one line at a time, fields as ranges of buf. */
static void parse_csv(struct pload *ld, struct tload *tl, const char *file, const char *buf,
                      size_t len)
{
	const char *pos = buf, *end = buf + len;
	size_t errors = ld->errs->n_errors;
	uint32_t line = 0;

	while (pos < end) {
		const char *ls = pos, *le = memchr(pos, '\n', (size_t)(end - pos));
		if (!le)
			le = end;
		pos = le + 1;
		line++;
		if (ld->errs->n_errors - errors >= MAX_CSV_ERRORS) {
			ydoc_errs_add_at(ld->errs, file, line, 1,
			                 "too many errors: the rest of the file is not read");
			return;
		}
		if (le > ls && le[-1] == '\r')
			le--;
		const char *s = skip_blank(ls, le);
		if (s == le || *s == '#')
			continue;
		const char *comma = memchr(s, ',', (size_t)(le - s));
		if (!comma) {
			ydoc_errs_add_at(ld->errs, file, line, (uint32_t)(s - ls + 1),
			                 "expected 'prefix,pool'");
			continue;
		}
		const char *pe = trim_end(s, comma), *ps = skip_blank(comma + 1, le),
		           *pne = trim_end(ps, le);
		const char *extra = memchr(ps, ',', (size_t)(pne - ps));
		if (extra) {
			ydoc_errs_add_at(ld->errs, file, line, (uint32_t)(extra - ls + 1),
			                 "expected 'prefix,pool': too many fields");
			continue;
		}
		if (ps == pne) {
			ydoc_errs_add_at(ld->errs, file, line, (uint32_t)(ps - ls + 1),
			                 "expected 'prefix,pool': no pool");
			continue;
		}
		if (line == 1 && pe - s == 6 && pne - ps == 4 && strncasecmp(s, "prefix", 6) == 0 &&
		    strncasecmp(ps, "pool", 4) == 0)
			continue; /* the header */
		struct at at = {file, line, (uint32_t)(s - ls + 1), line, (uint32_t)(ps - ls + 1)};
		add_entry(ld, tl, &at, s, (size_t)(pe - s), ps, (size_t)(pne - ps));
	}
}

/* The CSV's path: relative to the policy file's directory. */
static char *resolve(struct pload *ld, const char *name)
{
	const char *slash = strrchr(ld->file, '/');
	if (name[0] == '/' || !slash)
		return policy_strndup(ld->p, name, strlen(name));
	size_t dl = (size_t)(slash - ld->file) + 1, nl = strlen(name);
	char *r = policy_alloc(ld->p, dl + nl + 1);
	memcpy(r, ld->file, dl);
	memcpy(r + dl, name, nl + 1);
	return r;
}

static void read_file(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                      const char *what, void *obj)
{
	struct tload *tl = obj;
	const char *name, *buf;
	char *owned;
	size_t len;
	(void)key;

	if (ydoc_read_str(val, what, &name, ld->errs))
		return;
	tl->t.file = resolve(ld, name);
	int rc = pload_read_file(ld, tl->t.file, &buf, &len, &owned);
	if (rc < 0) {
		ydoc_errs_add(ld->errs, val, "%s: cannot read '%s': %s", what, tl->t.file,
		              strerror(-rc));
		return;
	}
	/* its messages are sorted apart from the policy file's */
	ld->spans = xmem_grow(ld->spans, &ld->cap_spans, ld->n_spans, sizeof(*ld->spans));
	struct pload_span *sp = &ld->spans[ld->n_spans++];
	sp->from = ld->errs->n;
	parse_csv(ld, tl, tl->t.file, buf, len);
	sp->to = ld->errs->n;
	free(owned);
}

/* ---- the table's keys --------------------------------------------------- */

static const char *check_digits(const char *s, size_t len, char *buf, size_t size)
{
	if (strspn(s, "0123456789*#") == len && len <= MAX_PREFIX)
		return NULL;
	snprintf(buf, size, "use up to %d digits, '*' and '#'", MAX_PREFIX);
	return buf;
}

/* Inline `prefixes:`, read before `file` (table order), so a prefix in
 * both is reported in the CSV. */
static void read_prefixes(struct pload *ld, const struct ydoc_node *key,
                          const struct ydoc_node *val, const char *what, void *obj)
{
	struct tload *tl = obj;
	(void)key;
	if (ydoc_expect(val, YDOC_MAP, what, ld->errs))
		return;
	for (size_t i = 0; i < val->map.n; i++) {
		const struct ydoc_node *k = val->map.pairs[i].key, *v = val->map.pairs[i].value;
		const char *pool;
		if (ydoc_read_str(v, what, &pool, ld->errs))
			continue;
		struct at at = {ld->file, k->line, k->col, v->line, v->col};
		add_entry(ld, tl, &at, k->scalar.str, k->scalar.len, pool, v->scalar.len);
	}
	tl->n_inline = tl->n;
}

static const struct pload_key table_keys[] = {
    {"strip-plus", PT_BOOL, 0, offsetof(struct tload, t.strip_plus), 0, 0, NULL, NULL},
    {"strip-prefix", PT_TEXT, 0, offsetof(struct tload, t.strip_prefix), 0, 0, NULL, NULL,
     check_digits},
    {"prefixes", PT_FN, 0, 0, 0, 0, read_prefixes, NULL},
    {"file", PT_FN, 0, 0, 0, 0, read_file, NULL},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void read_table(struct pload *ld, const struct ydoc_node *name, const struct ydoc_node *val,
                       uint32_t index)
{
	struct policy_table *t = &ld->p->tables[index];
	struct tload tl = {
	    .t = {.name = pload_str(ld, name),
	          .strip_plus = true,
	          .line = name->line,
	          .col = name->col},
	};
	size_t errors = ld->errs->n_errors;
	char what[PLOAD_NAME_MAX + 16];

	snprintf(what, sizeof(what), "table '%s'", name->scalar.str);
	if (pload_walk(ld, val, table_keys, what, NULL, &tl) == 0 && ld->errs->n_errors == errors &&
	    tl.n == 0) {
		if (!ydoc_map_get(val, "file") && !ydoc_map_get(val, "prefixes"))
			ydoc_errs_add(ld->errs, val, "table '%s': give file, prefixes or both",
			              name->scalar.str);
		else
			ydoc_errs_add(ld->errs, name, "table '%s' has no prefixes",
			              name->scalar.str);
	}
	*t = tl.t;
	t->n_entries = (uint32_t)tl.n;
	if (tl.n) {
		t->entries = policy_alloc(ld->p, tl.n * sizeof(*t->entries));
		memcpy(t->entries, tl.v, tl.n * sizeof(*t->entries));
	}
	ld->p->n_prefixes += (uint32_t)tl.n;
	free(tl.v);
	pload_map_free(&tl.seen);
}

void pload_tables(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                  const char *what, void *obj)
{
	struct policy *p = ld->p;
	(void)key;
	(void)obj;
	pload_named(ld, val, what, "table", sizeof(*p->tables), (void **)&p->tables, &p->n_tables,
	            &ld->tables, &ld->table_uses, read_table);
}
