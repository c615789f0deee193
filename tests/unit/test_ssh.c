/*
 * test_ssh.c: unit tests for dissect/ssh.c, the SSH stream parser.
 *
 * Covers identification lines (CR LF, LF alone, pre-banner lines, SSH-1.99,
 * SSH-1.5, NUL, non-printable, over-long, not SSH), binary packet framing
 * (lengths 0 and 0xffffffff, limits, padding), messages (DISCONNECT,
 * unexpected, repeated KEXINIT, NEWKEYS, gaps), roles, host keys and DH-GEX
 * with and without a known method, first_kex_packet_follows, and whole
 * handshakes built from real records (rusticata ssh-parser) fed as every
 * prefix, cut at every split point, and one byte at a time, which must give
 * the same facts as one push per record. Not responsible for kex.c's own
 * rules (test_kex.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "err.h"
#include "kex.h"
#include "ssh.h"
#include "tap.h"

#define ASSETS KW_SHARED_DIR "/conformance/rusticata-ssh-parser/assets/"

static const struct kw_limits default_limits = KW_LIMITS_DEFAULT;

/* ---- byte builders ---- */

struct tbuf {
	uint8_t b[16384];
	size_t n;
};

static void tb_u8(struct tbuf *t, uint8_t v)
{
	if (t->n < sizeof(t->b))
		t->b[t->n++] = v;
}

static void tb_u32(struct tbuf *t, uint32_t v)
{
	tb_u8(t, (uint8_t)(v >> 24));
	tb_u8(t, (uint8_t)(v >> 16));
	tb_u8(t, (uint8_t)(v >> 8));
	tb_u8(t, (uint8_t)v);
}

static void tb_raw(struct tbuf *t, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		tb_u8(t, s[i]);
}

static void tb_str(struct tbuf *t, const void *p, size_t n)
{
	tb_u32(t, (uint32_t)n);
	tb_raw(t, p, n);
}

static void tb_cstr(struct tbuf *t, const char *s)
{
	tb_str(t, s, strlen(s));
}

/* tb_packet frames a payload as an RFC 4253 6 packet with pad bytes of padding. */
static void tb_packet(struct tbuf *t, const struct tbuf *payload, uint8_t pad)
{
	size_t i;

	tb_u32(t, (uint32_t)(1 + payload->n + pad));
	tb_u8(t, pad);
	tb_raw(t, payload->b, payload->n);
	for (i = 0; i < pad; i++)
		tb_u8(t, 0);
}

/* tb_kexinit appends a framed KEXINIT with the given first eight lists. */
static void tb_kexinit(struct tbuf *t, const char *const l8[8], uint8_t follows)
{
	struct tbuf p = {.n = 0};
	int i;

	tb_u8(&p, SSH_MSG_KEXINIT);
	for (i = 0; i < 16; i++)
		tb_u8(&p, (uint8_t)i);
	for (i = 0; i < 8; i++)
		tb_cstr(&p, l8[i]);
	tb_cstr(&p, "");
	tb_cstr(&p, "");
	tb_u8(&p, follows);
	tb_u32(&p, 0);
	tb_packet(t, &p, 4);
}

static void tb_msg(struct tbuf *t, uint8_t msg, const void *body, size_t n)
{
	struct tbuf p = {.n = 0};

	tb_u8(&p, msg);
	tb_raw(&p, body, n);
	tb_packet(t, &p, 4);
}

static void push(struct ssh_conn *c, int dir, const void *p, size_t n)
{
	CHECK_EQ_INT(ssh_stream_push(c, dir, p, n, 1000), KW_OK);
}

static void push_str(struct ssh_conn *c, int dir, const char *s)
{
	push(c, dir, s, strlen(s));
}

static void push_bytewise(struct ssh_conn *c, int dir, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		push(c, dir, b + i, 1);
}

static int banner_is(const struct ssh_dir *d, const char *s)
{
	size_t n = strlen(s);

	return d->banner != NULL && d->banner_len == n && memcmp(d->banner, s, n) == 0;
}

/* ---- fact comparison ---- */

#define FACTS_ALL 0
#define FACTS_NO_COUNTS 1 /* ignore bytes, enc_bytes, first_bytes */

static int mem_eq(const void *a, size_t an, const void *b, size_t bn)
{
	if (an != bn)
		return 0;
	if (an == 0)
		return 1;
	return a != NULL && b != NULL && memcmp(a, b, an) == 0;
}

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* facts_diff names the first fact that differs, or returns NULL. */
static const char *facts_diff(const struct ssh_conn *a, const struct ssh_conn *b, int mode)
{
	int i, l;

	for (i = 0; i < 2; i++) {
		const struct ssh_dir *x = &a->dir[i], *y = &b->dir[i];

		if (x->state != y->state)
			return i ? "dir1 state" : "dir0 state";
		if (!mem_eq(x->banner, x->banner_len, y->banner, y->banner_len) ||
		    (x->banner == NULL) != (y->banner == NULL))
			return "banner";
		if (!mem_eq(x->pre, x->pre_len, y->pre, y->pre_len) || x->pre_lines != y->pre_lines)
			return "pre-banner lines";
		if ((x->kexinit == NULL) != (y->kexinit == NULL))
			return "kexinit presence";
		if (x->kexinit != NULL) {
			for (l = 0; l < KEX_NLISTS; l++) {
				if (!mem_eq(x->kexinit->list[l], x->kexinit->list_len[l],
				            y->kexinit->list[l], y->kexinit->list_len[l]))
					return "kexinit list";
			}
			if (memcmp(x->kexinit->cookie, y->kexinit->cookie, 16) != 0 ||
			    x->kexinit->first_kex_follows != y->kexinit->first_kex_follows ||
			    x->kexinit->reserved != y->kexinit->reserved ||
			    x->kexinit->packet_len != y->kexinit->packet_len ||
			    x->kexinit->anomalies != y->kexinit->anomalies)
				return "kexinit fields";
		}
		if (strcmp(x->hassh, y->hassh) != 0 || !str_eq(x->hassh_str, y->hassh_str))
			return "hassh";
		if (x->kexmsg_mask != y->kexmsg_mask)
			return "kexmsg_mask";
		if (x->kexmsg_len != y->kexmsg_len)
			return "kexmsg_len";
		if (x->clear_packets != y->clear_packets || x->last_msg != y->last_msg)
			return "packets";
		if (x->disconnect_seen != y->disconnect_seen ||
		    x->disconnect_reason != y->disconnect_reason ||
		    !mem_eq(x->disconnect_desc, x->disconnect_desc_len, y->disconnect_desc,
		            y->disconnect_desc_len))
			return "disconnect";
		if (x->anomalies != y->anomalies)
			return i ? "dir1 anomalies" : "dir0 anomalies";
		if ((x->t_banner == 0) != (y->t_banner == 0) ||
		    (x->t_kexinit == 0) != (y->t_kexinit == 0) ||
		    (x->t_kexmsg == 0) != (y->t_kexmsg == 0) ||
		    (x->t_newkeys == 0) != (y->t_newkeys == 0))
			return "which times are set";
		if (mode == FACTS_NO_COUNTS)
			continue;
		if (x->bytes != y->bytes || x->enc_bytes != y->enc_bytes)
			return "byte counts";
		if (!mem_eq(x->first_bytes, x->first_len, y->first_bytes, y->first_len))
			return "first bytes";
	}
	if (a->client_dir != b->client_dir || a->role_source != b->role_source)
		return "roles";
	if (a->negotiated_ok != b->negotiated_ok)
		return "negotiated_ok";
	if (a->negotiated_ok) {
		for (l = 0; l < KEX_NCATS; l++) {
			if (strcmp(a->neg.alg[l], b->neg.alg[l]) != 0)
				return "negotiated algorithm";
		}
		if (a->neg.failed_cat != b->neg.failed_cat ||
		    a->neg.strict_kex != b->neg.strict_kex ||
		    a->neg.ext_info_c != b->neg.ext_info_c ||
		    a->neg.ext_info_s != b->neg.ext_info_s ||
		    a->neg.guess_wrong != b->neg.guess_wrong)
			return "negotiation flags";
	}
	if (a->hostkey.present != b->hostkey.present || a->hostkey.from_msg != b->hostkey.from_msg)
		return "host key presence";
	if (a->hostkey.present &&
	    (strcmp(a->hostkey.key.type, b->hostkey.key.type) != 0 ||
	     strcmp(a->hostkey.key.fingerprint, b->hostkey.key.fingerprint) != 0 ||
	     a->hostkey.key.bits != b->hostkey.key.bits))
		return "host key";
	if (a->gex.present != b->gex.present || a->gex.min != b->gex.min || a->gex.n != b->gex.n ||
	    a->gex.max != b->gex.max || a->gex.p_bits != b->gex.p_bits)
		return "gex";
	return NULL;
}

/* ---- transcripts built from real records ---- */

struct ev {
	int dir;
	const uint8_t *p;
	size_t n;
};

struct transcript {
	const char *name;
	struct ev ev[32];
	int n;
	uint8_t *own[16];
	int nown;
	size_t len[2]; /* bytes per direction */
};

static void tr_add(struct transcript *t, int dir, const uint8_t *p, size_t n)
{
	if (t->n >= 32 || n == 0)
		return;
	t->ev[t->n].dir = dir;
	t->ev[t->n].p = p;
	t->ev[t->n].n = n;
	t->len[dir] += n;
	t->n++;
}

static void tr_add_str(struct transcript *t, int dir, const char *s)
{
	tr_add(t, dir, (const uint8_t *)s, strlen(s));
}

/*
 * tr_add_file adds a rusticata record file as one event per record: its
 * identification line, then each packet by its length prefix; whatever
 * does not frame (bytes after NEWKEYS) is one last event.
 */
static int tr_add_file(struct transcript *t, int dir, const char *rel)
{
	char path[512];
	struct cursor c;
	size_t len, start;
	uint8_t *f;
	int after_newkeys = 0;

	snprintf(path, sizeof(path), "%s%s", ASSETS, rel);
	if ((f = tap_read_file(path, &len)) == NULL)
		return -1;
	t->own[t->nown++] = f;
	cursor_init(&c, f, len);
	if (len >= 4 && memcmp(f, "SSH-", 4) == 0) {
		const uint8_t *lf = memchr(f, '\n', len);

		if (lf != NULL) {
			tr_add(t, dir, f, (size_t)(lf - f) + 1);
			c.off = (size_t)(lf - f) + 1;
		}
	}
	while (cursor_left(&c) > 0 && !after_newkeys) {
		uint32_t plen;
		uint8_t msg;

		start = c.off;
		if (cursor_get_u32(&c, &plen) != 0 || cursor_skip(&c, plen) != 0 ||
		    cursor_peek_u8(&(struct cursor){f, len, start + 5}, 0, &msg) != 0) {
			c.off = start;
			break;
		}
		tr_add(t, dir, f + start, c.off - start);
		after_newkeys = msg == SSH_MSG_NEWKEYS;
	}
	if (cursor_left(&c) > 0)
		tr_add(t, dir, cursor_ptr(&c), cursor_left(&c));
	return 0;
}

static void tr_free(struct transcript *t)
{
	int i;

	for (i = 0; i < t->nown; i++)
		free(t->own[i]);
	memset(t, 0, sizeof(*t));
}

static const uint8_t enc_junk[120] = {0x9f, 0x31, 0x07, 0xee, 0x42, 0x00, 0x10, 0xff};

