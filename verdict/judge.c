/*
 * judge.c: how far a connection got and how it ended, from its facts.
 *
 * Responsible for ssh.outcome, ssh.phase, the SSH roles and the close
 * (DESIGN.md section 2), and for the facts every rule asks about (one
 * direction missing, a partial capture, both NEWKEYS). Not responsible for
 * diagnoses (diagnose.c) or for writing anything.
 */
#include "verdict.h"

int verdict_both_newkeys(const struct flow *f)
{
	return f->ssh.dir[0].t_newkeys != 0 && f->ssh.dir[1].t_newkeys != 0;
}

/* Only SYNs from the initiator and nothing back: the silence is the server's. */
int verdict_only_syns(const struct flow *f)
{
	return f->dir[0].syns > 0 && f->dir[0].packets == f->dir[0].syns && f->dir[1].packets == 0;
}

int verdict_one_sided(const struct flow *f)
{
	return (f->dir[0].packets == 0 || f->dir[1].packets == 0) && !verdict_only_syns(f);
}

int verdict_capture_partial(const struct flow *f)
{
	return verdict_one_sided(f) ||
	       (f->anomalies & (FLOW_ANOM_MIDSTREAM | FLOW_ANOM_SNAPPED | FLOW_ANOM_EVICTED)) ||
	       f->dir[0].gaps + f->dir[1].gaps > 0;
}

int verdict_limited_dir(const struct flow *f)
{
	for (int i = 0; i < 2; i++)
		if ((f->ssh.dir[i].anomalies & SSH_ANOM_LIMITS) && f->ssh.dir[i].t_newkeys == 0)
			return i;
	return -1;
}

/* The bit of SSH_ANOM_LIMITS that stopped the parser first in a packet's
 * life: memory is asked before a buffer grows, the length before the body. */
static uint32_t limit_bit(uint32_t a)
{
	static const uint32_t order[] = {SSH_ANOM_MEMCAP, SSH_ANOM_NOMEM, SSH_ANOM_PACKET_LIMIT,
	                                 SSH_ANOM_BUFFER, SSH_ANOM_KEXINIT_LIMIT};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (a & order[i])
			return order[i];
	return 0;
}

const char *verdict_limit_name(uint32_t a)
{
	switch (limit_bit(a)) {
	case SSH_ANOM_MEMCAP:
		return "memory";
	case SSH_ANOM_NOMEM:
		return "out_of_memory";
	case SSH_ANOM_PACKET_LIMIT:
		return "max_packet";
	case SSH_ANOM_BUFFER:
		return "stream_buf";
	case SSH_ANOM_KEXINIT_LIMIT:
		return "namelist_max";
	}
	return NULL;
}

unsigned long long verdict_limit_value(uint32_t a, const struct kw_limits *l)
{
	if (l == NULL)
		return 0;
	switch (limit_bit(a)) {
	case SSH_ANOM_MEMCAP:
		return (unsigned long long)l->memory << 20;
	case SSH_ANOM_PACKET_LIMIT:
		return l->max_packet;
	case SSH_ANOM_BUFFER:
		return l->stream_buf;
	case SSH_ANOM_KEXINIT_LIMIT:
		return l->namelist_max;
	}
	return 0; /* out_of_memory is the machine's, no setting */
}

/* The SSH client's TCP direction: the protocol's word, unless it was only assumed. */
int verdict_client_dir(const struct flow *f)
{
	return f->ssh.client_dir >= 0 && f->ssh.role_source != SSH_ROLE_ASSUMED ? f->ssh.client_dir
	                                                                        : flow_src_dir(f);
}

enum verdict_outcome verdict_outcome_of(const struct flow *f)
{
	const struct ssh_conn *s = &f->ssh;

	if (verdict_both_newkeys(f))
		return OUTCOME_ESTABLISHED;
	if (!ssh_conn_is_ssh(s) &&
	    (s->dir[0].state == SSH_ST_NOT_SSH || s->dir[1].state == SSH_ST_NOT_SSH))
		return OUTCOME_NOT_SSH;
	/* No common algorithm: the handshake cannot succeed, seen closing or not. */
	if (s->negotiated_ok && s->neg.failed_cat >= 0)
		return OUTCOME_FAILED;
	/* A limit stopped the parser: past that point nothing is known. */
	if (verdict_limited_dir(f) >= 0)
		return OUTCOME_INCOMPLETE;
	/* A capture that holds part of the connection cannot say it failed. */
	if (verdict_capture_partial(f))
		return OUTCOME_INCOMPLETE;
	/* A handshake that ended, or was given up on, before NEWKEYS failed;
	 * one the capture stopped watching is incomplete. */
	if (f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST ||
	    f->close_kind == FLOW_CLOSE_TIMEOUT)
		return OUTCOME_FAILED;
	return OUTCOME_INCOMPLETE;
}

static int seen_by(uint64_t t, uint64_t at)
{
	return t != 0 && t <= at;
}

enum verdict_phase verdict_phase_at(const struct flow *f, uint64_t at)
{
	const struct ssh_conn *s = &f->ssh;
	int c = verdict_client_dir(f); /* the roles the record names */
	const struct ssh_dir *cd = &s->dir[c], *sd = &s->dir[!c];
	enum verdict_phase p = PHASE_NONE;

	if (seen_by(f->t_syn, at) || seen_by(f->t_synack, at))
		p = PHASE_SYN;
	if (seen_by(f->t_synack, at) ||
	    (seen_by(f->dir[0].t_first, at) && seen_by(f->dir[1].t_first, at) && !f->t_syn))
		p = PHASE_TCP_ESTABLISHED;
	if (seen_by(cd->t_banner, at))
		p = PHASE_CLIENT_BANNER;
	if (seen_by(sd->t_banner, at))
		p = PHASE_SERVER_BANNER;
	if (seen_by(cd->t_kexinit, at) || seen_by(sd->t_kexinit, at))
		p = PHASE_KEXINIT;
	if (seen_by(sd->t_kexmsg, at) && (s->hostkey.present || (sd->kexmsg_mask & (1u << 3))))
		p = PHASE_KEX_REPLY;
	if (seen_by(cd->t_newkeys, at) || seen_by(sd->t_newkeys, at))
		p = PHASE_NEWKEYS;
	if (seen_by(cd->t_newkeys, at) && seen_by(sd->t_newkeys, at) &&
	    (cd->enc_bytes > 0 || sd->enc_bytes > 0))
		p = PHASE_ENCRYPTED;
	return p;
}

const char *verdict_outcome_name(enum verdict_outcome o)
{
	static const char *const names[] = {"established", "failed", "incomplete", "not_ssh"};

	return (unsigned)o < OUTCOME_COUNT ? names[o] : "incomplete";
}

const char *verdict_phase_name(enum verdict_phase p)
{
	static const char *const names[] = {"none",          "syn",           "tcp_established",
	                                    "client_banner", "server_banner", "kexinit",
	                                    "kex_reply",     "newkeys",       "encrypted"};

	return (unsigned)p <= PHASE_ENCRYPTED ? names[p] : "none";
}

const char *verdict_close_kind_name(enum flow_close_kind k)
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
	case FLOW_CLOSE_EVICTED:
		return "evicted";
	case FLOW_CLOSE_NONE:
		break;
	}
	return NULL;
}
