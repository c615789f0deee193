/*
 * test_mapfile.c: unit.mapfile — a capture file read through mmap in
 * windows (capture/mapfile.c): every byte comes back in order whatever the
 * sizes taken, takes that cross a window's end come back whole, the end of
 * the file is a clean end, a file that grows after its end was reached is
 * read on, one cut shorter between two windows ends at its new end, and
 * what cannot be mapped (an empty file, a pipe) is refused for the caller
 * to read otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapfile.h"
#include "tap.h"

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 131u + (i >> 13));
}

/* write_pattern writes bytes [from, to) of the pattern at the end of fd. */
static int write_pattern(int fd, uint64_t from, uint64_t to)
{
	static uint8_t buf[65536];

	while (from < to) {
		size_t n = to - from < sizeof(buf) ? (size_t)(to - from) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(from + i);
		if (write(fd, buf, n) != (ssize_t)n)
			return -1;
		from += n;
	}
	return 0;
}

static int same(const uint8_t *p, uint64_t at, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(at + i))
			return 0;
	return 1;
}

/* take_all takes the file in sizes that cross windows at every offset mod 16. */
static uint64_t take_all(struct mapfile *m, uint64_t at, int *ok, int *err)
{
	static const size_t sizes[] = {16, 200000, 1, 262160, 4095, 24, 77777};
	const uint8_t *p;
	size_t n;

	*ok = 1;
	for (unsigned k = 0;; k++) {
		size_t want = sizes[k % (sizeof(sizes) / sizeof(sizes[0]))];
		if ((n = mapfile_take(m, want, &p, err)) == 0)
			break;
		if (!same(p, at, n))
			*ok = 0;
		at += n;
		if (mapfile_offset(m) != at)
			*ok = 0;
		if (n < want)
			break;
	}
	return at;
}

int main(void)
{
	char path[] = "/tmp/kw-test-mapfile.XXXXXX";
	/* The first window is MAPFILE_WINDOW, the next ones (not held) MAPFILE_WINDOW_SOLE. */
	const uint64_t size = (uint64_t)MAPFILE_WINDOW + MAPFILE_WINDOW_SOLE + 12345;
	const uint8_t *p;
	struct mapfile *m;
	int fd, ok, err, pipefd[2];
	uint64_t got;

	if ((fd = mkstemp(path)) < 0)
		tap_skip_all("cannot create a temporary file");
	unlink(path);

	/* An empty file is not mapped: the caller reads it (and says it is empty). */
	errno = 0;
	CHECK(mapfile_open(fd) == NULL && errno == EINVAL, "an empty file is refused");
	CHECK(pipe(pipefd) == 0, "pipe");
	CHECK(mapfile_open(pipefd[0]) == NULL, "a pipe is refused");
	close(pipefd[0]);
	close(pipefd[1]);

	/* Every byte in order, across two window ends, then a clean end. */
	CHECK(write_pattern(fd, 0, size) == 0, "write the file");
	CHECK((m = mapfile_open(fd)) != NULL, "map the file");
	got = take_all(m, 0, &ok, &err);
	CHECK(ok, "every byte taken is the file's, in order");
	CHECK_EQ_INT(got, size);
	CHECK_EQ_INT(err, 0);
	/* Not held: one small window, then large ones (the last is the rest). */
	CHECK_EQ_INT(mapfile_window(m), 3);
	CHECK_EQ_INT(mapfile_take(m, 16, &p, &err), 0);
	CHECK_EQ_INT(err, 0);

	/* Grown after its end was reached: read on, as read(2) would. */
	CHECK(write_pattern(fd, size, size + 1000) == 0, "append");
	CHECK_EQ_INT(mapfile_take(m, 600, &p, &err), 600);
	CHECK(same(p, size, 600), "the appended bytes");
	CHECK_EQ_INT(mapfile_take(m, 600, &p, &err), 400);
	CHECK(same(p, size + 600, 400), "the rest, short");
	mapfile_close(m);

	/* Cut shorter than the file was, beyond the window being read: the
	 * next window ends at the new end. */
	CHECK((m = mapfile_open(fd)) != NULL, "map again");
	CHECK_EQ_INT(mapfile_take(m, 1000, &p, &err), 1000);
	CHECK(ftruncate(fd, MAPFILE_WINDOW + 5000) == 0, "truncate");
	got = take_all(m, 1000, &ok, &err);
	CHECK(ok, "bytes before the cut are the file's");
	CHECK_EQ_INT(got, MAPFILE_WINDOW + 5000);
	CHECK_EQ_INT(err, 0);
	mapfile_close(m);

	/* Held: bytes taken from earlier windows stay readable, in place,
	 * until unheld; unholding releases those windows only. */
	CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0 &&
	          write_pattern(fd, 0, size) == 0,
	      "write the file again");
	CHECK((m = mapfile_open(fd)) != NULL, "map it");
	mapfile_hold(m);
	{
		const uint8_t *first, *second;
		uint64_t w1 = mapfile_window(m);

		CHECK_EQ_INT(mapfile_take(m, 1000, &first, &err), 1000);
		CHECK_EQ_INT(mapfile_take(m, MAPFILE_WINDOW, &second, &err), MAPFILE_WINDOW);
		CHECK(mapfile_window(m) == w1 + 1, "the second take needed a new window");
		CHECK_EQ_INT(mapfile_held(m), 2);
		CHECK(same(first, 0, 1000), "the first window's bytes are still there");
		got = take_all(m, 1000 + MAPFILE_WINDOW, &ok, &err);
		CHECK(ok && got == size, "the rest of the file, held window after window");
		CHECK(mapfile_held(m) >= 3, "every window is held (%u)", mapfile_held(m));
		CHECK(same(first, 0, 1000) && same(second, 1000, MAPFILE_WINDOW),
		      "bytes of every held window are readable");
		mapfile_unhold(m, w1 + 1);
		CHECK_EQ_INT(mapfile_held(m), mapfile_window(m) - w1);
		CHECK(same(second, 1000, MAPFILE_WINDOW), "a window not released stays readable");
		mapfile_unhold(m, UINT64_MAX);
		CHECK_EQ_INT(mapfile_held(m), 1); /* the current window is never released */
	}
	mapfile_close(m);
	mapfile_close(NULL);
	close(fd);
	return tap_done();
}