/* Each builder returns 0, or -1 when the shared assets are absent. */
static int tr_gex(struct transcript *t)
{
	t->name = "dh-gex";
	tr_add_str(t, 1, "SSH-2.0-OpenSSH_9.6p1 Debian-4\r\n");
	tr_add_str(t, 0, "SSH-2.0-OpenSSH_9.6\r\n");
	if (tr_add_file(t, 0, "kex/dh-kex-gex/client_kex_init.raw") ||
	    tr_add_file(t, 1, "kex/dh-kex-gex/server_kex_init.raw") ||
	    tr_add_file(t, 0, "kex/dh-kex-gex/request.raw") ||
	    tr_add_file(t, 1, "kex/dh-kex-gex/group.raw") ||
	    tr_add_file(t, 0, "kex/dh-kex-gex/init.raw") ||
	    tr_add_file(t, 1, "kex/dh-kex-gex/reply.raw") || tr_add_file(t, 0, "new_keys.raw") ||
	    tr_add_file(t, 1, "new_keys.raw"))
		return -1;
	tr_add(t, 0, enc_junk, 100);
	tr_add(t, 1, enc_junk, 50);
	return 0;
}

static int tr_ecdh(struct transcript *t)
{
	t->name = "ecdh";
	tr_add_str(t, 1, "Welcome to the jump host\r\n");
	tr_add_str(t, 1, "SSH-2.0-OpenSSH_9.3\r\n");
	tr_add_str(t, 0, "SSH-2.0-OpenSSH_9.3\r\n");
	if (tr_add_file(t, 0, "kex/ecdh/client_kex_init.raw") ||
	    tr_add_file(t, 1, "kex/ecdh/server_kex_init.raw") ||
	    tr_add_file(t, 0, "kex/ecdh/init.raw") || tr_add_file(t, 1, "kex/ecdh/reply.raw") ||
	    tr_add_file(t, 1, "new_keys.raw") || tr_add_file(t, 0, "new_keys.raw"))
		return -1;
	return 0;
}

static int tr_hybrid(struct transcript *t)
{
	t->name = "kex-hybrid";
	tr_add_str(t, 1, "SSH-2.0-OpenSSH_8.9 OQS\r\n");
	tr_add_str(t, 0, "SSH-2.0-OpenSSH_8.9 OQS\r\n");
	/* reply.raw holds the reply, NEWKEYS and the first encrypted bytes. */
	if (tr_add_file(
	        t, 0, "kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/client_kex_init.raw") ||
	    tr_add_file(
	        t, 1, "kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/server_kex_init.raw") ||
	    tr_add_file(t, 0, "kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/init.raw") ||
	    tr_add_file(t, 1, "kex/kex-hybrid/ecdh-nistp256-kyber-512r3-sha256-d00/reply.raw") ||
	    tr_add_file(t, 0, "new_keys.raw"))
		return -1;
	return 0;
}

static int tr_compat(struct transcript *t)
{
	t->name = "ssh-1.99 compat";
	/* client_init.raw: banner + KEXINIT; server_compat.raw: the whole server side. */
	if (tr_add_file(t, 0, "client_init.raw") || tr_add_file(t, 1, "server_compat.raw"))
		return -1;
	return 0;
}

static void run_events(struct ssh_conn *c, const struct transcript *t, int upto)
{
	int i;

	for (i = 0; i < upto && i < t->n; i++)
		push(c, t->ev[i].dir, t->ev[i].p, t->ev[i].n);
}

/* dir_bytes copies the bytes of one direction of a transcript. */
static uint8_t *dir_bytes(const struct transcript *t, int dir)
{
	uint8_t *b = malloc(t->len[dir] + 1);
	size_t off = 0;
	int i;

	for (i = 0; i < t->n; i++) {
		if (t->ev[i].dir != dir)
			continue;
		memcpy(b + off, t->ev[i].p, t->ev[i].n);
		off += t->ev[i].n;
	}
	return b;
}

/*
 * check_transcript: the reference is one push per record. Every prefix
 * must equal the reference after the records it holds whole (the partial
 * record only adds bytes) and show no anomaly the whole run does not;
 * every two-push split and byte-at-a-time feeding must equal the reference.
 */
static void check_transcript(const struct transcript *t, const struct ssh_conn *ref)
{
	struct ssh_conn a, b;
	const char *why;
	size_t total = 0, m, off;
	uint8_t *bytes[2];
	int i, j, d, bad_prefix = 0, bad_split = 0;

	for (i = 0; i < t->n; i++)
		total += t->ev[i].n;

	/* Every prefix of the transcript, in record order. */
	for (m = 0; m <= total; m++) {
		ssh_conn_init(&a, &default_limits);
		ssh_conn_init(&b, &default_limits);
		for (i = 0, off = 0; i < t->n && off + t->ev[i].n <= m; i++) {
			off += t->ev[i].n;
			push(&a, t->ev[i].dir, t->ev[i].p, t->ev[i].n);
			push(&b, t->ev[i].dir, t->ev[i].p, t->ev[i].n);
		}
		if (i < t->n && m > off)
			push(&a, t->ev[i].dir, t->ev[i].p, m - off);
		why = facts_diff(&a, &b, FACTS_NO_COUNTS);
		for (d = 0; d < 2; d++) {
			if ((a.dir[d].anomalies & ~ref->dir[d].anomalies) != 0)
				why = "anomaly the full run does not have";
			if (a.dir[d].state == SSH_ST_STOPPED || a.dir[d].state == SSH_ST_NOT_SSH)
				why = "stopped on a prefix";
		}
		if (why != NULL && bad_prefix++ < 5)
			CHECK(0, "%s: prefix %zu/%zu: %s", t->name, m, total, why);
		ssh_conn_free(&a);
		ssh_conn_free(&b);
	}
	CHECK(bad_prefix == 0, "%s: %d bad prefixes", t->name, bad_prefix);

	/* Every record cut in two at every point, records in order. */
	for (m = 0; m < total; m++) {
		ssh_conn_init(&a, &default_limits);
		for (i = 0, off = 0; i < t->n; off += t->ev[i].n, i++) {
			if (m > off && m < off + t->ev[i].n) {
				push(&a, t->ev[i].dir, t->ev[i].p, m - off);
				push(&a, t->ev[i].dir, t->ev[i].p + (m - off),
				     t->ev[i].n - (m - off));
			} else {
				push(&a, t->ev[i].dir, t->ev[i].p, t->ev[i].n);
			}
		}
		if ((why = facts_diff(&a, ref, FACTS_ALL)) != NULL && bad_split++ < 5)
			CHECK(0, "%s: record split at %zu: %s", t->name, m, why);
		ssh_conn_free(&a);
	}

	/* Each direction's whole stream in two pushes, the other direction between. */
	bytes[0] = dir_bytes(t, 0);
	bytes[1] = dir_bytes(t, 1);
	for (d = 0; d < 2; d++) {
		for (m = 0; m <= t->len[d]; m++) {
			ssh_conn_init(&a, &default_limits);
			push(&a, d, bytes[d], m);
			push(&a, 1 - d, bytes[1 - d], t->len[1 - d]);
			push(&a, d, bytes[d] + m, t->len[d] - m);
			if ((why = facts_diff(&a, ref, FACTS_ALL)) != NULL && bad_split++ < 5)
				CHECK(0, "%s: dir %d split at %zu: %s", t->name, d, m, why);
			ssh_conn_free(&a);
		}
	}
	CHECK(bad_split == 0, "%s: %d bad splits", t->name, bad_split);

	/* One byte at a time, records in order. */
	ssh_conn_init(&a, &default_limits);
	for (i = 0; i < t->n; i++)
		push_bytewise(&a, t->ev[i].dir, t->ev[i].p, t->ev[i].n);
	why = facts_diff(&a, ref, FACTS_ALL);
	CHECK(why == NULL, "%s: byte at a time: %s", t->name, why ? why : "");
	ssh_conn_free(&a);

	/* One byte at a time, the two directions alternating byte by byte. */
	ssh_conn_init(&a, &default_limits);
	for (m = 0; m < t->len[0] || m < t->len[1]; m++) {
		for (j = 0; j < 2; j++) {
			if (m < t->len[j])
				push(&a, j, bytes[j] + m, 1);
		}
	}
	why = facts_diff(&a, ref, FACTS_ALL);
	CHECK(why == NULL, "%s: alternating bytes: %s", t->name, why ? why : "");
	ssh_conn_free(&a);
	free(bytes[0]);
	free(bytes[1]);
}

static void expect_hassh(const struct ssh_dir *d, int server)
{
	char hash[33], *str = NULL;

	CHECK(d->kexinit != NULL, "kexinit present for hassh");
	if (d->kexinit == NULL)
		return;
	CHECK_EQ_INT(kex_hassh(NULL, d->kexinit, server, hash, &str), KW_OK);
	CHECK_EQ_STR(d->hassh, hash);
	CHECK_EQ_STR(d->hassh_str, str);
	free(str);
}

