/*
 * policy_load_list: IP prefixes (CIDR, RFC 4632; IPv6 RFC 4291 §2.3) and
 * the named lists of them (`lists:`).
 *
 * Parsing is strict: an address inet_pton accepts, a decimal length within
 * the family's, and no bits set past the length. "10.0.0.1/8" is almost
 * always a typo for a host or for 10.0.0.0/8, and silently masking it would
 * match a network the operator did not mean; the message says which one
 * the mask would give. A bare address is a /32 or /128. IPv4 is stored as
 * ::ffff:a.b.c.d with 96 added to the length, so one tree holds both
 * families (policy.h).
 */
#include "policy_load.h"

#include <sipedge/error.h>

#include <arpa/inet.h>
#include <string.h>

bool pload_looks_like_cidr(const char *s)
{
	if (strchr(s, ':') || strchr(s, '/'))
		return true;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || *s == '.'))
			return false;
	return true;
}

/* "/24" after the address: a decimal without sign or leading zero. */
static int parse_len(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);
	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int pload_cidr(struct pload *ld, const struct ydoc_node *n, const char *what,
               struct policy_cidr *out)
{
	const char *text;
	if (ydoc_read_str(n, what, &text, ld->errs))
		return SE_ECONFIG;

	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	uint8_t a[16] = {0};
	bool v4;
	if (alen >= sizeof(addr))
		alen = sizeof(addr) - 1; /* too long for any address: fails below */
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, a + 12) == 1) {
		v4 = true;
		a[10] = a[11] = 0xff;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		v4 = false;
	} else {
		if (slash)
			ydoc_errs_add(ld->errs, n, "bad CIDR '%s': bad address", text);
		else
			ydoc_errs_add(ld->errs, n, "bad address '%s'", text);
		return SE_ECONFIG;
	}

	unsigned max = v4 ? 32 : 128, len = max;
	if (slash && parse_len(slash + 1, &len)) {
		ydoc_errs_add(ld->errs, n, "bad CIDR '%s': bad prefix length", text);
		return SE_ECONFIG;
	}
	if (len > max) {
		ydoc_errs_add(ld->errs, n, "bad CIDR '%s': prefix length %u is over %u", text, len,
		              max);
		return SE_ECONFIG;
	}

	unsigned bits = len + (v4 ? 96 : 0);
	uint8_t net[16];
	bool host = false;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);
		net[i] = a[i] & mask;
		host |= net[i] != a[i];
	}
	if (host) {
		char want[INET6_ADDRSTRLEN];
		inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? net + 12 : net, want, sizeof(want));
		ydoc_errs_add(ld->errs, n, "host bits set in %s: did you mean %s/%u?", text, want,
		              len);
		return SE_ECONFIG;
	}
	memcpy(out->addr, a, 16);
	out->bits = (uint8_t)bits;
	return 0;
}

/* A scalar written as a name (of a list), not as an address. */
static bool names_list(const struct ydoc_node *n)
{
	return n->type == YDOC_SCALAR && !ydoc_is_null(n) && !pload_looks_like_cidr(n->scalar.str);
}

/* Room for the inline list: its items, and with merge the prefixes of the
 * lists it names. */
static size_t inline_room(struct pload *ld, const struct ydoc_node *const *items, size_t n,
                          bool merge)
{
	size_t room = n;
	for (size_t i = 0; merge && i < n; i++) {
		uint32_t l = names_list(items[i]) ? pload_map_get(&ld->lists, items[i]->scalar.str,
		                                                  items[i]->scalar.len)
		                                  : POLICY_NONE;
		if (l != POLICY_NONE)
			room += ld->p->lists[l].n;
	}
	return room;
}

const struct policy_cidrs *pload_cidrs(struct pload *ld, const struct ydoc_node *val,
                                       const char *what, bool merge)
{
	const struct ydoc_node *one, *const *items;
	size_t n;
	struct policy *p = ld->p;

	if (pload_scalars(ld, val, what, &one, &items, &n))
		return NULL;
	if (val->type == YDOC_SCALAR && names_list(val)) {
		uint32_t l = pload_ref(ld, val, &ld->lists, ld->list_uses, "list");
		return l == POLICY_NONE ? NULL : &p->lists[l];
	}
	struct policy_cidrs *inl = policy_alloc(p, sizeof(*inl));
	*inl = (struct policy_cidrs){.line = val->line, .col = val->col};
	inl->v = policy_alloc(p, inline_room(ld, items, n, merge) * sizeof(*inl->v));
	for (size_t i = 0; i < n; i++) {
		const struct ydoc_node *it = items[i];
		if (merge && names_list(it)) {
			uint32_t l = pload_ref(ld, it, &ld->lists, ld->list_uses, "list");
			if (l != POLICY_NONE && p->lists[l].n) {
				memcpy(&inl->v[inl->n], p->lists[l].v,
				       p->lists[l].n * sizeof(*inl->v));
				inl->n += p->lists[l].n;
			}
			continue;
		}
		if (names_list(it) &&
		    pload_map_get(&ld->lists, it->scalar.str, it->scalar.len) != POLICY_NONE) {
			ydoc_errs_add(ld->errs, it,
			              "%s: '%s' is a list: name it alone, not in a sequence", what,
			              it->scalar.str);
			continue;
		}
		if (pload_cidr(ld, it, what, &inl->v[inl->n]) == 0)
			inl->n++;
	}
	return inl;
}

/* One named list: a sequence of CIDRs and addresses. */
static void read_list(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                      uint32_t index)
{
	struct policy_cidrs *l = &ld->p->lists[index];
	const struct ydoc_node *one, *const *items;
	size_t n;
	char what[PLOAD_NAME_MAX + 16];

	*l = (struct policy_cidrs){.name = pload_str(ld, key), .line = key->line, .col = key->col};
	/* `source: 10.1` would read it as an address (names with ':' or '/'
	 * are refused as names already) */
	if (strspn(key->scalar.str, "0123456789.") == key->scalar.len)
		ydoc_errs_add(ld->errs, key, "bad list name '%s': it reads as an address",
		              key->scalar.str);
	snprintf(what, sizeof(what), "list '%s'", key->scalar.str);
	if (pload_scalars(ld, val, what, &one, &items, &n))
		return;
	l->v = policy_alloc(ld->p, n * sizeof(*l->v));
	for (size_t i = 0; i < n; i++)
		if (pload_cidr(ld, items[i], what, &l->v[l->n]) == 0)
			l->n++;
}

void pload_lists(struct pload *ld, const struct ydoc_node *key, const struct ydoc_node *val,
                 const char *what, void *obj)
{
	struct policy *p = ld->p;
	(void)key;
	(void)obj;
	pload_named(ld, val, what, "list", sizeof(*p->lists), (void **)&p->lists, &p->n_lists,
	            &ld->lists, &ld->list_uses, read_list);
}
