/*
 * limits.h: every tunable limit of kexwatch, in one place (p0f's config.h).
 *
 * Each limit has its default, the reason for it, what it costs and the
 * module that enforces it (limits.c's table; --list-limits and
 * docs/limits.md name it, and docs.limits checks they agree). All of them
 * are settable on the command line (app/kexwatch.c, --limit NAME=VALUE).
 * Memory per flow: about 2.8 KiB of fixed state (struct flow, 624 bytes of it
 * the sizes of the first SSH_ENC_UNITS encrypted packets each way), plus, only
 * while a handshake is in clear text, up to stream_buf bytes per direction
 * for an SSH packet that spans segments and up to ooo_bytes per direction of
 * out-of-order segments. Once both sides sent NEWKEYS the buffers are freed.
 * The facts kept (banners, KEXINITs, HASSH strings) take 4 KiB chunks
 * (flowmem.h). Worst case per flow, past those facts:
 * 2.8 KiB + 2 * (stream_buf + ooo_bytes).
 */
#ifndef KW_LIMITS_H
#define KW_LIMITS_H

#include <stdint.h>

struct kw_limits {
	/* Flows tracked at once; the least recently active is evicted (and
	 * reported) beyond it. 2.6 KiB each when idle: 65536 flows = 170 MiB,
	 * plus 72 bytes per hash bucket (the table and the set of recently
	 * evicted connections whose later packets are only counted). */
	uint32_t max_flows;
	/* Bytes of one unfinished SSH record buffered per direction. OpenSSH
	 * accepts packets up to 256 KiB (PACKET_MAX_SIZE); a KEXINIT is usually
	 * 1-2 KiB and a KEX reply with certificates a few KiB. */
	uint32_t stream_buf;
	/* Out-of-order segments kept per direction, and their bytes. */
	uint32_t ooo_segments;
	uint32_t ooo_bytes;
	/* Identification line length. RFC 4253 4.2 allows 255 bytes; OpenSSH
	 * reads up to 8 KiB, so longer is an anomaly and parsing stops. */
	uint32_t banner_max;
	/* Lines a server may send before its identification line (RFC 4253
	 * 4.2); OpenSSH's client gives up after 1024. */
	uint32_t prebanner_lines;
	/* Largest SSH packet_length accepted in clear text (RFC 4253 6.1
	 * requires 35000; OpenSSH allows 256 KiB). */
	uint32_t max_packet;
	/* Longest name-list kept (RFC 4251 5); longer is an anomaly. */
	uint32_t namelist_max;
	/* Capture-time timeouts, in milliseconds. */
	uint32_t syn_timeout_ms;        /* unanswered SYN (Linux gives up at ~127 s) */
	uint32_t handshake_timeout_ms;  /* idle before NEWKEYS */
	uint32_t idle_timeout_ms;       /* idle after NEWKEYS */
	uint32_t close_linger_ms;       /* after FIN/RST, for retransmissions */
	uint32_t established_report_ms; /* report this long after NEWKEYS */
	/* IP fragment reassembly: datagrams in progress and their timeout. */
	uint32_t frag_max;
	uint32_t frag_timeout_ms;
	/* Password guessing (verdict/auth.c, diagnosis auth_guessing): failed
	 * authentication attempts from one client address within
	 * auth_window_s seconds that raise it (at most 64 are remembered per
	 * address, so a higher threshold acts as 64), and how many client
	 * addresses are remembered (least recently seen forgotten first;
	 * about 1.1 KiB each: 4096 = 4.5 MiB). */
	uint32_t auth_window_s;
	uint32_t auth_threshold;
	uint32_t auth_clients;
	/* Scanners (verdict/scan.c, diagnosis scanner_probe): handshakes
	 * abandoned before NEWKEYS from one client address within
	 * scan_window_s seconds, scan_threshold of them with different
	 * offers marking the address as probing (at most 32 are remembered
	 * per address), and how many addresses are remembered (least recently
	 * seen forgotten first; about 0.9 KiB each: 4096 = 3.6 MiB). */
	uint32_t scan_window_s;
	uint32_t scan_threshold;
	uint32_t scan_clients;
	/* Host-key store (--state, state/hoststore.h): keys held in memory
	 * (about 400 bytes each: 100000 = 40 MB), and observations queued for
	 * its writer thread (about 500 bytes each, allocated at open: 8192 =
	 * 4 MB; rides out a disk stalled for a few seconds). */
	uint32_t hostkey_cache;
	uint32_t hostkey_queue;
	/* The global memory budget in MiB (Suricata's stream memcap): the
	 * per-flow buffers of every flow are drawn from it (dissect/budget.h);
	 * a flow that would go over it stops buffering and is marked
	 * memcap_reached, the process goes on. The default is lowered to half
	 * the cgroup's memory.max when that is less (app/kexwatch.c). */
	uint32_t memory;
};

/* The host-key store's own defaults (app/hostkeys.c checks that they agree). */
#define KW_HOSTKEY_CACHE_DEFAULT 100000u
#define KW_HOSTKEY_QUEUE_DEFAULT 8192u

/* The global memory budget's default, in MiB. */
#define KW_MEMORY_DEFAULT_MIB 256u

#define KW_LIMITS_DEFAULT                                                                          \
	{                                                                                          \
		.max_flows = 65536, .stream_buf = 262144 + 64, .ooo_segments = 64,                 \
		.ooo_bytes = 262144, .banner_max = 8192, .prebanner_lines = 1024,                  \
		.max_packet = 262144, .namelist_max = 65536, .syn_timeout_ms = 130000,             \
		.handshake_timeout_ms = 300000, .idle_timeout_ms = 600000,                         \
		.close_linger_ms = 5000, .established_report_ms = 60000, .frag_max = 1024,         \
		.frag_timeout_ms = 30000, .auth_window_s = 60, .auth_threshold = 10,               \
		.auth_clients = 4096, .scan_window_s = 60, .scan_threshold = 4,                    \
		.scan_clients = 4096, .hostkey_cache = KW_HOSTKEY_CACHE_DEFAULT,                   \
		.hostkey_queue = KW_HOSTKEY_QUEUE_DEFAULT, .memory = KW_MEMORY_DEFAULT_MIB,        \
	}

/*
 * kw_limits_set parses "NAME=VALUE" and sets that limit. Returns 0, or
 * KW_ERR_MALFORMED for an unknown name or a value that is not a positive
 * integer. kw_limits_describe writes the names, defaults and reasons.
 */
int kw_limits_set(struct kw_limits *l, const char *assignment);
void kw_limits_list(char *buf, unsigned long size, const struct kw_limits *l);

#endif
