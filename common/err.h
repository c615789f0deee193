/*
 * err.h: the one error enum shared by every kexwatch module.
 *
 * Functions that can fail return int: 0 (KW_OK) or one of these negative
 * codes. "Need more bytes" is kept apart from "malformed input" and from
 * "our own bug", so a stream parser can wait, record an anomaly, or stop.
 */
#ifndef KW_ERR_H
#define KW_ERR_H

enum kw_err {
	KW_OK = 0,
	KW_ERR_MORE = -1,      /* input ends before the record does: wait */
	KW_ERR_MALFORMED = -2, /* input breaks the protocol: anomaly */
	KW_ERR_LIMIT = -3,     /* input exceeds a configured limit: anomaly */
	KW_ERR_NOMEM = -4,     /* allocation failed */
	KW_ERR_IO = -5,        /* a file or socket failed (see errno) */
	KW_ERR_BUG = -6,       /* an internal invariant broke */
};

/* kw_strerror returns a static description of a kw_err code. */
const char *kw_strerror(int err);

#endif
