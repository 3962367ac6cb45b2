/*
 * config_schema: every key of sipedge.yaml, one row each, with the few
 * callbacks that a type alone cannot express (listen URIs, advertise,
 * `workers: auto`, the control socket's path limit, T2 >= T1).
 *
 * Defaults are RFC 3261's where one exists (T1 500ms, T2 4s, T4 5s, §17.1.1.1
 * and Table 4; Timer C 3 minutes, §16.6 item 11). Ranges are what keeps the
 * runtime sane, not the RFC's ideals: a lab may shorten Timer C.
 */
#include "config_schema.h"
#include "config_addr.h"
#include "xmem.h"

#include <sipedge/error.h>

#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#define KIB(x) ((long long)(x) << 10)
#define MIB(x) ((long long)(x) << 20)
#define GIB(x) ((long long)(x) << 30)
#define SEC(x) ((long long)(x)*1000)

/* ---- callbacks -------------------------------------------------------- */

/* An earlier listener equal to l, or NULL. */
static const struct config_listener *same_listener(const struct config *cfg,
                                                   const struct config_listener *l)
{
	for (size_t j = 0; j < cfg->n_listen; j++)
		if (config_addr_same(&cfg->listen[j], l))
			return &cfg->listen[j];
	return NULL;
}

static int parse_listen(struct config_ctx *ctx, const struct config_item *it,
                        const struct ydoc_node *node, const char *what)
{
	struct config *cfg = ctx->cfg;
	(void)it;
	if (ydoc_expect(node, YDOC_SEQ, what, ctx->errs))
		return SE_ECONFIG;
	if (node->seq.n == 0) {
		ydoc_errs_add(ctx->errs, node, "%s: at least one address is required", what);
		return SE_ECONFIG;
	}
	int rc = 0;
	cfg->listen = xmem_calloc(node->seq.n, sizeof(*cfg->listen));
	for (size_t i = 0; i < node->seq.n; i++) {
		const struct ydoc_node *item = node->seq.items[i];
		struct config_listener l = {.line = item->line, .col = item->col};
		const struct config_listener *first;
		const char *text, *why;
		if (ydoc_read_str(item, what, &text, ctx->errs)) {
			rc = SE_ECONFIG;
		} else if (config_addr_listener(text, &l, &why)) {
			ydoc_errs_add(ctx->errs, item, "%s: bad address '%s': %s", what, text, why);
			rc = SE_ECONFIG;
		} else if ((first = same_listener(cfg, &l))) {
			ydoc_errs_add(ctx->errs, item,
			              "%s: duplicate address '%s' (first at line %u)", what, text,
			              (unsigned)first->line);
			rc = SE_ECONFIG;
		} else {
			cfg->listen[cfg->n_listen++] = l;
		}
	}
	return rc;
}

/* The parser knows every transport; the runtime serves UDP only so far.
 * Refusing at load is the honest answer: a listener accepted and then
 * silently not served is worse than an error naming it. */
static int check_listen(struct config_ctx *ctx, const struct config_item *it,
                        const struct ydoc_node *node, const char *what)
{
	int rc = 0;
	(void)it;
	(void)node;
	for (size_t i = 0; i < ctx->cfg->n_listen; i++) {
		const struct config_listener *l = &ctx->cfg->listen[i];
		if (l->transport == CONFIG_TP_UDP)
			continue;
		ydoc_errs_add_at(ctx->errs, ctx->cfg->file, l->line, l->col,
		                 "%s: transport %s is not supported yet", what,
		                 config_transport_name(l->transport));
		rc = SE_ECONFIG;
	}
	return rc;
}

/* CPUs this process may run on: the affinity mask (a container's cpuset),
 * falling back to the online count. */
static uint32_t usable_cpus(void)
{
	long n = 0;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (uint32_t)n;
}

static int check_workers(struct config_ctx *ctx, const struct config_item *it,
                         const struct ydoc_node *node, const char *what)
{
	(void)it;
	(void)node;
	(void)what;
	if (ctx->cfg->workers == 0) {
		ctx->cfg->workers = usable_cpus();
		ctx->cfg->workers_auto = true;
	}
	return 0;
}

/* A Unix socket path must fit sun_path with its NUL; a relative path made
 * absolute under a deep directory can overflow it without the operator
 * having written anything long. */
