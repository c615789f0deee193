/*
 * capture.c: capture files and live interfaces through libpcap (see
 * capture.h).
 *
 * An uncompressed regular file in classic pcap format is mapped
 * (mapfile.c) and its records are read here, in place in the mapping, once
 * libpcap has accepted the file header (open_classic, next_classic: the
 * benchmark spent a fifth of the packet loop in stdio and copies, then a
 * sixth in the kernel's copy of read(2)). Any other regular file is read
 * ahead, and inflated when compressed, by a second thread (prefetch.c):
 * classic pcap records are read in place in its blocks, and libpcap reads
 * pcapng and anything unusual itself, from a stdio stream over the same
 * blocks. Standard input and pipes are read in this thread behind a stdio
 * cookie (struct stream), one read(2) of what is there at a time (inflated
 * when the first bytes are gzip's), so a frame is handed out as soon as its
 * bytes arrive; while nothing arrives the stream polls, calls the caller's
 * idle hook and looks at the stop flag, so neither records nor signals wait
 * for the writer. Live captures
 * use libpcap's memory-mapped ring as it is (pcap_create/pcap_activate),
 * nonblocking, with a short ring timeout instead of immediate mode so a busy
 * link is read in blocks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#ifdef __linux__
#include <linux/if_packet.h>
#endif
#include <unistd.h>
#include <zlib.h>

#include "capture.h"
#include "err.h"
#include "mapfile.h"
#include "prefetch.h"

/* libpcap's largest sane captured length for the link types read here
 * (MAXIMUM_SNAPLEN, max_snaplen_for_dlt). */
#define CAPTURE_MAX_CAPLEN 262144u

struct capture {
	pcap_t *pcap;
	FILE *file;             /* the stream libpcap reads; closed by pcap_close */
	struct stream *stream;  /* standard input, a pipe, a FIFO (stream_read) */
	struct prefetch *ahead; /* a regular file, read ahead (prefetch.c) */
	struct mapfile *map;    /* or mapped (mapfile.c): classic pcap only */
	int map_fd;             /* the mapped file, closed by capture_close */
	/* classic pcap read here (see next_classic); pcap holds the header only */
	int classic, swapped, nsec, has_prog;
	uint32_t snapshot;
	struct bpf_program prog;
	uint8_t header[24]; /* the file header, read by libpcap through fmemopen */
	int link;
	int live;
	int fd; /* live: pcap_get_selectable_fd */
	/* live: libpcap's last 32-bit counters and their 64-bit sums */
	unsigned int last_recv, last_drop, last_ifdrop;
	struct capture_counters sum;
	char err[PCAP_ERRBUF_SIZE + 64];
};

static volatile sig_atomic_t *stop_flag;

void capture_set_stop_flag(volatile sig_atomic_t *flag)
{
	stop_flag = flag;
}

#define STREAM_IN (1u << 16)    /* bytes per read(2) at most */
#define STREAM_STDIO (1u << 16) /* stdio's buffer over the cookie */

/* A streamed input: read as its bytes come, inflated when gzip. */
struct stream {
	int fd;
	int gzip, eof, z_live; /* z_live: inflate is inside a member */
	z_stream z;
	struct capture_wait wait;
	uint8_t in[STREAM_IN];
	size_t in_pos, in_len; /* plain input: bytes peeked, not yet given */
	char *stdio_buf;
};

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * stream_fd_read: one read(2) of what is there (at least one byte, or 0 at
 * the end), waiting in poll(2) with the idle hook while nothing is. -1
 * with errno EINTR once the stop flag is set, or read(2)'s error.
 */
static ssize_t stream_fd_read(struct stream *s, void *buf, size_t n)
{
	uint64_t quiet_since = 0;

	for (;;) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		int r;

		if (stop_flag != NULL && *stop_flag) {
			errno = EINTR;
			return -1;
		}
		r = poll(&pfd, 1, quiet_since ? CAPTURE_IDLE_TICK_MS : 0);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0) {
			ssize_t k = read(s->fd, buf, n);
			if (k < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			return k;
		}
		if (r == 0) {
			uint64_t now = mono_us();
			if (quiet_since == 0)
				quiet_since = now;
			if (s->wait.idle != NULL)
				s->wait.idle(s->wait.ctx, now - quiet_since);
		}
	}
}

