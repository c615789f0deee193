/*
 * tcp.h: per-direction TCP tracking (internal to dissect/; see flow.h).
 */
#ifndef KW_TCP_H
#define KW_TCP_H

#include "flow.h"

/*
 * tcp_track accounts packet p, sent in direction d of flow f: flags, options,
 * sequence space, and the ordered payload, which it pushes to the SSH parser
 * while f->feeding. Out-of-order segments are copied (bounded by limits);
 * bytes the capture lost become a gap for the parser.
 */
void tcp_track(struct flow *f, int d, const struct pkt *p, const struct kw_limits *limits);

/* tcp_dir_release frees the out-of-order queue of a direction, giving its bytes back to b. */
void tcp_dir_release(struct tcp_dir *td, struct kw_budget *b);

/* tcp_finish gives up on holes still open (the flow is being reported). */
void tcp_finish(struct flow *f);

#endif
