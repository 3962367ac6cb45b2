/*
 * ydoc: a YAML file as a small immutable tree, for the config and policy
 * loaders.
 *
 * libyaml's event parser is turned into scalar / sequence / mapping nodes,
 * each knowing its file and 1-based line and column, so that every later
 * check can say `file:line:col: message`. Deliberately a subset of YAML:
 * one document per file, no anchors or aliases (a reader must see every
 * value where it applies), no tags, scalar mapping keys only, no duplicate
 * keys. Scalars stay text: the typed readers (ydoc_read_*) give them a
 * meaning where the schema asks for one, so `yes` is a bool only where a
 * bool is expected.
 *
 * The error collector (struct ydoc_errs) gathers every message of a load,
 * errors and warnings, so an operator sees all of them in one run.
 */
#ifndef SE_CONFIG_YDOC_H
#define SE_CONFIG_YDOC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ydoc_type {
	YDOC_SCALAR = 1,
	YDOC_SEQ,
	YDOC_MAP,
};

/* Node flags. YDOC_F_BAD marks a node that stands in for a refused
 * construct (an alias): it was reported already, so readers fail silently. */
#define YDOC_F_QUOTED 0x01 /* scalar was written quoted or as a block literal */
#define YDOC_F_BAD    0x02

struct ydoc_pair;

/*
 * A node. Read-only for users; owned by its struct ydoc, valid until
 * ydoc_free(). `file` points to the document's copy of the file name.
 */
struct ydoc_node {
	uint8_t type;  /* enum ydoc_type */
	uint8_t flags; /* YDOC_F_* */
	uint32_t line; /* 1-based */
	uint32_t col;  /* 1-based, in characters as libyaml counts them */
	const char *file;
	union {
		struct {
			const char *str; /* NUL-terminated; may hold NULs itself */
			size_t len;
		} scalar;
		struct {
			const struct ydoc_node *const *items;
			size_t n;
		} seq;
		struct {
			const struct ydoc_pair *pairs; /* in file order */
			size_t n;
		} map;
	};
};

struct ydoc_pair {
	const struct ydoc_node *key; /* always a scalar */
	const struct ydoc_node *value;
};

struct ydoc; /* opaque: the tree and its memory */

/* One collected message; `text` is the full line as printed. */
struct ydoc_msg {
	char *text;    /* "file:line:col: message" or "file:line:col: warning: ..." */
	uint32_t line; /* 0 when the message has no position (cannot open file) */
	uint32_t col;
	uint32_t seq; /* insertion order, the tie-break when sorting */
	bool warning;
};

/* Error collector. Zero-initialise (or ydoc_errs_init), free with ydoc_errs_free. */
struct ydoc_errs {
	struct ydoc_msg *v; /* owned */
	size_t n, cap;
	size_t n_errors; /* messages that are not warnings */
	size_t n_warnings;
};

/* Deepest nesting of collections accepted; deeper files are refused rather
 * than risking the stack on a hostile file. */
#define YDOC_MAX_DEPTH 64
/* Largest file read; policy files with 100k prefixes are a few MB. */
#define YDOC_MAX_FILE (256u << 20)

/*
 * Load and parse the file at `path`. Returns 0, or SE_ECONFIG with every
 * problem added to errs. *out receives the tree whenever one could be built
 * (also after recoverable errors such as a duplicate key, so the caller can
 * go on checking and report more), NULL otherwise (cannot read, syntax
 * error, multiple documents). The caller frees a non-NULL *out. An empty
 * file is a tree whose root is NULL.
 */
int ydoc_load(const char *path, struct ydoc **out, struct ydoc_errs *errs);

/* Same, from a buffer; `name` is the file name used in messages. */
int ydoc_parse(const char *name, const char *buf, size_t len, struct ydoc **out,
               struct ydoc_errs *errs);

void ydoc_free(struct ydoc *doc);

/* Root node, NULL for an empty document. */
const struct ydoc_node *ydoc_root(const struct ydoc *doc);
/* The document's file name as given to ydoc_load (owned by doc). */
const char *ydoc_file(const struct ydoc *doc);

