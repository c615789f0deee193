/*
 * flow.h: the bidirectional flow table and per-direction TCP tracking.
 *
 * The table owns every flow. It follows TCP per direction (handshake, MSS,
 * retransmissions, out-of-order segments, overlaps, gaps, FIN, RST), hands
 * the ordered bytes of each direction to the SSH parser, runs the timeouts on
 * capture time, evicts the least recently active flow beyond max_flows, and
 * calls the report callback exactly once for each flow worth a record, just
 * before it frees it (or, for a long established session, when its handshake
 * is final; the flow then lives on silently until it ends). Direction 0 is
 * the TCP initiator (the SYN sender; without a SYN, the first sender until
 * the SSH exchange says otherwise, see flow_src_dir). Not responsible for
 * what the facts mean (verdict/).
 */
#ifndef KW_FLOW_H
#define KW_FLOW_H

#include <stdint.h>

#include "decode.h"
#include "limits.h"
#include "list.h"
#include "ssh.h"

struct tcp_seg; /* an out-of-order segment held for reassembly (tcp.c) */

/* Unacknowledged clear-text segments remembered per direction. */
#define TCP_INFLIGHT 8

struct tcp_dir {
	uint32_t isn, next_seq, fin_seq;
	uint8_t seq_known, syn, fin, rst;
	uint8_t wscale, sack_ok, has_ts;
	uint16_t mss; /* 0: none announced */
	uint32_t packets, data_packets;
	uint64_t bytes;            /* TCP payload bytes on the wire */
	uint32_t retransmits;      /* data segments wholly seen before */
	uint32_t retrans_max;      /* largest retransmitted segment */
	uint32_t out_of_order;     /* segments that arrived ahead of a hole */
	uint32_t overlaps;         /* segments partly seen before */
	uint32_t gaps;             /* holes never filled: bytes lost to the capture */
	uint32_t path_holes;       /* holes the receiver never acknowledged: lost on the path */
	uint32_t path_hole_max;    /* the largest of them, in bytes */
	uint32_t max_segment;      /* largest payload */
	uint32_t df_set, df_clear; /* packets with and without DF */
	uint32_t syns, rsts, fins;
	uint32_t ack; /* last acknowledgement sent */
	uint8_t ack_valid;
	/* Segments sent in clear text and not yet acknowledged by the peer, to
	 * tell a stalled key exchange (and which sizes got through) apart. */
	uint32_t inflight_seq[TCP_INFLIGHT], inflight_len[TCP_INFLIGHT];
	uint8_t ninflight;
	uint32_t acked_max; /* largest segment the peer acknowledged */
	uint64_t t_first, t_last, t_syn, t_fin, t_rst;
	struct tcp_seg *ooo; /* sorted by seq */
	uint32_t ooo_count, ooo_bytes;
};

enum flow_close_kind {
	FLOW_CLOSE_NONE,
	FLOW_CLOSE_FIN,
	FLOW_CLOSE_RST,
	FLOW_CLOSE_TIMEOUT,
	FLOW_CLOSE_CAPTURE_END,
	FLOW_CLOSE_EVICTED, /* reported early: the table was full */
};

/* Why a flow is being reported (the report callback's reason). */
enum flow_report_why {
	FLOW_WHY_CLOSED,      /* FIN/RST and the linger time passed */
	FLOW_WHY_TIMEOUT,     /* idle too long */
	FLOW_WHY_ESTABLISHED, /* handshake final, session goes on */
	FLOW_WHY_CAPTURE_END, /* input ended (or a signal) */
	FLOW_WHY_EVICTED,     /* the table was full */
	FLOW_WHY_REUSED,      /* a new connection reused the addresses */
};

/* Flow anomalies (bits of flow.anomalies); decode anomalies are kept apart. */
#define FLOW_ANOM_MIDSTREAM 0x01u        /* capture started after the handshake */
#define FLOW_ANOM_ONE_SIDED 0x02u        /* a direction was never seen */
#define FLOW_ANOM_OOO_LIMIT 0x04u        /* out-of-order limit hit: bytes given up */
#define FLOW_ANOM_SEQ_JUMP 0x08u         /* a segment far outside the window */
#define FLOW_ANOM_EVICTED 0x10u          /* reported early: table full */
#define FLOW_ANOM_SNAPPED 0x20u          /* segments cut by the snap length */
#define FLOW_ANOM_DATA_BEFORE_HS 0x40u   /* data in a SYN */
#define FLOW_ANOM_OVERLAP_CONFLICT 0x80u /* overlapping segments carried different bytes */

