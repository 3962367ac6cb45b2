/*
 * policy_source: capture the files of a policy load, publish them in the
 * arena, and read them back (policy_source.h).
 */
#include "policy_source.h"

#include <sipedge/error.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config/xmem.h"

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = xmem_malloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = xmem_realloc(buf, cap);
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	*data = buf;
	*len = n;
	return 0;
}

static int capture_read(void *ctx, const char *path, const char **buf, size_t *len)
{
	struct policy_capture *cap = ctx;
	for (uint32_t i = 0; i < cap->n; i++)
		if (strcmp(cap->files[i].path, path) == 0) {
			*buf = cap->files[i].data;
			*len = cap->files[i].len;
			return 0;
		}
	if (cap->n == POLICY_SOURCE_MAX_FILES) {
		cap->err = SE_ELIMIT;
		return -EMFILE;
	}
	struct policy_file *f = &cap->files[cap->n];
	int rc = read_file(path, &f->data, &f->len);
	if (rc)
		return rc;
	f->path = xmem_strdup(path);
	cap->n++;
	*buf = f->data;
	*len = f->len;
	return 0;
}

struct policy_reader policy_capture_reader(struct policy_capture *cap)
{
	memset(cap, 0, sizeof(*cap));
	return (struct policy_reader){capture_read, cap};
}

void policy_capture_free(struct policy_capture *cap)
{
	for (uint32_t i = 0; i < cap->n; i++) {
		free(cap->files[i].path);
		free(cap->files[i].data);
	}
	cap->n = 0;
}

struct policy_source *policy_source_publish(struct arena *a, const struct policy_capture *cap,
					    uint32_t generation)
{
	uint64_t size = sizeof(struct policy_source);
	for (uint32_t i = 0; i < cap->n; i++)
		size += strlen(cap->files[i].path) + 1 + cap->files[i].len;
	struct policy_source *s = arena_alloc(a, size);
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->generation = generation;
	s->n = cap->n;
	s->size = size;
	char *p = (char *)(s + 1);
	for (uint32_t i = 0; i < cap->n; i++) {
		size_t pl = strlen(cap->files[i].path) + 1;
		s->files[i].path_off = (uint64_t)(p - (char *)s);
		memcpy(p, cap->files[i].path, pl);
		p += pl;
		s->files[i].data_off = (uint64_t)(p - (char *)s);
		s->files[i].len = cap->files[i].len;
		memcpy(p, cap->files[i].data, cap->files[i].len);
		p += cap->files[i].len;
	}
	return s;
}

const char *policy_source_path(const struct policy_source *s, uint32_t i)
{
	return (const char *)s + s->files[i].path_off;
}

static int source_read(void *ctx, const char *path, const char **buf, size_t *len)
{
	const struct policy_source *s = ctx;
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(policy_source_path(s, i), path) == 0) {
			*buf = (const char *)s + s->files[i].data_off;
			*len = s->files[i].len;
			return 0;
		}
	return -ENOENT; /* not read by the master: the policy changed its mind */
}

struct policy_reader policy_source_reader(const struct policy_source *src)
{
	return (struct policy_reader){source_read, (void *)src};
}
