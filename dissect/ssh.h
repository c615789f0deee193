/*
 * ssh.h: the SSH stream parser, fed the ordered bytes of each direction.
 *
 * Directions are TCP directions: 0 is what the TCP initiator sent, 1 what the
 * responder sent. The parser never learns segment boundaries: it is fed
 * whatever bytes arrive, in order, and gives the same result for any split.
 * It reads the identification exchange (RFC 4253 section 4.2) and the binary
 * packets before NEWKEYS (section 6): KEXINIT, the key-exchange messages
 * (30-34), DISCONNECT, IGNORE, DEBUG, NEWKEYS. After NEWKEYS in a direction it
 * reads no message: where the negotiated algorithms leave packet_length in
 * clear (an encrypt-then-MAC MAC, AES-GCM, cipher "none") it frames the first
 * SSH_ENC_UNITS encrypted packets exactly and keeps their lengths and times;
 * otherwise (chacha20-poly1305, other MACs) it keeps the sizes and times of
 * the first SSH_ENC_UNITS TCP segments instead (ssh_stream_segment). It
 * counts bytes and segments either way. SSH roles come from the protocol (who
 * sent the KEX init and who the KEX reply), never from ports. Not
 * responsible for TCP (tcp.c) or for what the facts mean (verdict/auth.c).
 */
#ifndef KW_SSH_H
#define KW_SSH_H

#include <stddef.h>
#include <stdint.h>

#include "kex.h"
#include "budget.h"
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
#define SSH_ANOM_BANNER_NUL 0x0001u     /* NUL byte in a line (RFC 4253 4.2) */
#define SSH_ANOM_BANNER_LONG 0x0002u    /* line over banner_max */
#define SSH_ANOM_BANNER_NO_CR 0x0004u   /* line ended by LF alone */
#define SSH_ANOM_BANNER_INVALID 0x0008u /* first line is not SSH- (client) */
#define SSH_ANOM_PREBANNER_MANY 0x0010u /* more lines than prebanner_lines */
#define SSH_ANOM_PACKET_LENGTH 0x0020u  /* packet_length out of range (RFC 4253 6.1) */
#define SSH_ANOM_PADDING 0x0040u        /* padding_length invalid (RFC 4253 6) */
#define SSH_ANOM_KEXINIT 0x0080u        /* KEXINIT malformed */
#define SSH_ANOM_KEXINIT_LIMIT 0x0100u  /* a name-list over namelist_max */
#define SSH_ANOM_KEX_MSG 0x0200u        /* a KEX message malformed */
#define SSH_ANOM_UNEXPECTED_MSG 0x0400u /* a message not allowed before NEWKEYS */
#define SSH_ANOM_GAP 0x0800u            /* bytes lost before NEWKEYS: parsing stopped */
#define SSH_ANOM_BUFFER 0x1000u         /* a record over stream_buf: parsing stopped */
#define SSH_ANOM_KEXINIT_REPEAT 0x2000u /* a second KEXINIT before NEWKEYS */
#define SSH_ANOM_BANNER_CHARS 0x4000u   /* non-printable bytes in the banner */
#define SSH_ANOM_NOMEM 0x8000u          /* allocation failed: parsing stopped */
/* Added for ssh.c: a DISCONNECT too short for its fields (RFC 4253 11.1). */
#define SSH_ANOM_MSG_MALFORMED 0x10000u
/* An encrypted packet_length read in clear (EtM, AES-GCM) that cannot be one
 * (RFC 4253 6: a multiple of the block size, at least one block, at most
 * max_packet): framing stopped, the direction only counts. */
#define SSH_ANOM_ENC_LENGTH 0x20000u
/* A packet_length the protocol allows (at most SSH_PACKET_MAX_PROTO) but
 * over the max_packet limit: parsing stopped, the input is not at fault. */
#define SSH_ANOM_PACKET_LIMIT 0x40000u
/* The global memory budget (dissect/budget.h) refused a buffer: parsing stopped. */
#define SSH_ANOM_MEMCAP 0x80000u
/* Anomalies that say a limit of kexwatch, not the input, stopped the
 * analysis of a direction: what follows is unknown, not wrong. */
