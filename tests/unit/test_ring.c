/*
 * test_ring.c: unit.ring — the single-producer, single-consumer message
 * ring (common/ring.h). An empty ring peeks nothing; messages come out
 * whole, in order, with their lengths, including across the padded end of
 * the buffer; a message above RING_MSG_MAX is refused; a full ring refuses
 * nothing but makes the writer wait, and a closed one lets it go. Across
 * two threads, 200,000 messages of varying length through a small ring
 * arrive in order and intact (a writer that never waited would overwrite
 * unread bytes, and the checksums would say so).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "tap.h"

#define NMSG 200000u

/* fill writes n bytes derived from seq, so the reader can check them. */
static void fill(uint8_t *p, uint32_t n, uint32_t seq)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 31u + i);
}

static int intact(const uint8_t *p, uint32_t n, uint32_t seq)
{
	for (uint32_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(seq * 31u + i))
			return 0;
	return 1;
}

/* msg_len: a length for message seq, 4 to 900 bytes, uneven on purpose. */
static uint32_t msg_len(uint32_t seq)
{
	return 4u + (seq * 2654435761u >> 7) % 897u;
}

static void test_single_thread(void)
{
	struct ring_bell bell;
	struct ring r;
	uint32_t len, seq, ok = 1;
	const uint8_t *m;
	uint8_t *w;

	CHECK(ring_bell_init(&bell) == 0, "bell made");
	CHECK(ring_init(&r, 4096, &bell, 0) == 0, "ring made");
	CHECK(ring_is_empty(&r), "a new ring is empty");
	CHECK(ring_peek(&r, &len) == NULL, "nothing to peek in an empty ring");
	CHECK(ring_reserve(&r, RING_MSG_MAX(r.cap) + 1) == NULL, "a message too big is refused");

	/* Many rounds of one message each: the position wraps many times,
	 * so the padding at the end is written and skipped. */
	for (seq = 0; seq < 2000; seq++) {
		uint32_t n = msg_len(seq) % (RING_MSG_MAX(r.cap) + 1);
		if ((w = ring_reserve(&r, n)) == NULL) {
			ok = 0;
			break;
		}
		fill(w, n, seq);
		ring_commit(&r, n);
		m = ring_peek(&r, &len);
		if (m == NULL || len != n || !intact(m, n, seq) || ((uintptr_t)m & 7u) != 0) {
			ok = 0;
			break;
		}
		ring_release(&r);
	}
	CHECK(ok, "2000 messages through a 4 KiB ring, aligned and intact (stopped at %u)", seq);
	CHECK(ring_is_empty(&r), "empty again after the last release");

	/* Fill it without reading: messages stay in order. */
	for (seq = 0; seq < 3; seq++) {
		w = ring_reserve(&r, 1000);
		fill(w, 1000, seq);
		ring_commit(&r, 1000);
	}
	for (seq = 0, ok = 1; seq < 3; seq++) {
		m = ring_peek(&r, &len);
		ok &= m != NULL && len == 1000 && intact(m, 1000, seq);
		if (m != NULL)
			ring_release(&r);
	}
	CHECK(ok, "three queued messages come out in order");
	w = ring_reserve(&r, 0);
	ring_commit(&r, 0);
	m = ring_peek(&r, &len);
	CHECK(m != NULL && len == 0, "an empty message is a message");
	ring_release(&r);
	ring_close(&r);
	CHECK(ring_reserve(&r, 8) == NULL, "a closed ring takes nothing");
	ring_destroy(&r);
	ring_bell_destroy(&bell);
}

struct pair {
	struct ring r;
	struct ring_bell bell;
	uint32_t bad, got;
};

static void *writer(void *arg)
{
	struct pair *p = arg;

	for (uint32_t seq = 0; seq < NMSG; seq++) {
		uint32_t n = msg_len(seq);
		uint8_t *w = ring_reserve(&p->r, n + 4);
		if (w == NULL)
			return NULL;
		memcpy(w, &seq, 4);
		fill(w + 4, n, seq);
		ring_commit(&p->r, n + 4);
	}
	ring_kick(&p->r);
	return NULL;
}

