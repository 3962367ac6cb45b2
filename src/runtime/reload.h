/*
 * reload: the master's side of a policy reload (SIGHUP, and the control
 * socket's `policy reload`).
 *
 * nginx's rule: build the whole new generation first, keep the old one
 * on any failure. The master loads and compiles the policy file (and the
 * CSV files it names) through a capturing reader, creates the pools'
 * shared records for new destinations, and only then publishes the
 * captured bytes with a new generation number (policy_source.h). Workers
 * compile the same bytes and switch (worker_policy.c). A policy that does
 * not load changes nothing; its errors are logged, file:line:col each.
 */
#ifndef SE_RUNTIME_RELOAD_H
#define SE_RUNTIME_RELOAD_H

#include "../config/config.h"
#include "../policy/policy.h"
#include "shared.h"

#define RELOAD_RETIRED_MAX 8

struct reload_state {
	uint32_t generation;    /* of the policy in force; 0 = the start-up one */
	struct policy_source *published; /* its files, NULL for generation 0 */
	struct policy_source *retired[RELOAD_RETIRED_MAX]; /* older files some
							    * worker may still read */
	uint32_t n_retired;
};

/*
 * Reload cfg->policy. On success *current is the new policy (the old one
 * freed: workers inherited their own copy at fork) and 0 is returned; on
 * failure *current is unchanged, every error is added to errs (and
 * logged), and SE_ECONFIG, SE_ENOSPC (pool tables full), SE_ESHMFULL or
 * SE_ELIMIT (too many generations still being applied) is returned.
 */
int reload_policy(struct shared *sh, const struct config *cfg, struct policy **current,
		  struct reload_state *rs, struct ydoc_errs *errs);

/* Free retired files that no worker reads any more (every live slot runs
 * a newer generation). Called after a reload and periodically. */
void reload_collect(struct shared *sh, struct reload_state *rs);

#endif
