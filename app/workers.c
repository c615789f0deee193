/*
 * workers.c: the packet loops of one run and the record merger (see
 * workers.h).
 *
 * Responsible for which worker owns a packet, for the rings between the
 * reader, the workers and the merger, and for the order records are
 * written in. Offline, the reader's ring to each worker carries packets,
 * clock ticks and the end. A packet is its pkt and, from a mapped capture
 * file, a pointer to its payload in the mapping: the reader holds the
 * file's windows mapped (capture_hold) until every worker has read past
 * the last packet sent from them (the ring's head passing a mark of its
 * tail), so the bytes of a bulk transfer are never copied, and a worker
 * that bypasses the connection never touches them. Other payloads (gzip,
 * pcapng, pipes, reassembled fragments) are copied after the pkt. With
 * two workers on two processors or fewer (usable_cpus) the reader
 * runs worker 0 itself (inline0), with a smaller share of the
 * connections, and worker 1's thread runs the merger between its packets,
 * so that no more threads are busy than there are cores.
 * Each worker's ring to the merger carries the flows it hands over. A worker publishes
 * its table's horizon (flow_table_horizon) after handing over what came
 * before it; the merger keeps the flows it received in a heap and writes,
 * in (t_final, t_first, flow_id) order, each one final before every
 * worker's horizon. Since t_final, t_first and flow_id depend only on a
 * connection's own packets and the run's clock (dissect/flow.c), the order
 * is the same for any number of workers. Not responsible for reading
 * frames (kexwatch.c, live.c), flows (dissect/) or records (output/).
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "err.h"
#include "flowid.h"
#include "pipeline.h"
#include "ring.h"
#include "thread.h"
#include "workers.h"

/* Reader to worker: a few hundred full-size frames; the largest packet
 * (a 256 KiB frame) must fit a quarter of it (RING_MSG_MAX). */
#define IN_RING_BYTES (2u << 20)
#define IN_RING_KICK (IN_RING_BYTES / 8u) /* wake a sleeping worker per 256 KiB */
/* Each end of a reader's ring publishes its index once per this many bytes. */
#define IN_RING_BATCH (16u << 10)
/* Mapped windows (4 MiB each) the reader lets the workers read in place
 * before it waits for them: the memory it adds is bounded by this. A
 * worker's full ring of bulk packets spans about three and a half. */
#define HOLD_WAIT 6u
/* Worker to merger: 40-byte messages, about 1,600, each holding a flow. */
#define OUT_RING_BYTES (64u << 10)
#define OUT_RING_KICK (OUT_RING_BYTES / 4u)
/* Flows the merger may hold waiting for their turn before the reader waits
 * for it: a merger slower than the workers (it shares the cores with them)
 * would otherwise take every flow they hand over into its heap, and the
 * memory would grow with the input. Flows are a few KiB each. */
#define MERGE_BACKLOG 2048u
#define BACKLOG_EVERY 64u /* the reader looks at the backlog once per this many packets */
#define TICK_US 100000u   /* offline: idle workers run their timers this often */
#define WAIT_MS 50u       /* a sleeper looks again at least this often */
/* A worker that runs the merger too merges once per this many messages. */
#define MERGE_EVERY 64u

enum wmsg_type {
	WMSG_PACKET = 1,
	WMSG_TICK,
	WMSG_IDLE, /* advance exactly: a streamed input is quiet */
	WMSG_END,
};

/* Reader to worker. The message ends with pkt_len bytes of its pkt: all of
 * it, or for a plain segment (pkt_is_plain) the fields before the rare ones,
 * a third less to carry from core to core. A packet's payload is in place
 * (pkt.payload points into a held window) or its copied bytes follow, from
 * the next multiple of 8; so do (with an evidence capture) its frame's. */
struct wmsg {
	uint32_t type;
	uint32_t file_index;
	uint64_t clock_us;
	uint64_t frame_ts_us;
	uint32_t frame_caplen, frame_wirelen; /* frame_caplen 0: no frame */
	uint32_t copied;                      /* payload bytes that follow */
	uint32_t pkt_len;                     /* bytes of pkt here: 0 (no packet), */
	                                      /* PKT_PLAIN_LEN or all */
	const uint8_t *frame;                 /* the frame in place, or NULL: copied */
	struct pkt pkt;                       /* payload NULL: copied */
};

/* msg_head: the bytes of a message before its payload, for pkt_len bytes of pkt. */
static uint32_t msg_head(uint32_t pkt_len)
{
	return (uint32_t)offsetof(struct wmsg, pkt) + ((pkt_len + 7u) & ~7u);
}

/* frame_off: where a message's frame bytes start, after plen payload bytes. */
static uint32_t frame_off(uint32_t pkt_len, uint32_t plen)
{
	return msg_head(pkt_len) + ((plen + 7u) & ~7u);
}

enum merge_step {
	MERGE_WORKED, /* took or wrote something: look again */
	MERGE_IDLE,   /* nothing to do until a worker moves on */
	MERGE_DONE,   /* every worker done, every record written */
};

/* Worker to merger: one flow handed over, the merger's to free. */
struct omsg {
	struct flow *f;
	uint64_t final_us, t_first, flow_id;
	uint32_t why;
	uint32_t worker;
};

