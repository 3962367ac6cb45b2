/*
 * ctl_cmd_sip: what the control socket and /metrics say about the SIP
 * layer (src/proxy): `stats` (counters summed over the slots, from
 * struct sip_stats in shared memory), `transactions` (answered by each
 * worker for the transactions it owns), and the SIP members of `status`,
 * `workers` and /metrics.
 *
 * Built into the sipedge executable itself (ctl_sip_dep): it knows the
 * layout of sh->sip, which only the real SIP layer creates.
 */
#include "ctl_int.h"
#include "metrics.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../proxy/sip_shared.h"
#include "../runtime/worker.h"
#include "../txn/txn.h"

#define CTL_TXN_LIMIT_DEFAULT 10
#define CTL_TXN_LIMIT_MAX     1000

static const char *const ctl_drop_ids[] = {
#define XX(id, text) #id,
    SIP_DROP_MAP(XX)
#undef XX
};

static const char *const ctl_txn_states[] = {
    [TS_PROCEEDING] = "proceeding", [TS_COMPLETED] = "completed", [TS_CONFIRMED] = "confirmed",
    [TS_ACCEPTED] = "accepted",     [TS_TERMINATED] = "terminated",
};
#define CTL_TXN_NSTATES (sizeof(ctl_txn_states) / sizeof(ctl_txn_states[0]))

static const struct sip_shared *ctl_sip(const struct ctl_view *v)
{
	return v->sh->sip;
}

static const char *ctl_method_name(unsigned m)
{
	const char *n = se_method_name((enum se_method)m);
	return n[0] ? n : "OTHER";
}

/* "MALFORMED_RESPONSE" -> "malformed_response" into buf. */
static const char *ctl_drop_name(size_t i, char *buf, size_t size)
{
	size_t k = 0;

	for (const char *p = ctl_drop_ids[i]; *p && k + 1 < size; p++)
		buf[k++] = (char)tolower((unsigned char)*p);
	buf[k] = '\0';
	return buf;
}

/* ---- stats ------------------------------------------------------------------- */

/* The sum over the slots of the counter at offset off of struct sip_stats
 * (every counter is a 64-bit atomic; the signed ones are read as their
 * unsigned variant, which may alias them). */
static uint64_t ctl_sum_at(const struct sip_shared *ss, uint32_t n, size_t off)
{
	uint64_t sum = 0;

	for (uint32_t s = 0; s < n; s++) {
		const _Atomic uint64_t *p = (const void *)((const char *)&ss->stats[s] + off);
		sum += atomic_load_explicit(p, memory_order_relaxed);
	}
	return sum;
}
#define CTL_SUM(ss, n, field) ctl_sum_at((ss), (n), offsetof(struct sip_stats, field))

static json_t *ctl_classes(const struct sip_shared *ss, uint32_t n, bool local)
{
	json_t *o = json_object();
	char key[8];

	for (int c = 1; c <= 6; c++) {
		snprintf(key, sizeof(key), "%dxx", c);
		uint64_t v = local ? CTL_SUM(ss, n, replies_local[c]) : CTL_SUM(ss, n, responses[c]);
		json_object_set_new(o, key, json_integer((json_int_t)v));
	}
	return o;
}

static void ctl_cmd_stats(struct ctl_call *c, json_t *params)
{
	const struct ctl_view *v = ctl_call_view(c);
	const struct sip_shared *ss = ctl_sip(v);
	uint32_t n = v->sh->nslots;
	json_t *req = json_object(), *drops = json_object(), *errs = json_object();
	json_t *reacts = json_object();
	char name[64];

	(void)params;
	for (int e = 0; e < SE_IERR__COUNT; e++)
		json_object_set_new(errs, se_ierr_info((enum se_ierr)e)->id,
				    json_integer((json_int_t)CTL_SUM(ss, n, ierrs[e])));
	for (int e = 0; e < PE__COUNT; e++)
		json_object_set_new(reacts, policy_event_names[e],
				    json_integer((json_int_t)CTL_SUM(ss, n, reactions[e])));
	for (unsigned m = 0; m < SE_METHOD__COUNT; m++)
		json_object_set_new(req, ctl_method_name(m),
				    json_integer((json_int_t)CTL_SUM(ss, n, requests[m])));
	for (size_t i = 0; i < SIP_DROP__COUNT; i++)
		json_object_set_new(drops, ctl_drop_name(i, name, sizeof(name)),
				    json_integer((json_int_t)CTL_SUM(ss, n, drops[i])));
	json_t *txn = json_pack(
	    "{s:I,s:I,s:I,s:I}", "created", (json_int_t)CTL_SUM(ss, n, txn_created), "owned",
	    (json_int_t)CTL_SUM(ss, n, txn_owned), "pending", (json_int_t)CTL_SUM(ss, n, txn_pending),
	    "in_table", (json_int_t)atomic_load(&ss->txns->count));
	ctl_call_result(
	    c, json_pack("{s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "requests", req, "responses",
			 ctl_classes(ss, n, false), "replies_local", ctl_classes(ss, n, true),
			 "parse_errors", (json_int_t)CTL_SUM(ss, n, parse_errors), "retransmissions",
			 (json_int_t)CTL_SUM(ss, n, retransmissions), "drops", drops,
			 "internal_errors", errs, "reactions", reacts, "transactions", txn, "shm",
			 ctl_shm_json(v->sh->arena)));
}

