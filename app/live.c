/*
 * live.c: capturing from interfaces until told to stop (see app.h).
 *
 * Responsible for the order of a live run (open every capture, drop
 * privileges, then open outputs, as tcpdump -Z does), for the packet loops
 * (--workers N: each interface is opened N times, the N sockets joined in
 * one kernel fanout group that sends each connection to one of them, and
 * worker i reads the i-th socket of every interface with its own decoder
 * and flow table), and for signals: the handlers only set flags, the main
 * thread waits for them in ppoll (they are blocked elsewhere, so none is
 * missed between a check and the wait), and the merger thread of
 * workers.c, the one that writes records, acts on them (statistics,
 * reopening). Keeps records on time: the flow tables' timeouts run on
 * capture time, and while the link is quiet each loop moves its clock with
 * the wall clock at least once a second. An ICMP error is offered to every
 * worker (the kernel hashes it by its own addresses, not the connection it
 * quotes); only the owner of the connection finds it. Not responsible for
 * building the objects packets go through (pipeline.c), decoding
 * (dissect/), records and sinks (output/) or libpcap (capture/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "err.h"
#include "pipeline.h"
#include "workers.h"

#define LIVE_MAX_NAMES 256       /* interface names records can carry */
#define LIVE_TICK_MS 500         /* the clock moves at least this often */
#define LIVE_RING_TIMEOUT_MS 100 /* a frame waits at most this long in the ring */
/* The wall clock drives the table this far behind, so a frame still in the
 * ring (up to the ring timeout) is never older than the table's clock. */
#define LIVE_CLOCK_SLACK_US 250000u
#define LIVE_BATCH 512    /* frames read from one capture before looking at the others */
#define LIVE_POLL_MS 100  /* a worker looks at the stop flag at least this often */
#define LIVE_SIDE_MAX 256 /* ICMP errors from other workers waiting for one worker */

static volatile sig_atomic_t sig_stop, sig_hup, sig_usr1;

static void on_live_signal(int sig)
{
	if (sig == SIGHUP)
		sig_hup = 1;
	else if (sig == SIGUSR1)
		sig_usr1 = 1;
	else
		sig_stop = 1;
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct live;

/* One packet loop: its socket on each interface, its decoder. */
struct live_worker {
	struct live *lv;
	uint32_t index;
	struct decoder *dec;
	struct capture **caps; /* by interface; NULL once it went away */
	struct pollfd *pfd;
	uint32_t nactive;
	/* ICMP errors other workers received (they may quote this one's flows). */
	pthread_mutex_t side_mu;
	struct pkt side[LIVE_SIDE_MAX];
	uint32_t nside;
	atomic_uint side_waiting;
	/* Published for statistics, under lv->mu. */
	struct capture_counters *cnt; /* by interface */
	uint8_t *cnt_valid;
	struct decode_stats dstats;
	uint64_t icmp_pub; /* icmp_own as last published */
	uint64_t icmp_own; /* ICMP errors it received itself (its thread's) */
};

struct live {
	const struct options *o;
	struct kw_limits dlimits; /* the decoders': frag_max divided among the workers */
	struct live_worker *lw;
	uint32_t n;
	struct report_iface_counters *counters;
	struct report_worker_counters *wcounters;
	struct pipeline *p;
	struct workers *w;
	uint64_t start_us, start_mono;
	atomic_int stop;
	atomic_uint nactive; /* sockets still capturing, all workers */
	atomic_int want_hup, want_usr1;
	uint64_t next_stats; /* merger thread: when the next interval record is due */
	/* Interface names records carry: the -i arguments, then the interfaces
	 * "any" frames came from (Linux cooked v2 gives their index). Learned
	 * by any worker, under mu; a name is never changed once counted. */
	pthread_mutex_t mu;
	const char *names[LIVE_MAX_NAMES];
	char *learned[LIVE_MAX_NAMES];
	uint32_t nnames;
	/* Link state of each -i interface, said when it changes (libpcap is
	 * silent when a link goes down: the socket just gets nothing). */
	int sock;      /* for SIOCGIFFLAGS; -1: not watched */
	uint8_t *down; /* by interface: 1 once said to be down (main thread only) */
};

/*
 * watch_links (main thread) says once when an interface goes down (not up,
 * or up without a carrier) and once when it comes back. "any" is not
 * watched; an interface that is gone fails the ioctl and is left to the
 * workers, whose reads say so.
 */
static void watch_links(struct live *lv)
{
	for (uint32_t i = 0; lv->sock >= 0 && i < lv->o->nifaces; i++) {
		const char *name = lv->o->ifaces[i];
		struct ifreq ifr;
		int down;

		if (strcmp(name, "any") == 0 || strlen(name) >= IFNAMSIZ)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, name, strlen(name));
		if (ioctl(lv->sock, SIOCGIFFLAGS, &ifr) != 0)
			continue;
		down = !(ifr.ifr_flags & IFF_UP) || !(ifr.ifr_flags & IFF_RUNNING);
		if (down && !lv->down[i])
			fprintf(stderr,
			        "kexwatch: %s: link down; nothing to capture until it "
			        "comes back\n",
			        name);
		else if (!down && lv->down[i])
			fprintf(stderr, "kexwatch: %s: link up again, capturing\n", name);
		lv->down[i] = (uint8_t)down;
	}
}

