/*
 * hash.h: the one keyed hash of every table (the flow table, the
 * auth-guessing table, the host-key cache, the memo of recent results).
 *
 * SipHash-1-3 (Aumasson and Bernstein; the variant Rust's and Python's
 * hash tables use): a keyed function of bytes, fast on the short keys the
 * tables have (a 40-byte address pair takes about as long as the
 * multiply-shift mixes it replaces) and, with a secret key, not something
 * a peer can aim collisions at by choosing its addresses and ports.
 *
 * The key is random per process, read once from getrandom(2); tests and
 * fuzz targets may fix it. Nothing that kexwatch writes depends on it:
 * tables are looked up by exact key, walked in their own (insertion or
 * LRU) order, never in bucket order, and the memo checks every hit byte
 * for byte. Thread-safe, except hash_key_fix.
 */
#ifndef KW_HASH_H
#define KW_HASH_H

#include <stddef.h>
#include <stdint.h>

/* A SipHash key: 128 bits. */
struct hash_key {
	uint64_t k0, k1;
};

/*
 * hash_key_get copies the process's key into *out. The first call reads it
 * from getrandom(2) (without blocking; if the kernel's pool is not ready,
 * a mix of the clock, the process id and an address instead).
 */
void hash_key_get(struct hash_key *out);

/*
 * hash_key_fix makes *key the process's key from now on (tests that want
 * the same buckets every run). Not thread-safe: call it before any table
 * is made, and before other threads start.
 */
void hash_key_fix(const struct hash_key *key);

/* hash_bytes: SipHash-1-3 of p[0..n) under key (p may be NULL when n is 0). */
uint64_t hash_bytes(const struct hash_key *key, const void *p, size_t n);

/*
 * hash_siphash24: SipHash-2-4, the reference construction, of p[0..n) under
 * key; for checking hash_bytes' code against the published test vectors.
 */
uint64_t hash_siphash24(const struct hash_key *key, const void *p, size_t n);

#endif
