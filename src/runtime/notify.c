/*
 * notify: sd_notify when built with libsystemd (notify.h). The one #ifdef
 * of the runtime lives here so that callers need none.
 */
#include "notify.h"

#include "log.h"

#include <stdio.h>
#include <string.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void notify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		log_warn("sd_notify(%s): %s", state, strerror(-rc));
}
#else
static void notify_send(const char *state)
{
	(void)state;
}
#endif

void notify_ready(const char *status)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "READY=1\nSTATUS=%s", status);
	notify_send(buf);
}

void notify_stopping(void)
{
	notify_send("STOPPING=1");
}
