/*
 * app.h: the parts of the program shared inside app/ (live capture,
 * privileges, the evidence buffer). Not a public API: only app/ includes it.
 */
#ifndef KW_APP_H
#define KW_APP_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "decode.h"
#include "flow.h"
#include "limits.h"
#include "output.h"

/* Everything the command line says about a live run (borrowed by live_run). */
struct live_opts {
	const char *const *ifaces;
	uint32_t nifaces;
	const char *filter; /* NULL: capture_default_filter */
	int snaplen, buffer_kib, promisc;
	const char *user;    /* -Z, or NULL */
	const char *outpath; /* -w; NULL or "-": standard output */
	const char *const *syslog;
	uint32_t nsyslog;
	int facility;
	const char *evidence_path; /* NULL: no evidence capture */
	uint64_t evidence_max_bytes;
	uint32_t stats_interval_s; /* 0: only on SIGUSR1 and at exit */
	int format;                /* enum report_format, or -1: by standard output */
	int quiet;
	const struct kw_limits *limits;
	const uint16_t *ports;
	uint32_t nports;
	const char *state_path;   /* --state, or NULL */
	uint32_t share_threshold; /* --hostkey-share-threshold, 0: default */
	struct record_options record;
	const struct report_filter *select; /* --only, --host ...; NULL: all */
	uint32_t workers;                   /* --workers: packet loops sharing each interface */
};

/* live_run captures until SIGINT/SIGTERM; returns the exit status. */
int live_run(const struct live_opts *o);

/* Privileges (privdrop.c). */
struct priv_user {
	char *name;
	unsigned int uid, gid;
};

/* priv_lookup resolves -Z USER before anything is opened; 0 or 1 (message printed). */
int priv_lookup(const char *user, struct priv_user *out);
void priv_user_free(struct priv_user *u);

/*
 * priv_drop runs once every capture is open. With u: initgroups, setgid,
 * setuid (as tcpdump -Z), then checks that root cannot be regained. In any
 * case, a process that is not root afterwards gives up every capability it
 * was started with (CAP_NET_RAW, CAP_NET_ADMIN are needed only to open the
 * captures) and sets no_new_privs. Returns 0, or 1 (message printed).
 */
int priv_drop(const struct priv_user *u);

/*
 * The evidence buffer (evidence.c): the raw frames of each connection, kept
 * (bounded) until its record is written, then written to the evidence
 * capture when the record has an error-level diagnosis, else dropped.
 * Keyed by the connection's address pair: a new flow on the same pair
 * starts afresh. Frames of flows never reported (not SSH) leave by LRU.
 */
struct evidence;

/* Evidence bounds (docs/operations.md): the handshake is in the first frames. */
#define EVIDENCE_FRAMES_PER_FLOW 64
#define EVIDENCE_BYTES_PER_FLOW (256u * 1024u)
#define EVIDENCE_BUFFER_BYTES (64ull * 1024u * 1024u)

struct evidence_config {
	const char *path;
	uint64_t max_file_bytes;      /* the capture rotates to path.1 beyond it */
	uint32_t max_frames_per_flow; /* the handshake fits in the first few dozen */
	uint32_t max_bytes_per_flow;
	uint64_t max_buffer_bytes; /* all flows together */
	uint32_t max_entries;      /* connections followed at once */
	const struct capture_writer_iface *ifaces;
	uint32_t nifaces;
	uint64_t seed;
};

/* evidence_open: 0, or 1 after naming the failure on standard error. */
int evidence_open(struct evidence **out, const struct evidence_config *cfg);

/*
 * evidence_frame offers the frame of one decoded packet p. new_flow: the
 * flow table created a flow for it (flow_table_stats().flows moved), so the
 * address pair starts a new connection. The frame is copied.
 */
void evidence_frame(struct evidence *ev, const struct pkt *p, int new_flow, uint32_t iface,
                    uint64_t ts_us, const uint8_t *data, uint32_t caplen, uint32_t wirelen);

/*
 * evidence_flow_reported: f's record was just written; keep says it had an
 * error-level diagnosis, so its frames go to the evidence capture. Frames
 * arriving later for the same connection are not kept.
 */
void evidence_flow_reported(struct evidence *ev, const struct flow *f, int keep);

void evidence_counters(struct evidence *ev, struct report_evidence_counters *out);
void evidence_close(struct evidence *ev);

#endif
