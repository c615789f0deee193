/*
 * diagnose.h: why a handshake failed (internal to verdict/).
 */
#ifndef KW_DIAGNOSE_H
#define KW_DIAGNOSE_H

#include "verdict.h"

/*
 * diagnose_flow appends to v every diagnosis the facts of f support
 * (DESIGN.md section 4), most severe first; v's client_dir,
 * t0, t_close, established and auth must be judged already. Strings go to
 * arena; guess (NULL: off) counts failed logins per client address, scan
 * (NULL: only what one connection shows) abandoned handshakes per source.
 */
void diagnose_flow(const struct flow *f, struct verdict *v, struct arena *arena,
                   struct auth_guess *guess, struct scan_table *scan);

/*
 * diagnosis_add appends an empty diagnosis of code and severity to v and
 * returns it; when v is full it counts the loss and returns spare, which
 * the caller may fill and forget.
 */
struct diagnosis *diagnosis_add(struct verdict *v, struct diagnosis *spare, enum diag_code code,
                                enum verdict_severity severity);

/*
 * Evidence, appended in the order the record shows it (a full list drops
 * the rest). Strings are borrowed: literals, the arena's, or (names) the
 * flow's KEXINIT lists. evidence_text and evidence_names skip NULL.
 */
void diag_ev_int(struct diagnosis *d, const char *key, int64_t i);
void diag_ev_bool(struct diagnosis *d, const char *key, int b);
void diag_ev_text(struct diagnosis *d, const char *key, const char *s);
void diag_ev_ms(struct diagnosis *d, const char *key, uint64_t from, uint64_t to);
void diag_ev_names(struct diagnosis *d, const char *key, const char *list);
void diag_ev_texts(struct diagnosis *d, const char *key, const char *const *v, uint32_t n);

#endif
