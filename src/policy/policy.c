/*
 * policy: what can be asked of a loaded policy block (lookups, summary)
 * and its release. Loading is policy_load.c; layout is policy.h.
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void policy_free(struct policy *p)
{
	free(p);
}

uint32_t policy_pool_find(const struct policy *p, const char *name)
{
	for (uint32_t i = 0; i < p->n_pools; i++)
		if (strcmp(policy_str(p, policy_pool(p, i)->name), name) == 0)
			return i;
	return POLICY_NONE;
}

int policy_summary(const struct policy *p, char *buf, size_t size)
{
	return snprintf(buf, size, "%u rule%s, %u pool%s, %u destination%s", p->n_rules,
	                p->n_rules == 1 ? "" : "s", p->n_pools, p->n_pools == 1 ? "" : "s",
	                p->n_dests, p->n_dests == 1 ? "" : "s");
}
