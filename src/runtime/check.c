/*
 * check: config + policy loading with every message printed (check.h).
 *
 * The policy is loaded only when the config loaded: its path comes from
 * the config, and a second screen of errors about a policy the operator
 * may not even have meant would bury the first.
 */
#include "check.h"

#include <sipedge/error.h>

#include <stdio.h>
#include <string.h>

int check_load(const char *path, struct config *cfg, struct policy **pol)
{
	struct ydoc_errs errs;
	int rc;

	*pol = NULL;
	ydoc_errs_init(&errs);
	rc = config_load(path, cfg, &errs);
	if (rc == 0) {
		rc = policy_load(cfg->policy, NULL, pol, &errs);
		if (rc != 0)
			config_free(cfg);
	}
	ydoc_errs_print(&errs, stderr);
	fflush(stderr);
	ydoc_errs_free(&errs);
	return rc == 0 ? 0 : SE_ECONFIG;
}

/* The policy's path as the operator wrote it: relative to the config's
 * directory when it lies under it. */
static const char *check_policy_name(const struct config *cfg)
{
	size_t n = strlen(cfg->dir);

	if (strncmp(cfg->policy, cfg->dir, n) == 0 && cfg->policy[n] == '/')
		return cfg->policy + n + 1;
	return cfg->policy;
}

int check_summary(const char *path, const struct config *cfg, const struct policy *pol, char *buf,
                  size_t size)
{
	char pols[128];

	policy_summary(pol, pols, sizeof(pols));
	return snprintf(buf, size, "%s: ok: %zu listener%s, %u worker%s%s, policy %s: %s", path,
	                cfg->n_listen, cfg->n_listen == 1 ? "" : "s", cfg->workers,
	                cfg->workers == 1 ? "" : "s", cfg->workers_auto ? " (auto)" : "",
	                check_policy_name(cfg), pols);
}
