/*
 * ssh.c: the SSH stream parser (see ssh.h).
 *
 * Responsible for: cutting each direction's ordered bytes into
 * identification lines (RFC 4253 section 4.2) and clear-text binary packets
 * (section 6), reading the messages of the first key exchange (KEXINIT,
 * 30..34, NEWKEYS, DISCONNECT), telling the SSH roles from the protocol, and
 * recording what was seen as facts and anomaly bits. After NEWKEYS it reads
 * no message: it frames the first encrypted packets where packet_length
 * travels in clear (EtM MACs, AES-GCM), keeps the sizes of the first TCP
 * segments otherwise, and counts bytes.
 *
 * Not responsible for: TCP reassembly (tcp.c), KEXINIT contents and host-key
 * blobs (kex.c), or what the facts mean (verdict/).
 *
 * Segmentation never matters. Records are parsed straight from the caller's
 * bytes; only the unfinished tail of a line or packet is copied, and every
 * decision is taken on a prefix of the record that does not depend on how
 * much has arrived: a line is at most min(banner_max + 2, stream_buf) bytes,
 * and a packet's length is judged as soon as its 4-byte length is in.
 *
 * Known gaps, on purpose:
 *  - A direction that begins mid-stream (ssh_stream_midstream) is read
 *    only from a clear-text packet confirmed by the next one; a capture
 *    that begins after NEWKEYS, or with the last clear packet (NEWKEYS
 *    followed by encrypted bytes), only counts.
 *  - Only the TCP responder (direction 1) may send lines before its
 *    identification line; a TCP initiator whose first bytes are not "SSH-"
 *    is taken as not SSH, even in a reverse connection. The responder's
 *    lines are still read after that, while they are text and within the
 *    pre-banner limits, for a server banner that follows the client's
 *    other protocol (ssh_line_responder_gives_up).
 *  - Pre-banner text is kept up to banner_max bytes in total; further lines
 *    are counted, not kept.
 *  - SSH-1 (a 1.x banner, or 1.99 facing one): only the first packet of each
 *    side is read, for the server's host key (SMSG_PUBLIC_KEY) and the
 *    roles; what follows the client's session key is encrypted.
 *  - An SSH-1.99 side is taken to speak SSH-1 only when its peer's SSH-1.x
 *    banner arrived before its own packets (real servers wait for it).
 *  - RFC 4253 section 6 asks that a packet be a multiple of 8 bytes; not
 *    checked, as some implementations do not honour it in clear text.
 *  - A first_kex_packet_follows guess is honoured for the client only
 *    (RFC 4253 section 7: servers do not send the first KEX packet).
 *  - Encrypted framing follows the first key exchange only; the sizes of
 *    packets after a re-key would be read with the old layout, so framing
 *    stops after SSH_ENC_UNITS packets (the authentication exchange), long
 *    before a re-key (OpenSSH re-keys after 1 GiB or an hour). A MAC or
 *    cipher not in ssh_enc_params leaves the direction unframed.
 *  - A TCP segment that carries NEWKEYS and the first encrypted bytes counts
 *    as an encrypted segment of those bytes only; when reassembly hands over
 *    several segments at once (after a hole is filled), they count as one.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "err.h"
#include "ssh.h"

/* Bytes kept from the start of each direction (banner_invalid evidence). */
/* Bytes kept of a DISCONNECT description (the reporter escapes them). */
#define SSH_DISCONNECT_DESC_MAX 1024

static int ssh_dir_is_parsing(const struct ssh_dir *d)
{
	return d->state == SSH_ST_LINES || d->state == SSH_ST_PACKETS || d->state == SSH_ST_V1 ||
	       d->state == SSH_ST_RESYNC;
}

/*
 * ssh_dir_stop leaves the parsing states. It never frees the buffer, which
 * may be what is being parsed; ssh_stream_push frees it afterwards.
 */
static void ssh_dir_stop(struct ssh_dir *d, enum ssh_state st, uint32_t anomalies)
{
	d->anomalies |= anomalies;
	d->state = st;
}

/*
 * ssh_charge takes n bytes for conn from the global memory budget before
 * they are allocated: 0, or KW_ERR_LIMIT after stopping d (memcap_reached).
 * ssh_uncharge gives them back when they are freed before the conn is.
 */
static int ssh_charge(struct ssh_conn *conn, struct ssh_dir *d, size_t n)
{
	if (budget_charge(conn->budget, n) != 0) {
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_MEMCAP);
		return KW_ERR_LIMIT;
	}
	conn->mem += n;
	return KW_OK;
}

static void ssh_uncharge(struct ssh_conn *conn, size_t n)
{
	budget_release(conn->budget, n);
	conn->mem -= n;
}

/*
 * ssh_keep takes n bytes for a fact kept as long as conn (banner, KEXINIT,
 * HASSH string, DISCONNECT text) from conn->store, whose chunks the budget
 * is charged for (flowmem.h). NULL after stopping d: memcap_reached when
 * the budget refused, else out of memory.
 */
static void *ssh_keep(struct ssh_conn *conn, struct ssh_dir *d, size_t n)
{
	void *p;

	conn->store.refused = 0;
	if ((p = flowmem_alloc(&conn->store, n)) == NULL)
		ssh_dir_stop(d, SSH_ST_STOPPED,
		             conn->store.refused ? SSH_ANOM_MEMCAP : SSH_ANOM_NOMEM);
	return p;
}

static void ssh_dir_free_buf(struct ssh_conn *conn, struct ssh_dir *d)
{
	/* Called for every push once parsing has stopped: without a buffer
	 * there is nothing to give back, and no shared counter to touch. */
	if (d->buf_cap == 0)
		return;
	ssh_uncharge(conn, d->buf_cap);
	free(d->buf);
	d->buf = NULL;
	d->buf_len = 0;
	d->buf_cap = 0;
}

/* ssh_find borrows the position of the first ch within max bytes of c. */
static int ssh_find(const struct cursor *c, size_t max, uint8_t ch, size_t *at)
{
	const uint8_t *hit;
	size_t left = cursor_left(c);

	if (max > left)
		max = left;
	if (max == 0 || (hit = memchr(cursor_ptr(c), ch, max)) == NULL)
		return 0;
	*at = (size_t)(hit - cursor_ptr(c));
	return 1;
}

/* ssh_has_prefix: the bytes at c start with the NUL-terminated s. */
static int ssh_has_prefix(const struct cursor *c, const char *s)
{
	size_t i, n = strlen(s);
	uint8_t b;

	for (i = 0; i < n; i++) {
		if (cursor_peek_u8(c, i, &b) != 0 || b != (uint8_t)s[i])
			return 0;
	}
	return 1;
}

/*
 * ssh_line_cap: the most bytes one line may take, terminator included.
 * Lines are capped by banner_max (RFC 4253 4.2 allows 255 bytes; OpenSSH
 * reads 8 KiB) and, when it is smaller, by the buffer.
 */
static uint64_t ssh_line_cap(const struct kw_limits *l)
{
	uint64_t cap = (uint64_t)l->banner_max + 2;

	if (cap > l->stream_buf)
		cap = l->stream_buf;
	return cap > 0 ? cap : 1;
}

/*
 * ssh_field borrows the bytes of c up to delim (all of them when there is
 * none) into *f and *len and moves c past them and the delimiter; returns
 * whether there was one.
 */
static int ssh_field(struct cursor *c, uint8_t delim, const uint8_t **f, size_t *len)
{
	size_t at;
	int found = ssh_find(c, cursor_left(c), delim, &at);

	*f = cursor_ptr(c);
	*len = found ? at : cursor_left(c);
	(void)cursor_skip(c, found ? at + 1 : *len);
	return found;
}

int ssh_banner_split(const uint8_t *b, size_t n, struct ssh_banner_fields *out)
{
	struct cursor c;

	memset(out, 0, sizeof(*out));
	cursor_init(&c, b, n);
	if (!ssh_has_prefix(&c, "SSH-"))
		return -1;
	(void)cursor_skip(&c, 4);
	if (!ssh_field(&c, '-', &out->proto, &out->proto_len))
		return 0;
	if (!ssh_field(&c, ' ', &out->software, &out->software_len) || cursor_left(&c) == 0)
		return 0;
	out->comments = cursor_ptr(&c);
	out->comments_len = cursor_left(&c);
	return 0;
}

