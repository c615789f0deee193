/*
 * auth.c: user authentication inferred from encrypted sizes, session facts,
 * and the per-client memory of failed logins (see auth.h, docs/auth.md).
 *
 * Responsible for reading the sizes ssh.c kept after NEWKEYS as the RFC 4252
 * exchange, saying which method produced the answer and how sure it is, and
 * for counting failed attempts per client address over a sliding window.
 * Not responsible for collecting the sizes (dissect/ssh.c) or for the
 * diagnosis' wording (diagnose.c).
 *
 * The method, in short. User authentication is a lockstep dialogue: the
 * client sends SERVICE_REQUEST "ssh-userauth" (17-byte payload), the server
 * answers SERVICE_ACCEPT (17 bytes); then each USERAUTH_REQUEST (or
 * INFO_RESPONSE) gets exactly one answer: USERAUTH_FAILURE (a name-list of
 * the methods that can continue, the same every time), USERAUTH_SUCCESS (a
 * 1-byte payload, the smallest packet a block allows), PK_OK or INFO_REQUEST
 * (60), or a DISCONNECT when MaxAuthTries is exceeded. Knowing the layout of
 * each direction (block size, tag, where the length is), the packet_length
 * of a payload is known up to the padding, which OpenSSH, dropbear and
 * paramiko keep minimal. Requests and replies are paired by capture time.
 * Clients known to begin with a "none" request (OpenSSH, dropbear) tell the
 * size of a failure exactly: the answer to "none"; it does not count as an
 * attempt (sshd does not count it towards MaxAuthTries either).
 *
 * Known gaps: a USERAUTH_FAILURE and an INFO_REQUEST of the same size are
 * told apart only by the pattern around them (keyboard-interactive is then
 * medium confidence at best); RFC 4253 allows random padding up to 255
 * bytes, which no common implementation sends but which would defeat the
 * sizes; with zlib compression from NEWKEYS on (not the delayed
 * zlib@openssh.com) sizes say little and the answer is low confidence.
 */
#include <stdlib.h>
#include <string.h>

#include "addrtab.h"
#include "auth.h"

#define AUTH_MAX_REPLIES (2 * SSH_ENC_UNITS)
#define AUTH_GUESS_RING 64
#define US_PER_MS 1000u
#define US_PER_S 1000000u

/* Session kinds (ssh.session.kind). */
#define SESSION_BULK_BYTES (256u * 1024u) /* a transfer, not typing */
#define SESSION_BULK_MEAN 512u            /* mean segment of the heavy direction */
#define SESSION_PACED_MIN 10u             /* keystrokes that make a session interactive */
#define SESSION_BRIEF_SEGMENTS 20u        /* fewer each way: a command or a login only */

struct auth_unit {
	uint64_t t;
	uint32_t plen; /* packet_length, or what one packet of that segment size would have */
	uint8_t client;
	uint8_t valid; /* plen is one whole packet's */
};

struct auth_reply {
	uint32_t r, q; /* reply size, size of the request it answers */
	uint64_t t;
	uint8_t valid;
};

/*
 * unit_plen: the packet_length a unit stands for; a segment counts as one
 * packet. min is ssh_enc_packet_len(e, 1), the same for every unit of e.
 */
static uint32_t unit_plen(const struct ssh_enc *e, uint32_t len, uint32_t min, uint8_t *valid)
{
	uint32_t plen;

	*valid = 0;
	if (e->kind == SSH_ENC_PACKETS) {
		*valid = 1;
		return len;
	}
	/* RFC 4253 6: uint32 packet_length, the packet, then the MAC or tag. */
	if (!e->known || len < 4u + e->tag)
		return 0;
	plen = len - 4u - e->tag;
	if (plen < min || ((uint64_t)plen + 4 - e->aad) % e->block != 0)
		return 0;
	*valid = 1;
	return plen;
}

static uint32_t units_collect(const struct ssh_dir *d, int client, struct auth_unit *u, uint32_t n)
{
	const struct ssh_enc *e = &d->enc;
	uint32_t min = e->kind == SSH_ENC_PACKETS ? 0 : ssh_enc_packet_len(e, 1);

	for (uint32_t i = 0; i < e->nunits && n < 2 * SSH_ENC_UNITS; i++, n++) {
		u[n].t = d->t_newkeys + e->unit_dt[i];
		u[n].plen = unit_plen(e, e->unit_len[i], min, &u[n].valid);
		u[n].client = (uint8_t)client;
	}
	return n;
}

