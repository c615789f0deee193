/*
 * arena.c: chunks of memory handed out in order, freed together (arena.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t cap;
	max_align_t data[]; /* cap bytes */
};

#define ARENA_ALIGN (sizeof(max_align_t))

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->used = 0;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	arena_init(a);
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *keep = NULL, *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		if (keep == NULL && c->cap == ARENA_CHUNK) {
			keep = c;
			continue;
		}
		free(c);
	}
	if (keep != NULL)
		keep->next = NULL;
	a->head = keep;
	a->used = 0;
}

static struct arena_chunk *chunk_new(size_t cap, struct arena_chunk *next)
{
	struct arena_chunk *c;

	if (cap > SIZE_MAX - sizeof(*c) || (c = malloc(sizeof(*c) + cap)) == NULL)
		return NULL;
	c->next = next;
	c->cap = cap;
	return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c;
	size_t need;

	if (n > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	need = (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
	if (a->head != NULL && need <= a->head->cap - a->used) {
		void *p = (char *)a->head->data + a->used;
		a->used += need;
		return p;
	}
	if (need > ARENA_CHUNK) {
		/* A large request gets a chunk of its own behind the current one,
		 * which stays the one being filled. */
		if ((c = chunk_new(need, NULL)) == NULL)
			return NULL;
		if (a->head == NULL) {
			a->head = c;
			a->used = need;
		} else {
			c->next = a->head->next;
			a->head->next = c;
		}
		return c->data;
	}
	if ((c = chunk_new(ARENA_CHUNK, a->head)) == NULL)
		return NULL;
	a->head = c;
	a->used = need;
	return c->data;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = n < SIZE_MAX ? arena_alloc(a, n + 1) : NULL;

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (p = arena_alloc(a, (size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
