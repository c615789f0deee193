/*
 * record.c: the JSON record of one connection (DESIGN.md section 2).
 *
 * Responsible for naming and shaping every field of the SIEM contract, and
 * for never handing wire bytes to jansson unescaped (json_string rejects
 * invalid UTF-8). Field names follow Suricata's EVE ssh event where EVE has
 * them. Not responsible for deciding outcome or phase (judge.c).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "diagnose.h"
#include "policy.h"
#include "record.h"
#include "report.h"

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

char *report_escape(const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char *s = malloc(n * 4 + 1), *o = s;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\') {
			*o++ = (char)p[i];
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hex[p[i] >> 4];
			*o++ = hex[p[i] & 15];
		}
	}
	*o = '\0';
	return s;
}

/* set_escaped adds key: escaped wire bytes (nothing on allocation failure). */
static void set_escaped(json_t *obj, const char *key, const uint8_t *p, size_t n)
{
	char *s = report_escape(p, n);

	if (s != NULL)
		json_object_set_new(obj, key, json_string(s));
	free(s);
}

void record_addr(char *buf, size_t size, int family, const uint8_t *addr)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)size) == NULL)
		snprintf(buf, size, "?");
}

void record_time(char *buf, size_t size, uint64_t us)
{
	time_t sec = (time_t)(us / 1000000u);
	struct tm tm;
	char base[32];

	gmtime_r(&sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%06u+0000", base, (unsigned)(us % 1000000u));
}

/* ms between two capture times, as a number with microsecond precision. */
static json_t *json_ms(uint64_t from, uint64_t to)
{
	return json_real(((double)(int64_t)(to - from)) / 1000.0);
}

static json_t *namelist_array(const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *s = report_escape((const uint8_t *)p, n);

		if (s != NULL)
			json_array_append_new(a, json_string(s));
		free(s);
		p = comma ? comma + 1 : NULL;
	}
	return a;
}

/* Identification line, RFC 4253 4.2: SSH-protoversion-softwareversion SP comments */
static void banner_fields(json_t *side, const struct ssh_dir *d)
{
	const uint8_t *b = d->banner, *end = d->banner + d->banner_len, *dash, *sp;

	set_escaped(side, "banner", d->banner, d->banner_len);
	if (d->banner_len < 4 || memcmp(b, "SSH-", 4) != 0)
		return;
	b += 4;
	dash = memchr(b, '-', (size_t)(end - b));
	if (dash == NULL) {
		set_escaped(side, "proto_version", b, (size_t)(end - b));
		return;
	}
	set_escaped(side, "proto_version", b, (size_t)(dash - b));
	b = dash + 1;
	sp = memchr(b, ' ', (size_t)(end - b));
	set_escaped(side, "software_version", b, (size_t)((sp ? sp : end) - b));
	if (sp != NULL && sp + 1 < end)
		set_escaped(side, "comments", sp + 1, (size_t)(end - sp - 1));
}

static json_t *side_object(const struct ssh_dir *d)
{
	json_t *side = json_object();

	if (d->banner != NULL)
		banner_fields(side, d);
	if (d->pre_lines > 0) {
		json_t *lines = json_array();
		const uint8_t *p = d->pre, *end = d->pre + d->pre_len;
		while (p < end) {
			const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			char *s = report_escape(p, n);
			if (s != NULL)
				json_array_append_new(lines, json_string(s));
			free(s);
			p += n + 1;
		}
		json_object_set_new(side, "pre_banner_lines", lines);
	}
	if (d->kexinit != NULL) {
		json_t *k = json_object(), *h = json_object();
		for (int i = 0; i < KEX_NLISTS; i++)
			json_object_set_new(k, kexinit_names[i], namelist_array(d->kexinit->list[i]));
		json_object_set_new(k, "first_kex_packet_follows",
				    json_boolean(d->kexinit->first_kex_follows));
		if (d->hassh[0] != '\0') {
			json_object_set_new(h, "hash", json_string(d->hassh));
			if (d->hassh_str != NULL)
				set_escaped(h, "string", (const uint8_t *)d->hassh_str,
					    strlen(d->hassh_str));
			json_object_set_new(side, "hassh", h);
		} else {
			json_decref(h);
		}
		json_object_set_new(side, "kexinit", k);
	}
	return side;
}

