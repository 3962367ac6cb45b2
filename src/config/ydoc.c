/*
 * ydoc: YAML text to an immutable node tree, with libyaml's event parser.
 *
 * One recursive descent over the event stream builds the tree; recursion is
 * bounded by YDOC_MAX_DEPTH. What YAML allows but a config reader should
 * not have to think about is refused here, once, with a position: anchors
 * and aliases, tags, non-scalar keys, duplicate keys, a second document.
 * Syntax errors (and a second document) stop the load; the rest are
 * reported and the load goes on, so one run shows every problem.
 *
 * Every allocation of a document is recorded in one list and freed in one
 * loop: no recursive free over a tree a hostile file made deep.
 */
#include "ydoc.h"
#include "xmem.h"

#include <sipedge/error.h>

#include <errno.h>
#include <yaml.h>

struct ydoc {
	char *file;
	const struct ydoc_node *root;
	void **allocs; /* everything below, freed by ydoc_free */
	size_t n_allocs, cap_allocs;
};

struct builder {
	yaml_parser_t parser;
	struct ydoc *doc;
	struct ydoc_errs *errs;
	const char *buf; /* the input, to place reader errors */
	size_t len;
	bool fatal; /* a syntax error or a limit: stop building */
};

static void *doc_alloc(struct ydoc *doc, size_t n)
{
	doc->allocs = xmem_grow(doc->allocs, &doc->cap_allocs, doc->n_allocs, sizeof(void *));
	void *p = xmem_calloc(1, n);
	doc->allocs[doc->n_allocs++] = p;
	return p;
}

static struct ydoc_node *new_node(struct builder *b, enum ydoc_type type, yaml_mark_t mark)
{
	struct ydoc_node *n = doc_alloc(b->doc, sizeof(*n));
	n->type = (uint8_t)type;
	n->line = (uint32_t)mark.line + 1;
	n->col = (uint32_t)mark.column + 1;
	n->file = b->doc->file;
	return n;
}

__attribute__((format(printf, 3, 4))) static void err_mark(struct builder *b, yaml_mark_t mark,
                                                           const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ydoc_errs_addv(b->errs, b->doc->file, (uint32_t)mark.line + 1, (uint32_t)mark.column + 1,
	               false, fmt, ap);
	va_end(ap);
}

/* libyaml's own description of a syntax error, at the mark it names. */
static void syntax_error(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	const char *problem = p->problem ? p->problem : "unknown error";

	b->fatal = true;
	if (p->error == YAML_READER_ERROR) {
		/* The reader (bad encoding) reports a byte offset, not a mark:
		 * count lines and UTF-8 characters up to it ourselves. */
		yaml_mark_t mark = {0};
		for (size_t i = 0; i < p->problem_offset && i < b->len; i++) {
			unsigned char c = (unsigned char)b->buf[i];
			if (c == '\n') {
				mark.line++;
				mark.column = 0;
			} else if ((c & 0xc0) != 0x80) {
				mark.column++;
			}
		}
		err_mark(b, mark, "bad input: %s", problem);
	} else if (p->context) {
		err_mark(b, p->problem_mark, "syntax error: %s (%s at line %zu)", problem,
		         p->context, p->context_mark.line + 1);
	} else {
		err_mark(b, p->problem_mark, "syntax error: %s", problem);
	}
}

static bool next_event(struct builder *b, yaml_event_t *ev)
{
	if (yaml_parser_parse(&b->parser, ev))
		return true;
	syntax_error(b);
	return false;
}

/* Anchors and tags on any node: refused, but the node itself is kept. */
static void refuse_decorations(struct builder *b, const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	default:
		break;
	}
	if (anchor)
		err_mark(b, ev->start_mark,
		         "anchors are not supported ('&%s'): write each value where it applies",
		         (const char *)anchor);
	if (tag)
		err_mark(b, ev->start_mark, "tags are not supported ('%s')", (const char *)tag);
}

static const struct ydoc_node *build_node(struct builder *b, yaml_event_t *ev, int depth);

static const struct ydoc_node *build_seq(struct builder *b, yaml_event_t *start, int depth)
{
	struct ydoc_node *n = new_node(b, YDOC_SEQ, start->start_mark);
	const struct ydoc_node **items = NULL;
	size_t cap = 0, count = 0;
	yaml_event_t ev;

	for (;;) {
		if (!next_event(b, &ev))
			break;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		const struct ydoc_node *child = build_node(b, &ev, depth + 1);
		if (b->fatal)
			break;
		items = xmem_grow(items, &cap, count, sizeof(*items));
		items[count++] = child;
	}
	if (count) {
		/* Copy into document memory so the tree owns exactly what it shows. */
		const struct ydoc_node **v = doc_alloc(b->doc, count * sizeof(*v));
		memcpy(v, items, count * sizeof(*v));
		n->seq.items = v;
	}
	n->seq.n = count;
	free(items);
	return n;
}

