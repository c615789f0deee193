/*
 * verdict.h: what happened to a connection, and why, in plain C.
 *
 * The verdict layer turns the facts dissect/ collected about one flow into a
 * struct verdict: how far the handshake got (outcome, phase), how it ended,
 * what the encrypted sizes say about authentication, and a list of
 * diagnoses (DESIGN.md section 4), each an enum code with a severity, a
 * one-sentence summary, typed evidence, a hint and the client's likely
 * message. Every code is described once, in the rule table (rules.c), from
 * which --explain and the documentation's lists are checked.
 *
 * Not responsible for any output format (output/ writes JSON and text from a
 * verdict) nor for collecting facts (dissect/). Never includes jansson.
 * State that spans connections (failed logins per client, remembered host
 * keys) is reached only through the struct verdict_ctx passed in, so each
 * packet loop can own one.
 */
#ifndef KW_VERDICT_H
#define KW_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "auth.h"
#include "flow.h"

/* ssh.outcome: how far the handshake went. */
enum verdict_outcome {
	OUTCOME_ESTABLISHED,
	OUTCOME_FAILED,
	OUTCOME_INCOMPLETE,
	OUTCOME_NOT_SSH,
	OUTCOME_COUNT
};

/* ssh.phase, in order: the furthest one reached. */
enum verdict_phase {
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

/* Severities, most severe first: the order of a verdict's diagnoses. */
enum verdict_severity { SEV_ERROR, SEV_WARNING, SEV_INFO, SEV_COUNT };

/* The stable diagnosis codes (docs/diagnoses.md), in the order of the document. */
enum diag_code {
	DIAG_TCP_NO_ANSWER,
	DIAG_TCP_REFUSED,
	DIAG_ICMP_UNREACHABLE,
	DIAG_CLOSED_BEFORE_SERVER_BANNER,
	DIAG_BANNER_TIMEOUT,
	DIAG_BANNER_INVALID,
	DIAG_PROTOCOL_VERSION_MISMATCH,
	DIAG_CLOSED_AFTER_BANNER,
	DIAG_NO_COMMON_ALGORITHM,
	DIAG_WEAK_ALGORITHM,
	DIAG_NON_PQ_KEX,
	DIAG_TERRAPIN_EXPOSED,
	DIAG_CLOSED_DURING_KEX,
	DIAG_KEX_STALLED,
	DIAG_MTU_BLACKHOLE_SUSPECTED,
	DIAG_ICMP_FRAG_NEEDED,
	DIAG_IP_FRAGMENTED,
	DIAG_DISCONNECT_MESSAGE,
	DIAG_CAPTURE_INCOMPLETE,
	DIAG_ANALYSIS_LIMITED,
	DIAG_HOST_KEY_CHANGED,
	DIAG_HOST_KEY_SHARED,
	DIAG_AUTH_GUESSING,
	DIAG_SCANNER_PROBE,
	DIAG_COUNT
};

#define DIAG_MAX_HINTS 5    /* hint variants of one rule */
#define DIAG_MAX_SYMPTOMS 5 /* client messages of one rule */

/*
 * One row of the rule table: everything said about a code that does not
 * depend on a particular connection. A rule's check picks one of its hints
 * (the likely causes differ with the evidence: a server that wrote
 * "Exceeded MaxStartups" against one that reset silently).
 */
struct diag_rule {
	const char *code;                        /* "tcp_no_answer": the record's code */
	enum verdict_severity severity;          /* its usual severity */
	const char *title;                       /* what it means, in a few words */
	const char *summary;                     /* the summary's template (printf), main variant */
	const char *hints[DIAG_MAX_HINTS];       /* NULL-terminated; [0] is the usual one */
	const char *symptoms[DIAG_MAX_SYMPTOMS]; /* the client's messages, HOST port N as
	                                            placeholders; NULL-terminated */
	const char *anchor;                      /* docs/diagnoses.md section heading */
};

/* diag_rule: the row of code (a valid enum value), never NULL. */
const struct diag_rule *diag_rule(enum diag_code code);
/* diag_code_by_name: the code named name, or -1. */
int diag_code_by_name(const char *name);
/* verdict_severity_name: "error", "warning", "info". */
const char *verdict_severity_name(enum verdict_severity s);
const char *verdict_outcome_name(enum verdict_outcome o);
const char *verdict_phase_name(enum verdict_phase p);
/* verdict_close_kind_name: "fin", "rst", "timeout", "capture_end", "evicted"; NULL for none. */
const char *verdict_close_kind_name(enum flow_close_kind k);

/* Typed evidence: one named fact behind a diagnosis. */
enum diag_evidence_type {
	EV_INT,   /* v.i */
	EV_BOOL,  /* v.i, 0 or 1 */
	EV_TEXT,  /* v.s: printable ASCII (escaped wire bytes or our words) */
	EV_MS,    /* v.ms: milliseconds from one capture time to another */
	EV_NAMES, /* v.s: an SSH name-list, comma-separated, raw wire bytes (NUL-terminated) */
	EV_TEXTS, /* v.list: n printable ASCII strings */
};

struct diag_evidence {
	const char *key; /* a literal: the record's evidence name */
	enum diag_evidence_type type;
	union {
		int64_t i;
		const char *s;
		struct {
			uint64_t from, to;
		} ms;
		struct {
			const char *const *v;
			uint32_t n;
		} list;
	} v;
};

#define DIAG_MAX_EVIDENCE 20

struct diagnosis {
	enum diag_code code;
	enum verdict_severity severity;
	uint8_t hint; /* index into the rule's hints */
	uint8_t nev;
	const char *summary; /* one sentence (printable ASCII) */
	const char *symptom; /* the client's likely message, or NULL */
	struct diag_evidence ev[DIAG_MAX_EVIDENCE];
};

/* diagnosis_hint: the hint text of d. */
const char *diagnosis_hint(const struct diagnosis *d);
/* diagnosis_evidence: d's evidence named key, or NULL. */
const struct diag_evidence *diagnosis_evidence(const struct diagnosis *d, const char *key);

#define VERDICT_MAX_DIAGNOSES 24

/* The whole judgment of one connection. */
struct verdict {
	int client_dir;   /* TCP direction of the SSH client */
	uint64_t t0;      /* the SYN, or the first packet */
	uint64_t t_close; /* when it closed (FIN/RST), or the last packet */
	enum verdict_outcome outcome;
	enum verdict_phase phase;       /* the furthest reached */
	enum verdict_phase close_phase; /* the phase when it closed */
	int established;                /* both sides sent NEWKEYS */
	int auth_known;                 /* auth holds auth_infer's reading (established) */
	struct auth_inference auth;
	uint32_t ndiag; /* diagnoses, most severe first */
	struct diagnosis diag[VERDICT_MAX_DIAGNOSES];
	uint32_t dropped; /* diagnoses beyond VERDICT_MAX_DIAGNOSES (never so far) */
};

struct hoststore;  /* state/hoststore.h */
struct scan_table; /* scan.h */

/*
 * What spans connections: the per-client count of failed logins and the
 * per-source memory of abandoned handshakes (both made on first use from
 * the flows' limits), the host-key store (borrowed; NULL: --state is off),
 * and the arena that holds a verdict's strings. One per packet loop; not
 * shared between threads.
 */
struct verdict_ctx {
	struct auth_guess *guess;
	struct scan_table *scan;
	struct hoststore *store;
	struct arena arena;
};

/* verdict_ctx_init: store may be NULL. verdict_ctx_free frees what it owns. */
void verdict_ctx_init(struct verdict_ctx *ctx, struct hoststore *store);
void verdict_ctx_free(struct verdict_ctx *ctx);

/*
 * verdict_judge judges flow f into *v. The strings of v live in ctx's arena
 * until the next call; name-list evidence borrows f's KEXINIT lists, so v is
 * valid while f is and until the next call. Counts f's failed logins in the
 * guess table and its host key in the store (once per call: call it once
 * per connection). Never fails: what cannot be said for lack of memory is
 * left out.
 */
void verdict_judge(struct verdict_ctx *ctx, const struct flow *f, struct verdict *v);

/* verdict_has_error: v carries an error-level diagnosis. */
int verdict_has_error(const struct verdict *v);

/*
 * The judgments verdict_judge is made of, exposed for tests and for the
 * pieces of output/ that describe a flow without a verdict.
 * verdict_one_sided: a direction was never seen (and not because the
 * server never answered a SYN). verdict_capture_partial: one-sided, begun
 * mid-connection, snapped, evicted or with holes: the capture holds part
 * of the connection, so no conclusion is drawn from what is missing.
 * verdict_only_syns: the initiator sent only SYNs and nothing came back.
 */
int verdict_only_syns(const struct flow *f);
int verdict_one_sided(const struct flow *f);
int verdict_capture_partial(const struct flow *f);
/*
 * verdict_limited_dir: the first TCP direction (0 or 1) whose analysis a
 * limit of kexwatch stopped (SSH_ANOM_LIMITS) before its NEWKEYS, or -1.
 * What that side did afterwards is unknown: the outcome is incomplete
 * and no diagnosis is drawn from its silence (analysis_limited says so).
 * verdict_limit_name: the limit behind a direction's SSH_ANOM_LIMITS bits
 * ("stream_buf", "max_packet", "namelist_max", "memory", "out_of_memory"),
 * NULL for none; verdict_limit_value: its value in force in l (bytes; 0 for
 * out_of_memory, none or l NULL).
 */
int verdict_limited_dir(const struct flow *f);
const char *verdict_limit_name(uint32_t ssh_anomalies);
unsigned long long verdict_limit_value(uint32_t ssh_anomalies, const struct kw_limits *l);
int verdict_both_newkeys(const struct flow *f);
int verdict_client_dir(const struct flow *f);
enum verdict_outcome verdict_outcome_of(const struct flow *f);
enum verdict_phase verdict_phase_at(const struct flow *f, uint64_t t_us);

/* diagnose_disconnect_reason names an SSH_MSG_DISCONNECT reason code (RFC 4253 11.1). */
const char *diagnose_disconnect_reason(uint32_t code);

#endif
