/*
 * record.c: the JSON record of one connection (DESIGN.md section 2).
 *
 * Responsible for naming and shaping every field of the SIEM contract, and
 * for never writing wire bytes unescaped. Field names follow Suricata's EVE
 * ssh event where EVE has them. The record is written with the streaming
 * writer of jw.c; each side's HASSH and KEXINIT lists, most of a record's
 * bytes and the same for every connection of a given client or server
 * software, are serialised once and reused from a small cache. Not
 * responsible for deciding outcome or phase (judge.c) or the diagnoses
 * (diagnose.c, built with jansson and spliced in).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "text.h"
#include "jw.h"
#include "memo.h"
#include "policy.h"
#include "record.h"
#include "err.h"
#include "flowid.h"
#include "output.h"

static const char *const kexinit_names[KEX_NLISTS] = {
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
};

/* Identification line, RFC 4253 4.2: SSH-protoversion-softwareversion SP comments */
static void banner_fields(struct jw *w, const struct ssh_dir *d, int full)
{
	struct ssh_banner_fields f;

	jw_wire(w, "banner", d->banner, d->banner_len);
	if (ssh_banner_split(d->banner, d->banner_len, &f) != 0)
		return;
	jw_wire(w, "proto_version", f.proto, f.proto_len);
	if (f.software == NULL)
		return;
	jw_wire(w, "software_version", f.software, f.software_len);
	/* Compact: the comments stand in the banner already. */
	if (full && f.comments != NULL)
		jw_wire(w, "comments", f.comments, f.comments_len);
}

/*
 * A record never grows with the lengths an attacker sends: a name-list
 * (and the host-key offer string) is written up to RECORD_LIST_MAX bytes,
 * the HASSH string up to RECORD_HASSH_MAX, cut after the last whole name
 * that fits; the record then gives the true length beside it
 * (kexinit.truncated, hassh.string_len, host_key_algorithms_len). Real
 * offers are a few hundred bytes per list.
 */
#define RECORD_LIST_MAX 2048u
#define RECORD_HASSH_MAX (4u * RECORD_LIST_MAX)

/* cut_len: how many bytes of s (len) to write within max, ending before a separator. */
static size_t cut_len(const char *s, size_t len, size_t max)
{
	size_t n = max;

	if (len <= max)
		return len;
	while (n > 0 && s[n] != ',' && s[n] != ';')
		n--;
	return n;
}

static void namelist_array(struct jw *w, const char *key, const char *list, size_t len)
{
	const char *p = list, *end = list + cut_len(list, len, RECORD_LIST_MAX);

	jw_arr_open(w, key);
	while (p != NULL && p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);

		jw_wire(w, NULL, (const uint8_t *)p, n);
		p = comma ? comma + 1 : NULL;
	}
	jw_arr_close(w);
}

/*
 * The memo key of a side (side_parts): a header that fixes every length,
 * then the banner and the ten name-lists where they lie, as memo parts (no
 * copy). The HASSH string itself follows from the lists and the side's
 * role, which its hash already tells apart.
 */
struct side_header {
	uint32_t list_len[KEX_NLISTS];
	uint32_t banner_len;
	char hassh[33];
	uint8_t what, has_hassh_str, first_kex_follows, has_banner;
	uint8_t span; /* the lists as one part (lists_span) */
};

#define SIDE_PARTS (2 + KEX_NLISTS)

/*
 * lists_span: whether k's lists lie as kex_init_parse_in leaves them, in
 * one copy of the wire bytes with each list's NUL over the next one's
 * length (RFC 4253 7.1: a uint32 length before each name-list), so that
 * list[0] to the end of list[9] is one block whose bytes the lengths and
 * the lists fix. A hand-built kex_init is keyed list by list instead.
 */
static int lists_span(const struct kex_init *k)
{
	if (!k->in_flowmem)
		return 0;
	for (int i = 1; i < KEX_NLISTS; i++)
		if (k->list[i] != k->list[i - 1] + k->list_len[i - 1] + 4)
			return 0;
	return 1;
}

static int side_parts(const struct ssh_dir *d, unsigned what, struct side_header *h,
                      struct memo_part *pt)
{
	const struct kex_init *k = d->kexinit;
	int np = 0;

