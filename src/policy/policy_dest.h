/*
 * policy_dest: a destination URI of the policy (a pool member or a forward
 * target) made into a next hop. Internal to the policy module.
 */
#ifndef SE_POLICY_DEST_H
#define SE_POLICY_DEST_H

#include "policy.h"

/*
 * Parse the URI in scalar node n into *d (scheme, transport, port, addr;
 * the other fields untouched). Returns 0, or SE_ECONFIG with the reason
 * added to errs at n ("bad destination URI 'x': bad host", ...).
 */
int policy_dest_parse(const struct ydoc_node *n, struct policy_dest *d, struct ydoc_errs *errs);

#endif