struct key_ref {
	const struct ydoc_node *key;
	size_t idx;
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	size_t lx = x->key->scalar.len, ly = y->key->scalar.len;
	int c = memcmp(x->key->scalar.str, y->key->scalar.str, lx < ly ? lx : ly);
	if (c)
		return c;
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Report and drop duplicate keys, keeping the first occurrence. Sorting
 * (key, index) finds them in O(n log n): a prefix table written as a
 * mapping may have 100,000 keys, too many for a pairwise scan.
 */
static size_t drop_duplicates(struct builder *b, struct ydoc_pair *pairs, size_t n)
{
	if (n < 2)
		return n;
	struct key_ref *refs = xmem_malloc(n * sizeof(*refs));
	size_t *first_of = xmem_malloc(n * sizeof(*first_of)); /* SIZE_MAX: not a duplicate */
	for (size_t i = 0; i < n; i++) {
		refs[i] = (struct key_ref){pairs[i].key, i};
		first_of[i] = SIZE_MAX;
	}
	qsort(refs, n, sizeof(*refs), key_ref_cmp);

	bool any = false;
	for (size_t i = 1, first = 0; i < n; i++) {
		const struct ydoc_node *k = refs[i].key, *f = refs[first].key;
		if (k->scalar.len == f->scalar.len &&
		    memcmp(k->scalar.str, f->scalar.str, k->scalar.len) == 0) {
			first_of[refs[i].idx] = refs[first].idx;
			any = true;
		} else {
			first = i;
		}
	}
	size_t out = n;
	if (any) {
		/* Report in file order, each naming where the key first appeared. */
		out = 0;
		for (size_t i = 0; i < n; i++) {
			if (first_of[i] == SIZE_MAX) {
				pairs[out++] = pairs[i];
				continue;
			}
			const struct ydoc_node *k = pairs[i].key, *f = pairs[first_of[i]].key;
			ydoc_errs_add(b->errs, k,
			              "duplicate key '%s' (first at line %u, column %u)",
			              k->scalar.str, (unsigned)f->line, (unsigned)f->col);
		}
	}
	free(first_of);
	free(refs);
	return out;
}

static const struct ydoc_node *build_map(struct builder *b, yaml_event_t *start, int depth)
{
	struct ydoc_node *n = new_node(b, YDOC_MAP, start->start_mark);
	struct ydoc_pair *pairs = NULL;
	size_t cap = 0, count = 0;
	yaml_event_t ev;

	for (;;) {
		if (!next_event(b, &ev))
			break;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		const struct ydoc_node *key = build_node(b, &ev, depth + 1);
		if (b->fatal || !next_event(b, &ev))
			break;
		const struct ydoc_node *value = build_node(b, &ev, depth + 1);
		if (b->fatal)
			break;
		if (key->type != YDOC_SCALAR) {
			ydoc_errs_add(b->errs, key, "mapping keys must be scalars, not %s",
			              ydoc_describe(key));
			continue;
		}
		if (key->flags & YDOC_F_BAD)
			continue;
		if (strlen(key->scalar.str) != key->scalar.len) {
			/* Keys are compared as C strings everywhere after this. */
			ydoc_errs_add(b->errs, key, "mapping keys must not contain NUL characters");
			continue;
		}
		pairs = xmem_grow(pairs, &cap, count, sizeof(*pairs));
		pairs[count++] = (struct ydoc_pair){key, value};
	}
	if (!b->fatal)
		count = drop_duplicates(b, pairs, count);
	if (count) {
		struct ydoc_pair *v = doc_alloc(b->doc, count * sizeof(*v));
		memcpy(v, pairs, count * sizeof(*v));
		n->map.pairs = v;
	}
	n->map.n = count;
	free(pairs);
	return n;
}

/*
 * Build the node that starts with *ev (which this function consumes) and
 * everything up to its end event. Never returns NULL; after a fatal error
 * the returned node is a placeholder and b->fatal is set.
 */
static const struct ydoc_node *build_node(struct builder *b, yaml_event_t *ev, int depth)
{
	const struct ydoc_node *ret;
	struct ydoc_node *n;

	refuse_decorations(b, ev);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = new_node(b, YDOC_SCALAR, ev->start_mark);
		n->scalar.len = ev->data.scalar.length;
		char *s = doc_alloc(b->doc, n->scalar.len + 1);
		memcpy(s, ev->data.scalar.value, n->scalar.len);
		n->scalar.str = s;
		if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			n->flags |= YDOC_F_QUOTED;
		ret = n;
		break;
	case YAML_ALIAS_EVENT:
		err_mark(b, ev->start_mark,
		         "aliases are not supported ('*%s'): write each value where it applies",
		         (const char *)ev->data.alias.anchor);
		n = new_node(b, YDOC_SCALAR, ev->start_mark);
		n->scalar.str = "";
		n->flags |= YDOC_F_BAD;
		ret = n;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (depth >= YDOC_MAX_DEPTH) {
			err_mark(b, ev->start_mark, "nesting deeper than %d levels",
			         YDOC_MAX_DEPTH);
			b->fatal = true;
			n = new_node(b, YDOC_SCALAR, ev->start_mark);
			n->scalar.str = "";
			ret = n;
			break;
		}
		ret = ev->type == YAML_SEQUENCE_START_EVENT ? build_seq(b, ev, depth)
		                                            : build_map(b, ev, depth);
		break;
	default:
		/* The grammar allows nothing else here; libyaml guarantees it. */
		err_mark(b, ev->start_mark, "unexpected YAML event %d", (int)ev->type);
		b->fatal = true;
		n = new_node(b, YDOC_SCALAR, ev->start_mark);
		n->scalar.str = "";
		ret = n;
		break;
	}
	yaml_event_delete(ev);
	return ret;
}

