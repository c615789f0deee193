/*
 * hoststore.c: the host-key store: an SQLite file, an in-memory cache that
 * answers the checks, and a writer thread that commits in batches.
 *
 * Responsible for the file's schema and its safety (WAL, synchronous=NORMAL,
 * one transaction per batch), for keeping the capture thread away from the
 * disk (the cache and the queue), and for picking up --forget done by
 * another process. Not responsible for judging a change (it reports what it
 * knew; verdict/hostkey.c words the diagnosis) or for the command line.
 *
 * Threads: the capture thread owns the cache (hs->groups, fps, afs) and is
 * the only one to call hoststore_observe. The writer thread owns the SQLite
 * connection between open and close, and its batch and tombstones. The two
 * share only what is under hs->mu: the queue, the forgets the writer found,
 * the counters and the last error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "hash.h"
#include "hoststore.h"
#include "list.h"
#include "thread.h"

/* The file says it is ours ('kexw') and which schema it has. */
#define HS_APPLICATION_ID 0x6b657877
#define HS_SCHEMA_VERSION 1
/* How long a writer waits for another writer (a --forget) to finish. */
#define HS_BUSY_MS 5000
/* Failed transactions retried before their observations are dropped. */
#define HS_RETRIES 3

static const char hs_schema[] =
    "CREATE TABLE IF NOT EXISTS host_keys("
    " server TEXT NOT NULL,"  /* canonical address text */
    " port INTEGER NOT NULL," /* 0: the server opened the TCP connection */
    " key_type TEXT NOT NULL,"
    " fingerprint TEXT NOT NULL,"   /* SHA256:... as ssh-keygen -l prints it */
    " first_seen INTEGER NOT NULL," /* capture time, microseconds since 1970 */
    " last_seen INTEGER NOT NULL,"
    " times_seen INTEGER NOT NULL,"
    " banner TEXT NOT NULL DEFAULT '',"       /* last seen with this key, escaped */
    " hassh_server TEXT NOT NULL DEFAULT ''," /* last seen with this key */
    " PRIMARY KEY(server, port, key_type, fingerprint)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS host_keys_by_fingerprint ON host_keys(fingerprint, server);"
    "CREATE TABLE IF NOT EXISTS forgotten("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " server TEXT NOT NULL,"
    " port INTEGER NOT NULL,"           /* -1: every port */
    " at INTEGER NOT NULL);"            /* wall clock, microseconds since 1970 */
    "PRAGMA application_id=1801812087;" /* HS_APPLICATION_ID */
    "PRAGMA user_version=1;";

/* One sighting counts once: first/last widen, the count grows, and banner and
 * HASSHServer follow the latest sighting. */
static const char hs_upsert_sql[] =
    "INSERT INTO host_keys(server, port, key_type, fingerprint, first_seen, last_seen,"
    " times_seen, banner, hassh_server) VALUES(?1, ?2, ?3, ?4, ?5, ?5, 1, ?6, ?7)"
    " ON CONFLICT(server, port, key_type, fingerprint) DO UPDATE SET"
    " first_seen = min(first_seen, excluded.first_seen),"
    " last_seen = max(last_seen, excluded.last_seen),"
    " times_seen = times_seen + 1,"
    " banner = CASE WHEN excluded.last_seen >= last_seen AND excluded.banner <> ''"
    "   THEN excluded.banner ELSE banner END,"
    " hassh_server = CASE WHEN excluded.last_seen >= last_seen AND excluded.hassh_server <> ''"
    "   THEN excluded.hassh_server ELSE hassh_server END";

static const char hs_forgotten_sql[] =
    "SELECT seq, server, port FROM forgotten WHERE seq > ?1 ORDER BY seq LIMIT 1024";

/* ------------------------------------------------------------------ cache */

struct hs_fp;
struct hs_group;

/* One fingerprint of one server, port and key type. */
struct hs_key {
	struct hs_group *group;
	struct hs_key *gnext; /* next key of the group */
	struct hs_fp *fp;
	struct list_head fnode; /* on fp->keys: the keys with this fingerprint */
	uint64_t first_seen, last_seen, times_seen;
	char *banner; /* owned; NULL: none */
	char hassh[HOSTSTORE_HASSH_LEN];
};

/* One server, port and key type. */
struct hs_group {
	struct hs_group *hnext; /* hash chain */
	struct list_head lru;   /* on hs->lru: least recently seen at the tail */
	uint32_t hash;
	uint8_t family, addr[16];
	uint16_t port;
	char type[HOSTSTORE_TYPE_LEN];
	struct hs_key *keys;
	uint32_t nkeys;
};

/* One fingerprint, and how many distinct server addresses present it. */
struct hs_fp {
	struct hs_fp *hnext;
	uint32_t hash;
	char fingerprint[HOSTSTORE_FP_LEN];
	struct list_head keys; /* hs_key.fnode, the latest added first */
	uint32_t naddrs;
};

/* One (fingerprint, address) pair with the number of its keys (ports). */
struct hs_af {
	struct hs_af *hnext;
	uint32_t hash;
	const struct hs_fp *fp;
	uint8_t family, addr[16];
	uint32_t refs;
};

/* ------------------------------------------------------------------ queue */

/* One sighting waiting for the writer. */
struct hs_row {
	uint64_t ts;
	uint64_t epoch; /* forgets the capture thread had applied when queued */
	uint16_t port;
	char server[HOSTSTORE_ADDR_LEN];
	char type[HOSTSTORE_TYPE_LEN];
	char fp[HOSTSTORE_FP_LEN];
	char banner[HOSTSTORE_BANNER_MAX + 1];
	char hassh[HOSTSTORE_HASSH_LEN];
};

/* A forget found in the file: rows queued before the capture thread applied
 * it (epoch below) are stale and must not bring the keys back. */
struct hs_tomb {
	char server[HOSTSTORE_ADDR_LEN];
	int port; /* -1: every port */
	uint64_t epoch;
};

struct hoststore {
	enum hoststore_mode mode;
	sqlite3 *db;
	uint32_t share_threshold, cache_max, batch_records, batch_ms, queue_max;

	/* Cache: the capture thread's. */
	struct hash_key key; /* the process's hash key */
	uint32_t mask;       /* buckets - 1, for all three tables */
	struct hs_group **groups;
	struct hs_fp **fps;
	struct hs_af **afs;
	struct list_head lru; /* hs_group.lru, most recently seen first */
	uint64_t nkeys;
	uint64_t epoch; /* forgets applied to the cache */

