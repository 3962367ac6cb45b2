#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *g_map;
static size_t g_maplen;

void guard_release(void)
{
	if (g_map)
		munmap(g_map, g_maplen);
	g_map = NULL;
	g_maplen = 0;
}

const char *guard_place(const void *data, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t datapages = (len + page - 1) / page;
	if (datapages == 0)
		datapages = 1;
	guard_release();
	g_maplen = (datapages + 1) * page;
	g_map = mmap(NULL, g_maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_map == MAP_FAILED) {
		perror("mmap");
		abort();
	}
	char *guard = (char *)g_map + datapages * page;
	if (mprotect(guard, page, PROT_NONE) != 0) {
		perror("mprotect");
		abort();
	}
	char *start = guard - len;
	memcpy(start, data, len);
	return start;
}

char *guard_read_data(const char *relpath, size_t *len)
{
	const char *dir = getenv("SE_TEST_DATA");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", relpath);
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		abort();
	}
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		abort();
	}
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}