static json_t *negotiated_object(const struct flow *f)
{
	const struct kex_negotiated *n = &f->ssh.neg;
	json_t *o = json_object(), *ext = json_object();

	for (int i = 0; i < KEX_NCATS; i++)
		if (n->alg[i][0] != '\0')
			json_object_set_new(o, kex_cat_name(i), json_string(n->alg[i]));
	if (n->failed_cat >= 0)
		json_object_set_new(o, "no_match", json_string(kex_cat_name(n->failed_cat)));
	json_object_set_new(o, "strict_kex", json_boolean(n->strict_kex));
	json_object_set_new(ext, "client", json_boolean(n->ext_info_c));
	json_object_set_new(ext, "server", json_boolean(n->ext_info_s));
	json_object_set_new(o, "ext_info", ext);
	json_object_set_new(o, "complete", json_boolean(f->ssh.dir[0].t_newkeys != 0 &&
							f->ssh.dir[1].t_newkeys != 0));
	return o;
}

static const char *close_kind_name(enum flow_close_kind k)
{
	switch (k) {
	case FLOW_CLOSE_FIN:
		return "fin";
	case FLOW_CLOSE_RST:
		return "rst";
	case FLOW_CLOSE_TIMEOUT:
		return "timeout";
	case FLOW_CLOSE_CAPTURE_END:
		return "capture_end";
	case FLOW_CLOSE_NONE:
		break;
	}
	return NULL;
}

static json_t *tcp_object(const struct flow *f, int c)
{
	const struct tcp_dir *cd = &f->dir[c], *sd = &f->dir[!c];
	json_t *o = json_object(), *df = json_object();

	if (f->t_syn != 0 && f->t_ack != 0)
		json_object_set_new(o, "rtt_ms", json_ms(f->t_syn, f->t_ack));
	if (cd->mss)
		json_object_set_new(o, "mss_client", json_integer(cd->mss));
	if (sd->mss)
		json_object_set_new(o, "mss_server", json_integer(sd->mss));
	json_object_set_new(o, "retransmits_c2s", json_integer(cd->retransmits));
	json_object_set_new(o, "retransmits_s2c", json_integer(sd->retransmits));
	json_object_set_new(o, "max_segment_c2s", json_integer(cd->max_segment));
	json_object_set_new(o, "max_segment_s2c", json_integer(sd->max_segment));
	json_object_set_new(o, "out_of_order", json_integer(cd->out_of_order + sd->out_of_order));
	json_object_set_new(o, "overlaps", json_integer(cd->overlaps + sd->overlaps));
	json_object_set_new(o, "gaps", json_integer(cd->gaps + sd->gaps));
	json_object_set_new(o, "ip_fragments", json_integer(f->ip_fragments));
	if (cd->packets)
		json_object_set_new(df, "c2s", json_boolean(cd->df_clear == 0));
	if (sd->packets)
		json_object_set_new(df, "s2c", json_boolean(sd->df_clear == 0));
	json_object_set_new(o, "df", df);
	json_object_set_new(o, "packets_c2s", json_integer(cd->packets));
	json_object_set_new(o, "packets_s2c", json_integer(sd->packets));
	json_object_set_new(o, "bytes_c2s", json_integer((json_int_t)cd->bytes));
	json_object_set_new(o, "bytes_s2c", json_integer((json_int_t)sd->bytes));
	if (f->nicmp > 0) {
		json_t *a = json_array();
		for (uint32_t i = 0; i < f->nicmp && i < FLOW_MAX_ICMP; i++) {
			json_t *ic = json_object();
			json_object_set_new(ic, "family", json_string(f->icmp[i].v6 ? "icmpv6" : "icmp"));
			json_object_set_new(ic, "type", json_integer(f->icmp[i].type));
			json_object_set_new(ic, "code", json_integer(f->icmp[i].code));
			if (f->icmp[i].mtu)
				json_object_set_new(ic, "mtu", json_integer(f->icmp[i].mtu));
			json_array_append_new(a, ic);
		}
		json_object_set_new(o, "icmp", a);
	}
	return o;
}

/* ssh.auth and ssh.session (auth.c): once both sides sent NEWKEYS. */
static void auth_fields(json_t *ssh, const struct flow *f, int c)
{
	struct auth_inference a;
	struct auth_session ss;
	json_t *o, *cv;

	if (!auth_session(f, c, &ss))
		return;
	auth_infer(f, c, &a);
	o = json_object();
	json_object_set_new(o, "result", json_string(auth_result_name(a.result)));
	json_object_set_new(o, "failures", json_integer(a.failures));
	json_object_set_new(o, "method", json_string(auth_method_name(a.method)));
	json_object_set_new(o, "confidence", json_string(auth_confidence_name(a.confidence)));
	if (a.caveats != 0) {
		cv = json_array();
		for (uint32_t bit = 1; bit != 0; bit <<= 1)
			if ((a.caveats & bit) && auth_caveat_name(bit) != NULL)
				json_array_append_new(cv, json_string(auth_caveat_name(bit)));
		json_object_set_new(o, "caveats", cv);
	}
	json_object_set_new(ssh, "auth", o);
	o = json_object();
	json_object_set_new(o, "duration_ms", json_ms(0, ss.duration_us));
	json_object_set_new(o, "packets_c2s", json_integer(ss.packets_c2s));
	json_object_set_new(o, "packets_s2c", json_integer(ss.packets_s2c));
	json_object_set_new(o, "bytes_c2s", json_integer((json_int_t)ss.bytes_c2s));
	json_object_set_new(o, "bytes_s2c", json_integer((json_int_t)ss.bytes_s2c));
	if (ss.framed) {
		json_object_set_new(o, "ssh_packets_c2s", json_integer(ss.ssh_packets_c2s));
		json_object_set_new(o, "ssh_packets_s2c", json_integer(ss.ssh_packets_s2c));
	}
	json_object_set_new(o, "kind", json_string(ss.kind));
	json_object_set_new(o, "open", json_boolean(ss.open));
	json_object_set_new(ssh, "session", o);
}

