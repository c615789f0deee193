/*
 * test_budget.c: unit.budget — the global memory budget and the local
 * budgets that draw credit from it (dissect/budget.c): a local charge is
 * taken from credit drawn in whole chunks; the root is charged the credit,
 * so what is charged through every local budget never goes over the
 * limit; near the limit a local budget draws just what is missing, and is
 * refused only within one chunk per other local budget of the limit;
 * credit past one chunk goes back to the root; a flow's forced charge may
 * go over; the root's peak counts the credit; ending gives all back.
 */
#include "budget.h"
#include "err.h"
#include "tap.h"

#define CHUNK BUDGET_LOCAL_CHUNK

int main(void)
{
	struct kw_budget root, a, b;
	uint64_t got = 0;
	int rc;

	/* A root alone: charged and released at once, refused past the limit. */
	budget_init(&root, 1000);
	CHECK_EQ_INT(budget_charge(&root, 600), 0);
	CHECK_EQ_INT(budget_charge(&root, 600), KW_ERR_LIMIT);
	CHECK(root.used == 600 && root.refused == 1, "root refuses past its limit");
	budget_release(&root, 600);
	CHECK_EQ_INT(root.used, 0);
	CHECK_EQ_INT(root.peak, 600);

	/* A local budget: the first charge draws one chunk, the next ones none. */
	budget_init(&root, 10 * CHUNK + 100);
	budget_init_local(&a, &root);
	budget_init_local(&b, &root);
	CHECK_EQ_INT(budget_charge(&a, 100), 0);
	CHECK(root.used == CHUNK && a.credit == CHUNK - 100, "one chunk drawn (%llu)",
	      (unsigned long long)root.used);
	CHECK_EQ_INT(budget_charge(&a, 1000), 0);
	CHECK(root.used == CHUNK && a.credit == CHUNK - 1100, "charged from credit");
	/* A charge larger than the credit: whole chunks for what is missing. */
	CHECK_EQ_INT(budget_charge(&a, 2 * CHUNK), 0);
	CHECK(root.used == 3 * CHUNK && a.credit == CHUNK - 1100, "two chunks more (%llu)",
	      (unsigned long long)root.used);
	got = 1100 + 2 * CHUNK;

	/* Fill up to the limit through both: never more than the limit, and
	 * a refusal only once less than a chunk per other budget is left. */
	while ((rc = budget_charge(&a, 1000)) == 0)
		got += 1000;
	CHECK(root.used <= root.limit, "the root stays within its limit (%llu)",
	      (unsigned long long)root.used);
	CHECK(got + 1000 > root.limit - CHUNK, "refused within one chunk of the limit (%llu)",
	      (unsigned long long)got);
	CHECK(a.refused == 1 && root.refused == 1, "the refusal counted in both");
	/* b draws what is left, exactly, then is refused. */
	{
		uint64_t left = root.limit - root.used, bgot = 0;

		while (budget_charge(&b, 1000) == 0)
			bgot += 1000;
		CHECK(root.used <= root.limit && bgot <= left && bgot + 1000 > left,
		      "the other takes what is left (%llu of %llu)", (unsigned long long)bgot,
		      (unsigned long long)left);
		CHECK(got + bgot + a.credit + b.credit == root.used, "every byte accounted for");
		CHECK(b.refused == 1 && root.refused == 2, "each counts its own refusal");
		/* A flow's own state is forced past the limit. */
		budget_force(&b, 5000);
		CHECK(root.used > root.limit, "forced over the limit");
		CHECK(root.peak >= root.used, "peak follows (%llu)", (unsigned long long)root.peak);
		budget_release(&b, 5000);
		budget_release(&b, bgot);
		CHECK(b.credit <= CHUNK, "the surplus went back (%llu kept)",
		      (unsigned long long)b.credit);
	}
	/* Releasing everything leaves no more than a chunk's credit each. */
	budget_release(&a, got);
	CHECK(a.credit <= CHUNK && root.used == a.credit + b.credit,
	      "released: only the kept credit is charged (%llu)", (unsigned long long)root.used);
	/* A charge released to the root (a copy freed on another thread). */
	CHECK_EQ_INT(budget_charge(&a, 3 * CHUNK), 0);
	budget_release(&root, 3 * CHUNK);
	CHECK(root.used == a.credit + b.credit, "released to the root (%llu)",
	      (unsigned long long)root.used);
	budget_local_end(&a);
	budget_local_end(&b);
	CHECK(root.used == 0 && a.credit == 0 && b.credit == 0, "ended: nothing charged");
	CHECK(root.peak <= root.limit + 5000 + CHUNK, "peak bounded (%llu)",
	      (unsigned long long)root.peak);
	return tap_done();
}
