/*
 * cursor.c: bounds-checked reads over borrowed bytes (see cursor.h).
 * Responsible for never reading outside (base, len); not for deciding what
 * the bytes mean.
 */
#include "cursor.h"
#include "err.h"

int cursor_get_u8(struct cursor *c, uint8_t *v)
{
	*v = 0;
	if (1 > c->len - c->off)
		return KW_ERR_MORE;
	*v = c->base[c->off++];
	return KW_OK;
}

int cursor_get_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p;

	*v = 0;
	if (2 > c->len - c->off)
		return KW_ERR_MORE;
	p = c->base + c->off;
	*v = (uint16_t)((p[0] << 8) | p[1]);
	c->off += 2;
	return KW_OK;
}

int cursor_get_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *p;

	*v = 0;
	if (4 > c->len - c->off)
		return KW_ERR_MORE;
	p = c->base + c->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	c->off += 4;
	return KW_OK;
}

int cursor_skip(struct cursor *c, size_t n)
{
	if (n > c->len - c->off)
		return KW_ERR_MORE;
	c->off += n;
	return KW_OK;
}

int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p)
{
	*p = NULL;
	if (n > c->len - c->off)
		return KW_ERR_MORE;
	*p = c->base + c->off;
	c->off += n;
	return KW_OK;
}

int cursor_peek_u8(const struct cursor *c, size_t at, uint8_t *v)
{
	*v = 0;
	if (at >= c->len - c->off)
		return KW_ERR_MORE;
	*v = c->base[c->off + at];
	return KW_OK;
}

int cursor_get_string(struct cursor *c, uint32_t max, const uint8_t **p, uint32_t *n)
{
	size_t start = c->off;
	uint32_t len;
	int r;

	*p = NULL;
	*n = 0;
	if ((r = cursor_get_u32(c, &len)) != 0)
		return r;
	/* Reject an over-long length before waiting for its bytes (sshbuf). */
	if (len > max) {
		c->off = start;
		return KW_ERR_LIMIT;
	}
	if ((r = cursor_get_bytes(c, len, p)) != 0) {
		c->off = start;
		return r;
	}
	*n = len;
	return KW_OK;
}

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
