/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The wire protocol: one named table of operations with their flags, the
 * dispatcher, and the tree operations.  Domain and control operations live in
 * domain.c.  Replies, errors and their strings follow Xen's xenstored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

const char *xs_errname(int err)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

int xs_reply(struct xs_op *op, const void *data, uint32_t len)
{
	const char *e2big = "E2BIG";

	op->replied = true;
	if (!op->conn)
		return 0;
	if (len > XENSTORE_PAYLOAD_MAX)
		return xs_conn_queue(op->conn, XS_ERROR, op->hdr->req_id, op->hdr->tx_id, e2big,
				     (uint32_t)strlen(e2big) + 1, false);
	return xs_conn_queue(op->conn, op->hdr->type, op->hdr->req_id, op->hdr->tx_id, data, len,
			     false);
}

int xs_reply_ok(struct xs_op *op)
{
	return xs_reply(op, "OK", 3);
}

static void reply_error(struct xs_op *op, int err)
{
	const char *s = xs_errname(err);

	op->replied = true;
	if (op->conn)
		xs_conn_queue(op->conn, XS_ERROR, op->hdr->req_id, op->hdr->tx_id, s,
			      (uint32_t)strlen(s) + 1, false);
}

/* The payload must be exactly one NUL-terminated string. */
const char *xs_onearg(const struct xs_op *op)
{
	if (!op->len || strlen(op->payload) + 1 != op->len)
		return NULL;
	return op->payload;
}

/* Counts the NUL-terminated strings in the payload, filling up to num. */
uint32_t xs_get_strings(const struct xs_op *op, const char **vec, uint32_t num)
{
	uint32_t off = 0, i = 0;

	while (off < op->len) {
		const char *s = op->payload + off;
		size_t l = strnlen(s, op->len - off);

		if (l == op->len - off)
			break; /* no terminating NUL inside the payload */
		if (i < num)
			vec[i] = s;
		i++;
		off += (uint32_t)l + 1;
	}
	return i;
}

/* atoi() without its undefined overflow: leading decimal digits, saturated. */
uint32_t xs_atou(const char *s)
{
	uint64_t v = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '+')
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return UINT32_MAX;
	}
	return (uint32_t)v;
}

static int op_read(struct xs_op *op)
{
	char *path = xs_canonicalize(op->conn, xs_onearg(op));
	struct xs_node *n;
	int err = 0;

	n = xs_node_get(op, path, XS_P_READ, &err);
	free(path);
	if (!n)
		return err;
	return xs_reply(op, n->value, n->vlen);
}

static int op_write(struct xs_op *op)
{
	const char *vec[1];
	char *path;
	struct xs_node *n;
	uint32_t off;
	int err = 0;

	if (xs_get_strings(op, vec, 1) < 1)
		return EINVAL;
	off = (uint32_t)strlen(vec[0]) + 1;
	path = xs_canonicalize(op->conn, vec[0]);
	if (!path)
		return ENOMEM;
	n = xs_node_get(op, path, XS_P_WRITE, &err);
	if (n)
		err = xs_node_set_value(op, n, op->payload + off, op->len - off);
	else if (err == ENOENT)
		err = xs_node_create(op, path, op->payload + off, op->len - off, &n);
	if (!err) {
		xs_fire(op, path, false, NULL);
		err = xs_reply_ok(op);
	}
	free(path);
	return err;
}

static int op_mkdir(struct xs_op *op)
{
	char *path = xs_canonicalize(op->conn, xs_onearg(op));
	struct xs_node *n;
	int err = 0;

	n = xs_node_get(op, path, XS_P_WRITE, &err);
	if (!n && err == ENOENT) {
		err = xs_node_create(op, path, NULL, 0, &n);
		if (!err)
			xs_fire(op, path, false, NULL);
	}
	free(path);
	return n && !err ? xs_reply_ok(op) : err;
}

