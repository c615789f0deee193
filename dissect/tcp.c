/*
 * tcp.c: per-direction TCP tracking and reassembly (RFC 9293).
 *
 * Responsible for turning segments, in capture order, into the ordered byte
 * stream of each direction and counting what happened on the way:
 * retransmissions, out-of-order arrivals, overlaps, and holes the capture
 * never filled (gaps). Overlapping bytes are taken from the first copy seen,
 * as most receivers do. Once the SSH parser only counts (encrypted and not
 * framed, not SSH), segments are counted without reassembly; every new
 * segment's size and time is handed to it (ssh_stream_segment). Not responsible for flow lookup or
 * timeouts (flow.c).
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tcp.h"

struct tcp_seg {
	struct tcp_seg *next;
	uint32_t seq, len;
	uint8_t data[];
};

/* Sequence distances beyond this are not this connection's (RFC 9293 3.4). */
#define TCP_MAX_JUMP 0x40000000

static void tcp_deliver(struct flow *f, int d, const uint8_t *p, uint32_t n, uint64_t ts)
{
	if (n > 0)
		ssh_stream_push(&f->ssh, d, p, n, ts);
}

void tcp_dir_release(struct tcp_dir *td, struct kw_budget *b)
{
	struct tcp_seg *s, *next;

	for (s = td->ooo; s != NULL; s = next) {
		next = s->next;
		budget_release(b, sizeof(*s) + s->len);
		free(s);
	}
	td->ooo = NULL;
	td->ooo_count = td->ooo_bytes = 0;
}

/* tcp_drain delivers queued segments that the stream has now reached. */
static void tcp_drain(struct flow *f, int d, uint64_t ts)
{
	struct tcp_dir *td = &f->dir[d];
	struct tcp_seg *s;

	while ((s = td->ooo) != NULL && (int32_t)(s->seq - td->next_seq) <= 0) {
		uint32_t behind = td->next_seq - s->seq;

		td->ooo = s->next;
		td->ooo_count--;
		td->ooo_bytes -= s->len;
		if (behind < s->len) {
			if (f->feeding)
				tcp_deliver(f, d, s->data + behind, s->len - behind, ts);
			td->next_seq = s->seq + s->len;
		}
		budget_release(f->ssh.budget, sizeof(*s) + s->len);
		free(s);
	}
}

/* tcp_skip moves the stream of d forward to seq: the parser loses those bytes. */
static void tcp_skip(struct flow *f, int d, uint32_t seq, uint64_t ts)
{
	struct tcp_dir *td = &f->dir[d];

	ssh_stream_gap(&f->ssh, d);
	td->next_seq = seq;
	tcp_drain(f, d, ts);
}

/* tcp_gap skips bytes the capture lost (the receiver got them). */
static void tcp_gap(struct flow *f, int d, uint32_t seq, uint64_t ts)
{
	f->dir[d].gaps++;
	tcp_skip(f, d, seq, ts);
}

static void tcp_queue(struct flow *f, int d, uint32_t seq, const uint8_t *p, uint32_t n,
                      const struct kw_limits *limits, uint64_t ts)
{
	struct tcp_dir *td = &f->dir[d];
	struct tcp_seg *s, **pp;

	td->out_of_order++;
	s = NULL;
	if (td->ooo_count < limits->ooo_segments && n <= limits->ooo_bytes - td->ooo_bytes) {
		if (budget_charge(f->ssh.budget, sizeof(*s) + n) != 0)
			f->ssh.dir[d].anomalies |= SSH_ANOM_MEMCAP; /* the gap below stops it */
		else if ((s = malloc(sizeof(*s) + n)) == NULL)
			budget_release(f->ssh.budget, sizeof(*s) + n);
	}
	if (s == NULL) {
		/* Over the limit: give up the holes before this segment, oldest first. */
		uint32_t behind;

		f->anomalies |= FLOW_ANOM_OOO_LIMIT;
		while (td->ooo != NULL && (int32_t)(td->ooo->seq - seq) < 0)
			tcp_gap(f, d, td->ooo->seq, ts);
		if ((int32_t)(seq - td->next_seq) > 0)
			tcp_gap(f, d, seq, ts);
		behind = td->next_seq - seq;
		if (behind < n) {
			if (f->feeding)
				tcp_deliver(f, d, p + behind, n - behind, ts);
			td->next_seq = seq + n;
			tcp_drain(f, d, ts);
		}
		return;
	}
	s->seq = seq;
	s->len = n;
	memcpy(s->data, p, n);
	for (pp = &td->ooo; *pp != NULL && (int32_t)((*pp)->seq - seq) <= 0; pp = &(*pp)->next)
		;
	s->next = *pp;
	*pp = s;
	td->ooo_count++;
	td->ooo_bytes += n;
}