	/* Shared with the writer thread, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int thread_started, stop;
	struct hs_row *queue;
	uint32_t qhead, qcount;
	uint64_t first_pending_ms;
	struct hs_tomb *posted; /* forgets for the capture thread to apply */
	uint32_t nposted, capposted;
	atomic_uint forgets_waiting; /* nposted > 0, readable without the lock */
	struct hoststore_stats st;
	char last_error[256];

	/* The writer thread's. */
	pthread_t thread;
	struct hs_row *batch;
	uint32_t nbatch, retries;
	struct hs_tomb *tombs;
	uint32_t ntombs, captombs;
	uint64_t w_epoch;
	int64_t forget_seq;
	sqlite3_stmt *upsert, *forgotten;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* copy_str copies src into dst[size], cut and always terminated. */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static size_t addr_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

/* The three tables' keys, hashed with the process's key (hash.h). */
static uint32_t group_hash(const struct hoststore *hs, uint8_t family, const uint8_t *addr,
                           uint16_t port, const char *type)
{
	uint8_t k[3 + 16 + HOSTSTORE_TYPE_LEN];
	size_t al = addr_len(family), tl = strnlen(type, HOSTSTORE_TYPE_LEN);

	k[0] = family;
	k[1] = (uint8_t)(port >> 8);
	k[2] = (uint8_t)port;
	memcpy(k + 3, addr, al);
	memcpy(k + 3 + al, type, tl);
	return (uint32_t)hash_bytes(&hs->key, k, 3 + al + tl);
}

static uint32_t fp_hash(const struct hoststore *hs, const char *fp)
{
	return (uint32_t)hash_bytes(&hs->key, fp, strlen(fp));
}

static uint32_t af_hash(const struct hoststore *hs, const struct hs_fp *fp, uint8_t family,
                        const uint8_t *addr)
{
	uint8_t k[4 + 1 + 16];
	size_t al = addr_len(family);

	memcpy(k, &fp->hash, 4);
	k[4] = family;
	memcpy(k + 5, addr, al);
	return (uint32_t)hash_bytes(&hs->key, k, 5 + al);
}

static int addr_eq(uint8_t fa, const uint8_t *a, uint8_t fb, const uint8_t *b)
{
	return fa == fb && memcmp(a, b, addr_len(fa)) == 0;
}

static struct hs_group *group_find(struct hoststore *hs, uint8_t family, const uint8_t *addr,
                                   uint16_t port, const char *type)
{
	uint32_t h = group_hash(hs, family, addr, port, type);

	for (struct hs_group *g = hs->groups[h & hs->mask]; g != NULL; g = g->hnext)
		if (g->hash == h && g->port == port && addr_eq(g->family, g->addr, family, addr) &&
		    strcmp(g->type, type) == 0)
			return g;
	return NULL;
}

static struct hs_fp *fp_find(struct hoststore *hs, const char *fingerprint)
{
	uint32_t h = fp_hash(hs, fingerprint);

	for (struct hs_fp *f = hs->fps[h & hs->mask]; f != NULL; f = f->hnext)
		if (f->hash == h && strcmp(f->fingerprint, fingerprint) == 0)
			return f;
	return NULL;
}

static struct hs_af **af_slot(struct hoststore *hs, const struct hs_fp *fp, uint8_t family,
                              const uint8_t *addr, uint32_t *hash)
{
	uint32_t h = af_hash(hs, fp, family, addr);
	struct hs_af **pp = &hs->afs[h & hs->mask];

	*hash = h;
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->fp == fp &&
		    addr_eq((*pp)->family, (*pp)->addr, family, addr))
			break;
	return pp;
}

/* key_free removes k from its group, fingerprint and address count, and frees it. */
static void key_free(struct hoststore *hs, struct hs_key *k)
{
	struct hs_group *g = k->group;
	struct hs_fp *fp = k->fp;
	struct hs_key **pp;
	struct hs_af **ap;
	uint32_t h;

	for (pp = &g->keys; *pp != NULL; pp = &(*pp)->gnext)
		if (*pp == k) {
			*pp = k->gnext;
			g->nkeys--;
			break;
		}
	list_del(&k->fnode);
	ap = af_slot(hs, fp, g->family, g->addr, &h);
	if (*ap != NULL && --(*ap)->refs == 0) {
		struct hs_af *a = *ap;
		*ap = a->hnext;
		free(a);
		fp->naddrs--;
	}
	if (list_is_empty(&fp->keys)) {
		struct hs_fp **fpp = &hs->fps[fp->hash & hs->mask];
		for (; *fpp != NULL; fpp = &(*fpp)->hnext)
			if (*fpp == fp) {
				*fpp = fp->hnext;
				break;
			}
		free(fp);
	}
	free(k->banner);
	free(k);
	hs->nkeys--;
}

static void group_free(struct hoststore *hs, struct hs_group *g)
{
	struct hs_group **pp = &hs->groups[g->hash & hs->mask];

	while (g->keys != NULL)
		key_free(hs, g->keys);
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == g) {
			*pp = g->hnext;
			break;
		}
	list_del(&g->lru);
	free(g);
}

static struct hs_group *group_new(struct hoststore *hs, uint8_t family, const uint8_t *addr,
                                  uint16_t port, const char *type, int at_tail)
{
	struct hs_group *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->family = family;
	memcpy(g->addr, addr, addr_len(family));
	g->port = port;
	copy_str(g->type, sizeof(g->type), type);
	g->hash = group_hash(hs, family, addr, port, g->type);
	g->hnext = hs->groups[g->hash & hs->mask];
	hs->groups[g->hash & hs->mask] = g;
	if (at_tail)
		list_add_tail(&hs->lru, &g->lru);
	else
		list_add_head(&hs->lru, &g->lru);
	return g;
}

/* remembered_key: the key seen first, the one a change is measured against. */
static struct hs_key *remembered_key(const struct hs_group *g)
{
	struct hs_key *best = NULL;

	for (struct hs_key *k = g->keys; k != NULL; k = k->gnext)
		if (best == NULL || k->first_seen < best->first_seen)
			best = k;
	return best;
}

static struct hs_key *group_key(const struct hs_group *g, const char *fingerprint)
{
	for (struct hs_key *k = g->keys; k != NULL; k = k->gnext)
		if (strcmp(k->fp->fingerprint, fingerprint) == 0)
			return k;
	return NULL;
}

