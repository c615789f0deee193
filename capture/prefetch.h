/*
 * prefetch.h: a capture file read ahead by a second thread (internal to
 * capture/).
 *
 * libpcap reads a file through stdio: the kernel copies each block into
 * stdio's buffer and libpcap copies each record out of it. The first copy
 * (and, for a compressed file, the inflating) is as costly as everything
 * the bare read loop does; here a reader thread does it into a few blocks
 * ahead of the packet loop, which copies from them in user space. Only for regular files: a read from one
 * never blocks for long, so closing the stream can always wait for the
 * thread.
 */
#ifndef KW_PREFETCH_H
#define KW_PREFETCH_H

#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

struct prefetch;

/*
 * prefetch_fopen returns a read stream over fd (gz NULL) or
 * over gz (fd ignored); fclose on it stops the thread and closes fd or gz.
 * A read error in the thread is returned by the stream's reads, with its
 * errno, once the blocks before it are consumed. NULL with errno set on
 * failure (fd and gz are then still the caller's).
 */
FILE *prefetch_fopen(int fd, gzFile gz, struct prefetch **handle);

/*
 * prefetch_offset: how far into the file (compressed bytes for gz) the
 * block being read reaches; for progress. Valid until the stream is closed.
 */
uint64_t prefetch_offset(const struct prefetch *p);

#endif
