/*
 * check: load the configuration and the policy it names, reporting every
 * problem as `file:line:col: message`; shared by `sipedge -t` and the
 * master's start (nginx -t: the same code decides both).
 */
#ifndef SE_RUNTIME_CHECK_H
#define SE_RUNTIME_CHECK_H

#include <stddef.h>

#include "config.h"
#include "policy.h"

/*
 * Load the config at path, then its policy. Every error and warning of both
 * is printed to stderr, one per line, config first. Returns 0 with *cfg and
 * *pol loaded (the caller frees them: config_free, policy_free), or
 * SE_ECONFIG with nothing to free.
 */
int check_load(const char *path, struct config *cfg, struct policy **pol);

/*
 * One line saying what was loaded, e.g.
 * "sipedge.yaml: ok: 1 listener, 2 workers, policy policy.yaml: 1 rule,
 * 1 pool, 1 destination". Returns what snprintf returns.
 */
int check_summary(const char *path, const struct config *cfg, const struct policy *pol, char *buf,
                  size_t size);

#endif
