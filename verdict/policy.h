/*
 * policy.h: algorithm verdicts (internal to verdict/). One versioned table in
 * policy.c; every verdict cites its source.
 */
#ifndef KW_POLICY_H
#define KW_POLICY_H

#include <stddef.h>

#define POLICY_VERSION "2026.11.1"

/*
 * How bad: weak algorithms raise weak_algorithm on a connection that
 * negotiates one; legacy ones are still sound but on their way out (SHA-1
 * HMACs, CBC), and only the inventory (kexwatch inventory) lists them.
 */
enum policy_level { POLICY_WEAK, POLICY_LEGACY };

struct policy_verdict {
	const char *algorithm; /* a name, or a prefix ending in '*' */
	const char *category;  /* kex, host_key, cipher, mac, compression */
	const char *reason;
	const char *source;
	enum policy_level level;
};

/* policy_weak returns the verdict for a weak algorithm, NULL when not rated weak. */
const struct policy_verdict *policy_weak(const char *category, const char *algorithm);

/*
 * policy_weak_cat: policy_weak(kex_cat_group(cat), algorithm) for a
 * negotiated category (KEX_CAT_*) and an algorithm of len bytes, looked up
 * among that category's entries only; NULL for any other cat.
 */
const struct policy_verdict *policy_weak_cat(int cat, const char *algorithm, size_t len);

/* policy_table: the built-in table (weak and legacy), *n entries, static. */
const struct policy_verdict *policy_table(size_t *n);

/*
 * policy_lookup: the first entry of table t (n entries) for category and
 * algorithm, whatever its level, or NULL.
 */
const struct policy_verdict *policy_lookup(const struct policy_verdict *t, size_t n,
                                           const char *category, const char *algorithm);

/* policy_level_name: "weak" or "legacy"; policy_level_by_name: the level, or -1. */
const char *policy_level_name(enum policy_level l);
int policy_level_by_name(const char *name);
/* policy_is_pq_kex: a post-quantum hybrid key exchange. */
int policy_is_pq_kex(const char *kex);
/* policy_is_cbc: a CBC-mode cipher; policy_is_etm: an encrypt-then-MAC MAC. */
int policy_is_cbc(const char *cipher);
int policy_is_etm(const char *mac);

#endif
