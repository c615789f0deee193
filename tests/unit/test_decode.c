/*
 * test_decode.c: unit.decode — link, IP, tunnel, TCP option, ICMP and
 * fragment decoding on frames built byte by byte here, and every truncation
 * of each frame.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "err.h"
#include "tap.h"

struct buf {
	uint8_t b[2048];
	size_t n;
};

static void put(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static const uint8_t v4a[4] = {198, 18, 0, 1}, v4b[4] = {198, 18, 0, 2};
static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

/* A TCP header with MSS 1460, SACK-permitted, timestamps, window scale 7. */
static void tcp_syn(struct buf *b, const char *payload)
{
	put16(b, 40000);
	put16(b, 22);
	put32(b, 1000);
	put32(b, 0);
	put8(b, (5 + 5) << 4);
	put8(b, 0x02);
	put16(b, 64240);
	put16(b, 0);
	put16(b, 0);
	put8(b, 2), put8(b, 4), put16(b, 1460);
	put8(b, 4), put8(b, 2);
	put8(b, 8), put8(b, 10), put32(b, 1), put32(b, 0);
	put8(b, 1);
	put8(b, 3), put8(b, 3), put8(b, 7);
	put(b, payload, strlen(payload));
}

static void ipv4(struct buf *b, unsigned proto, size_t payload_len, unsigned fragw, unsigned id)
{
	put8(b, 0x45);
	put8(b, 0);
	put16(b, (unsigned)(20 + payload_len));
	put16(b, id);
	put16(b, fragw);
	put8(b, 64);
	put8(b, proto);
	put16(b, 0);
	put(b, v4a, 4);
	put(b, v4b, 4);
}

static void ether(struct buf *b, unsigned type)
{
	static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	put(b, mac, 12);
	put16(b, type);
}

static int decode(struct decoder *d, int link, const struct buf *b, struct pkt *p)
{
	return decode_frame(d, link, b->b, (uint32_t)b->n, (uint32_t)b->n, 1000000, p);
}

/* Every truncation of a valid frame decodes to an error or a shorter payload, safely. */
static void check_truncations(struct decoder *d, int link, const struct buf *b, const char *what)
{
	struct pkt p;
	int bad = 0;

	for (size_t n = 0; n < b->n; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		int r;
		memcpy(copy, b->b, n);
		r = decode_frame(d, link, copy, (uint32_t)n, (uint32_t)b->n, 1, &p);
		if (r == KW_OK && p.kind == PKT_TCP && p.payload_len > n)
			bad++;
		free(copy);
	}
	CHECK(bad == 0, "%s: truncations decode within bounds", what);
}

static void test_ethernet_vlan_ipv4(struct decoder *d)
{
	struct buf b = {0}, t = {0};
	struct pkt p;

	tcp_syn(&t, "hi");
	ether(&b, 0x88a8);
	put16(&b, 100);
	put16(&b, 0x8100);
	put16(&b, 200);
	put16(&b, 0x0800);
	ipv4(&b, 6, t.n, 0x4000, 1);
	put(&b, t.b, t.n);
	put(&b, "\0\0\0\0", 4); /* Ethernet padding must not become payload */
	CHECK_EQ_INT(decode(d, KW_LINK_ETHERNET, &b, &p), KW_OK);
	CHECK_EQ_INT(p.kind, PKT_TCP);
	CHECK_EQ_INT(p.nvlan, 2);
	CHECK_EQ_INT(p.vlan[0], 100);
	CHECK_EQ_INT(p.vlan[1], 200);
	CHECK_EQ_INT(p.a.family, 4);
	CHECK(memcmp(p.a.src, v4a, 4) == 0, "IPv4 source");
	CHECK_EQ_INT(p.a.sport, 40000);
	CHECK_EQ_INT(p.a.dport, 22);
	CHECK_EQ_INT(p.flags, TCP_SYN);
	CHECK_EQ_INT(p.mss, 1460);
	CHECK_EQ_INT(p.wscale, 7);
	CHECK(p.sack_ok && p.has_ts, "SACK and timestamps");
	CHECK_EQ_INT(p.df, 1);
	CHECK_EQ_INT(p.payload_len, 2);
	CHECK(memcmp(p.payload, "hi", 2) == 0, "payload");
	CHECK_EQ_INT(p.anomalies, 0);
	check_truncations(d, KW_LINK_ETHERNET, &b, "ethernet/qinq/ipv4");
}

