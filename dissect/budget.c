/*
 * budget.c: the global memory budget and the local budgets that draw from
 * it (see budget.h).
 */
#include "budget.h"
#include "err.h"

void budget_init(struct kw_budget *b, uint64_t limit)
{
	*b = (struct kw_budget){.limit = limit};
}

void budget_init_local(struct kw_budget *b, struct kw_budget *root)
{
	*b = (struct kw_budget){.limit = root->limit, .root = root};
}

/* note_peak raises peak to now (a lost race only delays it to the next charge). */
static void note_peak(struct kw_budget *b, uint64_t now)
{
	uint64_t p = __atomic_load_n(&b->peak, __ATOMIC_RELAXED); /* other loops write it */

	while (now > p && !__atomic_compare_exchange_n(&b->peak, &p, now, 1, __ATOMIC_RELAXED,
	                                               __ATOMIC_RELAXED))
		;
}

/* root_charge: n bytes from a root, or KW_ERR_LIMIT (nothing taken, not counted). */
static int root_charge(struct kw_budget *b, uint64_t n)
{
	uint64_t now = __atomic_add_fetch(&b->used, n, __ATOMIC_RELAXED);

	if (now > b->limit) {
		__atomic_sub_fetch(&b->used, n, __ATOMIC_RELAXED);
		return KW_ERR_LIMIT;
	}
	note_peak(b, now);
	return KW_OK;
}

/* round_chunk: n rounded up to whole chunks of credit. */
static uint64_t round_chunk(uint64_t n)
{
	return (n + BUDGET_LOCAL_CHUNK - 1) / BUDGET_LOCAL_CHUNK * BUDGET_LOCAL_CHUNK;
}

/*
 * local_draw gets credit for n bytes more than b holds: whole chunks when
 * the root has them, else just what is missing, so that near the limit a
 * charge is refused only when the root cannot give those bytes.
 */
static int local_draw(struct kw_budget *b, uint64_t n)
{
	uint64_t need = n - b->credit;

	if (root_charge(b->root, round_chunk(need)) == 0) {
		b->credit += round_chunk(need);
		return KW_OK;
	}
	if (root_charge(b->root, need) == 0) {
		b->credit += need;
		return KW_OK;
	}
	return KW_ERR_LIMIT;
}

int budget_charge(struct kw_budget *b, size_t n)
{
	if (b == NULL)
		return KW_OK;
	if (b->root == NULL) {
		if (root_charge(b, (uint64_t)n) == 0)
			return KW_OK;
	} else if (n <= b->credit || local_draw(b, (uint64_t)n) == 0) {
		b->credit -= n;
		return KW_OK;
	} else {
		b->refused++; /* this loop's own, read by its tests */
		b = b->root;
	}
	__atomic_add_fetch(&b->refused, 1, __ATOMIC_RELAXED);
	return KW_ERR_LIMIT;
}

void budget_force(struct kw_budget *b, size_t n)
{
	if (b == NULL)
		return;
	if (b->root == NULL) {
		note_peak(b, __atomic_add_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED));
		return;
	}
	if (n > b->credit) {
		uint64_t more = round_chunk(n - b->credit);
		note_peak(b->root, __atomic_add_fetch(&b->root->used, more, __ATOMIC_RELAXED));
		b->credit += more;
	}
	b->credit -= n;
}

void budget_release(struct kw_budget *b, size_t n)
{
	if (b == NULL)
		return;
	if (b->root == NULL) {
		__atomic_sub_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
		return;
	}
	b->credit += n;
	/* Past one chunk, half of one is kept: a connection's worth of
	 * charges and releases around the bound never reaches the root. */
	if (b->credit > BUDGET_LOCAL_CHUNK) {
		__atomic_sub_fetch(&b->root->used, b->credit - BUDGET_LOCAL_CHUNK / 2,
		                   __ATOMIC_RELAXED);
		b->credit = BUDGET_LOCAL_CHUNK / 2;
	}
}

void budget_local_end(struct kw_budget *b)
{
	if (b->root != NULL && b->credit > 0)
		__atomic_sub_fetch(&b->root->used, b->credit, __ATOMIC_RELAXED);
	b->credit = 0;
}
