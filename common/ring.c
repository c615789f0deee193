/*
 * ring.c: the single-producer, single-consumer message ring (see ring.h).
 *
 * Each message is an 8-byte header (its length, or RING_PAD for the unused
 * end of the buffer) and its bytes rounded up to 8. The writer publishes
 * messages by storing tail with release order, the reader frees them by
 * storing head with release order; each loads the other's index with
 * acquire order, so the bytes of a message are visible before its index.
 * With a batch (ring_set_batch) each end counts in its own field and
 * stores the shared index once a batch: a packet hand-off then costs no
 * cache-line transfer of its own (the reader of app/workers.c sends
 * millions).
 * Sleeping goes through ring_bell. The sleeper adds itself to the bell's
 * count, then checks; the waker makes its change, then reads the count
 * with a read-modify-write (adding 0): the two read-modify-writes are
 * ordered, so either the waker sees the sleeper, or the sleeper's
 * increment reads the waker's and so sees the change made before it (the
 * Dekker pattern, without fences, which ThreadSanitizer does not model).
 * The mutex closes the gap between the check and the condition wait.
 * Not responsible for what the messages mean.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "ring.h"

#define RING_PAD 0xffffffffu /* header length of the padding at the buffer's end */
#define RING_HDR 8u
#define RING_SPIN 256 /* looks before sleeping: a few microseconds */

/* cpu_relax tells the core a spin loop is running (less power, a fair sibling). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

int ring_bell_init(struct ring_bell *b)
{
	pthread_condattr_t ca;
	int e;

	memset(b, 0, sizeof(*b));
	if ((e = pthread_mutex_init(&b->mu, NULL)) != 0)
		return e;
	/* Timed waits on the monotonic clock: a wall-clock step must not stall them. */
	if ((e = pthread_condattr_init(&ca)) != 0)
		goto fail_mu;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	e = pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (e != 0)
		goto fail_mu;
	atomic_init(&b->sleepers, 0);
	return 0;
fail_mu:
	pthread_mutex_destroy(&b->mu);
	return e;
}

void ring_bell_destroy(struct ring_bell *b)
{
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
}

void ring_bell_ring(struct ring_bell *b)
{
	if (atomic_fetch_add(&b->sleepers, 0) == 0)
		return;
	pthread_mutex_lock(&b->mu);
	b->rung++;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

void ring_bell_wait(struct ring_bell *b, int (*ready)(void *arg), void *arg, uint32_t timeout_ms)
{
	struct timespec until;
	uint64_t rung;

	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += timeout_ms / 1000u;
		until.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&b->mu);
	atomic_fetch_add(&b->sleepers, 1);
	rung = b->rung;
	while (!ready(arg) && b->rung == rung) {
		if (timeout_ms == 0)
			pthread_cond_wait(&b->cv, &b->mu);
		else if (pthread_cond_timedwait(&b->cv, &b->mu, &until) == ETIMEDOUT)
			break;
	}
	atomic_fetch_sub(&b->sleepers, 1);
	pthread_mutex_unlock(&b->mu);
}

int ring_init(struct ring *r, uint32_t cap, struct ring_bell *data, uint32_t kick_bytes)
{
	uint32_t n = 4096;

	memset(r, 0, sizeof(*r));
	while (n < cap && n < (1u << 30))
		n <<= 1;
	if ((r->buf = malloc(n)) == NULL)
		return KW_ERR_NOMEM;
	if (ring_bell_init(&r->space) != 0) {
		free(r->buf);
		r->buf = NULL;
		return KW_ERR_IO;
	}
	r->cap = n;
	r->data = data;
	r->kick_bytes = kick_bytes;
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
	atomic_init(&r->closed, 0);
	return 0;
}

void ring_set_batch(struct ring *r, uint32_t bytes)
{
	r->batch = bytes;
}

/* publish_tail shows the reader every message committed (writer). */
static void publish_tail(struct ring *r)
{
	atomic_store_explicit(&r->tail, r->tail_local, memory_order_release);
}

/* publish_head shows the writer the room released, and wakes it if it waits (reader). */
static void publish_head(struct ring *r)
{
	if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->head_local)
		return;
	atomic_store_explicit(&r->head, r->head_local, memory_order_release);
	ring_bell_ring(&r->space);
}

void ring_destroy(struct ring *r)
{
	if (r->buf == NULL)
		return;
	ring_bell_destroy(&r->space);
	free(r->buf);
	r->buf = NULL;
}

