/*
 * config_schema: the table of sipedge.yaml keys, and the types the loader
 * (config.c) knows how to read into struct config.
 *
 * One row per key, as in Knot DNS's conf/schema.c and Redis's config.c
 * table: adding a key is adding a row (and its docs/config.md entry), not
 * writing a parser. Internal to the config module; exported for the tests,
 * which check every row (default parses, doc line present).
 */
#ifndef SE_CONFIG_SCHEMA_H
#define SE_CONFIG_SCHEMA_H

#include "config.h"

#include <stddef.h>

enum config_type {
	CONFIG_T_INT = 1,  /* uint32_t field; min..max */
	CONFIG_T_BOOL,     /* bool field */
	CONFIG_T_ENUM,     /* int field: index into arg (NULL-terminated names) */
	CONFIG_T_PATH,     /* char * field: relative to the config file's directory */
	CONFIG_T_DURATION, /* uint32_t field, milliseconds; min..max in ms */
	CONFIG_T_SIZE,     /* uint64_t field, bytes; min..max in bytes */
	CONFIG_T_GROUP,    /* a mapping of keys: arg is the sub-table */
	CONFIG_T_CUSTOM,   /* parsed by the row's parse callback */
};

#define CONFIG_F_REQUIRED 0x01 /* no default: the key must be present */
#define CONFIG_F_AUTO     0x02 /* INT: the word `auto` is accepted, stored as 0 */

/* What callbacks work on: the config being filled and the error sink. */
struct config_ctx {
	struct config *cfg;
	struct ydoc_errs *errs;
};

struct config_item;

/*
 * Callbacks get the key's value node, or NULL when the key is absent
 * (checks only), and `what`, the key's dotted name for messages. They
 * report through ctx->errs and return 0 or SE_ECONFIG.
 */
typedef int (*config_cb)(struct config_ctx *ctx, const struct config_item *it,
                         const struct ydoc_node *node, const char *what);

struct config_item {
	const char *name;
	enum config_type type;
	unsigned flags;     /* CONFIG_F_* */
	size_t offset;      /* of the field in struct config */
	long long min, max; /* INT, DURATION (ms), SIZE (bytes) */
	const char *dflt;   /* default, written as an operator would; NULL: none */
	const void *arg;    /* ENUM: const char *const[]; GROUP: const struct config_item[] */
	config_cb parse;    /* CUSTOM: read the node into the config */
	config_cb check;    /* after every key is read: cross-key rules, derived values */
	const char *doc;    /* one line; docs/config.md has the full entry */
};

/* The top-level table; every table ends with a row whose name is NULL. */
extern const struct config_item config_schema[];

/* Row `name` of `table`, or NULL. */
const struct config_item *config_schema_find(const struct config_item *table, const char *name,
                                             size_t len);

#endif