	memset(h, 0, sizeof(*h)); /* the padding is part of the key */
	memcpy(h->list_len, k->list_len, sizeof(h->list_len));
	h->banner_len = d->banner != NULL ? d->banner_len : 0;
	memcpy(h->hassh, d->hassh, sizeof(h->hassh));
	h->what = (uint8_t)what;
	h->has_hassh_str = d->hassh_str != NULL;
	h->first_kex_follows = k->first_kex_follows;
	h->has_banner = d->banner != NULL;
	h->span = (uint8_t)lists_span(k);
	pt[np++] = (struct memo_part){h, sizeof(*h)};
	pt[np++] = (struct memo_part){d->banner, h->banner_len};
	if (h->span) {
		const char *end = k->list[KEX_NLISTS - 1] + k->list_len[KEX_NLISTS - 1];
		pt[np++] = (struct memo_part){k->list[0], (size_t)(end - k->list[0])};
		return np;
	}
	for (int i = 0; i < KEX_NLISTS; i++)
		pt[np++] = (struct memo_part){k->list[i], k->list_len[i]};
	return np;
}

/* What a side's KEXINIT members hold (side_kex's what). */
#define SIDE_KEXINIT 1u      /* the ten name-lists as arrays */
#define SIDE_HOSTKEY_ALGS 2u /* the host-key algorithm offer, one string */
#define SIDE_FULL 4u         /* the full profile's other members (comments) */

static void side_kex_members(struct jw *w, const struct ssh_dir *d, unsigned what)
{
	if (d->hassh[0] != '\0') {
		jw_obj_open(w, "hassh");
		jw_str(w, "hash", d->hassh);
		if (d->hassh_str != NULL) {
			size_t len = strlen(d->hassh_str);
			jw_wire(w, "string", (const uint8_t *)d->hassh_str,
			        cut_len(d->hassh_str, len, RECORD_HASSH_MAX));
			if (len > RECORD_HASSH_MAX)
				jw_int(w, "string_len", (int64_t)len);
		}
		jw_obj_close(w);
	}
	/* HASSHServer leaves out the host-key algorithms: the compact record
	 * keeps the server's offer as the one string it came in. */
	if (what & SIDE_HOSTKEY_ALGS) {
		const struct kex_init *k = d->kexinit;
		jw_wire(w, "host_key_algorithms", (const uint8_t *)k->list[KEX_HOSTKEY],
		        cut_len(k->list[KEX_HOSTKEY], k->list_len[KEX_HOSTKEY], RECORD_LIST_MAX));
		if (k->list_len[KEX_HOSTKEY] > RECORD_LIST_MAX)
			jw_int(w, "host_key_algorithms_len", k->list_len[KEX_HOSTKEY]);
	}
	if (what & SIDE_KEXINIT) {
		int cut = 0;

		jw_obj_open(w, "kexinit");
		for (int i = 0; i < KEX_NLISTS; i++) {
			namelist_array(w, kexinit_names[i], d->kexinit->list[i],
			               d->kexinit->list_len[i]);
			cut |= d->kexinit->list_len[i] > RECORD_LIST_MAX;
		}
		jw_bool(w, "first_kex_packet_follows", d->kexinit->first_kex_follows);
		if (cut) { /* the marker: each cut list's true length in bytes */
			jw_obj_open(w, "truncated");
			for (int i = 0; i < KEX_NLISTS; i++)
				if (d->kexinit->list_len[i] > RECORD_LIST_MAX)
					jw_int(w, kexinit_names[i], d->kexinit->list_len[i]);
			jw_obj_close(w);
		}
		jw_obj_close(w);
	}
}

/* side_members: what a side object holds but its pre-banner lines. */
static void side_members(struct jw *w, const struct ssh_dir *d, unsigned what)
{
	if (d->banner != NULL)
		banner_fields(w, d, what & SIDE_FULL);
	if (d->kexinit != NULL)
		side_kex_members(w, d, what);
}

/*
 * side_recall writes a side's members from the memo of recent sides
 * (memo.h) when it can: they are most of a record, and the same for every
 * connection of one software version. Sides with pre-banner lines, which
 * come between the banner and the rest, and sides without a KEXINIT are
 * written afresh.
 */
