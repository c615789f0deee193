/*
 * writer.c: the evidence capture, written as pcapng (see capture.h).
 *
 * Responsible for the file format (pcapng, draft-ietf-opsawg-pcapng: a
 * section header, one interface description per capture interface, one
 * enhanced packet block per frame, host byte order as the format allows)
 * and for keeping the file under its size bound by rotating it to FILE.1
 * between groups of frames, so one connection's frames stay in one file.
 * pcapng rather than pcap because frames of several interfaces can have
 * different link types (Ethernet on a port, cooked on "any"), which one
 * pcap file cannot hold. Not responsible for choosing frames (app/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "err.h"

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du
#define PCAPNG_OPT_END 0
#define PCAPNG_OPT_IF_NAME 2
#define PCAPNG_OPT_SHB_USERAPPL 4

struct capture_writer {
	FILE *f;
	char *path, *path1;
	struct capture_writer_iface *ifaces;
	uint32_t nifaces;
	uint64_t max_bytes, size, header_size;
};

static uint32_t pad4(uint32_t n)
{
	return (n + 3u) & ~3u;
}

/*
 * A block is built in memory, then written with one fwrite: the writes of a
 * block happen in order (operands of | would not be sequenced).
 */
struct blk {
	uint8_t b[512];
	size_t n;
};

static void b32(struct blk *k, uint32_t v)
{
	memcpy(k->b + k->n, &v, 4);
	k->n += 4;
}

static void b16(struct blk *k, uint16_t v)
{
	memcpy(k->b + k->n, &v, 2);
	k->n += 2;
}

/* An option: code, length, value padded to 32 bits (pcapng section 3.5). */
static uint32_t opt_cost(const char *s)
{
	size_t n = strlen(s);

	return 4 + pad4((uint32_t)(n > 256 ? 256 : n));
}

static void bopt(struct blk *k, uint16_t code, const char *s)
{
	size_t n = strlen(s);

	if (n > 256) /* interface names are short; the cap keeps the block in k->b */
		n = 256;
	b16(k, code);
	b16(k, (uint16_t)n);
	memcpy(k->b + k->n, s, n);
	memset(k->b + k->n + n, 0, pad4((uint32_t)n) - n);
	k->n += pad4((uint32_t)n);
}

static int put(struct capture_writer *w, const void *p, size_t n)
{
	if (n > 0 && fwrite(p, 1, n, w->f) != n)
		return KW_ERR_IO;
	w->size += n;
	return KW_OK;
}

static int write_headers(struct capture_writer *w)
{
	static const char app[] = "kexwatch (evidence of failed SSH handshakes)";
	struct blk k = {.n = 0};
	uint32_t len = 28 + opt_cost(app) + 4;

	/* Section header block, section length unknown (-1). */
	b32(&k, PCAPNG_SHB);
	b32(&k, len);
	b32(&k, PCAPNG_BOM);
	b16(&k, 1);
	b16(&k, 0);
	b32(&k, 0xffffffffu);
	b32(&k, 0xffffffffu);
	bopt(&k, PCAPNG_OPT_SHB_USERAPPL, app);
	b32(&k, PCAPNG_OPT_END);
	b32(&k, len);
	if (put(w, k.b, k.n) != 0)
		return KW_ERR_IO;
	for (uint32_t i = 0; i < w->nifaces; i++) {
		/* Interface description block; the default resolution is 1 us. */
		k.n = 0;
		len = 20 + opt_cost(w->ifaces[i].name) + 4;
		b32(&k, PCAPNG_IDB);
		b32(&k, len);
		b16(&k, (uint16_t)w->ifaces[i].link);
		b16(&k, 0);
		b32(&k, w->ifaces[i].snaplen);
		bopt(&k, PCAPNG_OPT_IF_NAME, w->ifaces[i].name);
		b32(&k, PCAPNG_OPT_END);
		b32(&k, len);
		if (put(w, k.b, k.n) != 0)
			return KW_ERR_IO;
	}
	if (fflush(w->f) != 0)
		return KW_ERR_IO;
	w->header_size = w->size;
	return KW_OK;
}

