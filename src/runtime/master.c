/*
 * master: start-up and supervision cycle of the master process (the idea
 * of nginx's ngx_master_process_cycle and HAProxy's master-worker mode).
 *
 * Start-up builds everything the workers inherit, in order, and gives up
 * at the first failure: config and policy (check.c), the shared arena with
 * struct shared and the slot table, the SIP layer's shared state
 * (hooks->shared_init), one socket per slot for every listener
 * (udp_sockets.c); then the signal watchers, and only then the workers, so
 * that no SIGCHLD can be missed.
 *
 * Supervision runs on a libuv loop. Signals arrive through uv_signal
 * (libuv's handler only writes to a pipe; the work is done here, in loop
 * context, never in a signal handler):
 *   SIGCHLD  reap; a worker that ended while running is respawned at once
 *            into the same slot, with the same sockets. A slot that
 *            restarts more than MASTER_STORM_RESTARTS times within
 *            MASTER_STORM_WINDOW_MS is given up for MASTER_STORM_BACKOFF_MS
 *            (a worker that crashes on start would otherwise fork in a
 *            tight loop) and left out of the sockets' spreading program
 *            meanwhile, so its share of the traffic goes to the others.
 *   SIGTERM, SIGINT  graceful stop: sh->stopping, SIGTERM to every worker,
 *            wait for all to exit; after the drain time (Timer B plus a
 *            margin) SIGKILL; then close everything and return 0.
 *   SIGHUP   policy reload (reload.c): all or nothing.
 *   SIGUSR1  reopen the log.
 * The first time every slot runs, one info line says "ready" and systemd
 * is notified.
 *
 * The master keeps every socket of every slot open for its whole life (see
 * udp_sockets.c: the reuseport group's order depends on it).
 */
#include "master.h"

#include "check.h"
#include "log.h"
#include "notify.h"
#include "reload.h"
#include "spawn.h"
#include "udp_sockets.h"
#include "worker.h"
#include "xmem.h"

#include "../ctl/ctl_master.h"
#include "../ctl/ctl_registry.h"
#include "../pool/pool.h"

#include <sipedge/error.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MASTER_STORM_RESTARTS   5
#define MASTER_STORM_WINDOW_MS  10000u
#define MASTER_STORM_BACKOFF_MS 30000u
#define MASTER_FORK_RETRY_MS    1000u /* fork() failed: try again after */
#define MASTER_DRAIN_MARGIN_MS  2000u /* on top of the workers' own deadline */
#define MASTER_KILL_WAIT_MS     5000u /* after SIGKILL, before giving up */
#define MASTER_READY_POLL_MS    10u
/* Shared tables of the pools (src/pool): every destination any policy
 * generation names, kept across reloads. */
#define MASTER_POOL_DESTS       8192u
#define MASTER_POOL_POOLS       1024u
#define MASTER_POOL_RULES       (1u << 17)
#define MASTER_POOL_REACTS      4096u
#define MASTER_BLACKLIST        4096u

static_assert((int)LOG_LV_ERROR == (int)CONFIG_LOG_ERROR &&
                  (int)LOG_LV_WARN == (int)CONFIG_LOG_WARN &&
                  (int)LOG_LV_INFO == (int)CONFIG_LOG_INFO &&
                  (int)LOG_LV_DEBUG == (int)CONFIG_LOG_DEBUG,
              "log levels and config log levels differ");

/* The master's view of a slot, beside the shared struct worker_slot. */
struct master_slot {
	uint64_t window_ms;       /* start of the current restart-counting window */
	uint32_t window_restarts; /* respawns within it */
	uint64_t respawn_at_ms;   /* 0: no respawn pending */
	bool spawned;             /* started at least once */
	bool given_up;            /* in back-off after a respawn storm */
};

static const int master_signums[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1};
#define MASTER_NSIGS (sizeof(master_signums) / sizeof(master_signums[0]))

/* Process-wide state of the master: one instance, on master_run's stack. */
struct master {
	pid_t pid;
	const char *config_path;
	const struct runtime_hooks *hooks;
	struct config cfg;
	struct policy *policy; /* the policy in force (process heap): workers inherit
				* it through fork */
	struct arena *arena;
	struct shared *sh;
	uint32_t nslots;
	uint32_t n_listeners;
	int *fds; /* [n_listeners * nslots], fds[l * nslots + s]: all kept open */
	struct master_slot slots[CONFIG_MAX_WORKERS];

