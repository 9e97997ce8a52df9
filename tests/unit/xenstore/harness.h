/* SPDX-License-Identifier: GPL-2.0-only */
/* Drives the xenstore core like a client would, collecting what it answers. */
#ifndef XENKVM_TEST_XS_HARNESS_H
#define XENKVM_TEST_XS_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xs_core.h"

#define MAXMSG 4096

struct tmsg {
	struct xsd_sockmsg h;
	char data[XENSTORE_PAYLOAD_MAX + 1];
};

/* A test client: its connection and everything it received, in order. */
struct tc {
	struct xs_conn *c;
	struct tmsg *box;
	int n, head;
	uint32_t req;
};

static struct xs_core *core;
static struct tc *clients[16];
static int nclients;

static inline void drain(struct tc *t)
{
	const uint8_t *p;
	size_t n;

	while ((n = xs_conn_out_peek(t->c, &p))) {
		struct tmsg *m;

		assert_true(n >= sizeof(struct xsd_sockmsg));
		assert_true(t->n < MAXMSG);
		m = &t->box[t->n++];
		memcpy(&m->h, p, sizeof(m->h));
		assert_int_equal(m->h.len + sizeof(m->h), n);
		memcpy(m->data, p + sizeof(m->h), m->h.len);
		m->data[m->h.len] = 0;
		xs_conn_out_consume(t->c, n);
	}
}

static inline void drain_all(void)
{
	int i;

	for (i = 0; i < nclients; i++)
		if (clients[i]->c)
			drain(clients[i]);
}

static inline struct tc *client(uint32_t domid, bool is_domain)
{
	struct tc *t = calloc(1, sizeof(*t));

	t->box = calloc(MAXMSG, sizeof(*t->box));
	t->c = xs_conn_new(core, domid, is_domain, NULL, NULL);
	assert_non_null(t->c);
	clients[nclients++] = t;
	return t;
}

static inline int setup_core(void **state)
{
	core = xs_core_new(NULL);
	assert_non_null(core);
	nclients = 0;
	return 0;
}

static inline int teardown_core(void **state)
{
	int i;

	assert_int_equal(xs_core_check(core), 0);
	xs_core_free(core);
	for (i = 0; i < nclients; i++) {
		free(clients[i]->box);
		free(clients[i]);
	}
	nclients = 0;
	return 0;
}

static inline int errno_of(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (!strcmp(xsd_errors[i].errstring, s))
			return xsd_errors[i].errnum;
	fail_msg("unknown error string '%s'", s);
	return -1;
}

/* Take the reply to req_id out of t's box (events stay, in order). */
static inline struct tmsg take_reply(struct tc *t, uint32_t req_id)
{
	struct tmsg m = { 0 };
	int i;

	for (i = t->head; i < t->n; i++) {
		if (t->box[i].h.type != XS_WATCH_EVENT && t->box[i].h.req_id == req_id) {
			m = t->box[i];
			memmove(&t->box[i], &t->box[i + 1], (t->n - i - 1) * sizeof(*t->box));
			t->n--;
			return m;
		}
	}
	fail_msg("no reply to request %u", req_id);
	return m;
}

/* Send one request; returns 0 (reply copied to out) or the error's errno. */
static inline int req(struct tc *t, uint32_t type, uint32_t tx, const void *payload, size_t len,
		      struct tmsg *out)
{
	struct xsd_sockmsg h = {
		.type = type, .req_id = ++t->req, .tx_id = tx, .len = (uint32_t)len
	};
	uint8_t buf[sizeof(h) + XENSTORE_PAYLOAD_MAX];
	struct tmsg m;

	assert_true(len <= XENSTORE_PAYLOAD_MAX);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	assert_int_equal(xs_conn_feed(t->c, buf, sizeof(h) + len), (long)(sizeof(h) + len));
	drain_all();
	m = take_reply(t, h.req_id);
	assert_int_equal(m.h.tx_id, tx);
	if (out)
		*out = m;
	if (m.h.type == XS_ERROR)
		return errno_of(m.data);
	assert_int_equal(m.h.type, type);
	return 0;
}

/* Payload from a literal with embedded NULs: ARG keeps the final NUL. */
#define ARG(s) s, sizeof(s)
#define RAW(s) s, sizeof(s) - 1

