/*
 * fuzz_ssh_stream.c: the SSH stream parser, both directions of one ssh_conn.
 *
 * Input: byte 0 chooses segment sizes (low 4 bits: the largest segment is
 * 2^k bytes, 0 = one byte at a time; high bits seed the sizes), byte 1 the
 * interleaving of directions (bit 7: also tell the parser of a gap in
 * direction 1 half-way). The rest is the stream: the bytes before the
 * marker "\xffKWDIR" are what the TCP initiator sent, those after it what
 * the responder sent; without the marker both directions send all of it.
 *
 * Besides what the sanitizers catch, it checks the promise of ssh.h that
 * segment boundaries never matter: each direction pushed whole, then pushed
 * in the chosen segments (same order of directions), must give the same
 * facts; a difference aborts with both values. A third run interleaves the
 * directions segment by segment (no oracle: order between directions may
 * legitimately change roles), then everything is freed with ssh_conn_free.
 */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ssh.h"

static const uint8_t marker[] = {0xff, 'K', 'W', 'D', 'I', 'R'};

struct rng {
	uint32_t s;
};

static uint32_t rng_next(struct rng *r)
{
	uint32_t x = r->s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return r->s = x;
}

static size_t chunk(struct rng *r, uint8_t sel, size_t left)
{
	size_t max = (size_t)1 << (sel & 15), n;

	n = max == 1 ? 1 : 1 + rng_next(r) % max;
	return n < left ? n : left;
}

/* push_copy pushes n bytes from a buffer of exactly n bytes (ASan sees overreads). */
static void push_copy(struct ssh_conn *c, int dir, const uint8_t *p, size_t n, uint64_t ts)
{
	uint8_t *b = malloc(n);

	if (b == NULL)
		return;
	memcpy(b, p, n);
	if (ssh_stream_push(c, dir, b, n, ts) != 0)
		abort(); /* only a bad dir may fail */
	free(b);
}

static void push_split(struct ssh_conn *c, int dir, const uint8_t *p, size_t n, uint8_t sel,
                       struct rng *r)
{
	size_t off = 0;

	while (off < n) {
		size_t k = chunk(r, sel, n - off);
		push_copy(c, dir, p + off, k, 1000);
		off += k;
	}
}

#define SAME(what, cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_ssh_stream: split changed %s (dir %d)\n", what, i);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static int same_bytes(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na) == 0);
}

/* same_facts aborts when the split run x differs from the whole run w. */
static void same_facts(const struct ssh_conn *w, const struct ssh_conn *x)
{
	for (int i = 0; i < 2; i++) {
		const struct ssh_dir *a = &w->dir[i], *b = &x->dir[i];
		if (a->anomalies != b->anomalies)
			fprintf(stderr, "anomalies whole 0x%x split 0x%x\n", a->anomalies,
			        b->anomalies);
		SAME("anomalies", a->anomalies == b->anomalies);
		SAME("state", a->state == b->state);
		SAME("banner", same_bytes(a->banner, a->banner_len, b->banner, b->banner_len));
		SAME("pre-banner", same_bytes(a->pre, a->pre_len, b->pre, b->pre_len) &&
		                       a->pre_lines == b->pre_lines);
		SAME("bytes", a->bytes == b->bytes && a->enc_bytes == b->enc_bytes);
		SAME("packets", a->clear_packets == b->clear_packets && a->last_msg == b->last_msg);
		SAME("kex messages",
		     a->kexmsg_mask == b->kexmsg_mask && a->kexmsg_len == b->kexmsg_len);
		SAME("kexinit", (a->kexinit == NULL) == (b->kexinit == NULL));
		if (a->kexinit != NULL)
			for (int l = 0; l < KEX_NLISTS; l++)
				SAME("name-list",
				     strcmp(a->kexinit->list[l], b->kexinit->list[l]) == 0);
		SAME("hassh", strcmp(a->hassh, b->hassh) == 0);
		SAME("disconnect", a->disconnect_seen == b->disconnect_seen &&
		                       a->disconnect_reason == b->disconnect_reason &&
		                       same_bytes(a->disconnect_desc, a->disconnect_desc_len,
		                                  b->disconnect_desc, b->disconnect_desc_len));
	}
	int i = -1;
	SAME("client_dir", w->client_dir == x->client_dir);
	SAME("negotiation",
	     w->negotiated_ok == x->negotiated_ok &&
	         (!w->negotiated_ok || memcmp(&w->neg, &x->neg, sizeof(w->neg)) == 0));
	SAME("host key", w->hostkey.present == x->hostkey.present &&
	                     (!w->hostkey.present || memcmp(&w->hostkey.key, &x->hostkey.key,
	                                                    sizeof(w->hostkey.key)) == 0));
	SAME("gex", memcmp(&w->gex, &x->gex, sizeof(w->gex)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kw_limits limits = KW_LIMITS_DEFAULT;
	struct ssh_conn whole, split, mixed;
	const uint8_t *s[2];
	size_t n[2], off[2] = {0, 0};
	struct rng r;
	uint8_t sel, order;

	if (size < 2)
		return 0;
	sel = data[0];
	order = data[1];
	data += 2;
	size -= 2;
	s[0] = s[1] = data;
	n[0] = n[1] = size;
	const uint8_t *m =
	    size >= sizeof(marker) ? memmem(data, size, marker, sizeof(marker)) : NULL;
	if (m != NULL) {
		n[0] = (size_t)(m - data);
		s[1] = m + sizeof(marker);
		n[1] = size - n[0] - sizeof(marker);
	}
	/* Small limits on some inputs, so the limit paths run on short inputs too. */
	if (order & 0x40) {
		limits.banner_max = 64;
		limits.stream_buf = 512;
		limits.max_packet = 400;
		limits.namelist_max = 100;
		limits.prebanner_lines = 4;
	} else {
		limits = (struct kw_limits)KW_LIMITS_DEFAULT;
	}

	ssh_conn_init(&whole, &limits);
	ssh_conn_init(&split, &limits);
	for (int dir = 0; dir < 2; dir++) {
		if (n[dir] > 0)
			push_copy(&whole, dir, s[dir], n[dir], 1000);
		r.s = 0x9e3779b9u ^ (uint32_t)sel << 8 ^ (uint32_t)dir;
		push_split(&split, dir, s[dir], n[dir], sel, &r);
	}
	same_facts(&whole, &split);
	ssh_conn_free(&whole);
	ssh_conn_free(&split);

	/* Interleaved, with timestamps that move, and maybe a gap. */
	ssh_conn_init(&mixed, &limits);
	r.s = 0x85ebca6bu ^ (uint32_t)order << 16 ^ sel;
	for (uint64_t ts = 1; off[0] < n[0] || off[1] < n[1]; ts += 1000) {
		int dir = (order & 1) ? (int)(rng_next(&r) & 1) : (int)(ts / 1000 & 1);
		if (off[dir] >= n[dir])
			dir = !dir;
		size_t k = chunk(&r, sel, n[dir] - off[dir]);
		push_copy(&mixed, dir, s[dir] + off[dir], k, ts);
		off[dir] += k;
		if ((order & 0x80) && dir == 1 && off[1] >= n[1] / 2 && off[1] - k < n[1] / 2)
			ssh_stream_gap(&mixed, 1);
		if (!ssh_dir_wants_bytes(&mixed, dir))
			ssh_stream_count(&mixed, dir, 0);
	}
	(void)ssh_conn_is_ssh(&mixed);
	ssh_conn_free(&mixed);
	/* A freed conn may be initialised and used again. */
	ssh_conn_init(&mixed, &limits);
	ssh_conn_free(&mixed);
	return 0;
}
