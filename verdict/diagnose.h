/*
 * diagnose.h: why a handshake failed (internal to report/).
 */
#ifndef KW_DIAGNOSE_H
#define KW_DIAGNOSE_H

#include <jansson.h>

#include "record.h"

/*
 * diagnose_flow appends to list every diagnosis the facts of f support
 * (DESIGN.md section 4), most severe first: each an object with code,
 * severity, summary, evidence, hint and, where it applies, client_symptom.
 */
void diagnose_flow(const struct flow *f, const struct record_judgment *j, json_t *list);

/*
 * The diagnosis cache keeps the diagnoses whose every byte follows from a
 * few names (non_pq_kex: the key exchange), built and serialised once, and
 * shared by reference into each list (record_judgment.dcache; NULL: none).
 * Bounded: DIAGNOSE_CACHE_SIZE entries, the oldest replaced.
 */
#define DIAGNOSE_CACHE_SIZE 16

struct diagnose_cache;

/* diagnose_cache_new: NULL on allocation failure. */
struct diagnose_cache *diagnose_cache_new(void);
void diagnose_cache_free(struct diagnose_cache *c);

/*
 * diagnose_cache_text returns d serialised as jw_json would write it when
 * d is one of c's diagnoses (which nobody changes), with *len its length;
 * NULL otherwise. Valid while c lives and holds d.
 */
const char *diagnose_cache_text(const struct diagnose_cache *c, const json_t *d, size_t *len);

/* diagnose_disconnect_reason names an SSH_MSG_DISCONNECT reason code (RFC 4253 11.1). */
const char *diagnose_disconnect_reason(uint32_t code);

#endif
