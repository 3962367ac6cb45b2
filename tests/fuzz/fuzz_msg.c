/*
 * libFuzzer target for the message parser and stream framer
 * (src/core/msg_*.c, frame.c). Any input must parse or fail cleanly;
 * on success every range lies inside the message, and the framer, fed
 * the same bytes, never reports a frame longer than the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sipedge/build.h>
#include <sipedge/msg.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VIA "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx"

static void in_range(struct se_range r, uint32_t end)
{
	if (r.off + (uint64_t)r.len > end)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct se_msg *m;
	static char out[70000];
	struct se_limits lim = SE_LIMITS_DEFAULT;
	if (!m)
		m = se_msg_init(malloc(se_msg_size(&lim)), &lim);
	const char *buf = (const char *)data;
	struct se_perr err;
	int rc = se_msg_parse(m, buf, size, SE_DGRAM, &lim, &err);
	if (rc > 0) {
		uint32_t end = (uint32_t)rc;
		for (uint16_t i = 0; i < m->hdr_count; i++) {
			in_range(se_msg_hdrs(m)[i].line, end);
			in_range(se_msg_hdrs(m)[i].value, end);
		}
		for (uint16_t i = 0; i < m->via_count; i++)
			in_range(se_msg_vias(m)[i].whole, end);
		for (uint16_t i = 0; i < m->elem_count; i++)
			in_range(se_msg_elems(m)[i].whole, end);
		in_range(m->body, end);
		/* the builder must cope with whatever parsed */
		struct se_edit ed[2] = {
			{.op = SE_EDIT_PUSH_VIA, .data = VIA, .len = sizeof(VIA) - 1},
			{.op = SE_EDIT_SET_MAX_FORWARDS, .num = 69},
		};
		if (se_build(m, buf, ed, 2, out, sizeof(out)) < 0)
			abort();
		if (m->is_request) {
			struct se_reply r = {.code = 400, .to_tag = "abc"};
			se_build_reply(m, buf, &r, out, sizeof(out));
		}
	} else if (err.what == NULL) {
		abort();
	}
	struct se_framer f;
	memset(&f, 0, sizeof(f));
	struct se_frame fr;
	if (se_frame_next(&f, buf, size, 65535, &fr, &err) == 0 && fr.len > size)
		abort();
	return 0;
}