static int op_rm(struct xs_op *op)
{
	char *path = xs_canonicalize(op->conn, xs_onearg(op));
	struct xs_node *n;
	int err = 0;

	n = xs_node_get(op, path, XS_P_WRITE, &err);
	if (!n) {
		/* Already gone is fine, if the parent is there. */
		if (err == ENOENT) {
			char *slash = strrchr(path, '/');

			*(slash == path ? slash + 1 : slash) = 0;
			if (xs_node_read(op, path, &err))
				err = xs_reply_ok(op);
			else if (err != ENOSPC && err != ENOMEM)
				err = ENOENT;
		}
	} else if (!strcmp(path, "/")) {
		err = EINVAL;
	} else {
		err = xs_node_rm(op, path);
		if (!err)
			err = xs_reply_ok(op);
	}
	free(path);
	return err;
}

static int op_directory(struct xs_op *op)
{
	char *path = xs_canonicalize(op->conn, xs_onearg(op));
	struct xs_node *n;
	int err = 0;

	n = xs_node_get(op, path, XS_P_READ, &err);
	free(path);
	if (!n)
		return err;
	return xs_reply(op, n->children, n->clen);
}

/* Reply: "<generation>\0" then whole child names from offset; "\0" ends. */
static int op_directory_part(struct xs_op *op)
{
	const char *vec[2];
	char *path, gen[24], *buf;
	struct xs_node *n;
	uint32_t off, len = 0, maxlen, genlen;
	int err = 0;

	if (xs_get_strings(op, vec, 2) != 2 || strlen(vec[0]) + strlen(vec[1]) + 2 != op->len)
		return EINVAL;
	path = xs_canonicalize(op->conn, vec[0]);
	n = xs_node_get(op, path, XS_P_READ, &err);
	free(path);
	if (!n)
		return err;
	off = xs_atou(vec[1]);
	genlen = (uint32_t)snprintf(gen, sizeof(gen), "%llu", (unsigned long long)n->gen) + 1;
	buf = malloc(XENSTORE_PAYLOAD_MAX);
	if (!buf)
		return ENOMEM;
	memcpy(buf, gen, genlen);
	if (off < n->clen) {
		maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
		while (off + len < n->clen) {
			uint32_t l = (uint32_t)strlen(n->children + off + len) + 1;

			if (len + l > maxlen)
				break;
			len += l;
		}
		memcpy(buf + genlen, n->children + off, len);
	}
	if (off + len >= n->clen)
		buf[genlen + len++] = 0;
	err = xs_reply(op, buf, genlen + len);
	free(buf);
	return err;
}

static int op_get_perms(struct xs_op *op)
{
	char *path = xs_canonicalize(op->conn, xs_onearg(op));
	struct xs_node *n;
	char *s;
	uint32_t len;
	int err = 0;

	n = xs_node_get(op, path, XS_P_READ, &err);
	free(path);
	if (!n)
		return err;
	s = xs_perms_format(&n->perms, &len);
	if (!s)
		return ENOMEM;
	err = xs_reply(op, s, len);
	free(s);
	return err;
}

static int set_special_perms(struct xs_op *op, const char *name, struct xs_perms *perms)
{
	struct xs_perms *sp = xs_special_perms(op->core, name);
	const uint32_t need = XS_P_WRITE | XS_P_OWNER;

	if (!sp)
		return EINVAL;
	if ((xs_perm_for(op->conn, sp) & need) != need)
		return EACCES;
	free(sp->p);
	*sp = *perms;
	perms->p = NULL;
	return xs_reply_ok(op);
}