/* stream_read (stdio cookie): plain bytes, or inflated ones (RFC 1952 members). */
static ssize_t stream_read(void *cookie, char *buf, size_t size)
{
	struct stream *s = cookie;
	ssize_t k;
	int r;

	if (!s->gzip) {
		if (s->in_pos < s->in_len) {
			size_t n = s->in_len - s->in_pos < size ? s->in_len - s->in_pos : size;
			memcpy(buf, s->in + s->in_pos, n);
			s->in_pos += n;
			return (ssize_t)n;
		}
		return stream_fd_read(s, buf, size > STREAM_IN ? STREAM_IN : size);
	}
	for (;;) {
		if (s->z.avail_in == 0 && !s->eof) {
			if ((k = stream_fd_read(s, s->in, sizeof(s->in))) < 0)
				return -1;
			s->eof = k == 0;
			s->z.next_in = s->in;
			s->z.avail_in = (uInt)k;
		}
		if (s->z.avail_in == 0 && s->eof) {
			if (!s->z_live)
				return 0;
			errno = EIO; /* cut inside a gzip member */
			return -1;
		}
		if (!s->z_live) { /* a member starts: gzip again, or the end of it all */
			if (inflateReset(&s->z) != Z_OK) {
				errno = EIO;
				return -1;
			}
			s->z_live = 1;
		}
		s->z.next_out = (Bytef *)buf;
		s->z.avail_out = (uInt)(size > (1u << 30) ? (1u << 30) : size);
		r = inflate(&s->z, Z_NO_FLUSH);
		if (r == Z_STREAM_END)
			s->z_live = 0;
		else if (r != Z_OK && r != Z_BUF_ERROR) {
			errno = EIO; /* corrupt compressed data */
			return -1;
		}
		if ((Bytef *)buf != s->z.next_out)
			return (ssize_t)((Bytef *)s->z.next_out - (Bytef *)buf);
	}
}

static int stream_close(void *cookie)
{
	struct stream *s = cookie;
	int rc = close(s->fd);

	if (s->gzip)
		inflateEnd(&s->z);
	free(s->stdio_buf);
	free(s);
	return rc;
}

/*
 * stream_open reads fd as it comes, through a stdio stream (the cookie owns
 * fd from then on; fclose closes it). The first two bytes say whether it is
 * gzip. NULL with errno set (fd then still the caller's).
 */
static FILE *stream_open(struct capture *c, int fd)
{
	static const cookie_io_functions_t io = {.read = stream_read, .close = stream_close};
	struct stream *s = calloc(1, sizeof(*s));
	FILE *f;
	ssize_t k;
	int e = ENOMEM;

	if (s == NULL || (s->stdio_buf = malloc(STREAM_STDIO)) == NULL)
		goto fail;
	s->fd = fd;
	while (s->in_len < 2 && (k = stream_fd_read(s, s->in + s->in_len, 2 - s->in_len)) != 0) {
		if (k < 0) {
			e = errno;
			goto fail;
		}
		s->in_len += (size_t)k;
	}
	if (s->in_len == 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
		/* 16 + MAX_WBITS: a gzip wrapper (RFC 1952), not zlib's. */
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
			goto fail;
		s->gzip = 1;
		s->z_live = 1;
		s->z.next_in = s->in;
		s->z.avail_in = 2;
		s->in_len = 0;
	}
	if ((f = fopencookie(s, "rb", io)) == NULL) {
		e = errno;
		if (s->gzip)
			inflateEnd(&s->z);
		goto fail;
	}
	setvbuf(f, s->stdio_buf, _IOFBF, STREAM_STDIO);
	c->stream = s;
	return f;
fail:
	if (s != NULL)
		free(s->stdio_buf);
	free(s);
	errno = e;
	return NULL;
}

void capture_set_wait(struct capture *c, const struct capture_wait *w)
{
	if (c->stream == NULL)
		return;
	if (w != NULL)
		c->stream->wait = *w;
	else
		memset(&c->stream->wait, 0, sizeof(c->stream->wait));
}

/* is_gzip: whether the file open on fd starts with gzip's magic (not moving its offset). */
static int is_gzip(int fd)
{
	unsigned char magic[2];

	return pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

static uint16_t get16(const uint8_t *p, int swapped)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return swapped ? __builtin_bswap16(v) : v;
}