static void test_bad_tcp_option(struct decoder *d)
{
	struct buf b = {0};
	struct pkt p;

	ipv4(&b, 6, 24, 0, 1);
	put16(&b, 1), put16(&b, 2), put32(&b, 0), put32(&b, 0);
	put8(&b, 6 << 4), put8(&b, 0x10), put16(&b, 0), put16(&b, 0), put16(&b, 0);
	put8(&b, 2), put8(&b, 9), put16(&b, 0); /* MSS with length 9: past the options */
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &b, &p), KW_OK);
	CHECK(p.anomalies & DEC_ANOM_TCP_OPTIONS, "bad option length is an anomaly");
	CHECK_EQ_INT(p.mss, 0);
}

/*
 * The shortcut for NOP, NOP, timestamps against the general loop: a decoder
 * with decoder_set_general must give the same result, struct pkt (byte for
 * byte) and counters for that layout, for its near misses, and for every
 * truncation of each, snapped or cut on the wire.
 */
static void test_ts_options_shortcut(void)
{
	static const uint8_t layouts[][16] = {
	    {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2},             /* the shortcut's layout */
	    {1, 1, 8, 11, 0, 0, 0, 1, 0, 0, 0, 2},             /* length past the options */
	    {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 1, 1}, /* 16 bytes: the loop */
	    {8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1},             /* timestamps first */
	    {1, 1, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2},              /* timestamps too short */
	    {1, 0, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2},             /* end of options */
	};
	struct kw_limits limits = KW_LIMITS_DEFAULT;
	struct decoder *d = decoder_new(&limits), *g = decoder_new(&limits);
	int bad = 0, frames = 0;

	decoder_set_general(g, 1);
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		size_t olen = i == 2 ? 16 : 12;
		struct buf b = {0};

		ether(&b, 0x0800);
		ipv4(&b, 6, 20 + olen + 3, 0x4000, 1);
		put16(&b, 40000), put16(&b, 22), put32(&b, 7), put32(&b, 9);
		put8(&b, (unsigned)(5 + olen / 4) << 4), put8(&b, 0x18), put16(&b, 502);
		put16(&b, 0), put16(&b, 0);
		put(&b, layouts[i], olen);
		put(&b, "abc", 3);
		for (size_t n = 0; n <= b.n; n++) {
			for (uint32_t wire = (uint32_t)n; wire <= b.n;
			     wire += (uint32_t)(b.n - n) + 1) {
				struct pkt p, q;
				int r, rg;
				memset(&p, 0xa5, sizeof(p));
				memset(&q, 0x5a, sizeof(q));
				r = decode_frame(d, KW_LINK_ETHERNET, b.b, (uint32_t)n, wire, 5,
				                 &p);
				rg = decode_frame(g, KW_LINK_ETHERNET, b.b, (uint32_t)n, wire, 5,
				                  &q);
				bad += r != rg || memcmp(&p, &q, sizeof(p)) != 0;
				frames++;
			}
		}
		if (i == 0) {
			struct pkt p;
			CHECK_EQ_INT(decode(d, KW_LINK_ETHERNET, &b, &p), KW_OK);
			CHECK(p.has_ts && p.anomalies == 0 && p.payload_len == 3, "NOP NOP TS");
			CHECK_EQ_INT(decode(g, KW_LINK_ETHERNET, &b, &p),
			             KW_OK); /* counters alike */
		}
	}
	CHECK(bad == 0, "shortcut and general loop agree on %d frames", frames);
	CHECK(memcmp(decoder_stats(d), decoder_stats(g), sizeof(struct decode_stats)) == 0,
	      "shortcut and general loop count alike");
	decoder_free(d);
	decoder_free(g);
}

