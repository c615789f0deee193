/*
 * kw-craft.c: writes the crafted captures of tests/crafted/ (libnet).
 *
 *   kw-craft SCENARIO FILE      write one scenario as a pcap file
 *   kw-craft list               print the scenario names
 *   kw-craft flood FILE|- NSYN NBANNER ROUNDS
 *                               the memory test's input (tests/robustness/memory.sh)
 *   kw-craft concurrent FILE|- NCONN ROUNDS
 *                               NCONN connections open at once (tests/robustness/eviction.py)
 *   kw-craft hostile FILE|- NCONN LISTLEN
 *                               NCONN clients each sending a KEXINIT with four
 *                               LISTLEN-byte name-lists, all left open
 *                               (tests/robustness/memcap.sh)
 *
 * Responsible for what real SSH software will not do on demand: segments out
 * of order and overlapping with conflicting bytes, one-byte segments, a
 * KEXINIT split at every offset, IP fragments out of order and overlapping,
 * packet_length 0 and 0xffffffff, huge name-lists, a 100 KB banner without a
 * newline, TCP options with bad lengths, a short snap length, zero-length
 * frames, connections in VXLAN and GRE over a tagged underlay. Packets are built with libnet in
 * LIBNET_NONE mode (construction only: nothing is ever injected) and coalesced into a buffer
 * (libnet_pblock_coalesce; libnet_adv_cull_packet refuses LIBNET_NONE); a small pcap
 * writer here puts them in a file with deterministic timestamps, so the
 * output is byte-for-byte reproducible. The flood mode writes its frames
 * directly (one million SYNs through libnet would only be slower). What each
 * scenario must produce is asserted by tests/robustness/check_crafted.py.
 */
#include <arpa/inet.h>
#include <libnet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_DEFAULT 262144

static libnet_t *ln;

/* ---- pcap writer ---------------------------------------------------- */

struct pcapw {
	FILE *f;
	uint32_t snaplen;
	uint64_t ts_us;
	uint32_t step_us; /* between frames */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kw-craft: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* pcap headers are in the writer's byte order */
}

static void pcap_open(struct pcapw *w, const char *path, uint32_t snaplen)
{
	uint8_t h[24] = {0};

	w->f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (w->f == NULL)
		die("%s: cannot write", path);
	w->snaplen = snaplen;
	w->ts_us = 1700000000ull * 1000000u;
	w->step_us = 1000;
	put32(h, 0xa1b2c3d4);
	h[4] = 2;
	h[6] = 4;
	put32(h + 16, snaplen);
	put32(h + 20, 1); /* LINKTYPE_ETHERNET */
	if (fwrite(h, 1, sizeof(h), w->f) != sizeof(h))
		die("write failed");
}

/* pcap_put writes a record with caplen min(len, snaplen) and the given wire length. */
static void pcap_put_raw(struct pcapw *w, const uint8_t *frame, uint32_t caplen, uint32_t wirelen)
{
	uint8_t h[16];

	w->ts_us += w->step_us; /* 1 ms between frames unless a scenario says otherwise */
	put32(h, (uint32_t)(w->ts_us / 1000000u));
	put32(h + 4, (uint32_t)(w->ts_us % 1000000u));
	put32(h + 8, caplen);
	put32(h + 12, wirelen);
	if (fwrite(h, 1, 16, w->f) != 16 || (caplen && fwrite(frame, 1, caplen, w->f) != caplen))
		die("write failed");
}

/*
 * Encapsulation for the tunnel scenario: while encap is set, every frame
 * pcap_put writes is first wrapped (encap_frame, below the libnet helpers).
 */
enum encap_kind { ENCAP_NONE, ENCAP_VXLAN, ENCAP_GRE };
static enum encap_kind encap;
static const uint8_t *encap_frame(const uint8_t *frame, uint32_t len, uint32_t *out_len);

static void pcap_put(struct pcapw *w, const uint8_t *frame, uint32_t len)
{
	if (encap != ENCAP_NONE)
		frame = encap_frame(frame, len, &len);
	pcap_put_raw(w, frame, len < w->snaplen ? len : w->snaplen, len);
}

static void pcap_close(struct pcapw *w)
{
	if (w->f != stdout ? fclose(w->f) != 0 : fflush(w->f) != 0)
		die("write failed");
}

/* ---- packets through libnet ------------------------------------------ */

static const uint8_t mac_c[6] = {0x02, 0, 0, 0, 0, 0x01}, mac_s[6] = {0x02, 0, 0, 0, 0, 0x02};

struct seg {
	uint32_t src, dst; /* network order */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *opts;
	uint32_t optlen; /* a multiple of 4 */
	const uint8_t *payload;
	uint32_t len;
	uint16_t ip_id;
	int to_server;
};

/* build_tcp returns the Ethernet frame of one segment (static buffer) in *len. */
static const uint8_t *build_tcp(const struct seg *s, uint32_t *len)
{
	static uint8_t frame[70000];
	uint8_t *pkt;
	uint32_t n;

	libnet_clear_packet(ln);
	if (s->optlen > 0 && libnet_build_tcp_options(s->opts, s->optlen, ln, 0) == -1)
		die("libnet_build_tcp_options: %s", libnet_geterror(ln));
	if (libnet_build_tcp(s->sport, s->dport, s->seq, s->ack, s->flags, 64240, 0, 0,
	                     LIBNET_TCP_H + s->optlen + s->len, s->payload, s->len, ln, 0) == -1)
		die("libnet_build_tcp: %s", libnet_geterror(ln));
	if (libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_TCP_H + s->optlen + s->len, 0, s->ip_id,
	                      0x4000, 64, IPPROTO_TCP, 0, s->src, s->dst, NULL, 0, ln, 0) == -1)
		die("libnet_build_ipv4: %s", libnet_geterror(ln));
	if (libnet_build_ethernet(s->to_server ? mac_s : mac_c, s->to_server ? mac_c : mac_s,
	                          ETHERTYPE_IP, NULL, 0, ln, 0) == -1)
		die("libnet_build_ethernet: %s", libnet_geterror(ln));
	if (libnet_pblock_coalesce(ln, &pkt, &n) == -1)
		die("libnet_pblock_coalesce: %s", libnet_geterror(ln));
	if (n > sizeof(frame))
		die("frame too large");
	memcpy(frame, pkt, n);
	free(pkt); /* coalesce malloc()s the packet */
	*len = n;
	return frame;
}

