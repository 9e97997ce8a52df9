/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xs_map.h"

static const char tomb_mark;
#define XS_MAP_TOMB (&tomb_mark)

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

void xs_map_init(struct xs_map *m)
{
	memset(m, 0, sizeof(*m));
}

void xs_map_destroy(struct xs_map *m)
{
	free(m->slots);
	xs_map_init(m);
}

static struct xs_map_slot *find(const struct xs_map *m, const char *key, uint32_t h)
{
	size_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = h & mask;; i = (i + 1) & mask) {
		struct xs_map_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != XS_MAP_TOMB && s->hash == h && !strcmp(s->key, key))
			return s;
	}
}

void *xs_map_get(const struct xs_map *m, const char *key)
{
	struct xs_map_slot *s = find(m, key, hash_str(key));

	return s ? s->val : NULL;
}

static int grow(struct xs_map *m)
{
	size_t ncap = m->cap ? m->cap : 16, i;
	struct xs_map_slot *old = m->slots, *ns;

	/* Only grow when live entries need it; otherwise rehash drops tombs. */
	if (m->count * 2 >= ncap)
		ncap *= 2;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (!old[i].key || old[i].key == XS_MAP_TOMB)
			continue;
		for (j = old[i].hash & (ncap - 1); ns[j].key; j = (j + 1) & (ncap - 1))
			;
		ns[j] = old[i];
	}
	free(old);
	m->slots = ns;
	m->cap = ncap;
	m->used = m->count;
	return 0;
}

int xs_map_put(struct xs_map *m, const char *key, void *val)
{
	uint32_t h = hash_str(key);
	struct xs_map_slot *s = find(m, key, h);
	size_t i;

	if (s) {
		s->key = key;
		s->val = val;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3 && grow(m))
		return ENOMEM;
	for (i = h & (m->cap - 1); m->slots[i].key && m->slots[i].key != XS_MAP_TOMB;
	     i = (i + 1) & (m->cap - 1))
		;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].hash = h;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->count++;
	return 0;
}

void *xs_map_del(struct xs_map *m, const char *key)
{
	struct xs_map_slot *s = find(m, key, hash_str(key));
	void *v;

	if (!s)
		return NULL;
	v = s->val;
	s->key = XS_MAP_TOMB;
	s->val = NULL;
	m->count--;
	return v;
}

void *xs_map_next(const struct xs_map *m, size_t *pos)
{
	while (*pos < m->cap) {
		struct xs_map_slot *s = &m->slots[(*pos)++];

		if (s->key && s->key != XS_MAP_TOMB)
			return s->val;
	}
	return NULL;
}
