/*
 * test_verdict.c: unit.verdict — the verdict layer (verdict/) judged from
 * facts built by hand, without a capture: every diagnosis rule diagnose.c
 * emits (a positive case, the nearest negative case, its evidence, severity,
 * hint variant and symptom), the rule table itself, and the judgments
 * (outcome, phase, client direction) verdict_judge is made of.
 *
 * Each case starts from one complete, healthy fact set and changes the few
 * facts a rule reads, so a failure points at one condition. Not covered
 * here: host_key_changed / host_key_shared (unit.hoststore) and the
 * authentication reading and auth_guessing (unit.auth).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "kex.h"
#include "policy.h"
#include "record.h"
#include "rules.h"
#include "tap.h"
#include "verdict.h"

#define T0 1700000000000000ull /* capture time of the SYN, us */
#define MS 1000ull
#define SEC 1000000ull
/* The server as OpenSSH's client names it in its messages. */
#define SERVER "198.18.0.2 port 22"
#define CLIENT_BANNER "SSH-2.0-OpenSSH_9.6"
#define SERVER_BANNER "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
#define STALL_SYMPTOM                                                                              \
	"ssh hangs after 'expecting SSH2_MSG_KEX_ECDH_REPLY' (ssh -v), then 'Connection timed "    \
	"out' or 'Connection closed'"

/* A flow and the KEXINITs it points at (by TCP direction), freed as one. */
struct conn {
	struct flow f;
	struct kex_init kex[2];
};

/* One context and one verdict for every case: the guess table stays off
 * (no limits on these flows), so cases do not see each other. */
static struct verdict_ctx ctx;
static struct verdict *v;
static uint64_t next_id;

/* The lists both sides offer unless a case says otherwise: one algorithm
 * each, none of them weak, no strict key exchange. */
static const char *const base_lists[8] = {
    [KEX_ALGS] = "curve25519-sha256", [KEX_HOSTKEY] = "ssh-ed25519",
    [KEX_ENC_C2S] = "aes128-ctr",     [KEX_ENC_S2C] = "aes128-ctr",
    [KEX_MAC_C2S] = "hmac-sha2-256",  [KEX_MAC_S2C] = "hmac-sha2-256",
    [KEX_COMP_C2S] = "none",          [KEX_COMP_S2C] = "none",
};

/*
 * conn_new: 198.18.0.1:50000 opened a TCP connection to 198.18.0.2:22 at
 * T0 (SYN-ACK at 1 ms, ACK at 2 ms); the SSH roles are known from the
 * protocol, nothing else was sent and the flow is still open.
 */
static struct conn *conn_new(void)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct flow *f;

	if (c == NULL) {
		perror("calloc");
		exit(1);
	}
	f = &c->f;
	f->id = ++next_id;
	f->key = (struct addr_pair){
	    .family = 4,
	    .src = {198, 18, 0, 1},
	    .dst = {198, 18, 0, 2},
	    .sport = 50000,
	    .dport = 22,
	};
	f->initiator_known = 1;
	f->close_dir = -1;
	f->t_syn = T0;
	f->t_synack = T0 + 1 * MS;
	f->t_ack = T0 + 2 * MS;
	f->t_first = T0;
	f->t_last = T0 + 2 * MS;
	f->dir[0] = (struct tcp_dir){
	    .syn = 1,
	    .syns = 1,
	    .packets = 2,
	    .mss = 1460,
	    .t_syn = T0,
	    .t_first = T0,
	    .t_last = T0 + 2 * MS,
	};
	f->dir[1] = (struct tcp_dir){
	    .syn = 1,
	    .syns = 1,
	    .packets = 1,
	    .mss = 1400,
	    .t_syn = T0 + 1 * MS,
	    .t_first = T0 + 1 * MS,
	    .t_last = T0 + 1 * MS,
	};
	f->ssh.client_dir = 0;
	f->ssh.role_source = SSH_ROLE_KEX_MESSAGES;
	f->ssh.neg.failed_cat = -1;
	return c;
}

/* conn_syns: the initiator sent syns SYNs, the last at t_last; nothing came back. */
static struct conn *conn_syns(uint32_t syns, uint64_t t_last)
{
	struct conn *c = conn_new();
	struct flow *f = &c->f;

	f->t_synack = f->t_ack = 0;
	f->t_last = t_last;
	f->dir[0].syns = f->dir[0].packets = syns;
	f->dir[0].t_last = t_last;
	memset(&f->dir[1], 0, sizeof(f->dir[1]));
	f->ssh.client_dir = 0;
	f->ssh.role_source = SSH_ROLE_UNKNOWN;
	return c;
}

/* segment: dir sent one segment of n payload bytes at t. */
static void segment(struct conn *c, int dir, uint32_t n, uint64_t t)
{
	struct tcp_dir *td = &c->f.dir[dir];

	td->packets++;
	td->data_packets++;
	td->bytes += n;
	if (n > td->max_segment)
		td->max_segment = n;
	td->t_last = t;
	if (t > c->f.t_last)
		c->f.t_last = t;
	c->f.ssh.dir[dir].bytes += n;
}

/* banner: dir sent its identification line text at t (text is borrowed). */
static void banner(struct conn *c, int dir, const char *text, uint64_t t)
{
	struct ssh_dir *sd = &c->f.ssh.dir[dir];
	uint32_t n = (uint32_t)strlen(text);

	sd->banner = (uint8_t *)text;
	sd->banner_len = n;
	sd->first_bytes = (uint8_t *)text;
	sd->first_len = n < 64 ? n : 64;
	sd->t_first = sd->t_banner = t;
	sd->state = SSH_ST_PACKETS;
	segment(c, dir, n + 2, t);
}

/* raw: dir sent bytes (not an identification line) at t, leaving its parser in state. */
static void raw(struct conn *c, int dir, const char *bytes, uint32_t n, enum ssh_state state,
                uint32_t anomalies, uint64_t t)
{
	struct ssh_dir *sd = &c->f.ssh.dir[dir];

	sd->first_bytes = (uint8_t *)bytes;
	sd->first_len = n < 64 ? n : 64;
	sd->t_first = t;
	sd->state = state;
	sd->anomalies |= anomalies;
	segment(c, dir, n, t);
}

/* kexinit: dir sent a KEXINIT offering lists at t; with both sent, negotiate as ssh.c does. */
static void kexinit(struct conn *c, int dir, const char *const lists[8], uint64_t t)
{
	struct kex_init *k = &c->kex[dir];
	struct ssh_conn *s = &c->f.ssh;
	int cd = s->client_dir;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < 8; i++) {
		k->list[i] = (char *)lists[i];
		k->list_len[i] = (uint32_t)strlen(lists[i]);
	}
	k->list[KEX_LANG_C2S] = k->list[KEX_LANG_S2C] = (char *)"";
	k->markers = (uint8_t)kex_init_markers(k);
	s->dir[dir].kexinit = k;
	s->dir[dir].t_kexinit = t;
	s->dir[dir].last_msg = SSH_MSG_KEXINIT;
	s->dir[dir].clear_packets++;
	segment(c, dir, 1000, t);
	if (s->dir[0].kexinit != NULL && s->dir[1].kexinit != NULL) {
		kex_negotiate(NULL, s->dir[cd].kexinit, s->dir[!cd].kexinit, &s->neg);
		s->negotiated_ok = 1;
	}
}

/* kexmsg: dir sent key-exchange message msg (30..34) at t; 31 from the server carries the host key.
 */
static void kexmsg(struct conn *c, int dir, int msg, uint64_t t)
{
	struct ssh_dir *sd = &c->f.ssh.dir[dir];

	sd->t_kexmsg = t;
	sd->kexmsg_mask |= 1u << (msg - SSH_MSG_KEX_30);
	sd->last_msg = (uint8_t)msg;
	if (msg == SSH_MSG_KEX_31 && dir != c->f.ssh.client_dir)
		c->f.ssh.hostkey.present = 1;
	segment(c, dir, msg == SSH_MSG_KEX_31 ? 600 : 50, t);
}

/* newkeys: both sides sent NEWKEYS at t, and encrypted bytes followed. */
static void newkeys(struct conn *c, uint64_t t)
{
	for (int i = 0; i < 2; i++) {
		c->f.ssh.dir[i].t_newkeys = t;
		c->f.ssh.dir[i].last_msg = SSH_MSG_NEWKEYS;
		c->f.ssh.dir[i].enc_bytes = 500;
		segment(c, i, 500, t + 10 * MS);
	}
}

/* closes: dir ended the connection with a FIN or a RST at t. */
static void closes(struct conn *c, int dir, enum flow_close_kind kind, uint64_t t)
{
	struct flow *f = &c->f;
	struct tcp_dir *td = &f->dir[dir];

	f->close_kind = kind;
	f->close_dir = (int8_t)dir;
	f->t_close = t;
	td->packets++;
	td->t_last = t;
	if (kind == FLOW_CLOSE_FIN) {
		td->fin = 1;
		td->fins++;
		td->t_fin = t;
	} else if (kind == FLOW_CLOSE_RST) {
		td->rst = 1;
		td->rsts++;
		td->t_rst = t;
	}
	if (t > f->t_last)
		f->t_last = t;
}

/* conn_kex: conn_new, then banners (client 10 ms, server 20 ms) and KEXINITs
 * (client 30 ms, server 40 ms) with the lists given (NULL: base_lists). */
static struct conn *conn_kex(const char *const cl[8], const char *const sl[8])
{
	struct conn *c = conn_new();

	banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	kexinit(c, 0, cl != NULL ? cl : base_lists, T0 + 30 * MS);
	kexinit(c, 1, sl != NULL ? sl : base_lists, T0 + 40 * MS);
	return c;
}

static void judge(struct conn *c)
{
	verdict_judge(&ctx, &c->f, v);
}

static uint32_t count(enum diag_code code)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < v->ndiag; i++)
		n += v->diag[i].code == code;
	return n;
}

static const struct diagnosis *find(enum diag_code code)
{
	for (uint32_t i = 0; i < v->ndiag; i++)
		if (v->diag[i].code == code)
			return &v->diag[i];
	return NULL;
}

/*
 * symptom_matches: s is an instance of template t from the rule table,
 * where "HOST port N" stands for the server, CODE for a number, and
 * DESCRIPTION or "..." for any text.
 */
static int symptom_matches(const char *t, const char *s)
{
	size_t n;

	if (*t == '\0')
		return *s == '\0';
	if (strncmp(t, "HOST port N", 11) == 0)
		return strncmp(s, SERVER, strlen(SERVER)) == 0 &&
		       symptom_matches(t + 11, s + strlen(SERVER));
	if (strncmp(t, "CODE", 4) == 0) {
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
		return symptom_matches(t + 4, s);
	}
	n = strncmp(t, "DESCRIPTION", 11) == 0 ? 11 : strncmp(t, "...", 3) == 0 ? 3 : 0;
	if (n > 0) {
		for (;; s++) {
			if (symptom_matches(t + n, s))
				return 1;
			if (*s == '\0')
				return 0;
		}
	}
	return *t == *s && symptom_matches(t + 1, s + 1);
}

static int symptom_documented(const struct diagnosis *d)
{
	const struct diag_rule *r = diag_rule(d->code);

	for (int i = 0; i < DIAG_MAX_SYMPTOMS && r->symptoms[i] != NULL; i++)
		if (symptom_matches(r->symptoms[i], d->symptom))
			return 1;
	return 0;
}

/*
 * expect: v holds exactly one diagnosis of code, with severity sev, hint
 * variant hint (diagnosis_hint gives that row of the table) and the client
 * message sym (NULL: none; otherwise one the rule table lists). Returns
 * it, or NULL (evidence checks on NULL then fail).
 */
static const struct diagnosis *expect_at(int line, enum diag_code code, enum verdict_severity sev,
                                         int hint, const char *sym)
{
	const struct diag_rule *r = diag_rule(code);
	const struct diagnosis *d = find(code);

	tap_check(count(code) == 1, __FILE__, line, "%s: %u diagnoses, want 1", r->code,
	          count(code));
	if (d == NULL)
		return NULL;
	tap_check(d->severity == sev, __FILE__, line, "%s: severity %s, want %s", r->code,
	          verdict_severity_name(d->severity), verdict_severity_name(sev));
	tap_check(d->hint == hint && diagnosis_hint(d) == r->hints[hint], __FILE__, line,
	          "%s: hint %u, want %d", r->code, d->hint, hint);
	tap_check(d->summary != NULL && d->summary[0] != '\0', __FILE__, line, "%s: a summary",
	          r->code);
	if (sym == NULL) {
		tap_check(d->symptom == NULL, __FILE__, line, "%s: symptom \"%s\", want none",
		          r->code, d->symptom);
	} else {
		tap_check(d->symptom != NULL && strcmp(d->symptom, sym) == 0, __FILE__, line,
		          "%s: symptom \"%s\", want \"%s\"", r->code,
		          d->symptom ? d->symptom : "(null)", sym);
		tap_check(d->symptom != NULL && symptom_documented(d), __FILE__, line,
		          "%s: symptom \"%s\" is one of the rule's", r->code,
		          d->symptom ? d->symptom : "(null)");
	}
	return d;
}
#define EXPECT(code, sev, hint, sym) expect_at(__LINE__, code, sev, hint, sym)

#define ABSENT(which)                                                                              \
	tap_check(count(which) == 0, __FILE__, __LINE__, "%s: %u diagnoses, want none",            \
	          diag_rule(which)->code, count(which))

static const struct diag_evidence *ev_at(int line, const struct diagnosis *d, const char *key,
                                         enum diag_evidence_type type)
{
	const struct diag_evidence *e = d != NULL ? diagnosis_evidence(d, key) : NULL;

	tap_check(e != NULL && e->type == type, __FILE__, line, "evidence %s: type %d, want %d",
	          key, e != NULL ? (int)e->type : -1, (int)type);
	return e != NULL && e->type == type ? e : NULL;
}

static void ev_int_at(int line, const struct diagnosis *d, const char *key,
                      enum diag_evidence_type type, int64_t want)
{
	const struct diag_evidence *e = ev_at(line, d, key, type);

	tap_check(e != NULL && e->v.i == want, __FILE__, line, "evidence %s = %lld, want %lld", key,
	          e != NULL ? (long long)e->v.i : -1LL, (long long)want);
}

static void ev_text_at(int line, const struct diagnosis *d, const char *key,
                       enum diag_evidence_type type, const char *want)
{
	const struct diag_evidence *e = ev_at(line, d, key, type);

	tap_check(e != NULL && e->v.s != NULL && strcmp(e->v.s, want) == 0, __FILE__, line,
	          "evidence %s = \"%s\", want \"%s\"", key,
	          e != NULL && e->v.s != NULL ? e->v.s : "(null)", want);
}

static void ev_ms_at(int line, const struct diagnosis *d, const char *key, uint64_t from,
                     uint64_t to)
{
	const struct diag_evidence *e = ev_at(line, d, key, EV_MS);

	tap_check(e != NULL && e->v.ms.from == from && e->v.ms.to == to, __FILE__, line,
	          "evidence %s = %llu..%llu, want %llu..%llu", key,
	          e != NULL ? (unsigned long long)e->v.ms.from : 0ULL,
	          e != NULL ? (unsigned long long)e->v.ms.to : 0ULL, (unsigned long long)from,
	          (unsigned long long)to);
}

#define EV_INT(d, key, want) ev_int_at(__LINE__, d, key, EV_INT, want)
#define EV_BOOL(d, key, want) ev_int_at(__LINE__, d, key, EV_BOOL, want)
#define EV_TEXT(d, key, want) ev_text_at(__LINE__, d, key, EV_TEXT, want)
#define EV_NAMES(d, key, want) ev_text_at(__LINE__, d, key, EV_NAMES, want)
#define EV_MS(d, key, from, to) ev_ms_at(__LINE__, d, key, from, to)
#define EV_NONE(d, key)                                                                            \
	CHECK((d) != NULL && diagnosis_evidence(d, key) == NULL, "no evidence %s", key)
