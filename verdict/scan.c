/*
 * scan.c: the per-source memory of abandoned handshakes (see scan.h).
 *
 * Responsible for remembering, per client address, the latest connections
 * that ended before NEWKEYS and for saying whether the address is probing.
 * Not responsible for deciding which connection is a probe by itself or for
 * the diagnosis (diagnose.c). The table's shape is the auth-guessing
 * table's (auth.c): a keyed hash over the addresses, chained, with one LRU
 * list that bounds it.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "list.h"
#include "scan.h"

#define US_PER_S 1000000u

struct scan_conn {
	uint64_t t;
	uint64_t offer;
	uint8_t probe;
};

struct scan_entry {
	struct scan_entry *hnext; /* bucket chain */
	struct list_head lru;     /* the table's order, most recently seen first */
	uint8_t family;
	uint8_t addr[16];
	uint32_t head, count; /* ring of the latest connections */
	struct scan_conn c[SCAN_RING];
};

struct scan_table {
	uint32_t max, n, mask, threshold;
	uint64_t window_us;
	struct hash_key key;
	struct scan_entry **bucket;
	struct list_head lru;
};

struct scan_table *scan_table_new(uint32_t max_clients, uint32_t window_s, uint32_t threshold)
{
	struct scan_table *t = calloc(1, sizeof(*t));
	uint32_t nb = 64;

	if (t == NULL)
		return NULL;
	if (max_clients == 0)
		max_clients = 1;
	while (nb < max_clients && nb < (1u << 24))
		nb *= 2;
	if ((t->bucket = calloc(nb, sizeof(*t->bucket))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	list_init(&t->lru);
	t->max = max_clients;
	t->window_us = (uint64_t)(window_s > 0 ? window_s : 1) * US_PER_S;
	t->threshold = threshold < 2 ? 2 : threshold > SCAN_RING ? SCAN_RING : threshold;
	/* Addresses are chosen by the peers (a scanner most of all): keyed chains. */
	hash_key_get(&t->key);
	return t;
}

void scan_table_free(struct scan_table *t)
{
	struct scan_entry *e, *next;

	if (t == NULL)
		return;
	list_for_each_entry_safe(e, next, &t->lru, lru)
		free(e);
	free(t->bucket);
	free(t);
}

static uint32_t scan_hash(const struct scan_table *t, int family, const uint8_t addr[16])
{
	uint8_t k[17];

	k[0] = (uint8_t)family;
	memcpy(k + 1, addr, 16);
	return (uint32_t)hash_bytes(&t->key, k, sizeof(k)) & t->mask;
}

static void scan_evict(struct scan_table *t)
{
	struct scan_entry *e = list_entry_or_null(list_last(&t->lru), struct scan_entry, lru), **pp;

	if (e == NULL)
		return;
	list_del(&e->lru);
	for (pp = &t->bucket[scan_hash(t, e->family, e->addr)]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	}
	free(e);
	t->n--;
}

static struct scan_entry *scan_find(struct scan_table *t, int family, const uint8_t addr[16])
{
	uint32_t h = scan_hash(t, family, addr);
	struct scan_entry *e;

	for (e = t->bucket[h]; e != NULL; e = e->hnext)
		if (e->family == family && memcmp(e->addr, addr, 16) == 0)
			break;
	if (e != NULL) {
		list_move_head(&t->lru, &e->lru);
		return e;
	}
	if (t->n >= t->max)
		scan_evict(t);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->family = (uint8_t)family;
	memcpy(e->addr, addr, 16);
	e->hnext = t->bucket[h];
	t->bucket[h] = e;
	list_add_head(&t->lru, &e->lru);
	t->n++;
	return e;
}

uint64_t scan_offer_hash(const struct scan_table *t, const char *const *lists, int n)
{
	uint64_t h = 0;

	for (int i = 0; t != NULL && i < n; i++) {
		const char *l = lists[i] != NULL ? lists[i] : "";
		/* Each list's hash, chained: "a,b" + "" differs from "a" + ",b". */
		h = hash_bytes(&t->key, l, strlen(l)) ^ (h * 0x9e3779b97f4a7c15ull + (uint64_t)i);
	}
	return h | 1;
}

int scan_table_add(struct scan_table *t, int family, const uint8_t addr[16], uint64_t t_us,
                   uint64_t offer, int probe, struct scan_view *v)
{
	uint64_t offers[SCAN_RING], since;
	struct scan_entry *e;

	memset(v, 0, sizeof(*v));
	if (t == NULL)
		return 0;
	v->window_s = (uint32_t)(t->window_us / US_PER_S);
	v->threshold = t->threshold;
	if ((e = scan_find(t, family, addr)) == NULL)
		return 0;
	since = t_us > t->window_us ? t_us - t->window_us : 0;
	/* The earlier connections first: "an earlier probe" excludes this one. */
	for (uint32_t i = 0; i < e->count; i++) {
		const struct scan_conn *c = &e->c[(e->head + SCAN_RING - 1 - i) % SCAN_RING];
		uint32_t j;

		if (c->t < since || c->t > t_us)
			continue;
		v->connections++;
		v->probes += c->probe;
		if (c->offer == 0)
			continue;
		for (j = 0; j < v->offers && offers[j] != c->offer; j++)
			;
		if (j == v->offers)
			offers[v->offers++] = c->offer;
	}
	e->c[e->head] = (struct scan_conn){.t = t_us, .offer = offer, .probe = (uint8_t) !!probe};
	e->head = (e->head + 1) % SCAN_RING;
	if (e->count < SCAN_RING)
		e->count++;
	v->connections++;
	if (offer != 0) {
		uint32_t j;

		for (j = 0; j < v->offers && offers[j] != offer; j++)
			;
		if (j == v->offers && v->offers < SCAN_RING)
			offers[v->offers++] = offer;
	}
	return v->probes > 0 || (v->connections >= t->threshold && v->offers >= 2);
}
