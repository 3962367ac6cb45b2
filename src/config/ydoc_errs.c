/*
 * ydoc_errs: the collector of config and policy messages.
 *
 * A load does not stop at its first problem: each check adds a message and
 * carries on, and the operator gets every `file:line:col: message` of the
 * file in one run (nginx -t, but complete). Warnings travel in the same
 * list so they print in file order with the errors; only errors make a
 * load fail.
 */
#include "ydoc.h"
#include "xmem.h"

#include <stdarg.h>

void ydoc_errs_init(struct ydoc_errs *e)
{
	*e = (struct ydoc_errs){0};
}

void ydoc_errs_free(struct ydoc_errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].text);
	free(e->v);
	*e = (struct ydoc_errs){0};
}

void ydoc_errs_addv(struct ydoc_errs *e, const char *file, uint32_t line, uint32_t col,
                    bool warning, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Messages quote the operator's text; one message must stay one line. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';

	/* The prefix goes in now so that printing and tests see one string. */
	char head[64];
	if (line)
		snprintf(head, sizeof(head), ":%u:%u: %s", (unsigned)line, (unsigned)col,
		         warning ? "warning: " : "");
	else
		snprintf(head, sizeof(head), ": %s", warning ? "warning: " : "");
	size_t flen = strlen(file), hlen = strlen(head), mlen = strlen(msg);
	char *text = xmem_malloc(flen + hlen + mlen + 1);
	memcpy(text, file, flen);
	memcpy(text + flen, head, hlen);
	memcpy(text + flen + hlen, msg, mlen + 1);

	e->v = xmem_grow(e->v, &e->cap, e->n, sizeof(*e->v));
	e->v[e->n] = (struct ydoc_msg){
	    .text = text,
	    .line = line,
	    .col = col,
	    .seq = (uint32_t)e->n,
	    .warning = warning,
	};
	e->n++;
	if (warning)
		e->n_warnings++;
	else
		e->n_errors++;
}

void ydoc_errs_add(struct ydoc_errs *e, const struct ydoc_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ydoc_errs_addv(e, n->file, n->line, n->col, false, fmt, ap);
	va_end(ap);
}

void ydoc_errs_add_at(struct ydoc_errs *e, const char *file, uint32_t line, uint32_t col,
                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ydoc_errs_addv(e, file, line, col, false, fmt, ap);
	va_end(ap);
}

void ydoc_errs_warn(struct ydoc_errs *e, const struct ydoc_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ydoc_errs_addv(e, n->file, n->line, n->col, true, fmt, ap);
	va_end(ap);
}

static int msg_cmp(const void *a, const void *b)
{
	const struct ydoc_msg *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void ydoc_errs_sort(struct ydoc_errs *e, size_t from)
{
	if (from < e->n)
		qsort(e->v + from, e->n - from, sizeof(*e->v), msg_cmp);
}

void ydoc_errs_print(const struct ydoc_errs *e, FILE *f)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->v[i].text);
}
