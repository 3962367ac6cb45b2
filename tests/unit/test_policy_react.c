/*
 * Tests of the event reactions loader (src/policy/policy_load_react.c):
 * `on:` of rules and pools into struct policy_reactions.
 *
 * Like test_policy.c: each row is YAML written to a temporary file and
 * either the expected reactions, as a canonical dump of every field, or
 * the exact messages expected ("F:line:col: message", F the file's path).
 * tests/data/policy/broken/on-*.yaml are checked by test_policy.c's
 * test_broken_files and by the integration tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "yaml_case.h"

#include <sipedge/error.h>
#include <sipedge/ierr.h>

#include "policy.h"
#include "policy_dump.h"

#define MAX_LINES 40

YAML_CASE_TMPDIR("test_policy_react")

static const char *write_file(const char *text)
{
	return yaml_case_write(tmpdir, "policy.yaml", text);
}

/* ---- canonical dump ------------------------------------------------------- */

static const char *const events[PE__COUNT] = {"provisional",    "success", "failure",
                                              "invite-timeout", "target",  "error"};
static const char *const actions[] = {"?",    "relay", "failover", "reply",
                                      "drop", "abort", "skip",     "continue"};

/* "EVENT ACTION conditions parameters side-effects @line:col", then one
 * line per header edit. Every field is shown when it is not zero. */
static void dump_react(struct out *o, const struct policy_react *r)
{
	static const char *const hops[] = {"?", "add", "remove", "replace"};
	assert_true(r->event < PE__COUNT);
	assert_true(r->action >= PR_RELAY && r->action <= PR_CONTINUE);
	out(o, "  %s %s", events[r->event], actions[r->action]);
	if (r->has_codes) {
		out(o, " codes ");
		dump_codes(o, &r->codes);
	} else {
		static const struct policy_codes none;
		assert_memory_equal(&r->codes, &none, sizeof(none));
	}
	if (r->ids) {
		out(o, " ids");
		for (int e = 0; e < SE_IERR__COUNT; e++)
			if (r->ids & (1u << e))
				out(o, " %s", se_ierr_info((enum se_ierr)e)->id);
		assert_int_equal(r->ids >> SE_IERR__COUNT, 0);
	}
	if (r->ips && r->ips->name) {
		out(o, " ip list %s", r->ips->name);
	} else if (r->ips) {
		out(o, " ip");
		for (uint32_t i = 0; i < r->ips->n; i++)
			dump_cidr(o, &r->ips->v[i]);
	}
	if (r->port)
		out(o, " port %u", r->port);
	if (r->transport)
		out(o, " transport %s", config_transport_name(r->transport));
	if (r->code)
		out(o, " code %u", r->code);
	if (r->reason)
		out(o, " reason '%s'", r->reason);
	if (r->bl_seconds)
		out(o, " blacklist %u", r->bl_seconds);
	if (r->bl_code)
		out(o, " bl-code %u", r->bl_code);
	if (r->bl_reason)
		out(o, " bl-reason '%s'", r->bl_reason);
	if (r->log)
		out(o, " log");
	out(o, " @%u:%u\n", r->line, r->col);
	assert_int_equal(r->hdrs != NULL, r->n_hdrs != 0);
	for (uint32_t i = 0; i < r->n_hdrs; i++)
		out(o, "    %s %s%s%s\n", hops[r->hdrs[i].op], r->hdrs[i].name,
		    r->hdrs[i].value ? ": " : "", r->hdrs[i].value ? r->hdrs[i].value : "");
}

/* pool_bind fills key and state: the loader leaves them alone. */
static void dump_reactions(struct out *o, const char *kind, const char *name,
                           const struct policy_reactions *on)
{
	assert_true(on->key == 0);
	assert_int_equal(on->state, POLICY_NONE);
	assert_int_equal(on->v != NULL, on->n != 0);
	if (!on->n)
		return;
	out(o, "%s %s\n", kind, name);
	for (uint32_t i = 0; i < on->n; i++)
		dump_react(o, &on->v[i]);
}

static void dump(const struct policy *p, char *buf, size_t size)
{
	struct out o = {buf, 0, size};
	buf[0] = '\0';
	for (uint32_t i = 0; i < p->n_pools; i++)
		dump_reactions(&o, "pool", p->pools[i].name, &p->pools[i].on);
	for (uint32_t i = 0; i < p->n_rules; i++)
		dump_reactions(&o, "rule", p->rules[i].name, &p->rules[i].on);
}

