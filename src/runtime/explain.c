/*
 * explain: the routing decision for one request, in words (explain.h).
 */
#include "explain.h"

#include <sipedge/error.h>

#include <time.h>

#include "../policy/policy_match.h"

int explain_request(struct pool_shared *ps, const struct policy *p, const char *line,
		    const char *from_ip, const char *transport, uint64_t now_ms, FILE *f)
{
	struct policy_req rq;
	const char *why = NULL;
	if (policy_req_from_line(&rq, line, from_ip, transport, &why) != 0) {
		fprintf(f, "cannot explain '%s': %s\n", line, why ? why : "bad request line");
		return SE_EPARSE;
	}
	struct policy_hit hit = policy_explain(p, &rq, f);
	if (hit.pool == POLICY_NONE)
		return 0;
	const struct policy_pool *pool = &p->pools[hit.pool];
	struct pool_keys keys = {
	    .call_id = rq.call_id.p, .call_id_len = rq.call_id.len,
	    .from_user = rq.from_user.p, .from_user_len = rq.from_user.len,
	    .ruri_user = rq.ruri_user.p, .ruri_user_len = rq.ruri_user.len,
	    .src = rq.src.sa.sa_family == AF_UNSPEC ? NULL : &rq.src.sa,
	    .peek = true};
	uint32_t order[256];
	uint32_t n = pool_select(ps, p, hit.pool, &keys, now_ms, order, 256);
	fprintf(f, "pool '%s': %u of %u destination%s usable, tried in this order:\n", pool->name,
		n, pool->n_dests, pool->n_dests == 1 ? "" : "s");
	for (uint32_t i = 0; i < n; i++) {
		const struct policy_dest *d = &p->dests[order[i]];
		fprintf(f, "  %u. %s (weight %u, priority %u, %s)\n", i + 1, d->uri, d->weight,
			d->priority, pool_health_name(pool_dest_health(ps, d, now_ms)));
	}
	if (n == 0)
		fprintf(f, "  none: the request would be answered 503 No Destination Available\n");
	return 0;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int explain_offline(const struct policy *p, const char *line, const char *from_ip,
		    const char *transport)
{
	struct arena *a;
	struct pool_shared *ps;
	const char *why = NULL;
	/* The tables below, twice over, plus room for the reactions. */
	size_t size = (4u << 20) + (size_t)(p->n_rules + p->n_dests + p->n_pools) * 512u;
	int rc = arena_create(size, &a);
	if (rc != 0) {
		fprintf(stderr, "sipedge: arena for --explain: %s\n", se_strerror(rc));
		return 1;
	}
	/* Room for this policy alone: its records, every reaction distinct. */
	const struct pool_caps caps = {.dests = p->n_dests + 1,
				       .pools = p->n_pools + 1,
				       .rules = p->n_rules + 1,
				       .reacts = p->n_rules + p->n_pools + 1,
				       .blacklist = 16};
	rc = pool_shared_create(a, &caps, &ps);
	if (rc == 0)
		rc = pool_bind(ps, (struct policy *)p, true, &why);
	if (rc != 0) {
		fprintf(stderr, "sipedge: --explain: %s\n", why ? why : se_strerror(rc));
		arena_destroy(a);
		return 1;
	}
	printf("offline: no destination has been probed, all are taken as up\n");
	rc = explain_request(ps, p, line, from_ip, transport, mono_ms(), stdout);
	arena_destroy(a);
	return rc == 0 ? 0 : 2;
}
