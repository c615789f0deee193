/*
 * budget.c: the global memory budget (see budget.h).
 */
#include "budget.h"
#include "err.h"

void budget_init(struct kw_budget *b, uint64_t limit)
{
	b->limit = limit;
	b->used = 0;
	b->peak = 0;
	b->refused = 0;
}

/* note_peak raises peak to now (a lost race only delays it to the next charge). */
static void note_peak(struct kw_budget *b, uint64_t now)
{
	uint64_t p = __atomic_load_n(&b->peak, __ATOMIC_RELAXED); /* other loops write it */

	while (now > p && !__atomic_compare_exchange_n(&b->peak, &p, now, 1, __ATOMIC_RELAXED,
	                                               __ATOMIC_RELAXED))
		;
}

int budget_charge(struct kw_budget *b, size_t n)
{
	uint64_t now;

	if (b == NULL)
		return KW_OK;
	now = __atomic_add_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
	if (now > b->limit) {
		__atomic_sub_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->refused, 1, __ATOMIC_RELAXED);
		return KW_ERR_LIMIT;
	}
	note_peak(b, now);
	return KW_OK;
}

void budget_force(struct kw_budget *b, size_t n)
{
	if (b != NULL)
		note_peak(b, __atomic_add_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED));
}

void budget_release(struct kw_budget *b, size_t n)
{
	if (b != NULL)
		__atomic_sub_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
}
