/*
 * live.c: capturing from interfaces until told to stop (see app.h).
 *
 * Responsible for the order of a live run (open every capture, drop
 * privileges, then open outputs, as tcpdump -Z does), for the one loop that
 * waits on every capture's descriptor with ppoll, and for doing all signal
 * work in that loop: the handlers only set flags, and the signals are
 * blocked except while ppoll waits, so none is missed between a check and
 * the wait. Keeps records on time: the flow table's timeouts run on capture
 * time, and while the link is quiet the loop moves that clock with the wall
 * clock at least once a second. Not responsible for building the objects
 * packets go through (pipeline.c), decoding (dissect/), records and sinks
 * (output/) or libpcap (capture/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "err.h"
#include "pipeline.h"

#define LIVE_MAX_NAMES 256       /* interface names records can carry */
#define LIVE_TICK_MS 500         /* the clock moves at least this often */
#define LIVE_RING_TIMEOUT_MS 100 /* a frame waits at most this long in the ring */
/* The wall clock drives the table this far behind, so a frame still in the
 * ring (up to the ring timeout) is never older than the table's clock. */
#define LIVE_CLOCK_SLACK_US 250000u
#define LIVE_BATCH 512 /* frames read from one capture before looking at the others */

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

struct live {
	const struct live_opts *o;
	struct capture **caps;
	struct report_iface_counters *counters;
	struct pollfd *pfd;
	uint32_t ncaps, nactive;
	struct pipeline *p;
	uint64_t start_us, start_mono;
	/* Interface names records carry: the -i arguments, then the interfaces
	 * "any" frames came from (Linux cooked v2 gives their index). */
	const char *names[LIVE_MAX_NAMES];
	char *learned[LIVE_MAX_NAMES];
	uint32_t nnames;
	/* Link state of each -i interface, said when it changes (libpcap is
	 * silent when a link goes down: the socket just gets nothing). */
	int sock;      /* for SIOCGIFFLAGS; -1: not watched */
	uint8_t *down; /* by capture: 1 once said to be down */
};

/*
 * watch_links says once when an interface goes down (not up, or up without
 * a carrier) and once when it comes back. "any" is not watched.
 */