/* ---- policies that load ----------------------------------------------------- */

static const struct ok_row {
	const char *yaml;
	const char *dump;
} ok_rows[] = {
    /* the schema as specified: every event, action and side effect */
    {"lists:\n"
     "  internal: [10.1.0.0/16, 192.168.0.0/16]\n"
     "pools:\n"
     "  carriers:\n"
     "    destinations: [sip:192.0.2.10]\n"
     "    on:\n"
     "      error:\n"
     "        - ids: [no_dns]\n"
     "          reply: {code: 503, reason: No Route}\n"
     "rules:\n"
     "  - name: carriers\n"
     "    route: carriers\n"
     "    on:\n"
     "      provisional:\n"
     "        - codes: [183]\n"
     "          relay: {code: 180, reason: Ringing}\n"
     "          headers: {remove: [P-Early-Media]}\n"
     "        - codes: [181, 182]\n"
     "          drop: true\n"
     "      success:\n"
     "        - headers: {add: {X-Carrier: a}}\n"
     "      failure:\n"
     "        - codes: [404, 484, 6xx]\n"
     "          relay: true\n"
     "        - codes: [403]\n"
     "          failover: true\n"
     "          blacklist: {seconds: 60, code: 403, reason: Carrier Refused}\n"
     "        - codes: [486]\n"
     "          reply: {code: 600, reason: Busy Everywhere, headers: {Retry-After: \"60\"}}\n"
     "      invite-timeout:\n"
     "        - failover: true\n"
     "          blacklist: {seconds: 10}\n"
     "      target:\n"
     "        - ip: [10.0.0.0/8, internal]\n"
     "          port: 5060\n"
     "          transport: udp\n"
     "          abort: true\n"
     "        - ip: [198.51.100.0/24]\n"
     "          skip: true\n"
     "          blacklist: {seconds: 30}\n"
     "        - log: true\n"
     "      error:\n"
     "        - ids: [client_timeout, connection_error]\n"
     "          failover: true\n",
     "pool carriers\n"
     "  error reply ids no_dns code 503 reason 'No Route' @8:11\n"
     "rule carriers\n"
     "  provisional relay codes 183 code 180 reason 'Ringing' @15:11\n"
     "    remove P-Early-Media\n"
     "  provisional drop codes 181-182 @18:11\n"
     "  success relay @21:11\n"
     "    add X-Carrier: a\n"
     "  failure relay codes 404,484,600-699 @23:11\n"
     "  failure failover codes 403 blacklist 60 bl-code 403 bl-reason 'Carrier Refused' @25:11\n"
     "  failure reply codes 486 code 600 reason 'Busy Everywhere' @28:11\n"
     "    add Retry-After: 60\n"
     "  invite-timeout failover blacklist 10 @31:11\n"
     "  target abort ip 10.0.0.0/8 10.1.0.0/16 192.168.0.0/16 port 5060 transport udp code "
     "403 @34:11\n"
     "  target skip ip 198.51.100.0/24 blacklist 30 @38:11\n"
     "  target continue log @41:11\n"
     "  error failover ids client_timeout connection_error @43:11\n"},

    /* one mapping for a one-item list; implied actions (a provisional or a
     * 2xx is relayed, a target used, or skipped when blacklisted); scalar
     * forms; a list named alone; transports without case */
    {"lists: {internal: [10.0.0.0/8]}\n"
     "pools:\n"
     "  p: {destinations: [sip:10.0.0.1]}\n"
     "rules:\n"
     "  - name: r\n"
     "    route: p\n"
     "    on:\n"
     "      provisional: {codes: 1xx}\n"
     "      success: {log: true}\n"
     "      failure: {codes: [486], relay: {code: 480}}\n"
     "      invite-timeout: {reply: 503}\n"
     "      target:\n"
     "        - {ip: internal, blacklist: {seconds: 5}}\n"
     "        - {ip: \"2001:db8::/32\", transport: TLS, abort: {code: 503, reason: Gone}}\n"
     "        - {port: 5070, log: false}\n"
     "      error:\n"
     "        - ids: no_dns\n"
     "          reply: {code: 503}\n"
     "          headers: {add: {X-Why: dns}}\n",
     "rule r\n"
     "  provisional relay codes 101-199 @8:20\n"
     "  success relay log @9:16\n"
     "  failure relay codes 486 code 480 @10:16\n"
     "  invite-timeout reply code 503 @11:23\n"
     "  target skip ip list internal blacklist 5 @13:11\n"
     "  target abort ip 2001:db8::/32 transport tls code 503 reason 'Gone' @14:11\n"
     "  target continue port 5070 @15:11\n"
     "  error reply ids no_dns code 503 @17:11\n"
     "    add X-Why: dns\n"},

    /* a pool's reactions; rules that forward to the Request-URI or by a
     * prefix table; orders where an earlier reaction is narrower, or
     * covers only part of a later one, are reachable */
    {"pools:\n"
     "  p:\n"
     "    destinations: [sip:10.0.0.1]\n"
     "    on:\n"
     "      failure:\n"
     "        - {codes: [404], relay: true}\n"
     "        - {codes: [4xx], failover: true}\n"
     "        - {codes: [5xx], reply: {code: 503, reason: \"Try Later\"}}\n"
     "tables:\n"
     "  t: {prefixes: {\"49\": p}}\n"
     "rules:\n"
     "  - name: fwd\n"
     "    match: {method: OPTIONS}\n"
     "    forward: request-uri\n"
     "    on:\n"
     "      target:\n"
     "        - {ip: [10.0.0.0/8], port: 5060, skip: true}\n"
     "        - {ip: [10.0.0.0/8], continue: true}\n"
     "        - {ip: [10.0.0.0/8, 192.0.2.1], abort: true}\n"
     "  - name: pfx\n"
     "    match: {method: INVITE}\n"
     "    route-prefix: t\n"
     "    on:\n"
     "      error:\n"
     "        - {ids: [no_dns], failover: true}\n"
     "        - {ids: [no_dns, no_ipv6], reply: 480}\n"
     "        - {failover: true}\n"
     "  - name: plain\n"
     "    route: p\n",
     "pool p\n"
     "  failure relay codes 404 @6:11\n"
     "  failure failover codes 400-499 @7:11\n"
     "  failure reply codes 500-599 code 503 reason 'Try Later' @8:11\n"
     "rule fwd\n"
     "  target skip ip 10.0.0.0/8 port 5060 @17:11\n"
     "  target continue ip 10.0.0.0/8 @18:11\n"
     "  target abort ip 10.0.0.0/8 192.0.2.1/32 code 403 @19:11\n"
     "rule pfx\n"
     "  error failover ids no_dns @25:11\n"
     "  error reply ids no_ipv6 no_dns code 480 @26:11\n"
     "  error failover @27:11\n"},

    /* header edits of a relayed response, in the rule's order (removed,
     * replaced, added); a reason alone; a 2xx rewritten within its class */
    {"pools: {p: {destinations: [sip:10.0.0.1]}}\n"
     "rules:\n"
     "  - name: r\n"
     "    route: p\n"
     "    on:\n"
     "      provisional:\n"
     "        - codes: [180, 183]\n"
     "          relay: {reason: Ringing Loudly}\n"
     "          headers:\n"
     "            add: [{X-C: \"1\"}, {X-C: \"2\"}]\n"
     "            remove: [X-A, X-B]\n"
     "            replace: {User-Agent: edge}\n"
     "      success:\n"
     "        - {codes: [202], relay: {code: 200, reason: OK}}\n",
     "rule r\n"
     "  provisional relay codes 180,183 reason 'Ringing Loudly' @7:11\n"
     "    remove X-A\n"
     "    remove X-B\n"
     "    replace User-Agent: edge\n"
     "    add X-C: 1\n"
     "    add X-C: 2\n"
     "  success relay codes 202 code 200 reason 'OK' @14:11\n"},

    /* Timer C and internal errors have an answer of their own: reply may
     * keep its code (0), with a reason or headers, or as it is */
    {"pools: {p: {destinations: [sip:10.0.0.1]}}\n"
     "rules:\n"
     "  - name: r\n"
     "    route: p\n"
     "    on:\n"
     "      invite-timeout: {reply: {reason: No Answer}}\n"
     "      error:\n"
     "        - {ids: [connection_error], reply: true}\n"
     "        - reply: {headers: {X-Why: internal}}\n",
     "rule r\n"
     "  invite-timeout reply reason 'No Answer' @6:23\n"
     "  error reply ids connection_error @8:11\n"
     "  error reply @9:11\n"
     "    add X-Why: internal\n"},

    /* events in any order; the same event in a rule and its pool is no
     * conflict (the rule's come first at run time) */
    {"pools:\n"
     "  p:\n"
     "    destinations: [sip:10.0.0.1]\n"
     "    on: {target: {skip: true}}\n"
     "rules:\n"
     "  - name: r\n"
     "    route: p\n"
     "    on:\n"
     "      error: {failover: true}\n"
     "      target: {transport: udp, continue: true}\n",
     "pool p\n"
     "  target skip @4:18\n"
     "rule r\n"
     "  error failover @9:14\n"
     "  target continue transport udp @10:15\n"},
};

