/*
 * policy_explain: for `sipedge --explain` and `sipedgectl route --explain`,
 * why each rule did or did not match a request.
 *
 * One line per rule tried, in order, until the first that matches:
 *
 *   rule 'NAME' (FILE:LINE): no: REASON
 *   rule 'NAME' (FILE:LINE): matches: ACTION
 *   no rule matched                          (when none does)
 *
 * REASON is the first condition of the rule that failed, written as
 * `FIELD "VALUE" VERB OBJECT (line N)`, e.g.
 *   ruri-user "123" does not start with "49" (line 14)
 * ACTION is what the rule does, e.g. `route to pool 'x'`, `prefix '4930'
 * of table 'intl' -> pool 'berlin'`, `reply 403 Forbidden`.
 * docs/internals/policy-tree.md lists every form; keep them stable, the
 * CLI shows the same text and operators grep it.
 *
 * The verdicts come from the evaluator itself (policy_ctx_cond on each
 * test), the text from here, so the hit returned is always
 * policy_lookup's.
 */
#include "policy_tree.h"

#include <sipedge/build.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LINE_MAX_TEXT 2048 /* one explain line; longer is cut with "..." */
#define VALUE_MAX 64       /* characters of one quoted value */
#define SET_SHOWN 4        /* values of a set printed before "and N more" */

