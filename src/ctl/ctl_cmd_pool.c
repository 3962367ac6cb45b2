/*
 * ctl_cmd_pool: what the control socket and /metrics say about the pools
 * and the blacklist (src/pool), answered by the master from shared memory:
 *
 *   pools                       health and load per destination
 *   pool.enable, pool.disable   the operator's flag on one destination
 *   blacklist.list|add|del      targets not to be used for a while
 *
 * and the pool families of /metrics. The master's policy in force names
 * the pools and destinations (v->policy->current, bound to sh->pools, so
 * every dest->state indexes ps->dests); it is fetched per call and never
 * kept, since a reload frees it. Shapes: docs/control.md.
 *
 * Destinations a rule routes to directly (`route: sip:...`, pool
 * POLICY_NONE) have a shared record too (calls, in-flight, failures), but
 * no balancing and no health check: `pools` lists them apart, under
 * "rule_targets", and pool.enable/disable does not apply to them (the
 * blacklist does). /metrics covers pool destinations only.
 */
#include "ctl_int.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipedge/error.h>

#include "../pool/blacklist.h"
#include "../pool/pool.h"
#include "../runtime/log.h"
#include "../runtime/spawn.h"
#include "xmem.h"

#define CTL_BL_SECONDS_DEFAULT 60
#define CTL_BL_SECONDS_MAX     (86400 * 7) /* a week: longer is a policy's job */
#define CTL_BL_CODE_DEFAULT    403
#define CTL_BL_REASON_DEFAULT  "Destination Blacklisted"
#define CTL_ADDR_MAX           (INET6_ADDRSTRLEN + 8) /* "[v6]:65535" */


static const enum pool_health ctl_healths[] = {PH_UP, PH_DOWN, PH_HOLD, PH_DISABLED};
#define CTL_NHEALTHS (sizeof(ctl_healths) / sizeof(ctl_healths[0]))

/* ---- helpers ------------------------------------------------------------------ */

static const char *ctl_algo_name(uint8_t a)
{
	return a < POLICY_NALGOS && policy_algo_names[a] ? policy_algo_names[a] : "?";
}

/* pool_fail_name with '_' for ' ' ("transport error" -> "transport_error"):
 * a JSON key and a Prometheus label value that need no quoting, and a new
 * cause shows up here without a second list to keep in step. */
static const char *ctl_fail_key(enum pool_fail why, char *buf, size_t size)
{
	size_t k = 0;

	for (const char *p = pool_fail_name(why); *p && k + 1 < size; p++)
		buf[k++] = *p == ' ' ? '_' : *p;
	buf[k] = '\0';
	return buf;
}

/* The policy in force, or NULL after answering the call with an error. */
static const struct policy *ctl_policy_or_error(struct ctl_call *c)
{
	const struct ctl_view *v = ctl_call_view(c);
	const struct policy *p = v->policy ? v->policy->current(v->policy->arg) : NULL;

	if (p == NULL || v->sh->pools == NULL)
		ctl_call_error(c, CTL_E_UNAVAILABLE, "no routing policy loaded in this daemon");
	return p;
}

/*
 * Refuse params outside `allowed` (NULL-ended), naming the first one: a
 * mistyped option of a command that changes state must not fall back to
 * its default silently. Returns true when all are known.
 */
static bool ctl_params_known(struct ctl_call *c, json_t *params, const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach(params, key, val) {
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL) {
			char list[128] = "";
			for (i = 0; allowed[i]; i++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 i ? ", " : "", allowed[i]);
			ctl_call_error(c, CTL_E_PARAMS,
				       "unknown param '%.64s' (this command takes %s)", key, list);
			return false;
		}
	}
	return true;
}

/* "192.0.2.1:5060", "[2001:db8::1]:5060"; without the port when it is 0
 * ("192.0.2.1", "2001:db8::1"). IPv4-mapped addresses print as IPv4, the
 * form everything here stores them in (blacklist_addr16). */
static const char *ctl_addr_text(const uint8_t a16[16], uint16_t port, char *buf, size_t size)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char host[INET6_ADDRSTRLEN];
	bool v4 = memcmp(a16, mapped, sizeof(mapped)) == 0;

	inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a16 + 12 : a16, host, sizeof(host));
	if (port == 0)
		snprintf(buf, size, "%s", host);
	else
		snprintf(buf, size, v4 ? "%s:%u" : "[%s]:%u", host, port);
	return buf;
}

static const char *ctl_dest_addr(const struct policy_dest *d, char *buf, size_t size)
{
	uint8_t a16[16];

	if (!blacklist_addr16(&d->addr.sa, a16))
		return "?";
	return ctl_addr_text(a16, d->port, buf, size);
}

/* ---- calls per second (the once-a-second sampler) -------------------------------- */

/*
 * Per shared destination record (by index, so a reload changes nothing):
 * the calls count seen at the last sample and the rate it gave. A heap
 * array of ps->dest_cap entries, made at the first sample (the table's
 * size is known only then) and freed at exit, so that leak checkers see a
 * process that returns what it took.
 */