/* ssh_banner_proto borrows the protoversion of an identification line that
 * has one (a '-' after it). */
static int ssh_banner_proto(const uint8_t *b, size_t n, struct cursor *ver)
{
	struct ssh_banner_fields f;

	if (ssh_banner_split(b, n, &f) != 0 || f.software == NULL)
		return 0;
	cursor_init(ver, f.proto, f.proto_len);
	return 1;
}

/* ssh_banner_is_v1: SSH-1.x other than 1.99, a peer that speaks SSH-1 only. */
static int ssh_banner_is_v1(const struct ssh_dir *d, int *compat)
{
	struct cursor ver;

	*compat = 0;
	if (d->banner == NULL || !ssh_banner_proto(d->banner, d->banner_len, &ver))
		return 0;
	/* RFC 4253 5.1: "1.99" announces SSH-2 with SSH-1 compatibility. */
	if (cursor_left(&ver) == 4 && ssh_has_prefix(&ver, "1.99")) {
		*compat = 1;
		return 0;
	}
	return ssh_has_prefix(&ver, "1.");
}

/*
 * ssh_conn_check_v1: once one side announced SSH-1 only, an SSH-1.99 peer
 * speaks SSH-1 too (RFC 4253 5.1), so neither side sends SSH-2 packets:
 * stop without an anomaly, the banners tell the story.
 */
static void ssh_conn_check_v1(struct ssh_conn *conn, int current)
{
	int i, v1 = 0, compat[2];

	for (i = 0; i < 2; i++)
		v1 |= ssh_banner_is_v1(&conn->dir[i], &compat[i]);
	if (!v1)
		return;
	for (i = 0; i < 2; i++) {
		struct ssh_dir *d = &conn->dir[i];

		if (compat[i] && d->state == SSH_ST_PACKETS && d->clear_packets == 0)
			d->state = SSH_ST_V1;
		(void)current;
	}
}

/* ssh_banner_set takes the identification line (RFC 4253 4.2). */
static void ssh_banner_set(struct ssh_conn *conn, int dir, struct cursor *line, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	struct cursor ver;
	size_t n = cursor_left(line);
	uint8_t b;
	int compat;

	if ((d->banner = ssh_keep(conn, d, n)) == NULL)
		return;
	memcpy(d->banner, cursor_ptr(line), n);
	d->banner_len = (uint32_t)n;
	d->t_banner = ts;
	/* RFC 4253 4.2: printable US-ASCII (NUL is reported on its own). */
	while (cursor_get_u8(line, &b) == 0) {
		if (b != 0 && (b < 0x20 || b >= 0x7f))
			d->anomalies |= SSH_ANOM_BANNER_CHARS;
	}
	/* RFC 4253 4.2: "SSH-protoversion-softwareversion". */
	if (!ssh_banner_proto(d->banner, n, &ver) || cursor_left(&ver) == 0)
		d->anomalies |= SSH_ANOM_BANNER_INVALID;
	d->state = SSH_ST_PACKETS;
	if (ssh_banner_is_v1(d, &compat))
		d->state = SSH_ST_V1;
	ssh_conn_check_v1(conn, dir);
}

/* ssh_prebanner_add keeps a line sent before the identification line. */
static void ssh_prebanner_add(struct ssh_conn *conn, struct ssh_dir *d, struct cursor *line)
{
	size_t n = cursor_left(line);
	uint8_t *p;

	d->lines++;
	d->pre_lines++;
	/* RFC 4253 4.2 allows such lines; OpenSSH gives up after 1024. */
	if (d->pre_lines > conn->limits->prebanner_lines) {
		ssh_dir_stop(d, SSH_ST_NOT_SSH, SSH_ANOM_PREBANNER_MANY | SSH_ANOM_BANNER_INVALID);
		return;
	}
	if ((uint64_t)d->pre_len + n + 1 > conn->limits->banner_max)
		return;
	if (ssh_charge(conn, d, n + 1) != 0)
		return;
	if ((p = realloc(d->pre, d->pre_len + n + 1)) == NULL) {
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_NOMEM);
		return;
	}
	d->pre = p;
	memcpy(d->pre + d->pre_len, cursor_ptr(line), n);
	d->pre_len += (uint32_t)n;
	d->pre[d->pre_len++] = '\n';
}

/*
 * ssh_line_prefix_is_ok: the TCP initiator must start with "SSH-" (RFC 4253
 * 4.2: only the server may send other lines first). Decided on the bytes
 * present, so any split decides alike.
 */
static int ssh_line_prefix_is_ok(const struct ssh_dir *d, int dir, const struct cursor *c)
{
	static const char id[] = "SSH-";
	size_t i;
	uint8_t b;

	if (dir != 0 || d->banner != NULL || d->lines != 0)
		return 1;
	for (i = 0; i < 4; i++) {
		if (cursor_peek_u8(c, i, &b) != 0)
			break;
		if (b != (uint8_t)id[i])
			return 0;
	}
	return 1;
}

/*
 * ssh_line_responder_gives_up: the TCP responder, still without its
 * identification line, facing an initiator whose first line was not SSH.
 * Its lines are still read, as a server may send its banner after the
 * client's other protocol text (ProFTPD's mod_sftp on an FTP port; RFC 4253
 * 4.2 lets a server send lines first), but only while they are text: 1 at
 * the first byte that is not (binary, TLS) and at an HTTP response or HTML
 * first line, so that the other protocols of a gateway cost one look at
 * their first bytes. Decided on the bytes present up to the line end, so any
 * split decides alike.
 */
static int ssh_line_responder_gives_up(const struct ssh_conn *conn, struct ssh_dir *d, int dir,
                                       const struct cursor *c)
{
	size_t i, n = cursor_left(c);
	uint64_t cap = ssh_line_cap(conn->limits);
	uint8_t b;

	if (dir != 1 || d->banner != NULL || conn->dir[0].state != SSH_ST_NOT_SSH)
		return 0;
	if (n > cap)
		n = (size_t)cap;
	if (d->lines == 0 && (ssh_has_prefix(c, "<") || ssh_has_prefix(c, "HTTP/")))
		return 1;
	/* c starts at the unfinished line: what an earlier segment brought of
	 * it was text. */
	for (i = d->line_checked < n ? d->line_checked : 0;
	     i < n && cursor_peek_u8(c, i, &b) == 0 && b != '\n'; i++) {
		if ((b < 0x20 && b != '\r' && b != '\t') || b >= 0x7f)
			return 1;
	}
	d->line_checked = (uint32_t)i;
	return 0;
}

/* ssh_line_overflow: no line end within the cap. */
static void ssh_line_overflow(struct ssh_conn *conn, struct ssh_dir *d, const struct cursor *c)
{
	if ((uint64_t)conn->limits->banner_max + 2 > conn->limits->stream_buf) {
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_BUFFER);
		return;
	}
	/* RFC 4253 4.2: 255 bytes at most; over banner_max even OpenSSH stops. */
	if (ssh_has_prefix(c, "SSH-"))
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_BANNER_LONG);
	else
		ssh_dir_stop(d, SSH_ST_NOT_SSH, SSH_ANOM_BANNER_LONG | SSH_ANOM_BANNER_INVALID);
}

