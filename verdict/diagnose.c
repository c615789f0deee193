/*
 * diagnose.c: from the facts of a connection to diagnoses an operator can
 * act on (DESIGN.md section 4).
 *
 * Responsible for each code's condition and its evidence (facts from the
 * record, never guesses), the summary sentence and the message the OpenSSH
 * client most likely printed for this connection, and the choice among the
 * rule's hints. When the capture cannot support a conclusion (a direction
 * missing, gaps, a capture that began mid-connection) it says so with
 * capture_incomplete and draws nothing stronger from the missing side.
 * A connection a scanner ended on purpose is scanner_probe (info) instead
 * of the error its end would otherwise be (check_probe).
 * Not responsible for the facts themselves (dissect/), the fixed text of
 * each code (rules.c), host-key continuity (hostkey.c) or any output format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose.h"
#include "policy.h"
#include "rules.h"
#include "scan.h"
#include "text.h"

/* A side that stays silent this long before the server gives up: LoginGraceTime. */
#define DIAG_GRACE_IDLE_US 10000000u
/*
 * The shortest wait that is still a grace timeout when the server was the one
 * waiting (it had said all it would say until the client spoke): sshd's
 * LoginGraceTime counts whole seconds, while a server that drops a connection
 * at once (MaxStartups, a filter) closes within milliseconds.
 */
#define DIAG_GRACE_MIN_US 1000000u

/*
 * "Right after": a probe leaves within this of the last thing it was told
 * (ssh-audit and nmap close within milliseconds); a client that waited
 * longer for something was not probing, and its end keeps its diagnosis.
 */
#define DIAG_PROBE_QUICK_US 1000000u
/* RFC 8270 section 3: a client "SHOULD NOT" ask for a DH group under 2048 bits. */
#define DIAG_GEX_MIN_BITS 2048u

/* A summary is one sentence; one quoting a long wire text is cut here. */
#define DIAG_SUMMARY_MAX 512

struct ctx {
	const struct flow *f;
	struct verdict *v;
	struct arena *arena;
	struct auth_guess *guess;
	struct scan_table *scan;
	int c;                         /* TCP direction of the SSH client */
	const struct tcp_dir *tc, *ts; /* TCP: client, server */
	const struct ssh_dir *sc, *ss; /* SSH: client, server */
	char server_buf[80];           /* "HOST port N", as OpenSSH prints it: server() */
	int one_sided, partial, limited;
	struct diagnosis spare; /* written to when the list is full, then forgotten */
};

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
 * add appends one diagnosis of code with the rule's usual severity, hint
 * variant hint, sym as the client's likely message (kept as given: a
 * rule's text or one in the arena, see symptom(); NULL: none) and a
 * summary formatted from one of rules.h's templates.
 */
