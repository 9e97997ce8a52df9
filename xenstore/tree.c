/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The node tree: path rules, permissions, and node access within a request.
 * A request runs either on the global store or on a transaction, whose
 * overlay holds private copies of every node it touched (see txn.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

bool xs_conn_unpriv(const struct xs_conn *conn)
{
	return conn && !conn->privileged;
}

static bool valid_chars(const char *s)
{
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '/' || c == '_' || c == '@'))
			return false;
	}
	return true;
}

/* Length of a "/local/domain/<1-5 digits>/" prefix, or 0. */
static size_t local_prefix(const char *path)
{
	static const char pre[] = "/local/domain/";
	size_t i = sizeof(pre) - 1, digits = 0;

	if (strncmp(path, pre, i))
		return 0;
	while (path[i] >= '0' && path[i] <= '9' && digits < 5) {
		i++;
		digits++;
	}
	if (!digits || path[i] != '/')
		return 0;
	return i + 1;
}

bool xs_path_valid(const struct xs_core *core, const char *path)
{
	size_t len;

	if (!path || path[0] != '/')
		return false;
	len = strlen(path);
	if (len > 1 && path[len - 1] == '/')
		return false;
	if (strstr(path, "//"))
		return false;
	if (len > XENSTORE_ABS_PATH_MAX)
		return false;
	if (core->quota.path_max && len > local_prefix(path) + core->quota.path_max)
		return false;
	return valid_chars(path);
}

char *xs_canonicalize(const struct xs_conn *conn, const char *path)
{
	char *s;

	if (!path)
		return NULL;
	if (path[0] == '/' || path[0] == '@' || !conn)
		return strdup(path);
	if (asprintf(&s, "%s/%s", conn->home, path) < 0)
		return NULL;
	return s;
}

uint32_t xs_perm_for(const struct xs_conn *conn, const struct xs_perms *perms)
{
	uint32_t i;
	const uint32_t all = XS_P_READ | XS_P_WRITE | XS_P_OWNER;

	if (!conn || conn->privileged)
		return all;
	if (perms->p[0].id == conn->id ||
	    (conn->target >= 0 && perms->p[0].id == (uint32_t)conn->target))
		return all;
	for (i = 1; i < perms->num; i++)
		if (perms->p[i].id == conn->id ||
		    (conn->target >= 0 && perms->p[i].id == (uint32_t)conn->target))
			return perms->p[i].perms & XS_P_BOTH;
	return perms->p[0].perms & XS_P_BOTH;
}

int xs_perms_parse(const char *s, uint32_t len, uint32_t num, struct xs_perms *out)
{
	uint32_t i, off = 0;

	out->p = calloc(num, sizeof(*out->p));
	if (!out->p)
		return ENOMEM;
	out->num = num;
	for (i = 0; i < num; i++) {
		const char *e = s + off;
		uint32_t v = 0, digits = 0;
		size_t l;

		if (off >= len)
			goto inval;
		l = strnlen(e, len - off);
		switch (e[0]) {
		case 'n':
			out->p[i].perms = XS_P_NONE;
			break;
		case 'r':
			out->p[i].perms = XS_P_READ;
			break;
		case 'w':
			out->p[i].perms = XS_P_WRITE;
			break;
		case 'b':
			out->p[i].perms = XS_P_BOTH;
			break;
		default:
			goto inval;
		}
		for (digits = 1; digits < l; digits++) {
			if (e[digits] < '0' || e[digits] > '9' || digits > 5)
				goto inval;
			v = v * 10 + (uint32_t)(e[digits] - '0');
		}
		if (l < 2 || v > XS_DOMID_MAX)
			goto inval;
		out->p[i].id = v;
		off += (uint32_t)l + 1;
	}
	return 0;
inval:
	free(out->p);
	out->p = NULL;
	out->num = 0;
	return EINVAL;
}

char *xs_perms_format(const struct xs_perms *perms, uint32_t *len)
{
	static const char letters[] = { 'n', 'r', 'w', 'b' };
	char *buf = malloc((size_t)perms->num * 8 + 1);
	uint32_t i, off = 0;

	if (!buf)
		return NULL;
	for (i = 0; i < perms->num; i++)
		off += (uint32_t)sprintf(buf + off, "%c%u", letters[perms->p[i].perms & 3],
					 perms->p[i].id) +
		       1;
	*len = off;
	return buf;
}

int xs_perms_copy(struct xs_perms *dst, const struct xs_perms *src)
{
	dst->num = 0;
	dst->p = malloc((size_t)src->num * sizeof(*src->p));
	if (!dst->p)
		return ENOMEM;
	memcpy(dst->p, src->p, (size_t)src->num * sizeof(*src->p));
	dst->num = src->num;
	return 0;
}