struct ctl_pool_rate {
	uint64_t calls;
	double per_s;
	bool seen; /* calls holds a sample (the record existed at the last one) */
};

static struct ctl_pool_rate *ctl_rates;
static uint32_t ctl_rates_n;
static uint64_t ctl_rates_ms; /* time of the last sample, 0: none yet */

__attribute__((destructor)) static void ctl_pool_rates_free(void)
{
	free(ctl_rates);
	ctl_rates = NULL;
	ctl_rates_n = 0;
}

/* Bounded work: one pass over dest_cap records (8192 by default), once a
 * second, in the master. */
static void ctl_pool_sample(const struct ctl_view *v, uint64_t now_ms)
{
	struct pool_shared *ps = v->sh->pools;

	if (ps == NULL)
		return;
	if (ctl_rates == NULL) {
		ctl_rates = xmem_calloc(ps->dest_cap, sizeof(*ctl_rates));
		ctl_rates_n = ps->dest_cap;
	}
	uint64_t dt = ctl_rates_ms && now_ms > ctl_rates_ms ? now_ms - ctl_rates_ms : 0;
	for (uint32_t i = 0; i < ctl_rates_n; i++) {
		const struct pool_dest_state *s = &ps->dests[i];
		struct ctl_pool_rate *r = &ctl_rates[i];
		if (atomic_load_explicit(&s->key, memory_order_acquire) == 0)
			continue;
		uint64_t calls = atomic_load_explicit(&s->calls, memory_order_relaxed);
		r->per_s = r->seen && dt ? (double)(calls - r->calls) * 1000.0 / (double)dt : 0.0;
		r->calls = calls;
		r->seen = true;
	}
	ctl_rates_ms = now_ms;
}

static double ctl_calls_per_s(uint32_t state)
{
	return ctl_rates && state < ctl_rates_n ? ctl_rates[state].per_s : 0.0;
}

/* ---- pools ----------------------------------------------------------------------- */

/* Seconds from now to a deadline in the future, else JSON null. */
static json_t *ctl_secs_until(uint64_t until_ms, uint64_t now)
{
	return until_ms > now ? json_real((double)(until_ms - now) / 1000.0) : json_null();
}

static json_t *ctl_failures_json(const struct pool_dest_state *s)
{
	json_t *o = json_object();
	char key[32];

	for (int f = 0; f < PF_FAIL__COUNT; f++)
		json_object_set_new(o, ctl_fail_key((enum pool_fail)f, key, sizeof(key)),
				    json_integer((json_int_t)atomic_load(&s->fails[f])));
	return o;
}

static json_t *ctl_probe_json(const struct policy_dest *d, const struct pool_dest_state *s)
{
	uint32_t rtt = atomic_load(&s->probe_rtt_us);

	return json_pack("{s:b,s:o,s:b}", "enabled", d->probe.enabled, "rtt_ms",
			 rtt ? json_real((double)rtt / 1000.0) : json_null(), "outstanding",
			 atomic_load(&s->probe_sent_us) != 0);
}

/* The share a destination takes now: its weight scaled by slow start
 * while up, 0 when it takes no traffic (down, held, disabled). */
static double ctl_weight_now(struct pool_shared *ps, const struct policy *p,
			     const struct policy_dest *d, enum pool_health h, uint64_t now)
{
	if (h != PH_UP)
		return 0.0;
	return (double)d->weight * pool_dest_weight_permille(ps, p, d, now) / 1000.0;
}

/* One destination's object: index is its place in its pool (-1: a rule
 * target, which has none), h its health now (pool_dest_health, which also
 * turns a lapsed hold back to up). */
static json_t *ctl_dest_json(struct pool_shared *ps, const struct policy *p,
			     const struct policy_dest *d, int64_t index, enum pool_health h,
			     uint64_t now)
{
	const struct pool_dest_state *s = pool_dstate(ps, d);
	uint64_t hs = atomic_load(&s->hstate), since = atomic_load(&s->since_ms);
	char addr[CTL_ADDR_MAX];
	json_t *o = json_object();

	if (index >= 0)
		json_object_set_new(o, "index", json_integer(index));
	json_object_set_new(o, "uri", json_string(d->uri));
	json_object_set_new(o, "address", json_string(ctl_dest_addr(d, addr, sizeof(addr))));
	json_object_set_new(o, "transport", json_string(config_transport_name(d->transport)));
	json_object_set_new(o, "state", json_string(pool_health_name(h)));
	double ago = now > since ? (double)(now - since) / 1000.0 : 0.0;
	json_object_set_new(o, "since_s", since ? json_real(ago) : json_null());
	/* A hold, or a passive down without probing, ends on its own. */
	json_object_set_new(o, "until_s", h == PH_HOLD || h == PH_DOWN
					      ? ctl_secs_until(pool_hs_until(hs), now)
					      : json_null());
	json_object_set_new(o, "probe", ctl_probe_json(d, s));
	json_object_set_new(o, "inflight", json_integer(atomic_load(&s->inflight)));
	json_object_set_new(o, "calls", json_integer((json_int_t)atomic_load(&s->calls)));
	json_object_set_new(o, "calls_per_second", json_real(ctl_calls_per_s(d->state)));
	json_object_set_new(o, "failures", ctl_failures_json(s));
	json_object_set_new(o, "weight", json_integer(d->weight));
	json_object_set_new(o, "weight_now", json_real(ctl_weight_now(ps, p, d, h, now)));
	json_object_set_new(o, "priority", json_integer(d->priority));
	json_object_set_new(o, "max_calls", json_integer(d->max_inflight));
	json_object_set_new(o, "max_cps", json_integer(d->max_cps));
	return o;
}