/*
 * key_add adds fingerprint to g. A full group gives up its least recently
 * seen key other than the one to remember; when that would be the new key
 * itself, nothing is added (*out NULL, 0). 0 or KW_ERR_NOMEM.
 */
static int key_add(struct hoststore *hs, struct hs_group *g, const char *fingerprint,
                   uint64_t first_seen, uint64_t last_seen, struct hs_key **out)
{
	struct hs_key *k, *rem, *victim = NULL;
	struct hs_fp *fp;
	struct hs_af **ap;
	uint32_t h;

	*out = NULL;
	if (g->nkeys >= HOSTSTORE_KEYS_PER_GROUP) {
		int new_is_rem;
		rem = remembered_key(g);
		new_is_rem = rem == NULL || first_seen < rem->first_seen;
		for (k = g->keys; k != NULL; k = k->gnext)
			if ((new_is_rem || k != rem) &&
			    (victim == NULL || k->last_seen < victim->last_seen))
				victim = k;
		if (victim == NULL || (!new_is_rem && last_seen < victim->last_seen))
			return KW_OK; /* the new key would be the one to go */
		key_free(hs, victim);
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return KW_ERR_NOMEM;
	if ((fp = fp_find(hs, fingerprint)) == NULL) {
		if ((fp = calloc(1, sizeof(*fp))) == NULL) {
			free(k);
			return KW_ERR_NOMEM;
		}
		copy_str(fp->fingerprint, sizeof(fp->fingerprint), fingerprint);
		list_init(&fp->keys);
		fp->hash = fp_hash(hs, fp->fingerprint);
		fp->hnext = hs->fps[fp->hash & hs->mask];
		hs->fps[fp->hash & hs->mask] = fp;
	}
	ap = af_slot(hs, fp, g->family, g->addr, &h);
	if (*ap == NULL) {
		struct hs_af *a = calloc(1, sizeof(*a));
		if (a == NULL) {
			if (list_is_empty(&fp->keys)) {
				hs->fps[fp->hash & hs->mask] = fp->hnext;
				free(fp);
			}
			free(k);
			return KW_ERR_NOMEM;
		}
		a->hash = h;
		a->fp = fp;
		a->family = g->family;
		memcpy(a->addr, g->addr, sizeof(a->addr));
		*ap = a;
		fp->naddrs++;
	}
	(*ap)->refs++;
	k->group = g;
	k->fp = fp;
	k->first_seen = first_seen;
	k->last_seen = last_seen;
	k->gnext = g->keys;
	g->keys = k;
	g->nkeys++;
	list_add_head(&fp->keys, &k->fnode);
	hs->nkeys++;
	*out = k;
	return KW_OK;
}

/* key_set_seen records banner and HASSHServer of a sighting at ts. */
static void key_set_seen(struct hs_key *k, uint64_t ts, const char *banner, const char *hassh)
{
	if (ts < k->first_seen)
		k->first_seen = ts;
	if (ts >= k->last_seen) {
		k->last_seen = ts;
		if (banner != NULL && banner[0] != '\0') {
			char *b = strndup(banner, HOSTSTORE_BANNER_MAX);
			if (b != NULL) {
				free(k->banner);
				k->banner = b;
			}
		}
		if (hassh != NULL && hassh[0] != '\0')
			copy_str(k->hassh, sizeof(k->hassh), hassh);
	}
}

/* cache_make_room evicts least recently seen servers (not keep) until one
 * more key fits. */
static void cache_make_room(struct hoststore *hs, const struct hs_group *keep)
{
	struct list_head *n;

	while (hs->nkeys >= hs->cache_max && (n = list_last(&hs->lru)) != NULL) {
		struct hs_group *g = list_entry(n, struct hs_group, lru);
		if (g == keep) {
			if ((n = list_prev(&hs->lru, n)) == NULL)
				return;
			g = list_entry(n, struct hs_group, lru);
		}
		hs->st.cache_evicted += g->nkeys;
		group_free(hs, g);
	}
}

/* cache_forget drops every key of server (text) on port (< 0: all ports). */
static void cache_forget(struct hoststore *hs, const char *server, int port)
{
	uint8_t family, addr[16];
	char canon[HOSTSTORE_ADDR_LEN];
	struct hs_group *g, *next;

	if (hoststore_addr_canon(server, canon, &family, addr) != 0)
		return;
	list_for_each_entry_safe(g, next, &hs->lru, lru) {
		if (addr_eq(g->family, g->addr, family, addr) && (port < 0 || g->port == port))
			group_free(hs, g);
	}
}

static void cache_free(struct hoststore *hs)
{
	while (!list_is_empty(&hs->lru))
		group_free(hs, list_entry(hs->lru.next, struct hs_group, lru));
}

static void fill_key(struct hoststore_key *out, const struct hs_key *k)
{
	copy_str(out->fingerprint, sizeof(out->fingerprint), k->fp->fingerprint);
	copy_str(out->banner, sizeof(out->banner), k->banner);
	copy_str(out->hassh, sizeof(out->hassh), k->hassh);
	out->first_seen = k->first_seen;
	out->last_seen = k->last_seen;
	out->times_seen = k->times_seen;
}

/* ------------------------------------------------------------------ SQL */

static int exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return KW_ERR_IO;
	}
	return KW_OK;
}

/* pragma_int reads a PRAGMA that returns one integer. */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return KW_ERR_IO;
	r = sqlite3_step(st);
	*out = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? KW_OK : KW_ERR_IO;
}

/*
 * schema_check makes sure the file is a kexwatch store this program reads,
 * creating the schema in an empty file (SENSOR mode).
 */
