/*
 * report.h: from the facts of a flow to the record of DESIGN.md section 2.
 *
 * The only module that talks to jansson. Judges each flow (outcome, phase,
 * close), builds its record, and writes it to the sink as one JSON line or
 * one text line. Keeps the counts for the end-of-run summary. Not
 * responsible for collecting facts (dissect/) or for the process (app/).
 */
#ifndef KW_REPORT_H
#define KW_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "flow.h"

enum report_format {
	REPORT_JSON,
	REPORT_TEXT,
};

/* What the record says of how far the handshake went (ssh.outcome). */
enum report_outcome {
	OUTCOME_ESTABLISHED,
	OUTCOME_FAILED,
	OUTCOME_INCOMPLETE,
	OUTCOME_NOT_SSH,
	OUTCOME_COUNT
};

/* ssh.phase, in order: the furthest one reached. */
enum report_phase {
	PHASE_NONE,
	PHASE_SYN,
	PHASE_TCP_ESTABLISHED,
	PHASE_CLIENT_BANNER,
	PHASE_SERVER_BANNER,
	PHASE_KEXINIT,
	PHASE_KEX_REPLY,
	PHASE_NEWKEYS,
	PHASE_ENCRYPTED,
};

struct report_config {
	enum report_format format;
	FILE *out;                    /* borrowed; the caller closes it */
	const char *const *filenames; /* by flow.file_index; borrowed; NULL in live mode */
	uint32_t nfiles;
	const char *const *ifaces;    /* by flow.iface_index; NULL offline */
	int color;                    /* text: ANSI colour */
	int flush_each;               /* flush after every record (live mode) */
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

/* report_end writes what closes the output (the text table's footer). */
void report_end(struct report *r);

/* report_summary writes the end-of-run summary (counts) to err. */
void report_summary(const struct report *r, FILE *err, const struct flow_stats *fs,
		    uint64_t frames, uint64_t anomalies_decode);

/* Judgments, exposed for tests. */
enum report_outcome report_outcome(const struct flow *f);
enum report_phase report_phase_at(const struct flow *f, uint64_t t_us);
const char *report_outcome_name(enum report_outcome o);
const char *report_phase_name(enum report_phase p);

/*
 * report_escape writes n wire bytes as printable ASCII: bytes 0x20-0x7e
 * stay, except '\', and everything else becomes \xHH. Returns a malloc'd
 * NUL-terminated string (NULL on allocation failure).
 */
char *report_escape(const uint8_t *p, size_t n);

/* report_jansson_version: the jansson version string. */
const char *report_jansson_version(void);

#endif
