/*
 * Transaction records in the shared arena: create, find, store message
 * copies, free. See the lifetime rule in txn/txn.h: only the owner slot's
 * timer handler frees, under the bucket lock.
 */
#include "proxy.h"

#include <string.h>

bool sip_key_of(struct sip_worker *sw, const struct se_msg *m, const char *buf,
		struct sip_key *k)
{
	k->len = txn_key_server(m, buf, k->key, sizeof(k->key), &k->rfc2543);
	if (k->len == 0)
		return false;
	k->hash = txn_key_hash(k->key, k->len);
	k->bucket = txn_table_index(sw->ss->txns, k->hash);
	return true;
}

struct txn *sip_txn_new_locked(struct sip_worker *sw, uint32_t bucket, uint64_t hash,
			       const char *key, uint32_t key_len)
{
	/* sized to its key: most of a record's life is spent absorbing
	 * retransmissions after the final (64*T1), by the tens of thousands */
	struct txn *t = arena_calloc(sw->w->sh->arena, 1, sizeof(*t) + key_len);
	if (!t)
		return NULL;
	twheel_node_init(&t->timer);
	t->hash = hash;
	t->bucket = bucket;
	t->owner = (uint8_t)sw->w->slot;
	t->key_len = (uint16_t)key_len;
	memcpy(t->key, key, key_len);
	t->created_ms = sw->now;
	t->label = txn_table_insert_locked(sw->ss->txns, bucket, &t->link);
	atomic_fetch_add_explicit(&sw->st->txn_created, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sw->st->txn_owned, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&sw->st->txn_pending, 1, memory_order_relaxed);
	return t;
}

struct txn *sip_txn_find_locked(struct sip_worker *sw, uint32_t bucket, uint64_t hash,
				const char *key, uint32_t key_len, int method)
{
	txn_table_foreach_locked(sw->ss->txns, bucket, it)
	{
		struct txn *t = txn_of_link(it);
		if (t->hash == hash && t->key_len == key_len && t->method == method &&
		    memcmp(t->key, key, key_len) == 0)
			return t;
	}
	return NULL;
}

struct txn *sip_txn_by_label_locked(struct sip_worker *sw, uint32_t bucket, uint32_t label)
{
	txn_table_foreach_locked(sw->ss->txns, bucket, it)
	{
		struct txn *t = txn_of_link(it);
		if (t->label == label)
			return t;
	}
	return NULL;
}

char *sip_store(struct sip_worker *sw, const char *buf, uint32_t len)
{
	char *p = arena_alloc(sw->w->sh->arena, len ? len : 1);
	if (p)
		memcpy(p, buf, len);
	else
		atomic_fetch_add_explicit(&sw->st->drops[SIP_DROP_SHM_FULL], 1,
					  memory_order_relaxed);
	return p;
}

/* Replace a stored copy; on exhaustion the old copy is kept (a stale
 * retransmission beats none) and the failure counted. */
void sip_store_replace(struct sip_worker *sw, char **slot, uint32_t *slot_len, const char *buf,
		       uint32_t len)
{
	char *p = sip_store(sw, buf, len);
	if (!p)
		return;
	arena_free(sw->w->sh->arena, *slot);
	*slot = p;
	*slot_len = len;
}

void sip_txn_final_locked(struct sip_worker *sw, struct txn *t)
{
	if (t->flags & TXN_F_FINAL)
		return;
	t->flags |= TXN_F_FINAL;
	atomic_fetch_sub_explicit(&sw->ss->stats[t->owner].txn_pending, 1, memory_order_relaxed);
}

void sip_txn_free_locked(struct sip_worker *sw, struct txn *t)
{
	sip_txn_final_locked(sw, t); /* a pending transaction freed is no longer pending */
	struct arena *a = sw->w->sh->arena;
	txn_table_remove_locked(sw->ss->txns, t->bucket, &t->link);
	twheel_cancel(&sw->ss->wheels[t->owner], &t->timer);
	arena_free(a, t->req);
	arena_free(a, t->resp);
	arena_free(a, t->best);
	for (uint8_t i = 0; i < t->nbr; i++) {
		sip_branch_done_locked(sw, t, &t->br[i], false); /* a call slot still held */
		arena_free(a, t->br[i].req);
		arena_free(a, t->br[i].cancel_req);
	}
	arena_free(a, t->br);
	sip_route_free_locked(sw, t);
	atomic_fetch_sub_explicit(&sw->ss->stats[t->owner].txn_owned, 1, memory_order_relaxed);
	arena_free(a, t);
}
