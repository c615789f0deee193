/*
 * limits.c: setting limits by name from the command line (see limits.h).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "limits.h"

/* A limit: its name, where it lives, the module that enforces it, what it bounds. */
struct limit_desc {
	const char *name;
	size_t off;
	const char *owner;
	const char *what;
};

#define L(field, owner, what)                                                                      \
	{                                                                                          \
#field, offsetof(struct kw_limits, field), owner, what                             \
	}
static const struct limit_desc limit_descs[] = {
    L(max_flows, "dissect/flow.c", "flows tracked at once; the least active is evicted beyond"),
    L(stream_buf, "dissect/ssh.c", "bytes of one unfinished SSH line or packet, per direction"),
    L(ooo_segments, "dissect/tcp.c", "out-of-order segments kept per direction"),
    L(ooo_bytes, "dissect/tcp.c", "bytes of out-of-order segments kept per direction"),
    L(banner_max, "dissect/ssh.c", "longest identification or pre-banner line"),
    L(prebanner_lines, "dissect/ssh.c", "lines a server may send before its identification line"),
    L(max_packet, "dissect/ssh.c", "largest clear-text SSH packet_length"),
    L(namelist_max, "dissect/kex.c", "longest KEXINIT name-list"),
    L(syn_timeout_ms, "dissect/flow.c", "an unanswered SYN is reported after this (ms)"),
    L(handshake_timeout_ms, "dissect/flow.c",
      "idle time before NEWKEYS after which a flow is reported (ms)"),
    L(idle_timeout_ms, "dissect/flow.c",
      "idle time after NEWKEYS after which a flow is forgotten (ms)"),
    L(close_linger_ms, "dissect/flow.c", "time kept after FIN/RST for stragglers (ms)"),
    L(established_report_ms, "dissect/flow.c",
      "an established session is reported this long after NEWKEYS (ms)"),
    L(frag_max, "dissect/decode.c", "IP datagrams in reassembly at once"),
    L(frag_timeout_ms, "dissect/decode.c", "an incomplete IP datagram is dropped after this (ms)"),
    L(auth_window_s, "verdict/auth.c", "window for counting failed logins per client address (s)"),
    L(auth_threshold, "verdict/auth.c",
      "failed logins within the window that raise auth_guessing (max 64)"),
    L(auth_clients, "verdict/auth.c", "client addresses remembered for auth_guessing"),
    L(scan_window_s, "verdict/scan.c",
      "window for counting abandoned handshakes per client address (s)"),
    L(scan_threshold, "verdict/scan.c",
      "abandoned handshakes with different offers that mark a scanner (2-32)"),
    L(scan_clients, "verdict/scan.c", "client addresses remembered for scanner_probe"),
    L(hostkey_cache, "state/hoststore.c", "--state: host keys held in memory"),
    L(hostkey_queue, "state/hoststore.c",
      "--state: host-key observations queued for the store's writer"),
    L(memory, "dissect/budget.c",
      "global budget for per-flow state and buffers (MiB; 512M, 2G accepted)"),
};
#undef L

int kw_limits_set(struct kw_limits *l, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	unsigned long long v;
	char *end;

	if (eq == NULL)
		return KW_ERR_MALFORMED;
	for (size_t i = 0; i < sizeof(limit_descs) / sizeof(limit_descs[0]); i++) {
		const struct limit_desc *d = &limit_descs[i];
		if (strlen(d->name) != (size_t)(eq - assignment) ||
		    strncmp(d->name, assignment, (size_t)(eq - assignment)) != 0)
			continue;
		errno = 0;
		v = strtoull(eq + 1, &end, 10);
		/* The memory budget is in MiB, and may say so (M) or give GiB (G). */
		if (d->off == offsetof(struct kw_limits, memory) && errno == 0 && end != eq + 1 &&
		    (end[0] == 'M' || end[0] == 'G') && end[1] == '\0') {
			if (end[0] == 'G')
				v = v > UINT32_MAX / 1024 ? (unsigned long long)UINT32_MAX + 1
				                          : v * 1024;
			end++;
		}
		if (errno != 0 || end == eq + 1 || *end != '\0' || v == 0 || v > UINT32_MAX ||
		    eq[1] == '-')
			return KW_ERR_MALFORMED;
		*(uint32_t *)((char *)l + d->off) = (uint32_t)v;
		return KW_OK;
	}
	return KW_ERR_MALFORMED;
}

void kw_limits_list(char *buf, unsigned long size, const struct kw_limits *l)
{
	size_t used = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(limit_descs) / sizeof(limit_descs[0]) && used < size; i++) {
		const struct limit_desc *d = &limit_descs[i];
		int n = snprintf(buf + used, size - used, "  %-22s %10u  %s [%s]\n", d->name,
		                 *(const uint32_t *)((const char *)l + d->off), d->what, d->owner);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
