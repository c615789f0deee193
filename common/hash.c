/*
 * hash.c: SipHash-1-3 under a per-process random key (see hash.h).
 *
 * Responsible for the hash function and the process's key. Not responsible
 * for tables: each table keeps its own buckets and chains.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"

static struct hash_key process_key;
static pthread_once_t process_key_once = PTHREAD_ONCE_INIT;

static void process_key_init(void)
{
	struct hash_key k;
	struct timespec ts;

	if (getrandom(&k, sizeof(k), GRND_NONBLOCK) == (ssize_t)sizeof(k)) {
		process_key = k;
		return;
	}
	/* Early boot: not secret, still different per process and per run. */
	clock_gettime(CLOCK_REALTIME, &ts);
	process_key.k0 = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	process_key.k1 = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&k;
}

void hash_key_get(struct hash_key *out)
{
	pthread_once(&process_key_once, process_key_init);
	*out = process_key;
}

void hash_key_fix(const struct hash_key *key)
{
	pthread_once(&process_key_once, process_key_init);
	process_key = *key;
}

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* load_le64: eight bytes, little-endian, at any alignment. */
static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = rotl(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = rotl(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = rotl(v2, 32);                                                                 \
	} while (0)

/*
 * siphash: SipHash-c-d (c rounds per 8-byte word, d to finish), 64-bit
 * output, as in the reference implementation (github.com/veorq/SipHash).
 * Inlined with constant c and d, so the round loops unroll.
 */
static inline uint64_t siphash(const struct hash_key *key, const void *p, size_t n, int c, int d)
{
	const uint8_t *in = p;
	uint64_t v0 = 0x736f6d6570736575ull ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ key->k0;
	uint64_t v3 = 0x7465646279746573ull ^ key->k1;
	uint64_t b = (uint64_t)n << 56, m;
	size_t words = n / 8;

	for (size_t i = 0; i < words; i++, in += 8) {
		m = load_le64(in);
		v3 ^= m;
		for (int r = 0; r < c; r++)
			SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < n % 8; i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	for (int r = 0; r < c; r++)
		SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	for (int r = 0; r < d; r++)
		SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t hash_bytes(const struct hash_key *key, const void *p, size_t n)
{
	return siphash(key, p, n, 1, 3);
}

uint64_t hash_siphash24(const struct hash_key *key, const void *p, size_t n)
{
	return siphash(key, p, n, 2, 4);
}
