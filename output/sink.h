/*
 * sink.h: the sink object shared by sink.c and sink_syslog.c (internal to
 * output/; the public API is in output.h).
 */
#ifndef KW_SINK_H
#define KW_SINK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "output.h"

enum sink_kind {
	SINK_FD,   /* standard output: borrowed descriptor */
	SINK_FILE, /* a file, reopened on request */
	SINK_SYSLOG,
};

enum sink_transport {
	SINK_UNIX, /* datagram socket, /dev/log */
	SINK_UDP,
	SINK_TCP,
};

struct sink {
	enum sink_kind kind;
	char *name;
	int fd;
	int torn;    /* a partial write left a line without its end */
	int failing; /* the failure was reported; say when it recovers */
	uint64_t written, lost, lost_at_failure;
	/* batching (offline): whole records gathered in batch, written together
	 * by a writer thread from spare (or here, when it could not start) */
	char *batch, *spare;
	size_t blen, bcap, slen;
	uint64_t brecords, srecords; /* records in batch[0..blen), spare[0..slen) */
	int threaded, busy, stop;    /* busy: the writer owns spare and the counts */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* syslog */
	enum sink_transport transport;
	int facility;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int connecting;       /* TCP: nonblocking connect in progress */
	uint64_t last_try_us; /* TCP: last connection attempt */
	char *queue;          /* TCP: framed messages not yet sent, whole ones */
	size_t qlen, qsent, qcap;
	char host[256];
};

/* sink_failed reports a failure once (the caller counts what it lost); sink_ok a recovery. */
void sink_failed(struct sink *s, const char *why);
void sink_ok(struct sink *s);

/* Syslog transport (sink_syslog.c). */
int sink_syslog_write(struct sink *s, const char *line, size_t n, int severity, const char *msgid);
void sink_syslog_tick(struct sink *s);
void sink_syslog_close(struct sink *s);

#endif
