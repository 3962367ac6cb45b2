/* Timer wheel (src/txn/twheel.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>

#include "../../src/txn/twheel.h"

static struct twheel *new_wheel(uint64_t now)
{
	struct twheel *w = malloc(sizeof(*w));
	assert_int_equal(twheel_init(w, 10, now), 0);
	return w;
}

static void test_fires_in_order_and_not_early(void **state)
{
	(void)state;
	struct twheel *w = new_wheel(1000);
	static const uint64_t when[] = {1005, 1500, 1010, 25000, 1009, 12000};
	struct tnode n[6];
	for (int i = 0; i < 6; i++) {
		twheel_node_init(&n[i]);
		twheel_arm(w, &n[i], when[i]);
	}
	struct tnode *out[8];
	assert_int_equal(twheel_expire(w, 1004, out, 8), 0);
	assert_int_equal(twheel_expire(w, 1009, out, 8), 2); /* 1005 and 1009 */
	assert_false(n[0].armed);
	assert_false(n[4].armed);
	assert_int_equal(twheel_expire(w, 1499, out, 8), 1); /* 1010 */
	assert_ptr_equal(out[0], &n[2]);
	/* 12000 is more than one revolution (10.24 s) away: passed over once */
	assert_int_equal(twheel_expire(w, 11999, out, 8), 1); /* 1500 */
	assert_ptr_equal(out[0], &n[1]);
	assert_int_equal(twheel_expire(w, 12000, out, 8), 1);
	assert_ptr_equal(out[0], &n[5]);
	assert_int_equal(twheel_expire(w, 24999, out, 8), 0);
	assert_int_equal(twheel_expire(w, 30000, out, 8), 1);
	assert_ptr_equal(out[0], &n[3]);
	assert_int_equal(w->count, 0);
	free(w);
}

static void test_cancel_and_move(void **state)
{
	(void)state;
	struct twheel *w = new_wheel(0);
	struct tnode a, b;
	twheel_node_init(&a);
	twheel_node_init(&b);
	twheel_arm(w, &a, 100);
	twheel_arm(w, &b, 200);
	twheel_cancel(w, &a);
	twheel_cancel(w, &a); /* twice is harmless */
	twheel_arm(w, &b, 50); /* moved earlier */
	struct tnode *out[4];
	assert_int_equal(twheel_expire(w, 60, out, 4), 1);
	assert_ptr_equal(out[0], &b);
	assert_int_equal(twheel_expire(w, 500, out, 4), 0);
	assert_int_equal(w->count, 0);
	free(w);
}

static void test_bounded_batches(void **state)
{
	(void)state;
	struct twheel *w = new_wheel(0);
	enum { N = 100 };
	struct tnode *n = calloc(N, sizeof(*n));
	for (int i = 0; i < N; i++) {
		twheel_node_init(&n[i]);
		twheel_arm(w, &n[i], 30 + (uint64_t)(i % 3));
	}
	struct tnode *out[16];
	uint32_t total = 0, calls = 0, k;
	while ((k = twheel_expire(w, 1000, out, 16)) > 0) {
		assert_true(k <= 16);
		total += k;
		calls++;
	}
	assert_int_equal(total, N);
	assert_true(calls >= N / 16);
	free(n);
	free(w);
}

static void test_arm_in_the_past_fires_next(void **state)
{
	(void)state;
	struct twheel *w = new_wheel(0);
	struct tnode *out[2];
	assert_int_equal(twheel_expire(w, 5000, out, 2), 0); /* cursor moves to 5000 */
	struct tnode a;
	twheel_node_init(&a);
	twheel_arm(w, &a, 10);
	assert_int_equal(twheel_expire(w, 5000, out, 2), 1);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fires_in_order_and_not_early),
		cmocka_unit_test(test_cancel_and_move),
		cmocka_unit_test(test_bounded_batches),
		cmocka_unit_test(test_arm_in_the_past_fires_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
