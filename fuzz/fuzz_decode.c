/*
 * fuzz_decode.c: link, IP, fragment, tunnel, TCP and ICMP decoding.
 *
 * Input: byte 0 picks the link type (fuzz.h); the rest is a sequence of
 * frames, each preceded by a 2-byte big-endian length (a frame shorter than
 * its length takes what is left), so IP fragments of one datagram can meet
 * in one decoder. One decoder lives for one input, with a small fragment
 * table (frag_max 4) so its eviction runs too. Every payload pointer the
 * decoder hands out is read in full, so ASan sees an out-of-bounds one.
 *
 * A second decoder, set to its general loops only (decoder_set_general),
 * decodes every frame too: its result, its struct pkt byte for byte and its
 * counters must equal the first's, or the shortcuts for common layouts
 * changed a result; the target aborts then.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "err.h"
#include "fuzz.h"

static volatile uint8_t sink;

static void touch(const struct pkt *p)
{
	uint8_t x = 0;

	for (uint32_t i = 0; i < p->payload_len; i++)
		x ^= p->payload[i];
	sink = x;
}

/* same_pkt: a and b are equal byte for byte, payload pointers aside when
 * they point into each decoder's own reassembly buffer. */
static int same_pkt(struct pkt a, struct pkt b)
{
	if (a.reassembled && b.reassembled) {
		if (a.payload_len != b.payload_len ||
		    (a.payload_len > 0 && memcmp(a.payload, b.payload, a.payload_len) != 0))
			return 0;
		a.payload = b.payload = NULL;
	}
	return memcmp(&a, &b, sizeof(a)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_limits limits = KW_LIMITS_DEFAULT;
	struct decoder *d, *g;
	struct pkt p, q;
	size_t off = 1;
	uint64_t ts = 1000000;
	int link;

	if (size < 1)
		return 0;
	link = fuzz_link(data[0]);
	limits.frag_max = 4;
	limits.frag_timeout_ms = 1000;
	if ((d = decoder_new(&limits)) == NULL)
		return 0;
	if ((g = decoder_new(&limits)) == NULL) {
		decoder_free(d);
		return 0;
	}
	decoder_set_general(g, 1);
	while (off < size) {
		size_t n = 0;
		if (size - off >= 2) {
			n = (size_t)data[off] << 8 | data[off + 1];
			off += 2;
		} else {
			off = size;
		}
		if (n > size - off)
			n = size - off;
		/* The frame is copied to a buffer of exactly its size (even 0). */
		uint8_t *frame = malloc(n);
		if (frame == NULL && n > 0)
			break;
		if (n > 0)
			memcpy(frame, data + off, n);
		/* Both decoders write all of their struct pkt, padding included. */
		memset(&p, 0xa5, sizeof(p));
		memset(&q, 0x5a, sizeof(q));
		int r =
		    decode_frame(d, link, frame, (uint32_t)n, (uint32_t)n + (data[0] >> 4), ts, &p);
		int rg =
		    decode_frame(g, link, frame, (uint32_t)n, (uint32_t)n + (data[0] >> 4), ts, &q);
		if (r != rg || !same_pkt(p, q) ||
		    memcmp(decoder_stats(d), decoder_stats(g), sizeof(struct decode_stats)) != 0)
			abort();
		if (r == KW_OK)
			touch(&p);
		free(frame);
		off += n;
		ts += 300000; /* 0.3 s a frame: fragment timeouts run */
	}
	decoder_free(d);
	decoder_free(g);
	return 0;
}
