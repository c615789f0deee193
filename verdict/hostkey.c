/*
 * hostcheck.c: host-key continuity diagnoses and the host-key listing.
 *
 * Responsible for choosing what identifies a server (the SSH server's
 * address and listening port, never the TCP responder by assumption; port 0
 * when the server opened the TCP connection, whose source port says
 * nothing), for wording host_key_changed and host_key_shared with their
 * evidence, and for the text and JSON forms of `kexwatch hostkeys`.
 * Not responsible for remembering keys (state/hoststore.c) or for the other
 * diagnoses (diagnose.c).
 *
 * A different key type is not a change: the client chooses the type (its
 * HostKeyAlgorithms order against the server's list), so keys are compared
 * per type only.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "err.h"
#include "hostkey.h"
#include "hoststore.h"
#include "record.h"
#include "output.h"

static int severity_rank(const char *s)
{
	if (s == NULL)
		return 3;
	return strcmp(s, "error") == 0 ? 0 : strcmp(s, "warning") == 0 ? 1 : 2;
}

/* insert_ranked adds d before the first entry less severe than it. */
static void insert_ranked(json_t *list, json_t *d, const char *severity)
{
	int rank = severity_rank(severity);
	size_t i, n = json_array_size(list);

	for (i = 0; i < n; i++) {
		json_t *e = json_array_get(list, i);
		if (severity_rank(json_string_value(json_object_get(e, "severity"))) > rank)
			break;
	}
	if (i < n)
		json_array_insert_new(list, i, d);
	else
		json_array_append_new(list, d);
}

/* set_text adds a string that came from the store or the wire: escaped if
 * jansson would refuse it. */
static void set_text(json_t *o, const char *key, const char *v)
{
	json_t *s = json_string(v);

	if (s == NULL) {
		char *e = text_escape((const uint8_t *)v, strlen(v));
		s = e ? json_string(e) : NULL;
		free(e);
	}
	if (s != NULL)
		json_object_set_new(o, key, s);
}

static void set_time(json_t *o, const char *key, uint64_t us)
{
	char ts[48];

	text_time(ts, sizeof(ts), us);
	json_object_set_new(o, key, json_string(ts));
}

static json_t *new_diag(const char *code, const char *severity, const char *summary,
                        const char *hint, const char *symptom, json_t **ev)
{
	json_t *d = json_object();

	*ev = json_object();
	json_object_set_new(d, "code", json_string(code));
	json_object_set_new(d, "severity", json_string(severity));
	json_object_set_new(d, "summary", json_string(summary));
	json_object_set_new(d, "evidence", *ev);
	json_object_set_new(d, "hint", json_string(hint));
	if (symptom != NULL)
		json_object_set_new(d, "client_symptom", json_string(symptom));
	return d;
}

static const char changed_hint[] =
    "If the server's keys were regenerated on purpose (reinstall, planned re-key), compare the "
    "new fingerprint with `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on its console, then "
    "accept it with `kexwatch hostkeys --state PATH --forget SERVER:PORT`. Otherwise treat it "
    "as interception until shown otherwise: check who answers for the address (ARP/ND "
    "entries, routes, NAT and load-balancer pools); a changed banner or HASSHServer as well "
    "means another machine or a proxy answered.";

static const char shared_hint[] =
    "Machines cloned from one image keep its host keys, and one stolen key then impersonates "
    "them all: regenerate the keys on each machine (remove /etc/ssh/ssh_host_* and run "
    "`ssh-keygen -A`, or `dpkg-reconfigure openssh-server`). If these addresses are one host "
    "or one service behind a load balancer, raise --hostkey-share-threshold.";