#define SUMMARY(d, want) CHECK_EQ_STR((d) != NULL ? (d)->summary : NULL, want)

/* ------------------------------------------------------------ rule table */

static void test_rule_table(void)
{
	int dups = 0;

	for (int i = 0; i < DIAG_COUNT; i++) {
		const struct diag_rule *r = diag_rule((enum diag_code)i);
		int gap = 0;

		CHECK(r->code != NULL && r->code[0] != '\0', "code %d has a name", i);
		if (r->code == NULL)
			continue;
		CHECK(r->title != NULL && r->title[0] != '\0', "%s has a title", r->code);
		CHECK(r->summary != NULL && r->summary[0] != '\0', "%s has a summary", r->code);
		CHECK(r->hints[0] != NULL && r->hints[0][0] != '\0', "%s has hints[0]", r->code);
		CHECK((unsigned)r->severity < SEV_COUNT, "%s severity in range", r->code);
		CHECK_EQ_INT(diag_code_by_name(r->code), i);
		/* Names are lower-case words joined by '_': the record's stable codes. */
		for (const char *p = r->code; *p; p++)
			if (!(islower((unsigned char)*p) || *p == '_'))
				gap = 1;
		CHECK(!gap, "%s is lower_snake_case", r->code);
		/* The hints a check picks by index: no hole before the last one. */
		gap = 0;
		for (int j = 1; j < DIAG_MAX_HINTS; j++) {
			if (r->hints[j - 1] == NULL && r->hints[j] != NULL)
				gap = 1;
		}
		CHECK(!gap, "%s hints have no hole", r->code);
		for (int j = 0; j < i; j++)
			if (diag_rule((enum diag_code)j)->code != NULL &&
			    strcmp(diag_rule((enum diag_code)j)->code, r->code) == 0)
				dups++;
	}
	CHECK_EQ_INT(dups, 0);
	CHECK_EQ_INT(diag_code_by_name("tcp_no_answer"), DIAG_TCP_NO_ANSWER);
	CHECK_EQ_INT(diag_code_by_name("auth_guessing"), DIAG_AUTH_GUESSING);
	CHECK_EQ_INT(diag_code_by_name("no_such_code"), -1);
	CHECK_EQ_INT(diag_code_by_name("TCP_NO_ANSWER"), -1);
	CHECK_EQ_INT(diag_code_by_name("tcp_no_answe"), -1);
	CHECK_EQ_INT(diag_code_by_name(""), -1);
	CHECK_EQ_INT(diag_code_by_name(NULL), -1);
	CHECK_EQ_STR(verdict_severity_name(SEV_ERROR), "error");
	CHECK_EQ_STR(verdict_severity_name(SEV_WARNING), "warning");
	CHECK_EQ_STR(verdict_severity_name(SEV_INFO), "info");
	CHECK_EQ_STR(verdict_outcome_name(OUTCOME_ESTABLISHED), "established");
	CHECK_EQ_STR(verdict_outcome_name(OUTCOME_FAILED), "failed");
	CHECK_EQ_STR(verdict_outcome_name(OUTCOME_INCOMPLETE), "incomplete");
	CHECK_EQ_STR(verdict_outcome_name(OUTCOME_NOT_SSH), "not_ssh");
	CHECK_EQ_STR(verdict_close_kind_name(FLOW_CLOSE_FIN), "fin");
	CHECK_EQ_STR(verdict_close_kind_name(FLOW_CLOSE_RST), "rst");
	CHECK_EQ_STR(verdict_close_kind_name(FLOW_CLOSE_TIMEOUT), "timeout");
	CHECK_EQ_STR(verdict_close_kind_name(FLOW_CLOSE_CAPTURE_END), "capture_end");
	CHECK_EQ_STR(verdict_close_kind_name(FLOW_CLOSE_EVICTED), "evicted");
	CHECK(verdict_close_kind_name(FLOW_CLOSE_NONE) == NULL, "no close has no name");
	/* The hint a diagnosis names by index, and the usual one for an index out of range. */
	{
		struct diagnosis d = {.code = DIAG_CLOSED_BEFORE_SERVER_BANNER,
		                      .hint = HINT_CBSB_CLIENT};
		const struct diag_rule *r = diag_rule(d.code);

		CHECK(diagnosis_hint(&d) == r->hints[HINT_CBSB_CLIENT], "hint by index");
		d.hint = DIAG_MAX_HINTS;
		CHECK(diagnosis_hint(&d) == r->hints[0], "hint out of range: the usual one");
		d.code = DIAG_TCP_NO_ANSWER;
		d.hint = 1;
		CHECK(diagnosis_hint(&d) == diag_rule(DIAG_TCP_NO_ANSWER)->hints[0],
		      "a hint the rule lacks: the usual one");
	}
}

/* ------------------------------------------------------------- TCP and IP */

static void test_tcp_no_answer(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* Three SYNs over 3 s, nothing back, the capture ended. */
	c = conn_syns(3, T0 + 3 * SEC);
	c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
	judge(c);
	d = EXPECT(DIAG_TCP_NO_ANSWER, SEV_ERROR, 0,
	           "ssh: connect to host " SERVER ": Connection timed out");
	SUMMARY(d, "The server never answered 3 SYNs.");
	EV_INT(d, "syns", 3);
	EV_MS(d, "span_ms", T0, T0 + 3 * SEC);
	CHECK_EQ_INT(v->ndiag, 1);
	/* Incomplete by the facts, failed by the error that explains it. */
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_INCOMPLETE);
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	CHECK_EQ_INT(v->phase, PHASE_SYN);
	free(c);

	/* One SYN the timeout gave up on. */
	c = conn_syns(1, T0);
	c->f.close_kind = FLOW_CLOSE_TIMEOUT;
	judge(c);
	d = EXPECT(DIAG_TCP_NO_ANSWER, SEV_ERROR, 0,
	           "ssh: connect to host " SERVER ": Connection timed out");
	SUMMARY(d, "The server never answered 1 SYN.");
	EV_INT(d, "syns", 1);
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	free(c);

	/* Nearest negative: one SYN, and the capture ended before any timeout. */
	c = conn_syns(1, T0);
	c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
	judge(c);
	ABSENT(DIAG_TCP_NO_ANSWER);
	CHECK_EQ_INT(v->ndiag, 0);
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	free(c);

	/* Retransmitted SYNs, but the flow was evicted: its end was not seen. */
	c = conn_syns(3, T0 + 3 * SEC);
	c->f.anomalies |= FLOW_ANOM_EVICTED;
	judge(c);
	ABSENT(DIAG_TCP_NO_ANSWER);
	free(c);

	/* An ICMP error answered the SYNs: icmp_unreachable says it. */
	c = conn_syns(3, T0 + 3 * SEC);
	c->f.nicmp = 1;
	c->f.icmp[0] = (struct flow_icmp){.type = 3, .code = 1, .ts_us = T0 + 100 * MS};
	judge(c);
	ABSENT(DIAG_TCP_NO_ANSWER);
	CHECK_EQ_INT(count(DIAG_ICMP_UNREACHABLE), 1);
	free(c);

	/* A SYN-ACK came back: not unanswered. */
	c = conn_new();
	c->f.dir[0].syns = c->f.dir[0].packets = 3;
	c->f.dir[1].packets = 1;
	c->f.close_kind = FLOW_CLOSE_TIMEOUT;
	judge(c);
	ABSENT(DIAG_TCP_NO_ANSWER);
	free(c);
}

static void test_tcp_refused(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* One SYN answered by a reset, no SYN-ACK. */
	c = conn_syns(1, T0);
	c->f.dir[1].t_first = T0 + 1 * MS;
	closes(c, 1, FLOW_CLOSE_RST, T0 + 1 * MS);
	judge(c);
	d = EXPECT(DIAG_TCP_REFUSED, SEV_ERROR, 0,
	           "ssh: connect to host " SERVER ": Connection refused");
	SUMMARY(d, "The server's address answered the SYN with a reset.");
	EV_TEXT(d, "reset_by", "server");
	EV_INT(d, "syns", 1);
	EV_MS(d, "after_ms", T0, T0 + 1 * MS);
	ABSENT(DIAG_TCP_NO_ANSWER);
	ABSENT(DIAG_CLOSED_BEFORE_SERVER_BANNER);
	ABSENT(DIAG_CAPTURE_INCOMPLETE);
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	free(c);

	/* Nearest negative: the SYN-ACK came first, then the reset. */
	c = conn_new();
	closes(c, 1, FLOW_CLOSE_RST, T0 + 5 * MS);
	judge(c);
	ABSENT(DIAG_TCP_REFUSED);
	CHECK_EQ_INT(count(DIAG_CLOSED_BEFORE_SERVER_BANNER), 1);
	free(c);

	/* A reset that carries data is not a refusal. */
	c = conn_syns(1, T0);
	closes(c, 1, FLOW_CLOSE_RST, T0 + 1 * MS);
	c->f.dir[1].bytes = 10;
	judge(c);
	ABSENT(DIAG_TCP_REFUSED);
	free(c);
}

static void test_icmp(void)
{
	static const struct {
		const char *name;
		uint8_t v6, type, code;
		enum diag_code want; /* DIAG_COUNT: neither ICMP diagnosis */
		const char *reason;  /* unreachable: the end of the client's message */
		const char *family;
	} cases[] = {
	    {.name = "v4 host unreachable",
	     .type = 3,
	     .code = 1,
	     .want = DIAG_ICMP_UNREACHABLE,
	     .reason = "No route to host",
	     .family = "icmp"},
	    {.name = "v4 port unreachable",
	     .type = 3,
	     .code = 3,
	     .want = DIAG_ICMP_UNREACHABLE,
	     .reason = "Connection refused",
	     .family = "icmp"},
	    {.name = "v4 admin prohibited",
	     .type = 3,
	     .code = 13,
	     .want = DIAG_ICMP_UNREACHABLE,
	     .reason = "No route to host",
	     .family = "icmp"},
	    {.name = "v4 fragmentation needed",
	     .type = 3,
	     .code = 4,
	     .want = DIAG_ICMP_FRAG_NEEDED,
	     .family = "icmp"},
	    {.name = "v4 time exceeded", .type = 11, .code = 0, .want = DIAG_COUNT},
	    {.name = "v6 port unreachable",
	     .v6 = 1,
	     .type = 1,
	     .code = 4,
	     .want = DIAG_ICMP_UNREACHABLE,
	     .reason = "Connection refused",
	     .family = "icmpv6"},
	    {.name = "v6 no route",
	     .v6 = 1,
	     .type = 1,
	     .code = 0,
	     .want = DIAG_ICMP_UNREACHABLE,
	     .reason = "No route to host",
	     .family = "icmpv6"},
	    {.name = "v6 packet too big",
	     .v6 = 1,
	     .type = 2,
	     .code = 0,
	     .want = DIAG_ICMP_FRAG_NEEDED,
	     .family = "icmpv6"},
	    {.name = "v6 time exceeded", .v6 = 1, .type = 3, .code = 0, .want = DIAG_COUNT},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_syns(2, T0 + 1 * SEC);
		const struct diagnosis *d;
		char sym[128], sum[128];

		if (cases[i].v6) {
			static const uint8_t s6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
			static const uint8_t d6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

			c->f.key.family = 6;
			memcpy(c->f.key.src, s6, 16);
			memcpy(c->f.key.dst, d6, 16);
		}
		c->f.nicmp = 1;
		c->f.icmp[0] = (struct flow_icmp){.v6 = cases[i].v6,
		                                  .type = cases[i].type,
		                                  .code = cases[i].code,
		                                  .mtu = 1400,
		                                  .ts_us = T0 + 100 * MS};
		judge(c);
		CHECK(count(DIAG_ICMP_UNREACHABLE) == (cases[i].want == DIAG_ICMP_UNREACHABLE),
		      "%s: icmp_unreachable", cases[i].name);
		CHECK(count(DIAG_ICMP_FRAG_NEEDED) == (cases[i].want == DIAG_ICMP_FRAG_NEEDED),
		      "%s: icmp_frag_needed", cases[i].name);
		/* Any ICMP answer takes the silence away from tcp_no_answer. */
		ABSENT(DIAG_TCP_NO_ANSWER);
		d = find(cases[i].want);
		if (cases[i].want == DIAG_ICMP_UNREACHABLE && d != NULL) {
			snprintf(sym, sizeof(sym), "ssh: connect to host %s port 22: %s",
			         cases[i].v6 ? "2001:db8::2" : "198.18.0.2", cases[i].reason);
			snprintf(sum, sizeof(sum),
			         "An ICMP%s destination-unreachable (code %u) quoted this "
			         "connection.",
			         cases[i].v6 ? "v6" : "", cases[i].code);
			CHECK_EQ_INT(d->severity, SEV_ERROR);
			CHECK_EQ_INT(d->hint, 0);
			CHECK_EQ_STR(d->symptom, sym);
			CHECK(cases[i].v6 || symptom_documented(d), "%s: symptom documented",
			      cases[i].name);
			SUMMARY(d, sum);
			EV_INT(d, "type", cases[i].type);
			EV_INT(d, "code", cases[i].code);
			EV_TEXT(d, "family", cases[i].family);
			CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
		} else if (cases[i].want == DIAG_ICMP_FRAG_NEEDED && d != NULL) {
			CHECK_EQ_INT(d->severity, SEV_WARNING);
			CHECK_EQ_INT(d->hint, 0);
			CHECK(d->symptom == NULL, "%s: no symptom", cases[i].name);
			SUMMARY(d, "A router reported that a packet of this connection was too big "
			           "for the next hop (MTU 1400).");
			EV_INT(d, "mtu", 1400);
			EV_TEXT(d, "family", cases[i].family);
			EV_NONE(d, "code");
		}
		free(c);
	}

	/* Only the ICMP errors the flow kept are judged. */
	{
		struct conn *c = conn_syns(2, T0 + 1 * SEC);

		c->f.nicmp = FLOW_MAX_ICMP + 3;
		for (int i = 0; i < FLOW_MAX_ICMP; i++)
			c->f.icmp[i] = (struct flow_icmp){.type = 3, .code = 1};
		judge(c);
		CHECK_EQ_INT(count(DIAG_ICMP_UNREACHABLE), FLOW_MAX_ICMP);
		free(c);
	}
}

static void test_ip_fragmented(void)
{
	const struct diagnosis *d;
	struct conn *c = conn_new();

	c->f.ip_fragments = 3;
	c->f.frag_max_size = 2960;
	judge(c);
	d = EXPECT(DIAG_IP_FRAGMENTED, SEV_WARNING, 0, NULL);
	SUMMARY(d, "3 IP fragments carried this connection's packets.");
	EV_INT(d, "fragments", 3);
	EV_INT(d, "largest_datagram", 2960);
	CHECK_EQ_INT(v->ndiag, 1);
	/* A warning does not turn an incomplete connection into a failed one. */
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	CHECK(!verdict_has_error(v), "a warning is not an error");

	/* Nearest negative: no fragments. */
	c->f.ip_fragments = 0;
	judge(c);
	ABSENT(DIAG_IP_FRAGMENTED);
	CHECK_EQ_INT(v->ndiag, 0);
	free(c);
}

/* ----------------------------------------------- identification exchange */