/* ---- transactions (answered by each worker) ------------------------------------- */

static int ctl_txn_check(json_t *params, const char **why)
{
	json_t *jl = json_object_get(params, "limit");

	if (jl && (!json_is_integer(jl) || json_integer_value(jl) < 0 ||
		   json_integer_value(jl) > CTL_TXN_LIMIT_MAX)) {
		*why = "limit must be an integer from 0 to 1000";
		return -1;
	}
	return 0;
}

static json_int_t ctl_txn_limit(json_t *params)
{
	json_t *jl = json_object_get(params, "limit");
	return jl ? json_integer_value(jl) : CTL_TXN_LIMIT_DEFAULT;
}

static json_t *ctl_txn_json(const struct txn *t, uint64_t now)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const union sockaddr_any *a = &t->src;
	bool v6 = a->sa.sa_family == AF_INET6;
	uint16_t port = ntohs(v6 ? a->in6.sin6_port : a->in.sin_port);
	char src[INET6_ADDRSTRLEN + 10];

	inet_ntop(a->sa.sa_family, v6 ? (const void *)&a->in6.sin6_addr : (const void *)&a->in.sin_addr,
		  host, sizeof(host));
	snprintf(src, sizeof(src), v6 ? "[%s]:%u" : "%s:%u", host, port);
	return json_pack("{s:s,s:s,s:I,s:i,s:i,s:s}", "method", ctl_method_name(t->method), "state",
			 t->sstate < CTL_TXN_NSTATES && ctl_txn_states[t->sstate]
			     ? ctl_txn_states[t->sstate]
			     : "?",
			 "age_ms", (json_int_t)(now > t->created_ms ? now - t->created_ms : 0),
			 "branches", t->nbr, "last_response", t->resp_code, "source", src);
}

/*
 * In the worker: walk the whole table, one bucket lock at a time (held
 * only for that bucket's list), counting this slot's transactions by
 * state and copying the first `limit` of them.
 */
static json_t *ctl_txn_worker(struct worker *w, json_t *params)
{
	const struct sip_shared *ss = w->sh->sip;
	struct txn_table *tt = ss->txns;
	json_int_t limit = ctl_txn_limit(params);
	uint64_t counts[CTL_TXN_NSTATES] = {0}, total = 0;
	uint64_t now = worker_now_ms(w);
	json_t *sample = json_array();

	for (uint32_t b = 0; b <= tt->mask; b++) {
		txn_table_lock(tt, b);
		txn_table_foreach_locked(tt, b, it) {
			const struct txn *t = txn_of_link(it);
			if (t->owner != w->slot)
				continue;
			total++;
			if (t->sstate < CTL_TXN_NSTATES)
				counts[t->sstate]++;
			if ((json_int_t)json_array_size(sample) < limit)
				json_array_append_new(sample, ctl_txn_json(t, now));
		}
		txn_table_unlock(tt, b);
	}
	json_t *by = json_object();
	for (size_t i = 1; i < CTL_TXN_NSTATES; i++)
		json_object_set_new(by, ctl_txn_states[i], json_integer((json_int_t)counts[i]));
	return json_pack("{s:I,s:o,s:o}", "total", (json_int_t)total, "by_state", by, "sample",
			 sample);
}

/* Add src's integer members into dst's. */
static void ctl_add_counts(json_t *dst, json_t *src)
{
	const char *k;
	json_t *val;

	json_object_foreach(src, k, val) {
		json_t *cur = json_object_get(dst, k);
		json_int_t sum = json_integer_value(val) + (cur ? json_integer_value(cur) : 0);
		json_object_set_new(dst, k, json_integer(sum));
	}
}

