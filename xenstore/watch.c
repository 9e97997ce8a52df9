/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Watches.  A change to a path fires every watch on that path or on one of
 * its ancestors, for connections that may read the node (before or after the
 * change) or its parent.  Changes inside a transaction are only recorded and
 * fire at commit.  "@introduceDomain" and "@releaseDomain" are special events
 * guarded by their own ACLs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

static bool is_child(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	if (strncmp(child, parent, len))
		return false;
	return child[len] == '/' || child[len] == '\0';
}

/* Levels of child below parent ("/a/b/c" is 2 below "/a"). */
static unsigned levels_below(const char *child, const char *parent)
{
	const char *p = child + strlen(parent);
	unsigned n = 0;

	if (!strcmp(parent, "/"))
		p = child;
	for (; *p; p++)
		if (*p == '/')
			n++;
	return n;
}

int xs_watch_add(struct xs_conn *conn, const char *path, const char *token, int depth)
{
	struct xs_core *core = conn->core;
	struct xs_watch *w;
	char *canon;

	if (path[0] == '@') {
		if (strlen(path) > XENSTORE_REL_PATH_MAX)
			return EINVAL;
		canon = strdup(path);
	} else {
		canon = xs_canonicalize(conn, path);
		if (canon && !xs_path_valid(core, canon)) {
			free(canon);
			return EINVAL;
		}
	}
	if (!canon)
		return ENOMEM;
	xs_list_for_each (w, &conn->watches, struct xs_watch, link) {
		if (!strcmp(w->path, canon) && !strcmp(w->token, token)) {
			free(canon);
			return EEXIST;
		}
	}
	if (xs_conn_unpriv(conn) && core->quota.watches && conn->nwatches >= core->quota.watches) {
		free(canon);
		return E2BIG;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->token = strdup(token))) {
		free(w);
		free(canon);
		return ENOMEM;
	}
	w->path = canon;
	w->relative = path[0] != '/' && path[0] != '@';
	w->depth = depth;
	xs_list_add_tail(&conn->watches, &w->link);
	conn->nwatches++;
	return 0;
}

static void watch_free(struct xs_conn *conn, struct xs_watch *w)
{
	xs_list_del(&w->link);
	conn->nwatches--;
	free(w->path);
	free(w->token);
	free(w);
}

int xs_watch_remove(struct xs_conn *conn, const char *path, const char *token)
{
	struct xs_watch *w;
	char *canon = xs_canonicalize(conn, path);

	if (!canon)
		return ENOMEM;
	xs_list_for_each (w, &conn->watches, struct xs_watch, link) {
		if (!strcmp(w->path, canon) && !strcmp(w->token, token)) {
			watch_free(conn, w);
			free(canon);
			return 0;
		}
	}
	free(canon);
	return ENOENT;
}

void xs_watch_clear(struct xs_conn *conn)
{
	struct xs_watch *w, *tmp;

	xs_list_for_each_safe (w, tmp, &conn->watches, struct xs_watch, link)
		watch_free(conn, w);
}

static void send_event(struct xs_conn *conn, const struct xs_watch *w, const char *path)
{
	size_t plen, tlen;
	char *buf;

	/* Relative watches report paths relative to the home directory. */
	if (w->relative && !strncmp(path, conn->home, strlen(conn->home))) {
		path += strlen(conn->home);
		if (*path == '/')
			path++;
	}
	plen = strlen(path) + 1;
	tlen = strlen(w->token) + 1;
	if (plen + tlen > XENSTORE_PAYLOAD_MAX)
		return;
	buf = malloc(plen + tlen);
	if (!buf)
		return;
	memcpy(buf, path, plen);
	memcpy(buf + plen, w->token, tlen);
	xs_conn_queue(conn, XS_WATCH_EVENT, 0, 0, buf, (uint32_t)(plen + tlen), true);
	free(buf);
}

/* May conn learn about a change of path?  See the file comment. */
static bool watch_permitted(struct xs_core *core, struct xs_conn *conn, const char *path,
			    const struct xs_perms *old)
{
	struct xs_node *n, *parent;
	const char *slash;
	char *pp;
	bool ok;

	if (!xs_conn_unpriv(conn))
		return true;
	if (old && (xs_perm_for(conn, old) & XS_P_READ))
		return true;
	n = xs_global_get(core, path);
	if (n && (xs_perm_for(conn, &n->perms) & XS_P_READ))
		return true;
	slash = strrchr(path, '/');
	if (!slash)
		return false;
	pp = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!pp)
		return false;
	parent = xs_global_get(core, pp);
	ok = parent && (xs_perm_for(conn, &parent->perms) & XS_P_READ);
	free(pp);
	return ok;
}

void xs_fire_global(struct xs_core *core, const char *path, bool exact, const struct xs_perms *old)
{
	struct xs_conn *c;
	struct xs_watch *w;

	xs_list_for_each (c, &core->conns, struct xs_conn, link) {
		if (c->dead || xs_list_empty(&c->watches))
			continue;
		if (!watch_permitted(core, c, path, old))
			continue;
		xs_list_for_each (w, &c->watches, struct xs_watch, link) {
			if (w->path[0] == '@')
				continue;
			if (exact ? strcmp(path, w->path) : !is_child(path, w->path))
				continue;
			if (w->depth >= 0 && levels_below(path, w->path) > (unsigned)w->depth)
				continue;
			send_event(c, w, path);
		}
	}
}

void xs_fire(struct xs_op *op, const char *path, bool exact, const struct xs_perms *old)
{
	struct xs_tentry *e;

	if (!op->txn) {
		xs_fire_global(op->core, path, exact, old);
		return;
	}
	e = xs_txn_entry(op->txn, path);
	if (!e) {
		op->txn->failed = true;
		return;
	}
	/* A non-exact event covers an exact one, not the other way round. */
	if (!e->fire) {
		e->fire = true;
		e->fire_exact = exact;
	} else if (!exact) {
		e->fire_exact = false;
	}
}

void xs_fire_special(struct xs_core *core, const char *name, uint32_t domid)
{
	struct xs_perms *perms = xs_special_perms(core, name);
	struct xs_conn *c;
	struct xs_watch *w;
	char sub[64];
	size_t nlen = strlen(name);

	if (!perms)
		return;
	snprintf(sub, sizeof(sub), "%s/%u", name, domid);
	xs_list_for_each (c, &core->conns, struct xs_conn, link) {
		if (c->dead || !(xs_perm_for(c, perms) & XS_P_READ))
			continue;
		xs_list_for_each (w, &c->watches, struct xs_watch, link) {
			if (!strcmp(w->path, name))
				send_event(c, w, w->depth == 1 ? sub : name);
			else if (!strncmp(w->path, name, nlen) && !strcmp(w->path, sub))
				send_event(c, w, sub);
		}
	}
}