static int check_control(struct config_ctx *ctx, const struct config_item *it,
                         const struct ydoc_node *node, const char *what)
{
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	size_t len = strlen(ctx->cfg->control);
	(void)it;
	if (len <= max)
		return 0;
	if (node)
		ydoc_errs_add(ctx->errs, node,
		              "%s: socket path '%s' is too long (%zu bytes, at most %zu)", what,
		              ctx->cfg->control, len, max);
	else
		ydoc_errs_add_at(ctx->errs, ctx->cfg->file, 0, 0,
		                 "%s: default socket path '%s' is too long (%zu bytes, at most "
		                 "%zu): set '%s' to a shorter path",
		                 what, ctx->cfg->control, len, max, what);
	return SE_ECONFIG;
}

/* RFC 3261 §17.1.2.2: T2 caps the doubling of T1, so it cannot be below it. */
static int check_timers(struct config_ctx *ctx, const struct config_item *it,
                        const struct ydoc_node *node, const char *what)
{
	char a[32], b[32];
	const struct config *cfg = ctx->cfg;
	(void)it;
	if (cfg->timers.t2 >= cfg->timers.t1)
		return 0;
	const struct ydoc_node *at = ydoc_map_get(node, "t2");
	if (!at)
		at = ydoc_map_get(node, "t1");
	ydoc_errs_add(ctx->errs, at ? at : node, "%s.t2 (%s) must not be less than %s.t1 (%s)",
	              what, ydoc_read_fmt_duration(cfg->timers.t2, a, sizeof(a)), what,
	              ydoc_read_fmt_duration(cfg->timers.t1, b, sizeof(b)));
	return SE_ECONFIG;
}

static int parse_advertise(struct config_ctx *ctx, const struct config_item *it,
                           const struct ydoc_node *node, const char *what)
{
	const char *text, *why;
	(void)it;
	if (ydoc_read_str(node, what, &text, ctx->errs))
		return SE_ECONFIG;
	if (config_addr_hostport(text, &ctx->cfg->advertise.host, &ctx->cfg->advertise.port,
	                         &why)) {
		ydoc_errs_add(ctx->errs, node, "%s: bad address '%s': %s", what, text, why);
		return SE_ECONFIG;
	}
	return 0;
}

/* metrics: ADDRESS:PORT, an IP literal (IPv6 in brackets) and a port that
 * must be written: no default port is obvious for a monitoring listener. */
static int parse_metrics(struct config_ctx *ctx, const struct config_item *it,
                         const struct ydoc_node *node, const char *what)
{
	const char *text, *why = NULL;
	char uri[128];
	(void)it;
	if (ydoc_read_str(node, what, &text, ctx->errs))
		return SE_ECONFIG;
	const char *colon = strrchr(text, ':');
	const char *bracket = strrchr(text, ']');
	if (colon == NULL || (bracket && colon < bracket))
		why = "a port is required (ADDRESS:PORT)";
	else if (strchr(text, '/'))
		why = "expected ADDRESS:PORT, without a scheme or a path";
	else if ((size_t)snprintf(uri, sizeof(uri), "tcp://%s", text) >= sizeof(uri))
		why = "too long";
	else if (config_addr_listener(uri, &ctx->cfg->metrics, &why) == 0)
		ctx->cfg->metrics_on = true;
	if (!ctx->cfg->metrics_on) {
		ydoc_errs_add(ctx->errs, node, "%s: bad address '%s': %s", what, text, why);
		return SE_ECONFIG;
	}
	ctx->cfg->metrics.line = node->line;
	ctx->cfg->metrics.col = node->col;
	return 0;
}

/* ---- tables ----------------------------------------------------------- */

static const char *const log_levels[] = {
    [CONFIG_LOG_ERROR] = "error",
    [CONFIG_LOG_WARN] = "warn",
    [CONFIG_LOG_INFO] = "info",
    [CONFIG_LOG_DEBUG] = "debug",
    NULL,
};

#define OFF(field) offsetof(struct config, field)

static const struct config_item limits_schema[] = {
    {.name = "max_message_size",
     .type = CONFIG_T_INT,
     .offset = OFF(limits.max_message_size),
     .min = 1024,
     .max = MIB(16),
     .dflt = "65535",
     .doc = "largest SIP message accepted, in bytes"},
    {.name = "max_headers",
     .type = CONFIG_T_INT,
     .offset = OFF(limits.max_headers),
     .min = 8,
     .max = 4096,
     .dflt = "128",
     .doc = "most header fields accepted in one message"},
    {.name = "max_via",
     .type = CONFIG_T_INT,
     .offset = OFF(limits.max_via),
     .min = 1,
     .max = 1024,
     .dflt = "32",
     .doc = "most Via entries accepted in one message"},
    {0},
};

