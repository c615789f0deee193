/*
 * hostkey.c: host-key continuity (DESIGN.md section 4: host_key_changed,
 * host_key_shared).
 *
 * Responsible for choosing what identifies a server (the SSH server's
 * address and listening port, never the TCP responder by assumption; port 0
 * when the server opened the TCP connection, whose source port says
 * nothing), and for the diagnoses' evidence and summaries. Not responsible
 * for remembering keys (state/hoststore.c), for the other diagnoses
 * (diagnose.c) or for listing the store (output/hostlist.c).
 *
 * A different key type is not a change: the client chooses the type (its
 * HostKeyAlgorithms order against the server's list), so keys are compared
 * per type only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagnose.h"
#include "err.h"
#include "hostkey.h"
#include "hoststore.h"
#include "rules.h"
#include "text.h"

/*
 * insert_ranked adds a diagnosis of code and severity to v before the first
 * one less severe, so the list stays most severe first, and returns it.
 */
static struct diagnosis *insert_ranked(struct verdict *v, struct diagnosis *spare,
                                       enum diag_code code, enum verdict_severity sev)
{
	struct diagnosis *d = diagnosis_add(v, spare, code, sev);
	uint32_t at;

	if (d == spare)
		return d;
	for (at = 0; at + 1 < v->ndiag && v->diag[at].severity <= sev; at++)
		;
	if (at + 1 < v->ndiag) {
		struct diagnosis tmp = v->diag[v->ndiag - 1];
		memmove(&v->diag[at + 1], &v->diag[at], (v->ndiag - 1 - at) * sizeof(v->diag[0]));
		v->diag[at] = tmp;
		d = &v->diag[at];
	}
	return d;
}

/* copy: a string into the arena (NULL stays NULL). */
static const char *copy(struct arena *a, const char *s)
{
	return s != NULL ? arena_strndup(a, s, strlen(s)) : NULL;
}

static const char *time_text(struct arena *a, uint64_t us)
{
	char ts[48];

	text_time(ts, sizeof(ts), us);
	return copy(a, ts);
}

/* The store's strings are printable ASCII (it keeps them escaped). */
static void add_changed(struct verdict *vd, struct arena *a, struct diagnosis *spare,
                        const struct hoststore_verdict *v, const struct hoststore_obs *o,
                        const char *server, const char *addr, const char *banner, const char *hassh)
{
	const struct hoststore_key *old = &v->remembered, *cur = &v->presented;
	int banner_changed = banner != NULL && old->banner[0] != '\0' &&
	                     strncmp(old->banner, banner, HOSTSTORE_BANNER_MAX) != 0;
	int hassh_changed =
	    hassh[0] != '\0' && old->hassh[0] != '\0' && strcmp(old->hassh, hassh) != 0;
	char summary[768], when[48], also[256] = "";
	struct diagnosis *d;

	text_time(when, sizeof(when), old->last_seen);
	when[19] = '\0';
	if (banner_changed || hassh_changed)
		snprintf(also, sizeof(also),
		         "; its %s changed with it: another machine, or a proxy in the middle "
		         "(which changes the key, the banner and the HASSHServer), is answering",
		         banner_changed && hassh_changed ? "banner and HASSHServer"
		         : banner_changed                ? "banner"
		                                         : "HASSHServer");
	snprintf(summary, sizeof(summary), SUM_HOST_KEY_CHANGED, server, o->key_type,
	         o->fingerprint, old->fingerprint, when, also);
	d = insert_ranked(vd, spare, DIAG_HOST_KEY_CHANGED, SEV_ERROR);
	d->summary = copy(a, summary);
	d->symptom = diag_rule(DIAG_HOST_KEY_CHANGED)->symptoms[0];
	diag_ev_text(d, "server_ip", copy(a, addr));
	diag_ev_int(d, "server_port", o->port);
	if (o->port == 0)
		diag_ev_bool(d, "server_initiated", 1);
	diag_ev_text(d, "key_type", copy(a, o->key_type));
	diag_ev_text(d, "old_fingerprint", copy(a, old->fingerprint));
	diag_ev_text(d, "new_fingerprint", copy(a, o->fingerprint));
	diag_ev_text(d, "old_first_seen", time_text(a, old->first_seen));
	diag_ev_text(d, "old_last_seen", time_text(a, old->last_seen));
	diag_ev_int(d, "old_times_seen", (int64_t)old->times_seen);
	/* The new key's history: seen before means this is a repeat alarm. */
	diag_ev_text(d, "new_first_seen",
	             time_text(a, cur->times_seen ? cur->first_seen : o->ts_us));
	diag_ev_int(d, "new_times_seen", (int64_t)cur->times_seen + 1);
	diag_ev_bool(d, "banner_changed", banner_changed);
	diag_ev_bool(d, "hassh_server_changed", hassh_changed);
	if (banner_changed) {
		diag_ev_text(d, "old_banner", copy(a, old->banner));
		diag_ev_text(d, "new_banner", copy(a, banner));
	}
	if (hassh_changed) {
		diag_ev_text(d, "old_hassh_server", copy(a, old->hassh));
		diag_ev_text(d, "new_hassh_server", copy(a, hassh));
	}
}