static int op_set_perms(struct xs_op *op)
{
	const char *vec[1];
	uint32_t num = xs_get_strings(op, vec, 1), off;
	struct xs_perms perms = { 0 };
	struct xs_node *n;
	char *path;
	int err = 0;

	if (num < 2)
		return EINVAL;
	num--;
	if (xs_conn_unpriv(op->conn) && op->core->quota.permissions &&
	    num > op->core->quota.permissions)
		return ENOSPC;
	off = (uint32_t)strlen(vec[0]) + 1;
	err = xs_perms_parse(op->payload + off, op->len - off, num, &perms);
	if (err)
		return err;
	if (vec[0][0] == '@') {
		err = set_special_perms(op, vec[0], &perms);
		free(perms.p);
		return err;
	}
	path = xs_canonicalize(op->conn, vec[0]);
	/* Only the owner (or dom0, or its target's controller) may do this. */
	n = xs_node_get(op, path, XS_P_WRITE | XS_P_OWNER, &err);
	free(path);
	if (n && xs_conn_unpriv(op->conn) && perms.p[0].id != n->perms.p[0].id)
		err = EPERM;
	else if (n)
		err = xs_node_set_perms(op, n, &perms);
	free(perms.p);
	return n && !err ? xs_reply_ok(op) : err;
}

static int op_watch(struct xs_op *op)
{
	const char *vec[3];
	uint32_t n = xs_get_strings(op, vec, 3);
	int depth = -1, err;
	struct xs_watch *w;

	if (n != 2 && n != 3)
		return EINVAL;
	if (n == 3) {
		const char *d = vec[2];

		if (!*d || strspn(d, "0123456789") != strlen(d) || strlen(d) > 4)
			return EINVAL;
		depth = (int)xs_atou(d);
	}
	err = xs_watch_add(op->conn, vec[0], vec[1], depth);
	if (err)
		return err;
	err = xs_reply_ok(op);
	/* Fire once straight away: clients rely on it to read initial state. */
	w = xs_container_of(op->conn->watches.prev, struct xs_watch, link);
	{
		char *buf;
		size_t plen = strlen(vec[0]) + 1, tlen = strlen(vec[1]) + 1;
		const char *p = w->relative ? vec[0] : w->path;

		plen = strlen(p) + 1;
		buf = malloc(plen + tlen);
		if (buf) {
			memcpy(buf, p, plen);
			memcpy(buf + plen, w->token, tlen);
			if (plen + tlen <= XENSTORE_PAYLOAD_MAX)
				xs_conn_queue(op->conn, XS_WATCH_EVENT, 0, 0, buf,
					      (uint32_t)(plen + tlen), true);
			free(buf);
		}
	}
	return err;
}

static int op_unwatch(struct xs_op *op)
{
	const char *vec[2];
	int err;

	if (xs_get_strings(op, vec, 2) != 2)
		return EINVAL;
	err = xs_watch_remove(op->conn, vec[0], vec[1]);
	return err ? err : xs_reply_ok(op);
}

static int op_transaction_start(struct xs_op *op)
{
	struct xs_txn *t;
	char id[16];
	int err;

	/* No nested transactions. */
	if (op->txn)
		return EBUSY;
	err = xs_txn_start(op->conn, &t);
	if (err)
		return err;
	snprintf(id, sizeof(id), "%u", t->id);
	return xs_reply(op, id, (uint32_t)strlen(id) + 1);
}

static int op_transaction_end(struct xs_op *op)
{
	const char *arg = xs_onearg(op);
	struct xs_txn *t = op->txn;
	int err;

	if (!arg || (strcmp(arg, "T") && strcmp(arg, "F")))
		return EINVAL;
	if (!t)
		return ENOENT;
	/* The commit fires watches on the global store: run it outside. */
	op->txn = NULL;
	err = xs_txn_end(op, t, arg[0] == 'T');
	return err ? err : xs_reply_ok(op);
}

static int op_reset_watches(struct xs_op *op)
{
	struct xs_txn *t, *tmp;

	xs_watch_clear(op->conn);
	xs_list_for_each_safe (t, tmp, &op->conn->txns, struct xs_txn, link)
		xs_txn_free(t);
	op->txn = NULL;
	return xs_reply_ok(op);
}

