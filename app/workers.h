/*
 * workers.h: the packet loops of one run (--workers N), and the one thread
 * that judges and writes their records. Not a public API: only app/
 * includes it.
 *
 * Each worker owns a flow table (its flows, reassembly, SSH parsers and
 * digest state) and sees every packet of the connections it owns: a
 * connection belongs to one worker, chosen by a symmetric hash of its inner
 * 5-tuple (an ICMP error by the segment it quotes). A worker does not judge
 * or write: it hands each reported flow over (flow_config.handoff) to the
 * merger thread, which holds the one reporter, so the cross-connection
 * state (auth guessing, the host-key store) and the outputs are touched by
 * one thread, in one order. Offline, the merger writes records sorted by
 * (t_final, t_first, flow_id) as soon as every worker's horizon has passed
 * them, so the same input gives the same records in the same order for any
 * N; live, it writes them as they come.
 *
 * Offline, the caller's thread is the reader: it decodes every frame (IP
 * fragments are reassembled there, once) and hands each packet to its
 * worker through a bounded ring (workers_packet). Live, each worker reads
 * its own captures (live.c). Not responsible for reading captures, signals
 * or the exit status.
 */
#ifndef KW_APP_WORKERS_H
#define KW_APP_WORKERS_H

#include <stdint.h>

#include "capture.h"
#include "decode.h"
#include "flow.h"
#include "limits.h"

struct pipeline;
struct workers;

/* The most workers a run may have (--workers). */
#define WORKERS_MAX 64
/* The default: the processors the process may run on (nproc), at most this. */
#define WORKERS_DEFAULT_MAX 16

struct workers_config {
	uint32_t n;                     /* 1 to WORKERS_MAX */
	const struct kw_limits *limits; /* the run's; max_flows is divided among the workers */
	const uint16_t *ports;          /* --ssh-ports */
	uint32_t nports;
	uint64_t seed;      /* flow tables' hash seed */
	const char *sensor; /* --sensor-name: part of flow_id, the last sort key */
	struct pipeline *p; /* records go through pipeline_record, on the merger */
	int live;           /* write records as they come, not sorted */
	int (*live_loop)(void *ctx, uint32_t worker); /* live: the body of each worker */
	/* Live: called on the merger thread at least every 100 ms, where the
	 * reporter may be used (statistics records, reopening, sink ticks). */
	void (*merger_hook)(void *ctx);
	void *live_ctx;
};

/* workers_default: the processors the process may run on, at most WORKERS_DEFAULT_MAX. */
uint32_t workers_default(void);

/*
 * workers_open starts n workers and the merger. Offline, the workers wait
 * for packets; live, each runs cfg->live_loop(cfg->live_ctx, i) until it
 * returns. Returns 0, or KW_ERR_NOMEM / KW_ERR_IO after naming the failure
 * on standard error (nothing is left running).
 */
int workers_open(struct workers **out, const struct workers_config *cfg);

/*
 * workers_input: the reader opened cap and will give its frames to
 * workers_packet. With several workers and a mapped capture file
 * (capture_hold), packets then go to the workers in place, not copied;
 * workers_input_end, before cap is closed, waits until every worker has
 * read them. Offline only, from the reader's thread.
 */
void workers_input(struct workers *w, struct capture *cap);
void workers_input_end(struct workers *w);

/*
 * workers_packet hands packet p (decoded by the caller from frame fr) to
 * its worker. Its payload is copied, or passed in place when it lies in a
 * held frame (workers_input). clock_us is the run's capture clock: the
 * latest frame time read so far (frames are not always in time order);
 * file_index is copied into a new flow. With an evidence capture the
 * frame goes along (copied or in place, as the payload): the worker
 * offers it to the evidence buffer, knowing whether p began a flow. Waits
 * while that worker's ring is full. Offline only, from one thread.
 */
void workers_packet(struct workers *w, const struct pkt *p, uint64_t clock_us, uint32_t file_index,
                    const struct capture_frame *fr);

/*
 * workers_clock tells the workers that capture time reached clock_us (a
 * frame that decoded to nothing); every 100 ms of it, idle workers run
 * their timers too, so the merger is never held back by them. Offline only.
 */
void workers_clock(struct workers *w, uint64_t clock_us);

/*
 * workers_idle: a streamed input has nothing waiting. With clock_us (not
 * 0), every worker moves its clock there and runs every timer due by then
 * (flow_table_advance_exact); then the merger writes every record it can
 * and flushes the outputs (pipeline_flush), so nothing waits for the next
 * packet. Offline only, from the reader's thread.
 */
void workers_idle(struct workers *w, uint64_t clock_us);

/* workers_open_at_end: the flows still open when the input ended (after workers_finish). */
uint64_t workers_open_at_end(const struct workers *w);

/*
 * workers_finish ends the run: offline, every worker reports what is still
 * open (capture end) and stops; live, the caller has made every live_loop
 * return, and each worker then does the same. Returns once the merger has
 * written every record. Call once.
 */
void workers_finish(struct workers *w);

/* The live body's side of a worker: its table, and whether to stop. */
struct flow_table *workers_table(struct workers *w, uint32_t worker);

/*
 * workers_publish (live, from worker i's thread) publishes its flow
 * counters for statistics, and lets the merger write what it handed over.
 */
void workers_publish(struct workers *w, uint32_t worker);

/* workers_wake_merger makes the merger run its hook soon (live: a signal came). */
void workers_wake_merger(struct workers *w);

/*
 * workers_stats adds up the workers' flow counters into *sum; per is
 * filled for each worker (n entries) unless NULL. Live, while running:
 * the counters last published; after workers_finish: the final ones.
 */
void workers_stats(struct workers *w, struct flow_stats *sum, struct flow_stats *per);

/*
 * workers_cpu: CPU time in microseconds each worker thread (per[], n
 * entries) and the merger thread used, measured as each ended (after
 * workers_finish), for the per-stage costs of docs/performance.md. A
 * merger run by a worker's thread (two workers on two processors) has no
 * time of its own: 0, and that worker's holds it.
 */
void workers_cpu(const struct workers *w, uint64_t *per, uint64_t *merger);

/* thread_cpu_us: the calling thread's CPU time (user and system), in microseconds. */
uint64_t thread_cpu_us(void);

/* workers_count: how many workers the run has. */
uint32_t workers_count(const struct workers *w);

/* workers_close frees everything (after workers_finish). NULL is allowed. */
void workers_close(struct workers *w);

/*
 * workers_shard: the worker (0 to n - 1) that owns packet p: a fixed-key
 * hash of its 5-tuple (an ICMP error's: the segment it quotes) with the
 * endpoints in a fixed order, the same both ways and in every run.
 */
uint32_t workers_shard(const struct pkt *p, uint32_t n);

#endif
