/*
 * policy_load: policy.yaml (and the CSV files it names) to a struct policy.
 *
 * Each mapping of the file (top, pool, destination, rule, probe...) is a
 * table of keys (struct pload_key): plain values are read by type into a
 * field at an offset, the rest by the row's function. One walker checks a
 * mapping against its table and calls the readers, in table order. The
 * top-level table reads `lists`, `pools` and `tables` before `rules`, so
 * that every name a rule uses is known when the rule is read, whatever the
 * order in the file; the only pass after that is the "not used" warnings.
 *
 * Nothing stops at the first problem: every error and warning goes to the
 * collector, and the messages are sorted by position at the end (the
 * policy file's first, then each CSV file's). The policy is compiled
 * (policy_index_build) only when there is no error, and is returned only
 * when that adds none either: a policy is applied whole or not at all.
 */
#include "policy_load.h"
#include "policy_match.h"

#include <sipedge/error.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KEYS 24 /* rows in the largest key table */

/* ---- the walker --------------------------------------------------------- */

static void read_typed(struct pload *ld, const struct pload_key *k, const struct ydoc_node *val,
                       const char *what, void *obj)
{
	char *field = (char *)obj + k->off;
	const char *s, *bad;
	char buf[256];
	long long v;
	uint64_t ms;
	bool b;

	switch (k->type) {
	case PT_BOOL:
		if (!ydoc_read_bool(val, what, &b, ld->errs))
			*(bool *)field = b;
		break;
	case PT_U32:
		/* syntax from ydoc, the range here: it can say why */
		if (ydoc_read_int(val, what, LLONG_MIN, LLONG_MAX, &v, ld->errs))
			break;
		if (v < k->min || v > k->max)
			ydoc_errs_add(ld->errs, val, "%s: %lld is out of range (%u..%u)%s%s", what,
			              v, k->min, k->max, k->why ? ": " : "", k->why ? k->why : "");
		else
			*(uint32_t *)field = (uint32_t)v;
		break;
	case PT_MS:
		if (!ydoc_read_duration(val, what, k->min, k->max, &ms, ld->errs))
			*(uint32_t *)field = (uint32_t)ms;
		break;
	case PT_TEXT:
		if (ydoc_read_str(val, what, &s, ld->errs))
			break;
		if (k->check && (bad = k->check(s, val->scalar.len, buf, sizeof(buf))))
			ydoc_errs_add(ld->errs, val, "%s: %s", what, bad);
		else
			*(const char **)field = pload_str(ld, val);
		break;
	default:
		break;
	}
}

int pload_walk(struct pload *ld, const struct ydoc_node *map, const struct pload_key *keys,
               const char *what, const char *prefix, void *obj)
{
	const struct ydoc_pair *found[MAX_KEYS] = {0};
	const struct ydoc_node *action = NULL;
	bool has_actions = false;
	size_t n_keys = 0;

	while (keys[n_keys].name)
		n_keys++;
	if (n_keys > MAX_KEYS)
		abort(); /* a table larger than MAX_KEYS: raise it */
	if (map && ydoc_expect(map, YDOC_MAP, what, ld->errs))
		return SE_ECONFIG;

	/* file order: what is there, and which action came first */
	for (size_t i = 0; map && i < map->map.n; i++) {
		const struct ydoc_pair *pair = &map->map.pairs[i];
		size_t k = 0;
		while (k < n_keys && strcmp(keys[k].name, pair->key->scalar.str) != 0)
			k++;
		if (k == n_keys) {
			ydoc_errs_add(ld->errs, pair->key, "unknown key '%s'",
			              pair->key->scalar.str);
			continue;
		}
		if (keys[k].flags & PK_ACTION) {
			if (action) {
				ydoc_errs_add(ld->errs, pair->key,
				              "only one action per rule: '%s' already given",
				              action->scalar.str);
				continue;
			}
			action = pair->key;
		}
		found[k] = pair;
	}

	/* table order: the reading */
	for (size_t k = 0; k < n_keys; k++) {
		has_actions |= (keys[k].flags & PK_ACTION) != 0;
		if (!found[k])
			continue;
		char name[96];
		snprintf(name, sizeof(name), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
		         keys[k].name);
		if (keys[k].type == PT_FN)
			keys[k].fn(ld, found[k]->key, found[k]->value, name,
			           obj ? (char *)obj + keys[k].off : NULL);
		else
			read_typed(ld, &keys[k], found[k]->value, name, obj);
	}

	for (size_t k = 0; k < n_keys; k++) {
		if (!(keys[k].flags & PK_REQUIRED) || found[k])
			continue;
		if (map)
			ydoc_errs_add(ld->errs, map, "missing required key '%s'", keys[k].name);
		else
			ydoc_errs_add_at(ld->errs, ld->file, 1, 1, "missing required key '%s'",
			                 keys[k].name);
	}
	if (has_actions && !action && map) {
		char list[128] = "";
		size_t len = 0;
		for (size_t k = 0; k < n_keys && len < sizeof(list); k++)
			if (keys[k].flags & PK_ACTION)
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
				                        len ? ", " : "", keys[k].name);
		ydoc_errs_add(ld->errs, map, "rule has no action: give one of %s", list);
	}
	return 0;
}

