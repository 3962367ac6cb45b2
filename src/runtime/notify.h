/*
 * notify: tell the service manager how the daemon is doing (systemd's
 * sd_notify for Type=notify units). Without libsystemd at build time, or
 * without $NOTIFY_SOCKET at run time, every call does nothing.
 */
#ifndef SE_RUNTIME_NOTIFY_H
#define SE_RUNTIME_NOTIFY_H

/* Every worker runs: systemd may start the units ordered after us. */
void notify_ready(const char *status);
/* A graceful stop began. */
void notify_stopping(void);

#endif
