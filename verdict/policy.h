/*
 * policy.h: algorithm verdicts (internal to verdict/). One versioned table in
 * policy.c; every verdict cites its source.
 */
#ifndef KW_POLICY_H
#define KW_POLICY_H

#define POLICY_VERSION "2026.11.1"

struct policy_verdict {
	const char *algorithm;
	const char *category; /* kex, host_key, cipher, mac, compression */
	const char *reason;
	const char *source;
};

/* policy_weak returns the verdict for a weak algorithm, NULL when not rated weak. */
const struct policy_verdict *policy_weak(const char *category, const char *algorithm);
/* policy_is_pq_kex: a post-quantum hybrid key exchange. */
int policy_is_pq_kex(const char *kex);
/* policy_is_cbc: a CBC-mode cipher; policy_is_etm: an encrypt-then-MAC MAC. */
int policy_is_cbc(const char *cipher);
int policy_is_etm(const char *mac);

#endif
