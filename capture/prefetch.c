/*
 * prefetch.c: a capture file read ahead by a second thread (see prefetch.h).
 *
 * The reader thread fills PREFETCH_BLOCKS blocks in turn; the reading side
 * (span, under prefetch_take and the stdio stream) takes bytes from the
 * oldest filled block and hands it back when it is used up. The two meet
 * under one mutex once per block, never per record.
 * The block that ends the file (end or error) is never handed back, so every
 * read after the end sees the end again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prefetch.h"
#include "thread.h"

#define PREFETCH_BLOCKS 4
#define PREFETCH_BLOCK (1u << 20) /* bytes per read(2) or gzread */
#define PREFETCH_STDIO (1u << 18) /* stdio's buffer: bytes per stream_read */

struct block {
	char *data;
	size_t len;   /* bytes in data */
	int last;     /* the file ends after these bytes: at its end, or with err */
	int err;      /* errno of the read that failed, else 0 */
	uint64_t end; /* offset in the file after this block (compressed, for gz) */
};

struct prefetch {
	int fd;
	gzFile gz;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t filled, emptied;
	struct block block[PREFETCH_BLOCKS];
	unsigned produced, consumed; /* blocks; block k is block[k % PREFETCH_BLOCKS] */
	int stop;                    /* the stream is being closed */
	uint64_t read_end;           /* the reader's offset in the file */
	char *stdio_buf;
	/* the reading side only */
	int have; /* block[consumed] is filled and being read */
	size_t pos;
	uint8_t *side; /* prefetch_take: bytes that straddle two blocks */
	size_t side_cap;
	uint8_t replay[PREFETCH_REPLAY]; /* given back by prefetch_stream */
	size_t replay_len, replay_pos;
};

/* source_read: one read(2) or gzread; -1 with errno set. */
static ssize_t source_read(struct prefetch *p, char *buf, size_t n)
{
	int zerr, r;

	if (p->gz == NULL)
		return read(p->fd, buf, n);
	errno = 0;
	if ((r = gzread(p->gz, buf, (unsigned)n)) >= 0)
		return r;
	gzerror(p->gz, &zerr);
	if (zerr != Z_ERRNO || errno == 0)
		errno = EIO; /* corrupt or cut compressed data */
	return -1;
}

static void fill(struct prefetch *p, struct block *b)
{
	b->len = 0;
	while (b->len < PREFETCH_BLOCK) {
		ssize_t n = source_read(p, b->data + b->len, PREFETCH_BLOCK - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			b->last = 1;
			b->err = n < 0 ? errno : 0;
			return;
		}
		b->len += (size_t)n;
		p->read_end += (uint64_t)n;
	}
}

static void *reader(void *arg)
{
	struct prefetch *p = arg;
	struct block *b;

	do {
		pthread_mutex_lock(&p->mu);
		while (!p->stop && p->produced - p->consumed == PREFETCH_BLOCKS)
			pthread_cond_wait(&p->emptied, &p->mu);
		if (p->stop) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		b = &p->block[p->produced % PREFETCH_BLOCKS];
		pthread_mutex_unlock(&p->mu);

		fill(p, b);
		b->end = p->gz ? (uint64_t)gzoffset(p->gz) : p->read_end;

		pthread_mutex_lock(&p->mu);
		p->produced++;
		pthread_cond_signal(&p->filled);
		pthread_mutex_unlock(&p->mu);
	} while (!b->last);
	return NULL;
}

/*
 * span: the next bytes of the file, up to max, from one block and without a
 * copy (after any replayed bytes); valid until the next call. 0 at the end
 * of the file or after a read error (err then says which).
 */