static uint32_t get32(const uint8_t *p, int swapped)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* Link types whose frames libpcap hands out as they are in the file. */
static int plain_link(int link)
{
	switch (link) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	default:
		return 0;
	}
}

/*
 * open_classic: a classic pcap file (version 2.4, micro- or nanosecond
 * magic in either byte order, no FCS bits in the link type) whose header
 * libpcap accepts, for a link type libpcap passes through untouched, is
 * read here, record by record straight from the mapping or the read-ahead
 * blocks: no stdio
 * and no copies for libpcap. libpcap still reads the header (from a copy
 * through fmemopen), so the link type, snapshot length and any complaint
 * are its own. 1 when c reads the file so, 0 when libpcap should.
 */
static int open_classic(struct capture *c, const uint8_t *h, size_t n)
{
	char pcap_err[PCAP_ERRBUF_SIZE];
	uint32_t magic;
	FILE *f;

	if (n < 24)
		return 0;
	memcpy(&magic, h, 4);
	c->swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	c->nsec = magic == 0xa1b23c4du || magic == 0x4d3cb2a1u;
	if ((magic != 0xa1b2c3d4u && magic != 0xa1b23c4du && !c->swapped) ||
	    get16(h + 4, c->swapped) != 2 || get16(h + 6, c->swapped) != 4 ||
	    (get32(h + 20, c->swapped) & 0xffff0000u) != 0)
		return 0;
	memcpy(c->header, h, 24);
	if ((f = fmemopen(c->header, 24, "rb")) == NULL)
		return 0;
	c->pcap =
	    pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, pcap_err);
	if (c->pcap == NULL) {
		fclose(f);
		return 0; /* libpcap reads it all again, and says what it dislikes */
	}
	if (!plain_link(pcap_datalink(c->pcap)) || pcap_snapshot(c->pcap) <= 0) {
		pcap_close(c->pcap);
		c->pcap = NULL;
		return 0;
	}
	c->snapshot = (uint32_t)pcap_snapshot(c->pcap);
	c->classic = 1;
	return 1;
}

/*
 * open_file opens what libpcap (or open_classic) reads, taking fd: an
 * uncompressed classic pcap file is mapped (mapfile.c); any other regular
 * file is read ahead by prefetch.c (inflated there when compressed);
 * anything else (standard input, a pipe) is read in this thread through
 * zlib, which passes uncompressed input through, since a pipe cannot be
 * peeked and rewound. 0, or -1 with errno set, or with pcap_err set.
 */
static int open_file(struct capture *c, int fd, char *pcap_err)
{
	struct stat st;
	const uint8_t *h = NULL;
	uint8_t first[24];
	gzFile gz = NULL;
	size_t n;
	int e;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if ((c->file = stream_open(c, fd)) == NULL) {
			e = errno;
			close(fd);
			errno = e;
			return -1;
		}
	} else {
		if (!is_gzip(fd) && (c->map = mapfile_open(fd)) != NULL) {
			n = mapfile_take(c->map, sizeof(first), &h, &e);
			if (open_classic(c, h, n)) {
				c->map_fd = fd;
				return 0;
			}
			/* pcapng or unusual: libpcap reads it, through the read-ahead. */
			mapfile_close(c->map);
			c->map = NULL;
		}
		if (is_gzip(fd) && (gz = gzdopen(fd, "rb")) != NULL)
			gzbuffer(gz, 1 << 17);
		if ((c->ahead = prefetch_open(fd, gz)) == NULL) {
			e = errno;
			if (gz != NULL)
				gzclose_r(gz);
			else
				close(fd);
			errno = e;
			return -1;
		}
		if ((n = prefetch_take(c->ahead, sizeof(first), &h, &e)) > 0)
			memcpy(first, h, n);
		if (open_classic(c, first, n))
			return 0;
		if ((c->file = prefetch_stream(c->ahead, first, n)) == NULL) {
			e = errno;
			prefetch_close(c->ahead);
			c->ahead = NULL;
			errno = e;
			return -1;
		}
	}
	c->pcap = pcap_fopen_offline_with_tstamp_precision(c->file, PCAP_TSTAMP_PRECISION_MICRO,
	                                                   pcap_err);
	if (c->pcap == NULL) {
		fclose(c->file); /* closes fd, the stream or the read-ahead, through the cookie */
		c->ahead = NULL;
		c->stream = NULL;
	}
	return 0;
}

