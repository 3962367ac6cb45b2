/*
 * The outgoing-message builder (RFC 3261 §16.6 steps 2-8: Request-URI,
 * Max-Forwards, Record-Route, Route pop, Via push; RFC 3327 Path; §18.3 and
 * §20.14 Content-Length; §7.3.1 header line syntax).
 *
 * se_build() runs on every forwarded message, so it makes one pass over the
 * original and allocates nothing. The edits are first turned into a small
 * sorted plan: each edit gets a key 3*h + p naming header h and a place p
 * (0 before the line, 1 the line itself, 2 after it); SET_RURI, SET_BODY and
 * DROP_HDR_ID are not positional and are kept aside. The walk then copies
 * runs of untouched header lines with one memcpy each and stops only where
 * the plan, or a header id to drop, says so. All conflict checks happen in
 * the plan, before the first byte is written.
 */
#include <sipedge/build.h>
#include <sipedge/out.h>

#include "chars.h"

_Static_assert(SE_HDR__COUNT <= 64, "header-id masks are uint64_t");

enum { AT_BEFORE = 0, AT_LINE = 1, AT_AFTER = 2 };

/* One positional edit of the plan. */
struct slot {
	uint32_t key; /* 3 * header index + AT_* */
	uint16_t sub; /* AT_LINE: hop / element index (0 for whole-line edits);
		       * otherwise the edit's position, to keep edit order */
	uint16_t ei;  /* index into the caller's edits */
};

struct plan {
	struct slot s[SE_BUILD_MAX_EDITS];
	size_t ns;
	const struct se_edit *ruri, *body, *mf, *status;
	uint64_t drop_ids; /* DROP_HDR_ID */
	uint64_t skip_ids; /* header lines never copied as they are */
};

static bool is_whole_line(uint8_t op)
{
	return op == SE_EDIT_DROP_HDR || op == SE_EDIT_REPLACE_HDR ||
	       op == SE_EDIT_SET_MAX_FORWARDS;
}

/* A value we write into a header line must not end the line early: a CR,
 * LF or NUL from a policy string would inject headers. */
static bool value_ok(const struct se_edit *e)
{
	if (!e->len)
		return true;
	/* three vectorised scans cost less than one byte-by-byte loop over
	 * the Via and Record-Route values of every forwarded request */
	return e->data && !memchr(e->data, '\r', e->len) && !memchr(e->data, '\n', e->len) &&
	       !memchr(e->data, '\0', e->len);
}

static bool name_ok(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *p = name; *p; p++)
		if (!se_is((unsigned char)*p, SE_C_TOKEN))
			return false;
	/* Content-Length is ours to write, once. */
	return se_hdr_lookup(name, strlen(name)) != SE_HDR_CONTENT_LENGTH;
}

static enum se_list list_of(uint16_t id)
{
	switch (id) {
	case SE_HDR_ROUTE: return SE_LIST_ROUTE;
	case SE_HDR_RECORD_ROUTE: return SE_LIST_RECORD_ROUTE;
	case SE_HDR_PATH: return SE_LIST_PATH;
	case SE_HDR_CONTACT: return SE_LIST_CONTACT;
	}
	return SE_LIST__COUNT;
}

static int add_slot(struct plan *p, uint32_t key, uint16_t sub, size_t ei)
{
	/* The caller checked n <= SE_BUILD_MAX_EDITS. */
	p->s[p->ns++] = (struct slot){key, sub, (uint16_t)ei};
	return 0;
}

