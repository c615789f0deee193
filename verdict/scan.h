/*
 * scan.h: the per-source memory of connections abandoned in the handshake
 * (internal to verdict/), behind the scanner_probe diagnosis.
 *
 * A scanner (ssh-audit, nmap's ssh scripts, ssh-keyscan) opens several short
 * connections from one address within seconds, each closed before NEWKEYS,
 * and varies its KEXINIT between them to see what the server accepts; a
 * person's client retrying sends the same KEXINIT every time. The table
 * keeps, per client address, the latest such connections with the hash of
 * the client's offer and whether the connection was itself recognised as a
 * probe, over a sliding window; bounded in addresses (least recently seen
 * forgotten first) and in connections per address.
 */
#ifndef KW_SCAN_H
#define KW_SCAN_H

#include <stdint.h>

/* Connections remembered per address: enough for any threshold accepted. */
#define SCAN_RING 32

struct scan_table;

/*
 * scan_table_new: a table for at most max_clients addresses, window_s
 * seconds, threshold connections (clamped to 2..SCAN_RING). NULL on OOM.
 * scan_table_free frees it (NULL is fine).
 */
struct scan_table *scan_table_new(uint32_t max_clients, uint32_t window_s, uint32_t threshold);
void scan_table_free(struct scan_table *t);

/* What the table says about one client address once a connection is added. */
struct scan_view {
	uint32_t connections; /* abandoned handshakes within the window, this one included */
	uint32_t offers;      /* distinct client KEXINIT offers among them (0: none seen) */
	uint32_t probes;      /* of them, recognised as probes on their own, this one excluded */
	uint32_t window_s, threshold;
};

/*
 * scan_offer_hash: a hash of a client's KEXINIT name-lists (n lists, each
 * NUL-terminated), never 0; two offers hash alike when their lists do.
 */
uint64_t scan_offer_hash(const struct scan_table *t, const char *const *lists, int n);

/*
 * scan_table_add records one connection from addr (16 bytes, family 4 or
 * 6) that ended before NEWKEYS at t_us: offer is a hash of the client's
 * KEXINIT name-lists (0: none sent), probe is 1 when the connection was
 * recognised as a probe by itself. Fills *v. Returns 1 when the address is
 * probing: an earlier probe within the window, or at least threshold
 * connections with at least two distinct offers; else 0 (also on OOM).
 */
int scan_table_add(struct scan_table *t, int family, const uint8_t addr[16], uint64_t t_us,
                   uint64_t offer, int probe, struct scan_view *v);

#endif
