/*
 * addrtab.c: the per-address LRU table of the verdict's memories (see
 * addrtab.h).
 */
#include <stdlib.h>
#include <string.h>

#include "addrtab.h"
#include "err.h"

int addrtab_init(struct addrtab *t, uint32_t max, size_t entry_size)
{
	uint32_t nb = 64;

	memset(t, 0, sizeof(*t));
	if (max == 0)
		max = 1;
	while (nb < max && nb < (1u << 24))
		nb *= 2;
	if ((t->bucket = calloc(nb, sizeof(*t->bucket))) == NULL)
		return KW_ERR_NOMEM;
	t->mask = nb - 1;
	t->max = max;
	t->entry_size = entry_size;
	list_init(&t->lru);
	hash_key_get(&t->key);
	return KW_OK;
}

void addrtab_free(struct addrtab *t)
{
	struct addr_node *e, *next;

	if (t->bucket == NULL)
		return;
	list_for_each_entry_safe(e, next, &t->lru, lru)
		free(e);
	free(t->bucket);
	t->bucket = NULL;
}

static uint32_t addr_hash(const struct addrtab *t, int family, const uint8_t addr[16])
{
	uint8_t k[17];

	k[0] = (uint8_t)family;
	memcpy(k + 1, addr, 16);
	return (uint32_t)hash_bytes(&t->key, k, sizeof(k)) & t->mask;
}

/* evict forgets the least recently seen entry. */
static void evict(struct addrtab *t)
{
	struct addr_node *e = list_entry_or_null(list_last(&t->lru), struct addr_node, lru), **pp;

	if (e == NULL)
		return;
	list_del(&e->lru);
	for (pp = &t->bucket[addr_hash(t, e->family, e->addr)]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	free(e);
	t->n--;
}

void *addrtab_find(struct addrtab *t, int family, const uint8_t addr[16], int create)
{
	uint32_t h = addr_hash(t, family, addr);
	struct addr_node *e;

	for (e = t->bucket[h]; e != NULL; e = e->hnext)
		if (e->family == family && memcmp(e->addr, addr, 16) == 0)
			break;
	if (e != NULL) {
		list_move_head(&t->lru, &e->lru);
		return e;
	}
	if (!create)
		return NULL;
	if (t->n >= t->max)
		evict(t);
	if ((e = calloc(1, t->entry_size)) == NULL)
		return NULL;
	e->family = (uint8_t)family;
	memcpy(e->addr, addr, 16);
	e->hnext = t->bucket[h];
	t->bucket[h] = e;
	list_add_head(&t->lru, &e->lru);
	t->n++;
	return e;
}