/* start_file opens w->path afresh and writes the headers. */
static int start_file(struct capture_writer *w)
{
	if ((w->f = fopen(w->path, "we")) == NULL)
		return KW_ERR_IO;
	w->size = 0;
	if (write_headers(w) != 0) {
		int e = errno;
		fclose(w->f);
		w->f = NULL;
		errno = e;
		return KW_ERR_IO;
	}
	return KW_OK;
}

int capture_writer_open(struct capture_writer **out, const char *path,
                        const struct capture_writer_iface *ifaces, uint32_t nifaces,
                        uint64_t max_bytes, char *err, size_t errlen)
{
	struct capture_writer *w = calloc(1, sizeof(*w));
	struct stat st;

	*out = NULL;
	if (w == NULL || (w->ifaces = calloc(nifaces ? nifaces : 1, sizeof(*ifaces))) == NULL ||
	    (w->path = strdup(path)) == NULL || asprintf(&w->path1, "%s.1", path) < 0) {
		if (w != NULL) {
			free(w->ifaces);
			free(w->path);
		}
		free(w);
		snprintf(err, errlen, "out of memory");
		return KW_ERR_IO;
	}
	memcpy(w->ifaces, ifaces, nifaces * sizeof(*ifaces));
	w->nifaces = nifaces;
	w->max_bytes = max_bytes;
	/* Keep the previous run's evidence: it may be what the operator wants. */
	if (stat(path, &st) == 0 && st.st_size > 0 && rename(path, w->path1) != 0) {
		snprintf(err, errlen, "cannot rename to %s: %s", w->path1, strerror(errno));
		capture_writer_close(w);
		return KW_ERR_IO;
	}
	if (start_file(w) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		capture_writer_close(w);
		return KW_ERR_IO;
	}
	*out = w;
	return KW_OK;
}

uint64_t capture_writer_frame_cost(uint32_t caplen)
{
	return 32 + (uint64_t)pad4(caplen);
}

int capture_writer_reserve(struct capture_writer *w, uint64_t bytes)
{
	if (w->f != NULL && w->size > w->header_size && w->size + bytes > w->max_bytes) {
		if (fclose(w->f) != 0) {
			w->f = NULL;
			return KW_ERR_IO;
		}
		w->f = NULL;
		if (rename(w->path, w->path1) != 0)
			return KW_ERR_IO;
	}
	if (w->f == NULL && start_file(w) != 0) /* after a rotation or a failure */
		return KW_ERR_IO;
	return KW_OK;
}

int capture_writer_put(struct capture_writer *w, uint32_t iface, uint64_t ts_us,
                       const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
	static const uint8_t zero[4];
	uint32_t len = (uint32_t)capture_writer_frame_cost(caplen);
	struct blk k = {.n = 0};

	if (w->f == NULL)
		return KW_ERR_IO;
	if (iface >= w->nifaces) {
		errno = EINVAL;
		return KW_ERR_BUG;
	}
	/* Enhanced packet block: timestamp in the interface's units (1 us). */
	b32(&k, PCAPNG_EPB);
	b32(&k, len);
	b32(&k, iface);
	b32(&k, (uint32_t)(ts_us >> 32));
	b32(&k, (uint32_t)ts_us);
	b32(&k, caplen);
	b32(&k, wirelen);
	if (put(w, k.b, k.n) != 0 || put(w, data, caplen) != 0 ||
	    put(w, zero, pad4(caplen) - caplen) != 0)
		return KW_ERR_IO;
	k.n = 0;
	b32(&k, len);
	return put(w, k.b, k.n);
}

int capture_writer_flush(struct capture_writer *w)
{
	if (w->f == NULL)
		return KW_ERR_IO;
	if (fflush(w->f) != 0) {
		int e = errno;
		/* Start again in a fresh file rather than append to a torn one. */
		fclose(w->f);
		w->f = NULL;
		errno = e;
		return KW_ERR_IO;
	}
	return KW_OK;
}

void capture_writer_close(struct capture_writer *w)
{
	if (w == NULL)
		return;
	if (w->f != NULL)
		fclose(w->f);
	free(w->ifaces);
	free(w->path);
	free(w->path1);
	free(w);
}
