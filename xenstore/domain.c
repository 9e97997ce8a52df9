/* SPDX-License-Identifier: GPL-2.0-only */
/* Domains (introduce, release, shutdown, targets) and the CONTROL command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

struct xs_domain *xs_domain_find(struct xs_core *core, uint32_t domid)
{
	struct xs_domain *d;

	xs_list_for_each (d, &core->domains, struct xs_domain, link)
		if (d->domid == domid)
			return d;
	return NULL;
}

struct xs_perms *xs_special_perms(struct xs_core *core, const char *name)
{
	if (!strcmp(name, "@introduceDomain"))
		return &core->special_introduce;
	if (!strcmp(name, "@releaseDomain"))
		return &core->special_release;
	return NULL;
}

struct xs_domain *xs_domain_introduce(struct xs_core *core, uint32_t domid, struct xs_conn *conn,
				      int *err)
{
	struct xs_domain *d = xs_domain_find(core, domid);

	if (d) {
		if (conn && d->conn != conn) {
			xs_conn_free(d->conn);
			d->conn = conn;
		}
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		*err = ENOMEM;
		return NULL;
	}
	d->domid = domid;
	d->conn = conn;
	xs_list_add_tail(&core->domains, &d->link);
	if (domid != 0)
		xs_fire_special(core, "@introduceDomain", domid);
	return d;
}

static void strip_special(struct xs_perms *p, uint32_t domid)
{
	uint32_t r, w;

	if (p->p[0].id == domid)
		p->p[0].id = 0;
	for (r = w = 1; r < p->num; r++)
		if (p->p[r].id != domid)
			p->p[w++] = p->p[r];
	p->num = w;
}

void xs_domain_release(struct xs_core *core, struct xs_domain *d)
{
	uint32_t domid = d->domid;

	/* The hook normally frees the transport and with it the connection. */
	if (core->hooks.release)
		core->hooks.release(core->hooks.opaque, domid);
	if (d->conn)
		xs_conn_free(d->conn);
	xs_list_del(&d->link);
	free(d);
	xs_tree_forget_domain(core, domid);
	strip_special(&core->special_introduce, domid);
	strip_special(&core->special_release, domid);
	xs_fire_special(core, "@releaseDomain", domid);
}

void xs_domain_shutdown(struct xs_core *core, struct xs_domain *d)
{
	/* Fire once per shutdown; RESUME re-arms it. */
	if (d->shutdown)
		return;
	d->shutdown = true;
	xs_fire_special(core, "@releaseDomain", d->domid);
}

/* INTRODUCE <domid>|<gfn>|<evtchn>|? */
int xs_op_introduce(struct xs_op *op)
{
	const char *vec[3];
	uint32_t domid, port;
	uint64_t gfn;
	struct xs_domain *d;
	int err = 0;

	if (xs_get_strings(op, vec, 3) < 3)
		return EINVAL;
	domid = xs_atou(vec[0]);
	gfn = strtoull(vec[1], NULL, 10);
	port = xs_atou(vec[2]);
	if (!port || !domid || domid >= XS_DOMID_SELF)
		return EINVAL;
	d = xs_domain_find(op->core, domid);
	if (op->core->hooks.introduce) {
		err = op->core->hooks.introduce(op->core->hooks.opaque, op->conn, domid, gfn, port);
		if (err)
			return err;
	} else if (d && d->conn) {
		/* Re-introduction resets the connection, as Xen does. */
		xs_conn_reset(d->conn);
	}
	if (!xs_domain_find(op->core, domid) && !xs_domain_introduce(op->core, domid, NULL, &err))
		return err;
	return xs_reply_ok(op);
}

static int onearg_domain(struct xs_op *op, struct xs_domain **out)
{
	const char *arg = xs_onearg(op);
	uint32_t domid;

	if (!arg)
		return EINVAL;
	domid = xs_atou(arg);
	if (!domid)
		return EINVAL;
	*out = xs_domain_find(op->core, domid);
	return *out ? 0 : ENOENT;
}

int xs_op_release(struct xs_op *op)
{
	struct xs_domain *d;
	int err = onearg_domain(op, &d);

	if (err)
		return err;
	if (op->conn && d->conn == op->conn)
		return EINVAL;
	xs_domain_release(op->core, d);
	return xs_reply_ok(op);
}

int xs_op_resume(struct xs_op *op)
{
	struct xs_domain *d;
	int err = onearg_domain(op, &d);

	if (err)
		return err;
	d->shutdown = false;
	return xs_reply_ok(op);
}

int xs_op_get_domain_path(struct xs_op *op)
{
	const char *arg = xs_onearg(op);
	char path[40];

	if (!arg)
		return EINVAL;
	snprintf(path, sizeof(path), "/local/domain/%u", xs_atou(arg));
	return xs_reply(op, path, (uint32_t)strlen(path) + 1);
}

int xs_op_is_domain_introduced(struct xs_op *op)
{
	const char *arg = xs_onearg(op);
	uint32_t domid;
	bool yes;

	if (!arg)
		return EINVAL;
	domid = xs_atou(arg);
	yes = domid == XS_DOMID_SELF || xs_domain_find(op->core, domid);
	return xs_reply(op, yes ? "T" : "F", 2);
}

/* SET_TARGET <domid>|<tdomid>| */
int xs_op_set_target(struct xs_op *op)
{
	const char *vec[2];
	struct xs_domain *d, *t;

	if (xs_get_strings(op, vec, 2) < 2)
		return EINVAL;
	d = xs_domain_find(op->core, xs_atou(vec[0]));
	t = xs_domain_find(op->core, xs_atou(vec[1]));
	if (!d || !t)
		return ENOENT;
	if (!d->conn)
		return EINVAL;
	d->conn->target = (int32_t)t->domid;
	return xs_reply_ok(op);
}

