/*
 * verdict.c: the one entry point that makes a whole verdict, and the
 * context it keeps between connections.
 *
 * Responsible for running the judgments (judge.c), the diagnoses
 * (diagnose.c) and the host-key checks (hostkey.c) in order, and for the
 * outcome rule that joins them. Not responsible for any rule's condition or
 * for writing anything.
 */
#include <string.h>

#include "diagnose.h"
#include "hostkey.h"
#include "scan.h"
#include "verdict.h"

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
	scan_table_free(ctx->scan);
	arena_free(&ctx->arena);
	ctx->guess = NULL;
	ctx->scan = NULL;
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
	if (ctx->scan == NULL && f->ssh.limits != NULL)
		ctx->scan =
		    scan_table_new(f->ssh.limits->scan_clients, f->ssh.limits->scan_window_s,
		                   f->ssh.limits->scan_threshold);
	diagnose_flow(f, v, &ctx->arena, ctx->guess, ctx->scan);
	/* A handshake the capture stopped watching is incomplete, unless the
	 * evidence already shows why it failed (unanswered SYNs, an ICMP error,
	 * a stalled key exchange). */
	if (v->outcome == OUTCOME_INCOMPLETE && verdict_has_error(v))
		v->outcome = OUTCOME_FAILED;
	/* Host-key continuity (--state): an error for the operator (evidence
	 * capture, syslog severity), not a reason the handshake failed. */
	hostkey_check(ctx->store, f, v, &ctx->arena);
}