static struct diagnosis *add(struct ctx *x, enum diag_code code, int hint, const char *sym,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * summary_format: vsnprintf into out (size bytes) for the templates of
 * rules.h, whose specifiers are nearly all %s and %u: those (and %%) are
 * copied and written here, the same bytes vsnprintf writes, cut at size - 1
 * as it cuts; a template with any other specifier goes to vsnprintf.
 * Returns the length written.
 */
static __attribute__((format(printf, 3, 0))) size_t summary_format(char *out, size_t size,
                                                                   const char *fmt, va_list ap)
{
	size_t n = 0;
	va_list aq;

	for (const char *q = strchr(fmt, '%'); q != NULL; q = strchr(q + 2, '%'))
		if (q[1] != 's' && q[1] != 'u' && q[1] != '%') {
			int r = vsnprintf(out, size, fmt, ap);
			return r < 0 ? 0 : (size_t)r < size ? (size_t)r : size - 1;
		}
	va_copy(aq, ap);
	for (const char *p = fmt; *p != '\0' && n < size - 1;) {
		char num[16];
		const char *s = p, *q;
		size_t len;

		if (p[0] != '%') { /* the literal text up to the next specifier */
			q = strchr(p, '%');
			len = q != NULL ? (size_t)(q - p) : strlen(p);
			p += len;
		} else if (p[1] == 's') {
			s = va_arg(aq, const char *);
			if (s == NULL)
				s = "(null)"; /* as glibc's vsnprintf writes it */
			len = strlen(s);
			p += 2;
		} else if (p[1] == 'u') {
			unsigned v = va_arg(aq, unsigned);
			char *e = num + sizeof(num);

			do
				*--e = (char)('0' + v % 10);
			while ((v /= 10) != 0);
			s = e;
			len = (size_t)(num + sizeof(num) - e);
			p += 2;
		} else { /* "%%" */
			len = 1;
			p += 2;
		}
		if (len > size - 1 - n)
			len = size - 1 - n;
		memcpy(out + n, s, len);
		n += len;
	}
	va_end(aq);
	out[n] = '\0';
	return n;
}

static struct diagnosis *add(struct ctx *x, enum diag_code code, int hint, const char *sym,
                             const char *fmt, ...)
{
	struct diagnosis *d = diagnosis_add(x->v, &x->spare, code, diag_rule(code)->severity);
	char summary[DIAG_SUMMARY_MAX];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	n = summary_format(summary, sizeof(summary), fmt, ap);
	va_end(ap);
	d->hint = (uint8_t)hint;
	d->summary = arena_strndup(x->arena, summary, n);
	d->symptom = sym;
	return d;
}

/*
 * symptom: message k of code's rule (rules.c, where every client message
 * is written once) as this client would print it: its "HOST port N" is
 * the server, and its other place-holders ("...", CODE, DESCRIPTION) the
 * values given after k, in pairs of place-holder and value ending with
 * NULL. The rule's own text when it has no place-holder; else in the
 * arena (NULL when that is out of memory).
 */
static const char *symptom(struct ctx *x, enum diag_code code, int k, ...)
{
	const char *t = diag_rule(code)->symptoms[k], *keys[4] = {"HOST port N"}, *vals[4] = {NULL};
	size_t nk = 1, len = 0, hits = 0;
	char *out = NULL, *o = NULL;
	va_list ap;

	va_start(ap, k);
	while (nk < 4 && (keys[nk] = va_arg(ap, const char *)) != NULL)
		vals[nk++] = va_arg(ap, const char *);
	va_end(ap);
	/* Two passes: the length (and whether anything is replaced), then the
	 * text. Each step finds the nearest place-holder, so the literal text
	 * between them is measured and copied in one go. */
	for (int pass = 0; pass < 2; pass++) {
		for (const char *p = t; *p != '\0';) {
			const char *at = NULL, *q;
			size_t i = nk, kl, n;

			for (size_t j = 0; j < nk; j++)
				if ((q = strstr(p, keys[j])) != NULL && (at == NULL || q < at)) {
					at = q;
					i = j;
				}
			n = at != NULL ? (size_t)(at - p) : strlen(p);
			if (pass == 0)
				len += n;
			else {
				memcpy(o, p, n);
				o += n;
			}
			if (at == NULL)
				break;
			if (i == 0 && vals[0] == NULL)
				vals[0] = server(x); /* only when the message names it */
			kl = strlen(keys[i]);
			n = strlen(vals[i]);
			if (pass == 0) {
				len += n;
				hits++;
			} else {
				memcpy(o, vals[i], n);
				o += n;
			}
			p = at + kl;
		}
		if (hits == 0)
			return t; /* nothing to fill in: the rule's text */
		if (pass == 0 && (o = out = arena_alloc(x->arena, len + 1)) == NULL)
			return NULL;
	}
	*o = '\0';
	return out;
}

/* diag_ev_wire: wire bytes, escaped into the arena (printable ASCII). */
static void diag_ev_wire(struct ctx *x, struct diagnosis *d, const char *key, const uint8_t *p,
                         size_t n)
{
	char *s = text_escape(p, n);

	if (s != NULL)
		diag_ev_text(d, key, arena_strndup(x->arena, s, strlen(s)));
	free(s);
}

static const char *role(const struct ctx *x, int dir)
{
	return dir == x->c ? "client" : "server";
}

/* The close's kind, for diagnoses that apply only once it closed (FIN or RST). */
static const char *close_kind(enum flow_close_kind k)
{
	return verdict_close_kind_name(k);
}

static int closed(const struct flow *f)
{
	return f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST;
}

/*
 * server_banner_seen: the server's identification line arrived before the
 * connection's first close. A banner that comes after the server already
 * reset the connection (an IPS or fail2ban rejecting the client while sshd
 * still answers) never reached the client: the order on the wire counts,
 * not the set of things seen.
 */
static int server_banner_seen(const struct ctx *x)
{
	return x->ss->banner != NULL && (!closed(x->f) || x->ss->t_banner <= x->f->t_close);
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

/* The largest clear-text segment still unacknowledged in a direction. */
static uint32_t unacked_max(const struct tcp_dir *td)
{
	uint32_t m = 0;

	for (uint8_t i = 0; i < td->ninflight; i++)
		if (td->inflight_len[i] > m)
			m = td->inflight_len[i];
	return m;
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

/*
 * analysis_limited: a limit of ours, not the peer, stopped a side's
 * parsing (or dropped its KEXINIT) before NEWKEYS. Said once, for the
 * side it happened to first; the outcome is then incomplete (judge.c).
 */
static void check_limited(struct ctx *x)
{
	const struct flow *f = x->f;
	const char *name, *side;
	struct diagnosis *d;
	unsigned long long value;
	int i = verdict_limited_dir(f);

	if (i < 0 && !x->v->established)
		return;
	if (i < 0) /* established: a KEXINIT dropped by namelist_max still hides facts */
		for (int k = 0; k < 2 && i < 0; k++)
			if (f->ssh.dir[k].anomalies & SSH_ANOM_KEXINIT_LIMIT)
				i = k;
	if (i < 0 || (name = verdict_limit_name(f->ssh.dir[i].anomalies)) == NULL)
		return;
	side = role(x, i);
	value = verdict_limit_value(f->ssh.dir[i].anomalies, f->ssh.limits);
	d = add(x, DIAG_ANALYSIS_LIMITED, 0, NULL, SUM_ANALYSIS_LIMITED, name, value, side,
	        verdict_phase_name(x->v->phase));
	diag_ev_text(d, "limit", name);
	diag_ev_int(d, "value", (int64_t)value);
	diag_ev_text(d, "side", side);
	diag_ev_text(d, "phase", verdict_phase_name(x->v->phase));
}

/* capture_incomplete: the evidence is one-sided or has holes. */
static void check_capture(struct ctx *x)
{
	const struct flow *f = x->f;
	uint32_t gaps = f->dir[0].gaps + f->dir[1].gaps, n = 0;
	const char **missing;
	struct diagnosis *d;

	if (!x->partial)
		return;
	d = add(x, DIAG_CAPTURE_INCOMPLETE, 0, NULL, SUM_CAPTURE_INCOMPLETE);
	if ((missing = arena_alloc(x->arena, 6 * sizeof(*missing))) == NULL)
		return;
	if (x->tc->packets == 0)
		missing[n++] = "client_to_server";
	if (x->ts->packets == 0)
		missing[n++] = "server_to_client";
	if (f->anomalies & FLOW_ANOM_MIDSTREAM)
		missing[n++] = "connection_start";
	if (gaps)
		missing[n++] = "segments";
	if (f->anomalies & FLOW_ANOM_SNAPPED)
		missing[n++] = "packet_tails";
	if (f->anomalies & FLOW_ANOM_EVICTED)
		missing[n++] = "connection_end";
	diag_ev_texts(d, "missing", missing, n);
	diag_ev_int(d, "gaps", gaps);
}

static void check_tcp(struct ctx *x)
{
	const struct flow *f = x->f;
	struct diagnosis *d;

	/* Unanswered: retransmitted SYNs, or one SYN the timeout gave up on; not a
	 * SYN whose flow was evicted or cut by the end of the capture too early. */
	if (verdict_only_syns(f) && f->nicmp == 0 && !(f->anomalies & FLOW_ANOM_EVICTED) &&
	    (x->tc->syns >= 2 || f->close_kind == FLOW_CLOSE_TIMEOUT)) {
		d = add(x, DIAG_TCP_NO_ANSWER, 0, symptom(x, DIAG_TCP_NO_ANSWER, 0, NULL),
		        SUM_TCP_NO_ANSWER, x->tc->syns, x->tc->syns == 1 ? "" : "s");
		diag_ev_int(d, "syns", x->tc->syns);
		diag_ev_ms(d, "span_ms", x->tc->t_syn, x->tc->t_last);
	}
	if (f->t_synack == 0 && x->ts->rst && !x->ts->bytes) {
		d = add(x, DIAG_TCP_REFUSED, 0, symptom(x, DIAG_TCP_REFUSED, 0, NULL),
		        SUM_TCP_REFUSED);
		diag_ev_text(d, "reset_by", "server");
		diag_ev_int(d, "syns", x->tc->syns);
		diag_ev_ms(d, "after_ms", x->v->t0, x->ts->t_rst);
	}
	for (uint32_t i = 0; i < f->nicmp && i < FLOW_MAX_ICMP; i++) {
		const struct flow_icmp *ic = &f->icmp[i];
		int frag = ic->v6 ? ic->type == 2 : (ic->type == 3 && ic->code == 4);
		int unreach = ic->v6 ? ic->type == 1 : ic->type == 3;
		int port = ic->v6 ? ic->code == 4 : ic->code == 3;

		if (frag) {
			d = add(x, DIAG_ICMP_FRAG_NEEDED, 0, NULL, SUM_ICMP_FRAG_NEEDED, ic->mtu);
			diag_ev_int(d, "mtu", ic->mtu);
			diag_ev_text(d, "family", ic->v6 ? "icmpv6" : "icmp");
		} else if (unreach) {
			d = add(x, DIAG_ICMP_UNREACHABLE, 0,
			        symptom(x, DIAG_ICMP_UNREACHABLE, port ? 1 : 0, NULL),
			        SUM_ICMP_UNREACHABLE, ic->v6 ? "v6" : "", ic->code);
			diag_ev_int(d, "type", ic->type);
			diag_ev_int(d, "code", ic->code);
			diag_ev_text(d, "family", ic->v6 ? "icmpv6" : "icmp");
		}
	}
	if (f->ip_fragments > 0) {
		d = add(x, DIAG_IP_FRAGMENTED, 0, NULL, SUM_IP_FRAGMENTED, f->ip_fragments);
		diag_ev_int(d, "fragments", f->ip_fragments);
		diag_ev_int(d, "largest_datagram", f->frag_max_size);
	}
}

/* Text the server sent instead of, or before, an identification line. */
static void server_text(struct ctx *x, struct diagnosis *d)
{
	const struct ssh_dir *ss = x->ss;

	if (ss->pre_len > 0)
		diag_ev_wire(x, d, "server_text", ss->pre, ss->pre_len);
	else if (ss->banner == NULL && ss->first_len > 0)
		diag_ev_wire(x, d, "server_text", ss->first_bytes, ss->first_len);
}

static void check_before_banner(struct ctx *x)
{
	const struct flow *f = x->f;
	const char *sym;
	struct diagnosis *d;
	int hint, k;

	if (!closed(f) || server_banner_seen(x) || x->ts->packets == 0 || f->t_synack == 0)
		return;
	/* A server line the client had to reject: banner_invalid says it better. */
	if (x->ss->state == SSH_ST_NOT_SSH ||
	    (x->ss->anomalies & (SSH_ANOM_BANNER_INVALID | SSH_ANOM_BANNER_NUL |
	                         SSH_ANOM_BANNER_LONG | SSH_ANOM_PREBANNER_MANY)) ||
	    other_protocol(x->ss))
		return;
	if (text_has(x->ss, "Exceeded MaxStartups"))
		hint = HINT_CBSB_MAXSTARTUPS;
	else if (text_has(x->ss, "Not allowed at this time"))
		hint = HINT_CBSB_PENALTY;
	else if (f->close_kind == FLOW_CLOSE_RST)
		hint = HINT_CBSB_RESET;
	else
		hint = HINT_CBSB_DROPPED;
	k = f->close_kind == FLOW_CLOSE_RST ? 1 : 0;
	if (f->close_dir == x->c) {
		k = 2;
		hint = HINT_CBSB_CLIENT;
	}
	sym = symptom(x, DIAG_CLOSED_BEFORE_SERVER_BANNER, k, NULL);
	d = add(x, DIAG_CLOSED_BEFORE_SERVER_BANNER, hint, sym, SUM_CLOSED_BEFORE_SERVER_BANNER,
	        role(x, f->close_dir), close_kind(f->close_kind),
	        (double)(f->t_close - x->v->t0) / 1000.0);
	diag_ev_text(d, "initiator", role(x, f->close_dir));
	diag_ev_text(d, "kind", close_kind(f->close_kind));
	diag_ev_ms(d, "after_ms", x->v->t0, f->t_close);
	diag_ev_int(d, "server_bytes", (int64_t)x->ts->bytes);
	if (x->ss->banner != NULL) {
		/* The banner came after the close: the client answered it with a reset. */
		diag_ev_bool(d, "server_banner_after_close", 1);
		diag_ev_ms(d, "server_banner_ms", x->v->t0, x->ss->t_banner);
	}
	server_text(x, d);
}

static void check_banners(struct ctx *x)
{
	const struct ssh_dir *sides[2] = {x->sc, x->ss};
	struct diagnosis *d;
	const char *sym;

	for (int i = 0; i < 2; i++) {
		const struct ssh_dir *sd = sides[i];
		const char *who = i == 0 ? "client" : "server";
		uint32_t bad = SSH_ANOM_BANNER_INVALID | SSH_ANOM_BANNER_NUL |
		               SSH_ANOM_BANNER_LONG | SSH_ANOM_PREBANNER_MANY;

		if (sd->state != SSH_ST_NOT_SSH && !(sd->anomalies & bad) &&
		    !(i == 1 && other_protocol(sd)))
			continue;
		if (sd->first_len == 0 && sd->banner == NULL)
			continue;
		/* A side the capture joined mid-stream: its first bytes seen are
		 * not its first line, so there is no line to judge. */
		if (sd->banner == NULL && (x->f->anomalies & FLOW_ANOM_MIDSTREAM) &&
		    sd->state != SSH_ST_NOT_SSH)
			continue;
		/* OpenSSH's client prints these about the server's line only; a
		 * client whose own line is bad is not OpenSSH, so nothing to quote. */
		if (i == 0)
			sym = NULL;
		else
			sym = symptom(x, DIAG_BANNER_INVALID,
			              (sd->anomalies & SSH_ANOM_BANNER_NUL)    ? 0
			              : (sd->anomalies & SSH_ANOM_BANNER_LONG) ? 1
			                                                       : 2,
			              NULL);
		d = add(x, DIAG_BANNER_INVALID,
		        i == 1 ? HINT_BANNER_INVALID_SERVER : HINT_BANNER_INVALID_CLIENT, sym,
		        SUM_BANNER_INVALID, who);
		diag_ev_text(d, "side", who);
		diag_ev_wire(x, d, "first_bytes", sd->first_bytes, sd->first_len);
		if (sd->anomalies & SSH_ANOM_BANNER_NUL)
			diag_ev_text(d, "problem", "nul_byte");
		else if (sd->anomalies & SSH_ANOM_BANNER_LONG)
			diag_ev_text(d, "problem", "line_too_long");
		else if (sd->anomalies & SSH_ANOM_PREBANNER_MANY)
			diag_ev_text(d, "problem", "too_many_lines");
		else
			diag_ev_text(d, "problem", "not_ssh");
	}
	if (x->sc->banner && x->ss->banner && x->sc->banner_len > 8 && x->ss->banner_len > 8) {
		/* SSH-1.x (other than 1.99, which also speaks 2.0) against 2.0. */
		int c1 = memcmp(x->sc->banner, "SSH-1.", 6) == 0 &&
		         memcmp(x->sc->banner, "SSH-1.99-", 9) != 0;
		int s1 = memcmp(x->ss->banner, "SSH-1.", 6) == 0 &&
		         memcmp(x->ss->banner, "SSH-1.99-", 9) != 0;
		if (c1 != s1) {
			/* Client's major first: "2 vs. 1" (message 0) or "1 vs. 2". */
			d = add(x, DIAG_PROTOCOL_VERSION_MISMATCH, 0,
			        symptom(x, DIAG_PROTOCOL_VERSION_MISMATCH, c1 ? 1 : 0, NULL),
			        SUM_PROTOCOL_VERSION_MISMATCH, c1 ? "client" : "server",
			        c1 ? "server" : "client");
			diag_ev_wire(x, d, "client_banner", x->sc->banner, x->sc->banner_len);
			diag_ev_wire(x, d, "server_banner", x->ss->banner, x->ss->banner_len);
		}
	}
}

/* The time of the last SSH message a side sent, 0 when it sent none. */
static uint64_t last_spoke(const struct ssh_dir *sd)
{
	uint64_t t = sd->t_banner;

	if (sd->t_kexinit > t)
		t = sd->t_kexinit;
	if (sd->t_kexmsg > t)
		t = sd->t_kexmsg;
	return t;
}

/*
 * check_grace: LoginGraceTime, the server giving up on a client that went
 * quiet. A server that closes while it waits for the client (it spoke last,
 * or the client never spoke) after the client was silent for the whole span
 * is a grace timeout whatever the span (LoginGraceTime 3 closes after 3 s),
 * unless the span is under DIAG_GRACE_MIN_US: a drop at once (MaxStartups).
 * Any close after DIAG_GRACE_IDLE_US of client silence is one too. The
 * silence counts from the client's last message, or from the connection's
 * opening when it sent none (sshd's timer starts at accept). Returns 1 when
 * it added banner_timeout.
 */
static int check_grace(struct ctx *x)
{
	const struct flow *f = x->f;
	uint64_t client_last = last_spoke(x->sc), server_last = last_spoke(x->ss), idle;
	int waiting = client_last == 0 || server_last >= client_last;
	struct diagnosis *d;

	if (client_last == 0)
		client_last = x->v->t0;
	idle = f->t_close > client_last ? f->t_close - client_last : 0;
	if (f->close_dir == x->c || x->tc->packets == 0 ||
	    !(idle >= DIAG_GRACE_IDLE_US || (waiting && idle >= DIAG_GRACE_MIN_US)))
		return 0;
	d = add(x, DIAG_BANNER_TIMEOUT, 0, symptom(x, DIAG_BANNER_TIMEOUT, 0, NULL),
	        SUM_BANNER_TIMEOUT, (double)idle / 1e6);
	diag_ev_ms(d, "idle_ms", client_last, f->t_close);
	diag_ev_text(d, "kind", close_kind(f->close_kind));
	diag_ev_bool(d, "client_banner_sent", x->sc->banner != NULL);
	diag_ev_bool(d, "client_kexinit_sent", x->sc->kexinit != NULL);
	diag_ev_bool(d, "server_waiting", waiting);
	return 1;
}

static void check_closes(struct ctx *x)
{
	const struct flow *f = x->f;
	struct diagnosis *d;
	int rst;

	if (!closed(f) || x->v->established || !server_banner_seen(x))
		return;
	if (check_grace(x))
		return;
	if (x->sc->banner == NULL)
		return;
	/* Closed (message 0) or reset (1) by the server. */
	rst = f->close_kind == FLOW_CLOSE_RST;
	if (x->sc->kexinit == NULL || x->ss->kexinit == NULL) {
		d = add(x, DIAG_CLOSED_AFTER_BANNER,
		        f->close_dir == x->c ? HINT_CAB_CLIENT : HINT_CAB_SERVER,
		        f->close_dir == x->c ? NULL
		                             : symptom(x, DIAG_CLOSED_AFTER_BANNER, rst, NULL),
		        SUM_CLOSED_AFTER_BANNER, role(x, f->close_dir), close_kind(f->close_kind));
		diag_ev_text(d, "initiator", role(x, f->close_dir));
		diag_ev_text(d, "kind", close_kind(f->close_kind));
		diag_ev_bool(d, "client_kexinit_sent", x->sc->kexinit != NULL);
		diag_ev_bool(d, "server_kexinit_sent", x->ss->kexinit != NULL);
		diag_ev_ms(d, "after_ms", x->v->t0, f->t_close);
		return;
	}
	if (f->ssh.negotiated_ok && f->ssh.neg.failed_cat >= 0)
		return; /* no_common_algorithm explains the close */
	d = add(x, DIAG_CLOSED_DURING_KEX, 0,
	        f->close_dir != x->c ? symptom(x, DIAG_CLOSED_DURING_KEX, rst, NULL)
	        : f->ssh.hostkey.present
	            /* the client closing once it has the host key: it rejected the key */
	            ? symptom(x, DIAG_CLOSED_DURING_KEX, 2, NULL)
	            : NULL,
	        SUM_CLOSED_DURING_KEX, role(x, f->close_dir), close_kind(f->close_kind));
	diag_ev_text(d, "initiator", role(x, f->close_dir));
	diag_ev_text(d, "kind", close_kind(f->close_kind));
	diag_ev_int(d, "last_client_message", x->sc->last_msg);
	diag_ev_int(d, "last_server_message", x->ss->last_msg);
	diag_ev_ms(d, "after_ms", x->v->t0, f->t_close);
}

static void check_negotiation(struct ctx *x)
{
	const struct ssh_conn *s = &x->f->ssh;
	struct diagnosis *d;
	int cat;

	if (!s->negotiated_ok || x->sc->kexinit == NULL || x->ss->kexinit == NULL)
		return;
	cat = s->neg.failed_cat;
	if (cat >= 0) {
		const char *theirs = x->ss->kexinit->list[kex_cat_list(cat)];
		/* The client quotes the server's whole offer: no summary-sized buffer. */
		/* Messages 0 to 4: key exchange, host key, cipher, MAC, compression. */
		int k = cat == KEX_CAT_KEX       ? 0
		        : cat == KEX_CAT_HOSTKEY ? 1
		                                 : 2 + (cat - KEX_CAT_ENC_C2S) / 2;
		d = add(x, DIAG_NO_COMMON_ALGORITHM, 0,
		        symptom(x, DIAG_NO_COMMON_ALGORITHM, k, "...", theirs, NULL),
		        SUM_NO_COMMON_ALGORITHM, openssh_category_words(cat));
		diag_ev_text(d, "category", kex_cat_group(cat));
		diag_ev_text(d, "direction",
		             cat == KEX_CAT_KEX || cat == KEX_CAT_HOSTKEY ? "both"
		             : (cat % 2 == 0)                             ? "client_to_server"
		                                                          : "server_to_client");
		diag_ev_names(d, "client_offer", x->sc->kexinit->list[kex_cat_list(cat)]);
		diag_ev_names(d, "server_offer", theirs);
		return;
	}
	/* Policy: what was agreed, judged by the table in policy.c. */
	for (int i = 0; i < KEX_NCATS; i++) {
		const char *alg = s->neg.alg[i];
		const struct policy_verdict *pv;
		if (alg[0] == '\0' || kex_neg_is_repeat(&s->neg, i))
			continue; /* the same algorithm both ways: reported once */
		if ((pv = policy_weak_cat(i, alg, strlen(alg))) == NULL)
			continue;
		d = add(x, DIAG_WEAK_ALGORITHM, 0, NULL, SUM_WEAK_ALGORITHM, alg, kex_cat_group(i),
		        pv->reason);
		diag_ev_text(d, "algorithm", alg);
		diag_ev_text(d, "category", kex_cat_group(i));
		diag_ev_text(d, "reason", pv->reason);
		diag_ev_text(d, "source", pv->source);
	}
	if (s->neg.alg[KEX_CAT_KEX][0] && !policy_is_pq_kex(s->neg.alg[KEX_CAT_KEX])) {
		d = add(x, DIAG_NON_PQ_KEX, 0, NULL, SUM_NON_PQ_KEX, s->neg.alg[KEX_CAT_KEX]);
		diag_ev_text(d, "kex", s->neg.alg[KEX_CAT_KEX]);
	}
	for (int dir = 0; dir < 2; dir++) {
		const char *cipher = s->neg.alg[KEX_CAT_ENC_C2S + dir];
		const char *mac = s->neg.alg[KEX_CAT_MAC_C2S + dir];
		int chacha =
		    cipher[0] == 'c' && strcmp(cipher, "chacha20-poly1305@openssh.com") == 0;
		int cbc_etm = policy_is_cbc(cipher) && policy_is_etm(mac);

		if (s->neg.strict_kex || !(chacha || cbc_etm))
			continue;
		d = add(x, DIAG_TERRAPIN_EXPOSED, 0, NULL, SUM_TERRAPIN_EXPOSED, cipher, mac);
		diag_ev_text(d, "cipher", cipher);
		diag_ev_text(d, "mac", mac);
		diag_ev_bool(
		    d, "client_strict",
		    kex_list_has(x->sc->kexinit->list[KEX_ALGS], "kex-strict-c-v00@openssh.com"));
		diag_ev_bool(
		    d, "server_strict",
		    kex_list_has(x->ss->kexinit->list[KEX_ALGS], "kex-strict-s-v00@openssh.com"));
		break;
	}
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
	enum diag_code code = blackhole ? DIAG_MTU_BLACKHOLE_SUSPECTED : DIAG_KEX_STALLED;
	struct diagnosis *d;

	d = add(x, code, blackhole ? 0 : HINT_STALL_HOLE, symptom(x, code, 0, NULL), SUM_STALL_HOLE,
	        td->path_hole_max, i == 0 ? "client" : "server", td->max_segment);
	diag_ev_text(d, "direction", i == 0 ? "client_to_server" : "server_to_client");
	diag_ev_text(d, "seen_at", "receiver");
	diag_ev_int(d, "lost_bytes", td->path_hole_max);
	diag_ev_int(d, "largest_received_segment", td->max_segment);
	if (peer->mss)
		diag_ev_int(d, "peer_mss", peer->mss);
	diag_ev_bool(d, "df", df);
}

/* check_stall returns 1 when it found a stalled key exchange. */
static int check_stall(struct ctx *x)
{
	const struct flow *f = x->f;
	const struct tcp_dir *dirs[2] = {x->tc, x->ts};
	struct diagnosis *d;

	if (x->v->established)
		return 0;
	for (int i = 1; i >= 0; i--) { /* the server's KEX reply first: the usual victim */
		const struct tcp_dir *td = dirs[i], *peer = dirs[!i];
		uint32_t lost = unacked_max(td);
		int df = td->df_clear == 0;
		int blackhole;
		enum diag_code code;

		if (td->path_hole_max > 0) {
			check_path_hole(x, i, td, peer);
			return 1;
		}
		if (td->retransmits == 0 || lost == 0)
			continue;
		/* A black hole loses large segments while smaller ones get through, with DF
		 * set and no ICMP reaching the sender. Segments as large crossing the path
		 * the other way rule out the MTU. */
		blackhole = df && lost > td->acked_max && lost > peer->acked_max && lost > 512 &&
		            f->nicmp == 0;
		code = blackhole ? DIAG_MTU_BLACKHOLE_SUSPECTED : DIAG_KEX_STALLED;
		d = add(x, code, blackhole ? 0 : HINT_STALL_RETRANSMITTED,
		        symptom(x, code, 0, NULL), SUM_STALL_RETRANSMITTED, lost,
		        i == 0 ? "client" : "server",
		        blackhole ? ", while smaller segments got through" : "");
		diag_ev_text(d, "direction", i == 0 ? "client_to_server" : "server_to_client");
		diag_ev_int(d, "segment_size", lost);
		diag_ev_int(d, "retransmits", td->retransmits);
		diag_ev_int(d, "largest_acked_segment", td->acked_max);
		if (peer->mss)
			diag_ev_int(d, "peer_mss", peer->mss);
		diag_ev_bool(d, "df", df);
		return 1;
	}
	return 0;
}

static void check_disconnect(struct ctx *x)
{
	const struct ssh_conn *s = &x->f->ssh;
	int dir = s->dir[!x->c].disconnect_seen ? !x->c : x->c;
	const struct ssh_dir *sd = &s->dir[dir];
	struct diagnosis *d;
	char *esc, *desc, code[16];

	if (!sd->disconnect_seen)
		return;
	if ((esc = text_escape(sd->disconnect_desc, sd->disconnect_desc_len)) == NULL)
		return;
	desc = arena_strndup(x->arena, esc, strlen(esc));
	free(esc);
	if (desc == NULL)
		return;
	snprintf(code, sizeof(code), "%u", sd->disconnect_reason);
	d = add(x, DIAG_DISCONNECT_MESSAGE, 0,
	        dir != x->c ? symptom(x, DIAG_DISCONNECT_MESSAGE, 0, "CODE", code, "DESCRIPTION",
	                              desc, NULL)
	                    : NULL,
	        SUM_DISCONNECT_MESSAGE, role(x, dir),
	        diagnose_disconnect_reason(sd->disconnect_reason), desc);
	/* An error when it ended the handshake; after NEWKEYS, the session's own end. */
	d->severity = x->v->established ? SEV_INFO : SEV_ERROR;
	diag_ev_text(d, "from", role(x, dir));
	diag_ev_int(d, "reason_code", sd->disconnect_reason);
	diag_ev_text(d, "reason", diagnose_disconnect_reason(sd->disconnect_reason));
	diag_ev_text(d, "description", desc);
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
	const uint8_t *client = x->c == 0 ? f->key.src : f->key.dst;
	struct auth_guess_view gv;
	struct diagnosis *d;
	char addr[64];

	if (x->guess == NULL || !x->v->auth_known)
		return;
	if (!auth_guess_add(x->guess, f->key.family, client, f->id, &x->v->auth, x->v->t_close,
	                    &gv))
		return;
	text_addr(addr, sizeof(addr), f->key.family, client);
	d = add(x, DIAG_AUTH_GUESSING, 0, NULL, SUM_AUTH_GUESSING, gv.capped ? "At least " : "",
	        gv.attempts, addr, gv.window_s, gv.connections);
	diag_ev_text(d, "client", arena_strndup(x->arena, addr, strlen(addr)));
	diag_ev_int(d, "attempts", gv.attempts);
	diag_ev_int(d, "window_s", gv.window_s);
	diag_ev_int(d, "connections", gv.connections);
	diag_ev_int(d, "threshold", gv.threshold);
	if (gv.capped)
		diag_ev_bool(d, "attempts_capped", 1);
}

/*
 * Scanners that name themselves in their identification line (the software
 * part, after "SSH-x.y-"): nmap's ssh scripts (nselib/ssh1.lua, ssh2.lua,
 * scripts/ssh2-enum-algos.nse, sshv1.nse: "Nmap-SSH2-Hostkey",
 * "Nmap_SSH2_Enum_Algos", "NmapNSE_1.0") and ZGrab ("ZGrab ZGrab SSH
 * Survey", used by Internet-wide surveys). Many scanners call themselves
 * OpenSSH (ssh-audit: "OpenSSH_8.2") or Go: those are told by behaviour.
 */
static const char *known_scanner(const struct ssh_dir *sc)
{
	static const char *const names[] = {"Nmap", "ZGrab"};
	struct ssh_banner_fields bf;

	/* RFC 4253 4.2: SSH-protoversion-softwareversion */
	if (sc->banner == NULL || ssh_banner_split(sc->banner, sc->banner_len, &bf) != 0 ||
	    bf.software == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i]);
		if (bf.software_len >= k && memcmp(bf.software, names[i], k) == 0)
			return names[i];
	}
	return NULL;
}

/* The diagnoses that say how a handshake ended badly: a probe's end is none of them. */
static int ends_handshake(enum diag_code code)
{
	switch (code) {
	case DIAG_CLOSED_BEFORE_SERVER_BANNER:
	case DIAG_BANNER_TIMEOUT:
	case DIAG_BANNER_INVALID:
	case DIAG_PROTOCOL_VERSION_MISMATCH:
	case DIAG_CLOSED_AFTER_BANNER:
	case DIAG_NO_COMMON_ALGORITHM:
	case DIAG_CLOSED_DURING_KEX:
	case DIAG_DISCONNECT_MESSAGE:
		return 1;
	default:
		return 0;
	}
}

/*
 * probe_alone: the pattern that makes this connection a probe by itself,
 * or NULL. The client left when it was its turn to speak and it had what
 * it came for:
 *  - "connect_only": it opened the connection and closed it within
 *    DIAG_PROBE_QUICK_US without a byte, before the server's banner (a port
 *    scan's connect, a TCP health check);
 *  - "closed_after_kexinit": both KEXINITs crossed, the offers agree, and
 *    the client closed within DIAG_PROBE_QUICK_US of the last message
 *    without the key-exchange message it owed next (RFC 4253 7.1); a
 *    mismatch stays no_common_algorithm (a real client leaves then too);
 *  - "closed_after_gex_request": it sent a DH group-exchange request and
 *    closed as soon as the group came (RFC 4419 3), without GEX_INIT;
 *  - "gex_size_probe": its group-exchange request asks for a group no
 *    client uses: a maximum under 2048 bits (RFC 8270 3) or one exact size
 *    (minimum = maximum), to learn which sizes the server has.
 */
static const char *probe_alone(struct ctx *x, uint64_t *since)
{
	const struct flow *f = x->f;
	const struct ssh_gex *g = &f->ssh.gex;
	uint64_t last =
	    last_spoke(x->sc) > last_spoke(x->ss) ? last_spoke(x->sc) : last_spoke(x->ss);
	int by_client = f->close_dir == x->c, agreed;

	agreed = !(f->ssh.negotiated_ok && f->ssh.neg.failed_cat >= 0);
	if (by_client && x->tc->bytes == 0 && x->ss->banner == NULL && f->t_synack != 0 &&
	    f->t_close >= f->t_synack && f->t_close - f->t_synack < DIAG_PROBE_QUICK_US) {
		*since = f->t_synack;
		return "connect_only";
	}
	if (g->present && g->max > 0 && (g->max < DIAG_GEX_MIN_BITS || g->min == g->max)) {
		*since = 0;
		return "gex_size_probe";
	}
	/* A server that said why it ended (DISCONNECT) explains the client's close. */
	if (!by_client || x->sc->kexinit == NULL || x->ss->disconnect_seen || last == 0 ||
	    f->t_close < last || f->t_close - last >= DIAG_PROBE_QUICK_US)
		return NULL;
	*since = last;
	if (x->sc->last_msg == SSH_MSG_KEXINIT && x->sc->kexmsg_mask == 0 &&
	    x->ss->kexmsg_mask == 0 && x->ss->kexinit != NULL && f->ssh.negotiated_ok && agreed)
		return "closed_after_kexinit";
	if (x->sc->last_msg == SSH_MSG_KEX_DH_GEX_REQUEST && (x->ss->kexmsg_mask & (1u << 1)))
		return "closed_after_gex_request";
	return NULL;
}

/*
 * check_probe: scanner_probe, for a connection that ended before NEWKEYS
 * because a scanner ended it: by itself (probe_alone), by a scanner's own
 * name in its banner, or because its source is probing: an earlier probe
 * from the same address within scan_window_s, or scan_threshold abandoned
 * handshakes with different offers (a person's client retrying sends the
 * same KEXINIT; a scanner varies it to see what the server takes). The
 * error that would say how the handshake ended is left out and named in the
 * evidence ("instead_of"), so a scan does not flood an error view. A
 * connection with no algorithm in common is a probe only by name or alone:
 * a person trying one -o option after another is not a scanner. Partial
 * captures, and connections whose parsing a limit stopped, are never
 * judged: their end is not known.
 */
static void check_probe(struct ctx *x)
{
	const struct flow *f = x->f;
	const uint8_t *client = x->c == 0 ? f->key.src : f->key.dst;
	const char *pattern, *scanner = known_scanner(x->sc), **instead;
	struct scan_view sv;
	struct diagnosis *d;
	uint64_t since = 0, offer = 0;
	uint32_t ninstead = 0, k = 0;
	int from_source, agreed;

	if (!closed(f) || x->v->established || x->partial || x->limited)
		return;
	/* Nothing from either side but the TCP handshake: not a scanner's word. */
	if (x->tc->packets == 0 || (x->tc->bytes == 0 && x->ts->bytes == 0 && f->t_synack == 0))
		return;
	agreed = !(f->ssh.negotiated_ok && f->ssh.neg.failed_cat >= 0);
	pattern = probe_alone(x, &since);
	if (x->sc->kexinit != NULL)
		offer =
		    scan_offer_hash(x->scan, (const char *const *)x->sc->kexinit->list, KEX_NLISTS);
	from_source = scan_table_add(x->scan, f->key.family, client, f->t_close, offer,
	                             pattern != NULL || scanner != NULL, &sv);
	if (pattern == NULL && scanner != NULL)
		pattern = "scanner_banner";
	if (pattern == NULL && from_source && agreed && x->sc->banner != NULL)
		pattern = "repeated_short_connections";
	if (pattern == NULL)
		return;
	if ((instead = arena_alloc(x->arena, VERDICT_MAX_DIAGNOSES * sizeof(*instead))) == NULL)
		return;
	for (uint32_t i = 0; i < x->v->ndiag; i++) {
		if (x->v->diag[i].severity == SEV_ERROR && ends_handshake(x->v->diag[i].code))
			instead[ninstead++] = diag_rule(x->v->diag[i].code)->code;
		else
			x->v->diag[k++] = x->v->diag[i];
	}
	x->v->ndiag = k;
	d = add(x, DIAG_SCANNER_PROBE, 0, NULL, SUM_SCANNER_PROBE, pattern);
	diag_ev_text(d, "pattern", pattern);
	if (scanner != NULL)
		diag_ev_text(d, "scanner", scanner);
	if (x->sc->banner != NULL)
		diag_ev_wire(x, d, "client_banner", x->sc->banner, x->sc->banner_len);
	diag_ev_text(d, "initiator", role(x, f->close_dir));
	diag_ev_int(d, "last_client_message", x->sc->last_msg);
	if (since != 0)
		diag_ev_ms(d, "closed_after_ms", since, f->t_close);
	if (f->ssh.gex.present && f->ssh.gex.max > 0) {
		diag_ev_int(d, "gex_min", f->ssh.gex.min);
		diag_ev_int(d, "gex_n", f->ssh.gex.n);
		diag_ev_int(d, "gex_max", f->ssh.gex.max);
	}
	if (sv.connections > 1) {
		diag_ev_int(d, "source_connections", sv.connections);
		diag_ev_int(d, "source_offers", sv.offers);
		diag_ev_int(d, "source_probes", sv.probes);
		diag_ev_int(d, "window_s", sv.window_s);
	}
	if (ninstead > 0)
		diag_ev_texts(d, "instead_of", instead, ninstead);
}

/*
 * sort_by_severity puts the list most severe first, as the record promises,
 * keeping the checks' order within a severity (a stable insertion sort: a
 * list has a few entries).
 */
static void sort_by_severity(struct verdict *v)
{
	for (uint32_t i = 1; i < v->ndiag; i++) {
		struct diagnosis d = v->diag[i];
		uint32_t j = i;

		for (; j > 0 && v->diag[j - 1].severity > d.severity; j--)
			v->diag[j] = v->diag[j - 1];
		v->diag[j] = d;
	}
}

void diagnose_flow(const struct flow *f, struct verdict *v, struct arena *arena,
                   struct auth_guess *guess, struct scan_table *scan)
{
	/* Field by field: zeroing the whole context (its spare diagnosis, which
	 * diagnosis_add clears when it is used) costs more than the checks. */
	struct ctx x;
	int c = v->client_dir;

	x.f = f;
	x.v = v;
	x.arena = arena;
	x.guess = guess;
	x.scan = scan;
	x.c = c;
	x.server_buf[0] = '\0';
	x.tc = &f->dir[c];
	x.ts = &f->dir[!c];
	x.sc = &f->ssh.dir[c];
	x.ss = &f->ssh.dir[!c];
	/* One direction missing is a capture problem, unless all the client did was
	 * send SYNs: then the silence is the server's. */
	x.one_sided = verdict_one_sided(f);
	x.partial = verdict_capture_partial(f);
	/* A side a limit stopped: its silence afterwards is ours, not its own. */
	x.limited = verdict_limited_dir(f) >= 0;

	if (!x.one_sided) {
		check_tcp(&x);
		if (!x.limited)
			check_before_banner(&x);
	}
	check_banners(&x);
	check_negotiation(&x);
	if (!x.partial && !x.limited && !check_stall(&x))
		check_closes(&x); /* a stall explains the close that follows it */
	check_disconnect(&x);
	check_auth_guessing(&x);
	check_capture(&x);
	check_limited(&x);
	check_probe(&x);
	sort_by_severity(v);
}