#define OP(type, nm, f, fl) [type] = { .name = nm, .fn = f, .flags = fl }
static const struct xs_opdesc op_table[XS_TYPE_COUNT] = {
	OP(XS_CONTROL, "CONTROL", xs_op_control, XS_OPF_PRIV),
	OP(XS_DIRECTORY, "DIRECTORY", op_directory, 0),
	OP(XS_READ, "READ", op_read, 0),
	OP(XS_GET_PERMS, "GET_PERMS", op_get_perms, 0),
	OP(XS_WATCH, "WATCH", op_watch, XS_OPF_NOTID),
	OP(XS_UNWATCH, "UNWATCH", op_unwatch, XS_OPF_NOTID),
	OP(XS_TRANSACTION_START, "TRANSACTION_START", op_transaction_start, 0),
	OP(XS_TRANSACTION_END, "TRANSACTION_END", op_transaction_end, 0),
	OP(XS_INTRODUCE, "INTRODUCE", xs_op_introduce, XS_OPF_PRIV | XS_OPF_MUTATE),
	OP(XS_RELEASE, "RELEASE", xs_op_release, XS_OPF_PRIV | XS_OPF_MUTATE),
	OP(XS_GET_DOMAIN_PATH, "GET_DOMAIN_PATH", xs_op_get_domain_path, 0),
	OP(XS_WRITE, "WRITE", op_write, XS_OPF_MUTATE),
	OP(XS_MKDIR, "MKDIR", op_mkdir, XS_OPF_MUTATE),
	OP(XS_RM, "RM", op_rm, XS_OPF_MUTATE),
	OP(XS_SET_PERMS, "SET_PERMS", op_set_perms, XS_OPF_MUTATE),
	OP(XS_WATCH_EVENT, "WATCH_EVENT", NULL, 0),
	OP(XS_ERROR, "ERROR", NULL, 0),
	OP(XS_IS_DOMAIN_INTRODUCED, "IS_DOMAIN_INTRODUCED", xs_op_is_domain_introduced,
	   XS_OPF_PRIV),
	OP(XS_RESUME, "RESUME", xs_op_resume, XS_OPF_PRIV),
	OP(XS_SET_TARGET, "SET_TARGET", xs_op_set_target, XS_OPF_PRIV),
	OP(XS_RESET_WATCHES, "RESET_WATCHES", op_reset_watches, 0),
	OP(XS_DIRECTORY_PART, "DIRECTORY_PART", op_directory_part, 0),
};

const struct xs_opdesc *xs_op_lookup(uint32_t type)
{
	if (type >= XS_TYPE_COUNT || !op_table[type].fn)
		return NULL;
	return &op_table[type];
}

const char *xs_op_name(uint32_t type)
{
	if (type < XS_TYPE_COUNT && op_table[type].name)
		return op_table[type].name;
	return "UNKNOWN";
}

void xs_process(struct xs_conn *conn, const struct xsd_sockmsg *hdr, const void *payload)
{
	const struct xs_opdesc *d = xs_op_lookup(hdr->type);
	struct xs_op op = {
		.core = conn->core,
		.conn = conn,
		.hdr = hdr,
		.payload = payload,
		.len = hdr->len,
	};
	int err;

	if (conn->core->trace)
		xs_log(conn->core, XS_LOG_TRACE, "conn %u: %s req %u tx %u len %u", conn->id,
		       xs_op_name(hdr->type), hdr->req_id, hdr->tx_id, hdr->len);
	if (!d) {
		reply_error(&op, ENOSYS);
		return;
	}
	if ((d->flags & XS_OPF_PRIV) && xs_conn_unpriv(conn)) {
		reply_error(&op, EACCES);
		return;
	}
	if (!(d->flags & XS_OPF_NOTID) && hdr->tx_id) {
		op.txn = xs_txn_find(conn, hdr->tx_id);
		if (!op.txn) {
			reply_error(&op, ENOENT);
			return;
		}
	}
	err = d->fn(&op);
	if (err && !op.replied)
		reply_error(&op, err);
	else if (!op.replied)
		reply_error(&op, EIO);
}
