/*
 * test_flow.c: unit.flow — the flow table and TCP tracking, fed decoded
 * packets directly: in-order, reversed and overlapping delivery give the
 * same stream; retransmissions, gaps, eviction, capture-time timeouts,
 * port reuse and mid-stream pickup are counted and reported exactly once;
 * a reported session's packets bypass tracking but keep it alive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "tap.h"

#define MAX_SEEN 16

struct seen {
	int n;
	uint64_t id[MAX_SEEN];
	enum flow_report_why why[MAX_SEEN];
	char client_banner[MAX_SEEN][64];
	char server_banner[MAX_SEEN][64];
	uint32_t retransmits[MAX_SEEN], gaps[MAX_SEEN], ooo[MAX_SEEN], overlaps[MAX_SEEN];
	uint32_t anomalies[MAX_SEEN], ssh_anom[MAX_SEEN];
	int close_dir[MAX_SEEN], close_kind[MAX_SEEN];
	int src_dir[MAX_SEEN], src_from[MAX_SEEN];
};

static void on_report(void *ctx, const struct flow *f, enum flow_report_why why)
{
	struct seen *s = ctx;
	int i = s->n++;

	if (i >= MAX_SEEN)
		return;
	s->id[i] = f->id;
	s->why[i] = why;
	snprintf(s->client_banner[i], 64, "%.*s", (int)f->ssh.dir[0].banner_len,
	         f->ssh.dir[0].banner ? (const char *)f->ssh.dir[0].banner : "");
	snprintf(s->server_banner[i], 64, "%.*s", (int)f->ssh.dir[1].banner_len,
	         f->ssh.dir[1].banner ? (const char *)f->ssh.dir[1].banner : "");
	s->retransmits[i] = f->dir[0].retransmits + f->dir[1].retransmits;
	s->gaps[i] = f->dir[0].gaps + f->dir[1].gaps;
	s->ooo[i] = f->dir[0].out_of_order + f->dir[1].out_of_order;
	s->overlaps[i] = f->dir[0].overlaps + f->dir[1].overlaps;
	s->anomalies[i] = f->anomalies;
	s->ssh_anom[i] = f->ssh.dir[0].anomalies | f->ssh.dir[1].anomalies;
	s->close_dir[i] = f->close_dir;
	s->close_kind[i] = f->close_kind;
	s->src_from[i] = (int)flow_src_from(f, &s->src_dir[i]);
}

static struct kw_limits limits = KW_LIMITS_DEFAULT;
static const uint16_t ssh_port[] = {22};

static struct flow_table *table(struct seen *s, uint32_t max_flows)
{
	struct flow_config cfg = {.limits = &limits,
	                          .ssh_ports = ssh_port,
	                          .nssh_ports = 1,
	                          .report = on_report,
	                          .report_ctx = s,
	                          .seed = 12345};
	memset(s, 0, sizeof(*s));
	limits.max_flows = max_flows;
	return flow_table_new(&cfg);
}

/* seg builds a packet from client (dir 0) or server (dir 1) of connection n. */
static struct pkt seg(int n, int from_server, uint8_t flags, uint32_t seq, uint32_t ack,
                      const char *data, size_t len, uint64_t ts)
{
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.kind = PKT_TCP;
	p.ts_us = ts;
	p.a.family = 4;
	uint8_t c[4] = {198, 18, 0, (uint8_t)(10 + n)}, s[4] = {198, 18, 1, 1};
	memcpy(from_server ? p.a.dst : p.a.src, c, 4);
	memcpy(from_server ? p.a.src : p.a.dst, s, 4);
	p.a.sport = from_server ? 22 : (uint16_t)(40000 + n);
	p.a.dport = from_server ? (uint16_t)(40000 + n) : 22;
	p.flags = flags;
	p.seq = seq;
	p.ack = ack;
	p.df = 1;
	p.wscale = 0xff;
	p.payload = (const uint8_t *)data;
	p.payload_len = p.wire_payload_len = (uint32_t)len;
	return p;
}

#define CB "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
#define SB "SSH-2.0-OpenSSH_9.6\r\n"
enum { CISN = 1000, SISN = 5000 };

