/*
 * list.h: one intrusive doubly linked list for every module (the flow
 * table's least-recently-active order and timer wheel, the auth-guessing
 * table, the evidence buffer, the host-key cache).
 *
 * In the spirit of the Linux kernel's list_head: a list is a sentinel
 * struct list_head, an element embeds a struct list_head and is found back
 * with list_entry (container_of). The list is circular, so no operation
 * tests for an end and none allocates. Every function takes the list (or
 * the node) first and is O(1), except list_count.
 *
 * A node that is on no list points at itself (list_init, or list_del),
 * so deleting it again is harmless and list_is_linked tells. A node
 * zeroed by calloc or memset is on no list either, but list_is_linked and
 * list_del must not be used on it before list_init or a list_add_*.
 *
 * Not responsible for locking: a list belongs to one thread, like the
 * table that embeds it.
 */
#ifndef KW_LIST_H
#define KW_LIST_H

#include <stddef.h>

struct list_head {
	struct list_head *next, *prev;
};

/* LIST_HEAD_INIT(name): a static initialiser for an empty list called name. */
#define LIST_HEAD_INIT(name)                                                                       \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}

/* list_init makes h an empty list (or a node on no list). */
static inline void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

/* list_is_empty: 1 when list h has no element. */
static inline int list_is_empty(const struct list_head *h)
{
	return h->next == h;
}

/* list_is_linked: 1 when node n is on a list (n was initialised or added). */
static inline int list_is_linked(const struct list_head *n)
{
	return n->next != n;
}

/* list_insert_ links n between two adjacent nodes (private). */
static inline void list_insert_(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

/* list_add_head puts node n (on no list) first in list h. */
static inline void list_add_head(struct list_head *h, struct list_head *n)
{
	list_insert_(n, h, h->next);
}

/* list_add_tail puts node n (on no list) last in list h. */
static inline void list_add_tail(struct list_head *h, struct list_head *n)
{
	list_insert_(n, h->prev, h);
}

/* list_del takes node n off its list and leaves it on none (no-op if on none). */
static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* list_move_head makes node n, already on a list, the first of list h. */
static inline void list_move_head(struct list_head *h, struct list_head *n)
{
	if (h->next == n)
		return; /* already first: the common case of an LRU touch */
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_insert_(n, h, h->next);
}

/* list_move_tail makes node n, already on a list, the last of list h. */
static inline void list_move_tail(struct list_head *h, struct list_head *n)
{
	if (h->prev == n)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_insert_(n, h->prev, h);
}

/* list_first: the first node of h, NULL when h is empty. */
static inline struct list_head *list_first(const struct list_head *h)
{
	return h->next != h ? h->next : NULL;
}

/* list_last: the last node of h, NULL when h is empty. */
static inline struct list_head *list_last(const struct list_head *h)
{
	return h->prev != h ? h->prev : NULL;
}

/* list_prev: the node before n on list h, NULL when n is first. */
static inline struct list_head *list_prev(const struct list_head *h, const struct list_head *n)
{
	return n->prev != h ? n->prev : NULL;
}

/* list_next: the node after n on list h, NULL when n is last. */
static inline struct list_head *list_next(const struct list_head *h, const struct list_head *n)
{
	return n->next != h ? n->next : NULL;
}

/*
 * list_splice_init moves every node of from, in order, to the front of h
 * and leaves from empty (h and from may be any two distinct lists).
 */
static inline void list_splice_init(struct list_head *h, struct list_head *from)
{
	if (list_is_empty(from))
		return;
	from->next->prev = h;
	from->prev->next = h->next;
	h->next->prev = from->prev;
	h->next = from->next;
	list_init(from);
}

/* list_count: the number of elements of h (walks the list). */
static inline size_t list_count(const struct list_head *h)
{
	size_t n = 0;

	for (const struct list_head *p = h->next; p != h; p = p->next)
		n++;
	return n;
}

/* list_entry: the struct of type that embeds node ptr as its member (container_of). */
#define list_entry(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* list_entry_or_null: list_entry, or NULL when ptr is NULL (for list_first and friends). */
#define list_entry_or_null(ptr, type, member)                                                      \
	__extension__({                                                                            \
		struct list_head *list_p_ = (ptr);                                                 \
		list_p_ != NULL ? list_entry(list_p_, type, member) : (type *)NULL;                \
	})

/* list_for_each: pos walks the nodes of h, first to last; do not remove pos. */
#define list_for_each(pos, h) for ((pos) = (h)->next; (pos) != (h); (pos) = (pos)->next)

/* list_for_each_safe: as list_for_each, and pos may be removed (tmp holds the next). */
#define list_for_each_safe(pos, tmp, h)                                                            \
	for ((pos) = (h)->next, (tmp) = (pos)->next; (pos) != (h);                                 \
	     (pos) = (tmp), (tmp) = (pos)->next)

/*
 * list_for_each_entry: pos (a pointer to the element type) walks the
 * elements of h linked through member, first to last; do not remove pos.
 */
#define list_for_each_entry(pos, h, member)                                                        \
	for ((pos) = list_entry((h)->next, __typeof__(*(pos)), member); &(pos)->member != (h);     \
	     (pos) = list_entry((pos)->member.next, __typeof__(*(pos)), member))

/* list_for_each_entry_safe: as list_for_each_entry, and pos may be removed. */
#define list_for_each_entry_safe(pos, tmp, h, member)                                              \
	for ((pos) = list_entry((h)->next, __typeof__(*(pos)), member),                            \
	    (tmp) = list_entry((pos)->member.next, __typeof__(*(pos)), member);                    \
	     &(pos)->member != (h);                                                                \
	     (pos) = (tmp), (tmp) = list_entry((tmp)->member.next, __typeof__(*(pos)), member))

#endif
