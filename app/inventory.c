/*
 * inventory.c: `kexwatch inventory`, what each server and each client
 * (by HASSH) runs and offers, from records or from the host-key store.
 *
 * Responsible for reading JSONL records (files or standard input) and a
 * --state store, gathering per server (address:port) and per client HASSH
 * the software, host keys, offered and negotiated algorithms, the share of
 * post-quantum key exchanges, and which weak or legacy algorithms each
 * offers or accepts by the policy table (verdict/policy.c, or --policy
 * FILE); for writing that as a text table or JSON lines; and for comparing
 * two inventories (--compare OLD). Not responsible for the records' fields
 * (output/record.c) or the store's file (state/).
 *
 * Records come from a sensor, and they hold wire text: every field is
 * checked for its type, unexpected ones are skipped, and every set kept
 * per server is bounded (INV_SET_MAX) so memory stays bounded by the
 * number of servers and clients (INV_MAX_ENTITIES).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"
#include "hoststore.h"
#include "inventory.h"
#include "policy.h"
#include "ssh.h"
#include "ux.h"

#define INV_SET_MAX 64            /* values kept per set; beyond, counted as others */
#define INV_WEAK_MAX 64           /* weak or legacy findings per server or client */
#define INV_MAX_ENTITIES 1000000u /* servers and clients together */
#define INV_LINE_MAX (16u << 20)  /* a record longer than this is skipped */
#define INV_POLICY_MAX 1024       /* entries of a --policy file */

enum inv_cat { CAT_KEX, CAT_HOST_KEY, CAT_CIPHER, CAT_MAC, CAT_COMP, CAT_N };
static const char *const cat_name[CAT_N] = {"kex", "host_key", "cipher", "mac", "compression"};

/* A bounded multiset of strings. */
struct inv_set {
	char *v[INV_SET_MAX];
	uint64_t n[INV_SET_MAX];
	uint32_t len;
	uint64_t others; /* additions that found the set full */
};

struct inv_finding {
	const struct policy_verdict *pv;
	const char *algorithm; /* pv's name, or the combination's */
	int offered, accepted;
};

struct inv_entity {
	struct inv_entity *hnext;
	char *key; /* "198.18.0.2:22" or a HASSH */
	int server;
	uint64_t conns, negotiated, pq;
	int offer_known, offers_pq;
	struct inv_set software, host_keys, chosen, peers, offered[CAT_N];
	struct inv_finding weak[INV_WEAK_MAX];
	uint32_t nweak;
};

struct inventory {
	struct inv_entity **bucket, **all;
	uint32_t mask, count, cap;
	struct hash_key hk;
	const struct policy_verdict *policy;
	size_t npolicy;
	uint64_t records, skipped;
};

/* Terrapin is a combination, not one algorithm: one verdict for it (CVE-2023-48795). */
static const struct policy_verdict terrapin = {
    "terrapin", "combination",
    "chacha20-poly1305, or a CBC cipher with an EtM MAC, without strict key exchange",
    "CVE-2023-48795 (Terrapin); OpenSSH 9.6 release notes (strict KEX)", POLICY_WEAK};

static void set_add(struct inv_set *s, const char *v, uint64_t n)
{
	for (uint32_t i = 0; i < s->len; i++)
		if (strcmp(s->v[i], v) == 0) {
			s->n[i] += n;
			return;
		}
	if (s->len == INV_SET_MAX || (s->v[s->len] = strdup(v)) == NULL) {
		s->others += n;
		return;
	}
	s->n[s->len++] = n;
}

static int set_has(const struct inv_set *s, const char *v)
{
	for (uint32_t i = 0; i < s->len; i++)
		if (strcmp(s->v[i], v) == 0)
			return 1;
	return 0;
}

static void set_free(struct inv_set *s)
{
	for (uint32_t i = 0; i < s->len; i++)
		free(s->v[i]);
}

static void entity_free(struct inv_entity *e)
{
	set_free(&e->software);
	set_free(&e->host_keys);
	set_free(&e->chosen);
	set_free(&e->peers);
	for (int c = 0; c < CAT_N; c++)
		set_free(&e->offered[c]);
	free(e->key);
	free(e);
}

static int inv_init(struct inventory *inv, const struct policy_verdict *policy, size_t npolicy)
{
	memset(inv, 0, sizeof(*inv));
	inv->mask = 4095;
	inv->bucket = calloc(inv->mask + 1, sizeof(*inv->bucket));
	hash_key_get(&inv->hk);
	inv->policy = policy;
	inv->npolicy = npolicy;
	return inv->bucket != NULL ? KW_OK : KW_ERR_NOMEM;
}

static void inv_free(struct inventory *inv)
{
	for (uint32_t i = 0; i < inv->count; i++)
		entity_free(inv->all[i]);
	free(inv->all);
	free(inv->bucket);
}

static uint32_t key_hash(const struct inventory *inv, int server, const char *key)
{
	uint64_t h = hash_bytes(&inv->hk, key, strlen(key)) ^ (uint64_t)server;

	return (uint32_t)(h ^ (h >> 32));
}

