/*
 * decode.c: link, IP, tunnel, TCP and ICMP decoding (see decode.h).
 *
 * Responsible for turning a frame into one struct pkt that points into the
 * frame, reading every byte through a cursor. Dismisses early what kexwatch
 * does not follow (UDP other than tunnels, ARP, ...). Not responsible for
 * flows or streams. Known gaps: MPLS, PPPoE, ERSPAN type III and IPsec are
 * not decoded; AH is skipped; GRE version 1 (PPTP) is dismissed.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "decode.h"
#include "err.h"

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_TEB 0x6558 /* transparent Ethernet bridging (GRE, Geneve) */
#define ETH_ERSPAN2 0x88be

#define IPP_HOPOPTS 0
#define IPP_ICMP 1
#define IPP_IPIP 4
#define IPP_TCP 6
#define IPP_UDP 17
#define IPP_IPV6 41
#define IPP_ROUTING 43
#define IPP_FRAGMENT 44
#define IPP_GRE 47
#define IPP_AH 51
#define IPP_ICMPV6 58
#define IPP_NONE 59
#define IPP_DSTOPTS 60

#define UDP_VXLAN 4789
#define UDP_GENEVE 6081

/*
 * Fixed headers (IPv4, IPv6, TCP) are taken whole with one cursor_get_bytes,
 * which decides truncation, and their fields are then read through a second
 * cursor over exactly those bytes. That cursor's length is a constant, so
 * after inlining the compiler decides its bounds checks, which cost more
 * than the reads on every packet; a getter failing there is our bug.
 */

/* Tunnels nest at most this deep: bounds recursion on crafted input. */
#define DECODE_MAX_DEPTH 4
#define FRAG_MAX_RANGES 64
#define FRAG_MAX_DATAGRAM 65535

struct frag_range {
	uint32_t start, end;
};

struct frag_entry {
	uint8_t used, family, proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint64_t t_first;
	uint32_t total; /* payload length, known once the last fragment arrived */
	uint32_t nranges;
	uint16_t count;
	uint8_t overlap;
	struct frag_range range[FRAG_MAX_RANGES];
	uint8_t *data; /* FRAG_MAX_DATAGRAM bytes */
};

struct decoder {
	const struct kw_limits *limits;
	struct frag_entry *frags;
	uint32_t nfrags;
	struct decode_stats stats;
	uint8_t *reasm;       /* the datagram handed out last, valid until the next call */
	uint32_t wire_extra;  /* bytes of this frame beyond the capture (wirelen - caplen) */
	uint8_t general_only; /* decoder_set_general: no shortcut for common layouts */
};

/*
 * addr_put_v4 stores an IPv4 address as its 16-byte form (the 4 bytes,
 * then zeros), built in a local and copied whole: the compiler writes it
 * with two 8-byte stores, and each 8-byte load of it later (pair_hash,
 * the worker shard) reads one of them. Built in place from a memset and a
 * 4-byte copy, the first word's load spanned two stores, which cannot
 * forward to it, and waited for both to reach the cache.
 */
static inline void addr_put_v4(uint8_t out[16], const uint8_t *v4)
{
	uint8_t a[16] = {0};

	memcpy(a, v4, 4);
	memcpy(out, a, 16);
}

static int decode_ether(struct decoder *d, struct cursor *c, struct pkt *out, int depth);
static int decode_ip(struct decoder *d, struct cursor *c, struct pkt *out, int depth);

