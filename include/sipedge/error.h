/*
 * sipedge error codes.
 *
 * Every int-returning function of sipedge returns 0 (or a non-negative
 * count) on success and a negative SE_E* code on failure. Codes that have
 * an errno equivalent reuse its value (negated), so a system call's
 * failure can be passed up unchanged as -errno; codes without one live
 * above 4000, out of errno's range. Names and messages come from one list.
 */
#ifndef SIPEDGE_ERROR_H
#define SIPEDGE_ERROR_H

#include <errno.h>

#define SE_ERRNO_MAP(XX)                                                     \
	XX(EAGAIN, -EAGAIN, "more bytes needed")                                 \
	XX(ENOMEM, -ENOMEM, "out of memory")                                     \
	XX(EINVAL, -EINVAL, "invalid argument")                                  \
	XX(ENOSPC, -ENOSPC, "output buffer too small")                           \
	XX(ENOENT, -ENOENT, "not found")                                         \
	XX(EEXIST, -EEXIST, "already exists")                                    \
	XX(EMSGSIZE, -EMSGSIZE, "message too large")                             \
	XX(ERANGE, -ERANGE, "value out of range")                                \
	XX(EPARSE, -4001, "malformed message")                                   \
	XX(ELIMIT, -4002, "limit exceeded")                                      \
	XX(ESHMFULL, -4003, "shared memory exhausted")                           \
	XX(ECONFIG, -4004, "configuration error")

enum se_err {
#define XX(name, val, msg) SE_##name = (val),
	SE_ERRNO_MAP(XX)
#undef XX
};

/* Human-readable message for an SE_E* code or a negated errno. Never NULL. */
const char *se_strerror(int err);
/* Symbolic name ("EPARSE") of an SE_E* code, or "EUNKNOWN". Never NULL. */
const char *se_errname(int err);

#endif
