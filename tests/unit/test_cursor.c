/*
 * test_cursor.c: unit tests for dissect/cursor.c.
 *
 * Covers every getter at every bound of a buffer: success exactly when the
 * bytes are there, all-or-nothing failure (offset unchanged, outputs
 * zeroed), network byte order, and the string length limit judged before
 * the bytes arrive. Not responsible for what the bytes mean.
 */
#include <string.h>

#include "cursor.h"
#include "err.h"
#include "tap.h"

static const uint8_t bytes[12] = {0x01, 0x82, 0x03, 0x84, 0x05, 0x86,
                                  0x07, 0x88, 0x09, 0x8a, 0x0b, 0x8c};

static void test_fixed_getters(void)
{
	struct cursor c;
	size_t len, off;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	const uint8_t *p;

	/* Every (len, off) pair: each getter succeeds exactly when it fits. */
	for (len = 0; len <= sizeof(bytes); len++) {
		for (off = 0; off <= len; off++) {
			size_t left = len - off;

			cursor_init(&c, bytes, len);
			c.off = off;
			CHECK_EQ_INT(cursor_left(&c), left);

			u8 = 0xee;
			if (left >= 1) {
				CHECK_EQ_INT(cursor_get_u8(&c, &u8), KW_OK);
				CHECK_EQ_INT(u8, bytes[off]);
				CHECK_EQ_INT(c.off, off + 1);
			} else {
				CHECK_EQ_INT(cursor_get_u8(&c, &u8), KW_ERR_MORE);
				CHECK_EQ_INT(u8, 0);
				CHECK_EQ_INT(c.off, off);
			}

			c.off = off;
			u16 = 0xeeee;
			if (left >= 2) {
				CHECK_EQ_INT(cursor_get_u16(&c, &u16), KW_OK);
				CHECK_EQ_INT(u16, (bytes[off] << 8) | bytes[off + 1]);
				CHECK_EQ_INT(c.off, off + 2);
			} else {
				CHECK_EQ_INT(cursor_get_u16(&c, &u16), KW_ERR_MORE);
				CHECK_EQ_INT(u16, 0);
				CHECK_EQ_INT(c.off, off);
			}

			c.off = off;
			u32 = 0xeeeeeeee;
			if (left >= 4) {
				uint32_t want = (uint32_t)bytes[off] << 24 |
				                (uint32_t)bytes[off + 1] << 16 |
				                (uint32_t)bytes[off + 2] << 8 | bytes[off + 3];

				CHECK_EQ_INT(cursor_get_u32(&c, &u32), KW_OK);
				CHECK_EQ_INT(u32, want);
				CHECK_EQ_INT(c.off, off + 4);
			} else {
				CHECK_EQ_INT(cursor_get_u32(&c, &u32), KW_ERR_MORE);
				CHECK_EQ_INT(u32, 0);
				CHECK_EQ_INT(c.off, off);
			}

			/* skip and get_bytes for every n up to one past the end. */
			for (size_t n = 0; n <= left + 1; n++) {
				c.off = off;
				if (n <= left) {
					CHECK_EQ_INT(cursor_skip(&c, n), KW_OK);
					CHECK_EQ_INT(c.off, off + n);
				} else {
					CHECK_EQ_INT(cursor_skip(&c, n), KW_ERR_MORE);
					CHECK_EQ_INT(c.off, off);
				}
				c.off = off;
				p = bytes;
				if (n <= left) {
					CHECK_EQ_INT(cursor_get_bytes(&c, n, &p), KW_OK);
					CHECK(p == bytes + off, "get_bytes borrows in place");
					CHECK_EQ_INT(c.off, off + n);
				} else {
					CHECK_EQ_INT(cursor_get_bytes(&c, n, &p), KW_ERR_MORE);
					CHECK(p == NULL, "get_bytes zeroes its output");
					CHECK_EQ_INT(c.off, off);
				}
			}

			/* peek at every index, never moving. */
			for (size_t at = 0; at <= left + 1; at++) {
				c.off = off;
				u8 = 0xee;
				if (at < left) {
					CHECK_EQ_INT(cursor_peek_u8(&c, at, &u8), KW_OK);
					CHECK_EQ_INT(u8, bytes[off + at]);
				} else {
					CHECK_EQ_INT(cursor_peek_u8(&c, at, &u8), KW_ERR_MORE);
					CHECK_EQ_INT(u8, 0);
				}
				CHECK_EQ_INT(c.off, off);
			}
		}
	}

	/* Huge n must not wrap: the check is by subtraction. */
	cursor_init(&c, bytes, sizeof(bytes));
	c.off = 3;
	CHECK_EQ_INT(cursor_skip(&c, SIZE_MAX), KW_ERR_MORE);
	CHECK_EQ_INT(cursor_get_bytes(&c, SIZE_MAX - 1, &p), KW_ERR_MORE);
	CHECK_EQ_INT(cursor_peek_u8(&c, SIZE_MAX, &u8), KW_ERR_MORE);
	CHECK_EQ_INT(c.off, 3);
}