/* inv_find: the server's or client's entity named key, or NULL. */
static struct inv_entity *inv_find(const struct inventory *inv, int server, const char *key)
{
	struct inv_entity *e = inv->bucket[key_hash(inv, server, key) & inv->mask];

	for (; e != NULL; e = e->hnext)
		if (e->server == server && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* inv_get: the entity, made on first use; NULL when out of memory or over the bound. */
static struct inv_entity *inv_get(struct inventory *inv, int server, const char *key)
{
	struct inv_entity *e = inv_find(inv, server, key);
	uint32_t h;

	if (e != NULL)
		return e;
	if (inv->count >= INV_MAX_ENTITIES)
		return NULL;
	if (inv->count == inv->cap) {
		uint32_t cap = inv->cap ? inv->cap * 2 : 256;
		struct inv_entity **all = realloc(inv->all, cap * sizeof(*all));
		if (all == NULL)
			return NULL;
		inv->all = all;
		inv->cap = cap;
	}
	if (inv->count > 2 * inv->mask) {
		/* Grow the buckets: rehash every entity. */
		uint32_t mask = inv->mask * 2 + 1;
		struct inv_entity **b = calloc((size_t)mask + 1, sizeof(*b));
		if (b == NULL)
			return NULL;
		free(inv->bucket);
		inv->bucket = b;
		inv->mask = mask;
		for (uint32_t i = 0; i < inv->count; i++) {
			struct inv_entity *x = inv->all[i];
			h = key_hash(inv, x->server, x->key) & mask;
			x->hnext = b[h];
			b[h] = x;
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		return NULL;
	}
	e->server = server;
	h = key_hash(inv, server, key) & inv->mask;
	e->hnext = inv->bucket[h];
	inv->bucket[h] = e;
	inv->all[inv->count++] = e;
	return e;
}

/* finding marks a weak or legacy verdict as offered or accepted by e. */
static void finding(struct inv_entity *e, const struct policy_verdict *pv, const char *alg,
                    int accepted)
{
	uint32_t i;

	for (i = 0; i < e->nweak; i++)
		if (e->weak[i].pv == pv && strcmp(e->weak[i].algorithm, alg) == 0)
			break;
	if (i == e->nweak) {
		if (e->nweak == INV_WEAK_MAX)
			return;
		/* The name lives in the policy table or in an offered set (alg is
		 * then borrowed from a record): keep the table's when exact. */
		e->weak[i] = (struct inv_finding){
		    .pv = pv,
		    .algorithm =
		        pv->algorithm[strlen(pv->algorithm) - 1] == '*' ? NULL : pv->algorithm,
		};
		if (e->weak[i].algorithm == NULL) {
			for (int c = 0; c < CAT_N && e->weak[i].algorithm == NULL; c++)
				for (uint32_t k = 0; k < e->offered[c].len; k++)
					if (strcmp(e->offered[c].v[k], alg) == 0)
						e->weak[i].algorithm = e->offered[c].v[k];
			if (e->weak[i].algorithm == NULL)
				e->weak[i].algorithm = pv->algorithm;
		}
		e->nweak++;
	}
	if (accepted)
		e->weak[i].accepted = 1;
	else
		e->weak[i].offered = 1;
}

static const char *str_at(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* offer_list adds one comma-separated offer to the category's set and rates each name. */
static void offer_list(struct inventory *inv, struct inv_entity *e, enum inv_cat cat,
                       const char *list, size_t len)
{
	char name[128];
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = (size_t)((comma != NULL ? comma : end) - p);
		const struct policy_verdict *pv;
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			set_add(&e->offered[cat], name, 1);
			if (cat == CAT_KEX && policy_is_pq_kex(name))
				e->offers_pq = 1;
			if ((pv = policy_lookup(inv->policy, inv->npolicy, cat_name[cat], name)) !=
			    NULL)
				finding(e, pv, name, 0);
		}
		p += n + 1;
	}
}

/* json_list: an array of strings (a --record full name-list) as one comma-joined string. */
static char *json_list(json_t *a)
{
	size_t len = 1, i;
	json_t *v;
	char *s, *o;

	if (!json_is_array(a))
		return NULL;
	json_array_foreach(a, i, v) if (json_is_string(v)) len += json_string_length(v) + 1;
	if ((s = o = malloc(len)) == NULL)
		return NULL;
	json_array_foreach(a, i, v) if (json_is_string(v))
	{
		if (o != s)
			*o++ = ',';
		memcpy(o, json_string_value(v), json_string_length(v));
		o += json_string_length(v);
	}
	*o = '\0';
	return s;
}

/*
 * offers reads one side's offer from a record: the KEXINIT lists when the
 * record has them (--record full, or a failed negotiation), else the HASSH
 * string (kex;cipher;mac;compression) and the server's host-key algorithms.
 * Terrapin: chacha20-poly1305, or CBC with an EtM MAC, without the side's
 * strict-KEX marker.
 */
static void offers(struct inventory *inv, struct inv_entity *e, json_t *side, int server)
{
	json_t *kx = json_object_get(side, "kexinit"), *hassh = json_object_get(side, "hassh");
	const char *hs = hassh != NULL ? str_at(hassh, "string") : NULL;
	int chacha = 0, cbc = 0, etm = 0;
	const char *strict =
	    server ? "kex-strict-s-v00@openssh.com" : "kex-strict-c-v00@openssh.com";
	int strict_seen;

	if (json_is_object(kx)) {
		static const char *const f[CAT_N] = {"kex_algorithms", "server_host_key_algorithms",
		                                     "encryption_algorithms_client_to_server",
		                                     "mac_algorithms_client_to_server",
		                                     "compression_algorithms_client_to_server"};
		for (int c = 0; c < CAT_N; c++) {
			char *l = json_list(json_object_get(kx, f[c]));
			if (l != NULL)
				offer_list(inv, e, (enum inv_cat)c, l, strlen(l));
			free(l);
		}
	} else if (hs != NULL) {
		const char *p = hs;
		for (int c = 0; c < 4 && p != NULL; c++) {
			const char *semi = strchr(p, ';');
			static const enum inv_cat order[4] = {CAT_KEX, CAT_CIPHER, CAT_MAC,
			                                      CAT_COMP};
			offer_list(inv, e, order[c], p, semi ? (size_t)(semi - p) : strlen(p));
			p = semi ? semi + 1 : NULL;
		}
		if (server && (hs = str_at(side, "host_key_algorithms")) != NULL)
			offer_list(inv, e, CAT_HOST_KEY, hs, strlen(hs));
	} else {
		return;
	}
	e->offer_known = 1;
	for (uint32_t i = 0; i < e->offered[CAT_CIPHER].len; i++) {
		chacha |= strcmp(e->offered[CAT_CIPHER].v[i], "chacha20-poly1305@openssh.com") == 0;
		cbc |= policy_is_cbc(e->offered[CAT_CIPHER].v[i]);
	}
	for (uint32_t i = 0; i < e->offered[CAT_MAC].len; i++)
		etm |= policy_is_etm(e->offered[CAT_MAC].v[i]);
	strict_seen = set_has(&e->offered[CAT_KEX], strict);
	if ((chacha || (cbc && etm)) && !strict_seen)
		finding(e, &terrapin, terrapin.algorithm, 0);
}

/*
 * negotiated counts what one connection agreed on for server or client e.
 * key_type: ssh.host_key.type or NULL, which a compact record's absent
 * negotiated host_key reads; an absent _s2c reads its _c2s, counted already.
 */
static void negotiated(struct inventory *inv, struct inv_entity *e, json_t *neg,
                       const char *key_type, int terrapin_hit)
{
	static const char *const f[] = {"kex",     "host_key", "cipher_c2s",     "cipher_s2c",
	                                "mac_c2s", "mac_s2c",  "compression_c2s"};
	static const enum inv_cat cat[] = {CAT_KEX, CAT_HOST_KEY, CAT_CIPHER, CAT_CIPHER,
	                                   CAT_MAC, CAT_MAC,      CAT_COMP};
	const char *kex = str_at(neg, "kex"), *hk = str_at(neg, "host_key");
	const char *c = str_at(neg, "cipher_c2s"), *m = str_at(neg, "mac_c2s");
	char summary[512];

	if (kex == NULL)
		return;
	if (hk == NULL)
		hk = key_type;
	e->negotiated++;
	e->pq += policy_is_pq_kex(kex) != 0;
	/* The compact summary: kex, host key, cipher and MAC, one direction. */
	snprintf(summary, sizeof(summary), "%s %s %s %s", kex, hk ? hk : "-", c ? c : "-",
	         m ? m : "-");
	set_add(&e->chosen, summary, 1);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		const char *a = cat[i] == CAT_HOST_KEY ? hk : str_at(neg, f[i]);
		const struct policy_verdict *pv;
		if (a != NULL && a[0] != '<' &&
		    (pv = policy_lookup(inv->policy, inv->npolicy, cat_name[cat[i]], a)) != NULL)
			finding(e, pv, a, 1);
	}
	if (terrapin_hit)
		finding(e, &terrapin, terrapin.algorithm, 1);
}

/* endpoint writes "addr:port" ("[v6]:port") for ip and port into buf. */
static void endpoint(char *buf, size_t size, const char *ip, json_int_t port)
{
	snprintf(buf, size, strchr(ip, ':') != NULL ? "[%s]:%lld" : "%s:%lld", ip, (long long)port);
}

/* inv_record adds one record (a parsed JSON line) to the inventory. */
static void inv_record(struct inventory *inv, json_t *r)
{
	json_t *ssh = json_object_get(r, "ssh"), *cl, *sv, *neg, *hk, *dg, *v;
	const char *sip, *cip, *et = str_at(r, "event_type"), *sw, *hash;
	json_t *sport;
	int reversed, terrapin_hit = 0;
	char key[128], buf[256];
	struct inv_entity *se, *ce = NULL;
	size_t i;

	if (et == NULL || strcmp(et, "ssh") != 0 || !json_is_object(ssh)) {
		inv->skipped++;
		return;
	}
	reversed = json_is_true(json_object_get(ssh, "roles_reversed"));
	sip = str_at(r, reversed ? "src_ip" : "dest_ip");
	cip = str_at(r, reversed ? "dest_ip" : "src_ip");
	sport = json_object_get(r, reversed ? "src_port" : "dest_port");
	cl = json_object_get(ssh, "client");
	sv = json_object_get(ssh, "server");
	neg = json_object_get(ssh, "negotiated");
	hk = json_object_get(ssh, "host_key");
	dg = json_object_get(ssh, "diagnoses");
	/* Only connections that spoke SSH say anything about a server. */
	if (sip == NULL || !json_is_integer(sport) ||
	    (!json_is_object(sv) && !json_is_object(cl))) {
		inv->skipped++;
		return;
	}
	inv->records++;
	json_array_foreach(dg, i, v)
	{
		const char *code = str_at(v, "code");
		terrapin_hit |= code != NULL && strcmp(code, "terrapin_exposed") == 0;
	}
	endpoint(key, sizeof(key), sip, json_integer_value(sport));
	if ((se = inv_get(inv, 1, key)) == NULL) {
		inv->skipped++;
		return;
	}
	if (json_is_object(cl) && json_is_object(json_object_get(cl, "hassh")) &&
	    (hash = str_at(json_object_get(cl, "hassh"), "hash")) != NULL)
		ce = inv_get(inv, 0, hash);
	se->conns++;
	if (json_is_object(sv)) {
		if ((sw = str_at(sv, "software_version")) != NULL)
			set_add(&se->software, sw, 1);
		if ((hash = json_is_object(json_object_get(sv, "hassh"))
		                ? str_at(json_object_get(sv, "hassh"), "hash")
		                : NULL) != NULL)
			set_add(&se->peers, hash,
			        1); /* a server's peers set: its HASSHServer values */
		offers(inv, se, sv, 1);
	}
	if (json_is_object(hk) && str_at(hk, "type") != NULL && str_at(hk, "fingerprint") != NULL) {
		snprintf(buf, sizeof(buf), "%s %s", str_at(hk, "type"), str_at(hk, "fingerprint"));
		set_add(&se->host_keys, buf, 1);
	}
	if (json_is_object(neg))
		negotiated(inv, se, neg, json_is_object(hk) ? str_at(hk, "type") : NULL,
		           terrapin_hit);
	if (ce != NULL) {
		ce->conns++;
		if ((sw = str_at(cl, "software_version")) != NULL)
			set_add(&ce->software, sw, 1);
		if (cip != NULL)
			set_add(&ce->peers, cip, 1); /* a client's peers: its addresses */
		offers(inv, ce, cl, 0);
		if (json_is_object(neg))
			negotiated(inv, ce, neg, json_is_object(hk) ? str_at(hk, "type") : NULL,
			           terrapin_hit);
	}
}

/* inv_read_file adds every record of a JSONL file ("-": standard input). 0 or 1 (said). */
static int inv_read_file(struct inventory *inv, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_error_t jerr;
	int status = 0;

	if (f == NULL) {
		perror(path);
		fprintf(stderr, "kexwatch inventory: cannot read %s\n", path);
		return 1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *r;
		if ((size_t)n > INV_LINE_MAX || line[0] != '{' ||
		    (r = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
			inv->skipped++; /* not a record: a statistics line, a header, damage */
			continue;
		}
		if (json_is_object(r))
			inv_record(inv, r);
		json_decref(r);
	}
	if (ferror(f)) {
		fprintf(stderr, "kexwatch inventory: %s: read error\n", path);
		status = 1;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return status;
}

/* state_row adds one stored host key: the server, its software and its key. */
static int state_row(void *ctx, const struct hoststore_row *row)
{
	struct inventory *inv = ctx;
	struct inv_entity *e;
	char key[128], buf[256];
	struct ssh_banner_fields bf;

	endpoint(key, sizeof(key), row->server, row->port);
	if ((e = inv_get(inv, 1, key)) == NULL)
		return 0;
	e->conns += row->times_seen;
	inv->records += row->times_seen;
	snprintf(buf, sizeof(buf), "%s %s", row->key_type, row->fingerprint);
	set_add(&e->host_keys, buf, row->times_seen);
	if (row->hassh[0] != '\0')
		set_add(&e->peers, row->hassh, row->times_seen);
	/* software_version, as the record has it. */
	if (ssh_banner_split((const uint8_t *)row->banner, strlen(row->banner), &bf) == 0 &&
	    bf.software != NULL) {
		snprintf(buf, sizeof(buf), "%.*s", (int)bf.software_len, (const char *)bf.software);
		set_add(&e->software, buf, row->times_seen);
	}
	return 0;
}

static int inv_read_state(struct inventory *inv, const char *path)
{
	struct hoststore_config cfg = {.path = path, .mode = HOSTSTORE_ADMIN};
	struct hoststore *hs;
	char err[512] = "";
	int r;

	if (hoststore_open(&hs, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "kexwatch inventory: %s\n", err);
		return 1;
	}
	r = hoststore_foreach(hs, state_row, inv, err, sizeof(err));
	hoststore_close(hs, NULL, err, sizeof(err));
	if (r != 0) {
		fprintf(stderr, "kexwatch inventory: %s: %s\n", path, err);
		return 1;
	}
	return 0;
}

/*
 * The --policy file: one entry a line, five fields separated by '|':
 * category | algorithm | weak or legacy | reason | source. Blank lines and
 * lines starting with '#' are skipped. It replaces the built-in table.
 */
struct policy_file {
	struct policy_verdict v[INV_POLICY_MAX];
	char *text; /* the file, cut into the entries' fields */
	size_t n;
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int policy_load(struct policy_file *pf, const char *path)
{
	FILE *f = fopen(path, "r");
	long size;
	char *line, *save = NULL;
	unsigned lineno = 0;

	memset(pf, 0, sizeof(*pf));
	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0 || (pf->text = calloc(1, (size_t)size + 1)) == NULL ||
	    fread(pf->text, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "kexwatch inventory: --policy %s: cannot read it (at most 1 MiB)\n",
		        path);
		if (f != NULL)
			fclose(f);
		return 1;
	}
	fclose(f);
	for (line = strtok_r(pf->text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *field[5], *p = line;
		int nf = 0, level;
		lineno++;
		if (*trim(line) == '\0' || *trim(line) == '#')
			continue;
		while (nf < 5 && p != NULL) {
			char *bar = strchr(p, '|');
			if (bar != NULL)
				*bar = '\0';
			field[nf++] = trim(p);
			p = bar != NULL ? bar + 1 : NULL;
		}
		if (nf != 5 || p != NULL || field[0][0] == '\0' || field[1][0] == '\0' ||
		    (level = policy_level_by_name(field[2])) < 0 || pf->n == INV_POLICY_MAX) {
			fprintf(stderr,
			        "kexwatch inventory: --policy %s line %u: expected 'category | "
			        "algorithm | weak|legacy | reason | source'\n",
			        path, lineno);
			free(pf->text);
			return 1;
		}
		pf->v[pf->n++] = (struct policy_verdict){field[1], field[0], field[3], field[4],
		                                         (enum policy_level)level};
	}
	return 0;
}

/* policy_print writes a table in the --policy file format. */
static void policy_print(FILE *out, const struct policy_verdict *t, size_t n)
{
	fprintf(out, "# kexwatch policy %s: category | algorithm | weak|legacy | reason | source\n",
	        POLICY_VERSION);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s | %s | %s | %s | %s\n", t[i].category, t[i].algorithm,
		        policy_level_name(t[i].level), t[i].reason, t[i].source);
	fprintf(out, "# always: %s | %s | weak | %s | %s\n", terrapin.category, terrapin.algorithm,
	        terrapin.reason, terrapin.source);
}

/* What the listing shows. */
struct inv_view {
	int json;
	int servers, clients; /* which kinds */
	const char *offers;   /* --offers NAME: only those offering or accepting it */
	int not_pq;           /* --not-pq: only those whose offer has no post-quantum kex */
};

static int entity_offers(const struct inv_entity *e, const char *name)
{
	for (int c = 0; c < CAT_N; c++)
		if (set_has(&e->offered[c], name))
			return 1;
	for (uint32_t i = 0; i < e->nweak; i++)
		if (strcmp(e->weak[i].algorithm, name) == 0)
			return 1;
	return 0;
}

static int entity_shown(const struct inv_entity *e, const struct inv_view *v)
{
	if (e->server ? !v->servers : !v->clients)
		return 0;
	if (v->offers != NULL && !entity_offers(e, v->offers))
		return 0;
	if (v->not_pq && (!e->offer_known || e->offers_pq))
		return 0;
	return 1;
}

static int cmp_entity(const void *a, const void *b)
{
	const struct inv_entity *x = *(const struct inv_entity *const *)a;
	const struct inv_entity *y = *(const struct inv_entity *const *)b;

	if (x->server != y->server)
		return y->server - x->server; /* servers first */
	return strcmp(x->key, y->key);
}

static json_t *set_json(const struct inv_set *s)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < s->len; i++)
		json_object_set_new(o, s->v[i], json_integer((json_int_t)s->n[i]));
	return o;
}

static json_t *set_names(const struct inv_set *s)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < s->len; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

static json_t *entity_json(const struct inv_entity *e)
{
	json_t *o = json_object(), *off = json_object(), *w = json_array();

	json_object_set_new(o, "kind", json_string(e->server ? "server" : "client"));
	json_object_set_new(o, e->server ? "server" : "hassh", json_string(e->key));
	json_object_set_new(o, "connections", json_integer((json_int_t)e->conns));
	json_object_set_new(o, "software", set_json(&e->software));
	if (e->server)
		json_object_set_new(o, "host_keys", set_json(&e->host_keys));
	json_object_set_new(o, e->server ? "hassh_server" : "addresses", set_json(&e->peers));
	json_object_set_new(o, "negotiated", set_json(&e->chosen));
	json_object_set_new(o, "post_quantum",
	                    json_pack("{s:I,s:I}", "negotiated", (json_int_t)e->pq, "of",
	                              (json_int_t)e->negotiated));
	if (e->offer_known) {
		json_object_set_new(o, "offers_post_quantum", json_boolean(e->offers_pq));
		for (int c = 0; c < CAT_N; c++)
			if (e->offered[c].len > 0)
				json_object_set_new(off, cat_name[c], set_names(&e->offered[c]));
	}
	json_object_set_new(o, "offered", off);
	for (uint32_t i = 0; i < e->nweak; i++) {
		const struct inv_finding *f = &e->weak[i];
		json_array_append_new(
		    w, json_pack("{s:s,s:s,s:s,s:b,s:b,s:s,s:s}", "algorithm", f->algorithm,
		                 "category", f->pv->category, "level",
		                 policy_level_name(f->pv->level), "offered", f->offered, "accepted",
		                 f->accepted, "reason", f->pv->reason, "source", f->pv->source));
	}
	json_object_set_new(o, "weak", w);
	return o;
}

/* set_line writes "  label  v (n), v (n)" when the set has values. */
static void set_line(FILE *out, const char *label, const struct inv_set *s)
{
	if (s->len == 0)
		return;
	fprintf(out, "  %-12s", label);
	for (uint32_t i = 0; i < s->len; i++)
		fprintf(out, "%s%s (%llu)", i ? ", " : "", s->v[i], (unsigned long long)s->n[i]);
	if (s->others)
		fprintf(out, ", others (%llu)", (unsigned long long)s->others);
	fputc('\n', out);
}

static void entity_text(FILE *out, const struct inv_entity *e)
{
	fprintf(out, "%s %s: %llu connection%s", e->server ? "server" : "client HASSH", e->key,
	        (unsigned long long)e->conns, e->conns == 1 ? "" : "s");
	if (e->negotiated > 0)
		fprintf(out, ", post-quantum key exchange %llu of %llu (%.0f%%)",
		        (unsigned long long)e->pq, (unsigned long long)e->negotiated,
		        100.0 * (double)e->pq / (double)e->negotiated);
	if (e->offer_known)
		fprintf(out, ", %s",
		        e->offers_pq ? "offers post-quantum" : "NOT post-quantum ready");
	fputc('\n', out);
	set_line(out, "software", &e->software);
	set_line(out, "host keys", &e->host_keys);
	set_line(out, e->server ? "HASSHServer" : "addresses", &e->peers);
	set_line(out, "negotiated", &e->chosen);
	for (int c = 0; c < CAT_N; c++) {
		if (e->offered[c].len == 0)
			continue;
		fprintf(out, "  offers %-5s",
		        c == CAT_HOST_KEY ? "hkey"
		        : c == CAT_COMP   ? "comp"
		        : c == CAT_CIPHER ? "enc"
		                          : cat_name[c]);
		for (uint32_t i = 0; i < e->offered[c].len; i++)
			fprintf(out, "%s%s", i ? "," : "", e->offered[c].v[i]);
		fputc('\n', out);
	}
	for (uint32_t i = 0; i < e->nweak; i++) {
		const struct inv_finding *f = &e->weak[i];
		fprintf(out, "  %-12s%s %s (%s): %s [%s]\n", i ? "" : "weak/legacy",
		        f->accepted ? (f->offered ? "offers and accepts" : "accepts") : "offers",
		        f->algorithm, policy_level_name(f->pv->level), f->pv->reason,
		        f->pv->source);
	}
}

/* inv_sorted: the entities in listing order (servers by address, then clients). */
static struct inv_entity **inv_sorted(const struct inventory *inv)
{
	struct inv_entity **v = malloc(((size_t)inv->count + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	if (inv->count > 0)
		memcpy(v, inv->all, inv->count * sizeof(*v));
	qsort(v, inv->count, sizeof(*v), cmp_entity);
	return v;
}

static int inv_write(FILE *out, const struct inventory *inv, const struct inv_view *view)
{
	struct inv_entity **v = inv_sorted(inv);
	uint32_t shown = 0;

	if (v == NULL)
		return 1;
	for (uint32_t i = 0; i < inv->count; i++) {
		if (!entity_shown(v[i], view))
			continue;
		if (view->json) {
			json_t *o = entity_json(v[i]);
			json_dumpf(o, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
			fputc('\n', out);
			json_decref(o);
		} else {
			if (shown)
				fputc('\n', out);
			entity_text(out, v[i]);
		}
		shown++;
	}
	if (!view->json)
		fprintf(out, "%s%u shown of %u servers and clients, from %llu connections\n",
		        shown ? "\n" : "", shown, inv->count, (unsigned long long)inv->records);
	free(v);
	return 0;
}

/* change appends one difference to the text line and to the JSON list. */
static void change(char *line, size_t size, json_t *what, const char *fmt, const char *a,
                   const char *b)
{
	char one[512];
	size_t used = strlen(line);

	snprintf(one, sizeof(one), "%s%s%s%s%s", fmt, a[0] ? " " : "", a, b ? " -> " : "",
	         b ? b : "");
	json_array_append_new(what, json_string(one));
	snprintf(line + used, size - used, "%s%s", used ? "; " : "", one);
}

/* set_diff notes the values of a set that appeared and that disappeared. */
static void set_diff(char *line, size_t size, json_t *what, const char *label,
                     const struct inv_set *old, const struct inv_set *now)
{
	char buf[128];

	for (uint32_t i = 0; i < now->len; i++)
		if (!set_has(old, now->v[i])) {
			snprintf(buf, sizeof(buf), "new %s", label);
			change(line, size, what, buf, now->v[i], NULL);
		}
	for (uint32_t i = 0; i < old->len; i++)
		if (!set_has(now, old->v[i])) {
			snprintf(buf, sizeof(buf), "no longer %s", label);
			change(line, size, what, buf, old->v[i], NULL);
		}
}

static int weak_has(const struct inv_entity *e, const char *alg)
{
	for (uint32_t i = 0; i < e->nweak; i++)
		if (strcmp(e->weak[i].algorithm, alg) == 0)
			return 1;
	return 0;
}

/*
 * inv_compare writes what changed from old to now: servers and clients that
 * appeared or were not seen again, and for the others new or gone
 * software, host keys, weak or legacy algorithms, and post-quantum support.
 */
static int inv_compare(FILE *out, const struct inventory *old, const struct inventory *now,
                       const struct inv_view *view)
{
	struct inv_entity **v = inv_sorted(now), **o = inv_sorted(old);
	uint32_t n = 0;

	if (v == NULL || o == NULL) {
		free(v);
		free(o);
		return 1;
	}
	for (int pass = 0; pass < 2; pass++) {
		const struct inventory *inv = pass ? old : now;
		struct inv_entity **list = pass ? o : v;
		for (uint32_t i = 0; i < inv->count; i++) {
			struct inv_entity *e = list[i];
			const struct inv_entity *p = inv_find(pass ? now : old, e->server, e->key);
			const char *kind = e->server ? "server" : "client";
			char line[4096] = "";
			json_t *what = json_array();
			if (e->server ? !view->servers : !view->clients)
				goto next;
			if (pass == 1 && p == NULL) {
				change(line, sizeof(line), what, "not seen again", "", NULL);
			} else if (pass == 0 && p == NULL) {
				change(line, sizeof(line), what, "new", "", NULL);
			} else if (pass == 0) {
				set_diff(line, sizeof(line), what, "software", &p->software,
				         &e->software);
				set_diff(line, sizeof(line), what, "host key", &p->host_keys,
				         &e->host_keys);
				for (uint32_t k = 0; k < e->nweak; k++)
					if (!weak_has(p, e->weak[k].algorithm))
						change(line, sizeof(line), what, "now weak/legacy",
						       e->weak[k].algorithm, NULL);
				for (uint32_t k = 0; k < p->nweak; k++)
					if (!weak_has(e, p->weak[k].algorithm))
						change(line, sizeof(line), what,
						       "no longer weak/legacy",
						       p->weak[k].algorithm, NULL);
				if (p->offer_known && e->offer_known &&
				    p->offers_pq != e->offers_pq)
					change(line, sizeof(line), what,
					       e->offers_pq ? "now offers post-quantum"
					                    : "no longer offers post-quantum",
					       "", NULL);
			}
			if (json_array_size(what) > 0) {
				if (view->json) {
					json_t *rec = json_pack("{s:s,s:s,s:O}", "kind", kind,
					                        e->server ? "server" : "hassh",
					                        e->key, "changes", what);
					json_dumpf(rec, out, JSON_COMPACT | JSON_PRESERVE_ORDER);
					fputc('\n', out);
					json_decref(rec);
				} else {
					fprintf(out, "%s %s: %s\n", kind, e->key, line);
				}
				n++;
			}
		next:
			json_decref(what);
		}
	}
	if (!view->json)
		fprintf(out, "%u changed\n", n);
	free(v);
	free(o);
	return 0;
}

static void inventory_usage(FILE *out)
{
	fprintf(out,
	        "usage: kexwatch inventory [options] [RECORDS.jsonl ...]\n"
	        "       kexwatch inventory --state PATH [options]\n"
	        "       kexwatch inventory --compare OLD.jsonl [options] [RECORDS.jsonl ...]\n"
	        "       kexwatch inventory --print-policy\n"
	        "\n"
	        "Lists per server (address:port) and per client HASSH the software, host keys,\n"
	        "offered and negotiated algorithms, the share of post-quantum key exchanges and\n"
	        "the weak or legacy algorithms offered or accepted (docs/policy.md). Records are\n"
	        "read from the files, or from standard input without one (- too).\n"
	        "\n"
	        "  --state PATH          also read the host-key store of kexwatch --state\n"
	        "                        (software and host keys only)\n"
	        "  --format text|json    a text listing (default on a terminal) or JSON lines\n"
	        "  --servers, --clients  only servers, or only clients (default: both)\n"
	        "  --offers NAME         only those that offer or accept algorithm NAME\n"
	        "  --not-pq              only those whose key exchange offer has no\n"
	        "                        post-quantum method\n"
	        "  --compare OLD         what changed since the records of OLD\n"
	        "  --policy FILE         rate algorithms by FILE instead of the built-in table\n"
	        "  --print-policy        print the built-in table in the --policy format\n"
	        "  -h, --help            print this help and exit\n");
}

int inventory_main(int argc, char **argv)
{
	enum {
		O_STATE = 0x100,
		O_FORMAT,
		O_SERVERS,
		O_CLIENTS,
		O_OFFERS,
		O_NOTPQ,
		O_COMPARE,
		O_POLICY,
		O_PRINT
	};
	static const struct option longopts[] = {
	    {"state", required_argument, NULL, O_STATE},
	    {"format", required_argument, NULL, O_FORMAT},
	    {"servers", no_argument, NULL, O_SERVERS},
	    {"clients", no_argument, NULL, O_CLIENTS},
	    {"offers", required_argument, NULL, O_OFFERS},
	    {"not-pq", no_argument, NULL, O_NOTPQ},
	    {"compare", required_argument, NULL, O_COMPARE},
	    {"policy", required_argument, NULL, O_POLICY},
	    {"print-policy", no_argument, NULL, O_PRINT},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static struct policy_file pf;
	struct inv_view view = {.json = -1};
	const char *state = NULL, *compare = NULL, *policy_path = NULL;
	const struct policy_verdict *table;
	struct inventory inv, old;
	size_t ntable;
	int opt, status = 0, print = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case O_STATE:
			state = optarg;
			break;
		case O_FORMAT:
			if (strcmp(optarg, "json") == 0)
				view.json = 1;
			else if (strcmp(optarg, "text") == 0)
				view.json = 0;
			else
				return usage_error("inventory", "unknown format %s", optarg);
			break;
		case O_SERVERS:
			view.servers = 1;
			break;
		case O_CLIENTS:
			view.clients = 1;
			break;
		case O_OFFERS:
			view.offers = optarg;
			break;
		case O_NOTPQ:
			view.not_pq = 1;
			break;
		case O_COMPARE:
			compare = optarg;
			break;
		case O_POLICY:
			policy_path = optarg;
			break;
		case O_PRINT:
			print = 1;
			break;
		case 'h':
			inventory_usage(stdout);
			return 0;
		default:
			return usage_hint("inventory");
		}
	}
	if (!view.servers && !view.clients)
		view.servers = view.clients = 1;
	if (view.json < 0)
		view.json = !isatty(STDOUT_FILENO);
	table = policy_table(&ntable);
	if (policy_path != NULL) {
		if (policy_load(&pf, policy_path) != 0)
			return 1;
		table = pf.v;
		ntable = pf.n;
	}
	if (print) {
		if (optind < argc || state != NULL || compare != NULL)
			return usage_error("inventory", "--print-policy takes no input");
		policy_print(stdout, table, ntable);
		free(pf.text);
		return 0;
	}
	if (state != NULL && compare != NULL)
		return usage_error("inventory", "--compare reads records, not --state");
	if (inv_init(&inv, table, ntable) != KW_OK || inv_init(&old, table, ntable) != KW_OK) {
		fprintf(stderr, "kexwatch inventory: out of memory\n");
		return 1;
	}
	if (state != NULL)
		status |= inv_read_state(&inv, state);
	for (int i = optind; i < argc; i++)
		status |= inv_read_file(&inv, argv[i]);
	if (optind == argc && state == NULL) {
		if (isatty(STDIN_FILENO)) {
			inv_free(&inv);
			inv_free(&old);
			return usage_error("inventory",
			                   "no records: give files, - or --state PATH");
		}
		status |= inv_read_file(&inv, "-");
	}
	if (compare != NULL)
		status |= inv_read_file(&old, compare);
	if (status == 0)
		status = compare != NULL ? inv_compare(stdout, &old, &inv, &view)
		                         : inv_write(stdout, &inv, &view);
	if (fflush(stdout) != 0)
		status = 1;
	inv_free(&inv);
	inv_free(&old);
	free(pf.text);
	return status ? 1 : 0;
}