/* ---- CONTROL ---- */

struct quota_desc {
	const char *name;
	size_t off;
	const char *descr;
};

#define Q(n, f, d)                                                                                 \
	{                                                                                          \
		n, offsetof(struct xs_quota, f), d                                                 \
	}
static const struct quota_desc quotas[] = {
	Q("nodes", nodes, "Nodes per domain"),
	Q("watches", watches, "Watches per domain"),
	Q("transactions", transactions, "Transactions per domain"),
	Q("outstanding", outstanding, "Outstanding requests per domain"),
	Q("transaction-nodes", transaction_nodes, "Max. number of accessed nodes per transaction"),
	Q("node-size", node_size, "Max. size of a node"),
	Q("path-max", path_max, "Max. length of a node path"),
	Q("permissions", permissions, "Max. number of permissions per node"),
	Q("pending-events", pending_events, "Max. queued watch events per domain"),
};

static uint32_t *quota_field(struct xs_core *core, const struct quota_desc *q)
{
	return (uint32_t *)((char *)&core->quota + q->off);
}

static int reply_string(struct xs_op *op, char *s)
{
	int err;

	if (!s)
		return ENOMEM;
	err = xs_reply(op, s, (uint32_t)strlen(s) + 1);
	free(s);
	return err;
}

static int ctl_quota(struct xs_op *op, const char **argv, uint32_t argc)
{
	char *s = NULL;
	size_t i, len = 0;
	FILE *f;

	if (argc == 3 && !strcmp(argv[0], "set")) {
		long v = strtol(argv[2], NULL, 10);

		if (v < 1 || v > (long)UINT32_MAX)
			return EINVAL;
		for (i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++) {
			if (!strcmp(argv[1], quotas[i].name)) {
				*quota_field(op->core, &quotas[i]) = (uint32_t)v;
				return xs_reply_ok(op);
			}
		}
		return EINVAL;
	}
	if (argc > 1)
		return EINVAL;
	f = open_memstream(&s, &len);
	if (!f)
		return ENOMEM;
	if (argc == 0) {
		fprintf(f, "Quota settings:\n");
		for (i = 0; i < sizeof(quotas) / sizeof(quotas[0]); i++)
			fprintf(f, "%-17s: %8u %s\n", quotas[i].name,
				*quota_field(op->core, &quotas[i]), quotas[i].descr);
	} else {
		uint32_t domid = xs_atou(argv[0]);
		struct xs_domain *d = xs_domain_find(op->core, domid);

		if (!d || domid > XS_DOMID_MAX) {
			fclose(f);
			free(s);
			return ENOENT;
		}
		fprintf(f, "Domain %u:\n", domid);
		fprintf(f, "%-17s: %8u\n", "nodes", op->core->owned[domid]);
		fprintf(f, "%-17s: %8u\n", "watches", d->conn ? d->conn->nwatches : 0);
		fprintf(f, "%-17s: %8u\n", "transactions", d->conn ? d->conn->ntxns : 0);
		fprintf(f, "%-17s: %8u\n", "outstanding", d->conn ? d->conn->out_replies : 0);
	}
	fclose(f);
	return reply_string(op, s);
}

static int ctl_check(struct xs_op *op, const char **argv, uint32_t argc)
{
	if (argc)
		return EINVAL;
	return xs_core_check(op->core) ? EIO : xs_reply_ok(op);
}

static int ctl_log(struct xs_op *op, const char **argv, uint32_t argc)
{
	if (argc != 1)
		return EINVAL;
	if (!strcmp(argv[0], "on"))
		op->core->trace = true;
	else if (!strcmp(argv[0], "off"))
		op->core->trace = false;
	else
		return EINVAL;
	return xs_reply_ok(op);
}

static int ctl_print(struct xs_op *op, const char **argv, uint32_t argc)
{
	if (argc != 1)
		return EINVAL;
	xs_log(op->core, XS_LOG_INFO, "control: %s", argv[0]);
	return xs_reply_ok(op);
}

static int ctl_help(struct xs_op *op, const char **argv, uint32_t argc);

static const struct {
	const char *name;
	int (*fn)(struct xs_op *op, const char **argv, uint32_t argc);
	const char *pars;
} ctl_cmds[] = {
	{ "check", ctl_check, "" },	    { "log", ctl_log, "on|off" },
	{ "print", ctl_print, "<string>" }, { "quota", ctl_quota, "[set <name> <val>|<domid>]" },
	{ "help", ctl_help, "" },
};

static int ctl_help(struct xs_op *op, const char **argv, uint32_t argc)
{
	char *s = NULL;
	size_t len = 0, i;
	FILE *f;

	if (argc)
		return EINVAL;
	f = open_memstream(&s, &len);
	if (!f)
		return ENOMEM;
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		fprintf(f, "%s\t%s\n", ctl_cmds[i].name, ctl_cmds[i].pars);
	fclose(f);
	return reply_string(op, s);
}

#define CTL_MAX_ARGS 8

/* CONTROL <command>|[<parameters>|]* */
int xs_op_control(struct xs_op *op)
{
	const char *vec[CTL_MAX_ARGS + 1];
	uint32_t n = xs_get_strings(op, vec, CTL_MAX_ARGS + 1);
	size_t i;

	if (n == 0)
		return EINVAL;
	for (i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
		if (!strcmp(vec[0], ctl_cmds[i].name)) {
			if (n > CTL_MAX_ARGS + 1)
				return EINVAL;
			return ctl_cmds[i].fn(op, vec + 1, n - 1);
		}
	}
	return EINVAL;
}