int capture_open_file(struct capture **out, const char *path, char *err, size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	int fd;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return KW_ERR_IO;
	}
	if (strcmp(path, "-") == 0)
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || open_file(c, fd, pcap_err) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		free(c);
		return KW_ERR_IO;
	}
	if (c->pcap == NULL) {
		/* libpcap says "unknown file format" for a file that is not a capture;
		 * its message may start with the path, which the caller names already. */
		const char *msg = pcap_err[0] ? pcap_err : "cannot read capture";
		size_t plen = strlen(path);
		if (strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
			msg += plen + 2;
		snprintf(err, errlen, "%s", msg);
		free(c);
		return KW_ERR_IO;
	}
	c->link = pcap_datalink(c->pcap);
	c->fd = -1;
	*out = c;
	return KW_OK;
}

/*
 * The default filter. libpcap's "vlan" moves the offsets of what follows it,
 * so the expression is repeated after one and two tags; cooked links (the
 * "any" device) have no VLAN support in libpcap and get the plain form.
 */
#define KW_FILTER_CORE                                                                             \
	"tcp or icmp[icmptype] == icmp-unreach or icmp[icmptype] == icmp-timxceed"                 \
	" or icmp6[icmp6type] == icmp6-destinationunreach"                                         \
	" or icmp6[icmp6type] == icmp6-packettoobig or icmp6[icmp6type] == icmp6-timeexceeded"     \
	" or (ip6 and ip6[6] == 44)"                                                               \
	" or ip proto 4 or ip proto 41 or ip proto 47 or ip6 proto 4 or ip6 proto 41"              \
	" or ip6 proto 47 or udp port 4789 or udp port 6081"

const char *capture_default_filter(int link)
{
	switch (link) {
	case DLT_EN10MB:
		return "(" KW_FILTER_CORE ") or (vlan and ((" KW_FILTER_CORE
		       ") or (vlan and (" KW_FILTER_CORE "))))";
	default:
		return KW_FILTER_CORE;
	}
}

int capture_set_filter(struct capture *c, const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;

	if (pcap_compile(c->pcap, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "bad filter: %s", pcap_geterr(c->pcap));
		return KW_ERR_MALFORMED;
	}
	if (c->classic) { /* applied by next_classic */
		if (c->has_prog)
			pcap_freecode(&c->prog);
		c->prog = prog;
		c->has_prog = 1;
		return KW_OK;
	}
	if (pcap_setfilter(c->pcap, &prog) != 0) {
		snprintf(err, errlen, "cannot set filter: %s", pcap_geterr(c->pcap));
		pcap_freecode(&prog);
		return KW_ERR_MALFORMED;
	}
	pcap_freecode(&prog);
	return KW_OK;
}

/* live_fail formats libpcap's reason for a failed step and frees c. */
static int live_fail(struct capture *c, const char *step, int r, char *err, size_t errlen)
{
	const char *why = pcap_geterr(c->pcap);

	if (r == PCAP_ERROR_NO_SUCH_DEVICE && (why == NULL || why[0] == '\0'))
		why = "no such interface";
	snprintf(err, errlen, "%s: %s%s", step, why && why[0] ? why : pcap_statustostr(r),
	         r == PCAP_ERROR_PERM_DENIED ? " (needs root, or CAP_NET_RAW and CAP_NET_ADMIN)"
	                                     : "");
	pcap_close(c->pcap);
	free(c);
	return KW_ERR_IO;
}

