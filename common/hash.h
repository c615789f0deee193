/*
 * hash.h: the one keyed hash of every table (the flow table, the
 * auth-guessing table, the host-key cache, the memo of recent results).
 *
 * The wyhash construction (Wang Yi; the fallback of Go's runtime map
 * hash): 16 bytes at a time, each pair of words XORed with key words and
 * multiplied into a 128-bit product whose halves are folded together. A
 * 40-byte address pair costs two dependent multiplies and a final two, a
 * few nanoseconds: the flow table hashes most packets. SipHash-1-3 was
 * tried first and cost four times as much per lookup. This is not a MAC:
 * the secret key keeps peers, who choose addresses and ports, from aiming
 * at one chain without seeing the key, which is what a table needs.
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
#include <string.h>

/* A key: four words, each odd (hash_key_normalize). */
struct hash_key {
	uint64_t k[4];
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

/*
 * hash_key_normalize makes every word of *key odd (an even word would lose
 * low bits in every product). hash_key_get's and hash_key_fix's keys are.
 */
void hash_key_normalize(struct hash_key *key);

/*
 * hash_bytes: the 64-bit hash of p[0..n) under key (p may be NULL when n
 * is 0). The low bits are as good as the high ones: a power-of-two table
 * masks them. Inline, so a table's fixed-size key (the flow table's 16 or
 * 40 bytes) compiles to a few loads and multiplies without branches.
 */
static inline uint64_t hash_bytes(const struct hash_key *key, const void *p, size_t n);

/* hash_load64_, hash_load32_ (private): little-endian words at any alignment. */
static inline uint64_t hash_load64_(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline uint64_t hash_load32_(const uint8_t *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

/* hash_mix_ (private): the 128-bit product of a and b, its halves folded (wyhash's "mum"). */
static inline uint64_t hash_mix_(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define HASH_M5 0x1d8e4e27c47d124full

static inline uint64_t hash_bytes(const struct hash_key *key, const void *p, size_t n)
{
	const uint8_t *in = p;
	uint64_t seed = key->k[0], a, b;
	size_t l = n;

	if (n == 0) {
		a = b = 0;
	} else if (n < 4) {
		a = (uint64_t)in[0] | (uint64_t)in[n >> 1] << 8 | (uint64_t)in[n - 1] << 16;
		b = 0;
	} else if (n <= 8) {
		a = hash_load32_(in);
		b = hash_load32_(in + n - 4);
	} else if (n <= 16) {
		a = hash_load64_(in);
		b = hash_load64_(in + n - 8);
	} else {
		if (l > 48) { /* three independent lanes, for long keys */
			uint64_t s1 = seed, s2 = seed;
			for (; l > 48; l -= 48, in += 48) {
				seed = hash_mix_(hash_load64_(in) ^ key->k[1],
				                 hash_load64_(in + 8) ^ seed);
				s1 = hash_mix_(hash_load64_(in + 16) ^ key->k[2],
				               hash_load64_(in + 24) ^ s1);
				s2 = hash_mix_(hash_load64_(in + 32) ^ key->k[3],
				               hash_load64_(in + 40) ^ s2);
			}
			seed ^= s1 ^ s2;
		}
		for (; l > 16; l -= 16, in += 16)
			seed = hash_mix_(hash_load64_(in) ^ key->k[1], hash_load64_(in + 8) ^ seed);
		/* The last 16 bytes, overlapping what came before when l < 16. */
		a = hash_load64_(in + l - 16);
		b = hash_load64_(in + l - 8);
	}
	return hash_mix_(HASH_M5 ^ n, hash_mix_(a ^ key->k[1], b ^ seed));
}

#endif
