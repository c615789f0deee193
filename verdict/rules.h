/*
 * rules.h: the rule table's summary templates and hint variants (internal
 * to verdict/). The templates are macros so that a check formats its
 * summary with a literal the compiler checks, and the table (rules.c)
 * shows the same text for --explain and the documentation.
 */
#ifndef KW_RULES_H
#define KW_RULES_H

#define SUM_TCP_NO_ANSWER "The server never answered %u SYN%s."
#define SUM_TCP_REFUSED "The server's address answered the SYN with a reset."
#define SUM_ICMP_UNREACHABLE "An ICMP%s destination-unreachable (code %u) quoted this connection."
#define SUM_CLOSED_BEFORE_SERVER_BANNER                                                            \
	"The %s closed the connection (%s) %.0f ms after it opened, before the server sent its "   \
	"SSH identification line."
#define SUM_BANNER_TIMEOUT                                                                         \
	"The server closed the connection after the client had been silent for %.1f s."
#define SUM_BANNER_INVALID                                                                         \
	"The %s's first line is not an SSH identification line (RFC 4253 section 4.2)."
#define SUM_PROTOCOL_VERSION_MISMATCH "The %s speaks SSH-1 only and the %s SSH-2."
#define SUM_CLOSED_AFTER_BANNER                                                                    \
	"The %s closed the connection (%s) after the identification lines, before the key "        \
	"exchange started."
#define SUM_NO_COMMON_ALGORITHM "No common %s: the client and the server offer nothing in common."
#define SUM_WEAK_ALGORITHM "The connection uses %s (%s): %s."
#define SUM_NON_PQ_KEX "The key exchange %s is not post-quantum."
#define SUM_TERRAPIN_EXPOSED                                                                       \
	"%s with %s is open to the Terrapin prefix-truncation attack, and strict key exchange "    \
	"is not on for both sides."
#define SUM_CLOSED_DURING_KEX                                                                      \
	"The %s closed the connection (%s) during the key exchange, after the algorithms were "    \
	"agreed."
/* kex_stalled and mtu_blackhole_suspected: seen at the sender (a segment
 * retransmitted) or at the receiver (a hole it never acknowledged). */
#define SUM_STALL_RETRANSMITTED                                                                    \
	"A %u-byte %s segment of the key exchange was retransmitted and never acknowledged%s."
#define SUM_STALL_HOLE                                                                             \
	"%u bytes of the %s's key exchange never arrived (the receiver never acknowledged them) "  \
	"while later segments of up to %u bytes did."
#define SUM_ICMP_FRAG_NEEDED                                                                       \
	"A router reported that a packet of this connection was too big for the next hop (MTU "    \
	"%u)."
#define SUM_IP_FRAGMENTED "%u IP fragments carried this connection's packets."
#define SUM_DISCONNECT_MESSAGE "The %s sent SSH_MSG_DISCONNECT %s: \"%s\"."
#define SUM_CAPTURE_INCOMPLETE                                                                     \
	"The capture does not hold the whole connection, so conclusions about it are limited "     \
	"to what was seen."
#define SUM_ANALYSIS_LIMITED                                                                       \
	"The limit %s (%llu) stopped the analysis of the %s's side during %s: what happened "      \
	"after that is not known."
#define SUM_HOST_KEY_CHANGED                                                                       \
	"%s presented a different %s host key (%s) than the one remembered (%s, last seen %s "     \
	"UTC)%s."
#define SUM_HOST_KEY_SHARED                                                                        \
	"The %s host key %s is presented by %u server addresses (more than %u): cloned machines "  \
	"or a key copied between hosts."
#define SUM_AUTH_GUESSING "%s%u failed logins from %s within %u s, over %u connections."
#define SUM_SCANNER_PROBE                                                                          \
	"A scanner or a health check probed the server (%s) and ended the connection on purpose."

/* Hint variants, by code: the index into the rule's hints. */
enum {
	HINT_CBSB_DROPPED,     /* closed_before_server_banner: sshd or a filter dropped it */
	HINT_CBSB_MAXSTARTUPS, /* ... the server wrote "Exceeded MaxStartups" */
	HINT_CBSB_PENALTY,     /* ... "Not allowed at this time" (OpenSSH 9.8+) */
	HINT_CBSB_RESET,       /* ... a reset without text */
	HINT_CBSB_CLIENT,      /* ... the client gave up first */
};
enum {
	HINT_BANNER_INVALID_CLIENT, /* banner_invalid: the client's line */
	HINT_BANNER_INVALID_SERVER, /* ... the server's */
};
enum {
	HINT_CAB_SERVER, /* closed_after_banner: the server closed */
	HINT_CAB_CLIENT, /* ... the client */
};
enum {
	HINT_STALL_RETRANSMITTED, /* kex_stalled: retransmitted, never acknowledged */
	HINT_STALL_HOLE,          /* ... a hole at the receiver */
};

#endif