void pload_named(struct pload *ld, const struct ydoc_node *val, const char *what, const char *kind,
                 size_t size, void **array, uint32_t *n, struct pload_map *names, uint32_t **uses,
                 pload_each_fn each)
{
	if (ydoc_is_null(val) || ydoc_expect(val, YDOC_MAP, what, ld->errs))
		return;
	*array = policy_alloc(ld->p, val->map.n * size);
	*uses = xmem_calloc(val->map.n, sizeof(**uses));
	for (size_t i = 0; i < val->map.n; i++) {
		const struct ydoc_node *name = val->map.pairs[i].key;
		pload_name(ld, name, kind);
		pload_map_put(names, name->scalar.str, name->scalar.len, *n);
		each(ld, name, val->map.pairs[i].value, (*n)++);
	}
}

uint32_t pload_ref(struct pload *ld, const struct ydoc_node *n, const struct pload_map *names,
                   uint32_t *uses, const char *kind)
{
	uint32_t i = pload_map_get(names, n->scalar.str, n->scalar.len);
	if (i == POLICY_NONE)
		ydoc_errs_add(ld->errs, n, "undefined %s '%s'", kind, n->scalar.str);
	else
		uses[i]++;
	return i;
}

/* ---- helpers ------------------------------------------------------------ */

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > PLOAD_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

int pload_name(struct pload *ld, const struct ydoc_node *n, const char *kind)
{
	if (ydoc_expect(n, YDOC_SCALAR, kind, ld->errs))
		return SE_ECONFIG;
	if (!valid_name(n->scalar.str, n->scalar.len)) {
		ydoc_errs_add(ld->errs, n,
		              "bad %s name '%s': use up to %d letters, digits, '_', '-' or '.'",
		              kind, n->scalar.str, PLOAD_NAME_MAX);
		return SE_ECONFIG;
	}
	return 0;
}

const char *pload_str(struct pload *ld, const struct ydoc_node *n)
{
	return policy_strndup(ld->p, n->scalar.str, n->scalar.len);
}

void pload_warn_at(struct pload *ld, uint32_t line, uint32_t col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ydoc_errs_addv(ld->errs, ld->file, line, col, true, fmt, ap);
	va_end(ap);
}

bool pload_is_token(const char *s, size_t len)
{
	static const char marks[] = "-.!%*_+`'~";
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c && strchr(marks, c))))
			return false;
	}
	return true;
}

