/*
 * test_list.c: unit.list — the intrusive list (common/list.h). An empty
 * list is empty both ways; heads and tails come out in the order put in;
 * a deleted node is on no list and deleting it again changes nothing;
 * moves, splices and removal while walking keep both directions
 * consistent; and over many random operations the list agrees with a plain
 * array model, forwards and backwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "tap.h"

struct item {
	int value;
	struct list_head node;
};

/* order writes the values of h, first to last, into out; returns how many. */
static int order(const struct list_head *h, int *out, int max)
{
	const struct item *it;
	int n = 0;

	list_for_each_entry(it, h, node) {
		if (n < max)
			out[n] = it->value;
		n++;
	}
	return n;
}

/* consistent: each node's prev points at the node before it, and the walk ends. */
static int consistent(const struct list_head *h)
{
	const struct list_head *p = h;
	size_t steps = 0;

	do {
		if (p->next->prev != p)
			return 0;
		p = p->next;
		if (++steps > 100000)
			return 0;
	} while (p != h);
	return 1;
}

static int same(const struct list_head *h, const int *want, int n)
{
	int got[64];

	return order(h, got, 64) == n && memcmp(got, want, (size_t)n * sizeof(int)) == 0 &&
	       consistent(h);
}

static void test_basics(void)
{
	struct list_head h = LIST_HEAD_INIT(h), h2;
	struct item it[5];

	for (int i = 0; i < 5; i++) {
		it[i].value = i;
		list_init(&it[i].node);
	}
	CHECK(list_is_empty(&h) && list_count(&h) == 0, "static initialiser: empty");
	CHECK(list_first(&h) == NULL && list_last(&h) == NULL, "empty: no first, no last");
	CHECK(!list_is_linked(&it[0].node), "an initialised node is on no list");

	list_add_head(&h, &it[1].node);
	list_add_head(&h, &it[0].node);
	list_add_tail(&h, &it[2].node);
	list_add_tail(&h, &it[3].node);
	CHECK(same(&h, (int[]){0, 1, 2, 3}, 4), "add_head and add_tail order");
	CHECK(list_count(&h) == 4 && !list_is_empty(&h), "four elements");
	CHECK(list_entry(list_first(&h), struct item, node) == &it[0], "first is item 0");
	CHECK(list_entry(list_last(&h), struct item, node) == &it[3], "last is item 3");
	CHECK(list_entry_or_null(list_prev(&h, &it[0].node), struct item, node) == NULL,
	      "nothing before the first");
	CHECK(list_next(&h, &it[3].node) == NULL, "nothing after the last");
	CHECK(list_prev(&h, &it[2].node) == &it[1].node &&
	          list_next(&h, &it[1].node) == &it[2].node,
	      "prev and next in the middle");
	CHECK(list_is_linked(&it[2].node), "an added node is linked");

	list_del(&it[2].node);
	CHECK(same(&h, (int[]){0, 1, 3}, 3) && !list_is_linked(&it[2].node), "del from the middle");
	list_del(&it[2].node);
	CHECK(same(&h, (int[]){0, 1, 3}, 3), "a second del changes nothing");

	list_move_head(&h, &it[3].node);
	CHECK(same(&h, (int[]){3, 0, 1}, 3), "move_head of the last");
	list_move_head(&h, &it[3].node);
	CHECK(same(&h, (int[]){3, 0, 1}, 3), "move_head of the first: unchanged");
	list_move_tail(&h, &it[3].node);
	CHECK(same(&h, (int[]){0, 1, 3}, 3), "move_tail of the first");
	list_move_tail(&h, &it[3].node);
	CHECK(same(&h, (int[]){0, 1, 3}, 3), "move_tail of the last: unchanged");

	/* Splice: from's nodes, in order, before h's. */
	list_init(&h2);
	list_add_tail(&h2, &it[2].node);
	list_add_tail(&h2, &it[4].node);
	list_splice_init(&h, &h2);
	CHECK(same(&h, (int[]){2, 4, 0, 1, 3}, 5) && list_is_empty(&h2) && consistent(&h2),
	      "splice to the front, source left empty");
	list_splice_init(&h, &h2);
	CHECK(same(&h, (int[]){2, 4, 0, 1, 3}, 5), "splicing an empty list changes nothing");
	list_splice_init(&h2, &h);
	CHECK(same(&h2, (int[]){2, 4, 0, 1, 3}, 5) && list_is_empty(&h),
	      "splice into an empty list");

	/* Removal while walking: every odd value goes. */
	{
		struct item *pos, *tmp;
		struct list_head *p, *t;
		int n = 0;

		list_for_each_entry_safe(pos, tmp, &h2, node) {
			if (pos->value % 2)
				list_del(&pos->node);
		}
		CHECK(same(&h2, (int[]){2, 4, 0}, 3), "for_each_entry_safe removes as it walks");
		list_for_each_safe(p, t, &h2) {
			list_del(p);
			n++;
		}
		CHECK(n == 3 && list_is_empty(&h2), "for_each_safe empties the list");
		list_for_each(p, &h2)
			n++;
		CHECK(n == 3, "for_each over an empty list does nothing");
	}
}

/* Random operations against an array model of the same list. */
static void test_model(void)
{
	enum { N = 40, OPS = 20000 };
	struct item it[N];
	int model[N], nmodel = 0, bad = 0;
	struct list_head h;
	unsigned seed = 99;

	list_init(&h);
	for (int i = 0; i < N; i++) {
		it[i].value = i;
		list_init(&it[i].node);
	}
	for (int op = 0; op < OPS; op++) {
		int i, k, where = -1;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 16) % N);
		k = (int)((seed >> 8) % 4);
		for (int j = 0; j < nmodel; j++)
			if (model[j] == i)
				where = j;
		if (where < 0 && k < 2) { /* add at the head or the tail */
			if (k == 0) {
				memmove(model + 1, model, (size_t)nmodel * sizeof(int));
				model[0] = i;
				list_add_head(&h, &it[i].node);
			} else {
				model[nmodel] = i;
				list_add_tail(&h, &it[i].node);
			}
			nmodel++;
		} else if (where >= 0 && k == 0) { /* delete */
			memmove(model + where, model + where + 1,
			        (size_t)(nmodel - where - 1) * sizeof(int));
			nmodel--;
			list_del(&it[i].node);
		} else if (where >= 0 && k == 1) { /* move to the head */
			memmove(model + 1, model, (size_t)where * sizeof(int));
			model[0] = i;
			list_move_head(&h, &it[i].node);
		} else if (where >= 0) { /* move to the tail */
			memmove(model + where, model + where + 1,
			        (size_t)(nmodel - where - 1) * sizeof(int));
			model[nmodel - 1] = i;
			list_move_tail(&h, &it[i].node);
		}
		if (!same(&h, model, nmodel) || list_count(&h) != (size_t)nmodel) {
			bad++;
			continue;
		}
		/* Backwards too, as an LRU's eviction walks it. */
		{
			struct list_head *p = list_last(&h);
			for (int j = nmodel - 1; j >= 0; j--, p = p ? list_prev(&h, p) : NULL)
				if (p == NULL ||
				    list_entry(p, struct item, node)->value != model[j]) {
					bad++;
					break;
				}
		}
	}
	CHECK(bad == 0, "%d random operations agree with the array model (%d differ)", OPS, bad);
}

int main(void)
{
	test_basics();
	test_model();
	return tap_done();
}
