/*
 * ctl_registry: the lists of command tables and providers. Filled by
 * constructors before main() and by ctl_master_start (the runtime's own
 * table), read-only once the master runs; workers inherit it at fork.
 */
#include "ctl_registry.h"

#include <string.h>

static struct ctl_cmd_table *ctl_tables;
static struct ctl_provider *ctl_providers;

/* Appends, so `help` lists subsystems in the order they registered. */
void ctl_registry_add(struct ctl_cmd_table *t)
{
	struct ctl_cmd_table **pp = &ctl_tables;

	while (*pp && *pp != t)
		pp = &(*pp)->next;
	if (*pp == NULL) {
		t->next = NULL;
		*pp = t;
	}
}

void ctl_registry_add_provider(struct ctl_provider *p)
{
	struct ctl_provider **pp = &ctl_providers;

	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp == NULL) {
		p->next = NULL;
		*pp = p;
	}
}

const struct ctl_cmd *ctl_registry_find(const char *method)
{
	for (const struct ctl_cmd_table *t = ctl_tables; t; t = t->next)
		for (const struct ctl_cmd *c = t->cmds; c->method; c++)
			if (strcmp(c->method, method) == 0)
				return c;
	return NULL;
}

const struct ctl_cmd_table *ctl_registry_tables(void)
{
	return ctl_tables;
}

const struct ctl_provider *ctl_registry_providers(void)
{
	return ctl_providers;
}
