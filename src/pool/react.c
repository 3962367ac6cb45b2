/*
 * react: reactions as position-independent blobs in shared memory
 * (react.h).
 *
 * A blob is the header, the items, then every string and array the items
 * name, each at an offset from the blob's first byte. Building it twice
 * from the same reactions gives the same bytes (every byte is written,
 * padding included), so its XXH3 is the identity that lets every process
 * find the one stored copy.
 *
 * The table: open addressing on the key, records created by the master
 * under the pool table lock (pool_shm.c): the blob is copied into the
 * arena and complete before its key is published (release), so a reader
 * that sees the key (acquire) sees the whole blob.
 */
#include "react.h"

#include "pool.h"

#include <sipedge/error.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct react_rec {
	_Atomic uint64_t key; /* 0: free */
	_Atomic(const struct react_blob *) blob;
};

struct react_table {
	uint32_t cap; /* power of two */
	struct react_rec *recs;
};

/* ---- building a blob ------------------------------------------------------ */

struct rb {
	char *buf;
	size_t len, cap;
};

static void rb_need(struct rb *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + n)
		cap *= 2;
	char *nb = realloc(b->buf, cap);
	if (!nb)
		abort(); /* process heap: out of memory aborts, as everywhere */
	memset(nb + b->cap, 0, cap - b->cap);
	b->buf = nb;
	b->cap = cap;
}

/* Append n bytes aligned to 8; returns their offset. */
static uint32_t rb_put(struct rb *b, const void *p, size_t n)
{
	size_t off = (b->len + 7) & ~(size_t)7;
	rb_need(b, off - b->len + n);
	memset(b->buf + b->len, 0, off - b->len);
	memcpy(b->buf + off, p, n);
	b->len = off + n;
	return (uint32_t)off;
}

static uint32_t rb_str(struct rb *b, const char *s)
{
	return s ? rb_put(b, s, strlen(s) + 1) : 0;
}

static struct react_item *rb_item(struct rb *b, uint32_t i)
{
	return &((struct react_blob *)b->buf)->items[i];
}

struct react_blob *react_blob_build(const struct policy_reactions *r, uint64_t *key)
{
	if (!r || r->n == 0)
		return NULL;
	struct rb b = {0};
	size_t head = sizeof(struct react_blob) + (size_t)r->n * sizeof(struct react_item);
	rb_need(&b, head);
	memset(b.buf, 0, head);
	b.len = head;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct policy_react *pr = &r->v[i];
		struct react_item it;
		memset(&it, 0, sizeof(it)); /* padding too: the bytes are hashed */
		it.event = pr->event;
		it.action = pr->action;
		it.transport = pr->transport;
		it.has_codes = pr->has_codes;
		it.log = pr->log;
		it.port = pr->port;
		it.code = pr->code;
		it.bl_code = pr->bl_code;
		it.ids = pr->ids;
		it.bl_seconds = pr->bl_seconds;
		it.line = pr->line;
		if (pr->has_codes)
			it.codes = pr->codes;
		it.reason = rb_str(&b, pr->reason);
		it.bl_reason = rb_str(&b, pr->bl_reason);
		if (pr->ips && pr->ips->n) {
			it.n_cidrs = pr->ips->n;
			it.cidrs = rb_put(&b, pr->ips->v, (size_t)pr->ips->n * sizeof(*pr->ips->v));
		}
		if (pr->n_hdrs) {
			struct react_hdr *h = calloc(pr->n_hdrs, sizeof(*h));
			if (!h)
				abort();
			for (uint32_t k = 0; k < pr->n_hdrs; k++) {
				memset(&h[k], 0, sizeof(h[k]));
				h[k].op = pr->hdrs[k].op;
				h[k].name = rb_str(&b, pr->hdrs[k].name);
				h[k].value = rb_str(&b, pr->hdrs[k].value);
			}
			it.n_hdrs = pr->n_hdrs;
			it.hdrs = rb_put(&b, h, (size_t)pr->n_hdrs * sizeof(*h));
			free(h);
		}
		memcpy(rb_item(&b, i), &it, sizeof(it));
	}
	struct react_blob *blob = (struct react_blob *)b.buf;
	blob->size = (uint32_t)b.len;
	blob->n = r->n;
	/* The identity leaves the line numbers out: a reload that only moves
	 * reactions must not make new records (they are never freed). The
	 * stored copy keeps the lines of the generation that first had it. */
	uint32_t *lines = malloc((size_t)r->n * sizeof(*lines));
	if (!lines)
		abort();
	for (uint32_t i = 0; i < r->n; i++) {
		lines[i] = blob->items[i].line;
		blob->items[i].line = 0;
	}
	uint64_t k = XXH3_64bits(b.buf, b.len);
	for (uint32_t i = 0; i < r->n; i++)
		blob->items[i].line = lines[i];
	free(lines);
	*key = k ? k : 1;
	return blob;
}