/* ssh_line_next reads one line; KW_ERR_MORE leaves c where it was. */
static int ssh_line_next(struct ssh_conn *conn, int dir, struct cursor *c, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	struct cursor line;
	const uint8_t *p;
	size_t lf, n;
	uint64_t cap = ssh_line_cap(conn->limits);
	uint8_t b;

	if (!ssh_line_prefix_is_ok(d, dir, c)) {
		ssh_dir_stop(d, SSH_ST_NOT_SSH, SSH_ANOM_BANNER_INVALID);
		return KW_OK;
	}
	if (ssh_line_responder_gives_up(conn, d, dir, c)) {
		/* Another protocol's answer: counted, as when it was not fed. */
		ssh_dir_stop(d, SSH_ST_STOPPED, 0);
		return KW_OK;
	}
	if (!ssh_find(c, cap, '\n', &lf)) {
		if (cursor_left(c) < cap)
			return KW_ERR_MORE;
		ssh_line_overflow(conn, d, c);
		return KW_OK;
	}
	if (cursor_get_bytes(c, lf + 1, &p) != 0)
		return KW_ERR_BUG;
	d->line_checked = 0; /* the next line starts unchecked */
	n = lf;
	/* RFC 4253 4.2: lines end in CR LF; LF alone is accepted (OpenSSH). */
	cursor_init(&line, p, n);
	if (n > 0 && cursor_peek_u8(&line, n - 1, &b) == 0 && b == '\r')
		n--;
	else
		d->anomalies |= SSH_ANOM_BANNER_NO_CR;
	cursor_init(&line, p, n);
	if (n > conn->limits->banner_max) {
		ssh_line_overflow(conn, d, &line);
		return KW_OK;
	}
	/* RFC 4253 4.2: no NUL in the lines (OpenSSH refuses them). */
	if (ssh_find(&line, n, '\0', &lf))
		d->anomalies |= SSH_ANOM_BANNER_NUL;
	if (ssh_has_prefix(&line, "SSH-"))
		ssh_banner_set(conn, dir, &line, ts);
	else
		ssh_prebanner_add(conn, d, &line);
	return KW_OK;
}

static int ssh_role_strength(int source)
{
	switch (source) {
	case SSH_ROLE_KEX_MESSAGES:
		return 3;
	case SSH_ROLE_KEXINIT:
		return 2;
	case SSH_ROLE_ASSUMED:
		return 1;
	default:
		return 0;
	}
}

/*
 * ssh_conn_refresh recomputes what depends on the roles: each side's HASSH
 * or HASSHServer, and the negotiation once both KEXINITs are in.
 */
static void ssh_conn_refresh(struct ssh_conn *conn)
{
	struct ssh_dir *cl, *sv;
	int i, r;

	if (conn->role_source == SSH_ROLE_UNKNOWN) {
		/* Nothing told the roles yet: the TCP initiator is the client. */
		conn->client_dir = 0;
		conn->role_source = SSH_ROLE_ASSUMED;
	}
	for (i = 0; i < 2; i++) {
		struct ssh_dir *d = &conn->dir[i];

		uint8_t as = i != conn->client_dir ? 2 : 1;

		/* Hashed once per role: it changes only when the roles do. */
		if (d->kexinit == NULL || d->hassh_as == as)
			continue;
		d->hassh_str = NULL;
		d->hassh_as = 0;
		/* The HASSH string, a second copy of four name-lists: room for
		 * either role's, taken once, as roles may change. */
		if (d->hassh_room == NULL) {
			size_t cap = kex_hassh_len(d->kexinit);
			if ((d->hassh_room = ssh_keep(conn, d, cap)) == NULL)
				continue;
			d->hassh_cap = (uint32_t)cap;
		}
		if ((r = kex_hassh_into(conn->kex, d->kexinit, as == 2, d->hassh, d->hassh_room,
		                        d->hassh_cap)) != 0) {
			ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_NOMEM);
		} else {
			d->hassh_str = d->hassh_room;
			d->hassh_as = as;
		}
	}
	cl = &conn->dir[conn->client_dir];
	sv = &conn->dir[1 - conn->client_dir];
	/* A KEXINIT never changes once parsed: negotiate again only when the
	 * roles do (a stronger role source often confirms the same ones). */
	if (cl->kexinit != NULL && sv->kexinit != NULL &&
	    (!conn->negotiated_ok || conn->neg_client_dir != conn->client_dir)) {
		kex_negotiate(conn->kex, cl->kexinit, sv->kexinit, &conn->neg);
		conn->negotiated_ok = 1;
		conn->neg_client_dir = conn->client_dir;
	}
}

/* ssh_role_set records who the client is if source is stronger than what told us so far. */
static int ssh_role_set(struct ssh_conn *conn, int client_dir, int source)
{
	if (ssh_role_strength(source) <= ssh_role_strength(conn->role_source))
		return 0;
	conn->client_dir = client_dir;
	conn->role_source = source;
	return 1;
}

static void ssh_msg_kexinit(struct ssh_conn *conn, int dir, const uint8_t *p, size_t n,
                            uint32_t plen, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	struct kex_init parsed, *k;
	int r;

	/* RFC 4253 7.1: one KEXINIT per key exchange; a second is ignored. */
	if (d->kexinit != NULL) {
		d->anomalies |= SSH_ANOM_KEXINIT_REPEAT;
		return;
	}
	/* Parsed in place first: a malformed one takes no memory (kex.h).
	 * The lists' copy and the struct come from conn->store (ssh_keep). */
	conn->store.refused = 0;
	r = kex_init_parse_in(conn->kex, p, n, conn->limits->namelist_max, &conn->store, &parsed);
	if (r == KW_ERR_NOMEM) {
		ssh_dir_stop(d, SSH_ST_STOPPED,
		             conn->store.refused ? SSH_ANOM_MEMCAP : SSH_ANOM_NOMEM);
		return;
	}
	if (r != 0) {
		if (r == KW_ERR_LIMIT)
			d->anomalies |= SSH_ANOM_KEXINIT_LIMIT;
		else
			d->anomalies |= SSH_ANOM_KEXINIT;
		return;
	}
	if ((k = ssh_keep(conn, d, sizeof(*k))) == NULL)
		return;
	*k = parsed;
	k->packet_len = plen;
	d->kexinit = k;
	d->t_kexinit = ts;
	/*
	 * RFC 8308 2.1 and OpenSSH PROTOCOL 1.10: the "-c" markers are sent
	 * by the client only, the "-s" markers by the server only.
	 */
	if (k->markers & (KEX_MARK_EXT_INFO_C | KEX_MARK_STRICT_C))
		ssh_role_set(conn, dir, SSH_ROLE_KEXINIT);
	else if (k->markers & (KEX_MARK_EXT_INFO_S | KEX_MARK_STRICT_S))
		ssh_role_set(conn, 1 - dir, SSH_ROLE_KEXINIT);
	ssh_conn_refresh(conn);
}

/* ssh_hostkey_take reads string K_S (RFC 4253 8, RFC 5656 4, RFC 4419 3). */
static int ssh_hostkey_take(struct ssh_conn *conn, struct ssh_dir *d, struct cursor *mc,
                            uint8_t msg)
{
	struct kex_hostkey key;
	const uint8_t *blob;
	uint32_t n;
	int r;

	if (cursor_get_string(mc, UINT32_MAX, &blob, &n) != 0)
		return KW_ERR_MALFORMED;
	if ((r = kex_hostkey_parse(conn->kex, blob, n, &key)) != 0) {
		if (r == KW_ERR_NOMEM)
			ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_NOMEM);
		return r;
	}
	if (!conn->hostkey.present) {
		conn->hostkey.present = 1;
		conn->hostkey.from_msg = msg;
		conn->hostkey.key = key;
	}
	return KW_OK;
}

/* ssh_gex_group reads SSH_MSG_KEX_DH_GEX_GROUP: mpint p, mpint g (RFC 4419 3). */
static int ssh_gex_group(struct ssh_conn *conn, struct cursor *mc)
{
	const uint8_t *p, *g;
	uint32_t pn, gn;
	int r;

	if ((r = cursor_get_string(mc, UINT32_MAX, &p, &pn)) != 0 ||
	    (r = cursor_get_string(mc, UINT32_MAX, &g, &gn)) != 0)
		return KW_ERR_MALFORMED;
	conn->gex.present = 1;
	if (conn->gex.p_bits == 0)
		conn->gex.p_bits = kex_mpint_bits(p, pn);
	return KW_OK;
}

static void ssh_kexmsg_len(struct ssh_dir *d, uint32_t plen)
{
	if (d->kexmsg_len == 0)
		d->kexmsg_len = plen;
}

/*
 * ssh_msg_kex handles messages 30..34. Their meaning depends on the
 * negotiated method: RFC 4253 8 and RFC 5656 4 (30 init, 31 reply with
 * K_S), RFC 4419 3 (34 request, 30 request-old, 31 group, 32 init, 33 reply
 * with K_S); the hybrid PQ methods use 30/31 like ECDH.
 */
