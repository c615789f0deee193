/*
 * test_hoststore.c: unit.hoststore — the host-key store (state/hoststore.c)
 * and the diagnoses built on it (verdict/hostkey.c, output/hostlist.c): open, record, lookup,
 * batch commit, forget (also while a sensor has the file open, and with
 * stale sightings still queued), reopen, the cache bounds, refusing files
 * that are not a kexwatch store, and host_key_changed / host_key_shared as
 * they appear in a record's diagnoses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "flow.h"
#include "hostkey.h"
#include "hostlist.h"
#include "hoststore.h"
#include "tap.h"

#define FP_A "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define FP_B "SHA256:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define FP_E "SHA256:EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE"
#define FP_S "SHA256:SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"
#define HASSH_1 "425d29fe50d8e4f5e37efb6e24bcf660"
#define HASSH_2 "00000000000000000000000000000000"
#define BANNER_1 "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
#define BANNER_2 "SSH-2.0-ProxyD_1.0"
#define T0 1700000000000000ull /* capture time, us */
#define SEC 1000000ull

static char dir[64], path[96];

static struct hoststore_obs obs(const char *addr, uint16_t port, const char *type, const char *fp,
                                uint64_t ts)
{
	struct hoststore_obs o = {
	    .port = port,
	    .key_type = type,
	    .fingerprint = fp,
	    .banner = BANNER_1,
	    .hassh = HASSH_1,
	    .ts_us = ts,
	};
	char canon[HOSTSTORE_ADDR_LEN];

	if (hoststore_addr_canon(addr, canon, &o.family, o.addr) != 0)
		o.family = 0;
	return o;
}

static struct hoststore *open_sensor(const char *p, uint32_t batch, uint32_t batch_ms,
                                     uint32_t threshold, uint32_t cache_max)
{
	struct hoststore_config cfg = {
	    .path = p,
	    .mode = HOSTSTORE_SENSOR,
	    .batch_records = batch,
	    .batch_ms = batch_ms,
	    .share_threshold = threshold,
	    .cache_max = cache_max,
	};
	struct hoststore *hs = NULL;
	char err[256] = "";
	int r = hoststore_open(&hs, &cfg, err, sizeof(err));

	CHECK(r == 0 && hs != NULL, "open sensor %s: %s", p, err);
	return hs;
}

static struct hoststore *open_admin(const char *p)
{
	struct hoststore_config cfg = {.path = p, .mode = HOSTSTORE_ADMIN};
	struct hoststore *hs = NULL;
	char err[256] = "";
	int r = hoststore_open(&hs, &cfg, err, sizeof(err));

	CHECK(r == 0 && hs != NULL, "open admin %s: %s", p, err);
	return hs;
}

struct rows {
	int n;
	char line[64][256];
};

static int collect(void *ctx, const struct hoststore_row *row)
{
	struct rows *r = ctx;

	if (r->n < 64)
		snprintf(r->line[r->n++], 256, "%s %u %s %s %s %llu %llu %llu %llu", row->server,
		         row->port, row->key_type, row->fingerprint,
		         row->remembered ? "remembered" : "changed",
		         (unsigned long long)row->first_seen, (unsigned long long)row->last_seen,
		         (unsigned long long)row->times_seen,
		         (unsigned long long)row->addresses_with_key);
	return 0;
}

