/*
 * sink.c: where records go: standard output and files (see output.h), and
 * what every sink shares (the ops table of sink.h dispatches to each kind).
 *
 * Responsible for writing each record whole, with one write(2), so that a
 * shipper tailing the file, or the file logrotate renames, never holds half
 * a record; for reopening a file on request (SIGHUP, logrotate's `create`);
 * and for reporting a failing sink once and its recovery once. Not
 * responsible for formatting records (output.c) or for syslog framing
 * (sink_syslog.c, which brings its own ops).
 */
#define _GNU_SOURCE /* memrchr */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "sink.h"
#include "thread.h"

static const struct sink_ops fd_ops, file_ops; /* below */

void sink_failed(struct sink *s, const char *why)
{
	if (s->failing)
		return;
	s->failing = 1;
	s->lost_at_failure = s->lost;
	fprintf(stderr, "kexwatch: %s: %s (retrying with each record)\n", s->name, why);
}

void sink_ok(struct sink *s)
{
	if (!s->failing)
		return;
	s->failing = 0;
	fprintf(stderr, "kexwatch: %s: working again (%llu records lost)\n", s->name,
	        (unsigned long long)(s->lost - s->lost_at_failure));
}

struct sink *sink_new(enum sink_kind kind, const struct sink_ops *ops, const char *name)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if ((s->name = strdup(name)) == NULL) {
		free(s);
		return NULL;
	}
	s->kind = kind;
	s->ops = ops;
	s->fd = -1;
	return s;
}

int sink_open_fd(struct sink **out, int fd, const char *name)
{
	struct sink *s = sink_new(SINK_FD, &fd_ops, name);

	*out = s;
	if (s == NULL)
		return KW_ERR_NOMEM;
	s->fd = fd;
	return KW_OK;
}

