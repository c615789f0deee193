/*
 * cursor.c: the error descriptions of err.h. The bounds-checked getters over
 * borrowed bytes are inline in cursor.h, which is responsible for never
 * reading outside (base, len); neither decides what the bytes mean.
 */
#include "cursor.h"
#include "err.h"

const char *kw_strerror(int err)
{
	switch (err) {
	case KW_OK:
		return "success";
	case KW_ERR_MORE:
		return "need more bytes";
	case KW_ERR_MALFORMED:
		return "malformed input";
	case KW_ERR_LIMIT:
		return "limit exceeded";
	case KW_ERR_NOMEM:
		return "out of memory";
	case KW_ERR_IO:
		return "input/output error";
	case KW_ERR_BUG:
		return "internal error";
	}
	return "unknown error";
}
