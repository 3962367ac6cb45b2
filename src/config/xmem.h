/*
 * Process-heap allocation for the config and policy loaders.
 *
 * These run in the master at start-up and on reload, never on a message
 * path: running out of memory there leaves nothing sensible to do but stop,
 * so every allocation aborts on failure instead of threading ENOMEM through
 * parsers that have their own error reporting to do. Shared-arena memory is
 * a different story (NULL, counted, 503) and never comes from here.
 */
#ifndef SE_CONFIG_XMEM_H
#define SE_CONFIG_XMEM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void xmem_oom(size_t n)
{
	fprintf(stderr, "sipedge: out of memory allocating %zu bytes\n", n);
	abort();
}

static inline void *xmem_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		xmem_oom(n);
	return p;
}

static inline void *xmem_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		xmem_oom(nmemb * size);
	return p;
}

static inline void *xmem_realloc(void *old, size_t n)
{
	void *p = realloc(old, n ? n : 1);
	if (!p)
		xmem_oom(n);
	return p;
}

static inline char *xmem_strndup(const char *s, size_t len)
{
	char *p = xmem_malloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static inline char *xmem_strdup(const char *s)
{
	return xmem_strndup(s, strlen(s));
}

/*
 * Make room for one more element in a growable array `v` that has n used
 * slots of `size` bytes and *cap allocated ones; returns the (possibly
 * moved) array. Doubling keeps appending n elements at O(n) copies.
 */
static inline void *xmem_grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t ncap = *cap ? *cap * 2 : 8;
	if (ncap > (size_t)-1 / size)
		xmem_oom((size_t)-1);
	*cap = ncap;
	return xmem_realloc(v, ncap * size);
}

#endif
