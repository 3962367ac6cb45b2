/*
 * ctl_master: the master's control services, as master.c sees them: the
 * control socket (ctl_server.c), the /metrics listener (metrics_http.c),
 * and the master's end of each worker's channel (ctl_fanout.c).
 *
 * All of it runs on the master's loop. The calls below are the only ones
 * master.c makes; each says when.
 */
#ifndef SE_CTL_MASTER_H
#define SE_CTL_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "../runtime/shared.h"

struct ctl_master;
struct ctl_policy_ops;

/*
 * After the loop and the shared arena exist, before the first fork: bind
 * the control socket (cfg->control, mode 0660; a stale socket file is
 * replaced, a live one is an error), and the metrics listener when
 * cfg->metrics is set. Returns 0 with *out, or a negative code (logged);
 * on failure *out is still set and must be closed and freed like a
 * started one. The pointers must outlive ctl_master_free. policy (may be
 * NULL) serves the policy commands (ctl_registry.h).
 */
int ctl_master_start(struct ctl_master **out, uv_loop_t *loop, struct shared *sh,
		     const struct config *cfg, const char *config_path,
		     const struct ctl_policy_ops *policy);

/* Before forking slot's worker: a new channel. *child_fd is the worker's
 * end (-1 on failure, logged: the worker then runs without a channel). */
void ctl_master_chan_open(struct ctl_master *cm, uint32_t slot, int *child_fd);
/* After the fork, in the master: close the worker's end; ok false when
 * fork failed (the channel is dropped). */
void ctl_master_chan_forked(struct ctl_master *cm, uint32_t slot, int child_fd, bool ok);

/* In a freshly forked worker: close every descriptor of the master's
 * control services (listeners, clients, other channels), so that a
 * worker never keeps a client's connection or a listener alive. */
void ctl_master_child(struct ctl_master *cm);

/* Stop serving: close every handle (the loop then ends once the rest of
 * the master's handles are closed) and unlink the socket. Idempotent. */
void ctl_master_close(struct ctl_master *cm);
/* After the loop has ended: free what is left. NULL is fine. */
void ctl_master_free(struct ctl_master *cm);

#endif