/* build_frag returns an IPv4 fragment frame carrying bytes of an IP payload. */
static const uint8_t *build_frag(uint32_t src, uint32_t dst, uint16_t id, uint32_t offset8,
                                 int more, const uint8_t *p, uint32_t n, int to_server,
                                 uint32_t *len)
{
	static uint8_t frame[70000];
	uint8_t *pkt;
	uint32_t out;

	libnet_clear_packet(ln);
	if (libnet_build_ipv4(LIBNET_IPV4_H + n, 0, id, (uint16_t)((more ? 0x2000 : 0) | offset8),
	                      64, IPPROTO_TCP, 0, src, dst, p, n, ln, 0) == -1)
		die("libnet_build_ipv4: %s", libnet_geterror(ln));
	if (libnet_build_ethernet(to_server ? mac_s : mac_c, to_server ? mac_c : mac_s,
	                          ETHERTYPE_IP, NULL, 0, ln, 0) == -1)
		die("libnet_build_ethernet: %s", libnet_geterror(ln));
	if (libnet_pblock_coalesce(ln, &pkt, &out) == -1)
		die("libnet_pblock_coalesce: %s", libnet_geterror(ln));
	memcpy(frame, pkt, out);
	free(pkt); /* coalesce malloc()s the packet */
	*len = out;
	return frame;
}

/* ---- connections ------------------------------------------------------ */

struct conn {
	struct pcapw *w;
	uint32_t cip, sip;
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence number per side */
	uint16_t ip_id;
	const uint8_t *syn_opts;
	uint32_t syn_optlen;
};

static void conn_init(struct conn *c, struct pcapw *w, int n)
{
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->cip = htonl(0x0a000000u | (uint32_t)(n + 2)); /* 10.0.0.x */
	c->sip = htonl(0x0a010001u);                     /* 10.1.0.1 */
	c->cport = (uint16_t)(40000 + n);
	c->sport = 22;
	c->cseq = 1000000u * (uint32_t)(n + 1);
	c->sseq = 3000000000u + 7u * (uint32_t)n;
	c->ip_id = (uint16_t)(n * 100);
}

/* conn_seg sends one segment of side dir (0 client, 1 server) at offset rel from its next seq. */
static void conn_seg_at(struct conn *c, int dir, int32_t rel, uint8_t flags, const void *p,
                        uint32_t n)
{
	struct seg s = {0};
	uint32_t len;
	const uint8_t *f;

	s.src = dir ? c->sip : c->cip;
	s.dst = dir ? c->cip : c->sip;
	s.sport = dir ? c->sport : c->cport;
	s.dport = dir ? c->cport : c->sport;
	s.seq = (dir ? c->sseq : c->cseq) + (uint32_t)rel;
	s.ack = dir ? c->cseq : c->sseq;
	s.flags = flags;
	s.payload = p;
	s.len = n;
	s.ip_id = c->ip_id++;
	s.to_server = !dir;
	if (flags & TH_SYN) {
		s.opts = c->syn_opts;
		s.optlen = c->syn_optlen;
	}
	f = build_tcp(&s, &len);
	pcap_put(c->w, f, len);
}

static void conn_send(struct conn *c, int dir, const void *p, uint32_t n)
{
	conn_seg_at(c, dir, 0, TH_ACK | TH_PUSH, p, n);
	if (dir)
		c->sseq += n;
	else
		c->cseq += n;
}

/* conn_send_split sends n bytes in segments of at most seg bytes. */
static void conn_send_split(struct conn *c, int dir, const uint8_t *p, uint32_t n, uint32_t seg)
{
	for (uint32_t off = 0; off < n; off += seg)
		conn_send(c, dir, p + off, n - off < seg ? n - off : seg);
}

static void conn_open(struct conn *c)
{
	conn_seg_at(c, 0, 0, TH_SYN, NULL, 0);
	c->cseq++;
	c->syn_opts = NULL;
	c->syn_optlen = 0;
	conn_seg_at(c, 1, 0, TH_SYN | TH_ACK, NULL, 0);
	c->sseq++;
	conn_seg_at(c, 0, 0, TH_ACK, NULL, 0);
}

static void conn_close(struct conn *c)
{
	conn_seg_at(c, 0, 0, TH_FIN | TH_ACK, NULL, 0);
	c->cseq++;
	conn_seg_at(c, 1, 0, TH_FIN | TH_ACK, NULL, 0);
	c->sseq++;
	conn_seg_at(c, 0, 0, TH_ACK, NULL, 0);
}

/* ---- SSH bytes ---------------------------------------------------------- */

#define BANNER_C "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
#define BANNER_S "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"

/* A compact client KEXINIT (what the split test splits); its HASSH is in check_crafted.py. */
static const char *const kex_client[10] = {
    "curve25519-sha256,ext-info-c,kex-strict-c-v00@openssh.com",
    "ssh-ed25519,rsa-sha2-512",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "none",
    "none",
    "",
    "",
};
static const char *const kex_server[10] = {
    "curve25519-sha256,kex-strict-s-v00@openssh.com",
    "ssh-ed25519",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "chacha20-poly1305@openssh.com,aes128-ctr",
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-256-etm@openssh.com",
    "none,zlib@openssh.com",
    "none,zlib@openssh.com",
    "",
    "",
};

struct buf {
	uint8_t *p;
	uint32_t n, cap;
};

