/*
 * test_auth.c: unit.auth — what the encrypted sizes say about user
 * authentication (verdict/auth.c auth_infer), the per-client table of failed
 * logins (auth_guess_*), and the auth_guessing diagnosis verdict_judge builds
 * on them.
 *
 * The sizes are constructed as ssh.c keeps them after NEWKEYS: per
 * direction, the packet_length of each encrypted packet (or, for the
 * segment-size method, the TCP payload of each segment) and its time after
 * that direction's NEWKEYS. Every size comes from ssh_enc_packet_len for a
 * payload of known length, so the cases read like the RFC 4252 exchange
 * they stand for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "flow.h"
#include "tap.h"
#include "verdict.h"

#define T0 1700000000000000ull
#define MS 1000ull
#define SEC 1000000ull
#define TN (T0 + 100 * MS) /* both NEWKEYS */

/* Payload lengths (RFC 4252, RFC 4253 10): what the sizes stand for. */
#define P_SERVICE 17    /* SERVICE_REQUEST / SERVICE_ACCEPT "ssh-userauth" */
#define P_NONE 40       /* USERAUTH_REQUEST method "none" */
#define P_FAILURE 30    /* USERAUTH_FAILURE "publickey,password" */
#define P_PASSWORD 80   /* USERAUTH_REQUEST method "password" */
#define P_SUCCESS 1     /* USERAUTH_SUCCESS: the message number only */
#define P_DISCONNECT 45 /* DISCONNECT "Too many authentication failures" */
#define P_CHANNEL 100   /* CHANNEL_OPEN "session", after success */

/* One encrypted packet: who sent it, its payload, when (ms after NEWKEYS). */
struct step {
	int client;
	uint32_t payload;
	uint32_t ms;
};

/* The request for the user-authentication service and its acceptance,
 * then the "none" probe OpenSSH always sends first, refused. */
#define OPENING                                                                                    \
	{.client = 1, .payload = P_SERVICE, .ms = 1},                                              \
	    {.client = 0, .payload = P_SERVICE, .ms = 2},                                          \
	    {.client = 1, .payload = P_NONE, .ms = 3},                                             \
	{                                                                                          \
		.client = 0, .payload = P_FAILURE, .ms = 4                                         \
	}

/* Three wrong passwords, each refused about 2 s later. */
static const struct step three_failures[] = {
    OPENING,
    {.client = 1, .payload = P_PASSWORD, .ms = 1000},
    {.client = 0, .payload = P_FAILURE, .ms = 3000},
    {.client = 1, .payload = P_PASSWORD, .ms = 4000},
    {.client = 0, .payload = P_FAILURE, .ms = 6000},
    {.client = 1, .payload = P_PASSWORD, .ms = 7000},
    {.client = 0, .payload = P_FAILURE, .ms = 9000},
};

/* One wrong password, then the right one, then a session. */
static const struct step fail_then_success[] = {
    OPENING,
    {.client = 1, .payload = P_PASSWORD, .ms = 1000},
    {.client = 0, .payload = P_FAILURE, .ms = 3000},
    {.client = 1, .payload = P_PASSWORD, .ms = 4000},
    {.client = 0, .payload = P_SUCCESS, .ms = 4100},
    {.client = 1, .payload = P_CHANNEL, .ms = 4200},
};

/* The same, but nothing from the client after the success. */
static const struct step success_unconfirmed[] = {
    OPENING,
    {.client = 1, .payload = P_PASSWORD, .ms = 1000},
    {.client = 0, .payload = P_SUCCESS, .ms = 1100},
};

/* Two refusals, then the attempt that reaches MaxAuthTries gets a DISCONNECT. */
static const struct step max_tries[] = {
    OPENING,
    {.client = 1, .payload = P_PASSWORD, .ms = 1000},
    {.client = 0, .payload = P_FAILURE, .ms = 3000},
    {.client = 1, .payload = P_PASSWORD, .ms = 4000},
    {.client = 0, .payload = P_FAILURE, .ms = 6000},
    {.client = 1, .payload = P_PASSWORD, .ms = 7000},
    {.client = 0, .payload = P_DISCONNECT, .ms = 9000},
};