/* refresh_counters (worker thread): its sockets' libpcap counters, published. */
static void refresh_counters(struct live_worker *lw)
{
	struct live *lv = lw->lv;

	for (uint32_t i = 0; i < lv->o->nifaces; i++) {
		struct capture_counters c;
		int ok;
		if (lw->caps[i] == NULL)
			continue;
		ok = capture_counters(lw->caps[i], &c) == 0;
		pthread_mutex_lock(&lv->mu);
		lw->cnt_valid[i] = (uint8_t)ok;
		if (ok)
			lw->cnt[i] = c;
		pthread_mutex_unlock(&lv->mu);
	}
	pthread_mutex_lock(&lv->mu);
	lw->dstats = *decoder_stats(lw->dec);
	lw->icmp_pub = lw->icmp_own;
	pthread_mutex_unlock(&lv->mu);
}

/*
 * gather adds up what the workers published: interface counters (over
 * their sockets), per-worker counters, decoder counters into *ds, flow
 * counters into *fs. ICMP errors: each was looked up by every worker and
 * found by at most one, so the unmatched ones are those received less those
 * found.
 */
static void gather(struct live *lv, struct flow_stats *fs, struct decode_stats *ds)
{
	struct flow_stats per[WORKERS_MAX];
	uint64_t icmp_own = 0;

	workers_stats(lv->w, fs, per);
	memset(ds, 0, sizeof(*ds));
	pthread_mutex_lock(&lv->mu);
	for (uint32_t i = 0; i < lv->o->nifaces; i++) {
		struct report_iface_counters *c = &lv->counters[i];
		c->valid = 0;
		c->recv = c->drop = c->ifdrop = 0;
		for (uint32_t k = 0; k < lv->n; k++) {
			if (!lv->lw[k].cnt_valid[i])
				continue;
			c->valid = 1;
			c->recv += lv->lw[k].cnt[i].recv;
			c->drop += lv->lw[k].cnt[i].drop;
			c->ifdrop += lv->lw[k].cnt[i].ifdrop;
		}
	}
	for (uint32_t k = 0; k < lv->n; k++) {
		const struct decode_stats *d = &lv->lw[k].dstats;
		lv->wcounters[k].packets = d->frames;
		lv->wcounters[k].flows = per[k].flows;
		lv->wcounters[k].drops = 0;
		for (uint32_t i = 0; i < lv->o->nifaces; i++)
			if (lv->lw[k].cnt_valid[i])
				lv->wcounters[k].drops += lv->lw[k].cnt[i].drop;
		ds->frames += d->frames;
		ds->tcp += d->tcp;
		ds->icmp_errors += d->icmp_errors;
		ds->other += d->other;
		ds->malformed += d->malformed;
		ds->fragments += d->fragments;
		ds->reassembled += d->reassembled;
		ds->frag_dropped += d->frag_dropped;
		ds->tso_frames += d->tso_frames;
		icmp_own += lv->lw[k].icmp_pub;
	}
	pthread_mutex_unlock(&lv->mu);
	if (lv->n > 1) {
		/* Copies offered to other workers are not packets of the link. */
		fs->packets -= fs->icmp_matched + fs->icmp_unmatched - icmp_own;
		fs->icmp_unmatched = icmp_own > fs->icmp_matched ? icmp_own - fs->icmp_matched : 0;
	}
}

