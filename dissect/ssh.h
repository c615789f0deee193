/*
 * ssh.h: the SSH stream parser, fed the ordered bytes of each direction.
 *
 * Directions are TCP directions: 0 is what the TCP initiator sent, 1 what the
 * responder sent. The parser never learns segment boundaries: it is fed
 * whatever bytes arrive, in order, and gives the same result for any split.
 * It reads the identification exchange (RFC 4253 section 4.2) and the binary
 * packets before NEWKEYS (section 6): KEXINIT, the key-exchange messages
 * (30-34), DISCONNECT, IGNORE, DEBUG, NEWKEYS. After NEWKEYS in a direction it
 * only counts bytes. SSH roles come from the protocol (who sent the KEX init
 * and who the KEX reply), never from ports. Not responsible for TCP
 * (tcp.c) or for what the facts mean (report/).
 */
#ifndef KW_SSH_H
#define KW_SSH_H

#include <stddef.h>
#include <stdint.h>

#include "kex.h"
#include "limits.h"

/* SSH message numbers (RFC 4250 section 4.1). */
#define SSH_MSG_DISCONNECT 1
#define SSH_MSG_IGNORE 2
#define SSH_MSG_UNIMPLEMENTED 3
#define SSH_MSG_DEBUG 4
#define SSH_MSG_SERVICE_REQUEST 5
#define SSH_MSG_EXT_INFO 7
#define SSH_MSG_KEXINIT 20
#define SSH_MSG_NEWKEYS 21
#define SSH_MSG_KEX_30 30 /* KEXDH_INIT, KEX_ECDH_INIT, KEX_DH_GEX_REQUEST_OLD: client */
#define SSH_MSG_KEX_31 31 /* KEXDH_REPLY, KEX_ECDH_REPLY, KEX_DH_GEX_GROUP: server */
#define SSH_MSG_KEX_DH_GEX_INIT 32
#define SSH_MSG_KEX_DH_GEX_REPLY 33
#define SSH_MSG_KEX_DH_GEX_REQUEST 34

/* Per-direction anomalies (bits of ssh_dir.anomalies). */
#define SSH_ANOM_BANNER_NUL 0x0001u      /* NUL byte in a line (RFC 4253 4.2) */
#define SSH_ANOM_BANNER_LONG 0x0002u     /* line over banner_max */
#define SSH_ANOM_BANNER_NO_CR 0x0004u    /* line ended by LF alone */
#define SSH_ANOM_BANNER_INVALID 0x0008u  /* first line is not SSH- (client) */
#define SSH_ANOM_PREBANNER_MANY 0x0010u  /* more lines than prebanner_lines */
#define SSH_ANOM_PACKET_LENGTH 0x0020u   /* packet_length out of range (RFC 4253 6.1) */
#define SSH_ANOM_PADDING 0x0040u         /* padding_length invalid (RFC 4253 6) */
#define SSH_ANOM_KEXINIT 0x0080u         /* KEXINIT malformed */
#define SSH_ANOM_KEXINIT_LIMIT 0x0100u   /* a name-list over namelist_max */
#define SSH_ANOM_KEX_MSG 0x0200u         /* a KEX message malformed */
#define SSH_ANOM_UNEXPECTED_MSG 0x0400u  /* a message not allowed before NEWKEYS */
#define SSH_ANOM_GAP 0x0800u             /* bytes lost before NEWKEYS: parsing stopped */
#define SSH_ANOM_BUFFER 0x1000u          /* a record over stream_buf: parsing stopped */
#define SSH_ANOM_KEXINIT_REPEAT 0x2000u  /* a second KEXINIT before NEWKEYS */
#define SSH_ANOM_BANNER_CHARS 0x4000u    /* non-printable bytes in the banner */
#define SSH_ANOM_NOMEM 0x8000u           /* allocation failed: parsing stopped */
/* Added for ssh.c: a DISCONNECT too short for its fields (RFC 4253 11.1). */
#define SSH_ANOM_MSG_MALFORMED 0x10000u

/* How far one direction's parser got. */
enum ssh_state {
	SSH_ST_LINES,     /* reading lines until "SSH-" */
	SSH_ST_PACKETS,   /* binary packets in clear text */
	SSH_ST_V1,        /* SSH-1 packets: the first one is read (host key, roles) */
	SSH_ST_ENCRYPTED, /* after NEWKEYS: counting only */
	SSH_ST_NOT_SSH,   /* first line was not SSH: counting only */
	SSH_ST_STOPPED,   /* lost sync (gap, limit, malformed): counting only */
};