int pload_scalars(struct pload *ld, const struct ydoc_node *val, const char *what,
                  const struct ydoc_node **one, const struct ydoc_node *const **items, size_t *n)
{
	if (val->type == YDOC_SCALAR) {
		*one = val;
		*items = one;
		*n = 1;
		return 0;
	}
	if (val->type != YDOC_SEQ) {
		ydoc_errs_add(ld->errs, val, "%s: expected a value or a sequence, got %s", what,
		              ydoc_describe(val));
		return SE_ECONFIG;
	}
	if (val->seq.n == 0) {
		ydoc_errs_add(ld->errs, val, "%s: the sequence is empty", what);
		return SE_ECONFIG;
	}
	*items = val->seq.items;
	*n = val->seq.n;
	return 0;
}

void *pload_regex(struct pload *ld, const struct ydoc_node *n, const char *what, bool caseless)
{
	int code;
	PCRE2_SIZE off;
	const char *s;
	if (ydoc_read_str(n, what, &s, ld->errs))
		return NULL;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)s, n->scalar.len, caseless ? PCRE2_CASELESS : 0,
	                               &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", code);
		ydoc_errs_add(ld->errs, n, "%s: bad regex '%s': %s at offset %zu", what, s,
		              (const char *)msg, (size_t)off);
		return NULL;
	}
	/* JIT is an optimisation: a system without it (or with it refused by
	 * an SELinux policy) still matches, through the interpreter */
	(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	ld->res = xmem_grow(ld->res, &ld->cap_res, ld->n_res, sizeof(*ld->res));
	ld->res[ld->n_res++] = re;
	return re;
}

/* ---- reading files ------------------------------------------------------- */

static int read_disk(const char *path, char **buf, size_t *len)
{
	/* O_NONBLOCK: a FIFO in place of a file must not hang the master
	 * (a reload, `sipedgectl policy check`); it is refused just below */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > YDOC_MAX_FILE) {
		int err = !S_ISREG(st.st_mode)         ? -EISDIR
		          : st.st_size > YDOC_MAX_FILE ? -EFBIG
		                                       : -errno;
		close(fd);
		return err;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *b = xmem_malloc(size + 1);
	while (got < size) {
		ssize_t r = read(fd, b + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r < 0 ? -errno : -EIO; /* shrank while read */
			free(b);
			close(fd);
			return err;
		}
		got += (size_t)r;
	}
	close(fd);
	b[size] = '\0';
	*buf = b;
	*len = size;
	return 0;
}

int pload_read_file(struct pload *ld, const char *path, const char **buf, size_t *len, char **owned)
{
	*owned = NULL;
	if (ld->rd)
		return ld->rd->read(ld->rd->ctx, path, buf, len);
	int rc = read_disk(path, owned, len);
	*buf = *owned;
	return rc;
}

static struct ydoc *load_yaml(struct pload *ld)
{
	const char *buf;
	char *owned;
	size_t len;
	struct ydoc *doc;

	if (!ld->rd) {
		ydoc_load(ld->file, &doc, ld->errs); /* its own messages for the file itself */
		return doc;
	}
	int rc = pload_read_file(ld, ld->file, &buf, &len, &owned);
	if (rc < 0) {
		ydoc_errs_add_at(ld->errs, ld->file, 0, 0, "cannot open: %s", strerror(-rc));
		return NULL;
	}
	ydoc_parse(ld->file, buf, len, &doc, ld->errs);
	free(owned);
	return doc;
}

/* ---- the top level, and what is checked after all of it ----------------- */

