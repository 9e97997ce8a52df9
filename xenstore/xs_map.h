/* SPDX-License-Identifier: GPL-2.0-only */
/* String-keyed open-addressing hash map; keys are borrowed from the values. */
#ifndef XENKVM_XENSTORE_MAP_H
#define XENKVM_XENSTORE_MAP_H

#include <stddef.h>
#include <stdint.h>

struct xs_map_slot {
	uint32_t hash;
	const char *key; /* NULL: empty; XS_MAP_TOMB: deleted */
	void *val;
};

struct xs_map {
	size_t cap; /* power of two, or 0 */
	size_t count;
	size_t used; /* count + tombstones */
	struct xs_map_slot *slots;
};

void xs_map_init(struct xs_map *m);
void xs_map_destroy(struct xs_map *m);
void *xs_map_get(const struct xs_map *m, const char *key);
/* Insert or replace; key must stay valid while stored.  0 or ENOMEM. */
int xs_map_put(struct xs_map *m, const char *key, void *val);
void *xs_map_del(struct xs_map *m, const char *key);
/* Iterate: start with *pos = 0; returns NULL at the end. */
void *xs_map_next(const struct xs_map *m, size_t *pos);

#endif
