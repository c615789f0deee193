/*
 * flowmem.h: per-connection memory for the SSH parser's facts (internal to
 * dissect/).
 *
 * A connection's banners, KEXINITs and their name-lists, HASSH strings and
 * DISCONNECT text live as long as the connection and are freed together
 * with it. Taking each from malloc cost a tenth of the packet loop (a dozen
 * malloc/free pairs per connection); here they are carved from chunks of
 * FLOWMEM_CHUNK bytes that the packet loop's pool hands out and takes back
 * when the connection is freed, so a busy sensor reuses the same chunks and
 * calls malloc only for what is larger than half a chunk. (The stream
 * buffer of an unfinished packet, bounded by stream_buf and freed at
 * NEWKEYS, and out-of-order segments stay on malloc: they are rare, and
 * carving them would leave their growth behind as slack.)
 *
 * Every chunk passes through chunk_new and chunk_drop in flowmem.c, which
 * charge the whole chunk to the global memory budget (budget.h) and give
 * it back: the budget sees the memory the connection really holds, slack
 * included. Spare chunks in a pool are charged to no one (at most
 * FLOWMEM_POOL_MAX of them, a fixed 4 MiB).
 */
#ifndef KW_FLOWMEM_H
#define KW_FLOWMEM_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"

/* Bytes of one chunk, its header included. A handshake's facts take 2-5 KiB. */
#define FLOWMEM_CHUNK 4096u
/* Spare chunks a pool keeps for reuse (4 MiB). */
#define FLOWMEM_POOL_MAX 1024u

struct flowmem_chunk;

/* Spare chunks of one packet loop: not thread-safe, like the flow table. */
struct flowmem_pool {
	struct flowmem_chunk *spare;
	uint32_t nspare;
};

/* One connection's memory; all zero is valid: empty, without a pool. */
struct flowmem {
	struct flowmem_pool *pool;  /* borrowed, or NULL: chunks come from malloc */
	struct kw_budget *budget;   /* borrowed, or NULL: no limit */
	struct flowmem_chunk *head; /* chunk being carved; larger allocations follow it */
	size_t used;                /* bytes of head's payload given out */
	uint8_t refused;            /* the budget refused a chunk (flowmem_alloc) */
};

/*
 * flowmem_alloc gives n bytes aligned to 8, owned by a until flowmem_release:
 * from the current chunk, a new one, or (above half a chunk) a block of
 * their own. NULL when memory is exhausted, or when the budget refuses a
 * new chunk (refused is then set; the caller clears it).
 */
void *flowmem_alloc(struct flowmem *a, size_t n);

/* flowmem_release frees everything a gave out (chunks back to its pool); a is then empty. */
void flowmem_release(struct flowmem *a);

/* flowmem_pool_free frees a pool's spare chunks (every flowmem using it released first). */
void flowmem_pool_free(struct flowmem_pool *p);

#endif