struct sbuf {
	char b[LINE_MAX_TEXT];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	if (s->len >= sizeof(s->b) - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->b + s->len, sizeof(s->b) - s->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	s->len += (size_t)n;
	if (s->len >= sizeof(s->b) - 1) {
		s->len = sizeof(s->b) - 1;
		memcpy(s->b + s->len - 3, "...", 3);
	}
}

/* Keep only the text from `from` on, moved to `mark`. */
static void sb_keep(struct sbuf *s, size_t mark, size_t from)
{
	memmove(s->b + mark, s->b + from, s->len - from);
	s->len = mark + (s->len - from);
}

/* "value" with ", \ and non-printable bytes escaped, cut at VALUE_MAX. */
static void sb_quote(struct sbuf *s, const char *v, uint32_t len)
{
	sb_printf(s, "\"");
	for (uint32_t i = 0; i < len && i < VALUE_MAX; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '"' || c == '\\')
			sb_printf(s, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			sb_printf(s, "\\x%02x", c);
		else
			sb_printf(s, "%c", c);
	}
	sb_printf(s, len > VALUE_MAX ? "...\"" : "\"");
}

static const char *field_name(unsigned f)
{
	static const char *const names[PF__COUNT] = {
	    [PF_METHOD] = "method",       [PF_RURI_SCHEME] = "ruri-scheme",
	    [PF_RURI_USER] = "ruri-user", [PF_RURI_HOST] = "ruri-host",
	    [PF_FROM_USER] = "from-user", [PF_FROM_HOST] = "from-host",
	    [PF_TO_USER] = "to-user",     [PF_TO_HOST] = "to-host",
	    [PF_HEADER] = "header",       [PF_SOURCE] = "source",
	    [PF_TRANSPORT] = "transport", [PF_LISTENER] = "listener",
	};
	return f < PF__COUNT && names[f] ? names[f] : "?";
}

static uint32_t vlen(const struct policy_cond *c, uint32_t i)
{
	return c->lens ? c->lens[i] : (uint32_t)strlen(c->vals[i]);
}

/* `"a"`, `"a", "b"` or `"a", "b", "c", "d" and 96 more`. */
static void sb_values(struct sbuf *s, const struct policy_cond *c)
{
	for (uint32_t i = 0; i < c->n_vals && i < SET_SHOWN; i++) {
		if (i)
			sb_printf(s, ", ");
		sb_quote(s, c->vals[i], vlen(c, i));
	}
	if (c->n_vals > SET_SHOWN)
		sb_printf(s, " and %u more", c->n_vals - SET_SHOWN);
}

static void sb_cidrs(struct sbuf *s, const struct policy_cidrs *l)
{
	char buf[64];
	for (uint32_t i = 0; i < l->n && i < SET_SHOWN; i++)
		sb_printf(s, "%s%s", i ? ", " : "", policy_cidr_fmt(&l->v[i], buf, sizeof(buf)));
	if (l->n > SET_SHOWN)
		sb_printf(s, " and %u more", l->n - SET_SHOWN);
	if (l->name)
		sb_printf(s, " (list '%s')", l->name);
}

/* The verb and object of an equals / prefix / regex test on value v. */
static void sb_str_verdict(struct sbuf *s, const struct policy_cond *c, struct policy_str v,
			   bool ok)
{
	if (c->op == PO_REGEX) {
		sb_printf(s, ok ? "matches /%s/" : "does not match /%s/", c->n_vals ? c->vals[0] : "");
		return;
	}
	bool eq = c->op == PO_EQ;
	if (ok) {
		for (uint32_t i = 0; i < c->n_vals; i++)
			if (policy_val_fits(c, i, v)) {
				sb_printf(s, eq ? "is " : "starts with ");
				sb_quote(s, c->vals[i], vlen(c, i));
				return;
			}
	}
	if (c->n_vals == 1)
		sb_printf(s, eq ? "is not " : "does not start with ");
	else
		sb_printf(s, eq ? "is none of " : "starts with none of ");
	sb_values(s, c);
}

static void sb_source(struct sbuf *s, const struct policy_cond *c, const struct policy_req *rq,
		      bool ok)
{
	struct policy_addr a;
	if (!policy_addr_from_sa(&rq->src.sa, &a)) {
		sb_printf(s, "source is unknown");
		return;
	}
	char ip[64], buf[64];
	struct policy_cidr me = {.bits = 128};
	if (rq->src.sa.sa_family == AF_INET) {
		memset(me.addr + 10, 0xff, 2);
		memcpy(me.addr + 12, &rq->src.in.sin_addr, 4);
	} else {
		memcpy(me.addr, &rq->src.in6.sin6_addr, 16);
	}
	policy_cidr_fmt(&me, ip, sizeof(ip));
	*strrchr(ip, '/') = '\0';
	sb_printf(s, "source %s ", ip);
	const struct policy_cidrs *l = c->cidrs;
	for (uint32_t i = 0; ok && l && i < l->n; i++)
		if (policy_cidr_has(&l->v[i], a)) {
			sb_printf(s, "is in %s", policy_cidr_fmt(&l->v[i], buf, sizeof(buf)));
			return;
		}
	sb_printf(s, l && l->n == 1 ? "is not in " : "is in none of ");
	if (l)
		sb_cidrs(s, l);
}

static bool value_passes(const struct policy *p, const struct policy_cond *c, struct policy_str v)
{
	if (c->op == PO_REGEX)
		return policy_re_match(p, c, v);
	for (uint32_t i = 0; i < c->n_vals; i++)
		if (policy_val_fits(c, i, v))
			return true;
	return false;
}

/* The text of test c, which holds (ok) or not. */
static void sb_test(struct sbuf *s, const struct policy_ctx *cx, const struct policy_cond *c,
		    bool ok)
{
	if (c->field == PF_SOURCE) {
		sb_source(s, c, cx->rq, ok);
	} else if (c->field != PF_HEADER) {
		struct policy_str v = policy_req_field(cx->rq, c->field);
		sb_printf(s, "%s ", field_name(c->field));
		sb_quote(s, v.p, v.len);
		sb_printf(s, " ");
		sb_str_verdict(s, c, v, ok);
	} else {
		struct policy_str vals[POLICY_HDR_MAX];
		uint32_t n = policy_req_header(cx->rq, c->header, vals), shown = 0;
		sb_printf(s, "header %s ", c->header ? c->header : "?");
		if (!n || c->op == PO_PRESENT) {
			sb_printf(s, n ? "is present" : "is absent");
		} else {
			/* the value that passed, or the first one */
			while (ok && shown + 1 < n && !value_passes(cx->p, c, vals[shown]))
				shown++;
			sb_quote(s, vals[shown].p, vals[shown].len);
			if (n > 1)
				sb_printf(s, " (+%u more value%s)", n - 1, n > 2 ? "s" : "");
			sb_printf(s, " ");
			sb_str_verdict(s, c, vals[shown], ok);
		}
	}
	sb_printf(s, " (line %u)", c->line);
}

/*
 * Does c hold? Writes into s why: for a failing condition, the first
 * thing that failed; for a holding one, what held (needed below `not`).
 */
static bool explain_cond(struct sbuf *s, const struct policy_ctx *cx, const struct policy_cond *c)
{
	if (c->kind == PC_TEST) {
		bool ok = policy_ctx_cond(cx, c, NULL);
		sb_test(s, cx, c, ok);
		return ok;
	}
	if (c->kind == PC_NOT) {
		sb_printf(s, "not: ");
		return c->n_kids && !explain_cond(s, cx, c->kids[0]);
	}
	/* all: the first kid that fails; any: the kid that holds, else every
	 * kid's failure */
	size_t mark = s->len;
	bool any = c->kind == PC_ANY;
	if (any)
		sb_printf(s, "none of: ");
	for (uint32_t i = 0; i < c->n_kids; i++) {
		if (any && i)
			sb_printf(s, "; ");
		size_t at = s->len;
		if (explain_cond(s, cx, c->kids[i]) == any) {
			sb_keep(s, mark, at);
			return any;
		}
		if (!any)
			s->len = at;
	}
	if (!any)
		sb_printf(s, "all of %u conditions hold (line %u)", c->n_kids, c->line);
	else if (!c->n_kids)
		sb_printf(s, "no alternatives (line %u)", c->line);
	return !any;
}

static const char *pool_name(const struct policy *p, uint32_t pool)
{
	return pool < p->n_pools ? p->pools[pool].name : "?";
}

static void sb_action(struct sbuf *s, const struct policy *p, const struct policy_rule *r,
		      const struct policy_hit *hit)
{
	switch (r->action) {
	case PA_ROUTE_POOL:
		sb_printf(s, "route to pool '%s'", pool_name(p, r->pool));
		break;
	case PA_ROUTE_URI:
		sb_printf(s, "route to %s", r->dest < p->n_dests ? p->dests[r->dest].uri : "?");
		break;
	case PA_FORWARD_RURI:
		sb_printf(s, "forward to the request-uri");
		break;
	case PA_ROUTE_TABLE: {
		const struct policy_table *t = &p->tables[r->table];
		const struct policy_prefix *e = &t->entries[hit->prefix];
		sb_printf(s, "prefix '%.*s' of table '%s' -> pool '%s'", (int)e->len, e->digits,
			  t->name, pool_name(p, hit->pool));
		break;
	}
	case PA_REPLY:
		sb_printf(s, "reply %u %s", r->code, r->reason ? r->reason : se_reason_phrase(r->code));
		break;
	case PA_REDIRECT:
		sb_printf(s, "redirect %u %s to ", r->code,
			  r->reason ? r->reason : se_reason_phrase(r->code));
		for (uint32_t i = 0; i < r->n_contacts; i++)
			sb_printf(s, "%s%s", i ? ", " : "", r->contacts[i]);
		break;
	default:
		sb_printf(s, "action %u", r->action);
	}
}

struct policy_hit policy_explain(const struct policy *p, const struct policy_req *rq, FILE *f)
{
	struct policy_ctx cx = {p, rq, p->index};
	struct sbuf s;
	for (uint32_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		s.len = 0;
		sb_printf(&s, "rule '%s' (%s:%u): ", r->name, p->file ? p->file : "policy", r->line);
		size_t head = s.len;
		struct policy_hit hit;
		sb_printf(&s, "no: ");
		bool ok = !r->match || explain_cond(&s, &cx, r->match);
		if (ok && policy_ctx_rule(&cx, i, r->match, &hit)) {
			s.len = head;
			sb_printf(&s, "matches: ");
			sb_action(&s, p, r, &hit);
			fprintf(f, "%.*s\n", (int)s.len, s.b);
			return hit;
		}
		if (ok && r->table < p->n_tables) { /* only a table refuses a rule whose
						      * condition holds */
			const struct policy_table *t = &p->tables[r->table];
			struct policy_str num = policy_table_number(t, rq);
			s.len = head;
			sb_printf(&s, "no: table '%s' has no prefix of ", t->name);
			sb_quote(&s, num.p, num.len);
		}
		fprintf(f, "%.*s\n", (int)s.len, s.b);
	}
	fprintf(f, "no rule matched\n");
	return (struct policy_hit){POLICY_NONE, POLICY_NONE, POLICY_NONE};
}
