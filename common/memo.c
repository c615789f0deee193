/*
 * memo.c: a small memo of recent results, keyed by bytes (see memo.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "memo.h"

struct memo_entry {
	uint64_t hash, used; /* used: the memo's clock at the last hit */
	char *key;           /* the key, then the value, in one allocation; NULL: empty */
	size_t klen, vlen;
};

struct memo {
	unsigned sets, ways;
	size_t max_key;
	uint64_t clock;
	struct hash_key key;
	struct memo_entry e[]; /* sets * ways */
};

struct memo *memo_new(unsigned sets, unsigned ways, size_t max_key)
{
	struct memo *m;

	if (sets == 0 || ways == 0 ||
	    (m = calloc(1, sizeof(*m) + (size_t)sets * ways * sizeof(m->e[0]))) == NULL)
		return NULL;
	m->sets = sets;
	m->ways = ways;
	m->max_key = max_key;
	hash_key_get(&m->key);
	return m;
}

void memo_free(struct memo *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < (size_t)m->sets * m->ways; i++)
		free(m->e[i].key);
	free(m);
}

/*
 * key_hash: the length and four sampled words (not every byte: keys are a
 * kilobyte or more and a hit is checked byte for byte anyway), hashed with
 * the process's key (hash.h), so which keys share a set is not for the
 * peers who write them to choose.
 */
static uint64_t key_hash(const struct memo *m, const char *k, size_t n)
{
	uint64_t w[5] = {(uint64_t)n, 0, 0, 0, 0};

	for (int i = 0; i < 4; i++) {
		size_t at = n / 3 * (size_t)i;

		if (n >= 8)
			memcpy(&w[1 + i], k + (at + 8 <= n ? at : n - 8), 8);
		else if (n > 0)
			memcpy(&w[1 + i], k, n);
	}
	return hash_bytes(&m->key, w, sizeof(w));
}

static struct memo_entry *set_of(struct memo *m, uint64_t h)
{
	return &m->e[(size_t)(h % m->sets) * m->ways];
}

const void *memo_get(struct memo *m, const void *key, size_t n, size_t *vlen)
{
	uint64_t h = key_hash(m, key, n);
	struct memo_entry *set = set_of(m, h);

	m->clock++;
	for (unsigned w = 0; w < m->ways; w++) {
		struct memo_entry *e = &set[w];
		if (e->key != NULL && e->hash == h && e->klen == n && memcmp(e->key, key, n) == 0) {
			e->used = m->clock;
			*vlen = e->vlen;
			return e->key + e->klen;
		}
	}
	return NULL;
}

void memo_put(struct memo *m, const void *key, size_t n, const void *val, size_t vlen)
{
	uint64_t h = key_hash(m, key, n);
	struct memo_entry *set = set_of(m, h), *e = &set[0];
	char *copy;

	if (n > m->max_key || (copy = malloc(n + vlen + 1)) == NULL)
		return;
	for (unsigned w = 1; w < m->ways && e->key != NULL; w++)
		if (set[w].key == NULL || set[w].used < e->used)
			e = &set[w]; /* an empty way, else the least recently used */
	memcpy(copy, key, n);
	memcpy(copy + n, val, vlen);
	free(e->key);
	*e = (struct memo_entry){
	    .hash = h, .used = ++m->clock, .key = copy, .klen = n, .vlen = vlen};
}