static void handshake(struct flow_table *t, int n, uint64_t ts)
{
	struct pkt p = seg(n, 0, TCP_SYN, CISN, 0, NULL, 0, ts);
	flow_table_packet(t, &p, 0, 0);
	p = seg(n, 1, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, 0, ts + 100);
	flow_table_packet(t, &p, 0, 0);
	p = seg(n, 0, TCP_ACK, CISN + 1, SISN + 1, NULL, 0, ts + 200);
	flow_table_packet(t, &p, 0, 0);
}

static void close_both(struct flow_table *t, int n, uint32_t cseq, uint32_t sseq, uint64_t ts)
{
	struct pkt p = seg(n, 0, TCP_FIN | TCP_ACK, cseq, sseq, NULL, 0, ts);
	flow_table_packet(t, &p, 0, 0);
	p = seg(n, 1, TCP_FIN | TCP_ACK, sseq, cseq + 1, NULL, 0, ts + 10);
	flow_table_packet(t, &p, 0, 0);
}

/* The client banner delivered in pieces, in a given order of pieces. */
static void test_orders(void)
{
	static const int orders[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 0, 3, 2}, {2, 3, 0, 1}};
	const size_t len = strlen(CB), piece = len / 4;

	for (size_t o = 0; o < sizeof(orders) / sizeof(orders[0]); o++) {
		struct seen s;
		struct flow_table *t = table(&s, 100);
		struct pkt p;

		handshake(t, 1, 1000000);
		for (int k = 0; k < 4; k++) {
			size_t i = (size_t)orders[o][k], off = i * piece;
			size_t n = i == 3 ? len - off : piece;
			p = seg(1, 0, TCP_ACK | TCP_PSH, CISN + 1 + (uint32_t)off, SISN + 1,
			        CB + off, n, 1001000 + (uint64_t)k);
			flow_table_packet(t, &p, 0, 0);
		}
		p = seg(1, 1, TCP_ACK, SISN + 1, CISN + 1 + (uint32_t)len, SB, strlen(SB), 1002000);
		flow_table_packet(t, &p, 0, 0);
		close_both(t, 1, CISN + 1 + (uint32_t)len, SISN + 1 + (uint32_t)strlen(SB),
		           1003000);
		flow_table_flush(t);
		CHECK_EQ_INT(s.n, 1);
		CHECK_EQ_STR(s.client_banner[0], "SSH-2.0-OpenSSH_9.2p1 Debian-2");
		CHECK_EQ_STR(s.server_banner[0], "SSH-2.0-OpenSSH_9.6");
		CHECK_EQ_INT(s.gaps[0], 0);
		CHECK(o == 0 ? s.ooo[0] == 0 : s.ooo[0] > 0, "order %zu: out-of-order counted", o);
		CHECK_EQ_INT(s.close_dir[0], 0);
		CHECK_EQ_INT(s.close_kind[0], FLOW_CLOSE_FIN);
		flow_table_free(t);
	}
}