void xs_node_free(struct xs_node *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->perms.p);
	free(n->value);
	free(n->children);
	free(n);
}

static void *memdup(const void *p, size_t len)
{
	void *q;

	if (!len)
		return NULL;
	q = malloc(len);
	if (q)
		memcpy(q, p, len);
	return q;
}

struct xs_node *xs_node_dup(const struct xs_node *n)
{
	struct xs_node *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	*d = *n;
	d->path = strdup(n->path);
	d->perms.p = memdup(n->perms.p, (size_t)n->perms.num * sizeof(*n->perms.p));
	d->value = memdup(n->value, n->vlen);
	d->children = memdup(n->children, n->clen);
	if (!d->path || !d->perms.p || (n->vlen && !d->value) || (n->clen && !d->children)) {
		xs_node_free(d);
		return NULL;
	}
	return d;
}

struct xs_node *xs_global_get(struct xs_core *core, const char *path)
{
	return xs_map_get(&core->nodes, path);
}

void xs_owned_adjust(struct xs_core *core, uint32_t domid, int delta)
{
	if (domid > XS_DOMID_MAX)
		return;
	if (delta < 0 && core->owned[domid] < (uint32_t)-delta)
		core->owned[domid] = 0;
	else
		core->owned[domid] += (uint32_t)delta;
}

static void owned_adjust(struct xs_op *op, uint32_t domid, int delta)
{
	if (op->txn)
		xs_txn_owned_adjust(op->txn, domid, delta);
	else
		xs_owned_adjust(op->core, domid, delta);
}

static uint32_t owned_count(struct xs_op *op, uint32_t domid)
{
	int64_t n = domid <= XS_DOMID_MAX ? op->core->owned[domid] : 0;

	if (op->txn)
		n += xs_txn_owned(op->txn, domid);
	return n < 0 ? 0 : (uint32_t)n;
}

/* Size a node is charged for against the node-size quota. */
static uint32_t node_size(uint32_t nperms, uint32_t vlen, uint32_t clen)
{
	return 16 + nperms * 8 + vlen + clen;
}

static int check_size(struct xs_op *op, uint32_t nperms, uint32_t vlen, uint32_t clen)
{
	if (xs_conn_unpriv(op->conn) && op->core->quota.node_size &&
	    node_size(nperms, vlen, clen) >= op->core->quota.node_size)
		return ENOSPC;
	return 0;
}

struct xs_node *xs_node_read(struct xs_op *op, const char *path, int *err)
{
	struct xs_node *n;

	if (op->txn) {
		struct xs_tentry *e = xs_txn_access(op, path, err);

		if (!e)
			return NULL;
		n = e->node;
	} else {
		n = xs_map_get(&op->core->nodes, path);
	}
	if (!n)
		*err = ENOENT;
	return n;
}

static char *parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash || slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * A node we may not see must not reveal whether it exists: answer EACCES
 * unless the closest existing ancestor grants the access asked for.
 */
static int errno_from_parents(struct xs_op *op, const char *path, int err, uint32_t perm)
{
	char *p = strdup(path), *q;
	int rerr = 0;
	struct xs_node *n = NULL;

	if (err == ENOMEM || err == ENOSPC || !p)
		return p ? (free(p), err) : ENOMEM;
	while (strcmp(p, "/")) {
		q = parent_of(p);
		free(p);
		p = q;
		if (!p)
			return ENOMEM;
		n = xs_node_read(op, p, &rerr);
		if (n)
			break;
		if (rerr != ENOENT) {
			free(p);
			return rerr;
		}
	}
	free(p);
	if (!n)
		return EACCES;
	return (xs_perm_for(op->conn, &n->perms) & perm) ? err : EACCES;
}

struct xs_node *xs_node_get(struct xs_op *op, const char *path, uint32_t perm, int *err)
{
	struct xs_node *n;

	if (!path || !xs_path_valid(op->core, path)) {
		*err = EINVAL;
		return NULL;
	}
	n = xs_node_read(op, path, err);
	if (n && (xs_perm_for(op->conn, &n->perms) & perm) != perm) {
		*err = EACCES;
		n = NULL;
	}
	if (!n)
		*err = errno_from_parents(op, path, *err, perm);
	return n;
}

/* The node changed: new generation; in a transaction, mark it for commit. */
int xs_node_write(struct xs_op *op, struct xs_node *node)
{
	node->gen = ++op->core->generation;
	if (op->txn) {
		struct xs_tentry *e = xs_txn_entry(op->txn, node->path);

		if (!e)
			return EIO;
		e->modified = true;
	}
	return 0;
}

int xs_node_set_value(struct xs_op *op, struct xs_node *node, const void *v, uint32_t len)
{
	uint8_t *nv = NULL;
	int err = check_size(op, node->perms.num, len, node->clen);

	if (err)
		return err;
	if (len && !(nv = memdup(v, len)))
		return ENOMEM;
	free(node->value);
	node->value = nv;
	node->vlen = len;
	return xs_node_write(op, node);
}

