/*
 * memo.h: a small memo of recent results, keyed by bytes.
 *
 * A sensor sees the same few client and server versions over and over, so
 * what is derived from a side's KEXINIT alone repeats: its HASSH (kex.c)
 * and the serialised "hassh" and "kexinit" members of its record
 * (output/record.c). A memo keeps the latest of them: `sets` sets of `ways`
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
 * memo_get: the value kept for key[0..n), or NULL; *vlen gets its length.
 * The value stays valid until the next memo_put on m.
 */
const void *memo_get(struct memo *m, const void *key, size_t n, size_t *vlen);

/* memo_put keeps copies of key[0..n) and val[0..vlen) (nothing when out of memory). */
void memo_put(struct memo *m, const void *key, size_t n, const void *val, size_t vlen);

#endif