/* write_stats writes a statistics record: on the merger thread, or after it stopped. */
static void write_stats(struct live *lv, const char *reason)
{
	struct report_evidence_counters evc;
	struct flow_stats fs;
	struct decode_stats ds;
	struct report_stats_input in = {
	    .reason = reason,
	    .now_us = clock_us(CLOCK_REALTIME),
	    .uptime_us = clock_us(CLOCK_MONOTONIC) - lv->start_mono,
	    .flows = &fs,
	    .decode = &ds,
	    .ifaces = lv->counters,
	    .nifaces = lv->o->nifaces,
	    .workers = lv->wcounters,
	    .nworkers = lv->n,
	};

	gather(lv, &fs, &ds);
	if (lv->p->ev != NULL) {
		evidence_counters(lv->p->ev, &evc);
		in.evidence = &evc;
	}
	if (report_stats(lv->p->report, &in) == KW_ERR_NOMEM)
		fprintf(stderr, "kexwatch: out of memory writing statistics\n");
}

/* merger_hook (merger thread): what the signals asked for, and the interval record. */
static void merger_hook(void *ctx)
{
	struct live *lv = ctx;
	uint64_t interval_us = (uint64_t)lv->o->stats_interval_s * 1000000u, now;

	if (atomic_exchange(&lv->want_hup, 0))
		(void)report_reopen(lv->p->report); /* a failure keeps the old file */
	if (atomic_exchange(&lv->want_usr1, 0))
		write_stats(lv, "signal");
	now = clock_us(CLOCK_MONOTONIC);
	if (interval_us && now >= lv->next_stats) {
		write_stats(lv, "interval");
		while (lv->next_stats <= now)
			lv->next_stats += interval_us;
	}
	report_tick(lv->p->report);
}

/*
 * iface_slot names the interface a frame crossed: for "any", the interface
 * of its cooked v2 index (learned once, bounded), else capture i's own name.
 */
static uint32_t iface_slot(struct live *lv, uint32_t i, uint32_t ifindex)
{
	char name[IF_NAMESIZE];
	uint32_t slot = i;

	if (ifindex == 0 || strcmp(lv->o->ifaces[i], "any") != 0 ||
	    if_indextoname(ifindex, name) == NULL)
		return i;
	pthread_mutex_lock(&lv->mu);
	for (uint32_t k = lv->o->nifaces; k < lv->nnames; k++)
		if (strcmp(lv->names[k], name) == 0) {
			slot = k;
			goto out;
		}
	if (lv->nnames == LIVE_MAX_NAMES || (lv->learned[lv->nnames] = strdup(name)) == NULL)
		goto out;
	lv->names[lv->nnames] = lv->learned[lv->nnames];
	slot = lv->nnames++;
out:
	pthread_mutex_unlock(&lv->mu);
	return slot;
}

/* offer_icmp gives a copy of ICMP error p to every other worker (they drop it when full). */
static void offer_icmp(struct live_worker *self, const struct pkt *p)
{
	struct live *lv = self->lv;

	for (uint32_t k = 0; k < lv->n; k++) {
		struct live_worker *lw = &lv->lw[k];
		if (lw == self)
			continue;
		pthread_mutex_lock(&lw->side_mu);
		if (lw->nside < LIVE_SIDE_MAX) {
			lw->side[lw->nside] = *p;
			lw->side[lw->nside].payload = NULL;
			lw->side[lw->nside].payload_len = 0;
			lw->nside++;
			atomic_store(&lw->side_waiting, lw->nside);
		}
		pthread_mutex_unlock(&lw->side_mu);
	}
}