static void test_transcripts(void)
{
	struct transcript t;
	struct ssh_conn ref;

	/* DH group exchange, OpenSSH, ext-info-c and kex-strict-c from the client. */
	memset(&t, 0, sizeof(t));
	if (tr_gex(&t) != 0) {
		printf("# skip: %s absent, transcripts not checked\n", ASSETS);
		tr_free(&t);
		return;
	}
	ssh_conn_init(&ref, &default_limits);
	run_events(&ref, &t, t.n);
	CHECK(banner_is(&ref.dir[0], "SSH-2.0-OpenSSH_9.6"), "gex: client banner");
	CHECK(banner_is(&ref.dir[1], "SSH-2.0-OpenSSH_9.6p1 Debian-4"), "gex: server banner");
	CHECK_EQ_INT(ref.dir[0].anomalies, 0);
	CHECK_EQ_INT(ref.dir[1].anomalies, 0);
	CHECK_EQ_INT(ref.dir[0].state, SSH_ST_ENCRYPTED);
	CHECK_EQ_INT(ref.dir[1].state, SSH_ST_ENCRYPTED);
	CHECK_EQ_INT(ref.client_dir, 0);
	CHECK_EQ_INT(ref.role_source, SSH_ROLE_KEX_MESSAGES);
	CHECK_EQ_INT(ref.negotiated_ok, 1);
	CHECK_EQ_STR(ref.neg.alg[KEX_CAT_KEX], "diffie-hellman-group-exchange-sha256");
	CHECK_EQ_STR(ref.neg.alg[KEX_CAT_HOSTKEY], "ssh-ed25519");
	CHECK_EQ_INT(ref.neg.ext_info_c, 1);
	CHECK_EQ_INT(ref.neg.strict_kex, 0);
	CHECK_EQ_INT(ref.hostkey.present, 1);
	CHECK_EQ_INT(ref.hostkey.from_msg, 33);
	CHECK_EQ_STR(ref.hostkey.key.type, "ssh-ed25519");
	CHECK_EQ_STR(ref.hostkey.key.fingerprint,
	             "SHA256:SxDvIbGTm1vnJunN7TEzNveFmpf3N3Fmm7PmTDhLhcg");
	CHECK_EQ_INT(ref.gex.present, 1);
	CHECK_EQ_INT(ref.gex.min, 2048);
	CHECK_EQ_INT(ref.gex.n, 8192);
	CHECK_EQ_INT(ref.gex.max, 8192);
	CHECK_EQ_INT(ref.gex.p_bits, 8192);
	CHECK_EQ_INT(ref.dir[0].kexmsg_mask, (1u << 4) | (1u << 2)); /* 34, 32 */
	CHECK_EQ_INT(ref.dir[1].kexmsg_mask, (1u << 1) | (1u << 3)); /* 31, 33 */
	CHECK_EQ_INT(ref.dir[0].kexmsg_len, 1036);                   /* GEX_INIT */
	CHECK_EQ_INT(ref.dir[1].kexmsg_len, 1180);                   /* GEX_REPLY */
	CHECK_EQ_INT(ref.dir[0].kexinit->packet_len, 1300);
	CHECK_EQ_INT(ref.dir[0].clear_packets, 4);
	CHECK_EQ_INT(ref.dir[1].clear_packets, 4);
	CHECK_EQ_INT(ref.dir[0].last_msg, SSH_MSG_NEWKEYS);
	CHECK_EQ_INT(ref.dir[0].enc_bytes, 100);
	CHECK_EQ_INT(ref.dir[1].enc_bytes, 50);
	CHECK_EQ_INT(ref.dir[0].bytes, t.len[0]);
	CHECK_EQ_INT(ref.dir[0].first_len, 64);
	CHECK(memcmp(ref.dir[0].first_bytes, "SSH-2.0-OpenSSH_9.6\r\n", 21) == 0, "first bytes");
	CHECK(ref.dir[0].buf == NULL && ref.dir[1].buf == NULL, "buffers freed after NEWKEYS");
	CHECK(!ssh_dir_wants_bytes(&ref, 0) && !ssh_dir_wants_bytes(&ref, 1), "counting only");
	expect_hassh(&ref.dir[0], 0);
	expect_hassh(&ref.dir[1], 1);
	CHECK(strcmp(ref.dir[0].hassh, ref.dir[1].hassh) != 0, "HASSH and HASSHServer differ");
	check_transcript(&t, &ref);
	ssh_conn_free(&ref);
	tr_free(&t);

	/* ECDH (curve25519 chosen over the client's sntrup761), pre-banner line. */
	memset(&t, 0, sizeof(t));
	if (tr_ecdh(&t) == 0) {
		ssh_conn_init(&ref, &default_limits);
		run_events(&ref, &t, t.n);
		CHECK_EQ_INT(ref.dir[1].pre_lines, 1);
		CHECK(mem_eq(ref.dir[1].pre, ref.dir[1].pre_len, "Welcome to the jump host\n", 25),
		      "ecdh: pre-banner line kept");
		CHECK(banner_is(&ref.dir[1], "SSH-2.0-OpenSSH_9.3"), "ecdh: server banner");
		CHECK_EQ_INT(ref.dir[0].anomalies | ref.dir[1].anomalies, 0);
		CHECK_EQ_STR(ref.neg.alg[KEX_CAT_KEX], "curve25519-sha256");
		CHECK_EQ_INT(ref.hostkey.present, 1);
		CHECK_EQ_INT(ref.hostkey.from_msg, 31);
		CHECK_EQ_STR(ref.hostkey.key.fingerprint,
		             "SHA256:SxDvIbGTm1vnJunN7TEzNveFmpf3N3Fmm7PmTDhLhcg");
		CHECK_EQ_INT(ref.hostkey.key.bits, 256);
		CHECK_EQ_INT(ref.gex.present, 0);
		CHECK_EQ_INT(ref.dir[0].kexmsg_mask, 1u << 0);
		CHECK_EQ_INT(ref.dir[1].kexmsg_mask, 1u << 1);
		CHECK_EQ_INT(ref.dir[0].kexmsg_len, 44);
		CHECK_EQ_INT(ref.dir[1].kexmsg_len, 188);
		CHECK_EQ_INT(ref.client_dir, 0);
		CHECK_EQ_INT(ref.role_source, SSH_ROLE_KEX_MESSAGES);
		expect_hassh(&ref.dir[0], 0);
		expect_hassh(&ref.dir[1], 1);
		check_transcript(&t, &ref);
		ssh_conn_free(&ref);
	}
	tr_free(&t);

	/* Hybrid post-quantum KEX: 30/31 like ECDH, K_S first in 31. */
	memset(&t, 0, sizeof(t));
	if (tr_hybrid(&t) == 0) {
		ssh_conn_init(&ref, &default_limits);
		run_events(&ref, &t, t.n);
		CHECK_EQ_INT(ref.dir[0].anomalies, 0);
		/* The OQS server's kex list has names over 64 characters. */
		CHECK_EQ_INT(ref.dir[1].anomalies, 0);
		CHECK_EQ_INT(ref.dir[1].kexinit->anomalies, KEX_ANOM_BAD_NAME);
		CHECK_EQ_STR(ref.neg.alg[KEX_CAT_KEX],
		             "ecdh-nistp256-kyber-512r3-sha256-d00@openquantumsafe.org");
		CHECK_EQ_STR(ref.neg.alg[KEX_CAT_MAC_C2S], "<implicit>");
		CHECK_EQ_INT(ref.hostkey.present, 1);
		CHECK_EQ_INT(ref.hostkey.from_msg, 31);
		CHECK_EQ_STR(ref.hostkey.key.fingerprint,
		             "SHA256:+dVJ7SGPEJqGBCoGTg3tWVUUFrbWhdW5KX2HxUtTsUQ");
		CHECK_EQ_INT(ref.dir[1].state, SSH_ST_ENCRYPTED);
		CHECK_EQ_INT(ref.dir[1].enc_bytes, 748);
		CHECK_EQ_INT(ref.dir[0].state, SSH_ST_ENCRYPTED);
		check_transcript(&t, &ref);
		ssh_conn_free(&ref);
	}
	tr_free(&t);

	/* OpenSSH 3.1 server saying SSH-1.99 with LF alone, GEX with SHA-1. */
	memset(&t, 0, sizeof(t));
	if (tr_compat(&t) == 0) {
		ssh_conn_init(&ref, &default_limits);
		run_events(&ref, &t, t.n);
		CHECK(banner_is(&ref.dir[1], "SSH-1.99-OpenSSH_3.1p1"), "compat: 1.99 banner");
		CHECK(banner_is(&ref.dir[0], "SSH-2.0-OpenSSH_7.3"), "compat: client banner");
		CHECK_EQ_INT(ref.dir[1].anomalies, SSH_ANOM_BANNER_NO_CR);
		CHECK_EQ_INT(ref.dir[0].anomalies, 0);
		CHECK_EQ_INT(ref.dir[1].state, SSH_ST_ENCRYPTED);
		CHECK_EQ_INT(ref.dir[0].state, SSH_ST_PACKETS);
		CHECK_EQ_STR(ref.neg.alg[KEX_CAT_KEX], "diffie-hellman-group-exchange-sha1");
		CHECK_EQ_INT(ref.hostkey.present, 1);
		CHECK_EQ_INT(ref.hostkey.from_msg, 33);
		CHECK_EQ_STR(ref.hostkey.key.type, "ssh-rsa");
		CHECK_EQ_INT(ref.hostkey.key.bits, 1024);
		CHECK_EQ_STR(ref.hostkey.key.fingerprint,
		             "SHA256:uBYqruQMTBP9p69Sqq9z5wFvMBG/M9+uu5Ienk47spY");
		CHECK_EQ_INT(ref.gex.present, 1);
		CHECK(ref.gex.p_bits >= 1024, "compat: GEX group p has %u bits", ref.gex.p_bits);
		/* ext-info-c in the client's KEXINIT tells the roles before any KEX message. */
		CHECK_EQ_INT(ref.client_dir, 0);
		CHECK_EQ_INT(ref.role_source, SSH_ROLE_KEX_MESSAGES);
		check_transcript(&t, &ref);
		ssh_conn_free(&ref);
	}
	tr_free(&t);
}

/* ---- identification lines ---- */

