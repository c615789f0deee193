/*
 * bare_loop.c: the baseline kexwatch is measured against (issue 6).
 *
 * A bare libpcap read loop: opens every file given with -r (pcap or pcapng;
 * gzip-compressed either way, recognised by magic bytes and read through
 * zlib + fopencookie exactly as capture/capture.c does), reads every frame
 * with pcap_next_ex, and counts frames, captured bytes and wire bytes. It
 * touches one byte per frame so the frame data is really read from the
 * buffer. Nothing else: no decoding, no flow table, no output per packet.
 *
 *   cc -O2 -o bare_loop bare_loop.c -lpcap -lz
 *   ./bare_loop -r a.pcap [-r b.pcapng.gz ...]
 *
 * Prints one line: "packets N caplen_bytes N wire_bytes N checksum N".
 * Exit status 0, 1 on a read error, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static ssize_t gz_read(void *cookie, char *buf, size_t size)
{
	int n = gzread((gzFile)cookie, buf, size > (1u << 30) ? (1u << 30) : (unsigned)size);
	return n < 0 ? -1 : n;
}

static int gz_close(void *cookie)
{
	return gzclose_r((gzFile)cookie) == Z_OK ? 0 : EOF;
}

static int is_gzip(const char *path)
{
	unsigned char m[2];
	FILE *f = fopen(path, "rb");
	int gz;

	if (f == NULL)
		return 0;
	gz = fread(m, 1, 2, f) == 2 && m[0] == 0x1f && m[1] == 0x8b;
	fclose(f);
	return gz;
}

static pcap_t *open_one(const char *path, char *err)
{
	if (is_gzip(path)) {
		static const cookie_io_functions_t io = {.read = gz_read, .close = gz_close};
		gzFile gz = gzopen(path, "rb");
		FILE *f;
		pcap_t *p;

		if (gz == NULL) {
			snprintf(err, PCAP_ERRBUF_SIZE, "cannot open");
			return NULL;
		}
		gzbuffer(gz, 1 << 17);
		if ((f = fopencookie(gz, "rb", io)) == NULL) {
			gzclose_r(gz);
			snprintf(err, PCAP_ERRBUF_SIZE, "fopencookie failed");
			return NULL;
		}
		p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, err);
		if (p == NULL)
			fclose(f);
		return p;
	}
	return pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, err);
}

int main(int argc, char **argv)
{
	uint64_t packets = 0, caplen = 0, wirelen = 0, sum = 0;
	int opt, nfiles = 0, status = 0;
	const char *files[4096];

	while ((opt = getopt(argc, argv, "r:h")) != -1) {
		if (opt == 'r' && nfiles < 4096) {
			files[nfiles++] = optarg;
		} else {
			fprintf(stderr, "usage: bare_loop -r FILE [-r FILE ...]\n");
			return 2;
		}
	}
	if (nfiles == 0 || optind != argc) {
		fprintf(stderr, "usage: bare_loop -r FILE [-r FILE ...]\n");
		return 2;
	}
	for (int i = 0; i < nfiles; i++) {
		char err[PCAP_ERRBUF_SIZE] = "";
		struct pcap_pkthdr *h;
		const u_char *data;
		pcap_t *p = open_one(files[i], err);
		int r;

		if (p == NULL) {
			fprintf(stderr, "bare_loop: %s: %s\n", files[i], err);
			status = 1;
			continue;
		}
		while ((r = pcap_next_ex(p, &h, &data)) == 1) {
			packets++;
			caplen += h->caplen;
			wirelen += h->len;
			if (h->caplen > 0)
				sum += data[h->caplen - 1];
		}
		if (r == PCAP_ERROR) {
			fprintf(stderr, "bare_loop: %s: %s\n", files[i], pcap_geterr(p));
			status = 1;
		}
		pcap_close(p);
	}
	printf("packets %llu caplen_bytes %llu wire_bytes %llu checksum %llu\n",
	       (unsigned long long)packets, (unsigned long long)caplen, (unsigned long long)wirelen,
	       (unsigned long long)sum);
	return status;
}