static void side_recall(struct record_writer *rw, const struct ssh_dir *d, unsigned what)
{
	struct memo_part pt[SIDE_PARTS];
	struct side_header h;
	const char *kept;
	struct jw frag;
	size_t len;
	int np;

	if (rw->sides == NULL)
		rw->sides = memo_new(RECORD_CACHE_SETS, RECORD_CACHE_WAYS, RECORD_CACHE_KEY_MAX);
	if (rw->sides == NULL) {
		side_members(&rw->out, d, what);
		return;
	}
	np = side_parts(d, what, &h, pt);
	len = 0;
	for (int i = 0; i < np; i++)
		len += pt[i].n;
	if (len > RECORD_CACHE_KEY_MAX) { /* the memo would not keep it: no copy to offer */
		side_members(&rw->out, d, what);
		return;
	}
	if ((kept = memo_getv(rw->sides, pt, np, &len)) != NULL) {
		jw_raw(&rw->out, NULL, kept, len);
		return;
	}
	/* Serialise the members alone ('{' ... '}') and keep the inside. */
	jw_init(&frag);
	jw_obj_open(&frag, NULL);
	side_members(&frag, d, what);
	jw_obj_close(&frag);
	if (!frag.err && frag.len > 2) {
		memo_putv(rw->sides, pt, np, frag.buf + 1, frag.len - 2);
		jw_raw(&rw->out, NULL, frag.buf + 1, frag.len - 2);
	} else {
		side_members(&rw->out, d, what);
	}
	jw_free(&frag);
}

/*
 * side_object writes ssh.client or ssh.server (an object only when there is
 * something to say); what: SIDE_KEXINIT and SIDE_HOSTKEY_ALGS, as the
 * profile asks.
 */
static void side_object(struct record_writer *rw, const char *key, const struct ssh_dir *d,
                        unsigned what)
{
	struct jw *w = &rw->out;
	struct jw_mark m = jw_obj_open_opt(w, key);

	if (d->pre_lines == 0 && d->kexinit != NULL) {
		side_recall(rw, d, what);
	} else {
		if (d->banner != NULL)
			banner_fields(w, d, what & SIDE_FULL);
		if (d->pre_lines > 0) {
			const uint8_t *p = d->pre, *end = d->pre + d->pre_len;

			jw_arr_open(w, "pre_banner_lines");
			while (p < end) {
				const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
				size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

				jw_wire(w, NULL, p, n);
				p += n + 1;
			}
			jw_arr_close(w);
		}
		if (d->kexinit != NULL)
			side_kex_members(w, d, what);
	}
	jw_obj_close_opt(w, m, 0);
}

/*
 * neg_is_key_type: compact leaves out the negotiated host-key algorithm
 * when it is the type of the key the server sent (ssh.host_key.type, which
 * the record writes before it; absent reads that type). RFC 4253 6.6
 * names a key format by its algorithm, so the two agree except under RSA's
 * SHA-2 signatures (RFC 8332: rsa-sha2-512 with an ssh-rsa key), which
 * compact keeps. Without a key seen, the algorithm is always written.
 */
static int neg_is_key_type(const struct ssh_conn *s, int cat)
{
	return cat == KEX_CAT_HOSTKEY && s->hostkey.present &&
	       strcmp(s->neg.alg[cat], s->hostkey.key.type) == 0;
}

static void negotiated_object(struct jw *w, const struct flow *f, const struct verdict *v, int full)
{
	const struct kex_negotiated *n = &f->ssh.neg;
	struct jw_mark m;

	jw_obj_open(w, "negotiated");
	/* Compact: a server-to-client algorithm equal to its client-to-server
	 * one is left out (absent reads "the same as c2s": the directions are
	 * negotiated apart, RFC 4253 7.1, but agree on nearly every connection). */
	for (int i = 0; i < KEX_NCATS; i++)
		if (n->alg[i][0] != '\0' &&
		    (full || (!kex_neg_is_repeat(n, i) && !neg_is_key_type(&f->ssh, i))))
			jw_str(w, kex_cat_name(i), n->alg[i]);
	if (n->failed_cat >= 0)
		jw_ascii(w, "no_match", kex_cat_name(n->failed_cat));
	jw_bool(w, "strict_kex", n->strict_kex);
	/* Compact: only the sides that sent ext-info markers (absent reads false). */
	m = jw_obj_open_opt(w, "ext_info");
	if (full || n->ext_info_c)
		jw_bool(w, "client", n->ext_info_c);
	if (full || n->ext_info_s)
		jw_bool(w, "server", n->ext_info_s);
	jw_obj_close_opt(w, m, 0);
	/* Compact: only an unfinished negotiation says so (established says the rest). */
	if (full || !v->established)
		jw_bool(w, "complete", v->established);
	jw_obj_close(w);
}

/*
 * hostkey_fixed_bits: the size a key type fixes (RFC 8709 ed25519 and
 * ed448, RFC 5656 10.1 NIST curves), which compact leaves out of
 * ssh.host_key.bits (absent reads it); 0 for a type whose size varies.
 */