static void buf_add(struct buf *b, const void *p, uint32_t n)
{
	if (b->n + n > b->cap) {
		while (b->n + n > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			die("out of memory");
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void buf_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	buf_add(b, x, 4);
}

static void buf_str(struct buf *b, const void *p, uint32_t n)
{
	buf_u32(b, n);
	buf_add(b, p, n);
}

/* ssh_packet wraps a payload as an RFC 4253 section 6 packet (block size 8, padding 4+). */
static void ssh_packet(struct buf *out, const struct buf *payload)
{
	static const uint8_t zeros[32];
	uint32_t pad = 8 - (payload->n + 5) % 8;

	if (pad < 4)
		pad += 8;
	buf_u32(out, payload->n + pad + 1);
	buf_add(out, (uint8_t[]){(uint8_t)pad}, 1);
	buf_add(out, payload->p, payload->n);
	buf_add(out, zeros, pad);
}

/* kexinit_packet builds a KEXINIT packet from ten lists (lists[0] may be replaced by kex). */
static void kexinit_packet(struct buf *out, const char *const lists[10], const char *kex,
                           uint32_t kex_len)
{
	struct buf pl = {0};
	uint8_t cookie[16];

	for (int i = 0; i < 16; i++)
		cookie[i] = (uint8_t)(0x11 * i);
	buf_add(&pl, (uint8_t[]){20}, 1);
	buf_add(&pl, cookie, 16);
	for (int i = 0; i < 10; i++) {
		if (i == 0 && kex != NULL)
			buf_str(&pl, kex, kex_len);
		else
			buf_str(&pl, lists[i], (uint32_t)strlen(lists[i]));
	}
	buf_add(&pl, (uint8_t[]){0, 0, 0, 0, 0}, 5);
	ssh_packet(out, &pl);
	free(pl.p);
}

/* The ECDH messages after the KEXINITs: client 30, server 31 with an ed25519 host key, NEWKEYS. */
static void kex_tail(struct buf *c2s, struct buf *s2c)
{
	struct buf pl = {0}, key = {0};
	uint8_t q[32], pk[32], sig[64];

	for (int i = 0; i < 32; i++) {
		q[i] = (uint8_t)(i + 1);
		pk[i] = (uint8_t)(0xa0 + i);
	}
	memset(sig, 0x5a, sizeof(sig));
	buf_add(&pl, (uint8_t[]){30}, 1);
	buf_str(&pl, q, 32);
	ssh_packet(c2s, &pl);
	pl.n = 0;
	buf_str(&key, "ssh-ed25519", 11);
	buf_str(&key, pk, 32);
	buf_add(&pl, (uint8_t[]){31}, 1);
	buf_str(&pl, key.p, key.n);
	buf_str(&pl, q, 32);
	buf_str(&pl, sig, 64);
	ssh_packet(s2c, &pl);
	pl.n = 0;
	buf_add(&pl, (uint8_t[]){21}, 1);
	ssh_packet(s2c, &pl);
	ssh_packet(c2s, &pl);
	free(pl.p);
	free(key.p);
}

/* The whole clear-text part of a standard handshake, per direction. */
static void handshake_bytes(struct buf *c2s, struct buf *s2c)
{
	buf_add(c2s, BANNER_C, sizeof(BANNER_C) - 1);
	buf_add(s2c, BANNER_S, sizeof(BANNER_S) - 1);
	kexinit_packet(c2s, kex_client, NULL, 0);
	kexinit_packet(s2c, kex_server, NULL, 0);
	kex_tail(c2s, s2c);
}

/* ---- tunnels ------------------------------------------------------------ */

/*
 * encap_frame wraps an Ethernet frame of the connection as a tunnel
 * carries it across an underlay tagged VLAN 100 between 192.0.2.1 and
 * 192.0.2.2:
 * - ENCAP_VXLAN: outer Ethernet + 802.1Q 100 + IPv4 + UDP 4789 + VXLAN
 *   (RFC 7348, VNI 4242) + the inner frame, itself tagged VLAN 7;
 * - ENCAP_GRE: outer Ethernet + 802.1Q 100 + IPv4 + GRE with key 0x1234
 *   (RFC 2890) + the inner IPv4 packet (no inner Ethernet).
 */
static const uint8_t *encap_frame(const uint8_t *frame, uint32_t len, uint32_t *out_len)
{
	static uint8_t out[70100];
	uint8_t inner[70050], hdr[8];
	uint32_t ilen, plen, n;
	uint32_t a = htonl(0xc0000201u), b = htonl(0xc0000202u); /* 192.0.2.1, .2 */
	uint8_t *pkt;
	libnet_ptag_t t;

	if (len < 14 || len + 4 > sizeof(inner))
		die("encap: frame of %u bytes", len);
	libnet_clear_packet(ln);
	if (encap == ENCAP_VXLAN) {
		/* the inner frame gets an 802.1Q tag (VLAN 7) after its MAC addresses */
		memcpy(inner, frame, 12);
		inner[12] = 0x81, inner[13] = 0x00, inner[14] = 0x00, inner[15] = 7;
		memcpy(inner + 16, frame + 12, len - 12);
		ilen = len + 4;
		memset(hdr, 0, sizeof(hdr));
		hdr[0] = 0x08;                            /* I: the VNI is valid */
		hdr[4] = 0, hdr[5] = 0x10, hdr[6] = 0x92; /* VNI 4242 */
		memmove(inner + 8, inner, ilen);
		memcpy(inner, hdr, 8);
		plen = ilen + 8;
		t = libnet_build_udp(50000, 4789, LIBNET_UDP_H + plen, 0, inner, plen, ln, 0);
		if (t == -1 || libnet_build_ipv4(LIBNET_IPV4_H + LIBNET_UDP_H + plen, 0, 1, 0, 64,
		                                 IPPROTO_UDP, 0, a, b, NULL, 0, ln, 0) == -1)
			die("encap vxlan: %s", libnet_geterror(ln));
	} else {
		/* GRE, RFC 2890: the K bit, protocol IPv4, the key; then the IP packet */
		plen = len - 14;
		hdr[0] = 0x20, hdr[1] = 0x00, hdr[2] = 0x08, hdr[3] = 0x00;
		hdr[4] = 0, hdr[5] = 0, hdr[6] = 0x12, hdr[7] = 0x34;
		memcpy(inner, hdr, 8);
		memcpy(inner + 8, frame + 14, plen);
		plen += 8;
		if (libnet_build_ipv4(LIBNET_IPV4_H + plen, 0, 1, 0, 64, IPPROTO_GRE, 0, a, b,
		                      inner, plen, ln, 0) == -1)
			die("encap gre: %s", libnet_geterror(ln));
	}
	if (libnet_build_802_1q(mac_s, mac_c, ETHERTYPE_VLAN, 0, 0, 100, ETHERTYPE_IP, NULL, 0, ln,
	                        0) == -1)
		die("encap 802.1q: %s", libnet_geterror(ln));
	if (libnet_pblock_coalesce(ln, &pkt, &n) == -1)
		die("libnet_pblock_coalesce: %s", libnet_geterror(ln));
	if (n > sizeof(out))
		die("frame too large");
	memcpy(out, pkt, n);
	free(pkt);
	*out_len = n;
	return out;
}

/* ---- scenarios ------------------------------------------------------------ */

/* Server banner out of order, then overlapping segments with conflicting bytes. */
static void sc_ooo_overlap(struct pcapw *w)
{
	struct conn c;
	struct buf c2s = {0}, s2c = {0};
	const char *evil = "SSH-2.0-EvilServer_6.6 conflicting bytes\r\n";

	conn_init(&c, w, 1);
	conn_open(&c);
	handshake_bytes(&c2s, &s2c);
	conn_send(&c, 0, c2s.p, sizeof(BANNER_C) - 1);
	/* Server: bytes [0,8) in order, [20,n) ahead of a hole, then [8,24) whose
	 * last 4 bytes conflict with the queued [20,24); then a full
	 * retransmission of [0,n) with other bytes. The first bytes must win. */
	uint32_t n = sizeof(BANNER_S) - 1;
	conn_seg_at(&c, 1, 0, TH_ACK, s2c.p, 8);
	conn_seg_at(&c, 1, 20, TH_ACK | TH_PUSH, s2c.p + 20, n - 20);
	uint8_t mid[16];
	memcpy(mid, s2c.p + 8, 16);
	memcpy(mid + 12, "EVIL", 4);
	conn_seg_at(&c, 1, 8, TH_ACK, mid, 16);
	conn_seg_at(&c, 1, 0, TH_ACK | TH_PUSH, evil, n); /* same length, all different */
	c.sseq += n;
	/* The rest of the handshake in order; the server's KEXINIT arrives twice
	 * more as overlapping partial retransmissions with flipped bytes. */
	uint32_t coff = sizeof(BANNER_C) - 1, soff = n;
	conn_send(&c, 0, c2s.p + coff, c2s.n - coff);
	uint32_t kl = s2c.n - soff;
	uint8_t *flip = malloc(kl);
	for (uint32_t i = 0; i < kl; i++)
		flip[i] = s2c.p[soff + i] ^ 0xff;
	conn_seg_at(&c, 1, 100, TH_ACK, flip + 100, 200); /* ahead: queued first */
	conn_send(&c, 1, s2c.p + soff, kl);
	conn_seg_at(&c, 1, -(int32_t)kl + 50, TH_ACK, flip + 50, 100); /* old: ignored */
	free(flip);
	conn_close(&c);
	free(c2s.p);
	free(s2c.p);
}

/* A full handshake where both sides send one byte per segment. */
static void sc_one_byte(struct pcapw *w)
{
	struct conn c;
	struct buf c2s = {0}, s2c = {0};

	conn_init(&c, w, 1);
	conn_open(&c);
	handshake_bytes(&c2s, &s2c);
	uint32_t kc = sizeof(BANNER_C) - 1, ks = sizeof(BANNER_S) - 1;
	conn_send_split(&c, 0, c2s.p, kc, 1);
	conn_send_split(&c, 1, s2c.p, ks, 1);
	conn_send_split(&c, 0, c2s.p + kc, c2s.n - kc, 1);
	conn_send_split(&c, 1, s2c.p + ks, s2c.n - ks, 1);
	conn_close(&c);
	free(c2s.p);
	free(s2c.p);
}

/* One connection per split point of the client's KEXINIT packet. */
static void sc_kexinit_split(struct pcapw *w)
{
	struct buf kex = {0};
	struct buf c2s = {0}, s2c = {0};

	kexinit_packet(&kex, kex_client, NULL, 0);
	handshake_bytes(&c2s, &s2c);
	for (uint32_t k = 1; k < kex.n; k++) {
		struct conn c;
		conn_init(&c, w, (int)k);
		conn_open(&c);
		conn_send(&c, 0, BANNER_C, sizeof(BANNER_C) - 1);
		conn_send(&c, 1, BANNER_S, sizeof(BANNER_S) - 1);
		conn_send(&c, 0, kex.p, k);
		conn_send(&c, 0, kex.p + k, kex.n - k);
		/* server KEXINIT: s2c after its banner, up to the KEX reply */
		uint32_t ks = sizeof(BANNER_S) - 1;
		uint32_t klen = ((uint32_t)s2c.p[ks] << 24 | (uint32_t)s2c.p[ks + 1] << 16 |
		                 (uint32_t)s2c.p[ks + 2] << 8 | s2c.p[ks + 3]) +
		                4;
		conn_send(&c, 1, s2c.p + ks, klen);
		conn_close(&c);
	}
	free(kex.p);
	free(c2s.p);
	free(s2c.p);
}

/* The client's KEXINIT segment as IPv4 fragments: out of order; and overlapping. */
static void sc_ip_fragments(struct pcapw *w)
{
	for (int variant = 0; variant < 2; variant++) {
		struct conn c;
		struct buf c2s = {0}, s2c = {0}, kex = {0};
		struct seg s = {0};
		uint32_t len, ip_len;
		const uint8_t *f;

		conn_init(&c, w, 1 + variant);
		conn_open(&c);
		handshake_bytes(&c2s, &s2c);
		kexinit_packet(&kex, kex_client, NULL, 0);
		conn_send(&c, 0, BANNER_C, sizeof(BANNER_C) - 1);
		conn_send(&c, 1, BANNER_S, sizeof(BANNER_S) - 1);
		/* The whole TCP segment, then cut its IP payload into 64-byte fragments. */
		s.src = c.cip;
		s.dst = c.sip;
		s.sport = c.cport;
		s.dport = c.sport;
		s.seq = c.cseq;
		s.ack = c.sseq;
		s.flags = TH_ACK | TH_PUSH;
		s.payload = kex.p;
		s.len = kex.n;
		s.to_server = 1;
		f = build_tcp(&s, &len);
		ip_len = len - 14 - 20;
		uint8_t *tcp = malloc(ip_len);
		memcpy(tcp, f + 14 + 20, ip_len);
		uint16_t id = (uint16_t)(0x4000 + variant);
		uint32_t nfrag = (ip_len + 63) / 64;
		for (uint32_t i = 0; i < nfrag; i++) {
			uint32_t k = variant == 0 ? nfrag - 1 - i : i; /* reversed order */
			uint32_t off = k * 64, n = ip_len - off < 64 ? ip_len - off : 64;
			f = build_frag(c.cip, c.sip, id, off / 8, k + 1 < nfrag, tcp + off, n, 1,
			               &len);
			pcap_put(w, f, len);
			if (variant == 1 && k == 1) {
				/* An overlapping copy of fragment 1 with other bytes. */
				uint8_t other[64];
				memset(other, 'X', sizeof(other));
				f = build_frag(c.cip, c.sip, id, (off - 32) / 8, 1, other, 64, 1,
				               &len);
				pcap_put(w, f, len);
			}
		}
		free(tcp);
		c.cseq += kex.n;
		uint32_t ks = sizeof(BANNER_S) - 1;
		conn_send(&c, 1, s2c.p + ks, s2c.n - ks);
		conn_close(&c);
		free(c2s.p);
		free(s2c.p);
		free(kex.p);
	}
}

/* packet_length 0 from a server, 0xffffffff from a client. */
static void sc_packet_length(struct pcapw *w)
{
	static const uint8_t zero[16] = {0, 0, 0, 0, 5, 20};
	static const uint8_t huge[16] = {0xff, 0xff, 0xff, 0xff, 5, 20};

	for (int variant = 0; variant < 2; variant++) {
		struct conn c;
		conn_init(&c, w, 1 + variant);
		conn_open(&c);
		conn_send(&c, 0, BANNER_C, sizeof(BANNER_C) - 1);
		conn_send(&c, 1, BANNER_S, sizeof(BANNER_S) - 1);
		conn_send(&c, variant == 0 ? 1 : 0, variant == 0 ? zero : huge, 16);
		conn_close(&c);
	}
}

/* A client KEXINIT whose kex list holds 10,000 names (under namelist_max). */
static void sc_namelist_10000(struct pcapw *w)
{
	struct conn c;
	struct buf names = {0}, c2s = {0}, s2c = {0};
	char name[16];
	const char *server[10];

	for (int i = 0; i < 10000; i++) {
		int n = snprintf(name, sizeof(name), "%sk%d", i ? "," : "", i);
		buf_add(&names, name, (uint32_t)n);
	}
	memcpy(server, kex_server, sizeof(server));
	server[0] = "k9999,curve25519-sha256";
	conn_init(&c, w, 1);
	conn_open(&c);
	buf_add(&c2s, BANNER_C, sizeof(BANNER_C) - 1);
	buf_add(&s2c, BANNER_S, sizeof(BANNER_S) - 1);
	kexinit_packet(&c2s, kex_client, (const char *)names.p, names.n);
	kexinit_packet(&s2c, server, NULL, 0);
	conn_send_split(&c, 0, c2s.p, c2s.n, 1448);
	conn_send_split(&c, 1, s2c.p, s2c.n, 1448);
	conn_close(&c);
	free(names.p);
	free(c2s.p);
	free(s2c.p);
}

/*
 * Name-lists over the limits: a 100 KB list (over namelist_max, under
 * max_packet) and a one-megabyte list (its packet is over max_packet).
 */
static void sc_namelist_long(struct pcapw *w, uint32_t size)
{
	struct conn c;
	struct buf c2s = {0};
	char *names = malloc(size);

	for (uint32_t i = 0; i < size; i++)
		names[i] = i % 9 == 8 ? ',' : (char)('a' + i % 9);
	names[size - 1] = 'z';
	conn_init(&c, w, 1);
	conn_open(&c);
	buf_add(&c2s, BANNER_C, sizeof(BANNER_C) - 1);
	kexinit_packet(&c2s, kex_client, names, size);
	conn_send(&c, 1, BANNER_S, sizeof(BANNER_S) - 1);
	conn_send_split(&c, 0, c2s.p, c2s.n, 1448);
	conn_close(&c);
	free(names);
	free(c2s.p);
}

/* A server banner of 100 KB without a newline. */
static void sc_banner_100k(struct pcapw *w)
{
	struct conn c;
	uint32_t n = 100 * 1024;
	uint8_t *b = malloc(n);

	memcpy(b, "SSH-2.0-", 8);
	for (uint32_t i = 8; i < n; i++)
		b[i] = (uint8_t)('A' + i % 26);
	conn_init(&c, w, 1);
	conn_open(&c);
	conn_send(&c, 0, BANNER_C, sizeof(BANNER_C) - 1);
	conn_send_split(&c, 1, b, n, 1448);
	conn_close(&c);
	free(b);
}

/* SYNs whose TCP options have bad lengths; each connection then exchanges banners. */
static void sc_tcp_bad_options(struct pcapw *w)
{
	static const uint8_t opts[4][8] = {
	    {2, 0, 5, 0xb4, 1, 1, 1, 1},  /* MSS with length 0 (would loop) */
	    {2, 4, 5, 0xb4, 3, 40, 7, 0}, /* window scale claiming 40 bytes */
	    {2, 1, 5, 0xb4, 0, 0, 0, 0},  /* length 1 (below the minimum 2) */
	    {1, 1, 1, 1, 1, 1, 8, 9},     /* timestamps cut by the header end */
	};

	for (int i = 0; i < 4; i++) {
		struct conn c;
		conn_init(&c, w, 1 + i);
		c.syn_opts = opts[i];
		c.syn_optlen = 8;
		conn_open(&c);
		conn_send(&c, 0, BANNER_C, sizeof(BANNER_C) - 1);
		conn_send(&c, 1, BANNER_S, sizeof(BANNER_S) - 1);
		conn_close(&c);
	}
}

/* A whole handshake in VXLAN, then one in GRE with a key, over a tagged underlay. */
static void sc_tunnels(struct pcapw *w)
{
	struct buf c2s = {0}, s2c = {0};

	handshake_bytes(&c2s, &s2c);
	for (int k = 0; k < 2; k++) {
		struct conn c;
		encap = k == 0 ? ENCAP_VXLAN : ENCAP_GRE;
		conn_init(&c, w, k + 1);
		conn_open(&c);
		conn_send(&c, 0, c2s.p, sizeof(BANNER_C) - 1);
		conn_send(&c, 1, s2c.p, s2c.n);
		conn_send(&c, 0, c2s.p + sizeof(BANNER_C) - 1, c2s.n - (sizeof(BANNER_C) - 1));
		conn_close(&c);
	}
	encap = ENCAP_NONE;
	free(c2s.p);
	free(s2c.p);
}

/* A whole handshake in a capture with a 100-byte snap length (scenarios[]). */
static void sc_snaplen(struct pcapw *w)
{
	struct conn c;
	struct buf c2s = {0}, s2c = {0};

	conn_init(&c, w, 1);
	conn_open(&c);
	handshake_bytes(&c2s, &s2c);
	uint32_t kc = sizeof(BANNER_C) - 1, ks = sizeof(BANNER_S) - 1;
	conn_send(&c, 0, c2s.p, kc);
	conn_send(&c, 1, s2c.p, ks);
	conn_send_split(&c, 0, c2s.p + kc, c2s.n - kc, 1448);
	conn_send_split(&c, 1, s2c.p + ks, s2c.n - ks, 1448);
	conn_close(&c);
	free(c2s.p);
	free(s2c.p);
}

/* Zero-length frames and frames cut inside their headers, around a normal handshake. */
static void sc_zero_length(struct pcapw *w)
{
	struct conn c;
	struct buf c2s = {0}, s2c = {0};
	struct seg s = {0};
	uint32_t len;
	const uint8_t *f;

	pcap_put_raw(w, NULL, 0, 0);
	pcap_put_raw(w, NULL, 0, 60);
	conn_init(&c, w, 1);
	s.src = c.cip;
	s.dst = c.sip;
	s.sport = 1;
	s.dport = 22;
	s.flags = TH_SYN;
	s.to_server = 1;
	f = build_tcp(&s, &len);
	for (uint32_t cut = 1; cut < len; cut += 3)
		pcap_put_raw(w, f, cut, len); /* Ethernet, IP, TCP headers cut short */
	conn_open(&c);
	handshake_bytes(&c2s, &s2c);
	conn_send(&c, 0, c2s.p, c2s.n);
	pcap_put_raw(w, NULL, 0, 0);
	conn_send(&c, 1, s2c.p, s2c.n);
	pcap_put_raw(w, NULL, 0, 1514);
	conn_close(&c);
	free(c2s.p);
	free(s2c.p);
}

/*
 * conn_send_tso sends n bytes of side dir as one frame larger than any MTU
 * with IPv4 total length 0, as a capture on the sending host shows a segment
 * before TCP segmentation offload cut it (what Linux writes for a GSO packet
 * over 64 KB; here smaller, the decoding is the same). Real hosts do this
 * only with BIG TCP, which the test machines' iproute2 cannot turn on.
 */
static void conn_send_tso(struct conn *c, int dir, const void *p, uint32_t n)
{
	struct seg s = {0};
	uint8_t *f;
	uint32_t len, sum = 0;

	s.src = dir ? c->sip : c->cip;
	s.dst = dir ? c->cip : c->sip;
	s.sport = dir ? c->sport : c->cport;
	s.dport = dir ? c->cport : c->sport;
	s.seq = dir ? c->sseq : c->cseq;
	s.ack = dir ? c->cseq : c->sseq;
	s.flags = TH_ACK | TH_PUSH;
	s.payload = p;
	s.len = n;
	s.ip_id = c->ip_id++;
	s.to_server = !dir;
	f = (uint8_t *)build_tcp(&s, &len);
	f[14 + 2] = f[14 + 3] = 0; /* total length 0 */
	f[14 + 10] = f[14 + 11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(f[14 + i] << 8 | f[14 + i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[14 + 10] = (uint8_t)(~sum >> 8);
	f[14 + 11] = (uint8_t)~sum;
	pcap_put(c->w, f, len);
	if (dir)
		c->sseq += n;
	else
		c->cseq += n;
}

/* A handshake whose KEX data, both ways, travels in TSO frames (IPv4 total length 0). */
static void sc_tso_zero_length(struct pcapw *w)
{
	struct conn c;
	struct buf c2s = {0}, s2c = {0};
	uint32_t kc = sizeof(BANNER_C) - 1, ks = sizeof(BANNER_S) - 1;

	conn_init(&c, w, 1);
	conn_open(&c);
	handshake_bytes(&c2s, &s2c);
	conn_send(&c, 1, s2c.p, ks);
	conn_send(&c, 0, c2s.p, kc);
	conn_send_tso(&c, 1, s2c.p + ks, s2c.n - ks);
	conn_send_tso(&c, 0, c2s.p + kc, c2s.n - kc);
	conn_close(&c);
	free(c2s.p);
	free(s2c.p);
}

/* ---- flood (memory test) ------------------------------------------------ */

static void raw_frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp,
                      uint32_t seq, uint32_t ack, uint8_t flags, uint32_t plen)
{
	uint32_t sum = 0;

	memcpy(f, mac_s, 6);
	memcpy(f + 6, mac_c, 6);
	f[12] = 0x08;
	f[13] = 0;
	uint8_t *ip = f + 14;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((40 + plen) >> 8);
	ip[3] = (uint8_t)(40 + plen);
	ip[6] = 0x40;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *t = ip + 20;
	memset(t, 0, 20);
	t[0] = (uint8_t)(sp >> 8);
	t[1] = (uint8_t)sp;
	t[2] = (uint8_t)(dp >> 8);
	t[3] = (uint8_t)dp;
	uint32_t nseq = htonl(seq), nack = htonl(ack);
	memcpy(t + 4, &nseq, 4);
	memcpy(t + 8, &nack, 4);
	t[12] = 0x50;
	t[13] = flags;
	t[14] = 0xfa;
	t[15] = 0xf0;
}

/*
 * flood: NSYN SYNs from distinct sources (never answered), then NBANNER
 * connections that each send ROUNDS segments of 1448 bytes of one banner
 * line without a newline, round-robin, so every connection holds an
 * unfinished line at the same time.
 */
static void flood(const char *path, uint32_t nsyn, uint32_t nbanner, uint32_t rounds)
{
	struct pcapw w;
	static uint8_t f[14 + 40 + 1448];
	uint32_t server = htonl(0xc0a80001u);

	pcap_open(&w, path, 65535);
	for (uint32_t i = 0; i < nsyn; i++) {
		uint32_t src = htonl(0x0b000000u + i); /* 11.0.0.0/8 */
		raw_frame(f, src, server, (uint16_t)(1024 + i % 60000), 22, i * 7919u, 0, TH_SYN,
		          0);
		pcap_put(&w, f, 54);
	}
	for (uint32_t r = 0; r <= rounds; r++) {
		for (uint32_t i = 0; i < nbanner; i++) {
			uint32_t src = htonl(0x0c000000u + i); /* 12.0.0.0/8 */
			uint32_t isn = 1000u + i, sisn = 5000000u + i;
			if (r == 0) {
				raw_frame(f, src, server, 40000, 22, isn, 0, TH_SYN, 0);
				pcap_put(&w, f, 54);
				raw_frame(f, server, src, 22, 40000, sisn, isn + 1, TH_SYN | TH_ACK,
				          0);
				pcap_put(&w, f, 54);
				raw_frame(f, src, server, 40000, 22, isn + 1, sisn + 1, TH_ACK, 0);
				pcap_put(&w, f, 54);
				continue;
			}
			raw_frame(f, src, server, 40000, 22, isn + 1 + (r - 1) * 1448u, sisn + 1,
			          TH_ACK, 1448);
			memset(f + 54, 'A' + (int)(r % 26), 1448);
			if (r == 1)
				memcpy(f + 54, "SSH-2.0-", 8);
			pcap_put(&w, f, 54 + 1448);
		}
	}
	pcap_close(&w);
}

/*
 * concurrent: NCONN connections opened one after the other and all kept
 * open: each sends its banners, then ROUNDS bare ACKs from the client,
 * round-robin, then all close with FIN. A table smaller than NCONN must
 * evict, and the evicted connections keep sending.
 */
static void concurrent(const char *path, uint32_t nconn, uint32_t rounds)
{
	struct pcapw w;
	static uint8_t f[14 + 40 + 64];
	uint32_t server = htonl(0xc0a80001u);
	static const char cb[] = "SSH-2.0-OpenSSH_9.6\r\n", sb[] = "SSH-2.0-OpenSSH_9.2\r\n";
	const uint32_t cbl = sizeof(cb) - 1, sbl = sizeof(sb) - 1;

	pcap_open(&w, path, 65535);
	for (uint32_t r = 0; r < rounds + 4; r++) {
		for (uint32_t i = 0; i < nconn; i++) {
			uint32_t src = htonl(0x0d000000u + i); /* 13.0.0.0/8 */
			uint16_t sp = (uint16_t)(30000 + i % 30000);
			uint32_t c = 1000u + i * 100000u, s = 7000000u + i * 100000u;

			if (r == 0) {
				raw_frame(f, src, server, sp, 22, c, 0, TH_SYN, 0);
				pcap_put(&w, f, 54);
				raw_frame(f, server, src, 22, sp, s, c + 1, TH_SYN | TH_ACK, 0);
				pcap_put(&w, f, 54);
				raw_frame(f, src, server, sp, 22, c + 1, s + 1, TH_ACK, 0);
				pcap_put(&w, f, 54);
			} else if (r == 1) {
				raw_frame(f, server, src, 22, sp, s + 1, c + 1, TH_ACK | TH_PUSH,
				          sbl);
				memcpy(f + 54, sb, sbl);
				pcap_put(&w, f, 54 + sbl);
			} else if (r == 2) {
				raw_frame(f, src, server, sp, 22, c + 1, s + 1 + sbl,
				          TH_ACK | TH_PUSH, cbl);
				memcpy(f + 54, cb, cbl);
				pcap_put(&w, f, 54 + cbl);
			} else if (r < rounds + 3) {
				raw_frame(f, src, server, sp, 22, c + 1 + cbl, s + 1 + sbl, TH_ACK,
				          0);
				pcap_put(&w, f, 54);
			} else {
				raw_frame(f, src, server, sp, 22, c + 1 + cbl, s + 1 + sbl,
				          TH_FIN | TH_ACK, 0);
				pcap_put(&w, f, 54);
				raw_frame(f, server, src, 22, sp, s + 1 + sbl, c + 2 + cbl,
				          TH_FIN | TH_ACK, 0);
				pcap_put(&w, f, 54);
				raw_frame(f, src, server, sp, 22, c + 2 + cbl, s + 2 + sbl, TH_ACK,
				          0);
				pcap_put(&w, f, 54);
			}
		}
	}
	pcap_close(&w);
}

/*
 * hostile: NCONN connections opened, then each client in turn sends its
 * banner and one legal KEXINIT whose kex, host key and both cipher
 * name-lists are LISTLEN bytes (names of 59 bytes), in 1448-byte segments;
 * no server answers and nothing closes, and frames are 10 us apart (no
 * timeout fires), so every connection is still open, holding what it
 * buffered, when the capture ends.
 */
static void hostile(const char *path, uint32_t nconn, uint32_t listlen)
{
	struct pcapw w;
	static uint8_t f[14 + 40 + 1448];
	static const char banner[] = "SSH-2.0-OpenSSH_9.6\r\n";
	uint32_t server = htonl(0xc0a80001u), plen, pad = 4, off, total, n;
	uint8_t *pkt, *q;

	/* RFC 4253 7.1 payload: msg, cookie, four long lists, four "none" (MACs,
	 * compression), two empty (languages), first_kex_packet_follows, reserved */
	uint32_t payload = 1 + 16 + 4 * (4 + listlen) + 4 * (4 + 4) + 2 * 4 + 1 + 4;
	while ((4 + 1 + payload + pad) % 8 != 0)
		pad++;
	plen = 1 + payload + pad;
	total = 4 + plen;
	if ((pkt = calloc(1, total)) == NULL)
		die("out of memory");
	q = pkt;
	*q++ = (uint8_t)(plen >> 24), *q++ = (uint8_t)(plen >> 16), *q++ = (uint8_t)(plen >> 8),
	*q++ = (uint8_t)plen;
	*q++ = (uint8_t)pad;
	*q++ = 20; /* SSH_MSG_KEXINIT */
	memset(q, 0x5a, 16);
	q += 16;
	for (int i = 0; i < 10; i++) {
		uint32_t len = i < 4 ? listlen : (i < 8 ? 4 : 0);
		*q++ = (uint8_t)(len >> 24), *q++ = (uint8_t)(len >> 16),
		*q++ = (uint8_t)(len >> 8), *q++ = (uint8_t)len;
		if (i < 4) {
			for (uint32_t k = 0; k < len;
			     k++) /* names "aaa...": 59 bytes and a comma */
				q[k] = (k % 60 == 59 && k + 1 < len) ? ',' : (uint8_t)('a' + i);
		} else if (i < 8) {
			memcpy(q, "none", 4);
		}
		q += len;
	}
	memset(q, 0, 5 + pad); /* first_kex_packet_follows 0, reserved 0, padding */
	pcap_open(&w, path, 65535);
	w.step_us = 10;
	for (uint32_t i = 0; i < nconn; i++) {
		uint32_t src = htonl(0x0e000000u + i); /* 14.0.0.0/8 */
		uint16_t sp = (uint16_t)(20000 + i % 40000);
		raw_frame(f, src, server, sp, 22, 1000u, 0, TH_SYN, 0);
		pcap_put(&w, f, 54);
		raw_frame(f, server, src, 22, sp, 5000u, 1001u, TH_SYN | TH_ACK, 0);
		pcap_put(&w, f, 54);
		raw_frame(f, src, server, sp, 22, 1001u, 5001u, TH_ACK, 0);
		pcap_put(&w, f, 54);
	}
	for (uint32_t i = 0; i < nconn; i++) {
		uint32_t src = htonl(0x0e000000u + i), seq = 1001u;
		uint16_t sp = (uint16_t)(20000 + i % 40000);
		raw_frame(f, src, server, sp, 22, seq, 5001u, TH_ACK | TH_PUSH, sizeof(banner) - 1);
		memcpy(f + 54, banner, sizeof(banner) - 1);
		pcap_put(&w, f, 54 + sizeof(banner) - 1);
		seq += sizeof(banner) - 1;
		for (off = 0; off < total; off += n) {
			n = total - off < 1448 ? total - off : 1448;
			raw_frame(f, src, server, sp, 22, seq + off, 5001u, TH_ACK, n);
			memcpy(f + 54, pkt + off, n);
			pcap_put(&w, f, 54 + n);
		}
	}
	free(pkt);
	pcap_close(&w);
}

/* ---- main ---------------------------------------------------------------- */

struct scenario {
	const char *name;
	void (*fn)(struct pcapw *w);
	uint32_t snaplen;
};

static void sc_namelist_100k(struct pcapw *w)
{
	sc_namelist_long(w, 100 * 1024);
}

static void sc_namelist_1mb(struct pcapw *w)
{
	sc_namelist_long(w, 1024 * 1024);
}

static const struct scenario scenarios[] = {
    {"ooo-overlap-conflict", sc_ooo_overlap, 0},
    {"one-byte-segments", sc_one_byte, 0},
    {"kexinit-split-every-offset", sc_kexinit_split, 0},
    {"ip-fragments", sc_ip_fragments, 0},
    {"tunnels", sc_tunnels, 0},
    {"packet-length-extremes", sc_packet_length, 0},
    {"namelist-10000-names", sc_namelist_10000, 0},
    {"namelist-100k", sc_namelist_100k, 0},
    {"namelist-1mb", sc_namelist_1mb, 0},
    {"banner-100k-no-newline", sc_banner_100k, 0},
    {"tcp-bad-options", sc_tcp_bad_options, 0},
    {"snaplen-100", sc_snaplen, 100},
    {"zero-length-frames", sc_zero_length, 0},
    {"tso-zero-length", sc_tso_zero_length, 0},
};

int main(int argc, char **argv)
{
	char err[LIBNET_ERRBUF_SIZE];
	struct pcapw w;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			printf("%s\n", scenarios[i].name);
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "flood") == 0) {
		flood(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
		      (uint32_t)strtoul(argv[4], NULL, 10), (uint32_t)strtoul(argv[5], NULL, 10));
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "hostile") == 0) {
		hostile(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
		        (uint32_t)strtoul(argv[4], NULL, 10));
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "concurrent") == 0) {
		concurrent(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
		           (uint32_t)strtoul(argv[4], NULL, 10));
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: kw-craft SCENARIO FILE | kw-craft list | "
		                "kw-craft flood FILE NSYN NBANNER ROUNDS | "
		                "kw-craft concurrent FILE NCONN ROUNDS | "
		                "kw-craft hostile FILE NCONN LISTLEN\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(argv[1], scenarios[i].name) != 0)
			continue;
		if ((ln = libnet_init(LIBNET_NONE, NULL, err)) == NULL)
			die("libnet_init: %s", err);
		pcap_open(&w, argv[2], scenarios[i].snaplen ? scenarios[i].snaplen : SNAP_DEFAULT);
		scenarios[i].fn(&w);
		pcap_close(&w);
		libnet_destroy(ln);
		return 0;
	}
	die("unknown scenario '%s' (kw-craft list)", argv[1]);
}
