/*
 * explain: why a request would be routed where it is — `sipedge -t
 * --explain` offline, and the control socket's `route --explain` against
 * the live pools. Same text in both (docs/policy.md, "Explain").
 */
#ifndef SE_RUNTIME_EXPLAIN_H
#define SE_RUNTIME_EXPLAIN_H

#include <stdint.h>
#include <stdio.h>

#include "../policy/policy.h"
#include "../pool/pool.h"

/*
 * Print to f how p routes the request line `line` ("INVITE
 * sip:+4930123@example.net"), from from_ip (NULL: unknown) over transport
 * (NULL: udp): each rule tried, the match, and for a pool the order its
 * destinations would be tried given the health in ps. Returns 0, or
 * SE_EPARSE with the reason printed to f when the line does not parse.
 */
int explain_request(struct pool_shared *ps, const struct policy *p, const char *line,
		    const char *from_ip, const char *transport, uint64_t now_ms, FILE *f);

/* sipedge -t --explain: with an arena of its own (every destination up,
 * as nothing was probed). Returns the process exit status. */
int explain_offline(const struct policy *p, const char *line, const char *from_ip,
		    const char *transport);

#endif
