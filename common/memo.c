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

/* parts_len: the length of the key parts[0..np) make. */
static size_t parts_len(const struct memo_part *pt, int np)
{
	size_t n = 0;

	for (int i = 0; i < np; i++)
		n += pt[i].n;
	return n;
}

/* parts_read copies len bytes of the key from its offset off (within it) into dst. */
static void parts_read(const struct memo_part *pt, int np, size_t off, void *dst, size_t len)
{
	char *d = dst;

	for (int i = 0; i < np && len > 0; i++) {
		size_t k;

		if (off >= pt[i].n) {
			off -= pt[i].n;
			continue;
		}
		k = pt[i].n - off < len ? pt[i].n - off : len;
		memcpy(d, (const char *)pt[i].p + off, k);
		d += k;
		len -= k;
		off = 0;
	}
}

/* parts_equal: the n-byte key kept at key is the parts' concatenation. */
static int parts_equal(const char *key, const struct memo_part *pt, int np)
{
	for (int i = 0; i < np; i++) {
		if (pt[i].n > 0 && memcmp(key, pt[i].p, pt[i].n) != 0)
			return 0;
		key += pt[i].n;
	}
	return 1;
}

/*
 * word_at: the eight bytes of the key at off (off + 8 <= its length), read
 * straight from the part that holds them, or across parts.
 */
static uint64_t word_at(const struct memo_part *pt, int np, size_t off)
{
	uint64_t w = 0;
	int i = 0;

	while (off >= pt[i].n) /* a part holds off: it is within the key */
		off -= pt[i++].n;
	if (pt[i].n - off >= 8)
		memcpy(&w, (const char *)pt[i].p + off, 8);
	else
		parts_read(pt + i, np - i, off, &w, 8);
	return w;
}

/*
 * key_hash: the length and four sampled words (not every byte: keys are a
 * kilobyte or more and a hit is checked byte for byte anyway), hashed with
 * the process's key (hash.h), so which keys share a set is not for the
 * peers who write them to choose. The words are read from the key as the
 * parts make it, so a key hashes alike however it is cut.
 */
static uint64_t key_hash(const struct memo *m, const struct memo_part *pt, int np, size_t n)
{
	uint64_t w[5] = {(uint64_t)n, 0, 0, 0, 0};
	const char *whole = np == 1 ? pt[0].p : NULL; /* most keys: read directly */

	for (int i = 0; i < 4; i++) {
		size_t at = n / 3 * (size_t)i;

		if (n >= 8 && whole != NULL)
			memcpy(&w[1 + i], whole + (at + 8 <= n ? at : n - 8), 8);
		else if (n >= 8)
			w[1 + i] = word_at(pt, np, at + 8 <= n ? at : n - 8);
		else if (n > 0)
			parts_read(pt, np, 0, &w[1 + i], n);
	}
	return hash_bytes(&m->key, w, sizeof(w));
}

static struct memo_entry *set_of(struct memo *m, uint64_t h)
{
	return &m->e[(size_t)(h % m->sets) * m->ways];
}

/*
 * memo_lookup: memo_getv, inlined into memo_get too, where the compiler
 * reduces it to the one-part case (the HASSH, name-list and host-key memos).
 */
static inline const void *memo_lookup(struct memo *m, const struct memo_part *parts, int nparts,
                                      size_t *vlen)
{
	size_t n = parts_len(parts, nparts);
	uint64_t h;
	struct memo_entry *set;

	/* Never kept (memo_putv): not worth a hash. */
	if (n > m->max_key)
		return NULL;
	h = key_hash(m, parts, nparts, n);
	set = set_of(m, h);
	m->clock++;
	for (unsigned w = 0; w < m->ways; w++) {
		struct memo_entry *e = &set[w];
		if (e->key != NULL && e->hash == h && e->klen == n &&
		    parts_equal(e->key, parts, nparts)) {
			e->used = m->clock;
			*vlen = e->vlen;
			return e->key + e->klen;
		}
	}
	return NULL;
}

const void *memo_getv(struct memo *m, const struct memo_part *parts, int nparts, size_t *vlen)
{
	return memo_lookup(m, parts, nparts, vlen);
}

const void *memo_get(struct memo *m, const void *key, size_t n, size_t *vlen)
{
	const struct memo_part part = {key, n};

	return memo_lookup(m, &part, 1, vlen);
}

void memo_putv(struct memo *m, const struct memo_part *parts, int nparts, const void *val,
               size_t vlen)
{
	size_t n = parts_len(parts, nparts);
	uint64_t h;
	struct memo_entry *set, *e;
	char *copy;

	if (n > m->max_key || (copy = malloc(n + vlen + 1)) == NULL)
		return;
	h = key_hash(m, parts, nparts, n);
	set = set_of(m, h);
	e = &set[0];
	for (unsigned w = 1; w < m->ways && e->key != NULL; w++)
		if (set[w].key == NULL || set[w].used < e->used)
			e = &set[w]; /* an empty way, else the least recently used */
	parts_read(parts, nparts, 0, copy, n);
	if (vlen > 0)
		memcpy(copy + n, val, vlen);
	free(e->key);
	*e = (struct memo_entry){
	    .hash = h, .used = ++m->clock, .key = copy, .klen = n, .vlen = vlen};
}

void memo_put(struct memo *m, const void *key, size_t n, const void *val, size_t vlen)
{
	const struct memo_part part = {key, n};

	memo_putv(m, &part, 1, val, vlen);
}
