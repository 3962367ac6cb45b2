/*
 * echo_hooks: a stand-in SIP layer for the runtime's process tests
 * (TEST ONLY: linked into sipedge-echo, never into sipedge).
 *
 * Every datagram is answered from the socket it came in on with
 * "w<slot> <pid> <payload>", so a test sees which worker got it. Payloads
 * that are commands:
 *   hold <ms>  the worker reports itself busy (not idle) for <ms>: a test
 *              of the graceful drain;
 *   crash[N]   the worker (of slot N only, if given) aborts after
 *              answering: a test of respawn and of the respawn-storm
 *              back-off.
 * shared_init puts a counter in the arena, which every worker bumps, to
 * show the arena is shared.
 */
#include "hooks_sip.h"
#include "log.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct echo_shared {
	_Atomic uint64_t datagrams; /* all workers' */
};

/* Per worker process: one worker per process, so file statics are its. */
static uint64_t echo_hold_until_ms;

static int echo_shared_init(struct shared *sh, const struct config *cfg)
{
	(void)cfg;
	struct echo_shared *es = arena_alloc_permanent(sh->arena, sizeof(*es));
	if (es == NULL)
		return -ENOMEM;
	atomic_init(&es->datagrams, 0);
	sh->sip = es;
	return 0;
}

static int echo_start(struct worker *w)
{
	for (uint32_t i = 0; i < w->n_listeners; i++)
		log_info("echo: listener %u via %s:%u", i, w->listeners[i].via_host,
		         w->listeners[i].via_port);
	return 0;
}

static void echo_recv(struct worker *w, struct listener_rt *l, char *buf, size_t len,
                      const struct sockaddr *src, socklen_t srclen)
{
	struct echo_shared *es = w->sh->sip;
	char out[2048];
	int n;

	(void)srclen;
	atomic_fetch_add(&es->datagrams, 1);
	if (len > 1024)
		len = 1024;
	n = snprintf(out, sizeof(out), "w%u %ld %.*s", w->slot, (long)w->pid, (int)len, buf);
	int rc = worker_send(w, l, src, out, (size_t)n);
	if (rc != 0)
		log_warn("echo: worker_send: %d", rc);
	if (len > 5 && memcmp(buf, "hold ", 5) == 0) {
		char num[16] = {0};
		memcpy(num, buf + 5, len - 5 < 15 ? len - 5 : 15);
		echo_hold_until_ms = worker_now_ms(w) + strtoull(num, NULL, 10);
	} else if (len >= 5 && len < 16 && memcmp(buf, "crash", 5) == 0) {
		char num[16] = {0};
		memcpy(num, buf + 5, len - 5);
		if (len == 5 || strtoul(num, NULL, 10) == w->slot)
			abort();
	}
}

static bool echo_idle(struct worker *w)
{
	return worker_now_ms(w) >= echo_hold_until_ms;
}

static void echo_stop(struct worker *w)
{
	struct echo_shared *es = w->sh->sip;
	log_info("echo: stop, %llu datagrams in, %llu out, %llu in all workers",
	         (unsigned long long)atomic_load(&w->sh->slots[w->slot].msgs_in),
	         (unsigned long long)atomic_load(&w->sh->slots[w->slot].msgs_out),
	         (unsigned long long)atomic_load(&es->datagrams));
}

static uint32_t echo_tick_ms(const struct config *cfg)
{
    (void)cfg;
    return 20;
}

static const struct runtime_hooks echo_hooks = {
    .shared_init = echo_shared_init,
    .worker =
        {
            .start = echo_start,
            .recv = echo_recv,
            .idle = echo_idle,
            .stop = echo_stop,
            .tick_ms = echo_tick_ms,
        },
};

const struct runtime_hooks *sip_runtime_hooks(void)
{
	return &echo_hooks;
}