/* Three wrong passwords from a client that sends no "none" request (paramiko). */
static const struct step three_passwords[] = {
    {.client = 1, .payload = P_SERVICE, .ms = 1},
    {.client = 0, .payload = P_SERVICE, .ms = 2},
    {.client = 1, .payload = P_PASSWORD, .ms = 1000},
    {.client = 0, .payload = P_FAILURE, .ms = 3000},
    {.client = 1, .payload = P_PASSWORD, .ms = 4000},
    {.client = 0, .payload = P_FAILURE, .ms = 6000},
    {.client = 1, .payload = P_PASSWORD, .ms = 7000},
    {.client = 0, .payload = P_FAILURE, .ms = 9000},
};

/* No SERVICE_ACCEPT: nothing is read as authentication. */
static const struct step no_accept[] = {
    {.client = 1, .payload = P_PASSWORD, .ms = 1},
    {.client = 0, .payload = P_FAILURE, .ms = 2},
};

struct conn {
	struct flow f;
};

static uint64_t next_id;

/*
 * conn_new: an established connection from addr (198.18.0.x):50000 to
 * 198.18.0.2:22 by an OpenSSH client, both NEWKEYS at TN, each direction
 * AES-GCM-like (16-byte blocks, 16-byte tag, length outside the padded
 * part), framed exactly; no encrypted packet yet.
 */
static struct conn *conn_new(uint8_t addr)
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
	    .src = {198, 18, 0, addr},
	    .dst = {198, 18, 0, 2},
	    .sport = 50000,
	    .dport = 22,
	};
	f->initiator_known = 1;
	f->close_dir = -1;
	f->t_syn = f->t_first = T0;
	f->t_synack = T0 + 1 * MS;
	f->t_last = TN;
	for (int i = 0; i < 2; i++) {
		f->dir[i] = (struct tcp_dir){.syns = 1, .packets = 10, .t_first = T0, .t_last = TN};
		f->ssh.dir[i].t_newkeys = TN;
		f->ssh.dir[i].enc = (struct ssh_enc){
		    .known = 1,
		    .framed = 1,
		    .aad = 4,
		    .block = 16,
		    .tag = 16,
		    .comp = SSH_COMP_NONE,
		    .kind = SSH_ENC_PACKETS,
		};
	}
	f->ssh.dir[0].banner = (uint8_t *)"SSH-2.0-OpenSSH_9.6";
	f->ssh.dir[0].banner_len = 19;
	f->ssh.dir[1].banner = (uint8_t *)"SSH-2.0-OpenSSH_9.2";
	f->ssh.dir[1].banner_len = 19;
	f->ssh.client_dir = 0;
	f->ssh.role_source = SSH_ROLE_KEX_MESSAGES;
	f->ssh.neg.failed_cat = -1;
	return c;
}

/* play: the encrypted packets of steps, as ssh.c keeps them (packets or segments). */
static void play(struct conn *c, const struct step *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int dir = s[i].client ? c->f.ssh.client_dir : !c->f.ssh.client_dir;
		struct ssh_enc *e = &c->f.ssh.dir[dir].enc;
		uint32_t plen = ssh_enc_packet_len(e, s[i].payload);

		if (e->nunits >= SSH_ENC_UNITS)
			continue;
		e->unit_len[e->nunits] = e->kind == SSH_ENC_PACKETS ? plen : 4 + plen + e->tag;
		e->unit_dt[e->nunits] = s[i].ms * (uint32_t)MS;
		e->nunits++;
		e->packets++;
		e->segments++;
		c->f.ssh.dir[dir].enc_bytes += 4 + plen + e->tag;
		c->f.dir[dir].t_last = TN + s[i].ms * MS;
		if (c->f.dir[dir].t_last > c->f.t_last)
			c->f.t_last = c->f.dir[dir].t_last;
	}
}
#define PLAY(c, steps) play(c, steps, sizeof(steps) / sizeof(steps[0]))

/* closes: dir sent a FIN at t. */
static void closes(struct conn *c, int dir, uint64_t t)
{
	c->f.close_kind = FLOW_CLOSE_FIN;
	c->f.close_dir = (int8_t)dir;
	c->f.t_close = t;
	c->f.dir[dir].fin = 1;
	c->f.dir[dir].packets++;
	c->f.dir[dir].t_last = t;
	if (t > c->f.t_last)
		c->f.t_last = t;
}

