/*
 * worker: the life of one worker process, from fork to exit.
 *
 * Start: name the process in the log, ask the kernel for SIGTERM when the
 * master dies (PR_SET_PDEATHSIG) and check it has not died already, keep
 * only this slot's socket of each listener, set up the loop (listeners,
 * a SIGTERM watcher, the periodic tick), run the SIP layer's start hook,
 * and only then unblock signals (spawn.c forks with all of them blocked).
 *
 * Stop: on SIGTERM (the master's, or the kernel's when the master died),
 * on sh->stopping, or when the tick finds another parent than the master,
 * the worker keeps receiving: retransmissions and responses of the
 * transactions in flight must still be handled, and the SIP layer refuses
 * new transactions while sh->stopping is set. It marks its slot idle when
 * hooks->idle says so, and exits once every live slot is idle, because
 * datagrams keep being spread over all slots' sockets and any worker may
 * get a message of a transaction another one holds; or at the drain
 * deadline (worker_drain_ms) whatever is left.
 *
 * The tick also measures the loop's lag: how late the timer fires, which
 * is how long the loop was busy with other work.
 */
#include "worker.h"

#include "log.h"
#include "../ctl/ctl_worker.h"
#include "../policy/policy.h"
#include "worker_udp.h"
#include "xmem.h"

#include <sipedge/error.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#define WORKER_TICK_DEFAULT_MS 100u /* when the hooks ask for none */
#define WORKER_PPID_CHECK_MS   500u

uint64_t worker_now_ms(struct worker *w)
{
	return uv_now(&w->loop);
}

uint64_t worker_drain_ms(const struct config *cfg)
{
	return 64u * (uint64_t)cfg->timers.t1;
}

/* Close everything; uv_run returns once the close callbacks have run. */
static void worker_finish(struct worker *w, int status, int level, const char *why)
{
	if (uv_is_closing((uv_handle_t *)&w->tick))
		return;
	log_write(level, "exiting: %s", why);
	w->exit_status = status;
	worker_tx_close(w);
	uv_close((uv_handle_t *)&w->sig_term, NULL);
	uv_close((uv_handle_t *)&w->tick, NULL);
	ctl_worker_close(w);
	for (uint32_t i = 0; i < w->n_listeners; i++)
		worker_udp_close(&w->listeners[i]);
}

/* Draining without exiting (sipedgectl drain): keep the slot's idle flag
 * current both ways, as new in-dialog transactions may still begin. */
static void worker_drain_idle(struct worker *w)
{
	bool idle = w->hooks->idle == NULL || w->hooks->idle(w);

	atomic_store(&w->sh->slots[w->slot].idle, idle ? 1 : 0);
}

/* True when no live slot still has work in flight. */
static bool worker_all_idle(const struct worker *w)
{
	for (uint32_t s = 0; s < w->sh->nslots; s++) {
		const struct worker_slot *ws = &w->sh->slots[s];
		uint32_t st = atomic_load(&ws->state);
		bool live = st == SLOT_STARTING || st == SLOT_RUNNING || st == SLOT_STOPPING;
		if (live && !atomic_load(&ws->idle))
			return false;
	}
	return true;
}

static void worker_drain_check(struct worker *w, uint64_t now)
{
	struct worker_slot *ws = &w->sh->slots[w->slot];

	if (!atomic_load(&ws->idle) && (w->hooks->idle == NULL || w->hooks->idle(w)))
		atomic_store(&ws->idle, 1);
	if (worker_all_idle(w))
		worker_finish(w, 0, LOG_LV_INFO, "drained");
	else if (now >= w->drain_deadline_ms)
		worker_finish(w, 0, LOG_LV_WARN, "drain deadline reached with work in flight");
}

static void worker_begin_stop(struct worker *w, const char *why)
{
	if (w->stopping)
		return;
	w->stopping = true;
	atomic_store(&w->sh->slots[w->slot].state, SLOT_STOPPING);
	w->drain_deadline_ms = worker_now_ms(w) + worker_drain_ms(w->cfg);
	log_info("stopping (%s): draining for at most %llu ms", why,
	         (unsigned long long)worker_drain_ms(w->cfg));
	worker_drain_check(w, worker_now_ms(w));
}

static void worker_on_sigterm(uv_signal_t *h, int signum)
{
	(void)signum;
	worker_begin_stop(h->data, "SIGTERM");
}

static void worker_on_tick(uv_timer_t *t)
{
	struct worker *w = t->data;
	uint64_t now_ns = uv_hrtime();
	uint64_t period_ns = uv_timer_get_repeat(t) * 1000000u;

	atomic_store_explicit(&w->sh->slots[w->slot].loop_lag_us,
	                      now_ns > w->tick_due_ns ? (now_ns - w->tick_due_ns) / 1000u : 0,
	                      memory_order_relaxed);
	w->tick_due_ns = now_ns + period_ns;

	uint64_t now = worker_now_ms(w);
	if (w->hooks->tick)
		w->hooks->tick(w, now);
	worker_policy_check(w);
	if (!w->stopping && atomic_load(&w->sh->stopping))
		worker_begin_stop(w, "the master is stopping");
	if (!w->stopping && atomic_load(&w->sh->draining))
		worker_drain_idle(w);
	if (now >= w->ppid_check_ms) {
		w->ppid_check_ms = now + WORKER_PPID_CHECK_MS;
		/* Backstop for PR_SET_PDEATHSIG (which a setuid transition or a
		 * dying thread of the master could defeat): orphans are
		 * re-parented, so another parent means the master is gone. */
		if (!w->stopping && getppid() != w->master_pid)
			worker_begin_stop(w, "the master is gone");
	}
	if (w->stopping)
		worker_drain_check(w, now);
}