static void add_changed(json_t *list, const struct hoststore_verdict *v,
                        const struct hoststore_obs *o, const char *server, const char *addr,
                        const char *banner, const char *hassh)
{
	const struct hoststore_key *old = &v->remembered, *cur = &v->presented;
	int banner_changed = banner != NULL && old->banner[0] != '\0' &&
	                     strncmp(old->banner, banner, HOSTSTORE_BANNER_MAX) != 0;
	int hassh_changed =
	    hassh[0] != '\0' && old->hassh[0] != '\0' && strcmp(old->hassh, hassh) != 0;
	char summary[768], when[48], also[256] = "";
	json_t *d, *ev;

	text_time(when, sizeof(when), old->last_seen);
	when[19] = '\0';
	if (banner_changed || hassh_changed)
		snprintf(also, sizeof(also),
		         "; its %s changed with it: another machine, or a proxy in the middle "
		         "(which changes the key, the banner and the HASSHServer), is answering",
		         banner_changed && hassh_changed ? "banner and HASSHServer"
		         : banner_changed                ? "banner"
		                                         : "HASSHServer");
	snprintf(summary, sizeof(summary),
	         "%s presented a different %s host key (%s) than the one remembered (%s, last seen "
	         "%s UTC)%s.",
	         server, o->key_type, o->fingerprint, old->fingerprint, when, also);
	d = new_diag("host_key_changed", "error", summary, changed_hint,
	             "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!", &ev);
	set_text(ev, "server_ip", addr);
	json_object_set_new(ev, "server_port", json_integer(o->port));
	if (o->port == 0)
		json_object_set_new(ev, "server_initiated", json_true());
	set_text(ev, "key_type", o->key_type);
	set_text(ev, "old_fingerprint", old->fingerprint);
	set_text(ev, "new_fingerprint", o->fingerprint);
	set_time(ev, "old_first_seen", old->first_seen);
	set_time(ev, "old_last_seen", old->last_seen);
	json_object_set_new(ev, "old_times_seen", json_integer((json_int_t)old->times_seen));
	/* The new key's history: seen before means this is a repeat alarm. */
	set_time(ev, "new_first_seen", cur->times_seen ? cur->first_seen : o->ts_us);
	json_object_set_new(ev, "new_times_seen", json_integer((json_int_t)cur->times_seen + 1));
	json_object_set_new(ev, "banner_changed", json_boolean(banner_changed));
	json_object_set_new(ev, "hassh_server_changed", json_boolean(hassh_changed));
	if (banner_changed) {
		set_text(ev, "old_banner", old->banner);
		set_text(ev, "new_banner", banner);
	}
	if (hassh_changed) {
		set_text(ev, "old_hassh_server", old->hassh);
		set_text(ev, "new_hassh_server", hassh);
	}
	insert_ranked(list, d, "error");
}

static void add_shared(json_t *list, const struct hoststore_verdict *v,
                       const struct hoststore_obs *o)
{
	char summary[512];
	json_t *d, *ev, *a = json_array();

	snprintf(summary, sizeof(summary),
	         "The %s host key %s is presented by %u server addresses (more than %u): cloned "
	         "machines or a key copied between hosts.",
	         o->key_type, o->fingerprint, v->share_count, v->share_threshold);
	d = new_diag("host_key_shared", "warning", summary, shared_hint, NULL, &ev);
	set_text(ev, "key_type", o->key_type);
	set_text(ev, "fingerprint", o->fingerprint);
	json_object_set_new(ev, "address_count", json_integer(v->share_count));
	json_object_set_new(ev, "threshold", json_integer(v->share_threshold));
	for (uint32_t i = 0; i < v->naddrs; i++)
		json_array_append_new(a, json_string(v->addrs[i]));
	json_object_set_new(ev, "addresses", a);
	json_object_set_new(ev, "addresses_truncated", json_boolean(v->naddrs < v->share_count));
	insert_ranked(list, d, "warning");
}

void hostcheck_flow(struct hoststore *store, const struct flow *f, int client_dir,
                    struct json_t *list)
{
	const struct ssh_conn *s = &f->ssh;
	int sd = !client_dir;
	const struct ssh_dir *srv = &s->dir[sd];
	struct hoststore_obs o = {0};
	struct hoststore_verdict v;
	char addr[64], server[96], *type, *banner = NULL;

	if (store == NULL || list == NULL || !s->hostkey.present ||
	    (client_dir != 0 && client_dir != 1))
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
			add_changed(list, &v, &o, server, addr, banner, srv->hassh);
		if (v.shared)
			add_shared(list, &v, &o);
	}
	free(type);
	free(banner);
}