/* take_icmp looks the ICMP errors other workers offered up in this worker's table. */
static void take_icmp(struct live_worker *lw, struct flow_table *t)
{
	struct pkt side[LIVE_SIDE_MAX];
	uint32_t n;

	if (atomic_load_explicit(&lw->side_waiting, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&lw->side_mu);
	n = lw->nside;
	memcpy(side, lw->side, n * sizeof(side[0]));
	lw->nside = 0;
	atomic_store(&lw->side_waiting, 0);
	pthread_mutex_unlock(&lw->side_mu);
	for (uint32_t i = 0; i < n; i++)
		(void)flow_table_packet(t, &side[i], 0, 0); /* an ICMP error creates no flow */
}

/* read_capture (worker thread) reads what its socket on interface i has waiting. */
static void read_capture(struct live_worker *lw, struct flow_table *t, uint32_t i)
{
	struct live *lv = lw->lv;
	struct capture *c = lw->caps[i];
	int link = capture_link(c);
	struct capture_frame fr;
	struct pkt pkt;
	int r = 0;

	for (int n = 0; n < LIVE_BATCH && (r = capture_next(c, &fr)) == 1; n++) {
		uint64_t flows = flow_table_stats(t)->flows;
		if (decode_frame(lw->dec, link, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &pkt) !=
		    KW_OK) {
			flow_table_advance(t, fr.ts_us);
			continue;
		}
		if (pkt.kind == PKT_ICMP_ERROR) {
			lw->icmp_own++;
			if (lv->n > 1)
				offer_icmp(lw, &pkt);
		}
		if (flow_table_packet(t, &pkt, 0, iface_slot(lv, i, pkt.ifindex)) == KW_ERR_NOMEM) {
			fprintf(stderr, "kexwatch: %s: out of memory: packet not followed\n",
			        lv->o->ifaces[i]);
			continue;
		}
		if (lv->p->ev != NULL)
			evidence_frame(lv->p->ev, &pkt, flow_table_stats(t)->flows != flows, i,
			               fr.ts_us, fr.data, fr.caplen, fr.wirelen);
	}
	if (r < 0) {
		/* The interface went away (or down): the others go on. */
		fprintf(stderr, "kexwatch: %s: %s; no longer capturing on it\n", lv->o->ifaces[i],
		        capture_error(c));
		refresh_counters(lw);
		capture_close(c);
		lw->caps[i] = NULL;
		lw->pfd[i].fd = -1;
		lw->nactive--;
		atomic_fetch_sub(&lv->nactive, 1);
	}
}

/* worker_loop: the body of worker i (workers.h), until the stop flag or no socket left. */
static int worker_loop(void *ctx, uint32_t k)
{
	struct live *lv = ctx;
	struct live_worker *lw = &lv->lw[k];
	struct flow_table *t = workers_table(lv->w, k);
	uint64_t tick_us = (uint64_t)LIVE_TICK_MS * 1000u;
	uint64_t next_tick = clock_us(CLOCK_MONOTONIC) + tick_us;

	while (!atomic_load_explicit(&lv->stop, memory_order_relaxed) && lw->nactive > 0) {
		uint64_t now;

		if (poll(lw->pfd, lv->o->nifaces, LIVE_POLL_MS) < 0 && errno != EINTR) {
			perror("kexwatch: poll");
			break;
		}
		for (uint32_t i = 0; i < lv->o->nifaces; i++)
			if (lw->caps[i] != NULL &&
			    (lw->pfd[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)))
				read_capture(lw, t, i);
		take_icmp(lw, t);
		now = clock_us(CLOCK_MONOTONIC);
		if (now >= next_tick) {
			/* Quiet link: the wall clock moves the table's clock, so a
			 * record never waits for the next packet. */
			uint64_t wall = clock_us(CLOCK_REALTIME);
			if (wall > LIVE_CLOCK_SLACK_US)
				flow_table_advance(t, wall - LIVE_CLOCK_SLACK_US);
			refresh_counters(lw); /* keeps the 32-bit counters from wrapping */
			workers_publish(lv->w, k);
			next_tick = now + tick_us;
		}
	}
	take_icmp(lw, t);
	refresh_counters(lw);
	return 0;
}

/*
 * open_captures opens n sockets on each interface (worker k gets the k-th)
 * and, with n > 1, joins an interface's sockets to one fanout group. Frames
 * queued before a socket joined its group reached every socket: they are
 * read and dropped, so no worker sees a connection's packets twice.
 */
static int open_captures(struct live *lv)
{
	const struct options *o = lv->o;
	char err[512];

	for (uint32_t i = 0; i < o->nifaces; i++) {
		struct capture_live_opts co = {
		    .iface = o->ifaces[i],
		    .filter = o->filter,
		    .snaplen = o->snaplen,
		    .buffer_kib = o->buffer_kib,
		    .promisc = o->promisc,
		    .timeout_ms = LIVE_RING_TIMEOUT_MS,
		};
		/* One group per interface, distinct from other processes' groups. */
		uint16_t group = (uint16_t)((uint32_t)getpid() * 64u + i);

		lv->counters[i].name = o->ifaces[i];
		for (uint32_t k = 0; k < lv->n; k++) {
			struct live_worker *lw = &lv->lw[k];
			if (capture_open_live(&lw->caps[i], &co, err, sizeof(err)) != 0) {
				fprintf(stderr, "kexwatch: %s: %s\n", o->ifaces[i], err);
				return 1;
			}
			if (err[0] != '\0' && k == 0)
				fprintf(stderr, "kexwatch: %s: warning: %s\n", o->ifaces[i], err);
			if (lv->n > 1 &&
			    capture_join_fanout(lw->caps[i], group, err, sizeof(err)) != 0) {
				fprintf(stderr, "kexwatch: %s: %s\n", o->ifaces[i], err);
				return 1;
			}
			lw->pfd[i].fd = capture_fd(lw->caps[i]);
			lw->pfd[i].events = POLLIN;
			lw->nactive++;
			atomic_fetch_add(&lv->nactive, 1);
		}
		for (uint32_t k = 0; lv->n > 1 && k < lv->n; k++) {
			struct capture_frame fr;
			for (int m = 0; m < 100000 && capture_next(lv->lw[k].caps[i], &fr) == 1;
			     m++)
				;
		}
	}
	return 0;
}

/*
 * evidence_setup fills *ec for the evidence capture: one interface of the
 * capture file per capture, with its link type. *wi_out is the caller's to
 * free once the evidence capture is open. 0, or 1 (message printed).
 */
static int evidence_setup(struct live *lv, uint64_t seed, struct evidence_config *ec,
                          struct capture_writer_iface **wi_out)
{
	const struct options *o = lv->o;
	struct capture_writer_iface *wi = calloc(o->nifaces, sizeof(*wi));

	*ec = (struct evidence_config){
	    .path = o->evidence_path,
	    .max_file_bytes = o->evidence_max_bytes,
	    .max_frames_per_flow = EVIDENCE_FRAMES_PER_FLOW,
	    .max_bytes_per_flow = EVIDENCE_BYTES_PER_FLOW,
	    .max_buffer_bytes = EVIDENCE_BUFFER_BYTES,
	    .max_entries = o->limits.max_flows,
	    .ifaces = wi,
	    .nifaces = o->nifaces,
	    .seed = seed,
	};
	if (wi == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < o->nifaces; i++) {
		wi[i].name = o->ifaces[i];
		wi[i].link = capture_link(lv->lw[0].caps[i]);
		wi[i].snaplen = (uint32_t)o->snaplen;
	}
	*wi_out = wi;
	return 0;
}

static void set_signals(sigset_t *blocked, sigset_t *orig)
{
	struct sigaction sa;
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1};

	sigemptyset(blocked);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(blocked, sigs[i]);
	sigprocmask(SIG_BLOCK, blocked, orig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_live_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: ppoll returns at once */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* wait_signals (main thread): hands the signals to the merger until asked to stop. */
static void wait_signals(struct live *lv, const sigset_t *waitmask)
{
	uint64_t next_watch = 0;

	while (!sig_stop && atomic_load(&lv->nactive) > 0) {
		struct timespec ts = {0, 200 * 1000000L};
		uint64_t now = clock_us(CLOCK_MONOTONIC);

		if (now >= next_watch) {
			watch_links(lv);
			next_watch = now + (uint64_t)LIVE_TICK_MS * 1000u;
		}

		if (ppoll(NULL, 0, &ts, waitmask) < 0 && errno != EINTR) {
			perror("kexwatch: ppoll");
			break;
		}
		if (sig_hup) {
			sig_hup = 0;
			atomic_store(&lv->want_hup, 1);
			workers_wake_merger(lv->w);
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			atomic_store(&lv->want_usr1, 1);
			workers_wake_merger(lv->w);
		}
	}
	atomic_store(&lv->stop, 1);
}

/* live_alloc allocates the workers' parts; 0, or 1 (message printed). */
static int live_alloc(struct live *lv)
{
	uint32_t ni = lv->o->nifaces;

	lv->down = calloc(ni, sizeof(*lv->down));
	lv->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* -1: links not watched */
	if (lv->down == NULL)
		goto nomem;
	lv->lw = calloc(lv->n, sizeof(*lv->lw));
	lv->counters = calloc(ni, sizeof(*lv->counters));
	lv->wcounters = calloc(lv->n, sizeof(*lv->wcounters));
	if (lv->lw == NULL || lv->counters == NULL || lv->wcounters == NULL)
		goto nomem;
	lv->dlimits = lv->o->limits;
	lv->dlimits.frag_max = (lv->dlimits.frag_max + lv->n - 1) / lv->n;
	for (uint32_t k = 0; k < lv->n; k++) {
		struct live_worker *lw = &lv->lw[k];
		lw->lv = lv;
		lw->index = k;
		pthread_mutex_init(&lw->side_mu, NULL);
		lw->caps = calloc(ni, sizeof(*lw->caps));
		lw->pfd = calloc(ni, sizeof(*lw->pfd));
		lw->cnt = calloc(ni, sizeof(*lw->cnt));
		lw->cnt_valid = calloc(ni, 1);
		lw->dec = decoder_new(&lv->dlimits);
		if (lw->caps == NULL || lw->pfd == NULL || lw->cnt == NULL ||
		    lw->cnt_valid == NULL || lw->dec == NULL)
			goto nomem;
		for (uint32_t i = 0; i < ni; i++)
			lw->pfd[i].fd = -1;
	}
	return 0;
nomem:
	fprintf(stderr, "kexwatch: out of memory\n");
	return 1;
}

static void live_free(struct live *lv)
{
	for (uint32_t k = 0; lv->lw != NULL && k < lv->n; k++) {
		struct live_worker *lw = &lv->lw[k];
		for (uint32_t i = 0; lw->caps != NULL && i < lv->o->nifaces; i++)
			capture_close(lw->caps[i]);
		decoder_free(lw->dec);
		pthread_mutex_destroy(&lw->side_mu);
		free(lw->caps);
		free(lw->pfd);
		free(lw->cnt);
		free(lw->cnt_valid);
	}
	free(lv->lw);
	free(lv->down);
	if (lv->sock >= 0)
		close(lv->sock);
	free(lv->counters);
	free(lv->wcounters);
	for (uint32_t k = 0; k < lv->nnames; k++)
		free(lv->learned[k]);
	pthread_mutex_destroy(&lv->mu);
}

int live_run(const struct options *o)
{
	struct live lv = {.o = o, .n = o->workers > 0 ? o->workers : 1, .sock = -1};
	struct priv_user user = {0};
	struct capture_writer_iface *wi = NULL;
	struct evidence_config ec;
	struct pipeline_config pcfg;
	struct workers_config wcfg;
	struct flow_stats fs;
	struct decode_stats ds;
	sigset_t blocked, orig;
	uint64_t seed = 0;
	int status = 1, r;

	pthread_mutex_init(&lv.mu, NULL);
	atomic_init(&lv.stop, 0);
	atomic_init(&lv.nactive, 0);
	atomic_init(&lv.want_hup, 0);
	atomic_init(&lv.want_usr1, 0);
	for (uint32_t i = 0; i < o->nifaces && i < LIVE_MAX_NAMES; i++)
		lv.names[lv.nnames++] = o->ifaces[i];
	if (live_alloc(&lv) != 0)
		goto out;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = ((uint64_t)getpid() << 32) ^ clock_us(CLOCK_REALTIME);
	set_signals(&blocked, &orig);
	lv.start_us = clock_us(CLOCK_REALTIME);
	lv.start_mono = clock_us(CLOCK_MONOTONIC);
	lv.next_stats = lv.start_mono + (uint64_t)o->stats_interval_s * 1000000u;

	/* Captures first, with the privileges they need; then nothing else needs them. */
	if ((o->user != NULL && priv_lookup(o->user, &user) != 0) || open_captures(&lv) != 0 ||
	    priv_drop(o->user != NULL ? &user : NULL) != 0)
		goto out;
	if (o->evidence_path != NULL && evidence_setup(&lv, seed, &ec, &wi) != 0)
		goto out;
	/* Outputs, the evidence capture and the state file are opened as the
	 * unprivileged user, like every reopen after SIGHUP. */
	pcfg = (struct pipeline_config){
	    .mode = PIPELINE_LIVE,
	    .limits = &o->limits,
	    .ports = o->ports,
	    .nports = o->nports,
	    .seed = seed,
	    .format = o->format,
	    .outpath = o->outpath,
	    .syslog = o->syslog,
	    .nsyslog = o->nsyslog,
	    .facility = o->facility,
	    .ifaces = lv.names,
	    .evidence = o->evidence_path != NULL ? &ec : NULL,
	    .state_path = o->state_path,
	    .share_threshold = o->share_threshold,
	    .record = o->record,
	    .select = &o->select,
	};
	r = pipeline_open(&lv.p, &pcfg);
	free(wi);
	if (r == KW_ERR_MALFORMED)
		status = 2; /* a malformed --syslog target: wrong usage */
	if (r != 0)
		goto out;
	wcfg = (struct workers_config){
	    .n = lv.n,
	    .limits = &o->limits,
	    .ports = o->ports,
	    .nports = o->nports,
	    .seed = seed,
	    .sensor = o->record.sensor,
	    .p = lv.p,
	    .live = 1,
	    .live_loop = worker_loop,
	    .merger_hook = merger_hook,
	    .live_ctx = &lv,
	};
	if (workers_open(&lv.w, &wcfg) != 0)
		goto out;
	if (!o->quiet)
		fprintf(stderr, "kexwatch: capturing on %u interface%s with %u worker%s\n",
		        o->nifaces, o->nifaces == 1 ? "" : "s", lv.n, lv.n == 1 ? "" : "s");

	wait_signals(&lv, &orig);

	/* SIGINT/SIGTERM: every open connection is written, then the totals. */
	workers_finish(lv.w);
	write_stats(&lv, "exit");
	report_end(lv.p->report);
	gather(&lv, &fs, &ds);
	if (!o->quiet)
		pipeline_summary(lv.p, &fs, &ds);
	status = atomic_load(&lv.nactive) > 0 ? 0 : 1;
	if (pipeline_store_close(lv.p, o->quiet) != 0)
		status = 1;
	if (atomic_load(&lv.nactive) == 0)
		fprintf(stderr, "kexwatch: no interface left to capture on\n");
out:
	if (lv.w != NULL) {
		atomic_store(&lv.stop, 1);
		workers_finish(lv.w);
		workers_close(lv.w);
	}
	pipeline_close(lv.p);
	priv_user_free(&user);
	live_free(&lv);
	return status;
}