static const char *basename_of(const char *path)
{
	return strrchr(path, '/') + 1;
}

static int add_child(struct xs_op *op, struct xs_node *parent, const char *child_path)
{
	const char *base = basename_of(child_path);
	uint32_t blen = (uint32_t)strlen(base) + 1;
	char *c = realloc(parent->children, parent->clen + blen);

	if (!c)
		return ENOMEM;
	memcpy(c + parent->clen, base, blen);
	parent->children = c;
	parent->clen += blen;
	return xs_node_write(op, parent);
}

static int remove_child(struct xs_op *op, struct xs_node *parent, const char *child_path)
{
	const char *base = basename_of(child_path);
	uint32_t off = 0;

	while (off < parent->clen) {
		uint32_t l = (uint32_t)strlen(parent->children + off) + 1;

		if (!strcmp(parent->children + off, base)) {
			memmove(parent->children + off, parent->children + off + l,
				parent->clen - off - l);
			parent->clen -= l;
			return xs_node_write(op, parent);
		}
		off += l;
	}
	return EIO;
}

/* Puts a freshly built node into the store (or the transaction). */
static int insert_node(struct xs_op *op, struct xs_node *n)
{
	if (op->txn) {
		struct xs_tentry *e = xs_txn_entry(op->txn, n->path);

		if (!e || e->node)
			return EIO;
		e->node = n;
		e->modified = true;
		return 0;
	}
	return xs_map_put(&op->core->nodes, n->path, n) ? ENOMEM : 0;
}

int xs_node_create(struct xs_op *op, const char *path, const void *v, uint32_t len,
		   struct xs_node **out)
{
	char **missing = NULL;
	uint32_t nmiss = 0, i;
	struct xs_node *parent = NULL, *n = NULL;
	char *p = strdup(path);
	int err = 0;

	if (!p)
		return ENOMEM;
	/* Walk up to the closest existing ancestor, remembering the gaps. */
	for (;;) {
		char **m;

		parent = xs_node_read(op, p, &err);
		if (parent)
			break;
		if (err != ENOENT || !strcmp(p, "/"))
			goto out;
		m = realloc(missing, (nmiss + 1) * sizeof(*missing));
		if (!m) {
			err = ENOMEM;
			goto out;
		}
		missing = m;
		missing[nmiss++] = p;
		p = parent_of(p);
		if (!p) {
			err = ENOMEM;
			goto out;
		}
	}
	free(p);
	p = NULL;
	err = 0;
	if (!nmiss) {
		*out = parent;
		goto out;
	}

	/* Check every quota before changing anything. */
	if (xs_conn_unpriv(op->conn)) {
		const struct xs_quota *q = &op->core->quota;

		if (q->nodes && owned_count(op, op->conn->id) + nmiss > q->nodes) {
			err = ENOSPC;
			goto out;
		}
		err = check_size(op, parent->perms.num, parent->vlen,
				 parent->clen + (uint32_t)strlen(basename_of(missing[nmiss - 1])) +
				     1);
		for (i = nmiss; !err && i-- > 1;)
			err = check_size(op, parent->perms.num, 0,
					 (uint32_t)strlen(basename_of(missing[i - 1])) + 1);
		if (!err)
			err = check_size(op, parent->perms.num, len, 0);
		if (err)
			goto out;
	}

	for (i = nmiss; i-- > 0;) {
		n = calloc(1, sizeof(*n));
		if (!n || xs_perms_copy(&n->perms, &parent->perms)) {
			free(n);
			err = ENOMEM;
			goto out;
		}
		n->path = missing[i];
		missing[i] = NULL;
		/* Unprivileged domains own what they create. */
		if (xs_conn_unpriv(op->conn))
			n->perms.p[0].id = op->conn->id;
		if (i == 0 && len) {
			n->value = memdup(v, len);
			if (!n->value) {
				xs_node_free(n);
				err = ENOMEM;
				goto out;
			}
			n->vlen = len;
		}
		n->gen = ++op->core->generation;
		err = insert_node(op, n);
		if (err) {
			xs_node_free(n);
			goto out;
		}
		err = add_child(op, parent, n->path);
		if (err) {
			/* Only the node just inserted is unlisted: take it out again. */
			if (op->txn)
				xs_txn_entry(op->txn, n->path)->node = NULL;
			else
				xs_map_del(&op->core->nodes, n->path);
			xs_node_free(n);
			goto out;
		}
		owned_adjust(op, n->perms.p[0].id, 1);
		parent = n;
	}
	*out = n;
out:
	/* Quota refusals change nothing; anything else may have, halfway. */
	if (err && err != ENOSPC && op->txn)
		op->txn->failed = true;
	for (i = 0; i < nmiss; i++)
		free(missing[i]);
	free(missing);
	free(p);
	return err;
}

