/*
 * scan.c: the per-source memory of abandoned handshakes (see scan.h).
 *
 * Responsible for remembering, per client address, the latest connections
 * that ended before NEWKEYS and for saying whether the address is probing.
 * Not responsible for deciding which connection is a probe by itself or for
 * the diagnosis (diagnose.c). The table is addrtab.h's, as the
 * auth-guessing memory's (auth.c).
 */
#include <stdlib.h>
#include <string.h>

#include "addrtab.h"
#include "scan.h"

#define US_PER_S 1000000u

struct scan_conn {
	uint64_t t;
	uint64_t offer;
	uint8_t probe;
};

struct scan_entry {
	struct addr_node node; /* first: addrtab.h */
	uint32_t head, count;  /* ring of the latest connections */
	struct scan_conn c[SCAN_RING];
};

struct scan_table {
	struct addrtab tab;
	uint32_t threshold;
	uint64_t window_us;
};

struct scan_table *scan_table_new(uint32_t max_clients, uint32_t window_s, uint32_t threshold)
{
	struct scan_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	if (addrtab_init(&t->tab, max_clients, sizeof(struct scan_entry)) != 0) {
		free(t);
		return NULL;
	}
	t->window_us = (uint64_t)(window_s > 0 ? window_s : 1) * US_PER_S;
	t->threshold = threshold < 2 ? 2 : threshold > SCAN_RING ? SCAN_RING : threshold;
	return t;
}

void scan_table_free(struct scan_table *t)
{
	if (t == NULL)
		return;
	addrtab_free(&t->tab);
	free(t);
}

uint64_t scan_offer_hash(const struct scan_table *t, const char *const *lists, int n)
{
	uint64_t h = 0;

	for (int i = 0; t != NULL && i < n; i++) {
		const char *l = lists[i] != NULL ? lists[i] : "";
		/* Each list's hash, chained: "a,b" + "" differs from "a" + ",b". */
		h = hash_bytes(&t->tab.key, l, strlen(l)) ^
		    (h * 0x9e3779b97f4a7c15ull + (uint64_t)i);
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
	if ((e = addrtab_find(&t->tab, family, addr, 1)) == NULL)
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