static void test_ipv6_ext_sll2(struct decoder *d)
{
	struct buf b = {0}, t = {0};
	struct pkt p;

	tcp_syn(&t, "SSH-");
	put16(&b, 0x86dd); /* SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, addr */
	put16(&b, 0), put32(&b, 2), put16(&b, 1), put8(&b, 0), put8(&b, 6);
	put32(&b, 0), put32(&b, 0);
	put32(&b, 0x60000000);
	put16(&b, (unsigned)(8 + 8 + t.n));
	put8(&b, 0); /* hop-by-hop */
	put8(&b, 64);
	put(&b, v6a, 16);
	put(&b, v6b, 16);
	put8(&b, 60), put8(&b, 0), put16(&b, 0), put32(&b, 0); /* hop-by-hop -> dst opts */
	put8(&b, 6), put8(&b, 0), put16(&b, 0), put32(&b, 0);  /* dst opts -> TCP */
	put(&b, t.b, t.n);
	CHECK_EQ_INT(decode(d, KW_LINK_SLL2, &b, &p), KW_OK);
	CHECK_EQ_INT(p.ifindex, 2); /* the interface index "any" records are named by */
	CHECK_EQ_INT(p.a.family, 6);
	CHECK(memcmp(p.a.dst, v6b, 16) == 0, "IPv6 destination");
	CHECK_EQ_INT(p.payload_len, 4);
	CHECK_EQ_INT(p.mss, 1460);
	check_truncations(d, KW_LINK_SLL2, &b, "sll2/ipv6/ext");
}

static void test_sll_null_loop(struct decoder *d)
{
	struct buf b = {0}, t = {0}, ip = {0};
	struct pkt p;

	tcp_syn(&t, "");
	ipv4(&ip, 6, t.n, 0, 1);
	put(&ip, t.b, t.n);
	put16(&b, 0), put16(&b, 1), put16(&b, 6), put32(&b, 0), put32(&b, 0), put16(&b, 0x0800);
	put(&b, ip.b, ip.n);
	CHECK_EQ_INT(decode(d, KW_LINK_SLL, &b, &p), KW_OK);
	CHECK_EQ_INT(p.a.dport, 22);
	b.n = 0;
	put8(&b, 2), put8(&b, 0), put8(&b, 0), put8(&b, 0); /* little-endian AF_INET */
	put(&b, ip.b, ip.n);
	CHECK_EQ_INT(decode(d, KW_LINK_NULL, &b, &p), KW_OK);
	b.n = 0;
	put32(&b, 2); /* network order */
	put(&b, ip.b, ip.n);
	CHECK_EQ_INT(decode(d, KW_LINK_LOOP, &b, &p), KW_OK);
	CHECK_EQ_INT(decode(d, 9999, &b, &p), KW_ERR_MALFORMED);
}

