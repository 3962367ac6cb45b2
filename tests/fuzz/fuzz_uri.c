/*
 * libFuzzer target for the URI module (src/core/uri.c, uri_equal.c):
 * parses the input as one URI (RFC 3261 §19.1, RFC 3966, absoluteURI) and,
 * when it parses, checks what every caller relies on: each range lies
 * inside the input, the flags agree with the ranges, and comparison is
 * reflexive, also against a copy of the buffer (results are offsets).
 * The input buffer is exactly the input, so ASan catches any over-read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sipedge/error.h>
#include <sipedge/uri.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_range(struct se_range r, size_t size)
{
	if (r.off > size || r.len > size - r.off)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > UINT32_MAX)
		return 0;
	const char *base = (const char *)data;
	struct se_uri u;
	const char *why = NULL;
	int rc = se_uri_parse(base, 0, (uint32_t)size, &u, &why);
	if (rc != 0) {
		if (rc != SE_EPARSE || why == NULL || why[0] == '\0')
			abort();
		return 0;
	}
	const struct se_range all[] = {u.whole,  u.user,    u.password,  u.host,
	                               u.params, u.headers, u.transport, u.user_param,
	                               u.maddr,  u.ttl,     u.method};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		check_range(all[i], size);
	if (u.whole.off != 0 || u.whole.len != size)
		abort();
	if (u.scheme < SE_URI_SIP || u.scheme > SE_URI_OTHER)
		abort();
	if ((u.scheme == SE_URI_SIP || u.scheme == SE_URI_SIPS) &&
	    (u.host.len == 0 || u.host_type == SE_HOST_NONE))
		abort();
	if (u.scheme != SE_URI_SIP && u.scheme != SE_URI_SIPS && u.host_type != SE_HOST_NONE)
		abort();
	if ((u.flags & SE_URI_F_USER) && u.user.len == 0)
		abort();
	if (!(u.flags & SE_URI_F_PASSWORD) && u.password.len != 0)
		abort();
	if (!se_uri_equal(base, &u, base, &u))
		abort();

	/* the same URI in another buffer, at another offset */
	char *copy = malloc(size + 3);
	if (!copy)
		return 0;
	memcpy(copy, "<<<", 3);
	memcpy(copy + 3, data, size);
	struct se_uri v;
	if (se_uri_parse(copy, 3, (uint32_t)size, &v, &why) != 0)
		abort();
	if (!se_uri_equal(base, &u, copy, &v) || !se_uri_equal(copy, &v, base, &u))
		abort();
	free(copy);

	/* lookup agrees with what the parser recorded (sip/sips only: tel
	 * parameters are not uri-parameters) */
	if (u.scheme == SE_URI_SIP || u.scheme == SE_URI_SIPS) {
		struct se_range val;
		bool t = se_uri_param(base, &u, "transport", &val);
		if (t != (u.transport.len != 0) ||
		    (t && (val.off != u.transport.off || val.len != u.transport.len)))
			abort();
		if (se_uri_param(base, &u, "lr", &val) != ((u.flags & SE_URI_F_LR) != 0))
			abort();
	}
	(void)se_uri_port(base, &u);
	return 0;
}