struct worker {
	struct workers *w;
	uint32_t index;
	pthread_t thread;
	int started;
	struct flow_table *table;
	struct ring in;  /* offline: from the reader */
	struct ring out; /* to the merger */
	struct ring_bell in_bell;
	int in_bell_on;           /* in_bell was made (offline, several workers) */
	uint64_t horizon_seen;    /* its last published horizon (the worker's copy) */
	uint64_t merger_seen;     /* the horizon the merger last acted on (the merger's) */
	_Atomic uint64_t horizon; /* no flow it hands over later is final before it */
	atomic_int done;          /* handed over everything, will send nothing more */
	pthread_mutex_t stats_mu; /* guards snap */
	struct flow_stats snap;   /* counters as last published */
	uint64_t open_at_end;     /* flows open when the end message came */
	uint64_t cpu_us;          /* the thread's CPU time, when it ended */
	int merges;               /* its thread runs the merger too (inline0's worker 1) */
	uint32_t since_merge;     /* messages since it last ran the merger */
};

struct workers {
	struct workers_config cfg;
	struct kw_limits limits; /* the run's, max_flows divided */
	struct worker *wk;
	uint32_t n;
	struct ring_bell merger_bell;
	pthread_t merger;
	int merger_started;
	atomic_int live_stop_merger; /* live: the workers are done, finish */
	/* A quiet streamed input: once every horizon reaches it, the merger
	 * flushes the outputs (0: no flush wanted). */
	_Atomic uint64_t flush_at;
	/* Flows in the merger's heap (published by it), whether it sleeps with
	 * nothing it can write, and where the reader waits for either. */
	_Atomic uint64_t backlog;
	atomic_int merger_idle;
	struct ring_bell reader_bell;
	/* Reader (offline). */
	uint64_t clock_us, last_tick;
	uint32_t since_backlog; /* packets since the reader last looked at the backlog */
	/* The input whose frames go to the workers in place, or NULL; the
	 * window of the last frame sent; and for each earlier window still
	 * held, each ring's tail when the reader left it (oldest first). */
	struct capture *held;
	uint64_t window;
	struct hold_mark {
		uint64_t window;
		uint32_t tail[WORKERS_MAX];
	} marks[HOLD_WAIT + 2];
	uint32_t nmarks;
	/* Merger's heap of flows waiting for the horizons. */
	struct omsg *heap;
	size_t nheap, heap_cap;
	/* Records the merger had no room to order: written at once (its own;
	 * read by workers_stats on another thread). */
	_Atomic uint64_t unsorted;
	uint64_t merger_cpu_us;
	int finished;
	/* Offline, two workers on two usable processors or fewer: the reader's
	 * thread runs worker 0 itself, between reading packets, and hands only
	 * worker 1's packets over; worker 1's thread runs the merger too
	 * (worker.merges), judging most flows on the core that followed them.
	 * The busy threads are then as many as the cores, and a third of the
	 * hand-offs are gone. Other counts keep every worker and the merger on
	 * a thread of its own, so golden.workers-equivalence (N = 1, 2, 3)
	 * runs both ways. */
	int inline0;
	/* Offline with one worker: no threads, no rings. The reader's thread
	 * runs the worker's table and the merger's ordering in turn, so a
	 * single packet loop pays no hand-off, and its records are the same,
	 * in the same order, as with any N. */
	int single;
};

/*
 * usable_cpus: the processors this process may run on (its affinity: a
 * cpuset or taskset may allow fewer than are online), else the online ones.
 */
static long usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

uint32_t workers_default(void)
{
	long n = usable_cpus();

	/* One per processor: the workers sleep when the reader cannot keep
	 * them busy, and from two processors on two workers finish sooner
	 * than one loop, for more CPU time in all (docs/performance.md). */
	if (n < 1)
		return 1;
	return n > WORKERS_DEFAULT_MAX ? WORKERS_DEFAULT_MAX : (uint32_t)n;
}

uint64_t thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void workers_cpu(const struct workers *w, uint64_t *per, uint64_t *merger)
{
	for (uint32_t i = 0; i < w->n; i++)
		per[i] = w->wk[i].cpu_us;
	*merger = w->merger_cpu_us;
}

uint32_t workers_count(const struct workers *w)
{
	return w->n;
}

/* mix64: a 64-bit finaliser (every input bit reaches every output bit). */
static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	return x ^ (x >> 32);
}

/* endpoint: one side's address and port, folded to 64 bits (a different odd multiplier each). */
static inline uint64_t endpoint(const uint8_t addr[16], uint16_t port)
{
	uint64_t a0, a1;

	memcpy(&a0, addr, 8);
	memcpy(&a1, addr + 8, 8);
	return a0 * 0x9e3779b97f4a7c15ull + a1 * 0xbf58476d1ce4e5b9ull +
	       (uint64_t)port * 0x94d049bb133111ebull;
}

uint32_t workers_shard(const struct pkt *p, uint32_t n)
{
	const struct addr_pair *a = &p->a;
	uint64_t h;

	if (n <= 1)
		return 0;
	/* Both directions alike: the sum of the two endpoints does not depend
	 * on which one sent. A fixed function, so a connection goes to the same
	 * worker in every run and a run can be repeated with the same load on
	 * each worker; the reader pays a few multiplications a packet. */
	h = mix64(endpoint(a->src, a->sport) + endpoint(a->dst, a->dport) + a->family);
	return (uint32_t)((h >> 32) * n >> 32);
}

/*
 * shard_of: p's worker. When the reader runs worker 0 itself (inline0) it
 * also reads and decodes every packet, so worker 0 gets half the share of
 * each other worker: of 2n - 1 equal parts, one is worker 0's and two are
 * each other's.
 */
static uint32_t shard_of(const struct workers *w, const struct pkt *p)
{
	uint32_t part;

	if (!w->inline0)
		return workers_shard(p, w->n);
	part = workers_shard(p, 2 * w->n - 1);
	return (part + 1) / 2;
}