static const struct config_item timers_schema[] = {
    {.name = "t1",
     .type = CONFIG_T_DURATION,
     .offset = OFF(timers.t1),
     .min = 10,
     .max = SEC(60),
     .dflt = "500ms",
     .doc = "RFC 3261 T1, the round-trip estimate retransmissions start from"},
    {.name = "t2",
     .type = CONFIG_T_DURATION,
     .offset = OFF(timers.t2),
     .min = 10,
     .max = SEC(600),
     .dflt = "4s",
     .doc = "RFC 3261 T2, the longest retransmit interval for non-INVITE requests"},
    {.name = "t4",
     .type = CONFIG_T_DURATION,
     .offset = OFF(timers.t4),
     .min = 1,
     .max = SEC(600),
     .dflt = "5s",
     .doc = "RFC 3261 T4, how long a message may stay in the network"},
    {.name = "timer_c",
     .type = CONFIG_T_DURATION,
     .offset = OFF(timers.timer_c),
     .min = SEC(1),
     .max = SEC(7200),
     .dflt = "180s",
     .doc = "RFC 3261 Timer C, how long a proxied INVITE may stay unanswered"},
    {0},
};

const struct config_item config_schema[] = {
    {.name = "listen",
     .type = CONFIG_T_CUSTOM,
     .flags = CONFIG_F_REQUIRED,
     .parse = parse_listen,
     .check = check_listen,
     .doc = "addresses to receive SIP on, as TRANSPORT://ADDRESS[:PORT]"},
    {.name = "workers",
     .type = CONFIG_T_INT,
     .flags = CONFIG_F_AUTO,
     .offset = OFF(workers),
     .min = 1,
     .max = CONFIG_MAX_WORKERS,
     .dflt = "auto",
     .check = check_workers,
     .doc = "number of worker processes, or auto for one per usable CPU"},
    {.name = "policy",
     .type = CONFIG_T_PATH,
     .offset = OFF(policy),
     .dflt = "policy.yaml",
     .doc = "routing policy file, relative to this file's directory"},
    {.name = "control",
     .type = CONFIG_T_PATH,
     .offset = OFF(control),
     .dflt = "sipedge.sock",
     .check = check_control,
     .doc = "control socket for sipedgectl, relative to this file's directory"},
    {.name = "shm_size",
     .type = CONFIG_T_SIZE,
     .offset = OFF(shm_size),
     .min = MIB(4),
     .max = GIB(64),
     .dflt = "64MiB",
     .doc = "size of the shared memory arena (transactions, connections, stats)"},
    {.name = "log_level",
     .type = CONFIG_T_ENUM,
     .offset = OFF(log_level),
     .dflt = "info",
     .arg = log_levels,
     .doc = "least severe level logged: error, warn, info or debug"},
    {.name = "limits",
     .type = CONFIG_T_GROUP,
     .arg = limits_schema,
     .doc = "limits on incoming messages"},
    {.name = "timers",
     .type = CONFIG_T_GROUP,
     .arg = timers_schema,
     .check = check_timers,
     .doc = "SIP transaction timers"},
    {.name = "record_route",
     .type = CONFIG_T_BOOL,
     .offset = OFF(record_route),
     .dflt = "true",
     .doc = "add Record-Route so in-dialog requests come back through us"},
    {.name = "advertise",
     .type = CONFIG_T_CUSTOM,
     .parse = parse_advertise,
     .doc = "HOST[:PORT] to put in Via and Record-Route instead of the listen address"},
    {.name = "metrics",
     .type = CONFIG_T_CUSTOM,
     .parse = parse_metrics,
     .doc = "ADDRESS:PORT of the HTTP listener for /metrics, /live and /ready; off if absent"},
    {0},
};

const struct config_item *config_schema_find(const struct config_item *table, const char *name,
                                             size_t len)
{
	for (const struct config_item *it = table; it->name; it++)
		if (strlen(it->name) == len && memcmp(it->name, name, len) == 0)
			return it;
	return NULL;
}
