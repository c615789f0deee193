/*
 * mapfile.c: an uncompressed capture file read through mmap (see mapfile.h).
 *
 * One window of the file is mapped at a time (several while held, see
 * mapfile_hold), from the page that holds the read position, so a record
 * never straddles two windows and is never copied. Each window asks the
 * kernel for read-ahead (MADV_SEQUENTIAL, and POSIX_FADV_WILLNEED for the
 * next window), so a file not yet in the page cache is read from disk
 * ahead of the packet loop. (MAP_POPULATE measured no better: the kernel
 * maps cached pages 16 at a time on each fault.)
 * Not responsible for what the bytes mean (capture.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mapfile.h"

struct mapfile {
	int fd;
	uint64_t size;     /* the file's size when last looked at */
	uint64_t pos;      /* offset of the next byte to take */
	uint64_t win_off;  /* file offset of the window (page aligned) */
	size_t win_len;    /* bytes mapped, 0: no window */
	uint8_t *win;      /* the window */
	uint64_t pagemask; /* page size - 1 */
	uint64_t ahead;    /* file offset up to which the cache was asked for the bytes */
	uint64_t seq;      /* the window's number, from 1 */
	int hold;          /* keep windows past the current one (mapfile_hold) */
	struct held {
		uint64_t seq;
		uint8_t *win;
		size_t len;
	} held[MAPFILE_HOLD_MAX]; /* held windows before the current, oldest first */
	uint32_t nheld;
};

/* retire: the current window is done with; unmapped, or kept when held. */
static void retire(struct mapfile *m)
{
	if (m->win_len == 0)
		return;
	if (m->hold) {
		if (m->nheld == MAPFILE_HOLD_MAX) { /* the holder's bug: see mapfile.h */
			munmap(m->held[0].win, m->held[0].len);
			memmove(&m->held[0], &m->held[1], (m->nheld - 1) * sizeof(m->held[0]));
			m->nheld--;
		}
		m->held[m->nheld++] = (struct held){m->seq, m->win, m->win_len};
	} else {
		munmap(m->win, m->win_len);
	}
	m->win_len = 0;
}

/*
 * Bytes the cache is asked for ahead of the read position. A mapped file's
 * bytes come from memory, not from a copy just made, and the processor's
 * own prefetcher stops at each page: without this, the first read of each
 * record header waited for memory (a tenth of the CPU on the benchmark).
 * Two KiB is a few records ahead, far enough to cover decoding one.
 */
#define MAPFILE_AHEAD 2048u
#define MAPFILE_LINE 64u

/* look_size takes the file's size again; 0, or an errno. */
static int look_size(struct mapfile *m)
{
	struct stat st;

	if (fstat(m->fd, &st) != 0)
		return errno;
	m->size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

/*
 * window_map maps a window that holds [m->pos, m->pos + n), which lies
 * inside the file. 0, or an errno (no window then).
 */
static int window_map(struct mapfile *m, size_t n)
{
	uint64_t off = m->pos & ~m->pagemask;
	uint64_t len = m->hold || m->seq == 0 ? MAPFILE_WINDOW : MAPFILE_WINDOW_SOLE;
	void *w;

	retire(m);
	if (len < m->pos - off + n)
		len = m->pos - off + n;
	if (len > m->size - off)
		len = m->size - off;
	w = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, m->fd, (off_t)off);
	if (w == MAP_FAILED)
		return errno;
	/* Read-ahead for a cold file; both are hints, their failure harmless. */
	(void)madvise(w, (size_t)len, MADV_SEQUENTIAL);
	if (off + len < m->size)
		(void)posix_fadvise(m->fd, (off_t)(off + len), (off_t)len, POSIX_FADV_WILLNEED);
	m->win = w;
	m->win_off = off;
	m->win_len = (size_t)len;
	m->seq++;
	return 0;
}

struct mapfile *mapfile_open(int fd)
{
	struct mapfile *m;
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	int e;

	if (fstat(fd, &st) != 0)
		return NULL;
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || page <= 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->fd = fd;
	m->size = (uint64_t)st.st_size;
	m->pagemask = (uint64_t)page - 1;
	if ((e = window_map(m, 0)) != 0) {
		free(m);
		errno = e;
		return NULL;
	}
	return m;
}

void mapfile_close(struct mapfile *m)
{
	if (m == NULL)
		return;
	if (m->win_len > 0)
		munmap(m->win, m->win_len);
	mapfile_unhold(m, UINT64_MAX);
	free(m);
}

void mapfile_hold(struct mapfile *m)
{
	m->hold = 1;
}

uint64_t mapfile_window(const struct mapfile *m)
{
	return m->seq;
}

void mapfile_unhold(struct mapfile *m, uint64_t window)
{
	uint32_t i = 0;

	for (; i < m->nheld && m->held[i].seq < window; i++)
		munmap(m->held[i].win, m->held[i].len);
	memmove(&m->held[0], &m->held[i], (m->nheld - i) * sizeof(m->held[0]));
	m->nheld -= i;
}

uint32_t mapfile_held(const struct mapfile *m)
{
	return m->nheld + (m->win_len > 0);
}

/* prefetch_ahead asks for the lines up to MAPFILE_AHEAD past the read position, in the window. */
static void prefetch_ahead(struct mapfile *m)
{
	uint64_t at = m->ahead > m->pos ? m->ahead : m->pos;
	uint64_t end = m->pos + MAPFILE_AHEAD;

	if (end > m->win_off + m->win_len)
		end = m->win_off + m->win_len;
	for (; at < end; at += MAPFILE_LINE)
		__builtin_prefetch(m->win + (at - m->win_off));
	m->ahead = at;
}

size_t mapfile_take(struct mapfile *m, size_t n, const uint8_t **ptr, int *err)
{
	uint64_t avail;

	*err = 0;
	/* Near the end: the file may have grown since (a capture still written). */
	if (n > m->size - m->pos && (*err = look_size(m)) != 0)
		return 0;
	if (m->pos >= m->size)
		return 0;
	avail = m->size - m->pos;
	if (n > avail)
		n = (size_t)avail;
	if (m->win_len == 0 || m->pos + n > m->win_off + m->win_len) {
		/* A new window: the size too, so one cut shorter is not mapped past its end. */
		if ((*err = look_size(m)) != 0)
			return 0;
		if (m->pos >= m->size)
			return 0;
		if (n > m->size - m->pos)
			n = (size_t)(m->size - m->pos);
		if ((*err = window_map(m, n)) != 0)
			return 0;
	}
	*ptr = m->win + (m->pos - m->win_off);
	m->pos += n;
	prefetch_ahead(m);
	return n;
}

uint64_t mapfile_offset(const struct mapfile *m)
{
	return m->pos;
}
