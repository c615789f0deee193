/*
 * output.h: from a flow and its verdict to the record of DESIGN.md section 2.
 *
 * The only module that talks to jansson. Has each flow judged (verdict/),
 * writes its record to the sinks as one JSON line or one text line, and
 * builds the statistics records. Owns the sinks' formats and transports
 * (standard output, a file reopened on request, syslog over the local
 * socket, UDP or TCP). Keeps the counts for the end-of-run summary. Not
 * responsible for collecting facts (dissect/), for deciding what happened
 * (verdict/), for opening captures or for the process, its signals and
 * privileges (app/).
 */
#ifndef KW_REPORT_H
#define KW_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "decode.h"
#include "flow.h"
#include "verdict.h"

/*
 * Sinks: where records go. Each sink writes one whole record per write
 * (per datagram for syslog) and never blocks the capture for long. A sink
 * that fails says so once on standard error, counts the records it lost,
 * tries again with the next record, and says so again when it recovers.
 */
struct sink;

/* Syslog severities (RFC 5424 section 6.2.1) used for records. */
#define SINK_SEV_WARNING 4
#define SINK_SEV_INFO 6

/*
 * sink_open_fd writes to the open descriptor fd (standard output), which
 * stays the caller's. name is used in messages (borrowed). 0 or KW_ERR_NOMEM.
 */
int sink_open_fd(struct sink **out, int fd, const char *name);

/*
 * sink_open_file appends to path (created with mode 0640 less the umask),
 * one write(2) per record unless batched (sink_batch). sink_reopen opens path again (after
 * logrotate renamed it): the new file is opened before the old one is closed, so a failed reopen
 * keeps writing to the old one. 0, or KW_ERR_IO with a reason in err.
 */
int sink_open_file(struct sink **out, const char *path, char *err, size_t errlen);

/*
 * sink_open_syslog sends each record as one RFC 5424 message (the record as
 * MSG, APP-NAME kexwatch, MSGID "ssh" or "stats", no structured data) to
 * target: a socket path ("/dev/log", or "unix:PATH"; datagram), or
 * "udp://HOST:PORT" (RFC 5426), or "tcp://HOST:PORT" (octet-counting
 * framing, RFC 6587 section 3.4.1; a bounded queue rides out a reconnect).
 * HOST may be a name, resolved once here, or [IPv6]. facility is 0-23.
 * A target that is not reachable yet is not an error (it is retried); 0,
 * or KW_ERR_MALFORMED / KW_ERR_IO with a reason in err.
 */
int sink_open_syslog(struct sink **out, const char *target, int facility, char *err, size_t errlen);

/* sink_facility: a syslog facility name ("daemon", "local0"...) to its code, -1 if unknown. */
int sink_facility(const char *name);

/*
 * sink_write writes one record, line[0..n) ending in '
', with a syslog
 * severity and MSGID (ignored by other sinks). 0, or KW_ERR_IO (errno set)
 * when the record did not go out (it is counted as lost).
 */
int sink_write(struct sink *s, const char *line, size_t n, int severity, const char *msgid);

/*
 * sink_batch makes a file or standard-output sink gather records and write
 * them `bytes` at a time, whole records only, from a writer thread (offline,
 * where a record need not reach the file at once); sink_flush writes what
 * is gathered and waits for it. A failed write keeps the whole records that
 * reached the file and counts the others as lost; batched, sink_write
 * cannot tell, so failures show in sink_counts (after sink_flush) and on
 * standard error. 0, or KW_ERR_NOMEM (the sink goes on unbatched).
 */
int sink_batch(struct sink *s, size_t bytes);
int sink_flush(struct sink *s);

/* sink_reopen: reopen a file sink; 0 for the others. KW_ERR_IO with errno set. */
int sink_reopen(struct sink *s);

/* sink_tick sends what a TCP syslog sink has queued and reconnects it; cheap. */
void sink_tick(struct sink *s);

/* sink_name: the path or target, for messages. Owned by the sink. */
const char *sink_name(const struct sink *s);

/* sink_counts: records written and lost since the sink was opened. */
void sink_counts(const struct sink *s, uint64_t *written, uint64_t *lost);

/* sink_close sends what is queued (waiting at most 2 s) and frees s; NULL is allowed. */
void sink_close(struct sink *s);

enum report_format {
	REPORT_JSON,
	REPORT_TEXT,
};

struct hoststore; /* state/hoststore.h */

/* --record: what a record holds (docs/record.md). */
enum record_profile {
	RECORD_COMPACT, /* the default: every fact, without what repeats or is fixed text */
	RECORD_FULL,    /* also both KEXINITs' name-lists and the diagnoses' texts */
};

/* What a record carries beyond the flow and its verdict. */
struct record_options {
	enum record_profile profile;
	const char *sensor;      /* "host" and the flow_id's sensor (--sensor-name); borrowed */
	uint16_t community_seed; /* --community-id-seed */
};

/*
 * Filters: which connections get a record and count in the text summary.
 * Every connection is still judged and counted in the statistics records
 * and the end-of-run summary on standard error. All given filters must
 * match; an unset one matches everything.
 */