/* first_ring: the first worker the reader hands packets to (offline). */
static uint32_t first_ring(const struct workers *w)
{
	return w->inline0 ? 1u : 0u;
}

/* --- the merger's heap, ordered by (t_final, t_first, flow_id) ---------- */

static int omsg_before(const struct omsg *a, const struct omsg *b)
{
	if (a->final_us != b->final_us)
		return a->final_us < b->final_us;
	if (a->t_first != b->t_first)
		return a->t_first < b->t_first;
	if (a->flow_id != b->flow_id)
		return a->flow_id < b->flow_id;
	return a->worker < b->worker;
}

/* heap_push: 0, or KW_ERR_NOMEM (the caller writes m at once instead). */
static int heap_push(struct workers *w, const struct omsg *m)
{
	size_t i;

	if (w->nheap == w->heap_cap) {
		size_t cap = w->heap_cap ? w->heap_cap * 2 : 1024;
		struct omsg *h = realloc(w->heap, cap * sizeof(*h));
		if (h == NULL)
			return KW_ERR_NOMEM;
		w->heap = h;
		w->heap_cap = cap;
	}
	i = w->nheap++;
	while (i > 0 && omsg_before(m, &w->heap[(i - 1) / 2])) {
		w->heap[i] = w->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	w->heap[i] = *m;
	return 0;
}

static struct omsg heap_pop(struct workers *w)
{
	struct omsg top = w->heap[0], last = w->heap[--w->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= w->nheap)
			break;
		if (c + 1 < w->nheap && omsg_before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!omsg_before(&w->heap[c], &last))
			break;
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (w->nheap > 0)
		w->heap[i] = last;
	return top;
}

/* --- workers ------------------------------------------------------------ */

static void write_one(struct workers *w, const struct omsg *m);

/* on_handoff (worker thread): a flow's record is due; the merger judges and writes it. */
static void on_handoff(void *ctx, struct flow *f, enum flow_report_why why)
{
	struct worker *wk = ctx;
	struct workers *w = wk->w;
	struct omsg m = {
	    .f = f,
	    .final_us = f->t_final,
	    .t_first = f->t_first,
	    /* Offline only: the last sort key, computed here (in parallel with
	     * several workers). */
	    .flow_id = w->cfg.live
	                   ? 0
	                   : (f->stable_id = flow_id_stable(w->cfg.sensor, f->t_first, &f->key, 6)),
	    .why = (uint32_t)why,
	    .worker = wk->index,
	};
	struct omsg *slot;

	if (w->single || wk->merges) {
		/* The merger runs on this thread: straight into its order
		 * (through the ring, a full ring would wait for this thread). */
		if (heap_push(w, &m) != 0) {
			atomic_fetch_add_explicit(&w->unsorted, 1, memory_order_relaxed);
			write_one(w, &m);
		}
		return;
	}
	if ((slot = ring_reserve(&wk->out, sizeof(*slot))) == NULL) {
		/* the merger is gone: nobody will write it */
		flow_release(f);
		return;
	}
	*slot = m;
	ring_commit(&wk->out, sizeof(*slot));
	if (w->cfg.live)
		ring_kick(&wk->out); /* live: the record goes out now */
}

/*
 * publish_horizon lets the merger write what this worker handed over before
 * it. Offline it does not wake the merger: a horizon moves once a second of
 * capture time, and a wake-up for the few records each move frees cost more
 * than writing them (two context switches, and the merger preempting a
 * worker). The merger wakes for a batch of handed-over flows (OUT_RING_KICK),
 * a worker going to sleep or ending, and at least every WAIT_MS; the flows
 * waiting meanwhile are bounded by MERGE_BACKLOG. Live, records go out now.
 */
static void publish_horizon(struct worker *wk, uint64_t h)
{
	if (wk->w->single || h == wk->horizon_seen) /* one loop: its merger is itself */
		return;
	wk->horizon_seen = h;
	atomic_store_explicit(&wk->horizon, h, memory_order_release);
	if (wk->w->cfg.live)
		ring_kick(&wk->out);
}

static void worker_done(struct worker *wk)
{
	publish_horizon(wk, UINT64_MAX);
	atomic_store_explicit(&wk->done, 1, memory_order_release);
	ring_kick(&wk->out);
}

/*
 * worker_handle does what a message says to wk's table: a packet p (its
 * frame fr, for the evidence capture, or NULL), a clock tick, an exact
 * advance of an idle input, or the end (then the table reports what is
 * still open and 1 is returned). From wk's thread, or from the reader's
 * when it runs wk itself (inline0).
 */
static int worker_handle(struct worker *wk, uint32_t type, const struct pkt *p, uint64_t clock_us,
                         uint32_t file_index, const struct capture_frame *fr)
{
	flow_table_advance(wk->table, clock_us);
	switch (type) {
	case WMSG_PACKET: {
		uint64_t flows = flow_table_stats(wk->table)->flows;
		/* Out of memory: the packet is not followed (counted nowhere
		 * better; the flow shows the hole as a gap). */
		(void)flow_table_packet(wk->table, p, file_index, 0);
		/* Held until the connection's record says whether to keep
		 * them; the evidence capture has one interface per input. */
		if (fr != NULL && wk->w->cfg.p->ev != NULL)
			evidence_frame(wk->w->cfg.p->ev, p,
			               flow_table_stats(wk->table)->flows != flows, file_index,
			               fr->ts_us, fr->data, fr->caplen, fr->wirelen);
		break;
	}
	case WMSG_TICK:
		break;
	case WMSG_IDLE:
		flow_table_advance_exact(wk->table, clock_us);
		break;
	case WMSG_END:
		wk->open_at_end = flow_table_stats(wk->table)->open;
		flow_table_flush(wk->table);
		return 1;
	}
	publish_horizon(wk, flow_table_horizon(wk->table));
	return 0;
}

static enum merge_step merger_step(struct workers *w);
static void merger_sleep(struct workers *w, int (*ready)(void *arg), void *arg);
static void merger_run(struct workers *w);
static int merger_ready(void *arg);

/* host_ready: a message to read or merging to do (a worker that runs the merger). */
static int host_ready(void *arg)
{
	struct worker *wk = arg;

	return !ring_is_empty(&wk->in) || merger_ready(wk->w);
}

/* worker_offline: the loop of an offline worker, until the reader's end message. */
static void worker_offline(struct worker *wk)
{
	for (;;) {
		const struct wmsg *m;
		const uint8_t *in_place;
		struct capture_frame fr;
		struct pkt p;
		uint32_t len;
		int end;

		if ((m = ring_peek(&wk->in, &len)) == NULL) {
			publish_horizon(wk, flow_table_horizon(wk->table));
			if (wk->merges) {
				/* Nothing to read: merge, then sleep until there is. */
				if (merger_step(wk->w) == MERGE_IDLE)
					merger_sleep(wk->w, host_ready, wk);
				continue;
			}
			ring_kick(&wk->out); /* going to sleep: let the merger have it all */
			ring_wait(&wk->in, WAIT_MS);
			continue;
		}
		/* A payload read in place was mapped and prefetched on the
		 * reader's core: ask for its first lines now, so that they
		 * arrive while the flow is looked up. */
		in_place = m->pkt_len != 0 ? m->pkt.payload : NULL;
		if (in_place != NULL) {
			__builtin_prefetch(in_place);
			if (m->pkt.payload_len > 64)
				__builtin_prefetch(in_place + 64);
		}
		/* Constant sizes: the copies are inlined. */
		if (m->pkt_len == PKT_PLAIN_LEN) {
			memcpy(&p, &m->pkt, PKT_PLAIN_LEN);
			memset((uint8_t *)&p + PKT_PLAIN_LEN, 0, sizeof(p) - PKT_PLAIN_LEN);
		} else if (m->pkt_len == sizeof(p)) {
			p = m->pkt;
		} else {
			memset(&p, 0, sizeof(p));
		}
		/* in_place, not p.payload: a load from the copy just made would
		 * wait for its stores. */
		if (in_place == NULL)
			p.payload = (const uint8_t *)m + msg_head(m->pkt_len);
		fr.ts_us = m->frame_ts_us;
		fr.caplen = m->frame_caplen;
		fr.wirelen = m->frame_wirelen;
		fr.data = m->frame != NULL ? m->frame
		                           : (const uint8_t *)m + frame_off(m->pkt_len, m->copied);
		end = worker_handle(wk, m->type, &p, m->clock_us, m->file_index,
		                    m->frame_caplen > 0 ? &fr : NULL);
		ring_release(&wk->in);
		if (end)
			return;
		if (wk->merges && ++wk->since_merge == MERGE_EVERY) {
			wk->since_merge = 0;
			(void)merger_step(wk->w);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *w = wk->w;

	if (w->cfg.live)
		(void)w->cfg.live_loop(w->cfg.live_ctx, wk->index);
	if (w->cfg.live)
		flow_table_flush(wk->table);
	else
		worker_offline(wk);
	workers_publish(w, wk->index);
	worker_done(wk);
	if (wk->merges)
		merger_run(w);
	wk->cpu_us = thread_cpu_us();
	return NULL;
}

/* --- the merger --------------------------------------------------------- */

/* write_one judges and writes one handed-over flow, then frees it. */
static void write_one(struct workers *w, const struct omsg *m)
{
	pipeline_record(w->cfg.p, m->f, (enum flow_report_why)m->why);
	flow_release(m->f);
}

/*
 * publish_backlog tells the reader how many flows wait in the heap, and
 * whether the merger is about to sleep with nothing it can write (idle):
 * the reader waits on either (reader_wait_merger). The reader is rung when
 * the backlog falls to half the limit or the merger goes idle.
 */
static void publish_backlog(struct workers *w, int idle)
{
	uint64_t was = atomic_load_explicit(&w->backlog, memory_order_relaxed);

	if (was != w->nheap)
		atomic_store_explicit(&w->backlog, w->nheap, memory_order_release);
	if (idle)
		atomic_store_explicit(&w->merger_idle, 1, memory_order_release);
	if (idle || (was > MERGE_BACKLOG / 2 && w->nheap <= MERGE_BACKLOG / 2))
		ring_bell_ring(&w->reader_bell);
}

/* merger_ready: something for the merger to do (a ring bell's wake-up test). */
static int merger_ready(void *arg)
{
	struct workers *w = arg;

	for (uint32_t i = 0; i < w->n; i++) {
		struct worker *wk = &w->wk[i];
		if (!ring_is_empty(&wk->out) ||
		    atomic_load_explicit(&wk->horizon, memory_order_acquire) != wk->merger_seen)
			return 1;
	}
	return atomic_load(&w->live_stop_merger) != 0;
}

/*
 * merger_step: one round of the merger. It takes what the workers handed
 * over into its heap and writes, in order, what is final before every
 * worker's horizon.
 */
static enum merge_step merger_step(struct workers *w)
{
	uint64_t least = UINT64_MAX;
	uint32_t ndone = 0;
	int progress = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		struct worker *wk = &w->wk[i];
		const struct omsg *m;
		uint32_t len;

		/* The horizon first: what was handed over before it is in the ring. */
		ndone += atomic_load_explicit(&wk->done, memory_order_acquire) != 0;
		wk->merger_seen = atomic_load_explicit(&wk->horizon, memory_order_acquire);
		if (wk->merger_seen < least)
			least = wk->merger_seen;
		while ((m = ring_peek(&wk->out, &len)) != NULL) {
			struct omsg copy = *m;
			ring_release(&wk->out);
			progress = 1;
			if (w->cfg.live || heap_push(w, &copy) != 0) {
				if (!w->cfg.live)
					atomic_fetch_add_explicit(&w->unsorted, 1,
					                          memory_order_relaxed);
				write_one(w, &copy);
			}
		}
	}
	/* Every worker done (and its ring emptied after): write the rest. */
	while (w->nheap > 0 && (ndone == w->n || w->heap[0].final_us < least)) {
		struct omsg m = heap_pop(w);
		write_one(w, &m);
		progress = 1;
	}
	{
		uint64_t at = atomic_load(&w->flush_at);
		/* Everything due by the quiet input's clock is written: out now. */
		if (at != 0 && (least >= at || ndone == w->n) &&
		    (w->nheap == 0 || w->heap[0].final_us >= least)) {
			pipeline_flush(w->cfg.p);
			atomic_compare_exchange_strong(&w->flush_at, &at, 0);
		}
	}
	if (w->cfg.merger_hook != NULL)
		w->cfg.merger_hook(w->cfg.live_ctx);
	if (ndone == w->n && w->nheap == 0) {
		for (uint32_t i = 0; i < w->n; i++)
			if (!ring_is_empty(&w->wk[i].out))
				return MERGE_WORKED;
		return MERGE_DONE;
	}
	publish_backlog(w, 0);
	return progress ? MERGE_WORKED : MERGE_IDLE;
}

/*
 * merger_sleep: the merger has nothing it can write: it says so (the reader
 * may stop waiting for it) and sleeps on its bell until ready(arg).
 */
static void merger_sleep(struct workers *w, int (*ready)(void *arg), void *arg)
{
	publish_backlog(w, 1);
	ring_bell_wait(&w->merger_bell, ready, arg, WAIT_MS);
	atomic_store_explicit(&w->merger_idle, 0, memory_order_relaxed);
}

/* merger_run: the merger until the end, on its thread or (host) a worker's. */
static void merger_run(struct workers *w)
{
	enum merge_step s;

	while ((s = merger_step(w)) != MERGE_DONE) {
		if (s == MERGE_IDLE)
			merger_sleep(w, merger_ready, w);
	}
}

static void *merger_main(void *arg)
{
	struct workers *w = arg;

	merger_run(w);
	w->merger_cpu_us = thread_cpu_us();
	return NULL;
}

/* --- one loop, no threads (offline, --workers 1) --------------------------- */

/*
 * single_drain writes, in the merger's order, every record final before the
 * table's horizon (all of them once the table is done), as the merger does
 * with the least horizon of its workers.
 */
static void single_drain(struct workers *w, int all)
{
	uint64_t horizon = flow_table_horizon(w->wk[0].table);

	while (w->nheap > 0 && (all || w->heap[0].final_us < horizon)) {
		struct omsg m = heap_pop(w);
		write_one(w, &m);
	}
}

/* single_packet: what worker_offline does with one packet, then the merge. */
static void single_packet(struct workers *w, const struct pkt *p, uint32_t file_index,
                          const struct capture_frame *fr)
{
	worker_handle(&w->wk[0], WMSG_PACKET, p, w->clock_us, file_index, fr);
	single_drain(w, 0);
}

/* --- setup -------------------------------------------------------------- */

struct flow_table *workers_table(struct workers *w, uint32_t worker)
{
	return w->wk[worker].table;
}

void workers_publish(struct workers *w, uint32_t worker)
{
	struct worker *wk = &w->wk[worker];

	pthread_mutex_lock(&wk->stats_mu);
	wk->snap = *flow_table_stats(wk->table);
	pthread_mutex_unlock(&wk->stats_mu);
	ring_kick(&wk->out);
}

void workers_wake_merger(struct workers *w)
{
	ring_bell_ring(&w->merger_bell);
}

_Static_assert(sizeof(struct flow_stats) % sizeof(uint64_t) == 0,
               "struct flow_stats holds uint64_t counters only");

void workers_stats(struct workers *w, struct flow_stats *sum, struct flow_stats *per)
{
	memset(sum, 0, sizeof(*sum));
	for (uint32_t i = 0; i < w->n; i++) {
		struct worker *wk = &w->wk[i];
		struct flow_stats s;

		if (w->finished || w->single) {
			s = *flow_table_stats(wk->table);
		} else {
			pthread_mutex_lock(&wk->stats_mu);
			s = wk->snap;
			pthread_mutex_unlock(&wk->stats_mu);
		}
		if (per != NULL)
			per[i] = s;
		/* Every counter adds up: struct flow_stats is uint64_t counters only. */
		for (size_t k = 0; k < sizeof(s) / sizeof(uint64_t); k++) {
			uint64_t v, acc;
			memcpy(&v, (const char *)&s + k * sizeof(v), sizeof(v));
			memcpy(&acc, (char *)sum + k * sizeof(acc), sizeof(acc));
			acc += v;
			memcpy((char *)sum + k * sizeof(acc), &acc, sizeof(acc));
		}
	}
	sum->unsorted += atomic_load_explicit(&w->unsorted, memory_order_relaxed);
}

int workers_open(struct workers **out, const struct workers_config *cfg)
{
	struct workers *w;
	uint32_t n = cfg->n;

	*out = NULL;
	if (n < 1 || n > WORKERS_MAX) {
		fprintf(stderr, "kexwatch: bad number of workers %u\n", n);
		return KW_ERR_BUG;
	}
	/* The workers' rings keep each end's fields on lines of their own
	 * (_Alignas(64)): aligned_alloc, since malloc aligns to 16 bytes. */
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->wk = aligned_alloc(_Alignof(struct worker), n * sizeof(*w->wk))) == NULL) {
		free(w);
		fprintf(stderr, "kexwatch: out of memory\n");
		return KW_ERR_NOMEM;
	}
	memset(w->wk, 0, n * sizeof(*w->wk));
	w->cfg = *cfg;
	w->n = n;
	w->single = n == 1 && !cfg->live;
	w->inline0 = n == 2 && !cfg->live && usable_cpus() <= 2;
	w->limits = *cfg->limits;
	/* Divided, so the run's bound on flows (and on memory) holds for any N. */
	w->limits.max_flows = (cfg->limits->max_flows + n - 1) / n;
	if (ring_bell_init(&w->merger_bell) != 0)
		goto nomem;
	if (ring_bell_init(&w->reader_bell) != 0)
		goto nomem;
	for (uint32_t i = 0; i < n; i++) {
		struct worker *wk = &w->wk[i];
		struct flow_config fcfg = {
		    .limits = &w->limits,
		    .ssh_ports = cfg->ports,
		    .nssh_ports = cfg->nports,
		    .handoff = on_handoff,
		    /* One loop: the records are written, and their copies
		     * freed, on the table's thread (single_drain). */
		    .handoff_same_thread = w->single,
		    /* Several: the merger gives them back (flow_release). */
		    .report_ctx = wk,
		    .budget = &cfg->p->budget,
		    .seed = cfg->seed,
		    .first_id = i + 1,
		    .id_step = n,
		};
		wk->w = w;
		wk->index = i;
		atomic_init(&wk->horizon, 0);
		atomic_init(&wk->done, 0);
		pthread_mutex_init(&wk->stats_mu, NULL);
		if ((wk->table = flow_table_new(&fcfg)) == NULL)
			goto nomem;
		if (w->single)
			continue; /* the caller's thread runs it: no rings */
		if (ring_init(&wk->out, OUT_RING_BYTES, &w->merger_bell, OUT_RING_KICK) != 0)
			goto nomem;
		/* No ring from the reader: live (each worker reads its own
		 * sockets), and to worker 0 when the reader runs it. */
		if (cfg->live || i < first_ring(w))
			continue;
		if (ring_bell_init(&wk->in_bell) != 0)
			goto nomem;
		wk->in_bell_on = 1;
		/* With the reader running worker 0, worker 1's thread runs the
		 * merger too (three busy threads would share two cores): it
		 * sleeps on the merger's bell, which its ring also rings. */
		wk->merges = w->inline0 && i == 1;
		if (ring_init(&wk->in, IN_RING_BYTES, wk->merges ? &w->merger_bell : &wk->in_bell,
		              IN_RING_KICK) != 0)
			goto nomem;
		ring_set_batch(&wk->in, IN_RING_BATCH);
	}
	/* Set before any thread starts: a live body finds its table through it. */
	*out = w;
	if (w->single)
		return 0;
	if (!w->inline0) {
		if (kw_thread_start(&w->merger, merger_main, w, "kw-merger") != 0)
			goto thread;
		w->merger_started = 1;
	}
	for (uint32_t i = first_ring(w); i < n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "kw-worker%u",
		         (unsigned)(i % 100u)); /* i < WORKERS_MAX */
		if (kw_thread_start(&w->wk[i].thread, worker_main, &w->wk[i], name) != 0)
			goto thread;
		w->wk[i].started = 1;
	}
	return 0;