/* units_in_order: u[from..to) by capture time, ties as they stand. */
static int units_in_order(const struct auth_unit *u, uint32_t from, uint32_t to)
{
	for (uint32_t i = from + 1; i < to; i++)
		if (u[i - 1].t > u[i].t)
			return 0;
	return 1;
}

/*
 * units_sort: by capture time, stable, the client's first on a tie. u
 * holds the client's nc units, then the server's. Each direction's units
 * are normally in capture order already, and then one merge of the two
 * gives what the insertion sort would, in n steps instead of up to n * n.
 */
static void units_sort(struct auth_unit *u, uint32_t nc, uint32_t n)
{
	if (units_in_order(u, 0, nc) && units_in_order(u, nc, n)) {
		struct auth_unit m[2 * SSH_ENC_UNITS];
		uint32_t i = 0, j = nc, k = 0;

		while (i < nc && j < n)
			m[k++] = u[j].t < u[i].t ? u[j++] : u[i++];
		while (i < nc)
			m[k++] = u[i++];
		memcpy(u, m, (size_t)k * sizeof(*u));
		return;
	}
	for (uint32_t i = 1; i < n; i++) {
		struct auth_unit x = u[i];
		uint32_t j = i;

		while (j > 0 &&
		       (u[j - 1].t > x.t || (u[j - 1].t == x.t && !u[j - 1].client && x.client))) {
			u[j] = u[j - 1];
			j--;
		}
		u[j] = x;
	}
}

/* client_says_none_first: clients that always begin with a "none" request. */
static int client_says_none_first(const struct ssh_dir *d)
{
	static const char *const sw[] = {"SSH-2.0-OpenSSH_", "SSH-1.99-OpenSSH_",
	                                 "SSH-2.0-dropbear"};

	if (d->banner == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(sw) / sizeof(sw[0]); i++) {
		size_t k = strlen(sw[i]);
		if (d->banner_len >= k && memcmp(d->banner, sw[i], k) == 0)
			return 1;
	}
	return 0;
}

/*
 * first_request_is_none: without the client's banner (the capture began after
 * it) the client is unknown, yet its first request may still be "none", whose
 * FAILURE is not an attempt. RFC 4252 5.2: "none" carries no method fields, so
 * for one user name no request is smaller (password adds at least 9 bytes).
 * The first request is taken for "none" when it is smaller than every later
 * one, success included; unknown sizes (coalesced) decide nothing.
 */
static int first_request_is_none(const struct auth_reply *rep, uint32_t nrep, int done,
                                 uint32_t q_success)
{
	if (nrep == 0 || rep[0].q == 0 || (nrep == 1 && !done))
		return 0;
	for (uint32_t i = 1; i < nrep; i++)
		if (rep[i].q <= rep[0].q)
			return 0;
	return !done || q_success > rep[0].q;
}

static void cap(enum auth_confidence *c, enum auth_confidence most)
{
	if (*c > most)
		*c = most;
}

static void add_fail_time(struct auth_inference *a, uint64_t t)
{
	if (a->nfail_times < AUTH_MAX_FAILURE_TIMES)
		a->fail_times[a->nfail_times++] = t;
	a->t_result = t;
}

