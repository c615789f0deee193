/*
 * tally.h: bounded counts of strings, for the text summary (internal to
 * output/). Keys beyond the bound are counted under "(other)", so memory
 * stays fixed whatever the input.
 */
#ifndef KW_TALLY_H
#define KW_TALLY_H

#include <stddef.h>
#include <stdint.h>

struct tally;

/* tally_new: NULL on allocation failure. */
struct tally *tally_new(uint32_t max_keys);
void tally_free(struct tally *t);
/* tally_add counts key (copied) n more times; NULL t is ignored. */
void tally_add(struct tally *t, const char *key, uint64_t n);
/* tally_get: the count of key, 0 if absent. */
uint64_t tally_get(const struct tally *t, const char *key);
/*
 * tally_top fills at most k keys (borrowed until the next tally_add) and
 * counts, most counted first, ties by key; returns how many.
 */
size_t tally_top(const struct tally *t, const char **keys, uint64_t *counts, size_t k);

#endif