static void test_closed_before_server_banner(void)
{
	static const struct {
		const char *name;
		const char *text; /* what the server sent before closing, NULL: nothing */
		const char *escaped;
		int closer; /* TCP direction that closed */
		enum flow_close_kind kind;
		int hint;
		const char *symptom;
	} cases[] = {
	    {.name = "plain FIN",
	     .closer = 1,
	     .kind = FLOW_CLOSE_FIN,
	     .hint = HINT_CBSB_DROPPED,
	     .symptom = "kex_exchange_identification: Connection closed by remote host"},
	    {.name = "MaxStartups",
	     .text = "Exceeded MaxStartups\r\n",
	     .escaped = "Exceeded MaxStartups\\x0d\\x0a",
	     .closer = 1,
	     .kind = FLOW_CLOSE_FIN,
	     .hint = HINT_CBSB_MAXSTARTUPS,
	     .symptom = "kex_exchange_identification: Connection closed by remote host"},
	    {.name = "PerSourcePenalties",
	     .text = "Not allowed at this time\r\n",
	     .escaped = "Not allowed at this time\\x0d\\x0a",
	     .closer = 1,
	     .kind = FLOW_CLOSE_FIN,
	     .hint = HINT_CBSB_PENALTY,
	     .symptom = "kex_exchange_identification: Connection closed by remote host"},
	    {.name = "reset",
	     .closer = 1,
	     .kind = FLOW_CLOSE_RST,
	     .hint = HINT_CBSB_RESET,
	     .symptom = "kex_exchange_identification: read: Connection reset by peer"},
	    /* The server's words outrank how it closed. */
	    {.name = "MaxStartups then reset",
	     .text = "Exceeded MaxStartups\r\n",
	     .escaped = "Exceeded MaxStartups\\x0d\\x0a",
	     .closer = 1,
	     .kind = FLOW_CLOSE_RST,
	     .hint = HINT_CBSB_MAXSTARTUPS,
	     .symptom = "kex_exchange_identification: read: Connection reset by peer"},
	    {.name = "client gave up",
	     .closer = 0,
	     .kind = FLOW_CLOSE_FIN,
	     .hint = HINT_CBSB_CLIENT,
	     .symptom = "Connection timed out during banner exchange"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_new();
		const struct diagnosis *d;
		char sum[256];

		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		if (cases[i].text != NULL) {
			struct ssh_dir *ss = &c->f.ssh.dir[1];

			raw(c, 1, cases[i].text, (uint32_t)strlen(cases[i].text), SSH_ST_LINES, 0,
			    T0 + 20 * MS);
			ss->pre = (uint8_t *)cases[i].text;
			ss->pre_len = (uint32_t)strlen(cases[i].text);
			ss->pre_lines = 1;
		}
		closes(c, cases[i].closer, cases[i].kind, T0 + 50 * MS);
		judge(c);
		d = EXPECT(DIAG_CLOSED_BEFORE_SERVER_BANNER, SEV_ERROR, cases[i].hint,
		           cases[i].symptom);
		snprintf(sum, sizeof(sum),
		         "The %s closed the connection (%s) 50 ms after it opened, before the "
		         "server sent its SSH identification line.",
		         cases[i].closer == 0 ? "client" : "server",
		         verdict_close_kind_name(cases[i].kind));
		SUMMARY(d, sum);
		EV_TEXT(d, "initiator", cases[i].closer == 0 ? "client" : "server");
		EV_TEXT(d, "kind", verdict_close_kind_name(cases[i].kind));
		EV_MS(d, "after_ms", T0, T0 + 50 * MS);
		EV_INT(d, "server_bytes", cases[i].text ? (int64_t)strlen(cases[i].text) : 0);
		if (cases[i].text != NULL)
			EV_TEXT(d, "server_text", cases[i].escaped);
		else
			EV_NONE(d, "server_text");
		CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
		CHECK_EQ_INT(v->phase, PHASE_CLIENT_BANNER);
		CHECK_EQ_INT(v->close_phase, PHASE_CLIENT_BANNER);
		free(c);
	}

	/* A late block (an IPS or fail2ban rejecting the client once its banner
	 * passed): the server's RST comes first, sshd's banner after it, and the
	 * client answers that banner with its own RST. The order on the wire
	 * decides: the server closed before its banner reached the client. */
	{
		struct conn *c = conn_new();
		const struct diagnosis *d;

		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		closes(c, 1, FLOW_CLOSE_RST, T0 + 10 * MS + 30);
		banner(c, 1, SERVER_BANNER, T0 + 43 * MS);
		c->f.dir[0].rst = 1;
		c->f.dir[0].rsts = 1;
		c->f.dir[0].t_rst = T0 + 43 * MS + 35;
		judge(c);
		d = EXPECT(DIAG_CLOSED_BEFORE_SERVER_BANNER, SEV_ERROR, HINT_CBSB_RESET,
		           "kex_exchange_identification: read: Connection reset by peer");
		EV_TEXT(d, "initiator", "server");
		EV_TEXT(d, "kind", "rst");
		EV_BOOL(d, "server_banner_after_close", 1);
		EV_MS(d, "server_banner_ms", T0, T0 + 43 * MS);
		ABSENT(DIAG_CLOSED_AFTER_BANNER);
		ABSENT(DIAG_BANNER_TIMEOUT);
		CHECK_EQ_INT(v->ndiag, 1);
		CHECK_EQ_INT(v->close_phase, PHASE_CLIENT_BANNER);
		free(c);

		/* Nearest negative: the same banner 1 us before the reset. */
		c = conn_new();
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		banner(c, 1, SERVER_BANNER, T0 + 10 * MS + 29);
		closes(c, 1, FLOW_CLOSE_RST, T0 + 10 * MS + 30);
		judge(c);
		ABSENT(DIAG_CLOSED_BEFORE_SERVER_BANNER);
		d = EXPECT(DIAG_CLOSED_AFTER_BANNER, SEV_ERROR, HINT_CAB_SERVER,
		           "Connection reset by " SERVER);
		free(c);
	}

	/* Nearest negatives, each one fact away from "plain FIN". */
	{
		struct conn *c = conn_new();

		/* The server's identification line arrived before the close. */
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
		closes(c, 1, FLOW_CLOSE_FIN, T0 + 50 * MS);
		judge(c);
		ABSENT(DIAG_CLOSED_BEFORE_SERVER_BANNER);
		CHECK_EQ_INT(count(DIAG_CLOSED_AFTER_BANNER), 1);
		free(c);

		/* Not closed: the capture ended while the client waited. */
		c = conn_new();
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
		judge(c);
		ABSENT(DIAG_CLOSED_BEFORE_SERVER_BANNER);
		CHECK_EQ_INT(v->ndiag, 0);
		CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
		free(c);

		/* No SYN-ACK seen (the server's side begins later). */
		c = conn_new();
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		c->f.t_synack = 0;
		closes(c, 1, FLOW_CLOSE_FIN, T0 + 50 * MS);
		judge(c);
		ABSENT(DIAG_CLOSED_BEFORE_SERVER_BANNER);
		free(c);

		/* The server spoke another protocol: banner_invalid says it better. */
		c = conn_new();
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		raw(c, 1, "HTTP/1.1 400 Bad Request\r\n", 26, SSH_ST_LINES, 0, T0 + 20 * MS);
		closes(c, 1, FLOW_CLOSE_FIN, T0 + 50 * MS);
		judge(c);
		ABSENT(DIAG_CLOSED_BEFORE_SERVER_BANNER);
		CHECK_EQ_INT(count(DIAG_BANNER_INVALID), 1);
		free(c);

		/* The server's line was bad in a way OpenSSH's client rejects (a NUL,
		 * too long, too many lines before it), and the client closed: the
		 * client did not time out, banner_invalid says why it closed. */
		static const uint32_t bad[] = {SSH_ANOM_BANNER_NUL, SSH_ANOM_BANNER_LONG,
		                               SSH_ANOM_PREBANNER_MANY};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			c = conn_new();
			banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
			raw(c, 1, "SSH-2.0-AAAAAAAA", 16, SSH_ST_STOPPED, bad[i], T0 + 20 * MS);
			closes(c, 0, FLOW_CLOSE_FIN, T0 + 50 * MS);
			judge(c);
			CHECK(count(DIAG_CLOSED_BEFORE_SERVER_BANNER) == 0,
			      "server line anomaly 0x%x: closed_before_server_banner beside "
			      "banner_invalid",
			      bad[i]);
			CHECK_EQ_INT(count(DIAG_BANNER_INVALID), 1);
			free(c);
		}
	}
}

static void test_banner_invalid(void)
{
	static const struct {
		const char *name;
		int dir; /* TCP direction that sent the bytes (the client is 0) */
		const char *bytes;
		uint32_t len;
		enum ssh_state state;
		uint32_t anomalies;
		int hint;
		const char *symptom;
		const char *problem;
		const char *escaped;
	} cases[] = {
	    {.name = "server speaks HTTP",
	     .dir = 1,
	     .bytes = "HTTP/1.1 400 Bad Request\r\n",
	     .len = 26,
	     .state = SSH_ST_LINES,
	     .hint = HINT_BANNER_INVALID_SERVER,
	     .symptom = "kex_exchange_identification: Connection closed by remote host",
	     .problem = "not_ssh",
	     .escaped = "HTTP/1.1 400 Bad Request\\x0d\\x0a"},
	    {.name = "server sends HTML",
	     .dir = 1,
	     .bytes = "<html>",
	     .len = 6,
	     .state = SSH_ST_LINES,
	     .hint = HINT_BANNER_INVALID_SERVER,
	     .symptom = "kex_exchange_identification: Connection closed by remote host",
	     .problem = "not_ssh",
	     .escaped = "<html>"},
	    {.name = "server speaks TLS",
	     .dir = 1,
	     .bytes = "\x15\x03\x01\x00\x02\x02\x46",
	     .len = 7,
	     .state = SSH_ST_LINES,
	     .hint = HINT_BANNER_INVALID_SERVER,
	     .symptom = "kex_exchange_identification: Connection closed by remote host",
	     .problem = "not_ssh",
	     .escaped = "\\x15\\x03\\x01\\x00\\x02\\x02F"},
	    {.name = "server line with NUL",
	     .dir = 1,
	     .bytes = "SSH-2.0-A\0B\r\n",
	     .len = 13,
	     .state = SSH_ST_STOPPED,
	     .anomalies = SSH_ANOM_BANNER_NUL,
	     .hint = HINT_BANNER_INVALID_SERVER,
	     .symptom = "kex_exchange_identification: banner line contains invalid characters",
	     .problem = "nul_byte",
	     .escaped = "SSH-2.0-A\\x00B\\x0d\\x0a"},
	    {.name = "server line too long",
	     .dir = 1,
	     .bytes = "SSH-2.0-AAAAAAAA",
	     .len = 16,
	     .state = SSH_ST_STOPPED,
	     .anomalies = SSH_ANOM_BANNER_LONG,
	     .hint = HINT_BANNER_INVALID_SERVER,
	     .symptom = "kex_exchange_identification: banner line too long",
	     .problem = "line_too_long",
	     .escaped = "SSH-2.0-AAAAAAAA"},
	    {.name = "server too many lines",
	     .dir = 1,
	     .bytes = "hello\r\n",
	     .len = 7,
	     .state = SSH_ST_STOPPED,
	     .anomalies = SSH_ANOM_PREBANNER_MANY,
	     .hint = HINT_BANNER_INVALID_SERVER,
	     .symptom = "kex_exchange_identification: Connection closed by remote host",
	     .problem = "too_many_lines",
	     .escaped = "hello\\x0d\\x0a"},
	    {.name = "client speaks HTTP",
	     .dir = 0,
	     .bytes = "GET / HTTP/1.1\r\n",
	     .len = 16,
	     .state = SSH_ST_NOT_SSH,
	     .anomalies = SSH_ANOM_BANNER_INVALID,
	     .hint = HINT_BANNER_INVALID_CLIENT,
	     .symptom = NULL,
	     .problem = "not_ssh",
	     .escaped = "GET / HTTP/1.1\\x0d\\x0a"},
	    {.name = "client line too long",
	     .dir = 0,
	     .bytes = "SSH-2.0-AAAAAAAA",
	     .len = 16,
	     .state = SSH_ST_STOPPED,
	     .anomalies = SSH_ANOM_BANNER_LONG,
	     .hint = HINT_BANNER_INVALID_CLIENT,
	     .symptom = NULL,
	     .problem = "line_too_long",
	     .escaped = "SSH-2.0-AAAAAAAA"},
	    /* The OpenSSH client prints these two about the server's line, never
	     * about its own: a client whose own line is bad has no message to quote. */
	    {.name = "client line with NUL",
	     .dir = 0,
	     .bytes = "SSH-2.0-A\0B\r\n",
	     .len = 13,
	     .state = SSH_ST_STOPPED,
	     .anomalies = SSH_ANOM_BANNER_NUL,
	     .hint = HINT_BANNER_INVALID_CLIENT,
	     .symptom = NULL,
	     .problem = "nul_byte",
	     .escaped = "SSH-2.0-A\\x00B\\x0d\\x0a"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_new();
		const struct diagnosis *d;
		const char *side = cases[i].dir == 0 ? "client" : "server";
		char sum[128];

		/* The other side sent a valid identification line first. */
		banner(c, !cases[i].dir, cases[i].dir == 0 ? SERVER_BANNER : CLIENT_BANNER,
		       T0 + 10 * MS);
		raw(c, cases[i].dir, cases[i].bytes, cases[i].len, cases[i].state,
		    cases[i].anomalies, T0 + 20 * MS);
		judge(c);
		d = EXPECT(DIAG_BANNER_INVALID, SEV_ERROR, cases[i].hint, cases[i].symptom);
		snprintf(sum, sizeof(sum),
		         "The %s's first line is not an SSH identification line (RFC 4253 "
		         "section 4.2).",
		         side);
		SUMMARY(d, sum);
		EV_TEXT(d, "side", side);
		EV_TEXT(d, "problem", cases[i].problem);
		EV_TEXT(d, "first_bytes", cases[i].escaped);
		free(c);
	}

	/* Nearest negatives. */
	{
		struct conn *c = conn_new();

		/* Plain text before the identification line is allowed (RFC 4253 4.2). */
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		raw(c, 1, "Please wait\r\n", 13, SSH_ST_LINES, 0, T0 + 20 * MS);
		judge(c);
		ABSENT(DIAG_BANNER_INVALID);
		free(c);

		/* A line ended by LF alone is an anomaly, not an invalid banner. */
		c = conn_new();
		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
		c->f.ssh.dir[1].anomalies |= SSH_ANOM_BANNER_NO_CR | SSH_ANOM_BANNER_CHARS;
		judge(c);
		ABSENT(DIAG_BANNER_INVALID);
		free(c);

		/* Not SSH, but nothing was sent: nothing to quote. */
		c = conn_new();
		banner(c, 1, SERVER_BANNER, T0 + 10 * MS);
		c->f.ssh.dir[0].state = SSH_ST_NOT_SSH;
		judge(c);
		ABSENT(DIAG_BANNER_INVALID);
		free(c);
	}
}

static void test_protocol_version_mismatch(void)
{
	static const struct {
		const char *client, *server;
		const char *symptom; /* NULL: no mismatch */
		const char *summary;
	} cases[] = {
	    {.client = "SSH-1.5-OpenSSH_2.3",
	     .server = SERVER_BANNER,
	     .symptom = "Protocol major versions differ: 1 vs. 2",
	     .summary = "The client speaks SSH-1 only and the server SSH-2."},
	    {.client = CLIENT_BANNER,
	     .server = "SSH-1.5-Cisco-1.25",
	     .symptom = "Protocol major versions differ: 2 vs. 1",
	     .summary = "The server speaks SSH-1 only and the client SSH-2."},
	    /* Nearest negatives: 1.99 also speaks 2.0; both SSH-1 agree. */
	    {.client = "SSH-1.99-OpenSSH_3.9", .server = SERVER_BANNER},
	    {.client = CLIENT_BANNER, .server = "SSH-1.99-Cisco-1.25"},
	    {.client = "SSH-1.5-OpenSSH_2.3", .server = "SSH-1.5-Cisco-1.25"},
	    {.client = CLIENT_BANNER, .server = SERVER_BANNER},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_new();
		const struct diagnosis *d;

		banner(c, 0, cases[i].client, T0 + 10 * MS);
		banner(c, 1, cases[i].server, T0 + 20 * MS);
		judge(c);
		if (cases[i].symptom == NULL) {
			ABSENT(DIAG_PROTOCOL_VERSION_MISMATCH);
			free(c);
			continue;
		}
		d = EXPECT(DIAG_PROTOCOL_VERSION_MISMATCH, SEV_ERROR, 0, cases[i].symptom);
		SUMMARY(d, cases[i].summary);
		EV_TEXT(d, "client_banner", cases[i].client);
		EV_TEXT(d, "server_banner", cases[i].server);
		free(c);
	}
}

/* ------------------------------------------------------------------ closes */

/* conn_banners: both identification lines, the client's at 10 ms, the server's at 20 ms. */
static struct conn *conn_banners(void)
{
	struct conn *c = conn_new();

	banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	return c;
}

static void test_banner_timeout(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* The client went quiet after its banner; the server gave up 120 s later. */
	c = conn_banners();
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 10 * MS + 120 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	SUMMARY(d, "The server closed the connection after the client had been silent for "
	           "120.0 s.");
	EV_MS(d, "idle_ms", T0 + 10 * MS, T0 + 10 * MS + 120 * SEC);
	EV_TEXT(d, "kind", "fin");
	EV_BOOL(d, "client_banner_sent", 1);
	EV_BOOL(d, "client_kexinit_sent", 0);
	/* It explains the close: closed_after_banner would repeat it. */
	ABSENT(DIAG_CLOSED_AFTER_BANNER);
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	free(c);

	/* Exactly the grace time (10 s) is enough. */
	c = conn_banners();
	closes(c, 1, FLOW_CLOSE_RST, T0 + 10 * MS + 10 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	EV_TEXT(d, "kind", "rst");
	free(c);

	/* The server waiting for the client (it spoke last): a short LoginGraceTime
	 * (3 s) is a grace timeout too, with the server's wait as evidence. */
	c = conn_banners();
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 10 * MS + 3 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	SUMMARY(d, "The server closed the connection after the client had been silent for "
	           "3.0 s.");
	EV_MS(d, "idle_ms", T0 + 10 * MS, T0 + 10 * MS + 3 * SEC);
	EV_BOOL(d, "server_waiting", 1);
	EV_BOOL(d, "client_banner_sent", 1);
	ABSENT(DIAG_CLOSED_AFTER_BANNER);
	free(c);

	/* Nearest negative: a server that drops at once (1 us under a second of
	 * waiting, MaxStartups-like) is not a grace timeout. */
	c = conn_banners();
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 10 * MS + 1 * SEC - 1);
	judge(c);
	ABSENT(DIAG_BANNER_TIMEOUT);
	CHECK_EQ_INT(count(DIAG_CLOSED_AFTER_BANNER), 1);
	free(c);

	/* Nearest negative: the client spoke last (its banner after the server's),
	 * so the server owed the next word: not waiting, and under 10 s. */
	c = conn_new();
	banner(c, 1, SERVER_BANNER, T0 + 10 * MS);
	banner(c, 0, CLIENT_BANNER, T0 + 20 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 20 * MS + 10 * SEC - 1);
	judge(c);
	ABSENT(DIAG_BANNER_TIMEOUT);
	CHECK_EQ_INT(count(DIAG_CLOSED_AFTER_BANNER), 1);
	free(c);
	/* ... and at 10 s of silence it is one whatever the turn. */
	c = conn_new();
	banner(c, 1, SERVER_BANNER, T0 + 10 * MS);
	banner(c, 0, CLIENT_BANNER, T0 + 20 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 20 * MS + 10 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	EV_BOOL(d, "server_waiting", 0);
	free(c);

	/* The silence counts from the client's last message, here its KEXINIT. */
	c = conn_banners();
	kexinit(c, 0, base_lists, T0 + 100 * SEC);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 105 * SEC);
	judge(c);
	ABSENT(DIAG_BANNER_TIMEOUT);
	CHECK_EQ_INT(count(DIAG_CLOSED_AFTER_BANNER), 1);
	free(c);
	c = conn_banners();
	kexinit(c, 0, base_lists, T0 + 100 * SEC);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 115 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	EV_MS(d, "idle_ms", T0 + 100 * SEC, T0 + 115 * SEC);
	EV_BOOL(d, "client_kexinit_sent", 1);
	free(c);

	/* A client that never sent its banner: the silence counts from the
	 * connection's opening (sshd's timer starts at accept). */
	c = conn_new();
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 20 * MS + 120 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	EV_MS(d, "idle_ms", T0, T0 + 20 * MS + 120 * SEC);
	EV_BOOL(d, "client_banner_sent", 0);
	free(c);

	/* The same with LoginGraceTime 3: before, no diagnosis at all. */
	c = conn_new();
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 3 * SEC);
	judge(c);
	d = EXPECT(DIAG_BANNER_TIMEOUT, SEV_ERROR, 0, "Connection closed by " SERVER);
	EV_MS(d, "idle_ms", T0, T0 + 3 * SEC);
	EV_BOOL(d, "client_banner_sent", 0);
	EV_BOOL(d, "server_waiting", 1);
	CHECK_EQ_INT(v->ndiag, 1);
	free(c);
	/* Nearest negative: the server closing a silent client at once. */
	c = conn_new();
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 30 * MS);
	judge(c);
	ABSENT(DIAG_BANNER_TIMEOUT);
	free(c);

	/* The client closing after a long silence is not the server's timeout. */
	c = conn_banners();
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 10 * MS + 120 * SEC);
	judge(c);
	ABSENT(DIAG_BANNER_TIMEOUT);
	CHECK_EQ_INT(count(DIAG_CLOSED_AFTER_BANNER), 1);
	free(c);
}

