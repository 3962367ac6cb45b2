/*
 * Transaction keys and the branches sipedge generates.
 *
 * Server transactions are matched per RFC 3261 §17.2.3: the top Via's
 * branch (when it starts with the magic cookie) and sent-by; the method is
 * compared by the caller (ACK and CANCEL look for their INVITE). Requests
 * from RFC 2543 elements (no cookie) are keyed on Request-URI, From tag,
 * Call-ID, CSeq number and the top Via. The To tag is left out of the
 * 2543 key: an ACK carries the tag of the final response, which the
 * INVITE did not, and the other fields already single the INVITE out.
 *
 * Branches sent downstream name the bucket and label of their
 * transaction, so a response finds it in O(1) from any worker, carry the
 * RFC 3261 §16.6 step 8 loop-detection hash, and are authenticated with a
 * keyed hash so that a forged response cannot be relayed as "ours":
 *   z9hG4bKsE<bucket>.<label>.<branch>.<loop>.<random>.<mac>
 * (bucket and label hex, branch index one digit, loop 8 hex, random 8
 * token characters, mac 8 hex).
 */
#ifndef SE_TXN_TXN_KEY_H
#define SE_TXN_TXN_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include <sipedge/msg.h>
#include <sipedge/rand.h>

#define TXN_BRANCH_MAX 64

/* Write the server-transaction key of request m into key[cap]. Returns
 * its length, or 0 when it does not fit (the request then cannot be
 * matched and is answered 400 by the caller). */
uint32_t txn_key_server(const struct se_msg *m, const char *buf, char *key, uint32_t cap,
			bool *rfc2543);

uint64_t txn_key_hash(const char *key, uint32_t len);

/* RFC 3261 §16.6 step 8 loop-detection hash of a request. */
uint32_t txn_loop_hash(const struct se_msg *m, const char *buf);

struct txn_branch_id {
	uint32_t bucket;
	uint32_t label;
	uint32_t branch; /* index in the transaction */
	uint32_t loop;
};

/* Build a branch; returns its length (< TXN_BRANCH_MAX). */
uint32_t txn_branch_make(char out[TXN_BRANCH_MAX], const struct txn_branch_id *id,
			 struct se_rng *rng, uint64_t secret);

/* Decode and authenticate a branch. Returns false when it is not one of
 * ours (wrong shape or wrong mac). */
bool txn_branch_parse(const char *b, uint32_t len, uint64_t secret, struct txn_branch_id *id);

#endif
