/*
 * hostlist.c: the listing of `kexwatch hostkeys` (docs/hostkeys.md).
 *
 * Responsible for the text table and the JSON lines of every key the
 * host-key store remembers, by server. Not responsible for remembering keys
 * (state/hoststore.c) or for judging them (verdict/hostkey.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "hostlist.h"
#include "hoststore.h"
#include "text.h"

/* set_text adds a string that came from the store: escaped if jansson
 * would refuse it. */
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

int hostlist_write(struct hoststore *store, FILE *out, int json, char *err, size_t errlen)
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