static void test_tunnels(struct decoder *d)
{
	struct buf t = {0}, inner = {0}, b = {0};
	struct pkt p;

	tcp_syn(&t, "x");
	ether(&inner, 0x0800);
	ipv4(&inner, 6, t.n, 0, 7);
	put(&inner, t.b, t.n);
	/* VXLAN: Ethernet / IPv4 / UDP 4789 / VXLAN / inner Ethernet */
	ether(&b, 0x0800);
	ipv4(&b, 17, 8 + 8 + inner.n, 0, 1);
	put16(&b, 5555), put16(&b, 4789), put16(&b, (unsigned)(16 + inner.n)), put16(&b, 0);
	put8(&b, 0x08), put8(&b, 0), put16(&b, 0), put32(&b, 42 << 8);
	put(&b, inner.b, inner.n);
	CHECK_EQ_INT(decode(d, KW_LINK_ETHERNET, &b, &p), KW_OK);
	CHECK_EQ_INT(p.payload_len, 1);
	check_truncations(d, KW_LINK_ETHERNET, &b, "vxlan");
	/* GRE with key, transparent Ethernet bridging */
	b.n = 0;
	ipv4(&b, 47, 8 + inner.n, 0, 2);
	put16(&b, 0x2000), put16(&b, 0x6558), put32(&b, 1);
	put(&b, inner.b, inner.n);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &b, &p), KW_OK);
	CHECK_EQ_INT(p.a.sport, 40000);
	/* Geneve carrying IPv4 directly */
	b.n = 0;
	ipv4(&b, 17, 8 + 8 + inner.n - 14, 0, 3);
	put16(&b, 5555), put16(&b, 6081), put16(&b, 0), put16(&b, 0);
	put8(&b, 0), put8(&b, 0), put16(&b, 0x0800), put32(&b, 0);
	put(&b, inner.b + 14, inner.n - 14);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &b, &p), KW_OK);
	/* Nested beyond the depth limit: IP in IP six times is dismissed, not recursed forever */
	b.n = 0;
	for (int i = 0; i < 6; i++)
		ipv4(&b, 4, 20 * (5 - i) + inner.n - 14, 0, 9);
	put(&b, inner.b + 14, inner.n - 14);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &b, &p), KW_ERR_MALFORMED);
}

static void test_icmp(struct decoder *d)
{
	struct buf b = {0};
	struct pkt p;

	/* ICMP fragmentation needed quoting 198.18.0.2:22 -> 198.18.0.1:40000 */
	ipv4(&b, 1, 8 + 20 + 8, 0, 5);
	put8(&b, 3), put8(&b, 4), put16(&b, 0), put16(&b, 0), put16(&b, 1280);
	put8(&b, 0x45), put8(&b, 0), put16(&b, 1500), put16(&b, 0), put16(&b, 0x4000);
	put8(&b, 64), put8(&b, 6), put16(&b, 0), put(&b, v4b, 4), put(&b, v4a, 4);
	put16(&b, 22), put16(&b, 40000), put32(&b, 77);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &b, &p), KW_OK);
	CHECK_EQ_INT(p.kind, PKT_ICMP_ERROR);
	CHECK_EQ_INT(p.icmp_mtu, 1280);
	CHECK_EQ_INT(p.a.sport, 22);
	CHECK(memcmp(p.a.src, v4b, 4) == 0, "quoted source");
	CHECK_EQ_INT(p.icmp_seq, 77);
	check_truncations(d, KW_LINK_RAW, &b, "icmp");
	/* ICMPv6 packet too big */
	b.n = 0;
	put32(&b, 0x60000000), put16(&b, 8 + 40 + 8), put8(&b, 58), put8(&b, 64);
	put(&b, v6b, 16), put(&b, v6a, 16);
	put8(&b, 2), put8(&b, 0), put16(&b, 0), put32(&b, 1280);
	put32(&b, 0x60000000), put16(&b, 1000), put8(&b, 6), put8(&b, 64);
	put(&b, v6a, 16), put(&b, v6b, 16);
	put16(&b, 40000), put16(&b, 22), put32(&b, 5);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &b, &p), KW_OK);
	CHECK_EQ_INT(p.icmp_v6, 1);
	CHECK_EQ_INT(p.icmp_type, 2);
	CHECK_EQ_INT(p.icmp_mtu, 1280);
	CHECK_EQ_INT(p.a.dport, 22);
}