static json_t *ctl_pool_json(struct pool_shared *ps, const struct policy *p, uint32_t pi,
			     uint64_t now)
{
	const struct policy_pool *pp = policy_pool(p, pi);
	json_t *dests = json_array();
	uint32_t up = 0;

	for (uint32_t k = 0; k < pp->n_dests; k++) {
		const struct policy_dest *d = policy_dest(p, pp->first_dest + k);
		enum pool_health h = pool_dest_health(ps, d, now);
		up += h == PH_UP;
		json_array_append_new(dests, ctl_dest_json(ps, p, d, k, h, now));
	}
	return json_pack("{s:s,s:s,s:f,s:i,s:o}", "name", pp->name, "algorithm",
			 ctl_algo_name(pp->algo), "slow_start_s", pp->slow_start_ms / 1000.0, "up",
			 (int)up, "destinations", dests);
}

/* The rule targets, each record once (two rules may route to one URI). */
static json_t *ctl_rule_targets_json(struct pool_shared *ps, const struct policy *p, uint64_t now)
{
	json_t *arr = json_array();
	uint8_t *seen = xmem_calloc(ps->dest_cap / 8 + 1, 1);

	for (uint32_t i = 0; i < p->n_dests; i++) {
		const struct policy_dest *d = policy_dest(p, i);
		if (d->pool != POLICY_NONE || d->state >= ps->dest_cap ||
		    (seen[d->state / 8] >> (d->state % 8)) & 1)
			continue;
		seen[d->state / 8] |= (uint8_t)(1u << (d->state % 8));
		enum pool_health h = pool_dest_health(ps, d, now);
		json_array_append_new(arr, ctl_dest_json(ps, p, d, -1, h, now));
	}
	free(seen);
	return arr;
}

/* Index of pool `name` in p, or POLICY_NONE. */
static uint32_t ctl_find_pool(const struct policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_pools; i++)
		if (strcmp(p->pools[i].name, name) == 0)
			return i;
	return POLICY_NONE;
}

/* The `pool` param: its index, or POLICY_NONE after answering an error. */
static uint32_t ctl_pool_param(struct ctl_call *c, const struct policy *p, json_t *jp)
{
	if (!json_is_string(jp)) {
		ctl_call_error(c, CTL_E_PARAMS, "pool must be a pool's name (a string)");
		return POLICY_NONE;
	}
	uint32_t pi = ctl_find_pool(p, json_string_value(jp));
	if (pi == POLICY_NONE)
		ctl_call_error(c, CTL_E_PARAMS,
			       "no pool '%.128s' in the policy in force (`pools` lists them)",
			       json_string_value(jp));
	return pi;
}

/* pools [{"pool": NAME}]: every pool (and the rule targets), or one. */
static void ctl_cmd_pools(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {"pool", NULL};
	const struct policy *p;

	if (!ctl_params_known(c, params, allowed) || (p = ctl_policy_or_error(c)) == NULL)
		return;
	struct pool_shared *ps = ctl_call_view(c)->sh->pools;
	json_t *jp = json_object_get(params, "pool");
	uint64_t now = spawn_now_ms();
	json_t *pools = json_array();

	if (jp) {
		uint32_t pi = ctl_pool_param(c, p, jp);
		if (pi == POLICY_NONE) {
			json_decref(pools);
			return;
		}
		json_array_append_new(pools, ctl_pool_json(ps, p, pi, now));
		ctl_call_result(c, json_pack("{s:o}", "pools", pools));
		return;
	}
	for (uint32_t i = 0; i < p->n_pools; i++)
		json_array_append_new(pools, ctl_pool_json(ps, p, i, now));
	ctl_call_result(c, json_pack("{s:o,s:o}", "pools", pools, "rule_targets",
				     ctl_rule_targets_json(ps, p, now)));
}

/* ---- pool.enable, pool.disable ----------------------------------------------------- */

/* A whole string of decimal digits (an index), its value in *out. */
static bool ctl_index_text(const char *s, json_int_t *out)
{
	json_int_t n = 0;

	if (*s == '\0' || strlen(s) > 9)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		n = n * 10 + (*s - '0');
	}
	*out = n;
	return true;
}

