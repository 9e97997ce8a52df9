/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Connections: request framing on the way in, a queue of replies and watch
 * events on the way out, and the back-pressure that keeps both bounded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xs_core.h"

/* Socket clients are trusted but still must not make us buffer forever. */
#define XS_PRIV_OUT_LIMIT (4u << 20)
/* Queued messages compared when deduplicating a watch event. */
#define XS_DEDUP_SCAN 64

struct xs_conn *xs_conn_new(struct xs_core *core, uint32_t domid, bool is_domain,
			    const struct xs_conn_ops *ops, void *opaque)
{
	struct xs_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->core = core;
	c->id = domid;
	c->is_domain = is_domain;
	c->privileged = !is_domain || domid == 0;
	c->target = -1;
	snprintf(c->home, sizeof(c->home), "/local/domain/%u", is_domain ? domid : 0);
	xs_list_init(&c->watches);
	xs_list_init(&c->txns);
	xs_list_init(&c->outq);
	c->next_txid = 1;
	c->ops = ops;
	c->opaque = opaque;
	xs_list_add_tail(&core->conns, &c->link);
	return c;
}

static void outq_clear(struct xs_conn *c)
{
	struct xs_outmsg *m, *tmp;

	xs_list_for_each_safe (m, tmp, &c->outq, struct xs_outmsg, link) {
		xs_list_del(&m->link);
		free(m);
	}
	c->out_off = 0;
	c->out_replies = c->out_events = 0;
	c->out_bytes = 0;
}

void xs_conn_reset(struct xs_conn *c)
{
	struct xs_txn *t, *tmp;

	xs_watch_clear(c);
	xs_list_for_each_safe (t, tmp, &c->txns, struct xs_txn, link)
		xs_txn_free(t);
	outq_clear(c);
	memset(&c->parser, 0, sizeof(c->parser));
	c->dead = false;
}

void xs_conn_free(struct xs_conn *c)
{
	struct xs_domain *d;
	struct xs_conn *o;

	if (!c)
		return;
	xs_conn_reset(c);
	xs_list_for_each (d, &c->core->domains, struct xs_domain, link)
		if (d->conn == c)
			d->conn = NULL;
	xs_list_for_each (o, &c->core->conns, struct xs_conn, link)
		if (c->is_domain && o->target == (int32_t)c->id)
			o->target = -1;
	xs_list_del(&c->link);
	free(c);
}

bool xs_conn_want_input(const struct xs_conn *c)
{
	if (c->dead)
		return false;
	if (xs_conn_unpriv(c))
		return !c->core->quota.outstanding || c->out_replies < c->core->quota.outstanding;
	return c->out_bytes < XS_PRIV_OUT_LIMIT;
}

uint32_t xs_conn_input_need(const struct xs_conn *c)
{
	const struct xs_parser *p = &c->parser;

	if (!p->in_payload)
		return (uint32_t)sizeof(struct xsd_sockmsg) - p->have;
	return p->hdr.len - p->have;
}

void xs_conn_wakeup(struct xs_conn *c)
{
	if (c->ops && c->ops->wakeup)
		c->ops->wakeup(c, c->opaque);
}

long xs_conn_feed(struct xs_conn *c, const void *buf, size_t len)
{
	struct xs_parser *p = &c->parser;
	const uint8_t *in = buf;
	size_t used = 0;

	while (used < len && !c->dead) {
		uint32_t need, n;

		/* Only start a new message when we may answer it. */
		if (!p->in_payload && p->have == 0 && !xs_conn_want_input(c))
			break;
		need = xs_conn_input_need(c);
		n = (uint32_t)((len - used) < need ? (len - used) : need);
		if (!p->in_payload)
			memcpy((uint8_t *)&p->hdr + p->have, in + used, n);
		else
			memcpy(p->payload + p->have, in + used, n);
		p->have += n;
		used += n;
		if (xs_conn_input_need(c))
			continue;
		if (!p->in_payload) {
			if (p->hdr.len > XENSTORE_PAYLOAD_MAX) {
				xs_log(c->core, XS_LOG_ERR,
				       "conn %u: payload of %u bytes, dropping", c->id, p->hdr.len);
				c->dead = true;
				return -1;
			}
			p->in_payload = true;
			p->have = 0;
			if (p->hdr.len)
				continue;
		}
		/* Complete: handlers may rely on a NUL after the payload. */
		{
			struct xsd_sockmsg hdr = p->hdr;

			p->payload[hdr.len] = 0;
			p->in_payload = false;
			p->have = 0;
			xs_process(c, &hdr, p->payload);
		}
	}
	return (long)used;
}

size_t xs_conn_out_peek(const struct xs_conn *c, const uint8_t **data)
{
	const struct xs_outmsg *m = xs_list_first(&c->outq, struct xs_outmsg, link);

	if (!m)
		return 0;
	*data = m->data + c->out_off;
	return m->len - c->out_off;
}

void xs_conn_out_consume(struct xs_conn *c, size_t n)
{
	while (n) {
		struct xs_outmsg *m = xs_list_first(&c->outq, struct xs_outmsg, link);
		size_t left;

		if (!m)
			return;
		left = m->len - c->out_off;
		if (n < left) {
			c->out_off += (uint32_t)n;
			return;
		}
		n -= left;
		c->out_off = 0;
		c->out_bytes -= m->len;
		if (m->is_event)
			c->out_events--;
		else
			c->out_replies--;
		xs_list_del(&m->link);
		free(m);
	}
}

int xs_conn_queue(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *data, uint32_t len, bool is_event)
{
	struct xs_outmsg *m;
	struct xsd_sockmsg hdr = { .type = type, .req_id = req_id, .tx_id = tx_id, .len = len };
	const struct xs_quota *q = &c->core->quota;

	if (c->dead)
		return 0;
	if (is_event) {
		const char *path = data;
		const struct xs_list *it;
		const struct xs_list *head = c->outq.next;
		unsigned int scanned = 0;

		/*
		 * An identical event still waiting is enough (not for @specials).
		 * Only the newest few are compared: a long backlog must not make
		 * every new event cost a scan of all of it.
		 */
		for (it = c->outq.prev; path[0] != '@' && it != &c->outq && scanned < XS_DEDUP_SCAN;
		     it = it->prev, scanned++) {
			const struct xs_outmsg *o = xs_container_of(it, struct xs_outmsg, link);

			if (o->is_event && !(it == head && c->out_off) &&
			    o->len == sizeof(hdr) + len && !memcmp(o->data + sizeof(hdr), data, len))
				return 0;
		}
		/* A client that stops reading must not make us queue forever. */
		if ((xs_conn_unpriv(c) && q->pending_events && c->out_events >= q->pending_events) ||
		    (!xs_conn_unpriv(c) && c->out_bytes >= XS_PRIV_OUT_LIMIT)) {
			xs_log(c->core, XS_LOG_ERR,
			       "domain %u: too many pending watch events, "
			       "dropping one for %s",
			       c->id, path);
			return ENOSPC;
		}
	}
	m = malloc(sizeof(*m) + sizeof(hdr) + len);
	if (!m)
		return ENOMEM;
	m->is_event = is_event;
	m->len = (uint32_t)sizeof(hdr) + len;
	memcpy(m->data, &hdr, sizeof(hdr));
	if (len)
		memcpy(m->data + sizeof(hdr), data, len);
	xs_list_add_tail(&c->outq, &m->link);
	c->out_bytes += m->len;
	if (is_event)
		c->out_events++;
	else
		c->out_replies++;
	xs_conn_wakeup(c);
	return 0;
}