static void timing_set(json_t *o, const char *key, uint64_t t0, uint64_t t)
{
	if (t != 0 && t >= t0)
		json_object_set_new(o, key, json_ms(t0, t));
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
	{DEC_ANOM_TRUNCATED, "ip.truncated"},
	{DEC_ANOM_TCP_OPTIONS, "tcp.bad_option"},
	{DEC_ANOM_IP_HEADER, "ip.bad_header"},
	{DEC_ANOM_FRAG_OVERLAP, "ip.fragment_overlap"},
	{DEC_ANOM_TCP_HEADER, "tcp.bad_header"},
};

static void add_anomalies(json_t *a, uint32_t bits, const struct anomaly_name *names, size_t n,
			  const char *prefix)
{
	char buf[96];

	for (size_t i = 0; i < n; i++) {
		if (!(bits & names[i].bit))
			continue;
		snprintf(buf, sizeof(buf), "%s%s", prefix, names[i].name);
		json_array_append_new(a, json_string(buf));
	}
}

static json_t *anomalies_array(const struct flow *f, int c)
{
	json_t *a = json_array();
	const size_t nssh = sizeof(ssh_anomaly_names) / sizeof(ssh_anomaly_names[0]);
	uint32_t kex_c = f->ssh.dir[c].kexinit ? f->ssh.dir[c].kexinit->anomalies : 0;
	uint32_t kex_s = f->ssh.dir[!c].kexinit ? f->ssh.dir[!c].kexinit->anomalies : 0;

	add_anomalies(a, f->ssh.dir[c].anomalies, ssh_anomaly_names, nssh, "client.");
	add_anomalies(a, f->ssh.dir[!c].anomalies, ssh_anomaly_names, nssh, "server.");
	if (kex_c | kex_s)
		json_array_append_new(a, json_string(kex_c ? "client.kexinit_irregular"
							   : "server.kexinit_irregular"));
	add_anomalies(a, f->anomalies, flow_anomaly_names,
		      sizeof(flow_anomaly_names) / sizeof(flow_anomaly_names[0]), "");
	add_anomalies(a, f->decode_anomalies, decode_anomaly_names,
		      sizeof(decode_anomaly_names) / sizeof(decode_anomaly_names[0]), "");
	return a;
}