static void ssh_msg_kex(struct ssh_conn *conn, int dir, uint8_t msg, struct cursor *mc,
                        uint32_t plen, uint8_t prev, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	const char *kex = NULL;
	uint32_t u32;
	int cdir, gex, r = KW_OK;

	d->kexmsg_mask |= 1u << (msg - SSH_MSG_KEX_30);
	if (d->t_kexmsg == 0)
		d->t_kexmsg = ts;
	/* 30, 32 and 34 are sent by the client, 31 and 33 by the server. */
	cdir = (msg == SSH_MSG_KEX_31 || msg == SSH_MSG_KEX_DH_GEX_REPLY) ? 1 - dir : dir;
	if (conn->role_source == SSH_ROLE_KEX_MESSAGES && conn->client_dir != cdir) {
		/* Both sides sent client (or server) messages: not SSH as we know it. */
		d->anomalies |= SSH_ANOM_UNEXPECTED_MSG;
		return;
	}
	if (ssh_role_set(conn, cdir, SSH_ROLE_KEX_MESSAGES))
		ssh_conn_refresh(conn);
	/*
	 * RFC 4253 7: when the client's first_kex_packet_follows guess was
	 * wrong, the packet right after its KEXINIT is silently ignored.
	 */
	if (prev == SSH_MSG_KEXINIT && dir == conn->client_dir && conn->negotiated_ok &&
	    conn->neg.guess_wrong)
		return;
	if (conn->negotiated_ok && conn->neg.alg[KEX_CAT_KEX][0] != '\0')
		kex = conn->neg.alg[KEX_CAT_KEX];
	gex = kex == NULL ? -1 : kex_is_gex(kex);

	switch (msg) {
	case SSH_MSG_KEX_30:
		/* RFC 4419 3: GEX_REQUEST_OLD is uint32 n alone. */
		if (gex == 1 || (gex == -1 && cursor_left(mc) == 4)) {
			if ((r = cursor_get_u32(mc, &u32)) == 0) {
				conn->gex.present = 1;
				conn->gex.n = u32;
			}
		} else {
			ssh_kexmsg_len(d, plen);
		}
		break;
	case SSH_MSG_KEX_31:
		if (gex == 1) {
			r = ssh_gex_group(conn, mc);
		} else if (gex == 0) {
			ssh_kexmsg_len(d, plen);
			r = ssh_hostkey_take(conn, d, mc, msg);
		} else {
			/* Method unknown: a reply if K_S parses as a key, else a group. */
			struct cursor probe = *mc;

			if (ssh_hostkey_take(conn, d, &probe, msg) == 0)
				ssh_kexmsg_len(d, plen);
			else
				r = ssh_gex_group(conn, mc);
		}
		break;
	case SSH_MSG_KEX_DH_GEX_INIT:
		ssh_kexmsg_len(d, plen);
		break;
	case SSH_MSG_KEX_DH_GEX_REPLY:
		if (gex != 0) {
			ssh_kexmsg_len(d, plen);
			r = ssh_hostkey_take(conn, d, mc, msg);
		}
		break;
	case SSH_MSG_KEX_DH_GEX_REQUEST:
		/* RFC 4419 3: uint32 min, n, max. */
		if (gex != 0) {
			uint32_t min, n, max;

			if ((r = cursor_get_u32(mc, &min)) == 0 &&
			    (r = cursor_get_u32(mc, &n)) == 0 &&
			    (r = cursor_get_u32(mc, &max)) == 0) {
				conn->gex.present = 1;
				conn->gex.min = min;
				conn->gex.n = n;
				conn->gex.max = max;
			}
		}
		break;
	default:
		break;
	}
	if (r != KW_OK && r != KW_ERR_NOMEM)
		d->anomalies |= SSH_ANOM_KEX_MSG;
}

/* ssh_msg_disconnect: uint32 reason, string description, string language (RFC 4253 11.1). */
static void ssh_msg_disconnect(struct ssh_conn *conn, struct ssh_dir *d, struct cursor *mc)
{
	const uint8_t *desc, *lang;
	uint32_t reason, dn, ln;
	size_t keep;

	if (d->disconnect_seen)
		return;
	d->disconnect_seen = 1;
	if (cursor_get_u32(mc, &reason) != 0) {
		d->anomalies |= SSH_ANOM_MSG_MALFORMED;
		return;
	}
	d->disconnect_reason = reason;
	if (cursor_get_string(mc, UINT32_MAX, &desc, &dn) != 0) {
		d->anomalies |= SSH_ANOM_MSG_MALFORMED;
		return;
	}
	keep = dn < SSH_DISCONNECT_DESC_MAX ? dn : SSH_DISCONNECT_DESC_MAX;
	if ((d->disconnect_desc = ssh_keep(conn, d, keep)) == NULL)
		return;
	memcpy(d->disconnect_desc, desc, keep);
	d->disconnect_desc_len = (uint32_t)keep;
	if (cursor_get_string(mc, UINT32_MAX, &lang, &ln) != 0)
		d->anomalies |= SSH_ANOM_MSG_MALFORMED;
}

/* Cipher block sizes and MAC lengths (RFC 4253 6.3, 6.4; RFC 4344; RFC 6668;
 * OpenSSH cipher.c and mac.c). */
struct ssh_alg_size {
	const char *name;
	uint8_t size;
};

static const struct ssh_alg_size ssh_cipher_blocks[] = {
    {"aes128-ctr", 16},
    {"aes192-ctr", 16},
    {"aes256-ctr", 16},
    {"aes128-cbc", 16},
    {"aes192-cbc", 16},
    {"aes256-cbc", 16},
    {"rijndael-cbc@lysator.liu.se", 16},
    {"aes128-gcm@openssh.com", 16},
    {"aes256-gcm@openssh.com", 16},
    {"chacha20-poly1305@openssh.com", 8},
    {"3des-cbc", 8},
    {"3des-ctr", 8},
    {"blowfish-cbc", 8},
    {"blowfish-ctr", 8},
    {"cast128-cbc", 8},
    {"arcfour", 8},
    {"arcfour128", 8},
    {"arcfour256", 8},
    {"twofish-cbc", 16},
    {"twofish128-cbc", 16},
    {"twofish256-cbc", 16},
    {"serpent128-cbc", 16},
    {"serpent256-cbc", 16},
    {"none", 8},
};

static const struct ssh_alg_size ssh_mac_lengths[] = {
    {"hmac-sha1", 20},
    {"hmac-sha1-96", 12},
    {"hmac-sha2-256", 32},
    {"hmac-sha2-512", 64},
    {"hmac-md5", 16},
    {"hmac-md5-96", 12},
    {"hmac-ripemd160", 20},
    {"hmac-ripemd160@openssh.com", 20},
    {"umac-64@openssh.com", 8},
    {"umac-128@openssh.com", 16},
    {"hmac-sha1-etm@openssh.com", 20},
    {"hmac-sha1-96-etm@openssh.com", 12},
    {"hmac-sha2-256-etm@openssh.com", 32},
    {"hmac-sha2-512-etm@openssh.com", 64},
    {"hmac-md5-etm@openssh.com", 16},
    {"hmac-md5-96-etm@openssh.com", 12},
    {"hmac-ripemd160-etm@openssh.com", 20},
    {"umac-64-etm@openssh.com", 8},
    {"umac-128-etm@openssh.com", 16},
    {"none", 0},
};

static int ssh_alg_size(const struct ssh_alg_size *t, size_t n, const char *name, uint8_t *size)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(t[i].name, name) == 0) {
			*size = t[i].size;
			return 1;
		}
	}
	return 0;
}

static int ssh_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * ssh_enc_params fills the packet layout of a direction from its cipher, MAC
 * and compression names: AES-GCM (RFC 5647, OpenSSH PROTOCOL 1.6) and
 * chacha20-poly1305 (PROTOCOL.chacha20poly1305) carry a 16-byte tag and
 * ignore the MAC; an *-etm@openssh.com MAC (PROTOCOL 1.5) leaves
 * packet_length in clear and MACs the ciphertext; any other MAC follows the
 * packet (RFC 4253 6.4). Only chacha20 encrypts packet_length among the
 * ciphers that leave it outside the padded part.
 */
