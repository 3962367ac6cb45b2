/*
 * config: loading sipedge.yaml by walking the schema table.
 *
 * Three passes over config_schema: every default is applied first (so a
 * key that fails to parse leaves a sane value and later checks still run),
 * then each key of the file is read by its row's type, then every row's
 * check runs, absent keys included. Unknown keys are errors, with their
 * position: a typo must not silently leave a default in place. All
 * messages are collected; the load succeeds only if no error was added.
 */
#include "config.h"
#include "config_schema.h"
#include "xmem.h"

#include <sipedge/error.h>

#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void *field(struct config *cfg, const struct config_item *it)
{
	return (char *)cfg + it->offset;
}

/* Relative paths are taken from the config file's directory, not from the
 * working directory, which a daemon does not control. */
static char *resolve_path(const struct config *cfg, const char *p)
{
	if (p[0] == '/')
		return xmem_strdup(p);
	size_t dl = strlen(cfg->dir), pl = strlen(p);
	char *r = xmem_malloc(dl + 1 + pl + 1);
	memcpy(r, cfg->dir, dl);
	r[dl] = '/';
	memcpy(r + dl + 1, p, pl + 1);
	return r;
}

/* The absolute directory holding `path` (the directory as named, not a
 * symlink's target: that is where the operator put the sibling files). */
static char *config_dir(const char *path)
{
	char *copy = xmem_strdup(path);
	char *dir = dirname(copy);
	char *abs = realpath(dir, NULL);
	char *r = abs ? xmem_strdup(abs) : xmem_strdup(dir);
	free(abs);
	free(copy);
	return r;
}

