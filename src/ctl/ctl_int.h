/*
 * Internals of the master's control services, shared by the src/ctl files
 * only: the state in struct ctl_master, calls in progress, the worker
 * channels' master ends, and what each file offers the others.
 *
 * Everything here runs on the master's loop (one thread): no locks.
 * Memory of a handle is freed in its close callback (the libuv rule);
 * struct ctl_master itself by ctl_master_free, once the loop has ended.
 */
#ifndef SE_CTL_INT_H
#define SE_CTL_INT_H

#include "ctl_master.h"
#include "ctl_proto.h"
#include "ctl_registry.h"

#define CTL_MAX_CONNS     512      /* control clients at once; more are refused */
#define CTL_IDLE_MS       10000u   /* a client without a complete request is closed */
#define CTL_WQ_MAX        (1u << 20) /* reply bytes queued to a client before we
				      * stop reading its requests */
#define CTL_FANOUT_MS     2000u    /* how long the workers have to answer */
#define CTL_FANOUT_MAX    64       /* worker requests in progress at once */
#define CTL_CHAN_LINE_MAX (16u << 20) /* a worker's answer (a transaction sample) */
#define CTL_TICK_MS       100u     /* deadlines and sampling */

struct ctl_conn;
struct ctl_fanout;
struct metrics_http;

/* The master's end of one slot's channel. A new one per spawn; the old
 * one is closed when the worker's end reports EOF or at the next spawn. */
struct ctl_chan {
	uv_pipe_t pipe;         /* private */
	struct ctl_line lb;
	struct ctl_master *cm;
	uint32_t slot;
	bool closing;
};

/* One request being answered. Owned by its connection until answered;
 * conn is NULL once the client went away (the answer is then dropped). */
struct ctl_call {
	struct ctl_master *cm;
	struct ctl_conn *conn;
	const struct ctl_cmd *cmd;
	json_t *id;     /* owned reference, may be NULL */
	json_t *params; /* owned reference */
	uint64_t started_ms;
	uint64_t deadline_ms;  /* drain: when to answer anyway */
	struct ctl_call *next; /* drain: the list of waiting calls */
};

struct ctl_master {
	struct ctl_view view;
	char *sock_path;        /* unlinked at close */
	uv_pipe_t listener;
	bool listening;
	struct ctl_conn *conns; /* open client connections */
	uint32_t nconns;
	struct ctl_chan *chans[CONFIG_MAX_WORKERS];
	struct ctl_fanout *fanouts;
	uint32_t nfanouts;
	uint64_t fanout_seq;
	struct ctl_call *drain_waiters;
	uv_timer_t tick;
	bool tick_on;
	uint64_t next_sample_ms;
	struct metrics_http *http;
	bool closing;
};

static inline uint64_t ctl_now_ms(const struct ctl_master *cm)
{
	return uv_now(cm->view.loop);
}

/* ctl_server.c: the control socket. */
int ctl_server_start(struct ctl_master *cm);
void ctl_server_close(struct ctl_master *cm);
void ctl_server_child(struct ctl_master *cm);
/* conn's request c is in progress: read no more until it is answered. */
void ctl_server_begin(struct ctl_conn *conn, struct ctl_call *c);
/* A call's answer is ready: write it (line is stolen) and go on with the
 * connection's next request. */
void ctl_server_answer(struct ctl_conn *conn, char *line, size_t len);

/* ctl_call.c: dispatching a request line to its command. */
void ctl_call_dispatch(struct ctl_master *cm, struct ctl_conn *conn, char *line, size_t len);
/* The client went away: its call, if any, answers into the void. */
void ctl_call_orphan(struct ctl_call *c);
void ctl_call_free(struct ctl_call *c);

/* ctl_fanout.c: the master's ends of the worker channels. */
int ctl_fanout_chan_open(struct ctl_master *cm, uint32_t slot, int *child_fd);
void ctl_fanout_chan_forked(struct ctl_master *cm, uint32_t slot, int child_fd, bool ok);
void ctl_fanout_start(struct ctl_call *c);
void ctl_fanout_tick(struct ctl_master *cm, uint64_t now);
void ctl_fanout_close(struct ctl_master *cm);
void ctl_fanout_child(struct ctl_master *cm);

/* ctl_cmd_runtime.c */
void ctl_cmd_runtime_register(void);
/* "running", "draining", "starting", "stopping", "dead", "empty" */
const char *ctl_slot_state_name(const struct shared *sh, uint32_t slot);
/* Seconds from since_ms (CLOCK_MONOTONIC ms, spawn_now_ms) to now. */
double ctl_seconds_since(uint64_t since_ms);
/* Slots with a live worker (running or stopping). */
uint32_t ctl_workers_alive(const struct shared *sh);

/* ctl_shm.c: the arena's numbers for `stats` (a new object). */
json_t *ctl_shm_json(struct arena *a);

/* ctl_cmd_drain.c */
void ctl_cmd_drain(struct ctl_call *c, json_t *params);
void ctl_cmd_resume(struct ctl_call *c, json_t *params);
void ctl_drain_tick(struct ctl_master *cm, uint64_t now);
void ctl_drain_close(struct ctl_master *cm);

/* metrics_http.c: the /metrics listener (when `metrics` is set). */
int metrics_http_start(struct ctl_master *cm);
void metrics_http_close(struct ctl_master *cm);
void metrics_http_child(struct ctl_master *cm);

#endif