/*
 * The destination of pool pi that `jd` names: its URI exactly as written
 * in the policy, its 0-based index in the pool (a number, or a string of
 * digits), or its host:port when only one destination of the pool is
 * there. Returns its index in p->dests, or POLICY_NONE after answering
 * the call with an error that names what was not found.
 */
static uint32_t ctl_dest_param(struct ctl_call *c, const struct policy *p, uint32_t pi, json_t *jd)
{
	const struct policy_pool *pp = policy_pool(p, pi);
	json_int_t idx = -1;
	char addr[CTL_ADDR_MAX];

	if (!json_is_string(jd) && !json_is_integer(jd)) {
		ctl_call_error(c, CTL_E_PARAMS, "dest must be a destination's URI, its index "
						"in the pool or host:port");
		return POLICY_NONE;
	}
	const char *name = json_is_string(jd) ? json_string_value(jd) : NULL;
	if (json_is_integer(jd) || ctl_index_text(name, &idx)) {
		if (json_is_integer(jd))
			idx = json_integer_value(jd);
		if (idx >= 0 && idx < (json_int_t)pp->n_dests)
			return pp->first_dest + (uint32_t)idx;
		ctl_call_error(c, CTL_E_PARAMS,
			       "pool '%s' has no destination %lld (indices 0 to %u)", pp->name,
			       (long long)idx, pp->n_dests - 1);
		return POLICY_NONE;
	}
	uint32_t found = POLICY_NONE, n_addr = 0;
	for (uint32_t k = 0; k < pp->n_dests; k++) {
		const struct policy_dest *d = policy_dest(p, pp->first_dest + k);
		if (strcmp(d->uri, name) == 0)
			return pp->first_dest + k;
		if (strcmp(ctl_dest_addr(d, addr, sizeof(addr)), name) == 0 && n_addr++ == 0)
			found = pp->first_dest + k;
	}
	if (n_addr == 1)
		return found;
	if (n_addr > 1)
		ctl_call_error(c, CTL_E_PARAMS,
			       "%u destinations of pool '%s' are at %.64s: give the URI or the "
			       "index",
			       n_addr, pp->name, name);
	else
		ctl_call_error(c, CTL_E_PARAMS,
			       "pool '%s' has no destination '%.128s' (give its URI as written, "
			       "its index 0 to %u, or host:port)",
			       pp->name, name, pp->n_dests - 1);
	return POLICY_NONE;
}

/*
 * pool.enable / pool.disable {"pool", "dest"}: set the operator's flag.
 * The flag lives in the destination's shared record, found by identity,
 * so it survives a reload that keeps the destination. Disabling a
 * disabled destination changes nothing (its `since` stays); enabling
 * brings it up at once, probed at once, in slow start (pool.h).
 */
static void ctl_pool_set(struct ctl_call *c, json_t *params, bool disable)
{
	static const char *const allowed[] = {"pool", "dest", NULL};
	const struct policy *p;

	if (!ctl_params_known(c, params, allowed) || (p = ctl_policy_or_error(c)) == NULL)
		return;
	json_t *jp = json_object_get(params, "pool"), *jd = json_object_get(params, "dest");
	if (jp == NULL || jd == NULL) {
		ctl_call_error(c, CTL_E_PARAMS, "pool and dest are required: pool %s POOL DEST",
			       disable ? "disable" : "enable");
		return;
	}
	uint32_t pi = ctl_pool_param(c, p, jp), di;
	if (pi == POLICY_NONE || (di = ctl_dest_param(c, p, pi, jd)) == POLICY_NONE)
		return;
	struct pool_shared *ps = ctl_call_view(c)->sh->pools;
	const struct policy_dest *d = policy_dest(p, di);
	uint64_t now = spawn_now_ms();
	enum pool_health before = pool_dest_health(ps, d, now);

	if (disable != (before == PH_DISABLED)) {
		pool_dest_set_disabled(ps, d, disable, now);
		log_warn("control: pool %s destination %s %s", p->pools[pi].name, d->uri,
			 disable ? "disabled" : "enabled");
	}
	enum pool_health after = pool_dest_health(ps, d, now);
	ctl_call_result(c, json_pack("{s:s,s:s,s:i,s:s,s:s}", "pool", p->pools[pi].name, "uri",
				     d->uri, "index", (int)(di - p->pools[pi].first_dest), "state",
				     pool_health_name(after), "previous",
				     pool_health_name(before)));
}

static void ctl_cmd_pool_enable(struct ctl_call *c, json_t *params)
{
	ctl_pool_set(c, params, false);
}

static void ctl_cmd_pool_disable(struct ctl_call *c, json_t *params)
{
	ctl_pool_set(c, params, true);
}

/* ---- blacklist ----------------------------------------------------------------------- */

/* A blacklist key as the operator gives it. */
struct ctl_bl_target {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr;
	uint16_t port;     /* 0: any */
	uint8_t transport; /* enum config_transport, 0: any */
};

/* "5060" -> 5060; false for anything but 1 to 65535 in decimal digits. */
static bool ctl_port_text(const char *s, uint16_t *out)
{
	json_int_t n;

	if (!ctl_index_text(s, &n) || n < 1 || n > 65535)
		return false;
	*out = (uint16_t)n;
	return true;
}