static void ssh_enc_params(struct ssh_enc *e, const char *cipher, const char *mac, const char *comp)
{
	uint8_t block, tag;

	if (strcmp(comp, "none") == 0)
		e->comp = SSH_COMP_NONE;
	else if (strcmp(comp, "zlib@openssh.com") == 0)
		e->comp = SSH_COMP_DELAYED;
	else if (strcmp(comp, "zlib") == 0)
		e->comp = SSH_COMP_ZLIB;
	else
		e->comp = SSH_COMP_UNKNOWN;
	if (!ssh_alg_size(ssh_cipher_blocks,
	                  sizeof(ssh_cipher_blocks) / sizeof(ssh_cipher_blocks[0]), cipher, &block))
		return;
	if (kex_cipher_is_aead(cipher)) {
		e->aad = 4;
		e->tag = 16;
		e->framed = strcmp(cipher, "chacha20-poly1305@openssh.com") != 0;
	} else {
		if (!ssh_alg_size(ssh_mac_lengths,
		                  sizeof(ssh_mac_lengths) / sizeof(ssh_mac_lengths[0]), mac, &tag))
			return;
		e->tag = tag;
		if (ssh_has_suffix(mac, "-etm@openssh.com"))
			e->aad = 4;
		/* EtM sends packet_length in clear; cipher "none" sends all of it. */
		e->framed = e->aad == 4 || strcmp(cipher, "none") == 0;
	}
	e->block = block;
	e->known = 1;
}

/* ssh_enc_start sets up a direction that just sent NEWKEYS (RFC 4253 7.3). */
static void ssh_enc_start(struct ssh_conn *conn, int dir)
{
	struct ssh_enc *e = &conn->dir[dir].enc;
	int c2s;

	memset(e, 0, sizeof(*e));
	e->block = 8;
	e->comp = SSH_COMP_UNKNOWN;
	e->kind = SSH_ENC_SEGMENTS;
	if (!conn->negotiated_ok || conn->client_dir < 0)
		return;
	c2s = dir == conn->client_dir;
	ssh_enc_params(e, conn->neg.alg[c2s ? KEX_CAT_ENC_C2S : KEX_CAT_ENC_S2C],
	               conn->neg.alg[c2s ? KEX_CAT_MAC_C2S : KEX_CAT_MAC_S2C],
	               conn->neg.alg[c2s ? KEX_CAT_COMP_C2S : KEX_CAT_COMP_S2C]);
	if (e->framed) {
		e->kind = SSH_ENC_PACKETS;
		e->framing = 1;
	}
}

uint32_t ssh_enc_packet_len(const struct ssh_enc *e, uint32_t n)
{
	/* RFC 4253 6: padding_length byte, payload, at least 4 bytes of padding,
	 * up to a multiple of the block (the length field counts unless aad). */
	uint64_t len = (uint64_t)4 - e->aad + 1 + n + 4;

	if (!e->known || e->block == 0)
		return 0;
	len = (len + e->block - 1) / e->block * e->block;
	len -= (uint64_t)4 - e->aad;
	return len > UINT32_MAX ? 0 : (uint32_t)len;
}

static void ssh_enc_unit(struct ssh_dir *d, uint32_t len, uint64_t ts)
{
	struct ssh_enc *e = &d->enc;
	uint64_t dt = ts > d->t_newkeys ? ts - d->t_newkeys : 0;

	if (e->nunits >= SSH_ENC_UNITS)
		return;
	e->unit_len[e->nunits] = len;
	e->unit_dt[e->nunits] = dt > UINT32_MAX ? UINT32_MAX : (uint32_t)dt;
	e->nunits++;
}

/* ssh_enc_segment counts one TCP segment's n encrypted bytes (its size is
 * kept when the direction is not framed). */
static void ssh_enc_segment(struct ssh_dir *d, size_t n, uint64_t ts)
{
	struct ssh_enc *e = &d->enc;

	if (e->segments > 0 && ts >= e->t_last && ts - e->t_last >= SSH_ENC_PACE_US)
		e->paced++;
	e->segments++;
	e->t_last = ts;
	if (n <= SSH_ENC_SMALL)
		e->small++;
	if (e->kind == SSH_ENC_SEGMENTS)
		ssh_enc_unit(d, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n, ts);
}

/*
 * ssh_enc_frame cuts n encrypted bytes into packets: uint32 packet_length
 * (in clear), packet_length bytes, tag bytes. Keeps at most 4 bytes between
 * calls, so any split gives the same packets. Stops after SSH_ENC_UNITS
 * packets, or at a length that cannot be one (the framing is wrong: the
 * peer is not speaking what was negotiated, or bytes were lost).
 */
static void ssh_enc_frame(struct ssh_conn *conn, struct ssh_dir *d, const uint8_t *p, size_t n,
                          uint64_t ts)
{
	struct ssh_enc *e = &d->enc;
	struct cursor c, h;
	uint32_t plen;
	size_t k;

	cursor_init(&c, p, n);
	while (e->framing && cursor_left(&c) > 0) {
		if (e->need > 0) {
			k = cursor_left(&c) < e->need ? cursor_left(&c) : e->need;
			(void)cursor_skip(&c, k);
			e->need -= (uint32_t)k;
			if (e->need == 0 && e->packets >= SSH_ENC_UNITS)
				e->framing = 0; /* enough: count from here on */
			continue;
		}
		while (e->hdr_len < 4 && cursor_get_u8(&c, &e->hdr[e->hdr_len]) == 0)
			e->hdr_len++;
		if (e->hdr_len < 4)
			break;
		e->hdr_len = 0;
		cursor_init(&h, e->hdr, 4);
		(void)cursor_get_u32(&h, &plen);
		/* RFC 4253 6: the padded part is a multiple of the block size
		 * (with the length field unless it is outside: EtM, AEAD), at
		 * least one block; 6.1: at most what the implementation takes.
		 * Nothing is buffered here, so a max_packet lowered to save
		 * memory does not apply below what implementations send. */
		if (plen < e->block ||
		    plen > (conn->limits->max_packet > SSH_PACKET_MAX_PROTO
		                ? conn->limits->max_packet
		                : SSH_PACKET_MAX_PROTO) ||
		    ((uint64_t)plen + 4 - e->aad) % e->block != 0) {
			e->framing = 0;
			e->sync_lost = 1;
			d->anomalies |= SSH_ANOM_ENC_LENGTH;
			break;
		}
		e->packets++;
		ssh_enc_unit(d, plen, ts);
		e->need = plen + e->tag;
	}
}

static void ssh_msg_dispatch(struct ssh_conn *conn, int dir, const uint8_t *p, size_t n,
                             uint32_t plen, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	struct cursor mc;
	uint8_t msg, prev;

	cursor_init(&mc, p, n);
	if (cursor_get_u8(&mc, &msg) != 0)
		return;
	prev = d->last_msg;
	d->last_msg = msg;
	switch (msg) {
	case SSH_MSG_DISCONNECT:
		ssh_msg_disconnect(conn, d, &mc);
		break;
	case SSH_MSG_IGNORE:
	case SSH_MSG_UNIMPLEMENTED:
	case SSH_MSG_DEBUG:
	case SSH_MSG_EXT_INFO:
		/* RFC 4253 11.2-11.4, RFC 8308 2.3: allowed at any time. */
		break;
	case SSH_MSG_KEXINIT:
		ssh_msg_kexinit(conn, dir, p, n, plen, ts);
		break;
	case SSH_MSG_NEWKEYS:
		/* RFC 4253 7.3: everything after NEWKEYS uses the new keys. */
		d->t_newkeys = ts;
		ssh_dir_stop(d, SSH_ST_ENCRYPTED, 0);
		ssh_enc_start(conn, dir);
		break;
	case SSH_MSG_KEX_30:
	case SSH_MSG_KEX_31:
	case SSH_MSG_KEX_DH_GEX_INIT:
	case SSH_MSG_KEX_DH_GEX_REPLY:
	case SSH_MSG_KEX_DH_GEX_REQUEST:
		ssh_msg_kex(conn, dir, msg, &mc, plen, prev, ts);
		break;
	default:
		/* RFC 4253 7.1: only transport messages before NEWKEYS. */
		d->anomalies |= SSH_ANOM_UNEXPECTED_MSG;
		break;
	}
}

