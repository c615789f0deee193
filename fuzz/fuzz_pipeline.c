/*
 * fuzz_pipeline.c: the whole offline pipeline in one process.
 *
 * Input: byte 0 chooses the mode and the link type (fuzz.h: low 4 bits);
 * bit 6 selects small limits (8 flows, short buffers and timeouts) so
 * eviction, timeouts and limit paths run on short inputs.
 *  - bit 7 clear: the rest is the body of a pcap file (records: 16-byte
 *    header, then the frame) behind a valid global header with that link
 *    type and snaplen 65535. It is written to a memfd and read back through
 *    capture_open_file, exactly as kexwatch -r reads a file, so libpcap's
 *    record checks (caplen > snaplen, a truncated record) are exercised too.
 *  - bit 7 set: the rest is a sequence of frames, each behind a 2-byte
 *    big-endian length, 0.1 s apart, fed straight to decode_frame.
 * Decoded packets go through flow_table_packet; every record is built by
 * report_flow (JSON, and text for odd inputs) into /dev/null, then the table
 * is flushed and freed, as kexwatch does at the end of a capture.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "decode.h"
#include "err.h"
#include "flow.h"
#include "fuzz.h"
#include "limits.h"
#include "output.h"

struct fuzz_run {
	struct report *report;
	uint64_t records;
};

static void on_report(void *ctx, const struct flow *f, enum flow_report_why why)
{
	struct fuzz_run *run = ctx;

	(void)report_flow(run->report, f, why);
	run->records++;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* feed_pcap writes header + body to a memfd and reads it with capture.c. */
static void feed_pcap(int link, const uint8_t *body, size_t n, struct decoder *dec,
                      struct flow_table *t)
{
	uint8_t hdr[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	struct capture *cap;
	struct capture_frame fr;
	struct pkt pkt;
	char path[64], err[512];
	int fd, r;

	put_le32(hdr + 16, 65535);
	put_le32(hdr + 20, (uint32_t)link);
	if ((fd = memfd_create("kw-fuzz", 0)) < 0)
		return;
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    (n > 0 && write(fd, body, n) != (ssize_t)n)) {
		close(fd);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (capture_open_file(&cap, path, err, sizeof(err)) == 0) {
		link = capture_link(cap);
		while ((r = capture_next(cap, &fr)) == 1) {
			r = decode_frame(dec, link, fr.data, fr.caplen, fr.wirelen, fr.ts_us, &pkt);
			if (r == KW_OK)
				(void)flow_table_packet(t, &pkt, 0, 0);
			else
				flow_table_advance(t, fr.ts_us);
		}
		(void)capture_error(cap);
		(void)capture_bytes(cap);
		capture_close(cap);
	}
	close(fd);
}

static void feed_frames(int link, const uint8_t *p, size_t n, struct decoder *dec,
                        struct flow_table *t)
{
	struct pkt pkt;
	size_t off = 0;
	uint64_t ts = 1700000000000000ull;

	while (off < n) {
		size_t len = 0;
		if (n - off >= 2) {
			len = (size_t)p[off] << 8 | p[off + 1];
			off += 2;
		} else {
			off = n;
		}
		if (len > n - off)
			len = n - off;
		uint8_t *frame = malloc(len);
		if (frame == NULL && len > 0)
			return;
		if (len > 0)
			memcpy(frame, p + off, len);
		if (decode_frame(dec, link, frame, (uint32_t)len, (uint32_t)len, ts, &pkt) == KW_OK)
			(void)flow_table_packet(t, &pkt, 0, 0);
		else
			flow_table_advance(t, ts);
		free(frame);
		off += len;
		ts += 100000;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = {22, 2222};
	static const char *const names[] = {"fuzz.pcap"};
	static FILE *devnull;
	struct kw_limits limits = KW_LIMITS_DEFAULT;
	struct report_config rcfg;
	struct flow_config fcfg;
	struct fuzz_run run = {0};
	struct flow_table *t;
	struct decoder *dec;

	if (size < 1)
		return 0;
	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		return 0;
	if (data[0] & 0x40) {
		limits.max_flows = 8;
		limits.stream_buf = 2048;
		limits.ooo_segments = 4;
		limits.ooo_bytes = 4096;
		limits.banner_max = 128;
		limits.prebanner_lines = 4;
		limits.max_packet = 1500;
		limits.namelist_max = 256;
		limits.syn_timeout_ms = 1000;
		limits.handshake_timeout_ms = 2000;
		limits.idle_timeout_ms = 3000;
		limits.close_linger_ms = 500;
		limits.established_report_ms = 1000;
		limits.frag_max = 2;
		limits.frag_timeout_ms = 500;
	}
	rcfg = (struct report_config){
	    .format = (data[0] & 0x30) == 0x30 ? REPORT_TEXT : REPORT_JSON,
	    .out = devnull,
	    .filenames = names,
	    .nfiles = 1,
	};
	fcfg = (struct flow_config){
	    .limits = &limits,
	    .ssh_ports = ports,
	    .nssh_ports = 2,
	    .report = on_report,
	    .report_ctx = &run,
	    .seed = 0x6b657877617463ull,
	};
	run.report = report_new(&rcfg);
	t = run.report ? flow_table_new(&fcfg) : NULL;
	dec = t ? decoder_new(&limits) : NULL;
	if (dec != NULL) {
		if (data[0] & 0x80)
			feed_frames(fuzz_link(data[0]), data + 1, size - 1, dec, t);
		else
			feed_pcap(fuzz_link(data[0]), data + 1, size - 1, dec, t);
		flow_table_flush(t);
		report_end(run.report);
		(void)flow_table_stats(t);
		if (flow_table_stats(t)->open != 0) {
			fprintf(stderr, "fuzz_pipeline: %llu flows open after flush\n",
			        (unsigned long long)flow_table_stats(t)->open);
			abort();
		}
	}
	decoder_free(dec);
	flow_table_free(t);
	report_free(run.report);
	return 0;
}
