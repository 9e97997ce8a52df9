/* SPDX-License-Identifier: GPL-2.0-only */
/* Core lifetime, quota defaults, logging and the consistency check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

void xs_quota_defaults(struct xs_quota *q)
{
	/* Xen's xenstored defaults, plus a bound on queued watch events. */
	q->nodes = 1000;
	q->node_size = 2048;
	q->watches = 128;
	q->transactions = 10;
	q->transaction_nodes = 1024;
	q->outstanding = 20;
	q->permissions = 5;
	q->path_max = XENSTORE_REL_PATH_MAX;
	q->pending_events = 1024;
}

void xs_log(struct xs_core *core, int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!core->hooks.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	core->hooks.log(core->hooks.opaque, level, buf);
}

static int special_default(struct xs_perms *p)
{
	p->num = 1;
	p->p = calloc(1, sizeof(*p->p));
	return p->p ? 0 : ENOMEM;
}

static struct xs_node *initial_node(struct xs_core *core, const char *path, const char *child)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->perms.num = 1;
	n->perms.p = calloc(1, sizeof(*n->perms.p));
	if (child) {
		n->clen = (uint32_t)strlen(child) + 1;
		n->children = strdup(child);
	}
	n->gen = ++core->generation;
	if (!n->path || !n->perms.p || (child && !n->children) ||
	    xs_map_put(&core->nodes, n->path, n)) {
		xs_node_free(n);
		return NULL;
	}
	xs_owned_adjust(core, 0, 1);
	return n;
}

struct xs_core *xs_core_new(const struct xs_core_hooks *hooks)
{
	struct xs_core *core = calloc(1, sizeof(*core));

	if (!core)
		return NULL;
	xs_map_init(&core->nodes);
	xs_list_init(&core->conns);
	xs_list_init(&core->domains);
	xs_quota_defaults(&core->quota);
	if (hooks)
		core->hooks = *hooks;
	core->owned = calloc(XS_DOMID_MAX + 1, sizeof(*core->owned));
	/* The same start as Xen's: "/" -> "tool" -> "xenstored", owned by dom0. */
	if (!core->owned || special_default(&core->special_introduce) ||
	    special_default(&core->special_release) || !initial_node(core, "/", "tool") ||
	    !initial_node(core, "/tool", "xenstored") ||
	    !initial_node(core, "/tool/xenstored", NULL)) {
		xs_core_free(core);
		return NULL;
	}
	return core;
}

void xs_core_free(struct xs_core *core)
{
	struct xs_node *n;
	size_t pos = 0;

	if (!core)
		return;
	while (!xs_list_empty(&core->domains)) {
		struct xs_domain *d = xs_list_first(&core->domains, struct xs_domain, link);

		xs_list_del(&d->link);
		free(d);
	}
	while (!xs_list_empty(&core->conns))
		xs_conn_free(xs_list_first(&core->conns, struct xs_conn, link));
	while ((n = xs_map_next(&core->nodes, &pos)))
		xs_node_free(n);
	xs_map_destroy(&core->nodes);
	free(core->special_introduce.p);
	free(core->special_release.p);
	free(core->owned);
	free(core);
}

/* Every node's parent lists it, every listed child exists, counts add up. */
int xs_core_check(struct xs_core *core)
{
	uint32_t *owned = calloc(XS_DOMID_MAX + 1, sizeof(*owned));
	struct xs_node *n;
	size_t pos = 0;
	int bad = 0;

	if (!owned)
		return ENOMEM;
	while ((n = xs_map_next(&core->nodes, &pos))) {
		uint32_t off;

		if (n->perms.num < 1 || n->perms.p[0].id > XS_DOMID_MAX) {
			xs_log(core, XS_LOG_ERR, "check: %s has bad perms", n->path);
			bad = 1;
			continue;
		}
		owned[n->perms.p[0].id]++;
		if (strcmp(n->path, "/")) {
			const char *slash = strrchr(n->path, '/');
			char *pp =
			    slash == n->path ? strdup("/") : strndup(n->path, slash - n->path);
			struct xs_node *p = pp ? xs_global_get(core, pp) : NULL;
			bool listed = false;

			for (off = 0; p && off < p->clen; off += strlen(p->children + off) + 1)
				listed |= !strcmp(p->children + off, slash + 1);
			if (!listed) {
				xs_log(core, XS_LOG_ERR, "check: %s not listed in its parent",
				       n->path);
				bad = 1;
			}
			free(pp);
		}
		for (off = 0; off < n->clen; off += strlen(n->children + off) + 1) {
			char *cp;

			if (asprintf(&cp, "%s/%s", strcmp(n->path, "/") ? n->path : "",
				     n->children + off) < 0)
				continue;
			if (!xs_global_get(core, cp)) {
				xs_log(core, XS_LOG_ERR, "check: child %s missing", cp);
				bad = 1;
			}
			free(cp);
		}
	}
	if (memcmp(owned, core->owned, (XS_DOMID_MAX + 1) * sizeof(*owned))) {
		xs_log(core, XS_LOG_ERR, "check: node ownership counts differ");
		bad = 1;
	}
	free(owned);
	return bad ? EIO : 0;
}