static inline int xwrite_tx(struct tc *t, uint32_t tx, const char *path, const char *val)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t pl = strlen(path) + 1, vl = strlen(val);

	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	return req(t, XS_WRITE, tx, buf, pl + vl, NULL);
}

static inline int xwrite(struct tc *t, const char *path, const char *val)
{
	return xwrite_tx(t, 0, path, val);
}

/* Reads into a static buffer; returns NULL and sets *err on error. */
static inline const char *xread_tx(struct tc *t, uint32_t tx, const char *path, int *err)
{
	static struct tmsg m;
	int e = req(t, XS_READ, tx, path, strlen(path) + 1, &m);

	if (err)
		*err = e;
	return e ? NULL : m.data;
}

static inline const char *xread(struct tc *t, const char *path, int *err)
{
	return xread_tx(t, 0, path, err);
}

static inline int xone(struct tc *t, uint32_t type, uint32_t tx, const char *arg, struct tmsg *out)
{
	return req(t, type, tx, arg, strlen(arg) + 1, out);
}

static inline int xtwo(struct tc *t, uint32_t type, const char *a, const char *b)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t al = strlen(a) + 1, bl = strlen(b) + 1;

	memcpy(buf, a, al);
	memcpy(buf + al, b, bl);
	return req(t, type, 0, buf, al + bl, NULL);
}

/* perms "n0 r5" */
static inline int xchmod(struct tc *t, const char *path, const char *perms)
{
	char buf[512], *p = buf;
	const char *s;

	strcpy(p, path);
	p += strlen(path) + 1;
	for (s = perms; *s;) {
		size_t n = strcspn(s, " ");

		memcpy(p, s, n);
		p[n] = 0;
		p += n + 1;
		s += n;
		while (*s == ' ')
			s++;
	}
	return req(t, XS_SET_PERMS, 0, buf, (size_t)(p - buf), NULL);
}

/* GET_PERMS rendered back as "n0 r5". */
static inline const char *xperms(struct tc *t, const char *path, int *err)
{
	static char out[512];
	struct tmsg m;
	uint32_t off;
	int e = xone(t, XS_GET_PERMS, 0, path, &m);

	*err = e;
	if (e)
		return NULL;
	out[0] = 0;
	for (off = 0; off < m.h.len; off += (uint32_t)strlen(m.data + off) + 1) {
		if (off)
			strcat(out, " ");
		strcat(out, m.data + off);
	}
	return out;
}

static inline int xwatch(struct tc *t, const char *path, const char *token)
{
	return xtwo(t, XS_WATCH, path, token);
}

/* Pops t's oldest pending watch event; false when there is none. */
static inline bool next_event(struct tc *t, const char **path, const char **token)
{
	static struct tmsg m;
	int i;

	for (i = t->head; i < t->n; i++) {
		if (t->box[i].h.type == XS_WATCH_EVENT) {
			m = t->box[i];
			memmove(&t->box[i], &t->box[i + 1], (t->n - i - 1) * sizeof(*t->box));
			t->n--;
			assert_int_equal(m.h.req_id, 0);
			assert_int_equal(m.h.tx_id, 0);
			*path = m.data;
			*token = m.data + strlen(m.data) + 1;
			return true;
		}
	}
	return false;
}

static inline void expect_event(struct tc *t, const char *path, const char *token)
{
	const char *p, *k;

	if (!next_event(t, &p, &k))
		fail_msg("expected event %s %s, got none", path, token);
	assert_string_equal(p, path);
	assert_string_equal(k, token);
}

static inline void expect_no_event(struct tc *t)
{
	const char *p, *k;

	if (next_event(t, &p, &k))
		fail_msg("unexpected event %s %s", p, k);
}

static inline uint32_t xtx_start(struct tc *t)
{
	struct tmsg m;

	assert_int_equal(req(t, XS_TRANSACTION_START, 0, ARG(""), &m), 0);
	return (uint32_t)strtoul(m.data, NULL, 10);
}

static inline int xtx_end(struct tc *t, uint32_t tx, bool commit)
{
	return req(t, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2, NULL);
}

#endif