static void test_banners(void)
{
	struct kw_limits lim = KW_LIMITS_DEFAULT;
	struct ssh_conn c;
	char big[200];

	/* CR LF. */
	ssh_conn_init(&c, &default_limits);
	CHECK(!ssh_conn_is_ssh(&c), "nothing yet");
	push_str(&c, 0, "SSH-2.0-OpenSSH_9.6 Debian-1\r\n");
	CHECK(banner_is(&c.dir[0], "SSH-2.0-OpenSSH_9.6 Debian-1"), "CRLF banner");
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	CHECK(ssh_conn_is_ssh(&c), "is ssh");
	CHECK(ssh_dir_wants_bytes(&c, 0), "wants packets");
	CHECK_EQ_INT(c.dir[0].t_banner, 1000);
	ssh_conn_free(&c);

	/* LF alone, accepted with an anomaly. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "SSH-2.0-dropbear\n");
	CHECK(banner_is(&c.dir[1], "SSH-2.0-dropbear"), "LF banner");
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_BANNER_NO_CR);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);

	/* A lone CR inside the line is not a line end. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SSH-2.0-a\rb\r\n");
	CHECK(banner_is(&c.dir[0], "SSH-2.0-a\rb"), "inner CR kept");
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_CHARS);
	ssh_conn_free(&c);

	/* Pre-banner lines from the server, one ended by LF alone. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "Hello\r\nWorld\n\r\nSSH-2.0-srv\r\n");
	CHECK_EQ_INT(c.dir[1].pre_lines, 3);
	CHECK(mem_eq(c.dir[1].pre, c.dir[1].pre_len, "Hello\nWorld\n\n", 13), "pre lines kept");
	CHECK(banner_is(&c.dir[1], "SSH-2.0-srv"), "banner after pre lines");
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_BANNER_NO_CR);
	ssh_conn_free(&c);

	/* Pre-banner line limit (OpenSSH: 1024). */
	lim.prebanner_lines = 3;
	ssh_conn_init(&c, &lim);
	push_str(&c, 1, "a\r\nb\r\nc\r\nSSH-2.0-srv\r\n");
	CHECK(banner_is(&c.dir[1], "SSH-2.0-srv"), "3 lines are allowed");
	CHECK_EQ_INT(c.dir[1].anomalies, 0);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &lim);
	push_str(&c, 1, "a\r\nb\r\nc\r\nd\r\nSSH-2.0-srv\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_NOT_SSH);
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_PREBANNER_MANY | SSH_ANOM_BANNER_INVALID);
	CHECK(c.dir[1].banner == NULL, "no banner past the limit");
	ssh_conn_free(&c);
	lim = default_limits;

	/* Pre-banner text is bounded by banner_max; lines are still counted. */
	lim.banner_max = 16;
	ssh_conn_init(&c, &lim);
	push_str(&c, 1, "0123456789\r\nabcdefghij\r\nSSH-2.0-x\r\n");
	CHECK_EQ_INT(c.dir[1].pre_lines, 2);
	CHECK(mem_eq(c.dir[1].pre, c.dir[1].pre_len, "0123456789\n", 11), "second line not kept");
	CHECK(banner_is(&c.dir[1], "SSH-2.0-x"), "banner after bounded pre lines");
	ssh_conn_free(&c);
	lim = default_limits;

	/* A server that answers with text and closes: lines, not SSH yet. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "HTTP/1.1 400 Bad Request\r\n\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_LINES);
	CHECK_EQ_INT(c.dir[1].pre_lines, 2);
	CHECK_EQ_INT(c.dir[1].anomalies, 0);
	CHECK(!ssh_conn_is_ssh(&c), "text only is not ssh");
	CHECK_EQ_INT(c.dir[1].first_len, 28);
	ssh_conn_free(&c);

	/* The TCP initiator must start with SSH-. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_NOT_SSH);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_INVALID);
	CHECK(!ssh_dir_wants_bytes(&c, 0), "not ssh: counting only");
	CHECK(mem_eq(c.dir[0].first_bytes, c.dir[0].first_len, "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
	             27),
	      "first bytes kept");
	CHECK(c.dir[0].buf == NULL, "no buffer kept");
	push_str(&c, 0, "more");
	CHECK_EQ_INT(c.dir[0].bytes, 31);
	CHECK_EQ_INT(c.dir[0].enc_bytes, 0);
	ssh_conn_free(&c);

	/* Decided on the first wrong byte, whatever the split. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SS");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_LINES);
	push_str(&c, 0, "X");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_NOT_SSH);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SSH\r\n");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_NOT_SSH);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push_bytewise(&c, 0, "\x16\x03\x01\x02\x00", 5); /* a TLS ClientHello */
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_NOT_SSH);
	CHECK_EQ_INT(c.dir[0].first_len, 5);
	ssh_conn_free(&c);

	/* SSH-1.99: SSH-2 follows. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "SSH-1.99-OpenSSH_3.1p1\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_PACKETS);
	push_str(&c, 0, "SSH-2.0-client\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_PACKETS);
	CHECK_EQ_INT(c.dir[0].anomalies | c.dir[1].anomalies, 0);
	ssh_conn_free(&c);

	/* SSH-1.5: SSH-1 packets follow. The server's first one, SMSG_PUBLIC_KEY,
	 * gives the host key (fingerprint as OpenSSH's rsa1: SHA-256 of n then e,
	 * computed independently in Python when this test was written) and the
	 * roles; then the direction only counts, quietly, and the 1.99 peer too. */
	static const uint8_t v1_public_key[] = {
	    0x00, 0x00, 0x00, 0x9d, 0x00, 0x00, 0x00, 0x02, 0x63, 0x6f, 0x6f, 0x6b, 0x69, 0x65,
	    0x21, 0x21, 0x00, 0x00, 0x01, 0x80, 0x00, 0x06, 0x23, 0x01, 0x80, 0xa5, 0xa5, 0xa5,
	    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	    0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5, 0xa5,
	    0xa5, 0xa5, 0xa5, 0x00, 0x00, 0x02, 0x00, 0x00, 0x11, 0x01, 0x00, 0x01, 0x02, 0x00,
	    0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
	    0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
	    0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
	    0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
	    0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
	    0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00};
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "SSH-1.5-1.2.27\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_V1);
	for (size_t i = 0; i < sizeof(v1_public_key); i++) /* byte by byte: split points */
		push(&c, 1, (const char *)v1_public_key + i, 1);
	CHECK(banner_is(&c.dir[1], "SSH-1.5-1.2.27"), "1.5 banner kept");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK_EQ_INT(c.dir[1].anomalies, 0);
	CHECK_EQ_INT(c.dir[1].clear_packets, 1);
	CHECK_EQ_INT(c.hostkey.present, 1);
	CHECK_EQ_STR(c.hostkey.key.type, "rsa1");
	CHECK_EQ_INT(c.hostkey.key.bits, 512);
	CHECK_EQ_STR(c.hostkey.key.fingerprint,
	             "SHA256:MWbfrlmnJrYeY40yRwY9jBCXvcgv9um0pTTXhTTbCoU");
	CHECK_EQ_INT(c.client_dir, 0);
	push(&c, 0, "SSH-1.99-client\r\n\x00\x00\x00\x10", 21);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_V1);
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SSH-1.99-client\r\n");
	push_str(&c, 1, "SSH-1.5-server\r\n");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_V1);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_V1);
	CHECK_EQ_INT(c.dir[0].anomalies | c.dir[1].anomalies, 0);
	ssh_conn_free(&c);
	/* SSH-2.0 against SSH-1.5: the 2.0 side still speaks SSH-2. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "SSH-1.5-server\r\n");
	push_str(&c, 0, "SSH-2.0-client\r\n");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);

	/* NUL and other non-printable bytes. */
	ssh_conn_init(&c, &default_limits);
	push(&c, 0, "SSH-2.0-a\0b\r\n", 13);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_NUL);
	CHECK_EQ_INT(c.dir[0].banner_len, 11);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push(&c, 1, "ab\0c\r\nSSH-2.0-x\r\n", 17);
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_BANNER_NUL);
	CHECK_EQ_INT(c.dir[1].pre_lines, 1);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SSH-2.0-caf\xc3\xa9\r\n");
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_CHARS);
	ssh_conn_free(&c);

	/* RFC 4253 4.2 form: SSH-protoversion-softwareversion. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SSH-2.0\r\n");
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_INVALID);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "SSH--x\r\n");
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_INVALID);
	ssh_conn_free(&c);

	/* Over-long lines: banner_max bytes are fine, one more is not. */
	lim.banner_max = 32;
	memset(big, 'a', sizeof(big));
	memcpy(big, "SSH-2.0-", 8);
	{
		struct tbuf tb = {.n = 0};

		ssh_conn_init(&c, &lim);
		tb_raw(&tb, big, 32);
		tb_raw(&tb, "\r\n", 2);
		push(&c, 0, tb.b, tb.n);
		CHECK_EQ_INT(c.dir[0].banner_len, 32);
		CHECK_EQ_INT(c.dir[0].anomalies, 0);
		ssh_conn_free(&c);

		tb.n = 0;
		ssh_conn_init(&c, &lim);
		tb_raw(&tb, big, 33);
		tb_raw(&tb, "\r\n", 2);
		push(&c, 0, tb.b, tb.n);
		CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_LONG);
		CHECK_EQ_INT(c.dir[0].state, SSH_ST_STOPPED);
		CHECK(c.dir[0].banner == NULL, "over-long banner not kept");
		ssh_conn_free(&c);

		/* LF alone after 33 bytes is over-long too. */
		tb.n = 0;
		ssh_conn_init(&c, &lim);
		tb_raw(&tb, big, 33);
		tb_raw(&tb, "\n", 1);
		push_bytewise(&c, 0, tb.b, tb.n);
		CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_LONG | SSH_ANOM_BANNER_NO_CR);
		ssh_conn_free(&c);

		/* No line end at all: decided at the cap, in one push or bytewise. */
		ssh_conn_init(&c, &lim);
		push(&c, 0, big, sizeof(big));
		CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_LONG);
		CHECK_EQ_INT(c.dir[0].state, SSH_ST_STOPPED);
		CHECK(c.dir[0].buf == NULL, "buffer freed");
		ssh_conn_free(&c);
		ssh_conn_init(&c, &lim);
		push_bytewise(&c, 0, big, 34);
		CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BANNER_LONG);
		CHECK_EQ_INT(c.dir[0].bytes, 34);
		ssh_conn_free(&c);
		ssh_conn_init(&c, &lim);
		push_bytewise(&c, 0, big, 33);
		CHECK_EQ_INT(c.dir[0].state, SSH_ST_LINES); /* could still end in CR LF */
		ssh_conn_free(&c);

		/* The server's over-long non-SSH line: not SSH. */
		ssh_conn_init(&c, &lim);
		memset(big, 'x', sizeof(big));
		push(&c, 1, big, sizeof(big));
		CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_BANNER_LONG | SSH_ANOM_BANNER_INVALID);
		CHECK_EQ_INT(c.dir[1].state, SSH_ST_NOT_SSH);
		ssh_conn_free(&c);
	}
	lim = default_limits;

	/* A buffer smaller than banner_max caps lines too (SSH_ANOM_BUFFER). */
	lim.stream_buf = 16;
	ssh_conn_init(&c, &lim);
	push_bytewise(&c, 0, "SSH-2.0-0123456789abcdef\r\n", 26);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BUFFER);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_STOPPED);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &lim);
	push_str(&c, 0, "SSH-2.0-0123456789abcdef\r\n");
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BUFFER);
	ssh_conn_free(&c);
}

/* ---- binary packets ---- */

static void conn_with_banner(struct ssh_conn *c, const struct kw_limits *lim)
{
	ssh_conn_init(c, lim);
	push_str(c, 0, "SSH-2.0-client\r\n");
	push_str(c, 1, "SSH-2.0-server\r\n");
}

static const char *const std_client[8] = {
    "curve25519-sha256,diffie-hellman-group-exchange-sha256,ext-info-c",
    "ssh-ed25519",
    "aes128-ctr",
    "aes128-ctr",
    "hmac-sha2-256",
    "hmac-sha2-256",
    "none",
    "none"};
static const char *const std_server[8] = {
    "curve25519-sha256,diffie-hellman-group-exchange-sha256,kex-strict-s-v00@openssh.com",
    "ssh-ed25519",
    "aes128-ctr",
    "aes128-ctr",
    "hmac-sha2-256",
    "hmac-sha2-256",
    "none",
    "none"};

/*
 * A server banner after the client's non-SSH line (ProFTPD's mod_sftp on an
 * FTP port answers an FTP client with its SSH banner): the responder's lines
 * are still read, while they are text, after the initiator was found not SSH.
 */
static void test_banner_after_other(void)
{
	struct ssh_conn c, one;
	struct kw_limits lim = default_limits;
	struct tbuf srv = {.n = 0};
	size_t split;

	tb_raw(&srv, "220 ready\r\nSSH-2.0-mod_sftp\r\n", 29);
	tb_kexinit(&srv, std_server, 0);

	/* Every split of the server's bytes: same facts as one push. */
	ssh_conn_init(&one, &default_limits);
	push_str(&one, 0, "USER x\r\n");
	CHECK_EQ_INT(one.dir[0].state, SSH_ST_NOT_SSH);
	CHECK(!ssh_conn_is_ssh(&one), "no banner yet");
	CHECK(ssh_dir_wants_bytes(&one, 1), "the responder is still read");
	push(&one, 1, srv.b, srv.n);
	CHECK(banner_is(&one.dir[1], "SSH-2.0-mod_sftp"), "server banner after the client's line");
	CHECK_EQ_INT(one.dir[1].pre_lines, 1);
	CHECK(mem_eq(one.dir[1].pre, one.dir[1].pre_len, "220 ready\n", 10),
	      "pre-banner line kept");
	CHECK(one.dir[1].kexinit != NULL, "server KEXINIT read");
	CHECK_EQ_INT(one.dir[1].anomalies, 0);
	CHECK_EQ_INT(one.dir[0].anomalies, SSH_ANOM_BANNER_INVALID);
	CHECK(ssh_conn_is_ssh(&one), "a side spoke SSH");
	for (split = 1; split < srv.n; split++) {
		const char *why;

		ssh_conn_init(&c, &default_limits);
		push_str(&c, 0, "USER x\r\n");
		push(&c, 1, srv.b, split);
		push(&c, 1, srv.b + split, srv.n - split);
		why = facts_diff(&c, &one, 0);
		CHECK(why == NULL, "split %zu: %s", split, why ? why : "");
		ssh_conn_free(&c);
	}
	ssh_conn_free(&one);

	/* HTTP on both sides stays not SSH, whatever the split: the response's
	 * first line ends the reading, a banner behind it is not looked for. */
	static const char http[] = "HTTP/1.1 200 OK\r\nSSH-2.0-x\r\n\r\n";
	for (split = 0; split < sizeof(http) - 1; split++) {
		ssh_conn_init(&c, &default_limits);
		push_str(&c, 0, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
		if (split > 0)
			push(&c, 1, http, split);
		if (split > 0 && split < 5)
			CHECK_EQ_INT(c.dir[1].state, SSH_ST_LINES);
		push(&c, 1, http + split, sizeof(http) - 1 - split);
		CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
		CHECK_EQ_INT(c.dir[1].lines, 0);
		CHECK(c.dir[1].banner == NULL && c.dir[1].pre == NULL, "nothing kept");
		CHECK_EQ_INT(c.dir[1].anomalies, 0);
		CHECK(!ssh_conn_is_ssh(&c), "HTTP both ways is not ssh (split %zu)", split);
		CHECK(c.dir[1].buf == NULL, "no buffer kept");
		ssh_conn_free(&c);
	}
	/* An HTML page the same. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "GET / HTTP/1.0\r\n\r\n");
	push_str(&c, 1, "<html>\r\nSSH-2.0-x\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK(!ssh_conn_is_ssh(&c), "HTML is not ssh");
	ssh_conn_free(&c);

	/* A binary responder stops at its first byte: nothing buffered. */
	ssh_conn_init(&c, &default_limits);
	push_bytewise(&c, 0, "\x16\x03\x01\x02\x00", 5);
	CHECK(ssh_dir_wants_bytes(&c, 1), "responder still read");
	push(&c, 1, "\x16", 1);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK(!ssh_dir_wants_bytes(&c, 1), "binary: counting only");
	CHECK(c.dir[1].buf == NULL, "no buffer kept");
	push_str(&c, 1, "SSH-2.0-late\r\n");
	CHECK(!ssh_conn_is_ssh(&c), "a banner after binary is not taken");
	CHECK_EQ_INT(c.dir[1].bytes, 15);
	ssh_conn_free(&c);
	/* ... and inside a line, unfinished or not; text lines before it kept. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "USER x\r\n");
	push_str(&c, 1, "220 ok\r\nab\x80");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK_EQ_INT(c.dir[1].pre_lines, 1);
	ssh_conn_free(&c);
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "USER x\r\n");
	push_str(&c, 1, "220 ok\r\nab");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_LINES);
	push_str(&c, 1, "\x01SSH-2.0-x\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK(!ssh_conn_is_ssh(&c), "no banner after a control byte");
	ssh_conn_free(&c);

	/* A long line a byte a segment: each byte is looked at once (the
	 * checked prefix grows with the line), and the verdict is the same as
	 * for the line whole: text goes on, a control byte at its end stops. */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 0, "USER x\r\n");
	for (int i = 0; i < 4000; i++)
		push(&c, 1, "a", 1);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_LINES);
	CHECK_EQ_INT(c.dir[1].line_checked, 4000);
	push(&c, 1, "b\r\n", 3);
	CHECK_EQ_INT(c.dir[1].line_checked, 0);
	CHECK_EQ_INT(c.dir[1].pre_lines, 1);
	for (int i = 0; i < 100; i++)
		push(&c, 1, "c", 1);
	CHECK_EQ_INT(c.dir[1].line_checked, 100);
	push(&c, 1, "\x02", 1);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	ssh_conn_free(&c);

	/* The nearest negative the other way: the server's binary-looking line
	 * before the client spoke is a pre-banner line as before (RFC 4253 4.2). */
	ssh_conn_init(&c, &default_limits);
	push_str(&c, 1, "ab\x80\r\nSSH-2.0-s\r\n");
	CHECK(banner_is(&c.dir[1], "SSH-2.0-s"), "banner after a pre-banner line");
	ssh_conn_free(&c);

	/* The pre-banner line limit still holds after the client's other text. */
	lim.prebanner_lines = 2;
	ssh_conn_init(&c, &lim);
	push_str(&c, 0, "USER x\r\n");
	push_str(&c, 1, "1\r\n2\r\n3\r\nSSH-2.0-s\r\n");
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_NOT_SSH);
	CHECK(c.dir[1].anomalies & SSH_ANOM_PREBANNER_MANY, "too many lines");
	CHECK(!ssh_conn_is_ssh(&c), "no banner past the limit");
	ssh_conn_free(&c);
}

