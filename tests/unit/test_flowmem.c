/*
 * test_flowmem.c: unit.flowmem — per-connection memory (dissect/flowmem.c):
 * what it gives is aligned, writable and disjoint; blocks larger than half
 * a chunk do not waste the chunk being carved; released chunks go back to
 * the pool and are reused, up to FLOWMEM_POOL_MAX; a budget is charged
 * whole chunks and refuses past its limit; one without a pool frees
 * everything. ASan (the test build) catches overlaps and leaks.
 */
#include <string.h>

#include "flowmem.h"
#include "tap.h"

int main(void)
{
	struct flowmem_pool pool = {0};
	struct flowmem m = {.pool = &pool}, solo = {0};
	static const size_t sizes[] = {0, 1, 7, 40, 64, 1500, 3000, 9000, 300, 2000, 2000, 8};
	uint8_t *p[sizeof(sizes) / sizeof(sizes[0])];
	size_t i, j;
	int ok = 1;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = flowmem_alloc(&m, sizes[i]);
		CHECK(p[i] != NULL && ((uintptr_t)p[i] & 7) == 0, "alloc %zu aligned", sizes[i]);
		memset(p[i], (int)i + 1, sizes[i]);
	}
	/* Each block still holds its own bytes: none overlaps another. */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizes[i]; j++)
			if (p[i][j] != (uint8_t)(i + 1))
				ok = 0;
	CHECK(ok, "blocks are disjoint");
	/* Blocks that do not fit the chunk being carved and are above half a
	 * chunk (3000, 9000) are their own: the small requests around them
	 * share the first chunk, back to back; the second 2000 opens a chunk. */
	CHECK((size_t)(p[8] - p[5]) == 1504, "300 follows 1500 in the same chunk");
	flowmem_release(&m);
	CHECK(m.head == NULL && m.used == 0, "released is empty");
	CHECK(pool.nspare >= 2, "ordinary chunks went back to the pool (%u)", pool.nspare);
	{
		uint32_t before = pool.nspare;
		void *q = flowmem_alloc(&m, 100);
		CHECK(q != NULL && pool.nspare == before - 1, "the next connection reuses a chunk");
		flowmem_release(&m);
		CHECK_EQ_INT(pool.nspare, before);
	}
	/* The pool keeps at most FLOWMEM_POOL_MAX chunks. */
	{
		static struct flowmem many[FLOWMEM_POOL_MAX + 8];
		ok = 1;
		for (i = 0; i < FLOWMEM_POOL_MAX + 8; i++) {
			many[i].pool = &pool;
			if (flowmem_alloc(&many[i], 16) == NULL)
				ok = 0;
		}
		CHECK(ok, "%u connections at once", FLOWMEM_POOL_MAX + 8);
		for (i = 0; i < FLOWMEM_POOL_MAX + 8; i++)
			flowmem_release(&many[i]);
		CHECK_EQ_INT(pool.nspare, FLOWMEM_POOL_MAX);
	}
	/* A budget is charged whole chunks, refuses past its limit (saying
	 * so), and gets every byte back on release. */
	{
		struct kw_budget b;
		struct flowmem lim = {.pool = &pool, .budget = &b};
		void *q1, *q2, *q3;

		budget_init(&b, FLOWMEM_CHUNK + 6000);
		q1 = flowmem_alloc(&lim, 16);
		CHECK(q1 != NULL && b.used == FLOWMEM_CHUNK, "one chunk charged (%llu)",
		      (unsigned long long)b.used);
		q2 = flowmem_alloc(&lim, 5000); /* a block of its own */
		CHECK(q2 != NULL && lim.refused == 0, "a block within the budget");
		q3 = flowmem_alloc(&lim, 5000);
		CHECK(q3 == NULL && lim.refused == 1, "refused past the budget, and said so");
		CHECK(b.refused == 1, "the budget counts the refusal");
		flowmem_release(&lim);
		CHECK_EQ_INT(b.used, 0);
	}
	/* Without a pool: plain malloc and free. */
	CHECK(flowmem_alloc(&solo, 10) != NULL && flowmem_alloc(&solo, 5000) != NULL, "no pool");
	flowmem_release(&solo);
	flowmem_pool_free(&pool);
	CHECK_EQ_INT(pool.nspare, 0);
	return tap_done();
}
