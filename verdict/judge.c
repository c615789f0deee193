/*
 * judge.c: how far a connection got and how it ended, from its facts, and
 * the one entry point that makes a whole verdict.
 *
 * Responsible for ssh.outcome, ssh.phase and the close (DESIGN.md section
 * 2), and for running the diagnoses (diagnose.c) and the host-key checks
 * (hostkey.c) in order. Not responsible for the diagnoses' conditions or
 * for writing anything.
 */
#include <string.h>

#include "diagnose.h"
#include "hostkey.h"
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
	/* A capture that holds part of the connection cannot say it failed. */
	if (verdict_capture_partial(f))
		return OUTCOME_INCOMPLETE;
	/* A handshake that ended, or was given up on, before NEWKEYS failed;
	 * one the capture stopped watching is incomplete. */
	if (f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST ||
	    f->close_kind == FLOW_CLOSE_TIMEOUT)
		return (f->anomalies & FLOW_ANOM_MIDSTREAM) && !ssh_conn_is_ssh(s)
		           ? OUTCOME_INCOMPLETE
		           : OUTCOME_FAILED;
	return OUTCOME_INCOMPLETE;
}

static int seen_by(uint64_t t, uint64_t at)
{
	return t != 0 && t <= at;
}

enum verdict_phase verdict_phase_at(const struct flow *f, uint64_t at)
{
	const struct ssh_conn *s = &f->ssh;
	int c = s->client_dir >= 0 ? s->client_dir : flow_src_dir(f);
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
	case FLOW_CLOSE_NONE:
		break;
	}
	return NULL;
}

int verdict_has_error(const struct verdict *v)
{
	for (uint32_t i = 0; i < v->ndiag; i++)
		if (v->diag[i].severity == SEV_ERROR)
			return 1;
	return 0;
}

void verdict_ctx_init(struct verdict_ctx *ctx, struct hoststore *store)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->store = store;
	arena_init(&ctx->arena);
}

void verdict_ctx_free(struct verdict_ctx *ctx)
{
	auth_guess_free(ctx->guess);
	arena_free(&ctx->arena);
	ctx->guess = NULL;
}

void verdict_judge(struct verdict_ctx *ctx, const struct flow *f, struct verdict *v)
{
	uint64_t last = f->dir[0].t_last > f->dir[1].t_last ? f->dir[0].t_last : f->dir[1].t_last;

	arena_reset(&ctx->arena);
	v->client_dir = verdict_client_dir(f);
	v->t0 = f->t_syn ? f->t_syn : f->t_first;
	v->t_close = (f->close_kind == FLOW_CLOSE_FIN || f->close_kind == FLOW_CLOSE_RST)
	                 ? f->t_close
	                 : last;
	v->outcome = verdict_outcome_of(f);
	v->phase = verdict_phase_at(f, UINT64_MAX);
	v->close_phase = verdict_phase_at(f, v->t_close);
	v->established = verdict_both_newkeys(f);
	v->auth_known = v->established;
	if (v->auth_known)
		auth_infer(f, v->client_dir, &v->auth);
	else
		memset(&v->auth, 0, sizeof(v->auth));
	v->ndiag = 0;
	v->dropped = 0;
	/* The guess table takes its sizes from the limits the flows were made with. */
	if (ctx->guess == NULL && f->ssh.limits != NULL)
		ctx->guess =
		    auth_guess_new(f->ssh.limits->auth_clients, f->ssh.limits->auth_window_s,
		                   f->ssh.limits->auth_threshold);
	diagnose_flow(f, v, &ctx->arena, ctx->guess);
	/* A handshake the capture stopped watching is incomplete, unless the
	 * evidence already shows why it failed (unanswered SYNs, an ICMP error,
	 * a stalled key exchange). */
	if (v->outcome == OUTCOME_INCOMPLETE && verdict_has_error(v))
		v->outcome = OUTCOME_FAILED;
	/* Host-key continuity (--state): an error for the operator (evidence
	 * capture, syslog severity), not a reason the handshake failed. */
	hostkey_check(ctx->store, f, v, &ctx->arena);
}
