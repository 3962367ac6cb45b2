/*
 * ctl_cmd_runtime: the control commands of the process runtime, answered
 * by the master from shared memory: status, workers, log.level, help (and
 * drain/resume, ctl_cmd_drain.c). Subsystems add members to status and
 * workers through their providers (ctl_registry.h).
 */
#include "ctl_int.h"

#include <string.h>

#include "../runtime/log.h"
#include "../runtime/spawn.h"

#ifndef SIPEDGE_VERSION
#define SIPEDGE_VERSION "unknown"
#endif

double ctl_seconds_since(uint64_t since_ms)
{
	/* The clock of sh->start_ms and slots' started_ms. */
	uint64_t now = spawn_now_ms();

	return now > since_ms ? (double)(now - since_ms) / 1000.0 : 0.0;
}

static bool ctl_slot_alive(const struct worker_slot *ws)
{
	uint32_t st = atomic_load(&ws->state);
	return atomic_load(&ws->pid) > 0 && (st == SLOT_RUNNING || st == SLOT_STOPPING);
}

const char *ctl_slot_state_name(const struct shared *sh, uint32_t s)
{
	switch (atomic_load(&sh->slots[s].state)) {
	case SLOT_STARTING:
		return "starting";
	case SLOT_RUNNING:
		return atomic_load(&sh->draining) ? "draining" : "running";
	case SLOT_STOPPING:
		return "stopping";
	case SLOT_DEAD:
		return "dead";
	default:
		return "empty";
	}
}

uint32_t ctl_workers_alive(const struct shared *sh)
{
	uint32_t n = 0;

	for (uint32_t s = 0; s < sh->nslots; s++)
		n += ctl_slot_alive(&sh->slots[s]);
	return n;
}

static void ctl_cmd_status(struct ctl_call *c, json_t *params)
{
	const struct ctl_view *v = ctl_call_view(c);
	const struct shared *sh = v->sh;
	json_t *o = json_object();

	(void)params;
	json_object_set_new(o, "version", json_string(SIPEDGE_VERSION));
	json_object_set_new(o, "pid", json_integer(v->pid));
	json_object_set_new(o, "uptime_s", json_real(ctl_seconds_since(sh->start_ms)));
	/* Absolute, as the policy path is: the daemon may run elsewhere. */
	const char *base = strrchr(v->config_path, '/');
	json_object_set_new(o, "config", json_sprintf("%s/%s", v->cfg->dir,
						       base ? base + 1 : v->config_path));
	json_object_set_new(o, "policy", json_string(v->cfg->policy));
	json_object_set_new(o, "policy_generation", json_integer(atomic_load(&sh->generation)));
	json_object_set_new(o, "workers_configured", json_integer(sh->nslots));
	json_object_set_new(o, "workers_alive", json_integer(ctl_workers_alive(sh)));
	json_object_set_new(o, "draining", json_boolean(atomic_load(&sh->draining)));
	json_object_set_new(o, "stopping", json_boolean(atomic_load(&sh->stopping)));
	for (const struct ctl_provider *p = ctl_registry_providers(); p; p = p->next)
		if (p->status)
			p->status(v, o);
	ctl_call_result(c, o);
}

static json_t *ctl_worker_json(const struct ctl_view *v, uint32_t s)
{
	const struct worker_slot *ws = &v->sh->slots[s];
	json_t *o = json_object();
	int32_t pid = atomic_load(&ws->pid);

	json_object_set_new(o, "slot", json_integer(s));
	json_object_set_new(o, "pid", pid > 0 ? json_integer(pid) : json_null());
	json_object_set_new(o, "state", json_string(ctl_slot_state_name(v->sh, s)));
	json_object_set_new(o, "uptime_s", pid > 0 ? json_real(ctl_seconds_since(atomic_load(&ws->started_ms)))
						    : json_null());
	json_object_set_new(o, "restarts", json_integer(atomic_load(&ws->restarts)));
	json_object_set_new(o, "messages_in", json_integer((json_int_t)atomic_load(&ws->msgs_in)));
	json_object_set_new(o, "messages_out",
			    json_integer((json_int_t)atomic_load(&ws->msgs_out)));
	json_object_set_new(o, "loop_lag_us",
			    json_integer((json_int_t)atomic_load(&ws->loop_lag_us)));
	for (const struct ctl_provider *p = ctl_registry_providers(); p; p = p->next)
		if (p->worker)
			p->worker(v, s, o);
	return o;
}

static void ctl_cmd_workers(struct ctl_call *c, json_t *params)
{
	const struct ctl_view *v = ctl_call_view(c);
	json_t *arr = json_array();

	(void)params;
	for (uint32_t s = 0; s < v->sh->nslots; s++)
		json_array_append_new(arr, ctl_worker_json(v, s));
	ctl_call_result(c, json_pack("{s:o}", "workers", arr));
}

/* log.level {"level": NAME}: set every process's level (it lives in shared
 * memory, log_share_level); without a level, just report it. */
static void ctl_cmd_log_level(struct ctl_call *c, json_t *params)
{
	json_t *jl = json_object_get(params, "level");
	int prev = log_get_level();

	if (jl == NULL) {
		ctl_call_result(c, json_pack("{s:s}", "level", log_level_name(prev)));
		return;
	}
	int lv = json_is_string(jl) ? log_level_parse(json_string_value(jl)) : -1;
	if (lv < 0) {
		ctl_call_error(c, CTL_E_PARAMS, "level must be one of error, warn, info, debug");
		return;
	}
	log_set_level(lv);
	if (lv != prev)
		log_warn("control: log level %s (was %s)", log_level_name(lv),
			 log_level_name(prev));
	ctl_call_result(c, json_pack("{s:s,s:s}", "level", log_level_name(lv), "previous",
				     log_level_name(prev)));
}

static void ctl_cmd_help(struct ctl_call *c, json_t *params)
{
	json_t *arr = json_array();

	(void)params;
	for (const struct ctl_cmd_table *t = ctl_registry_tables(); t; t = t->next)
		for (const struct ctl_cmd *cmd = t->cmds; cmd->method; cmd++)
			json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "method",
							     cmd->method, "usage", cmd->usage,
							     "help", cmd->help, "subsystem",
							     t->subsystem));
	ctl_call_result(c, json_pack("{s:o}", "commands", arr));
}

static const struct ctl_cmd ctl_runtime_cmds[] = {
    {.method = "help", .usage = "help", .help = "list the commands", .run = ctl_cmd_help},
    {.method = "status",
     .usage = "status",
     .help = "version, uptime, policy and its generation, workers, load",
     .run = ctl_cmd_status},
    {.method = "workers",
     .usage = "workers",
     .help = "per slot: pid, state, uptime, restarts, messages, transactions, loop lag",
     .run = ctl_cmd_workers},
    {.method = "log.level",
     .usage = "log level [error|warn|info|debug]",
     .help = "show or set the log level of every process",
     .run = ctl_cmd_log_level},
    {.method = "drain",
     .usage = "drain [--timeout S]",
     .help = "refuse new calls (503) and wait until transactions in flight end",
     .run = ctl_cmd_drain},
    {.method = "resume",
     .usage = "resume",
     .help = "end a drain: take new calls again",
     .run = ctl_cmd_resume},
    {0},
};

static struct ctl_cmd_table ctl_runtime_table = {.subsystem = "runtime",
						 .cmds = ctl_runtime_cmds};

/* Explicit, not CTL_REGISTER: this file lives in a static library. */
void ctl_cmd_runtime_register(void)
{
	ctl_registry_add(&ctl_runtime_table);
}
