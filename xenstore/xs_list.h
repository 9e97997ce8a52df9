/* SPDX-License-Identifier: GPL-2.0-only */
/* Minimal intrusive circular doubly-linked list. */
#ifndef XENKVM_XENSTORE_LIST_H
#define XENKVM_XENSTORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct xs_list {
	struct xs_list *next, *prev;
};

#define XS_LIST_INIT(name)                                                                         \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}

static inline void xs_list_init(struct xs_list *l)
{
	l->next = l->prev = l;
}

static inline bool xs_list_empty(const struct xs_list *l)
{
	return l->next == l;
}

static inline void xs_list_add_tail(struct xs_list *l, struct xs_list *n)
{
	n->prev = l->prev;
	n->next = l;
	l->prev->next = n;
	l->prev = n;
}

static inline void xs_list_del(struct xs_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

#define xs_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define xs_list_first(l, type, member)                                                             \
	(xs_list_empty(l) ? NULL : xs_container_of((l)->next, type, member))

#define xs_list_for_each(pos, l, type, member)                                                     \
	for (pos = xs_container_of((l)->next, type, member); &pos->member != (l);                  \
	     pos = xs_container_of(pos->member.next, type, member))

#define xs_list_for_each_safe(pos, tmp, l, type, member)                                           \
	for (pos = xs_container_of((l)->next, type, member),                                       \
	    tmp = xs_container_of(pos->member.next, type, member);                                 \
	     &pos->member != (l);                                                                  \
	     pos = tmp, tmp = xs_container_of(tmp->member.next, type, member))

#endif
