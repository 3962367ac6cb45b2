/*
 * Transaction keys (§17.2.3), loop-detection hash (§16.6 step 8, §16.3
 * step 4) and our branch format; see txn_key.h.
 */
#include "txn_key.h"

#include <sipedge/out.h>

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

static uint32_t put(char *key, uint32_t k, uint32_t cap, const char *s, uint32_t n)
{
	if (k == UINT32_MAX || k + n + 1 > cap)
		return UINT32_MAX;
	memcpy(key + k, s, n);
	key[k + n] = '\n'; /* cannot occur inside any header value */
	return k + n + 1;
}

uint32_t txn_key_server(const struct se_msg *m, const char *buf, char *key, uint32_t cap,
			bool *rfc2543)
{
	const struct se_via *v = se_msg_top_via(m);
	uint32_t k = 0;
	char port[8];
	struct se_out po = se_out_at(port, sizeof(port));
	se_out_u32(&po, (v->flags & SE_VIA_PORT) ? v->port : 5060);
	uint32_t pn = (uint32_t)(po.p - port);
	bool cookie = v->branch.len > 7 && memcmp(buf + v->branch.off, SE_BRANCH_COOKIE, 7) == 0;
	*rfc2543 = !cookie;
	if (cookie) {
		k = put(key, k, cap, "3", 1);
		k = put(key, k, cap, buf + v->branch.off, v->branch.len);
	} else {
		char cseq[12];
		struct se_out co = se_out_at(cseq, sizeof(cseq));
		se_out_u32(&co, m->cseq);
		k = put(key, k, cap, "2", 1);
		k = put(key, k, cap, buf + m->ruri_text.off, m->ruri_text.len);
		k = put(key, k, cap, buf + m->from.tag.off, m->from.tag.len);
		k = put(key, k, cap, buf + m->call_id.off, m->call_id.len);
		k = put(key, k, cap, cseq, (uint32_t)(co.p - cseq));
		k = put(key, k, cap, buf + v->branch.off, v->branch.len);
	}
	uint32_t hs = k;
	k = put(key, k, cap, buf + v->host.off, v->host.len);
	k = put(key, k, cap, port, pn);
	if (k == UINT32_MAX)
		return 0;
	for (uint32_t i = hs; i < k; i++) /* host compares case-insensitively */
		if (key[i] >= 'A' && key[i] <= 'Z')
			key[i] = (char)(key[i] | 0x20);
	return k;
}

uint64_t txn_key_hash(const char *key, uint32_t len)
{
	return XXH3_64bits(key, len);
}

uint32_t txn_loop_hash(const struct se_msg *m, const char *buf)
{
	/* what a spiral changes and a loop does not (§16.6 step 8) */
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, buf + m->ruri_text.off, m->ruri_text.len);
	XXH3_64bits_update(&st, buf + m->from.tag.off, m->from.tag.len);
	XXH3_64bits_update(&st, buf + m->to.tag.off, m->to.tag.len);
	XXH3_64bits_update(&st, buf + m->call_id.off, m->call_id.len);
	XXH3_64bits_update(&st, &m->cseq, sizeof(m->cseq));
	for (uint16_t i = m->first[SE_HDR_PROXY_REQUIRE]; i != SE_NONE; i = se_msg_hdrs(m)[i].next)
		XXH3_64bits_update(&st, buf + se_msg_hdrs(m)[i].value.off, se_msg_hdrs(m)[i].value.len);
	for (uint16_t i = m->list_first[SE_LIST_ROUTE]; i != SE_NONE; i = se_msg_elems(m)[i].next)
		XXH3_64bits_update(&st, buf + se_msg_elems(m)[i].uri.off, se_msg_elems(m)[i].uri.len);
	return (uint32_t)XXH3_64bits_digest(&st);
}

#define PREFIX SE_BRANCH_COOKIE "sE"
#define PREFIX_LEN 9

uint32_t txn_branch_make(char out[TXN_BRANCH_MAX], const struct txn_branch_id *id,
			 struct se_rng *rng, uint64_t secret)
{
	char rnd[9];
	se_rng_token(rng, rnd, 8);
	/* PREFIX bucket.label.branch.loop.random. then the mac: at most
	 * 9 + 9 + 9 + 2 + 9 + 9 + 8 = 55 bytes, well within TXN_BRANCH_MAX */
	struct se_out o = se_out_at(out, TXN_BRANCH_MAX);
	se_out_put(&o, PREFIX, PREFIX_LEN);
	se_out_hex(&o, id->bucket, 1);
	se_out_put(&o, ".", 1);
	se_out_hex(&o, id->label, 1);
	se_out_put(&o, ".", 1);
	se_out_u32(&o, id->branch % 10);
	se_out_put(&o, ".", 1);
	se_out_hex(&o, id->loop, 8);
	se_out_put(&o, ".", 1);
	se_out_put(&o, rnd, 8);
	se_out_put(&o, ".", 1);
	size_t n = (size_t)(o.p - out);
	se_out_hex(&o, (uint32_t)XXH3_64bits_withSeed(out, n, secret), 8);
	return (uint32_t)se_out_end(&o, out);
}

static bool hex_field(const char *b, uint32_t *p, uint32_t end, uint32_t maxlen, char stop,
		      uint32_t *val)
{
	uint32_t v = 0, s = *p;
	while (*p < end && b[*p] != stop) {
		char c = b[*p];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0 || *p - s >= maxlen)
			return false;
		v = v * 16 + (uint32_t)d;
		(*p)++;
	}
	if (*p == s || *p >= end)
		return false;
	(*p)++; /* the stop character */
	*val = v;
	return true;
}

bool txn_branch_parse(const char *b, uint32_t len, uint64_t secret, struct txn_branch_id *id)
{
	if (len < PREFIX_LEN + 8 || len >= TXN_BRANCH_MAX || memcmp(b, PREFIX, PREFIX_LEN) != 0)
		return false;
	uint32_t p = PREFIX_LEN, end = len - 8;
	if (!hex_field(b, &p, end, 8, '.', &id->bucket) || !hex_field(b, &p, end, 8, '.', &id->label) ||
	    !hex_field(b, &p, end, 1, '.', &id->branch) || !hex_field(b, &p, end, 8, '.', &id->loop))
		return false;
	/* then 8 random characters, '.', and the 8 hex digits of the mac */
	if (end - p != 9 || b[end - 1] != '.')
		return false;
	uint32_t mac;
	mac = 0;
	for (uint32_t i = end; i < len; i++) {
		char c = b[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return false;
		mac = mac * 16 + (uint32_t)d;
	}
	return mac == (uint32_t)XXH3_64bits_withSeed(b, end, secret);
}
