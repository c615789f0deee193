/*
 * hoststore.h: the persistent host-key store behind --state PATH.
 *
 * Remembers, per SSH server (address and port) and per host-key type, every
 * key fingerprint seen, with its first and last sighting (capture time), how
 * often it was seen, and the server banner and HASSHServer last seen with it.
 * The only code in kexwatch that talks to SQLite. Not responsible for what a
 * change means or how it is reported (verdict/hostkey.c), nor for the
 * command line (app/).
 *
 * Storage: one SQLite file in WAL mode with synchronous=NORMAL. A crash of
 * the process (SIGKILL) loses at most the observations not yet committed
 * and never leaves a damaged file; a power loss may also lose the last
 * transactions, never consistency. Readers (kexwatch hostkeys, sqlite3) run
 * alongside a running sensor without blocking it.
 *
 * Capture path: a sensor never reads or writes the file while it captures.
 * Reads for the checks go to an in-memory cache loaded at open and bounded
 * by cache_max keys (a prepared statement would put a possible disk read, and
 * SQLite's own locking, into every report on the capture thread; the cache
 * answers in memory and also carries the per-key address counts that
 * host_key_shared needs, which SQL would recount per connection). Writes are
 * copied into a bounded queue and committed by a writer thread, one
 * transaction per batch_records observations or per batch_ms of wall time
 * (whichever comes first), and at close. When the queue is full (the disk
 * has stalled for a long time) an observation is not persisted and is
 * counted (dropped); the cache still has it.
 *
 * One sensor per state file: two sensors writing one file keep it
 * consistent (every write is an idempotent upsert) but neither sees the
 * other's keys until it is restarted. `hostkeys --forget` on a file a sensor
 * is using reaches the sensor's cache within about batch_ms: forgotten
 * servers are logged in the file and the writer thread picks them up.
 *
 * Known gaps: a server whose keys were evicted from the cache (more than
 * cache_max keys known, least recently seen server first) is treated as new
 * until the sensor restarts: a missed change, never a false one. Only
 * HOSTSTORE_KEYS_PER_GROUP keys per server and type are kept in the cache
 * (the remembered one always among them); the file keeps them all.
 */
#ifndef KW_HOSTSTORE_H
#define KW_HOSTSTORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Limits, each with its default and cost. Settable through
 * struct hoststore_config (0 = the default).
 */
/* Keys held in memory. Each costs about 400 bytes (key, server, fingerprint
 * and address nodes, banner): 100000 keys are about 40 MB. */
#define HOSTSTORE_CACHE_MAX 100000u
/* Observations per transaction: bounds the work of one commit. */
#define HOSTSTORE_BATCH_RECORDS 256u
/* Wall time between commits when observations are waiting: bounds what a
 * crash can lose and how late a --forget from another process is seen. */
#define HOSTSTORE_BATCH_MS 1000u
/* Observations queued for the writer thread: 8192 x ~500 bytes = 4 MB,
 * allocated at open. Rides out a disk stalled for a few seconds. */
#define HOSTSTORE_QUEUE_MAX 8192u
/* Fingerprints kept in memory per server, port and key type. A server that
 * presents a new key per connection (a honeypot) cannot grow the cache. */
#define HOSTSTORE_KEYS_PER_GROUP 16u
/* host_key_shared: flagged when more server addresses than this present
 * one key (--hostkey-share-threshold). */
#define HOSTSTORE_SHARE_THRESHOLD 3u
/* Addresses listed in the evidence of host_key_shared. */
#define HOSTSTORE_SHARE_LIST 16u
/* Banners are stored escaped (text_escape) and cut to this many bytes. */
#define HOSTSTORE_BANNER_MAX 255u

/* Text sizes: an address as inet_ntop writes it, a key type (RFC 4251 section
 * 6: names are at most 64 characters), a fingerprint "SHA256:" + 43. */
#define HOSTSTORE_ADDR_LEN 46
#define HOSTSTORE_TYPE_LEN 65
#define HOSTSTORE_FP_LEN 64
#define HOSTSTORE_HASSH_LEN 33

struct hoststore;

enum hoststore_mode {
	HOSTSTORE_SENSOR, /* load the cache, start the writer; file created if missing */
	HOSTSTORE_ADMIN,  /* hostkeys subcommand: no cache, no thread; file must exist */
};

struct hoststore_config {
	const char *path; /* borrowed for the call */
	enum hoststore_mode mode;
	uint32_t share_threshold; /* 0: HOSTSTORE_SHARE_THRESHOLD */
	uint32_t cache_max;       /* 0: HOSTSTORE_CACHE_MAX */
	uint32_t batch_records;   /* 0: HOSTSTORE_BATCH_RECORDS */
	uint32_t batch_ms;        /* 0: HOSTSTORE_BATCH_MS */
	uint32_t queue_max;       /* 0: HOSTSTORE_QUEUE_MAX */
};

/*
 * hoststore_open opens (in SENSOR mode creates, mode 0640 less the umask)
 * the store at cfg->path, checks that it is a kexwatch store of a version
 * this program reads, and in SENSOR mode loads the cache (the most recently
 * seen keys first, up to cache_max) and starts the writer thread. *out is
 * the caller's until hoststore_close. Returns 0, KW_ERR_IO (file missing,
 * unreadable, not a kexwatch store, newer schema; reason in err) or
 * KW_ERR_NOMEM.
 */
int hoststore_open(struct hoststore **out, const struct hoststore_config *cfg, char *err,
                   size_t errlen);

