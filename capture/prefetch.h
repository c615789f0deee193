/*
 * prefetch.h: a capture file read ahead by a second thread (internal to
 * capture/).
 *
 * Reading a file, the kernel's copy of each block into user space (and, for
 * a compressed file, the inflating) is as costly as everything the bare
 * read loop does. Here a reader thread does it into a few blocks ahead of
 * the packet loop, which takes its bytes from them: in place when they lie
 * in one block (capture.c reads classic pcap records so), or through a
 * stdio stream for libpcap (pcapng and the rest). Only for regular files: a
 * read from one never blocks for long, so closing can always wait for the
 * thread.
 */
#ifndef KW_PREFETCH_H
#define KW_PREFETCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

/* Bytes already taken that prefetch_stream can give back (a file header). */
#define PREFETCH_REPLAY 64

struct prefetch;

/*
 * prefetch_open starts reading fd (gz NULL) or gz (fd ignored) ahead; it
 * owns them from then on, and prefetch_close stops the thread and closes
 * them. NULL with errno set on failure (fd and gz are then still the
 * caller's).
 */
struct prefetch *prefetch_open(int fd, gzFile gz);
int prefetch_close(struct prefetch *p);

/*
 * prefetch_take takes the next n bytes of the file: *ptr points at them,
 * valid until the next call (in a block, or copied when they straddle
 * two). Returns n, or fewer at the end of the file, with *err the errno of
 * a failed read (0 at a clean end) or ENOMEM.
 */
size_t prefetch_take(struct prefetch *p, size_t n, const uint8_t **ptr, int *err);

/*
 * prefetch_stream turns p into a stdio read stream that first gives back
 * replay[0..n) (n <= PREFETCH_REPLAY), then the rest of the file; fclose
 * on it closes p. A read error is returned by the stream's reads with its
 * errno. NULL with errno set (p is then still the caller's).
 */
FILE *prefetch_stream(struct prefetch *p, const uint8_t *replay, size_t n);

/*
 * prefetch_offset: how far into the file (compressed bytes for gz) the
 * block being read reaches; for progress.
 */
uint64_t prefetch_offset(const struct prefetch *p);

#endif