/* tcp_inflight_add remembers a new clear-text segment until it is acknowledged. */
static void tcp_inflight_add(struct tcp_dir *td, uint32_t seq, uint32_t len)
{
	if (td->ninflight == TCP_INFLIGHT) { /* forget the oldest */
		memmove(td->inflight_seq, td->inflight_seq + 1,
		        sizeof(td->inflight_seq[0]) * (TCP_INFLIGHT - 1));
		memmove(td->inflight_len, td->inflight_len + 1,
		        sizeof(td->inflight_len[0]) * (TCP_INFLIGHT - 1));
		td->ninflight--;
	}
	td->inflight_seq[td->ninflight] = seq;
	td->inflight_len[td->ninflight] = len;
	td->ninflight++;
}

/* tcp_inflight_ack drops what ack covers, keeping the largest size that got through. */
static void tcp_inflight_ack(struct tcp_dir *td, uint32_t ack)
{
	uint8_t kept = 0;

	for (uint8_t i = 0; i < td->ninflight; i++) {
		if ((int32_t)(ack - (td->inflight_seq[i] + td->inflight_len[i])) >= 0) {
			if (td->inflight_len[i] > td->acked_max)
				td->acked_max = td->inflight_len[i];
			continue;
		}
		td->inflight_seq[kept] = td->inflight_seq[i];
		td->inflight_len[kept] = td->inflight_len[i];
		kept++;
	}
	td->ninflight = kept;
}

/*
 * tcp_deliver_inorder delivers an in-order segment. Where it overlaps
 * segments queued earlier, the queued bytes were received first and win;
 * differing bytes there are an anomaly (an evasion attempt or a broken
 * middlebox: RFC 9293 3.10.7.4 leaves the choice to the receiver).
 */
static void tcp_deliver_inorder(struct flow *f, int d, uint32_t seq, const uint8_t *data,
                                uint32_t n, uint64_t ts)
{
	struct tcp_dir *td = &f->dir[d];
	uint32_t end = seq + n;

	while ((int32_t)(end - td->next_seq) > 0) {
		struct tcp_seg *q = td->ooo;
		uint32_t upto;

		if (q != NULL && (int32_t)(q->seq - td->next_seq) <= 0) {
			/* q was queued first and reaches the stream's end: compare the
			 * bytes both carry, [next_seq, min(q's end, end)), then let q win. */
			uint32_t from = td->next_seq, qend = q->seq + q->len;

			if ((int32_t)(qend - from) > 0) {
				uint32_t to = (int32_t)(qend - end) < 0 ? qend : end;
				td->overlaps++;
				if (memcmp(q->data + (from - q->seq), data + (from - seq),
				           to - from) != 0)
					f->anomalies |= FLOW_ANOM_OVERLAP_CONFLICT;
			}
			tcp_drain(f, d, ts); /* pops q: its start is at or before next_seq */
			continue;
		}
		upto = q != NULL && (int32_t)(q->seq - end) < 0 ? q->seq : end;
		tcp_deliver(f, d, data + (td->next_seq - seq), upto - td->next_seq, ts);
		td->next_seq = upto;
	}
}

static void tcp_data(struct flow *f, int d, uint32_t seq, const struct pkt *p,
                     const struct kw_limits *limits)
{
	struct tcp_dir *td = &f->dir[d];
	const uint8_t *data = p->payload;
	uint32_t cap = p->payload_len, len = p->wire_payload_len;
	int32_t diff;

	td->data_packets++;
	td->bytes += len;
	if (len > td->max_segment)
		td->max_segment = len;
	if (!td->seq_known) {
		/* No SYN from this side: the capture began mid-connection. A
		 * direction whose first bytes do not open a line of SSH
		 * identification (RFC 4253 4.2) is searched for the binary packet
		 * framing (ssh_stream_midstream) rather than parsed as noise. */
		td->seq_known = 1;
		td->next_seq = seq;
		f->anomalies |= FLOW_ANOM_MIDSTREAM;
		if (cap < 4 || memcmp(data, "SSH-", 4) != 0)
			ssh_stream_midstream(&f->ssh, d);
	}
	diff = (int32_t)(seq - td->next_seq);
	if (diff > TCP_MAX_JUMP || diff < -TCP_MAX_JUMP) {
		f->anomalies |= FLOW_ANOM_SEQ_JUMP;
		return;
	}
	if (diff < 0) {
		uint32_t behind = (uint32_t)-diff;
		if (behind >= len) {
			td->retransmits++;
			if (len > td->retrans_max)
				td->retrans_max = len;
			return;
		}
		td->overlaps++;
		data += behind < cap ? behind : cap;
		cap = behind < cap ? cap - behind : 0;
		len -= behind;
		seq = td->next_seq;
		diff = 0;
	}
	/* New bytes in a segment: after NEWKEYS its size is a fact (ssh.c). */
	ssh_stream_segment(&f->ssh, d, len, p->ts_us);
	if (!f->feeding || !ssh_dir_wants_bytes(&f->ssh, d)) {
		/* Counting only: no reassembly, the stream end moves forward. */
		ssh_stream_count(&f->ssh, d, len);
		if ((int32_t)(seq + len - td->next_seq) > 0)
			td->next_seq = seq + len;
		if (td->ooo)
			tcp_dir_release(td, f->ssh.budget);
		return;
	}
	if (cap < len)
		f->anomalies |= FLOW_ANOM_SNAPPED;
	tcp_inflight_add(td, seq, len);
	if (diff > 0) {
		tcp_queue(f, d, seq, data, cap, limits, p->ts_us);
		return;
	}
	tcp_deliver_inorder(f, d, seq, data, cap, p->ts_us);
	if (cap < len)
		tcp_gap(f, d, seq + len, p->ts_us); /* snapped: the rest is lost */
	tcp_drain(f, d, p->ts_us);
}

