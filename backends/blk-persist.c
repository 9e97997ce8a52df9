/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The persistent-grant cache of one blkif ring (blk-persist.h).
 *
 * Entries live in a fixed array: a hash table by ref finds the current
 * entry of a ref; the idle ones (no request holds them) are on an LRU list,
 * least recently released first, which is what a purge takes.  An entry
 * whose grant changed under it (check() failed) leaves the hash table and
 * is unmapped as soon as no request holds it: a new mapping of the ref
 * replaces it.  Indices are 16-bit, XK_PGRANT_NONE is "none".
 */
#include <errno.h>
#include <stdlib.h>

#include "blk-persist.h"

#define NIL XK_PGRANT_NONE

struct pent {
	uint32_t ref;
	void *page;
	uint16_t users;	     /* requests holding it */
	bool live;	     /* mapped (else on the free list) */
	bool hashed;	     /* the ref's current entry */
	bool write;	     /* mapped writable */
	uint16_t hnext;	     /* hash chain */
	uint16_t prev, next; /* LRU list (idle and hashed), or the free list */
};

struct xk_pgrants {
	const struct xk_grant_ops *g;
	uint32_t domid;
	unsigned max, count, hbits;
	bool overflow; /* a ref did not fit since the last purge */
	uint16_t free_head, lru_head, lru_tail;
	uint16_t *heads;
	struct xk_pgrants_stats stats;
	struct pent e[];
};

static unsigned hash(const struct xk_pgrants *c, uint32_t ref)
{
	/* Fibonacci hashing: the top bits of the product. */
	return (unsigned)((ref * 2654435761u) >> (32 - c->hbits));
}

struct xk_pgrants *xk_pgrants_new(unsigned max, const struct xk_grant_ops *g, uint32_t domid)
{
	if (max == 0 || max > XK_PGRANTS_MAX || !g->check)
		return NULL;
	struct xk_pgrants *c = calloc(1, sizeof(*c) + max * sizeof(c->e[0]));
	if (!c)
		return NULL;
	unsigned bits = 4;
	while ((1u << bits) < max)
		bits++;
	unsigned nb = 1u << bits;
	c->heads = malloc(nb * sizeof(c->heads[0]));
	if (!c->heads) {
		free(c);
		return NULL;
	}
	for (unsigned i = 0; i < nb; i++)
		c->heads[i] = NIL;
	c->hbits = bits;
	c->g = g;
	c->domid = domid;
	c->max = max;
	c->lru_head = c->lru_tail = NIL;
	for (unsigned i = 0; i < max; i++)
		c->e[i].next = i + 1 < max ? (uint16_t)(i + 1) : NIL;
	c->free_head = 0;
	return c;
}

static void lru_unlink(struct xk_pgrants *c, uint16_t i)
{
	struct pent *e = &c->e[i];

	if (e->prev != NIL)
		c->e[e->prev].next = e->next;
	else
		c->lru_head = e->next;
	if (e->next != NIL)
		c->e[e->next].prev = e->prev;
	else
		c->lru_tail = e->prev;
	e->prev = e->next = NIL;
}

static void lru_append(struct xk_pgrants *c, uint16_t i)
{
	struct pent *e = &c->e[i];

	e->next = NIL;
	e->prev = c->lru_tail;
	if (c->lru_tail != NIL)
		c->e[c->lru_tail].next = i;
	else
		c->lru_head = i;
	c->lru_tail = i;
}

static void unhash(struct xk_pgrants *c, uint16_t i)
{
	uint16_t *p = &c->heads[hash(c, c->e[i].ref)];

	while (*p != i)
		p = &c->e[*p].hnext;
	*p = c->e[i].hnext;
	c->e[i].hashed = false;
}

static uint16_t lookup(const struct xk_pgrants *c, uint32_t ref)
{
	uint16_t i = c->heads[hash(c, ref)];

	while (i != NIL && c->e[i].ref != ref)
		i = c->e[i].hnext;
	return i;
}

/* Unmap an entry no request holds; it must be off the LRU list. */
static void drop(struct xk_pgrants *c, uint16_t i)
{
	struct pent *e = &c->e[i];

	if (e->hashed)
		unhash(c, i);
	c->g->unmap(c->g->opaque, c->domid, &e->ref, 1, e->write);
	e->live = false;
	e->next = c->free_head;
	c->free_head = i;
	c->count--;
}

