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

struct sink;

/*
 * What each kind of sink does, behind sink_write, sink_reopen, sink_tick
 * and sink_close (output.h). reopen and tick may be NULL (nothing to do);
 * close sends or writes what is queued, and sink_close frees the rest.
 */
struct sink_ops {
	int (*write)(struct sink *s, const char *line, size_t n, int severity, const char *msgid);
	int (*reopen)(struct sink *s);
	void (*tick)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink {
	enum sink_kind kind;
	const struct sink_ops *ops;
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

/* sink_new: a sink of kind with ops and a copy of name, fd -1; NULL on OOM. */
struct sink *sink_new(enum sink_kind kind, const struct sink_ops *ops, const char *name);

#endif