/* ---- the table -------------------------------------------------------------- */

int react_table_create(struct arena *a, uint32_t cap, struct react_table **out)
{
	if (cap == 0 || cap > POOL_TABLE_MAX)
		return SE_EINVAL;
	uint32_t n = 1;
	while (n < cap)
		n <<= 1;
	struct react_table *t = arena_alloc_permanent(a, sizeof(*t));
	struct react_rec *recs = arena_alloc_permanent(a, (size_t)n * sizeof(*recs));
	if (!t || !recs)
		return SE_ENOMEM;
	memset(recs, 0, (size_t)n * sizeof(*recs));
	t->cap = n;
	t->recs = recs;
	*out = t;
	return 0;
}

static char react_why[128];

int react_bind(struct react_table *t, struct arena *a, struct policy_reactions *r, bool create,
	       const char **why)
{
	r->state = POLICY_NONE;
	if (r->n == 0)
		return 0;
	uint64_t key;
	struct react_blob *blob = react_blob_build(r, &key);
	uint32_t mask = t->cap - 1;
	uint32_t i = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
	int rc = SE_ENOSPC;

	r->key = key;
	for (uint32_t n = 0; n < t->cap; n++, i = (i + 1) & mask) {
		uint64_t k = atomic_load_explicit(&t->recs[i].key, memory_order_acquire);
		if (k == key) {
			rc = 0;
			break;
		}
		if (k != 0)
			continue;
		if (!create) {
			snprintf(react_why, sizeof(react_why),
				 "no shared record for reactions at line %u (the master has not "
				 "bound this policy)",
				 (unsigned)r->v[0].line);
			rc = SE_ENOENT;
			break;
		}
		void *copy = arena_alloc_permanent(a, blob->size);
		if (!copy) {
			snprintf(react_why, sizeof(react_why),
				 "shared memory full storing reactions at line %u",
				 (unsigned)r->v[0].line);
			rc = SE_ESHMFULL;
			break;
		}
		memcpy(copy, blob, blob->size);
		atomic_store_explicit(&t->recs[i].blob, copy, memory_order_relaxed);
		atomic_store_explicit(&t->recs[i].key, key, memory_order_release);
		rc = 0;
		break;
	}
	if (rc == 0)
		r->state = i;
	else if (rc == SE_ENOSPC)
		snprintf(react_why, sizeof(react_why),
			 "too many distinct reactions for the shared table (%u)", t->cap);
	if (rc && why)
		*why = react_why;
	free(blob);
	return rc;
}

const struct react_blob *react_get(const struct react_table *t, uint32_t state)
{
	if (!t || state >= t->cap)
		return NULL;
	return atomic_load_explicit(&t->recs[state].blob, memory_order_relaxed);
}

/* ---- matching ------------------------------------------------------------------ */

static bool in_cidrs(const struct react_blob *b, const struct react_item *it,
		     const struct sockaddr *sa)
{
	uint8_t a[16];

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	const struct policy_cidr *v = (const void *)((const char *)b + it->cidrs);
	for (uint32_t k = 0; k < it->n_cidrs; k++) {
		uint32_t bits = v[k].bits, full = bits / 8, rest = bits % 8;
		if (memcmp(a, v[k].addr, full) != 0)
			continue;
		if (rest && ((a[full] ^ v[k].addr[full]) & (uint8_t)(0xff00u >> rest)))
			continue;
		return true;
	}
	return false;
}

static bool item_holds(const struct react_blob *b, const struct react_item *it,
		       const struct react_event *ev)
{
	switch (ev->event) {
	case PE_PROVISIONAL:
	case PE_SUCCESS:
	case PE_FAILURE:
		return !it->has_codes || policy_codes_has(&it->codes, ev->code);
	case PE_ERROR:
		return it->ids == 0 ||
		       (ev->ierr >= 0 && ev->ierr < 32 && (it->ids >> ev->ierr) & 1u);
	case PE_TARGET:
		if (it->port && it->port != ev->port)
			return false;
		if (it->transport && it->transport != ev->transport)
			return false;
		return it->n_cidrs == 0 || in_cidrs(b, it, ev->addr);
	default:
		return true;
	}
}

const struct react_item *react_match(const struct react_blob *b, const struct react_event *ev)
{
	if (!b)
		return NULL;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct react_item *it = &b->items[i];
		if (it->event == ev->event && item_holds(b, it, ev))
			return it;
	}
	return NULL;
}