struct ssh_dir {
	/* Parser state (private to ssh.c). */
	enum ssh_state state;
	uint8_t *buf; /* unconsumed bytes of an unfinished line or packet */
	uint32_t buf_len, buf_cap;
	uint32_t lines; /* lines read before the identification line */

	/* Facts. Times are capture time in microseconds, 0 = never. */
	uint8_t *banner; /* identification line, raw, without CR LF; owned */
	uint32_t banner_len;
	uint8_t *pre; /* lines before it, raw, each ended by '\n'; owned */
	uint32_t pre_len;
	uint32_t pre_lines;
	uint8_t *first_bytes; /* the first bytes of the direction (banner_invalid) */
	uint32_t first_len;   /* up to 64 */
	struct kex_init *kexinit; /* first KEXINIT, owned; NULL before */
	char hassh[33];           /* HASSH or HASSHServer of kexinit, by role */
	char *hassh_str;          /* its algorithm string; owned */
	uint64_t t_first, t_banner, t_kexinit, t_kexmsg, t_newkeys;
	uint32_t kexmsg_mask;  /* bit (msg - 30) for each KEX message 30..34 seen */
	uint32_t kexmsg_len;   /* packet_length of the first KEX init/reply message */
	uint32_t clear_packets;   /* binary packets parsed before NEWKEYS */
	uint8_t last_msg;         /* last message number parsed, 0 = none */
	uint8_t disconnect_seen;
	uint32_t disconnect_reason;
	uint8_t *disconnect_desc; /* raw description bytes; owned */
	uint32_t disconnect_desc_len;
	uint64_t bytes;          /* all stream bytes pushed */
	uint64_t enc_bytes;      /* bytes after NEWKEYS */
	uint32_t anomalies;      /* SSH_ANOM_* */
};

struct ssh_hostkey_info {
	uint8_t present;
	uint8_t from_msg; /* 31 or 33 */
	struct kex_hostkey key;
};

struct ssh_gex {
	uint8_t present;
	uint32_t min, n, max; /* from GEX_REQUEST (n only for REQUEST_OLD) */
	uint32_t p_bits;      /* from GEX_GROUP */
};

struct ssh_conn {
	struct ssh_dir dir[2];
	const struct kw_limits *limits; /* borrowed, outlives the conn */
	int client_dir;                 /* TCP direction of the SSH client, -1 unknown */
	enum {
		SSH_ROLE_UNKNOWN,
		SSH_ROLE_KEX_MESSAGES, /* who sent the KEX init / KEX reply */
		SSH_ROLE_KEXINIT,      /* ext-info-c / kex-strict-c markers */
		SSH_ROLE_ASSUMED,      /* nothing told: the TCP initiator */
	} role_source;
	uint8_t negotiated_ok; /* both KEXINITs parsed: neg is valid */
	struct kex_negotiated neg;
	struct ssh_hostkey_info hostkey;
	struct ssh_gex gex;
};

/* ssh_conn_init zeroes conn and borrows limits for its lifetime. */
void ssh_conn_init(struct ssh_conn *conn, const struct kw_limits *limits);
/* ssh_conn_free releases everything conn owns; conn may be reused after init. */
void ssh_conn_free(struct ssh_conn *conn);

/*
 * ssh_stream_push feeds n in-order bytes of direction dir (0 or 1) seen at
 * capture time ts_us. Bytes are copied only when a line or packet is left
 * unfinished. Bad input never fails the call: it sets anomaly bits and the
 * direction may stop parsing. Returns 0, or KW_ERR_BUG for a bad dir.
 */
int ssh_stream_push(struct ssh_conn *conn, int dir, const uint8_t *p, size_t n, uint64_t ts_us);

/* ssh_stream_gap tells the parser that bytes of dir were lost (capture gap). */
void ssh_stream_gap(struct ssh_conn *conn, int dir);

/*
 * ssh_dir_wants_bytes: false once dir only counts (encrypted, not SSH,
 * stopped), so the TCP layer may skip reassembly and just add byte counts
 * with ssh_stream_count. Counting bytes of a direction that still wanted
 * them (the caller chose not to parse) stops its parser without an anomaly.
 */
int ssh_dir_wants_bytes(const struct ssh_conn *conn, int dir);
void ssh_stream_count(struct ssh_conn *conn, int dir, size_t n);

/* ssh_conn_is_ssh: some direction sent an identification line. */
int ssh_conn_is_ssh(const struct ssh_conn *conn);

#endif