/* ------------------------------------------------------------------ listing */

struct listing {
	FILE *out;
	int json;
	char server[HOSTSTORE_ADDR_LEN];
	int port; /* -1: none yet */
	json_t *keys;
	int nomem;
};

static int flush_server(struct listing *l)
{
	json_t *o;
	char *s;
	int r = 0;

	if (!l->json || l->keys == NULL)
		return 0;
	o = json_object();
	json_object_set_new(o, "server", json_string(l->server));
	json_object_set_new(o, "port", json_integer(l->port));
	json_object_set_new(o, "keys", l->keys);
	l->keys = NULL;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL) {
		l->nomem = 1;
		return 1;
	}
	if (fprintf(l->out, "%s\n", s) < 0)
		r = 1;
	free(s);
	return r;
}

static int list_row(void *ctx, const struct hoststore_row *row)
{
	struct listing *l = ctx;
	char first[48], last[48];

	if (l->port != row->port || strcmp(l->server, row->server) != 0) {
		if (flush_server(l) != 0)
			return 1;
		snprintf(l->server, sizeof(l->server), "%s", row->server);
		l->port = row->port;
		if (!l->json && fprintf(l->out, "%s %s %u\n", row->server,
		                        row->port ? "port" : "(server-initiated)", row->port) < 0)
			return 1;
	}
	if (l->json) {
		json_t *k = json_object();
		if (l->keys == NULL)
			l->keys = json_array();
		set_text(k, "type", row->key_type);
		set_text(k, "fingerprint", row->fingerprint);
		json_object_set_new(k, "status",
		                    json_string(row->remembered ? "remembered" : "changed"));
		set_time(k, "first_seen", row->first_seen);
		set_time(k, "last_seen", row->last_seen);
		json_object_set_new(k, "times_seen", json_integer((json_int_t)row->times_seen));
		if (row->banner[0] != '\0')
			set_text(k, "banner", row->banner);
		if (row->hassh[0] != '\0')
			set_text(k, "hassh_server", row->hassh);
		json_object_set_new(k, "addresses_with_key",
		                    json_integer((json_int_t)row->addresses_with_key));
		json_array_append_new(l->keys, k);
		return 0;
	}
	text_time(first, sizeof(first), row->first_seen);
	text_time(last, sizeof(last), row->last_seen);
	first[19] = last[19] = '\0';
	if (fprintf(l->out, "  %-20s %-51s %-10s first %s  last %s  seen %llu\n", row->key_type,
	            row->fingerprint, row->remembered ? "remembered" : "CHANGED", first, last,
	            (unsigned long long)row->times_seen) < 0)
		return 1;
	if (row->banner[0] != '\0' || row->hassh[0] != '\0' || row->addresses_with_key > 1) {
		if (fprintf(l->out, "  %-20s", "") < 0 ||
		    (row->banner[0] != '\0' && fprintf(l->out, " banner %s", row->banner) < 0) ||
		    (row->hassh[0] != '\0' &&
		     fprintf(l->out, " hassh_server %s", row->hassh) < 0) ||
		    (row->addresses_with_key > 1 &&
		     fprintf(l->out, " shared by %llu addresses",
		             (unsigned long long)row->addresses_with_key) < 0) ||
		    fputc('\n', l->out) == EOF)
			return 1;
	}
	return 0;
}

int hostcheck_list(struct hoststore *store, FILE *out, int json, char *err, size_t errlen)
{
	struct listing l = {.out = out, .json = json, .port = -1};
	int r = hoststore_foreach(store, list_row, &l, err, errlen);

	if (r == 0)
		r = flush_server(&l);
	json_decref(l.keys);
	if (l.nomem) {
		snprintf(err, errlen, "out of memory");
		return KW_ERR_NOMEM;
	}
	if (r == 1 || fflush(out) != 0 || ferror(out)) {
		snprintf(err, errlen, "writing the listing failed");
		return KW_ERR_IO;
	}
	return r;
}