static void test_closed_after_banner(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* The server closed 1 s after the banners. */
	c = conn_banners();
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	judge(c);
	d = EXPECT(DIAG_CLOSED_AFTER_BANNER, SEV_ERROR, HINT_CAB_SERVER,
	           "Connection closed by " SERVER);
	SUMMARY(d, "The server closed the connection (fin) after the identification lines, "
	           "before the key exchange started.");
	EV_TEXT(d, "initiator", "server");
	EV_TEXT(d, "kind", "fin");
	EV_BOOL(d, "client_kexinit_sent", 0);
	EV_BOOL(d, "server_kexinit_sent", 0);
	EV_MS(d, "after_ms", T0, T0 + 1 * SEC);
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	CHECK_EQ_INT(v->phase, PHASE_SERVER_BANNER);
	free(c);

	/* The server reset it after the client's KEXINIT. */
	c = conn_banners();
	kexinit(c, 0, base_lists, T0 + 30 * MS);
	closes(c, 1, FLOW_CLOSE_RST, T0 + 1 * SEC);
	judge(c);
	d = EXPECT(DIAG_CLOSED_AFTER_BANNER, SEV_ERROR, HINT_CAB_SERVER,
	           "Connection reset by " SERVER);
	EV_TEXT(d, "kind", "rst");
	EV_BOOL(d, "client_kexinit_sent", 1);
	EV_BOOL(d, "server_kexinit_sent", 0);
	CHECK_EQ_INT(v->phase, PHASE_KEXINIT);
	free(c);

	/* The client closed: no message of the client's to quote. */
	c = conn_banners();
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	judge(c);
	d = EXPECT(DIAG_CLOSED_AFTER_BANNER, SEV_ERROR, HINT_CAB_CLIENT, NULL);
	SUMMARY(d, "The client closed the connection (fin) after the identification lines, "
	           "before the key exchange started.");
	EV_TEXT(d, "initiator", "client");
	free(c);

	/* Nearest negative: both KEXINITs were sent, closed_during_kex instead. */
	c = conn_kex(NULL, NULL);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	judge(c);
	ABSENT(DIAG_CLOSED_AFTER_BANNER);
	CHECK_EQ_INT(count(DIAG_CLOSED_DURING_KEX), 1);
	free(c);

	/* Not closed. */
	c = conn_banners();
	c->f.close_kind = FLOW_CLOSE_TIMEOUT;
	judge(c);
	ABSENT(DIAG_CLOSED_AFTER_BANNER);
	free(c);
}

/*
 * analysis_limited: a limit of ours stopped a side before its NEWKEYS. The
 * close that follows says nothing about the connection: incomplete, a
 * warning naming the limit, and no closed_during_kex.
 */
static struct kw_limits test_limits = KW_LIMITS_DEFAULT;

static void test_analysis_limited(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* The server's KEX reply was over stream_buf; the client closed after
	 * the session (its NEWKEYS seen, the server's never parsed). */
	test_limits.stream_buf = 8192;
	c = conn_kex(NULL, NULL);
	c->f.ssh.limits = &test_limits;
	kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
	c->f.ssh.dir[1].anomalies |= SSH_ANOM_BUFFER;
	c->f.ssh.dir[0].t_newkeys = T0 + 80 * MS;
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 900 * MS);
	judge(c);
	d = EXPECT(DIAG_ANALYSIS_LIMITED, SEV_WARNING, 0, NULL);
	SUMMARY(d, "The limit stream_buf (8192) stopped the analysis of the server's side during "
	           "newkeys: what happened after that is not known.");
	EV_TEXT(d, "limit", "stream_buf");
	EV_INT(d, "value", 8192);
	EV_TEXT(d, "side", "server");
	ABSENT(DIAG_CLOSED_DURING_KEX);
	CHECK_EQ_INT(verdict_limited_dir(&c->f), 1);
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	free(c);

	/* max_packet below what SSH allows, and the memory budget. */
	test_limits.max_packet = 4096;
	c = conn_kex(NULL, NULL);
	c->f.ssh.limits = &test_limits;
	c->f.ssh.dir[0].anomalies |= SSH_ANOM_PACKET_LIMIT;
	closes(c, 1, FLOW_CLOSE_RST, T0 + 70 * MS);
	judge(c);
	d = EXPECT(DIAG_ANALYSIS_LIMITED, SEV_WARNING, 0, NULL);
	EV_TEXT(d, "limit", "max_packet");
	EV_INT(d, "value", 4096);
	EV_TEXT(d, "side", "client");
	ABSENT(DIAG_CLOSED_DURING_KEX);
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	free(c);
	c = conn_kex(NULL, NULL);
	c->f.ssh.limits = &test_limits;
	c->f.ssh.dir[1].anomalies |= SSH_ANOM_MEMCAP | SSH_ANOM_BUFFER;
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 70 * MS);
	judge(c);
	d = EXPECT(DIAG_ANALYSIS_LIMITED, SEV_WARNING, 0, NULL);
	EV_TEXT(d, "limit", "memory");
	EV_INT(d, "value", (int64_t)KW_MEMORY_DEFAULT_MIB << 20);
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	free(c);

	/* Nearest negatives: a malformed packet_length is the input's fault
	 * (closed_during_kex stays); a limit hit after both NEWKEYS changes
	 * nothing. */
	c = conn_kex(NULL, NULL);
	c->f.ssh.limits = &test_limits;
	c->f.ssh.dir[1].anomalies |= SSH_ANOM_PACKET_LENGTH;
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 70 * MS);
	judge(c);
	ABSENT(DIAG_ANALYSIS_LIMITED);
	EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, "Connection closed by " SERVER);
	CHECK_EQ_INT(verdict_limited_dir(&c->f), -1);
	free(c);
	CHECK_EQ_STR(verdict_limit_name(SSH_ANOM_KEXINIT_LIMIT), "namelist_max");
	CHECK(verdict_limit_name(SSH_ANOM_PACKET_LENGTH) == NULL, "packet_length is no limit");
	{
		/* Each limit's name and its value in force, from the same bit; memory
		 * first when several stopped the parser. */
		struct kw_limits l = KW_LIMITS_DEFAULT;

		CHECK_EQ_STR(verdict_limit_name(SSH_ANOM_MEMCAP | SSH_ANOM_BUFFER), "memory");
		CHECK(verdict_limit_value(SSH_ANOM_MEMCAP | SSH_ANOM_BUFFER, &l) ==
		          (unsigned long long)l.memory << 20,
		      "memory in bytes");
		CHECK(verdict_limit_value(SSH_ANOM_PACKET_LIMIT, &l) == l.max_packet, "max_packet");
		CHECK(verdict_limit_value(SSH_ANOM_BUFFER, &l) == l.stream_buf, "stream_buf");
		CHECK(verdict_limit_value(SSH_ANOM_KEXINIT_LIMIT, &l) == l.namelist_max,
		      "namelist_max");
		CHECK_EQ_STR(verdict_limit_name(SSH_ANOM_NOMEM), "out_of_memory");
		CHECK(verdict_limit_value(SSH_ANOM_NOMEM, &l) == 0, "out_of_memory has no setting");
		CHECK(verdict_limit_value(SSH_ANOM_BUFFER, NULL) == 0, "no limits, no value");
	}
	test_limits = (struct kw_limits)KW_LIMITS_DEFAULT;
}

static void test_closed_during_kex(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* The server closed after its KEX reply. */
	c = conn_kex(NULL, NULL);
	kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
	kexmsg(c, 1, SSH_MSG_KEX_31, T0 + 60 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 70 * MS);
	judge(c);
	d = EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, "Connection closed by " SERVER);
	SUMMARY(d, "The server closed the connection (fin) during the key exchange, after the "
	           "algorithms were agreed.");
	EV_TEXT(d, "initiator", "server");
	EV_TEXT(d, "kind", "fin");
	EV_INT(d, "last_client_message", SSH_MSG_KEX_30);
	EV_INT(d, "last_server_message", SSH_MSG_KEX_31);
	EV_MS(d, "after_ms", T0, T0 + 70 * MS);
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	CHECK_EQ_INT(v->phase, PHASE_KEX_REPLY);
	CHECK_EQ_INT(v->close_phase, PHASE_KEX_REPLY);
	free(c);

	/* The server reset it. */
	c = conn_kex(NULL, NULL);
	closes(c, 1, FLOW_CLOSE_RST, T0 + 70 * MS);
	judge(c);
	EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, "Connection reset by " SERVER);
	free(c);

	/* The client closed once it had the host key: it rejected the key. */
	c = conn_kex(NULL, NULL);
	kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
	kexmsg(c, 1, SSH_MSG_KEX_31, T0 + 60 * MS);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 70 * MS);
	judge(c);
	d = EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, "Host key verification failed.");
	EV_TEXT(d, "initiator", "client");
	free(c);

	/* Nearest negative for that symptom: the client closed before any host key. */
	c = conn_kex(NULL, NULL);
	kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 70 * MS);
	judge(c);
	d = EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, NULL);
	EV_INT(d, "last_server_message", SSH_MSG_KEXINIT);
	free(c);

	/* Nearest negatives for the code: not closed; no common algorithm. */
	c = conn_kex(NULL, NULL);
	c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
	judge(c);
	ABSENT(DIAG_CLOSED_DURING_KEX);
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	free(c);
	{
		const char *sl[8];

		memcpy(sl, base_lists, sizeof(sl));
		sl[KEX_HOSTKEY] = "ssh-rsa";
		c = conn_kex(NULL, sl);
		closes(c, 0, FLOW_CLOSE_FIN, T0 + 70 * MS);
		judge(c);
		ABSENT(DIAG_CLOSED_DURING_KEX);
		CHECK_EQ_INT(count(DIAG_NO_COMMON_ALGORITHM), 1);
		free(c);
	}
}

/* ------------------------------------------------------------ negotiation */