struct decoder *decoder_new(const struct kw_limits *limits)
{
	struct decoder *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->limits = limits;
	d->nfrags = limits->frag_max ? limits->frag_max : 1;
	if ((d->frags = calloc(d->nfrags, sizeof(*d->frags))) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

void decoder_free(struct decoder *d)
{
	if (d == NULL)
		return;
	for (uint32_t i = 0; i < d->nfrags; i++)
		free(d->frags[i].data);
	free(d->frags);
	free(d->reasm);
	free(d);
}

const struct decode_stats *decoder_stats(const struct decoder *d)
{
	return &d->stats;
}

void decoder_set_general(struct decoder *d, int on)
{
	d->general_only = on != 0;
}

/* TCP options, RFC 9293 section 3.1: kind, length, value; 0 ends, 1 pads. */
static void decode_tcp_options(const struct decoder *d, struct cursor *c, struct pkt *out)
{
	uint8_t kind, len;
	const uint8_t *v;
	struct cursor oc, ahead;
	uint16_t mss;
	uint32_t lead;

	/* Linux puts NOP, NOP, timestamps (RFC 7323 appendix A) on every segment
	 * after the handshake: 12 bytes, taken here with one compare. The loop
	 * gives the same for them (two pads, kind 8 of length 10 filling the
	 * rest: has_ts), at about 50 instructions more per segment. */
	ahead = *c;
	if (!d->general_only && cursor_left(c) == 12 && cursor_get_u32(&ahead, &lead) == 0 &&
	    lead == 0x0101080au) {
		out->has_ts = 1;
		return;
	}
	while (cursor_left(c) > 0) {
		if (cursor_get_u8(c, &kind) != 0 || kind == 0)
			return;
		if (kind == 1)
			continue;
		if (cursor_get_u8(c, &len) != 0 || len < 2 ||
		    cursor_get_bytes(c, len - 2u, &v) != 0) {
			out->anomalies |= DEC_ANOM_TCP_OPTIONS;
			return;
		}
		cursor_init(&oc, v, len - 2u);
		switch (kind) {
		case 2: /* MSS, RFC 9293 section 3.7.1 */
			if (len != 4 || cursor_get_u16(&oc, &mss) != 0)
				out->anomalies |= DEC_ANOM_TCP_OPTIONS;
			else
				out->mss = mss ? mss : 1;
			break;
		case 3: /* window scale, RFC 7323 section 2.2 */
			if (len != 3 || cursor_get_u8(&oc, &out->wscale) != 0)
				out->anomalies |= DEC_ANOM_TCP_OPTIONS;
			break;
		case 4: /* SACK permitted, RFC 2018 */
			out->sack_ok = 1;
			break;
		case 8: /* timestamps, RFC 7323 section 3.2 */
			out->has_ts = 1;
			break;
		default:
			break;
		}
	}
}

/* TCP header, RFC 9293 section 3.1. c covers the IP payload. In line in
 * its callers, as decode_ipv4 is: see decode_ip_in. */
static inline __attribute__((always_inline)) int
decode_tcp(const struct decoder *d, struct cursor *c, uint32_t wire_len, struct pkt *out)
{
	uint16_t sport, dport, win, urp, csum;
	uint32_t seq, ack;
	uint8_t off, flags;
	struct cursor opt, fixed;
	const uint8_t *p;
	size_t hlen;

	/* The fixed header, then its fields (see "Fixed headers" above). */
	if (cursor_get_bytes(c, 20, &p) != 0) {
		out->anomalies |= DEC_ANOM_TRUNCATED;
		return KW_ERR_MALFORMED;
	}
	cursor_init(&fixed, p, 20);
	if (cursor_get_u16(&fixed, &sport) != 0 || cursor_get_u16(&fixed, &dport) != 0 ||
	    cursor_get_u32(&fixed, &seq) != 0 || cursor_get_u32(&fixed, &ack) != 0 ||
	    cursor_get_u8(&fixed, &off) != 0 || cursor_get_u8(&fixed, &flags) != 0 ||
	    cursor_get_u16(&fixed, &win) != 0 || cursor_get_u16(&fixed, &csum) != 0 ||
	    cursor_get_u16(&fixed, &urp) != 0)
		return KW_ERR_BUG;
	hlen = (size_t)(off >> 4) * 4;
	if (hlen < 20) {
		out->anomalies |= DEC_ANOM_TCP_HEADER;
		return KW_ERR_MALFORMED;
	}
	out->wscale = 0xff;
	if (cursor_get_bytes(c, hlen - 20, &p) != 0) {
		/* Options cut by the snap length, or an offset past the segment. */
		out->anomalies |= hlen > wire_len ? DEC_ANOM_TCP_HEADER : DEC_ANOM_TRUNCATED;
		return KW_ERR_MALFORMED;
	}
	cursor_init(&opt, p, hlen - 20);
	decode_tcp_options(d, &opt, out);
	out->kind = PKT_TCP;
	out->a.sport = sport;
	out->a.dport = dport;
	out->seq = seq;
	out->ack = ack;
	out->flags = flags;
	out->window = win;
	out->payload = cursor_ptr(c);
	out->payload_len = (uint32_t)cursor_left(c);
	out->wire_payload_len = wire_len > hlen ? (uint32_t)(wire_len - hlen) : 0;
	if (out->wire_payload_len < out->payload_len)
		out->wire_payload_len = out->payload_len;
	return KW_OK;
}

/* The quoted datagram inside an ICMP error: IP header and 8 bytes of TCP. */
static int decode_quoted(struct cursor *c, int v6, struct pkt *out)
{
	uint8_t vihl, proto = 0, nh, hlen8;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint32_t seq;

	if (cursor_peek_u8(c, 0, &vihl) != 0)
		return KW_ERR_MALFORMED;
	if (!v6 && vihl >> 4 == 4) {
		size_t ihl = (size_t)(vihl & 15) * 4;
		if (ihl < 20 || cursor_skip(c, 9) != 0 || cursor_get_u8(c, &proto) != 0 ||
		    cursor_skip(c, 2) != 0 || cursor_get_bytes(c, 4, &src) != 0 ||
		    cursor_get_bytes(c, 4, &dst) != 0 || cursor_skip(c, ihl - 20) != 0)
			return KW_ERR_MALFORMED;
		out->a.family = 4;
		addr_put_v4(out->a.src, src);
		addr_put_v4(out->a.dst, dst);
	} else if (v6 && vihl >> 4 == 6) {
		if (cursor_skip(c, 6) != 0 || cursor_get_u8(c, &nh) != 0 ||
		    cursor_skip(c, 1) != 0 || cursor_get_bytes(c, 16, &src) != 0 ||
		    cursor_get_bytes(c, 16, &dst) != 0)
			return KW_ERR_MALFORMED;
		/* Extension headers in the quote (RFC 8200 section 4). */
		for (int i = 0; i < 8 && nh != IPP_TCP; i++) {
			if (nh != IPP_HOPOPTS && nh != IPP_ROUTING && nh != IPP_DSTOPTS &&
			    nh != IPP_FRAGMENT)
				return KW_ERR_MALFORMED;
			if (cursor_get_u8(c, &proto) != 0 || cursor_get_u8(c, &hlen8) != 0 ||
			    cursor_skip(c, nh == IPP_FRAGMENT ? 6 : (size_t)hlen8 * 8 + 6) != 0)
				return KW_ERR_MALFORMED;
			nh = proto;
		}
		proto = nh;
		out->a.family = 6;
		memcpy(out->a.src, src, 16);
		memcpy(out->a.dst, dst, 16);
	} else {
		return KW_ERR_MALFORMED;
	}
	if (proto != IPP_TCP || cursor_get_u16(c, &sport) != 0 || cursor_get_u16(c, &dport) != 0 ||
	    cursor_get_u32(c, &seq) != 0)
		return KW_ERR_MALFORMED;
	out->a.sport = sport;
	out->a.dport = dport;
	out->icmp_seq = seq;
	out->kind = PKT_ICMP_ERROR;
	return KW_OK;
}

/* ICMP (RFC 792, RFC 1191) and ICMPv6 (RFC 4443) errors that quote TCP. */
static int decode_icmp(struct cursor *c, int v6, struct pkt *out)
{
	uint8_t type, code;
	uint16_t csum, w1, w2;
	uint32_t mtu = 0;

	if (cursor_get_u8(c, &type) != 0 || cursor_get_u8(c, &code) != 0 ||
	    cursor_get_u16(c, &csum) != 0 || cursor_get_u16(c, &w1) != 0 ||
	    cursor_get_u16(c, &w2) != 0)
		return KW_ERR_MALFORMED;
	if (!v6) {
		if (type != 3 && type != 11 && type != 12)
			return KW_ERR_MALFORMED;
		if (type == 3 && code == 4)
			mtu = w2; /* next-hop MTU, RFC 1191 section 4 */
	} else {
		if (type < 1 || type > 4)
			return KW_ERR_MALFORMED;
		if (type == 2)
			mtu = (uint32_t)w1 << 16 | w2; /* packet too big, RFC 4443 3.2 */
	}
	out->icmp_v6 = (uint8_t)v6;
	out->icmp_type = type;
	out->icmp_code = code;
	out->icmp_mtu = mtu;
	return decode_quoted(c, v6, out);
}

/*
 * tunnel_enter notes that the rest of the packet is a tunnel's payload: the
 * outer IP header's addresses (out->a, not yet overwritten by the inner
 * ones) are the tunnel's endpoints, and the outer frame's VLAN tags are the
 * tunnel's, not the connection's. Nested tunnels keep the innermost.
 */
static void tunnel_enter(struct pkt *out, uint8_t type, int has_id, uint32_t id)
{
	struct pkt_tunnel *t = &out->tunnel;

	t->type = type;
	t->family = out->a.family;
	memcpy(t->src, out->a.src, sizeof(t->src));
	memcpy(t->dst, out->a.dst, sizeof(t->dst));
	t->has_id = (uint8_t)has_id;
	t->id = id;
	t->nvlan = out->nvlan;
	memcpy(t->vlan, out->vlan, sizeof(t->vlan));
	out->nvlan = 0;
}

const char *pkt_tunnel_name(uint8_t type)
{
	static const char *const names[] = {NULL, "gre", "erspan", "vxlan", "geneve", "ipip"};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

/* VXLAN, RFC 7348 section 5: 8 bytes, then an Ethernet frame. */
static int decode_vxlan(struct decoder *d, struct cursor *c, struct pkt *out, int depth)
{
	uint8_t flags;
	uint32_t vni;

	/* flags (I bit: the VNI is valid), 24 reserved bits, the VNI, 8 reserved bits */
	if (cursor_get_u8(c, &flags) != 0 || !(flags & 0x08) || cursor_skip(c, 3) != 0 ||
	    cursor_get_u32(c, &vni) != 0)
		return KW_ERR_MALFORMED;
	tunnel_enter(out, TUNNEL_VXLAN, 1, vni >> 8);
	return decode_ether(d, c, out, depth + 1);
}

/* Geneve, RFC 8926 section 3.4: options, then the protocol type's payload. */
static int decode_geneve(struct decoder *d, struct cursor *c, struct pkt *out, int depth)
{
	uint8_t veropt, flags;
	uint16_t proto;
	uint32_t vni;

	if (cursor_get_u8(c, &veropt) != 0 || (veropt >> 6) != 0 || cursor_get_u8(c, &flags) != 0 ||
	    cursor_get_u16(c, &proto) != 0 || cursor_get_u32(c, &vni) != 0 ||
	    cursor_skip(c, (size_t)(veropt & 0x3f) * 4) != 0)
		return KW_ERR_MALFORMED;
	tunnel_enter(out, TUNNEL_GENEVE, 1, vni >> 8);
	if (proto == ETH_TEB)
		return decode_ether(d, c, out, depth + 1);
	if (proto == ETH_IPV4 || proto == ETH_IPV6)
		return decode_ip(d, c, out, depth + 1);
	return KW_ERR_MALFORMED;
}

/* GRE, RFC 2784 and RFC 2890 (key, sequence); ERSPAN type II. */
static int decode_gre(struct decoder *d, struct cursor *c, struct pkt *out, int depth)
{
	uint16_t fl, proto;
	uint32_t key = 0;

	if (cursor_get_u16(c, &fl) != 0 || cursor_get_u16(c, &proto) != 0 || (fl & 7) != 0)
		return KW_ERR_MALFORMED;
	if ((fl & 0x8000) && cursor_skip(c, 4) != 0) /* checksum and reserved1 */
		return KW_ERR_MALFORMED;
	if ((fl & 0x2000) && cursor_get_u32(c, &key) != 0) /* key */
		return KW_ERR_MALFORMED;
	if ((fl & 0x1000) && cursor_skip(c, 4) != 0) /* sequence number */
		return KW_ERR_MALFORMED;
	switch (proto) {
	case ETH_IPV4:
	case ETH_IPV6:
		tunnel_enter(out, TUNNEL_GRE, (fl & 0x2000) != 0, key);
		return decode_ip(d, c, out, depth + 1);
	case ETH_TEB:
		tunnel_enter(out, TUNNEL_GRE, (fl & 0x2000) != 0, key);
		return decode_ether(d, c, out, depth + 1);
	case ETH_ERSPAN2:
		if (cursor_skip(c, 8) != 0)
			return KW_ERR_MALFORMED;
		tunnel_enter(out, TUNNEL_ERSPAN, (fl & 0x2000) != 0, key);
		return decode_ether(d, c, out, depth + 1);
	}
	return KW_ERR_MALFORMED;
}

/* decode_l4_other: what an IP header carries when it is not TCP (rare). */
static __attribute__((noinline)) int decode_l4_other(struct decoder *d, struct cursor *c, int proto,
                                                     int v6, struct pkt *out, int depth)
{
	uint16_t sport, dport, ulen, csum;

	switch (proto) {
	case IPP_ICMP:
		return v6 ? KW_ERR_MALFORMED : decode_icmp(c, 0, out);
	case IPP_ICMPV6:
		return v6 ? decode_icmp(c, 1, out) : KW_ERR_MALFORMED;
	case IPP_IPIP:
	case IPP_IPV6:
		tunnel_enter(out, TUNNEL_IPIP, 0, 0);
		return decode_ip(d, c, out, depth + 1);
	case IPP_GRE:
		return decode_gre(d, c, out, depth);
	case IPP_UDP:
		if (cursor_get_u16(c, &sport) != 0 || cursor_get_u16(c, &dport) != 0 ||
		    cursor_get_u16(c, &ulen) != 0 || cursor_get_u16(c, &csum) != 0)
			return KW_ERR_MALFORMED;
		if (dport == UDP_VXLAN)
			return decode_vxlan(d, c, out, depth);
		if (dport == UDP_GENEVE)
			return decode_geneve(d, c, out, depth);
		return KW_ERR_MALFORMED;
	}
	return KW_ERR_MALFORMED;
}

/* decode_l4 takes TCP in line and leaves the rest to decode_l4_other. */
static inline int decode_l4(struct decoder *d, struct cursor *c, int proto, int v6,
                            uint32_t wire_len, struct pkt *out, int depth)
{
	if (proto == IPP_TCP)
		return decode_tcp(d, c, wire_len, out);
	return decode_l4_other(d, c, proto, v6, out, depth);
}

static void frag_release(struct frag_entry *e)
{
	uint8_t *data = e->data;

	memset(e, 0, sizeof(*e));
	e->data = data; /* keep the buffer for the next datagram */
}

/*
 * frag_add stores one fragment (RFC 791 section 3.2, RFC 8200 section 4.5).
 * Returns KW_OK with the whole datagram in d->reasm when complete,
 * KW_ERR_MORE when more are needed, KW_ERR_MALFORMED when dropped.
 */
static int frag_add(struct decoder *d, struct pkt *out, int proto, uint32_t id, uint32_t offset,
                    int more, const uint8_t *p, uint32_t n, uint32_t *total)
{
	struct frag_entry *e = NULL, *freeslot = NULL, *oldest = NULL;
	uint32_t end = offset + n, covered = 0;

	d->stats.fragments++;
	if (offset > FRAG_MAX_DATAGRAM || n > FRAG_MAX_DATAGRAM - offset) {
		d->stats.frag_dropped++;
		return KW_ERR_MALFORMED;
	}
	for (uint32_t i = 0; i < d->nfrags; i++) {
		struct frag_entry *f = &d->frags[i];
		if (!f->used) {
			if (freeslot == NULL)
				freeslot = f;
			continue;
		}
		if (out->ts_us - f->t_first > (uint64_t)d->limits->frag_timeout_ms * 1000 &&
		    out->ts_us > f->t_first) {
			d->stats.frag_dropped++;
			frag_release(f);
			if (freeslot == NULL)
				freeslot = f;
			continue;
		}
		if (f->id == id && f->proto == proto && f->family == out->a.family &&
		    memcmp(f->src, out->a.src, 16) == 0 && memcmp(f->dst, out->a.dst, 16) == 0) {
			e = f;
			break;
		}
		if (oldest == NULL || f->t_first < oldest->t_first)
			oldest = f;
	}
	if (e == NULL) {
		if (freeslot == NULL) { /* table full: the oldest datagram is lost */
			d->stats.frag_dropped++;
			frag_release(oldest);
			freeslot = oldest;
		}
		e = freeslot;
		if (e->data == NULL && (e->data = malloc(FRAG_MAX_DATAGRAM)) == NULL)
			return KW_ERR_MALFORMED;
		e->used = 1;
		e->family = out->a.family;
		e->proto = (uint8_t)proto;
		memcpy(e->src, out->a.src, 16);
		memcpy(e->dst, out->a.dst, 16);
		e->id = id;
		e->t_first = out->ts_us;
	}
	e->count++;
	if (!more)
		e->total = end;
	/* Overlapping fragments are an anomaly; the first bytes received win. */
	for (uint32_t i = 0; i < e->nranges; i++)
		if (offset < e->range[i].end && end > e->range[i].start)
			e->overlap = 1;
	if (e->nranges == FRAG_MAX_RANGES) {
		d->stats.frag_dropped++;
		frag_release(e);
		return KW_ERR_MALFORMED;
	}
	if (!e->overlap)
		memcpy(e->data + offset, p, n);
	e->range[e->nranges].start = offset;
	e->range[e->nranges].end = end;
	e->nranges++;
	if (e->total == 0)
		return KW_ERR_MORE;
	/* Complete when the ranges cover [0, total) without a hole. */
	for (;;) {
		uint32_t before = covered;
		for (uint32_t i = 0; i < e->nranges; i++)
			if (e->range[i].start <= covered && e->range[i].end > covered)
				covered = e->range[i].end;
		if (covered >= e->total || covered == before)
			break;
	}
	if (covered < e->total)
		return KW_ERR_MORE;
	if (d->reasm == NULL && (d->reasm = malloc(FRAG_MAX_DATAGRAM)) == NULL)
		return KW_ERR_MALFORMED;
	memcpy(d->reasm, e->data, e->total);
	*total = e->total;
	out->reassembled = 1;
	out->frag_count = e->count;
	if (e->overlap)
		out->anomalies |= DEC_ANOM_FRAG_OVERLAP;
	d->stats.reassembled++;
	frag_release(e);
	return KW_OK;
}

/* IPv4, RFC 791 section 3.1. */
static inline __attribute__((always_inline)) int decode_ipv4(struct decoder *d, struct cursor *c,
                                                             struct pkt *out, int depth)
{
	uint8_t vihl, tos, ttl, proto;
	uint16_t total, id, fragw, csum;
	uint32_t total32;
	const uint8_t *src, *dst;
	size_t ihl, plen;
	struct cursor pc, fixed;
	const uint8_t *p;
	uint32_t wire_payload;

	/* The fixed header, then its fields (see "Fixed headers" above). */
	if (cursor_get_bytes(c, 20, &p) != 0) {
		out->anomalies |= DEC_ANOM_TRUNCATED;
		return KW_ERR_MALFORMED;
	}
	cursor_init(&fixed, p, 20);
	if (cursor_get_u8(&fixed, &vihl) != 0 || cursor_get_u8(&fixed, &tos) != 0 ||
	    cursor_get_u16(&fixed, &total) != 0 || cursor_get_u16(&fixed, &id) != 0 ||
	    cursor_get_u16(&fixed, &fragw) != 0 || cursor_get_u8(&fixed, &ttl) != 0 ||
	    cursor_get_u8(&fixed, &proto) != 0 || cursor_get_u16(&fixed, &csum) != 0 ||
	    cursor_get_bytes(&fixed, 4, &src) != 0 || cursor_get_bytes(&fixed, 4, &dst) != 0)
		return KW_ERR_BUG;
	total32 = total;
	ihl = (size_t)(vihl & 15) * 4;
	if (total == 0 && (fragw & 0x3fff) == 0 && ihl >= 20) {
		/* Total length 0 (RFC 791 section 3.1 has no such datagram) in an
		 * unfragmented frame: a capture on the sending host with TCP
		 * segmentation offload, before the NIC cut the large segment. Use
		 * the frame's length, as tcpdump and tshark do. */
		size_t frame = 20 + cursor_left(c) + d->wire_extra;
		total32 = frame > 0xffffffu ? 0xffffffu : (uint32_t)frame;
		d->stats.tso_frames++;
	}
	if (ihl < 20 || total32 < ihl) {
		out->anomalies |= DEC_ANOM_IP_HEADER;
		return KW_ERR_MALFORMED;
	}
	if (cursor_skip(c, ihl - 20) != 0) {
		out->anomalies |= DEC_ANOM_TRUNCATED;
		return KW_ERR_MALFORMED;
	}
	out->a.family = 4;
	addr_put_v4(out->a.src, src);
	addr_put_v4(out->a.dst, dst);
	out->df = (fragw & 0x4000) != 0;
	out->ip_len = (uint16_t)(total32 > 0xffff ? 0xffff : total32);
	/* Trim link padding; a short capture keeps what it has. */
	wire_payload = (uint32_t)(total32 - ihl);
	plen = cursor_left(c) < wire_payload ? cursor_left(c) : wire_payload;
	cursor_init(&pc, cursor_ptr(c), plen);
	if (fragw & 0x3fff) {
		uint32_t whole;
		int r;
		if (plen < wire_payload) {
			out->anomalies |= DEC_ANOM_TRUNCATED;
			d->stats.frag_dropped++;
			return KW_ERR_MALFORMED;
		}
		r = frag_add(d, out, proto, id, (uint32_t)(fragw & 0x1fff) * 8,
		             (fragw & 0x2000) != 0, cursor_ptr(&pc), (uint32_t)plen, &whole);
		if (r != KW_OK)
			return r;
		cursor_init(&pc, d->reasm, whole);
		wire_payload = whole;
		/* The datagram's size, not the last fragment's (ip_fragmented evidence). */
		out->ip_len = (uint16_t)(ihl + whole > 0xffff ? 0xffff : ihl + whole);
	}
	return decode_l4(d, &pc, proto, 0, wire_payload, out, depth);
}

/* IPv6, RFC 8200 sections 3 and 4. */
static int decode_ipv6(struct decoder *d, struct cursor *c, struct pkt *out, int depth)
{
	uint32_t vtcfl, wire_payload;
	uint16_t plen16;
	uint8_t nh, hlim, hnh, hlen8;
	const uint8_t *src, *dst, *p;
	struct cursor pc, fixed;
	size_t plen;

	/* The fixed header, then its fields (see "Fixed headers" above). */
	if (cursor_get_bytes(c, 40, &p) != 0) {
		out->anomalies |= DEC_ANOM_TRUNCATED;
		return KW_ERR_MALFORMED;
	}
	cursor_init(&fixed, p, 40);
	if (cursor_get_u32(&fixed, &vtcfl) != 0 || cursor_get_u16(&fixed, &plen16) != 0 ||
	    cursor_get_u8(&fixed, &nh) != 0 || cursor_get_u8(&fixed, &hlim) != 0 ||
	    cursor_get_bytes(&fixed, 16, &src) != 0 || cursor_get_bytes(&fixed, 16, &dst) != 0)
		return KW_ERR_BUG;
	out->a.family = 6;
	memcpy(out->a.src, src, 16);
	memcpy(out->a.dst, dst, 16);
	out->df = 1; /* IPv6 routers never fragment (RFC 8200 section 5) */
	out->ip_len = (uint16_t)(plen16 + 40 > 0xffff ? 0xffff : plen16 + 40);
	wire_payload = plen16;
	plen = cursor_left(c) < wire_payload ? cursor_left(c) : wire_payload;
	cursor_init(&pc, cursor_ptr(c), plen);
	for (int i = 0; i < 8; i++) {
		uint16_t offw;
		uint32_t id, whole;
		size_t before;
		int r;

		switch (nh) {
		case IPP_HOPOPTS:
		case IPP_ROUTING:
		case IPP_DSTOPTS:
		case IPP_AH:
			before = pc.off;
			if (cursor_get_u8(&pc, &hnh) != 0 || cursor_get_u8(&pc, &hlen8) != 0 ||
			    cursor_skip(&pc, nh == IPP_AH ? (size_t)hlen8 * 4 + 6
			                                  : (size_t)hlen8 * 8 + 6) != 0) {
				out->anomalies |= DEC_ANOM_TRUNCATED;
				return KW_ERR_MALFORMED;
			}
			wire_payload -= (uint32_t)(pc.off - before) <= wire_payload
			                    ? (uint32_t)(pc.off - before)
			                    : wire_payload;
			nh = hnh;
			continue;
		case IPP_FRAGMENT:
			if (cursor_get_u8(&pc, &hnh) != 0 || cursor_skip(&pc, 1) != 0 ||
			    cursor_get_u16(&pc, &offw) != 0 || cursor_get_u32(&pc, &id) != 0) {
				out->anomalies |= DEC_ANOM_TRUNCATED;
				return KW_ERR_MALFORMED;
			}
			if (plen < plen16) {
				out->anomalies |= DEC_ANOM_TRUNCATED;
				d->stats.frag_dropped++;
				return KW_ERR_MALFORMED;
			}
			if ((offw & 0xfff9) == 0) { /* atomic fragment, RFC 6946 */
				nh = hnh;
				wire_payload = (uint32_t)cursor_left(&pc);
				continue;
			}
			r = frag_add(d, out, hnh, id, (uint32_t)(offw & 0xfff8), offw & 1,
			             cursor_ptr(&pc), (uint32_t)cursor_left(&pc), &whole);
			if (r != KW_OK)
				return r;
			cursor_init(&pc, d->reasm, whole);
			out->ip_len = (uint16_t)(40 + whole > 0xffff ? 0xffff : 40 + whole);
			return decode_l4(d, &pc, hnh, 1, whole, out, depth);
		case IPP_NONE:
			return KW_ERR_MALFORMED;
		default:
			return decode_l4(d, &pc, nh, 1, wire_payload, out, depth);
		}
	}
	return KW_ERR_MALFORMED;
}

/*
 * decode_ip_in is in line where a frame's IP header begins (plain Ethernet
 * in decode_frame), where calls through the Ethernet, IP and TCP layers
 * cost about a fifth of the decoder; decode_ip is the one out-of-line copy
 * for every other caller (tunnels, VLAN tags, other link types).
 */
static inline __attribute__((always_inline)) int decode_ip_in(struct decoder *d, struct cursor *c,
                                                              struct pkt *out, int depth)
{
	uint8_t v;

	if (depth > DECODE_MAX_DEPTH || cursor_peek_u8(c, 0, &v) != 0)
		return KW_ERR_MALFORMED;
	/* The outermost addresses are overwritten by inner ones in tunnels. */
	switch (v >> 4) {
	case 4:
		return decode_ipv4(d, c, out, depth);
	case 6:
		return decode_ipv6(d, c, out, depth);
	}
	out->anomalies |= DEC_ANOM_IP_HEADER;
	return KW_ERR_MALFORMED;
}

static __attribute__((noinline)) int decode_ip(struct decoder *d, struct cursor *c, struct pkt *out,
                                               int depth)
{
	return decode_ip_in(d, c, out, depth);
}

static int decode_ethertype(struct decoder *d, struct cursor *c, uint16_t type, struct pkt *out,
                            int depth)
{
	uint16_t tci;

	/* 802.1Q and 802.1ad tags, any depth within the frame. */
	while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
		if (cursor_get_u16(c, &tci) != 0 || cursor_get_u16(c, &type) != 0)
			return KW_ERR_MALFORMED;
		if (out->nvlan < 2)
			out->vlan[out->nvlan++] = tci & 0x0fff;
	}
	if (type == ETH_IPV4 || type == ETH_IPV6)
		return decode_ip(d, c, out, depth);
	return KW_ERR_MALFORMED;
}

static int decode_ether(struct decoder *d, struct cursor *c, struct pkt *out, int depth)
{
	uint16_t type;

	if (depth > DECODE_MAX_DEPTH || cursor_skip(c, 12) != 0 || cursor_get_u16(c, &type) != 0)
		return KW_ERR_MALFORMED;
	return decode_ethertype(d, c, type, out, depth);
}

/*
 * pkt_clear zeroes every byte of *out, padding included (a worker's ring
 * copies the struct whole). In pieces of at most 64 bytes: GCC writes those
 * as a few vector stores, where one memset of the whole struct becomes
 * "rep stos", 21 iterations and slow to start on every packet.
 */
static inline void pkt_clear(struct pkt *out)
{
	uint8_t *b = (uint8_t *)out;

	_Static_assert(sizeof(*out) > 128 && sizeof(*out) <= 192, "pkt_clear covers struct pkt");
	memset(b, 0, 64);
	memset(b + 64, 0, 64);
	memset(b + 128, 0, sizeof(*out) - 128);
}

int decode_frame(struct decoder *d, int link, const uint8_t *frame, uint32_t caplen,
                 uint32_t wirelen, uint64_t ts_us, struct pkt *out)
{
	struct cursor c;
	uint16_t type;
	uint8_t b[4];
	uint32_t fam;
	int r;

	d->wire_extra = wirelen > caplen ? wirelen - caplen : 0;
	pkt_clear(out);
	out->ts_us = ts_us;
	cursor_init(&c, frame, caplen);
	d->stats.frames++;

	switch (link) {
	case KW_LINK_ETHERNET:
		/* decode_ether, with untagged IP (most frames) in line. */
		if (cursor_skip(&c, 12) != 0 || cursor_get_u16(&c, &type) != 0)
			r = KW_ERR_MALFORMED;
		else if (type == ETH_IPV4 || type == ETH_IPV6)
			r = decode_ip_in(d, &c, out, 0);
		else
			r = decode_ethertype(d, &c, type, out, 0);
		break;
	case KW_LINK_SLL: /* Linux cooked v1: 16 bytes, protocol last */
		r = cursor_skip(&c, 14) || cursor_get_u16(&c, &type)
		        ? KW_ERR_MALFORMED
		        : decode_ethertype(d, &c, type, out, 0);
		break;
	case KW_LINK_SLL2: /* Linux cooked v2: protocol, reserved, interface index, ... */
		r = cursor_get_u16(&c, &type) || cursor_skip(&c, 2) ||
		            cursor_get_u32(&c, &out->ifindex) || cursor_skip(&c, 12)
		        ? KW_ERR_MALFORMED
		        : decode_ethertype(d, &c, type, out, 0);
		break;
	case KW_LINK_NULL:
	case KW_LINK_LOOP:
		/* BSD loopback: a 4-byte address family, host order for NULL. */
		r = KW_ERR_MALFORMED;
		if (cursor_get_u8(&c, &b[0]) || cursor_get_u8(&c, &b[1]) ||
		    cursor_get_u8(&c, &b[2]) || cursor_get_u8(&c, &b[3]))
			break;
		fam = (b[0] != 0 && link == KW_LINK_NULL) ? b[0] : b[3];
		if (fam == 2 || fam == 24 || fam == 28 || fam == 30)
			r = decode_ip(d, &c, out, 0);
		break;
	case KW_LINK_RAW:
	case KW_LINK_RAW_ALT1:
	case KW_LINK_RAW_ALT2:
	case KW_LINK_IPV4:
	case KW_LINK_IPV6:
		r = decode_ip(d, &c, out, 0);
		break;
	default:
		r = KW_ERR_MALFORMED;
	}
	if (r == KW_OK) {
		if (out->kind == PKT_TCP)
			d->stats.tcp++;
		else
			d->stats.icmp_errors++;
	} else if (r == KW_ERR_MORE) {
		/* a fragment held for reassembly */
	} else if (out->anomalies) {
		d->stats.malformed++;
	} else {
		d->stats.other++;
	}
	return r;
}
