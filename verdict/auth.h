/*
 * auth.h: what the encrypted sizes say about user authentication, and the
 * per-client memory of failed logins (internal to verdict/).
 *
 * auth_infer reads the sizes ssh.c kept after NEWKEYS (exact packet lengths
 * where packet_length travels in clear, TCP segment sizes otherwise) and
 * infers the RFC 4252 exchange: SERVICE_ACCEPT, USERAUTH_FAILURE,
 * USERAUTH_SUCCESS and the failed attempts. auth_session sums up what
 * followed (ssh.session). The guess table counts failed attempts per client
 * address over a sliding window (diagnosis auth_guessing). See docs/auth.md
 * for the method, its limits and its measured accuracy.
 */
#ifndef KW_AUTH_H
#define KW_AUTH_H

#include <stdint.h>

#include "flow.h"

enum auth_result {
	AUTH_UNKNOWN,
	AUTH_SUCCESS,
	AUTH_FAILURE,
};

enum auth_method {
	AUTH_METHOD_NONE,     /* no sizes to read (not established) */
	AUTH_METHOD_PACKETS,  /* exact SSH packet lengths */
	AUTH_METHOD_SEGMENTS, /* TCP segment sizes */
};

enum auth_confidence {
	AUTH_LOW,
	AUTH_MEDIUM,
	AUTH_HIGH,
};

/* Why confidence is not high (bits of auth_inference.caveats). */
#define AUTH_CAV_SEGMENTS 0x0001u       /* sizes of TCP segments, not of SSH packets */
#define AUTH_CAV_COALESCED 0x0002u      /* a segment is not one whole SSH packet */
#define AUTH_CAV_COMPRESSED 0x0004u     /* zlib@openssh.com: sizes after auth are compressed */
#define AUTH_CAV_COMPRESSED_ALL 0x0008u /* zlib: every size after NEWKEYS is compressed */
#define AUTH_CAV_CLIENT_UNKNOWN 0x0010u /* client not known to begin with "none" */
#define AUTH_CAV_PATTERN 0x0020u        /* replies not in a pattern read one way only */
#define AUTH_CAV_NOT_LOCKSTEP 0x0040u   /* a reply without a request, or requests unanswered */
#define AUTH_CAV_UNCONFIRMED 0x0080u    /* success, but the client sent nothing after it */
#define AUTH_CAV_OPEN 0x0100u           /* reported while the connection was still open */
#define AUTH_CAV_CAPTURE 0x0200u        /* capture gaps, one direction, framing lost */
#define AUTH_CAV_TRUNCATED 0x0400u      /* more packets than kept: the end was not seen */
#define AUTH_CAV_NO_ACCEPT 0x0800u      /* no SERVICE_ACCEPT found */
#define AUTH_CAV_UNKNOWN_ALGS 0x1000u   /* cipher or MAC of unknown sizes */

#define AUTH_MAX_FAILURE_TIMES 16

struct auth_inference {
	enum auth_result result;
	enum auth_method method;
	enum auth_confidence confidence;
	uint32_t failures;    /* failed attempts before the result */
	uint32_t caveats;     /* AUTH_CAV_* */
	uint64_t t_result;    /* capture time of USERAUTH_SUCCESS, or of the last failure */
	uint32_t nfail_times; /* capture times of the failures (first AUTH_MAX_FAILURE_TIMES) */
	uint64_t fail_times[AUTH_MAX_FAILURE_TIMES];
};

/* auth_infer fills *out for flow f whose SSH client is TCP direction c. */
void auth_infer(const struct flow *f, int c, struct auth_inference *out);

/* Names for the record (static strings): ssh.auth.result, method, confidence. */
const char *auth_result_name(enum auth_result r);
const char *auth_method_name(enum auth_method m);
const char *auth_confidence_name(enum auth_confidence c);
/* auth_caveat_name: the name of one AUTH_CAV_* bit, NULL for others. */
const char *auth_caveat_name(uint32_t bit);

/* ssh.session: what happened after NEWKEYS, in both directions. */
struct auth_session {
	uint64_t duration_us;              /* from the later NEWKEYS to the close or last packet */
	uint32_t packets_c2s, packets_s2c; /* TCP segments with data */
	uint64_t bytes_c2s, bytes_s2c;
	int framed;                                /* ssh_packets_* are known */
	uint32_t ssh_packets_c2s, ssh_packets_s2c; /* SSH packets framed (the first ones) */
	const char *kind;                          /* "interactive", "bulk", "brief", "mixed" */
	int open;                                  /* reported before the connection closed */
};

/* auth_session fills *s; 0 when the flow never reached NEWKEYS both ways. */
int auth_session(const struct flow *f, int c, struct auth_session *s);

/* The guess table: per client address, the recent failed attempts. */
struct auth_guess;

/*
 * auth_guess_new: a table for at most max_clients addresses, window_s
 * seconds, threshold attempts (clamped to 1..64). NULL on OOM.
 */
struct auth_guess *auth_guess_new(uint32_t max_clients, uint32_t window_s, uint32_t threshold);
void auth_guess_free(struct auth_guess *g);

/* What the table says about one client address after a connection is added. */
struct auth_guess_view {
	uint32_t attempts;    /* failed attempts within the window (at most 64) */
	uint32_t connections; /* distinct connections they came from */
	uint32_t window_s, threshold;
	int capped; /* more attempts in the window than remembered */
};

/*
 * auth_guess_add records the failed attempts of one connection (flow_id)
 * from client address addr (16 bytes, family 4 or 6) and fills *view.
 * Returns 1 when attempts reach the threshold, else 0.
 */
int auth_guess_add(struct auth_guess *g, int family, const uint8_t addr[16], uint64_t flow_id,
                   const struct auth_inference *a, uint64_t now_us, struct auth_guess_view *view);

#endif
