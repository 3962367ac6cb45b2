/*
 * struct worker: the state of one worker process (one slot). Created in
 * the child right after fork; owns its libuv loop and its per-slot
 * sockets. Process-wide state of a worker lives here and nowhere else.
 */
#ifndef SE_RUNTIME_WORKER_H
#define SE_RUNTIME_WORKER_H

#include <uv.h>

#include "shared.h"

#define WORKER_MAX_LISTENERS 16

/* A listener as one worker sees it: its own SO_REUSEPORT socket of the
 * listener's group, bound by the master. */
struct listener_rt {
	const struct config_listener *cfg; /* read-only */
	int fd;                            /* this slot's socket (master-bound) */
	uv_poll_t poll;                    /* private: readability of fd (worker_udp.c) */
	uint32_t index;                    /* position in config listen[] */
	/* host for Via/Record-Route ("[::1]" for v6, or `advertise`: a name
	 * of up to 253 characters) */
	char via_host[256];
	uint16_t via_port;
	uint16_t via_host_len;
	uint16_t hostport_len;
	char hostport[256 + 6]; /* "via_host:via_port", ready to copy */
};

struct worker {
	uint32_t slot;                /* read-only: 0..nslots-1 */
	pid_t pid;
	uv_loop_t loop;               /* private */
	struct shared *sh;            /* read-only pointer into the arena */
	const struct config *cfg;     /* read-only, inherited from the master */
	const void *policy;           /* read-only: the policy in force (struct
				       * policy): inherited, then each reload's */
	const void *policy_inherited; /* private: the master's, never freed here */
	uint32_t policy_gen;          /* private: generation of `policy` */
	bool reloading;               /* private: a compile is on the thread pool */
	struct listener_rt listeners[WORKER_MAX_LISTENERS];
	uint32_t n_listeners;
	const struct worker_hooks *hooks;
	void *sip;                    /* the SIP layer's per-worker state */
	bool stopping;                /* read-only: draining, will exit once idle */
	void *ctl;                    /* private: the control channel (src/ctl/ctl_worker.c) */

	/* private: the runtime's own (worker.c, worker_udp.c) */
	pid_t master_pid;             /* parent at fork: another parent means it died */
	uv_signal_t sig_term;
	uv_timer_t tick;
	uint64_t tick_due_ns;         /* uv_hrtime() the tick is due: lag baseline */
	uint64_t ppid_check_ms;       /* next getppid() check */
	uint64_t drain_deadline_ms;   /* stopping: exit at this worker_now_ms() */
	struct worker_tx *tx;         /* datagrams queued for sendmmsg (worker_send.c) */
	uv_prepare_t tx_prepare;      /* flushes them before each wait for events */
	char *rxbuf;                  /* receive buffer of every listener (recvmmsg) */
	struct worker_rx *rx;         /* its message headers (worker_udp.c) */
	size_t rxbuf_len;
	uint64_t rx_errlog_ms;        /* last receive error logged (one a second) */
	int exit_status;
};

/*
 * What the master hands a worker at fork (spawn.c). Everything is inherited
 * memory: the pointers stay valid in the child without copying.
 */
struct worker_init {
	uint32_t slot;
	pid_t master_pid;
	struct shared *sh;
	const struct config *cfg;
	const void *policy;
	uint32_t policy_gen;
	const struct worker_hooks *hooks;
	/* fds[l * nslots + s]: socket of listener l for slot s, for every slot;
	 * the worker keeps its own column and closes the rest. */
	const int *fds;
	uint32_t n_listeners;
	uint32_t nslots;
	int ctl_fd; /* this slot's end of its control channel, or -1 */
};

/*
 * The body of a worker process, called in the child right after fork.
 * Runs the slot's loop until it has drained after SIGTERM (or the master
 * is gone), and exits the process: 0 after a clean drain, 1 when it could
 * not start. Never returns.
 */
_Noreturn void worker_main(const struct worker_init *wi);

/*
 * Send a datagram from listener l's socket (the source address peers
 * expect). It is copied and goes out with the loop iteration's other
 * datagrams (sendmmsg, worker_send.c): returns 0, or a negative errno
 * when it cannot even be queued (a closed listener, too big). A refusal
 * by the kernel later drops it and is reported to hooks->send_failed.
 */
int worker_send(struct worker *w, struct listener_rt *l, const struct sockaddr *dst,
		const void *buf, size_t len);
/* The same, sent now with whatever is queued: returns 0, or the negative
 * errno the kernel answered for this datagram (the caller counts it). */
int worker_send_now(struct worker *w, struct listener_rt *l, const struct sockaddr *dst,
		    const void *buf, size_t len);
/* Send what is queued (the runtime does it each loop iteration). */
void worker_flush(struct worker *w);
/* worker_send.c, for worker.c: the queue's life. */
void worker_tx_init(struct worker *w);
void worker_tx_close(struct worker *w);
void worker_tx_free(struct worker *w);

/* Monotonic milliseconds (the loop's cached time, updated per iteration). */
uint64_t worker_now_ms(struct worker *w);

/* worker_policy.c: start compiling a newer policy generation when the
 * master published one (from the tick). */
void worker_policy_check(struct worker *w);

/* How long a stopping worker may drain before it exits anyway: Timer B
 * (64 * T1), the longest a client transaction waits for a response. The
 * master allows a margin on top before it kills. */
uint64_t worker_drain_ms(const struct config *cfg);

#endif