/* Retransmission, overlap with new bytes, and a hole the ACKs prove lost. */
static void test_retransmit_overlap_gap(void)
{
	struct seen s;
	struct flow_table *t = table(&s, 100);
	struct pkt p;

	handshake(t, 2, 1000000);
	p = seg(2, 0, TCP_ACK, CISN + 1, SISN + 1, CB, 10, 1001000);
	flow_table_packet(t, &p, 0, 0);
	flow_table_packet(t, &p, 0, 0); /* the same segment again */
	p = seg(2, 0, TCP_ACK, CISN + 1 + 5, SISN + 1, CB + 5, strlen(CB) - 5, 1001100);
	flow_table_packet(t, &p, 0, 0); /* overlaps 5 bytes, brings the rest */
	/* server: its banner segment is missed, the client's ACK shows it was sent */
	p = seg(2, 0, TCP_ACK, CISN + 1 + (uint32_t)strlen(CB), SISN + 1 + (uint32_t)strlen(SB),
	        NULL, 0, 1002000);
	flow_table_packet(t, &p, 0, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_STR(s.client_banner[0], "SSH-2.0-OpenSSH_9.2p1 Debian-2");
	CHECK_EQ_INT(s.retransmits[0], 1);
	CHECK_EQ_INT(s.overlaps[0], 1);
	CHECK_EQ_INT(s.gaps[0], 1);
	CHECK_EQ_INT(s.why[0], FLOW_WHY_CAPTURE_END);
	flow_table_free(t);
}

/* A full table evicts the least recently active flow, reporting it first. */
static void test_eviction(void)
{
	struct seen s;
	struct flow_table *t = table(&s, 2);

	handshake(t, 1, 1000000);
	handshake(t, 2, 1100000);
	handshake(t, 1, 1200000); /* retransmitted handshake: flow 1 is recent again */
	handshake(t, 3, 1300000);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.id[0], 2);
	CHECK_EQ_INT(s.why[0], FLOW_WHY_EVICTED);
	CHECK(s.anomalies[0] & FLOW_ANOM_EVICTED, "evicted flow is marked");
	CHECK_EQ_INT(flow_table_stats(t)->evicted, 1);
	flow_table_flush(t);
	CHECK_EQ_INT(s.n, 3);
	flow_table_free(t);
}

/* Timeouts run on capture time: an unanswered SYN to port 22 is reported
 * when later traffic moves the clock past syn_timeout; one to another port
 * is not reported at all. */
static void test_timeouts(void)
{
	struct seen s;
	struct flow_table *t = table(&s, 100);
	struct pkt p = seg(1, 0, TCP_SYN, CISN, 0, NULL, 0, 1000000);

	flow_table_packet(t, &p, 0, 0);
	p.a.dport = 80;
	flow_table_packet(t, &p, 0, 0);
	flow_table_advance(t, 1000000 + (uint64_t)limits.syn_timeout_ms * 1000 - 2000000);
	CHECK_EQ_INT(s.n, 0);
	flow_table_advance(t, 1000000 + (uint64_t)limits.syn_timeout_ms * 1000 + 2000000);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.why[0], FLOW_WHY_TIMEOUT);
	CHECK_EQ_INT(s.close_kind[0], FLOW_CLOSE_TIMEOUT);
	CHECK_EQ_INT(flow_table_stats(t)->open, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.n, 1);
	flow_table_free(t);
}

/* A new SYN with another ISN after a close is a new connection. */
static void test_reuse(void)
{
	struct seen s;
	struct flow_table *t = table(&s, 100);
	struct pkt p;

	handshake(t, 1, 1000000);
	close_both(t, 1, CISN + 1, SISN + 1, 1001000);
	p = seg(1, 0, TCP_SYN, CISN + 99999, 0, NULL, 0, 1002000);
	flow_table_packet(t, &p, 0, 0);
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.why[0], FLOW_WHY_REUSED);
	flow_table_flush(t);
	CHECK_EQ_INT(s.n, 2);
	CHECK(s.id[1] != s.id[0], "two flow ids");
	flow_table_free(t);
}

/* NEWKEYS (RFC 4253 7.3): packet_length 12, padding 10, message 21. */
static const char newkeys[16] = {0, 0, 0, 12, 10, 21};

/*
 * After its record is written (FLOW_WHY_ESTABLISHED), a session's packets
 * bypass tracking: no second record, yet each still keeps the flow alive
 * (its idle deadline moves on), silence then ends it without a record,
 * and a SYN with another ISN still opens a new connection.
 */
