/*
 * memo.h: a small memo of recent results, keyed by bytes.
 *
 * A sensor sees the same few client and server versions over and over, so
 * what is derived from their KEXINITs repeats: the check of a KEXINIT's
 * name-lists, its HASSH, the negotiation of two offers and the decoded
 * server host key (kex.c), and the serialised sides of a record
 * (output/record.c).
 * A memo keeps the latest of them: `sets` sets of `ways`
 * entries, the set picked by the keyed hash (hash.h) of the key's length
 * and a few sampled words, the least recently used entry of a set
 * replaced. A hit is checked byte for byte, so a memo never changes a
 * result; a crafted hash collision costs at most `ways` comparisons. Keys
 * longer than max_key are not kept, which bounds the memory to sets * ways
 * * (max_key + the largest value). Not thread-safe: one per thread.
 */
#ifndef KW_MEMO_H
#define KW_MEMO_H

#include <stddef.h>

struct memo;

/* memo_new: an empty memo; NULL when out of memory. */
struct memo *memo_new(unsigned sets, unsigned ways, size_t max_key);
void memo_free(struct memo *m);

/*
 * memo_get: the value kept for key[0..n), or NULL (always for a key over
 * max_key); *vlen gets its length. The value stays valid until the next
 * memo_put or memo_putv on m.
 */
const void *memo_get(struct memo *m, const void *key, size_t n, size_t *vlen);

/* memo_put keeps copies of key[0..n) and val[0..vlen) (nothing when out of memory). */
void memo_put(struct memo *m, const void *key, size_t n, const void *val, size_t vlen);

/*
 * A key given in parts, for callers whose key lies in several places (a
 * header and two blocks of name-lists): the key is the concatenation of
 * the parts, so {"ab", "c"} and {"a", "bc"} are the key "abc", without
 * the caller copying it together. A caller whose parts vary in length
 * makes the concatenation unambiguous, e.g. with a fixed-size first part
 * that holds the lengths of the others.
 */
struct memo_part {
	const void *p;
	size_t n;
};

/* memo_getv: memo_get of the concatenation of parts[0..nparts). */
const void *memo_getv(struct memo *m, const struct memo_part *parts, int nparts, size_t *vlen);
/* memo_putv: memo_put of the concatenation of parts[0..nparts). */
void memo_putv(struct memo *m, const struct memo_part *parts, int nparts, const void *val,
               size_t vlen);

#endif
