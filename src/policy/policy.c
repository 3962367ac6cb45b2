/*
 * policy: the memory of a loaded policy, its release, and lookups by name.
 *
 * Everything a policy holds comes from policy_alloc: a chain of chunks
 * bump-allocated and freed together, so that a policy of 100,000 prefixes
 * is a few dozen mallocs, not 200,000, and policy_free cannot leak a
 * piece. PCRE2 codes and the compiled index keep their own allocators and
 * are released here too.
 */
#include "policy.h"
#include "policy_match.h"
#include "xmem.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const policy_algo_names[POLICY_NALGOS] = {
    [PALG_ROUND_ROBIN] = "round-robin", [PALG_WEIGHTED] = "weighted", [PALG_HASH] = "hash",
    [PALG_LEAST_BUSY] = "least-busy",   [PALG_PRIORITY] = "priority",
};

const char *const policy_event_names[PE__COUNT] = {
    [PE_PROVISIONAL] = "provisional",       [PE_SUCCESS] = "success", [PE_FAILURE] = "failure",
    [PE_INVITE_TIMEOUT] = "invite-timeout", [PE_TARGET] = "target",   [PE_ERROR] = "error",
};

#define CHUNK_MIN (64u << 10)

struct chunk {
	struct chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct policy_mem {
	struct chunk *head;
};

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = xmem_malloc(sizeof(*c) + size);
	c->next = NULL;
	c->used = 0;
	c->size = size;
	return c;
}

void *policy_alloc(struct policy *p, size_t n)
{
	const size_t align = alignof(max_align_t);
	n = (n + align - 1) & ~(align - 1);
	if (!n)
		n = align;
	if (!p->mem)
		p->mem = xmem_calloc(1, sizeof(*p->mem));
	struct chunk *c = p->mem->head;
	if (!c || c->size - c->used < n) {
		struct chunk *nc = chunk_new(n > CHUNK_MIN / 4 ? n : CHUNK_MIN);
		if (c && n > CHUNK_MIN / 4) {
			/* a big block gets its own chunk behind the current one, so
			 * the current chunk's free space is not wasted */
			nc->next = c->next;
			c->next = nc;
			c = nc;
		} else {
			nc->next = c;
			p->mem->head = c = nc;
		}
	}
	void *r = c->data + c->used;
	c->used += n;
	memset(r, 0, n);
	return r;
}

char *policy_strndup(struct policy *p, const char *s, size_t len)
{
	char *r = policy_alloc(p, len + 1);
	memcpy(r, s, len);
	r[len] = '\0';
	return r;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	policy_index_free(p);
	for (uint32_t i = 0; i < p->n_regexes; i++)
		pcre2_code_free(p->regexes[i]);
	if (p->mem) {
		struct chunk *c = p->mem->head;
		while (c) {
			struct chunk *next = c->next;
			free(c);
			c = next;
		}
		free(p->mem);
	}
	free(p);
}

uint32_t policy_pool_find(const struct policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_pools; i++)
		if (strcmp(p->pools[i].name, name) == 0)
			return i;
	return POLICY_NONE;
}

uint32_t policy_table_find(const struct policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_tables; i++)
		if (strcmp(p->tables[i].name, name) == 0)
			return i;
	return POLICY_NONE;
}

static const char *plural(uint32_t n)
{
	return n == 1 ? "" : "s";
}

int policy_summary(const struct policy *p, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%u rule%s, %u pool%s, %u destination%s", p->n_rules,
	                 plural(p->n_rules), p->n_pools, plural(p->n_pools), p->n_dests,
	                 plural(p->n_dests));
	if (p->n_prefixes && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ", %u prefix%s", p->n_prefixes,
		              p->n_prefixes == 1 ? "" : "es");
	return n;
}