/* list_file reads the committed keys through a second connection (ADMIN). */
static int list_file(const char *p, struct rows *r)
{
	struct hoststore *a = open_admin(p);
	char err[256];
	int ret;

	memset(r, 0, sizeof(*r));
	if (a == NULL)
		return -1;
	ret = hoststore_foreach(a, collect, r, err, sizeof(err));
	CHECK(ret == 0, "foreach: %s", err);
	hoststore_close(a, NULL, NULL, 0);
	return r->n;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void test_record_lookup(void)
{
	struct hoststore *hs = open_sensor(path, 4, 50, 0, 0);
	struct hoststore_obs o;
	struct hoststore_verdict v;
	struct hoststore_stats st;
	struct rows rows;
	int n = 0;

	if (hs == NULL)
		return;
	/* First sighting: nothing known, nothing changed. */
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_A, T0);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(!v.known && !v.changed && !v.shared, "first sighting is new");
	CHECK_EQ_INT(v.share_count, 1);
	/* Same key again. */
	o.ts_us = T0 + 10 * SEC;
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.known && !v.changed, "same key is no change");
	CHECK_EQ_INT(v.presented.times_seen, 1);
	CHECK_EQ_STR(v.remembered.fingerprint, FP_A);
	/* Another key type (the client asked for ECDSA): not a change. */
	o = obs("198.18.0.2", 22, "ecdsa-sha2-nistp256", FP_E, T0 + 20 * SEC);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(!v.known && !v.changed, "another key type is no change");
	/* The same address on another port is another server. */
	o = obs("198.18.0.2", 2222, "ssh-ed25519", FP_B, T0 + 25 * SEC);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(!v.known && !v.changed, "another port is another server");
	/* A new ed25519 key on port 22: changed, measured against the first. */
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_B, T0 + 30 * SEC);
	o.banner = BANNER_2;
	o.hassh = HASSH_2;
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.known && v.changed, "new key of the same type is a change");
	CHECK_EQ_STR(v.remembered.fingerprint, FP_A);
	CHECK_EQ_STR(v.remembered.banner, BANNER_1);
	CHECK_EQ_STR(v.remembered.hassh, HASSH_1);
	CHECK_EQ_INT(v.remembered.first_seen, T0);
	CHECK_EQ_INT(v.remembered.last_seen, T0 + 10 * SEC);
	CHECK_EQ_INT(v.remembered.times_seen, 2);
	CHECK_EQ_INT(v.presented.times_seen, 0);
	/* Still a change the next time: the remembered key stays until forgotten. */
	o.ts_us = T0 + 40 * SEC;
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.changed, "the new key keeps being flagged");
	CHECK_EQ_INT(v.presented.times_seen, 1);
	CHECK_EQ_INT(v.presented.first_seen, T0 + 30 * SEC);
	/* The old key again: no change. */
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_A, T0 + 50 * SEC);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.known && !v.changed, "the remembered key is no change");
	/* Bad input records nothing. */
	o = obs("198.18.0.2", 22, "", FP_A, T0);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), KW_ERR_MALFORMED);
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_A, T0);
	o.family = 5;
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), KW_ERR_MALFORMED);

	/* Batch commit: 7 sightings with batches of 4 and 50 ms: all in the file
	 * soon, while the sensor still has it open (a concurrent reader). */
	for (int i = 0; i < 100 && n < 4; i++) {
		n = list_file(path, &rows);
		if (n < 4)
			sleep_ms(20);
	}
	CHECK_EQ_INT(n, 4);
	hoststore_get_stats(hs, &st);
	CHECK_EQ_INT(st.observed, 7);
	CHECK_EQ_INT(st.committed, 7);
	CHECK(st.transactions >= 2, "batches of 4: at least 2 transactions (%llu)",
	      (unsigned long long)st.transactions);
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	CHECK_EQ_INT(st.dropped, 0);
	CHECK_EQ_INT(st.cache_keys, 4);

	CHECK_EQ_INT(list_file(path, &rows), 4);
	/* Ordered by server, port, type, first sighting; counts and times kept. */
	CHECK_EQ_STR(rows.line[0], "198.18.0.2 22 ecdsa-sha2-nistp256 " FP_E
	                           " remembered 1700000020000000 1700000020000000 1 1");
	CHECK_EQ_STR(rows.line[1], "198.18.0.2 22 ssh-ed25519 " FP_A
	                           " remembered 1700000000000000 1700000050000000 3 1");
	CHECK_EQ_STR(rows.line[2], "198.18.0.2 22 ssh-ed25519 " FP_B
	                           " changed 1700000030000000 1700000040000000 2 1");
	CHECK_EQ_STR(rows.line[3], "198.18.0.2 2222 ssh-ed25519 " FP_B
	                           " remembered 1700000025000000 1700000025000000 1 1");
}