static void test_framing(void)
{
	struct kw_limits lim = KW_LIMITS_DEFAULT;
	struct ssh_conn c;
	struct tbuf t;
	static const uint32_t bad_lengths[] = {0, 1, 4, 0xffffffffu, 262145};
	size_t i;

	for (i = 0; i < sizeof(bad_lengths) / sizeof(bad_lengths[0]); i++) {
		uint8_t hdr[4] = {(uint8_t)(bad_lengths[i] >> 24), (uint8_t)(bad_lengths[i] >> 16),
		                  (uint8_t)(bad_lengths[i] >> 8), (uint8_t)bad_lengths[i]};

		/* Judged on the 4 length bytes alone, without waiting for more. */
		conn_with_banner(&c, &default_limits);
		push(&c, 0, hdr, 4);
		CHECK(c.dir[0].anomalies == SSH_ANOM_PACKET_LENGTH,
		      "packet_length %u is out of range", bad_lengths[i]);
		CHECK_EQ_INT(c.dir[0].state, SSH_ST_STOPPED);
		CHECK(c.dir[0].buf == NULL, "buffer freed");
		push(&c, 0, "\x05\x14zzzzzzzzzzzz", 14);
		CHECK_EQ_INT(c.dir[0].clear_packets, 0);
		CHECK_EQ_INT(c.dir[0].bytes, 16 + 4 + 14);
		ssh_conn_free(&c);
		conn_with_banner(&c, &default_limits);
		push_bytewise(&c, 0, hdr, 4);
		CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_PACKET_LENGTH);
		ssh_conn_free(&c);
	}

	/* max_packet itself is fine, one more is not. */
	lim.max_packet = 64;
	conn_with_banner(&c, &lim);
	t.n = 0;
	{
		struct tbuf p = {.n = 0};

		tb_u8(&p, SSH_MSG_IGNORE);
		tb_str(&p, "0123456789012345678901234567890123456789012345678901", 50);
		tb_packet(&t, &p, 8); /* packet_length 1 + 55 + 8 = 64 */
	}
	CHECK_EQ_INT(t.n, 4 + 64);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	CHECK_EQ_INT(c.dir[0].last_msg, SSH_MSG_IGNORE);
	t.n = 0;
	tb_u32(&t, 65);
	push(&c, 0, t.b, t.n);
	/* Over the limit but a length SSH allows: our limit, not the peer's fault. */
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_PACKET_LIMIT);
	ssh_conn_free(&c);
	conn_with_banner(&c, &lim);
	t.n = 0;
	tb_u32(&t, SSH_PACKET_MAX_PROTO + 1);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_PACKET_LENGTH);
	ssh_conn_free(&c);
	lim = default_limits;

	/* Padding under 4 bytes: flagged, the message still read. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	{
		struct tbuf p = {.n = 0};

		tb_u8(&p, SSH_MSG_IGNORE);
		tb_packet(&t, &p, 3);
	}
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_PADDING);
	CHECK_EQ_INT(c.dir[0].last_msg, SSH_MSG_IGNORE);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);

	/* Padding as long as the packet: skipped, the next packet still read. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_u32(&t, 12);
	tb_u8(&t, 12);
	tb_raw(&t, "\x14xxxxxxxxxx", 11);
	tb_u32(&t, 12);
	tb_u8(&t, 11); /* leaves no room for a message number */
	tb_raw(&t, "\x14xxxxxxxxxx", 11);
	tb_kexinit(&t, std_client, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_PADDING);
	CHECK_EQ_INT(c.dir[0].clear_packets, 3);
	CHECK(c.dir[0].kexinit != NULL, "KEXINIT after a bad packet still parsed");
	ssh_conn_free(&c);

	/* A packet over the buffer: stopped at its header, in one push or not. */
	lim.stream_buf = 100;
	for (i = 0; i < 2; i++) {
		conn_with_banner(&c, &lim);
		t.n = 0;
		tb_kexinit(&t, std_client, 0);
		if (i == 0)
			push(&c, 0, t.b, t.n);
		else
			push_bytewise(&c, 0, t.b, t.n);
		CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_BUFFER);
		CHECK_EQ_INT(c.dir[0].state, SSH_ST_STOPPED);
		CHECK(c.dir[0].kexinit == NULL && c.dir[0].buf == NULL, "nothing kept");
		ssh_conn_free(&c);
	}
	lim = default_limits;

	/* Bad direction numbers are our caller's bug. */
	ssh_conn_init(&c, &default_limits);
	CHECK_EQ_INT(ssh_stream_push(&c, 2, (const uint8_t *)"x", 1, 0), KW_ERR_BUG);
	CHECK_EQ_INT(ssh_stream_push(&c, -1, (const uint8_t *)"x", 1, 0), KW_ERR_BUG);
	CHECK_EQ_INT(ssh_stream_push(&c, 0, NULL, 1, 0), KW_ERR_BUG);
	CHECK_EQ_INT(ssh_stream_push(&c, 0, NULL, 0, 0), KW_OK);
	CHECK(!ssh_dir_wants_bytes(&c, 2), "bad dir wants nothing");
	ssh_stream_gap(&c, 5);
	ssh_stream_count(&c, -1, 5);
	CHECK_EQ_INT(c.dir[0].bytes + c.dir[1].bytes, 0);
	ssh_conn_free(&c);
}

/* ---- messages ---- */

static void test_messages(void)
{
	struct kw_limits lim = KW_LIMITS_DEFAULT;
	struct ssh_conn c;
	struct tbuf t, p;
	static char longdesc[2000];

	/* DISCONNECT with reason and description (RFC 4253 11.1). */
	conn_with_banner(&c, &default_limits);
	p.n = 0;
	tb_u32(&p, 2);
	tb_cstr(&p, "Protocol error: bad packet");
	tb_cstr(&p, "");
	t.n = 0;
	tb_msg(&t, SSH_MSG_DISCONNECT, p.b, p.n);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.dir[1].disconnect_seen, 1);
	CHECK_EQ_INT(c.dir[1].disconnect_reason, 2);
	CHECK(mem_eq(c.dir[1].disconnect_desc, c.dir[1].disconnect_desc_len,
	             "Protocol error: bad packet", 26),
	      "disconnect description");
	CHECK_EQ_INT(c.dir[1].anomalies, 0);
	ssh_conn_free(&c);

	/* Long descriptions are cut at a bound. */
	conn_with_banner(&c, &default_limits);
	memset(longdesc, 'd', sizeof(longdesc));
	p.n = 0;
	tb_u32(&p, 11);
	tb_str(&p, longdesc, sizeof(longdesc));
	tb_cstr(&p, "en");
	t.n = 0;
	tb_msg(&t, SSH_MSG_DISCONNECT, p.b, p.n);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.dir[1].disconnect_reason, 11);
	CHECK_EQ_INT(c.dir[1].disconnect_desc_len, 1024);
	ssh_conn_free(&c);

	/* Truncated DISCONNECT fields. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_msg(&t, SSH_MSG_DISCONNECT, "\x00\x00\x00\x02\x00\x00\x00\x09short", 13);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.dir[1].disconnect_seen, 1);
	CHECK_EQ_INT(c.dir[1].disconnect_reason, 2);
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_MSG_MALFORMED);
	ssh_conn_free(&c);

	/* Allowed anywhere: IGNORE, DEBUG, UNIMPLEMENTED, EXT_INFO. Not so: others. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_msg(&t, SSH_MSG_IGNORE, "\x00\x00\x00\x00", 4);
	tb_msg(&t, SSH_MSG_DEBUG, "\x00\x00\x00\x00\x00\x00\x00\x00\x00", 9);
	tb_msg(&t, SSH_MSG_UNIMPLEMENTED, "\x00\x00\x00\x01", 4);
	tb_msg(&t, SSH_MSG_EXT_INFO, "\x00\x00\x00\x00", 4);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	CHECK_EQ_INT(c.dir[0].clear_packets, 4);
	t.n = 0;
	tb_msg(&t, SSH_MSG_SERVICE_REQUEST, "\x00\x00\x00\x0cssh-userauth", 16);
	tb_msg(&t, 50, "", 0);
	tb_kexinit(&t, std_client, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_UNEXPECTED_MSG);
	CHECK(c.dir[0].kexinit != NULL, "parsing goes on after an unexpected message");
	ssh_conn_free(&c);

	/* A second KEXINIT before NEWKEYS is ignored. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_kexinit(&t, std_client, 0);
	tb_kexinit(&t, std_server, 1);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_KEXINIT_REPEAT);
	CHECK_EQ_STR(c.dir[0].kexinit->list[KEX_ALGS], std_client[0]);
	CHECK_EQ_INT(c.dir[0].kexinit->first_kex_follows, 0);
	ssh_conn_free(&c);

	/* Malformed KEXINIT, and one over namelist_max. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_msg(&t, SSH_MSG_KEXINIT, "0123456789abcdef\x00\x00\x01\x00", 20);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_KEXINIT);
	CHECK(c.dir[0].kexinit == NULL, "malformed KEXINIT not kept");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);
	lim.namelist_max = 16;
	conn_with_banner(&c, &lim);
	t.n = 0;
	tb_kexinit(&t, std_client, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_KEXINIT_LIMIT);
	ssh_conn_free(&c);
	lim = default_limits;

	/* NEWKEYS: the rest of the push and later counts are encrypted bytes. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_msg(&t, SSH_MSG_NEWKEYS, "", 0);
	tb_raw(&t, enc_junk, 37);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_ENCRYPTED);
	CHECK_EQ_INT(c.dir[0].enc_bytes, 37);
	CHECK(!ssh_dir_wants_bytes(&c, 0), "encrypted: counting only");
	ssh_stream_count(&c, 0, 1000);
	push(&c, 0, enc_junk, 3);
	CHECK_EQ_INT(c.dir[0].enc_bytes, 1040);
	CHECK_EQ_INT(c.dir[0].bytes, 16 + 4 + 1 + 1 + 4 + 37 + 1000 + 3);
	/* A gap after NEWKEYS changes nothing. */
	ssh_stream_gap(&c, 0);
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_ENCRYPTED);
	/* A gap before it stops the direction. */
	push(&c, 1, "\x00\x00", 2);
	ssh_stream_gap(&c, 1);
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_GAP);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK(c.dir[1].buf == NULL, "buffer freed on gap");
	ssh_conn_free(&c);

	/* Bytes counted while the parser wanted them: it stops, quietly. */
	conn_with_banner(&c, &default_limits);
	ssh_stream_count(&c, 1, 10);
	CHECK_EQ_INT(c.dir[1].anomalies, 0);
	CHECK_EQ_INT(c.dir[1].state, SSH_ST_STOPPED);
	CHECK_EQ_INT(c.dir[1].bytes, 16 + 10);
	CHECK(!ssh_dir_wants_bytes(&c, 1), "counting only from now on");
	ssh_conn_free(&c);
}