static int schema_check(struct hoststore *hs, const char *path, char *err, size_t errlen)
{
	int64_t app = 0, ver = 0, tables = 0;
	char why[256] = "";

	if (pragma_int(hs->db, "PRAGMA application_id", &app) != 0 ||
	    pragma_int(hs->db, "PRAGMA user_version", &ver) != 0 ||
	    pragma_int(hs->db, "SELECT count(*) FROM sqlite_master", &tables) != 0) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(hs->db));
		return KW_ERR_IO;
	}
	if (app != 0 && app != HS_APPLICATION_ID) {
		set_err(err, errlen, "%s: not a kexwatch state file (application_id %lld)", path,
		        (long long)app);
		return KW_ERR_IO;
	}
	if (app == 0 && tables > 0) {
		set_err(err, errlen, "%s: an SQLite file but not a kexwatch state file", path);
		return KW_ERR_IO;
	}
	if (ver > HS_SCHEMA_VERSION) {
		set_err(err, errlen,
		        "%s: state file of a newer kexwatch (schema %lld, this one reads %d)", path,
		        (long long)ver, HS_SCHEMA_VERSION);
		return KW_ERR_IO;
	}
	if (app == HS_APPLICATION_ID && ver == HS_SCHEMA_VERSION)
		return KW_OK;
	if (hs->mode == HOSTSTORE_ADMIN) {
		set_err(err, errlen, "%s: not a kexwatch state file (empty)", path);
		return KW_ERR_IO;
	}
	if (exec_sql(hs->db, "BEGIN IMMEDIATE", why, sizeof(why)) != 0 ||
	    exec_sql(hs->db, hs_schema, why, sizeof(why)) != 0 ||
	    exec_sql(hs->db, "COMMIT", why, sizeof(why)) != 0) {
		sqlite3_exec(hs->db, "ROLLBACK", NULL, NULL, NULL);
		set_err(err, errlen, "%s: cannot create the schema: %s", path, why);
		return KW_ERR_IO;
	}
	return KW_OK;
}

/* cache_load reads the keys, most recently seen first, up to cache_max. */
static int cache_load(struct hoststore *hs, const char *path, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT server, port, key_type, fingerprint, first_seen, last_seen, times_seen,"
	    " banner, hassh_server FROM host_keys ORDER BY last_seen DESC";
	sqlite3_stmt *st;
	int r;

	if (sqlite3_prepare_v2(hs->db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(hs->db));
		return KW_ERR_IO;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *server = (const char *)sqlite3_column_text(st, 0);
		int64_t port = sqlite3_column_int64(st, 1);
		const char *type = (const char *)sqlite3_column_text(st, 2);
		const char *fp = (const char *)sqlite3_column_text(st, 3);
		uint8_t family, addr[16];
		char canon[HOSTSTORE_ADDR_LEN];
		struct hs_group *g;
		struct hs_key *k;

		if (hs->nkeys >= hs->cache_max) {
			hs->st.not_loaded++;
			continue;
		}
		/* Rows written by hand or by a damaged program are skipped, not trusted. */
		if (server == NULL || type == NULL || fp == NULL || port < 0 || port > 65535 ||
		    type[0] == '\0' || fp[0] == '\0' ||
		    hoststore_addr_canon(server, canon, &family, addr) != 0) {
			hs->st.not_loaded++;
			continue;
		}
		g = group_find(hs, family, addr, (uint16_t)port, type);
		if (g == NULL && (g = group_new(hs, family, addr, (uint16_t)port, type, 1)) == NULL)
			break;
		if (group_key(g, fp) != NULL)
			continue;
		if (key_add(hs, g, fp, (uint64_t)sqlite3_column_int64(st, 4),
		            (uint64_t)sqlite3_column_int64(st, 5), &k) != 0)
			break;
		if (k == NULL) {
			hs->st.not_loaded++;
			continue;
		}
		k->times_seen = (uint64_t)sqlite3_column_int64(st, 6);
		key_set_seen(k, k->last_seen, (const char *)sqlite3_column_text(st, 7),
		             (const char *)sqlite3_column_text(st, 8));
	}
	sqlite3_finalize(st);
	if (r == SQLITE_ROW) {
		set_err(err, errlen, "%s: out of memory loading the host keys", path);
		return KW_ERR_NOMEM;
	}
	if (r != SQLITE_DONE) {
		set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(hs->db));
		return KW_ERR_IO;
	}
	return KW_OK;
}

/* ------------------------------------------------------------------ writer */

static int tomb_matches(const struct hs_tomb *t, const struct hs_row *row)
{
	return row->epoch < t->epoch && (t->port < 0 || t->port == row->port) &&
	       strcmp(t->server, row->server) == 0;
}

/*
 * poll_forgets reads forgets logged since the last poll: each becomes a
 * tombstone here and is posted to the capture thread. 0 or KW_ERR_IO.
 */
static int poll_forgets(struct hoststore *hs)
{
	struct hs_tomb *found = NULL;
	uint32_t nfound = 0;
	int r, ret = KW_OK;

	sqlite3_reset(hs->forgotten);
	sqlite3_bind_int64(hs->forgotten, 1, hs->forget_seq);
	while ((r = sqlite3_step(hs->forgotten)) == SQLITE_ROW) {
		struct hs_tomb t = {.port = (int)sqlite3_column_int64(hs->forgotten, 2)};
		struct hs_tomb *grown;

		hs->forget_seq = sqlite3_column_int64(hs->forgotten, 0);
		copy_str(t.server, sizeof(t.server),
		         (const char *)sqlite3_column_text(hs->forgotten, 1));
		t.epoch = ++hs->w_epoch;
		if (hs->ntombs == hs->captombs) {
			uint32_t cap = hs->captombs ? hs->captombs * 2 : 8;
			if ((grown = realloc(hs->tombs, cap * sizeof(*grown))) == NULL) {
				ret = KW_ERR_NOMEM;
				break;
			}
			hs->tombs = grown;
			hs->captombs = cap;
		}
		if ((grown = realloc(found, (nfound + 1) * sizeof(*grown))) == NULL) {
			ret = KW_ERR_NOMEM;
			break;
		}
		found = grown;
		hs->tombs[hs->ntombs++] = t;
		found[nfound++] = t;
	}
	if (ret == KW_OK && r != SQLITE_DONE)
		ret = KW_ERR_IO;
	sqlite3_reset(hs->forgotten);
	if (nfound > 0) {
		pthread_mutex_lock(&hs->mu);
		if (hs->nposted + nfound > hs->capposted) {
			uint32_t cap = hs->nposted + nfound + 8;
			struct hs_tomb *grown = realloc(hs->posted, cap * sizeof(*grown));
			if (grown != NULL) {
				hs->posted = grown;
				hs->capposted = cap;
			}
		}
		if (hs->nposted + nfound <= hs->capposted) {
			memcpy(hs->posted + hs->nposted, found, nfound * sizeof(*found));
			hs->nposted += nfound;
			hs->st.forgets += nfound;
			atomic_store_explicit(&hs->forgets_waiting, 1, memory_order_release);
		}
		pthread_mutex_unlock(&hs->mu);
	}
	free(found);
	return ret;
}