json_t *record_build(const struct flow *f, const struct report_config *cfg,
		     const struct record_judgment *j, json_t *diagnoses)
{
	const struct ssh_conn *s = &f->ssh;
	int src = flow_src_dir(f), c = j->client_dir;
	json_t *rec = json_object(), *ssh = json_object(), *o;
	char addr[64], ts[48];
	uint64_t t0 = j->t0;

	record_time(ts, sizeof(ts), f->t_first);
	json_object_set_new(rec, "timestamp", json_string(ts));
	json_object_set_new(rec, "flow_id", json_integer((json_int_t)f->id));
	json_object_set_new(rec, "event_type", json_string("ssh"));
	record_addr(addr, sizeof(addr), f->key.family, src == 0 ? f->key.src : f->key.dst);
	json_object_set_new(rec, "src_ip", json_string(addr));
	json_object_set_new(rec, "src_port", json_integer(src == 0 ? f->key.sport : f->key.dport));
	record_addr(addr, sizeof(addr), f->key.family, src == 0 ? f->key.dst : f->key.src);
	json_object_set_new(rec, "dest_ip", json_string(addr));
	json_object_set_new(rec, "dest_port", json_integer(src == 0 ? f->key.dport : f->key.sport));
	json_object_set_new(rec, "proto", json_string("TCP"));
	if (f->nvlan > 0) {
		o = json_array();
		for (int i = 0; i < f->nvlan; i++)
			json_array_append_new(o, json_integer(f->vlan[i]));
		json_object_set_new(rec, "vlan", o);
	}
	if (cfg->filenames != NULL && f->file_index < cfg->nfiles)
		json_object_set_new(rec, "pcap_filename", json_string(cfg->filenames[f->file_index]));
	if (cfg->ifaces != NULL)
		json_object_set_new(rec, "capture_interface",
				    json_string(cfg->ifaces[f->iface_index]));

	json_object_set_new(ssh, "client", side_object(&s->dir[c]));
	json_object_set_new(ssh, "server", side_object(&s->dir[!c]));
	json_object_set_new(ssh, "roles_reversed", json_boolean(c != src));
	json_object_set_new(ssh, "roles_from",
			    json_string(s->role_source == SSH_ROLE_KEX_MESSAGES ? "kex_messages"
					: s->role_source == SSH_ROLE_KEXINIT        ? "kexinit"
										    : "tcp"));
	if (!f->initiator_known)
		json_object_set_new(ssh, "initiator_inferred", json_true());
	if (s->hostkey.present) {
		o = json_object();
		json_object_set_new(o, "type", json_string(s->hostkey.key.type));
		json_object_set_new(o, "fingerprint", json_string(s->hostkey.key.fingerprint));
		if (s->hostkey.key.cert_fingerprint[0] != '\0')
			json_object_set_new(o, "certificate_fingerprint",
					    json_string(s->hostkey.key.cert_fingerprint));
		if (s->hostkey.key.bits)
			json_object_set_new(o, "bits", json_integer(s->hostkey.key.bits));
		json_object_set_new(ssh, "host_key", o);
	}
	if (s->negotiated_ok)
		json_object_set_new(ssh, "negotiated", negotiated_object(f));
	if (s->gex.present) {
		o = json_object();
		if (s->gex.min)
			json_object_set_new(o, "min", json_integer(s->gex.min));
		json_object_set_new(o, "n", json_integer(s->gex.n));
		if (s->gex.max)
			json_object_set_new(o, "max", json_integer(s->gex.max));
		if (s->gex.p_bits)
			json_object_set_new(o, "p_bits", json_integer(s->gex.p_bits));
		json_object_set_new(ssh, "dh_gex", o);
	}
	json_object_set_new(ssh, "outcome", json_string(report_outcome_name(j->outcome)));
	json_object_set_new(ssh, "phase", json_string(report_phase_name(j->phase)));
	if (close_kind_name(f->close_kind) != NULL) {
		const char *who = "none";
		o = json_object();
		if (f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST)
			who = f->close_dir == c ? "client" : "server";
		json_object_set_new(o, "initiator", json_string(who));
		json_object_set_new(o, "kind", json_string(close_kind_name(f->close_kind)));
		json_object_set_new(o, "phase", json_string(report_phase_name(j->close_phase)));
		json_object_set_new(o, "after_ms", json_ms(t0, j->t_close));
		json_object_set_new(ssh, "close", o);
	}
	o = json_object();
	timing_set(o, "server_banner", t0, s->dir[!c].t_banner);
	timing_set(o, "client_banner", t0, s->dir[c].t_banner);
	timing_set(o, "client_kexinit", t0, s->dir[c].t_kexinit);
	timing_set(o, "server_kexinit", t0, s->dir[!c].t_kexinit);
	timing_set(o, "kex_reply", t0, s->dir[!c].t_kexmsg);
	if (s->dir[0].t_newkeys && s->dir[1].t_newkeys)
		timing_set(o, "newkeys", t0,
			   s->dir[0].t_newkeys > s->dir[1].t_newkeys ? s->dir[0].t_newkeys
								     : s->dir[1].t_newkeys);
	json_object_set_new(ssh, "timing", o);
	json_object_set_new(ssh, "tcp", tcp_object(f, c));
	auth_fields(ssh, f, c);
	if (s->dir[0].disconnect_seen || s->dir[1].disconnect_seen) {
		int d = s->dir[!c].disconnect_seen ? !c : c;
		o = json_object();
		json_object_set_new(o, "from", json_string(d == c ? "client" : "server"));
		json_object_set_new(o, "reason", json_integer(s->dir[d].disconnect_reason));
		set_escaped(o, "description", s->dir[d].disconnect_desc,
			    s->dir[d].disconnect_desc_len);
		json_object_set_new(ssh, "disconnect", o);
	}
	json_object_set_new(ssh, "diagnoses", diagnoses);
	json_object_set_new(ssh, "policy_version", json_string(POLICY_VERSION));
	json_object_set_new(ssh, "anomalies", anomalies_array(f, c));
	json_object_set_new(rec, "ssh", ssh);
	return rec;
}
