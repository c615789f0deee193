/*
 * ring.h: a bounded single-producer, single-consumer queue of
 * variable-length messages, and the bell its ends sleep on.
 *
 * One thread writes messages (reserve, fill, commit) and one other thread
 * reads them (peek, use, release), in order, without a lock on the way:
 * the two ends share only a head and a tail index. Messages are contiguous
 * in the ring's memory, so a reader uses one in place until it releases it;
 * a message that would straddle the end leaves a padding mark and starts
 * again at the front. A full ring makes the writer wait (back-pressure, not
 * more memory); an empty one makes the reader wait. Waiting spins a
 * little, then sleeps on a bell (a mutex and a condition variable, touched
 * only when someone sleeps). Several rings may share the reader's bell, so
 * one thread can wait for any of them (the record merger of app/workers.c).
 * Not responsible for what the messages mean.
 */
#ifndef KW_RING_H
#define KW_RING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Where a thread sleeps until another one says something changed. */
struct ring_bell {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_uint sleepers; /* threads in ring_bell_wait (or about to be) */
	uint64_t rung;        /* times rung while someone slept; under mu */
};

/* ring_bell_init: 0, or an errno value. */
int ring_bell_init(struct ring_bell *b);
void ring_bell_destroy(struct ring_bell *b);

/*
 * ring_bell_ring wakes the threads asleep on b. Costs one atomic
 * read-modify-write when nobody sleeps. Call it after making the change the sleeper waits for
 * visible (ring_commit, ring_release, an atomic store).
 */
void ring_bell_ring(struct ring_bell *b);

/*
 * ring_bell_wait sleeps until ready(arg) is true, b is rung, or timeout_ms
 * passes (0: no timeout). ready is checked after the thread is counted as
 * a sleeper, so a change made (and rung) before the sleep is not missed.
 */
void ring_bell_wait(struct ring_bell *b, int (*ready)(void *arg), void *arg, uint32_t timeout_ms);

struct ring {
	/* Set before use and only read after (both ends): a line of their
	 * own, so that no end's writes make the other miss on them. */
	uint8_t *buf;
	uint32_t cap;           /* a power of two */
	uint32_t batch;         /* bytes between publications of an index (0: every message) */
	uint32_t kick_bytes;    /* ring_commit rings data once this much is waiting */
	struct ring_bell *data; /* the reader sleeps here when it is empty (maybe shared) */
	atomic_int closed;      /* the reader is gone: writes are dropped (written once) */
	/* Bytes ever written and ever read: they only grow (mod 2^32 they
	 * still subtract right), the writer owns tail, the reader head. Each
	 * end publishes its index every `batch` bytes (ring_set_batch), so
	 * the other's cache line moves once a batch, not once a message. */
	_Alignas(64) atomic_uint tail;
	_Alignas(64) atomic_uint head;
	/* The writer's: its view of head, refreshed only when the ring looks
	 * full, its own tail, ahead of the published one by < batch, and the
	 * bytes committed since it last rang data. */
	_Alignas(64) uint32_t head_cache;
	uint32_t tail_local;
	uint32_t pending;
	/* The reader's own head, ahead of the published one by < batch: it
	 * changes with every message read, so it shares its line with no
	 * field the writer reads. */
	_Alignas(64) uint32_t head_local;
	_Alignas(64) struct ring_bell space; /* the writer sleeps here when the ring is full */
};

/* The largest message a ring of cap bytes takes (a quarter of it). */
#define RING_MSG_MAX(cap) ((cap) / 4u - 8u)

/*
 * ring_init allocates a ring of cap bytes (rounded up to a power of two,
 * at least 4096) whose reader sleeps on data (a bell the caller owns and
 * may share between rings). kick_bytes: committed bytes after which the
 * writer wakes a sleeping reader (0: after every message); below it the
 * reader is woken by ring_kick, or when the writer itself must wait.
 * Returns 0, KW_ERR_NOMEM, or KW_ERR_IO when the bell could not be made.
 */
int ring_init(struct ring *r, uint32_t cap, struct ring_bell *data, uint32_t kick_bytes);
void ring_destroy(struct ring *r);

/*
 * ring_reserve returns room for a message of len bytes (at most
 * RING_MSG_MAX(cap); 8-byte aligned), waiting while the ring is full. NULL
 * when len is too big or the ring is closed. Writer only; the message is
 * not seen until ring_commit.
 */
void *ring_reserve(struct ring *r, uint32_t len);

/* ring_commit publishes the message ring_reserve returned (same len). Writer only. */
void ring_commit(struct ring *r, uint32_t len);

/*
 * ring_set_batch: each end publishes its index once per batch bytes of
 * messages instead of once per message (0, the default: every message).
 * Committed messages below a batch are seen by the reader after ring_kick
 * (or when the writer must wait for room); released room below a batch is
 * seen by the writer when the reader finds the ring empty. Set it before
 * the ring is used.
 */
void ring_set_batch(struct ring *r, uint32_t bytes);

/* ring_kick publishes what was committed and wakes the reader if it sleeps (writer only). */
void ring_kick(struct ring *r);

/*
 * ring_peek returns the next message and its length, or NULL when the ring
 * is empty (it does not wait: see ring_wait); finding it empty publishes
 * the room released so far. The message stays valid, in place, until
 * ring_release. Reader only.
 */
const void *ring_peek(struct ring *r, uint32_t *len);

/*
 * ring_release frees the message ring_peek returned; the writer sees the
 * room (and is woken if it waits) once a batch is released, or when the
 * reader finds the ring empty.
 */
void ring_release(struct ring *r);

/* ring_is_empty: nothing to peek (reader only: it counts the reader's own head). */
int ring_is_empty(struct ring *r);

/*
 * ring_wait waits until the ring has a message, spinning a little before
 * sleeping on the data bell; timeout_ms as ring_bell_wait. Reader only.
 */
void ring_wait(struct ring *r, uint32_t timeout_ms);

/* ring_close: the reader will read no more; a writer waiting or writing is let go. */
void ring_close(struct ring *r);

#endif
