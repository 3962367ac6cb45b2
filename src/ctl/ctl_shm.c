/*
 * ctl_shm: the shared arena as JSON (arena_stats), for `stats`: bytes
 * used and free, and each size class's objects.
 */
#include "ctl_int.h"

json_t *ctl_shm_json(struct arena *a)
{
	struct arena_stats st;
	json_t *o = json_object();

	if (arena_stats(a, &st) != 0) {
		json_object_set_new(o, "error", json_string("arena_stats failed"));
		return o;
	}
	uint64_t fails = st.large_fail + st.perm_fail;
	json_t *classes = json_array();
	for (uint32_t i = 0; i < st.nclasses; i++) {
		const struct arena_class_stats *c = &st.cls[i];
		fails += c->fail;
		json_array_append_new(classes,
				      json_pack("{s:I,s:I,s:I,s:I,s:I}", "size", (json_int_t)c->size,
						"slabs", (json_int_t)c->slabs, "used",
						(json_int_t)c->used, "free", (json_int_t)c->free,
						"fail", (json_int_t)c->fail));
	}
	json_object_set_new(o, "total_bytes", json_integer((json_int_t)st.total_bytes));
	json_object_set_new(o, "used_bytes", json_integer((json_int_t)st.used_bytes));
	json_object_set_new(o, "free_bytes", json_integer((json_int_t)st.free_bytes));
	json_object_set_new(o, "large_used", json_integer((json_int_t)st.large_used));
	json_object_set_new(o, "alloc_failures", json_integer((json_int_t)fails));
	json_object_set_new(o, "classes", classes);
	return o;
}