/* ssh_packet_next reads one binary packet (RFC 4253 6); KW_ERR_MORE leaves c. */
static int ssh_packet_next(struct ssh_conn *conn, int dir, struct cursor *c, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	struct cursor pc;
	const uint8_t *body, *payload;
	size_t start = c->off;
	uint32_t plen;
	uint8_t pad;
	int r;

	if ((r = cursor_get_u32(c, &plen)) != 0)
		return r;
	/*
	 * RFC 4253 6: padding_length byte plus at least 4 bytes of padding;
	 * RFC 4253 6.1: a maximum the implementation chooses (max_packet).
	 * Judged before the body arrives, so a lost sync stops at once.
	 */
	if (plen < 5 || plen > conn->limits->max_packet) {
		ssh_dir_stop(d, SSH_ST_STOPPED,
		             plen >= 5 && plen <= SSH_PACKET_MAX_PROTO ? SSH_ANOM_PACKET_LIMIT
		                                                       : SSH_ANOM_PACKET_LENGTH);
		return KW_OK;
	}
	if ((uint64_t)plen + 4 > conn->limits->stream_buf) {
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_BUFFER);
		return KW_OK;
	}
	if ((r = cursor_get_bytes(c, plen, &body)) != 0) {
		c->off = start;
		return r;
	}
	d->clear_packets++;
	cursor_init(&pc, body, plen);
	if ((r = cursor_get_u8(&pc, &pad)) != 0)
		return KW_ERR_BUG;
	/* RFC 4253 6: random padding is at least four bytes. */
	if (pad < 4)
		d->anomalies |= SSH_ANOM_PADDING;
	/* RFC 4253 6: padding inside the packet, leaving a message number. */
	if (pad >= plen - 1) {
		d->anomalies |= SSH_ANOM_PADDING;
		return KW_OK;
	}
	if ((r = cursor_get_bytes(&pc, plen - 1 - pad, &payload)) != 0)
		return KW_ERR_BUG;
	ssh_msg_dispatch(conn, dir, payload, plen - 1 - pad, plen, ts);
	return KW_OK;
}

/* SSH-1 binary packet: uint32 length, 8 - length % 8 bytes of padding, then
 * type, data and a CRC-32, which the length counts (SSH 1.5 protocol draft,
 * "The Binary Packet Protocol"). */
#define SSH1_SMSG_PUBLIC_KEY 2
#define SSH1_CMSG_SESSION_KEY 3

static uint64_t ssh_v1_total(uint32_t plen)
{
	return 4 + (uint64_t)(8 - plen % 8) + plen;
}

/* ssh_v1_mpint reads an SSH-1 multiple-precision integer: uint16 bits, then bytes. */
static int ssh_v1_mpint(struct cursor *c, const uint8_t **p, size_t *n)
{
	uint16_t bits;
	int r;

	if ((r = cursor_get_u16(c, &bits)) != 0)
		return r;
	*n = ((size_t)bits + 7) / 8;
	return cursor_get_bytes(c, *n, p);
}

/* SMSG_PUBLIC_KEY: cookie, server key (bits, e, n), host key (bits, e, n), flags. */
static void ssh_v1_public_key(struct ssh_conn *conn, int dir, struct cursor *m)
{
	const uint8_t *se, *sn, *he, *hn;
	size_t sel, snl, hel, hnl;
	uint32_t bits;
	struct kex_hostkey key;

	if (cursor_skip(m, 8) != 0 || cursor_get_u32(m, &bits) != 0 ||
	    ssh_v1_mpint(m, &se, &sel) != 0 || ssh_v1_mpint(m, &sn, &snl) != 0 ||
	    cursor_get_u32(m, &bits) != 0 || ssh_v1_mpint(m, &he, &hel) != 0 ||
	    ssh_v1_mpint(m, &hn, &hnl) != 0) {
		conn->dir[dir].anomalies |= SSH_ANOM_KEX_MSG;
		return;
	}
	if (kex_hostkey_v1(conn->kex, he, hel, hn, hnl, &key) == 0 && !conn->hostkey.present) {
		conn->hostkey.present = 1;
		conn->hostkey.from_msg = SSH1_SMSG_PUBLIC_KEY;
		conn->hostkey.key = key;
	}
}

/* ssh_v1_packet_next reads one SSH-1 packet; the direction then only counts. */
static int ssh_v1_packet_next(struct ssh_conn *conn, int dir, struct cursor *c, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	size_t start = c->off;
	const uint8_t *body;
	struct cursor m;
	uint32_t plen;
	uint8_t type;
	int r;

	if ((r = cursor_get_u32(c, &plen)) != 0)
		return r;
	if (plen < 5 || plen > conn->limits->max_packet) {
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_PACKET_LENGTH);
		return KW_OK;
	}
	if ((r = cursor_skip(c, 8 - plen % 8)) != 0 ||
	    (r = cursor_get_bytes(c, plen, &body)) != 0) {
		c->off = start;
		return r;
	}
	d->clear_packets++;
	cursor_init(&m, body, plen - 4); /* the CRC-32 is not checked */
	if (cursor_get_u8(&m, &type) == 0) {
		d->last_msg = type;
		if (type == SSH1_SMSG_PUBLIC_KEY) {
			ssh_role_set(conn, 1 - dir, SSH_ROLE_KEX_MESSAGES);
			d->t_kexmsg = ts;
			ssh_v1_public_key(conn, dir, &m);
		} else if (type == SSH1_CMSG_SESSION_KEY) {
			ssh_role_set(conn, dir, SSH_ROLE_KEX_MESSAGES);
			d->t_kexmsg = ts;
		}
	}
	ssh_dir_stop(d, SSH_ST_STOPPED, 0);
	return KW_OK;
}

/* ssh_dir_parse reads whole records from c until it needs more or stops parsing. */
static void ssh_dir_parse(struct ssh_conn *conn, int dir, struct cursor *c, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	int r;

	while (ssh_dir_is_parsing(d) && cursor_left(c) > 0) {
		if (d->state == SSH_ST_LINES)
			r = ssh_line_next(conn, dir, c, ts);
		else if (d->state == SSH_ST_V1)
			r = ssh_v1_packet_next(conn, dir, c, ts);
		else
			r = ssh_packet_next(conn, dir, c, ts);
		if (r == KW_ERR_MORE)
			break;
		if (r != KW_OK) {
			/* Our bug, not the peer's: stop rather than loop. */
			ssh_dir_stop(d, SSH_ST_STOPPED, 0);
			break;
		}
	}
}

/*
 * ssh_resync_header judges the 6 bytes at c as the start of a clear-text
 * binary packet (RFC 4253 section 6): packet_length a multiple of 8 less 4
 * and at most max_packet, padding_length at least 4 and inside the packet,
 * a message number sent before NEWKEYS (RFC 4253 sections 7, 8 and 11, RFC
 * 4419 section 3), and NEWKEYS with no payload beyond its number. 1 when
 * plausible, 0 when not, -1 when fewer than 6 bytes are there.
 */
static int ssh_resync_header(const struct ssh_conn *conn, const struct cursor *c, uint32_t *plen,
                             uint8_t *msg)
{
	struct cursor h = *c;
	uint8_t pad;

	if (cursor_get_u32(&h, plen) != 0 || cursor_get_u8(&h, &pad) != 0 ||
	    cursor_get_u8(&h, msg) != 0)
		return -1;
	if (*plen < 12 || *plen > conn->limits->max_packet || (*plen + 4) % 8 != 0 || pad < 4 ||
	    pad > *plen - 2)
		return 0;
	switch (*msg) {
	case SSH_MSG_NEWKEYS:
		return *plen - 1 - pad == 1;
	case SSH_MSG_DISCONNECT:
	case SSH_MSG_IGNORE:
	case SSH_MSG_UNIMPLEMENTED:
	case SSH_MSG_DEBUG:
	case SSH_MSG_KEXINIT:
	case SSH_MSG_KEX_30:
	case SSH_MSG_KEX_31:
	case SSH_MSG_KEX_DH_GEX_INIT:
	case SSH_MSG_KEX_DH_GEX_REPLY:
	case SSH_MSG_KEX_DH_GEX_REQUEST:
		return 1;
	default:
		return 0;
	}
}