struct report_filter {
	int active;         /* any filter given */
	int outcome;        /* --only: an enum verdict_outcome, or -1 */
	uint32_t diagnoses; /* --diagnosis: bit (1u << enum diag_code) per code; 0: any */
	int severity;       /* --severity: SEV_ERROR (an error), SEV_WARNING (an error or a
	                       warning), or -1 */
	int host_family;    /* --host: 4 or 6, 0: any; either side's address in the prefix */
	uint8_t host[16];
	unsigned host_prefix;
	int port; /* --port: either side's port, or -1 */
};

/*
 * report_filter_set applies one filter, name being "only", "diagnosis",
 * "severity", "host" or "port" and arg its value, to f (zeroed by the
 * caller before the first). 0, KW_ERR_NOMEM, or KW_ERR_MALFORMED with a
 * one-line reason in err.
 */
int report_filter_set(struct report_filter *f, const char *name, const char *arg, char *err,
                      size_t errlen);

/* report_filter_match: whether flow fl judged v passes f (NULL or unset: always). */
int report_filter_match(const struct report_filter *f, const struct flow *fl,
                        const struct verdict *v);

struct report_config {
	enum report_format format;
	FILE *out;                 /* borrowed; the caller closes it; unused with sinks */
	struct sink *const *sinks; /* borrowed; when nsinks > 0 records go to these */
	uint32_t nsinks;
	const char *const *filenames; /* by flow.file_index; borrowed; NULL in live mode */
	uint32_t nfiles;
	const char *const *ifaces; /* by flow.iface_index; NULL offline */
	int color;                 /* text: ANSI colour */
	unsigned width;            /* text: the terminal's columns (0: 80); no row is wider */
	int flush_each;            /* flush after every record (live mode) */
	struct hoststore *store;   /* borrowed; --state: host_key_changed/_shared; NULL: off */
	struct record_options record;
	struct report_filter filter; /* which connections are shown */
};

struct report;

/* report_new: NULL on allocation failure. cfg is copied. */
struct report *report_new(const struct report_config *cfg);
void report_free(struct report *r);

/*
 * report_flow judges flow f and writes its record. Returns 0, or KW_ERR_IO
 * when the sink failed (errno set; counted, and the next record retries).
 */
int report_flow(struct report *r, const struct flow *f, enum flow_report_why why);

/*
 * report_forget_failed_writes: the records that could not be written are
 * not an error to report (the reader of standard output went away).
 */
void report_forget_failed_writes(struct report *r);

/*
 * report_last_has_error: whether the record last written by report_flow
 * carried an error-level diagnosis (in text format, only with sinks).
 */
int report_last_has_error(const struct report *r);

/* report_last_selected: whether the flow last given to report_flow passed the filters. */
int report_last_selected(const struct report *r);

/* One capture interface's libpcap counters, for the statistics record. */
struct report_iface_counters {
	const char *name;
	uint64_t recv, drop, ifdrop; /* ps_recv, ps_drop, ps_ifdrop since start */
	int valid;                   /* 0: libpcap gave none */
};

/* Evidence capture counters, for the statistics record. */
struct report_evidence_counters {
	uint64_t connections, frames; /* written to the evidence capture */
	uint64_t frames_missed;       /* not kept: per-connection or memory bound */
	uint64_t buffered_bytes;      /* frames held now, waiting for their record */
	uint64_t write_errors;
};

/* One packet loop's counters (--workers), for the statistics record. */
struct report_worker_counters {
	uint64_t packets; /* frames it received */
	uint64_t drops;   /* libpcap's ps_drop of its captures */
	uint64_t flows;   /* connections it followed */
};

/* What a statistics record reports (all borrowed for the call). */
struct report_stats_input {
	const char *reason;         /* "interval", "signal" or "exit" */
	uint64_t now_us, uptime_us; /* wall clock */
	const struct flow_stats *flows;
	const struct decode_stats *decode;
	const struct report_iface_counters *ifaces;
	uint32_t nifaces;
	const struct report_evidence_counters *evidence; /* NULL without --evidence-pcap */
	const struct report_worker_counters *workers;    /* one per packet loop */
	uint32_t nworkers;
};

/*
 * report_stats writes a statistics record (event_type "stats", see
 * docs/operations.md) to the sinks. 0, KW_ERR_NOMEM, or KW_ERR_IO when a
 * sink failed.
 */
int report_stats(struct report *r, const struct report_stats_input *in);

/* report_reopen reopens the file sinks (SIGHUP). 0, or KW_ERR_IO if one failed. */
int report_reopen(struct report *r);

/* report_tick lets the sinks send what they queued (TCP syslog). */
void report_tick(struct report *r);

/* report_end writes what closes the output (the text table's footer). */
void report_end(struct report *r);

/* report_summary writes the end-of-run summary (counts) to err; the TSO
 * frames (decode.h) only when there were some. */
void report_summary(const struct report *r, FILE *err, const struct flow_stats *fs, uint64_t frames,
                    uint64_t anomalies_decode, uint64_t tso_frames);

/* report_jansson_version: the jansson version string. */
const char *report_jansson_version(void);

#endif