/* write_batch commits hs->batch in one transaction; the number written in *n. */
static int write_batch(struct hoststore *hs, uint64_t *n, char *why, size_t whylen)
{
	uint64_t last_epoch = hs->nbatch ? hs->batch[hs->nbatch - 1].epoch : 0;

	*n = 0;
	if (exec_sql(hs->db, "BEGIN IMMEDIATE", why, whylen) != 0)
		return KW_ERR_IO;
	/* Inside the write lock: no forget can commit between this poll and our writes. */
	if (poll_forgets(hs) != 0) {
		set_err(why, whylen, "reading forgotten servers: %s", sqlite3_errmsg(hs->db));
		goto fail;
	}
	for (uint32_t i = 0; i < hs->nbatch; i++) {
		const struct hs_row *row = &hs->batch[i];
		int stale = 0;

		for (uint32_t t = 0; t < hs->ntombs && !stale; t++)
			stale = tomb_matches(&hs->tombs[t], row);
		if (stale)
			continue;
		sqlite3_reset(hs->upsert);
		sqlite3_bind_text(hs->upsert, 1, row->server, -1, SQLITE_STATIC);
		sqlite3_bind_int(hs->upsert, 2, row->port);
		sqlite3_bind_text(hs->upsert, 3, row->type, -1, SQLITE_STATIC);
		sqlite3_bind_text(hs->upsert, 4, row->fp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(hs->upsert, 5, (sqlite3_int64)row->ts);
		sqlite3_bind_text(hs->upsert, 6, row->banner, -1, SQLITE_STATIC);
		sqlite3_bind_text(hs->upsert, 7, row->hassh, -1, SQLITE_STATIC);
		if (sqlite3_step(hs->upsert) != SQLITE_DONE) {
			set_err(why, whylen, "%s", sqlite3_errmsg(hs->db));
			goto fail;
		}
		(*n)++;
	}
	sqlite3_reset(hs->upsert);
	sqlite3_clear_bindings(hs->upsert);
	if (exec_sql(hs->db, "COMMIT", why, whylen) != 0)
		goto fail;
	/* Rows are queued in order: once one carries a tombstone's epoch, no
	 * stale row for it is left. */
	for (uint32_t t = 0; t < hs->ntombs;)
		if (hs->nbatch > 0 && last_epoch >= hs->tombs[t].epoch)
			hs->tombs[t] = hs->tombs[--hs->ntombs];
		else
			t++;
	return KW_OK;
fail:
	sqlite3_reset(hs->upsert);
	sqlite3_clear_bindings(hs->upsert);
	sqlite3_exec(hs->db, "ROLLBACK", NULL, NULL, NULL);
	*n = 0;
	return KW_ERR_IO;
}

static void deadline_after(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000u);
	ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * writer_main: wait until batch_records rows are queued, or the oldest has
 * waited batch_ms, or close; take a batch; commit it outside the lock. With
 * nothing queued it still polls for forgets every batch_ms.
 */
static void *writer_main(void *arg)
{
	struct hoststore *hs = arg;
	uint64_t next_poll = mono_ms() + hs->batch_ms, retry_at = 0;
	char why[256];

	pthread_mutex_lock(&hs->mu);
	for (;;) {
		uint64_t now = mono_ms(), wait_ms, n;
		int due, r;

		if (hs->nbatch > 0)
			due = hs->stop || now >= retry_at;
		else
			due = hs->qcount >= hs->batch_records || hs->stop ||
			      (hs->qcount > 0 && now - hs->first_pending_ms >= hs->batch_ms);
		if (!due && hs->nbatch == 0 && hs->qcount == 0 && now >= next_poll) {
			pthread_mutex_unlock(&hs->mu);
			poll_forgets(hs); /* idle: a read, blocks nobody in WAL mode */
			pthread_mutex_lock(&hs->mu);
			next_poll = now + hs->batch_ms;
			continue;
		}
		if (!due) {
			struct timespec ts;
			wait_ms = next_poll > now ? next_poll - now : 1;
			if (hs->nbatch > 0 && retry_at > now && retry_at - now < wait_ms)
				wait_ms = retry_at - now;
			if (hs->nbatch == 0 && hs->qcount > 0) {
				uint64_t due_at = hs->first_pending_ms + hs->batch_ms;
				if (due_at > now && due_at - now < wait_ms)
					wait_ms = due_at - now;
			}
			deadline_after(&ts, wait_ms);
			pthread_cond_timedwait(&hs->cv, &hs->mu, &ts);
			continue;
		}
		if (hs->nbatch == 0 && hs->qcount == 0)
			break; /* stop, and everything is written */
		if (hs->nbatch == 0) {
			uint32_t take = hs->qcount;
			if (take > hs->batch_records)
				take = hs->batch_records;
			for (uint32_t i = 0; i < take; i++)
				hs->batch[i] = hs->queue[(hs->qhead + i) % hs->queue_max];
			hs->qhead = (hs->qhead + take) % hs->queue_max;
			hs->qcount -= take;
			hs->nbatch = take;
			/* What is left waits at most one more interval. */
			hs->first_pending_ms = now;
		}
		pthread_mutex_unlock(&hs->mu);
		r = write_batch(hs, &n, why, sizeof(why));
		pthread_mutex_lock(&hs->mu);
		next_poll = mono_ms() + hs->batch_ms;
		if (r == KW_OK) {
			hs->st.committed += n;
			hs->st.transactions++;
			hs->nbatch = 0;
			hs->retries = 0;
			continue;
		}
		hs->st.write_errors++;
		copy_str(hs->last_error, sizeof(hs->last_error), why);
		if (hs->stop) {
			/* Closing with a failing file: say what is lost, do not wait. */
			hs->st.dropped += hs->nbatch + hs->qcount;
			hs->nbatch = 0;
			hs->qcount = 0;
			break;
		}
		if (++hs->retries >= HS_RETRIES) {
			hs->st.dropped += hs->nbatch;
			hs->nbatch = 0;
			hs->retries = 0;
		}
		retry_at = mono_ms() + hs->batch_ms;
	}
	pthread_mutex_unlock(&hs->mu);
	return NULL;
}

/* ------------------------------------------------------------------ API */

int hoststore_addr_canon(const char *text, char out[HOSTSTORE_ADDR_LEN], uint8_t *family,
                         uint8_t addr[16])
{
	uint8_t buf[16];
	int af;

	if (text == NULL)
		return KW_ERR_MALFORMED;
	af = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, text, buf) != 1 || inet_ntop(af, buf, out, HOSTSTORE_ADDR_LEN) == NULL)
		return KW_ERR_MALFORMED;
	if (family != NULL)
		*family = af == AF_INET6 ? 6 : 4;
	if (addr != NULL) {
		memset(addr, 0, 16);
		memcpy(addr, buf, af == AF_INET6 ? 16 : 4);
	}
	return KW_OK;
}