static int open_append(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int sink_open_file(struct sink **out, const char *path, char *err, size_t errlen)
{
	struct sink *s;
	int fd;

	*out = NULL;
	if ((fd = open_append(path)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return KW_ERR_IO;
	}
	if ((s = sink_new(SINK_FILE, &file_ops, path)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return KW_ERR_NOMEM;
	}
	s->fd = fd;
	*out = s;
	return KW_OK;
}

/* write_all writes p[0..n); 0, or -1 with errno and *done bytes written. */
static int write_all(int fd, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while (*done < n) {
		ssize_t w = write(fd, p + *done, n - *done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		*done += (size_t)w;
	}
	return 0;
}

/* count_lines: the records (newlines) in p[0..n). */
static uint64_t count_lines(const char *p, size_t n)
{
	uint64_t lines = 0;

	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
		lines++;
	return lines;
}

/*
 * fd_write writes records, buf[0..n) holding `records` whole lines. On a
 * failure, the whole records that reached a regular file stay and the rest
 * of a torn one is taken back, so the file holds whole lines only; where
 * that cannot be done the line is ended before the next write.
 */
static int fd_write(struct sink *s, const char *buf, size_t n, uint64_t records)
{
	size_t done;
	int e;

	if (s->torn && write_all(s->fd, "\n", 1, &done) == 0)
		s->torn = 0;
	if (!s->torn && write_all(s->fd, buf, n, &done) == 0) {
		s->written += records;
		sink_ok(s);
		return KW_OK;
	}
	e = errno;
	if (s->torn)
		done = 0;
	if (done > 0) {
		const char *nl = memrchr(buf, '\n', done);
		size_t whole = nl ? (size_t)(nl - buf) + 1 : 0;
		struct stat st;

		s->written += count_lines(buf, whole);
		records -= count_lines(buf, whole);
		if (whole < done) {
			off_t cut = (off_t)(done - whole);
			if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= cut &&
			    ftruncate(s->fd, st.st_size - cut) == 0)
				s->torn = 0;
			else
				s->torn = 1;
		}
	}
	sink_failed(s, strerror(e));
	s->lost += records;
	errno = e;
	return KW_ERR_IO;
}

/* writer: the thread that writes the batches handed over in spare. */
static void *writer(void *arg)
{
	struct sink *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->busy && !s->stop)
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->busy)
			break;
		pthread_mutex_unlock(&s->mu);
		fd_write(s, s->spare, s->slen, s->srecords);
		pthread_mutex_lock(&s->mu);
		s->busy = 0;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void wait_idle(struct sink *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->busy)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

int sink_batch(struct sink *s, size_t bytes)
{
	if (s->kind == SINK_SYSLOG || bytes == 0)
		return KW_OK;
	s->batch = malloc(bytes);
	s->spare = malloc(bytes);
	if (s->batch == NULL || s->spare == NULL) {
		free(s->batch);
		free(s->spare);
		s->batch = s->spare = NULL;
		return KW_ERR_NOMEM;
	}
	s->bcap = bytes;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->threaded = kw_thread_start(&s->writer, writer, s, "kw-writer") == 0;
	return KW_OK;
}

/* hand_over: the gathered records to the writer thread, or written here. */
static int hand_over(struct sink *s)
{
	int rc = KW_OK;
	char *t;

	if (s->blen == 0)
		return KW_OK;
	if (s->threaded) {
		pthread_mutex_lock(&s->mu);
		while (s->busy)
			pthread_cond_wait(&s->cv, &s->mu);
		t = s->spare;
		s->spare = s->batch;
		s->batch = t;
		s->slen = s->blen;
		s->srecords = s->brecords;
		s->busy = 1;
		pthread_mutex_unlock(&s->mu);
		/* After the unlock: the writer wakes to a free mutex, not to
		 * sleep again on it (one wake-up per batch, not two). */
		pthread_cond_broadcast(&s->cv);
	} else {
		rc = fd_write(s, s->batch, s->blen, s->brecords);
	}
	s->blen = 0;
	s->brecords = 0;
	return rc;
}

int sink_flush(struct sink *s)
{
	int rc = hand_over(s);

	if (s->threaded)
		wait_idle(s);
	return rc;
}

/* fd_sink_write: one record to a file or standard output, batched or not. */
static int fd_sink_write(struct sink *s, const char *line, size_t n, int severity,
                         const char *msgid)
{
	int rc = KW_OK;

	(void)severity;
	(void)msgid;
	if (s->batch == NULL)
		return fd_write(s, line, n, 1);
	if (s->blen + n > s->bcap) {
		rc = hand_over(s); /* a failure is reported and counted by fd_write */
		if (n > s->bcap) { /* larger than a batch: on its own, in order */
			int rc2;
			if (s->threaded)
				wait_idle(s);
			rc2 = fd_write(s, line, n, 1);
			return rc != KW_OK ? rc : rc2;
		}
	}
	memcpy(s->batch + s->blen, line, n);
	s->blen += n;
	s->brecords++;
	return rc;
}

/* file_sink_reopen opens the path again (after logrotate renamed it). */
static int file_sink_reopen(struct sink *s)
{
	int fd;

	sink_flush(s);
	if ((fd = open_append(s->name)) < 0) {
		int e = errno;
		fprintf(stderr, "kexwatch: %s: cannot reopen: %s (still writing to the old file)\n",
		        s->name, strerror(e));
		errno = e;
		return KW_ERR_IO;
	}
	close(s->fd);
	s->fd = fd;
	s->torn = 0; /* a torn line stays in the old file */
	return KW_OK;
}

/* fd_sink_close writes what is gathered; the rest is sink_close's. */
static void fd_sink_close(struct sink *s)
{
	sink_flush(s);
}

static const struct sink_ops fd_ops = {
    .write = fd_sink_write,
    .close = fd_sink_close,
};

static const struct sink_ops file_ops = {
    .write = fd_sink_write,
    .reopen = file_sink_reopen,
    .close = fd_sink_close,
};

int sink_write(struct sink *s, const char *line, size_t n, int severity, const char *msgid)
{
	return s->ops->write(s, line, n, severity, msgid);
}

int sink_reopen(struct sink *s)
{
	return s->ops->reopen != NULL ? s->ops->reopen(s) : KW_OK;
}

void sink_tick(struct sink *s)
{
	if (s->ops->tick != NULL)
		s->ops->tick(s);
}

const char *sink_name(const struct sink *s)
{
	return s->name;
}

void sink_counts(const struct sink *s, uint64_t *written, uint64_t *lost)
{
	*written = s->written;
	*lost = s->lost;
}

void sink_close(struct sink *s)
{
	if (s == NULL)
		return;
	s->ops->close(s);
	if (s->threaded) {
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->writer, NULL);
	}
	if (s->batch != NULL) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
	}
	if (s->kind == SINK_FILE && s->fd >= 0)
		close(s->fd);
	free(s->queue);
	free(s->batch);
	free(s->spare);
	free(s->name);
	free(s);
}
