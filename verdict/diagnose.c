/*
 * diagnose.c: from the facts of a connection to diagnoses an operator can
 * act on (DESIGN.md section 4).
 *
 * Responsible for each code's condition, its evidence (facts from the record,
 * never guesses), a one-sentence summary, a hint that ranks the likely causes
 * and says what to run to confirm, and the message the OpenSSH client most
 * likely printed. When the capture cannot support a conclusion (a direction
 * missing, gaps, a capture that began mid-connection) it says so with
 * capture_incomplete and draws nothing stronger from the missing side.
 * Not responsible for the facts themselves (dissect/) or the host-key store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "auth.h"
#include "diagnose.h"
#include "jw.h"
#include "policy.h"
#include "output.h"

/* A side that stays silent this long before the server gives up: LoginGraceTime. */
#define DIAG_GRACE_IDLE_US 10000000u

struct ctx {
	const struct flow *f;
	const struct record_judgment *j;
	json_t *list;
	int c;                         /* TCP direction of the SSH client */
	const struct tcp_dir *tc, *ts; /* TCP: client, server */
	const struct ssh_dir *sc, *ss; /* SSH: client, server */
	char server_buf[80];           /* "HOST port N", as OpenSSH prints it: server() */
	int one_sided, partial;
};

static json_t *diag(struct ctx *x, const char *code, const char *severity, const char *hint,
                    const char *symptom, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* server names the server as OpenSSH prints it, formatted on first use: most
 * connections have no diagnosis that quotes it. */
static const char *server(struct ctx *x)
{
	const struct flow *f = x->f;
	char addr[64];

	if (x->server_buf[0] == '\0') {
		text_addr(addr, sizeof(addr), f->key.family, x->c == 0 ? f->key.dst : f->key.src);
		snprintf(x->server_buf, sizeof(x->server_buf), "%s port %u", addr,
		         x->c == 0 ? f->key.dport : f->key.sport);
	}
	return x->server_buf;
}

/*
 * lit: a string known to be valid UTF-8, unchecked: this file's literal
 * text (ASCII) or text_escape's output (printable ASCII). json_string
 * would check it byte by byte and accept it all the same.
 */
static json_t *lit(const char *s)
{
	return json_stringn_nocheck(s, strlen(s));
}

/* diag appends one diagnosis and returns its evidence object to fill. */
static json_t *diag(struct ctx *x, const char *code, const char *severity, const char *hint,
                    const char *symptom, const char *fmt, ...)
{
	json_t *d = json_object(), *ev = json_object();
	char summary[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	/* The code, severity and hint are literals; the summary and symptom may
	 * quote the wire, so jansson checks them. */
	json_object_set_new_nocheck(d, "code", lit(code));
	json_object_set_new_nocheck(d, "severity", lit(severity));
	json_object_set_new_nocheck(d, "summary", json_string(summary));
	json_object_set_new_nocheck(d, "evidence", ev);
	json_object_set_new_nocheck(d, "hint", lit(hint));
	if (symptom != NULL)
		json_object_set_new_nocheck(d, "client_symptom", json_string(symptom));
	json_array_append_new(x->list, d);
	return ev;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

static void set_int(json_t *o, const char *k, long long v)
{
	json_object_set_new(o, k, json_integer(v));
}

static void set_ms(json_t *o, const char *k, uint64_t from, uint64_t to)
{
	json_object_set_new(o, k, json_real(to >= from ? (double)(to - from) / 1000.0 : 0.0));
}

static void set_bytes(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = text_escape(p, n);

	if (s != NULL)
		json_object_set_new(o, k, lit(s));
	free(s);
}

/*
 * The diagnosis cache: a small table searched in order (a record has at
 * most a few diagnoses, and the corpus of a site a few key exchanges).
 */
struct diagnose_cache_entry {
	char code[24];
	char key[KEX_NAME_MAX + 1]; /* what the text depends on besides the code */
	json_t *d;                  /* one reference held here */
	char *text;
	size_t len;
};

struct diagnose_cache {
	struct diagnose_cache_entry e[DIAGNOSE_CACHE_SIZE];
	unsigned next; /* the entry replaced next: the oldest */
};

struct diagnose_cache *diagnose_cache_new(void)
{
	return calloc(1, sizeof(struct diagnose_cache));
}

void diagnose_cache_free(struct diagnose_cache *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < DIAGNOSE_CACHE_SIZE; i++) {
		json_decref(c->e[i].d);
		free(c->e[i].text);
	}
	free(c);
}

const char *diagnose_cache_text(const struct diagnose_cache *c, const json_t *d, size_t *len)
{
	for (int i = 0; c != NULL && i < DIAGNOSE_CACHE_SIZE; i++)
		if (c->e[i].d == d && d != NULL) {
			*len = c->e[i].len;
			return c->e[i].text;
		}
	return NULL;
}

/* cache_take appends the cached diagnosis code/key to x's list; 0 if there is none. */
static int cache_take(struct ctx *x, const char *code, const char *key)
{
	struct diagnose_cache *c = x->j->dcache;

	for (int i = 0; c != NULL && i < DIAGNOSE_CACHE_SIZE; i++)
		if (c->e[i].d != NULL && strcmp(c->e[i].code, code) == 0 &&
		    strcmp(c->e[i].key, key) == 0)
			return json_array_append(x->list, c->e[i].d) == 0;
	return 0;
}

/* cache_keep keeps d, the diagnosis code/key just built, with its serialised form. */
static void cache_keep(struct ctx *x, const char *code, const char *key, json_t *d)
{
	struct diagnose_cache *c = x->j->dcache;
	struct diagnose_cache_entry *e;
	struct jw w;
	char *text;

	if (c == NULL || d == NULL || strlen(code) >= sizeof(e->code) ||
	    strlen(key) >= sizeof(e->key))
		return;
	jw_init(&w);
	jw_json(&w, NULL, d);
	if (w.err || (text = malloc(w.len)) == NULL) {
		jw_free(&w);
		return;
	}
	memcpy(text, w.buf, w.len);
	e = &c->e[c->next];
	c->next = (c->next + 1) % DIAGNOSE_CACHE_SIZE;
	json_decref(e->d);
	free(e->text);
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->d = json_incref(d);
	e->text = text;
	e->len = w.len;
	jw_free(&w);
}

static const char *role(const struct ctx *x, int dir)
{
	return dir == x->c ? "client" : "server";
}

static const char *close_kind(enum flow_close_kind k)
{
	return k == FLOW_CLOSE_RST ? "rst" : k == FLOW_CLOSE_FIN ? "fin" : "none";
}

static int closed(const struct flow *f)
{
	return f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST;
}

static int established(const struct flow *f)
{
	return f->ssh.dir[0].t_newkeys && f->ssh.dir[1].t_newkeys;
}

const char *diagnose_disconnect_reason(uint32_t code)
{
	static const char *const names[] = {
	    NULL,
	    "HOST_NOT_ALLOWED_TO_CONNECT",
	    "PROTOCOL_ERROR",
	    "KEY_EXCHANGE_FAILED",
	    "RESERVED",
	    "MAC_ERROR",
	    "COMPRESSION_ERROR",
	    "SERVICE_NOT_AVAILABLE",
	    "PROTOCOL_VERSION_NOT_SUPPORTED",
	    "HOST_KEY_NOT_VERIFIABLE",
	    "CONNECTION_LOST",
	    "BY_APPLICATION",
	    "TOO_MANY_CONNECTIONS",
	    "AUTH_CANCELLED_BY_USER",
	    "NO_MORE_AUTH_METHODS_AVAILABLE",
	    "ILLEGAL_USER_NAME",
	};

	return code < sizeof(names) / sizeof(names[0]) && names[code] ? names[code] : "UNKNOWN";
}

/* capture_incomplete: the evidence is one-sided or has holes. */
static void check_capture(struct ctx *x)
{
	const struct flow *f = x->f;
	uint32_t gaps = f->dir[0].gaps + f->dir[1].gaps;
	json_t *ev, *missing;

	if (!x->partial)
		return;
	ev = diag(
	    x, "capture_incomplete", "warning",
	    "Capture both directions at one point (a span port may carry one direction; "
	    "asymmetric routing sends the other elsewhere) with a snap length that keeps whole "
	    "packets (-s 0), and start it before the connection.",
	    NULL,
	    "The capture does not hold the whole connection, so conclusions about it are "
	    "limited to what was seen.");
	missing = json_array();
	if (x->tc->packets == 0)
		json_array_append_new(missing, json_string("client_to_server"));
	if (x->ts->packets == 0)
		json_array_append_new(missing, json_string("server_to_client"));
	if (f->anomalies & FLOW_ANOM_MIDSTREAM)
		json_array_append_new(missing, json_string("connection_start"));
	if (gaps)
		json_array_append_new(missing, json_string("segments"));
	if (f->anomalies & FLOW_ANOM_SNAPPED)
		json_array_append_new(missing, json_string("packet_tails"));
	if (f->anomalies & FLOW_ANOM_EVICTED)
		json_array_append_new(missing, json_string("connection_end"));
	json_object_set_new(ev, "missing", missing);
	set_int(ev, "gaps", gaps);
}

static void check_tcp(struct ctx *x)
{
	const struct flow *f = x->f;
	char sym[160];
	json_t *ev;

	/* Unanswered: retransmitted SYNs, or one SYN the timeout gave up on; not a
	 * SYN whose flow was evicted or cut by the end of the capture too early. */
	if (report_only_syns(f) && f->nicmp == 0 && !(f->anomalies & FLOW_ANOM_EVICTED) &&
	    (x->tc->syns >= 2 || f->close_kind == FLOW_CLOSE_TIMEOUT)) {
		snprintf(sym, sizeof(sym), "ssh: connect to host %s: Connection timed out",
		         server(x));
		ev = diag(
		    x, "tcp_no_answer", "error",
		    "A firewall or security group on the path or on the server drops the SYNs "
		    "(an iptables/nftables DROP rule, fail2ban with a DROP action), the host is "
		    "down, or the address is wrong. Check the server's rules (`iptables -L -n -v`, "
		    "`nft list ruleset`, `fail2ban-client status sshd`) and capture on the server "
		    "to see whether the SYNs arrive.",
		    sym, "The server never answered %u SYN%s.", x->tc->syns,
		    x->tc->syns == 1 ? "" : "s");
		set_int(ev, "syns", x->tc->syns);
		set_ms(ev, "span_ms", x->tc->t_syn, x->tc->t_last);
	}
	if (f->t_synack == 0 && x->ts->rst && !x->ts->bytes) {
		snprintf(sym, sizeof(sym), "ssh: connect to host %s: Connection refused",
		         server(x));
		ev = diag(
		    x, "tcp_refused", "error",
		    "Nothing listens on that address and port (sshd stopped, another Port or "
		    "ListenAddress), or a firewall rejects with a TCP reset (REJECT --reject-with "
		    "tcp-reset, fail2ban). On the server: `systemctl status ssh`, `ss -ltnp | grep "
		    "sshd`, `sshd -T | grep -Ei '^(port|listenaddress)'`, `iptables -L -n -v | "
		    "grep "
		    "REJECT`.",
		    sym, "The server's address answered the SYN with a reset.");
		set_str(ev, "reset_by", "server");
		set_int(ev, "syns", x->tc->syns);
		set_ms(ev, "after_ms", x->j->t0, x->ts->t_rst);
	}
	for (uint32_t i = 0; i < f->nicmp && i < FLOW_MAX_ICMP; i++) {
		const struct flow_icmp *ic = &f->icmp[i];
		int frag = ic->v6 ? ic->type == 2 : (ic->type == 3 && ic->code == 4);
		int unreach = ic->v6 ? ic->type == 1 : ic->type == 3;
		int port = ic->v6 ? ic->code == 4 : ic->code == 3;

		if (frag) {
			ev = diag(
			    x, "icmp_frag_needed", "warning",
			    "A link on the path has a smaller MTU than the endpoints assume. Path "
			    "MTU discovery works when these ICMP messages reach the sender; if the "
			    "connection still stalls, lower the MTU or clamp the MSS on the router "
			    "(`iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j "
			    "TCPMSS --clamp-mss-to-pmtu`).",
			    NULL,
			    "A router reported that a packet of this connection was too big "
			    "for the next hop (MTU %u).",
			    ic->mtu);
			set_int(ev, "mtu", ic->mtu);
			set_str(ev, "family", ic->v6 ? "icmpv6" : "icmp");
		} else if (unreach) {
			snprintf(sym, sizeof(sym), "ssh: connect to host %s: %s", server(x),
			         port ? "Connection refused" : "No route to host");
			ev = diag(
			    x, "icmp_unreachable", "error",
			    "A router or the host reports the destination unreachable: no route, "
			    "the host is down, or a firewall rejects with an ICMP error (iptables "
			    "REJECT's default). Check routes (`ip route get ADDRESS`) and the "
			    "firewall on the path and the server.",
			    sym,
			    "An ICMP%s destination-unreachable (code %u) quoted this "
			    "connection.",
			    ic->v6 ? "v6" : "", ic->code);
			set_int(ev, "type", ic->type);
			set_int(ev, "code", ic->code);
			set_str(ev, "family", ic->v6 ? "icmpv6" : "icmp");
		}
	}
	if (f->ip_fragments > 0) {
		ev = diag(
		    x, "ip_fragmented", "warning",
		    "Packets of this connection were fragmented on the way, so a sender cleared "
		    "DF or a tunnel fragments; fragments are often dropped by firewalls and NAT. "
		    "Find the link with the small MTU (`tracepath HOST`) and fix the MTU or clamp "
		    "the MSS.",
		    NULL, "%u IP fragments carried this connection's packets.", f->ip_fragments);
		set_int(ev, "fragments", f->ip_fragments);
		set_int(ev, "largest_datagram", f->frag_max_size);
	}
}

/* Text the server sent instead of, or before, an identification line. */
static void server_text(json_t *ev, const struct ssh_dir *ss)
{
	if (ss->pre_len > 0)
		set_bytes(ev, "server_text", ss->pre, ss->pre_len);
	else if (ss->banner == NULL && ss->first_len > 0)
		set_bytes(ev, "server_text", ss->first_bytes, ss->first_len);
}

static int text_has(const struct ssh_dir *ss, const char *needle)
{
	size_t n = strlen(needle);
	const uint8_t *p = ss->pre_len ? ss->pre : ss->first_bytes;
	size_t len = ss->pre_len ? ss->pre_len : ss->first_len;

	for (size_t i = 0; p != NULL && i + n <= len; i++)
		if (memcmp(p + i, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * other_protocol: a server that sent no identification line but bytes that
 * are another protocol's (an HTTP response or HTML page, TLS or other binary
 * data). OpenSSH's client reads text lines as pre-banner lines, so only these
 * shapes are taken as "not SSH"; plain text stays a close before the banner.
 */
static int other_protocol(const struct ssh_dir *ss)
{
	const uint8_t *p = ss->first_bytes;
	uint32_t n = ss->first_len;

	if (ss->banner != NULL || p == NULL || n == 0)
		return 0;
	if ((n >= 5 && memcmp(p, "HTTP/", 5) == 0) || p[0] == '<')
		return 1;
	for (uint32_t i = 0; i < n; i++)
		if ((p[i] < 0x20 && p[i] != '\r' && p[i] != '\n' && p[i] != '\t') || p[i] >= 0x7f)
			return 1;
	return 0;
}

static void check_before_banner(struct ctx *x)
{
	const struct flow *f = x->f;
	const char *hint, *sym;
	char symbuf[160];
	json_t *ev;

	if (!closed(f) || x->ss->banner != NULL || x->ts->packets == 0 || f->t_synack == 0)
		return;
	if (x->ss->state == SSH_ST_NOT_SSH || (x->ss->anomalies & SSH_ANOM_BANNER_INVALID) ||
	    other_protocol(x->ss))
		return; /* banner_invalid says it better */
	if (text_has(x->ss, "Exceeded MaxStartups"))
		hint =
		    "sshd refused the connection because too many were still unauthenticated "
		    "(MaxStartups, default 10:30:100). Check `sshd -T | grep -i maxstartups` and "
		    "`journalctl -u ssh | grep -i maxstartups`; raise MaxStartups or find who "
		    "holds "
		    "connections open (scanners, stuck clients).";
	else if (text_has(x->ss, "Not allowed at this time"))
		hint =
		    "OpenSSH 9.8 or later refused the client: PerSourcePenalties (earlier failures "
		    "or crashes from this address) or MaxStartups. Check `journalctl -u ssh | grep "
		    "-iE 'penalt|maxstartups'` and `sshd -T | grep -iE "
		    "'persourcepenalt|maxstartups'`.";
	else if (f->close_kind == FLOW_CLOSE_RST)
		hint =
		    "Most likely a firewall or fail2ban rejecting the client with a reset "
		    "(`fail2ban-client status sshd`, `iptables -L -n -v | grep -i reject`), then "
		    "sshd crashing or killed by the OOM killer (`journalctl -u ssh`, `dmesg | grep "
		    "-i oom`).";
	else
		hint =
		    "Most likely sshd dropped the connection before its banner: MaxStartups or "
		    "PerSourcePenalties (`sshd -T | grep -iE 'maxstartups|persourcepenalt'`), TCP "
		    "wrappers (`grep -i sshd /etc/hosts.deny`), a fail2ban or firewall rule, or an "
		    "overloaded sshd (`journalctl -u ssh`). A proxy or load balancer in front of "
		    "sshd that closes when its backend is down looks the same.";
	sym = f->close_kind == FLOW_CLOSE_RST
	          ? "kex_exchange_identification: read: Connection reset by peer"
	          : "kex_exchange_identification: Connection closed by remote host";
	if (f->close_dir == x->c) {
		snprintf(symbuf, sizeof(symbuf), "Connection timed out during banner exchange");
		sym = symbuf;
		hint = "The client gave up before the server sent its identification line: the "
		       "server is slow to answer (overloaded, reverse DNS lookups with UseDNS, a "
		       "stalled PAM or GSSAPI setup) or the client's ConnectTimeout is short.";
	}
	ev = diag(x, "closed_before_server_banner", "error", hint, sym,
	          "The %s closed the connection (%s) %.0f ms after it opened, before the server "
	          "sent its SSH identification line.",
	          role(x, f->close_dir), close_kind(f->close_kind),
	          (double)(f->t_close - x->j->t0) / 1000.0);
	set_str(ev, "initiator", role(x, f->close_dir));
	set_str(ev, "kind", close_kind(f->close_kind));
	set_ms(ev, "after_ms", x->j->t0, f->t_close);
	set_int(ev, "server_bytes", (long long)x->ts->bytes);
	server_text(ev, x->ss);
}

static void check_banners(struct ctx *x)
{
	const struct flow *f = x->f;
	const struct ssh_dir *sides[2] = {x->sc, x->ss};
	char sym[200];
	json_t *ev;

	for (int i = 0; i < 2; i++) {
		const struct ssh_dir *d = sides[i];
		const char *who = i == 0 ? "client" : "server";
		uint32_t bad = SSH_ANOM_BANNER_INVALID | SSH_ANOM_BANNER_NUL |
		               SSH_ANOM_BANNER_LONG | SSH_ANOM_PREBANNER_MANY;

		if (d->state != SSH_ST_NOT_SSH && !(d->anomalies & bad) &&
		    !(i == 1 && other_protocol(d)))
			continue;
		if (d->first_len == 0 && d->banner == NULL)
			continue;
		if (d->anomalies & SSH_ANOM_BANNER_NUL)
			snprintf(
			    sym, sizeof(sym),
			    "kex_exchange_identification: banner line contains invalid characters");
		else if (d->anomalies & SSH_ANOM_BANNER_LONG)
			snprintf(sym, sizeof(sym),
			         "kex_exchange_identification: banner line too long");
		else if (i == 1)
			snprintf(sym, sizeof(sym),
			         "kex_exchange_identification: Connection closed by remote host");
		else
			sym[0] = '\0';
		ev = diag(x, "banner_invalid", "error",
		          i == 1
		              ? "Something other than sshd answers on this port (a web server, a "
		                "proxy, another service), or a front end sends text first. Check "
		                "what listens (`ss -ltnp`) and the client's Port and ProxyCommand."
		              : "The client does not speak SSH (a scanner, a health check, a "
		                "misconfigured application pointing at the SSH port). sshd logs it "
		                "as 'banner line contains invalid characters' or 'Bad protocol "
		                "version identification'.",
		          sym[0] ? sym : NULL,
		          "The %s's first line is not an SSH identification line (RFC 4253 section "
		          "4.2).",
		          who);
		set_str(ev, "side", who);
		set_bytes(ev, "first_bytes", d->first_bytes, d->first_len);
		if (d->anomalies & SSH_ANOM_BANNER_NUL)
			set_str(ev, "problem", "nul_byte");
		else if (d->anomalies & SSH_ANOM_BANNER_LONG)
			set_str(ev, "problem", "line_too_long");
		else if (d->anomalies & SSH_ANOM_PREBANNER_MANY)
			set_str(ev, "problem", "too_many_lines");
		else
			set_str(ev, "problem", "not_ssh");
	}
	if (x->sc->banner && x->ss->banner && x->sc->banner_len > 8 && x->ss->banner_len > 8) {
		/* SSH-1.x (other than 1.99, which also speaks 2.0) against 2.0. */
		int c1 = memcmp(x->sc->banner, "SSH-1.", 6) == 0 &&
		         memcmp(x->sc->banner, "SSH-1.99-", 9) != 0;
		int s1 = memcmp(x->ss->banner, "SSH-1.", 6) == 0 &&
		         memcmp(x->ss->banner, "SSH-1.99-", 9) != 0;
		if (c1 != s1) {
			snprintf(sym, sizeof(sym), "Protocol major versions differ: %d vs. %d",
			         c1 ? 1 : 2, s1 ? 1 : 2);
			ev =
			    diag(x, "protocol_version_mismatch", "error",
			         "One side only speaks the SSH-1 protocol, removed from OpenSSH in "
			         "7.6; upgrade it or use a client that still speaks SSH-1 for this "
			         "legacy device.",
			         sym, "The %s speaks SSH-1 only and the %s SSH-2.",
			         c1 ? "client" : "server", c1 ? "server" : "client");
			set_bytes(ev, "client_banner", x->sc->banner, x->sc->banner_len);
			set_bytes(ev, "server_banner", x->ss->banner, x->ss->banner_len);
		}
	}
	(void)f;
}

static void check_closes(struct ctx *x)
{
	const struct flow *f = x->f;
	char sym[160];
	json_t *ev;
	uint64_t client_last, idle;

	if (!closed(f) || established(f) || x->ss->banner == NULL)
		return;
	/* LoginGraceTime: the server gives up on a client that went quiet. */
	client_last = x->sc->t_banner ? x->sc->t_banner : 0;
	if (x->sc->t_kexinit > client_last)
		client_last = x->sc->t_kexinit;
	if (x->sc->t_kexmsg > client_last)
		client_last = x->sc->t_kexmsg;
	if (client_last == 0)
		client_last = x->ss->t_banner;
	idle = f->t_close > client_last ? f->t_close - client_last : 0;
	if (f->close_dir != x->c && idle >= DIAG_GRACE_IDLE_US && x->tc->packets > 0) {
		snprintf(sym, sizeof(sym), "Connection closed by %s", server(x));
		ev = diag(
		    x, "banner_timeout", "error",
		    "sshd closed after waiting for the client (LoginGraceTime, default 120 s): the "
		    "client stalled mid-handshake, as a stuck proxy, a scanner that opens and "
		    "waits, "
		    "or a client waiting on a prompt does. Check `sshd -T | grep -i "
		    "logingracetime` and `journalctl -u ssh | grep -i 'timeout before "
		    "authentication'`.",
		    sym,
		    "The server closed the connection after the client had been silent for "
		    "%.1f s.",
		    (double)idle / 1e6);
		set_ms(ev, "idle_ms", client_last, f->t_close);
		set_str(ev, "kind", close_kind(f->close_kind));
		json_object_set_new(ev, "client_banner_sent", json_boolean(x->sc->banner != NULL));
		json_object_set_new(ev, "client_kexinit_sent",
		                    json_boolean(x->sc->kexinit != NULL));
		return;
	}
	if (x->sc->banner == NULL)
		return;
	snprintf(sym, sizeof(sym), "Connection %s by %s",
	         f->close_kind == FLOW_CLOSE_RST ? "reset" : "closed", server(x));
	if (x->sc->kexinit == NULL || x->ss->kexinit == NULL) {
		ev = diag(
		    x, "closed_after_banner", "error",
		    f->close_dir == x->c
		        ? "The client closed after the banners: it rejected the server's "
		          "protocol or software version, or its process was interrupted."
		        : "The server closed after the banners, before the key exchange: sshd "
		          "dropped the connection (MaxStartups, PerSourcePenalties, a crash) or "
		          "a middlebox reset it after seeing the identification lines (an IPS "
		          "rule that matches SSH). `journalctl -u ssh` shows the server's reason.",
		    f->close_dir == x->c ? NULL : sym,
		    "The %s closed the connection (%s) after the identification lines, before the "
		    "key exchange started.",
		    role(x, f->close_dir), close_kind(f->close_kind));
		set_str(ev, "initiator", role(x, f->close_dir));
		set_str(ev, "kind", close_kind(f->close_kind));
		json_object_set_new(ev, "client_kexinit_sent",
		                    json_boolean(x->sc->kexinit != NULL));
		json_object_set_new(ev, "server_kexinit_sent",
		                    json_boolean(x->ss->kexinit != NULL));
		set_ms(ev, "after_ms", x->j->t0, f->t_close);
		return;
	}
	if (f->ssh.negotiated_ok && f->ssh.neg.failed_cat >= 0)
		return; /* no_common_algorithm explains the close */
	ev = diag(x, "closed_during_kex", "error",
	          "The connection ended during the key exchange although both sides agree on "
	          "algorithms: the server failed to sign with its host key (key file permissions, "
	          "an HSM or agent), the client rejected the host key (`ssh -v` shows 'Host key "
	          "verification failed'), or a middlebox cut it. `journalctl -u ssh` on the server "
	          "says which.",
	          f->close_dir != x->c ? sym
	          : x->f->ssh.hostkey.present
	              /* the client closing once it has the host key: it rejected the key */
	              ? "Host key verification failed."
	              : NULL,
	          "The %s closed the connection (%s) during the key exchange, after the algorithms "
	          "were agreed.",
	          role(x, f->close_dir), close_kind(f->close_kind));
	set_str(ev, "initiator", role(x, f->close_dir));
	set_str(ev, "kind", close_kind(f->close_kind));
	set_int(ev, "last_client_message", x->sc->last_msg);
	set_int(ev, "last_server_message", x->ss->last_msg);
	set_ms(ev, "after_ms", x->j->t0, f->t_close);
}

static const char *openssh_category_words(int cat)
{
	switch (cat) {
	case KEX_CAT_KEX:
		return "key exchange method";
	case KEX_CAT_HOSTKEY:
		return "host key type";
	case KEX_CAT_ENC_C2S:
	case KEX_CAT_ENC_S2C:
		return "cipher";
	case KEX_CAT_MAC_C2S:
	case KEX_CAT_MAC_S2C:
		return "MAC";
	default:
		return "compression method";
	}
}

static json_t *list_array(const char *list)
{
	json_t *a = json_array();
	const char *p = list;

	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char *e = text_escape((const uint8_t *)p, n);
		if (e != NULL)
			json_array_append_new(a, lit(e));
		free(e);
		p = comma ? comma + 1 : NULL;
	}
	return a;
}

static void check_negotiation(struct ctx *x)
{
	const struct ssh_conn *s = &x->f->ssh;
	static const int list_of[KEX_NCATS] = {KEX_ALGS,     KEX_HOSTKEY, KEX_ENC_C2S,
	                                       KEX_ENC_S2C,  KEX_MAC_C2S, KEX_MAC_S2C,
	                                       KEX_COMP_C2S, KEX_COMP_S2C};
	static const char *const cat_group[KEX_NCATS] = {
	    "kex", "host_key", "cipher", "cipher", "mac", "mac", "compression", "compression"};
	char *sym;
	json_t *ev;
	int cat;
	size_t n;

	if (!s->negotiated_ok || x->sc->kexinit == NULL || x->ss->kexinit == NULL)
		return;
	cat = s->neg.failed_cat;
	if (cat >= 0) {
		const char *theirs = x->ss->kexinit->list[list_of[cat]];
		n = strlen(theirs) + strlen(server(x)) + 128;
		if ((sym = malloc(n)) == NULL)
			return;
		snprintf(sym, n,
		         "Unable to negotiate with %s: no matching %s found. Their offer: %s",
		         server(x), openssh_category_words(cat), theirs);
		ev = diag(
		    x, "no_common_algorithm", "error",
		    "The client and the server share no algorithm in this category. Enable one "
		    "on either side: for an old server, the client can add it for that host only "
		    "(e.g. `ssh -o KexAlgorithms=+diffie-hellman-group14-sha1` or "
		    "`HostKeyAlgorithms=+ssh-rsa` in a Host block); on the server see `sshd -T | "
		    "grep -iE 'kexalgorithms|hostkeyalgorithms|ciphers|macs'`.",
		    sym, "No common %s: the client and the server offer nothing in common.",
		    openssh_category_words(cat));
		free(sym);
		set_str(ev, "category", cat_group[cat]);
		set_str(ev, "direction",
		        cat == KEX_CAT_KEX || cat == KEX_CAT_HOSTKEY ? "both"
		        : (cat % 2 == 0)                             ? "client_to_server"
		                                                     : "server_to_client");
		json_object_set_new(ev, "client_offer",
		                    list_array(x->sc->kexinit->list[list_of[cat]]));
		json_object_set_new(ev, "server_offer", list_array(theirs));
		return;
	}
	/* Policy: what was agreed, judged by the table in policy.c. */
	for (int i = 0; i < KEX_NCATS; i++) {
		const char *alg = s->neg.alg[i];
		const struct policy_verdict *v;
		if (alg[0] == '\0' ||
		    (i % 2 == 1 && i >= KEX_CAT_ENC_S2C && strcmp(alg, s->neg.alg[i - 1]) == 0))
			continue; /* the same algorithm both ways: reported once */
		if ((v = policy_weak(cat_group[i], alg)) == NULL)
			continue;
		ev = diag(
		    x, "weak_algorithm", "warning",
		    "Remove it from the server's (or client's) configuration; OpenSSH's defaults "
		    "no longer offer it. `sshd -T` shows what the server allows; ssh-audit rates "
		    "a server's whole offer.",
		    NULL, "The connection uses %s (%s): %s.", alg, cat_group[i], v->reason);
		set_str(ev, "algorithm", alg);
		set_str(ev, "category", cat_group[i]);
		set_str(ev, "reason", v->reason);
		set_str(ev, "source", v->source);
	}
	/* The same on every connection with that key exchange: built once. */
	if (s->neg.alg[KEX_CAT_KEX][0] && !policy_is_pq_kex(s->neg.alg[KEX_CAT_KEX]) &&
	    !cache_take(x, "non_pq_kex", s->neg.alg[KEX_CAT_KEX])) {
		ev = diag(
		    x, "non_pq_kex", "info",
		    "A recorded session can be decrypted later by whoever gets a large quantum "
		    "computer. OpenSSH 9.0+ offers sntrup761x25519-sha512 and 9.9+ "
		    "mlkem768x25519-sha256 by default; upgrade the older side or prefer them in "
		    "KexAlgorithms.",
		    NULL, "The key exchange %s is not post-quantum.", s->neg.alg[KEX_CAT_KEX]);
		set_str(ev, "kex", s->neg.alg[KEX_CAT_KEX]);
		cache_keep(x, "non_pq_kex", s->neg.alg[KEX_CAT_KEX],
		           json_array_get(x->list, json_array_size(x->list) - 1));
	}
	for (int dir = 0; dir < 2; dir++) {
		const char *cipher = s->neg.alg[KEX_CAT_ENC_C2S + dir];
		const char *mac = s->neg.alg[KEX_CAT_MAC_C2S + dir];
		int chacha = strcmp(cipher, "chacha20-poly1305@openssh.com") == 0;
		int cbc_etm = policy_is_cbc(cipher) && policy_is_etm(mac);

		if (s->neg.strict_kex || !(chacha || cbc_etm))
			continue;
		ev = diag(
		    x, "terrapin_exposed", "warning",
		    "Upgrade both sides to versions with strict key exchange (OpenSSH 9.6+, "
		    "dropbear 2024.84+, paramiko 3.4+), or disable chacha20-poly1305 and the -etm "
		    "MACs with CBC ciphers (CVE-2023-48795).",
		    NULL,
		    "%s with %s is open to the Terrapin prefix-truncation attack, and strict "
		    "key exchange is not on for both sides.",
		    cipher, mac);
		set_str(ev, "cipher", cipher);
		set_str(ev, "mac", mac);
		json_object_set_new(ev, "client_strict",
		                    json_boolean(kex_list_has(x->sc->kexinit->list[KEX_ALGS],
		                                              "kex-strict-c-v00@openssh.com")));
		json_object_set_new(ev, "server_strict",
		                    json_boolean(kex_list_has(x->ss->kexinit->list[KEX_ALGS],
		                                              "kex-strict-s-v00@openssh.com")));
		break;
	}
}

/* The largest clear-text segment still unacknowledged in a direction. */
static uint32_t unacked_max(const struct tcp_dir *td)
{
	uint32_t m = 0;

	for (uint8_t i = 0; i < td->ninflight; i++)
		if (td->inflight_len[i] > m)
			m = td->inflight_len[i];
	return m;
}

/*
 * Seen at the receiver: a hole in the sender's stream that the receiver never
 * acknowledged, with later bytes arriving: the path lost them. Larger than
 * every segment that arrived, with DF set: a black hole.
 */
static void check_path_hole(struct ctx *x, int i, const struct tcp_dir *td,
                            const struct tcp_dir *peer)
{
	int df = td->df_clear == 0;
	int blackhole = df && td->path_hole_max > td->max_segment && x->f->nicmp == 0;
	const char *who = i == 0 ? "client" : "server";
	json_t *ev;

	ev = diag(x, blackhole ? "mtu_blackhole_suspected" : "kex_stalled", "error",
	          blackhole
	              ? "Large packets are lost on the path while small ones pass, and no "
	                "ICMP 'fragmentation needed' reaches the sender: an MTU black hole "
	                "(a tunnel or VPN with a smaller MTU, and a firewall dropping ICMP). "
	                "Confirm with `ping -M do -s 1400 HOST` from the sender, then allow "
	                "ICMP type 3 code 4 (ICMPv6 type 2), lower the interface MTU, or clamp "
	                "the MSS on the router."
	              : "Bytes of the key exchange never reached the receiver while later ones "
	                "did: packet loss on the path or a firewall dropping the flow "
	                "mid-handshake.",
	          "ssh hangs after 'expecting SSH2_MSG_KEX_ECDH_REPLY' (ssh -v), then "
	          "'Connection timed out' or 'Connection closed'",
	          "%u bytes of the %s's key exchange never arrived (the receiver never "
	          "acknowledged them) while later segments of up to %u bytes did.",
	          td->path_hole_max, who, td->max_segment);
	set_str(ev, "direction", i == 0 ? "client_to_server" : "server_to_client");
	set_str(ev, "seen_at", "receiver");
	set_int(ev, "lost_bytes", td->path_hole_max);
	set_int(ev, "largest_received_segment", td->max_segment);
	if (peer->mss)
		set_int(ev, "peer_mss", peer->mss);
	json_object_set_new(ev, "df", json_boolean(df));
}

/* check_stall returns 1 when it found a stalled key exchange. */
static int check_stall(struct ctx *x)
{
	const struct flow *f = x->f;
	const struct tcp_dir *dirs[2] = {x->tc, x->ts};
	json_t *ev;

	if (established(f))
		return 0;
	for (int i = 1; i >= 0; i--) { /* the server's KEX reply first: the usual victim */
		const struct tcp_dir *td = dirs[i], *peer = dirs[!i];
		uint32_t lost = unacked_max(td);
		int df = td->df_clear == 0;
		const char *who = i == 0 ? "client" : "server";
		int blackhole;

		if (td->path_hole_max > 0) {
			check_path_hole(x, i, td, peer);
			return 1;
		}
		if (td->retransmits == 0 || lost == 0)
			continue;
		/* A black hole loses large segments while smaller ones get through, with DF
		 * set and no ICMP reaching the sender. */
		/* Segments as large crossing the path the other way rule out the MTU. */
		blackhole = df && lost > td->acked_max && lost > peer->acked_max && lost > 512 &&
		            f->nicmp == 0;
		ev = diag(
		    x, blackhole ? "mtu_blackhole_suspected" : "kex_stalled", "error",
		    blackhole
		        ? "Large packets are lost on the path while small ones pass, and no "
		          "ICMP 'fragmentation needed' reaches the sender: an MTU black hole "
		          "(a tunnel or VPN with a smaller MTU, and a firewall dropping ICMP). "
		          "Confirm with `ping -M do -s 1400 HOST` from the sender, then allow "
		          "ICMP type 3 code 4 (ICMPv6 type 2), lower the interface MTU, or clamp "
		          "the MSS on the router."
		        : "A key-exchange packet was retransmitted and never acknowledged: "
		          "packet loss or a firewall dropping the flow mid-handshake. Capture at "
		          "the other end to see whether the packets arrive.",
		    "ssh hangs after 'expecting SSH2_MSG_KEX_ECDH_REPLY' (ssh -v), then "
		    "'Connection timed out' or 'Connection closed'",
		    "A %u-byte %s segment of the key exchange was retransmitted and never "
		    "acknowledged%s.",
		    lost, who, blackhole ? ", while smaller segments got through" : "");
		set_str(ev, "direction", i == 0 ? "client_to_server" : "server_to_client");
		set_int(ev, "segment_size", lost);
		set_int(ev, "retransmits", td->retransmits);
		set_int(ev, "largest_acked_segment", td->acked_max);
		if (peer->mss)
			set_int(ev, "peer_mss", peer->mss);
		json_object_set_new(ev, "df", json_boolean(df));
		return 1;
	}
	return 0;
}

static void check_disconnect(struct ctx *x)
{
	const struct ssh_conn *s = &x->f->ssh;
	int d = s->dir[!x->c].disconnect_seen ? !x->c : x->c;
	const struct ssh_dir *sd = &s->dir[d];
	char *desc, *sym;
	size_t n;
	json_t *ev;

	if (!sd->disconnect_seen)
		return;
	if ((desc = text_escape(sd->disconnect_desc, sd->disconnect_desc_len)) == NULL)
		return;
	n = strlen(desc) + 200;
	if ((sym = malloc(n)) == NULL) {
		free(desc);
		return;
	}
	snprintf(sym, n, "Received disconnect from %s:%u: %s", server(x), sd->disconnect_reason,
	         desc);
	ev = diag(x, "disconnect_message", established(x->f) ? "info" : "error",
	          "The description is the peer's own reason; on the server `journalctl -u ssh` has "
	          "more context.",
	          d == x->c ? NULL : sym, "The %s sent SSH_MSG_DISCONNECT %s: \"%s\".", role(x, d),
	          diagnose_disconnect_reason(sd->disconnect_reason), desc);
	set_str(ev, "from", role(x, d));
	set_int(ev, "reason_code", sd->disconnect_reason);
	set_str(ev, "reason", diagnose_disconnect_reason(sd->disconnect_reason));
	set_str(ev, "description", desc);
	free(desc);
	free(sym);
}

/*
 * auth_guessing: many failed logins from one client address in a short
 * time. The attempts are inferred from encrypted sizes (auth.c), counted
 * per address over a sliding window in the guess table; every connection
 * of that address is marked while the count stays over the threshold,
 * including one that finally succeeds.
 */
static void check_auth_guessing(struct ctx *x)
{
	const struct flow *f = x->f;
	struct auth_inference a;
	struct auth_guess_view v;
	char addr[64];
	json_t *ev;
	int c = x->c;

	if (x->j->guess == NULL || !established(f))
		return;
	if (x->j->auth_known)
		a = x->j->auth;
	else
		auth_infer(f, c, &a);
	if (!auth_guess_add(x->j->guess, f->key.family, c == 0 ? f->key.src : f->key.dst, f->id, &a,
	                    x->j->t_close, &v))
		return;
	text_addr(addr, sizeof(addr), f->key.family, c == 0 ? f->key.src : f->key.dst);
	ev = diag(
	    x, "auth_guessing", "warning",
	    "Someone at this address is guessing passwords or keys. Confirm in sshd's log "
	    "(`journalctl -u ssh | grep -E 'Failed|Invalid user'`), block or rate-limit the "
	    "address (fail2ban, PerSourcePenalties in OpenSSH 9.8+, MaxStartups), and turn off "
	    "PasswordAuthentication where keys will do.",
	    NULL, "%s%u failed logins from %s within %u s, over %u connections.",
	    v.capped ? "At least " : "", v.attempts, addr, v.window_s, v.connections);
	set_str(ev, "client", addr);
	set_int(ev, "attempts", v.attempts);
	set_int(ev, "window_s", v.window_s);
	set_int(ev, "connections", v.connections);
	set_int(ev, "threshold", v.threshold);
	if (v.capped)
		json_object_set_new(ev, "attempts_capped", json_true());
}

void diagnose_flow(const struct flow *f, const struct record_judgment *j, json_t *list)
{
	struct ctx x = {.f = f, .j = j, .list = list, .c = j->client_dir};
	int c = j->client_dir;

	x.tc = &f->dir[c];
	x.ts = &f->dir[!c];
	x.sc = &f->ssh.dir[c];
	x.ss = &f->ssh.dir[!c];
	/* One direction missing is a capture problem, unless all the client did was
	 * send SYNs: then the silence is the server's. */
	x.one_sided = report_one_sided(f);
	x.partial = report_capture_partial(f);

	if (!x.one_sided) {
		check_tcp(&x);
		check_before_banner(&x);
	}
	check_banners(&x);
	check_negotiation(&x);
	if (!x.partial && !check_stall(&x))
		check_closes(&x); /* a stall explains the close that follows it */
	check_disconnect(&x);
	check_auth_guessing(&x);
	check_capture(&x);
}
