/*
 * dirlist.c: the capture files of a directory, in the order of their first
 * frame's time (-r DIR), and a directory that a rotation keeps writing
 * (--follow DIR, tcpdump -G or -C).
 *
 * Responsible for finding the files, reading each one's first frame once
 * to order them, and saying which file is complete: in a rotation, a file
 * is finished once a newer one exists. Not responsible for reading the
 * frames (the caller opens each path with capture_open_file) or for when
 * to look again (app/).
 *
 * The first frame, not the name, orders the files: tcpdump -C numbers its
 * files file, file1, ... file10, which sort wrongly by name. Known gap: a
 * file is read only once it is finished, so while following, records come
 * one rotation period late; the last file is read when the follow ends.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "err.h"

struct dir_file {
	char *path;     /* "dir/name" */
	uint64_t first; /* the first frame's time; 0: no frame yet */
	int state;      /* DF_PENDING, DF_QUEUED, DF_DONE, DF_BAD */
};

enum { DF_PENDING, DF_QUEUED, DF_DONE, DF_BAD };

struct capture_dir {
	char *dir;
	struct dir_file *f;
	uint32_t n, cap, max;
	uint32_t skipped; /* files that are not captures */
};

int capture_dir_open(struct capture_dir **out, const char *dir, uint32_t max_files, char *err,
                     size_t errlen)
{
	struct capture_dir *d;
	struct stat st;

	*out = NULL;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s", errno ? strerror(errno) : "not a directory");
		return KW_ERR_IO;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL || (d->dir = strdup(dir)) == NULL) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return KW_ERR_NOMEM;
	}
	d->max = max_files;
	*out = d;
	return KW_OK;
}

/* A file this large that libpcap cannot open is not a capture being written. */
#define DIR_HEADER_MAX 4096

/*
 * first_time reads path's first frame: 1 with *ts set, 0 when the file has
 * none yet (being written), KW_ERR_IO when it is not a capture.
 */
static int first_time(const char *path, uint64_t *ts)
{
	struct capture *c;
	struct capture_frame fr;
	struct stat st;
	char err[256];
	int r;

	if (capture_open_file(&c, path, err, sizeof(err)) != 0)
		/* No complete header yet (looked at again), or not a capture. */
		return stat(path, &st) == 0 && st.st_size >= DIR_HEADER_MAX ? KW_ERR_IO : 0;
	r = capture_next(c, &fr);
	if (r == 1)
		*ts = fr.ts_us;
	capture_close(c);
	return r == 1 ? 1 : r == 0 ? 0 : KW_ERR_IO;
}

static int has_file(const struct capture_dir *d, const char *path)
{
	for (uint32_t i = 0; i < d->n; i++)
		if (strcmp(d->f[i].path, path) == 0)
			return 1;
	return 0;
}

int capture_dir_scan(struct capture_dir *d)
{
	DIR *dh = opendir(d->dir);
	struct dirent *de;
	char path[4096];
	struct stat st;
	int added = 0;

	if (dh == NULL)
		return KW_ERR_IO;
	while ((de = readdir(dh)) != NULL) {
		/* Hidden files: editors' and tools' own, never a rotation's. */
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", d->dir, de->d_name) >=
		        sizeof(path) ||
		    stat(path, &st) != 0 || !S_ISREG(st.st_mode) || has_file(d, path))
			continue;
		if (d->n == d->max)
			break;
		if (d->n == d->cap) {
			uint32_t cap = d->cap ? d->cap * 2 : 64;
			struct dir_file *f = realloc(d->f, cap * sizeof(*f));
			if (f == NULL)
				break;
			d->f = f;
			d->cap = cap;
		}
		if ((d->f[d->n].path = strdup(path)) == NULL)
			break;
		d->f[d->n].first = 0;
		d->f[d->n++].state = DF_PENDING;
	}
	closedir(dh);
	/* Order the files that have a first frame now. */
	for (uint32_t i = 0; i < d->n; i++) {
		struct dir_file *f = &d->f[i];
		int r;
		if (f->state != DF_PENDING)
			continue;
		if ((r = first_time(f->path, &f->first)) == 1) {
			f->state = DF_QUEUED;
			added++;
		} else if (r < 0) {
			f->state = DF_BAD;
			d->skipped++;
		}
	}
	return added;
}

const char *capture_dir_next(struct capture_dir *d, int final)
{
	struct dir_file *best = NULL;
	int newer = 0;

	for (uint32_t i = 0; i < d->n; i++) {
		struct dir_file *f = &d->f[i];
		if (f->state != DF_QUEUED)
			continue;
		if (best == NULL || f->first < best->first ||
		    (f->first == best->first && strcmp(f->path, best->path) < 0))
			best = f;
	}
	if (best == NULL)
		return NULL;
	/* Finished when the rotation has started a later file (or at the end). */
	for (uint32_t i = 0; i < d->n && !final && !newer; i++) {
		const struct dir_file *f = &d->f[i];
		newer = f != best && (f->state == DF_QUEUED || f->state == DF_PENDING) &&
		        (f->state == DF_PENDING || f->first >= best->first);
	}
	if (!final && !newer)
		return NULL;
	best->state = DF_DONE;
	return best->path;
}

uint32_t capture_dir_skipped(const struct capture_dir *d)
{
	return d->skipped;
}

void capture_dir_close(struct capture_dir *d)
{
	if (d == NULL)
		return;
	for (uint32_t i = 0; i < d->n; i++)
		free(d->f[i].path);
	free(d->f);
	free(d->dir);
	free(d);
}