void auth_infer(const struct flow *f, int c, struct auth_inference *a)
{
	const struct ssh_dir *cd = &f->ssh.dir[c], *sd = &f->ssh.dir[!c];
	const struct ssh_enc *ce = &cd->enc, *se = &sd->enc;
	struct auth_unit u[2 * SSH_ENC_UNITS];
	struct auth_reply rep[AUTH_MAX_REPLIES];
	uint32_t n, nc, nrep = 0, pending = 0, q_last = 0, q_answered = 0, q_success = 0;
	uint32_t M, M2, ACC, REQ, DSZ, F = 0, countF = 0, post_client = 0, first;
	uint64_t t_success = 0;
	int accepted = 0, done = 0, coalesced = 0, not_lockstep = 0, none_first, closed,
	    server_closed, pattern_ok = 1, disconnect = 0, none_inferred = 0;
	enum auth_confidence conf = AUTH_HIGH;

	memset(a, 0, sizeof(*a));
	a->result = AUTH_UNKNOWN;
	a->confidence = AUTH_LOW;
	if (cd->t_newkeys == 0 || sd->t_newkeys == 0)
		return;
	a->method = ce->kind == SSH_ENC_PACKETS && se->kind == SSH_ENC_PACKETS
	                ? AUTH_METHOD_PACKETS
	                : AUTH_METHOD_SEGMENTS;
	if (!ce->known || !se->known) {
		a->caveats |= AUTH_CAV_UNKNOWN_ALGS;
		return;
	}
	M = ssh_enc_packet_len(se, 1); /* USERAUTH_SUCCESS: message number only */
	/* RFC 4253 6: "the minimum size of a packet is 16 bytes"; dropbear
	 * honours it where OpenSSH does not (chacha20: 4 + 8). */
	for (M2 = M; M2 > 0 && (uint64_t)M2 + 4 < 16; M2 += se->block)
		;
	ACC = ssh_enc_packet_len(se, 17); /* SERVICE_ACCEPT "ssh-userauth" */
	REQ = ssh_enc_packet_len(ce, 17); /* SERVICE_REQUEST "ssh-userauth" */
	DSZ = ssh_enc_packet_len(se, 45); /* OpenSSH's DISCONNECT for MaxAuthTries */
	nc = units_collect(cd, 1, u, 0);
	n = units_collect(sd, 0, u, nc);
	units_sort(u, nc, n);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t q;

		if (u[i].client) {
			if (done) {
				post_client++;
				continue;
			}
			if (!u[i].valid)
				coalesced = 1;
			if (pending > 0 && accepted)
				not_lockstep = 1;
			pending++;
			q_last = u[i].valid ? u[i].plen : 0;
			continue;
		}
		if (done)
			continue;
		if (pending == 0) {
			if (!accepted)
				continue; /* EXT_INFO after NEWKEYS (RFC 8308 2.4) */
			/* A second packet for one request: the first was extra
			 * (USERAUTH_BANNER, EXT_INFO), this one is the answer. */
			not_lockstep = 1;
			if (nrep > 0 && rep[nrep - 1].q == q_answered)
				nrep--;
			q = q_answered;
		} else {
			q = q_last;
			pending = 0;
		}
		if (!u[i].valid)
			coalesced = 1;
		q_answered = q;
		/* RFC 4253 10: SERVICE_ACCEPT answers SERVICE_REQUEST; paramiko
		 * sends a SERVICE_REQUEST before every attempt. No USERAUTH
		 * message is that small (RFC 4252 5: user, service, method). */
		if (u[i].valid && q == REQ && u[i].plen == ACC) {
			accepted = 1;
			continue;
		}
		/* The request was coalesced with another (dropbear sends
		 * SERVICE_REQUEST and "none" at once): the first ACCEPT-sized
		 * answer is taken for SERVICE_ACCEPT. */
		if (!accepted && q == 0 && u[i].valid && u[i].plen == ACC) {
			accepted = 1;
			continue;
		}
		if (!accepted)
			continue;
		if (u[i].valid && (u[i].plen == M || u[i].plen == M2)) {
			done = 1;
			t_success = u[i].t;
			q_success = q;
			continue;
		}
		if (nrep < AUTH_MAX_REPLIES) {
			rep[nrep].r = u[i].valid ? u[i].plen : 0;
			rep[nrep].q = q;
			rep[nrep].t = u[i].t;
			rep[nrep].valid = u[i].valid;
			nrep++;
		}
	}

	closed = f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST;
	server_closed = closed && f->close_dir == !c;
	none_first = client_says_none_first(cd);
	if (!none_first && cd->banner == NULL && first_request_is_none(rep, nrep, done, q_success))
		none_first = none_inferred = 1;

	/* The size of USERAUTH_FAILURE: the answer to "none", or the commonest. */
	if (nrep > 0 && none_first) {
		F = rep[0].r;
	} else if (nrep > 0) {
		uint32_t best = 0;
		for (uint32_t i = 0; i < nrep; i++) {
			uint32_t k = 0;
			for (uint32_t j = 0; j < nrep; j++)
				k += rep[j].valid && rep[j].r == rep[i].r;
			if (rep[i].valid && k > best) {
				best = k;
				F = rep[i].r;
			}
		}
	}
	first = none_first && nrep > 0 ? 1 : 0;
	for (uint32_t i = first; i < nrep; i++) {
		if (rep[i].valid && rep[i].r == F) {
			countF++;
			add_fail_time(a, rep[i].t);
		}
	}
	/* sshd answers the attempt that reaches MaxAuthTries with a DISCONNECT
	 * (RFC 4253 11.1: reason, "Too many authentication failures", language)
	 * and closes; the client may close first. */
	if (!done && closed && nrep > first && pending == 0 &&
	    !(rep[nrep - 1].valid && rep[nrep - 1].r == F) &&
	    (server_closed || (rep[nrep - 1].valid && rep[nrep - 1].r == DSZ))) {
		disconnect = 1;
		countF++;
		add_fail_time(a, rep[nrep - 1].t);
	}
	a->failures = countF;

	if (done) {
		a->result = AUTH_SUCCESS;
		a->t_result = t_success;
	} else if (closed && accepted) {
		a->result = AUTH_FAILURE;
	} else {
		a->result = AUTH_UNKNOWN;
	}

	/* Pattern read one way only: FAILURE... then at most one other reply,
	 * last (PK_OK before SUCCESS, or the DISCONNECT); every attempt that
	 * failed, and the one that ended it, sent requests of one size. */
	if (none_first && nrep > 0) {
		uint32_t last_f = 0, q_common = 0, others = 0;
		int have_q = 0;

		for (uint32_t i = 0; i < nrep; i++) {
			if (rep[i].valid && rep[i].r == F) {
				if (others > 0)
					pattern_ok = 0; /* FAILURE after another reply */
				last_f = i;
				if (i == 0)
					continue;
				if (have_q && rep[i].q != q_common)
					pattern_ok = 0;
				q_common = rep[i].q;
				have_q = 1;
			} else {
				others++;
			}
		}
		(void)last_f;
		if (others > 1)
			pattern_ok = 0;
		if (others == 1 && done && have_q && rep[nrep - 1].q != q_common)
			pattern_ok = 0;
		if (others == 0 && done && have_q && q_success != q_common)
			pattern_ok = 0;
		if (others == 1 && !done && !disconnect)
			pattern_ok = 0;
	}

	if (a->method == AUTH_METHOD_SEGMENTS) {
		a->caveats |= AUTH_CAV_SEGMENTS;
		cap(&conf, AUTH_MEDIUM);
	}
	if (coalesced) {
		a->caveats |= AUTH_CAV_COALESCED;
		cap(&conf, AUTH_LOW);
	}
	if (ce->comp == SSH_COMP_ZLIB || se->comp == SSH_COMP_ZLIB ||
	    ce->comp == SSH_COMP_UNKNOWN || se->comp == SSH_COMP_UNKNOWN) {
		a->caveats |= AUTH_CAV_COMPRESSED_ALL;
		cap(&conf, AUTH_LOW);
	} else if (ce->comp == SSH_COMP_DELAYED || se->comp == SSH_COMP_DELAYED) {
		a->caveats |= AUTH_CAV_COMPRESSED;
		cap(&conf, AUTH_MEDIUM);
	}
	if (!none_first || none_inferred) {
		a->caveats |= AUTH_CAV_CLIENT_UNKNOWN;
		cap(&conf, AUTH_MEDIUM);
	}
	if (!pattern_ok) {
		a->caveats |= AUTH_CAV_PATTERN;
		cap(&conf, AUTH_MEDIUM);
	}
	if (not_lockstep || (!done && pending > 0)) {
		a->caveats |= AUTH_CAV_NOT_LOCKSTEP;
		cap(&conf, AUTH_MEDIUM);
	}
	if (done && post_client == 0) {
		a->caveats |= AUTH_CAV_UNCONFIRMED;
		cap(&conf, AUTH_MEDIUM);
	}
	if (!closed && !done) {
		a->caveats |= AUTH_CAV_OPEN;
		cap(&conf, AUTH_LOW);
	}
	if (f->dir[0].gaps + f->dir[1].gaps > 0 || ce->sync_lost || se->sync_lost ||
	    (f->anomalies & (FLOW_ANOM_MIDSTREAM | FLOW_ANOM_SNAPPED | FLOW_ANOM_ONE_SIDED))) {
		a->caveats |= AUTH_CAV_CAPTURE;
		cap(&conf, AUTH_LOW);
	}
	if (!done && (ce->nunits >= SSH_ENC_UNITS || se->nunits >= SSH_ENC_UNITS)) {
		a->caveats |= AUTH_CAV_TRUNCATED;
		cap(&conf, AUTH_LOW);
	}
	if (!accepted) {
		a->caveats |= AUTH_CAV_NO_ACCEPT;
		cap(&conf, AUTH_LOW);
	}
	if (a->result == AUTH_UNKNOWN)
		cap(&conf, AUTH_LOW);
	a->confidence = conf;
}