static const struct pload_key top_keys[] = {
    {"lists", PT_FN, 0, .fn = pload_lists},   {"pools", PT_FN, 0, .fn = pload_pools},
    {"tables", PT_FN, 0, .fn = pload_tables}, {"rules", PT_FN, PK_REQUIRED, .fn = pload_rules},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

static void warn_unused(struct pload *ld)
{
	const struct policy *p = ld->p;
	for (uint32_t i = 0; i < p->n_lists; i++)
		if (!ld->list_uses[i])
			pload_warn_at(ld, p->lists[i].line, p->lists[i].col,
			              "list '%s' is not used by any rule", p->lists[i].name);
	for (uint32_t i = 0; i < p->n_pools; i++)
		if (!ld->pool_uses[i])
			pload_warn_at(ld, p->pools[i].line, p->pools[i].col,
			              "pool '%s' is not used by any rule or table",
			              p->pools[i].name);
	for (uint32_t i = 0; i < p->n_tables; i++)
		if (!ld->table_uses[i])
			pload_warn_at(ld, p->tables[i].line, p->tables[i].col,
			              "table '%s' is not used by any rule", p->tables[i].name);
}

struct sorted {
	size_t rank; /* 0: the policy file; k + 1: the k-th CSV span */
	struct ydoc_msg m;
};

static int sorted_cmp(const void *a, const void *b)
{
	const struct sorted *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->m.line != y->m.line)
		return x->m.line < y->m.line ? -1 : 1;
	if (x->m.col != y->m.col)
		return x->m.col < y->m.col ? -1 : 1;
	return x->m.seq < y->m.seq ? -1 : x->m.seq > y->m.seq;
}

/* By position, each file on its own: the policy file's messages, then
 * each CSV file's in the order the files were read. */
static void sort_messages(struct pload *ld, size_t first)
{
	struct ydoc_errs *e = ld->errs;
	size_t n = e->n - first;
	if (!n)
		return;
	struct sorted *v = xmem_malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i] = (struct sorted){0, e->v[first + i]};
		for (size_t s = 0; s < ld->n_spans; s++)
			if (first + i >= ld->spans[s].from && first + i < ld->spans[s].to)
				v[i].rank = s + 1;
	}
	qsort(v, n, sizeof(*v), sorted_cmp);
	for (size_t i = 0; i < n; i++)
		e->v[first + i] = v[i].m;
	free(v);
}

/* Copy a growing array into the policy's memory, and free it. */
static void *adopt(struct policy *p, void *v, size_t n, size_t size)
{
	void *r = NULL;
	if (n) {
		r = policy_alloc(p, n * size);
		memcpy(r, v, n * size);
	}
	free(v);
	return r;
}

int policy_load(const char *path, const struct policy_reader *rd, struct policy **out,
                struct ydoc_errs *errs)
{
	size_t first = errs->n, errors = errs->n_errors;
	struct pload ld = {.errs = errs, .file = path, .rd = rd};

	*out = NULL;
	ld.p = xmem_calloc(1, sizeof(*ld.p));
	ld.p->file = policy_strndup(ld.p, path, strlen(path));
	struct ydoc *doc = load_yaml(&ld); /* a tree after recoverable errors: check on */
	if (doc) {
		const struct ydoc_node *root = ydoc_root(doc);
		pload_walk(&ld, ydoc_is_null(root) ? NULL : root, top_keys, "policy", NULL, NULL);
		warn_unused(&ld);
	}

	/* the policy owns everything from here, good or bad */
	struct policy *p = ld.p;
	p->dests = adopt(p, ld.dests, ld.n_dests, sizeof(*p->dests));
	p->n_dests = (uint32_t)ld.n_dests;
	p->regexes = adopt(p, ld.res, ld.n_res, sizeof(*p->regexes));
	p->n_regexes = (uint32_t)ld.n_res;
	pload_map_free(&ld.pools);
	pload_map_free(&ld.lists);
	pload_map_free(&ld.tables);
	pload_map_free(&ld.rules);
	free(ld.pool_uses);
	free(ld.list_uses);
	free(ld.table_uses);
	ydoc_free(doc); /* after the maps: their keys may point into it */

	if (doc && errs->n_errors == errors) {
		int rc = policy_index_build(p, errs);
		if (rc && errs->n_errors == errors)
			ydoc_errs_add_at(errs, path, 0, 0, "cannot compile the policy: %s",
			                 se_strerror(rc));
	}
	if (doc && errs->n_errors == errors)
		*out = p;
	else
		policy_free(p);
	sort_messages(&ld, first);
	free(ld.spans);
	return *out ? 0 : SE_ECONFIG;
}
