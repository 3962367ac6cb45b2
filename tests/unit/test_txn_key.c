/* Transaction keys, loop hash and branches (src/txn/txn_key.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../src/txn/txn_key.h"

static struct se_msg *parse(const char *text)
{
	struct se_limits lim = SE_LIMITS_DEFAULT;
	struct se_msg *m = se_msg_init(malloc(se_msg_size(&lim)), &lim);
	struct se_perr err;
	if (se_msg_parse(m, text, strlen(text), SE_DGRAM, &lim, &err) < 0)
		fail_msg("parse: %s", err.what);
	return m;
}

#define REQ(method, ruri, via)                                                              \
	method " " ruri " SIP/2.0\r\nVia: " via "\r\nTo: <sip:b@x>\r\n"                     \
	       "From: <sip:a@y>;tag=f1\r\nCall-ID: c1\r\nCSeq: 7 " method "\r\n\r\n"

static uint32_t key(const char *text, char *out, bool *r2543)
{
	struct se_msg *m = parse(text);
	uint32_t n = txn_key_server(m, text, out, 200, r2543);
	free(m);
	return n;
}

static void test_server_keys(void **state)
{
	(void)state;
	char a[200], b[200];
	bool r;
	const char *inv = REQ("INVITE", "sip:b@x", "SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKabc");
	uint32_t na = key(inv, a, &r);
	assert_false(r);
	/* ACK and CANCEL of that INVITE have the same key (method apart) */
	uint32_t nb = key(REQ("ACK", "sip:b@x", "SIP/2.0/UDP H.EXAMPLE.COM:5070;branch=z9hG4bKabc"), b, &r);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	nb = key(REQ("CANCEL", "sip:b@x", "SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKabc"), b, &r);
	assert_memory_equal(a, b, na);
	/* another sent-by or branch is another transaction */
	nb = key(REQ("INVITE", "sip:b@x", "SIP/2.0/UDP h.example.com;branch=z9hG4bKabc"), b, &r);
	assert_false(na == nb && memcmp(a, b, na) == 0);
	nb = key(REQ("INVITE", "sip:b@x", "SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKabd"), b, &r);
	assert_false(na == nb && memcmp(a, b, na) == 0);
	/* RFC 2543: no cookie, keyed on R-URI, tags, Call-ID, CSeq, Via */
	na = key(REQ("INVITE", "sip:b@x", "SIP/2.0/UDP h;branch=1234"), a, &r);
	assert_true(r);
	nb = key(REQ("INVITE", "sip:c@x", "SIP/2.0/UDP h;branch=1234"), b, &r);
	assert_false(na == nb && memcmp(a, b, na) == 0);
	assert_int_not_equal(txn_key_hash(a, na), txn_key_hash(b, nb));
}

static void test_loop_hash(void **state)
{
	(void)state;
	const char *t1 = REQ("INVITE", "sip:b@x", "SIP/2.0/UDP h;branch=z9hG4bK1");
	const char *t2 = REQ("INVITE", "sip:b@x", "SIP/2.0/UDP other;branch=z9hG4bK2");
	const char *t3 = REQ("INVITE", "sip:c@x", "SIP/2.0/UDP h;branch=z9hG4bK1");
	struct se_msg *m1 = parse(t1), *m2 = parse(t2), *m3 = parse(t3);
	/* Via does not enter the hash (a loop adds Vias); the R-URI does
	 * (a spiral changes it) */
	assert_int_equal(txn_loop_hash(m1, t1), txn_loop_hash(m2, t2));
	assert_int_not_equal(txn_loop_hash(m1, t1), txn_loop_hash(m3, t3));
	free(m1);
	free(m2);
	free(m3);
}

static void test_branch_roundtrip_and_tamper(void **state)
{
	(void)state;
	struct se_rng rng;
	uint8_t seed[32] = {1, 2, 3};
	se_rng_seed(&rng, seed);
	const uint64_t secret = 0x1234567890abcdefULL;
	static const struct txn_branch_id ids[] = {
		{0, 1, 0, 0}, {16383, 0xffffffffu, 3, 0xdeadbeef}, {77, 5, 9, 1},
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char b[TXN_BRANCH_MAX];
		uint32_t n = txn_branch_make(b, &ids[i], &rng, secret);
		assert_true(n < TXN_BRANCH_MAX);
		assert_memory_equal(b, "z9hG4bKsE", 9);
		struct txn_branch_id got;
		assert_true(txn_branch_parse(b, n, secret, &got));
		assert_int_equal(got.bucket, ids[i].bucket);
		assert_int_equal(got.label, ids[i].label);
		assert_int_equal(got.branch, ids[i].branch);
		assert_int_equal(got.loop, ids[i].loop);
		assert_false(txn_branch_parse(b, n, secret + 1, &got)); /* other key */
		for (uint32_t k = 0; k < n; k++) { /* any changed byte is refused */
			char c[TXN_BRANCH_MAX];
			memcpy(c, b, n);
			c[k] = c[k] == 'a' ? 'b' : 'a';
			assert_false(txn_branch_parse(c, n, secret, &got));
		}
		for (uint32_t k = 0; k < n; k++) /* and so is every prefix */
			assert_false(txn_branch_parse(b, k, secret, &got));
	}
	struct txn_branch_id got;
	assert_false(txn_branch_parse("z9hG4bK776asdhds", 16, secret, &got));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_keys),
		cmocka_unit_test(test_loop_hash),
		cmocka_unit_test(test_branch_roundtrip_and_tamper),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
