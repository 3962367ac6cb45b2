/*
 * Unpredictable identifiers (include/sipedge/rand.h): Via branches with the
 * RFC 3261 §8.1.1.7 magic cookie, tags (§19.3) and Call-IDs (§8.1.1.4),
 * drawn from a ChaCha20 keystream (RFC 8439 §2.3 block function).
 *
 * struct se_rng.state is exactly the RFC 8439 §2.3 input state: four
 * constants, the 256-bit key (the seed), a block counter and a 96-bit nonce
 * (zero here). We run the counter over words 12 and 13 together, as the
 * original 64-bit-counter ChaCha does, so one seed never repeats a block in
 * practice. The unit test relies on this layout to check the RFC vectors.
 */
#include <sipedge/error.h>
#include <sipedge/rand.h>

#include <string.h>

#include "chars.h"

static uint32_t rotl(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* RFC 8439 §2.1 quarter round on four words of the working state. */
static void quarter(uint32_t x[16], int a, int b, int c, int d)
{
	x[a] += x[b];
	x[d] = rotl(x[d] ^ x[a], 16);
	x[c] += x[d];
	x[b] = rotl(x[b] ^ x[c], 12);
	x[a] += x[b];
	x[d] = rotl(x[d] ^ x[a], 8);
	x[c] += x[d];
	x[b] = rotl(x[b] ^ x[c], 7);
}

/* RFC 8439 §2.3: 10 column + diagonal double rounds, add the input state,
 * serialise little-endian; then step the counter for the next block. */
static void refill(struct se_rng *r)
{
	uint32_t x[16];

	memcpy(x, r->state, sizeof(x));
	for (int i = 0; i < 10; i++) {
		quarter(x, 0, 4, 8, 12);
		quarter(x, 1, 5, 9, 13);
		quarter(x, 2, 6, 10, 14);
		quarter(x, 3, 7, 11, 15);
		quarter(x, 0, 5, 10, 15);
		quarter(x, 1, 6, 11, 12);
		quarter(x, 2, 7, 8, 13);
		quarter(x, 3, 4, 9, 14);
	}
	for (int i = 0; i < 16; i++)
		store_le32(r->block + 4 * i, x[i] + r->state[i]);
	if (++r->state[12] == 0)
		r->state[13]++;
	r->used = 0;
}

void se_rng_seed(struct se_rng *r, const uint8_t seed[32])
{
	/* "expand 32-byte k" */
	r->state[0] = 0x61707865u;
	r->state[1] = 0x3320646eu;
	r->state[2] = 0x79622d32u;
	r->state[3] = 0x6b206574u;
	for (int i = 0; i < 8; i++)
		r->state[4 + i] = load_le32(seed + 4 * i);
	r->state[12] = 0;
	r->state[13] = r->state[14] = r->state[15] = 0;
	/* Nothing generated yet: the first request computes block 0. */
	r->used = sizeof(r->block);
}

void se_rng_bytes(struct se_rng *r, void *out, size_t n)
{
	uint8_t *o = out;

	while (n) {
		if (r->used >= sizeof(r->block))
			refill(r);
		size_t take = sizeof(r->block) - r->used;
		if (take > n)
			take = n;
		memcpy(o, r->block + r->used, take);
		r->used = (uint8_t)(r->used + take);
		o += take;
		n -= take;
	}
}

static const char token_alphabet[62] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * Each character takes the low 6 bits of a keystream byte and rejects 62
 * and 63: every accepted value is equally likely, which a plain `% 62`
 * would not give. About one byte in 32 is thrown away.
 */
void se_rng_token(struct se_rng *r, char *out, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (r->used >= sizeof(r->block))
			refill(r);
		unsigned v = r->block[r->used++] & 0x3fu;
		if (v < sizeof(token_alphabet))
			out[i++] = token_alphabet[v];
	}
	out[n] = '\0';
}

#define BRANCH_RANDOM 16 /* 62^16 ≈ 2^95: collisions are not a concern */

int se_branch_make(struct se_rng *r, const char *infix, size_t infix_len, char *out,
		   size_t cap)
{
	const size_t cookie = sizeof(SE_BRANCH_COOKIE) - 1;

	for (size_t i = 0; i < infix_len; i++)
		if (!se_is((unsigned char)infix[i], SE_C_TOKEN))
			return SE_EINVAL;
	/* cookie + infix + "." + random + NUL, written so that no sum overflows */
	if (cap < cookie + 1 + BRANCH_RANDOM + 1 || infix_len > cap - (cookie + 1 + BRANCH_RANDOM + 1))
		return SE_ENOSPC;
	size_t len = cookie + infix_len + 1 + BRANCH_RANDOM;
	if (len > (size_t)INT32_MAX)
		return SE_ENOSPC;
	memcpy(out, SE_BRANCH_COOKIE, cookie);
	if (infix_len)
		memcpy(out + cookie, infix, infix_len);
	out[cookie + infix_len] = '.';
	se_rng_token(r, out + cookie + infix_len + 1, BRANCH_RANDOM);
	return (int)len;
}