#define SSH_ANOM_LIMITS                                                                            \
	(SSH_ANOM_BUFFER | SSH_ANOM_PACKET_LIMIT | SSH_ANOM_KEXINIT_LIMIT | SSH_ANOM_NOMEM |       \
	 SSH_ANOM_MEMCAP)

/* The largest packet_length real implementations send (OpenSSH's
 * PACKET_MAX_SIZE, 256 KiB): a max_packet below it is a limit, a length
 * above it (or above max_packet, when higher) is malformed input. */
#define SSH_PACKET_MAX_PROTO 262144u

/* Encrypted packets (or TCP segments) whose sizes are kept per direction
 * after NEWKEYS: enough for the user-authentication exchange and the start
 * of the session (OpenSSH allows 6 attempts by default, 3 packets each).
 * Costs 8 bytes each per direction. */
#define SSH_ENC_UNITS 32
/* A segment at least this long after the previous one of its direction is
 * "paced" (keystrokes typed by a person are 50-500 ms apart). */
#define SSH_ENC_PACE_US 30000u
/* A segment this small or smaller is "small" (one keystroke is 36-100 bytes). */
#define SSH_ENC_SMALL 128u

/* What the sizes after NEWKEYS are: SSH packet_length values (exact
 * framing) or TCP segment payload sizes (the fallback). */
enum ssh_enc_kind {
	SSH_ENC_PACKETS,
	SSH_ENC_SEGMENTS,
};

/* Compression of a direction (RFC 4253 6.2, OpenSSH PROTOCOL 2.2). */
enum ssh_enc_comp {
	SSH_COMP_NONE,
	SSH_COMP_DELAYED, /* zlib@openssh.com: from USERAUTH_SUCCESS on */
	SSH_COMP_ZLIB,    /* zlib: from NEWKEYS on */
	SSH_COMP_UNKNOWN, /* not negotiated (no KEXINITs) or another name */
};

/*
 * One direction after NEWKEYS. The packet layout comes from the negotiated
 * algorithms of that direction (RFC 4253 6; OpenSSH PROTOCOL 1.5 for EtM,
 * RFC 5647 / PROTOCOL for AES-GCM, PROTOCOL.chacha20poly1305): each packet
 * is uint32 packet_length, packet_length bytes (padding_length, payload,
 * padding: a multiple of block, counting the length field unless aad), then
 * tag bytes of MAC or AEAD tag.
 */
struct ssh_enc {
	uint8_t known;     /* block and tag are known (algorithms negotiated and known) */
	uint8_t framed;    /* packet_length travels in clear: exact framing */
	uint8_t framing;   /* framing now: the direction wants its bytes */
	uint8_t aad;       /* 4 when packet_length is outside the padded part (EtM, AEAD) */
	uint8_t block;     /* cipher block size, at least 8 */
	uint8_t tag;       /* MAC or AEAD tag bytes after each packet */
	uint8_t comp;      /* enum ssh_enc_comp */
	uint8_t kind;      /* enum ssh_enc_kind of units[] */
	uint8_t sync_lost; /* framing stopped early (gap, bad length, count instead of push) */
	uint8_t hdr_len;   /* bytes of the next packet_length received so far */
	uint8_t hdr[4];
	uint32_t need;     /* bytes of the current packet (and tag) still to come */
	uint32_t packets;  /* SSH packets framed */
	uint32_t segments; /* TCP segments that began after NEWKEYS */
	uint32_t small;    /* of them, at most SSH_ENC_SMALL bytes */
	uint32_t paced;    /* of them, SSH_ENC_PACE_US or more after the previous one */
	uint64_t t_last;   /* capture time of the last of them */
	uint32_t nunits;   /* units kept, at most SSH_ENC_UNITS */
	uint32_t unit_len[SSH_ENC_UNITS]; /* packet_length, or segment payload bytes */
	uint32_t unit_dt[SSH_ENC_UNITS];  /* microseconds after t_newkeys (saturated) */
};