/*
 * An acknowledgement beyond what the capture saw of the other direction
 * means the receiver got bytes the capture lost: a gap, now rather than when
 * the out-of-order queue overflows. A FIN occupies one sequence number.
 */
static void tcp_check_ack(struct flow *f, int d, uint32_t ack, uint64_t ts)
{
	struct tcp_dir *peer = &f->dir[!d];
	int32_t ahead;

	if (!peer->seq_known || !f->feeding || !ssh_dir_wants_bytes(&f->ssh, !d))
		return;
	ahead = (int32_t)(ack - peer->next_seq);
	if (peer->fin && peer->fin_seq == peer->next_seq)
		ahead--;
	if (ahead > 0 && ahead < TCP_MAX_JUMP)
		tcp_gap(f, !d, ack, ts);
}

void tcp_track(struct flow *f, int d, const struct pkt *p, const struct kw_limits *limits)
{
	struct tcp_dir *td = &f->dir[d];
	uint32_t seq = p->seq;

	td->packets++;
	if (td->t_first == 0)
		td->t_first = p->ts_us;
	td->t_last = p->ts_us;
	if (p->df)
		td->df_set++;
	else
		td->df_clear++;
	if (p->flags & TCP_SYN) {
		td->syns++;
		if (!td->syn) {
			td->syn = 1;
			td->t_syn = p->ts_us;
			td->isn = seq;
			td->next_seq = seq + 1;
			td->seq_known = 1;
			td->mss = p->mss;
			td->wscale = p->wscale;
			td->sack_ok = p->sack_ok;
			td->has_ts = p->has_ts;
		}
		seq++; /* data in a SYN follows the ISN */
		if (p->wire_payload_len > 0)
			f->anomalies |= FLOW_ANOM_DATA_BEFORE_HS;
	}
	if (p->flags & TCP_ACK) {
		td->ack = p->ack;
		td->ack_valid = 1;
		if (f->dir[!d].ninflight)
			tcp_inflight_ack(&f->dir[!d], p->ack);
		tcp_check_ack(f, d, p->ack, p->ts_us);
	}
	if (p->flags & TCP_RST) {
		td->rsts++;
		if (!td->rst) {
			td->rst = 1;
			td->t_rst = p->ts_us;
		}
	}
	if (p->wire_payload_len > 0 && !(p->flags & TCP_RST))
		tcp_data(f, d, seq, p, limits);
	if (p->flags & TCP_FIN) {
		td->fins++;
		if (!td->fin) {
			td->fin = 1;
			td->t_fin = p->ts_us;
			td->fin_seq = seq + p->wire_payload_len;
		}
	}
}

void tcp_finish(struct flow *f)
{
	for (int d = 0; d < 2; d++) {
		struct tcp_dir *td = &f->dir[d];
		if (td->ooo != NULL) {
			/* A hole never filled: what follows it is still worth parsing.
			 * If the receiver never acknowledged past it either, the path
			 * lost those bytes, not the capture. */
			const struct tcp_dir *peer = &f->dir[!d];
			uint32_t hole = td->ooo->seq - td->next_seq;

			if (peer->ack_valid && (int32_t)(peer->ack - td->next_seq) <= 0) {
				td->path_holes++;
				if (hole > td->path_hole_max)
					td->path_hole_max = hole;
				tcp_skip(f, d, td->ooo->seq, td->t_last);
			} else {
				tcp_gap(f, d, td->ooo->seq, td->t_last);
			}
			tcp_dir_release(td, f->ssh.budget);
		}
	}
}