static size_t span(struct prefetch *p, size_t max, const uint8_t **ptr, int *err)
{
	struct block *b;
	size_t n;

	*err = 0;
	if (p->replay_pos < p->replay_len) {
		n = p->replay_len - p->replay_pos < max ? p->replay_len - p->replay_pos : max;
		*ptr = p->replay + p->replay_pos;
		p->replay_pos += n;
		return n;
	}
	for (;;) {
		b = &p->block[p->consumed % PREFETCH_BLOCKS];
		if (!p->have) {
			pthread_mutex_lock(&p->mu);
			while (p->produced == p->consumed)
				pthread_cond_wait(&p->filled, &p->mu);
			pthread_mutex_unlock(&p->mu);
			p->have = 1;
			p->pos = 0;
		}
		if (p->pos < b->len)
			break;
		if (b->last) { /* never handed back: every later call ends here too */
			*err = b->err;
			return 0;
		}
		pthread_mutex_lock(&p->mu);
		p->consumed++;
		pthread_cond_signal(&p->emptied);
		pthread_mutex_unlock(&p->mu);
		p->have = 0;
	}
	n = b->len - p->pos < max ? b->len - p->pos : max;
	*ptr = (const uint8_t *)b->data + p->pos;
	p->pos += n;
	return n;
}

size_t prefetch_take(struct prefetch *p, size_t n, const uint8_t **ptr, int *err)
{
	const uint8_t *q;
	size_t got = span(p, n, ptr, err), more;

	if (got == n || got == 0)
		return got;
	if (p->side_cap < n) {
		uint8_t *side = realloc(p->side, n);
		if (side == NULL) {
			*err = ENOMEM;
			return 0;
		}
		p->side = side;
		p->side_cap = n;
	}
	memcpy(p->side, *ptr, got);
	while (got < n && (more = span(p, n - got, &q, err)) > 0) {
		memcpy(p->side + got, q, more);
		got += more;
	}
	*ptr = p->side;
	return got;
}

static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct prefetch *p = cookie;
	const uint8_t *q;
	size_t got = 0, n;
	int err = 0;

	while (got < size && (n = span(p, size - got, &q, &err)) > 0) {
		memcpy(buf + got, q, n);
		got += n;
	}
	if (got == 0 && err != 0) {
		errno = err;
		return -1;
	}
	return (ssize_t)got;
}

uint64_t prefetch_offset(const struct prefetch *p)
{
	return p->have ? p->block[p->consumed % PREFETCH_BLOCKS].end : 0;
}

static void destroy(struct prefetch *p)
{
	for (int i = 0; i < PREFETCH_BLOCKS; i++)
		free(p->block[i].data);
	free(p->stdio_buf);
	free(p->side);
	pthread_cond_destroy(&p->filled);
	pthread_cond_destroy(&p->emptied);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* stop_reader ends the reader thread; a regular file's read returns soon. */
static void stop_reader(struct prefetch *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_signal(&p->emptied);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
}

int prefetch_close(struct prefetch *p)
{
	int rc;

	if (p == NULL)
		return 0;
	stop_reader(p);
	if (p->gz != NULL)
		rc = gzclose_r(p->gz) == Z_OK ? 0 : EOF;
	else
		rc = close(p->fd);
	destroy(p);
	return rc;
}

static int stream_close(void *cookie)
{
	return prefetch_close(cookie);
}

struct prefetch *prefetch_open(int fd, gzFile gz)
{
	struct prefetch *p = calloc(1, sizeof(*p));
	int e = ENOMEM;

	if (p == NULL)
		return NULL;
	p->fd = fd;
	p->gz = gz;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->filled, NULL);
	pthread_cond_init(&p->emptied, NULL);
	for (int i = 0; i < PREFETCH_BLOCKS; i++)
		if ((p->block[i].data = malloc(PREFETCH_BLOCK)) == NULL)
			goto fail;
	if ((e = kw_thread_start(&p->thread, reader, p, "kw-prefetch")) == 0)
		return p;
fail:
	destroy(p);
	errno = e;
	return NULL;
}

FILE *prefetch_stream(struct prefetch *p, const uint8_t *replay, size_t n)
{
	static const cookie_io_functions_t io = {.read = stream_read, .close = stream_close};
	FILE *f;

	if (n > sizeof(p->replay) ||
	    (p->stdio_buf == NULL && (p->stdio_buf = malloc(PREFETCH_STDIO)) == NULL)) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(p->replay, replay, n);
	p->replay_len = n;
	p->replay_pos = 0;
	if ((f = fopencookie(p, "rb", io)) == NULL)
		return NULL;
	/* Buffered: glibc reads an unbuffered cookie stream a byte at a time.
	 * (glibc ignores the size unless it is given the buffer.) */
	setvbuf(f, p->stdio_buf, _IOFBF, PREFETCH_STDIO);
	return f;
}
