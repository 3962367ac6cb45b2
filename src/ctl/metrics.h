/*
 * metrics: the Prometheus text exposition format (version 0.0.4) built in
 * a growable buffer: families (# HELP, # TYPE) and samples with labels.
 * metrics_render() writes the whole page: the runtime's families
 * (workers, shared memory) and every provider's (ctl_registry.h).
 */
#ifndef SE_CTL_METRICS_H
#define SE_CTL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_registry.h"

struct metrics_buf {
	char *p; /* process heap, NUL-terminated */
	size_t len;
	size_t cap;
};

void metrics_buf_free(struct metrics_buf *b);

/* "# HELP name help\n# TYPE name type\n"; type is "counter" or "gauge". */
void metrics_family(struct metrics_buf *b, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. labels is printf-formatted, without the
 * braces ("worker=\"0\",method=\"INVITE\""), or NULL for none. Label
 * values must need no escaping (ours are numbers and fixed names). */
void metrics_sample(struct metrics_buf *b, const char *name, double value, const char *labels, ...)
	__attribute__((format(printf, 4, 5)));

/* The whole /metrics page into b (emptied first). */
void metrics_render(const struct ctl_view *v, struct metrics_buf *b);

#endif
