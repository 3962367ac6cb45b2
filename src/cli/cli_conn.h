/*
 * cli_conn: sipedgectl's side of the control socket: connect, send one
 * request line, read one answer line, with a deadline on the whole call.
 */
#ifndef SE_CLI_CONN_H
#define SE_CLI_CONN_H

#include <stddef.h>

/* Connect to the Unix socket at path. Returns the fd, or -errno. */
int cli_conn_open(const char *path);

/*
 * Send line (len bytes, "\n" included) and read the answer line into
 * *out (malloc'd, NUL-terminated, without its newline; the caller frees)
 * within timeout_ms. Returns 0, -ETIMEDOUT, -EMSGSIZE (an answer over
 * 64 MiB), -ECONNRESET (closed before a whole line), or another -errno.
 */
int cli_conn_call(int fd, const char *line, size_t len, int timeout_ms, char **out,
		  size_t *out_len);

#endif