static void test_bypass_after_report(void)
{
	const uint64_t t0 = 1000000, s = 1000000;
	const uint32_t c0 = CISN + 1 + (uint32_t)strlen(CB) + 16;
	const uint32_t s0 = SISN + 1 + (uint32_t)strlen(SB) + 16;
	struct seen seen;
	struct flow_table *t = table(&seen, 100);
	struct pkt p;
	uint64_t ts;
	uint32_t k;

	handshake(t, 1, t0);
	p = seg(1, 1, TCP_ACK, SISN + 1, CISN + 1, SB, strlen(SB), t0 + 1000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 0, TCP_ACK, CISN + 1, SISN + 1, CB, strlen(CB), t0 + 2000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 1, TCP_ACK, SISN + 1 + (uint32_t)strlen(SB), CISN + 1, newkeys, 16, t0 + 3000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 0, TCP_ACK, CISN + 1 + (uint32_t)strlen(CB), SISN + 1, newkeys, 16, t0 + 4000);
	flow_table_packet(t, &p, 0, 0);
	/* An encrypted packet each way every 100 s, for 2000 s: the idle
	 * timeout (600 s) never passes, the record is written once. */
	for (k = 1, ts = t0 + 100 * s; ts < t0 + 2000 * s; ts += 100 * s, k++) {
		p = seg(1, 0, TCP_ACK, c0 + 48 * (k - 1), s0,
		        "0123456789abcdef0123456789abcdef"
		        "0123456789abcdef",
		        48, ts);
		flow_table_packet(t, &p, 0, 0);
		p = seg(1, 1, TCP_ACK, s0, c0 + 48 * k, NULL, 0, ts + 1000);
		flow_table_packet(t, &p, 0, 0);
	}
	CHECK_EQ_INT(seen.n, 1);
	CHECK_EQ_INT(seen.why[0], FLOW_WHY_ESTABLISHED);
	CHECK_EQ_INT(flow_table_stats(t)->open, 1);
	/* A new SYN from the same port: the reported flow gives way. */
	p = seg(1, 0, TCP_SYN, CISN + 77777, 0, NULL, 0, ts + s);
	flow_table_packet(t, &p, 0, 0);
	CHECK_EQ_INT(flow_table_stats(t)->reused, 1);
	CHECK_EQ_INT(seen.n, 1); /* its record was already written */
	CHECK_EQ_INT(flow_table_stats(t)->open, 1);
	/* Silence: the new one times out, the old one is long gone. */
	flow_table_advance(t, ts + 1000 * s);
	CHECK_EQ_INT(flow_table_stats(t)->open, 0);
	CHECK_EQ_INT(seen.n, 2);
	flow_table_free(t);

	/* Without the new SYN, silence after the last bypassed packet ends it
	 * exactly one idle timeout later, without a record. */
	t = table(&seen, 100);
	handshake(t, 1, t0);
	p = seg(1, 1, TCP_ACK, SISN + 1, CISN + 1, SB, strlen(SB), t0 + 1000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 0, TCP_ACK, CISN + 1, SISN + 1, CB, strlen(CB), t0 + 2000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 1, TCP_ACK, SISN + 1 + (uint32_t)strlen(SB), CISN + 1, newkeys, 16, t0 + 3000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 0, TCP_ACK, CISN + 1 + (uint32_t)strlen(CB), SISN + 1, newkeys, 16, t0 + 4000);
	flow_table_packet(t, &p, 0, 0);
	p = seg(1, 0, TCP_ACK, c0, s0, "0123456789abcdef", 16, t0 + 500 * s);
	flow_table_packet(t, &p, 0, 0);
	CHECK_EQ_INT(seen.n, 1);
	flow_table_advance(t, t0 + 500 * s + (uint64_t)limits.idle_timeout_ms * 1000 - 2 * s);
	CHECK_EQ_INT(flow_table_stats(t)->open, 1);
	flow_table_advance(t, t0 + 500 * s + (uint64_t)limits.idle_timeout_ms * 1000 + 2 * s);
	CHECK_EQ_INT(flow_table_stats(t)->open, 0);
	CHECK_EQ_INT(seen.n, 1);
	flow_table_free(t);
}

/* seg80: seg on port 80 instead of 22: not an SSH port, so no record without SSH. */
static struct pkt seg80(int from_server, uint8_t flags, uint32_t seq, uint32_t ack,
                        const char *data, size_t len, uint64_t ts)
{
	struct pkt p = seg(2, from_server, flags, seq, ack, data, len, ts);

	if (from_server)
		p.a.sport = 80;
	else
		p.a.dport = 80;
	return p;
}