nomem:
	fprintf(stderr, "kexwatch: out of memory\n");
	workers_close(w);
	return KW_ERR_NOMEM;
thread:
	*out = NULL;
	fprintf(stderr, "kexwatch: cannot start a worker thread\n");
	/* Those started stop at the end message, and the merger after them. */
	workers_finish(w);
	workers_close(w);
	return KW_ERR_IO;
}

/*
 * send_msg puts a message in wk's ring: a packet p (NULL for the others)
 * and, with an evidence capture, its frame fr. in_place: fr's bytes stay
 * mapped until the reader unholds them (window_moved), so p's payload and
 * the frame go as pointers when they lie in it. What is copied and would
 * not fit a ring message (only frames near 256 KiB) is cut: the payload
 * then shows as snapped, the evidence frame is kept shorter (its wire
 * length stays).
 */
static void send_msg(struct worker *wk, uint32_t type, const struct pkt *p, uint64_t clock_us,
                     uint32_t file_index, const struct capture_frame *fr, int in_place)
{
	uint32_t plen = p != NULL ? p->payload_len : 0, max = RING_MSG_MAX(wk->in.cap) - 8u;
	uint32_t flen = fr != NULL && wk->w->cfg.p->ev != NULL ? fr->caplen : 0, len, fcopy;
	uint32_t pkt_len = p == NULL ? 0 : pkt_is_plain(p) ? (uint32_t)PKT_PLAIN_LEN : sizeof(*p);
	uint32_t head = msg_head(pkt_len);
	const uint8_t *pat = NULL;
	struct wmsg *m;

	if (in_place && plen > 0 && p->payload >= fr->data &&
	    p->payload + plen <= fr->data + fr->caplen)
		pat = p->payload;
	if (pat != NULL)
		plen = 0; /* nothing to copy */
	else if (plen > max - head)
		plen = max - head;
	if (flen > max - frame_off(pkt_len, plen))
		flen = max - frame_off(pkt_len, plen);
	fcopy = in_place ? 0 : flen;
	len = fcopy > 0 ? frame_off(pkt_len, plen) + fcopy : head + plen;
	if ((m = ring_reserve(&wk->in, len)) == NULL)
		return;
	m->type = type;
	m->file_index = file_index;
	m->clock_us = clock_us;
	m->frame_caplen = flen;
	m->copied = plen;
	m->pkt_len = pkt_len;
	m->frame = in_place && flen > 0 ? fr->data : NULL;
	if (p != NULL) {
		if (pkt_len == PKT_PLAIN_LEN)
			memcpy(&m->pkt, p, PKT_PLAIN_LEN); /* a constant size: inlined */
		else
			m->pkt = *p;
		m->pkt.payload = pat;
		if (pat == NULL) {
			m->pkt.payload_len = plen;
			if (plen > 0)
				memcpy((uint8_t *)m + head, p->payload, plen);
		}
	}
	if (flen > 0) {
		m->frame_ts_us = fr->ts_us;
		m->frame_wirelen = fr->wirelen;
		if (fcopy > 0)
			memcpy((uint8_t *)m + frame_off(pkt_len, plen), fr->data, fcopy);
	}
	ring_commit(&wk->in, len);
}

