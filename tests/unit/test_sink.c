/*
 * test_sink.c: unit.sink — file sinks, one write per record and batched.
 * A batched sink must leave the same bytes in the file as an unbatched
 * one, in order, including records larger than a batch; the records are
 * written by sink_flush and by sink_close; against /dev/full every record
 * is counted lost and none written; UDP syslog to a closed port counts its
 * losses though the kernel tells each one a send late.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "output.h"
#include "tap.h"

#define NRECORDS 500

/* record i: a line of a length that varies with i, some larger than the batch. */
static size_t record(char *buf, size_t cap, int i)
{
	size_t n = (size_t)(i % 7 == 0 ? 3000 : 20 + i % 90);

	if (n + 1 > cap)
		n = cap - 1;
	for (size_t k = 0; k < n; k++)
		buf[k] = (char)('a' + (i + (int)k) % 26);
	buf[n] = '\n';
	return n + 1;
}

/* write_file writes every record through a sink on path, batched by batch bytes (0: not). */
static void write_file(const char *path, size_t batch, uint64_t *written, uint64_t *lost)
{
	char err[128], line[4096];
	struct sink *s;

	if (sink_open_file(&s, path, err, sizeof(err)) != KW_OK) {
		CHECK(0, "open %s: %s", path, err);
		return;
	}
	CHECK_EQ_INT(sink_batch(s, batch), KW_OK);
	for (int i = 0; i < NRECORDS; i++)
		sink_write(s, line, record(line, sizeof(line), i), SINK_SEV_INFO, "ssh");
	sink_flush(s);
	sink_counts(s, written, lost);
	sink_close(s);
}

static void test_batched_same_bytes(void)
{
	char one[] = "/tmp/kw-sink-one.XXXXXX", many[] = "/tmp/kw-sink-many.XXXXXX";
	int fd1 = mkstemp(one), fd2 = mkstemp(many);
	uint64_t w1, l1, w2, l2;
	size_t n1 = 0, n2 = 0;
	uint8_t *a, *b;

	CHECK(fd1 >= 0 && fd2 >= 0, "temporary files");
	close(fd1);
	close(fd2);
	write_file(one, 0, &w1, &l1);
	write_file(many, 1024, &w2, &l2); /* records of 3001 bytes exceed the batch */
	a = tap_read_file(one, &n1);
	b = tap_read_file(many, &n2);
	CHECK(a != NULL && b != NULL, "files read back");
	CHECK(n1 > 0 && n1 == n2 && a && b && memcmp(a, b, n1) == 0,
	      "batched output is byte for byte the unbatched output (%zu vs %zu bytes)", n1, n2);
	CHECK_EQ_INT(w1, NRECORDS);
	CHECK_EQ_INT(w2, NRECORDS);
	CHECK_EQ_INT(l1 + l2, 0);
	free(a);
	free(b);
	unlink(one);
	unlink(many);
}

static void test_close_flushes(void)
{
	char path[] = "/tmp/kw-sink-close.XXXXXX", err[128], line[64];
	int fd = mkstemp(path);
	struct sink *s;
	uint8_t *data;
	size_t n = 0;

	CHECK(fd >= 0, "temporary file");
	close(fd);
	if (sink_open_file(&s, path, err, sizeof(err)) != KW_OK) {
		CHECK(0, "open: %s", err);
		return;
	}
	sink_batch(s, 1 << 16);
	sink_write(s, line, record(line, sizeof(line), 1), SINK_SEV_INFO, "ssh");
	data = tap_read_file(path, &n);
	CHECK_EQ_INT(n, 0); /* gathered, not written yet */
	free(data);
	sink_close(s);
	data = tap_read_file(path, &n);
	CHECK_EQ_INT(n, 22);
	CHECK(data != NULL && n > 0 && data[n - 1] == '\n', "the record is whole after close");
	free(data);
	unlink(path);
}

static void test_full_device(void)
{
	uint64_t written, lost;

	if (access("/dev/full", W_OK) != 0) {
		CHECK(1, "# skip: no /dev/full");
		return;
	}
	fprintf(stderr, "# the two 'No space left' lines below are expected\n");
	write_file("/dev/full", 0, &written, &lost);
	CHECK_EQ_INT(written, 0);
	CHECK_EQ_INT(lost, NRECORDS);
	write_file("/dev/full", 4096, &written, &lost);
	CHECK_EQ_INT(written, 0);
	CHECK_EQ_INT(lost, NRECORDS);
}

/*
 * UDP syslog to a port nobody listens on: each datagram is lost, but the
 * kernel says so (ECONNREFUSED) only on the send after it. All but the last
 * one must be counted lost, none twice.
 */
static void test_udp_refused(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	char target[64], err[128], line[64];
	uint64_t written, lost;
	struct sink *s;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	/* A free UDP port on loopback: bound, then let go. */
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		CHECK(1, "# skip: no UDP socket on loopback");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	snprintf(target, sizeof(target), "udp://127.0.0.1:%u", ntohs(a.sin_port));
	if (sink_open_syslog(&s, target, 16, err, sizeof(err)) != KW_OK) {
		CHECK(0, "open %s: %s", target, err);
		return;
	}
	fprintf(stderr, "# the 'Connection refused' line below is expected\n");
	for (int i = 0; i < 10; i++) {
		int n = snprintf(line, sizeof(line), "{\"n\":%d}\n", i);
		sink_write(s, line, (size_t)n, SINK_SEV_INFO, "ssh");
		usleep(20000); /* the ICMP error comes back before the next send */
	}
	sink_counts(s, &written, &lost);
	sink_close(s);
	CHECK_EQ_INT(written + lost, 10);
	CHECK(lost >= 9, "lost %llu of 10", (unsigned long long)lost);
}

int main(void)
{
	test_batched_same_bytes();
	test_close_flushes();
	test_full_device();
	test_udp_refused();
	return tap_done();
}
