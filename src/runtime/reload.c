/*
 * reload: load, check, bind and publish a new policy generation
 * (reload.h).
 */
#include "reload.h"

#include <sipedge/error.h>

#include "../pool/pool.h"
#include "log.h"
#include "policy_source.h"

/* The oldest generation a live worker still runs (or is compiling from). */
static uint32_t oldest_in_use(struct shared *sh)
{
	uint32_t min = UINT32_MAX;
	for (uint32_t i = 0; i < sh->nslots; i++) {
		const struct worker_slot *s = &sh->slots[i];
		uint32_t st = atomic_load(&s->state);
		if (st == SLOT_EMPTY || st == SLOT_DEAD)
			continue; /* a respawn gets the master's current policy */
		uint32_t g = atomic_load(&s->policy_gen);
		if (g < min)
			min = g;
	}
	return min;
}

void reload_collect(struct shared *sh, struct reload_state *rs)
{
	uint32_t oldest = oldest_in_use(sh);
	uint32_t k = 0;
	for (uint32_t i = 0; i < rs->n_retired; i++) {
		/* a worker on generation g < current may be compiling any newer
		 * one: files of g' are done with once every worker runs > g' */
		if (rs->retired[i]->generation < oldest)
			arena_free(sh->arena, rs->retired[i]);
		else
			rs->retired[k++] = rs->retired[i];
	}
	rs->n_retired = k;
}

int reload_policy(struct shared *sh, const struct config *cfg, struct policy **current,
		  struct reload_state *rs, struct ydoc_errs *errs)
{
	reload_collect(sh, rs);
	if (rs->published && rs->n_retired == RELOAD_RETIRED_MAX) {
		log_error("policy reload refused: workers are still applying %u earlier reloads",
		          rs->n_retired);
		return SE_ELIMIT;
	}
	struct policy_capture cap;
	struct policy_reader rd = policy_capture_reader(&cap);
	struct policy *p = NULL;
	size_t first = errs->n;
	int rc = policy_load(cfg->policy, &rd, &p, errs);
	if (rc == 0 && cap.err)
		rc = cap.err;
	const char *why = NULL;
	if (rc == 0 && (rc = pool_bind(sh->pools, p, true, &why)) != 0)
		ydoc_errs_add_at(errs, cfg->policy, 1, 1, "%s", why ? why : se_strerror(rc));
	struct policy_source *src = NULL;
	if (rc == 0 && !(src = policy_source_publish(sh->arena, &cap, rs->generation + 1)))
		rc = SE_ESHMFULL;
	policy_capture_free(&cap);
	for (size_t i = first; i < errs->n; i++)
		if (errs->v[i].warning)
			log_warn("%s", errs->v[i].text);
		else
			log_error("%s", errs->v[i].text);
	if (rc != 0) {
		policy_free(p);
		log_error("policy reload of %s failed (%s): generation %u stays in force",
		          cfg->policy, se_strerror(rc), rs->generation);
		return rc;
	}
	if (rs->published)
		rs->retired[rs->n_retired++] = rs->published;
	rs->published = src;
	rs->generation++;
	atomic_store_explicit(&sh->policy_src, src, memory_order_release);
	atomic_store_explicit(&sh->generation, rs->generation, memory_order_release);
	policy_free(*current);
	*current = p;
	char sum[160];
	policy_summary(p, sum, sizeof(sum));
	log_info("policy %s reloaded: generation %u (%s)", cfg->policy, rs->generation, sum);
	return 0;
}