static void test_no_common_algorithm(void)
{
	static const struct {
		int cat;
		const char *server; /* the server's only offer in that category */
		const char *category, *direction, *words;
	} cases[] = {
	    {.cat = KEX_CAT_KEX,
	     .server = "diffie-hellman-group1-sha1",
	     .category = "kex",
	     .direction = "both",
	     .words = "key exchange method"},
	    {.cat = KEX_CAT_HOSTKEY,
	     .server = "ssh-rsa,ssh-dss",
	     .category = "host_key",
	     .direction = "both",
	     .words = "host key type"},
	    {.cat = KEX_CAT_ENC_C2S,
	     .server = "3des-cbc",
	     .category = "cipher",
	     .direction = "client_to_server",
	     .words = "cipher"},
	    {.cat = KEX_CAT_ENC_S2C,
	     .server = "3des-cbc",
	     .category = "cipher",
	     .direction = "server_to_client",
	     .words = "cipher"},
	    {.cat = KEX_CAT_MAC_C2S,
	     .server = "hmac-md5",
	     .category = "mac",
	     .direction = "client_to_server",
	     .words = "MAC"},
	    {.cat = KEX_CAT_MAC_S2C,
	     .server = "hmac-md5",
	     .category = "mac",
	     .direction = "server_to_client",
	     .words = "MAC"},
	    {.cat = KEX_CAT_COMP_C2S,
	     .server = "zlib",
	     .category = "compression",
	     .direction = "client_to_server",
	     .words = "compression method"},
	    {.cat = KEX_CAT_COMP_S2C,
	     .server = "zlib",
	     .category = "compression",
	     .direction = "server_to_client",
	     .words = "compression method"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *sl[8];
		struct conn *c;
		const struct diagnosis *d;
		char sym[256], sum[128];

		memcpy(sl, base_lists, sizeof(sl));
		sl[cases[i].cat] = cases[i].server;
		c = conn_kex(NULL, sl);
		judge(c);
		CHECK_EQ_INT(c->f.ssh.neg.failed_cat, cases[i].cat);
		snprintf(sym, sizeof(sym),
		         "Unable to negotiate with " SERVER
		         ": no matching %s found. Their offer: %s",
		         cases[i].words, cases[i].server);
		d = EXPECT(DIAG_NO_COMMON_ALGORITHM, SEV_ERROR, 0, sym);
		snprintf(sum, sizeof(sum),
		         "No common %s: the client and the server offer nothing in common.",
		         cases[i].words);
		SUMMARY(d, sum);
		EV_TEXT(d, "category", cases[i].category);
		EV_TEXT(d, "direction", cases[i].direction);
		EV_NAMES(d, "client_offer", base_lists[cases[i].cat]);
		EV_NAMES(d, "server_offer", cases[i].server);
		/* A handshake that cannot succeed failed, closed or not; nothing is
		 * judged of algorithms never agreed. */
		CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
		ABSENT(DIAG_NON_PQ_KEX);
		ABSENT(DIAG_WEAK_ALGORITHM);
		ABSENT(DIAG_TERRAPIN_EXPOSED);
		free(c);
	}

	/* Nearest negative: the server also offers the client's choice. */
	{
		const char *sl[8];
		struct conn *c;

		memcpy(sl, base_lists, sizeof(sl));
		sl[KEX_ENC_C2S] = "3des-cbc,aes128-ctr";
		c = conn_kex(NULL, sl);
		judge(c);
		ABSENT(DIAG_NO_COMMON_ALGORITHM);
		CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
		free(c);
	}
}

/* negotiated: both sides offer lists; judged (not closed). */
static struct conn *negotiated(const char *const lists[8])
{
	struct conn *c = conn_kex(lists, lists);

	judge(c);
	return c;
}

static void test_weak_algorithm(void)
{
	static const struct {
		const char *name;
		int list;
		const char *c2s, *s2c; /* a directed list and its reverse (NULL: the same) */
		uint32_t count;        /* weak_algorithm diagnoses */
		const char *algorithm, *category, *reason, *source;
	} cases[] = {
	    {.name = "SHA-1 kex",
	     .list = KEX_ALGS,
	     .c2s = "diffie-hellman-group14-sha1",
	     .count = 1,
	     .algorithm = "diffie-hellman-group14-sha1",
	     .category = "kex",
	     .reason = "SHA-1 exchange hash (SHOULD NOT)",
	     .source = "RFC 9142 section 4 (key exchange method updates)"},
	    {.name = "ssh-rsa host key",
	     .list = KEX_HOSTKEY,
	     .c2s = "ssh-rsa",
	     .count = 1,
	     .algorithm = "ssh-rsa",
	     .category = "host_key",
	     .reason = "RSA signatures with SHA-1",
	     .source = "OpenSSH 8.8 release notes: ssh-rsa (RSA/SHA-1) disabled by default"},
	    /* The same cipher both ways is reported once. */
	    {.name = "3des both ways",
	     .list = KEX_ENC_C2S,
	     .c2s = "3des-cbc",
	     .count = 1,
	     .algorithm = "3des-cbc",
	     .category = "cipher",
	     .reason = "64-bit block cipher (Sweet32) in CBC mode",
	     .source = "ssh-audit algorithm database (ssh2_kexdb.py)"},
	    {.name = "RC4 one way",
	     .list = KEX_ENC_C2S,
	     .c2s = "aes128-ctr",
	     .s2c = "arcfour",
	     .count = 1,
	     .algorithm = "arcfour",
	     .category = "cipher",
	     .reason = "RC4 (MUST NOT)",
	     .source = "RFC 8758 (deprecating RC4 in SSH)"},
	    {.name = "two weak ciphers",
	     .list = KEX_ENC_C2S,
	     .c2s = "3des-cbc",
	     .s2c = "arcfour",
	     .count = 2,
	     .algorithm = "3des-cbc",
	     .category = "cipher",
	     .reason = "64-bit block cipher (Sweet32) in CBC mode",
	     .source = "ssh-audit algorithm database (ssh2_kexdb.py)"},
	    {.name = "MD5 MAC",
	     .list = KEX_MAC_C2S,
	     .c2s = "hmac-md5",
	     .count = 1,
	     .algorithm = "hmac-md5",
	     .category = "mac",
	     .reason = "MD5, encrypt-and-MAC",
	     .source = "ssh-audit algorithm database (ssh2_kexdb.py)"},
	    /* Nearest negatives: the SHA-2 sibling; a strong MAC. */
	    {.name = "SHA-2 kex", .list = KEX_ALGS, .c2s = "diffie-hellman-group14-sha256"},
	    {.name = "SHA-2 MAC", .list = KEX_MAC_C2S, .c2s = "hmac-sha2-512"},
	    {.name = "zlib", .list = KEX_COMP_C2S, .c2s = "zlib@openssh.com"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *l[8];
		struct conn *c;
		const struct diagnosis *d;
		char sum[256];
		int paired = cases[i].list % 2 == 0 && cases[i].list >= KEX_ENC_C2S;

		memcpy(l, base_lists, sizeof(l));
		l[cases[i].list] = cases[i].c2s;
		if (paired)
			l[cases[i].list + 1] = cases[i].s2c ? cases[i].s2c : cases[i].c2s;
		c = negotiated(l);
		CHECK(count(DIAG_WEAK_ALGORITHM) == cases[i].count, "%s: %u weak, want %u",
		      cases[i].name, count(DIAG_WEAK_ALGORITHM), cases[i].count);
		d = find(DIAG_WEAK_ALGORITHM);
		if (cases[i].count > 0 && d != NULL) {
			CHECK_EQ_INT(d->severity, SEV_WARNING);
			CHECK_EQ_INT(d->hint, 0);
			CHECK(d->symptom == NULL, "%s: no symptom", cases[i].name);
			snprintf(sum, sizeof(sum), "The connection uses %s (%s): %s.",
			         cases[i].algorithm, cases[i].category, cases[i].reason);
			SUMMARY(d, sum);
			EV_TEXT(d, "algorithm", cases[i].algorithm);
			EV_TEXT(d, "category", cases[i].category);
			EV_TEXT(d, "reason", cases[i].reason);
			EV_TEXT(d, "source", cases[i].source);
		}
		free(c);
	}
}

static void test_non_pq_kex(void)
{
	static const struct {
		const char *kex;
		int pq;
	} cases[] = {
	    {.kex = "curve25519-sha256", .pq = 0},
	    {.kex = "ecdh-sha2-nistp256", .pq = 0},
	    {.kex = "diffie-hellman-group16-sha512", .pq = 0},
	    {.kex = "mlkem768x25519-sha256", .pq = 1},
	    {.kex = "sntrup761x25519-sha512@openssh.com", .pq = 1},
	    {.kex = "sntrup761x25519-sha512", .pq = 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *l[8];
		struct conn *c;
		const struct diagnosis *d;
		char sum[128];

		memcpy(l, base_lists, sizeof(l));
		l[KEX_ALGS] = cases[i].kex;
		c = negotiated(l);
		if (cases[i].pq) {
			CHECK(count(DIAG_NON_PQ_KEX) == 0, "%s is post-quantum", cases[i].kex);
			free(c);
			continue;
		}
		d = EXPECT(DIAG_NON_PQ_KEX, SEV_INFO, 0, NULL);
		snprintf(sum, sizeof(sum), "The key exchange %s is not post-quantum.",
		         cases[i].kex);
		SUMMARY(d, sum);
		EV_TEXT(d, "kex", cases[i].kex);
		free(c);
	}
}

static void test_terrapin_exposed(void)
{
	static const struct {
		const char *name;
		const char *ckex, *skex; /* kex lists (NULL: base) */
		const char *enc_c2s, *enc_s2c, *mac;
		int exposed, client_strict, server_strict;
		const char *cipher, *mac_seen;
	} cases[] = {
	    {.name = "chacha20, no strict kex",
	     .enc_c2s = "chacha20-poly1305@openssh.com",
	     .enc_s2c = "chacha20-poly1305@openssh.com",
	     .mac = "hmac-sha2-256",
	     .exposed = 1,
	     .cipher = "chacha20-poly1305@openssh.com",
	     .mac_seen = "<implicit>"},
	    {.name = "chacha20, only the client strict",
	     .ckex = "curve25519-sha256,kex-strict-c-v00@openssh.com",
	     .enc_c2s = "chacha20-poly1305@openssh.com",
	     .enc_s2c = "chacha20-poly1305@openssh.com",
	     .mac = "hmac-sha2-256",
	     .exposed = 1,
	     .client_strict = 1,
	     .cipher = "chacha20-poly1305@openssh.com",
	     .mac_seen = "<implicit>"},
	    {.name = "chacha20, only the server strict",
	     .skex = "curve25519-sha256,kex-strict-s-v00@openssh.com",
	     .enc_c2s = "chacha20-poly1305@openssh.com",
	     .enc_s2c = "chacha20-poly1305@openssh.com",
	     .mac = "hmac-sha2-256",
	     .exposed = 1,
	     .server_strict = 1,
	     .cipher = "chacha20-poly1305@openssh.com",
	     .mac_seen = "<implicit>"},
	    /* Nearest negative: strict key exchange on both sides. */
	    {.name = "chacha20, strict kex",
	     .ckex = "curve25519-sha256,kex-strict-c-v00@openssh.com",
	     .skex = "curve25519-sha256,kex-strict-s-v00@openssh.com",
	     .enc_c2s = "chacha20-poly1305@openssh.com",
	     .enc_s2c = "chacha20-poly1305@openssh.com",
	     .mac = "hmac-sha2-256"},
	    {.name = "CBC with EtM",
	     .enc_c2s = "aes128-cbc",
	     .enc_s2c = "aes128-cbc",
	     .mac = "hmac-sha2-256-etm@openssh.com",
	     .exposed = 1,
	     .cipher = "aes128-cbc",
	     .mac_seen = "hmac-sha2-256-etm@openssh.com"},
	    /* Nearest negatives of CBC with EtM: another MAC, another mode. */
	    {.name = "CBC without EtM",
	     .enc_c2s = "aes128-cbc",
	     .enc_s2c = "aes128-cbc",
	     .mac = "hmac-sha2-256"},
	    {.name = "CTR with EtM",
	     .enc_c2s = "aes128-ctr",
	     .enc_s2c = "aes128-ctr",
	     .mac = "hmac-sha2-256-etm@openssh.com"},
	    {.name = "AES-GCM",
	     .enc_c2s = "aes256-gcm@openssh.com",
	     .enc_s2c = "aes256-gcm@openssh.com",
	     .mac = "hmac-sha2-256-etm@openssh.com"},
	    /* One direction is enough. */
	    {.name = "chacha20 server to client only",
	     .enc_c2s = "aes128-ctr",
	     .enc_s2c = "chacha20-poly1305@openssh.com",
	     .mac = "hmac-sha2-256",
	     .exposed = 1,
	     .cipher = "chacha20-poly1305@openssh.com",
	     .mac_seen = "<implicit>"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *cl[8], *sl[8];
		struct conn *c;
		const struct diagnosis *d;
		char sum[256];

		memcpy(cl, base_lists, sizeof(cl));
		cl[KEX_ENC_C2S] = cases[i].enc_c2s;
		cl[KEX_ENC_S2C] = cases[i].enc_s2c;
		cl[KEX_MAC_C2S] = cl[KEX_MAC_S2C] = cases[i].mac;
		memcpy(sl, cl, sizeof(sl));
		if (cases[i].ckex != NULL)
			cl[KEX_ALGS] = cases[i].ckex;
		if (cases[i].skex != NULL)
			sl[KEX_ALGS] = cases[i].skex;
		c = conn_kex(cl, sl);
		judge(c);
		if (!cases[i].exposed) {
			CHECK(count(DIAG_TERRAPIN_EXPOSED) == 0, "%s: not exposed", cases[i].name);
			free(c);
			continue;
		}
		d = EXPECT(DIAG_TERRAPIN_EXPOSED, SEV_WARNING, 0, NULL);
		snprintf(sum, sizeof(sum),
		         "%s with %s is open to the Terrapin prefix-truncation attack, and strict "
		         "key exchange is not on for both sides.",
		         cases[i].cipher, cases[i].mac_seen);
		SUMMARY(d, sum);
		EV_TEXT(d, "cipher", cases[i].cipher);
		EV_TEXT(d, "mac", cases[i].mac_seen);
		EV_BOOL(d, "client_strict", cases[i].client_strict);
		EV_BOOL(d, "server_strict", cases[i].server_strict);
		free(c);
	}
}

/* ----------------------------------------------------------------- stalls */

static void test_stall(void)
{
	/* The server's KEX reply (dir 1) is lost, unless a case says the client's. */
	static const struct {
		const char *name;
		int dir;                    /* TCP direction that lost data */
		uint32_t lost, retransmits; /* sender side: the unacknowledged segment */
		uint32_t acked, peer_acked; /* largest segments acknowledged each way */
		uint32_t hole, max_segment; /* receiver side: a hole never acknowledged */
		uint32_t df_clear, nicmp;   /* DF cleared; ICMP errors seen */
		int established;            /* both NEWKEYS anyway */
		uint32_t gaps;              /* capture gaps */
		enum diag_code want;        /* DIAG_COUNT: neither */
		int hint;
	} cases[] = {
	    {.name = "large segment lost, small ones pass",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 300,
	     .want = DIAG_MTU_BLACKHOLE_SUSPECTED},
	    {.name = "the client's segment",
	     .dir = 0,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 300,
	     .want = DIAG_MTU_BLACKHOLE_SUSPECTED},
	    {.name = "513 bytes",
	     .dir = 1,
	     .lost = 513,
	     .retransmits = 3,
	     .acked = 100,
	     .peer_acked = 100,
	     .want = DIAG_MTU_BLACKHOLE_SUSPECTED},
	    /* Nearest negatives of the black hole: a stall. */
	    {.name = "DF cleared",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 300,
	     .df_clear = 1,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_RETRANSMITTED},
	    {.name = "as large got through the other way",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 1448,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_RETRANSMITTED},
	    {.name = "as large got through before",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 1448,
	     .peer_acked = 300,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_RETRANSMITTED},
	    {.name = "512 bytes",
	     .dir = 1,
	     .lost = 512,
	     .retransmits = 3,
	     .acked = 100,
	     .peer_acked = 100,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_RETRANSMITTED},
	    {.name = "an ICMP error reached the sender",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 300,
	     .nicmp = 1,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_RETRANSMITTED},
	    /* Nearest negatives of both. */
	    {.name = "not retransmitted",
	     .dir = 1,
	     .lost = 1448,
	     .acked = 600,
	     .peer_acked = 300,
	     .want = DIAG_COUNT},
	    {.name = "established after all",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 300,
	     .established = 1,
	     .want = DIAG_COUNT},
	    {.name = "capture gaps",
	     .dir = 1,
	     .lost = 1448,
	     .retransmits = 3,
	     .acked = 600,
	     .peer_acked = 300,
	     .gaps = 1,
	     .want = DIAG_COUNT},
	    /* Seen at the receiver. */
	    {.name = "hole larger than every segment",
	     .dir = 1,
	     .hole = 1448,
	     .max_segment = 1000,
	     .want = DIAG_MTU_BLACKHOLE_SUSPECTED},
	    {.name = "hole no larger than a segment that arrived",
	     .dir = 1,
	     .hole = 1000,
	     .max_segment = 1000,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_HOLE},
	    {.name = "hole, DF cleared",
	     .dir = 1,
	     .hole = 1448,
	     .max_segment = 1000,
	     .df_clear = 1,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_HOLE},
	    {.name = "hole, ICMP seen",
	     .dir = 1,
	     .hole = 1448,
	     .max_segment = 1000,
	     .nicmp = 1,
	     .want = DIAG_KEX_STALLED,
	     .hint = HINT_STALL_HOLE},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_kex(NULL, NULL);
		struct tcp_dir *td = &c->f.dir[cases[i].dir], *peer = &c->f.dir[!cases[i].dir];
		const char *who = cases[i].dir == 0 ? "client" : "server";
		const char *way = cases[i].dir == 0 ? "client_to_server" : "server_to_client";
		const struct diagnosis *d;
		char sum[256];

		kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
		td->retransmits = cases[i].retransmits;
		if (cases[i].lost) {
			td->ninflight = 1;
			td->inflight_len[0] = cases[i].lost;
		}
		td->acked_max = cases[i].acked;
		peer->acked_max = cases[i].peer_acked;
		td->path_hole_max = cases[i].hole;
		td->path_holes = cases[i].hole ? 1 : 0;
		if (cases[i].max_segment)
			td->max_segment = cases[i].max_segment;
		td->df_clear = cases[i].df_clear;
		td->df_set = td->packets;
		c->f.dir[0].gaps = cases[i].gaps;
		if (cases[i].nicmp) {
			c->f.nicmp = 1;
			c->f.icmp[0] = (struct flow_icmp){.type = 3, .code = 4, .mtu = 1400};
		}
		if (cases[i].established)
			newkeys(c, T0 + 2 * SEC);
		/* The side that waited gave up: the stall explains the close. */
		closes(c, 0, FLOW_CLOSE_FIN, T0 + 5 * SEC);
		judge(c);
		CHECK(count(DIAG_MTU_BLACKHOLE_SUSPECTED) ==
		          (cases[i].want == DIAG_MTU_BLACKHOLE_SUSPECTED),
		      "%s: mtu_blackhole_suspected %u", cases[i].name,
		      count(DIAG_MTU_BLACKHOLE_SUSPECTED));
		CHECK(count(DIAG_KEX_STALLED) == (cases[i].want == DIAG_KEX_STALLED),
		      "%s: kex_stalled %u", cases[i].name, count(DIAG_KEX_STALLED));
		if (cases[i].want == DIAG_COUNT) {
			free(c);
			continue;
		}
		ABSENT(DIAG_CLOSED_DURING_KEX);
		d = EXPECT(cases[i].want, SEV_ERROR, cases[i].hint, STALL_SYMPTOM);
		EV_TEXT(d, "direction", way);
		EV_INT(d, "peer_mss", peer->mss);
		EV_BOOL(d, "df", cases[i].df_clear == 0);
		if (cases[i].hole) {
			snprintf(
			    sum, sizeof(sum),
			    "%u bytes of the %s's key exchange never arrived (the receiver never "
			    "acknowledged them) while later segments of up to %u bytes did.",
			    cases[i].hole, who, cases[i].max_segment);
			SUMMARY(d, sum);
			EV_TEXT(d, "seen_at", "receiver");
			EV_INT(d, "lost_bytes", cases[i].hole);
			EV_INT(d, "largest_received_segment", cases[i].max_segment);
			EV_NONE(d, "retransmits");
		} else {
			snprintf(
			    sum, sizeof(sum),
			    "A %u-byte %s segment of the key exchange was retransmitted and never "
			    "acknowledged%s.",
			    cases[i].lost, who,
			    cases[i].want == DIAG_MTU_BLACKHOLE_SUSPECTED
			        ? ", while smaller segments got through"
			        : "");
			SUMMARY(d, sum);
			EV_INT(d, "segment_size", cases[i].lost);
			EV_INT(d, "retransmits", cases[i].retransmits);
			EV_INT(d, "largest_acked_segment", cases[i].acked);
			EV_NONE(d, "seen_at");
		}
		CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
		free(c);
	}

	/* A stall the capture stopped watching: incomplete by the facts, failed by the error. */
	{
		struct conn *c = conn_kex(NULL, NULL);

		c->f.dir[1].retransmits = 2;
		c->f.dir[1].ninflight = 1;
		c->f.dir[1].inflight_len[0] = 1448;
		c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
		judge(c);
		CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_INCOMPLETE);
		CHECK_EQ_INT(count(DIAG_MTU_BLACKHOLE_SUSPECTED), 1);
		CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
		free(c);
	}
}

/* -------------------------------------------------------------- disconnect */

static void test_disconnect_message(void)
{
	static const struct {
		const char *name;
		int dir; /* who sent it */
		uint32_t reason;
		const char *desc;
		uint32_t desc_len;
		int established;
		enum verdict_severity sev;
		const char *reason_name, *escaped, *symptom;
	} cases[] = {
	    {.name = "server, before NEWKEYS",
	     .dir = 1,
	     .reason = 3,
	     .desc = "no matching host key type found",
	     .desc_len = 31,
	     .sev = SEV_ERROR,
	     .reason_name = "KEY_EXCHANGE_FAILED",
	     .escaped = "no matching host key type found",
	     .symptom = "Received disconnect from " SERVER ":3: no matching host key type found"},
	    {.name = "server, after NEWKEYS",
	     .dir = 1,
	     .reason = 2,
	     .desc = "Too many authentication failures",
	     .desc_len = 32,
	     .established = 1,
	     .sev = SEV_INFO,
	     .reason_name = "PROTOCOL_ERROR",
	     .escaped = "Too many authentication failures",
	     .symptom = "Received disconnect from " SERVER ":2: Too many authentication failures"},
	    {.name = "client, before NEWKEYS",
	     .dir = 0,
	     .reason = 11,
	     .desc = "bye\x01",
	     .desc_len = 4,
	     .sev = SEV_ERROR,
	     .reason_name = "BY_APPLICATION",
	     .escaped = "bye\\x01"},
	    {.name = "server, unknown reason",
	     .dir = 1,
	     .reason = 99,
	     .desc = "",
	     .desc_len = 0,
	     .sev = SEV_ERROR,
	     .reason_name = "UNKNOWN",
	     .escaped = "",
	     .symptom = "Received disconnect from " SERVER ":99: "},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_kex(NULL, NULL);
		struct ssh_dir *sd = &c->f.ssh.dir[cases[i].dir];
		const char *from = cases[i].dir == 0 ? "client" : "server";
		const struct diagnosis *d;
		char sum[256];

		if (cases[i].established)
			newkeys(c, T0 + 100 * MS);
		sd->disconnect_seen = 1;
		sd->disconnect_reason = cases[i].reason;
		sd->disconnect_desc = (uint8_t *)cases[i].desc;
		sd->disconnect_desc_len = cases[i].desc_len;
		judge(c);
		d = EXPECT(DIAG_DISCONNECT_MESSAGE, cases[i].sev, 0, cases[i].symptom);
		snprintf(sum, sizeof(sum), "The %s sent SSH_MSG_DISCONNECT %s: \"%s\".", from,
		         cases[i].reason_name, cases[i].escaped);
		SUMMARY(d, sum);
		EV_TEXT(d, "from", from);
		EV_INT(d, "reason_code", cases[i].reason);
		EV_TEXT(d, "reason", cases[i].reason_name);
		EV_TEXT(d, "description", cases[i].escaped);
		CHECK_EQ_INT(v->outcome,
		             cases[i].established ? OUTCOME_ESTABLISHED : OUTCOME_FAILED);
		free(c);
	}

	/* A description longer than a summary: cut where vsnprintf cuts it. */
	{
		struct conn *c = conn_kex(NULL, NULL);
		static char desc[700], sum[2048];
		const struct diagnosis *d;

		memset(desc, 'x', sizeof(desc) - 1);
		c->f.ssh.dir[1].disconnect_seen = 1;
		c->f.ssh.dir[1].disconnect_reason = 2;
		c->f.ssh.dir[1].disconnect_desc = (uint8_t *)desc;
		c->f.ssh.dir[1].disconnect_desc_len = sizeof(desc) - 1;
		judge(c);
		d = find(DIAG_DISCONNECT_MESSAGE);
		snprintf(sum, sizeof(sum),
		         "The server sent SSH_MSG_DISCONNECT PROTOCOL_ERROR: \"%s\".", desc);
		sum[511] = '\0'; /* DIAG_SUMMARY_MAX - 1 */
		SUMMARY(d, sum);
		free(c);
	}

	/* Both sides sent one: the server's is the one quoted. */
	{
		struct conn *c = conn_kex(NULL, NULL);
		const struct diagnosis *d;

		c->f.ssh.dir[0].disconnect_seen = 1;
		c->f.ssh.dir[0].disconnect_reason = 11;
		c->f.ssh.dir[1].disconnect_seen = 1;
		c->f.ssh.dir[1].disconnect_reason = 2;
		judge(c);
		d = find(DIAG_DISCONNECT_MESSAGE);
		CHECK_EQ_INT(count(DIAG_DISCONNECT_MESSAGE), 1);
		EV_TEXT(d, "from", "server");
		EV_INT(d, "reason_code", 2);
		free(c);

		/* Nearest negative: none sent. */
		c = conn_kex(NULL, NULL);
		judge(c);
		ABSENT(DIAG_DISCONNECT_MESSAGE);
		free(c);
	}

	/* RFC 4253 11.1 names, and the ones it lacks. */
	CHECK_EQ_STR(diagnose_disconnect_reason(0), "UNKNOWN");
	CHECK_EQ_STR(diagnose_disconnect_reason(1), "HOST_NOT_ALLOWED_TO_CONNECT");
	CHECK_EQ_STR(diagnose_disconnect_reason(9), "HOST_KEY_NOT_VERIFIABLE");
	CHECK_EQ_STR(diagnose_disconnect_reason(14), "NO_MORE_AUTH_METHODS_AVAILABLE");
	CHECK_EQ_STR(diagnose_disconnect_reason(15), "ILLEGAL_USER_NAME");
	CHECK_EQ_STR(diagnose_disconnect_reason(16), "UNKNOWN");
	CHECK_EQ_STR(diagnose_disconnect_reason(UINT32_MAX), "UNKNOWN");
}

/* ---------------------------------------------------------------- capture */

static void test_capture_incomplete(void)
{
	static const struct {
		const char *name;
		int silent;         /* TCP direction never seen, -1: both seen */
		uint32_t anomalies; /* FLOW_ANOM_* */
		uint32_t gaps0, gaps1;
		uint32_t n;
		const char *missing[6];
	} cases[] = {
	    {.name = "server side missing", .silent = 1, .n = 1, .missing = {"server_to_client"}},
	    {.name = "client side missing", .silent = 0, .n = 1, .missing = {"client_to_server"}},
	    {.name = "began mid-connection",
	     .silent = -1,
	     .anomalies = FLOW_ANOM_MIDSTREAM,
	     .n = 1,
	     .missing = {"connection_start"}},
	    {.name = "gaps", .silent = -1, .gaps0 = 1, .gaps1 = 2, .n = 1, .missing = {"segments"}},
	    {.name = "snapped",
	     .silent = -1,
	     .anomalies = FLOW_ANOM_SNAPPED,
	     .n = 1,
	     .missing = {"packet_tails"}},
	    {.name = "evicted",
	     .silent = -1,
	     .anomalies = FLOW_ANOM_EVICTED,
	     .n = 1,
	     .missing = {"connection_end"}},
	    {.name = "everything",
	     .silent = 1,
	     .anomalies = FLOW_ANOM_MIDSTREAM | FLOW_ANOM_SNAPPED | FLOW_ANOM_EVICTED,
	     .gaps0 = 4,
	     .n = 5,
	     .missing = {"server_to_client", "connection_start", "segments", "packet_tails",
	                 "connection_end"}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_new();
		const struct diagnosis *d;
		const struct diag_evidence *e;

		banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
		banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
		if (cases[i].silent >= 0)
			memset(&c->f.dir[cases[i].silent], 0, sizeof(c->f.dir[0]));
		c->f.anomalies = cases[i].anomalies;
		c->f.dir[0].gaps = cases[i].gaps0;
		c->f.dir[1].gaps = cases[i].gaps1;
		/* It closed, but what is missing forbids calling that a failure. */
		c->f.close_kind = FLOW_CLOSE_FIN;
		c->f.close_dir = 1;
		c->f.t_close = T0 + 1 * SEC;
		judge(c);
		d = EXPECT(DIAG_CAPTURE_INCOMPLETE, SEV_WARNING, 0, NULL);
		SUMMARY(d, "The capture does not hold the whole connection, so conclusions about "
		           "it are limited to what was seen.");
		EV_INT(d, "gaps", cases[i].gaps0 + cases[i].gaps1);
		e = ev_at(__LINE__, d, "missing", EV_TEXTS);
		CHECK(e != NULL && e->v.list.n == cases[i].n, "%s: %u missing, want %u",
		      cases[i].name, e != NULL ? e->v.list.n : 0, cases[i].n);
		for (uint32_t j = 0; e != NULL && j < e->v.list.n && j < cases[i].n; j++)
			CHECK_EQ_STR(e->v.list.v[j], cases[i].missing[j]);
		/* No conclusion is drawn from what is missing. */
		ABSENT(DIAG_CLOSED_AFTER_BANNER);
		CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
		free(c);
	}

	/* Nearest negatives: the whole connection; SYNs only (the silence is the server's). */
	{
		struct conn *c = conn_banners();

		judge(c);
		ABSENT(DIAG_CAPTURE_INCOMPLETE);
		free(c);
		c = conn_syns(2, T0 + 1 * SEC);
		judge(c);
		ABSENT(DIAG_CAPTURE_INCOMPLETE);
		CHECK(!verdict_one_sided(&c->f), "SYNs only are not one-sided");
		CHECK(verdict_only_syns(&c->f), "SYNs only");
		free(c);
	}
}

/* ------------------------------------------------------------------ judge */

static void test_outcome(void)
{
	struct conn *c;

	/* Both NEWKEYS: established, however it ended. */
	c = conn_kex(NULL, NULL);
	newkeys(c, T0 + 100 * MS);
	closes(c, 1, FLOW_CLOSE_RST, T0 + 5 * SEC);
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_ESTABLISHED);
	judge(c);
	CHECK_EQ_INT(v->outcome, OUTCOME_ESTABLISHED);
	CHECK(v->established, "established");
	CHECK(v->auth_known, "authentication read once established");
	free(c);

	/* One NEWKEYS is not enough. */
	c = conn_kex(NULL, NULL);
	c->f.ssh.dir[0].t_newkeys = T0 + 100 * MS;
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 5 * SEC);
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_FAILED);
	judge(c);
	CHECK(!v->established && !v->auth_known, "not established");
	CHECK_EQ_INT(v->phase, PHASE_NEWKEYS);
	free(c);

	/* Closed or given up on before NEWKEYS: failed. */
	c = conn_banners();
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_FAILED);
	free(c);
	c = conn_banners();
	c->f.close_kind = FLOW_CLOSE_TIMEOUT;
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_FAILED);
	free(c);

	/* The capture stopped watching: incomplete, and stays so without an error. */
	c = conn_banners();
	c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_INCOMPLETE);
	judge(c);
	CHECK_EQ_INT(v->outcome, OUTCOME_INCOMPLETE);
	CHECK_EQ_INT(v->ndiag, 0);
	free(c);

	/* Incomplete with an error that explains it: failed (an invalid server banner). */
	c = conn_new();
	banner(c, 0, CLIENT_BANNER, T0 + 10 * MS);
	raw(c, 1, "HTTP/1.1 400 Bad Request\r\n", 26, SSH_ST_LINES, 0, T0 + 20 * MS);
	c->f.close_kind = FLOW_CLOSE_CAPTURE_END;
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_INCOMPLETE);
	judge(c);
	CHECK(verdict_has_error(v), "banner_invalid is an error");
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	free(c);

	/* No common algorithm: failed without a close. */
	{
		const char *sl[8];

		memcpy(sl, base_lists, sizeof(sl));
		sl[KEX_ALGS] = "diffie-hellman-group1-sha1";
		c = conn_kex(NULL, sl);
		CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_FAILED);
		free(c);
	}

	/* Not SSH: no identification line either way, a side that is not SSH. */
	c = conn_new();
	raw(c, 0, "GET / HTTP/1.1\r\n", 16, SSH_ST_NOT_SSH, SSH_ANOM_BANNER_INVALID, T0 + 10 * MS);
	raw(c, 1, "HTTP/1.1 400 Bad Request\r\n", 26, SSH_ST_NOT_SSH, 0, T0 + 20 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 30 * MS);
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_NOT_SSH);
	judge(c);
	CHECK_EQ_INT(v->outcome, OUTCOME_NOT_SSH);
	CHECK_EQ_INT(count(DIAG_BANNER_INVALID), 2);
	/* Nearest negative: the server did send an identification line. */
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_FAILED);
	free(c);

	/* A capture that holds part of the connection cannot say it failed. */
	c = conn_banners();
	memset(&c->f.dir[1], 0, sizeof(c->f.dir[1]));
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	CHECK(verdict_one_sided(&c->f), "one-sided");
	CHECK(verdict_capture_partial(&c->f), "partial");
	CHECK_EQ_INT(verdict_outcome_of(&c->f), OUTCOME_INCOMPLETE);
	free(c);

	/* t0 and t_close: the SYN and the close, else the first and last packets. */
	c = conn_banners();
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	judge(c);
	CHECK_EQ_INT(v->t0, T0);
	CHECK_EQ_INT(v->t_close, T0 + 1 * SEC);
	c->f.t_syn = 0;
	c->f.t_first = T0 + 5;
	c->f.close_kind = FLOW_CLOSE_TIMEOUT;
	judge(c);
	CHECK_EQ_INT(v->t0, T0 + 5);
	CHECK_EQ_INT(v->t_close, T0 + 1 * SEC); /* the FIN packet was the last one */
	free(c);
}