/*
 * "IP", "IP:PORT", "IPv6", "[IPv6]" or "[IPv6]:PORT" into t (addresses
 * only: the blacklist is about where requests go, and names are not
 * resolved here). Returns NULL, or why it is refused.
 */
static const char *ctl_parse_target(const char *text, struct ctl_bl_target *t)
{
	char host[CTL_ADDR_MAX];
	const char *port = NULL;

	if (strlen(text) >= sizeof(host))
		return "too long for an address and a port";
	snprintf(host, sizeof(host), "%s", text);
	char *h = host;
	if (host[0] == '[') {
		char *end = strchr(host, ']');
		if (end == NULL)
			return "'[' without ']'";
		*end = '\0';
		h = host + 1;
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return "only :PORT may follow ']'";
	} else {
		char *colon = strchr(host, ':');
		/* One colon: IPv4:PORT; more: a bare IPv6 address. */
		if (colon && strchr(colon + 1, ':') == NULL) {
			*colon = '\0';
			port = colon + 1;
		}
	}
	t->port = 0;
	if (port && !ctl_port_text(port, &t->port))
		return "the port must be 1 to 65535 (leave it out for any port)";
	memset(&t->addr, 0, sizeof(t->addr));
	if (inet_pton(AF_INET, h, &t->addr.in.sin_addr) == 1) {
		if (host[0] == '[')
			return "brackets are for IPv6 addresses";
		t->addr.in.sin_family = AF_INET;
		return NULL;
	}
	if (inet_pton(AF_INET6, h, &t->addr.in6.sin6_addr) == 1) {
		if (port && host[0] != '[')
			return "write an IPv6 address with a port as [IPv6]:PORT";
		t->addr.in6.sin6_family = AF_INET6;
		return NULL;
	}
	return "not an IP address (IP, IP:PORT or [IPv6]:PORT; host names are not resolved)";
}

/* The `transport` param: 0 (any) when absent or "any". */
static bool ctl_transport_param(json_t *jt, uint8_t *out)
{
	*out = 0;
	if (jt == NULL)
		return true;
	if (!json_is_string(jt))
		return false;
	if (strcmp(json_string_value(jt), "any") == 0)
		return true;
	for (int tp = CONFIG_TP_UDP; tp <= CONFIG_TP_WSS; tp++) {
		if (strcmp(json_string_value(jt), config_transport_name(tp)) == 0) {
			*out = (uint8_t)tp;
			return true;
		}
	}
	return false;
}

/* target and transport, common to add and del; false after an error. */
static bool ctl_bl_key_params(struct ctl_call *c, json_t *params, struct ctl_bl_target *t)
{
	json_t *jt = json_object_get(params, "target");

	if (!json_is_string(jt)) {
		ctl_call_error(c, CTL_E_PARAMS, "target is required: IP, IP:PORT or [IPv6]:PORT");
		return false;
	}
	const char *why = ctl_parse_target(json_string_value(jt), t);
	if (why) {
		ctl_call_error(c, CTL_E_PARAMS, "target '%.64s': %s", json_string_value(jt), why);
		return false;
	}
	if (!ctl_transport_param(json_object_get(params, "transport"), &t->transport)) {
		ctl_call_error(c, CTL_E_PARAMS, "transport must be one of udp, tcp, tls, ws, wss "
						"or any (the default)");
		return false;
	}
	return true;
}

/* The blacklist, or NULL after answering an error (a daemon built without one). */
static struct blacklist *ctl_blacklist_or_error(struct ctl_call *c)
{
	const struct pool_shared *ps = ctl_call_view(c)->sh->pools;

	if (ps == NULL || ps->blacklist == NULL)
		ctl_call_error(c, CTL_E_UNAVAILABLE, "this daemon has no blacklist");
	return ps ? ps->blacklist : NULL;
}

static json_t *ctl_bl_entry_json(const struct blacklist_entry *e, uint64_t now)
{
	char target[CTL_ADDR_MAX], addr[CTL_ADDR_MAX];

	return json_pack("{s:s,s:s,s:o,s:s,s:i,s:s,s:o,s:f}", "target",
			 ctl_addr_text(e->addr, e->port, target, sizeof(target)), "address",
			 ctl_addr_text(e->addr, 0, addr, sizeof(addr)), "port",
			 e->port ? json_integer(e->port) : json_null(), "transport",
			 e->transport ? config_transport_name(e->transport) : "any", "code",
			 (int)e->code, "reason", e->reason, "expires_in_s",
			 ctl_secs_until(e->until_ms, now), "age_s",
			 now > e->added_ms ? (double)(now - e->added_ms) / 1000.0 : 0.0);
}

/* Seconds, code and reason of blacklist.add, with the defaults; false
 * after an error naming the faulty one. */
