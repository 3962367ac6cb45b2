/* Header-name and method lookup (src/core/hdr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include <sipedge/hdr.h>

struct name_row {
	const char *name;
	int id;
	char compact;
};

static const struct name_row names[] = {
#define XX(id, name, c) {name, SE_HDR_##id, c},
	SE_HDR_MAP(XX)
#undef XX
};

static void test_canonical_and_compact(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct name_row *r = &names[i];
		char buf[64];
		size_t n = strlen(r->name);
		assert_int_equal(se_hdr_lookup(r->name, n), r->id);
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)toupper((unsigned char)r->name[k]);
		assert_int_equal(se_hdr_lookup(buf, n), r->id);
		for (size_t k = 0; k < n; k++)
			buf[k] = (char)tolower((unsigned char)r->name[k]);
		assert_int_equal(se_hdr_lookup(buf, n), r->id);
		assert_string_equal(se_hdr_name(r->id), r->name);
		if (r->compact) {
			char c = r->compact;
			assert_int_equal(se_hdr_lookup(&c, 1), r->id);
			c = (char)toupper((unsigned char)c);
			assert_int_equal(se_hdr_lookup(&c, 1), r->id);
		}
	}
}

static void test_unknown(void **state)
{
	(void)state;
	static const char *const unknown[] = {"X-Foo", "Vias", "Vi", "Fromm", "Contact-", "q",
					      "g", "Call-I", "Content-Lengthx", "1", ""};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(se_hdr_lookup(unknown[i], strlen(unknown[i])), SE_HDR_OTHER);
	/* every compact letter that is not assigned stays unknown */
	static const char unassigned[] = "ghpqwz";
	for (const char *c = unassigned; *c; c++)
		assert_int_equal(se_hdr_lookup(c, 1), SE_HDR_OTHER);
}

static void test_methods(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int m;
	} rows[] = {
		{"INVITE", SE_METHOD_INVITE}, {"ACK", SE_METHOD_ACK},
		{"CANCEL", SE_METHOD_CANCEL}, {"BYE", SE_METHOD_BYE},
		{"OPTIONS", SE_METHOD_OPTIONS}, {"REGISTER", SE_METHOD_REGISTER},
		{"PRACK", SE_METHOD_PRACK}, {"SUBSCRIBE", SE_METHOD_SUBSCRIBE},
		{"NOTIFY", SE_METHOD_NOTIFY}, {"PUBLISH", SE_METHOD_PUBLISH},
		{"INFO", SE_METHOD_INFO}, {"REFER", SE_METHOD_REFER},
		{"MESSAGE", SE_METHOD_MESSAGE}, {"UPDATE", SE_METHOD_UPDATE},
		{"invite", SE_METHOD_OTHER}, /* methods are case-sensitive */
		{"INVITES", SE_METHOD_OTHER}, {"NEWMETHOD", SE_METHOD_OTHER},
		{"IN", SE_METHOD_OTHER},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(se_method_lookup(rows[i].name, strlen(rows[i].name)), rows[i].m);
		if (rows[i].m)
			assert_string_equal(se_method_name(rows[i].m), rows[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_and_compact),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_methods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
