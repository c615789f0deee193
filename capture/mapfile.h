/*
 * mapfile.h: an uncompressed capture file read through mmap (internal to
 * capture/).
 *
 * Reading a classic pcap file with read(2), the kernel's copy of every block
 * into user space cost as much as the packet loop's decoding (a sixth of the
 * CPU in the profile). Mapped, the records are read in place from the page
 * cache: the file is mapped in windows of MAPFILE_WINDOW bytes, each
 * replacing the last, so the pages mapped (and counted in the RSS) stay the
 * same whatever the file's size. Only for regular files.
 *
 * The file's size is taken again (fstat) whenever a window is mapped and at
 * its end: a file that grows while it is read (a tcpdump still writing) is
 * read to its new end, as read(2) would; a file cut shorter is read to its
 * new end too, except that bytes already mapped and cut away between two
 * windows make the kernel stop the process with SIGBUS (as with any mapped
 * file). Do not truncate a capture while it is being read.
 */
#ifndef KW_MAPFILE_H
#define KW_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes mapped at a time; a window always holds a whole record (256 KiB at most). */
#define MAPFILE_WINDOW (4u << 20)
/*
 * The same when the windows are not held (one packet loop reads the file):
 * each window's munmap costs a system call and, with another thread of the
 * process on another processor (the output writer), a TLB shootdown; four
 * times fewer of them saved 1-3% of the CPU on the mixed corpus, for 12 MiB
 * more of resident pages. Held windows (mapfile_hold) stay small: several
 * are mapped at once. The first window, mapped before a hold can be asked
 * for, is MAPFILE_WINDOW.
 */
#define MAPFILE_WINDOW_SOLE (16u << 20)

struct mapfile;

/*
 * mapfile_open maps the start of the regular file open on fd; fd stays the
 * caller's (close it after mapfile_close), and its offset is not moved.
 * NULL with errno set when the file is not regular, is empty, or cannot be
 * mapped (the caller then reads it otherwise).
 */
struct mapfile *mapfile_open(int fd);

/* mapfile_close unmaps the file and frees m (NULL: nothing). */
void mapfile_close(struct mapfile *m);

/*
 * mapfile_take takes the next n bytes of the file: *ptr points at them in
 * the mapping, valid until the next call. Returns n, or fewer at the end of
 * the file, with *err the errno of a failed mapping (0 at a clean end).
 */
size_t mapfile_take(struct mapfile *m, size_t n, const uint8_t **ptr, int *err);

/*
 * Holding windows (mapfile_hold): a window is then kept mapped after the
 * next one is, until mapfile_unhold, so that bytes taken from it may be
 * read in place by another thread after the reader moved on (the packet
 * workers of app/workers.c, to which the reader hands pointers, not
 * copies). Windows are numbered from 1 in the order they are mapped. The
 * holder must unhold before MAPFILE_HOLD_MAX windows are held: past that
 * the oldest is unmapped (a bug of the holder's, never reached in
 * kexwatch: it waits at a lower count, see docs/limits.md).
 */
#define MAPFILE_HOLD_MAX 32u

/* mapfile_hold: from now on, keep windows mapped until mapfile_unhold. */
void mapfile_hold(struct mapfile *m);

/* mapfile_window: the number of the window the last bytes taken lie in. */
uint64_t mapfile_window(const struct mapfile *m);

/* mapfile_unhold unmaps the held windows numbered below window (never the current one). */
void mapfile_unhold(struct mapfile *m, uint64_t window);

/* mapfile_held: windows mapped now, the current one included. */
uint32_t mapfile_held(const struct mapfile *m);

/* mapfile_offset: bytes of the file taken so far; for progress. */
uint64_t mapfile_offset(const struct mapfile *m);

#endif
