/*
 * worker_udp: a worker's UDP listeners on its libuv loop (see worker_udp.c).
 */
#ifndef SE_RUNTIME_WORKER_UDP_H
#define SE_RUNTIME_WORKER_UDP_H

#include "worker.h"

/* Allocate the worker's receive buffer (aborts on out-of-memory, as
 * process-heap allocations do). */
void worker_udp_init(struct worker *w);

/*
 * Set up w->listeners[index] over fd, this slot's socket of config listener
 * `index`: the poll handle and the Via host/port. Does not receive yet.
 * Returns 0 or a negative libuv/errno code (logged); fd is then closed.
 */
int worker_udp_open(struct worker *w, uint32_t index, int fd);

/* Start receiving on an opened listener. Returns 0 or negative (logged). */
int worker_udp_recv_start(struct worker *w, struct listener_rt *l);

/* Stop receiving, close the handle and this process's copy of the socket
 * (the master keeps its own). worker_send() on it then fails. */
void worker_udp_close(struct listener_rt *l);

/* Release the receive buffer, after every listener is closed. */
void worker_udp_free(struct worker *w);

#endif
