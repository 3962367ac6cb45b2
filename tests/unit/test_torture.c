/*
 * The RFC 4475 and RFC 5118 torture messages through the message parser
 * and the stream framer (the parser's floor, DESIGN.md "Standards").
 *
 * tests/data/torture.tsv names every message file and what must become of
 * it: valid and semantic ones parse (semantic ones are refused later, above
 * the parser); invalid ones fail with the detail a 400 will carry, naming
 * the header at fault; invalid responses fail (and are dropped). Each
 * message is placed right before a PROT_NONE page so that any read past its
 * end faults. Then, table-driven, the fields a proxy relies on are checked
 * for the valid messages; a few messages are fed to the framer in two
 * chunks split at every offset; and every prefix of every message is parsed
 * and framed, which must fail cleanly or succeed within the prefix.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sipedge/msg.h>

#include "guard.h"

/* ---- the manifest ---------------------------------------------------- */

enum expect { EX_VALID, EX_INVALID, EX_SEMANTIC, EX_RESPONSE_INVALID };

struct entry {
	const char *path; /* relative to $SE_TEST_DATA */
	enum expect expect;
	const char *expect_text;
	const char *hdr;  /* header the error names, or "-" */
	const char *what; /* prefix of the error detail, or "-" */
};

#define MAX_ENTRIES 128

struct manifest {
	char *text; /* the file, split in place */
	size_t n;
	struct entry e[MAX_ENTRIES];
};

static bool expect_from_text(const char *s, enum expect *out)
{
	static const struct {
		const char *name;
		enum expect e;
	} map[] = {{"valid", EX_VALID},
	           {"invalid", EX_INVALID},
	           {"semantic", EX_SEMANTIC},
	           {"response-invalid", EX_RESPONSE_INVALID}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(s, map[i].name) == 0) {
			*out = map[i].e;
			return true;
		}
	return false;
}

