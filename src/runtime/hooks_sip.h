/*
 * hooks_sip: where the sipedge executable gets its SIP layer from.
 *
 * main.c calls sip_runtime_hooks() and hands the result to master_run().
 * The proxy (src/proxy) implements it for the real daemon; the runtime's
 * tests link an echo implementation instead (tests/runtime/echo_hooks.c).
 */
#ifndef SE_RUNTIME_HOOKS_SIP_H
#define SE_RUNTIME_HOOKS_SIP_H

#include "shared.h"

/* The hooks of the SIP layer: static storage, valid for the whole run. */
const struct runtime_hooks *sip_runtime_hooks(void);

#endif