static void test_ok_rows(void **state)
{
	(void)state;
	static char text[1 << 14];
	for (size_t i = 0; i < sizeof(ok_rows) / sizeof(ok_rows[0]); i++) {
		const struct ok_row *r = &ok_rows[i];
		struct policy *p;
		struct ydoc_errs e = {0};
		const char *path = write_file(r->yaml);
		int rc = policy_load(path, NULL, &p, &e);
		const char *none[] = {NULL};
		yaml_case_check(&e, none, MAX_LINES, path, i);
		assert_int_equal(rc, 0);
		dump(p, text, sizeof(text));
		if (strcmp(text, r->dump) != 0)
			fail_msg("row %zu:\n got:\n%s want:\n%s", i, text, r->dump);
		policy_free(p);
		ydoc_errs_free(&e);
	}
}

/* ---- policies that do not ------------------------------------------------------- */

/* A pool and a rule routed to it, `on:` opening line 5 (events at column 7). */
#define HEAD                                                                                       \
	"pools: {p: {destinations: [sip:10.0.0.1]}}\n"                                             \
	"rules:\n"                                                                                 \
	"  - name: r\n"                                                                            \
	"    route: p\n"                                                                           \
	"    on:\n"

#define EVENTS "provisional, success, failure, invite-timeout, target or error"
#define IDS                                                                                        \
	"client_timeout, connection_error, tls_validation_failed, flow_failed, "                   \
	"no_dns_resolution, unsupported_uri_scheme, unsupported_transport, no_ipv4, no_ipv6, "     \
	"no_dns, destination_aborted, destination_blacklisted"
