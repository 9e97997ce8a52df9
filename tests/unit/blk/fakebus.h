/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fakes for struct xk_bus_env: an in-memory xenstore with queued watches,
 * event channels that record notifies and bindings, and a grant table of
 * test pages with per-ref permissions, pins per ref and kind, and a count of
 * live mappings.  A ref can be revoked, made read-only or pointed at another
 * page (moved) at any time, as a hostile guest can rewrite its entries.
 */
#ifndef XENKVM_TEST_FAKEBUS_H
#define XENKVM_TEST_FAKEBUS_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xenbus.h"

#define FAKE_DOMID   1
#define FAKE_NGRANTS 96

struct fnode {
	char *path, *value;
	struct fnode *next;
};

struct fwatch {
	char *path, *token;
	xk_watch_fn fn;
	void *arg;
	struct fwatch *next;
};

struct fevent {
	char *path, *token;
	struct fevent *next;
};

static struct fake {
	struct fnode *nodes;
	struct fwatch *watches;
	struct fevent *events, **events_tail;
	/* event channels */
	unsigned notifies;
	uint32_t last_notify;
	xk_kick_fn kick[64];
	void *kick_arg[64];
	/* grants */
	uint8_t (*pages)[4096];
	bool readonly[FAKE_NGRANTS];
	bool revoked[FAKE_NGRANTS];
	unsigned moved[FAKE_NGRANTS]; /* page index + 1 if not the ref's own */
	int rpins[FAKE_NGRANTS], wpins[FAKE_NGRANTS];
	int live_maps; /* maps minus unmaps, pages counted */
	unsigned map_calls, map_failures, check_calls, bad_unmaps;
} fk;

static struct fnode *fnode_find(const char *path)
{
	for (struct fnode *n = fk.nodes; n; n = n->next)
		if (!strcmp(n->path, path))
			return n;
	return NULL;
}

static void fire(const char *path)
{
	for (struct fwatch *w = fk.watches; w; w = w->next) {
		size_t l = strlen(w->path);
		if (!strncmp(path, w->path, l) && (path[l] == 0 || path[l] == '/')) {
			struct fevent *e = calloc(1, sizeof(*e));
			e->path = strdup(path);
			e->token = strdup(w->token);
			*fk.events_tail = e;
			fk.events_tail = &e->next;
		}
	}
}

/* Deliver queued watch events (by token, as xenstored does). */
static void pump(void)
{
	struct fevent *e;

	while ((e = fk.events)) {
		fk.events = e->next;
		if (!fk.events)
			fk.events_tail = &fk.events;
		for (struct fwatch *w = fk.watches; w; w = w->next) {
			if (!strcmp(w->token, e->token)) {
				w->fn(w->arg, e->path, e->token);
				break;
			}
		}
		free(e->path);
		free(e->token);
		free(e);
	}
}

static char *f_read(void *o, const char *path)
{
	struct fnode *n = fnode_find(path);
	if (!n) {
		errno = ENOENT;
		return NULL;
	}
	return strdup(n->value);
}

static int f_write(void *o, const char *path, const char *value)
{
	struct fnode *n = fnode_find(path);
	if (!n) {
		n = calloc(1, sizeof(*n));
		n->path = strdup(path);
		n->next = fk.nodes;
		fk.nodes = n;
	} else {
		free(n->value);
	}
	n->value = strdup(value);
	fire(path);
	return 0;
}

static int f_rm(void *o, const char *path)
{
	size_t l = strlen(path);
	for (struct fnode **p = &fk.nodes; *p;) {
		struct fnode *n = *p;
		if (!strncmp(n->path, path, l) && (n->path[l] == 0 || n->path[l] == '/')) {
			*p = n->next;
			fire(n->path);
			free(n->path);
			free(n->value);
			free(n);
		} else {
			p = &n->next;
		}
	}
	return 0;
}

static int f_watch(void *o, const char *path, const char *token, xk_watch_fn fn, void *arg)
{
	struct fwatch *w = calloc(1, sizeof(*w));
	w->path = strdup(path);
	w->token = strdup(token);
	w->fn = fn;
	w->arg = arg;
	w->next = fk.watches;
	fk.watches = w;
	struct fevent *e = calloc(1, sizeof(*e));
	e->path = strdup(path);
	e->token = strdup(token);
	*fk.events_tail = e;
	fk.events_tail = &e->next;
	return 0;
}

static int f_unwatch(void *o, const char *path, const char *token)
{
	for (struct fwatch **p = &fk.watches; *p; p = &(*p)->next) {
		struct fwatch *w = *p;
		if (!strcmp(w->token, token) && !strcmp(w->path, path)) {
			*p = w->next;
			free(w->path);
			free(w->token);
			free(w);
			return 0;
		}
	}
	return -ENOENT;
}