/* Value of `key` in a mapping, NULL if absent or if `map` is not a mapping. */
const struct ydoc_node *ydoc_map_get(const struct ydoc_node *map, const char *key);

/* True for a plain empty scalar, `~` or `null`: YAML's "no value". */
bool ydoc_is_null(const struct ydoc_node *n);

/* "a mapping", "a sequence", "an empty value", "a scalar": for messages. */
const char *ydoc_describe(const struct ydoc_node *n);

/*
 * Check that n is of `type`; otherwise add "<what>: expected a mapping, got
 * a sequence" at n and return SE_ECONFIG. `what` names the key being read
 * (may be NULL). A YDOC_F_BAD node fails silently: it was already reported.
 */
int ydoc_expect(const struct ydoc_node *n, enum ydoc_type type, const char *what,
                struct ydoc_errs *errs);

/* ---- typed scalar readers (ydoc_read.c) ------------------------------------
 * Each reads a scalar node, adds "<what>: <problem>" at the node on failure
 * and returns SE_ECONFIG, else stores the value and returns 0. Quoting does
 * not matter ("5" is the integer 5 where an integer is expected). */

/* Decimal integer within [min, max]. */
int ydoc_read_int(const struct ydoc_node *n, const char *what, long long min, long long max,
                  long long *out, struct ydoc_errs *errs);
/* yes, no, true, false (any case). */
int ydoc_read_bool(const struct ydoc_node *n, const char *what, bool *out, struct ydoc_errs *errs);
/* Non-empty string without NUL bytes; *out points into the document. */
int ydoc_read_str(const struct ydoc_node *n, const char *what, const char **out,
                  struct ydoc_errs *errs);
/* Duration with a unit (ms, s, m, h), in milliseconds within [min, max]. */
int ydoc_read_duration(const struct ydoc_node *n, const char *what, uint64_t min, uint64_t max,
                       uint64_t *ms, struct ydoc_errs *errs);
/* Size in bytes, optional binary unit (K/KiB, M/MiB, G/GiB), within [min, max]. */
int ydoc_read_size(const struct ydoc_node *n, const char *what, uint64_t min, uint64_t max,
                   uint64_t *bytes, struct ydoc_errs *errs);

/* The text forms the readers accept, without a node: for defaults written
 * as text in schema tables. Return 0, or SE_ECONFIG with *why set to a
 * static phrase. No range check. */
int ydoc_read_int_text(const char *s, long long *out, const char **why);
int ydoc_read_bool_text(const char *s, bool *out, const char **why);
int ydoc_read_duration_text(const char *s, uint64_t *ms, const char **why);
int ydoc_read_size_text(const char *s, uint64_t *bytes, const char **why);

/* Format a duration or size the way an operator writes it ("500ms", "4s",
 * "64MiB"), picking the largest exact unit. Returns buf. */
const char *ydoc_read_fmt_duration(uint64_t ms, char *buf, size_t size);
const char *ydoc_read_fmt_size(uint64_t bytes, char *buf, size_t size);

/* ---- error collector (ydoc_errs.c) --------------------------------------- */

void ydoc_errs_init(struct ydoc_errs *e);
void ydoc_errs_free(struct ydoc_errs *e);

/* Add an error at node n (file, line, col taken from it). */
void ydoc_errs_add(struct ydoc_errs *e, const struct ydoc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Add an error at an explicit position; line 0 prints "file: message". */
void ydoc_errs_add_at(struct ydoc_errs *e, const char *file, uint32_t line, uint32_t col,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The va_list form of both, for wrappers. */
void ydoc_errs_addv(struct ydoc_errs *e, const char *file, uint32_t line, uint32_t col,
                    bool warning, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));
/* Add a warning at node n: printed, never fatal. */
void ydoc_errs_warn(struct ydoc_errs *e, const struct ydoc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sort messages [from, n) by line and column, keeping insertion order for
 * equal positions: a load checks in schema order but operators read in file
 * order. Only meaningful when [from, n) concern one file. */
void ydoc_errs_sort(struct ydoc_errs *e, size_t from);

/* Print every message, one per line. */
void ydoc_errs_print(const struct ydoc_errs *e, FILE *f);

#endif