/* test_two_threads: NMSG messages through a small ring, batch bytes between publications. */
static void test_two_threads(uint32_t batch)
{
	static struct pair p;
	pthread_t t;

	memset(&p, 0, sizeof(p));
	CHECK(ring_bell_init(&p.bell) == 0, "bell made");
	/* Small, and woken only every 2 KiB: the writer waits often. */
	CHECK(ring_init(&p.r, 8192, &p.bell, 2048) == 0, "ring made");
	ring_set_batch(&p.r, batch);
	CHECK(pthread_create(&t, NULL, writer, &p) == 0, "writer started");
	while (p.got < NMSG) {
		uint32_t len, seq;
		const uint8_t *m = ring_peek(&p.r, &len);
		if (m == NULL) {
			ring_wait(&p.r, 100);
			continue;
		}
		memcpy(&seq, m, 4);
		if (seq != p.got || len != msg_len(seq) + 4 || !intact(m + 4, len - 4, seq))
			p.bad++;
		p.got++;
		ring_release(&p.r);
	}
	pthread_join(t, NULL);
	CHECK_EQ_INT(p.got, NMSG);
	CHECK(p.bad == 0, "every message in order and intact (%u bad, batch %u)", p.bad, batch);
	CHECK(ring_is_empty(&p.r), "nothing left over");
	ring_destroy(&p.r);
	ring_bell_destroy(&p.bell);
}

/* A writer waiting on a full ring is let go by ring_close (a reader that stopped). */
static void *stuck_writer(void *arg)
{
	struct pair *p = arg;
	uint32_t n = 0;

	while (ring_reserve(&p->r, 512) != NULL) {
		ring_commit(&p->r, 512);
		n++;
	}
	p->got = n;
	return NULL;
}

static void test_close_frees_writer(void)
{
	static struct pair p;
	pthread_t t;
	uint32_t len;

	ring_bell_init(&p.bell);
	ring_init(&p.r, 4096, &p.bell, 0);
	pthread_create(&t, NULL, stuck_writer, &p);
	/* Let it fill the ring and wait, then read one and close. */
	ring_wait(&p.r, 1000);
	CHECK(ring_peek(&p.r, &len) != NULL && len == 512, "the first message arrived");
	ring_release(&p.r);
	ring_close(&p.r);
	pthread_join(t, NULL);
	CHECK(p.got >= 1 && p.got <= 4096 / 512, "the writer stopped after %u messages", p.got);
	ring_destroy(&p.r);
	ring_bell_destroy(&p.bell);
}

/* With a batch, an index is published once a batch, or when asked. */
static void test_batch_publication(void)
{
	struct ring_bell bell;
	struct ring r;
	uint32_t len;
	uint8_t *w;

	ring_bell_init(&bell);
	ring_init(&r, 8192, &bell, 1u << 20); /* never kicked by size */
	ring_set_batch(&r, 1024);
	w = ring_reserve(&r, 100);
	fill(w, 100, 1);
	ring_commit(&r, 100);
	CHECK(ring_peek(&r, &len) == NULL, "a message below the batch is not seen yet");
	ring_kick(&r);
	CHECK(ring_peek(&r, &len) != NULL && len == 100, "ring_kick publishes it");
	ring_release(&r);
	CHECK(atomic_load(&r.head) == 0, "its room is not given back below the batch");
	CHECK(ring_peek(&r, &len) == NULL, "the ring is empty");
	CHECK(atomic_load(&r.head) == r.tail_local, "finding it empty gives the room back");
	for (uint32_t i = 0; i < 12; i++) { /* 108 bytes each: published at the 10th */
		if (ring_reserve(&r, 100) != NULL)
			ring_commit(&r, 100);
	}
	CHECK(atomic_load(&r.tail) != 0 && atomic_load(&r.tail) != r.tail_local,
	      "a full batch is published, the rest waits");
	ring_destroy(&r);
	ring_bell_destroy(&bell);
}

int main(void)
{
	test_single_thread();
	test_batch_publication();
	test_two_threads(0);
	test_two_threads(1024);
	test_close_frees_writer();
	return tap_done();
}