static void add_shared(struct verdict *vd, struct arena *a, struct diagnosis *spare,
                       const struct hoststore_verdict *v, const struct hoststore_obs *o)
{
	const char **addrs = arena_alloc(a, (v->naddrs + 1) * sizeof(*addrs));
	char summary[512];
	struct diagnosis *d;
	uint32_t n = 0;

	snprintf(summary, sizeof(summary), SUM_HOST_KEY_SHARED, o->key_type, o->fingerprint,
	         v->share_count, v->share_threshold);
	d = insert_ranked(vd, spare, DIAG_HOST_KEY_SHARED, SEV_WARNING);
	d->summary = copy(a, summary);
	diag_ev_text(d, "key_type", copy(a, o->key_type));
	diag_ev_text(d, "fingerprint", copy(a, o->fingerprint));
	diag_ev_int(d, "address_count", v->share_count);
	diag_ev_int(d, "threshold", v->share_threshold);
	for (uint32_t i = 0; addrs != NULL && i < v->naddrs; i++)
		if ((addrs[n] = copy(a, v->addrs[i])) != NULL)
			n++;
	diag_ev_texts(d, "addresses", addrs, n);
	diag_ev_bool(d, "addresses_truncated", v->naddrs < v->share_count);
}

void hostkey_check(struct hoststore *store, const struct flow *f, struct verdict *vd,
                   struct arena *a)
{
	const struct ssh_conn *s = &f->ssh;
	int client_dir = vd->client_dir, sd = !client_dir;
	const struct ssh_dir *srv = &s->dir[sd];
	struct hoststore_obs o = {0};
	struct hoststore_verdict v;
	struct diagnosis spare;
	char addr[64], server[96], *type, *banner = NULL;

	if (store == NULL || !s->hostkey.present || (client_dir != 0 && client_dir != 1))
		return;
	o.family = f->key.family == 6 ? 6 : 4;
	memcpy(o.addr, sd == 0 ? f->key.src : f->key.dst, sizeof(o.addr));
	/* A server that opened the TCP connection (reverse SSH, NETCONF call
	 * home) sends from an ephemeral port: its address alone identifies it. */
	o.port = sd == flow_src_dir(f) ? 0 : sd == 0 ? f->key.sport : f->key.dport;
	/* The type comes from the wire: escaped so the store and the record only
	 * ever hold printable ASCII. */
	type = text_escape((const uint8_t *)s->hostkey.key.type, strlen(s->hostkey.key.type));
	if (type == NULL)
		return;
	if (srv->banner != NULL)
		banner = text_escape(srv->banner, srv->banner_len);
	o.key_type = type;
	o.fingerprint = s->hostkey.key.fingerprint;
	o.banner = banner;
	o.hassh = srv->hassh;
	o.ts_us = f->t_first;
	text_addr(addr, sizeof(addr), o.family, o.addr);
	if (o.port == 0)
		snprintf(server, sizeof(server), "%s (server-initiated connection)", addr);
	else
		snprintf(server, sizeof(server), "%s port %u", addr, o.port);

	if (hoststore_observe(store, &o, &v) != KW_ERR_MALFORMED) {
		if (v.changed)
			add_changed(vd, a, &spare, &v, &o, server, addr, banner, srv->hassh);
		if (v.shared)
			add_shared(vd, a, &spare, &v, &o);
	}
	free(type);
	free(banner);
}