	uv_loop_t loop;
	bool loop_ready; /* loop and timers initialised */
	uint32_t nsigs;  /* signal watchers initialised */
	uv_signal_t sigs[MASTER_NSIGS];
	uv_timer_t ready_timer;   /* polls the slots until all run, once */
	uv_timer_t respawn_timer; /* the earliest pending respawn */
	uv_timer_t stop_timer;    /* drain deadline, then the SIGKILL wait */
	uv_timer_t collect_timer; /* frees old policy files once workers moved on */
	struct reload_state reload;
	bool ready;
	bool stopping;
	bool killed; /* SIGKILL sent to the stragglers */
	struct ctl_master *ctl; /* control socket, /metrics, worker channels */
	struct ctl_policy_ops ctl_policy; /* what its policy commands use */
};

/* ---- start-up ------------------------------------------------------------ */

static int master_setup_shared(struct master *m)
{
	int rc = arena_create(m->cfg.shm_size, &m->arena);

	if (rc != 0) {
		log_error("arena_create(%llu bytes): %s", (unsigned long long)m->cfg.shm_size,
		          se_strerror(rc));
		return rc;
	}
	struct shared *sh = arena_alloc_permanent(m->arena, sizeof(*sh));
	/* Slots on cache-line boundaries: the arena only promises 16. */
	size_t slots_size = m->nslots * sizeof(struct worker_slot) + 64;
	char *raw = arena_alloc_permanent(m->arena, slots_size);
	if (sh == NULL || raw == NULL) {
		log_error("shared arena of %llu bytes too small for the slot table: raise shm_size",
		          (unsigned long long)m->cfg.shm_size);
		return SE_ESHMFULL;
	}
	memset(sh, 0, sizeof(*sh));
	memset(raw, 0, slots_size);
	sh->arena = m->arena;
	sh->nslots = m->nslots;
	sh->slots = (struct worker_slot *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	sh->start_ms = spawn_now_ms();
	atomic_store(&sh->policy_loaded_at, (int64_t)time(NULL));
	m->sh = sh;
	/* a free-block cache per slot: a worker's allocations skip the class
	 * locks that the other workers' allocations contend for */
	if ((rc = arena_caches_create(m->arena, m->nslots)) != 0)
		log_warn("no per-worker arena caches (%s): workers allocate under the class locks",
		         se_strerror(rc));
	const char *why = NULL;
	const struct pool_caps caps = {.dests = MASTER_POOL_DESTS,
				       .pools = MASTER_POOL_POOLS,
				       .rules = MASTER_POOL_RULES,
				       .reacts = MASTER_POOL_REACTS,
				       .blacklist = MASTER_BLACKLIST};
	rc = pool_shared_create(m->arena, &caps, &sh->pools);
	if (rc == 0)
		rc = pool_bind(sh->pools, m->policy, true, &why);
	if (rc != 0) {
		log_error("pools' shared state: %s", why ? why : se_strerror(rc));
		return rc;
	}
	log_share_level(&sh->log_level);

	if (m->hooks->shared_init && (rc = m->hooks->shared_init(sh, &m->cfg)) != 0) {
		log_error("shared_init hook: %s", se_strerror(rc));
		return rc;
	}
	return 0;
}

/* "udp://127.0.0.1:5060 (sipedge.yaml:3:5)", "udp://[::1]:5060 (...)" */
static void master_listener_name(const struct master *m, const struct config_listener *l, char *buf,
                                 size_t size)
{
	bool v6 = l->family == AF_INET6;

	snprintf(buf, size, "%s://%s%s%s:%u (%s:%u:%u)", config_transport_name(l->transport),
	         v6 ? "[" : "", l->host, v6 ? "]" : "", l->port, m->config_path, l->line, l->col);
}

static bool master_is_wildcard(const struct config_listener *l)
{
	if (l->family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&l->addr;
		return IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
	}
	const struct sockaddr_in *s4 = (const void *)&l->addr;
	return s4->sin_addr.s_addr == htonl(INADDR_ANY);
}

static int master_open_listeners(struct master *m)
{
	m->n_listeners = (uint32_t)m->cfg.n_listen;
	if (m->n_listeners > WORKER_MAX_LISTENERS) {
		log_error("%s: %u listeners, at most %u are supported", m->config_path,
		          m->n_listeners, WORKER_MAX_LISTENERS);
		return -EINVAL;
	}
	m->fds = xmem_malloc(sizeof(int) * m->n_listeners * m->nslots);
	for (size_t i = 0; i < (size_t)m->n_listeners * m->nslots; i++)
		m->fds[i] = -1;

	for (uint32_t i = 0; i < m->n_listeners; i++) {
		const struct config_listener *l = &m->cfg.listen[i];
		char name[INET6_ADDRSTRLEN + 300];

		master_listener_name(m, l, name, sizeof(name));
		/* config_load refuses the other transports for now. */
		if (l->transport != CONFIG_TP_UDP) {
			log_error("%s: transport not served yet", name);
			return -EINVAL;
		}
		socklen_t len = l->family == AF_INET6 ? sizeof(struct sockaddr_in6)
		                                      : sizeof(struct sockaddr_in);
		int rc = udp_sockets_open((const struct sockaddr *)&l->addr, len, m->nslots,
		                          &m->fds[i * m->nslots], name);
		if (rc != 0)
			return rc;
		if (master_is_wildcard(l) && m->cfg.advertise.host == NULL)
			log_warn(
			    "%s: bound to a wildcard address and no `advertise` is set: Via and "
			    "Record-Route will carry %s",
			    name, l->host);
	}
	return 0;
}

/* ---- spawning -------------------------------------------------------------- */

/* In a freshly forked worker: drop the master's signal watchers, or libuv
 * would report the worker's signals on the master's loop. */
static void master_child_prepare(void *arg)
{
	struct master *m = arg;

	for (size_t i = 0; i < m->nsigs; i++)
		uv_signal_stop(&m->sigs[i]);
	ctl_master_child(m->ctl); /* the control socket's fds are the master's */
}

static int master_spawn(struct master *m, uint32_t s)
{
	struct master_slot *ms = &m->slots[s];
	struct worker_init wi = {
	    .slot = s,
	    .master_pid = m->pid,
	    .sh = m->sh,
	    .cfg = &m->cfg,
	    .policy = m->policy,
	    .policy_gen = m->reload.generation,
	    .hooks = &m->hooks->worker,
	    .fds = m->fds,
	    .n_listeners = m->n_listeners,
	    .nslots = m->nslots,
	};
	ctl_master_chan_open(m->ctl, s, &wi.ctl_fd);
	int pid = spawn_worker(&wi, master_child_prepare, m);
	ctl_master_chan_forked(m->ctl, s, wi.ctl_fd, pid > 0);

	if (pid < 0)
		return pid;
	if (ms->spawned) {
		uint32_t n = atomic_fetch_add(&m->sh->slots[s].restarts, 1) + 1;
		log_info("respawned w%u pid %d (restart %u)", s, pid, n);
	} else {
		log_info("spawned w%u pid %d", s, pid);
	}
	ms->spawned = true;
	return 0;
}

/*
 * Point every listener's reuseport group at the slots not given up (all
 * of them: the program of start-up). Called when a slot is given up or
 * comes back, so a slot in back-off loses no datagram that a running
 * worker could have handled.
 */
static void master_respread(struct master *m)
{
	uint32_t live[CONFIG_MAX_WORKERS], k = 0;

	if (m->nslots < 2)
		return;
	for (uint32_t s = 0; s < m->nslots; s++)
		if (!m->slots[s].given_up)
			live[k++] = s;
	if (k == 0)
		return; /* nobody to send to: keep the last program */
	for (uint32_t l = 0; l < m->n_listeners; l++) {
		int rc = udp_sockets_spread(m->fds[l * m->nslots], k == m->nslots ? NULL : live, k);
		if (rc < 0)
			log_warn("listener %u: no spreading program over %u of %u slots: %s", l, k,
			         m->nslots, strerror(-rc));
	}
}

static void master_on_respawn_timer(uv_timer_t *t);

/* Arm the respawn timer for the earliest pending respawn, if any. */
static void master_schedule(struct master *m)
{
	uint64_t next = 0, now = spawn_now_ms();

	for (uint32_t s = 0; s < m->nslots; s++) {
		uint64_t at = m->slots[s].respawn_at_ms;
		if (at && (next == 0 || at < next))
			next = at;
	}
	uv_timer_stop(&m->respawn_timer);
	if (next)
		uv_timer_start(&m->respawn_timer, master_on_respawn_timer,
		               next > now ? next - now : 0, 0);
}

/*
 * A slot's worker ended while the master runs: respawn it now, unless the
 * slot is in a respawn storm (then give it up for a while) or fork fails
 * (then retry shortly).
 */
static void master_respawn(struct master *m, uint32_t s)
{
	struct master_slot *ms = &m->slots[s];
	uint64_t now = spawn_now_ms();

	if (now - ms->window_ms > MASTER_STORM_WINDOW_MS) {
		ms->window_ms = now;
		ms->window_restarts = 0;
	}
	if (++ms->window_restarts > MASTER_STORM_RESTARTS) {
		atomic_store(&m->sh->slots[s].state, SLOT_EMPTY);
		ms->given_up = true;
		ms->respawn_at_ms = now + MASTER_STORM_BACKOFF_MS;
		master_respread(m);
		master_schedule(m);
		/* Logged once done: the line says the traffic has moved. */
		log_error("w%u: more than %u restarts within %u s: not respawning it for %u s, "
		          "its traffic goes to the other workers",
		          s, MASTER_STORM_RESTARTS, MASTER_STORM_WINDOW_MS / 1000,
		          MASTER_STORM_BACKOFF_MS / 1000);
		return;
	}
	if (master_spawn(m, s) != 0) {
		ms->respawn_at_ms = now + MASTER_FORK_RETRY_MS;
		master_schedule(m);
	}
}

static void master_on_respawn_timer(uv_timer_t *t)
{
	struct master *m = t->data;
	uint64_t now = spawn_now_ms();
	bool respread = false;

	if (m->stopping)
		return;
	for (uint32_t s = 0; s < m->nslots; s++) {
		struct master_slot *ms = &m->slots[s];
		if (ms->respawn_at_ms == 0 || ms->respawn_at_ms > now)
			continue;
		ms->respawn_at_ms = 0;
		if (ms->given_up) {
			log_info("w%u: back-off over, respawning it", s);
			ms->given_up = false;
			ms->window_ms = now;
			ms->window_restarts = 0;
			respread = true;
		}
		if (master_spawn(m, s) != 0)
			ms->respawn_at_ms = now + MASTER_FORK_RETRY_MS;
	}
	if (respread)
		master_respread(m);
	master_schedule(m);
}

/* ---- stopping -------------------------------------------------------------- */

static bool master_any_worker(const struct master *m)
{
	for (uint32_t s = 0; s < m->nslots; s++)
		if (atomic_load(&m->sh->slots[s].pid) > 0)
			return true;
	return false;
}

static void master_close_handles(struct master *m)
{
	uv_handle_t *hs[MASTER_NSIGS + 4];
	size_t n = 0;

	for (size_t i = 0; i < m->nsigs; i++)
		hs[n++] = (uv_handle_t *)&m->sigs[i];
	hs[n++] = (uv_handle_t *)&m->ready_timer;
	hs[n++] = (uv_handle_t *)&m->respawn_timer;
	hs[n++] = (uv_handle_t *)&m->stop_timer;
	hs[n++] = (uv_handle_t *)&m->collect_timer;
	for (size_t i = 0; i < n; i++)
		if (!uv_is_closing(hs[i]))
			uv_close(hs[i], NULL);
	ctl_master_close(m->ctl);
}

/* Once stopping and every worker is gone, let the loop end. */
static void master_maybe_finish(struct master *m)
{
	if (!m->stopping || master_any_worker(m))
		return;
	log_info("all workers exited");
	master_close_handles(m);
}

static void master_signal_all(struct master *m, int sig)
{
	for (uint32_t s = 0; s < m->nslots; s++) {
		pid_t pid = atomic_load(&m->sh->slots[s].pid);
		if (pid > 0 && kill(pid, sig) != 0 && errno != ESRCH)
			log_error("kill(w%u pid %ld, %s): %s", s, (long)pid, strsignal(sig),
			          strerror(errno));
	}
}

static void master_on_stop_timer(uv_timer_t *t)
{
	struct master *m = t->data;

	if (!m->killed) {
		m->killed = true;
		log_warn("drain time over: killing the workers still running");
		master_signal_all(m, SIGKILL);
		uv_timer_start(&m->stop_timer, master_on_stop_timer, MASTER_KILL_WAIT_MS, 0);
		return;
	}
	log_error("workers still not reaped %u s after SIGKILL: exiting without them",
	          MASTER_KILL_WAIT_MS / 1000);
	master_close_handles(m);
}

static void master_stop(struct master *m, const char *why)
{
	uint64_t drain = worker_drain_ms(&m->cfg) + MASTER_DRAIN_MARGIN_MS;

	if (m->stopping) {
		log_info("%s: a graceful stop is in progress", why);
		return;
	}
	m->stopping = true;
	atomic_store(&m->sh->stopping, 1);
	log_info("%s: stopping, workers drain for at most %llu ms", why, (unsigned long long)drain);
	notify_stopping();
	uv_timer_stop(&m->ready_timer);
	uv_timer_stop(&m->respawn_timer);
	for (uint32_t s = 0; s < m->nslots; s++)
		m->slots[s].respawn_at_ms = 0;
	master_signal_all(m, SIGTERM);
	uv_timer_start(&m->stop_timer, master_on_stop_timer, drain, 0);
	master_maybe_finish(m);
}

/* ---- signals --------------------------------------------------------------- */

static void master_slot_exited(struct master *m, uint32_t s, pid_t pid, int status)
{
	struct worker_slot *ws = &m->sh->slots[s];
	char text[96];

	atomic_store(&ws->pid, 0);
	atomic_store(&ws->state, SLOT_DEAD);
	spawn_status_text(status, text, sizeof(text));
	if (m->stopping) {
		log_info("w%u pid %ld %s", s, (long)pid, text);
		return;
	}
	if (status == 0)
		log_warn("w%u pid %ld %s, unasked", s, (long)pid, text);
	else
		log_error("w%u pid %ld %s", s, (long)pid, text);
	master_respawn(m, s);
}

static void master_reap(struct master *m)
{
	pid_t pid;
	int status;

	/* Bounded: at most one round per child we could have, plus slack for
	 * children the hooks may have forked. */
	for (uint32_t round = 0; round < 4 * m->nslots + 16; round++) {
		if (spawn_reap(&pid, &status) != 1)
			break;
		uint32_t s = 0;
		while (s < m->nslots && atomic_load(&m->sh->slots[s].pid) != pid)
			s++;
		if (s == m->nslots) {
			log_debug("reaped pid %ld, not a worker", (long)pid);
			continue;
		}
		master_slot_exited(m, s, pid, status);
	}
	master_maybe_finish(m);
}

static void master_on_collect_timer(uv_timer_t *t)
{
	struct master *m = t->data;
	reload_collect(m->sh, &m->reload);
	if (m->reload.n_retired == 0)
		uv_timer_stop(t);
}

/* A new policy generation, or the old one kept (reload.h). */
static int master_reload(struct master *m, struct ydoc_errs *errs)
{
	int rc = reload_policy(m->sh, &m->cfg, &m->policy, &m->reload, errs);
	if (rc != 0) {
		atomic_fetch_add(&m->sh->reloads_failed, 1);
		return rc;
	}
	atomic_store(&m->sh->policy_loaded_at, (int64_t)time(NULL));
	if (m->reload.n_retired > 0)
		uv_timer_start(&m->collect_timer, master_on_collect_timer, 1000, 1000);
	return 0;
}

static void master_on_sighup(struct master *m)
{
	struct ydoc_errs errs;
	ydoc_errs_init(&errs);
	log_info("SIGHUP: reloading the policy %s", m->cfg.policy);
	master_reload(m, &errs);
	ydoc_errs_free(&errs);
}

/* ---- what the control socket's policy commands use (ctl_registry.h) ---- */

static const struct policy *master_ctl_policy(void *arg)
{
	return ((struct master *)arg)->policy;
}

static int master_ctl_reload(void *arg, struct ydoc_errs *errs)
{
	struct master *m = arg;
	log_info("control: reloading the policy %s", m->cfg.policy);
	return master_reload(m, errs);
}

static void master_on_signal(uv_signal_t *h, int signum)
{
	struct master *m = h->data;

	switch (signum) {
	case SIGCHLD:
		master_reap(m);
		break;
	case SIGTERM:
		master_stop(m, "SIGTERM");
		break;
	case SIGINT:
		master_stop(m, "SIGINT");
		break;
	case SIGHUP:
		master_on_sighup(m);
		break;
	case SIGUSR1:
		if (log_reopen() == 0)
			log_info("SIGUSR1: log reopened");
		break;
	default:
		break;
	}
}

/* Until every slot runs for the first time, then never again. */
static void master_on_ready_timer(uv_timer_t *t)
{
	struct master *m = t->data;

	for (uint32_t s = 0; s < m->nslots; s++)
		if (atomic_load(&m->sh->slots[s].state) != SLOT_RUNNING)
			return;
	uv_timer_stop(t);
	m->ready = true;

	char status[128];
	snprintf(status, sizeof(status), "%u worker%s, %u listener%s", m->nslots,
	         m->nslots == 1 ? "" : "s", m->n_listeners, m->n_listeners == 1 ? "" : "s");
	log_info("ready: %s", status);
	notify_ready(status);
}

static int master_setup_loop(struct master *m)
{
	int rc = uv_loop_init(&m->loop);

	if (rc != 0) {
		log_error("uv_loop_init: %s", uv_strerror(rc));
		return rc;
	}
	uv_timer_init(&m->loop, &m->ready_timer);
	uv_timer_init(&m->loop, &m->respawn_timer);
	uv_timer_init(&m->loop, &m->stop_timer);
	uv_timer_init(&m->loop, &m->collect_timer);
	m->collect_timer.data = m;
	m->ready_timer.data = m->respawn_timer.data = m->stop_timer.data = m;
	m->loop_ready = true;
	for (size_t i = 0; i < MASTER_NSIGS; i++) {
		rc = uv_signal_init(&m->loop, &m->sigs[i]);
		if (rc != 0) {
			log_error("uv_signal_init: %s", uv_strerror(rc));
			return rc;
		}
		m->nsigs++;
		m->sigs[i].data = m;
		rc = uv_signal_start(&m->sigs[i], master_on_signal, master_signums[i]);
		if (rc != 0) {
			log_error("uv_signal_start(%s): %s", strsignal(master_signums[i]),
			          uv_strerror(rc));
			return rc;
		}
	}
	return uv_timer_start(&m->ready_timer, master_on_ready_timer, MASTER_READY_POLL_MS,
	                      MASTER_READY_POLL_MS);
}

/* ---- the whole run --------------------------------------------------------- */

static void master_cleanup(struct master *m)
{
	if (m->fds)
		udp_sockets_close(m->fds, m->n_listeners * m->nslots);
	free(m->fds);
	ctl_master_free(m->ctl);
	arena_destroy(m->arena);
	policy_free(m->policy);
	config_free(&m->cfg);
}

/* Everything before the loop runs; on failure the caller cleans up. */
static int master_start(struct master *m)
{
	int rc = check_load(m->config_path, &m->cfg, &m->policy);

	if (rc != 0)
		return rc;
	log_set_level(m->cfg.log_level);
	m->nslots = m->cfg.workers;
	log_info("sipedge %s starting: %s, %u workers", SIPEDGE_VERSION, m->config_path, m->nslots);
	if ((rc = master_setup_shared(m)) != 0 || (rc = master_open_listeners(m)) != 0)
		return rc;
	if ((rc = master_setup_loop(m)) != 0)
		return rc;
	m->ctl_policy = (struct ctl_policy_ops){
	    .arg = m, .current = master_ctl_policy, .reload = master_ctl_reload};
	if ((rc = ctl_master_start(&m->ctl, &m->loop, m->sh, &m->cfg, m->config_path,
				   &m->ctl_policy)) != 0)
		return rc;
	for (uint32_t s = 0; s < m->nslots; s++) {
		if ((rc = master_spawn(m, s)) != 0) {
			/* Start-up is all or nothing: stop the ones we started. */
			master_stop(m, "start-up failed");
			uv_run(&m->loop, UV_RUN_DEFAULT);
			return rc;
		}
	}
	return 0;
}

int master_run(const char *config_path, const struct runtime_hooks *hooks)
{
	static const struct runtime_hooks no_hooks;
	struct master m = {.config_path = config_path, .hooks = hooks ? hooks : &no_hooks};
	int rc;

	m.pid = getpid();
	log_set_master();
	/* A peer that goes away must cost an EPIPE, not the master. */
	signal(SIGPIPE, SIG_IGN);

	rc = master_start(&m);
	if (rc == 0) {
		uv_run(&m.loop, UV_RUN_DEFAULT);
		log_info("stopped");
	}
	if (m.loop_ready) {
		/* Close what is left (after a failed start) and release the loop. */
		master_close_handles(&m);
		uv_run(&m.loop, UV_RUN_DEFAULT);
		uv_loop_close(&m.loop);
	}
	master_cleanup(&m);
	return rc;
}
