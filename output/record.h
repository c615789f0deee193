/*
 * record.h: building one record (internal to report/).
 */
#ifndef KW_RECORD_H
#define KW_RECORD_H

#include <jansson.h>
#include <stddef.h>

#include "auth.h"
#include "jw.h"
#include "output.h"

struct diagnose_cache;

/* What report.c decided about a flow before its record is built. */
struct record_judgment {
	int client_dir;   /* TCP direction of the SSH client */
	uint64_t t0;      /* the SYN, or the first packet */
	uint64_t t_close; /* when it closed, or the last packet */
	enum report_outcome outcome;
	enum report_phase phase;
	enum report_phase close_phase;
	struct auth_guess *guess;      /* failed logins per client (auth.c); NULL: none kept */
	struct diagnose_cache *dcache; /* shared diagnoses (diagnose.c); NULL: none kept */
	int auth_known;                /* auth holds auth_infer's reading (both sent NEWKEYS) */
	struct auth_inference auth;
};

/*
 * Serialised "hassh" and "kexinit" members of a side, reused across records
 * (memo.h): RECORD_CACHE_SETS sets of RECORD_CACHE_WAYS, so a few software
 * variants whose hashes meet in a set do not evict each other. Sides whose
 * key (lists and HASSH string) is over RECORD_CACHE_KEY_MAX are written
 * afresh. Memory: at most 64 x (16 KiB + their JSON).
 */
#define RECORD_CACHE_SETS 16
#define RECORD_CACHE_WAYS 4
#define RECORD_CACHE_KEY_MAX 16384

struct memo;

/* The writer of records: its output buffer and the memo of sides. */
struct record_writer {
	struct jw out;
	struct memo *sides; /* made on first use */
	char *key;          /* side_key's buffer */
	size_t key_cap;
};

/* record_prefetch starts loading what the side cache compares (a hint only). */
void record_prefetch(const struct flow *f);

void record_writer_init(struct record_writer *rw);
void record_writer_free(struct record_writer *rw);

/*
 * record_build writes flow f's record, one JSON line ending in a newline,
 * into rw->out (valid until the next call), with diagnoses (the list
 * diagnose_flow filled) spliced in. Returns 0 or KW_ERR_NOMEM.
 */
int record_build(struct record_writer *rw, const struct flow *f, const struct report_config *cfg,
                 const struct record_judgment *j, const json_t *diagnoses);


#endif
