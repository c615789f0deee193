/*
 * decode.h: from a captured frame to the facts of one TCP segment or one
 * ICMP error, without copies.
 *
 * Handles the link types kexwatch reads (Ethernet with 802.1Q/QinQ, Linux
 * cooked v1 and v2, raw IP, BSD loopback), IPv4 and IPv6 (extension headers),
 * the tunnels real captures contain (GRE, VXLAN, Geneve, IP in IP), IP
 * fragment reassembly (bounded), TCP with its options, and ICMP/ICMPv6 errors
 * with the headers they quote. Everything else is dismissed early. Payload
 * pointers point into the caller's frame, or into the decoder's reassembly
 * buffer for a reassembled datagram; they are valid until the next call.
 * Not responsible for flows (flow.c) or streams (tcp.c).
 */
#ifndef KW_DECODE_H
#define KW_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* Link types (the LINKTYPE_ values of pcap files; dissect/ never includes pcap.h). */
#define KW_LINK_NULL 0 /* BSD loopback, host-order address family */
#define KW_LINK_ETHERNET 1
#define KW_LINK_RAW 101     /* raw IPv4 or IPv6 */
#define KW_LINK_RAW_ALT1 12 /* DLT_RAW on most systems */
#define KW_LINK_RAW_ALT2 14 /* DLT_RAW on OpenBSD */
#define KW_LINK_LOOP 108    /* OpenBSD loopback, network-order family */
#define KW_LINK_SLL 113
#define KW_LINK_IPV4 228
#define KW_LINK_IPV6 229
#define KW_LINK_SLL2 276

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Decode anomalies (bits of pkt.anomalies). */
#define DEC_ANOM_TRUNCATED 0x01u    /* caplen shorter than the headers say */
#define DEC_ANOM_TCP_OPTIONS 0x02u  /* an option with a bad length (RFC 9293 3.1) */
#define DEC_ANOM_IP_HEADER 0x04u    /* bad IHL, total length or version */
#define DEC_ANOM_FRAG_OVERLAP 0x08u /* fragments overlap (RFC 5722) */
#define DEC_ANOM_TCP_HEADER 0x10u   /* data offset below 5 or past the segment */

struct addr_pair {
	uint8_t family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

enum pkt_kind {
	PKT_TCP = 1,
	PKT_ICMP_ERROR, /* an ICMP/ICMPv6 error quoting a TCP segment */
};

/* The tunnel a packet came out of (the innermost, when nested). */
enum pkt_tunnel_type {
	TUNNEL_NONE,
	TUNNEL_GRE,
	TUNNEL_ERSPAN,
	TUNNEL_VXLAN,
	TUNNEL_GENEVE,
	TUNNEL_IPIP, /* IPv4 or IPv6 in IPv4 or IPv6 */
};

struct pkt_tunnel {
	uint8_t type;             /* enum pkt_tunnel_type */
	uint8_t family;           /* of the outer addresses: 4 or 6 */
	uint8_t has_id;           /* id is a VXLAN/Geneve VNI or a GRE key */
	uint8_t nvlan;            /* the outer frame's 802.1Q tags */
	uint8_t src[16], dst[16]; /* the tunnel's endpoints: the outer IP header */
	uint32_t id;
	uint16_t vlan[2];
};

struct pkt {
	enum pkt_kind kind;
	uint64_t ts_us;
	struct addr_pair a; /* for PKT_ICMP_ERROR: the quoted segment's addresses */
	uint16_t vlan[2];   /* the tags of the frame that carried the segment */
	uint8_t nvlan;
	uint32_t ifindex;    /* Linux cooked v2: the interface the frame crossed, else 0 */
	uint8_t df;          /* IPv4 don't-fragment bit (IPv6: always 1) */
	uint8_t reassembled; /* came from IP fragments */
	uint16_t frag_count; /* how many fragments it came from */
	uint16_t ip_len;     /* IP total length on the wire */
	/* TCP */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t window;
	uint16_t mss;   /* 0: no option */
	uint8_t wscale; /* 0xff: no option */
	uint8_t sack_ok, has_ts;
	const uint8_t *payload;    /* captured payload bytes */
	uint32_t payload_len;      /* captured */
	uint32_t wire_payload_len; /* on the wire (>= payload_len when snapped) */
	uint32_t anomalies;        /* DEC_ANOM_* */
	/* The rest is zero for a plain TCP segment (pkt_is_plain): a worker's
	 * ring carries only the fields before it then (app/workers.c). */
	struct pkt_tunnel tunnel; /* type TUNNEL_NONE unless decapsulated */
	/* ICMP error */
	uint8_t icmp_v6, icmp_type, icmp_code;
	uint32_t icmp_mtu; /* next-hop MTU of frag-needed / packet-too-big, else 0 */
	uint32_t icmp_seq; /* the quoted TCP sequence number */
};

/* The bytes of struct pkt up to its rare fields. */
#define PKT_PLAIN_LEN offsetof(struct pkt, tunnel)

/* pkt_is_plain: p is a TCP segment, not decapsulated: its rare fields are zero. */
static inline int pkt_is_plain(const struct pkt *p)
{
	return p->kind == PKT_TCP && p->tunnel.type == TUNNEL_NONE;
}

struct decoder;

/* decoder_new allocates the fragment table; NULL on allocation failure. */
struct decoder *decoder_new(const struct kw_limits *limits);
void decoder_free(struct decoder *d);

/*
 * decode_frame decodes one frame of link type link. Returns KW_OK with *out
 * filled for a TCP segment or a quoted ICMP error; KW_ERR_MORE when the
 * frame was a fragment held for reassembly; KW_ERR_MALFORMED when it is not
 * something kexwatch follows (other protocols, damage: see out->anomalies).
 */
int decode_frame(struct decoder *d, int link, const uint8_t *frame, uint32_t caplen,
                 uint32_t wirelen, uint64_t ts_us, struct pkt *out);

struct decode_stats {
	uint64_t frames, tcp, icmp_errors, other, malformed, fragments, reassembled, frag_dropped;
	uint64_t tso_frames; /* IPv4 total length 0: a TSO frame, decoded by its frame length */
};
const struct decode_stats *decoder_stats(const struct decoder *d);

/*
 * decoder_set_general(d, 1) makes d decode every frame through its general
 * loops only, without the shortcut for common layouts (NOP NOP TS options);
 * tests compare the two, which must give identical results. Default 0.
 */
void decoder_set_general(struct decoder *d, int on);

/* pkt_tunnel_name: "gre", "erspan", "vxlan", "geneve", "ipip"; NULL for none. */
const char *pkt_tunnel_name(uint8_t type);

#endif