/* ----------------------------------------------------------- auth_infer */

static void test_layout(void)
{
	struct ssh_enc e = {.known = 1, .aad = 4, .block = 16, .tag = 16};

	/* The sizes the cases rely on are distinct: each stands for one message. */
	CHECK_EQ_INT(ssh_enc_packet_len(&e, P_SUCCESS), 16);
	CHECK_EQ_INT(ssh_enc_packet_len(&e, P_SERVICE), 32);
	CHECK_EQ_INT(ssh_enc_packet_len(&e, P_FAILURE), 48);
	CHECK_EQ_INT(ssh_enc_packet_len(&e, P_DISCONNECT), 64);
	CHECK_EQ_INT(ssh_enc_packet_len(&e, P_PASSWORD), 96);
}

static void test_infer(void)
{
	static const struct {
		const char *name;
		const struct step *steps;
		size_t n;
		int closed;   /* the server closed 1 s after the last packet */
		int segments; /* sizes of TCP segments instead of packets */
		const char *client_banner;
		int no_client_banner; /* the capture began after the banners */
		enum auth_result result;
		enum auth_method method;
		enum auth_confidence confidence;
		uint32_t failures, caveats;
		uint32_t nfail_times;
		uint32_t t_result_ms; /* after NEWKEYS */
	} cases[] = {
	    {.name = "three failures",
	     .steps = three_failures,
	     .n = sizeof(three_failures) / sizeof(three_failures[0]),
	     .closed = 1,
	     .result = AUTH_FAILURE,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_HIGH,
	     .failures = 3,
	     .nfail_times = 3,
	     .t_result_ms = 9000},
	    {.name = "three failures, still open",
	     .steps = three_failures,
	     .n = sizeof(three_failures) / sizeof(three_failures[0]),
	     .result = AUTH_UNKNOWN,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_LOW,
	     .failures = 3,
	     .caveats = AUTH_CAV_OPEN,
	     .nfail_times = 3,
	     .t_result_ms = 9000},
	    {.name = "three failures, segment sizes",
	     .steps = three_failures,
	     .n = sizeof(three_failures) / sizeof(three_failures[0]),
	     .closed = 1,
	     .segments = 1,
	     .result = AUTH_FAILURE,
	     .method = AUTH_METHOD_SEGMENTS,
	     .confidence = AUTH_MEDIUM,
	     .failures = 3,
	     .caveats = AUTH_CAV_SEGMENTS,
	     .nfail_times = 3,
	     .t_result_ms = 9000},
	    /* A client not known to begin with "none": its refusal is an attempt. */
	    {.name = "three failures, unknown client",
	     .steps = three_failures,
	     .n = sizeof(three_failures) / sizeof(three_failures[0]),
	     .closed = 1,
	     .client_banner = "SSH-2.0-Go",
	     .result = AUTH_FAILURE,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_MEDIUM,
	     .failures = 4,
	     .caveats = AUTH_CAV_CLIENT_UNKNOWN,
	     .nfail_times = 4,
	     .t_result_ms = 9000},
	    /* The capture began after the banners: the client is unknown, but
	     * its first request, smaller than every later one, is "none". */
	    {.name = "three failures, banner not seen",
	     .steps = three_failures,
	     .n = sizeof(three_failures) / sizeof(three_failures[0]),
	     .closed = 1,
	     .no_client_banner = 1,
	     .result = AUTH_FAILURE,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_MEDIUM,
	     .failures = 3,
	     .caveats = AUTH_CAV_CLIENT_UNKNOWN,
	     .nfail_times = 3,
	     .t_result_ms = 9000},
	    {.name = "failure then success, banner not seen",
	     .steps = fail_then_success,
	     .n = sizeof(fail_then_success) / sizeof(fail_then_success[0]),
	     .closed = 1,
	     .no_client_banner = 1,
	     .result = AUTH_SUCCESS,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_MEDIUM,
	     .failures = 1,
	     .caveats = AUTH_CAV_CLIENT_UNKNOWN,
	     .nfail_times = 1,
	     .t_result_ms = 4100},
	    /* Nearest negative: requests of one size, no "none" among them:
	     * every refusal is an attempt. */
	    {.name = "three passwords, banner not seen",
	     .steps = three_passwords,
	     .n = sizeof(three_passwords) / sizeof(three_passwords[0]),
	     .closed = 1,
	     .no_client_banner = 1,
	     .result = AUTH_FAILURE,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_MEDIUM,
	     .failures = 3,
	     .caveats = AUTH_CAV_CLIENT_UNKNOWN,
	     .nfail_times = 3,
	     .t_result_ms = 9000},
	    {.name = "failure then success",
	     .steps = fail_then_success,
	     .n = sizeof(fail_then_success) / sizeof(fail_then_success[0]),
	     .closed = 1,
	     .result = AUTH_SUCCESS,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_HIGH,
	     .failures = 1,
	     .nfail_times = 1,
	     .t_result_ms = 4100},
	    {.name = "success, nothing after it",
	     .steps = success_unconfirmed,
	     .n = sizeof(success_unconfirmed) / sizeof(success_unconfirmed[0]),
	     .closed = 1,
	     .result = AUTH_SUCCESS,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_MEDIUM,
	     .caveats = AUTH_CAV_UNCONFIRMED,
	     .t_result_ms = 1100},
	    /* The DISCONNECT that answers the last attempt counts as a failure. */
	    {.name = "MaxAuthTries",
	     .steps = max_tries,
	     .n = sizeof(max_tries) / sizeof(max_tries[0]),
	     .closed = 1,
	     .result = AUTH_FAILURE,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_HIGH,
	     .failures = 3,
	     .nfail_times = 3,
	     .t_result_ms = 9000},
	    {.name = "no SERVICE_ACCEPT",
	     .steps = no_accept,
	     .n = sizeof(no_accept) / sizeof(no_accept[0]),
	     .closed = 1,
	     .result = AUTH_UNKNOWN,
	     .method = AUTH_METHOD_PACKETS,
	     .confidence = AUTH_LOW,
	     .caveats = AUTH_CAV_NO_ACCEPT},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conn *c = conn_new(1);
		struct auth_inference a;
		uint64_t last;

		if (cases[i].segments)
			for (int d = 0; d < 2; d++)
				c->f.ssh.dir[d].enc.kind = SSH_ENC_SEGMENTS;
		if (cases[i].client_banner != NULL) {
			c->f.ssh.dir[0].banner = (uint8_t *)cases[i].client_banner;
			c->f.ssh.dir[0].banner_len = (uint32_t)strlen(cases[i].client_banner);
		}
		if (cases[i].no_client_banner) {
			c->f.ssh.dir[0].banner = NULL;
			c->f.ssh.dir[0].banner_len = 0;
		}
		play(c, cases[i].steps, cases[i].n);
		last = TN + cases[i].steps[cases[i].n - 1].ms * MS;
		if (cases[i].closed)
			closes(c, 1, last + 1 * SEC);
		auth_infer(&c->f, 0, &a);
		CHECK(a.result == cases[i].result, "%s: result %s, want %s", cases[i].name,
		      auth_result_name(a.result), auth_result_name(cases[i].result));
		CHECK(a.method == cases[i].method, "%s: method %s", cases[i].name,
		      auth_method_name(a.method));
		CHECK(a.confidence == cases[i].confidence, "%s: confidence %s, want %s",
		      cases[i].name, auth_confidence_name(a.confidence),
		      auth_confidence_name(cases[i].confidence));
		CHECK(a.failures == cases[i].failures, "%s: %u failures, want %u", cases[i].name,
		      a.failures, cases[i].failures);
		CHECK(a.caveats == cases[i].caveats, "%s: caveats 0x%x, want 0x%x", cases[i].name,
		      a.caveats, cases[i].caveats);
		CHECK(a.nfail_times == cases[i].nfail_times, "%s: %u failure times, want %u",
		      cases[i].name, a.nfail_times, cases[i].nfail_times);
		if (cases[i].t_result_ms)
			CHECK(a.t_result == TN + cases[i].t_result_ms * MS, "%s: t_result +%llu us",
			      cases[i].name, (unsigned long long)(a.t_result - TN));
		free(c);
	}

	/* The failure times are the refusals' (not the "none" probe's). */
	{
		struct conn *c = conn_new(1);
		struct auth_inference a;

		PLAY(c, three_failures);
		closes(c, 1, TN + 10 * SEC);
		auth_infer(&c->f, 0, &a);
		CHECK_EQ_INT(a.nfail_times, 3);
		CHECK_EQ_INT(a.fail_times[0], TN + 3000 * MS);
		CHECK_EQ_INT(a.fail_times[1], TN + 6000 * MS);
		CHECK_EQ_INT(a.fail_times[2], TN + 9000 * MS);
		free(c);
	}

	/* Nothing to read: not established; algorithms of unknown sizes; capture gaps. */
	{
		struct conn *c = conn_new(1);
		struct auth_inference a;

		PLAY(c, three_failures);
		closes(c, 1, TN + 10 * SEC);
		c->f.dir[0].gaps = 1;
		auth_infer(&c->f, 0, &a);
		CHECK(a.caveats & AUTH_CAV_CAPTURE, "gaps: capture caveat");
		CHECK_EQ_INT(a.confidence, AUTH_LOW);
		c->f.dir[0].gaps = 0;
		c->f.ssh.dir[1].enc.comp = SSH_COMP_DELAYED;
		auth_infer(&c->f, 0, &a);
		CHECK_EQ_INT(a.caveats, AUTH_CAV_COMPRESSED);
		CHECK_EQ_INT(a.confidence, AUTH_MEDIUM);
		c->f.ssh.dir[1].enc.comp = SSH_COMP_ZLIB;
		auth_infer(&c->f, 0, &a);
		CHECK_EQ_INT(a.caveats, AUTH_CAV_COMPRESSED_ALL);
		CHECK_EQ_INT(a.confidence, AUTH_LOW);
		c->f.ssh.dir[1].enc.comp = SSH_COMP_NONE;
		c->f.ssh.dir[1].enc.known = 0;
		auth_infer(&c->f, 0, &a);
		CHECK_EQ_INT(a.result, AUTH_UNKNOWN);
		CHECK_EQ_INT(a.caveats, AUTH_CAV_UNKNOWN_ALGS);
		CHECK_EQ_INT(a.confidence, AUTH_LOW);
		c->f.ssh.dir[1].enc.known = 1;
		c->f.ssh.dir[1].t_newkeys = 0;
		auth_infer(&c->f, 0, &a);
		CHECK_EQ_INT(a.result, AUTH_UNKNOWN);
		CHECK_EQ_INT(a.method, AUTH_METHOD_NONE);
		CHECK_EQ_INT(a.confidence, AUTH_LOW);
		CHECK_EQ_INT(a.failures, 0);
		free(c);
	}

	/* The names the record uses. */
	CHECK_EQ_STR(auth_result_name(AUTH_SUCCESS), "success");
	CHECK_EQ_STR(auth_result_name(AUTH_FAILURE), "failure");
	CHECK_EQ_STR(auth_result_name(AUTH_UNKNOWN), "unknown");
	CHECK_EQ_STR(auth_method_name(AUTH_METHOD_PACKETS), "packet_lengths");
	CHECK_EQ_STR(auth_method_name(AUTH_METHOD_SEGMENTS), "segment_sizes");
	CHECK_EQ_STR(auth_confidence_name(AUTH_HIGH), "high");
	CHECK_EQ_STR(auth_confidence_name(AUTH_MEDIUM), "medium");
	CHECK_EQ_STR(auth_confidence_name(AUTH_LOW), "low");
	for (uint32_t bit = 1; bit <= AUTH_CAV_UNKNOWN_ALGS; bit <<= 1)
		CHECK(auth_caveat_name(bit) != NULL, "caveat 0x%x has a name", bit);
	CHECK(auth_caveat_name(AUTH_CAV_UNKNOWN_ALGS << 1) == NULL, "no name for an unknown bit");
	CHECK(auth_caveat_name(0) == NULL, "no name for no bit");
}

