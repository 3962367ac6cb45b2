/*
 * ctl_worker: the worker's end of its control channel (the master's end
 * is in ctl_fanout.c). The master sends requests of commands that have a
 * `worker` part (ctl_registry.h); the worker answers each on its loop,
 * in order, with the same id.
 */
#ifndef SE_CTL_WORKER_H
#define SE_CTL_WORKER_H

struct worker;

/* On w's loop, after it is initialised: serve the channel fd (taken over;
 * closed by ctl_worker_close). fd < 0: no channel. Returns 0 or a libuv
 * error (logged; the fd is closed and the worker runs without it). */
int ctl_worker_open(struct worker *w, int fd);

/* Close the channel with the worker's other handles; its memory goes in
 * the close callback. Idempotent. */
void ctl_worker_close(struct worker *w);

#endif
