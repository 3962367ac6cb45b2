/*
 * metrics: Prometheus text format (see metrics.h) and the runtime's own
 * families: master uptime, per-worker state, restarts, messages, loop lag,
 * and the shared arena (bytes used and free, per size class).
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_int.h"
#include "xmem.h"

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

__attribute__((format(printf, 2, 0))) static void metrics_vappend(struct metrics_buf *b,
								   const char *fmt, va_list ap)
{
	for (;;) {
		va_list aq;
		va_copy(aq, ap);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, aq);
		va_end(aq);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap ? b->cap * 2 : 16384;
		while (b->cap - b->len <= (size_t)n)
			b->cap *= 2;
		b->p = xmem_realloc(b->p, b->cap);
	}
}

static void metrics_append(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void metrics_append(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	metrics_vappend(b, fmt, ap);
	va_end(ap);
}

void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	metrics_append(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct metrics_buf *b, const char *name, double value, const char *labels, ...)
{
	metrics_append(b, "%s", name);
	if (labels) {
		va_list ap;
		va_start(ap, labels);
		metrics_append(b, "{");
		metrics_vappend(b, labels, ap);
		metrics_append(b, "}");
		va_end(ap);
	}
	/* Counters print exactly (integers up to 2^53); the rest need no more
	 * than 9 significant digits. */
	if (value == (double)(int64_t)value && value < 9007199254740992.0)
		metrics_append(b, " %lld\n", (long long)value);
	else
		metrics_append(b, " %.9g\n", value);
}

static void metrics_workers(const struct ctl_view *v, struct metrics_buf *b)
{
	const struct shared *sh = v->sh;
	static const char *const states[] = {"starting", "running", "draining", "stopping",
					     "dead", "empty"};

	metrics_family(b, "sipedge_worker_state", "gauge",
		       "1 for the state the worker slot is in, 0 for the others");
	for (uint32_t s = 0; s < sh->nslots; s++) {
		const char *now = ctl_slot_state_name(sh, s);
		for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
			metrics_sample(b, "sipedge_worker_state", strcmp(now, states[i]) == 0,
				       "worker=\"%u\",state=\"%s\"", s, states[i]);
	}
#define SLOT_FAMILY(name, type, help, field)                                                      \
	metrics_family(b, name, type, help);                                                      \
	for (uint32_t s = 0; s < sh->nslots; s++)                                                 \
		metrics_sample(b, name, (double)atomic_load(&sh->slots[s].field), "worker=\"%u\"", s)
	SLOT_FAMILY("sipedge_worker_restarts_total", "counter", "respawns of the worker slot",
		    restarts);
	SLOT_FAMILY("sipedge_worker_messages_in_total", "counter", "datagrams received",
		    msgs_in);
	SLOT_FAMILY("sipedge_worker_messages_out_total", "counter", "datagrams sent", msgs_out);
	SLOT_FAMILY("sipedge_worker_loop_lag_microseconds", "gauge",
		    "last measured event-loop lag of the worker", loop_lag_us);
#undef SLOT_FAMILY
}

static void metrics_shm(const struct ctl_view *v, struct metrics_buf *b)
{
	struct arena_stats st;

	if (arena_stats(v->sh->arena, &st) != 0)
		return;
	metrics_family(b, "sipedge_shm_bytes", "gauge", "shared memory arena, by use");
	metrics_sample(b, "sipedge_shm_bytes", (double)st.total_bytes, "kind=\"total\"");
	metrics_sample(b, "sipedge_shm_bytes", (double)st.used_bytes, "kind=\"used\"");
	metrics_sample(b, "sipedge_shm_bytes", (double)st.free_bytes, "kind=\"free\"");
	metrics_family(b, "sipedge_shm_class_objects", "gauge",
		       "objects of each arena size class, used and free");
	for (uint32_t i = 0; i < st.nclasses; i++) {
		const struct arena_class_stats *c = &st.cls[i];
		metrics_sample(b, "sipedge_shm_class_objects", (double)c->used,
			       "size=\"%u\",kind=\"used\"", c->size);
		metrics_sample(b, "sipedge_shm_class_objects", (double)c->free,
			       "size=\"%u\",kind=\"free\"", c->size);
	}
	metrics_family(b, "sipedge_shm_alloc_failures_total", "counter",
		       "arena allocations refused (each one a 503 or a drop)");
	uint64_t fails = st.large_fail + st.perm_fail;
	for (uint32_t i = 0; i < st.nclasses; i++)
		fails += st.cls[i].fail;
	metrics_sample(b, "sipedge_shm_alloc_failures_total", (double)fails, NULL);
}

void metrics_render(const struct ctl_view *v, struct metrics_buf *b)
{
	b->len = 0;
	metrics_family(b, "sipedge_uptime_seconds", "gauge", "seconds since the master started");
	metrics_sample(b, "sipedge_uptime_seconds", ctl_seconds_since(v->sh->start_ms), NULL);
	metrics_family(b, "sipedge_policy_generation", "gauge",
		       "generation of the routing policy in force");
	metrics_sample(b, "sipedge_policy_generation", atomic_load(&v->sh->generation), NULL);
	metrics_family(b, "sipedge_draining", "gauge", "1 while new calls are refused (drain)");
	metrics_sample(b, "sipedge_draining", atomic_load(&v->sh->draining) != 0, NULL);
	metrics_workers(v, b);
	metrics_shm(v, b);
	for (const struct ctl_provider *p = ctl_registry_providers(); p; p = p->next)
		if (p->metrics)
			p->metrics(v, b);
	if (b->p == NULL)
		metrics_append(b, "%s", "");
}