static void test_reopen(void)
{
	struct hoststore *hs = open_sensor(path, 0, 0, 0, 0);
	struct hoststore_obs o;
	struct hoststore_verdict v;
	struct hoststore_stats st;

	if (hs == NULL)
		return;
	/* The cache was loaded from the file: the change is still a change. */
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_B, T0 + 60 * SEC);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.known && v.changed, "after reopen, the new key is still a change");
	CHECK_EQ_STR(v.remembered.fingerprint, FP_A);
	CHECK_EQ_INT(v.remembered.last_seen, T0 + 50 * SEC);
	CHECK_EQ_INT(v.presented.times_seen, 2);
	o = obs("198.18.0.2", 22, "ecdsa-sha2-nistp256", FP_E, T0 + 61 * SEC);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.known && !v.changed, "after reopen, the ECDSA key is known");
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	CHECK_EQ_INT(st.committed, 2);
}

static void test_forget_admin(void)
{
	struct hoststore *a = open_admin(path);
	uint64_t removed = 99;
	struct rows rows;
	char err[256];

	if (a == NULL)
		return;
	CHECK_EQ_INT(hoststore_forget(a, "198.18.0.2", 2222, &removed, err, sizeof(err)), 0);
	CHECK_EQ_INT(removed, 1);
	CHECK_EQ_INT(hoststore_forget(a, "198.18.0.99", -1, &removed, err, sizeof(err)), 0);
	CHECK_EQ_INT(removed, 0);
	hoststore_close(a, NULL, NULL, 0);
	CHECK_EQ_INT(list_file(path, &rows), 3);
}

static void test_forget_while_running(void)
{
	/* Long batches: the sightings below stay queued across the forget. */
	struct hoststore *hs = open_sensor(path, 1000, 60000, 0, 0), *a;
	struct hoststore_obs o;
	struct hoststore_verdict v;
	struct hoststore_stats st;
	struct rows rows;
	uint64_t removed = 0;
	char err[256];
	int picked = 0;

	if (hs == NULL)
		return;
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_B, T0 + 70 * SEC);
	CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
	CHECK(v.changed, "before the forget: changed");
	/* The operator forgets the server while the sensor runs. */
	a = open_admin(path);
	if (a == NULL)
		return;
	CHECK_EQ_INT(hoststore_forget(a, "198.18.0.2", -1, &removed, err, sizeof(err)), 0);
	CHECK_EQ_INT(removed, 3);
	hoststore_close(a, NULL, NULL, 0);
	/* Closing commits the queue: the writer finds the forget inside that
	 * transaction, before writing anything. */
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	/* The queued sighting of FP_B predates the forget: it must not bring
	 * the server back. */
	CHECK_EQ_INT(st.forgets, 1);
	CHECK_EQ_INT(list_file(path, &rows), 0);

	/* Now with a sensor that polls every 50 ms: the forget reaches its cache. */
	hs = open_sensor(path, 1000, 50, 0, 0);
	if (hs == NULL)
		return;
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_A, T0 + 80 * SEC);
	hoststore_observe(hs, &o, &v);
	CHECK(!v.known, "forgotten server is new again");
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_B, T0 + 81 * SEC);
	hoststore_observe(hs, &o, &v);
	CHECK(v.changed, "B is a change against A");
	a = open_admin(path);
	if (a == NULL)
		return;
	CHECK_EQ_INT(hoststore_forget(a, "198.18.0.2", 22, &removed, err, sizeof(err)), 0);
	hoststore_close(a, NULL, NULL, 0);
	for (int i = 0; i < 200 && !picked; i++) {
		hoststore_get_stats(hs, &st);
		picked = st.forgets > 0;
		if (!picked)
			sleep_ms(10);
	}
	CHECK(picked, "the running sensor picked up the forget");
	o = obs("198.18.0.2", 22, "ssh-ed25519", FP_B, T0 + 90 * SEC);
	hoststore_observe(hs, &o, &v);
	CHECK(!v.known && !v.changed, "after the forget, the new key is accepted");
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	CHECK_EQ_INT(list_file(path, &rows), 1);
	CHECK_EQ_STR(rows.line[0], "198.18.0.2 22 ssh-ed25519 " FP_B
	                           " remembered 1700000090000000 1700000090000000 1 1");
}

