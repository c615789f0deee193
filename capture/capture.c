/*
 * capture.c: capture files through libpcap (see capture.h).
 *
 * libpcap reads pcap and pcapng itself. Compressed files go through zlib
 * behind a stdio cookie, so libpcap still does the parsing; standard input
 * always does (zlib reads uncompressed input transparently), since a pipe
 * cannot be peeked and rewound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "capture.h"
#include "err.h"

struct capture {
	pcap_t *pcap;
	FILE *file; /* the stream libpcap reads; closed by pcap_close */
	gzFile gz;  /* when compressed or stdin */
	int link;
	char err[PCAP_ERRBUF_SIZE + 64];
};

static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
	int n = gzread((gzFile)cookie, buf, size > (1u << 30) ? (1u << 30) : (unsigned)size);

	return n < 0 ? -1 : n;
}

static int gz_cookie_close(void *cookie)
{
	return gzclose_r((gzFile)cookie) == Z_OK ? 0 : EOF;
}

static int is_gzip(const char *path)
{
	unsigned char magic[2];
	FILE *f = fopen(path, "rb");
	int gz = 0;

	if (f == NULL)
		return 0;
	gz = fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	fclose(f);
	return gz;
}

int capture_open_file(struct capture **out, const char *path, char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	int stdin_input = strcmp(path, "-") == 0;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return KW_ERR_IO;
	}
	if (stdin_input || is_gzip(path)) {
		static const cookie_io_functions_t io = {.read = gz_cookie_read,
							 .close = gz_cookie_close};
		int fd = stdin_input ? dup(STDIN_FILENO) : -1;

		if (stdin_input)
			c->gz = fd >= 0 ? gzdopen(fd, "rb") : NULL;
		else
			c->gz = gzopen(path, "rb");
		if (c->gz == NULL) {
			snprintf(err, errlen, "%s", strerror(errno ? errno : ENOMEM));
			if (fd >= 0)
				close(fd);
			free(c);
			return KW_ERR_IO;
		}
		gzbuffer(c->gz, 1 << 17);
		if ((c->file = fopencookie(c->gz, "rb", io)) == NULL) {
			snprintf(err, errlen, "%s", strerror(errno));
			gzclose_r(c->gz);
			free(c);
			return KW_ERR_IO;
		}
		c->pcap = pcap_fopen_offline_with_tstamp_precision(
			c->file, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
		if (c->pcap == NULL)
			fclose(c->file); /* closes gz too */
	} else {
		c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
								  pcap_err);
	}
	if (c->pcap == NULL) {
		/* libpcap says "unknown file format" for a file that is not a capture. */
		snprintf(err, errlen, "%s", pcap_err[0] ? pcap_err : "cannot read capture");
		free(c);
		return KW_ERR_IO;
	}
	c->link = pcap_datalink(c->pcap);
	*out = c;
	return KW_OK;
}

int capture_next(struct capture *c, struct capture_frame *f)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r = pcap_next_ex(c->pcap, &h, &data);

	if (r == 1) {
		f->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		f->caplen = h->caplen;
		f->wirelen = h->len;
		f->data = data;
		return 1;
	}
	if (r == PCAP_ERROR_BREAK)
		return 0;
	snprintf(c->err, sizeof(c->err), "%s", pcap_geterr(c->pcap));
	return KW_ERR_IO;
}

int capture_link(const struct capture *c)
{
	return c->link;
}

const char *capture_error(const struct capture *c)
{
	return c->err;
}

uint64_t capture_bytes(const struct capture *c)
{
	if (c->gz != NULL)
		return (uint64_t)gzoffset(c->gz);
	FILE *f = pcap_file(c->pcap);
	long off = f ? ftell(f) : -1;
	return off > 0 ? (uint64_t)off : 0;
}

void capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	pcap_close(c->pcap); /* closes c->file, and through its cookie c->gz */
	free(c);
}

const char *capture_lib_version(void)
{
	return pcap_lib_version();
}