int capture_open_live(struct capture **out, const struct capture_live_opts *o, char *err,
                      size_t errlen)
{
	char pcap_err[PCAP_ERRBUF_SIZE] = "";
	struct capture *c;
	int r;

	*out = NULL;
	err[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return KW_ERR_IO;
	}
	c->live = 1;
	c->fd = -1;
	if ((c->pcap = pcap_create(o->iface, pcap_err)) == NULL) {
		snprintf(err, errlen, "%s", pcap_err);
		free(c);
		return KW_ERR_IO;
	}
	if (pcap_set_snaplen(c->pcap, o->snaplen) != 0 ||
	    pcap_set_promisc(c->pcap, o->promisc) != 0 ||
	    pcap_set_timeout(c->pcap, o->timeout_ms) != 0 ||
	    (o->buffer_kib > 0 && pcap_set_buffer_size(c->pcap, o->buffer_kib * 1024) != 0) ||
	    pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_MICRO) != 0)
		return live_fail(c, "cannot configure", PCAP_ERROR, err, errlen);
	r = pcap_activate(c->pcap);
	if (r < 0)
		return live_fail(c, "cannot capture", r, err, errlen);
	if (r > 0) /* a warning: the capture works */
		snprintf(err, errlen, "%s",
		         pcap_geterr(c->pcap)[0] ? pcap_geterr(c->pcap) : pcap_statustostr(r));
	/* "any": cooked v2 keeps the interface index, so the evidence capture
	 * shows where each frame came from. Not fatal where unavailable. */
	if (pcap_datalink(c->pcap) == DLT_LINUX_SLL)
		(void)pcap_set_datalink(c->pcap, DLT_LINUX_SLL2);
	c->link = pcap_datalink(c->pcap);
	if (pcap_setnonblock(c->pcap, 1, pcap_err) != 0) {
		snprintf(err, errlen, "cannot set nonblocking mode: %s", pcap_err);
		pcap_close(c->pcap);
		free(c);
		return KW_ERR_IO;
	}
	if ((c->fd = pcap_get_selectable_fd(c->pcap)) < 0) {
		snprintf(err, errlen, "no selectable descriptor");
		pcap_close(c->pcap);
		free(c);
		return KW_ERR_IO;
	}
	if ((r = capture_set_filter(c, o->filter ? o->filter : capture_default_filter(c->link),
	                            pcap_err, sizeof(pcap_err))) != 0) {
		snprintf(err, errlen, "%s", pcap_err);
		pcap_close(c->pcap);
		free(c);
		return r;
	}
	*out = c;
	return KW_OK;
}

int capture_fd(const struct capture *c)
{
	return c->fd;
}

int capture_join_fanout(struct capture *c, uint16_t id, char *err, size_t errlen)
{
#ifdef PACKET_FANOUT
	/* The kernel's flow hash is symmetric (both directions of a TCP
	 * connection give the same value: __skb_get_hash_symmetric since
	 * Linux 4.2); tests/live/workers.sh checks it on the running kernel. */
	uint32_t mode = PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG;
	int arg = (int)((uint32_t)id | mode << 16);

	if (setsockopt(pcap_fileno(c->pcap), SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) != 0) {
		snprintf(err, errlen, "cannot join packet fanout group %u: %s", id,
		         strerror(errno));
		return KW_ERR_IO;
	}
	return 0;
#else
	(void)c;
	(void)id;
	snprintf(err, errlen, "several workers on one interface need Linux (PACKET_FANOUT)");
	return KW_ERR_IO;
#endif
}

int capture_counters(struct capture *c, struct capture_counters *out)
{
	struct pcap_stat ps;

	if (!c->live || pcap_stats(c->pcap, &ps) != 0) {
		*out = c->sum;
		return KW_ERR_IO;
	}
	/* Unsigned subtraction: right across one wrap of the 32-bit counters. */
	c->sum.recv += (unsigned int)(ps.ps_recv - c->last_recv);
	c->sum.drop += (unsigned int)(ps.ps_drop - c->last_drop);
	c->sum.ifdrop += (unsigned int)(ps.ps_ifdrop - c->last_ifdrop);
	c->last_recv = ps.ps_recv;
	c->last_drop = ps.ps_drop;
	c->last_ifdrop = ps.ps_ifdrop;
	*out = c->sum;
	return KW_OK;
}

/* take: the next n bytes of a file read here (see prefetch_take). */
static size_t take(struct capture *c, size_t n, const uint8_t **ptr, int *err)
{
	if (c->map != NULL)
		return mapfile_take(c->map, n, ptr, err);
	return prefetch_take(c->ahead, n, ptr, err);
}

/* classic_fail: a damaged record, said as libpcap says it. */
static int classic_fail(struct capture *c, int e, const char *what, uint32_t want, size_t got)
{
	if (e != 0)
		snprintf(c->err, sizeof(c->err), "error reading dump file: %s", strerror(e));
	else
		snprintf(c->err, sizeof(c->err),
		         "truncated dump file; tried to read %u %s, only got %zu", want, what, got);
	return KW_ERR_IO;
}

