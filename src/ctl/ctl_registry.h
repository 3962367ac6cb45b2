/*
 * ctl_registry: the control commands and the status/metrics providers,
 * registered by the subsystem that owns them (HAProxy's cli_register_kw).
 *
 * A subsystem declares, in a file of its own, a table of commands (method,
 * usage line, one-line help, handler) and registers it with CTL_REGISTER:
 * a constructor adds it to the list before main() runs, so the registry
 * needs no list of subsystems. Such a file must be compiled into the
 * executable itself (a meson declare_dependency(sources:), see ctl_sip_dep
 * in src/ctl/meson.build): an object in a static library that nothing
 * references is never linked, and its constructor never runs.
 *
 * Commands answered by the master read shared memory; commands that need a
 * worker's private data set `worker` and `merge` instead of `run`: the
 * master sends the request to every live worker over its channel
 * (ctl_fanout.c) and merges what comes back, naming the workers that did
 * not answer in time.
 */
#ifndef SE_CTL_REGISTRY_H
#define SE_CTL_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "../runtime/shared.h"

struct ctl_call; /* one request being answered (ctl_call.c) */
struct worker;
struct metrics_buf;

struct policy;
struct ydoc_errs;

/* What the master lends the policy commands (master.c). */
struct ctl_policy_ops {
	void *arg;
	/* The policy in force in the master, bound to sh->pools (NULL: none
	 * loaded). Valid until the next reload; never kept across calls. */
	const struct policy *(*current)(void *arg);
	/* Reload the policy file now, as SIGHUP does (reload.h): 0, or an
	 * error with every message added to errs (the old policy stays). */
	int (*reload)(void *arg, struct ydoc_errs *errs);
};

/* What control commands and providers may read in the master. */
struct ctl_view {
	uv_loop_t *loop;
	struct shared *sh;
	const struct config *cfg;
	const char *config_path;
	pid_t pid;
	const struct ctl_policy_ops *policy; /* NULL in a daemon without one (tests/runtime) */
};

struct ctl_cmd {
	const char *method; /* JSON-RPC method: "status", "log.level" */
	const char *usage;  /* the sipedgectl form: "log level [LEVEL]" */
	const char *help;   /* one line: what it does or answers */
	/* Answered by the master: reply now or later with ctl_call_result /
	 * ctl_call_error, exactly once. params is an object (borrowed). */
	void (*run)(struct ctl_call *c, json_t *params);
	/* Answered by the workers (run == NULL): check params in the master
	 * (NULL: none taken; returns 0 or -1 with *why), run `worker` in each
	 * worker (returns a new reference, never NULL), and build the result
	 * in the master from `parts`, an array with one object per slot:
	 * {"slot":N,"pid":P,"result":{...}} or {"slot":N,"error":"..."}. */
	int (*check)(json_t *params, const char **why);
	json_t *(*worker)(struct worker *w, json_t *params);
	json_t *(*merge)(json_t *parts, json_t *params);
};

struct ctl_cmd_table {
	const char *subsystem;      /* "runtime", "sip", ... */
	const struct ctl_cmd *cmds; /* ended by an entry with method NULL */
	struct ctl_cmd_table *next; /* private: the registry's list */
};

/* What a subsystem adds to `status`, `workers` and /metrics. Any member
 * may be NULL. Called in the master only. */
struct ctl_provider {
	const char *subsystem;
	/* Add members to the `status` result object. */
	void (*status)(const struct ctl_view *v, json_t *out);
	/* Add members to one slot's object of the `workers` result. */
	void (*worker)(const struct ctl_view *v, uint32_t slot, json_t *out);
	/* Append metric families (Prometheus text) to b. */
	void (*metrics)(const struct ctl_view *v, struct metrics_buf *b);
	/* Once a second, for rates ("calls/s now"). */
	void (*sample)(const struct ctl_view *v, uint64_t now_ms);
	struct ctl_provider *next; /* private */
};

void ctl_registry_add(struct ctl_cmd_table *t);
void ctl_registry_add_provider(struct ctl_provider *p);

/* The command of a method, or NULL. */
const struct ctl_cmd *ctl_registry_find(const char *method);
/* Every table, in registration order (for `help`). */
const struct ctl_cmd_table *ctl_registry_tables(void);
const struct ctl_provider *ctl_registry_providers(void);

#define CTL_REGISTER(table)                                                                 \
	__attribute__((constructor)) static void ctl_register_##table(void)                  \
	{                                                                                   \
		ctl_registry_add(&(table));                                                 \
	}
#define CTL_REGISTER_PROVIDER(prov)                                                         \
	__attribute__((constructor)) static void ctl_register_##prov(void)                   \
	{                                                                                   \
		ctl_registry_add_provider(&(prov));                                         \
	}

/* ---- answering a call (ctl_call.c) ------------------------------------------ */

const struct ctl_view *ctl_call_view(const struct ctl_call *c);
struct ctl_master *ctl_call_master(const struct ctl_call *c);
/* Reply and end the call (c is freed). result is stolen. */
void ctl_call_result(struct ctl_call *c, json_t *result);
void ctl_call_error(struct ctl_call *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with the error's `data` member (stolen; NULL: none), for
 * details a client must not have to parse out of the message. */
void ctl_call_error_data(struct ctl_call *c, int code, const char *message, json_t *data);

#endif