/* msg_size: the bytes a message of len takes, header included. */
static uint32_t msg_size(uint32_t len)
{
	return RING_HDR + ((len + 7u) & ~7u);
}

/* What the writer waits for: room for the message (or a closed ring). */
struct space_want {
	struct ring *r;
	uint32_t need;
};

static int space_ready(void *arg)
{
	struct space_want *w = arg;
	uint32_t head = atomic_load_explicit(&w->r->head, memory_order_acquire);

	return w->r->cap - (w->r->tail_local - head) >= w->need || atomic_load(&w->r->closed);
}

void *ring_reserve(struct ring *r, uint32_t len)
{
	uint32_t tail = r->tail_local;
	uint32_t pos = tail & (r->cap - 1), need = msg_size(len);
	struct space_want want = {r, 0};

	if (len > RING_MSG_MAX(r->cap) || atomic_load_explicit(&r->closed, memory_order_relaxed))
		return NULL;
	/* A message never wraps: the end of the buffer is padded instead. */
	want.need = r->cap - pos < need ? r->cap - pos + need : need;
	if (r->cap - (tail - r->head_cache) < want.need) {
		publish_tail(r); /* the reader frees room only from what it sees */
		for (int spin = 0; spin < RING_SPIN && !space_ready(&want); spin++)
			cpu_relax();
		while (!space_ready(&want)) {
			/* The reader may be asleep on a batch still below kick_bytes. */
			ring_kick(r);
			ring_bell_wait(&r->space, space_ready, &want, 50);
		}
		if (atomic_load(&r->closed))
			return NULL;
		r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
	}
	if (r->cap - pos < need) {
		uint32_t pad = RING_PAD;
		memcpy(r->buf + pos, &pad, sizeof(pad));
		pos = 0;
	}
	return r->buf + pos + RING_HDR;
}

void ring_commit(struct ring *r, uint32_t len)
{
	uint32_t tail = r->tail_local;
	uint32_t pos = tail & (r->cap - 1), need = msg_size(len), adv = need;

	if (r->cap - pos < need) {
		adv += r->cap - pos; /* the padding ring_reserve wrote */
		pos = 0;
	}
	memcpy(r->buf + pos, &len, sizeof(len));
	r->tail_local = tail + adv;
	if (r->tail_local - atomic_load_explicit(&r->tail, memory_order_relaxed) >= r->batch)
		publish_tail(r);
	r->pending += adv;
	if (r->pending >= r->kick_bytes)
		ring_kick(r);
}

void ring_kick(struct ring *r)
{
	publish_tail(r);
	r->pending = 0;
	ring_bell_ring(r->data);
}

const void *ring_peek(struct ring *r, uint32_t *len)
{
	uint32_t head = r->head_local;
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint32_t pos, n;

	if (head == tail) {
		publish_head(r); /* about to wait, maybe: let the writer have the room */
		return NULL;
	}
	pos = head & (r->cap - 1);
	memcpy(&n, r->buf + pos, sizeof(n));
	if (n == RING_PAD) {
		/* Skip the padding now: the message after it is whole at the front. */
		head += r->cap - pos;
		r->head_local = head;
		if (head == tail) {
			publish_head(r);
			return NULL;
		}
		pos = 0;
		memcpy(&n, r->buf, sizeof(n));
	}
	*len = n;
	return r->buf + pos + RING_HDR;
}

void ring_release(struct ring *r)
{
	uint32_t n;

	memcpy(&n, r->buf + (r->head_local & (r->cap - 1)), sizeof(n));
	r->head_local += msg_size(n);
	if (r->head_local - atomic_load_explicit(&r->head, memory_order_relaxed) >= r->batch)
		publish_head(r);
}

int ring_is_empty(struct ring *r)
{
	return r->head_local == atomic_load_explicit(&r->tail, memory_order_acquire);
}

static int data_ready(void *arg)
{
	return !ring_is_empty(arg);
}

void ring_wait(struct ring *r, uint32_t timeout_ms)
{
	publish_head(r);
	for (int spin = 0; spin < RING_SPIN; spin++) {
		if (!ring_is_empty(r))
			return;
		cpu_relax();
	}
	ring_bell_wait(r->data, data_ready, r, timeout_ms);
}

void ring_close(struct ring *r)
{
	atomic_store(&r->closed, 1);
	ring_bell_ring(&r->space);
}