/* Translate one edit into the plan; SE_EINVAL for a bad index or value. */
static int plan_one(struct plan *p, const struct se_msg *m, const struct se_edit *e, size_t i)
{
	const struct se_hdr *hdrs = se_msg_hdrs(m);
	const struct se_via *vias = se_msg_vias(m);
	const struct se_elem *elems = se_msg_elems(m);
	uint32_t end = 3u * m->hdr_count;
	/* Record-Route / Path / Max-Forwards without an existing line go right
	 * after the last Via line (before the first header if there is none). */
	uint32_t after_via = m->via_count ? 3u * vias[m->via_count - 1].hdr + AT_AFTER : 0;
	uint16_t first, h;

	switch (e->op) {
	case SE_EDIT_PUSH_VIA:
		if (!value_ok(e))
			return SE_EINVAL;
		return add_slot(p, m->via_count ? 3u * vias[0].hdr + AT_BEFORE : 0, (uint16_t)i, i);
	case SE_EDIT_INSERT_RECORD_ROUTE:
	case SE_EDIT_INSERT_PATH:
		if (!value_ok(e))
			return SE_EINVAL;
		first = m->first[e->op == SE_EDIT_INSERT_PATH ? SE_HDR_PATH : SE_HDR_RECORD_ROUTE];
		return add_slot(p, first != SE_NONE ? 3u * first + AT_BEFORE : after_via,
				(uint16_t)i, i);
	case SE_EDIT_SET_MAX_FORWARDS:
		if (p->mf)
			return SE_EINVAL;
		p->mf = e;
		first = m->first[SE_HDR_MAX_FORWARDS];
		if (first != SE_NONE)
			return add_slot(p, 3u * first + AT_LINE, 0, i);
		return add_slot(p, after_via, (uint16_t)i, i);
	case SE_EDIT_DROP_VIA_HOP:
		if (e->idx >= m->via_count)
			return SE_EINVAL;
		h = vias[e->idx].hdr;
		if (h >= m->hdr_count || hdrs[h].id != SE_HDR_VIA)
			return SE_EINVAL;
		return add_slot(p, 3u * h + AT_LINE, e->idx, i);
	case SE_EDIT_DROP_ELEM:
		if (e->idx >= m->elem_count)
			return SE_EINVAL;
		h = elems[e->idx].hdr;
		if (h >= m->hdr_count || list_of(hdrs[h].id) == SE_LIST__COUNT)
			return SE_EINVAL;
		return add_slot(p, 3u * h + AT_LINE, e->idx, i);
	case SE_EDIT_REPLACE_HDR:
		if (!value_ok(e))
			return SE_EINVAL;
		/* fall through */
	case SE_EDIT_DROP_HDR:
		if (e->idx >= m->hdr_count)
			return SE_EINVAL;
		/* Content-Length is always rewritten; a new value for it would be
		 * silently lost, so refuse it (use SET_BODY). Dropping is a no-op. */
		if (e->op == SE_EDIT_REPLACE_HDR && hdrs[e->idx].id == SE_HDR_CONTENT_LENGTH)
			return SE_EINVAL;
		return add_slot(p, 3u * e->idx + AT_LINE, 0, i);
	case SE_EDIT_ADD_HDR:
		if (!name_ok(e->name) || !value_ok(e))
			return SE_EINVAL;
		return add_slot(p, end, (uint16_t)i, i);
	case SE_EDIT_DROP_HDR_ID:
		/* Repeating the same id is harmless; SE_HDR_OTHER would mean
		 * "every unknown header", which is never what a policy means. */
		if (e->idx == SE_HDR_OTHER || e->idx >= SE_HDR__COUNT)
			return SE_EINVAL;
		p->drop_ids |= UINT64_C(1) << e->idx;
		return 0;
	case SE_EDIT_SET_RURI:
		if (p->ruri || !m->is_request || !e->len || !value_ok(e))
			return SE_EINVAL;
		for (uint32_t k = 0; k < e->len; k++)
			if (e->data[k] == ' ' || e->data[k] == '\t')
				return SE_EINVAL;
		p->ruri = e;
		return 0;
	case SE_EDIT_SET_BODY:
		if (p->body || (e->len && !e->data))
			return SE_EINVAL;
		p->body = e;
		return 0;
	case SE_EDIT_SET_STATUS:
		if (p->status || m->is_request || e->num < 100 || e->num > 699 ||
		    (e->len && !value_ok(e)))
			return SE_EINVAL;
		p->status = e;
		return 0;
	}
	return SE_EINVAL;
}