static void test_phase(void)
{
	static const struct {
		uint64_t at;
		enum verdict_phase want;
	} steps[] = {
	    {.at = T0 - 1, .want = PHASE_NONE},
	    {.at = T0, .want = PHASE_SYN},
	    {.at = T0 + 1 * MS, .want = PHASE_TCP_ESTABLISHED},
	    {.at = T0 + 10 * MS, .want = PHASE_CLIENT_BANNER},
	    {.at = T0 + 20 * MS, .want = PHASE_SERVER_BANNER},
	    {.at = T0 + 30 * MS, .want = PHASE_KEXINIT},
	    {.at = T0 + 40 * MS, .want = PHASE_KEXINIT},
	    {.at = T0 + 50 * MS, .want = PHASE_KEXINIT}, /* the client's KEX init only */
	    {.at = T0 + 60 * MS, .want = PHASE_KEX_REPLY},
	    {.at = T0 + 70 * MS, .want = PHASE_NEWKEYS}, /* the client's NEWKEYS only */
	    {.at = T0 + 80 * MS, .want = PHASE_ENCRYPTED},
	    {.at = UINT64_MAX, .want = PHASE_ENCRYPTED},
	};
	static const char *const names[] = {
	    [PHASE_NONE] = "none",
	    [PHASE_SYN] = "syn",
	    [PHASE_TCP_ESTABLISHED] = "tcp_established",
	    [PHASE_CLIENT_BANNER] = "client_banner",
	    [PHASE_SERVER_BANNER] = "server_banner",
	    [PHASE_KEXINIT] = "kexinit",
	    [PHASE_KEX_REPLY] = "kex_reply",
	    [PHASE_NEWKEYS] = "newkeys",
	    [PHASE_ENCRYPTED] = "encrypted",
	};
	struct conn *c = conn_kex(NULL, NULL);
	enum verdict_phase prev = PHASE_NONE;

	kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
	kexmsg(c, 1, SSH_MSG_KEX_31, T0 + 60 * MS);
	c->f.ssh.dir[0].t_newkeys = T0 + 70 * MS;
	c->f.ssh.dir[1].t_newkeys = T0 + 80 * MS;
	c->f.ssh.dir[1].enc_bytes = 100;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum verdict_phase p = verdict_phase_at(&c->f, steps[i].at);

		CHECK(p == steps[i].want, "phase at step %zu: %s, want %s", i,
		      verdict_phase_name(p), verdict_phase_name(steps[i].want));
	}
	/* Never backwards as time goes on, 1 ms at a time. */
	for (uint64_t t = T0 - MS; t <= T0 + 100 * MS; t += MS) {
		enum verdict_phase p = verdict_phase_at(&c->f, t);

		if (p < prev)
			CHECK(0, "phase went back at +%llu us", (unsigned long long)(t - T0));
		prev = p;
	}
	CHECK_EQ_INT(prev, PHASE_ENCRYPTED);
	for (int p = PHASE_NONE; p <= PHASE_ENCRYPTED; p++)
		CHECK_EQ_STR(verdict_phase_name((enum verdict_phase)p), names[p]);

	/* No encrypted byte after both NEWKEYS: newkeys, not encrypted. */
	c->f.ssh.dir[1].enc_bytes = 0;
	CHECK_EQ_INT(verdict_phase_at(&c->f, UINT64_MAX), PHASE_NEWKEYS);
	/* The reply to a KEX init without the host key (GEX_GROUP, 31) is not the reply. */
	c->f.ssh.dir[0].t_newkeys = c->f.ssh.dir[1].t_newkeys = 0;
	c->f.ssh.hostkey.present = 0;
	CHECK_EQ_INT(verdict_phase_at(&c->f, UINT64_MAX), PHASE_KEXINIT);
	/* ... GEX_REPLY (33) is. */
	c->f.ssh.dir[1].kexmsg_mask |= 1u << (SSH_MSG_KEX_DH_GEX_REPLY - SSH_MSG_KEX_30);
	CHECK_EQ_INT(verdict_phase_at(&c->f, UINT64_MAX), PHASE_KEX_REPLY);
	free(c);

	/* Begun mid-connection: both directions seen without a SYN is TCP established. */
	c = conn_new();
	c->f.t_syn = c->f.t_synack = 0;
	c->f.dir[0].t_first = T0;
	c->f.dir[1].t_first = T0 + 5 * MS;
	CHECK_EQ_INT(verdict_phase_at(&c->f, T0 + 1 * MS), PHASE_NONE);
	CHECK_EQ_INT(verdict_phase_at(&c->f, T0 + 5 * MS), PHASE_TCP_ESTABLISHED);
	/* A SYN seen but only one direction: no further than syn. */
	c->f.t_syn = T0;
	c->f.dir[1].t_first = 0;
	CHECK_EQ_INT(verdict_phase_at(&c->f, UINT64_MAX), PHASE_SYN);
	free(c);
}