/* Stream: STREAM-START [DOCUMENT-START node DOCUMENT-END] STREAM-END. */
static void build_stream(struct builder *b)
{
	yaml_event_t ev;

	if (!next_event(b, &ev))
		return;
	yaml_event_delete(&ev); /* STREAM-START */
	if (!next_event(b, &ev))
		return;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		return; /* empty file */
	}
	yaml_event_delete(&ev); /* DOCUMENT-START */
	if (!next_event(b, &ev))
		return;
	b->doc->root = build_node(b, &ev, 0);
	if (b->fatal || !next_event(b, &ev))
		return;
	yaml_event_delete(&ev); /* DOCUMENT-END */
	if (!next_event(b, &ev))
		return;
	if (ev.type == YAML_DOCUMENT_START_EVENT) {
		err_mark(b, ev.start_mark, "a second document in one file is not supported");
		b->fatal = true;
	}
	yaml_event_delete(&ev);
}

int ydoc_parse(const char *name, const char *buf, size_t len, struct ydoc **out,
               struct ydoc_errs *errs)
{
	struct builder b = {.errs = errs, .buf = buf, .len = len};
	size_t before = errs->n_errors;

	*out = NULL;
	b.doc = xmem_calloc(1, sizeof(*b.doc));
	b.doc->file = xmem_strdup(name);
	if (!yaml_parser_initialize(&b.parser))
		xmem_oom(sizeof(yaml_parser_t));
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
	build_stream(&b);
	yaml_parser_delete(&b.parser);

	if (b.fatal) {
		ydoc_free(b.doc);
		return SE_ECONFIG;
	}
	*out = b.doc;
	return errs->n_errors > before ? SE_ECONFIG : 0;
}

int ydoc_load(const char *path, struct ydoc **out, struct ydoc_errs *errs)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		ydoc_errs_add_at(errs, path, 0, 0, "cannot open: %s", strerror(errno));
		return SE_ECONFIG;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= YDOC_MAX_FILE) {
				ydoc_errs_add_at(errs, path, 0, 0, "file larger than %u MiB",
				                 YDOC_MAX_FILE >> 20);
				err = SE_ECONFIG;
				break;
			}
			cap = cap ? cap * 2 : 16384;
			buf = xmem_realloc(buf, cap);
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0) {
			if (ferror(f)) {
				ydoc_errs_add_at(errs, path, 0, 0, "cannot read: %s",
				                 strerror(errno));
				err = SE_ECONFIG;
			}
			break;
		}
	}
	fclose(f);
	if (!err)
		err = ydoc_parse(path, buf, len, out, errs);
	free(buf);
	return err;
}

void ydoc_free(struct ydoc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n_allocs; i++)
		free(doc->allocs[i]);
	free(doc->allocs);
	free(doc->file);
	free(doc);
}

const struct ydoc_node *ydoc_root(const struct ydoc *doc)
{
	return doc->root;
}

const char *ydoc_file(const struct ydoc *doc)
{
	return doc->file;
}

const struct ydoc_node *ydoc_map_get(const struct ydoc_node *map, const char *key)
{
	if (!map || map->type != YDOC_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < map->map.n; i++) {
		const struct ydoc_node *k = map->map.pairs[i].key;
		if (k->scalar.len == klen && memcmp(k->scalar.str, key, klen) == 0)
			return map->map.pairs[i].value;
	}
	return NULL;
}

bool ydoc_is_null(const struct ydoc_node *n)
{
	if (!n || n->type != YDOC_SCALAR || (n->flags & YDOC_F_QUOTED))
		return false;
	const char *s = n->scalar.str;
	return n->scalar.len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

const char *ydoc_describe(const struct ydoc_node *n)
{
	if (!n)
		return "nothing";
	switch (n->type) {
	case YDOC_SEQ:
		return "a sequence";
	case YDOC_MAP:
		return "a mapping";
	default:
		return ydoc_is_null(n) ? "an empty value" : "a scalar";
	}
}

int ydoc_expect(const struct ydoc_node *n, enum ydoc_type type, const char *what,
                struct ydoc_errs *errs)
{
	if (n->flags & YDOC_F_BAD)
		return SE_ECONFIG;
	if (n->type == type && !(type == YDOC_SCALAR && ydoc_is_null(n)))
		return 0;
	static const char *const names[] = {
	    [YDOC_SCALAR] = "a value",
	    [YDOC_SEQ] = "a sequence",
	    [YDOC_MAP] = "a mapping",
	};
	ydoc_errs_add(errs, n, "%s%sexpected %s, got %s", what ? what : "", what ? ": " : "",
	              names[type], ydoc_describe(n));
	return SE_ECONFIG;
}