static void test_fragments(struct decoder *d)
{
	struct buf t = {0}, f1 = {0}, f2 = {0}, f3 = {0};
	char payload[200];
	struct pkt p;

	memset(payload, 'A', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = '\0';
	tcp_syn(&t, payload); /* 40 + 199 bytes */
	/* three fragments, delivered last first: 0-95, 96-191, 192-end */
	ipv4(&f1, 6, 96, 0x2000 | 0, 99);
	put(&f1, t.b, 96);
	ipv4(&f2, 6, 96, 0x2000 | 12, 99);
	put(&f2, t.b + 96, 96);
	ipv4(&f3, 6, t.n - 192, 24, 99);
	put(&f3, t.b + 192, t.n - 192);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &f3, &p), KW_ERR_MORE);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &f1, &p), KW_ERR_MORE);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &f2, &p), KW_OK);
	CHECK_EQ_INT(p.reassembled, 1);
	CHECK_EQ_INT(p.frag_count, 3);
	CHECK_EQ_INT(p.payload_len, 199);
	CHECK(p.payload_len == 199 && p.payload[198] == 'A', "reassembled payload");
	/* overlapping fragment: flagged */
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &f1, &p), KW_ERR_MORE);
	f2.b[6] = 0x20, f2.b[7] = 10; /* offset 80: overlaps the first */
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &f2, &p), KW_ERR_MORE);
	CHECK_EQ_INT(decode(d, KW_LINK_RAW, &f3, &p), KW_ERR_MORE);
	CHECK(decoder_stats(d)->fragments >= 6, "fragments counted");
}

/*
 * A frame captured on the sending host before TCP segmentation offload cut
 * it: IPv4 total length 0, 1800 bytes of TCP payload in one 1874-byte frame.
 * Decoded by its frame length (as tcpdump and tshark do) and counted as a
 * TSO frame, not as malformed; a fragment with length 0 stays malformed.
 */
static void test_tso(struct decoder *d)
{
	struct buf b = {0}, t = {0};
	static char payload[1801];
	uint64_t tso0 = decoder_stats(d)->tso_frames, bad0 = decoder_stats(d)->malformed;
	struct pkt p;

	memset(payload, 'K', sizeof(payload) - 1);
	tcp_syn(&t, payload);
	ether(&b, 0x0800);
	ipv4(&b, 6, 0, 0x4000, 7);
	b.b[16] = b.b[17] = 0; /* total length 0 */
	put(&b, t.b, t.n);
	CHECK_EQ_INT(decode(d, KW_LINK_ETHERNET, &b, &p), KW_OK);
	CHECK_EQ_INT(p.kind, PKT_TCP);
	CHECK_EQ_INT(p.payload_len, 1800);
	CHECK_EQ_INT(p.wire_payload_len, 1800);
	CHECK(p.payload[1799] == 'K', "TSO frame: payload to the frame's end");
	CHECK_EQ_INT(decoder_stats(d)->tso_frames, tso0 + 1);
	CHECK_EQ_INT(decoder_stats(d)->malformed, bad0);
	check_truncations(d, KW_LINK_ETHERNET, &b, "TSO frame");

	/* Snapped at 200 bytes: the wire length still gives the payload's size. */
	CHECK_EQ_INT(decode_frame(d, KW_LINK_ETHERNET, b.b, 200, (uint32_t)b.n, 1, &p), KW_OK);
	CHECK_EQ_INT(p.wire_payload_len, 1800);
	CHECK_EQ_INT(p.payload_len, 200 - 14 - 20 - 40);

	/* Nearest negative: total length 0 in a fragment is damage. */
	b.b[20] = 0x20; /* more fragments */
	bad0 = decoder_stats(d)->malformed;
	CHECK_EQ_INT(decode(d, KW_LINK_ETHERNET, &b, &p), KW_ERR_MALFORMED);
	CHECK_EQ_INT(decoder_stats(d)->malformed, bad0 + 1);
}

int main(void)
{
	struct kw_limits limits = KW_LIMITS_DEFAULT;
	struct decoder *d = decoder_new(&limits);

	test_ethernet_vlan_ipv4(d);
	test_bad_tcp_option(d);
	test_ts_options_shortcut();
	test_ipv6_ext_sll2(d);
	test_sll_null_loop(d);
	test_tunnels(d);
	test_icmp(d);
	test_fragments(d);
	test_tso(d);
	decoder_free(d);
	return tap_done();
}