static uint32_t hostkey_fixed_bits(const char *type)
{
	static const struct {
		const char *type;
		uint32_t bits;
	} fixed[] = {
	    {"ssh-ed25519", 256},         {"ssh-ed448", 456},
	    {"ecdsa-sha2-nistp256", 256}, {"ecdsa-sha2-nistp384", 384},
	    {"ecdsa-sha2-nistp521", 521},
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(type, fixed[i].type) == 0)
			return fixed[i].bits;
	return 0;
}

/* ssh.auth and ssh.session (auth.c): once both sides sent NEWKEYS. */
static void auth_fields(struct jw *w, const struct flow *f, const struct verdict *j, int full)
{
	const struct auth_inference *a = &j->auth;
	struct auth_session ss;
	uint32_t caveats = a->caveats;

	/* The verdict read the sizes once both sides sent NEWKEYS, as here. */
	if (!j->auth_known || !auth_session(f, j->client_dir, &ss))
		return;
	/* Compact: the segments caveat says what method says already. */
	if (!full && a->method == AUTH_METHOD_SEGMENTS)
		caveats &= ~AUTH_CAV_SEGMENTS;
	jw_obj_open(w, "auth");
	jw_ascii(w, "result", auth_result_name(a->result));
	jw_int(w, "failures", a->failures);
	jw_ascii(w, "method", auth_method_name(a->method));
	jw_ascii(w, "confidence", auth_confidence_name(a->confidence));
	if (caveats != 0) {
		jw_arr_open(w, "caveats");
		for (uint32_t bit = 1; bit != 0; bit <<= 1)
			if ((caveats & bit) && auth_caveat_name(bit) != NULL)
				jw_ascii(w, NULL, auth_caveat_name(bit));
		jw_arr_close(w);
	}
	jw_obj_close(w);
	jw_obj_open(w, "session");
	jw_ms(w, "duration_ms", 0, ss.duration_us);
	jw_int(w, "packets_c2s", ss.packets_c2s);
	jw_int(w, "packets_s2c", ss.packets_s2c);
	jw_int(w, "bytes_c2s", (int64_t)ss.bytes_c2s);
	jw_int(w, "bytes_s2c", (int64_t)ss.bytes_s2c);
	if (ss.framed) {
		jw_int(w, "ssh_packets_c2s", ss.ssh_packets_c2s);
		jw_int(w, "ssh_packets_s2c", ss.ssh_packets_s2c);
	}
	jw_ascii(w, "kind", ss.kind);
	if (full || ss.open)
		jw_bool(w, "open", ss.open);
	jw_obj_close(w);
}

/* count: a counter; compact leaves out the zeros (absent reads 0). */
static void count(struct jw *w, const char *key, int64_t v, int full)
{
	if (full || v != 0)
		jw_int(w, key, v);
}