/* Insertion sort by (key, sub): n is at most SE_BUILD_MAX_EDITS and usually
 * below 8, where this beats anything cleverer. Stable, so inserts at one
 * place keep the caller's order. */
static void plan_sort(struct plan *p)
{
	for (size_t i = 1; i < p->ns; i++) {
		struct slot v = p->s[i];
		size_t j = i;
		while (j > 0 && (p->s[j - 1].key > v.key ||
				 (p->s[j - 1].key == v.key && p->s[j - 1].sub > v.sub))) {
			p->s[j] = p->s[j - 1];
			j--;
		}
		p->s[j] = v;
	}
}

/*
 * Refuse edits that contradict each other on one header line: a whole-line
 * edit (drop, replace, new Max-Forwards) with any other edit of that line,
 * the same hop or element dropped twice, a replacement of a line whose id
 * is dropped, or a Max-Forwards value together with dropping Max-Forwards.
 * (A Max-Forwards value plus a replacement of the Max-Forwards line is the
 * first case: both are whole-line edits of the one line.)
 * A hop/element drop or a line drop under DROP_HDR_ID is not a conflict:
 * both want the text gone.
 */
static int plan_check(const struct plan *p, const struct se_msg *m, const struct se_edit *edits)
{
	const struct se_hdr *hdrs = se_msg_hdrs(m);

	if (p->mf && (p->drop_ids >> SE_HDR_MAX_FORWARDS & 1))
		return SE_EINVAL;
	for (size_t g = 0; g < p->ns;) {
		size_t e = g + 1;
		while (e < p->ns && p->s[e].key == p->s[g].key)
			e++;
		if (p->s[g].key % 3 == AT_LINE) {
			uint16_t id = hdrs[p->s[g].key / 3].id;
			for (size_t k = g; k < e; k++) {
				uint8_t op = edits[p->s[k].ei].op;
				if (is_whole_line(op) && e - g > 1)
					return SE_EINVAL;
				if (op == SE_EDIT_REPLACE_HDR && ((p->drop_ids >> id) & 1))
					return SE_EINVAL;
				if (k > g && p->s[k].sub == p->s[k - 1].sub)
					return SE_EINVAL;
			}
		}
		g = e;
	}
	return 0;
}

static int plan_make(struct plan *p, const struct se_msg *m, const struct se_edit *edits,
		     size_t n)
{
	if (n > SE_BUILD_MAX_EDITS || (n && !edits))
		return SE_EINVAL;
	p->ns = 0;
	p->ruri = p->body = p->mf = p->status = NULL;
	p->drop_ids = 0;
	for (size_t i = 0; i < n; i++) {
		int rc = plan_one(p, m, &edits[i], i);
		if (rc < 0)
			return rc;
	}
	plan_sort(p);
	int rc = plan_check(p, m, edits);
	if (rc < 0)
		return rc;
	/* Content-Length lines are replaced by the one we write. (A second
	 * Max-Forwards needs no such care: the parser refuses it.) */
	p->skip_ids = p->drop_ids | UINT64_C(1) << SE_HDR_CONTENT_LENGTH;
	return 0;
}

/* Walk state: the copy run pending and the value cursors of multi-valued
 * headers, which only move forward (hops and list elements are in message
 * order). */
struct walk {
	struct se_out o;
	const struct se_msg *m;
	const char *buf;
	const struct se_edit *edits;
	const struct plan *p;
	uint32_t run; /* start of the unchanged bytes not yet copied */
	uint16_t via_cur;
	uint16_t list_cur[SE_LIST__COUNT];
};

static void flush(struct walk *w, uint32_t upto)
{
	if (upto > w->run) {
		se_out_put(&w->o, w->buf + w->run, upto - w->run);
		w->run = upto;
	}
}

