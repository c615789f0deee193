/*
 * flowmem.c: per-connection memory (see flowmem.h).
 *
 * A chunk is a header and its payload. Chunks of FLOWMEM_CHUNK bytes are kept
 * on the pool's list when released; larger blocks (a long banner, a KEXINIT
 * of several KiB) are freed at once. A block of its own is linked after the
 * current chunk, so the rest of that chunk is still carved.
 */
#include <stdlib.h>

#include "flowmem.h"

struct flowmem_chunk {
	struct flowmem_chunk *next;
	size_t size; /* payload bytes */
	/* the payload, aligned to 8 */
	uint64_t payload[];
};

#define CHUNK_PAYLOAD (FLOWMEM_CHUNK - sizeof(struct flowmem_chunk))

/*
 * chunk_new: size bytes of payload for m, from its pool or the system, the
 * whole chunk charged to m's budget. NULL when the budget refuses (and
 * m->refused is set) or memory is exhausted.
 */
static struct flowmem_chunk *chunk_new(struct flowmem *m, size_t size)
{
	struct flowmem_pool *pool = m->pool;
	struct flowmem_chunk *c;

	if (budget_charge(m->budget, sizeof(*c) + size) != 0) {
		m->refused = 1;
		return NULL;
	}
	if (size == CHUNK_PAYLOAD && pool != NULL && pool->spare != NULL) {
		c = pool->spare;
		pool->spare = c->next;
		pool->nspare--;
		return c;
	}
	if ((c = malloc(sizeof(*c) + size)) == NULL) {
		budget_release(m->budget, sizeof(*c) + size);
		return NULL;
	}
	c->size = size;
	return c;
}

/* chunk_drop gives c's charge back, and c to the pool or the system. */
static void chunk_drop(struct flowmem *m, struct flowmem_chunk *c)
{
	struct flowmem_pool *pool = m->pool;

	budget_release(m->budget, sizeof(*c) + c->size);
	if (c->size == CHUNK_PAYLOAD && pool != NULL && pool->nspare < FLOWMEM_POOL_MAX) {
		c->next = pool->spare;
		pool->spare = c;
		pool->nspare++;
		return;
	}
	free(c);
}

void *flowmem_alloc(struct flowmem *a, size_t n)
{
	struct flowmem_chunk *c;
	void *p;

	if (n > SIZE_MAX - 8 - FLOWMEM_CHUNK)
		return NULL;
	n = (n + 7) & ~(size_t)7;
	if (n == 0)
		n = 8;
	if (a->head != NULL && n <= a->head->size - a->used) {
		p = (uint8_t *)a->head->payload + a->used;
		a->used += n;
		return p;
	}
	if (n > CHUNK_PAYLOAD / 2) {
		/* A block of its own, behind the chunk being carved. */
		if ((c = chunk_new(a, n)) == NULL)
			return NULL;
		if (a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = NULL;
			a->head = c;
			a->used = n;
		}
		return c->payload;
	}
	if ((c = chunk_new(a, CHUNK_PAYLOAD)) == NULL)
		return NULL;
	c->next = a->head;
	a->head = c;
	a->used = n;
	return c->payload;
}

void flowmem_release(struct flowmem *a)
{
	struct flowmem_chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		chunk_drop(a, c);
	}
	a->head = NULL;
	a->used = 0;
}

void flowmem_pool_free(struct flowmem_pool *p)
{
	struct flowmem_chunk *c;

	if (p == NULL)
		return;
	while ((c = p->spare) != NULL) {
		p->spare = c->next;
		free(c);
	}
	p->nspare = 0;
}