#define KEEPS "a relay keeps the class of the response (reply answers with another)"

static const struct err_row {
	const char *yaml;
	const char *lines[MAX_LINES];
} err_rows[] = {
    /* `on` itself */
    {HEAD "      failur: []\n", {"F:6:7: on: unknown event 'failur' (use " EVENTS ")"}},
    {"pools: {p: {destinations: [sip:10.0.0.1]}}\n"
     "rules:\n"
     "  - name: r\n"
     "    route: p\n"
     "    on: {}\n",
     {"F:5:9: on: give at least one event (" EVENTS ")"}},
    {HEAD, {"F:5:8: on: expected a mapping, got an empty value"}},
    {"pools: {p: {destinations: [sip:10.0.0.1]}}\n"
     "rules: [{name: r, route: p, on: [failure]}]\n",
     {"F:2:33: on: expected a mapping, got a sequence"}},
    /* an event's list */
    {HEAD "      failure: []\n", {"F:6:16: on.failure: give at least one reaction"}},
    {HEAD "      failure: relay\n",
     {"F:6:16: on.failure: expected a mapping or a sequence of them, got a scalar"}},
    {HEAD "      failure: [relay]\n", {"F:6:17: on.failure: expected a mapping, got a scalar"}},
    {HEAD "      failure: [{relais: true}]\n",
     {"F:6:17: on.failure: the reaction has no action: give relay, failover or reply",
      "F:6:18: unknown key 'relais'"}},
    /* keys an event does not take */
    {HEAD "      target: [{codes: [404], skip: true}]\n"
          "      provisional: [{blacklist: {seconds: 5}}]\n"
          "      success: [{failover: true}]\n"
          "      failure: [{ids: [no_dns], relay: true}]\n"
          "      error: [{relay: true}]\n"
          "      invite-timeout: [{ip: 10.0.0.1, failover: true}]\n",
     {"F:6:17: on.target.codes: does not apply to target (only in provisional, success or "
      "failure)",
      "F:7:22: on.provisional.blacklist: does not apply to provisional (only in failure, "
      "invite-timeout, target or error)",
      "F:8:18: on.success.failover: does not apply to success (only in failure, "
      "invite-timeout or error)",
      "F:9:18: on.failure.ids: does not apply to failure (only in error)",
      "F:10:15: on.error: the reaction has no action: give failover or reply",
      "F:10:16: on.error.relay: does not apply to error (only in provisional, success or "
      "failure)",
      "F:11:25: on.invite-timeout.ip: does not apply to invite-timeout (only in target)"}},
    {HEAD "      provisional: [{drop: true, abort: true}]\n"
          "      target: [{headers: {add: {X-A: b}}}]\n"
          "      success: [{blacklist: {seconds: 1}, drop: true}]\n",
     {"F:6:34: on.provisional.abort: does not apply to provisional (only in target)",
      "F:7:17: on.target.headers: does not apply to target (only in provisional, success, "
      "failure, invite-timeout or error)",
      "F:8:18: on.success.blacklist: does not apply to success (only in failure, "
      "invite-timeout, target or error)",
      "F:8:43: on.success.drop: does not apply to success (only in provisional)"}},
    /* one action */
    {HEAD "      provisional: [{relay: true, drop: true}]\n"
          "      target: [{skip: true, abort: true, continue: true}]\n",
     {"F:6:35: on.provisional: only one action per reaction: 'relay' and 'drop' both given",
      "F:7:29: on.target: only one action per reaction: 'skip' and 'abort' both given",
      "F:7:42: on.target: only one action per reaction: 'skip' and 'continue' both given"}},
    {HEAD "      failure: [{codes: [500], log: true}]\n"
          "      invite-timeout: [{blacklist: {seconds: 5}}]\n"
          "      error: [{ids: [no_dns]}]\n",
     {"F:6:17: on.failure: the reaction has no action: give relay, failover or reply",
      "F:7:24: on.invite-timeout: the reaction has no action: give failover or reply",
      "F:8:15: on.error: the reaction has no action: give failover or reply"}},
    {HEAD "      provisional: [{relay: false}]\n"
          "      success: [{relay: {}}]\n"
          "      failure: [{codes: [404], relay: [1]}]\n"
          "      target: [{skip: yes please}]\n"
          "      error: [{failover: false}]\n",
     {"F:6:29: on.provisional.relay: false is not an action: leave the key out",
      "F:7:25: on.success.relay: give code, reason or both (or write true)",
      "F:8:39: on.failure.relay: expected true or a mapping of code and reason, got a sequence",
      "F:9:23: on.target.skip: expected yes, no, true or false, got 'yes please'",
      "F:10:26: on.error.failover: false is not an action: leave the key out"}},
    /* codes of the event's responses */
    {HEAD "      provisional: [{codes: [100, 1xx]}]\n"
          "      success: [{codes: [2xx, 180]}]\n"
          "      failure: [{codes: 2xx, relay: true}]\n",
     {"F:6:30: on.provisional.codes: bad code '100': use a status code (101..199) or the "
      "class 1xx",
      "F:7:31: on.success.codes: bad code '180': use a status code (200..299) or the class 2xx",
      "F:8:25: on.failure.codes: bad code '2xx': use a status code (300..699) or a class "
      "(3xx..6xx)"}},
    /* relay keeps the class */
    {HEAD "      provisional: [{relay: {code: 200}}]\n"
          "      success: [{relay: {code: 180}}]\n"
          "      failure: [{relay: {code: 480}}]\n",
     {"F:6:36: on.provisional.relay.code: 200 is out of range (101..199)",
      "F:7:32: on.success.relay.code: 180 is out of range (200..299)",
      "F:8:32: on.failure.relay.code: give codes of the 4xx class: " KEEPS}},
    {HEAD "      failure: [{codes: [486, 503], relay: {code: 480}}]\n",
     {"F:6:51: on.failure.relay.code: 480 is not of the class of code 503: " KEEPS}},
    /* a relay code is not checked against codes that were refused */
    {HEAD "      failure: [{codes: [200], relay: {code: 480}}]\n",
     {"F:6:26: on.failure.codes: bad code '200': use a status code (300..699) or a class "
      "(3xx..6xx)"}},
    /* answers */
    {HEAD "      failure: [{reply: 200}]\n"
          "      error: [{reply: {code: 200}}]\n"
          "      target: [{abort: {code: 302}}]\n"
          "      invite-timeout: [{reply: {code: 503, reason: \"No\\x01Way\"}}]\n",
     {"F:6:25: on.failure.reply: 200 is out of range (300..699)",
      "F:7:30: on.error.reply.code: 200 is out of range (300..699)",
      "F:8:31: on.target.abort.code: 302 is out of range (400..699)",
      "F:9:52: on.invite-timeout.reply.reason: must be one line (no CR, LF or control "
      "characters)"}},
    /* a failure has no answer of its own: reply needs a code */
    {HEAD "      failure:\n"
          "        - {codes: [500], reply: {reason: X}}\n"
          "        - {codes: [501], reply: true}\n"
          "      error: [{reply: false}]\n",
     {"F:7:33: missing required key 'code'",
      "F:8:33: on.failure.reply: expected an integer, got 'true'",
      "F:9:23: on.error.reply: false is not an action: leave the key out"}},
    /* internal error ids */
    {HEAD "      error: [{ids: [no_dns, nodns, invite_timeout], failover: true}]\n",
     {"F:6:30: on.error.ids: unknown id 'nodns' (use " IDS ")",
      "F:6:37: on.error.ids: 'invite_timeout' is its own event: use on.invite-timeout"}},
    /* target conditions */
    {HEAD "      target:\n"
          "        - ip: [10.0.0.1/8, nolist, 192.0.2.0/24]\n"
          "          port: 70000\n"
          "          transport: sctp\n"
          "          skip: true\n"
          "        - {ip: nolist, port: 0, abort: true}\n",
     {"F:7:16: host bits set in 10.0.0.1/8: did you mean 10.0.0.0/8?",
      "F:7:28: undefined list 'nolist'", "F:8:17: on.target.port: 70000 is out of range (1..65535)",
      "F:9:22: on.target.transport: unknown value 'sctp' (use udp, tcp, tls, ws or wss)",
      "F:11:16: undefined list 'nolist'", "F:11:30: on.target.port: 0 is out of range (1..65535)"}},
    /* blacklist */
    {HEAD "      failure:\n"
          "        - {codes: [503], failover: true, blacklist: {seconds: 0}}\n"
          "        - {codes: [502], failover: true, blacklist: {code: 403}}\n"
          "        - {codes: [501], failover: true, blacklist: 60}\n"
          "        - {codes: [500], failover: true, blacklist: {seconds: 604801, code: 200, "
          "reason: \"a\\nb\"}}\n",
     {"F:7:63: on.failure.blacklist.seconds: 0 is out of range (1..604800)",
      "F:8:53: missing required key 'seconds'",
      "F:9:53: on.failure.blacklist: expected a mapping, got a scalar",
      "F:10:63: on.failure.blacklist.seconds: 604801 is out of range (1..604800)",
      "F:10:77: on.failure.blacklist.code: 200 is out of range (400..699)",
      "F:10:90: on.failure.blacklist.reason: must be one line (no CR, LF or control "
      "characters)"}},
    /* headers: only on what goes upstream */
    {HEAD "      failure: [{codes: [503], failover: true, headers: {add: {X-A: b}}}]\n"
          "      error: [{reply: 503, headers: {remove: [X-A]}}]\n"
          "      success: [{headers: {remove: Via}}]\n"
          "      provisional: [{drop: true, headers: {add: {X-A: b}}}]\n",
     {"F:6:48: on.failure.headers: does not apply to failover (nothing is sent upstream)",
      "F:7:38: on.error.headers.remove: does not apply to reply (only add: the answer is new)",
      "F:8:36: on.success.headers.remove: header 'Via' is managed by the proxy",
      "F:9:34: on.provisional.headers: does not apply to drop (nothing is sent upstream)"}},
    /* log */
    {HEAD "      success: [{log: maybe}]\n",
     {"F:6:23: on.success.log: expected yes, no, true or false, got 'maybe'"}},
    /* unreachable reactions */
    {HEAD "      failure:\n"
          "        - {failover: true}\n"
          "        - {codes: [404], relay: true}\n"
          "      provisional:\n"
          "        - {codes: [1xx], drop: true}\n"
          "        - {codes: [183]}\n"
          "      error:\n"
          "        - {ids: [no_dns, no_ipv4], failover: true}\n"
          "        - {ids: [no_ipv4], reply: 503}\n"
          "      target:\n"
          "        - {ip: [10.0.0.0/8], skip: true}\n"
          "        - {ip: [10.1.0.0/16, 10.2.0.0/16], port: 5060, abort: true}\n"
          "        - {ip: [10.1.0.0/16, 192.0.2.0/24], abort: true}\n"
          "        - {transport: tcp, continue: true}\n"
          "        - {port: 5060, transport: tcp, skip: true}\n",
     {"F:8:11: unreachable: the reaction at line 7 always applies first",
      "F:11:11: unreachable: the reaction at line 10 always applies first",
      "F:14:11: unreachable: the reaction at line 13 always applies first",
      "F:17:11: unreachable: the reaction at line 16 always applies first",
      "F:20:11: unreachable: the reaction at line 19 always applies first"}},
    /* a rule that answers routes nothing to react to */
    {"rules:\n"
     "  - name: a\n"
     "    reply: 403\n"
     "    on: {failure: [{failover: true}]}\n"
     "  - name: b\n"
     "    redirect: [sip:a@10.0.0.1]\n"
     "    on: {target: [{skip: true}]}\n",
     {"F:4:5: on: does not apply to reply (nothing is forwarded)",
      "F:7:5: on: does not apply to redirect (nothing is forwarded)"}},
    /* a pool's reactions are checked the same way */
    {"pools:\n"
     "  p:\n"
     "    destinations: [sip:10.0.0.1]\n"
     "    on: {target: [{codes: [404]}], oops: []}\n"
     "rules: [{name: r, route: p}]\n",
     {"F:4:20: on.target.codes: does not apply to target (only in provisional, success or "
      "failure)",
      "F:4:36: on: unknown event 'oops' (use " EVENTS ")"}},
};

