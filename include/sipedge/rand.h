/*
 * Unpredictable identifiers: Via branches (RFC 3261 §8.1.1.7, magic cookie
 * "z9hG4bK"), To/From tags (§19.3) and Call-IDs.
 *
 * A ChaCha20 keystream (RFC 8439 block function) keyed from a 32-byte seed:
 * fast (one 64-byte block serves several identifiers) and, unlike an LCG or
 * xorshift, not predictable from identifiers already seen. The library does
 * no I/O: the caller seeds from getrandom(2), and must reseed in each
 * process after fork() so that two workers never share a stream.
 */
#ifndef SIPEDGE_RAND_H
#define SIPEDGE_RAND_H

#include <stddef.h>
#include <stdint.h>

#define SE_BRANCH_COOKIE "z9hG4bK"

struct se_rng {
	uint32_t state[16]; /* private */
	uint8_t block[64];  /* private: current keystream block */
	uint8_t used;       /* private: bytes of block consumed */
};

/* Key the generator. Any seed is accepted; equal seeds give equal streams. */
void se_rng_seed(struct se_rng *r, const uint8_t seed[32]);

/* Fill out with n keystream bytes. */
void se_rng_bytes(struct se_rng *r, void *out, size_t n);

/* Write n random characters from [0-9A-Za-z] and a NUL: out needs n + 1. */
void se_rng_token(struct se_rng *r, char *out, size_t n);

/*
 * Write a branch "z9hG4bK" infix "." <16 random token chars> and a NUL.
 * The infix (may be empty) lets the caller encode routing data such as a
 * transaction-table bucket; it must consist of token characters. Returns
 * the length written (without NUL), SE_ENOSPC, or SE_EINVAL when the
 * infix holds a character that is not a token character.
 */
int se_branch_make(struct se_rng *r, const char *infix, size_t infix_len, char *out,
		   size_t cap);

#endif