/*
 * The units of each direction are sorted into one sequence by time: when a
 * direction's units are not in capture order (a capture whose clock went
 * back), the merge of the two directions cannot be used, and the result
 * must be the same as from the units in order. Reversing each direction's
 * units leaves them out of order; the inference must not change.
 */
static void test_units_order(void)
{
	struct auth_inference in_order, reversed;
	struct conn *c = conn_new(1);

	if (c == NULL)
		return;
	PLAY(c, three_failures);
	closes(c, 1, TN + 10 * SEC);
	auth_infer(&c->f, 0, &in_order);
	for (int d = 0; d < 2; d++) {
		struct ssh_enc *e = &c->f.ssh.dir[d].enc;

		for (uint32_t i = 0, j = e->nunits - 1; i < j; i++, j--) {
			uint32_t len = e->unit_len[i], dt = e->unit_dt[i];

			e->unit_len[i] = e->unit_len[j];
			e->unit_dt[i] = e->unit_dt[j];
			e->unit_len[j] = len;
			e->unit_dt[j] = dt;
		}
	}
	auth_infer(&c->f, 0, &reversed);
	CHECK_EQ_INT(in_order.result, AUTH_FAILURE);
	CHECK_EQ_INT(in_order.failures, 3);
	CHECK_EQ_INT(reversed.result, in_order.result);
	CHECK_EQ_INT(reversed.failures, in_order.failures);
	CHECK_EQ_INT(reversed.method, in_order.method);
	CHECK_EQ_INT(reversed.confidence, in_order.confidence);
	CHECK_EQ_INT(reversed.caveats, in_order.caveats);
	CHECK(reversed.t_result == in_order.t_result, "same time of the result");
	free(c);
}