/* One line: path TAB expect TAB hdr TAB what TAB note. */
static void manifest_line(struct manifest *mf, char *line, unsigned lineno)
{
	char *field[5];
	size_t n = 0;
	char *p = line;
	while (n < 5) {
		field[n++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (n != 5 || strchr(field[4], '\t'))
		fail_msg("torture.tsv:%u: want 5 tab-separated fields", lineno);
	if (mf->n >= MAX_ENTRIES)
		fail_msg("torture.tsv:%u: more than %d entries", lineno, MAX_ENTRIES);
	struct entry *e = &mf->e[mf->n++];
	e->path = field[0];
	e->expect_text = field[1];
	e->hdr = field[2];
	e->what = field[3];
	if (!expect_from_text(field[1], &e->expect))
		fail_msg("torture.tsv:%u: unknown expectation '%s'", lineno, field[1]);
	bool checks_error = e->expect == EX_INVALID || e->expect == EX_RESPONSE_INVALID;
	if (e->expect == EX_INVALID && strcmp(e->what, "-") == 0)
		fail_msg("torture.tsv:%u: an invalid message needs its detail", lineno);
	if (!checks_error && (strcmp(e->hdr, "-") != 0 || strcmp(e->what, "-") != 0))
		fail_msg("torture.tsv:%u: hdr/what only apply to invalid messages", lineno);
	if (strcmp(e->hdr, "-") != 0 && se_hdr_lookup(e->hdr, strlen(e->hdr)) == SE_HDR_OTHER)
		fail_msg("torture.tsv:%u: '%s' is not a known header", lineno, e->hdr);
}

static int manifest_load(void **state)
{
	struct manifest *mf = calloc(1, sizeof(*mf));
	size_t len;
	assert_non_null(mf);
	mf->text = guard_read_data("torture.tsv", &len);
	unsigned lineno = 0;
	for (char *line = mf->text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		if (*line != '#' && *line != '\0')
			manifest_line(mf, line, lineno);
		line = nl ? nl + 1 : NULL;
	}
	*state = mf;
	return 0;
}

static int manifest_free(void **state)
{
	struct manifest *mf = *state;
	free(mf->text);
	free(mf);
	guard_release();
	return 0;
}

static const struct entry *manifest_find(const struct manifest *mf, const char *path)
{
	for (size_t i = 0; i < mf->n; i++)
		if (strcmp(mf->e[i].path, path) == 0)
			return &mf->e[i];
	return NULL;
}

/* ---- parsing helpers ------------------------------------------------- */

struct parsed {
	char *file; /* malloc'd copy of the message */
	size_t len;
	const char *buf; /* the copy placed before the guard page */
	struct se_msg *m;
	struct se_perr err;
	int rc;
};

static void parse_file(const char *path, struct parsed *p)
{
	static const struct se_limits lim = SE_LIMITS_DEFAULT;
	memset(p, 0, sizeof(*p));
	p->file = guard_read_data(path, &p->len);
	p->buf = guard_place(p->file, p->len);
	void *mem = malloc(se_msg_size(&lim));
	assert_non_null(mem);
	p->m = se_msg_init(mem, &lim);
	p->rc = se_msg_parse(p->m, p->buf, p->len, SE_DGRAM, &lim, &p->err);
}

static void parsed_free(struct parsed *p)
{
	free(p->file);
	free(p->m);
}

/* The answer a refused request deserves (RFC 3261 §21.5.6 for 505). */
static unsigned expected_status(const struct entry *e)
{
	return strcmp(e->path, "rfc4475/badvers.dat") == 0 ? 505 : 400;
}

static const char *hdr_label(uint16_t id)
{
	return id == SE_HDR_OTHER ? "-" : se_hdr_name(id);
}

/* Why p does not meet e, in *why; NULL when it does. */
static const char *verdict(const struct entry *e, const struct parsed *p, char *why, size_t n)
{
	bool want_ok = e->expect == EX_VALID || e->expect == EX_SEMANTIC;
	if (want_ok) {
		if (p->rc > 0 && (size_t)p->rc <= p->len)
			return NULL;
		snprintf(why, n,
		         "want success, got rc=%d (%s) what=\"%s\" hdr=%s status=%u offset=%u",
		         p->rc, se_errname(p->rc), p->err.what ? p->err.what : "(null)",
		         hdr_label(p->err.hdr_id), p->err.status, p->err.offset);
		return why;
	}
	if (p->rc >= 0) {
		snprintf(why, n, "want failure \"%s\" (hdr %s), got success rc=%d", e->what, e->hdr,
		         p->rc);
		return why;
	}
	const char *what = p->err.what ? p->err.what : "";
	bool what_ok = strcmp(e->what, "-") == 0 || strncmp(what, e->what, strlen(e->what)) == 0;
	bool hdr_ok =
	    strcmp(e->hdr, "-") == 0 || p->err.hdr_id == se_hdr_lookup(e->hdr, strlen(e->hdr));
	bool status_ok = e->expect != EX_INVALID || p->err.status == expected_status(e);
	if (what_ok && hdr_ok && status_ok && p->err.code == p->rc)
		return NULL;
	snprintf(why, n,
	         "want \"%s\" (hdr %s%s), got rc=%d (%s) err.code=%d what=\"%s\" hdr=%s status=%u "
	         "offset=%u",
	         e->what, e->hdr, e->expect == EX_INVALID ? (status_ok ? "" : ", status") : "",
	         p->rc, se_errname(p->rc), p->err.code, what, hdr_label(p->err.hdr_id),
	         p->err.status, p->err.offset);
	return why;
}

/* ---- tests ----------------------------------------------------------- */

/* Every .dat under the two corpus directories is in the manifest, and the
 * manifest holds exactly the RFCs' messages: 49 of RFC 4475 section 3, 12
 * of RFC 5118 section 4. */
static void test_manifest_covers_corpus(void **state)
{
	const struct manifest *mf = *state;
	static const struct {
		const char *dir;
		size_t count;
	} dirs[] = {{"rfc4475", 49}, {"rfc5118", 12}};
	const char *root = getenv("SE_TEST_DATA");
	assert_non_null(root);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", root, dirs[d].dir);
		DIR *dir = opendir(path);
		if (!dir)
			fail_msg("cannot open %s", path);
		size_t files = 0;
		struct dirent *de;
		while ((de = readdir(dir))) {
			size_t l = strlen(de->d_name);
			if (l < 5 || strcmp(de->d_name + l - 4, ".dat") != 0)
				continue;
			char rel[512];
			snprintf(rel, sizeof(rel), "%s/%s", dirs[d].dir, de->d_name);
			if (!manifest_find(mf, rel))
				fail_msg("%s is not in torture.tsv", rel);
			files++;
		}
		closedir(dir);
		size_t listed = 0;
		size_t dl = strlen(dirs[d].dir);
		for (size_t i = 0; i < mf->n; i++)
			if (strncmp(mf->e[i].path, dirs[d].dir, dl) == 0 &&
			    mf->e[i].path[dl] == '/')
				listed++;
		assert_int_equal(files, dirs[d].count);
		assert_int_equal(listed, dirs[d].count);
	}
	assert_int_equal(mf->n, 61);
}

/* Each message meets its manifest line. All failures are reported before
 * the test fails, so one run shows the whole picture. */
static void test_parse_as_manifest_says(void **state)
{
	const struct manifest *mf = *state;
	unsigned failures = 0;
	for (size_t i = 0; i < mf->n; i++) {
		const struct entry *e = &mf->e[i];
		struct parsed p;
		char why[512];
		parse_file(e->path, &p);
		const char *bad = verdict(e, &p, why, sizeof(why));
		if (bad) {
			print_message("FAIL %s [%s]: %s\n", e->path, e->expect_text, bad);
			failures++;
		}
		parsed_free(&p);
	}
	if (failures)
		fail_msg("%u of %zu torture messages do not meet torture.tsv", failures, mf->n);
}

/* Field checks for valid messages, table-driven. */
enum fld {
	F_END,
	F_MSG_LEN,        /* n: bytes parsed, -1 = the whole file */
	F_STATUS,         /* n: a response with this code */
	F_REASON_LEN,     /* n */
	F_METHOD,         /* n: enum se_method */
	F_METHOD_NAME,    /* s */
	F_RURI_SCHEME,    /* n: enum se_uri_scheme */
	F_RURI_USER,      /* s */
	F_RURI_PASSWORD,  /* s */
	F_RURI_ESCAPED,   /* n: 0/1 SE_URI_F_ESCAPED */
	F_RURI_HOST,      /* s */
	F_RURI_HOST_TYPE, /* n: enum se_host_type */
	F_RURI_PORT,      /* n: -1 = no explicit port */
	F_CSEQ,           /* n */
	F_CSEQ_METHOD,    /* s */
	F_MAX_FWD,        /* n: -1 = absent */
	F_CALL_ID,        /* s */
	F_TO_TAG,         /* s: "" = none */
	F_FROM_TAG,       /* s: "" = none */
	F_FROM_DISPLAY,   /* s */
	F_VIAS,           /* n: hop count */
	F_VIA_HOST,       /* idx, s */
	F_VIA_HOST_TYPE,  /* idx, n */
	F_VIA_PORT,       /* idx, n: -1 = no explicit port */
	F_VIA_TRANSPORT,  /* idx, s */
	F_VIA_BRANCH,     /* idx, s: "" = none */
	F_VIA_RECEIVED,   /* idx, s */
	F_VIA_RPORT,      /* idx, n: 1 = ;rport without value */
	F_CLEN,           /* n: -1 = absent */
	F_BODY_LEN,       /* n */
	F_CONTACTS,       /* n */
	F_ROUTES,         /* n */
	F_RROUTES,        /* n */
};

static const char *const fld_name[] = {
    [F_END] = "end",
    [F_MSG_LEN] = "msg_len",
    [F_STATUS] = "status",
    [F_REASON_LEN] = "reason_len",
    [F_METHOD] = "method",
    [F_METHOD_NAME] = "method_name",
    [F_RURI_SCHEME] = "ruri_scheme",
    [F_RURI_USER] = "ruri_user",
    [F_RURI_PASSWORD] = "ruri_password",
    [F_RURI_ESCAPED] = "ruri_escaped",
    [F_RURI_HOST] = "ruri_host",
    [F_RURI_HOST_TYPE] = "ruri_host_type",
    [F_RURI_PORT] = "ruri_port",
    [F_CSEQ] = "cseq",
    [F_CSEQ_METHOD] = "cseq_method",
    [F_MAX_FWD] = "max_fwd",
    [F_CALL_ID] = "call_id",
    [F_TO_TAG] = "to_tag",
    [F_FROM_TAG] = "from_tag",
    [F_FROM_DISPLAY] = "from_display",
    [F_VIAS] = "vias",
    [F_VIA_HOST] = "via_host",
    [F_VIA_HOST_TYPE] = "via_host_type",
    [F_VIA_PORT] = "via_port",
    [F_VIA_TRANSPORT] = "via_transport",
    [F_VIA_BRANCH] = "via_branch",
    [F_VIA_RECEIVED] = "via_received",
    [F_VIA_RPORT] = "via_rport",
    [F_CLEN] = "clen",
    [F_BODY_LEN] = "body_len",
    [F_CONTACTS] = "contacts",
    [F_ROUTES] = "routes",
    [F_RROUTES] = "rroutes",
};

struct chk {
	enum fld f;
	int idx;
	const char *s;
	int64_t n;
};

#define S(f, str)                                                                                  \
	{                                                                                          \
		f, 0, str, 0                                                                       \
	}
#define N(f, num)                                                                                  \
	{                                                                                          \
		f, 0, NULL, num                                                                    \
	}
#define VS(i, f, str)                                                                              \
	{                                                                                          \
		f, i, str, 0                                                                       \
	}
#define VN(i, f, num)                                                                              \
	{                                                                                          \
		f, i, NULL, num                                                                    \
	}

struct fcase {
	const char *path;
	struct chk c[32]; /* ends at the first F_END (zero) entry */
};

/* clang-format off */
static const struct fcase fcases[] = {
	{"rfc4475/wsinv.dat", {
		N(F_MSG_LEN, -1), N(F_METHOD, SE_METHOD_INVITE), S(F_RURI_USER, "vivekg"),
		S(F_RURI_HOST, "chair-dnrc.example.com"), N(F_RURI_HOST_TYPE, SE_HOST_NAME),
		N(F_RURI_PORT, -1), N(F_CSEQ, 9), S(F_CSEQ_METHOD, "INVITE"), N(F_MAX_FWD, 68),
		S(F_CALL_ID, "wsinv.ndaksdj@192.0.2.1"), S(F_TO_TAG, "1918181833n"),
		S(F_FROM_TAG, "98asjd8"), S(F_FROM_DISPLAY, "\"J Rosenberg \\\\\\\"\""),
		N(F_VIAS, 3), VS(0, F_VIA_HOST, "192.0.2.2"), VS(0, F_VIA_TRANSPORT, "UDP"),
		VS(0, F_VIA_BRANCH, "390skdjuw"), VS(1, F_VIA_HOST, "spindle.example.com"),
		VS(1, F_VIA_TRANSPORT, "TCP"), VS(1, F_VIA_BRANCH, "z9hG4bK9ikj8"),
		VS(2, F_VIA_HOST, "192.168.255.111"), VS(2, F_VIA_BRANCH, "z9hG4bK30239"),
		N(F_CLEN, 150), N(F_BODY_LEN, 150), N(F_CONTACTS, 1), N(F_ROUTES, 1)}},
	{"rfc4475/intmeth.dat", {
		N(F_METHOD, SE_METHOD_OTHER),
		S(F_METHOD_NAME, "!interesting-Method0123456789_*+`.%indeed'~"),
		S(F_RURI_USER, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"),
		S(F_RURI_PASSWORD, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"),
		S(F_RURI_HOST, "example.com"), N(F_CSEQ, 139122385),
		S(F_CSEQ_METHOD, "!interesting-Method0123456789_*+`.%indeed'~"), N(F_MAX_FWD, 255),
		S(F_CALL_ID, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"),
		S(F_FROM_TAG, "_token~1'+`*%!-."), VS(0, F_VIA_TRANSPORT, "TCP"),
		VS(0, F_VIA_BRANCH, "z9hG4bK-.!%66*_+`'~"), N(F_CLEN, 0), N(F_MSG_LEN, -1)}},
	{"rfc4475/esc01.dat", {
		N(F_METHOD, SE_METHOD_INVITE), S(F_RURI_USER, "sips%3Auser%40example.com"),
		N(F_RURI_ESCAPED, 1), S(F_RURI_HOST, "example.net"), N(F_MAX_FWD, 87),
		S(F_CALL_ID, "esc01.239409asdfakjkn23onasd0-3234"), N(F_CSEQ, 234234),
		S(F_FROM_TAG, "938"), S(F_TO_TAG, ""), N(F_CONTACTS, 1), N(F_CLEN, 150),
		N(F_BODY_LEN, 150), VS(0, F_VIA_HOST, "host5.example.net")}},
	{"rfc4475/escnull.dat", {
		N(F_METHOD, SE_METHOD_REGISTER), N(F_CSEQ, 14398234), S(F_FROM_TAG, "839923423"),
		S(F_CALL_ID, "escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd"), N(F_CONTACTS, 2),
		N(F_CLEN, 0), N(F_MSG_LEN, -1)}},
	{"rfc4475/esc02.dat", {
		N(F_METHOD, SE_METHOD_OTHER), S(F_METHOD_NAME, "RE%47IST%45R"), N(F_CSEQ, 29344),
		S(F_CSEQ_METHOD, "RE%47IST%45R"), S(F_FROM_DISPLAY, "\"%Z%45\""),
		S(F_FROM_TAG, "f232jadfj23"), N(F_CONTACTS, 2),
		VS(0, F_VIA_BRANCH, "z9hG4bK209%fzsnel234")}},
	{"rfc4475/lwsdisp.dat", {
		N(F_METHOD, SE_METHOD_OPTIONS), S(F_FROM_DISPLAY, "caller"), S(F_FROM_TAG, "323"),
		N(F_CSEQ, 60), N(F_CLEN, 0)}},
	{"rfc4475/longreq.dat", {
		N(F_VIAS, 34), VS(0, F_VIA_HOST, "sip33.example.com"),
		VS(33, F_VIA_HOST, "host.example.com"), VS(33, F_VIA_RECEIVED, "192.0.2.5"),
		N(F_CSEQ, 3882340), N(F_MAX_FWD, 70), S(F_TO_TAG, ""), N(F_CONTACTS, 1),
		N(F_CLEN, 150), N(F_MSG_LEN, -1)}},
	{"rfc4475/dblreq.dat", {
		N(F_METHOD, SE_METHOD_REGISTER), N(F_MSG_LEN, 300), N(F_CLEN, 0), N(F_BODY_LEN, 0),
		N(F_CSEQ, 8), S(F_CALL_ID, "dblreq.0ha0isndaksdj99sdfafnl3lk233412"),
		N(F_CONTACTS, 1)}},
	{"rfc4475/semiuri.dat", {
		N(F_METHOD, SE_METHOD_OPTIONS), S(F_RURI_USER, "user;par=u%40example.net"),
		N(F_RURI_ESCAPED, 1), S(F_RURI_HOST, "example.com"), N(F_MAX_FWD, 3), N(F_CSEQ, 8)}},
	{"rfc4475/transports.dat", {
		N(F_VIAS, 5), VS(0, F_VIA_TRANSPORT, "UDP"), VS(1, F_VIA_TRANSPORT, "SCTP"),
		VS(2, F_VIA_TRANSPORT, "TLS"), VS(3, F_VIA_TRANSPORT, "UNKNOWN"),
		VS(4, F_VIA_TRANSPORT, "TCP"), VS(4, F_VIA_HOST, "t5.example.com"),
		S(F_CALL_ID, "transports.kijh4akdnaqjkwendsasfdj")}},
	{"rfc4475/mpart01.dat", {
		N(F_METHOD, SE_METHOD_MESSAGE), N(F_CLEN, 553), N(F_BODY_LEN, 553), N(F_MSG_LEN, -1),
		VS(0, F_VIA_HOST, "127.0.0.1"), VN(0, F_VIA_HOST_TYPE, SE_HOST_IPV4),
		VN(0, F_VIA_PORT, 5070), VN(0, F_VIA_RPORT, 1), N(F_ROUTES, 1), N(F_CONTACTS, 1),
		S(F_CALL_ID, "3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..")}},
	{"rfc4475/unreason.dat", {
		N(F_STATUS, 200), N(F_REASON_LEN, 74), N(F_CSEQ, 35), S(F_CSEQ_METHOD, "INVITE"),
		S(F_TO_TAG, "2229"), N(F_CLEN, 154), N(F_BODY_LEN, 154), N(F_MSG_LEN, -1)}},
	{"rfc4475/noreason.dat", {
		N(F_STATUS, 100), N(F_REASON_LEN, 0), S(F_TO_TAG, "902jndnke3"), N(F_CLEN, 0)}},
	{"rfc4475/badbranch.dat", {VS(0, F_VIA_BRANCH, "z9hG4bK")}},
	{"rfc4475/unkscm.dat", {N(F_RURI_SCHEME, SE_URI_OTHER), N(F_MAX_FWD, 3)}},
	{"rfc4475/novelsc.dat", {N(F_RURI_SCHEME, SE_URI_OTHER)}},
	{"rfc4475/bcast.dat", {
		N(F_STATUS, 200), N(F_VIAS, 2), VS(1, F_VIA_HOST, "255.255.255.255"),
		VN(1, F_VIA_HOST_TYPE, SE_HOST_IPV4)}},
	{"rfc4475/zeromf.dat", {N(F_MAX_FWD, 0), N(F_METHOD, SE_METHOD_OPTIONS)}},
	{"rfc4475/regaut01.dat", {N(F_CLEN, 0), N(F_CSEQ, 9338)}},
	{"rfc4475/inv2543.dat", {
		N(F_CLEN, -1), N(F_BODY_LEN, 105), N(F_MSG_LEN, -1), N(F_MAX_FWD, -1),
		S(F_FROM_TAG, ""), VS(0, F_VIA_BRANCH, ""), VS(0, F_VIA_HOST, "iftgw.example.com"),
		N(F_RROUTES, 1), N(F_CSEQ, 56)}},
	{"rfc5118/ipv6-good.dat", {
		S(F_RURI_HOST, "[2001:db8::10]"), N(F_RURI_HOST_TYPE, SE_HOST_IPV6),
		N(F_RURI_PORT, -1), VS(0, F_VIA_HOST, "[2001:db8::9:1]"),
		VN(0, F_VIA_HOST_TYPE, SE_HOST_IPV6), VN(0, F_VIA_PORT, -1), N(F_CONTACTS, 1),
		N(F_CSEQ, 98176)}},
	{"rfc5118/port-ambiguous.dat", {
		S(F_RURI_HOST, "[2001:db8::10:5070]"), N(F_RURI_HOST_TYPE, SE_HOST_IPV6),
		N(F_RURI_PORT, -1)}},
	{"rfc5118/port-unambiguous.dat", {
		S(F_RURI_HOST, "[2001:db8::10]"), N(F_RURI_HOST_TYPE, SE_HOST_IPV6),
		N(F_RURI_PORT, 5070)}},
	{"rfc5118/via-received-param-with-delim.dat", {
		N(F_METHOD, SE_METHOD_BYE), VS(0, F_VIA_HOST, "[2001:db8::9:1]"),
		VS(0, F_VIA_RECEIVED, "[2001:db8::9:255]"), VS(0, F_VIA_BRANCH, "z9hG4bKas3-111"),
		S(F_TO_TAG, "bd76ya")}},
	{"rfc5118/via-received-param-no-delim.dat", {
		VS(0, F_VIA_RECEIVED, "2001:db8::9:255"), VS(0, F_VIA_BRANCH, "z9hG4bKas3")}},
	{"rfc5118/ipv6-in-sdp.dat", {
		S(F_RURI_USER, "user"), S(F_RURI_HOST, "[2001:db8::10]"),
		VS(0, F_VIA_HOST, "[2001:db8::20]"), N(F_CLEN, 251), N(F_BODY_LEN, 251),
		N(F_MSG_LEN, -1)}},
	{"rfc5118/mult-ip-in-header.dat", {
		N(F_VIAS, 3), VS(0, F_VIA_HOST, "[2001:db8::9:1]"), VN(0, F_VIA_PORT, 6050),
		VN(0, F_VIA_HOST_TYPE, SE_HOST_IPV6), VS(1, F_VIA_HOST, "192.0.2.1"),
		VN(1, F_VIA_HOST_TYPE, SE_HOST_IPV4), VN(1, F_VIA_PORT, -1),
		VS(2, F_VIA_HOST, "[2001:db8::9:255]"), VS(2, F_VIA_TRANSPORT, "TCP"),
		VS(2, F_VIA_RECEIVED, "192.0.2.200"), VS(2, F_VIA_BRANCH, "z9hG4bK451jj"),
		S(F_TO_TAG, "9817--94")}},
	{"rfc5118/mult-ip-in-sdp.dat", {N(F_CLEN, 189), N(F_BODY_LEN, 189), N(F_MSG_LEN, -1)}},
	{"rfc5118/ipv4-mapped-ipv6.dat", {
		N(F_VIAS, 2), VS(0, F_VIA_HOST, "[::ffff:192.0.2.10]"),
		VN(0, F_VIA_HOST_TYPE, SE_HOST_IPV6), VN(0, F_VIA_PORT, 19823),
		VS(1, F_VIA_HOST, "[::ffff:192.0.2.2]"), VN(1, F_VIA_PORT, -1), N(F_CLEN, 245),
		N(F_MSG_LEN, -1)}},
	{"rfc5118/ipv6-bug-abnf-3-colons.dat", {
		S(F_RURI_HOST, "[2001:db8:::192.0.2.1]"), N(F_RURI_HOST_TYPE, SE_HOST_IPV6),
		VS(0, F_VIA_HOST, "lab1.east.example.com")}},
	{"rfc5118/ipv6-correct-abnf-2-colons.dat", {
		S(F_RURI_HOST, "[2001:db8::192.0.2.1]"), N(F_RURI_HOST_TYPE, SE_HOST_IPV6)}},
};
/* clang-format on */

/* Compare a range with s; on mismatch, write both into why. */
static bool range_is(const char *b, struct se_range r, const char *s, char *why, size_t n)
{
	if (se_range_eq(b, r, s))
		return true;
	snprintf(why, n, "want \"%s\", got \"%.*s\" (%u bytes)", s,
	         (int)(r.len > 200 ? 200 : r.len), b + r.off, r.len);
	return false;
}

static bool num_is(int64_t got, int64_t want, char *why, size_t n)
{
	if (got == want)
		return true;
	snprintf(why, n, "want %lld, got %lld", (long long)want, (long long)got);
	return false;
}

static bool port_is(bool has, uint16_t port, int64_t want, char *why, size_t n)
{
	return num_is(has ? (int64_t)port : -1, want, why, n);
}

/* Check one field; false with *why set on mismatch. */
static bool check_field(const struct parsed *p, const struct chk *c, char *why, size_t n)
{
	const struct se_msg *m = p->m;
	const char *b = p->buf;
	if (c->f >= F_VIA_HOST && c->f <= F_VIA_RPORT && c->idx >= m->via_count) {
		snprintf(why, n, "no Via hop %d (%u hops)", c->idx, m->via_count);
		return false;
	}
	const struct se_via *v =
	    &se_msg_vias(m)[c->f >= F_VIA_HOST && c->f <= F_VIA_RPORT ? c->idx : 0];
	switch (c->f) {
	case F_END:
		return true;
	case F_MSG_LEN:
		return num_is(p->rc, c->n < 0 ? (int64_t)p->len : c->n, why, n) &&
		       num_is(m->msg_len, c->n < 0 ? (int64_t)p->len : c->n, why, n);
	case F_STATUS:
		return num_is(m->is_request, 0, why, n) && num_is(m->status, c->n, why, n);
	case F_REASON_LEN:
		return num_is(m->reason_phrase.len, c->n, why, n);
	case F_METHOD:
		return num_is(m->is_request, 1, why, n) && num_is(m->method, c->n, why, n);
	case F_METHOD_NAME:
		return range_is(b, m->method_name, c->s, why, n);
	case F_RURI_SCHEME:
		return num_is(m->ruri.scheme, c->n, why, n);
	case F_RURI_USER:
		return range_is(b, m->ruri.user, c->s, why, n);
	case F_RURI_PASSWORD:
		return num_is(!!(m->ruri.flags & SE_URI_F_PASSWORD), 1, why, n) &&
		       range_is(b, m->ruri.password, c->s, why, n);
	case F_RURI_ESCAPED:
		return num_is(!!(m->ruri.flags & SE_URI_F_ESCAPED), c->n, why, n);
	case F_RURI_HOST:
		return range_is(b, m->ruri.host, c->s, why, n);
	case F_RURI_HOST_TYPE:
		return num_is(m->ruri.host_type, c->n, why, n);
	case F_RURI_PORT:
		return port_is(m->ruri.flags & SE_URI_F_PORT, m->ruri.port, c->n, why, n);
	case F_CSEQ:
		return num_is(m->cseq, c->n, why, n);
	case F_CSEQ_METHOD:
		return range_is(b, m->cseq_method_name, c->s, why, n);
	case F_MAX_FWD:
		return num_is(m->max_forwards, c->n, why, n);
	case F_CALL_ID:
		return range_is(b, m->call_id, c->s, why, n);
	case F_TO_TAG:
		return range_is(b, m->to.tag, c->s, why, n);
	case F_FROM_TAG:
		return range_is(b, m->from.tag, c->s, why, n);
	case F_FROM_DISPLAY:
		return range_is(b, m->from.display, c->s, why, n);
	case F_VIAS:
		return num_is(m->via_count, c->n, why, n);
	case F_VIA_HOST:
		return range_is(b, v->host, c->s, why, n);
	case F_VIA_HOST_TYPE:
		return num_is(v->host_type, c->n, why, n);
	case F_VIA_PORT:
		return port_is(v->flags & SE_VIA_PORT, v->port, c->n, why, n);
	case F_VIA_TRANSPORT:
		return range_is(b, v->transport, c->s, why, n);
	case F_VIA_BRANCH:
		return range_is(b, v->branch, c->s, why, n);
	case F_VIA_RECEIVED:
		return range_is(b, v->received, c->s, why, n);
	case F_VIA_RPORT:
		return num_is((v->flags & (SE_VIA_RPORT | SE_VIA_RPORT_VALUE)) == SE_VIA_RPORT,
		              c->n, why, n);
	case F_CLEN:
		return num_is(m->content_length, c->n, why, n);
	case F_BODY_LEN:
		return num_is(m->body.len, c->n, why, n);
	case F_CONTACTS:
		return num_is(m->list_count[SE_LIST_CONTACT], c->n, why, n);
	case F_ROUTES:
		return num_is(m->list_count[SE_LIST_ROUTE], c->n, why, n);
	case F_RROUTES:
		return num_is(m->list_count[SE_LIST_RECORD_ROUTE], c->n, why, n);
	}
	snprintf(why, n, "unknown field %d", (int)c->f);
	return false;
}

static void test_fields(void **state)
{
	const struct manifest *mf = *state;
	unsigned failures = 0;
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		const struct fcase *fc = &fcases[i];
		const struct entry *e = manifest_find(mf, fc->path);
		if (!e || (e->expect != EX_VALID && e->expect != EX_SEMANTIC))
			fail_msg("%s: field checks need a valid or semantic message", fc->path);
		struct parsed p;
		parse_file(fc->path, &p);
		if (p.rc <= 0) {
			print_message("FAIL %s: not parsed (rc=%d, \"%s\"), fields not checked\n",
			              fc->path, p.rc, p.err.what ? p.err.what : "");
			failures++;
			parsed_free(&p);
			continue;
		}
		for (const struct chk *c = fc->c; c->f != F_END; c++) {
			char why[512];
			if (!check_field(&p, c, why, sizeof(why))) {
				print_message("FAIL %s: %s (hop %d): %s\n", fc->path,
				              fld_name[c->f], c->idx, why);
				failures++;
			}
		}
		parsed_free(&p);
	}
	if (failures)
		fail_msg("%u field checks failed", failures);
}

/* A stream delivers a message in two reads, split at every offset: the
 * framer asks for more after the first and frames exactly the message
 * after the second. Each read is placed before the guard page on its own,
 * so the framer may not peek past what has arrived. */
static void test_frame_two_chunks(void **state)
{
	(void)state;
	static const char *const files[] = {
	    "rfc4475/wsinv.dat",    /* "Content-Length   :" with LWS before the colon */
	    "rfc4475/esc01.dat",    /* folded Contact before Content-Length */
	    "rfc4475/lwsdisp.dat",  /* compact "l:" */
	    "rfc4475/longreq.dat",  /* 3.5 KB header block */
	    "rfc4475/mpart01.dat",  /* binary body */
	    "rfc4475/unreason.dat", /* a response */
	    "rfc5118/ipv6-in-sdp.dat",
	};
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t n;
		char *msg = guard_read_data(files[f], &n);
		for (size_t k = 1; k <= n; k++) {
			struct se_framer fr = {0};
			struct se_frame out = {0};
			struct se_perr err = {0};
			int rc = se_frame_next(&fr, guard_place(msg, k), k, 65535, &out, &err);
			if (k < n) {
				if (rc != SE_EAGAIN)
					fail_msg("%s: first %zu of %zu bytes: rc=%d (%s) \"%s\"",
					         files[f], k, n, rc, se_errname(rc),
					         err.what ? err.what : "");
				rc = se_frame_next(&fr, guard_place(msg, n), n, 65535, &out, &err);
			}
			if (rc != 0 || out.kind != SE_FRAME_MSG || out.len != n)
				fail_msg(
				    "%s: split at %zu: rc=%d (%s) kind=%d len=%u, want a %zu-byte "
				    "message",
				    files[f], k, rc, se_errname(rc), (int)out.kind, out.len, n);
		}
		free(msg);
	}
}

/* Every prefix of every message, parsed as a datagram and framed as a
 * stream, ends cleanly (the guard page catches over-reads) and never
 * claims bytes it was not given. */
static void test_every_prefix(void **state)
{
	static const struct se_limits lim = SE_LIMITS_DEFAULT;
	const struct manifest *mf = *state;
	void *mem = malloc(se_msg_size(&lim));
	assert_non_null(mem);
	for (size_t i = 0; i < mf->n; i++) {
		size_t n;
		char *msg = guard_read_data(mf->e[i].path, &n);
		for (size_t k = 0; k <= n; k++) {
			const char *buf = guard_place(msg, k);
			struct se_perr err = {0};
			struct se_msg *m = se_msg_init(mem, &lim);
			int rc = se_msg_parse(m, buf, k, SE_DGRAM, &lim, &err);
			if (rc > (int)k || (rc < 0 && (err.code != rc || !err.what)))
				fail_msg("%s: prefix %zu: parse rc=%d code=%d", mf->e[i].path, k,
				         rc, err.code);
			struct se_framer fr = {0};
			struct se_frame out = {0};
			rc = se_frame_next(&fr, buf, k, 65535, &out, &err);
			if (rc == 0 && out.len > k)
				fail_msg("%s: prefix %zu: framed %u bytes", mf->e[i].path, k,
				         out.len);
		}
		free(msg);
	}
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_manifest_covers_corpus),
	    cmocka_unit_test(test_parse_as_manifest_says),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_frame_two_chunks),
	    cmocka_unit_test(test_every_prefix),
	};
	return cmocka_run_group_tests(tests, manifest_load, manifest_free);
}