/* ---- roles, host keys, group exchange ---- */

static void kex_reply(struct tbuf *t, uint8_t msg, const struct tbuf *blob)
{
	struct tbuf p = {.n = 0};

	tb_u8(&p, msg);
	tb_str(&p, blob->b, blob->n);
	tb_cstr(&p, "f-or-Q_S-value-here");
	tb_cstr(&p, "signature");
	tb_packet(t, &p, 6);
}

static void ed25519_blob(struct tbuf *b, uint8_t fill)
{
	uint8_t pk[32];

	memset(pk, fill, sizeof(pk));
	b->n = 0;
	tb_cstr(b, "ssh-ed25519");
	tb_str(b, pk, 32);
}

static void test_roles(void)
{
	struct ssh_conn c;
	struct tbuf t, blob;
	const char *nomark_c[8] = {"diffie-hellman-group14-sha256,curve25519-sha256",
	                           "ssh-ed25519",
	                           "aes128-ctr",
	                           "aes128-ctr",
	                           "hmac-sha2-256",
	                           "hmac-sha2-256",
	                           "none",
	                           "none"};
	const char *nomark_s[8] = {"curve25519-sha256,diffie-hellman-group14-sha256",
	                           "ssh-ed25519",
	                           "aes128-ctr",
	                           "aes128-ctr",
	                           "hmac-sha2-256",
	                           "hmac-sha2-256",
	                           "none",
	                           "none"};
	char hash[33], *str;

	ed25519_blob(&blob, 0x11);

	/* Nothing tells: assumed, the TCP initiator is the client. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_kexinit(&t, nomark_c, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.role_source, SSH_ROLE_ASSUMED);
	CHECK_EQ_INT(c.client_dir, 0);
	CHECK_EQ_INT(c.negotiated_ok, 0);
	t.n = 0;
	tb_kexinit(&t, nomark_s, 0);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.negotiated_ok, 1);
	CHECK_EQ_STR(c.neg.alg[KEX_CAT_KEX], "diffie-hellman-group14-sha256");
	/* Then dir 0 sends a KEX reply: it is the server after all. */
	t.n = 0;
	kex_reply(&t, SSH_MSG_KEX_31, &blob);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.role_source, SSH_ROLE_KEX_MESSAGES);
	CHECK_EQ_INT(c.client_dir, 1);
	CHECK_EQ_STR(c.neg.alg[KEX_CAT_KEX], "curve25519-sha256");
	CHECK_EQ_INT(c.hostkey.present, 1);
	CHECK_EQ_STR(c.hostkey.key.type, "ssh-ed25519");
	CHECK_EQ_INT(c.dir[0].kexmsg_mask, 1u << 1);
	/* HASSH follows the roles: dir 0 now carries HASSHServer. */
	CHECK_EQ_INT(kex_hassh(NULL, c.dir[0].kexinit, 1, hash, &str), KW_OK);
	CHECK_EQ_STR(c.dir[0].hassh, hash);
	CHECK_EQ_STR(c.dir[0].hassh_str, str);
	free(str);
	/* A client message from the server contradicts: flagged, ignored. */
	t.n = 0;
	tb_msg(&t, SSH_MSG_KEX_30, "\x00\x00\x00\x01x", 5);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_UNEXPECTED_MSG);
	CHECK_EQ_INT(c.client_dir, 1);
	ssh_conn_free(&c);

	/* Markers in a KEXINIT tell the roles before any KEX message. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_kexinit(&t, std_client, 0);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.role_source, SSH_ROLE_KEXINIT);
	CHECK_EQ_INT(c.client_dir, 1);
	ssh_conn_free(&c);
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_kexinit(&t, std_server, 0);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.role_source, SSH_ROLE_KEXINIT);
	CHECK_EQ_INT(c.client_dir, 0);
	/* A weaker source never overrides; KEX messages do. */
	t.n = 0;
	tb_kexinit(&t, nomark_c, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.role_source, SSH_ROLE_KEXINIT);
	t.n = 0;
	tb_msg(&t, SSH_MSG_KEX_30, "\x00\x00\x00\x01x", 5);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.role_source, SSH_ROLE_KEX_MESSAGES);
	CHECK_EQ_INT(c.client_dir, 0);
	CHECK_EQ_INT(c.dir[0].kexmsg_len, 1 + 1 + 5 + 4);
	CHECK_EQ_INT(c.dir[0].anomalies | c.dir[1].anomalies, 0);
	ssh_conn_free(&c);

	/* Reverse connection with real records: dir 0 is the SSH server. */
	{
		struct transcript tr;

		memset(&tr, 0, sizeof(tr));
		if (tr_add_file(&tr, 0, "kex/dh/server_kex_init.raw") == 0 &&
		    tr_add_file(&tr, 1, "kex/dh/client_kex_init.raw") == 0 &&
		    tr_add_file(&tr, 1, "kex/dh/init.raw") == 0 &&
		    tr_add_file(&tr, 0, "kex/dh/reply.raw") == 0) {
			conn_with_banner(&c, &default_limits);
			run_events(&c, &tr, tr.n);
			CHECK_EQ_INT(c.client_dir, 1);
			CHECK_EQ_INT(c.role_source, SSH_ROLE_KEX_MESSAGES);
			CHECK_EQ_STR(c.neg.alg[KEX_CAT_KEX], "diffie-hellman-group18-sha512");
			CHECK_EQ_INT(c.hostkey.from_msg, 31);
			CHECK_EQ_STR(c.hostkey.key.fingerprint,
			             "SHA256:SxDvIbGTm1vnJunN7TEzNveFmpf3N3Fmm7PmTDhLhcg");
			CHECK_EQ_INT(c.dir[1].kexmsg_mask, 1u << 0);
			CHECK_EQ_INT(c.dir[0].kexmsg_mask, 1u << 1);
			CHECK_EQ_INT(c.dir[0].anomalies | c.dir[1].anomalies, 0);
			expect_hassh(&c.dir[1], 0);
			expect_hassh(&c.dir[0], 1);
			ssh_conn_free(&c);
		}
		tr_free(&tr);
	}
}

static void test_unknown_kex(void)
{
	struct ssh_conn c;
	struct tbuf t, blob, p;
	uint8_t prime[129];
	struct transcript tr;

	/* Only the server's KEXINIT: a 31 whose first string is a key is a reply. */
	ed25519_blob(&blob, 0x22);
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_kexinit(&t, std_server, 0);
	kex_reply(&t, SSH_MSG_KEX_31, &blob);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.negotiated_ok, 0);
	CHECK_EQ_INT(c.hostkey.present, 1);
	CHECK_EQ_INT(c.hostkey.from_msg, 31);
	CHECK_EQ_INT(c.gex.present, 0);
	CHECK_EQ_INT(c.client_dir, 0);
	ssh_conn_free(&c);

	/* No KEXINIT at all: a 31 holding mpint p, mpint g is a GEX group. */
	memset(prime, 0xff, sizeof(prime));
	prime[0] = 0x00;
	p.n = 0;
	tb_u8(&p, SSH_MSG_KEX_31);
	tb_str(&p, prime, sizeof(prime));
	tb_str(&p, "\x02", 1);
	t.n = 0;
	tb_packet(&t, &p, 7);
	conn_with_banner(&c, &default_limits);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.hostkey.present, 0);
	CHECK_EQ_INT(c.gex.present, 1);
	CHECK_EQ_INT(c.gex.p_bits, 1024);
	CHECK_EQ_INT(c.dir[1].anomalies, 0);
	/* A 30 of exactly 4 bytes is GEX_REQUEST_OLD. */
	t.n = 0;
	tb_msg(&t, SSH_MSG_KEX_30, "\x00\x00\x08\x00", 4);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.gex.n, 2048);
	CHECK_EQ_INT(c.dir[0].kexmsg_len, 0);
	/* A 31 that is neither: malformed KEX message. */
	t.n = 0;
	tb_msg(&t, SSH_MSG_KEX_31, "\x00\x00\x00\x09zz", 6);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_KEX_MSG);
	ssh_conn_free(&c);

	/* The real GEX group before any KEXINIT. */
	memset(&tr, 0, sizeof(tr));
	if (tr_add_file(&tr, 1, "kex/dh-kex-gex/group.raw") == 0 &&
	    tr_add_file(&tr, 1, "kex/dh-kex-gex/reply.raw") == 0) {
		conn_with_banner(&c, &default_limits);
		run_events(&c, &tr, tr.n);
		CHECK_EQ_INT(c.gex.p_bits, 8192);
		CHECK_EQ_INT(c.hostkey.present, 1);
		CHECK_EQ_INT(c.hostkey.from_msg, 33);
		CHECK_EQ_INT(c.dir[1].kexmsg_len, 1180);
		ssh_conn_free(&c);
	}
	tr_free(&tr);

	/* Known non-GEX method with a broken K_S: malformed KEX message, no key. */
	conn_with_banner(&c, &default_limits);
	t.n = 0;
	tb_kexinit(&t, std_client, 0);
	push(&c, 0, t.b, t.n);
	t.n = 0;
	tb_kexinit(&t, std_server, 0);
	blob.n = 0;
	tb_cstr(&blob, "ssh-ed25519");
	tb_str(&blob, "short", 5);
	kex_reply(&t, SSH_MSG_KEX_31, &blob);
	push(&c, 1, t.b, t.n);
	CHECK_EQ_STR(c.neg.alg[KEX_CAT_KEX], "curve25519-sha256");
	CHECK_EQ_INT(c.hostkey.present, 0);
	CHECK_EQ_INT(c.dir[1].anomalies, SSH_ANOM_KEX_MSG);
	CHECK_EQ_INT(c.neg.strict_kex, 0);
	CHECK_EQ_INT(c.neg.ext_info_c, 1);
	ssh_conn_free(&c);
}

