/*
 * budget.h: the global memory budget (--limit memory, Suricata's stream
 * memcap).
 *
 * One root budget per run, shared by every flow table (atomic counters, so
 * the packet loops of several workers may draw from one). Each flow table
 * charges a local budget of its own, which draws credit from the root in
 * chunks of BUDGET_LOCAL_CHUNK bytes and gives back what it holds past one
 * chunk: the packet loop's charges and releases are then plain arithmetic,
 * one atomic operation every few dozen connections instead of one or two
 * per packet. The credit is charged to the root, so the total never goes
 * over the limit; a charge may be refused up to (tables x
 * BUDGET_LOCAL_CHUNK) bytes early, the credit other tables hold unused
 * (docs/limits.md).
 *
 * Each flow's state and buffers are charged where they are allocated
 * (flow.c, ssh.c, tcp.c) and released where they are freed. A buffer that
 * would take the total over the limit is refused: the flow that asked
 * stops buffering (memcap_reached, see ssh.h), the process goes on. Not
 * responsible for what a refused flow does next (its owner) or for fixed
 * buffers (I/O, tables), which docs/limits.md bounds apart.
 */
#ifndef KW_BUDGET_H
#define KW_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* Credit a local budget draws from its root at once, and the most it keeps. */
#define BUDGET_LOCAL_CHUNK (64u << 10)

/*
 * A root's counters are read and written with __atomic builtins only; a
 * local budget belongs to one thread and is plain.
 */
struct kw_budget {
	uint64_t limit;         /* root: bytes; fixed once made */
	uint64_t used;          /* root: bytes charged now, local credit included */
	uint64_t peak;          /* root: the most ever charged at once */
	uint64_t refused;       /* charges refused (a local one counts in its root too) */
	struct kw_budget *root; /* local: where its credit comes from; NULL: a root */
	uint64_t credit;        /* local: bytes drawn from the root, not charged yet */
};

/* budget_init makes b a root budget of limit bytes, nothing charged. */
void budget_init(struct kw_budget *b, uint64_t limit);

/*
 * budget_init_local makes b a local budget drawing from root (not NULL),
 * which outlives it. b is used by one thread at a time; budget_local_end
 * gives its credit back.
 */
void budget_init_local(struct kw_budget *b, struct kw_budget *root);

/* budget_local_end gives a local budget's credit back to its root. */
void budget_local_end(struct kw_budget *b);

/*
 * budget_charge takes n bytes from b: 0, or KW_ERR_LIMIT (nothing taken,
 * counted in refused) when that would go over the limit. A NULL b has no
 * limit.
 */
int budget_charge(struct kw_budget *b, size_t n);

/* budget_force takes n bytes even over the limit (state that must exist: a flow). */
void budget_force(struct kw_budget *b, size_t n);

/* budget_release gives back n bytes charged before to b (or to its root). NULL b: nothing. */
void budget_release(struct kw_budget *b, size_t n);

#endif