static void test_err_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		const struct err_row *r = &err_rows[i];
		struct policy *p;
		struct ydoc_errs e = {0};
		const char *path = write_file(r->yaml);
		int rc = policy_load(path, NULL, &p, &e);
		yaml_case_check(&e, r->lines, MAX_LINES, path, i);
		assert_int_equal(rc, SE_ECONFIG);
		assert_null(p);
		ydoc_errs_free(&e);
	}
}

/* A list used only by a reaction is used: no warning; a list merged into
 * an inline one counts too. */
static void test_list_uses(void **state)
{
	(void)state;
	const char *path = write_file("lists: {a: [10.0.0.0/8], b: [192.0.2.0/24]}\n"
	                              "pools:\n"
	                              "  p:\n"
	                              "    destinations: [sip:10.0.0.1]\n"
	                              "    on: {target: [{ip: a, skip: true}]}\n"
	                              "rules:\n"
	                              "  - name: r\n"
	                              "    route: p\n"
	                              "    on: {target: [{ip: [b, 10.0.0.1], abort: true}]}\n");
	struct policy *p;
	struct ydoc_errs e = {0};
	assert_int_equal(policy_load(path, NULL, &p, &e), 0);
	assert_int_equal(e.n, 0);
	/* named alone: the list itself; merged: a copy of its prefixes */
	assert_ptr_equal(p->pools[0].on.v[0].ips, &p->lists[0]);
	const struct policy_cidrs *inl = p->rules[0].on.v[0].ips;
	assert_null(inl->name);
	assert_int_equal(inl->n, 2);
	assert_memory_equal(&inl->v[0], &p->lists[1].v[0], sizeof(inl->v[0]));
	assert_int_equal(inl->v[1].bits, 128);
	policy_free(p);
	ydoc_errs_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok_rows),
	    cmocka_unit_test(test_err_rows),
	    cmocka_unit_test(test_list_uses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