static bool ctl_bl_add_params(struct ctl_call *c, json_t *params, uint32_t *seconds,
			      uint16_t *code, const char **reason)
{
	json_t *js = json_object_get(params, "seconds"), *jc = json_object_get(params, "code");
	json_t *jr = json_object_get(params, "reason");

	if (js && (!json_is_integer(js) || json_integer_value(js) < 1 ||
		   json_integer_value(js) > CTL_BL_SECONDS_MAX)) {
		ctl_call_error(c, CTL_E_PARAMS, "seconds must be an integer from 1 to %d",
			       CTL_BL_SECONDS_MAX);
		return false;
	}
	if (jc && (!json_is_integer(jc) || json_integer_value(jc) < 400 ||
		   json_integer_value(jc) > 699)) {
		ctl_call_error(c, CTL_E_PARAMS, "code must be an integer from 400 to 699");
		return false;
	}
	*seconds = js ? (uint32_t)json_integer_value(js) : CTL_BL_SECONDS_DEFAULT;
	*code = jc ? (uint16_t)json_integer_value(jc) : CTL_BL_CODE_DEFAULT;
	*reason = jr ? json_string_value(jr) : CTL_BL_REASON_DEFAULT;
	/* It becomes a SIP reason phrase (RFC 3261 §25.1): no control
	 * characters, and not cut silently. */
	size_t len = *reason ? strlen(*reason) : 0;
	bool ctl_char = false;
	for (size_t i = 0; i < len; i++)
		ctl_char |= ((unsigned char)(*reason)[i] < 0x20 && (*reason)[i] != '\t') ||
			    (*reason)[i] == 0x7f;
	if (*reason == NULL || len == 0 || len >= BLACKLIST_REASON_MAX || ctl_char) {
		ctl_call_error(c, CTL_E_PARAMS,
			       "reason must be text of 1 to %d bytes without control characters",
			       BLACKLIST_REASON_MAX - 1);
		return false;
	}
	return true;
}

/* blacklist.add {"target", "seconds", "code", "reason", "transport"}: add,
 * or refresh the entry with the same target and transport. */
static void ctl_cmd_bl_add(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {"target", "transport", "seconds", "code", "reason",
					      NULL};
	struct ctl_bl_target t;
	uint32_t seconds;
	uint16_t code;
	const char *reason;
	struct blacklist *bl;

	if (!ctl_params_known(c, params, allowed) || !ctl_bl_key_params(c, params, &t) ||
	    !ctl_bl_add_params(c, params, &seconds, &code, &reason) ||
	    (bl = ctl_blacklist_or_error(c)) == NULL)
		return;
	uint64_t now = spawn_now_ms();
	int rc = blacklist_add(bl, &t.addr.sa, t.port, t.transport, seconds, code, reason, now);
	if (rc != 0) {
		ctl_call_error(c, CTL_E_INTERNAL, "blacklist_add: %s", se_strerror(rc));
		return;
	}
	/* What was stored, as blacklist.list shows it. */
	struct blacklist_entry e = {.port = t.port, .transport = t.transport, .code = code,
				    .until_ms = now + (uint64_t)seconds * 1000, .added_ms = now};
	blacklist_addr16(&t.addr.sa, e.addr);
	snprintf(e.reason, sizeof(e.reason), "%s", reason);
	json_t *o = ctl_bl_entry_json(&e, now);
	log_warn("control: blacklisted %s (transport %s) for %u s: %u %s",
		 json_string_value(json_object_get(o, "target")),
		 json_string_value(json_object_get(o, "transport")), seconds, code, e.reason);
	ctl_call_result(c, o);
}

/* blacklist.del {"target", "transport"}: the entry with exactly this
 * target and transport (not the ones it would cover). */
static void ctl_cmd_bl_del(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {"target", "transport", NULL};
	struct ctl_bl_target t;
	struct blacklist *bl;
	char target[CTL_ADDR_MAX];
	uint8_t a16[16];

	if (!ctl_params_known(c, params, allowed) || !ctl_bl_key_params(c, params, &t) ||
	    (bl = ctl_blacklist_or_error(c)) == NULL)
		return;
	bool removed = blacklist_del(bl, &t.addr.sa, t.port, t.transport);
	blacklist_addr16(&t.addr.sa, a16);
	ctl_addr_text(a16, t.port, target, sizeof(target));
	const char *tp = t.transport ? config_transport_name(t.transport) : "any";
	if (removed)
		log_warn("control: blacklist entry %s (transport %s) removed", target, tp);
	ctl_call_result(c, json_pack("{s:s,s:s,s:b}", "target", target, "transport", tp,
				     "removed", removed));
}

/* The live entries into a heap array (*out, to free), however many there
 * are: blacklist_list says how many it had when the room was short. */
static uint32_t ctl_bl_snapshot(struct blacklist *bl, uint64_t now, struct blacklist_entry **out)
{
	uint32_t cap = 64, n = 0;

	*out = NULL;
	/* The list may grow between two calls: a few tries, then what fits. */
	for (int tries = 0; tries < 4; tries++) {
		*out = xmem_realloc(*out, (size_t)cap * sizeof(**out));
		n = blacklist_list(bl, now, *out, cap);
		if (n <= cap)
			return n;
		cap = n + 64;
	}
	return n < cap ? n : cap;
}