/* How far one direction's parser got. */
enum ssh_state {
	SSH_ST_LINES,     /* reading lines until "SSH-" */
	SSH_ST_PACKETS,   /* binary packets in clear text */
	SSH_ST_V1,        /* SSH-1 packets: the first one is read (host key, roles) */
	SSH_ST_ENCRYPTED, /* after NEWKEYS: framing (see ssh_enc) or counting */
	SSH_ST_NOT_SSH,   /* first line was not SSH: counting only */
	SSH_ST_STOPPED,   /* lost sync (gap, limit, malformed): counting only */
	SSH_ST_RESYNC,    /* began mid-stream: looking for the binary packet framing */
};

/* Bytes a direction that began mid-stream is searched for the packet framing
 * (ssh_stream_midstream) before it only counts: a KEX reply with a host
 * certificate fits, and a long encrypted session costs no more. */
#define SSH_RESYNC_MAX 32768u

/* Bytes kept of the start of each direction (banner_invalid evidence). */
#define SSH_FIRST_BYTES 64

struct ssh_dir {
	/* Parser state (private to ssh.c). */
	enum ssh_state state;
	uint8_t *buf; /* unconsumed bytes of an unfinished line or packet */
	uint32_t buf_len, buf_cap;
	uint32_t lines; /* lines read before the identification line */
	/* Leading bytes of the unfinished line already found to be text by
	 * ssh_line_responder_gives_up: each segment is looked at once, not the
	 * whole line again (8 KiB lines sent a byte a segment). */
	uint32_t line_checked;
	uint32_t resync_at; /* SSH_ST_RESYNC: offsets of buf below this are ruled out */

	/* Facts. Times are capture time in microseconds, 0 = never. */
	uint8_t *banner; /* identification line, raw, without CR LF; in conn->store */
	uint32_t banner_len;
	uint8_t *pre; /* lines before it, raw, each ended by '\n'; owned */
	uint32_t pre_len;
	uint32_t pre_lines;
	uint8_t *first_bytes; /* the first bytes of the direction (banner_invalid) */
	uint32_t first_len;   /* up to SSH_FIRST_BYTES */
	/* where first_bytes points (ssh.c): a copy of the conn points its own
	 * (flow_handoff) */
	uint8_t first_store[SSH_FIRST_BYTES];
	struct kex_init *kexinit; /* first KEXINIT, in conn->store; NULL before */
	char hassh[33];           /* HASSH or HASSHServer of kexinit, by role */
	char *hassh_str;          /* its algorithm string, in conn->store; NULL when not computed */
	char *hassh_room;         /* the room for it (private to ssh.c) */
	uint32_t hassh_cap;
	uint8_t hassh_as; /* role it was computed for: 1 client, 2 server, 0 none */
	uint64_t t_first, t_banner, t_kexinit, t_kexmsg, t_newkeys;
	uint32_t kexmsg_mask;   /* bit (msg - 30) for each KEX message 30..34 seen */
	uint32_t kexmsg_len;    /* packet_length of the first KEX init/reply message */
	uint32_t clear_packets; /* binary packets parsed before NEWKEYS */
	uint8_t last_msg;       /* last message number parsed, 0 = none */
	uint8_t disconnect_seen;
	uint32_t disconnect_reason;
	uint8_t *disconnect_desc; /* raw description bytes; in conn->store */
	uint32_t disconnect_desc_len;
	uint64_t bytes;     /* all stream bytes pushed */
	uint64_t enc_bytes; /* bytes after NEWKEYS */
	uint32_t anomalies; /* SSH_ANOM_* */
	struct ssh_enc enc; /* after NEWKEYS */
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
	struct kw_budget *budget;       /* the global memory budget, or NULL; borrowed */
	uint64_t mem;                   /* bytes this conn holds charged to budget */
	struct kex_ctx *kex;            /* borrowed: the packet loop's digest state, or NULL */
	/* Banners, KEXINITs, HASSH strings, DISCONNECT text: freed with the conn.
	 * store.pool and store.budget may be set like kex (the packet loop's
	 * spare chunks; the budget its chunks are charged to, flowmem.h). */
	struct flowmem store;
	int client_dir; /* TCP direction of the SSH client, -1 unknown */
	enum {
		SSH_ROLE_UNKNOWN,
		SSH_ROLE_KEX_MESSAGES, /* who sent the KEX init / KEX reply */
		SSH_ROLE_KEXINIT,      /* ext-info-c / kex-strict-c markers */
		SSH_ROLE_ASSUMED,      /* nothing told: the TCP initiator */
	} role_source;
	uint8_t negotiated_ok; /* both KEXINITs parsed: neg is valid */
	int neg_client_dir;    /* client_dir neg was computed for (private to ssh.c) */
	struct kex_negotiated neg;
	struct ssh_hostkey_info hostkey;
	struct ssh_gex gex;
};

