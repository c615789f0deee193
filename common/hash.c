/*
 * hash.c: the process's random hash key (see hash.h; hash_bytes itself is
 * inline there).
 *
 * Responsible for drawing the key once, thread-safely, and for letting
 * tests fix it. Not responsible for tables: each keeps its own buckets and
 * chains.
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

	if (getrandom(&k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		/* Early boot: not secret, still different per process and per run. */
		clock_gettime(CLOCK_REALTIME, &ts);
		k.k[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		k.k[1] = ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&k;
		k.k[2] = k.k[0] * 0x9e3779b97f4a7c15ull ^ k.k[1];
		k.k[3] = k.k[1] * 0xbf58476d1ce4e5b9ull ^ k.k[0];
	}
	hash_key_normalize(&k);
	process_key = k;
}

void hash_key_normalize(struct hash_key *key)
{
	/* An even word loses its low bits in every product: keep them odd. */
	for (int i = 0; i < 4; i++)
		key->k[i] |= 1;
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
	hash_key_normalize(&process_key);
}
