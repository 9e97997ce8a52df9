/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Transactions.  A transaction sees a private copy of every node it touches,
 * taken at its first access (reads included), so later outside changes stay
 * invisible to it.  Commit checks that each touched node still has the
 * generation it had when copied (absent stays absent); any difference means
 * someone else changed what the transaction looked at, and the client gets
 * EAGAIN.  Otherwise the modified copies replace the global nodes, and the
 * watch events recorded during the transaction fire.
 */
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

struct xs_txn *xs_txn_find(struct xs_conn *conn, uint32_t id)
{
	struct xs_txn *t;

	xs_list_for_each (t, &conn->txns, struct xs_txn, link)
		if (t->id == id)
			return t;
	return NULL;
}

int xs_txn_start(struct xs_conn *conn, struct xs_txn **out)
{
	const struct xs_quota *q = &conn->core->quota;
	struct xs_txn *t;

	if (xs_conn_unpriv(conn) && q->transactions && conn->ntxns >= q->transactions)
		return ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	xs_map_init(&t->entries);
	xs_list_init(&t->order);
	t->conn = conn;
	/* Ids are per connection; skip 0 (no transaction) and ids in use. */
	do {
		t->id = conn->next_txid++;
	} while (!t->id || xs_txn_find(conn, t->id));
	xs_list_add_tail(&conn->txns, &t->link);
	conn->ntxns++;
	*out = t;
	return 0;
}

static void entry_free(struct xs_tentry *e)
{
	xs_node_free(e->node);
	free(e->old_perms.p);
	free(e->path);
	free(e);
}

void xs_txn_free(struct xs_txn *t)
{
	struct xs_tentry *e, *tmp;

	xs_list_for_each_safe (e, tmp, &t->order, struct xs_tentry, link)
		entry_free(e);
	xs_map_destroy(&t->entries);
	xs_list_del(&t->link);
	t->conn->ntxns--;
	free(t->deltas);
	free(t);
}

struct xs_tentry *xs_txn_entry(struct xs_txn *t, const char *path)
{
	return xs_map_get(&t->entries, path);
}

struct xs_tentry *xs_txn_access(struct xs_op *op, const char *path, int *err)
{
	struct xs_txn *t = op->txn;
	struct xs_tentry *e = xs_map_get(&t->entries, path);
	struct xs_node *g;
	const struct xs_quota *q = &op->core->quota;

	if (e)
		return e;
	if (xs_conn_unpriv(op->conn) && q->transaction_nodes &&
	    t->nentries >= q->transaction_nodes) {
		*err = ENOSPC;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		goto nomem;
	e->path = strdup(path);
	if (!e->path)
		goto nomem;
	g = xs_global_get(op->core, path);
	e->base_gen = g ? g->gen : XS_NO_GEN;
	if (g) {
		e->node = xs_node_dup(g);
		if (!e->node || xs_perms_copy(&e->old_perms, &g->perms))
			goto nomem;
	}
	if (xs_map_put(&t->entries, e->path, e))
		goto nomem;
	xs_list_add_tail(&t->order, &e->link);
	t->nentries++;
	return e;
nomem:
	if (e)
		entry_free(e);
	t->failed = true;
	*err = ENOMEM;
	return NULL;
}

int xs_txn_owned(struct xs_txn *t, uint32_t domid)
{
	uint32_t i;

	for (i = 0; i < t->ndeltas; i++)
		if (t->deltas[i].domid == domid)
			return t->deltas[i].delta;
	return 0;
}

int xs_txn_owned_adjust(struct xs_txn *t, uint32_t domid, int delta)
{
	uint32_t i;
	void *nd;

	for (i = 0; i < t->ndeltas; i++) {
		if (t->deltas[i].domid == domid) {
			t->deltas[i].delta += delta;
			return 0;
		}
	}
	nd = realloc(t->deltas, (t->ndeltas + 1) * sizeof(*t->deltas));
	if (!nd) {
		t->failed = true;
		return ENOMEM;
	}
	t->deltas = nd;
	t->deltas[t->ndeltas].domid = domid;
	t->deltas[t->ndeltas].delta = delta;
	t->ndeltas++;
	return 0;
}

static int commit(struct xs_op *op, struct xs_txn *t)
{
	struct xs_core *core = op->core;
	struct xs_tentry *e;
	uint32_t i;

	/* A failed transaction answers ENOMEM at commit, as in Xen. */
	if (t->failed)
		return ENOMEM;
	xs_list_for_each (e, &t->order, struct xs_tentry, link) {
		struct xs_node *g = xs_global_get(core, e->path);

		if ((g ? g->gen : XS_NO_GEN) != e->base_gen)
			return EAGAIN;
	}
	if (xs_conn_unpriv(t->conn) && core->quota.nodes) {
		int64_t n = (int64_t)core->owned[t->conn->id] + xs_txn_owned(t, t->conn->id);

		if (xs_txn_owned(t, t->conn->id) > 0 && n > core->quota.nodes)
			return ENOSPC;
	}
	/* Make room first so that applying the changes cannot fail halfway. */
	xs_list_for_each (e, &t->order, struct xs_tentry, link)
		if (e->modified && e->node && !xs_global_get(core, e->path) &&
		    xs_map_put(&core->nodes, e->node->path, NULL))
			goto nomem;

	xs_list_for_each (e, &t->order, struct xs_tentry, link) {
		struct xs_node *g;

		if (!e->modified)
			continue;
		g = xs_global_get(core, e->path);
		if (e->node) {
			e->node->gen = ++core->generation;
			if (xs_map_put(&core->nodes, e->node->path, e->node))
				goto nomem; /* cannot happen: the slot exists */
			e->node = NULL;
		} else {
			if (g)
				xs_map_del(&core->nodes, e->path);
			++core->generation;
		}
		xs_node_free(g);
	}
	for (i = 0; i < t->ndeltas; i++)
		xs_owned_adjust(core, t->deltas[i].domid, t->deltas[i].delta);
	xs_list_for_each (e, &t->order, struct xs_tentry, link)
		if (e->fire)
			xs_fire_global(core, e->path, e->fire_exact,
				       e->old_perms.num ? &e->old_perms : NULL);
	return 0;
nomem:
	/* Drop reserved but unused slots again. */
	xs_list_for_each (e, &t->order, struct xs_tentry, link)
		if (e->modified && e->node && xs_map_get(&core->nodes, e->path) == NULL)
			xs_map_del(&core->nodes, e->path);
	return ENOMEM;
}

int xs_txn_end(struct xs_op *op, struct xs_txn *t, bool do_commit)
{
	int err = do_commit ? commit(op, t) : 0;

	xs_txn_free(t);
	return err;
}