static int ctl_bl_cmp(const void *a, const void *b)
{
	const struct blacklist_entry *x = a, *y = b;
	int d = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (d == 0)
		d = (int)x->port - (int)y->port;
	return d ? d : (int)x->transport - (int)y->transport;
}

static void ctl_cmd_bl_list(struct ctl_call *c, json_t *params)
{
	static const char *const allowed[] = {NULL};
	struct blacklist *bl;
	struct blacklist_entry *e;

	if (!ctl_params_known(c, params, allowed) || (bl = ctl_blacklist_or_error(c)) == NULL)
		return;
	uint64_t now = spawn_now_ms();
	uint32_t n = ctl_bl_snapshot(bl, now, &e);
	qsort(e, n, sizeof(*e), ctl_bl_cmp);
	json_t *arr = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(arr, ctl_bl_entry_json(&e[i], now));
	free(e);
	ctl_call_result(c, json_pack("{s:i,s:o}", "count", (int)n, "entries", arr));
}

/* ---- metrics --------------------------------------------------------------------------- */

/* s as a Prometheus label value (text format 0.0.4: backslash, double
 * quote and line feed escaped), cut to fit buf. Pool names and URIs come
 * from the policy file, so nothing is assumed about them. */
static const char *ctl_label(const char *s, char *buf, size_t size)
{
	size_t k = 0;

	for (; *s && k + 3 < size; s++) {
		if (*s == '\\' || *s == '"' || *s == '\n') {
			buf[k++] = '\\';
			buf[k++] = *s == '\n' ? 'n' : *s;
		} else {
			buf[k++] = *s;
		}
	}
	buf[k] = '\0';
	return buf;
}

/* What one destination's samples share. */
struct ctl_msample {
	struct metrics_buf *b;
	const char *pool, *dest; /* escaped */
};

#define CTL_MS(ms, name, value)                                                   \
	metrics_sample((ms)->b, name, (double)(value), "pool=\"%s\",destination=\"%s\"", \
		       (ms)->pool, (ms)->dest)

/*
 * Prometheus wants a family's samples together, so each family is one
 * pass over every pool destination: `emit` writes one destination's
 * samples of the current family.
 */
typedef void (*ctl_metric_fn)(const struct ctl_msample *ms, struct pool_shared *ps,
			      const struct policy *p, const struct policy_dest *d, uint64_t now);

static void ctl_metric_family(struct metrics_buf *b, struct pool_shared *ps, const struct policy *p,
			      uint64_t now, ctl_metric_fn emit)
{
	char pool[256], dest[512];

	for (uint32_t i = 0; i < p->n_pools; i++) {
		const struct policy_pool *pp = policy_pool(p, i);
		struct ctl_msample ms = {.b = b, .pool = ctl_label(pp->name, pool, sizeof(pool))};
		for (uint32_t k = 0; k < pp->n_dests; k++) {
			const struct policy_dest *d = policy_dest(p, pp->first_dest + k);
			ms.dest = ctl_label(d->uri, dest, sizeof(dest));
			emit(&ms, ps, p, d, now);
		}
	}
}

static void ctl_m_up(const struct ctl_msample *ms, struct pool_shared *ps, const struct policy *p,
		     const struct policy_dest *d, uint64_t now)
{
	(void)p;
	CTL_MS(ms, "sipedge_pool_destination_up", pool_dest_health(ps, d, now) == PH_UP);
}

static void ctl_m_state(const struct ctl_msample *ms, struct pool_shared *ps,
			const struct policy *p, const struct policy_dest *d, uint64_t now)
{
	enum pool_health h = pool_dest_health(ps, d, now);

	(void)p;
	for (size_t i = 0; i < CTL_NHEALTHS; i++)
		metrics_sample(ms->b, "sipedge_pool_destination_state", h == ctl_healths[i],
			       "pool=\"%s\",destination=\"%s\",state=\"%s\"", ms->pool, ms->dest,
			       pool_health_name(ctl_healths[i]));
}

static void ctl_m_inflight(const struct ctl_msample *ms, struct pool_shared *ps,
			   const struct policy *p, const struct policy_dest *d, uint64_t now)
{
	(void)p, (void)now;
	CTL_MS(ms, "sipedge_pool_destination_inflight", atomic_load(&pool_dstate(ps, d)->inflight));
}

static void ctl_m_calls(const struct ctl_msample *ms, struct pool_shared *ps,
			const struct policy *p, const struct policy_dest *d, uint64_t now)
{
	(void)p, (void)now;
	CTL_MS(ms, "sipedge_pool_destination_calls_total", atomic_load(&pool_dstate(ps, d)->calls));
}