static json_t *ctl_txn_merge(json_t *parts, json_t *params)
{
	json_int_t limit = ctl_txn_limit(params), total = 0;
	json_t *by = json_object(), *sample = json_array(), *workers = json_array();
	bool complete = true;
	size_t i;
	json_t *part;

	json_array_foreach(parts, i, part) {
		json_t *res = json_object_get(part, "result");
		json_t *wo = json_pack("{s:O,s:O}", "slot", json_object_get(part, "slot"), "pid",
				       json_object_get(part, "pid"));
		if (res == NULL) {
			json_object_set(wo, "error", json_object_get(part, "error"));
			/* A slot without a worker has nothing to report; any
			 * other error means a part of the answer is missing. */
			const char *err = json_string_value(json_object_get(part, "error"));
			if (err == NULL || strcmp(err, "not running") != 0)
				complete = false;
		} else {
			total += json_integer_value(json_object_get(res, "total"));
			json_object_set(wo, "total", json_object_get(res, "total"));
			ctl_add_counts(by, json_object_get(res, "by_state"));
			size_t j;
			json_t *t;
			json_array_foreach(json_object_get(res, "sample"), j, t) {
				if ((json_int_t)json_array_size(sample) >= limit)
					break;
				json_object_set(t, "slot", json_object_get(part, "slot"));
				json_array_append(sample, t);
			}
		}
		json_array_append_new(workers, wo);
	}
	return json_pack("{s:I,s:o,s:b,s:o,s:o}", "total", total, "by_state", by, "complete",
			 complete, "workers", workers, "sample", sample);
}

/* ---- status, workers, metrics ------------------------------------------------------ */

static double ctl_calls_per_s;   /* INVITEs received over the last second */
static uint64_t ctl_last_invites;
static uint64_t ctl_last_ms;

static void ctl_sip_sample(const struct ctl_view *v, uint64_t now_ms)
{
	uint64_t inv = CTL_SUM(ctl_sip(v), v->sh->nslots, requests[SE_METHOD_INVITE]);

	if (ctl_last_ms && now_ms > ctl_last_ms)
		ctl_calls_per_s = (double)(inv - ctl_last_invites) * 1000.0 /
				  (double)(now_ms - ctl_last_ms);
	ctl_last_invites = inv;
	ctl_last_ms = now_ms;
}

static void ctl_sip_status(const struct ctl_view *v, json_t *out)
{
	const struct sip_shared *ss = ctl_sip(v);
	uint32_t n = v->sh->nslots;

	json_object_set_new(out, "transactions_in_flight",
			    json_integer((json_int_t)atomic_load(&ss->txns->count)));
	json_object_set_new(out, "transactions_pending",
			    json_integer((json_int_t)CTL_SUM(ss, n, txn_pending)));
	json_object_set_new(out, "calls_per_second", json_real(ctl_calls_per_s));
}

static void ctl_sip_worker(const struct ctl_view *v, uint32_t slot, json_t *out)
{
	const struct sip_stats *st = &ctl_sip(v)->stats[slot];

	json_object_set_new(out, "transactions", json_integer(atomic_load(&st->txn_owned)));
	json_object_set_new(out, "transactions_pending",
			    json_integer(atomic_load(&st->txn_pending)));
}

#define CTL_SLOT_FAMILY(b, v, name, type, help, field)                                         \
	do {                                                                                   \
		metrics_family(b, name, type, help);                                           \
		for (uint32_t s_ = 0; s_ < (v)->sh->nslots; s_++)                              \
			metrics_sample(b, name, (double)atomic_load(&ctl_sip(v)->stats[s_].field), \
				       "worker=\"%u\"", s_);                                   \
	} while (0)

static void ctl_sip_metrics_classes(const struct ctl_view *v, struct metrics_buf *b, bool local)
{
	const char *name = local ? "sipedge_sip_local_replies_total" : "sipedge_sip_responses_total";

	metrics_family(b, name, "counter",
		       local ? "responses sipedge generated, by class"
			     : "responses received, by class");
	for (uint32_t s = 0; s < v->sh->nslots; s++) {
		const struct sip_stats *st = &ctl_sip(v)->stats[s];
		for (int c = 1; c <= 6; c++)
			metrics_sample(b, name,
				       (double)atomic_load(local ? &st->replies_local[c]
								 : &st->responses[c]),
				       "worker=\"%u\",class=\"%dxx\"", s, c);
	}
}