static void test_guess(void)
{
	const char *guess_c[8] = {"curve25519-sha256,diffie-hellman-group-exchange-sha256",
	                          "ssh-ed25519",
	                          "aes128-ctr",
	                          "aes128-ctr",
	                          "hmac-sha2-256",
	                          "hmac-sha2-256",
	                          "none",
	                          "none"};
	const char *gex_s[8] = {"diffie-hellman-group-exchange-sha256",
	                        "ssh-ed25519",
	                        "aes128-ctr",
	                        "aes128-ctr",
	                        "hmac-sha2-256",
	                        "hmac-sha2-256",
	                        "none",
	                        "none"};
	uint8_t q[36] = {0, 0, 0, 32};
	struct ssh_conn c;
	struct tbuf t;
	int right;

	for (right = 0; right < 2; right++) {
		conn_with_banner(&c, &default_limits);
		t.n = 0;
		tb_kexinit(&t, right ? guess_c : gex_s, 0);
		push(&c, 1, t.b, t.n);
		/* Client: KEXINIT guessing curve25519, then its guessed ECDH_INIT. */
		t.n = 0;
		tb_kexinit(&t, guess_c, 1);
		tb_msg(&t, SSH_MSG_KEX_30, q, sizeof(q));
		push(&c, 0, t.b, t.n);
		CHECK_EQ_INT(c.neg.guess_wrong, !right);
		CHECK_EQ_INT(c.dir[0].kexmsg_mask, 1u << 0);
		if (right) {
			/* Right guess: an ECDH init, counted. */
			CHECK_EQ_INT(c.gex.present, 0);
			CHECK_EQ_INT(c.dir[0].kexmsg_len, 1 + 1 + 36 + 4);
		} else {
			/* Wrong guess: ignored, not read as GEX_REQUEST_OLD. */
			CHECK_EQ_INT(c.gex.present, 0);
			CHECK_EQ_INT(c.dir[0].kexmsg_len, 0);
			t.n = 0;
			tb_msg(&t, SSH_MSG_KEX_DH_GEX_REQUEST,
			       "\x00\x00\x08\x00\x00\x00\x0c\x00\x00\x00\x20\x00", 12);
			push(&c, 0, t.b, t.n);
			CHECK_EQ_INT(c.gex.present, 1);
			CHECK_EQ_INT(c.gex.min, 2048);
			CHECK_EQ_INT(c.gex.n, 3072);
			CHECK_EQ_INT(c.gex.max, 8192);
		}
		CHECK_EQ_INT(c.dir[0].anomalies | c.dir[1].anomalies, 0);
		ssh_conn_free(&c);
	}
}

/* Encrypted framing: a connection negotiated to cipher/mac, client NEWKEYS,
 * then enc (n bytes) in direction 0, pushed in two parts split at `split`. */
static void enc_conn(struct ssh_conn *c, const char *cipher, const char *mac)
{
	const char *cl[8] = {"curve25519-sha256,ext-info-c",
	                     "ssh-ed25519",
	                     cipher,
	                     cipher,
	                     mac,
	                     mac,
	                     "none",
	                     "none"};
	const char *sv[8] = {
	    "curve25519-sha256", "ssh-ed25519", cipher, cipher, mac, mac, "none", "none"};
	struct tbuf t = {.n = 0};

	conn_with_banner(c, &default_limits);
	tb_kexinit(&t, sv, 0);
	push(c, 1, t.b, t.n);
	t.n = 0;
	tb_kexinit(&t, cl, 0);
	push(c, 0, t.b, t.n);
}

static void tb_enc(struct tbuf *t, uint32_t len, uint32_t tag)
{
	t->b[t->n++] = (uint8_t)(len >> 24);
	t->b[t->n++] = (uint8_t)(len >> 16);
	t->b[t->n++] = (uint8_t)(len >> 8);
	t->b[t->n++] = (uint8_t)len;
	memset(t->b + t->n, 0xa5, len + tag);
	t->n += len + tag;
}

static void test_encrypted(void)
{
	static const struct {
		const char *cipher, *mac;
		uint32_t tag;
	} framed[] = {
	    {"aes256-gcm@openssh.com", "hmac-sha2-256", 16},
	    {"aes128-gcm@openssh.com", "hmac-sha1", 16},
	    {"aes128-ctr", "hmac-sha2-256-etm@openssh.com", 32},
	    {"aes256-ctr", "hmac-sha2-512-etm@openssh.com", 64},
	    {"aes128-ctr", "umac-64-etm@openssh.com", 8},
	    {"aes128-ctr", "hmac-sha1-etm@openssh.com", 20},
	};
	static const uint32_t lens[] = {16, 32, 48, 16, 304};
	struct ssh_conn c;
	struct tbuf t;
	size_t at, i, k, nk;

	for (k = 0; k < sizeof(framed) / sizeof(framed[0]); k++) {
		t.n = 0;
		tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
		nk = t.n;
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			tb_enc(&t, lens[i], framed[k].tag);
		/* Every split point, NEWKEYS included, then byte by byte. */
		for (at = 0; at <= t.n + 1; at++) {
			enc_conn(&c, framed[k].cipher, framed[k].mac);
			if (at <= t.n) {
				push(&c, 0, t.b, at);
				push(&c, 0, t.b + at, t.n - at);
			} else {
				for (i = 0; i < t.n; i++)
					push(&c, 0, t.b + i, 1);
			}
			CHECK_EQ_INT(c.dir[0].state, SSH_ST_ENCRYPTED);
			CHECK_EQ_INT(c.dir[0].enc.framed, 1);
			CHECK_EQ_INT(c.dir[0].enc.tag, framed[k].tag);
			CHECK_EQ_INT(c.dir[0].enc.block, 16);
			CHECK_EQ_INT(c.dir[0].enc.kind, SSH_ENC_PACKETS);
			CHECK_EQ_INT(c.dir[0].enc.nunits, 5);
			CHECK_EQ_INT(c.dir[0].enc.packets, 5);
			for (i = 0; i < 5 && i < c.dir[0].enc.nunits; i++)
				CHECK_EQ_INT(c.dir[0].enc.unit_len[i], lens[i]);
			CHECK_EQ_INT(c.dir[0].enc.need, 0);
			CHECK_EQ_INT(c.dir[0].enc.hdr_len, 0);
			CHECK_EQ_INT(c.dir[0].enc_bytes, t.n - nk);
			CHECK_EQ_INT(c.dir[0].anomalies, 0);
			CHECK(ssh_dir_wants_bytes(&c, 0), "framing wants the bytes");
			ssh_conn_free(&c);
		}
	}

	/* Least packet_length of a payload (RFC 4253 6), as OpenSSH pads. */
	enc_conn(&c, "aes256-gcm@openssh.com", "hmac-sha2-256");
	t.n = 0;
	tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(ssh_enc_packet_len(&c.dir[0].enc, 1), 16);  /* USERAUTH_SUCCESS */
	CHECK_EQ_INT(ssh_enc_packet_len(&c.dir[0].enc, 17), 32); /* SERVICE_ACCEPT */
	CHECK_EQ_INT(ssh_enc_packet_len(&c.dir[0].enc, 71), 80); /* PK_OK, ed25519 */
	/* A length that is no multiple of the block: framing stops, an anomaly. */
	t.n = 0;
	tb_enc(&t, 16, 16);
	tb_enc(&t, 17, 16);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].enc.packets, 1);
	CHECK_EQ_INT(c.dir[0].anomalies, SSH_ANOM_ENC_LENGTH);
	CHECK_EQ_INT(c.dir[0].enc.sync_lost, 1);
	CHECK(!ssh_dir_wants_bytes(&c, 0), "framing lost: counting only");
	ssh_conn_free(&c);

	/* A gap stops framing without an anomaly (TCP counts the gap). */
	enc_conn(&c, "aes128-ctr", "hmac-sha2-256-etm@openssh.com");
	t.n = 0;
	tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
	tb_enc(&t, 32, 32);
	push(&c, 0, t.b, t.n - 5);
	ssh_stream_gap(&c, 0);
	CHECK_EQ_INT(c.dir[0].enc.packets, 1);
	CHECK_EQ_INT(c.dir[0].enc.sync_lost, 1);
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	CHECK(!ssh_dir_wants_bytes(&c, 0), "gap: counting only");
	ssh_conn_free(&c);

	/* SSH_ENC_UNITS packets, then counting only. */
	enc_conn(&c, "aes256-gcm@openssh.com", "hmac-sha2-256");
	t.n = 0;
	tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
	for (i = 0; i < SSH_ENC_UNITS; i++)
		tb_enc(&t, 16, 16);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].enc.packets, SSH_ENC_UNITS);
	CHECK_EQ_INT(c.dir[0].enc.sync_lost, 0);
	CHECK(!ssh_dir_wants_bytes(&c, 0), "enough packets: counting only");
	ssh_conn_free(&c);

	/* chacha20-poly1305 and MACs other than EtM: segment sizes only. */
	enc_conn(&c, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	t.n = 0;
	tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].enc.framed, 0);
	CHECK_EQ_INT(c.dir[0].enc.known, 1);
	CHECK_EQ_INT(c.dir[0].enc.block, 8);
	CHECK_EQ_INT(c.dir[0].enc.tag, 16);
	CHECK_EQ_INT(c.dir[0].enc.kind, SSH_ENC_SEGMENTS);
	CHECK(!ssh_dir_wants_bytes(&c, 0), "chacha20: counting only");
	ssh_stream_segment(&c, 0, 44, 2000);
	ssh_stream_count(&c, 0, 44);
	ssh_stream_segment(&c, 0, 28, 50000);
	ssh_stream_count(&c, 0, 28);
	CHECK_EQ_INT(c.dir[0].enc.segments, 2);
	CHECK_EQ_INT(c.dir[0].enc.paced, 1);
	CHECK_EQ_INT(c.dir[0].enc.small, 2);
	CHECK_EQ_INT(c.dir[0].enc.nunits, 2);
	CHECK_EQ_INT(c.dir[0].enc.unit_len[1], 28);
	CHECK_EQ_INT(c.dir[0].enc.unit_dt[1], 49000);
	CHECK_EQ_INT(c.dir[0].enc_bytes, 72);
	ssh_conn_free(&c);
	enc_conn(&c, "aes128-ctr", "hmac-sha2-256");
	t.n = 0;
	tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
	push(&c, 0, t.b, t.n);
	CHECK_EQ_INT(c.dir[0].enc.framed, 0);
	CHECK_EQ_INT(c.dir[0].enc.aad, 0);
	CHECK_EQ_INT(c.dir[0].enc.tag, 32);
	CHECK_EQ_INT(ssh_enc_packet_len(&c.dir[0].enc, 1), 12);
	ssh_conn_free(&c);
	/* Names the tables lack, as long as names they hold: layout unknown. */
	for (k = 0; k < 2; k++) {
		enc_conn(&c, k ? "aes128-ctr" : "aes512-ctr",
		         k ? "hmac-sha2-257" : "hmac-sha2-256");
		t.n = 0;
		tb_msg(&t, SSH_MSG_NEWKEYS, NULL, 0);
		push(&c, 0, t.b, t.n);
		CHECK(c.dir[0].enc.known == 0 && c.dir[0].enc.framed == 0, "unknown %s: known %d",
		      k ? "MAC" : "cipher", c.dir[0].enc.known);
		ssh_conn_free(&c);
	}
}

/* tb_packet8 frames a payload with the padding RFC 4253 6 asks for: a
 * multiple of 8 in all, at least 4 bytes of it (as OpenSSH pads). */
static void tb_packet8(struct tbuf *t, const struct tbuf *payload)
{
	uint8_t pad = (uint8_t)(8 - (5 + payload->n) % 8);

	tb_packet(t, payload, pad < 4 ? pad + 8 : pad);
}

/* The 32-bit xorshift generator: "encrypted" bytes, the same on every run. */
static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * A direction that begins mid-stream: the parser resynchronises on the
 * packet framing only where a plausible packet is followed by another, and
 * encrypted bytes (even ones shaped like one packet header) never make a
 * KEXINIT.
 */