static int f_device_add(void *o, const char *type, uint32_t domid, uint32_t devid,
			const char *const *be, const char *const *fe)
{
	char bp[128], fp[128], path[256];

	snprintf(bp, sizeof(bp), "/local/domain/0/backend/%s/%u/%u", type, domid, devid);
	snprintf(fp, sizeof(fp), "/local/domain/%u/device/%s/%u", domid, type, devid);
	snprintf(path, sizeof(path), "%s/frontend", bp);
	f_write(o, path, fp);
	snprintf(path, sizeof(path), "%s/backend", fp);
	f_write(o, path, bp);
	for (size_t i = 0; be && be[i]; i += 2) {
		snprintf(path, sizeof(path), "%s/%s", bp, be[i]);
		f_write(o, path, be[i + 1]);
	}
	for (size_t i = 0; fe && fe[i]; i += 2) {
		snprintf(path, sizeof(path), "%s/%s", fp, fe[i]);
		f_write(o, path, fe[i + 1]);
	}
	return 0;
}

static void f_notify(void *o, uint32_t port)
{
	fk.notifies++;
	fk.last_notify = port;
}

static int f_bind(void *o, uint32_t port, xk_kick_fn kick, void *arg)
{
	if (port == 0 || port >= 64)
		return -EINVAL;
	if (fk.kick[port])
		return -EBUSY;
	fk.kick[port] = kick;
	fk.kick_arg[port] = arg;
	return 0;
}

static void f_unbind(void *o, uint32_t port)
{
	if (port < 64)
		fk.kick[port] = NULL;
}

static int f_map(void *o, uint32_t domid, const uint32_t *refs, unsigned n, bool write,
		 void **pages)
{
	fk.map_calls++;
	if (domid != FAKE_DOMID)
		return -ESRCH;
	for (unsigned i = 0; i < n; i++) {
		if (refs[i] >= FAKE_NGRANTS || fk.revoked[refs[i]] ||
		    (write && fk.readonly[refs[i]])) {
			fk.map_failures++;
			return -EPERM;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t r = refs[i];
		pages[i] = fk.pages[fk.moved[r] ? fk.moved[r] - 1 : r];
		(write ? fk.wpins : fk.rpins)[r]++;
	}
	fk.live_maps += (int)n;
	return 0;
}

static void f_unmap(void *o, uint32_t domid, const uint32_t *refs, unsigned n, bool write)
{
	fk.live_maps -= (int)n;
	for (unsigned i = 0; i < n; i++) {
		int *pins = write ? fk.wpins : fk.rpins;
		if (refs[i] >= FAKE_NGRANTS || pins[refs[i]] == 0)
			fk.bad_unmaps++; /* not mapped so: a backend bug */
		else
			pins[refs[i]]--;
	}
}

/* As emu/gnttab.c's: the pinned ref still grants the same page. */
static int f_check(void *o, uint32_t domid, uint32_t ref, bool write, const void *page)
{
	fk.check_calls++;
	if (domid != FAKE_DOMID || ref >= FAKE_NGRANTS || !(write ? fk.wpins : fk.rpins)[ref])
		return -EINVAL;
	if (fk.revoked[ref])
		return -EPERM;
	if (write && fk.readonly[ref])
		return -EACCES;
	if (page != fk.pages[fk.moved[ref] ? fk.moved[ref] - 1 : ref])
		return -ESTALE;
	return 0;
}

static struct xk_bus_env fake_env(void)
{
	struct xk_bus_env env = {
	    .store = {f_read, f_write, f_rm, f_watch, f_unwatch, f_device_add, NULL},
	    .evtchn = {f_notify, NULL, f_bind, f_unbind},
	    .grant = {f_map, f_unmap, NULL, f_check},
	};
	return env;
}

static void fake_reset(void)
{
	while (fk.nodes) {
		struct fnode *n = fk.nodes;
		fk.nodes = n->next;
		free(n->path);
		free(n->value);
		free(n);
	}
	while (fk.watches) {
		struct fwatch *w = fk.watches;
		fk.watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
	fk.events_tail = &fk.events;
	pump();
	uint8_t(*pages)[4096] = fk.pages;
	memset(&fk, 0, sizeof(fk));
	fk.events_tail = &fk.events;
	fk.pages = pages ? pages : calloc(FAKE_NGRANTS, 4096);
	memset(fk.pages, 0, FAKE_NGRANTS * 4096);
}

static char *fget(const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	struct fnode *n = fnode_find(path);
	return n ? n->value : NULL;
}

static void fset(const char *value, const char *fmt, ...)
{
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f_write(NULL, path, value);
}

#endif