static void test_strings(void)
{
	/* "abcde" as an RFC 4251 string, then one more byte. */
	static const uint8_t s[] = {0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e', 0x7f};
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'x'};
	static const uint8_t empty[] = {0, 0, 0, 0};
	struct cursor c;
	const uint8_t *p;
	uint32_t n;
	size_t len;

	/* Every truncation: KW_ERR_MORE until all 9 bytes are there. */
	for (len = 0; len <= sizeof(s); len++) {
		cursor_init(&c, s, len);
		p = s;
		n = 99;
		if (len >= 9) {
			CHECK_EQ_INT(cursor_get_string(&c, 5, &p, &n), KW_OK);
			CHECK_EQ_INT(n, 5);
			CHECK(p == s + 4 && memcmp(p, "abcde", 5) == 0, "string borrowed");
			CHECK_EQ_INT(c.off, 9);
		} else {
			CHECK_EQ_INT(cursor_get_string(&c, 5, &p, &n), KW_ERR_MORE);
			CHECK(p == NULL && n == 0, "outputs zeroed on failure");
			CHECK_EQ_INT(c.off, 0);
		}
	}

	/* A length over the limit fails before its bytes arrive. */
	for (len = 4; len <= sizeof(s); len++) {
		cursor_init(&c, s, len);
		CHECK_EQ_INT(cursor_get_string(&c, 4, &p, &n), KW_ERR_LIMIT);
		CHECK(p == NULL && n == 0, "outputs zeroed on limit");
		CHECK_EQ_INT(c.off, 0);
	}
	cursor_init(&c, huge, sizeof(huge));
	CHECK_EQ_INT(cursor_get_string(&c, UINT32_MAX - 1, &p, &n), KW_ERR_LIMIT);
	CHECK_EQ_INT(cursor_get_string(&c, UINT32_MAX, &p, &n), KW_ERR_MORE);
	CHECK_EQ_INT(c.off, 0);

	/* Zero-length string at the very end. */
	cursor_init(&c, empty, sizeof(empty));
	CHECK_EQ_INT(cursor_get_string(&c, 0, &p, &n), KW_OK);
	CHECK_EQ_INT(n, 0);
	CHECK_EQ_INT(cursor_left(&c), 0);

	/* The string getter works from a non-zero offset and restores it. */
	cursor_init(&c, s, sizeof(s));
	CHECK_EQ_INT(cursor_skip(&c, 1), KW_OK);
	/* From offset 1 the length reads 0x00000561: over 100, then short. */
	CHECK_EQ_INT(cursor_get_string(&c, 100, &p, &n), KW_ERR_LIMIT);
	CHECK_EQ_INT(cursor_get_string(&c, UINT32_MAX, &p, &n), KW_ERR_MORE);
	CHECK_EQ_INT(c.off, 1);
}

static void test_strerror(void)
{
	CHECK_EQ_STR(kw_strerror(KW_OK), "success");
	CHECK_EQ_STR(kw_strerror(KW_ERR_MORE), "need more bytes");
	CHECK_EQ_STR(kw_strerror(12345), "unknown error");
}

int main(void)
{
	test_fixed_getters();
	test_strings();
	test_strerror();
	return tap_done();
}