/*
 * ssh_conn_init zeroes conn and borrows limits for its lifetime. conn->kex
 * starts NULL; the owner of the packet loop may then set it to its
 * thread's kex_ctx (kex.h), which must outlive the conn.
 */
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

/*
 * ssh_stream_midstream tells the parser that dir's bytes begin in the middle
 * of its stream (no SYN, and not an identification line): before NEWKEYS it
 * resynchronises on the binary packet framing (RFC 4253 section 6), taking a
 * plausible packet_length / padding_length with a known message number only
 * when the next packet follows it as plausibly, so a mid-stream capture
 * still yields the KEX reply's host key. Nothing found in SSH_RESYNC_MAX
 * bytes (encrypted data): the direction only counts. The responder's
 * first bytes a text line are read as lines (a server's pre-banner lines).
 * Call it before any byte of dir is pushed; later it does nothing.
 */
void ssh_stream_midstream(struct ssh_conn *conn, int dir);

/* ssh_stream_gap tells the parser that bytes of dir were lost (capture gap). */
void ssh_stream_gap(struct ssh_conn *conn, int dir);

/*
 * ssh_dir_wants_bytes: false once dir only counts (encrypted and not, or no
 * longer, framed; not SSH; stopped), so the TCP layer may skip reassembly
 * and just add byte counts with ssh_stream_count. Counting bytes of a
 * direction that still wanted them (the caller chose not to parse) stops its
 * parser, or its framing, without an anomaly.
 */
int ssh_dir_wants_bytes(const struct ssh_conn *conn, int dir);
void ssh_stream_count(struct ssh_conn *conn, int dir, size_t n);

/*
 * ssh_stream_segment tells the parser that a TCP segment carrying n new
 * bytes of dir arrived at ts_us (retransmissions excluded), before those
 * bytes are pushed or counted. Segments that begin after the direction's
 * NEWKEYS are counted, and their sizes kept when the direction is not
 * framed (the segment_sizes method of verdict/auth.c).
 */
void ssh_stream_segment(struct ssh_conn *conn, int dir, size_t n, uint64_t ts_us);

/*
 * ssh_enc_packet_len: the packet_length of a payload of n bytes in a
 * direction laid out as e says, with the least padding (RFC 4253 6: at
 * least 4 bytes, up to a multiple of the block size; OpenSSH and dropbear
 * pad no more). 0 when e is not known.
 */
uint32_t ssh_enc_packet_len(const struct ssh_enc *e, uint32_t n);

/* ssh_conn_is_ssh: some direction sent an identification line. */
int ssh_conn_is_ssh(const struct ssh_conn *conn);

/*
 * The fields of an identification line, RFC 4253 section 4.2:
 * "SSH-protoversion-softwareversion SP comments". Pointers into the line;
 * software is NULL when no '-' follows the protoversion (then proto is the
 * rest of the line), comments NULL when no space follows the software or
 * nothing follows the space.
 */
struct ssh_banner_fields {
	const uint8_t *proto, *software, *comments;
	size_t proto_len, software_len, comments_len;
};

/*
 * ssh_banner_split borrows the fields of the line b[0..n) (a banner as kept,
 * without CR LF) into *out: 0, or -1 when it does not begin "SSH-" (*out
 * then all NULL). The one place that cuts a banner into its fields (the
 * record, the summary, the inventory and the parser use it).
 */
int ssh_banner_split(const uint8_t *b, size_t n, struct ssh_banner_fields *out);

#endif