#define FLOW_MAX_ICMP 4

struct flow_icmp {
	uint8_t v6, type, code;
	uint32_t mtu;
	uint64_t ts_us;
};

enum flow_state {
	FLOW_ACTIVE,
	FLOW_CLOSING,  /* both FINs or a RST seen: lingering for stragglers */
	FLOW_REPORTED, /* record written; kept to swallow the rest silently */
};

struct flow {
	/* Table links (private to flow.c). */
	struct flow *hnext;
	struct list_head lru; /* the table's activity order, most recent first */
	struct list_head tw;  /* the timer-wheel slot of deadline_us */
	uint64_t deadline_us;
	uint32_t hash;

	uint64_t id;          /* flow_id, in order of creation, unique in a run */
	struct addr_pair key; /* src = direction 0's sender */
	enum flow_state state;
	uint8_t initiator_known; /* a SYN or SYN-ACK told who opened */
	int8_t port_client_dir;  /* without a SYN: the client by ports (flow_src_from), -1 none */
	uint8_t candidate;       /* responder port is an SSH port: report even without SSH */
	uint8_t feeding;         /* bytes still go to the SSH parser */
	uint8_t bypass;          /* no record can come of its packets (flow.c) */
	uint64_t t_first, t_last;
	uint64_t t_syn, t_synack, t_ack; /* handshake: first SYN, SYN-ACK, ACK of it */
	struct tcp_dir dir[2];
	struct ssh_conn ssh;
	uint16_t vlan[2]; /* the tags of the frame that carried its first packet */
	uint8_t nvlan;
	struct pkt_tunnel tunnel; /* the tunnel its first packet came out of */
	uint32_t ip_fragments;    /* fragments its packets arrived in */
	uint32_t frag_max_size;   /* largest reassembled datagram */
	struct flow_icmp icmp[FLOW_MAX_ICMP];
	uint32_t nicmp;            /* all seen; the first FLOW_MAX_ICMP are kept */
	uint32_t anomalies;        /* FLOW_ANOM_* */
	uint32_t decode_anomalies; /* DEC_ANOM_* of its packets */
	int8_t close_dir;          /* direction that closed first, -1 none */
	enum flow_close_kind close_kind;
	uint64_t t_close;
	uint8_t close_phase_newkeys; /* both NEWKEYS seen when it closed */
	uint32_t file_index;         /* input file where the flow began */
	uint32_t iface_index;        /* live interface */
	/* Capture time at which its record became final (set when reported):
	 * the deadline that ran out (timeout, linger, established_report_ms),
	 * the clock at the packet that ended it (a reused pair, an eviction),
	 * or UINT64_MAX at the end of the input. The same whichever packet
	 * loop ran the timer, so records of several loops merge in one order. */
	uint64_t t_final;
	uint64_t stable_id; /* its flow_id (flowid.h) once computed for the merger; 0: not yet */
};

/* What told the direction reported as src_*, strongest first (flow_src_from). */
enum flow_src_evidence {
	FLOW_SRC_SYN,           /* a SYN or SYN-ACK */
	FLOW_SRC_SSH_MESSAGES,  /* who sent the KEX init and reply, or the KEXINIT markers */
	FLOW_SRC_SERVER_BANNER, /* the side that sent lines before its banner is the server */
	FLOW_SRC_PORTS,         /* a well-known or --ssh-ports port against an ephemeral one */
	FLOW_SRC_FIRST_PACKET,  /* nothing else: the sender of the first packet seen */
};

/*
 * flow_src_from: the direction reported as src_* (the TCP initiator, see
 * DESIGN.md section 1) in *dir, and what told it. Without a SYN the
 * strongest evidence wins: the SSH messages, then the pre-banner lines
 * only a server sends (RFC 4253 section 4.2), then the ports, and the first
 * packet only as the last resort. dir may be NULL.
 */
enum flow_src_evidence flow_src_from(const struct flow *f, int *dir);

/* flow_src_dir: the direction reported as src_* (flow_src_from's dir). */
int flow_src_dir(const struct flow *f);

typedef void (*flow_report_fn)(void *ctx, const struct flow *f, enum flow_report_why why);
/* The same, handing over f: the callee owns it and gives it to flow_release. */
typedef void (*flow_handoff_fn)(void *ctx, struct flow *f, enum flow_report_why why);

