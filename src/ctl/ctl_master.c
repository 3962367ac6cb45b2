/*
 * ctl_master: start, stop and fork hygiene of the master's control
 * services, and their one periodic timer (fan-out deadlines, drain
 * waiters, once-a-second sampling for rates). See ctl_master.h.
 */
#include "ctl_int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../runtime/log.h"
#include "xmem.h"

static void ctl_master_on_tick(uv_timer_t *t)
{
	struct ctl_master *cm = t->data;
	uint64_t now = ctl_now_ms(cm);

	ctl_fanout_tick(cm, now);
	ctl_drain_tick(cm, now);
	if (now < cm->next_sample_ms)
		return;
	cm->next_sample_ms = now + 1000;
	for (const struct ctl_provider *p = ctl_registry_providers(); p; p = p->next)
		if (p->sample)
			p->sample(&cm->view, now);
}

int ctl_master_start(struct ctl_master **out, uv_loop_t *loop, struct shared *sh,
		     const struct config *cfg, const char *config_path,
		     const struct ctl_policy_ops *policy)
{
	struct ctl_master *cm = xmem_calloc(1, sizeof(*cm));
	int rc;

	*out = cm;
	ctl_proto_init();
	ctl_cmd_runtime_register();
	cm->view = (struct ctl_view){
	    .loop = loop,
	    .sh = sh,
	    .cfg = cfg,
	    .config_path = config_path,
	    .pid = getpid(),
	    .policy = policy};
	uv_timer_init(loop, &cm->tick);
	cm->tick.data = cm;
	cm->tick_on = true;
	uv_timer_start(&cm->tick, ctl_master_on_tick, CTL_TICK_MS, CTL_TICK_MS);
	/* Not a reason to keep the loop alive: the master's own handles are. */
	uv_unref((uv_handle_t *)&cm->tick);
	if ((rc = ctl_server_start(cm)) != 0)
		return rc;
	return metrics_http_start(cm);
}

void ctl_master_chan_open(struct ctl_master *cm, uint32_t slot, int *child_fd)
{
	*child_fd = -1;
	if (cm && !cm->closing)
		ctl_fanout_chan_open(cm, slot, child_fd);
}

void ctl_master_chan_forked(struct ctl_master *cm, uint32_t slot, int child_fd, bool ok)
{
	if (cm)
		ctl_fanout_chan_forked(cm, slot, child_fd, ok);
	else if (child_fd >= 0)
		close(child_fd);
}

void ctl_master_child(struct ctl_master *cm)
{
	if (cm == NULL)
		return;
	ctl_server_child(cm);
	metrics_http_child(cm);
	ctl_fanout_child(cm);
}

void ctl_master_close(struct ctl_master *cm)
{
	if (cm == NULL || cm->closing)
		return;
	cm->closing = true;
	ctl_drain_close(cm);
	ctl_fanout_close(cm);
	ctl_server_close(cm);
	metrics_http_close(cm);
	if (cm->tick_on)
		uv_close((uv_handle_t *)&cm->tick, NULL);
}

void ctl_master_free(struct ctl_master *cm)
{
	if (cm == NULL)
		return;
	free(cm->sock_path);
	free(cm);
}
