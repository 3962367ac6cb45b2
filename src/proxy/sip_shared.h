/*
 * The SIP layer's state in the shared arena (struct shared's `sip`):
 * transaction table, one timer wheel per worker slot, per-slot counters,
 * and the key that authenticates our branches (the pools' state is the
 * runtime's: struct shared's `pools`, kept across policy reloads).
 * Created by the master before fork (proxy_hooks.c).
 */
#ifndef SE_PROXY_SIP_SHARED_H
#define SE_PROXY_SIP_SHARED_H

#include <stdatomic.h>
#include <stdint.h>

#include <sipedge/hdr.h>
#include <sipedge/ierr.h>

#include "../policy/policy.h" /* PE__COUNT */
#include "../txn/twheel.h"
#include "../txn/txn_table.h"

/* Why a request was answered 503, or a message dropped: counted per slot. */
#define SIP_DROP_MAP(XX)                                                                    \
	XX(MALFORMED_RESPONSE, "malformed response")                                        \
	XX(GARBAGE, "not a SIP message")                                                    \
	XX(NOT_OURS, "response whose top Via is not ours")                                  \
	XX(STRAY, "response matching no transaction")                                       \
	XX(SEND_FAILED, "send failed")                                                      \
	XX(SHM_FULL, "503: shared memory exhausted")                                        \
	XX(STOPPING, "503: shutting down")                                                  \
	XX(DRAINING, "503: draining (sipedgectl drain)")                                    \
	XX(POOL_DOWN, "503: no destination of the pool is usable")                          \
	XX(POOL_CAPPED, "503: every destination of the pool at its call cap")               \
	XX(BLACKLISTED, "target blacklisted")

enum sip_drop {
#define XX(id, text) SIP_DROP_##id,
	SIP_DROP_MAP(XX)
#undef XX
	SIP_DROP__COUNT
};

/* Counters of one slot: written by that slot's worker only (relaxed
 * atomics, so that readers in other processes see whole values). */
struct sip_stats {
	_Atomic uint64_t requests[SE_METHOD__COUNT];
	_Atomic uint64_t responses[7];      /* by class 1xx..6xx; [0] unused */
	_Atomic uint64_t replies_local[7];  /* responses we generated, by class */
	_Atomic uint64_t parse_errors;      /* requests answered 400/505/513 */
	_Atomic uint64_t drops[SIP_DROP__COUNT];
	_Atomic uint64_t txn_created;
	_Atomic int64_t txn_owned;          /* live transactions owned by the slot */
	_Atomic int64_t txn_pending;        /* of those, still without a final upstream */
	_Atomic uint64_t retransmissions;   /* absorbed or re-sent */
	_Atomic uint64_t ierrs[SE_IERR__COUNT]; /* internal errors answered, by id */
	_Atomic uint64_t reactions[PE__COUNT];  /* policy reactions applied, by event */
};

struct sip_shared {
	struct txn_table *txns;
	struct twheel *wheels;     /* [nslots] */
	struct sip_stats *stats;   /* [nslots] */
	uint64_t secret;           /* branch MAC key, random per start */
};

#endif