static void test_client_dir(void)
{
	static const struct {
		const char *name;
		int client_dir;
		int role;
		int initiator_known;
		int want;
	} cases[] = {
	    {.name = "told by KEX messages",
	     .client_dir = 1,
	     .role = SSH_ROLE_KEX_MESSAGES,
	     .initiator_known = 1,
	     .want = 1},
	    {.name = "told by KEXINIT markers",
	     .client_dir = 1,
	     .role = SSH_ROLE_KEXINIT,
	     .initiator_known = 0,
	     .want = 1},
	    /* Only assumed: the TCP initiator, whatever client_dir says. */
	    {.name = "assumed, initiator known",
	     .client_dir = 1,
	     .role = SSH_ROLE_ASSUMED,
	     .initiator_known = 1,
	     .want = 0},
	    {.name = "assumed, initiator unknown",
	     .client_dir = 1,
	     .role = SSH_ROLE_ASSUMED,
	     .initiator_known = 0,
	     .want = 0},
	    {.name = "unknown",
	     .client_dir = -1,
	     .role = SSH_ROLE_UNKNOWN,
	     .initiator_known = 0,
	     .want = 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_new();

		c->f.ssh.client_dir = cases[i].client_dir;
		c->f.ssh.role_source = cases[i].role;
		c->f.initiator_known = (uint8_t)cases[i].initiator_known;
		CHECK(verdict_client_dir(&c->f) == cases[i].want, "%s: client_dir %d, want %d",
		      cases[i].name, verdict_client_dir(&c->f), cases[i].want);
		judge(c);
		CHECK_EQ_INT(v->client_dir, cases[i].want);
		free(c);
	}

	/* The SSH client answered the TCP connection: the server is the initiator,
	 * and the messages name it by its address and port. */
	{
		struct conn *c = conn_new();
		const struct diagnosis *d;

		c->f.ssh.client_dir = 1;
		banner(c, 1, CLIENT_BANNER, T0 + 10 * MS);
		banner(c, 0, SERVER_BANNER, T0 + 20 * MS);
		closes(c, 0, FLOW_CLOSE_FIN, T0 + 1 * SEC);
		judge(c);
		d = find(DIAG_CLOSED_AFTER_BANNER);
		CHECK_EQ_INT(count(DIAG_CLOSED_AFTER_BANNER), 1);
		CHECK_EQ_STR(d != NULL ? d->symptom : NULL,
		             "Connection closed by 198.18.0.1 port 50000");
		EV_TEXT(d, "initiator", "server");
		CHECK_EQ_INT(d != NULL ? d->hint : -1, HINT_CAB_SERVER);
		free(c);
	}
}

/* ------------------------------------------------------------ scanners */

/* ev_texts_has: d's text-list evidence key holds want. */
static int ev_texts_has(const struct diagnosis *d, const char *key, const char *want)
{
	const struct diag_evidence *e = d != NULL ? diagnosis_evidence(d, key) : NULL;

	for (uint32_t i = 0; e != NULL && e->type == EV_TEXTS && i < e->v.list.n; i++)
		if (strcmp(e->v.list.v[i], want) == 0)
			return 1;
	return 0;
}

/* host_key_probe: a handshake run to the KEX reply, then closed by the client. */
static struct conn *host_key_probe(const char *hostkeys, uint64_t t)
{
	static const char *lists[8][8];
	static int k;
	const char **cl = lists[k++ % 8], *sl[8];
	struct conn *c;

	memcpy(cl, base_lists, sizeof(base_lists));
	cl[KEX_HOSTKEY] = hostkeys;
	memcpy(sl, base_lists, sizeof(sl));
	sl[KEX_HOSTKEY] = "ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-rsa";
	c = conn_kex(cl, sl);
	kexmsg(c, 0, SSH_MSG_KEX_30, T0 + 50 * MS);
	kexmsg(c, 1, SSH_MSG_KEX_31, T0 + 60 * MS);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 70 * MS);
	/* Each connection at its own time: the table counts by capture time. */
	c->f.t_close += t;
	return c;
}

static void test_scanner_probe(void)
{
	const struct diagnosis *d;
	struct conn *c;

	/* A fresh context: earlier cases' flows with limits made its tables,
	 * and each case here is one connection alone (test_scanner_source
	 * tests the memory across connections). */
	verdict_ctx_free(&ctx);
	verdict_ctx_init(&ctx, NULL);

	/* Banner and KEXINIT, then the client closes at once (ssh-audit's first
	 * connection, nmap's ssh2-enum-algos): info, and no error. */
	c = conn_kex(NULL, NULL);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 45 * MS);
	judge(c);
	d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
	SUMMARY(d, "A scanner or a health check probed the server (closed_after_kexinit) and "
	           "ended the connection on purpose.");
	EV_TEXT(d, "pattern", "closed_after_kexinit");
	EV_TEXT(d, "client_banner", CLIENT_BANNER);
	EV_TEXT(d, "initiator", "client");
	EV_INT(d, "last_client_message", SSH_MSG_KEXINIT);
	EV_MS(d, "closed_after_ms", T0 + 40 * MS, T0 + 45 * MS);
	CHECK(ev_texts_has(d, "instead_of", "closed_during_kex"), "instead of closed_during_kex");
	ABSENT(DIAG_CLOSED_DURING_KEX);
	CHECK(!verdict_has_error(v), "a probe is no error");
	CHECK_EQ_INT(v->outcome, OUTCOME_FAILED);
	free(c);

	/* Nearest negative: a real client that closes after the KEXINITs
	 * because nothing matches stays no_common_algorithm. */
	{
		const char *sl[8];

		memcpy(sl, base_lists, sizeof(sl));
		sl[KEX_HOSTKEY] = "ssh-rsa";
		c = conn_kex(NULL, sl);
		closes(c, 0, FLOW_CLOSE_FIN, T0 + 45 * MS);
		judge(c);
		ABSENT(DIAG_SCANNER_PROBE);
		CHECK_EQ_INT(count(DIAG_NO_COMMON_ALGORITHM), 1);
		CHECK(verdict_has_error(v), "a mismatch is an error");
		free(c);
	}

	/* Nearest negative: a client that waited for the KEX reply, then
	 * closed (it rejected the host key), is closed_during_kex as before. */
	c = host_key_probe("ssh-ed25519", 0);
	judge(c);
	ABSENT(DIAG_SCANNER_PROBE);
	EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, "Host key verification failed.");
	free(c);

	/* Nearest negative: the client left 5 s after the KEXINITs: not "at once". */
	c = conn_kex(NULL, NULL);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 5 * SEC);
	judge(c);
	ABSENT(DIAG_SCANNER_PROBE);
	EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, NULL);
	free(c);

	/* Nearest negative: the server closed right after the KEXINITs. */
	c = conn_kex(NULL, NULL);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 45 * MS);
	judge(c);
	ABSENT(DIAG_SCANNER_PROBE);
	free(c);

	/* A DH group-exchange request, the group, then the client leaves. */
	c = conn_kex(NULL, NULL);
	c->f.ssh.gex = (struct ssh_gex){.present = 1, .min = 2048, .n = 3072, .max = 8192};
	kexmsg(c, 0, SSH_MSG_KEX_DH_GEX_REQUEST, T0 + 50 * MS);
	kexmsg(c, 1, SSH_MSG_KEX_31, T0 + 60 * MS);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 61 * MS);
	judge(c);
	d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
	EV_TEXT(d, "pattern", "closed_after_gex_request");
	EV_INT(d, "last_client_message", SSH_MSG_KEX_DH_GEX_REQUEST);
	EV_INT(d, "gex_max", 8192);
	ABSENT(DIAG_CLOSED_DURING_KEX);
	free(c);

	/* A request for group sizes no client asks for (ssh-audit: 512..1536),
	 * which sshd refuses by closing: still the scanner's doing. */
	c = conn_kex(NULL, NULL);
	c->f.ssh.gex = (struct ssh_gex){.present = 1, .min = 512, .n = 1024, .max = 1536};
	kexmsg(c, 0, SSH_MSG_KEX_DH_GEX_REQUEST, T0 + 50 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 51 * MS);
	judge(c);
	d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
	EV_TEXT(d, "pattern", "gex_size_probe");
	EV_INT(d, "gex_min", 512);
	EV_INT(d, "gex_n", 1024);
	EV_INT(d, "gex_max", 1536);
	EV_TEXT(d, "initiator", "server");
	ABSENT(DIAG_CLOSED_DURING_KEX);
	free(c);
	/* Nearest negative: OpenSSH's own request, the server closing. */
	c = conn_kex(NULL, NULL);
	c->f.ssh.gex = (struct ssh_gex){.present = 1, .min = 2048, .n = 7680, .max = 8192};
	kexmsg(c, 0, SSH_MSG_KEX_DH_GEX_REQUEST, T0 + 50 * MS);
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 51 * MS);
	judge(c);
	ABSENT(DIAG_SCANNER_PROBE);
	EXPECT(DIAG_CLOSED_DURING_KEX, SEV_ERROR, 0, "Connection closed by " SERVER);
	free(c);

	/* A scanner's own name: nmap's host-key script with an offer the server
	 * does not share is no no_common_algorithm error. */
	{
		const char *sl[8];

		memcpy(sl, base_lists, sizeof(sl));
		sl[KEX_HOSTKEY] = "ssh-rsa";
		c = conn_new();
		banner(c, 0, "SSH-2.0-Nmap-SSH2-Hostkey", T0 + 10 * MS);
		banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
		kexinit(c, 0, base_lists, T0 + 30 * MS);
		kexinit(c, 1, sl, T0 + 40 * MS);
		closes(c, 1, FLOW_CLOSE_FIN, T0 + 45 * MS);
		judge(c);
		d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
		EV_TEXT(d, "pattern", "scanner_banner");
		EV_TEXT(d, "scanner", "Nmap");
		CHECK(ev_texts_has(d, "instead_of", "no_common_algorithm"),
		      "instead of no_common_algorithm");
		ABSENT(DIAG_NO_COMMON_ALGORITHM);
		CHECK(!verdict_has_error(v), "a named scanner's probe is no error");
		free(c);
	}
	/* Nearest negative: a login that got through is no probe, whoever it is. */
	c = conn_new();
	banner(c, 0, "SSH-2.0-ZGrab ZGrab SSH Survey", T0 + 10 * MS);
	banner(c, 1, SERVER_BANNER, T0 + 20 * MS);
	kexinit(c, 0, base_lists, T0 + 30 * MS);
	kexinit(c, 1, base_lists, T0 + 40 * MS);
	newkeys(c, T0 + 60 * MS);
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	judge(c);
	ABSENT(DIAG_SCANNER_PROBE);
	free(c);

	/* A TCP connect and an immediate reset: a port scan, a health check. */
	c = conn_new();
	closes(c, 0, FLOW_CLOSE_RST, T0 + 3 * MS);
	judge(c);
	d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
	EV_TEXT(d, "pattern", "connect_only");
	EV_MS(d, "closed_after_ms", T0 + 1 * MS, T0 + 3 * MS);
	CHECK(ev_texts_has(d, "instead_of", "closed_before_server_banner"),
	      "instead of closed_before_server_banner");
	free(c);
	/* Nearest negative: a client that gave up after 5 s without a banner. */
	c = conn_new();
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 5 * SEC);
	judge(c);
	ABSENT(DIAG_SCANNER_PROBE);
	EXPECT(DIAG_CLOSED_BEFORE_SERVER_BANNER, SEV_ERROR, HINT_CBSB_CLIENT,
	       "Connection timed out during banner exchange");
	free(c);
}

