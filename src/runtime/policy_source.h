/*
 * policy_source: the bytes of a policy (its YAML file and every CSV file it
 * names), as the master read and validated them, in shared memory.
 *
 * On reload the master loads the new policy through a capturing reader,
 * and only when it compiles does it publish the captured files here with
 * the new generation number. Each worker then compiles the same bytes
 * (policy_load with policy_source_reader), so that all processes run
 * exactly what was checked, whatever happens to the files meanwhile.
 * Compiled policies hold process pointers (PCRE2 JIT code, tries) and
 * cannot be shared themselves.
 */
#ifndef SE_RUNTIME_POLICY_SOURCE_H
#define SE_RUNTIME_POLICY_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../policy/policy.h"
#include "../shm/arena.h"

#define POLICY_SOURCE_MAX_FILES 16

struct policy_file {
	char *path;
	char *data;
	size_t len;
};

/* Files read while loading a policy (process heap). */
struct policy_capture {
	struct policy_file files[POLICY_SOURCE_MAX_FILES];
	uint32_t n;
	int err; /* SE_ELIMIT when a policy names more files than fit */
};

/* A reader for policy_load that reads from disk and keeps a copy of every
 * file in cap. */
struct policy_reader policy_capture_reader(struct policy_capture *cap);
void policy_capture_free(struct policy_capture *cap);

/* The published form, one arena block. */
struct policy_source {
	uint32_t generation;
	uint32_t n;
	uint64_t size; /* bytes of the block */
	struct {
		uint64_t path_off, data_off, len;
	} files[POLICY_SOURCE_MAX_FILES];
	/* paths (NUL-terminated) and data follow */
};

/* Copy cap into a new arena block for `generation`; NULL when the arena is
 * short. */
struct policy_source *policy_source_publish(struct arena *a, const struct policy_capture *cap,
					    uint32_t generation);
/* The first file is the policy file itself. */
const char *policy_source_path(const struct policy_source *s, uint32_t i);
/* A reader over src, for policy_load in a worker. */
struct policy_reader policy_source_reader(const struct policy_source *src);

#endif
