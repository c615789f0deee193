/*
 * cursor.h: the only way kexwatch reads untrusted bytes.
 *
 * A cursor is a borrowed view (base, len, off) over bytes someone else owns.
 * Every getter checks its bound by subtraction (n > len - off) before it
 * reads, is all-or-nothing (on error the offset does not move and outputs are
 * zeroed), and reads multi-byte integers byte by byte in network order, so
 * alignment and host byte order never matter. Getters return KW_OK or
 * KW_ERR_MORE; SSH strings longer than the caller's limit return KW_ERR_LIMIT
 * before waiting for their bytes. The getters are inline: decoding calls
 * them for every header field of every packet.
 */
#ifndef KW_CURSOR_H
#define KW_CURSOR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct cursor {
	const uint8_t *base;
	size_t len;
	size_t off;
};

static inline void cursor_init(struct cursor *c, const void *base, size_t len)
{
	c->base = base;
	c->len = len;
	c->off = 0;
}

static inline size_t cursor_left(const struct cursor *c)
{
	return c->len - c->off;
}

/* cursor_ptr returns the current position; valid while the owner's bytes are. */
static inline const uint8_t *cursor_ptr(const struct cursor *c)
{
	return c->base + c->off;
}

static inline int cursor_get_u8(struct cursor *c, uint8_t *v)
{
	*v = 0;
	if (1 > c->len - c->off)
		return KW_ERR_MORE;
	*v = c->base[c->off++];
	return KW_OK;
}

static inline int cursor_get_u16(struct cursor *c, uint16_t *v)
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

static inline int cursor_get_u32(struct cursor *c, uint32_t *v)
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

/* cursor_skip advances n bytes, or fails with KW_ERR_MORE. */
static inline int cursor_skip(struct cursor *c, size_t n)
{
	if (n > c->len - c->off)
		return KW_ERR_MORE;
	c->off += n;
	return KW_OK;
}

/* cursor_get_bytes borrows the next n bytes into *p. */
static inline int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p)
{
	*p = NULL;
	if (n > c->len - c->off)
		return KW_ERR_MORE;
	*p = c->base + c->off;
	c->off += n;
	return KW_OK;
}

/* cursor_peek_u8 reads the byte at off + at without moving. */
static inline int cursor_peek_u8(const struct cursor *c, size_t at, uint8_t *v)
{
	*v = 0;
	if (at >= c->len - c->off)
		return KW_ERR_MORE;
	*v = c->base[c->off + at];
	return KW_OK;
}

/*
 * cursor_get_string reads an RFC 4251 section 5 "string": uint32 length then
 * the bytes, borrowed into *p and *n. A length above max is KW_ERR_LIMIT,
 * decided before the bytes have arrived.
 */
static inline int cursor_get_string(struct cursor *c, uint32_t max, const uint8_t **p, uint32_t *n)
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

#endif