static void tcp_object(struct jw *w, const struct flow *f, int c, int full)
{
	const struct tcp_dir *cd = &f->dir[c], *sd = &f->dir[!c];
	struct jw_mark m;

	jw_obj_open(w, "tcp");
	if (f->t_syn != 0 && f->t_ack != 0)
		jw_ms(w, "rtt_ms", f->t_syn, f->t_ack);
	if (cd->mss)
		jw_int(w, "mss_client", cd->mss);
	if (sd->mss)
		jw_int(w, "mss_server", sd->mss);
	count(w, "retransmits_c2s", cd->retransmits, full);
	count(w, "retransmits_s2c", sd->retransmits, full);
	jw_int(w, "max_segment_c2s", cd->max_segment);
	jw_int(w, "max_segment_s2c", sd->max_segment);
	count(w, "out_of_order", (int64_t)cd->out_of_order + sd->out_of_order, full);
	count(w, "overlaps", (int64_t)cd->overlaps + sd->overlaps, full);
	count(w, "gaps", (int64_t)cd->gaps + sd->gaps, full);
	count(w, "ip_fragments", f->ip_fragments, full);
	m = jw_obj_open_opt(w, "df");
	if (cd->packets)
		jw_bool(w, "c2s", cd->df_clear == 0);
	if (sd->packets)
		jw_bool(w, "s2c", sd->df_clear == 0);
	jw_obj_close_opt(w, m, 0);
	jw_int(w, "packets_c2s", cd->packets);
	jw_int(w, "packets_s2c", sd->packets);
	jw_int(w, "bytes_c2s", (int64_t)cd->bytes);
	jw_int(w, "bytes_s2c", (int64_t)sd->bytes);
	if (f->nicmp > 0) {
		jw_arr_open(w, "icmp");
		for (uint32_t i = 0; i < f->nicmp && i < FLOW_MAX_ICMP; i++) {
			jw_obj_open(w, NULL);
			jw_ascii(w, "family", f->icmp[i].v6 ? "icmpv6" : "icmp");
			jw_int(w, "type", f->icmp[i].type);
			jw_int(w, "code", f->icmp[i].code);
			if (f->icmp[i].mtu)
				jw_int(w, "mtu", f->icmp[i].mtu);
			jw_obj_close(w);
		}
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

static void timing_set(struct jw *w, const char *key, uint64_t t0, uint64_t t)
{
	if (t != 0 && t >= t0)
		jw_ms(w, key, t0, t);
}

struct anomaly_name {
	uint32_t bit;
	const char *name;
};

static const struct anomaly_name ssh_anomaly_names[] = {
    {SSH_ANOM_BANNER_NUL, "banner_nul"},
    {SSH_ANOM_BANNER_LONG, "banner_too_long"},
    {SSH_ANOM_BANNER_NO_CR, "banner_lf_only"},
    {SSH_ANOM_BANNER_INVALID, "banner_invalid"},
    {SSH_ANOM_PREBANNER_MANY, "too_many_pre_banner_lines"},
    {SSH_ANOM_PACKET_LENGTH, "packet_length"},
    {SSH_ANOM_PADDING, "padding_length"},
    {SSH_ANOM_KEXINIT, "kexinit_malformed"},
    {SSH_ANOM_KEXINIT_LIMIT, "namelist_too_long"},
    {SSH_ANOM_KEX_MSG, "kex_message_malformed"},
    {SSH_ANOM_UNEXPECTED_MSG, "unexpected_message"},
    {SSH_ANOM_GAP, "stream_gap"},
    {SSH_ANOM_BUFFER, "record_too_large"},
    {SSH_ANOM_KEXINIT_REPEAT, "kexinit_repeated"},
    {SSH_ANOM_BANNER_CHARS, "banner_nonprintable"},
    {SSH_ANOM_NOMEM, "out_of_memory"},
    {SSH_ANOM_MSG_MALFORMED, "message_malformed"},
    {SSH_ANOM_ENC_LENGTH, "encrypted_packet_length"},
    {SSH_ANOM_PACKET_LIMIT, "packet_over_limit"},
    {SSH_ANOM_MEMCAP, "memcap_reached"},
};

static const struct anomaly_name flow_anomaly_names[] = {
    {FLOW_ANOM_MIDSTREAM, "tcp.midstream"},
    {FLOW_ANOM_ONE_SIDED, "tcp.one_direction"},
    {FLOW_ANOM_OOO_LIMIT, "tcp.out_of_order_limit"},
    {FLOW_ANOM_SEQ_JUMP, "tcp.sequence_jump"},
    {FLOW_ANOM_EVICTED, "flow.evicted"},
    {FLOW_ANOM_SNAPPED, "capture.snaplen"},
    {FLOW_ANOM_DATA_BEFORE_HS, "tcp.data_in_syn"},
    {FLOW_ANOM_OVERLAP_CONFLICT, "tcp.overlap_conflict"},
};

static const struct anomaly_name decode_anomaly_names[] = {
    {DEC_ANOM_TRUNCATED, "ip.truncated"},    {DEC_ANOM_TCP_OPTIONS, "tcp.bad_option"},
    {DEC_ANOM_IP_HEADER, "ip.bad_header"},   {DEC_ANOM_FRAG_OVERLAP, "ip.fragment_overlap"},
    {DEC_ANOM_TCP_HEADER, "tcp.bad_header"},
};

static void add_anomalies(struct jw *w, uint32_t bits, const struct anomaly_name *names, size_t n,
                          const char *prefix)
{
	char buf[96];

	/* Most connections have no anomaly of a kind: nothing to look up. */
	for (size_t i = 0; bits != 0 && i < n; i++) {
		if (!(bits & names[i].bit))
			continue;
		snprintf(buf, sizeof(buf), "%s%s", prefix, names[i].name);
		jw_ascii(w, NULL, buf);
	}
}

static void anomalies_array(struct jw *w, const struct flow *f, int c, int full)
{
	const size_t nssh = sizeof(ssh_anomaly_names) / sizeof(ssh_anomaly_names[0]);
	uint32_t kex_c = f->ssh.dir[c].kexinit ? f->ssh.dir[c].kexinit->anomalies : 0;
	uint32_t kex_s = f->ssh.dir[!c].kexinit ? f->ssh.dir[!c].kexinit->anomalies : 0;

	struct jw_mark m = jw_arr_open_opt(w, "anomalies");

	add_anomalies(w, f->ssh.dir[c].anomalies, ssh_anomaly_names, nssh, "client.");
	add_anomalies(w, f->ssh.dir[!c].anomalies, ssh_anomaly_names, nssh, "server.");
	if (kex_c | kex_s)
		jw_ascii(w, NULL, kex_c ? "client.kexinit_irregular" : "server.kexinit_irregular");
	add_anomalies(w, f->anomalies, flow_anomaly_names,
	              sizeof(flow_anomaly_names) / sizeof(flow_anomaly_names[0]), "");
	add_anomalies(w, f->decode_anomalies, decode_anomaly_names,
	              sizeof(decode_anomaly_names) / sizeof(decode_anomaly_names[0]), "");
	jw_arr_close_opt(w, m, full);
}

/* One piece of evidence, typed as the verdict gives it. */
static void evidence_value(struct jw *w, const struct diag_evidence *e)
{
	switch (e->type) {
	case EV_INT:
		jw_int(w, e->key, e->v.i);
		break;
	case EV_BOOL:
		jw_bool(w, e->key, (int)e->v.i);
		break;
	case EV_TEXT:
		jw_str(w, e->key, e->v.s);
		break;
	case EV_MS:
		/* a time before its start reads 0 */
		jw_real(w, e->key,
		        e->v.ms.to >= e->v.ms.from ? (double)(e->v.ms.to - e->v.ms.from) / 1000.0
		                                   : 0.0);
		break;
	case EV_NAMES: {
		size_t len = strlen(e->v.s);
		char key[96];

		namelist_array(w, e->key, e->v.s, len);
		if (len > RECORD_LIST_MAX) { /* cut: say the true length beside it */
			snprintf(key, sizeof(key), "%s_len", e->key);
			jw_int(w, key, (int64_t)len);
		}
		break;
	}
	case EV_TEXTS:
		jw_arr_open(w, e->key);
		for (uint32_t i = 0; i < e->v.list.n; i++)
			jw_str(w, NULL, e->v.list.v[i]);
		jw_arr_close(w);
		break;
	}
}

/* ssh.diagnoses[]; full adds the summary and the hint (compact: see --explain). */
static void diagnosis_object(struct jw *w, const struct diagnosis *d, int full)
{
	jw_obj_open(w, NULL);
	jw_ascii(w, "code", diag_rule(d->code)->code);
	jw_ascii(w, "severity", verdict_severity_name(d->severity));
	if (full && d->summary != NULL)
		jw_str(w, "summary", d->summary);
	jw_obj_open(w, "evidence");
	for (uint8_t i = 0; i < d->nev; i++)
		evidence_value(w, &d->ev[i]);
	jw_obj_close(w);
	if (full)
		jw_str(w, "hint", diagnosis_hint(d));
	if (d->symptom != NULL)
		jw_str(w, "client_symptom", d->symptom);
	jw_obj_close(w);
}

/* Both sides' name-lists and banners (the side memo's key), a cache line at a time. */
void record_prefetch(const struct flow *f)
{
	for (int i = 0; i < 2; i++) {
		const struct ssh_dir *d = &f->ssh.dir[i];
		const struct kex_init *k = d->kexinit;
		const char *p;
		size_t n;

		if (k == NULL)
			continue;
		if ((n = kex_init_block(k, KEX_NLISTS, &p)) > 0 && n < RECORD_CACHE_KEY_MAX) {
			/* The lists in one block: one sweep. */
			for (const char *end = p + n; p < end; p += 64)
				__builtin_prefetch(p);
		} else {
			for (int l = 0; l < KEX_NLISTS; l++)
				for (uint32_t at = 0; at < k->list_len[l]; at += 64)
					__builtin_prefetch(k->list[l] + at);
		}
		if (d->banner != NULL)
			__builtin_prefetch(d->banner);
	}
}

void record_writer_init(struct record_writer *rw)
{
	memset(rw, 0, sizeof(*rw));
	jw_init(&rw->out);
}

void record_writer_free(struct record_writer *rw)
{
	memo_free(rw->sides);
	jw_free(&rw->out);
}

/* tunnel: the tunnel the connection came out of, its endpoints and id, its frame's tags. */
static void tunnel_object(struct jw *w, const struct pkt_tunnel *t)
{
	char addr[64];

	jw_obj_open(w, "tunnel");
	jw_str(w, "type", pkt_tunnel_name(t->type));
	text_addr(addr, sizeof(addr), t->family, t->src);
	jw_str(w, "src_ip", addr);
	text_addr(addr, sizeof(addr), t->family, t->dst);
	jw_str(w, "dest_ip", addr);
	if (t->has_id && (t->type == TUNNEL_VXLAN || t->type == TUNNEL_GENEVE))
		jw_int(w, "vni", t->id);
	else if (t->has_id)
		jw_int(w, "key", t->id);
	if (t->nvlan > 0) {
		jw_arr_open(w, "vlan");
		for (int i = 0; i < t->nvlan; i++)
			jw_int(w, NULL, t->vlan[i]);
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

/* has_policy_verdict: a diagnosis that the policy table (policy.c) decided. */
static int has_policy_verdict(const struct verdict *v)
{
	for (uint32_t i = 0; i < v->ndiag; i++)
		if (v->diag[i].code == DIAG_WEAK_ALGORITHM || v->diag[i].code == DIAG_NON_PQ_KEX ||
		    v->diag[i].code == DIAG_TERRAPIN_EXPOSED)
			return 1;
	return 0;
}

int record_build(struct record_writer *rw, const struct flow *f, const struct report_config *cfg,
                 const struct verdict *j)
{
	const struct ssh_conn *s = &f->ssh;
	int src = flow_src_dir(f), c = j->client_dir;
	int full = cfg->record.profile == RECORD_FULL;
	/* Compact: the name-lists only as evidence of a failed negotiation. */
	int lists = full || (s->negotiated_ok && s->neg.failed_cat >= 0);
	struct jw *w = &rw->out;
	char addr[64], cid[COMMUNITY_ID_SIZE];
	uint64_t t0 = j->t0;
	struct jw_mark m;

	jw_reset(w);
	jw_obj_open(w, NULL);
	jw_asciin(w, "timestamp", rw->ts.buf, text_time_again(&rw->ts, f->t_first));
	/* The merger computed it for its order (the same sensor): once is enough. */
	jw_int(w, "flow_id",
	       (int64_t)(f->stable_id != 0
	                     ? f->stable_id
	                     : flow_id_stable(cfg->record.sensor, f->t_first, &f->key, 6)));
	if (cfg->ifaces != NULL)
		jw_str(w, "in_iface", cfg->ifaces[f->iface_index]);
	jw_ascii(w, "event_type", "ssh");
	text_addr(addr, sizeof(addr), f->key.family, src == 0 ? f->key.src : f->key.dst);
	jw_ascii(w, "src_ip", addr);
	jw_int(w, "src_port", src == 0 ? f->key.sport : f->key.dport);
	text_addr(addr, sizeof(addr), f->key.family, src == 0 ? f->key.dst : f->key.src);
	jw_ascii(w, "dest_ip", addr);
	jw_int(w, "dest_port", src == 0 ? f->key.dport : f->key.sport);
	jw_ascii(w, "proto", "TCP");
	if (community_id_v1(&f->key, 6, cfg->record.community_seed, cid) == 0)
		jw_ascii(w, "community_id", cid);
	if (cfg->record.sensor != NULL && cfg->record.sensor[0] != '\0')
		jw_str(w, "host", cfg->record.sensor);
	if (f->nvlan > 0) {
		jw_arr_open(w, "vlan");
		for (int i = 0; i < f->nvlan; i++)
			jw_int(w, NULL, f->vlan[i]);
		jw_arr_close(w);
	}
	if (f->tunnel.type != TUNNEL_NONE)
		tunnel_object(w, &f->tunnel);
	if (cfg->filenames != NULL && f->file_index < cfg->nfiles)
		jw_str(w, "pcap_filename", cfg->filenames[f->file_index]);

	jw_obj_open(w, "ssh");
	side_object(rw, "client", &s->dir[c], (lists ? SIDE_KEXINIT : 0) | (full ? SIDE_FULL : 0));
	side_object(rw, "server", &s->dir[!c],
	            (lists ? SIDE_KEXINIT : SIDE_HOSTKEY_ALGS) | (full ? SIDE_FULL : 0));
	if (full || c != src)
		jw_bool(w, "roles_reversed", c != src);
	{
		/* Without a SYN, what told the initiator, which is then the client. */
		static const char *const src_from[] = {
		    [FLOW_SRC_SYN] = "tcp",
		    [FLOW_SRC_SSH_MESSAGES] = "tcp",
		    [FLOW_SRC_SERVER_BANNER] = "server_banner",
		    [FLOW_SRC_PORTS] = "ports",
		    [FLOW_SRC_FIRST_PACKET] = "first_packet",
		};
		/* Compact: the strongest evidence, the normal case, goes without
		 * saying (absent reads "kex_messages"). */
		if (s->role_source == SSH_ROLE_KEX_MESSAGES) {
			if (full)
				jw_str(w, "roles_from", "kex_messages");
		} else {
			jw_str(w, "roles_from",
			       s->role_source == SSH_ROLE_KEXINIT
			           ? "kexinit"
			           : src_from[flow_src_from(f, NULL)]);
		}
	}
	if (!f->initiator_known)
		jw_bool(w, "initiator_inferred", 1);
	if (s->hostkey.present) {
		jw_obj_open(w, "host_key");
		jw_str(w, "type", s->hostkey.key.type);
		jw_ascii(w, "fingerprint", s->hostkey.key.fingerprint);
		if (s->hostkey.key.cert_fingerprint[0] != '\0')
			jw_ascii(w, "certificate_fingerprint", s->hostkey.key.cert_fingerprint);
		if (s->hostkey.key.bits &&
		    (full || s->hostkey.key.bits != hostkey_fixed_bits(s->hostkey.key.type)))
			jw_int(w, "bits", s->hostkey.key.bits);
		jw_obj_close(w);
	}
	if (s->negotiated_ok)
		negotiated_object(w, f, j, full);
	if (s->gex.present) {
		jw_obj_open(w, "dh_gex");
		if (s->gex.min)
			jw_int(w, "min", s->gex.min);
		jw_int(w, "n", s->gex.n);
		if (s->gex.max)
			jw_int(w, "max", s->gex.max);
		if (s->gex.p_bits)
			jw_int(w, "p_bits", s->gex.p_bits);
		jw_obj_close(w);
	}
	jw_ascii(w, "outcome", verdict_outcome_name(j->outcome));
	jw_ascii(w, "phase", verdict_phase_name(j->phase));
	if (verdict_close_kind_name(f->close_kind) != NULL) {
		const char *who = "none";
		if (f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST)
			who = f->close_dir == c ? "client" : "server";
		jw_obj_open(w, "close");
		jw_ascii(w, "initiator", who);
		jw_ascii(w, "kind", verdict_close_kind_name(f->close_kind));
		/* Compact: only a close phase behind ssh.phase (packets that came
		 * after the FIN or RST took the handshake further); absent reads
		 * ssh.phase. */
		if (full || j->close_phase != j->phase)
			jw_ascii(w, "phase", verdict_phase_name(j->close_phase));
		jw_ms(w, "after_ms", t0, j->t_close);
		jw_obj_close(w);
	}
	m = jw_obj_open_opt(w, "timing");
	timing_set(w, "server_banner", t0, s->dir[!c].t_banner);
	timing_set(w, "client_banner", t0, s->dir[c].t_banner);
	timing_set(w, "client_kexinit", t0, s->dir[c].t_kexinit);
	timing_set(w, "server_kexinit", t0, s->dir[!c].t_kexinit);
	timing_set(w, "kex_reply", t0, s->dir[!c].t_kexmsg);
	if (s->dir[0].t_newkeys && s->dir[1].t_newkeys)
		timing_set(w, "newkeys", t0,
		           s->dir[0].t_newkeys > s->dir[1].t_newkeys ? s->dir[0].t_newkeys
		                                                     : s->dir[1].t_newkeys);
	jw_obj_close_opt(w, m, 0);
	tcp_object(w, f, c, full);
	auth_fields(w, f, j, full);
	if (s->dir[0].disconnect_seen || s->dir[1].disconnect_seen) {
		int d = s->dir[!c].disconnect_seen ? !c : c;
		jw_obj_open(w, "disconnect");
		jw_ascii(w, "from", d == c ? "client" : "server");
		jw_int(w, "reason", s->dir[d].disconnect_reason);
		jw_wire(w, "description", s->dir[d].disconnect_desc, s->dir[d].disconnect_desc_len);
		jw_obj_close(w);
	}
	/* Compact leaves out what is empty and the diagnoses' long texts. */
	m = jw_arr_open_opt(w, "diagnoses");
	for (uint32_t i = 0; i < j->ndiag; i++)
		diagnosis_object(w, &j->diag[i], full);
	jw_arr_close_opt(w, m, full);
	/* The policy table's version qualifies its verdicts: compact names it
	 * where one of them is in the record. */
	if (full || has_policy_verdict(j))
		jw_ascii(w, "policy_version", POLICY_VERSION);
	anomalies_array(w, f, c, full);
	jw_obj_close(w); /* ssh */
	jw_obj_close(w);
	w->count[0] = 0; /* the newline ends the record: no separator */
	jw_raw(w, NULL, "\n", 1);
	return w->err ? KW_ERR_NOMEM : KW_OK;
}