/* read_past: worker i has read past the packets sent to it before mark k. */
static int read_past(struct workers *w, uint32_t i, uint32_t k)
{
	uint32_t head = atomic_load_explicit(&w->wk[i].in.head, memory_order_acquire);

	return (int32_t)(head - w->marks[k].tail[i]) >= 0;
}

/* mark_done: every worker has read past the packets sent before mark k. */
static int mark_done(struct workers *w, uint32_t k)
{
	for (uint32_t i = 0; i < w->n; i++)
		if (!read_past(w, i, k))
			return 0;
	return 1;
}

static int first_mark_done(void *arg)
{
	return mark_done(arg, 0);
}

/* unhold_read unmaps the windows every worker has read past. */
static void unhold_read(struct workers *w)
{
	uint32_t k = 0;

	while (k < w->nmarks && mark_done(w, k))
		k++;
	if (k == 0)
		return;
	capture_unhold(w->held, w->marks[k - 1].window + 1);
	memmove(&w->marks[0], &w->marks[k], (w->nmarks - k) * sizeof(w->marks[0]));
	w->nmarks -= k;
}

/*
 * window_moved: the reader's frames now come from another window. The
 * packets sent so far lie in the windows up to the last one: marked with
 * each ring's tail, it is unmapped once every worker has read past it.
 * With HOLD_WAIT windows held the reader waits for the slowest worker.
 */
