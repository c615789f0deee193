/*
 * capture.h: packet sources. The only module that talks to libpcap.
 *
 * Opens capture files (pcap, pcapng, gzip-compressed either way, "-" for
 * standard input) and hands out frames with their capture timestamp in
 * microseconds. Not responsible for decoding (dissect/).
 */
#ifndef KW_CAPTURE_H
#define KW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

struct capture_frame {
	uint64_t ts_us;
	uint32_t caplen, wirelen;
	const uint8_t *data; /* valid until the next capture_next on the same capture */
};

struct capture;

/*
 * capture_open_file opens path ("-" is standard input). gzip is recognised by
 * its magic bytes, not the name. Returns 0 with *out set, or KW_ERR_IO with a
 * one-line reason in err (the path is not included; the caller names it).
 */
int capture_open_file(struct capture **out, const char *path, char *err, size_t errlen);

/*
 * capture_next gives the next frame: 1 with *f filled, 0 at the end of the
 * input, KW_ERR_IO when the input is damaged or unreadable (capture_error
 * says why; frames already returned stay valid facts).
 */
int capture_next(struct capture *c, struct capture_frame *f);

/* capture_link: the link type (LINKTYPE_ value) of the frames. */
int capture_link(const struct capture *c);
/* capture_error: the last error, a static or capture-owned string. */
const char *capture_error(const struct capture *c);
/* capture_bytes: bytes of the underlying file consumed so far (progress). */
uint64_t capture_bytes(const struct capture *c);
void capture_close(struct capture *c);

/* capture_lib_version: libpcap's version string. */
const char *capture_lib_version(void);

#endif