/*
 * A connection that is not SSH, on a port that is not SSH's, can never be
 * reported: its data bypass tracking too, yet keep it alive, and its FIN
 * still closes it (counted as not SSH, not as a timeout).
 */
static void test_bypass_not_ssh(void)
{
	const uint64_t t0 = 1000000, s = 1000000;
	const char get[] = "GET / HTTP/1.1\r\n\r\n";
	struct seen seen;
	struct flow_table *t = table(&seen, 100);
	struct pkt p;
	uint32_t cseq = CISN + 1, k;
	uint64_t ts = t0;

	p = seg80(0, TCP_SYN, CISN, 0, NULL, 0, ts);
	flow_table_packet(t, &p, 0, 0);
	p = seg80(1, TCP_SYN | TCP_ACK, SISN, CISN + 1, NULL, 0, ts + 100);
	flow_table_packet(t, &p, 0, 0);
	for (k = 0; k < 20; k++, ts += 100 * s) {
		p = seg80(0, TCP_ACK, cseq, SISN + 1, get, strlen(get), ts + 1000);
		flow_table_packet(t, &p, 0, 0);
		cseq += (uint32_t)strlen(get);
		p = seg80(1, TCP_ACK, SISN + 1, cseq, NULL, 0, ts + 2000);
		flow_table_packet(t, &p, 0, 0);
	}
	CHECK_EQ_INT(flow_table_stats(t)->open, 1);
	CHECK_EQ_INT(flow_table_stats(t)->timeouts, 0);
	p = seg80(0, TCP_FIN | TCP_ACK, cseq, SISN + 1, NULL, 0, ts);
	flow_table_packet(t, &p, 0, 0);
	p = seg80(1, TCP_FIN | TCP_ACK, SISN + 1, cseq + 1, NULL, 0, ts + 10);
	flow_table_packet(t, &p, 0, 0);
	flow_table_advance(t, ts + (uint64_t)limits.close_linger_ms * 1000 + 2 * s);
	CHECK_EQ_INT(flow_table_stats(t)->open, 0);
	CHECK_EQ_INT(flow_table_stats(t)->timeouts, 0);
	CHECK_EQ_INT(flow_table_stats(t)->not_ssh, 1);
	CHECK_EQ_INT(seen.n, 0);
	flow_table_free(t);
}

/* Mid-stream pickup: bytes that do not open an SSH line are not parsed. */
static void test_midstream(void)
{
	struct seen s;
	struct flow_table *t = table(&s, 100);
	struct pkt p = seg(1, 1, TCP_ACK, 777, 888, "\x00\x00\x01\x0c\x0a\x14garbage", 13, 1000000);

	flow_table_packet(t, &p, 0, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.n, 1); /* port 22: still reported */
	CHECK(s.anomalies[0] & FLOW_ANOM_MIDSTREAM, "midstream marked");
	CHECK_EQ_STR(s.server_banner[0], "");
	flow_table_free(t);
}

/* seg_ports: seg() with both ports given (sport is the sender's). */
static struct pkt seg_ports(int from_server, uint16_t sport, uint16_t dport, uint8_t flags,
                            uint32_t seq, const char *data, uint64_t ts)
{
	struct pkt p = seg(1, from_server, flags, seq, 1, data, data ? strlen(data) : 0, ts);

	p.a.sport = sport;
	p.a.dport = dport;
	return p;
}

/*
 * Without a SYN, who opened comes from the strongest evidence: the SSH
 * messages (ssh.c, test_ssh's resync), then the pre-banner lines only a
 * server sends, then a server's port against an ephemeral one, and the
 * first packet last.
 */
