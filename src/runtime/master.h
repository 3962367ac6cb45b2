/*
 * master: the supervising process of sipedge.
 *
 * It loads the configuration and the policy (refusing to start on any
 * error), creates the shared arena and the slot table, binds every
 * listening socket, forks one worker per slot and then only supervises:
 * it respawns a worker that dies into the same slot with the same
 * sockets, and handles the signals (SIGTERM/SIGINT graceful stop, SIGHUP
 * reload, SIGUSR1 log reopen). Workers never fork or bind.
 */
#ifndef SE_RUNTIME_MASTER_H
#define SE_RUNTIME_MASTER_H

#include "shared.h"

/*
 * Run the daemon in the foreground until it is stopped. hooks is the SIP
 * layer (hooks->worker runs in every worker; may have NULL members).
 * Returns 0 after a graceful stop; SE_ECONFIG when the configuration or
 * the policy was refused (every message printed to stderr as
 * file:line:col: message); another negative code when start-up failed
 * (logged at the failure).
 */
int master_run(const char *config_path, const struct runtime_hooks *hooks);

#endif