/* ------------------------------------------------------------ guess table */

static const uint8_t addr_a[16] = {198, 18, 0, 1};
static const uint8_t addr_b[16] = {198, 18, 0, 3};
static const uint8_t addr_c[16] = {198, 18, 0, 4};

/* failed: a connection that failed n times, the last at t (1 s apart). */
static struct auth_inference failed(uint32_t n, uint64_t t)
{
	struct auth_inference a = {.result = AUTH_FAILURE, .failures = n};

	for (uint32_t i = 0; i < n && i < AUTH_MAX_FAILURE_TIMES; i++)
		a.fail_times[a.nfail_times++] = t - (uint64_t)(n - 1 - i) * SEC;
	a.t_result = t;
	return a;
}

static void test_guess(void)
{
	struct auth_guess *g = auth_guess_new(16, 60, 3);
	struct auth_guess_view gv;
	struct auth_inference a;

	CHECK(g != NULL, "guess table");
	if (g == NULL)
		return;
	/* One failure per connection: the third within the window reaches 3. */
	a = failed(1, T0);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 1, &a, T0, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 1);
	CHECK_EQ_INT(gv.window_s, 60);
	CHECK_EQ_INT(gv.threshold, 3);
	a = failed(1, T0 + 10 * SEC);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 2, &a, T0 + 10 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 2);
	/* Another address, and the same bytes as IPv6, are other clients. */
	a = failed(1, T0 + 20 * SEC);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_b, 3, &a, T0 + 20 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 1);
	CHECK_EQ_INT(auth_guess_add(g, 6, addr_a, 4, &a, T0 + 20 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 1);
	/* The window reaches back exactly 60 s: the first still counts. */
	a = failed(1, T0 + 60 * SEC);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 5, &a, T0 + 60 * SEC, &gv), 1);
	CHECK_EQ_INT(gv.attempts, 3);
	CHECK_EQ_INT(gv.connections, 3);
	CHECK_EQ_INT(gv.capped, 0);
	/* 1 us later the first is out, the others and this one are in. */
	a = failed(1, T0 + 60 * SEC + 1);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 6, &a, T0 + 60 * SEC + 1, &gv), 1);
	CHECK_EQ_INT(gv.attempts, 3);
	/* Long after: alone in its window again. */
	a = failed(1, T0 + 300 * SEC);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 7, &a, T0 + 300 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 1);
	/* A success without failures adds nothing, and does not make an entry. */
	a = (struct auth_inference){.result = AUTH_SUCCESS, .t_result = T0 + 301 * SEC};
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 8, &a, T0 + 301 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 1);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_c, 9, &a, T0 + 301 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 0);
	a = failed(2, T0 + 302 * SEC);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_c, 13, &a, T0 + 302 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 2);
	/* A failed login of unknown count is one attempt, at its result time. */
	a = (struct auth_inference){.result = AUTH_FAILURE, .t_result = T0 + 302 * SEC};
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 10, &a, T0 + 302 * SEC, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 2);
	/* Three in one connection reach it at once. */
	a = failed(3, T0 + 400 * SEC);
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_b, 11, &a, T0 + 400 * SEC, &gv), 1);
	CHECK_EQ_INT(gv.attempts, 3);
	CHECK_EQ_INT(gv.connections, 1);
	/* Failures beyond those timed count at the result time. */
	a = failed(2, T0 + 500 * SEC);
	a.failures = 5;
	CHECK_EQ_INT(auth_guess_add(g, 4, addr_b, 12, &a, T0 + 500 * SEC, &gv), 1);
	CHECK_EQ_INT(gv.attempts, 5);
	auth_guess_free(g);
	/* NULL table: off. */
	a = failed(1, T0);
	CHECK_EQ_INT(auth_guess_add(NULL, 4, addr_a, 1, &a, T0, &gv), 0);
	CHECK_EQ_INT(gv.attempts, 0);
	auth_guess_free(NULL);

	/* More attempts in the window than remembered: capped at 64. */
	g = auth_guess_new(16, 3600, 1000);
	if (g != NULL) {
		CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 1, &(struct auth_inference){0}, T0, &gv),
		             0);
		CHECK_EQ_INT(gv.threshold, 64); /* clamped */
		for (int i = 0; i < 5; i++) {
			a = failed(AUTH_MAX_FAILURE_TIMES, T0 + (uint64_t)(i + 1) * 20 * SEC);
			auth_guess_add(g, 4, addr_a, (uint64_t)i + 1, &a,
			               T0 + (uint64_t)(i + 1) * 20 * SEC, &gv);
		}
		CHECK_EQ_INT(gv.attempts, 64);
		CHECK_EQ_INT(gv.capped, 1);
		CHECK_EQ_INT(gv.connections, 4);
		auth_guess_free(g);
	}
	/* Threshold 0 acts as 1. */
	g = auth_guess_new(16, 60, 0);
	if (g != NULL) {
		a = failed(1, T0);
		CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 1, &a, T0, &gv), 1);
		CHECK_EQ_INT(gv.threshold, 1);
		auth_guess_free(g);
	}
	/* One address remembered: a second one pushes the first out. */
	g = auth_guess_new(1, 60, 3);
	if (g != NULL) {
		a = failed(2, T0);
		auth_guess_add(g, 4, addr_a, 1, &a, T0, &gv);
		CHECK_EQ_INT(gv.attempts, 2);
		auth_guess_add(g, 4, addr_b, 2, &a, T0, &gv);
		a = failed(1, T0 + 1 * SEC);
		CHECK_EQ_INT(auth_guess_add(g, 4, addr_a, 3, &a, T0 + 1 * SEC, &gv), 0);
		CHECK_EQ_INT(gv.attempts, 1);
		auth_guess_free(g);
	}
}