static void test_src_evidence(void)
{
	struct seen s;
	struct flow_table *t;
	struct pkt p;

	/* With a SYN: the SYN's sender, whatever the ports. */
	t = table(&s, 100);
	handshake(t, 1, 1000000);
	flow_table_flush(t);
	CHECK_EQ_INT(s.src_from[0], FLOW_SRC_SYN);
	CHECK_EQ_INT(s.src_dir[0], 0);
	flow_table_free(t);

	/* The first frame is the server's banner from port 22: the ports say the
	 * other side opened (before, the server was reported as the client). */
	t = table(&s, 100);
	p = seg_ports(1, 22, 40001, TCP_ACK | TCP_PSH, SISN + 1, SB, 1000000);
	flow_table_packet(t, &p, 0, 0);
	p = seg_ports(0, 40001, 22, TCP_ACK | TCP_PSH, CISN + 1, CB, 1000100);
	flow_table_packet(t, &p, 0, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.src_from[0], FLOW_SRC_PORTS);
	CHECK_EQ_INT(s.src_dir[0], 1);
	flow_table_free(t);

	/* A well-known port (below 1024) counts as a server's too. */
	t = table(&s, 100);
	p = seg_ports(1, 830, 40001, TCP_ACK | TCP_PSH, SISN + 1, SB, 1000000);
	flow_table_packet(t, &p, 0, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.src_from[0], FLOW_SRC_PORTS);
	CHECK_EQ_INT(s.src_dir[0], 1);
	flow_table_free(t);

	/* Nearest negative: two ephemeral ports, nothing else: the first packet. */
	t = table(&s, 100);
	p = seg_ports(1, 50022, 40001, TCP_ACK | TCP_PSH, SISN + 1, SB, 1000000);
	flow_table_packet(t, &p, 0, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.src_from[0], FLOW_SRC_FIRST_PACKET);
	CHECK_EQ_INT(s.src_dir[0], 0);
	flow_table_free(t);

	/* Pre-banner lines tell the server, over ports that say nothing. */
	t = table(&s, 100);
	p = seg_ports(0, 40001, 50022, TCP_ACK | TCP_PSH, CISN + 1, CB, 1000000);
	flow_table_packet(t, &p, 0, 0);
	p = seg_ports(1, 50022, 40001, TCP_ACK | TCP_PSH, SISN + 1, "Welcome\r\n" SB, 1000100);
	flow_table_packet(t, &p, 0, 0);
	flow_table_flush(t);
	CHECK_EQ_INT(s.src_from[0], FLOW_SRC_SERVER_BANNER);
	CHECK_EQ_INT(s.src_dir[0], 0);
	flow_table_free(t);
}

/* Copies handed over, as app/workers.c takes them. */
struct held {
	struct flow *copy[8];
	char banner[8][64];
	int n, release_now;
};

static void on_handoff(void *ctx, struct flow *f, enum flow_report_why why)
{
	struct held *h = ctx;

	(void)why;
	snprintf(h->banner[h->n], 64, "%.*s", (int)f->ssh.dir[0].banner_len,
	         f->ssh.dir[0].banner ? (const char *)f->ssh.dir[0].banner : "");
	h->copy[h->n++] = f;
	if (h->release_now)
		flow_release(f);
}

/* handoff_conn: connection n of test_handoff, handshake to RST and expiry. */
static void handoff_conn(struct flow_table *t, int n)
{
	uint64_t ts = 100000000u * (uint64_t)n;
	struct pkt p;

	handshake(t, n, ts);
	p = seg(n, 0, TCP_ACK | TCP_PSH, CISN + 1, SISN + 1, CB, strlen(CB), ts + 300);
	flow_table_packet(t, &p, 0, 0);
	p = seg(n, 0, TCP_RST, CISN + 1 + (uint32_t)strlen(CB), 0, NULL, 0, ts + 400);
	flow_table_packet(t, &p, 0, 0);
	flow_table_advance(t, ts + 60000000);
}

/*
 * A copy owns its facts and its charges until it is released, and then it
 * goes back to its table: its memory to the local credit and itself to the
 * spare flows, so the next copies reuse it. On the table's thread
 * (handoff_same_thread) at once; from another thread, as a merger's, the
 * table takes it back at its next copy (and flow_table_free at the end).
 */
