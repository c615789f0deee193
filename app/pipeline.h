/*
 * pipeline.h: the objects one run pushes packets through, built the same
 * way for capture files (kexwatch.c) and interfaces (live.c): the sinks,
 * the evidence buffer, the host-key store, the reporter, the memory budget
 * and the reader's decoder. Not a public API: only app/ includes it.
 *
 * Responsible for opening them in one order, taking each finished flow to
 * the reporter (and to the evidence buffer), and closing them. Not
 * responsible for reading frames, flow tables (workers.c), signals or
 * privileges: the callers decide when the run ends.
 */
#ifndef KW_APP_PIPELINE_H
#define KW_APP_PIPELINE_H

#include <stdint.h>

#include "app.h"
#include "budget.h"
#include "decode.h"
#include "flow.h"
#include "limits.h"
#include "output.h"

/* Which reading the pipeline serves: it changes how records go out. */
enum pipeline_mode {
	/*
	 * Capture files: without -w FILE or --syslog, records go to standard
	 * output through stdio (fully buffered unless a terminal); with them,
	 * the sinks write in batches, since nobody tails the file as it grows.
	 */
	PIPELINE_OFFLINE,
	/* Interfaces: records always go through sinks, each flushed at once. */
	PIPELINE_LIVE,
};

/* What pipeline_open builds; every pointer is borrowed for the pipeline's life. */
struct pipeline_config {
	enum pipeline_mode mode;
	const struct kw_limits *limits;
	const uint16_t *ports; /* --ssh-ports */
	uint32_t nports;
	uint64_t seed; /* flow table hash seed */
	/* Outputs. */
	int format;          /* enum report_format, or -1: chosen by standard output */
	const char *outpath; /* -w; NULL or "-": standard output */
	const char *const *syslog;
	uint32_t nsyslog;
	int facility;
	/* What records name: the input files (offline) or interfaces (live). */
	const char *const *filenames; /* by flow.file_index, or NULL */
	uint32_t nfiles;
	const char *const *ifaces;              /* by flow.iface_index, or NULL */
	const struct evidence_config *evidence; /* NULL: no evidence capture */
	const char *state_path;                 /* --state, or NULL */
	uint32_t share_threshold;               /* --hostkey-share-threshold, 0: default */
	struct record_options record;           /* --record, --sensor-name, ... */
	const struct report_filter *select; /* --only, --host ...: shown connections; NULL: all */
};

struct pipeline {
	struct report *report;
	struct decoder *dec;     /* offline: the reader's (live: each worker has its own) */
	struct evidence *ev;     /* NULL without an evidence capture */
	struct hoststore *store; /* NULL without --state, or once closed */
	const char *state_path;
	struct sink **sinks; /* none offline when records go through stdio */
	uint32_t nsinks;
	/* A record could not be written because the reader went away (EPIPE):
	 * reading files stops there; a live run goes on (the sink said so).
	 * Set by the thread that writes records, read by the reader's. */
	_Atomic int output_failed;
	struct kw_budget budget; /* the global memory budget the flow tables draw from */
	int filtered;            /* filters given: the evidence keeps what they select */
};

/*
 * pipeline_memory_budget: the global memory budget for limits, in bytes:
 * limits->memory MiB, but when that is the default and the process's
 * cgroup allows less than twice it, half of the cgroup's memory.max.
 */
uint64_t pipeline_memory_budget(const struct kw_limits *l);

/*
 * pipeline_flush writes what the outputs hold (stdio's buffer, the sinks'
 * batches) now: a streamed input is waiting, so records are not held back.
 * On the thread that writes records (the merger of workers.c).
 */
void pipeline_flush(struct pipeline *p);

/*
 * pipeline_open opens, in this order, the sinks, the evidence capture, the
 * host-key store, then the reporter and the decoder. The flow tables are
 * the workers' (workers.h), whose records come to pipeline_record. *out is
 * the caller's until pipeline_close. Returns 0, or after naming the failure
 * on standard error KW_ERR_NOMEM, KW_ERR_MALFORMED for a --syslog target
 * that is not one (wrong usage), or KW_ERR_IO when an output, the evidence
 * capture or the store could not be opened (what was opened is closed).
 */
int pipeline_open(struct pipeline **out, const struct pipeline_config *cfg);

/*
 * pipeline_record takes a flow whose record is due to the reporter, then
 * tells the evidence buffer whether to keep its frames. One thread only
 * (the merger of workers.c).
 */
void pipeline_record(struct pipeline *p, const struct flow *f, enum flow_report_why why);

/*
 * pipeline_summary writes the end-of-run summary (counts of connections,
 * frames, anomalies) to standard error: fs, all tables' counters, ds, all
 * decoders'.
 */
void pipeline_summary(const struct pipeline *p, const struct flow_stats *fs,
                      const struct decode_stats *ds);

/*
 * pipeline_store_close commits the last host-key sightings and closes the
 * store (call it once every record is built); unless quiet, one summary
 * line on standard error. Returns 0, or 1 when observations were lost.
 */
int pipeline_store_close(struct pipeline *p, int quiet);

/*
 * pipeline_sinks_close writes what the sinks gathered, names each sink that
 * lost records on standard error, and closes them. Returns 0, or 1 when a
 * record was lost.
 */
int pipeline_sinks_close(struct pipeline *p);

/*
 * pipeline_close frees the decoder and the reporter, then closes the store
 * (quietly), the evidence capture and the sinks still open. NULL is
 * allowed.
 */
void pipeline_close(struct pipeline *p);

#endif