static void window_moved(struct workers *w, uint64_t now)
{
	struct hold_mark *mk = &w->marks[w->nmarks++];

	mk->window = w->window;
	for (uint32_t i = 0; i < w->n; i++)
		mk->tail[i] = w->wk[i].in.tail_local;
	w->window = now;
	unhold_read(w);
	while (w->nmarks > 0 && capture_held(w->held) > HOLD_WAIT) {
		uint32_t i = 0;

		while (i + 1 < w->n && read_past(w, i, 0))
			i++;
		ring_kick(&w->wk[i].in);
		ring_bell_wait(&w->wk[i].in.space, first_mark_done, w, WAIT_MS);
		unhold_read(w);
	}
}

void workers_input(struct workers *w, struct capture *cap)
{
	if (w->single || w->cfg.live || !capture_hold(cap))
		return;
	w->held = cap;
	w->window = capture_window(cap);
	w->nmarks = 0;
}

void workers_input_end(struct workers *w)
{
	if (w->held == NULL)
		return;
	/* Everything sent is read before the file is unmapped. */
	window_moved(w, w->window);
	while (w->nmarks > 0) {
		for (uint32_t i = first_ring(w); i < w->n; i++)
			ring_kick(&w->wk[i].in);
		for (uint32_t i = 0; i < w->n; i++)
			if (!read_past(w, i, 0)) {
				ring_bell_wait(&w->wk[i].in.space, first_mark_done, w, WAIT_MS);
				break;
			}
		unhold_read(w);
	}
	w->held = NULL;
}

