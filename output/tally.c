/*
 * tally.c: bounded string counts (see tally.h). Open addressing over a
 * table twice the bound; keys are copied once.
 */
#include <stdlib.h>
#include <string.h>

#include "tally.h"

struct tally_slot {
	char *key;
	uint64_t n;
};

struct tally {
	struct tally_slot *slot;
	uint32_t size, used, max_keys;
	uint64_t other;
};

static uint32_t tally_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

struct tally *tally_new(uint32_t max_keys)
{
	struct tally *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->max_keys = max_keys ? max_keys : 1;
	t->size = 2;
	while (t->size < t->max_keys * 2)
		t->size <<= 1;
	if ((t->slot = calloc(t->size, sizeof(*t->slot))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void tally_free(struct tally *t)
{
	if (t == NULL)
		return;
	for (uint32_t i = 0; i < t->size; i++)
		free(t->slot[i].key);
	free(t->slot);
	free(t);
}

static struct tally_slot *tally_find(const struct tally *t, const char *key)
{
	uint32_t i = tally_hash(key) & (t->size - 1);

	while (t->slot[i].key != NULL && strcmp(t->slot[i].key, key) != 0)
		i = (i + 1) & (t->size - 1);
	return &t->slot[i];
}

void tally_add(struct tally *t, const char *key, uint64_t n)
{
	struct tally_slot *s;

	if (t == NULL || key == NULL)
		return;
	s = tally_find(t, key);
	if (s->key == NULL) {
		if (t->used == t->max_keys || (s->key = strdup(key)) == NULL) {
			t->other += n;
			return;
		}
		t->used++;
	}
	s->n += n;
}

uint64_t tally_get(const struct tally *t, const char *key)
{
	const struct tally_slot *s = t && key ? tally_find(t, key) : NULL;

	return s && s->key ? s->n : 0;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct tally_slot *x = *(const struct tally_slot *const *)a;
	const struct tally_slot *y = *(const struct tally_slot *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

size_t tally_top(const struct tally *t, const char **keys, uint64_t *counts, size_t k)
{
	const struct tally_slot **all;
	size_t n = 0;

	if (t == NULL || k == 0 || (all = malloc(sizeof(*all) * (t->used + 1))) == NULL)
		return 0;
	for (uint32_t i = 0; i < t->size; i++)
		if (t->slot[i].key != NULL)
			all[n++] = &t->slot[i];
	qsort(all, n, sizeof(*all), slot_cmp);
	if (n > k)
		n = k;
	for (size_t i = 0; i < n; i++) {
		keys[i] = all[i]->key;
		counts[i] = all[i]->n;
	}
	free(all);
	return n;
}