/* Many short connections from one source: state across connections. */
static void test_scanner_source(void)
{
	static const char *const hk[] = {"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256",
	                                 "ecdsa-sha2-nistp256", "ssh-rsa"};
	struct kw_limits lim = KW_LIMITS_DEFAULT;
	struct verdict_ctx sctx;
	const struct diagnosis *d;
	struct conn *c;

	/* A host-key sweep: each connection runs to the KEX reply with another
	 * host-key type, then closes. From the threshold (4) on, the source is
	 * probing; the first three are not told from a real client's failure. */
	verdict_ctx_init(&sctx, NULL);
	for (int i = 0; i < 5; i++) {
		c = host_key_probe(hk[i], (uint64_t)i * SEC);
		c->f.ssh.limits = &lim;
		verdict_judge(&sctx, &c->f, v);
		if (i < 3) {
			ABSENT(DIAG_SCANNER_PROBE);
			CHECK_EQ_INT(count(DIAG_CLOSED_DURING_KEX), 1);
		} else {
			d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
			EV_TEXT(d, "pattern", "repeated_short_connections");
			EV_INT(d, "source_connections", i + 1);
			EV_INT(d, "source_offers", i + 1);
			EV_INT(d, "source_probes", 0);
			EV_INT(d, "window_s", 60);
			ABSENT(DIAG_CLOSED_DURING_KEX);
		}
		free(c);
	}
	verdict_ctx_free(&sctx);

	/* Nearest negative: a person's client failing five times in a row sends
	 * the same offer every time: each failure stays an error. */
	verdict_ctx_init(&sctx, NULL);
	for (int i = 0; i < 5; i++) {
		c = host_key_probe("ssh-ed25519", (uint64_t)i * SEC);
		c->f.ssh.limits = &lim;
		verdict_judge(&sctx, &c->f, v);
		ABSENT(DIAG_SCANNER_PROBE);
		CHECK_EQ_INT(count(DIAG_CLOSED_DURING_KEX), 1);
		free(c);
	}
	verdict_ctx_free(&sctx);

	/* An earlier probe from the source (ssh-audit's first connection) makes
	 * its next abandoned handshake one too; outside the window it does not. */
	verdict_ctx_init(&sctx, NULL);
	c = conn_kex(NULL, NULL);
	c->f.ssh.limits = &lim;
	closes(c, 0, FLOW_CLOSE_FIN, T0 + 45 * MS);
	verdict_judge(&sctx, &c->f, v);
	CHECK_EQ_INT(count(DIAG_SCANNER_PROBE), 1);
	free(c);
	c = host_key_probe("rsa-sha2-512", 1 * SEC);
	c->f.ssh.limits = &lim;
	verdict_judge(&sctx, &c->f, v);
	d = EXPECT(DIAG_SCANNER_PROBE, SEV_INFO, 0, NULL);
	EV_TEXT(d, "pattern", "repeated_short_connections");
	EV_INT(d, "source_probes", 1);
	free(c);
	c = host_key_probe("ssh-ed25519", 120 * SEC);
	c->f.ssh.limits = &lim;
	verdict_judge(&sctx, &c->f, v);
	ABSENT(DIAG_SCANNER_PROBE);
	free(c);
	/* Another address is another source. */
	c = host_key_probe("ssh-ed25519", 2 * SEC);
	c->f.ssh.limits = &lim;
	c->f.key.src[3] = 9;
	verdict_judge(&sctx, &c->f, v);
	ABSENT(DIAG_SCANNER_PROBE);
	free(c);
	verdict_ctx_free(&sctx);
}

/* Diagnoses come out most severe first (the record's order). */
static void test_order(void)
{
	struct conn *c = conn_kex(NULL, NULL);
	uint32_t i;

	/* non_pq_kex (info), ip_fragmented (warning), closed_during_kex (error). */
	c->f.ip_fragments = 2;
	closes(c, 1, FLOW_CLOSE_FIN, T0 + 1 * SEC);
	judge(c);
	CHECK_EQ_INT(v->ndiag, 3);
	for (i = 1; i < v->ndiag; i++)
		CHECK(v->diag[i - 1].severity <= v->diag[i].severity,
		      "diagnosis %u (%s) after a less severe one", i,
		      diag_rule(v->diag[i].code)->code);
	free(c);
}

/*
 * policy_weak_cat (by category index and length) agrees with policy_weak
 * (by category name, the whole table) for every table name in every
 * category, for names that only share a prefix or a length with one, and
 * for the prefix entry's edge cases; so do the pq and CBC predicates with
 * the names they were written for.
 */
static void test_policy_by_category(void)
{
	static const char *const extra[] = {
	    "",
	    "none",
	    "gss-group1-sha1-",
	    "gss-group1-sha1-abc",
	    "gss-group1-sha1",
	    "hmac-sha2-256",
	    "hmac-md5-97",
	    "ssh-rsa2",
	    "aes128-cbc",
	    "3des-cbc2",
	    "arcfour12",
	    "diffie-hellman-group14-sha256",
	};
	const struct policy_verdict *t;
	size_t n;
	int bad = 0, weak = 0;

	t = policy_table(&n);
	for (int cat = 0; cat < KEX_NCATS; cat++) {
		for (size_t i = 0; i < n + sizeof(extra) / sizeof(extra[0]); i++) {
			const char *alg = i < n ? t[i].algorithm : extra[i - n];
			const struct policy_verdict *a = policy_weak(kex_cat_group(cat), alg);

			if (policy_weak_cat(cat, alg, strlen(alg)) != a)
				bad++;
			weak += a != NULL;
		}
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(weak > 20, "the table's weak names are found (%d)", weak);
	CHECK(policy_weak_cat(KEX_CAT_KEX, "gss-group1-sha1-x", 17) != NULL, "prefix entry");
	CHECK(policy_weak_cat(KEX_CAT_KEX, "gss-group1-sha1", 15) == NULL, "shorter than prefix");
	CHECK(policy_weak_cat(KEX_CAT_MAC_S2C, "none", 4) != NULL, "mac none");
	CHECK(policy_weak_cat(KEX_CAT_COMP_C2S, "none", 4) == NULL, "compression none");
	CHECK(policy_weak_cat(KEX_CAT_ENC_C2S, "aes128-cbc", 10) == NULL, "legacy is not weak");
	CHECK(policy_weak_cat(KEX_NCATS, "none", 4) == NULL, "no such category");
	CHECK(policy_weak_cat(-1, "none", 4) == NULL, "no such category");
	CHECK(policy_is_pq_kex("sntrup761x25519-sha512@openssh.com"), "pq");
	CHECK(policy_is_pq_kex("mlkem1024nistp384-sha384"), "pq");
	CHECK(!policy_is_pq_kex("mlkem768x25519-sha25"), "pq, one short");
	CHECK(!policy_is_pq_kex("curve25519-sha256"), "not pq");
	CHECK(policy_is_cbc("aes256-cbc") && policy_is_cbc("rijndael-cbc@lysator.liu.se"), "cbc");
	CHECK(!policy_is_cbc("-cbc") && !policy_is_cbc("aes256-ctr") && !policy_is_cbc(""),
	      "not cbc");
}

/*
 * record_build recalls each side's members from a memo of recent sides: a
 * record written from the memo is the one a fresh writer writes, and a
 * side that differs in one byte of its banner (same length, same lists)
 * is not taken for the one kept.
 */
/* has: whether buf[0..n) holds s. */
static int has(const char *buf, size_t n, const char *s)
{
	size_t sl = strlen(s);

	for (size_t i = 0; sl <= n && i <= n - sl; i++)
		if (memcmp(buf + i, s, sl) == 0)
			return 1;
	return 0;
}

static int record_same(struct record_writer *kept, const struct conn *c, const char *needle)
{
	struct report_config cfg = {.record = {.profile = RECORD_FULL}};
	struct record_writer fresh;
	int same;

	verdict_judge(&ctx, &c->f, v);
	record_writer_init(&fresh);
	same = record_build(kept, &c->f, &cfg, v) == 0 &&
	       record_build(&fresh, &c->f, &cfg, v) == 0 && kept->out.len == fresh.out.len &&
	       memcmp(kept->out.buf, fresh.out.buf, fresh.out.len) == 0 &&
	       has(kept->out.buf, kept->out.len, needle);
	record_writer_free(&fresh);
	return same;
}

static void test_record_side_memo(void)
{
	struct conn *c = conn_kex(NULL, NULL);
	struct record_writer rw;

	record_writer_init(&rw);
	CHECK(record_same(&rw, c, "\"OpenSSH_9.6\""), "first record, memo empty");
	CHECK(record_same(&rw, c, "\"OpenSSH_9.6\""), "second record, from the memo");
	c->f.ssh.dir[0].banner = (uint8_t *)"SSH-2.0-OpenSSH_9.7";
	CHECK(record_same(&rw, c, "\"OpenSSH_9.7\""), "another banner of the same length");
	c->f.ssh.dir[0].banner = (uint8_t *)CLIENT_BANNER;
	/* The timestamp: within the second of the one before, then past it. */
	c->f.t_first = 1767225600000000ull + 999999;
	CHECK(record_same(&rw, c, "\"2026-01-01T00:00:00.999999+0000\""), "a new second");
	c->f.t_first = 1767225600000000ull + 7;
	CHECK(record_same(&rw, c, "\"2026-01-01T00:00:00.000007+0000\""), "the same second");
	c->f.t_first = 1767225600000000ull + 1000000;
	CHECK(record_same(&rw, c, "\"2026-01-01T00:00:01.000000+0000\""), "the next second");
	c->f.t_first = 253402300800000000ull + 123456; /* year 10000: text_time's other way */
	CHECK(record_same(&rw, c, "\"10000-01-01T00:00:00.123456+0000\""), "year 10000");
	c->f.t_first = 253402300800000000ull + 654321;
	CHECK(record_same(&rw, c, "\"10000-01-01T00:00:00.654321+0000\""), "year 10000, again");
	c->f.t_first = T0;
	c->f.ssh.dir[0].pre = (uint8_t *)"hello\nworld\n";
	c->f.ssh.dir[0].pre_len = 12;
	c->f.ssh.dir[0].pre_lines = 2;
	CHECK(record_same(&rw, c, "\"pre_banner_lines\":[\"hello\",\"world\"]"),
	      "pre-banner lines, written afresh");
	c->f.ssh.dir[0].pre_lines = 0;
	{
		/* The client's lists as kex_init_parse_in leaves them: one block,
		 * each list's NUL over the next one's length, keyed as one part. */
		static char block[512];
		struct kex_init *k = &c->kex[0];
		size_t at = 0;

		for (int i = 0; i < KEX_NLISTS; i++) {
			const char *l = i < 8 ? base_lists[i] : "";
			size_t n = strlen(l);

			memcpy(block + at, l, n + 1);
			memcpy(block + at + n + 1, "\x00\x00\x0a", 3);
			k->list[i] = block + at;
			k->list_len[i] = (uint32_t)n;
			at += n + 4;
		}
		k->in_flowmem = 1;
		CHECK(record_same(&rw, c, "\"aes128-ctr\""), "lists in one block");
		CHECK(record_same(&rw, c, "\"aes128-ctr\""), "lists in one block, from the memo");
		memcpy(k->list[KEX_ENC_C2S], "aes192", 6);
		CHECK(record_same(&rw, c, "\"aes192-ctr\""), "one byte of the block changed");
	}
	{
		/* A side too big for the memo's key is written afresh, each time. */
		static char big[RECORD_CACHE_KEY_MAX + 64];
		struct kex_init *k = &c->kex[0];
		char *saved = k->list[KEX_LANG_C2S];
		uint32_t saved_len = k->list_len[KEX_LANG_C2S];

		memset(big, 'x', sizeof(big) - 1);
		memcpy(big + sizeof(big) - 9, ",kw-last", 9);
		k->in_flowmem = 0;
		k->list[KEX_LANG_C2S] = big;
		k->list_len[KEX_LANG_C2S] = (uint32_t)strlen(big);
		CHECK(record_same(&rw, c, "\"aes192-ctr\""), "a side over the key limit");
		CHECK(record_same(&rw, c, "\"aes192-ctr\""), "a side over the key limit, again");
		k->list[KEX_LANG_C2S] = saved;
		k->list_len[KEX_LANG_C2S] = saved_len;
	}
	record_writer_free(&rw);
	free(c);
}

int main(void)
{
	verdict_ctx_init(&ctx, NULL);
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return 1;
	test_rule_table();
	test_policy_by_category();
	test_record_side_memo();
	test_tcp_no_answer();
	test_tcp_refused();
	test_icmp();
	test_ip_fragmented();
	test_closed_before_server_banner();
	test_banner_invalid();
	test_protocol_version_mismatch();
	test_banner_timeout();
	test_closed_after_banner();
	test_closed_during_kex();
	test_analysis_limited();
	test_no_common_algorithm();
	test_weak_algorithm();
	test_non_pq_kex();
	test_terrapin_exposed();
	test_stall();
	test_disconnect_message();
	test_capture_incomplete();
	test_outcome();
	test_phase();
	test_client_dir();
	test_scanner_probe();
	test_scanner_source();
	test_order();
	free(v);
	verdict_ctx_free(&ctx);
	return tap_done();
}