static void test_shared(void)
{
	char p[128];
	struct hoststore *hs;
	struct hoststore_obs o;
	struct hoststore_verdict v;
	const char *addrs[] = {"198.18.1.1", "198.18.1.2", "2001:db8::5", "198.18.1.3"};

	snprintf(p, sizeof(p), "%s/shared.db", dir);
	if ((hs = open_sensor(p, 0, 0, 3, 0)) == NULL)
		return;
	for (int i = 0; i < 4; i++) {
		o = obs(addrs[i], 22, "ssh-ed25519", FP_S, T0 + (uint64_t)i * SEC);
		CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
		CHECK_EQ_INT(v.share_count, i + 1);
		CHECK_EQ_INT(v.shared, i == 3);
		/* The same address on another port is still one address. */
		o.port = 2222;
		CHECK_EQ_INT(hoststore_observe(hs, &o, &v), 0);
		CHECK_EQ_INT(v.share_count, i + 1);
	}
	CHECK_EQ_INT(v.naddrs, 4);
	CHECK_EQ_STR(v.addrs[0], "198.18.1.3");
	CHECK_EQ_INT(v.share_threshold, 3);
	hoststore_close(hs, NULL, NULL, 0);
	/* Reloaded, the count survives. */
	if ((hs = open_sensor(p, 0, 0, 3, 0)) == NULL)
		return;
	o = obs("198.18.1.1", 22, "ssh-ed25519", FP_S, T0 + 9 * SEC);
	hoststore_observe(hs, &o, &v);
	CHECK(v.shared && v.share_count == 4, "shared after reload (%u)", v.share_count);
	hoststore_close(hs, NULL, NULL, 0);
}

static void test_bounds(void)
{
	char p[128], fp[64], first[64], addr[32];
	struct hoststore *hs;
	struct hoststore_obs o;
	struct hoststore_verdict v;
	struct hoststore_stats st;
	struct rows rows;

	snprintf(p, sizeof(p), "%s/bounds.db", dir);
	/* A cache of 3 keys and 5 servers: the least recently seen go, the file keeps all. */
	if ((hs = open_sensor(p, 0, 0, 0, 3)) == NULL)
		return;
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "198.18.2.%d", i + 1);
		o = obs(addr, 22, "ssh-ed25519", FP_A, T0 + (uint64_t)i * SEC);
		hoststore_observe(hs, &o, &v);
	}
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	CHECK_EQ_INT(st.cache_keys, 3);
	CHECK_EQ_INT(st.cache_evicted, 2);
	CHECK_EQ_INT(st.committed, 5);
	CHECK_EQ_INT(list_file(p, &rows), 5);
	/* Reopened with room for 3: the 3 most recent are loaded. */
	if ((hs = open_sensor(p, 0, 0, 0, 3)) == NULL)
		return;
	o = obs("198.18.2.5", 22, "ssh-ed25519", FP_B, T0 + 10 * SEC);
	hoststore_observe(hs, &o, &v);
	CHECK(v.changed, "most recent server loaded");
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	CHECK_EQ_INT(st.not_loaded, 2);

	snprintf(first, sizeof(first), "SHA256:%043d", 0);
	/* A server with a new key per connection: the cache keeps 16 per type, the
	 * first one (the remembered key) always among them. */
	snprintf(p, sizeof(p), "%s/honeypot.db", dir);
	if ((hs = open_sensor(p, 0, 0, 0, 0)) == NULL)
		return;
	for (int i = 0; i < 40; i++) {
		snprintf(fp, sizeof(fp), "SHA256:%043d", i);
		o = obs("198.18.3.1", 22, "ssh-ed25519", fp, T0 + (uint64_t)i * SEC);
		hoststore_observe(hs, &o, &v);
		if (i > 0)
			CHECK(v.changed && strcmp(v.remembered.fingerprint, first) == 0,
			      "key %d: a change against the first", i);
	}
	CHECK_EQ_INT(hoststore_close(hs, &st, NULL, 0), 0);
	CHECK_EQ_INT(st.cache_keys, HOSTSTORE_KEYS_PER_GROUP);
	CHECK_EQ_INT(list_file(p, &rows), 40);
}