static void ctl_m_failures(const struct ctl_msample *ms, struct pool_shared *ps,
			   const struct policy *p, const struct policy_dest *d, uint64_t now)
{
	char key[32];

	(void)p, (void)now;
	for (int f = 0; f < PF_FAIL__COUNT; f++)
		metrics_sample(ms->b, "sipedge_pool_destination_failures_total",
			       (double)atomic_load(&pool_dstate(ps, d)->fails[f]),
			       "pool=\"%s\",destination=\"%s\",cause=\"%s\"", ms->pool, ms->dest,
			       ctl_fail_key((enum pool_fail)f, key, sizeof(key)));
}

/* Only destinations probed that answered at least once: no sample is
 * better than a made-up 0. */
static void ctl_m_rtt(const struct ctl_msample *ms, struct pool_shared *ps,
		      const struct policy *p, const struct policy_dest *d, uint64_t now)
{
	uint32_t rtt = atomic_load(&pool_dstate(ps, d)->probe_rtt_us);

	(void)p, (void)now;
	if (d->probe.enabled && rtt)
		CTL_MS(ms, "sipedge_pool_destination_probe_rtt_seconds", rtt / 1e6);
}

static void ctl_m_weight(const struct ctl_msample *ms, struct pool_shared *ps,
			 const struct policy *p, const struct policy_dest *d, uint64_t now)
{
	CTL_MS(ms, "sipedge_pool_destination_weight",
	       ctl_weight_now(ps, p, d, pool_dest_health(ps, d, now), now));
}

static void ctl_pool_metrics(const struct ctl_view *v, struct metrics_buf *b)
{
	static const struct {
		const char *name, *type, *help;
		ctl_metric_fn emit;
	} fams[] = {
	    {"sipedge_pool_destination_up", "gauge", "1 when the destination takes traffic",
	     ctl_m_up},
	    {"sipedge_pool_destination_state", "gauge",
	     "1 for the destination's state (up, down, hold, disabled), 0 for the others",
	     ctl_m_state},
	    {"sipedge_pool_destination_inflight", "gauge", "INVITE transactions in flight to it",
	     ctl_m_inflight},
	    {"sipedge_pool_destination_calls_total", "counter", "INVITEs sent to it", ctl_m_calls},
	    {"sipedge_pool_destination_failures_total", "counter", "failures seen, by cause",
	     ctl_m_failures},
	    {"sipedge_pool_destination_probe_rtt_seconds", "gauge",
	     "round trip of the last answered OPTIONS probe", ctl_m_rtt},
	    {"sipedge_pool_destination_weight", "gauge",
	     "weight now: configured weight scaled by slow start, 0 when not up", ctl_m_weight},
	};
	struct pool_shared *ps = v->sh->pools;
	const struct policy *p = v->policy ? v->policy->current(v->policy->arg) : NULL;
	uint64_t now = spawn_now_ms();

	if (ps && p) {
		for (size_t i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
			metrics_family(b, fams[i].name, fams[i].type, fams[i].help);
			ctl_metric_family(b, ps, p, now, fams[i].emit);
		}
	}
	if (ps && ps->blacklist) {
		metrics_family(b, "sipedge_blacklist_entries", "gauge", "live blacklist entries");
		metrics_sample(b, "sipedge_blacklist_entries",
			       blacklist_list(ps->blacklist, now, NULL, 0), NULL);
	}
}

/* ---- registration ---------------------------------------------------------------------- */

static const struct ctl_cmd ctl_pool_cmds[] = {
    {.method = "pools",
     .usage = "pools [--pool NAME]",
     .help = "per destination: state and since when, probe RTT, in-flight, calls, calls/s, "
	     "failures by cause, weight",
     .run = ctl_cmd_pools},
    {.method = "pool.enable",
     .usage = "pool enable POOL DEST",
     .help = "put a disabled destination back in service (DEST: URI, index or host:port)",
     .run = ctl_cmd_pool_enable},
    {.method = "pool.disable",
     .usage = "pool disable POOL DEST",
     .help = "take a destination out of service until enabled (kept across reloads)",
     .run = ctl_cmd_pool_disable},
    {.method = "blacklist.list",
     .usage = "blacklist list",
     .help = "blacklisted targets: code, reason, seconds left",
     .run = ctl_cmd_bl_list},
    {.method = "blacklist.add",
     .usage = "blacklist add IP[:PORT] [--transport T] [--seconds S] [--code C] [--reason R]",
     .help = "stop sending to a target for a while (default 60 s, 403 Destination "
	     "Blacklisted)",
     .run = ctl_cmd_bl_add},
    {.method = "blacklist.del",
     .usage = "blacklist del IP[:PORT] [--transport T]",
     .help = "remove a blacklist entry (exactly that target and transport)",
     .run = ctl_cmd_bl_del},
    {0},
};

static struct ctl_cmd_table ctl_pool_table = {.subsystem = "pool", .cmds = ctl_pool_cmds};
CTL_REGISTER(ctl_pool_table)

static struct ctl_provider ctl_pool_provider = {
    .subsystem = "pool",
    .metrics = ctl_pool_metrics,
    .sample = ctl_pool_sample,
};
CTL_REGISTER_PROVIDER(ctl_pool_provider)