struct pathlist {
	char **v;
	size_t n, cap;
};

static int pathlist_add(struct pathlist *l, char *p)
{
	if (!p)
		return ENOMEM;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			free(p);
			return ENOMEM;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

/* Paths of the subtree at path, children before parents. */
static int collect_subtree(struct xs_op *op, const char *path, struct pathlist *l)
{
	struct xs_node *n;
	int err = 0;
	uint32_t off;
	char *cp;

	n = xs_node_read(op, path, &err);
	if (!n)
		return err == ENOENT ? 0 : err;
	for (off = 0; off < n->clen; off += (uint32_t)strlen(n->children + off) + 1) {
		if (asprintf(&cp, "%s%s%s", path, strcmp(path, "/") ? "/" : "", n->children + off) <
		    0)
			return ENOMEM;
		err = collect_subtree(op, cp, l);
		free(cp);
		if (err)
			return err;
	}
	return pathlist_add(l, strdup(path));
}

/*
 * Everything that can fail (allocation, the transaction's node quota) happens
 * while collecting, so the store is never left half-removed.
 */
static int rm_subtree(struct xs_op *op, const char *root)
{
	struct pathlist l = { 0 };
	size_t i;
	int err = collect_subtree(op, root, &l);

	for (i = 0; !err && i < l.n; i++) {
		const char *path = l.v[i];
		struct xs_node *n = xs_node_read(op, path, &err);

		if (!n)
			break;
		/* Children fire only for watches on exactly them. */
		xs_fire(op, path, i + 1 < l.n, &n->perms);
		owned_adjust(op, n->perms.p[0].id, -1);
		++op->core->generation;
		if (op->txn) {
			struct xs_tentry *e = xs_txn_entry(op->txn, path);

			xs_node_free(e->node);
			e->node = NULL;
			e->modified = true;
		} else {
			xs_map_del(&op->core->nodes, path);
			xs_node_free(n);
		}
	}
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	return err;
}

int xs_node_rm(struct xs_op *op, const char *path)
{
	char *pp = parent_of(path);
	struct xs_node *parent;
	int err = 0;

	if (!pp)
		return ENOMEM;
	parent = xs_node_read(op, pp, &err);
	free(pp);
	if (!parent)
		return err == ENOENT ? EINVAL : err;
	err = rm_subtree(op, path);
	if (!err && remove_child(op, parent, path)) {
		err = EIO;
		if (op->txn)
			op->txn->failed = true;
	}
	return err;
}

int xs_node_set_perms(struct xs_op *op, struct xs_node *node, struct xs_perms *perms)
{
	struct xs_perms old = node->perms;
	int err = check_size(op, perms->num, node->vlen, node->clen);

	if (err)
		return err;
	node->perms = *perms;
	perms->p = NULL;
	perms->num = 0;
	if (old.p[0].id != node->perms.p[0].id) {
		owned_adjust(op, old.p[0].id, -1);
		owned_adjust(op, node->perms.p[0].id, 1);
	}
	err = xs_node_write(op, node);
	if (!err)
		xs_fire(op, node->path, false, &old);
	free(old.p);
	return err;
}

static int cmp_len(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? -1 : la > lb;
}

void xs_tree_forget_domain(struct xs_core *core, uint32_t domid)
{
	struct xs_op op = { .core = core };
	char **paths = NULL;
	size_t n = 0, pos = 0, i;
	struct xs_node *node;

	/* Collect first: removing while iterating would disturb the map. */
	while ((node = xs_map_next(&core->nodes, &pos))) {
		if (node->perms.p[0].id == domid && strcmp(node->path, "/")) {
			char **np = realloc(paths, (n + 1) * sizeof(*paths));

			if (!np)
				break;
			paths = np;
			paths[n] = strdup(node->path);
			if (!paths[n])
				break;
			n++;
		}
	}
	/* Parents first; their removal takes the children with them. */
	if (n)
		qsort(paths, n, sizeof(*paths), cmp_len);
	for (i = 0; i < n; i++) {
		node = xs_map_get(&core->nodes, paths[i]);
		if (node && node->perms.p[0].id == domid && xs_node_rm(&op, paths[i]))
			xs_log(core, XS_LOG_ERR, "cannot remove %s of domain %u", paths[i], domid);
		free(paths[i]);
	}
	free(paths);

	pos = 0;
	while ((node = xs_map_next(&core->nodes, &pos))) {
		uint32_t r, w;

		for (r = w = 1; r < node->perms.num; r++)
			if (node->perms.p[r].id != domid)
				node->perms.p[w++] = node->perms.p[r];
		node->perms.num = w;
	}
}