static void test_handoff(void)
{
	for (int same = 0; same < 2; same++) {
		struct kw_budget root;
		struct held h = {.release_now = same};
		struct flow_config cfg = {.limits = &limits,
		                          .ssh_ports = ssh_port,
		                          .nssh_ports = 1,
		                          .handoff = on_handoff,
		                          .handoff_same_thread = same,
		                          .report_ctx = &h,
		                          .budget = &root,
		                          .seed = 1};
		struct flow_table *t;
		int distinct = 0;

		budget_init(&root, 1u << 30);
		limits.max_flows = 100;
		t = flow_table_new(&cfg);
		for (int n = 1; n <= 4; n++)
			handoff_conn(t, n);
		flow_table_flush(t);
		CHECK_EQ_INT(h.n, 4);
		if (!same) {
			CHECK(root.used >= 4 * sizeof(struct flow), "the held copies are charged");
			for (int i = 0; i < h.n; i++)
				flow_release(h.copy[i]);
			/* Back at the table's next copy: it is one of them. */
			handoff_conn(t, 5);
			flow_table_flush(t);
			CHECK_EQ_INT(h.n, 5);
			CHECK(h.copy[4] == h.copy[0] || h.copy[4] == h.copy[1] ||
			          h.copy[4] == h.copy[2] || h.copy[4] == h.copy[3],
			      "a copy released elsewhere is reused");
			flow_release(h.copy[4]);
		}
		for (int i = 0; i < h.n; i++) {
			CHECK_EQ_STR(h.banner[i], "SSH-2.0-OpenSSH_9.2p1 Debian-2");
			distinct += i == 0 || h.copy[i] != h.copy[i - 1];
		}
		if (same)
			CHECK(distinct < h.n, "released copies are reused (%d of %d distinct)",
			      distinct, h.n);
		CHECK(root.used <= BUDGET_LOCAL_CHUNK, "only the table's credit charged (%llu)",
		      (unsigned long long)root.used);
		flow_table_free(t);
		CHECK(root.used == 0, "nothing charged at the end (%llu)",
		      (unsigned long long)root.used);
	}
}

/* Copies handed over by test_returned_in_time, released later, elsewhere. */
struct pile {
	struct flow *copy[64];
	int n;
};

static void on_pile(void *ctx, struct flow *f, enum flow_report_why why)
{
	struct pile *pl = ctx;

	(void)why;
	if (pl->n < 64)
		pl->copy[pl->n++] = f;
	else
		flow_release(f);
}

/*
 * Copies released on another thread wait for their table to take them
 * back; with no new connection coming, the clock's next second does, so
 * their memory is the budget's again within a second.
 */
static void test_returned_in_time(void)
{
	struct kw_budget root;
	struct pile pl = {.n = 0};
	struct flow_config cfg = {.limits = &limits,
	                          .ssh_ports = ssh_port,
	                          .nssh_ports = 1,
	                          .handoff = on_pile,
	                          .report_ctx = &pl,
	                          .budget = &root,
	                          .seed = 1};
	struct flow_table *t;
	uint64_t held, last = 100000000u * 41u + 60000000u;

	budget_init(&root, 1u << 30);
	limits.max_flows = 100;
	t = flow_table_new(&cfg);
	for (int n = 1; n <= 40; n++)
		handoff_conn(t, n);
	CHECK_EQ_INT(pl.n, 40);
	held = root.used;
	CHECK(held >= 40 * sizeof(struct flow), "the held copies are charged (%llu)",
	      (unsigned long long)held);
	for (int i = 0; i < pl.n; i++)
		flow_release(pl.copy[i]);
	CHECK(root.used == held, "released elsewhere: still charged until taken back");
	flow_table_advance(t, last + 500000u);
	flow_table_advance(t, last + 2000000u);
	CHECK(root.used <= BUDGET_LOCAL_CHUNK, "taken back within a second (%llu)",
	      (unsigned long long)root.used);
	flow_table_free(t);
	CHECK(root.used == 0, "nothing charged at the end (%llu)", (unsigned long long)root.used);
}

int main(void)
{
	test_orders();
	test_retransmit_overlap_gap();
	test_eviction();
	test_timeouts();
	test_reuse();
	test_handoff();
	test_returned_in_time();
	test_midstream();
	test_src_evidence();
	test_bypass_after_report();
	test_bypass_not_ssh();
	return tap_done();
}