static void test_refuse(void)
{
	struct hoststore_config cfg = {.mode = HOSTSTORE_ADMIN};
	struct hoststore *hs = NULL;
	char p[128], err[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/missing.db", dir);
	cfg.path = p;
	CHECK_EQ_INT(hoststore_open(&hs, &cfg, err, sizeof(err)), KW_ERR_IO);
	CHECK(hs == NULL && strstr(err, "missing.db") != NULL, "missing file named: %s", err);
	CHECK(access(p, F_OK) != 0, "admin mode does not create the file");

	snprintf(p, sizeof(p), "%s/text.db", dir);
	if ((f = fopen(p, "w")) != NULL) {
		fputs("this is not a database, just some text that is long enough to matter\n", f);
		fclose(f);
	}
	cfg.path = p;
	cfg.mode = HOSTSTORE_SENSOR;
	CHECK(hoststore_open(&hs, &cfg, err, sizeof(err)) != 0, "a text file is refused");
	CHECK(hs == NULL, "nothing returned");

	/* Another program's SQLite file: refused, not modified. */
	snprintf(p, sizeof(p), "%s/other.db", dir);
	{
		char cmd[256];
		snprintf(cmd, sizeof(cmd),
		         "sqlite3 '%s' 'CREATE TABLE t(x); INSERT INTO t VALUES(1);' 2>/dev/null",
		         p);
		if (system(cmd) == 0) {
			cfg.path = p;
			CHECK(hoststore_open(&hs, &cfg, err, sizeof(err)) != 0,
			      "another SQLite file is refused");
			CHECK(strstr(err, "not a kexwatch state file") != NULL, "says why: %s",
			      err);
		}
	}
}

static void test_addr(void)
{
	char out[HOSTSTORE_ADDR_LEN];
	uint8_t fam, a[16];

	CHECK_EQ_INT(hoststore_addr_canon("2001:DB8:0:0::1", out, &fam, a), 0);
	CHECK_EQ_STR(out, "2001:db8::1");
	CHECK_EQ_INT(fam, 6);
	CHECK_EQ_INT(hoststore_addr_canon("198.18.0.2", out, &fam, a), 0);
	CHECK_EQ_STR(out, "198.18.0.2");
	CHECK_EQ_INT(fam, 4);
	CHECK_EQ_INT(a[3], 2);
	CHECK_EQ_INT(hoststore_addr_canon("198.18.0", out, NULL, NULL), KW_ERR_MALFORMED);
	CHECK_EQ_INT(hoststore_addr_canon("[2001:db8::1]", out, NULL, NULL), KW_ERR_MALFORMED);
	CHECK_EQ_INT(hoststore_addr_canon("", out, NULL, NULL), KW_ERR_MALFORMED);
}

/* fake_flow: a connection from 198.18.0.1 to server:22 whose server sent key. */
static void fake_flow(struct flow *f, const uint8_t server[4], const char *type, const char *fp,
                      const char *banner, const char *hassh, uint64_t t)
{
	static const uint8_t client[4] = {198, 18, 0, 1};

	memset(f, 0, sizeof(*f));
	f->key.family = 4;
	memcpy(f->key.src, client, 4);
	memcpy(f->key.dst, server, 4);
	f->key.sport = 50000;
	f->key.dport = 22;
	f->initiator_known = 1;
	f->t_first = t;
	f->ssh.client_dir = 0;
	f->ssh.role_source = SSH_ROLE_KEX_MESSAGES;
	f->ssh.hostkey.present = 1;
	snprintf(f->ssh.hostkey.key.type, sizeof(f->ssh.hostkey.key.type), "%s", type);
	snprintf(f->ssh.hostkey.key.fingerprint, sizeof(f->ssh.hostkey.key.fingerprint), "%s", fp);
	f->ssh.dir[1].banner = (uint8_t *)banner;
	f->ssh.dir[1].banner_len = (uint32_t)strlen(banner);
	snprintf(f->ssh.dir[1].hassh, sizeof(f->ssh.dir[1].hassh), "%s", hassh);
}

static struct arena arena;

/* check judges f's host key into v, as verdict_judge does after the other diagnoses. */
static void check(struct hoststore *hs, const struct flow *f, int client_dir, struct verdict *v)
{
	v->client_dir = client_dir;
	arena_reset(&arena);
	hostkey_check(hs, f, v, &arena);
}

static const struct diagnosis *find_code(const struct verdict *v, enum diag_code code, uint32_t *at)
{
	for (uint32_t i = 0; i < v->ndiag; i++)
		if (v->diag[i].code == code) {
			if (at != NULL)
				*at = i;
			return &v->diag[i];
		}
	return NULL;
}

static const char *ev_str(const struct diagnosis *d, const char *k)
{
	const struct diag_evidence *e = diagnosis_evidence(d, k);

	return e != NULL && e->type == EV_TEXT ? e->v.s : NULL;
}

static int64_t ev_int(const struct diagnosis *d, const char *k)
{
	const struct diag_evidence *e = diagnosis_evidence(d, k);

	return e != NULL && (e->type == EV_INT || e->type == EV_BOOL) ? e->v.i : -1;
}

static void test_hostcheck(void)
{
	static const uint8_t s1[4] = {198, 18, 0, 2};
	char p[128];
	struct hoststore *hs;
	struct flow *f = calloc(1, sizeof(*f));
	struct verdict *v = calloc(1, sizeof(*v));
	const struct diagnosis *d;
	uint32_t at = 99;

	snprintf(p, sizeof(p), "%s/hostcheck.db", dir);
	arena_init(&arena);
	if (f == NULL || v == NULL || (hs = open_sensor(p, 0, 0, 3, 0)) == NULL) {
		free(f);
		free(v);
		return;
	}
	/* Nothing without a store or a host key. */
	fake_flow(f, s1, "ssh-ed25519", FP_A, BANNER_1, HASSH_1, T0);
	check(NULL, f, 0, v);
	CHECK_EQ_INT(v->ndiag, 0);
	check(hs, f, 0, v);
	CHECK_EQ_INT(v->ndiag, 0);
	/* The same key type, a new key: host_key_changed, before any warning. */
	v->diag[0] = (struct diagnosis){.code = DIAG_WEAK_ALGORITHM, .severity = SEV_WARNING};
	v->ndiag = 1;
	fake_flow(f, s1, "ssh-ed25519", FP_B, BANNER_1, HASSH_1, T0 + SEC);
	check(hs, f, 0, v);
	d = find_code(v, DIAG_HOST_KEY_CHANGED, &at);
	CHECK(d != NULL, "host_key_changed reported");
	CHECK_EQ_INT(at, 0);
	CHECK_EQ_INT(v->ndiag, 2);
	CHECK_EQ_INT(v->diag[1].code, DIAG_WEAK_ALGORITHM);
	if (d != NULL) {
		CHECK_EQ_INT(d->severity, SEV_ERROR);
		CHECK_EQ_STR(ev_str(d, "old_fingerprint"), FP_A);
		CHECK_EQ_STR(ev_str(d, "new_fingerprint"), FP_B);
		CHECK_EQ_STR(ev_str(d, "server_ip"), "198.18.0.2");
		CHECK_EQ_INT(ev_int(d, "server_port"), 22);
		CHECK_EQ_STR(ev_str(d, "key_type"), "ssh-ed25519");
		CHECK_EQ_STR(ev_str(d, "old_last_seen"), "2023-11-14T22:13:20.000000+0000");
		CHECK_EQ_INT(ev_int(d, "banner_changed"), 0);
		CHECK_EQ_INT(ev_int(d, "hassh_server_changed"), 0);
		CHECK(d->symptom != NULL, "client symptom");
	}
	/* With a new banner and HASSHServer: called out as a proxy. */
	v->ndiag = 0;
	fake_flow(f, s1, "ssh-ed25519", FP_B, BANNER_2, HASSH_2, T0 + 2 * SEC);
	check(hs, f, 0, v);
	d = find_code(v, DIAG_HOST_KEY_CHANGED, NULL);
	CHECK(d != NULL, "host_key_changed again");
	if (d != NULL) {
		CHECK_EQ_INT(ev_int(d, "banner_changed"), 1);
		CHECK_EQ_INT(ev_int(d, "hassh_server_changed"), 1);
		CHECK_EQ_STR(ev_str(d, "old_banner"), BANNER_1);
		CHECK_EQ_STR(ev_str(d, "new_banner"), BANNER_2);
		CHECK(strstr(d->summary, "proxy") != NULL, "summary names the proxy");
		CHECK_EQ_INT(ev_int(d, "new_times_seen"), 2);
	}
	/* Another key type: not a change. */
	v->ndiag = 0;
	fake_flow(f, s1, "ecdsa-sha2-nistp256", FP_E, BANNER_1, HASSH_1, T0 + 3 * SEC);
	check(hs, f, 0, v);
	CHECK_EQ_INT(v->ndiag, 0);
	/* A reversed connection: the server opened TCP; port 0 identifies it. */
	v->ndiag = 0;
	fake_flow(f, s1, "ssh-rsa", FP_A, BANNER_1, HASSH_1, T0 + 4 * SEC);
	f->ssh.client_dir = 1;
	memcpy(f->key.src, s1, 4);
	f->ssh.dir[0].banner = f->ssh.dir[1].banner;
	f->ssh.dir[0].banner_len = f->ssh.dir[1].banner_len;
	check(hs, f, 1, v);
	CHECK_EQ_INT(v->ndiag, 0);
	/* One key on four addresses: host_key_shared on the fourth. */
	for (int i = 0; i < 4; i++) {
		uint8_t s[4] = {198, 18, 9, (uint8_t)(i + 1)};
		const struct diag_evidence *e;
		v->ndiag = 0;
		fake_flow(f, s, "ssh-ed25519", FP_S, BANNER_1, HASSH_1, T0 + 5 * SEC);
		check(hs, f, 0, v);
		d = find_code(v, DIAG_HOST_KEY_SHARED, NULL);
		CHECK_EQ_INT(d != NULL, i == 3);
		if (d != NULL) {
			CHECK_EQ_INT(ev_int(d, "address_count"), 4);
			e = diagnosis_evidence(d, "addresses");
			CHECK(e != NULL && e->type == EV_TEXTS && e->v.list.n == 4,
			      "four addresses");
			if (e != NULL && e->v.list.n > 0)
				CHECK_EQ_STR(e->v.list.v[0], "198.18.9.4");
			CHECK_EQ_INT(d->severity, SEV_WARNING);
		}
	}
	hoststore_close(hs, NULL, NULL, 0);

	/* The listing, in both forms. */
	{
		struct hoststore *a = open_admin(p);
		char *buf = NULL, err[256];
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		if (a != NULL && out != NULL) {
			CHECK_EQ_INT(hostlist_write(a, out, 1, err, sizeof(err)), 0);
			fclose(out);
			const char *want = "{\"server\":\"198.18.0.2\",\"port\":22,";
			CHECK(buf != NULL && strstr(buf, want) != NULL, "json listing: %s",
			      buf ? buf : "");
			CHECK(buf != NULL && strstr(buf, "\"status\":\"changed\"") != NULL,
			      "json listing marks the change");
			CHECK(buf != NULL && strstr(buf, "\"port\":0,") != NULL,
			      "server-initiated entry listed with port 0");
			free(buf);
			buf = NULL;
			out = open_memstream(&buf, &len);
			CHECK_EQ_INT(hostlist_write(a, out, 0, err, sizeof(err)), 0);
			fclose(out);
			CHECK(buf != NULL && strstr(buf, "198.18.0.2 port 22\n") != NULL &&
			          strstr(buf, "CHANGED") != NULL,
			      "text listing: %s", buf ? buf : "");
			free(buf);
		}
		hoststore_close(a, NULL, NULL, 0);
	}
	free(f);
	free(v);
	arena_free(&arena);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/kw-hoststore.XXXXXX");
	if (mkdtemp(dir) == NULL)
		tap_skip_all("cannot make a temporary folder");
	snprintf(path, sizeof(path), "%s/state.db", dir);

	test_addr();
	test_record_lookup();
	test_reopen();
	test_forget_admin();
	test_forget_while_running();
	test_shared();
	test_bounds();
	test_refuse();
	test_hostcheck();

	if (getenv("KW_KEEP_TMP") == NULL) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", dir);
	}
	return tap_done();
}
