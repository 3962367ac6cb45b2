/*
 * worker_policy: a worker following policy reloads.
 *
 * The master publishes a new generation (policy_source.h) only after it
 * compiled it. Each tick a worker compares the generation with its own;
 * when they differ it compiles the published files on libuv's thread pool
 * (100,000 prefixes take tens of milliseconds: not on the loop that
 * carries calls), binds the pools' shared records, and switches between
 * two callbacks of its loop: no message is ever routed half by one policy
 * and half by the other. Transactions already routed keep what they need
 * from the old policy in their own record (proxy/proxy.h, txn_route), so
 * the old one is freed at once.
 *
 * The master keeps the files of a generation until every worker runs it
 * (slot.policy_gen), so a compile never reads freed memory.
 */
#include "worker.h"

#include <sipedge/error.h>

#include <stdlib.h>
#include <string.h>

#include "../pool/pool.h"
#include "log.h"
#include "policy_source.h"
#include "shared.h"

struct worker_reload {
	uv_work_t req;
	struct worker *w;
	struct policy_source *src;
	struct policy *pol;
	struct ydoc_errs errs;
	const char *why; /* pool_bind's complaint */
	int rc;
};

static void reload_work(uv_work_t *req)
{
	struct worker_reload *r = req->data;
	struct policy_reader rd = policy_source_reader(r->src);
	r->rc = policy_load(policy_source_path(r->src, 0), &rd, &r->pol, &r->errs);
	if (r->rc == 0 && (r->rc = pool_bind(r->w->sh->pools, r->pol, false, &r->why)) != 0) {
		policy_free(r->pol);
		r->pol = NULL;
	}
}

static void reload_done(uv_work_t *req, int status)
{
	struct worker_reload *r = req->data;
	struct worker *w = r->w;
	w->reloading = false;
	if (status == 0 && r->rc == 0) {
		struct policy *old = (struct policy *)w->policy;
		w->policy = r->pol;
		if (w->hooks->policy)
			w->hooks->policy(w, r->pol);
		/* the start-up policy belongs to the master's image: never freed */
		if (old && old != w->policy_inherited)
			policy_free(old);
		log_info("policy generation %u in force", r->src->generation);
	} else {
		/* the master compiled the same bytes: this is a bug or memory
		 * corruption; keep routing with what works */
		log_error("policy generation %u failed to compile here (%s%s%s): the previous "
		          "policy stays",
		          r->src->generation, se_strerror(r->rc), r->why ? ": " : "",
		          r->why ? r->why : "");
		ydoc_errs_print(&r->errs, stderr);
	}
	w->policy_gen = r->src->generation;
	atomic_store(&w->sh->slots[w->slot].policy_gen, w->policy_gen);
	ydoc_errs_free(&r->errs);
	free(r);
}

void worker_policy_check(struct worker *w)
{
	if (w->reloading)
		return;
	uint32_t gen = atomic_load_explicit(&w->sh->generation, memory_order_acquire);
	if (gen == w->policy_gen)
		return;
	struct policy_source *src = atomic_load_explicit(&w->sh->policy_src, memory_order_acquire);
	if (!src || src->generation != gen)
		return; /* published in the other order never happens; be safe */
	struct worker_reload *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->req.data = r;
	r->w = w;
	r->src = src;
	ydoc_errs_init(&r->errs);
	int rc = uv_queue_work(&w->loop, &r->req, reload_work, reload_done);
	if (rc != 0) {
		log_warn("uv_queue_work: %s: policy generation %u postponed", uv_strerror(rc), gen);
		ydoc_errs_free(&r->errs);
		free(r);
		return;
	}
	w->reloading = true;
}