static void watch_links(struct live *lv)
{
	for (uint32_t i = 0; lv->sock >= 0 && i < lv->ncaps; i++) {
		const char *name = lv->o->ifaces[i];
		struct ifreq ifr;
		int down;

		if (lv->caps[i] == NULL || strcmp(name, "any") == 0 || strlen(name) >= IFNAMSIZ)
			continue;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, name, strlen(name));
		if (ioctl(lv->sock, SIOCGIFFLAGS, &ifr) != 0)
			continue; /* gone: libpcap says so on the next read */
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

static void refresh_counters(struct live *lv)
{
	for (uint32_t i = 0; i < lv->ncaps; i++) {
		struct capture_counters c;
		if (lv->caps[i] == NULL)
			continue;
		lv->counters[i].valid = capture_counters(lv->caps[i], &c) == 0;
		if (lv->counters[i].valid) {
			lv->counters[i].recv = c.recv;
			lv->counters[i].drop = c.drop;
			lv->counters[i].ifdrop = c.ifdrop;
		}
	}
}

static void write_stats(struct live *lv, const char *reason)
{
	struct report_evidence_counters evc;
	struct report_stats_input in = {
	    .reason = reason,
	    .now_us = clock_us(CLOCK_REALTIME),
	    .uptime_us = clock_us(CLOCK_MONOTONIC) - lv->start_mono,
	    .flows = flow_table_stats(lv->p->table),
	    .decode = decoder_stats(lv->p->dec),
	    .ifaces = lv->counters,
	    .nifaces = lv->ncaps,
	};

	refresh_counters(lv);
	if (lv->p->ev != NULL) {
		evidence_counters(lv->p->ev, &evc);
		in.evidence = &evc;
	}
	if (report_stats(lv->p->report, &in) == KW_ERR_NOMEM)
		fprintf(stderr, "kexwatch: out of memory writing statistics\n");
}

/*
 * iface_slot names the interface a frame crossed: for "any", the interface
 * of its cooked v2 index (learned once, bounded), else capture i's own name.
 */
static uint32_t iface_slot(struct live *lv, uint32_t i, uint32_t ifindex)
{
	char name[IF_NAMESIZE];

	if (ifindex == 0 || strcmp(lv->o->ifaces[i], "any") != 0 ||
	    if_indextoname(ifindex, name) == NULL)
		return i;
	for (uint32_t k = lv->o->nifaces; k < lv->nnames; k++)
		if (strcmp(lv->names[k], name) == 0)
			return k;
	if (lv->nnames == LIVE_MAX_NAMES || (lv->learned[lv->nnames] = strdup(name)) == NULL)
		return i;
	lv->names[lv->nnames] = lv->learned[lv->nnames];
	return lv->nnames++;
}

/* read_capture reads what capture i has waiting, at most LIVE_BATCH frames. */
static void read_capture(struct live *lv, uint32_t i)
{
	struct capture *c = lv->caps[i];
	int link = capture_link(c);
	struct capture_frame fr;
	struct pkt pkt;
	int r = 0;

	for (int n = 0; n < LIVE_BATCH && (r = capture_next(c, &fr)) == 1; n++) {
		uint64_t flows = flow_table_stats(lv->p->table)->flows;
		if (decode_frame(lv->p->dec, link, fr.data, fr.caplen, fr.wirelen, fr.ts_us,
		                 &pkt) != KW_OK) {
			flow_table_advance(lv->p->table, fr.ts_us);
			continue;
		}
		if (flow_table_packet(lv->p->table, &pkt, 0, iface_slot(lv, i, pkt.ifindex)) ==
		    KW_ERR_NOMEM) {
			fprintf(stderr, "kexwatch: %s: out of memory: packet not followed\n",
			        lv->o->ifaces[i]);
			continue;
		}
		if (lv->p->ev != NULL)
			evidence_frame(lv->p->ev, &pkt,
			               flow_table_stats(lv->p->table)->flows != flows, i, fr.ts_us,
			               fr.data, fr.caplen, fr.wirelen);
	}
	if (r < 0) {
		/* The interface went away (or down): the others go on. */
		fprintf(stderr, "kexwatch: %s: %s; no longer capturing on it\n", lv->o->ifaces[i],
		        capture_error(c));
		refresh_counters(lv);
		capture_close(c);
		lv->caps[i] = NULL;
		lv->pfd[i].fd = -1;
		lv->nactive--;
	}
}

static int open_captures(struct live *lv)
{
	const struct live_opts *o = lv->o;
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
		if (capture_open_live(&lv->caps[i], &co, err, sizeof(err)) != 0) {
			fprintf(stderr, "kexwatch: %s: %s\n", o->ifaces[i], err);
			return 1;
		}
		if (err[0] != '\0')
			fprintf(stderr, "kexwatch: %s: warning: %s\n", o->ifaces[i], err);
		lv->counters[i].name = o->ifaces[i];
		lv->pfd[i].fd = capture_fd(lv->caps[i]);
		lv->pfd[i].events = POLLIN;
		lv->nactive++;
		lv->ncaps++;
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
	const struct live_opts *o = lv->o;
	struct capture_writer_iface *wi = calloc(o->nifaces, sizeof(*wi));

	*ec = (struct evidence_config){
	    .path = o->evidence_path,
	    .max_file_bytes = o->evidence_max_bytes,
	    .max_frames_per_flow = EVIDENCE_FRAMES_PER_FLOW,
	    .max_bytes_per_flow = EVIDENCE_BYTES_PER_FLOW,
	    .max_buffer_bytes = EVIDENCE_BUFFER_BYTES,
	    .max_entries = o->limits->max_flows,
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
		wi[i].link = capture_link(lv->caps[i]);
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

static void run_loop(struct live *lv, const sigset_t *waitmask)
{
	const struct live_opts *o = lv->o;
	uint64_t tick_us = (uint64_t)LIVE_TICK_MS * 1000u;
	uint64_t interval_us = (uint64_t)o->stats_interval_s * 1000000u;
	uint64_t next_tick = clock_us(CLOCK_MONOTONIC) + tick_us;
	uint64_t next_stats = lv->start_mono + interval_us;

	while (!sig_stop && lv->nactive > 0) {
		uint64_t now = clock_us(CLOCK_MONOTONIC), due = next_tick, wait;
		struct timespec ts;

		if (interval_us && next_stats < due)
			due = next_stats;
		wait = due > now ? due - now : 0;
		ts.tv_sec = (time_t)(wait / 1000000u);
		ts.tv_nsec = (long)(wait % 1000000u) * 1000;
		if (ppoll(lv->pfd, lv->ncaps, &ts, waitmask) < 0 && errno != EINTR) {
			perror("kexwatch: ppoll");
			break;
		}
		if (sig_stop)
			break;
		if (sig_hup) {
			sig_hup = 0;
			(void)report_reopen(lv->p->report); /* a failure keeps the old file */
		}
		if (sig_usr1) {
			sig_usr1 = 0;
			write_stats(lv, "signal");
		}
		for (uint32_t i = 0; i < lv->ncaps; i++)
			if (lv->caps[i] != NULL &&
			    (lv->pfd[i].revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)))
				read_capture(lv, i);
		now = clock_us(CLOCK_MONOTONIC);
		if (now >= next_tick) {
			/* Quiet link: the wall clock moves the table's clock, so a
			 * record never waits for the next packet. */
			uint64_t wall = clock_us(CLOCK_REALTIME);
			if (wall > LIVE_CLOCK_SLACK_US)
				flow_table_advance(lv->p->table, wall - LIVE_CLOCK_SLACK_US);
			refresh_counters(lv); /* keeps the 32-bit counters from wrapping */
			watch_links(lv);
			next_tick = now + tick_us;
		}
		report_tick(lv->p->report);
		if (interval_us && now >= next_stats) {
			write_stats(lv, "interval");
			while (next_stats <= now)
				next_stats += interval_us;
		}
	}
}

int live_run(const struct live_opts *o)
{
	struct live lv = {.o = o};
	struct priv_user user = {0};
	struct capture_writer_iface *wi = NULL;
	struct evidence_config ec;
	struct pipeline_config pcfg;
	sigset_t blocked, orig;
	uint64_t seed = 0;
	int status = 1, r;

	for (uint32_t i = 0; i < o->nifaces && i < LIVE_MAX_NAMES; i++)
		lv.names[lv.nnames++] = o->ifaces[i];
	lv.caps = calloc(o->nifaces, sizeof(*lv.caps));
	lv.counters = calloc(o->nifaces, sizeof(*lv.counters));
	lv.pfd = calloc(o->nifaces, sizeof(*lv.pfd));
	lv.down = calloc(o->nifaces, sizeof(*lv.down));
	lv.sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); /* -1: links not watched */
	if (lv.caps == NULL || lv.counters == NULL || lv.pfd == NULL || lv.down == NULL) {
		fprintf(stderr, "kexwatch: out of memory\n");
		goto out;
	}
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = ((uint64_t)getpid() << 32) ^ clock_us(CLOCK_REALTIME);
	set_signals(&blocked, &orig);
	lv.start_us = clock_us(CLOCK_REALTIME);
	lv.start_mono = clock_us(CLOCK_MONOTONIC);

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
	    .limits = o->limits,
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
	    .select = o->select,
	};
	r = pipeline_open(&lv.p, &pcfg);
	free(wi);
	if (r == KW_ERR_MALFORMED)
		status = 2; /* a malformed --syslog target: wrong usage */
	if (r != 0)
		goto out;
	if (!o->quiet)
		fprintf(stderr, "kexwatch: capturing on %u interface%s\n", o->nifaces,
		        o->nifaces == 1 ? "" : "s");

	run_loop(&lv, &orig);

	/* SIGINT/SIGTERM: every open connection is written, then the totals. */
	flow_table_flush(lv.p->table);
	write_stats(&lv, "exit");
	report_end(lv.p->report);
	if (!o->quiet)
		pipeline_summary(lv.p);
	status = lv.nactive > 0 ? 0 : 1;
	if (pipeline_store_close(lv.p, o->quiet) != 0)
		status = 1;
	if (lv.nactive == 0)
		fprintf(stderr, "kexwatch: no interface left to capture on\n");
out:
	pipeline_close(lv.p);
	for (uint32_t i = 0; lv.caps != NULL && i < o->nifaces; i++)
		capture_close(lv.caps[i]);
	priv_user_free(&user);
	free(lv.caps);
	free(lv.counters);
	free(lv.pfd);
	free(lv.down);
	if (lv.sock >= 0)
		close(lv.sock);
	for (uint32_t k = 0; k < lv.nnames; k++)
		free(lv.learned[k]);
	return status;
}
