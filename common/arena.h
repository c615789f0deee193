/*
 * arena.h: a bump allocator for what lives as long as one piece of work
 * (the strings of one verdict), emptied at once, its memory kept.
 *
 * Memory comes in chunks that never move, so a pointer the arena returned
 * stays valid until arena_reset. A request larger than a chunk gets a chunk
 * of its own, freed at the next reset, so a hostile name-list does not make
 * the kept memory grow. Not thread-safe: one arena per thread.
 */
#ifndef KW_ARENA_H
#define KW_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK 16384 /* bytes per ordinary chunk; the first one is kept across resets */

struct arena_chunk;

struct arena {
	struct arena_chunk *head; /* the chunk being filled; its next are older */
	size_t used;              /* bytes used in head */
};

/* arena_init: an empty arena (no memory until the first request). */
void arena_init(struct arena *a);
/* arena_reset frees every chunk but one ordinary chunk, which it empties. */
void arena_reset(struct arena *a);
/* arena_free frees everything; the arena may be used again after arena_init. */
void arena_free(struct arena *a);
/* arena_alloc: n bytes aligned for any type, NULL on allocation failure. */
void *arena_alloc(struct arena *a, size_t n);
/* arena_strndup: a NUL-terminated copy of s[0..n); NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* arena_printf: formatted text, NULL on failure. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