static void emit_insert(struct walk *w, const struct se_edit *e)
{
	switch (e->op) {
	case SE_EDIT_PUSH_VIA: se_out_str(&w->o, "Via: "); break;
	case SE_EDIT_INSERT_RECORD_ROUTE: se_out_str(&w->o, "Record-Route: "); break;
	case SE_EDIT_INSERT_PATH: se_out_str(&w->o, "Path: "); break;
	case SE_EDIT_SET_MAX_FORWARDS:
		se_out_str(&w->o, "Max-Forwards: ");
		se_out_u32(&w->o, e->num);
		se_out_put(&w->o, "\r\n", 2);
		return;
	case SE_EDIT_ADD_HDR:
		se_out_str(&w->o, e->name);
		se_out_put(&w->o, ": ", 2);
		break;
	}
	se_out_put(&w->o, e->data, e->len);
	se_out_put(&w->o, "\r\n", 2);
}

static bool in_group(const struct slot *g, size_t n, uint16_t idx)
{
	for (size_t k = 0; k < n; k++)
		if (g[k].sub == idx)
			return true;
	return false;
}

/* Write a value of a rewritten multi-valued line: "Name: v" for the first
 * kept one, ", v" after. */
static void emit_value(struct walk *w, const struct se_hdr *hd, struct se_range v, bool *any)
{
	if (*any) {
		se_out_put(&w->o, ", ", 2);
	} else {
		se_out_range(&w->o, w->buf, hd->name);
		se_out_put(&w->o, ": ", 2);
		*any = true;
	}
	se_out_range(&w->o, w->buf, v);
}

/* A Via or name-addr line losing some of its values: write the rest as
 * "Name: a, b CRLF" under the name as written, or nothing when none is
 * left. */
static void emit_partial(struct walk *w, uint16_t h, const struct slot *g, size_t n)
{
	const struct se_msg *m = w->m;
	const struct se_hdr *hd = &se_msg_hdrs(m)[h];
	bool any = false;

	if (hd->id == SE_HDR_VIA) {
		const struct se_via *vias = se_msg_vias(m);
		uint16_t j = w->via_cur;
		while (j < m->via_count && vias[j].hdr < h)
			j++;
		for (; j < m->via_count && vias[j].hdr == h; j++)
			if (!in_group(g, n, j))
				emit_value(w, hd, vias[j].whole, &any);
		w->via_cur = j;
	} else {
		const struct se_elem *elems = se_msg_elems(m);
		enum se_list l = list_of(hd->id);
		uint16_t j = w->list_cur[l];
		while (j != SE_NONE && j < m->elem_count && elems[j].hdr < h)
			j = elems[j].next;
		for (; j != SE_NONE && j < m->elem_count && elems[j].hdr == h; j = elems[j].next)
			if (!in_group(g, n, j))
				emit_value(w, hd, elems[j].whole, &any);
		w->list_cur[l] = j;
	}
	if (any)
		se_out_put(&w->o, "\r\n", 2);
}

/* Header h is not copied as it is: write what its edits say instead. */
static void emit_line(struct walk *w, uint16_t h, const struct slot *g, size_t n, bool skip)
{
	const struct se_hdr *hd = &se_msg_hdrs(w->m)[h];
	const struct se_edit *e = n ? &w->edits[g[0].ei] : NULL;

	if (!e || e->op == SE_EDIT_DROP_HDR)
		return;
	if (e->op == SE_EDIT_REPLACE_HDR || e->op == SE_EDIT_SET_MAX_FORWARDS) {
		se_out_range(&w->o, w->buf, hd->name);
		se_out_put(&w->o, ": ", 2);
		if (e->op == SE_EDIT_REPLACE_HDR)
			se_out_put(&w->o, e->data, e->len);
		else
			se_out_u32(&w->o, e->num);
		se_out_put(&w->o, "\r\n", 2);
		return;
	}
	if (!skip)
		emit_partial(w, h, g, n);
}

/* The start line ends where the first header begins; leading CRLFs that
 * RFC 3261 §7.5 lets a receiver ignore are not forwarded. */