const char *auth_result_name(enum auth_result r)
{
	return r == AUTH_SUCCESS ? "success" : r == AUTH_FAILURE ? "failure" : "unknown";
}

const char *auth_method_name(enum auth_method m)
{
	return m == AUTH_METHOD_PACKETS ? "packet_lengths" : "segment_sizes";
}

const char *auth_confidence_name(enum auth_confidence c)
{
	return c == AUTH_HIGH ? "high" : c == AUTH_MEDIUM ? "medium" : "low";
}

const char *auth_caveat_name(uint32_t bit)
{
	switch (bit) {
	case AUTH_CAV_SEGMENTS:
		return "segment_sizes";
	case AUTH_CAV_COALESCED:
		return "coalesced_segments";
	case AUTH_CAV_COMPRESSED:
		return "compressed_after_auth";
	case AUTH_CAV_COMPRESSED_ALL:
		return "compressed";
	case AUTH_CAV_CLIENT_UNKNOWN:
		return "client_unknown";
	case AUTH_CAV_PATTERN:
		return "ambiguous_pattern";
	case AUTH_CAV_NOT_LOCKSTEP:
		return "unpaired_messages";
	case AUTH_CAV_UNCONFIRMED:
		return "session_not_seen";
	case AUTH_CAV_OPEN:
		return "still_open";
	case AUTH_CAV_CAPTURE:
		return "capture_incomplete";
	case AUTH_CAV_TRUNCATED:
		return "exchange_too_long";
	case AUTH_CAV_NO_ACCEPT:
		return "no_service_accept";
	case AUTH_CAV_UNKNOWN_ALGS:
		return "unknown_algorithms";
	default:
		return NULL;
	}
}