/* -------------------------------------------------------- auth_guessing */

static uint32_t count(const struct verdict *v, enum diag_code code)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < v->ndiag; i++)
		n += v->diag[i].code == code;
	return n;
}

static const struct diagnosis *find(const struct verdict *v, enum diag_code code)
{
	for (uint32_t i = 0; i < v->ndiag; i++)
		if (v->diag[i].code == code)
			return &v->diag[i];
	return NULL;
}

static int64_t ev_int(const struct diagnosis *d, const char *key, enum diag_evidence_type type)
{
	const struct diag_evidence *e = d != NULL ? diagnosis_evidence(d, key) : NULL;

	return e != NULL && e->type == type ? e->v.i : -1;
}

static const char *ev_text(const struct diagnosis *d, const char *key)
{
	const struct diag_evidence *e = d != NULL ? diagnosis_evidence(d, key) : NULL;

	return e != NULL && e->type == EV_TEXT ? e->v.s : NULL;
}

/* judge_failures: a connection from 198.18.0.addr whose three passwords were
 * refused, its NEWKEYS at TN + at, judged in ctx. */
static void judge_failures(struct verdict_ctx *ctx, const struct kw_limits *limits, uint8_t addr,
                           uint64_t at, struct verdict *v)
{
	struct conn *c = conn_new(addr);

	c->f.ssh.limits = limits;
	for (int i = 0; i < 2; i++)
		c->f.ssh.dir[i].t_newkeys = TN + at;
	PLAY(c, three_failures);
	closes(c, 1, TN + at + 10 * SEC);
	verdict_judge(ctx, &c->f, v);
	free(c);
}

