/*
 * app.h: the parts of the program shared inside app/ (the options, live capture,
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

/* Command-line bounds. */
#define KW_MAX_INPUTS 4096
#define KW_MAX_PORTS 64
#define KW_MAX_IFACES 64
#define KW_MAX_SYSLOG 8

/* Everything the command line says, as options_parse (kexwatch.c) leaves it. */
struct options {
	const char *inputs[KW_MAX_INPUTS]; /* -r, in order */
	uint32_t ninputs;
	const char *follow;                /* --follow DIR, or NULL */
	int stdin_used;                    /* "-r -" given */
	const char *ifaces[KW_MAX_IFACES]; /* -i */
	uint32_t nifaces;
	const char *filter;  /* -f, or NULL */
	const char *outpath; /* -w, or NULL */
	const char *syslog[KW_MAX_SYSLOG];
	uint32_t nsyslog;
	int facility;
	int format; /* enum report_format, or -1: by standard output */
	int quiet;
	struct kw_limits limits;
	uint16_t ports[KW_MAX_PORTS];
	uint32_t nports;
	const char *state_path;   /* --state, or NULL */
	uint32_t share_threshold; /* 0: the default */
	struct record_options record;
	struct report_filter select; /* --only, --diagnosis, --severity, --host, --port */
	char hostname[256];          /* the default sensor name */
	/* Live capture only. */
	int snaplen, buffer_kib, promisc;
	const char *user; /* -Z, or NULL */
	uint32_t stats_interval_s;
	const char *evidence_path; /* or NULL */
	uint64_t evidence_max_bytes;
	const char *live_only; /* the last live-only option given, named when reading files */
	uint32_t workers;      /* --workers */
};

/* live_run captures on o's interfaces until SIGINT/SIGTERM; returns the exit status. */
int live_run(const struct options *o);

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