/*
 * ssh_resync_body: the payload of a candidate first packet has its message's
 * shape: a KEXINIT's cookie, ten name-lists, a boolean and a reserved
 * uint32 end exactly at the padding (RFC 4253 section 7.1); a DISCONNECT
 * holds its reason and two strings (section 11.1); a key-exchange message
 * at least one uint32. Other messages do not start a resynchronisation.
 */
static int ssh_resync_body(struct cursor *pkt, uint8_t msg)
{
	uint32_t plen, len;
	uint8_t pad;
	struct cursor m;
	const uint8_t *body;

	if (cursor_get_u32(pkt, &plen) != 0 || cursor_get_bytes(pkt, plen, &body) != 0)
		return 0;
	cursor_init(&m, body, plen);
	if (cursor_get_u8(&m, &pad) != 0)
		return 0;
	cursor_init(&m, body + 1, plen - 1 - pad);
	if (cursor_skip(&m, 1) != 0)
		return 0;
	switch (msg) {
	case SSH_MSG_KEXINIT:
		if (cursor_skip(&m, 16) != 0)
			return 0;
		for (int i = 0; i < 10; i++)
			if (cursor_get_u32(&m, &len) != 0 || cursor_skip(&m, len) != 0)
				return 0;
		return cursor_skip(&m, 5) == 0 && cursor_left(&m) == 0;
	case SSH_MSG_DISCONNECT:
		return cursor_skip(&m, 4) == 0 && cursor_get_u32(&m, &len) == 0 &&
		       cursor_skip(&m, len) == 0 && cursor_get_u32(&m, &len) == 0 &&
		       cursor_skip(&m, len) == 0;
	case SSH_MSG_NEWKEYS:
		return 1;
	case SSH_MSG_KEX_30:
	case SSH_MSG_KEX_31:
	case SSH_MSG_KEX_DH_GEX_INIT:
	case SSH_MSG_KEX_DH_GEX_REPLY:
	case SSH_MSG_KEX_DH_GEX_REQUEST:
		return cursor_left(&m) >= 4;
	default:
		return 0;
	}
}

/*
 * ssh_resync_scan looks in a mid-stream direction's buffer for a packet that
 * is plausible as a whole (header and body) and is followed by a plausible
 * packet header: two in a row, so that bytes of encrypted data that look
 * like one packet start nothing. Found, it drops the bytes before it and
 * parses from there; otherwise it remembers how far it ruled offsets out.
 * Returns the bytes found behind a NEWKEYS (framed and counted here).
 */
static size_t ssh_resync_scan(struct ssh_conn *conn, int dir, uint64_t ts)
{
	struct ssh_dir *d = &conn->dir[dir];
	struct cursor c, at, next;
	uint32_t plen, plen2;
	uint8_t msg, msg2;
	size_t i, behind = 0;
	int r;

	cursor_init(&c, d->buf, d->buf_len);
	for (i = d->resync_at; i < d->buf_len; i++) {
		cursor_init(&at, d->buf + i, d->buf_len - i);
		if ((r = ssh_resync_header(conn, &at, &plen, &msg)) < 0)
			break; /* wait for the header */
		if (r == 0)
			continue;
		if ((uint64_t)plen + 4 + 6 > SSH_RESYNC_MAX - i)
			continue; /* could never be confirmed within the window */
		next = at;
		if (cursor_skip(&next, (size_t)plen + 4) != 0 ||
		    (r = ssh_resync_header(conn, &next, &plen2, &msg2)) < 0)
			break; /* wait for the packet and the next header */
		if (r == 0 || !ssh_resync_body(&at, msg))
			continue;
		/* Found: parse from i, as if the stream had begun there. */
		memmove(d->buf, d->buf + i, d->buf_len - i);
		d->buf_len -= (uint32_t)i;
		d->state = SSH_ST_PACKETS;
		cursor_init(&c, d->buf, d->buf_len);
		ssh_dir_parse(conn, dir, &c, ts);
		/* RFC 4253 7.3: the bytes behind NEWKEYS are encrypted; frame
		 * and count them as ssh_stream_push does its own (which counts
		 * the segment they came in). */
		if (d->state == SSH_ST_ENCRYPTED && c.off < d->buf_len) {
			behind = d->buf_len - c.off;
			d->enc_bytes += behind;
			if (d->enc.framing)
				ssh_enc_frame(conn, d, d->buf + c.off, behind, ts);
		}
		if (ssh_dir_is_parsing(d) && c.off < d->buf_len) {
			memmove(d->buf, d->buf + c.off, d->buf_len - c.off);
			d->buf_len -= (uint32_t)c.off;
		} else {
			d->buf_len = 0;
		}
		return behind;
	}
	d->resync_at = (uint32_t)i;
	return 0;
}

/* ssh_is_text_line: p opens with printable ASCII ended by LF within max bytes. */
static int ssh_is_text_line(const uint8_t *p, size_t n, uint32_t max)
{
	struct cursor c;
	uint8_t b;

	cursor_init(&c, p, n);
	for (size_t i = 0; i <= max && cursor_peek_u8(&c, i, &b) == 0; i++) {
		if (b == '\n')
			return i > 0;
		if ((b < 0x20 || b > 0x7e) && b != '\r' && b != '\t')
			return 0;
	}
	return 0;
}

/* ssh_dir_keep appends n bytes of an unfinished record to the buffer. */
static int ssh_dir_keep(struct ssh_conn *conn, struct ssh_dir *d, const uint8_t *p, size_t n)
{
	uint64_t need = (uint64_t)d->buf_len + n;
	uint32_t cap;
	uint8_t *nb;

	if (need > conn->limits->stream_buf) {
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_BUFFER);
		return KW_ERR_LIMIT;
	}
	if (need > d->buf_cap) {
		cap = d->buf_cap > 0 ? d->buf_cap : 256;
		while (cap < need && cap < conn->limits->stream_buf)
			cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
		if (cap > conn->limits->stream_buf)
			cap = conn->limits->stream_buf;
		if (cap < need)
			cap = (uint32_t)need;
		if (ssh_charge(conn, d, cap - d->buf_cap) != 0)
			return KW_ERR_LIMIT;
		if ((nb = realloc(d->buf, cap)) == NULL) {
			ssh_uncharge(conn, cap - d->buf_cap);
			ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_NOMEM);
			return KW_ERR_NOMEM;
		}
		d->buf = nb;
		d->buf_cap = cap;
	}
	memcpy(d->buf + d->buf_len, p, n);
	d->buf_len += (uint32_t)n;
	return KW_OK;
}

/*
 * ssh_dir_need: how many of the n new bytes belong to the buffered
 * unfinished record, and whether they finish it (or the part of it the
 * parser must judge at once: a packet's length, a line at its cap).
 */
static size_t ssh_dir_need(struct ssh_conn *conn, struct ssh_dir *d, const uint8_t *p, size_t n,
                           int *complete)
{
	struct cursor c;
	uint64_t cap, room, total;
	size_t lf, take;
	uint32_t plen;

	*complete = 0;
	cursor_init(&c, p, n);
	if (d->state == SSH_ST_LINES) {
		cap = ssh_line_cap(conn->limits);
		room = cap > d->buf_len ? cap - d->buf_len : 0;
		if (ssh_find(&c, room, '\n', &lf)) {
			*complete = 1;
			return lf + 1;
		}
		take = n < room ? n : (size_t)room;
		*complete = (uint64_t)d->buf_len + take >= cap;
		return take;
	}
	if (d->buf_len < 4) {
		take = n < 4 - d->buf_len ? n : 4 - d->buf_len;
		*complete = d->buf_len + take == 4;
		return take;
	}
	cursor_init(&c, d->buf, d->buf_len);
	if (cursor_get_u32(&c, &plen) != 0)
		return 0;
	total = d->state == SSH_ST_V1 ? ssh_v1_total(plen) : (uint64_t)plen + 4;
	room = total > d->buf_len ? total - d->buf_len : 0;
	take = n < room ? n : (size_t)room;
	*complete = (uint64_t)d->buf_len + take >= total;
	return take;
}