/*
 * hoststore_close commits every queued observation (waiting for the writer
 * thread), folds the write-ahead log back into the file and frees hs. NULL
 * is allowed. With final non-NULL, the counters once everything is written
 * (struct below). Returns 0, or KW_ERR_IO when observations could not be
 * written during the store's life (reason in err); hs is freed either way.
 */
struct hoststore_stats;
int hoststore_close(struct hoststore *hs, struct hoststore_stats *final, char *err, size_t errlen);

/* One sighting of a host key, as the report layer saw it (all borrowed). */
struct hoststore_obs {
	uint8_t family;          /* 4 or 6 */
	uint8_t addr[16];        /* the SSH server's address */
	uint16_t port;           /* its port; 0 when the server opened the TCP connection */
	const char *key_type;    /* the key blob's type, printable ASCII */
	const char *fingerprint; /* "SHA256:..." */
	const char *banner;      /* the server's identification line, escaped; NULL: none */
	const char *hassh;       /* HASSHServer; NULL or "": unknown */
	uint64_t ts_us;          /* capture time of the connection */
};

/* What the store knew of one key. */
struct hoststore_key {
	char fingerprint[HOSTSTORE_FP_LEN];
	char banner[HOSTSTORE_BANNER_MAX + 1]; /* "" when none was seen */
	char hassh[HOSTSTORE_HASSH_LEN];       /* "" when none was seen */
	uint64_t first_seen, last_seen;        /* capture time, us; 0: never */
	uint64_t times_seen;
};

/* The store's answer for one sighting, computed before it is recorded. */
struct hoststore_verdict {
	/* This server, port and key type had a key remembered already. */
	int known;
	/* ... and the presented key is not that one (host_key_changed). */
	int changed;
	/* The remembered key: the first one seen (earliest first_seen) for this
	 * server, port and type since it was last forgotten. Valid when known. */
	struct hoststore_key remembered;
	/* The presented key as known before this sighting (times_seen 0: new). */
	struct hoststore_key presented;
	/* Distinct server addresses presenting this fingerprint, this one
	 * included, and whether that is above the threshold (host_key_shared). */
	uint32_t share_count;
	uint32_t share_threshold;
	int shared;
	/* Up to HOSTSTORE_SHARE_LIST of those addresses, this server first. */
	uint32_t naddrs;
	char addrs[HOSTSTORE_SHARE_LIST][HOSTSTORE_ADDR_LEN];
};

/*
 * hoststore_observe judges one sighting against the cache (filling *v, which
 * may be NULL), then records it: in the cache at once, in the file with the
 * next batch. Never touches the disk and never waits for the writer thread
 * beyond a short copy. SENSOR mode only. Returns 0, KW_ERR_MALFORMED (empty
 * type or fingerprint, bad family; nothing recorded) or KW_ERR_NOMEM (the
 * cache could not grow; *v is still filled from what is known).
 */
int hoststore_observe(struct hoststore *hs, const struct hoststore_obs *o,
                      struct hoststore_verdict *v);

/* Counters since open (SENSOR mode). */
struct hoststore_stats {
	uint64_t observed;      /* hoststore_observe calls that recorded something */
	uint64_t committed;     /* observations written to the file */
	uint64_t transactions;  /* commits */
	uint64_t dropped;       /* not persisted: queue full, or the write kept failing */
	uint64_t write_errors;  /* failed transactions (retried) */
	uint64_t forgets;       /* --forget entries picked up from the file */
	uint64_t cache_keys;    /* keys in the cache now */
	uint64_t cache_evicted; /* keys evicted from the cache (kept in the file) */
	uint64_t not_loaded;    /* keys in the file that did not fit in the cache at open */
};

/* hoststore_get_stats copies the counters; safe while the writer runs. */
void hoststore_get_stats(struct hoststore *hs, struct hoststore_stats *st);

/* One stored key, for listing (all strings borrowed for the callback). */
struct hoststore_row {
	const char *server; /* canonical address text */
	uint16_t port;      /* 0: server-initiated connections */
	const char *key_type, *fingerprint;
	const char *banner; /* "" when none */
	const char *hassh;  /* "" when none */
	uint64_t first_seen, last_seen, times_seen;
	int remembered;              /* the first key of its server, port and type */
	uint64_t addresses_with_key; /* distinct server addresses with this fingerprint */
};

/* A listing callback returns 0 to go on, anything else to stop (returned). */
typedef int (*hoststore_row_fn)(void *ctx, const struct hoststore_row *row);

/*
 * hoststore_foreach calls fn for every stored key, by server, port, key type
 * and first sighting. In SENSOR mode it reads what is committed. Returns 0,
 * fn's non-zero value, or KW_ERR_IO (message in err).
 */
int hoststore_foreach(struct hoststore *hs, hoststore_row_fn fn, void *ctx, char *err,
                      size_t errlen);

/*
 * hoststore_forget removes every key of server (canonical address text, see
 * hoststore_addr_canon) on port, or on every port when port < 0, and logs
 * the removal so that a running sensor drops them from its cache. *removed
 * gets the number of keys removed. ADMIN mode. Returns 0 or KW_ERR_IO.
 */
int hoststore_forget(struct hoststore *hs, const char *server, int port, uint64_t *removed,
                     char *err, size_t errlen);

/*
 * hoststore_addr_canon parses an IPv4 or IPv6 address (no brackets, no port)
 * and writes its canonical text (inet_ntop) to out[HOSTSTORE_ADDR_LEN]; with
 * family/addr non-NULL also its binary form. Returns 0 or KW_ERR_MALFORMED.
 */
int hoststore_addr_canon(const char *text, char out[HOSTSTORE_ADDR_LEN], uint8_t *family,
                         uint8_t addr[16]);

#endif