static void test_auth_guessing(void)
{
	static const struct kw_limits limits = KW_LIMITS_DEFAULT; /* 10 in 60 s */
	struct verdict *v = calloc(1, sizeof(*v));
	struct verdict_ctx ctx;
	const struct diagnosis *d;

	if (v == NULL)
		return;
	/* Three connections of three failures each, 10 s apart: 9, under 10. */
	verdict_ctx_init(&ctx, NULL);
	for (int i = 0; i < 3; i++) {
		judge_failures(&ctx, &limits, 1, (uint64_t)i * 10 * SEC, v);
		CHECK(ctx.guess != NULL, "the guess table is made from the flow's limits");
		CHECK(v->auth_known && v->auth.result == AUTH_FAILURE && v->auth.failures == 3,
		      "connection %d: 3 failures read", i);
		CHECK_EQ_INT(count(v, DIAG_AUTH_GUESSING), 0);
	}
	/* The fourth makes 12 within the minute. */
	judge_failures(&ctx, &limits, 1, 30 * SEC, v);
	d = find(v, DIAG_AUTH_GUESSING);
	CHECK_EQ_INT(count(v, DIAG_AUTH_GUESSING), 1);
	CHECK_EQ_INT(d != NULL ? (int)d->severity : -1, SEV_WARNING);
	CHECK_EQ_INT(d != NULL ? d->hint : -1, 0);
	CHECK(d != NULL && d->symptom == NULL, "no client message");
	CHECK_EQ_STR(d != NULL ? d->summary : NULL,
	             "12 failed logins from 198.18.0.1 within 60 s, over 4 connections.");
	CHECK_EQ_STR(ev_text(d, "client"), "198.18.0.1");
	CHECK_EQ_INT(ev_int(d, "attempts", EV_INT), 12);
	CHECK_EQ_INT(ev_int(d, "window_s", EV_INT), 60);
	CHECK_EQ_INT(ev_int(d, "connections", EV_INT), 4);
	CHECK_EQ_INT(ev_int(d, "threshold", EV_INT), 10);
	CHECK(d != NULL && diagnosis_evidence(d, "attempts_capped") == NULL, "not capped");
	/* Nearest negative: the fourth from another address. */
	judge_failures(&ctx, &limits, 3, 30 * SEC, v);
	CHECK_EQ_INT(count(v, DIAG_AUTH_GUESSING), 0);
	verdict_ctx_free(&ctx);

	/* Nearest negative: the fourth a minute after the others. */
	verdict_ctx_init(&ctx, NULL);
	for (int i = 0; i < 3; i++)
		judge_failures(&ctx, &limits, 1, (uint64_t)i * 10 * SEC, v);
	judge_failures(&ctx, &limits, 1, 90 * SEC, v);
	CHECK_EQ_INT(count(v, DIAG_AUTH_GUESSING), 0);
	verdict_ctx_free(&ctx);

	/* No limits on the flows: no table, no diagnosis. */
	verdict_ctx_init(&ctx, NULL);
	for (int i = 0; i < 4; i++)
		judge_failures(&ctx, NULL, 1, (uint64_t)i * 10 * SEC, v);
	CHECK(ctx.guess == NULL, "no guess table without limits");
	CHECK_EQ_INT(count(v, DIAG_AUTH_GUESSING), 0);
	verdict_ctx_free(&ctx);
	free(v);
}

int main(void)
{
	test_layout();
	test_infer();
	test_units_order();
	test_guess();
	test_auth_guessing();
	return tap_done();
}
