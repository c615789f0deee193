/*
 * cursor.h: the only way kexwatch reads untrusted bytes.
 *
 * A cursor is a borrowed view (base, len, off) over bytes someone else owns.
 * Every getter checks its bound by subtraction (n > len - off) before it
 * reads, is all-or-nothing (on error the offset does not move and outputs are
 * zeroed), and reads multi-byte integers byte by byte in network order, so
 * alignment and host byte order never matter. Getters return KW_OK or
 * KW_ERR_MORE; SSH strings longer than the caller's limit return KW_ERR_LIMIT
 * before waiting for their bytes.
 */
#ifndef KW_CURSOR_H
#define KW_CURSOR_H

#include <stddef.h>
#include <stdint.h>

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

int cursor_get_u8(struct cursor *c, uint8_t *v);
int cursor_get_u16(struct cursor *c, uint16_t *v);
int cursor_get_u32(struct cursor *c, uint32_t *v);
/* cursor_skip advances n bytes, or fails with KW_ERR_MORE. */
int cursor_skip(struct cursor *c, size_t n);
/* cursor_get_bytes borrows the next n bytes into *p. */
int cursor_get_bytes(struct cursor *c, size_t n, const uint8_t **p);
/* cursor_peek_u8 reads the byte at off + at without moving. */
int cursor_peek_u8(const struct cursor *c, size_t at, uint8_t *v);
/*
 * cursor_get_string reads an RFC 4251 section 5 "string": uint32 length then
 * the bytes, borrowed into *p and *n. A length above max is KW_ERR_LIMIT,
 * decided before the bytes have arrived.
 */
int cursor_get_string(struct cursor *c, uint32_t max, const uint8_t **p, uint32_t *n);

#endif
