/*
 * ctl_cmd_drain: `drain` and `resume`, the "draining but not exiting"
 * state (SIGTERM's drain without the exit).
 *
 * drain sets sh->draining: workers answer new INVITEs and OPTIONS with 503
 * and Retry-After (proxy_request.c) while everything else, in-dialog
 * requests included, goes on, so established calls end normally. Each
 * worker keeps its slot's `idle` flag current while draining (worker.c,
 * the same flag and hook SIGTERM's drain uses). The answer comes once
 * every live slot is idle, or at the timeout; the state stays until
 * `resume` (or the stop).
 */
#include "ctl_int.h"

#include "../runtime/log.h"

#define CTL_DRAIN_DEFAULT_S 30
#define CTL_DRAIN_MAX_S     86400

/* Live slots still holding transactions in flight, as an array. */
static json_t *ctl_drain_busy(const struct shared *sh)
{
	json_t *busy = json_array();

	for (uint32_t s = 0; s < sh->nslots; s++) {
		const struct worker_slot *ws = &sh->slots[s];
		if (atomic_load(&ws->pid) > 0 && atomic_load(&ws->state) == SLOT_RUNNING &&
		    !atomic_load(&ws->idle))
			json_array_append_new(busy, json_integer(s));
	}
	return busy;
}

static void ctl_drain_answer(struct ctl_call *c, json_t *busy)
{
	const struct shared *sh = c->cm->view.sh;
	uint64_t waited = ctl_now_ms(c->cm) - c->started_ms;

	ctl_call_result(c, json_pack("{s:b,s:b,s:I,s:o}", "draining",
				     atomic_load(&sh->draining) != 0, "idle",
				     json_array_size(busy) == 0, "waited_ms", (json_int_t)waited,
				     "busy_workers", busy));
}

void ctl_drain_tick(struct ctl_master *cm, uint64_t now)
{
	struct ctl_call **pp = &cm->drain_waiters;

	while (*pp) {
		struct ctl_call *c = *pp;
		json_t *busy = ctl_drain_busy(cm->view.sh);
		bool done = json_array_size(busy) == 0 || now >= c->deadline_ms ||
			    !atomic_load(&cm->view.sh->draining);
		if (!done) {
			json_decref(busy);
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		ctl_drain_answer(c, busy);
	}
}

void ctl_cmd_drain(struct ctl_call *c, json_t *params)
{
	struct ctl_master *cm = c->cm;
	struct shared *sh = cm->view.sh;
	json_t *jt = json_object_get(params, "timeout");
	double timeout = CTL_DRAIN_DEFAULT_S;

	if (jt && (!json_is_number(jt) || json_number_value(jt) < 0 ||
		   json_number_value(jt) > CTL_DRAIN_MAX_S)) {
		ctl_call_error(c, CTL_E_PARAMS, "timeout must be a number of seconds, 0 to %d",
			       CTL_DRAIN_MAX_S);
		return;
	}
	if (jt)
		timeout = json_number_value(jt);
	if (atomic_load(&sh->stopping)) {
		ctl_call_error(c, CTL_E_UNAVAILABLE, "the daemon is stopping");
		return;
	}
	if (!atomic_load(&sh->draining)) {
		/* Stale flags of an earlier drain must not count: each worker
		 * sets its own again within a tick. */
		for (uint32_t s = 0; s < sh->nslots; s++)
			atomic_store(&sh->slots[s].idle, 0);
		atomic_store(&sh->draining, 1);
		log_warn("control: draining: new calls are refused with 503");
	}
	c->deadline_ms = c->started_ms + (uint64_t)(timeout * 1000.0);
	c->next = cm->drain_waiters;
	cm->drain_waiters = c;
}

void ctl_cmd_resume(struct ctl_call *c, json_t *params)
{
	struct shared *sh = c->cm->view.sh;
	bool was = atomic_exchange(&sh->draining, 0) != 0;

	(void)params;
	if (was)
		log_warn("control: drain ended: taking new calls again");
	ctl_call_result(c, json_pack("{s:b,s:b}", "draining", false, "was_draining", was));
}

/* At the stop: answer whoever still waits, with the state as it is. */
void ctl_drain_close(struct ctl_master *cm)
{
	while (cm->drain_waiters) {
		struct ctl_call *c = cm->drain_waiters;
		cm->drain_waiters = c->next;
		ctl_drain_answer(c, ctl_drain_busy(cm->view.sh));
	}
}
