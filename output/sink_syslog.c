/*
 * sink_syslog.c: records as syslog messages (see output.h, sink_open_syslog).
 *
 * Responsible for the RFC 5424 message (section 6: HEADER SP SD SP MSG, one
 * record per message, the record as MSG), and for the three transports:
 * the local datagram socket (/dev/log), UDP (RFC 5426: one message per
 * datagram) and TCP (RFC 6587 section 3.4.1, octet counting: "LEN SP MSG").
 * Everything is nonblocking, so a slow or absent collector never stalls the
 * capture: TCP keeps whole messages in a bounded queue (SINK_TCP_QUEUE)
 * while it connects or the peer is slow, and resends the message a broken
 * connection cut. Known gap: TCP syslog has no acknowledgements, so a
 * message sent just before the peer went away can be lost (RFC 6587
 * section 4.3.1); use a file and a shipper where that matters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "sink.h"

#define SINK_TCP_QUEUE (4u << 20) /* bytes queued at most while TCP is down or slow */
#define SINK_RETRY_US 1000000u    /* reconnect attempts from the clock, at most this often */
#define SINK_CLOSE_WAIT_MS 2000   /* at exit, time given to send the queue */
#define SINK_MAX_MSG (1u << 20)   /* a record longer than this is not sent */

static const char *const facility_names[24] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7",
};

int sink_facility(const char *name)
{
	for (int i = 0; i < 24; i++)
		if (strcmp(name, facility_names[i]) == 0)
			return i;
	return -1;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* parse_target fills s->addr from target; 0, or an error with a reason. */
static int parse_target(struct sink *s, const char *target, char *err, size_t errlen)
{
	char host[256], port[16];
	const char *rest, *colon;
	struct addrinfo hints = {0}, *res = NULL;
	size_t hl;
	int r;

	if (target[0] == '/' || strncmp(target, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
		const char *path = target[0] == '/' ? target : target + 5;
		if (strlen(path) >= sizeof(un->sun_path) || path[0] == '\0') {
			snprintf(err, errlen, "socket path too long or empty");
			return KW_ERR_MALFORMED;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, strlen(path) + 1);
		s->addrlen = (socklen_t)sizeof(*un);
		s->transport = SINK_UNIX;
		return KW_OK;
	}
	if (strncmp(target, "udp://", 6) == 0)
		s->transport = SINK_UDP;
	else if (strncmp(target, "tcp://", 6) == 0)
		s->transport = SINK_TCP;
	else {
		snprintf(err, errlen,
		         "not a socket path, unix:PATH, udp://HOST:PORT or "
		         "tcp://HOST:PORT");
		return KW_ERR_MALFORMED;
	}
	rest = target + 6;
	if (rest[0] == '[') { /* [IPv6]:port */
		const char *close = strchr(rest, ']');
		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "expected [ADDRESS]:PORT");
			return KW_ERR_MALFORMED;
		}
		hl = (size_t)(close - rest - 1);
		rest++;
		colon = close + 1;
	} else {
		if ((colon = strrchr(rest, ':')) == NULL) {
			snprintf(err, errlen, "no :PORT");
			return KW_ERR_MALFORMED;
		}
		hl = (size_t)(colon - rest);
	}
	if (hl == 0 || hl >= sizeof(host) || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		snprintf(err, errlen, "bad HOST:PORT");
		return KW_ERR_MALFORMED;
	}
	/* A port is 16 bits: getaddrinfo would take 99999 modulo 65536. */
	if (strtoul(colon + 1, NULL, 10) < 1 || strtoul(colon + 1, NULL, 10) > 65535) {
		snprintf(err, errlen, "port %s out of range (1 to 65535)", colon + 1);
		return KW_ERR_MALFORMED;
	}
	memcpy(host, rest, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	hints.ai_socktype = s->transport == SINK_TCP ? SOCK_STREAM : SOCK_DGRAM;
	/* Resolved once: a name that changes address needs a restart (documented). */
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return KW_ERR_IO;
	}
	memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
	s->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return KW_OK;
}

static void sock_close(struct sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->connecting = 0;
}

/* sock_connect makes s->fd; 0 when connected or (TCP) in progress. */
static int sock_connect(struct sink *s)
{
	int type = s->transport == SINK_TCP ? SOCK_STREAM : SOCK_DGRAM;

	sock_close(s);
	s->last_try_us = mono_us();
	s->fd = socket(s->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return KW_ERR_IO;
	if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen) == 0)
		return KW_OK;
	if (errno == EINPROGRESS && s->transport == SINK_TCP) {
		s->connecting = 1;
		return KW_OK;
	}
	{
		int e = errno;
		sock_close(s);
		errno = e;
	}
	return KW_ERR_IO;
}

