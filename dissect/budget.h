/*
 * budget.h: the global memory budget (--limit memory, Suricata's stream
 * memcap).
 *
 * One budget per run, shared by every flow table (atomic counters, so the
 * packet loops of several workers may draw from one). Each flow's state
 * and buffers are charged to it where they are allocated (flow.c, ssh.c,
 * tcp.c) and released where they are freed. A buffer that would take the
 * total over the limit is refused: the flow that asked stops buffering
 * (memcap_reached, see ssh.h), the process goes on. Not responsible for
 * what a refused flow does next (its owner) or for fixed buffers (I/O,
 * tables), which docs/limits.md bounds apart.
 */
#ifndef KW_BUDGET_H
#define KW_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* The counters are read and written with __atomic builtins only. */
struct kw_budget {
	uint64_t limit;   /* bytes; fixed once made */
	uint64_t used;    /* bytes charged now */
	uint64_t peak;    /* the most ever charged at once */
	uint64_t refused; /* charges refused */
};

/* budget_init makes b a budget of limit bytes, nothing charged. */
void budget_init(struct kw_budget *b, uint64_t limit);

/*
 * budget_charge takes n bytes from b: 0, or KW_ERR_LIMIT (nothing taken,
 * counted in refused) when that would go over the limit. A NULL b has no
 * limit.
 */
int budget_charge(struct kw_budget *b, size_t n);

/* budget_force takes n bytes even over the limit (state that must exist: a flow). */
void budget_force(struct kw_budget *b, size_t n);

/* budget_release gives back n bytes charged before. NULL b: nothing. */
void budget_release(struct kw_budget *b, size_t n);

#endif