static void test_resync(void)
{
	struct ssh_conn c;
	struct tbuf t, p, blob;
	static uint8_t junk[SSH_RESYNC_MAX + 4096];
	uint32_t seed = 0x2545f491u;

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)xorshift(&seed);
	ed25519_blob(&blob, 0x22);

	/* The tail of a packet, then the server's KEX reply and NEWKEYS: the
	 * host key is read and the roles come from the reply. Fed at every
	 * split, byte by byte, and whole. */
	t.n = 0;
	tb_raw(&t, junk, 37);
	p.n = 0;
	tb_u8(&p, SSH_MSG_KEX_31);
	tb_str(&p, blob.b, blob.n);
	tb_cstr(&p, "Q_S-value-here");
	tb_cstr(&p, "signature");
	tb_packet8(&t, &p);
	p.n = 0;
	tb_u8(&p, SSH_MSG_NEWKEYS);
	tb_packet8(&t, &p);
	tb_raw(&t, junk + 100, 200);
	for (int mode = 0; mode < 2; mode++) {
		ssh_conn_init(&c, &default_limits);
		ssh_stream_midstream(&c, 1);
		if (mode == 0)
			push(&c, 1, t.b, t.n);
		else
			push_bytewise(&c, 1, t.b, t.n);
		CHECK(c.hostkey.present, "resync (%s): host key from the KEX reply",
		      mode ? "bytewise" : "whole");
		CHECK_EQ_INT(c.client_dir, 0);
		CHECK_EQ_INT(c.role_source, SSH_ROLE_KEX_MESSAGES);
		CHECK(c.dir[1].t_newkeys != 0, "resync: NEWKEYS after the reply");
		CHECK_EQ_INT(c.dir[1].state, SSH_ST_ENCRYPTED);
		CHECK_EQ_INT(c.dir[1].anomalies, 0);
		ssh_conn_free(&c);
	}

	/* A KEXINIT mid-stream, confirmed by the packet after it. */
	t.n = 0;
	tb_raw(&t, junk, 5);
	p.n = 0;
	tb_u8(&p, SSH_MSG_KEXINIT);
	for (int i = 0; i < 16; i++)
		tb_u8(&p, (uint8_t)i);
	for (int i = 0; i < 8; i++)
		tb_cstr(&p, std_client[i]);
	tb_cstr(&p, "");
	tb_cstr(&p, "");
	tb_u8(&p, 0);
	tb_u32(&p, 0);
	tb_packet8(&t, &p);
	size_t kexinit_end = t.n;
	p.n = 0;
	tb_u8(&p, SSH_MSG_KEX_30);
	tb_cstr(&p, "Q_C-value-here-32-bytes-long....");
	tb_packet8(&t, &p);
	ssh_conn_init(&c, &default_limits);
	ssh_stream_midstream(&c, 0);
	push(&c, 0, t.b, t.n);
	CHECK(c.dir[0].kexinit != NULL, "resync: KEXINIT confirmed by the next packet");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);

	/* Nearest negative: the same KEXINIT followed by encrypted bytes (no
	 * plausible next header) is never taken. */
	memcpy(t.b + kexinit_end, junk + 1000, 200);
	t.n = kexinit_end + 200;
	t.b[kexinit_end] = 0xff; /* no packet_length within max_packet */
	ssh_conn_init(&c, &default_limits);
	ssh_stream_midstream(&c, 0);
	push(&c, 0, t.b, t.n);
	CHECK(c.dir[0].kexinit == NULL, "resync: an unconfirmed KEXINIT is not taken");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_RESYNC);
	ssh_conn_free(&c);

	/* Encrypted data: more than the window of pseudo-random bytes gives no
	 * packet, and the direction then only counts. */
	ssh_conn_init(&c, &default_limits);
	ssh_stream_midstream(&c, 0);
	push(&c, 0, junk, sizeof(junk));
	CHECK(c.dir[0].kexinit == NULL && c.dir[0].clear_packets == 0,
	      "resync: no packet in encrypted bytes");
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_STOPPED);
	CHECK_EQ_INT(c.dir[0].bytes, sizeof(junk));
	CHECK_EQ_INT(c.dir[0].buf_len, 0);
	ssh_conn_free(&c);

	/* False framings inside encrypted data: two plausible headers in a row
	 * (a KEXINIT's and a NEWKEYS') whose KEXINIT body does not hold its
	 * name-lists. The KEXINIT must not be made; a real packet later is. */
	t.n = 0;
	tb_raw(&t, junk, 64);
	tb_u32(&t, 60); /* packet_length 60: 64 in all */
	tb_u8(&t, 4);
	tb_u8(&t, SSH_MSG_KEXINIT);
	tb_raw(&t, junk + 2000, 54); /* cookie and "name-lists": random */
	p.n = 0;
	tb_u8(&p, SSH_MSG_NEWKEYS);
	tb_packet8(&t, &p);
	tb_raw(&t, junk + 3000, 64);
	ssh_conn_init(&c, &default_limits);
	ssh_stream_midstream(&c, 1);
	push(&c, 1, t.b, t.n);
	CHECK(c.dir[1].kexinit == NULL, "resync: a framing whose KEXINIT body is noise is not one");
	CHECK(c.dir[1].t_newkeys == 0, "resync: nor the NEWKEYS after it");
	ssh_conn_free(&c);

	/* A capture gap while searching starts the search again. */
	ssh_conn_init(&c, &default_limits);
	ssh_stream_midstream(&c, 0);
	push(&c, 0, junk, 100);
	ssh_stream_gap(&c, 0);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_RESYNC);
	CHECK_EQ_INT(c.dir[0].anomalies, 0);
	ssh_conn_free(&c);

	/* Only before any byte: a direction already parsed is not reset. */
	conn_with_banner(&c, &default_limits);
	ssh_stream_midstream(&c, 0);
	CHECK_EQ_INT(c.dir[0].state, SSH_ST_PACKETS);
	ssh_conn_free(&c);
}

/*
 * A mid-stream direction whose resynchronisation finds its KEXINIT and
 * NEWKEYS with encrypted packets behind them in the same bytes: those are
 * framed as the packets after any NEWKEYS are (the cipher is known from
 * both KEXINITs), not only counted. Fed whole and split after NEWKEYS.
 */
static void test_resync_encrypted(void)
{
	const char *cl[8] = {"curve25519-sha256,ext-info-c",
	                     "ssh-ed25519",
	                     "aes256-gcm@openssh.com",
	                     "aes256-gcm@openssh.com",
	                     "hmac-sha2-256",
	                     "hmac-sha2-256",
	                     "none",
	                     "none"};
	const char *sv[8];
	static const uint32_t lens[] = {16, 32, 48, 16, 304};
	static const uint8_t junk[5] = {0x9c, 0x01, 0x7e, 0x33, 0xd0};
	struct ssh_conn c;
	struct tbuf t, s, p;
	size_t nk, split;

	/* The server's offer: the client's without its ext-info-c marker. */
	memcpy(sv, cl, sizeof(sv));
	sv[0] = "curve25519-sha256";
	/* Padded to a multiple of 8, as the resynchronisation asks. */
	for (int side = 0; side < 2; side++) {
		struct tbuf *out = side ? &s : &t;

		out->n = 0;
		tb_raw(out, junk, sizeof(junk));
		p.n = 0;
		tb_u8(&p, SSH_MSG_KEXINIT);
		for (int i = 0; i < 16; i++)
			tb_u8(&p, (uint8_t)i);
		for (int i = 0; i < 8; i++)
			tb_cstr(&p, side ? sv[i] : cl[i]);
		tb_cstr(&p, "");
		tb_cstr(&p, "");
		tb_u8(&p, 0);
		tb_u32(&p, 0);
		tb_packet8(out, &p);
		p.n = 0;
		tb_u8(&p, SSH_MSG_NEWKEYS);
		tb_packet8(out, &p);
	}
	nk = t.n;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		tb_enc(&t, lens[i], 16);
	for (int mode = 0; mode < 2; mode++) {
		split = mode == 0 ? t.n : nk;
		ssh_conn_init(&c, &default_limits);
		ssh_stream_midstream(&c, 0);
		ssh_stream_midstream(&c, 1);
		push(&c, 1, s.b, s.n);
		push(&c, 0, t.b, split);
		push(&c, 0, t.b + split, t.n - split);
		CHECK(c.dir[0].kexinit != NULL && c.dir[1].kexinit != NULL,
		      "resync then encrypted (%d): both KEXINITs", mode);
		CHECK_EQ_INT(c.dir[0].state, SSH_ST_ENCRYPTED);
		CHECK_EQ_INT(c.dir[0].enc.framed, 1);
		CHECK_EQ_INT(c.dir[0].enc.packets, 5);
		CHECK_EQ_INT(c.dir[0].enc_bytes, t.n - nk);
		CHECK_EQ_INT(c.dir[0].anomalies, 0);
		/* Whole, the encrypted bytes came in the one push: one segment. */
		if (mode == 0)
			CHECK_EQ_INT(c.dir[0].enc.segments, 1);
		ssh_conn_free(&c);
	}
}

/* field_is: a banner field is present and equals s. */
static int field_is(const uint8_t *f, size_t n, const char *s)
{
	return f != NULL && n == strlen(s) && memcmp(f, s, n) == 0;
}

/*
 * ssh_banner_split, the one cut of a banner into its fields (RFC 4253
 * 4.2), as the record, the summary and the inventory show them.
 */
static void test_banner_split(void)
{
	static const char *const full = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3";
	struct ssh_banner_fields f;

	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)full, strlen(full), &f), 0);
	CHECK(field_is(f.proto, f.proto_len, "2.0"), "proto");
	CHECK(field_is(f.software, f.software_len, "OpenSSH_9.2p1"), "software");
	CHECK(field_is(f.comments, f.comments_len, "Debian-2+deb12u3"), "comments");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"SSH-1.99-x a b", 14, &f), 0);
	CHECK(field_is(f.proto, f.proto_len, "1.99") && field_is(f.software, f.software_len, "x") &&
	          field_is(f.comments, f.comments_len, "a b"),
	      "comments keep their spaces");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"SSH-2.0-x ", 10, &f), 0);
	CHECK(field_is(f.software, f.software_len, "x") && f.comments == NULL,
	      "a space with nothing after it: no comments");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"SSH-2.0-", 8, &f), 0);
	CHECK(f.software != NULL && f.software_len == 0, "an empty software version is there");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"SSH-2.0", 7, &f), 0);
	CHECK(field_is(f.proto, f.proto_len, "2.0") && f.software == NULL,
	      "no '-' after the version: no software");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"SSH-", 4, &f), 0);
	CHECK(f.proto != NULL && f.proto_len == 0 && f.software == NULL, "SSH- alone");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"SSH-2.0-a\0b c", 13, &f), 0);
	CHECK(f.software_len == 3 && field_is(f.comments, f.comments_len, "c"),
	      "a NUL is a byte like another");
	CHECK_EQ_INT(ssh_banner_split((const uint8_t *)"XSH-2.0-x", 9, &f), -1);
	CHECK(f.proto == NULL && f.software == NULL && f.comments == NULL, "not a banner: nothing");
	/* Every cut of the line: within it, never past. */
	for (size_t n = 0; n <= strlen(full); n++) {
		const uint8_t *b = (const uint8_t *)full, *end = b + n;
		int r = ssh_banner_split(b, n, &f);

		CHECK(r == (n < 4 ? -1 : 0), "cut at %zu: %d", n, r);
		CHECK((f.proto == NULL || f.proto + f.proto_len <= end) &&
		          (f.software == NULL || f.software + f.software_len <= end) &&
		          (f.comments == NULL || f.comments + f.comments_len <= end),
		      "cut at %zu: fields inside", n);
	}
}

int main(void)
{
	test_banners();
	test_framing();
	test_banner_after_other();
	test_messages();
	test_roles();
	test_unknown_kex();
	test_guess();
	test_encrypted();
	test_resync();
	test_resync_encrypted();
	test_banner_split();
	test_transcripts();
	return tap_done();
}