struct flow_stats {
	uint64_t packets, bytes, flows, reported, evicted, timeouts, reused, not_ssh, icmp_matched,
	    icmp_unmatched, anomalies;
	/* Packets of evicted connections, recognised and counted, not followed. */
	uint64_t evicted_packets;
	/* Flows the global memory budget refused a buffer (memcap_reached). */
	uint64_t memcap_reached;
	uint64_t open; /* flows in the table now */
	uint64_t lost; /* records not handed over: no memory for the copy */
	/* Records the merger wrote at once, out of their order, having no
	 * memory to hold them for their turn (app/workers.c; 0 in a table's). */
	uint64_t unsorted;
};

struct flow_config {
	const struct kw_limits *limits; /* borrowed for the table's life */
	const uint16_t *ssh_ports;      /* ports whose flows are reported without SSH */
	uint32_t nssh_ports;
	flow_report_fn report;
	void *report_ctx;
	/*
	 * When set, used instead of report: the table hands over a copy of the
	 * flow that owns the flow's SSH facts (the table keeps what it needs to
	 * follow the rest of the connection silently), so another thread may
	 * judge and free it (app/workers.c). NULL when the copy cannot be made
	 * (the record is lost and counted in flow_stats.lost).
	 */
	flow_handoff_fn handoff;
	/*
	 * Set when the handoff callee calls flow_release on the table's own
	 * thread (one packet loop, no threads): a released copy then goes
	 * straight back to the table. Unset, flow_release may be called on any
	 * thread and the copy waits for the table's thread to take it back
	 * (its next new flow or copy, the clock's next second, or
	 * flow_table_free). Either way the
	 * copy's memory returns to the table's local budget, its chunks to the
	 * table's pool and the copy to its spare flows: no lock, no free on
	 * another thread's heap. Every copy must be released before
	 * flow_table_free.
	 */
	int handoff_same_thread;
	uint64_t seed;            /* mixed into the process's random hash key (hash.h); any value */
	struct kw_budget *budget; /* the global memory budget, borrowed; NULL: none */
	/* flow.id: first_id, then every id_step (0: 1, 1): tables of one run
	 * that count from different first ids in one step never share an id. */
	uint64_t first_id;
	uint32_t id_step;
};

struct flow_table;

/*
 * flow_table_new: NULL on allocation failure. cfg is copied. A table is
 * not thread-safe and holds all its mutable state (flows, timers, digest
 * state): one per packet loop, and loops on other threads have their own.
 */
struct flow_table *flow_table_new(const struct flow_config *cfg);
/* flow_table_free frees every flow without reporting (call flush first). */
void flow_table_free(struct flow_table *t);

/*
 * flow_table_packet accounts one decoded packet: it finds or creates the
 * flow, tracks TCP, feeds the SSH parser, advances the capture clock and runs
 * due timeouts (reports may be written during the call). file_index and
 * iface_index are copied into new flows. Returns 0 or KW_ERR_NOMEM.
 */
int flow_table_packet(struct flow_table *t, const struct pkt *p, uint32_t file_index,
                      uint32_t iface_index);

/* flow_table_advance moves the clock to now_us (never backwards) and runs timeouts. */
void flow_table_advance(struct flow_table *t, uint64_t now_us);
/*
 * flow_table_advance_exact does the same, and also runs the timeouts due
 * within the current second, which flow_table_advance leaves for the next
 * second (its wheel has one-second slots): for a quiet input, where records
 * should not wait for the next packet's second. Costs a scan of one slot.
 */
void flow_table_advance_exact(struct flow_table *t, uint64_t now_us);

/*
 * flow_table_flush reports every open flow (capture end, signal) and frees
 * it; flows whose deadline the clock has reached are reported as expired.
 */
void flow_table_flush(struct flow_table *t);

/*
 * flow_table_horizon: a capture time no record reported from now on is
 * final before (flow.t_final >= it), whatever packets come next; 0 before
 * the first packet. A merger of several tables' records may write every
 * record whose t_final is below the least horizon of the tables.
 */
uint64_t flow_table_horizon(const struct flow_table *t);

/* flow_release gives back a flow handed over by flow_config.handoff (see
 * handoff_same_thread for on which thread); NULL is allowed. */
void flow_release(struct flow *f);

const struct flow_stats *flow_table_stats(const struct flow_table *t);

#endif