static void ctl_sip_metrics(const struct ctl_view *v, struct metrics_buf *b)
{
	char name[64];

	metrics_family(b, "sipedge_sip_requests_total", "counter", "requests received, by method");
	for (uint32_t s = 0; s < v->sh->nslots; s++)
		for (unsigned m = 0; m < SE_METHOD__COUNT; m++)
			metrics_sample(b, "sipedge_sip_requests_total",
				       (double)atomic_load(&ctl_sip(v)->stats[s].requests[m]),
				       "worker=\"%u\",method=\"%s\"", s, ctl_method_name(m));
	ctl_sip_metrics_classes(v, b, false);
	ctl_sip_metrics_classes(v, b, true);
	metrics_family(b, "sipedge_sip_drops_total", "counter",
		       "messages dropped or answered 503, by cause");
	for (uint32_t s = 0; s < v->sh->nslots; s++)
		for (size_t i = 0; i < SIP_DROP__COUNT; i++)
			metrics_sample(b, "sipedge_sip_drops_total",
				       (double)atomic_load(&ctl_sip(v)->stats[s].drops[i]),
				       "worker=\"%u\",cause=\"%s\"", s,
				       ctl_drop_name(i, name, sizeof(name)));
	metrics_family(b, "sipedge_sip_internal_errors_total", "counter",
		       "internal error responses sent upstream, by id (DESIGN.md table)");
	for (uint32_t s = 0; s < v->sh->nslots; s++)
		for (int e = 0; e < SE_IERR__COUNT; e++)
			metrics_sample(b, "sipedge_sip_internal_errors_total",
				       (double)atomic_load(&ctl_sip(v)->stats[s].ierrs[e]),
				       "worker=\"%u\",id=\"%s\"", s, se_ierr_info((enum se_ierr)e)->id);
	metrics_family(b, "sipedge_policy_reactions_total", "counter",
		       "policy reactions applied, by event");
	for (uint32_t s = 0; s < v->sh->nslots; s++)
		for (int e = 0; e < PE__COUNT; e++)
			metrics_sample(b, "sipedge_policy_reactions_total",
				       (double)atomic_load(&ctl_sip(v)->stats[s].reactions[e]),
				       "worker=\"%u\",event=\"%s\"", s, policy_event_names[e]);
	CTL_SLOT_FAMILY(b, v, "sipedge_sip_parse_errors_total", "counter",
			"requests answered 400, 505 or 513", parse_errors);
	CTL_SLOT_FAMILY(b, v, "sipedge_sip_retransmissions_total", "counter",
			"retransmissions absorbed or re-sent", retransmissions);
	CTL_SLOT_FAMILY(b, v, "sipedge_sip_transactions_created_total", "counter",
			"transactions created", txn_created);
	CTL_SLOT_FAMILY(b, v, "sipedge_sip_transactions", "gauge",
			"live transactions owned by the worker", txn_owned);
	CTL_SLOT_FAMILY(b, v, "sipedge_sip_transactions_pending", "gauge",
			"owned transactions without a final response yet", txn_pending);
	metrics_family(b, "sipedge_sip_calls_per_second", "gauge",
		       "INVITE requests received over the last second");
	metrics_sample(b, "sipedge_sip_calls_per_second", ctl_calls_per_s, NULL);
}

/* ---- registration ------------------------------------------------------------------ */

static const struct ctl_cmd ctl_sip_cmds[] = {
    {.method = "stats",
     .usage = "stats",
     .help = "SIP counters: by method and response class, parse errors, drops by cause, "
	     "transactions, shared memory",
     .run = ctl_cmd_stats},
    {.method = "transactions",
     .usage = "transactions [--limit N]",
     .help = "transactions by state and a sample, as each worker reports the ones it owns",
     .check = ctl_txn_check,
     .worker = ctl_txn_worker,
     .merge = ctl_txn_merge},
    {0},
};

static struct ctl_cmd_table ctl_sip_table = {.subsystem = "sip", .cmds = ctl_sip_cmds};
CTL_REGISTER(ctl_sip_table)

static struct ctl_provider ctl_sip_provider = {
    .subsystem = "sip",
    .status = ctl_sip_status,
    .worker = ctl_sip_worker,
    .metrics = ctl_sip_metrics,
    .sample = ctl_sip_sample,
};
CTL_REGISTER_PROVIDER(ctl_sip_provider)