static int enum_index(const struct config_item *it, const char *s)
{
	const char *const *names = it->arg;
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* Store a default written as text. Fails only on a schema bug. */
static int set_text(struct config_ctx *ctx, const struct config_item *it, const char *text)
{
	void *f = field(ctx->cfg, it);
	const char *why;
	long long v;
	uint64_t u;
	bool b;

	switch (it->type) {
	case CONFIG_T_INT:
		if ((it->flags & CONFIG_F_AUTO) && strcmp(text, "auto") == 0)
			v = 0;
		else if (ydoc_read_int_text(text, &v, &why) || v < it->min || v > it->max)
			return SE_ECONFIG;
		*(uint32_t *)f = (uint32_t)v;
		return 0;
	case CONFIG_T_BOOL:
		if (ydoc_read_bool_text(text, &b, &why))
			return SE_ECONFIG;
		*(bool *)f = b;
		return 0;
	case CONFIG_T_ENUM:
		if ((v = enum_index(it, text)) < 0)
			return SE_ECONFIG;
		*(int *)f = (int)v;
		return 0;
	case CONFIG_T_PATH:
		free(*(char **)f);
		*(char **)f = resolve_path(ctx->cfg, text);
		return 0;
	case CONFIG_T_DURATION:
		if (ydoc_read_duration_text(text, &u, &why) || u < (uint64_t)it->min ||
		    u > (uint64_t)it->max)
			return SE_ECONFIG;
		*(uint32_t *)f = (uint32_t)u;
		return 0;
	case CONFIG_T_SIZE:
		if (ydoc_read_size_text(text, &u, &why) || u < (uint64_t)it->min ||
		    u > (uint64_t)it->max)
			return SE_ECONFIG;
		*(uint64_t *)f = u;
		return 0;
	default:
		return SE_ECONFIG;
	}
}

static void apply_defaults(struct config_ctx *ctx, const struct config_item *table)
{
	for (const struct config_item *it = table; it->name; it++) {
		if (it->type == CONFIG_T_GROUP) {
			apply_defaults(ctx, it->arg);
		} else if (it->dflt && set_text(ctx, it, it->dflt)) {
			fprintf(stderr, "sipedge: bad default '%s' for key '%s' in config_schema\n",
			        it->dflt, it->name);
			abort();
		}
	}
}

static void load_table(struct config_ctx *ctx, const struct config_item *table,
                       const struct ydoc_node *map, const char *prefix);

static void enum_error(struct config_ctx *ctx, const struct config_item *it,
                       const struct ydoc_node *node, const char *what)
{
	char list[256] = "";
	const char *const *names = it->arg;
	for (size_t i = 0, len = 0; names[i] && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		                        i == 0         ? ""
		                        : names[i + 1] ? ", "
		                                       : " or ",
		                        names[i]);
	ydoc_errs_add(ctx->errs, node, "%s: expected %s, got '%s'", what, list, node->scalar.str);
}

/* Read one key's value node by the row's type. */
static int set_node(struct config_ctx *ctx, const struct config_item *it,
                    const struct ydoc_node *node, const char *what)
{
	void *f = field(ctx->cfg, it);
	struct ydoc_errs *errs = ctx->errs;
	const char *s, *why;
	long long v;
	uint64_t u;
	bool b;

	switch (it->type) {
	case CONFIG_T_INT:
		if ((it->flags & CONFIG_F_AUTO) && node->type == YDOC_SCALAR &&
		    !ydoc_is_null(node)) {
			if (strcmp(node->scalar.str, "auto") == 0) {
				*(uint32_t *)f = 0;
				return 0;
			}
			if (ydoc_read_int_text(node->scalar.str, &v, &why) &&
			    strchr("+-0123456789", node->scalar.str[0]) == NULL) {
				ydoc_errs_add(
				    errs, node,
				    "%s: expected an integer (%lld..%lld) or 'auto', got '%s'",
				    what, it->min, it->max, node->scalar.str);
				return SE_ECONFIG;
			}
		}
		if (ydoc_read_int(node, what, it->min, it->max, &v, errs))
			return SE_ECONFIG;
		*(uint32_t *)f = (uint32_t)v;
		return 0;
	case CONFIG_T_BOOL:
		if (ydoc_read_bool(node, what, &b, errs))
			return SE_ECONFIG;
		*(bool *)f = b;
		return 0;
	case CONFIG_T_ENUM:
		if (ydoc_expect(node, YDOC_SCALAR, what, errs))
			return SE_ECONFIG;
		if ((v = enum_index(it, node->scalar.str)) < 0) {
			enum_error(ctx, it, node, what);
			return SE_ECONFIG;
		}
		*(int *)f = (int)v;
		return 0;
	case CONFIG_T_PATH:
		if (ydoc_read_str(node, what, &s, errs))
			return SE_ECONFIG;
		free(*(char **)f);
		*(char **)f = resolve_path(ctx->cfg, s);
		return 0;
	case CONFIG_T_DURATION:
		if (ydoc_read_duration(node, what, (uint64_t)it->min, (uint64_t)it->max, &u, errs))
			return SE_ECONFIG;
		*(uint32_t *)f = (uint32_t)u;
		return 0;
	case CONFIG_T_SIZE:
		if (ydoc_read_size(node, what, (uint64_t)it->min, (uint64_t)it->max, &u, errs))
			return SE_ECONFIG;
		*(uint64_t *)f = u;
		return 0;
	case CONFIG_T_GROUP:
		if (ydoc_is_null(node))
			return 0; /* `limits:` with nothing under it: all defaults */
		if (ydoc_expect(node, YDOC_MAP, what, errs))
			return SE_ECONFIG;
		load_table(ctx, it->arg, node, what);
		return 0;
	case CONFIG_T_CUSTOM:
		return it->parse(ctx, it, node, what);
	}
	return SE_ECONFIG;
}

static void dotted(char *buf, size_t size, const char *prefix, const char *name)
{
	snprintf(buf, size, "%s%s%s", prefix ? prefix : "", prefix ? "." : "", name);
}

/* Read every key of `map` (NULL: an empty file) against `table`. */
static void load_table(struct config_ctx *ctx, const struct config_item *table,
                       const struct ydoc_node *map, const char *prefix)
{
	char what[128];
	size_t n = map ? map->map.n : 0;

	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *key = map->map.pairs[i].key;
		const struct config_item *it =
		    config_schema_find(table, key->scalar.str, key->scalar.len);
		dotted(what, sizeof(what), prefix, key->scalar.str);
		if (!it) {
			ydoc_errs_add(ctx->errs, key, "unknown key '%s'", what);
			continue;
		}
		set_node(ctx, it, map->map.pairs[i].value, what);
	}
	for (const struct config_item *it = table; it->name; it++) {
		if (!(it->flags & CONFIG_F_REQUIRED) || ydoc_map_get(map, it->name))
			continue;
		dotted(what, sizeof(what), prefix, it->name);
		if (map)
			ydoc_errs_add(ctx->errs, map, "missing required key '%s'", what);
		else
			ydoc_errs_add_at(ctx->errs, ctx->cfg->file, 1, 1,
			                 "missing required key '%s'", what);
	}
}