int ssh_stream_push(struct ssh_conn *conn, int dir, const uint8_t *p, size_t n, uint64_t ts_us)
{
	struct ssh_dir *d;
	struct cursor c;
	size_t take, keep;
	int complete, was_parsing;
	size_t behind = 0; /* encrypted bytes a resynchronisation found behind NEWKEYS */

	if (conn == NULL || conn->limits == NULL || dir < 0 || dir > 1 || (p == NULL && n > 0))
		return KW_ERR_BUG;
	if (n == 0)
		return KW_OK;
	d = &conn->dir[dir];
	was_parsing = ssh_dir_is_parsing(d);
	if (d->t_first == 0)
		d->t_first = ts_us;
	d->bytes += n;
	if (d->first_len < SSH_FIRST_BYTES) {
		/* Part of struct ssh_dir, so charged with the flow's state. */
		d->first_bytes = d->first_store;
		keep = SSH_FIRST_BYTES - d->first_len;
		keep = n < keep ? n : keep;
		memcpy(d->first_bytes + d->first_len, p, keep);
		d->first_len += (uint32_t)keep;
	}
	/* The responder's first bytes a text line: lines a server sends before its
	 * banner (RFC 4253 4.2), read as lines, not searched for packets. */
	if (d->state == SSH_ST_RESYNC && dir == 1 && d->buf_len == 0 && d->bytes == n &&
	    ssh_is_text_line(p, n, conn->limits->banner_max))
		d->state = SSH_ST_LINES;
	while (n > 0 && d->state == SSH_ST_RESYNC) {
		/* Mid-stream: gather bytes until the framing shows, within the window. */
		take = SSH_RESYNC_MAX - d->buf_len < n ? SSH_RESYNC_MAX - d->buf_len : n;
		if (take == 0 || ssh_dir_keep(conn, d, p, take) != 0) {
			ssh_dir_stop(d, SSH_ST_STOPPED, 0);
			break;
		}
		p += take;
		n -= take;
		behind += ssh_resync_scan(conn, dir, ts_us);
	}
	while (n > 0 && ssh_dir_is_parsing(d)) {
		if (d->buf_len == 0) {
			/* Nothing pending: parse the caller's bytes in place. */
			cursor_init(&c, p, n);
			ssh_dir_parse(conn, dir, &c, ts_us);
			p += c.off;
			n -= c.off;
			if (n > 0 && ssh_dir_is_parsing(d) && ssh_dir_keep(conn, d, p, n) == 0)
				n = 0;
			break;
		}
		/* Finish the pending record first, copying only its bytes. */
		take = ssh_dir_need(conn, d, p, n, &complete);
		if (take == 0) {
			ssh_dir_stop(d, SSH_ST_STOPPED, 0);
			break;
		}
		if (ssh_dir_keep(conn, d, p, take) != 0)
			break;
		p += take;
		n -= take;
		cursor_init(&c, d->buf, d->buf_len);
		if (complete) {
			ssh_dir_parse(conn, dir, &c, ts_us);
			if (c.off == d->buf_len)
				d->buf_len = 0;
		} else if (d->state == SSH_ST_LINES && !ssh_line_prefix_is_ok(d, dir, &c)) {
			ssh_dir_stop(d, SSH_ST_NOT_SSH, SSH_ANOM_BANNER_INVALID);
		} else if (d->state == SSH_ST_LINES &&
		           ssh_line_responder_gives_up(conn, d, dir, &c)) {
			ssh_dir_stop(d, SSH_ST_STOPPED, 0);
		}
	}
	/* RFC 4253 7.3: what follows NEWKEYS is encrypted; frame and count it. */
	if (d->state == SSH_ST_ENCRYPTED) {
		d->enc_bytes += n;
		/* Encrypted bytes behind NEWKEYS in the bytes of one push (a
		 * client that sends SERVICE_REQUEST at once): one more segment. */
		if (was_parsing && n + behind > 0)
			ssh_enc_segment(d, n + behind, ts_us);
		if (d->enc.framing)
			ssh_enc_frame(conn, d, p, n, ts_us);
	}
	if (!ssh_dir_is_parsing(d))
		ssh_dir_free_buf(conn, d);
	return KW_OK;
}

void ssh_stream_gap(struct ssh_conn *conn, int dir)
{
	struct ssh_dir *d;

	if (conn == NULL || dir < 0 || dir > 1)
		return;
	d = &conn->dir[dir];
	/* Still searching: the search starts again after the hole. */
	if (d->state == SSH_ST_RESYNC) {
		d->resync_at = 0;
		d->buf_len = 0;
		return;
	}
	/* Lost bytes before NEWKEYS: framing is lost with them. */
	if (ssh_dir_is_parsing(d))
		ssh_dir_stop(d, SSH_ST_STOPPED, SSH_ANOM_GAP);
	/* After NEWKEYS too, but TCP already counts the gap: no anomaly here. */
	if (d->enc.framing) {
		d->enc.framing = 0;
		d->enc.sync_lost = 1;
	}
	ssh_dir_free_buf(conn, d);
}

int ssh_dir_wants_bytes(const struct ssh_conn *conn, int dir)
{
	if (conn == NULL || dir < 0 || dir > 1)
		return 0;
	return ssh_dir_is_parsing(&conn->dir[dir]) ||
	       (conn->dir[dir].state == SSH_ST_ENCRYPTED && conn->dir[dir].enc.framing);
}

void ssh_stream_segment(struct ssh_conn *conn, int dir, size_t n, uint64_t ts_us)
{
	struct ssh_dir *d;

	if (conn == NULL || dir < 0 || dir > 1 || n == 0)
		return;
	d = &conn->dir[dir];
	if (d->state == SSH_ST_ENCRYPTED)
		ssh_enc_segment(d, n, ts_us);
}

void ssh_stream_count(struct ssh_conn *conn, int dir, size_t n)
{
	struct ssh_dir *d;

	if (conn == NULL || dir < 0 || dir > 1)
		return;
	d = &conn->dir[dir];
	/*
	 * The TCP layer also counts instead of feeding when it chose not to
	 * parse (mid-stream start, the other side not SSH): not a capture gap,
	 * so no anomaly, but the parser has lost its place and stops.
	 */
	if (n > 0 && ssh_dir_is_parsing(d))
		ssh_dir_stop(d, SSH_ST_STOPPED, 0);
	if (n > 0 && d->enc.framing) {
		d->enc.framing = 0;
		d->enc.sync_lost = 1;
	}
	d->bytes += n;
	if (d->state == SSH_ST_ENCRYPTED)
		d->enc_bytes += n;
	ssh_dir_free_buf(conn, d);
}

void ssh_stream_midstream(struct ssh_conn *conn, int dir)
{
	if (conn == NULL || dir < 0 || dir > 1)
		return;
	if (conn->dir[dir].state == SSH_ST_LINES && conn->dir[dir].bytes == 0)
		conn->dir[dir].state = SSH_ST_RESYNC;
}

int ssh_conn_is_ssh(const struct ssh_conn *conn)
{
	return conn != NULL && (conn->dir[0].banner != NULL || conn->dir[1].banner != NULL);
}

void ssh_conn_init(struct ssh_conn *conn, const struct kw_limits *limits)
{
	memset(conn, 0, sizeof(*conn));
	conn->limits = limits;
	conn->client_dir = -1;
	conn->role_source = SSH_ROLE_UNKNOWN;
	conn->neg.failed_cat = -1;
	conn->dir[0].state = SSH_ST_LINES;
	conn->dir[1].state = SSH_ST_LINES;
}

void ssh_conn_free(struct ssh_conn *conn)
{
	int i;

	if (conn == NULL)
		return;
	for (i = 0; i < 2; i++) {
		struct ssh_dir *d = &conn->dir[i];

		free(d->buf);
		free(d->pre);
		if (d->kexinit != NULL)
			kex_init_free(d->kexinit);
	}
	budget_release(conn->budget, conn->mem);
	/* The banners, KEXINITs, HASSH strings and DISCONNECT text. */
	flowmem_release(&conn->store);
	memset(conn, 0, sizeof(*conn));
	conn->client_dir = -1;
}