/* The cached entry of ref, still granted and writable if need be; NIL if
 * there is none (any stale one taken out of the way). */
static uint16_t reuse(struct xk_pgrants *c, uint32_t ref, bool write)
{
	const struct xk_grant_ops *g = c->g;
	uint16_t i = lookup(c, ref);

	if (i == NIL)
		return NIL;
	struct pent *e = &c->e[i];
	if (g->check(g->opaque, c->domid, ref, e->write, e->page)) {
		c->stats.stale++;
		if (e->users) {
			unhash(c, i); /* its last put() unmaps it */
		} else {
			lru_unlink(c, i);
			drop(c, i);
		}
		return NIL;
	}
	if (write && !e->write) {
		/* Writable pin first, then the read-only one goes: the entry
		 * is marked in use throughout. */
		void *page;
		if (g->map(g->opaque, c->domid, &ref, 1, true, &page))
			return NIL; /* the caller's own map fails the same way */
		g->unmap(g->opaque, c->domid, &ref, 1, false);
		e->write = true;
		e->page = page;
		c->stats.upgrades++;
	}
	return i;
}

int xk_pgrants_get(struct xk_pgrants *c, uint32_t ref, bool write, void **page, uint16_t *slot)
{
	const struct xk_grant_ops *g = c->g;
	uint16_t i = reuse(c, ref, write);

	if (i != NIL) {
		struct pent *e = &c->e[i];
		if (!e->users)
			lru_unlink(c, i);
		e->users++;
		c->stats.hits++;
		*page = e->page;
		*slot = i;
		return 0;
	}
	c->stats.misses++;
	int rc = g->map(g->opaque, c->domid, &ref, 1, write, page);
	if (rc)
		return rc;
	/* Not kept: the cache is full, or a stale entry of this ref is still
	 * held (one entry per ref in the table). */
	if (c->free_head == NIL || lookup(c, ref) != NIL) {
		c->overflow = true;
		c->stats.oneshot++;
		*slot = NIL;
		return 0;
	}
	i = c->free_head;
	struct pent *e = &c->e[i];
	c->free_head = e->next;
	*e = (struct pent){.ref = ref,
			   .page = *page,
			   .users = 1,
			   .live = true,
			   .hashed = true,
			   .write = write,
			   .prev = NIL,
			   .next = NIL};
	unsigned h = hash(c, ref);
	e->hnext = c->heads[h];
	c->heads[h] = i;
	c->count++;
	*slot = i;
	return 0;
}

void xk_pgrants_put(struct xk_pgrants *c, uint16_t slot, uint32_t ref, bool write)
{
	if (slot == NIL) {
		c->g->unmap(c->g->opaque, c->domid, &ref, 1, write);
		return;
	}
	struct pent *e = &c->e[slot];
	if (--e->users)
		return;
	if (e->hashed)
		lru_append(c, slot);
	else
		drop(c, slot);
}

void xk_pgrants_purge(struct xk_pgrants *c)
{
	if (!c->overflow)
		return;
	c->overflow = false;
	unsigned n = c->max / 100 * 5;
	if (n == 0)
		n = 1;
	while (n-- && c->lru_head != NIL) {
		uint16_t i = c->lru_head;
		lru_unlink(c, i);
		drop(c, i);
		c->stats.purged++;
	}
}

void xk_pgrants_clear(struct xk_pgrants *c)
{
	for (unsigned i = 0; i < c->max; i++) {
		struct pent *e = &c->e[i];
		if (!e->live)
			continue;
		if (e->users) {
			if (e->hashed) {
				unhash(c, (uint16_t)i);
			}
			continue;
		}
		if (e->hashed)
			lru_unlink(c, (uint16_t)i);
		drop(c, (uint16_t)i);
	}
	c->overflow = false;
}

void xk_pgrants_free(struct xk_pgrants *c)
{
	if (!c)
		return;
	xk_pgrants_clear(c);
	free(c->heads);
	free(c);
}

unsigned xk_pgrants_count(const struct xk_pgrants *c)
{
	return c->count;
}

const struct xk_pgrants_stats *xk_pgrants_stats(const struct xk_pgrants *c)
{
	return &c->stats;
}