static uint32_t pick(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

int hoststore_open(struct hoststore **out, const struct hoststore_config *cfg, char *err,
                   size_t errlen)
{
	struct hoststore *hs;
	pthread_condattr_t ca;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, r, fd;
	uint32_t buckets = 1024;

	*out = NULL;
	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return KW_ERR_NOMEM;
	list_init(&hs->lru);
	hs->mode = cfg->mode;
	hs->share_threshold = pick(cfg->share_threshold, HOSTSTORE_SHARE_THRESHOLD);
	hs->cache_max = pick(cfg->cache_max, HOSTSTORE_CACHE_MAX);
	hs->batch_records = pick(cfg->batch_records, HOSTSTORE_BATCH_RECORDS);
	hs->batch_ms = pick(cfg->batch_ms, HOSTSTORE_BATCH_MS);
	hs->queue_max = pick(cfg->queue_max, HOSTSTORE_QUEUE_MAX);
	if (hs->batch_records > hs->queue_max)
		hs->batch_records = hs->queue_max;
	pthread_mutex_init(&hs->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hs->cv, &ca);
	pthread_condattr_destroy(&ca);

	if (cfg->mode == HOSTSTORE_SENSOR) {
		/* Created here so that it gets our mode (SQLite's -wal and -shm
		 * files copy it): server inventories are not for every user. */
		if ((fd = open(cfg->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
			set_err(err, errlen, "%s: %s", cfg->path, strerror(errno));
			hoststore_close(hs, NULL, NULL, 0);
			return KW_ERR_IO;
		}
		close(fd);
	} else if (access(cfg->path, F_OK) != 0) {
		set_err(err, errlen, "%s: %s", cfg->path, strerror(errno));
		hoststore_close(hs, NULL, NULL, 0);
		return KW_ERR_IO;
	}
	/* NOMUTEX: the connection is used by one thread at a time (the opener,
	 * then the writer thread alone, then the closer after the join). */
	if ((r = sqlite3_open_v2(cfg->path, &hs->db, flags, NULL)) != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", cfg->path,
		        hs->db ? sqlite3_errmsg(hs->db) : sqlite3_errstr(r));
		hoststore_close(hs, NULL, NULL, 0);
		return r == SQLITE_NOMEM ? KW_ERR_NOMEM : KW_ERR_IO;
	}
	sqlite3_busy_timeout(hs->db, HS_BUSY_MS);
	sqlite3_extended_result_codes(hs->db, 1);
	/* WAL: readers never block the writer nor the reverse, and a crash
	 * leaves the last committed state. synchronous=NORMAL: no fsync per
	 * commit (only at checkpoints); durable against a process crash. */
	if (exec_sql(hs->db, "PRAGMA journal_mode=WAL", err, errlen) != 0 ||
	    exec_sql(hs->db, "PRAGMA synchronous=NORMAL", err, errlen) != 0 ||
	    exec_sql(hs->db, "PRAGMA foreign_keys=OFF", err, errlen) != 0) {
		char why[256];
		copy_str(why, sizeof(why), err);
		set_err(err, errlen, "%s: %s", cfg->path, why);
		hoststore_close(hs, NULL, NULL, 0);
		return KW_ERR_IO;
	}
	if ((r = schema_check(hs, cfg->path, err, errlen)) != 0) {
		hoststore_close(hs, NULL, NULL, 0);
		return r;
	}
	if (cfg->mode == HOSTSTORE_ADMIN) {
		*out = hs;
		return KW_OK;
	}

	while (buckets < hs->cache_max && buckets < (1u << 24))
		buckets <<= 1;
	hs->mask = buckets - 1;
	hash_key_get(&hs->key);
	hs->groups = calloc(buckets, sizeof(*hs->groups));
	hs->fps = calloc(buckets, sizeof(*hs->fps));
	hs->afs = calloc(buckets, sizeof(*hs->afs));
	hs->queue = calloc(hs->queue_max, sizeof(*hs->queue));
	hs->batch = calloc(hs->batch_records, sizeof(*hs->batch));
	if (hs->groups == NULL || hs->fps == NULL || hs->afs == NULL || hs->queue == NULL ||
	    hs->batch == NULL) {
		set_err(err, errlen, "%s: out of memory", cfg->path);
		hoststore_close(hs, NULL, NULL, 0);
		return KW_ERR_NOMEM;
	}
	if (sqlite3_prepare_v3(hs->db, hs_upsert_sql, -1, SQLITE_PREPARE_PERSISTENT, &hs->upsert,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v3(hs->db, hs_forgotten_sql, -1, SQLITE_PREPARE_PERSISTENT,
	                       &hs->forgotten, NULL) != SQLITE_OK) {
		set_err(err, errlen, "%s: %s", cfg->path, sqlite3_errmsg(hs->db));
		hoststore_close(hs, NULL, NULL, 0);
		return KW_ERR_IO;
	}
	{
		int64_t seq = 0;
		if (pragma_int(hs->db, "SELECT coalesce(max(seq), 0) FROM forgotten", &seq) != 0) {
			set_err(err, errlen, "%s: %s", cfg->path, sqlite3_errmsg(hs->db));
			hoststore_close(hs, NULL, NULL, 0);
			return KW_ERR_IO;
		}
		hs->forget_seq = seq; /* forgets before we started are already applied */
	}
	if ((r = cache_load(hs, cfg->path, err, errlen)) != 0) {
		hoststore_close(hs, NULL, NULL, 0);
		return r;
	}
	if (kw_thread_start(&hs->thread, writer_main, hs, "kw-hostkeys") != 0) {
		set_err(err, errlen, "%s: cannot start the writer thread", cfg->path);
		hoststore_close(hs, NULL, NULL, 0);
		return KW_ERR_NOMEM;
	}
	hs->thread_started = 1;
	*out = hs;
	return KW_OK;
}

int hoststore_close(struct hoststore *hs, struct hoststore_stats *final, char *err, size_t errlen)
{
	int ret = KW_OK;

	if (hs == NULL)
		return KW_OK;
	if (hs->thread_started) {
		pthread_mutex_lock(&hs->mu);
		hs->stop = 1;
		pthread_cond_signal(&hs->cv);
		pthread_mutex_unlock(&hs->mu);
		pthread_join(hs->thread, NULL);
		if (hs->st.dropped > 0) {
			set_err(err, errlen, "%llu host-key observations were not written%s%s",
			        (unsigned long long)hs->st.dropped, hs->last_error[0] ? ": " : "",
			        hs->last_error);
			ret = KW_ERR_IO;
		}
	}
	if (final != NULL) {
		*final = hs->st;
		final->cache_keys = hs->nkeys;
	}
	sqlite3_finalize(hs->upsert);
	sqlite3_finalize(hs->forgotten);
	if (hs->db != NULL) {
		/* Fold the log back into the file: one file at rest. */
		if (hs->mode == HOSTSTORE_SENSOR)
			sqlite3_exec(hs->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		sqlite3_close_v2(hs->db);
	}
	if (hs->groups != NULL)
		cache_free(hs);
	free(hs->groups);
	free(hs->fps);
	free(hs->afs);
	free(hs->queue);
	free(hs->batch);
	free(hs->tombs);
	free(hs->posted);
	pthread_cond_destroy(&hs->cv);
	pthread_mutex_destroy(&hs->mu);
	free(hs);
	return ret;
}

/* apply_forgets drops from the cache what the writer found forgotten. */
static void apply_forgets(struct hoststore *hs)
{
	struct hs_tomb *list;
	uint32_t n;

	pthread_mutex_lock(&hs->mu);
	list = hs->posted;
	n = hs->nposted;
	hs->posted = NULL;
	hs->nposted = hs->capposted = 0;
	atomic_store_explicit(&hs->forgets_waiting, 0, memory_order_relaxed);
	pthread_mutex_unlock(&hs->mu);
	for (uint32_t i = 0; i < n; i++) {
		cache_forget(hs, list[i].server, list[i].port);
		if (list[i].epoch > hs->epoch)
			hs->epoch = list[i].epoch;
	}
	free(list);
}

/* share_fill lists up to HOSTSTORE_SHARE_LIST distinct addresses of fp, g's first. */
static void share_fill(const struct hs_fp *fp, const struct hs_group *g,
                       struct hoststore_verdict *v)
{
	uint8_t fam[HOSTSTORE_SHARE_LIST], addr[HOSTSTORE_SHARE_LIST][16];
	const struct hs_key *k;
	uint32_t walked = 0;

	v->naddrs = 0;
	fam[0] = g->family;
	memcpy(addr[0], g->addr, 16);
	v->naddrs = 1;
	/* Bounded walk: a key shared by a whole fleet is listed in part. */
	list_for_each_entry(k, &fp->keys, fnode) {
		const struct hs_group *o = k->group;
		uint32_t i;
		if (v->naddrs >= HOSTSTORE_SHARE_LIST || walked >= 4096)
			break;
		walked++;
		for (i = 0; i < v->naddrs; i++)
			if (addr_eq(fam[i], addr[i], o->family, o->addr))
				break;
		if (i < v->naddrs)
			continue;
		fam[v->naddrs] = o->family;
		memcpy(addr[v->naddrs], o->addr, 16);
		v->naddrs++;
	}
	for (uint32_t i = 0; i < v->naddrs; i++)
		if (inet_ntop(fam[i] == 6 ? AF_INET6 : AF_INET, addr[i], v->addrs[i],
		              HOSTSTORE_ADDR_LEN) == NULL)
			copy_str(v->addrs[i], HOSTSTORE_ADDR_LEN, "?");
}

/* queue_push copies one sighting for the writer; a full queue drops it. */
static void queue_push(struct hoststore *hs, const struct hoststore_obs *o, const char *type)
{
	struct hs_row *row;

	pthread_mutex_lock(&hs->mu);
	if (hs->qcount == hs->queue_max) {
		hs->st.dropped++;
		pthread_mutex_unlock(&hs->mu);
		return;
	}
	row = &hs->queue[(hs->qhead + hs->qcount) % hs->queue_max];
	row->ts = o->ts_us;
	row->epoch = hs->epoch;
	row->port = o->port;
	if (inet_ntop(o->family == 6 ? AF_INET6 : AF_INET, o->addr, row->server,
	              sizeof(row->server)) == NULL)
		copy_str(row->server, sizeof(row->server), "?");
	copy_str(row->type, sizeof(row->type), type);
	copy_str(row->fp, sizeof(row->fp), o->fingerprint);
	copy_str(row->banner, sizeof(row->banner), o->banner);
	copy_str(row->hassh, sizeof(row->hassh), o->hassh);
	if (hs->qcount++ == 0)
		hs->first_pending_ms = mono_ms();
	if (hs->qcount >= hs->batch_records)
		pthread_cond_signal(&hs->cv);
	pthread_mutex_unlock(&hs->mu);
}

int hoststore_observe(struct hoststore *hs, const struct hoststore_obs *o,
                      struct hoststore_verdict *v)
{
	struct hoststore_verdict scratch;
	char type[HOSTSTORE_TYPE_LEN], banner[HOSTSTORE_BANNER_MAX + 1];
	struct hs_group *g;
	struct hs_key *rem = NULL, *cur = NULL;
	int ret = KW_OK;

	if (v == NULL)
		v = &scratch;
	memset(v, 0, sizeof(*v));
	v->share_threshold = hs->share_threshold;
	if (hs->mode != HOSTSTORE_SENSOR)
		return KW_ERR_BUG;
	if ((o->family != 4 && o->family != 6) || o->key_type == NULL || o->key_type[0] == '\0' ||
	    o->fingerprint == NULL || o->fingerprint[0] == '\0' ||
	    strlen(o->fingerprint) >= HOSTSTORE_FP_LEN)
		return KW_ERR_MALFORMED;
	if (atomic_load_explicit(&hs->forgets_waiting, memory_order_acquire))
		apply_forgets(hs);
	copy_str(type, sizeof(type), o->key_type);
	copy_str(banner, sizeof(banner), o->banner);

	/* The verdict, from what was known before this sighting. */
	g = group_find(hs, o->family, o->addr, o->port, type);
	if (g != NULL && g->nkeys > 0) {
		rem = remembered_key(g);
		cur = group_key(g, o->fingerprint);
		v->known = 1;
		v->changed = cur != rem;
		fill_key(&v->remembered, rem);
		if (cur != NULL)
			fill_key(&v->presented, cur);
	}
	copy_str(v->presented.fingerprint, sizeof(v->presented.fingerprint), o->fingerprint);

	/* Record it: the cache now, the file with the next batch. */
	if (g == NULL) {
		cache_make_room(hs, NULL);
		g = group_new(hs, o->family, o->addr, o->port, type, 0);
	} else {
		list_move_head(&hs->lru, &g->lru);
	}
	if (g != NULL && cur == NULL) {
		cache_make_room(hs, g);
		if (key_add(hs, g, o->fingerprint, o->ts_us, o->ts_us, &cur) != 0)
			ret = KW_ERR_NOMEM;
	}
	if (cur != NULL) {
		cur->times_seen++;
		key_set_seen(cur, o->ts_us, banner, o->hassh);
	} else if (g == NULL) {
		ret = KW_ERR_NOMEM;
	}
	if (g != NULL && g->nkeys == 0) {
		group_free(hs, g); /* a new group whose key could not be added */
		g = NULL;
	}
	hs->st.observed++;
	queue_push(hs, o, type);

	if (cur != NULL) {
		v->share_count = cur->fp->naddrs;
		v->shared = v->share_count > hs->share_threshold;
		if (v->shared)
			share_fill(cur->fp, g, v);
	}
	return ret;
}

void hoststore_get_stats(struct hoststore *hs, struct hoststore_stats *st)
{
	pthread_mutex_lock(&hs->mu);
	*st = hs->st;
	pthread_mutex_unlock(&hs->mu);
	st->cache_keys = hs->nkeys;
}

int hoststore_foreach(struct hoststore *hs, hoststore_row_fn fn, void *ctx, char *err,
                      size_t errlen)
{
	static const char sql[] =
	    "SELECT h.server, h.port, h.key_type, h.fingerprint, h.first_seen, h.last_seen,"
	    " h.times_seen, h.banner, h.hassh_server,"
	    " (SELECT count(DISTINCT x.server) FROM host_keys x"
	    "   WHERE x.fingerprint = h.fingerprint)"
	    " FROM host_keys h"
	    " ORDER BY h.server, h.port, h.key_type, h.first_seen, h.fingerprint";
	char prev_server[HOSTSTORE_ADDR_LEN] = "", prev_type[HOSTSTORE_TYPE_LEN] = "";
	int prev_port = -1, r, ret = KW_OK;
	sqlite3_stmt *st;
	sqlite3 *db = hs->db;

	if (hs->mode == HOSTSTORE_SENSOR && hs->thread_started)
		return KW_ERR_BUG; /* the connection is the writer's */
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		set_err(err, errlen, "%s", sqlite3_errmsg(db));
		return KW_ERR_IO;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct hoststore_row row = {0};
		const char *s;

		row.server = (s = (const char *)sqlite3_column_text(st, 0)) ? s : "";
		row.port = (uint16_t)sqlite3_column_int(st, 1);
		row.key_type = (s = (const char *)sqlite3_column_text(st, 2)) ? s : "";
		row.fingerprint = (s = (const char *)sqlite3_column_text(st, 3)) ? s : "";
		row.first_seen = (uint64_t)sqlite3_column_int64(st, 4);
		row.last_seen = (uint64_t)sqlite3_column_int64(st, 5);
		row.times_seen = (uint64_t)sqlite3_column_int64(st, 6);
		row.banner = (s = (const char *)sqlite3_column_text(st, 7)) ? s : "";
		row.hassh = (s = (const char *)sqlite3_column_text(st, 8)) ? s : "";
		row.addresses_with_key = (uint64_t)sqlite3_column_int64(st, 9);
		row.remembered = strcmp(row.server, prev_server) != 0 || row.port != prev_port ||
		                 strcmp(row.key_type, prev_type) != 0;
		copy_str(prev_server, sizeof(prev_server), row.server);
		copy_str(prev_type, sizeof(prev_type), row.key_type);
		prev_port = row.port;
		if ((ret = fn(ctx, &row)) != 0)
			break;
	}
	if (ret == KW_OK && r != SQLITE_DONE) {
		set_err(err, errlen, "%s", sqlite3_errmsg(db));
		ret = KW_ERR_IO;
	}
	sqlite3_finalize(st);
	return ret;
}

int hoststore_forget(struct hoststore *hs, const char *server, int port, uint64_t *removed,
                     char *err, size_t errlen)
{
	static const char del_sql[] =
	    "DELETE FROM host_keys WHERE server = ?1 AND (?2 < 0 OR port = ?2)";
	static const char log_sql[] = "INSERT INTO forgotten(server, port, at) VALUES(?1, ?2, ?3)";
	sqlite3_stmt *del = NULL, *log = NULL;
	char why[256] = "";

	*removed = 0;
	if (hs->mode != HOSTSTORE_ADMIN)
		return KW_ERR_BUG;
	if (exec_sql(hs->db, "BEGIN IMMEDIATE", why, sizeof(why)) != 0)
		goto fail;
	if (sqlite3_prepare_v2(hs->db, del_sql, -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(hs->db, log_sql, -1, &log, NULL) != SQLITE_OK)
		goto sqlfail;
	sqlite3_bind_text(del, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_int(del, 2, port);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto sqlfail;
	*removed = (uint64_t)sqlite3_changes(hs->db);
	/* Logged even when nothing was committed yet: a running sensor may hold
	 * the server in its cache and queue. */
	sqlite3_bind_text(log, 1, server, -1, SQLITE_STATIC);
	sqlite3_bind_int(log, 2, port < 0 ? -1 : port);
	sqlite3_bind_int64(log, 3, (sqlite3_int64)wall_us());
	if (sqlite3_step(log) != SQLITE_DONE)
		goto sqlfail;
	sqlite3_finalize(del);
	sqlite3_finalize(log);
	del = log = NULL;
	if (exec_sql(hs->db, "COMMIT", why, sizeof(why)) != 0)
		goto fail;
	return KW_OK;
sqlfail:
	copy_str(why, sizeof(why), sqlite3_errmsg(hs->db));
fail:
	sqlite3_finalize(del);
	sqlite3_finalize(log);
	sqlite3_exec(hs->db, "ROLLBACK", NULL, NULL, NULL);
	*removed = 0;
	set_err(err, errlen, "%s", why);
	return KW_ERR_IO;
}