/*
 * deliver gives worker i a message (send_msg's arguments): through its
 * ring, or, for the worker the reader runs itself (inline0), at once.
 */
static void deliver(struct workers *w, uint32_t i, uint32_t type, const struct pkt *p,
                    uint32_t file_index, const struct capture_frame *fr, int in_place)
{
	if (i == 0 && w->inline0) {
		worker_handle(&w->wk[0], type, p, w->clock_us, file_index, fr);
		return;
	}
	send_msg(&w->wk[i], type, p, w->clock_us, file_index, fr, in_place);
	if (type != WMSG_PACKET)
		ring_kick(&w->wk[i].in);
}

static void maybe_tick(struct workers *w)
{
	if (w->clock_us - w->last_tick < TICK_US)
		return;
	w->last_tick = w->clock_us;
	for (uint32_t i = 0; i < w->n; i++)
		deliver(w, i, WMSG_TICK, NULL, 0, NULL, 0);
}

static int merger_caught_up(void *arg)
{
	struct workers *w = arg;

	return atomic_load_explicit(&w->backlog, memory_order_acquire) <= MERGE_BACKLOG / 2 ||
	       atomic_load_explicit(&w->merger_idle, memory_order_acquire);
}

/*
 * reader_wait_merger: with more than MERGE_BACKLOG flows in the merger's
 * heap, the reader lets the merger catch up: until half of them are
 * written, or until the merger has nothing it can write (it needs more
 * input for that: the workers' clocks must move on).
 */
