/*
 * fuzz_decode.c: link, IP, fragment, tunnel, TCP and ICMP decoding.
 *
 * Input: byte 0 picks the link type (fuzz.h); the rest is a sequence of
 * frames, each preceded by a 2-byte big-endian length (a frame shorter than
 * its length takes what is left), so IP fragments of one datagram can meet
 * in one decoder. One decoder lives for one input, with a small fragment
 * table (frag_max 4) so its eviction runs too. Every payload pointer the
 * decoder hands out is read in full, so ASan sees an out-of-bounds one.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kw_limits limits = KW_LIMITS_DEFAULT;
	struct decoder *d;
	struct pkt p;
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
		if (decode_frame(d, link, frame, (uint32_t)n, (uint32_t)n + (data[0] >> 4), ts,
		                 &p) == KW_OK)
			touch(&p);
		free(frame);
		off += n;
		ts += 300000; /* 0.3 s a frame: fragment timeouts run */
	}
	(void)decoder_stats(d);
	decoder_free(d);
	return 0;
}