static const char *session_kind(const struct ssh_enc *ce, const struct ssh_enc *se,
                                uint64_t bytes_c, uint64_t bytes_s)
{
	const struct ssh_enc *heavy = bytes_c > bytes_s ? ce : se;
	uint64_t hb = bytes_c > bytes_s ? bytes_c : bytes_s;

	if (hb >= SESSION_BULK_BYTES && heavy->segments > 0 &&
	    hb / heavy->segments >= SESSION_BULK_MEAN)
		return "bulk";
	/* Keystrokes: small client segments with human gaps between them. */
	if (ce->paced >= SESSION_PACED_MIN && ce->small >= SESSION_PACED_MIN &&
	    (uint64_t)ce->paced * 2 >= ce->segments)
		return "interactive";
	if (ce->segments < SESSION_BRIEF_SEGMENTS && se->segments < SESSION_BRIEF_SEGMENTS)
		return "brief";
	return "mixed";
}

int auth_session(const struct flow *f, int c, struct auth_session *s)
{
	const struct ssh_dir *cd = &f->ssh.dir[c], *sd = &f->ssh.dir[!c];
	uint64_t nk, last;
	int closed = f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST;

	memset(s, 0, sizeof(*s));
	if (cd->t_newkeys == 0 || sd->t_newkeys == 0)
		return 0;
	nk = cd->t_newkeys > sd->t_newkeys ? cd->t_newkeys : sd->t_newkeys;
	last = f->dir[0].t_last > f->dir[1].t_last ? f->dir[0].t_last : f->dir[1].t_last;
	if (closed && f->t_close > nk)
		last = f->t_close;
	s->duration_us = last > nk ? last - nk : 0;
	s->packets_c2s = cd->enc.segments;
	s->packets_s2c = sd->enc.segments;
	s->bytes_c2s = cd->enc_bytes;
	s->bytes_s2c = sd->enc_bytes;
	s->framed = cd->enc.kind == SSH_ENC_PACKETS || sd->enc.kind == SSH_ENC_PACKETS;
	s->ssh_packets_c2s = cd->enc.packets;
	s->ssh_packets_s2c = sd->enc.packets;
	s->kind = session_kind(&cd->enc, &sd->enc, cd->enc_bytes, sd->enc_bytes);
	s->open = !closed;
	return 1;
}