static void reader_wait_merger(struct workers *w)
{
	if (atomic_load_explicit(&w->backlog, memory_order_relaxed) <= MERGE_BACKLOG)
		return;
	for (uint32_t i = first_ring(w); i < w->n; i++)
		ring_kick(&w->wk[i].in);
	/* merger_idle is true only while it sleeps with nothing it can write. */
	while (!merger_caught_up(w))
		ring_bell_wait(&w->reader_bell, merger_caught_up, w, WAIT_MS);
}

/*
 * reader_frame: what the reader does for every frame it read, a packet or
 * not: notice that the frames now come from another mapped window (a run
 * of frames that decode to nothing may cross many), and now and then let
 * a merger that fell behind catch up.
 */
static void reader_frame(struct workers *w)
{
	if (w->held != NULL && capture_window(w->held) != w->window)
		window_moved(w, capture_window(w->held));
	if (++w->since_backlog == BACKLOG_EVERY) {
		w->since_backlog = 0;
		reader_wait_merger(w);
	}
}

void workers_packet(struct workers *w, const struct pkt *p, uint64_t clock_us, uint32_t file_index,
                    const struct capture_frame *fr)
{
	if (clock_us > w->clock_us)
		w->clock_us = clock_us;
	if (w->single) {
		single_packet(w, p, file_index, fr);
		return;
	}
	reader_frame(w);
	deliver(w, shard_of(w, p), WMSG_PACKET, p, file_index, fr, w->held != NULL);
	maybe_tick(w);
}

void workers_idle(struct workers *w, uint64_t clock_us)
{
	if (clock_us > w->clock_us)
		w->clock_us = clock_us;
	if (w->clock_us == 0)
		return; /* no packet yet: no clock to move, nothing to write */
	if (w->single) {
		flow_table_advance_exact(w->wk[0].table, w->clock_us);
		single_drain(w, 0);
		pipeline_flush(w->cfg.p);
		return;
	}
	atomic_store(&w->flush_at, w->clock_us);
	for (uint32_t i = 0; i < w->n; i++)
		deliver(w, i, WMSG_IDLE, NULL, 0, NULL, 0);
}

uint64_t workers_open_at_end(const struct workers *w)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < w->n; i++)
		n += w->wk[i].open_at_end;
	return n;
}

void workers_clock(struct workers *w, uint64_t clock_us)
{
	if (clock_us > w->clock_us)
		w->clock_us = clock_us;
	if (w->single) {
		/* What a tick does: the timers run, and what is due is written. */
		if (w->clock_us - w->last_tick >= TICK_US) {
			w->last_tick = w->clock_us;
			worker_handle(&w->wk[0], WMSG_TICK, NULL, w->clock_us, 0, NULL);
			single_drain(w, 0);
		}
		return;
	}
	reader_frame(w);
	maybe_tick(w);
}

void workers_finish(struct workers *w)
{
	if (w == NULL || w->finished)
		return;
	if (w->single) {
		struct worker *wk = &w->wk[0];
		flow_table_advance(wk->table, w->clock_us);
		single_drain(w, 0);
		wk->open_at_end = flow_table_stats(wk->table)->open;
		flow_table_flush(wk->table);
		single_drain(w, 1);
		wk->cpu_us = thread_cpu_us();
		atomic_store(&wk->done, 1);
		w->finished = 1;
		return;
	}
	if (w->cfg.live) {
		/* The live bodies have returned (the caller made them). */
	} else {
		for (uint32_t i = 0; i < w->n; i++) {
			if (i == 0 && w->inline0) {
				/* What worker_main does after its loop. */
				struct worker *wk = &w->wk[0];
				worker_handle(wk, WMSG_END, NULL, w->clock_us, 0, NULL);
				workers_publish(w, 0);
				worker_done(wk);
				continue;
			}
			if (!w->wk[i].started)
				continue;
			send_msg(&w->wk[i], WMSG_END, NULL, w->clock_us, 0, NULL, 0);
			ring_kick(&w->wk[i].in);
		}
	}
	for (uint32_t i = 0; i < w->n; i++) {
		if (w->wk[i].started)
			pthread_join(w->wk[i].thread, NULL);
		w->wk[i].started = 0;
		if (!atomic_load(&w->wk[i].done))
			worker_done(&w->wk[i]); /* never started: nothing to wait for */
	}
	if (w->merger_started) {
		atomic_store(&w->live_stop_merger, 1);
		workers_wake_merger(w);
		pthread_join(w->merger, NULL);
		w->merger_started = 0;
	}
	w->finished = 1;
}

void workers_close(struct workers *w)
{
	if (w == NULL)
		return;
	/* Before the tables: one loop's copies give their memory back to theirs. */
	while (w->nheap > 0) {
		struct omsg m = heap_pop(w);
		flow_release(m.f);
	}
	for (uint32_t i = 0; i < w->n; i++) {
		struct worker *wk = &w->wk[i];
		const struct omsg *m;
		uint32_t len;

		/* Flows handed over but never written (a failed start): free them. */
		while (wk->out.buf != NULL && (m = ring_peek(&wk->out, &len)) != NULL) {
			flow_release(m->f);
			ring_release(&wk->out);
		}
		flow_table_free(wk->table);
		if (!w->single) {
			ring_destroy(&wk->in);
			ring_destroy(&wk->out);
		}
		if (wk->in_bell_on)
			ring_bell_destroy(&wk->in_bell);
		pthread_mutex_destroy(&wk->stats_mu);
	}
	free(w->heap);
	ring_bell_destroy(&w->reader_bell);
	ring_bell_destroy(&w->merger_bell);
	free(w->wk);
	free(w);
}
