/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkif persistent grants (feature-persistent): one cache per ring of grant
 * refs kept mapped across requests, as Linux's blkback keeps them
 * (drivers/block/xen-blkback/blkback.c: a tree of persistent_gnt per ring,
 * at most max_persistent_grants, 1056 by default; a ref that does not fit
 * is mapped for its request only, and the least recently used idle grants
 * are purged).  The frontend learns which refs are kept from the in-use
 * bits the map leaves in its grant entries (blkfront's
 * gnttab_try_end_foreign_access after each response).
 *
 * An entry is mapped with the access its first request needed and upgraded
 * to writable when a later request needs that; before every reuse the grant
 * ops' check() confirms the guest still grants the same page, else the entry
 * is dropped and the ref mapped afresh (or refused).  Memory is fixed at
 * creation: max entries and a hash table, whatever the frontend sends.
 */
#ifndef XENKVM_BLK_PERSIST_H
#define XENKVM_BLK_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include "xenbus.h"

#define XK_PGRANTS_DEFAULT 1056 /* Linux blkback's max_persistent_grants */
#define XK_PGRANTS_MAX	   4096
#define XK_PGRANT_NONE	   0xffff /* mapped for one request only */

struct xk_pgrants_stats {
	uint64_t hits, misses, upgrades, stale, oneshot, purged;
};

struct xk_pgrants;

/* max entries (1..XK_PGRANTS_MAX); g (needs check()) must outlive it.  NULL
 * when out of memory. */
struct xk_pgrants *xk_pgrants_new(unsigned max, const struct xk_grant_ops *g, uint32_t domid);
/* Unmaps everything first (see clear). */
void xk_pgrants_free(struct xk_pgrants *c);

/*
 * Map ref for a request; write: the backend writes the page.  *page: the
 * page; *slot: what to give put() when the request is done (XK_PGRANT_NONE
 * if the ref was mapped for this request only: the cache is full of refs
 * in use, or a stale entry of the same ref is still in use).  0 or the
 * map's negative errno (nothing held).
 */
int xk_pgrants_get(struct xk_pgrants *c, uint32_t ref, bool write, void **page, uint16_t *slot);
/* Give back what get() returned for ref and write. */
void xk_pgrants_put(struct xk_pgrants *c, uint16_t slot, uint32_t ref, bool write);
/* A ref could not be kept since the last purge: unmap the least recently
 * used idle entries (5% of max, as Linux's LRU_PERCENT_CLEAN).  Cheap
 * otherwise; call after each batch of requests. */
void xk_pgrants_purge(struct xk_pgrants *c);
/* Unmap every entry not in use (disconnect: none is); an entry still in
 * use is unmapped by its last put(). */
void xk_pgrants_clear(struct xk_pgrants *c);
/* Entries mapped (cached, or stale and still in use). */
unsigned xk_pgrants_count(const struct xk_pgrants *c);
const struct xk_pgrants_stats *xk_pgrants_stats(const struct xk_pgrants *c);

#endif