/* The master's signals are its own: a SIGINT from the terminal or a SIGHUP
 * to the process group must not kill or reload workers one by one. */
static void worker_ignore_signals(void)
{
	static const int sigs[] = {SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE};
	struct sigaction sa = {.sa_handler = SIG_IGN};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Keep this slot's socket of each listener, close the other slots' copies
 * (they stay open in the master, so the reuseport group is unchanged). */
static void worker_keep_own_sockets(const struct worker_init *wi)
{
	for (uint32_t l = 0; l < wi->n_listeners; l++)
		for (uint32_t s = 0; s < wi->nslots; s++)
			if (s != wi->slot)
				close(wi->fds[l * wi->nslots + s]);
}

static int worker_setup_loop(struct worker *w, const struct worker_init *wi)
{
	int rc = uv_loop_init(&w->loop);

	if (rc != 0) {
		log_error("uv_loop_init: %s", uv_strerror(rc));
		return rc;
	}
	worker_udp_init(w);
	worker_tx_init(w);
	for (uint32_t l = 0; l < wi->n_listeners; l++) {
		rc = worker_udp_open(w, l, wi->fds[l * wi->nslots + wi->slot]);
		if (rc != 0)
			return rc;
		w->n_listeners = l + 1;
	}
	if (w->hooks->start && (rc = w->hooks->start(w)) != 0) {
		log_error("start hook: %s", se_strerror(rc));
		return rc;
	}
	if (w->hooks->policy)
		w->hooks->policy(w, w->policy);
	for (uint32_t l = 0; l < w->n_listeners; l++)
		if ((rc = worker_udp_recv_start(w, &w->listeners[l])) != 0)
			return rc;

	ctl_worker_open(w, wi->ctl_fd); /* without it the worker still serves SIP */
	uv_signal_init(&w->loop, &w->sig_term);
	w->sig_term.data = w;
	if ((rc = uv_signal_start(&w->sig_term, worker_on_sigterm, SIGTERM)) != 0) {
		log_error("uv_signal_start(SIGTERM): %s", uv_strerror(rc));
		return rc;
	}
	uint64_t tick_ms = w->hooks->tick_ms ? w->hooks->tick_ms(w->cfg) : WORKER_TICK_DEFAULT_MS;
	uv_timer_init(&w->loop, &w->tick);
	w->tick.data = w;
	w->tick_due_ns = uv_hrtime() + tick_ms * 1000000u;
	return uv_timer_start(&w->tick, worker_on_tick, tick_ms, tick_ms);
}

_Noreturn void worker_main(const struct worker_init *wi)
{
	struct worker *w = xmem_calloc(1, sizeof(*w));
	struct worker_slot *ws = &wi->sh->slots[wi->slot];
	sigset_t none;

	w->slot = wi->slot;
	w->pid = getpid();
	w->sh = wi->sh;
	w->cfg = wi->cfg;
	w->policy = wi->policy;
	w->policy_inherited = wi->policy;
	w->policy_gen = wi->policy_gen;
	atomic_store(&wi->sh->slots[wi->slot].policy_gen, wi->policy_gen);
	w->hooks = wi->hooks;
	w->master_pid = wi->master_pid;
	log_set_worker(w->slot);
	atomic_store(&ws->pid, (int32_t)w->pid);
	atomic_store(&ws->idle, 0);

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0)
		log_warn("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	/* The master may have died between fork and prctl: then no signal
	 * will ever come, and nobody would stop this worker. */
	if (getppid() != w->master_pid) {
		log_error("the master (pid %ld) is gone before w%u started", (long)w->master_pid,
		          w->slot);
		exit(1);
	}
	worker_ignore_signals();
	worker_keep_own_sockets(wi);
	arena_cache_bind(w->sh->arena, w->slot); /* the slot's, as left by its last worker */
	if (worker_setup_loop(w, wi) != 0)
		exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	atomic_store(&ws->state, SLOT_RUNNING);

	uv_run(&w->loop, UV_RUN_DEFAULT);

	if (w->hooks->stop)
		w->hooks->stop(w);
	/* a policy compiled here after a reload is ours (the start-up one is
	 * the master's image) */
	if (w->policy != w->policy_inherited)
		policy_free((struct policy *)w->policy);
	w->policy = NULL;
	int rc = uv_loop_close(&w->loop);
	if (rc != 0)
		log_warn("uv_loop_close: %s", uv_strerror(rc));
	worker_udp_free(w);
	worker_tx_free(w);
	int status = w->exit_status;
	free(w);
	exit(status);
}