static void check_table(struct config_ctx *ctx, const struct config_item *table,
                        const struct ydoc_node *map, const char *prefix)
{
	char what[128];
	for (const struct config_item *it = table; it->name; it++) {
		const struct ydoc_node *node = ydoc_map_get(map, it->name);
		dotted(what, sizeof(what), prefix, it->name);
		if (it->type == CONFIG_T_GROUP)
			check_table(ctx, it->arg, node && node->type == YDOC_MAP ? node : NULL,
			            what);
		if (it->check)
			it->check(ctx, it, node, what);
	}
}

int config_load(const char *path, struct config *out, struct ydoc_errs *errs)
{
	size_t first = errs->n, errors = errs->n_errors;
	struct config cfg = {0};
	struct config_ctx ctx = {.cfg = &cfg, .errs = errs};
	struct ydoc *doc;

	*out = (struct config){0};
	ydoc_load(path, &doc, errs); /* a tree after recoverable errors: check on */
	if (doc) {
		const struct ydoc_node *root = ydoc_root(doc);
		cfg.file = xmem_strdup(path);
		cfg.dir = config_dir(path);
		apply_defaults(&ctx, config_schema);
		if (root && root->type != YDOC_MAP && !ydoc_is_null(root)) {
			ydoc_errs_add(errs, root,
			              "expected a mapping of keys at the top level, got %s",
			              ydoc_describe(root));
		} else {
			if (root && root->type != YDOC_MAP)
				root = NULL;
			load_table(&ctx, config_schema, root, NULL);
			check_table(&ctx, config_schema, root, NULL);
		}
		ydoc_free(doc);
	}
	ydoc_errs_sort(errs, first);
	if (errs->n_errors > errors) {
		config_free(&cfg);
		return SE_ECONFIG;
	}
	*out = cfg;
	return 0;
}

void config_free(struct config *cfg)
{
	free(cfg->file);
	free(cfg->dir);
	free(cfg->listen);
	free(cfg->policy);
	free(cfg->control);
	free(cfg->advertise.host);
	*cfg = (struct config){0};
}

const char *config_transport_name(int transport)
{
	static const char *const names[] = {
	    [CONFIG_TP_UDP] = "udp", [CONFIG_TP_TCP] = "tcp", [CONFIG_TP_TLS] = "tls",
	    [CONFIG_TP_WS] = "ws",   [CONFIG_TP_WSS] = "wss",
	};
	if (transport < CONFIG_TP_UDP || transport > CONFIG_TP_WSS)
		return "?";
	return names[transport];
}

const char *config_log_level_name(int level)
{
	const struct config_item *it = config_schema_find(config_schema, "log_level", 9);
	const char *const *names = it->arg;
	if (level < CONFIG_LOG_ERROR || level > CONFIG_LOG_DEBUG)
		return "?";
	return names[level];
}
