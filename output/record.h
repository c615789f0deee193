/*
 * record.h: building one record (internal to output/).
 */
#ifndef KW_RECORD_H
#define KW_RECORD_H

#include <stddef.h>

#include "verdict.h"
#include "jw.h"
#include "output.h"
#include "text.h"

/*
 * Serialised members of a side (banner fields, "hassh" and "kexinit"),
 * reused across records (memo.h): RECORD_CACHE_SETS sets of
 * RECORD_CACHE_WAYS, so a few software variants whose hashes meet in a set
 * do not evict each other. Sides whose key (banner and lists) is over
 * RECORD_CACHE_KEY_MAX are written afresh. Memory: at most 64 x (16 KiB +
 * their JSON).
 */
#define RECORD_CACHE_SETS 16
#define RECORD_CACHE_WAYS 4
#define RECORD_CACHE_KEY_MAX 16384

struct memo;

/* The writer of records: its output buffer and the memo of sides. */
struct record_writer {
	struct jw out;
	struct memo *sides;       /* made on first use */
	struct text_time_last ts; /* the last timestamp written (text_time_again) */
};

/* record_prefetch starts loading what the side cache compares (a hint only). */
void record_prefetch(const struct flow *f);

void record_writer_init(struct record_writer *rw);
void record_writer_free(struct record_writer *rw);

/*
 * record_build writes flow f's record with its verdict v, one JSON line
 * ending in a newline, into rw->out (valid until the next call). Returns 0
 * or KW_ERR_NOMEM.
 */
int record_build(struct record_writer *rw, const struct flow *f, const struct report_config *cfg,
                 const struct verdict *v);

#endif