static int syslog_write(struct sink *s, const char *line, size_t n, int severity,
                        const char *msgid);
static void syslog_tick(struct sink *s);
static void syslog_close(struct sink *s);

static const struct sink_ops syslog_ops = {
    .write = syslog_write,
    .tick = syslog_tick,
    .close = syslog_close,
};

int sink_open_syslog(struct sink **out, const char *target, int facility, char *err, size_t errlen)
{
	struct sink *s = sink_new(SINK_SYSLOG, &syslog_ops, target);
	int r;

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return KW_ERR_NOMEM;
	}
	s->facility = facility;
	if ((r = parse_target(s, target, err, errlen)) != 0) {
		free(s->name);
		free(s);
		return r;
	}
	if (gethostname(s->host, sizeof(s->host) - 1) != 0 || s->host[0] == '\0')
		snprintf(s->host, sizeof(s->host), "-");
	/* HOSTNAME is PRINTUSASCII without spaces (RFC 5424 section 6.2.4). */
	for (char *p = s->host; *p; p++)
		if (*p <= 32 || *p >= 127)
			*p = '_';
	(void)sock_connect(s); /* not reachable yet: retried with the first record */
	*out = s;
	return KW_OK;
}

/* header formats the RFC 5424 HEADER SP STRUCTURED-DATA SP; its length. */
static int header(const struct sink *s, char *buf, size_t size, int severity, const char *msgid)
{
	struct timespec ts;
	struct tm tm;
	char t[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	/* PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP */
	return snprintf(buf, size, "<%d>1 %s.%06ldZ %s kexwatch %ld %s - ",
	                s->facility * 8 + severity, t, ts.tv_nsec / 1000, s->host, (long)getpid(),
	                msgid);
}

/* tcp_frame_len: the length of the whole framed message at q (0: malformed queue). */
static size_t tcp_frame_len(const char *q, size_t avail)
{
	size_t len = 0, i = 0;

	while (i < avail && i < 10 && q[i] >= '0' && q[i] <= '9')
		len = len * 10 + (size_t)(q[i++] - '0');
	if (i == 0 || i >= avail || q[i] != ' ')
		return 0;
	return i + 1 + len;
}

/* tcp_pump sends what is queued; drops whole messages once they are sent. */
static void tcp_pump(struct sink *s)
{
	size_t done = 0, fl;
	char peek;

	if (s->fd < 0) {
		if (s->qlen == 0)
			return;
		if (sock_connect(s) != 0) {
			sink_failed(s, strerror(errno)); /* nothing lost yet: queued */
			return;
		}
	}
	if (s->connecting) {
		struct pollfd p = {.fd = s->fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (poll(&p, 1, 0) <= 0)
			return;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
			sink_failed(s, strerror(soerr ? soerr : errno));
			sock_close(s);
			return;
		}
		s->connecting = 0;
	}
	/* The peer closed (collector restarted): reconnect before sending. */
	if (recv(s->fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
		sock_close(s);
		s->qsent = 0;
		return;
	}
	while (s->qsent < s->qlen) {
		ssize_t w = send(s->fd, s->queue + s->qsent, s->qlen - s->qsent,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0) {
			sink_failed(s, strerror(w < 0 ? errno : EPIPE));
			sock_close(s);
			s->qsent = 0; /* the cut message goes again, whole */
			return;
		}
		s->qsent += (size_t)w;
	}
	while (done < s->qlen && (fl = tcp_frame_len(s->queue + done, s->qlen - done)) != 0 &&
	       fl <= s->qsent - done)
		done += fl;
	if (done > 0) {
		memmove(s->queue, s->queue + done, s->qlen - done);
		s->qlen -= done;
		s->qsent -= done;
	}
	if (s->qlen == 0)
		sink_ok(s);
}

static int tcp_enqueue(struct sink *s, const char *hdr, size_t hn, const char *msg, size_t mn)
{
	char pre[24];
	int pn = snprintf(pre, sizeof(pre), "%zu ", hn + mn);
	size_t need = (size_t)pn + hn + mn;

	if (s->qlen + need > SINK_TCP_QUEUE) {
		sink_failed(s, s->fd < 0 ? "not connected and the queue is full"
		                         : "the collector is too slow and the queue is full");
		s->lost++;
		errno = ENOBUFS;
		return KW_ERR_IO;
	}
	if (s->qlen + need > s->qcap) {
		size_t cap = s->qcap ? s->qcap : 65536;
		char *q;
		while (cap < s->qlen + need)
			cap *= 2;
		if ((q = realloc(s->queue, cap)) == NULL) {
			sink_failed(s, "out of memory");
			s->lost++;
			errno = ENOMEM;
			return KW_ERR_IO;
		}
		s->queue = q;
		s->qcap = cap;
	}
	memcpy(s->queue + s->qlen, pre, (size_t)pn);
	memcpy(s->queue + s->qlen + pn, hdr, hn);
	memcpy(s->queue + s->qlen + pn + hn, msg, mn);
	s->qlen += need;
	s->written++; /* handed to the transport; lost later only if the queue is */
	tcp_pump(s);
	return KW_OK;
}

static int dgram_send(struct sink *s, const char *hdr, size_t hn, const char *msg, size_t mn)
{
	struct iovec iov[2] = {{(void *)hdr, hn}, {(void *)msg, mn}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	int refused = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (s->fd < 0 && sock_connect(s) != 0)
			break;
		if (sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
			s->written++;
			/* Sent after a refusal, it may be lost too: only a send that
			 * meets no earlier datagram's error says the collector is back. */
			if (!refused)
				sink_ok(s);
			return KW_OK;
		}
		if (s->transport == SINK_UDP && errno == ECONNREFUSED && !refused) {
			/* The ICMP port unreachable of an earlier datagram (RFC 1122
			 * 4.1.3.3): that one was sent and lost, and this one was not
			 * sent. Count the earlier one lost, and send this one. */
			refused = 1;
			if (s->written > 0) {
				s->written--;
				s->lost++;
			}
			sink_failed(s, strerror(ECONNREFUSED));
			continue;
		}
		/* The local syslog daemon restarted: its socket is new. */
		if (s->transport == SINK_UNIX &&
		    (errno == ECONNREFUSED || errno == ENOTCONN || errno == ENOENT))
			sock_close(s);
		else
			break;
	}
	{
		int e = errno;
		sink_failed(s, strerror(e));
		s->lost++;
		errno = e;
	}
	return KW_ERR_IO;
}

static int syslog_write(struct sink *s, const char *line, size_t n, int severity, const char *msgid)
{
	char hdr[512];
	int hn = header(s, hdr, sizeof(hdr), severity, msgid);

	if (n > 0 && line[n - 1] == '\n')
		n--; /* one record per message: the framing ends it */
	if (hn < 0 || (size_t)hn >= sizeof(hdr) || n > SINK_MAX_MSG) {
		sink_failed(s, "record too long for a syslog message");
		s->lost++;
		errno = EMSGSIZE;
		return KW_ERR_IO;
	}
	if (s->transport == SINK_TCP)
		return tcp_enqueue(s, hdr, (size_t)hn, line, n);
	return dgram_send(s, hdr, (size_t)hn, line, n);
}

static void syslog_tick(struct sink *s)
{
	if (s->transport != SINK_TCP || s->qlen == 0)
		return;
	if (s->fd < 0 && mono_us() - s->last_try_us < SINK_RETRY_US)
		return;
	tcp_pump(s);
}

static void syslog_close(struct sink *s)
{
	uint64_t until = mono_us() + SINK_CLOSE_WAIT_MS * 1000u;

	while (s->transport == SINK_TCP && s->qlen > 0 && mono_us() < until) {
		struct pollfd p = {.fd = s->fd, .events = POLLOUT};
		if (s->fd < 0) {
			if (mono_us() - s->last_try_us < SINK_RETRY_US) {
				poll(NULL, 0, 50);
				continue;
			}
		} else {
			poll(&p, 1, 50);
		}
		tcp_pump(s);
	}
	if (s->transport == SINK_TCP && s->qlen > 0) {
		uint64_t n = 0;
		for (size_t off = 0, fl;
		     off < s->qlen && (fl = tcp_frame_len(s->queue + off, s->qlen - off)) != 0;
		     off += fl)
			n++;
		s->lost += n;
		s->written -= n;
		fprintf(stderr, "kexwatch: %s: %llu records not sent at exit\n", s->name,
		        (unsigned long long)n);
	}
	if (s->transport == SINK_TCP && s->fd >= 0)
		shutdown(s->fd, SHUT_WR);
	sock_close(s);
}