/*
 * next_classic reads one record of a classic pcap file as libpcap 1.10
 * does (sf-pcap.c): a captured length above 256 KiB is an error; one above
 * the file's snapshot length is cut to it; nanoseconds become microseconds;
 * the filter, if any, is applied here.
 */
static int next_classic(struct capture *c, struct capture_frame *f)
{
	static const uint8_t empty[1];
	const uint8_t *h, *d;
	uint32_t sec, frac, caplen, len;
	size_t n;
	int e;

	for (;;) {
		if ((n = take(c, 16, &h, &e)) < 16) {
			if (n == 0 && e == 0)
				return 0;
			return classic_fail(c, e, "header bytes", 16, n);
		}
		sec = get32(h, c->swapped);
		frac = get32(h + 4, c->swapped);
		caplen = get32(h + 8, c->swapped);
		len = get32(h + 12, c->swapped);
		/* libpcap clamps the snapshot to this maximum, so the
		 * length is over both, and it names the snapshot. */
		if (caplen > CAPTURE_MAX_CAPLEN) {
			snprintf(c->err, sizeof(c->err),
			         "invalid packet capture length %u, bigger than snaplen of %u",
			         caplen, c->snapshot);
			return KW_ERR_IO;
		}
		d = empty;
		if (caplen > 0 && (n = take(c, caplen, &d, &e)) < caplen)
			return classic_fail(c, e, "captured bytes", caplen, n);
		if (caplen > c->snapshot)
			caplen = c->snapshot;
		if (c->nsec)
			frac /= 1000;
		if (c->has_prog) {
			struct pcap_pkthdr ph = {.caplen = caplen, .len = len};
			ph.ts.tv_sec = (time_t)sec;
			ph.ts.tv_usec = (suseconds_t)frac;
			if (pcap_offline_filter(&c->prog, &ph, d) == 0)
				continue;
		}
		f->ts_us = (uint64_t)sec * 1000000u + frac;
		f->caplen = caplen;
		f->wirelen = len;
		f->data = d;
		return 1;
	}
}

int capture_next(struct capture *c, struct capture_frame *f)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r;

	if (c->classic)
		return next_classic(c, f);
	if ((r = pcap_next_ex(c->pcap, &h, &data)) == 1) {
		f->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		f->caplen = h->caplen;
		f->wirelen = h->len;
		f->data = data;
		return 1;
	}
	if (r == PCAP_ERROR_BREAK || (r == 0 && c->live))
		return 0;
	snprintf(c->err, sizeof(c->err), "%s", pcap_geterr(c->pcap));
	return KW_ERR_IO;
}

int capture_link(const struct capture *c)
{
	return c->link;
}

const char *capture_error(const struct capture *c)
{
	return c->err;
}

uint64_t capture_bytes(const struct capture *c)
{
	if (c->map != NULL)
		return mapfile_offset(c->map);
	if (c->ahead != NULL)
		return prefetch_offset(c->ahead);
	return 0; /* a stream has no size to show progress against */
}

int capture_hold(struct capture *c)
{
	/* A filter may pass over any number of windows in one capture_next,
	 * more than a holder can let pile up: such frames are copied. */
	if (c->map == NULL || c->has_prog)
		return 0;
	mapfile_hold(c->map);
	return 1;
}

uint64_t capture_window(const struct capture *c)
{
	return c->map != NULL ? mapfile_window(c->map) : 0;
}

void capture_unhold(struct capture *c, uint64_t window)
{
	if (c->map != NULL)
		mapfile_unhold(c->map, window);
}

uint32_t capture_held(const struct capture *c)
{
	return c->map != NULL ? mapfile_held(c->map) : 0;
}

void capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	pcap_close(c->pcap); /* closes c->file, and through its cookie the stream or read-ahead */
	if (c->classic)
		prefetch_close(c->ahead);
	if (c->map != NULL) {
		mapfile_close(c->map);
		close(c->map_fd);
	}
	if (c->has_prog)
		pcap_freecode(&c->prog);
	free(c);
}

const char *capture_link_name(int link, char *buf, size_t size)
{
	const char *name = pcap_datalink_val_to_name(link);
	size_t i;

	if (name == NULL) {
		snprintf(buf, size, "linktype-%d", link);
		return buf;
	}
	for (i = 0; name[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
	if (size > 0)
		buf[i] = '\0';
	return buf;
}

const char *capture_lib_version(void)
{
	return pcap_lib_version();
}