/* ------------------------------------------------------------ guess table */

struct guess_entry {
	struct addr_node node; /* first: addrtab.h */
	uint32_t head, count;  /* ring of the latest attempts */
	uint64_t t[AUTH_GUESS_RING];
	uint64_t conn[AUTH_GUESS_RING];
};

struct auth_guess {
	struct addrtab tab;
	uint64_t window_us;
	uint32_t threshold;
};

struct auth_guess *auth_guess_new(uint32_t max_clients, uint32_t window_s, uint32_t threshold)
{
	struct auth_guess *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	if (addrtab_init(&g->tab, max_clients, sizeof(struct guess_entry)) != 0) {
		free(g);
		return NULL;
	}
	g->window_us = (uint64_t)(window_s > 0 ? window_s : 1) * US_PER_S;
	g->threshold = threshold < 1                 ? 1
	               : threshold > AUTH_GUESS_RING ? AUTH_GUESS_RING
	                                             : threshold;
	return g;
}

void auth_guess_free(struct auth_guess *g)
{
	if (g == NULL)
		return;
	addrtab_free(&g->tab);
	free(g);
}

static void guess_push(struct guess_entry *e, uint64_t t, uint64_t conn)
{
	e->t[e->head] = t;
	e->conn[e->head] = conn;
	e->head = (e->head + 1) % AUTH_GUESS_RING;
	if (e->count < AUTH_GUESS_RING)
		e->count++;
}

int auth_guess_add(struct auth_guess *g, int family, const uint8_t addr[16], uint64_t flow_id,
                   const struct auth_inference *a, uint64_t now_us, struct auth_guess_view *v)
{
	struct guess_entry *e;
	uint64_t since, conns[AUTH_GUESS_RING];
	uint32_t extra, nconns = 0, oldest_in = 0;

	memset(v, 0, sizeof(*v));
	if (g == NULL)
		return 0;
	v->window_s = (uint32_t)(g->window_us / US_PER_S);
	v->threshold = g->threshold;
	/* Only an address that failed is remembered. */
	if ((e = addrtab_find(&g->tab, family, addr,
	                      a->failures > 0 || a->result == AUTH_FAILURE)) == NULL)
		return 0;
	for (uint32_t i = 0; i < a->nfail_times; i++) {
		guess_push(e, a->fail_times[i], flow_id);
		if (a->fail_times[i] > now_us)
			now_us = a->fail_times[i];
	}
	/* Failures beyond those timed, or a failed login of unknown count: one each. */
	extra = a->failures > a->nfail_times ? a->failures - a->nfail_times : 0;
	if (a->result == AUTH_FAILURE && a->failures == 0)
		extra = 1;
	for (uint32_t i = 0; i < extra && i < AUTH_GUESS_RING; i++)
		guess_push(e, a->t_result ? a->t_result : now_us, flow_id);
	since = now_us > g->window_us ? now_us - g->window_us : 0;
	for (uint32_t i = 0; i < e->count; i++) {
		uint32_t k = (e->head + AUTH_GUESS_RING - 1 - i) % AUTH_GUESS_RING, j;

		if (e->t[k] < since || e->t[k] > now_us)
			continue;
		v->attempts++;
		if (i == AUTH_GUESS_RING - 1)
			oldest_in = 1;
		for (j = 0; j < nconns && conns[j] != e->conn[k]; j++)
			;
		if (j == nconns)
			conns[nconns++] = e->conn[k];
	}
	v->connections = nconns;
	v->capped = oldest_in;
	return v->attempts >= g->threshold;
}