static int start_line(const struct se_msg *m, const char *buf, uint32_t *b, uint32_t *e)
{
	uint32_t end;

	if (m->hdr_count) {
		end = se_msg_hdrs(m)[0].line.off;
	} else {
		const char *nl = memchr(buf, '\n', m->msg_len);
		if (!nl)
			return SE_EINVAL;
		end = (uint32_t)(nl - buf) + 1;
	}
	uint32_t beg = 0;
	while (beg < end && (buf[beg] == '\r' || buf[beg] == '\n'))
		beg++;
	*b = beg;
	*e = end;
	return 0;
}

static void walk_headers(struct walk *w)
{
	const struct se_msg *m = w->m;
	const struct se_hdr *hdrs = se_msg_hdrs(m);
	const struct plan *p = w->p;
	size_t c = 0;

	for (uint16_t h = 0; h < m->hdr_count; h++) {
		const struct se_hdr *hd = &hdrs[h];
		uint32_t k = 3u * h;
		bool skip = hd->id < 64 && ((p->skip_ids >> hd->id) & 1);

		/* The common case: nothing to do here, the line joins the run. */
		if (!skip && (c >= p->ns || p->s[c].key > k + AT_AFTER))
			continue;
		for (; c < p->ns && p->s[c].key == k + AT_BEFORE; c++) {
			flush(w, hd->line.off);
			emit_insert(w, &w->edits[p->s[c].ei]);
		}
		size_t g = c;
		while (c < p->ns && p->s[c].key == k + AT_LINE)
			c++;
		if (skip || c > g) {
			flush(w, hd->line.off);
			w->run = hd->line.off + hd->line.len;
			emit_line(w, h, &p->s[g], c - g, skip);
		}
		for (; c < p->ns && p->s[c].key == k + AT_AFTER; c++) {
			flush(w, hd->line.off + hd->line.len);
			emit_insert(w, &w->edits[p->s[c].ei]);
		}
	}
	if (m->hdr_count) {
		const struct se_hdr *last = &hdrs[m->hdr_count - 1];
		flush(w, last->line.off + last->line.len);
	}
	/* What is left goes at the end of the header block: ADD_HDR, and
	 * inserts of a message without headers. */
	for (; c < p->ns; c++)
		emit_insert(w, &w->edits[p->s[c].ei]);
}

int se_build(const struct se_msg *m, const char *buf, const struct se_edit *edits, size_t n,
	     char *out, size_t cap)
{
	struct plan p;
	uint32_t sl_beg, sl_end;
	int rc = plan_make(&p, m, edits, n);
	if (rc < 0)
		return rc;
	rc = start_line(m, buf, &sl_beg, &sl_end);
	if (rc < 0)
		return rc;

	struct walk w = {.o = {out, cap, false}, .m = m, .buf = buf, .edits = edits, .p = &p};
	for (int l = 0; l < SE_LIST__COUNT; l++)
		w.list_cur[l] = m->list_first[l];

	if (p.ruri) {
		se_out_range(&w.o, buf, m->method_name);
		se_out_put(&w.o, " ", 1);
		se_out_put(&w.o, p.ruri->data, p.ruri->len);
		se_out_str(&w.o, " SIP/2.0\r\n");
	} else if (p.status) {
		se_out_str(&w.o, "SIP/2.0 ");
		se_out_u32(&w.o, p.status->num);
		se_out_put(&w.o, " ", 1);
		if (p.status->len)
			se_out_put(&w.o, p.status->data, p.status->len);
		else
			se_out_str(&w.o, se_reason_phrase((uint16_t)p.status->num));
		se_out_str(&w.o, "\r\n");
	} else {
		se_out_put(&w.o, buf + sl_beg, sl_end - sl_beg);
	}
	w.run = sl_end;
	walk_headers(&w);

	const char *body = p.body ? p.body->data : buf + m->body.off;
	uint32_t body_len = p.body ? p.body->len : m->body.len;
	se_out_str(&w.o, "Content-Length: ");
	se_out_u32(&w.o, body_len);
	se_out_put(&w.o, "\r\n\r\n", 4);
	se_out_put(&w.o, body, body_len);

	if (w.o.full)
		return SE_ENOSPC;
	size_t len = cap - w.o.left;
	return len > INT32_MAX ? SE_ENOSPC : (int)len;
}
